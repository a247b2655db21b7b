/* Unit tests of mixattach over loopback: a gateway that refuses is tried
 * again with a doubling backoff; one that listens is attached to, its
 * frames reach the owner, its going away detaches (once attached, the
 * owner hears it) and the client comes back at the least backoff; and
 * after mixattach_stop no callback comes. */
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ev.h"
#include "keys.h"
#include "link.h"
#include "mixattach.h"
#include "testtopo.h"
#include "topology.h"
#include "util.h"

static struct ev *ev;
static struct topology *topo;
static struct keypair gw_kp, client_kp;
static struct mixattach a;
static unsigned ups, downs, downs_up, frames, drains;
static int lfd = -1;
static struct link *srv;     /* the gateway's end */

static void cb_up(void *ctx)
{
	(void)ctx;
	ups++;
}

/* The loop's time of each down: the retry's timer counts from it. */
static uint64_t down_us[8];

static void cb_down(void *ctx, int was_up)
{
	(void)ctx;
	if (downs < 8)
		down_us[downs] = ev_now_us(ev);
	downs++;
	downs_up += was_up;
}

static void cb_frame(enum link_frame_type t, const uint8_t *id, uint8_t *pkt, void *ctx)
{
	(void)ctx;
	(void)id;
	if (t == LF_DELIVER && pkt[0] == 0x42)
		frames++;
}

static void cb_drain(void *ctx)
{
	(void)ctx;
	drains++;
}

static const struct mixattach_cbs cbs = {
	.up = cb_up, .down = cb_down, .frame = cb_frame, .drain = cb_drain,
};

static int srv_accept_peer(struct link *l, enum link_kind kind, const uint8_t pk[32], void *ctx)
{
	(void)l;
	(void)ctx;
	return kind == LINK_CLIENT && !memcmp(pk, client_kp.pk, 32) ? 0 : -1;
}

static void srv_down(struct link *l, const char *why, void *ctx)
{
	(void)why;
	(void)ctx;
	if (srv == l)
		srv = NULL;
}

static const struct link_cbs srv_cbs = {
	.accept_peer = srv_accept_peer,
	.on_down = srv_down,
};

static void on_listen(struct ev *e, int fd, void *ctx)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	(void)ctx;
	int c = accept4(fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (c < 0)
		return;
	srv = link_accept(e, c, (struct sockaddr *)&ss, sl, &gw_kp, 64, &srv_cbs, NULL);
}

/* A gateway's port on loopback, listening or not. */
static unsigned gw_port(int listening)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	if (listening) {
		ck_assert_int_eq(listen(fd, 8), 0);
		lfd = fd;
		ck_assert_int_eq(ev_add_fd(ev, fd, on_listen, NULL, NULL), 0);
	} else {
		close(fd); /* nothing listens there now */
	}
	return ntohs(sin.sin_port);
}

static void start(int listening)
{
	ev = ev_new();
	keypair_generate(&gw_kp);
	keypair_generate(&client_kp);
	topo = testtopo_new(1, gw_port(listening), &gw_kp);
	ups = downs = downs_up = frames = drains = 0;
	srv = NULL;
	mixattach_start(&a, ev, topo_by_name(topo, "gw"), &client_kp, &cbs, NULL);
}

static void stop(void)
{
	mixattach_stop(&a, "test over");
	if (srv)
		link_close(srv, "test over");
	if (lfd >= 0) {
		ev_del_fd(ev, lfd);
		close(lfd);
		lfd = -1;
	}
	ev_free(ev);
	topo_free(topo);
}

static void run_until(const unsigned *n, unsigned want)
{
	uint64_t end = now_ms() + 10000;
	while (*n < want && now_ms() < end)
		ev_run_once(ev, 10);
	ck_assert_uint_ge(*n, want);
}

START_TEST(test_refused_backs_off)
{
	start(0);
	run_until(&downs, 1);
	ck_assert_int_eq(a.att, DETACHED);
	ck_assert_ptr_null(a.link);
	ck_assert_uint_eq(a.backoff_ms, 2 * MIXATTACH_BACKOFF_MIN_MS);
	ck_assert_int_eq(mixattach_can_send(&a), 0);
	/* Again after the backoff, and again refused: the next wait doubles.
	 * A timer counts from its batch's time, which is the down's, and
	 * never fires early. */
	run_until(&downs, 2);
	ck_assert_uint_ge(down_us[1] - down_us[0], MIXATTACH_BACKOFF_MIN_MS * 1000u);
	ck_assert_uint_eq(a.backoff_ms, 4 * MIXATTACH_BACKOFF_MIN_MS);
	run_until(&downs, 3);
	ck_assert_uint_ge(down_us[2] - down_us[1], 2 * MIXATTACH_BACKOFF_MIN_MS * 1000u);
	ck_assert_uint_eq(a.backoff_ms, 8 * MIXATTACH_BACKOFF_MIN_MS);
	ck_assert_uint_eq(downs_up, 0); /* never attached: nothing to tell */
	ck_assert_uint_eq(ups, 0);
	stop();
}
END_TEST

START_TEST(test_attach_and_return)
{
	uint8_t pkt[PKT_BYTES], id[PKT_ID_BYTES] = { 0 };
	start(1);
	ck_assert_int_eq(a.att, CONNECTING);
	run_until(&ups, 1);
	ck_assert_int_eq(a.att, ATTACHED);
	ck_assert_int_eq(mixattach_can_send(&a), 1);
	ck_assert_uint_eq(a.backoff_ms, MIXATTACH_BACKOFF_MIN_MS);
	/* The gateway's frames reach the owner. */
	while (!srv)
		ev_run_once(ev, 10);
	memset(pkt, 0x42, sizeof(pkt));
	ck_assert_int_eq(link_send(srv, LF_DELIVER, id, pkt), 0);
	run_until(&frames, 1);
	/* The gateway drops the link: detached, and back. */
	link_close(srv, "gateway restarts");
	run_until(&downs, 1);
	ck_assert_uint_eq(downs_up, 1);
	ck_assert_int_eq(a.att, DETACHED);
	run_until(&ups, 2);
	ck_assert_int_eq(a.att, ATTACHED);
	/* Stopped: the link goes, and nothing more is heard. */
	mixattach_stop(&a, "client closed");
	ck_assert_int_eq(a.att, DETACHED);
	ck_assert_ptr_null(a.link);
	unsigned d = downs, u = ups;
	for (int i = 0; i < 20; i++)
		ev_run_once(ev, 10);
	ck_assert_uint_eq(downs, d);
	ck_assert_uint_eq(ups, u);
	stop();
}
END_TEST

Suite *suite_mixattach(void)
{
	Suite *s = suite_create("mixattach");
	TCase *tc = tcase_create("mixattach");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_refused_backs_off);
	tcase_add_test(tc, test_attach_and_return);
	suite_add_tcase(s, tc);
	return s;
}
