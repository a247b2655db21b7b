/* Unit tests of mixcc: the window's rules one round at a time (each
 * sample below is of a message sent after the last round ended, so it
 * ends a round), the timeout cut, the turns, and the default profile in
 * which nothing is held back. */
#include <check.h>
#include <stdint.h>

#include "ev.h"
#include "mixcc.h"
#include "util.h"

static double cwnd(const struct mixcc *cc)
{
	struct mixcc_stats st;
	mixcc_get_stats(cc, &st);
	return st.cwnd;
}

/* n messages go out: the window held the senders back this round. */
static void fill(struct mixcc *cc, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		mixcc_sent(cc);
}

static void drain(struct mixcc *cc, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		mixcc_left(cc);
}

START_TEST(test_slow_start_and_vegas)
{
	struct ev *ev = ev_new();
	struct mixcc *cc = mixcc_new(ev, 1);
	ck_assert(cwnd(cc) == 32);
	/* A round in which nobody filled the window proves nothing. */
	mixcc_sample(cc, now_us(), 1000);
	ck_assert(cwnd(cc) == 32);
	/* Filled, at the base round trip: slow start doubles. */
	fill(cc, 32);
	mixcc_sample(cc, now_us(), 1000);
	ck_assert(cwnd(cc) == 64);
	drain(cc, 32);
	/* Round trips double: 32 of 64 packets wait in queues, more than
	 * slow start allows: it ends with what the path held at the base
	 * round trip (32) plus the queue wanted (8). */
	fill(cc, 64);
	mixcc_sample(cc, now_us(), 2000);
	ck_assert(cwnd(cc) == 40);
	drain(cc, 64);
	/* Congestion avoidance: no queue, filled: one more. */
	fill(cc, 40);
	mixcc_sample(cc, now_us(), 1000);
	ck_assert(cwnd(cc) == 41);
	drain(cc, 40);
	/* The 40 out (not the window of 41) make the queue: 40 * 2/3 =
	 * 26.7 > 24, down by half the excess (1.33). */
	mixcc_sample(cc, now_us(), 3000);
	ck_assert(cwnd(cc) > 39.6 && cwnd(cc) < 39.7);
	/* Queued between the bounds: it holds, filled or not. */
	double w = cwnd(cc);
	fill(cc, 40);
	mixcc_sample(cc, now_us(), 1500); /* 39.7 / 3 = 13.2 */
	ck_assert(cwnd(cc) == w);
	drain(cc, 40);
	/* The base is the smallest round trip seen, not the last. */
	struct mixcc_stats st;
	mixcc_get_stats(cc, &st);
	ck_assert(st.min_rtt_ms == 1.0);
	ck_assert_uint_eq(st.rounds, 6);
	mixcc_free(cc);
	ev_free(ev);
}
END_TEST

START_TEST(test_floor_and_ceiling)
{
	struct ev *ev = ev_new();
	struct mixcc *cc = mixcc_new(ev, 1);
	mixcc_sample(cc, now_us(), 1000);
	/* Nothing out: a long round trip is not a queue of ours. */
	mixcc_sample(cc, now_us(), 1000000);
	ck_assert(cwnd(cc) == 32);
	/* Huge queues: slow start ends at once, and the window settles
	 * near ALPHA: the queue a window can make is smaller than itself. */
	fill(cc, 32);
	for (int i = 0; i < 50; i++)
		mixcc_sample(cc, now_us(), 1000000);
	ck_assert(cwnd(cc) >= 4 && cwnd(cc) < 8.1);
	/* A round trip below the floor counts as the floor (50 us), not as
	 * zero, which would make every later one look infinitely queued. */
	mixcc_sample(cc, now_us(), 0);
	struct mixcc_stats st;
	mixcc_get_stats(cc, &st);
	ck_assert(st.min_rtt_ms == 0.05);
	mixcc_free(cc);
	ev_free(ev);
}
END_TEST

START_TEST(test_timeout_cut)
{
	struct ev *ev = ev_new();
	struct mixcc *cc = mixcc_new(ev, 1);
	uint64_t before = now_us();
	/* A timeout with no queue measured is a lost packet: no cut. */
	mixcc_sample(cc, now_us(), 1000);
	mixcc_timeout(cc, now_us());
	ck_assert(cwnd(cc) == 32);
	/* Slow start to 128, then round trips 8 times the base: 112 packets
	 * queued; slow start ends at 128 / 8 + 8 = 24 ... */
	fill(cc, 32);
	mixcc_sample(cc, now_us(), 1000);
	fill(cc, 64);
	mixcc_sample(cc, now_us(), 1000);
	ck_assert(cwnd(cc) == 128);
	mixcc_sample(cc, now_us(), 8000);
	ck_assert(cwnd(cc) == 24);
	/* ... and a timeout now, with queues past BETA, halves it ... */
	mixcc_timeout(cc, now_us());
	ck_assert(cwnd(cc) == 12);
	double w = 24;
	/* ... once: the timeouts of messages sent before the cut are of
	 * the same overflow. */
	mixcc_timeout(cc, before);
	ck_assert(cwnd(cc) == w / 2);
	struct mixcc_stats st;
	mixcc_get_stats(cc, &st);
	ck_assert_uint_eq(st.cuts, 1);
	mixcc_free(cc);
	ev_free(ev);
}
END_TEST

/* Waiters that record whose turn it was. */
struct w {
	struct mixcc_waiter wt;
	struct mixcc *cc;
	int name, ready;
};
static int order[64], norder;

static int turn(void *arg)
{
	struct w *w = arg;
	ck_assert(mixcc_room(w->cc));
	mixcc_sent(w->cc);
	w->ready--;
	if (norder < 64)
		order[norder++] = w->name;
	return w->ready > 0;
}

START_TEST(test_turns)
{
	struct ev *ev = ev_new();
	struct mixcc *cc = mixcc_new(ev, 1);
	struct w w[3];
	/* No round trip measured yet: the window is 128. */
	fill(cc, 100);
	ck_assert(mixcc_room(cc));
	drain(cc, 100);
	mixcc_sample(cc, 0, 1000); /* sent before the round: ends none */
	for (int i = 0; i < 3; i++) {
		w[i] = (struct w){ .wt = { .turn = turn, .arg = &w[i] }, .cc = cc, .name = i + 1,
		                   .ready = 10 };
	}
	fill(cc, 32);
	ck_assert(!mixcc_room(cc));
	struct mixcc_stats st;
	mixcc_get_stats(cc, &st);
	ck_assert_uint_eq(st.overruns, 0);
	for (int i = 0; i < 3; i++)
		mixcc_wait(cc, &w[i].wt);
	mixcc_wait(cc, &w[0].wt); /* queued once only */
	/* Room for one: not for a newcomer while others wait their turn. */
	drain(cc, 1);
	ck_assert(!mixcc_room(cc));
	drain(cc, 3);
	norder = 0;
	ev_run_once(ev, 100);
	ck_assert_int_eq(norder, 4);
	ck_assert_int_eq(order[0], 1);
	ck_assert_int_eq(order[1], 2);
	ck_assert_int_eq(order[2], 3);
	ck_assert_int_eq(order[3], 1);
	/* One leaves the queue (its client was freed): the others go on. */
	mixcc_unwait(cc, &w[1].wt);
	drain(cc, 4);
	norder = 0;
	ev_run_once(ev, 100);
	ck_assert_int_eq(norder, 4);
	ck_assert_int_eq(order[0], 3);
	ck_assert_int_eq(order[1], 1);
	ck_assert_int_eq(order[2], 3);
	ck_assert_int_eq(order[3], 1);
	/* A waiter with nothing more leaves the queue by itself. */
	w[0].ready = 1;
	w[2].ready = 1;
	drain(cc, 10);
	norder = 0;
	ev_run_once(ev, 100);
	ck_assert_int_eq(norder, 2);
	ck_assert(mixcc_room(cc));
	/* Turns never went past the window (turn() checks the room too). */
	mixcc_get_stats(cc, &st);
	ck_assert_uint_eq(st.overruns, 0);
	fill(cc, 100);
	mixcc_get_stats(cc, &st);
	ck_assert_uint_gt(st.overruns, 0);
	mixcc_unwait(cc, &w[0].wt);
	mixcc_unwait(cc, &w[2].wt);
	mixcc_free(cc);
	ev_free(ev);
}
END_TEST

/* A message that rides a packet going anyway may pass the window; one
 * mixcc_ride covers one message only, and a cancelled one none. */
START_TEST(test_ride)
{
	struct ev *ev = ev_new();
	struct mixcc *cc = mixcc_new(ev, 1);
	struct mixcc_stats st;
	fill(cc, 128);
	ck_assert(!mixcc_room(cc));
	mixcc_ride(cc);
	mixcc_sent(cc);
	mixcc_sent(cc);
	mixcc_get_stats(cc, &st);
	ck_assert_uint_eq(st.rides, 1);
	ck_assert_uint_eq(st.overruns, 1);
	ck_assert_uint_eq(st.inflight, 130);
	mixcc_ride(cc);
	mixcc_ride_cancel(cc);
	mixcc_sent(cc);
	mixcc_get_stats(cc, &st);
	ck_assert_uint_eq(st.rides, 1);
	ck_assert_uint_eq(st.overruns, 2);
	mixcc_free(cc);
	ev_free(ev);
}
END_TEST

START_TEST(test_default_profile)
{
	struct ev *ev = ev_new();
	struct mixcc *cc = mixcc_new(ev, 0);
	struct mixcc_stats st;
	/* Nothing is held back: a slot not used for a message would carry
	 * cover anyway. */
	fill(cc, 100000);
	ck_assert(mixcc_room(cc));
	/* The round trip is still shared: RFC 6298's first sample and
	 * smoothing. */
	mixcc_sample(cc, now_us(), 8000);
	mixcc_get_stats(cc, &st);
	ck_assert(st.srtt_ms == 8.0 && st.rttvar_ms == 4.0);
	mixcc_sample(cc, now_us(), 16000);
	mixcc_get_stats(cc, &st);
	ck_assert(st.srtt_ms == 9.0 && st.rttvar_ms == 5.0);
	ck_assert(st.cwnd == 0);
	ck_assert_uint_eq(st.rounds, 0);
	mixcc_timeout(cc, now_us());
	mixcc_get_stats(cc, &st);
	ck_assert_uint_eq(st.cuts, 0);
	ck_assert(!mixcc_is_fast(cc));
	mixcc_free(cc);
	ev_free(ev);
}
END_TEST

Suite *suite_mixcc(void)
{
	Suite *s = suite_create("mixcc");
	TCase *tc = tcase_create("mixcc");
	tcase_add_test(tc, test_slow_start_and_vegas);
	tcase_add_test(tc, test_floor_and_ceiling);
	tcase_add_test(tc, test_timeout_cut);
	tcase_add_test(tc, test_turns);
	tcase_add_test(tc, test_ride);
	tcase_add_test(tc, test_default_profile);
	suite_add_tcase(s, tc);
	return s;
}
