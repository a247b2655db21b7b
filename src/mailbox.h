/* mailbox — what a gateway keeps for a client that is away or busy.
 *
 * A client's mailbox holds its deliveries (each PKT_BYTES), oldest
 * first, under a bound of its own; a pool counts the mail of all the
 * mailboxes that share it, under a bound for them all.  At either bound
 * the client's own oldest mail makes room: end-to-end retransmission
 * recovers it, and fresh mail is the more useful; so a client cannot
 * push out another's mail, and one with none to give up gets none kept.
 * Mail is wiped as it goes.  Time is the caller's (microseconds). */
#ifndef MIXPROXY_MAILBOX_H
#define MIXPROXY_MAILBOX_H

#include <stddef.h>
#include <stdint.h>

#include "list.h"

struct mail_pool {
	uint64_t max_each;   /* mail per mailbox */
	uint64_t max_total;  /* mail in all of them */
	uint64_t total;      /* mail in all of them now */
};

struct mailbox {
	struct list mail;    /* struct mail, oldest first */
	size_t n;
};

void mailbox_init(struct mailbox *mb);
/* Keep a copy of the delivery dlv, received at t_us: 0, or 1 when the
 * mailbox's oldest went to make room, or -1 when it was not kept (the
 * pool is full and this mailbox empty). */
int mailbox_put(struct mail_pool *p, struct mailbox *mb, const uint8_t *dlv, uint64_t t_us);
/* The oldest delivery (and when it came, if t_us), or NULL. */
const uint8_t *mailbox_oldest(const struct mailbox *mb, uint64_t *t_us);
/* Drop the oldest (there must be one). */
void mailbox_pop(struct mail_pool *p, struct mailbox *mb);
/* Drop what came before cutoff_us; how many went. */
size_t mailbox_expire(struct mail_pool *p, struct mailbox *mb, uint64_t cutoff_us);
/* mb's mail now counts in pool to, not from, whatever to's bounds (the
 * owner bounds what may move: it goes out as it is delivered). */
void mailbox_move(struct mail_pool *from, struct mail_pool *to, struct mailbox *mb);
/* Drop everything. */
void mailbox_clear(struct mail_pool *p, struct mailbox *mb);

#endif
