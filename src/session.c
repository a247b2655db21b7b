/* session — see session.h.  The states:
 *
 *   new         being made: session_new leaves it for the first of the
 *               others, so that every state is entered through set_state
 *   connecting  the server's upstream connect is in progress
 *   open        bytes flow both ways
 *   local-eof   the local socket said EOF: our CLOSE is queued or sent,
 *               the peer's bytes still flow to the socket
 *   peer-eof    the peer's CLOSE was written out (shutdown(SHUT_WR) on
 *               the socket), the socket's bytes still flow to the peer
 *   closing     both of these: what we still owe the peer drains, then
 *               the session ends cleanly
 *   resetting   aborted: the socket is reset, a RESET for the peer waits
 *               for room in the transport
 *   done        ended; nothing more happens */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sodium.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ev.h"
#include "log.h"
#include "session.h"
#include "util.h"

#define TICK_MS 1000
#define READS_PER_EVENT 8    /* messages read from one socket per wakeup */

/* S_LOCAL_EOF: our socket said EOF (CLOSE sent); S_PEER_EOF: the peer's
 * CLOSE is written out (SHUT_WR); S_CLOSING: both, and what we still owe
 * the peer (a stashed message, a credit) drains before the end. */
enum state { S_NEW, S_CONNECTING, S_OPEN, S_LOCAL_EOF, S_PEER_EOF, S_CLOSING, S_RESETTING, S_DONE };

static const char *const state_names[] = {
	"new", "connecting", "open", "local-eof", "peer-eof", "closing", "resetting", "done",
};

/* A message of the peer's direction, waiting for its turn or for room in
 * the socket. */
struct slot {
	enum pmsg_kind kind;
	size_t len, off;
	uint8_t data[];
};

struct session {
	struct ev *ev;
	enum session_role role;
	enum state state;        /* changed by set_state only */
	uint8_t sid[PMSG_SID_BYTES];
	char name[9];
	const struct session_cfg *cfg;
	const struct session_io *io;
	void *ctx;
	int fd;                  /* -1: closed.  ev alone keeps its interest flags */

	/* local socket -> peer */
	uint16_t out_next;       /* id of the next sequenced message */
	uint16_t out_credit;     /* the peer took every message below this */
	int out_eof;             /* EOF read from the socket (CLOSE made) */
	struct pmsg stash;       /* a sequenced message the transport refused */
	uint8_t *stash_data;     /* its payload (stash.data), allocated while it
	                          * waits: most messages go at once, and a
	                          * thousand idle sessions need not hold one each */
	int stashed;

	/* peer -> local socket */
	uint16_t in_expect;      /* next id to write out */
	uint16_t in_credit_sent; /* the credit the peer last heard */
	int in_close_seen;
	uint16_t in_close_id;
	int in_closed;           /* the peer's CLOSE is written (SHUT_WR done) */
	struct slot *slots[SESSION_WINDOW];
	unsigned nslots;
	size_t slot_bytes;

	int credit_due;
	char reset_why[PMSG_REASON_MAX + 1];

	uint64_t t_tick;
	uint64_t created_us, heard_us, sent_us, progress_us;
	struct session_stats stats;

	int blocked;             /* the transport said EAGAIN: wait for on_room */
	struct session_waitq *q;
	struct list qnode;       /* in q->sessions */
};

static void set_state(struct session *s, enum state to, const char *why)
{
	if (s->state == to)
		return;
	log_debug("session %s: %s -> %s%s%s", s->name, state_names[s->state], state_names[to],
	          why ? ": " : "", why ? why : "");
	s->state = to;
}

/* ---- the wait queue ---- */

static void q_remove(struct session *s)
{
	if (list_linked(&s->qnode))
		list_remove(&s->qnode);
}

static void q_append(struct session *s)
{
	if (!s->q || list_linked(&s->qnode))
		return;
	list_push_back(&s->q->sessions, &s->qnode);
}

void session_waitq_init(struct session_waitq *q)
{
	list_init(&q->sessions);
}

void session_waitq_run(struct session_waitq *q)
{
	/* One pass over those waiting now: a session still blocked goes to
	 * the back, so the next pass starts with the others. */
	size_t n = 0;
	for (struct list *l = q->sessions.next; l != &q->sessions; l = l->next)
		n++;
	while (n-- > 0 && !list_empty(&q->sessions)) {
		struct session *s = list_entry(q->sessions.next, struct session, qnode);
		q_remove(s);
		session_on_room(s);
		/* Refused again: the transport is full and has noted that it
		 * owes a wakeup (only a refused send arms it, so the session
		 * had to try rather than ask for the room first). */
		if (s->blocked)
			break;
	}
}

/* ---- ending ---- */

/* A slot holds stream bytes: wiped as it goes. */
static void slot_free(struct slot *sl)
{
	if (!sl)
		return;
	sodium_memzero(sl, sizeof(*sl) + sl->len);
	free(sl);
}

static void slots_free(struct session *s)
{
	for (unsigned i = 0; i < SESSION_WINDOW; i++) {
		slot_free(s->slots[i]);
		s->slots[i] = NULL;
	}
	s->nslots = 0;
	s->slot_bytes = 0;
}

/* Close the socket; with rst, so the application sees a reset, not an
 * orderly end (SO_LINGER 0). */
static void close_fd(struct session *s, int rst)
{
	if (s->fd < 0)
		return;
	ev_del_fd(s->ev, s->fd);
	if (rst) {
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };
		setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	close(s->fd);
	s->fd = -1;
}

/* The stashed message is gone (sent, or the session ended): its bytes,
 * stream bytes, are wiped. */
static void stash_drop(struct session *s)
{
	if (s->stash_data) {
		sodium_memzero(s->stash_data, s->stash.len);
		free(s->stash_data);
		s->stash_data = NULL;
	}
	s->stashed = 0;
}

static void finish(struct session *s, int clean)
{
	uint64_t secs = (now_us() - s->created_us) / 1000000u;
	close_fd(s, !clean);
	ev_timer_cancel(s->ev, s->t_tick);
	s->t_tick = 0;
	q_remove(s);
	slots_free(s);
	stash_drop(s);
	set_state(s, S_DONE, NULL);
	log_info("session %s: %s after %llu s: %llu bytes out, %llu bytes in", s->name,
	         clean ? "closed" : "reset", (unsigned long long)secs,
	         (unsigned long long)s->stats.bytes_out, (unsigned long long)s->stats.bytes_in);
	s->io->done(s, clean, s->ctx);
}

static int try_send(struct session *s, const uint8_t *msg, size_t len)
{
	if (s->io->send(s, msg, len, s->ctx) == 0) {
		s->sent_us = ev_now_us(s->ev);
		s->stats.msgs_out++;
		return 0;
	}
	if (errno == EAGAIN) {
		s->blocked = 1;
		q_append(s);
		return 1;
	}
	return -1;
}

/* Encode m as this session's, with the credit of now (it may have moved
 * while m waited), and hand it to the transport.  Every message carries
 * the credit, so one that leaves settles a credit that was due.  0, 1
 * (no room: wait for session_on_room), or -1. */
static int send_msg(struct session *s, struct pmsg *m)
{
	uint8_t buf[PMSG_MAX];
	memcpy(m->sid, s->sid, PMSG_SID_BYTES);
	m->credit = s->in_expect;
	size_t n = pmsg_encode(buf, sizeof(buf), m);
	int r = n ? try_send(s, buf, n) : -1;
	sodium_memzero(buf, n);   /* DATA: stream bytes */
	if (r == 0) {
		s->in_credit_sent = m->credit;
		s->credit_due = 0;
	}
	return r;
}

static int send_reset(struct session *s)
{
	struct pmsg m = { .kind = PMSG_RESET, .id = s->out_next,
	                  .data = (const uint8_t *)s->reset_why, .len = strlen(s->reset_why) };
	return send_msg(s, &m);
}

void session_abort(struct session *s, const char *why, int tell_peer)
{
	if (s->state == S_DONE)
		return;
	if (s->state == S_RESETTING) {
		finish(s, 0);
		return;
	}
	log_info("session %s: reset: %s", s->name, why);
	close_fd(s, 1);
	slots_free(s);
	stash_drop(s);
	if (!tell_peer) {
		finish(s, 0);
		return;
	}
	/* A reason is one printable line (proxymsg.h). */
	size_t n = 0;
	for (const char *p = why; *p && n < PMSG_REASON_MAX; p++)
		s->reset_why[n++] = (*p >= 0x20 && *p <= 0x7e) ? *p : '?';
	s->reset_why[n] = 0;
	set_state(s, S_RESETTING, why);
	/* The RESET gets a whole close timeout to find room (tick),
	 * counted from now, not from the last progress before. */
	s->progress_us = ev_now_us(s->ev);
	if (send_reset(s) != 1)
		finish(s, 0);
	/* else: session_on_room sends it, or the tick gives up. */
}

/* The local socket failed (errno): reset the session, telling the peer. */
static void socket_failed(struct session *s, const char *doing)
{
	char why[128];
	snprintf(why, sizeof(why), "%s the %s: %s", doing,
	         s->role == SESSION_CLIENT ? "local connection" : "upstream", strerror(errno));
	session_abort(s, why, 1);
}

/* ---- the peer's direction: reorder and write out ---- */

static void update_interest(struct session *s);
static void session_pump(struct session *s);
static void check_end(struct session *s);

static int ended(const struct session *s)
{
	return s->state == S_DONE || s->state == S_RESETTING;
}

/* After any event: send what waits, watch the socket for what the state
 * now needs, and end the session if both directions are through. */
static void settle(struct session *s)
{
	if (s->state == S_DONE)
		return;
	session_pump(s);   /* resetting: the RESET, if it waited for room */
	if (ended(s))
		return;
	update_interest(s);
	check_end(s);
}

/* Write out every message that is next in line, as far as the socket
 * takes it. */
static void flush_in(struct session *s)
{
	while (s->state != S_DONE && s->state != S_RESETTING && s->state != S_CONNECTING) {
		unsigned i = s->in_expect % SESSION_WINDOW;
		struct slot *sl = s->slots[i];
		if (!sl)
			break;
		if (sl->kind == PMSG_DATA) {
			ssize_t n = send(s->fd, sl->data + sl->off, sl->len - sl->off, MSG_NOSIGNAL);
			if (n < 0) {
				if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
					break;
				socket_failed(s, "writing to");
				return;
			}
			sl->off += (size_t)n;
			s->stats.bytes_in += (uint64_t)n;
			s->progress_us = ev_now_us(s->ev);
			if (sl->off < sl->len)
				break;
		} else if (sl->kind == PMSG_CLOSE) {
			shutdown(s->fd, SHUT_WR);
			s->in_closed = 1;
			s->credit_due = 0;   /* nothing more comes this way */
			set_state(s, s->state == S_LOCAL_EOF ? S_CLOSING : S_PEER_EOF, "peer closed");
		}
		s->slot_bytes -= sl->len;
		slot_free(sl);
		s->slots[i] = NULL;
		s->nslots--;
		s->in_expect++;
	}
	/* Credit in quarters of the window: often enough that the sender
	 * never waits a round trip with room to spare, rarely enough that a
	 * one-way stream costs few extra packets. */
	if (!s->in_closed && pmsg_dist(s->in_credit_sent, s->in_expect) >= SESSION_WINDOW / 4)
		s->credit_due = 1;
}

static void take_credit(struct session *s, uint16_t c)
{
	/* Credit only moves forward, and never past what we sent. */
	if (pmsg_dist(s->out_credit, c) <= pmsg_dist(s->out_credit, s->out_next))
		s->out_credit = c;
}

static void bad_input(struct session *s, const char *why, const struct pmsg *m)
{
	s->stats.bad++;
	log_warn("session %s: %s message %u dropped: %s", s->name, pmsg_kind_name(m->kind),
	         (unsigned)m->id, why);
}

/* Answer m, which is for no session, with a RESET: the sender's session
 * ends now, not at its idle timeout. */
static void refuse(const struct pmsg *m, const char *why, const struct session_owner *o,
                   void *ctx)
{
	struct pmsg r = { .kind = PMSG_RESET, .data = (const uint8_t *)why, .len = strlen(why) };
	uint8_t buf[PMSG_HDR + PMSG_REASON_MAX];
	memcpy(r.sid, m->sid, PMSG_SID_BYTES);
	size_t n = pmsg_encode(buf, sizeof(buf), &r);
	if (n && o->send(buf, n, ctx) < 0)
		log_debug("no room to refuse a session");
}

void session_input(struct session *s, const struct pmsg *m)
{
	if (s->state == S_DONE)
		return;
	uint64_t now = ev_now_us(s->ev);
	s->heard_us = now;
	s->stats.msgs_in++;
	if (m->kind == PMSG_RESET) {
		char why[PMSG_REASON_MAX + 32];
		snprintf(why, sizeof(why), "reset by the %s: %.*s",
		         s->role == SESSION_CLIENT ? "server" : "client", (int)m->len,
		         (const char *)m->data);
		session_abort(s, why, 0);
		return;
	}
	if (s->state == S_RESETTING)
		return;
	take_credit(s, m->credit);
	if (m->kind == PMSG_OPEN && s->role == SESSION_CLIENT) {
		bad_input(s, "only a client opens a session", m);
		return;
	}
	if (pmsg_sequenced(m->kind)) {
		uint16_t d = pmsg_dist(s->in_expect, m->id);
		if (d >= SESSION_WINDOW) {
			if (pmsg_dist(m->id, s->in_expect) <= 32768)
				s->stats.duplicates++;   /* written out already */
			else
				bad_input(s, "beyond the window", m);
		} else if (s->in_close_seen &&
		           (s->in_closed || d > pmsg_dist(s->in_expect, s->in_close_id))) {
			/* Once the close is written, in_expect is past it and
			 * every id in the window is after it. */
			bad_input(s, "after the close", m);
		} else if (m->kind == PMSG_CLOSE && s->in_close_seen && m->id != s->in_close_id) {
			bad_input(s, "a second close", m);
		} else if (s->slots[m->id % SESSION_WINDOW]) {
			s->stats.duplicates++;
		} else {
			struct slot *sl = xmalloc(sizeof(*sl) + m->len);
			sl->kind = m->kind;
			sl->len = m->len;
			sl->off = 0;
			if (m->len)
				memcpy(sl->data, m->data, m->len);
			s->slots[m->id % SESSION_WINDOW] = sl;
			s->nslots++;
			s->slot_bytes += m->len;
			s->progress_us = now;
			if (m->kind == PMSG_CLOSE) {
				s->in_close_seen = 1;
				s->in_close_id = m->id;
				/* What came in beyond it (reordered) can never be
				 * written: drop it now, not into a shut socket. */
				for (uint16_t j = (uint16_t)(m->id + 1);
				     j != (uint16_t)(s->in_expect + SESSION_WINDOW); j++) {
					struct slot **p = &s->slots[j % SESSION_WINDOW];
					if (!*p)
						continue;
					s->stats.bad++;
					log_warn("session %s: message %u dropped: after the close", s->name, (unsigned)j);
					s->slot_bytes -= (*p)->len;
					s->nslots--;
					slot_free(*p);
					*p = NULL;
				}
			}
			flush_in(s);
		}
	}
	settle(s);
}

/* ---- dispatch ---- */

void session_dispatch(const uint8_t *data, size_t len, const struct session_owner *o, void *ctx)
{
	struct pmsg m;
	const char *why;
	if (pmsg_decode(data, len, &m, &why)) {
		o->malformed(why, ctx);
		return;
	}
	int refused = 0;
	struct session *s = o->find(&m, &refused, ctx);
	if (!s && !refused) {
		const char *reset = NULL;
		s = o->unknown(&m, &reset, ctx);
		if (!s && reset)
			refuse(&m, reset, o, ctx);
	}
	if (s)
		session_input(s, &m);
}

/* ---- the local direction: read and send ---- */

static int window_open(const struct session *s)
{
	return pmsg_dist(s->out_credit, s->out_next) < SESSION_WINDOW;
}

/* Send the stashed sequenced message; it stays stashed until it goes. */
static int stash_send(struct session *s)
{
	int r = send_msg(s, &s->stash);
	if (r == 0)
		stash_drop(s);
	return r;
}

/* The next sequenced message: sent at once, or, if the transport has no
 * room (1), stashed with a copy of its bytes (the caller's buffer is not
 * ours) until session_pump sends it. */
static int make_seq(struct session *s, enum pmsg_kind k, const uint8_t *data, size_t len)
{
	struct pmsg m = { .kind = k, .id = s->out_next, .data = data, .len = len };
	if (pmsg_invalid(&m)) /* DATA: at most PMSG_DATA_MAX bytes */
		return -1;
	s->out_next++;
	int r = send_msg(s, &m);
	if (r != 1)
		return r;
	s->stash = m;
	if (len) {
		s->stash_data = xmalloc(len);
		memcpy(s->stash_data, data, len);
	}
	s->stash.data = s->stash_data;
	s->stashed = 1;
	return 1;
}

static int send_credit(struct session *s)
{
	struct pmsg m = { .kind = PMSG_CREDIT, .id = s->out_next };
	return send_msg(s, &m);
}

/* Send what waits: the stashed message first (it is next in sequence),
 * then a credit of its own if no message carried it. */
static void session_pump(struct session *s)
{
	if (s->state == S_DONE || s->blocked)
		return;
	if (s->state == S_RESETTING) {
		if (send_reset(s) != 1)
			finish(s, 0);
		return;
	}
	if (s->stashed && stash_send(s))
		goto failed;
	if (s->credit_due && !s->stashed && send_credit(s))
		goto failed;
	return;
failed:
	if (!s->blocked)
		session_abort(s, "the mixnet client refused a message", 0);
}

static void on_local_eof(struct session *s)
{
	s->out_eof = 1;
	set_state(s, s->state == S_PEER_EOF ? S_CLOSING : S_LOCAL_EOF,
	          s->role == SESSION_CLIENT ? "local connection closed" : "upstream closed");
	if (make_seq(s, PMSG_CLOSE, NULL, 0) < 0)
		session_abort(s, "the mixnet client refused a message", 0);
}

static int can_read(const struct session *s)
{
	return s->fd >= 0 && (s->state == S_OPEN || s->state == S_PEER_EOF) && !s->out_eof &&
	       !s->stashed && !s->blocked && window_open(s);
}

static void session_readable(struct ev *ev, int fd, void *ctx)
{
	struct session *s = ctx;
	(void)ev;
	uint8_t buf[PMSG_DATA_MAX];
	int failed = 0;
	for (int i = 0; i < READS_PER_EVENT && can_read(s); i++) {
		size_t max = s->io->msg_max ? s->io->msg_max(s, s->ctx) : PMSG_MAX;
		if (max <= PMSG_HDR || max > PMSG_MAX)
			max = PMSG_MAX;
		ssize_t n = recv(fd, buf, max - PMSG_HDR, 0);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				break;
			socket_failed(s, "reading from");
			failed = 1;
			break;
		}
		s->progress_us = ev_now_us(s->ev);
		if (n == 0) {
			on_local_eof(s);
			break;
		}
		s->stats.bytes_out += (uint64_t)n;
		if (make_seq(s, PMSG_DATA, buf, (size_t)n) < 0) {
			session_abort(s, "the mixnet client refused a message", 0);
			failed = 1;
			break;
		}
	}
	/* The stream's bytes do not outlive their message. */
	sodium_memzero(buf, sizeof(buf));
	if (!failed)
		settle(s);
}

static void session_writable(struct ev *ev, int fd, void *ctx)
{
	struct session *s = ctx;
	(void)ev;
	if (s->state == S_CONNECTING) {
		int err = sock_connect_error(fd);
		if (err) {
			char why[128];
			snprintf(why, sizeof(why), "upstream connect failed: %s", strerror(err));
			session_abort(s, why, 1);
			return;
		}
		set_state(s, S_OPEN, "upstream connected");
	}
	flush_in(s);
	settle(s);
}

/* Called after every event: ev skips the epoll_ctl when a flag does not
 * change, so the session keeps no copy of its own. */
static void update_interest(struct session *s)
{
	if (s->fd < 0)
		return;
	struct slot *next = s->slots[s->in_expect % SESSION_WINDOW];
	ev_want_write(s->ev, s->fd, s->state == S_CONNECTING || (next && next->kind == PMSG_DATA));
	ev_want_read(s->ev, s->fd, can_read(s));
}

static void check_end(struct session *s)
{
	if (ended(s))
		return;
	if (s->in_closed && s->out_eof && !s->stashed && !s->credit_due)
		finish(s, 1);
}

void session_on_room(struct session *s)
{
	if (s->state == S_DONE)
		return;
	q_remove(s);
	s->blocked = 0;
	settle(s);
}

/* ---- timers ---- */

static void tick(struct ev *ev, void *ctx)
{
	struct session *s = ctx;
	uint64_t now = ev_now_us(ev);
	const struct session_cfg *c = s->cfg;
	char why[96];
	s->t_tick = ev_timer_add(ev, TICK_MS, tick, s);
	if (s->state == S_RESETTING) {
		/* The RESET found no room for a whole close timeout. */
		if (now - s->progress_us > (uint64_t)c->close_timeout_s * 1000000u)
			finish(s, 0);
		return;
	}
	if (s->state == S_CONNECTING && now - s->created_us > (uint64_t)c->connect_timeout_s * 1000000u) {
		snprintf(why, sizeof(why), "upstream connect timed out after %u s", c->connect_timeout_s);
		session_abort(s, why, 1);
		return;
	}
	if (c->idle_timeout_s && now - s->heard_us > (uint64_t)c->idle_timeout_s * 1000000u) {
		snprintf(why, sizeof(why), "nothing heard from the peer for %u s", c->idle_timeout_s);
		session_abort(s, why, 1);
		return;
	}
	/* The close timeout is for a session stuck on its peer or its local
	 * socket, not for one waiting its turn: while our own transport
	 * holds it back (blocked: no room), or the peer's process is heard
	 * from on other sessions, the clock does not run. */
	if (s->blocked)
		s->progress_us = now;
	uint64_t since = s->progress_us;
	if (c->peer_heard_us && *c->peer_heard_us > since)
		since = *c->peer_heard_us;
	if ((s->out_eof || s->in_closed) && now > since &&
	    now - since > (uint64_t)c->close_timeout_s * 1000000u) {
		snprintf(why, sizeof(why), "no progress for %u s after a close", c->close_timeout_s);
		session_abort(s, why, 1);
		return;
	}
	/* Keepalive: a peer that hears nothing for the idle timeout takes
	 * us for gone, so say something four times as often -- also when
	 * the peer's direction is closed: its idle timer still runs. */
	if (c->idle_timeout_s &&
	    now - s->sent_us > (uint64_t)c->idle_timeout_s * 1000000u / 4) {
		s->credit_due = 1;
		session_pump(s);
	}
}

/* ---- life ---- */

struct session *session_new(struct ev *ev, enum session_role role,
                            const uint8_t sid[PMSG_SID_BYTES], const struct session_cfg *cfg,
                            const struct session_io *io, void *ctx, struct session_waitq *q)
{
	struct session *s = xcalloc(1, sizeof(*s));
	s->ev = ev;
	s->role = role;
	memcpy(s->sid, sid, PMSG_SID_BYTES);
	/* A local id, drawn here: one taken from the sid, which both ends
	 * know, would link the client's log line to the server's. */
	uint8_t lid[4];
	randombytes_buf(lid, sizeof(lid));
	snprintf(s->name, sizeof(s->name), "%02x%02x%02x%02x", lid[0], lid[1], lid[2], lid[3]);
	/* A client's connection is accepted already; a server's upstream
	 * connect is yet to be made. */
	set_state(s, role == SESSION_CLIENT ? S_OPEN : S_CONNECTING, NULL);
	s->cfg = cfg;
	s->io = io;
	s->ctx = ctx;
	s->q = q;
	s->fd = -1;
	s->out_next = s->out_credit = PMSG_ID_FIRST;
	s->in_expect = s->in_credit_sent = PMSG_ID_FIRST;
	s->created_us = s->heard_us = s->sent_us = s->progress_us = now_us();
	s->t_tick = ev_timer_add(ev, TICK_MS, tick, s);
	return s;
}

static int attach_fd(struct session *s, int fd)
{
	s->fd = fd;
	if (ev_add_fd(s->ev, fd, session_readable, session_writable, s) < 0) {
		char why[96];
		snprintf(why, sizeof(why), "cannot watch the socket: %s", strerror(errno));
		session_abort(s, why, 1);
		return -1;
	}
	return 0;
}

void session_start_client(struct session *s, int fd)
{
	if (attach_fd(s, fd))
		return;
	/* OPEN goes out now, before any byte: an upstream that speaks first
	 * (SSH, SMTP) is connected without waiting for the client to talk. */
	if (make_seq(s, PMSG_OPEN, NULL, 0) < 0) {
		session_abort(s, "the mixnet client refused a message", 0);
		return;
	}
	update_interest(s);
}

void session_start_server(struct session *s, int fd, int connecting)
{
	if (attach_fd(s, fd))
		return;
	if (!connecting)
		set_state(s, S_OPEN, "upstream connected");
	flush_in(s);
	settle(s);
}

void session_release(struct session *s)
{
	ev_defer_free(s->ev, s, (ev_free_cb *)session_free);
}

void session_free(struct session *s)
{
	if (!s)
		return;
	if (s->state != S_DONE) {
		close_fd(s, 1);
		ev_timer_cancel(s->ev, s->t_tick);
		q_remove(s);
		slots_free(s);
	}
	stash_drop(s);
	sodium_memzero(s, sizeof(*s));
	free(s);
}

const uint8_t *session_id(const struct session *s)
{
	return s->sid;
}

const char *session_name(const struct session *s)
{
	return s->name;
}

int session_is_done(const struct session *s)
{
	return s->state == S_DONE;
}

void session_get_stats(const struct session *s, struct session_stats *st)
{
	*st = s->stats;
}

uint64_t session_started_us(const struct session *s)
{
	return s->created_us;
}

size_t session_memory(const struct session *s)
{
	return sizeof(*s) + s->nslots * sizeof(struct slot) + s->slot_bytes +
	       (s->stash_data ? s->stash.len : 0);
}
