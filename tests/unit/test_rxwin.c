/* Unit tests of rxwin: each id once, in any order, within the window;
 * the sender's floor moves it, near or far; a model check against a set
 * of taken ids over a long random run. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rxwin.h"

START_TEST(test_once_in_any_order)
{
	struct rxwin w;
	rxwin_init(&w);
	ck_assert_int_eq(rxwin_check(&w, 0), RXWIN_DUP);   /* ids start at 1 */
	ck_assert_int_eq(rxwin_check(&w, 3), RXWIN_NEW);
	rxwin_take(&w, 3);
	ck_assert_int_eq(rxwin_check(&w, 3), RXWIN_DUP);
	ck_assert_uint_eq(w.base, 1);                       /* 1 and 2 still awaited */
	rxwin_take(&w, 1);
	ck_assert_uint_eq(w.base, 2);
	rxwin_take(&w, 2);
	ck_assert_uint_eq(w.base, 4);                       /* past 3, taken before */
	ck_assert_int_eq(rxwin_check(&w, 2), RXWIN_DUP);
	ck_assert_int_eq(rxwin_check(&w, 4), RXWIN_NEW);
}
END_TEST

START_TEST(test_window_edge)
{
	struct rxwin w;
	rxwin_init(&w);
	ck_assert_int_eq(rxwin_check(&w, RXWIN_IDS), RXWIN_NEW);       /* base + IDS - 1 */
	ck_assert_int_eq(rxwin_check(&w, RXWIN_IDS + 1), RXWIN_AHEAD);
	/* Taking an id beyond the window is refused: its bit is shared with
	 * an id inside it. */
	rxwin_take(&w, RXWIN_IDS + 1);
	ck_assert_int_eq(rxwin_check(&w, 1), RXWIN_NEW);
	ck_assert_uint_eq(w.base, 1);
	/* Once the window has moved, the id is new, and the bit it shares
	 * with id 1 was cleared as the window passed it. */
	rxwin_take(&w, 1);
	ck_assert_int_eq(rxwin_check(&w, RXWIN_IDS + 1), RXWIN_NEW);
	ck_assert_int_eq(rxwin_check(&w, UINT64_MAX >> 8), RXWIN_AHEAD);
}
END_TEST

START_TEST(test_floor)
{
	struct rxwin w;
	rxwin_init(&w);
	rxwin_take(&w, 5);
	rxwin_take(&w, 7);
	rxwin_floor(&w, 3);                  /* 1 and 2 given up */
	ck_assert_uint_eq(w.base, 3);
	ck_assert_int_eq(rxwin_check(&w, 2), RXWIN_DUP);
	rxwin_floor(&w, 5);                  /* 3, 4 given up; 5 taken: on to 6 */
	ck_assert_uint_eq(w.base, 6);
	rxwin_floor(&w, 2);                  /* a floor below base changes nothing */
	ck_assert_uint_eq(w.base, 6);
	ck_assert_int_eq(rxwin_check(&w, 7), RXWIN_DUP);
	/* A floor beyond the window starts it again there, with no stale bit. */
	rxwin_floor(&w, 7 + RXWIN_IDS * 3);
	ck_assert_uint_eq(w.base, 7 + RXWIN_IDS * 3);
	for (uint64_t id = w.base; id < w.base + RXWIN_IDS; id++)
		ck_assert_int_eq(rxwin_check(&w, id), RXWIN_NEW);
}
END_TEST

/* Against a model: a long run of random takes and floors, ids offered
 * around the window, every verdict as a plain set of taken ids says. */
START_TEST(test_model)
{
	enum { N = 20000 };
	static uint8_t taken[N + 2 * RXWIN_IDS];
	struct rxwin w;
	uint64_t floor = 1;
	uint32_t x = 12345;
	memset(taken, 0, sizeof(taken));
	rxwin_init(&w);
	for (int step = 0; step < 200000; step++) {
		x = x * 1103515245u + 12345u;
		uint64_t id = w.base + (x >> 8) % (RXWIN_IDS + 16);
		if (id >= N)
			break;
		if ((x >> 4) % 1000 == 0) {
			uint64_t f = w.base + (x >> 12) % 40;
			for (uint64_t i = floor; i < f; i++)
				taken[i] = 1;
			if (f > floor)
				floor = f;
			rxwin_floor(&w, f);
			continue;
		}
		uint64_t lowest = 1;
		while (taken[lowest])
			lowest++;
		ck_assert_uint_eq(w.base, lowest);
		enum rxwin_verdict want = id - lowest >= RXWIN_IDS ? RXWIN_AHEAD
		                        : taken[id] ? RXWIN_DUP : RXWIN_NEW;
		ck_assert_int_eq(rxwin_check(&w, id), want);
		if (want == RXWIN_NEW) {
			rxwin_take(&w, id);
			taken[id] = 1;
		}
	}
	ck_assert_uint_gt(w.base, 1000);
}
END_TEST

Suite *suite_rxwin(void)
{
	Suite *s = suite_create("rxwin");
	TCase *tc = tcase_create("rxwin");
	tcase_add_test(tc, test_once_in_any_order);
	tcase_add_test(tc, test_window_edge);
	tcase_add_test(tc, test_floor);
	tcase_add_test(tc, test_model);
	suite_add_tcase(s, tc);
	return s;
}
