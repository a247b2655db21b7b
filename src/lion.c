/* lion — see lion.h. */
#include "lion.h"

#include <sodium.h>
#include <string.h>

#define L_BYTES 32

/* R ^= ChaCha20(key = L ^ k).  The key is fresh per call (it mixes in L),
 * so the all-zero nonce never repeats under one key. */
static void stream_round(const uint8_t *k, uint8_t *buf, size_t len)
{
	static const uint8_t nonce[crypto_stream_chacha20_NONCEBYTES];
	uint8_t key[32];
	for (int i = 0; i < 32; i++)
		key[i] = buf[i] ^ k[i];
	crypto_stream_chacha20_xor(buf + L_BYTES, buf + L_BYTES, len - L_BYTES, nonce, key);
	sodium_memzero(key, sizeof(key));
}

/* L ^= BLAKE2b-256 keyed with k over R. */
static void hash_round(const uint8_t *k, uint8_t *buf, size_t len)
{
	uint8_t h[L_BYTES];
	crypto_generichash(h, sizeof(h), buf + L_BYTES, len - L_BYTES, k, 32);
	for (int i = 0; i < L_BYTES; i++)
		buf[i] ^= h[i];
}

void lion_fwd(const uint8_t key[LION_KEY_BYTES], uint8_t *buf, size_t len)
{
	stream_round(key, buf, len);
	hash_round(key + 32, buf, len);
	stream_round(key + 64, buf, len);
}

void lion_inv(const uint8_t key[LION_KEY_BYTES], uint8_t *buf, size_t len)
{
	stream_round(key + 64, buf, len);
	hash_round(key + 32, buf, len);
	stream_round(key, buf, len);
}
