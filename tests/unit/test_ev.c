/* Unit tests for ev: fd interest, deletion inside callbacks, timer order and
 * cancellation, signals, deferred frees, ev_stop.
 * Every wait is bounded by an explicit timeout so a bug fails, not hangs. */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ev.h"
#include "util.h"

static void make_pipe(int p[2])
{
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(fd_nonblock(p[0]), 0);
	ck_assert_int_eq(fd_nonblock(p[1]), 0);
}

static void put_byte(int fd)
{
	ck_assert_int_eq(write(fd, "x", 1), 1);
}

/* Run iterations until *flag is set or a bounded number of rounds pass. */
static void run_until(struct ev *ev, const int *flag)
{
	for (int i = 0; i < 50 && !*flag; i++)
		ck_assert_int_ge(ev_run_once(ev, 10), 0);
}

/* ---- fds ---- */

struct fdcount {
	int rd, wr;
	int last_fd;
	int eof;
};

static void count_rd(struct ev *ev, int fd, void *ctx)
{
	(void)ev;
	struct fdcount *c = ctx;
	char b[16];
	ssize_t n = read(fd, b, sizeof(b));
	if (n == 0)
		c->eof = 1;
	c->rd++;
	c->last_fd = fd;
}

static void count_wr(struct ev *ev, int fd, void *ctx)
{
	(void)ev;
	struct fdcount *c = ctx;
	c->wr++;
	c->last_fd = fd;
}

START_TEST(test_fd_read)
{
	struct ev *ev = ev_new();
	ck_assert_ptr_nonnull(ev);
	int p[2];
	make_pipe(p);
	struct fdcount c = { 0 };
	ck_assert_int_eq(ev_add_fd(ev, p[0], count_rd, NULL, &c), 0);

	ck_assert_int_eq(ev_run_once(ev, 0), 0);
	ck_assert_int_eq(c.rd, 0);

	put_byte(p[1]);
	ck_assert_int_eq(ev_run_once(ev, 100), 1);
	ck_assert_int_eq(c.rd, 1);
	ck_assert_int_eq(c.last_fd, p[0]);

	/* Drained: nothing more. */
	ck_assert_int_eq(ev_run_once(ev, 0), 0);
	ck_assert_int_eq(c.rd, 1);

	/* A hangup reaches the reader as EOF. */
	close(p[1]);
	ck_assert_int_eq(ev_run_once(ev, 100), 1);
	ck_assert_int_eq(c.eof, 1);

	ev_del_fd(ev, p[0]);
	ck_assert_int_eq(ev_run_once(ev, 0), 0);
	ev_free(ev);
	close(p[0]);
}
END_TEST

START_TEST(test_fd_add_errors)
{
	struct ev *ev = ev_new();
	int p[2];
	make_pipe(p);
	struct fdcount c = { 0 };
	ck_assert_int_eq(ev_add_fd(ev, -1, count_rd, NULL, &c), -1);
	ck_assert_int_eq(ev_add_fd(ev, p[0], count_rd, NULL, &c), 0);
	errno = 0;
	ck_assert_int_eq(ev_add_fd(ev, p[0], count_rd, NULL, &c), -1);
	ck_assert_int_eq(errno, EEXIST);
	ck_assert_int_eq(ev_want_write(ev, p[1], 1), -1);
	ck_assert_int_eq(ev_want_read(ev, 12345, 1), -1);
	/* Deleting twice, or an fd never added, is harmless. */
	ev_del_fd(ev, p[0]);
	ev_del_fd(ev, p[0]);
	ev_del_fd(ev, 4321);
	/* And the fd can be watched again. */
	ck_assert_int_eq(ev_add_fd(ev, p[0], count_rd, NULL, &c), 0);
	put_byte(p[1]);
	ck_assert_int_eq(ev_run_once(ev, 100), 1);
	ck_assert_int_eq(c.rd, 1);
	ev_free(ev);
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(test_want_write)
{
	struct ev *ev = ev_new();
	int p[2];
	make_pipe(p);
	struct fdcount c = { 0 };
	/* The write end of an empty pipe is always writable. */
	ck_assert_int_eq(ev_add_fd(ev, p[1], count_rd, count_wr, &c), 0);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(ev_run_once(ev, 0), 0);
	ck_assert_int_eq(c.wr, 0);
	ck_assert_int_eq(ev_wants_write(ev, p[1]), 0);

	ck_assert_int_eq(ev_want_write(ev, p[1], 1), 0);
	ck_assert_int_eq(ev_wants_write(ev, p[1]), 1);
	/* Asked again: still on, and still one callback per iteration. */
	ck_assert_int_eq(ev_want_write(ev, p[1], 1), 0);
	ck_assert_int_eq(ev_wants_write(ev, p[1]), 1);
	ck_assert_int_eq(ev_run_once(ev, 100), 1);
	ck_assert_int_eq(ev_run_once(ev, 100), 1);
	ck_assert_int_eq(c.wr, 2);
	ck_assert_int_eq(c.last_fd, p[1]);

	ck_assert_int_eq(ev_want_write(ev, p[1], 0), 0);
	ck_assert_int_eq(ev_wants_write(ev, p[1]), 0);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(ev_run_once(ev, 0), 0);
	ck_assert_int_eq(c.wr, 2);
	ck_assert_int_eq(c.rd, 0);

	/* Turning read interest off as well takes the fd out of epoll; on
	 * again, write interest still works. */
	ck_assert_int_eq(ev_want_read(ev, p[1], 0), 0);
	ck_assert_int_eq(ev_run_once(ev, 0), 0);
	ck_assert_int_eq(ev_want_write(ev, p[1], 1), 0);
	ck_assert_int_eq(ev_run_once(ev, 100), 1);
	ck_assert_int_eq(c.wr, 3);
	/* Not watched: no interest. */
	ev_del_fd(ev, p[1]);
	ck_assert_int_eq(ev_wants_write(ev, p[1]), 0);
	ck_assert_int_eq(ev_wants_write(ev, -1), 0);
	ck_assert_int_eq(ev_wants_write(ev, 100000), 0);
	ev_free(ev);
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(test_want_read)
{
	struct ev *ev = ev_new();
	int p[2];
	make_pipe(p);
	struct fdcount c = { 0 };
	ck_assert_int_eq(ev_add_fd(ev, p[0], count_rd, NULL, &c), 0);
	ck_assert_int_eq(ev_want_read(ev, p[0], 0), 0);
	put_byte(p[1]);
	ck_assert_int_eq(ev_run_once(ev, 0), 0);
	ck_assert_int_eq(c.rd, 0);
	ck_assert_int_eq(ev_want_read(ev, p[0], 1), 0);
	ck_assert_int_eq(ev_run_once(ev, 100), 1);
	ck_assert_int_eq(c.rd, 1);
	ev_free(ev);
	close(p[0]);
	close(p[1]);
}
END_TEST

/* Two readable pipes in one batch; whichever callback runs first deletes
 * the other fd, closes it and puts a new readable pipe on the same number
 * with a new callback.  The event already fetched for the old fd must
 * reach neither the old callback nor the new one. */
struct delstate {
	int a, b;           /* the two read ends */
	int calls;
	int victim;
	int newcalls;
	int newwr;          /* write end of the replacement pipe */
};

static void new_rd(struct ev *ev, int fd, void *ctx)
{
	(void)ev;
	struct delstate *st = ctx;
	char b[8];
	(void)read(fd, b, sizeof(b));
	st->newcalls++;
}

static void del_other(struct ev *ev, int fd, void *ctx)
{
	struct delstate *st = ctx;
	char b[8];
	(void)read(fd, b, sizeof(b));
	st->calls++;
	int victim = fd == st->a ? st->b : st->a;
	st->victim = victim;
	ev_del_fd(ev, victim);
	close(victim);
	int np[2];
	make_pipe(np);
	/* Usually the lowest free number is victim's anyway; make sure. */
	if (np[0] != victim) {
		ck_assert_int_eq(dup2(np[0], victim), victim);
		close(np[0]);
	}
	st->newwr = np[1];
	put_byte(np[1]);
	ck_assert_int_eq(ev_add_fd(ev, victim, new_rd, NULL, st), 0);
}

START_TEST(test_del_in_callback)
{
	struct ev *ev = ev_new();
	int pa[2], pb[2];
	make_pipe(pa);
	make_pipe(pb);
	struct delstate st = { .a = pa[0], .b = pb[0], .newwr = -1 };
	ck_assert_int_eq(ev_add_fd(ev, pa[0], del_other, NULL, &st), 0);
	ck_assert_int_eq(ev_add_fd(ev, pb[0], del_other, NULL, &st), 0);
	put_byte(pa[1]);
	put_byte(pb[1]);

	ck_assert_int_eq(ev_run_once(ev, 100), 1);
	ck_assert_int_eq(st.calls, 1);
	ck_assert_int_eq(st.newcalls, 0);

	/* The replacement is live from the next iteration on. */
	ck_assert_int_eq(ev_run_once(ev, 100), 1);
	ck_assert_int_eq(st.newcalls, 1);
	ck_assert_int_eq(st.calls, 1);

	ev_free(ev);
	close(pa[0]);
	close(pa[1]);
	close(pb[0]);
	close(pb[1]);
	close(st.newwr);
}
END_TEST

/* A read callback that deletes its own fd stops its write callback in the
 * same event; one that grows the fd table must not upset the dispatch of
 * the write half. */
struct selfstate {
	int rd, wr;
	int del;
	int bigfd;
};

static void self_wr(struct ev *ev, int fd, void *ctx);

static void self_rd(struct ev *ev, int fd, void *ctx)
{
	struct selfstate *st = ctx;
	char b[8];
	(void)read(fd, b, sizeof(b));
	st->rd++;
	if (st->del == 1) {
		ev_del_fd(ev, fd);
	} else if (st->del == 2) {
		ev_want_write(ev, fd, 0);
	} else if (st->del == 3) {
		/* A new watcher on the same fd, wanting output: it starts
		 * with the next batch. */
		ev_del_fd(ev, fd);
		ck_assert_int_eq(ev_add_fd(ev, fd, self_rd, self_wr, st), 0);
		ck_assert_int_eq(ev_want_write(ev, fd, 1), 0);
	} else if (st->bigfd < 0) {
		st->bigfd = dup2(fd, 700);
		ck_assert_int_eq(st->bigfd, 700);
		ck_assert_int_eq(ev_add_fd(ev, st->bigfd, NULL, NULL, NULL), 0);
	}
}

static void self_wr(struct ev *ev, int fd, void *ctx)
{
	struct selfstate *st = ctx;
	st->wr++;
	ev_want_write(ev, fd, 0);
}

START_TEST(test_del_self)
{
	struct ev *ev = ev_new();
	int sv[2];
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);

	struct selfstate st = { .del = 0, .bigfd = -1 };
	ck_assert_int_eq(ev_add_fd(ev, sv[0], self_rd, self_wr, &st), 0);
	ck_assert_int_eq(ev_want_write(ev, sv[0], 1), 0);
	put_byte(sv[1]);
	ck_assert_int_eq(ev_run_once(ev, 100), 2);
	ck_assert_int_eq(st.rd, 1);
	ck_assert_int_eq(st.wr, 1);

	st.del = 1;
	ck_assert_int_eq(ev_want_write(ev, sv[0], 1), 0);
	put_byte(sv[1]);
	ck_assert_int_eq(ev_run_once(ev, 100), 1);
	ck_assert_int_eq(st.rd, 2);
	ck_assert_int_eq(st.wr, 1);
	ck_assert_int_eq(ev_run_once(ev, 0), 0);

	/* Write interest switched off by the read callback. */
	st.del = 2;
	ck_assert_int_eq(ev_add_fd(ev, sv[0], self_rd, self_wr, &st), 0);
	ck_assert_int_eq(ev_want_write(ev, sv[0], 1), 0);
	put_byte(sv[1]);
	ck_assert_int_eq(ev_run_once(ev, 100), 1);
	ck_assert_int_eq(st.rd, 3);
	ck_assert_int_eq(st.wr, 1);

	/* Deleted and watched again by the read callback. */
	st.del = 3;
	ck_assert_int_eq(ev_want_write(ev, sv[0], 1), 0);
	put_byte(sv[1]);
	ck_assert_int_eq(ev_run_once(ev, 100), 1);
	ck_assert_int_eq(st.rd, 4);
	ck_assert_int_eq(st.wr, 1);
	st.del = 0;
	ck_assert_int_eq(ev_run_once(ev, 100), 1);
	ck_assert_int_eq(st.wr, 2);

	ev_del_fd(ev, sv[0]);
	ev_del_fd(ev, st.bigfd);
	ev_free(ev);
	close(st.bigfd);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* ---- timers ---- */

struct tlog {
	char order[64];
	size_t n;
};

static void tlog_push(struct tlog *l, char c)
{
	if (l->n + 1 < sizeof(l->order))
		l->order[l->n++] = c;
	l->order[l->n] = 0;
}

struct tmark {
	struct tlog *log;
	char c;
};

static void mark_cb(struct ev *ev, void *ctx)
{
	(void)ev;
	struct tmark *m = ctx;
	tlog_push(m->log, m->c);
}

static void run_timers_out(struct ev *ev)
{
	for (int i = 0; i < 50 && ev_timer_count(ev); i++)
		ck_assert_int_ge(ev_run_once(ev, 20), 0);
	ck_assert_uint_eq(ev_timer_count(ev), 0);
}

START_TEST(test_timer_order)
{
	struct ev *ev = ev_new();
	struct tlog l = { .n = 0 };
	struct tmark m[7];
	const char *names = "abcdefg";
	for (int i = 0; i < 7; i++)
		m[i] = (struct tmark){ &l, names[i] };

	uint64_t t0 = ev_now_us(ev);
	uint64_t last = 0, id;
	/* Deadlines far enough apart that a slow run (valgrind) does not
	 * reorder them: outside the loop each add reads the clock anew. */
	id = ev_timer_add(ev, 50, mark_cb, &m[0]);         /* a */
	ck_assert_uint_gt(id, last);
	last = id;
	id = ev_timer_add(ev, 1, mark_cb, &m[1]);          /* b */
	ck_assert_uint_gt(id, last);
	last = id;
	id = ev_timer_add(ev, 1, mark_cb, &m[2]);          /* c */
	ck_assert_uint_gt(id, last);
	last = id;
	id = ev_timer_add(ev, 0, mark_cb, &m[3]);          /* d */
	ck_assert_uint_gt(id, last);
	ev_timer_add_us(ev, 1000, mark_cb, &m[4]);         /* e, = b and c */
	ev_timer_add_us(ev, 30000, mark_cb, &m[5]);        /* f */
	ev_timer_add(ev, 1, mark_cb, &m[6]);               /* g */
	ck_assert_uint_eq(ev_timer_count(ev), 7);

	run_timers_out(ev);
	ck_assert_str_eq(l.order, "dbcegfa");
	/* The last one was due 50 ms after the adds. */
	ck_assert_uint_ge(ev_now_us(ev) - t0, 50000);
	ev_free(ev);
}
END_TEST

START_TEST(test_timer_cancel)
{
	struct ev *ev = ev_new();
	struct tlog l = { .n = 0 };
	struct tmark ma = { &l, 'a' }, mb = { &l, 'b' }, mc = { &l, 'c' };
	uint64_t a = ev_timer_add(ev, 1, mark_cb, &ma);
	uint64_t b = ev_timer_add(ev, 0, mark_cb, &mb);
	uint64_t c = ev_timer_add(ev, 2, mark_cb, &mc);
	ck_assert_uint_ne(a, 0);
	ck_assert_uint_eq(ev_timer_count(ev), 3);

	ck_assert_int_eq(ev_timer_cancel(ev, a), 1);
	ck_assert_int_eq(ev_timer_cancel(ev, a), 0);
	ck_assert_uint_eq(ev_timer_count(ev), 2);
	ck_assert_int_eq(ev_timer_cancel(ev, 0), 0);
	ck_assert_int_eq(ev_timer_cancel(ev, c + 1000), 0);
	ck_assert_uint_eq(ev_timer_count(ev), 2);

	run_timers_out(ev);
	ck_assert_str_eq(l.order, "bc");
	/* Fired timers are no longer pending. */
	ck_assert_int_eq(ev_timer_cancel(ev, b), 0);
	ck_assert_int_eq(ev_timer_cancel(ev, c), 0);
	ev_free(ev);
}
END_TEST

/* A timer callback adds timers (one due at once) and cancels a pending,
 * already due timer. */
struct nest {
	struct ev *ev;
	struct tlog log;
	struct tmark child0, child1, victim;
	uint64_t victim_id;
	int cancelled;
};

static void parent_cb(struct ev *ev, void *ctx)
{
	struct nest *n = ctx;
	tlog_push(&n->log, 'p');
	ck_assert_uint_ne(ev_timer_add(ev, 0, mark_cb, &n->child0), 0);
	ck_assert_uint_ne(ev_timer_add(ev, 1, mark_cb, &n->child1), 0);
	n->cancelled = ev_timer_cancel(ev, n->victim_id);
}

START_TEST(test_timer_from_timer)
{
	struct ev *ev = ev_new();
	struct nest n = { .ev = ev };
	n.child0 = (struct tmark){ &n.log, '0' };
	n.child1 = (struct tmark){ &n.log, '1' };
	n.victim = (struct tmark){ &n.log, 'v' };
	ev_timer_add(ev, 0, parent_cb, &n);
	n.victim_id = ev_timer_add(ev, 0, mark_cb, &n.victim);

	/* The 0 ms child is due, but was added in this pass: next pass. */
	ck_assert_int_eq(ev_run_once(ev, 0), 1);
	ck_assert_str_eq(n.log.order, "p");
	ck_assert_int_eq(n.cancelled, 1);
	ck_assert_uint_eq(ev_timer_count(ev), 2);

	ck_assert_int_eq(ev_run_once(ev, 0), 1);
	ck_assert_str_eq(n.log.order, "p0");

	run_timers_out(ev);
	ck_assert_str_eq(n.log.order, "p01");
	ev_free(ev);
}
END_TEST

/* A timer that re-arms itself at 0 ms runs once per iteration and lets
 * each iteration end. */
static void rearm_cb(struct ev *ev, void *ctx)
{
	int *n = ctx;
	if (++*n < 1000)
		ev_timer_add(ev, 0, rearm_cb, ctx);
}

START_TEST(test_timer_rearm)
{
	struct ev *ev = ev_new();
	int n = 0;
	ev_timer_add(ev, 0, rearm_cb, &n);
	for (int i = 1; i <= 5; i++) {
		ck_assert_int_eq(ev_run_once(ev, 0), 1);
		ck_assert_int_eq(n, i);
		ck_assert_uint_eq(ev_timer_count(ev), 1);
	}
	ev_free(ev);
}
END_TEST

/* Many timers with colliding deadlines and random cancellations, to push
 * the heap and the id index through growth, sifts and deletions: each fires
 * once, in (deadline, insertion) order, and cancelled ones never do. */
#define NSTRESS 3000

struct stress {
	uint64_t deadline[NSTRESS];
	uint64_t id[NSTRESS];
	int cancelled[NSTRESS];
	int fired[NSTRESS];
	int order[NSTRESS];
	int nfired;
};

struct stress_ref {
	struct stress *s;
	int i;
};

static void stress_cb(struct ev *ev, void *ctx)
{
	(void)ev;
	struct stress_ref *r = ctx;
	r->s->fired[r->i]++;
	r->s->order[r->s->nfired++] = r->i;
}

/* The adds run inside one batch (a timer callback), where every timer
 * counts from the same cached time, so the expected order is exact. */
struct stress_setup {
	struct stress *s;
	struct stress_ref *refs;
	uint64_t base;
};

static void stress_add_cb(struct ev *ev, void *ctx)
{
	struct stress_setup *st = ctx;
	struct stress *s = st->s;
	uint32_t x = 12345;
	st->base = ev_now_us(ev);
	for (int i = 0; i < NSTRESS; i++) {
		x = x * 1103515245u + 12345u;
		uint64_t us = (x >> 16) % 40 * 50;     /* 0..1950 us, many ties */
		st->refs[i] = (struct stress_ref){ s, i };
		s->deadline[i] = st->base + us;
		s->id[i] = ev_timer_add_us(ev, us, stress_cb, &st->refs[i]);
		if (i > 0)
			ck_assert_uint_gt(s->id[i], s->id[i - 1]);
		/* Cancel some earlier timer now and then. */
		if (i % 3 == 2) {
			int j = (int)((x >> 8) % (uint32_t)(i + 1));
			int r = ev_timer_cancel(ev, s->id[j]);
			ck_assert_int_eq(r, !s->cancelled[j]);
			s->cancelled[j] = 1;
		}
	}
}

START_TEST(test_timer_stress)
{
	struct ev *ev = ev_new();
	struct stress *s = xcalloc(1, sizeof(*s));
	struct stress_ref *refs = xcalloc(NSTRESS, sizeof(*refs));
	struct stress_setup st = { s, refs, 0 };
	ev_timer_add(ev, 0, stress_add_cb, &st);
	while (st.base == 0)
		ev_run_once(ev, 10);
	int pending = 0;
	for (int i = 0; i < NSTRESS; i++)
		pending += !s->cancelled[i];
	ck_assert_uint_eq(ev_timer_count(ev), (uint64_t)pending);

	run_timers_out(ev);
	ck_assert_int_eq(s->nfired, pending);
	for (int i = 0; i < NSTRESS; i++)
		ck_assert_int_eq(s->fired[i], !s->cancelled[i]);
	for (int k = 1; k < s->nfired; k++) {
		int p = s->order[k - 1], q = s->order[k];
		ck_assert(s->deadline[p] < s->deadline[q] ||
		          (s->deadline[p] == s->deadline[q] && s->id[p] < s->id[q]));
	}
	free(refs);
	free(s);
	ev_free(ev);
}
END_TEST

START_TEST(test_timer_count)
{
	struct ev *ev = ev_new();
	struct tlog l = { .n = 0 };
	struct tmark m = { &l, 'x' };
	ck_assert_uint_eq(ev_timer_count(ev), 0);
	uint64_t a = ev_timer_add(ev, 0, mark_cb, &m);
	ev_timer_add(ev, 1000, mark_cb, &m);
	ev_timer_add_us(ev, 0, mark_cb, &m);
	ck_assert_uint_eq(ev_timer_count(ev), 3);
	ck_assert_int_eq(ev_timer_cancel(ev, a), 1);
	ck_assert_uint_eq(ev_timer_count(ev), 2);
	ck_assert_int_eq(ev_run_once(ev, 0), 1);
	ck_assert_uint_eq(ev_timer_count(ev), 1);
	/* Pending at ev_free: dropped without firing. */
	ev_free(ev);
	ck_assert_str_eq(l.order, "x");
}
END_TEST

/* The poll timeout is rounded up: a 300 us timer costs a couple of
 * iterations at most, not a spin of zero-timeout polls. */
START_TEST(test_timer_no_spin)
{
	struct ev *ev = ev_new();
	struct tlog l = { .n = 0 };
	struct tmark m = { &l, 'x' };
	ev_timer_add_us(ev, 300, mark_cb, &m);
	int iters = 0;
	while (ev_timer_count(ev) && iters < 100) {
		ck_assert_int_ge(ev_run_once(ev, -1), 0);
		iters++;
	}
	ck_assert_str_eq(l.order, "x");
	ck_assert_int_le(iters, 3);
	ev_free(ev);
}
END_TEST

/* ---- signals ---- */

struct sigstate {
	int calls;
	int signo;
};

static void on_signal(struct ev *ev, int signo, void *ctx)
{
	(void)ev;
	struct sigstate *s = ctx;
	s->calls++;
	s->signo = signo;
}

START_TEST(test_signal)
{
	struct ev *ev = ev_new();
	struct sigstate s = { 0 };
	ck_assert_int_eq(ev_signal(ev, SIGKILL, on_signal, &s), -1);
	ck_assert_int_eq(ev_signal(ev, 0, on_signal, &s), -1);
	ck_assert_int_eq(ev_signal(ev, SIGUSR1, on_signal, &s), 0);
	ck_assert_int_eq(ev_signal(ev, SIGUSR2, on_signal, &s), 0);

	ck_assert_int_eq(raise(SIGUSR1), 0);
	/* Still alive: the signal is a loop event, delivered in the loop. */
	ck_assert_int_eq(s.calls, 0);
	run_until(ev, &s.calls);
	ck_assert_int_eq(s.calls, 1);
	ck_assert_int_eq(s.signo, SIGUSR1);

	ck_assert_int_eq(raise(SIGUSR2), 0);
	for (int i = 0; i < 50 && s.calls < 2; i++)
		ev_run_once(ev, 10);
	ck_assert_int_eq(s.calls, 2);
	ck_assert_int_eq(s.signo, SIGUSR2);
	ev_free(ev);
}
END_TEST

/* ---- deferred frees, stop ---- */

struct obj {
	int magic;
	int *freed;
};

static struct ev *defer_ev;
static struct obj *chained;

static void obj_free(void *p)
{
	struct obj *o = p;
	ck_assert_int_eq(o->magic, 0x5eed);
	(*o->freed)++;
	o->magic = 0;
	free(o);
	/* A free function may defer more; it runs in the same flush. */
	if (chained) {
		struct obj *c = chained;
		chained = NULL;
		ev_defer_free(defer_ev, c, obj_free);
	}
}

struct deferstate {
	struct obj *o;
	int freed;
	int seen_alive;
};

static void defer_rd(struct ev *ev, int fd, void *ctx)
{
	struct deferstate *d = ctx;
	char b[8];
	(void)read(fd, b, sizeof(b));
	ev_defer_free(ev, d->o, obj_free);
	ev_del_fd(ev, fd);
	/* Still ours for the rest of the batch. */
	ck_assert_int_eq(d->o->magic, 0x5eed);
	ck_assert_int_eq(d->freed, 0);
	d->seen_alive++;
}

static void defer_timer(struct ev *ev, void *ctx)
{
	(void)ev;
	struct deferstate *d = ctx;
	ck_assert_int_eq(d->o->magic, 0x5eed);
	ck_assert_int_eq(d->freed, 0);
	d->seen_alive++;
}

static struct obj *obj_new(int *freed)
{
	struct obj *o = xmalloc(sizeof(*o));
	o->magic = 0x5eed;
	o->freed = freed;
	return o;
}

START_TEST(test_defer_free)
{
	struct ev *ev = ev_new();
	defer_ev = ev;
	int p[2];
	make_pipe(p);
	struct deferstate d = { 0 };
	d.o = obj_new(&d.freed);
	chained = obj_new(&d.freed);

	ck_assert_int_eq(ev_add_fd(ev, p[0], defer_rd, NULL, &d), 0);
	ev_timer_add(ev, 0, defer_timer, &d);
	put_byte(p[1]);
	/* Both the fd and the timer run in this iteration, then the frees. */
	ck_assert_int_eq(ev_run_once(ev, 100), 2);
	ck_assert_int_eq(d.seen_alive, 2);
	ck_assert_int_eq(d.freed, 2);
	ck_assert_ptr_null(chained);

	/* Pending at ev_free: run there. */
	ev_defer_free(ev, obj_new(&d.freed), obj_free);
	/* A NULL function means free(). */
	ev_defer_free(ev, xmalloc(32), NULL);
	ev_defer_free(ev, NULL, obj_free);
	ev_free(ev);
	ck_assert_int_eq(d.freed, 3);
	defer_ev = NULL;
	close(p[0]);
	close(p[1]);
}
END_TEST

static void stop_timer(struct ev *ev, void *ctx)
{
	(*(int *)ctx)++;
	ev_stop(ev);
}

static void stop_rd(struct ev *ev, int fd, void *ctx)
{
	char b[8];
	(void)read(fd, b, sizeof(b));
	(*(int *)ctx)++;
	ev_stop(ev);
}

START_TEST(test_stop)
{
	struct ev *ev = ev_new();
	int n = 0;
	ev_timer_add(ev, 2, stop_timer, &n);
	uint64_t t0 = now_us();
	ck_assert_int_eq(ev_run(ev), 0);
	ck_assert_int_eq(n, 1);
	ck_assert_uint_ge(now_us() - t0, 1000);
	ck_assert_uint_eq(ev_timer_count(ev), 0);

	/* The stop was used up: ev_run runs again, here until an fd event. */
	int p[2];
	make_pipe(p);
	ck_assert_int_eq(ev_add_fd(ev, p[0], stop_rd, NULL, &n), 0);
	put_byte(p[1]);
	ck_assert_int_eq(ev_run(ev), 0);
	ck_assert_int_eq(n, 2);

	/* Requested before ev_run: it returns without sleeping. */
	ev_stop(ev);
	ck_assert_int_eq(ev_run(ev), 0);
	ev_free(ev);
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(test_now)
{
	struct ev *ev = ev_new();
	uint64_t a = ev_now_us(ev);
	ck_assert_uint_gt(a, 0);
	/* Cached: unchanged between iterations. */
	usleep(2000);
	ck_assert_uint_eq(ev_now_us(ev), a);
	ev_run_once(ev, 0);
	ck_assert_uint_ge(ev_now_us(ev), a + 2000);
	ck_assert_uint_le(ev_now_us(ev), now_us());
	ev_free(ev);
}
END_TEST

/* A timer armed after long work outside the loop counts from when it was
 * armed, not from the loop's last cached time. */
static void stale_cb(struct ev *ev, void *ctx)
{
	(void)ev;
	(*(int *)ctx)++;
}

START_TEST(test_timer_after_work_outside_loop)
{
	struct ev *ev = ev_new();
	int fired = 0;
	ck_assert_ptr_nonnull(ev);
	ev_run_once(ev, 0);
	usleep(60000); /* "work" while the loop is not running */
	ev_timer_add(ev, 50, stale_cb, &fired);
	ev_run_once(ev, 0);
	ck_assert_int_eq(fired, 0);
	ev_free(ev);
}
END_TEST

Suite *suite_ev(void)
{
	Suite *s = suite_create("ev");
	TCase *tc = tcase_create("fd");
	tcase_add_test(tc, test_fd_read);
	tcase_add_test(tc, test_fd_add_errors);
	tcase_add_test(tc, test_want_write);
	tcase_add_test(tc, test_want_read);
	tcase_add_test(tc, test_del_in_callback);
	tcase_add_test(tc, test_del_self);
	suite_add_tcase(s, tc);

	tc = tcase_create("timer");
	tcase_add_test(tc, test_timer_order);
	tcase_add_test(tc, test_timer_cancel);
	tcase_add_test(tc, test_timer_from_timer);
	tcase_add_test(tc, test_timer_rearm);
	tcase_add_test(tc, test_timer_stress);
	tcase_add_test(tc, test_timer_count);
	tcase_add_test(tc, test_timer_no_spin);
	suite_add_tcase(s, tc);

	tc = tcase_create("loop");
	tcase_add_test(tc, test_signal);
	tcase_add_test(tc, test_defer_free);
	tcase_add_test(tc, test_stop);
	tcase_add_test(tc, test_now);
	tcase_add_test(tc, test_timer_after_work_outside_loop);
	suite_add_tcase(s, tc);
	return s;
}
