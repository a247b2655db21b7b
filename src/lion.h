/* lion — a wide-block cipher over a whole packet payload.
 *
 * Lion (Anderson & Biham, 1996) from ChaCha20 and keyed BLAKE2b: three
 * rounds over the split L (32 bytes) | R (the rest):
 *
 *     R ^= ChaCha20(L ^ k1);  L ^= BLAKE2b_k2(R);  R ^= ChaCha20(L ^ k3)
 *
 * Two stream passes and one hash pass, about half the cost of Lioness,
 * as in Nym's Outfox format.  Every output bit depends on every input bit,
 * so a payload tagged (bit-flipped) at any hop decrypts to noise at the
 * end, where the reader's integrity check catches it.
 *
 * Mixes apply lion_fwd; whoever pre-computes layers (the sender of a
 * forward packet, the creator of a reply block when reading a reply)
 * applies lion_inv with the hop keys in reverse order. */
#ifndef MIXPROXY_LION_H
#define MIXPROXY_LION_H

#include <stddef.h>
#include <stdint.h>

#define LION_KEY_BYTES 96 /* k1 | k2 | k3 */
#define LION_MIN_BYTES 64 /* L plus at least 32 bytes of R */

void lion_fwd(const uint8_t key[LION_KEY_BYTES], uint8_t *buf, size_t len);
void lion_inv(const uint8_t key[LION_KEY_BYTES], uint8_t *buf, size_t len);

#endif
