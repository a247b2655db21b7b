/* ev — see ev.h.
 *
 * One iteration: epoll_wait (timeout from the nearest timer), fd callbacks,
 * due timers, deferred frees.
 *
 * Callbacks may add and delete fds, add and cancel timers and defer frees,
 * so nothing here holds a pointer into a growable array across a callback:
 * records are looked up again by index afterwards. */
#include "ev.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#define EV_BATCH 128

/* epoll_event.data.u64 of the signalfd.  Watched fds carry a generation in
 * the high half and the fd in the low half; an fd is a non-negative int,
 * so its half is never all ones and this value is never one of theirs. */
#define EV_SIGFD_TAG UINT64_MAX

struct ev_fdrec {
	ev_fd_cb *rd, *wr;
	void *ctx;
	/* Bumped by ev_del_fd: events already fetched for the old watcher
	 * carry the old generation and are dropped, even if the fd number
	 * has been added again in the meantime. */
	uint32_t gen;
	uint8_t used, rd_on, wr_on, in_epoll;
};

struct ev_timer {
	uint64_t deadline;      /* monotonic, us */
	uint64_t id;            /* also the insertion sequence */
	ev_timer_cb *cb;
	void *ctx;
};

struct ev_defer {
	void *ptr;
	ev_free_cb *fn;
};

struct ev {
	int epfd;
	int stop;
	int dispatching; /* inside a batch: timers count from the batch's time */
	uint64_t now;

	struct ev_fdrec *fds;   /* indexed by fd */
	size_t nfds;

	/* Binary min-heap on (deadline, id).  Ids only grow, so among equal
	 * deadlines the earlier-added timer is the smaller one. */
	struct ev_timer *heap;
	size_t nheap, capheap;
	uint64_t next_id;

	/* id -> heap position, for cancel.  Linear probing, 0 is the empty
	 * key (ids start at 1), kept at most half full. */
	uint64_t *ikey;
	size_t *ipos;
	size_t icap;            /* power of two */
	unsigned ishift;        /* 64 - log2(icap) */

	int sigfd;
	sigset_t sigmask;       /* signals read from sigfd */
	sigset_t sigunblock;    /* those that were not blocked before us */
	struct {
		ev_signal_cb *cb;
		void *ctx;
	} sig[NSIG];


	struct ev_defer *defer;
	size_t ndefer, capdefer;

	int ncalls;             /* callbacks run in this iteration */
	struct epoll_event events[EV_BATCH];
};

/* ---- timer index ---- */

static size_t idx_home(const struct ev *ev, uint64_t id)
{
	/* Fibonacci hashing: ids are consecutive, and multiplying spreads
	 * consecutive keys over the whole table. */
	return (size_t)((id * UINT64_C(0x9E3779B97F4A7C15)) >> ev->ishift);
}

static size_t idx_slot(const struct ev *ev, uint64_t id)
{
	size_t mask = ev->icap - 1;
	size_t i = idx_home(ev, id);
	while (ev->ikey[i] && ev->ikey[i] != id)
		i = (i + 1) & mask;
	return i;
}

static void idx_resize(struct ev *ev, size_t cap)
{
	uint64_t *okey = ev->ikey;
	size_t *opos = ev->ipos;
	size_t ocap = ev->icap;
	unsigned bits = 0;
	while (((size_t)1 << bits) < cap)
		bits++;
	ev->icap = (size_t)1 << bits;
	ev->ishift = 64 - bits;
	ev->ikey = xcalloc(ev->icap, sizeof(*ev->ikey));
	ev->ipos = xmalloc(ev->icap * sizeof(*ev->ipos));
	for (size_t i = 0; i < ocap; i++) {
		if (!okey[i])
			continue;
		size_t j = idx_slot(ev, okey[i]);
		ev->ikey[j] = okey[i];
		ev->ipos[j] = opos[i];
	}
	free(okey);
	free(opos);
}

static void idx_put(struct ev *ev, uint64_t id, size_t pos)
{
	/* nheap already counts the new timer; half full at most keeps the
	 * probe sequences short. */
	if (ev->nheap * 2 > ev->icap)
		idx_resize(ev, ev->icap * 2);
	size_t i = idx_slot(ev, id);
	ev->ikey[i] = id;
	ev->ipos[i] = pos;
}

/* Backward-shift deletion: no tombstones, so lookups of absent ids (cancel
 * of a timer that already fired) stay short however long the loop runs. */
static void idx_del_slot(struct ev *ev, size_t i)
{
	size_t mask = ev->icap - 1;
	for (size_t j = (i + 1) & mask; ev->ikey[j]; j = (j + 1) & mask) {
		size_t h = idx_home(ev, ev->ikey[j]);
		if (((j - h) & mask) >= ((j - i) & mask)) {
			ev->ikey[i] = ev->ikey[j];
			ev->ipos[i] = ev->ipos[j];
			i = j;
		}
	}
	ev->ikey[i] = 0;
}

/* ---- timer heap ---- */

static int timer_before(const struct ev_timer *a, const struct ev_timer *b)
{
	return a->deadline < b->deadline ||
	       (a->deadline == b->deadline && a->id < b->id);
}

static void heap_set(struct ev *ev, size_t pos, const struct ev_timer *t)
{
	ev->heap[pos] = *t;
	ev->ipos[idx_slot(ev, t->id)] = pos;
}

static void heap_sift(struct ev *ev, size_t pos)
{
	struct ev_timer t = ev->heap[pos];
	while (pos > 0) {
		size_t up = (pos - 1) / 2;
		if (!timer_before(&t, &ev->heap[up]))
			break;
		heap_set(ev, pos, &ev->heap[up]);
		pos = up;
	}
	for (;;) {
		size_t c = 2 * pos + 1;
		if (c >= ev->nheap)
			break;
		if (c + 1 < ev->nheap && timer_before(&ev->heap[c + 1], &ev->heap[c]))
			c++;
		if (!timer_before(&ev->heap[c], &t))
			break;
		heap_set(ev, pos, &ev->heap[c]);
		pos = c;
	}
	heap_set(ev, pos, &t);
}

/* Remove the timer at pos; its index entry must already be gone. */
static void heap_remove(struct ev *ev, size_t pos)
{
	ev->nheap--;
	if (pos == ev->nheap)
		return;
	ev->heap[pos] = ev->heap[ev->nheap];
	heap_sift(ev, pos);
}

/* ---- fds ---- */

static struct ev_fdrec *fd_rec(const struct ev *ev, int fd)
{
	if (fd < 0 || (size_t)fd >= ev->nfds || !ev->fds[fd].used)
		return NULL;
	return &ev->fds[fd];
}

/* Bring the epoll registration in line with the wanted interest.  An fd
 * with no interest is taken out of epoll altogether: epoll reports
 * EPOLLHUP and EPOLLERR even for an empty event mask, and a hung-up fd
 * nobody wants to hear from would wake the loop forever. */
static int fd_sync(struct ev *ev, int fd)
{
	struct ev_fdrec *r = &ev->fds[fd];
	struct epoll_event ee;
	memset(&ee, 0, sizeof(ee));
	if (r->rd_on && r->rd)
		ee.events |= EPOLLIN;
	if (r->wr_on && r->wr)
		ee.events |= EPOLLOUT;
	ee.data.u64 = (uint64_t)r->gen << 32 | (uint32_t)fd;
	if (!ee.events) {
		if (r->in_epoll && epoll_ctl(ev->epfd, EPOLL_CTL_DEL, fd, NULL) < 0)
			return -1;
		r->in_epoll = 0;
		return 0;
	}
	if (epoll_ctl(ev->epfd, r->in_epoll ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ee) < 0)
		return -1;
	r->in_epoll = 1;
	return 0;
}

int ev_add_fd(struct ev *ev, int fd, ev_fd_cb *rd, ev_fd_cb *wr, void *ctx)
{
	if (fd < 0) {
		errno = EBADF;
		return -1;
	}
	if ((size_t)fd >= ev->nfds) {
		size_t n = ev->nfds ? ev->nfds : 64;
		while (n <= (size_t)fd)
			n *= 2;
		ev->fds = xrealloc(ev->fds, n * sizeof(*ev->fds));
		memset(ev->fds + ev->nfds, 0, (n - ev->nfds) * sizeof(*ev->fds));
		ev->nfds = n;
	}
	struct ev_fdrec *r = &ev->fds[fd];
	if (r->used) {
		errno = EEXIST;
		return -1;
	}
	r->rd = rd;
	r->wr = wr;
	r->ctx = ctx;
	r->rd_on = 1;
	r->wr_on = 0;
	r->in_epoll = 0;
	if (fd_sync(ev, fd) < 0)
		return -1;
	r->used = 1;
	return 0;
}

static int fd_want(struct ev *ev, int fd, int wr, int on)
{
	struct ev_fdrec *r = fd_rec(ev, fd);
	if (!r) {
		errno = ENOENT;
		return -1;
	}
	uint8_t *flag = wr ? &r->wr_on : &r->rd_on;
	uint8_t old = *flag;
	if (old == !!on)
		return 0;
	*flag = !!on;
	if (fd_sync(ev, fd) < 0) {
		*flag = old;
		return -1;
	}
	return 0;
}

int ev_want_read(struct ev *ev, int fd, int on)
{
	return fd_want(ev, fd, 0, on);
}

int ev_want_write(struct ev *ev, int fd, int on)
{
	return fd_want(ev, fd, 1, on);
}

int ev_wants_write(const struct ev *ev, int fd)
{
	const struct ev_fdrec *r = fd_rec(ev, fd);
	return r && r->wr_on;
}

void ev_del_fd(struct ev *ev, int fd)
{
	struct ev_fdrec *r = fd_rec(ev, fd);
	if (!r)
		return;
	/* Fails harmlessly if the caller closed fd first: closing already
	 * took it out of the epoll set. */
	if (r->in_epoll)
		(void)epoll_ctl(ev->epfd, EPOLL_CTL_DEL, fd, NULL);
	r->gen++;
	r->used = 0;
	r->in_epoll = 0;
	r->rd = r->wr = NULL;
	r->ctx = NULL;
}

static void fd_dispatch(struct ev *ev, const struct epoll_event *ee)
{
	int fd = (int)(uint32_t)ee->data.u64;
	uint32_t gen = (uint32_t)(ee->data.u64 >> 32);
	/* Errors and hangups go to both sides that listen: the reader sees
	 * EOF or the error from read(), the writer from write(). */
	uint32_t in = ee->events & (EPOLLIN | EPOLLHUP | EPOLLERR);
	uint32_t out = ee->events & (EPOLLOUT | EPOLLHUP | EPOLLERR);

	struct ev_fdrec *r = fd_rec(ev, fd);
	if (in && r && r->gen == gen && r->rd_on && r->rd) {
		ev->ncalls++;
		r->rd(ev, fd, r->ctx);
	}
	/* The read callback may have deleted fd, re-added it, switched write
	 * interest off or grown the table. */
	r = fd_rec(ev, fd);
	if (out && r && r->gen == gen && r->wr_on && r->wr) {
		ev->ncalls++;
		r->wr(ev, fd, r->ctx);
	}
}

/* ---- timers ---- */

uint64_t ev_timer_add_us(struct ev *ev, uint64_t us, ev_timer_cb *cb, void *ctx)
{
	struct ev_timer t;
	/* Inside a batch, from the batch's cached time, so timers armed by
	 * one batch keep their relative order.  Outside the loop, from the
	 * real clock: a timer armed after long work before the loop runs
	 * (start-up) would otherwise be due the moment it is added. */
	uint64_t base = ev->now;
	if (!ev->dispatching) {
		base = now_us();
		if (base < ev->now)
			base = ev->now;
	}
	t.deadline = us > UINT64_MAX - base ? UINT64_MAX : base + us;
	t.id = ev->next_id++;
	t.cb = cb;
	t.ctx = ctx;
	if (ev->nheap == ev->capheap) {
		ev->capheap = ev->capheap ? ev->capheap * 2 : 16;
		ev->heap = xrealloc(ev->heap, ev->capheap * sizeof(*ev->heap));
	}
	size_t pos = ev->nheap++;
	ev->heap[pos] = t;
	idx_put(ev, t.id, pos);
	heap_sift(ev, pos);
	return t.id;
}

uint64_t ev_timer_add(struct ev *ev, uint64_t ms, ev_timer_cb *cb, void *ctx)
{
	uint64_t us = ms > UINT64_MAX / 1000 ? UINT64_MAX : ms * 1000;
	return ev_timer_add_us(ev, us, cb, ctx);
}

int ev_timer_cancel(struct ev *ev, uint64_t id)
{
	if (!id || !ev->nheap)
		return 0;
	size_t i = idx_slot(ev, id);
	if (!ev->ikey[i])
		return 0;
	size_t pos = ev->ipos[i];
	idx_del_slot(ev, i);
	heap_remove(ev, pos);
	return 1;
}

uint64_t ev_timer_count(const struct ev *ev)
{
	return ev->nheap;
}

static void timers_run(struct ev *ev)
{
	/* Only timers that existed when the pass began: one added now is at
	 * best due at ev->now, and would otherwise fire in this same pass —
	 * a timer that re-arms itself with 0 ms would never let the loop
	 * sleep.  Every older due timer sorts before any newer one. */
	uint64_t limit = ev->next_id;
	while (ev->nheap && ev->heap[0].deadline <= ev->now && ev->heap[0].id < limit) {
		struct ev_timer t = ev->heap[0];
		idx_del_slot(ev, idx_slot(ev, t.id));
		heap_remove(ev, 0);
		if (t.cb) {
			ev->ncalls++;
			t.cb(ev, t.ctx);
		}
	}
}

/* Milliseconds until the nearest timer, rounded up so that a timer due in
 * a fraction of a millisecond does not turn into a run of zero-timeout
 * polls.  -1 with no timers. */
static int timers_timeout(const struct ev *ev)
{
	if (!ev->nheap)
		return -1;
	uint64_t t = now_us();
	uint64_t d = ev->heap[0].deadline;
	if (d <= t)
		return 0;
	uint64_t ms = (d - t + 999) / 1000;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

/* ---- signals ---- */

int ev_signal(struct ev *ev, int signo, ev_signal_cb *cb, void *ctx)
{
	if (signo <= 0 || signo >= NSIG || signo == SIGKILL || signo == SIGSTOP || !cb) {
		errno = EINVAL;
		return -1;
	}
	sigset_t one, old, mask = ev->sigmask;
	sigemptyset(&one);
	sigaddset(&one, signo);
	sigaddset(&mask, signo);
	/* Blocked first, so no instance slips through to the default action
	 * between now and the signalfd taking over. */
	if (sigprocmask(SIG_BLOCK, &one, &old) < 0)
		return -1;
	int fd = signalfd(ev->sigfd, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd >= 0 && ev->sigfd < 0) {
		struct epoll_event ee;
		memset(&ee, 0, sizeof(ee));
		ee.events = EPOLLIN;
		ee.data.u64 = EV_SIGFD_TAG;
		if (epoll_ctl(ev->epfd, EPOLL_CTL_ADD, fd, &ee) < 0) {
			int e = errno;
			close(fd);
			errno = e;
			fd = -1;
		}
	}
	if (fd < 0) {
		int e = errno;
		if (!sigismember(&old, signo))
			sigprocmask(SIG_UNBLOCK, &one, NULL);
		errno = e;
		return -1;
	}
	ev->sigfd = fd;
	ev->sigmask = mask;
	if (!sigismember(&old, signo))
		sigaddset(&ev->sigunblock, signo);
	ev->sig[signo].cb = cb;
	ev->sig[signo].ctx = ctx;
	return 0;
}

static void sig_dispatch(struct ev *ev)
{
	struct signalfd_siginfo si[16];
	for (;;) {
		ssize_t n = read(ev->sigfd, si, sizeof(si));
		if (n <= 0)
			return;   /* EAGAIN: drained; EINTR: the next wait retries */
		for (size_t i = 0; i < (size_t)n / sizeof(si[0]); i++) {
			uint32_t s = si[i].ssi_signo;
			if (s < NSIG && ev->sig[s].cb) {
				ev->ncalls++;
				ev->sig[s].cb(ev, (int)s, ev->sig[s].ctx);
			}
		}
	}
}

/* ---- deferred frees ---- */

void ev_defer_free(struct ev *ev, void *ptr, ev_free_cb *fn)
{
	if (!ptr)
		return;
	if (ev->ndefer == ev->capdefer) {
		ev->capdefer = ev->capdefer ? ev->capdefer * 2 : 16;
		ev->defer = xrealloc(ev->defer, ev->capdefer * sizeof(*ev->defer));
	}
	ev->defer[ev->ndefer].ptr = ptr;
	ev->defer[ev->ndefer].fn = fn ? fn : free;
	ev->ndefer++;
}

static void defer_flush(struct ev *ev)
{
	/* ndefer is re-read every round: a free function may defer more
	 * (a connection freeing its peer), and those run in this flush too. */
	for (size_t i = 0; i < ev->ndefer; i++) {
		struct ev_defer d = ev->defer[i];
		d.fn(d.ptr);
	}
	ev->ndefer = 0;
	/* Give back the memory of a burst (a mass disconnect) rather than
	 * keep the high-water mark for the life of the process. */
	if (ev->capdefer > 1024) {
		free(ev->defer);
		ev->defer = NULL;
		ev->capdefer = 0;
	}
}

/* ---- the loop ---- */

struct ev *ev_new(void)
{
	int epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		return NULL;
	struct ev *ev = xcalloc(1, sizeof(*ev));
	ev->epfd = epfd;
	ev->sigfd = -1;
	sigemptyset(&ev->sigmask);
	sigemptyset(&ev->sigunblock);
	ev->next_id = 1;
	idx_resize(ev, 16);
	ev->now = now_us();
	return ev;
}

void ev_free(struct ev *ev)
{
	if (!ev)
		return;
	defer_flush(ev);
	if (ev->sigfd >= 0) {
		/* Swallow what is pending: with the handlers gone, unblocking
		 * would hand it to the default action (usually termination). */
		struct signalfd_siginfo si[16];
		while (read(ev->sigfd, si, sizeof(si)) > 0)
			;
		close(ev->sigfd);
		sigprocmask(SIG_UNBLOCK, &ev->sigunblock, NULL);
	}
	close(ev->epfd);
	free(ev->fds);
	free(ev->heap);
	free(ev->ikey);
	free(ev->ipos);
	free(ev->defer);
	free(ev);
}

int ev_run_once(struct ev *ev, int timeout_ms)
{
	ev->ncalls = 0;

	int t = timers_timeout(ev);
	if (t < 0 || (timeout_ms >= 0 && timeout_ms < t))
		t = timeout_ms;
	if (ev->stop)
		t = 0;   /* stopped already: finish this pass, don't sleep */

	int n = epoll_wait(ev->epfd, ev->events, EV_BATCH, t);
	if (n < 0) {
		if (errno != EINTR)
			return -1;
		n = 0;
	}
	ev->now = now_us();

	ev->dispatching = 1;
	for (int i = 0; i < n; i++) {
		if (ev->events[i].data.u64 == EV_SIGFD_TAG)
			sig_dispatch(ev);
		else
			fd_dispatch(ev, &ev->events[i]);
	}
	timers_run(ev);
	defer_flush(ev);
	ev->dispatching = 0;
	return ev->ncalls;
}

int ev_run(struct ev *ev)
{
	int rc = 0;
	while (!ev->stop) {
		if (ev_run_once(ev, -1) < 0) {
			rc = -1;
			break;
		}
	}
	/* The request is used up: a later ev_run runs again. */
	ev->stop = 0;
	return rc;
}

void ev_stop(struct ev *ev)
{
	ev->stop = 1;
}

void ev_stop_on_signal(struct ev *ev, int signo, void *ctx)
{
	(void)ctx;
	log_info("signal %d: shutting down", signo);
	ev_stop(ev);
}

uint64_t ev_now_us(const struct ev *ev)
{
	return ev->now;
}
