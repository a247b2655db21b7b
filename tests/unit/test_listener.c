/* Unit tests of listener: connections handed over with their address, at
 * most LISTENER_BURST per event; out of descriptors, a rest instead of a
 * spin, counted, and the waiting connection taken after it; freed while
 * resting, nothing left behind.  Also nofile_raise. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ev.h"
#include "listener.h"
#include "log.h"
#include "util.h"

struct taken {
	int n;
	int last_port; /* the peer's port, as the listener saw it */
};

static void take(int fd, const struct sockaddr *sa, socklen_t sl, void *ctx)
{
	struct taken *t = ctx;
	ck_assert_uint_eq(sl, sizeof(struct sockaddr_in));
	t->last_port = ntohs(((const struct sockaddr_in *)sa)->sin_port);
	t->n++;
	close(fd);
}

/* A listening socket on 127.0.0.1, port picked by the kernel. */
static int listen_lo(struct sockaddr_in *sa, int backlog)
{
	socklen_t sl = sizeof(*sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)sa, sizeof(*sa)), 0);
	ck_assert_int_eq(listen(fd, backlog), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)sa, &sl), 0);
	return fd;
}

/* A connected client (loopback connects complete at once); its port. */
static int dial(const struct sockaddr_in *sa, int *port)
{
	struct sockaddr_in me;
	socklen_t sl = sizeof(me);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(connect(fd, (const struct sockaddr *)sa, sizeof(*sa)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&me, &sl), 0);
	if (port)
		*port = ntohs(me.sin_port);
	return fd;
}

/* Until n are taken, or 5 s: a rest (500 ms) and a loaded machine. */
static void run_until_taken(struct ev *ev, struct taken *t, int n)
{
	uint64_t end = now_us() + 5000000;
	while (t->n < n && now_us() < end)
		ev_run_once(ev, 10);
	ck_assert_int_eq(t->n, n);
}

/* No descriptor left for accept(2): the limit down to the lowest free
 * one.  *old gets the limit to put back. */
static void no_fds(struct rlimit *old)
{
	struct rlimit low;
	int probe = dup(0);
	ck_assert_int_ge(probe, 0);
	close(probe);
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, old), 0);
	low = *old;
	low.rlim_cur = (rlim_t)probe;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
}

START_TEST(test_hands_over)
{
	struct ev *ev = ev_new();
	struct sockaddr_in sa;
	struct taken t = { 0 };
	int lfd = listen_lo(&sa, 16), port;
	struct listener *l = listener_new(ev, lfd, "test listener", take, &t);
	ck_assert_ptr_nonnull(l);
	int c1 = dial(&sa, &port);
	run_until_taken(ev, &t, 1);
	ck_assert_int_eq(t.last_port, port);
	int c2 = dial(&sa, NULL);
	run_until_taken(ev, &t, 2);
	ck_assert_uint_eq(listener_rests(l), 0);
	ck_assert(!listener_resting(l));
	listener_free(l);
	listener_free(NULL);
	close(c1);
	close(c2);
	close(lfd);
	ev_free(ev);
}
END_TEST

START_TEST(test_burst)
{
	enum { N = LISTENER_BURST + 20 };
	struct ev *ev = ev_new();
	struct sockaddr_in sa;
	struct taken t = { 0 };
	int lfd = listen_lo(&sa, N + 8), c[N];
	struct listener *l = listener_new(ev, lfd, "test listener", take, &t);
	for (int i = 0; i < N; i++)
		c[i] = dial(&sa, NULL);
	/* One readable event takes one burst; the loop comes back for more. */
	ck_assert_int_eq(ev_run_once(ev, 100), 1);
	ck_assert_int_eq(t.n, LISTENER_BURST);
	run_until_taken(ev, &t, N);
	for (int i = 0; i < N; i++)
		close(c[i]);
	listener_free(l);
	close(lfd);
	ev_free(ev);
}
END_TEST

/* With no descriptor left, accept(2) fails with EMFILE and the connection
 * stays pending: the listener must rest, not spin, and take it later. */
START_TEST(test_emfile_rests)
{
	struct ev *ev = ev_new();
	struct sockaddr_in sa;
	struct taken t = { 0 };
	struct rlimit old;
	int lfd = listen_lo(&sa, 16);
	struct listener *l = listener_new(ev, lfd, "test listener", take, &t);
	listener_set_rest(l, 500);
	int port, c1 = dial(&sa, &port);
	no_fds(&old);
	ck_assert_int_eq(ev_run_once(ev, 100), 1); /* accept fails: it rests */
	/* A spinning listener would try on each of these passes; a resting
	 * one once a rest at most (the rest's end is a timer callback, the
	 * try another), however slow a loaded machine makes the passes. */
	uint64_t t0 = now_us();
	int calls = 0;
	for (int i = 0; i < 10; i++)
		calls += ev_run_once(ev, 5);
	uint64_t rests_in = (now_us() - t0) / 500000;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
	ck_assert_uint_le(listener_rests(l), 1 + rests_in);
	ck_assert_int_le(calls, 2 * rests_in);
	ck_assert_int_eq(t.n, 0);

	/* The rest ends and the connection that waited is taken (valgrind
	 * closes what accept(2) returns past the limit, and so takes it
	 * during the rest already or never: a new one must come through). */
	int c2 = dial(&sa, NULL);
	const char *pre = getenv("LD_PRELOAD");
	int valgrind = pre && strstr(pre, "valgrind");
	run_until_taken(ev, &t, valgrind ? 1 : 2);
	ck_assert(!listener_resting(l));
	listener_free(l);
	close(c1);
	close(c2);
	close(lfd);
	ev_free(ev);
}
END_TEST

START_TEST(test_free_while_resting)
{
	struct ev *ev = ev_new();
	struct sockaddr_in sa;
	struct taken t = { 0 };
	struct rlimit old;
	int lfd = listen_lo(&sa, 16);
	uint64_t timers = ev_timer_count(ev);
	struct listener *l = listener_new(ev, lfd, "test listener", take, &t);
	int c1 = dial(&sa, NULL);
	no_fds(&old);
	ck_assert_int_eq(ev_run_once(ev, 100), 1);
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
	ck_assert(listener_resting(l));
	ck_assert_uint_eq(ev_timer_count(ev), timers + 1);
	listener_free(l); /* its timer goes with it */
	ck_assert_uint_eq(ev_timer_count(ev), timers);
	ck_assert_int_eq(ev_run_once(ev, 20), 0);
	close(c1);
	close(lfd);
	ev_free(ev);
}
END_TEST

START_TEST(test_nofile_raise)
{
	struct rlimit rl;
	uint64_t n = nofile_raise();
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	ck_assert(rl.rlim_cur == rl.rlim_max);
	ck_assert(n == (rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_cur));
}
END_TEST

static void quiet(void)
{
	log_init("test_listener", 1, getenv("TEST_VERBOSE") ? 1 : -2);
}

Suite *suite_listener(void)
{
	Suite *s = suite_create("listener");
	TCase *tc = tcase_create("listener");
	tcase_add_checked_fixture(tc, quiet, NULL);
	tcase_add_test(tc, test_hands_over);
	tcase_add_test(tc, test_burst);
	tcase_add_test(tc, test_emfile_rests);
	tcase_add_test(tc, test_free_while_resting);
	tcase_add_test(tc, test_nofile_raise);
	suite_add_tcase(s, tc);
	return s;
}
