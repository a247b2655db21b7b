/* announce — see announce.h. */
#include "announce.h"

#include <sodium.h>
#include <string.h>

#include "buf.h"
#include "ephem.h"
#include "htab.h"
#include "topology.h"
#include "util.h"

static const char context[] = "mixproxy epoch key v1";

const char *ann_strerror(int err)
{
	switch (err) {
	case ANN_OK: return "ok";
	case ANN_ERR_FORMAT: return "malformed";
	case ANN_ERR_NODE: return "node not in the topology";
	case ANN_ERR_SIG: return "bad signature";
	case ANN_ERR_EXPIRED: return "epoch over";
	case ANN_ERR_EARLY: return "epoch too far ahead";
	case ANN_ERR_KEY: return "epoch key unusable";
	case ANN_ERR_CONFLICT: return "another key known for that epoch";
	}
	return "unknown error";
}

/* What the signature covers: the context, then bytes 0..71. */
static void signed_bytes(const struct ann *a, uint8_t out[sizeof(context) - 1 + ANN_SIGNED_BYTES])
{
	memcpy(out, context, sizeof(context) - 1);
	uint8_t *p = out + sizeof(context) - 1;
	p[0] = ANN_VERSION;
	p[1] = p[2] = p[3] = 0;
	be32_put(p + 4, a->epoch);
	memcpy(p + 8, a->node_pk, 32);
	memcpy(p + 40, a->epoch_pk, 32);
}

int ann_make(struct ann *a, uint32_t epoch, const uint8_t epoch_pk[32],
             const uint8_t node_pk[32], const uint8_t node_sk[32])
{
	uint8_t m[sizeof(context) - 1 + ANN_SIGNED_BYTES];
	a->epoch = epoch;
	memcpy(a->node_pk, node_pk, 32);
	memcpy(a->epoch_pk, epoch_pk, 32);
	signed_bytes(a, m);
	if (xeddsa_sign(a->sig, m, sizeof(m), node_sk)) {
		memset(a, 0, sizeof(*a));
		return -1;
	}
	return 0;
}

void ann_encode(const struct ann *a, uint8_t out[ANN_BYTES])
{
	struct wr w;
	wr_init(&w, out, ANN_BYTES);
	wr_u8(&w, ANN_VERSION);
	wr_zero(&w, 3);
	wr_u32(&w, a->epoch);
	wr_bytes(&w, a->node_pk, 32);
	wr_bytes(&w, a->epoch_pk, 32);
	wr_bytes(&w, a->sig, XEDDSA_BYTES);
}

int ann_decode(struct ann *a, const uint8_t *in, size_t len)
{
	struct rd r;
	uint8_t version;
	const uint8_t *zero;
	if (len != ANN_BYTES)
		return ANN_ERR_FORMAT;
	rd_init(&r, in, len);
	if (rd_u8(&r, &version) || version != ANN_VERSION || rd_ptr(&r, &zero, 3) ||
	    zero[0] | zero[1] | zero[2] || rd_u32(&r, &a->epoch) ||
	    rd_bytes(&r, a->node_pk, 32) || rd_bytes(&r, a->epoch_pk, 32) ||
	    rd_bytes(&r, a->sig, XEDDSA_BYTES))
		return ANN_ERR_FORMAT;
	return ANN_OK;
}

int ann_check(const struct ann *a, const struct topology *t, uint32_t now_epoch)
{
	uint8_t m[sizeof(context) - 1 + ANN_SIGNED_BYTES], y[32];
	/* The cheap checks first: a stranger's junk costs no signature check. */
	if ((uint64_t)a->epoch + 1 < now_epoch)
		return ANN_ERR_EXPIRED;
	if (a->epoch > (uint64_t)now_epoch + 1)
		return ANN_ERR_EARLY;
	if (!topo_by_pk(t, a->node_pk))
		return ANN_ERR_NODE;
	/* Canonical, and a point with an Edwards form (not p - 1); zero
	 * would make every shared secret zero. */
	if (sodium_is_zero(a->epoch_pk, 32) || ephem_to_ed25519(y, a->epoch_pk))
		return ANN_ERR_KEY;
	signed_bytes(a, m);
	if (xeddsa_verify(a->sig, m, sizeof(m), a->node_pk))
		return ANN_ERR_SIG;
	return ANN_OK;
}

int ann_bundle_encode(uint8_t out[PKT_BYTES], const struct ann *anns, size_t n)
{
	if (n < 1 || n > ANN_BUNDLE_MAX)
		return -1;
	memset(out, 0, PKT_BYTES);
	be16_put(out, (uint16_t)n);
	for (size_t i = 0; i < n; i++)
		ann_encode(&anns[i], out + 2 + i * ANN_BYTES);
	return 0;
}

int ann_bundle_decode(struct ann *anns, size_t *n, const uint8_t *in, size_t len)
{
	*n = 0;
	if (len != PKT_BYTES)
		return ANN_ERR_FORMAT;
	size_t count = be16_get(in);
	if (count < 1 || count > ANN_BUNDLE_MAX)
		return ANN_ERR_FORMAT;
	size_t used = 2 + count * ANN_BYTES;
	if (!sodium_is_zero(in + used, len - used))
		return ANN_ERR_FORMAT;
	for (size_t i = 0; i < count; i++)
		if (ann_decode(&anns[i], in + 2 + i * ANN_BYTES, ANN_BYTES))
			return ANN_ERR_FORMAT;
	*n = count;
	return ANN_OK;
}

/* ---- the store ---- */

struct annstore {
	struct htab *by_key;  /* node key | epoch (36 bytes) -> struct ann * */
	uint32_t oldest;
};

static void store_key(uint8_t k[36], const uint8_t node_pk[32], uint32_t epoch)
{
	memcpy(k, node_pk, 32);
	be32_put(k + 32, epoch);
}

struct annstore *annstore_new(size_t max_nodes)
{
	struct annstore *s = xcalloc(1, sizeof(*s));
	/* Three epochs a node: the one before (grace), now, the next. */
	s->by_key = htab_new(36, max_nodes ? max_nodes * 3 : 1);
	return s;
}

void annstore_free(struct annstore *s)
{
	if (!s)
		return;
	annstore_prune(s, UINT32_MAX);
	htab_free(s->by_key);
	free(s);
}

int annstore_add(struct annstore *s, const struct ann *a)
{
	uint8_t k[36];
	if (a->epoch < s->oldest)
		return ANN_ERR_EXPIRED;
	store_key(k, a->node_pk, a->epoch);
	struct ann *have = htab_get(s->by_key, k);
	if (have)
		return memcmp(have->epoch_pk, a->epoch_pk, 32) ? ANN_ERR_CONFLICT : 1;
	struct ann *copy = xmalloc(sizeof(*copy));
	*copy = *a;
	if (htab_put(s->by_key, k, copy)) {
		/* More than three epochs for every node: the caller checked
		 * the window, so only a store too small for its topology. */
		free(copy);
		return ANN_ERR_EARLY;
	}
	return ANN_OK;
}

const uint8_t *annstore_key(const struct annstore *s, const uint8_t node_pk[32], uint32_t epoch)
{
	uint8_t k[36];
	store_key(k, node_pk, epoch);
	const struct ann *a = htab_get(s->by_key, k);
	return a ? a->epoch_pk : NULL;
}

void annstore_prune(struct annstore *s, uint32_t oldest)
{
	size_t it = 0;
	const void *k;
	void *v;
	if (oldest > s->oldest)
		s->oldest = oldest;
	while (htab_next(s->by_key, &it, &k, &v)) {
		struct ann *a = v;
		if (a->epoch < oldest) {
			htab_del(s->by_key, k);
			sodium_memzero(a, sizeof(*a));
			free(a);
		}
	}
}

size_t annstore_count(const struct annstore *s)
{
	return htab_count(s->by_key);
}

int annstore_next(const struct annstore *s, size_t *it, const struct ann **a)
{
	const void *k;
	void *v;
	if (!htab_next(s->by_key, it, &k, &v))
		return 0;
	*a = v;
	return 1;
}
