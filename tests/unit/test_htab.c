/* Unit tests for htab: put/get/del/replace, the hard cap, growth through
 * many rehashes, iteration with deletion, keys that differ only at the
 * end. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "htab.h"

#define KL 16

/* Key i: mostly constant bytes with i in the last four, so that every
 * pair of keys differs only near the end (XXH3 must still spread them). */
static void mkkey(uint8_t k[KL], uint32_t i)
{
	memset(k, 0x5a, KL);
	k[KL - 4] = (uint8_t)(i >> 24);
	k[KL - 3] = (uint8_t)(i >> 16);
	k[KL - 2] = (uint8_t)(i >> 8);
	k[KL - 1] = (uint8_t)i;
}

/* Values are small integers smuggled in pointers; 0 is never used so
 * NULL still means "absent". */
static void *v(uintptr_t i)
{
	return (void *)(i + 1);
}

START_TEST(htab_new_args)
{
	errno = 0;
	ck_assert_ptr_null(htab_new(0, 10));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_null(htab_new(65, 10));
	ck_assert_ptr_null(htab_new(8, 0));
	errno = 0;
	ck_assert_ptr_null(htab_new(8, SIZE_MAX));
	ck_assert_int_eq(errno, ENOMEM);
	struct htab *t = htab_new(64, 1);
	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(htab_count(t), 0);
	htab_free(t);
	htab_free(NULL);
}
END_TEST

START_TEST(htab_basic)
{
	struct htab *t = htab_new(KL, 100);
	uint8_t k[KL];
	mkkey(k, 1);
	ck_assert_ptr_null(htab_get(t, k));
	ck_assert_ptr_null(htab_del(t, k));
	ck_assert_int_eq(htab_put(t, k, v(1)), 0);
	ck_assert_uint_eq(htab_count(t), 1);
	ck_assert_ptr_eq(htab_get(t, k), v(1));
	/* Replace keeps the count. */
	ck_assert_int_eq(htab_put(t, k, v(2)), 0);
	ck_assert_uint_eq(htab_count(t), 1);
	ck_assert_ptr_eq(htab_get(t, k), v(2));
	/* The table keeps its own copy of the key. */
	uint8_t copy[KL];
	memcpy(copy, k, KL);
	memset(k, 0, KL);
	ck_assert_ptr_eq(htab_get(t, copy), v(2));
	ck_assert_ptr_null(htab_get(t, k));
	ck_assert_ptr_eq(htab_del(t, copy), v(2));
	ck_assert_uint_eq(htab_count(t), 0);
	ck_assert_ptr_null(htab_get(t, copy));
	ck_assert_ptr_null(htab_del(t, copy));
	htab_free(t);
}
END_TEST

START_TEST(htab_last_byte)
{
	struct htab *t = htab_new(KL, 256);
	uint8_t k[KL];
	for (uint32_t i = 0; i < 256; i++) {
		mkkey(k, i);
		ck_assert_int_eq(htab_put(t, k, v(i)), 0);
	}
	ck_assert_uint_eq(htab_count(t), 256);
	for (uint32_t i = 0; i < 256; i++) {
		mkkey(k, i);
		ck_assert_ptr_eq(htab_get(t, k), v(i));
	}
	/* Delete the odd ones; the even ones must be unaffected. */
	for (uint32_t i = 1; i < 256; i += 2) {
		mkkey(k, i);
		ck_assert_ptr_eq(htab_del(t, k), v(i));
	}
	for (uint32_t i = 0; i < 256; i++) {
		mkkey(k, i);
		if (i & 1)
			ck_assert_ptr_null(htab_get(t, k));
		else
			ck_assert_ptr_eq(htab_get(t, k), v(i));
	}
	htab_free(t);
}
END_TEST

START_TEST(htab_cap)
{
	const uint32_t max = 100;
	struct htab *t = htab_new(KL, max);
	uint8_t k[KL];
	for (uint32_t i = 0; i < max; i++) {
		mkkey(k, i);
		ck_assert_int_eq(htab_put(t, k, v(i)), 0);
	}
	ck_assert_uint_eq(htab_count(t), max);
	/* Full: a new key is refused... */
	mkkey(k, max);
	errno = 0;
	ck_assert_int_eq(htab_put(t, k, v(max)), -1);
	ck_assert_int_eq(errno, ENOSPC);
	ck_assert_ptr_null(htab_get(t, k));
	ck_assert_uint_eq(htab_count(t), max);
	/* ...but replacing an existing one still works. */
	mkkey(k, 7);
	ck_assert_int_eq(htab_put(t, k, v(1000)), 0);
	ck_assert_ptr_eq(htab_get(t, k), v(1000));
	/* Make room and the new key goes in; then full again. */
	ck_assert_ptr_eq(htab_del(t, k), v(1000));
	mkkey(k, max);
	ck_assert_int_eq(htab_put(t, k, v(max)), 0);
	ck_assert_ptr_eq(htab_get(t, k), v(max));
	mkkey(k, max + 1);
	ck_assert_int_eq(htab_put(t, k, v(0)), -1);
	ck_assert_int_eq(errno, ENOSPC);
	htab_free(t);
}
END_TEST

START_TEST(htab_cap_of_one)
{
	struct htab *t = htab_new(1, 1);
	uint8_t a = 'a', b = 'b';
	ck_assert_int_eq(htab_put(t, &a, v(1)), 0);
	ck_assert_int_eq(htab_put(t, &b, v(2)), -1);
	ck_assert_int_eq(htab_put(t, &a, v(3)), 0);
	ck_assert_ptr_eq(htab_del(t, &a), v(3));
	ck_assert_int_eq(htab_put(t, &b, v(2)), 0);
	ck_assert_ptr_eq(htab_get(t, &b), v(2));
	ck_assert_ptr_null(htab_get(t, &a));
	htab_free(t);
}
END_TEST

/* Churn at the cap: one delete and one insert at a time, many times the
 * table size.  Tombstones must not pile up until probing never ends. */
START_TEST(htab_churn_at_cap)
{
	const uint32_t max = 1000;
	struct htab *t = htab_new(KL, max);
	uint8_t k[KL];
	for (uint32_t i = 0; i < max; i++) {
		mkkey(k, i);
		ck_assert_int_eq(htab_put(t, k, v(i)), 0);
	}
	for (uint32_t i = max; i < 50 * max; i++) {
		mkkey(k, i - max);
		ck_assert_ptr_eq(htab_del(t, k), v(i - max));
		mkkey(k, i);
		ck_assert_int_eq(htab_put(t, k, v(i)), 0);
		ck_assert_uint_eq(htab_count(t), max);
	}
	for (uint32_t i = 49 * max; i < 50 * max; i++) {
		mkkey(k, i);
		ck_assert_ptr_eq(htab_get(t, k), v(i));
	}
	mkkey(k, 0);
	ck_assert_ptr_null(htab_get(t, k));
	htab_free(t);
}
END_TEST

START_TEST(htab_growth_100k)
{
	const uint32_t n = 100000;
	struct htab *t = htab_new(KL, n);
	uint8_t k[KL];
	for (uint32_t i = 0; i < n; i++) {
		mkkey(k, i);
		ck_assert_int_eq(htab_put(t, k, v(i)), 0);
	}
	ck_assert_uint_eq(htab_count(t), n);
	for (uint32_t i = 0; i < n; i++) {
		mkkey(k, i);
		ck_assert_ptr_eq(htab_get(t, k), v(i));
	}
	mkkey(k, n);
	ck_assert_ptr_null(htab_get(t, k));
	ck_assert_int_eq(htab_put(t, k, v(n)), -1);
	ck_assert_int_eq(errno, ENOSPC);
	/* Delete every third, re-check all, then refill to the cap. */
	for (uint32_t i = 0; i < n; i += 3) {
		mkkey(k, i);
		ck_assert_ptr_eq(htab_del(t, k), v(i));
	}
	for (uint32_t i = 0; i < n; i++) {
		mkkey(k, i);
		if (i % 3 == 0)
			ck_assert_ptr_null(htab_get(t, k));
		else
			ck_assert_ptr_eq(htab_get(t, k), v(i));
	}
	uint32_t j = n;
	while (htab_count(t) < n) {
		mkkey(k, j);
		ck_assert_int_eq(htab_put(t, k, v(j)), 0);
		j++;
	}
	for (uint32_t i = n; i < j; i++) {
		mkkey(k, i);
		ck_assert_ptr_eq(htab_get(t, k), v(i));
	}
	htab_free(t);
}
END_TEST

static uint32_t key_index(const void *key)
{
	const uint8_t *k = key;
	return (uint32_t)k[KL - 4] << 24 | (uint32_t)k[KL - 3] << 16 |
	    (uint32_t)k[KL - 2] << 8 | k[KL - 1];
}

START_TEST(htab_iterate_once)
{
	const uint32_t n = 5000;
	struct htab *t = htab_new(KL, n);
	uint8_t k[KL];
	uint8_t *seen = calloc(n, 1);
	size_t it = 0;
	const void *key;
	void *val;
	/* Empty table: nothing. */
	ck_assert_int_eq(htab_next(t, &it, &key, &val), 0);
	for (uint32_t i = 0; i < n; i++) {
		mkkey(k, i);
		ck_assert_int_eq(htab_put(t, k, v(i)), 0);
	}
	/* Some tombstones in the table too. */
	for (uint32_t i = 0; i < n; i += 7) {
		mkkey(k, i);
		htab_del(t, k);
	}
	it = 0;
	size_t visits = 0;
	while (htab_next(t, &it, &key, &val)) {
		uint32_t i = key_index(key);
		ck_assert_uint_lt(i, n);
		ck_assert_ptr_eq(val, v(i));
		ck_assert_uint_eq(seen[i], 0);
		seen[i] = 1;
		visits++;
	}
	ck_assert_uint_eq(visits, htab_count(t));
	for (uint32_t i = 0; i < n; i++)
		ck_assert_uint_eq(seen[i], i % 7 != 0);
	/* Finished stays finished. */
	ck_assert_int_eq(htab_next(t, &it, &key, &val), 0);
	free(seen);
	htab_free(t);
}
END_TEST

START_TEST(htab_iterate_delete)
{
	const uint32_t n = 5000;
	struct htab *t = htab_new(KL, n);
	uint8_t k[KL];
	uint8_t *seen = calloc(n, 1);
	for (uint32_t i = 0; i < n; i++) {
		mkkey(k, i);
		ck_assert_int_eq(htab_put(t, k, v(i)), 0);
	}
	/* Delete every entry whose index is even, as it is visited, passing
	 * the key pointer the iterator gave us; replace the odd ones' values
	 * in place (no insert, so no rehash). */
	size_t it = 0, visits = 0;
	const void *key;
	void *val;
	while (htab_next(t, &it, &key, &val)) {
		uint32_t i = key_index(key);
		ck_assert_uint_eq(seen[i], 0);
		seen[i] = 1;
		visits++;
		if (i % 2 == 0) {
			ck_assert_ptr_eq(htab_del(t, key), v(i));
		} else {
			ck_assert_int_eq(htab_put(t, key, v(i + n)), 0);
		}
	}
	ck_assert_uint_eq(visits, n);
	ck_assert_uint_eq(htab_count(t), n / 2);
	/* Second pass: only the odd ones, with their new values. */
	it = 0;
	visits = 0;
	while (htab_next(t, &it, &key, &val)) {
		uint32_t i = key_index(key);
		ck_assert_uint_eq(i % 2, 1);
		ck_assert_ptr_eq(val, v(i + n));
		visits++;
	}
	ck_assert_uint_eq(visits, n / 2);
	/* Delete everything during one pass; the table ends empty. */
	it = 0;
	while (htab_next(t, &it, &key, &val))
		htab_del(t, key);
	ck_assert_uint_eq(htab_count(t), 0);
	it = 0;
	ck_assert_int_eq(htab_next(t, &it, &key, &val), 0);
	free(seen);
	htab_free(t);
}
END_TEST

/* Two tables get different seeds; both still work with the same keys
 * (a smoke test: the seed is internal). */
START_TEST(htab_two_tables)
{
	struct htab *a = htab_new(KL, 64), *b = htab_new(KL, 64);
	uint8_t k[KL];
	for (uint32_t i = 0; i < 64; i++) {
		mkkey(k, i);
		ck_assert_int_eq(htab_put(a, k, v(i)), 0);
		ck_assert_int_eq(htab_put(b, k, v(i + 100)), 0);
	}
	for (uint32_t i = 0; i < 64; i++) {
		mkkey(k, i);
		ck_assert_ptr_eq(htab_get(a, k), v(i));
		ck_assert_ptr_eq(htab_get(b, k), v(i + 100));
	}
	htab_free(a);
	htab_free(b);
}
END_TEST

/* Random put/del/get against a plain array over a small key space, with
 * a cap well below it: exercises tombstone reuse, ENOSPC, in-place and
 * growing rehashes in every mix. */
START_TEST(htab_model)
{
	enum { NKEYS = 1024, MAX = 300 };
	static void *model[NKEYS];
	size_t count = 0;
	uint32_t x = 777;
	memset(model, 0, sizeof(model));
	struct htab *t = htab_new(2, MAX);
	for (int step = 0; step < 200000; step++) {
		x = x * 1103515245u + 12345u;
		uint32_t i = (x >> 8) % NKEYS;
		uint8_t k[2] = { (uint8_t)(i >> 8), (uint8_t)i };
		switch ((x >> 28) % 3) {
		case 0:
			if (!model[i] && count == MAX) {
				errno = 0;
				ck_assert_int_eq(htab_put(t, k, v((uintptr_t)step)), -1);
				ck_assert_int_eq(errno, ENOSPC);
				break;
			}
			ck_assert_int_eq(htab_put(t, k, v((uintptr_t)step)), 0);
			count += !model[i];
			model[i] = v((uintptr_t)step);
			break;
		case 1:
			ck_assert_ptr_eq(htab_del(t, k), model[i]);
			count -= !!model[i];
			model[i] = NULL;
			break;
		default:
			ck_assert_ptr_eq(htab_get(t, k), model[i]);
		}
		ck_assert_uint_eq(htab_count(t), count);
	}
	for (uint32_t i = 0; i < NKEYS; i++) {
		uint8_t k[2] = { (uint8_t)(i >> 8), (uint8_t)i };
		ck_assert_ptr_eq(htab_get(t, k), model[i]);
	}
	htab_free(t);
}
END_TEST

/* Declared for -Wmissing-prototypes; the Makefile collects the definition. */
Suite *suite_htab(void);

Suite *suite_htab(void)
{
	Suite *s = suite_create("htab");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, htab_new_args);
	tcase_add_test(tc, htab_basic);
	tcase_add_test(tc, htab_last_byte);
	tcase_add_test(tc, htab_cap);
	tcase_add_test(tc, htab_cap_of_one);
	tcase_add_test(tc, htab_two_tables);
	suite_add_tcase(s, tc);

	tc = tcase_create("scale");
	/* Generous: these run under valgrind too. */
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, htab_model);
	tcase_add_test(tc, htab_churn_at_cap);
	tcase_add_test(tc, htab_growth_100k);
	tcase_add_test(tc, htab_iterate_once);
	tcase_add_test(tc, htab_iterate_delete);
	suite_add_tcase(s, tc);
	return s;
}
