/* libFuzzer harness of announce: the input is the start of a link frame
 * that carries a bundle (the rest zeros), and also, at its size, one
 * announcement.
 *
 * What decodes must encode back to the same bytes; what ann_check takes
 * must name a node of the topology and be signed by it; the store keeps
 * one key per node and epoch, and never more than its bound.  The node
 * "gw" of the harness's topology has a fixed key, so that seeds
 * (tests/fuzz/seeds/announce, made with --make-seeds) can hold
 * announcements it really signed. */
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "announce.h"
#include "keys.h"
#include "topology.h"

static const uint8_t gw_sk[32] = "mixproxy fuzz announce node key!";
static struct topology *topo;
static struct annstore *store;

/* One fixed node per role, keys from fixed secrets. */
static void init(void)
{
	char text[1024], k[4][B58_KEY_CHARS], err[256];
	uint8_t sk[32], pk[32];
	if (sodium_init() < 0)
		abort();
	for (int i = 0; i < 4; i++) {
		memcpy(sk, gw_sk, 32);
		sk[5] ^= (uint8_t)i; /* not in the bits clamping clears */
		crypto_scalarmult_base(pk, sk);
		key_to_str(pk, k[i], sizeof(k[i]));
	}
	snprintf(text, sizeof(text),
	         "gw gateway 127.0.0.1:1 %s\nm1 mix 1 127.0.0.1:2 %s\n"
	         "m2 mix 2 127.0.0.1:3 %s\nm3 mix 3 127.0.0.1:4 %s\n", k[0], k[1], k[2], k[3]);
	struct topo_parser *p = topo_parser_new();
	if (topo_parser_feed(p, text, strlen(text), err, sizeof(err)) ||
	    !(topo = topo_parser_finish(p, err, sizeof(err)))) {
		fprintf(stderr, "fuzz_announce: its topology: %s\n", err);
		abort();
	}
	store = annstore_new(topo->n);
}

static void one(const struct ann *a, const uint8_t *wire)
{
	uint8_t again[ANN_BYTES];
	ann_encode(a, again);
	if (memcmp(again, wire, ANN_BYTES))
		abort();
	/* At its own epoch, and at a fixed one. */
	uint32_t nows[2] = { a->epoch, 1000 };
	for (int i = 0; i < 2; i++) {
		int rc = ann_check(a, topo, nows[i]);
		if (rc > 0 || rc < ANN_ERR_CONFLICT)
			abort();
		if (rc != ANN_OK)
			continue;
		if (!topo_by_pk(topo, a->node_pk))
			abort();
		rc = annstore_add(store, a);
		const uint8_t *k = annstore_key(store, a->node_pk, a->epoch);
		if ((rc == ANN_OK || rc == 1) && (!k || memcmp(k, a->epoch_pk, 32)))
			abort();
		if (rc == ANN_ERR_CONFLICT && (!k || !memcmp(k, a->epoch_pk, 32)))
			abort();
	}
	if (annstore_count(store) > topo->n * 3)
		abort();
	/* Keep the store small and moving. */
	if (annstore_count(store) >= 8)
		annstore_prune(store, a->epoch);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t frame[PKT_BYTES];
	struct ann anns[ANN_BUNDLE_MAX], a;
	size_t n;

	if (!topo)
		init();
	memset(frame, 0, sizeof(frame));
	memcpy(frame, data, size < sizeof(frame) ? size : sizeof(frame));
	int rc = ann_bundle_decode(anns, &n, frame, sizeof(frame));
	if (rc == ANN_OK) {
		if (n < 1 || n > ANN_BUNDLE_MAX)
			abort();
		for (size_t i = 0; i < n; i++)
			one(&anns[i], frame + 2 + i * ANN_BYTES);
	} else if (rc != ANN_ERR_FORMAT || n != 0) {
		abort();
	}
	if (ann_decode(&a, data, size) == ANN_OK) {
		if (size != ANN_BYTES)
			abort();
		one(&a, data);
	}
	return 0;
}

#ifdef FUZZ_MAKE_SEEDS
/* cc -DFUZZ_MAKE_SEEDS ... -o /tmp/mkseeds && /tmp/mkseeds DIR */
int main(int argc, char **argv)
{
	uint8_t gw_pk[32], frame[PKT_BYTES], pk[32], sk[32];
	struct ann anns[3];
	char path[4096];
	if (argc != 2)
		return 64;
	init();
	crypto_scalarmult_base(gw_pk, gw_sk);
	for (int i = 0; i < 3; i++) {
		crypto_box_keypair(pk, sk);
		if (ann_make(&anns[i], 999 + (uint32_t)i, pk, gw_pk, gw_sk))
			return 1;
	}
	for (size_t n = 1; n <= 3; n += 2) {
		ann_bundle_encode(frame, anns, n);
		snprintf(path, sizeof(path), "%s/bundle-%zu", argv[1], n);
		FILE *f = fopen(path, "wb");
		if (!f || fwrite(frame, 1, sizeof(frame), f) != sizeof(frame) || fclose(f))
			return 1;
	}
	ann_encode(&anns[1], frame);
	snprintf(path, sizeof(path), "%s/one", argv[1]);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(frame, 1, ANN_BYTES, f) != ANN_BYTES || fclose(f))
		return 1;
	return 0;
}
#endif
