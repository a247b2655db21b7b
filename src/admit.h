/* admit — who may hold a node's incoming links, and how many.
 *
 * A connection costs the node a descriptor and, once its HELLO is in, a
 * key pair and three X25519, all before the peer has proved anything.
 * So the links a node accepts are in three classes, each with its own
 * bound, and max_links is their sum:
 *
 *   handshake  accepted, the peer not yet authenticated.  At most
 *              max_handshakes, and per_addr from one source address; at
 *              the first bound the oldest handshake is pushed out (an
 *              honest one ends within a round trip; a stranger's that
 *              waits holds nothing), at the second the new one is refused.
 *   node       authenticated with a key of the topology: node_reserve of
 *              them always fit (a layer-3 mix reconnecting to a gateway
 *              is never refused for slots that clients hold).
 *   client     authenticated as a client (gateways): at most what is
 *              left, max_links - node_reserve - max_handshakes, and
 *              per_addr_clients from one address.
 *
 * The owner embeds a struct admit_slot in each incoming link, and tells
 * admit when the link is accepted, authenticated and gone.  Time is the
 * caller's (microseconds). */
#ifndef MIXPROXY_ADMIT_H
#define MIXPROXY_ADMIT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "list.h"

enum admit_class { AD_NONE, AD_HANDSHAKE, AD_NODE, AD_CLIENT, AD_NCLASSES };

#define ADMIT_ADDR_BYTES 16   /* an IPv6 /64, or an IPv4 address mapped */

struct admit_slot {
	enum admit_class cls;
	uint8_t addr[ADMIT_ADDR_BYTES];
	uint64_t since_us;
	struct list hs;           /* in the handshakes, oldest first */
};

struct admit_limits {
	uint64_t max_links;       /* all classes together */
	uint64_t node_reserve;
	uint64_t max_handshakes;
	uint64_t per_addr;        /* handshakes from one address */
	uint64_t per_addr_clients; /* client links from one address */
};

struct admit_stats {
	uint64_t handshakes_pushed;  /* oldest handshake closed for a new one */
	uint64_t refused_addr;       /* new connection over per_addr */
	uint64_t refused_clients;    /* authenticated client over its class's bound, or its
	                              * address's */
};

struct admit;

/* The limits, fitted: max_handshakes at most a quarter of max_links and
 * at least 1, per_addr at most a quarter of that and at least 1,
 * node_reserve within what is left, clients at least 1.  max_links must
 * be at least 3. */
struct admit *admit_new(const struct admit_limits *lim);
void admit_free(struct admit *a);
/* The limits as fitted. */
const struct admit_limits *admit_limits(const struct admit *a);
uint64_t admit_max_clients(const struct admit *a);

/* The address of sa, as admit keys it: an IPv4 address, or an IPv6
 * address's /64 (a single host often has a whole /64: its addresses are
 * one source); zeros for a family it does not know, or sa NULL. */
void admit_addr(const struct sockaddr *sa, uint8_t out[ADMIT_ADDR_BYTES]);

enum admit_refusal { ADMIT_OK = 0, ADMIT_PER_ADDR = -1, ADMIT_FULL = -2 };

/* A new connection from addr, in slot s (zeroed by the owner): ADMIT_OK
 * and s is a handshake (*push, if not NULL on return, is the oldest
 * handshake, which the owner closes: it is released already); or refused:
 * ADMIT_PER_ADDR (its address holds per_addr handshakes), ADMIT_FULL
 * (every link is authenticated). */
int admit_accept(struct admit *a, struct admit_slot *s, const uint8_t addr[ADMIT_ADDR_BYTES],
                 uint64_t now_us, struct admit_slot **push);
/* s authenticated as cls (AD_NODE or AD_CLIENT): 0, or -1 when its
 * class, or its address's share of it, is full (clients only; the owner
 * closes it, s is released). */
int admit_up(struct admit *a, struct admit_slot *s, enum admit_class cls);
/* s is gone (whatever its class; a released slot is ignored). */
void admit_release(struct admit *a, struct admit_slot *s);

size_t admit_count(const struct admit *a, enum admit_class cls);
const struct admit_stats *admit_stats(const struct admit *a);

#endif
