/* ephem — X25519 ephemeral key pairs for the packets a sender builds, at
 * about half the cost of crypto_scalarmult_base.
 *
 * On x86-64, libsodium computes an X25519 public key with the same ladder
 * it uses for any point; its Ed25519 fixed-base table does the same
 * multiplication in about half the time.  A clamped X25519 scalar a gives
 * the Edwards point a*B, whose Montgomery u = (1 + y) / (1 - y) is exactly
 * crypto_scalarmult_base(a): the birational map takes B to u = 9.  The
 * map's one field inversion is shared by a batch (Montgomery's trick), so
 * a key pair costs one table multiplication and a few field products.
 *
 * The secret scalar only ever meets libsodium; the field arithmetic here
 * sees the public point alone, which goes on the wire in clear. */
#ifndef MIXPROXY_EPHEM_H
#define MIXPROXY_EPHEM_H

#include <stddef.h>
#include <stdint.h>

#define EPHEM_MAX 8 /* key pairs in one call */

/* Fill sk[0..n) with fresh clamped X25519 secret keys and pk[0..n) with
 * their public keys, byte for byte what crypto_scalarmult_base gives.
 * 1 <= n <= EPHEM_MAX.  Returns 0, or -1 (nothing usable written) on a
 * bad n or if libsodium refuses a scalar, which a clamped one never is. */
int ephem_keypairs(uint8_t sk[][32], uint8_t pk[][32], size_t n);

/* The map itself, for ed[0..n) Ed25519 points (their y; the sign bit is
 * ignored, a y >= p is taken mod p): u[i] = (1 + y) / (1 - y), canonical.
 * The neutral point (y = 1) would make every u of the batch 0: callers
 * pass points of large order only.  Does nothing for n outside 1..EPHEM_MAX. */
void ephem_to_x25519(uint8_t u[][32], const uint8_t ed[][32], size_t n);

/* The inverse map, for one X25519 public key (xeddsa.h verifies a
 * signature under it): y = (u - 1) / (u + 1), canonical, sign bit 0.
 * -1 (y zeroed) if u is not canonical (u >= p, or bit 255 set) or is
 * p - 1, which has no Edwards point. */
int ephem_to_ed25519(uint8_t y[32], const uint8_t u[32]);

#endif
