/* Unit tests for node: an in-process mixnet of four real nodes (gw1, m1,
 * m2, m3) on one loop, each listening on a loopback port, as
 * test_mixclient builds its net; the nodes link to each other over those
 * sockets.  The test plays the other parties (a previous hop, clients)
 * over detached links (link.h) taken in by node_accept_detached, and
 * carries their bytes by hand, as test_link does:
 *
 *   - route checks: what a node may send where (a mix to the next layer
 *     only, a gateway to its clients only, a client to a layer-1 mix
 *     only, no client at a mix);
 *   - relaying: a packet goes client -> gw1 -> m1 -> m2 -> m3 -> gw1 ->
 *     client, each mix holding it for the delay its sender drew;
 *   - the gateway's mailboxes: mail for an away client is kept, oldest
 *     first under the per-client and total bounds, and delivered in order
 *     when it attaches. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon.h"
#include "admit.h"
#include "attach.h"
#include "buf.h"
#include "ev.h"
#include "gwclient.h"
#include "keys.h"
#include "link.h"
#include "log.h"
#include "node.h"
#include "packet.h"
#include "replay.h"
#include "topology.h"
#include "util.h"

enum { GW, M1, M2, M3, NNODES };
#define MAXSIDES 8
#define MAXREC 16

/* A party the test plays: its end of a detached link into a node. */
struct side {
	struct link *l;        /* the test's end */
	struct link *peer;     /* the node's end; NULL once it is down */
	int up, down;
	int stalled;           /* a party that does not read: nothing carried to it */
	int nframes;
	char seq[1024];        /* a letter a frame: S status, D delivery, P padding */
	int types[MAXREC];
	uint8_t ids[MAXREC][PKT_ID_BYTES];
	uint8_t pkts[MAXREC][PKT_BYTES];
};

static struct {
	struct ev *ev;
	struct keypair kp[NNODES];
	uint8_t id[NNODES][PKT_ID_BYTES];
	int lfd[NNODES];
	struct node *n[NNODES];
	struct side *sides[MAXSIDES];
	int nsides;
} net;

static const char *const names[NNODES] = { "gw1", "m1", "m2", "m3" };

/* ---- the test's parties ---- */

static void side_up(struct link *l, void *ctx)
{
	struct side *s = ctx;
	(void)l;
	s->up++;
}

static void side_frame(struct link *l, enum link_frame_type type,
                       const uint8_t id[PKT_ID_BYTES], uint8_t *pkt, void *ctx)
{
	struct side *s = ctx;
	(void)l;
	if (s->nframes < (int)sizeof(s->seq) - 1)
		s->seq[s->nframes] = type == LF_STATUS ? 'S' : type == LF_DELIVER ? 'D'
		                   : type == LF_PAD ? 'P' : '?';
	if (s->nframes < MAXREC) {
		s->types[s->nframes] = type;
		memcpy(s->ids[s->nframes], id, PKT_ID_BYTES);
		memcpy(s->pkts[s->nframes], pkt, PKT_BYTES);
	}
	s->nframes++;
}

static void side_down(struct link *l, const char *why, void *ctx)
{
	struct side *s = ctx;
	(void)l;
	(void)why;
	s->down++;
}

static const struct link_cbs side_cbs = {
	.on_up = side_up,
	.on_frame = side_frame,
	.on_down = side_down,
};

/* Carry the bytes queued on from into to; a node's end that went down
 * is forgotten before the loop frees it. */
static size_t carry(struct link *from, struct link *to)
{
	static uint8_t buf[64 * 1024];
	size_t total = 0, k;
	while ((k = link_take_output(from, buf, sizeof(buf))) > 0) {
		total += k;
		if (link_state(to) != LS_DOWN)
			link_feed(to, buf, k);
	}
	return total;
}

static void pump(void)
{
	size_t moved;
	do {
		moved = 0;
		for (int i = 0; i < net.nsides; i++) {
			struct side *s = net.sides[i];
			if (!s->peer || s->down)
				continue;
			moved += carry(s->l, s->peer);
			if (link_state(s->peer) == LS_DOWN) {
				s->peer = NULL;
				continue;
			}
			if (!s->stalled)
				moved += carry(s->peer, s->l);
			if (link_state(s->peer) == LS_DOWN)
				s->peer = NULL;
		}
	} while (moved);
}

static void ask_pace(struct side *s, uint32_t us);
static int side_quiet; /* clients say nothing once up (test_paced) */

static void run_until(int (*cond)(void), uint64_t ms);
static struct node *known_gw;

static int gw_links_known(void)
{
	return node_links_known(known_gw);
}

/* A party with key kp opening a link of kind to node `to`; a client
 * says first, as mixclient does, that it wants no pacing, and is opened
 * once the gateway has tried a link to every mix (a client's attach
 * starts that: a few loop passes here), so that its report, the first
 * frame a client gets, is on its way. */
static struct side *side_open(int to, const struct keypair *kp, enum link_kind kind)
{
	struct side *s = calloc(1, sizeof(*s));
	ck_assert_ptr_nonnull(s);
	ck_assert_int_lt(net.nsides, MAXSIDES);
	net.sides[net.nsides++] = s;
	s->l = link_new_detached(net.ev, 1, kp, net.kp[to].pk, kind, 64, &side_cbs, s);
	s->peer = node_accept_detached(net.n[to]);
	ck_assert_ptr_nonnull(s->peer);
	pump();
	if (kind == LINK_CLIENT && s->up && !side_quiet)
		ask_pace(s, 0);
	if (kind == LINK_CLIENT && s->up && !node_links_known(net.n[to])) {
		known_gw = net.n[to];
		run_until(gw_links_known, 5000);
		ck_assert(node_links_known(net.n[to]));
		pump();
	}
	return s;
}

static void run_until(int (*cond)(void), uint64_t ms)
{
	uint64_t end = now_ms() + ms;
	pump();
	while (!cond() && now_ms() < end) {
		ev_run_once(net.ev, 2);
		pump();
	}
}

static void run_for(uint64_t ms)
{
	uint64_t end = now_ms() + ms;
	pump();
	while (now_ms() < end) {
		ev_run_once(net.ev, 2);
		pump();
	}
}

/* ---- the net ---- */

static void net_start(const struct node_cfg *limits)
{
	char text[2048], line[256], k[B58_KEY_CHARS], err[256];
	struct sockaddr_storage ss;
	socklen_t sl;

	ck_assert_int_ge(sodium_init(), 0);
	log_init("test_node", 1, getenv("TEST_VERBOSE") ? 2 : -2);
	memset(&net, 0, sizeof(net));
	net.ev = ev_new();
	text[0] = 0;
	for (int i = 0; i < NNODES; i++) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		memset(&ss, 0, sizeof(ss));
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		net.lfd[i] = daemon_listen(&ss, sizeof(*sin), 16, "127.0.0.1:0", err, sizeof(err));
		ck_assert_msg(net.lfd[i] >= 0, "%s", err);
		sl = sizeof(ss);
		ck_assert_int_eq(getsockname(net.lfd[i], (struct sockaddr *)&ss, &sl), 0);
		keypair_generate(&net.kp[i]);
		pkt_id_from_str(net.id[i], names[i]);
		if (i == GW)
			snprintf(line, sizeof(line), "gw1 gateway 127.0.0.1:%u %s\n",
			         ntohs(sin->sin_port), key_to_str(net.kp[i].pk, k, sizeof(k)));
		else
			snprintf(line, sizeof(line), "%s mix %d 127.0.0.1:%u %s\n", names[i], i,
			         ntohs(sin->sin_port), key_to_str(net.kp[i].pk, k, sizeof(k)));
		strcat(text, line);
	}
	for (int i = 0; i < NNODES; i++) {
		struct node_cfg c = *limits;
		struct topo_parser *tp = topo_parser_new();
		ck_assert_int_eq(topo_parser_feed(tp, text, strlen(text), err, sizeof(err)), 0);
		c.topo = topo_parser_finish(tp, err, sizeof(err));
		ck_assert_ptr_nonnull(c.topo);
		c.kp = &net.kp[i];
		c.rf = replay_new(12, 3, 60);
		c.listen_fd = net.lfd[i];
		c.listen_text = names[i];
		net.n[i] = node_new(net.ev, &c, err, sizeof(err));
		ck_assert_msg(net.n[i] != NULL, "%s", err);
	}
}

static void net_stop(void)
{
	for (int i = 0; i < net.nsides; i++) {
		struct side *s = net.sides[i];
		if (!s->down)
			link_close(s->l, "test over");
	}
	for (int i = 0; i < NNODES; i++) {
		node_free(net.n[i]);
		close(net.lfd[i]);
	}
	ev_run_once(net.ev, 0);
	ev_free(net.ev);
	for (int i = 0; i < net.nsides; i++)
		free(net.sides[i]);
	for (int i = 0; i < NNODES; i++)
		keypair_wipe(&net.kp[i]);
}

static void limits(struct node_cfg *c)
{
	node_cfg_defaults(c);
	c->link_queue = 64;
	c->max_links = 64;
	c->max_clients = 64;
}

/* ---- packets ---- */

static uint32_t now_min(void)
{
	return (uint32_t)(wall_s() / 60);
}

/* A packet valid at node `at` only, which sends it on to `next`. */
static void first_hop(uint8_t pkt[PKT_BYTES], int at, const uint8_t next[PKT_ID_BYTES],
                      uint32_t delay_us)
{
	struct pkt_hop hop;
	uint8_t alpha[32];
	memcpy(hop.id, net.id[at], PKT_ID_BYTES);
	memcpy(hop.pk, net.kp[at].pk, PKT_KEY_BYTES);
	hop.delay_us = delay_us;
	randombytes_buf(alpha, sizeof(alpha));
	ck_assert_int_eq(pkt_create_first_hop(pkt, &hop, next, alpha, now_min()), PKT_OK);
}

/* Side s hands its node a packet valid at node `at` that goes on to next. */
static void hand(struct side *s, int at, const uint8_t next[PKT_ID_BYTES])
{
	uint8_t pkt[PKT_BYTES];
	first_hop(pkt, at, next, 0);
	ck_assert_int_eq(link_send(s->l, LF_PACKET, NULL, pkt), 0);
	pump();
}

/* A whole route m1 -> m2 -> m3 -> gw1 to the client with key dest; the
 * body's first byte is seq. */
static void full_route(uint8_t pkt[PKT_BYTES], const uint8_t dest[32], uint8_t seq,
                       const uint32_t delay_us[PKT_HOPS])
{
	struct pkt_hop route[PKT_HOPS];
	uint8_t body[PKT_BODY_BYTES];
	const int hops[PKT_HOPS] = { M1, M2, M3, GW };
	for (int i = 0; i < PKT_HOPS; i++) {
		memcpy(route[i].id, net.id[hops[i]], PKT_ID_BYTES);
		memcpy(route[i].pk, net.kp[hops[i]].pk, PKT_KEY_BYTES);
		route[i].delay_us = delay_us[i];
	}
	memset(body, 0, sizeof(body));
	body[0] = seq;
	ck_assert_int_eq(pkt_create(pkt, route, dest, body, sizeof(body), now_min()), PKT_OK);
}

/* What m3 would hand gw1: the route's first three hops done here. */
static void at_gateway(uint8_t pkt[PKT_BYTES], const uint8_t dest[32], uint8_t seq)
{
	const uint32_t none[PKT_HOPS] = { 0 };
	struct pkt_hop_result r;
	full_route(pkt, dest, seq, none);
	for (int i = M1; i <= M3; i++) {
		ck_assert_int_eq(pkt_process(pkt, PKT_BYTES, net.kp[i].sk, NULL, now_min(), &r), PKT_OK);
		ck_assert_int_eq(r.action, PKT_RELAY);
	}
}

/* The body's first byte of a delivery to kp. */
static int opened(const struct keypair *kp, const uint8_t *dlv)
{
	uint8_t body[PKT_BODY_BYTES];
	if (pkt_open(dlv, PKT_BYTES, kp->sk, body) != PKT_OK)
		return -1;
	return body[0];
}

static const struct node_counters *counters(int i)
{
	return node_counters(net.n[i]);
}

/* ---- route checks ---- */

START_TEST(test_route_checks)
{
	struct node_cfg c;
	uint8_t pkt[PKT_BYTES];
	struct keypair ckp;
	limits(&c);
	net_start(&c);
	keypair_generate(&ckp);

	/* gw1 hands m1 a packet for m3: a layer skipped, dropped. */
	struct side *to_m1 = side_open(M1, &net.kp[GW], LINK_NODE);
	ck_assert_int_eq(to_m1->up, 1);
	hand(to_m1, M1, net.id[M3]);
	ck_assert_uint_eq(counters(M1)->pkt_in, 1);
	ck_assert_uint_eq(counters(M1)->drop_route, 1);
	ck_assert_uint_eq(counters(M1)->pkt_out, 0);
	ck_assert_uint_eq(node_held(net.n[M1]), 0);
	/* ... and one for a node the topology does not have. */
	uint8_t stranger[PKT_ID_BYTES];
	pkt_id_from_str(stranger, "m9");
	hand(to_m1, M1, stranger);
	ck_assert_uint_eq(counters(M1)->drop_route, 2);

	/* m3 may only hand packets to a gateway: not back to m1. */
	struct side *to_m3 = side_open(M3, &net.kp[M2], LINK_NODE);
	hand(to_m3, M3, net.id[M1]);
	ck_assert_uint_eq(counters(M3)->drop_route, 1);
	ck_assert_uint_eq(counters(M3)->pkt_out, 0);

	/* A gateway only delivers: a packet it should relay is dropped. */
	struct side *to_gw = side_open(GW, &net.kp[M3], LINK_NODE);
	hand(to_gw, GW, net.id[M1]);
	ck_assert_uint_eq(counters(GW)->drop_route, 1);

	/* A packet not for this node's key fails its check. */
	hand(to_m1, M2, net.id[M3]);
	ck_assert_uint_eq(counters(M1)->drop_mac, 1);

	/* A client's packet must go to a layer-1 mix. */
	struct side *cl = side_open(GW, &ckp, LINK_CLIENT);
	ck_assert_int_eq(cl->up, 1);
	first_hop(pkt, M2, net.id[M3], 0);
	link_send(cl->l, LF_SEND, net.id[M2], pkt);
	pump();
	ck_assert_uint_eq(counters(GW)->client_in, 1);
	ck_assert_uint_eq(counters(GW)->drop_route, 2);
	ck_assert_uint_eq(counters(GW)->pkt_out, 0);

	/* Clients attach to gateways, not to mixes. */
	struct side *cl_m1 = side_open(M1, &ckp, LINK_CLIENT);
	ck_assert_int_eq(cl_m1->up, 0);
	ck_assert_uint_eq(counters(M1)->links_refused, 1);
	/* Nor may a key the topology does not list link as a node. */
	struct side *odd = side_open(M2, &ckp, LINK_NODE);
	ck_assert_int_eq(odd->up, 0);
	ck_assert_uint_eq(counters(M2)->links_refused, 1);

	/* A good one goes on: m1 to m2, over a real link. */
	hand(to_m1, M1, net.id[M2]);
	ck_assert_uint_eq(counters(M1)->pkt_out, 1);
	keypair_wipe(&ckp);
	net_stop();
}
END_TEST

/* ---- relaying ---- */

static struct side *rx_side;

static int m1_holds(void)
{
	return node_held(net.n[M1]) == 1;
}

static int m1_sent(void)
{
	return counters(M1)->pkt_out == 1;
}

static int delivered(void)
{
	return rx_side->nframes > 0 && rx_side->types[rx_side->nframes - 1] == LF_DELIVER;
}

START_TEST(test_relay)
{
	struct node_cfg c;
	uint8_t pkt[PKT_BYTES];
	struct keypair a, b;
	const uint32_t delay_us[PKT_HOPS] = { 200000, 1000, 1000, 0 };
	limits(&c);
	net_start(&c);
	keypair_generate(&a);
	keypair_generate(&b);

	struct side *sa = side_open(GW, &a, LINK_CLIENT);
	rx_side = side_open(GW, &b, LINK_CLIENT);
	ck_assert_int_eq(sa->up, 1);
	ck_assert_int_eq(rx_side->up, 1);
	int before = rx_side->nframes; /* the gateway's report of its links */

	full_route(pkt, b.pk, 42, delay_us);
	uint64_t t0 = now_us();
	ck_assert_int_eq(link_send(sa->l, LF_SEND, net.id[M1], pkt), 0);
	pump();
	ck_assert_uint_eq(counters(GW)->client_in, 1);
	ck_assert_uint_eq(counters(GW)->pkt_out, 1);

	/* m1 holds it for the delay the sender drew, then sends it on. */
	run_until(m1_holds, 2000);
	ck_assert_uint_eq(node_held(net.n[M1]), 1);
	ck_assert_uint_eq(counters(M1)->pkt_out, 0);
	run_until(m1_sent, 3000);
	ck_assert_uint_eq(counters(M1)->pkt_out, 1);
	ck_assert_uint_ge(now_us() - t0, delay_us[0]);
	ck_assert_uint_eq(node_held(net.n[M1]), 0);

	run_until(delivered, 3000);
	ck_assert_int_eq(rx_side->nframes, before + 1);
	ck_assert_int_eq(opened(&b, rx_side->pkts[before]), 42);
	ck_assert_uint_eq(counters(M2)->pkt_out, 1);
	ck_assert_uint_eq(counters(M3)->pkt_out, 1);
	ck_assert_uint_eq(counters(GW)->pkt_in, 1);
	ck_assert_uint_eq(counters(GW)->delivered, 1);
	ck_assert_uint_eq(counters(GW)->mailboxed, 0);

	/* The same packet again: each hop has seen it. */
	link_send(sa->l, LF_SEND, net.id[M1], pkt);
	run_for(300);
	ck_assert_uint_eq(counters(M1)->drop_replay, 1);
	ck_assert_int_eq(rx_side->nframes, before + 1);

	/* A delay over max-delay is refused, not held. */
	const uint32_t long_delay[PKT_HOPS] = { 20000000, 0, 0, 0 };
	full_route(pkt, b.pk, 43, long_delay);
	link_send(sa->l, LF_SEND, net.id[M1], pkt);
	run_for(100);
	ck_assert_uint_eq(counters(M1)->drop_delay, 1);
	ck_assert_uint_eq(node_held(net.n[M1]), 0);

	keypair_wipe(&a);
	keypair_wipe(&b);
	net_stop();
}
END_TEST

/* ---- mailboxes ---- */

static struct side *mail_side;

static int mail_flushed(void)
{
	int deliveries = 0;
	for (int i = 0; i < mail_side->nframes && i < MAXREC; i++)
		deliveries += mail_side->types[i] == LF_DELIVER;
	return deliveries >= 3;
}

START_TEST(test_mailbox)
{
	struct node_cfg c;
	uint8_t pkt[PKT_BYTES];
	struct keypair away, other;
	limits(&c);
	c.mailbox_max = 3;
	c.mailbox_total = 4;
	c.stranger_mail = 4;
	net_start(&c);
	keypair_generate(&away);
	keypair_generate(&other);
	const struct node_counters *gw = counters(GW);

	/* Five for a key that has not attached yet (a stranger): the
	 * newest three are kept. */
	struct side *from_m3 = side_open(GW, &net.kp[M3], LINK_NODE);
	ck_assert_int_eq(from_m3->up, 1);
	for (int i = 1; i <= 5; i++) {
		at_gateway(pkt, away.pk, (uint8_t)i);
		ck_assert_int_eq(link_send(from_m3->l, LF_PACKET, NULL, pkt), 0);
	}
	pump();
	ck_assert_uint_eq(gw->pkt_in, 5);
	ck_assert_uint_eq(gw->mailboxed, 5);
	ck_assert_uint_eq(gw->drop_mailbox_full, 2);
	ck_assert_uint_eq(node_mail_waiting(net.n[GW], away.pk), 3);

	/* Another stranger: the strangers' bound leaves it one, and its own
	 * mail, not the first one's, makes room. */
	for (int i = 1; i <= 2; i++) {
		at_gateway(pkt, other.pk, (uint8_t)(100 + i));
		link_send(from_m3->l, LF_PACKET, NULL, pkt);
	}
	pump();
	ck_assert_uint_eq(node_mail_waiting(net.n[GW], other.pk), 1);
	ck_assert_uint_eq(node_mail_waiting(net.n[GW], away.pk), 3);
	ck_assert_uint_eq(gw->drop_mailbox_full, 3);

	/* The first attaches: its mail comes, oldest first, after the
	 * report of the gateway's links. */
	mail_side = side_open(GW, &away, LINK_CLIENT);
	ck_assert_int_eq(mail_side->up, 1);
	run_until(mail_flushed, 2000);
	ck_assert_int_eq(mail_side->nframes, 4);
	ck_assert_int_eq(mail_side->types[0], LF_STATUS);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(mail_side->types[1 + i], LF_DELIVER);
		ck_assert_int_eq(opened(&away, mail_side->pkts[1 + i]), 3 + i);
	}
	ck_assert_uint_eq(node_mail_waiting(net.n[GW], away.pk), 0);
	ck_assert_uint_eq(gw->mailbox_flushed, 3);
	ck_assert_uint_eq(gw->delivered, 3);

	/* Attached, mail goes straight through. */
	at_gateway(pkt, away.pk, 6);
	link_send(from_m3->l, LF_PACKET, NULL, pkt);
	pump();
	ck_assert_int_eq(mail_side->nframes, 5);
	ck_assert_int_eq(opened(&away, mail_side->pkts[4]), 6);
	ck_assert_uint_eq(gw->mailboxed, 7);
	ck_assert_uint_eq(gw->delivered, 4);

	/* Away again (its connection drops): mail waits again. */
	link_close(mail_side->peer, "connection lost");
	mail_side->peer = NULL;
	link_close(mail_side->l, "client leaves");
	run_for(20);
	at_gateway(pkt, away.pk, 7);
	link_send(from_m3->l, LF_PACKET, NULL, pkt);
	pump();
	ck_assert_uint_eq(node_mail_waiting(net.n[GW], away.pk), 1);

	keypair_wipe(&away);
	keypair_wipe(&other);
	net_stop();
}
END_TEST

/* ---- paced delivery (LF_PACE) ---- */

static struct side *paced_side;
static int paced_want;

static int paced_frames(void)
{
	return paced_side->nframes >= paced_want;
}

static void ask_pace(struct side *s, uint32_t us)
{
	uint8_t pkt[PKT_BYTES] = { 0 };
	be32_put(pkt, us);
	ck_assert_int_eq(link_send(s->l, LF_PACE, NULL, pkt), 0);
	pump();
}

/* n packets from s for a layer-1 mix (dropped there: not valid), which
 * earn a paced link its slots. */
static void sends(struct side *s, int n)
{
	uint8_t pkt[PKT_BYTES];
	randombytes_buf(pkt, sizeof(pkt));
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(link_send(s->l, LF_SEND, net.id[M1], pkt), 0);
	pump();
}

/* A new client gets nothing until its first frame says whether to pace
 * (or a second passes); paced, it gets a frame per slot, never faster
 * than it asked: its report, its mail in order, one a slot, and padding
 * when there is none; no more slots than its own sending earned (100 to
 * start, 6 a packet); none past the gateway's pace-total.  Unpaced, mail
 * goes at once again; a link that goes stops its pace. */
START_TEST(test_paced)
{
	struct node_cfg c;
	uint8_t pkt[PKT_BYTES];
	struct keypair kp;
	limits(&c);
	net_start(&c);
	keypair_generate(&kp);
	const struct node_counters *gw = counters(GW);
	struct side *from_m3 = side_open(GW, &net.kp[M3], LINK_NODE);
	side_quiet = 1;

	/* Mail waits for the client; it attaches, and says nothing yet. */
	for (int i = 1; i <= 3; i++) {
		at_gateway(pkt, kp.pk, (uint8_t)i);
		ck_assert_int_eq(link_send(from_m3->l, LF_PACKET, NULL, pkt), 0);
	}
	pump();
	paced_side = side_open(GW, &kp, LINK_CLIENT);
	ck_assert_int_eq(paced_side->up, 1);
	run_for(50);
	ck_assert_int_eq(paced_side->nframes, 0);

	/* 2 ms asked: 90 frames take 180 ms on average, and never less
	 * than 90 ms but with odds of about 1e-7 (Erlang).  The report
	 * first, then the mail, then padding. */
	uint64_t t0 = now_us();
	ask_pace(paced_side, 2000);
	ck_assert_uint_eq(node_paced_links(net.n[GW]), 1);
	paced_want = 90;
	run_until(paced_frames, 5000);
	ck_assert_int_ge(paced_side->nframes, 90);
	ck_assert_uint_ge(now_us() - t0, 90000);
	ck_assert_msg(!strncmp(paced_side->seq, "SDDDP", 5), "frames: %.20s", paced_side->seq);
	ck_assert_uint_eq(gw->padded, (uint64_t)paced_side->nframes - 4);

	/* Mail comes: it waits for the slots, all of it before any padding,
	 * oldest first. */
	sends(paced_side, 20);
	int from = paced_side->nframes;
	for (int i = 4; i <= 8; i++) {
		at_gateway(pkt, kp.pk, (uint8_t)i);
		ck_assert_int_eq(link_send(from_m3->l, LF_PACKET, NULL, pkt), 0);
	}
	pump();
	ck_assert_uint_eq(node_mail_waiting(net.n[GW], kp.pk), 5);
	ck_assert_int_eq(paced_side->nframes, from);
	paced_want = from + 10;
	run_until(paced_frames, 5000);
	ck_assert_msg(!strncmp(paced_side->seq + from, "DDDDDPPPPP", 10), "frames: %.20s",
	              paced_side->seq + from);
	ck_assert_uint_eq(gw->delivered, 8);
	ck_assert_uint_eq(node_mail_waiting(net.n[GW], kp.pk), 0);

	/* Slots run out with what its sending earned (100 + 6 x 20), and
	 * are skipped since; 5 packets more earn 30. */
	run_for(600);
	ck_assert_int_eq(paced_side->nframes, 220);
	uint64_t skipped = gw->pace_skipped;
	ck_assert_uint_gt(skipped, 0);
	/* Asking again mints none. */
	ask_pace(paced_side, 0);
	ask_pace(paced_side, 2000);
	run_for(100);
	ck_assert_int_eq(paced_side->nframes, 220);
	sends(paced_side, 5);
	run_for(300);
	ck_assert_int_eq(paced_side->nframes, 250);
	ck_assert_uint_gt(gw->pace_skipped, skipped);

	/* The same client on a new link (the old one replaced): its mail
	 * waits for the new link's first frame, and then for its slots. */
	for (int i = 9; i <= 10; i++) {
		at_gateway(pkt, kp.pk, (uint8_t)i);
		link_send(from_m3->l, LF_PACKET, NULL, pkt);
	}
	struct side *again = side_open(GW, &kp, LINK_CLIENT);
	run_for(30);
	ck_assert_int_eq(again->nframes, 0);
	ck_assert_uint_eq(node_paced_links(net.n[GW]), 0);
	ck_assert_uint_eq(node_mail_waiting(net.n[GW], kp.pk), 2);
	paced_side = again;
	ask_pace(again, 2000);
	ck_assert_int_eq(again->nframes, 0);
	paced_want = 3;
	run_until(paced_frames, 5000);
	ck_assert_msg(!strncmp(again->seq, "SDD", 3), "frames: %.20s", again->seq);

	/* Pace 0: mail goes at once again. */
	ask_pace(again, 0);
	ck_assert_uint_eq(node_paced_links(net.n[GW]), 0);
	run_for(50);
	from = again->nframes;
	at_gateway(pkt, kp.pk, 11);
	link_send(from_m3->l, LF_PACKET, NULL, pkt);
	pump();
	ck_assert_int_eq(again->nframes, from + 1);
	ck_assert_int_eq(again->seq[from], 'D');
	run_for(50);
	ck_assert_int_eq(again->nframes, from + 1);

	/* Paced again, then the link goes: no more slots. */
	uint64_t padded = gw->padded;
	ask_pace(again, 1000);
	run_for(50);
	ck_assert_uint_gt(gw->padded, padded);
	link_close(again->peer, "connection lost");
	again->peer = NULL;
	link_close(again->l, "client leaves");
	run_for(30);
	ck_assert_uint_eq(node_paced_links(net.n[GW]), 0);
	padded = gw->padded;
	run_for(100);
	ck_assert_uint_eq(gw->padded, padded);

	/* The gateway's budget: with pace-total 50 a second, a client that
	 * asks for 1 ms gets 50 frames in no less than 0.5 s (the budget
	 * fills from 0 at 50 a second). */
	net_stop();
	limits(&c);
	c.pace_total = 50;
	net_start(&c);
	gw = counters(GW);
	paced_side = side_open(GW, &kp, LINK_CLIENT);
	t0 = now_us();
	ask_pace(paced_side, 1000);
	paced_want = 50;
	run_until(paced_frames, 10000);
	ck_assert_int_ge(paced_side->nframes, 50);
	ck_assert_uint_ge(now_us() - t0, 500000);
	ck_assert_uint_gt(gw->pace_skipped, 0);

	/* A client that never says (an older one): its report and mail go
	 * after a second. */
	struct keypair old;
	keypair_generate(&old);
	struct side *m3 = side_open(GW, &net.kp[M3], LINK_NODE);
	at_gateway(pkt, old.pk, 1);
	link_send(m3->l, LF_PACKET, NULL, pkt);
	pump();
	paced_side = side_open(GW, &old, LINK_CLIENT);
	run_for(300);
	ck_assert_int_eq(paced_side->nframes, 0);
	paced_want = 2;
	run_until(paced_frames, 3000);
	ck_assert_msg(!strcmp(paced_side->seq, "SD"), "frames: %.20s", paced_side->seq);
	keypair_wipe(&old);
	side_quiet = 0;
	keypair_wipe(&kp);
	net_stop();
}
END_TEST

/* A side's connection drops; the node's end goes down in the loop. */
static void side_drop(struct side *s)
{
	link_close(s->peer, "connection lost");
	s->peer = NULL;
	link_close(s->l, "client leaves");
	run_for(20);
}

/* The attack of made-up keys (mixproxy-protocol(7), DENIAL OF SERVICE):
 * DELIVER blocks may name any key, and mail for keys that never
 * attached fills only the strangers' share, the least recent first.  A
 * client that attached keeps its place and its mail, and one that
 * attaches is taken while any known client is away. */
START_TEST(test_strangers)
{
	struct node_cfg c;
	uint8_t pkt[PKT_BYTES];
	struct keypair honest, fake, late[3];
	limits(&c);
	c.max_clients = 2;
	c.max_strangers = 8;
	c.stranger_mail = 8;
	c.mailbox_total = 4;
	net_start(&c);
	keypair_generate(&honest);
	const struct node_counters *gw = counters(GW);
	const struct gwclients *cl = node_clients(net.n[GW]);

	struct side *h = side_open(GW, &honest, LINK_CLIENT);
	ck_assert_int_eq(h->up, 1);
	side_drop(h);
	ck_assert_uint_eq(gwc_count(cl, GWC_AWAY), 1);

	/* 40 made-up keys, two deliveries each, then three for the client. */
	struct side *from_m3 = side_open(GW, &net.kp[M3], LINK_NODE);
	ck_assert_int_eq(from_m3->up, 1);
	for (int i = 0; i < 40; i++) {
		keypair_generate(&fake);
		for (int j = 0; j < 2; j++) {
			at_gateway(pkt, fake.pk, (uint8_t)j);
			ck_assert_int_eq(link_send(from_m3->l, LF_PACKET, NULL, pkt), 0);
		}
		pump();
	}
	for (int i = 1; i <= 3; i++) {
		at_gateway(pkt, honest.pk, (uint8_t)i);
		ck_assert_int_eq(link_send(from_m3->l, LF_PACKET, NULL, pkt), 0);
	}
	pump();
	ck_assert_uint_eq(gw->pkt_in, 83);
	ck_assert_uint_eq(node_mail_waiting(net.n[GW], honest.pk), 3);
	ck_assert_uint_eq(gwc_count(cl, GWC_STRANGER), 4);
	ck_assert_uint_eq(gwc_mail_total(cl, 1), 8);
	ck_assert_uint_eq(gwc_stats(cl)->strangers_evicted, 36);
	ck_assert_uint_eq(gwc_mail_total(cl, 0), 3);

	/* New clients attach while it is away: the first is taken beside
	 * it; the second takes its place (the clients' bound is 2); a third
	 * finds both attached and is refused. */
	struct side *ls[3];
	for (int i = 0; i < 3; i++) {
		keypair_generate(&late[i]);
		ls[i] = side_open(GW, &late[i], LINK_CLIENT);
		run_for(20);
	}
	ck_assert_int_eq(ls[0]->up, 1);
	ck_assert_int_eq(ls[1]->up, 1);
	ck_assert_ptr_null(ls[2]->peer);
	ck_assert_uint_eq(gw->drop_no_client_slot, 1);
	ck_assert_uint_eq(gwc_stats(cl)->clients_forgotten, 1);
	ck_assert_uint_eq(node_mail_waiting(net.n[GW], honest.pk), 0);
	ck_assert_uint_eq(gwc_mail_total(cl, 0), 0);

	/* One goes: the honest client attaches again, in its place. */
	side_drop(ls[0]);
	h = side_open(GW, &honest, LINK_CLIENT);
	ck_assert_int_eq(h->up, 1);
	ck_assert_uint_eq(gwc_count(cl, GWC_ATTACHED), 2);
	ck_assert_uint_eq(gwc_stats(cl)->clients_forgotten, 2);

	keypair_wipe(&honest);
	keypair_wipe(&fake);
	for (int i = 0; i < 3; i++)
		keypair_wipe(&late[i]);
	net_stop();
}
END_TEST

/* The incoming links' classes (admit.h): with max-links 12 and the
 * topology's four nodes (a reserve of 8), 3 handshake slots (1 an
 * address) and 1 client link are left.  A second client is refused once
 * authenticated; a node still comes up; a second connection that has not
 * said hello from the same address is refused at once.  (Pushing out the
 * oldest handshake takes several addresses: test_admit.) */
START_TEST(test_link_classes)
{
	struct node_cfg c;
	struct keypair ka, kb;
	limits(&c);
	c.max_links = 12;
	net_start(&c);
	keypair_generate(&ka);
	keypair_generate(&kb);
	const struct admit *ad = node_admit(net.n[GW]);
	ck_assert_uint_eq(admit_limits(ad)->max_handshakes, 3);
	ck_assert_uint_eq(admit_max_clients(ad), 1);

	struct side *a = side_open(GW, &ka, LINK_CLIENT);
	ck_assert_int_eq(a->up, 1);
	struct side *b = side_open(GW, &kb, LINK_CLIENT);
	run_for(20);
	ck_assert_ptr_null(b->peer);
	ck_assert_uint_eq(admit_stats(ad)->refused_clients, 1);
	struct side *m3 = side_open(GW, &net.kp[M3], LINK_NODE);
	ck_assert_int_eq(m3->up, 1);
	ck_assert_uint_eq(admit_count(ad, AD_CLIENT), 1);
	ck_assert_uint_ge(admit_count(ad, AD_NODE), 1);

	struct link *h = node_accept_detached(net.n[GW]);
	ck_assert_ptr_nonnull(h);
	ck_assert_int_eq(link_state(h), LS_HELLO);
	ck_assert_ptr_null(node_accept_detached(net.n[GW]));
	ck_assert_uint_eq(admit_stats(ad)->refused_addr, 1);
	ck_assert_uint_eq(counters(GW)->links_over_max, 1);
	ck_assert_uint_eq(admit_count(ad, AD_HANDSHAKE), 1);
	run_for(20);
	/* The client still works through it all. */
	ck_assert_int_eq(a->down, 0);

	keypair_wipe(&ka);
	keypair_wipe(&kb);
	net_stop();
}
END_TEST

/* What a gateway queues for clients that do not read is bounded in all:
 * client-queue-total (32 here), in equal shares among the clients
 * attached.  The rest waits in the mailbox and comes, in order, once the
 * client reads. */
START_TEST(test_client_share)
{
	struct node_cfg c;
	uint8_t pkt[PKT_BYTES];
	struct keypair ka, kb;
	limits(&c);
	c.client_queue_total = 32;
	net_start(&c);
	keypair_generate(&ka);
	keypair_generate(&kb);
	struct side *a = side_open(GW, &ka, LINK_CLIENT);
	ck_assert_int_eq(a->up, 1);
	ck_assert_int_eq(a->nframes, 1); /* the report of the gateway's links */
	a->stalled = 1;
	struct side *from_m3 = side_open(GW, &net.kp[M3], LINK_NODE);
	ck_assert_int_eq(from_m3->up, 1);

	/* Alone, a may queue all 32; eight more wait in its mailbox. */
	for (int i = 0; i < 40; i++) {
		at_gateway(pkt, ka.pk, (uint8_t)i);
		ck_assert_int_eq(link_send(from_m3->l, LF_PACKET, NULL, pkt), 0);
		pump();
	}
	ck_assert_uint_eq(link_queue_len(a->peer), 32);
	ck_assert_uint_eq(node_mail_waiting(net.n[GW], ka.pk), 8);

	/* b attaches: the shares are 16 now, and b gets its mail at once. */
	struct side *b = side_open(GW, &kb, LINK_CLIENT);
	ck_assert_int_eq(b->up, 1);
	for (int i = 0; i < 4; i++) {
		at_gateway(pkt, kb.pk, (uint8_t)i);
		link_send(from_m3->l, LF_PACKET, NULL, pkt);
		pump();
	}
	ck_assert_int_eq(b->nframes, 5);

	/* a reads: the 32 come; its next delivery takes the mailbox along
	 * (9 is within its share), in order. */
	a->stalled = 0;
	pump();
	ck_assert_int_eq(a->nframes, 33);
	at_gateway(pkt, ka.pk, 40);
	link_send(from_m3->l, LF_PACKET, NULL, pkt);
	pump();
	ck_assert_int_eq(a->nframes, 42);
	ck_assert_uint_eq(node_mail_waiting(net.n[GW], ka.pk), 0);
	for (int i = 1; i < MAXREC; i++) {
		ck_assert_int_eq(a->types[i], LF_DELIVER);
		ck_assert_int_eq(opened(&ka, a->pkts[i]), i - 1);
	}
	keypair_wipe(&ka);
	keypair_wipe(&kb);
	net_stop();
}
END_TEST

/* ---- keys attached on a client link (LF_ATTACH) ---- */

/* s asks the gateway to attach kp on its link, with a proof made for
 * the link `binding` names (s's own, or another's: a replay). */
static void attach_key(struct side *s, const struct keypair *kp, const uint8_t *binding)
{
	uint8_t pkt[PKT_BYTES] = { 0 };
	ck_assert_int_eq(attach_prove(pkt, kp->sk, kp->pk, net.kp[GW].pk, binding), 0);
	ck_assert_int_eq(link_send(s->l, LF_ATTACH, kp->pk, pkt), 0);
	pump();
}

/* Mail for dest, from m3; the side's frames then. */
static int mail(struct side *from_m3, struct side *s, const struct keypair *dest, uint8_t seq)
{
	uint8_t pkt[PKT_BYTES];
	at_gateway(pkt, dest->pk, seq);
	ck_assert_int_eq(link_send(from_m3->l, LF_PACKET, NULL, pkt), 0);
	pump();
	return s->nframes;
}

START_TEST(test_attach)
{
	struct node_cfg c;
	struct keypair own, b, forged, other_own, d;
	uint8_t pkt[PKT_BYTES] = { 0 };
	limits(&c);
	net_start(&c);
	keypair_generate(&own);
	keypair_generate(&b);
	keypair_generate(&forged);
	keypair_generate(&other_own);
	keypair_generate(&d);
	const struct node_counters *gw = counters(GW);
	struct side *from_m3 = side_open(GW, &net.kp[M3], LINK_NODE);
	struct side *a = side_open(GW, &own, LINK_CLIENT);
	struct side *e = side_open(GW, &other_own, LINK_CLIENT);
	ck_assert_int_eq(a->up, 1);
	pump();
	int n0 = a->nframes; /* the report of the gateway's links */

	/* b proves its key on a's link: its mail comes there, named. */
	attach_key(a, &b, link_binding(a->l));
	ck_assert_uint_eq(gw->keys_attached, 1);
	ck_assert_int_eq(mail(from_m3, a, &b, 1), n0 + 1);
	ck_assert_int_eq(a->types[n0], LF_DELIVER);
	ck_assert_mem_eq(a->ids[n0], b.pk, 32);
	ck_assert_int_eq(opened(&b, a->pkts[n0]), 1);
	/* The link's own key's mail is named too. */
	ck_assert_int_eq(mail(from_m3, a, &own, 2), n0 + 2);
	ck_assert_mem_eq(a->ids[n0 + 1], own.pk, 32);
	ck_assert_int_eq(opened(&own, a->pkts[n0 + 1]), 2);

	/* A proof that does not hold: made with another secret key for
	 * d's public key.  Refused, counted; d's mail is a stranger's. */
	memset(pkt, 0, sizeof(pkt));
	ck_assert_int_eq(attach_prove(pkt, forged.sk, d.pk, net.kp[GW].pk, link_binding(a->l)), 0);
	ck_assert_int_eq(link_send(a->l, LF_ATTACH, d.pk, pkt), 0);
	pump();
	ck_assert_uint_eq(gw->attach_refused, 1);
	ck_assert_int_eq(mail(from_m3, a, &d, 3), n0 + 2);
	ck_assert_uint_eq(node_mail_waiting(net.n[GW], d.pk), 1);

	/* d's true proof for a's link, played on e's link: it holds for a's
	 * link only.  Then on a's link: d's waiting mail comes. */
	attach_key(e, &d, link_binding(a->l));
	ck_assert_uint_eq(gw->attach_refused, 2);
	ck_assert_uint_eq(node_mail_waiting(net.n[GW], d.pk), 1);
	attach_key(a, &d, link_binding(a->l));
	ck_assert_uint_eq(gw->keys_attached, 2);
	ck_assert_uint_eq(node_mail_waiting(net.n[GW], d.pk), 0);
	ck_assert_int_eq(a->nframes, n0 + 3);
	ck_assert_mem_eq(a->ids[n0 + 2], d.pk, 32);

	/* b moves to e's link (a proof for it): its mail goes there now,
	 * and a's link stays up with its other keys. */
	int e0 = e->nframes;
	attach_key(e, &b, link_binding(e->l));
	ck_assert_uint_eq(gw->keys_attached, 3);
	ck_assert_int_eq(mail(from_m3, e, &b, 4), e0 + 1);
	ck_assert_mem_eq(e->ids[e0], b.pk, 32);
	ck_assert_int_eq(a->down, 0);

	/* d detaches: its mail waits in its mailbox. */
	memset(pkt, 0, sizeof(pkt));
	ck_assert_int_eq(link_send(a->l, LF_DETACH, d.pk, pkt), 0);
	pump();
	ck_assert_uint_eq(gw->keys_detached, 1);
	ck_assert_int_eq(mail(from_m3, a, &d, 5), n0 + 3);
	ck_assert_uint_eq(node_mail_waiting(net.n[GW], d.pk), 1);
	/* Nobody detaches a key of another link, nor the link's own. */
	ck_assert_int_eq(link_send(a->l, LF_DETACH, b.pk, pkt), 0);
	ck_assert_int_eq(link_send(a->l, LF_DETACH, own.pk, pkt), 0);
	pump();
	ck_assert_uint_eq(gw->keys_detached, 1);
	ck_assert_int_eq(mail(from_m3, e, &b, 6), e0 + 2);

	/* e's link goes: b, attached on it, is away. */
	link_close(e->peer, "connection lost");
	e->peer = NULL;
	link_close(e->l, "client leaves");
	run_for(20);
	ck_assert_int_eq(mail(from_m3, a, &b, 7), n0 + 3);
	ck_assert_uint_eq(node_mail_waiting(net.n[GW], b.pk), 1);

	keypair_wipe(&own);
	keypair_wipe(&b);
	keypair_wipe(&forged);
	keypair_wipe(&other_own);
	keypair_wipe(&d);
	net_stop();
}
END_TEST

/* A stranger with a link attaches keys as fast as it can: the first
 * 1,100 go at once, then 200 a second; the rest are refused, and cost
 * the gateway no more than the attaches it took.  The proofs are made
 * first, so that the attaches come as fast as the gateway takes them
 * (well over 200 a second, under valgrind too), and the bound is checked
 * against the time they took, whatever the machine's speed. */
#define RATE_KEYS 3000
static uint8_t rate_pk[RATE_KEYS][32], rate_proof[RATE_KEYS][ATTACH_PROOF_BYTES];

START_TEST(test_attach_rate)
{
	struct node_cfg c;
	struct keypair own, k;
	uint8_t pkt[PKT_BYTES] = { 0 };
	limits(&c);
	c.max_clients = 4000;
	net_start(&c);
	keypair_generate(&own);
	const struct node_counters *gw = counters(GW);
	struct side *a = side_open(GW, &own, LINK_CLIENT);
	ck_assert_int_eq(a->up, 1);
	const int total = RATE_KEYS;
	for (int i = 0; i < total; i++) {
		keypair_generate(&k);
		memcpy(rate_pk[i], k.pk, 32);
		ck_assert_int_eq(attach_prove(rate_proof[i], k.sk, k.pk, net.kp[GW].pk,
		                              link_binding(a->l)), 0);
	}
	uint64_t t0 = now_us();
	for (int i = 0; i < total; i++) {
		memcpy(pkt, rate_proof[i], ATTACH_PROOF_BYTES);
		ck_assert_int_eq(link_send(a->l, LF_ATTACH, rate_pk[i], pkt), 0);
		if (i % 32 == 31)
			pump();
	}
	pump();
	double secs = (double)(now_us() - t0) / 1e6;
	/* What the bucket allowed over the time it took, and no more. */
	ck_assert_uint_ge(gw->keys_attached, 1100);
	ck_assert_uint_le(gw->keys_attached, 1100 + (uint64_t)(200 * secs) + 1);
	ck_assert_uint_eq(gw->keys_attached + gw->attach_refused, (uint64_t)total);
	ck_assert_uint_gt(gw->attach_refused, 0);
	ck_assert_int_eq(a->down, 0);
	keypair_wipe(&own);
	keypair_wipe(&k);
	net_stop();
}
END_TEST

Suite *suite_node(void)
{
	Suite *s = suite_create("node");
	TCase *tc = tcase_create("node");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_route_checks);
	tcase_add_test(tc, test_relay);
	tcase_add_test(tc, test_mailbox);
	tcase_add_test(tc, test_paced);
	tcase_add_test(tc, test_strangers);
	tcase_add_test(tc, test_link_classes);
	tcase_add_test(tc, test_client_share);
	tcase_add_test(tc, test_attach);
	tcase_add_test(tc, test_attach_rate);
	suite_add_tcase(s, tc);
	return s;
}
