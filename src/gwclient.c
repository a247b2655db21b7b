/* gwclient — see gwclient.h. */
#include "gwclient.h"

#include <stdlib.h>
#include <string.h>

#include "htab.h"
#include "keys.h"
#include "log.h"
#include "util.h"

struct gwclients {
	struct gwc_limits lim;
	struct htab *tab;                /* pk -> struct gwclient */
	struct list lru[GWC_NSTATES];    /* by state, least recent first */
	size_t n[GWC_NSTATES];
	struct mail_pool clients, strangers;
	struct gwc_stats st;
};

static const char *const state_names[] = {
	[GWC_STRANGER] = "stranger", [GWC_ATTACHED] = "attached", [GWC_AWAY] = "away",
};

const char *gwc_state_name(enum gwc_state st)
{
	return st < GWC_NSTATES ? state_names[st] : "?";
}

static struct mail_pool *pool_of(struct gwclients *s, const struct gwclient *c)
{
	return c->st == GWC_STRANGER ? &s->strangers : &s->clients;
}

/* Every change of an entry's state, its creation and end included. */
static void trace(const struct gwclient *c, const char *from, const char *to, const char *why)
{
	if (log_enabled(LOG_LVL_DEBUG)) {
		char key[B58_KEY_CHARS];
		key_to_str(c->pk, key, sizeof(key));
		log_debug("client %s: %s -> %s: %s", key, from, to, why);
	}
}

/* The one place an entry changes state: its list, its count, its pool
 * (a stranger's mail moves to the clients' pool when it attaches, all of
 * it: it is about to be delivered). */
static void set_state(struct gwclients *s, struct gwclient *c, enum gwc_state to, uint64_t now,
                      const char *why)
{
	trace(c, state_names[c->st], state_names[to], why);
	if (c->st == GWC_STRANGER && to != GWC_STRANGER)
		mailbox_move(&s->strangers, &s->clients, &c->mb);
	list_remove(&c->lru);
	s->n[c->st]--;
	c->st = to;
	c->since_us = now;
	list_push_back(&s->lru[to], &c->lru);
	s->n[to]++;
}

struct gwclients *gwc_new(const struct gwc_limits *lim)
{
	struct gwclients *s = xcalloc(1, sizeof(*s));
	s->lim = *lim;
	s->tab = htab_new(PKT_KEY_BYTES, lim->max_clients + lim->max_strangers);
	for (int i = 0; i < GWC_NSTATES; i++)
		list_init(&s->lru[i]);
	s->clients.max_each = s->strangers.max_each = lim->mailbox_max;
	s->clients.max_total = lim->mailbox_total;
	s->strangers.max_total = lim->stranger_mail;
	return s;
}

/* Forget c and its mail. */
static void forget(struct gwclients *s, struct gwclient *c, const char *why)
{
	trace(c, state_names[c->st], "forgotten", why);
	mailbox_clear(pool_of(s, c), &c->mb);
	list_remove(&c->lru);
	s->n[c->st]--;
	htab_del(s->tab, c->pk);
	free(c);
}

void gwc_free(struct gwclients *s)
{
	if (!s)
		return;
	for (int i = 0; i < GWC_NSTATES; i++)
		while (!list_empty(&s->lru[i]))
			forget(s, list_entry(s->lru[i].next, struct gwclient, lru), "gateway closing");
	htab_free(s->tab);
	free(s);
}

struct gwclient *gwc_find(const struct gwclients *s, const uint8_t pk[PKT_KEY_BYTES])
{
	return htab_get(s->tab, pk);
}

/* Push out the least recent entry of state st, with its mail. */
static void evict(struct gwclients *s, enum gwc_state st, const char *why)
{
	struct gwclient *c = list_entry(s->lru[st].next, struct gwclient, lru);
	s->st.mail_evicted += c->mb.n;
	if (st == GWC_STRANGER)
		s->st.strangers_evicted++;
	else
		s->st.clients_forgotten++;
	forget(s, c, why);
}

static struct gwclient *add(struct gwclients *s, const uint8_t pk[PKT_KEY_BYTES], enum gwc_state st,
                            uint64_t now)
{
	struct gwclient *c = xcalloc(1, sizeof(*c));
	memcpy(c->pk, pk, PKT_KEY_BYTES);
	mailbox_init(&c->mb);
	if (htab_put(s->tab, pk, c)) {
		free(c); /* the table holds both bounds: not reached */
		return NULL;
	}
	c->st = st;
	c->since_us = now;
	trace(c, "new", state_names[st], st == GWC_STRANGER ? "mail came" : "attached");
	list_push_back(&s->lru[st], &c->lru);
	s->n[st]++;
	return c;
}

struct gwclient *gwc_for_mail(struct gwclients *s, const uint8_t pk[PKT_KEY_BYTES], uint64_t now_us)
{
	struct gwclient *c = htab_get(s->tab, pk);
	if (c)
		return c;
	if (s->n[GWC_STRANGER] >= s->lim.max_strangers)
		evict(s, GWC_STRANGER, "strangers at their bound");
	return add(s, pk, GWC_STRANGER, now_us);
}

int gwc_put(struct gwclients *s, struct gwclient *c, const uint8_t *dlv, uint64_t now_us)
{
	if (c->st == GWC_STRANGER) {
		/* Strangers share their pool by recency: the least recent
		 * goes first, so made-up keys push out only each other. */
		c->since_us = now_us;
		list_remove(&c->lru);
		list_push_back(&s->lru[GWC_STRANGER], &c->lru);
		while (s->strangers.total >= s->strangers.max_total && !c->mb.n &&
		       s->lru[GWC_STRANGER].next != &c->lru)
			evict(s, GWC_STRANGER, "strangers' mail at its bound");
	}
	return mailbox_put(pool_of(s, c), &c->mb, dlv, now_us);
}

const uint8_t *gwc_oldest(const struct gwclient *c)
{
	return mailbox_oldest(&c->mb, NULL);
}

void gwc_pop(struct gwclients *s, struct gwclient *c)
{
	mailbox_pop(pool_of(s, c), &c->mb);
}

struct gwclient *gwc_attach(struct gwclients *s, const uint8_t pk[PKT_KEY_BYTES], void *link,
                            void **old, uint64_t now_us)
{
	struct gwclient *c = htab_get(s->tab, pk);
	*old = NULL;
	if (c && c->st == GWC_ATTACHED) {
		*old = c->link;
		c->link = link;
		c->since_us = now_us;
		return c;
	}
	if (!c || c->st == GWC_STRANGER) {
		if (s->n[GWC_ATTACHED] + s->n[GWC_AWAY] >= s->lim.max_clients) {
			if (!s->n[GWC_AWAY])
				return NULL;
			evict(s, GWC_AWAY, "clients at their bound");
		}
		if (!c) {
			if ((c = add(s, pk, GWC_ATTACHED, now_us)) != NULL)
				c->link = link;
			return c;
		}
	}
	c->link = link;
	set_state(s, c, GWC_ATTACHED, now_us, "attached");
	return c;
}

void gwc_detach(struct gwclients *s, struct gwclient *c, uint64_t now_us)
{
	c->link = NULL;
	set_state(s, c, GWC_AWAY, now_us, "link down");
}

size_t gwc_sweep(struct gwclients *s, uint64_t now_us)
{
	uint64_t cutoff = now_us > s->lim.mailbox_age_us ? now_us - s->lim.mailbox_age_us : 0;
	size_t gone = 0, it = 0;
	struct gwclient *c;
	while ((c = gwc_next(s, &it)) != NULL) {
		gone += mailbox_expire(pool_of(s, c), &c->mb, cutoff);
		if (c->mb.n)
			continue;
		if (c->st == GWC_STRANGER)
			forget(s, c, "no mail left");
		else if (c->st == GWC_AWAY && c->since_us < cutoff)
			forget(s, c, "away too long");
	}
	return gone;
}

struct gwclient *gwc_next(const struct gwclients *s, size_t *it)
{
	const void *k;
	void *v;
	return htab_next(s->tab, it, &k, &v) ? v : NULL;
}

size_t gwc_count(const struct gwclients *s, enum gwc_state st)
{
	return st < GWC_NSTATES ? s->n[st] : 0;
}

uint64_t gwc_mail_total(const struct gwclients *s, int strangers)
{
	return strangers ? s->strangers.total : s->clients.total;
}

const struct gwc_stats *gwc_stats(const struct gwclients *s)
{
	return &s->st;
}
