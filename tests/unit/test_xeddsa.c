/* Unit tests of xeddsa: signatures made with a node's X25519 key, checked
 * with its public key alone; and of the map from an X25519 public key to
 * the Edwards point they are checked under. */
#include <check.h>
#include <sodium.h>
#include <string.h>

#include "ephem.h"
#include "xeddsa.h"

/* p = 2^255 - 19, little-endian. */
static void p_bytes(uint8_t p[32])
{
	memset(p, 0xff, 32);
	p[0] = 0xed;
	p[31] = 0x7f;
}

START_TEST(test_roundtrip_and_map)
{
	for (int i = 0; i < 50; i++) {
		uint8_t pk[32], sk[32], sig[64], sig2[64], k[32], E[32], y[32];
		uint8_t msg[100];
		crypto_box_keypair(pk, sk);
		randombytes_buf(msg, sizeof(msg));
		ck_assert_int_eq(xeddsa_sign(sig, msg, sizeof(msg), sk), 0);
		ck_assert_int_eq(xeddsa_verify(sig, msg, sizeof(msg), pk), 0);
		/* A fresh nonce every time; both verify. */
		ck_assert_int_eq(xeddsa_sign(sig2, msg, sizeof(msg), sk), 0);
		ck_assert_mem_ne(sig, sig2, 64);
		ck_assert_int_eq(xeddsa_verify(sig2, msg, sizeof(msg), pk), 0);
		/* The key it is checked under is the Edwards form of the same
		 * scalar, sign cleared. */
		memcpy(k, sk, 32);
		k[0] &= 248;
		k[31] &= 127;
		k[31] |= 64;
		ck_assert_int_eq(crypto_scalarmult_ed25519_base_noclamp(E, k), 0);
		E[31] &= 0x7f;
		ck_assert_int_eq(ephem_to_ed25519(y, pk), 0);
		ck_assert_mem_eq(y, E, 32);
		/* And the maps are inverses. */
		uint8_t u[1][32];
		const uint8_t (*ed)[32] = (const uint8_t (*)[32])y;
		ephem_to_x25519(u, ed, 1);
		ck_assert_mem_eq(u[0], pk, 32);
	}
}
END_TEST

START_TEST(test_forgeries_refused)
{
	uint8_t pk[32], sk[32], pk2[32], sk2[32], sig[64], bad[64];
	uint8_t msg[64] = "mixproxy epoch 42";
	crypto_box_keypair(pk, sk);
	crypto_box_keypair(pk2, sk2);
	ck_assert_int_eq(xeddsa_sign(sig, msg, sizeof(msg), sk), 0);
	/* Another key, another message, any bit of the signature. */
	ck_assert_int_eq(xeddsa_verify(sig, msg, sizeof(msg), pk2), -1);
	msg[0] ^= 1;
	ck_assert_int_eq(xeddsa_verify(sig, msg, sizeof(msg), pk), -1);
	msg[0] ^= 1;
	ck_assert_int_eq(xeddsa_verify(sig, msg, sizeof(msg) - 1, pk), -1);
	for (int bit = 0; bit < 512; bit++) {
		memcpy(bad, sig, 64);
		bad[bit / 8] ^= (uint8_t)(1 << (bit % 8));
		ck_assert_msg(xeddsa_verify(bad, msg, sizeof(msg), pk) == -1, "bit %d", bit);
	}
	/* s + L: the same value, not canonical: refused (no malleability). */
	static const uint8_t L[32] = { 0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58,
	                               0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
	                               0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10 };
	memcpy(bad, sig, 64);
	sodium_add(bad + 32, L, 32);
	ck_assert_int_eq(xeddsa_verify(bad, msg, sizeof(msg), pk), -1);
	/* The signer's own key with its spare top bit set is not canonical. */
	memcpy(pk2, pk, 32);
	pk2[31] |= 0x80;
	ck_assert_int_eq(xeddsa_verify(sig, msg, sizeof(msg), pk2), -1);
	/* All zero: no signature. */
	memset(bad, 0, 64);
	ck_assert_int_eq(xeddsa_verify(bad, msg, sizeof(msg), pk), -1);
}
END_TEST

START_TEST(test_map_refuses_noncanonical)
{
	uint8_t u[32], y[32];
	p_bytes(u); /* p itself */
	ck_assert_int_eq(ephem_to_ed25519(y, u), -1);
	ck_assert(sodium_is_zero(y, 32));
	u[0] = 0xec; /* p - 1: u + 1 = 0 */
	ck_assert_int_eq(ephem_to_ed25519(y, u), -1);
	u[0] = 0xee; /* p + 1 */
	ck_assert_int_eq(ephem_to_ed25519(y, u), -1);
	memset(u, 0, 32);
	u[0] = 9; /* the base point: y = 4/5 */
	ck_assert_int_eq(ephem_to_ed25519(y, u), 0);
	uint8_t B[32];
	static const uint8_t one[32] = { 1 };
	ck_assert_int_eq(crypto_scalarmult_ed25519_base_noclamp(B, one), 0);
	ck_assert_mem_eq(y, B, 31);
	ck_assert_uint_eq(y[31], B[31] & 0x7f);
}
END_TEST

Suite *suite_xeddsa(void)
{
	Suite *s = suite_create("xeddsa");
	TCase *tc = tcase_create("sign");
	tcase_add_test(tc, test_roundtrip_and_map);
	tcase_add_test(tc, test_forgeries_refused);
	tcase_add_test(tc, test_map_refuses_noncanonical);
	suite_add_tcase(s, tc);
	return s;
}
