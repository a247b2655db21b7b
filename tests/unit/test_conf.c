/* Unit tests for conf: the command-line parser (long, short, attached and
 * bundled flags, errors that name the option), conf_set and the precedence
 * of the command line, the push parser of the file format fed whole and
 * byte by byte, and conf_load_file's error messages. */
#include <check.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "util.h"

/* One option of each type, and 'config' and 'check-config' (which the file
 * may not set). */
struct vals {
	char *name;
	uint64_t port;
	double ratio;
	int daemon;
	int verbose;
	char *config;
	int check;
};

enum { O_NAME, O_PORT, O_RATIO, O_DAEMON, O_VERBOSE, O_CONFIG, O_CHECK, O_N };

static struct vals v;
static struct opt opts[O_N];

static void opts_setup(void)
{
	memset(&v, 0, sizeof(v));
	const struct opt init[O_N] = {
		{ "name", 'n', OPT_STR, "NAME", "a name", &v.name, 0, 0, 0 },
		{ "port", 'p', OPT_U64, "PORT", "a port", &v.port, 1, 65535, 0 },
		{ "ratio", 0, OPT_DBL, "R", "a ratio", &v.ratio, 0, 1, 0 },
		{ "daemon", 'd', OPT_FLAG, NULL, "a flag", &v.daemon, 0, 0, 0 },
		{ "verbose", 'v', OPT_COUNT, NULL, "a counter", &v.verbose, 0, 0, 0 },
		{ "config", 'c', OPT_STR, "FILE", "the config file", &v.config, 0, 0, 0 },
		{ "check-config", 0, OPT_FLAG, NULL, "check and exit", &v.check, 0, 0, 0 },
	};
	memcpy(opts, init, sizeof(opts));
}

static void opts_teardown(void)
{
	conf_free(opts, O_N);
}

/* Parse a NULL-terminated argument list (argv[0] is added). */
static int argv_parse(char *err, size_t errsz, char **pos, int maxpos, int *npos, ...)
{
	char *argv[32] = { (char *)"cmd" };
	int argc = 1;
	va_list ap;
	va_start(ap, npos);
	for (char *a; (a = va_arg(ap, char *)) != NULL;) {
		ck_assert_int_lt(argc, 31);
		argv[argc++] = a;
	}
	va_end(ap);
	err[0] = 0;
	return conf_parse_argv(opts, O_N, argc, argv, pos, maxpos, npos, err, errsz);
}

#define ARGS(...) argv_parse(err, sizeof(err), NULL, 0, NULL, __VA_ARGS__, (char *)NULL)
#define ARGS_POS(pos, max, np, ...) \
	argv_parse(err, sizeof(err), pos, max, np, __VA_ARGS__, (char *)NULL)

#define ck_assert_has(s, sub) \
	ck_assert_msg(strstr((s), (sub)) != NULL, "'%s' does not contain '%s'", (s), (sub))

START_TEST(argv_long)
{
	char err[CONF_ERR_MAX];
	ck_assert_int_eq(ARGS("--name", "alpha", "--port", "8080", "--ratio", "0.5",
	                      "--daemon", "--verbose", "--verbose"), 0);
	ck_assert_str_eq(v.name, "alpha");
	ck_assert_uint_eq(v.port, 8080);
	ck_assert_double_eq(v.ratio, 0.5);
	ck_assert_int_eq(v.daemon, 1);
	ck_assert_int_eq(v.verbose, 2);
	for (int i = 0; i < O_N; i++)
		ck_assert_int_eq(opts[i].cli_set, i != O_CONFIG && i != O_CHECK);
}
END_TEST

START_TEST(argv_long_equals)
{
	char err[CONF_ERR_MAX];
	ck_assert_int_eq(ARGS("--port=8080", "--name=a=b", "--ratio=1"), 0);
	ck_assert_uint_eq(v.port, 8080);
	ck_assert_str_eq(v.name, "a=b");	/* only the first '=' splits */
	ck_assert_double_eq(v.ratio, 1.0);

	/* The last one wins; the earlier string is freed (valgrind). */
	ck_assert_int_eq(ARGS("--name=one", "--name", "two"), 0);
	ck_assert_str_eq(v.name, "two");

	/* Flags take no value. */
	ck_assert_int_eq(ARGS("--daemon=yes"), -1);
	ck_assert_has(err, "--daemon");
	ck_assert_int_eq(ARGS("--verbose=2"), -1);
	ck_assert_has(err, "--verbose");

	/* An empty string value. */
	ck_assert_int_eq(ARGS("--name="), -1);
	ck_assert_has(err, "name");
}
END_TEST

START_TEST(argv_short)
{
	char err[CONF_ERR_MAX];
	ck_assert_int_eq(ARGS("-p", "8080", "-n", "x"), 0);
	ck_assert_uint_eq(v.port, 8080);
	ck_assert_str_eq(v.name, "x");
	ck_assert_int_eq(opts[O_PORT].cli_set, 1);

	ck_assert_int_eq(ARGS("-p8081", "-nfoo"), 0);
	ck_assert_uint_eq(v.port, 8081);
	ck_assert_str_eq(v.name, "foo");

	/* A value that looks like an option is still the value. */
	ck_assert_int_eq(ARGS("-n", "-d"), 0);
	ck_assert_str_eq(v.name, "-d");
	ck_assert_int_eq(v.daemon, 0);
}
END_TEST

START_TEST(argv_bundled)
{
	char err[CONF_ERR_MAX];
	ck_assert_int_eq(ARGS("-dvv"), 0);
	ck_assert_int_eq(v.daemon, 1);
	ck_assert_int_eq(v.verbose, 2);
	ck_assert_int_eq(opts[O_DAEMON].cli_set, 1);
	ck_assert_int_eq(opts[O_VERBOSE].cli_set, 1);

	ck_assert_int_eq(ARGS("-vdv", "-v"), 0);
	ck_assert_int_eq(v.verbose, 5);

	/* An option taking a value cannot hide inside a bundle. */
	ck_assert_int_eq(ARGS("-dp8080"), -1);
	ck_assert_has(err, "-p");
	ck_assert_int_eq(ARGS("-dx"), -1);
	ck_assert_has(err, "-x");
}
END_TEST

START_TEST(argv_unknown)
{
	char err[CONF_ERR_MAX];
	ck_assert_int_eq(ARGS("--nope"), -1);
	ck_assert_has(err, "'--nope'");
	ck_assert_int_eq(ARGS("--nope=3"), -1);
	ck_assert_has(err, "'--nope'");
	ck_assert_int_eq(ARGS("-x"), -1);
	ck_assert_has(err, "'-x'");
	ck_assert_int_eq(ARGS("-x5"), -1);
	ck_assert_has(err, "-x");
	/* A prefix of a long name is not an abbreviation. */
	ck_assert_int_eq(ARGS("--por", "1"), -1);
	ck_assert_has(err, "'--por'");
	ck_assert_int_eq(ARGS("--portx", "1"), -1);
	ck_assert_has(err, "'--portx'");
	ck_assert_int_eq(ARGS("---port", "1"), -1);
	/* Nothing was set by the failed calls. */
	ck_assert_uint_eq(v.port, 0);
	ck_assert_int_eq(opts[O_PORT].cli_set, 0);
	/* An overlong unknown name does not overflow the message. */
	char lng[600];
	memset(lng, 'z', sizeof(lng) - 1);
	lng[0] = lng[1] = '-';
	lng[sizeof(lng) - 1] = 0;
	ck_assert_int_eq(ARGS(lng), -1);
	ck_assert_uint_lt(strlen(err), sizeof(err));
}
END_TEST

START_TEST(argv_missing_value)
{
	char err[CONF_ERR_MAX];
	ck_assert_int_eq(ARGS("--port"), -1);
	ck_assert_has(err, "'--port'");
	ck_assert_has(err, "PORT");
	ck_assert_int_eq(ARGS("-d", "-p"), -1);
	ck_assert_has(err, "'-p'");
	ck_assert_int_eq(ARGS("--name"), -1);
	ck_assert_has(err, "'--name'");
}
END_TEST

START_TEST(argv_out_of_range)
{
	char err[CONF_ERR_MAX];
	ck_assert_int_eq(ARGS("--port", "70000"), -1);
	ck_assert_has(err, "port");
	ck_assert_has(err, "70000");
	ck_assert_has(err, "1 to 65535");
	ck_assert_int_eq(ARGS("-p0"), -1);
	ck_assert_has(err, "port");
	ck_assert_has(err, "1 to 65535");
	ck_assert_int_eq(ARGS("--port=abc"), -1);
	ck_assert_has(err, "port");
	ck_assert_int_eq(ARGS("--port", "-1"), -1);
	ck_assert_has(err, "port");
	ck_assert_int_eq(ARGS("--ratio", "1.5"), -1);
	ck_assert_has(err, "ratio");
	ck_assert_has(err, "0 to 1");
	ck_assert_int_eq(ARGS("--ratio", "nan"), -1);
	ck_assert_has(err, "ratio");
	ck_assert_uint_eq(v.port, 0);
	ck_assert_double_eq(v.ratio, 0);
	ck_assert_int_eq(opts[O_PORT].cli_set, 0);
}
END_TEST

START_TEST(argv_positional)
{
	char err[CONF_ERR_MAX];
	char *pos[2];
	int npos = -1;

	ck_assert_int_eq(ARGS_POS(pos, 2, &npos, "a", "--daemon", "b"), 0);
	ck_assert_int_eq(npos, 2);
	ck_assert_str_eq(pos[0], "a");
	ck_assert_str_eq(pos[1], "b");
	ck_assert_int_eq(v.daemon, 1);

	/* "-" alone is an argument (stdin, by convention). */
	ck_assert_int_eq(ARGS_POS(pos, 2, &npos, "-"), 0);
	ck_assert_int_eq(npos, 1);
	ck_assert_str_eq(pos[0], "-");

	/* No positional arguments: npos is 0. */
	npos = -1;
	ck_assert_int_eq(ARGS_POS(pos, 2, &npos, "-d"), 0);
	ck_assert_int_eq(npos, 0);

	/* One too many. */
	ck_assert_int_eq(ARGS_POS(pos, 2, &npos, "a", "b", "c"), -1);
	ck_assert_has(err, "'c'");

	/* Refused when not allowed. */
	ck_assert_int_eq(ARGS("file"), -1);
	ck_assert_has(err, "'file'");
	ck_assert_int_eq(ARGS("-d", "-"), -1);
	ck_assert_has(err, "'-'");
}
END_TEST

START_TEST(argv_double_dash)
{
	char err[CONF_ERR_MAX];
	char *pos[4];
	int npos;

	ck_assert_int_eq(ARGS_POS(pos, 4, &npos, "-v", "--", "--daemon", "-h", "--"), 0);
	ck_assert_int_eq(npos, 3);
	ck_assert_str_eq(pos[0], "--daemon");
	ck_assert_str_eq(pos[1], "-h");
	ck_assert_str_eq(pos[2], "--");
	ck_assert_int_eq(v.daemon, 0);
	ck_assert_int_eq(v.verbose, 1);

	/* "--" with nothing after it, and without positional arguments. */
	ck_assert_int_eq(ARGS("-d", "--"), 0);
	ck_assert_int_eq(ARGS("--", "x"), -1);
	ck_assert_has(err, "'x'");
}
END_TEST

START_TEST(argv_help)
{
	char err[CONF_ERR_MAX];
	ck_assert_int_eq(ARGS("-h"), 1);
	ck_assert_int_eq(ARGS("--help"), 1);
	ck_assert_int_eq(ARGS("-d", "-h", "--nope"), 1);
	/* Help wins only when it comes before an error. */
	ck_assert_int_eq(ARGS("--nope", "-h"), -1);
	ck_assert_int_eq(argv_parse(err, sizeof(err), NULL, 0, NULL, (char *)NULL), 0);
}
END_TEST

START_TEST(set_cli_wins)
{
	char err[CONF_ERR_MAX];
	ck_assert_int_eq(ARGS("--port", "8080", "-n", "cli"), 0);
	ck_assert_int_eq(conf_set(opts, O_N, "port", "9090", err, sizeof(err)), 0);
	ck_assert_uint_eq(v.port, 8080);
	ck_assert_int_eq(conf_set(opts, O_N, "name", "file", err, sizeof(err)), 0);
	ck_assert_str_eq(v.name, "cli");
	/* Not set on the command line: the file sets it. */
	ck_assert_int_eq(conf_set(opts, O_N, "ratio", "0.25", err, sizeof(err)), 0);
	ck_assert_double_eq(v.ratio, 0.25);
	ck_assert_int_eq(opts[O_RATIO].cli_set, 0);
	/* Twice from the file: the later wins. */
	ck_assert_int_eq(conf_set(opts, O_N, "ratio", "0.5", err, sizeof(err)), 0);
	ck_assert_double_eq(v.ratio, 0.5);
}
END_TEST

START_TEST(set_values)
{
	char err[CONF_ERR_MAX];
	static const struct {
		const char *val;
		int ok, want;
	} flags[] = {
		{ "yes", 0, 1 }, { "no", 0, 0 }, { "true", 0, 1 }, { "false", 0, 0 },
		{ "1", 0, 1 }, { "0", 0, 0 }, { "maybe", -1, 0 }, { "", -1, 0 },
		{ "YES", -1, 0 }, { "2", -1, 0 },
	};
	for (size_t i = 0; i < ARRAY_LEN(flags); i++) {
		v.daemon = 7;
		ck_assert_int_eq(conf_set(opts, O_N, "daemon", flags[i].val, err, sizeof(err)),
		                 flags[i].ok);
		if (flags[i].ok == 0)
			ck_assert_int_eq(v.daemon, flags[i].want);
		else
			ck_assert_has(err, "daemon");
	}
	ck_assert_int_eq(conf_set(opts, O_N, "verbose", "3", err, sizeof(err)), 0);
	ck_assert_int_eq(v.verbose, 3);
	ck_assert_int_eq(conf_set(opts, O_N, "verbose", "10", err, sizeof(err)), -1);
	ck_assert_has(err, "verbose");
	ck_assert_int_eq(conf_set(opts, O_N, "port", "65536", err, sizeof(err)), -1);
	ck_assert_has(err, "port");
	ck_assert_has(err, "1 to 65535");
	ck_assert_int_eq(conf_set(opts, O_N, "name", "", err, sizeof(err)), -1);
	ck_assert_has(err, "name");
	ck_assert_int_eq(conf_set(opts, O_N, "name", "x y", err, sizeof(err)), 0);
	ck_assert_str_eq(v.name, "x y");
}
END_TEST

START_TEST(set_unknown_and_config)
{
	char err[CONF_ERR_MAX];
	ck_assert_int_eq(conf_set(opts, O_N, "nope", "1", err, sizeof(err)), -1);
	ck_assert_has(err, "'nope'");
	ck_assert_int_eq(conf_set(opts, O_N, "por", "1", err, sizeof(err)), -1);
	ck_assert_int_eq(conf_set(opts, O_N, "", "1", err, sizeof(err)), -1);
	ck_assert_int_eq(conf_set(opts, O_N, "config", "/etc/other.conf", err, sizeof(err)), -1);
	ck_assert_has(err, "config");
	ck_assert_ptr_null(v.config);
	/* Even when the command line named one. */
	ck_assert_int_eq(ARGS("--config", "/etc/a.conf"), 0);
	ck_assert_int_eq(conf_set(opts, O_N, "config", "/etc/b.conf", err, sizeof(err)), -1);
	ck_assert_str_eq(v.config, "/etc/a.conf");
	/* A file that says "check-config = yes" would keep a daemon from ever
	 * starting: only the command line may ask for the check. */
	ck_assert_int_eq(conf_set(opts, O_N, "check-config", "yes", err, sizeof(err)), -1);
	ck_assert_has(err, "'check-config' is not allowed");
	ck_assert_int_eq(v.check, 0);
}
END_TEST

/* The push parser, with a callback that records what it is given. */
#define REC_MAX 64
struct rec {
	unsigned lineno;
	char key[64];
	char val[CONF_LINE_MAX + 1];
};
struct recs {
	size_t n;
	struct rec r[REC_MAX];
};

static int rec_cb(void *ctx, unsigned lineno, const char *key, const char *val,
                  char *err, size_t errsz)
{
	struct recs *rs = ctx;
	if (!strcmp(key, "fail")) {
		snprintf(err, errsz, "refused '%s'", val);
		return -1;
	}
	ck_assert_uint_lt(rs->n, REC_MAX);
	struct rec *r = &rs->r[rs->n++];
	r->lineno = lineno;
	ck_assert_uint_lt(strlen(key), sizeof(r->key));
	ck_assert_uint_lt(strlen(val), sizeof(r->val));
	strcpy(r->key, key);
	strcpy(r->val, val);
	return 0;
}

/* Feed text of len bytes in chunks of `chunk` (0: all at once), then
 * finish.  Returns the first error; the message is in err. */
static int feed(struct recs *rs, const char *text, size_t len, size_t chunk,
                char *err, size_t errsz)
{
	struct conf_parser p;
	memset(rs, 0, sizeof(*rs));
	conf_parser_init(&p, rec_cb, rs);
	err[0] = 0;
	if (!chunk)
		chunk = len ? len : 1;
	for (size_t off = 0; off < len; off += chunk) {
		size_t n = len - off < chunk ? len - off : chunk;
		if (conf_parser_feed(&p, text + off, n, err, errsz))
			return -1;
	}
	return conf_parser_finish(&p, err, errsz);
}

static int feed_str(struct recs *rs, const char *text, char *err, size_t errsz)
{
	return feed(rs, text, strlen(text), 0, err, errsz);
}

static void rec_is(const struct recs *rs, size_t i, unsigned lineno, const char *key,
                   const char *val)
{
	ck_assert_uint_lt(i, rs->n);
	ck_assert_uint_eq(rs->r[i].lineno, lineno);
	ck_assert_str_eq(rs->r[i].key, key);
	ck_assert_str_eq(rs->r[i].val, val);
}

static struct recs rs; /* large: not on the stack */

START_TEST(parser_comments_blank)
{
	char err[CONF_ERR_MAX];
	ck_assert_int_eq(feed_str(&rs, "# a comment\n"
	                               "   # an indented one\n"
	                               "\n"
	                               "   \t \n"
	                               "#key = value\n"
	                               "port = 8080\n"
	                               "\t name\t=\tx  \n", err, sizeof(err)), 0);
	ck_assert_uint_eq(rs.n, 2);
	rec_is(&rs, 0, 6, "port", "8080");
	rec_is(&rs, 1, 7, "name", "x");

	ck_assert_int_eq(feed_str(&rs, "", err, sizeof(err)), 0);
	ck_assert_uint_eq(rs.n, 0);
	ck_assert_int_eq(feed_str(&rs, "\n\n#\n", err, sizeof(err)), 0);
	ck_assert_uint_eq(rs.n, 0);
}
END_TEST

START_TEST(parser_values)
{
	char err[CONF_ERR_MAX];
	ck_assert_int_eq(feed_str(&rs, "a = \"hello world # not a comment\"\n"
	                               "b = \"  spaced  \"\n"
	                               "c = \"\"\n"
	                               "d = 8080 # the port\n"
	                               "e = x#y\n"
	                               "f=g\n"
	                               "g =h\n"
	                               "h= i j \n"
	                               "i = a=b\n"
	                               "j =\n", err, sizeof(err)), 0);
	ck_assert_uint_eq(rs.n, 10);
	rec_is(&rs, 0, 1, "a", "hello world # not a comment");
	rec_is(&rs, 1, 2, "b", "  spaced  ");
	rec_is(&rs, 2, 3, "c", "");
	rec_is(&rs, 3, 4, "d", "8080");
	rec_is(&rs, 4, 5, "e", "x");
	rec_is(&rs, 5, 6, "f", "g");
	rec_is(&rs, 6, 7, "g", "h");
	rec_is(&rs, 7, 8, "h", "i j");
	rec_is(&rs, 8, 9, "i", "a=b");
	rec_is(&rs, 9, 10, "j", "");

	ck_assert_int_eq(feed_str(&rs, "a = 1\nb = \"open\n", err, sizeof(err)), -1);
	ck_assert_has(err, "line 2");
	ck_assert_int_eq(feed_str(&rs, "a = \"\n", err, sizeof(err)), -1);
	ck_assert_has(err, "line 1");
	/* A comment may follow a quoted value; other text may not. */
	ck_assert_int_eq(feed_str(&rs, "k = \"x y\"  # why\n", err, sizeof(err)), 0);
	rec_is(&rs, 0, 1, "k", "x y");
	ck_assert_int_eq(feed_str(&rs, "k = \"a\"b\"\n", err, sizeof(err)), -1);
	ck_assert_has(err, "line 1: unexpected text after the quoted value");
}
END_TEST

START_TEST(parser_crlf)
{
	char err[CONF_ERR_MAX];
	ck_assert_int_eq(feed_str(&rs, "# comment\r\n"
	                               "\r\n"
	                               "a = 1\r\n"
	                               "b = \"x y\"\r\n"
	                               "c = 2 # c\r\n"
	                               "d = 3\r", err, sizeof(err)), 0);
	ck_assert_uint_eq(rs.n, 4);
	rec_is(&rs, 0, 3, "a", "1");
	rec_is(&rs, 1, 4, "b", "x y");
	rec_is(&rs, 2, 5, "c", "2");
	rec_is(&rs, 3, 6, "d", "3");
}
END_TEST

START_TEST(parser_errors)
{
	char err[CONF_ERR_MAX];
	static const struct {
		const char *text, *want;
	} bad[] = {
		{ "a = 1\njust words\n", "line 2: expected 'key = value'" },
		{ "a = 1\n\n\nnoequals", "line 4: expected 'key = value'" },
		{ "= 1\n", "line 1: missing key" },
		{ "Key = 1\n", "line 1: bad key 'Key'" },
		{ "a_b = 1\n", "line 1: bad key" },
		{ "a b = 1\n", "line 1: bad key" },
		{ "a.b = 1\n", "line 1: bad key" },
		{ "\"a\" = 1\n", "line 1: bad key" },
		{ "a = 1\nfail = why\n", "line 2: refused 'why'" },
	};
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		ck_assert_msg(feed_str(&rs, bad[i].text, err, sizeof(err)) == -1,
		              "accepted case %zu", i);
		ck_assert_msg(strstr(err, bad[i].want) == err, "case %zu: '%s', want '%s'",
		              i, err, bad[i].want);
	}
	/* Parsing stops at the error: nothing after it is seen. */
	ck_assert_int_eq(feed_str(&rs, "a = 1\nbad\nb = 2\n", err, sizeof(err)), -1);
	ck_assert_uint_eq(rs.n, 1);
	/* Keys may hold digits and '-'. */
	ck_assert_int_eq(feed_str(&rs, "max-conns2 = 1\n", err, sizeof(err)), 0);
	rec_is(&rs, 0, 1, "max-conns2", "1");
}
END_TEST

START_TEST(parser_overlong)
{
	char err[CONF_ERR_MAX];
	static char text[3 * CONF_LINE_MAX];

	/* Exactly CONF_LINE_MAX bytes: fine. */
	size_t n = (size_t)snprintf(text, sizeof(text), "a = 1\nk = ");
	size_t start = 6;
	memset(text + n, 'v', CONF_LINE_MAX - (n - start));
	n = start + CONF_LINE_MAX;
	text[n++] = '\n';
	ck_assert_int_eq(feed(&rs, text, n, 0, err, sizeof(err)), 0);
	ck_assert_uint_eq(rs.n, 2);
	ck_assert_uint_eq(strlen(rs.r[1].val), CONF_LINE_MAX - 4);

	/* One byte more, on line 2: the error names the line. */
	memset(text + start + 4, 'v', CONF_LINE_MAX - 3);
	n = start + CONF_LINE_MAX + 1;
	text[n++] = '\n';
	ck_assert_int_eq(feed(&rs, text, n, 0, err, sizeof(err)), -1);
	ck_assert_has(err, "line 2");
	ck_assert_has(err, "1024");
	ck_assert_uint_eq(rs.n, 1);
	/* The same without the final newline (reported at finish). */
	ck_assert_int_eq(feed(&rs, text, n - 1, 0, err, sizeof(err)), -1);
	ck_assert_has(err, "line 2");
	/* And much longer, fed byte by byte. */
	memset(text + start, '#', sizeof(text) - start - 1);
	text[sizeof(text) - 1] = '\n';
	ck_assert_int_eq(feed(&rs, text, sizeof(text), 1, err, sizeof(err)), -1);
	ck_assert_has(err, "line 2");
	ck_assert_uint_eq(rs.n, 1);
}
END_TEST

START_TEST(parser_nul)
{
	char err[CONF_ERR_MAX];
	static const char t1[] = "a = 1\nb = \0x\n";
	ck_assert_int_eq(feed(&rs, t1, sizeof(t1) - 1, 0, err, sizeof(err)), -1);
	ck_assert_has(err, "line 2");
	ck_assert_has(err, "NUL");
	static const char t2[] = "# comment \0 hidden\n";
	ck_assert_int_eq(feed(&rs, t2, sizeof(t2) - 1, 0, err, sizeof(err)), -1);
	ck_assert_has(err, "line 1");
	static const char t3[] = "a = 1\n\0";
	ck_assert_int_eq(feed(&rs, t3, sizeof(t3) - 1, 0, err, sizeof(err)), -1);
	ck_assert_has(err, "line 2");
}
END_TEST

START_TEST(parser_last_line)
{
	char err[CONF_ERR_MAX];
	struct conf_parser p;

	memset(&rs, 0, sizeof(rs));
	conf_parser_init(&p, rec_cb, &rs);
	ck_assert_int_eq(conf_parser_feed(&p, "a = 1\nb = 2", 11, err, sizeof(err)), 0);
	ck_assert_uint_eq(rs.n, 1);	/* b is not complete yet */
	ck_assert_int_eq(conf_parser_feed(&p, "3", 1, err, sizeof(err)), 0);
	ck_assert_int_eq(conf_parser_finish(&p, err, sizeof(err)), 0);
	ck_assert_uint_eq(rs.n, 2);
	rec_is(&rs, 1, 2, "b", "23");
	/* Finishing twice parses nothing more. */
	ck_assert_int_eq(conf_parser_finish(&p, err, sizeof(err)), 0);
	ck_assert_uint_eq(rs.n, 2);

	ck_assert_int_eq(feed_str(&rs, "a = 1\nbad", err, sizeof(err)), -1);
	ck_assert_has(err, "line 2");
	ck_assert_int_eq(feed_str(&rs, "a = 1\n# no newline", err, sizeof(err)), 0);
	ck_assert_uint_eq(rs.n, 1);
}
END_TEST

/* Byte by byte and in odd chunks: the same records, or the same error. */
START_TEST(parser_chunking)
{
	char err1[CONF_ERR_MAX], err2[CONF_ERR_MAX];
	static struct recs whole;
	static const char *const texts[] = {
		"# mixproxy.conf\n"
		"\n"
		"name = \"a # b\"\r\n"
		"  port=8080   # comment\n"
		"ratio = 0.5\n"
		"\t\n"
		"daemon = yes\n"
		"verbose = 2",
		"a = 1\nb = 2\nno equals here\nc = 3\n",
		"a = 1\nfail = x\n",
		"a = \"unterminated\n",
		"A = 1\n",
	};
	for (size_t t = 0; t < ARRAY_LEN(texts); t++) {
		size_t len = strlen(texts[t]);
		int rc1 = feed(&whole, texts[t], len, 0, err1, sizeof(err1));
		static const size_t chunks[] = { 1, 2, 3, 7, 64 };
		for (size_t c = 0; c < ARRAY_LEN(chunks); c++) {
			int rc2 = feed(&rs, texts[t], len, chunks[c], err2, sizeof(err2));
			ck_assert_int_eq(rc2, rc1);
			ck_assert_str_eq(err2, err1);
			ck_assert_uint_eq(rs.n, whole.n);
			for (size_t i = 0; i < whole.n; i++)
				rec_is(&rs, i, whole.r[i].lineno, whole.r[i].key, whole.r[i].val);
		}
	}
	/* The first text parses in full. */
	ck_assert_int_eq(feed_str(&whole, texts[0], err1, sizeof(err1)), 0);
	ck_assert_uint_eq(whole.n, 5);
	rec_is(&whole, 0, 3, "name", "a # b");
	rec_is(&whole, 1, 4, "port", "8080");
	rec_is(&whole, 4, 8, "verbose", "2");
}
END_TEST

/* conf_load_file, on files in a temporary directory. */
static char top[64], dir[96];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

/* One directory per test case, made and removed (with all it holds) in the
 * parent process, so a failed test leaves nothing behind either. */
static void top_setup(void)
{
	snprintf(top, sizeof(top), "/tmp/mixproxy-conf-XXXXXX");
	if (!mkdtemp(top))
		top[0] = 0;
}

static void top_teardown(void)
{
	if (top[0])
		nftw(top, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void dir_setup(void)
{
	opts_setup();
	ck_assert_msg(top[0] != 0, "mkdtemp under /tmp failed");
	snprintf(dir, sizeof(dir), "%s/t-XXXXXX", top);
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static const char *conf_write(const char *text, size_t len)
{
	static char p[128];
	snprintf(p, sizeof(p), "%s/c.conf", dir);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
	return p;
}

START_TEST(load_missing)
{
	char err[CONF_ERR_MAX], p[128];
	snprintf(p, sizeof(p), "%s/none.conf", dir);
	ck_assert_int_eq(conf_load_file(opts, O_N, p, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, p) == err, "err: %s", err);
	ck_assert_has(err, "No such file");
}
END_TEST

START_TEST(load_good)
{
	char err[CONF_ERR_MAX];
	const char *text = "# test\nname = \"from file\"\nport = 99\nratio=0.75\n"
	                   "daemon = true\nverbose = 3\n";
	const char *p = conf_write(text, strlen(text));
	ck_assert_int_eq(ARGS("--port", "1234"), 0);
	ck_assert_msg(conf_load_file(opts, O_N, p, err, sizeof(err)) == 0, "err: %s", err);
	ck_assert_str_eq(v.name, "from file");
	ck_assert_uint_eq(v.port, 1234);	/* the command line wins */
	ck_assert_double_eq(v.ratio, 0.75);
	ck_assert_int_eq(v.daemon, 1);
	ck_assert_int_eq(v.verbose, 3);
}
END_TEST

START_TEST(load_error_line_3)
{
	char err[CONF_ERR_MAX], want[256];
	const char *text = "port = 80\n# two\nport = 0\nname = x\n";
	const char *p = conf_write(text, strlen(text));
	ck_assert_int_eq(conf_load_file(opts, O_N, p, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: line 3: ", p);
	ck_assert_msg(strstr(err, want) == err, "err: '%s', want '%s...'", err, want);
	ck_assert_has(err, "port");
	ck_assert_ptr_null(v.name);	/* stopped there */

	text = "a-key = 1\n\nnot valid\n";
	p = conf_write(text, strlen(text));
	ck_assert_int_eq(conf_load_file(opts, O_N, p, err, sizeof(err)), -1);
	/* Line 1 has an unknown key: that error comes first. */
	snprintf(want, sizeof(want), "%s: line 1: unknown key 'a-key'", p);
	ck_assert_str_eq(err, want);

	text = "port = 80\n\nnot valid\n";
	p = conf_write(text, strlen(text));
	ck_assert_int_eq(conf_load_file(opts, O_N, p, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: line 3: expected 'key = value'", p);
	ck_assert_str_eq(err, want);

	text = "port = 80\nconfig = /etc/x\n";
	p = conf_write(text, strlen(text));
	ck_assert_int_eq(conf_load_file(opts, O_N, p, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: line 2: ", p);
	ck_assert_msg(strstr(err, want) == err, "err: %s", err);
}
END_TEST

START_TEST(load_large_file)
{
	/* Longer than one read(): lines cross the 4096-byte chunk edges. */
	static char text[20000];
	char err[CONF_ERR_MAX];
	size_t n = 0;
	int lines = 0;
	while (n < sizeof(text) - 200) {
		n += (size_t)snprintf(text + n, sizeof(text) - n,
		                      "# filler comment number %d, of some length\n"
		                      "ratio = 0.%d\n", lines, lines % 10);
		lines += 2;
	}
	n += (size_t)snprintf(text + n, sizeof(text) - n, "port = 4242");
	lines++;
	const char *p = conf_write(text, n);
	ck_assert_msg(conf_load_file(opts, O_N, p, err, sizeof(err)) == 0, "err: %s", err);
	ck_assert_uint_eq(v.port, 4242);

	/* An error far down names the right line. */
	n += (size_t)snprintf(text + n, sizeof(text) - n, "\nbogus\n");
	lines++;
	p = conf_write(text, n);
	char want[64];
	snprintf(want, sizeof(want), ": line %d: ", lines);
	ck_assert_int_eq(conf_load_file(opts, O_N, p, err, sizeof(err)), -1);
	ck_assert_has(err, want);
}
END_TEST

START_TEST(usage_prints)
{
	/* Only that it runs over every option type; the output goes nowhere. */
	fflush(stdout);
	int saved = dup(STDOUT_FILENO);
	int null = open("/dev/null", O_WRONLY);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_ge(null, 0);
	ck_assert_int_eq(dup2(null, STDOUT_FILENO), STDOUT_FILENO);
	conf_usage(opts, O_N, "cmd [options]");
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	close(null);
}
END_TEST

/* Declared for -Wmissing-prototypes; the Makefile collects the definition. */
Suite *suite_conf(void);

Suite *suite_conf(void)
{
	Suite *s = suite_create("conf");
	TCase *tc = tcase_create("argv");
	tcase_add_checked_fixture(tc, opts_setup, opts_teardown);
	tcase_add_test(tc, argv_long);
	tcase_add_test(tc, argv_long_equals);
	tcase_add_test(tc, argv_short);
	tcase_add_test(tc, argv_bundled);
	tcase_add_test(tc, argv_unknown);
	tcase_add_test(tc, argv_missing_value);
	tcase_add_test(tc, argv_out_of_range);
	tcase_add_test(tc, argv_positional);
	tcase_add_test(tc, argv_double_dash);
	tcase_add_test(tc, argv_help);
	tcase_add_test(tc, usage_prints);
	suite_add_tcase(s, tc);

	tc = tcase_create("set");
	tcase_add_checked_fixture(tc, opts_setup, opts_teardown);
	tcase_add_test(tc, set_cli_wins);
	tcase_add_test(tc, set_values);
	tcase_add_test(tc, set_unknown_and_config);
	suite_add_tcase(s, tc);

	tc = tcase_create("parser");
	tcase_add_test(tc, parser_comments_blank);
	tcase_add_test(tc, parser_values);
	tcase_add_test(tc, parser_crlf);
	tcase_add_test(tc, parser_errors);
	tcase_add_test(tc, parser_overlong);
	tcase_add_test(tc, parser_nul);
	tcase_add_test(tc, parser_last_line);
	tcase_add_test(tc, parser_chunking);
	suite_add_tcase(s, tc);

	tc = tcase_create("file");
	tcase_add_unchecked_fixture(tc, top_setup, top_teardown);
	tcase_add_checked_fixture(tc, dir_setup, opts_teardown);
	tcase_add_test(tc, load_missing);
	tcase_add_test(tc, load_good);
	tcase_add_test(tc, load_error_line_3);
	tcase_add_test(tc, load_large_file);
	suite_add_tcase(s, tc);
	return s;
}
