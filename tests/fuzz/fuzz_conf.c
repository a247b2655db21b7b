/* libFuzzer harness of the config file parser: the input is a config file,
 * fed in two pieces (split where its first byte says), and every line the
 * parser accepts goes to conf_set on a table with one option of each type,
 * one of them already set on the command line.
 *
 * The same input fed one byte at a time must give the same lines, the
 * same conf_set results and the same error: a digest of each is compared. */
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

static char *s_name, *s_config;
static uint64_t u_port, u_big;
static double d_ratio;
static int f_daemon, c_verbose;

static struct opt opts[] = {
	{ "name", 'n', OPT_STR, "NAME", "", &s_name, 0, 0, 0 },
	{ "port", 'p', OPT_U64, "PORT", "", &u_port, 1, 65535, 0 },
	{ "big", 0, OPT_U64, "N", "", &u_big, 0, 1e18, 0 },
	{ "ratio", 0, OPT_DBL, "R", "", &d_ratio, -1, 1, 0 },
	{ "daemon", 'd', OPT_FLAG, NULL, "", &f_daemon, 0, 0, 0 },
	{ "verbose", 'v', OPT_COUNT, NULL, "", &c_verbose, 0, 0, 0 },
	{ "config", 'c', OPT_STR, "FILE", "", &s_config, 0, 0, 0 },
};
#define NOPTS (sizeof(opts) / sizeof(opts[0]))

struct run {
	crypto_generichash_state h; /* digest of the lines and results */
	unsigned lines;
};

static int line_cb(void *ctx, unsigned lineno, const char *key, const char *val,
                   char *err, size_t errsz)
{
	struct run *r = ctx;
	int rc = conf_set(opts, NOPTS, key, val, err, errsz);
	if (rc != 0 && (!err[0] || strlen(err) >= errsz))
		abort(); /* an error always says why, within the buffer */
	if (lineno <= r->lines)
		abort(); /* line numbers only increase */
	r->lines = lineno;
	crypto_generichash_update(&r->h, (const uint8_t *)&lineno, sizeof(lineno));
	crypto_generichash_update(&r->h, (const uint8_t *)key, strlen(key) + 1);
	crypto_generichash_update(&r->h, (const uint8_t *)val, strlen(val) + 1);
	crypto_generichash_update(&r->h, (const uint8_t *)&rc, sizeof(rc));
	return rc;
}

static void opts_reset(void)
{
	char *argv[] = { (char *)"fuzz", (char *)"--port", (char *)"8080", NULL };
	char err[CONF_ERR_MAX];

	conf_free(opts, NOPTS);
	u_port = u_big = 0;
	d_ratio = 0;
	f_daemon = c_verbose = 0;
	for (size_t i = 0; i < NOPTS; i++)
		opts[i].cli_set = 0;
	/* The command line set port: the file must not change it. */
	if (conf_parse_argv(opts, NOPTS, 3, argv, NULL, 0, NULL, err, sizeof(err)) != 0)
		abort();
}

/* Parse data fed in the given pieces; the digest of what happened goes
 * into out. */
static void parse(const uint8_t *data, size_t size, size_t split, int bytewise,
                  uint8_t out[32])
{
	struct conf_parser p;
	struct run r;
	char err[CONF_ERR_MAX];
	int rc = 0;

	opts_reset();
	memset(&r, 0, sizeof(r));
	crypto_generichash_init(&r.h, NULL, 0, 32);
	conf_parser_init(&p, line_cb, &r);
	memset(err, 0, sizeof(err));
	if (bytewise) {
		for (size_t i = 0; i < size && rc == 0; i++)
			rc = conf_parser_feed(&p, (const char *)data + i, 1, err, sizeof(err));
	} else {
		rc = conf_parser_feed(&p, (const char *)data, split, err, sizeof(err));
		if (rc == 0)
			rc = conf_parser_feed(&p, (const char *)data + split, size - split,
			                      err, sizeof(err));
	}
	if (rc == 0)
		rc = conf_parser_finish(&p, err, sizeof(err));
	if (rc != 0 && strncmp(err, "line ", 5) != 0)
		abort(); /* errors name their line */
	if (rc == 0 && err[0])
		abort();
	if (u_port != 8080)
		abort(); /* the command line wins */
	if (s_config)
		abort(); /* the file cannot name another file */
	crypto_generichash_update(&r.h, (const uint8_t *)&rc, sizeof(rc));
	crypto_generichash_update(&r.h, (const uint8_t *)err, strlen(err));
	/* What the options hold after it. */
	if (s_name)
		crypto_generichash_update(&r.h, (const uint8_t *)s_name, strlen(s_name));
	crypto_generichash_update(&r.h, (const uint8_t *)&u_big, sizeof(u_big));
	crypto_generichash_update(&r.h, (const uint8_t *)&d_ratio, sizeof(d_ratio));
	crypto_generichash_update(&r.h, (const uint8_t *)&f_daemon, sizeof(f_daemon));
	crypto_generichash_update(&r.h, (const uint8_t *)&c_verbose, sizeof(c_verbose));
	crypto_generichash_final(&r.h, out, 32);
	conf_free(opts, NOPTS);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	uint8_t a[32], b[32];

	if (!ready) {
		if (sodium_init() < 0)
			abort();
		ready = 1;
	}
	/* Byte-by-byte feeding of large inputs is slow and adds nothing. */
	if (size > 64 * 1024)
		return 0;
	size_t split = size ? data[0] % (size + 1) : 0;
	parse(data, size, split, 0, a);
	parse(data, size, 0, 1, b);
	if (memcmp(a, b, sizeof(a)) != 0) {
		fprintf(stderr, "two feeds (split at %zu) and byte-by-byte feeding differ\n", split);
		abort();
	}
	return 0;
}
