/* admit — see admit.h. */
#include "admit.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "htab.h"
#include "util.h"

struct admit {
	struct admit_limits lim;
	uint64_t max_clients;
	size_t n[AD_NCLASSES];
	struct list hs;          /* handshakes, oldest first */
	struct htab *by_addr;    /* address -> handshakes from it (a count, as a pointer) */
	struct htab *clients_by_addr; /* address -> client links from it, likewise */
	struct admit_stats st;
};

struct admit *admit_new(const struct admit_limits *lim)
{
	struct admit *a = xcalloc(1, sizeof(*a));
	a->lim = *lim;
	uint64_t m = a->lim.max_links < 3 ? 3 : a->lim.max_links;
	a->lim.max_links = m;
	if (a->lim.max_handshakes > m / 4)
		a->lim.max_handshakes = m / 4;
	if (a->lim.max_handshakes < 1)
		a->lim.max_handshakes = 1;
	if (a->lim.node_reserve > m - a->lim.max_handshakes - 1)
		a->lim.node_reserve = m - a->lim.max_handshakes - 1;
	/* One address never fills the handshakes, so its burst of
	 * connections is refused in part (and retried) rather than pushing
	 * out its own unfinished ones, or others'. */
	if (a->lim.per_addr > a->lim.max_handshakes / 4)
		a->lim.per_addr = a->lim.max_handshakes / 4;
	if (a->lim.per_addr < 1)
		a->lim.per_addr = 1;
	if (a->lim.per_addr_clients < 1)
		a->lim.per_addr_clients = 1;
	a->max_clients = m - a->lim.max_handshakes - a->lim.node_reserve;
	list_init(&a->hs);
	a->by_addr = htab_new(ADMIT_ADDR_BYTES, a->lim.max_handshakes);
	a->clients_by_addr = htab_new(ADMIT_ADDR_BYTES, a->max_clients);
	return a;
}

void admit_free(struct admit *a)
{
	if (!a)
		return;
	htab_free(a->by_addr);
	htab_free(a->clients_by_addr);
	free(a);
}

const struct admit_limits *admit_limits(const struct admit *a)
{
	return &a->lim;
}

uint64_t admit_max_clients(const struct admit *a)
{
	return a->max_clients;
}

void admit_addr(const struct sockaddr *sa, uint8_t out[ADMIT_ADDR_BYTES])
{
	memset(out, 0, ADMIT_ADDR_BYTES);
	if (sa && sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &s4->sin_addr, 4);
	} else if (sa && sa->sa_family == AF_INET6) {
		const uint8_t *a6 = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
		/* A v4-mapped address is the IPv4 host; any other, its /64. */
		memcpy(out, a6, memcmp(a6, v4mapped, 12) ? 8 : ADMIT_ADDR_BYTES);
	}
}

static uintptr_t addr_count(const struct htab *t, const uint8_t addr[ADMIT_ADDR_BYTES])
{
	return (uintptr_t)htab_get(t, addr);
}

/* One link more (+1) or less (-1) from addr, in t.  Never full: t holds
 * at most one key per link of its class, and is sized for the class. */
static void addr_add(struct htab *t, const uint8_t addr[ADMIT_ADDR_BYTES], int d)
{
	uintptr_t c = addr_count(t, addr);
	c = d > 0 ? c + 1 : c - 1;
	if (c)
		htab_put(t, addr, (void *)c);
	else
		htab_del(t, addr);
}

static size_t total(const struct admit *a)
{
	return a->n[AD_HANDSHAKE] + a->n[AD_NODE] + a->n[AD_CLIENT];
}

void admit_release(struct admit *a, struct admit_slot *s)
{
	if (s->cls == AD_NONE)
		return;
	if (s->cls == AD_HANDSHAKE) {
		list_remove(&s->hs);
		addr_add(a->by_addr, s->addr, -1);
	} else if (s->cls == AD_CLIENT) {
		addr_add(a->clients_by_addr, s->addr, -1);
	}
	a->n[s->cls]--;
	s->cls = AD_NONE;
}

int admit_accept(struct admit *a, struct admit_slot *s, const uint8_t addr[ADMIT_ADDR_BYTES],
                 uint64_t now_us, struct admit_slot **push)
{
	*push = NULL;
	if (addr_count(a->by_addr, addr) >= a->lim.per_addr) {
		a->st.refused_addr++;
		return ADMIT_PER_ADDR;
	}
	if (a->n[AD_HANDSHAKE] >= a->lim.max_handshakes || total(a) >= a->lim.max_links) {
		if (list_empty(&a->hs))
			return ADMIT_FULL;
		*push = list_entry(a->hs.next, struct admit_slot, hs);
		admit_release(a, *push);
		a->st.handshakes_pushed++;
	}
	memcpy(s->addr, addr, ADMIT_ADDR_BYTES);
	s->since_us = now_us;
	s->cls = AD_HANDSHAKE;
	list_push_back(&a->hs, &s->hs);
	addr_add(a->by_addr, addr, 1);
	a->n[AD_HANDSHAKE]++;
	return ADMIT_OK;
}

int admit_up(struct admit *a, struct admit_slot *s, enum admit_class cls)
{
	admit_release(a, s);
	if (cls == AD_CLIENT && (a->n[AD_CLIENT] >= a->max_clients ||
	                         addr_count(a->clients_by_addr, s->addr) >= a->lim.per_addr_clients)) {
		a->st.refused_clients++;
		return -1;
	}
	if (cls == AD_CLIENT)
		addr_add(a->clients_by_addr, s->addr, 1);
	s->cls = cls;
	a->n[cls]++;
	return 0;
}

size_t admit_count(const struct admit *a, enum admit_class cls)
{
	return cls < AD_NCLASSES ? a->n[cls] : 0;
}

const struct admit_stats *admit_stats(const struct admit *a)
{
	return &a->st;
}
