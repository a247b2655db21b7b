/* Unit tests of attach: a client's proof that it holds a key, for one
 * gateway and one link; every other gateway, link, key or bit fails. */
#include <check.h>
#include <sodium.h>
#include <string.h>

#include "attach.h"
#include "keys.h"

START_TEST(test_proof)
{
	struct keypair id, gw, other;
	uint8_t binding[32], binding2[32], proof[ATTACH_PROOF_BYTES], bad[ATTACH_PROOF_BYTES];
	ck_assert_int_ge(sodium_init(), 0);
	keypair_generate(&id);
	keypair_generate(&gw);
	keypair_generate(&other);
	randombytes_buf(binding, sizeof(binding));
	randombytes_buf(binding2, sizeof(binding2));

	ck_assert_int_eq(attach_prove(proof, id.sk, id.pk, gw.pk, binding), 0);
	ck_assert_int_eq(attach_check(proof, gw.sk, id.pk, binding), 0);
	/* Another link, another gateway, another key: no. */
	ck_assert_int_eq(attach_check(proof, gw.sk, id.pk, binding2), -1);
	ck_assert_int_eq(attach_check(proof, other.sk, id.pk, binding), -1);
	ck_assert_int_eq(attach_check(proof, gw.sk, other.pk, binding), -1);
	/* Every bit of the proof counts. */
	for (size_t i = 0; i < ATTACH_PROOF_BYTES * 8; i++) {
		memcpy(bad, proof, sizeof(bad));
		bad[i / 8] ^= (uint8_t)(1u << (i % 8));
		ck_assert_int_eq(attach_check(bad, gw.sk, id.pk, binding), -1);
	}
	/* Made with another secret for id's public key: no. */
	ck_assert_int_eq(attach_prove(bad, other.sk, id.pk, gw.pk, binding), 0);
	ck_assert_int_eq(attach_check(bad, gw.sk, id.pk, binding), -1);
	/* A point of small order gives no secret: refused both ways. */
	uint8_t zero[32] = { 0 };
	ck_assert_int_eq(attach_prove(bad, id.sk, id.pk, zero, binding), -1);
	ck_assert_int_eq(attach_check(proof, gw.sk, zero, binding), -1);
	keypair_wipe(&id);
	keypair_wipe(&gw);
	keypair_wipe(&other);
}
END_TEST

Suite *suite_attach(void)
{
	Suite *s = suite_create("attach");
	TCase *tc = tcase_create("proof");
	tcase_add_test(tc, test_proof);
	suite_add_tcase(s, tc);
	return s;
}
