/* mixpeer — whom a mixnet client talks to, and what it keeps for each:
 * the addresses it writes to (struct peer_out), the anonymous senders
 * that wrote to it (struct peer_in), the conversation with each (struct
 * conv: ids, receive window, acks owed), the reply blocks a sender left
 * us (its stock), and the secrets of the blocks we gave out (to open the
 * replies that come through them).
 *
 * Every table is bounded, so that no stranger can grow it:
 * MIXPEER_OUT_MAX addresses; MIX_SENDERS_MAX senders, where a newcomer
 * evicts the least recently useful one (peer_in_touch); MIXPEER_STOCK_MAX
 * blocks per sender, the oldest giving way; MIXPEER_SECRETS_MAX secrets
 * in all, and per address those of the blocks in our last
 * MIXPEER_BLOCK_PKTS packets to it (or more: see mixpeers_init).  Time
 * is passed in (now_us() in µs, or a test's clock).
 *
 * A block lives by its packet's number: the holder drops it once it has
 * taken a packet numbered MIXPEER_BLOCK_PKTS past it, and its creator
 * keeps its secret longer, by the packets that may be on their way (the
 * holder's count lags ours by them).  The holder uses its newest block
 * first, so one at the bottom of its stock can wait there while
 * thousands of newer ones come and go; counted as held, and used last,
 * such a block carried a reply its creator could no longer open, and a
 * holder down to those (the end of a bulk transfer) said it held enough
 * while it held none that worked: neither end asked for more, and the
 * session stalled.
 *
 * What the client does with all this (which message goes when, what an
 * epoch means) is mixclient.c's; a sender forgotten while messages of
 * ours to it are out is reported to it (mixpeers.on_forget) so that it
 * can give them up. */
#ifndef MIXPROXY_MIXPEER_H
#define MIXPROXY_MIXPEER_H

#include <stddef.h>
#include <stdint.h>

#include "fring.h"
#include "list.h"
#include "ratelog.h"
#include "mixbody.h"
#include "mixclient.h"
#include "packet.h"
#include "rxwin.h"

#define MIXPEER_ACKS_MAX 255     /* acks owed to one peer */
#define MIXPEER_ECHO 64          /* acks sent once that go again, room permitting */
#define MIXPEER_STOCK_MAX 32     /* reply blocks held per anonymous sender */
#define MIXPEER_SURB_TARGET_MIN 4 /* blocks a peer should hold at least */
#define MIXPEER_BLOCK_PKTS 256   /* a holder drops a block once it takes a
                                  * packet numbered this far past its own */
#define MIXPEER_OUT_MAX 65536    /* addresses we write to */
#define MIXPEER_SECRETS_MAX 65536
#define MIXPEER_SECRET_LIFE_US (50ull * 60 * 1000000) /* its creator forgets a block after */
#define MIXPEER_STOCK_LIFE_US (40ull * 60 * 1000000)  /* its holder discards it after */
#define MIXPEER_OUT_IDLE_US (10ull * 60 * 1000000)    /* shorter than the next (mixclient.c: Epochs) */
#define MIXPEER_IN_IDLE_US (20ull * 60 * 1000000)
/* The holder's incarnation, from one of its epochs. */
#define MIXPEER_INCARNATION(epoch) ((uint32_t)((epoch) >> 32))

/* One end's view of a conversation, the same at both ends: a peer_out
 * (we write to its address) and a peer_in (an anonymous sender wrote to
 * us) each hold one, and a message points at the one it belongs to. */
struct conv {
	int in;                      /* 1: of a peer_in; 0: of a peer_out */
	uint64_t next_id;            /* of our next message to the peer */
	struct rxwin rx;             /* its messages to us */
	/* The two lists of acks grow as they fill, to MIXPEER_ACKS_MAX and
	 * MIXPEER_ECHO: an idle conversation holds none, and a thousand
	 * sessions need not hold 2.5 KB each for their worst case. */
	uint64_t *acks;              /* owed to it: nacks of acks_cap */
	unsigned nacks, acks_cap;
	uint64_t ack_since;          /* when the oldest of them came (if nacks) */
	uint64_t *echo;              /* acks sent once, to go once more */
	unsigned necho, echo_cap;
	uint64_t epoch;              /* the holder's state: a peer_in's own (random,
	                              * never 0); a peer_out's as learned from the
	                              * peer (0: none heard yet) */
	uint64_t last_us;            /* last use: written to, or heard from */
	uint64_t heard_us;           /* last packet from it */
	unsigned inflight;           /* our messages to it not yet acked */
	unsigned queued;             /* of those, waiting in the ready queue */
};

/* What cv's lists hold is freed (cv may be zeroed or used again). */
void conv_free(struct conv *cv);
/* Bytes cv's lists hold. */
size_t conv_bytes(const struct conv *cv);

/* Owe the peer an ack (the same one once); with MIXPEER_ACKS_MAX owed,
 * the oldest is forgotten: its sender will try again and be acked then. */
void conv_owe_ack(struct conv *cv, uint64_t ack);

/* Write the owed acks into b, leaving `reserve` bytes for a message, then
 * in the room left each ack sent once before and not yet again; the
 * first copies are kept to go once more.  Returns how many owed acks
 * went (they are owed no longer). */
unsigned conv_put_acks(struct conv *cv, struct mb_writer *b, size_t reserve);

/* What the client knows of an address it writes to. */
struct peer_out {
	uint8_t key[64];             /* pk | gateway id */
	struct mix_addr addr;
	const struct topo_node *gw;
	uint8_t tag[MIX_TAG_BYTES];  /* our anonymous tag at that peer */
	struct conv cv;
	unsigned surbs_out;          /* reply blocks it may still hold */
	unsigned surbs_since;        /* blocks sent since its last word (some of
	                              * surbs_out, unless used or expired since) */
	unsigned target;             /* how many it asked to hold */
	uint64_t answered_us;        /* last reply (with a message) from it */
	uint64_t supplied_us, supply_gap_us; /* blocks sent unasked: when, wait */
	uint64_t epoch_us;           /* when the epoch was learned */
	struct fring secs;           /* struct given: our blocks it may hold, oldest first */
	int resupply;                /* send it blocks even without acks */
	uint64_t pnum;               /* number of the last packet sent to it */
};

/* A reply block we gave an address: the tag its reply will bear, and
 * the number of the packet that carried it. */
struct given {
	uint8_t tag[PKT_TAG_BYTES];  /* first: the ring's records are tags too */
	uint64_t pnum;
};

/* A reply block in a sender's stock. */
struct stocked {
	uint8_t surb[SURB_BYTES];
	uint64_t t_us;
	uint64_t pnum;               /* of the packet that brought it */
};

/* An anonymous sender that wrote to us. */
struct peer_in {
	uint8_t tag[MIX_TAG_BYTES];
	struct fring stock;          /* struct stocked, oldest first; allocated
	                              * with the first block */
	struct rxwin pkts;           /* the numbers of its packets taken */
	uint64_t pnum_max;           /* the highest of them */
	struct conv cv;
	uint64_t asked_us;           /* last request for blocks on the reserve */
	uint64_t named;              /* the latest non-zero epoch the sender named */
	unsigned announce;           /* packets refused: tell the sender our epoch, once each */
	struct list lru;             /* in mixpeers.lru */
};

/* The secret of a reply block we gave out. */
struct surb_rec {
	struct surb_secret sec;
	struct peer_out *peer;       /* whom we gave it to */
	uint64_t t_us;
	uint8_t mixes[3][PKT_ID_BYTES]; /* its route: credited when it comes back */
};

/* The peer whose conversation cv is: one of the two is NULL. */
struct peer_out *conv_po(struct conv *cv);
struct peer_in *conv_pi(struct conv *cv);

struct mixpeers {
	struct htab *outs;           /* 64-byte key -> peer_out */
	struct htab *ins;            /* tag -> peer_in */
	struct htab *secrets;        /* tag -> surb_rec */
	struct list lru;             /* every peer_in, most recently useful first */
	const struct topology *topo;
	uint64_t keep_pkts;          /* secrets kept per address: of the blocks
	                              * in our last keep_pkts packets to it */
	unsigned secrets_each;       /* the most that can be (the ring's size) */
	struct mixclient_stats *st;  /* counters: the client's */
	/* A sender goes while messages of ours to it are out (cv->inflight):
	 * they must be given up.  It is out of the table already. */
	void (*on_forget)(struct conv *cv, void *ctx);
	void *ctx;
	/* Strangers cause these at will: a line a second at most. */
	struct ratelog rl_evict, rl_expired;
	/* The top half of every epoch this table draws (random, non-zero):
	 * an owner told of a new state can tell a holder that forgot it
	 * (the same incarnation) from one that restarted (mixclient.c,
	 * Epochs). */
	uint32_t incarnation;
};

/* window: the client's (messages in flight at once), which bounds the
 * packets on their way to a peer.  ev runs the ratelogs (may be NULL). */
void mixpeers_init(struct mixpeers *ps, struct ev *ev, const struct topology *topo,
                   unsigned window, struct mixclient_stats *st,
                   void (*on_forget)(struct conv *, void *), void *ctx);
void mixpeers_free(struct mixpeers *ps); /* everything, secrets wiped */

/* The address's peer, made if new (NULL: its gateway is not one of the
 * topology, or the table is full). */
struct peer_out *peer_out_get(struct mixpeers *ps, const struct mix_addr *a, uint64_t now);
struct peer_out *peer_out_find(const struct mixpeers *ps, const struct mix_addr *a);
/* How many reply blocks to send p with the next packet. */
unsigned peer_out_surbs_wanted(const struct peer_out *p, uint64_t now);

/* The sender of this tag, made if new (evicting one if the table is
 * full); NULL only if out of memory. */
struct peer_in *peer_in_get(struct mixpeers *ps, const uint8_t tag[MIX_TAG_BYTES], uint64_t now);
struct peer_in *peer_in_find(const struct mixpeers *ps, const uint8_t tag[MIX_TAG_BYTES]);
/* The sender was useful: first in line to be kept. */
void peer_in_touch(struct mixpeers *ps, struct peer_in *p, uint64_t now);
/* Whether its packet numbered pnum is new (then it is taken, and the
 * blocks of its stock it outdates go); names_none: the packet names no
 * epoch of ours. */
int peer_in_fresh(struct mixpeers *ps, struct peer_in *p, uint64_t pnum, int names_none);
/* How many blocks it should hold for us to answer it well. */
unsigned peer_in_want(const struct peer_in *p);

/* Its stock of reply blocks. */
unsigned stock_n(const struct peer_in *p);
/* A block from its packet numbered pnum (taken by peer_in_fresh). */
int stock_put(struct mixpeers *ps, struct peer_in *p, const uint8_t *surb, uint64_t now,
              uint64_t pnum);
const uint8_t *stock_peek(const struct peer_in *p); /* the newest; NULL: none */
void stock_take(struct peer_in *p);                 /* the one stock_peek gave goes */

/* Whether another secret may be kept. */
int secrets_room(const struct mixpeers *ps);
/* Keep r (its secret made, r->mixes set) as given to p in its packet
 * numbered pnum (the newest); r is the table's from here, or freed (-1). */
int secret_keep(struct mixpeers *ps, struct peer_out *p, struct surb_rec *r, uint64_t now,
                uint64_t pnum);
struct surb_rec *secret_find(const struct mixpeers *ps, const uint8_t tag[PKT_TAG_BYTES]);
void secret_free(struct mixpeers *ps, struct surb_rec *r); /* used: it goes, wiped */

/* Mark for blocks unasked (peer_out.resupply) each address we talk to
 * that has been quiet longer than `quiet` µs, is not being supplied
 * already, and said at its last word that it held fewer than its target
 * and the cushion; 1 if any was. */
int mixpeers_supply(struct mixpeers *ps, uint64_t now, uint64_t quiet);

/* Whether any acks are owed that could be sent now (to an address, or
 * to a sender that left a block), or an epoch announced. */
int mixpeers_owed(const struct mixpeers *ps);
/* Whether any peer that could still write to us was heard within wait_us. */
int mixpeers_heard_within(const struct mixpeers *ps, uint64_t now, uint64_t wait_us);

/* Expire old blocks and secrets, acks owed for ack_life_us to a sender
 * that left no block to send them by, and idle peers. */
void mixpeers_sweep(struct mixpeers *ps, uint64_t now, uint64_t ack_life_us);
size_t mixpeers_memory(const struct mixpeers *ps);
/* The most mixpeers_memory may reach with the peers it has now: every
 * stock, ring, list and table at its cap. */
size_t mixpeers_memory_max(const struct mixpeers *ps);

#endif
