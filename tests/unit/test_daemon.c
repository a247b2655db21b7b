/* Unit tests for daemon: the options preamble (-h, a bad option, a bad
 * and a good config file, the command line over the file) and the
 * listening socket (an ephemeral port, a port already taken). */
#include <arpa/inet.h>
#include <check.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conf.h"
#include "daemon.h"
#include "util.h"

struct topts {
	char *config, *name;
	uint64_t count;
	int flag;
};

#define TOPTS(o) { \
	{ "config", 'f', OPT_STR, "FILE", "config file", &(o)->config, 0, 0, 0 }, \
	{ "name", 'n', OPT_STR, "NAME", "a name", &(o)->name, 0, 0, 0 }, \
	{ "count", 0, OPT_U64, "N", "a number", &(o)->count, 1, 100, 0 }, \
	{ "flag", 0, OPT_FLAG, NULL, "a flag", &(o)->flag, 0, 0, 0 }, \
}

/* The preamble writes to the terminal: keep the test's output clean. */
static int quiet_fd[2] = { -1, -1 };

static void quiet(void)
{
	int null = open("/dev/null", O_WRONLY);
	ck_assert_int_ge(null, 0);
	fflush(stdout);
	fflush(stderr);
	quiet_fd[0] = dup(1);
	quiet_fd[1] = dup(2);
	dup2(null, 1);
	dup2(null, 2);
	close(null);
}

static void loud(void)
{
	fflush(stdout);
	fflush(stderr);
	dup2(quiet_fd[0], 1);
	dup2(quiet_fd[1], 2);
	close(quiet_fd[0]);
	close(quiet_fd[1]);
}

static int run_options(struct topts *o, struct opt *opts, size_t nopts, int argc,
                       const char **argv)
{
	quiet();
	int rc = daemon_options("test", opts, nopts, argc, (char **)argv, "test [options]",
	                        &o->config);
	loud();
	return rc;
}

/* A file of `text` under /tmp; its path in path. */
static void write_file(char *path, size_t n, const char *text)
{
	snprintf(path, n, "/tmp/mixproxy-daemon-XXXXXX");
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

START_TEST(test_options_help)
{
	struct topts o = { 0 };
	struct opt opts[] = TOPTS(&o);
	const char *argv[] = { "test", "-h" };
	ck_assert_int_eq(run_options(&o, opts, ARRAY_LEN(opts), 2, argv), 0);
	conf_free(opts, ARRAY_LEN(opts));
}
END_TEST

START_TEST(test_options_bad)
{
	struct topts o = { 0 };
	struct opt opts[] = TOPTS(&o);
	const char *unknown[] = { "test", "--no-such-option" };
	ck_assert_int_eq(run_options(&o, opts, ARRAY_LEN(opts), 2, unknown), EXIT_USAGE);
	const char *range[] = { "test", "--count", "1000" };
	ck_assert_int_eq(run_options(&o, opts, ARRAY_LEN(opts), 3, range), EXIT_USAGE);
	conf_free(opts, ARRAY_LEN(opts));
}
END_TEST

START_TEST(test_options_file)
{
	char path[64];
	struct topts o = { 0 };
	struct opt opts[] = TOPTS(&o);

	/* A key the table does not know: the file is refused. */
	write_file(path, sizeof(path), "name = x\nbogus = 1\n");
	const char *bad[] = { "test", "-f", path };
	ck_assert_int_eq(run_options(&o, opts, ARRAY_LEN(opts), 3, bad), EXIT_CONFIG);
	unlink(path);
	conf_free(opts, ARRAY_LEN(opts));

	/* A file that is not there. */
	memset(&o, 0, sizeof(o));
	struct opt opts2[] = TOPTS(&o);
	const char *missing[] = { "test", "-f", "/nonexistent/mixproxy-test.conf" };
	ck_assert_int_eq(run_options(&o, opts2, ARRAY_LEN(opts2), 3, missing), EXIT_CONFIG);
	conf_free(opts2, ARRAY_LEN(opts2));

	/* A good one is loaded; the command line wins over it. */
	memset(&o, 0, sizeof(o));
	struct opt opts3[] = TOPTS(&o);
	write_file(path, sizeof(path), "# a comment\nname = fromfile\ncount = 7\nflag = yes\n");
	const char *good[] = { "test", "--count", "3", "-f", path };
	ck_assert_int_eq(run_options(&o, opts3, ARRAY_LEN(opts3), 5, good), DAEMON_GO_ON);
	ck_assert_str_eq(o.name, "fromfile");
	ck_assert_uint_eq(o.count, 3);
	ck_assert_int_eq(o.flag, 1);
	unlink(path);
	conf_free(opts3, ARRAY_LEN(opts3));

	/* No file named: the options alone. */
	memset(&o, 0, sizeof(o));
	struct opt opts4[] = TOPTS(&o);
	const char *none[] = { "test", "-n", "x" };
	ck_assert_int_eq(run_options(&o, opts4, ARRAY_LEN(opts4), 3, none), DAEMON_GO_ON);
	ck_assert_str_eq(o.name, "x");
	conf_free(opts4, ARRAY_LEN(opts4));
}
END_TEST

START_TEST(test_checked)
{
	quiet();
	int rc = daemon_checked("test", NULL);
	loud();
	ck_assert_int_eq(rc, 0);
}
END_TEST

static void loopback(struct sockaddr_storage *ss, socklen_t *sl, uint16_t port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	memset(ss, 0, sizeof(*ss));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin->sin_port = htons(port);
	*sl = sizeof(*sin);
}

START_TEST(test_listen)
{
	struct sockaddr_storage ss, got;
	socklen_t sl, gl = sizeof(got);
	char err[256], text[64];

	loopback(&ss, &sl, 0);
	err[0] = 0;
	int fd = daemon_listen(&ss, sl, 16, "127.0.0.1:0", err, sizeof(err));
	ck_assert_int_ge(fd, 0);
	ck_assert_str_eq(err, "");
	/* Non-blocking and close-on-exec, as the loop and exec want it. */
	ck_assert(fcntl(fd, F_GETFL) & O_NONBLOCK);
	ck_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&got, &gl), 0);
	uint16_t port = ntohs(((struct sockaddr_in *)&got)->sin_port);
	ck_assert_uint_ne(port, 0);

	/* It listens: a connection is taken. */
	int c = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(c, 0);
	ck_assert_int_eq(connect(c, (struct sockaddr *)&got, gl), 0);
	close(c);

	/* The same port again: refused, and the message names it. */
	loopback(&ss, &sl, port);
	snprintf(text, sizeof(text), "127.0.0.1:%u", port);
	ck_assert_int_eq(daemon_listen(&ss, sl, 16, text, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "cannot listen on"));
	ck_assert_ptr_nonnull(strstr(err, text));
	close(fd);
}
END_TEST

Suite *suite_daemon(void)
{
	Suite *s = suite_create("daemon");
	TCase *tc = tcase_create("options");
	tcase_add_test(tc, test_options_help);
	tcase_add_test(tc, test_options_bad);
	tcase_add_test(tc, test_options_file);
	tcase_add_test(tc, test_checked);
	suite_add_tcase(s, tc);
	tc = tcase_create("listen");
	tcase_add_test(tc, test_listen);
	suite_add_tcase(s, tc);
	return s;
}
