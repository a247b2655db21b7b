/* mixcc — see mixcc.h.
 *
 * The window (fast profile), in messages in flight:
 *
 *   - Once per round (a round ends when a message sent after it began is
 *     acknowledged) the packets queued in the network are estimated, as
 *     TCP Vegas does, as cwnd * (1 - base / rtt): rtt is the smallest
 *     round trip of the round (the others wait behind it anyway), base the
 *     smallest of the last 10 to 20 s (the network with empty queues).
 *     Fewer than ALPHA queued: grow by one; more than BETA: shrink by half
 *     the excess.  Between the two the window holds: enough queued that no
 *     mix waits for work, not so much that round trips grow.
 *   - Slow start doubles it per round until GAMMA packets queue.
 *   - It grows only when it held a sender back in the round: a window
 *     nobody fills proves nothing.
 *   - A retransmission timeout of a message sent since the last cut,
 *     while packets were queued, halves it: a queue overflowed somewhere.
 *     Without queueing, a timeout is a lost packet (a dead or lossy mix),
 *     which the new route of the next try avoids, not congestion.
 *
 * Round trips are measured beyond the delays the sender chose, so in the
 * default profile they still carry the other side's send slots and the
 * reply blocks' delays: too noisy for the estimate, which is why the
 * window does not act there (mixcc.h says why it need not). */
#include "mixcc.h"

#include <math.h>
#include <stdlib.h>

#include "ev.h"
#include "util.h"

#define CWND_INIT 32
#define CWND_MIN 4
#define CWND_MAX 65536
#define ALPHA 8.0
#define BETA 24.0
#define GAMMA 16.0
#define MIN_RTT_SPAN_US (10ull * 1000000) /* base: the smallest of 1-2 spans */
#define RTT_FLOOR_US 50.0
#define PRESAMPLE 128             /* the window before any round trip */
#define TURNS_PER_PASS 32         /* as mixclient's BURST: acks must be read */

struct mixcc {
	struct ev *ev;
	int fast;
	double cwnd;
	int slow_start;
	unsigned inflight;
	int limited;                 /* a sender was held back this round */
	unsigned peak;               /* most messages in flight this round */
	int in_turn;
	int riding;                  /* mixcc_ride: the next mixcc_sent */
	double srtt_us, rttvar_us;
	double min_cur, min_prev;    /* smallest round trip: this span, the last */
	uint64_t span_start_us;
	uint64_t round_start_us;
	double round_min;
	double queued;
	uint64_t last_cut_us;
	struct list wq;              /* waiters, round robin */
	uint64_t t_run;
	struct mixcc_stats st;
};

struct mixcc *mixcc_new(struct ev *ev, int fast)
{
	struct mixcc *cc = xcalloc(1, sizeof(*cc));
	cc->ev = ev;
	cc->fast = fast;
	cc->cwnd = CWND_INIT;
	cc->slow_start = 1;
	cc->min_cur = cc->min_prev = INFINITY;
	cc->round_min = INFINITY;
	cc->span_start_us = cc->round_start_us = now_us();
	list_init(&cc->wq);
	return cc;
}

void mixcc_free(struct mixcc *cc)
{
	if (!cc)
		return;
	ev_timer_cancel(cc->ev, cc->t_run);
	free(cc);
}

static double base_rtt(const struct mixcc *cc)
{
	return cc->min_cur < cc->min_prev ? cc->min_cur : cc->min_prev;
}

void mixcc_get_stats(const struct mixcc *cc, struct mixcc_stats *st)
{
	double b = base_rtt(cc);
	*st = cc->st;
	st->cwnd = cc->fast ? cc->cwnd : 0;
	st->inflight = cc->inflight;
	st->srtt_ms = cc->srtt_us / 1000.0;
	st->rttvar_ms = cc->rttvar_us / 1000.0;
	st->min_rtt_ms = isinf(b) ? 0 : b / 1000.0;
	st->queued = cc->queued;
}

int mixcc_is_fast(const struct mixcc *cc)
{
	return cc->fast;
}

double mixcc_srtt_us(const struct mixcc *cc)
{
	return cc->srtt_us;
}

double mixcc_rttvar_us(const struct mixcc *cc)
{
	return cc->rttvar_us;
}

/* Until a round trip is measured nothing says what the path holds, and
 * a path where most routes are dead needs many messages out to find one
 * that lives (each try backs off by itself): the window is PRESAMPLE. */
static double limit(const struct mixcc *cc)
{
	return cc->srtt_us == 0 ? PRESAMPLE : cc->cwnd;
}

int mixcc_room(const struct mixcc *cc)
{
	if (!cc->fast)
		return 1;
	return (double)cc->inflight < limit(cc) && (list_empty(&cc->wq) || cc->in_turn);
}

/* Turns, round robin, while there is room: one message each. */
static void run(struct ev *ev, void *ctx)
{
	struct mixcc *cc = ctx;
	(void)ev;
	cc->t_run = 0;
	for (int n = 0; !list_empty(&cc->wq) && (double)cc->inflight < limit(cc); n++) {
		/* A packet costs ten X25519: after a burst, let the loop read
		 * what came in (acks) before the next. */
		if (n == TURNS_PER_PASS) {
			if (!cc->t_run)
				cc->t_run = ev_timer_add(cc->ev, 0, run, cc);
			return;
		}
		struct mixcc_waiter *w = list_entry(cc->wq.next, struct mixcc_waiter, wq);
		mixcc_unwait(cc, w);
		cc->in_turn = 1;
		int more = w->turn(w->arg);
		cc->in_turn = 0;
		if (more)
			mixcc_wait(cc, w);
	}
}

/* Room came back: turns go on the next loop pass, not inside the ack or
 * timeout that made the room (its client is in the middle of work). */
static void schedule(struct mixcc *cc)
{
	if (!list_empty(&cc->wq) && !cc->t_run && (double)cc->inflight < limit(cc))
		cc->t_run = ev_timer_add(cc->ev, 0, run, cc);
}

void mixcc_wait(struct mixcc *cc, struct mixcc_waiter *w)
{
	if (list_linked(&w->wq))
		return;
	list_push_back(&cc->wq, &w->wq);
	cc->limited = 1;
	cc->st.waits++;
	schedule(cc);
}

void mixcc_unwait(struct mixcc *cc, struct mixcc_waiter *w)
{
	(void)cc;
	if (list_linked(&w->wq))
		list_remove(&w->wq);
}

void mixcc_ride(struct mixcc *cc)
{
	cc->riding = 1;
}

void mixcc_ride_cancel(struct mixcc *cc)
{
	cc->riding = 0;
}

void mixcc_sent(struct mixcc *cc)
{
	if (cc->riding)
		cc->st.rides++;
	else if (cc->fast && !cc->in_turn && (double)cc->inflight >= limit(cc))
		cc->st.overruns++;
	cc->riding = 0;
	cc->inflight++;
	if (cc->inflight > cc->peak)
		cc->peak = cc->inflight;
	if ((double)cc->inflight >= cc->cwnd)
		cc->limited = 1;
}

void mixcc_left(struct mixcc *cc)
{
	if (cc->inflight > 0)
		cc->inflight--;
	schedule(cc);
}

static void round_end(struct mixcc *cc, uint64_t now)
{
	double base = base_rtt(cc), rtt = cc->round_min;
	cc->st.rounds++;
	cc->round_start_us = now;
	cc->round_min = INFINITY;
	int limited = cc->limited;
	/* What was out, not what could have been: a window the senders did
	 * not fill queues nothing for its unused part. */
	double used = (double)cc->peak < cc->cwnd ? (double)cc->peak : cc->cwnd;
	cc->limited = 0;
	cc->peak = cc->inflight;
	if (isinf(rtt) || isinf(base))
		return;
	cc->queued = used * (rtt - base) / rtt;
	if (cc->slow_start) {
		if (cc->queued > GAMMA) {
			/* Leave slow start with what the path held at the base
			 * round trip, plus the queue wanted. */
			cc->cwnd = cc->cwnd * base / rtt + ALPHA;
			cc->slow_start = 0;
			cc->st.shrinks++;
		} else if (limited) {
			cc->cwnd *= 2;
			cc->st.grows++;
		}
	} else if (cc->queued < ALPHA) {
		if (limited) {
			cc->cwnd += 1;
			cc->st.grows++;
		}
	} else if (cc->queued > BETA) {
		cc->cwnd -= (cc->queued - BETA) / 2 > 1 ? (cc->queued - BETA) / 2 : 1;
		cc->st.shrinks++;
	}
	if (cc->cwnd < CWND_MIN)
		cc->cwnd = CWND_MIN;
	if (cc->cwnd > CWND_MAX)
		cc->cwnd = CWND_MAX;
	schedule(cc);
}

void mixcc_sample(struct mixcc *cc, uint64_t sent_us, double rtt)
{
	uint64_t now = now_us();
	if (rtt < RTT_FLOOR_US)
		rtt = RTT_FLOOR_US;
	if (cc->srtt_us == 0) {
		cc->srtt_us = rtt;
		cc->rttvar_us = rtt / 2;
	} else {
		cc->rttvar_us = 0.75 * cc->rttvar_us + 0.25 * fabs(cc->srtt_us - rtt);
		cc->srtt_us = 0.875 * cc->srtt_us + 0.125 * rtt;
	}
	if (now - cc->span_start_us > 2 * MIN_RTT_SPAN_US) {
		/* Idle for a span or more: what was measured before is old. */
		cc->min_prev = cc->min_cur = INFINITY;
		cc->span_start_us = now;
	} else if (now - cc->span_start_us > MIN_RTT_SPAN_US) {
		cc->min_prev = cc->min_cur;
		cc->min_cur = INFINITY;
		cc->span_start_us = now;
	}
	if (rtt < cc->min_cur)
		cc->min_cur = rtt;
	if (rtt < cc->round_min)
		cc->round_min = rtt;
	if (cc->fast && sent_us >= cc->round_start_us)
		round_end(cc, now);
}

void mixcc_timeout(struct mixcc *cc, uint64_t sent_us)
{
	if (!cc->fast || sent_us < cc->last_cut_us || cc->queued <= BETA)
		return;
	cc->cwnd /= 2;
	if (cc->cwnd < CWND_MIN)
		cc->cwnd = CWND_MIN;
	cc->slow_start = 0;
	cc->last_cut_us = now_us();
	cc->st.cuts++;
}
