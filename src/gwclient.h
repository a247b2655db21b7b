/* gwclient — the clients a gateway knows, and the mail it keeps for them.
 *
 * A DELIVER packet may name any key, so mail alone must not decide who
 * gets a place: a stranger who makes up keys could otherwise fill the
 * table and every mailbox, and lock honest clients out.  So a key is in
 * one of three states, each with its own bound:
 *
 *   stranger  mail came for it, it never attached (since the gateway
 *             started).  At most max_strangers of them, their mail in a
 *             pool of its own (stranger_mail).  At either bound the
 *             stranger heard of least recently goes, with its mail.
 *   attached  a link of the owner's is up with it.
 *   away      it attached and went.  Its mail waits in the clients' pool
 *             (mailbox_total), where strangers' mail never goes; it is
 *             remembered for mailbox_age after it went, mail or not.
 *
 * A key that attaches is always taken: a stranger becomes a client (its
 * mail moves to the clients' pool, which may so exceed mailbox_total by
 * at most stranger_mail, until it is delivered), a new one takes the
 * place of the client away longest when max_clients are known, and only
 * when all of them are attached (more links than max_clients) is it
 * refused.
 * Within a pool, a full mailbox or pool makes room with that mailbox's
 * own oldest (mailbox.h): no client's mail pushes out another's.
 *
 * Every state change goes through one function that logs "old -> new".
 * Time is the caller's (microseconds). */
#ifndef MIXPROXY_GWCLIENT_H
#define MIXPROXY_GWCLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "list.h"
#include "mailbox.h"
#include "packet.h"

enum gwc_state { GWC_STRANGER, GWC_ATTACHED, GWC_AWAY, GWC_NSTATES };

struct gwclient {
	uint8_t pk[PKT_KEY_BYTES];
	enum gwc_state st;
	void *link;              /* the owner's, while attached */
	struct list on_link;     /* the owner's: in its link's list while attached */
	struct mailbox mb;
	uint64_t since_us;       /* attached, went away, or (stranger) last mail */
	struct list lru;         /* in its state's list, least recent first */
};

struct gwc_limits {
	uint64_t max_clients;    /* attached and away together */
	uint64_t max_strangers;
	uint64_t mailbox_max;    /* mail per mailbox (both kinds) */
	uint64_t mailbox_total;  /* clients' pool */
	uint64_t stranger_mail;  /* strangers' pool */
	uint64_t mailbox_age_us; /* mail kept, and an away client remembered, this long */
};

struct gwc_stats {
	uint64_t strangers_evicted; /* pushed out, with their mail, by newer ones */
	uint64_t clients_forgotten; /* away, pushed out for a client that attached */
	uint64_t mail_evicted;      /* deliveries that went with them */
};

struct gwclients;

/* The limits are copied; each must be at least 1. */
struct gwclients *gwc_new(const struct gwc_limits *lim);
/* Wipes and frees all mail; the owner has closed the links. */
void gwc_free(struct gwclients *s);

struct gwclient *gwc_find(const struct gwclients *s, const uint8_t pk[PKT_KEY_BYTES]);

/* The entry mail for pk goes to: the one known, or a new stranger (the
 * least recent one goes to make room).  Never NULL: the table is sized
 * for both bounds. */
struct gwclient *gwc_for_mail(struct gwclients *s, const uint8_t pk[PKT_KEY_BYTES], uint64_t now_us);
/* Keep a copy of the delivery dlv for c: 0, or 1 when c's own oldest
 * went to make room, or -1 when it was not kept (c's pool is full and
 * its mailbox empty; for a stranger, only if it is the only one). */
int gwc_put(struct gwclients *s, struct gwclient *c, const uint8_t *dlv, uint64_t now_us);
/* c's oldest delivery, or NULL; gwc_pop drops it (there must be one). */
const uint8_t *gwc_oldest(const struct gwclient *c);
void gwc_pop(struct gwclients *s, struct gwclient *c);

/* pk attached on link: its entry, now attached; *old is the link it had
 * attached before (the owner closes it), else NULL.  NULL if every known
 * client is attached. */
struct gwclient *gwc_attach(struct gwclients *s, const uint8_t pk[PKT_KEY_BYTES], void *link,
                            void **old, uint64_t now_us);
/* c's link went: it is away. */
void gwc_detach(struct gwclients *s, struct gwclient *c, uint64_t now_us);

/* Drop mail older than mailbox_age, and forget away clients gone that
 * long with none left, and strangers with none.  The deliveries dropped. */
size_t gwc_sweep(struct gwclients *s, uint64_t now_us);

/* Iterate over all entries: *it starts at 0. */
struct gwclient *gwc_next(const struct gwclients *s, size_t *it);
size_t gwc_count(const struct gwclients *s, enum gwc_state st);
/* Deliveries kept: for clients (strangers 0), or for strangers (1). */
uint64_t gwc_mail_total(const struct gwclients *s, int strangers);
const struct gwc_stats *gwc_stats(const struct gwclients *s);
const char *gwc_state_name(enum gwc_state st);

#endif
