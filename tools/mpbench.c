/* mpbench — in-process benchmarks behind tools/bench.  Prints one JSON
 * object per line: bench, value, unit and, where a ceiling applies, ratio.
 * Ratios are measured against a bare X25519 timed in the same process,
 * because these machines are shared and absolute figures are noise. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "packet.h"
#include "replay.h"
#include "util.h"

/* Time fn over at least min_us of wall time; returns seconds per call.
 * Takes the best of several rounds: interference only ever slows a round. */
static double per_call(void (*fn)(void *), void *ctx, unsigned batch, uint64_t min_us)
{
	double best = 1e9;
	for (int round = 0; round < 5; round++) {
		uint64_t t0 = now_us(), n = 0;
		do {
			for (unsigned i = 0; i < batch; i++)
				fn(ctx);
			n += batch;
		} while (now_us() - t0 < min_us);
		double s = (double)(now_us() - t0) / 1e6 / (double)n;
		if (s < best)
			best = s;
	}
	return best;
}

struct x_ctx { uint8_t sk[32], pk[32], out[32]; };

static void do_x25519(void *p)
{
	struct x_ctx *c = p;
	if (crypto_scalarmult(c->out, c->sk, c->pk) != 0)
		abort();
	c->sk[0] ^= c->out[0] & 1; /* depend on the result */
}

struct pkt_ctx {
	uint8_t sk[PKT_HOPS][32];
	struct pkt_hop route[PKT_HOPS];
	uint8_t dst_pk[32], dst_sk[32];
	uint8_t body[PKT_BODY_BYTES];
	uint8_t *pkts;   /* n pre-built packets for hop 0 */
	size_t n, next;
	uint8_t work[PKT_BYTES];
	struct replay *rf;
	uint8_t surb[SURB_BYTES];
	struct surb_secret sec;
};

static void do_process(void *p)
{
	struct pkt_ctx *c = p;
	struct pkt_hop_result r;
	memcpy(c->work, c->pkts + (c->next++ % c->n) * PKT_BYTES, PKT_BYTES);
	/* A fresh replay filter per pass so each packet is new to it. */
	if (pkt_process(c->work, PKT_BYTES, c->sk[0], NULL, 0, &r) != PKT_OK)
		abort();
}

static void do_process_rf(void *p)
{
	struct pkt_ctx *c = p;
	struct pkt_hop_result r;
	size_t i = c->next++;
	if (i >= c->n)
		abort();
	memcpy(c->work, c->pkts + i * PKT_BYTES, PKT_BYTES);
	if (pkt_process(c->work, PKT_BYTES, c->sk[0], c->rf, (uint32_t)(wall_s() / 60), &r) != PKT_OK)
		abort();
}

static void do_create(void *p)
{
	struct pkt_ctx *c = p;
	if (pkt_create(c->work, c->route, c->dst_pk, c->body, PKT_BODY_BYTES,
	               (uint32_t)(wall_s() / 60)) != PKT_OK)
		abort();
}

static void do_surb(void *p)
{
	struct pkt_ctx *c = p;
	if (surb_create(c->surb, &c->sec, c->route, c->dst_pk, (uint32_t)(wall_s() / 60)) != PKT_OK)
		abort();
}

static void line(const char *name, double per_s, double x_s)
{
	printf("{\"bench\":\"%s\", \"value\":%.0f, \"unit\":\"1/s\", \"ratio\":%.3f}\n",
	       name, 1.0 / per_s, x_s / per_s);
	fflush(stdout);
}

static int bench_packet(void)
{
	struct x_ctx x;
	struct pkt_ctx *c = xcalloc(1, sizeof(*c));
	randombytes_buf(x.sk, 32);
	crypto_box_keypair(x.pk, x.out);
	double xs = per_call(do_x25519, &x, 64, 200000);
	printf("{\"bench\":\"x25519\", \"value\":%.0f, \"unit\":\"1/s\"}\n", 1.0 / xs);

	static const char *names[PKT_HOPS] = { "mix1", "mix2", "mix3", "gw" };
	for (int i = 0; i < PKT_HOPS; i++) {
		crypto_box_keypair(c->route[i].pk, c->sk[i]);
		pkt_id_from_str(c->route[i].id, names[i]);
		c->route[i].delay_us = 15000;
	}
	crypto_box_keypair(c->dst_pk, c->dst_sk);
	randombytes_buf(c->body, sizeof(c->body));
	uint32_t now = (uint32_t)(wall_s() / 60);
	c->n = 20000;
	c->pkts = xmalloc(c->n * PKT_BYTES);
	for (size_t i = 0; i < c->n; i++)
		if (pkt_create(c->pkts + i * PKT_BYTES, c->route, c->dst_pk, c->body,
		               PKT_BODY_BYTES, now) != PKT_OK)
			abort();
	double ps = per_call(do_process, c, 64, 200000);
	/* The figure that counts includes the replay filter, as a node runs it:
	 * one pass over fresh packets (a replay would be rejected early). */
	c->rf = replay_new(23, 6, 15);
	c->next = 0;
	uint64_t t0 = now_us();
	for (size_t i = 0; i < c->n; i++)
		do_process_rf(c);
	double prf = (double)(now_us() - t0) / 1e6 / (double)c->n;
	/* Re-measure X25519 next to it: the ratio uses figures from one moment. */
	double xs2 = per_call(do_x25519, &x, 64, 200000);
	if (xs2 < xs)
		xs = xs2;
	line("packet.process", prf < ps ? ps : prf, xs);
	line("packet.create", per_call(do_create, c, 8, 200000), xs);
	line("surb.create", per_call(do_surb, c, 8, 200000), xs);
	replay_free(c->rf);
	free(c->pkts);
	free(c);
	return 0;
}

int main(int argc, char **argv)
{
	if (sodium_init() < 0) {
		fprintf(stderr, "mpbench: libsodium failed to initialise\n");
		return 1;
	}
	if (argc == 2 && strcmp(argv[1], "packet") == 0)
		return bench_packet();
	fprintf(stderr, "usage: mpbench packet\n");
	return 64;
}
