/* route — see route.h. */
#include "route.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "util.h"

#define D_MAX (1 - 1e-9)   /* beliefs stay off certainty: evidence can move them */
#define LOSS_PRIOR 0.2     /* until measured */
#define LOSS_GAIN (1.0 / 32)

struct mix_health {
	uint64_t ok_us;   /* last proof (0: never) */
	double d;         /* belief that it is dead */
	int unreachable;  /* the gateway reports no link to it */
	uint64_t reported_us; /* since when (if unreachable) */
	int listed;       /* in the report being taken */
};

/* The gateway reports mix h unreachable (again) at now_us. */
static void reported(struct mix_health *h, uint64_t now_us)
{
	if (!h->unreachable)
		h->reported_us = now_us;
	h->unreachable = 1;
}

struct routes {
	const struct topology *t;
	struct mix_health *h; /* by index in t->nodes */
	double loss;          /* of routes whose mixes are all proven */
	uint32_t (*rng)(void *ctx, uint32_t upper);
	void *rng_ctx;
	struct route_stats st;
};

static uint32_t sodium_rng(void *ctx, uint32_t upper)
{
	(void)ctx;
	return randombytes_uniform(upper);
}

struct routes *routes_new(const struct topology *t)
{
	struct routes *r = xcalloc(1, sizeof(*r));
	r->t = t;
	r->h = xcalloc(t->n ? t->n : 1, sizeof(*r->h));
	for (size_t i = 0; i < t->n; i++)
		r->h[i].d = ROUTE_PRIOR_D;
	r->loss = LOSS_PRIOR;
	r->rng = sodium_rng;
	return r;
}

void routes_free(struct routes *r)
{
	if (!r)
		return;
	free(r->h);
	free(r);
}

void routes_set_rng(struct routes *r, uint32_t (*fn)(void *ctx, uint32_t upper), void *ctx)
{
	r->rng = fn ? fn : sodium_rng;
	r->rng_ctx = ctx;
}

static struct mix_health *health(const struct routes *r, const uint8_t id[PKT_ID_BYTES])
{
	const struct topo_node *n = topo_by_id(r->t, id);
	return n && n->role == TOPO_MIX ? &r->h[n - r->t->nodes] : NULL;
}

static double dead(const struct mix_health *h)
{
	return h->unreachable ? 1 : h->d;
}

static double weight(const struct mix_health *h)
{
	double w = 1 - dead(h);
	return w > ROUTE_FLOOR ? w : ROUTE_FLOOR;
}

double routes_weight(const struct routes *r, const uint8_t id[PKT_ID_BYTES])
{
	const struct mix_health *h = health(r, id);
	return h ? weight(h) : 0;
}

double routes_dead_belief(const struct routes *r, const uint8_t id[PKT_ID_BYTES])
{
	const struct mix_health *h = health(r, id);
	return h ? dead(h) : 1;
}

/* The loss of routes of live mixes, measured on outcomes of tries whose
 * mixes (n of them: a route, or a round trip's two) were all proven
 * (believed alive at ROUTE_PROVEN_D or so) before the outcome: a failure
 * there is the network's, not a mix's. */
static void measure_loss(struct routes *r, struct mix_health *const *h, int n, int failed)
{
	for (int i = 0; i < n; i++)
		if (!h[i] || dead(h[i]) > 2 * ROUTE_PROVEN_D)
			return;
	r->loss += LOSS_GAIN * (failed - r->loss);
}

/* Whether h[i] is the first of h[0..i] to name its mix (a mix may be on
 * both halves of a round trip). */
static int first_of(struct mix_health *const *h, int i)
{
	for (int k = 0; k < i; k++)
		if (h[k] == h[i])
			return 0;
	return 1;
}

static void route_health(const struct routes *r, const uint8_t (*mixes)[PKT_ID_BYTES],
                         struct mix_health *h[TOPO_LAYERS])
{
	for (int l = 0; l < TOPO_LAYERS; l++)
		h[l] = health(r, mixes[l]);
}

/* A uniform double in [0, 1) from the set's randomness. */
static double uniform01(struct routes *r)
{
	uint32_t hi = r->rng(r->rng_ctx, 1u << 26), lo = r->rng(r->rng_ctx, 1u << 27);
	return ((double)hi * 134217728.0 + lo) / 9007199254740992.0;
}

void routes_pick(struct routes *r, const struct topo_node *out[3])
{
	const struct topology *t = r->t;
	r->st.picks++;
	for (int l = 0; l < TOPO_LAYERS; l++) {
		size_t n = t->nlayer[l];
		double sum = 0;
		/* Two passes over the layer (sum, then draw) rather than a
		 * table of weights: layers are small, and the pick is cheap
		 * beside the packet it is for. */
		for (int pass = 0; pass < 2; pass++) {
			double x = pass ? uniform01(r) * sum : 0;
			for (size_t i = 0; i < n; i++) {
				size_t k = t->layer[l][i];
				double w = weight(&r->h[k]);
				if (!pass) {
					sum += w;
				} else if ((x -= w) < 0 || i == n - 1) {
					out[l] = &t->nodes[k];
					break;
				}
			}
		}
	}
}

/* The loss is measured over the same round trips as routes_failed_trip
 * measures it: a success counts where every mix of the trip was proven,
 * or successes would outweigh failures and the loss read low. */
void routes_proven_trip(struct routes *r, const uint8_t (*fwd)[PKT_ID_BYTES],
                        const uint8_t (*ret)[PKT_ID_BYTES], uint64_t sent_us, uint64_t now_us)
{
	struct mix_health *h[2 * TOPO_LAYERS];
	route_health(r, fwd, h);
	if (ret)
		route_health(r, ret, h + TOPO_LAYERS);
	r->st.proven++;
	measure_loss(r, h, ret ? 2 * TOPO_LAYERS : TOPO_LAYERS, 0);
	for (int l = 0; l < TOPO_LAYERS; l++) {
		/* The try passed the mix after it went, and a report of the
		 * gateway's since then is the newer news: an ack that comes
		 * late must not undo it (the mix died after the try passed,
		 * and a dead layer would go unnamed while failures spread
		 * over the live ones). */
		if (!h[l] || (h[l]->unreachable && h[l]->reported_us > sent_us))
			continue;
		h[l]->ok_us = now_us;
		h[l]->d = ROUTE_PROVEN_D;
		h[l]->unreachable = 0;
	}
}

/* For each mix of the round trip: P(dead | it failed) = d / (d + (1 - d) f),
 * where f = P(the trip fails | this mix lives) = 1 - (1 - loss) times the
 * chance that every other mix of the trip lives, from the beliefs before.
 * A mix on both halves counts once; so does each other mix.  A mix proven
 * since the try went was alive after it: its failure says nothing of that
 * mix (a client has many tries out, and their timeouts come in bursts
 * after an outage of the way back; each counted as evidence, they
 * condemned live mixes that acks had just proven). */
void routes_failed_trip(struct routes *r, const uint8_t (*fwd)[PKT_ID_BYTES],
                        const uint8_t (*ret)[PKT_ID_BYTES], uint64_t sent_us)
{
	struct mix_health *h[2 * TOPO_LAYERS];
	double before[2 * TOPO_LAYERS];
	int n = ret ? 2 * TOPO_LAYERS : TOPO_LAYERS;
	route_health(r, fwd, h);
	if (ret)
		route_health(r, ret, h + TOPO_LAYERS);
	r->st.failed++;
	measure_loss(r, h, n, 1);
	for (int i = 0; i < n; i++)
		before[i] = h[i] ? dead(h[i]) : 0;
	for (int i = 0; i < n; i++) {
		if (!h[i] || h[i]->unreachable || !first_of(h, i) ||
		    (sent_us && h[i]->ok_us >= sent_us))
			continue;
		double others = 1 - r->loss;
		for (int j = 0; j < n; j++)
			if (h[j] && h[j] != h[i] && first_of(h, j))
				others *= 1 - before[j];
		double d = before[i], f = 1 - others;
		double post = d / (d + (1 - d) * f);
		h[i]->d = post < D_MAX ? post : D_MAX;
	}
}

void routes_proven(struct routes *r, const uint8_t (*mixes)[PKT_ID_BYTES], uint64_t sent_us,
                   uint64_t now_us)
{
	routes_proven_trip(r, mixes, NULL, sent_us, now_us);
}

void routes_failed(struct routes *r, const uint8_t (*mixes)[PKT_ID_BYTES])
{
	routes_failed_trip(r, mixes, NULL, 0);
}

void routes_link(struct routes *r, const uint8_t id[PKT_ID_BYTES], int up, uint64_t now_us)
{
	struct mix_health *h = health(r, id);
	if (h) {
		r->st.link_reports++;
		if (up)
			h->unreachable = 0;
		else
			reported(h, now_us);
	}
}

size_t route_status_encode(uint8_t out[PKT_BYTES], const uint8_t (*ids)[PKT_ID_BYTES], size_t n)
{
	struct wr w;
	if (n > ROUTE_STATUS_MAX)
		n = ROUTE_STATUS_MAX;
	wr_init(&w, out, PKT_BYTES);
	wr_u16(&w, (uint16_t)n);
	for (size_t i = 0; i < n; i++)
		wr_bytes(&w, ids[i], PKT_ID_BYTES);
	wr_zero(&w, wr_left(&w));
	return n;
}

int routes_apply_status(struct routes *r, const uint8_t *pkt, size_t len, unsigned *unknown,
                        const char **why, uint64_t now_us)
{
	struct rd b;
	uint16_t n = 0;
	const uint8_t *ids = NULL, *rest = NULL;
	*unknown = 0;
	rd_init(&b, pkt, len);
	if (len != PKT_BYTES || rd_u16(&b, &n) || n > ROUTE_STATUS_MAX ||
	    rd_ptr(&b, &ids, (size_t)n * PKT_ID_BYTES)) {
		*why = len != PKT_BYTES ? "not the size of a packet" : "more mixes than a report holds";
		return -1;
	}
	size_t left = rd_left(&b);
	rd_ptr(&b, &rest, left);
	for (size_t i = 0; i < left; i++)
		if (rest[i]) {
			*why = "bytes after the list";
			return -1;
		}
	for (size_t i = 0; i < r->t->n; i++)
		r->h[i].listed = 0;
	for (size_t i = 0; i < n; i++) {
		struct mix_health *h = health(r, ids + i * PKT_ID_BYTES);
		if (h)
			h->listed = 1;
		else
			(*unknown)++;
	}
	/* A mix listed again keeps the time it was first listed. */
	for (size_t i = 0; i < r->t->n; i++) {
		if (r->h[i].listed)
			reported(&r->h[i], now_us);
		else
			r->h[i].unreachable = 0;
	}
	r->st.link_reports++;
	return 0;
}

int routes_dead_layer(const struct routes *r, uint64_t since_us)
{
	const struct topology *t = r->t;
	for (int l = 0; l < TOPO_LAYERS; l++) {
		size_t i;
		for (i = 0; i < t->nlayer[l]; i++) {
			const struct mix_health *h = &r->h[t->layer[l][i]];
			if ((h->ok_us && h->ok_us >= since_us) || dead(h) < ROUTE_DEAD_D)
				break;
		}
		if (i == t->nlayer[l])
			return l + 1;
	}
	return 0;
}

void routes_get_stats(const struct routes *r, struct route_stats *st)
{
	*st = r->st;
	st->loss = r->loss;
}
