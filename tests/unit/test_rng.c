/* Unit tests of rng: installed under libsodium, a fork's child and parent
 * draw different bytes, every request size is served, the byte values
 * are even, and kernel bytes come in as rng.h says. */
#include <check.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rng.h"

static void setup(void)
{
	ck_assert_int_eq(rng_install(), 0);
	ck_assert_int_ge(sodium_init(), 0);
}

START_TEST(test_installed)
{
	setup();
	ck_assert_str_eq(randombytes_implementation_name(), "mixproxy-fke-chacha20");
}
END_TEST

/* Without the fork handler the child would go on with a copy of the
 * parent's key and buffer, and both would draw the same bytes. */
START_TEST(test_fork_differs)
{
	uint8_t a[32], b[32];
	int fd[2];
	setup();
	randombytes_buf(a, 8); /* the state is seeded and holds a buffer */
	ck_assert_int_eq(pipe(fd), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		randombytes_buf(b, sizeof(b));
		_exit(write(fd[1], b, sizeof(b)) == (ssize_t)sizeof(b) ? 0 : 1);
	}
	randombytes_buf(a, sizeof(a));
	ck_assert_int_eq(read(fd[0], b, sizeof(b)), (ssize_t)sizeof(b));
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ck_assert(memcmp(a, b, sizeof(a)) != 0);
	close(fd[0]);
	close(fd[1]);
}
END_TEST

START_TEST(test_sizes)
{
	static size_t sizes[] = { 1, 4, 31, 32, 511, 512, 513, 2000, 100000 };
	setup();
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];
		uint8_t *x = malloc(n + 1), *y = malloc(n + 1);
		ck_assert_ptr_nonnull(x);
		ck_assert_ptr_nonnull(y);
		x[n] = y[n] = 0xa5; /* nothing written past the request */
		randombytes_buf(x, n);
		randombytes_buf(y, n);
		ck_assert_uint_eq(x[n], 0xa5);
		ck_assert_uint_eq(y[n], 0xa5);
		if (n >= 4)
			ck_assert(memcmp(x, y, n) != 0);
		free(x);
		free(y);
	}
	randombytes_buf(sizes, 0); /* a 0-byte request is served too */
}
END_TEST

/* 1 MiB in requests of odd sizes: every byte value within 6 sigma of its
 * mean, and randombytes_uniform's values as even. */
START_TEST(test_distribution)
{
	enum { TOTAL = 1 << 20 };
	static uint8_t b[TOTAL];
	unsigned count[256] = { 0 }, thirds[3] = { 0 };
	setup();
	for (size_t off = 0, k = 1; off < TOTAL; off += k, k = k % 700 + 37)
		randombytes_buf(b + off, off + k <= TOTAL ? k : TOTAL - off);
	for (size_t i = 0; i < TOTAL; i++)
		count[b[i]]++;
	for (int v = 0; v < 256; v++) {
		ck_assert_uint_gt(count[v], 4096 - 384);
		ck_assert_uint_lt(count[v], 4096 + 384);
	}
	for (int i = 0; i < 30000; i++)
		thirds[randombytes_uniform(3)]++;
	for (int i = 0; i < 3; i++) {
		ck_assert_uint_gt(thirds[i], 10000 - 500);
		ck_assert_uint_lt(thirds[i], 10000 + 500);
	}
}
END_TEST

/* A stream drawn from its due times keeps its rate however late its
 * timer runs (up to a second behind), and starts afresh after a stall. */
START_TEST(test_poisson_catches_up)
{
	uint64_t at = 1000000000, now = at;
	int due_now = 0;
	/* 10,000 events of mean 1 ms, each timer 2 ms late: the due times
	 * still advance 1 ms an event on average. */
	for (int i = 0; i < 10000; i++) {
		uint64_t wait = rng_poisson_next(&at, now, 1000.0);
		due_now += wait == 0;
		now += wait + 2000;
		if (at + 1000000 < now)
			now = at + 999999; /* keep within the second */
	}
	double mean = (double)(at - 1000000000) / 10000;
	ck_assert_msg(mean > 950 && mean < 1050, "mean gap %.0f us", mean);
	ck_assert_int_gt(due_now, 0); /* late: some were due already */
	/* Two seconds behind: it starts from now. */
	at = 1000;
	uint64_t wait = rng_poisson_next(&at, 3000000, 1000.0);
	ck_assert_uint_ge(at, 3000000);
	ck_assert_uint_eq(wait, at - 3000000);
}
END_TEST

START_TEST(test_reseeds)
{
	uint8_t x[16];
	setup();
	randombytes_buf(x, sizeof(x));
	uint64_t r0 = rng_reseeds();
	randombytes_stir();
	ck_assert_uint_eq(rng_reseeds(), r0 + 1);
	/* RNG_RESEED_REFILLS buffers of 512 bytes, in small draws: one more. */
	for (size_t n = 0; n < (size_t)RNG_RESEED_REFILLS * 512 / sizeof(x) + 1; n++)
		randombytes_buf(x, sizeof(x));
	ck_assert_uint_eq(rng_reseeds(), r0 + 2);
}
END_TEST

Suite *suite_rng(void)
{
	Suite *s = suite_create("rng");
	TCase *tc = tcase_create("rng");
	tcase_add_test(tc, test_installed);
	tcase_add_test(tc, test_fork_differs);
	tcase_add_test(tc, test_sizes);
	tcase_add_test(tc, test_distribution);
	tcase_add_test(tc, test_reseeds);
	tcase_add_test(tc, test_poisson_catches_up);
	suite_add_tcase(s, tc);
	return s;
}
