/* Unit tests of ephem: key pairs byte for byte what libsodium's X25519
 * gives, in every batch size; the map to Montgomery form at its edges
 * (known points, y at and above p, outputs just below p); bad sizes. */
#include <check.h>
#include <sodium.h>
#include <stdint.h>
#include <string.h>

#include "ephem.h"

static void hex32(uint8_t out[32], const char *hex)
{
	ck_assert_int_eq(sodium_hex2bin(out, 32, hex, 64, NULL, NULL, NULL), 0);
}

START_TEST(test_matches_libsodium)
{
	uint8_t sk[EPHEM_MAX][32], pk[EPHEM_MAX][32], want[32], prev[32] = { 0 };
	ck_assert_int_ge(sodium_init(), 0); /* libsodium's fastest X25519 */
	/* 4,000 key pairs over every batch size. */
	for (int round = 0; round < 4000 / EPHEM_MAX; round++) {
		size_t n = (size_t)round % EPHEM_MAX + 1;
		ck_assert_int_eq(ephem_keypairs(sk, pk, n), 0);
		for (size_t i = 0; i < n; i++) {
			/* Clamped as X25519 would clamp it. */
			ck_assert_uint_eq(sk[i][0] & 7, 0);
			ck_assert_uint_eq(sk[i][31] & 0xc0, 0x40);
			ck_assert_int_eq(crypto_scalarmult_base(want, sk[i]), 0);
			ck_assert_mem_eq(pk[i], want, 32);
			ck_assert(memcmp(pk[i], prev, 32) != 0);
			memcpy(prev, pk[i], 32);
		}
	}
}
END_TEST

START_TEST(test_map_edges)
{
	/* y and the u that Python's big integers give for it. */
	static const char *cases[][2] = {
		/* The base point: u = 9. */
		{ "5866666666666666666666666666666666666666666666666666666666666666",
		  "0900000000000000000000000000000000000000000000000000000000000000" },
		/* The same with x's sign bit set: the bit is not part of y. */
		{ "58666666666666666666666666666666666666666666666666666666666666e6",
		  "0900000000000000000000000000000000000000000000000000000000000000" },
		/* y = 0: u = 1. */
		{ "0000000000000000000000000000000000000000000000000000000000000000",
		  "0100000000000000000000000000000000000000000000000000000000000000" },
		/* y = 3: u = p - 2, the largest output reduces to itself. */
		{ "0300000000000000000000000000000000000000000000000000000000000000",
		  "ebffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f" },
		/* y = 2: u = p - 3. */
		{ "0200000000000000000000000000000000000000000000000000000000000000",
		  "eaffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f" },
		/* y = p - 1: u = 0, not p. */
		{ "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		  "0000000000000000000000000000000000000000000000000000000000000000" },
		/* y = 2^255 - 1 = p + 18, taken as 18. */
		{ "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		  "3f4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b" },
		{ "1200000000000000000000000000000000000000000000000000000000000000",
		  "3f4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b" },
	};
	enum { N = sizeof(cases) / sizeof(cases[0]) };
	uint8_t ed[N][32], want[N][32], u[N][32];
	for (size_t i = 0; i < N; i++) {
		hex32(ed[i], cases[i][0]);
		hex32(want[i], cases[i][1]);
	}
	/* One at a time, and as one batch: the shared inversion changes
	 * nothing. */
	for (size_t i = 0; i < N; i++) {
		ephem_to_x25519(&u[i], (const uint8_t (*)[32])&ed[i], 1);
		ck_assert_mem_eq(u[i], want[i], 32);
	}
	memset(u, 0xaa, sizeof(u));
	ck_assert_int_le(N, EPHEM_MAX);
	ephem_to_x25519(u, (const uint8_t (*)[32])ed, N);
	for (size_t i = 0; i < N; i++)
		ck_assert_mem_eq(u[i], want[i], 32);
}
END_TEST

START_TEST(test_bad_sizes)
{
	uint8_t sk[EPHEM_MAX + 1][32], pk[EPHEM_MAX + 1][32];
	memset(pk, 0x55, sizeof(pk));
	ck_assert_int_eq(ephem_keypairs(sk, pk, 0), -1);
	ck_assert_int_eq(ephem_keypairs(sk, pk, EPHEM_MAX + 1), -1);
	/* Nothing written for a refused size. */
	for (size_t i = 0; i < sizeof(pk); i++)
		ck_assert_uint_eq(((uint8_t *)pk)[i], 0x55);
	ephem_to_x25519(pk, (const uint8_t (*)[32])sk, 0);
	ephem_to_x25519(pk, (const uint8_t (*)[32])sk, EPHEM_MAX + 1);
	for (size_t i = 0; i < sizeof(pk); i++)
		ck_assert_uint_eq(((uint8_t *)pk)[i], 0x55);
}
END_TEST

Suite *suite_ephem(void)
{
	Suite *s = suite_create("ephem");
	TCase *tc = tcase_create("ephem");
	tcase_add_test(tc, test_matches_libsodium);
	tcase_add_test(tc, test_map_edges);
	tcase_add_test(tc, test_bad_sizes);
	suite_add_tcase(s, tc);
	return s;
}
