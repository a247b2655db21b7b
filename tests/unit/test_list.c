/* Unit tests for list.h: the empty list, order of push_back, push_front
 * and insert_before, removal from the ends and the middle, and what
 * "linked" means for a zeroed node and after a removal. */
#include <check.h>
#include <string.h>

#include "list.h"

struct item {
	int v;
	struct list node; /* not first: list_entry must subtract the offset */
};

/* The values in the list, front to back, and checked back to front too
 * (so every prev pointer is right); the count. */
static size_t values(struct list *head, int *out, size_t max)
{
	size_t n = 0;
	for (struct list *l = head->next; l != head; l = l->next) {
		ck_assert_uint_lt(n, max);
		ck_assert_ptr_eq(l->next->prev, l);
		out[n++] = list_entry(l, struct item, node)->v;
	}
	size_t back = n;
	for (struct list *l = head->prev; l != head; l = l->prev) {
		ck_assert_uint_gt(back, 0);
		ck_assert_int_eq(list_entry(l, struct item, node)->v, out[--back]);
	}
	ck_assert_uint_eq(back, 0);
	return n;
}

#define ASSERT_VALUES(head, ...)                                            \
	do {                                                                \
		const int want_[] = { __VA_ARGS__ };                        \
		int got_[16];                                               \
		size_t n_ = values(head, got_, 16);                         \
		ck_assert_uint_eq(n_, sizeof(want_) / sizeof(want_[0]));    \
		for (size_t i_ = 0; i_ < n_; i_++)                          \
			ck_assert_int_eq(got_[i_], want_[i_]);              \
	} while (0)

START_TEST(empty_list)
{
	struct list head;
	list_init(&head);
	ck_assert(list_empty(&head));
	ck_assert_ptr_eq(head.next, &head);
	ck_assert_ptr_eq(head.prev, &head);
	int got[1];
	ck_assert_uint_eq(values(&head, got, 1), 0);
}
END_TEST

START_TEST(zeroed_node_is_unlinked)
{
	struct item it;
	memset(&it, 0, sizeof(it));
	ck_assert(!list_linked(&it.node));
	ck_assert_ptr_eq(list_entry(&it.node, struct item, node), &it);
}
END_TEST

START_TEST(push_back_order)
{
	struct list head;
	struct item it[4] = { { .v = 0 }, { .v = 1 }, { .v = 2 }, { .v = 3 } };
	list_init(&head);
	for (int i = 0; i < 4; i++) {
		list_push_back(&head, &it[i].node);
		ck_assert(list_linked(&it[i].node));
		ck_assert(!list_empty(&head));
	}
	ASSERT_VALUES(&head, 0, 1, 2, 3);
	ck_assert_ptr_eq(list_entry(head.next, struct item, node), &it[0]);
	ck_assert_ptr_eq(list_entry(head.prev, struct item, node), &it[3]);
}
END_TEST

START_TEST(push_front_order)
{
	struct list head;
	struct item it[3] = { { .v = 0 }, { .v = 1 }, { .v = 2 } };
	list_init(&head);
	for (int i = 0; i < 3; i++)
		list_push_front(&head, &it[i].node);
	ASSERT_VALUES(&head, 2, 1, 0);
}
END_TEST

START_TEST(insert_before)
{
	struct list head;
	struct item it[5] = { { .v = 0 }, { .v = 1 }, { .v = 2 }, { .v = 3 }, { .v = 4 } };
	list_init(&head);
	list_push_back(&head, &it[1].node);
	list_push_back(&head, &it[3].node);
	list_insert_before(&it[3].node, &it[2].node);  /* the middle */
	list_insert_before(&it[1].node, &it[0].node);  /* the first: the new front */
	list_insert_before(&head, &it[4].node);        /* the head: the tail */
	ASSERT_VALUES(&head, 0, 1, 2, 3, 4);
}
END_TEST

START_TEST(remove_middle_and_ends)
{
	struct list head;
	struct item it[5] = { { .v = 0 }, { .v = 1 }, { .v = 2 }, { .v = 3 }, { .v = 4 } };
	list_init(&head);
	for (int i = 0; i < 5; i++)
		list_push_back(&head, &it[i].node);

	list_remove(&it[2].node);
	ASSERT_VALUES(&head, 0, 1, 3, 4);
	list_remove(&it[0].node);
	ASSERT_VALUES(&head, 1, 3, 4);
	list_remove(&it[4].node);
	ASSERT_VALUES(&head, 1, 3);
	list_remove(&it[1].node);
	list_remove(&it[3].node);
	ck_assert(list_empty(&head));
	ck_assert_ptr_eq(head.next, &head);
	ck_assert_ptr_eq(head.prev, &head);
}
END_TEST

START_TEST(unlinked_after_remove)
{
	struct list head;
	struct item a = { .v = 1 }, b = { .v = 2 };
	list_init(&head);
	list_push_back(&head, &a.node);
	list_push_back(&head, &b.node);
	list_remove(&a.node);
	ck_assert(!list_linked(&a.node));
	ck_assert_ptr_null(a.node.next);
	ck_assert_ptr_null(a.node.prev);
	ck_assert(list_linked(&b.node));
	/* The only node: its pointers are the head's, still linked. */
	ck_assert_ptr_eq(b.node.next, &head);
	list_remove(&b.node);
	ck_assert(!list_linked(&b.node));
	/* An unlinked node goes back in, anywhere. */
	list_push_front(&head, &b.node);
	list_push_front(&head, &a.node);
	ASSERT_VALUES(&head, 1, 2);
}
END_TEST

Suite *suite_list(void);

Suite *suite_list(void)
{
	Suite *s = suite_create("list");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, empty_list);
	tcase_add_test(tc, zeroed_node_is_unlinked);
	tcase_add_test(tc, push_back_order);
	tcase_add_test(tc, push_front_order);
	tcase_add_test(tc, insert_before);
	tcase_add_test(tc, remove_middle_and_ends);
	tcase_add_test(tc, unlinked_after_remove);
	suite_add_tcase(s, tc);
	return s;
}
