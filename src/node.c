/* node — see node.h.
 *
 * The node's parts, in the order below: the links to other nodes (struct
 * peer, with reconnect backoff), the clients a gateway knows and their
 * mailboxes, the gateway's report of the mixes it cannot reach, packet
 * processing and the packets held for their delay, the incoming links,
 * and what it reports (counters, show, metrics). */
#include "node.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "admit.h"
#include "attach.h"
#include "buf.h"
#include "gwclient.h"
#include "htab.h"
#include "link.h"
#include "listener.h"
#include "list.h"
#include "log.h"
#include "ratelog.h"
#include "rng.h"
#include "route.h"
#include "util.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define SWEEP_MS 5000
#define MONITOR_MS 1000          /* a gateway's links to every mix: retried this often */
#define STATUS_COALESCE_MS 100   /* changes within this go to clients in one report */
#define STATUS_FIRST_MAX_MS 3000 /* a gateway's first report waits this long at most for
                                  * a first try of every mix link (the clients wait
                                  * MIXEDGE_REPORT_WAIT_MS for it) */
#define CLIENT_WAIT_MS 1000      /* for a new client's first frame (client_heard) */
#define CLIENT_SHARE_MIN 16      /* frames a client link may queue, however many share */
/* Keys one client link may attach besides its own (LF_ATTACH), and how
 * fast: each costs an X25519 to check.  A process with a thousand
 * sessions holds a thousand identities on one link; a stranger with a
 * link gets no more than that, at ATTACH_RATE a second past the first
 * ATTACH_BURST. */
#define ATTACH_PER_LINK 4096
#define ATTACH_BURST 1100
#define ATTACH_RATE 200

struct node;

/* An outgoing link to a node of the topology, with reconnect backoff. */
struct peer {
	struct node *n;
	uint8_t id[PKT_ID_BYTES];
	struct link *out;
	int was_up;
	unsigned backoff_ms;
	uint64_t next_try_us;
	int unreachable;     /* its last link failed or dropped, none up since */
	int tried;           /* a link to it has come up or failed */
};

/* An incoming link (from a node or a client). */
struct inlink {
	struct node *n;
	struct link *link;
	struct gwclient *client;  /* a client link's own key, while attached */
	struct list clients;      /* every key attached on it, its own first (gwclient.on_link) */
	size_t nclients;
	double attach_tokens;     /* LF_ATTACH frames it may send now */
	uint64_t attach_us;       /* when they were last counted */
	int status_due;           /* the report of our links changed since it last went */
	int client_counted;       /* in n->client_links */
	struct admit_slot slot;   /* its class among the incoming links (admit.h) */
	int up;
	int refused; /* accept_peer said no and logged why */
	int accepting; /* link_accept has not returned: on_down leaves il to it */
	uint32_t pace_us;  /* a client's: the mean interval it asked for (0: none) */
	uint64_t t_pace;   /* the next paced frame */
	uint64_t pace_at;  /* when it is due (now_us) */
	uint32_t pace_tokens; /* paced frames its own sending has earned */
	int heard;         /* a client's: a frame came after its handshake */
	uint64_t t_heard;  /* ... or the wait for one is over */
};

struct held {
	struct node *n;
	struct list node;    /* in n->held_list: all held packets, to free them at exit */
	uint8_t next[PKT_ID_BYTES];
	uint64_t timer;
	int deliver;
	uint8_t pkt[PKT_BYTES];
};

struct node {
	struct node_cfg o;     /* the limits; its pointers are not used past node_new */
	struct ev *ev;
	struct topology *topo;
	char *topo_file;
	const struct topo_node *self;
	struct keypair kp;
	struct listener *listener;
	struct ratelog rl_accept; /* connections refused at once: a stranger's doing */
	struct ratelog rl_strangers, rl_clients; /* keys made up, or attaching in numbers */
	struct ratelog rl_handshakes;             /* handshakes failed or refused */
	struct ratelog rl_pushed;                 /* handshakes pushed out for newer ones */
	struct admit *admit;   /* who may hold the incoming links */
	struct replay *rf;
	struct htab *peers;    /* id -> struct peer */
	struct gwclients *clients; /* a gateway's (gwclient.h) */
	uint64_t client_links;     /* client links up with their key attached */
	struct htab *inlinks;  /* link id (8 bytes) -> struct inlink */
	struct list held_list;
	uint64_t held;
	uint64_t sweep_timer, monitor_timer, status_timer;
	int links_known;       /* a gateway's: every mix link tried once (or the wait over) */
	uint64_t known_timer;
	uint64_t paced;        /* client links paced now */
	double pace_budget;    /* paced frames the gateway may send now (pace-total) */
	uint64_t pace_budget_us; /* when it was last filled */
	struct ratelog rl_pace;
	struct ratelog rl_attach;                 /* LF_ATTACH refused: a stranger's doing */
	struct node_counters c;
	uint64_t started_us;
	char keytext[B58_KEY_CHARS], listen_text[64];
};

const char *node_role_name(const struct topo_node *t, char *buf, size_t n)
{
	if (t->role == TOPO_GATEWAY)
		snprintf(buf, n, "gateway");
	else
		snprintf(buf, n, "mix layer %d", t->layer);
	return buf;
}

/* ---- sending to other nodes ---- */

static void status_changed(struct node *n);
static void status_build(struct node *n, uint8_t pkt[PKT_BYTES]);
static void status_flush(struct node *n, struct inlink *il);
static void link_flush(struct node *n, struct inlink *il);

static void links_tried(struct node *n);

/* A link to p came up or failed: once, the gateway may know them all. */
static void peer_tried(struct peer *p)
{
	if (!p->tried) {
		p->tried = 1;
		links_tried(p->n);
	}
}

/* A gateway tells its clients which mixes it cannot link to (route.h):
 * a mix that crashed is avoided at once, not after routes through it
 * have timed out. */
static void peer_reachable(struct peer *p, int yes)
{
	const struct topo_node *tn = topo_by_id(p->n->topo, p->id);
	peer_tried(p);
	if (p->unreachable == !yes)
		return;
	p->unreachable = !yes;
	if (tn && tn->role == TOPO_MIX)
		status_changed(p->n);
}

static void peer_down(struct link *l, const char *why, void *ctx)
{
	struct peer *p = ctx;
	struct node *n = p->n;
	uint64_t id = link_id(l);
	if (p->was_up) {
		log_info("link %llu to %s: down: %s", (unsigned long long)id, (char *)p->id, why);
		p->backoff_ms = BACKOFF_MIN_MS;
	} else {
		n->c.links_failed++;
		/* Once per outage: a gateway retries the links to dead mixes
		 * for as long as they are down. */
		if (!p->unreachable)
			log_warn("link %llu to %s: failed: %s (retry in %u ms)", (unsigned long long)id,
			         (char *)p->id, why, p->backoff_ms);
		else
			log_debug("link %llu to %s: failed again: %s (retry in %u ms)",
			          (unsigned long long)id, (char *)p->id, why, p->backoff_ms);
		p->next_try_us = now_us() + (uint64_t)p->backoff_ms * 1000u;
		p->backoff_ms = p->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : p->backoff_ms * 2;
	}
	p->out = NULL;
	p->was_up = 0;
	peer_reachable(p, 0);
}

static void peer_up(struct link *l, void *ctx)
{
	struct peer *p = ctx;
	p->was_up = 1;
	p->backoff_ms = BACKOFF_MIN_MS;
	peer_reachable(p, 1);
	log_info("link %llu to %s (%s): up", (unsigned long long)link_id(l), (char *)p->id,
	         link_peer_addr(l));
}

static const struct link_cbs peer_cbs = {
	.on_up = peer_up,
	.on_down = peer_down,
};

static struct peer *peer_get(struct node *n, const uint8_t id[PKT_ID_BYTES])
{
	struct peer *p = htab_get(n->peers, id);
	if (p)
		return p;
	p = xcalloc(1, sizeof(*p));
	p->n = n;
	memcpy(p->id, id, PKT_ID_BYTES);
	p->backoff_ms = BACKOFF_MIN_MS;
	if (htab_put(n->peers, id, p)) {
		free(p);
		return NULL;
	}
	return p;
}

/* Open the link to a peer unless its backoff says wait.  0, or -1. */
static int peer_connect(struct node *n, struct peer *p, const struct topo_node *tn)
{
	if (now_us() < p->next_try_us)
		return -1;
	n->c.links_opened++;
	log_debug("connecting to %s at %s", tn->name, tn->addr_text);
	p->out = link_connect(n->ev, (const struct sockaddr *)&tn->addr, tn->addrlen, &n->kp,
	                      tn->pk, LINK_NODE, n->o.link_queue, &peer_cbs, p);
	if (!p->out)
		peer_tried(p);
	return p->out ? 0 : -1;
}

static void send_to_node(struct node *n, const uint8_t id[PKT_ID_BYTES], const uint8_t *pkt)
{
	const struct topo_node *tn = topo_by_id(n->topo, id);
	if (!tn) {
		n->c.drop_route++;
		return;
	}
	struct peer *p = peer_get(n, id);
	if (!p) {
		n->c.drop_route++;
		return;
	}
	if (!p->out && peer_connect(n, p, tn)) {
		n->c.drop_link_down++;
		return;
	}
	if (link_send(p->out, LF_PACKET, NULL, pkt)) {
		n->c.drop_queue++;
		return;
	}
	n->c.pkt_out++;
}

/* ---- clients and mailboxes (gateways) ---- */

/* Mail for keys that never attached pushed out other such mail: a
 * stranger's doing, at will, so rate-limited. */
static void log_evictions(struct node *n, uint64_t before)
{
	const struct gwc_stats *st = gwc_stats(n->clients);
	if (st->strangers_evicted != before)
		ratelog_warn(&n->rl_strangers, "mail for keys that never attached at its bound "
		             "(max-strangers, stranger-mail): the least recent pushed out, %llu so far",
		             (unsigned long long)st->strangers_evicted);
}

/* Room on c's link for one more delivery: within the link's queue, and
 * within an equal share of client-queue-total among the client links
 * up, so that clients that do not read cannot hold a gateway's
 * memory link by link (what is over waits in the mailbox, bounded). */
static int client_room(const struct node *n, const struct gwclient *c)
{
	uint64_t links = n->client_links;
	uint64_t share = n->o.client_queue_total / (links ? links : 1);
	if (share < CLIENT_SHARE_MIN)
		share = CLIENT_SHARE_MIN;
	return c->link && link_queue_room(c->link) > 0 && link_queue_len(c->link) < share;
}

/* Nothing goes to an attached client at once while it is paced (its
 * slots carry it: pace_tick) or has not said whether it wants to be
 * (client_heard), nor before the report of our links it is owed while
 * they are not known yet (links_known_set): the report goes first. */
static int unpaced_wait(const struct inlink *il)
{
	return il->pace_us || !il->heard;
}

static int held_back(const struct gwclient *c)
{
	const struct inlink *il = c->link ? link_ctx(c->link) : NULL;
	return il && (unpaced_wait(il) || (il->status_due && !il->n->links_known));
}

/* c's oldest mail onto its link, named by its key (a link carries the
 * mail of every key attached on it): 0, or -1 (none, or no room). */
static int send_oldest(struct node *n, struct gwclient *c)
{
	const uint8_t *dlv = gwc_oldest(c);
	if (!dlv || link_send(c->link, LF_DELIVER, c->pk, dlv))
		return -1;
	n->c.delivered++;
	gwc_pop(n->clients, c);
	return 0;
}

static void mailbox_flush(struct node *n, struct gwclient *c)
{
	if (held_back(c))
		return;
	while (c->mb.n && client_room(n, c) && send_oldest(n, c) == 0)
		n->c.mailbox_flushed++;
}

static void deliver_to_client(struct node *n, const uint8_t pk[PKT_KEY_BYTES], const uint8_t *dlv)
{
	uint64_t now = now_us(), evicted = gwc_stats(n->clients)->strangers_evicted;
	struct gwclient *c = gwc_for_mail(n->clients, pk, now);
	if (!c) {
		n->c.drop_no_client_slot++;
		return;
	}
	/* Keep order: while older mail waits, new mail queues behind it. */
	if (!c->mb.n && !held_back(c) && client_room(n, c) &&
	    link_send(c->link, LF_DELIVER, c->pk, dlv) == 0) {
		n->c.delivered++;
		return;
	}
	int put = gwc_put(n->clients, c, dlv, now);
	log_evictions(n, evicted);
	if (put != 0)
		n->c.drop_mailbox_full++;
	if (put >= 0)
		n->c.mailboxed++;
	mailbox_flush(n, c);
}

/* ---- paced client links (LF_PACE) ----
 *
 * A client that asks for it gets a frame at a Poisson rate, its report
 * of the gateway's links, its oldest mail or padding, so that what an
 * observer of its network sees come in does not change with what it
 * does.
 *
 * Padding is a frame nobody paid for, so a link's slots are earned by
 * its own sending: PACE_PER_SEND frames for each packet it hands us (an
 * honest client sends all the time, cover included, and asks for about
 * twice its sending: three times the margin, for a client too busy to
 * keep its own rate), at most PACE_TOKENS_MAX ahead.  And all paced
 * links together get at most pace-total frames a second.  A slot that
 * finds no token, no budget or a client that does not read is skipped:
 * nothing is queued, the mail waits in the mailbox. */

#define PACE_PER_SEND 6
#define PACE_TOKENS_START 100
#define PACE_TOKENS_MAX 300

static void pace_tick(struct ev *ev, void *ctx);

/* Each slot is drawn from the last one's due time (rng_poisson_next), so
 * the rate the client's network sees does not fall with the gateway's
 * load. */
static void pace_next(struct node *n, struct inlink *il, uint64_t now)
{
	il->t_pace = ev_timer_add_us(n->ev, rng_poisson_next(&il->pace_at, now,
	                                                     (double)link_pace_held(il->pace_us)),
	                             pace_tick, il);
}

/* One frame of the gateway's budget, if there is one: it fills at
 * pace-total a second, a second's worth at most. */
static int pace_budget_take(struct node *n, uint64_t now)
{
	double cap = (double)n->o.pace_total;
	n->pace_budget += (double)(now - n->pace_budget_us) * cap / 1e6;
	n->pace_budget_us = now;
	if (n->pace_budget > cap)
		n->pace_budget = cap;
	if (n->pace_budget < 1)
		return 0;
	n->pace_budget -= 1;
	return 1;
}

/* The first key of il, in its round robin, with mail waiting: it goes to
 * the back, so that one identity's burst of mail does not hold back
 * another's.  NULL: none has mail. */
static struct gwclient *pace_next_mail(struct inlink *il)
{
	for (struct list *e = il->clients.next; e != &il->clients; e = e->next) {
		struct gwclient *c = list_entry(e, struct gwclient, on_link);
		if (c->mb.n) {
			list_remove(e);
			list_push_back(&il->clients, e);
			return c;
		}
	}
	return NULL;
}

static void pace_tick(struct ev *ev, void *ctx)
{
	struct inlink *il = ctx;
	struct node *n = il->n;
	struct gwclient *c = il->client;
	uint8_t pkt[PKT_BYTES];
	uint64_t now = now_us();
	(void)ev;
	il->t_pace = 0;
	if (!c)
		return;
	if (!client_room(n, c) || !il->pace_tokens) {
		n->c.pace_skipped++;
	} else if (!pace_budget_take(n, now)) {
		n->c.pace_skipped++;
		ratelog_warn(&n->rl_pace, "pace-total (%llu frames a second) reached: paced slots "
		             "skipped", (unsigned long long)n->o.pace_total);
	} else {
		/* The report first: mail waits for it, padding does not. */
		int report = il->status_due && n->links_known;
		struct gwclient *m = il->status_due ? NULL : pace_next_mail(il);
		il->pace_tokens--;
		if (report) {
			status_build(n, pkt);
			if (link_send(il->link, LF_STATUS, NULL, pkt) == 0)
				il->status_due = 0;
		} else if (m) {
			send_oldest(n, m);
		} else if (link_send(il->link, LF_PAD, NULL, NULL) == 0) {
			n->c.padded++;
		}
	}
	pace_next(n, il, now);
}

static void pace_stop(struct node *n, struct inlink *il)
{
	if (il->pace_us)
		n->paced--;
	il->pace_us = 0;
	ev_timer_cancel(n->ev, il->t_pace);
	il->t_pace = 0;
}

/* The client's LF_PACE: the mean interval in microseconds, 32 bits
 * big-endian, first in the packet field; 0 stops pacing.  A new rate
 * draws the next slot afresh. */
static void pace_set(struct node *n, struct inlink *il, const uint8_t *pkt)
{
	struct rd r;
	uint32_t us = 0;
	rd_init(&r, pkt, PKT_BYTES);
	rd_u32(&r, &us);
	if (!il->client)
		return;
	if (!us) {
		pace_stop(n, il);
		link_flush(n, il);
	} else {
		n->paced += !il->pace_us;
		il->pace_us = us;
		ev_timer_cancel(n->ev, il->t_pace);
		il->pace_at = now_us();
		pace_next(n, il, il->pace_at);
	}
	log_debug("link %llu: paced at %u us (mean; 0: not)", (unsigned long long)link_id(il->link),
	          us);
}

/* Earned whether paced or not: slots are minted by sending only, never
 * by asking again (PACE 0 then PACE x would otherwise mint a start's
 * worth each time). */
static void pace_earn(struct inlink *il)
{
	if (il->pace_tokens < PACE_TOKENS_MAX)
		il->pace_tokens = il->pace_tokens + PACE_PER_SEND > PACE_TOKENS_MAX
		                ? PACE_TOKENS_MAX : il->pace_tokens + PACE_PER_SEND;
}

/* A client's first frame after its handshake, or a second without one:
 * only then do its report and its mail go, so that a client that asks
 * for pacing (its first frame) gets none of them unpaced. */
static void client_heard(struct node *n, struct inlink *il)
{
	ev_timer_cancel(n->ev, il->t_heard);
	il->t_heard = 0;
	if (il->heard || !il->client)
		return;
	il->heard = 1;
	link_flush(n, il);
}

static void client_wait_over(struct ev *ev, void *ctx)
{
	struct inlink *il = ctx;
	(void)ev;
	il->t_heard = 0;
	client_heard(il->n, il);
}

static void node_sweep(struct ev *ev, void *ctx)
{
	struct node *n = ctx;
	n->sweep_timer = ev_timer_add(ev, SWEEP_MS, node_sweep, n);
	n->c.drop_mailbox_age += gwc_sweep(n->clients, now_us());
}

/* ---- the gateway's report of its links (route.h) ---- */

static void status_build(struct node *n, uint8_t pkt[PKT_BYTES])
{
	uint8_t ids[ROUTE_STATUS_MAX][PKT_ID_BYTES];
	size_t k = 0, it = 0;
	const void *key;
	void *v;
	while (htab_next(n->peers, &it, &key, &v)) {
		const struct peer *p = v;
		const struct topo_node *tn = topo_by_id(n->topo, p->id);
		if (p->unreachable && tn && tn->role == TOPO_MIX && k < ROUTE_STATUS_MAX)
			memcpy(ids[k++], p->id, PKT_ID_BYTES);
	}
	route_status_encode(pkt, (const uint8_t (*)[PKT_ID_BYTES])ids, k);
}

/* Send the report on a client link that is due one, if it has room (a
 * full link sends it when it drains).  One a link, however many keys it
 * has attached: the report is of the gateway, not of a key. */
static void status_flush(struct node *n, struct inlink *il)
{
	uint8_t pkt[PKT_BYTES];
	if (!il->status_due || !n->links_known || !il->client || link_state(il->link) != LS_UP ||
	    !link_queue_room(il->link) || unpaced_wait(il))
		return;
	status_build(n, pkt);
	if (link_send(il->link, LF_STATUS, NULL, pkt) == 0)
		il->status_due = 0;
}

static void status_send_all(struct ev *ev, void *ctx)
{
	struct node *n = ctx;
	size_t it = 0;
	const void *key;
	void *v;
	(void)ev;
	n->status_timer = 0;
	while (htab_next(n->inlinks, &it, &key, &v)) {
		struct inlink *il = v;
		if (il->client) {
			il->status_due = 1;
			link_flush(n, il); /* the report, then mail that waited for it */
		}
	}
}

/* The report, then the mail of every key attached on il, round robin
 * (each key's oldest first), as far as the link takes it. */
static void link_flush(struct node *n, struct inlink *il)
{
	status_flush(n, il);
	if (!il->client || held_back(il->client))
		return;
	for (int more = 1; more && client_room(n, il->client);) {
		more = 0;
		for (struct list *e = il->clients.next; e != &il->clients && client_room(n, il->client);
		     e = e->next) {
			struct gwclient *c = list_entry(e, struct gwclient, on_link);
			if (!c->mb.n)
				continue;
			if (send_oldest(n, c))
				return;
			n->c.mailbox_flushed++;
			more = 1;
		}
	}
}

static void status_changed(struct node *n)
{
	if (n->self->role == TOPO_GATEWAY && !n->status_timer)
		n->status_timer = ev_timer_add(n->ev, STATUS_COALESCE_MS, status_send_all, n);
}

/* A gateway's first report waits until it has tried a link to every mix:
 * one that has not would tell its clients that mixes it has not tried are
 * reachable, and they would draw their first routes and reply blocks
 * through the dead ones (clients send nothing before the report: see
 * mixedge.h).  The one place links_known is set. */
static void links_known_set(struct node *n, const char *why)
{
	if (n->links_known)
		return;
	n->links_known = 1;
	ev_timer_cancel(n->ev, n->known_timer);
	n->known_timer = 0;
	log_debug("links to the mixes known (%s): reports go to the clients", why);
	/* At once: clients wait for it before they send anything. */
	ev_timer_cancel(n->ev, n->status_timer);
	status_send_all(n->ev, n);
}

static void links_tried(struct node *n)
{
	if (n->links_known || n->self->role != TOPO_GATEWAY)
		return;
	for (size_t i = 0; i < n->topo->n; i++) {
		const struct topo_node *tn = &n->topo->nodes[i];
		const struct peer *p;
		if (tn->role == TOPO_MIX &&
		    (!(p = htab_get(n->peers, tn->id)) || !p->tried))
			return;
	}
	links_known_set(n, "every mix tried");
}

static void links_wait_over(struct ev *ev, void *ctx)
{
	struct node *n = ctx;
	(void)ev;
	n->known_timer = 0;
	links_known_set(n, "not every mix answered in time");
}

/* A gateway keeps a link to every mix, so that it knows, and can tell
 * its clients, which ones it cannot reach; links that failed are tried
 * again after their backoff. */
static void monitor_pass(struct node *n)
{
	for (size_t i = 0; i < n->topo->n; i++) {
		const struct topo_node *tn = &n->topo->nodes[i];
		struct peer *p;
		if (tn->role == TOPO_MIX && (p = peer_get(n, tn->id)) != NULL && !p->out)
			peer_connect(n, p, tn);
	}
}

static void node_monitor(struct ev *ev, void *ctx)
{
	struct node *n = ctx;
	n->monitor_timer = ev_timer_add(ev, MONITOR_MS, node_monitor, n);
	monitor_pass(n);
}

/* ---- packet processing ---- */

static void dispatch(struct node *n, const uint8_t next[PKT_ID_BYTES], int deliver,
                     const uint8_t *pkt)
{
	if (deliver)
		deliver_to_client(n, next, pkt);
	else
		send_to_node(n, next, pkt);
}

static void held_unlink(struct held *h)
{
	list_remove(&h->node);
	h->n->held--;
}

static void held_fire(struct ev *ev, void *ctx)
{
	struct held *h = ctx;
	(void)ev;
	held_unlink(h);
	dispatch(h->n, h->next, h->deliver, h->pkt);
	free(h);
}

/* May the packet go from this node to `next`?  Routes run L1 -> L2 -> L3
 * -> gateway; anything else is a forged or broken route, and refusing it
 * keeps packets from looping inside the network. */
static int route_ok(struct node *n, const struct pkt_hop_result *res)
{
	if (n->self->role == TOPO_GATEWAY)
		return res->action == PKT_DELIVER;
	if (res->action != PKT_RELAY)
		return 0;
	const struct topo_node *next = topo_by_id(n->topo, res->addr);
	if (!next)
		return 0;
	if (n->self->layer < TOPO_LAYERS)
		return next->role == TOPO_MIX && next->layer == n->self->layer + 1;
	return next->role == TOPO_GATEWAY;
}

static void process_packet(struct node *n, uint8_t *pkt, struct link *from)
{
	struct pkt_hop_result res;
	int rc = pkt_process(pkt, PKT_BYTES, n->kp.sk, n->rf, (uint32_t)(wall_s() / 60), &res);
	switch (rc) {
	case PKT_OK: break;
	case PKT_ERR_SIZE: n->c.drop_size++; break;
	case PKT_ERR_KEY: n->c.drop_key++; break;
	case PKT_ERR_MAC: n->c.drop_mac++; break;
	case PKT_ERR_REPLAY: n->c.drop_replay++; break;
	case PKT_ERR_EXPIRED: n->c.drop_expired++; break;
	default: n->c.drop_format++; break;
	}
	if (rc != PKT_OK) {
		log_debug("link %llu: packet dropped: %s", (unsigned long long)link_id(from),
		          pkt_strerror(rc));
		return;
	}
	if (!route_ok(n, &res)) {
		n->c.drop_route++;
		log_debug("link %llu: packet dropped: route does not continue from here",
		          (unsigned long long)link_id(from));
		return;
	}
	int deliver = res.action == PKT_DELIVER;
	if (res.delay_us == 0) {
		dispatch(n, res.addr, deliver, pkt);
		return;
	}
	if (res.delay_us > n->o.max_delay_ms * 1000u) {
		n->c.drop_delay++;
		return;
	}
	if (n->held >= n->o.max_held) {
		n->c.drop_held_full++;
		return;
	}
	struct held *h = xcalloc(1, sizeof(*h));
	h->n = n;
	memcpy(h->next, res.addr, PKT_ID_BYTES);
	h->deliver = deliver;
	memcpy(h->pkt, pkt, PKT_BYTES);
	h->timer = ev_timer_add_us(n->ev, res.delay_us, held_fire, h);
	list_push_front(&n->held_list, &h->node);
	n->held++;
}

/* ---- keys on client links (LF_ATTACH, attach.h) ----
 *
 * A client link carries the mail of its own key and of every key the
 * client proves it holds on it: one link serves all the identities of a
 * process. */

/* Attach pk on il (own: the link's own key, which its handshake proved):
 * its mail comes on il from now on.  A key attached on another link
 * moves here; if it was that link's own key, that link is an old
 * connection of the same client, and closes.  NULL: every place in the
 * table is taken by a client attached (max-clients). */
static struct gwclient *key_attach(struct node *n, struct inlink *il, const uint8_t pk[32], int own)
{
	void *old;
	struct gwclient *c = gwc_attach(n->clients, pk, il->link, &old, now_us());
	if (!c)
		return NULL;
	struct inlink *oil = old ? link_ctx(old) : NULL;
	if (list_linked(&c->on_link)) {
		list_remove(&c->on_link);
		if (oil)
			oil->nclients--;
	}
	if (own)
		list_push_front(&il->clients, &c->on_link);
	else
		list_push_back(&il->clients, &c->on_link);
	il->nclients++;
	if (oil && oil != il && oil->client == c) {
		oil->client = NULL;
		link_close(old, "replaced by a newer connection of the same client");
	}
	if (own)
		il->client = c;
	return c;
}

/* c, attached on il, is away: its mail waits in its mailbox. */
static void key_detach(struct node *n, struct inlink *il, struct gwclient *c)
{
	list_remove(&c->on_link);
	il->nclients--;
	if (il->client == c)
		il->client = NULL;
	gwc_detach(n->clients, c, now_us());
}

/* LF_ATTACH (id: the key, packet: its proof) and LF_DETACH (id: the key)
 * on a client link whose own key is attached.  A refusal is counted and
 * logged, rate-limited, and otherwise silent: the client learns nothing
 * it could not tell from its mail not coming. */
static void key_frame(struct node *n, struct inlink *il, enum link_frame_type type,
                      const uint8_t id[PKT_ID_BYTES], const uint8_t *pkt)
{
	struct gwclient *c;
	const char *why = NULL;
	uint64_t now = now_us();
	if (!il->client)
		return; /* its own key went to a newer link: this one is closing */
	if (type == LF_DETACH) {
		c = gwc_find(n->clients, id);
		if (c && c != il->client && c->link == il->link) {
			key_detach(n, il, c);
			n->c.keys_detached++;
		}
		return;
	}
	il->attach_tokens += (double)(now - il->attach_us) * ATTACH_RATE / 1e6;
	if (il->attach_tokens > ATTACH_BURST)
		il->attach_tokens = ATTACH_BURST;
	il->attach_us = now;
	if (il->nclients > ATTACH_PER_LINK)
		why = "the link holds as many keys as a link may";
	else if (il->attach_tokens < 1)
		why = "faster than a link may attach keys";
	else if ((il->attach_tokens -= 1, attach_check(pkt, n->kp.sk, id, link_binding(il->link))))
		why = "its proof does not hold";
	if (why) {
		n->c.attach_refused++;
		ratelog_warn(&n->rl_attach, "link %llu from %s: a key not attached: %s; %llu so far",
		             (unsigned long long)link_id(il->link), link_peer_addr(il->link), why,
		             (unsigned long long)n->c.attach_refused);
		return;
	}
	if (!(c = key_attach(n, il, id, 0))) {
		n->c.drop_no_client_slot++;
		ratelog_warn(&n->rl_clients, "link %llu from %s: a key not attached: all %llu clients "
		             "attached (max-clients)", (unsigned long long)link_id(il->link),
		             link_peer_addr(il->link), (unsigned long long)n->o.max_clients);
		return;
	}
	n->c.keys_attached++;
	log_debug("link %llu: a key attached (%zu on the link, %zu waiting in its mailbox)",
	          (unsigned long long)link_id(il->link), il->nclients, c->mb.n);
	mailbox_flush(n, c);
}

/* Test-only fault injection (--test-drop, --test-duplicate). */
static int chance(double p)
{
	return p > 0 && (double)randombytes_random() < p * 4294967296.0;
}

static void in_frame(struct link *l, enum link_frame_type type,
                     const uint8_t id[PKT_ID_BYTES], uint8_t *pkt, void *ctx)
{
	struct inlink *il = ctx;
	struct node *n = il->n;

	if (type == LF_PACE) {
		pace_set(n, il, pkt);
		client_heard(n, il);
		return;
	}
	if (il->client && !il->heard)
		client_heard(n, il);
	if (type == LF_ATTACH || type == LF_DETACH) {
		key_frame(n, il, type, id, pkt);
		return;
	}
	if (chance(n->o.test_drop)) {
		n->c.test_dropped++;
		return;
	}
	int copies = 1;
	if (chance(n->o.test_duplicate)) {
		n->c.test_duplicated++;
		copies = 2;
	}
	if (type == LF_PACKET) {
		n->c.pkt_in++;
		if (copies == 2) {
			uint8_t dup[PKT_BYTES];
			memcpy(dup, pkt, PKT_BYTES);
			process_packet(n, dup, l);
		}
		process_packet(n, pkt, l);
		return;
	}
	/* LF_SEND: a client hands its gateway a packet for a layer-1 mix. */
	n->c.client_in++;
	pace_earn(il);
	const struct topo_node *first = topo_by_id(n->topo, id);
	if (!first || first->role != TOPO_MIX || first->layer != 1) {
		n->c.drop_route++;
		log_debug("link %llu: client packet for '%.31s', not a layer-1 mix: dropped",
		          (unsigned long long)link_id(l), (const char *)id);
		return;
	}
	for (int i = 0; i < copies; i++)
		send_to_node(n, id, pkt);
}

/* ---- incoming links ---- */

static int in_accept_peer(struct link *l, enum link_kind kind, const uint8_t pk[32], void *ctx)
{
	struct inlink *il = ctx;
	struct node *n = il->n;
	char keytext[B58_KEY_CHARS];
	if (kind == LINK_NODE) {
		if (topo_by_pk(n->topo, pk))
			return 0;
		il->refused = 1;
		n->c.links_refused++;
		ratelog_warn(&n->rl_handshakes, "link %llu from %s: refused: node key %s is not in "
		             "the topology", (unsigned long long)link_id(l), link_peer_addr(l),
		             key_to_str(pk, keytext, sizeof(keytext)));
		return -1;
	}
	if (n->self->role == TOPO_GATEWAY)
		return 0;
	il->refused = 1;
	n->c.links_refused++;
	ratelog_warn(&n->rl_handshakes, "link %llu from %s: refused: clients attach to gateways, "
	             "not mixes", (unsigned long long)link_id(l), link_peer_addr(l));
	return -1;
}

static void in_up(struct link *l, void *ctx)
{
	struct inlink *il = ctx;
	struct node *n = il->n;
	char keytext[B58_KEY_CHARS];
	key_to_str(link_peer_pk(l), keytext, sizeof(keytext));
	if (admit_up(n->admit, &il->slot, link_kind(l) == LINK_NODE ? AD_NODE : AD_CLIENT)) {
		il->refused = 1;
		ratelog_warn(&n->rl_clients, "link %llu from %s: refused: client links at their "
		             "bound (%llu: max-links less the nodes' reserve and the handshakes; "
		             "%llu from one address)", (unsigned long long)link_id(l),
		             link_peer_addr(l), (unsigned long long)admit_max_clients(n->admit),
		             (unsigned long long)n->o.clients_per_addr);
		link_close(l, "too many client links");
		return;
	}
	il->up = 1;
	if (link_kind(l) == LINK_NODE) {
		const struct topo_node *tn = topo_by_pk(n->topo, link_peer_pk(l));
		log_info("link %llu from %s (%s): up", (unsigned long long)link_id(l),
		         tn ? tn->name : "?", link_peer_addr(l));
		return;
	}
	uint64_t forgotten = gwc_stats(n->clients)->clients_forgotten;
	struct gwclient *c = key_attach(n, il, link_peer_pk(l), 1);
	if (!c) {
		n->c.drop_no_client_slot++;
		ratelog_warn(&n->rl_clients, "link %llu from %s: refused: all %llu clients attached "
		             "(max-clients)", (unsigned long long)link_id(l), link_peer_addr(l),
		             (unsigned long long)n->o.max_clients);
		il->refused = 1; /* logged here, not once per connection */
		link_close(l, "too many clients");
		return;
	}
	if (gwc_stats(n->clients)->clients_forgotten != forgotten)
		ratelog_warn(&n->rl_clients, "clients at max-clients: the one away longest forgotten "
		             "for a new one, %llu so far",
		             (unsigned long long)gwc_stats(n->clients)->clients_forgotten);
	n->client_links++;
	il->client_counted = 1;
	/* Debug only: anyone may attach with a key of his own, as often as
	 * he likes; the clients gauge counts them. */
	log_debug("link %llu from %s: client %s attached (%zu waiting in mailbox)",
	          (unsigned long long)link_id(l), link_peer_addr(l), keytext, c->mb.n);
	il->status_due = 1;
	/* A client waits for the report, which waits for a try of every
	 * mix link: a gateway that has not made its first pass yet makes
	 * it now, rather than at MONITOR_MS. */
	if (!n->links_known)
		monitor_pass(n);
	il->attach_tokens = ATTACH_BURST;
	il->attach_us = now_us();
	il->pace_tokens = PACE_TOKENS_START;
	il->t_heard = ev_timer_add(n->ev, CLIENT_WAIT_MS, client_wait_over, il);
}

static void in_drain(struct link *l, void *ctx)
{
	struct inlink *il = ctx;
	(void)l;
	if (il->client && il->heard)
		link_flush(il->n, il);
}

static void in_down(struct link *l, const char *why, void *ctx)
{
	struct inlink *il = ctx;
	struct node *n = il->n;
	uint64_t id = link_id(l);
	/* A link that never came up failed its handshake: worth a warning
	 * (a stranger, an impostor, a misconfigured peer), rate-limited as a
	 * stranger causes it at will, unless the refusal was logged already,
	 * with the key, when it happened. */
	if (!il->up && !il->refused)
		ratelog_warn(&n->rl_handshakes, "link %llu from %s: %s%s", (unsigned long long)id,
		             link_peer_addr(l), strncmp(why, "handshake", 9) ? "handshake failed: " : "",
		             why);
	else if (il->up && il->client)
		log_debug("link %llu from %s: down: %s", (unsigned long long)id, link_peer_addr(l),
		          why);
	else if (il->up)
		log_info("link %llu from %s: down: %s", (unsigned long long)id, link_peer_addr(l), why);
	pace_stop(n, il);
	ev_timer_cancel(n->ev, il->t_heard);
	il->t_heard = 0;
	if (il->client_counted)
		n->client_links--;
	while (!list_empty(&il->clients))
		key_detach(n, il, list_entry(il->clients.next, struct gwclient, on_link));
	admit_release(n->admit, &il->slot);
	htab_del(n->inlinks, &id);
	if (!il->accepting)
		free(il);
}

static const struct link_cbs in_cbs = {
	.accept_peer = in_accept_peer,
	.on_up = in_up,
	.on_frame = in_frame,
	.on_drain = in_drain,
	.on_down = in_down,
};

/* Keep the link l just made for il (accepted, or detached), or free il:
 * the link, NULL if it failed (its on_down has run, and left il). */
static struct link *inlink_keep(struct node *n, struct inlink *il, struct link *l)
{
	il->accepting = 0;
	if (!l) {
		free(il);
		return NULL;
	}
	il->link = l;
	uint64_t id = link_id(il->link);
	if (htab_put(n->inlinks, &id, il)) {
		link_close(il->link, "too many links");
		return NULL;
	}
	n->c.links_accepted++;
	log_debug("link %llu from %s: connected", (unsigned long long)id,
	          link_peer_addr(il->link));
	return il->link;
}

/* A new incoming link from sa (NULL: detached) gets a handshake slot,
 * pushing out the oldest handshake if they are all taken: its inlink, or
 * NULL (refused, counted and logged). */
static struct inlink *inlink_admit(struct node *n, const struct sockaddr *sa)
{
	uint8_t addr[ADMIT_ADDR_BYTES];
	struct admit_slot *push;
	char a[64];
	struct inlink *il = xcalloc(1, sizeof(*il));
	il->n = n;
	list_init(&il->clients);
	admit_addr(sa, addr);
	int rc = admit_accept(n->admit, &il->slot, addr, now_us(), &push);
	if (rc != ADMIT_OK) {
		n->c.links_over_max++;
		ratelog_warn(&n->rl_accept, "connection from %s refused: %s",
		             sa ? sockaddr_str(sa, a, sizeof(a)) : "(detached)",
		             rc == ADMIT_PER_ADDR
		                     ? "its address has max-handshakes-per-address handshakes open"
		                     : "every link is taken (max-links)");
		free(il);
		return NULL;
	}
	if (push) {
		struct inlink *old = list_entry(push, struct inlink, slot);
		old->refused = 1; /* logged here, not once per connection */
		ratelog_warn(&n->rl_pushed, "handshake slots full (max-handshakes): the oldest, "
		             "from %s, closed for a new one; %llu so far", link_peer_addr(old->link),
		             (unsigned long long)admit_stats(n->admit)->handshakes_pushed);
		link_close(old->link, "handshake slots full: the oldest goes");
	}
	return il;
}

static void node_on_accept(int cfd, const struct sockaddr *sa, socklen_t sl, void *ctx)
{
	struct node *n = ctx;
	struct inlink *il = inlink_admit(n, sa);
	if (!il) {
		close(cfd);
		return;
	}
	il->accepting = 1;
	inlink_keep(n, il, link_accept(n->ev, cfd, sa, sl, &n->kp, n->o.link_queue, &in_cbs, il));
}

struct link *node_accept_detached(struct node *n)
{
	struct inlink *il = inlink_admit(n, NULL);
	if (!il)
		return NULL;
	il->accepting = 1;
	return inlink_keep(n, il, link_new_detached(n->ev, 0, &n->kp, NULL, LINK_NODE,
	                                            n->o.link_queue, &in_cbs, il));
}

/* Descriptors a node needs besides its incoming links: standard streams,
 * the log, epoll, signalfd, the listener, the control socket and its
 * connections, a link to every other node of the topology, and a margin
 * for what libraries open (getaddrinfo, /dev/urandom). */
static uint64_t fds_reserved(const struct node *n)
{
	return 3 + 1 + 2 + 1 + 1 + CTL_MAX_CONNS + (uint64_t)n->topo->n + 16;
}

/* Never more links than descriptors: past the limit, accept fails with
 * EMFILE on every connection, from nodes as well as strangers. */
static void fit_max_links(struct node *n)
{
	uint64_t nofile, reserve = fds_reserved(n);
	uint64_t fit = nofile_fit(n->o.max_links, 1, reserve, &nofile);
	if (fit == n->o.max_links)
		return;
	log_warn("max-links %llu lowered to %llu: the open-file limit is %llu and %llu are "
	         "kept for the rest (raise it: LimitNOFILE= or ulimit -n)",
	         (unsigned long long)n->o.max_links, (unsigned long long)fit,
	         (unsigned long long)nofile, (unsigned long long)reserve);
	n->o.max_links = fit;
}

/* ---- what it reports: SIGUSR1, and `mixproxy show` (ctl.h) ---- */

/* The figures SIGUSR1 logs, `show` lists and `metrics` exports (ctl.h),
 * in the order of the log line. */
enum {
	NS_IN, NS_OUT, NS_CLIENT_IN, NS_DELIVERED, NS_MAILBOXED, NS_PADDED, NS_PACE_SKIPPED, NS_PACED,
	NS_KEYS_ATTACHED, NS_KEYS_DETACHED, NS_ATTACH_REFUSED,
	NS_HELD,
	NS_QUEUED,
	NS_LINKS_OUT_UP, NS_LINKS_IN, NS_CLIENTS, NS_MAIL, NS_STRANGERS, NS_STRANGER_MAIL,
	NS_STRANGERS_EVICTED, NS_CLIENTS_FORGOTTEN,
	NS_DROP_MAC, NS_DROP_REPLAY, NS_DROP_EXPIRED, NS_DROP_KEY, NS_DROP_FORMAT, NS_DROP_ROUTE,
	NS_DROP_DELAY, NS_DROP_HELD_FULL, NS_DROP_QUEUE, NS_DROP_LINK_DOWN, NS_DROP_MAILBOX_FULL,
	NS_DROP_MAILBOX_AGE, NS_DROP_NO_CLIENT_SLOT,
	NS_TEST_DROPPED, NS_TEST_DUPLICATED, NS_REPLAY_FRESH, NS_REPLAY_OVERLOADED, NS_REPLAY_UNKNOWN,
	NS_LINKS_ACCEPTED, NS_LINKS_REFUSED, NS_LINKS_OPENED, NS_LINKS_FAILED,
	NS_LINKS_OVER_MAX, NS_HANDSHAKES_PUSHED, NS_CLIENT_LINKS_REFUSED, NS_ACCEPT_RESTS,
	NS_N
};

#define DROP(n) { "drop", n, "packets_dropped_total", "reason=\"" n "\"", CTL_COUNTER, 0, \
	"Packets dropped, by reason (mixproxy(8), SIGNALS)." }
static const struct ctl_stat node_stats[NS_N] = {
	[NS_IN] = { NULL, "in", "packets_in_total", NULL, CTL_COUNTER, 0, "Packets received from other nodes." },
	[NS_OUT] = { NULL, "out", "packets_out_total", NULL, CTL_COUNTER, 0, "Packets queued to the next node." },
	[NS_CLIENT_IN] = { NULL, "client_in", "client_packets_in_total", NULL, CTL_COUNTER, 0, "Packets received from attached clients." },
	[NS_DELIVERED] = { NULL, "delivered", "delivered_total", NULL, CTL_COUNTER, 0, "Packets delivered to clients, from mailboxes included." },
	[NS_MAILBOXED] = { NULL, "mailboxed", "mailboxed_total", NULL, CTL_COUNTER, 0, "Deliveries kept in a mailbox for a client away, busy or paced." },
	[NS_PADDED] = { NULL, "padded", "padding_sent_total", NULL, CTL_COUNTER, 0, "Paced slots to clients that carried no delivery: padding." },
	[NS_PACE_SKIPPED] = { NULL, "pace_skipped", "paced_slots_skipped_total", NULL, CTL_COUNTER, 0, "Paced slots skipped: the client did not read, its sending had not earned them, or pace-total was reached." },
	[NS_PACED] = { NULL, "paced", "paced_clients", NULL, CTL_GAUGE, 0, "Clients attached that asked for paced delivery." },
	[NS_KEYS_ATTACHED] = { "keys", "attached", "keys_attached_total", NULL, CTL_COUNTER, 0, "Keys attached on a client link besides the link's own (LF_ATTACH)." },
	[NS_KEYS_DETACHED] = { "keys", "detached", "keys_detached_total", NULL, CTL_COUNTER, 0, "Keys a client detached from its link (LF_DETACH)." },
	[NS_ATTACH_REFUSED] = { "keys", "refused", "keys_refused_total", NULL, CTL_COUNTER, 0, "Keys not attached: a proof that does not hold, faster than a link may attach, or more than a link may hold." },
	[NS_HELD] = { NULL, "held", "held_packets", NULL, CTL_GAUGE, 0, "Packets held for their delay now." },
	[NS_QUEUED] = { NULL, "queued", "queued_frames", NULL, CTL_GAUGE, 0, "Frames queued on the links to other nodes." },
	[NS_LINKS_OUT_UP] = { NULL, "links_out_up", "links_out_up", NULL, CTL_GAUGE, 0, "Links to other nodes that are up." },
	[NS_LINKS_IN] = { NULL, "links_in", "links_in", NULL, CTL_GAUGE, 0, "Incoming links open (nodes and clients, in handshake included)." },
	[NS_CLIENTS] = { NULL, "clients", "clients", NULL, CTL_GAUGE, 0, "Clients known: attached, or away (attached before)." },
	[NS_MAIL] = { NULL, "mail", "mailbox_deliveries", NULL, CTL_GAUGE, 0, "Deliveries waiting in mailboxes, strangers' included." },
	[NS_STRANGERS] = { NULL, "strangers", "strangers", NULL, CTL_GAUGE, 0, "Keys with mail waiting that never attached." },
	[NS_STRANGER_MAIL] = { NULL, "stranger_mail", "stranger_mailbox_deliveries", NULL, CTL_GAUGE, 0, "Deliveries waiting for strangers (their own share)." },
	[NS_STRANGERS_EVICTED] = { NULL, "strangers_evicted", "strangers_evicted_total", NULL, CTL_COUNTER, 0, "Strangers pushed out, with their mail, by newer ones." },
	[NS_CLIENTS_FORGOTTEN] = { NULL, "clients_forgotten", "clients_forgotten_total", NULL, CTL_COUNTER, 0, "Clients away pushed out, with their mail, for a client that attached." },
	[NS_DROP_MAC] = DROP("mac"),
	[NS_DROP_REPLAY] = DROP("replay"),
	[NS_DROP_EXPIRED] = DROP("expired"),
	[NS_DROP_KEY] = DROP("key"),
	[NS_DROP_FORMAT] = DROP("format"),
	[NS_DROP_ROUTE] = DROP("route"),
	[NS_DROP_DELAY] = DROP("delay"),
	[NS_DROP_HELD_FULL] = DROP("held_full"),
	[NS_DROP_QUEUE] = DROP("queue_full"),
	[NS_DROP_LINK_DOWN] = DROP("link_down"),
	[NS_DROP_MAILBOX_FULL] = DROP("mailbox_full"),
	[NS_DROP_MAILBOX_AGE] = DROP("mailbox_age"),
	[NS_DROP_NO_CLIENT_SLOT] = DROP("no_client_slot"),
	[NS_TEST_DROPPED] = { "test", "dropped", "test_faults_total", "fault=\"dropped\"", CTL_COUNTER, 0, "Faults injected by --test-drop and --test-duplicate (testing only)." },
	[NS_TEST_DUPLICATED] = { "test", "duplicated", "test_faults_total", "fault=\"duplicated\"", CTL_COUNTER, 0, NULL },
	[NS_REPLAY_FRESH] = { "replay", "fresh", "replay_fresh_total", NULL, CTL_COUNTER, 0, "Packets the replay filter took as new." },
	[NS_REPLAY_OVERLOADED] = { "replay", "overloaded", "replay_overloaded_total", NULL, CTL_COUNTER, 0, "Insertions into the replay filter past its design load." },
	[NS_REPLAY_UNKNOWN] = { "replay", "unknown", "replay_unknown_total", NULL, CTL_COUNTER, 0, "Packets refused (counted as replays too) because they may have been taken before a crash of the machine lost the filter's memory of them." },
	[NS_LINKS_ACCEPTED] = { "links", "accepted", "links_accepted_total", NULL, CTL_COUNTER, 0, "Incoming connections accepted." },
	[NS_LINKS_REFUSED] = { "links", "refused", "links_refused_total", NULL, CTL_COUNTER, 0, "Incoming links refused: a key not in the topology, a client at a mix." },
	[NS_LINKS_OPENED] = { "links", "opened", "links_opened_total", NULL, CTL_COUNTER, 0, "Links to other nodes opened." },
	[NS_LINKS_FAILED] = { "links", "failed", "links_failed_total", NULL, CTL_COUNTER, 0, "Links to other nodes that failed before coming up." },
	[NS_LINKS_OVER_MAX] = { "links", "over_max", "links_over_max_total", NULL, CTL_COUNTER, 0, "Incoming connections closed at once: their address had max-handshakes-per-address handshakes open, or every link was authenticated." },
	[NS_HANDSHAKES_PUSHED] = { "links", "handshakes_pushed", "handshakes_pushed_total", NULL, CTL_COUNTER, 0, "Unfinished handshakes closed for a new connection (max-handshakes)." },
	[NS_CLIENT_LINKS_REFUSED] = { "links", "clients_refused", "client_links_refused_total", NULL, CTL_COUNTER, 0, "Clients authenticated past the client links' bound, closed." },
	[NS_ACCEPT_RESTS] = { "links", "accept_rests", "accept_rests_total", NULL, CTL_COUNTER, 0, "Times the listener stopped accepting for a second: out of descriptors or memory." },
};
#undef DROP

static void node_stat_values(struct node *n, double v[NS_N])
{
	struct replay_stats rs;
	replay_get_stats(n->rf, &rs);
	size_t queued = 0, it = 0;
	const void *k;
	void *p;
	unsigned up = 0;
	while (htab_next(n->peers, &it, &k, &p)) {
		struct peer *pr = p;
		if (pr->out) {
			queued += link_queue_len(pr->out);
			up += link_state(pr->out) == LS_UP;
		}
	}
	v[NS_IN] = (double)n->c.pkt_in;
	v[NS_OUT] = (double)n->c.pkt_out;
	v[NS_CLIENT_IN] = (double)n->c.client_in;
	v[NS_DELIVERED] = (double)n->c.delivered;
	v[NS_MAILBOXED] = (double)n->c.mailboxed;
	v[NS_PADDED] = (double)n->c.padded;
	v[NS_PACE_SKIPPED] = (double)n->c.pace_skipped;
	v[NS_KEYS_ATTACHED] = (double)n->c.keys_attached;
	v[NS_KEYS_DETACHED] = (double)n->c.keys_detached;
	v[NS_ATTACH_REFUSED] = (double)n->c.attach_refused;
	v[NS_PACED] = (double)n->paced;
	v[NS_HELD] = (double)n->held;
	v[NS_QUEUED] = (double)queued;
	v[NS_LINKS_OUT_UP] = up;
	v[NS_LINKS_IN] = (double)htab_count(n->inlinks);
	v[NS_CLIENTS] = (double)(gwc_count(n->clients, GWC_ATTACHED) + gwc_count(n->clients, GWC_AWAY));
	v[NS_MAIL] = (double)(gwc_mail_total(n->clients, 0) + gwc_mail_total(n->clients, 1));
	v[NS_STRANGERS] = (double)gwc_count(n->clients, GWC_STRANGER);
	v[NS_STRANGER_MAIL] = (double)gwc_mail_total(n->clients, 1);
	v[NS_STRANGERS_EVICTED] = (double)gwc_stats(n->clients)->strangers_evicted;
	v[NS_CLIENTS_FORGOTTEN] = (double)gwc_stats(n->clients)->clients_forgotten;
	v[NS_DROP_MAC] = (double)n->c.drop_mac;
	v[NS_DROP_REPLAY] = (double)n->c.drop_replay;
	v[NS_DROP_EXPIRED] = (double)n->c.drop_expired;
	v[NS_DROP_KEY] = (double)n->c.drop_key;
	v[NS_DROP_FORMAT] = (double)(n->c.drop_format + n->c.drop_size);
	v[NS_DROP_ROUTE] = (double)n->c.drop_route;
	v[NS_DROP_DELAY] = (double)n->c.drop_delay;
	v[NS_DROP_HELD_FULL] = (double)n->c.drop_held_full;
	v[NS_DROP_QUEUE] = (double)n->c.drop_queue;
	v[NS_DROP_LINK_DOWN] = (double)n->c.drop_link_down;
	v[NS_DROP_MAILBOX_FULL] = (double)n->c.drop_mailbox_full;
	v[NS_DROP_MAILBOX_AGE] = (double)n->c.drop_mailbox_age;
	v[NS_DROP_NO_CLIENT_SLOT] = (double)n->c.drop_no_client_slot;
	v[NS_TEST_DROPPED] = (double)n->c.test_dropped;
	v[NS_TEST_DUPLICATED] = (double)n->c.test_duplicated;
	v[NS_REPLAY_FRESH] = (double)rs.fresh;
	v[NS_REPLAY_OVERLOADED] = (double)rs.overloaded;
	v[NS_REPLAY_UNKNOWN] = (double)rs.unknown;
	v[NS_LINKS_ACCEPTED] = (double)n->c.links_accepted;
	v[NS_LINKS_REFUSED] = (double)n->c.links_refused;
	v[NS_LINKS_OVER_MAX] = (double)n->c.links_over_max;
	v[NS_HANDSHAKES_PUSHED] = (double)admit_stats(n->admit)->handshakes_pushed;
	v[NS_CLIENT_LINKS_REFUSED] = (double)admit_stats(n->admit)->refused_clients;
	v[NS_ACCEPT_RESTS] = n->listener ? (double)listener_rests(n->listener) : 0;
	v[NS_LINKS_OPENED] = (double)n->c.links_opened;
	v[NS_LINKS_FAILED] = (double)n->c.links_failed;
}

void node_log_counters(struct node *n)
{
	double v[NS_N];
	struct ctl_buf b;
	node_stat_values(n, v);
	ctl_buf_init(&b, 4096);
	ctl_stats_log(&b, node_stats, v, NS_N);
	log_info("counters: %s", b.p ? b.p : "");
	ctl_buf_free(&b);
}

static const char *link_state_text(const struct link *l)
{
	switch (link_state(l)) {
	case LS_CONNECTING: return "connecting";
	case LS_HELLO:
	case LS_AUTH: return "handshake";
	case LS_UP: return "up";
	default: return "down";
	}
}

static void node_show(struct node *n, struct ctl_buf *b)
{
	char rolebuf[32], age[32];
	double v[NS_N];
	uint64_t now = now_us();
	size_t it = 0;
	const void *k;
	void *val;

	node_stat_values(n, v);
	ctl_printf(b, "node: %s\n", n->self->name);
	ctl_printf(b, "  role: %s\n", node_role_name(n->self, rolebuf, sizeof(rolebuf)));
	ctl_printf(b, "  public key: %s\n", n->keytext);
	ctl_printf(b, "  listening: %s\n", n->listen_text);
	ctl_printf(b, "  topology: %s (%zu nodes)\n", n->topo_file, n->topo->n);
	ctl_printf(b, "  running for: %s\n",
	           ctl_duration((now - n->started_us) / 1000000u, age, sizeof(age)));
	/* Loopix: the sender draws every hop's delay; a node only obeys. */
	ctl_printf(b, "  profile: the senders' (each packet is held for the delay its sender drew)\n");
	if (n->o.test_drop > 0 || n->o.test_duplicate > 0)
		ctl_printf(b, "  TESTING ONLY: dropping %.3f and duplicating %.3f of received packets\n",
		           n->o.test_drop, n->o.test_duplicate);

	ctl_printf(b, "\nlinks out: %.0f up, %.0f not up\n", v[NS_LINKS_OUT_UP],
	           (double)htab_count(n->peers) - v[NS_LINKS_OUT_UP]);
	size_t listed = 0;
	for (size_t i = 0; i < n->topo->n; i++) {
		const struct topo_node *tn = &n->topo->nodes[i];
		const struct peer *p = htab_get(n->peers, tn->id);
		if (!p)
			continue;
		if (listed++ == CTL_LIST_MAX) {
			ctl_printf(b, "  (%zu more not listed)\n", htab_count(n->peers) - CTL_LIST_MAX);
			break;
		}
		if (p->out)
			ctl_printf(b, "  %s: %s, %zu queued\n", tn->name, link_state_text(p->out),
			           link_queue_len(p->out));
		else if (p->next_try_us > now)
			ctl_printf(b, "  %s: down, next try in %llu ms\n", tn->name,
			           (unsigned long long)((p->next_try_us - now) / 1000));
		else
			ctl_printf(b, "  %s: %s\n", tn->name, p->unreachable ? "down" : "not connected");
	}

	unsigned from_nodes = 0, from_clients = 0, handshake = 0;
	size_t to_clients = 0, away = 0;
	while (htab_next(n->inlinks, &it, &k, &val)) {
		const struct inlink *il = val;
		if (link_state(il->link) != LS_UP)
			handshake++;
		else if (link_kind(il->link) == LINK_NODE)
			from_nodes++;
		else
			from_clients++;
		if (il->client)
			to_clients += link_queue_len(il->link);
	}
	ctl_printf(b, "links in: %u from nodes, %u from clients, %u in handshake\n", from_nodes,
	           from_clients, handshake);
	it = 0;
	struct gwclient *c;
	while ((c = gwc_next(n->clients, &it)) != NULL)
		away += c->st == GWC_AWAY && c->mb.n > 0;

	ctl_printf(b, "\nqueues:\n");
	ctl_printf(b, "  held for their delay: %llu packets (at most %llu)\n",
	           (unsigned long long)n->held, (unsigned long long)n->o.max_held);
	ctl_printf(b, "  to other nodes: %.0f frames\n", v[NS_QUEUED]);
	if (n->self->role == TOPO_GATEWAY) {
		ctl_printf(b, "  to clients: %zu frames\n", to_clients);
		ctl_printf(b, "  mailboxes: %llu deliveries for %zu clients away (at most %llu)\n",
		           (unsigned long long)gwc_mail_total(n->clients, 0), away,
		           (unsigned long long)n->o.mailbox_total);
		ctl_printf(b, "  strangers' mail: %llu deliveries for %zu keys that never attached "
		           "(at most %llu, %llu keys)\n",
		           (unsigned long long)gwc_mail_total(n->clients, 1),
		           gwc_count(n->clients, GWC_STRANGER), (unsigned long long)n->o.stranger_mail,
		           (unsigned long long)n->o.max_strangers);
	}
	ctl_printf(b, "\ncounters:\n");
	ctl_stats_show(b, node_stats, v, NS_N);
}

static void node_metrics(struct node *n, struct ctl_buf *b)
{
	char labels[CTL_LABELS_MAX], peer[64];
	double v[NS_N];
	node_stat_values(n, v);
	ctl_labels(labels, sizeof(labels), "node", n->self->name);
	ctl_metrics_common(b, labels, (now_us() - n->started_us) / 1000000u, NULL);
	ctl_stats_metrics(b, labels, node_stats, v, NS_N);
	ctl_metric_head(b, "link_up", CTL_GAUGE, "Links to other nodes, by peer: 1 up, 0 not.");
	size_t listed = 0;
	for (size_t i = 0; i < n->topo->n && listed < CTL_LIST_MAX; i++) {
		const struct topo_node *tn = &n->topo->nodes[i];
		const struct peer *p = htab_get(n->peers, tn->id);
		if (!p)
			continue;
		listed++;
		ctl_metric(b, "link_up", labels, ctl_label(peer, sizeof(peer), "peer", tn->name),
		           p->out && link_state(p->out) == LS_UP, 0);
	}
}

void node_answer(enum ctl_req req, struct ctl_buf *b, void *ctx)
{
	if (req == CTL_REQ_SHOW)
		node_show(ctx, b);
	else
		node_metrics(ctx, b);
}

/* ---- reload, set-up and teardown ---- */

int node_reload(struct node *n)
{
	char err[512];
	struct topology *t = topo_load(n->topo_file, err, sizeof(err));
	if (!t) {
		log_err("topology reload failed, keeping the old one: %s", err);
		return -1;
	}
	const struct topo_node *self = topo_by_pk(t, n->kp.pk);
	if (!self || self->role != n->self->role || self->layer != n->self->layer) {
		log_err("topology reload refused: this node's key is %s in %s",
		        self ? "under another role or layer" : "missing", n->topo_file);
		topo_free(t);
		return -1;
	}
	/* Links to nodes that left or moved are closed; they reopen on use. */
	size_t it = 0;
	const void *k;
	void *v;
	while (htab_next(n->peers, &it, &k, &v)) {
		struct peer *p = v;
		const struct topo_node *was = topo_by_id(n->topo, p->id);
		const struct topo_node *now = topo_by_id(t, p->id);
		if (now && was && !memcmp(now->pk, was->pk, 32) &&
		    !strcmp(now->addr_text, was->addr_text))
			continue;
		if (p->out)
			link_close(p->out, "node changed or left the topology");
		htab_del(n->peers, p->id);
		free(p);
	}
	it = 0;
	while (htab_next(n->inlinks, &it, &k, &v)) {
		struct inlink *il = v;
		if (link_kind(il->link) == LINK_NODE && link_state(il->link) != LS_HELLO &&
		    !topo_by_pk(t, link_peer_pk(il->link)))
			link_close(il->link, "node left the topology");
	}
	topo_free(n->topo);
	n->topo = t;
	n->self = self;
	log_info("topology reloaded from %s: %zu nodes", n->topo_file, t->n);
	return 0;
}

void node_cfg_defaults(struct node_cfg *c)
{
	memset(c, 0, sizeof(*c));
	c->listen_fd = -1;
	c->link_queue = 1024;
	c->max_held = 50000;
	c->max_delay_ms = 10000;
	c->max_links = 4096;
	c->max_handshakes = 256;
	c->client_queue_total = 16384;
	c->pace_total = 20000;
	c->handshakes_per_addr = 64;
	c->clients_per_addr = 1024;
	c->mailbox_max = 1000;
	c->mailbox_total = 20000;
	c->mailbox_age = 600;
	c->max_clients = 10000;
	c->max_strangers = 1000;
	c->stranger_mail = 2000;
}

struct node *node_new(struct ev *ev, const struct node_cfg *cfg, char *err, size_t errsz)
{
	struct node *n = xcalloc(1, sizeof(*n));
	n->o = *cfg;
	n->o.kp = NULL;
	n->o.topo = NULL;
	n->o.topology = NULL;
	n->o.rf = NULL;
	n->o.listen_text = NULL;
	n->ev = ev;
	ratelog_init(&n->rl_accept, ev);
	ratelog_init(&n->rl_strangers, ev);
	ratelog_init(&n->rl_clients, ev);
	ratelog_init(&n->rl_handshakes, ev);
	ratelog_init(&n->rl_pushed, ev);
	ratelog_init(&n->rl_pace, ev);
	ratelog_init(&n->rl_attach, ev);
	n->pace_budget_us = now_us();
	n->kp = *cfg->kp;
	n->topo = cfg->topo;
	n->rf = cfg->rf;
	n->topo_file = xstrdup(cfg->topology ? cfg->topology : "(none)");
	list_init(&n->held_list);
	n->peers = htab_new(PKT_ID_BYTES, TOPO_MAX_NODES);
	struct gwc_limits gl = {
		.max_clients = n->o.max_clients, .max_strangers = n->o.max_strangers,
		.mailbox_max = n->o.mailbox_max, .mailbox_total = n->o.mailbox_total,
		.stranger_mail = n->o.stranger_mail, .mailbox_age_us = n->o.mailbox_age * 1000000u,
	};
	n->clients = gwc_new(&gl);
	n->self = topo_by_pk(n->topo, n->kp.pk);
	if (!n->self) {
		snprintf(err, errsz, "this node's public key is not in %s", n->topo_file);
		node_free(n);
		return NULL;
	}
	fit_max_links(n);
	struct admit_limits al = {
		.max_links = n->o.max_links, .node_reserve = 2 * (uint64_t)n->topo->n,
		.max_handshakes = n->o.max_handshakes, .per_addr = n->o.handshakes_per_addr,
		.per_addr_clients = n->o.clients_per_addr,
	};
	n->admit = admit_new(&al);
	const struct admit_limits *fl = admit_limits(n->admit);
	n->o.max_links = fl->max_links;
	n->inlinks = htab_new(sizeof(uint64_t), n->o.max_links + 1);
	/* As fitted (admit.h): what an operator sizes against. */
	log_info("incoming links: at most %llu: %llu handshakes (%llu an address), %llu kept for "
	         "the topology's nodes%s", (unsigned long long)fl->max_links,
	         (unsigned long long)fl->max_handshakes, (unsigned long long)fl->per_addr,
	         (unsigned long long)fl->node_reserve,
	         n->self->role == TOPO_GATEWAY ? ", the rest for clients" : "");
	if (cfg->listen_fd >= 0) {
		n->listener = listener_new(ev, cfg->listen_fd, "listener", node_on_accept, n);
		if (!n->listener) {
			snprintf(err, errsz, "cannot watch the listening socket: %s", strerror(errno));
			node_free(n);
			return NULL;
		}
	}
	if (n->self->role == TOPO_GATEWAY) {
		n->sweep_timer = ev_timer_add(ev, SWEEP_MS, node_sweep, n);
		/* Not at once: a gateway often starts before the mixes, and a
		 * link that fails waits out a backoff, dropping what comes for
		 * it meanwhile; links open on use until the first pass. */
		n->monitor_timer = ev_timer_add(ev, MONITOR_MS, node_monitor, n);
		n->known_timer = ev_timer_add(ev, STATUS_FIRST_MAX_MS, links_wait_over, n);
		links_tried(n); /* a topology without mixes: nothing to try */
	}
	n->started_us = now_us();
	key_to_str(n->kp.pk, n->keytext, sizeof(n->keytext));
	snprintf(n->listen_text, sizeof(n->listen_text), "%s",
	         cfg->listen_text ? cfg->listen_text : "(none)");
	return n;
}

void node_free(struct node *n)
{
	size_t it = 0;
	const void *k;
	void *v;
	if (!n)
		return;
	listener_free(n->listener);
	/* Closing a link runs its on_down here, which forgets the clients
	 * that have no mail and may arm the status timer: links first,
	 * timers after. */
	while (n->inlinks && htab_next(n->inlinks, &it, &k, &v))
		link_close(((struct inlink *)v)->link, "shutting down");
	it = 0;
	while (htab_next(n->peers, &it, &k, &v)) {
		struct peer *p = v;
		if (p->out)
			link_close(p->out, "shutting down");
		free(p);
	}
	while (!list_empty(&n->held_list)) {
		struct held *h = list_entry(n->held_list.next, struct held, node);
		ev_timer_cancel(n->ev, h->timer);
		held_unlink(h);
		free(h);
	}
	ev_timer_cancel(n->ev, n->sweep_timer);
	ratelog_stop(&n->rl_accept);
	ratelog_stop(&n->rl_strangers);
	ratelog_stop(&n->rl_clients);
	ratelog_stop(&n->rl_handshakes);
	ratelog_stop(&n->rl_pushed);
	ratelog_stop(&n->rl_pace);
	ratelog_stop(&n->rl_attach);
	ev_timer_cancel(n->ev, n->monitor_timer);
	ev_timer_cancel(n->ev, n->status_timer);
	ev_timer_cancel(n->ev, n->known_timer);
	htab_free(n->peers);
	gwc_free(n->clients);
	if (n->inlinks)
		htab_free(n->inlinks);
	admit_free(n->admit);
	if (n->rf) {
		/* Marked closed only once every tag is on the disk. */
		char err[256];
		if (replay_close(n->rf, err, sizeof(err)))
			log_err("%s: the next start takes the replay memory as unknown", err);
	}
	if (n->topo)
		topo_free(n->topo);
	keypair_wipe(&n->kp);
	free(n->topo_file);
	free(n);
}

const struct node_counters *node_counters(const struct node *n)
{
	return &n->c;
}

uint64_t node_held(const struct node *n)
{
	return n->held;
}

const struct gwclients *node_clients(const struct node *n)
{
	return n->clients;
}

const struct admit *node_admit(const struct node *n)
{
	return n->admit;
}

size_t node_mail_waiting(const struct node *n, const uint8_t pk[PKT_KEY_BYTES])
{
	const struct gwclient *c = gwc_find(n->clients, pk);
	return c ? c->mb.n : 0;
}

int node_links_known(const struct node *n)
{
	return n->links_known;
}

uint64_t node_paced_links(const struct node *n)
{
	return n->paced;
}
