/* Unit tests of the packet layer: lion, replay filter, packets, SURBs. */
#include <check.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "lion.h"
#include "packet.h"
#include "replay.h"

#define NOW 29000000u /* Unix minutes, ~2025 */

struct net {
	uint8_t sk[PKT_HOPS][32];
	struct pkt_hop route[PKT_HOPS];
	uint8_t dst_sk[32], dst_pk[32];
};

static void net_make(struct net *n)
{
	static const char *names[PKT_HOPS] = { "mix1", "mix2", "mix3", "gw-exit" };
	ck_assert_int_ge(sodium_init(), 0);
	for (int i = 0; i < PKT_HOPS; i++) {
		crypto_box_keypair(n->route[i].pk, n->sk[i]);
		ck_assert_int_eq(pkt_id_from_str(n->route[i].id, names[i]), 0);
		n->route[i].delay_us = 1000u * (unsigned)(i + 1);
	}
	n->route[PKT_HOPS - 1].delay_us = 0;
	crypto_box_keypair(n->dst_pk, n->dst_sk);
}

static void body_make(uint8_t body[PKT_BODY_BYTES], uint8_t seed)
{
	for (size_t i = 0; i < PKT_BODY_BYTES; i++)
		body[i] = (uint8_t)(i * 7 + seed);
}

/* Run a packet through all hops; returns the first error or PKT_OK. */
static int walk(struct net *n, uint8_t pkt[PKT_BYTES], struct replay *rf,
                int *failed_at)
{
	for (int i = 0; i < PKT_HOPS; i++) {
		struct pkt_hop_result r;
		int rc = pkt_process(pkt, PKT_BYTES, n->sk[i], rf, NOW, &r);
		if (rc != PKT_OK) {
			if (failed_at)
				*failed_at = i;
			return rc;
		}
		ck_assert_uint_eq(r.delay_us, n->route[i].delay_us);
		if (i < PKT_HOPS - 1) {
			ck_assert_int_eq(r.action, PKT_RELAY);
			ck_assert_mem_eq(r.addr, n->route[i + 1].id, PKT_ID_BYTES);
		} else {
			ck_assert_int_eq(r.action, PKT_DELIVER);
			ck_assert_mem_eq(r.addr, n->dst_pk, 32);
		}
	}
	return PKT_OK;
}

START_TEST(test_lion_roundtrip)
{
	uint8_t key[LION_KEY_BYTES], a[PKT_PAYLOAD_BYTES], b[PKT_PAYLOAD_BYTES];
	randombytes_buf(key, sizeof(key));
	randombytes_buf(a, sizeof(a));
	memcpy(b, a, sizeof(a));
	lion_fwd(key, b, sizeof(b));
	ck_assert(memcmp(a, b, sizeof(a)) != 0);
	lion_inv(key, b, sizeof(b));
	ck_assert_mem_eq(a, b, sizeof(a));
	/* One flipped bit anywhere changes (nearly) every byte of the output. */
	for (size_t pos = 0; pos < sizeof(a); pos += 97) {
		uint8_t c[PKT_PAYLOAD_BYTES];
		memcpy(b, a, sizeof(a));
		memcpy(c, a, sizeof(a));
		c[pos] ^= 0x01;
		lion_fwd(key, b, sizeof(b));
		lion_fwd(key, c, sizeof(c));
		size_t same = 0;
		for (size_t i = 0; i < sizeof(a); i++)
			same += b[i] == c[i];
		ck_assert_uint_lt(same, 40);
	}
}
END_TEST

START_TEST(test_forward_roundtrip)
{
	struct net n;
	uint8_t pkt[PKT_BYTES], body[PKT_BODY_BYTES], out[PKT_BODY_BYTES];
	net_make(&n);
	body_make(body, 3);
	ck_assert_int_eq(pkt_create(pkt, n.route, n.dst_pk, body, sizeof(body), NOW), PKT_OK);
	ck_assert_int_eq(walk(&n, pkt, NULL, NULL), PKT_OK);
	ck_assert_int_eq(pkt_open(pkt, PKT_BYTES, n.dst_sk, out), PKT_OK);
	ck_assert_mem_eq(body, out, PKT_BODY_BYTES);
}
END_TEST

START_TEST(test_forward_other_recipient_cannot_read)
{
	struct net n;
	uint8_t pkt[PKT_BYTES], body[PKT_BODY_BYTES], out[PKT_BODY_BYTES];
	uint8_t pk2[32], sk2[32];
	net_make(&n);
	crypto_box_keypair(pk2, sk2);
	body_make(body, 4);
	ck_assert_int_eq(pkt_create(pkt, n.route, n.dst_pk, body, sizeof(body), NOW), PKT_OK);
	ck_assert_int_eq(walk(&n, pkt, NULL, NULL), PKT_OK);
	ck_assert_int_eq(pkt_open(pkt, PKT_BYTES, sk2, out), PKT_ERR_PAYLOAD);
}
END_TEST

START_TEST(test_packets_differ)
{
	/* Two packets of the same body on the same route share no header or
	 * payload bytes beyond chance: nothing links them. */
	struct net n;
	uint8_t p1[PKT_BYTES], p2[PKT_BYTES], body[PKT_BODY_BYTES];
	net_make(&n);
	body_make(body, 5);
	ck_assert_int_eq(pkt_create(p1, n.route, n.dst_pk, body, sizeof(body), NOW), PKT_OK);
	ck_assert_int_eq(pkt_create(p2, n.route, n.dst_pk, body, sizeof(body), NOW), PKT_OK);
	size_t same = 0;
	for (size_t i = 0; i < PKT_BYTES; i++)
		same += p1[i] == p2[i];
	ck_assert_uint_lt(same, 40);
}
END_TEST

START_TEST(test_header_tamper_every_position)
{
	struct net n;
	uint8_t orig[PKT_BYTES], pkt[PKT_BYTES], body[PKT_BODY_BYTES];
	net_make(&n);
	body_make(body, 6);
	ck_assert_int_eq(pkt_create(orig, n.route, n.dst_pk, body, sizeof(body), NOW), PKT_OK);
	for (size_t pos = 0; pos < PKT_HEADER_BYTES; pos++) {
		struct pkt_hop_result r;
		memcpy(pkt, orig, PKT_BYTES);
		pkt[pos] ^= (uint8_t)(1u << (pos % 8));
		int rc = pkt_process(pkt, PKT_BYTES, n.sk[0], NULL, NOW, &r);
		/* alpha changes give another secret (or a low-order point). */
		if (pos < 32)
			ck_assert_msg(rc == PKT_ERR_MAC || rc == PKT_ERR_KEY, "pos %zu rc %d", pos, rc);
		else
			ck_assert_msg(rc == PKT_ERR_MAC, "pos %zu rc %d", pos, rc);
	}
}
END_TEST

START_TEST(test_header_tamper_at_later_hops)
{
	/* A mix that alters the header it forwards is caught by the next hop. */
	struct net n;
	uint8_t orig[PKT_BYTES], pkt[PKT_BYTES], body[PKT_BODY_BYTES];
	net_make(&n);
	body_make(body, 7);
	ck_assert_int_eq(pkt_create(orig, n.route, n.dst_pk, body, sizeof(body), NOW), PKT_OK);
	for (int hop = 1; hop < PKT_HOPS; hop++) {
		for (size_t pos = 0; pos < PKT_HEADER_BYTES; pos += 13) {
			struct pkt_hop_result r;
			memcpy(pkt, orig, PKT_BYTES);
			for (int i = 0; i < hop; i++)
				ck_assert_int_eq(pkt_process(pkt, PKT_BYTES, n.sk[i], NULL, NOW, &r), PKT_OK);
			pkt[pos] ^= 0x80;
			int rc = pkt_process(pkt, PKT_BYTES, n.sk[hop], NULL, NOW, &r);
			ck_assert_msg(rc == PKT_ERR_MAC || rc == PKT_ERR_KEY,
			              "hop %d pos %zu rc %d", hop, pos, rc);
		}
	}
}
END_TEST

START_TEST(test_payload_tamper_every_position)
{
	struct net n;
	uint8_t orig[PKT_BYTES], pkt[PKT_BYTES], body[PKT_BODY_BYTES], out[PKT_BODY_BYTES];
	net_make(&n);
	body_make(body, 8);
	ck_assert_int_eq(pkt_create(orig, n.route, n.dst_pk, body, sizeof(body), NOW), PKT_OK);
	for (size_t pos = PKT_HEADER_BYTES; pos < PKT_BYTES; pos++) {
		memcpy(pkt, orig, PKT_BYTES);
		pkt[pos] ^= (uint8_t)(1u << (pos % 8));
		/* Hops cannot see payload tampering: they pass it on ... */
		ck_assert_int_eq(walk(&n, pkt, NULL, NULL), PKT_OK);
		/* ... and the recipient catches it. */
		ck_assert_msg(pkt_open(pkt, PKT_BYTES, n.dst_sk, out) == PKT_ERR_PAYLOAD,
		              "pos %zu", pos);
	}
}
END_TEST

START_TEST(test_payload_tamper_midway)
{
	struct net n;
	uint8_t pkt[PKT_BYTES], body[PKT_BODY_BYTES], out[PKT_BODY_BYTES];
	struct pkt_hop_result r;
	net_make(&n);
	body_make(body, 9);
	ck_assert_int_eq(pkt_create(pkt, n.route, n.dst_pk, body, sizeof(body), NOW), PKT_OK);
	ck_assert_int_eq(pkt_process(pkt, PKT_BYTES, n.sk[0], NULL, NOW, &r), PKT_OK);
	ck_assert_int_eq(pkt_process(pkt, PKT_BYTES, n.sk[1], NULL, NOW, &r), PKT_OK);
	pkt[PKT_BYTES - 1] ^= 1;
	ck_assert_int_eq(pkt_process(pkt, PKT_BYTES, n.sk[2], NULL, NOW, &r), PKT_OK);
	ck_assert_int_eq(pkt_process(pkt, PKT_BYTES, n.sk[3], NULL, NOW, &r), PKT_OK);
	ck_assert_int_eq(pkt_open(pkt, PKT_BYTES, n.dst_sk, out), PKT_ERR_PAYLOAD);
}
END_TEST

START_TEST(test_delivery_tamper)
{
	/* The exit gateway (or anyone before the client) altering a delivery. */
	struct net n;
	uint8_t orig[PKT_BYTES], pkt[PKT_BYTES], body[PKT_BODY_BYTES], out[PKT_BODY_BYTES];
	net_make(&n);
	body_make(body, 10);
	ck_assert_int_eq(pkt_create(orig, n.route, n.dst_pk, body, sizeof(body), NOW), PKT_OK);
	ck_assert_int_eq(walk(&n, orig, NULL, NULL), PKT_OK);
	for (size_t pos = 0; pos < 32 + 16 + PKT_PAYLOAD_BYTES; pos += 7) {
		if (pos >= 32 && pos < 48)
			continue; /* the tag is only a look-up key */
		memcpy(pkt, orig, PKT_BYTES);
		pkt[pos] ^= 0x04;
		int rc = pkt_open(pkt, PKT_BYTES, n.dst_sk, out);
		ck_assert_msg(rc == PKT_ERR_PAYLOAD || rc == PKT_ERR_KEY, "pos %zu rc %d", pos, rc);
	}
}
END_TEST

START_TEST(test_wrong_key)
{
	struct net n;
	uint8_t pkt[PKT_BYTES], body[PKT_BODY_BYTES];
	struct pkt_hop_result r;
	net_make(&n);
	body_make(body, 11);
	ck_assert_int_eq(pkt_create(pkt, n.route, n.dst_pk, body, sizeof(body), NOW), PKT_OK);
	ck_assert_int_eq(pkt_process(pkt, PKT_BYTES, n.sk[1], NULL, NOW, &r), PKT_ERR_MAC);
	ck_assert_int_eq(pkt_process(pkt, PKT_BYTES, n.dst_sk, NULL, NOW, &r), PKT_ERR_MAC);
}
END_TEST

START_TEST(test_sizes_rejected)
{
	struct net n;
	uint8_t pkt[PKT_BYTES + 1], body[PKT_BODY_BYTES + 1], out[PKT_BODY_BYTES];
	struct pkt_hop_result r;
	net_make(&n);
	body_make(body, 12);
	ck_assert_int_eq(pkt_create(pkt, n.route, n.dst_pk, body, PKT_BODY_BYTES - 1, NOW), PKT_ERR_SIZE);
	ck_assert_int_eq(pkt_create(pkt, n.route, n.dst_pk, body, PKT_BODY_BYTES + 1, NOW), PKT_ERR_SIZE);
	ck_assert_int_eq(pkt_create(pkt, n.route, n.dst_pk, body, PKT_BODY_BYTES, NOW), PKT_OK);
	ck_assert_int_eq(pkt_process(pkt, 0, n.sk[0], NULL, NOW, &r), PKT_ERR_SIZE);
	ck_assert_int_eq(pkt_process(pkt, PKT_BYTES - 1, n.sk[0], NULL, NOW, &r), PKT_ERR_SIZE);
	ck_assert_int_eq(pkt_process(pkt, PKT_BYTES + 1, n.sk[0], NULL, NOW, &r), PKT_ERR_SIZE);
	ck_assert_int_eq(pkt_open(pkt, PKT_BYTES - 1, n.dst_sk, out), PKT_ERR_SIZE);
	ck_assert_int_eq(surb_use(pkt, SURB_BYTES - 1, body, PKT_BODY_BYTES, pkt, body), PKT_ERR_SIZE);
	ck_assert_int_eq(pkt_delivery_tag(pkt, 5, body), PKT_ERR_SIZE);
}
END_TEST

START_TEST(test_garbage_and_zero_alpha)
{
	struct net n;
	uint8_t pkt[PKT_BYTES];
	struct pkt_hop_result r;
	net_make(&n);
	memset(pkt, 0, sizeof(pkt));
	ck_assert_int_eq(pkt_process(pkt, PKT_BYTES, n.sk[0], NULL, NOW, &r), PKT_ERR_KEY);
	for (int i = 0; i < 50; i++) {
		randombytes_buf(pkt, sizeof(pkt));
		int rc = pkt_process(pkt, PKT_BYTES, n.sk[0], NULL, NOW, &r);
		ck_assert(rc == PKT_ERR_MAC || rc == PKT_ERR_KEY);
	}
}
END_TEST

START_TEST(test_bad_route)
{
	struct net n;
	uint8_t pkt[PKT_BYTES], body[PKT_BODY_BYTES], surb[SURB_BYTES];
	struct surb_secret sec;
	net_make(&n);
	body_make(body, 13);
	memset(n.route[2].id, 0, PKT_ID_BYTES);
	ck_assert_int_eq(pkt_create(pkt, n.route, n.dst_pk, body, sizeof(body), NOW), PKT_ERR_ARG);
	ck_assert_int_eq(surb_create(surb, &sec, n.route, n.dst_pk, NOW), PKT_ERR_ARG);
	net_make(&n);
	memset(n.route[1].pk, 0, 32); /* low-order point */
	ck_assert_int_eq(pkt_create(pkt, n.route, n.dst_pk, body, sizeof(body), NOW), PKT_ERR_ARG);
	net_make(&n);
	memset(n.dst_pk, 0, 32);
	ck_assert_int_eq(pkt_create(pkt, n.route, n.dst_pk, body, sizeof(body), NOW), PKT_ERR_ARG);
}
END_TEST

START_TEST(test_replay)
{
	struct net n;
	uint8_t pkt[PKT_BYTES], copy[PKT_BYTES], body[PKT_BODY_BYTES];
	struct pkt_hop_result r;
	struct replay *rf = replay_new(16, 4, 10);
	ck_assert_ptr_nonnull(rf);
	net_make(&n);
	body_make(body, 14);
	ck_assert_int_eq(pkt_create(pkt, n.route, n.dst_pk, body, sizeof(body), NOW), PKT_OK);
	memcpy(copy, pkt, PKT_BYTES);
	ck_assert_int_eq(pkt_process(pkt, PKT_BYTES, n.sk[0], rf, NOW, &r), PKT_OK);
	ck_assert_int_eq(pkt_process(copy, PKT_BYTES, n.sk[0], rf, NOW, &r), PKT_ERR_REPLAY);
	/* The processed packet replayed at the next hop is fresh there once. */
	memcpy(copy, pkt, PKT_BYTES);
	ck_assert_int_eq(pkt_process(pkt, PKT_BYTES, n.sk[1], rf, NOW, &r), PKT_OK);
	ck_assert_int_eq(pkt_process(copy, PKT_BYTES, n.sk[1], rf, NOW, &r), PKT_ERR_REPLAY);
	struct replay_stats st;
	replay_get_stats(rf, &st);
	ck_assert_uint_eq(st.fresh, 2);
	ck_assert_uint_eq(st.seen, 2);
	replay_free(rf);
}
END_TEST

START_TEST(test_expiry)
{
	struct net n;
	uint8_t pkt[PKT_BYTES], copy[PKT_BYTES], body[PKT_BODY_BYTES];
	struct pkt_hop_result r;
	struct replay *rf = replay_new(16, 4, 10); /* window >= 20 minutes */
	net_make(&n);
	body_make(body, 15);
	ck_assert_uint_eq(replay_max_age_min(rf), 20);
	ck_assert_int_eq(pkt_create(pkt, n.route, n.dst_pk, body, sizeof(body), NOW), PKT_OK);
	memcpy(copy, pkt, PKT_BYTES);
	ck_assert_int_eq(pkt_process(pkt, PKT_BYTES, n.sk[0], rf, NOW + 40, &r), PKT_ERR_EXPIRED);
	ck_assert_int_eq(pkt_process(copy, PKT_BYTES, n.sk[0], rf, NOW - 20, &r), PKT_ERR_EXPIRED);
	memcpy(pkt, copy, PKT_BYTES);
	ck_assert_int_eq(pkt_process(pkt, PKT_BYTES, n.sk[0], rf, NOW + 20, &r), PKT_OK);
	replay_free(rf);
}
END_TEST

START_TEST(test_replay_filter_generations)
{
	struct replay *rf = replay_new(12, 3, 1);
	uint8_t tag[16] = { 1 };
	ck_assert_ptr_nonnull(rf);
	ck_assert_int_eq(replay_check(rf, tag, 100, 100), REPLAY_FRESH);
	ck_assert_int_eq(replay_check(rf, tag, 100, 100), REPLAY_SEEN);
	ck_assert_int_eq(replay_check(rf, tag, 100, 101), REPLAY_SEEN);
	/* Generation 100 leaves the window at 102: expired, not forgotten. */
	ck_assert_int_eq(replay_check(rf, tag, 100, 102), REPLAY_EXPIRED);
	ck_assert_int_eq(replay_check(rf, tag, 102, 102), REPLAY_FRESH);
	ck_assert_int_eq(replay_check(rf, tag, 103, 102), REPLAY_FRESH);
	ck_assert_int_eq(replay_check(rf, tag, 104, 102), REPLAY_EXPIRED);
	ck_assert_ptr_null(replay_new(9, 3, 1));
	ck_assert_ptr_null(replay_new(12, 2, 1));
	ck_assert_ptr_null(replay_new(12, 3, 0));
	/* Memory is fixed whatever the load; no false negatives. */
	size_t mem = replay_memory_bytes(rf);
	uint8_t t[16] = { 0 };
	for (uint32_t i = 0; i < 5000; i++) {
		memcpy(t, &i, sizeof(i));
		replay_check(rf, t, 103, 103);
	}
	for (uint32_t i = 0; i < 5000; i++) {
		memcpy(t, &i, sizeof(i));
		ck_assert_int_eq(replay_check(rf, t, 103, 103), REPLAY_SEEN);
	}
	ck_assert_uint_eq(replay_memory_bytes(rf), mem);
	struct replay_stats st;
	replay_get_stats(rf, &st);
	ck_assert_uint_gt(st.overloaded, 0);
	replay_free(rf);
}
END_TEST

START_TEST(test_surb_roundtrip)
{
	struct net n;
	uint8_t surb[SURB_BYTES], pkt[PKT_BYTES], body[PKT_BODY_BYTES], out[PKT_BODY_BYTES];
	uint8_t first[PKT_ID_BYTES], tag[PKT_TAG_BYTES];
	struct surb_secret sec;
	net_make(&n);
	body_make(body, 16);
	ck_assert_int_eq(surb_create(surb, &sec, n.route, n.dst_pk, NOW), PKT_OK);
	/* The holder knows only the reply block. */
	ck_assert_int_eq(surb_use(surb, SURB_BYTES, body, sizeof(body), pkt, first), PKT_OK);
	ck_assert_mem_eq(first, n.route[0].id, PKT_ID_BYTES);
	ck_assert_int_eq(walk(&n, pkt, NULL, NULL), PKT_OK);
	ck_assert_int_eq(pkt_delivery_tag(pkt, PKT_BYTES, tag), PKT_OK);
	ck_assert_mem_eq(tag, sec.tag, PKT_TAG_BYTES);
	ck_assert_int_eq(surb_open(pkt, PKT_BYTES, &sec, out), PKT_OK);
	ck_assert_mem_eq(out, body, PKT_BODY_BYTES);
	/* The recipient key alone does not read a reply. */
	ck_assert_int_eq(pkt_open(pkt, PKT_BYTES, n.dst_sk, out), PKT_ERR_PAYLOAD);
}
END_TEST

START_TEST(test_surb_tamper_and_single_use)
{
	struct net n;
	uint8_t surb[SURB_BYTES], pkt[PKT_BYTES], pkt2[PKT_BYTES];
	uint8_t body[PKT_BODY_BYTES], out[PKT_BODY_BYTES], first[PKT_ID_BYTES];
	struct surb_secret sec, other;
	struct pkt_hop_result r;
	struct replay *rf = replay_new(16, 4, 10);
	net_make(&n);
	body_make(body, 17);
	ck_assert_int_eq(surb_create(surb, &sec, n.route, n.dst_pk, NOW), PKT_OK);
	ck_assert_int_eq(surb_use(surb, SURB_BYTES, body, sizeof(body), pkt, first), PKT_OK);
	ck_assert_int_eq(surb_use(surb, SURB_BYTES, body, sizeof(body), pkt2, first), PKT_OK);
	/* Single use: a second packet on the same block is a replay at hop 1. */
	ck_assert_int_eq(walk(&n, pkt, rf, NULL), PKT_OK);
	ck_assert_int_eq(pkt_process(pkt2, PKT_BYTES, n.sk[0], rf, NOW, &r), PKT_ERR_REPLAY);
	/* A reply tampered with in flight fails at the creator. */
	pkt[100] ^= 1;
	ck_assert_int_eq(surb_open(pkt, PKT_BYTES, &sec, out), PKT_ERR_PAYLOAD);
	/* Another block's secret does not open it. */
	memcpy(&other, &sec, sizeof(sec));
	other.surb_key[0] ^= 1;
	pkt[100] ^= 1;
	ck_assert_int_eq(surb_open(pkt, PKT_BYTES, &other, out), PKT_ERR_PAYLOAD);
	other.tag[0] ^= 1;
	ck_assert_int_eq(surb_open(pkt, PKT_BYTES, &other, out), PKT_ERR_ARG);
	ck_assert_int_eq(surb_open(pkt, PKT_BYTES, &sec, out), PKT_OK);
	/* A reply block with a malformed first hop is refused. */
	surb[0] = '!';
	ck_assert_int_eq(surb_use(surb, SURB_BYTES, body, sizeof(body), pkt, first), PKT_ERR_FORMAT);
	replay_free(rf);
}
END_TEST

START_TEST(test_ids)
{
	uint8_t id[PKT_ID_BYTES];
	ck_assert_int_eq(pkt_id_from_str(id, "gw-1.a_b"), 0);
	ck_assert(pkt_id_valid(id));
	ck_assert_int_eq(pkt_id_from_str(id, ""), -1);
	ck_assert_int_eq(pkt_id_from_str(id, "a b"), -1);
	ck_assert_int_eq(pkt_id_from_str(id, "0123456789012345678901234567890"), 0);
	ck_assert_int_eq(pkt_id_from_str(id, "01234567890123456789012345678901"), -1);
	memset(id, 0, sizeof(id));
	ck_assert(!pkt_id_valid(id));
	id[0] = 'a';
	id[5] = 'b'; /* bytes after the NUL */
	ck_assert(!pkt_id_valid(id));
	ck_assert_str_eq(pkt_strerror(PKT_ERR_REPLAY), "replayed packet");
}
END_TEST

START_TEST(test_first_hop_builder)
{
	struct net n;
	uint8_t pkt[PKT_BYTES], alpha[32];
	struct pkt_hop_result r;
	net_make(&n);
	randombytes_buf(alpha, sizeof(alpha));
	ck_assert_int_eq(pkt_create_first_hop(pkt, &n.route[0], n.route[1].id, alpha, NOW), PKT_OK);
	ck_assert_int_eq(pkt_process(pkt, PKT_BYTES, n.sk[0], NULL, NOW, &r), PKT_OK);
	ck_assert_int_eq(r.action, PKT_RELAY);
	ck_assert_mem_eq(r.addr, n.route[1].id, PKT_ID_BYTES);
	ck_assert_uint_eq(r.delay_us, n.route[0].delay_us);
	ck_assert_mem_eq(pkt, alpha, 32);
	uint8_t bad[PKT_ID_BYTES] = { 0 };
	ck_assert_int_eq(pkt_create_first_hop(pkt, &n.route[0], bad, alpha, NOW), PKT_ERR_ARG);
}
END_TEST

Suite *suite_packet(void)
{
	Suite *s = suite_create("packet");
	TCase *tc = tcase_create("packet");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_lion_roundtrip);
	tcase_add_test(tc, test_forward_roundtrip);
	tcase_add_test(tc, test_forward_other_recipient_cannot_read);
	tcase_add_test(tc, test_packets_differ);
	tcase_add_test(tc, test_header_tamper_every_position);
	tcase_add_test(tc, test_header_tamper_at_later_hops);
	tcase_add_test(tc, test_payload_tamper_every_position);
	tcase_add_test(tc, test_payload_tamper_midway);
	tcase_add_test(tc, test_delivery_tamper);
	tcase_add_test(tc, test_wrong_key);
	tcase_add_test(tc, test_sizes_rejected);
	tcase_add_test(tc, test_garbage_and_zero_alpha);
	tcase_add_test(tc, test_bad_route);
	tcase_add_test(tc, test_replay);
	tcase_add_test(tc, test_expiry);
	tcase_add_test(tc, test_replay_filter_generations);
	tcase_add_test(tc, test_surb_roundtrip);
	tcase_add_test(tc, test_surb_tamper_and_single_use);
	tcase_add_test(tc, test_ids);
	tcase_add_test(tc, test_first_hop_builder);
	suite_add_tcase(s, tc);
	return s;
}
