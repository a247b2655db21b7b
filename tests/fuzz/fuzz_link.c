/* libFuzzer harness for the link push parser (link_feed).
 *
 * Each input is fed, in up to three chunks, to
 *   - a detached responder, as HELLO + frames;
 *   - two detached initiators (a node link and a client link), after they
 *     sent their HELLO, as REPLY + frames.
 *
 * libsodium's random source is replaced by a deterministic one, reset
 * before each link is made, so the ephemeral keys are the same on every
 * run: a seed holding a real transcript (see tests/fuzz/seeds/link/) then
 * passes the handshake and the frame authentication, and the fuzzer
 * explores what follows (splices, duplicates, truncations) instead of
 * stopping at the first tag.
 *
 * Built with -DFUZZ_LINK_GEN (and without -fsanitize=fuzzer) the file is
 * instead a program that writes those seeds into the directory given:
 *   clang -DFUZZ_LINK_GEN -DMIXPROXY_VERSION='"0"' -std=c11 -D_GNU_SOURCE -Isrc -o /tmp/gen \
 *       tests/fuzz/fuzz_link.c (every src .c file but main.c) \
 *       $(pkg-config --libs libsodium libxxhash) -lm
 *   /tmp/gen tests/fuzz/seeds/link
 * It also runs each seed through the harness and says how many frames got
 * through (0 would mean the harness and the seeds drifted apart). */
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ev.h"
#include "keys.h"
#include "link.h"

#define SEED_RESP  0x5265737020000001ull
#define SEED_INIT  0x496e697420000000ull /* + kind */
#define SEED_OTHER 0x4f74686572000000ull
#define MAX_FRAMES 4

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- a deterministic random source (splitmix64) ---- */

static uint64_t rng_state;

static void rng_reset(uint64_t seed)
{
	rng_state = seed;
}

static uint64_t rng_next(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static const char *rng_name(void)
{
	return "fuzz-splitmix64";
}

static uint32_t rng_random(void)
{
	return (uint32_t)rng_next();
}

static void rng_buf(void *const buf, const size_t size)
{
	uint8_t *p = buf;
	for (size_t k = 0; k < size; k += 8) {
		uint64_t v = rng_next();
		size_t n = size - k < 8 ? size - k : 8;
		memcpy(p + k, &v, n);
	}
}

static randombytes_implementation rng_impl = {
	.implementation_name = rng_name,
	.random = rng_random,
	.stir = NULL,
	.uniform = NULL,
	.buf = rng_buf,
	.close = NULL,
};

/* ---- callbacks ---- */

static int fz_accept(struct link *l, enum link_kind kind, const uint8_t pk[32], void *ctx)
{
	(void)l;
	(void)kind;
	(void)pk;
	(void)ctx;
	return 0;
}

/* Answer packets (the send path runs too) and let the frame's first byte
 * pause, or pause and resume, the link from inside on_frame. */
static unsigned long frames_seen;

static void fz_frame(struct link *l, enum link_frame_type type,
                     const uint8_t id[PKT_ID_BYTES], uint8_t *pkt, void *ctx)
{
	(void)ctx;
	frames_seen++;
	if (type == LF_PACKET)
		link_send(l, LF_PACKET, id, pkt);
	if (pkt[0] & 1)
		link_pause(l, 1);
	if (pkt[0] & 2)
		link_pause(l, 0);
	if (pkt[0] == 0xff)
		link_close(l, "fuzz: closed in on_frame");
}

static void fz_up(struct link *l, void *ctx)
{
	(void)ctx;
	link_send(l, LF_PING, NULL, NULL);
}

static void fz_down(struct link *l, const char *why, void *ctx)
{
	(void)ctx;
	if (!why || link_state(l) != LS_DOWN)
		abort();
}

static const struct link_cbs fz_cbs = {
	.accept_peer = fz_accept,
	.on_up = fz_up,
	.on_frame = fz_frame,
	.on_down = fz_down,
};

static struct ev *ev;
static struct keypair kp_i, kp_r;

static void init_once(void)
{
	static int done;
	uint8_t seed[crypto_box_SEEDBYTES];
	if (done)
		return;
	done = 1;
	randombytes_set_implementation(&rng_impl);
	if (sodium_init() < 0)
		abort();
	memset(seed, 'i', sizeof(seed));
	crypto_box_seed_keypair(kp_i.pk, kp_i.sk, seed);
	memset(seed, 'r', sizeof(seed));
	crypto_box_seed_keypair(kp_r.pk, kp_r.sk, seed);
	ev = ev_new();
	if (!ev)
		abort();
}

/* Feed data in chunks split at the given offsets, draining the link's
 * output (and resuming it) after each, as a socket owner would. */
static void feed_split(struct link *l, const uint8_t *data, size_t size, size_t a, size_t b)
{
	static uint8_t out[64 * 1024];
	size_t cut[4] = { 0, a, b, size };
	for (int k = 0; k < 3; k++) {
		if (link_state(l) == LS_DOWN)
			return;
		if (cut[k + 1] > cut[k])
			link_feed(l, data + cut[k], cut[k + 1] - cut[k]);
		while (link_state(l) != LS_DOWN && link_take_output(l, out, sizeof(out)) > 0)
			;
		link_pause(l, 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t hello[LINK_HELLO_BYTES];
	init_once();

	/* The input as HELLO + frames. */
	rng_reset(SEED_RESP);
	struct link *r = link_new_detached(ev, 0, &kp_r, NULL, LINK_NODE, MAX_FRAMES, &fz_cbs, NULL);
	feed_split(r, data, size, size / 3, 2 * size / 3);
	(void)link_queue_len(r);
	(void)link_queue_room(r);
	link_close(r, "fuzz: done");

	/* The input as REPLY + frames, for each kind of link. */
	for (int kind = LINK_NODE; kind <= LINK_CLIENT; kind++) {
		rng_reset(SEED_INIT + (uint64_t)kind);
		struct link *i = link_new_detached(ev, 1, &kp_i, kp_r.pk, (enum link_kind)kind,
		                                   MAX_FRAMES, &fz_cbs, NULL);
		if (link_take_output(i, hello, sizeof(hello)) != sizeof(hello))
			abort();
		feed_split(i, data, size, size / 2, size / 2);
		link_close(i, "fuzz: done");
	}
	ev_run_once(ev, 0);
	return 0;
}

#ifdef FUZZ_LINK_GEN
/* ---- seed generator ---- */

static void take_all(struct link *l, uint8_t *buf, size_t cap, size_t *len)
{
	size_t n;
	while ((n = link_take_output(l, buf + *len, cap - *len)) > 0)
		*len += n;
}

static void write_seed(const char *dir, const char *name, const uint8_t *p, size_t n)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
	/* The harness must get through the handshake with it. */
	unsigned long before = frames_seen;
	LLVMFuzzerTestOneInput(p, n);
	printf("%s: %zu bytes, %lu frames delivered in the harness\n", path, n,
	       frames_seen - before);
}

/* Frames a peer sends in a seed: packets whose first byte makes on_frame
 * pause (1), pause and resume (3), or do nothing (0), and a ping; then,
 * if bad is not 0, a frame of type bad (which the receiver refuses). */
static void queue_frames(struct link *l, enum link_frame_type type, int bad)
{
	static const uint8_t first[] = { 0, 1, 0, 3, 2, 0 };
	uint8_t id[PKT_ID_BYTES], pkt[PKT_BYTES];
	for (size_t k = 0; k < sizeof(first); k++) {
		memset(id, (int)('a' + k), sizeof(id));
		memset(pkt, (int)k, sizeof(pkt));
		pkt[0] = first[k];
		if (link_send(l, k == 4 && bad ? (enum link_frame_type)bad : type, id, pkt))
			abort();
		if (k == 2 && link_send(l, LF_PING, NULL, NULL))
			abort();
	}
}

static uint8_t big[64 * 1024];

/* HELLO + LF_AUTH + frames, as the harness's responder will see them. */
static void gen_responder(const char *dir, enum link_kind kind, int bad, const char *name)
{
	uint8_t reply[LINK_REPLY_BYTES];
	size_t len = 0;
	rng_reset(SEED_OTHER);
	struct link *i = link_new_detached(ev, 1, &kp_i, kp_r.pk, kind, 16, &fz_cbs, NULL);
	queue_frames(i, kind == LINK_NODE ? LF_PACKET : LF_SEND, bad);
	take_all(i, big, sizeof(big), &len);
	if (len != LINK_HELLO_BYTES)
		abort();
	if (kind == LINK_NODE && !bad)
		write_seed(dir, "hello-node", big, len);
	rng_reset(SEED_RESP);
	struct link *r = link_new_detached(ev, 0, &kp_r, NULL, LINK_NODE, MAX_FRAMES, &fz_cbs, NULL);
	link_feed(r, big, len);
	if (link_take_output(r, reply, sizeof(reply)) != sizeof(reply))
		abort();
	link_feed(i, reply, sizeof(reply));
	if (link_state(i) != LS_UP)
		abort();
	take_all(i, big, sizeof(big), &len);
	write_seed(dir, name, big, len);
	link_close(i, "gen");
	link_close(r, "gen");
	ev_run_once(ev, 0);
}

/* REPLY + frames, as the harness's initiator of this kind will see them. */
static void gen_initiator(const char *dir, enum link_kind kind, int bad, const char *name)
{
	uint8_t hello[LINK_HELLO_BYTES], tmp[8192];
	size_t len = 0, n = 0;
	rng_reset(SEED_INIT + (uint64_t)kind);
	struct link *i = link_new_detached(ev, 1, &kp_i, kp_r.pk, kind, MAX_FRAMES, &fz_cbs, NULL);
	if (link_take_output(i, hello, sizeof(hello)) != sizeof(hello))
		abort();
	rng_reset(SEED_OTHER);
	struct link *r = link_new_detached(ev, 0, &kp_r, NULL, LINK_NODE, 16, &fz_cbs, NULL);
	queue_frames(r, kind == LINK_NODE ? LF_PACKET : LF_DELIVER, bad);
	link_feed(r, hello, sizeof(hello));
	take_all(r, big, sizeof(big), &len);
	if (len != LINK_REPLY_BYTES)
		abort();
	link_feed(i, big, len);
	take_all(i, tmp, sizeof(tmp), &n);
	link_feed(r, tmp, n);
	if (link_state(r) != LS_UP)
		abort();
	take_all(r, big, sizeof(big), &len);
	write_seed(dir, name, big, len);
	link_close(i, "gen");
	link_close(r, "gen");
	ev_run_once(ev, 0);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s seed-dir\n", argv[0]);
		return 2;
	}
	init_once();
	gen_responder(argv[1], LINK_NODE, 0, "responder-node");
	gen_responder(argv[1], LINK_CLIENT, 0, "responder-client");
	gen_responder(argv[1], LINK_CLIENT, LF_DELIVER, "responder-client-badtype");
	gen_initiator(argv[1], LINK_NODE, 0, "initiator-node");
	gen_initiator(argv[1], LINK_CLIENT, 0, "initiator-client");
	gen_initiator(argv[1], LINK_NODE, LF_SEND, "initiator-node-badtype");
	ev_free(ev);
	return 0;
}
#endif
