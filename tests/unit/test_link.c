/* Unit tests for link: the handshake (both kinds, wrong keys, impostors,
 * refusals), the frame direction rules, queues before the link is up,
 * tampering, replay, truncated and byte-by-byte input, pause/resume, and two
 * real links over a loopback TCP connection.
 *
 * Most tests use detached links and carry the bytes by hand
 * (link_take_output -> link_feed).  link_close defers the free through ev,
 * so every test closes its links and runs ev_run_once(ev, 0). */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ev.h"
#include "keys.h"
#include "link.h"
#include "util.h"

#define MAXREC 16
#define F LINK_FRAME_BYTES

struct rec {
	int type;
	uint8_t id[PKT_ID_BYTES];
	uint8_t pkt[PKT_BYTES];
};

/* One end of a link and what its callbacks saw. */
struct side {
	struct link *l;
	int up, down, accepts, drains;
	int refuse;            /* accept_peer's answer */
	enum link_kind seen_kind;
	uint8_t seen_pk[32];
	char why[128];
	int nframes;
	struct rec rec[MAXREC];
	int pause_at;          /* on_frame pauses after this many frames (0: never) */
	int resume_inside;     /* ... and resumes at once, still inside on_frame */
	int close_at;          /* on_frame closes the link after this many frames */
	int check_seq;         /* on_frame compares frame n with frame_make(n) */
	int bad;               /* frames that did not match */
};

static struct ev *ev;
static struct keypair kp_i, kp_r, kp_other;

static void setup(void)
{
	ck_assert_int_ge(sodium_init(), 0);
	ev = ev_new();
	ck_assert_ptr_nonnull(ev);
	keypair_generate(&kp_i);
	keypair_generate(&kp_r);
	keypair_generate(&kp_other);
}

static void teardown(void)
{
	ev_run_once(ev, 0);
	ev_free(ev);
	ev = NULL;
}

/* ---- callbacks ---- */

static void frame_make(uint8_t id[PKT_ID_BYTES], uint8_t pkt[PKT_BYTES], uint32_t seed)
{
	for (size_t k = 0; k < PKT_ID_BYTES; k++)
		id[k] = (uint8_t)(seed * 31 + k);
	for (size_t k = 0; k < PKT_BYTES; k++)
		pkt[k] = (uint8_t)(seed * 131 + k * 7 + (k >> 8));
	pkt[0] = (uint8_t)(seed >> 24);
	pkt[1] = (uint8_t)(seed >> 16);
	pkt[2] = (uint8_t)(seed >> 8);
	pkt[3] = (uint8_t)seed;
}

static int cb_accept(struct link *l, enum link_kind kind, const uint8_t pk[32], void *ctx)
{
	struct side *s = ctx;
	(void)l;
	s->accepts++;
	s->seen_kind = kind;
	memcpy(s->seen_pk, pk, 32);
	return s->refuse;
}

static void cb_up(struct link *l, void *ctx)
{
	struct side *s = ctx;
	ck_assert_int_eq(link_state(l), LS_UP);
	s->up++;
}

static void cb_frame(struct link *l, enum link_frame_type type,
                     const uint8_t id[PKT_ID_BYTES], uint8_t *pkt, void *ctx)
{
	struct side *s = ctx;
	if (s->check_seq) {
		uint8_t eid[PKT_ID_BYTES], epkt[PKT_BYTES];
		frame_make(eid, epkt, (uint32_t)s->nframes);
		if (type != LF_PACKET || memcmp(id, eid, sizeof(eid)) ||
		    memcmp(pkt, epkt, sizeof(epkt)))
			s->bad++;
	} else if (s->nframes < MAXREC) {
		struct rec *r = &s->rec[s->nframes];
		r->type = type;
		memcpy(r->id, id, PKT_ID_BYTES);
		memcpy(r->pkt, pkt, PKT_BYTES);
	}
	s->nframes++;
	if (s->pause_at && s->nframes == s->pause_at) {
		link_pause(l, 1);
		if (s->resume_inside)
			link_pause(l, 0);
	}
	if (s->close_at && s->nframes == s->close_at)
		link_close(l, "owner closed");
}

static void cb_drain(struct link *l, void *ctx)
{
	struct side *s = ctx;
	(void)l;
	s->drains++;
}

static void cb_down(struct link *l, const char *why, void *ctx)
{
	struct side *s = ctx;
	ck_assert_int_eq(link_state(l), LS_DOWN);
	ck_assert_ptr_nonnull(why);
	s->down++;
	snprintf(s->why, sizeof(s->why), "%s", why);
}

static const struct link_cbs cbs = {
	.accept_peer = cb_accept,
	.on_up = cb_up,
	.on_frame = cb_frame,
	.on_drain = cb_drain,
	.on_down = cb_down,
};

/* ---- helpers ---- */

static struct side *side_new(void)
{
	struct side *s = calloc(1, sizeof(*s));
	ck_assert_ptr_nonnull(s);
	return s;
}

/* Close the link if still open, let ev free it, free the record. */
static void side_free(struct side *s)
{
	if (s->l && !s->down)
		link_close(s->l, "test over");
	ck_assert_int_le(s->down, 1);
	ev_run_once(ev, 0);
	free(s);
}

static void mk_initiator(struct side *s, const struct keypair *self, const uint8_t *peer_pk,
                         enum link_kind kind, size_t max_frames)
{
	s->l = link_new_detached(ev, 1, self, peer_pk, kind, max_frames, &cbs, s);
	ck_assert_ptr_nonnull(s->l);
	ck_assert_int_eq(link_state(s->l), LS_HELLO);
}

static void mk_responder(struct side *s, const struct keypair *self, size_t max_frames)
{
	s->l = link_new_detached(ev, 0, self, NULL, LINK_NODE, max_frames, &cbs, s);
	ck_assert_ptr_nonnull(s->l);
	ck_assert_int_eq(link_state(s->l), LS_HELLO);
}

/* Move everything a has queued into b (nothing leaves a closed link, as
 * nothing would leave its closed socket).  Returns bytes taken. */
static size_t move(struct side *a, struct side *b)
{
	static uint8_t buf[64 * 1024];
	size_t total = 0, n;
	if (a->down)
		return 0;
	while ((n = link_take_output(a->l, buf, sizeof(buf))) > 0) {
		total += n;
		if (!b->down)
			link_feed(b->l, buf, n);
	}
	return total;
}

/* The same, one byte per link_feed. */
static size_t move_bytewise(struct side *a, struct side *b)
{
	uint8_t c;
	size_t total = 0;
	if (a->down)
		return 0;
	while (link_take_output(a->l, &c, 1) == 1) {
		total++;
		if (!b->down)
			link_feed(b->l, &c, 1);
	}
	return total;
}

static void pump(struct side *a, struct side *b)
{
	for (int k = 0; k < 100; k++)
		if (move(a, b) + move(b, a) == 0)
			return;
	ck_abort_msg("links still talking after 100 rounds");
}

/* A pair of detached links, up. */
static void pair_up(struct side *i, struct side *r, enum link_kind kind, size_t max_frames)
{
	mk_initiator(i, &kp_i, kp_r.pk, kind, max_frames);
	mk_responder(r, &kp_r, max_frames);
	pump(i, r);
	ck_assert_int_eq(i->up, 1);
	ck_assert_int_eq(r->up, 1);
	ck_assert_int_eq(i->down + r->down, 0);
}

static void send_seed(struct side *s, enum link_frame_type type, uint32_t seed)
{
	uint8_t id[PKT_ID_BYTES], pkt[PKT_BYTES];
	frame_make(id, pkt, seed);
	ck_assert_int_eq(link_send(s->l, type, id, pkt), 0);
}

static void expect_rec(const struct side *s, int idx, enum link_frame_type type, uint32_t seed)
{
	uint8_t id[PKT_ID_BYTES], pkt[PKT_BYTES];
	frame_make(id, pkt, seed);
	ck_assert_int_lt(idx, s->nframes);
	ck_assert_int_eq(s->rec[idx].type, type);
	ck_assert_mem_eq(s->rec[idx].id, id, PKT_ID_BYTES);
	ck_assert_mem_eq(s->rec[idx].pkt, pkt, PKT_BYTES);
}

static int why_has(const struct side *s, const char *what)
{
	return s->down == 1 && strstr(s->why, what) != NULL;
}

/* ---- handshake ---- */

static void handshake_step_by_step(enum link_kind kind)
{
	struct side *i = side_new(), *r = side_new();
	uint8_t hello[LINK_HELLO_BYTES + 1], reply[LINK_REPLY_BYTES + 1], auth[F + 1];

	mk_initiator(i, &kp_i, kp_r.pk, kind, 8);
	mk_responder(r, &kp_r, 8);
	ck_assert_int_eq(link_kind(i->l), kind);
	ck_assert_mem_eq(link_peer_pk(i->l), kp_r.pk, 32);
	ck_assert_uint_ne(link_id(i->l), link_id(r->l));
	ck_assert_str_eq(link_peer_addr(i->l), "(detached)");

	ck_assert_uint_eq(link_take_output(i->l, hello, sizeof(hello)), LINK_HELLO_BYTES);
	ck_assert_ptr_null(memmem(hello, LINK_HELLO_BYTES, kp_i.pk, 32));
	ck_assert_int_eq(link_feed(r->l, hello, LINK_HELLO_BYTES), 0);
	ck_assert_int_eq(r->accepts, 1);
	ck_assert_int_eq(r->seen_kind, kind);
	ck_assert_mem_eq(r->seen_pk, kp_i.pk, 32);
	ck_assert_int_eq(link_kind(r->l), kind);
	ck_assert_mem_eq(link_peer_pk(r->l), kp_i.pk, 32);
	ck_assert_int_eq(link_state(r->l), LS_AUTH);
	ck_assert_int_eq(r->up, 0);

	ck_assert_uint_eq(link_take_output(r->l, reply, sizeof(reply)), LINK_REPLY_BYTES);
	ck_assert_int_eq(link_feed(i->l, reply, LINK_REPLY_BYTES), 0);
	ck_assert_int_eq(i->up, 1);
	ck_assert_int_eq(link_state(i->l), LS_UP);

	/* The key confirmation: one frame, and only then is R up. */
	ck_assert_uint_eq(link_take_output(i->l, auth, sizeof(auth)), F);
	ck_assert_int_eq(r->up, 0);
	ck_assert_int_eq(link_feed(r->l, auth, F), 0);
	ck_assert_int_eq(r->up, 1);
	ck_assert_int_eq(link_state(r->l), LS_UP);

	pump(i, r);
	ck_assert_int_eq(i->up, 1);
	ck_assert_int_eq(r->up, 1);
	ck_assert_int_eq(r->accepts, 1);
	ck_assert_int_eq(i->nframes + r->nframes, 0);
	ck_assert_int_eq(i->down + r->down, 0);

	struct link_stats st;
	link_get_stats(i->l, &st);
	ck_assert_uint_eq(st.frames_out, 1);
	ck_assert_uint_eq(st.frames_in, 0);
	link_get_stats(r->l, &st);
	ck_assert_uint_eq(st.frames_in, 1);
	ck_assert_uint_eq(st.frames_out, 0);

	ck_assert_ptr_eq(link_ctx(i->l), i);
	link_set_ctx(i->l, r);
	ck_assert_ptr_eq(link_ctx(i->l), r);
	link_set_ctx(i->l, i);

	side_free(i);
	side_free(r);
}

START_TEST(test_handshake_node)
{
	handshake_step_by_step(LINK_NODE);
}
END_TEST

/* What a responder spends on a peer that has proved nothing: a hello's
 * buffer until the hello, a frame's until the confirming frame; the
 * link's full buffers only once the peer holds its key. */
START_TEST(test_memory_before_auth)
{
	struct side *i = side_new(), *r = side_new();
	mk_initiator(i, &kp_i, kp_r.pk, LINK_NODE, 64);
	mk_responder(r, &kp_r, 64);
	size_t idle = link_memory(r->l);
	ck_assert_uint_lt(idle, 1536);
	move(i, r);
	ck_assert_int_eq(link_state(r->l), LS_AUTH);
	size_t helloed = link_memory(r->l);
	ck_assert_uint_lt(helloed, idle + LINK_FRAME_BYTES + 64);
	move(r, i);
	ck_assert_int_eq(i->up, 1);
	move(i, r);
	ck_assert_int_eq(r->up, 1);
	/* Up, both hold a frame's worth each way until traffic grows it. */
	ck_assert_uint_lt(link_memory(r->l), helloed + 64);
	ck_assert_uint_lt(link_memory(i->l), idle + 2 * LINK_FRAME_BYTES + 64);
	printf("link: a responder holds %zu bytes before the hello, %zu before the confirming "
	       "frame, %zu once up (the initiator %zu)\n", idle, helloed, link_memory(r->l),
	       link_memory(i->l));
	side_free(i);
	side_free(r);
}
END_TEST

/* A burst grows the buffers (the sender's queue, the receiver's buffer
 * while it is paused) and they go back to a frame's worth once the link
 * has been idle 5 s; the link works as before after. */
START_TEST(test_buffers_follow_traffic)
{
	struct side *i = side_new(), *r = side_new();
	pair_up(i, r, LINK_NODE, 64);
	size_t small_i = link_memory(i->l), small_r = link_memory(r->l);
	link_pause(r->l, 1);
	for (uint32_t k = 0; k < 10; k++)
		send_seed(i, LF_PACKET, k);
	ck_assert_uint_ge(link_memory(i->l), small_i + 9 * LINK_FRAME_BYTES);
	move(i, r);
	ck_assert_uint_ge(link_memory(r->l), small_r + 9 * LINK_FRAME_BYTES);
	ck_assert_int_eq(r->nframes, 0);
	link_pause(r->l, 0);
	ck_assert_int_eq(r->nframes, 10);
	printf("link: after a burst of 10 frames the sender holds %zu bytes, the receiver %zu\n",
	       link_memory(i->l), link_memory(r->l));

	/* Not yet idle for 5 s: kept. */
	uint64_t now = now_us();
	link_tick(i->l, now + 1000000);
	link_tick(r->l, now + 1000000);
	ck_assert_uint_ge(link_memory(i->l), small_i + 9 * LINK_FRAME_BYTES);
	ck_assert_uint_ge(link_memory(r->l), small_r + 9 * LINK_FRAME_BYTES);
	link_tick(i->l, now + 6000000);
	link_tick(r->l, now + 6000000);
	ck_assert_uint_le(link_memory(i->l), small_i);
	ck_assert_uint_le(link_memory(r->l), small_r);
	ck_assert_int_eq(i->down + r->down, 0);

	for (uint32_t k = 10; k < 13; k++)
		send_seed(i, LF_PACKET, k);
	move(i, r);
	ck_assert_int_eq(r->nframes, 13);
	for (int k = 0; k < 13; k++)
		expect_rec(r, k, LF_PACKET, (uint32_t)k);
	side_free(i);
	side_free(r);
}
END_TEST

START_TEST(test_handshake_client)
{
	handshake_step_by_step(LINK_CLIENT);
}
END_TEST

/* ---- frames and their directions ---- */

START_TEST(test_frames_node_both_ways)
{
	struct side *i = side_new(), *r = side_new();
	pair_up(i, r, LINK_NODE, 8);
	for (uint32_t k = 0; k < 5; k++) {
		send_seed(i, LF_PACKET, 100 + k);
		send_seed(r, LF_PACKET, 200 + k);
	}
	pump(i, r);
	ck_assert_int_eq(r->nframes, 5);
	ck_assert_int_eq(i->nframes, 5);
	for (int k = 0; k < 5; k++) {
		expect_rec(r, k, LF_PACKET, 100 + (uint32_t)k);
		expect_rec(i, k, LF_PACKET, 200 + (uint32_t)k);
	}

	/* id NULL means zeros. */
	uint8_t id0[PKT_ID_BYTES] = { 0 }, pkt[PKT_BYTES];
	frame_make(id0, pkt, 7);
	memset(id0, 0, sizeof(id0));
	ck_assert_int_eq(link_send(i->l, LF_PACKET, NULL, pkt), 0);
	pump(i, r);
	ck_assert_int_eq(r->nframes, 6);
	ck_assert_mem_eq(r->rec[5].id, id0, PKT_ID_BYTES);
	ck_assert_mem_eq(r->rec[5].pkt, pkt, PKT_BYTES);

	/* Pings pass both ways, counted but not handed up. */
	ck_assert_int_eq(link_send(i->l, LF_PING, NULL, NULL), 0);
	ck_assert_int_eq(link_send(r->l, LF_PING, NULL, NULL), 0);
	pump(i, r);
	ck_assert_int_eq(r->nframes, 6);
	ck_assert_int_eq(i->nframes, 5);
	struct link_stats st;
	link_get_stats(r->l, &st);
	ck_assert_uint_eq(st.frames_in, 1 + 6 + 1);
	ck_assert_int_eq(i->down + r->down, 0);
	side_free(i);
	side_free(r);
}
END_TEST

START_TEST(test_frames_client)
{
	struct side *i = side_new(), *r = side_new();
	pair_up(i, r, LINK_CLIENT, 8);
	for (uint32_t k = 0; k < 4; k++) {
		send_seed(i, LF_SEND, 300 + k);    /* client -> gateway */
		send_seed(r, LF_DELIVER, 400 + k); /* gateway -> client */
	}
	pump(i, r);
	ck_assert_int_eq(r->nframes, 4);
	ck_assert_int_eq(i->nframes, 4);
	for (int k = 0; k < 4; k++) {
		expect_rec(r, k, LF_SEND, 300 + (uint32_t)k);
		expect_rec(i, k, LF_DELIVER, 400 + (uint32_t)k);
	}
	ck_assert_int_eq(i->down + r->down, 0);
	side_free(i);
	side_free(r);
}
END_TEST

static const struct {
	enum link_kind kind;
	int from_initiator;
	int type;
} disallowed[] = {
	{ LINK_NODE, 1, LF_SEND },     { LINK_NODE, 0, LF_SEND },
	{ LINK_NODE, 1, LF_DELIVER },  { LINK_NODE, 0, LF_DELIVER },
	{ LINK_CLIENT, 1, LF_PACKET }, { LINK_CLIENT, 0, LF_PACKET },
	{ LINK_CLIENT, 1, LF_DELIVER }, { LINK_CLIENT, 0, LF_SEND },
	{ LINK_NODE, 1, LF_AUTH },     { LINK_NODE, 0, LF_AUTH },
	{ LINK_CLIENT, 1, LF_AUTH },   { LINK_CLIENT, 0, LF_AUTH },
	{ LINK_NODE, 1, 0 },           { LINK_NODE, 0, 6 },
	{ LINK_CLIENT, 1, 255 },       { LINK_CLIENT, 0, 0 },
	{ LINK_NODE, 1, LF_PACE },     { LINK_NODE, 0, LF_PAD },
	{ LINK_CLIENT, 1, LF_PAD },    { LINK_CLIENT, 0, LF_PACE },
	{ LINK_CLIENT, 1, 11 },        { LINK_CLIENT, 0, 11 },
	{ LINK_NODE, 1, LF_ATTACH },   { LINK_NODE, 0, LF_DETACH },
	{ LINK_CLIENT, 0, LF_ATTACH }, { LINK_CLIENT, 0, LF_DETACH },
};

/* A good frame, a frame the receiver must not accept, another good one:
 * the first is delivered, then the receiver closes. */
START_TEST(test_disallowed_frames)
{
	int k = _i;
	struct side *i = side_new(), *r = side_new();
	pair_up(i, r, disallowed[k].kind, 8);
	struct side *from = disallowed[k].from_initiator ? i : r;
	struct side *to = disallowed[k].from_initiator ? r : i;
	enum link_frame_type good;
	if (disallowed[k].kind == LINK_NODE)
		good = LF_PACKET;
	else
		good = disallowed[k].from_initiator ? LF_SEND : LF_DELIVER;

	send_seed(from, good, 1);
	send_seed(from, (enum link_frame_type)disallowed[k].type, 2);
	send_seed(from, good, 3);
	pump(i, r);
	ck_assert_int_eq(to->nframes, 1);
	expect_rec(to, 0, good, 1);
	ck_assert_msg(why_has(to, "unexpected frame type"), "why: %s", to->why);
	ck_assert_int_eq(from->down, 0);
	ck_assert_int_eq(link_state(to->l), LS_DOWN);
	side_free(i);
	side_free(r);
}
END_TEST

/* ---- queues ---- */

static void queued_before_up(enum link_kind kind)
{
	struct side *i = side_new(), *r = side_new();
	enum link_frame_type ti = kind == LINK_NODE ? LF_PACKET : LF_SEND;
	enum link_frame_type tr = kind == LINK_NODE ? LF_PACKET : LF_DELIVER;
	mk_initiator(i, &kp_i, kp_r.pk, kind, 8);
	mk_responder(r, &kp_r, 8);
	for (uint32_t k = 0; k < 3; k++) {
		send_seed(i, ti, 10 + k);
		send_seed(r, tr, 20 + k);
	}
	ck_assert_uint_eq(link_queue_len(i->l), 3);
	ck_assert_uint_eq(link_queue_len(r->l), 3);
	pump(i, r);
	ck_assert_int_eq(i->up + r->up, 2);
	ck_assert_int_eq(r->nframes, 3);
	ck_assert_int_eq(i->nframes, 3);
	for (int k = 0; k < 3; k++) {
		expect_rec(r, k, ti, 10 + (uint32_t)k);
		expect_rec(i, k, tr, 20 + (uint32_t)k);
	}
	/* Then frames sent after up follow. */
	send_seed(i, ti, 13);
	send_seed(r, tr, 23);
	pump(i, r);
	expect_rec(r, 3, ti, 13);
	expect_rec(i, 3, tr, 23);
	side_free(i);
	side_free(r);
}

START_TEST(test_queued_before_up_node)
{
	queued_before_up(LINK_NODE);
}
END_TEST

START_TEST(test_queued_before_up_client)
{
	queued_before_up(LINK_CLIENT);
}
END_TEST

/* max_frames = 4: four frames wait for the handshake, the fifth is refused
 * and counted, and all four accepted ones arrive (on both sides). */
START_TEST(test_queue_limits)
{
	struct side *i = side_new(), *r = side_new();
	struct link_stats st;
	mk_initiator(i, &kp_i, kp_r.pk, LINK_NODE, 4);
	mk_responder(r, &kp_r, 4);
	struct side *both[2] = { i, r };
	for (int s = 0; s < 2; s++) {
		struct side *x = both[s];
		ck_assert_uint_eq(link_queue_room(x->l), 4);
		ck_assert_uint_eq(link_queue_len(x->l), 0);
		for (uint32_t k = 0; k < 4; k++) {
			send_seed(x, LF_PACKET, 50 + k);
			ck_assert_uint_eq(link_queue_room(x->l), 3 - k);
			ck_assert_uint_eq(link_queue_len(x->l), k + 1);
		}
		uint8_t id[PKT_ID_BYTES], pkt[PKT_BYTES];
		frame_make(id, pkt, 99);
		ck_assert_int_eq(link_send(x->l, LF_PACKET, id, pkt), -1);
		ck_assert_uint_eq(link_queue_room(x->l), 0);
		ck_assert_uint_eq(link_queue_len(x->l), 4);
		link_get_stats(x->l, &st);
		ck_assert_uint_eq(st.dropped_full, 1);
	}
	pump(i, r);
	ck_assert_int_eq(i->up + r->up, 2);
	for (int s = 0; s < 2; s++) {
		struct side *x = both[s];
		ck_assert_int_eq(x->nframes, 4);
		for (int k = 0; k < 4; k++)
			expect_rec(x, k, LF_PACKET, 50 + (uint32_t)k);
		link_get_stats(x->l, &st);
		ck_assert_uint_eq(st.dropped_full, 1);
		ck_assert_uint_eq(st.dropped_down, 0);
		ck_assert_uint_eq(link_queue_len(x->l), 0);
		ck_assert_uint_ge(link_queue_room(x->l), 4);
	}

	/* Up, with nobody taking the output: at least max_frames fit, then
	 * link_send refuses and counts. */
	size_t room = link_queue_room(i->l);
	size_t n = 0;
	while (link_send(i->l, LF_PACKET, NULL, NULL) == 0) {
		n++;
		ck_assert_uint_eq(link_queue_len(i->l), n);
		ck_assert_uint_eq(link_queue_room(i->l), room - n);
		ck_assert_uint_lt(n, 100);
	}
	ck_assert_uint_eq(n, room);
	link_get_stats(i->l, &st);
	ck_assert_uint_eq(st.dropped_full, 2);

	/* Closing drops what is queued; a down link refuses everything. */
	link_close(i->l, "test");
	ck_assert_int_eq(i->down, 1);
	ck_assert_str_eq(i->why, "test");
	link_close(i->l, "twice");
	ck_assert_int_eq(i->down, 1);
	ck_assert_uint_eq(link_queue_room(i->l), 0);
	ck_assert_int_eq(link_send(i->l, LF_PACKET, NULL, NULL), -1);
	link_get_stats(i->l, &st);
	ck_assert_uint_eq(st.dropped_down, n + 1);
	ck_assert_int_eq(link_feed(i->l, (const uint8_t *)"x", 1), -1);
	side_free(i);
	side_free(r);
}
END_TEST

START_TEST(test_queue_minimum)
{
	struct side *i = side_new();
	mk_initiator(i, &kp_i, kp_r.pk, LINK_NODE, 0);
	ck_assert_uint_eq(link_queue_room(i->l), 2);
	side_free(i);
}
END_TEST

/* ---- wrong keys ---- */

START_TEST(test_wrong_peer_pk)
{
	struct side *i = side_new(), *r = side_new();
	mk_initiator(i, &kp_i, kp_other.pk, LINK_NODE, 4);
	mk_responder(r, &kp_r, 4);
	send_seed(i, LF_PACKET, 1);
	send_seed(r, LF_PACKET, 2);
	pump(i, r);
	/* The hello is sealed to the key the initiator was given: the
	 * responder cannot open it, and answers nothing. */
	ck_assert_msg(why_has(r, "hello not sealed to this node's key"), "why: %s", r->why);
	ck_assert_int_eq(r->accepts, 0);
	ck_assert_int_eq(i->up + r->up, 0);
	ck_assert_int_eq(i->nframes + r->nframes, 0);
	ck_assert_int_eq(link_state(i->l), LS_HELLO);
	struct link_stats st;
	link_get_stats(r->l, &st);
	ck_assert_uint_eq(st.dropped_down, 1);
	side_free(i);
	side_free(r);
}
END_TEST

/* Claims kp_i's public key without its secret. */
START_TEST(test_impostor)
{
	struct side *i = side_new(), *r = side_new();
	struct keypair imp;
	memcpy(imp.pk, kp_i.pk, 32);
	randombytes_buf(imp.sk, sizeof(imp.sk));
	mk_initiator(i, &imp, kp_r.pk, LINK_NODE, 4);
	mk_responder(r, &kp_r, 4);
	send_seed(i, LF_PACKET, 1);
	pump(i, r);
	/* The hello's payload is sealed with DH(is, rs) as well: without the
	 * secret, the responder refuses it before the accept callback. */
	ck_assert_int_eq(r->accepts, 0);
	ck_assert_msg(why_has(r, "peer does not hold its key"), "why: %s", r->why);
	ck_assert_int_eq(r->up, 0);
	ck_assert_int_eq(i->up, 0);
	ck_assert_int_eq(r->nframes, 0);
	side_free(i);
	side_free(r);
}
END_TEST

/* A recorded hello played again to the responder: it answers (it cannot
 * tell), but nobody can confirm the new keys, the initiator's own
 * confirming frame of the first link included. */
START_TEST(test_replayed_hello)
{
	struct side *i = side_new(), *r = side_new(), *r2 = side_new();
	uint8_t hello[LINK_HELLO_BYTES], reply[LINK_REPLY_BYTES], auth[F];
	mk_initiator(i, &kp_i, kp_r.pk, LINK_NODE, 4);
	mk_responder(r, &kp_r, 4);
	mk_responder(r2, &kp_r, 4);
	ck_assert_uint_eq(link_take_output(i->l, hello, sizeof(hello)), sizeof(hello));
	ck_assert_int_eq(link_feed(r->l, hello, sizeof(hello)), 0);
	ck_assert_uint_eq(link_take_output(r->l, reply, sizeof(reply)), sizeof(reply));
	ck_assert_int_eq(link_feed(i->l, reply, sizeof(reply)), 0);
	ck_assert_uint_eq(link_take_output(i->l, auth, sizeof(auth)), F);
	ck_assert_int_eq(link_feed(r->l, auth, F), 0);
	ck_assert_int_eq(r->up, 1);

	ck_assert_int_eq(link_feed(r2->l, hello, sizeof(hello)), 0);
	ck_assert_int_eq(link_state(r2->l), LS_AUTH);
	uint8_t reply2[LINK_REPLY_BYTES];
	ck_assert_uint_eq(link_take_output(r2->l, reply2, sizeof(reply2)), sizeof(reply2));
	ck_assert_mem_ne(reply2, reply, 32); /* a fresh ephemeral key */
	ck_assert_int_eq(link_feed(r2->l, auth, F), -1);
	ck_assert_msg(why_has(r2, "authentication failed"), "why: %s", r2->why);
	ck_assert_int_eq(r2->up, 0);
	ck_assert_int_eq(r2->nframes, 0);
	side_free(i);
	side_free(r);
	side_free(r2);
}
END_TEST

/* What a passive observer of a link's start sees: no static key (raw or
 * Base58), and nothing two handshakes of one identity share: no 8 bytes
 * in a row of one appear anywhere in the other. */
static int share_8(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
	for (size_t k = 0; k + 8 <= an; k++)
		if (memmem(b, bn, a + k, 8))
			return 1;
	return 0;
}

START_TEST(test_handshake_hides_keys)
{
	uint8_t wire[2][LINK_HELLO_BYTES + LINK_REPLY_BYTES];
	char b58[2][B58_KEY_CHARS];
	key_to_str(kp_i.pk, b58[0], sizeof(b58[0]));
	key_to_str(kp_r.pk, b58[1], sizeof(b58[1]));
	for (int k = 0; k < 2; k++) {
		struct side *i = side_new(), *r = side_new();
		mk_initiator(i, &kp_i, kp_r.pk, LINK_CLIENT, 4);
		mk_responder(r, &kp_r, 4);
		ck_assert_uint_eq(link_take_output(i->l, wire[k], LINK_HELLO_BYTES), LINK_HELLO_BYTES);
		ck_assert_int_eq(link_feed(r->l, wire[k], LINK_HELLO_BYTES), 0);
		ck_assert_uint_eq(link_take_output(r->l, wire[k] + LINK_HELLO_BYTES, LINK_REPLY_BYTES),
		                  LINK_REPLY_BYTES);
		ck_assert_int_eq(link_feed(i->l, wire[k] + LINK_HELLO_BYTES, LINK_REPLY_BYTES), 0);
		ck_assert_int_eq(i->up, 1);
		ck_assert_mem_eq(r->seen_pk, kp_i.pk, 32);
		for (int key = 0; key < 2; key++) {
			const uint8_t *pk = key ? kp_r.pk : kp_i.pk;
			ck_assert(!share_8(pk, 32, wire[k], sizeof(wire[k])));
			ck_assert_ptr_null(memmem(wire[k], sizeof(wire[k]), b58[key], 8));
		}
		side_free(i);
		side_free(r);
	}
	ck_assert_mem_ne(wire[0], wire[1], 32);
	ck_assert(!share_8(wire[0], sizeof(wire[0]), wire[1], sizeof(wire[1])));
}
END_TEST

START_TEST(test_accept_refused)
{
	struct side *i = side_new(), *r = side_new();
	uint8_t hello[LINK_HELLO_BYTES], out[256];
	r->refuse = 1;
	mk_initiator(i, &kp_i, kp_r.pk, LINK_CLIENT, 4);
	mk_responder(r, &kp_r, 4);
	send_seed(r, LF_DELIVER, 1);
	ck_assert_uint_eq(link_take_output(i->l, hello, sizeof(hello)), sizeof(hello));
	ck_assert_int_eq(link_feed(r->l, hello, sizeof(hello)), -1);
	ck_assert_int_eq(r->accepts, 1);
	ck_assert_int_eq(r->down, 1);
	ck_assert_str_ne(r->why, "");
	ck_assert_uint_eq(link_take_output(r->l, out, sizeof(out)), 0);
	ck_assert_int_eq(i->up + r->up, 0);
	ck_assert_int_eq(i->nframes, 0);
	side_free(i);
	side_free(r);
}
END_TEST

/* ---- tampering ---- */

/* Flip one bit of the HELLO: the handshake fails (the responder refuses
 * the HELLO, or the initiator the REPLY computed from it). */
START_TEST(test_flip_hello)
{
	size_t trials = 0;
	for (size_t pos = 0; pos < LINK_HELLO_BYTES; pos++) {
		for (int bit = 0; bit < 8; bit++) {
			struct side *i = side_new(), *r = side_new();
			uint8_t hello[LINK_HELLO_BYTES];
			mk_initiator(i, &kp_i, kp_r.pk, LINK_NODE, 4);
			mk_responder(r, &kp_r, 4);
			send_seed(i, LF_PACKET, 1);
			send_seed(r, LF_PACKET, 2);
			ck_assert_uint_eq(link_take_output(i->l, hello, sizeof(hello)), sizeof(hello));
			hello[pos] ^= (uint8_t)(1u << bit);
			link_feed(r->l, hello, sizeof(hello));
			pump(i, r);
			ck_assert_msg(i->down + r->down >= 1, "flip %zu.%d accepted", pos, bit);
			ck_assert_int_eq(i->up + r->up, 0);
			ck_assert_int_eq(i->nframes + r->nframes, 0);
			side_free(i);
			side_free(r);
			trials++;
		}
	}
	ck_assert_uint_eq(trials, 8 * LINK_HELLO_BYTES);
}
END_TEST

START_TEST(test_flip_reply)
{
	for (size_t pos = 0; pos < LINK_REPLY_BYTES; pos++) {
		for (int bit = 0; bit < 8; bit++) {
			struct side *i = side_new(), *r = side_new();
			uint8_t hello[LINK_HELLO_BYTES], reply[LINK_REPLY_BYTES];
			mk_initiator(i, &kp_i, kp_r.pk, LINK_NODE, 4);
			mk_responder(r, &kp_r, 4);
			send_seed(i, LF_PACKET, 1);
			ck_assert_uint_eq(link_take_output(i->l, hello, sizeof(hello)), sizeof(hello));
			ck_assert_int_eq(link_feed(r->l, hello, sizeof(hello)), 0);
			ck_assert_uint_eq(link_take_output(r->l, reply, sizeof(reply)), sizeof(reply));
			reply[pos] ^= (uint8_t)(1u << bit);
			ck_assert_int_eq(link_feed(i->l, reply, sizeof(reply)), -1);
			ck_assert_msg(i->down == 1, "flip %zu.%d accepted", pos, bit);
			ck_assert_str_ne(i->why, "");
			pump(i, r);
			ck_assert_int_eq(i->up + r->up, 0);
			ck_assert_int_eq(i->nframes + r->nframes, 0);
			side_free(i);
			side_free(r);
		}
	}
}
END_TEST

/* The initiator's key confirmation (first frame) and ordinary frames both
 * ways: every flip is caught.  Every 7th byte with one bit each (the bit
 * rotates from one sample to the next), and every bit of the first byte
 * and of the 16-byte tag; a handshake per flip makes more slow under
 * valgrind. */
static int flip_bit_sampled(size_t pos, int bit)
{
	if (pos == 0 || pos >= F - 16)
		return 1;
	return pos % 7 == 0 && (size_t)bit == (pos / 7) % 8;
}

START_TEST(test_flip_frames)
{
	uint8_t c[F];
	size_t trials = 0;
	for (size_t pos = 0; pos < F; pos++) {
		for (int bit = 0; bit < 8; bit++) {
			if (!flip_bit_sampled(pos, bit))
				continue;
			trials++;
			struct side *i = side_new(), *r = side_new();
			uint8_t hello[LINK_HELLO_BYTES], reply[LINK_REPLY_BYTES];
			int which = (int)((pos / 7 + (size_t)bit) % 3);
			if (which == 0) {
				/* The LF_AUTH frame. */
				mk_initiator(i, &kp_i, kp_r.pk, LINK_NODE, 4);
				mk_responder(r, &kp_r, 4);
				link_take_output(i->l, hello, sizeof(hello));
				link_feed(r->l, hello, sizeof(hello));
				link_take_output(r->l, reply, sizeof(reply));
				link_feed(i->l, reply, sizeof(reply));
				ck_assert_int_eq(i->up, 1);
				ck_assert_uint_eq(link_take_output(i->l, c, sizeof(c)), F);
				c[pos] ^= (uint8_t)(1u << bit);
				ck_assert_int_eq(link_feed(r->l, c, F), -1);
				ck_assert_int_eq(r->up, 0);
				ck_assert_msg(why_has(r, "authentication failed"), "why: %s", r->why);
			} else {
				struct side *from = which == 1 ? i : r;
				struct side *to = which == 1 ? r : i;
				pair_up(i, r, LINK_NODE, 4);
				send_seed(from, LF_PACKET, (uint32_t)pos);
				ck_assert_uint_eq(link_take_output(from->l, c, sizeof(c)), F);
				c[pos] ^= (uint8_t)(1u << bit);
				ck_assert_int_eq(link_feed(to->l, c, F), -1);
				ck_assert_int_eq(to->nframes, 0);
				ck_assert_msg(why_has(to, "authentication failed"), "why: %s", to->why);
			}
			side_free(i);
			side_free(r);
		}
	}
	ck_assert_uint_gt(trials, F / 7);
}
END_TEST

START_TEST(test_replay_and_reorder)
{
	struct side *i = side_new(), *r = side_new();
	uint8_t a[F], b[F];
	pair_up(i, r, LINK_NODE, 4);

	/* A duplicated frame: the counter nonce has moved on. */
	send_seed(i, LF_PACKET, 1);
	ck_assert_uint_eq(link_take_output(i->l, a, sizeof(a)), F);
	ck_assert_int_eq(link_feed(r->l, a, F), 0);
	ck_assert_int_eq(r->nframes, 1);
	ck_assert_int_eq(link_feed(r->l, a, F), -1);
	ck_assert_int_eq(r->nframes, 1);
	ck_assert_msg(why_has(r, "authentication failed"), "why: %s", r->why);
	side_free(i);
	side_free(r);

	/* Two frames swapped. */
	i = side_new();
	r = side_new();
	pair_up(i, r, LINK_NODE, 4);
	send_seed(r, LF_PACKET, 1);
	send_seed(r, LF_PACKET, 2);
	ck_assert_uint_eq(link_take_output(r->l, a, sizeof(a)), F);
	ck_assert_uint_eq(link_take_output(r->l, b, sizeof(b)), F);
	ck_assert_int_eq(link_feed(i->l, b, F), -1);
	ck_assert_int_eq(i->nframes, 0);
	ck_assert_int_eq(i->down, 1);
	side_free(i);
	side_free(r);

	/* A frame of one link replayed into another link of the same peers. */
	i = side_new();
	r = side_new();
	pair_up(i, r, LINK_NODE, 4);
	struct side *i2 = side_new(), *r2 = side_new();
	pair_up(i2, r2, LINK_NODE, 4);
	send_seed(i, LF_PACKET, 1);
	ck_assert_uint_eq(link_take_output(i->l, a, sizeof(a)), F);
	ck_assert_int_eq(link_feed(r2->l, a, F), -1);
	ck_assert_int_eq(r2->nframes, 0);
	ck_assert_int_eq(link_feed(r->l, a, F), 0);
	ck_assert_int_eq(r->nframes, 1);
	side_free(i);
	side_free(r);
	side_free(i2);
	side_free(r2);
}
END_TEST

/* A HELLO, REPLY or frame one byte short waits; the last byte completes it. */
START_TEST(test_truncated_waits)
{
	struct side *i = side_new(), *r = side_new();
	uint8_t hello[LINK_HELLO_BYTES], reply[LINK_REPLY_BYTES], c[F], out[8];
	mk_initiator(i, &kp_i, kp_r.pk, LINK_NODE, 4);
	mk_responder(r, &kp_r, 4);

	link_take_output(i->l, hello, sizeof(hello));
	ck_assert_int_eq(link_feed(r->l, hello, sizeof(hello) - 1), 0);
	ck_assert_int_eq(r->accepts, 0);
	ck_assert_int_eq(link_state(r->l), LS_HELLO);
	ck_assert_uint_eq(link_take_output(r->l, out, sizeof(out)), 0);
	ck_assert_int_eq(link_feed(r->l, hello + sizeof(hello) - 1, 1), 0);
	ck_assert_int_eq(r->accepts, 1);

	ck_assert_uint_eq(link_take_output(r->l, reply, sizeof(reply)), sizeof(reply));
	ck_assert_int_eq(link_feed(i->l, reply, sizeof(reply) - 1), 0);
	ck_assert_int_eq(i->up, 0);
	ck_assert_int_eq(link_state(i->l), LS_HELLO);
	ck_assert_int_eq(link_feed(i->l, reply + sizeof(reply) - 1, 1), 0);
	ck_assert_int_eq(i->up, 1);

	ck_assert_uint_eq(link_take_output(i->l, c, sizeof(c)), F);
	ck_assert_int_eq(link_feed(r->l, c, F - 1), 0);
	ck_assert_int_eq(r->up, 0);
	ck_assert_int_eq(link_feed(r->l, c + F - 1, 1), 0);
	ck_assert_int_eq(r->up, 1);

	send_seed(i, LF_PACKET, 5);
	ck_assert_uint_eq(link_take_output(i->l, c, sizeof(c)), F);
	ck_assert_int_eq(link_feed(r->l, c, F - 1), 0);
	ck_assert_int_eq(r->nframes, 0);
	ck_assert_int_eq(r->down, 0);
	ck_assert_int_eq(link_feed(r->l, c + F - 1, 1), 0);
	ck_assert_int_eq(r->nframes, 1);
	expect_rec(r, 0, LF_PACKET, 5);

	/* Left with half a frame: still up, nothing delivered. */
	send_seed(i, LF_PACKET, 6);
	ck_assert_uint_eq(link_take_output(i->l, c, sizeof(c)), F);
	ck_assert_int_eq(link_feed(r->l, c, F / 2), 0);
	ck_assert_int_eq(r->nframes, 1);
	ck_assert_int_eq(r->down, 0);
	ck_assert_int_eq(link_state(r->l), LS_UP);
	side_free(i);
	side_free(r);
}
END_TEST

START_TEST(test_bytewise)
{
	struct side *i = side_new(), *r = side_new();
	mk_initiator(i, &kp_i, kp_r.pk, LINK_CLIENT, 8);
	mk_responder(r, &kp_r, 8);
	send_seed(i, LF_SEND, 1);
	send_seed(r, LF_DELIVER, 2);
	for (int k = 0; k < 10; k++)
		if (move_bytewise(i, r) + move_bytewise(r, i) == 0)
			break;
	ck_assert_int_eq(i->up + r->up, 2);
	send_seed(i, LF_SEND, 3);
	send_seed(i, LF_SEND, 4);
	send_seed(r, LF_DELIVER, 5);
	move_bytewise(i, r);
	move_bytewise(r, i);
	ck_assert_int_eq(r->nframes, 3);
	ck_assert_int_eq(i->nframes, 2);
	expect_rec(r, 0, LF_SEND, 1);
	expect_rec(r, 1, LF_SEND, 3);
	expect_rec(r, 2, LF_SEND, 4);
	expect_rec(i, 0, LF_DELIVER, 2);
	expect_rec(i, 1, LF_DELIVER, 5);
	ck_assert_int_eq(i->down + r->down, 0);
	side_free(i);
	side_free(r);
}
END_TEST

/* ---- malformed handshakes ---- */

/* Feed the responder a HELLO edited by edit(); it must close with why. */
static void bad_hello(void (*edit)(uint8_t *h), const char *why)
{
	struct side *i = side_new(), *r = side_new();
	uint8_t hello[LINK_HELLO_BYTES], out[8];
	mk_initiator(i, &kp_i, kp_r.pk, LINK_NODE, 4);
	mk_responder(r, &kp_r, 4);
	link_take_output(i->l, hello, sizeof(hello));
	edit(hello);
	ck_assert_int_eq(link_feed(r->l, hello, sizeof(hello)), -1);
	ck_assert_msg(why_has(r, why), "why: %s, wanted %s", r->why, why);
	ck_assert_uint_eq(link_take_output(r->l, out, sizeof(out)), 0);
	ck_assert_int_eq(r->up, 0);
	side_free(i);
	side_free(r);
}

static void bad_reply(void (*edit)(uint8_t *h), const char *why)
{
	struct side *i = side_new(), *r = side_new();
	uint8_t hello[LINK_HELLO_BYTES], reply[LINK_REPLY_BYTES], out[8];
	mk_initiator(i, &kp_i, kp_r.pk, LINK_NODE, 4);
	mk_responder(r, &kp_r, 4);
	link_take_output(i->l, hello, sizeof(hello));
	link_feed(r->l, hello, sizeof(hello));
	link_take_output(r->l, reply, sizeof(reply));
	edit(reply);
	ck_assert_int_eq(link_feed(i->l, reply, sizeof(reply)), -1);
	ck_assert_msg(why_has(i, why), "why: %s, wanted %s", i->why, why);
	ck_assert_uint_eq(link_take_output(i->l, out, sizeof(out)), 0);
	ck_assert_int_eq(i->up, 0);
	side_free(i);
	side_free(r);
}

static void ed_first(uint8_t *h) { h[0] ^= 0x40; }
static void ed_sealed_key(uint8_t *h) { h[40] ^= 1; }
static void ed_sealed_kind(uint8_t *h) { h[LINK_HELLO_BYTES - 1] ^= 0x80; }
static void ed_zero_eph(uint8_t *h) { memset(h, 0, 32); }
static void ed_http(uint8_t *h)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: example.com\r\nUser-Agent: x\r\n"
	                          "Accept: */*\r\n\r\n";
	memcpy(h, req, LINK_HELLO_BYTES < sizeof(req) ? LINK_HELLO_BYTES : sizeof(req));
}
static void ed_http_reply(uint8_t *h)
{
	static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nServer: x\r\n\r\n";
	memcpy(h, resp, LINK_REPLY_BYTES < sizeof(resp) ? LINK_REPLY_BYTES : sizeof(resp));
}

/* A hello sealed properly (the link's prologue, kp_i to kp_r) around a
 * payload of our choice: the responder refuses it with why, or (why
 * NULL) takes it and answers. */
static void sealed_payload(const uint8_t pay[LINK_HELLO_PAYLOAD], const char *why)
{
	struct side *r = side_new();
	struct noise_ik hs;
	uint8_t hello[LINK_HELLO_BYTES], out[8];
	mk_responder(r, &kp_r, 4);
	noise_ik_init(&hs, 1, LINK_PROLOGUE, strlen(LINK_PROLOGUE), &kp_i, kp_r.pk);
	ck_assert_int_eq(noise_ik_write1(&hs, pay, LINK_HELLO_PAYLOAD, hello), 0);
	noise_ik_wipe(&hs);
	if (!why) {
		ck_assert_int_eq(link_feed(r->l, hello, sizeof(hello)), 0);
		ck_assert_int_eq(link_state(r->l), LS_AUTH);
		side_free(r);
		return;
	}
	ck_assert_int_eq(link_feed(r->l, hello, sizeof(hello)), -1);
	ck_assert_msg(why_has(r, why), "why: %s, wanted %s", r->why, why);
	ck_assert_int_eq(r->accepts, 0);
	ck_assert_uint_eq(link_take_output(r->l, out, sizeof(out)), 0);
	side_free(r);
}

START_TEST(test_garbage_hello)
{
	bad_hello(ed_first, "hello not sealed to this node's key");
	bad_hello(ed_http, "hello not sealed to this node's key");
	bad_hello(ed_sealed_key, "hello not sealed to this node's key");
	bad_hello(ed_sealed_kind, "peer does not hold its key");
	bad_hello(ed_zero_eph, "bad key");
	static const uint8_t kind0[LINK_HELLO_PAYLOAD] = { 0 }, kind3[LINK_HELLO_PAYLOAD] = { 3 },
	                     res1[LINK_HELLO_PAYLOAD] = { 1, 1 },
	                     res3[LINK_HELLO_PAYLOAD] = { 2, 0, 0, 0x80 },
	                     good[LINK_HELLO_PAYLOAD] = { 1 };
	sealed_payload(kind0, "malformed hello");
	sealed_payload(kind3, "malformed hello");
	sealed_payload(res1, "malformed hello");
	sealed_payload(res3, "malformed hello");
	/* The helper's own hello, with a good payload, is taken: the
	 * refusals above are the payloads'. */
	sealed_payload(good, NULL);

	/* Random bytes. */
	struct side *r = side_new();
	uint8_t junk[3 * LINK_HELLO_BYTES];
	mk_responder(r, &kp_r, 4);
	randombytes_buf(junk, sizeof(junk));
	ck_assert_int_eq(link_feed(r->l, junk, sizeof(junk)), -1);
	ck_assert_msg(why_has(r, "hello not sealed"), "why: %s", r->why);
	ck_assert_int_eq(r->accepts, 0);
	side_free(r);
}
END_TEST

START_TEST(test_garbage_reply)
{
	bad_reply(ed_first, "peer does not hold the topology's key");
	bad_reply(ed_http_reply, "peer does not hold the topology's key");
	bad_reply(ed_zero_eph, "bad key");
	/* A HELLO where a REPLY belongs (a reflected HELLO). */
	struct side *i = side_new();
	uint8_t hello[LINK_HELLO_BYTES];
	mk_initiator(i, &kp_i, kp_r.pk, LINK_NODE, 4);
	link_take_output(i->l, hello, sizeof(hello));
	ck_assert_int_eq(link_feed(i->l, hello, sizeof(hello)), -1);
	ck_assert_int_eq(i->down, 1);
	ck_assert_int_eq(i->up, 0);
	side_free(i);
}
END_TEST

/* ---- the wire ---- */

START_TEST(test_wire_sizes)
{
	struct side *i = side_new(), *r = side_new();
	uint8_t *buf = malloc(8 * F + 1);
	ck_assert_ptr_nonnull(buf);
	mk_initiator(i, &kp_i, kp_r.pk, LINK_NODE, 8);
	mk_responder(r, &kp_r, 8);
	send_seed(i, LF_PACKET, 1);
	send_seed(i, LF_PACKET, 2);
	send_seed(r, LF_PACKET, 3);
	size_t n = link_take_output(i->l, buf, 8 * F + 1);
	ck_assert_uint_eq(n, LINK_HELLO_BYTES);
	link_feed(r->l, buf, n);
	n = link_take_output(r->l, buf, 8 * F + 1);
	ck_assert_uint_eq(n, LINK_REPLY_BYTES);
	link_feed(i->l, buf, n);
	n = link_take_output(i->l, buf, 8 * F + 1);
	ck_assert_uint_eq(n, 3 * F); /* auth + 2 queued */
	link_feed(r->l, buf, n);
	n = link_take_output(r->l, buf, 8 * F + 1);
	ck_assert_uint_eq(n, F);
	link_feed(i->l, buf, n);

	for (size_t k = 0; k < 6; k++) {
		for (size_t j = 0; j < k; j++) {
			if (j % 2)
				ck_assert_int_eq(link_send(i->l, LF_PING, NULL, NULL), 0);
			else
				send_seed(i, LF_PACKET, (uint32_t)(k * 10 + j));
			ck_assert_int_eq(link_send(r->l, LF_PING, NULL, NULL), 0);
		}
		n = link_take_output(i->l, buf, 8 * F + 1);
		ck_assert_uint_eq(n, k * F);
		link_feed(r->l, buf, n);
		n = link_take_output(r->l, buf, 8 * F + 1);
		ck_assert_uint_eq(n, k * F);
		link_feed(i->l, buf, n);
	}
	ck_assert_int_eq(i->down + r->down, 0);
	ck_assert_int_eq(r->nframes, 2 + 0 + 1 + 1 + 2 + 2 + 3);
	free(buf);
	side_free(i);
	side_free(r);
}
END_TEST

/* ---- pause ---- */

/* Five frames in one feed; on_frame pauses after the second. */
static void pause_case(int resume_inside)
{
	struct side *i = side_new(), *r = side_new();
	pair_up(i, r, LINK_NODE, 8);
	r->pause_at = 2;
	r->resume_inside = resume_inside;
	for (uint32_t k = 0; k < 5; k++)
		send_seed(i, LF_PACKET, k);
	move(i, r);
	if (!resume_inside) {
		ck_assert_int_eq(r->nframes, 2);
		/* More arrive while paused: buffered, not delivered. */
		send_seed(i, LF_PACKET, 5);
		send_seed(i, LF_PACKET, 6);
		move(i, r);
		ck_assert_int_eq(r->nframes, 2);
		link_pause(r->l, 0);
	}
	ck_assert_int_eq(r->down, 0);
	int want = resume_inside ? 5 : 7;
	ck_assert_int_eq(r->nframes, want);
	for (int k = 0; k < want; k++)
		expect_rec(r, k, LF_PACKET, (uint32_t)k);
	side_free(i);
	side_free(r);
}

/* A gateway paces within its bounds whatever a client asks (LF_PACE):
 * as fast as a client of the default profile at a 0.25 ms send slot
 * needs, never so fast that one link takes a timer per microsecond. */
START_TEST(test_pace_held)
{
	ck_assert_uint_eq(link_pace_held(1), LINK_PACE_MIN_US);
	ck_assert_uint_eq(link_pace_held(LINK_PACE_MIN_US - 1), LINK_PACE_MIN_US);
	ck_assert_uint_eq(link_pace_held(LINK_PACE_MIN_US), LINK_PACE_MIN_US);
	ck_assert_uint_eq(link_pace_held(125), 125);
	ck_assert_uint_eq(link_pace_held(10000), 10000);
	ck_assert_uint_eq(link_pace_held(LINK_PACE_MAX_US), LINK_PACE_MAX_US);
	ck_assert_uint_eq(link_pace_held(UINT32_MAX), LINK_PACE_MAX_US);
}
END_TEST

START_TEST(test_pause_in_on_frame)
{
	pause_case(0);
}
END_TEST

/* Pausing and resuming inside the same on_frame must not re-read the frame
 * being delivered (process_rx is still running further up the stack). */
START_TEST(test_pause_resume_in_on_frame)
{
	pause_case(1);
}
END_TEST

START_TEST(test_pause_handshake)
{
	struct side *i = side_new(), *r = side_new();
	mk_initiator(i, &kp_i, kp_r.pk, LINK_NODE, 4);
	mk_responder(r, &kp_r, 4);
	link_pause(r->l, 1);
	move(i, r);
	ck_assert_int_eq(r->accepts, 0);
	link_pause(r->l, 0);
	ck_assert_int_eq(r->accepts, 1);
	pump(i, r);
	ck_assert_int_eq(i->up + r->up, 2);
	side_free(i);
	side_free(r);
}
END_TEST

START_TEST(test_close_in_on_frame)
{
	struct side *i = side_new(), *r = side_new();
	pair_up(i, r, LINK_NODE, 8);
	r->close_at = 2;
	for (uint32_t k = 0; k < 5; k++)
		send_seed(i, LF_PACKET, k);
	move(i, r);
	ck_assert_int_eq(r->nframes, 2);
	ck_assert_str_eq(r->why, "owner closed");
	ck_assert_int_eq(r->down, 1);
	side_free(i);
	side_free(r);
}
END_TEST

static void flood_write(struct side *a, int fd);

/* A queue that never reaches half of its grown ring still tells its
 * owner when it empties: a gateway keeps a client's queue to a share
 * smaller than the ring grew to, and flushes its mailbox on drain. */
START_TEST(test_drain_when_empty)
{
	int sv[2];
	uint8_t buf[64 * 1024];
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	int small = 4096;
	ck_assert_int_eq(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
	struct sockaddr_un su;
	memset(&su, 0, sizeof(su));
	su.sun_family = AF_UNIX;
	struct side *i = side_new(), *r = side_new();
	r->l = link_accept(ev, sv[0], (struct sockaddr *)&su, sizeof(su), &kp_r, 64, &cbs, r);
	ck_assert_ptr_nonnull(r->l);
	mk_initiator(i, &kp_i, kp_r.pk, LINK_NODE, 8);
	flood_write(i, sv[1]);
	for (int k = 0; k < 100 && !r->up; k++) {
		ck_assert_int_ge(ev_run_once(ev, 10), 0);
		ssize_t n = read(sv[1], buf, sizeof(buf));
		if (n > 0)
			link_feed(i->l, buf, (size_t)n);
		flood_write(i, sv[1]);
	}
	ck_assert_int_eq(r->up, 1);
	/* 40 frames the peer does not read: the ring grows. */
	for (uint32_t k = 0; k < 40; k++)
		send_seed(r, LF_PACKET, k);
	for (int k = 0; k < 5; k++)
		ck_assert_int_ge(ev_run_once(ev, 5), 0);
	ck_assert_uint_gt(link_queue_len(r->l), 8);
	/* The peer reads it all: the queue empties (drain once or twice). */
	for (int k = 0; k < 200 && link_queue_len(r->l) > 0; k++) {
		while (read(sv[1], buf, sizeof(buf)) > 0)
			;
		ck_assert_int_ge(ev_run_once(ev, 5), 0);
	}
	ck_assert_uint_eq(link_queue_len(r->l), 0);
	int drains = r->drains;
	ck_assert_int_gt(drains, 0);
	/* Two frames, far below half of the grown ring: empty again, told. */
	send_seed(r, LF_PACKET, 100);
	send_seed(r, LF_PACKET, 101);
	for (int k = 0; k < 100 && link_queue_len(r->l) > 0; k++) {
		while (read(sv[1], buf, sizeof(buf)) > 0)
			;
		ck_assert_int_ge(ev_run_once(ev, 5), 0);
	}
	ck_assert_uint_eq(link_queue_len(r->l), 0);
	ck_assert_int_eq(r->drains, drains + 1);
	side_free(i);
	side_free(r);
	close(sv[1]);
}
END_TEST

/* ---- over TCP on loopback ---- */

#define LB_FRAMES 1000

START_TEST(test_loopback_tcp)
{
	signal(SIGPIPE, SIG_IGN);
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(lfd, 0);
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t salen = sizeof(sa);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, salen), 0);
	ck_assert_int_eq(listen(lfd, 4), 0);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&sa, &salen), 0);

	struct side *i = side_new(), *r = side_new();
	r->check_seq = 1;
	i->l = link_connect(ev, (struct sockaddr *)&sa, salen, &kp_i, kp_r.pk, LINK_NODE, 32,
	                    &cbs, i);
	ck_assert_ptr_nonnull(i->l);
	ck_assert_int_eq(link_state(i->l), LS_CONNECTING);
	char want_addr[64];
	snprintf(want_addr, sizeof(want_addr), "127.0.0.1:%u", ntohs(sa.sin_port));
	ck_assert_str_eq(link_peer_addr(i->l), want_addr);

	uint32_t sent = 0;
	uint64_t deadline = now_ms() + 10000;
	while (r->nframes < LB_FRAMES && !i->down && !r->down && now_ms() < deadline) {
		if (!r->l) {
			struct sockaddr_storage ps;
			socklen_t pl = sizeof(ps);
			int fd = accept4(lfd, (struct sockaddr *)&ps, &pl, SOCK_CLOEXEC);
			if (fd >= 0) {
				r->l = link_accept(ev, fd, (struct sockaddr *)&ps, pl, &kp_r, 32,
				                   &cbs, r);
				ck_assert_ptr_nonnull(r->l);
				ck_assert_ptr_nonnull(strstr(link_peer_addr(r->l), "127.0.0.1:"));
			} else {
				ck_assert_msg(errno == EAGAIN || errno == EWOULDBLOCK,
				              "accept4: %s", strerror(errno));
			}
		}
		while (sent < LB_FRAMES && link_queue_room(i->l) > 0) {
			send_seed(i, LF_PACKET, sent);
			sent++;
		}
		ck_assert_int_ge(ev_run_once(ev, 10), 0);
	}
	ck_assert_msg(i->down + r->down == 0, "down: %s / %s", i->why, r->why);
	ck_assert_int_eq(i->up, 1);
	ck_assert_int_eq(r->up, 1);
	ck_assert_int_eq(r->accepts, 1);
	ck_assert_mem_eq(r->seen_pk, kp_i.pk, 32);
	ck_assert_int_eq(r->nframes, LB_FRAMES);
	ck_assert_int_eq(r->bad, 0);
	ck_assert_int_gt(i->drains, 0);
	struct link_stats st;
	link_get_stats(i->l, &st);
	ck_assert_uint_eq(st.frames_out, LB_FRAMES + 1);
	ck_assert_uint_eq(st.dropped_full + st.dropped_down, 0);

	/* Close one side: the other sees the end of the stream. */
	link_close(i->l, "test done");
	ck_assert_int_eq(i->down, 1);
	deadline = now_ms() + 10000;
	while (!r->down && now_ms() < deadline)
		ck_assert_int_ge(ev_run_once(ev, 10), 0);
	ck_assert_int_eq(r->down, 1);
	ck_assert_str_eq(r->why, "peer closed the connection");
	close(lfd);
	side_free(i);
	side_free(r);
}
END_TEST

/* A peer that always has more to send must not keep the reader to itself:
 * one readable event handles a bounded amount, and the loop comes back for
 * the rest (level-triggered) after the other fds have had their turn.  The
 * bytes are all in the socket before the loop runs, as they are when a
 * feeder floods a mix over loopback; reading until EAGAIN took them all in
 * one callback, during which the mix never wrote to its next hop. */
#define FLOOD_FRAMES 48

static void flood_write(struct side *a, int fd)
{
	static uint8_t buf[64 * 1024];
	size_t n;
	while ((n = link_take_output(a->l, buf, sizeof(buf))) > 0)
		ck_assert_int_eq(write(fd, buf, n), (ssize_t)n);
}

START_TEST(test_flood_yields)
{
	int sv[2];
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	int big = 1 << 20;
	ck_assert_int_eq(setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big)), 0);
	struct sockaddr_un su;
	memset(&su, 0, sizeof(su));
	su.sun_family = AF_UNIX;

	struct side *i = side_new(), *r = side_new();
	r->check_seq = 1;
	r->l = link_accept(ev, sv[0], (struct sockaddr *)&su, sizeof(su), &kp_r, 8, &cbs, r);
	ck_assert_ptr_nonnull(r->l);
	mk_initiator(i, &kp_i, kp_r.pk, LINK_NODE, FLOOD_FRAMES);

	/* Handshake: HELLO in, REPLY out, then LF_AUTH and the flood. */
	flood_write(i, sv[1]);
	uint8_t reply[LINK_REPLY_BYTES];
	size_t got = 0;
	for (int k = 0; k < 100 && got < sizeof(reply); k++) {
		ck_assert_int_ge(ev_run_once(ev, 10), 0);
		ssize_t n = read(sv[1], reply + got, sizeof(reply) - got);
		if (n > 0)
			got += (size_t)n;
	}
	ck_assert_uint_eq(got, sizeof(reply));
	ck_assert_int_eq(link_feed(i->l, reply, got), 0);
	ck_assert_int_eq(i->up, 1);
	for (uint32_t k = 0; k < FLOOD_FRAMES; k++)
		send_seed(i, LF_PACKET, k);
	flood_write(i, sv[1]);

	/* The responder's buffer holds one frame until the peer has proved
	 * its key: that event takes LF_AUTH only, the next the flood. */
	ck_assert_int_ge(ev_run_once(ev, 0), 1);
	ck_assert_int_eq(r->up, 1);
	ck_assert_int_eq(r->nframes, 0);
	ck_assert_int_ge(ev_run_once(ev, 0), 1);
	ck_assert_msg(r->nframes > 0 && r->nframes < FLOOD_FRAMES,
	              "one readable event took %d of %d frames", r->nframes, FLOOD_FRAMES);
	/* Nothing is lost by stopping early: the rest comes on later turns. */
	for (int k = 0; k < 100 && r->nframes < FLOOD_FRAMES; k++)
		ck_assert_int_ge(ev_run_once(ev, 0), 0);
	ck_assert_int_eq(r->nframes, FLOOD_FRAMES);
	ck_assert_int_eq(r->bad, 0);
	ck_assert_int_eq(r->down, 0);
	close(sv[1]);
	side_free(i);
	side_free(r);
}
END_TEST

/* link_connect to a port nobody listens on: on_down with a connect error. */
START_TEST(test_loopback_refused)
{
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(lfd, 0);
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t salen = sizeof(sa);
	/* Bound but not listening: the port is ours and refuses. */
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, salen), 0);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&sa, &salen), 0);
	struct side *i = side_new();
	i->l = link_connect(ev, (struct sockaddr *)&sa, salen, &kp_i, kp_r.pk, LINK_NODE, 4,
	                    &cbs, i);
	if (i->l) {
		uint64_t deadline = now_ms() + 5000;
		while (!i->down && now_ms() < deadline)
			ck_assert_int_ge(ev_run_once(ev, 10), 0);
	}
	ck_assert_int_eq(i->down, 1);
	ck_assert_msg(strstr(i->why, "connect") != NULL, "why: %s", i->why);
	ck_assert_int_eq(i->up, 0);
	close(lfd);
	side_free(i);
}
END_TEST

Suite *suite_link(void)
{
	Suite *s = suite_create("link");
	TCase *tc = tcase_create("link");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_handshake_node);
	tcase_add_test(tc, test_pace_held);
	tcase_add_test(tc, test_memory_before_auth);
	tcase_add_test(tc, test_drain_when_empty);
	tcase_add_test(tc, test_handshake_client);
	tcase_add_test(tc, test_frames_node_both_ways);
	tcase_add_test(tc, test_frames_client);
	tcase_add_loop_test(tc, test_disallowed_frames, 0, (int)ARRAY_LEN(disallowed));
	tcase_add_test(tc, test_queued_before_up_node);
	tcase_add_test(tc, test_queued_before_up_client);
	tcase_add_test(tc, test_queue_limits);
	tcase_add_test(tc, test_queue_minimum);
	tcase_add_test(tc, test_wrong_peer_pk);
	tcase_add_test(tc, test_impostor);
	tcase_add_test(tc, test_accept_refused);
	tcase_add_test(tc, test_flip_hello);
	tcase_add_test(tc, test_flip_reply);
	tcase_add_test(tc, test_flip_frames);
	tcase_add_test(tc, test_replay_and_reorder);
	tcase_add_test(tc, test_replayed_hello);
	tcase_add_test(tc, test_buffers_follow_traffic);
	tcase_add_test(tc, test_handshake_hides_keys);
	tcase_add_test(tc, test_truncated_waits);
	tcase_add_test(tc, test_bytewise);
	tcase_add_test(tc, test_garbage_hello);
	tcase_add_test(tc, test_garbage_reply);
	tcase_add_test(tc, test_wire_sizes);
	tcase_add_test(tc, test_pause_in_on_frame);
	tcase_add_test(tc, test_pause_resume_in_on_frame);
	tcase_add_test(tc, test_pause_handshake);
	tcase_add_test(tc, test_close_in_on_frame);
	tcase_add_test(tc, test_loopback_tcp);
	tcase_add_test(tc, test_loopback_refused);
	tcase_add_test(tc, test_flood_yields);
	suite_add_tcase(s, tc);
	return s;
}
