/* Unit tests of mixpeer: acks owed once and bounded, their echo; an
 * address needs a gateway of the topology; a full table of senders lets
 * a newcomer in by evicting the least recently useful idle one, and
 * reports one with replies out; a sender's packets are taken once; its
 * stock keeps the newest blocks; the secrets of one address are bounded;
 * the sweep expires blocks, secrets, acks and idle peers on the clock it
 * is given. */
#include <check.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "htab.h"
#include "mixpeer.h"
#include "testtopo.h"
#include "topology.h"

#define T0 (1000ull * 1000000) /* a clock that starts well past 0 */

static struct topology *topo;
static struct mixclient_stats st;
static unsigned forgotten;
static struct conv *forgotten_cv;

static void on_forget(struct conv *cv, void *ctx)
{
	(void)ctx;
	forgotten++;
	forgotten_cv = cv;
}

static void setup(void)
{
	topo = testtopo_new(1, 0, NULL);
	memset(&st, 0, sizeof(st));
	forgotten = 0;
	forgotten_cv = NULL;
}

static void teardown(void)
{
	topo_free(topo);
}

static void tag_of(uint8_t tag[MIX_TAG_BYTES], unsigned i)
{
	memset(tag, 0, MIX_TAG_BYTES);
	memcpy(tag, &i, sizeof(i));
	tag[MIX_TAG_BYTES - 1] = 0xa5;
}

static void addr_of(struct mix_addr *a, const char *gw, unsigned i)
{
	memset(a, 0, sizeof(*a));
	memcpy(a->pk, &i, sizeof(i));
	const struct topo_node *n = topo_by_name(topo, gw);
	if (n)
		memcpy(a->gw, n->id, PKT_ID_BYTES);
	else
		memcpy(a->gw, "nosuchgw", 8);
}

START_TEST(test_acks_once_bounded)
{
	struct conv cv;
	memset(&cv, 0, sizeof(cv));
	conv_owe_ack(&cv, 7);
	conv_owe_ack(&cv, 7);
	ck_assert_uint_eq(cv.nacks, 1);
	for (uint64_t i = 100; i < 100 + MIXPEER_ACKS_MAX; i++)
		conv_owe_ack(&cv, i);
	ck_assert_uint_eq(cv.nacks, MIXPEER_ACKS_MAX);
	ck_assert_uint_eq(cv.acks[0], 100); /* 7, the oldest, gave way */
	ck_assert_uint_eq(cv.acks[MIXPEER_ACKS_MAX - 1], 100 + MIXPEER_ACKS_MAX - 1);
	ck_assert_uint_eq(cv.acks_cap, MIXPEER_ACKS_MAX);
	conv_free(&cv);
	ck_assert_ptr_null(cv.acks);
}
END_TEST

START_TEST(test_acks_echo)
{
	struct conv cv;
	struct mb_writer b;
	memset(&cv, 0, sizeof(cv));
	conv_owe_ack(&cv, 1 | 1ull << 56); /* id 1, try 1 */
	conv_owe_ack(&cv, 2 | 1ull << 56);
	mb_begin(&b, MB_ACK, 0, NULL);
	ck_assert_uint_eq(conv_put_acks(&cv, &b, 0), 2);
	ck_assert_uint_eq(b.nacks, 2);
	ck_assert_uint_eq(cv.nacks, 0);
	/* The copies to go once more name no try. */
	ck_assert_uint_eq(cv.necho, 2);
	ck_assert_uint_eq(cv.echo[0], 1);
	ck_assert_uint_eq(cv.echo[1], 2);
	/* The next packet carries them, and that is the last of them. */
	mb_begin(&b, MB_ACK, 0, NULL);
	ck_assert_uint_eq(conv_put_acks(&cv, &b, 0), 0);
	ck_assert_uint_eq(b.nacks, 2);
	ck_assert_uint_eq(cv.necho, 0);
	/* Room kept for a message: acks that do not fit stay owed. */
	for (uint64_t i = 1; i <= MIXPEER_ACKS_MAX; i++)
		conv_owe_ack(&cv, i);
	mb_begin(&b, MB_DATA, 1, NULL);
	unsigned k = conv_put_acks(&cv, &b, MIX_MSG_MAX);
	ck_assert_uint_lt(k, MIXPEER_ACKS_MAX);
	ck_assert_uint_eq(cv.nacks, MIXPEER_ACKS_MAX - k);
	ck_assert_uint_ge(mb_room(&b), MIX_MSG_MAX);
	conv_free(&cv);
}
END_TEST

START_TEST(test_out_needs_gateway)
{
	struct mixpeers ps;
	struct mix_addr a, bad, mix;
	mixpeers_init(&ps, NULL, topo, 16, &st, on_forget, NULL);
	addr_of(&a, "gw", 1);
	addr_of(&bad, "nosuch", 1);
	addr_of(&mix, "m1_0", 1);
	struct peer_out *p = peer_out_get(&ps, &a, T0);
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_eq(peer_out_get(&ps, &a, T0), p);
	ck_assert_ptr_eq(peer_out_find(&ps, &a), p);
	ck_assert_ptr_eq(conv_po(&p->cv), p);
	ck_assert_ptr_null(conv_pi(&p->cv));
	ck_assert_uint_eq(p->cv.next_id, 1);
	ck_assert_ptr_null(peer_out_get(&ps, &bad, T0));
	ck_assert_ptr_null(peer_out_get(&ps, &mix, T0)); /* a mix is no gateway */
	mixpeers_free(&ps);
}
END_TEST

/* A full table: the least recently useful idle sender goes for a
 * newcomer, not one that was touched since, nor one owed acks it has a
 * block for. */
START_TEST(test_evict_idle_first)
{
	struct mixpeers ps;
	uint8_t tag[MIX_TAG_BYTES], surb[SURB_BYTES];
	memset(surb, 1, sizeof(surb));
	mixpeers_init(&ps, NULL, topo, 16, &st, on_forget, NULL);
	for (unsigned i = 0; i < MIX_SENDERS_MAX; i++) {
		tag_of(tag, i);
		ck_assert_ptr_nonnull(peer_in_get(&ps, tag, T0 + i));
	}
	/* 0 is the oldest; it becomes the most useful; 1 is owed an ack it
	 * can be sent. */
	tag_of(tag, 0);
	struct peer_in *p0 = peer_in_find(&ps, tag);
	ck_assert_ptr_eq(conv_pi(&p0->cv), p0);
	ck_assert_uint_ne(p0->cv.epoch, 0);
	peer_in_touch(&ps, p0, T0 + MIX_SENDERS_MAX);
	tag_of(tag, 1);
	struct peer_in *p1 = peer_in_find(&ps, tag);
	ck_assert_int_eq(stock_put(&ps, p1, surb, T0, 1), 1);
	conv_owe_ack(&p1->cv, 5);
	tag_of(tag, MIX_SENDERS_MAX);
	ck_assert_ptr_nonnull(peer_in_get(&ps, tag, T0 + MIX_SENDERS_MAX + 1));
	ck_assert_uint_eq(htab_count(ps.ins), MIX_SENDERS_MAX);
	ck_assert_uint_eq(st.senders_evicted, 1);
	tag_of(tag, 0);
	ck_assert_ptr_nonnull(peer_in_find(&ps, tag));
	tag_of(tag, 1);
	ck_assert_ptr_nonnull(peer_in_find(&ps, tag));
	tag_of(tag, 2);
	ck_assert_ptr_null(peer_in_find(&ps, tag)); /* the idle one went */
	ck_assert_uint_eq(forgotten, 0);
	mixpeers_free(&ps);
}
END_TEST

/* Every sender has replies out: the least recently useful goes anyway,
 * and the owner hears of it to give them up. */
START_TEST(test_evict_reports_inflight)
{
	struct mixpeers ps;
	uint8_t tag[MIX_TAG_BYTES];
	mixpeers_init(&ps, NULL, topo, 16, &st, on_forget, NULL);
	struct conv *first = NULL;
	for (unsigned i = 0; i < MIX_SENDERS_MAX; i++) {
		tag_of(tag, i);
		struct peer_in *p = peer_in_get(&ps, tag, T0 + i);
		p->cv.inflight = 1;
		if (i == 0)
			first = &p->cv;
	}
	tag_of(tag, MIX_SENDERS_MAX);
	ck_assert_ptr_nonnull(peer_in_get(&ps, tag, T0 + MIX_SENDERS_MAX));
	ck_assert_uint_eq(forgotten, 1);
	ck_assert_ptr_eq(forgotten_cv, first);
	tag_of(tag, 0);
	ck_assert_ptr_null(peer_in_find(&ps, tag));
	mixpeers_free(&ps);
}
END_TEST

START_TEST(test_packets_once)
{
	struct mixpeers ps;
	uint8_t tag[MIX_TAG_BYTES];
	mixpeers_init(&ps, NULL, topo, 16, &st, on_forget, NULL);
	tag_of(tag, 9);
	struct peer_in *p = peer_in_get(&ps, tag, T0);
	ck_assert_int_eq(peer_in_fresh(&ps, p, 0, 0), 0);   /* no number */
	/* The first names a former state: it sets the start. */
	ck_assert_int_eq(peer_in_fresh(&ps, p, 500, 0), 1);
	ck_assert_int_eq(peer_in_fresh(&ps, p, 500, 0), 0);
	ck_assert_int_eq(peer_in_fresh(&ps, p, 499, 0), 0); /* sent to a former state */
	ck_assert_int_eq(peer_in_fresh(&ps, p, 502, 0), 1);
	ck_assert_int_eq(peer_in_fresh(&ps, p, 501, 0), 1);
	ck_assert_int_eq(peer_in_fresh(&ps, p, 501, 0), 0);
	ck_assert_int_eq(peer_in_fresh(&ps, p, 500 + 5 * RXWIN_IDS, 0), 1); /* far ahead moves it */
	ck_assert_int_eq(peer_in_fresh(&ps, p, 500 + 5 * RXWIN_IDS, 0), 0);
	ck_assert_int_eq(peer_in_fresh(&ps, p, 503, 0), 0);
	/* A sender that names no epoch starts at 1: its first packets
	 * arrive in any order, each taken once. */
	tag_of(tag, 10);
	p = peer_in_get(&ps, tag, T0);
	ck_assert_int_eq(peer_in_fresh(&ps, p, 3, 1), 1);
	ck_assert_int_eq(peer_in_fresh(&ps, p, 1, 1), 1);
	ck_assert_int_eq(peer_in_fresh(&ps, p, 2, 1), 1);
	ck_assert_int_eq(peer_in_fresh(&ps, p, 1, 1), 0);
	ck_assert_int_eq(peer_in_fresh(&ps, p, 3, 0), 0);
	mixpeers_free(&ps);
}
END_TEST

START_TEST(test_stock_newest)
{
	struct mixpeers ps;
	uint8_t tag[MIX_TAG_BYTES], surb[SURB_BYTES];
	mixpeers_init(&ps, NULL, topo, 16, &st, on_forget, NULL);
	tag_of(tag, 3);
	struct peer_in *p = peer_in_get(&ps, tag, T0);
	ck_assert_ptr_null(stock_peek(p));
	for (unsigned i = 0; i < MIXPEER_STOCK_MAX + 3; i++) {
		memset(surb, (int)i, sizeof(surb));
		ck_assert_int_eq(stock_put(&ps, p, surb, T0 + i, 1), 1);
	}
	ck_assert_uint_eq(stock_n(p), MIXPEER_STOCK_MAX);
	ck_assert_uint_eq(st.surbs_received, MIXPEER_STOCK_MAX + 3);
	ck_assert_uint_eq(st.surbs_expired, 3); /* the oldest gave way */
	ck_assert_uint_eq(stock_peek(p)[0], MIXPEER_STOCK_MAX + 2);
	stock_take(p);
	ck_assert_uint_eq(stock_peek(p)[0], MIXPEER_STOCK_MAX + 1);
	ck_assert_uint_eq(stock_n(p), MIXPEER_STOCK_MAX - 1);
	ck_assert_uint_ge(peer_in_want(p), MIXPEER_SURB_TARGET_MIN);
	ck_assert_uint_le(peer_in_want(p), MIXPEER_STOCK_MAX);
	mixpeers_free(&ps);
}
END_TEST

static struct surb_rec *new_secret(unsigned i)
{
	struct surb_rec *r = calloc(1, sizeof(*r));
	ck_assert_ptr_nonnull(r);
	memcpy(r->sec.tag, &i, sizeof(i));
	r->sec.tag[PKT_TAG_BYTES - 1] = 0x5a;
	return r;
}

/* One address keeps the secrets of the blocks in our last
 * MIXPEER_BLOCK_PKTS + 2 * window packets to it: those of an older
 * packet go with the first block of a packet that far past it. */
START_TEST(test_secrets_per_address)
{
	struct mixpeers ps;
	struct mix_addr a;
	const unsigned window = 16, keep = MIXPEER_BLOCK_PKTS + 2 * window;
	mixpeers_init(&ps, NULL, topo, window, &st, on_forget, NULL);
	addr_of(&a, "gw", 1);
	struct peer_out *p = peer_out_get(&ps, &a, T0);
	/* Three blocks in each of `keep` packets: all kept. */
	for (unsigned i = 0; i < 3 * keep; i++)
		ck_assert_int_eq(secret_keep(&ps, p, new_secret(i), T0, 1 + i / 3), 0);
	ck_assert_uint_eq(htab_count(ps.secrets), 3 * keep);
	ck_assert_uint_eq(st.surbs_expired, 0);
	/* A packet `keep` past the first: the first's three go. */
	ck_assert_int_eq(secret_keep(&ps, p, new_secret(3 * keep), T0, 1 + keep), 0);
	ck_assert_uint_eq(htab_count(ps.secrets), 3 * keep - 2);
	ck_assert_uint_eq(st.surbs_expired, 3);
	struct surb_rec *old = new_secret(2), *kept = new_secret(3), *last = new_secret(3 * keep);
	ck_assert_ptr_null(secret_find(&ps, old->sec.tag));
	ck_assert_ptr_nonnull(secret_find(&ps, kept->sec.tag));
	struct surb_rec *r = secret_find(&ps, last->sec.tag);
	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_eq(r->peer, p);
	secret_free(&ps, r);
	ck_assert_ptr_null(secret_find(&ps, last->sec.tag));
	/* One used meanwhile leaves its record behind; its packet's age
	 * takes that out too, counting nothing. */
	r = secret_find(&ps, kept->sec.tag);
	secret_free(&ps, r);
	ck_assert_int_eq(secret_keep(&ps, p, new_secret(3 * keep + 1), T0, 2 + keep), 0);
	ck_assert_uint_eq(st.surbs_expired, 5);
	ck_assert_uint_eq(fring_len(&p->secs), 3 * keep - 4);
	free(old);
	free(kept);
	free(last);
	ck_assert_int_eq(secrets_room(&ps), 1);
	mixpeers_free(&ps);
}
END_TEST

static int stock_has(const struct peer_in *p, uint8_t mark)
{
	for (size_t i = 0; i < fring_len(&p->stock); i++)
		if (((const struct stocked *)fring_at(&p->stock, i))->surb[0] == mark)
			return 1;
	return 0;
}

/* A holder drops a block once it takes a packet numbered
 * MIXPEER_BLOCK_PKTS past the block's (its creator may have forgotten
 * the secret), wherever the block sits in the stock, and takes none that
 * comes that late: what it holds, and says it holds, can all be used. */
START_TEST(test_stock_outdated)
{
	struct mixpeers ps;
	uint8_t tag[MIX_TAG_BYTES], surb[SURB_BYTES];
	mixpeers_init(&ps, NULL, topo, 16, &st, on_forget, NULL);
	tag_of(tag, 9);
	struct peer_in *p = peer_in_get(&ps, tag, T0);
	ck_assert_int_eq(peer_in_fresh(&ps, p, 1, 1), 1);
	for (uint8_t i = 1; i <= 3; i++) {
		memset(surb, i, sizeof(surb));
		ck_assert_int_eq(stock_put(&ps, p, surb, T0, 1), 1);
	}
	ck_assert_int_eq(peer_in_fresh(&ps, p, 2, 0), 1);
	memset(surb, 4, sizeof(surb));
	ck_assert_int_eq(stock_put(&ps, p, surb, T0, 2), 1);
	/* Packets with no blocks move the count too. */
	ck_assert_int_eq(peer_in_fresh(&ps, p, MIXPEER_BLOCK_PKTS, 0), 1);
	ck_assert_uint_eq(stock_n(p), 4);
	ck_assert_int_eq(peer_in_fresh(&ps, p, MIXPEER_BLOCK_PKTS + 1, 0), 1);
	ck_assert_uint_eq(stock_n(p), 1);
	ck_assert_uint_eq(st.surbs_expired, 3);
	ck_assert_uint_eq(stock_peek(p)[0], 4);
	/* Late: from a packet already outdated. */
	memset(surb, 5, sizeof(surb));
	ck_assert_int_eq(stock_put(&ps, p, surb, T0, 1), 0);
	ck_assert_uint_eq(stock_n(p), 1);
	ck_assert_uint_eq(st.surbs_expired, 4);
	/* Out of order: an older packet's block behind a newer one goes
	 * first, from the middle of the stock. */
	const uint64_t n = 2 * MIXPEER_BLOCK_PKTS;
	ck_assert_int_eq(peer_in_fresh(&ps, p, n + 10, 0), 1);   /* outdates 4 */
	ck_assert_uint_eq(stock_n(p), 0);
	memset(surb, 6, sizeof(surb));
	ck_assert_int_eq(stock_put(&ps, p, surb, T0, n + 10), 1);
	ck_assert_int_eq(peer_in_fresh(&ps, p, n + 5, 0), 1);
	memset(surb, 7, sizeof(surb));
	ck_assert_int_eq(stock_put(&ps, p, surb, T0, n + 5), 1);
	ck_assert_int_eq(peer_in_fresh(&ps, p, n + 11, 0), 1);
	memset(surb, 8, sizeof(surb));
	ck_assert_int_eq(stock_put(&ps, p, surb, T0, n + 11), 1);
	ck_assert_int_eq(peer_in_fresh(&ps, p, n + 5 + MIXPEER_BLOCK_PKTS, 0), 1);
	ck_assert_uint_eq(stock_n(p), 2);
	ck_assert(stock_has(p, 6) && stock_has(p, 8) && !stock_has(p, 7));
	ck_assert_uint_eq(stock_peek(p)[0], 8);
	ck_assert_uint_eq(st.surbs_expired, 6);
	mixpeers_free(&ps);
}
END_TEST

/* The sweep, on the clock it is given. */
START_TEST(test_sweep)
{
	struct mixpeers ps;
	struct mix_addr a;
	uint8_t tag[MIX_TAG_BYTES], surb[SURB_BYTES];
	memset(surb, 2, sizeof(surb));
	mixpeers_init(&ps, NULL, topo, 16, &st, on_forget, NULL);
	addr_of(&a, "gw", 1);
	struct peer_out *po = peer_out_get(&ps, &a, T0);
	struct surb_rec *r = new_secret(1);
	ck_assert_int_eq(secret_keep(&ps, po, r, T0, 1), 0);
	po->surbs_out = 1;
	tag_of(tag, 1);
	struct peer_in *pi = peer_in_get(&ps, tag, T0);
	stock_put(&ps, pi, surb, T0, 1);
	tag_of(tag, 2);
	struct peer_in *owed = peer_in_get(&ps, tag, T0);
	conv_owe_ack(&owed->cv, 9);
	owed->cv.ack_since = T0;
	/* Nothing is old yet. */
	mixpeers_sweep(&ps, T0 + 1000000, 60000000);
	ck_assert_uint_eq(htab_count(ps.secrets), 1);
	ck_assert_uint_eq(stock_n(pi), 1);
	ck_assert_uint_eq(owed->cv.nacks, 1);
	/* A peer timeout later: acks owed to a sender without blocks go. */
	mixpeers_sweep(&ps, T0 + 61000000, 60000000);
	ck_assert_uint_eq(owed->cv.nacks, 0);
	ck_assert_uint_eq(st.acks_expired, 1);
	/* Idle peers go, the address first, its secrets with it. */
	mixpeers_sweep(&ps, T0 + MIXPEER_OUT_IDLE_US + 1, 60000000);
	ck_assert_uint_eq(htab_count(ps.outs), 0);
	ck_assert_uint_eq(htab_count(ps.secrets), 0);
	ck_assert_uint_eq(htab_count(ps.ins), 2);
	ck_assert_uint_eq(stock_n(pi), 1);
	mixpeers_sweep(&ps, T0 + MIXPEER_IN_IDLE_US + 1, 60000000);
	ck_assert_uint_eq(htab_count(ps.ins), 0);
	ck_assert_uint_eq(forgotten, 0);
	/* A sender with a reply out stays, idle or not; its blocks expire. */
	tag_of(tag, 3);
	struct peer_in *busy = peer_in_get(&ps, tag, T0);
	busy->cv.inflight = 1;
	stock_put(&ps, busy, surb, T0, 1);
	mixpeers_sweep(&ps, T0 + MIXPEER_STOCK_LIFE_US, 60000000);
	ck_assert_uint_eq(stock_n(busy), 1);
	mixpeers_sweep(&ps, T0 + MIXPEER_STOCK_LIFE_US + 1, 60000000);
	ck_assert_uint_eq(stock_n(busy), 0);
	ck_assert_ptr_eq(peer_in_find(&ps, tag), busy);
	ck_assert_uint_gt(mixpeers_memory(&ps), sizeof(struct peer_in) - 1);
	mixpeers_free(&ps);
}
END_TEST

/* A secret outlives its peer_out's idleness only as long as its life. */
START_TEST(test_secret_expiry)
{
	struct mixpeers ps;
	struct mix_addr a;
	mixpeers_init(&ps, NULL, topo, 16, &st, on_forget, NULL);
	addr_of(&a, "gw", 2);
	struct peer_out *po = peer_out_get(&ps, &a, T0);
	po->cv.inflight = 1; /* keeps the address */
	ck_assert_int_eq(secret_keep(&ps, po, new_secret(7), T0, 1), 0);
	po->surbs_out = 1;
	mixpeers_sweep(&ps, T0 + MIXPEER_SECRET_LIFE_US, 60000000);
	ck_assert_uint_eq(htab_count(ps.secrets), 1);
	mixpeers_sweep(&ps, T0 + MIXPEER_SECRET_LIFE_US + 1, 60000000);
	ck_assert_uint_eq(htab_count(ps.secrets), 0);
	ck_assert_uint_eq(po->surbs_out, 0);
	ck_assert_uint_eq(st.surbs_expired, 1);
	mixpeers_free(&ps);
}
END_TEST

/* Blocks go unasked to a peer we talk to that has gone quiet, with
 * gaps that double up to 8 s, while it holds fewer than its target and
 * the cushion of 8; one that holds that many gets none. */
START_TEST(test_supply)
{
	struct mixpeers ps;
	struct mix_addr a;
	const uint64_t q = 250000; /* quiet after 250 ms */
	mixpeers_init(&ps, NULL, topo, 16, &st, on_forget, NULL);
	addr_of(&a, "gw", 1);
	struct peer_out *p = peer_out_get(&ps, &a, T0);
	ck_assert_ptr_nonnull(p);
	/* Never written to: nothing to supply. */
	ck_assert_int_eq(mixpeers_supply(&ps, T0 + 1000000, q), 0);
	p->cv.next_id = 2;
	p->cv.last_us = p->cv.heard_us = T0;
	p->surbs_out = p->target; /* its target, no cushion */
	uint64_t t = T0 + q + 1;
	ck_assert_int_eq(mixpeers_supply(&ps, t, q), 1);
	ck_assert_int_eq(p->resupply, 1);
	p->resupply = 0;
	ck_assert_int_eq(mixpeers_supply(&ps, t + q, q), 0);      /* the gap doubled */
	ck_assert_int_eq(mixpeers_supply(&ps, t + 2 * q + 1, q), 1);
	p->resupply = 0;
	/* It holds its target and the cushion: nothing more, however long
	 * it stays quiet. */
	p->surbs_out = p->target + 8;
	for (uint64_t s = 1; s <= 50; s++)
		ck_assert_int_eq(mixpeers_supply(&ps, t + s * 1000000, q), 0);
	ck_assert_int_eq(p->resupply, 0);
	/* A reply took one: it is short again. */
	p->surbs_out--;
	ck_assert_int_eq(mixpeers_supply(&ps, t + 51 * 1000000, q), 1);
	/* Not once the conversation has been over for a minute. */
	p->resupply = 0;
	ck_assert_int_eq(mixpeers_supply(&ps, T0 + 61 * 1000000, q), 0);
	mixpeers_free(&ps);
}
END_TEST

Suite *suite_mixpeer(void)
{
	Suite *s = suite_create("mixpeer");
	TCase *tc = tcase_create("mixpeer");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_acks_once_bounded);
	tcase_add_test(tc, test_acks_echo);
	tcase_add_test(tc, test_out_needs_gateway);
	tcase_add_test(tc, test_evict_idle_first);
	tcase_add_test(tc, test_evict_reports_inflight);
	tcase_add_test(tc, test_packets_once);
	tcase_add_test(tc, test_stock_newest);
	tcase_add_test(tc, test_secrets_per_address);
	tcase_add_test(tc, test_stock_outdated);
	tcase_add_test(tc, test_sweep);
	tcase_add_test(tc, test_secret_expiry);
	tcase_add_test(tc, test_supply);
	suite_add_tcase(s, tc);
	return s;
}
