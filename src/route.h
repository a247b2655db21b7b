/* route — which mixes a client's packets go through, and what it has
 * learned of them.
 *
 * A route is one mix of each layer, each drawn at random with weight
 * 1 - d, where d is the client's belief that the mix is dead (a
 * probability, 0.1 for a mix it knows nothing of), and never below
 * ROUTE_FLOOR.  The belief follows what routes do, by Bayes' rule:
 *
 *   - a route whose packet was acknowledged proves its three mixes
 *     alive: d goes down to ROUTE_PROVEN_D (a mix may die later);
 *   - a try that failed (it timed out) raises the belief of each mix of
 *     its round trip by how well "that mix is dead" explains the failure
 *     beside the other explanations: the other mixes, as suspect as they
 *     are, and the loss a round trip of live mixes suffers anyway, which
 *     the set measures on trips of mixes proven alive.  The round trip is
 *     the route out and, where the sender knows it, the route of the reply
 *     block the ack most likely came back by: a failure that a dead mix on
 *     the way back explains does not condemn the live mixes of the way
 *     out (blocks through dead mixes, in the peer's stock, once kept a
 *     client's only live mixes believed dead at 0.96 for 100 s, and the
 *     blocks it drew with that belief went through the dead).  A mix
 *     proven since the try went is left alone: it lived after it.  Where the
 *     loss is high (a lossy network, a busy machine), a failure says
 *     little and moves little; where it is low, a failed route with two
 *     mixes proven a moment ago condemns the third;
 *   - a mix the client's gateway reports it cannot link to (routes_link,
 *     routes_apply_status) counts as dead until a later report clears it,
 *     or a try sent after the report gets through it.
 *
 * ROUTE_FLOOR (1/32) bounds how far health skews the choice from
 * uniform: no mix is ever more than 32 times as likely as another of its
 * layer, so a hostile mix that stays healthy while others look bad gains
 * at most that; and it keeps probing the dead: a mix that comes back
 * carries some routes at once, and the first of them that gets through
 * restores it.
 *
 * The set is shared by the clients of a process (the proxy client's
 * identities): what one learns serves all, and a new identity does not
 * learn the dead mixes again.  Randomness comes from libsodium unless a
 * test sets its own (routes_set_rng). */
#ifndef MIXPROXY_ROUTE_H
#define MIXPROXY_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "packet.h"
#include "topology.h"

#define ROUTE_FLOOR (1.0 / 32)
#define ROUTE_PRIOR_D 0.1        /* belief that a mix not heard of is dead */
#define ROUTE_PROVEN_D 0.02      /* ... that one just proven is */
#define ROUTE_DEAD_D 0.9         /* a layer whose every mix is believed this dead is */

struct routes;

struct route_stats {
	uint64_t picks, proven, failed, link_reports;
	double loss;          /* measured: tries over proven routes that fail */
};

/* The topology is borrowed: it must outlive the set. */
struct routes *routes_new(const struct topology *t);
void routes_free(struct routes *r);
/* For tests: draw with fn(ctx, upper) in [0, upper) instead of libsodium. */
void routes_set_rng(struct routes *r, uint32_t (*fn)(void *ctx, uint32_t upper), void *ctx);

/* Draw the three mixes of a route into out[0..2].  A message sent again
 * draws afresh: the blame its failed try left does the avoiding (halving
 * the weight of the last route's mixes as well only sent more tries to
 * the dead, in the simulation of test_route.c). */
void routes_pick(struct routes *r, const struct topo_node *out[3]);
/* A route's outcome: proven at now_us by a packet sent at sent_us (its
 * mixes were alive at some time between), or failed. */
void routes_proven(struct routes *r, const uint8_t (*mixes)[PKT_ID_BYTES], uint64_t sent_us,
                   uint64_t now_us);
void routes_failed(struct routes *r, const uint8_t (*mixes)[PKT_ID_BYTES]);
/* A try that got through, with the route of the block it carried (NULL:
 * not known): its route out is proven; the trip's mixes tell whether its
 * outcome measures the loss (routes_failed_trip). */
void routes_proven_trip(struct routes *r, const uint8_t (*fwd)[PKT_ID_BYTES],
                        const uint8_t (*ret)[PKT_ID_BYTES], uint64_t sent_us,
                        uint64_t now_us);
/* A try sent at sent_us (0: not known) that failed, with the route ret of
 * the reply block its ack was most likely to take back (NULL: not known,
 * as routes_failed).  Mixes proven since it went are left alone. */
void routes_failed_trip(struct routes *r, const uint8_t (*fwd)[PKT_ID_BYTES],
                        const uint8_t (*ret)[PKT_ID_BYTES], uint64_t sent_us);
/* The client's gateway reports its link to a mix down (up = 0) or up,
 * at now_us. */
void routes_link(struct routes *r, const uint8_t id[PKT_ID_BYTES], int up, uint64_t now_us);

/* The gateway's report to its clients of the mixes it cannot link to
 * now (link frame LF_STATUS, in its packet area, so it is the size of
 * every other frame):
 *
 *   0  u16  count, at most ROUTE_STATUS_MAX
 *   2  count x 32-byte mix ids, then zeros
 *
 * Each report is whole: a mix not in it is reachable. */
#define ROUTE_STATUS_MAX ((PKT_BYTES - 2) / PKT_ID_BYTES)
/* Encode at most ROUTE_STATUS_MAX of n ids (the rest are left out: the
 * floor still probes them); how many went in. */
size_t route_status_encode(uint8_t out[PKT_BYTES], const uint8_t (*ids)[PKT_ID_BYTES], size_t n);
/* Take a report: mixes listed are unreachable, every other mix of the
 * topology reachable; ids that are not mixes of the topology are skipped
 * and counted in *unknown.  0, or -1 with a reason in *why (nothing is
 * taken from a malformed report). */
int routes_apply_status(struct routes *r, const uint8_t *pkt, size_t len, unsigned *unknown,
                        const char **why, uint64_t now_us);

/* A layer (1..3) in which no mix has been proven since since_us and every
 * mix is believed dead (ROUTE_DEAD_D), or is reported unreachable: no
 * route can carry a packet.  0: none. */
int routes_dead_layer(const struct routes *r, uint64_t since_us);
/* A mix's weight now, and the belief that it is dead (tests, `show`). */
double routes_weight(const struct routes *r, const uint8_t id[PKT_ID_BYTES]);
double routes_dead_belief(const struct routes *r, const uint8_t id[PKT_ID_BYTES]);
void routes_get_stats(const struct routes *r, struct route_stats *st);

#endif
