/* link — an authenticated, encrypted TCP link between two mixnet parties.
 *
 * Handshake: Noise_IK_25519_ChaChaPoly_SHA256 (noise.h), prologue
 * "mixproxy/link/2"; 2 messages and a confirming frame:
 *
 *   I -> R  HELLO  I's ephemeral key | I's static key, sealed | kind, sealed
 *   R -> I  REPLY  R's ephemeral key | empty payload, sealed
 *   I -> R  first frame, of type LF_AUTH
 *
 * The initiator knows the responder's key from the topology and seals its
 * own to it: on the wire there is no magic, no version and no static key,
 * only an ephemeral key and ciphertext, so two handshakes share no bytes.
 * The responder checks the initiator's key against the topology for node
 * links, or takes it as the client's address; the reply proves the
 * responder's key, the LF_AUTH frame the initiator's.  Then every frame,
 * whatever it carries, is LINK_FRAME_BYTES long: ChaCha20-Poly1305 over
 * [type | 32-byte id | packet] under the handshake's transport keys, with
 * a per-direction counter as nonce (Noise's): an observer of a link
 * learns only how many frames passed.  Nothing is accepted from a peer
 * before its handshake is done.
 *
 * The receive side is a push parser (link_feed) so the tests and the fuzz
 * harness drive it without sockets. */
#ifndef MIXPROXY_LINK_H
#define MIXPROXY_LINK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "keys.h"
#include "noise.h"
#include "packet.h"

#define LINK_HELLO_PAYLOAD 4 /* sealed in the hello: kind | 3 zero bytes */
#define LINK_HELLO_BYTES NOISE_IK_MSG1_BYTES(LINK_HELLO_PAYLOAD) /* 100 */
#define LINK_REPLY_BYTES NOISE_IK_MSG2_BYTES(0) /* 48 */
#define LINK_FRAME_PLAIN (1 + PKT_ID_BYTES + PKT_BYTES)
#define LINK_FRAME_BYTES (LINK_FRAME_PLAIN + 16)
/* The Noise prologue names this protocol and its version: peers of other
 * versions fail the handshake; nothing of it is on the wire. */
#define LINK_PROLOGUE "mixproxy/link/2"

enum link_kind { LINK_NODE = 1, LINK_CLIENT = 2 };

enum link_frame_type {
	LF_AUTH = 1,    /* initiator's first frame: key confirmation */
	LF_PING = 2,    /* keep-alive */
	LF_PACKET = 3,  /* node -> node: a packet for the receiver to process */
	LF_SEND = 4,    /* client -> gateway: id = first mix, packet to forward */
	LF_DELIVER = 5, /* gateway -> client: a delivery */
	LF_STATUS = 6,  /* gateway -> client: the mixes it cannot link to (route.h) */
	LF_PACE = 7,    /* client -> gateway: send me a frame at this mean interval
	                 * (held within LINK_PACE_MIN_US..LINK_PACE_MAX_US) */
	LF_PAD = 8,     /* gateway -> client: a paced slot with no delivery for it */
	LF_ATTACH = 9,  /* client -> gateway: id = a key of the client's, packet =
	                 * its proof (attach.h): its mail comes on this link too */
	LF_DETACH = 10, /* client -> gateway: id = a key attached by LF_ATTACH:
	                 * its mail waits in the mailbox again */
};

/* The mean intervals a gateway paces a client link at (LF_PACE): a
 * client that asks for less gets LINK_PACE_MIN_US, and its mail then
 * comes slower than it asked, so a client must not ask for less. */
#define LINK_PACE_MIN_US 100
#define LINK_PACE_MAX_US 60000000

/* The mean interval a gateway paces at when asked for `us` (not 0). */
static inline uint32_t link_pace_held(uint32_t us)
{
	return us < LINK_PACE_MIN_US ? LINK_PACE_MIN_US : us > LINK_PACE_MAX_US ? LINK_PACE_MAX_US : us;
}

enum link_state {
	LS_CONNECTING, /* TCP connect in progress */
	LS_HELLO,      /* I: HELLO sent, awaiting REPLY; R: awaiting HELLO */
	LS_AUTH,       /* R: REPLY sent, awaiting LF_AUTH */
	LS_UP,
	LS_DOWN,
};

struct link;
struct ev;

struct link_cbs {
	/* Responder: may this peer (kind, static key) connect?  Return 0 to
	 * accept; non-zero to refuse (the link goes down with a log line). */
	int (*accept_peer)(struct link *l, enum link_kind kind, const uint8_t pk[32], void *ctx);
	/* Handshake completed. */
	void (*on_up)(struct link *l, void *ctx);
	/* A frame arrived (never LF_AUTH or LF_PING).  pkt is PKT_BYTES. */
	void (*on_frame)(struct link *l, enum link_frame_type type,
	                 const uint8_t id[PKT_ID_BYTES], uint8_t *pkt, void *ctx);
	/* The send queue drained below half, or emptied of frames the owner
	 * queued: senders may resume (optional). */
	void (*on_drain)(struct link *l, void *ctx);
	/* The link is down; the owner must drop its pointer.  The link is
	 * freed after the current event batch. */
	void (*on_down)(struct link *l, const char *why, void *ctx);
};

struct link_stats {
	uint64_t frames_in, frames_out, dropped_full, dropped_down;
};

/* Outgoing: connect to sa and expect peer_pk there.  Frames may be queued
 * (link_send) at once; they go out when the link is up.  self must stay
 * valid for the link's life. */
struct link *link_connect(struct ev *ev, const struct sockaddr *sa, socklen_t salen,
                          const struct keypair *self, const uint8_t peer_pk[32],
                          enum link_kind kind, size_t max_frames,
                          const struct link_cbs *cbs, void *ctx);
/* The same from a given local address (from, with port 0 for any): for
 * tests that play parties on distinct loopback addresses. */
struct link *link_connect_from(struct ev *ev, const struct sockaddr *from, socklen_t fromlen,
                               const struct sockaddr *sa, socklen_t salen,
                               const struct keypair *self, const uint8_t peer_pk[32],
                               enum link_kind kind, size_t max_frames,
                               const struct link_cbs *cbs, void *ctx);
/* Incoming: fd is an accepted socket (made non-blocking here). */
struct link *link_accept(struct ev *ev, int fd, const struct sockaddr *peer, socklen_t peerlen,
                         const struct keypair *self, size_t max_frames,
                         const struct link_cbs *cbs, void *ctx);

/* Queue one frame.  id may be NULL (zeros).  0, or -1 when the queue is
 * full or the link is down (counted; the caller decides what to drop). */
int link_send(struct link *l, enum link_frame_type type,
              const uint8_t id[PKT_ID_BYTES], const uint8_t pkt[PKT_BYTES]);
size_t link_queue_room(const struct link *l);  /* frames */
size_t link_queue_len(const struct link *l);

/* Stop / resume reading (back-pressure from the owner). */
void link_pause(struct link *l, int paused);

/* Housekeeping at time now (the loop runs it every 15 s; tests give a
 * time of their own): a ping after 30 s without sending, the link closed
 * after 95 s without receiving, and the buffers of a link idle for 5 s
 * back to a frame's worth (they grow again with traffic). */
void link_tick(struct link *l, uint64_t now);

/* Close now: on_down runs (with why), the link is freed later. */
void link_close(struct link *l, const char *why);

enum link_state link_state(const struct link *l);
enum link_kind link_kind(const struct link *l);
const uint8_t *link_peer_pk(const struct link *l); /* valid once HELLO seen */
/* The handshake hash, which no other link shares (valid once up): what a
 * proof made for this link binds to (attach.h). */
const uint8_t *link_binding(const struct link *l);
uint64_t link_id(const struct link *l);             /* for log lines */
const char *link_peer_addr(const struct link *l);
void link_get_stats(const struct link *l, struct link_stats *st);
/* Bytes the link holds now: itself and its buffers. */
size_t link_memory(const struct link *l);
void *link_ctx(const struct link *l);
void link_set_ctx(struct link *l, void *ctx);

/* Push parser for received bytes (used by the socket reader; exposed for
 * tests and fuzzing).  Returns 0, or -1 once the link is down. */
int link_feed(struct link *l, const uint8_t *buf, size_t n);

/* A link with no socket, for tests and fuzzing (ev is still needed: it
 * runs the timers and the deferred free): outgoing bytes are kept
 * in its queue (link_take_output copies them out). */
struct link *link_new_detached(struct ev *ev, int initiator, const struct keypair *self,
                               const uint8_t *peer_pk, enum link_kind kind,
                               size_t max_frames, const struct link_cbs *cbs, void *ctx);
size_t link_take_output(struct link *l, uint8_t *out, size_t n);

#endif
