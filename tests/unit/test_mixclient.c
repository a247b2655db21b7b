/* Unit tests of the mixnet client's addresses and its packet-body parser
 * (fed directly; the network tests are tests/integration/mixclient.sh). */
#include <check.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "ev.h"
#include "mixclient.h"
#include "topology.h"

static struct topology *make_topo(void)
{
	char text[2048], k[B58_KEY_CHARS], err[256];
	uint8_t pk[32], sk[32];
	const char *lines[] = { "gw1 gateway 127.0.0.1:9", "m1 mix 1 127.0.0.1:10",
	                        "m2 mix 2 127.0.0.1:11", "m3 mix 3 127.0.0.1:12" };
	text[0] = 0;
	for (size_t i = 0; i < 4; i++) {
		crypto_box_keypair(pk, sk);
		strcat(text, lines[i]);
		strcat(text, " ");
		strcat(text, key_to_str(pk, k, sizeof(k)));
		strcat(text, "\n");
	}
	struct topo_parser *p = topo_parser_new();
	ck_assert_int_eq(topo_parser_feed(p, text, strlen(text), err, sizeof(err)), 0);
	struct topology *t = topo_parser_finish(p, err, sizeof(err));
	ck_assert_ptr_nonnull(t);
	return t;
}

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

static int got, got_len;
static struct mix_from last_from;

static int on_msg(struct mixclient *mc, const struct mix_from *from, const uint8_t *data,
                  size_t len, void *ctx)
{
	(void)mc;
	(void)data;
	(void)ctx;
	got++;
	got_len = (int)len;
	last_from = *from;
	return 0;
}

static const struct mixclient_cbs cbs = { .on_message = on_msg };

static void body_data(uint8_t *b, uint64_t id, uint16_t len, uint8_t nsurbs, uint8_t nacks)
{
	memset(b, 0, PKT_BODY_BYTES);
	b[0] = 1; /* DATA */
	b[1] = nsurbs;
	b[2] = nacks;
	be16_put(b + 4, len);
	be32_put(b + 12, (uint32_t)id);
	memset(b + 16, 0xab, 16); /* sender tag */
}

START_TEST(test_body_parser)
{
	struct ev *ev = ev_new();
	struct topology *t = make_topo();
	struct keypair kp;
	struct mixclient_cfg cfg;
	const char *err;
	uint8_t b[PKT_BODY_BYTES];
	struct mixclient_stats st;

	keypair_generate(&kp);
	mixclient_cfg_defaults(&cfg);
	cfg.topo = t;
	cfg.kp = &kp;
	cfg.fast = 1;
	cfg.cbs = &cbs;
	struct mixclient *mc = mixclient_new(ev, &cfg, &err);
	ck_assert_ptr_nonnull(mc);
	got = 0;

	/* A good message, then the same again: delivered once. */
	body_data(b, 1, 100, 0, 0);
	ck_assert_int_eq(mixclient_feed_body(mc, b, sizeof(b)), 0);
	ck_assert_int_eq(got, 1);
	ck_assert_int_eq(got_len, 100);
	ck_assert_int_eq(last_from.reply, 0);
	ck_assert_int_eq(last_from.tag[0], 0xab);
	ck_assert_int_eq(mixclient_feed_body(mc, b, sizeof(b)), 0);
	ck_assert_int_eq(got, 1);
	mixclient_get_stats(mc, &st);
	ck_assert_uint_eq(st.duplicates, 1);

	/* Out of order ids are each delivered once. */
	body_data(b, 3, 10, 0, 0);
	mixclient_feed_body(mc, b, sizeof(b));
	body_data(b, 2, 10, 0, 0);
	mixclient_feed_body(mc, b, sizeof(b));
	mixclient_feed_body(mc, b, sizeof(b));
	ck_assert_int_eq(got, 3);

	/* Malformed: lengths that do not fit, too many blocks, unknown kind. */
	body_data(b, 4, MIX_MSG_MAX + 1, 0, 0);
	mixclient_feed_body(mc, b, sizeof(b));
	body_data(b, 5, 1000, 3, 0);
	mixclient_feed_body(mc, b, sizeof(b));
	body_data(b, 6, 0, 4, 0);
	mixclient_feed_body(mc, b, sizeof(b));
	body_data(b, 7, 100, 0, 255);
	mixclient_feed_body(mc, b, sizeof(b));
	body_data(b, 8, 10, 0, 0);
	b[0] = 99;
	mixclient_feed_body(mc, b, sizeof(b));
	ck_assert_int_eq(got, 3);
	mixclient_get_stats(mc, &st);
	ck_assert_uint_eq(st.undecodable, 5);
	ck_assert_int_eq(mixclient_feed_body(mc, b, sizeof(b) - 1), -1);

	/* An id far ahead of the window is not taken now (it comes again). */
	body_data(b, 100000, 10, 0, 0);
	mixclient_feed_body(mc, b, sizeof(b));
	ck_assert_int_eq(got, 3);
	/* ... until the sender's floor says everything below 99990 was acked
	 * or given up: the window moves, and the id is taken (one given-up
	 * message must not hold a sender back for good). */
	be32_put(b + 36, 99990);
	mixclient_feed_body(mc, b, sizeof(b));
	ck_assert_int_eq(got, 4);
	/* Below the floor now: a duplicate. */
	body_data(b, 4, 10, 0, 0);
	mixclient_feed_body(mc, b, sizeof(b));
	ck_assert_int_eq(got, 4);
	/* Blocks whose first hop is not a layer-1 mix are not kept. */
	mixclient_get_stats(mc, &st);
	uint64_t undec = st.undecodable;
	body_data(b, 100001, 10, 1, 0);
	memset(b + 40, 0, 560); /* a reply block with no valid first hop */
	mixclient_feed_body(mc, b, sizeof(b));
	ck_assert_int_eq(got, 5);
	mixclient_get_stats(mc, &st);
	ck_assert_uint_eq(st.undecodable, undec + 1);
	ck_assert_uint_eq(st.surbs_received, 0);

	/* Sending: too big, and the window. */
	struct mix_addr to;
	mixclient_address(mc, &to);
	uint8_t big[MIX_MSG_MAX + 1] = { 0 };
	ck_assert_int_eq(mixclient_send(mc, &to, big, sizeof(big), NULL), -1);
	ck_assert_int_eq(mixclient_room(mc), cfg.window);
	for (unsigned i = 0; i < cfg.window; i++)
		ck_assert_int_eq(mixclient_send(mc, &to, big, 10, NULL), 0);
	ck_assert_int_eq(mixclient_send(mc, &to, big, 10, NULL), -1);
	ck_assert_uint_eq(mixclient_pending(mc), cfg.window);
	/* A reply to an unknown sender is refused. */
	uint8_t tag[MIX_TAG_BYTES] = { 1 };
	ck_assert_int_eq(mixclient_reply(mc, tag, big, 10, NULL), -1);

	mixclient_free(mc);
	ev_run_once(ev, 0);
	ev_free(ev);
	topo_free(t);
}
END_TEST

START_TEST(test_identity)
{
	char dir[] = "/tmp/mixclient-id.XXXXXX", sub[64], path[128], err[256];
	struct keypair a, b;
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sub, sizeof(sub), "%s/client", dir);
	ck_assert_int_eq(mixclient_identity_load(sub, &a, err, sizeof(err)), 0);
	ck_assert_int_eq(mixclient_identity_load(sub, &b, err, sizeof(err)), 0);
	ck_assert_mem_eq(a.pk, b.pk, 32); /* the same address after a restart */
	snprintf(path, sizeof(path), "%s/identity.key", sub);
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(stat(sub, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0700);
	chmod(path, 0644);
	ck_assert_int_eq(mixclient_identity_load(sub, &b, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "group or others"));
	ck_assert_int_eq(mixclient_identity_load(path, &b, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "not a directory"));
	unlink(path);
	rmdir(sub);
	rmdir(dir);
}
END_TEST

Suite *suite_mixclient(void)
{
	Suite *s = suite_create("mixclient");
	TCase *tc = tcase_create("mixclient");
	tcase_add_test(tc, test_addr);
	tcase_add_test(tc, test_body_parser);
	tcase_add_test(tc, test_identity);
	suite_add_tcase(s, tc);
	return s;
}
