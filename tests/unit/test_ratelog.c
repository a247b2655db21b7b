/* Unit tests of ratelog: a burst a stranger causes is one line a second,
 * and the count of what was left out is told, also when the burst ends
 * inside its second (the ratelog's own timer). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ev.h"
#include "log.h"
#include "ratelog.h"

static struct ratelog r;
static struct ev *ev;
static char out[4096];

/* Run fn with stderr into a file; its text into out. */
static void captured(void (*fn)(void))
{
	FILE *f = tmpfile();
	ck_assert_ptr_nonnull(f);
	fflush(stderr);
	int saved = dup(2);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_eq(dup2(fileno(f), 2), 2);
	fn();
	fflush(stderr);
	ck_assert_int_eq(dup2(saved, 2), 2);
	close(saved);
	rewind(f);
	size_t got = fread(out, 1, sizeof(out) - 1, f);
	out[got] = 0;
	fclose(f);
}

static int lines(const char *s)
{
	int k = 0;
	for (; *s; s++)
		k += *s == '\n';
	return k;
}

static void burst(void)
{
	for (int i = 0; i < 100; i++)
		ratelog_warn(&r, "connection %d from a stranger refused, and a long tail to this line", i);
}

/* Moves the last line back: `left` µs of its second remain. */
static void age(uint64_t left)
{
	r.last_us -= 1000000 - left;
}

/* The loop until the ratelog's timer has run (a second at most). */
static void wait_timer(void)
{
	for (int i = 0; i < 30 && ev_timer_count(ev); i++)
		ck_assert_int_ge(ev_run_once(ev, 100), 0);
	ck_assert_uint_eq(ev_timer_count(ev), 0);
}

static uint64_t old_timer;

static void old_deadline(void)
{
	for (int i = 0; i < 10 && r.timer == old_timer; i++)
		ck_assert_int_ge(ev_run_once(ev, 100), 0);
	ck_assert_uint_ne(r.timer, old_timer);
}

static void setup(void)
{
	log_init("test", 1, 0);
	ev = ev_new();
	ck_assert_ptr_nonnull(ev);
	ratelog_init(&r, ev);
}

static void teardown(void)
{
	ratelog_stop(&r);
	ev_free(ev);
}

/* Without a loop, what was left out rides with the next line. */
START_TEST(test_no_loop)
{
	ratelog_init(&r, NULL);
	captured(burst);
	ck_assert_int_eq(lines(out), 1);
	ck_assert_ptr_nonnull(strstr(out, "connection 0 from a stranger refused"));
	ck_assert_uint_eq(r.skipped, 99);
	age(0);
	captured(burst);
	ck_assert_int_eq(lines(out), 1);
	ck_assert_ptr_nonnull(strstr(out, "connection 0 from a stranger refused, and a long tail "
	                                  "to this line (and 99 more like it since the last)"));
}
END_TEST

/* A burst that ends inside its second is told when the second is up,
 * once, with the start of the line it is like. */
START_TEST(test_burst_end_told)
{
	captured(burst);
	ck_assert_int_eq(lines(out), 1);
	ck_assert_uint_eq(ev_timer_count(ev), 1);
	age(20000);
	captured(wait_timer);
	ck_assert_int_eq(lines(out), 1);
	ck_assert_ptr_nonnull(strstr(out, "99 more like \"connection 0 from a stranger refused"));
	ck_assert_ptr_nonnull(strstr(out, "...\" since the last"));
	ck_assert_uint_eq(r.skipped, 0);
	/* The count was a line: a new burst within its second waits. */
	captured(burst);
	ck_assert_int_eq(lines(out), 0);
	ck_assert_uint_eq(r.skipped, 100);
	ck_assert_uint_eq(ev_timer_count(ev), 1);
	/* Nothing left out, nothing told, no timer. */
	ratelog_stop(&r);
	ratelog_init(&r, ev);
	ratelog_warn(&r, "short");
	ck_assert_uint_eq(ev_timer_count(ev), 0);
}
END_TEST

/* A line logged after the timer was set restarts the second: what is
 * left out after it is told a second after that line, not at the old
 * deadline. */
START_TEST(test_timer_follows_line)
{
	ratelog_warn(&r, "first");
	age(20000);
	ratelog_warn(&r, "left out");
	ck_assert_uint_eq(ev_timer_count(ev), 1);
	age(0);
	captured(burst); /* a line, then 99 left out */
	ck_assert_int_eq(lines(out), 1);
	ck_assert_ptr_nonnull(strstr(out, "(and 1 more like it since the last)"));
	/* The old deadline is too early: the timer is set again, and
	 * nothing is told yet. */
	old_timer = r.timer;
	captured(old_deadline);
	ck_assert_int_eq(lines(out), 0);
	ck_assert_uint_ne(r.timer, 0);
	captured(wait_timer);
	ck_assert_int_eq(lines(out), 1);
	ck_assert_ptr_nonnull(strstr(out, "99 more like \"connection 0"));
}
END_TEST

Suite *suite_ratelog(void)
{
	Suite *s = suite_create("ratelog");
	TCase *tc = tcase_create("ratelog");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_no_loop);
	tcase_add_test(tc, test_burst_end_told);
	tcase_add_test(tc, test_timer_follows_line);
	suite_add_tcase(s, tc);
	return s;
}
