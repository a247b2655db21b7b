/* Unit tests of announce: epoch keys signed by their node, and checked
 * against the topology; forged, altered, expired, early, replayed and
 * conflicting announcements refused; bundles; the store's bounds. */
#include <check.h>
#include <sodium.h>
#include <string.h>

#include "announce.h"
#include "keys.h"
#include "testtopo.h"

static struct keypair node, stranger;
static struct topology *topo;

static void setup(void)
{
	keypair_generate(&node);
	keypair_generate(&stranger);
	topo = testtopo_new(1, 0, &node);
}

static void teardown(void)
{
	topo_free(topo);
}

static void make(struct ann *a, uint32_t epoch)
{
	uint8_t pk[32], sk[32];
	crypto_box_keypair(pk, sk);
	ck_assert_int_eq(ann_make(a, epoch, pk, node.pk, node.sk), 0);
}

START_TEST(test_roundtrip_and_window)
{
	struct ann a, b;
	uint8_t wire[ANN_BYTES];
	make(&a, 100);
	ann_encode(&a, wire);
	ck_assert_int_eq(ann_decode(&b, wire, sizeof(wire)), ANN_OK);
	ck_assert_mem_eq(&a, &b, sizeof(a));
	/* Believed from the epoch before its own to the one after. */
	ck_assert_int_eq(ann_check(&b, topo, 99), ANN_OK);
	ck_assert_int_eq(ann_check(&b, topo, 100), ANN_OK);
	ck_assert_int_eq(ann_check(&b, topo, 101), ANN_OK);
	ck_assert_int_eq(ann_check(&b, topo, 102), ANN_ERR_EXPIRED);
	ck_assert_int_eq(ann_check(&b, topo, 98), ANN_ERR_EARLY);
	/* At the ends of the number range, no wrap. */
	make(&a, UINT32_MAX);
	ck_assert_int_eq(ann_check(&a, topo, UINT32_MAX), ANN_OK);
	ck_assert_int_eq(ann_check(&a, topo, 0), ANN_ERR_EARLY);
	make(&a, 0);
	ck_assert_int_eq(ann_check(&a, topo, 0), ANN_OK);
	ck_assert_int_eq(ann_check(&a, topo, UINT32_MAX), ANN_ERR_EXPIRED);
}
END_TEST

/* Every bit of an announcement matters: altered anywhere, it is refused
 * by the parser or by the check. */
START_TEST(test_altered_refused)
{
	struct ann a, b;
	uint8_t wire[ANN_BYTES], bad[ANN_BYTES];
	make(&a, 7);
	ann_encode(&a, wire);
	for (size_t bit = 0; bit < ANN_BYTES * 8; bit++) {
		memcpy(bad, wire, sizeof(bad));
		bad[bit / 8] ^= (uint8_t)(1 << (bit % 8));
		int rc = ann_decode(&b, bad, sizeof(bad));
		if (rc == ANN_OK)
			rc = ann_check(&b, topo, 7);
		ck_assert_msg(rc != ANN_OK, "bit %zu", bit);
	}
	ck_assert_int_eq(ann_decode(&b, wire, ANN_BYTES - 1), ANN_ERR_FORMAT);
	ck_assert_int_eq(ann_decode(&b, wire, 0), ANN_ERR_FORMAT);
}
END_TEST

START_TEST(test_forged_refused)
{
	struct ann a;
	uint8_t pk[32], sk[32];
	crypto_box_keypair(pk, sk);
	/* A stranger signs for the node: not the node's signature. */
	ck_assert_int_eq(ann_make(&a, 5, pk, node.pk, stranger.sk), 0);
	ck_assert_int_eq(ann_check(&a, topo, 5), ANN_ERR_SIG);
	/* A stranger signs for himself: not a node of the topology. */
	ck_assert_int_eq(ann_make(&a, 5, pk, stranger.pk, stranger.sk), 0);
	ck_assert_int_eq(ann_check(&a, topo, 5), ANN_ERR_NODE);
	/* The node itself, with keys no packet could use. */
	uint8_t bad[32] = { 0 };
	ck_assert_int_eq(ann_make(&a, 5, bad, node.pk, node.sk), 0);
	ck_assert_int_eq(ann_check(&a, topo, 5), ANN_ERR_KEY);
	memset(bad, 0xff, 32); /* not canonical */
	ck_assert_int_eq(ann_make(&a, 5, bad, node.pk, node.sk), 0);
	ck_assert_int_eq(ann_check(&a, topo, 5), ANN_ERR_KEY);
	/* Another epoch's signature does not carry over. */
	struct ann b;
	make(&a, 5);
	b = a;
	b.epoch = 6;
	ck_assert_int_eq(ann_check(&b, topo, 5), ANN_ERR_SIG);
}
END_TEST

/* The store believes one key per node and epoch: the same word again is
 * a repeat, another key a conflict, an old epoch once pruned refused. */
START_TEST(test_store)
{
	struct ann a, a2, other;
	struct annstore *s = annstore_new(topo->n);
	make(&a, 10);
	make(&a2, 11);
	ck_assert_int_eq(annstore_add(s, &a), ANN_OK);
	ck_assert_int_eq(annstore_add(s, &a), 1);
	ck_assert_int_eq(annstore_add(s, &a2), ANN_OK);
	make(&other, 10);
	ck_assert_int_eq(annstore_add(s, &other), ANN_ERR_CONFLICT);
	ck_assert_mem_eq(annstore_key(s, node.pk, 10), a.epoch_pk, 32);
	ck_assert_mem_eq(annstore_key(s, node.pk, 11), a2.epoch_pk, 32);
	ck_assert_ptr_null(annstore_key(s, node.pk, 12));
	ck_assert_ptr_null(annstore_key(s, stranger.pk, 10));
	ck_assert_uint_eq(annstore_count(s), 2);
	size_t it = 0, n = 0;
	const struct ann *p;
	while (annstore_next(s, &it, &p))
		n++;
	ck_assert_uint_eq(n, 2);
	/* Epoch 10 is over: forgotten, and not taken back when replayed. */
	annstore_prune(s, 11);
	ck_assert_ptr_null(annstore_key(s, node.pk, 10));
	ck_assert_int_eq(annstore_add(s, &a), ANN_ERR_EXPIRED);
	ck_assert_uint_eq(annstore_count(s), 1);
	annstore_free(s);

	/* Bounded: three epochs for each node it was made for. */
	s = annstore_new(1);
	for (uint32_t e = 20; e < 23; e++) {
		make(&a, e);
		ck_assert_int_eq(annstore_add(s, &a), ANN_OK);
	}
	make(&a, 23);
	ck_assert_int_lt(annstore_add(s, &a), 0);
	ck_assert_uint_eq(annstore_count(s), 3);
	annstore_free(s);
}
END_TEST

START_TEST(test_bundles)
{
	struct ann in[ANN_BUNDLE_MAX], out[ANN_BUNDLE_MAX];
	uint8_t wire[PKT_BYTES];
	size_t n;
	ck_assert_uint_ge(ANN_BUNDLE_MAX, 18);
	for (size_t i = 0; i < ANN_BUNDLE_MAX; i++)
		make(&in[i], (uint32_t)i);
	ck_assert_int_eq(ann_bundle_encode(wire, in, ANN_BUNDLE_MAX), 0);
	ck_assert_int_eq(ann_bundle_decode(out, &n, wire, sizeof(wire)), ANN_OK);
	ck_assert_uint_eq(n, ANN_BUNDLE_MAX);
	ck_assert_mem_eq(in, out, sizeof(in));
	ck_assert_int_eq(ann_bundle_encode(wire, in, 1), 0);
	ck_assert_int_eq(ann_bundle_decode(out, &n, wire, sizeof(wire)), ANN_OK);
	ck_assert_uint_eq(n, 1);
	/* Bad counts, bytes after the last, sizes: refused, nothing kept. */
	ck_assert_int_eq(ann_bundle_encode(wire, in, 0), -1);
	ck_assert_int_eq(ann_bundle_encode(wire, in, ANN_BUNDLE_MAX + 1), -1);
	ann_bundle_encode(wire, in, 1);
	wire[PKT_BYTES - 1] = 1;
	ck_assert_int_eq(ann_bundle_decode(out, &n, wire, sizeof(wire)), ANN_ERR_FORMAT);
	ck_assert_uint_eq(n, 0);
	ann_bundle_encode(wire, in, 1);
	wire[0] = 0;
	wire[1] = 0;
	ck_assert_int_eq(ann_bundle_decode(out, &n, wire, sizeof(wire)), ANN_ERR_FORMAT);
	wire[1] = (uint8_t)(ANN_BUNDLE_MAX + 1);
	ck_assert_int_eq(ann_bundle_decode(out, &n, wire, sizeof(wire)), ANN_ERR_FORMAT);
	ann_bundle_encode(wire, in, 1);
	ck_assert_int_eq(ann_bundle_decode(out, &n, wire, sizeof(wire) - 1), ANN_ERR_FORMAT);
	wire[2] = 2; /* the first one's version */
	ck_assert_int_eq(ann_bundle_decode(out, &n, wire, sizeof(wire)), ANN_ERR_FORMAT);
}
END_TEST

Suite *suite_announce(void)
{
	Suite *s = suite_create("announce");
	TCase *tc = tcase_create("announce");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_roundtrip_and_window);
	tcase_add_test(tc, test_altered_refused);
	tcase_add_test(tc, test_forged_refused);
	tcase_add_test(tc, test_store);
	tcase_add_test(tc, test_bundles);
	suite_add_tcase(s, tc);
	return s;
}
