/* mixclient — a client of the mixnet, living in its caller's epoll loop.
 *
 * One struct mixclient is one identity attached to one gateway; a process
 * may run many in one loop, sharing a link and its send schedule
 * (cfg.edge: mixedge.h) or each with a link of its own.  It gives its
 * caller messages (one message is one packet: up to MIX_MSG_MAX bytes)
 * delivered exactly once:
 *
 *   - sending: messages go out on the link's Poisson schedule (mean
 *     send_mean_ms), a slot to whichever identity of the link has
 *     something to send; a slot nobody needs carries a cover packet of the
 *     same size, and a second Poisson stream (loop_mean_ms) sends loop
 *     cover that comes back.  Each hop's delay is drawn by the sender (mean
 *     delay_mean_ms).  The fast profile sends at once, with no delays and no
 *     cover: it gives no timing anonymity.
 *   - replies: every message carries a single-use reply block (SURB); the
 *     receiver answers through them (mixclient_reply) knowing only an
 *     anonymous sender tag, never the sender's address or key.  It asks for
 *     more when it runs low; the sender tops it up to what it asked.
 *   - reliability: every message is acknowledged (acks ride inside packets
 *     that go anyway, or in a packet of their own); an unacknowledged one
 *     is sent again on a new route (route.h: what failed weighs less)
 *     after a timeout derived from the delays it was given, as often as it
 *     takes, and given up only when no route can carry it: nothing heard
 *     from its peer for peer_timeout_ms; duplicates are dropped with
 *     bounded memory (a window per peer).  The receiver's
 *     state for a sender has a random epoch that the sender's messages
 *     must name, so a receiver that restarted or forgot the sender never
 *     takes a message its former state may have taken: the sender gives
 *     such messages up instead.  The first messages to a new state cost
 *     one more round trip (refused, they bring back the state's epoch).
 *
 * Every queue is bounded: mixclient_send returns -1 (EAGAIN) when the send
 * window is full and on_writable tells when it has room again; a caller
 * that cannot take a message returns -1 from on_message and the message is
 * not acknowledged (the sender tries again later). */
#ifndef MIXPROXY_MIXCLIENT_H
#define MIXPROXY_MIXCLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "keys.h"
#include "packet.h"
#include "topology.h"

/* A message is one packet's body less its header (56 bytes) and room for
 * six acknowledgements: 1928 bytes.  A reply block (560 bytes) rides
 * along only beside a message of at most MIX_MSG_SURB; a longer one
 * leaves the blocks its peer needs to a packet of their own. */
#define MIX_MSG_MAX 1928
#define MIX_MSG_SURB 1368
#define MIX_TAG_BYTES 16
#define MIX_SENDERS_MAX 4096  /* anonymous senders a client keeps state for */

/* A peer, as on_message names who a message came from and on_giveup who
 * it was for.  A peer is either an address we write to (mixclient_send;
 * what comes from it are replies to our messages) or an anonymous sender
 * (we answer it with mixclient_reply).  Both callbacks name one peer the
 * same way, so one lookup serves both:
 *   reply = 1: addr is the address (from: a reply to a message of ours;
 *              to: a message sent with mixclient_send); tag is zero;
 *   reply = 0: tag is the anonymous sender's tag (from: its message;
 *              to: a reply sent with mixclient_reply); addr is zero. */
struct mix_from {
	int reply;                       /* 1: the peer is an address */
	struct mix_addr addr;            /* reply: the peer we write to */
	uint8_t tag[MIX_TAG_BYTES];      /* not reply: an anonymous sender */
};

struct mixclient;
struct mixcc;
struct mixedge;
struct routes;
struct ev;

struct mixclient_cbs {
	/* A message arrived (exactly once).  Return 0 to take it, -1 if it
	 * cannot be taken now (it is not acknowledged; it comes again). */
	int (*on_message)(struct mixclient *mc, const struct mix_from *from,
	                  const uint8_t *data, size_t len, void *ctx);
	/* The send window has room again after mixclient_send said EAGAIN. */
	void (*on_writable)(struct mixclient *mc, void *ctx);
	/* A message was given up (optional), `why` says in a phrase: no
	 * route can carry it (nothing heard from its peer for
	 * peer_timeout_ms since it was queued: our gateway down, a layer
	 * with no mix that carries anything, or the peer's side gone); or a
	 * reply waited for reply blocks longer than its budget; or the peer
	 * lost the state it had for us (it restarted, or forgot us: with
	 * app_dedupes, only a restart) while the message was out, so it may
	 * or may not have been delivered, and it is not sent again; or
	 * (tests) max_tries timed out.  `to` names the
	 * peer as on_message's `from` does (struct mix_from); msg_id is the
	 * id mixclient_send or mixclient_reply gave. */
	void (*on_giveup)(struct mixclient *mc, const struct mix_from *to, uint64_t msg_id,
	                  const char *why, void *ctx);
	/* Attached to / detached from the gateway (optional). */
	void (*on_link)(struct mixclient *mc, int up, void *ctx);
};

struct mixclient_cfg {
	const struct topology *topo;  /* borrowed: must outlive the client */
	const struct keypair *kp;     /* borrowed: the identity */
	const char *gateway;          /* gateway name, or NULL for a random one */
	int fast;                     /* no delays, no cover, send at once */
	double send_mean_ms;          /* 20 */
	double loop_mean_ms;          /* 200 */
	double delay_mean_ms;         /* 15 */
	double receive_mean_ms;       /* ask the gateway for a frame at this mean
	                               * interval, mail or padding (0: as mail
	                               * comes; the fast profile never asks) */
	unsigned window;              /* messages in flight + queued (256) */
	uint64_t peer_timeout_ms;     /* nothing heard from a peer this long while
	                               * a message to it waits: no route carries
	                               * it, it is given up (60000; 0: never) */
	unsigned max_tries;           /* for tests: timeouts of one message before
	                               * giving it up (0: no limit, the default) */
	uint64_t rto_min_ms;          /* for tests: the least retransmission
	                               * timeout (0: the profile's) */
	struct mixcc *cc;             /* shared with the process's other clients
	                               * (mixcc.h; same profile), or NULL: its own */
	struct routes *routes;        /* mix health (route.h), shared likewise, or
	                               * NULL: its own */
	struct mixedge *edge;         /* the link to a gateway and its send schedule,
	                               * shared likewise (mixedge.h; its gateway and
	                               * its routes are ours), or NULL: a link of
	                               * its own, with this identity's key */
	int app_dedupes;              /* the application takes a message twice
	                               * without harm (its own ids tell): when a
	                               * peer forgot its state for us, what went
	                               * to the former one goes again instead of
	                               * being given up (see on_giveup) */
	const struct mixclient_cbs *cbs;
	void *ctx;
};
void mixclient_cfg_defaults(struct mixclient_cfg *cfg);

struct mixclient_stats {
	uint64_t sent, retransmitted, acked, gave_up, received, duplicates;
	uint64_t cover_sent, loop_sent, loop_received, acks_sent, surbs_sent;
	uint64_t surbs_received, surbs_used, surbs_expired, undecodable, refused;
	uint64_t packets_sent, packets_received;
	uint64_t pads_received;   /* the gateway's paced slots with no mail */
	uint64_t stale;       /* packets of, or for, a peer's former state: not taken */
	uint64_t peer_resets; /* a peer we write to came back with a new state */
	uint64_t lost_early;  /* tries found lost before their timeout (fast) */
	uint64_t senders_evicted; /* anonymous senders forgotten to make room */
	uint64_t acks_expired;    /* owed to a sender that left no block to send them by */
	uint64_t repeats;         /* packets to us taken before (a replay, a node's
	                           * duplicate), dropped whole */
	uint64_t senders;         /* anonymous senders held now (a gauge) */
};


/* NULL with *err set on a bad configuration (unknown gateway ...). */
struct mixclient *mixclient_new(struct ev *ev, const struct mixclient_cfg *cfg,
                                const char **err);
/* Not from inside one of the client's own callbacks: the client is still
 * working on the packet that called it (defer the free with ev_defer_free). */
void mixclient_free(struct mixclient *mc);

/* Queue a message to an address; *id (may be NULL) gets its id.
 * 0, or -1 with errno EAGAIN (window full), EMSGSIZE, EINVAL. */
int mixclient_send(struct mixclient *mc, const struct mix_addr *to,
                   const uint8_t *data, size_t len, uint64_t *id);
/* Answer an anonymous sender through its reply blocks.  Same returns
 * (EINVAL: a sender not known, or forgotten: idle for 20 minutes, or,
 * when MIX_SENDERS_MAX are known and a new one comes, the least recently
 * useful one, preferring one with no reply out and no ack it could be
 * sent; replies out to a sender forgotten are given up).  A reply waits
 * (in the window) while no reply block is at hand, at most ten times
 * peer_timeout_ms while the sender is heard from, and is then given up
 * (on_giveup). */
int mixclient_reply(struct mixclient *mc, const uint8_t tag[MIX_TAG_BYTES],
                    const uint8_t *data, size_t len, uint64_t *id);
/* Make acquaintance with an address before writing to it: send it reply
 * blocks (no message), which its answer brings back its state's epoch
 * with, so the first message is taken at once instead of refused once
 * (one round trip saved; see the epochs in mixproxy-protocol(7)).  Does
 * nothing if the epoch was learned in the last 30 s.  An epoch learned
 * more than 30 s before the first message is not used (the peer may have
 * lost that state since): call it again to refresh it.  0, or -1 with errno EINVAL (a gateway
 * not in the topology) or ENOSPC (too many peers). */
int mixclient_hello(struct mixclient *mc, const struct mix_addr *to);
/* 1 when the epoch of the address's state for us is known. */
int mixclient_knows(const struct mixclient *mc, const struct mix_addr *to);
/* The longest message to `to` that leaves room for the reply blocks it
 * should get: MIX_MSG_SURB while it holds fewer than it needs (or is
 * new) and the short messages queued to it, not sent yet, are fewer than
 * the blocks it needs (one rides beside each), else MIX_MSG_MAX.  A
 * caller that cuts a stream into messages asks before each one, so that
 * blocks ride along instead of costing packets of their own. */
size_t mixclient_msg_max(const struct mixclient *mc, const struct mix_addr *to);
/* Room in the send window (messages). */
size_t mixclient_room(const struct mixclient *mc);
/* Messages sent and not yet acknowledged or given up. */
size_t mixclient_pending(const struct mixclient *mc);
/* 1 when nothing is pending: no message of ours queued or unacknowledged,
 * no acknowledgement owed to anyone (nor a refusal to explain: see the
 * epochs in mixproxy-protocol(7)).  What is owed to an anonymous
 * sender that left no reply block to carry it does not count (it cannot
 * be sent).  A lossy network can keep it 0 for a while: a caller waiting
 * for it needs a time limit too.  Costs a pass over the peers. */
int mixclient_quiet(const struct mixclient *mc);
/* 1 when quiet and no peer has been heard from within three
 * retransmission timeouts (2 s at least): a client freed then leaves no peer sending
 * again what it already got.  Quiet is not enough, as TCP's TIME_WAIT
 * knows: our last ack may be lost, and the peer's retransmission, which
 * only a live client acknowledges, would hold a slot of its window until
 * its peer timeout.  Same costs and limits as mixclient_quiet. */
int mixclient_done(const struct mixclient *mc);

void mixclient_address(const struct mixclient *mc, struct mix_addr *a);
int mixclient_is_attached(const struct mixclient *mc);
void mixclient_get_stats(const struct mixclient *mc, struct mixclient_stats *st);
/* Bytes of memory held (for tests of boundedness), and the most it may
 * hold with the messages and peers it has now: every peer's stock, rings
 * and lists at their caps (the messages are bounded by the window:
 * mixclient_pending). */
size_t mixclient_memory(const struct mixclient *mc);
size_t mixclient_memory_max(const struct mixclient *mc);

/* Hand the client the body of a packet addressed to it, as if it had
 * arrived and been decrypted (the parser's entry point for tests and the
 * fuzzer).  -1 for a wrong length; malformed bodies are counted and
 * dropped. */
int mixclient_feed_body(struct mixclient *mc, const uint8_t *body, size_t len);
/* The epoch of the state kept for an anonymous sender (0: none).  For
 * tests and the fuzzer: a message is taken only from a body that names
 * it (offset 40; see mixproxy-protocol(7)). */
uint64_t mixclient_sender_epoch(const struct mixclient *mc, const uint8_t tag[MIX_TAG_BYTES]);

#endif
