/* Unit tests of mixmsg: the window and the writable signal; the ready
 * queue's order (retries first, by id); an ack frees its message once;
 * the floor; a timeout sends again until the owner says no route can
 * carry the message, or the tries run out; a reply waits for blocks only
 * until its deadline; in the fast profile a try sent well before one
 * acknowledged is found lost early; and the owner's bulk verbs
 * (give up matching, requeue a conversation). */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ev.h"
#include "mixcc.h"
#include "mixmsg.h"
#include "route.h"
#include "testtopo.h"
#include "topology.h"
#include "util.h"

static struct topology *topo;
static struct ev *ev;
static struct mixcc *cc;
static struct routes *routes;
static struct mixclient_cfg cfg;
static struct mixclient_stats st;
static struct mixmsgs q;
static struct peer_out po;
static struct peer_in pi;

static unsigned kicks, writables, gave_up;
static struct mix_from last_to;
static char last_why[160];
static const char *unreachable_why; /* what the owner says; NULL: reachable */

static void cb_kick(void *ctx)
{
	(void)ctx;
	kicks++;
}

static const char *cb_unreachable(void *ctx, const struct outmsg *m, char *buf, size_t n)
{
	(void)ctx;
	(void)m;
	if (!unreachable_why)
		return NULL;
	snprintf(buf, n, "%s", unreachable_why);
	return buf;
}

static void cb_given_up(void *ctx, const struct mix_from *to, uint64_t id, const char *why)
{
	(void)ctx;
	(void)id;
	gave_up++;
	last_to = *to;
	snprintf(last_why, sizeof(last_why), "%s", why);
}

static void cb_writable(void *ctx)
{
	(void)ctx;
	writables++;
}

static const struct mixmsgs_cbs cbs = {
	.kick = cb_kick,
	.unreachable = cb_unreachable,
	.given_up = cb_given_up,
	.writable = cb_writable,
};

static void start(int fast, unsigned window)
{
	topo = testtopo_new(1, 0, NULL);
	ev = ev_new();
	cc = mixcc_new(ev, fast);
	routes = routes_new(topo);
	mixclient_cfg_defaults(&cfg);
	cfg.fast = fast;
	cfg.window = window;
	if (fast)
		cfg.delay_mean_ms = 0;
	memset(&st, 0, sizeof(st));
	memset(&po, 0, sizeof(po));
	po.cv.next_id = 1;
	memset(po.addr.pk, 7, sizeof(po.addr.pk));
	memset(&pi, 0, sizeof(pi));
	pi.cv.in = 1;
	pi.cv.next_id = 1;
	memset(pi.tag, 9, sizeof(pi.tag));
	kicks = writables = gave_up = 0;
	unreachable_why = NULL;
	mixmsgs_init(&q, ev, cc, routes, &cfg, &st, &cbs, NULL);
}

static void stop(void)
{
	mixmsgs_free(&q);
	routes_free(routes);
	mixcc_free(cc);
	ev_free(ev);
	topo_free(topo);
}

static struct outmsg *add(struct conv *cv, int kind, uint64_t *id)
{
	static const uint8_t data[] = "hello";
	struct outmsg *m = mixmsgs_new(&q, data, sizeof(data));
	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(mixmsgs_enqueue(&q, m, kind, cv, id), 0);
	return m;
}

/* Acks as a peer sends them: id | try << 56. */
static unsigned ack(const struct conv *cv, const uint64_t *ids, unsigned n, unsigned try)
{
	struct mb_writer b;
	struct mb_view v;
	mb_begin(&b, MB_ACK, 0, NULL);
	for (unsigned i = 0; i < n; i++)
		ck_assert_int_eq(mb_add_ack(&b, ids[i] | (uint64_t)try << 56, 0), 0);
	ck_assert_int_eq(mb_parse(mb_finish(&b), PKT_BODY_BYTES, &v), 0);
	return mixmsgs_read_acks(&q, &v, cv);
}

/* Run the loop until *flag reaches want, for at most 5 s. */
static void run_until(const unsigned *flag, unsigned want)
{
	uint64_t end = now_ms() + 5000;
	while (*flag < want && now_ms() < end)
		ev_run_once(ev, 10);
	ck_assert_uint_ge(*flag, want);
}

static struct outmsg *queued_at(unsigned i)
{
	struct list *l = q.rq.next;
	while (i-- && l != &q.rq)
		l = l->next;
	return l == &q.rq ? NULL : list_entry(l, struct outmsg, rq);
}

START_TEST(test_window)
{
	uint64_t id = 0;
	start(1, 4);
	uint8_t big[MIX_MSG_MAX + 1] = { 0 };
	errno = 0;
	ck_assert_ptr_null(mixmsgs_new(&q, big, sizeof(big)));
	ck_assert_int_eq(errno, EMSGSIZE);
	for (unsigned i = 0; i < 4; i++)
		add(&po.cv, MB_DATA, &id);
	ck_assert_uint_eq(id, 4);
	ck_assert_uint_eq(kicks, 4);
	ck_assert_uint_eq(po.cv.inflight, 4);
	ck_assert_uint_eq(po.cv.queued, 4);
	ck_assert_uint_eq(mixmsgs_room(&q), 0);
	errno = 0;
	ck_assert_ptr_null(mixmsgs_new(&q, big, 1));
	ck_assert_int_eq(errno, EAGAIN);
	/* An ack makes room, and the refused sender hears of it once. */
	uint64_t one = 1;
	ck_assert_uint_eq(ack(&po.cv, &one, 1, 0), 1);
	ck_assert_uint_eq(writables, 1);
	ck_assert_uint_eq(ack(&po.cv, &one, 1, 0), 0); /* once */
	ck_assert_uint_eq(st.acked, 1);
	ck_assert_uint_eq(mixmsgs_room(&q), 1);
	ck_assert_uint_eq(po.cv.inflight, 3);
	ck_assert_uint_eq(writables, 1);
	stop();
}
END_TEST

START_TEST(test_order_and_floor)
{
	start(1, 16);
	struct outmsg *m1 = add(&po.cv, MB_DATA, NULL), *m2 = add(&po.cv, MB_DATA, NULL);
	struct outmsg *m3 = add(&po.cv, MB_DATA, NULL);
	ck_assert_uint_eq(mixmsgs_floor(&q, &po.cv), 1);
	msg_sent(m1, 0);
	msg_sent(m2, 0);
	ck_assert_int_eq(m1->st, M_FLIGHT);
	ck_assert_uint_eq(po.cv.queued, 1);
	ck_assert_uint_eq(st.sent, 2);
	/* Going again, each goes before every first try, in the order of ids. */
	msg_set_state(m2, M_QUEUED, "test");
	msg_set_state(m1, M_QUEUED, "test");
	ck_assert_ptr_eq(queued_at(0), m1);
	ck_assert_ptr_eq(queued_at(1), m2);
	ck_assert_ptr_eq(queued_at(2), m3);
	ck_assert_uint_eq(po.cv.queued, 3);
	/* The floor: the lowest id still out. */
	uint64_t ids[] = { 1 };
	ack(&po.cv, ids, 1, 0);
	ck_assert_uint_eq(mixmsgs_floor(&q, &po.cv), 2);
	uint64_t rest[] = { 2, 3 };
	ack(&po.cv, rest, 2, 0);
	ck_assert_uint_eq(mixmsgs_floor(&q, &po.cv), 4);
	ck_assert_uint_eq(q.n, 0);
	ck_assert_uint_eq(po.cv.queued, 0);
	stop();
}
END_TEST

/* A timeout sends the message again; once the owner says no route can
 * carry it, it is given up, and the application hears whom it was for. */
START_TEST(test_timeout_then_unreachable)
{
	start(1, 16);
	struct outmsg *m = add(&po.cv, MB_DATA, NULL);
	msg_sent(m, 0);
	unsigned k = kicks;
	run_until(&kicks, k + 1);
	ck_assert_int_eq(m->st, M_QUEUED);
	ck_assert_uint_eq(m->timeouts, 1);
	ck_assert_uint_eq(st.retransmitted, 1);
	msg_sent(m, 0);
	unreachable_why = "no mix of layer 2 carried anything";
	run_until(&gave_up, 1);
	ck_assert_uint_eq(q.n, 0);
	ck_assert_int_eq(last_to.reply, 1);
	ck_assert_mem_eq(last_to.addr.pk, po.addr.pk, sizeof(po.addr.pk));
	ck_assert_str_eq(last_why, "no mix of layer 2 carried anything");
	ck_assert_uint_eq(st.gave_up, 1);
	ck_assert_uint_eq(po.cv.inflight, 0);
	stop();
}
END_TEST

START_TEST(test_max_tries)
{
	start(1, 16);
	cfg.max_tries = 2;
	struct outmsg *m = add(&po.cv, MB_DATA, NULL);
	msg_sent(m, 0);
	run_until(&kicks, 2);
	ck_assert_uint_eq(gave_up, 0);
	msg_sent(m, 0);
	run_until(&gave_up, 1);
	ck_assert_str_eq(last_why, "no acknowledgement after the tries it was allowed");
	stop();
}
END_TEST

/* A reply that finds no reply block waits until its deadline. */
START_TEST(test_reply_deadline)
{
	start(1, 16);
	cfg.peer_timeout_ms = 20; /* the budget is ten peer timeouts: 200 ms */
	uint64_t t0 = now_ms();
	add(&pi.cv, MB_REPLY, NULL);
	ck_assert_uint_eq(pi.cv.queued, 1);
	run_until(&gave_up, 1);
	ck_assert_uint_ge(now_ms() - t0, 190);
	ck_assert_str_eq(last_why, "no reply block came in time");
	ck_assert_int_eq(last_to.reply, 0);
	ck_assert_mem_eq(last_to.tag, pi.tag, sizeof(pi.tag));
	ck_assert_uint_eq(pi.cv.queued, 0);
	stop();
}
END_TEST

/* Fast profile: a try sent well before one just acknowledged is lost. */
START_TEST(test_lost_early)
{
	start(1, 16);
	struct outmsg *m1 = add(&po.cv, MB_DATA, NULL), *m2 = add(&po.cv, MB_DATA, NULL);
	msg_sent(m1, 0);
	msg_sent(m2, 0);
	/* m1 went a second before m2: far beyond the reorder window (half a
	 * round trip), whatever the round trip m2's ack measures on a
	 * loaded machine. */
	m1->sent_us -= 1000000;
	uint64_t two = 2;
	ck_assert_uint_eq(ack(&po.cv, &two, 1, 1), 1);
	ck_assert_int_eq(m1->st, M_QUEUED);
	ck_assert_uint_eq(st.lost_early, 1);
	ck_assert_uint_eq(st.retransmitted, 1);
	/* The default profile leaves it to the timeout. */
	stop();
	start(0, 16);
	m1 = add(&po.cv, MB_DATA, NULL);
	m2 = add(&po.cv, MB_DATA, NULL);
	msg_sent(m1, 0);
	msg_sent(m2, 0);
	m1->sent_us -= 1000000;
	ack(&po.cv, &two, 1, 1);
	ck_assert_int_eq(m1->st, M_FLIGHT);
	ck_assert_uint_eq(st.lost_early, 0);
	stop();
}
END_TEST

static const char *odd(const struct outmsg *m, void *arg, char *buf, size_t n)
{
	(void)buf;
	(void)n;
	return m->id % 2 ? arg : NULL;
}

START_TEST(test_bulk)
{
	start(1, 16);
	struct outmsg *m[4];
	for (int i = 0; i < 4; i++) {
		m[i] = add(&po.cv, MB_DATA, NULL);
		msg_sent(m[i], 0);
	}
	struct outmsg *r = add(&pi.cv, MB_REPLY, NULL);
	msg_sent(r, 0);
	mixmsgs_requeue_conv(&q, &po.cv, "epoch learned");
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(m[i]->st, M_QUEUED);
	ck_assert_int_eq(r->st, M_FLIGHT);
	static char why[] = "odd ones";
	mixmsgs_give_up_matching(&q, odd, why);
	ck_assert_uint_eq(gave_up, 3); /* 1 and 3 to the address, the reply's 1 */
	ck_assert_str_eq(last_why, "odd ones");
	ck_assert_uint_eq(q.n, 2);
	ck_assert_uint_eq(po.cv.inflight, 2);
	ck_assert_uint_eq(pi.cv.inflight, 0);
	stop();
}
END_TEST

/* The retransmission timeout grows with tries, within its bounds. */
START_TEST(test_rto)
{
	start(0, 16);
	uint64_t a = mixmsgs_rto_ms(&q, 0, 1), b = mixmsgs_rto_ms(&q, 0, 2);
	ck_assert_uint_ge(a, 3 * 15 + 4 * 20 + 250);
	ck_assert_uint_gt(b, a);
	ck_assert_uint_eq(mixmsgs_rto_ms(&q, 1000000, 1), a + 1000);
	ck_assert_uint_le(mixmsgs_rto_ms(&q, 0, 100), 60000);
	stop();
}
END_TEST

Suite *suite_mixmsg(void)
{
	Suite *s = suite_create("mixmsg");
	TCase *tc = tcase_create("mixmsg");
	tcase_add_test(tc, test_window);
	tcase_add_test(tc, test_order_and_floor);
	tcase_add_test(tc, test_timeout_then_unreachable);
	tcase_add_test(tc, test_max_tries);
	tcase_add_test(tc, test_reply_deadline);
	tcase_add_test(tc, test_lost_early);
	tcase_add_test(tc, test_bulk);
	tcase_add_test(tc, test_rto);
	suite_add_tcase(s, tc);
	return s;
}
