/* topology — the network as every process reads it from a text file.
 *
 * One node per line:
 *
 *     ID gateway HOST:PORT PUBKEY
 *     ID mix LAYER HOST:PORT PUBKEY
 *
 * ID: 1..31 of [A-Za-z0-9._-]; LAYER: 1..3; HOST:PORT numeric (IPv4 or
 * [IPv6]); PUBKEY: Base58 X25519 public key (as `mixproxy keygen` prints).
 * `#` starts a comment; blank lines are ignored.  Duplicate ids, duplicate
 * keys and duplicate addresses are errors.  The parser is a push API: feed
 * bytes, then finish; errors name the line. */
#ifndef MIXPROXY_TOPOLOGY_H
#define MIXPROXY_TOPOLOGY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "packet.h"

#define TOPO_MAX_NODES 4096
#define TOPO_LAYERS 3

enum topo_role { TOPO_GATEWAY = 0, TOPO_MIX = 1 };

struct topo_node {
	char name[PKT_ID_BYTES];    /* NUL-terminated id text */
	uint8_t id[PKT_ID_BYTES];   /* the same, NUL-padded, as packets carry it */
	enum topo_role role;
	int layer;                  /* 1..3 for mixes, 0 for gateways */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char addr_text[64];
	uint8_t pk[PKT_KEY_BYTES];
};

struct topology {
	struct topo_node *nodes;    /* in file order */
	size_t n;
	/* Indexes into nodes[]: gateways, and mixes by layer (1..3 at [0..2]). */
	size_t *gateways, ngateways;
	size_t *layer[TOPO_LAYERS], nlayer[TOPO_LAYERS];
	struct htab *by_id;         /* 32-byte id -> struct topo_node * */
	struct htab *by_pk;         /* 32-byte key -> struct topo_node * */
};

/* Push parser. */
struct topo_parser;
struct topo_parser *topo_parser_new(void);
/* 0, or -1 with "line N: reason" in err; after an error, feed fails. */
int topo_parser_feed(struct topo_parser *p, const char *buf, size_t n, char *err, size_t errsz);
/* Finish: returns the topology (caller frees), or NULL + err; frees p
 * either way.  Also checks the network is usable: at least one gateway and one mix in
 * each layer (else error "no mix in layer N").  NULL + err on error. */
struct topology *topo_parser_finish(struct topo_parser *p, char *err, size_t errsz);
void topo_parser_free(struct topo_parser *p);

/* Read a whole file; errors are "FILE: line N: reason". */
struct topology *topo_load(const char *path, char *err, size_t errsz);
void topo_free(struct topology *t);

const struct topo_node *topo_by_id(const struct topology *t, const uint8_t id[PKT_ID_BYTES]);
const struct topo_node *topo_by_name(const struct topology *t, const char *name);
const struct topo_node *topo_by_pk(const struct topology *t, const uint8_t pk[PKT_KEY_BYTES]);

/* Pick a uniformly random mix of a layer (1..3) / a random gateway
 * (randombytes_uniform). */
const struct topo_node *topo_random_mix(const struct topology *t, int layer);
const struct topo_node *topo_random_gateway(const struct topology *t);

/* Fill a route: three random mixes, then the given exit gateway; per-hop
 * delays are set to 0 (the caller samples them). */
void topo_route(const struct topology *t, const struct topo_node *exit_gw,
                struct pkt_hop route[PKT_HOPS]);

/* Format one node as its topology line (no newline) into buf. */
const char *topo_node_line(const struct topo_node *n, char *buf, size_t bufsz);

#endif
