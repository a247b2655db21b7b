/* mptcp — TCP traffic for the proxy's integration tests and benchmarks:
 * small servers to put behind `mixproxy server` and clients to put in
 * front of `mixproxy client`, all checking what they receive byte by byte.
 *
 * Servers (run until SIGTERM/SIGINT, print "listening addr=H:P" once bound;
 * HOST:0 picks a free port):
 *   mptcp echo   HOST:PORT                  echo; half-close travels back
 *   mptcp banner HOST:PORT --text STR       send STR\n first, then echo
 *   mptcp source HOST:PORT --bytes N [--seed S]
 *                                           send N stream bytes, shut, drain
 *   mptcp sink   HOST:PORT                  read, discard; a line per conn
 *   mptcp http   HOST:PORT [--bytes N]      HTTP/1.1: N stream bytes (seed 1)
 *                                           or "GET /hello"
 * Clients (exit 0 and one "ok key=value ..." line when all went right):
 *   mptcp sizes  HOST:PORT --sizes A,B,..   echo round trips of these sizes
 *   mptcp rtt    HOST:PORT [--count N] [--size B] [--conns C] [--hold]
 *   mptcp bulk   HOST:PORT --bytes N [--conns C]
 *   mptcp recv   HOST:PORT --bytes N [--seed S] [--pause SECS]
 *   mptcp send   HOST:PORT --bytes N [--seed S]
 *   mptcp halfclose HOST:PORT --bytes N
 *   mptcp expect-reset HOST:PORT [--text STR]
 *   mptcp banner-client HOST:PORT --text STR
 *   mptcp hash --bytes N [--seed S]         the stream's hash, no network
 *
 * The stream of seed S is the ChaCha20 keystream (original djb variant,
 * 64-bit nonce and block counter from 0) under the key
 * S as 8 little-endian bytes || "mptcp-stream" || 12 zero bytes, and the
 * nonce "mptcp-v1".  Hashes are XXH3_64bits of the bytes, in hex.
 *
 * One thread, one loop (src/ev), non-blocking sockets; every connection
 * writes only while writable, from a fixed buffer, and reads whenever
 * readable (an echo server stops reading while its buffer is full).
 * Failures: exit 1 with "mptcp: MODE: reason" on stderr; usage errors 64. */
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <xxhash.h>

#include "conf.h"
#include "ev.h"
#include "log.h"
#include "util.h"

#define RBUF_SIZE   65536          /* one read */
#define ECHO_BUF    65536          /* an echo connection's buffer */
#define OUT_BUF     32768          /* generated output, per connection */
#define READ_ROUNDS 4              /* reads per readiness event (fairness) */
#define WRITE_BUDGET (256 * 1024)  /* bytes per writability event */
#define HTTP_REQ_MAX 8192

enum mode {
	M_ECHO, M_BANNER, M_SOURCE, M_SINK, M_HTTP,
	M_SIZES, M_RTT, M_BULK, M_RECV, M_SEND, M_HALFCLOSE, M_EXPECT_RESET, M_BANNER_CLIENT,
	M_HASH,
};

static const struct {
	const char *name;
	enum mode mode;
	int server;
} modes[] = {
	{ "echo", M_ECHO, 1 }, { "banner", M_BANNER, 1 }, { "source", M_SOURCE, 1 },
	{ "sink", M_SINK, 1 }, { "http", M_HTTP, 1 }, { "sizes", M_SIZES, 0 },
	{ "rtt", M_RTT, 0 }, { "bulk", M_BULK, 0 }, { "recv", M_RECV, 0 },
	{ "send", M_SEND, 0 }, { "halfclose", M_HALFCLOSE, 0 },
	{ "expect-reset", M_EXPECT_RESET, 0 }, { "banner-client", M_BANNER_CLIENT, 0 },
	{ "hash", M_HASH, 0 },
};

static const char usage_text[] =
"usage: mptcp MODE [HOST:PORT] [options]\n"
"\n"
"servers (run until SIGTERM; print \"listening addr=HOST:PORT\" once bound;\n"
"port 0 picks a free one):\n"
"  echo HOST:PORT                   echo every byte; on EOF finish, shut, close\n"
"  banner HOST:PORT --text STR      send STR\\n on connect, then echo\n"
"  source HOST:PORT --bytes N [--seed S]\n"
"                                   send N stream bytes, shutdown(SHUT_WR), drain\n"
"  sink HOST:PORT                   discard; per connection on close prints\n"
"                                   \"conn bytes=N hash=H how=eof|reset secs=T\"\n"
"  http HOST:PORT [--bytes N]       HTTP/1.1 200 with N stream bytes (seed 1,\n"
"                                   default N=0); GET /hello: \"hello from upstream\"\n"
"clients (print one \"ok key=value ...\" line on success):\n"
"  sizes HOST:PORT --sizes A,B,...  one echo round trip per size, byte-exact\n"
"      ok n= bytes= connect_ms= first_ms= min_ms= p50_ms= p90_ms= p99_ms= max_ms= mean_ms= secs=\n"
"  rtt HOST:PORT [--count N] [--size B] [--conns C]   N round trips of B bytes\n"
"      (100, 100) on each of C connections at once (1)\n"
"      ok n= size= bytes= connect_ms= first_ms= min_ms= ... (as sizes) conns= per_s=\n"
"      (n: all round trips; per_s: n over the seconds from the first connect\n"
"      to the last round trip); --hold: print it, then keep every connection\n"
"      open, idle, until SIGTERM (exit 0)\n"
"  bulk HOST:PORT --bytes N [--conns C]   C connections each echo N bytes (seed =\n"
"      connection index) concurrently both ways\n"
"      ok conns= bytes=TOTAL secs= rate=B/s conn_min_secs= conn_max_secs=\n"
"  recv HOST:PORT --bytes N [--seed S] [--pause SECS]   read N stream bytes to EOF,\n"
"      not reading for SECS first\n"
"      ok bytes= hash= secs= read_secs= rate=B/s\n"
"  send HOST:PORT --bytes N [--seed S]    send N stream bytes, shut, wait for EOF\n"
"      ok bytes= hash= secs= rate=B/s\n"
"  halfclose HOST:PORT --bytes N          send N, shut at once, read the echo to EOF\n"
"      ok bytes= hash= eof_ms= secs=\n"
"  expect-reset HOST:PORT [--text STR]    connection must be reset or closed with\n"
"      no data before --timeout:  ok how=reset|eof reset_ms=\n"
"  banner-client HOST:PORT --text STR     first line received must be STR\n"
"      ok bytes= line_ms=\n"
"  hash --bytes N [--seed S]              ok bytes= seed= hash=  (no network)\n"
"\n"
"options:\n"
"  --timeout SECS   hard limit, exit 1 when exceeded (clients 60; servers none)\n"
"  --bytes N  --seed S  --conns C  --count N  --size B  --sizes LIST  --text STR\n"
"  --pause SECS  --sndbuf BYTES  --rcvbuf BYTES (SO_SNDBUF/SO_RCVBUF)\n"
"  -v               log connections to stderr\n"
"  -h, --help       this text\n"
"\n"
"stream of seed S: ChaCha20 keystream, key = S (8 bytes LE) || \"mptcp-stream\" ||\n"
"12 zero bytes, nonce \"mptcp-v1\"; hash = XXH3_64bits in hex.  Exit 0 ok, 1\n"
"failure or timeout (one line on stderr), 64 usage.\n";

struct conn {
	int fd;
	unsigned idx;
	int connecting, paused, rd_eof, wr_shut, shut_after, closed, responded;

	uint8_t *out;                 /* pending output out[ooff..olen) */
	size_t ocap, ooff, olen;
	uint64_t seed, gen_off, gen_end; /* stream bytes queued so far / to queue */
	uint64_t tx, rx;

	XXH3_state_t *htx, *hrx;      /* hashes of the stream sent / received */
	int check;                    /* compare input with the stream (seed) */

	uint64_t t_start, t_conn, t_read, t_last_rx, t_shut, t_end;

	size_t round;                 /* ping-pong: current round */
	uint64_t round_end, t_round;  /* rx at the end of it, its start */

	char *line;                   /* http request / banner line so far */
	size_t llen, lcap;
};

static struct ev *loop;
static enum mode mode;
static const char *mode_name = "?";
static int is_server;

/* options */
static uint64_t opt_bytes, opt_seed, opt_conns = 1, opt_count = 100, opt_size = 100;
static uint64_t opt_sndbuf, opt_rcvbuf;
static double opt_timeout = 60, opt_pause;
static int opt_hold;            /* rtt: keep the connections open, idle */
static uint64_t t_timeout;      /* the clients' time limit's timer */
static char *opt_sizes, *opt_text;
static int opt_verbose;

static struct sockaddr_storage addr;
static socklen_t addrlen;
static char addr_str[64];

static uint8_t rbuf[RBUF_SIZE], ebuf[RBUF_SIZE];

/* clients */
static struct conn **conns;
static size_t nconns, ndone;
static uint64_t *sizes;       /* ping-pong round sizes */
static size_t nsizes;
static double *lat_ms;        /* per round: connection idx's at idx * nsizes */
static uint64_t t0;
static const char *end_how;   /* expect-reset */

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char *fmt, ...)
{
	va_list ap;
	fflush(stdout);
	fprintf(stderr, "mptcp: %s: ", mode_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static double ms_since(uint64_t from, uint64_t to)
{
	return to > from ? (double)(to - from) / 1000.0 : 0.0;
}

/* ---- the deterministic stream ---- */

static const uint8_t stream_nonce[8] = { 'm', 'p', 't', 'c', 'p', '-', 'v', '1' };

static void stream_key(uint64_t seed, uint8_t key[32])
{
	memset(key, 0, 32);
	for (int i = 0; i < 8; i++)
		key[i] = (uint8_t)(seed >> (8 * i));
	memcpy(key + 8, "mptcp-stream", 12);
}

/* Bytes [off, off+len) of the stream of seed: the keystream is random
 * access (block counter = off / 64), so a checker needs no state. */
static void stream_fill(uint64_t seed, uint64_t off, uint8_t *buf, size_t len)
{
	uint8_t key[32], block[64];
	uint64_t ic = off / 64;
	size_t skip = (size_t)(off % 64);
	stream_key(seed, key);
	if (skip && len) {
		size_t n = 64 - skip < len ? 64 - skip : len;
		memset(block, 0, sizeof(block));
		crypto_stream_chacha20_xor_ic(block, block, sizeof(block), stream_nonce, ic, key);
		memcpy(buf, block + skip, n);
		buf += n;
		len -= n;
		ic++;
	}
	if (len) {
		memset(buf, 0, len);
		crypto_stream_chacha20_xor_ic(buf, buf, len, stream_nonce, ic, key);
	}
}

static XXH3_state_t *hash_new(void)
{
	XXH3_state_t *h = XXH3_createState();
	if (!h)
		fatal(EXIT_OSERR, "out of memory");
	XXH3_64bits_reset(h);
	return h;
}

/* ---- sockets ---- */

static void raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	rlim_t want = rl.rlim_max == RLIM_INFINITY ? (rlim_t)1 << 20 : rl.rlim_max;
	if (rl.rlim_cur < want) {
		rl.rlim_cur = want;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			log_warn("cannot raise the open file limit: %s", strerror(errno));
	}
}

static void sock_opts(int fd)
{
	int one = 1;
	/* Round trips are measured: no Nagle delay on partial segments. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (opt_sndbuf) {
		int v = (int)opt_sndbuf;
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
	}
	if (opt_rcvbuf) {
		int v = (int)opt_rcvbuf;
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
	}
}

/* parse_hostport wants a port from 1; port 0 (any free port) is a
 * server's wish worth granting. */
static int parse_addr(const char *s, const char **why)
{
	size_t n = strlen(s);
	if (n >= 2 && n < 80 && !strcmp(s + n - 2, ":0")) {
		char tmp[80];
		memcpy(tmp, s, n - 1);
		tmp[n - 1] = '1';
		tmp[n] = 0;
		if (parse_hostport(tmp, &addr, &addrlen, why))
			return -1;
		if (addr.ss_family == AF_INET)
			((struct sockaddr_in *)(void *)&addr)->sin_port = 0;
		else
			((struct sockaddr_in6 *)(void *)&addr)->sin6_port = 0;
		return 0;
	}
	return parse_hostport(s, &addr, &addrlen, why);
}

/* ---- connections ---- */

static void conn_flush(struct conn *c);
static void conn_input(struct conn *c, const uint8_t *p, size_t n);
static void conn_end(struct conn *c, int err);
static void on_shut(struct conn *c);
static void on_connected(struct conn *c);
static void conn_rd(struct ev *e, int fd, void *ctx);
static void conn_wr(struct ev *e, int fd, void *ctx);
static void on_pause_over(struct ev *e, void *ctx);

static struct conn *conn_new(int fd, size_t ocap)
{
	struct conn *c = xcalloc(1, sizeof(*c));
	c->fd = fd;
	c->ocap = ocap;
	c->out = xmalloc(ocap);
	c->t_start = now_us();
	if (ev_add_fd(loop, fd, conn_rd, conn_wr, c) < 0)
		fail("watch fd %d: %s", fd, strerror(errno));
	return c;
}

static void conn_free(void *p)
{
	struct conn *c = p;
	if (c->htx)
		XXH3_freeState(c->htx);
	if (c->hrx)
		XXH3_freeState(c->hrx);
	free(c->out);
	free(c->line);
	free(c);
}

static int is_echo(void)
{
	return mode == M_ECHO || mode == M_BANNER;
}

static size_t pending(const struct conn *c)
{
	return c->olen - c->ooff;
}

/* Watch for what the connection can use now: read unless paused, at EOF
 * or (echo) the buffer is full; write only while output is queued. */
static void conn_interest(struct conn *c)
{
	if (c->closed)
		return;
	int rd = !c->rd_eof && !c->paused && !c->connecting &&
	         (!is_echo() || pending(c) < c->ocap);
	int wr = c->connecting ||
	         (!c->wr_shut && (pending(c) > 0 || c->gen_off < c->gen_end));
	ev_want_read(loop, c->fd, rd || c->connecting);
	ev_want_write(loop, c->fd, wr);
}

/* Servers forget a connection once it closes; clients keep the record
 * for the summary. */
static void conn_close(struct conn *c)
{
	if (c->closed)
		return;
	c->closed = 1;
	if (!c->t_end)
		c->t_end = now_us();
	ev_del_fd(loop, c->fd);
	close(c->fd);
	c->fd = -1;
	if (is_server)
		ev_defer_free(loop, c, conn_free);
}

/* Queue the next chunk of the stream once the buffer has drained. */
static void out_fill(struct conn *c)
{
	if (c->ooff == c->olen)
		c->ooff = c->olen = 0;
	if (c->olen || c->gen_off >= c->gen_end)
		return;
	uint64_t left = c->gen_end - c->gen_off;
	size_t n = left < c->ocap ? (size_t)left : c->ocap;
	stream_fill(c->seed, c->gen_off, c->out, n);
	if (c->htx)
		XXH3_64bits_update(c->htx, c->out, n);
	c->gen_off += n;
	c->olen = n;
}

static void conn_write_error(struct conn *c, int err)
{
	log_debug("conn %u: write: %s", c->idx, strerror(err));
	if (is_server) {
		conn_close(c);
		return;
	}
	if (mode == M_EXPECT_RESET && (err == EPIPE || err == ECONNRESET)) {
		conn_end(c, ECONNRESET);
		return;
	}
	fail("conn %u: write after %llu bytes: %s", c->idx, (unsigned long long)c->tx,
	     strerror(err));
}

static void conn_flush(struct conn *c)
{
	size_t budget = WRITE_BUDGET;
	if (c->closed || c->connecting)
		return;
	while (!c->wr_shut) {
		out_fill(c);
		if (!pending(c))
			break;
		ssize_t n = send(c->fd, c->out + c->ooff, pending(c), MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0) {
			conn_write_error(c, errno);
			return;
		}
		c->ooff += (size_t)n;
		c->tx += (uint64_t)n;
		if ((size_t)n >= budget)
			break;
		budget -= (size_t)n;
	}
	if (!c->wr_shut && c->shut_after && !pending(c) && c->gen_off >= c->gen_end) {
		if (shutdown(c->fd, SHUT_WR) < 0 && errno != ENOTCONN) {
			conn_write_error(c, errno);
			return;
		}
		c->wr_shut = 1;
		c->t_shut = now_us();
		log_debug("conn %u: shut after %llu bytes", c->idx, (unsigned long long)c->tx);
		on_shut(c);
		if (c->closed)
			return;
	}
	conn_interest(c);
}

static void conn_read(struct conn *c)
{
	for (int i = 0; i < READ_ROUNDS && !c->closed && !c->rd_eof && !c->paused; i++) {
		uint8_t *p = rbuf;
		size_t cap = sizeof(rbuf);
		if (is_echo()) {
			/* Read straight into the output buffer, only into its room. */
			if (c->ooff && c->ocap - c->olen < c->ocap / 4) {
				memmove(c->out, c->out + c->ooff, pending(c));
				c->olen -= c->ooff;
				c->ooff = 0;
			}
			p = c->out + c->olen;
			cap = c->ocap - c->olen;
			if (!cap)
				break;
		}
		ssize_t n = recv(c->fd, p, cap, 0);
		if (n > 0) {
			conn_input(c, p, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		conn_end(c, n == 0 ? 0 : errno);
		break;
	}
	if (!c->closed)
		conn_flush(c);
}

static void conn_check_connect(struct conn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err == EINPROGRESS || err == EALREADY)
		return;
	if (err == 0) {
		/* EPOLLERR/HUP can wake us before the handshake settles:
		 * only a peer name proves the connection is up. */
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		if (getpeername(c->fd, (struct sockaddr *)&ss, &sl) < 0) {
			if (errno == ENOTCONN)
				return;
			err = errno;
		}
	}
	if (err) {
		if (mode == M_EXPECT_RESET && err == ECONNRESET) {
			c->connecting = 0;
			c->t_conn = now_us();
			conn_end(c, err);
			return;
		}
		fail("conn %u: connect to %s: %s", c->idx, addr_str, strerror(err));
	}
	c->connecting = 0;
	c->t_conn = c->t_read = now_us();
	log_debug("conn %u: connected", c->idx);
	on_connected(c);
	if (!c->closed)
		conn_flush(c);
}

static void conn_rd(struct ev *e, int fd, void *ctx)
{
	struct conn *c = ctx;
	(void)e;
	(void)fd;
	if (c->connecting)
		conn_check_connect(c);
	else
		conn_read(c);
}

static void conn_wr(struct ev *e, int fd, void *ctx)
{
	struct conn *c = ctx;
	(void)e;
	(void)fd;
	if (c->connecting)
		conn_check_connect(c);
	else
		conn_flush(c);
}

/* ---- servers ---- */

static int listen_fd = -1;
static unsigned next_idx;

static void http_request(struct conn *c)
{
	char method[16] = "", path[256] = "";
	const char *body = NULL, *status = "200 OK", *type = "application/octet-stream";
	uint64_t blen = opt_bytes;
	c->line[c->llen] = 0;
	if (sscanf(c->line, "%15s %255s HTTP/1.%*c", method, path) != 2) {
		status = "400 Bad Request";
		type = "text/plain";
		body = "bad request\n";
	} else if (!strcmp(path, "/hello")) {
		type = "text/plain";
		body = "hello from upstream\n";
	}
	if (body)
		blen = strlen(body);
	int head = !strcmp(method, "HEAD");
	int n = snprintf((char *)c->out, c->ocap,
	                 "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %llu\r\n"
	                 "Connection: close\r\n\r\n%s",
	                 status, type, (unsigned long long)blen, body && !head ? body : "");
	c->ooff = 0;
	c->olen = (size_t)n;
	if (!body && !head)
		c->gen_end = blen;
	c->shut_after = 1;
	c->responded = 1;
	log_debug("conn %u: http %s %s -> %s", c->idx, method, path, status);
}

static void http_input(struct conn *c, const uint8_t *p, size_t n)
{
	if (c->responded)
		return;
	if (!c->line) {
		c->lcap = HTTP_REQ_MAX;
		c->line = xmalloc(c->lcap + 1);
	}
	size_t take = n < c->lcap - c->llen ? n : c->lcap - c->llen;
	memcpy(c->line + c->llen, p, take);
	c->llen += take;
	c->line[c->llen] = 0;
	if (strstr(c->line, "\r\n\r\n") || strstr(c->line, "\n\n"))
		http_request(c);
	else if (c->llen == c->lcap)
		conn_close(c);  /* no end of headers in 8 KiB: not a client of ours */
}

static void server_input(struct conn *c, const uint8_t *p, size_t n)
{
	/* sink: counted and hashed by conn_input; source: drained */
	if (mode == M_HTTP)
		http_input(c, p, n);
}

static void server_end(struct conn *c, int err)
{
	if (mode == M_SINK) {
		double secs = (double)(now_us() - c->t_start) / 1e6;
		printf("conn bytes=%llu hash=%016llx how=%s secs=%.3f\n", (unsigned long long)c->rx,
		       (unsigned long long)XXH3_64bits_digest(c->hrx),
		       err == 0 ? "eof" : err == ECONNRESET ? "reset" : "error", secs);
		fflush(stdout);
	}
	if (err || mode == M_SINK) {
		conn_close(c);
		return;
	}
	/* EOF: echo finishes its output and shuts, source and http finish
	 * sending; whoever has also shut already is done. */
	if (is_echo())
		c->shut_after = 1;
	if (mode == M_HTTP && !c->responded)
		conn_close(c);
	else if (c->wr_shut)
		conn_close(c);
}

static void accept_resume(struct ev *e, void *ctx)
{
	(void)ctx;
	ev_want_read(e, listen_fd, 1);
}

static void on_accept(struct ev *e, int lfd, void *ctx)
{
	(void)ctx;
	for (int i = 0; i < 64; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				/* Level-triggered: pause rather than spin until a slot frees. */
				log_warn("accept: %s; pausing 100 ms", strerror(errno));
				ev_want_read(e, lfd, 0);
				ev_timer_add(e, 100, accept_resume, NULL);
			} else if (errno != EAGAIN && errno != EWOULDBLOCK) {
				log_warn("accept: %s", strerror(errno));
			}
			return;
		}
		sock_opts(fd);
		struct conn *c = conn_new(fd, is_echo() ? ECHO_BUF : OUT_BUF);
		c->idx = next_idx++;
		log_debug("conn %u: accepted", c->idx);
		switch (mode) {
		case M_BANNER: {
			size_t tl = strlen(opt_text);
			if (tl + 1 > c->ocap) {
				c->ocap = tl + 1;
				c->out = xrealloc(c->out, c->ocap);
			}
			memcpy(c->out, opt_text, tl);
			c->out[tl] = '\n';
			c->olen = tl + 1;
			break;
		}
		case M_SOURCE:
			c->seed = opt_seed;
			c->gen_end = opt_bytes;
			c->shut_after = 1;
			break;
		case M_SINK:
			c->hrx = hash_new();
			break;
		case M_HTTP:
			c->seed = opt_seed;
			break;
		default:
			break;
		}
		conn_flush(c);
	}
}

static void on_stop_signal(struct ev *e, int signo, void *ctx)
{
	(void)ctx;
	log_debug("signal %d: stopping", signo);
	ev_stop(e);
}

static void run_server(void)
{
	int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0)
		fail("socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sock_opts(fd);
	if (bind(fd, (struct sockaddr *)&addr, addrlen) < 0)
		fail("bind %s: %s", addr_str, strerror(errno));
	if (listen(fd, SOMAXCONN) < 0)
		fail("listen %s: %s", addr_str, strerror(errno));
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char buf[64];
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
		fail("getsockname: %s", strerror(errno));
	listen_fd = fd;
	if (ev_add_fd(loop, fd, on_accept, NULL, NULL) < 0 ||
	    ev_signal(loop, SIGTERM, on_stop_signal, NULL) < 0 ||
	    ev_signal(loop, SIGINT, on_stop_signal, NULL) < 0)
		fail("event loop: %s", strerror(errno));
	printf("listening addr=%s\n", sockaddr_str((struct sockaddr *)&ss, buf, sizeof(buf)));
	fflush(stdout);
	if (ev_run(loop) < 0)
		fail("event loop: %s", strerror(errno));
}

/* ---- clients ---- */

static void client_summary(void);

/* rtt --hold: every round trip is done; say so, and keep the connections
 * until a signal, with no time limit. */
static void hold_start(void)
{
	client_summary();
	ev_timer_cancel(loop, t_timeout);
	t_timeout = 0;
	if (ev_signal(loop, SIGTERM, on_stop_signal, NULL) < 0 ||
	    ev_signal(loop, SIGINT, on_stop_signal, NULL) < 0)
		fail("event loop: %s", strerror(errno));
}

static void client_done(struct conn *c)
{
	if (!c->t_end)
		c->t_end = now_us();
	conn_close(c);
	if (++ndone == nconns)
		ev_stop(loop);
}

static void round_start(struct conn *c)
{
	c->t_round = now_us();
	c->gen_end += sizes[c->round];
	c->round_end = c->gen_end;
}

static void on_connected(struct conn *c)
{
	switch (mode) {
	case M_SIZES:
	case M_RTT:
		round_start(c);
		break;
	case M_BULK:
	case M_SEND:
	case M_HALFCLOSE:
		c->gen_end = opt_bytes;
		c->shut_after = 1;
		break;
	case M_RECV:
		if (opt_pause > 0) {
			c->paused = 1;
			ev_timer_add(loop, (uint64_t)(opt_pause * 1000.0), on_pause_over, NULL);
		}
		break;
	case M_EXPECT_RESET:
		if (opt_text) {
			size_t tl = strlen(opt_text);
			if (tl > c->ocap) {
				c->ocap = tl;
				c->out = xrealloc(c->out, c->ocap);
			}
			memcpy(c->out, opt_text, tl);
			c->olen = tl;
		}
		break;
	default:
		break;
	}
}

static void on_shut(struct conn *c)
{
	if (is_server) {
		if (c->rd_eof)
			conn_close(c);
		return;
	}
	/* halfclose with nothing to echo: EOF is timed from the shutdown */
	if (!c->t_last_rx)
		c->t_last_rx = c->t_shut;
}

static void client_input(struct conn *c, const uint8_t *p, size_t n)
{
	c->t_last_rx = now_us();
	switch (mode) {
	case M_SIZES:
	case M_RTT:
		if (c->rx == c->round_end) {
			lat_ms[c->idx * nsizes + c->round] = ms_since(c->t_round, c->t_last_rx);
			if (++c->round < nsizes) {
				round_start(c);
			} else if (opt_hold) {
				c->t_end = c->t_last_rx;
				if (++ndone == nconns)
					hold_start();
			} else {
				c->shut_after = 1;
			}
		}
		break;
	case M_EXPECT_RESET:
		break;  /* counted; judged at the end */
	case M_BANNER_CLIENT: {
		size_t want = strlen(opt_text);
		if (!c->line) {
			c->lcap = want + 1;
			c->line = xmalloc(c->lcap + 1);
		}
		size_t take = n < c->lcap - c->llen ? n : c->lcap - c->llen;
		memcpy(c->line + c->llen, p, take);
		c->llen += take;
		c->line[c->llen] = 0;
		char *nl = memchr(c->line, '\n', c->llen);
		if (nl) {
			size_t ll = (size_t)(nl - c->line);
			if (ll != want || memcmp(c->line, opt_text, want))
				fail("got line '%.*s', want '%s'", (int)(ll > 200 ? 200 : ll), c->line,
				     opt_text);
			c->t_end = c->t_last_rx;
			client_done(c);
		} else if (c->llen == c->lcap) {
			fail("no newline after %zu bytes: '%.*s'", c->llen,
			     (int)(c->llen > 200 ? 200 : c->llen), c->line);
		}
		break;
	}
	default:
		break;
	}
}

/* Every byte a client receives is the stream it expects, at its offset:
 * what was sent so far (echo clients) or --bytes (recv). */
static void check_input(struct conn *c, const uint8_t *p, size_t n)
{
	uint64_t limit = mode == M_RECV ? opt_bytes : c->gen_off;
	if (n > limit - c->rx)
		fail("conn %u: %llu bytes received, more than the %llu %s", c->idx,
		     (unsigned long long)(c->rx + n), (unsigned long long)limit,
		     mode == M_RECV ? "expected" : "sent so far");
	stream_fill(c->seed, c->rx, ebuf, n);
	if (memcmp(p, ebuf, n)) {
		size_t i = 0;
		while (p[i] == ebuf[i])
			i++;
		fail("conn %u: byte %llu differs: got 0x%02x, want 0x%02x", c->idx,
		     (unsigned long long)(c->rx + i), p[i], ebuf[i]);
	}
}

static void conn_input(struct conn *c, const uint8_t *p, size_t n)
{
	if (is_echo()) {
		c->olen += n;  /* already in place */
		c->rx += n;
		return;
	}
	if (c->check)
		check_input(c, p, n);
	if (c->hrx)
		XXH3_64bits_update(c->hrx, p, n);
	c->rx += n;
	if (is_server)
		server_input(c, p, n);
	else
		client_input(c, p, n);
}

static void client_end(struct conn *c, int err)
{
	c->t_end = now_us();
	if (mode == M_EXPECT_RESET) {
		if (err && err != ECONNRESET)
			fail("read: %s", strerror(err));
		end_how = err ? "reset" : "eof";
		if (c->rx)
			fail("got %llu bytes before %s", (unsigned long long)c->rx, end_how);
		client_done(c);
		return;
	}
	if (err)
		fail("conn %u: read after %llu bytes: %s", c->idx, (unsigned long long)c->rx,
		     strerror(err));
	switch (mode) {
	case M_SIZES:
	case M_RTT:
		if (c->round < nsizes)
			fail("EOF in round %zu of %zu after %llu bytes", c->round + 1, nsizes,
			     (unsigned long long)c->rx);
		break;
	case M_BULK:
	case M_HALFCLOSE:
		if (c->rx != opt_bytes)
			fail("conn %u: EOF after %llu of %llu bytes", c->idx, (unsigned long long)c->rx,
			     (unsigned long long)opt_bytes);
		if (XXH3_64bits_digest(c->hrx) != XXH3_64bits_digest(c->htx))
			fail("conn %u: hash of the echo differs", c->idx);
		break;
	case M_RECV:
		if (c->rx != opt_bytes)
			fail("EOF after %llu of %llu bytes", (unsigned long long)c->rx,
			     (unsigned long long)opt_bytes);
		break;
	case M_BANNER_CLIENT:
		fail("EOF after %zu bytes, no line", c->llen);
	default:
		break;
	}
	log_debug("conn %u: EOF after %llu bytes", c->idx, (unsigned long long)c->rx);
	client_done(c);
}

static void conn_end(struct conn *c, int err)
{
	c->rd_eof = 1;
	if (is_server)
		server_end(c, err);
	else
		client_end(c, err);
}

static void on_pause_over(struct ev *e, void *ctx)
{
	(void)e;
	(void)ctx;
	for (size_t i = 0; i < nconns; i++) {
		struct conn *c = conns[i];
		if (c->closed || c->connecting)
			continue;
		c->paused = 0;
		c->t_read = now_us();
		conn_interest(c);
	}
}

static void progress(char *buf, size_t n)
{
	struct conn *c = conns[0];
	switch (mode) {
	case M_SIZES:
	case M_RTT:
		snprintf(buf, n, "in round %zu of %zu, %llu bytes sent, %llu received",
		         c->round + 1, nsizes, (unsigned long long)c->tx, (unsigned long long)c->rx);
		break;
	case M_EXPECT_RESET:
		snprintf(buf, n, "connection %s, %llu bytes received",
		         c->connecting ? "still connecting" : "still open", (unsigned long long)c->rx);
		break;
	case M_BULK: {
		uint64_t tx = 0, rx = 0;
		size_t connected = 0;
		for (size_t i = 0; i < nconns; i++) {
			tx += conns[i]->tx;
			rx += conns[i]->rx;
			connected += !conns[i]->connecting;
		}
		snprintf(buf, n, "%zu of %zu connections done, %zu connected, %llu bytes sent, "
		         "%llu received", ndone, nconns, connected, (unsigned long long)tx,
		         (unsigned long long)rx);
		break;
	}
	default:
		snprintf(buf, n, "%s, %llu bytes sent, %llu received",
		         c->connecting ? "connecting" : c->wr_shut ? "shut" : "open",
		         (unsigned long long)c->tx, (unsigned long long)c->rx);
		break;
	}
}

static void on_timeout(struct ev *e, void *ctx)
{
	char what[256];
	(void)e;
	(void)ctx;
	if (is_server)
		fail("timeout after %g s", opt_timeout);
	progress(what, sizeof(what));
	fail("timeout after %g s: %s", opt_timeout, what);
}

static void client_connect(struct conn **slot, unsigned idx)
{
	int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		fail("socket: %s", strerror(errno));
	sock_opts(fd);
	struct conn *c = conn_new(fd, OUT_BUF);
	c->idx = idx;
	c->seed = mode == M_BULK ? idx : opt_seed;
	c->check = mode != M_EXPECT_RESET && mode != M_BANNER_CLIENT && mode != M_SEND;
	if (c->check || mode == M_SEND)
		c->hrx = hash_new();
	if (mode == M_BULK || mode == M_HALFCLOSE || mode == M_SEND)
		c->htx = hash_new();
	*slot = c;
	c->connecting = 1;
	if (connect(fd, (struct sockaddr *)&addr, addrlen) < 0 && errno != EINPROGRESS)
		fail("conn %u: connect to %s: %s", idx, addr_str, strerror(errno));
	conn_interest(c);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Nearest rank: the smallest value with at least p of them at or below. */
static double percentile(const double *sorted, size_t n, double p)
{
	size_t k = (size_t)ceil(p * (double)n);
	return sorted[k ? (k > n ? n : k) - 1 : 0];
}

/* Over every round of every connection; connect_ms and first_ms are
 * the first connection's, secs runs to the last connection's end. */
static void latency_summary(void)
{
	size_t n = nsizes * nconns;
	double *s = xmalloc(n * sizeof(*s));
	double sum = 0;
	uint64_t total = 0, last = 0;
	memcpy(s, lat_ms, n * sizeof(*s));
	for (size_t i = 0; i < n; i++) {
		sum += s[i];
		total += sizes[i % nsizes];
	}
	for (size_t i = 0; i < nconns; i++)
		last = conns[i]->t_end > last ? conns[i]->t_end : last;
	qsort(s, n, sizeof(*s), cmp_double);
	struct conn *c = conns[0];
	double secs = (double)(last - t0) / 1e6;
	printf("ok n=%zu", n);
	if (mode == M_RTT)
		printf(" size=%llu", (unsigned long long)opt_size);
	printf(" bytes=%llu connect_ms=%.3f first_ms=%.3f min_ms=%.3f p50_ms=%.3f p90_ms=%.3f "
	       "p99_ms=%.3f max_ms=%.3f mean_ms=%.3f secs=%.3f",
	       (unsigned long long)total, ms_since(c->t_start, c->t_conn), lat_ms[0], s[0],
	       percentile(s, n, 0.50),
	       percentile(s, n, 0.90), percentile(s, n, 0.99), s[n - 1], sum / (double)n, secs);
	if (mode == M_RTT)
		printf(" conns=%zu per_s=%.1f", nconns, secs > 0 ? (double)n / secs : 0.0);
	printf("\n");
	free(s);
}

static double rate(uint64_t bytes, uint64_t us)
{
	return us ? (double)bytes * 1e6 / (double)us : 0.0;
}

static void client_summary(void)
{
	struct conn *c = conns[0];
	uint64_t secs_us = c->t_end - t0;
	switch (mode) {
	case M_SIZES:
	case M_RTT:
		latency_summary();
		break;
	case M_BULK: {
		uint64_t last = 0, cmin = UINT64_MAX, cmax = 0;
		for (size_t i = 0; i < nconns; i++) {
			uint64_t d = conns[i]->t_end - conns[i]->t_start;
			cmin = d < cmin ? d : cmin;
			cmax = d > cmax ? d : cmax;
			last = conns[i]->t_end > last ? conns[i]->t_end : last;
		}
		uint64_t total = opt_bytes * nconns;
		printf("ok conns=%zu bytes=%llu secs=%.3f rate=%.0f conn_min_secs=%.3f "
		       "conn_max_secs=%.3f\n", nconns, (unsigned long long)total,
		       (double)(last - t0) / 1e6, rate(total, last - t0), (double)cmin / 1e6,
		       (double)cmax / 1e6);
		break;
	}
	case M_RECV:
		printf("ok bytes=%llu hash=%016llx secs=%.3f read_secs=%.3f rate=%.0f\n",
		       (unsigned long long)c->rx, (unsigned long long)XXH3_64bits_digest(c->hrx),
		       (double)secs_us / 1e6, (double)(c->t_end - c->t_read) / 1e6,
		       rate(c->rx, c->t_end - c->t_read));
		break;
	case M_SEND:
		printf("ok bytes=%llu hash=%016llx secs=%.3f rate=%.0f\n", (unsigned long long)c->tx,
		       (unsigned long long)XXH3_64bits_digest(c->htx), (double)secs_us / 1e6,
		       rate(c->tx, c->t_end - c->t_conn));
		break;
	case M_HALFCLOSE:
		printf("ok bytes=%llu hash=%016llx eof_ms=%.3f secs=%.3f\n", (unsigned long long)c->rx,
		       (unsigned long long)XXH3_64bits_digest(c->hrx), ms_since(c->t_last_rx, c->t_end),
		       (double)secs_us / 1e6);
		break;
	case M_EXPECT_RESET:
		printf("ok how=%s reset_ms=%.3f\n", end_how, ms_since(c->t_conn, c->t_end));
		break;
	case M_BANNER_CLIENT:
		printf("ok bytes=%zu line_ms=%.3f\n", c->llen, ms_since(c->t_conn, c->t_end));
		break;
	default:
		break;
	}
	fflush(stdout);
}

static void run_client(void)
{
	nconns = mode == M_BULK || mode == M_RTT ? (size_t)opt_conns : 1;
	if (mode == M_SIZES || mode == M_RTT)
		lat_ms = xcalloc(nsizes * nconns, sizeof(*lat_ms));
	conns = xcalloc(nconns, sizeof(*conns));
	t0 = now_us();
	t_timeout = ev_timer_add(loop, (uint64_t)(opt_timeout * 1000.0), on_timeout, NULL);
	for (size_t i = 0; i < nconns; i++)
		client_connect(&conns[i], (unsigned)i);
	if (ev_run(loop) < 0)
		fail("event loop: %s", strerror(errno));
	if (!opt_hold)
		client_summary();
	for (size_t i = 0; i < nconns; i++)
		conn_free(conns[i]);
	free(conns);
	free(lat_ms);
}

static int parse_sizes(const char *list)
{
	const char *p = list;
	nsizes = 0;
	for (const char *q = list; *q; q++)
		nsizes += *q == ',';
	nsizes++;
	sizes = xcalloc(nsizes, sizeof(*sizes));
	for (size_t i = 0; i < nsizes; i++) {
		char num[32];
		size_t len = strcspn(p, ",");
		if (len == 0 || len >= sizeof(num))
			return -1;
		memcpy(num, p, len);
		num[len] = 0;
		if (parse_u64(num, 1, (uint64_t)1 << 30, &sizes[i]))
			return -1;
		p += len + (p[len] == ',');
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct opt opts[] = {
		{ "timeout", 0, OPT_DBL, "SECS", "hard time limit (clients 60, servers none)",
		  &opt_timeout, 0.001, 1e6, 0 },
		{ "bytes", 0, OPT_U64, "N", "stream length", &opt_bytes, 0, (double)(1ull << 50), 0 },
		{ "seed", 0, OPT_U64, "S", "stream seed (0; http 1)", &opt_seed, 0, 1e18, 0 },
		{ "conns", 0, OPT_U64, "C", "bulk, rtt: connections (1)", &opt_conns, 1, 1000000, 0 },
		{ "count", 0, OPT_U64, "N", "rtt: round trips (100)", &opt_count, 1, 100000000, 0 },
		{ "size", 0, OPT_U64, "B", "rtt: bytes per round trip (100)", &opt_size, 1,
		  (double)(1u << 30), 0 },
		{ "sizes", 0, OPT_STR, "LIST", "sizes: comma-separated sizes", &opt_sizes, 0, 0, 0 },
		{ "text", 0, OPT_STR, "STR", "banner text", &opt_text, 0, 0, 0 },
		{ "pause", 0, OPT_DBL, "SECS", "recv: do not read at first (0)", &opt_pause, 0, 1e6, 0 },
		{ "sndbuf", 0, OPT_U64, "BYTES", "SO_SNDBUF", &opt_sndbuf, 1, 1 << 30, 0 },
		{ "rcvbuf", 0, OPT_U64, "BYTES", "SO_RCVBUF", &opt_rcvbuf, 1, 1 << 30, 0 },
		{ "verbose", 'v', OPT_COUNT, NULL, "log connections", &opt_verbose, 0, 0, 0 },
		{ "hold", 0, OPT_FLAG, NULL, "rtt: then hold the connections until SIGTERM", &opt_hold, 0, 0, 0 },
	};
	enum { O_TIMEOUT, O_BYTES, O_SEED, O_CONNS, O_COUNT, O_SIZE, O_SIZES, O_TEXT };
	char err[CONF_ERR_MAX], *pos[1];
	int npos = 0, rc;
	const char *why;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs(usage_text, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : 0;
	}
	size_t m;
	for (m = 0; m < ARRAY_LEN(modes); m++)
		if (!strcmp(argv[1], modes[m].name))
			break;
	if (m == ARRAY_LEN(modes)) {
		fprintf(stderr, "mptcp: unknown mode '%s' (mptcp -h)\n", argv[1]);
		return EXIT_USAGE;
	}
	mode = modes[m].mode;
	mode_name = modes[m].name;
	is_server = modes[m].server;
	rc = conf_parse_argv(opts, ARRAY_LEN(opts), argc - 1, argv + 1, pos, 1, &npos, err,
	                     sizeof(err));
	if (rc) {
		if (rc < 0)
			fprintf(stderr, "mptcp: %s: %s\n", mode_name, err);
		else
			fputs(usage_text, stdout);
		conf_free(opts, ARRAY_LEN(opts));
		return rc < 0 ? EXIT_USAGE : 0;
	}
	log_init("mptcp", 1, opt_verbose);
	if (sodium_init() < 0)
		fatal(EXIT_SOFTWARE, "mptcp: sodium_init failed");

	/* What each mode needs. */
	const char *missing = NULL;
	if (mode == M_HASH ? npos != 0 : npos != 1)
		missing = mode == M_HASH ? "no HOST:PORT" : "HOST:PORT";
	else if ((mode == M_SOURCE || mode == M_BULK || mode == M_RECV || mode == M_SEND ||
	          mode == M_HALFCLOSE || mode == M_HASH) && !opts[O_BYTES].cli_set)
		missing = "--bytes N";
	else if ((mode == M_BANNER || mode == M_BANNER_CLIENT) && !opt_text)
		missing = "--text STR";
	else if (mode == M_SIZES && !opt_sizes)
		missing = "--sizes LIST";
	if (missing) {
		fprintf(stderr, "mptcp: %s: needs %s (mptcp -h)\n", mode_name, missing);
		conf_free(opts, ARRAY_LEN(opts));
		return EXIT_USAGE;
	}
	if (mode == M_BANNER_CLIENT && strchr(opt_text, '\n')) {
		fprintf(stderr, "mptcp: %s: --text must be one line\n", mode_name);
		conf_free(opts, ARRAY_LEN(opts));
		return EXIT_USAGE;
	}
	if (mode == M_SIZES && parse_sizes(opt_sizes)) {
		fprintf(stderr, "mptcp: sizes: --sizes wants numbers from 1 to 2^30, comma-separated\n");
		conf_free(opts, ARRAY_LEN(opts));
		return EXIT_USAGE;
	}
	if (opt_hold && mode != M_RTT) {
		fprintf(stderr, "mptcp: %s: --hold is for rtt\n", mode_name);
		conf_free(opts, ARRAY_LEN(opts));
		return EXIT_USAGE;
	}
	if (mode == M_RTT) {
		if (opt_count * opt_conns > 100000000) {
			fprintf(stderr, "mptcp: rtt: --count times --conns is over 100,000,000 round trips\n");
			conf_free(opts, ARRAY_LEN(opts));
			return EXIT_USAGE;
		}
		nsizes = (size_t)opt_count;
		sizes = xcalloc(nsizes, sizeof(*sizes));
		for (size_t i = 0; i < nsizes; i++)
			sizes[i] = opt_size;
	}
	if (mode == M_HTTP && !opts[O_SEED].cli_set)
		opt_seed = 1;

	if (mode == M_HASH) {
		XXH3_state_t *h = hash_new();
		for (uint64_t off = 0; off < opt_bytes; off += sizeof(rbuf)) {
			size_t n = opt_bytes - off < sizeof(rbuf) ? (size_t)(opt_bytes - off) : sizeof(rbuf);
			stream_fill(opt_seed, off, rbuf, n);
			XXH3_64bits_update(h, rbuf, n);
		}
		printf("ok bytes=%llu seed=%llu hash=%016llx\n", (unsigned long long)opt_bytes,
		       (unsigned long long)opt_seed, (unsigned long long)XXH3_64bits_digest(h));
		XXH3_freeState(h);
		conf_free(opts, ARRAY_LEN(opts));
		return 0;
	}

	if (parse_addr(pos[0], &why) < 0) {
		fprintf(stderr, "mptcp: %s: address '%s': %s\n", mode_name, pos[0], why);
		conf_free(opts, ARRAY_LEN(opts));
		return EXIT_USAGE;
	}
	snprintf(addr_str, sizeof(addr_str), "%s", pos[0]);
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	loop = ev_new();
	if (!is_server) {
		run_client();
	} else {
		if (opts[O_TIMEOUT].cli_set)
			ev_timer_add(loop, (uint64_t)(opt_timeout * 1000.0), on_timeout, NULL);
		run_server();
	}
	ev_free(loop);
	free(sizes);
	conf_free(opts, ARRAY_LEN(opts));
	return 0;
}
