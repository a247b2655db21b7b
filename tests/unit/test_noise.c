/* Unit tests for noise: the published Noise_IK_25519_ChaChaPoly_SHA256
 * test vector (the cacophony set, prologue "John Galt": both handshake
 * messages, the handshake hash and four transport messages), and what a
 * responder refuses. */
#include <check.h>
#include <sodium.h>
#include <string.h>

#include "keys.h"
#include "noise.h"

static size_t unhex(const char *h, uint8_t *out, size_t cap)
{
	size_t n;
	ck_assert_int_eq(sodium_hex2bin(out, cap, h, strlen(h), NULL, &n, NULL), 0);
	return n;
}

/* The vector: "init" is the initiator, "resp" the responder; payloads are
 * ASCII, the ciphertexts hex.  Messages 3 to 6 are transport messages,
 * alternating from the initiator, with the split's keys. */
static const char *const v_init_s = "e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1";
static const char *const v_init_e = "893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a";
static const char *const v_resp_s = "4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893";
static const char *const v_resp_e = "bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b";
static const char *const v_hash = "0b0f68fb0c27e03ce9b97565995ed4838cc0581b762ef72b062f6a546419fad7";
static const struct {
	const char *payload, *cipher;
} v_msgs[6] = {
	{ "Ludwig von Mises",
	  "ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c7944"
	  "718da798efbcd91528520204f904b9bd6c7413dccdc214d951e15253e39987f1"
	  "8146e8cd0873654207148333479d4d16c289f0294b29960a72f48e0b7bba2e89"
	  "083169825e59642148d492020664ccf7" },
	{ "Murray Rothbard",
	  "95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f144808843"
	  "5361e70b2ed446e6c9ec387d1d6b3b840f194e373979d241b203c4acafccf5" },
	{ "F. A. Hayek", "050e9f3c8fac16b68dbce8f8c4bfbf6617c897f9ada4aa29aa19c8" },
	{ "Carl Menger", "344233a6cabb7141d80f3da2fedc311d9646bbb0f505afe403a667" },
	{ "Jean-Baptiste Say", "62cdeeb172ad7ade7aa7d9e069da5790f12331bfa00177787a1d0810c67dc3b2b4" },
	{ "Eugen B\xf6hm von Bawerk",
	  "029bead1b40992327044d409d9a1f3ad8f36c3c452775d557e18bbeb2e8dfcead32d514024" },
};

static void key_from_hex(struct keypair *kp, const char *hex)
{
	uint8_t sk[32];
	ck_assert_uint_eq(unhex(hex, sk, sizeof(sk)), 32);
	keypair_from_secret(kp, sk);
}

static void ephemeral_from_hex(struct noise_ik *hs, const char *hex)
{
	uint8_t sk[32];
	ck_assert_uint_eq(unhex(hex, sk, sizeof(sk)), 32);
	noise_ik_set_ephemeral(hs, sk);
}

START_TEST(test_vector)
{
	struct keypair is, rs;
	struct noise_ik hi, hr;
	uint8_t msg[256], want[256], got[256];
	uint8_t i2r[32], r2i[32], i2r_r[32], r2i_r[32], hash_i[32], hash_r[32], hash[32];
	const char *prologue = "John Galt";

	key_from_hex(&is, v_init_s);
	key_from_hex(&rs, v_resp_s);
	noise_ik_init(&hi, 1, prologue, strlen(prologue), &is, rs.pk);
	noise_ik_init(&hr, 0, prologue, strlen(prologue), &rs, NULL);
	ephemeral_from_hex(&hi, v_init_e);
	ephemeral_from_hex(&hr, v_resp_e);

	size_t p = strlen(v_msgs[0].payload);
	ck_assert_int_eq(noise_ik_write1(&hi, (const uint8_t *)v_msgs[0].payload, p, msg), 0);
	ck_assert_uint_eq(unhex(v_msgs[0].cipher, want, sizeof(want)), NOISE_IK_MSG1_BYTES(p));
	ck_assert_mem_eq(msg, want, NOISE_IK_MSG1_BYTES(p));
	ck_assert_ptr_null(noise_ik_read1(&hr, msg, NOISE_IK_MSG1_BYTES(p), got));
	ck_assert_mem_eq(got, v_msgs[0].payload, p);
	ck_assert_mem_eq(hr.rs, is.pk, 32); /* the responder learned I's key */

	p = strlen(v_msgs[1].payload);
	ck_assert_int_eq(noise_ik_write2(&hr, (const uint8_t *)v_msgs[1].payload, p, msg), 0);
	ck_assert_uint_eq(unhex(v_msgs[1].cipher, want, sizeof(want)), NOISE_IK_MSG2_BYTES(p));
	ck_assert_mem_eq(msg, want, NOISE_IK_MSG2_BYTES(p));
	ck_assert_ptr_null(noise_ik_read2(&hi, msg, NOISE_IK_MSG2_BYTES(p), got));
	ck_assert_mem_eq(got, v_msgs[1].payload, p);

	noise_ik_split(&hi, i2r, r2i, hash_i);
	noise_ik_split(&hr, i2r_r, r2i_r, hash_r);
	unhex(v_hash, hash, sizeof(hash));
	ck_assert_mem_eq(hash_i, hash, 32);
	ck_assert_mem_eq(hash_r, hash, 32);
	ck_assert_mem_eq(i2r, i2r_r, 32);
	ck_assert_mem_eq(r2i, r2i_r, 32);
	/* The split wiped the handshake's secrets. */
	static const uint8_t zero[sizeof(hi)];
	ck_assert_mem_eq(&hi, zero, sizeof(hi));

	for (int m = 2; m < 6; m++) {
		uint8_t nonce[12];
		unsigned long long clen;
		p = strlen(v_msgs[m].payload);
		noise_nonce(nonce, (uint64_t)(m - 2) / 2);
		crypto_aead_chacha20poly1305_ietf_encrypt(msg, &clen, (const uint8_t *)v_msgs[m].payload,
		                                          p, NULL, 0, NULL, nonce,
		                                          m % 2 == 0 ? i2r : r2i);
		ck_assert_uint_eq(unhex(v_msgs[m].cipher, want, sizeof(want)), clen);
		ck_assert_mem_eq(msg, want, clen);
	}
}
END_TEST

/* One handshake between fresh parties; the responder reads message 1 as
 * altered by edit (NULL: as sent).  Returns read1's verdict. */
static const char *try_msg1(const struct keypair *is, const struct keypair *rs_held,
                            const struct keypair *rs_named, void (*edit)(uint8_t *m))
{
	struct noise_ik hi, hr;
	uint8_t msg[NOISE_IK_MSG1_BYTES(4)], pay[4] = { 1, 2, 3, 4 }, got[4];
	noise_ik_init(&hi, 1, "p", 1, is, rs_named->pk);
	noise_ik_init(&hr, 0, "p", 1, rs_held, NULL);
	ck_assert_int_eq(noise_ik_write1(&hi, pay, sizeof(pay), msg), 0);
	if (edit)
		edit(msg);
	const char *why = noise_ik_read1(&hr, msg, sizeof(msg), got);
	if (!why)
		ck_assert_mem_eq(got, pay, sizeof(pay));
	noise_ik_wipe(&hi);
	noise_ik_wipe(&hr);
	return why;
}

static void ed_static(uint8_t *m) { m[40] ^= 1; }
static void ed_payload(uint8_t *m) { m[80] ^= 1; }
static void ed_low_order(uint8_t *m) { memset(m, 0, 32); }

START_TEST(test_refusals)
{
	struct keypair a, b, c;
	keypair_generate(&a);
	keypair_generate(&b);
	keypair_generate(&c);
	ck_assert_ptr_null(try_msg1(&a, &b, &b, NULL));
	/* Sealed to another key: the responder cannot open it. */
	ck_assert_str_eq(try_msg1(&a, &b, &c, NULL),
	                 "handshake failed: hello not sealed to this node's key");
	ck_assert_str_eq(try_msg1(&a, &b, &b, ed_static),
	                 "handshake failed: hello not sealed to this node's key");
	ck_assert_str_eq(try_msg1(&a, &b, &b, ed_payload),
	                 "handshake failed: peer does not hold its key");
	ck_assert_str_eq(try_msg1(&a, &b, &b, ed_low_order), "handshake failed (bad key)");
	keypair_wipe(&a);
	keypair_wipe(&b);
	keypair_wipe(&c);
}
END_TEST

/* A reply made by a party without the responder's secret key, and a reply
 * to another handshake, are refused. */
START_TEST(test_reply_refusals)
{
	struct keypair a, b, mallory;
	struct noise_ik hi, hr, hm;
	uint8_t m1[NOISE_IK_MSG1_BYTES(0)], m2[NOISE_IK_MSG2_BYTES(0)], got[1];
	keypair_generate(&a);
	keypair_generate(&b);
	keypair_generate(&mallory);

	/* Mallory cannot open a hello sealed to b; her reply, an ephemeral
	 * key and a made-up tag, does not complete it. */
	noise_ik_init(&hi, 1, "p", 1, &a, b.pk);
	noise_ik_init(&hm, 0, "p", 1, &mallory, NULL);
	ck_assert_int_eq(noise_ik_write1(&hi, NULL, 0, m1), 0);
	ck_assert_ptr_nonnull(noise_ik_read1(&hm, m1, sizeof(m1), got));
	memcpy(m2, mallory.pk, 32);
	randombytes_buf(m2 + 32, 16);
	ck_assert_str_eq(noise_ik_read2(&hi, m2, sizeof(m2), got),
	                 "handshake failed: peer does not hold the topology's key");

	/* b's reply to one hello does not complete another. */
	struct noise_ik hi2;
	noise_ik_init(&hi, 1, "p", 1, &a, b.pk);
	noise_ik_init(&hi2, 1, "p", 1, &a, b.pk);
	noise_ik_init(&hr, 0, "p", 1, &b, NULL);
	ck_assert_int_eq(noise_ik_write1(&hi, NULL, 0, m1), 0);
	uint8_t m1b[sizeof(m1)];
	ck_assert_int_eq(noise_ik_write1(&hi2, NULL, 0, m1b), 0);
	ck_assert_mem_ne(m1, m1b, 32); /* fresh ephemeral keys */
	ck_assert_ptr_null(noise_ik_read1(&hr, m1, sizeof(m1), got));
	ck_assert_int_eq(noise_ik_write2(&hr, NULL, 0, m2), 0);
	ck_assert_ptr_nonnull(noise_ik_read2(&hi2, m2, sizeof(m2), got));
	ck_assert_ptr_null(noise_ik_read2(&hi, m2, sizeof(m2), got));
	noise_ik_wipe(&hi);
	noise_ik_wipe(&hi2);
	noise_ik_wipe(&hr);
	noise_ik_wipe(&hm);
	keypair_wipe(&a);
	keypair_wipe(&b);
	keypair_wipe(&mallory);
}
END_TEST

Suite *suite_noise(void)
{
	Suite *s = suite_create("noise");
	TCase *tc = tcase_create("ik");
	tcase_add_test(tc, test_vector);
	tcase_add_test(tc, test_refusals);
	tcase_add_test(tc, test_reply_refusals);
	suite_add_tcase(s, tc);
	return s;
}
