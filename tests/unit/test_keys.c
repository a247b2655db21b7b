/* Unit tests for keys: key files are created 0600 and never overwritten or
 * followed through symlinks, refused when others may read them, and parsed
 * strictly (one Base58 line); key directories are refused when others may
 * get in or they are not writable; public key text round trips. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keys.h"
#include "util.h"

/* A fresh directory per test inside one per test case: the top one is
 * made and removed (with all it holds) by an unchecked fixture, in the
 * parent process, so a failed test leaves nothing behind either. */
static char top[64], dir[96];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static void top_setup(void)
{
	snprintf(top, sizeof(top), "/tmp/mixproxy-keys-XXXXXX");
	if (!mkdtemp(top))
		top[0] = 0;
}

static void top_teardown(void)
{
	if (top[0])
		nftw(top, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void sodium_setup(void)
{
	ck_assert_int_ge(sodium_init(), 0);
}

static void dir_setup(void)
{
	sodium_setup();
	ck_assert_msg(top[0] != 0, "mkdtemp under /tmp failed");
	snprintf(dir, sizeof(dir), "%s/t-XXXXXX", top);
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static const char *path_in(const char *name, char *buf, size_t n)
{
	snprintf(buf, n, "%s/%s", dir, name);
	return buf;
}

static size_t file_read(const char *path, char *buf, size_t n)
{
	int fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ssize_t r = read(fd, buf, n - 1);
	ck_assert_int_ge(r, 0);
	close(fd);
	buf[r] = 0;
	return (size_t)r;
}

static void file_put(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	ck_assert_int_eq(chmod(path, mode), 0);
}

START_TEST(write_mode_0600_despite_umask)
{
	char p[128], err[256];
	struct keypair kp;
	struct stat st;

	mode_t old = umask(0);
	keypair_generate(&kp);
	int rc = keyfile_write(path_in("key", p, sizeof(p)), &kp, err, sizeof(err));
	umask(old);
	ck_assert_msg(rc == 0, "keyfile_write: %s", err);
	ck_assert_int_eq(lstat(p, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, 0600);

	/* One line: the secret in Base58 and a newline. */
	char text[256], want[B58_KEY_CHARS];
	size_t n = file_read(p, text, sizeof(text));
	ck_assert_int_gt(b58_encode(kp.sk, 32, want, sizeof(want)), 0);
	ck_assert_uint_eq(n, strlen(want) + 1);
	ck_assert_int_eq(text[n - 1], '\n');
	text[n - 1] = 0;
	ck_assert_str_eq(text, want);
	keypair_wipe(&kp);
}
END_TEST

START_TEST(write_refuses_existing_file)
{
	char p[128], err[256], before[256], after[256];
	struct keypair kp1, kp2;

	keypair_generate(&kp1);
	keypair_generate(&kp2);
	ck_assert_int_eq(keyfile_write(path_in("key", p, sizeof(p)), &kp1, err, sizeof(err)), 0);
	file_read(p, before, sizeof(before));
	err[0] = 0;
	ck_assert_int_eq(keyfile_write(p, &kp2, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, p) != NULL, "err does not name the file: %s", err);
	ck_assert_msg(strstr(err, strerror(EEXIST)) != NULL, "err: %s", err);
	ck_assert_msg(strstr(err, "overwrite") != NULL, "err: %s", err);
	file_read(p, after, sizeof(after));
	ck_assert_str_eq(after, before);

	/* Even an empty file that is not a key. */
	ck_assert_int_eq(unlink(p), 0);
	file_put(p, "", 0600);
	ck_assert_int_eq(keyfile_write(p, &kp2, err, sizeof(err)), -1);
	file_read(p, after, sizeof(after));
	ck_assert_str_eq(after, "");
}
END_TEST

START_TEST(write_refuses_symlink)
{
	char link[128], target[128], err[256], text[256];
	struct keypair kp;
	struct stat st;

	keypair_generate(&kp);
	path_in("link", link, sizeof(link));
	path_in("target", target, sizeof(target));

	/* Dangling: the target must not be created through the link. */
	ck_assert_int_eq(symlink(target, link), 0);
	ck_assert_int_eq(keyfile_write(link, &kp, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, link) != NULL, "err: %s", err);
	ck_assert_int_eq(lstat(target, &st), -1);
	ck_assert_int_eq(errno, ENOENT);

	/* Pointing at an existing file: left alone. */
	file_put(target, "precious\n", 0644);
	ck_assert_int_eq(keyfile_write(link, &kp, err, sizeof(err)), -1);
	file_read(target, text, sizeof(text));
	ck_assert_str_eq(text, "precious\n");
	ck_assert_int_eq(lstat(link, &st), 0);
	ck_assert(S_ISLNK(st.st_mode));
}
END_TEST

START_TEST(write_missing_directory)
{
	char p[128], err[256];
	struct keypair kp;
	keypair_generate(&kp);
	snprintf(p, sizeof(p), "%s/nodir/key", dir);
	ck_assert_int_eq(keyfile_write(p, &kp, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, p) != NULL, "err: %s", err);
}
END_TEST

START_TEST(read_back)
{
	char p[128], err[256];
	struct keypair kp, got;

	keypair_generate(&kp);
	ck_assert_int_eq(keyfile_write(path_in("key", p, sizeof(p)), &kp, err, sizeof(err)), 0);
	memset(&got, 0, sizeof(got));
	ck_assert_msg(keyfile_read(p, &got, err, sizeof(err)) == 0, "keyfile_read: %s", err);
	ck_assert_mem_eq(got.sk, kp.sk, 32);
	ck_assert_mem_eq(got.pk, kp.pk, 32);
	keypair_wipe(&got);
	for (size_t i = 0; i < sizeof(got); i++)
		ck_assert_uint_eq(((uint8_t *)&got)[i], 0);
}
END_TEST

static const mode_t bad_modes[] = { 0640, 0604, 0644, 0660, 0606, 0666, 0610, 0601 };

START_TEST(read_refuses_loose_modes)
{
	char p[128], err[256], want[16];
	struct keypair kp, got;

	keypair_generate(&kp);
	ck_assert_int_eq(keyfile_write(path_in("key", p, sizeof(p)), &kp, err, sizeof(err)), 0);
	ck_assert_int_eq(chmod(p, bad_modes[_i]), 0);
	err[0] = 0;
	ck_assert_int_eq(keyfile_read(p, &got, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, p) != NULL, "err does not name the file: %s", err);
	snprintf(want, sizeof(want), "%03o", (unsigned)bad_modes[_i]);
	ck_assert_msg(strstr(err, want) != NULL, "err does not name mode %s: %s", want, err);
	ck_assert_msg(strchr(err, '\n') == NULL, "err is not one line: %s", err);

	/* 0400 is fine too: only group and other bits matter. */
	ck_assert_int_eq(chmod(p, 0400), 0);
	ck_assert_int_eq(keyfile_read(p, &got, err, sizeof(err)), 0);
	ck_assert_mem_eq(got.pk, kp.pk, 32);
}
END_TEST

/* A key directory: only its owner may get in, and it must be writable. */
START_TEST(keydir_accepts_0700)
{
	char err[256] = "";
	ck_assert_int_eq(chmod(dir, 0700), 0);
	ck_assert_msg(keydir_check(dir, err, sizeof(err)) == 0, "keydir_check: %s", err);
}
END_TEST

static const mode_t bad_dir_modes[] = { 0750, 0705, 0755, 0770, 0707, 0777, 0710, 0701 };

START_TEST(keydir_refuses_loose_modes)
{
	char err[256] = "", want[16];
	ck_assert_int_eq(chmod(dir, bad_dir_modes[_i]), 0);
	ck_assert_int_eq(keydir_check(dir, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, dir) != NULL, "err does not name the directory: %s", err);
	snprintf(want, sizeof(want), "%03o", (unsigned)bad_dir_modes[_i]);
	ck_assert_msg(strstr(err, want) != NULL, "err does not name mode %s: %s", want, err);
	ck_assert_msg(strstr(err, "chmod 700") != NULL, "err does not say what to do: %s", err);
	ck_assert_msg(strchr(err, '\n') == NULL, "err is not one line: %s", err);
	chmod(dir, 0700);
}
END_TEST

START_TEST(keydir_refuses_unwritable)
{
	char err[256] = "";
	/* Refused by its mode even for root, whom the kernel lets write. */
	ck_assert_int_eq(chmod(dir, 0500), 0);
	ck_assert_int_eq(keydir_check(dir, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, dir) != NULL, "err does not name the directory: %s", err);
	ck_assert_msg(strstr(err, "not writable") != NULL, "err: %s", err);
	ck_assert_msg(strstr(err, "500") != NULL, "err does not name the mode: %s", err);
	chmod(dir, 0700);
}
END_TEST

START_TEST(keydir_refuses_missing_and_files)
{
	char p[128], err[256];
	path_in("none", p, sizeof(p));
	ck_assert_int_eq(keydir_check(p, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, p) != NULL && strstr(err, strerror(ENOENT)) != NULL, "err: %s", err);
	file_put(p, "", 0600);
	ck_assert_int_eq(keydir_check(p, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, p) != NULL && strstr(err, "not a directory") != NULL, "err: %s", err);
}
END_TEST

START_TEST(read_errors)
{
	char p[128], err[256];
	struct keypair got;

	/* Missing file: named with the reason. */
	path_in("key", p, sizeof(p));
	ck_assert_int_eq(keyfile_read(p, &got, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, p) != NULL, "err: %s", err);
	ck_assert_msg(strstr(err, strerror(ENOENT)) != NULL, "err: %s", err);

	/* A directory. */
	path_in("sub", p, sizeof(p));
	ck_assert_int_eq(mkdir(p, 0700), 0);
	ck_assert_int_eq(keyfile_read(p, &got, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, p) != NULL, "err: %s", err);

	/* A 0600 file whose content is not a key: named, with the reason. */
	path_in("key", p, sizeof(p));
	file_put(p, "not a key\n", 0600);
	ck_assert_int_eq(keyfile_read(p, &got, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, p) != NULL, "err: %s", err);
	ck_assert_int_eq(unlink(p), 0);

	/* A file far too long. */
	char big[1024];
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	file_put(p, big, 0600);
	ck_assert_int_eq(keyfile_read(p, &got, err, sizeof(err)), -1);
}
END_TEST

/* keyfile_parse on text; returns its result and fills got. */
static int parse(const char *text, size_t len, struct keypair *got, char *err, size_t errsz)
{
	err[0] = 0;
	return keyfile_parse(text, len, got, err, errsz);
}

START_TEST(parse_accepts)
{
	struct keypair kp, got;
	char text[B58_KEY_CHARS + 1], err[256];
	uint8_t pk[32];

	keypair_generate(&kp);
	int n = b58_encode(kp.sk, 32, text, sizeof(text) - 1);
	ck_assert_int_gt(n, 0);

	/* Without the final newline. */
	memset(&got, 0, sizeof(got));
	ck_assert_int_eq(parse(text, (size_t)n, &got, err, sizeof(err)), 0);
	ck_assert_mem_eq(got.sk, kp.sk, 32);
	ck_assert_mem_eq(got.pk, kp.pk, 32);
	crypto_scalarmult_base(pk, kp.sk);
	ck_assert_mem_eq(got.pk, pk, 32);

	/* With it. */
	text[n] = '\n';
	memset(&got, 0, sizeof(got));
	ck_assert_int_eq(parse(text, (size_t)n + 1, &got, err, sizeof(err)), 0);
	ck_assert_mem_eq(got.sk, kp.sk, 32);
	ck_assert_mem_eq(got.pk, kp.pk, 32);

	/* len is honoured: bytes past it are not read. */
	text[n] = 'X';
	ck_assert_int_eq(parse(text, (size_t)n, &got, err, sizeof(err)), 0);
	ck_assert_mem_eq(got.sk, kp.sk, 32);
}
END_TEST

START_TEST(parse_rejects)
{
	struct keypair kp, got;
	char key[B58_KEY_CHARS], err[256], t[512];
	uint8_t b[33];

	keypair_generate(&kp);
	ck_assert_int_gt(b58_encode(kp.sk, 32, key, sizeof(key)), 0);

	const struct {
		const char *what;
		char text[256];
	} cases[] = {
		{ "empty", "" },
		{ "newline only", "\n" },
		{ "two newlines", "\n\n" },
		{ "garbage", "hello, world\n" },
		{ "base64", "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=\n" },
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++)
		ck_assert_msg(parse(cases[i].text, strlen(cases[i].text), &got, err,
		                    sizeof(err)) == -1, "accepted %s", cases[i].what);

	/* The key with text around it: pre KEY mid [KEY] post. */
	const struct {
		const char *pre, *mid;
		int again;
		const char *post;
	} around[] = {
		{ "", "\n", 1, "\n" },  /* two lines */
		{ "", "\n", 1, "" },    /* two lines, the last unterminated */
		{ "", "\n\n", 0, "" },  /* a blank second line */
		{ "\n", "\n", 0, "" },  /* a blank first line */
		{ "", " \n", 0, "" },   /* trailing space */
		{ "", "  ", 0, "" },    /* trailing spaces, no newline */
		{ "", "\t\n", 0, "" },  /* trailing tab */
		{ " ", "\n", 0, "" },   /* leading space */
		{ "", "#\n", 0, "" },   /* a comment character */
		{ "", "\r\n", 0, "" },  /* CRLF: the CR is not Base58 */
	};
	for (size_t i = 0; i < ARRAY_LEN(around); i++) {
		snprintf(t, sizeof(t), "%s%s%s%s%s", around[i].pre, key, around[i].mid,
		         around[i].again ? key : "", around[i].post);
		err[0] = 0;
		ck_assert_msg(parse(t, strlen(t), &got, err, sizeof(err)) == -1,
		              "accepted case %zu", i);
		ck_assert_msg(err[0] != 0, "no reason for case %zu", i);
	}

	/* A NUL inside the given length. */
	size_t kl = strlen(key);
	memcpy(t, key, kl);
	t[kl / 2] = 0;
	ck_assert_int_eq(parse(t, kl, &got, err, sizeof(err)), -1);
	memcpy(t, key, kl);
	t[kl] = 0;
	t[kl + 1] = '\n';
	ck_assert_int_eq(parse(t, kl + 2, &got, err, sizeof(err)), -1);

	/* Valid Base58, wrong length: 31 and 33 bytes. */
	memset(b, 0x31, sizeof(b));
	ck_assert_int_gt(b58_encode(b, 31, t, sizeof(t)), 0);
	ck_assert_int_eq(parse(t, strlen(t), &got, err, sizeof(err)), -1);
	ck_assert_int_gt(b58_encode(b, 33, t, sizeof(t)), 0);
	strcat(t, "\n");
	ck_assert_int_eq(parse(t, strlen(t), &got, err, sizeof(err)), -1);

	/* Long input. */
	memset(t, '2', sizeof(t) - 1);
	t[sizeof(t) - 1] = 0;
	ck_assert_int_eq(parse(t, strlen(t), &got, err, sizeof(err)), -1);
	t[200] = '\n';
	ck_assert_int_eq(parse(t, 201, &got, err, sizeof(err)), -1);
}
END_TEST

START_TEST(parse_small_err_buffer)
{
	struct keypair got;
	char err[8];
	memset(err, 'x', sizeof(err));
	ck_assert_int_eq(keyfile_parse("nope", 4, &got, err, sizeof(err)), -1);
	ck_assert_uint_lt(strlen(err), sizeof(err));
}
END_TEST

START_TEST(key_str_round_trip)
{
	for (int i = 0; i < 100; i++) {
		struct keypair kp;
		uint8_t back[32];
		char text[B58_KEY_CHARS];
		keypair_generate(&kp);
		const char *s = key_to_str(kp.pk, text, sizeof(text));
		ck_assert_ptr_eq(s, text);
		ck_assert_uint_ge(strlen(text), 32);
		ck_assert_uint_le(strlen(text), 44);
		ck_assert_int_eq(key_from_str(text, back), 0);
		ck_assert_mem_eq(back, kp.pk, 32);
	}
}
END_TEST

START_TEST(key_str_edges)
{
	uint8_t key[32], back[32];
	char text[B58_KEY_CHARS];

	/* The all-zero key is 32 '1's. */
	memset(key, 0, sizeof(key));
	ck_assert_str_eq(key_to_str(key, text, sizeof(text)), "11111111111111111111111111111111");
	ck_assert_int_eq(key_from_str(text, back), 0);
	ck_assert_mem_eq(back, key, 32);

	/* Too small a buffer gives an empty string, not a truncated key. */
	memset(key, 0xff, sizeof(key));
	char small[10];
	ck_assert_str_eq(key_to_str(key, small, sizeof(small)), "");

	ck_assert_int_eq(key_from_str("", back), -1);
	ck_assert_int_eq(key_from_str("112", back), -1);
	ck_assert_int_eq(key_from_str("0OIl", back), -1);
	key_to_str(key, text, sizeof(text));
	text[3] = '0';
	ck_assert_int_eq(key_from_str(text, back), -1);
}
END_TEST

START_TEST(from_secret_matches_generate)
{
	struct keypair kp, kp2;
	keypair_generate(&kp);
	keypair_from_secret(&kp2, kp.sk);
	ck_assert_mem_eq(kp2.pk, kp.pk, 32);
	ck_assert_mem_eq(kp2.sk, kp.sk, 32);
	/* In place, as keyfile_parse may use it. */
	keypair_from_secret(&kp2, kp2.sk);
	ck_assert_mem_eq(kp2.pk, kp.pk, 32);
}
END_TEST

/* Declared for -Wmissing-prototypes; the Makefile collects the definition. */
START_TEST(test_addr)
{
	struct mix_addr a, b;
	char buf[MIX_ADDR_CHARS];
	const char *why;
	ck_assert_int_ge(sodium_init(), 0);
	crypto_box_keypair(a.pk, b.pk);
	pkt_id_from_str(a.gw, "gw-1");
	mix_addr_format(&a, buf, sizeof(buf));
	ck_assert_ptr_nonnull(strstr(buf, "@gw-1"));
	ck_assert_int_eq(mix_addr_parse(buf, &b, &why), 0);
	ck_assert_mem_eq(&a, &b, sizeof(a));

	const char *bad[] = { "", "nokey", "@gw1", "abc@gw1", "0OIl@gw1", NULL };
	for (int i = 0; bad[i]; i++)
		ck_assert_int_eq(mix_addr_parse(bad[i], &b, &why), -1);
	char s[MIX_ADDR_CHARS + 64];
	strcpy(s, buf);
	strcpy(strchr(s, '@'), "@");
	ck_assert_int_eq(mix_addr_parse(s, &b, &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "gateway"));
	strcpy(strchr(s, '@'), "@bad id");
	ck_assert_int_eq(mix_addr_parse(s, &b, &why), -1);
	ck_assert_int_eq(mix_addr_parse(NULL, &b, &why), -1);
}
END_TEST

START_TEST(test_identity)
{
	char base[] = "/tmp/keys-id.XXXXXX", sub[64], path[128], err[256];
	struct keypair a, b;
	ck_assert_ptr_nonnull(mkdtemp(base));
	snprintf(sub, sizeof(sub), "%s/client", base);
	ck_assert_int_eq(keydir_identity(sub, &a, err, sizeof(err)), 0);
	ck_assert_int_eq(keydir_identity(sub, &b, err, sizeof(err)), 0);
	ck_assert_mem_eq(a.pk, b.pk, 32); /* the same address after a restart */
	snprintf(path, sizeof(path), "%s/identity.key", sub);
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(stat(sub, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0700);
	chmod(path, 0644);
	ck_assert_int_eq(keydir_identity(sub, &b, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "group or others"));
	ck_assert_int_eq(keydir_identity(path, &b, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "not a directory"));
	/* The directory too: one that others may list is refused, naming it. */
	chmod(path, 0600);
	chmod(sub, 0755);
	ck_assert_int_eq(keydir_identity(sub, &b, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, sub));
	ck_assert_ptr_nonnull(strstr(err, "chmod 700"));
	chmod(sub, 0700);
	ck_assert_int_eq(keydir_identity(sub, &b, err, sizeof(err)), 0);
	ck_assert_mem_eq(a.pk, b.pk, 32);
	unlink(path);
	rmdir(sub);
	rmdir(base);
}
END_TEST

Suite *suite_keys(void);

Suite *suite_keys(void)
{
	Suite *s = suite_create("keys");
	TCase *tc = tcase_create("files");
	tcase_add_unchecked_fixture(tc, top_setup, top_teardown);
	tcase_add_checked_fixture(tc, dir_setup, NULL);
	tcase_add_test(tc, write_mode_0600_despite_umask);
	tcase_add_test(tc, write_refuses_existing_file);
	tcase_add_test(tc, write_refuses_symlink);
	tcase_add_test(tc, write_missing_directory);
	tcase_add_test(tc, read_back);
	tcase_add_loop_test(tc, read_refuses_loose_modes, 0, (int)ARRAY_LEN(bad_modes));
	tcase_add_test(tc, read_errors);
	tcase_add_test(tc, keydir_accepts_0700);
	tcase_add_loop_test(tc, keydir_refuses_loose_modes, 0, (int)ARRAY_LEN(bad_dir_modes));
	tcase_add_test(tc, keydir_refuses_unwritable);
	tcase_add_test(tc, keydir_refuses_missing_and_files);
	suite_add_tcase(s, tc);

	tc = tcase_create("parse");
	tcase_add_checked_fixture(tc, sodium_setup, NULL);
	tcase_add_test(tc, parse_accepts);
	tcase_add_test(tc, parse_rejects);
	tcase_add_test(tc, parse_small_err_buffer);
	tcase_add_test(tc, key_str_round_trip);
	tcase_add_test(tc, key_str_edges);
	tcase_add_test(tc, from_secret_matches_generate);
	tcase_add_test(tc, test_addr);
	tcase_add_test(tc, test_identity);
	suite_add_tcase(s, tc);
	return s;
}
