/* Unit tests for gwclient: the three kinds of key a gateway knows and
 * their bounds, on the test's own clock.  Made-up keys push out only
 * each other, least recent first; a client that attached keeps its mail;
 * a stranger that attaches brings its mail over, within the clients'
 * bounds; a client that attaches takes the place of the one away
 * longest; the sweep forgets what has aged. */
#include <check.h>
#include <string.h>

#include "gwclient.h"
#include "mailbox.h"
#include "packet.h"

static uint8_t dlv[PKT_BYTES];

static const uint8_t *mk(uint8_t seq)
{
	memset(dlv, 0, sizeof(dlv));
	dlv[0] = seq;
	return dlv;
}

static const uint8_t *key(unsigned i)
{
	static uint8_t pk[PKT_KEY_BYTES];
	memset(pk, 0, sizeof(pk));
	memcpy(pk, &i, sizeof(i));
	pk[31] = 0x5a;
	return pk;
}

static const struct gwc_limits lim = {
	.max_clients = 3, .max_strangers = 4, .mailbox_max = 3, .mailbox_total = 5,
	.stranger_mail = 6, .mailbox_age_us = 1000,
};

static int mail(struct gwclients *s, unsigned k, uint8_t seq, uint64_t now)
{
	struct gwclient *c = gwc_for_mail(s, key(k), now);
	ck_assert_ptr_nonnull(c);
	return gwc_put(s, c, mk(seq), now);
}

static size_t waiting(const struct gwclients *s, unsigned k)
{
	const struct gwclient *c = gwc_find(s, key(k));
	return c ? c->mb.n : 0;
}

START_TEST(test_strangers_push_each_other)
{
	struct gwclients *s = gwc_new(&lim);
	uint64_t t = 1;
	/* Two strangers fill the strangers' pool of six. */
	ck_assert_int_eq(mail(s, 1, 1, t++), 0);
	ck_assert_int_eq(mail(s, 1, 2, t++), 0);
	for (uint8_t i = 10; i < 13; i++)
		ck_assert_int_eq(mail(s, 2, i, t++), 0);
	ck_assert_int_eq(mail(s, 1, 3, t++), 0);
	ck_assert_uint_eq(gwc_mail_total(s, 1), 6);
	/* A third: the least recent (2, though it came second) goes. */
	ck_assert_int_eq(mail(s, 3, 20, t++), 0);
	ck_assert_ptr_null(gwc_find(s, key(2)));
	ck_assert_uint_eq(gwc_mail_total(s, 1), 4);
	ck_assert_uint_eq(gwc_stats(s)->strangers_evicted, 1);
	ck_assert_uint_eq(gwc_stats(s)->mail_evicted, 3);
	/* Four of four strangers, the pool full again; 1, heard of last,
	 * gives up its own oldest to its bound of three. */
	ck_assert_int_eq(mail(s, 4, 30, t++), 0);
	ck_assert_int_eq(mail(s, 5, 31, t++), 0);
	ck_assert_int_eq(mail(s, 1, 4, t++), 1);
	ck_assert_int_eq(gwc_oldest(gwc_find(s, key(1)))[0], 2);
	ck_assert_uint_eq(gwc_count(s, GWC_STRANGER), 4);
	/* A fifth stranger: the table's bound pushes out the least recent,
	 * 3, not 1. */
	ck_assert_int_eq(mail(s, 6, 40, t++), 0);
	ck_assert_ptr_null(gwc_find(s, key(3)));
	ck_assert_uint_eq(waiting(s, 1), 3);
	ck_assert_uint_eq(gwc_count(s, GWC_STRANGER), 4);
	ck_assert_uint_eq(gwc_mail_total(s, 1), 6);
	ck_assert_uint_eq(gwc_stats(s)->strangers_evicted, 2);
	ck_assert_uint_eq(gwc_stats(s)->mail_evicted, 4);
	/* None of it is in the clients' pool. */
	ck_assert_uint_eq(gwc_mail_total(s, 0), 0);
	gwc_free(s);
}
END_TEST

START_TEST(test_clients_keep_their_mail)
{
	struct gwclients *s = gwc_new(&lim);
	void *old, *link_a = (void *)0x1, *link_b = (void *)0x2;
	uint64_t t = 1;
	struct gwclient *a = gwc_attach(s, key(100), link_a, &old, t++);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_null(old);
	ck_assert_int_eq(a->st, GWC_ATTACHED);
	gwc_detach(s, a, t++);
	ck_assert_int_eq(a->st, GWC_AWAY);
	ck_assert_ptr_null(a->link);
	for (uint8_t i = 1; i <= 3; i++)
		ck_assert_int_eq(mail(s, 100, i, t++), 0);
	/* A flood of strangers: none of it reaches the client's mail. */
	for (unsigned k = 0; k < 100; k++)
		ck_assert_int_eq(mail(s, k, 50, t++), 0);
	ck_assert_uint_eq(waiting(s, 100), 3);
	ck_assert_uint_eq(gwc_mail_total(s, 0), 3);
	ck_assert_uint_eq(gwc_count(s, GWC_STRANGER), 4);
	/* It attaches again; a second link of the same key replaces the
	 * first, which the owner closes. */
	ck_assert_ptr_eq(gwc_attach(s, key(100), link_a, &old, t++), a);
	ck_assert_ptr_null(old);
	ck_assert_ptr_eq(gwc_attach(s, key(100), link_b, &old, t++), a);
	ck_assert_ptr_eq(old, link_a);
	ck_assert_ptr_eq(a->link, link_b);
	ck_assert_uint_eq(gwc_count(s, GWC_ATTACHED), 1);
	gwc_free(s);
}
END_TEST

START_TEST(test_stranger_attaches)
{
	struct gwclients *s = gwc_new(&lim);
	void *old;
	uint64_t t = 1;
	/* Two clients away hold four of the clients' five. */
	for (unsigned k = 200; k <= 201; k++) {
		gwc_detach(s, gwc_attach(s, key(k), (void *)1, &old, t), t);
		t++;
		mail(s, k, 1, t++);
		mail(s, k, 2, t++);
	}
	ck_assert_uint_eq(gwc_mail_total(s, 0), 4);
	/* A stranger with three attaches: all its mail comes over, to be
	 * delivered, though the clients' pool goes over its bound by it. */
	for (uint8_t i = 1; i <= 3; i++)
		mail(s, 7, i, t++);
	struct gwclient *c = gwc_attach(s, key(7), (void *)2, &old, t++);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(c->st, GWC_ATTACHED);
	ck_assert_uint_eq(c->mb.n, 3);
	ck_assert_int_eq(gwc_oldest(c)[0], 1);
	ck_assert_uint_eq(gwc_mail_total(s, 0), 7);
	ck_assert_uint_eq(gwc_mail_total(s, 1), 0);
	ck_assert_uint_eq(gwc_count(s, GWC_STRANGER), 0);
	for (int i = 0; i < 3; i++)
		gwc_pop(s, c);
	ck_assert_uint_eq(gwc_mail_total(s, 0), 4);
	/* The clients' pool is full again (one more): a client away with
	 * none gets none kept; strangers are not asked to make room. */
	gwc_detach(s, c, t++);
	mail(s, 200, 3, t++);
	ck_assert_int_eq(mail(s, 7, 9, t++), -1);
	ck_assert_uint_eq(waiting(s, 7), 0);
	gwc_free(s);
}
END_TEST

START_TEST(test_attach_bound)
{
	struct gwclients *s = gwc_new(&lim);
	void *old;
	uint64_t t = 1;
	struct gwclient *c[5];
	for (unsigned i = 0; i < 3; i++)
		ck_assert_ptr_nonnull(c[i] = gwc_attach(s, key(300 + i), (void *)1, &old, t++));
	/* Three attached of three: a fourth is refused. */
	ck_assert_ptr_null(gwc_attach(s, key(303), (void *)1, &old, t++));
	/* Two go; the one away longest makes room, with its mail. */
	gwc_detach(s, c[1], t++);
	gwc_detach(s, c[0], t++);
	mail(s, 301, 1, t++);
	ck_assert_ptr_nonnull(c[3] = gwc_attach(s, key(303), (void *)1, &old, t++));
	ck_assert_ptr_null(gwc_find(s, key(301)));
	ck_assert_ptr_nonnull(gwc_find(s, key(300)));
	ck_assert_uint_eq(gwc_stats(s)->clients_forgotten, 1);
	ck_assert_uint_eq(gwc_stats(s)->mail_evicted, 1);
	ck_assert_uint_eq(gwc_mail_total(s, 0), 0);
	/* Strangers never count against clients, nor hold a client out;
	 * one that attaches (409, the newest) is a client like any. */
	for (unsigned k = 0; k < 10; k++)
		mail(s, 400 + k, 1, t++);
	ck_assert_uint_eq(gwc_count(s, GWC_STRANGER), 4);
	ck_assert_ptr_nonnull(gwc_attach(s, key(409), (void *)1, &old, t++));
	ck_assert_uint_eq(gwc_count(s, GWC_STRANGER), 3);
	ck_assert_uint_eq(gwc_count(s, GWC_ATTACHED), 3);
	ck_assert_uint_eq(gwc_count(s, GWC_AWAY), 0);
	gwc_free(s);
}
END_TEST

START_TEST(test_sweep)
{
	struct gwclients *s = gwc_new(&lim);
	void *old;
	struct gwclient *a = gwc_attach(s, key(500), (void *)1, &old, 100);
	struct gwclient *b = gwc_attach(s, key(501), (void *)1, &old, 100);
	gwc_detach(s, a, 200);
	gwc_detach(s, b, 900);
	gwc_put(s, b, mk(1), 300);
	gwc_put(s, b, mk(2), 1000);
	mail(s, 9, 1, 250);
	mail(s, 10, 1, 1500);
	/* At 1400: mail before 400 is too old; a, away since 200 with
	 * none, is forgotten; b keeps its newer mail; stranger 9 has none
	 * left and goes. */
	ck_assert_uint_eq(gwc_sweep(s, 1400), 2);
	ck_assert_ptr_null(gwc_find(s, key(500)));
	ck_assert_ptr_nonnull(gwc_find(s, key(501)));
	ck_assert_ptr_null(gwc_find(s, key(9)));
	ck_assert_ptr_nonnull(gwc_find(s, key(10)));
	ck_assert_uint_eq(gwc_count(s, GWC_AWAY), 1);
	ck_assert_uint_eq(gwc_count(s, GWC_STRANGER), 1);
	/* At 2100, b's last mail has aged, and b has been away longer than
	 * the age: it goes; a client away since 1900 with none is kept. */
	struct gwclient *c = gwc_attach(s, key(502), (void *)1, &old, 1800);
	gwc_detach(s, c, 1900);
	ck_assert_uint_eq(gwc_sweep(s, 2100), 1);
	ck_assert_ptr_null(gwc_find(s, key(501)));
	ck_assert_ptr_nonnull(gwc_find(s, key(502)));
	ck_assert_ptr_nonnull(gwc_find(s, key(10)));
	ck_assert_uint_eq(gwc_sweep(s, 3000), 1);
	ck_assert_uint_eq(gwc_count(s, GWC_AWAY), 0);
	ck_assert_uint_eq(gwc_count(s, GWC_STRANGER), 0);
	ck_assert_uint_eq(gwc_mail_total(s, 0) + gwc_mail_total(s, 1), 0);
	gwc_free(s);
}
END_TEST

Suite *suite_gwclient(void)
{
	Suite *s = suite_create("gwclient");
	TCase *tc = tcase_create("gwclient");
	tcase_add_test(tc, test_strangers_push_each_other);
	tcase_add_test(tc, test_clients_keep_their_mail);
	tcase_add_test(tc, test_stranger_attaches);
	tcase_add_test(tc, test_attach_bound);
	tcase_add_test(tc, test_sweep);
	suite_add_tcase(s, tc);
	return s;
}
