/* fring — a ring of fixed-size records with checked accessors.
 *
 * A bounded FIFO of at most `cap` records of `size` bytes each, allocated
 * as it fills (FRING_FIRST records at first, doubling up to cap: a peer's
 * ring is mostly far from full, and a thousand sessions each holding
 * their worst case cost megabytes): push at the tail (when full, the oldest record is dropped first, and
 * fring_push says so), take from either end, peek at any index counted
 * from the oldest.  Every accessor checks its index and returns NULL
 * when it is out of range, so a caller's arithmetic mistake shows as a
 * missing record, never as memory outside the ring.  Records are wiped
 * (sodium_memzero) when they leave, and the whole ring when it is freed:
 * the rings hold reply blocks and secrets. */
#ifndef MIXPROXY_FRING_H
#define MIXPROXY_FRING_H

#include <stddef.h>
#include <stdint.h>

#define FRING_FIRST 8   /* records allocated at first */

struct fring {
	uint8_t *rec;   /* alloc * size bytes */
	size_t size;    /* bytes per record */
	size_t cap;     /* records at most */
	size_t alloc;   /* records room is allocated for (<= cap) */
	size_t head;    /* index of the oldest */
	size_t n;       /* records held */
};

/* 0, or -1 (size or cap 0). */
int fring_init(struct fring *r, size_t size, size_t cap);
void fring_free(struct fring *r);      /* wipes; the ring may be re-initialised */
/* Bytes allocated for records. */
static inline size_t fring_bytes(const struct fring *r) { return r->alloc * r->size; }
static inline size_t fring_len(const struct fring *r) { return r->n; }
static inline int fring_full(const struct fring *r) { return r->n == r->cap; }

/* Append a copy of rec (size bytes).  Returns 1 if the oldest record was
 * dropped to make room, 0 if not, -1 on a ring never initialised. */
int fring_push(struct fring *r, const void *rec);
/* The record i places from the oldest (0: oldest, len-1: newest), or NULL. */
void *fring_at(const struct fring *r, size_t i);
void *fring_oldest(const struct fring *r);
void *fring_newest(const struct fring *r);
/* Drop the oldest / the newest record (wiped).  0, or -1 when empty. */
int fring_drop_oldest(struct fring *r);
int fring_drop_newest(struct fring *r);
/* Keep only the records keep() says 1 to, in their order; the others are
 * wiped.  How many went. */
size_t fring_filter(struct fring *r, int (*keep)(const void *rec, void *ctx), void *ctx);
/* Copy the newest record out and drop it.  0, or -1 when empty. */
int fring_take_newest(struct fring *r, void *out);
/* Copy the oldest record out and drop it.  0, or -1 when empty. */
int fring_take_oldest(struct fring *r, void *out);

#endif
