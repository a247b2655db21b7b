/* packet — see packet.h and man/mixproxy-protocol.7 for the byte layout. */
#include "packet.h"

#include <sodium.h>
#include <string.h>

#include "buf.h"
#include "ephem.h"
#include "lion.h"

/* Offsets inside a routing block. */
#define B_TYPE   0
#define B_RSVD   1   /* 3 bytes, zero */
#define B_DELAY  4
#define B_TS     8
#define B_ADDR   12
#define B_TAG    44
#define B_ALPHA  60
#define B_GAMMA  92
#define B_RSVD2  108 /* 4 bytes, zero */

/* Offsets inside a packet. */
#define P_ALPHA   0
#define P_BETA    PKT_KEY_BYTES
#define P_GAMMA   (PKT_KEY_BYTES + PKT_BETA_BYTES)
#define P_PAYLOAD PKT_HEADER_BYTES

/* Offsets inside a delivery (what the exit gateway hands the client). */
#define D_ALPHA   0
#define D_TAG     PKT_KEY_BYTES
#define D_PAYLOAD (PKT_KEY_BYTES + PKT_TAG_BYTES)

#define STREAM_BYTES (PKT_BETA_BYTES + PKT_BLOCK_BYTES)

/* Keys one shared secret yields.  One ChaCha20 expansion of a BLAKE2b
 * seed gives all of them: cheap, and each is independent of the others. */
struct hop_keys {
	uint8_t hdr[32];  /* header stream */
	uint8_t mac[32];  /* Poly1305 one-time key for gamma */
	uint8_t lion[LION_KEY_BYTES];
	uint8_t tag[REPLAY_TAG_BYTES];
};

/* Domain separation: a hop secret and a recipient secret never yield the
 * same keys even from the same Diffie-Hellman value. */
static const uint8_t dom_hop[16] = "mixproxy/hop/v1";
static const uint8_t dom_dst[16] = "mixproxy/dst/v1";

static void seed_from_dh(uint8_t seed[32], const uint8_t *dom, const uint8_t s[32],
                         const uint8_t alpha[32])
{
	uint8_t in[64];
	memcpy(in, s, 32);
	memcpy(in + 32, alpha, 32);
	crypto_generichash(seed, 32, in, sizeof(in), dom, 16);
	sodium_memzero(in, sizeof(in));
}

static void keys_from_seed(struct hop_keys *k, const uint8_t seed[32])
{
	static const uint8_t nonce[crypto_stream_chacha20_NONCEBYTES];
	crypto_stream_chacha20((uint8_t *)k, sizeof(*k), nonce, seed);
}

static void header_stream(uint8_t out[STREAM_BYTES], const struct hop_keys *k)
{
	static const uint8_t nonce[crypto_stream_chacha20_NONCEBYTES] = { 'h' };
	crypto_stream_chacha20(out, STREAM_BYTES, nonce, k->hdr);
}

static void xor_into(uint8_t *dst, const uint8_t *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] ^= src[i];
}

const char *pkt_strerror(int err)
{
	switch (err) {
	case PKT_OK: return "ok";
	case PKT_ERR_SIZE: return "wrong size";
	case PKT_ERR_KEY: return "unusable ephemeral key";
	case PKT_ERR_MAC: return "header authentication failed (tampered or not for this key)";
	case PKT_ERR_FORMAT: return "malformed routing block";
	case PKT_ERR_REPLAY: return "replayed packet";
	case PKT_ERR_EXPIRED: return "timestamp outside the replay window";
	case PKT_ERR_PAYLOAD: return "payload integrity check failed (tampered)";
	case PKT_ERR_ARG: return "invalid route or key";
	}
	return "unknown error";
}

static int id_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

int pkt_id_from_str(uint8_t id[PKT_ID_BYTES], const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n >= PKT_ID_BYTES)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!id_char((unsigned char)s[i]))
			return -1;
	memset(id, 0, PKT_ID_BYTES);
	memcpy(id, s, n);
	return 0;
}

int pkt_id_valid(const uint8_t id[PKT_ID_BYTES])
{
	size_t n = 0;
	while (n < PKT_ID_BYTES && id[n])
		if (!id_char(id[n++]))
			return 0;
	if (n == 0 || n == PKT_ID_BYTES)
		return 0;
	for (size_t i = n; i < PKT_ID_BYTES; i++)
		if (id[i])
			return 0;
	return 1;
}

static void block_fill(uint8_t *b, enum pkt_action a, uint32_t delay_us, uint32_t ts)
{
	b[B_TYPE] = (uint8_t)a;
	memset(b + B_RSVD, 0, 3);
	be32_put(b + B_DELAY, delay_us);
	be32_put(b + B_TS, ts);
	memset(b + B_RSVD2, 0, 4);
}

/* Build the header for route, whose last routing block (addr, tag, alpha,
 * gamma already set by the caller in `last`) is the delivery, with the
 * ephemeral key pair esk[i]/alpha[i] for hop i.  Returns the per-hop seeds
 * so the caller can pre-compute or later undo payload layers.
 *
 * Sphinx construction: the filler is what the hops before the last one
 * append to beta (their stream past the end of the block they strip), so
 * that every hop's MAC covers the exact bytes it will receive. */
static int build_header(uint8_t hdr[PKT_HEADER_BYTES], const struct pkt_hop route[PKT_HOPS],
                        const uint8_t esk[PKT_HOPS][32], const uint8_t alpha[PKT_HOPS][32],
                        uint8_t last[PKT_BLOCK_BYTES], uint32_t now_min,
                        uint8_t seeds[PKT_HOPS][32])
{
	uint8_t stream[PKT_HOPS][STREAM_BYTES];
	uint8_t mackey[PKT_HOPS][32];
	uint8_t filler[PKT_BETA_BYTES - PKT_BLOCK_BYTES];
	uint8_t beta[PKT_BETA_BYTES], gamma[PKT_MAC_BYTES];
	uint8_t block[PKT_BLOCK_BYTES];
	int rc = PKT_OK;

	for (int i = 0; i < PKT_HOPS; i++) {
		uint8_t s[32];
		struct hop_keys k;
		if (crypto_scalarmult(s, esk[i], route[i].pk) != 0)
			rc = PKT_ERR_ARG;
		seed_from_dh(seeds[i], dom_hop, s, alpha[i]);
		keys_from_seed(&k, seeds[i]);
		header_stream(stream[i], &k);
		memcpy(mackey[i], k.mac, 32);
		sodium_memzero(s, sizeof(s));
		sodium_memzero(&k, sizeof(k));
	}
	if (rc != PKT_OK)
		goto out;

	/* Filler: phi_i = (phi_{i-1} | 0^B) ^ stream_{i-1}[(r-i+1)B .. (r+1)B). */
	size_t flen = 0;
	for (int i = 1; i < PKT_HOPS; i++) {
		memset(filler + flen, 0, PKT_BLOCK_BYTES);
		flen += PKT_BLOCK_BYTES;
		xor_into(filler, stream[i - 1] + STREAM_BYTES - flen, flen);
	}

	/* Last hop: its block, then the filler the earlier hops will append. */
	block_fill(last, PKT_DELIVER, route[PKT_HOPS - 1].delay_us, now_min);
	memcpy(beta, last, PKT_BLOCK_BYTES);
	xor_into(beta, stream[PKT_HOPS - 1], PKT_BLOCK_BYTES);
	memcpy(beta + PKT_BLOCK_BYTES, filler, sizeof(filler));
	crypto_onetimeauth_poly1305(gamma, beta, sizeof(beta), mackey[PKT_HOPS - 1]);

	for (int i = PKT_HOPS - 2; i >= 0; i--) {
		block_fill(block, PKT_RELAY, route[i].delay_us, now_min);
		memcpy(block + B_ADDR, route[i + 1].id, PKT_ID_BYTES);
		memset(block + B_TAG, 0, PKT_TAG_BYTES);
		memcpy(block + B_ALPHA, alpha[i + 1], 32);
		memcpy(block + B_GAMMA, gamma, PKT_MAC_BYTES);
		memmove(beta + PKT_BLOCK_BYTES, beta, PKT_BETA_BYTES - PKT_BLOCK_BYTES);
		memcpy(beta, block, PKT_BLOCK_BYTES);
		xor_into(beta, stream[i], PKT_BETA_BYTES);
		crypto_onetimeauth_poly1305(gamma, beta, sizeof(beta), mackey[i]);
	}
	memcpy(hdr + P_ALPHA, alpha[0], 32);
	memcpy(hdr + P_BETA, beta, PKT_BETA_BYTES);
	memcpy(hdr + P_GAMMA, gamma, PKT_MAC_BYTES);
out:
	sodium_memzero(stream, sizeof(stream));
	sodium_memzero(mackey, sizeof(mackey));
	sodium_memzero(filler, sizeof(filler));
	return rc;
}

static int route_valid(const struct pkt_hop route[PKT_HOPS])
{
	for (int i = 0; i < PKT_HOPS; i++)
		if (!pkt_id_valid(route[i].id))
			return 0;
	return 1;
}

int pkt_create(uint8_t out[PKT_BYTES], const struct pkt_hop route[PKT_HOPS],
               const uint8_t dest_pk[PKT_KEY_BYTES],
               const uint8_t *body, size_t body_len, uint32_t now_min)
{
	uint8_t seeds[PKT_HOPS][32], last[PKT_BLOCK_BYTES];
	uint8_t esk[PKT_HOPS + 1][32], epk[PKT_HOPS + 1][32], s[32], seed[32];
	uint8_t *dst_esk = esk[PKT_HOPS], *dst_epk = epk[PKT_HOPS];
	struct hop_keys k;
	int rc;

	if (body_len != PKT_BODY_BYTES)
		return PKT_ERR_SIZE;
	if (!route_valid(route))
		return PKT_ERR_ARG;
	/* A key pair for each hop and one for the recipient's own layer (the
	 * exit gateway must not read it). */
	if (ephem_keypairs(esk, epk, PKT_HOPS + 1) != 0)
		return PKT_ERR_ARG;
	rc = crypto_scalarmult(s, dst_esk, dest_pk) == 0 ? PKT_OK : PKT_ERR_ARG;
	if (rc != PKT_OK)
		goto out;
	memcpy(last + B_ADDR, dest_pk, PKT_KEY_BYTES);
	randombytes_buf(last + B_TAG, PKT_TAG_BYTES);
	memcpy(last + B_ALPHA, dst_epk, 32);
	randombytes_buf(last + B_GAMMA, PKT_MAC_BYTES);
	rc = build_header(out, route, (const uint8_t (*)[32])esk,
	                  (const uint8_t (*)[32])epk, last, now_min, seeds);
	if (rc != PKT_OK)
		goto out;

	uint8_t *pl = out + P_PAYLOAD;
	memset(pl, 0, PKT_ZERO_BYTES);
	memcpy(pl + PKT_ZERO_BYTES, body, PKT_BODY_BYTES);
	seed_from_dh(seed, dom_dst, s, dst_epk);
	keys_from_seed(&k, seed);
	lion_inv(k.lion, pl, PKT_PAYLOAD_BYTES);
	for (int i = PKT_HOPS - 1; i >= 0; i--) {
		keys_from_seed(&k, seeds[i]);
		lion_inv(k.lion, pl, PKT_PAYLOAD_BYTES);
	}
out:
	sodium_memzero(esk, sizeof(esk));
	sodium_memzero(seeds, sizeof(seeds));
	sodium_memzero(s, sizeof(s));
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(&k, sizeof(k));
	return rc;
}

int pkt_create_first_hop(uint8_t out[PKT_BYTES], const struct pkt_hop *hop,
                         const uint8_t next_id[PKT_ID_BYTES],
                         const uint8_t next_alpha[32], uint32_t now_min)
{
	uint8_t esk[32], s[32], seed[32], ks[STREAM_BYTES], beta[PKT_BETA_BYTES];
	struct hop_keys k;
	int rc = PKT_OK;

	if (!pkt_id_valid(next_id))
		return PKT_ERR_ARG;
	randombytes_buf(esk, sizeof(esk));
	crypto_scalarmult_base(out + P_ALPHA, esk);
	if (crypto_scalarmult(s, esk, hop->pk) != 0) {
		rc = PKT_ERR_ARG;
		goto out;
	}
	seed_from_dh(seed, dom_hop, s, out + P_ALPHA);
	keys_from_seed(&k, seed);
	header_stream(ks, &k);
	block_fill(beta, PKT_RELAY, hop->delay_us, now_min);
	memcpy(beta + B_ADDR, next_id, PKT_ID_BYTES);
	memset(beta + B_TAG, 0, PKT_TAG_BYTES);
	memcpy(beta + B_ALPHA, next_alpha, 32);
	randombytes_buf(beta + B_GAMMA, PKT_MAC_BYTES);
	randombytes_buf(beta + PKT_BLOCK_BYTES, PKT_BETA_BYTES - PKT_BLOCK_BYTES);
	xor_into(beta, ks, PKT_BETA_BYTES);
	memcpy(out + P_BETA, beta, PKT_BETA_BYTES);
	crypto_onetimeauth_poly1305(out + P_GAMMA, beta, PKT_BETA_BYTES, k.mac);
	randombytes_buf(out + P_PAYLOAD, PKT_PAYLOAD_BYTES);
out:
	sodium_memzero(esk, sizeof(esk));
	sodium_memzero(s, sizeof(s));
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(&k, sizeof(k));
	sodium_memzero(ks, sizeof(ks));
	return rc;
}

int pkt_process(uint8_t *pkt, size_t len, const uint8_t sk[PKT_KEY_BYTES],
                struct replay *rf, uint32_t now_min, struct pkt_hop_result *res)
{
	uint8_t s[32], seed[32], tmp[STREAM_BYTES], ks[STREAM_BYTES];
	struct hop_keys k;
	int rc = PKT_OK;

	if (len != PKT_BYTES)
		return PKT_ERR_SIZE;
	if (crypto_scalarmult(s, sk, pkt + P_ALPHA) != 0)
		return PKT_ERR_KEY;
	seed_from_dh(seed, dom_hop, s, pkt + P_ALPHA);
	keys_from_seed(&k, seed);
	if (crypto_onetimeauth_poly1305_verify(pkt + P_GAMMA, pkt + P_BETA,
	                                       PKT_BETA_BYTES, k.mac) != 0) {
		rc = PKT_ERR_MAC;
		goto out;
	}
	header_stream(ks, &k);
	memcpy(tmp, pkt + P_BETA, PKT_BETA_BYTES);
	memset(tmp + PKT_BETA_BYTES, 0, PKT_BLOCK_BYTES);
	xor_into(tmp, ks, STREAM_BYTES);

	const uint8_t *b = tmp;
	uint8_t type = b[B_TYPE];
	if ((type != PKT_RELAY && type != PKT_DELIVER) ||
	    b[B_RSVD] | b[B_RSVD + 1] | b[B_RSVD + 2] |
	    b[B_RSVD2] | b[B_RSVD2 + 1] | b[B_RSVD2 + 2] | b[B_RSVD2 + 3] ||
	    (type == PKT_RELAY && !pkt_id_valid(b + B_ADDR))) {
		rc = PKT_ERR_FORMAT;
		goto out;
	}
	/* The replay check comes after the MAC so that forged packets cannot
	 * fill the filter, and before the payload work so a replay is cheap. */
	if (rf) {
		switch (replay_check(rf, k.tag, be32_get(b + B_TS), now_min)) {
		case REPLAY_FRESH: break;
		case REPLAY_SEEN: rc = PKT_ERR_REPLAY; goto out;
		case REPLAY_EXPIRED: rc = PKT_ERR_EXPIRED; goto out;
		/* Maybe taken before a crash lost the memory of it. */
		case REPLAY_UNKNOWN: rc = PKT_ERR_REPLAY; goto out;
		}
	}
	lion_fwd(k.lion, pkt + P_PAYLOAD, PKT_PAYLOAD_BYTES);

	res->action = (enum pkt_action)type;
	res->delay_us = be32_get(b + B_DELAY);
	memcpy(res->addr, b + B_ADDR, PKT_ID_BYTES);
	if (type == PKT_RELAY) {
		memcpy(pkt + P_ALPHA, b + B_ALPHA, 32);
		memcpy(pkt + P_BETA, tmp + PKT_BLOCK_BYTES, PKT_BETA_BYTES);
		memcpy(pkt + P_GAMMA, b + B_GAMMA, PKT_MAC_BYTES);
	} else {
		memmove(pkt + D_PAYLOAD, pkt + P_PAYLOAD, PKT_PAYLOAD_BYTES);
		memcpy(pkt + D_ALPHA, b + B_ALPHA, 32);
		memcpy(pkt + D_TAG, b + B_TAG, PKT_TAG_BYTES);
		memset(pkt + D_PAYLOAD + PKT_PAYLOAD_BYTES, 0,
		       PKT_BYTES - D_PAYLOAD - PKT_PAYLOAD_BYTES);
	}
out:
	sodium_memzero(s, sizeof(s));
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(&k, sizeof(k));
	sodium_memzero(tmp, sizeof(tmp));
	sodium_memzero(ks, sizeof(ks));
	return rc;
}

int pkt_delivery_tag(const uint8_t *dlv, size_t len, uint8_t tag[PKT_TAG_BYTES])
{
	if (len != PKT_BYTES)
		return PKT_ERR_SIZE;
	memcpy(tag, dlv + D_TAG, PKT_TAG_BYTES);
	return PKT_OK;
}

/* Check the integrity prefix and hand out the body. */
static int payload_finish(const uint8_t pl[PKT_PAYLOAD_BYTES], uint8_t body[PKT_BODY_BYTES])
{
	if (!sodium_is_zero(pl, PKT_ZERO_BYTES))
		return PKT_ERR_PAYLOAD;
	memcpy(body, pl + PKT_ZERO_BYTES, PKT_BODY_BYTES);
	return PKT_OK;
}

int pkt_open(const uint8_t *dlv, size_t len, const uint8_t sk[PKT_KEY_BYTES],
             uint8_t body[PKT_BODY_BYTES])
{
	uint8_t s[32], seed[32], pl[PKT_PAYLOAD_BYTES];
	struct hop_keys k;
	int rc;

	if (len != PKT_BYTES)
		return PKT_ERR_SIZE;
	if (crypto_scalarmult(s, sk, dlv + D_ALPHA) != 0)
		return PKT_ERR_KEY;
	seed_from_dh(seed, dom_dst, s, dlv + D_ALPHA);
	keys_from_seed(&k, seed);
	memcpy(pl, dlv + D_PAYLOAD, sizeof(pl));
	lion_fwd(k.lion, pl, sizeof(pl));
	rc = payload_finish(pl, body);
	sodium_memzero(s, sizeof(s));
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(&k, sizeof(k));
	sodium_memzero(pl, sizeof(pl));
	return rc;
}

int surb_create(uint8_t surb[SURB_BYTES], struct surb_secret *sec,
                const struct pkt_hop route[PKT_HOPS],
                const uint8_t self_pk[PKT_KEY_BYTES], uint32_t now_min)
{
	uint8_t last[PKT_BLOCK_BYTES], esk[PKT_HOPS + 1][32], epk[PKT_HOPS + 1][32];
	int rc;

	if (!route_valid(route))
		return PKT_ERR_ARG;
	if (ephem_keypairs(esk, epk, PKT_HOPS + 1) != 0)
		return PKT_ERR_ARG;
	randombytes_buf(sec->tag, PKT_TAG_BYTES);
	randombytes_buf(sec->surb_key, sizeof(sec->surb_key));
	memcpy(last + B_ADDR, self_pk, PKT_KEY_BYTES);
	memcpy(last + B_TAG, sec->tag, PKT_TAG_BYTES);
	/* No recipient layer is needed (the creator knows every key), but the
	 * field must look like the curve point a forward delivery carries:
	 * random bytes would differ in their top bit half of the time. */
	memcpy(last + B_ALPHA, epk[PKT_HOPS], 32);
	randombytes_buf(last + B_GAMMA, PKT_MAC_BYTES);
	rc = build_header(surb + PKT_ID_BYTES, route, (const uint8_t (*)[32])esk,
	                  (const uint8_t (*)[32])epk, last, now_min, sec->hop_seed);
	sodium_memzero(esk, sizeof(esk));
	if (rc != PKT_OK) {
		sodium_memzero(sec, sizeof(*sec));
		return rc;
	}
	memcpy(surb, route[0].id, PKT_ID_BYTES);
	memcpy(surb + PKT_ID_BYTES + PKT_HEADER_BYTES, sec->surb_key, 32);
	return PKT_OK;
}

int surb_use(const uint8_t *surb, size_t surb_len,
             const uint8_t *body, size_t body_len,
             uint8_t out[PKT_BYTES], uint8_t first_hop[PKT_ID_BYTES])
{
	struct hop_keys k;

	if (surb_len != SURB_BYTES || body_len != PKT_BODY_BYTES)
		return PKT_ERR_SIZE;
	if (!pkt_id_valid(surb))
		return PKT_ERR_FORMAT;
	memcpy(first_hop, surb, PKT_ID_BYTES);
	memcpy(out, surb + PKT_ID_BYTES, PKT_HEADER_BYTES);
	uint8_t *pl = out + P_PAYLOAD;
	memset(pl, 0, PKT_ZERO_BYTES);
	memcpy(pl + PKT_ZERO_BYTES, body, PKT_BODY_BYTES);
	/* The holder's layer keeps the reply unreadable to its own gateway,
	 * which forwards it before any mix has touched it. */
	keys_from_seed(&k, surb + PKT_ID_BYTES + PKT_HEADER_BYTES);
	lion_fwd(k.lion, pl, PKT_PAYLOAD_BYTES);
	sodium_memzero(&k, sizeof(k));
	return PKT_OK;
}

int surb_open(const uint8_t *dlv, size_t len, const struct surb_secret *sec,
              uint8_t body[PKT_BODY_BYTES])
{
	uint8_t pl[PKT_PAYLOAD_BYTES];
	struct hop_keys k;
	int rc;

	if (len != PKT_BYTES)
		return PKT_ERR_SIZE;
	if (sodium_memcmp(dlv + D_TAG, sec->tag, PKT_TAG_BYTES) != 0)
		return PKT_ERR_ARG;
	memcpy(pl, dlv + D_PAYLOAD, sizeof(pl));
	for (int i = PKT_HOPS - 1; i >= 0; i--) {
		keys_from_seed(&k, sec->hop_seed[i]);
		lion_inv(k.lion, pl, sizeof(pl));
	}
	keys_from_seed(&k, sec->surb_key);
	lion_inv(k.lion, pl, sizeof(pl));
	rc = payload_finish(pl, body);
	sodium_memzero(&k, sizeof(k));
	sodium_memzero(pl, sizeof(pl));
	return rc;
}
