/* Unit tests of epoch: the schedule, and a node's ring of epoch keys on
 * the disk: made ahead, the same after a restart, wiped and deleted once
 * their grace is over (forward secrecy), what a crash left cleaned up. */
#include <check.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "epoch.h"
#include "testtopo.h"

static char dir[64];
static struct keypair node;
static struct epoch_sched S;
#define T0 ((uint64_t)1000 * 60 + 7) /* 7 s into epoch 1000 of 60 s */

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test-epoch.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	keypair_generate(&node);
	ck_assert_int_eq(epoch_sched_init(&S, 60, 20), 0);
}

static void teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static int exists(uint32_t e, const char *suffix)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/n1.epoch-%u.key%s", dir, e, suffix);
	return access(path, F_OK) == 0;
}

static struct epoch_ring *open_at(uint64_t t)
{
	char err[256] = "";
	struct epoch_ring *r = epoch_ring_open(dir, "n1", &node, &S, t, err, sizeof(err));
	ck_assert_msg(r != NULL, "epoch_ring_open: %s", err);
	return r;
}

START_TEST(test_schedule)
{
	struct epoch_sched s;
	uint32_t first, last;
	ck_assert_int_eq(epoch_sched_init(&s, 1, 1), -1);
	ck_assert_int_eq(epoch_sched_init(&s, 60, 0), -1);
	ck_assert_int_eq(epoch_sched_init(&s, 60, 61), -1);
	ck_assert_int_eq(epoch_sched_init(&s, 604801, 1), -1);
	ck_assert_int_eq(epoch_sched_init(&s, 3600, 1800), 0);
	ck_assert_uint_eq(epoch_at(&s, 7199), 1);
	ck_assert_uint_eq(epoch_at(&s, 7200), 2);
	ck_assert_uint_eq(epoch_start(&s, 2), 7200);
	/* In the previous epoch's grace: three keys; after it: two. */
	epoch_held(&s, 7200 + 1799, &first, &last);
	ck_assert_uint_eq(first, 1);
	ck_assert_uint_eq(last, 3);
	epoch_held(&s, 7200 + 1800, &first, &last);
	ck_assert_uint_eq(first, 2);
	ck_assert_uint_eq(last, 3);
	epoch_held(&s, 5, &first, &last);
	ck_assert_uint_eq(first, 0);
	ck_assert_uint_eq(last, 1);
}
END_TEST

START_TEST(test_ring_keys_and_restart)
{
	struct topology *t = testtopo_new(1, 0, &node);
	struct epoch_ring *r = open_at(T0);
	size_t n;
	const struct epoch_key *k = epoch_ring_keys(r, &n);
	/* This epoch and the next, never the one before (nobody had it). */
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(k[0].epoch, 1000);
	ck_assert_uint_eq(k[1].epoch, 1001);
	ck_assert(!exists(999, "") && exists(1000, "") && exists(1001, ""));
	struct stat st;
	char path[256];
	snprintf(path, sizeof(path), "%s/n1.epoch-1000.key", dir);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	/* Each comes announced, and the announcement checks out. */
	for (size_t i = 0; i < n; i++) {
		ck_assert_int_eq(ann_check(&k[i].ann, t, 1000), ANN_OK);
		ck_assert_mem_eq(k[i].ann.epoch_pk, k[i].kp.pk, 32);
		ck_assert_uint_eq(k[i].ann.epoch, k[i].epoch);
	}
	uint8_t pk1000[32], pk1001[32];
	memcpy(pk1000, epoch_ring_get(r, 1000)->kp.pk, 32);
	memcpy(pk1001, epoch_ring_get(r, 1001)->kp.pk, 32);
	epoch_ring_free(r);
	/* A restart holds the keys it announced. */
	r = open_at(T0 + 30);
	ck_assert_mem_eq(epoch_ring_get(r, 1000)->kp.pk, pk1000, 32);
	ck_assert_mem_eq(epoch_ring_get(r, 1001)->kp.pk, pk1001, 32);
	char err[256];
	ck_assert_int_eq(epoch_ring_tick(r, T0 + 31, err, sizeof(err)), 0);
	epoch_ring_free(r);
	topo_free(t);
}
END_TEST

/* Once an epoch's grace is over its key is gone from memory and disk:
 * whoever takes the node later cannot open what passed under it. */
START_TEST(test_forward_secrecy)
{
	char err[256];
	struct epoch_ring *r = open_at(T0);
	uint8_t sk1000[32];
	memcpy(sk1000, epoch_ring_get(r, 1000)->kp.sk, 32);
	/* Epoch 1001 begins: 1002 is made; 1000 stays for its grace. */
	ck_assert_int_eq(epoch_ring_tick(r, 1001 * 60, err, sizeof(err)), 1);
	ck_assert_ptr_nonnull(epoch_ring_get(r, 1000));
	ck_assert(exists(1000, "") && exists(1002, ""));
	ck_assert_int_eq(epoch_ring_tick(r, 1001 * 60 + 19, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(epoch_ring_get(r, 1000));
	/* Grace over. */
	ck_assert_int_eq(epoch_ring_tick(r, 1001 * 60 + 20, err, sizeof(err)), 0);
	ck_assert_ptr_null(epoch_ring_get(r, 1000));
	ck_assert(!exists(1000, ""));
	size_t n;
	const struct epoch_key *k = epoch_ring_keys(r, &n);
	ck_assert_uint_eq(n, 2);
	/* Nowhere in the ring's slots, used or not. */
	const uint8_t *mem = (const uint8_t *)k;
	for (size_t i = 0; i + 32 <= EPOCH_HELD_MAX * sizeof(*k); i++)
		ck_assert_msg(memcmp(mem + i, sk1000, 32), "old key still at byte %zu", i);
	epoch_ring_free(r);
	/* A node that was down for days deletes its old keys at start. */
	r = open_at(2000 * 60 + 30);
	ck_assert(!exists(1001, "") && !exists(1002, ""));
	ck_assert(exists(2000, "") && exists(2001, ""));
	epoch_ring_free(r);
}
END_TEST

START_TEST(test_crash_leftovers)
{
	char path[256], other[256];
	/* A temporary file a crash left, a key file cut short, a file of
	 * another node, a file of another kind. */
	snprintf(path, sizeof(path), "%s/n1.epoch-1001.key.new", dir);
	int fd = open(path, O_WRONLY | O_CREAT, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	snprintf(path, sizeof(path), "%s/n1.epoch-1000.key", dir);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "3x", 2), 2);
	close(fd);
	snprintf(other, sizeof(other), "%s/n2.epoch-1.key", dir);
	fd = open(other, O_WRONLY | O_CREAT, 0600);
	close(fd);
	snprintf(other, sizeof(other), "%s/n1.key", dir);
	fd = open(other, O_WRONLY | O_CREAT, 0600);
	close(fd);
	struct epoch_ring *r = open_at(T0);
	ck_assert(!exists(1001, ".new"));
	ck_assert(exists(1000, "") && exists(1001, ""));
	struct keypair kp;
	char err[256];
	ck_assert_int_eq(keyfile_read(path, &kp, err, sizeof(err)), 0);
	ck_assert_mem_eq(kp.pk, epoch_ring_get(r, 1000)->kp.pk, 32);
	snprintf(other, sizeof(other), "%s/n2.epoch-1.key", dir);
	ck_assert_int_eq(access(other, F_OK), 0);
	snprintf(other, sizeof(other), "%s/n1.key", dir);
	ck_assert_int_eq(access(other, F_OK), 0);
	epoch_ring_free(r);
	/* No directory: an error naming it. */
	struct epoch_ring *bad = epoch_ring_open("/nonexistent/dir", "n1", &node, &S, T0, err,
	                                         sizeof(err));
	ck_assert_ptr_null(bad);
	ck_assert_msg(strstr(err, "/nonexistent/dir"), "%s", err);
}
END_TEST

Suite *suite_epoch(void)
{
	Suite *s = suite_create("epoch");
	TCase *tc = tcase_create("epoch");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_schedule);
	tcase_add_test(tc, test_ring_keys_and_restart);
	tcase_add_test(tc, test_forward_secrecy);
	tcase_add_test(tc, test_crash_leftovers);
	suite_add_tcase(s, tc);
	return s;
}
