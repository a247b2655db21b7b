/* mixedge — see mixedge.h. */
#include "mixedge.h"

#include <sodium.h>
#include <string.h>

#include "attach.h"
#include "buf.h"
#include "ev.h"
#include "htab.h"
#include "log.h"
#include "mixbody.h"
#include "rng.h"
#include "route.h"
#include "util.h"

#define TENANTS_MAX 65536

enum edge_report { ER_NO_LINK, ER_WAITING, ER_TOLD };

struct mixedge {
	struct ev *ev;
	const struct topo_node *gw;
	struct keypair own;          /* the link's key, when none was given */
	int shared;                  /* ... so it is a link for many identities */
	const struct keypair *kp;    /* the link's key */
	struct mixedge_cfg cfg;
	struct mixattach att;
	struct htab *by_pk;          /* key -> tenant */
	struct list tenants;         /* round robin: the next slot's first in line first */
	size_t n;
	struct list attach_q;        /* tenants to attach on the link up now */
	uint8_t detach_q[MIXEDGE_DETACH_MAX][32]; /* keys to detach: a ring */
	unsigned detach_head, detach_n;
	uint64_t t_send, t_loop;
	uint64_t send_at, loop_at;   /* when the current slot, loop were due (now_us) */
	enum edge_report report;     /* what the link up now has told (set_report) */
	uint64_t t_report;           /* the end of the wait for it */
	struct mixedge_stats st;
};

static int own_key(const struct mixedge *e, const struct mixedge_tenant *t)
{
	return sodium_memcmp(t->kp->pk, e->kp->pk, 32) == 0;
}

/* The first tenant in line goes to the back of it, and is returned. */
static struct mixedge_tenant *next_in_line(struct mixedge *e)
{
	if (list_empty(&e->tenants))
		return NULL;
	struct list *l = e->tenants.next;
	list_remove(l);
	list_push_back(&e->tenants, l);
	return list_entry(l, struct mixedge_tenant, node);
}

/* Call each tenant there now once, in line.  A callback may make
 * tenants leave (an application that closes a session on an event):
 * the line is read afresh after each call, and never more than the
 * tenants there at the start are called. */
#define FOR_EACH_TENANT(e, t) \
	for (size_t i_ = (e)->n; i_ > 0 && ((t) = next_in_line(e)) != NULL; i_--)

/* ---- key frames ---- */

static int send_attach(struct mixedge *e, struct mixedge_tenant *t)
{
	uint8_t pkt[PKT_BYTES];
	memset(pkt, 0, sizeof(pkt));
	if (attach_prove(pkt, t->kp->sk, t->kp->pk, e->gw->pk, link_binding(e->att.link)) ||
	    link_send(e->att.link, LF_ATTACH, t->kp->pk, pkt)) {
		sodium_memzero(pkt, ATTACH_PROOF_BYTES);
		return -1;
	}
	sodium_memzero(pkt, ATTACH_PROOF_BYTES);
	t->attached = 1;
	e->st.attaches++;
	return 0;
}

/* One key frame, if one waits and the link takes it: detaches first (a
 * key that went frees its place at the gateway), then attaches.  1 if
 * one went. */
static int key_frame(struct mixedge *e)
{
	if (!mixattach_can_send(&e->att))
		return 0;
	if (e->detach_n) {
		uint8_t pkt[PKT_BYTES];
		memset(pkt, 0, sizeof(pkt));
		if (link_send(e->att.link, LF_DETACH, e->detach_q[e->detach_head], pkt))
			return 0;
		e->detach_head = (e->detach_head + 1) % MIXEDGE_DETACH_MAX;
		e->detach_n--;
		e->st.detaches++;
		return 1;
	}
	if (!list_empty(&e->attach_q)) {
		struct mixedge_tenant *t = list_entry(e->attach_q.next, struct mixedge_tenant,
		                                      attach_node);
		if (send_attach(e, t))
			return 0;
		list_remove(&t->attach_node);
		return 1;
	}
	return 0;
}

/* Fast profile: key frames go as soon as the link takes them. */
static void key_frames_now(struct mixedge *e)
{
	if (e->cfg.fast)
		while (key_frame(e))
			;
}

/* ---- the schedule (default profile) ---- */

/* The stream's next event, caught up if the loop ran late (rng.h). */
static uint64_t poisson_next(struct mixedge *e, uint64_t *at, double mean_ms, ev_timer_cb *cb)
{
	return ev_timer_add_us(e->ev, rng_poisson_next(at, now_us(), mean_ms * 1000.0), cb, e);
}

/* One Poisson slot: a key frame, else the next tenant in line that has
 * something to send, else cover from the next in line.  Every slot
 * sends exactly one frame, so a busy and an idle process look the same. */
static void on_send_timer(struct ev *ev, void *ctx)
{
	struct mixedge *e = ctx;
	struct mixedge_tenant *t;
	(void)ev;
	e->t_send = poisson_next(e, &e->send_at, e->cfg.send_mean_ms, on_send_timer);
	if (!mixattach_can_send(&e->att))
		return;
	e->st.slots++;
	if (key_frame(e) || e->report != ER_TOLD)
		return;
	FOR_EACH_TENANT(e, t)
		if (t->cbs->slot(t->ctx))
			return;
	if ((t = next_in_line(e)) != NULL) {
		e->st.cover++;
		t->cbs->cover(t->ctx, MB_COVER);
	}
}

static void on_loop_timer(struct ev *ev, void *ctx)
{
	struct mixedge *e = ctx;
	struct mixedge_tenant *t;
	(void)ev;
	e->t_loop = poisson_next(e, &e->loop_at, e->cfg.loop_mean_ms, on_loop_timer);
	if (mixedge_can_send(e) && (t = next_in_line(e)) != NULL) {
		e->st.loops++;
		t->cbs->cover(t->ctx, MB_LOOP);
	}
}

/* ---- the link (mixattach.h) ---- */

static void edge_drain(void *ctx);

/* Whether the tenants may draw routes on this link, in the one place it
 * changes: no link, waiting for the gateway's report (bounded), or told.
 * Routes and reply blocks drawn before the report are blind to the mixes
 * the gateway knows dead: blocks through them, in the peer's stock, would
 * carry its answers to nowhere, and the tries they fail would be blamed
 * on the live mixes of their forward routes (mixclient.sh, three of four
 * mixes dead: stalls of 17 s, once 62 s, with the live mixes believed
 * dead at 0.85). */
static void on_report_wait(struct ev *ev, void *ctx);

static void set_report(struct mixedge *e, enum edge_report r, const char *why)
{
	static const char *const names[] = {
		[ER_NO_LINK] = "no link", [ER_WAITING] = "waiting for the report",
		[ER_TOLD] = "told",
	};
	ev_timer_cancel(e->ev, e->t_report);
	e->t_report = 0;
	if (r == ER_WAITING)
		e->t_report = ev_timer_add(e->ev, MIXEDGE_REPORT_WAIT_MS, on_report_wait, e);
	if (e->report != r)
		log_debug("mixclient: gateway %s: %s -> %s (%s)", e->gw->name, names[e->report],
		          names[r], why);
	e->report = r;
	if (r == ER_TOLD)
		edge_drain(e);
}

static void on_report_wait(struct ev *ev, void *ctx)
{
	struct mixedge *e = ctx;
	(void)ev;
	e->t_report = 0;
	log_info("mixclient: gateway %s: no report of its links within %u s: routes drawn "
	         "without it", e->gw->name, MIXEDGE_REPORT_WAIT_MS / 1000);
	set_report(e, ER_TOLD, "the wait is over");
}

/* The first frame on every link, pacing or not (0): the gateway keeps
 * it with the link, and holds the mail until it knows. */
static void ask_pace(struct mixedge *e)
{
	uint8_t pkt[PKT_BYTES];
	struct wr w;
	double us = e->cfg.fast ? 0 : e->cfg.receive_mean_ms * 1000.0;
	wr_init(&w, pkt, sizeof(pkt));
	wr_u32(&w, us <= 0 ? 0 : us >= 4294967295.0 ? UINT32_MAX : us < 1 ? 1 : (uint32_t)us);
	wr_zero(&w, sizeof(pkt) - w.off);
	if (link_send(e->att.link, LF_PACE, NULL, pkt))
		log_warn("mixclient: gateway %s: cannot say whether to pace: the link's queue "
		         "is full", e->gw->name);
}

static void edge_up(void *ctx)
{
	struct mixedge *e = ctx;
	struct mixedge_tenant *t;
	ask_pace(e);
	set_report(e, ER_WAITING, "a new link");
	/* Every key but the link's own is attached again, on this link. */
	e->detach_n = 0;
	for (struct list *l = e->tenants.next; l != &e->tenants; l = l->next) {
		t = list_entry(l, struct mixedge_tenant, node);
		if (list_linked(&t->attach_node))
			list_remove(&t->attach_node);
		t->attached = own_key(e, t);
		if (!t->attached)
			list_push_back(&e->attach_q, &t->attach_node);
	}
	key_frames_now(e);
	/* A link of one identity is its owner's to report. */
	if (e->shared)
		log_info("gateway %s: link up, %zu identities to attach", e->gw->name, e->n);
	FOR_EACH_TENANT(e, t)
		t->cbs->up(t->ctx);
}

static void edge_down(void *ctx, int was_up)
{
	struct mixedge *e = ctx;
	struct mixedge_tenant *t;
	set_report(e, ER_NO_LINK, "the link is down");
	FOR_EACH_TENANT(e, t)
		t->cbs->down(t->ctx, was_up);
}

static void edge_frame(enum link_frame_type type, const uint8_t *id, uint8_t *pkt, void *ctx)
{
	struct mixedge *e = ctx;
	struct mixedge_tenant *t;
	if (type == LF_STATUS) {
		const char *why;
		unsigned unknown;
		if (routes_apply_status(e->cfg.routes, pkt, PKT_BYTES, &unknown, &why, now_us()))
			log_warn("mixclient: gateway %s: bad report of its links dropped: %s",
			         e->gw->name, why);
		else {
			if (unknown)
				log_debug("mixclient: gateway %s reports %u mixes not in our topology",
				          e->gw->name, unknown);
			if (e->report == ER_WAITING)
				set_report(e, ER_TOLD, "its report came");
		}
		return;
	}
	if (type == LF_PAD) {
		if ((t = next_in_line(e)) != NULL)
			t->cbs->frame(type, pkt, t->ctx);
		return;
	}
	/* A delivery names its key; a gateway that names none serves a link
	 * of one key. */
	t = htab_get(e->by_pk, id);
	if (!t && e->n == 1 && sodium_is_zero(id, PKT_ID_BYTES))
		t = list_entry(e->tenants.next, struct mixedge_tenant, node);
	if (t)
		t->cbs->frame(type, pkt, t->ctx);
	else
		log_debug("mixclient: gateway %s: a delivery for a key not here dropped", e->gw->name);
}

static void edge_drain(void *ctx)
{
	struct mixedge *e = ctx;
	struct mixedge_tenant *t;
	key_frames_now(e);
	FOR_EACH_TENANT(e, t) {
		if (!mixedge_can_send(e))
			break;
		t->cbs->drain(t->ctx);
	}
}

static const struct mixattach_cbs edge_cbs = {
	.up = edge_up,
	.down = edge_down,
	.frame = edge_frame,
	.drain = edge_drain,
};

/* ---- the API ---- */

struct mixedge *mixedge_new(struct ev *ev, const struct topo_node *gw, const struct keypair *kp,
                            const struct mixedge_cfg *cfg)
{
	struct mixedge *e = xcalloc(1, sizeof(*e));
	e->ev = ev;
	e->gw = gw;
	e->cfg = *cfg;
	if (!kp) {
		keypair_generate(&e->own);
		kp = &e->own;
		e->shared = 1;
	}
	e->kp = kp;
	e->by_pk = htab_new(32, TENANTS_MAX);
	list_init(&e->tenants);
	list_init(&e->attach_q);
	mixattach_start(&e->att, ev, gw, e->kp, &edge_cbs, e);
	if (!cfg->fast) {
		e->send_at = e->loop_at = now_us();
		e->t_send = poisson_next(e, &e->send_at, cfg->send_mean_ms, on_send_timer);
		e->t_loop = poisson_next(e, &e->loop_at, cfg->loop_mean_ms, on_loop_timer);
	}
	return e;
}

void mixedge_free(struct mixedge *e)
{
	if (!e)
		return;
	ev_timer_cancel(e->ev, e->t_send);
	ev_timer_cancel(e->ev, e->t_loop);
	ev_timer_cancel(e->ev, e->t_report);
	mixattach_stop(&e->att, "client closed");
	htab_free(e->by_pk);
	sodium_memzero(e->detach_q, sizeof(e->detach_q));
	keypair_wipe(&e->own);
	free(e);
}

int mixedge_join(struct mixedge *e, struct mixedge_tenant *t)
{
	if (htab_get(e->by_pk, t->kp->pk) || htab_put(e->by_pk, t->kp->pk, t))
		return -1;
	t->edge = e;
	t->node.prev = t->node.next = NULL;
	t->attach_node.prev = t->attach_node.next = NULL;
	/* First in line: a newcomer has something to say (a greeting). */
	list_push_front(&e->tenants, &t->node);
	e->n++;
	t->attached = own_key(e, t);
	if (!t->attached && e->att.att == ATTACHED) {
		list_push_back(&e->attach_q, &t->attach_node);
		key_frames_now(e);
	}
	return 0;
}

void mixedge_leave(struct mixedge_tenant *t)
{
	struct mixedge *e = t->edge;
	if (!e)
		return;
	htab_del(e->by_pk, t->kp->pk);
	list_remove(&t->node);
	e->n--;
	if (list_linked(&t->attach_node))
		list_remove(&t->attach_node);
	else if (t->attached && !own_key(e, t) && e->att.att == ATTACHED) {
		if (e->detach_n == MIXEDGE_DETACH_MAX) {
			e->detach_head = (e->detach_head + 1) % MIXEDGE_DETACH_MAX;
			e->detach_n--;
			e->st.detaches_lost++;
		}
		memcpy(e->detach_q[(e->detach_head + e->detach_n) % MIXEDGE_DETACH_MAX], t->kp->pk, 32);
		e->detach_n++;
		key_frames_now(e);
	}
	t->edge = NULL;
	t->attached = 0;
}

const struct topo_node *mixedge_gateway(const struct mixedge *e)
{
	return e->gw;
}

struct routes *mixedge_routes(const struct mixedge *e)
{
	return e->cfg.routes;
}

size_t mixedge_tenants(const struct mixedge *e)
{
	return e->n;
}

int mixedge_up(const struct mixedge *e)
{
	return e->att.att == ATTACHED;
}

int mixedge_can_send(const struct mixedge *e)
{
	return e->report == ER_TOLD && mixattach_can_send(&e->att);
}

int mixedge_send(struct mixedge *e, const uint8_t first[PKT_ID_BYTES], const uint8_t pkt[PKT_BYTES])
{
	return e->att.att == ATTACHED ? link_send(e->att.link, LF_SEND, first, pkt) : -1;
}

const struct mixedge_stats *mixedge_stats(const struct mixedge *e)
{
	return &e->st;
}
