/* replay — bounded memory of the packets a hop has already processed.
 *
 * Each packet carries, authenticated in its header, a coarse timestamp
 * (Unix minutes).  Tags are remembered in one Bloom filter per generation
 * (gen_minutes long); the filter keeps `gens` generations and rejects as
 * expired any packet whose generation is not among them.  Memory is fixed
 * at creation (gens x 2^log2_bits bits) whatever the traffic: past the
 * design load the false-positive rate rises (some fresh packets dropped
 * and counted, retransmission recovers them) but a replay is never let
 * through.  Hashing: XXH3-128 with a per-process random seed. */
#ifndef MIXPROXY_REPLAY_H
#define MIXPROXY_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#define REPLAY_TAG_BYTES 16

enum replay_verdict {
	REPLAY_FRESH = 0,   /* not seen: now remembered */
	REPLAY_SEEN = 1,    /* seen before (or a Bloom false positive) */
	REPLAY_EXPIRED = 2, /* timestamp outside the window */
};

struct replay_stats {
	uint64_t fresh, seen, expired;
	uint64_t overloaded; /* insertions past a generation's design load */
};

struct replay;

/* log2_bits: 10..32 (bits per generation's filter); gens: 3..64;
 * gen_minutes: 1..1440.  Accepted timestamps: generations
 * [now_gen - gens + 2, now_gen + 1], i.e. at least (gens - 2) x gen_minutes
 * minutes of age and one generation of clock skew ahead. */
struct replay *replay_new(unsigned log2_bits, unsigned gens, unsigned gen_minutes);
void replay_free(struct replay *r);
enum replay_verdict replay_check(struct replay *r, const uint8_t tag[REPLAY_TAG_BYTES],
                                 uint32_t ts_min, uint32_t now_min);
/* Oldest accepted age in minutes (for SURB lifetimes). */
uint32_t replay_max_age_min(const struct replay *r);
void replay_get_stats(const struct replay *r, struct replay_stats *st);
size_t replay_memory_bytes(const struct replay *r);

#endif
