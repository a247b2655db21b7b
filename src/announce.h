/* announce — a node's signed word that an X25519 key is its packet key
 * for one epoch, and the bounded store of the words a process believes.
 *
 * A node signs each epoch key with its long-term key, the one the
 * topology lists (xeddsa.h), so any process that holds the topology can
 * check an announcement that reached it through any other: a gateway or
 * a mix that passes one on cannot forge or alter it, only withhold it.
 *
 *     0    1  version (1)
 *     1    3  zero
 *     4    4  epoch number (big-endian)
 *     8   32  node key: the node's long-term X25519 key
 *    40   32  epoch key: its X25519 packet key for that epoch
 *    72   64  XEdDSA signature by the node key of
 *             "mixproxy epoch key v1" || bytes 0..71
 *
 * Announcements travel in bundles of up to ANN_BUNDLE_MAX, which fit a
 * packet-sized link frame: a count (u16, big-endian, 1 or more), the
 * announcements, zeros to the end.
 *
 * The parsers take hostile input: they check sizes, versions and padding,
 * and never read past what they are given.  ann_check then checks what
 * the parser cannot: the node is in the topology, the signature is its,
 * the epoch is one a process may use or soon will (epoch.h). */
#ifndef MIXPROXY_ANNOUNCE_H
#define MIXPROXY_ANNOUNCE_H

#include <stddef.h>
#include <stdint.h>

#include "packet.h"
#include "xeddsa.h"

struct topology;

#define ANN_VERSION 1
#define ANN_SIGNED_BYTES 72
#define ANN_BYTES (ANN_SIGNED_BYTES + XEDDSA_BYTES)
#define ANN_BUNDLE_MAX ((PKT_BYTES - 2) / ANN_BYTES)

struct ann {
	uint32_t epoch;
	uint8_t node_pk[32];
	uint8_t epoch_pk[32];
	uint8_t sig[XEDDSA_BYTES];
};

enum ann_err {
	ANN_OK = 0,
	ANN_ERR_FORMAT = -1,   /* wrong size, version, padding or count */
	ANN_ERR_NODE = -2,     /* the node key is not in the topology */
	ANN_ERR_SIG = -3,      /* not signed by that node */
	ANN_ERR_EXPIRED = -4,  /* an epoch that is over, grace and all */
	ANN_ERR_EARLY = -5,    /* an epoch too far ahead to be announced yet */
	ANN_ERR_KEY = -6,      /* the epoch key is not a usable X25519 key */
	ANN_ERR_CONFLICT = -7, /* another key for a node and epoch already known */
};
const char *ann_strerror(int err);

/* Sign epoch_pk as node's key for epoch: node_sk/node_pk the long-term
 * pair.  0, or -1 (a zeroed ann) if signing fails. */
int ann_make(struct ann *a, uint32_t epoch, const uint8_t epoch_pk[32],
             const uint8_t node_pk[32], const uint8_t node_sk[32]);
void ann_encode(const struct ann *a, uint8_t out[ANN_BYTES]);
/* Exactly ANN_BYTES of input; ANN_OK or ANN_ERR_FORMAT. */
int ann_decode(struct ann *a, const uint8_t *in, size_t len);

/* Whether a may be believed at epoch now_epoch (the current one, at the
 * caller's clock): its node is in t, the signature is the node's, the
 * epoch is now_epoch - 1, now_epoch or now_epoch + 1, the epoch key is a
 * canonical, non-zero X25519 key. */
int ann_check(const struct ann *a, const struct topology *t, uint32_t now_epoch);

/* Bundles: anns[0..n) into out (PKT_BYTES), 1 <= n <= ANN_BUNDLE_MAX.
 * 0, or -1 for a bad n. */
int ann_bundle_encode(uint8_t out[PKT_BYTES], const struct ann *anns, size_t n);
/* Decode a bundle into anns (room for ANN_BUNDLE_MAX); *n the count.
 * Nothing is believed yet: each must pass ann_check. */
int ann_bundle_decode(struct ann *anns, size_t *n, const uint8_t *in, size_t len);

/* The store: what a process believes, one key per (node, epoch), at most
 * three epochs per node of the topology it was made for. */
struct annstore;
struct annstore *annstore_new(size_t max_nodes);
void annstore_free(struct annstore *s);
/* Keep a (which passed ann_check): ANN_OK if new, 1 if the same was
 * known, ANN_ERR_CONFLICT (nothing changed) if another key was known for
 * its node and epoch.  Epochs before oldest are refused as expired. */
int annstore_add(struct annstore *s, const struct ann *a);
/* The epoch key of node for epoch, or NULL. */
const uint8_t *annstore_key(const struct annstore *s, const uint8_t node_pk[32], uint32_t epoch);
/* Forget the epochs before oldest (wiped); later adds of them are
 * refused as expired. */
void annstore_prune(struct annstore *s, uint32_t oldest);
size_t annstore_count(const struct annstore *s);
/* Every announcement kept, in no order: *it starts at 0; 0 at the end. */
int annstore_next(const struct annstore *s, size_t *it, const struct ann **a);

#endif
