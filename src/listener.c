/* listener — see listener.h. */
#include "listener.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "log.h"
#include "ratelog.h"
#include "util.h"

struct listener {
	struct ev *ev;
	int fd;
	char what[48];
	listener_cb *cb;
	void *ctx;
	unsigned rest_ms;
	uint64_t t_rest;   /* the timer that ends a rest; 0 when watching */
	uint64_t rests;
	struct ratelog rl;
};

static void rest_over(struct ev *ev, void *ctx)
{
	struct listener *l = ctx;
	l->t_rest = 0;
	ev_want_read(ev, l->fd, 1);
}

static void listener_readable(struct ev *ev, int fd, void *ctx)
{
	struct listener *l = ctx;
	for (int i = 0; i < LISTENER_BURST; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int cfd = accept4(fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd >= 0) {
			l->cb(cfd, (struct sockaddr *)&ss, sl, l->ctx);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		/* EMFILE, ENFILE, ENOBUFS, ENOMEM, or worse: the connection
		 * stays pending, so the socket stays readable. */
		l->rests++;
		ratelog_warn(&l->rl, "%s: accept: %s (not accepting for %u ms)",
		             l->what, strerror(errno), l->rest_ms);
		ev_want_read(ev, fd, 0);
		l->t_rest = ev_timer_add(ev, l->rest_ms, rest_over, l);
		return;
	}
}

struct listener *listener_new(struct ev *ev, int fd, const char *what,
                              listener_cb *cb, void *ctx)
{
	struct listener *l = xcalloc(1, sizeof(*l));
	l->ev = ev;
	ratelog_init(&l->rl, ev);
	l->fd = fd;
	snprintf(l->what, sizeof(l->what), "%s", what);
	l->cb = cb;
	l->ctx = ctx;
	l->rest_ms = LISTENER_REST_MS;
	if (ev_add_fd(ev, fd, listener_readable, NULL, l) != 0) {
		free(l);
		return NULL;
	}
	return l;
}

void listener_free(struct listener *l)
{
	if (!l)
		return;
	if (l->t_rest)
		ev_timer_cancel(l->ev, l->t_rest);
	ratelog_stop(&l->rl);
	ev_del_fd(l->ev, l->fd);
	free(l);
}

void listener_set_rest(struct listener *l, unsigned ms)
{
	l->rest_ms = ms;
}

uint64_t listener_rests(const struct listener *l)
{
	return l->rests;
}

int listener_resting(const struct listener *l)
{
	return l->t_rest != 0;
}

uint64_t nofile_raise(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 0;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_cur;
}

uint64_t nofile_fit(uint64_t want, unsigned each, uint64_t reserve, uint64_t *nofile)
{
	*nofile = nofile_raise();
	if (!*nofile || *nofile >= want * each + reserve)
		return want;
	return *nofile > reserve + each ? (*nofile - reserve) / each : 1;
}
