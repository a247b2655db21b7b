/* htab — see htab.h.
 *
 * Open addressing, linear probing, tombstones.  Three parallel arrays of
 * cap slots: a control byte, the key (keylen bytes inline), the value.
 * The control byte is EMPTY, TOMB, or FULL_BIT | 7 bits of the hash, so
 * most probes that miss are rejected without touching the key.
 *
 * Tombstones rather than backward-shift deletion: deleting never moves
 * another entry, so htab_next stays valid across htab_del (of the current
 * entry or any other).  They are bounded by counting them with the live
 * entries against the load limit; when the limit is hit the next insert
 * rehashes, which drops them all.  Deletion never rehashes, again so that
 * iteration is not disturbed.
 *
 * Sizes: live entries are kept at or below 60% of cap after a rehash and
 * live + tombstones at or below 70% at all times.  The gap matters at the
 * largest size the cap allows: without it, one delete + one insert at
 * the cap would rehash the whole table every time, which a peer could
 * drive on purpose.  With it, a clean-up rehash costs O(cap) but needs at
 * least cap / 10 tombstones first, so O(1) amortised per operation. */
#include "htab.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <xxhash.h>

#include "util.h"

#define CTRL_EMPTY 0x00
#define CTRL_TOMB  0x01
#define CTRL_FULL  0x80

#define KEYLEN_MAX 64
#define CAP_MIN    8

struct htab {
	size_t keylen;
	size_t max;      /* hard cap on live entries */
	size_t cap;      /* slots, a power of two */
	size_t cap_max;  /* cap never grows beyond this */
	size_t count;    /* live entries */
	size_t tombs;    /* tombstones */
	XXH64_hash_t seed;
	uint8_t *ctrl;
	uint8_t *keys;   /* cap * keylen */
	void **vals;
};

/* Live entries allowed after a rehash / live + tombstones at any time.
 * cap <= SIZE_MAX / 16 (checked in htab_new), so these cannot overflow. */
static size_t live_limit(size_t cap)
{
	return cap * 3 / 5;
}

static size_t used_limit(size_t cap)
{
	return cap * 7 / 10;
}

static uint64_t hash(const struct htab *t, const void *key)
{
	return XXH3_64bits_withSeed(key, t->keylen, t->seed);
}

static uint8_t tag_of(uint64_t h)
{
	/* Top bits: the low bits already chose the slot, so they would say
	 * nothing about keys that share a probe run. */
	return (uint8_t)(CTRL_FULL | (h >> 57));
}

static uint8_t *key_at(const struct htab *t, size_t i)
{
	return t->keys + i * t->keylen;
}

/* Slot holding key, or (size_t)-1.  *tomb gets the first tombstone seen
 * on the way (where an insert should go), or (size_t)-1; *empty the
 * empty slot that ended the search. */
static size_t find(const struct htab *t, const void *key, uint64_t h,
    size_t *tomb, size_t *empty)
{
	size_t mask = t->cap - 1;
	uint8_t tag = tag_of(h);
	size_t first_tomb = (size_t)-1;
	/* Terminates: used_limit keeps at least 30% of slots EMPTY. */
	for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
		uint8_t c = t->ctrl[i];
		if (c == CTRL_EMPTY) {
			if (tomb)
				*tomb = first_tomb;
			if (empty)
				*empty = i;
			return (size_t)-1;
		}
		if (c == CTRL_TOMB) {
			if (first_tomb == (size_t)-1)
				first_tomb = i;
		} else if (c == tag && memcmp(key_at(t, i), key, t->keylen) == 0) {
			return i;
		}
	}
}

static void alloc_slots(struct htab *t, size_t cap)
{
	t->cap = cap;
	t->ctrl = xcalloc(cap, 1);
	t->keys = xmalloc(cap * t->keylen);
	t->vals = xmalloc(cap * sizeof(*t->vals));
	t->tombs = 0;
}

static void free_slots(struct htab *t)
{
	/* Keys are session ids and replay tags: not secret, but no reason
	 * to leave them in freed memory either. */
	if (t->keys)
		sodium_memzero(t->keys, t->cap * t->keylen);
	free(t->ctrl);
	free(t->keys);
	free(t->vals);
	t->ctrl = NULL;
	t->keys = NULL;
	t->vals = NULL;
}

/* Move every live entry into a fresh array of newcap slots. */
static void rehash(struct htab *t, size_t newcap)
{
	struct htab old = *t;
	alloc_slots(t, newcap);
	size_t mask = newcap - 1;
	for (size_t i = 0; i < old.cap; i++) {
		if (!(old.ctrl[i] & CTRL_FULL))
			continue;
		const uint8_t *k = key_at(&old, i);
		uint64_t h = hash(t, k);
		size_t j = (size_t)h & mask;
		while (t->ctrl[j] != CTRL_EMPTY)
			j = (j + 1) & mask;
		t->ctrl[j] = tag_of(h);
		memcpy(key_at(t, j), k, t->keylen);
		t->vals[j] = old.vals[i];
	}
	free_slots(&old);
}

struct htab *htab_new(size_t keylen, size_t max_entries)
{
	if (keylen < 1 || keylen > KEYLEN_MAX || max_entries < 1) {
		errno = EINVAL;
		return NULL;
	}
	/* Smallest power of two that holds max_entries at the live limit,
	 * refusing sizes whose arrays could not be addressed anyway. */
	size_t cap_max = CAP_MIN;
	while (live_limit(cap_max) < max_entries) {
		if (cap_max > SIZE_MAX / 16 / (KEYLEN_MAX + 1 + sizeof(void *))) {
			errno = ENOMEM;
			return NULL;
		}
		cap_max *= 2;
	}
	struct htab *t = xcalloc(1, sizeof(*t));
	t->keylen = keylen;
	t->max = max_entries;
	t->cap_max = cap_max;
	randombytes_buf(&t->seed, sizeof(t->seed));
	/* Start small: most tables never come near their cap. */
	alloc_slots(t, cap_max < 16 ? cap_max : 16);
	return t;
}

void htab_free(struct htab *t)
{
	if (!t)
		return;
	free_slots(t);
	free(t);
}

size_t htab_count(const struct htab *t)
{
	return t->count;
}

void *htab_get(const struct htab *t, const void *key)
{
	size_t i = find(t, key, hash(t, key), NULL, NULL);
	return i == (size_t)-1 ? NULL : t->vals[i];
}

int htab_put(struct htab *t, const void *key, void *val)
{
	uint64_t h = hash(t, key);
	size_t tomb, slot;
	size_t i = find(t, key, h, &tomb, &slot);
	if (i != (size_t)-1) {
		t->vals[i] = val;	/* replace: never needs room */
		return 0;
	}
	if (t->count >= t->max) {
		errno = ENOSPC;
		return -1;
	}
	if (tomb != (size_t)-1) {
		/* Reusing a tombstone leaves live + tombstones unchanged. */
		slot = tomb;
		t->tombs--;
	} else if (t->count + t->tombs + 1 > used_limit(t->cap)) {
		/* Grow while live entries would exceed the live limit;
		 * otherwise rehash in place, which clears the tombstones. */
		size_t newcap = t->cap;
		while (newcap < t->cap_max && t->count + 1 > live_limit(newcap))
			newcap *= 2;
		rehash(t, newcap);
		find(t, key, h, NULL, &slot);
	}
	t->ctrl[slot] = tag_of(h);
	memcpy(key_at(t, slot), key, t->keylen);
	t->vals[slot] = val;
	t->count++;
	return 0;
}

void *htab_del(struct htab *t, const void *key)
{
	size_t i = find(t, key, hash(t, key), NULL, NULL);
	if (i == (size_t)-1)
		return NULL;
	void *v = t->vals[i];
	/* A slot followed by an EMPTY one ends every probe run through it,
	 * so it can go straight back to EMPTY; otherwise later entries may
	 * have probed past it and it must stay a tombstone.  The key bytes
	 * are left in place: the caller may be iterating and still hold
	 * the key pointer htab_next gave it. */
	if (t->ctrl[(i + 1) & (t->cap - 1)] == CTRL_EMPTY) {
		t->ctrl[i] = CTRL_EMPTY;
	} else {
		t->ctrl[i] = CTRL_TOMB;
		t->tombs++;
	}
	t->vals[i] = NULL;
	t->count--;
	return v;
}

int htab_next(const struct htab *t, size_t *it, const void **key, void **val)
{
	/* *it is the next slot to look at.  Deletion never moves entries
	 * (see the top of this file), so removing what was just returned
	 * cannot make the scan skip or repeat anything.  Inserting during
	 * iteration may rehash and is not supported. */
	for (size_t i = *it; i < t->cap; i++) {
		if (t->ctrl[i] & CTRL_FULL) {
			*it = i + 1;
			*key = key_at(t, i);
			*val = t->vals[i];
			return 1;
		}
	}
	*it = t->cap;
	return 0;
}
