/* Unit tests of log's ratelog: a burst a stranger causes is one line a
 * second, and the count of what was left out is told, also after the
 * burst ends (ratelog_flush). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* Run fn with stderr into a file; its text into out. */
static void captured(void (*fn)(struct ratelog *), struct ratelog *r, char *out, size_t n)
{
	FILE *f = tmpfile();
	ck_assert_ptr_nonnull(f);
	fflush(stderr);
	int saved = dup(2);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_eq(dup2(fileno(f), 2), 2);
	fn(r);
	fflush(stderr);
	ck_assert_int_eq(dup2(saved, 2), 2);
	close(saved);
	rewind(f);
	size_t got = fread(out, 1, n - 1, f);
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

static void burst(struct ratelog *r)
{
	for (int i = 0; i < 100; i++)
		ratelog_warn(r, "connection %d from a stranger refused, and a long tail to this line", i);
	ratelog_flush(r); /* within the second: nothing yet */
}

static void later(struct ratelog *r)
{
	r->last_us -= 2000000; /* a second and more since the line */
	ratelog_flush(r);
	ratelog_flush(r);      /* told once */
}

START_TEST(test_burst_counted)
{
	struct ratelog r;
	char out[4096];
	memset(&r, 0, sizeof(r));
	log_init("test", 1, 0);
	captured(burst, &r, out, sizeof(out));
	ck_assert_int_eq(lines(out), 1);
	ck_assert_ptr_nonnull(strstr(out, "connection 0 from a stranger refused"));
	captured(later, &r, out, sizeof(out));
	ck_assert_int_eq(lines(out), 1);
	ck_assert_ptr_nonnull(strstr(out, "99 more like \"connection 0 from a stranger refused"));
	ck_assert_ptr_nonnull(strstr(out, "...\" since the last"));
	ck_assert_uint_eq(r.skipped, 0);
	/* The flush was a line: a burst within its second waits its turn. */
	captured(burst, &r, out, sizeof(out));
	ck_assert_int_eq(lines(out), 0);
	ck_assert_uint_eq(r.skipped, 100);
}
END_TEST

Suite *suite_log(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("ratelog");
	tcase_add_test(tc, test_burst_counted);
	suite_add_tcase(s, tc);
	return s;
}
