/* mixattach — see mixattach.h. */
#include "mixattach.h"

#include <string.h>

#include "ev.h"
#include "log.h"

static const char *const attachment_names[] = {
	[DETACHED] = "detached", [CONNECTING] = "connecting", [ATTACHED] = "attached",
};

static void set_attachment(struct mixattach *a, enum attachment att, struct link *l,
                           const char *why)
{
	if (a->att != att)
		log_debug("mixclient: gateway %s: %s -> %s%s%s", a->gw->name,
		          attachment_names[a->att], attachment_names[att], why ? ": " : "",
		          why ? why : "");
	a->att = att;
	a->link = att == DETACHED ? NULL : l;
}

static void attach(struct mixattach *a);

static void on_reconnect(struct ev *ev, void *ctx)
{
	struct mixattach *a = ctx;
	(void)ev;
	a->t_reconnect = 0;
	attach(a);
}

/* A NULL ctx: the link outlived mixattach_stop until its batch ended. */
static void att_down(struct link *l, const char *why, void *ctx)
{
	struct mixattach *a = ctx;
	(void)l;
	if (!a)
		return;
	int was_up = a->att == ATTACHED;
	set_attachment(a, DETACHED, NULL, why);
	log_info("mixclient: gateway %s: %s (retry in %u ms)", a->gw->name, why, a->backoff_ms);
	a->t_reconnect = ev_timer_add(a->ev, a->backoff_ms, on_reconnect, a);
	a->backoff_ms = a->backoff_ms * 2 > MIXATTACH_BACKOFF_MAX_MS ? MIXATTACH_BACKOFF_MAX_MS
	                                                             : a->backoff_ms * 2;
	a->cbs->down(a->ctx, was_up);
}

static void att_up(struct link *l, void *ctx)
{
	struct mixattach *a = ctx;
	if (!a)
		return;
	set_attachment(a, ATTACHED, l, NULL);
	a->backoff_ms = MIXATTACH_BACKOFF_MIN_MS;
	a->cbs->up(a->ctx);
}

static void att_frame(struct link *l, enum link_frame_type t, const uint8_t *id, uint8_t *pkt,
                      void *ctx)
{
	struct mixattach *a = ctx;
	(void)l;
	if (a)
		a->cbs->frame(t, id, pkt, a->ctx);
}

static void att_drain(struct link *l, void *ctx)
{
	struct mixattach *a = ctx;
	(void)l;
	if (a)
		a->cbs->drain(a->ctx);
}

static const struct link_cbs att_link_cbs = {
	.on_up = att_up,
	.on_frame = att_frame,
	.on_drain = att_drain,
	.on_down = att_down,
};

static void attach(struct mixattach *a)
{
	struct link *l = link_connect(a->ev, (const struct sockaddr *)&a->gw->addr, a->gw->addrlen,
	                              a->kp, a->gw->pk, LINK_CLIENT, 256, &att_link_cbs, a);
	/* NULL: it failed at once, and att_down has made us detached. */
	if (l)
		set_attachment(a, CONNECTING, l, NULL);
}

void mixattach_start(struct mixattach *a, struct ev *ev, const struct topo_node *gw,
                     const struct keypair *kp, const struct mixattach_cbs *cbs, void *ctx)
{
	memset(a, 0, sizeof(*a));
	a->ev = ev;
	a->gw = gw;
	a->kp = kp;
	a->cbs = cbs;
	a->ctx = ctx;
	a->backoff_ms = MIXATTACH_BACKOFF_MIN_MS;
	attach(a);
}

void mixattach_stop(struct mixattach *a, const char *why)
{
	ev_timer_cancel(a->ev, a->t_reconnect);
	a->t_reconnect = 0;
	if (a->link) {
		/* The link outlives this call until the batch ends: its
		 * callbacks see a NULL context and do nothing. */
		struct link *l = a->link;
		set_attachment(a, DETACHED, NULL, why);
		link_set_ctx(l, NULL);
		link_close(l, why);
	}
}

int mixattach_can_send(const struct mixattach *a)
{
	return a->att == ATTACHED && link_queue_room(a->link) > 0;
}
