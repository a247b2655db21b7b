/* mixclient — a client of the mixnet, living in its caller's epoll loop.
 *
 * One struct mixclient is one identity attached to one gateway; a process
 * may run many in one loop.  It gives its caller messages (one message is
 * one packet: up to MIX_MSG_MAX bytes) delivered exactly once:
 *
 *   - sending: messages go out on a Poisson schedule (mean send_mean_ms);
 *     a slot with nothing to send carries a cover packet of the same size,
 *     and a second Poisson stream (loop_mean_ms) sends loop cover that comes
 *     back to this client.  Each hop's delay is drawn by the sender (mean
 *     delay_mean_ms).  The fast profile sends at once, with no delays and no
 *     cover: it gives no timing anonymity.
 *   - replies: every message carries a single-use reply block (SURB); the
 *     receiver answers through them (mixclient_reply) knowing only an
 *     anonymous sender tag, never the sender's address or key.  It asks for
 *     more when it runs low; the sender tops it up to what it asked.
 *   - reliability: every message is acknowledged (acks ride inside packets
 *     that go anyway, or in a packet of their own); an unacknowledged one
 *     is sent again on a new route, avoiding the mixes of the failed one,
 *     after a timeout derived from the delays it was given; duplicates are
 *     dropped with bounded memory (a window per peer).
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

#define MIX_MSG_MAX 1368
#define MIX_TAG_BYTES 16
#define MIX_ADDR_CHARS (B58_KEY_CHARS + PKT_ID_BYTES + 1)

/* A client's address: its public key and its gateway: "KEY@GATEWAY". */
struct mix_addr {
	uint8_t pk[PKT_KEY_BYTES];
	uint8_t gw[PKT_ID_BYTES];
};
/* 0, or -1 with a reason in *why. */
int mix_addr_parse(const char *s, struct mix_addr *a, const char **why);
const char *mix_addr_format(const struct mix_addr *a, char *buf, size_t n);

/* Who a message came from. */
struct mix_from {
	int reply;                       /* 1: a reply to a message of ours */
	struct mix_addr addr;            /* reply: the peer we wrote to */
	uint8_t tag[MIX_TAG_BYTES];      /* not reply: an anonymous sender */
};

struct mixclient;
struct ev;

struct mixclient_cbs {
	/* A message arrived (exactly once).  Return 0 to take it, -1 if it
	 * cannot be taken now (it is not acknowledged; it comes again). */
	int (*on_message)(struct mixclient *mc, const struct mix_from *from,
	                  const uint8_t *data, size_t len, void *ctx);
	/* The send window has room again after mixclient_send said EAGAIN. */
	void (*on_writable)(struct mixclient *mc, void *ctx);
	/* A message was given up after max_tries sends (optional). */
	void (*on_giveup)(struct mixclient *mc, uint64_t msg_id, void *ctx);
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
	unsigned window;              /* messages in flight + queued (256) */
	unsigned max_tries;           /* sends of one message before giving up (30) */
	const struct mixclient_cbs *cbs;
	void *ctx;
};
void mixclient_cfg_defaults(struct mixclient_cfg *cfg);

struct mixclient_stats {
	uint64_t sent, retransmitted, acked, gave_up, received, duplicates;
	uint64_t cover_sent, loop_sent, loop_received, acks_sent, surbs_sent;
	uint64_t surbs_received, surbs_used, surbs_expired, undecodable, refused;
	uint64_t packets_sent, packets_received;
};

/* A persistent identity: DIR/identity.key, created (0600, in a directory
 * made 0700 if missing) on first use and read after that; a key file that
 * others can read is refused.  0, or -1 with a reason in err. */
int mixclient_identity_load(const char *dir, struct keypair *kp, char *err, size_t errsz);

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
/* Answer an anonymous sender through its reply blocks.  Same returns;
 * a reply waits (in the window) while no reply block is at hand. */
int mixclient_reply(struct mixclient *mc, const uint8_t tag[MIX_TAG_BYTES],
                    const uint8_t *data, size_t len, uint64_t *id);
/* Room in the send window (messages). */
size_t mixclient_room(const struct mixclient *mc);
/* Messages sent and not yet acknowledged or given up. */
size_t mixclient_pending(const struct mixclient *mc);

void mixclient_address(const struct mixclient *mc, struct mix_addr *a);
int mixclient_is_attached(const struct mixclient *mc);
void mixclient_get_stats(const struct mixclient *mc, struct mixclient_stats *st);
/* Bytes of memory held (for tests of boundedness). */
size_t mixclient_memory(const struct mixclient *mc);

/* Hand the client the body of a packet addressed to it, as if it had
 * arrived and been decrypted (the parser's entry point for tests and the
 * fuzzer).  -1 for a wrong length; malformed bodies are counted and
 * dropped. */
int mixclient_feed_body(struct mixclient *mc, const uint8_t *body, size_t len);

#endif
