/* mixmsg — see mixmsg.h. */
#include "mixmsg.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "ev.h"
#include "htab.h"
#include "log.h"
#include "mixcc.h"
#include "route.h"
#include "util.h"

#define RTO_FAST_MIN_MS 50       /* fast profile: acks wait ACK_DELAY_FAST_MS; the
                                  * rest is for a busy loop (the timeout follows
                                  * measured round trips beyond it) */
#define RTO_BACKOFF_CAP_MS 1000.0 /* backed-off timeouts reach at least this */
#define RACK_MIN_US 2000.0
#define EARLY_MAX 3              /* tries found lost early, per timeout */
#define REPLY_WAIT_MAX_MS (3600ull * 1000) /* bound of a reply's wait for blocks */
#define REPLY_WAIT_PER_TRY_MS 2000ull /* with a try limit: at least this per try */

static void on_timeout(struct ev *ev, void *ctx);
static void on_deadline(struct ev *ev, void *ctx);

static const char *const msg_state_names[] = {
	[M_NEW] = "new", [M_QUEUED] = "queued", [M_FLIGHT] = "in flight",
	[M_ACKED] = "acknowledged", [M_GIVEN_UP] = "given up",
};

/* The table's key: the conversation (its address) and the id. */
static void msg_key(uint8_t key[16], const struct conv *cv, uint64_t id)
{
	uintptr_t p = (uintptr_t)cv;
	memset(key, 0, 16);
	memcpy(key, &p, sizeof(p));
	memcpy(key + 8, &id, 8);
}

/* A message holds the application's bytes: wiped as it goes, on every
 * path. */
static void msg_destroy(struct outmsg *m)
{
	sodium_memzero(m, sizeof(*m));
	free(m);
}

/* The outcome of m's last try: its route proven, or its round trip
 * failed (with the block it carried, if it carried one). */
static void mark_route(struct mixmsgs *q, const struct outmsg *m, int ok)
{
	const uint8_t (*fwd)[PKT_ID_BYTES] = (const uint8_t (*)[PKT_ID_BYTES])m->mixes;
	const uint8_t (*ret)[PKT_ID_BYTES] =
		m->have_ret ? (const uint8_t (*)[PKT_ID_BYTES])m->ret : NULL;
	if (ok)
		routes_proven_trip(q->routes, fwd, ret, m->sent_us, now_us());
	else
		routes_failed_trip(q->routes, fwd, ret, m->sent_us);
}

void mixmsgs_init(struct mixmsgs *q, struct ev *ev, struct mixcc *cc, struct routes *routes,
                  const struct mixclient_cfg *cfg, struct mixclient_stats *st,
                  const struct mixmsgs_cbs *cbs, void *ctx)
{
	memset(q, 0, sizeof(*q));
	q->ev = ev;
	q->cc = cc;
	q->routes = routes;
	q->cfg = cfg;
	q->st = st;
	q->cbs = cbs;
	q->ctx = ctx;
	q->tab = htab_new(16, cfg->window + 1);
	list_init(&q->rq);
	list_init(&q->fl);
}

void mixmsgs_free(struct mixmsgs *q)
{
	size_t it = 0;
	const void *k;
	void *v;
	while (htab_next(q->tab, &it, &k, &v)) {
		struct outmsg *m = v;
		msg_set_state(m, M_GIVEN_UP, "client closed");
		msg_destroy(m);
	}
	htab_free(q->tab);
}

size_t mixmsgs_room(const struct mixmsgs *q)
{
	return q->n >= q->cfg->window ? 0 : q->cfg->window - q->n;
}

void mixmsgs_want_writable(struct mixmsgs *q)
{
	q->want_writable = 1;
}

struct outmsg *mixmsgs_new(struct mixmsgs *q, const uint8_t *data, size_t len)
{
	if (len > MIX_MSG_MAX) {
		errno = EMSGSIZE;
		return NULL;
	}
	if (q->n >= q->cfg->window) {
		errno = EAGAIN;
		q->want_writable = 1;
		return NULL;
	}
	struct outmsg *m = xcalloc(1, sizeof(*m));
	m->q = q;
	m->len = len;
	memcpy(m->data, data, len);
	return m;
}

/* How long a reply may wait for reply blocks in all, while its sender is
 * heard from (a silent one is unreachable after peer_timeout, like any
 * peer): ten times that, so a sender that writes and leaves no blocks
 * cannot hold replies for good; with a try limit (tests), what those
 * tries would take, and at least 2 s a try.  Waiting costs nothing on
 * the wire. */
static uint64_t reply_budget_ms(const struct mixmsgs *q)
{
	if (!q->cfg->max_tries) {
		uint64_t ms = 10 * q->cfg->peer_timeout_ms;
		return ms && ms < REPLY_WAIT_MAX_MS ? ms : REPLY_WAIT_MAX_MS;
	}
	uint64_t d = (uint64_t)(3 * q->cfg->delay_mean_ms * 1000), ms = 0;
	for (unsigned i = 1; i <= q->cfg->max_tries && ms < REPLY_WAIT_MAX_MS; i++)
		ms += mixmsgs_rto_ms(q, d, i);
	if (ms < REPLY_WAIT_PER_TRY_MS * q->cfg->max_tries)
		ms = REPLY_WAIT_PER_TRY_MS * q->cfg->max_tries;
	return ms < REPLY_WAIT_MAX_MS ? ms : REPLY_WAIT_MAX_MS;
}

int mixmsgs_enqueue(struct mixmsgs *q, struct outmsg *m, int kind, struct conv *cv, uint64_t *id)
{
	uint8_t key[16];
	m->kind = kind;
	m->cv = cv;
	m->id = cv->next_id++;
	if (kind == MB_REPLY)
		m->deadline_us = now_us() + reply_budget_ms(q) * 1000;
	msg_key(key, m->cv, m->id);
	if (htab_put(q->tab, key, m)) {
		msg_destroy(m);
		errno = EAGAIN;
		return -1;
	}
	m->cv->inflight++;
	q->n++;
	m->first_us = now_us();
	if (id)
		*id = m->id;
	msg_set_state(m, M_QUEUED, NULL);
	q->cbs->kick(q->ctx);
	return 0;
}

void msg_set_state(struct outmsg *m, enum msg_state st, const char *why)
{
	struct mixmsgs *q = m->q;
	if (m->st == st)
		return;
	log_trace("mixclient: message %llu: %s -> %s%s%s", (unsigned long long)m->id,
	          msg_state_names[m->st], msg_state_names[st], why ? ": " : "", why ? why : "");
	if (m->st == M_QUEUED) {
		list_remove(&m->rq);
		m->cv->queued--;
	} else if (m->st == M_FLIGHT) {
		list_remove(&m->fl);
		mixcc_left(q->cc);
	}
	ev_timer_cancel(q->ev, m->timer);
	m->timer = 0;
	m->st = st;
	if (st == M_QUEUED) {
		struct list *at = &q->rq; /* insert before this one; the head: at the tail */
		if (m->tries > 0)
			for (at = q->rq.next; at != &q->rq; at = at->next) {
				struct outmsg *x = list_entry(at, struct outmsg, rq);
				if (x->tries == 0 || x->id >= m->id)
					break;
			}
		list_insert_before(at, &m->rq);
		m->cv->queued++;
		if (m->cv->in) {
			uint64_t now = now_us();
			uint64_t ms = m->deadline_us > now ? (m->deadline_us - now + 999) / 1000 : 0;
			m->timer = ev_timer_add(q->ev, ms, on_deadline, m);
		}
	} else if (st == M_FLIGHT) {
		/* A reply block's route was chosen by its creator: the
		 * timeout allows for mean delays. */
		uint64_t fwd = m->cv->in ? (uint64_t)(3 * q->cfg->delay_mean_ms * 1000) : m->fwd_us;
		list_push_back(&q->fl, &m->fl);
		mixcc_sent(q->cc);
		m->timer = ev_timer_add(q->ev, mixmsgs_rto_ms(q, fwd, m->timeouts + 1), on_timeout, m);
	}
}

/* Acknowledged or given up: the message goes. */
static void msg_free(struct mixmsgs *q, struct outmsg *m, enum msg_state st, const char *why)
{
	uint8_t key[16];
	msg_key(key, m->cv, m->id);
	htab_del(q->tab, key);
	msg_set_state(m, st, why);
	m->cv->inflight--;
	q->n--;
	msg_destroy(m);
	if (q->want_writable && mixmsgs_room(q) > 0) {
		q->want_writable = 0;
		q->cbs->writable(q->ctx);
	}
}

/* A try found lost: the message goes again (a reply once it has a block). */
static void requeue(struct mixmsgs *q, struct outmsg *m)
{
	if (m->have_route && m->blames)
		mark_route(q, m, 0);
	q->st->retransmitted++;
	msg_set_state(m, M_QUEUED, "lost");
}

/* Loss found early, as TCP's RACK finds it: a try sent well before one
 * just acknowledged (at edge_us) by the same peer, and not acknowledged
 * itself, is lost.  Such tries do not count towards max_tries (timeouts
 * do), so a lossy path does not spend a message's tries in a second.  Fast profile
 * only: without delays, tries overtake each other only by the queues of
 * their routes, which half a round trip covers; in the default profile
 * the drawn delays reorder everything, and the timeout decides.  A message
 * at its last try or its deadline is left to its timer, which gives it
 * up.  The caller sends what this queues. */
static void lost_before(struct mixmsgs *q, const struct conv *cv, uint64_t edge_us)
{
	if (!q->cfg->fast)
		return;
	double reo = mixcc_srtt_us(q->cc) / 2;
	if (reo < RACK_MIN_US)
		reo = RACK_MIN_US;
	uint64_t now = now_us();
	for (struct list *l = q->fl.next, *next; l != &q->fl; l = next) {
		struct outmsg *x = list_entry(l, struct outmsg, fl);
		next = l->next; /* requeue unlinks x only */
		if ((double)x->sent_us + reo >= (double)edge_us)
			break;
		/* Only messages to the peer whose acks these are: another
		 * peer's path may be slower without anything being lost.  At
		 * most EARLY_MAX early tries per timeout: a message the peer
		 * keeps refusing (its application is full) while it takes
		 * later ones must not spend a reply block per ack packet. */
		if (x->cv != cv || x->early >= EARLY_MAX || (cv->in && now >= x->deadline_us))
			continue;
		x->early++;
		requeue(q, x);
		q->st->lost_early++;
	}
}

/* An ack; *edge_us: the latest send time of a last try acked so far. */
static int on_acked(struct mixmsgs *q, const struct conv *cv, uint64_t ack,
                    uint64_t *edge_us)
{
	uint8_t key[16];
	unsigned try = (unsigned)(ack >> 56);
	msg_key(key, cv, ack & MB_ID_MASK);
	struct outmsg *m = htab_get(q->tab, key);
	if (!m)
		return 0; /* acked before, or given up */
	/* Only the route of the try that got through is proven. */
	if (m->have_route && try == (m->tries > 255 ? 255 : m->tries))
		mark_route(q, m, 1);
	/* The ack names the try it answers, so its round trip is known even
	 * for a message sent several times (Karn's problem does not arise),
	 * also when it answers an earlier try than the last: on a loaded
	 * network those are the only answers until the timeout has grown. */
	if (try >= 1 && try <= m->tries && m->tries - try < MIXMSG_TRY_RING && m->tries < 255) {
		uint64_t now = now_us(), t = m->try_us[try % MIXMSG_TRY_RING] + m->try_fwd_us[try % MIXMSG_TRY_RING];
		mixcc_sample(q->cc, m->try_us[try % MIXMSG_TRY_RING], now > t ? (double)(now - t) : 0);
		if (try == m->tries && m->st == M_FLIGHT && m->sent_us > *edge_us)
			*edge_us = m->sent_us;
	}
	q->st->acked++;
	msg_free(q, m, M_ACKED, NULL);
	return 1;
}

/* Give a message up and tell the application whom it was for. */
static void give_up(struct mixmsgs *q, struct outmsg *m, const char *why)
{
	struct mix_from to;
	uint64_t id = m->id;
	memset(&to, 0, sizeof(to));
	if (!m->cv->in) {
		to.reply = 1;
		to.addr = conv_po(m->cv)->addr;
	} else {
		memcpy(to.tag, conv_pi(m->cv)->tag, MIX_TAG_BYTES);
	}
	q->st->gave_up++;
	log_debug("mixclient: message %llu given up after %u tries: %s", (unsigned long long)id,
	          m->tries, why);
	msg_free(q, m, M_GIVEN_UP, why);
	q->cbs->given_up(q->ctx, &to, id, why);
}

/* Give up the messages for which match() says why, as it says.  By id,
 * looked up again one at a time: on_giveup may queue messages meanwhile,
 * which can rehash the table under an iteration. */
void mixmsgs_give_up_matching(struct mixmsgs *q, mixmsgs_match *match, void *arg)
{
	size_t n = 0, it = 0;
	const void *k;
	void *v;
	struct { const struct conv *cv; uint64_t id; } *ids = xcalloc(q->n + 1, sizeof(*ids));
	char why[160];
	while (htab_next(q->tab, &it, &k, &v)) {
		struct outmsg *m = v;
		if (n <= q->n && match(m, arg, why, sizeof(why))) {
			ids[n].cv = m->cv;
			ids[n++].id = m->id;
		}
	}
	for (size_t i = 0; i < n; i++) {
		uint8_t key[16];
		msg_key(key, ids[i].cv, ids[i].id);
		struct outmsg *m = htab_get(q->tab, key);
		const char *w;
		if (m && (w = match(m, arg, why, sizeof(why))) != NULL)
			give_up(q, m, w);
	}
	free(ids);
}

static void on_deadline(struct ev *ev, void *ctx)
{
	struct outmsg *m = ctx;
	(void)ev;
	m->timer = 0;
	give_up(m->q, m, "no reply block came in time");
}

static void on_timeout(struct ev *ev, void *ctx)
{
	struct outmsg *m = ctx;
	struct mixmsgs *q = m->q;
	(void)ev;
	m->timer = 0;
	mixcc_timeout(q->cc, m->sent_us);
	m->early = 0;
	m->timeouts++;
	char buf[160];
	const char *why = q->cbs->unreachable(q->ctx, m, buf, sizeof(buf));
	if (!why && q->cfg->max_tries && m->timeouts >= q->cfg->max_tries)
		why = "no acknowledgement after the tries it was allowed";
	if (!why && m->cv->in && now_us() >= m->deadline_us)
		why = "out of time";
	if (why) {
		if (m->have_route && m->blames)
			mark_route(q, m, 0);
		give_up(q, m, why);
		return;
	}
	requeue(q, m);
	q->cbs->kick(q->ctx);
}

/* Retransmission timeout: the delays this try was given on its way, plus
 * the larger of a fixed allowance (a mean ack path back, the receiver's
 * send slots, 250 ms of slack) and what round trips have measured beyond
 * the chosen delays (smoothed, plus four deviations, as TCP does), so a
 * slow machine or a loaded network does not send everything twice;
 * growing with each try. */
uint64_t mixmsgs_rto_ms(const struct mixmsgs *q, uint64_t fwd_delay_us, unsigned tries)
{
	double fixed = q->cfg->fast ? RTO_FAST_MIN_MS
	                            : 3 * q->cfg->delay_mean_ms + 4 * q->cfg->send_mean_ms + 250;
	if (fixed < (double)q->cfg->rto_min_ms)
		fixed = (double)q->cfg->rto_min_ms;
	double measured = (mixcc_srtt_us(q->cc) + 4 * mixcc_rttvar_us(q->cc)) / 1000.0;
	double base = (double)fwd_delay_us / 1000.0 + (measured > fixed ? measured : fixed);
	/* Backs off to 4x (or 1 s, if more) only: loss in a mixnet is mostly
	 * a dead or lossy node, which the new route avoids; a slow machine or
	 * a loaded network shows in the measured round trips, which the base
	 * follows.  The 1 s keeps max_tries from running out within a few
	 * seconds where round trips are short (fast profile): a gateway that
	 * restarts, or a burst of load, takes longer than that. */
	double cap = 4 * base > RTO_BACKOFF_CAP_MS ? 4 * base : RTO_BACKOFF_CAP_MS;
	double ms = base;
	for (unsigned i = 1; i < tries && ms < cap; i++)
		ms *= 1.5;
	if (ms > cap)
		ms = cap;
	/* Until a round trip has been measured, though, nothing says the
	 * fixed allowance fits this machine: one too slow to send a window
	 * of packets within it would spend all its time sending them again,
	 * and give them up before an ack could be read.  Double, as TCP
	 * does before its first sample. */
	if (mixcc_srtt_us(q->cc) == 0) {
		ms = base;
		for (unsigned i = 1; i < tries && ms < 60000; i++)
			ms *= 2;
	}
	return ms > 60000 ? 60000 : (uint64_t)ms;
}

/* The lowest id of ours to `peer` still in flight (or the next id): the
 * receiver need not wait for anything below it, so one message given up
 * cannot hold its window back for good. */
uint64_t mixmsgs_floor(const struct mixmsgs *q, const struct conv *cv)
{
	uint64_t f = cv->next_id;
	size_t it = 0;
	const void *k;
	void *v;
	while (htab_next(q->tab, &it, &k, &v)) {
		struct outmsg *m = v;
		if (m->cv == cv && m->id < f)
			f = m->id;
	}
	return f;
}

void msg_sent(struct outmsg *m, uint64_t fwd_us)
{
	if (++m->tries == 1)
		m->q->st->sent++;
	m->sent_us = now_us();
	m->fwd_us = fwd_us;
	m->try_us[m->tries % MIXMSG_TRY_RING] = m->sent_us;
	m->try_fwd_us[m->tries % MIXMSG_TRY_RING] = m->fwd_us;
	msg_set_state(m, M_FLIGHT, NULL);
}

unsigned mixmsgs_read_acks(struct mixmsgs *q, const struct mb_view *v, const struct conv *cv)
{
	uint64_t edge = 0;
	unsigned n = 0;
	for (unsigned i = 0; i < v->nacks; i++)
		n += on_acked(q, cv, mb_ack(v, i), &edge);
	/* After all of them: one acked here is not lost for being listed
	 * after a later one. */
	if (edge)
		lost_before(q, cv, edge);
	return n;
}

void mixmsgs_requeue_conv(struct mixmsgs *q, const struct conv *cv, const char *why)
{
	size_t it = 0;
	const void *k;
	void *v;
	while (htab_next(q->tab, &it, &k, &v)) {
		struct outmsg *m = v;
		if (m->cv == cv && m->st == M_FLIGHT)
			msg_set_state(m, M_QUEUED, why);
	}
}
