/* mixclient — see mixclient.h.
 *
 * The packet body is mixbody.h's.
 *
 * Epochs.  A conversation is one tag: its owner (peer_out, which writes to
 * an address) and its holder (peer_in at that address, which holds the
 * owner's reply blocks).  The owner's state never changes under a tag: a
 * new one draws a new tag.  The holder may lose its state (it restarts,
 * forgets an idle sender, evicts one for room) while the owner keeps
 * his; its next state starts from nothing, so its reply ids restart at 1
 * and it cannot know what the former one delivered.  Hence:
 *
 *   - A holder state draws a random non-zero epoch when it is made.  It
 *     takes a message (and reads acks) only from a packet that names that
 *     epoch; any other packet (naming 0, or a former state) is refused:
 *     not delivered, not acknowledged; its blocks and floor are kept, and
 *     the state answers through a block with its epoch and the one the
 *     packet named (`named`).
 *   - The owner takes a new epoch only from a packet whose `named` is the
 *     epoch it holds now (0 at first): that state has seen its latest
 *     view, so it is the newer one.  A packet of a former state names an
 *     older view (or carries a former epoch): it is dropped, so the owner
 *     never goes back to a former state.
 *   - Taking an epoch in place of a non-zero one, the owner resets its
 *     window of the holder's ids and drops the acks it owed the former
 *     state, and gives up every message it sent naming a former epoch:
 *     that state may have delivered it, the new one cannot know, so it is
 *     not sent again (exactly once, or reported given up).  Messages sent
 *     only naming 0 were refused everywhere and go again at once.
 *   - Except when the application drops second copies itself
 *     (app_dedupes) and the holder only forgot us: an epoch's top half is
 *     the holder's incarnation, drawn when its table is made, so a new
 *     state of the same incarnation is a holder that evicted or idled us
 *     out and lives on (with the application's state for us, such as a
 *     proxy's sessions).  Then what went to the former state goes again:
 *     a stranger who pushes senders out of a holder's table with
 *     made-up tags costs its honest senders a round trip, not their
 *     messages.  A restarted holder has another incarnation: given up.
 *   - Until it has an epoch the owner sends as usual, naming 0: all is
 *     refused, and each refusal brings the epoch back on another route
 *     (one message at a time would learn the live mixes one route at a
 *     time: far too slow when many are dead).
 *
 * So a message is delivered only by the one state it names, at most once
 * there (its window), and it never names two.  The owner forgets an idle
 * peer sooner than the holder forgets an idle sender (10 against 20
 * minutes), so an idle conversation starts again under a new tag instead
 * of meeting a forgotten state, which would cost the messages then out.
 */
#include "mixclient.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ev.h"
#include "htab.h"
#include "link.h"
#include "list.h"
#include "log.h"
#include "ratelog.h"
#include "mixedge.h"
#include "mixbody.h"
#include "mixcc.h"
#include "mixmsg.h"
#include "mixpeer.h"
#include "rng.h"
#include "route.h"
#include "rxwin.h"
#include "util.h"

#define ANNOUNCE_MAX 8           /* epoch announcements owed to one sender */
#define HELLO_FRESH_US (30ull * 1000000) /* a hello's epoch, unused, is trusted */
#define SWEEP_MS 5000
#define ACK_DELAY_FAST_MS 2      /* the least an ack waits for a packet to ride (fast) */
#define ACK_DELAY_MAX_US 20000   /* ... and the most */
#define DONE_MIN_US 2000000      /* mixclient_done: the least silence of its peers */
#define ACK_BATCH 16             /* owed to one peer: worth a packet of their own at once */
#define BURST 32                 /* packets per loop pass in the fast profile */
#define SUPPLY_MIN_US 250000ull  /* a quiet peer is checked at most this often */
#define ACKS_BESIDE 6            /* acks that fit beside any message */

_Static_assert(MIX_TAG_BYTES == MB_TAG_BYTES, "a tag is the body's tag field");
_Static_assert(MIX_MSG_MAX + MB_HDR + ACKS_BESIDE * MB_ACK_BYTES == PKT_BODY_BYTES,
               "a message leaves room for ACKS_BESIDE acks (mixclient.h)");

struct mixclient {
	struct ev *ev;
	struct mixclient_cfg cfg;
	const struct topo_node *gw;
	struct mixedge *edge;        /* the link to it, maybe shared (mixedge.h) */
	int own_edge;
	struct mixedge_tenant ten;   /* our place on it */
	uint64_t t_up, t_sweep, t_ack, t_supply;
	struct mixpeers peers;
	struct ratelog rl_repeat;    /* a gateway that replays deliveries: at will */
	struct mixmsgs msgs;         /* what we have out */
	struct routes *routes;       /* mix health, maybe shared (route.h) */
	int own_routes;
	struct mixcc *cc;            /* round trips and (fast) the window */
	int own_cc;
	struct mixcc_waiter waiter;  /* in cc's queue for a turn */
	uint64_t t_pump;
	uint64_t acks_since;         /* oldest unsent ack waiting, 0: none */
	int rr_table;                /* send_acks resumes here: 0 outs, 1 ins, */
	size_t rr_slot;              /* ... at this slot */
	struct mixclient_stats st;
};

/* ---- small helpers ---- */

static uint32_t delay_us(struct mixclient *mc)
{
	if (mc->cfg.fast)
		return 0;
	double us = rng_exp(mc->cfg.delay_mean_ms * 1000.0);
	return us > 4e9 ? 4000000000u : (uint32_t)us;
}

static uint32_t now_min(void)
{
	return (uint32_t)(wall_s() / 60);
}

/* ---- route choice (route.h) ---- */

static void make_route(struct mixclient *mc, const struct topo_node *exit_gw,
                       struct pkt_hop route[PKT_HOPS])
{
	const struct topo_node *m[3];
	routes_pick(mc->routes, m);
	for (int l = 0; l < 3; l++) {
		memcpy(route[l].id, m[l]->id, PKT_ID_BYTES);
		memcpy(route[l].pk, m[l]->pk, PKT_KEY_BYTES);
		route[l].delay_us = delay_us(mc);
	}
	memcpy(route[3].id, exit_gw->id, PKT_ID_BYTES);
	memcpy(route[3].pk, exit_gw->pk, PKT_KEY_BYTES);
	route[3].delay_us = 0;
}

/* ---- what the messages ask of the client (mixmsg.h) ---- */

static void kick(struct mixclient *mc);

/* Why no route can carry m: nothing has come from its peer for
 * peer_timeout since it was queued (or since the peer was last heard,
 * if later), and the reason that shows (our gateway down, a layer with
 * no mix that carried anything in that time, else the peer's side).
 * NULL while a route may still carry it: it is sent again, however many
 * tries that takes. */
static const char *unreachable(void *ctx, const struct outmsg *m, char *buf, size_t n)
{
	struct mixclient *mc = ctx;
	uint64_t now = now_us(), t = mc->cfg.peer_timeout_ms * 1000;
	uint64_t heard = m->cv->heard_us;
	uint64_t since = heard > m->first_us ? heard : m->first_us;
	int layer;
	if (!t || now - since < t)
		return NULL;
	unsigned secs = (unsigned)((now - since) / 1000000);
	if (!mixedge_up(mc->edge)) {
		snprintf(buf, n, "our gateway %s unreachable; nothing heard for %u s", mc->gw->name,
		         secs);
	} else if ((layer = routes_dead_layer(mc->routes, now - t)) != 0) {
		snprintf(buf, n, "no mix of layer %d carried anything for %u s", layer, secs);
	} else if (!m->cv->in) {
		char a[MIX_ADDR_CHARS];
		snprintf(buf, n, "nothing heard from %s for %u s: its gateway %s, or the way to it, "
		         "is down", mix_addr_format(&conv_po(m->cv)->addr, a, sizeof(a)), secs,
		         conv_po(m->cv)->gw->name);
	} else {
		snprintf(buf, n, "nothing heard from the sender for %u s", secs);
	}
	return buf;
}

/* A sender forgotten with replies of ours to it out: they are given up. */
static const char *of_conv(const struct outmsg *m, void *cv, char *buf, size_t n)
{
	(void)buf;
	(void)n;
	return m->cv == cv ? "its sender was pushed out by newer ones" : NULL;
}

static void sender_forgotten(struct conv *cv, void *ctx)
{
	struct mixclient *mc = ctx;
	mixmsgs_give_up_matching(&mc->msgs, of_conv, cv);
}

/* The messages to a peer sent naming an epoch (see Epochs). */
static const char *bound_to(const struct outmsg *m, void *cv, char *buf, size_t n)
{
	(void)buf;
	(void)n;
	return m->cv == cv && m->bound ? "the peer lost its state for us" : NULL;
}

static const char *unreachable_match(const struct outmsg *m, void *mc, char *buf, size_t n)
{
	return unreachable(mc, m, buf, n);
}

static void msgs_kick(void *ctx)
{
	kick(ctx);
}

static void msgs_given_up(void *ctx, const struct mix_from *to, uint64_t id, const char *why)
{
	struct mixclient *mc = ctx;
	if (mc->cfg.cbs->on_giveup)
		mc->cfg.cbs->on_giveup(mc, to, id, why, mc->cfg.ctx);
}

static void msgs_writable(void *ctx)
{
	struct mixclient *mc = ctx;
	if (mc->cfg.cbs->on_writable)
		mc->cfg.cbs->on_writable(mc, mc->cfg.ctx);
}

static const struct mixmsgs_cbs mc_msgs_cbs = {
	.kick = msgs_kick,
	.unreachable = unreachable,
	.given_up = msgs_given_up,
	.writable = msgs_writable,
};

/* ---- building and sending packets ---- */

/* Attach n fresh reply blocks back to us for peer p; the route of the
 * last one (the newest the peer will hold, which it uses first) to
 * last, if not NULL.  b's packet number is set: the blocks live by it
 * (mixpeer.h).  How many went in. */
static unsigned body_add_surbs(struct mixclient *mc, struct mb_writer *b, struct peer_out *p,
                               unsigned n, uint8_t (*last)[PKT_ID_BYTES])
{
	unsigned added = 0;
	while (n-- > 0 && mb_room(b) >= SURB_BYTES && b->nsurbs < MB_MAX_SURBS && !b->nacks &&
	       secrets_room(&mc->peers)) {
		struct pkt_hop route[PKT_HOPS];
		uint8_t surb[SURB_BYTES];
		struct surb_rec *r = xcalloc(1, sizeof(*r));
		make_route(mc, mc->gw, route);
		if (surb_create(surb, &r->sec, route, mc->cfg.kp->pk, now_min()) != PKT_OK ||
		    mb_add_surb(b, surb)) {
			sodium_memzero(r, sizeof(*r));
			free(r);
			return added;
		}
		for (int i = 0; i < 3; i++)
			memcpy(r->mixes[i], route[i].id, PKT_ID_BYTES);
		if (last)
			memcpy(last, r->mixes, sizeof(r->mixes));
		added++;
		if (secret_keep(&mc->peers, p, r, now_us(), b->h.pnum))
			return added;
		p->surbs_out++;
		p->surbs_since++;
		mc->st.surbs_sent++;
	}
	return added;
}

/* Acks, leaving `reserve` bytes for the message that follows them. */
static void body_add_acks(struct mixclient *mc, struct mb_writer *b, struct conv *cv,
                          size_t reserve)
{
	mc->st.acks_sent += conv_put_acks(cv, b, reserve);
}

/* A packet of acks or blocks is owed: it goes before messages once it
 * has waited a send slot (acks_due). */
static void owe_control(struct mixclient *mc)
{
	if (!mc->acks_since)
		mc->acks_since = now_us();
}

/* Send a body to an address (forward packet); fills route mixes. */
static int send_forward(struct mixclient *mc, const struct topo_node *dst_gw,
                        const uint8_t dst_pk[32], struct mb_writer *b,
                        uint8_t (*mixes)[PKT_ID_BYTES], uint64_t *delay_sum)
{
	struct pkt_hop route[PKT_HOPS];
	uint8_t pkt[PKT_BYTES];
	make_route(mc, dst_gw, route);
	if (pkt_create(pkt, route, dst_pk, mb_finish(b), sizeof(b->b), now_min()) != PKT_OK)
		return -1;
	if (mixedge_send(mc->edge, route[0].id, pkt))
		return -1;
	if (mixes)
		for (int i = 0; i < 3; i++)
			memcpy(mixes[i], route[i].id, PKT_ID_BYTES);
	if (delay_sum)
		*delay_sum = (uint64_t)route[0].delay_us + route[1].delay_us + route[2].delay_us;
	mc->st.packets_sent++;
	return 0;
}

static int send_via_surb(struct mixclient *mc, const uint8_t *surb, struct mb_writer *b)
{
	uint8_t pkt[PKT_BYTES], first[PKT_ID_BYTES];
	if (surb_use(surb, SURB_BYTES, mb_finish(b), sizeof(b->b), pkt, first) != PKT_OK)
		return -1;
	if (mixedge_send(mc->edge, first, pkt))
		return -1;
	mc->st.packets_sent++;
	mc->st.surbs_used++;
	return 0;
}

static int can_send(struct mixclient *mc)
{
	return mixedge_can_send(mc->edge);
}

/* Send queued messages in the ready queue's order, of the conversation
 * cv only if it is not NULL, until one goes: 1 sent, 0 nothing sendable,
 * -1 blocked. */
static int send_one_message_of(struct mixclient *mc, const struct conv *cv)
{
	for (struct list *l = mc->msgs.rq.next; l != &mc->msgs.rq; l = l->next) {
		struct outmsg *m = list_entry(l, struct outmsg, rq);
		if (cv && m->cv != cv)
			continue;
		struct mb_writer b;
		uint64_t dsum = 0;
		if (m->kind == MB_DATA) {
			struct peer_out *p = conv_po(m->cv);
			mb_begin(&b, MB_DATA, m->id, p->tag);
			b.h.try = (uint8_t)(m->tries >= 254 ? 255 : m->tries + 1);
			b.h.floor = mixmsgs_floor(&mc->msgs, &p->cv);
			b.h.epoch = p->cv.epoch;
			b.h.pnum = ++p->pnum;
			/* A retry carries a fresh block: the blocks the peer
			 * holds may lead through mixes that died since (the newest
			 * is the one it uses first), or be used up while its last
			 * count still says otherwise; then it could not even
			 * acknowledge.  Blocks that do not fit beside the message
			 * go in an ACK packet of their own, soon (acks_out); for
			 * a retry, a few, at most once a round trip. */
			/* Riding acks (cv), the acks go first: blocks take only
			 * the room beside them. */
			size_t keep = cv ? (p->cv.nacks < ACKS_BESIDE ? p->cv.nacks : ACKS_BESIDE) *
			                   MB_ACK_BYTES : 0;
			size_t room = mb_room(&b) > m->len + keep ? mb_room(&b) - m->len - keep : 0;
			unsigned n = peer_out_surbs_wanted(p, now_us()), fit = (unsigned)(room / SURB_BYTES);
			if (n == 0 && m->tries > 0)
				n = 1;
			if (n > fit) {
				uint64_t now = now_us();
				if (m->tries > 0 && now - p->supplied_us > mixmsgs_rto_ms(&mc->msgs, 0, 1) * 1000) {
					p->resupply = 1;
					p->supplied_us = now;
				}
				owe_control(mc);
			}
			uint8_t ret[3][PKT_ID_BYTES];
			int have_ret = body_add_surbs(mc, &b, p, n < fit ? n : fit, ret) > 0;
			body_add_acks(mc, &b, &p->cv, m->len);
			if (mb_add_data(&b, m->data, m->len))
				return -1;
			if (send_forward(mc, p->gw, p->addr.pk, &b, m->mixes, &dsum))
				return -1;
			m->have_route = 1;
			/* Its ack comes back by the block it carried, most likely:
			 * a failure is the round trip's (routes_failed_trip). */
			m->have_ret = have_ret;
			if (have_ret)
				memcpy(m->ret, ret, sizeof(m->ret));
			m->blames = p->cv.epoch != 0;
			if (p->cv.epoch)
				m->bound = 1;
		} else {
			struct peer_in *p = conv_pi(m->cv);
			/* The last block is the reserve: it asks for more. */
			if (stock_n(p) < 2)
				continue; /* waits for reply blocks; try the next message */
			const uint8_t *surb = stock_peek(p);
			mb_begin(&b, MB_REPLY, m->id, NULL);
			b.h.try = (uint8_t)(m->tries >= 254 ? 255 : m->tries + 1);
			b.h.floor = mixmsgs_floor(&mc->msgs, &p->cv);
			b.h.epoch = p->cv.epoch;
			b.h.named = p->named;
			b.h.want = (uint8_t)peer_in_want(p);
			b.h.have = (uint8_t)(stock_n(p) - 1);
			body_add_acks(mc, &b, &p->cv, m->len);
			if (mb_add_data(&b, m->data, m->len))
				return -1;
			if (send_via_surb(mc, surb, &b)) {
				if (!can_send(mc))
					return -1;
				stock_take(p); /* a block that cannot be used goes */
				mc->st.undecodable++;
				continue;
			}
			stock_take(p);
			p->announce -= p->announce > 0;
		}
		msg_sent(m, m->kind == MB_DATA ? dsum : 0);
		return 1;
	}
	return 0;
}

static int send_one_message(struct mixclient *mc)
{
	return send_one_message_of(mc, NULL);
}

/* Acks due to cv's peer must go now: a message of ours to it that waits
 * for the window goes instead, with them (mixcc_ride).  1 sent, 0 none
 * could, -1 blocked. */
static int ride_acks(struct mixclient *mc, struct conv *cv)
{
	if (!cv->queued || !mc->cfg.fast || mixcc_room(mc->cc))
		return 0;
	mixcc_ride(mc->cc);
	int r = send_one_message_of(mc, cv);
	mixcc_ride_cancel(mc->cc);
	return r;
}

/* A message, if the congestion window has room; else a turn is asked
 * for (mixcc.h).  1 sent, 0 nothing sendable now, -1 blocked. */
static int send_msg(struct mixclient *mc)
{
	if (list_empty(&mc->msgs.rq))
		return 0;
	if (!mixcc_room(mc->cc)) {
		mixcc_wait(mc->cc, &mc->waiter);
		return 0;
	}
	return send_one_message(mc);
}

/* The window gave this client a turn: one message. */
static int cc_turn(void *arg)
{
	struct mixclient *mc = arg;
	if (!can_send(mc) || send_one_message(mc) != 1)
		return 0; /* blocked: the link's drain kicks it again */
	return !list_empty(&mc->msgs.rq);
}

/* A pass over the peers for ack-only packets.  An ack waits a little for
 * a packet that goes anyway to ride in, unless ACK_BATCH are owed: in the
 * fast profile half the least round trip (2 ms at least), and up to
 * ACK_DELAY_MAX_US while a message to that peer waits in the ready queue
 * (an echo's reply waits there for its turn of the shared window); in
 * the default profile, a send slot.  1,000 sessions echoing through one
 * server had an ack packet of its own for nearly every message, each
 * taking a reply block that cost its client as much as a packet. */
struct ack_pass {
	uint64_t now, delay;
	uint64_t next;               /* when the next ack still waiting is ready (0: none) */
};

static void ack_pass_init(struct mixclient *mc, struct ack_pass *ap)
{
	ap->now = now_us();
	ap->next = 0;
	if (!mc->cfg.fast) {
		ap->delay = (uint64_t)(mc->cfg.send_mean_ms * 1000);
		return;
	}
	struct mixcc_stats st;
	mixcc_get_stats(mc->cc, &st);
	double d = st.min_rtt_ms * 500;
	ap->delay = d < ACK_DELAY_FAST_MS * 1000 ? ACK_DELAY_FAST_MS * 1000
	          : d > ACK_DELAY_MAX_US ? ACK_DELAY_MAX_US : (uint64_t)d;
}

static int acks_ready(const struct mixclient *mc, struct ack_pass *ap, unsigned nacks,
                      uint64_t since, unsigned queued)
{
	uint64_t delay = ap->delay;
	if (!nacks)
		return 0;
	if (queued && mc->cfg.fast && delay < ACK_DELAY_MAX_US)
		delay = ACK_DELAY_MAX_US;
	if (nacks >= ACK_BATCH || ap->now - since >= delay)
		return 1;
	if (!ap->next || since + delay < ap->next)
		ap->next = since + delay;
	return 0;
}

/* An ack-only packet to an address (with reply blocks if it holds too
 * few).  1 sent, 0 nothing for it, -1 blocked. */
static int acks_out(struct mixclient *mc, struct peer_out *p, struct ack_pass *ap)
{
	unsigned low = p->surbs_out < p->target ? p->target - p->surbs_out : 0;
	if (p->resupply && low < MB_MAX_SURBS)
		low = MB_MAX_SURBS;
	int ready = acks_ready(mc, ap, p->cv.nacks, p->cv.ack_since, p->cv.queued);
	if (!ready && !low)
		return 0;
	int r = ready ? ride_acks(mc, &p->cv) : 0;
	if (r)
		return r;
	p->resupply = 0;
	struct mb_writer b;
	mb_begin(&b, MB_ACK, 0, p->tag);
	b.h.floor = mixmsgs_floor(&mc->msgs, &p->cv);
	b.h.epoch = p->cv.epoch;
	b.h.pnum = ++p->pnum;
	body_add_surbs(mc, &b, p, low > MB_MAX_SURBS ? MB_MAX_SURBS : low, NULL);
	body_add_acks(mc, &b, &p->cv, 0);
	if (send_forward(mc, p->gw, p->addr.pk, &b, NULL, NULL))
		return -1;
	return 1;
}

/* An ack-only packet to an anonymous sender, through one of its blocks:
 * acks, or our epoch after a refusal, or (on the reserve) a request for
 * more blocks.  1 sent, 0 nothing for it, -1 blocked. */
static int acks_in(struct mixclient *mc, struct peer_in *p, struct ack_pass *ap)
{
	while (stock_n(p) && (acks_ready(mc, ap, p->cv.nacks, p->cv.ack_since, stock_n(p) > 1 ? p->cv.queued : 0) ||
	                 p->announce ||
	                 (p->cv.queued && stock_n(p) == 1))) {
		/* The last block (the reserve) only asks for more, and not more
		 * often than a round trip could answer. */
		if (stock_n(p) == 1) {
			uint64_t gap = (uint64_t)(mixmsgs_rto_ms(&mc->msgs, 0, 1) * 1000);
			if (now_us() - p->asked_us < gap)
				return 0;
			p->asked_us = now_us();
		} else {
			int r = ride_acks(mc, &p->cv);
			if (r)
				return r;
		}
		struct mb_writer b;
		mb_begin(&b, MB_ACK, 0, NULL);
		b.h.want = (uint8_t)peer_in_want(p);
		b.h.have = (uint8_t)(stock_n(p) - 1);
		b.h.floor = mixmsgs_floor(&mc->msgs, &p->cv);
		b.h.epoch = p->cv.epoch;
		b.h.named = p->named;
		unsigned nacks = p->cv.nacks, necho = p->cv.necho;
		uint64_t acks[MIXPEER_ACKS_MAX], echo[MIXPEER_ECHO];
		if (nacks)
			memcpy(acks, p->cv.acks, nacks * sizeof(*acks));
		if (necho)
			memcpy(echo, p->cv.echo, necho * sizeof(*echo));
		body_add_acks(mc, &b, &p->cv, 0);
		if (!send_via_surb(mc, stock_peek(p), &b)) {
			stock_take(p);
			p->announce -= p->announce > 0;
			return 1;
		}
		/* Not sent: the acks are still owed. */
		mc->st.acks_sent -= nacks - p->cv.nacks;
		if (nacks)
			memcpy(p->cv.acks, acks, nacks * sizeof(*acks));
		p->cv.nacks = nacks;
		if (necho)
			memcpy(p->cv.echo, echo, necho * sizeof(*echo));
		p->cv.necho = necho;
		if (!can_send(mc))
			return -1;
		stock_take(p); /* a block that cannot be used goes; try the next */
		mc->st.undecodable++;
	}
	return 0;
}

/* One ack-only packet, for the next peer that needs one in a round robin
 * over both tables, from where the last one went: a busy peer, always
 * owed acks again, does not keep the others waiting. */
static int send_acks(struct mixclient *mc, struct ack_pass *ap)
{
	int t = mc->rr_table;
	size_t start = mc->rr_slot;
	/* This table from the cursor, the other one, this one up to it. */
	for (int step = 0; step < 3; step++, t ^= 1) {
		struct htab *h = t ? mc->peers.ins : mc->peers.outs;
		size_t it = step == 0 ? start : 0;
		const void *k;
		void *v;
		while (htab_next(h, &it, &k, &v)) {
			if (step == 2 && it - 1 >= start)
				break;
			int r = t ? acks_in(mc, v, ap) : acks_out(mc, v, ap);
			if (r) {
				mc->rr_table = t;
				mc->rr_slot = r > 0 ? it : it - 1;
				return r;
			}
		}
	}
	return 0;
}

static int send_to_self(struct mixclient *mc, int kind)
{
	struct mb_writer b;
	mb_begin(&b, kind, 0, NULL);
	mb_pad_random(&b);
	if (send_forward(mc, mc->gw, mc->cfg.kp->pk, &b, NULL, NULL))
		return -1;
	if (kind == MB_LOOP)
		mc->st.loop_sent++;
	else
		mc->st.cover_sent++;
	return 0;
}

/* Acks that waited longer than a send slot go before messages: a client
 * busy with its own messages must still acknowledge its senders'. */
static int acks_due(struct mixclient *mc)
{
	double slot_us = mc->cfg.fast ? 2000 : mc->cfg.send_mean_ms * 1000;
	return mc->acks_since && (double)(now_us() - mc->acks_since) > slot_us;
}

static void on_ack_timer(struct ev *ev, void *ctx);

static int send_acks_first(struct mixclient *mc)
{
	struct ack_pass ap;
	ack_pass_init(mc, &ap);
	int r = send_acks(mc, &ap);
	if (r == 1) {
		mc->acks_since = ap.now;
	} else if (r == 0 && !ap.next) {
		mc->acks_since = 0; /* none left anywhere */
	} else if (r == 0) {
		/* Acks are owed but wait for a packet to ride in: due again
		 * when the first of them is ready (fast: a timer then). */
		mc->acks_since = ap.now;
		if (mc->cfg.fast && !mc->t_ack)
			mc->t_ack = ev_timer_add_us(mc->ev, ap.next - ap.now, on_ack_timer, mc);
	}
	return r;
}

/* A Poisson slot of the edge's (mixedge.h) is ours: due acks, else a
 * message, else acks.  0: nothing to send (the slot goes to the next
 * identity, or to cover). */
static int mc_slot(void *ctx)
{
	struct mixclient *mc = ctx;
	if (!can_send(mc))
		return 1; /* the link is full: nobody's slot */
	int r = acks_due(mc) ? send_acks_first(mc) : 0;
	if (r == 0)
		r = send_msg(mc);
	if (r == 0)
		r = send_acks_first(mc);
	return r != 0;
}

/* Cover of the edge's: to ourselves, as loop cover or from an empty slot. */
static void mc_cover(void *ctx, int kind)
{
	struct mixclient *mc = ctx;
	if (can_send(mc))
		send_to_self(mc, kind);
}

static void on_pump(struct ev *ev, void *ctx);

/* Fast profile: send what is ready, as the link takes it, BURST packets
 * per loop pass: building a packet costs ten X25519, and acks that arrive
 * meanwhile must be read before their messages' timeouts run out. */
static void mc_pump(struct mixclient *mc)
{
	int n = 0;
	while (n < BURST && can_send(mc) && acks_due(mc) && send_acks_first(mc) == 1)
		n++;
	while (n < BURST && can_send(mc) && send_msg(mc) == 1)
		n++;
	while (n < BURST && can_send(mc) && send_acks_first(mc) == 1)
		n++;
	if (n == BURST && !mc->t_pump)
		mc->t_pump = ev_timer_add(mc->ev, 0, on_pump, mc);
}

static void on_pump(struct ev *ev, void *ctx)
{
	struct mixclient *mc = ctx;
	(void)ev;
	mc->t_pump = 0;
	mc_pump(mc);
}

static void on_ack_timer(struct ev *ev, void *ctx)
{
	struct mixclient *mc = ctx;
	(void)ev;
	mc->t_ack = 0;
	mc_pump(mc);
}

/* Something became ready: in the fast profile send now (acks after a
 * short delay, so that a burst is acknowledged in few packets). */
static void kick(struct mixclient *mc)
{
	if (!mc->cfg.fast)
		return;
	int n = 0;
	while (n < BURST && can_send(mc) && send_msg(mc) == 1)
		n++;
	if (n == BURST && !mc->t_pump)
		mc->t_pump = ev_timer_add(mc->ev, 0, on_pump, mc);
	if (!mc->t_ack)
		mc->t_ack = ev_timer_add(mc->ev, ACK_DELAY_FAST_MS, on_ack_timer, mc);
}

/* ---- receiving ---- */

/* The body, if it decodes and its message fits what the application
 * takes. */
static int parse_body(const uint8_t *b, struct mb_view *v)
{
	return mb_parse(b, PKT_BODY_BYTES, v) == 0 && v->len <= MIX_MSG_MAX ? 0 : -1;
}

/* Exactly once: a new id within the window goes to the application and
 * is acknowledged if it takes it; a duplicate is acknowledged again (the
 * first ack may have been lost); an id beyond the window, or one the
 * application cannot take now, is left for the sender to send again. */
static int accept_message(struct mixclient *mc, struct conv *cv, const struct mix_from *from,
                          uint64_t id, unsigned try, const uint8_t *data, size_t len)
{
	uint64_t ack = id | (uint64_t)try << 56;
	enum rxwin_verdict r = rxwin_check(&cv->rx, id);
	if (r != RXWIN_AHEAD && !mc->acks_since)
		mc->acks_since = now_us();
	if (r != RXWIN_AHEAD && !cv->nacks)
		cv->ack_since = now_us();
	if (r == RXWIN_DUP) {
		mc->st.duplicates++;
		conv_owe_ack(cv, ack);
	} else if (r == RXWIN_NEW && mc->cfg.cbs->on_message(mc, from, data, len, mc->cfg.ctx) == 0) {
		rxwin_take(&cv->rx, id);
		mc->st.received++;
		conv_owe_ack(cv, ack);
		return 1;
	}
	mc->st.refused++;
	return 0;
}

static void deliver_forward(struct mixclient *mc, const uint8_t *b)
{
	struct mb_view v;
	int kind = mb_kind(b, PKT_BODY_BYTES); /* all that COVER and LOOP carry */

	if (kind == MB_COVER)
		return;
	if (kind == MB_LOOP) {
		mc->st.loop_received++;
		return;
	}
	if ((kind != MB_DATA && kind != MB_ACK) || parse_body(b, &v)) {
		mc->st.undecodable++;
		return;
	}
	struct peer_in *p = peer_in_get(&mc->peers, v.h.tag, now_us());
	if (!p) {
		mc->st.refused++;
		return;
	}
	if (!peer_in_fresh(&mc->peers, p, v.h.pnum, v.h.epoch == 0)) {
		mc->st.repeats++;
		ratelog_warn(&mc->rl_repeat, "a packet from an anonymous sender taken before: "
		             "dropped (a delivery replayed by the gateway, or a duplicate)");
		return;
	}
	p->cv.heard_us = now_us();
	int useful = 0;
	for (unsigned i = 0; i < v.nsurbs; i++) {
		/* A block must lead to a layer-1 mix we know, or it would sit
		 * at the head of the stock and block every reply behind it. */
		const uint8_t *surb = v.surbs + (size_t)i * SURB_BYTES;
		const struct topo_node *first = topo_by_id(mc->cfg.topo, surb);
		if (first && first->role == TOPO_MIX && first->layer == 1)
			useful |= stock_put(&mc->peers, p, surb, now_us(), v.h.pnum);
		else
			mc->st.undecodable++;
	}
	/* The floor is about the sender's ids, which never restart under a
	 * tag: true whatever state the packet names. */
	rxwin_floor(&p->cv.rx, v.h.floor);
	uint64_t named = v.h.epoch; /* to an address: the holder's epoch the sender names */
	if (named != p->cv.epoch) {
		/* For a former state of ours, or for none yet: we cannot know
		 * what a former one delivered, so nothing here is taken (see
		 * Epochs); the sender learns our epoch from the answer. */
		if (named)
			p->named = named;
		/* Once for each packet refused (up to ANNOUNCE_MAX at a time),
		 * each time through another of its blocks: a sender that has
		 * not heard from us yet knows nothing of the mixes, so its
		 * blocks lead through dead ones as often as through live ones.
		 * Once a burst, 30 answers to 105 refusals all died on their
		 * way, with half the mixes down, and the sender never learned
		 * the epoch (mixclient.sh, gateway restart). */
		if (p->announce < ANNOUNCE_MAX)
			p->announce++;
		if (useful)
			peer_in_touch(&mc->peers, p, now_us());
		mc->st.stale++;
		if (!mc->acks_since)
			mc->acks_since = now_us();
		kick(mc);
		return;
	}
	p->announce = 0; /* it knows our epoch: the answers still owed are moot */
	useful |= mixmsgs_read_acks(&mc->msgs, &v, &p->cv) > 0;
	if (kind == MB_DATA) {
		struct mix_from from = { .reply = 0 };
		memcpy(from.tag, p->tag, MIX_TAG_BYTES);
		useful |= accept_message(mc, &p->cv, &from, v.h.id, v.h.try, v.data, v.len);
	}
	if (useful)
		peer_in_touch(&mc->peers, p, now_us());
	/* Replies that waited for blocks can go now. */
	kick(mc);
}

/* The peer's state for our tag is a new one (see Epochs). */
static void peer_out_new_epoch(struct mixclient *mc, struct peer_out *p, uint64_t epoch)
{
	uint64_t old = p->cv.epoch;
	p->epoch_us = now_us();
	p->cv.epoch = epoch;
	if (old) {
		char a[MIX_ADDR_CHARS];
		mc->st.peer_resets++;
		rxwin_init(&p->cv.rx);
		p->cv.nacks = p->cv.necho = 0;
		if (mc->cfg.app_dedupes &&
		    MIXPEER_INCARNATION(old) == MIXPEER_INCARNATION(epoch)) {
			/* It forgot us (idle, or pushed out by newer senders)
			 * and lives on: whatever of ours it took went to the
			 * application, which drops a second copy. */
			log_debug("mixclient: %s forgot its state for us: what was sent to the "
			          "former one goes again", mix_addr_format(&p->addr, a, sizeof(a)));
		} else {
			log_info("mixclient: %s lost its state for us (restarted, or forgot us): "
			         "what was sent to the former one is given up",
			         mix_addr_format(&p->addr, a, sizeof(a)));
			mixmsgs_give_up_matching(&mc->msgs, bound_to, &p->cv);
		}
	}
	/* What went naming no epoch was refused: again, now (and, above,
	 * what went to a former state that forgot us). */
	mixmsgs_requeue_conv(&mc->msgs, &p->cv, "refused for want of the epoch");
}

static void deliver_reply(struct mixclient *mc, struct peer_out *p, const uint8_t *b)
{
	struct mb_view v;
	if (parse_body(b, &v) || (v.h.kind != MB_REPLY && v.h.kind != MB_ACK) || v.nsurbs ||
	    !v.h.epoch) {
		mc->st.undecodable++;
		return;
	}
	uint64_t epoch = v.h.epoch, named = v.h.named;
	if (epoch != p->cv.epoch) {
		if (named != p->cv.epoch) {
			/* From a former state of the peer: it names a view of ours
			 * older than the one we hold.  Its ids and acks are of
			 * another window than ours now. */
			mc->st.stale++;
			return;
		}
		peer_out_new_epoch(mc, p, epoch);
	}
	p->cv.last_us = p->cv.heard_us = now_us();
	p->supply_gap_us = 0;
	/* What it holds, as it said when it sent this: blocks lost on the
	 * way are forgotten here instead of counted until they expire. */
	p->surbs_out = v.h.have;
	p->surbs_since = 0;
	unsigned want = v.h.want;
	/* It reports what it holds besides its reserve: MIXPEER_STOCK_MAX - 1 at most. */
	p->target = want < MIXPEER_SURB_TARGET_MIN ? MIXPEER_SURB_TARGET_MIN
	          : want > MIXPEER_STOCK_MAX - 1 ? MIXPEER_STOCK_MAX - 1 : want;
	mixmsgs_read_acks(&mc->msgs, &v, &p->cv);
	rxwin_floor(&p->cv.rx, v.h.floor);
	if (v.h.kind == MB_REPLY) {
		struct mix_from from = { .reply = 1, .addr = p->addr };
		p->answered_us = p->cv.last_us;
		accept_message(mc, &p->cv, &from, v.h.id, v.h.try, v.data, v.len);
	}
	kick(mc);
}

static void mc_frame(enum link_frame_type t, uint8_t *pkt, void *ctx)
{
	struct mixclient *mc = ctx;
	uint8_t tag[PKT_TAG_BYTES], body[PKT_BODY_BYTES];
	if (t == LF_PAD) {
		mc->st.pads_received++;
		return;
	}
	mc->st.packets_received++;
	pkt_delivery_tag(pkt, PKT_BYTES, tag);
	struct surb_rec *r = secret_find(&mc->peers, tag);
	if (r) {
		/* Single use: the secret goes whether the reply opens or not. */
		struct peer_out *p = r->peer;
		int rc = surb_open(pkt, PKT_BYTES, &r->sec, body);
		if (rc == PKT_OK)
			/* The reply took the block some time after we made it. */
			routes_proven(mc->routes, (const uint8_t (*)[PKT_ID_BYTES])r->mixes, r->t_us,
			              now_us());
		secret_free(&mc->peers, r);
		p->surbs_out -= p->surbs_out > 0;
		if (rc == PKT_OK)
			deliver_reply(mc, p, body);
		else
			mc->st.undecodable++;
		return;
	}
	if (pkt_open(pkt, PKT_BYTES, mc->cfg.kp->sk, body) != PKT_OK) {
		mc->st.undecodable++;
		return;
	}
	deliver_forward(mc, body);
}

/* Peers quiet for a while may have run out of reply blocks: some go to
 * them unasked (mixpeers_supply). */
static void supply(struct ev *ev, void *ctx)
{
	struct mixclient *mc = ctx;
	uint64_t quiet = mixmsgs_rto_ms(&mc->msgs, 0, 2) * 1000;
	if (quiet < SUPPLY_MIN_US)
		quiet = SUPPLY_MIN_US;
	mc->t_supply = ev_timer_add(ev, quiet / 1000, supply, mc);
	if (mixpeers_supply(&mc->peers, now_us(), quiet))
		kick(mc);
}

/* ---- the link (mixedge.h) ---- */

static void mc_up(void *ctx)
{
	struct mixclient *mc = ctx;
	if (mc->cfg.cbs->on_link)
		mc->cfg.cbs->on_link(mc, 1, mc->cfg.ctx);
	kick(mc);
}

static void mc_down(void *ctx, int was_up)
{
	struct mixclient *mc = ctx;
	if (was_up && mc->cfg.cbs->on_link)
		mc->cfg.cbs->on_link(mc, 0, mc->cfg.ctx);
}

static void mc_drain(void *ctx)
{
	kick(ctx);
}

static const struct mixedge_tenant_cbs mc_edge_cbs = {
	.up = mc_up,
	.down = mc_down,
	.frame = mc_frame,
	.drain = mc_drain,
	.slot = mc_slot,
	.cover = mc_cover,
};

/* Joined an edge whose link is up already: we hear of it as of any up,
 * from the loop (the owner has mixclient_new's result by then). */
static void mc_joined_up(struct ev *ev, void *ctx)
{
	struct mixclient *mc = ctx;
	(void)ev;
	mc->t_up = 0;
	if (mixedge_up(mc->edge))
		mc_up(mc);
}

/* ---- housekeeping ---- */

static void mc_sweep(struct ev *ev, void *ctx)
{
	struct mixclient *mc = ctx;
	mc->t_sweep = ev_timer_add(ev, SWEEP_MS, mc_sweep, mc);
	/* Acks owed to a sender that left no block to send them by expire
	 * after a peer timeout. */
	mixpeers_sweep(&mc->peers, now_us(), mc->cfg.peer_timeout_ms * 1000);
	/* Last: on_giveup may queue messages, but not free a peer. */
	mixmsgs_give_up_matching(&mc->msgs, unreachable_match, mc);
}

/* ---- the API ---- */

void mixclient_cfg_defaults(struct mixclient_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->send_mean_ms = 20;
	cfg->loop_mean_ms = 200;
	cfg->delay_mean_ms = 15;
	cfg->window = 256;
	cfg->peer_timeout_ms = 60000;
}

struct mixclient *mixclient_new(struct ev *ev, const struct mixclient_cfg *cfg, const char **err)
{
	const struct topo_node *gw;
	if (!cfg->topo || !cfg->kp || !cfg->cbs || !cfg->cbs->on_message) {
		*err = "incomplete configuration";
		return NULL;
	}
	if (cfg->edge) {
		gw = mixedge_gateway(cfg->edge);
		if (cfg->gateway && strcmp(cfg->gateway, gw->name)) {
			*err = "a shared link to another gateway";
			return NULL;
		}
		/* The link's reports of its gateway go to one routes table. */
		if (cfg->routes && cfg->routes != mixedge_routes(cfg->edge)) {
			*err = "a shared link whose reports go to other routes";
			return NULL;
		}
	} else if (cfg->gateway) {
		gw = topo_by_name(cfg->topo, cfg->gateway);
		if (!gw || gw->role != TOPO_GATEWAY) {
			*err = "no gateway of that name in the topology";
			return NULL;
		}
	} else {
		gw = topo_random_gateway(cfg->topo);
	}
	if (cfg->cc && !mixcc_is_fast(cfg->cc) != !cfg->fast) {
		*err = "a shared congestion state of the other profile";
		return NULL;
	}
	if (cfg->window < 1 ||
	    (!cfg->fast && (cfg->send_mean_ms <= 0 || cfg->loop_mean_ms <= 0))) {
		*err = "window, tries and send rates must be positive";
		return NULL;
	}
	struct mixclient *mc = xcalloc(1, sizeof(*mc));
	mc->ev = ev;
	ratelog_init(&mc->rl_repeat, ev);
	mc->cfg = *cfg;
	if (mc->cfg.fast)
		mc->cfg.delay_mean_ms = 0;
	mc->gw = gw;
	mc->cc = cfg->cc;
	if (!mc->cc) {
		mc->cc = mixcc_new(ev, cfg->fast);
		mc->own_cc = 1;
	}
	mc->waiter.turn = cc_turn;
	mc->waiter.arg = mc;
	mixpeers_init(&mc->peers, ev, cfg->topo, cfg->window, &mc->st, sender_forgotten, mc);
	mc->routes = cfg->edge ? mixedge_routes(cfg->edge) : cfg->routes;
	if (!mc->routes) {
		mc->routes = routes_new(cfg->topo);
		mc->own_routes = 1;
	}
	mixmsgs_init(&mc->msgs, ev, mc->cc, mc->routes, &mc->cfg, &mc->st, &mc_msgs_cbs, mc);
	mc->edge = cfg->edge;
	if (!mc->edge) {
		/* A link of our own, with our key: one identity, one link. */
		struct mixedge_cfg ec = {
			.fast = cfg->fast,
			.send_mean_ms = cfg->send_mean_ms,
			.loop_mean_ms = cfg->loop_mean_ms,
			.receive_mean_ms = cfg->receive_mean_ms,
			.routes = mc->routes,
		};
		mc->edge = mixedge_new(ev, gw, mc->cfg.kp, &ec);
		mc->own_edge = 1;
	}
	mc->ten.kp = mc->cfg.kp;
	mc->ten.cbs = &mc_edge_cbs;
	mc->ten.ctx = mc;
	if (mixedge_join(mc->edge, &mc->ten)) {
		*err = "an identity of that key is on the link already";
		mixclient_free(mc);
		return NULL;
	}
	if (mixedge_up(mc->edge))
		mc->t_up = ev_timer_add(ev, 0, mc_joined_up, mc);
	mc->t_sweep = ev_timer_add(ev, SWEEP_MS, mc_sweep, mc);
	mc->t_supply = ev_timer_add(ev, mixmsgs_rto_ms(&mc->msgs, 0, 2), supply, mc);
	return mc;
}

void mixclient_free(struct mixclient *mc)
{
	if (!mc)
		return;
	ev_timer_cancel(mc->ev, mc->t_up);
	ev_timer_cancel(mc->ev, mc->t_sweep);
	ev_timer_cancel(mc->ev, mc->t_ack);
	ev_timer_cancel(mc->ev, mc->t_supply);
	ev_timer_cancel(mc->ev, mc->t_pump);
	ratelog_stop(&mc->rl_repeat);
	mixcc_unwait(mc->cc, &mc->waiter);
	mixedge_leave(&mc->ten);
	if (mc->own_edge)
		mixedge_free(mc->edge);
	/* Before the peers: a message counts in its conversation. */
	mixmsgs_free(&mc->msgs);
	mixpeers_free(&mc->peers);
	if (mc->own_routes)
		routes_free(mc->routes);
	if (mc->own_cc)
		mixcc_free(mc->cc);
	free(mc);
}

int mixclient_send(struct mixclient *mc, const struct mix_addr *to,
                   const uint8_t *data, size_t len, uint64_t *id)
{
	struct peer_out *p = peer_out_get(&mc->peers, to, now_us());
	if (!p) {
		errno = EINVAL;
		return -1;
	}
	struct outmsg *m = mixmsgs_new(&mc->msgs, data, len);
	if (!m)
		return -1;
	/* An epoch learned by a hello long ago may be of a state the peer
	 * has since lost (restarted, or evicted as idle): the first message
	 * naming it would be given up, not refused.  Naming none again is
	 * safe: nothing was sent under it. */
	if (p->cv.next_id == 1 && p->cv.epoch && now_us() - p->epoch_us > HELLO_FRESH_US)
		p->cv.epoch = 0;
	p->cv.last_us = now_us();
	return mixmsgs_enqueue(&mc->msgs, m, MB_DATA, &p->cv, id);
}

int mixclient_reply(struct mixclient *mc, const uint8_t tag[MIX_TAG_BYTES],
                    const uint8_t *data, size_t len, uint64_t *id)
{
	struct peer_in *p = peer_in_find(&mc->peers, tag);
	if (!p) {
		errno = EINVAL;
		return -1;
	}
	/* One sender that sends no reply blocks (or vanished) must not fill
	 * the window that every other sender's replies share: a quarter stays
	 * for the others. */
	if (p->cv.inflight >= mc->cfg.window - mc->cfg.window / 4) {
		errno = EAGAIN;
		mixmsgs_want_writable(&mc->msgs);
		return -1;
	}
	struct outmsg *m = mixmsgs_new(&mc->msgs, data, len);
	if (!m)
		return -1;
	peer_in_touch(&mc->peers, p, now_us());
	return mixmsgs_enqueue(&mc->msgs, m, MB_REPLY, &p->cv, id);
}

int mixclient_hello(struct mixclient *mc, const struct mix_addr *to)
{
	struct peer_out *p = peer_out_get(&mc->peers, to, now_us());
	if (!p) {
		const struct topo_node *g = topo_by_id(mc->cfg.topo, to->gw);
		errno = g && g->role == TOPO_GATEWAY ? ENOSPC : EINVAL;
		return -1;
	}
	if (p->cv.epoch && now_us() - p->epoch_us <= HELLO_FRESH_US)
		return 0;
	p->cv.epoch = p->cv.next_id == 1 ? 0 : p->cv.epoch;
	/* acks_out sends blocks unasked to a peer marked so; the holder
	 * refuses the packet (it names no epoch) and answers with its own. */
	p->resupply = 1;
	p->cv.last_us = now_us();
	if (!mc->acks_since)
		mc->acks_since = now_us();
	kick(mc);
	return 0;
}

int mixclient_knows(const struct mixclient *mc, const struct mix_addr *to)
{
	const struct peer_out *p = peer_out_find(&mc->peers, to);
	return p && p->cv.epoch;
}

/* A block rides beside a short message, one a message, and the blocks
 * are counted when the message goes, not when it is cut: so a message is
 * cut short only while the blocks wanted outnumber the short first sends
 * already waiting to carry them.  (Cutting short every message read
 * while blocks were wanted left most of a bulk transfer's short ones
 * with nothing beside them.) */
size_t mixclient_msg_max(const struct mixclient *mc, const struct mix_addr *to)
{
	const struct peer_out *p = peer_out_find(&mc->peers, to);
	if (!p)
		return MIX_MSG_SURB;
	unsigned wanted = peer_out_surbs_wanted(p, now_us()), waiting = 0;
	for (const struct list *l = mc->msgs.rq.next; l != &mc->msgs.rq && waiting < wanted;
	     l = l->next) {
		const struct outmsg *m = list_entry(l, struct outmsg, rq);
		waiting += m->cv == &p->cv && !m->tries && m->len <= MIX_MSG_SURB;
	}
	return waiting < wanted ? MIX_MSG_SURB : MIX_MSG_MAX;
}

size_t mixclient_room(const struct mixclient *mc)
{
	return mixmsgs_room(&mc->msgs);
}

size_t mixclient_pending(const struct mixclient *mc)
{
	return mc->msgs.n;
}

int mixclient_quiet(const struct mixclient *mc)
{
	return !mc->msgs.n && !mixpeers_owed(&mc->peers);
}

int mixclient_done(const struct mixclient *mc)
{
	if (!mixclient_quiet(mc))
		return 0;
	/* Three timeouts cover the peer's retry and the next one.  At least
	 * DONE_MIN_US: the peer's timeout follows the round trips it has
	 * measured, which our own load lengthens (a proxy client busy with
	 * 1,000 sessions made its server's seconds long), so three of ours
	 * can be shorter than one of its. */
	uint64_t fwd_us = (uint64_t)(3 * mc->cfg.delay_mean_ms * 1000);
	uint64_t wait_us = 3 * 1000 * mixmsgs_rto_ms(&mc->msgs, fwd_us, 1);
	if (wait_us < DONE_MIN_US)
		wait_us = DONE_MIN_US;
	return !mixpeers_heard_within(&mc->peers, now_us(), wait_us);
}

void mixclient_address(const struct mixclient *mc, struct mix_addr *a)
{
	memcpy(a->pk, mc->cfg.kp->pk, 32);
	memcpy(a->gw, mc->gw->id, PKT_ID_BYTES);
}

int mixclient_is_attached(const struct mixclient *mc)
{
	return mixedge_up(mc->edge);
}

void mixclient_get_stats(const struct mixclient *mc, struct mixclient_stats *st)
{
	*st = mc->st;
	st->senders = htab_count(mc->peers.ins);
}

size_t mixclient_memory_max(const struct mixclient *mc)
{
	return sizeof(*mc) + mc->msgs.n * sizeof(struct outmsg) + mixpeers_memory_max(&mc->peers);
}

size_t mixclient_memory(const struct mixclient *mc)
{
	return sizeof(*mc) + mc->msgs.n * sizeof(struct outmsg) + mixpeers_memory(&mc->peers);
}

int mixclient_feed_body(struct mixclient *mc, const uint8_t *body, size_t len)
{
	if (len != PKT_BODY_BYTES)
		return -1;
	deliver_forward(mc, body);
	return 0;
}

uint64_t mixclient_sender_epoch(const struct mixclient *mc, const uint8_t tag[MIX_TAG_BYTES])
{
	const struct peer_in *p = peer_in_find(&mc->peers, tag);
	return p ? p->cv.epoch : 0;
}
