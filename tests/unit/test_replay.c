/* Unit tests of the replay memory kept in a file: a process that dies
 * loses nothing it took; a machine that dies leaves the memory unknown,
 * and then every packet that could have been taken before is refused; a
 * file cut short, unreadable, of other sizes or for another key is never
 * taken for a memory it is not. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "replay.h"

#define NOW 29000000u /* a minute in 2025 */
#define LOG2 16      /* 8 KiB a generation: 500 tags are well under its load */

static char dir[64], path[128];
static const uint8_t key[32] = { 7 }, other_key[32] = { 8 };
static const uint8_t boot1[16] = { 1 }, boot2[16] = { 2 };

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test-replay.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/node.key.replay", dir);
}

static void teardown(void)
{
	char p[160];
	unlink(path);
	snprintf(p, sizeof(p), "%s.new", path);
	unlink(p);
	rmdir(dir);
}

/* Open path for key in boot at minute now: the found state must be want. */
static struct replay *open_as(const uint8_t *k, const uint8_t *boot, uint32_t now,
                              enum replay_found want)
{
	char err[256] = "";
	enum replay_found found;
	struct replay *r = replay_open(path, k, LOG2, 6, 15, now, boot, &found, err, sizeof(err));
	ck_assert_msg(r != NULL, "replay_open: %s", err);
	ck_assert_msg(found == want, "found '%s', wanted '%s'", replay_found_str(found),
	              replay_found_str(want));
	return r;
}

static void tag_of(uint8_t tag[16], uint32_t i)
{
	memset(tag, 0, 16);
	memcpy(tag, &i, sizeof(i));
}

/* Take tags 0..n-1 stamped ts; all must be new. */
static void take(struct replay *r, uint32_t n, uint32_t ts, uint32_t now)
{
	uint8_t tag[16];
	for (uint32_t i = 0; i < n; i++) {
		tag_of(tag, i);
		ck_assert_int_eq(replay_check(r, tag, ts, now), REPLAY_FRESH);
	}
}

static void all_are(struct replay *r, uint32_t n, uint32_t ts, uint32_t now,
                    enum replay_verdict v)
{
	uint8_t tag[16];
	for (uint32_t i = 0; i < n; i++) {
		tag_of(tag, i);
		ck_assert_int_eq(replay_check(r, tag, ts, now), v);
	}
}

START_TEST(test_new_file)
{
	struct replay *r = open_as(key, boot1, NOW, REPLAY_FOUND_NEW);
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	/* It holds the hash seed: nobody else reads it. */
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	ck_assert_uint_eq(replay_unknown_until(r), 0);
	take(r, 100, NOW, NOW);
	char err[256];
	ck_assert_int_eq(replay_close(r, err, sizeof(err)), 0);
}
END_TEST

START_TEST(test_killed_keeps_everything)
{
	struct replay *r = open_as(key, boot1, NOW, REPLAY_FOUND_NEW);
	take(r, 500, NOW, NOW);
	/* SIGKILL: nothing written back by us, nothing marked. */
	replay_free(r);
	r = open_as(key, boot1, NOW + 1, REPLAY_FOUND_KILLED);
	ck_assert_uint_eq(replay_unknown_until(r), 0);
	all_are(r, 500, NOW, NOW + 1, REPLAY_SEEN);
	uint8_t tag[16];
	tag_of(tag, 1000);
	ck_assert_int_eq(replay_check(r, tag, NOW + 1, NOW + 1), REPLAY_FRESH);
	replay_free(r);
}
END_TEST

START_TEST(test_closed_survives_reboot)
{
	char err[256];
	struct replay *r = open_as(key, boot1, NOW, REPLAY_FOUND_NEW);
	take(r, 500, NOW, NOW);
	ck_assert_int_eq(replay_close(r, err, sizeof(err)), 0);
	r = open_as(key, boot2, NOW + 10, REPLAY_FOUND_CLOSED);
	ck_assert_uint_eq(replay_unknown_until(r), 0);
	all_are(r, 500, NOW, NOW + 10, REPLAY_SEEN);
	ck_assert_int_eq(replay_close(r, err, sizeof(err)), 0);
}
END_TEST

/* The machine went down with the file open: whatever the page cache held
 * may be lost, so every packet that could have come before is refused,
 * and only those made after the restart are taken. */
START_TEST(test_machine_crash_is_unknown)
{
	struct replay *r = open_as(key, boot1, NOW, REPLAY_FOUND_NEW);
	take(r, 100, NOW, NOW);
	replay_free(r);
	r = open_as(key, boot2, NOW + 2, REPLAY_FOUND_LOST);
	ck_assert_uint_eq(replay_unknown_until(r), NOW + 2 + REPLAY_AHEAD_MIN);
	/* Seen, new, from before the crash or ahead of the clock: refused. */
	all_are(r, 100, NOW, NOW + 2, REPLAY_UNKNOWN);
	all_are(r, 100, NOW + 1000, NOW + 2, REPLAY_EXPIRED);
	uint8_t tag[16];
	tag_of(tag, 9999);
	ck_assert_int_eq(replay_check(r, tag, NOW + 2 + REPLAY_AHEAD_MIN, NOW + 2), REPLAY_UNKNOWN);
	/* Made after the bound: taken, and remembered (other tags: these
	 * share the generation of the first ones). */
	uint32_t later = NOW + 3 + REPLAY_AHEAD_MIN;
	for (uint32_t i = 0; i < 100; i++) {
		tag_of(tag, 5000 + i);
		ck_assert_int_eq(replay_check(r, tag, later, later), REPLAY_FRESH);
		ck_assert_int_eq(replay_check(r, tag, later, later), REPLAY_SEEN);
	}
	struct replay_stats st;
	replay_get_stats(r, &st);
	ck_assert_uint_eq(st.unknown, 101);
	/* The bound is in the file: a restart (even a clean one) keeps it. */
	char err[256];
	ck_assert_int_eq(replay_close(r, err, sizeof(err)), 0);
	r = open_as(key, boot2, NOW + 3, REPLAY_FOUND_CLOSED);
	ck_assert_uint_eq(replay_unknown_until(r), NOW + 2 + REPLAY_AHEAD_MIN);
	all_are(r, 100, NOW + 3, NOW + 3, REPLAY_UNKNOWN);
	replay_free(r);
	/* Without a boot id a file left open is never trusted. */
	r = open_as(key, NULL, NOW + 4, REPLAY_FOUND_LOST);
	ck_assert_uint_eq(replay_unknown_until(r), NOW + 4 + REPLAY_AHEAD_MIN);
	replay_free(r);
	r = open_as(key, NULL, NOW + 4, REPLAY_FOUND_LOST);
	replay_free(r);
}
END_TEST

/* A crash in the middle of writing the file: cut short, or a header
 * half written.  Neither is read as a memory; both are unknown. */
START_TEST(test_torn_file_is_unknown)
{
	struct replay *r = open_as(key, boot1, NOW, REPLAY_FOUND_NEW);
	take(r, 10, NOW, NOW);
	replay_free(r);
	ck_assert_int_eq(truncate(path, 4096 + 100), 0);
	r = open_as(key, boot1, NOW, REPLAY_FOUND_RESIZED);
	ck_assert_uint_eq(replay_unknown_until(r), NOW + REPLAY_AHEAD_MIN);
	all_are(r, 10, NOW, NOW, REPLAY_UNKNOWN);
	replay_free(r);

	/* The magic overwritten: not a memory of ours. */
	int fd = open(path, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, "garbage", 7, 0), 7);
	close(fd);
	r = open_as(key, boot1, NOW + 1, REPLAY_FOUND_RESIZED);
	ck_assert_uint_eq(replay_unknown_until(r), NOW + 1 + REPLAY_AHEAD_MIN);
	replay_free(r);

	/* A crash while the file was first made leaves only NAME.new:
	 * nothing was taken before it existed, and it is made again. */
	ck_assert_int_eq(unlink(path), 0);
	char tmp[160];
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	fd = open(tmp, O_WRONLY | O_CREAT, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	r = open_as(key, boot1, NOW, REPLAY_FOUND_NEW);
	ck_assert_int_eq(access(tmp, F_OK), -1);
	replay_free(r);
}
END_TEST

/* A clock set back: the file holds generations still to come.  Not a
 * memory; what it may have taken, up to the end of its latest
 * generation, is refused until the clock has passed it. */
START_TEST(test_clock_set_back)
{
	char err[256];
	uint32_t later = NOW + 600, end = (later / 15 + 1) * 15 - 1;
	struct replay *r = open_as(key, boot1, later, REPLAY_FOUND_NEW);
	take(r, 10, later, later);
	ck_assert_int_eq(replay_close(r, err, sizeof(err)), 0);
	r = open_as(key, boot1, NOW, REPLAY_FOUND_RESIZED);
	ck_assert_uint_eq(replay_unknown_until(r), end + REPLAY_AHEAD_MIN);
	/* Taken before the clock was set back: refused when it comes round. */
	all_are(r, 10, later, later, REPLAY_UNKNOWN);
	uint8_t tag[16];
	tag_of(tag, 77);
	uint32_t after = end + REPLAY_AHEAD_MIN + 1;
	ck_assert_int_eq(replay_check(r, tag, after, after), REPLAY_FRESH);
	replay_free(r);
}
END_TEST

START_TEST(test_other_sizes_and_key)
{
	char err[256];
	enum replay_found found;
	struct replay *r = open_as(key, boot1, NOW, REPLAY_FOUND_NEW);
	take(r, 10, NOW, NOW);
	ck_assert_int_eq(replay_close(r, err, sizeof(err)), 0);
	/* Another key cannot open the packets the old memory saw. */
	r = open_as(other_key, boot1, NOW, REPLAY_FOUND_OTHER_KEY);
	ck_assert_uint_eq(replay_unknown_until(r), 0);
	take(r, 10, NOW, NOW);
	ck_assert_int_eq(replay_close(r, err, sizeof(err)), 0);
	/* Other sizes cannot read the old bits: unknown, and resized. */
	r = replay_open(path, other_key, LOG2 + 1, 6, 15, NOW, boot1, &found, err, sizeof(err));
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(found, REPLAY_FOUND_RESIZED);
	ck_assert_uint_eq(replay_unknown_until(r), NOW + REPLAY_AHEAD_MIN);
	ck_assert_uint_eq(replay_memory_bytes(r), 6 * (1u << (LOG2 + 1)) / 8);
	ck_assert_int_eq(replay_close(r, err, sizeof(err)), 0);
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_size, 4096 + 6 * (1u << (LOG2 + 1)) / 8);
}
END_TEST

START_TEST(test_one_process_at_a_time)
{
	char err[256] = "";
	enum replay_found found;
	struct replay *r = open_as(key, boot1, NOW, REPLAY_FOUND_NEW);
	struct replay *r2 = replay_open(path, key, LOG2, 6, 15, NOW, boot1, &found, err, sizeof(err));
	ck_assert_ptr_null(r2);
	ck_assert_msg(strstr(err, "in use by another process"), "%s", err);
	replay_free(r);
	/* Bad places and sizes are errors, not crashes. */
	r2 = replay_open("/nonexistent/dir/replay", key, LOG2, 6, 15, NOW, boot1, &found, err, sizeof(err));
	ck_assert_ptr_null(r2);
	ck_assert_msg(strstr(err, "/nonexistent/dir/replay"), "%s", err);
	r2 = replay_open(path, key, 9, 6, 15, NOW, boot1, &found, err, sizeof(err));
	ck_assert_ptr_null(r2);
	r2 = replay_open(dir, key, LOG2, 6, 15, NOW, boot1, &found, err, sizeof(err));
	ck_assert_ptr_null(r2);
}
END_TEST

START_TEST(test_clock_ahead)
{
	struct replay *r = replay_new(LOG2, 6, 15);
	uint8_t tag[16] = { 3 };
	ck_assert_int_eq(replay_check(r, tag, NOW + REPLAY_AHEAD_MIN + 1, NOW), REPLAY_EXPIRED);
	ck_assert_int_eq(replay_check(r, tag, NOW + REPLAY_AHEAD_MIN, NOW), REPLAY_FRESH);
	ck_assert_int_eq(replay_check(r, tag, NOW + REPLAY_AHEAD_MIN, NOW), REPLAY_SEEN);
	replay_free(r);
}
END_TEST

START_TEST(test_boot_id)
{
	uint8_t a[16], b[16];
	/* Linux has it; twice the same. */
	ck_assert_int_eq(replay_boot_id(a), 0);
	ck_assert_int_eq(replay_boot_id(b), 0);
	ck_assert_mem_eq(a, b, 16);
}
END_TEST

Suite *suite_replay(void)
{
	Suite *s = suite_create("replay");
	TCase *tc = tcase_create("file");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_new_file);
	tcase_add_test(tc, test_killed_keeps_everything);
	tcase_add_test(tc, test_closed_survives_reboot);
	tcase_add_test(tc, test_machine_crash_is_unknown);
	tcase_add_test(tc, test_torn_file_is_unknown);
	tcase_add_test(tc, test_other_sizes_and_key);
	tcase_add_test(tc, test_clock_set_back);
	tcase_add_test(tc, test_one_process_at_a_time);
	tcase_add_test(tc, test_clock_ahead);
	tcase_add_test(tc, test_boot_id);
	suite_add_tcase(s, tc);
	return s;
}
