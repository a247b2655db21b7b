/* htab — open-addressing hash table on xxHash (XXH3 with a per-table
 * random seed, so a peer cannot choose keys that collide).
 *
 * Keys are fixed-length byte strings (the length is set per table: session
 * ids, replay tags, public keys); values are pointers owned by the caller.
 * The table has a hard maximum number of entries: htab_put fails once it
 * is reached instead of growing without bound. */
#ifndef MIXPROXY_HTAB_H
#define MIXPROXY_HTAB_H

#include <stddef.h>
#include <stdint.h>

struct htab;

/* keylen: bytes per key (1..64).  max_entries: hard cap (>= 1). */
struct htab *htab_new(size_t keylen, size_t max_entries);
void htab_free(struct htab *t);             /* does not free values */
size_t htab_count(const struct htab *t);
void *htab_get(const struct htab *t, const void *key);
/* Insert or replace.  0 on success, -1 when full (errno = ENOSPC). */
int htab_put(struct htab *t, const void *key, void *val);
/* Remove; returns the old value or NULL. */
void *htab_del(struct htab *t, const void *key);
/* Iterate: *it starts at 0; returns 1 and sets *key and *val while entries
 * remain.  Deleting the current entry during iteration is allowed. */
int htab_next(const struct htab *t, size_t *it, const void **key, void **val);

#endif
