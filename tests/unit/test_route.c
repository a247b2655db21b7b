/* Unit tests of route choice (src/route.c) over simulated topologies with
 * several mixes per layer, some of them dead.
 *
 * The simulation sends messages one try at a time: a try gets through
 * when every mix of its route is alive and the network's random loss
 * spares it; its outcome is known before the next try (a real client has
 * many tries out at once, which only finds the live mixes sooner).  The
 * randomness is a seeded generator, so the figures are the same on every
 * run and the bounds below cannot flake; they print, so a change to the
 * rule shows what it does:
 *
 *   - tries to the first delivery of a client that knows nothing yet,
 *     with k of n mixes dead in every layer;
 *   - tries per message once it has learned (steady state), beside what
 *     the loss alone costs;
 *   - how long a mix that comes back takes to carry its share again, at
 *     50 tries a second (the default profile's send rate). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "keys.h"
#include "route.h"
#include "testtopo.h"
#include "topology.h"

#define TRY_US 20000ull     /* 50 tries a second */

struct rng {
	uint64_t s;
};

static uint32_t rng_next(struct rng *g)
{
	/* xorshift64* */
	g->s ^= g->s >> 12;
	g->s ^= g->s << 25;
	g->s ^= g->s >> 27;
	return (uint32_t)((g->s * 2685821657736338717ull) >> 32);
}

static uint32_t rng_uniform(void *ctx, uint32_t upper)
{
	return (uint32_t)(((uint64_t)rng_next(ctx) * upper) >> 32);
}

static double rng01(struct rng *g)
{
	return rng_next(g) / 4294967296.0;
}

/* route[l] = the id of mix k of layer l + 1, the same k in every layer. */
static void same_route(const struct topology *t, uint8_t route[3][PKT_ID_BYTES], unsigned k)
{
	for (int l = 0; l < 3; l++)
		memcpy(route[l], t->nodes[t->layer[l][k]].id, PKT_ID_BYTES);
}

/* The network: which mixes are alive, and the loss of a whole route. */
struct net {
	const struct topology *t;
	int alive[4096];
	double loss;
	struct rng g;
};

/* Mixes 0..k-1 of every layer are dead. */
static void kill_first(struct net *nt, unsigned k)
{
	for (size_t i = 0; i < nt->t->n; i++)
		nt->alive[i] = 1;
	for (int l = 0; l < 3; l++)
		for (unsigned i = 0; i < k; i++)
			nt->alive[nt->t->layer[l][i]] = 0;
}

/* How a try's outcome is modelled: a route that gets through or not
 * (its loss counts the ack's way back), or a round trip, out on its
 * route and back by a reply block drawn as the try went (the one it
 * carried, which the peer uses first), with its failure blamed on the
 * route out only (as before the rule took the way back in) or on the
 * whole trip. */
enum trip { ROUTE_ONLY, TRIP_BLAME_OUT, TRIP_BLAME_BOTH };

static int pick_alive(struct routes *r, struct net *nt, uint8_t mixes[3][PKT_ID_BYTES])
{
	const struct topo_node *m[3];
	int ok = 1;
	routes_pick(r, m);
	for (int l = 0; l < 3; l++) {
		memcpy(mixes[l], m[l]->id, PKT_ID_BYTES);
		ok &= nt->alive[m[l] - nt->t->nodes];
	}
	return ok;
}

/* One message, tried until it gets through; its tries. */
static unsigned send_msg_trip(struct routes *r, struct net *nt, uint64_t *now, enum trip trip)
{
	uint8_t mixes[3][PKT_ID_BYTES], back[3][PKT_ID_BYTES];
	for (unsigned tries = 1;; tries++) {
		int ok = pick_alive(r, nt, mixes);
		if (trip != ROUTE_ONLY)
			ok &= pick_alive(r, nt, back);
		ok &= rng01(&nt->g) >= nt->loss;
		*now += TRY_US;
		if (ok) {
			/* As the client does: the ack proves the route out, and
			 * the block it came by proves its own. */
			routes_proven_trip(r, (const uint8_t (*)[PKT_ID_BYTES])mixes,
			                   trip == TRIP_BLAME_BOTH ? (const uint8_t (*)[PKT_ID_BYTES])back
			                                           : NULL, *now, *now);
			if (trip != ROUTE_ONLY)
				routes_proven(r, (const uint8_t (*)[PKT_ID_BYTES])back, *now, *now);
			return tries;
		}
		routes_failed_trip(r, (const uint8_t (*)[PKT_ID_BYTES])mixes,
		                   trip == TRIP_BLAME_BOTH ? (const uint8_t (*)[PKT_ID_BYTES])back
		                                           : NULL, 0);
		ck_assert_uint_lt(tries, 100000);
	}
}

static unsigned send_msg(struct routes *r, struct net *nt, uint64_t *now)
{
	return send_msg_trip(r, nt, now, ROUTE_ONLY);
}

struct figures {
	double first;   /* tries to the first delivery, mean over runs */
	unsigned first_max;
	double steady;  /* tries per message after 200 messages */
};

/* reports: the client's gateway reports the dead mixes (its links to
 * them fail), as it does for mixes that crashed; without, only routes'
 * outcomes tell (a mix that takes packets and drops them). */
static struct figures simulate(unsigned n, unsigned k, double loss, int reports, unsigned runs)
{
	struct topology *t = testtopo_new(n, 0, NULL);
	struct net nt = { .t = t, .loss = loss, .g = { 0x9e3779b97f4a7c15ull + n * 131 + k } };
	struct figures f = { 0 };
	unsigned long first = 0, steady = 0, msgs = 0;
	kill_first(&nt, k);
	for (unsigned run = 0; run < runs; run++) {
		struct routes *r = routes_new(t);
		uint64_t now = 1000000;
		routes_set_rng(r, rng_uniform, &nt.g);
		for (size_t i = 0; reports && i < t->n; i++)
			if (!nt.alive[i])
				routes_link(r, t->nodes[i].id, 0, 0);
		unsigned tries = send_msg(r, &nt, &now);
		first += tries;
		if (tries > f.first_max)
			f.first_max = tries;
		for (unsigned i = 0; i < 200; i++)
			send_msg(r, &nt, &now);
		for (unsigned i = 0; i < 200; i++, msgs++)
			steady += send_msg(r, &nt, &now);
		routes_free(r);
	}
	f.first = (double)first / runs;
	f.steady = (double)steady / msgs;
	printf("route: %u of %u mixes dead a layer, %2.0f%% loss, %s: first delivery after %5.1f "
	       "tries (at worst %u), then %.2f tries a message (loss alone: %.2f)\n",
	       k, n, loss * 100, reports ? "reported" : "silent  ", f.first, f.first_max, f.steady,
	       1 / (1 - loss));
	topo_free(t);
	return f;
}

/* The rule's figures and their bounds: the mean tries to the first
 * delivery, and the tries a message takes once learned. */
static const struct {
	unsigned n, k;
	double loss;
	int reports;
	unsigned runs;
	double first, steady;
} cases[] = {
	/* Mixes that crashed: the gateway's failed links report them, and
	 * the first try already avoids them (but for the floor's probes). */
	{ 2, 1, 0, 1, 200, 1.2, 1.1 },
	{ 4, 3, 0, 1, 200, 1.5, 1.4 },
	{ 4, 3, 0.3, 1, 200, 2.5, 1.4 / 0.7 },
	/* 10% loss at each of the ten nodes a try and its ack pass (as
	 * mixclient.sh runs): two tries in three fail on live routes. */
	{ 4, 3, 0.65, 1, 100, 5, 1.5 / 0.35 },
	/* Silent: up, but dropping what they get.  Only failed routes tell,
	 * and a route fails at random ((n/(n-k))^3 routes for one that
	 * lives) until one gets through: then it is learned. */
	{ 2, 1, 0, 0, 200, 8, 1.15 },
	{ 2, 1, 0.3, 0, 200, 12, 1.3 / 0.7 },
	{ 4, 3, 0, 0, 200, 80, 1.4 },
	{ 4, 3, 0.3, 0, 200, 110, 1.4 / 0.7 },
	{ 4, 3, 0.65, 0, 50, 250, 1.5 / 0.35 },
	{ 8, 4, 0, 0, 100, 10, 1.15 },
	{ 8, 6, 0, 0, 100, 80, 1.4 },
	/* Nothing dead: health costs nothing. */
	{ 4, 0, 0, 0, 50, 1, 1 },
};

START_TEST(test_tries_with_dead_mixes)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct figures f = simulate(cases[i].n, cases[i].k, cases[i].loss, cases[i].reports,
		                            cases[i].runs);
		ck_assert_msg(f.first <= cases[i].first && f.steady <= cases[i].steady,
		              "case %zu: %.2f first, %.2f steady", i, f.first, f.steady);
	}
}
END_TEST

/* A dead mix comes back: how long until it carries its share again (its
 * weight back to 1, which takes a route through it that gets through). */
START_TEST(test_recovery)
{
	struct topology *t = testtopo_new(4, 0, NULL);
	struct net nt = { .t = t, .loss = 0.1, .g = { 42 } };
	double total_s = 0, worst_s = 0;
	const unsigned runs = 100;
	for (unsigned run = 0; run < runs; run++) {
		struct routes *r = routes_new(t);
		uint64_t now = 1000000;
		routes_set_rng(r, rng_uniform, &nt.g);
		kill_first(&nt, 3);
		for (unsigned i = 0; i < 300; i++)
			send_msg(r, &nt, &now);
		const uint8_t *id = t->nodes[t->layer[1][0]].id;
		ck_assert(routes_weight(r, id) == ROUTE_FLOOR);
		nt.alive[t->layer[1][0]] = 1; /* back, in layer 2 */
		uint64_t back = now;
		while (routes_weight(r, id) < 1 - ROUTE_PROVEN_D)
			send_msg(r, &nt, &now);
		double s = (double)(now - back) / 1e6;
		total_s += s;
		worst_s = s > worst_s ? s : worst_s;
		/* It carries about its share of a layer with two live mixes. */
		unsigned via = 0, n = 2000;
		for (unsigned i = 0; i < n; i++) {
			const struct topo_node *m[3];
			routes_pick(r, m);
			via += m[1] == &t->nodes[t->layer[1][0]];
		}
		ck_assert_msg(via > n / 4, "a mix back carries %u of %u routes", via, n);
		routes_free(r);
	}
	printf("route: a mix that comes back (3 of 4 dead, 10%% loss, 50 tries/s) carries its share "
	       "again after %.2f s on average, %.2f s at worst\n", total_s / runs, worst_s);
	ck_assert(total_s / runs <= 2.0 && worst_s <= 10.0);
	topo_free(t);
}
END_TEST

/* The skew bound: however bad the others look, no mix is more than
 * 1/ROUTE_FLOOR times as likely as another of its layer. */
START_TEST(test_skew_bound)
{
	struct topology *t = testtopo_new(4, 0, NULL);
	struct routes *r = routes_new(t);
	struct rng g = { 7 };
	routes_set_rng(r, rng_uniform, &g);
	uint8_t route[3][PKT_ID_BYTES];
	/* Mix 0 of each layer proven again and again; routes through 1..3
	 * of every layer fail without end. */
	for (int i = 0; i < 1000; i++) {
		int k = i % 4;
		same_route(t, route, (unsigned)k);
		if (k)
			routes_failed(r, (const uint8_t (*)[PKT_ID_BYTES])route);
		else
			routes_proven(r, (const uint8_t (*)[PKT_ID_BYTES])route, 1000000, 1000000);
	}
	routes_link(r, t->nodes[t->layer[0][3]].id, 0, 0);
	unsigned count[4] = { 0 }, n = 200000;
	for (unsigned i = 0; i < n; i++) {
		const struct topo_node *m[3];
		routes_pick(r, m);
		for (int k = 0; k < 4; k++)
			count[k] += m[0] == &t->nodes[t->layer[0][k]];
	}
	double w0 = 1 - ROUTE_PROVEN_D, best = w0 / (w0 + 3 * ROUTE_FLOOR);
	printf("route: skew: the healthy mix of 4 takes %.3f of routes (bound %.3f), "
	       "each dead one %.4f\n", (double)count[0] / n, best, (double)count[3] / n);
	ck_assert((double)count[0] / n < best + 0.01);
	for (int k = 1; k < 4; k++)
		ck_assert((double)count[k] / n > ROUTE_FLOOR / (w0 + 3 * ROUTE_FLOOR) - 0.005);
	routes_free(r);
	topo_free(t);
}
END_TEST

/* The gateway's report is newer news than an ack of a try sent before
 * it: a mix that died after the try passed stays reported, and a layer
 * whose every mix is reported is named dead however late such acks come
 * (they once undid the report, and the failures that followed spread
 * over the live layers, which were named instead).  A try sent after the
 * report that gets through clears it.  A mix listed again keeps the time
 * it was first listed; one left out is cleared. */
START_TEST(test_report_vs_late_proof)
{
	struct topology *t = testtopo_new(2, 0, NULL);
	struct routes *r = routes_new(t);
	uint8_t route[3][PKT_ID_BYTES], ids[2][PKT_ID_BYTES], pkt[PKT_BYTES];
	const uint8_t *a = t->nodes[t->layer[1][0]].id, *b = t->nodes[t->layer[1][1]].id;
	const char *why;
	unsigned unknown;
	memcpy(ids[0], a, PKT_ID_BYTES);
	memcpy(ids[1], b, PKT_ID_BYTES);
	ck_assert_uint_eq(route_status_encode(pkt, (const uint8_t (*)[PKT_ID_BYTES])ids, 2), 2);
	ck_assert_int_eq(routes_apply_status(r, pkt, PKT_BYTES, &unknown, &why, 10000000), 0);
	ck_assert_uint_eq(unknown, 0);
	ck_assert_int_eq(routes_dead_layer(r, 0), 2);
	/* Sent at 9 s, acked at 11 s: layers 1 and 3 are proven, a not. */
	same_route(t, route, 0);
	routes_proven_trip(r, (const uint8_t (*)[PKT_ID_BYTES])route, NULL, 9000000, 11000000);
	ck_assert(routes_dead_belief(r, a) == 1);
	ck_assert(routes_dead_belief(r, route[0]) == ROUTE_PROVEN_D);
	ck_assert_int_eq(routes_dead_layer(r, 5000000), 2);
	/* The same report again at 12 s: a's report still dates from 10 s,
	 * so a try sent at 11 s that got through clears it. */
	ck_assert_int_eq(routes_apply_status(r, pkt, PKT_BYTES, &unknown, &why, 12000000), 0);
	routes_proven_trip(r, (const uint8_t (*)[PKT_ID_BYTES])route, NULL, 11000000, 13000000);
	ck_assert(routes_dead_belief(r, a) == ROUTE_PROVEN_D);
	ck_assert(routes_dead_belief(r, b) == 1);
	ck_assert_int_eq(routes_dead_layer(r, 5000000), 0);
	/* A report of a alone clears b; a proof of b's route leaves a. */
	ck_assert_uint_eq(route_status_encode(pkt, (const uint8_t (*)[PKT_ID_BYTES])ids, 1), 1);
	ck_assert_int_eq(routes_apply_status(r, pkt, PKT_BYTES, &unknown, &why, 14000000), 0);
	ck_assert(routes_dead_belief(r, b) < 1);
	ck_assert(routes_dead_belief(r, a) == 1);
	same_route(t, route, 1);
	routes_proven_trip(r, (const uint8_t (*)[PKT_ID_BYTES])route, NULL, 13500000, 15000000);
	ck_assert(routes_dead_belief(r, a) == 1);
	/* b reported again, by routes_link: the report dates from then. */
	routes_link(r, b, 0, 16000000);
	routes_proven(r, (const uint8_t (*)[PKT_ID_BYTES])route, 15500000, 17000000);
	ck_assert(routes_dead_belief(r, b) == 1);
	routes_proven(r, (const uint8_t (*)[PKT_ID_BYTES])route, 16500000, 17000000);
	ck_assert(routes_dead_belief(r, b) == ROUTE_PROVEN_D);
	/* Malformed reports change nothing. */
	memset(pkt, 0, sizeof(pkt));
	pkt[1] = 1;
	memcpy(pkt + 2, b, PKT_ID_BYTES);
	pkt[PKT_BYTES - 1] = 1;
	ck_assert_int_eq(routes_apply_status(r, pkt, PKT_BYTES, &unknown, &why, 18000000), -1);
	ck_assert_str_eq(why, "bytes after the list");
	ck_assert_int_eq(routes_apply_status(r, pkt, PKT_BYTES - 1, &unknown, &why, 18000000), -1);
	pkt[0] = 0xff;
	pkt[PKT_BYTES - 1] = 0;
	ck_assert_int_eq(routes_apply_status(r, pkt, PKT_BYTES, &unknown, &why, 18000000), -1);
	ck_assert(routes_dead_belief(r, b) == ROUTE_PROVEN_D);
	ck_assert(routes_dead_belief(r, a) == 1);
	/* An id that is no mix of the topology is counted, not taken. */
	memset(pkt, 0, sizeof(pkt));
	pkt[1] = 1;
	memcpy(pkt + 2, "no-such-mix", 11);
	ck_assert_int_eq(routes_apply_status(r, pkt, PKT_BYTES, &unknown, &why, 18000000), 0);
	ck_assert_uint_eq(unknown, 1);
	ck_assert(routes_dead_belief(r, a) < 1);
	routes_free(r);
	topo_free(t);
}
END_TEST

/* A layer is dead when none of its mixes was proven lately and each is
 * believed dead, or is reported unreachable; a proof revives it. */
START_TEST(test_dead_layer)
{
	struct topology *t = testtopo_new(2, 0, NULL);
	struct routes *r = routes_new(t);
	uint8_t route[3][PKT_ID_BYTES];
	ck_assert_int_eq(routes_dead_layer(r, 0), 0);
	/* Every route fails after a proof at 1 s: the belief grows on all. */
	same_route(t, route, 0);
	routes_proven(r, (const uint8_t (*)[PKT_ID_BYTES])route, 1000000, 1000000);
	for (int i = 0; i < 200; i++) {
		same_route(t, route, (unsigned)i % 2);
		routes_failed(r, (const uint8_t (*)[PKT_ID_BYTES])route);
	}
	/* A proof since then keeps a layer alive; one before does not. */
	ck_assert_int_eq(routes_dead_layer(r, 500000), 0);
	ck_assert_int_eq(routes_dead_layer(r, 2000000), 1);
	routes_proven(r, (const uint8_t (*)[PKT_ID_BYTES])route, 11000000, 11000000);
	ck_assert_int_eq(routes_dead_layer(r, 2000000), 0);
	routes_free(r);

	/* Layer 3's two mixes reported unreachable by the gateway. */
	r = routes_new(t);
	routes_link(r, t->nodes[t->layer[2][0]].id, 0, 0);
	ck_assert_int_eq(routes_dead_layer(r, 0), 0);
	routes_link(r, t->nodes[t->layer[2][1]].id, 0, 0);
	ck_assert_int_eq(routes_dead_layer(r, 0), 3);
	ck_assert(routes_weight(r, t->nodes[t->layer[2][1]].id) == ROUTE_FLOOR);
	routes_link(r, t->nodes[t->layer[2][1]].id, 1, 0);
	ck_assert_int_eq(routes_dead_layer(r, 0), 0);
	ck_assert(routes_weight(r, t->nodes[t->layer[2][1]].id) == 1 - ROUTE_PRIOR_D);
	routes_free(r);
	topo_free(t);
}
END_TEST

/* A failed route moves each mix's belief by how well its death explains
 * the failure: little under heavy loss, much when the other two were
 * proven a moment ago and routes of proven mixes hardly ever fail. */
START_TEST(test_bayes)
{
	struct topology *t = testtopo_new(2, 0, NULL);
	struct routes *r = routes_new(t);
	struct route_stats st;
	uint8_t good[3][PKT_ID_BYTES], bad[3][PKT_ID_BYTES];
	same_route(t, good, 0);
	memcpy(bad, good, sizeof(bad));
	memcpy(bad[1], t->nodes[t->layer[1][1]].id, PKT_ID_BYTES);
	/* The loss of proven routes is measured: 200 proofs, no failure. */
	for (int i = 0; i < 200; i++)
		routes_proven(r, (const uint8_t (*)[PKT_ID_BYTES])good, 1000000, 1000000);
	routes_get_stats(r, &st);
	ck_assert(st.loss < 0.001);
	/* One failure through the unknown mix: nearly all on it.  Its f is
	 * 1 - (1 - loss) * 0.98^2, so the belief goes from 0.1 to about
	 * 0.1 / (0.1 + 0.9 * 0.04) = 0.73; the proven ones' from 0.02 to
	 * 0.02 / (0.02 + 0.98 * (1 - 0.98 * 0.9)) = 0.15. */
	routes_failed(r, (const uint8_t (*)[PKT_ID_BYTES])bad);
	double dbad = routes_dead_belief(r, bad[1]), dgood = routes_dead_belief(r, bad[0]);
	printf("route: one failure after 200 proofs without loss: the unknown mix %.3f, "
	       "a proven one %.3f\n", dbad, dgood);
	ck_assert(dbad > 0.7 && dbad < 0.76);
	ck_assert(dgood > 0.13 && dgood < 0.17);
	routes_free(r);

	/* The same under 65% loss (10% at each of the 10 nodes a try and its
	 * ack pass): a failure is what a live route does most of the time. */
	r = routes_new(t);
	struct rng g = { 3 };
	for (int i = 0; i < 4000; i++) {
		if (rng01(&g) < 0.65)
			routes_failed(r, (const uint8_t (*)[PKT_ID_BYTES])good);
		else
			routes_proven(r, (const uint8_t (*)[PKT_ID_BYTES])good, 1000000, 1000000);
	}
	routes_proven(r, (const uint8_t (*)[PKT_ID_BYTES])good, 1000000, 1000000);
	routes_get_stats(r, &st);
	routes_failed(r, (const uint8_t (*)[PKT_ID_BYTES])bad);
	dbad = routes_dead_belief(r, bad[1]);
	printf("route: measured loss %.2f; one failure through the unknown mix: %.3f\n", st.loss,
	       dbad);
	ck_assert(st.loss > 0.5 && st.loss < 0.8);
	ck_assert(dbad > 0.1 && dbad < 0.2);
	/* Ten failures in a row through proven mixes (1.3% of the time at
	 * this loss) leave them still likely alive. */
	routes_proven(r, (const uint8_t (*)[PKT_ID_BYTES])good, 1000000, 1000000);
	for (int i = 0; i < 10; i++)
		routes_failed(r, (const uint8_t (*)[PKT_ID_BYTES])good);
	printf("route: ten failures in a row at that loss: a proven mix's belief %.3f\n",
	       routes_dead_belief(r, good[0]));
	ck_assert(routes_weight(r, good[0]) > 0.5);
	routes_free(r);
	topo_free(t);
}
END_TEST

/* A try's round trip: out on its route, back by the block it carried.  A
 * failure that a mix dead on the way back explains leaves the way out
 * alone; a mix on both halves counts once. */
START_TEST(test_round_trip)
{
	struct topology *t = testtopo_new(2, 0, NULL);
	struct routes *r = routes_new(t), *r2 = routes_new(t);
	uint8_t good[3][PKT_ID_BYTES], back[3][PKT_ID_BYTES];
	same_route(t, good, 0);
	memcpy(back, good, sizeof(back));
	memcpy(back[0], t->nodes[t->layer[0][1]].id, PKT_ID_BYTES);
	routes_link(r, back[0], 0, 0); /* its gateway cannot link to it */
	for (int i = 0; i < 200; i++) {
		routes_proven(r, (const uint8_t (*)[PKT_ID_BYTES])good, 1000000, 1000000);
		routes_proven(r2, (const uint8_t (*)[PKT_ID_BYTES])good, 1000000, 1000000);
	}
	routes_failed_trip(r, (const uint8_t (*)[PKT_ID_BYTES])good,
	                   (const uint8_t (*)[PKT_ID_BYTES])back, 0);
	double out = routes_dead_belief(r, good[1]);
	routes_failed(r, (const uint8_t (*)[PKT_ID_BYTES])good);
	double alone = routes_dead_belief(r, good[1]);
	printf("route: a failed try whose block went through a mix reported dead: a mix of "
	       "the way out %.3f (blamed on the way out alone: %.3f)\n", out, alone);
	ck_assert(out < ROUTE_PROVEN_D + 1e-9);
	ck_assert(alone > 0.1);
	/* The same route both ways: as a route alone. */
	routes_failed_trip(r2, (const uint8_t (*)[PKT_ID_BYTES])good,
	                   (const uint8_t (*)[PKT_ID_BYTES])good, 0);
	ck_assert(fabs(routes_dead_belief(r2, good[1]) - alone) < 1e-12);
	/* A try sent before its mixes were last proven (at 1 s, in every
	 * loop above) says nothing of them; one sent after does. */
	routes_free(r2);
	r2 = routes_new(t);
	for (int i = 0; i < 200; i++)
		routes_proven(r2, (const uint8_t (*)[PKT_ID_BYTES])good, 1000000, 1000000);
	routes_failed_trip(r2, (const uint8_t (*)[PKT_ID_BYTES])good, NULL, 999999);
	ck_assert(routes_dead_belief(r2, good[1]) < ROUTE_PROVEN_D + 1e-9);
	routes_failed_trip(r2, (const uint8_t (*)[PKT_ID_BYTES])good, NULL, 1000001);
	ck_assert(routes_dead_belief(r2, good[1]) > 0.1);
	routes_free(r);
	routes_free(r2);
	topo_free(t);

	/* 3 of 4 mixes a layer dead and reported, 65% loss (mixclient.sh):
	 * tries a message, with the way back drawn as the way out is.
	 * Blamed on the way out only, the failures of blocks drawn through
	 * the floor's dead mixes fell on the live mixes of the way out. */
	t = testtopo_new(4, 0, NULL);
	double mean[3] = { 0 };
	unsigned worst[3] = { 0 };
	for (int mode = TRIP_BLAME_OUT; mode <= TRIP_BLAME_BOTH; mode++) {
		struct net nt = { .t = t, .loss = 0.65, .g = { 77 } };
		unsigned long sum = 0, msgs = 0;
		kill_first(&nt, 3);
		for (unsigned run = 0; run < 20; run++) {
			r = routes_new(t);
			uint64_t now = 1000000;
			routes_set_rng(r, rng_uniform, &nt.g);
			for (size_t i = 0; i < t->n; i++)
				if (!nt.alive[i])
					routes_link(r, t->nodes[i].id, 0, 0);
			for (unsigned i = 0; i < 500; i++, msgs++) {
				unsigned n = send_msg_trip(r, &nt, &now, (enum trip)mode);
				sum += n;
				if (n > worst[mode])
					worst[mode] = n;
			}
			routes_free(r);
		}
		mean[mode] = (double)sum / msgs;
	}
	printf("route: 3 of 4 dead and reported, 65%% loss, round trips: %.2f tries a message "
	       "(at worst %u); blamed on the way out only: %.2f (at worst %u)\n",
	       mean[TRIP_BLAME_BOTH], worst[TRIP_BLAME_BOTH], mean[TRIP_BLAME_OUT],
	       worst[TRIP_BLAME_OUT]);
	ck_assert(mean[TRIP_BLAME_BOTH] < 6 && worst[TRIP_BLAME_BOTH] <= 150);
	ck_assert(mean[TRIP_BLAME_BOTH] < mean[TRIP_BLAME_OUT]);
	topo_free(t);
}
END_TEST

Suite *suite_route(void)
{
	Suite *s = suite_create("route");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_tries_with_dead_mixes);
	tcase_add_test(tc, test_recovery);
	tcase_add_test(tc, test_skew_bound);
	tcase_add_test(tc, test_dead_layer);
	tcase_add_test(tc, test_report_vs_late_proof);
	tcase_add_test(tc, test_bayes);
	tcase_add_test(tc, test_round_trip);
	suite_add_tcase(s, tc);
	return s;
}
