/* xeddsa — see xeddsa.h.  Names follow the XEdDSA specification
 * (Signal, revision 1, 2016): k the secret scalar, (A, a) the signing
 * pair, r the nonce, R = rB, h = SHA-512(R || A || M), s = r + ha. */
#include "xeddsa.h"

#include <sodium.h>
#include <string.h>

#include "ephem.h"

/* A 64-byte hash reduced mod L. */
static void reduce(uint8_t out[32], uint8_t wide[64])
{
	crypto_core_ed25519_scalar_reduce(out, wide);
	sodium_memzero(wide, 64);
}

int xeddsa_sign(uint8_t sig[XEDDSA_BYTES], const uint8_t *m, size_t mlen,
                const uint8_t sk[32])
{
	uint8_t k[32], E[32], A[32], a[32], kw[64], r[32], R[32], h[32], ha[32], s[32];
	uint8_t wide[64], z[64];
	crypto_hash_sha512_state st;
	int rc = -1;

	/* calculate_key_pair: E = kB; A = E with sign 0; a = k or -k. */
	memcpy(k, sk, 32);
	k[0] &= 248;
	k[31] &= 127;
	k[31] |= 64;
	if (crypto_scalarmult_ed25519_base_noclamp(E, k) != 0)
		goto out;
	memcpy(A, E, 32);
	A[31] &= 0x7f;
	memset(kw, 0, sizeof(kw));
	memcpy(kw, k, 32);
	crypto_core_ed25519_scalar_reduce(a, kw);
	if (E[31] & 0x80)
		crypto_core_ed25519_scalar_negate(a, a);

	/* r = hash1(a || M || Z) mod L, hash1 = SHA-512 of 2^256 - 2 in 32
	 * little-endian bytes first. */
	uint8_t prefix[32];
	memset(prefix, 0xff, sizeof(prefix));
	prefix[0] = 0xfe;
	randombytes_buf(z, sizeof(z));
	crypto_hash_sha512_init(&st);
	crypto_hash_sha512_update(&st, prefix, sizeof(prefix));
	crypto_hash_sha512_update(&st, a, 32);
	crypto_hash_sha512_update(&st, m, mlen);
	crypto_hash_sha512_update(&st, z, sizeof(z));
	crypto_hash_sha512_final(&st, wide);
	reduce(r, wide);
	if (crypto_scalarmult_ed25519_base_noclamp(R, r) != 0)
		goto out;

	/* h = SHA-512(R || A || M) mod L; s = r + ha mod L. */
	crypto_hash_sha512_init(&st);
	crypto_hash_sha512_update(&st, R, 32);
	crypto_hash_sha512_update(&st, A, 32);
	crypto_hash_sha512_update(&st, m, mlen);
	crypto_hash_sha512_final(&st, wide);
	reduce(h, wide);
	crypto_core_ed25519_scalar_mul(ha, h, a);
	crypto_core_ed25519_scalar_add(s, r, ha);
	memcpy(sig, R, 32);
	memcpy(sig + 32, s, 32);
	rc = 0;
out:
	if (rc)
		memset(sig, 0, XEDDSA_BYTES);
	sodium_memzero(k, sizeof(k));
	sodium_memzero(kw, sizeof(kw));
	sodium_memzero(a, sizeof(a));
	sodium_memzero(r, sizeof(r));
	sodium_memzero(ha, sizeof(ha));
	sodium_memzero(z, sizeof(z));
	sodium_memzero(&st, sizeof(st));
	return rc;
}

int xeddsa_verify(const uint8_t sig[XEDDSA_BYTES], const uint8_t *m, size_t mlen,
                  const uint8_t pk[32])
{
	uint8_t A[32];
	/* convert_mont(u): y from u, sign bit 0.  libsodium then checks that
	 * A is on the curve and not of small order, that R is canonical and
	 * s below L, and that sB = R + hA. */
	if (ephem_to_ed25519(A, pk) != 0)
		return -1;
	return crypto_sign_verify_detached(sig, m, mlen, A) == 0 ? 0 : -1;
}
