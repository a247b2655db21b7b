/* mixattach — a mixnet client's link to its gateway.  It connects at
 * once; when the link fails or drops it connects again after a backoff
 * (MIXATTACH_BACKOFF_MIN_MS, doubling up to MIXATTACH_BACKOFF_MAX_MS,
 * back to the least once a link is up).  Its state (detached, connecting,
 * attached) changes in one traced function, and the link is there
 * exactly while connecting or attached.
 *
 * The owner hears of the link coming up and going down, and gets the
 * frames and the drain signal of the link as they come. */
#ifndef MIXPROXY_MIXATTACH_H
#define MIXPROXY_MIXATTACH_H

#include <stdint.h>

#include "keys.h"
#include "link.h"
#include "topology.h"

#define MIXATTACH_BACKOFF_MIN_MS 100
#define MIXATTACH_BACKOFF_MAX_MS 5000

enum attachment {
	DETACHED,                    /* no link: waiting to connect again */
	CONNECTING,                  /* a link on its way up */
	ATTACHED,                    /* the link is up: packets go */
};

struct mixattach_cbs {
	void (*up)(void *ctx);
	void (*down)(void *ctx, int was_up); /* detached; was_up: it had been attached */
	/* id: the frame's (LF_DELIVER: the key it is for); pkt: PKT_BYTES */
	void (*frame)(enum link_frame_type t, const uint8_t *id, uint8_t *pkt, void *ctx);
	void (*drain)(void *ctx);    /* the link's queue has room again */
};

struct mixattach {
	struct ev *ev;
	const struct topo_node *gw;
	const struct keypair *kp;
	struct link *link;           /* while connecting or attached */
	enum attachment att;         /* set_attachment only */
	unsigned backoff_ms;         /* before the next try, should this one fail */
	uint64_t t_reconnect;
	const struct mixattach_cbs *cbs;
	void *ctx;
};

/* Start connecting to gw (a link of kind LINK_CLIENT as kp). */
void mixattach_start(struct mixattach *a, struct ev *ev, const struct topo_node *gw,
                     const struct keypair *kp, const struct mixattach_cbs *cbs, void *ctx);
/* Detach for good: the link closes (its callbacks reach no one), the
 * timer goes.  No callback. */
void mixattach_stop(struct mixattach *a, const char *why);
/* Whether a packet can go now: attached, with room in the link's queue. */
int mixattach_can_send(const struct mixattach *a);

#endif
