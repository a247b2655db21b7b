/* xeddsa — signatures made with an X25519 key pair (Signal's XEdDSA).
 *
 * A node has one long-term X25519 key, the one the topology lists.  It
 * signs its epoch keys (epoch.h) with that key, so that every process
 * can check them against the topology it already has, with no second key
 * to make, keep, or list.  The X25519 secret scalar k gives the Edwards
 * point E = kB, whose Montgomery u is the X25519 public key; the signing
 * key is E with its sign bit cleared, A, and the scalar that goes with
 * it, a = k or -k.  Signatures are plain Ed25519 signatures under A, so
 * libsodium's crypto_sign_verify_detached checks them once A has been
 * recovered from u (ephem_to_ed25519).  The nonce hashes a with the
 * message and 64 fresh random bytes, as the XEdDSA specification says.
 *
 * Using one key for Diffie-Hellman and for signatures is what XEdDSA is
 * for: the two uses hash their inputs differently, and no known attack
 * crosses between them (the specification's security section). */
#ifndef MIXPROXY_XEDDSA_H
#define MIXPROXY_XEDDSA_H

#include <stddef.h>
#include <stdint.h>

#define XEDDSA_BYTES 64

/* Sign m with the X25519 secret key sk (32 bytes, as crypto_box makes
 * them; clamped here).  0, or -1 (sig zeroed) if libsodium refuses. */
int xeddsa_sign(uint8_t sig[XEDDSA_BYTES], const uint8_t *m, size_t mlen,
                const uint8_t sk[32]);

/* 0 if sig is a signature of m by the holder of the X25519 public key
 * pk; -1 otherwise, also for a pk that is not a canonical point. */
int xeddsa_verify(const uint8_t sig[XEDDSA_BYTES], const uint8_t *m, size_t mlen,
                  const uint8_t pk[32]);

#endif
