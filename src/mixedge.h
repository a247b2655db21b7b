/* mixedge — a client process's link to a gateway, shared by its
 * identities, and the one send schedule they share.
 *
 * What an observer of a client's network sees must not depend on how
 * many sessions it has open, nor on when they start and end.  So a
 * process holds a fixed number of links (one an edge), each with one
 * Poisson schedule, and its identities (mixclients, the tenants) take
 * turns at the slots: a slot goes to the next tenant in round robin that
 * has something to send, or carries cover.  A new identity costs no
 * handshake: it is attached on the link by a frame that takes a slot
 * like any other (LF_ATTACH, with a proof of its key: attach.h), and
 * detached the same way when it goes.
 *
 * The link's own key is the edge's: an identity of its own, or, for an
 * edge that serves one identity only, that identity's key (then no
 * LF_ATTACH is needed, as before edges were shared).  The gateway names
 * the identity each delivery is for (the frame's id); a report of the
 * gateway's links (LF_STATUS) goes to the routes its tenants share,
 * once, and padding to one tenant.
 *
 * In the fast profile there is no schedule: tenants send as the link
 * takes it, and every tenant hears that it drained, in turn.
 *
 * The link comes and goes (mixattach.h): every tenant hears of it; on
 * every new link the edge asks for pacing first (LF_PACE), then attaches
 * its tenants again.  Its tenants send nothing on a new link (no packet,
 * no cover) until the gateway's report of its links has come, which a
 * gateway sends after the link's first frame, or MIXEDGE_REPORT_WAIT_MS
 * has passed: a route drawn before it is blind to the mixes the gateway
 * knows dead. */
#ifndef MIXPROXY_MIXEDGE_H
#define MIXPROXY_MIXEDGE_H

#include <stdint.h>

#include "keys.h"
#include "link.h"
#include "list.h"
#include "mixattach.h"
#include "topology.h"

/* Keys waiting to be detached: past it, the oldest goes undetached (the
 * gateway holds it until the link goes, which harms no one). */
#define MIXEDGE_DETACH_MAX 256
/* The longest a new link waits for the gateway's report: a gateway holds
 * its first one until it has tried a link to every mix (node.c), a few
 * seconds at most. */
#define MIXEDGE_REPORT_WAIT_MS 4000

struct mixedge_cfg {
	int fast;                    /* no schedule: tenants send at once */
	double send_mean_ms;         /* the schedule's mean interval (default profile) */
	double loop_mean_ms;         /* loop cover's */
	double receive_mean_ms;      /* asked of the gateway (LF_PACE; 0: as mail comes) */
	struct routes *routes;       /* takes the gateway's reports of its links
	                              * (route.h), once a report: its tenants'
	                              * (borrowed) */
};

/* What a tenant does with the edge's events. */
struct mixedge_tenant_cbs {
	void (*up)(void *ctx);                      /* the link is up */
	void (*down)(void *ctx, int was_up);        /* ... went down */
	/* A delivery for its key, or padding (pkt: PKT_BYTES). */
	void (*frame)(enum link_frame_type t, uint8_t *pkt, void *ctx);
	void (*drain)(void *ctx);                   /* the link has room again */
	/* Default profile: a slot is the tenant's to use: 1 if it sent a
	 * packet, 0 if it had nothing (the slot goes to the next). */
	int (*slot)(void *ctx);
	/* It sends a packet of cover (kind: mixbody.h's MB_COVER or MB_LOOP)
	 * through the link now. */
	void (*cover)(void *ctx, int kind);
};

struct mixedge;

struct mixedge_tenant {
	struct mixedge *edge;        /* while joined */
	const struct keypair *kp;
	struct list node;            /* in the edge's round robin */
	struct list attach_node;     /* waiting for a slot to be attached */
	int attached;                /* LF_ATTACH went on the link up now */
	const struct mixedge_tenant_cbs *cbs;
	void *ctx;
};

struct mixedge_stats {
	uint64_t slots, cover, loops, attaches, detaches, detaches_lost;
};

/* An edge to gw.  kp: the link's key (borrowed), or NULL for a fresh
 * one of the edge's own.  cfg is copied. */
struct mixedge *mixedge_new(struct ev *ev, const struct topo_node *gw, const struct keypair *kp,
                            const struct mixedge_cfg *cfg);
/* The tenants must have left.  The link closes. */
void mixedge_free(struct mixedge *e);

/* t (its kp, cbs and ctx set) takes turns from now on.  A key other than
 * the link's is attached on the link, in the next slot.  0, or -1 (a
 * tenant of that key is there already). */
int mixedge_join(struct mixedge *e, struct mixedge_tenant *t);
/* t goes: no callback reaches it after this; its key is detached in a
 * slot to come. */
void mixedge_leave(struct mixedge_tenant *t);

const struct topo_node *mixedge_gateway(const struct mixedge *e);
struct routes *mixedge_routes(const struct mixedge *e);
size_t mixedge_tenants(const struct mixedge *e);
/* Whether the link is up. */
int mixedge_up(const struct mixedge *e);
/* Whether a packet can go now: the link is up, with room, and the
 * gateway's report has come (or the wait for it is over). */
int mixedge_can_send(const struct mixedge *e);
/* Hand the gateway a packet for the layer-1 mix first: 0, or -1. */
int mixedge_send(struct mixedge *e, const uint8_t first[PKT_ID_BYTES], const uint8_t pkt[PKT_BYTES]);
const struct mixedge_stats *mixedge_stats(const struct mixedge *e);

#endif
