/* Unit tests for mailbox: order, the per-mailbox and the shared bound
 * (each mailbox gives up its own oldest), expiry, clearing. */
#include <check.h>
#include <string.h>

#include "mailbox.h"
#include "packet.h"

static uint8_t dlv[PKT_BYTES];

/* A delivery whose first byte is seq. */
static const uint8_t *mk(uint8_t seq)
{
	memset(dlv, 0, sizeof(dlv));
	dlv[0] = seq;
	return dlv;
}

static int first_byte(const struct mailbox *mb)
{
	const uint8_t *d = mailbox_oldest(mb, NULL);
	return d ? d[0] : -1;
}

START_TEST(test_order_and_bounds)
{
	struct mail_pool p = { .max_each = 3, .max_total = 4 };
	struct mailbox a, b;
	uint64_t t;
	mailbox_init(&a);
	mailbox_init(&b);
	ck_assert_ptr_null(mailbox_oldest(&a, NULL));

	/* Five into a bound of three: the newest three stay, oldest first. */
	ck_assert_int_eq(mailbox_put(&p, &a, mk(1), 10), 0);
	ck_assert_int_eq(mailbox_put(&p, &a, mk(2), 20), 0);
	ck_assert_int_eq(mailbox_put(&p, &a, mk(3), 30), 0);
	ck_assert_int_eq(mailbox_put(&p, &a, mk(4), 40), 1);
	ck_assert_int_eq(mailbox_put(&p, &a, mk(5), 50), 1);
	ck_assert_uint_eq(a.n, 3);
	ck_assert_uint_eq(p.total, 3);
	ck_assert_ptr_nonnull(mailbox_oldest(&a, &t));
	ck_assert_uint_eq(t, 30);
	ck_assert_int_eq(first_byte(&a), 3);

	/* The pool's bound: b gets one; then b makes room from its own, and
	 * a's mail stays. */
	ck_assert_int_eq(mailbox_put(&p, &b, mk(11), 60), 0);
	ck_assert_int_eq(mailbox_put(&p, &b, mk(12), 70), 1);
	ck_assert_uint_eq(b.n, 1);
	ck_assert_int_eq(first_byte(&b), 12);
	ck_assert_uint_eq(a.n, 3);
	ck_assert_uint_eq(p.total, 4);

	/* A mailbox with nothing to give up gets nothing kept. */
	struct mailbox c;
	mailbox_init(&c);
	ck_assert_int_eq(mailbox_put(&p, &c, mk(21), 80), -1);
	ck_assert_uint_eq(c.n, 0);
	ck_assert_uint_eq(p.total, 4);

	/* Taken in order. */
	for (int i = 3; i <= 5; i++) {
		ck_assert_int_eq(first_byte(&a), i);
		mailbox_pop(&p, &a);
	}
	ck_assert_ptr_null(mailbox_oldest(&a, NULL));
	ck_assert_uint_eq(p.total, 1);
	mailbox_clear(&p, &b);
	ck_assert_uint_eq(b.n, 0);
	ck_assert_uint_eq(p.total, 0);
}
END_TEST

START_TEST(test_expire)
{
	struct mail_pool p = { .max_each = 10, .max_total = 10 };
	struct mailbox a;
	mailbox_init(&a);
	for (uint8_t i = 1; i <= 5; i++)
		mailbox_put(&p, &a, mk(i), (uint64_t)i * 100);
	ck_assert_uint_eq(mailbox_expire(&p, &a, 300), 2);
	ck_assert_int_eq(first_byte(&a), 3);
	ck_assert_uint_eq(mailbox_expire(&p, &a, 300), 0);
	ck_assert_uint_eq(mailbox_expire(&p, &a, 1000), 3);
	ck_assert_uint_eq(a.n, 0);
	ck_assert_uint_eq(p.total, 0);
	mailbox_clear(&p, &a);
}
END_TEST

Suite *suite_mailbox(void)
{
	Suite *s = suite_create("mailbox");
	TCase *tc = tcase_create("mailbox");
	tcase_add_test(tc, test_order_and_bounds);
	tcase_add_test(tc, test_expire);
	suite_add_tcase(s, tc);
	return s;
}
