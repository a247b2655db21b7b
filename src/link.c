/* link — see link.h for the protocol. */
#include "link.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "ev.h"
#include "log.h"
#include "noise.h"
#include "util.h"

#define RX_FRAMES 16
#define RX_CAP (RX_FRAMES * LINK_FRAME_BYTES) /* the most one read takes */
#define TX_START LINK_FRAME_BYTES /* the hello, or a frame; it grows by doubling */
#define TX_START_ACCEPTED 64   /* the reply, until the peer has proved its key */
#define IDLE_SHRINK_US 5000000 /* buffers of a link idle this long shrink back */
#define HANDSHAKE_TIMEOUT_MS 10000
#define HANDSHAKE_ACCEPTED_MS 5000 /* a peer that connects has a round trip to do */
#define KEEPALIVE_MS 15000     /* check period */
#define PING_IDLE_US 30000000  /* send a ping after this long without sending */
#define DEAD_IDLE_US 95000000  /* give up after this long without receiving */

static const char prologue[] = LINK_PROLOGUE;

struct link {
	struct ev *ev;
	int fd;
	enum link_state state;
	int initiator;
	enum link_kind kind;
	const struct keypair *self;
	uint8_t peer_pk[32];
	struct noise_ik hs;   /* until the split */
	uint8_t k_tx[32], k_rx[32];
	uint8_t binding[32];  /* the handshake hash: this link's and no other's */
	uint64_t n_tx, n_rx;
	uint8_t *rx;
	size_t rx_len, rx_cap;
	struct ring tx;       /* ciphertext (and handshake messages) */
	uint8_t *pend;        /* plaintext frames queued before the link is up */
	size_t pend_n;
	size_t max_frames;
	size_t tx_max;        /* bound of tx in bytes; it starts at TX_START */
	const struct link_cbs *cbs;
	void *ctx;
	uint64_t id;
	char addr[64];
	uint64_t t_handshake, t_keepalive;
	uint64_t last_rx_us, last_tx_us;
	int paused;
	int in_rx;            /* process_rx is running (on_frame may be up the stack) */
	int drain_owed;       /* the owner queued frames since on_drain last ran */
	struct link_stats st;
};

static uint64_t next_link_id = 1;

static void link_free_cb(void *p)
{
	struct link *l = p;
	ring_free(&l->tx);
	if (l->pend)
		sodium_memzero(l->pend, l->max_frames * LINK_FRAME_PLAIN);
	free(l->pend);
	free(l->rx);
	sodium_memzero(l, sizeof(*l));
	free(l);
}

/* The hello's payload, sealed in its message: the kind of link, then
 * three zero bytes (room for flags a later version may define). */
static void hello_payload_write(uint8_t out[LINK_HELLO_PAYLOAD], enum link_kind kind)
{
	struct wr w;
	wr_init(&w, out, LINK_HELLO_PAYLOAD);
	wr_u8(&w, (uint8_t)kind);
	wr_zero(&w, LINK_HELLO_PAYLOAD - 1);
}

/* NULL, or why p is no hello payload this side takes. */
static const char *hello_payload_read(const uint8_t p[LINK_HELLO_PAYLOAD], enum link_kind *kind)
{
	struct rd r;
	uint8_t k, pad[LINK_HELLO_PAYLOAD - 1];
	rd_init(&r, p, LINK_HELLO_PAYLOAD);
	rd_u8(&r, &k);
	rd_bytes(&r, pad, sizeof(pad));
	if (!r.ok || (k != LINK_NODE && k != LINK_CLIENT) || pad[0] || pad[1] || pad[2])
		return "malformed hello";
	*kind = (enum link_kind)k;
	return NULL;
}

static const char *const state_names[] = {
	[LS_CONNECTING] = "connecting", [LS_HELLO] = "hello", [LS_AUTH] = "auth",
	[LS_UP] = "up", [LS_DOWN] = "down",
};

/* Every change of a link's state, traced. */
static void link_set_state(struct link *l, enum link_state st, const char *why)
{
	if (l->state == st)
		return;
	log_debug("link %llu %s: %s -> %s%s%s", (unsigned long long)l->id, l->addr,
	          state_names[l->state], state_names[st], why ? ": " : "", why ? why : "");
	l->state = st;
}

void link_close(struct link *l, const char *why)
{
	if (l->state == LS_DOWN)
		return;
	link_set_state(l, LS_DOWN, why);
	ev_timer_cancel(l->ev, l->t_handshake);
	ev_timer_cancel(l->ev, l->t_keepalive);
	if (l->fd >= 0) {
		ev_del_fd(l->ev, l->fd);
		close(l->fd);
		l->fd = -1;
	}
	l->st.dropped_down += l->pend_n + ring_len(&l->tx) / LINK_FRAME_BYTES;
	sodium_memzero(l->k_tx, sizeof(l->k_tx));
	sodium_memzero(l->k_rx, sizeof(l->k_rx));
	noise_ik_wipe(&l->hs);
	if (l->cbs->on_down)
		l->cbs->on_down(l, why, l->ctx);
	/* Freed after the event batch: callers up the stack still hold l. */
	ev_defer_free(l->ev, l, link_free_cb);
}

/* Write interest while output is queued.  The loop keeps the flag (and
 * asking for what is already on costs nothing); during a connect it is
 * on already, for the connect's result. */
static void want_write(struct link *l)
{
	if (l->fd >= 0 && ring_len(&l->tx) > 0)
		ev_want_write(l->ev, l->fd, 1);
}

/* Room for n more bytes in the send queue, growing it (by doubling) up
 * to its bound: a gateway holds a link per client, and most of them never
 * queue more than a few frames. */
static int tx_reserve(struct link *l, size_t n)
{
	if (ring_room(&l->tx) >= n)
		return 0;
	if (ring_len(&l->tx) + n > l->tx_max)
		return -1;
	size_t cap = l->tx.cap;
	while (cap - ring_len(&l->tx) < n)
		cap = cap * 2 > l->tx_max ? l->tx_max : cap * 2;
	return ring_resize(&l->tx, cap);
}

static int enqueue_raw(struct link *l, const uint8_t *p, size_t n)
{
	if (tx_reserve(l, n))
		return -1;
	ring_write(&l->tx, p, n);
	l->last_tx_us = now_us();
	want_write(l);
	return 0;
}

static int encrypt_frame(struct link *l, const uint8_t plain[LINK_FRAME_PLAIN])
{
	uint8_t c[LINK_FRAME_BYTES], nonce[12];
	unsigned long long clen;
	if (tx_reserve(l, LINK_FRAME_BYTES))
		return -1;
	noise_nonce(nonce, l->n_tx++);
	crypto_aead_chacha20poly1305_ietf_encrypt(c, &clen, plain, LINK_FRAME_PLAIN,
	                                          NULL, 0, NULL, nonce, l->k_tx);
	l->st.frames_out++;
	return enqueue_raw(l, c, sizeof(c));
}

/* A frame's plaintext: type | id (zeros if NULL) | packet (noise if
 * NULL: a ping or the auth frame looks like any other). */
static void frame_plain(uint8_t plain[LINK_FRAME_PLAIN], enum link_frame_type type,
                        const uint8_t *id, const uint8_t *pkt)
{
	struct wr w;
	uint8_t noise[PKT_BYTES];
	wr_init(&w, plain, LINK_FRAME_PLAIN);
	wr_u8(&w, (uint8_t)type);
	if (id)
		wr_bytes(&w, id, PKT_ID_BYTES);
	else
		wr_zero(&w, PKT_ID_BYTES);
	if (!pkt) {
		randombytes_buf(noise, sizeof(noise));
		pkt = noise;
	}
	wr_bytes(&w, pkt, PKT_BYTES);
}

int link_send(struct link *l, enum link_frame_type type,
              const uint8_t id[PKT_ID_BYTES], const uint8_t pkt[PKT_BYTES])
{
	if (l->state == LS_DOWN) {
		l->st.dropped_down++;
		return -1;
	}
	if (l->state != LS_UP) {
		if (l->pend_n >= l->max_frames) {
			l->st.dropped_full++;
			return -1;
		}
		/* Only for the handshake's duration: most links never need it,
		 * and a client process may hold a thousand links. */
		if (!l->pend)
			l->pend = xmalloc(l->max_frames * LINK_FRAME_PLAIN);
		frame_plain(l->pend + l->pend_n * LINK_FRAME_PLAIN, type, id, pkt);
		l->pend_n++;
		l->drain_owed = 1;
		return 0;
	}
	uint8_t plain[LINK_FRAME_PLAIN];
	frame_plain(plain, type, id, pkt);
	int rc = encrypt_frame(l, plain);
	if (rc)
		l->st.dropped_full++;
	else
		l->drain_owed = 1;
	return rc;
}

size_t link_queue_len(const struct link *l)
{
	return l->state == LS_UP ? ring_len(&l->tx) / LINK_FRAME_BYTES : l->pend_n;
}

size_t link_queue_room(const struct link *l)
{
	if (l->state == LS_DOWN)
		return 0;
	if (l->state != LS_UP)
		return l->max_frames - l->pend_n;
	return (l->tx_max - ring_len(&l->tx)) / LINK_FRAME_BYTES;
}

static void go_up(struct link *l)
{
	link_set_state(l, LS_UP, l->kind == LINK_NODE ? "node" : "client");
	ev_timer_cancel(l->ev, l->t_handshake);
	l->t_handshake = 0;
	for (size_t i = 0; i < l->pend_n; i++)
		if (encrypt_frame(l, l->pend + i * LINK_FRAME_PLAIN))
			l->st.dropped_full++;
	if (l->pend)
		sodium_memzero(l->pend, l->pend_n * LINK_FRAME_PLAIN);
	free(l->pend);
	l->pend = NULL;
	l->pend_n = 0;
	if (l->cbs->on_up)
		l->cbs->on_up(l, l->ctx);
}

static void send_hello(struct link *l)
{
	uint8_t pay[LINK_HELLO_PAYLOAD], hello[LINK_HELLO_BYTES];
	hello_payload_write(pay, l->kind);
	noise_ik_init(&l->hs, 1, prologue, sizeof(prologue) - 1, l->self, l->peer_pk);
	if (noise_ik_write1(&l->hs, pay, sizeof(pay), hello)) {
		link_close(l, "handshake failed: the topology's key is of low order");
		return;
	}
	link_set_state(l, LS_HELLO, "hello sent");
	enqueue_raw(l, hello, sizeof(hello));
}

/* Returns bytes consumed, 0 if more are needed, -1 when the link closed. */
static ssize_t handle_hello(struct link *l, const uint8_t *p, size_t n)
{
	uint8_t pay[LINK_HELLO_PAYLOAD], reply[LINK_REPLY_BYTES];
	enum link_kind kind;
	if (n < LINK_HELLO_BYTES)
		return 0;
	noise_ik_init(&l->hs, 0, prologue, sizeof(prologue) - 1, l->self, NULL);
	const char *bad = noise_ik_read1(&l->hs, p, LINK_HELLO_BYTES, pay);
	if (!bad)
		bad = hello_payload_read(pay, &kind);
	if (bad) {
		link_close(l, bad);
		return -1;
	}
	l->kind = kind;
	memcpy(l->peer_pk, l->hs.rs, 32);
	if (l->cbs->accept_peer && l->cbs->accept_peer(l, l->kind, l->peer_pk, l->ctx)) {
		link_close(l, l->kind == LINK_NODE ? "peer key not in the topology"
		                                   : "clients not accepted here");
		return -1;
	}
	if (noise_ik_write2(&l->hs, NULL, 0, reply)) {
		link_close(l, "handshake failed (bad key)");
		return -1;
	}
	/* The reply proves this side's key; the peer's proof is its first
	 * frame (LF_AUTH), which only the holder of its key can seal. */
	noise_ik_split(&l->hs, l->k_rx, l->k_tx, l->binding);
	enqueue_raw(l, reply, sizeof(reply));
	link_set_state(l, LS_AUTH, "reply sent");
	return LINK_HELLO_BYTES;
}

static ssize_t handle_reply(struct link *l, const uint8_t *p, size_t n)
{
	uint8_t none[1];
	if (n < LINK_REPLY_BYTES)
		return 0;
	const char *bad = noise_ik_read2(&l->hs, p, LINK_REPLY_BYTES, none);
	if (bad) {
		link_close(l, bad);
		return -1;
	}
	noise_ik_split(&l->hs, l->k_tx, l->k_rx, l->binding);
	uint8_t plain[LINK_FRAME_PLAIN];
	frame_plain(plain, LF_AUTH, NULL, NULL);
	encrypt_frame(l, plain);
	go_up(l);
	return LINK_REPLY_BYTES;
}

static ssize_t handle_frame(struct link *l, const uint8_t *p, size_t n)
{
	uint8_t plain[LINK_FRAME_PLAIN], nonce[12];
	unsigned long long mlen;
	if (n < LINK_FRAME_BYTES)
		return 0;
	noise_nonce(nonce, l->n_rx++);
	if (crypto_aead_chacha20poly1305_ietf_decrypt(plain, &mlen, NULL, p, LINK_FRAME_BYTES,
	                                              NULL, 0, nonce, l->k_rx)) {
		link_close(l, "frame authentication failed");
		return -1;
	}
	l->st.frames_in++;
	struct rd r;
	uint8_t type;
	const uint8_t *id;
	rd_init(&r, plain, sizeof(plain));
	rd_u8(&r, &type);
	rd_ptr(&r, &id, PKT_ID_BYTES);
	/* The rest is the packet, PKT_BYTES: in our buffer, so the owner may
	 * rewrite it in place (a node processes it where it lies). */
	uint8_t *pkt = plain + r.off;
	enum link_frame_type t = (enum link_frame_type)type;
	if (l->state == LS_AUTH) {
		if (t != LF_AUTH) {
			link_close(l, "handshake failed: first frame is not auth");
			return -1;
		}
		go_up(l);
		return LINK_FRAME_BYTES;
	}
	/* Each frame type belongs to one kind of link and one direction. */
	int ok;
	switch (t) {
	case LF_PING: ok = 1; break;
	case LF_PACKET: ok = l->kind == LINK_NODE; break;
	case LF_SEND:
	case LF_ATTACH:
	case LF_DETACH:
	case LF_PACE: ok = l->kind == LINK_CLIENT && !l->initiator; break;
	case LF_DELIVER:
	case LF_STATUS:
	case LF_PAD: ok = l->kind == LINK_CLIENT && l->initiator; break;
	default: ok = 0; break;
	}
	if (!ok) {
		char why[64];
		snprintf(why, sizeof(why), "unexpected frame type %u", type);
		link_close(l, why);
		return -1;
	}
	if (t != LF_PING && l->cbs->on_frame)
		l->cbs->on_frame(l, t, id, pkt, l->ctx);
	sodium_memzero(plain, sizeof(plain));
	return l->state == LS_DOWN ? -1 : LINK_FRAME_BYTES;
}

/* The receive buffer holds ciphertext only (frames are opened into a
 * buffer on the stack): it is resized without wiping. */
static void rx_resize(struct link *l, size_t want)
{
	if (want < l->rx_len)
		want = l->rx_len;
	if (want == l->rx_cap)
		return;
	l->rx = xrealloc(l->rx, want);
	l->rx_cap = want;
}

/* An up link's receive buffer, doubled up to RX_CAP: after a read that
 * filled it, or while its owner is paused with it full. */
static int rx_grow(struct link *l)
{
	if (l->state != LS_UP || l->rx_cap >= RX_CAP)
		return 0;
	rx_resize(l, l->rx_cap * 2 < RX_CAP ? l->rx_cap * 2 : RX_CAP);
	return 1;
}

/* The least receive buffer a state needs: a responder holds a hello's
 * worth until it has one, then a frame's, until and after the peer has
 * proved its key.  An up link's grows from there by doubling, up to
 * RX_CAP, while its reads come back full (link_readable), and shrinks back
 * to a frame once idle (on_keepalive).  So a connection that proves
 * nothing costs a few hundred bytes, and an idle link a frame's worth: a
 * client holds one per session. */
static void rx_fit(struct link *l)
{
	size_t want = LINK_FRAME_BYTES;
	if (!l->initiator && l->state != LS_UP && l->state != LS_AUTH)
		want = LINK_HELLO_BYTES;
	if (l->rx_cap < want)
		rx_resize(l, want);
}

/* Consume whole messages from the receive buffer. */
static int process_rx_run(struct link *l)
{
	size_t off = 0;
	while (l->state != LS_DOWN && !l->paused) {
		ssize_t used;
		const uint8_t *p = l->rx + off;
		size_t n = l->rx_len - off;
		switch (l->state) {
		case LS_HELLO:
			used = l->initiator ? handle_reply(l, p, n) : handle_hello(l, p, n);
			break;
		case LS_AUTH:
		case LS_UP:
			used = handle_frame(l, p, n);
			break;
		case LS_CONNECTING:
			link_close(l, "data before connect completed");
			return -1;
		default:
			return -1;
		}
		if (used < 0)
			return -1;
		if (used == 0)
			break;
		off += (size_t)used;
		rx_fit(l);
	}
	if (l->state == LS_DOWN)
		return -1;
	memmove(l->rx, l->rx + off, l->rx_len - off);
	l->rx_len -= off;
	return 0;
}

static int process_rx(struct link *l)
{
	l->in_rx = 1;
	int rc = process_rx_run(l);
	l->in_rx = 0; /* l is freed only after the event batch */
	return rc;
}

int link_feed(struct link *l, const uint8_t *buf, size_t n)
{
	while (n > 0) {
		if (l->state == LS_DOWN)
			return -1;
		size_t take = l->rx_cap - l->rx_len;
		if (take > n)
			take = n;
		/* Paused with a full buffer: hold more, as a socket's reader
		 * would leave it in the socket, up to RX_CAP; past that the
		 * rest is not taken. */
		if (take == 0 && rx_grow(l))
			continue;
		if (take == 0)
			return 0;
		memcpy(l->rx + l->rx_len, buf, take);
		l->rx_len += take;
		buf += take;
		n -= take;
		l->last_rx_us = now_us();
		if (process_rx(l))
			return -1;
	}
	return l->state == LS_DOWN ? -1 : 0;
}

static void link_readable(struct ev *ev, int fd, void *ctx)
{
	struct link *l = ctx;
	(void)ev;
	/* A failed connect wakes both callbacks; link_writable reports it. */
	if (l->state == LS_CONNECTING)
		return;
	/* One read (at most RX_FRAMES frames) per event, then back to the
	 * loop: epoll is level-triggered and reports what is left on the next
	 * iteration, after the other fds have had their turn.  Reading on
	 * while reads come back full never ends against a peer that sends as
	 * fast as we read (on loopback the kernel refills the socket during
	 * our read): nothing else in the process runs, this node's writes to
	 * its next hops included, and the queues it forwards into overflow. */
	if (l->state == LS_DOWN || l->paused || l->rx_len >= l->rx_cap)
		return;
	ssize_t r;
	size_t room = l->rx_cap - l->rx_len;
	do
		r = read(fd, l->rx + l->rx_len, room);
	while (r < 0 && errno == EINTR);
	if (r == 0) {
		/* A responder that cannot open the hello closes without a word:
		 * the likely cause is a key in the topology it does not hold. */
		link_close(l, l->initiator && l->state == LS_HELLO
		                  ? "peer closed the connection during the handshake (does it "
		                    "hold the key the topology gives it?)"
		                  : "peer closed the connection");
		return;
	}
	if (r < 0) {
		if (errno != EAGAIN) {
			char why[96];
			snprintf(why, sizeof(why), "read: %s", strerror(errno));
			link_close(l, why);
		}
		return;
	}
	l->rx_len += (size_t)r;
	l->last_rx_us = now_us();
	process_rx(l);
	/* A full read: more is likely waiting, take more at once next time. */
	if ((size_t)r == room)
		(void)rx_grow(l);
}

static void link_writable(struct ev *ev, int fd, void *ctx)
{
	struct link *l = ctx;
	if (l->state == LS_CONNECTING) {
		int err = sock_connect_error(fd);
		if (err) {
			char why[96];
			snprintf(why, sizeof(why), "connect: %s", strerror(err));
			link_close(l, why);
			return;
		}
		ev_want_write(ev, fd, 0);
		send_hello(l);
		return;
	}
	size_t before = ring_len(&l->tx);
	while (ring_len(&l->tx) > 0) {
		ssize_t w = ring_write_fd(&l->tx, fd);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN) {
				char why[96];
				snprintf(why, sizeof(why), "write: %s", strerror(errno));
				link_close(l, why);
				return;
			}
			break;
		}
		if (w == 0)
			break;
	}
	if (ring_len(&l->tx) == 0)
		ev_want_write(ev, fd, 0);
	/* Below half of the ring, or empty after frames of the owner's: the
	 * ring only grows, and an owner that keeps the queue short (a
	 * gateway's share per client) may never fill half of one grown
	 * earlier.  (Not after the handshake's own messages: an owner that
	 * queued nothing has nothing to resume.) */
	size_t half = l->tx.cap / 2, after = ring_len(&l->tx);
	if (l->cbs->on_drain && before > after &&
	    ((after == 0 && l->drain_owed) || (before >= half && after < half))) {
		l->drain_owed = 0;
		l->cbs->on_drain(l, l->ctx);
	}
}

static void on_handshake_timeout(struct ev *ev, void *ctx)
{
	struct link *l = ctx;
	(void)ev;
	l->t_handshake = 0;
	link_close(l, l->state == LS_CONNECTING ? "connect timed out" : "handshake timed out");
}

static void on_keepalive(struct ev *ev, void *ctx)
{
	struct link *l = ctx;
	l->t_keepalive = ev_timer_add(ev, KEEPALIVE_MS, on_keepalive, l);
	link_tick(l, now_us());
}

void link_tick(struct link *l, uint64_t now)
{
	if (l->state != LS_UP)
		return;
	if (now - l->last_rx_us > DEAD_IDLE_US) {
		link_close(l, "peer silent for too long");
		return;
	}
	/* Idle: the buffers a burst grew go back (a client holds a link per
	 * session, most of them idle). */
	if (now - l->last_rx_us > IDLE_SHRINK_US && l->rx_len == 0 && !l->paused)
		rx_resize(l, LINK_FRAME_BYTES);
	if (now - l->last_tx_us > IDLE_SHRINK_US && ring_len(&l->tx) == 0 && l->tx.cap > TX_START)
		(void)ring_resize(&l->tx, TX_START); /* empty: it cannot fail */
	if (now - l->last_tx_us > PING_IDLE_US)
		link_send(l, LF_PING, NULL, NULL);
}

static struct link *link_alloc(struct ev *ev, int initiator, const struct keypair *self,
                               enum link_kind kind, size_t max_frames,
                               const struct link_cbs *cbs, void *ctx)
{
	struct link *l = xcalloc(1, sizeof(*l));
	if (max_frames < 2)
		max_frames = 2;
	l->ev = ev;
	l->fd = -1;
	l->initiator = initiator;
	l->kind = kind;
	l->self = self;
	l->max_frames = max_frames;
	l->cbs = cbs;
	l->ctx = ctx;
	l->id = next_link_id++;
	rx_fit(l);
	/* One frame more than max_frames: the initiator's LF_AUTH goes out
	 * ahead of the max_frames that link_send may have queued. */
	l->tx_max = (max_frames + 1) * LINK_FRAME_BYTES + LINK_HELLO_BYTES + LINK_REPLY_BYTES;
	size_t tx0 = initiator ? TX_START : TX_START_ACCEPTED;
	if (ring_init(&l->tx, l->tx_max < tx0 ? l->tx_max : tx0))
		fatal(EXIT_OSERR, "out of memory for a link queue");
	l->last_rx_us = l->last_tx_us = now_us();
	snprintf(l->addr, sizeof(l->addr), "(detached)");
	l->t_handshake = ev_timer_add(ev, initiator ? HANDSHAKE_TIMEOUT_MS : HANDSHAKE_ACCEPTED_MS,
	                              on_handshake_timeout, l);
	l->t_keepalive = ev_timer_add(ev, KEEPALIVE_MS, on_keepalive, l);
	return l;
}

/* Take fd into the link and the loop (TCP_NODELAY: frames are whole
 * packets already, waiting to coalesce them only adds delay).  On failure
 * the link is closed: 0, or -1 and the caller must not touch l. */
static int link_watch(struct link *l, int fd)
{
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	l->fd = fd;
	if (ev_add_fd(l->ev, fd, link_readable, link_writable, l) < 0) {
		close(fd);
		l->fd = -1;
		link_close(l, "cannot watch socket");
		return -1;
	}
	return 0;
}

struct link *link_connect(struct ev *ev, const struct sockaddr *sa, socklen_t salen,
                          const struct keypair *self, const uint8_t peer_pk[32],
                          enum link_kind kind, size_t max_frames,
                          const struct link_cbs *cbs, void *ctx)
{
	return link_connect_from(ev, NULL, 0, sa, salen, self, peer_pk, kind, max_frames, cbs, ctx);
}

struct link *link_connect_from(struct ev *ev, const struct sockaddr *from, socklen_t fromlen,
                               const struct sockaddr *sa, socklen_t salen,
                               const struct keypair *self, const uint8_t peer_pk[32],
                               enum link_kind kind, size_t max_frames,
                               const struct link_cbs *cbs, void *ctx)
{
	struct link *l = link_alloc(ev, 1, self, kind, max_frames, cbs, ctx);
	memcpy(l->peer_pk, peer_pk, 32);
	sockaddr_str(sa, l->addr, sizeof(l->addr));
	link_set_state(l, LS_CONNECTING, NULL);
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		char why[96];
		snprintf(why, sizeof(why), "socket: %s", strerror(errno));
		link_close(l, why);
		return NULL;
	}
	if (link_watch(l, fd))
		return NULL;
	if (from && bind(fd, from, fromlen) < 0) {
		char why[96];
		snprintf(why, sizeof(why), "bind: %s", strerror(errno));
		link_close(l, why);
		return NULL;
	}
	if (connect(fd, sa, salen) < 0 && errno != EINPROGRESS) {
		char why[96];
		snprintf(why, sizeof(why), "connect: %s", strerror(errno));
		link_close(l, why);
		return NULL;
	}
	/* Completion (or failure) shows as writability. */
	ev_want_write(ev, fd, 1);
	return l;
}

struct link *link_accept(struct ev *ev, int fd, const struct sockaddr *peer, socklen_t peerlen,
                         const struct keypair *self, size_t max_frames,
                         const struct link_cbs *cbs, void *ctx)
{
	(void)peerlen;
	struct link *l = link_alloc(ev, 0, self, LINK_NODE, max_frames, cbs, ctx);
	sockaddr_str(peer, l->addr, sizeof(l->addr));
	link_set_state(l, LS_HELLO, "accepted");
	fd_nonblock(fd);
	if (link_watch(l, fd))
		return NULL;
	return l;
}

struct link *link_new_detached(struct ev *ev, int initiator, const struct keypair *self,
                               const uint8_t *peer_pk, enum link_kind kind,
                               size_t max_frames, const struct link_cbs *cbs, void *ctx)
{
	struct link *l = link_alloc(ev, initiator, self, kind, max_frames, cbs, ctx);
	if (initiator) {
		memcpy(l->peer_pk, peer_pk, 32);
		send_hello(l);
	} else {
		link_set_state(l, LS_HELLO, "detached");
	}
	return l;
}

size_t link_take_output(struct link *l, uint8_t *out, size_t n)
{
	return ring_read(&l->tx, out, n);
}

void link_pause(struct link *l, int paused)
{
	if (l->paused == paused || l->state == LS_DOWN)
		return;
	l->paused = paused;
	if (l->fd >= 0)
		ev_want_read(l->ev, l->fd, !paused);
	/* Resumed from inside on_frame: the process_rx up the stack has not
	 * yet consumed the frame being delivered, and carries on by itself
	 * once paused is clear. */
	if (!paused && l->rx_len > 0 && !l->in_rx)
		process_rx(l);
}

enum link_state link_state(const struct link *l) { return l->state; }
enum link_kind link_kind(const struct link *l) { return l->kind; }
const uint8_t *link_peer_pk(const struct link *l) { return l->peer_pk; }
const uint8_t *link_binding(const struct link *l) { return l->binding; }
uint64_t link_id(const struct link *l) { return l->id; }
const char *link_peer_addr(const struct link *l) { return l->addr; }
void link_get_stats(const struct link *l, struct link_stats *st) { *st = l->st; }
size_t link_memory(const struct link *l)
{
	return sizeof(*l) + l->rx_cap + l->tx.cap + (l->pend ? l->max_frames * LINK_FRAME_PLAIN : 0);
}

void *link_ctx(const struct link *l) { return l->ctx; }
void link_set_ctx(struct link *l, void *ctx) { l->ctx = ctx; }
