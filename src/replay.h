/* replay — bounded memory of the packets a hop has already processed.
 *
 * Each packet carries, authenticated in its header, a coarse timestamp
 * (Unix minutes).  Tags are remembered in one Bloom filter per generation
 * (gen_minutes long); the filter keeps `gens` generations and rejects as
 * expired any packet whose generation is not among them, or whose
 * timestamp is more than REPLAY_AHEAD_MIN minutes ahead.  Memory is fixed
 * at creation (gens x 2^log2_bits bits) whatever the traffic: past the
 * design load the false-positive rate rises (some fresh packets dropped
 * and counted, retransmission recovers them) but a replay is never let
 * through.  Hashing: XXH3-128 with a random seed.
 *
 * The memory may live in a file (replay_open), mapped shared: a tag is in
 * the kernel's page cache the moment replay_check takes it, so a process
 * that dies in any way (SIGKILL, a crash) loses nothing it accepted, and
 * the node forwards no packet before its tag is there.  What the page
 * cache had not yet written when the machine itself went down is lost:
 * the file says which boot last held it open, and whether it was closed.
 * Opened again in another boot without a clean close, the memory is
 * unknown, and every packet that could have been taken before the crash
 * (timestamp up to the opening minute + REPLAY_AHEAD_MIN) is refused as
 * such; newer ones were made after the crash and are remembered from
 * then on.  The file records that bound, so a restart keeps it. */
#ifndef MIXPROXY_REPLAY_H
#define MIXPROXY_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#define REPLAY_TAG_BYTES 16
#define REPLAY_AHEAD_MIN 5 /* clock skew allowed: timestamps this far ahead */
#define REPLAY_GENS_MAX  64

enum replay_verdict {
	REPLAY_FRESH = 0,   /* not seen: now remembered */
	REPLAY_SEEN = 1,    /* seen before (or a Bloom false positive) */
	REPLAY_EXPIRED = 2, /* timestamp outside the window */
	REPLAY_UNKNOWN = 3, /* the memory of its time was lost in a crash */
};

struct replay_stats {
	uint64_t fresh, seen, expired;
	uint64_t overloaded; /* insertions past a generation's design load */
	uint64_t unknown;    /* refused: the memory of their time was lost */
};

/* What replay_open found in the file. */
enum replay_found {
	REPLAY_FOUND_NEW = 0,     /* no file: a new memory (first start) */
	REPLAY_FOUND_CLOSED,      /* closed cleanly: all of it known */
	REPLAY_FOUND_KILLED,      /* not closed, same boot: all in the page cache */
	REPLAY_FOUND_LOST,        /* not closed, another boot: unknown */
	REPLAY_FOUND_RESIZED,     /* other sizes, unreadable, or generations still
	                             to come (a clock set back): unknown */
	REPLAY_FOUND_OTHER_KEY,   /* made for another key: its packets cannot
	                             be opened with this one, so a new memory */
};
const char *replay_found_str(enum replay_found f);

struct replay;

/* log2_bits: 10..32 (bits per generation's filter); gens: 3..64;
 * gen_minutes: 1..1440.  Accepted timestamps: generations
 * [now_gen - gens + 2, now_gen + 1], i.e. at least (gens - 2) x gen_minutes
 * minutes of age and one generation of clock skew ahead. */
struct replay *replay_new(unsigned log2_bits, unsigned gens, unsigned gen_minutes);
void replay_free(struct replay *r);

/* The same, kept in the file at path (created 0600 if absent, locked
 * against a second process) for the key whose public key is key_pk:
 * now_min is the current minute.  boot_id: this boot's id (16 bytes,
 * replay_boot_id), or NULL if unknown, when a file not closed cleanly is
 * never trusted.  NULL with err set on an error (the file cannot be made,
 * read or mapped, or another process holds it); *found says what it
 * found.  replay_close writes it all back and marks it closed; any other
 * end (replay_free, a crash) leaves it open. */
struct replay *replay_open(const char *path, const uint8_t key_pk[32],
                           unsigned log2_bits, unsigned gens, unsigned gen_minutes,
                           uint32_t now_min, const uint8_t *boot_id,
                           enum replay_found *found, char *err, size_t errlen);
int replay_close(struct replay *r, char *err, size_t errlen);
/* This boot's id from /proc/sys/kernel/random/boot_id; -1 if unreadable. */
int replay_boot_id(uint8_t id[16]);
/* Timestamps up to this minute are refused as unknown (0: none). */
uint32_t replay_unknown_until(const struct replay *r);
enum replay_verdict replay_check(struct replay *r, const uint8_t tag[REPLAY_TAG_BYTES],
                                 uint32_t ts_min, uint32_t now_min);
/* Oldest accepted age in minutes (for SURB lifetimes). */
uint32_t replay_max_age_min(const struct replay *r);
void replay_get_stats(const struct replay *r, struct replay_stats *st);
size_t replay_memory_bytes(const struct replay *r);

#endif
