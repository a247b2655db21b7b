/* Unit tests of ctl: the request parser (every outcome, and the same
 * outcome however the bytes are cut), the answer buffer's bound, the
 * three writers of a stats table (log line, show, Prometheus text), label
 * escaping, instance names, finding a socket, and the control socket
 * itself over real UNIX sockets in a scratch directory: answers, errors,
 * timeouts, the bound on connections, a reader that never reads, a stale
 * socket file, and a listener out of descriptors that rests instead of
 * spinning. */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"
#include "ev.h"
#include "log.h"
#include "util.h"

/* ---- the parser ---- */

/* Feed s whole, then byte by byte: the same outcome and reason. */
static enum ctl_req parse(const char *s, size_t n, int end, char *why, size_t whysz)
{
	struct ctl_parser a, b;
	ctl_parser_init(&a);
	ctl_parser_init(&b);
	enum ctl_req ra = ctl_parser_feed(&a, s, n), rb = CTL_REQ_MORE;
	for (size_t i = 0; i < n; i++)
		rb = ctl_parser_feed(&b, s + i, 1);
	if (end) {
		ra = ctl_parser_end(&a);
		rb = ctl_parser_end(&b);
	}
	ck_assert_int_eq(ra, rb);
	ck_assert_str_eq(a.why, b.why);
	if (why)
		snprintf(why, whysz, "%s", a.why);
	return ra;
}

#define P(lit) parse(lit, sizeof(lit) - 1, 0, why, sizeof(why))
#define P_END(lit) parse(lit, sizeof(lit) - 1, 1, why, sizeof(why))

START_TEST(test_parser_requests)
{
	char why[256];
	ck_assert_int_eq(P("show\n"), CTL_REQ_SHOW);
	ck_assert_int_eq(P("metrics\n"), CTL_REQ_METRICS);
	ck_assert_int_eq(P("show\r\n"), CTL_REQ_SHOW);
	ck_assert_int_eq(P("  \tmetrics \t\r\n"), CTL_REQ_METRICS);
	/* Bytes after the line are not looked at. */
	ck_assert_int_eq(P("show\n\x01\xff garbage"), CTL_REQ_SHOW);
	ck_assert_int_eq(P("show"), CTL_REQ_MORE);
	ck_assert_int_eq(P(""), CTL_REQ_MORE);
	/* A last line without its newline counts at the end of input. */
	ck_assert_int_eq(P_END("show"), CTL_REQ_SHOW);
	ck_assert_int_eq(P_END("metrics "), CTL_REQ_METRICS);
}
END_TEST

START_TEST(test_parser_errors)
{
	char why[256];
	ck_assert_int_eq(P("\n"), CTL_REQ_BAD);
	ck_assert_str_eq(why, "empty request (show or metrics)");
	ck_assert_int_eq(P(" \r\n"), CTL_REQ_BAD);
	ck_assert_int_eq(P("SHOW\n"), CTL_REQ_BAD);
	ck_assert_str_eq(why, "unknown request 'SHOW' (show or metrics)");
	ck_assert_int_eq(P("show me\n"), CTL_REQ_BAD);
	ck_assert_str_eq(why, "unknown request 'show me' (show or metrics)");
	/* A tab inside is shown as a space: the error stays one clean line. */
	ck_assert_int_eq(P("a\tb\n"), CTL_REQ_BAD);
	ck_assert_str_eq(why, "unknown request 'a b' (show or metrics)");
	/* Bytes that no request has end it at once, newline or not. */
	ck_assert_int_eq(P("sh\0ow"), CTL_REQ_BAD);
	ck_assert_str_eq(why, "byte 0x00 in the request (printable ASCII only)");
	ck_assert_int_eq(P("\x80"), CTL_REQ_BAD);
	ck_assert_str_eq(why, "byte 0x80 in the request (printable ASCII only)");
	ck_assert_int_eq(P("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), CTL_REQ_BAD);
	ck_assert_int_eq(P_END(""), CTL_REQ_BAD);
	ck_assert_str_eq(why, "no request before the end of input");
	ck_assert_int_eq(P_END("  "), CTL_REQ_BAD);
	ck_assert_str_eq(why, "empty request (show or metrics)");
}
END_TEST

START_TEST(test_parser_length)
{
	char line[CTL_REQ_MAX + 2], why[256];
	/* CTL_REQ_MAX - 1 bytes and the newline: a (padded) request. */
	memset(line, ' ', sizeof(line));
	memcpy(line, "show", 4);
	line[CTL_REQ_MAX - 1] = '\n';
	ck_assert_int_eq(parse(line, CTL_REQ_MAX, 0, why, sizeof(why)), CTL_REQ_SHOW);
	/* One byte more before the newline: refused when it comes, without
	 * waiting for a newline that may never come. */
	memset(line, 'x', sizeof(line));
	ck_assert_int_eq(parse(line, CTL_REQ_MAX - 1, 0, why, sizeof(why)), CTL_REQ_MORE);
	ck_assert_int_eq(parse(line, CTL_REQ_MAX, 0, why, sizeof(why)), CTL_REQ_BAD);
	ck_assert_str_eq(why, "request longer than 63 bytes");
}
END_TEST

START_TEST(test_parser_final)
{
	struct ctl_parser p;
	ctl_parser_init(&p);
	ck_assert_int_eq(ctl_parser_feed(&p, "bad\n", 4), CTL_REQ_BAD);
	ck_assert_int_eq(ctl_parser_feed(&p, "show\n", 5), CTL_REQ_BAD);
	ck_assert_int_eq(ctl_parser_end(&p), CTL_REQ_BAD);
	ctl_parser_init(&p);
	ck_assert_int_eq(ctl_parser_feed(&p, "show\n", 5), CTL_REQ_SHOW);
	ck_assert_int_eq(ctl_parser_feed(&p, "\0\0\0", 3), CTL_REQ_SHOW);
	ck_assert_int_eq(ctl_parser_end(&p), CTL_REQ_SHOW);
	ck_assert_str_eq(p.why, "");
}
END_TEST

/* ---- the answer buffer and the writers ---- */

START_TEST(test_buf_bound)
{
	struct ctl_buf b;
	ctl_buf_init(&b, 10);
	ctl_printf(&b, "%s", "");
	ck_assert_uint_eq(b.len, 0);
	ctl_printf(&b, "abc");
	ctl_printf(&b, "%d", 12345);
	ck_assert_str_eq(b.p, "abc12345");
	ck_assert_int_eq(b.cut, 0);
	ctl_printf(&b, "xyz");       /* 11 > 10: left out */
	ck_assert_int_eq(b.cut, 1);
	ctl_printf(&b, "!");         /* would fit, but would leave a hole */
	ck_assert_str_eq(b.p, "abc12345");
	ctl_buf_free(&b);

	/* Growth from 1 KiB by doubling, up to the bound exactly. */
	ctl_buf_init(&b, 5000);
	for (int i = 0; i < 100; i++)
		ctl_printf(&b, "%049d\n", i);
	ck_assert_uint_eq(b.len, 5000);
	ck_assert_int_eq(b.cut, 0);
	ck_assert_uint_le(b.cap, 5001);
	ctl_printf(&b, "x");
	ck_assert_int_eq(b.cut, 1);
	ck_assert_uint_eq(strlen(b.p), 5000);
	ctl_buf_free(&b);
}
END_TEST

START_TEST(test_duration)
{
	char d[32];
	ck_assert_str_eq(ctl_duration(0, d, sizeof(d)), "0 s");
	ck_assert_str_eq(ctl_duration(59, d, sizeof(d)), "59 s");
	ck_assert_str_eq(ctl_duration(61, d, sizeof(d)), "1 min 1 s");
	ck_assert_str_eq(ctl_duration(3600 * 5 + 120 + 7, d, sizeof(d)), "5 h 2 min");
	ck_assert_str_eq(ctl_duration(86400 * 3 + 3600 * 4 + 5, d, sizeof(d)), "3 d 4 h");
}
END_TEST

/* A table as the daemons write theirs: plain entries, a group, a family
 * split across the table (the metrics writer must join it), a gauge with
 * decimals. */
static const struct ctl_stat tab[] = {
	{ NULL, "in", "in_total", NULL, CTL_COUNTER, 0, "Packets in." },
	{ "drop", "mac", "dropped_total", "reason=\"mac\"", CTL_COUNTER, 0, "Drops, by reason." },
	{ "drop", "replay", "dropped_total", "reason=\"replay\"", CTL_COUNTER, 0, NULL },
	{ NULL, "rtt_ms", "rtt_milliseconds", NULL, CTL_GAUGE, 2, "Round trip \\ with\nnewline." },
	{ "late", "replay2", "dropped_total", "reason=\"late\"", CTL_COUNTER, 0, NULL },
};
static const double vals[] = { 12, 0, 3, 1.5, 7 };

START_TEST(test_stats_log)
{
	struct ctl_buf b;
	ctl_buf_init(&b, 4096);
	ctl_stats_log(&b, tab, vals, ARRAY_LEN(tab));
	ck_assert_str_eq(b.p, "in=12 drop{mac=0 replay=3} rtt_ms=1.50 late{replay2=7}");
	ctl_buf_free(&b);
	/* A group first and last; a second table goes on the same line. */
	ctl_buf_init(&b, 4096);
	ctl_stats_log(&b, tab + 1, vals + 1, 2);
	ck_assert_str_eq(b.p, "drop{mac=0 replay=3}");
	ctl_stats_log(&b, tab, vals, 1);
	ctl_stats_log(&b, tab + 1, vals + 1, 1);
	ck_assert_str_eq(b.p, "drop{mac=0 replay=3} in=12 drop{mac=0}");
	ctl_buf_free(&b);
}
END_TEST

START_TEST(test_stats_show)
{
	struct ctl_buf b;
	ctl_buf_init(&b, 4096);
	ctl_stats_show(&b, tab, vals, ARRAY_LEN(tab));
	ck_assert_str_eq(b.p, "  in: 12\n"
	                      "  drop: mac 0, replay 3\n"
	                      "  rtt_ms: 1.50\n"
	                      "  late: replay2 7\n");
	ctl_buf_free(&b);
}
END_TEST

START_TEST(test_stats_metrics)
{
	struct ctl_buf b;
	char labels[CTL_LABELS_MAX];
	ctl_labels(labels, sizeof(labels), "node", "gw1");
	ck_assert_str_eq(labels, "role=\"node\",id=\"gw1\"");
	ctl_buf_init(&b, 4096);
	ctl_stats_metrics(&b, labels, tab, vals, ARRAY_LEN(tab));
	ck_assert_str_eq(b.p,
		"# HELP mixproxy_in_total Packets in.\n"
		"# TYPE mixproxy_in_total counter\n"
		"mixproxy_in_total{role=\"node\",id=\"gw1\"} 12\n"
		"# HELP mixproxy_dropped_total Drops, by reason.\n"
		"# TYPE mixproxy_dropped_total counter\n"
		"mixproxy_dropped_total{role=\"node\",id=\"gw1\",reason=\"mac\"} 0\n"
		"mixproxy_dropped_total{role=\"node\",id=\"gw1\",reason=\"replay\"} 3\n"
		"mixproxy_dropped_total{role=\"node\",id=\"gw1\",reason=\"late\"} 7\n"
		"# HELP mixproxy_rtt_milliseconds Round trip \\\\ with\\nnewline.\n"
		"# TYPE mixproxy_rtt_milliseconds gauge\n"
		"mixproxy_rtt_milliseconds{role=\"node\",id=\"gw1\"} 1.50\n");
	ctl_buf_free(&b);

	/* No labels at all; values the format spells its own way. */
	ctl_buf_init(&b, 4096);
	ctl_metric(&b, "x", "", NULL, NAN, 0);
	ctl_metric(&b, "x", NULL, "k=\"v\"", INFINITY, 0);
	ctl_metric(&b, "x", NULL, NULL, -INFINITY, 3);
	ck_assert_str_eq(b.p, "mixproxy_x NaN\nmixproxy_x{k=\"v\"} +Inf\nmixproxy_x -Inf\n");
	ctl_buf_free(&b);
}
END_TEST

START_TEST(test_labels)
{
	char out[64];
	ck_assert_str_eq(ctl_label(out, sizeof(out), "id", "a\"b\\c\nd"), "id=\"a\\\"b\\\\c\\nd\"");
	/* Truncated to fit, never inside an escape: 10 bytes hold id="" and
	 * 4 more at most; the backslash's escape would not fit whole. */
	ck_assert_str_eq(ctl_label(out, 10, "id", "abc\\d"), "id=\"abc\"");
	ck_assert_str_eq(ctl_label(out, 4, "id", "x"), "");
	ctl_labels(out, sizeof(out), "client", "web \"front\"");
	ck_assert_str_eq(out, "role=\"client\",id=\"web \\\"front\\\"\"");
	struct ctl_buf b;
	ctl_buf_init(&b, 4096);
	ctl_metrics_common(&b, "role=\"server\",id=\"s\"", 42, "fast");
	ck_assert_ptr_nonnull(strstr(b.p, "mixproxy_info{role=\"server\",id=\"s\",version=\""
	                                  MIXPROXY_VERSION "\",profile=\"fast\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(b.p, "mixproxy_uptime_seconds{role=\"server\",id=\"s\"} 42\n"));
	ctl_buf_free(&b);
}
END_TEST

START_TEST(test_name)
{
	char n[64];
	ctl_name("/etc/mixproxy/gw1.conf", "x", n, sizeof(n));
	ck_assert_str_eq(n, "gw1");
	ctl_name("relay.conf", "x", n, sizeof(n));
	ck_assert_str_eq(n, "relay");
	ctl_name("/etc/mixproxy/web", "x", n, sizeof(n));
	ck_assert_str_eq(n, "web");
	ctl_name("/etc/mixproxy/.conf", "client-8080", n, sizeof(n));
	ck_assert_str_eq(n, ".conf");
	ctl_name("dir/", "server-80", n, sizeof(n));
	ck_assert_str_eq(n, "server-80");
	ctl_name(NULL, "mix1a", n, sizeof(n));
	ck_assert_str_eq(n, "mix1a");
}
END_TEST

/* ---- sockets ---- */

static char dir[64];

static void mkscratch(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test-ctl.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void rmscratch(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void touch(const char *name)
{
	char p[128];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fclose(f);
}

START_TEST(test_find)
{
	char out[256], err[256];
	mkscratch();
	char want[128];
	snprintf(want, sizeof(want), "%s/gw1.sock", dir);
	ck_assert_int_eq(ctl_find(dir, "gw1", out, sizeof(out), err, sizeof(err)), 0);
	ck_assert_str_eq(out, want);
	ck_assert_int_eq(ctl_find(dir, "./my.sock", out, sizeof(out), err, sizeof(err)), 0);
	ck_assert_str_eq(out, "./my.sock");
	ck_assert_int_eq(ctl_find(dir, "", out, sizeof(out), err, sizeof(err)), -1);
	ck_assert_int_eq(ctl_find(dir, NULL, out, sizeof(out), err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "no control socket in"));
	touch("other.txt");
	touch("gw1.sock");
	ck_assert_int_eq(ctl_find(dir, NULL, out, sizeof(out), err, sizeof(err)), 0);
	ck_assert_str_eq(out, want);
	touch("client-8080.sock");
	ck_assert_int_eq(ctl_find(dir, NULL, out, sizeof(out), err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "2 control sockets in"));
	ck_assert_ptr_nonnull(strstr(err, " gw1"));
	ck_assert_ptr_nonnull(strstr(err, " client-8080"));
	rmscratch();
	ck_assert_int_eq(ctl_find(dir, NULL, out, sizeof(out), err, sizeof(err)), -1);
}
END_TEST

static int answers;

static void answer(enum ctl_req req, struct ctl_buf *out, void *ctx)
{
	size_t big = ctx ? *(size_t *)ctx : 0;
	answers++;
	ctl_printf(out, "%s\n", req == CTL_REQ_SHOW ? "shown" : "metrics");
	for (size_t i = 0; i < big; i++)
		ctl_printf(out, "%063zu\n", i);
}

static int client(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* Run the loop and read fd until EOF (or reset): what came, in out.
 * Bounded: at most `ms` of loop time. */
static size_t drain(struct ev *ev, int fd, char *out, size_t n, int ms)
{
	size_t got = 0;
	uint64_t end = now_ms() + (uint64_t)ms;
	while (now_ms() < end) {
		ev_run_once(ev, 10);
		for (;;) {
			ssize_t r = recv(fd, out + got, n - 1 - got, MSG_DONTWAIT);
			if (r > 0) {
				got += (size_t)r;
				continue;
			}
			if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
				out[got] = 0;
				return got;
			}
			break;
		}
	}
	out[got] = 0;
	ck_abort_msg("no end of the answer within %d ms (got '%s')", ms, out);
	return got;
}

static struct ctl *serve(struct ev *ev, const char *name, void *ctx)
{
	char path[128], err[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	struct ctl *c = ctl_listen(path, err, sizeof(err));
	ck_assert_msg(c != NULL, "ctl_listen: %s", err);
	ctl_serve(c, ev, answer, ctx);
	return c;
}

START_TEST(test_socket_answers)
{
	struct ev *ev = ev_new();
	char buf[4096];
	struct stat st;
	mkscratch();
	struct ctl *c = serve(ev, "d.sock", NULL);
	ck_assert_int_eq(stat(ctl_path(c), &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 0777, 0600);

	int fd = client(ctl_path(c));
	ck_assert_int_eq(send(fd, "show\n", 5, 0), 5);
	drain(ev, fd, buf, sizeof(buf), 2000);
	ck_assert_str_eq(buf, "shown\n");
	close(fd);

	/* In pieces, with a CR, and a half-close for the end of the line. */
	fd = client(ctl_path(c));
	ck_assert_int_eq(send(fd, "metr", 4, 0), 4);
	ev_run_once(ev, 10);
	ck_assert_int_eq(send(fd, "ics\r", 4, 0), 4);
	shutdown(fd, SHUT_WR);
	drain(ev, fd, buf, sizeof(buf), 2000);
	ck_assert_str_eq(buf, "metrics\n");
	close(fd);

	fd = client(ctl_path(c));
	ck_assert_int_eq(send(fd, "\x16\x03\x01", 3, 0), 3);
	drain(ev, fd, buf, sizeof(buf), 2000);
	ck_assert_str_eq(buf, "error: byte 0x16 in the request (printable ASCII only)\n");
	close(fd);

	/* A too-long request: the answer, then EOF; the rest of what the
	 * peer writes after it still goes in (no EPIPE before it could read
	 * the answer), and is dropped until it closes. */
	char line[200];
	memset(line, 'A', sizeof(line));
	fd = client(ctl_path(c));
	ck_assert_int_eq(send(fd, line, sizeof(line), 0), (ssize_t)sizeof(line));
	drain(ev, fd, buf, sizeof(buf), 2000);
	ck_assert_str_eq(buf, "error: request longer than 63 bytes\n");
	ck_assert_uint_eq(ctl_conns(c), 1);
	ck_assert_int_eq(send(fd, line, sizeof(line), MSG_NOSIGNAL), (ssize_t)sizeof(line));
	close(fd);
	for (int i = 0; i < 100 && ctl_conns(c); i++)
		ev_run_once(ev, 10);
	ck_assert_int_eq(answers, 2);
	ck_assert_uint_eq(ctl_conns(c), 0);

	/* One that goes on writing is cut off past 64 KiB. */
	fd = client(ctl_path(c));
	ck_assert_int_eq(send(fd, line, sizeof(line), 0), (ssize_t)sizeof(line));
	drain(ev, fd, buf, sizeof(buf), 2000);
	size_t sent = 0;
	for (int i = 0; i < 1000 && ctl_conns(c); i++) {
		ssize_t w = send(fd, line, sizeof(line), MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0)
			sent += (size_t)w;
		ev_run_once(ev, 1);
	}
	ck_assert_uint_eq(ctl_conns(c), 0);
	ck_assert_uint_gt(sent, 64 * 1024);
	close(fd);

	ctl_free(c);
	char path[128];
	snprintf(path, sizeof(path), "%s/d.sock", dir);
	ck_assert_int_eq(access(path, F_OK), -1);   /* removed at exit */
	ev_free(ev);
	rmscratch();
}
END_TEST

START_TEST(test_socket_timeouts)
{
	struct ev *ev = ev_new();
	char buf[4096];
	mkscratch();
	size_t big = 4000;                    /* lines of 64 bytes: 256 KiB > the bound */
	struct ctl *c = serve(ev, "t.sock", &big);
	ctl_set_timeouts(c, 150, 300, 1000);

	/* Silence: an error line, then the close, within the bound. */
	int quiet = client(ctl_path(c));
	uint64_t t0 = now_ms();
	drain(ev, quiet, buf, sizeof(buf), 2000);
	ck_assert_str_eq(buf, "error: no request within 150 ms\n");
	ck_assert_uint_ge(now_ms() - t0, 140);
	close(quiet);

	/* A reader that never reads: the loop goes on (another client is
	 * answered meanwhile), and the connection is dropped in time. */
	int lazy = client(ctl_path(c));
	uint64_t asked_us = now_us(); /* its answer's time runs from a batch after this */
	ck_assert_int_eq(send(lazy, "show\n", 5, 0), 5);
	for (int i = 0; i < 5; i++)
		ev_run_once(ev, 10);
	ck_assert_uint_eq(ctl_conns(c), 1);
	big = 0;
	int quick = client(ctl_path(c));
	ck_assert_int_eq(send(quick, "show\n", 5, 0), 5);
	drain(ev, quick, buf, sizeof(buf), 2000);
	ck_assert_str_eq(buf, "shown\n");
	close(quick);
	t0 = now_ms();
	while (ctl_conns(c) > 0 && now_ms() - t0 < 2000)
		ev_run_once(ev, 10);
	ck_assert_uint_eq(ctl_conns(c), 0);
	ck_assert_uint_ge(now_us() - asked_us, 300000);
	close(lazy);

	/* The answer past the bound is cut, and says so on its last line
	 * (and all of it is read: no answer timeout that a loaded machine's
	 * slow drain below could meet). */
	ctl_set_timeouts(c, 150, 10000, 1000);
	big = 4000;
	int all = client(ctl_path(c));
	ck_assert_int_eq(send(all, "show\n", 5, 0), 5);
	char *ans = xmalloc(CTL_ANSWER_MAX + 1024);
	size_t n = drain(ev, all, ans, CTL_ANSWER_MAX + 1024, 3000);
	ck_assert_uint_le(n, CTL_ANSWER_MAX + 128);
	ck_assert_uint_gt(n, CTL_ANSWER_MAX - 128);
	char *last = strrchr(ans, '\n');
	*last = 0;
	last = strrchr(ans, '\n') + 1;
	ck_assert_msg(!strncmp(last, "error: answer cut at ", 21), "last line '%s'", last);
	free(ans);
	close(all);
	ctl_free(c);
	ev_free(ev);
	rmscratch();
}
END_TEST

START_TEST(test_socket_bound)
{
	struct ev *ev = ev_new();
	char buf[4096];
	int fds[CTL_MAX_CONNS];
	mkscratch();
	struct ctl *c = serve(ev, "b.sock", NULL);
	for (int i = 0; i < CTL_MAX_CONNS; i++) {
		fds[i] = client(ctl_path(c));
		ev_run_once(ev, 10);
	}
	ck_assert_uint_eq(ctl_conns(c), CTL_MAX_CONNS);
	int extra = client(ctl_path(c));
	drain(ev, extra, buf, sizeof(buf), 2000);
	ck_assert_str_eq(buf, "error: busy: too many control connections\n");
	close(extra);
	ck_assert_uint_eq(ctl_conns(c), CTL_MAX_CONNS);
	/* The ones held are still served. */
	ck_assert_int_eq(send(fds[3], "show\n", 5, 0), 5);
	drain(ev, fds[3], buf, sizeof(buf), 2000);
	ck_assert_str_eq(buf, "shown\n");
	for (int i = 0; i < CTL_MAX_CONNS; i++)
		close(fds[i]);
	/* ctl_free closes the rest; their structs go with ev_free. */
	ctl_free(c);
	ev_free(ev);
	rmscratch();
}
END_TEST

START_TEST(test_socket_files)
{
	char path[100], err[256], longp[200];
	struct stat st;
	mkscratch();

	/* A file that is no socket is left alone. */
	touch("f.sock");
	snprintf(path, sizeof(path), "%s/f.sock", dir);
	ck_assert_ptr_null(ctl_listen(path, err, sizeof(err)));
	ck_assert_str_eq(err, "exists and is not a socket");
	ck_assert_int_eq(access(path, F_OK), 0);

	/* A socket file nothing listens on is taken over. */
	snprintf(path, sizeof(path), "%s/s.sock", dir);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	struct ctl *c = ctl_listen(path, err, sizeof(err));
	ck_assert_msg(c != NULL, "stale socket not taken over: %s", err);

	/* One that answers is not. */
	ck_assert_ptr_null(ctl_listen(path, err, sizeof(err)));
	ck_assert_str_eq(err, "in use: a daemon answers on it");

	/* At exit only our own file goes. */
	ck_assert_int_eq(unlink(path), 0);
	touch("s.sock");
	ctl_free(c);
	ck_assert_int_eq(stat(path, &st), 0);

	memset(longp, 'p', sizeof(longp));
	longp[108] = 0;
	ck_assert_ptr_null(ctl_listen(longp, err, sizeof(err)));
	ck_assert_str_eq(err, "path longer than 107 bytes");

	/* ctl_open: none, and an explicit path that cannot be made. */
	int rc = -1;
	ck_assert_ptr_null(ctl_open("test", "none", "x", &rc));
	ck_assert_int_eq(rc, 0);
	snprintf(path, sizeof(path), "%s/no/such/dir.sock", dir);
	ck_assert_ptr_null(ctl_open("test", path, "x", &rc));
	ck_assert_int_eq(rc, EXIT_OSERR);
	snprintf(path, sizeof(path), "%s/ok.sock", dir);
	c = ctl_open("test", path, "x", &rc);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(rc, 0);
	ctl_free(c);
	rmscratch();
}
END_TEST

START_TEST(test_socket_emfile)
{
	struct ev *ev = ev_new();
	char buf[256];
	struct rlimit old, low;
	mkscratch();
	struct ctl *c = serve(ev, "e.sock", NULL);
	ctl_set_timeouts(c, 1000, 1000, 500);
	int fd = client(ctl_path(c));
	ck_assert_int_eq(send(fd, "show\n", 5, 0), 5);

	/* No descriptor left for accept(2). */
	int probe = dup(0);
	ck_assert_int_ge(probe, 0);
	close(probe);
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = (rlim_t)probe;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
	ck_assert_int_ge(ev_run_once(ev, 50), 1);       /* accept fails: the listener rests */
	/* No spinning on the listener: it tries once a rest at most (the
	 * rest's end and the try are a callback each), however slow a loaded
	 * machine makes these passes. */
	uint64_t t0 = now_us();
	int calls = 0;
	for (int i = 0; i < 10; i++)
		calls += ev_run_once(ev, 5);
	uint64_t rests_in = (now_us() - t0) / 500000;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
	ck_assert_int_le(calls, 2 * rests_in);
	ck_assert_uint_eq(ctl_conns(c), 0);

	/* After the rest, the waiting connection is served (valgrind, which
	 * closes what accept(2) returned past the limit, leaves it closed),
	 * and so is a new one. */
	drain(ev, fd, buf, sizeof(buf), 2000);
	const char *pre = getenv("LD_PRELOAD");
	int valgrind = pre && strstr(pre, "valgrind");
	ck_assert_msg(!strcmp(buf, "shown\n") || (!buf[0] && valgrind),
	              "answer '%s'", buf);
	close(fd);
	fd = client(ctl_path(c));
	ck_assert_int_eq(send(fd, "show\n", 5, 0), 5);
	drain(ev, fd, buf, sizeof(buf), 2000);
	ck_assert_str_eq(buf, "shown\n");
	close(fd);
	ctl_free(c);
	ev_free(ev);
	rmscratch();
}
END_TEST

/* The warnings the tests provoke on purpose stay out of the output
 * (TEST_VERBOSE=1 shows them, and every connection's states). */
static void quiet(void)
{
	log_init("test_ctl", 1, getenv("TEST_VERBOSE") ? 1 : -2);
}

Suite *suite_ctl(void)
{
	Suite *s = suite_create("ctl");
	TCase *tc = tcase_create("parser");
	tcase_add_test(tc, test_parser_requests);
	tcase_add_test(tc, test_parser_errors);
	tcase_add_test(tc, test_parser_length);
	tcase_add_test(tc, test_parser_final);
	suite_add_tcase(s, tc);

	tc = tcase_create("format");
	tcase_add_test(tc, test_buf_bound);
	tcase_add_test(tc, test_duration);
	tcase_add_test(tc, test_stats_log);
	tcase_add_test(tc, test_stats_show);
	tcase_add_test(tc, test_stats_metrics);
	tcase_add_test(tc, test_labels);
	tcase_add_test(tc, test_name);
	suite_add_tcase(s, tc);

	tc = tcase_create("socket");
	tcase_add_checked_fixture(tc, quiet, NULL);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_find);
	tcase_add_test(tc, test_socket_answers);
	tcase_add_test(tc, test_socket_timeouts);
	tcase_add_test(tc, test_socket_bound);
	tcase_add_test(tc, test_socket_files);
	tcase_add_test(tc, test_socket_emfile);
	suite_add_tcase(s, tc);
	return s;
}
