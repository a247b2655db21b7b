/* packet — the layered packet format of the mixnet (see mixproxy-protocol(7)).
 *
 * Sphinx-family, with one X25519 per hop at the mix: the sender picks a
 * fresh ephemeral key pair for every hop (as Nym's Outfox does for its
 * fixed-length routes) instead of Sphinx's blinded group element, so a mix
 * does one scalar multiplication and no blinding.
 *
 * Every packet is exactly PKT_BYTES long: a header (alpha | beta | gamma)
 * that each hop opens one layer of, and a payload re-encrypted at every hop
 * with the Lion wide-block cipher.  Routes have PKT_HOPS hops: the three mix
 * layers and the exit gateway, which hands the recipient a delivery of the
 * same size.
 *
 * All functions take explicit lengths and treat their input as hostile:
 * they return a pkt_err, never crash, and leave nothing half-written that a
 * caller could mistake for a result. */
#ifndef MIXPROXY_PACKET_H
#define MIXPROXY_PACKET_H

#include <stddef.h>
#include <stdint.h>

#include "replay.h"

#define PKT_HOPS          4
#define PKT_KEY_BYTES     32   /* X25519 public and secret keys */
#define PKT_ID_BYTES      32   /* node id (NUL-padded text) or a client key */
#define PKT_TAG_BYTES     16   /* delivery tag: reply-block id or random */
#define PKT_BLOCK_BYTES   112  /* one hop's routing block */
#define PKT_MAC_BYTES     16
#define PKT_BETA_BYTES    (PKT_HOPS * PKT_BLOCK_BYTES)
#define PKT_HEADER_BYTES  (PKT_KEY_BYTES + PKT_BETA_BYTES + PKT_MAC_BYTES)
#define PKT_PAYLOAD_BYTES 2048
#define PKT_BYTES         (PKT_HEADER_BYTES + PKT_PAYLOAD_BYTES)
#define PKT_ZERO_BYTES    16   /* integrity prefix of the plaintext payload */
#define PKT_BODY_BYTES    (PKT_PAYLOAD_BYTES - PKT_ZERO_BYTES)
/* The longest per-hop delay a header can carry (u32 microseconds). */
#define PKT_MAX_DELAY_US  UINT32_MAX

/* A reply block as handed to its holder: first hop id | header | key. */
#define SURB_BYTES        (PKT_ID_BYTES + PKT_HEADER_BYTES + 32)

enum pkt_err {
	PKT_OK = 0,
	PKT_ERR_SIZE = -1,    /* input is not exactly the size of its kind */
	PKT_ERR_KEY = -2,     /* alpha is not a usable X25519 point */
	PKT_ERR_MAC = -3,     /* header tampered with, or not for this key */
	PKT_ERR_FORMAT = -4,  /* authentic header with an unknown block */
	PKT_ERR_REPLAY = -5,  /* this hop processed this packet before */
	PKT_ERR_EXPIRED = -6, /* timestamp outside the replay window */
	PKT_ERR_PAYLOAD = -7, /* payload tampered with (final reader) */
	PKT_ERR_ARG = -8,     /* caller's mistake: bad route, bad key */
};
const char *pkt_strerror(int err);

/* One hop of a route, as the sender knows it from the topology. */
struct pkt_hop {
	uint8_t id[PKT_ID_BYTES];  /* node id, NUL-padded */
	uint8_t pk[PKT_KEY_BYTES]; /* node public key */
	uint32_t delay_us;         /* how long this hop holds the packet */
};

enum pkt_action { PKT_RELAY = 1, PKT_DELIVER = 2 };

/* What processing at a hop yields. */
struct pkt_hop_result {
	enum pkt_action action;
	uint8_t addr[PKT_ID_BYTES]; /* RELAY: next node id; DELIVER: client key */
	uint32_t delay_us;
};

/* Node id text <-> the 32-byte field: 1..31 characters of [A-Za-z0-9._-]. */
int pkt_id_from_str(uint8_t id[PKT_ID_BYTES], const char *s);
int pkt_id_valid(const uint8_t id[PKT_ID_BYTES]);

/* Build a forward packet carrying body (exactly PKT_BODY_BYTES) along
 * route[0..3] (route[3] the recipient's gateway) to the client whose public
 * key is dest_pk.  now_min: Unix time in minutes. */
int pkt_create(uint8_t out[PKT_BYTES], const struct pkt_hop route[PKT_HOPS],
               const uint8_t dest_pk[PKT_KEY_BYTES],
               const uint8_t *body, size_t body_len, uint32_t now_min);

/* Build a packet that is valid at its first hop only: processing it with
 * hop's key yields RELAY to next_id with the given delay and a packet
 * whose alpha is next_alpha (the rest is noise).  Costs two X25519 where
 * pkt_create costs five and five key pairs (ephem.h): for benchmarks and
 * tests that feed a single mix. */
int pkt_create_first_hop(uint8_t out[PKT_BYTES], const struct pkt_hop *hop,
                         const uint8_t next_id[PKT_ID_BYTES],
                         const uint8_t next_alpha[32], uint32_t now_min);

/* Process one layer at a hop with its secret key.  pkt is rewritten in
 * place: for RELAY it becomes the packet for the next hop, for DELIVER the
 * delivery for the client (both PKT_BYTES).  rf may be NULL only in tests.
 * On error pkt is unspecified and must be dropped. */
int pkt_process(uint8_t *pkt, size_t len, const uint8_t sk[PKT_KEY_BYTES],
                struct replay *rf, uint32_t now_min, struct pkt_hop_result *res);

/* The delivery tag of a delivery (to look up a reply block's secret). */
int pkt_delivery_tag(const uint8_t *dlv, size_t len, uint8_t tag[PKT_TAG_BYTES]);

/* Open a delivery of a forward packet with the recipient's key pair. */
int pkt_open(const uint8_t *dlv, size_t len, const uint8_t sk[PKT_KEY_BYTES],
             uint8_t body[PKT_BODY_BYTES]);

/* What a reply block's creator keeps to read the reply: small, fixed. */
struct surb_secret {
	uint8_t tag[PKT_TAG_BYTES];
	uint8_t hop_seed[PKT_HOPS][32];
	uint8_t surb_key[32];
};

/* Build a reply block back to self_pk over route (route[3]: the creator's
 * gateway).  The secret must be kept (and wiped after use) by the caller. */
int surb_create(uint8_t surb[SURB_BYTES], struct surb_secret *sec,
                const struct pkt_hop route[PKT_HOPS],
                const uint8_t self_pk[PKT_KEY_BYTES], uint32_t now_min);

/* Holder: wrap body in the reply block.  Writes the packet and the id of
 * the first hop to send it to. */
int surb_use(const uint8_t *surb, size_t surb_len,
             const uint8_t *body, size_t body_len,
             uint8_t out[PKT_BYTES], uint8_t first_hop[PKT_ID_BYTES]);

/* Creator: read a reply that arrived as a delivery. */
int surb_open(const uint8_t *dlv, size_t len, const struct surb_secret *sec,
              uint8_t body[PKT_BODY_BYTES]);

#endif
