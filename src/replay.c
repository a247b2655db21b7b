/* replay — see replay.h. */
#include "replay.h"

#include <sodium.h>
#include <string.h>
#include <xxhash.h>

#include "util.h"

#define HASHES 10 /* ~3.5e-4 false positives at 0.07 items per bit */

struct gen {
	uint64_t id;     /* generation number + 1; 0 = empty slot */
	uint64_t count;  /* insertions */
	uint64_t *bits;
};

struct replay {
	unsigned log2_bits, ngens, gen_minutes;
	uint64_t seed;
	uint64_t design_load; /* insertions per generation at ~1e-3 FP */
	struct gen *gens;
	struct replay_stats st;
};

struct replay *replay_new(unsigned log2_bits, unsigned gens, unsigned gen_minutes)
{
	if (log2_bits < 10 || log2_bits > 32 || gens < 3 || gens > 64 ||
	    gen_minutes < 1 || gen_minutes > 1440)
		return NULL;
	struct replay *r = xcalloc(1, sizeof(*r));
	r->log2_bits = log2_bits;
	r->ngens = gens;
	r->gen_minutes = gen_minutes;
	randombytes_buf(&r->seed, sizeof(r->seed));
	/* k = 10 hashes: FP ~ 1e-3 at m/n ~ 14.4 bits per item. */
	r->design_load = ((uint64_t)1 << log2_bits) / 14;
	r->gens = xcalloc(gens, sizeof(*r->gens));
	for (unsigned i = 0; i < gens; i++)
		r->gens[i].bits = xcalloc(((size_t)1 << log2_bits) / 64, sizeof(uint64_t));
	return r;
}

void replay_free(struct replay *r)
{
	if (!r)
		return;
	for (unsigned i = 0; i < r->ngens; i++)
		free(r->gens[i].bits);
	free(r->gens);
	free(r);
}

enum replay_verdict replay_check(struct replay *r, const uint8_t tag[REPLAY_TAG_BYTES],
                                 uint32_t ts_min, uint32_t now_min)
{
	uint64_t g = ts_min / r->gen_minutes;
	uint64_t now_g = now_min / r->gen_minutes;
	if (g + r->ngens < now_g + 2 || g > now_g + 1) {
		r->st.expired++;
		return REPLAY_EXPIRED;
	}
	struct gen *gen = &r->gens[g % r->ngens];
	if (gen->id != g + 1) {
		if (gen->id > g + 1) {
			/* The slot already moved on to a newer generation. */
			r->st.expired++;
			return REPLAY_EXPIRED;
		}
		/* Only a generation outside the window can share this slot. */
		memset(gen->bits, 0, ((size_t)1 << r->log2_bits) / 8);
		gen->id = g + 1;
		gen->count = 0;
	}
	XXH128_hash_t h = XXH3_128bits_withSeed(tag, REPLAY_TAG_BYTES, r->seed);
	uint64_t mask = ((uint64_t)1 << r->log2_bits) - 1;
	uint64_t pos[HASHES];
	int all_set = 1;
	for (int i = 0; i < HASHES; i++) {
		pos[i] = (h.low64 + (uint64_t)i * (h.high64 | 1)) & mask;
		if (!(gen->bits[pos[i] >> 6] & ((uint64_t)1 << (pos[i] & 63))))
			all_set = 0;
	}
	if (all_set) {
		r->st.seen++;
		return REPLAY_SEEN;
	}
	for (int i = 0; i < HASHES; i++)
		gen->bits[pos[i] >> 6] |= (uint64_t)1 << (pos[i] & 63);
	if (++gen->count > r->design_load)
		r->st.overloaded++;
	r->st.fresh++;
	return REPLAY_FRESH;
}

uint32_t replay_max_age_min(const struct replay *r)
{
	return (r->ngens - 2) * r->gen_minutes;
}

void replay_get_stats(const struct replay *r, struct replay_stats *st)
{
	*st = r->st;
}

size_t replay_memory_bytes(const struct replay *r)
{
	return (size_t)r->ngens * (((size_t)1 << r->log2_bits) / 8);
}
