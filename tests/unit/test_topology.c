/* Unit tests for topology: a good file parsed whole and one byte at a
 * time, comments and blank lines, every parse error with its line number,
 * the whole-network checks, lookups, the node line round trip, routes,
 * IPv6 addresses and topo_load. */
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "keys.h"
#include "topology.h"

#define NKEYS 12

/* Real public keys, as keygen prints them; made once per test. */
static char K[NKEYS][B58_KEY_CHARS];
static uint8_t KB[NKEYS][32];

static void setup(void)
{
	ck_assert_int_ge(sodium_init(), 0);
	for (int i = 0; i < NKEYS; i++) {
		uint8_t sk[32];
		crypto_box_keypair(KB[i], sk);
		key_to_str(KB[i], K[i], sizeof(K[i]));
	}
}

/* 2 gateways and 2 mixes per layer, in a file that uses the whole
 * syntax: comments, blank lines, tabs, CRLF, a trailing comment. */
static char *good_text(void)
{
	static char t[4096];
	snprintf(t, sizeof(t),
	         "# test network\n"
	         "\n"
	         "gw1 gateway 127.0.0.1:7001 %s\n"
	         "gw2\tgateway\t127.0.0.1:7002\t%s   # second gateway\n"
	         "   \t \n"
	         "m1a mix 1 127.0.0.1:7101 %s\r\n"
	         "m1b mix 1 127.0.0.1:7102 %s\n"
	         "  # layer 2\n"
	         "m2a mix 2 127.0.0.1:7201 %s\n"
	         "m2b  mix  2  127.0.0.1:7202  %s\n"
	         "m3a mix 3 [::1]:7301 %s#no space before the comment\n"
	         "m3b mix 3 [2001:db8::7]:7302 %s",    /* no final newline */
	         K[0], K[1], K[2], K[3], K[4], K[5], K[6], K[7]);
	return t;
}

/* Parse text fed in chunks of `chunk` bytes (0: all at once). */
static struct topology *parse(const char *text, size_t len, size_t chunk,
                              char *err, size_t errsz)
{
	struct topo_parser *p = topo_parser_new();
	ck_assert_ptr_nonnull(p);
	if (chunk == 0)
		chunk = len ? len : 1;
	for (size_t off = 0; off < len; off += chunk) {
		size_t n = len - off < chunk ? len - off : chunk;
		if (topo_parser_feed(p, text + off, n, err, errsz)) {
			/* After an error, feed keeps failing with the same
			 * message, and finish reports it too. */
			char again[256];
			ck_assert_int_eq(topo_parser_feed(p, "\n", 1, again, sizeof(again)), -1);
			ck_assert_str_eq(again, err);
			ck_assert_ptr_null(topo_parser_finish(p, again, sizeof(again)));
			ck_assert_str_eq(again, err);
			return NULL;
		}
	}
	return topo_parser_finish(p, err, errsz);
}

static struct topology *parse_str(const char *text, char *err, size_t errsz)
{
	return parse(text, strlen(text), 0, err, errsz);
}

static void check_node(const struct topo_node *n, const char *name,
                       enum topo_role role, int layer, const char *addr, int key)
{
	ck_assert_ptr_nonnull(n);
	ck_assert_str_eq(n->name, name);
	uint8_t id[PKT_ID_BYTES] = { 0 };
	memcpy(id, name, strlen(name));
	ck_assert_mem_eq(n->id, id, PKT_ID_BYTES);
	ck_assert_int_eq(n->role, role);
	ck_assert_int_eq(n->layer, layer);
	ck_assert_str_eq(n->addr_text, addr);
	ck_assert_mem_eq(n->pk, KB[key], 32);
}

static void check_good(const struct topology *t)
{
	ck_assert_uint_eq(t->n, 8);
	ck_assert_uint_eq(t->ngateways, 2);
	for (int l = 0; l < TOPO_LAYERS; l++)
		ck_assert_uint_eq(t->nlayer[l], 2);
	check_node(&t->nodes[0], "gw1", TOPO_GATEWAY, 0, "127.0.0.1:7001", 0);
	check_node(&t->nodes[1], "gw2", TOPO_GATEWAY, 0, "127.0.0.1:7002", 1);
	check_node(&t->nodes[2], "m1a", TOPO_MIX, 1, "127.0.0.1:7101", 2);
	check_node(&t->nodes[3], "m1b", TOPO_MIX, 1, "127.0.0.1:7102", 3);
	check_node(&t->nodes[4], "m2a", TOPO_MIX, 2, "127.0.0.1:7201", 4);
	check_node(&t->nodes[5], "m2b", TOPO_MIX, 2, "127.0.0.1:7202", 5);
	check_node(&t->nodes[6], "m3a", TOPO_MIX, 3, "[::1]:7301", 6);
	check_node(&t->nodes[7], "m3b", TOPO_MIX, 3, "[2001:db8::7]:7302", 7);
	ck_assert_uint_eq(t->gateways[0], 0);
	ck_assert_uint_eq(t->gateways[1], 1);
	for (int l = 0; l < TOPO_LAYERS; l++) {
		ck_assert_uint_eq(t->layer[l][0], 2 + 2 * (size_t)l);
		ck_assert_uint_eq(t->layer[l][1], 3 + 2 * (size_t)l);
	}
}

static int same_node(const struct topo_node *a, const struct topo_node *b)
{
	return !strcmp(a->name, b->name) && !memcmp(a->id, b->id, PKT_ID_BYTES) &&
	       a->role == b->role && a->layer == b->layer &&
	       a->addrlen == b->addrlen && !memcmp(&a->addr, &b->addr, a->addrlen) &&
	       !strcmp(a->addr_text, b->addr_text) && !memcmp(a->pk, b->pk, 32);
}

START_TEST(good_whole)
{
	char err[256] = "";
	struct topology *t = parse_str(good_text(), err, sizeof(err));
	ck_assert_msg(t != NULL, "%s", err);
	check_good(t);
	topo_free(t);
}
END_TEST

START_TEST(good_bytewise)
{
	char err[256] = "";
	const char *text = good_text();
	struct topology *whole = parse_str(text, err, sizeof(err));
	ck_assert_msg(whole != NULL, "%s", err);
	for (size_t chunk = 1; chunk <= 7; chunk++) {
		struct topology *t = parse(text, strlen(text), chunk, err, sizeof(err));
		ck_assert_msg(t != NULL, "chunk %zu: %s", chunk, err);
		check_good(t);
		ck_assert_uint_eq(t->n, whole->n);
		for (size_t i = 0; i < t->n; i++)
			ck_assert(same_node(&t->nodes[i], &whole->nodes[i]));
		topo_free(t);
	}
	topo_free(whole);
}
END_TEST

START_TEST(comments_blank)
{
	char text[2048], err[256] = "";
	snprintf(text, sizeof(text),
	         "#\n#########\n\n\n\r\n \t \r\n"
	         "g gateway 10.0.0.1:1 %s # gateway # with # hashes\r\n"
	         "# m mix 1 10.0.0.9:1 %s  (commented out)\n"
	         "a mix 1 10.0.0.2:1 %s\n"
	         "b mix 2 10.0.0.3:1 %s#\n"
	         "c mix 3 10.0.0.4:1 %s\t\t#\n"
	         "# the end, no newline",
	         K[0], K[1], K[2], K[3], K[4]);
	struct topology *t = parse_str(text, err, sizeof(err));
	ck_assert_msg(t != NULL, "%s", err);
	ck_assert_uint_eq(t->n, 4);
	ck_assert_str_eq(t->nodes[0].name, "g");
	ck_assert_str_eq(t->nodes[1].name, "a");
	ck_assert_mem_eq(t->nodes[0].pk, KB[0], 32);
	ck_assert_mem_eq(t->nodes[1].pk, KB[2], 32);
	ck_assert_ptr_null(topo_by_pk(t, KB[1]));
	topo_free(t);

	/* A UTF-8 byte order mark, as some editors write, is skipped. */
	snprintf(text, sizeof(text),
	         "\xef\xbb\xbfg gateway 10.0.0.1:1 %s\n"
	         "a mix 1 10.0.0.2:1 %s\nb mix 2 10.0.0.3:1 %s\nc mix 3 10.0.0.4:1 %s\n",
	         K[0], K[1], K[2], K[3]);
	t = parse(text, strlen(text), 1, err, sizeof(err));
	ck_assert_msg(t != NULL, "%s", err);
	ck_assert_str_eq(t->nodes[0].name, "g");
	topo_free(t);
}
END_TEST

/* A bad line at line 3, after a comment and a blank line; the error must
 * name line 3 and start with the reason. */
static const struct {
	const char *line;     /* KEY stands for a good key */
	const char *want;     /* prefix of the message after "line 3: " */
} bad_lines[] = {
	{ "g/1 gateway 10.0.0.1:1 KEY", "bad id 'g/1'" },
	{ "g\xff gateway 10.0.0.1:1 KEY", "bad id 'g?'" },
	{ "abcdefghijabcdefghijabcdefghij12 gateway 10.0.0.1:1 KEY", "bad id 'abcdefghij" },
	{ "g relay 10.0.0.1:1 KEY", "unknown role 'relay' (expected gateway or mix)" },
	{ "g Gateway 10.0.0.1:1 KEY", "unknown role 'Gateway' (expected gateway or mix)" },
	{ "m mix 10.0.0.1:1 KEY", "missing layer" },
	{ "m mix", "missing layer" },
	{ "m mix 0 10.0.0.1:1 KEY", "layer must be 1, 2 or 3" },
	{ "m mix 4 10.0.0.1:1 KEY", "layer must be 1, 2 or 3" },
	{ "m mix 01 10.0.0.1:1 KEY", "layer must be 1, 2 or 3" },
	{ "m mix x 10.0.0.1:1 KEY", "layer must be 1, 2 or 3" },
	{ "m mix 1 10.0.0.1 KEY", "bad address '10.0.0.1': missing :port" },
	{ "m mix 1 10.0.0.1:0 KEY", "bad address '10.0.0.1:0': port must be a number from 1 to 65535" },
	{ "g gateway localhost:80 KEY", "bad address 'localhost:80': host must be a numeric" },
	{ "g gateway ::1:80 KEY", "bad address '::1:80': IPv6 address must be written [addr]:port" },
	{ "g gateway [::g]:80 KEY", "bad address '[::g]:80': bad IPv6 address" },
	{ "g gateway 10.0.0.1:1 abc", "bad public key" },
	{ "g gateway 10.0.0.1:1 0OIl", "bad public key" },
	/* A key with a character too many: 45 digits, the first not 1, are
	 * more than 32 bytes whatever they are (one appended to a random key
	 * still fit one time in 58 when that key had 43). */
	{ "g gateway 10.0.0.1:1 222222222222222222222222222222222222222222222", "bad public key" },
	/* Decodes to 32 zero bytes: a low-order point. */
	{ "g gateway 10.0.0.1:1 11111111111111111111111111111111",
	  "bad public key '11111111111111111111111111111111' (not a usable X25519 key)" },
	{ "g gateway 10.0.0.1:1 KEY extra", "too many fields" },
	{ "g gateway 1 10.0.0.1:1 KEY", "too many fields" },
	{ "m mix 1 10.0.0.1:1 KEY extra", "too many fields" },
	{ "m mix 1 10.0.0.1:1 KEY a b c d e f", "too many fields" },
	{ "g", "too few fields" },
	{ "g gateway", "too few fields" },
	{ "g gateway 10.0.0.1:1", "too few fields" },
	{ "m mix 1 10.0.0.1:1", "too few fields" },
	{ "m mix 1", "too few fields" },
};

START_TEST(bad_line)
{
	char text[512], err[256] = "", want[256];
	/* KEY is replaced by hand: the table's lines are not formats. */
	const char *line = bad_lines[_i].line, *key = strstr(line, "KEY");
	if (key)
		snprintf(text, sizeof(text), "# comment\n\n%.*s%s%s\n",
		         (int)(key - line), line, K[0], key + 3);
	else
		snprintf(text, sizeof(text), "# comment\n\n%s\n", line);
	snprintf(want, sizeof(want), "line 3: %s", bad_lines[_i].want);
	/* Whole and byte by byte: the same error. */
	for (size_t chunk = 0; chunk <= 1; chunk++) {
		err[0] = 0;
		ck_assert_ptr_null(parse(text, strlen(text), chunk, err, sizeof(err)));
		ck_assert_msg(!strncmp(err, want, strlen(want)),
		              "case %d: got \"%s\", want \"%s...\"", _i, err, want);
	}
}
END_TEST

/* A network around one extra line, to test errors that need context. */
static void expect_err(const char *text, const char *want)
{
	char err[256] = "";
	ck_assert_ptr_null(parse_str(text, err, sizeof(err)));
	ck_assert_msg(!strcmp(err, want), "got \"%s\", want \"%s\"", err, want);
	ck_assert_ptr_null(parse(text, strlen(text), 1, err, sizeof(err)));
	ck_assert_msg(!strcmp(err, want), "bytewise: got \"%s\", want \"%s\"", err, want);
}

START_TEST(duplicates)
{
	char text[2048];
	snprintf(text, sizeof(text),
	         "g gateway 10.0.0.1:1 %s\n# x\nm mix 1 10.0.0.2:1 %s\ng mix 2 10.0.0.3:1 %s\n",
	         K[0], K[1], K[2]);
	expect_err(text, "line 4: duplicate id 'g' (first on line 1)");

	snprintf(text, sizeof(text),
	         "g gateway 10.0.0.1:1 %s\nm mix 1 10.0.0.2:1 %s\nn mix 2 10.0.0.3:1 %s\n",
	         K[0], K[1], K[1]);
	expect_err(text, "line 3: duplicate key (same as 'm')");

	snprintf(text, sizeof(text),
	         "g gateway 10.0.0.1:1 %s\nm mix 1 10.0.0.2:1 %s\nn mix 2 10.0.0.1:1 %s\n",
	         K[0], K[1], K[2]);
	expect_err(text, "line 3: duplicate address (same as 'g')");

	/* The same IPv6 address spelt two ways is still one address. */
	snprintf(text, sizeof(text),
	         "g gateway [::1]:80 %s\n\n\nm mix 1 [0:0::0:1]:80 %s\n", K[0], K[1]);
	expect_err(text, "line 4: duplicate address (same as 'g')");

	/* Same host, other port; same port, other family: both fine. */
	char err[256] = "";
	snprintf(text, sizeof(text),
	         "g gateway 127.0.0.1:80 %s\nm mix 1 127.0.0.1:81 %s\n"
	         "n mix 2 [::ffff:127.0.0.1]:80 %s\no mix 3 [::1]:80 %s\n",
	         K[0], K[1], K[2], K[3]);
	struct topology *t = parse_str(text, err, sizeof(err));
	ck_assert_msg(t != NULL, "%s", err);
	topo_free(t);
}
END_TEST

START_TEST(long_line_nul)
{
	/* 1024 bytes are allowed (and a CR beyond them); 1025 are not. */
	char text[4096], line[1100];
	char err[256] = "";
	snprintf(line, sizeof(line), "g gateway 10.0.0.1:1 %s #", K[0]);
	size_t l = strlen(line);
	memset(line + l, 'x', 1024 - l);
	line[1024] = 0;
	snprintf(text, sizeof(text),
	         "%s\r\nm mix 1 10.0.0.2:1 %s\nn mix 2 10.0.0.3:1 %s\no mix 3 10.0.0.4:1 %s\n",
	         line, K[1], K[2], K[3]);
	struct topology *t = parse_str(text, err, sizeof(err));
	ck_assert_msg(t != NULL, "%s", err);
	topo_free(t);

	snprintf(text, sizeof(text), "\n%sx\n", line);
	expect_err(text, "line 2: line longer than 1024 bytes");
	snprintf(text, sizeof(text), "\n%sx", line);        /* at end of input */
	expect_err(text, "line 2: line longer than 1024 bytes");
	snprintf(text, sizeof(text), "\n%sxx\r\n", line);
	expect_err(text, "line 2: line longer than 1024 bytes");

	/* An endless line fails before its end. */
	struct topo_parser *p = topo_parser_new();
	memset(text, 'a', sizeof(text));
	ck_assert_int_eq(topo_parser_feed(p, text, sizeof(text), err, sizeof(err)), -1);
	ck_assert_str_eq(err, "line 1: line longer than 1024 bytes");
	ck_assert_ptr_null(topo_parser_finish(p, err, sizeof(err)));

	static const char nul[] = "# ok\n# ok\ng gateway\0 10.0.0.1:1\n";
	ck_assert_ptr_null(parse(nul, sizeof(nul) - 1, 0, err, sizeof(err)));
	ck_assert_str_eq(err, "line 3: NUL byte");
	ck_assert_ptr_null(parse(nul, sizeof(nul) - 1, 1, err, sizeof(err)));
	ck_assert_str_eq(err, "line 3: NUL byte");
	/* Even inside a comment. */
	ck_assert_ptr_null(parse("#\0\n", 3, 0, err, sizeof(err)));
	ck_assert_str_eq(err, "line 1: NUL byte");
}
END_TEST

START_TEST(too_many_nodes)
{
	struct topo_parser *p = topo_parser_new();
	char line[256], pk[B58_KEY_CHARS], err[256] = "";
	uint8_t kpk[32], ksk[32];
	for (int i = 0; i <= TOPO_MAX_NODES; i++) {
		crypto_box_keypair(kpk, ksk);
		key_to_str(kpk, pk, sizeof(pk));
		if (i == 0)
			snprintf(line, sizeof(line), "g gateway 10.0.0.1:1 %s\n", pk);
		else
			snprintf(line, sizeof(line), "m%d mix %d 10.1.%d.%d:1000 %s\n",
			         i, 1 + i % 3, i / 256, i % 256, pk);
		int r = topo_parser_feed(p, line, strlen(line), err, sizeof(err));
		if (i < TOPO_MAX_NODES) {
			ck_assert_msg(r == 0, "node %d: %s", i, err);
		} else {
			ck_assert_int_eq(r, -1);
			ck_assert_str_eq(err, "line 4097: more than 4096 nodes");
		}
	}
	ck_assert_ptr_null(topo_parser_finish(p, err, sizeof(err)));
	ck_assert_str_eq(err, "line 4097: more than 4096 nodes");
}
END_TEST

START_TEST(network_checks)
{
	char text[2048];
	expect_err("", "no nodes (empty topology)");
	expect_err("# only a comment\n\n  \n", "no nodes (empty topology)");

	snprintf(text, sizeof(text),
	         "a mix 1 10.0.0.2:1 %s\nb mix 2 10.0.0.3:1 %s\nc mix 3 10.0.0.4:1 %s\n",
	         K[0], K[1], K[2]);
	expect_err(text, "no gateway");

	snprintf(text, sizeof(text),
	         "g gateway 10.0.0.1:1 %s\na mix 1 10.0.0.2:1 %s\nc mix 3 10.0.0.4:1 %s\n",
	         K[0], K[1], K[2]);
	expect_err(text, "no mix in layer 2");

	snprintf(text, sizeof(text), "g gateway 10.0.0.1:1 %s\n", K[0]);
	expect_err(text, "no mix in layer 1");

	/* A bad last line without a newline is reported by finish. */
	snprintf(text, sizeof(text), "g gateway 10.0.0.1:1 %s\n\nx", K[0]);
	expect_err(text, "line 3: too few fields (expected ID gateway HOST:PORT "
	           "PUBKEY or ID mix LAYER HOST:PORT PUBKEY)");
}
END_TEST

START_TEST(lookups)
{
	char err[256] = "";
	struct topology *t = parse_str(good_text(), err, sizeof(err));
	ck_assert_msg(t != NULL, "%s", err);
	for (size_t i = 0; i < t->n; i++) {
		const struct topo_node *n = &t->nodes[i];
		ck_assert_ptr_eq(topo_by_id(t, n->id), n);
		ck_assert_ptr_eq(topo_by_name(t, n->name), n);
		ck_assert_ptr_eq(topo_by_pk(t, n->pk), n);
		ck_assert_ptr_eq(topo_by_pk(t, KB[i]), n);
	}
	uint8_t id[PKT_ID_BYTES] = "nope";
	ck_assert_ptr_null(topo_by_id(t, id));
	ck_assert_ptr_null(topo_by_name(t, "nope"));
	ck_assert_ptr_null(topo_by_name(t, "GW1"));
	ck_assert_ptr_null(topo_by_name(t, ""));
	ck_assert_ptr_null(topo_by_name(t, "bad name"));
	ck_assert_ptr_null(topo_by_pk(t, KB[8]));
	ck_assert_ptr_null(topo_random_mix(t, 0));
	ck_assert_ptr_null(topo_random_mix(t, 4));
	topo_free(t);
}
END_TEST

START_TEST(round_trip)
{
	char err[256] = "", line[256], text[4096] = "";
	struct topology *t = parse_str(good_text(), err, sizeof(err));
	ck_assert_msg(t != NULL, "%s", err);
	snprintf(text, sizeof(text), "gw1 gateway 127.0.0.1:7001 %s", K[0]);
	ck_assert_str_eq(topo_node_line(&t->nodes[0], line, sizeof(line)), text);
	snprintf(text, sizeof(text), "m3a mix 3 [::1]:7301 %s", K[6]);
	ck_assert_str_eq(topo_node_line(&t->nodes[6], line, sizeof(line)), text);
	text[0] = 0;
	for (size_t i = 0; i < t->n; i++) {
		strcat(text, topo_node_line(&t->nodes[i], line, sizeof(line)));
		strcat(text, "\n");
	}
	struct topology *u = parse_str(text, err, sizeof(err));
	ck_assert_msg(u != NULL, "%s", err);
	ck_assert_uint_eq(u->n, t->n);
	for (size_t i = 0; i < t->n; i++)
		ck_assert(same_node(&u->nodes[i], &t->nodes[i]));
	topo_free(u);
	topo_free(t);
}
END_TEST

START_TEST(route)
{
	char err[256] = "";
	struct topology *t = parse_str(good_text(), err, sizeof(err));
	ck_assert_msg(t != NULL, "%s", err);
	const struct topo_node *gw = topo_by_name(t, "gw2");
	int seen[8] = { 0 }, gseen[2] = { 0 };
	for (int k = 0; k < 200; k++) {
		struct pkt_hop r[PKT_HOPS];
		memset(r, 0xaa, sizeof(r));
		topo_route(t, gw, r);
		for (int l = 0; l < TOPO_LAYERS; l++) {
			const struct topo_node *n = topo_by_id(t, r[l].id);
			ck_assert_ptr_nonnull(n);
			ck_assert_int_eq(n->role, TOPO_MIX);
			ck_assert_int_eq(n->layer, l + 1);
			ck_assert_mem_eq(r[l].pk, n->pk, PKT_KEY_BYTES);
			ck_assert_uint_eq(r[l].delay_us, 0);
			seen[n - t->nodes]++;
		}
		ck_assert_mem_eq(r[3].id, gw->id, PKT_ID_BYTES);
		ck_assert_mem_eq(r[3].pk, gw->pk, PKT_KEY_BYTES);
		ck_assert_uint_eq(r[3].delay_us, 0);

		const struct topo_node *g = topo_random_gateway(t);
		ck_assert_int_eq(g->role, TOPO_GATEWAY);
		gseen[g - t->nodes]++;
	}
	/* Both mixes of each layer, and both gateways, get picked: a miss
	 * has probability 2^-199 for each. */
	for (int i = 2; i < 8; i++)
		ck_assert_int_gt(seen[i], 0);
	ck_assert_int_gt(gseen[0], 0);
	ck_assert_int_gt(gseen[1], 0);
	topo_free(t);
}
END_TEST

START_TEST(ipv6)
{
	char text[2048], err[256] = "", line[256];
	snprintf(text, sizeof(text),
	         "g gateway [2001:DB8:0:0::1]:443 %s\n"
	         "a mix 1 [::]:1 %s\n"
	         "b mix 2 [fe80::1:2:3:4]:65535 %s\n"
	         "c mix 3 [::ffff:10.0.0.1]:9 %s\n",
	         K[0], K[1], K[2], K[3]);
	struct topology *t = parse_str(text, err, sizeof(err));
	ck_assert_msg(t != NULL, "%s", err);
	ck_assert_int_eq(t->nodes[0].addr.ss_family, AF_INET6);
	ck_assert_uint_eq(t->nodes[0].addrlen, sizeof(struct sockaddr_in6));
	ck_assert_str_eq(t->nodes[0].addr_text, "[2001:db8::1]:443");
	ck_assert_str_eq(t->nodes[1].addr_text, "[::]:1");
	ck_assert_str_eq(t->nodes[2].addr_text, "[fe80::1:2:3:4]:65535");
	ck_assert_str_eq(t->nodes[3].addr_text, "[::ffff:10.0.0.1]:9");
	snprintf(text, sizeof(text), "g gateway [2001:db8::1]:443 %s", K[0]);
	ck_assert_str_eq(topo_node_line(&t->nodes[0], line, sizeof(line)), text);
	topo_free(t);

	expect_err("g gateway [2001:db8::1] x\n",
	           "line 1: bad address '[2001:db8::1]': IPv6 address must be written [addr]:port");
	expect_err("g gateway [2001:db8::1]:0 x\n",
	           "line 1: bad address '[2001:db8::1]:0': port must be a number from 1 to 65535");
}
END_TEST

START_TEST(load)
{
	char path[] = "/tmp/test_topology.XXXXXX", err[512] = "", want[512];
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	const char *text = good_text();
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	struct topology *t = topo_load(path, err, sizeof(err));
	ck_assert_msg(t != NULL, "%s", err);
	check_good(t);
	topo_free(t);

	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "g gateway 10.0.0.1:1 %s\n\n# x\ng mix 1 10.0.0.2:1 %s\n", K[0], K[1]);
	fclose(f);
	ck_assert_ptr_null(topo_load(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: line 4: duplicate id 'g' (first on line 1)", path);
	ck_assert_str_eq(err, want);

	f = fopen(path, "w");
	fprintf(f, "g gateway 10.0.0.1:1 %s\n", K[0]);
	fclose(f);
	ck_assert_ptr_null(topo_load(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: no mix in layer 1", path);
	ck_assert_str_eq(err, want);

	unlink(path);
	ck_assert_ptr_null(topo_load(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	ck_assert_str_eq(err, want);

	ck_assert_ptr_null(topo_load("/", err, sizeof(err)));
	ck_assert_str_eq(err, "/: Is a directory");

	/* A small error buffer truncates, never overflows. */
	char small[8];
	ck_assert_ptr_null(topo_load(path, small, sizeof(small)));
	ck_assert_uint_eq(strlen(small), 7);
}
END_TEST

Suite *suite_topology(void);

Suite *suite_topology(void)
{
	Suite *s = suite_create("topology");
	TCase *tc = tcase_create("parse");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, good_whole);
	tcase_add_test(tc, good_bytewise);
	tcase_add_test(tc, comments_blank);
	tcase_add_loop_test(tc, bad_line, 0, (int)(sizeof(bad_lines) / sizeof(bad_lines[0])));
	tcase_add_test(tc, duplicates);
	tcase_add_test(tc, long_line_nul);
	tcase_add_test(tc, too_many_nodes);
	tcase_add_test(tc, network_checks);
	suite_add_tcase(s, tc);

	tc = tcase_create("use");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, lookups);
	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, route);
	tcase_add_test(tc, ipv6);
	tcase_add_test(tc, load);
	suite_add_tcase(s, tc);
	return s;
}
