/* attach — a client's proof, on a link it holds to its gateway, that it
 * owns one more key, so that the mail for that key comes on that link
 * too (LF_ATTACH, link.h).  One link then serves all of a process's
 * identities, and a new identity costs its process no handshake an
 * observer of its network could see.
 *
 * The proof is a BLAKE2b MAC, keyed by the X25519 secret of the key and
 * the gateway's key, over the link's handshake hash and the key:
 *
 *   proof = BLAKE2b-256(key = X25519(id_sk, gw_pk),
 *                       "mixproxy/attach/1" | binding | id_pk)
 *
 * Only the key's owner and the gateway can make it, and it holds for
 * this link only: a proof seen (by a gateway that logs it) cannot attach
 * the key on another link, to that gateway or any other.  The gateway
 * checks it with one X25519 of its own. */
#ifndef MIXPROXY_ATTACH_H
#define MIXPROXY_ATTACH_H

#include <stdint.h>

#define ATTACH_PROOF_BYTES 32

/* 0, or -1 if gw_pk is a point of small order (no secret comes of it). */
int attach_prove(uint8_t proof[ATTACH_PROOF_BYTES], const uint8_t id_sk[32],
                 const uint8_t id_pk[32], const uint8_t gw_pk[32], const uint8_t binding[32]);
/* 0 if proof is id_pk's for this gateway and link, else -1. */
int attach_check(const uint8_t proof[ATTACH_PROOF_BYTES], const uint8_t gw_sk[32],
                 const uint8_t id_pk[32], const uint8_t binding[32]);

#endif
