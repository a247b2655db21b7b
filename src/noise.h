/* noise — the Noise_IK_25519_ChaChaPoly_SHA256 handshake that links use
 * (the Noise Protocol Framework, revision 34):
 *
 *   <- s
 *   ...
 *   -> e, es, s, ss     message 1: I's static key travels encrypted
 *   <- e, ee, se        message 2
 *
 * Why IK: the initiator always knows the responder's key (the topology
 * names it), so its own key can go encrypted to that key in the first
 * message.  A passive observer, or anyone who does not hold the
 * responder's secret key, sees only an ephemeral key and ciphertext: two
 * handshakes share no bytes.  It keeps the one round trip of the links'
 * earlier handshake, and lets the responder refuse a key (not in the
 * topology, or over a bound) before it spends a key pair on a reply.
 *
 * What IK gives up against XK: whoever later takes the responder's secret
 * key can open recorded first messages and learn initiators' keys (the
 * traffic stays safe: the transport keys depend on ee).  And message 1 is
 * replayable and open to key-compromise impersonation, so the responder
 * must not trust anything before the initiator's first transport message,
 * which only the holder of the initiator's key and of e can make (link.c
 * waits for it).
 *
 * The module is the state machine only, over caller-owned buffers; the
 * ephemeral keys are random unless a test sets them (the published test
 * vectors).  Every secret is wiped by noise_ik_split or noise_ik_wipe. */
#ifndef MIXPROXY_NOISE_H
#define MIXPROXY_NOISE_H

#include <stddef.h>
#include <stdint.h>

#include "keys.h"

#define NOISE_KEY_BYTES 32
#define NOISE_TAG_BYTES 16
/* The sizes of the two messages for a payload of p bytes. */
#define NOISE_IK_MSG1_BYTES(p) (32 + 32 + NOISE_TAG_BYTES + (p) + NOISE_TAG_BYTES)
#define NOISE_IK_MSG2_BYTES(p) (32 + (p) + NOISE_TAG_BYTES)

struct noise_ik {
	uint8_t ck[32], h[32], k[32];
	uint64_t n;
	int has_e, initiator;
	const struct keypair *s;
	uint8_t e_sk[32], e_pk[32];
	uint8_t rs[32], re[32];
};

/* Start a handshake.  The initiator gives the responder's static key rs;
 * the responder passes NULL (it learns the initiator's from message 1).
 * s must stay valid until the split. */
void noise_ik_init(struct noise_ik *hs, int initiator, const void *prologue, size_t plen,
                   const struct keypair *s, const uint8_t rs[32]);
/* Use this ephemeral secret instead of a random one (test vectors). */
void noise_ik_set_ephemeral(struct noise_ik *hs, const uint8_t sk[32]);

/* Initiator: write message 1 carrying payload (plen bytes) into out
 * (NOISE_IK_MSG1_BYTES(plen)).  0, or -1 (a low-order key). */
int noise_ik_write1(struct noise_ik *hs, const uint8_t *payload, size_t plen, uint8_t *out);
/* Responder: read message 1 of len bytes; its payload (len - 96 bytes)
 * into payload.  NULL, or why it is refused.  The initiator's static key
 * is then in hs->rs. */
const char *noise_ik_read1(struct noise_ik *hs, const uint8_t *msg, size_t len, uint8_t *payload);
/* Responder: message 2 (NOISE_IK_MSG2_BYTES(plen)).  0, or -1. */
int noise_ik_write2(struct noise_ik *hs, const uint8_t *payload, size_t plen, uint8_t *out);
/* Initiator: read message 2 (payload: len - 48 bytes).  NULL, or why. */
const char *noise_ik_read2(struct noise_ik *hs, const uint8_t *msg, size_t len, uint8_t *payload);

/* After message 2: the transport keys, initiator to responder and back,
 * and the handshake hash (may be NULL); then every secret of hs is wiped. */
void noise_ik_split(struct noise_ik *hs, uint8_t k_i2r[32], uint8_t k_r2i[32], uint8_t hash[32]);
void noise_ik_wipe(struct noise_ik *hs);

/* Noise's ChaChaPoly nonce for counter n: 4 zero bytes, n little-endian.
 * The transport messages (link frames) use it too. */
void noise_nonce(uint8_t nonce[12], uint64_t n);

#endif
