/* libFuzzer harness of the packet layer: the input is taken as a packet at
 * every hop, as a delivery, as a reply block and as a body.
 *
 * Every entry point first sees the input at the size given (mostly wrong:
 * the size checks must hold) and, when there is enough of it, a copy of
 * exactly the right size, so the real paths run.  The fuzzer cannot forge
 * a MAC; the seeds (tests/fuzz/seeds/packet/) are real packets built for
 * the fixed keys below, so mutations near them run the processing that
 * follows a MAC check, and a valid packet is walked hop by hop to its
 * delivery.  Bodies from the input are sent through real packets and reply
 * blocks and must come back unchanged. */
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "packet.h"
#include "replay.h"

/* The seeds' timestamp: Unix minutes (~2025).  Keep in step with them. */
#define NOW 29000000u

static struct {
	uint8_t sk[PKT_HOPS][32];
	struct pkt_hop route[PKT_HOPS];
	uint8_t dst_sk[32], dst_pk[32];
	struct replay *rf;
	struct surb_secret fixed_sec; /* constant: a tag no input will match */
	struct surb_secret own_sec;   /* of own_surb, made at start */
	uint8_t own_surb[SURB_BYTES];
	uint8_t body[PKT_BODY_BYTES];
} F;

/* Keys from a constant seed: hop i uses the seed with its last byte xored
 * with i + 1, the recipient with 0x80.  The seed generator uses the same. */
static void seed_keypair(uint8_t pk[32], uint8_t sk[32], uint8_t tweak)
{
	uint8_t seed[crypto_box_SEEDBYTES];
	memcpy(seed, "mixproxy fuzz seed: not a secret", sizeof(seed));
	seed[sizeof(seed) - 1] ^= tweak;
	crypto_box_seed_keypair(pk, sk, seed);
}

static void init_once(void)
{
	static const char *names[PKT_HOPS] = { "mix1", "mix2", "mix3", "gw-exit" };
	if (sodium_init() < 0)
		abort();
	for (int i = 0; i < PKT_HOPS; i++) {
		seed_keypair(F.route[i].pk, F.sk[i], (uint8_t)(i + 1));
		if (pkt_id_from_str(F.route[i].id, names[i]) != 0)
			abort();
		F.route[i].delay_us = 1000u * (unsigned)(i + 1);
	}
	seed_keypair(F.dst_pk, F.dst_sk, 0x80);
	F.rf = replay_new(16, 3, 60);
	if (!F.rf)
		abort();
	memset(F.fixed_sec.tag, 0x5a, sizeof(F.fixed_sec.tag));
	for (int i = 0; i < PKT_HOPS; i++)
		memset(F.fixed_sec.hop_seed[i], 0x10 + i, 32);
	memset(F.fixed_sec.surb_key, 0x77, 32);
	if (surb_create(F.own_surb, &F.own_sec, F.route, F.dst_pk, NOW) != PKT_OK)
		abort();
	for (size_t i = 0; i < sizeof(F.body); i++)
		F.body[i] = (uint8_t)(i * 13 + 1);
}

static uint8_t *dup_exact(const uint8_t *data, size_t size)
{
	/* Heap copies of the exact size, so ASan sees any read past the end. */
	uint8_t *p = malloc(size ? size : 1);
	if (!p)
		abort();
	if (size)
		memcpy(p, data, size);
	return p;
}

/* A delivery (exactly PKT_BYTES): all the ways a client reads one. */
static void open_delivery(const uint8_t *dlv, size_t len)
{
	uint8_t tag[PKT_TAG_BYTES], body[PKT_BODY_BYTES];
	struct surb_secret sec;

	pkt_delivery_tag(dlv, len, tag);
	pkt_open(dlv, len, F.dst_sk, body);
	surb_open(dlv, len, &F.fixed_sec, body);
	surb_open(dlv, len, &F.own_sec, body);
	if (len == PKT_BYTES && pkt_delivery_tag(dlv, len, tag) == PKT_OK) {
		/* The fixed secret with the delivery's own tag: the payload
		 * layers are removed and the integrity check runs. */
		sec = F.fixed_sec;
		memcpy(sec.tag, tag, sizeof(tag));
		surb_open(dlv, len, &sec, body);
	}
}

/* Process pkt (PKT_BYTES, modified) from hop `from` on, as far as it goes.
 * Returns PKT_DELIVER with pkt the delivery, or the first error. */
static int walk(uint8_t *pkt, int from)
{
	for (int hop = from; hop < PKT_HOPS; hop++) {
		struct pkt_hop_result res;
		int rc = pkt_process(pkt, PKT_BYTES, F.sk[hop], NULL, NOW, &res);
		if (rc != PKT_OK)
			return rc;
		if (res.action == PKT_DELIVER)
			return PKT_DELIVER;
		if (res.action != PKT_RELAY)
			abort();
	}
	return PKT_ERR_FORMAT; /* a route longer than the keys we hold */
}

/* Send body along a fresh forward packet and through the reply block;
 * what arrives must be what was sent. */
static void round_trips(const uint8_t body[PKT_BODY_BYTES])
{
	uint8_t *pkt = malloc(PKT_BYTES), got[PKT_BODY_BYTES], first[PKT_ID_BYTES];
	if (!pkt)
		abort();
	if (pkt_create(pkt, F.route, F.dst_pk, body, PKT_BODY_BYTES, NOW) != PKT_OK ||
	    walk(pkt, 0) != PKT_DELIVER ||
	    pkt_open(pkt, PKT_BYTES, F.dst_sk, got) != PKT_OK ||
	    memcmp(got, body, PKT_BODY_BYTES) != 0) {
		fprintf(stderr, "forward round trip failed\n");
		abort();
	}
	if (surb_use(F.own_surb, SURB_BYTES, body, PKT_BODY_BYTES, pkt, first) != PKT_OK ||
	    memcmp(first, F.route[0].id, PKT_ID_BYTES) != 0 ||
	    walk(pkt, 0) != PKT_DELIVER ||
	    surb_open(pkt, PKT_BYTES, &F.own_sec, got) != PKT_OK ||
	    memcmp(got, body, PKT_BODY_BYTES) != 0) {
		fprintf(stderr, "reply round trip failed\n");
		abort();
	}
	free(pkt);
}

/* The input as a packet of len bytes. */
static void as_packet(const uint8_t *data, size_t len)
{
	struct pkt_hop_result res;
	uint8_t *p;

	/* At a hop with a replay filter: after the first time, a valid
	 * packet is a replay. */
	p = dup_exact(data, len);
	pkt_process(p, len, F.sk[0], F.rf, NOW, &res);
	free(p);
	if (len != PKT_BYTES) {
		p = dup_exact(data, len);
		for (int hop = 0; hop < PKT_HOPS; hop++)
			pkt_process(p, len, F.sk[hop], NULL, NOW, &res);
		pkt_process(p, len, F.dst_sk, NULL, NOW, &res);
		free(p);
		return;
	}
	/* At every hop (the seeds hold packets for each), then onwards. */
	for (int hop = 0; hop < PKT_HOPS; hop++) {
		p = dup_exact(data, len);
		if (walk(p, hop) == PKT_DELIVER)
			open_delivery(p, PKT_BYTES);
		free(p);
	}
}

/* The input as a reply block of len bytes, with a fixed body. */
static void as_surb(const uint8_t *data, size_t len)
{
	uint8_t *out = malloc(PKT_BYTES), first[PKT_ID_BYTES];
	if (!out)
		abort();
	if (surb_use(data, len, F.body, PKT_BODY_BYTES, out, first) == PKT_OK) {
		if (len != SURB_BYTES || !pkt_id_valid(first))
			abort();
		if (walk(out, 0) == PKT_DELIVER)
			open_delivery(out, PKT_BYTES);
	}
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	uint8_t body[PKT_BODY_BYTES], first[PKT_ID_BYTES];

	if (!ready) {
		init_once();
		ready = 1;
	}

	/* At the size given. */
	as_packet(data, size);
	open_delivery(data, size);
	as_surb(data, size);
	{
		uint8_t *out = malloc(PKT_BYTES);
		if (!out)
			abort();
		surb_use(F.own_surb, SURB_BYTES, data, size, out, first);
		free(out);
	}
	if (size >= PKT_ID_BYTES)
		pkt_id_valid(data);
	if (size < 256) {
		/* Node id text: what is accepted must be a valid id field. */
		char s[256];
		uint8_t id[PKT_ID_BYTES];
		memcpy(s, data, size);
		s[size] = 0;
		if (pkt_id_from_str(id, s) == 0 && !pkt_id_valid(id))
			abort();
	}

	/* At exactly the right size, from the start of the input. */
	if (size > PKT_BYTES) {
		as_packet(data, PKT_BYTES);
		open_delivery(data, PKT_BYTES);
	}
	if (size > SURB_BYTES)
		as_surb(data, SURB_BYTES);
	if (size >= PKT_BODY_BYTES) {
		memcpy(body, data, PKT_BODY_BYTES);
		round_trips(body);
	}
	return 0;
}
