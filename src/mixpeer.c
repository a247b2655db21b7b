/* mixpeer — see mixpeer.h. */
#include "mixpeer.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "htab.h"
#include "log.h"
#include "topology.h"
#include "util.h"

#define ANSWERING_US 1000000ull  /* a peer that replied this recently answers */
#define SURB_CUSHION 8           /* held beyond its target by a peer that answers */
#define SUPPLY_TALKING_US 60000000ull /* written to or heard from this recently: talking */
#define SUPPLY_GAP_MAX_US 8000000ull  /* a quiet peer is supplied at least this often */

_Static_assert(MIXPEER_ACKS_MAX <= MB_MAX_ACKS, "owed acks fit one body's count");

/* Room for `need` in a list of at most max (need <= max): doubled, from 8. */
static void u64s_room(uint64_t **a, unsigned *cap, unsigned need, unsigned max)
{
	if (need <= *cap)
		return;
	unsigned c = *cap ? *cap * 2 : 8;
	while (c < need)
		c *= 2;
	if (c > max)
		c = max;
	*a = xrealloc(*a, c * sizeof(**a));
	*cap = c;
}

void conv_free(struct conv *cv)
{
	free(cv->acks);
	free(cv->echo);
	cv->acks = cv->echo = NULL;
	cv->nacks = cv->necho = cv->acks_cap = cv->echo_cap = 0;
}

size_t conv_bytes(const struct conv *cv)
{
	return (cv->acks_cap + cv->echo_cap) * sizeof(uint64_t);
}

void conv_owe_ack(struct conv *cv, uint64_t ack)
{
	for (unsigned i = 0; i < cv->nacks; i++)
		if (cv->acks[i] == ack)
			return;
	if (cv->nacks == MIXPEER_ACKS_MAX) {
		memmove(cv->acks, cv->acks + 1, (MIXPEER_ACKS_MAX - 1) * sizeof(*cv->acks));
		cv->nacks--;
	}
	u64s_room(&cv->acks, &cv->acks_cap, cv->nacks + 1, MIXPEER_ACKS_MAX);
	cv->acks[cv->nacks++] = ack;
}

/* As many of the n acks as fit, leaving `reserve` bytes; how many. */
static unsigned put_acks(struct mb_writer *b, const uint64_t *a, unsigned n, size_t reserve)
{
	unsigned k = 0;
	while (k < n && mb_add_ack(b, a[k], reserve) == 0)
		k++;
	return k;
}

/* An ack is lost as often as any packet (at 5% loss a node, one in four
 * over 5 hops), and the message it answered then goes again for nothing:
 * a third of the retransmissions under loss.  Its second copy costs bytes
 * in a packet that goes anyway, never a packet. */
unsigned conv_put_acks(struct conv *cv, struct mb_writer *b, size_t reserve)
{
	unsigned k = put_acks(b, cv->acks, cv->nacks, reserve);
	unsigned j = put_acks(b, cv->echo, cv->necho, reserve);
	/* The repeated ones are done; the new ones wait for their repeat
	 * (the oldest give way, unrepeated, when there are too many). */
	if (j)
		memmove(cv->echo, cv->echo + j, (cv->necho - j) * sizeof(*cv->echo));
	cv->necho -= j;
	unsigned keep = k < MIXPEER_ECHO ? k : MIXPEER_ECHO;
	if (cv->necho + keep > MIXPEER_ECHO) {
		unsigned drop = cv->necho + keep - MIXPEER_ECHO;
		memmove(cv->echo, cv->echo + drop, (cv->necho - drop) * sizeof(*cv->echo));
		cv->necho -= drop;
	}
	if (keep)
		u64s_room(&cv->echo, &cv->echo_cap, cv->necho + keep, MIXPEER_ECHO);
	/* The repeat names no try (0): it may go a while after the first
	 * copy, so it must not give a round trip, nor prove a route. */
	for (unsigned i = k - keep; i < k; i++)
		cv->echo[cv->necho++] = cv->acks[i] & MB_ID_MASK;
	if (k)
		memmove(cv->acks, cv->acks + k, (cv->nacks - k) * sizeof(*cv->acks));
	cv->nacks -= k;
	return k;
}

struct peer_out *conv_po(struct conv *cv)
{
	return cv->in ? NULL : (struct peer_out *)((char *)cv - offsetof(struct peer_out, cv));
}

struct peer_in *conv_pi(struct conv *cv)
{
	return cv->in ? (struct peer_in *)((char *)cv - offsetof(struct peer_in, cv)) : NULL;
}

static void conv_init(struct conv *cv, int in, uint64_t now)
{
	cv->in = in;
	cv->next_id = 1;
	rxwin_init(&cv->rx);
	cv->last_us = now;
}

void mixpeers_init(struct mixpeers *ps, struct ev *ev, const struct topology *topo,
                   unsigned window, struct mixclient_stats *st,
                   void (*on_forget)(struct conv *, void *), void *ctx)
{
	memset(ps, 0, sizeof(*ps));
	ratelog_init(&ps->rl_evict, ev);
	ratelog_init(&ps->rl_expired, ev);
	ps->outs = htab_new(64, MIXPEER_OUT_MAX);
	ps->ins = htab_new(MIX_TAG_BYTES, MIX_SENDERS_MAX);
	ps->secrets = htab_new(PKT_TAG_BYTES, MIXPEER_SECRETS_MAX);
	list_init(&ps->lru);
	while (!ps->incarnation)
		ps->incarnation = randombytes_random();
	ps->topo = topo;
	/* A holder drops a block once it takes a packet of ours numbered
	 * MIXPEER_BLOCK_PKTS past the block's; what it has taken lags what we
	 * sent by the packets on their way: our window of messages, and as
	 * many packets of acks and blocks.  Past that the secret can go:
	 * its block is used, lost, or dropped.  At most MB_MAX_SURBS blocks
	 * ride in a packet, so the ring never pushes out a secret sooner;
	 * it grows as it fills, so a peer we send few blocks costs few. */
	ps->keep_pkts = MIXPEER_BLOCK_PKTS + 2 * (uint64_t)window;
	ps->secrets_each = (unsigned)(MB_MAX_SURBS * ps->keep_pkts);
	ps->st = st;
	ps->on_forget = on_forget;
	ps->ctx = ctx;
}

static void peer_in_free(struct peer_in *p)
{
	fring_free(&p->stock);
	conv_free(&p->cv);
	free(p);
}

static void peer_out_free(struct peer_out *p)
{
	fring_free(&p->secs);
	conv_free(&p->cv);
	free(p);
}

void mixpeers_free(struct mixpeers *ps)
{
	size_t it = 0;
	const void *k;
	void *v;
	ratelog_stop(&ps->rl_evict);
	ratelog_stop(&ps->rl_expired);
	while (htab_next(ps->secrets, &it, &k, &v)) {
		sodium_memzero(v, sizeof(struct surb_rec));
		free(v);
	}
	it = 0;
	while (htab_next(ps->ins, &it, &k, &v))
		peer_in_free(v);
	it = 0;
	while (htab_next(ps->outs, &it, &k, &v))
		peer_out_free(v);
	htab_free(ps->secrets);
	htab_free(ps->ins);
	htab_free(ps->outs);
}

/* ---- addresses we write to ---- */

static void out_key(uint8_t key[64], const struct mix_addr *a)
{
	memcpy(key, a->pk, 32);
	memcpy(key + 32, a->gw, 32);
}

struct peer_out *peer_out_find(const struct mixpeers *ps, const struct mix_addr *a)
{
	uint8_t key[64];
	out_key(key, a);
	return htab_get(ps->outs, key);
}

struct peer_out *peer_out_get(struct mixpeers *ps, const struct mix_addr *a, uint64_t now)
{
	struct peer_out *p = peer_out_find(ps, a);
	if (p)
		return p;
	const struct topo_node *gw = topo_by_id(ps->topo, a->gw);
	if (!gw || gw->role != TOPO_GATEWAY || htab_count(ps->outs) >= MIXPEER_OUT_MAX)
		return NULL;
	p = xcalloc(1, sizeof(*p));
	out_key(p->key, a);
	p->addr = *a;
	p->gw = gw;
	randombytes_buf(p->tag, sizeof(p->tag));
	conv_init(&p->cv, 0, now);
	p->target = MIXPEER_SURB_TARGET_MIN;
	if (fring_init(&p->secs, sizeof(struct given), ps->secrets_each) ||
	    htab_put(ps->outs, p->key, p)) {
		peer_out_free(p);
		return NULL;
	}
	return p;
}

/* Its target and SURB_CUSHION more, within what a sender's stock holds
 * besides its reserve. */
static unsigned cushioned(const struct peer_out *p)
{
	return p->target + SURB_CUSHION < MIXPEER_STOCK_MAX ? p->target + SURB_CUSHION
	                                                    : MIXPEER_STOCK_MAX - 1;
}

/* While it holds fewer than it asked for, and SURB_CUSHION more if it
 * answers: its count reaches us a path late, and a burst of answers must
 * not wait for blocks.  Each answer it sends takes one, so the count
 * falls and the next packet replaces it; a peer that only acknowledges,
 * or answers now and then, takes one per batch, not one per message
 * (blocks cost the sender as much as the packet itself, and unused ones
 * expire). */
unsigned peer_out_surbs_wanted(const struct peer_out *p, uint64_t now)
{
	unsigned goal = now - p->answered_us < ANSWERING_US ? cushioned(p) : p->target;
	return goal > p->surbs_out ? goal - p->surbs_out : 0;
}

/* ---- anonymous senders ---- */

struct peer_in *peer_in_find(const struct mixpeers *ps, const uint8_t tag[MIX_TAG_BYTES])
{
	return htab_get(ps->ins, tag);
}

/* A packet that does none of what the caller counts as useful (refused,
 * a duplicate, junk) does not move the sender, so it cannot keep a state
 * alive for nothing. */
void peer_in_touch(struct mixpeers *ps, struct peer_in *p, uint64_t now)
{
	p->cv.last_us = now;
	if (list_linked(&p->lru))
		list_remove(&p->lru);
	list_push_front(&ps->lru, &p->lru);
}

/* Out of the table first: what on_forget does cannot reach it. */
static void peer_in_forget(struct mixpeers *ps, struct peer_in *p)
{
	list_remove(&p->lru);
	htab_del(ps->ins, p->tag);
	if (p->cv.inflight && ps->on_forget)
		ps->on_forget(&p->cv, ps->ctx);
	peer_in_free(p);
}

/* Acks it is owed that could go: it holds a block to send them by. */
static int peer_in_owed(const struct peer_in *p)
{
	return p->cv.nacks && fring_len(&p->stock);
}

/* Make room for a new sender; a newcomer is always let in.  First the
 * least recently useful sender with no reply of ours out and no ack it
 * could be sent: a sender that leaves no block to acknowledge it by
 * cannot pin its state with acks it is owed.  Else the least recently
 * useful one whatever it is owed: its replies are given up.  Made-up
 * tags thus push out the idle first, and only a stranger who keeps every
 * one of his MIX_SENDERS_MAX tags more recently useful than an honest
 * sender can push that one out (mixproxy-protocol(7), DENIAL OF
 * SERVICE).  If it comes back, its owner meets a new epoch. */
static void peer_in_evict(struct mixpeers *ps)
{
	for (struct list *l = ps->lru.prev; l != &ps->lru; l = l->prev) {
		struct peer_in *p = list_entry(l, struct peer_in, lru);
		if (!p->cv.inflight && !peer_in_owed(p)) {
			peer_in_forget(ps, p);
			ps->st->senders_evicted++;
			ratelog_warn(&ps->rl_evict, "anonymous senders at their bound (%d): the least "
			             "recently useful one forgotten for a newcomer", MIX_SENDERS_MAX);
			return;
		}
	}
	if (!list_empty(&ps->lru)) {
		peer_in_forget(ps, list_entry(ps->lru.prev, struct peer_in, lru));
		ps->st->senders_evicted++;
		ratelog_warn(&ps->rl_evict, "anonymous senders at their bound (%d), every one owed "
		             "something: the least recently useful one forgotten for a newcomer",
		             MIX_SENDERS_MAX);
	}
}

/* The incarnation's, then 32 random bits: never 0. */
static uint64_t new_epoch(const struct mixpeers *ps)
{
	return (uint64_t)ps->incarnation << 32 | randombytes_random();
}

struct peer_in *peer_in_get(struct mixpeers *ps, const uint8_t tag[MIX_TAG_BYTES], uint64_t now)
{
	struct peer_in *p = htab_get(ps->ins, tag);
	if (p)
		return p;
	/* Anyone can make up tags: a bounded number of senders, each costing
	 * little until it sends reply blocks. */
	if (htab_count(ps->ins) >= MIX_SENDERS_MAX)
		peer_in_evict(ps);
	p = xcalloc(1, sizeof(*p));
	memcpy(p->tag, tag, MIX_TAG_BYTES);
	conv_init(&p->cv, 1, now);
	p->cv.epoch = new_epoch(ps);
	if (htab_put(ps->ins, tag, p)) {
		free(p);
		return NULL;
	}
	peer_in_touch(ps, p, now);
	/* The tag's first bytes, at debug only: what tests of linking (who
	 * greeted when) read from a server's log. */
	log_debug("sender %02x%02x%02x%02x: new", tag[0], tag[1], tag[2], tag[3]);
	return p;
}

static int stock_live(const void *rec, void *ctx)
{
	const struct peer_in *p = ctx;
	return ((const struct stocked *)rec)->pnum + MIXPEER_BLOCK_PKTS > p->pnum_max;
}

/* The blocks that packet pnum_max outdates go: their creator may have
 * forgotten their secrets.  Anywhere in the stock: packets arrive out of
 * order.  A scan of MIXPEER_STOCK_MAX numbers is nothing beside the
 * packet that moved pnum_max. */
static void stock_prune(struct mixpeers *ps, struct peer_in *p)
{
	ps->st->surbs_expired += fring_filter(&p->stock, stock_live, p);
}

/* Each packet from a sender is taken once, by its number: a gateway
 * that replays a delivery would put blocks already used back into the
 * stock (their replies die at layer 1), and a node's duplicate would
 * put in the same block twice.  The numbers of a new state start at its
 * first packet if that one names a former state (one sent to that state
 * must not count as new here), else at 1: a sender that names no epoch
 * has heard from no state of ours, and its first packets, which take
 * routes of their own, arrive in any order.  A number beyond the window
 * moves it.  0 is no number: refused. */
int peer_in_fresh(struct mixpeers *ps, struct peer_in *p, uint64_t pnum, int names_none)
{
	if (!pnum)
		return 0;
	if (!p->pkts.base) {
		rxwin_init(&p->pkts);
		rxwin_floor(&p->pkts, names_none ? 1 : pnum);
	}
	enum rxwin_verdict r = rxwin_check(&p->pkts, pnum);
	if (r == RXWIN_DUP)
		return 0;
	if (r == RXWIN_AHEAD)
		rxwin_floor(&p->pkts, pnum - RXWIN_IDS + 1);
	rxwin_take(&p->pkts, pnum);
	if (pnum > p->pnum_max) {
		p->pnum_max = pnum;
		stock_prune(ps, p);
	}
	return 1;
}

unsigned peer_in_want(const struct peer_in *p)
{
	unsigned w = MIXPEER_SURB_TARGET_MIN + p->cv.queued + p->cv.inflight + (p->cv.nacks + 7) / 8;
	return w > MIXPEER_STOCK_MAX ? MIXPEER_STOCK_MAX : w;
}

unsigned stock_n(const struct peer_in *p)
{
	return (unsigned)fring_len(&p->stock);
}

/* 1 if the block was taken. */
int stock_put(struct mixpeers *ps, struct peer_in *p, const uint8_t *surb, uint64_t now,
              uint64_t pnum)
{
	struct stocked s;
	if (!p->stock.rec && fring_init(&p->stock, sizeof(struct stocked), MIXPEER_STOCK_MAX))
		return 0;
	ps->st->surbs_received++;
	/* Outdated on arrival: it came late, behind packets far newer. */
	if (pnum + MIXPEER_BLOCK_PKTS <= p->pnum_max) {
		ps->st->surbs_expired++;
		return 0;
	}
	memcpy(s.surb, surb, SURB_BYTES);
	s.t_us = now;
	s.pnum = pnum;
	/* Full: the oldest block goes (it is the nearest to expiry). */
	if (fring_push(&p->stock, &s) == 1)
		ps->st->surbs_expired++;
	sodium_memzero(&s, sizeof(s));
	return 1;
}

/* The newest block: its secret is the likeliest still kept by its
 * creator, and its route the likeliest chosen with fresh knowledge. */
const uint8_t *stock_peek(const struct peer_in *p)
{
	const struct stocked *s = fring_newest(&p->stock);
	return s ? s->surb : NULL;
}

void stock_take(struct peer_in *p)
{
	fring_drop_newest(&p->stock);
}

/* ---- secrets of our reply blocks ---- */

int secrets_room(const struct mixpeers *ps)
{
	return htab_count(ps->secrets) < MIXPEER_SECRETS_MAX;
}

struct surb_rec *secret_find(const struct mixpeers *ps, const uint8_t tag[PKT_TAG_BYTES])
{
	return htab_get(ps->secrets, tag);
}

void secret_free(struct mixpeers *ps, struct surb_rec *r)
{
	htab_del(ps->secrets, r->sec.tag);
	sodium_memzero(r, sizeof(*r));
	free(r);
}

/* Forget a secret pushed out by newer ones.  The peer's stock estimate
 * is left alone: it comes from what the peer reports, and lowering it
 * here would ask for a top-up that pushes out more secrets, without end. */
static void secret_drop(struct mixpeers *ps, const uint8_t tag[PKT_TAG_BYTES])
{
	struct surb_rec *r = htab_get(ps->secrets, tag);
	if (r) {
		secret_free(ps, r);
		ps->st->surbs_expired++;
	}
}

int secret_keep(struct mixpeers *ps, struct peer_out *p, struct surb_rec *r, uint64_t now,
                uint64_t pnum)
{
	if (htab_put(ps->secrets, r->sec.tag, r)) {
		sodium_memzero(r, sizeof(*r));
		free(r);
		return -1;
	}
	r->peer = p;
	r->t_us = now;
	const struct given *g;
	while ((g = fring_oldest(&p->secs)) &&
	       (g->pnum + ps->keep_pkts <= pnum || fring_full(&p->secs))) {
		secret_drop(ps, g->tag);
		fring_drop_oldest(&p->secs);
	}
	struct given n = { .pnum = pnum };
	memcpy(n.tag, r->sec.tag, sizeof(n.tag));
	fring_push(&p->secs, &n);
	return 0;
}

/* ---- the client's questions about all of them ---- */

/* A peer we are talking to (we sent it a message: a hello is not
 * talking) that has gone quiet may have run out of reply blocks (its
 * requests lost too).  Not only when the estimate says it is short:
 * blocks lost on the way still count as held there, and a peer with none
 * left cannot say so, nor send what it owes us.  Not while messages to
 * it are out (their retries bring blocks), and backing off, the wait
 * doubling per supply it leaves unanswered up to SUPPLY_GAP_MAX_US, for
 * SUPPLY_TALKING_US after we last wrote to it or heard from it: a peer
 * quiet because the network is loaded must not be sent a flood (1,000
 * identities supplying every round trip kept a machine busy building
 * blocks and nothing else), and one whose last reply is stuck for want
 * of blocks must get enough chances before it gives that reply up (it
 * waits the peer timeout, 60 s, for a sign of us). */
int mixpeers_supply(struct mixpeers *ps, uint64_t now, uint64_t quiet)
{
	size_t it = 0;
	const void *k;
	void *v;
	int any = 0;
	while (htab_next(ps->outs, &it, &k, &v)) {
		struct peer_out *p = v;
		uint64_t gap = p->supply_gap_us > quiet ? p->supply_gap_us : quiet;
		/* One that said, at its last word, that it held its target and
		 * the cushion can answer and ask for more: blocks sent unasked
		 * would only wait there to expire, each having cost us as much
		 * as a packet.  Only its word counts, not our blocks since,
		 * which may be lost: a peer whose reply waits for blocks says
		 * it is short. */
		unsigned said = p->surbs_out > p->surbs_since ? p->surbs_out - p->surbs_since : 0;
		if (now - p->cv.last_us < SUPPLY_TALKING_US && p->cv.next_id > 1 && !p->cv.inflight &&
		    said < cushioned(p) && now - p->cv.heard_us > gap && now - p->supplied_us > gap) {
			p->resupply = 1;
			p->supplied_us = now;
			p->supply_gap_us = 2 * gap < SUPPLY_GAP_MAX_US ? 2 * gap : SUPPLY_GAP_MAX_US;
			any = 1;
		}
	}
	return any;
}

int mixpeers_owed(const struct mixpeers *ps)
{
	size_t it = 0;
	const void *k;
	void *v;
	while (htab_next(ps->outs, &it, &k, &v))
		if (((struct peer_out *)v)->cv.nacks)
			return 1;
	it = 0;
	while (htab_next(ps->ins, &it, &k, &v)) {
		const struct peer_in *p = v;
		/* Not what a sender that left us no block is owed: it cannot be
		 * sent (and anyone can make up such a sender). */
		if (stock_n(p) && (p->cv.nacks || p->announce))
			return 1;
	}
	return 0;
}

/* A sender that left no block cannot be answered, so its silence or
 * not does not matter. */
int mixpeers_heard_within(const struct mixpeers *ps, uint64_t now, uint64_t wait_us)
{
	size_t it = 0;
	const void *k;
	void *v;
	while (htab_next(ps->outs, &it, &k, &v))
		if (now - ((const struct peer_out *)v)->cv.heard_us < wait_us)
			return 1;
	it = 0;
	while (htab_next(ps->ins, &it, &k, &v)) {
		const struct peer_in *p = v;
		if (stock_n(p) && now - p->cv.heard_us < wait_us)
			return 1;
	}
	return 0;
}

/* ---- housekeeping ---- */

void mixpeers_sweep(struct mixpeers *ps, uint64_t now, uint64_t ack_life_us)
{
	size_t it = 0;
	const void *k;
	void *v;
	while (htab_next(ps->secrets, &it, &k, &v)) {
		struct surb_rec *r = v;
		if (now - r->t_us > MIXPEER_SECRET_LIFE_US) {
			r->peer->surbs_out -= r->peer->surbs_out > 0;
			secret_free(ps, r);
			ps->st->surbs_expired++;
		}
	}
	it = 0;
	while (htab_next(ps->ins, &it, &k, &v)) {
		struct peer_in *p = v;
		const struct stocked *s;
		while ((s = fring_oldest(&p->stock)) && now - s->t_us > MIXPEER_STOCK_LIFE_US) {
			fring_drop_oldest(&p->stock);
			ps->st->surbs_expired++;
		}
		/* Acks owed to a sender that left no block to send them by
		 * expire: its messages go again if it is there, and the acks
		 * must not keep its state alive. */
		if (p->cv.nacks && !stock_n(p) && now - p->cv.ack_since > ack_life_us) {
			ps->st->acks_expired += p->cv.nacks;
			ratelog_warn(&ps->rl_expired, "acks owed to an anonymous sender that left no "
			             "reply block to send them by: dropped");
			p->cv.nacks = p->cv.necho = 0;
		}
		if (!p->cv.inflight && !p->cv.nacks && now - p->cv.last_us > MIXPEER_IN_IDLE_US)
			peer_in_forget(ps, p);
	}
	it = 0;
	while (htab_next(ps->outs, &it, &k, &v)) {
		struct peer_out *p = v;
		if (!p->cv.inflight && !p->cv.nacks && now - p->cv.last_us > MIXPEER_OUT_IDLE_US) {
			/* Its reply blocks must not point at a freed peer; every
			 * one of them is in its ring until it is freed. */
			for (size_t i = 0; i < fring_len(&p->secs); i++) {
				struct surb_rec *r = htab_get(ps->secrets, fring_at(&p->secs, i));
				if (r)
					secret_free(ps, r);
			}
			htab_del(ps->outs, p->key);
			peer_out_free(p);
		}
	}
}

size_t mixpeers_memory_max(const struct mixpeers *ps)
{
	size_t conv = (MIXPEER_ACKS_MAX + MIXPEER_ECHO) * sizeof(uint64_t);
	size_t ins = htab_count(ps->ins), outs = htab_count(ps->outs);
	size_t secrets = outs * ps->secrets_each;
	if (secrets > MIXPEER_SECRETS_MAX)
		secrets = MIXPEER_SECRETS_MAX;
	return ins * (sizeof(struct peer_in) + MIXPEER_STOCK_MAX * sizeof(struct stocked) + conv) +
	       outs * (sizeof(struct peer_out) + ps->secrets_each * sizeof(struct given) + conv) +
	       secrets * sizeof(struct surb_rec);
}

size_t mixpeers_memory(const struct mixpeers *ps)
{
	size_t rings = 0, it = 0;
	const void *k;
	void *v;
	while (htab_next(ps->ins, &it, &k, &v))
		rings += fring_bytes(&((struct peer_in *)v)->stock) +
		         conv_bytes(&((struct peer_in *)v)->cv);
	it = 0;
	while (htab_next(ps->outs, &it, &k, &v))
		rings += fring_bytes(&((struct peer_out *)v)->secs) +
		         conv_bytes(&((struct peer_out *)v)->cv);
	return htab_count(ps->secrets) * sizeof(struct surb_rec) +
	       htab_count(ps->ins) * sizeof(struct peer_in) +
	       htab_count(ps->outs) * sizeof(struct peer_out) + rings;
}
