/* Unit tests for b58: known vectors (the Bitcoin ones, recomputed), round
 * trips of random keys, leading zeros, bad characters, wrong lengths and
 * buffers that are too small. */
#include <check.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "b58.h"
#include "util.h"

static size_t unhex(const char *h, uint8_t *out, size_t outsz)
{
	size_t n = strlen(h) / 2;
	ck_assert_uint_le(n, outsz);
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		ck_assert_int_eq(sscanf(h + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n;
}

/* Bytes (hex) and their Base58 text.  The non-trivial ones are the
 * Bitcoin Core base58 vectors; every one was recomputed independently
 * (big-integer conversion) before being written here. */
static const struct {
	const char *hex, *b58;
} vectors[] = {
	{ "000001", "112" },
	{ "00", "1" },
	{ "0000000000", "11111" },
	{ "61", "2g" },
	{ "626262", "a3gV" },
	{ "636363", "aPEr" },
	{ "48656c6c6f20576f726c6421", "2NEpo7TZRRrLZSi2U" },
	{ "73696d706c792061206c6f6e6720737472696e67", "2cFupjhnEsSn59qHXstmK2ffpLv2" },
	{ "00eb15231dfceb60925886b67d065299925915aeb172c06647",
	  "1NS17iag9jJgTHD1VXjvLCEnZuQ3rJDE9L" },
	{ "516b6fcd0f", "ABnLTmg" },
	{ "bf4f89001e670274dd", "3SEo3LWLoPntC" },
	{ "572e4794", "3EFU7m" },
	{ "ecac89cad93923c02321", "EJDM8drfXA6uyA" },
	{ "10c8511e", "Rt5zm" },
	{ "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
	  "JEKNVnkbo3jma5nREBBJCDoXFVeKkD56V3xKrvRmWxFG" },
};

START_TEST(known_vectors)
{
	uint8_t in[64], out[64];
	char text[128];
	size_t n = unhex(vectors[_i].hex, in, sizeof(in));

	int len = b58_encode(in, n, text, sizeof(text));
	ck_assert_int_eq(len, (int)strlen(vectors[_i].b58));
	ck_assert_str_eq(text, vectors[_i].b58);

	memset(out, 0xAA, sizeof(out));
	ck_assert_int_eq(b58_decode(vectors[_i].b58, out, n), 0);
	ck_assert_mem_eq(out, in, n);
	ck_assert_uint_eq(out[n], 0xAA); /* nothing written past n */
}
END_TEST

START_TEST(empty_input_encodes_to_empty)
{
	char text[4] = "xyz";
	ck_assert_int_eq(b58_encode((const uint8_t *)"", 0, text, sizeof(text)), 0);
	ck_assert_str_eq(text, "");
}
END_TEST

START_TEST(random_keys_round_trip)
{
	ck_assert_int_ge(sodium_init(), 0);
	for (int i = 0; i < 1000; i++) {
		uint8_t key[32], back[32];
		char text[B58_KEY_CHARS];
		randombytes_buf(key, sizeof(key));
		/* Some keys with leading zero bytes, which random ones rarely have. */
		if (i % 10 == 0)
			memset(key, 0, (size_t)(i / 10 % 4));
		int len = b58_encode(key, sizeof(key), text, sizeof(text));
		ck_assert_int_gt(len, 0);
		ck_assert_int_le(len, B58_KEY_CHARS - 1);
		ck_assert_uint_eq(strlen(text), (size_t)len);
		ck_assert_int_eq(b58_decode(text, back, sizeof(back)), 0);
		ck_assert_mem_eq(back, key, sizeof(key));
	}
}
END_TEST

START_TEST(longest_inputs_round_trip)
{
	/* 64 bytes is the documented limit; all-ones is the longest text. */
	uint8_t in[64], back[64];
	char text[128];
	memset(in, 0xff, sizeof(in));
	int len = b58_encode(in, sizeof(in), text, sizeof(text));
	ck_assert_int_eq(len, 88);
	ck_assert_int_eq(b58_decode(text, back, sizeof(back)), 0);
	ck_assert_mem_eq(back, in, sizeof(in));

	memset(in, 0, sizeof(in));
	len = b58_encode(in, sizeof(in), text, sizeof(text));
	ck_assert_int_eq(len, 64);
	ck_assert_int_eq(b58_decode(text, back, sizeof(back)), 0);
	ck_assert_mem_eq(back, in, sizeof(in));

	/* Past the limit, both ways. */
	uint8_t big[65] = { 1 };
	ck_assert_int_eq(b58_encode(big, sizeof(big), text, sizeof(text)), -1);
	ck_assert_int_eq(b58_decode("2g", big, sizeof(big)), -1);
}
END_TEST

START_TEST(leading_zero_bytes)
{
	uint8_t key[32], back[32];
	char text[B58_KEY_CHARS];

	/* All zero: one '1' per byte. */
	memset(key, 0, sizeof(key));
	ck_assert_int_eq(b58_encode(key, sizeof(key), text, sizeof(text)), 32);
	for (int i = 0; i < 32; i++)
		ck_assert_int_eq(text[i], '1');
	memset(back, 0xAA, sizeof(back));
	ck_assert_int_eq(b58_decode(text, back, sizeof(back)), 0);
	ck_assert_mem_eq(back, key, sizeof(key));

	/* k zero bytes then a value: exactly k leading '1's, and they count. */
	for (size_t k = 0; k < 32; k++) {
		memset(key, 0, k);
		memset(key + k, 0x5a, sizeof(key) - k);
		ck_assert_int_gt(b58_encode(key, sizeof(key), text, sizeof(text)), 0);
		size_t ones = strspn(text, "1");
		ck_assert_uint_eq(ones, k);
		ck_assert_int_eq(b58_decode(text, back, sizeof(back)), 0);
		ck_assert_mem_eq(back, key, sizeof(key));
		/* One '1' more or fewer is another length, not the same key. */
		char more[B58_KEY_CHARS + 1] = "1";
		strcat(more, text);
		ck_assert_int_eq(b58_decode(more, back, sizeof(back)), -1);
		if (k > 0)
			ck_assert_int_eq(b58_decode(text + 1, back, sizeof(back)), -1);
	}
}
END_TEST

START_TEST(bad_characters)
{
	static const char bad[] = { '0', 'O', 'I', 'l', ' ', '+', '/', '=', '-',
	                            '\n', '\t', (char)0xc3, (char)0x80 };
	uint8_t key[32], out[32];
	char good[B58_KEY_CHARS];

	memset(key, 0x77, sizeof(key));
	ck_assert_int_gt(b58_encode(key, sizeof(key), good, sizeof(good)), 0);
	ck_assert_int_eq(b58_decode(good, out, sizeof(out)), 0);
	for (size_t i = 0; i < sizeof(bad); i++) {
		/* At the start, in the middle and at the end. */
		size_t len = strlen(good);
		size_t at[] = { 0, len / 2, len - 1 };
		for (size_t j = 0; j < ARRAY_LEN(at); j++) {
			char t[B58_KEY_CHARS];
			memcpy(t, good, sizeof(t));
			t[at[j]] = bad[i];
			memset(out, 0xAA, sizeof(out));
			ck_assert_msg(b58_decode(t, out, sizeof(out)) == -1,
			              "accepted 0x%02x at %zu", (unsigned char)bad[i], at[j]);
			for (size_t b = 0; b < sizeof(out); b++)
				ck_assert_uint_eq(out[b], 0xAA); /* nothing written */
		}
	}
	/* The same characters alone. */
	char one[2] = { 0, 0 };
	for (size_t i = 0; i < sizeof(bad); i++) {
		one[0] = bad[i];
		ck_assert_int_eq(b58_decode(one, out, 1), -1);
	}
	/* Trailing and leading spaces. */
	char sp[B58_KEY_CHARS + 2];
	snprintf(sp, sizeof(sp), "%s ", good);
	ck_assert_int_eq(b58_decode(sp, out, sizeof(out)), -1);
	snprintf(sp, sizeof(sp), " %s", good);
	ck_assert_int_eq(b58_decode(sp, out, sizeof(out)), -1);
}
END_TEST

START_TEST(wrong_length)
{
	uint8_t in[33], out[33];
	char text[64];

	/* 31 and 33 bytes (first byte non-zero, and zero) asked for as 32. */
	for (int lead = 0; lead < 2; lead++) {
		memset(in, 0x42, sizeof(in));
		in[0] = lead ? 0 : 0x42;
		ck_assert_int_gt(b58_encode(in, 31, text, sizeof(text)), 0);
		ck_assert_int_eq(b58_decode(text, out, 32), -1);
		ck_assert_int_eq(b58_decode(text, out, 31), 0);
		ck_assert_int_gt(b58_encode(in, 33, text, sizeof(text)), 0);
		ck_assert_int_eq(b58_decode(text, out, 32), -1);
		ck_assert_int_eq(b58_decode(text, out, 33), 0);
		ck_assert_mem_eq(out, in, 33);
	}
	/* A 32-byte key read as 31 or 33 bytes. */
	memset(in, 0x99, 32);
	ck_assert_int_gt(b58_encode(in, 32, text, sizeof(text)), 0);
	ck_assert_int_eq(b58_decode(text, out, 31), -1);
	ck_assert_int_eq(b58_decode(text, out, 33), -1);
	ck_assert_int_eq(b58_decode("112", out, 2), -1);
	ck_assert_int_eq(b58_decode("112", out, 4), -1);
	ck_assert_int_eq(b58_decode("112", out, 3), 0);
}
END_TEST

START_TEST(empty_and_overlong)
{
	uint8_t out[64];
	char s[256];

	ck_assert_int_eq(b58_decode("", out, 32), -1);
	ck_assert_int_eq(b58_decode("", out, 0), -1);

	/* Far more digits than 64 bytes can hold: refused, no overflow. */
	memset(s, 'z', 100);
	s[100] = 0;
	ck_assert_int_eq(b58_decode(s, out, 64), -1);
	ck_assert_int_eq(b58_decode(s, out, 32), -1);
	/* Past the length limit, even of all-'1' text. */
	memset(s, '1', 101);
	s[101] = 0;
	ck_assert_int_eq(b58_decode(s, out, 64), -1);
	memset(s, 'z', 255);
	s[255] = 0;
	ck_assert_int_eq(b58_decode(s, out, 64), -1);
	/* A valid key with one more digit. */
	uint8_t key[32];
	char text[B58_KEY_CHARS + 1];
	memset(key, 0xee, sizeof(key));
	int len = b58_encode(key, sizeof(key), text, sizeof(text));
	text[len] = 'z';
	text[len + 1] = 0;
	ck_assert_int_eq(b58_decode(text, out, 32), -1);
}
END_TEST

START_TEST(output_too_small)
{
	uint8_t in[3] = { 0, 0, 1 };
	char text[B58_KEY_CHARS];

	/* "112" needs 4 bytes with its NUL. */
	ck_assert_int_eq(b58_encode(in, 3, text, 0), -1);
	ck_assert_int_eq(b58_encode(in, 3, text, 3), -1);
	ck_assert_int_eq(b58_encode(in, 3, text, 4), 3);
	ck_assert_str_eq(text, "112");

	/* The longest 32-byte key text is 44 characters: fits B58_KEY_CHARS. */
	uint8_t key[32];
	memset(key, 0xff, sizeof(key));
	ck_assert_int_eq(b58_encode(key, sizeof(key), text, B58_KEY_CHARS - 1), -1);
	ck_assert_int_eq(b58_encode(key, sizeof(key), text, B58_KEY_CHARS), 44);
	/* Leading zeros count too. */
	memset(key, 0, sizeof(key));
	ck_assert_int_eq(b58_encode(key, sizeof(key), text, 32), -1);
	ck_assert_int_eq(b58_encode(key, sizeof(key), text, 33), 32);
}
END_TEST

/* Declared for -Wmissing-prototypes; the Makefile collects the definition. */
Suite *suite_b58(void);

Suite *suite_b58(void)
{
	Suite *s = suite_create("b58");
	TCase *tc = tcase_create("vectors");
	tcase_add_loop_test(tc, known_vectors, 0, (int)ARRAY_LEN(vectors));
	tcase_add_test(tc, empty_input_encodes_to_empty);
	suite_add_tcase(s, tc);

	tc = tcase_create("round_trip");
	tcase_add_test(tc, random_keys_round_trip);
	tcase_add_test(tc, longest_inputs_round_trip);
	tcase_add_test(tc, leading_zero_bytes);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_test(tc, bad_characters);
	tcase_add_test(tc, wrong_length);
	tcase_add_test(tc, empty_and_overlong);
	tcase_add_test(tc, output_too_small);
	suite_add_tcase(s, tc);
	return s;
}
