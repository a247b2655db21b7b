/* noise — see noise.h. */
#include "noise.h"

#include <sodium.h>
#include <string.h>

static const char protocol_name[] = "Noise_IK_25519_ChaChaPoly_SHA256";

void noise_nonce(uint8_t nonce[12], uint64_t n)
{
	memset(nonce, 0, 4);
	for (int i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(n >> (8 * i));
}

/* HMAC-SHA256 under a 32-byte key over a || b. */
static void hmac(uint8_t out[32], const uint8_t key[32], const uint8_t *a, size_t alen,
                 const uint8_t *b, size_t blen)
{
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, key, 32);
	crypto_auth_hmacsha256_update(&st, a, alen);
	if (blen)
		crypto_auth_hmacsha256_update(&st, b, blen);
	crypto_auth_hmacsha256_final(&st, out);
	sodium_memzero(&st, sizeof(st));
}

/* Noise's HKDF with two outputs (o1 and o2 may alias ck). */
static void hkdf2(const uint8_t ck[32], const uint8_t *ikm, size_t ilen, uint8_t o1[32],
                  uint8_t o2[32])
{
	static const uint8_t one = 1, two = 2;
	uint8_t tk[32], t1[32], t2[32];
	hmac(tk, ck, ikm, ilen, NULL, 0);
	hmac(t1, tk, &one, 1, NULL, 0);
	hmac(t2, tk, t1, 32, &two, 1);
	memcpy(o1, t1, 32);
	memcpy(o2, t2, 32);
	sodium_memzero(tk, sizeof(tk));
	sodium_memzero(t1, sizeof(t1));
	sodium_memzero(t2, sizeof(t2));
}

static void mix_hash(struct noise_ik *hs, const uint8_t *p, size_t n)
{
	crypto_hash_sha256_state st;
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, hs->h, 32);
	crypto_hash_sha256_update(&st, p, n);
	crypto_hash_sha256_final(&st, hs->h);
}

/* MixKey(DH(sk, pk)): -1 when pk is of low order (the result is zero). */
static int mix_dh(struct noise_ik *hs, const uint8_t sk[32], const uint8_t pk[32])
{
	uint8_t dh[32];
	if (crypto_scalarmult(dh, sk, pk) != 0) {
		sodium_memzero(dh, sizeof(dh));
		return -1;
	}
	hkdf2(hs->ck, dh, sizeof(dh), hs->ck, hs->k);
	sodium_memzero(dh, sizeof(dh));
	hs->n = 0;
	return 0;
}

/* Noise's EncryptAndHash; out holds n + 16 bytes (every call here comes
 * after a MixKey, so there always is a key). */
static void encrypt_and_hash(struct noise_ik *hs, const uint8_t *p, size_t n, uint8_t *out)
{
	uint8_t nonce[12];
	unsigned long long clen;
	noise_nonce(nonce, hs->n++);
	crypto_aead_chacha20poly1305_ietf_encrypt(out, &clen, p, n, hs->h, 32, NULL, nonce, hs->k);
	mix_hash(hs, out, n + NOISE_TAG_BYTES);
}

static int decrypt_and_hash(struct noise_ik *hs, const uint8_t *c, size_t n, uint8_t *out)
{
	uint8_t nonce[12];
	noise_nonce(nonce, hs->n++);
	if (crypto_aead_chacha20poly1305_ietf_decrypt(out, NULL, NULL, c, n, hs->h, 32, nonce,
	                                              hs->k) != 0)
		return -1;
	mix_hash(hs, c, n);
	return 0;
}

/* The token "e" written: the ephemeral key (random unless a test set
 * it) into out, and into the hash. */
static void write_e(struct noise_ik *hs, uint8_t out[32])
{
	if (!hs->has_e)
		crypto_box_keypair(hs->e_pk, hs->e_sk);
	hs->has_e = 1;
	memcpy(out, hs->e_pk, 32);
	mix_hash(hs, hs->e_pk, 32);
}

/* The token "e" read: the peer's ephemeral key, into re and the hash. */
static void read_e(struct noise_ik *hs, const uint8_t in[32])
{
	memcpy(hs->re, in, 32);
	mix_hash(hs, hs->re, 32);
}

void noise_ik_init(struct noise_ik *hs, int initiator, const void *prologue, size_t plen,
                   const struct keypair *s, const uint8_t rs[32])
{
	memset(hs, 0, sizeof(*hs));
	hs->initiator = initiator;
	hs->s = s;
	/* A name of exactly HASHLEN bytes is h as it stands. */
	memcpy(hs->h, protocol_name, 32);
	memcpy(hs->ck, hs->h, 32);
	mix_hash(hs, prologue, plen);
	if (initiator)
		memcpy(hs->rs, rs, 32);
	mix_hash(hs, initiator ? rs : s->pk, 32); /* the pre-message: <- s */
}

void noise_ik_set_ephemeral(struct noise_ik *hs, const uint8_t sk[32])
{
	memcpy(hs->e_sk, sk, 32);
	crypto_scalarmult_base(hs->e_pk, hs->e_sk);
	hs->has_e = 1;
}

int noise_ik_write1(struct noise_ik *hs, const uint8_t *payload, size_t plen, uint8_t *out)
{
	write_e(hs, out);
	if (mix_dh(hs, hs->e_sk, hs->rs))              /* es */
		return -1;
	encrypt_and_hash(hs, hs->s->pk, 32, out + 32); /* s */
	if (mix_dh(hs, hs->s->sk, hs->rs))             /* ss */
		return -1;
	encrypt_and_hash(hs, payload, plen, out + 32 + 48);
	return 0;
}

const char *noise_ik_read1(struct noise_ik *hs, const uint8_t *msg, size_t len, uint8_t *payload)
{
	if (len < NOISE_IK_MSG1_BYTES(0))
		return "handshake failed: short hello";
	read_e(hs, msg);
	if (mix_dh(hs, hs->s->sk, hs->re))             /* es */
		return "handshake failed (bad key)";
	if (decrypt_and_hash(hs, msg + 32, 48, hs->rs)) /* s */
		return "handshake failed: hello not sealed to this node's key";
	if (mix_dh(hs, hs->s->sk, hs->rs))             /* ss */
		return "handshake failed (bad key)";
	if (decrypt_and_hash(hs, msg + 80, len - 80, payload))
		return "handshake failed: peer does not hold its key";
	return NULL;
}

int noise_ik_write2(struct noise_ik *hs, const uint8_t *payload, size_t plen, uint8_t *out)
{
	write_e(hs, out);
	if (mix_dh(hs, hs->e_sk, hs->re) || mix_dh(hs, hs->e_sk, hs->rs)) /* ee, se */
		return -1;
	encrypt_and_hash(hs, payload, plen, out + 32);
	return 0;
}

const char *noise_ik_read2(struct noise_ik *hs, const uint8_t *msg, size_t len, uint8_t *payload)
{
	if (len < NOISE_IK_MSG2_BYTES(0))
		return "handshake failed: short reply";
	read_e(hs, msg);
	if (mix_dh(hs, hs->e_sk, hs->re) || mix_dh(hs, hs->s->sk, hs->re)) /* ee, se */
		return "handshake failed (bad key)";
	if (decrypt_and_hash(hs, msg + 32, len - 32, payload))
		return "handshake failed: peer does not hold the topology's key";
	return NULL;
}

void noise_ik_split(struct noise_ik *hs, uint8_t k_i2r[32], uint8_t k_r2i[32], uint8_t hash[32])
{
	hkdf2(hs->ck, NULL, 0, k_i2r, k_r2i);
	if (hash)
		memcpy(hash, hs->h, 32);
	noise_ik_wipe(hs);
}

void noise_ik_wipe(struct noise_ik *hs)
{
	sodium_memzero(hs, sizeof(*hs));
}
