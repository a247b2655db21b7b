/* epoch — the network's schedule of packet keys, and the keys a node
 * holds for it.
 *
 * Time is cut into epochs of len_s seconds from the Unix epoch: epoch E
 * runs from E * len_s to (E + 1) * len_s.  A node holds a packet key for
 * the current epoch, for the next one (made a whole epoch ahead, so that
 * its announcement has time to reach every client before it is used),
 * and for the previous one until grace_s seconds after its end (reply
 * blocks made late in it are still used).  Every other key is wiped from
 * memory and its file deleted: whoever takes the node later cannot open
 * what it processed under them (forward secrecy).
 *
 * Keys live in the node's state directory, one key file each (keys.h),
 * named PREFIX.epoch-E.key, written under a temporary name, synced and
 * renamed, so a crash never leaves half a key: a restarted node holds
 * the same keys it announced.  Each key comes with its announcement,
 * signed by the node's long-term key (announce.h). */
#ifndef MIXPROXY_EPOCH_H
#define MIXPROXY_EPOCH_H

#include <stddef.h>
#include <stdint.h>

#include "announce.h"
#include "keys.h"

#define EPOCH_LEN_DEFAULT 3600
#define EPOCH_HELD_MAX 3

struct epoch_sched {
	uint32_t len_s;   /* 2 .. 604800 */
	uint32_t grace_s; /* 1 .. len_s */
};

/* 0, or -1 for lengths out of range. */
int epoch_sched_init(struct epoch_sched *s, uint32_t len_s, uint32_t grace_s);
uint32_t epoch_at(const struct epoch_sched *s, uint64_t t);
uint64_t epoch_start(const struct epoch_sched *s, uint32_t e);
/* The epochs whose keys a node holds at t: [*first, *last], at most
 * EPOCH_HELD_MAX of them. */
void epoch_held(const struct epoch_sched *s, uint64_t t, uint32_t *first, uint32_t *last);

struct epoch_key {
	uint32_t epoch;
	struct keypair kp;
	struct ann ann;
};

struct epoch_ring;

/* The keys of node (its long-term pair) in dir, for the epochs held at
 * now: read, or made if missing (or unreadable: never announced, since a
 * key is announced only once its file is whole); key files of other
 * epochs with this prefix are deleted.  NULL with err on an error. */
struct epoch_ring *epoch_ring_open(const char *dir, const char *prefix,
                                   const struct keypair *node, const struct epoch_sched *s,
                                   uint64_t now, char *err, size_t errlen);
/* At time now: make the keys of epochs now held, wipe and delete those
 * no longer held.  The number of keys made (to announce), or -1 with err
 * if one could not be written (what could be done is done; the caller
 * tries again later). */
int epoch_ring_tick(struct epoch_ring *r, uint64_t now, char *err, size_t errlen);
/* The key for epoch, or NULL if not held. */
const struct epoch_key *epoch_ring_get(const struct epoch_ring *r, uint32_t epoch);
/* The keys held, oldest first: *n of them (at most EPOCH_HELD_MAX). */
const struct epoch_key *epoch_ring_keys(const struct epoch_ring *r, size_t *n);
/* Wipes the keys in memory; the files stay for the next start. */
void epoch_ring_free(struct epoch_ring *r);

#endif
