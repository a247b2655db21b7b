/* Unit tests of session: real client and server sessions in a real ev loop,
 * joined by an in-memory transport the test drives by hand (in order, in
 * random order, with duplicates, refusing with EAGAIN, or holding
 * everything back), with socketpairs (or TCP on loopback, where a reset
 * must be seen as one) standing for the local connection and the upstream.
 *
 * The transport checks every message a session hands it: it decodes, it
 * carries the session's id, sequenced messages are numbered 0, 1, 2, ...
 * without a gap or a repeat, and none goes beyond the window the peer's
 * credit allows.  So every test below also tests those rules.
 *
 * Every wait is bounded (RUN_UNTIL fails the test at its time limit), and
 * every fd is closed. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ev.h"
#include "log.h"
#include "proxymsg.h"
#include "session.h"
#include "util.h"

#define W SESSION_WINDOW
/* What session_memory may grow by: a full window of the largest messages. */
#define WINDOW_BYTES ((size_t)W * (PMSG_DATA_MAX + 64))

static void quiet(void)
{
	/* TEST_VERBOSE=1 shows the sessions' debug log. */
	log_init("test_session", 1, getenv("TEST_VERBOSE") ? 2 : -2);
}

/* ---- a seeded PRNG (splitmix64) ---- */

static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

static unsigned rnd(uint64_t *s, unsigned n)
{
	return n ? (unsigned)(rng_next(s) % n) : 0;
}

static void sp(int fd[2])
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, fd), 0);
	ck_assert_int_eq(fd_nonblock(fd[0]), 0);
	ck_assert_int_eq(fd_nonblock(fd[1]), 0);
}

/* A connected TCP pair on loopback: *app is the connecting end, *local
 * the accepted one. */
static void tcp_pair(int *app, int *local)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t sl = sizeof(sa);
	int l = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(l, 0);
	ck_assert_int_eq(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(l, 1), 0);
	ck_assert_int_eq(getsockname(l, (struct sockaddr *)&sa, &sl), 0);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(c, 0);
	ck_assert_int_eq(connect(c, (struct sockaddr *)&sa, sizeof(sa)), 0);
	int a = accept(l, NULL, NULL);
	ck_assert_int_ge(a, 0);
	close(l);
	ck_assert_int_eq(fd_nonblock(c), 0);
	ck_assert_int_eq(fd_nonblock(a), 0);
	*app = c;
	*local = a;
}

/* ---- the in-memory transport ---- */

struct tmsg {
	size_t len;
	uint8_t b[];
};

struct net;

/* One side: a session, its local socket pair, and the queue of what it
 * sent and the test has not delivered yet. */
struct end {
	struct net *net;
	struct end *peer;
	const char *name;
	struct session *s;
	int app, local;           /* the test's end, the session's end */
	int started, done, clean;
	struct session_stats stats; /* as they were at done */
	struct tmsg **q;
	size_t nq, capq, maxq;
	unsigned eagain_pct;      /* refuse this share of sends with EAGAIN */
	int full;                 /* refuse everything */
	int want_room;            /* refused: the owner owes a session_on_room */
	int discard;              /* drop what is sent (raw tests) */
	uint16_t next_id;         /* the id its next sequenced message must have */
	uint16_t credit_heard;    /* the peer's credit, as delivered to it */
	int close_sent;
	unsigned long kinds[8];   /* messages sent, by kind */
	unsigned long refused, on_rooms;
	char reset_why[PMSG_REASON_MAX + 1];
};

struct net {
	struct ev *ev;
	struct session_cfg cfg;
	struct session_io io;
	uint8_t sid[PMSG_SID_BYTES];
	struct end c, s;
	uint64_t rng;
	int reorder;              /* deliver a random queued message, not the oldest */
	unsigned dup_pct;         /* a delivered message stays queued to come again */
	int hold;                 /* deliver nothing */
	int chaos;                /* flip `full` at random, spurious session_on_room */
	int use_waitq;            /* the owner's waitq calls session_on_room, not the test */
};

static void push(struct end *e, const uint8_t *msg, size_t len)
{
	if (e->nq == e->capq) {
		e->capq = e->capq ? e->capq * 2 : 64;
		e->q = xrealloc(e->q, e->capq * sizeof(*e->q));
	}
	struct tmsg *t = xmalloc(sizeof(*t) + len);
	t->len = len;
	memcpy(t->b, msg, len);
	e->q[e->nq++] = t;
	if (e->nq > e->maxq)
		e->maxq = e->nq;
}

static int t_send(struct session *s, const uint8_t *msg, size_t len, void *ctx)
{
	struct end *e = ctx;
	ck_assert_ptr_eq(s, e->s);
	ck_assert_msg(!e->done, "%s: send after done", e->name);
	if (e->full || (e->eagain_pct && rnd(&e->net->rng, 100) < e->eagain_pct)) {
		e->want_room = 1;
		e->refused++;
		errno = EAGAIN;
		return -1;
	}
	struct pmsg m;
	const char *why = NULL;
	ck_assert_msg(pmsg_decode(msg, len, &m, &why) == 0, "%s sent a malformed message: %s",
	              e->name, why);
	ck_assert_mem_eq(m.sid, e->net->sid, PMSG_SID_BYTES);
	if (pmsg_sequenced(m.kind)) {
		ck_assert_msg(!e->close_sent, "%s: %s after its close", e->name, pmsg_kind_name(m.kind));
		ck_assert_msg(m.id == e->next_id, "%s sent %s id %u, expected %u", e->name,
		              pmsg_kind_name(m.kind), m.id, e->next_id);
		ck_assert_msg(pmsg_dist(e->credit_heard, m.id) < W,
		              "%s sent id %u beyond the window (credit %u)", e->name, m.id,
		              e->credit_heard);
		ck_assert_msg(m.kind != PMSG_OPEN || e == &e->net->c, "%s sent an open", e->name);
		e->next_id++;
		if (m.kind == PMSG_CLOSE)
			e->close_sent = 1;
	}
	if (m.kind == PMSG_RESET) {
		memcpy(e->reset_why, m.data, m.len);
		e->reset_why[m.len] = 0;
	}
	e->kinds[m.kind]++;
	if (!e->discard)
		push(e, msg, len);
	return 0;
}


static void t_done(struct session *s, int clean, void *ctx)
{
	struct end *e = ctx;
	ck_assert_ptr_eq(s, e->s);
	ck_assert_msg(!e->done, "%s: done twice", e->name);
	ck_assert_int_eq(session_is_done(s), 1);
	e->done = 1;
	e->clean = clean;
	session_get_stats(s, &e->stats);
	e->local = -1;   /* closed by the session */
	session_release(s);
}

static void net_init(struct net *n, struct ev *ev, uint64_t seed)
{
	memset(n, 0, sizeof(*n));
	n->ev = ev;
	n->rng = seed;
	n->cfg.idle_timeout_s = 0;
	n->cfg.close_timeout_s = 30;
	n->cfg.connect_timeout_s = 10;
	n->io.send = t_send;
	n->io.done = t_done;
	for (int i = 0; i < PMSG_SID_BYTES; i++)
		n->sid[i] = (uint8_t)rng_next(&n->rng);
	n->c.net = n->s.net = n;
	n->c.peer = &n->s;
	n->s.peer = &n->c;
	n->c.name = "client";
	n->s.name = "server";
	n->c.app = n->c.local = n->s.app = n->s.local = -1;
	n->c.next_id = n->s.next_id = PMSG_ID_FIRST;
	n->c.credit_heard = n->s.credit_heard = PMSG_ID_FIRST;
}

static void start_client(struct net *n, int app, int local)
{
	n->c.app = app;
	n->c.local = local;
	n->c.s = session_new(n->ev, SESSION_CLIENT, n->sid, &n->cfg, &n->io, &n->c, NULL);
	ck_assert_ptr_nonnull(n->c.s);
	n->c.started = 1;
	session_start_client(n->c.s, local);
}

static void start_server(struct net *n, int app, int local, int connecting,
                         struct session_waitq *q)
{
	n->s.app = app;
	n->s.local = local;
	n->s.s = session_new(n->ev, SESSION_SERVER, n->sid, &n->cfg, &n->io, &n->s, q);
	ck_assert_ptr_nonnull(n->s.s);
	n->s.started = 1;
	session_start_server(n->s.s, local, connecting);
}

/* Both sessions on socketpairs: c.app is the client's application, s.app
 * the upstream service. */
static void net_start(struct net *n)
{
	int a[2], b[2];
	sp(a);
	sp(b);
	start_client(n, a[0], a[1]);
	start_server(n, b[0], b[1], 0, NULL);
}

static void net_free(struct net *n)
{
	struct end *ends[2] = { &n->c, &n->s };
	for (int k = 0; k < 2; k++) {
		struct end *e = ends[k];
		if (e->started && !e->done)
			session_free(e->s);     /* closes its socket */
		else if (!e->started && e->local >= 0)
			close(e->local);
		if (e->app >= 0)
			close(e->app);
		e->app = e->local = -1;
		for (size_t i = 0; i < e->nq; i++)
			free(e->q[i]);
		free(e->q);
		e->q = NULL;
		e->nq = e->capq = 0;
	}
}

/* Hand a message to a session as the owner does, and note the credit it
 * carries for the window check of t_send (take_credit's rule). */
static void feed(struct end *to, const struct pmsg *m)
{
	if (pmsg_dist(to->credit_heard, m->credit) <= pmsg_dist(to->credit_heard, to->next_id))
		to->credit_heard = m->credit;
	session_input(to->s, m);
}

static int deliver_one(struct net *n, struct end *from)
{
	if (!from->nq)
		return 0;
	size_t i = n->reorder ? rnd(&n->rng, (unsigned)from->nq) : 0;
	struct tmsg *t = from->q[i];
	int keep = n->dup_pct && rnd(&n->rng, 100) < n->dup_pct;
	if (!keep) {
		if (n->reorder)
			from->q[i] = from->q[from->nq - 1];
		else
			memmove(from->q, from->q + 1, (from->nq - 1) * sizeof(*from->q));
		from->nq--;
	}
	struct end *to = from->peer;
	if (to->started && !to->done) {
		struct pmsg m;
		const char *why;
		ck_assert_int_eq(pmsg_decode(t->b, t->len, &m, &why), 0);
		feed(to, &m);
	}
	if (!keep)
		free(t);
	return 1;
}

/* Encode a message as a peer would, decode it as the owner would, feed it.
 * id and credit count from the session's first id (PMSG_ID_FIRST). */
static void inject(struct end *to, enum pmsg_kind k, uint16_t id, uint16_t credit,
                   const void *data, size_t len)
{
	struct pmsg m = { .kind = k, .id = (uint16_t)(PMSG_ID_FIRST + id),
	                  .credit = (uint16_t)(PMSG_ID_FIRST + credit), .data = data, .len = len };
	memcpy(m.sid, to->net->sid, PMSG_SID_BYTES);
	uint8_t buf[PMSG_MAX];
	size_t n = pmsg_encode(buf, sizeof(buf), &m);
	ck_assert_uint_gt(n, 0);
	struct pmsg d;
	const char *why;
	ck_assert_int_eq(pmsg_decode(buf, n, &d, &why), 0);
	feed(to, &d);
}

static void end_room(struct net *n, struct end *e)
{
	if (!e->started || e->done)
		return;
	if (n->chaos && rnd(&n->rng, 100) < 3)
		e->full = !e->full;
	if (n->use_waitq)
		return;
	if (e->want_room && !e->full && (!n->chaos || rnd(&n->rng, 3) == 0)) {
		e->want_room = 0;
		e->on_rooms++;
		session_on_room(e->s);
	} else if (n->chaos && rnd(&n->rng, 100) == 0) {
		e->on_rooms++;
		session_on_room(e->s);   /* spurious: must be harmless */
	}
}

/* Deliver some messages each way and give room; 1 if messages wait. */
static int net_step(struct net *n)
{
	if (!n->hold) {
		/* In random order, also at a random pace: the queues grow
		 * to the window, so messages overtake by up to a window. */
		int per = n->reorder ? (int)rnd(&n->rng, 13) : 8;
		for (int k = 0; k < per; k++) {
			deliver_one(n, &n->c);
			deliver_one(n, &n->s);
		}
	}
	end_room(n, &n->c);
	end_room(n, &n->s);
	/* Busy: don't sleep in the loop (chaos: room comes back any step). */
	return n->chaos || (!n->hold && (n->c.nq || n->s.nq));
}

/* ---- applications: a byte stream written into one fd, read from another ---- */

struct stream {
	const char *name;
	int wfd, rfd;
	uint8_t *data;
	size_t len, wpos, rpos;
	unsigned maxchunk;   /* each send is 1..maxchunk bytes */
	int one_chunk;       /* one send per step */
	int shut, shut_done; /* shutdown(SHUT_WR) when all is written */
	int wpaused, rpaused;
	int eof, wblocked;
	uint64_t rng;
};

static void stream_init(struct stream *st, const char *name, int wfd, int rfd, size_t len,
                        uint64_t seed, unsigned maxchunk)
{
	memset(st, 0, sizeof(*st));
	st->name = name;
	st->wfd = wfd;
	st->rfd = rfd;
	st->len = len;
	st->maxchunk = maxchunk;
	st->rng = seed;
	st->data = xmalloc(len ? len : 1);
	for (size_t i = 0; i < len; i += 8) {
		uint64_t r = rng_next(&st->rng);
		memcpy(st->data + i, &r, len - i < 8 ? len - i : 8);
	}
}

static void stream_free(struct stream *st)
{
	free(st->data);
	st->data = NULL;
}

static void stream_step(struct stream *st)
{
	if (!st->wpaused && st->wfd >= 0) {
		size_t budget = 256 * 1024;
		while (st->wpos < st->len && budget) {
			size_t n = 1 + rnd(&st->rng, st->maxchunk);
			if (n > st->len - st->wpos)
				n = st->len - st->wpos;
			ssize_t r = send(st->wfd, st->data + st->wpos, n, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (r < 0) {
				ck_assert_msg(errno == EAGAIN || errno == EWOULDBLOCK, "%s: send: %s",
				              st->name, strerror(errno));
				st->wblocked = 1;
				break;
			}
			st->wblocked = 0;
			st->wpos += (size_t)r;
			budget = budget > (size_t)r ? budget - (size_t)r : 0;
			if (st->one_chunk)
				break;
		}
		if (st->wpos == st->len && st->shut && !st->shut_done) {
			ck_assert_int_eq(shutdown(st->wfd, SHUT_WR), 0);
			st->shut_done = 1;
		}
	}
	if (!st->rpaused && st->rfd >= 0 && !st->eof) {
		for (;;) {
			static uint8_t buf[65536];
			ssize_t r = recv(st->rfd, buf, sizeof(buf), MSG_DONTWAIT);
			if (r > 0) {
				ck_assert_msg(st->rpos + (size_t)r <= st->wpos, "%s: %zu bytes more than written",
				              st->name, st->rpos + (size_t)r - st->wpos);
				if (memcmp(buf, st->data + st->rpos, (size_t)r)) {
					size_t i = 0;
					while (buf[i] == st->data[st->rpos + i])
						i++;
					ck_abort_msg("%s: byte %zu differs", st->name, st->rpos + i);
				}
				st->rpos += (size_t)r;
				continue;
			}
			if (r == 0) {
				ck_assert_msg(st->rpos == st->len, "%s: EOF after %zu of %zu bytes", st->name,
				              st->rpos, st->len);
				st->eof = 1;
				break;
			}
			ck_assert_msg(errno == EAGAIN || errno == EWOULDBLOCK, "%s: recv: %s", st->name,
			              strerror(errno));
			break;
		}
	}
}

/* ---- the loop ---- */

struct world {
	struct ev *ev;
	struct net *nets[8];
	int nn;
	struct stream *sts[8];
	int ns;
	unsigned long steps;
};

static void world_step(struct world *w)
{
	int busy = 0;
	for (int i = 0; i < w->ns; i++)
		stream_step(w->sts[i]);
	for (int i = 0; i < w->nn; i++)
		busy |= net_step(w->nets[i]);
	ck_assert_int_ge(ev_run_once(w->ev, busy ? 0 : 1), 0);
	w->steps++;
}

#define RUN_UNTIL(w, cond, ms)                                                     \
	do {                                                                       \
		uint64_t t0_ = now_ms();                                           \
		while (!(cond)) {                                                  \
			ck_assert_msg(now_ms() - t0_ < (ms), "line %d: no '%s' after %d ms", \
			              __LINE__, #cond, (int)(ms));                 \
			world_step(w);                                             \
		}                                                                  \
	} while (0)

#define RUN_FOR(w, ms)                                                             \
	do {                                                                       \
		uint64_t t0_ = now_ms();                                           \
		while (now_ms() - t0_ < (ms))                                      \
			world_step(w);                                             \
	} while (0)

static void run_steps(struct world *w, int n)
{
	for (int i = 0; i < n; i++)
		world_step(w);
}

/* What a read on fd gives within a bounded wait: bytes > 0, 0 at EOF,
 * -errno on error (-EAGAIN if nothing came). */
static ssize_t read_result(int fd, void *buf, size_t n, int ms)
{
	uint64_t t0 = now_ms();
	for (;;) {
		ssize_t r = recv(fd, buf, n, MSG_DONTWAIT);
		if (r >= 0)
			return r;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		if (now_ms() - t0 >= (uint64_t)ms)
			return -EAGAIN;
		usleep(1000);
	}
}

/* Read exactly the string s from fd, now (the session wrote it already). */
static void expect_read(int fd, const char *s)
{
	size_t n = strlen(s), got = 0;
	char buf[4096];
	ck_assert_uint_lt(n, sizeof(buf));
	uint64_t t0 = now_ms();
	while (got < n) {
		ssize_t r = recv(fd, buf + got, n - got, MSG_DONTWAIT);
		if (r > 0) {
			got += (size_t)r;
			continue;
		}
		ck_assert_msg(r < 0 && errno == EAGAIN, "expected '%s', got EOF/error after %zu", s, got);
		ck_assert_msg(now_ms() - t0 < 1000, "expected '%s', got %zu bytes", s, got);
		usleep(1000);
	}
	ck_assert_mem_eq(buf, s, n);
	/* And no byte more (an EOF may follow). */
	ssize_t r = read_result(fd, buf, 1, 0);
	ck_assert_msg(r == -EAGAIN || r == 0, "after '%s': %zd", s, r);
}

static void expect_eof(int fd)
{
	char c;
	ck_assert_int_eq(read_result(fd, &c, 1, 1000), 0);
}

/* The application's side of a socket the session reset: EOF or ECONNRESET
 * (AF_UNIX), never data, never silence. */
static void expect_gone(int fd)
{
	char c;
	ssize_t r = read_result(fd, &c, 1, 1000);
	ck_assert_msg(r == 0 || r == -ECONNRESET, "socket not reset: %zd", r);
}

/* ---- byte streams ---- */

/* Several MB each way, messages delivered in random order with
 * duplicates, then an orderly close from both ends. */
START_TEST(test_bytes_exact_reordered)
{
	struct ev *ev = ev_new();
	struct net n;
	net_init(&n, ev, 1000 + (uint64_t)_i);
	n.reorder = 1;
	n.dup_pct = 10;
	net_start(&n);
	struct stream up, down;
	stream_init(&up, "client->upstream", n.c.app, n.s.app, 3u << 20, 11 + (uint64_t)_i, 9000);
	stream_init(&down, "upstream->client", n.s.app, n.c.app, 3u << 20, 22 + (uint64_t)_i, 9000);
	up.shut = down.shut = 1;
	struct world w = { .ev = ev, .nets = { &n }, .nn = 1, .sts = { &up, &down }, .ns = 2 };

	RUN_UNTIL(&w, up.eof && down.eof && n.c.done && n.s.done, 30000);
	ck_assert_int_eq(n.c.clean, 1);
	ck_assert_int_eq(n.s.clean, 1);
	ck_assert_uint_eq(n.c.stats.bytes_out, up.len);
	ck_assert_uint_eq(n.s.stats.bytes_in, up.len);
	ck_assert_uint_eq(n.s.stats.bytes_out, down.len);
	ck_assert_uint_eq(n.c.stats.bytes_in, down.len);
	ck_assert_uint_gt(n.c.stats.duplicates, 0);
	ck_assert_uint_gt(n.s.stats.duplicates, 0);
	ck_assert_uint_ge(n.c.maxq, W / 2);
	ck_assert_uint_ge(n.s.maxq, W / 2);
	ck_assert_uint_eq(n.c.stats.bad, 0);
	ck_assert_uint_eq(n.s.stats.bad, 0);
	ck_assert_uint_eq(n.c.kinds[PMSG_OPEN], 1);
	ck_assert_uint_eq(n.c.kinds[PMSG_CLOSE], 1);
	ck_assert_uint_eq(n.s.kinds[PMSG_CLOSE], 1);
	ck_assert_uint_eq(n.c.kinds[PMSG_RESET] + n.s.kinds[PMSG_RESET], 0);

	net_free(&n);
	stream_free(&up);
	stream_free(&down);
	ev_free(ev);
}
END_TEST

/* More than 65,536 messages one way: ids wrap, bytes stay exact. */
/* The two ends of one session log it under names that do not match each
 * other nor the session id they share. */
START_TEST(test_log_names_unlinked)
{
	struct ev *ev = ev_new();
	struct net n;
	char sidname[9];
	net_init(&n, ev, 78);
	net_start(&n);
	snprintf(sidname, sizeof(sidname), "%02x%02x%02x%02x", n.sid[0], n.sid[1], n.sid[2],
	         n.sid[3]);
	const char *c = session_name(n.c.s), *sv = session_name(n.s.s);
	ck_assert_uint_eq(strlen(c), 8);
	ck_assert_str_ne(c, sv);
	ck_assert_str_ne(c, sidname);
	ck_assert_str_ne(sv, sidname);
	net_free(&n);
	ev_free(ev);
}
END_TEST

START_TEST(test_ids_wrap)
{
	struct ev *ev = ev_new();
	struct net n;
	net_init(&n, ev, 77);
	n.reorder = 1;
	n.dup_pct = 5;
	net_start(&n);
	struct stream up, down;
	stream_init(&up, "client->upstream", n.c.app, n.s.app, 4u << 20, 33, 24);
	up.one_chunk = 1;
	stream_init(&down, "upstream->client", n.s.app, n.c.app, 100000, 44, 64);
	down.one_chunk = 1;
	down.shut = 1;
	struct world w = { .ev = ev, .nets = { &n }, .nn = 1, .sts = { &up, &down }, .ns = 2 };

	RUN_UNTIL(&w, n.c.kinds[PMSG_DATA] >= 70500, 60000);
	up.len = up.wpos;   /* stop here */
	up.shut = 1;
	RUN_UNTIL(&w, up.eof && down.eof && n.c.done && n.s.done, 30000);
	ck_assert_int_eq(n.c.clean, 1);
	ck_assert_int_eq(n.s.clean, 1);
	ck_assert_uint_ge(n.c.stats.msgs_out, 70500);
	ck_assert_uint_eq(n.s.stats.bytes_in, up.len);
	ck_assert_uint_eq(n.s.stats.bad + n.c.stats.bad, 0);

	net_free(&n);
	stream_free(&up);
	stream_free(&down);
	ev_free(ev);
}
END_TEST

/* ---- flow control ---- */

START_TEST(test_flow_control)
{
	struct ev *ev = ev_new();
	struct net n;
	net_init(&n, ev, 5);
	net_start(&n);
	size_t mem_c0 = session_memory(n.c.s), mem_s0 = session_memory(n.s.s);
	struct stream up;
	stream_init(&up, "client->upstream", n.c.app, n.s.app, 6u << 20, 55, 65536);
	up.rpaused = 1;     /* the upstream does not read */
	struct world w = { .ev = ev, .nets = { &n }, .nn = 1, .sts = { &up }, .ns = 1 };

	/* 1. Nothing delivered, so no credit: the client sends one window
	 * (OPEN and W - 1 DATA) and stops reading its socket; the
	 * application's writes block. */
	n.hold = 1;
	RUN_UNTIL(&w, n.c.nq >= W && up.wblocked, 5000);
	run_steps(&w, 100);
	ck_assert_uint_eq(n.c.nq, W);
	ck_assert_uint_eq(n.c.kinds[PMSG_OPEN] + n.c.kinds[PMSG_DATA], W);
	ck_assert_int_eq(up.wblocked, 1);
	ck_assert_uint_eq(session_memory(n.c.s), mem_c0);
	ck_assert_uint_lt(up.wpos, up.len);

	/* 2. Delivered, but the upstream still does not read: the server
	 * fills its socket and then holds at most a window; the client
	 * stops again once it has used the credit it got. */
	n.hold = 0;
	unsigned long last = 0;
	int stable = 0;
	uint64_t t0 = now_ms();
	while (stable < 100) {
		ck_assert_msg(now_ms() - t0 < 10000, "the client never stopped sending");
		world_step(&w);
		ck_assert_uint_le(session_memory(n.s.s), mem_s0 + WINDOW_BYTES);
		ck_assert_uint_le(session_memory(n.c.s), mem_c0);
		ck_assert_uint_le(n.c.nq, W);
		stable = n.c.kinds[PMSG_DATA] == last ? stable + 1 : 0;
		last = n.c.kinds[PMSG_DATA];
	}
	struct session_stats cs, ss;
	session_get_stats(n.c.s, &cs);
	session_get_stats(n.s.s, &ss);
	ck_assert_int_eq(up.wblocked, 1);
	ck_assert_uint_eq(n.c.nq, 0);
	/* What the server read but could not write: at most one window,
	 * and that is what it holds. */
	ck_assert_uint_le(cs.bytes_out - ss.bytes_in, (uint64_t)W * PMSG_DATA_MAX);
	ck_assert_uint_gt(cs.bytes_out - ss.bytes_in, 0);
	ck_assert_uint_ge(session_memory(n.s.s), mem_s0 + (cs.bytes_out - ss.bytes_in));
	ck_assert_int_eq(n.c.done + n.s.done, 0);

	/* 3. The upstream reads again: everything arrives, in order. */
	up.rpaused = 0;
	up.shut = 1;
	RUN_UNTIL(&w, up.eof, 30000);
	ck_assert_uint_eq(up.rpos, up.len);
	/* The server ends its side too: both close cleanly. */
	ck_assert_int_eq(shutdown(n.s.app, SHUT_WR), 0);
	RUN_UNTIL(&w, n.c.done && n.s.done, 5000);
	ck_assert_int_eq(n.c.clean && n.s.clean, 1);
	expect_eof(n.c.app);

	net_free(&n);
	stream_free(&up);
	ev_free(ev);
}
END_TEST

/* The same the other way: a client application that stops reading
 * stops the upstream's reads at the server. */
START_TEST(test_flow_control_download)
{
	struct ev *ev = ev_new();
	struct net n;
	net_init(&n, ev, 6);
	n.reorder = 1;
	net_start(&n);
	size_t mem_c0 = session_memory(n.c.s);
	struct stream down;
	stream_init(&down, "upstream->client", n.s.app, n.c.app, 4u << 20, 66, 65536);
	down.rpaused = 1;
	down.shut = 1;
	struct world w = { .ev = ev, .nets = { &n }, .nn = 1, .sts = { &down }, .ns = 1 };
	unsigned long last = 0;
	int stable = 0;
	uint64_t t0 = now_ms();
	while (stable < 100) {
		ck_assert_msg(now_ms() - t0 < 10000, "the server never stopped sending");
		world_step(&w);
		ck_assert_uint_le(session_memory(n.c.s), mem_c0 + WINDOW_BYTES);
		stable = n.s.kinds[PMSG_DATA] == last ? stable + 1 : 0;
		last = n.s.kinds[PMSG_DATA];
	}
	ck_assert_int_eq(down.wblocked, 1);
	down.rpaused = 0;
	RUN_UNTIL(&w, down.eof, 30000);
	ck_assert_int_eq(shutdown(n.c.app, SHUT_WR), 0);
	RUN_UNTIL(&w, n.c.done && n.s.done, 5000);
	ck_assert_int_eq(n.c.clean && n.s.clean, 1);
	expect_eof(n.s.app);

	net_free(&n);
	stream_free(&down);
	ev_free(ev);
}
END_TEST

/* ---- half-close ---- */

/* _i == 0: the client's application closes its side first (a request,
 * then shutdown), the upstream answers and then closes.  _i == 1: the
 * upstream speaks first and closes (a banner), the client keeps sending. */
START_TEST(test_half_close)
{
	struct ev *ev = ev_new();
	struct net n;
	net_init(&n, ev, 9);
	net_start(&n);
	int first = _i == 0 ? n.c.app : n.s.app;
	int second = _i == 0 ? n.s.app : n.c.app;
	struct stream req, resp;
	stream_init(&req, "first", first, second, 5000, 91, 1000);
	stream_init(&resp, "second", second, first, 300000, 92, 65536);
	req.shut = 1;
	resp.wpaused = 1;
	struct world w = { .ev = ev, .nets = { &n }, .nn = 1, .sts = { &req, &resp }, .ns = 2 };

	RUN_UNTIL(&w, req.eof, 5000);
	run_steps(&w, 20);
	ck_assert_int_eq(n.c.done + n.s.done, 0);

	/* The half-closed connection still carries the other way. */
	resp.wpaused = 0;
	RUN_UNTIL(&w, resp.rpos == resp.len, 10000);
	ck_assert_int_eq(n.c.done + n.s.done, 0);

	/* Now the second closes altogether: EOF at the first, both end. */
	ck_assert_int_eq(close(second), 0);
	if (_i == 0)
		n.s.app = -1;
	else
		n.c.app = -1;
	resp.wfd = req.rfd = -1;
	RUN_UNTIL(&w, resp.eof && n.c.done && n.s.done, 5000);
	ck_assert_int_eq(n.c.clean, 1);
	ck_assert_int_eq(n.s.clean, 1);
	ck_assert_uint_eq(n.c.kinds[PMSG_CLOSE], 1);
	ck_assert_uint_eq(n.s.kinds[PMSG_CLOSE], 1);
	ck_assert_uint_eq(n.c.kinds[PMSG_RESET] + n.s.kinds[PMSG_RESET], 0);

	net_free(&n);
	stream_free(&req);
	stream_free(&resp);
	ev_free(ev);
}
END_TEST

/* ---- a transport that refuses ---- */

START_TEST(test_transport_eagain)
{
	struct ev *ev = ev_new();
	struct net n;
	net_init(&n, ev, 1234 + (uint64_t)_i);
	n.reorder = 1;
	n.dup_pct = 5;
	n.chaos = 1;
	n.c.eagain_pct = n.s.eagain_pct = 30;
	net_start(&n);
	struct stream up, down;
	stream_init(&up, "client->upstream", n.c.app, n.s.app, 1u << 20, 71, 5000);
	stream_init(&down, "upstream->client", n.s.app, n.c.app, 1u << 20, 72, 5000);
	up.shut = down.shut = 1;
	struct world w = { .ev = ev, .nets = { &n }, .nn = 1, .sts = { &up, &down }, .ns = 2 };

	RUN_UNTIL(&w, up.eof && down.eof && n.c.done && n.s.done, 30000);
	ck_assert_int_eq(n.c.clean && n.s.clean, 1);
	ck_assert_uint_gt(n.c.refused, 0);
	ck_assert_uint_gt(n.s.refused, 0);
	ck_assert_uint_gt(n.c.on_rooms, 0);
	ck_assert_uint_eq(n.c.stats.bytes_out, up.len);
	ck_assert_uint_eq(n.c.stats.bytes_in, down.len);

	net_free(&n);
	stream_free(&up);
	stream_free(&down);
	ev_free(ev);
}
END_TEST

/* ---- resets ---- */

/* A RESET from the peer resets the local TCP connection: the application
 * reads ECONNRESET, not an orderly EOF.  And session_abort(tell_peer)
 * sends one, with its reason made one printable line. */
START_TEST(test_reset_tcp)
{
	struct ev *ev = ev_new();
	struct net n;
	net_init(&n, ev, 3);
	int ca, cl, ua, ul;
	tcp_pair(&ca, &cl);
	tcp_pair(&ua, &ul);
	start_client(&n, ca, cl);
	start_server(&n, ua, ul, 0, NULL);
	struct stream up, down;
	stream_init(&up, "client->upstream", ca, ua, 20000, 1, 1000);
	stream_init(&down, "upstream->client", ua, ca, 20000, 2, 1000);
	struct world w = { .ev = ev, .nets = { &n }, .nn = 1, .sts = { &up, &down }, .ns = 2 };
	RUN_UNTIL(&w, up.rpos == up.len && down.rpos == down.len, 5000);
	run_steps(&w, 10);

	session_abort(n.s.s, "upstream said\nbye\x01", 1);
	ck_assert_int_eq(n.s.done, 1);
	ck_assert_int_eq(n.s.clean, 0);
	ck_assert_uint_eq(n.s.kinds[PMSG_RESET], 1);
	ck_assert_str_eq(n.s.reset_why, "upstream said?bye?");
	char c;
	ck_assert_int_eq(read_result(ua, &c, 1, 1000), -ECONNRESET);

	w.ns = 0;
	RUN_UNTIL(&w, n.c.done, 2000);
	ck_assert_int_eq(n.c.clean, 0);
	ck_assert_uint_eq(n.c.kinds[PMSG_RESET], 0);   /* a RESET is not answered */
	ck_assert_int_eq(read_result(ca, &c, 1, 1000), -ECONNRESET);

	net_free(&n);
	stream_free(&up);
	stream_free(&down);
	ev_free(ev);
}
END_TEST

START_TEST(test_abort_reason)
{
	struct ev *ev = ev_new();
	struct net n1, n2;
	net_init(&n1, ev, 31);
	net_init(&n2, ev, 32);
	net_start(&n1);
	net_start(&n2);

	/* Too long, with a tab and bytes beyond ASCII: cut to the
	 * reason limit, every such byte a '?'. */
	char why[400];
	memset(why, 'z', sizeof(why) - 1);
	why[sizeof(why) - 1] = 0;
	why[3] = '\t';
	why[10] = (char)0xc3;
	session_abort(n1.c.s, why, 1);
	ck_assert_int_eq(n1.c.done, 1);
	ck_assert_uint_eq(n1.c.kinds[PMSG_RESET], 1);
	ck_assert_uint_eq(strlen(n1.c.reset_why), PMSG_REASON_MAX);
	ck_assert_int_eq(n1.c.reset_why[3], '?');
	ck_assert_int_eq(n1.c.reset_why[10], '?');
	ck_assert_int_eq(n1.c.reset_why[199], 'z');
	expect_gone(n1.c.app);
	/* The peer takes it: reset, its upstream too. */
	struct world w = { .ev = ev, .nets = { &n1, &n2 }, .nn = 2 };
	RUN_UNTIL(&w, n1.s.done, 2000);
	ck_assert_int_eq(n1.s.clean, 0);
	expect_gone(n1.s.app);

	/* Without telling the peer: nothing sent. */
	session_abort(n2.c.s, "quietly", 0);
	ck_assert_int_eq(n2.c.done, 1);
	ck_assert_int_eq(n2.c.clean, 0);
	ck_assert_uint_eq(n2.c.kinds[PMSG_RESET], 0);
	run_steps(&w, 20);
	ck_assert_int_eq(n2.s.done, 0);

	net_free(&n1);
	net_free(&n2);
	ev_free(ev);
}
END_TEST

/* An abort while the transport is full: the local socket is reset at
 * once, the RESET waits for room, then goes. */
START_TEST(test_abort_when_full)
{
	struct ev *ev = ev_new();
	struct net n;
	net_init(&n, ev, 8);
	net_start(&n);
	struct world w = { .ev = ev, .nets = { &n }, .nn = 1 };
	run_steps(&w, 10);
	n.c.full = 1;
	session_abort(n.c.s, "going away", 1);
	ck_assert_int_eq(n.c.done, 0);
	expect_gone(n.c.app);
	run_steps(&w, 50);
	ck_assert_int_eq(n.c.done, 0);
	ck_assert_uint_eq(n.c.kinds[PMSG_RESET], 0);
	/* What the peer says meanwhile changes nothing. */
	ck_assert_int_eq(send(n.s.app, "hello", 5, MSG_NOSIGNAL), 5);
	run_steps(&w, 50);
	ck_assert_int_eq(n.c.done, 0);
	n.c.full = 0;
	RUN_UNTIL(&w, n.c.done && n.s.done, 2000);
	ck_assert_uint_eq(n.c.kinds[PMSG_RESET], 1);
	ck_assert_str_eq(n.c.reset_why, "going away");
	ck_assert_int_eq(n.c.clean + n.s.clean, 0);
	expect_gone(n.s.app);

	net_free(&n);
	ev_free(ev);
}
END_TEST

/* The close timeout does not run while a session waits its turn: while
 * its peer's process is heard from on other sessions (P), or while its
 * own transport has no room for it (B).  Once neither holds, it does. */
START_TEST(test_close_timeout_waits)
{
	struct ev *ev = ev_new();
	uint64_t heard = 0;
	struct net p, b;
	int fp[2], fb[2];
	net_init(&p, ev, 60);
	p.cfg.close_timeout_s = 1;
	p.cfg.peer_heard_us = &heard;
	sp(fp);
	start_client(&p, fp[0], fp[1]);
	net_init(&b, ev, 61);
	b.cfg.close_timeout_s = 1;
	b.c.full = 1;
	sp(fb);
	start_client(&b, fb[0], fb[1]);
	struct world w = { .ev = ev, .nets = { &p, &b }, .nn = 2 };
	run_steps(&w, 10);
	ck_assert_int_eq(shutdown(p.c.app, SHUT_WR), 0);
	ck_assert_int_eq(shutdown(b.c.app, SHUT_WR), 0);
	uint64_t t0 = now_ms();
	while (now_ms() - t0 < 2200) {
		heard = ev_now_us(ev);
		world_step(&w);
	}
	ck_assert_msg(!p.c.done, "P: reset while its peer was heard from: %s", p.c.reset_why);
	ck_assert_msg(!b.c.done, "B: reset while it had no room: %s", b.c.reset_why);
	/* The peer falls silent; B gets room: both time out. */
	b.c.full = 0;
	RUN_UNTIL(&w, p.c.done && b.c.done, 3000);
	ck_assert_msg(strstr(p.c.reset_why, "after a close") != NULL, "P: %s", p.c.reset_why);
	ck_assert_msg(strstr(b.c.reset_why, "after a close") != NULL, "B: %s", b.c.reset_why);
	net_free(&p);
	net_free(&b);
	ev_free(ev);
}
END_TEST

/* The client's application goes away while the upstream's bytes are
 * still owed to it: both ends are reset, nothing pretends to be an
 * orderly close. */
START_TEST(test_app_gone)
{
	struct ev *ev = ev_new();
	struct net n;
	net_init(&n, ev, 19);
	net_start(&n);
	struct stream down;
	stream_init(&down, "upstream->client", n.s.app, n.c.app, 2u << 20, 8, 65536);
	down.rpaused = 1;
	struct world w = { .ev = ev, .nets = { &n }, .nn = 1, .sts = { &down }, .ns = 1 };
	RUN_UNTIL(&w, down.wblocked, 5000);
	run_steps(&w, 20);
	ck_assert_int_eq(close(n.c.app), 0);
	n.c.app = -1;
	down.wfd = down.rfd = -1;
	RUN_UNTIL(&w, n.c.done && n.s.done, 3000);
	ck_assert_int_eq(n.c.clean + n.s.clean, 0);
	ck_assert_uint_eq(n.c.kinds[PMSG_RESET], 1);
	expect_gone(n.s.app);

	net_free(&n);
	stream_free(&down);
	ev_free(ev);
}
END_TEST

/* ---- the server's upstream connect ---- */

START_TEST(test_connect_refused)
{
	struct ev *ev = ev_new();
	struct net n;
	net_init(&n, ev, 12);
	int a[2];
	sp(a);
	start_client(&n, a[0], a[1]);

	/* A port nobody listens on. */
	struct sockaddr_in sa = { .sin_family = AF_INET };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t sl = sizeof(sa);
	int l = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(getsockname(l, (struct sockaddr *)&sa, &sl), 0);
	close(l);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(fd_nonblock(fd), 0);
	int r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	if (r == 0 || errno != EINPROGRESS) {
		/* Refused at once: the owner's business, not the session's. */
		close(fd);
		net_free(&n);
		ev_free(ev);
		return;
	}
	start_server(&n, -1, fd, 1, NULL);
	ck_assert_int_eq(send(n.c.app, "early", 5, MSG_NOSIGNAL), 5);
	struct world w = { .ev = ev, .nets = { &n }, .nn = 1 };
	RUN_UNTIL(&w, n.s.done && n.c.done, 3000);
	ck_assert_int_eq(n.s.clean + n.c.clean, 0);
	ck_assert_msg(strstr(n.s.reset_why, "connect") != NULL, "reason: %s", n.s.reset_why);
	expect_gone(n.c.app);

	net_free(&n);
	ev_free(ev);
}
END_TEST

/* Bytes (and the client's close) that arrive while the upstream connect
 * is in progress are written once it completes. */
START_TEST(test_connect_then_data)
{
	struct ev *ev = ev_new();
	struct net n;
	net_init(&n, ev, 13);
	n.reorder = 1;
	int a[2];
	sp(a);
	start_client(&n, a[0], a[1]);

	struct sockaddr_in sa = { .sin_family = AF_INET };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t sl = sizeof(sa);
	int l = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(l, 1), 0);
	ck_assert_int_eq(getsockname(l, (struct sockaddr *)&sa, &sl), 0);
	ck_assert_int_eq(fd_nonblock(l), 0);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(fd_nonblock(fd), 0);
	int r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	ck_assert(r == 0 || errno == EINPROGRESS);
	start_server(&n, -1, fd, r != 0, NULL);

	struct stream up;
	stream_init(&up, "client->upstream", n.c.app, -1, 50000, 5, 3000);
	up.shut = 1;
	struct world w = { .ev = ev, .nets = { &n }, .nn = 1, .sts = { &up }, .ns = 1 };
	/* Everything the client says is delivered before the upstream
	 * is accepted. */
	RUN_UNTIL(&w, up.shut_done && n.c.nq == 0, 5000);
	int u = -1;
	uint64_t t0 = now_ms();
	while ((u = accept(l, NULL, NULL)) < 0) {
		ck_assert(now_ms() - t0 < 2000);
		usleep(1000);
	}
	close(l);
	ck_assert_int_eq(fd_nonblock(u), 0);
	n.s.app = u;
	up.rfd = u;
	RUN_UNTIL(&w, up.eof, 5000);
	ck_assert_int_eq(n.c.done + n.s.done, 0);
	ck_assert_int_eq(shutdown(u, SHUT_WR), 0);
	RUN_UNTIL(&w, n.c.done && n.s.done, 5000);
	ck_assert_int_eq(n.c.clean && n.s.clean, 1);

	net_free(&n);
	stream_free(&up);
	ev_free(ev);
}
END_TEST

/* ---- bad input ---- */

/* A server fed by hand: every kind of wrong message is dropped and
 * counted, and the session keeps working. */
START_TEST(test_bad_input_server)
{
	struct ev *ev = ev_new();
	struct net n;
	net_init(&n, ev, 14);
	int b[2];
	sp(b);
	start_server(&n, b[0], b[1], 0, NULL);
	struct end *s = &n.s;
	int up = b[0];
	struct session_stats st;

	inject(s, PMSG_OPEN, 0, 0, NULL, 0);
	inject(s, PMSG_DATA, 1, 0, "hello ", 6);
	expect_read(up, "hello ");

	/* Beyond the window: 2 + W is one too far, 2 + W - 1 is the last
	 * that fits (and waits). */
	inject(s, PMSG_DATA, 2 + W, 0, "!", 1);
	session_get_stats(s->s, &st);
	ck_assert_uint_eq(st.bad, 1);
	inject(s, PMSG_DATA, 2 + W - 1, 0, "Z", 1);
	inject(s, PMSG_DATA, 3, 0, "C", 1);
	session_get_stats(s->s, &st);
	ck_assert_uint_eq(st.bad, 1);
	inject(s, PMSG_DATA, 2, 0, "B", 1);
	expect_read(up, "BC");
	/* Duplicates, of what was written and of what waits. */
	inject(s, PMSG_DATA, 2, 0, "B", 1);
	inject(s, PMSG_DATA, 1, 0, "hello ", 6);
	inject(s, PMSG_OPEN, 0, 0, NULL, 0);
	inject(s, PMSG_DATA, 2 + W - 1, 0, "Y", 1);
	session_get_stats(s->s, &st);
	ck_assert_uint_eq(st.duplicates, 4);
	ck_assert_uint_eq(st.bad, 1);
	char dots[W + 2];
	for (unsigned id = 4; id < 2 + W - 1; id++) {
		inject(s, PMSG_DATA, (uint16_t)id, 0, ".", 1);
		dots[id - 4] = '.';
	}
	dots[W - 3] = 'Z';
	dots[W - 2] = 0;
	expect_read(up, dots);

	/* Closes: k is the next id. */
	uint16_t k = 2 + W;
	inject(s, PMSG_CLOSE, k + 5, 0, NULL, 0);
	inject(s, PMSG_CLOSE, k + 2, 0, NULL, 0);       /* a second close, before */
	inject(s, PMSG_DATA, k + 6, 0, "after", 5);     /* beyond the close */
	inject(s, PMSG_CLOSE, k + 7, 0, NULL, 0);       /* a second close, after */
	inject(s, PMSG_CLOSE, k + 5, 0, NULL, 0);       /* a duplicate */
	session_get_stats(s->s, &st);
	ck_assert_uint_eq(st.bad, 4);
	ck_assert_uint_eq(st.duplicates, 5);
	for (int i = 0; i < 5; i++)
		inject(s, PMSG_DATA, (uint16_t)(k + i), 0, &"01234"[i], 1);
	expect_read(up, "01234");
	expect_eof(up);

	/* After the close is written: still dropped, not written into a
	 * shut socket (which would reset the session). */
	inject(s, PMSG_DATA, k + 6, 0, "after", 5);
	inject(s, PMSG_DATA, k + 7, 0, "after", 5);
	inject(s, PMSG_CLOSE, k + 6, 0, NULL, 0);
	inject(s, PMSG_DATA, k + 4, 0, "4", 1);         /* a duplicate */
	ck_assert_int_eq(s->done, 0);
	session_get_stats(s->s, &st);
	ck_assert_uint_eq(st.bad, 7);
	ck_assert_uint_eq(st.duplicates, 6);
	/* A credit beyond anything the server sent is ignored (the
	 * transport's window check would catch a server trusting it). */
	inject(s, PMSG_CREDIT, 0, 9000, NULL, 0);

	/* The other direction still works, and then ends cleanly. */
	for (size_t i = 0; i < s->nq; i++) {   /* the credits it sent so far */
		struct pmsg cm;
		const char *cwhy;
		ck_assert_int_eq(pmsg_decode(s->q[i]->b, s->q[i]->len, &cm, &cwhy), 0);
		ck_assert_int_eq(cm.kind, PMSG_CREDIT);
		free(s->q[i]);
	}
	s->nq = 0;
	ck_assert_int_eq(send(up, "reply", 5, MSG_NOSIGNAL), 5);
	struct world w = { .ev = ev, .nets = { &n }, .nn = 1 };
	n.hold = 1;
	RUN_UNTIL(&w, s->kinds[PMSG_DATA] == 1, 2000);
	ck_assert_uint_eq(s->nq, 1);
	struct pmsg m;
	const char *why;
	ck_assert_int_eq(pmsg_decode(s->q[0]->b, s->q[0]->len, &m, &why), 0);
	ck_assert_int_eq(m.kind, PMSG_DATA);
	ck_assert_uint_eq(m.id, PMSG_ID_FIRST);
	ck_assert_uint_eq(m.len, 5);
	ck_assert_mem_eq(m.data, "reply", 5);
	ck_assert_uint_eq(m.credit, (uint16_t)(PMSG_ID_FIRST + k + 6));   /* all it wrote, the close included */
	ck_assert_int_eq(shutdown(up, SHUT_WR), 0);
	RUN_UNTIL(&w, s->done, 2000);
	ck_assert_int_eq(s->clean, 1);
	ck_assert_uint_eq(s->stats.bad, 7);

	net_free(&n);
	ev_free(ev);
}
END_TEST

/* Data beyond the close that arrived before the close (reordered): it
 * can never be written, and must not be. */
START_TEST(test_data_beyond_close_reordered)
{
	struct ev *ev = ev_new();
	struct net n;
	net_init(&n, ev, 15);
	int b[2];
	sp(b);
	start_server(&n, b[0], b[1], 0, NULL);
	struct end *s = &n.s;
	size_t mem0 = session_memory(s->s);
	inject(s, PMSG_OPEN, 0, 0, NULL, 0);
	inject(s, PMSG_DATA, 3, 0, "late", 4);
	inject(s, PMSG_DATA, 4, 0, "later", 5);
	inject(s, PMSG_CLOSE, 2, 0, NULL, 0);
	inject(s, PMSG_DATA, 1, 0, "a", 1);
	expect_read(b[0], "a");
	expect_eof(b[0]);
	ck_assert_int_eq(s->done, 0);
	struct session_stats st;
	session_get_stats(s->s, &st);
	ck_assert_uint_eq(st.bad, 2);
	ck_assert_uint_eq(session_memory(s->s), mem0);   /* nothing held for nothing */
	/* Still carries the other way. */
	struct world w = { .ev = ev, .nets = { &n }, .nn = 1 };
	ck_assert_int_eq(send(b[0], "x", 1, MSG_NOSIGNAL), 1);
	RUN_UNTIL(&w, s->kinds[PMSG_DATA] == 1, 2000);
	ck_assert_int_eq(close(b[0]), 0);
	n.s.app = -1;
	RUN_UNTIL(&w, s->done, 2000);
	ck_assert_int_eq(s->clean, 1);

	net_free(&n);
	ev_free(ev);
}
END_TEST

START_TEST(test_bad_input_client)
{
	struct ev *ev = ev_new();
	struct net n;
	net_init(&n, ev, 16);
	int a[2];
	sp(a);
	start_client(&n, a[0], a[1]);
	struct end *c = &n.c;
	ck_assert_uint_eq(c->kinds[PMSG_OPEN], 1);
	/* Only a client opens. */
	inject(c, PMSG_OPEN, 0, 0, NULL, 0);
	struct session_stats st;
	session_get_stats(c->s, &st);
	ck_assert_uint_eq(st.bad, 1);
	/* Its first id (0 here, PMSG_ID_FIRST on the wire) is still the
	 * server's first message. */
	inject(c, PMSG_DATA, 0, 1, "banner", 6);
	expect_read(n.c.app, "banner");
	inject(c, PMSG_DATA, 0xffff, 1, "old", 3);      /* behind: a duplicate */
	inject(c, PMSG_DATA, 1 + W, 1, "far", 3);       /* beyond */
	inject(c, PMSG_DATA, 0x7fff, 1, "far", 3);      /* far beyond */
	session_get_stats(c->s, &st);
	ck_assert_uint_eq(st.bad, 3);
	ck_assert_uint_eq(st.duplicates, 1);
	ck_assert_int_eq(c->done, 0);
	inject(c, PMSG_DATA, 1, 1, "!", 1);
	expect_read(n.c.app, "!");

	net_free(&n);
	ev_free(ev);
}
END_TEST

/* Credit: only forward, never past what was sent.  The server's upstream
 * has plenty to say; only valid credit lets it say more. */
START_TEST(test_credit_rules)
{
	struct ev *ev = ev_new();
	struct net n;
	net_init(&n, ev, 17);
	int b[2];
	sp(b);
	start_server(&n, b[0], b[1], 0, NULL);
	struct end *s = &n.s;
	n.hold = 1;
	struct stream down;
	stream_init(&down, "upstream", b[0], -1, 2u << 20, 7, 65536);
	struct world w = { .ev = ev, .nets = { &n }, .nn = 1, .sts = { &down }, .ns = 1 };
	inject(s, PMSG_OPEN, 0, 40000, NULL, 0);        /* credit for nothing sent */
	RUN_UNTIL(&w, s->kinds[PMSG_DATA] >= W, 3000);
	run_steps(&w, 30);
	ck_assert_uint_eq(s->kinds[PMSG_DATA], W);
	inject(s, PMSG_CREDIT, 0, W / 2, NULL, 0);
	RUN_UNTIL(&w, s->kinds[PMSG_DATA] >= W + W / 2, 3000);
	run_steps(&w, 30);
	ck_assert_uint_eq(s->kinds[PMSG_DATA], W + W / 2);
	inject(s, PMSG_CREDIT, 0, 10, NULL, 0);         /* backwards: ignored */
	inject(s, PMSG_CREDIT, 0, 65000, NULL, 0);      /* far back: ignored */
	inject(s, PMSG_CREDIT, 0, W + W / 2 + 1, NULL, 0);   /* beyond what was sent */
	run_steps(&w, 30);
	ck_assert_uint_eq(s->kinds[PMSG_DATA], W + W / 2);
	inject(s, PMSG_CREDIT, 0, W + W / 2, NULL, 0);  /* everything */
	RUN_UNTIL(&w, s->kinds[PMSG_DATA] >= 2 * W + W / 2, 3000);
	run_steps(&w, 30);
	ck_assert_uint_eq(s->kinds[PMSG_DATA], 2 * W + W / 2);
	ck_assert_int_eq(s->done, 0);

	net_free(&n);
	stream_free(&down);
	ev_free(ev);
}
END_TEST

/* ---- the shared wait queue ---- */

static size_t waitq_len(const struct session_waitq *q)
{
	size_t n = 0;
	for (const struct list *l = q->sessions.next; l != &q->sessions; l = l->next)
		n++;
	return n;
}

START_TEST(test_waitq)
{
	struct ev *ev = ev_new();
	struct session_waitq q;
	session_waitq_init(&q);
	struct net n[3];
	int b[3][2];
	struct world w = { .ev = ev, .nn = 3 };
	for (int i = 0; i < 3; i++) {
		net_init(&n[i], ev, 40 + (uint64_t)i);
		n[i].use_waitq = 1;
		n[i].hold = 1;
		n[i].s.full = 1;
		sp(b[i]);
		start_server(&n[i], b[i][0], b[i][1], 0, &q);
		inject(&n[i].s, PMSG_OPEN, 0, 0, NULL, 0);
		w.nets[i] = &n[i];
		ck_assert_int_eq(send(b[i][0], "x", 1, MSG_NOSIGNAL), 1);
	}
	RUN_UNTIL(&w, n[0].s.want_room && n[1].s.want_room && n[2].s.want_room, 2000);
	ck_assert_uint_eq(waitq_len(&q), 3);
	/* One leaves the queue by ending. */
	struct session *gone = n[1].s.s;
	session_abort(gone, "bye", 0);
	ck_assert_int_eq(n[1].s.done, 1);
	ck_assert_uint_eq(waitq_len(&q), 2);
	run_steps(&w, 5);   /* the aborted one is freed */
	/* Still no room: a run changes nothing. */
	session_waitq_run(&q);
	ck_assert(!list_empty(&q.sessions));
	n[0].s.full = n[2].s.full = 0;
	session_waitq_run(&q);
	ck_assert(list_empty(&q.sessions));
	RUN_UNTIL(&w, n[0].s.kinds[PMSG_DATA] == 1 && n[2].s.kinds[PMSG_DATA] == 1, 2000);

	for (int i = 0; i < 3; i++)
		net_free(&n[i]);
	ck_assert(list_empty(&q.sessions));
	ev_free(ev);
}
END_TEST

/* ---- timers: one test, several sessions in one loop, ~3.3 s ---- */

START_TEST(test_timers)
{
	struct ev *ev = ev_new();
	struct world w = { .ev = ev };
	char buf[16];

	/* A: idle: a client whose peer never says anything. */
	struct net a;
	net_init(&a, ev, 51);
	a.cfg.idle_timeout_s = 1;
	int fa[2];
	sp(fa);
	start_client(&a, fa[0], fa[1]);
	w.nets[w.nn++] = &a;

	/* B: a connected, silent pair keeps itself alive. */
	struct net bb;
	net_init(&bb, ev, 52);
	bb.cfg.idle_timeout_s = 2;
	net_start(&bb);
	w.nets[w.nn++] = &bb;

	/* C: the same, half-closed by the client: the server, whose
	 * receiving direction is closed, must keep the client's idle
	 * timer fed while its upstream thinks. */
	struct net cc;
	net_init(&cc, ev, 53);
	cc.cfg.idle_timeout_s = 2;
	cc.cfg.close_timeout_s = 10;
	net_start(&cc);
	ck_assert_int_eq(shutdown(cc.c.app, SHUT_WR), 0);
	w.nets[w.nn++] = &cc;

	/* D: a RESET waiting for room gets a whole close timeout from the
	 * abort, even if the session made no progress for longer before. */
	struct net d;
	net_init(&d, ev, 54);
	d.cfg.close_timeout_s = 2;
	d.c.full = 1;
	int fd_[2];
	sp(fd_);
	start_client(&d, fd_[0], fd_[1]);
	w.nets[w.nn++] = &d;

	/* E: half-closed and no progress for the close timeout: reset. */
	struct net e;
	net_init(&e, ev, 55);
	e.cfg.close_timeout_s = 1;
	net_start(&e);
	ck_assert_int_eq(shutdown(e.c.app, SHUT_WR), 0);
	w.nets[w.nn++] = &e;

	/* G: an upstream connect that never completes (a socket that
	 * never becomes writable stands for it). */
	struct net g;
	net_init(&g, ev, 56);
	g.cfg.connect_timeout_s = 1;
	int fg[2];
	sp(fg);
	static uint8_t fill[65536];
	while (send(fg[1], fill, sizeof(fill), MSG_DONTWAIT | MSG_NOSIGNAL) > 0)
		;
	while (send(fg[1], fill, 1, MSG_DONTWAIT | MSG_NOSIGNAL) > 0)
		;
	start_server(&g, fg[0], fg[1], 1, NULL);
	inject(&g.s, PMSG_OPEN, 0, 0, NULL, 0);
	w.nets[w.nn++] = &g;

	RUN_FOR(&w, 2100);
	ck_assert_int_eq(a.c.done, 1);
	ck_assert_int_eq(a.c.clean, 0);
	ck_assert_msg(strstr(a.c.reset_why, "nothing heard") != NULL, "A: %s", a.c.reset_why);
	expect_gone(a.c.app);
	ck_assert_int_eq(g.s.done, 1);
	ck_assert_msg(strstr(g.s.reset_why, "connect timed out") != NULL, "G: %s", g.s.reset_why);
	ck_assert_int_eq(d.c.done, 0);
	session_abort(d.c.s, "given up", 1);
	ck_assert_int_eq(d.c.done, 0);

	RUN_FOR(&w, 1200);
	ck_assert_int_eq(bb.c.done + bb.s.done, 0);
	ck_assert_uint_ge(bb.c.kinds[PMSG_CREDIT], 2);
	ck_assert_uint_ge(bb.s.kinds[PMSG_CREDIT], 2);
	ck_assert_msg(!cc.c.done && !cc.s.done, "C: half-closed session reset: client '%s' server '%s'",
	              cc.c.reset_why, cc.s.reset_why);
	ck_assert_int_eq(e.c.done && e.s.done, 1);
	ck_assert_int_eq(e.c.clean + e.s.clean, 0);
	ck_assert_msg(strstr(e.c.reset_why, "after a close") || strstr(e.s.reset_why, "after a close"),
	              "E: '%s' '%s'", e.c.reset_why, e.s.reset_why);
	ck_assert_msg(!d.c.done, "D: the RESET was dropped before its close timeout");

	/* C's upstream answers late: it arrives. */
	ck_assert_int_eq(send(cc.s.app, "late", 4, MSG_NOSIGNAL), 4);
	uint64_t t0 = now_ms();
	ssize_t r;
	while ((r = recv(cc.c.app, buf, sizeof(buf), MSG_DONTWAIT)) < 0 && errno == EAGAIN) {
		ck_assert(now_ms() - t0 < 1000);
		world_step(&w);
	}
	ck_assert_int_eq(r, 4);
	ck_assert_mem_eq(buf, "late", 4);
	/* D: room at last; the RESET goes. */
	d.c.full = 0;
	RUN_UNTIL(&w, d.c.done, 1000);
	ck_assert_uint_eq(d.c.kinds[PMSG_RESET], 1);
	ck_assert_str_eq(d.c.reset_why, "given up");

	for (int i = 0; i < w.nn; i++)
		net_free(w.nets[i]);
	ev_free(ev);
}
END_TEST

/* ---- random messages against a model of the receiving side ---- */

/* What proxymsg.h and session.h promise the receiver does with each
 * sequenced message, written from the headers, not from session.c. */
struct model {
	uint16_t expect;
	int close_seen, closed;
	uint16_t close_id;
	struct {
		int used;
		enum pmsg_kind kind;
		size_t len;
		uint8_t data[64];
	} slot[W];
	uint64_t bad, dup, written;
	uint8_t *out;
	size_t nout, capout;
};

static void model_out(struct model *md, const uint8_t *p, size_t n)
{
	if (md->nout + n > md->capout) {
		md->capout = (md->nout + n) * 2;
		md->out = xrealloc(md->out, md->capout);
	}
	memcpy(md->out + md->nout, p, n);
	md->nout += n;
}

static void model_input(struct model *md, const struct pmsg *m)
{
	if (!pmsg_sequenced(m->kind))
		return;
	uint16_t d = pmsg_dist(md->expect, m->id);
	unsigned i = m->id % W;
	if (d >= W) {
		if (pmsg_dist(m->id, md->expect) <= 32768)
			md->dup++;
		else
			md->bad++;
		return;
	}
	if (md->closed || (md->close_seen && d > pmsg_dist(md->expect, md->close_id))) {
		md->bad++;   /* after the close */
		return;
	}
	if (m->kind == PMSG_CLOSE && md->close_seen && m->id != md->close_id) {
		md->bad++;
		return;
	}
	if (md->slot[i].used) {
		md->dup++;
		return;
	}
	md->slot[i].used = 1;
	md->slot[i].kind = m->kind;
	md->slot[i].len = m->len;
	memcpy(md->slot[i].data, m->data, m->len);
	if (m->kind == PMSG_CLOSE) {
		md->close_seen = 1;
		md->close_id = m->id;
		/* Whatever waits beyond it can never be written. */
		for (uint16_t j = (uint16_t)(m->id + 1); j != (uint16_t)(md->expect + W); j++) {
			if (md->slot[j % W].used) {
				md->slot[j % W].used = 0;
				md->bad++;
			}
		}
	}
	while (!md->closed && md->slot[md->expect % W].used) {
		unsigned k = md->expect % W;
		if (md->slot[k].kind == PMSG_DATA)
			model_out(md, md->slot[k].data, md->slot[k].len);
		else if (md->slot[k].kind == PMSG_CLOSE)
			md->closed = 1;
		md->slot[k].used = 0;
		md->expect++;
		md->written++;
	}
}

START_TEST(test_random_vs_model)
{
	struct ev *ev = ev_new();
	struct net n;
	net_init(&n, ev, 4242);
	n.s.discard = 1;
	int b[2];
	sp(b);
	start_server(&n, b[0], b[1], 0, NULL);
	size_t mem0 = session_memory(n.s.s);
	static struct model md;
	memset(&md, 0, sizeof(md));
	md.expect = PMSG_ID_FIRST;
	uint64_t rng = 99;
	size_t got = 0;
	int eof = 0;
	const unsigned total = 150000;
	for (unsigned k = 0; k < total; k++) {
		uint8_t payload[64];
		struct pmsg m = { .kind = PMSG_DATA };
		memcpy(m.sid, n.sid, PMSG_SID_BYTES);
		unsigned r = rnd(&rng, 100);
		if (r < 35)
			m.id = md.expect;
		else if (r < 75)
			m.id = (uint16_t)(md.expect + rnd(&rng, W));
		else if (r < 85)
			m.id = (uint16_t)(md.expect - rnd(&rng, 2 * W));
		else if (r < 92)
			m.id = (uint16_t)(md.expect + W + rnd(&rng, 64));
		else
			m.id = (uint16_t)rng_next(&rng);
		r = rnd(&rng, 1000);
		if (r < 20) {
			m.kind = PMSG_CREDIT;
			m.credit = (uint16_t)rng_next(&rng);
		} else if (r < 25) {
			m.kind = PMSG_OPEN;
			m.id = PMSG_ID_FIRST;
		} else if (r < 27 && k > 140000) {
			m.kind = PMSG_CLOSE;
		} else {
			m.len = 1 + rnd(&rng, sizeof(payload));
			for (size_t j = 0; j < m.len; j++)
				payload[j] = (uint8_t)rng_next(&rng);
			m.data = payload;
		}
		uint8_t buf[PMSG_MAX];
		size_t len = pmsg_encode(buf, sizeof(buf), &m);
		ck_assert_uint_gt(len, 0);
		struct pmsg dm;
		const char *why;
		ck_assert_int_eq(pmsg_decode(buf, len, &dm, &why), 0);
		model_input(&md, &dm);
		feed(&n.s, &dm);
		ck_assert_msg(!n.s.done, "message %u (%s %u, expect %u) ended the session: %s", k,
		              pmsg_kind_name(dm.kind), dm.id, md.expect, "see the log");
		ck_assert_uint_le(session_memory(n.s.s), mem0 + WINDOW_BYTES);
		/* The session writes at once; read it all back. */
		for (;;) {
			uint8_t rb[4096];
			ssize_t rr = recv(b[0], rb, sizeof(rb), MSG_DONTWAIT);
			if (rr > 0) {
				ck_assert_msg(got + (size_t)rr <= md.nout, "message %u: more written than the model", k);
				ck_assert_msg(memcmp(rb, md.out + got, (size_t)rr) == 0, "message %u: bytes differ", k);
				got += (size_t)rr;
				continue;
			}
			if (rr == 0) {
				ck_assert_msg(md.closed, "message %u: EOF before the close", k);
				eof = 1;
			}
			break;
		}
		ck_assert_msg(got == md.nout, "message %u (%s %u): wrote %zu, model %zu", k,
		              pmsg_kind_name(dm.kind), dm.id, got, md.nout);
		if (md.closed && !eof) {
			char c;
			ck_assert_int_eq(read_result(b[0], &c, 1, 100), 0);
			eof = 1;
		}
	}
	struct session_stats st;
	session_get_stats(n.s.s, &st);
	ck_assert_uint_eq(st.bad, md.bad);
	ck_assert_uint_eq(st.duplicates, md.dup);
	ck_assert_uint_gt(md.written, 65536);   /* ids wrapped */
	ck_assert_msg(md.closed, "the model never closed (seed?)");

	net_free(&n);
	free(md.out);
	ev_free(ev);
}
END_TEST

Suite *suite_session(void)
{
	Suite *s = suite_create("session");
	TCase *tc = tcase_create("streams");
	tcase_add_checked_fixture(tc, quiet, NULL);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_bytes_exact_reordered, 0, 2);
	tcase_add_test(tc, test_log_names_unlinked);
	tcase_add_test(tc, test_ids_wrap);
	tcase_add_test(tc, test_flow_control);
	tcase_add_test(tc, test_flow_control_download);
	tcase_add_loop_test(tc, test_half_close, 0, 2);
	tcase_add_loop_test(tc, test_transport_eagain, 0, 2);
	suite_add_tcase(s, tc);

	tc = tcase_create("ending");
	tcase_add_checked_fixture(tc, quiet, NULL);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_reset_tcp);
	tcase_add_test(tc, test_abort_reason);
	tcase_add_test(tc, test_abort_when_full);
	tcase_add_test(tc, test_app_gone);
	tcase_add_test(tc, test_connect_refused);
	tcase_add_test(tc, test_connect_then_data);
	tcase_add_test(tc, test_timers);
	suite_add_tcase(s, tc);

	tc = tcase_create("input");
	tcase_add_checked_fixture(tc, quiet, NULL);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_bad_input_server);
	tcase_add_test(tc, test_data_beyond_close_reordered);
	tcase_add_test(tc, test_bad_input_client);
	tcase_add_test(tc, test_credit_rules);
	tcase_add_test(tc, test_waitq);
	tcase_add_test(tc, test_close_timeout_waits);
	tcase_add_test(tc, test_random_vs_model);
	suite_add_tcase(s, tc);
	return s;
}
