/* list — an intrusive doubly linked list, circular through a head node,
 * as the Linux kernel's list_head.
 *
 * The node is a field of the object it links (a message, a session), so
 * linking never allocates and cannot fail, and list_entry gets the object
 * back from the node.  The head is a node that is no object: with it the
 * first, the last and the only node need no special cases, and an empty
 * list is a head that points at itself.
 *
 * A node in no list has NULL pointers, as calloc leaves it, and
 * list_remove sets them back to NULL: list_linked tells whether an object
 * is queued without a flag beside the node that could disagree with it.
 * (The kernel's list_del leaves them pointing into the list instead.)
 *
 * A head must be list_init'ed before use, and not copied or moved after:
 * its nodes point at it.  Not <sys/queue.h>: musl does not ship it. */
#ifndef MIXPROXY_LIST_H
#define MIXPROXY_LIST_H

#include <stddef.h>

struct list {
	struct list *prev, *next;
};

/* The object of type `type` whose field `member` is the node ptr. */
#define list_entry(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

static inline void list_init(struct list *head)
{
	head->prev = head->next = head;
}

static inline int list_empty(const struct list *head)
{
	return head->next == head;
}

/* Is node n in a list?  (Of a node, not of a head.) */
static inline int list_linked(const struct list *n)
{
	return n->next != NULL;
}

/* Link n (not linked) just before at, a node or the head: before the
 * head is at the tail. */
static inline void list_insert_before(struct list *at, struct list *n)
{
	n->prev = at->prev;
	n->next = at;
	at->prev->next = n;
	at->prev = n;
}

static inline void list_push_back(struct list *head, struct list *n)
{
	list_insert_before(head, n);
}

static inline void list_push_front(struct list *head, struct list *n)
{
	list_insert_before(head->next, n);
}

/* Unlink n, which must be linked; it reads as unlinked after. */
static inline void list_remove(struct list *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->prev = n->next = NULL;
}

#endif
