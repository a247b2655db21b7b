/* ctl — see ctl.h.  A control connection's states:
 *
 *   reading   waiting for the request line (at most CTL_REQUEST_MS)
 *   writing   the answer is built; it goes out as the socket takes it
 *             (at most CTL_ANSWER_MS)
 *   draining  a bad request's answer is out and our side shut: what the
 *             peer still sends is read and dropped until it closes (at
 *             most CONN_DRAIN_MAX bytes, within CTL_ANSWER_MS of the
 *             answer), so that a peer still writing a too-long request
 *             does not fail on a closed socket before it reads why
 *             (show.sh: socat, writing 5,000 bytes in two pieces, died
 *             of EPIPE on the second and printed nothing)
 *   closed    the socket is closed; the struct is freed after the batch
 *
 * Every change goes through conn_set_state, which logs "old -> new". */
#include "ctl.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ev.h"
#include "list.h"
#include "listener.h"
#include "log.h"
#include "ratelog.h"
#include "util.h"

/* A reader that never reads pins at most this much kernel memory per
 * connection (the kernel doubles it); the rest of the answer waits in
 * our own bounded buffer until CTL_ANSWER_MS. */
#define CONN_SNDBUF (32 * 1024)
/* What a peer may still send after its bad request (draining). */
#define CONN_DRAIN_MAX (64 * 1024)

/* ---- the request parser ---- */

void ctl_parser_init(struct ctl_parser *p)
{
	memset(p, 0, sizeof(*p));
}

static void parser_bad(struct ctl_parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void parser_bad(struct ctl_parser *p, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->why, sizeof(p->why), fmt, ap);
	va_end(ap);
	p->req = CTL_REQ_BAD;
}

static int blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static void parser_line(struct ctl_parser *p)
{
	size_t a = 0, z = p->len;
	while (a < z && blank(p->line[a]))
		a++;
	while (z > a && blank(p->line[z - 1]))
		z--;
	size_t n = z - a;
	const char *w = p->line + a;
	if (n == 4 && !memcmp(w, "show", 4)) {
		p->req = CTL_REQ_SHOW;
	} else if (n == 7 && !memcmp(w, "metrics", 7)) {
		p->req = CTL_REQ_METRICS;
	} else if (n == 0) {
		parser_bad(p, "empty request (show or metrics)");
	} else {
		/* Echoed for the one who sent it: printable by construction,
		 * but a tab or CR inside would garble the error line. */
		char shown[CTL_REQ_MAX];
		for (size_t i = 0; i < n; i++)
			shown[i] = blank(w[i]) ? ' ' : w[i];
		shown[n] = 0;
		parser_bad(p, "unknown request '%s' (show or metrics)", shown);
	}
}

enum ctl_req ctl_parser_feed(struct ctl_parser *p, const void *buf, size_t n)
{
	const unsigned char *b = buf;
	for (size_t i = 0; i < n && p->req == CTL_REQ_MORE; i++) {
		unsigned char c = b[i];
		if (c == '\n')
			parser_line(p);
		else if ((c < 0x20 || c > 0x7e) && !blank((char)c))
			parser_bad(p, "byte 0x%02x in the request (printable ASCII only)", c);
		else if (p->len == CTL_REQ_MAX - 1)
			parser_bad(p, "request longer than %d bytes", CTL_REQ_MAX - 1);
		else
			p->line[p->len++] = (char)c;
	}
	return p->req;
}

enum ctl_req ctl_parser_end(struct ctl_parser *p)
{
	if (p->req != CTL_REQ_MORE)
		return p->req;
	if (p->len == 0)
		parser_bad(p, "no request before the end of input");
	else
		parser_line(p);
	return p->req;
}

/* ---- answers ---- */

void ctl_buf_init(struct ctl_buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void ctl_buf_free(struct ctl_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static void buf_vappend(struct ctl_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
static void buf_vappend(struct ctl_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	if (b->cut)
		return;
	va_copy(ap2, ap);
	int need = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (need < 0 || b->len + (size_t)need > b->max) {
		b->cut = 1;
		return;
	}
	if (b->len + (size_t)need + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		while (cap < b->len + (size_t)need + 1)
			cap *= 2;
		if (cap > b->max + 1)
			cap = b->max + 1;
		b->p = xrealloc(b->p, cap);
		b->cap = cap;
	}
	vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	b->len += (size_t)need;
}

void ctl_printf(struct ctl_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	buf_vappend(b, fmt, ap);
	va_end(ap);
}

/* The line that ends a cut answer goes beyond max (by a bound of its
 * own): the reader must learn that it did not get everything. */
static void buf_note_cut(struct ctl_buf *b)
{
	size_t was = b->len;
	b->cut = 0;
	b->max += 128;
	ctl_printf(b, "error: answer cut at %zu bytes\n", was);
}

const char *ctl_duration(uint64_t s, char *buf, size_t n)
{
	if (s < 60)
		snprintf(buf, n, "%llu s", (unsigned long long)s);
	else if (s < 3600)
		snprintf(buf, n, "%llu min %llu s", (unsigned long long)(s / 60),
		         (unsigned long long)(s % 60));
	else if (s < 86400)
		snprintf(buf, n, "%llu h %llu min", (unsigned long long)(s / 3600),
		         (unsigned long long)(s % 3600 / 60));
	else
		snprintf(buf, n, "%llu d %llu h", (unsigned long long)(s / 86400),
		         (unsigned long long)(s % 86400 / 3600));
	return buf;
}

void ctl_stats_log(struct ctl_buf *b, const struct ctl_stat *s, const double *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int first = i == 0 && b->len == 0;
		int opens = s[i].group && (i == 0 || !s[i - 1].group ||
		                           strcmp(s[i - 1].group, s[i].group));
		int closes = s[i].group && (i + 1 == n || !s[i + 1].group ||
		                            strcmp(s[i + 1].group, s[i].group));
		if (opens)
			ctl_printf(b, "%s%s{", first ? "" : " ", s[i].group);
		else if (!first)
			ctl_printf(b, " ");
		ctl_printf(b, "%s=%.*f%s", s[i].name, s[i].prec, v[i], closes ? "}" : "");
	}
}

void ctl_stats_show(struct ctl_buf *b, const struct ctl_stat *s, const double *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!s[i].group) {
			ctl_printf(b, "  %s: %.*f\n", s[i].name, s[i].prec, v[i]);
			continue;
		}
		int opens = i == 0 || !s[i - 1].group || strcmp(s[i - 1].group, s[i].group);
		int closes = i + 1 == n || !s[i + 1].group || strcmp(s[i + 1].group, s[i].group);
		if (opens)
			ctl_printf(b, "  %s: ", s[i].group);
		ctl_printf(b, "%s %.*f%s", s[i].name, s[i].prec, v[i], closes ? "\n" : ", ");
	}
}

/* # HELP text: backslash and newline escaped, the rest as it is. */
static void put_help(struct ctl_buf *b, const char *h)
{
	for (;;) {
		size_t plain = strcspn(h, "\\\n");
		ctl_printf(b, "%.*s", (int)plain, h);
		h += plain;
		if (!*h)
			return;
		ctl_printf(b, "%s", *h == '\n' ? "\\n" : "\\\\");
		h++;
	}
}

void ctl_metric_head(struct ctl_buf *b, const char *metric, enum ctl_type t, const char *help)
{
	ctl_printf(b, "# HELP mixproxy_%s ", metric);
	put_help(b, help ? help : metric);
	ctl_printf(b, "\n# TYPE mixproxy_%s %s\n", metric, t == CTL_COUNTER ? "counter" : "gauge");
}

void ctl_metric(struct ctl_buf *b, const char *metric, const char *labels, const char *extra,
                double v, int prec)
{
	int l = labels && *labels, x = extra && *extra;
	ctl_printf(b, "mixproxy_%s", metric);
	if (l || x)
		ctl_printf(b, "{%s%s%s}", l ? labels : "", l && x ? "," : "", x ? extra : "");
	/* The format's floats are Go's: NaN and +Inf are spelled so. */
	if (isnan(v))
		ctl_printf(b, " NaN\n");
	else if (isinf(v))
		ctl_printf(b, " %cInf\n", v > 0 ? '+' : '-');
	else
		ctl_printf(b, " %.*f\n", prec, v);
}

void ctl_stats_metrics(struct ctl_buf *b, const char *labels, const struct ctl_stat *s,
                       const double *v, size_t n)
{
	/* All samples of a family must follow its head, uninterrupted: a
	 * family is written whole where its first member stands. */
	for (size_t i = 0; i < n; i++) {
		size_t j;
		for (j = 0; j < i && strcmp(s[j].metric, s[i].metric); j++)
			;
		if (j < i)
			continue;
		ctl_metric_head(b, s[i].metric, s[i].type, s[i].help);
		for (j = i; j < n; j++)
			if (!strcmp(s[j].metric, s[i].metric))
				ctl_metric(b, s[j].metric, labels, s[j].label, v[j], s[j].prec);
	}
}

const char *ctl_label(char *out, size_t n, const char *key, const char *value)
{
	size_t o = 0;
	int w = snprintf(out, n, "%s=\"", key);
	if (w < 0 || (size_t)w + 2 > n) {
		if (n)
			out[0] = 0;
		return out;
	}
	o = (size_t)w;
	for (const char *c = value; *c; c++) {
		const char *e = *c == '\\' ? "\\\\" : *c == '"' ? "\\\"" : *c == '\n' ? "\\n" : NULL;
		size_t k = e ? 2 : 1;
		if (o + k + 2 > n)
			break;
		if (e)
			memcpy(out + o, e, 2);
		else
			out[o] = *c;
		o += k;
	}
	out[o++] = '"';
	out[o] = 0;
	return out;
}

void ctl_labels(char *out, size_t n, const char *role, const char *id)
{
	char a[64], b[256];
	ctl_label(a, sizeof(a), "role", role);
	ctl_label(b, sizeof(b), "id", id);
	if ((size_t)snprintf(out, n, "%s,%s", a, b) >= n && n)
		snprintf(out, n, "%s", a);
}

void ctl_metrics_common(struct ctl_buf *b, const char *labels, uint64_t uptime_s,
                        const char *profile)
{
	char extra[128], pl[64];
	ctl_label(extra, sizeof(extra), "version", MIXPROXY_VERSION);
	if (profile) {
		size_t len = strlen(extra);
		snprintf(extra + len, sizeof(extra) - len, ",%s",
		         ctl_label(pl, sizeof(pl), "profile", profile));
	}
	ctl_metric_head(b, "info", CTL_GAUGE, "The daemon's version and profile (always 1).");
	ctl_metric(b, "info", labels, extra, 1, 0);
	ctl_metric_head(b, "uptime_seconds", CTL_GAUGE, "Seconds since the daemon started.");
	ctl_metric(b, "uptime_seconds", labels, NULL, (double)uptime_s, 0);
}

/* ---- the daemon's side ---- */

enum conn_state { CS_READING, CS_WRITING, CS_DRAINING, CS_CLOSED };

static const char *const conn_state_names[] = { "reading", "writing", "draining", "closed" };

struct ctl_conn {
	struct ctl *c;
	struct list node;      /* in c->conns */
	int fd;
	unsigned id;           /* for log lines */
	enum conn_state st;
	struct ctl_parser p;
	struct ctl_buf out;
	size_t off;            /* bytes of out written */
	size_t drained;        /* bytes dropped while draining */
	uint64_t timer;
};

struct ctl {
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int fd;
	dev_t dev;             /* the socket file we made: removed at exit only */
	ino_t ino;             /* if it is still that one */
	struct ev *ev;
	ctl_answer_cb *cb;
	void *ctx;
	struct list conns;
	unsigned nconns, next_id;
	struct listener *listener; /* once served */
	unsigned request_ms, answer_ms, pause_ms;
	struct ratelog rl;
};

static void conn_set_state(struct ctl_conn *cn, enum conn_state st, const char *why)
{
	if (cn->st == st)
		return;
	log_debug("control %u: %s -> %s%s%s", cn->id, conn_state_names[cn->st],
	          conn_state_names[st], why ? ": " : "", why ? why : "");
	cn->st = st;
}

static void conn_free(void *p)
{
	struct ctl_conn *cn = p;
	ctl_buf_free(&cn->out);
	free(cn);
}

/* Close and forget the connection; the struct goes after the batch (its
 * own callback may be up the stack). */
static void conn_close(struct ctl_conn *cn, const char *why)
{
	struct ctl *c = cn->c;
	if (cn->st == CS_CLOSED)
		return;
	conn_set_state(cn, CS_CLOSED, why);
	ev_timer_cancel(c->ev, cn->timer);
	ev_del_fd(c->ev, cn->fd);
	close(cn->fd);
	cn->fd = -1;
	list_remove(&cn->node);
	c->nconns--;
	ev_defer_free(c->ev, cn, conn_free);
}

static void conn_write(struct ev *ev, int fd, void *ctx)
{
	struct ctl_conn *cn = ctx;
	while (cn->off < cn->out.len) {
		ssize_t w = send(fd, cn->out.p + cn->off, cn->out.len - cn->off,
		                 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0) {
			cn->off += (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			ev_want_write(ev, fd, 1);
			return;
		}
		conn_close(cn, w < 0 ? strerror(errno) : "write failed");
		return;
	}
	if (cn->p.req != CTL_REQ_BAD) {
		conn_close(cn, "answered");
		return;
	}
	/* The answer's timer goes on: it bounds the draining too. */
	shutdown(fd, SHUT_WR);
	ev_want_write(ev, fd, 0);
	ev_want_read(ev, fd, 1);
	conn_set_state(cn, CS_DRAINING, "bad request answered");
}

static void conn_timeout(struct ev *ev, void *ctx)
{
	struct ctl_conn *cn = ctx;
	(void)ev;
	cn->timer = 0;
	if (cn->st == CS_READING) {
		char msg[64];
		int n = snprintf(msg, sizeof(msg), "error: no request within %u ms\n",
		                 cn->c->request_ms);
		/* Best effort: one non-blocking send into an empty socket
		 * buffer, which takes it unless the peer is gone. */
		(void)send(cn->fd, msg, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
		ratelog_warn(&cn->c->rl, "control socket: no request within %u ms: closed",
		             cn->c->request_ms);
		conn_close(cn, "no request in time");
	} else if (cn->st == CS_DRAINING) {
		conn_close(cn, "drained long enough");
	} else {
		ratelog_warn(&cn->c->rl, "control socket: answer not taken within %u ms: closed",
		             cn->c->answer_ms);
		conn_close(cn, "answer not taken in time");
	}
}

static void conn_answer(struct ctl_conn *cn)
{
	struct ctl *c = cn->c;
	ctl_buf_init(&cn->out, CTL_ANSWER_MAX);
	if (cn->p.req == CTL_REQ_BAD) {
		ratelog_warn(&c->rl, "control socket: bad request: %s", cn->p.why);
		ctl_printf(&cn->out, "error: %s\n", cn->p.why);
	} else {
		c->cb(cn->p.req, &cn->out, c->ctx);
		if (cn->out.cut)
			buf_note_cut(&cn->out);
	}
	ev_want_read(c->ev, cn->fd, 0);
	ev_timer_cancel(c->ev, cn->timer);
	cn->timer = ev_timer_add(c->ev, c->answer_ms, conn_timeout, cn);
	conn_set_state(cn, CS_WRITING, cn->p.req == CTL_REQ_BAD ? "bad request" :
	               cn->p.req == CTL_REQ_SHOW ? "show" : "metrics");
	conn_write(c->ev, cn->fd, cn);
}

static void conn_drain(struct ctl_conn *cn)
{
	char buf[4096];
	for (;;) {
		ssize_t r = recv(cn->fd, buf, sizeof(buf), 0);
		if (r > 0) {
			cn->drained += (size_t)r;
			if (cn->drained > CONN_DRAIN_MAX) {
				conn_close(cn, "more than it may send after a bad request");
				return;
			}
		} else if (r < 0 && errno == EINTR) {
			continue;
		} else if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			return;
		} else {
			conn_close(cn, r == 0 ? "closed by the peer" : strerror(errno));
			return;
		}
	}
}

static void conn_read(struct ev *ev, int fd, void *ctx)
{
	struct ctl_conn *cn = ctx;
	(void)ev;
	if (cn->st == CS_DRAINING) {
		conn_drain(cn);
		return;
	}
	/* The parser decides within CTL_REQ_MAX bytes: this loop reads
	 * at most twice that before an answer or an error. */
	while (cn->st == CS_READING) {
		char buf[CTL_REQ_MAX];
		ssize_t r = recv(fd, buf, sizeof(buf), 0);
		enum ctl_req req;
		if (r > 0) {
			req = ctl_parser_feed(&cn->p, buf, (size_t)r);
		} else if (r == 0) {
			req = ctl_parser_end(&cn->p);
		} else if (errno == EINTR) {
			continue;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			return;
		} else {
			conn_close(cn, strerror(errno));
			return;
		}
		if (req != CTL_REQ_MORE)
			conn_answer(cn);
	}
}

static void on_accept(int fd, const struct sockaddr *sa, socklen_t sl, void *ctx)
{
	struct ctl *c = ctx;
	(void)sa;
	(void)sl;
	if (c->nconns >= CTL_MAX_CONNS) {
		static const char msg[] = "error: busy: too many control connections\n";
		(void)send(fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		close(fd);
		ratelog_warn(&c->rl, "control socket: %d connections open: one more refused",
		             CTL_MAX_CONNS);
		return;
	}
	int sndbuf = CONN_SNDBUF;
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	struct ctl_conn *cn = xcalloc(1, sizeof(*cn));
	cn->c = c;
	cn->fd = fd;
	cn->id = ++c->next_id;
	ctl_parser_init(&cn->p);
	if (ev_add_fd(c->ev, fd, conn_read, conn_write, cn) < 0) {
		log_warn("control socket: cannot watch a connection: %s", strerror(errno));
		close(fd);
		free(cn);
		return;
	}
	list_push_back(&c->conns, &cn->node);
	c->nconns++;
	cn->timer = ev_timer_add(c->ev, c->request_ms, conn_timeout, cn);
	log_debug("control %u: connected (%u open)", cn->id, c->nconns);
}

/* Is something answering on the socket file at path?  1 yes, 0 no (a
 * stale file), -1 with errno when we cannot tell. */
static int socket_answers(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	int e = errno;
	close(fd);
	if (rc == 0 || e == EAGAIN || e == EINPROGRESS)
		return 1;   /* EAGAIN: a full backlog is still a live daemon */
	if (e == ECONNREFUSED)
		return 0;
	errno = e;
	return -1;
}

struct ctl *ctl_listen(const char *path, char *err, size_t errsz)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errsz, "path longer than %zu bytes", sizeof(sa.sun_path) - 1);
		return NULL;
	}
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errsz, "exists and is not a socket");
			return NULL;
		}
		switch (socket_answers(path)) {
		case 1:
			snprintf(err, errsz, "in use: a daemon answers on it");
			return NULL;
		case 0:
			/* Left by a daemon that did not exit cleanly. */
			if (unlink(path) < 0 && errno != ENOENT) {
				snprintf(err, errsz, "cannot remove the stale socket: %s", strerror(errno));
				return NULL;
			}
			log_info("control socket %s: removed a stale one", path);
			break;
		default:
			snprintf(err, errsz, "%s", strerror(errno));
			return NULL;
		}
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errsz, "socket: %s", strerror(errno));
		return NULL;
	}
	/* bind makes the file with the umask's mode: 0600 from the start,
	 * no moment when others could connect. */
	mode_t old = umask(0177);
	int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	int e = errno;
	umask(old);
	if (rc < 0 || listen(fd, CTL_MAX_CONNS) < 0 || stat(path, &st) < 0) {
		snprintf(err, errsz, "%s", strerror(rc < 0 ? e : errno));
		if (rc == 0)
			unlink(path);
		close(fd);
		return NULL;
	}
	struct ctl *c = xcalloc(1, sizeof(*c));
	memcpy(c->path, path, strlen(path) + 1);
	c->fd = fd;
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	c->request_ms = CTL_REQUEST_MS;
	c->answer_ms = CTL_ANSWER_MS;
	c->pause_ms = CTL_PAUSE_MS;
	list_init(&c->conns);
	return c;
}

void ctl_name(const char *config, const char *fallback, char *out, size_t n)
{
	if (!config) {
		snprintf(out, n, "%s", fallback);
		return;
	}
	const char *base = strrchr(config, '/');
	base = base ? base + 1 : config;
	size_t len = strlen(base);
	if (len > 5 && !strcmp(base + len - 5, ".conf"))
		len -= 5;
	if (len == 0) {
		snprintf(out, n, "%s", fallback);
		return;
	}
	snprintf(out, n, "%.*s", (int)len, base);
}

struct ctl *ctl_open(const char *cmd, const char *opt, const char *name, int *rc)
{
	char path[4096], err[256];
	*rc = 0;
	if (opt && !strcmp(opt, "none"))
		return NULL;
	if (!opt) {
		snprintf(path, sizeof(path), "%s/%s.sock", CTL_DIR, name);
		if (mkdir(CTL_DIR, 0700) < 0 && errno != EEXIST) {
			log_warn("control socket %s: cannot make %s: %s; running without one "
			         "(--control PATH, or none)", path, CTL_DIR, strerror(errno));
			return NULL;
		}
	} else if (opt[0] != '/') {
		/* daemon(3) moves us to /: the path must not depend on where
		 * we started, and the file must be found again at exit. */
		char cwd[2048];
		if (!getcwd(cwd, sizeof(cwd))) {
			fprintf(stderr, "mixproxy %s: control socket %s: cannot tell the working "
			        "directory: %s\n", cmd, opt, strerror(errno));
			*rc = EXIT_OSERR;
			return NULL;
		}
		snprintf(path, sizeof(path), "%s/%s", cwd, opt);
	} else {
		snprintf(path, sizeof(path), "%s", opt);
	}
	struct ctl *c = ctl_listen(path, err, sizeof(err));
	if (c) {
		log_info("control socket %s", path);
		return c;
	}
	if (!opt) {
		log_warn("control socket %s: %s; running without one (--control PATH, or none)",
		         path, err);
		return NULL;
	}
	fprintf(stderr, "mixproxy %s: control socket %s: %s\n", cmd, path, err);
	*rc = EXIT_OSERR;
	return NULL;
}

void ctl_serve(struct ctl *c, struct ev *ev, ctl_answer_cb *cb, void *ctx)
{
	c->ev = ev;
	ratelog_init(&c->rl, ev);
	c->cb = cb;
	c->ctx = ctx;
	c->listener = listener_new(ev, c->fd, "control socket", on_accept, c);
	if (!c->listener)
		log_warn("control socket %s: cannot watch it: %s", c->path, strerror(errno));
	else
		listener_set_rest(c->listener, c->pause_ms);
}

void ctl_set_timeouts(struct ctl *c, unsigned request_ms, unsigned answer_ms, unsigned pause_ms)
{
	c->request_ms = request_ms;
	c->answer_ms = answer_ms;
	c->pause_ms = pause_ms;
	if (c->listener)
		listener_set_rest(c->listener, pause_ms);
}

const char *ctl_path(const struct ctl *c)
{
	return c->path;
}

unsigned ctl_conns(const struct ctl *c)
{
	return c->nconns;
}

void ctl_free(struct ctl *c)
{
	struct stat st;
	if (!c)
		return;
	while (!list_empty(&c->conns)) {
		struct ctl_conn *cn = list_entry(c->conns.next, struct ctl_conn, node);
		conn_close(cn, "shutting down");
	}
	listener_free(c->listener);
	ratelog_stop(&c->rl);
	close(c->fd);
	/* Only our own file: a daemon started after us may have taken the
	 * path over (it does when ours stops answering). */
	if (stat(c->path, &st) == 0 && st.st_dev == c->dev && st.st_ino == c->ino)
		unlink(c->path);
	free(c);
}

/* ---- `mixproxy show`'s side ---- */

int ctl_find(const char *dir, const char *arg, char *out, size_t n, char *err, size_t errsz)
{
	if (arg) {
		if (!*arg) {
			snprintf(err, errsz, "an empty name");
			return -1;
		}
		if (strchr(arg, '/'))
			snprintf(out, n, "%s", arg);
		else
			snprintf(out, n, "%s/%s.sock", dir, arg);
		return 0;
	}
	DIR *d = opendir(dir);
	if (!d) {
		int e = errno;
		snprintf(err, errsz, "no control socket: %s: %s", dir, strerror(e));
		errno = e;
		return -1;
	}
	char names[512] = "";
	size_t found = 0, used = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);
		if (len <= 5 || strcmp(e->d_name + len - 5, ".sock"))
			continue;
		if (found++ == 0)
			snprintf(out, n, "%s/%s", dir, e->d_name);
		if (used < sizeof(names)) {
			int w = snprintf(names + used, sizeof(names) - used, " %.*s", (int)(len - 5),
			                 e->d_name);
			used += w > 0 ? (size_t)w : 0;
		}
	}
	closedir(d);
	errno = 0;
	if (found == 1)
		return 0;
	if (found == 0)
		snprintf(err, errsz, "no control socket in %s (is a daemon running?)", dir);
	else
		snprintf(err, errsz, "%zu control sockets in %s, name one:%s", found, dir, names);
	return -1;
}
