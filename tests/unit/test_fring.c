/* Unit tests of fring: order, the drop of the oldest when full, both
 * ends, checked indexes, wiping, filtering, and a ring never initialised. */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "fring.h"

struct rec {
	uint32_t v;
	uint8_t pad[12];
};

static struct rec mk(uint32_t v)
{
	struct rec r;
	memset(&r, 0, sizeof(r));
	r.v = v;
	return r;
}

START_TEST(test_fifo_and_overwrite)
{
	struct fring r;
	struct rec x;
	ck_assert_int_eq(fring_init(&r, sizeof(struct rec), 4), 0);
	ck_assert_ptr_null(fring_oldest(&r));
	ck_assert_ptr_null(fring_newest(&r));
	for (uint32_t i = 1; i <= 4; i++) {
		x = mk(i);
		ck_assert_int_eq(fring_push(&r, &x), 0);
	}
	ck_assert(fring_full(&r));
	/* Full: the fifth push drops 1. */
	x = mk(5);
	ck_assert_int_eq(fring_push(&r, &x), 1);
	ck_assert_uint_eq(fring_len(&r), 4);
	for (size_t i = 0; i < 4; i++)
		ck_assert_uint_eq(((struct rec *)fring_at(&r, i))->v, i + 2);
	ck_assert_ptr_null(fring_at(&r, 4));
	ck_assert_ptr_null(fring_at(&r, (size_t)-1));
	ck_assert_uint_eq(((struct rec *)fring_newest(&r))->v, 5);
	/* Both ends. */
	ck_assert_int_eq(fring_take_newest(&r, &x), 0);
	ck_assert_uint_eq(x.v, 5);
	ck_assert_int_eq(fring_take_oldest(&r, &x), 0);
	ck_assert_uint_eq(x.v, 2);
	ck_assert_uint_eq(fring_len(&r), 2);
	ck_assert_int_eq(fring_drop_oldest(&r), 0);
	ck_assert_int_eq(fring_drop_newest(&r), 0);
	ck_assert_int_eq(fring_drop_newest(&r), -1);
	ck_assert_int_eq(fring_drop_oldest(&r), -1);
	ck_assert_int_eq(fring_take_oldest(&r, &x), -1);
	/* Wrapped many times over: still in order. */
	for (uint32_t i = 0; i < 1000; i++) {
		x = mk(i);
		fring_push(&r, &x);
	}
	for (size_t i = 0; i < 4; i++)
		ck_assert_uint_eq(((struct rec *)fring_at(&r, i))->v, 996 + i);
	fring_free(&r);
}
END_TEST

/* What leaves the ring is wiped in place: a reply block or a secret must
 * not linger in a slot it no longer holds. */
START_TEST(test_wiped)
{
	struct fring r;
	struct rec x = mk(0xa5a5a5a5);
	memset(x.pad, 0x5a, sizeof(x.pad));
	ck_assert_int_eq(fring_init(&r, sizeof(struct rec), 2), 0);
	fring_push(&r, &x);
	uint8_t *slot = fring_oldest(&r);
	fring_drop_oldest(&r);
	for (size_t i = 0; i < sizeof(struct rec); i++)
		ck_assert_uint_eq(slot[i], 0);
	fring_push(&r, &x);
	slot = fring_newest(&r);
	fring_take_newest(&r, &x);
	for (size_t i = 0; i < sizeof(struct rec); i++)
		ck_assert_uint_eq(slot[i], 0);
	fring_free(&r);
	ck_assert_ptr_null(r.rec);
}
END_TEST

/* Room comes as records do: FRING_FIRST at first, doubling up to cap,
 * order kept across a growth that finds the ring wrapped. */
START_TEST(test_grows)
{
	struct fring r;
	struct rec x;
	ck_assert_int_eq(fring_init(&r, sizeof(struct rec), 100), 0);
	ck_assert_uint_eq(fring_bytes(&r), FRING_FIRST * sizeof(struct rec));
	uint32_t next = 1, oldest = 1;
	/* Wrapped: the head is past 0 when the ring fills. */
	for (int i = 0; i < 5; i++) {
		x = mk(next++);
		ck_assert_int_eq(fring_push(&r, &x), 0);
	}
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(fring_take_oldest(&r, &x), 0);
		ck_assert_uint_eq(x.v, oldest++);
	}
	while (next <= 120) {
		int full = fring_len(&r) == 100;
		x = mk(next++);
		ck_assert_int_eq(fring_push(&r, &x), full);
		ck_assert_uint_le(fring_bytes(&r), 100 * sizeof(struct rec));
	}
	ck_assert_uint_eq(fring_len(&r), 100);
	ck_assert_uint_eq(fring_bytes(&r), 100 * sizeof(struct rec));
	for (size_t i = 0; i < 100; i++)
		ck_assert_uint_eq(((struct rec *)fring_at(&r, i))->v, 21 + i);
	ck_assert_ptr_null(fring_at(&r, 100));
	fring_free(&r);
	/* A ring smaller than FRING_FIRST has its cap at once. */
	ck_assert_int_eq(fring_init(&r, sizeof(struct rec), 3), 0);
	ck_assert_uint_eq(fring_bytes(&r), 3 * sizeof(struct rec));
	fring_free(&r);
}
END_TEST

static int is_even(const void *rec, void *ctx)
{
	(void)ctx;
	return ((const struct rec *)rec)->v % 2 == 0;
}

static int keep_none(const void *rec, void *ctx)
{
	(void)rec;
	(void)ctx;
	return 0;
}

/* A filter keeps the order of what it keeps, across the ring's wrap, and
 * wipes every slot it leaves behind; the ring works on after it. */
START_TEST(test_filter)
{
	struct fring r;
	struct rec x;
	ck_assert_int_eq(fring_init(&r, sizeof(struct rec), 8), 0);
	for (uint32_t i = 1; i <= 13; i++) {   /* 6..13 held, the head past 0 */
		x = mk(i);
		memset(x.pad, 0x5a, sizeof(x.pad));
		fring_push(&r, &x);
	}
	uint8_t *slots[8];
	for (size_t i = 0; i < 8; i++)
		slots[i] = fring_at(&r, i);
	ck_assert_uint_eq(fring_filter(&r, is_even, NULL), 4);
	ck_assert_uint_eq(fring_len(&r), 4);
	for (size_t i = 0; i < 4; i++)
		ck_assert_uint_eq(((struct rec *)fring_at(&r, i))->v, 6 + 2 * i);
	ck_assert_ptr_null(fring_at(&r, 4));
	for (size_t i = 4; i < 8; i++)
		for (size_t j = 0; j < sizeof(struct rec); j++)
			ck_assert_uint_eq(slots[i][j], 0);
	x = mk(14);
	ck_assert_int_eq(fring_push(&r, &x), 0);
	ck_assert_uint_eq(((struct rec *)fring_newest(&r))->v, 14);
	ck_assert_uint_eq(((struct rec *)fring_oldest(&r))->v, 6);
	ck_assert_uint_eq(fring_filter(&r, keep_none, NULL), 5);
	ck_assert_uint_eq(fring_len(&r), 0);
	ck_assert_ptr_null(fring_oldest(&r));
	ck_assert_uint_eq(fring_filter(&r, keep_none, NULL), 0);
	fring_free(&r);
}
END_TEST

START_TEST(test_bad_init)
{
	struct fring r;
	struct rec x = mk(1);
	ck_assert_int_eq(fring_init(&r, 0, 4), -1);
	ck_assert_int_eq(fring_init(&r, 16, 0), -1);
	ck_assert_int_eq(fring_init(&r, SIZE_MAX / 2, 4), -1);
	ck_assert_int_eq(fring_push(&r, &x), -1);
	ck_assert_ptr_null(fring_at(&r, 0));
	fring_free(&r);
}
END_TEST

Suite *suite_fring(void)
{
	Suite *s = suite_create("fring");
	TCase *tc = tcase_create("fring");
	tcase_add_test(tc, test_fifo_and_overwrite);
	tcase_add_test(tc, test_wiped);
	tcase_add_test(tc, test_grows);
	tcase_add_test(tc, test_filter);
	tcase_add_test(tc, test_bad_init);
	suite_add_tcase(s, tc);
	return s;
}
