/* Unit tests of the mixnet client: addresses, the packet-body parser (fed
 * directly), and, over an in-process mixnet (one fake gateway on loopback
 * that runs every hop itself with the nodes' keys, and can drop, hold and
 * replay what it delivers), peers that restart, replies that wait for
 * blocks, give-ups, eviction of senders, the round robin of acks and
 * timeouts before any round trip is measured.  The test over a real localnet is
 * tests/integration/mixclient.sh. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attach.h"
#include "buf.h"
#include "ev.h"
#include "link.h"
#include "mixcc.h"
#include "mixbody.h"
#include "mixclient.h"
#include "mixedge.h"
#include "packet.h"
#include "route.h"
#include "topology.h"
#include "util.h"

#define HDR 56 /* the body header, mixproxy-protocol(7) MESSAGES */

static void put64(uint8_t *p, uint64_t v)
{
	be32_put(p, (uint32_t)(v >> 32));
	be32_put(p + 4, (uint32_t)v);
}

static struct topology *make_topo(void)
{
	char text[2048], k[B58_KEY_CHARS], err[256];
	uint8_t pk[32], sk[32];
	const char *lines[] = { "gw1 gateway 127.0.0.1:9", "m1 mix 1 127.0.0.1:10",
	                        "m2 mix 2 127.0.0.1:11", "m3 mix 3 127.0.0.1:12" };
	text[0] = 0;
	for (size_t i = 0; i < 4; i++) {
		crypto_box_keypair(pk, sk);
		strcat(text, lines[i]);
		strcat(text, " ");
		strcat(text, key_to_str(pk, k, sizeof(k)));
		strcat(text, "\n");
	}
	struct topo_parser *p = topo_parser_new();
	ck_assert_int_eq(topo_parser_feed(p, text, strlen(text), err, sizeof(err)), 0);
	struct topology *t = topo_parser_finish(p, err, sizeof(err));
	ck_assert_ptr_nonnull(t);
	return t;
}

static int got, got_len;
static struct mix_from last_from;

static int on_msg(struct mixclient *mc, const struct mix_from *from, const uint8_t *data,
                  size_t len, void *ctx)
{
	(void)mc;
	(void)data;
	(void)ctx;
	got++;
	got_len = (int)len;
	last_from = *from;
	return 0;
}

static const struct mixclient_cbs cbs = { .on_message = on_msg };

static uint64_t epoch_ab; /* what bodies from tag ab.. name */
static uint64_t pnum_ab;  /* the number of the last packet from tag ab.. */

/* A fresh packet number for body b (from tag ab..): the same body fed
 * again is a repeat, dropped whole. */
static void renumber(uint8_t *b)
{
	put64(b + 48, ++pnum_ab);
}

static void body_data(uint8_t *b, uint64_t id, uint16_t len, uint8_t nsurbs, uint8_t nacks)
{
	memset(b, 0, PKT_BODY_BYTES);
	renumber(b);
	b[0] = 1; /* DATA */
	b[1] = nsurbs;
	b[2] = nacks;
	be16_put(b + 4, len);
	be32_put(b + 12, (uint32_t)id);
	memset(b + 16, 0xab, 16); /* sender tag */
	put64(b + 40, epoch_ab);
}

START_TEST(test_body_parser)
{
	struct ev *ev = ev_new();
	struct topology *t = make_topo();
	struct keypair kp;
	struct mixclient_cfg cfg;
	const char *err;
	uint8_t b[PKT_BODY_BYTES];
	struct mixclient_stats st;

	keypair_generate(&kp);
	mixclient_cfg_defaults(&cfg);
	cfg.topo = t;
	cfg.kp = &kp;
	cfg.fast = 1;
	cfg.cbs = &cbs;
	struct mixclient *mc = mixclient_new(ev, &cfg, &err);
	ck_assert_ptr_nonnull(mc);
	got = 0;
	ck_assert_int_eq(mixclient_quiet(mc), 1);

	/* The first body names no epoch: refused (a former state of ours
	 * may have taken it), and the state says its epoch. */
	epoch_ab = 0;
	body_data(b, 1, 100, 0, 0);
	ck_assert_int_eq(mixclient_feed_body(mc, b, sizeof(b)), 0);
	ck_assert_int_eq(got, 0);
	epoch_ab = mixclient_sender_epoch(mc, b + 16);
	ck_assert_uint_ne(epoch_ab, 0);
	mixclient_get_stats(mc, &st);
	ck_assert_uint_eq(st.stale, 1);
	/* It left no reply block to say so with: that does not count. */
	ck_assert_int_eq(mixclient_quiet(mc), 1);
	/* A wrong epoch is refused as well. */
	body_data(b, 1, 100, 0, 0);
	put64(b + 40, epoch_ab ^ 1);
	mixclient_feed_body(mc, b, sizeof(b));
	ck_assert_int_eq(got, 0);

	/* A good message, then the same again (sent again: a new packet):
	 * delivered once. */
	body_data(b, 1, 100, 0, 0);
	ck_assert_int_eq(mixclient_feed_body(mc, b, sizeof(b)), 0);
	ck_assert_int_eq(got, 1);
	ck_assert_int_eq(got_len, 100);
	ck_assert_int_eq(last_from.reply, 0);
	ck_assert_int_eq(last_from.tag[0], 0xab);
	renumber(b);
	ck_assert_int_eq(mixclient_feed_body(mc, b, sizeof(b)), 0);
	ck_assert_int_eq(got, 1);
	mixclient_get_stats(mc, &st);
	ck_assert_uint_eq(st.duplicates, 1);
	/* The very same packet again (a replay, a node's duplicate): dropped
	 * before anything in it is looked at. */
	ck_assert_int_eq(mixclient_feed_body(mc, b, sizeof(b)), 0);
	mixclient_get_stats(mc, &st);
	ck_assert_uint_eq(st.duplicates, 1);
	ck_assert_uint_eq(st.repeats, 1);

	/* Out of order ids are each delivered once. */
	body_data(b, 3, 10, 0, 0);
	mixclient_feed_body(mc, b, sizeof(b));
	body_data(b, 2, 10, 0, 0);
	mixclient_feed_body(mc, b, sizeof(b));
	renumber(b);
	mixclient_feed_body(mc, b, sizeof(b));
	ck_assert_int_eq(got, 3);

	/* Malformed: lengths that do not fit, too many blocks, unknown kind. */
	body_data(b, 4, MIX_MSG_MAX + 1, 0, 0);
	mixclient_feed_body(mc, b, sizeof(b));
	body_data(b, 5, 1000, 3, 0);
	mixclient_feed_body(mc, b, sizeof(b));
	body_data(b, 6, 0, 4, 0);
	mixclient_feed_body(mc, b, sizeof(b));
	body_data(b, 7, 100, 0, 255);
	mixclient_feed_body(mc, b, sizeof(b));
	body_data(b, 8, 10, 0, 0);
	b[0] = 99;
	mixclient_feed_body(mc, b, sizeof(b));
	ck_assert_int_eq(got, 3);
	mixclient_get_stats(mc, &st);
	ck_assert_uint_eq(st.undecodable, 5);
	ck_assert_int_eq(mixclient_feed_body(mc, b, sizeof(b) - 1), -1);

	/* An id far ahead of the window is not taken now (it comes again). */
	body_data(b, 100000, 10, 0, 0);
	mixclient_feed_body(mc, b, sizeof(b));
	ck_assert_int_eq(got, 3);
	/* ... until the sender's floor says everything below 99990 was acked
	 * or given up: the window moves, and the id is taken (one given-up
	 * message must not hold a sender back for good). */
	be32_put(b + 36, 99990);
	renumber(b);
	mixclient_feed_body(mc, b, sizeof(b));
	ck_assert_int_eq(got, 4);
	/* Below the floor now: a duplicate. */
	body_data(b, 4, 10, 0, 0);
	mixclient_feed_body(mc, b, sizeof(b));
	ck_assert_int_eq(got, 4);
	/* Blocks whose first hop is not a layer-1 mix are not kept. */
	mixclient_get_stats(mc, &st);
	uint64_t undec = st.undecodable;
	body_data(b, 100001, 10, 1, 0);
	memset(b + HDR, 0, SURB_BYTES); /* a reply block with no valid first hop */
	mixclient_feed_body(mc, b, sizeof(b));
	ck_assert_int_eq(got, 5);
	mixclient_get_stats(mc, &st);
	ck_assert_uint_eq(st.undecodable, undec + 1);
	ck_assert_uint_eq(st.surbs_received, 0);

	/* A block that leads to m1 is kept, once: the same delivery again
	 * (a gateway replaying it) is dropped whole, so a block already used
	 * cannot come back into the stock; and so is one whose number has
	 * fallen behind the window of the sender's packets. */
	body_data(b, 100002, 10, 1, 0);
	uint64_t old_pnum = pnum_ab;
	pkt_id_from_str(b + HDR, "m1");
	mixclient_feed_body(mc, b, sizeof(b));
	mixclient_get_stats(mc, &st);
	ck_assert_uint_eq(st.surbs_received, 1);
	ck_assert_int_eq(got, 6);
	uint64_t repeats = st.repeats;
	mixclient_feed_body(mc, b, sizeof(b));
	mixclient_get_stats(mc, &st);
	ck_assert_uint_eq(st.surbs_received, 1);
	ck_assert_uint_eq(st.repeats, repeats + 1);
	/* Packets numbered ahead: an honest one reordered within the window
	 * is taken, then the window moves past the replayed one. */
	pnum_ab += 500;
	body_data(b, 100003, 10, 0, 0);
	mixclient_feed_body(mc, b, sizeof(b));
	ck_assert_int_eq(got, 7);
	pnum_ab -= 100;
	body_data(b, 100004, 10, 0, 0);
	mixclient_feed_body(mc, b, sizeof(b));
	ck_assert_int_eq(got, 8);
	pnum_ab += 2000;
	body_data(b, 100005, 10, 0, 0);
	mixclient_feed_body(mc, b, sizeof(b));
	ck_assert_int_eq(got, 9);
	body_data(b, 100002, 10, 1, 0);
	put64(b + 48, old_pnum);
	pkt_id_from_str(b + HDR, "m1");
	mixclient_feed_body(mc, b, sizeof(b));
	mixclient_get_stats(mc, &st);
	ck_assert_uint_eq(st.surbs_received, 1);
	ck_assert_uint_eq(st.repeats, repeats + 2);
	/* A packet with no number is refused too. */
	body_data(b, 100006, 10, 0, 0);
	put64(b + 48, 0);
	mixclient_feed_body(mc, b, sizeof(b));
	ck_assert_int_eq(got, 9);

	/* Sending: too big, and the window. */
	struct mix_addr to;
	mixclient_address(mc, &to);
	uint8_t big[MIX_MSG_MAX + 1] = { 0 };
	ck_assert_int_eq(mixclient_send(mc, &to, big, sizeof(big), NULL), -1);
	ck_assert_int_eq(mixclient_room(mc), cfg.window);
	for (unsigned i = 0; i < cfg.window; i++)
		ck_assert_int_eq(mixclient_send(mc, &to, big, 10, NULL), 0);
	ck_assert_int_eq(mixclient_send(mc, &to, big, 10, NULL), -1);
	ck_assert_uint_eq(mixclient_pending(mc), cfg.window);
	/* A reply to an unknown sender is refused. */
	uint8_t tag[MIX_TAG_BYTES] = { 1 };
	ck_assert_int_eq(mixclient_reply(mc, tag, big, 10, NULL), -1);

	mixclient_free(mc);
	ev_run_once(ev, 0);
	ev_free(ev);
	topo_free(t);
}
END_TEST

/* A body from sender `i` (its tag holds i), message `id`, naming
 * `epoch`: the stranger's and the newcomer's packets below. */
static const uint8_t *sender_body(struct mb_writer *e, uint32_t i, uint64_t id, uint64_t epoch)
{
	static uint64_t pnum;
	uint8_t tag[MIX_TAG_BYTES], d[8] = { 0 };
	memset(tag, 0xee, sizeof(tag));
	be32_put(tag, i);
	mb_begin(e, MB_DATA, id, tag);
	e->h.pnum = ++pnum;
	e->h.try = 1;
	e->h.floor = 1;
	e->h.epoch = epoch;
	mb_add_data(e, d, sizeof(d));
	return mb_finish(e);
}

static int giveups;

static void count_giveup(struct mixclient *mc, const struct mix_from *to, uint64_t id,
                         const char *why, void *ctx)
{
	(void)mc; (void)to; (void)id; (void)ctx;
	ck_assert_ptr_nonnull(strstr(why, "pushed out"));
	giveups++;
}

static const struct mixclient_cbs pin_cbs = { .on_message = on_msg, .on_giveup = count_giveup };

/* The sender table under a stranger who fills it with tags whose
 * messages were taken (so acks are owed) and who left no block to send
 * them by: a newcomer still gets in, pushing out the least recently
 * useful; and when every sender has a reply of ours out, a newcomer
 * still gets in, and the reply to the one pushed out is given up. */
START_TEST(test_senders_cannot_be_pinned)
{
	struct ev *ev = ev_new();
	struct topology *t = make_topo();
	struct keypair kp;
	struct mixclient_cfg cfg;
	struct mixclient_stats st;
	struct mb_writer e;
	const char *err;
	uint8_t tag[MIX_TAG_BYTES];

	keypair_generate(&kp);
	mixclient_cfg_defaults(&cfg);
	cfg.topo = t;
	cfg.kp = &kp;
	cfg.fast = 1;
	cfg.window = 2 * MIX_SENDERS_MAX;
	cfg.cbs = &pin_cbs;
	struct mixclient *mc = mixclient_new(ev, &cfg, &err);
	ck_assert_ptr_nonnull(mc);
	got = giveups = 0;
	for (uint32_t i = 0; i < MIX_SENDERS_MAX; i++) {
		const uint8_t *b = sender_body(&e, i, 1, 0);
		mixclient_feed_body(mc, b, PKT_BODY_BYTES);  /* refused: learns nothing yet */
		uint64_t ep = mixclient_sender_epoch(mc, e.h.tag);
		ck_assert_uint_ne(ep, 0);
		mixclient_feed_body(mc, sender_body(&e, i, 1, ep), PKT_BODY_BYTES);
	}
	ck_assert_int_eq(got, MIX_SENDERS_MAX);      /* each owed an ack it cannot be sent */
	/* Junk from the first sender (refused: a wrong epoch) does not make
	 * it recently useful. */
	mixclient_feed_body(mc, sender_body(&e, 0, 2, 1), PKT_BODY_BYTES);

	/* The newcomer gets in; the first of the stranger's goes. */
	const uint8_t *nb = sender_body(&e, MIX_SENDERS_MAX, 1, 0);
	memcpy(tag, e.h.tag, sizeof(tag));
	mixclient_feed_body(mc, nb, PKT_BODY_BYTES);
	uint64_t ep = mixclient_sender_epoch(mc, tag);
	ck_assert_uint_ne(ep, 0);
	mixclient_feed_body(mc, sender_body(&e, MIX_SENDERS_MAX, 1, ep), PKT_BODY_BYTES);
	ck_assert_int_eq(got, MIX_SENDERS_MAX + 1);
	sender_body(&e, 0, 1, 0);
	ck_assert_uint_eq(mixclient_sender_epoch(mc, e.h.tag), 0);
	sender_body(&e, 1, 1, 0);
	ck_assert_uint_ne(mixclient_sender_epoch(mc, e.h.tag), 0);
	mixclient_get_stats(mc, &st);
	ck_assert_uint_eq(st.senders_evicted, 1);

	/* Now a reply of ours waits for a block at every sender, the
	 * newcomer's last (the most recently useful). */
	for (uint32_t i = 1; i <= MIX_SENDERS_MAX; i++) {
		sender_body(&e, i, 1, 0);
		ck_assert_int_eq(mixclient_reply(mc, e.h.tag, (const uint8_t *)"r", 1, NULL), 0);
	}
	mixclient_feed_body(mc, sender_body(&e, MIX_SENDERS_MAX + 1, 1, 0), PKT_BODY_BYTES);
	ck_assert_uint_ne(mixclient_sender_epoch(mc, e.h.tag), 0);
	sender_body(&e, 1, 1, 0);
	ck_assert_uint_eq(mixclient_sender_epoch(mc, e.h.tag), 0);  /* replied to first */
	ck_assert_uint_ne(mixclient_sender_epoch(mc, tag), 0);
	ck_assert_int_eq(giveups, 1);
	mixclient_get_stats(mc, &st);
	ck_assert_uint_eq(st.senders_evicted, 2);

	mixclient_free(mc);
	ev_run_once(ev, 0);
	ev_free(ev);
	topo_free(t);
}
END_TEST

/* ---- an in-process mixnet ----
 *
 * One gateway (gw1) listening on loopback that processes every hop of a
 * packet itself (m1, m2, m3, then its own layer) with the nodes' secret
 * keys, at once, and hands the delivery to the client whose key it names.
 * A filter sees every delivery first and may drop it (and keep a copy to
 * hand over later).  Deliveries to a fake sender's key (a sender played by
 * the test, with reply blocks it made itself) are counted, not sent. */

#define NET_CLIENTS 8
#define NET_FAKES 2

struct fake {
	struct keypair kp;          /* where its reply blocks lead */
	uint8_t tag[MIX_TAG_BYTES];
	uint64_t next_id;
	uint64_t pnum;              /* its last packet's number */
	int served;                 /* packets the client sent it */
};

struct net {
	struct ev *ev;
	struct topology *topo;
	struct keypair nk[4];       /* gw1, m1, m2, m3 */
	uint8_t nid[4][PKT_ID_BYTES];
	int lfd;
	struct {
		struct link *l;
		uint8_t pk[32];
		uint32_t paced_us;  /* the last LF_PACE it sent */
		int paces;          /* how many it sent */
	} cl[NET_CLIENTS];
	/* 1: drop it (the filter may keep a copy) */
	int (*filter)(const uint8_t dst[32], const uint8_t *dlv);
	struct fake fake[NET_FAKES];
	int nfake;
	int last_fake;              /* index of the fake served last */
	int attaches, detaches;     /* LF_ATTACH proven, LF_DETACH */
	struct link *watch;         /* frames from this link are counted */
	int watched;
	int sends;                  /* LF_SEND frames */
	int no_report;              /* 1: no LF_STATUS after a link's LF_PACE */
	void (*on_fake)(int i);     /* a fake was sent a packet */
};

static struct net net;

static void net_deliver(const uint8_t dst[32], const uint8_t *dlv)
{
	if (net.filter && net.filter(dst, dlv))
		return;
	for (int i = 0; i < net.nfake; i++) {
		if (!memcmp(dst, net.fake[i].kp.pk, 32)) {
			net.fake[i].served++;
			net.last_fake = i;
			if (net.on_fake)
				net.on_fake(i);
			return;
		}
	}
	for (int i = 0; i < NET_CLIENTS; i++)
		if (net.cl[i].l && !memcmp(net.cl[i].pk, dst, 32)) {
			link_send(net.cl[i].l, LF_DELIVER, dst, dlv);
			return;
		}
}

static int gw_accept_peer(struct link *l, enum link_kind kind, const uint8_t pk[32], void *ctx)
{
	(void)l;
	(void)pk;
	(void)ctx;
	return kind == LINK_CLIENT ? 0 : -1;
}

static void gw_up(struct link *l, void *ctx)
{
	(void)ctx;
	int free_slot = -1;
	for (int i = 0; i < NET_CLIENTS; i++) {
		/* The same key again (a restart, a new link): its slot, the
		 * newest link. */
		if ((net.cl[i].l || net.cl[i].paces) && !memcmp(net.cl[i].pk, link_peer_pk(l), 32)) {
			net.cl[i].l = l;
			return;
		}
		if (!net.cl[i].l && free_slot < 0)
			free_slot = i;
	}
	ck_assert_int_ge(free_slot, 0);
	net.cl[free_slot].l = l;
	memcpy(net.cl[free_slot].pk, link_peer_pk(l), 32);
}

static void gw_frame(struct link *l, enum link_frame_type t, const uint8_t *id, uint8_t *pkt,
                     void *ctx)
{
	uint8_t hop[PKT_ID_BYTES];
	(void)ctx;
	net.watched += l == net.watch;
	if (t == LF_PACE) {
		for (int i = 0; i < NET_CLIENTS; i++)
			if (net.cl[i].l == l) {
				net.cl[i].paced_us = be32_get(pkt);
				net.cl[i].paces++;
			}
		/* As a gateway does after a link's first frame: its report of
		 * its links (none down here), unless the test holds it. */
		if (!net.no_report) {
			uint8_t report[PKT_BYTES];
			route_status_encode(report, NULL, 0);
			link_send(l, LF_STATUS, NULL, report);
		}
		return;
	}
	if (t == LF_ATTACH) {
		/* A key proven for this link: a slot of its own on it. */
		int free_slot = -1;
		if (attach_check(pkt, net.nk[0].sk, id, link_binding(l)))
			return;
		net.attaches++;
		for (int i = 0; i < NET_CLIENTS; i++)
			if (!net.cl[i].l && free_slot < 0)
				free_slot = i;
		ck_assert_int_ge(free_slot, 0);
		net.cl[free_slot].l = l;
		memcpy(net.cl[free_slot].pk, id, 32);
		return;
	}
	if (t == LF_DETACH) {
		net.detaches++;
		for (int i = 0; i < NET_CLIENTS; i++)
			if (net.cl[i].l == l && !memcmp(net.cl[i].pk, id, 32))
				net.cl[i].l = NULL;
		return;
	}
	if (t != LF_SEND)
		return;
	net.sends++;
	memcpy(hop, id, PKT_ID_BYTES);
	for (int n = 0; n < PKT_HOPS; n++) {
		int k = 0;
		while (k < 4 && memcmp(net.nid[k], hop, PKT_ID_BYTES))
			k++;
		if (k == 4)
			return;
		struct pkt_hop_result r;
		if (pkt_process(pkt, PKT_BYTES, net.nk[k].sk, NULL, (uint32_t)(wall_s() / 60), &r) != PKT_OK)
			return;
		if (r.action == PKT_DELIVER) {
			net_deliver(r.addr, pkt);
			return;
		}
		memcpy(hop, r.addr, PKT_ID_BYTES);
	}
}

static void gw_down(struct link *l, const char *why, void *ctx)
{
	(void)why;
	(void)ctx;
	for (int i = 0; i < NET_CLIENTS; i++)
		if (net.cl[i].l == l)
			net.cl[i].l = NULL;
}

static const struct link_cbs gw_cbs = {
	.accept_peer = gw_accept_peer,
	.on_up = gw_up,
	.on_frame = gw_frame,
	.on_down = gw_down,
};

static void gw_accept(struct ev *ev, int fd, void *ctx)
{
	(void)ctx;
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int c = accept(fd, (struct sockaddr *)&ss, &len);
		if (c < 0)
			return;
		ck_assert_ptr_nonnull(link_accept(ev, c, (struct sockaddr *)&ss, len, &net.nk[0], 1024,
		                                  &gw_cbs, NULL));
	}
}

static void net_start(void)
{
	char text[2048], k[B58_KEY_CHARS], err[256], line[256];
	const char *names[] = { "gw1", "m1", "m2", "m3" };
	struct sockaddr_in sa;
	socklen_t salen = sizeof(sa);

	ck_assert_int_ge(sodium_init(), 0);
	memset(&net, 0, sizeof(net));
	net.ev = ev_new();
	net.lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(net.lfd, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(net.lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(net.lfd, 16), 0);
	ck_assert_int_eq(getsockname(net.lfd, (struct sockaddr *)&sa, &salen), 0);
	ck_assert_int_eq(ev_add_fd(net.ev, net.lfd, gw_accept, NULL, NULL), 0);
	text[0] = 0;
	for (int i = 0; i < 4; i++) {
		keypair_generate(&net.nk[i]);
		pkt_id_from_str(net.nid[i], names[i]);
		if (i == 0)
			snprintf(line, sizeof(line), "gw1 gateway 127.0.0.1:%u %s\n", ntohs(sa.sin_port),
			         key_to_str(net.nk[i].pk, k, sizeof(k)));
		else
			snprintf(line, sizeof(line), "%s mix %d 127.0.0.1:%d %s\n", names[i], i, 9 + i,
			         key_to_str(net.nk[i].pk, k, sizeof(k)));
		strcat(text, line);
	}
	struct topo_parser *tp = topo_parser_new();
	ck_assert_int_eq(topo_parser_feed(tp, text, strlen(text), err, sizeof(err)), 0);
	net.topo = topo_parser_finish(tp, err, sizeof(err));
	ck_assert_ptr_nonnull(net.topo);
}

static void net_stop(void)
{
	for (int i = 0; i < NET_CLIENTS; i++)
		if (net.cl[i].l)
			link_close(net.cl[i].l, "test over");
	ev_del_fd(net.ev, net.lfd);
	close(net.lfd);
	ev_run_once(net.ev, 0);
	ev_run_once(net.ev, 0);
	ev_free(net.ev);
	topo_free(net.topo);
}

static int run_until(int (*cond)(void), uint64_t ms)
{
	uint64_t end = now_ms() + ms;
	while (!cond()) {
		if (now_ms() >= end)
			return 0;
		ev_run_once(net.ev, 5);
	}
	return 1;
}

static void run_for(uint64_t ms)
{
	uint64_t end = now_ms() + ms;
	while (now_ms() < end)
		ev_run_once(net.ev, 5);
}

/* What one client's callbacks saw. */
struct rec {
	int answer;                 /* reply to every answer-th message with its bytes */
	int got;
	uint8_t seen[256];          /* deliveries by the message's first byte */
	int pos[256];               /* ... and how many came before the first */
	int giveups;
	char why[160];              /* the last give-up's reason */
	struct mix_from gto[64];
	uint64_t gid[64];
};

static int rec_msg(struct mixclient *mc, const struct mix_from *from, const uint8_t *data,
                   size_t len, void *ctx)
{
	struct rec *r = ctx;
	if (r->answer && r->got % r->answer == 0 && !from->reply &&
	    mixclient_reply(mc, from->tag, data, len, NULL))
		return -1;
	if (!r->seen[data[0]])
		r->pos[data[0]] = r->got;
	r->got++;
	r->seen[data[0]]++;
	return 0;
}

static void rec_giveup(struct mixclient *mc, const struct mix_from *to, uint64_t id,
                       const char *why, void *ctx)
{
	struct rec *r = ctx;
	(void)mc;
	snprintf(r->why, sizeof(r->why), "%s", why);
	if (r->giveups < 64) {
		r->gto[r->giveups] = *to;
		r->gid[r->giveups] = id;
	}
	r->giveups++;
}

static const struct mixclient_cbs rec_cbs = { .on_message = rec_msg, .on_giveup = rec_giveup };

static double slot_ms = 5; /* send slots in the default profile */
static double receive_ms;  /* paced delivery asked for (0: none) */
static struct mixcc *client_cc; /* the next clients' shared window, if any */
static struct mixedge *client_edge; /* ... and their shared link */

/* The least retransmission timeout of A, the sender (0: the profile's): a
 * test that must see a loss found before the timeout sets it far beyond
 * the test's time, so a slow machine cannot time out first.  (Not B's:
 * its requests for reply blocks wait a round trip.) */
static uint64_t rto_min_ms;
static uint64_t rto_min_b_ms; /* likewise B's */
static uint64_t rto_min_other_ms; /* likewise any other client's */
static struct keypair kpa, kpb;

static int app_dedupes_a; /* client(): A's cfg.app_dedupes */

static struct mixclient *client(const struct keypair *kp, struct rec *r, int fast,
                                unsigned max_tries)
{
	struct mixclient_cfg cfg;
	const char *err;
	mixclient_cfg_defaults(&cfg);
	if (kp == &kpa) {
		cfg.rto_min_ms = rto_min_ms;
		cfg.app_dedupes = app_dedupes_a;
	}
	if (kp == &kpb)
		cfg.rto_min_ms = rto_min_b_ms;
	if (kp != &kpa && kp != &kpb)
		cfg.rto_min_ms = rto_min_other_ms;
	cfg.topo = net.topo;
	cfg.kp = kp;
	cfg.fast = fast;
	if (!fast) {
		cfg.send_mean_ms = slot_ms;
		cfg.loop_mean_ms = 1000;
		cfg.delay_mean_ms = 1;
	}
	cfg.receive_mean_ms = receive_ms;
	if (max_tries)
		cfg.max_tries = max_tries;
	cfg.cc = client_cc;
	cfg.edge = client_edge;
	cfg.cbs = &rec_cbs;
	cfg.ctx = r;
	struct mixclient *mc = mixclient_new(net.ev, &cfg, &err);
	ck_assert_ptr_nonnull(mc);
	return mc;
}

static struct mixclient *A, *B;
static struct rec ra, rb;

/* The gateway has taken the link of the client with this key: a client
 * is up once it has sent its part of the handshake, a moment before the
 * gateway has read it, and a delivery for it meanwhile would be lost. */
static int gw_knows(const uint8_t pk[32])
{
	for (int i = 0; i < NET_CLIENTS; i++)
		if (net.cl[i].l && !memcmp(net.cl[i].pk, pk, 32))
			return 1;
	return 0;
}

static int attached(void)
{
	return mixclient_is_attached(A) && mixclient_is_attached(B) && gw_knows(kpa.pk) &&
	       gw_knows(kpb.pk);
}

static int b_attached(void)
{
	return mixclient_is_attached(B);
}

static void send_seq(struct mixclient *mc, const struct mix_addr *to, int from, int to_incl,
                     uint64_t *ids)
{
	uint8_t msg[32];
	for (int i = from; i <= to_incl; i++) {
		memset(msg, i, sizeof(msg));
		ck_assert_int_eq(mixclient_send(mc, to, msg, sizeof(msg), ids ? &ids[i - from] : NULL), 0);
	}
}

/* The first byte of the message in a DATA body, or -1. */
static int body_seq(const uint8_t *b)
{
	if (b[0] != 1)
		return -1;
	size_t off = HDR + (size_t)b[1] * SURB_BYTES + (size_t)b[2] * 8;
	return be16_get(b + 4) && off < PKT_BODY_BYTES ? b[off] : -1;
}

/* ---- a peer that restarts ---- */

static uint8_t held_data3[PKT_BYTES], held_to_a[PKT_BYTES];
static int have_data3, hold_to_a, have_to_a;

static int restart_filter(const uint8_t dst[32], const uint8_t *dlv)
{
	uint8_t body[PKT_BODY_BYTES];
	if (!memcmp(dst, kpb.pk, 32) && !have_data3 &&
	    pkt_open(dlv, PKT_BYTES, kpb.sk, body) == PKT_OK && body_seq(body) == 3) {
		memcpy(held_data3, dlv, PKT_BYTES); /* delivered, and kept for later */
		have_data3 = 1;
	}
	if (!memcmp(dst, kpa.pk, 32) && hold_to_a && !have_to_a) {
		memcpy(held_to_a, dlv, PKT_BYTES); /* not delivered now */
		have_to_a = 1;
		return 1;
	}
	return 0;
}

static int a_got4(void)
{
	return ra.got == 4 && mixclient_quiet(A) && mixclient_quiet(B);
}

static int a_got5(void)
{
	return ra.got == 5 && have_to_a && mixclient_quiet(A) && mixclient_quiet(B);
}

static int a_gave5(void)
{
	return ra.giveups == 5;
}

static int a_got10(void)
{
	return ra.got == 10 && mixclient_quiet(A) && mixclient_quiet(B);
}

START_TEST(test_peer_restart)
{
	struct mix_addr addr_b;
	struct mixclient_stats st;
	uint64_t ids[5];
	net_start();
	net.filter = restart_filter;
	have_data3 = hold_to_a = have_to_a = 0;
	memset(&ra, 0, sizeof(ra));
	memset(&rb, 0, sizeof(rb));
	rb.answer = 1;
	keypair_generate(&kpa);
	keypair_generate(&kpb);
	/* Even an application that drops second copies loses what was out
	 * to a peer that restarted (test_forgotten_resend). */
	app_dedupes_a = 1;
	A = client(&kpa, &ra, 1, 0);
	app_dedupes_a = 0;
	B = client(&kpb, &rb, 1, 0);
	ck_assert(run_until(attached, 5000));
	mixclient_address(B, &addr_b);

	/* A conversation: every message answered, once. */
	send_seq(A, &addr_b, 1, 4, NULL);
	ck_assert(run_until(a_got4, 5000));
	/* The first packet of B's that A should get next is held back. */
	hold_to_a = 1;
	send_seq(A, &addr_b, 5, 5, NULL);
	ck_assert(run_until(a_got5, 5000));
	for (int i = 1; i <= 5; i++) {
		ck_assert_int_eq(rb.seen[i], 1);
		ck_assert_int_eq(ra.seen[i], 1);
	}
	ck_assert_int_eq(ra.giveups, 0);
	ck_assert(have_data3);

	/* B restarts with the same identity: its new state knows nothing. */
	mixclient_free(B);
	ev_run_once(net.ev, 0);
	memset(&rb, 0, sizeof(rb));
	rb.answer = 1;
	B = client(&kpb, &rb, 1, 0);
	ck_assert(run_until(b_attached, 5000));

	/* What A sends before it hears of the new state names the former
	 * one: refused, and given up (the former state might have taken it),
	 * and A is told whom each was for. */
	send_seq(A, &addr_b, 6, 10, ids);
	ck_assert(run_until(a_gave5, 5000));
	for (int i = 0; i < 5; i++) {
		ck_assert_int_eq(ra.gto[i].reply, 1);
		ck_assert_mem_eq(&ra.gto[i].addr, &addr_b, sizeof(addr_b));
		int found = 0;
		for (int j = 0; j < 5; j++)
			found += ra.gid[i] == ids[j];
		ck_assert_int_eq(found, 1);
	}
	ck_assert_int_eq(rb.got, 0);
	mixclient_get_stats(A, &st);
	ck_assert_uint_eq(st.peer_resets, 1);

	/* Then the conversation goes on with the new state: its replies,
	 * whose ids start again at 1, are not taken for duplicates. */
	send_seq(A, &addr_b, 11, 15, NULL);
	ck_assert(run_until(a_got10, 5000));
	for (int i = 11; i <= 15; i++) {
		ck_assert_int_eq(rb.seen[i], 1);
		ck_assert_int_eq(ra.seen[i], 1);
	}
	ck_assert_int_eq(rb.got, 5);

	/* An old copy of a message the former state delivered: not again. */
	net_deliver(kpb.pk, held_data3);
	run_for(100);
	ck_assert_int_eq(rb.seen[3], 0);
	ck_assert_int_eq(rb.got, 5);
	/* A late packet of the former state: A does not go back to it. */
	ck_assert(have_to_a);
	mixclient_get_stats(A, &st);
	uint64_t stale = st.stale;
	net_deliver(kpa.pk, held_to_a);
	run_for(100);
	mixclient_get_stats(A, &st);
	ck_assert_uint_eq(st.stale, stale + 1);
	ck_assert_uint_eq(st.peer_resets, 1);
	ck_assert_int_eq(ra.got, 10);
	send_seq(A, &addr_b, 16, 16, NULL);
	ck_assert(run_until(a_got10, 100) == 0);
	ck_assert_int_eq(ra.giveups, 5);

	mixclient_free(A);
	mixclient_free(B);
	net_stop();
}
END_TEST

/* ---- a peer that forgets us and lives on ---- */

static int a_got8(void)
{
	return ra.got == 8 && mixclient_quiet(A) && mixclient_quiet(B);
}

static int a_gave4(void)
{
	return ra.giveups == 4 && mixclient_quiet(A);
}

/* B pushes A's tag out of its table for strangers' tags and lives on.
 * An application that drops second copies (_i: app_dedupes, a proxy) has
 * what it had out to B's former state sent again, and B, the same
 * incarnation, takes each once; any other has it given up, as after a
 * restart. */
START_TEST(test_forgotten_resend)
{
	struct mix_addr addr_b;
	struct mixclient_stats st;
	uint8_t b[PKT_BODY_BYTES];
	net_start();
	memset(&ra, 0, sizeof(ra));
	memset(&rb, 0, sizeof(rb));
	rb.answer = 1;
	keypair_generate(&kpa);
	keypair_generate(&kpb);
	app_dedupes_a = _i;
	A = client(&kpa, &ra, 1, 0);
	app_dedupes_a = 0;
	B = client(&kpb, &rb, 1, 0);
	ck_assert(run_until(attached, 5000));
	mixclient_address(B, &addr_b);
	send_seq(A, &addr_b, 1, 4, NULL);
	ck_assert(run_until(a_got4, 5000));

	/* As many made-up tags as B holds: A's, the least recently useful
	 * and owed nothing, makes room for the last. */
	mixclient_get_stats(B, &st);
	uint64_t evicted = st.senders_evicted;
	epoch_ab = 0;
	for (uint32_t i = 1; i <= MIX_SENDERS_MAX; i++) {
		body_data(b, 1, 10, 0, 0);
		be32_put(b + 16, i);
		mixclient_feed_body(B, b, sizeof(b));
	}
	mixclient_get_stats(B, &st);
	ck_assert_uint_eq(st.senders_evicted, evicted + 1);

	/* What A sends now names the state B forgot. */
	send_seq(A, &addr_b, 5, 8, NULL);
	if (_i) {
		ck_assert(run_until(a_got8, 5000));
		for (int i = 5; i <= 8; i++) {
			ck_assert_int_eq(rb.seen[i], 1);
			ck_assert_int_eq(ra.seen[i], 1);
		}
		ck_assert_int_eq(ra.giveups, 0);
	} else {
		ck_assert(run_until(a_gave4, 5000));
		ck_assert_str_eq(ra.why, "the peer lost its state for us");
		ck_assert_int_eq(rb.got, 4);
	}
	mixclient_get_stats(A, &st);
	ck_assert_uint_eq(st.peer_resets, 1);
	mixclient_free(A);
	mixclient_free(B);
	net_stop();
}
END_TEST

/* ---- give-ups of messages to an address ---- */

static int drop_to_b(const uint8_t dst[32], const uint8_t *dlv)
{
	(void)dlv;
	return !memcmp(dst, kpb.pk, 32);
}

static int a_gave3(void)
{
	return ra.giveups == 3;
}

START_TEST(test_send_giveup)
{
	struct mix_addr addr_b;
	uint64_t ids[3];
	net_start();
	net.filter = drop_to_b;
	memset(&ra, 0, sizeof(ra));
	memset(&rb, 0, sizeof(rb));
	keypair_generate(&kpa);
	keypair_generate(&kpb);
	A = client(&kpa, &ra, 1, 2);
	B = client(&kpb, &rb, 1, 0);
	ck_assert(run_until(attached, 5000));
	mixclient_address(B, &addr_b);
	/* B never hears of them: each goes twice (max_tries), is given up,
	 * and A hears whom it was for. */
	send_seq(A, &addr_b, 1, 3, ids);
	ck_assert_int_eq(mixclient_quiet(A), 0);
	ck_assert(run_until(a_gave3, 5000));
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(ra.gto[i].reply, 1);
		ck_assert_mem_eq(&ra.gto[i].addr, &addr_b, sizeof(addr_b));
	}
	ck_assert_uint_eq(ra.gid[0], ids[0]);
	ck_assert_int_eq(mixclient_pending(A), 0);
	ck_assert_int_eq(mixclient_quiet(A), 1);
	mixclient_free(A);
	mixclient_free(B);
	net_stop();
}
END_TEST

/* ---- replies that wait for reply blocks ---- */

static struct mixclient *solo;
static struct rec rs;

static int solo_gave(void)
{
	return rs.giveups > 0;
}

START_TEST(test_reply_deadline)
{
	uint8_t b[PKT_BODY_BYTES], tag[MIX_TAG_BYTES], msg[8] = { 7 };
	uint64_t id;
	struct keypair kp;
	net_start();
	memset(&rs, 0, sizeof(rs));
	keypair_generate(&kp);
	solo = client(&kp, &rs, 1, 2);
	/* A sender that sends no reply blocks. */
	epoch_ab = 0;
	body_data(b, 1, 10, 0, 0);
	mixclient_feed_body(solo, b, sizeof(b));
	memcpy(tag, b + 16, MIX_TAG_BYTES);
	epoch_ab = mixclient_sender_epoch(solo, tag);
	body_data(b, 1, 10, 0, 0);
	mixclient_feed_body(solo, b, sizeof(b));
	ck_assert_int_eq(rs.got, 1);
	ck_assert_int_eq(mixclient_reply(solo, tag, msg, sizeof(msg), &id), 0);
	ck_assert_int_eq(mixclient_pending(solo), 1);
	/* Two tries' worth of time (at least 2 s each), not forever; then
	 * the application hears which sender it was for. */
	ck_assert(!run_until(solo_gave, 3500));
	ck_assert(run_until(solo_gave, 3000));
	ck_assert_int_eq(rs.giveups, 1);
	ck_assert_int_eq(rs.gto[0].reply, 0);
	ck_assert_mem_eq(rs.gto[0].tag, tag, MIX_TAG_BYTES);
	ck_assert_uint_eq(rs.gid[0], id);
	ck_assert_int_eq(mixclient_pending(solo), 0);
	mixclient_free(solo);
	net_stop();
}
END_TEST

/* ---- made-up senders fill the table ---- */

START_TEST(test_sender_eviction)
{
	uint8_t b[PKT_BODY_BYTES], tag0[MIX_TAG_BYTES], msg[8] = { 1 };
	struct keypair kp;
	struct mixclient_stats st;
	net_start();
	memset(&rs, 0, sizeof(rs));
	keypair_generate(&kp);
	solo = client(&kp, &rs, 1, 0);
	/* A sender with a reply of ours waiting: it must be kept. */
	epoch_ab = 0;
	body_data(b, 1, 10, 0, 0);
	mixclient_feed_body(solo, b, sizeof(b));
	memcpy(tag0, b + 16, MIX_TAG_BYTES);
	ck_assert_int_eq(mixclient_reply(solo, tag0, msg, sizeof(msg), NULL), 0);
	/* 4096 made-up tags after it. */
	for (uint32_t i = 1; i <= 4096; i++) {
		body_data(b, 1, 10, 0, 0);
		be32_put(b + 16, i);
		mixclient_feed_body(solo, b, sizeof(b));
		ck_assert_uint_ne(mixclient_sender_epoch(solo, b + 16), 0);
	}
	mixclient_get_stats(solo, &st);
	ck_assert_uint_eq(st.refused, 0);
	/* The least recently used idle one made room; tag0 is still known. */
	ck_assert_uint_ne(mixclient_sender_epoch(solo, tag0), 0);
	be32_put(b + 16, 1);
	ck_assert_uint_eq(mixclient_sender_epoch(solo, b + 16), 0);
	be32_put(b + 16, 2);
	ck_assert_uint_ne(mixclient_sender_epoch(solo, b + 16), 0);
	mixclient_free(solo);
	net_stop();
}
END_TEST

/* ---- acks to many senders: a round robin ---- */

static void fake_feed(struct mixclient *mc, struct fake *f, int nsurbs, int name_epoch)
{
	uint8_t b[PKT_BODY_BYTES];
	memset(b, 0, sizeof(b));
	b[0] = 1;
	b[1] = (uint8_t)nsurbs;
	be16_put(b + 4, 4);
	be32_put(b + 12, (uint32_t)f->next_id);
	memcpy(b + 16, f->tag, MIX_TAG_BYTES);
	put64(b + 40, name_epoch ? mixclient_sender_epoch(mc, f->tag) : 0);
	put64(b + 48, ++f->pnum);
	for (int i = 0; i < nsurbs; i++) {
		struct pkt_hop route[PKT_HOPS];
		struct surb_secret sec;
		for (int h = 0; h < PKT_HOPS; h++) {
			int k = h == 3 ? 0 : h + 1;
			memcpy(route[h].id, net.nid[k], PKT_ID_BYTES);
			memcpy(route[h].pk, net.nk[k].pk, PKT_KEY_BYTES);
			route[h].delay_us = 0;
		}
		ck_assert_int_eq(surb_create(b + HDR + i * SURB_BYTES, &sec, route, f->kp.pk,
		                             (uint32_t)(wall_s() / 60)), PKT_OK);
	}
	memset(b + HDR + nsurbs * SURB_BYTES, (int)f->next_id, 4);
	if (name_epoch)
		f->next_id++;
	ck_assert_int_eq(mixclient_feed_body(mc, b, sizeof(b)), 0);
}

static int counting, count[NET_FAKES];

static int both_served(void)
{
	return net.fake[0].served >= 1 && net.fake[1].served >= 1;
}

static int rounds_done(void)
{
	return count[0] + count[1] >= 16;
}

/* A busy sender: whenever it gets an ack packet it is owed another. */
static void busy_fake(int i)
{
	if (!counting)
		return;
	count[i]++;
	fake_feed(solo, &net.fake[i], 1, 1);
}

static int fake0_served3(void)
{
	return net.fake[0].served >= 3;
}

/* A sender that does not know our epoch yet hears it once for each packet
 * refused, each time through another of its blocks: blocks made before it
 * heard from us lead through dead mixes as often as through live ones. */
START_TEST(test_announce_each_refusal)
{
	struct keypair kp;
	net_start();
	memset(&rs, 0, sizeof(rs));
	keypair_generate(&kp);
	solo = client(&kp, &rs, 1, 0);
	B = solo;
	ck_assert(run_until(b_attached, 5000));
	net.nfake = 1;
	keypair_generate(&net.fake[0].kp);
	randombytes_buf(net.fake[0].tag, MIX_TAG_BYTES);
	net.fake[0].next_id = 1;
	for (int i = 0; i < 3; i++)
		fake_feed(solo, &net.fake[0], 3, 0);
	ck_assert(run_until(fake0_served3, 5000));
	run_for(100);
	ck_assert_int_eq(net.fake[0].served, 3);
	ck_assert_int_eq(rs.got, 0);
	mixclient_free(solo);
	net_stop();
}
END_TEST

START_TEST(test_acks_round_robin)
{
	struct keypair kp;
	net_start();
	memset(&rs, 0, sizeof(rs));
	keypair_generate(&kp);
	/* The default profile: one packet per send slot, slots far enough
	 * apart that a busy sender is owed acks again before the next. */
	slot_ms = 40;
	solo = client(&kp, &rs, 0, 0);
	slot_ms = 5;
	B = solo;
	ck_assert(run_until(b_attached, 5000));
	net.nfake = 2;
	for (int i = 0; i < 2; i++) {
		keypair_generate(&net.fake[i].kp);
		randombytes_buf(net.fake[i].tag, MIX_TAG_BYTES);
		net.fake[i].next_id = 1;
		fake_feed(solo, &net.fake[i], 3, 0); /* refused: it answers its epoch */
	}
	ck_assert(run_until(both_served, 5000));
	/* Both are owed an ack; whichever gets one is owed another at once.
	 * The other, owed one all along, must not wait for ever. */
	counting = 0;
	count[0] = count[1] = 0;
	net.on_fake = busy_fake;
	for (int i = 0; i < 2; i++)
		fake_feed(solo, &net.fake[i], 3, 1);
	ck_assert_int_eq(rs.got, 2);
	ck_assert_int_eq(mixclient_quiet(solo), 0); /* acks owed, blocks at hand */
	counting = 1;
	ck_assert(run_until(rounds_done, 10000));
	counting = 0;
	ck_assert_int_ge(count[0], 6);
	ck_assert_int_ge(count[1], 6);
	mixclient_free(solo);
	net_stop();
}
END_TEST

/* ---- timeouts before any round trip is measured ---- */

static int a_gave1(void)
{
	return ra.giveups == 1;
}

START_TEST(test_backoff_unmeasured)
{
	struct mix_addr addr_b;
	net_start();
	net.filter = drop_to_b;
	memset(&ra, 0, sizeof(ra));
	memset(&rb, 0, sizeof(rb));
	keypair_generate(&kpa);
	keypair_generate(&kpb);
	/* The default profile, whose fixed allowance is long enough to time
	 * (3 x 1 ms delays + 4 x 5 ms slots + 250 ms = 273 ms). */
	A = client(&kpa, &ra, 0, 4);
	B = client(&kpb, &rb, 0, 0);
	ck_assert(run_until(attached, 5000));
	mixclient_address(B, &addr_b);
	/* No ack has ever come: the timeouts double (273, 546, 1092, 2184
	 * ms: given up after 4.1 s) instead of growing by half up to 4x
	 * (273, 410, 614, 921: 2.2 s), so a machine too slow for the fixed
	 * allowance does not spend itself sending everything again. */
	uint64_t t0 = now_ms();
	send_seq(A, &addr_b, 1, 1, NULL);
	run_for(2800);
	ck_assert_int_eq(ra.giveups, 0);
	ck_assert(run_until(a_gave1, 5000));
	ck_assert_uint_ge(now_ms() - t0, 3500);
	mixclient_free(A);
	mixclient_free(B);
	net_stop();
}
END_TEST

/* ---- a window shared by the clients of a process ---- */

#define NSHARE 6
#define PER_CLIENT 40
static struct mixcc *shared;
static struct mixclient *sc[NSHARE];

static int share_attached(void)
{
	for (int i = 0; i < NSHARE; i++)
		if (!mixclient_is_attached(sc[i]))
			return 0;
	return mixclient_is_attached(B);
}

static int share_done(void)
{
	return rb.got == NSHARE * PER_CLIENT + 1;
}

static int share_measured(void)
{
	return rb.got == 1 && mixclient_quiet(sc[0]);
}

START_TEST(test_shared_window)
{
	struct mix_addr addr_b;
	struct keypair kp[NSHARE];
	struct rec r[NSHARE];
	struct mixcc_stats st;
	net_start();
	memset(&rb, 0, sizeof(rb));
	memset(r, 0, sizeof(r));
	keypair_generate(&kpb);
	B = client(&kpb, &rb, 1, 0);
	shared = mixcc_new(net.ev, 1);
	client_cc = shared;
	for (int i = 0; i < NSHARE; i++) {
		keypair_generate(&kp[i]);
		sc[i] = client(&kp[i], &r[i], 1, 0);
	}
	client_cc = NULL;
	ck_assert(run_until(share_attached, 5000));
	mixclient_address(B, &addr_b);
	/* A round trip first: until one is measured the window holds
	 * nothing back. */
	send_seq(sc[0], &addr_b, 200, 200, NULL);
	ck_assert(run_until(share_measured, 5000));
	/* 240 messages at once against a window of 32: they take turns,
	 * and all arrive. */
	for (int i = 0; i < NSHARE; i++)
		send_seq(sc[i], &addr_b, 1, PER_CLIENT, NULL);
	ck_assert(run_until(share_done, 20000));
	mixcc_get_stats(shared, &st);
	ck_assert_uint_eq(st.overruns, 0); /* none went past the window */
	ck_assert_uint_gt(st.waits, 0);
	ck_assert_uint_gt(st.rounds, 0);
	ck_assert(st.srtt_ms > 0);
	for (int i = 0; i < NSHARE; i++)
		ck_assert_int_eq(r[i].giveups, 0);
	/* A client of the other profile cannot join. */
	struct mixclient_cfg cfg;
	const char *err = NULL;
	mixclient_cfg_defaults(&cfg);
	cfg.topo = net.topo;
	cfg.kp = &kpb;
	cfg.cbs = &rec_cbs;
	cfg.cc = shared;
	ck_assert_ptr_null(mixclient_new(net.ev, &cfg, &err));
	ck_assert_ptr_nonnull(err);
	/* Freed while messages are out: the window gets their room back. */
	for (int i = 0; i < NSHARE; i++)
		send_seq(sc[i], &addr_b, 101, 110, NULL);
	run_for(1);
	mixcc_get_stats(shared, &st);
	ck_assert_uint_gt(st.inflight, 0);
	for (int i = 0; i < NSHARE; i++)
		mixclient_free(sc[i]);
	mixcc_get_stats(shared, &st);
	ck_assert_uint_eq(st.inflight, 0);
	mixclient_free(B);
	mixcc_free(shared);
	net_stop();
}
END_TEST

/* ---- loss found before the timeout ---- */

/* Two fast clients A and B on a fresh net, attached; *addr_b: B's address. */
/* Clients A and B of the fast profile on the net started, attached. */
static void pair_up(struct mix_addr *addr_b)
{
	memset(&ra, 0, sizeof(ra));
	memset(&rb, 0, sizeof(rb));
	keypair_generate(&kpa);
	keypair_generate(&kpb);
	A = client(&kpa, &ra, 1, 0);
	B = client(&kpb, &rb, 1, 0);
	ck_assert(run_until(attached, 5000));
	mixclient_address(B, addr_b);
}

static void start_pair(struct mix_addr *addr_b)
{
	net_start();
	pair_up(addr_b);
}


static int dropped5;

static int drop_seq5_once(const uint8_t dst[32], const uint8_t *dlv)
{
	uint8_t body[PKT_BODY_BYTES];
	if (!dropped5 && !memcmp(dst, kpb.pk, 32) &&
	    pkt_open(dlv, PKT_BYTES, kpb.sk, body) == PKT_OK && body_seq(body) == 5) {
		dropped5 = 1;
		return 1;
	}
	return 0;
}

static int a_quiet_b1(void)
{
	return rb.got == 1 && mixclient_quiet(A);
}

/* start_pair, then one message (100) that teaches A B's epoch: what the
 * test sends after it is taken, not refused once for want of it. */
static void start_known_pair(struct mix_addr *addr_b)
{
	start_pair(addr_b);
	send_seq(A, addr_b, 100, 100, NULL);
	ck_assert(run_until(a_quiet_b1, 5000));
}

static int b_got_all(void)
{
	return rb.got == 40 && mixclient_quiet(A);
}

START_TEST(test_loss_found_early)
{
	struct mix_addr addr_b;
	struct mixclient_stats st;
	/* B's epoch known first, so that the drop below is of a message B
	 * would take.  No timeout can fire within the test: only the acks
	 * of later messages can tell A that 5 was lost. */
	rto_min_ms = 60000;
	start_known_pair(&addr_b);
	rto_min_ms = 0;
	dropped5 = 0;
	net.filter = drop_seq5_once;
	send_seq(A, &addr_b, 1, 20, NULL);
	/* The rest well after 5, as RACK wants: half a round trip later. */
	run_for(100);
	send_seq(A, &addr_b, 21, 39, NULL);
	ck_assert(run_until(b_got_all, 10000));
	ck_assert_int_eq(dropped5, 1);
	mixclient_get_stats(A, &st);
	ck_assert_uint_ge(st.lost_early, 1);
	ck_assert_uint_eq(st.retransmitted, st.lost_early);
	ck_assert_int_eq(rb.seen[5], 1);
	mixclient_free(A);
	mixclient_free(B);
	net_stop();
}
END_TEST

/* ---- a message going again goes first ---- */

static int b_got_199(void)
{
	return rb.got == 199 && mixclient_quiet(A);
}

START_TEST(test_retry_first)
{
	struct mix_addr addr_b;
	start_known_pair(&addr_b);
	/* 199 messages at once against a window of 32: most wait in the
	 * queue.  The first try of 5 is lost; its retry must not wait behind
	 * them all (B delivers in order: everything after 5 would wait). */
	rb.got = 0;
	dropped5 = 0;
	net.filter = drop_seq5_once;
	send_seq(A, &addr_b, 1, 99, NULL);
	send_seq(A, &addr_b, 101, 200, NULL);
	ck_assert(run_until(b_got_199, 10000));
	ck_assert_int_eq(dropped5, 1);
	ck_assert_int_eq(rb.seen[5], 1);
	ck_assert_int_lt(rb.pos[5], 150);
	mixclient_free(A);
	mixclient_free(B);
	net_stop();
}
END_TEST

/* ---- an ack lost goes again ---- */

static int drop_to_a_armed;

static int drop_one_to_a(const uint8_t dst[32], const uint8_t *dlv)
{
	(void)dlv;
	if (drop_to_a_armed && !memcmp(dst, kpa.pk, 32)) {
		drop_to_a_armed = 0;
		return 1;
	}
	return 0;
}

static int b_got1_ack_lost(void)
{
	return rb.got == 1 && !drop_to_a_armed;
}

static int a_quiet_b2(void)
{
	return rb.got == 2 && mixclient_quiet(A);
}

START_TEST(test_ack_repeated)
{
	struct mix_addr addr_b;
	struct mixclient_stats st;
	/* No timeout of A's can fire within the test, however loaded the
	 * machine: only an ack can tell A about message 1. */
	rto_min_ms = 60000;
	start_known_pair(&addr_b);
	rto_min_ms = 0;
	mixclient_get_stats(A, &st);
	uint64_t retried = st.retransmitted;
	/* B's ack of message 1 is lost.  The packet with the ack of message
	 * 2 repeats it, so A does not send 1 again (without the repeat, the
	 * ack of 2 tells A that 1 was lost: it goes again at once). */
	rb.got = 0;
	drop_to_a_armed = 1;
	net.filter = drop_one_to_a;
	send_seq(A, &addr_b, 1, 1, NULL);
	ck_assert(run_until(b_got1_ack_lost, 5000));
	send_seq(A, &addr_b, 2, 2, NULL);
	ck_assert(run_until(a_quiet_b2, 5000));
	mixclient_get_stats(A, &st);
	ck_assert_uint_eq(st.retransmitted - retried, 0);
	ck_assert_uint_eq(st.gave_up, 0);
	mixclient_free(A);
	mixclient_free(B);
	net_stop();
}
END_TEST

/* ---- a client is done only when its peers are too ---- */

static int b_done(void)
{
	return mixclient_done(B);
}

static int b_quiet(void)
{
	return mixclient_quiet(B);
}

START_TEST(test_done_after_peers)
{
	struct mix_addr addr_b;
	/* B's timeouts at least 1 s: three of them are far beyond anything
	 * a loaded machine adds between the steps below. */
	rto_min_b_ms = 1000;
	start_known_pair(&addr_b);
	rto_min_b_ms = 0;
	/* B has acked A's message: quiet at once, but A may not have the
	 * ack.  B is done once A has been silent for three of B's timeouts,
	 * as a retry of A's would have come by then.  A goes (else its
	 * unasked supplies of reply blocks would keep B hearing from it). */
	mixclient_free(A);
	uint64_t t0 = now_ms();
	/* Its ack may wait a few ms for company (delayed acks). */
	ck_assert(run_until(b_quiet, 1000));
	ck_assert(!mixclient_done(B));
	ck_assert(run_until(b_done, 10000));
	ck_assert_uint_ge(now_ms() - t0, 2000); /* 3 s after B last heard A */
	mixclient_free(B);
	net_stop();
}
END_TEST

/* ---- reply blocks as the peer needs them ---- */

/* Messages 1..60 from A to B, in 3 batches of 20, pause_ms apart. */
static void send_60(const struct mix_addr *addr_b, uint64_t pause_ms)
{
	for (int i = 0; i < 3; i++) {
		send_seq(A, addr_b, 20 * i + 1, 20 * i + 20, NULL);
		run_for(pause_ms);
	}
}

static int a_got_answers(void)
{
	return ra.got == 60 && mixclient_quiet(A) && mixclient_quiet(B);
}

static int a_got_3_answers(void)
{
	return ra.got == 3 && rb.got == 60 && mixclient_quiet(A) && mixclient_quiet(B);
}

static int b_got_60(void)
{
	return rb.got == 60 && mixclient_quiet(A);
}

START_TEST(test_blocks_as_needed)
{
	struct mix_addr addr_b;
	struct mixclient_stats st;
	/* B's epoch known first (everything sent before that is refused
	 * once, and goes again with a fresh block). */
	start_known_pair(&addr_b);
	mixclient_get_stats(A, &st);
	uint64_t before = st.surbs_sent;
	/* B only acknowledges: it needs a block per batch of acks, not one
	 * per message. */
	rb.got = 0;
	send_60(&addr_b, 100);
	ck_assert(run_until(b_got_60, 5000));
	mixclient_get_stats(A, &st);
	ck_assert_uint_lt(st.surbs_sent - before, 30 + st.retransmitted);
	/* B answers one message in 20, as a proxy's receiving end does with
	 * its credit: blocks for those answers and the acks, still not one
	 * per message (that halved the one-way goodput of a proxy). */
	before = st.surbs_sent;
	uint64_t retried = st.retransmitted;
	rb.answer = 20;
	rb.got = 0;
	send_60(&addr_b, 100);
	ck_assert(run_until(a_got_3_answers, 5000));
	mixclient_get_stats(A, &st);
	ck_assert_uint_lt(st.surbs_sent - before, 30 + (st.retransmitted - retried));
	before = st.surbs_sent;
	retried = st.retransmitted;
	ra.got = 0;
	/* B answers every message: each answer takes a block, and A sends
	 * one with every message, so no answer waits for blocks.  B may
	 * still hold some of its cushion from above (how many depends on
	 * how the timing of the stages fell): A replaces the rest. */
	struct mixclient_stats sb;
	mixclient_get_stats(B, &sb);
	uint64_t b_held = sb.surbs_received - sb.surbs_used - sb.surbs_expired;
	rb.answer = 1;
	rb.got = 0;
	send_60(&addr_b, 200);
	ck_assert(run_until(a_got_answers, 10000));
	mixclient_get_stats(A, &st);
	ck_assert_uint_ge(st.surbs_sent - before + (st.retransmitted - retried) + b_held, 60);
	mixclient_free(A);
	mixclient_free(B);
	net_stop();
}
END_TEST

/* ---- acks that must go carry a waiting message ---- */

static int ride_want;

static int a_got_ride_want(void)
{
	return ra.got == ride_want;
}

/* The window B shares with C is full of C's messages to an address
 * nobody holds, which time out only after 10 s: B's answers would wait
 * that long for room.  The acks B owes A cannot wait that long, and a packet of acks
 * alone would cost a block of A's: an answer that waits goes with them,
 * past the window (mixcc_ride), one packet for both. */
START_TEST(test_acks_carry_answers)
{
	struct mix_addr addr_b, nobody;
	struct mixcc_stats cs;
	struct mixclient_stats sb;
	struct keypair kpc;
	struct rec rc;
	net_start();
	memset(&ra, 0, sizeof(ra));
	memset(&rb, 0, sizeof(rb));
	memset(&rc, 0, sizeof(rc));
	keypair_generate(&kpa);
	keypair_generate(&kpb);
	keypair_generate(&kpc);
	A = client(&kpa, &ra, 1, 0);
	struct mixcc *cc_b = mixcc_new(net.ev, 1);
	client_cc = cc_b;
	B = client(&kpb, &rb, 1, 0);
	rto_min_other_ms = 10000;
	struct mixclient *C = client(&kpc, &rc, 1, 0);
	rto_min_other_ms = 0;
	client_cc = NULL;
	ck_assert(run_until(attached, 5000));
	mixclient_address(B, &addr_b);
	send_seq(A, &addr_b, 0, 0, NULL);
	ck_assert(run_until(a_quiet_b1, 5000));
	nobody = addr_b;
	randombytes_buf(nobody.pk, sizeof(nobody.pk));
	send_seq(C, &nobody, 1, 200, NULL);
	run_for(20);
	ck_assert(!mixcc_room(cc_b));
	rb.answer = 1;
	rb.got = 0;
	mixclient_get_stats(B, &sb);
	uint64_t pk0 = sb.packets_sent;
	for (ride_want = 1; ride_want <= 20; ride_want++) {
		send_seq(A, &addr_b, ride_want, ride_want, NULL);
		ck_assert(run_until(a_got_ride_want, 2000));
	}
	struct mixclient_stats sa;
	mixcc_get_stats(cc_b, &cs);
	mixclient_get_stats(A, &sa);
	mixclient_get_stats(B, &sb);
	/* Every answer rode acks that were due, except any that found room:
	 * B's answers, acknowledged, end rounds of a window in slow start,
	 * which grows past C's messages.  None waited for room, and no ack
	 * went alone, but for a try of A's or B's sent again on a slow
	 * machine (a second copy is acknowledged again; a second answer is
	 * a packet). */
	ck_assert_uint_gt(cs.rides, 10);
	ck_assert_uint_eq(cs.overruns, 0);
	ck_assert_uint_le(sb.packets_sent - pk0, 20 + sa.retransmitted + sb.retransmitted);
	mixclient_free(A);
	mixclient_free(B);
	mixclient_free(C);
	mixcc_free(cc_b);
	net_stop();
}
END_TEST

/* ---- acquaintance before the first message ---- */

static struct mix_addr hello_b;

static int a_knows_b(void)
{
	return mixclient_knows(A, &hello_b);
}

static int b_got1(void)
{
	return rb.got == 1;
}

START_TEST(test_hello)
{
	struct mixclient_stats st;
	struct mix_addr stranger;
	start_pair(&hello_b);
	ck_assert_int_eq(mixclient_knows(A, &hello_b), 0);
	ck_assert_int_eq(mixclient_hello(A, &hello_b), 0);
	ck_assert(run_until(a_knows_b, 5000));
	ck_assert_int_eq(rb.got, 0); /* no message came of it */
	ck_assert_int_eq(mixclient_hello(A, &hello_b), 0); /* known: nothing */
	/* The first message is taken at once: B refuses nothing, A sends
	 * it once.  (Not "one packet": A may send an ack or reply blocks
	 * to B meanwhile.) */
	struct mixclient_stats sb;
	mixclient_get_stats(A, &st);
	mixclient_get_stats(B, &sb);
	uint64_t tries = st.retransmitted, refused = sb.refused;
	send_seq(A, &hello_b, 1, 1, NULL);
	ck_assert(run_until(b_got1, 5000));
	mixclient_get_stats(A, &st);
	mixclient_get_stats(B, &sb);
	ck_assert_uint_eq(sb.refused, refused);
	ck_assert_uint_eq(st.retransmitted, tries);
	/* An address on a gateway the topology does not have. */
	stranger = hello_b;
	memset(stranger.gw, 0x5a, sizeof(stranger.gw));
	errno = 0;
	ck_assert_int_eq(mixclient_hello(A, &stranger), -1);
	ck_assert_int_eq(errno, EINVAL);
	mixclient_free(A);
	mixclient_free(B);
	net_stop();
}
END_TEST

/* ---- the gateway's report first ---- */

static int slot_of(const uint8_t pk[32]);
static int a_sent_one;

static int a_sends(void)
{
	return net.sends > a_sent_one;
}

static int a_done(void)
{
	return rb.got == 1 && mixclient_pending(A) == 0;
}

/* A new link's packets wait for the gateway's report of its links:
 * routes and reply blocks drawn before it are blind to the mixes it knows
 * dead.  Nothing goes until the report; without one, nothing until
 * MIXEDGE_REPORT_WAIT_MS have passed, then everything. */
START_TEST(test_report_first)
{
	struct mix_addr addr_b;
	uint8_t report[PKT_BYTES];
	net_start();
	net.no_report = 1;
	uint64_t up = now_ms();
	pair_up(&addr_b);
	a_sent_one = net.sends;
	send_seq(A, &addr_b, 1, 1, NULL);
	run_for(300);
	ck_assert_int_eq(net.sends, a_sent_one); /* held: no report yet */
	/* A's gateway reports: A's message goes at once. */
	route_status_encode(report, NULL, 0);
	ck_assert_int_eq(link_send(net.cl[slot_of(kpa.pk)].l, LF_STATUS, NULL, report), 0);
	ck_assert(run_until(a_sends, 1000));
	/* B, never told, answers (its acks) only once the wait is over. */
	ck_assert(run_until(a_done, MIXEDGE_REPORT_WAIT_MS + 5000));
	ck_assert_uint_ge(now_ms() - up, MIXEDGE_REPORT_WAIT_MS);
	mixclient_free(A);
	mixclient_free(B);
	net_stop();
}
END_TEST

/* ---- paced delivery ---- */

static int slot_of(const uint8_t pk[32])
{
	for (int i = 0; i < NET_CLIENTS; i++)
		if (net.cl[i].l && !memcmp(net.cl[i].pk, pk, 32))
			return i;
	return -1;
}

static int a_paced_twice(void)
{
	int i = slot_of(kpa.pk);
	return i >= 0 && net.cl[i].paces == 2 && mixclient_is_attached(A);
}

/* Each link's first frame says whether to pace: a client of the default
 * profile asks for its --receive-mean, on every link, and takes padding
 * as nothing; one of the fast profile asks for none (0). */
START_TEST(test_paced_ask)
{
	struct mixclient_stats st;
	uint8_t pad[PKT_BYTES] = { 0 };
	net_start();
	memset(&ra, 0, sizeof(ra));
	memset(&rb, 0, sizeof(rb));
	keypair_generate(&kpa);
	keypair_generate(&kpb);
	receive_ms = 7.5;
	A = client(&kpa, &ra, 0, 0);
	B = client(&kpb, &rb, 1, 0);
	ck_assert(run_until(attached, 5000));
	run_for(50);
	int a = slot_of(kpa.pk), b = slot_of(kpb.pk);
	ck_assert_int_eq(net.cl[a].paces, 1);
	ck_assert_uint_eq(net.cl[a].paced_us, 7500);
	ck_assert_int_eq(net.cl[b].paces, 1);
	ck_assert_uint_eq(net.cl[b].paced_us, 0);
	ck_assert_int_eq(link_send(net.cl[a].l, LF_PAD, NULL, pad), 0);
	run_for(50);
	mixclient_get_stats(A, &st);
	ck_assert_uint_eq(st.pads_received, 1);
	ck_assert_uint_eq(st.undecodable, 0);
	/* A's link drops: it asks again on the next. */
	link_close(net.cl[a].l, "test: dropped");
	ck_assert(run_until(a_paced_twice, 5000));
	ck_assert_uint_eq(net.cl[slot_of(kpa.pk)].paced_us, 7500);
	receive_ms = 0;
	mixclient_free(A);
	mixclient_free(B);
	net_stop();
}
END_TEST

/* ---- identities that share a link (mixedge.h) ---- */

static struct rec rc;
static struct mixclient *C;

static int a_got6(void)
{
	return ra.seen[6] > 0;
}

static int a_got7(void)
{
	return ra.seen[7] > 0;
}

static int a_attached_again(void)
{
	return net.attaches == 3;
}

static int shared_done(void)
{
	return ra.got >= 5 && rb.got >= 5;
}

/* The shared edge has scheduled shared_until slots and loops. */
static const struct mixedge_stats *shared_es;
static uint64_t shared_until;

static int shared_scheduled(void)
{
	return shared_es->slots + shared_es->loops >= shared_until;
}

static int b_detached(void)
{
	return net.detaches == 1;
}

/* Links the gateway holds now. */
static int gw_links(void)
{
	struct link *seen[NET_CLIENTS];
	int n = 0;
	for (int i = 0; i < NET_CLIENTS; i++) {
		int k = 0;
		while (k < n && seen[k] != net.cl[i].l)
			k++;
		if (net.cl[i].l && k == n)
			seen[n++] = net.cl[i].l;
	}
	return n;
}

START_TEST(test_shared_edge)
{
	struct keypair kpc;
	struct mix_addr addr_c;
	net_start();
	memset(&ra, 0, sizeof(ra));
	memset(&rb, 0, sizeof(rb));
	memset(&rc, 0, sizeof(rc));
	keypair_generate(&kpa);
	keypair_generate(&kpb);
	keypair_generate(&kpc);
	/* A and B on one link, in the default profile: one schedule. */
	struct routes *rt = routes_new(net.topo);
	struct mixedge_cfg ec = { .send_mean_ms = slot_ms, .loop_mean_ms = 1000, .routes = rt };
	struct mixedge *edge = mixedge_new(net.ev, topo_by_name(net.topo, "gw1"), NULL, &ec);
	struct mixclient_cfg cfg;
	const char *err;
	rc.answer = 1;
	C = client(&kpc, &rc, 0, 0);
	mixclient_address(C, &addr_c);
	client_edge = edge;
	A = client(&kpa, &ra, 0, 0);
	B = client(&kpb, &rb, 0, 0);
	client_edge = NULL;
	/* Another gateway than the link's, or other routes: refused. */
	mixclient_cfg_defaults(&cfg);
	cfg.topo = net.topo;
	cfg.kp = &kpc;
	cfg.edge = edge;
	cfg.cbs = &rec_cbs;
	cfg.gateway = "gw2";
	ck_assert_ptr_null(mixclient_new(net.ev, &cfg, &err));
	cfg.gateway = NULL;
	cfg.routes = routes_new(net.topo);
	ck_assert_ptr_null(mixclient_new(net.ev, &cfg, &err));
	ck_assert_str_eq(err, "a shared link whose reports go to other routes");
	routes_free(cfg.routes);
	ck_assert_int_eq(mixedge_tenants(edge), 2);

	send_seq(A, &addr_c, 1, 5, NULL);
	send_seq(B, &addr_c, 11, 15, NULL);
	ck_assert(run_until(shared_done, 20000));
	for (int i = 1; i <= 5; i++) {
		ck_assert_int_eq(ra.seen[i], 1);
		ck_assert_int_eq(rb.seen[10 + i], 1);
	}
	/* Two links at the gateway, the shared one and C's; both keys
	 * proven on the shared one, whose own key is neither. */
	ck_assert_int_eq(gw_links(), 2);
	ck_assert_int_eq(net.attaches, 2);
	ck_assert_uint_eq(mixedge_stats(edge)->attaches, 2);
	/* One schedule: over 200 of the edge's slots and loops (a second
	 * on average), the link carried a frame for each, and nothing else
	 * (both identities still owe acks and send cover; give or take the
	 * few frames on their way at either end).  Counted in slots, not
	 * time: a loaded machine runs fewer slots in a second. */
	const struct mixedge_stats *es = mixedge_stats(edge);
	for (int i = 0; i < NET_CLIENTS; i++)
		if (net.cl[i].l && !memcmp(net.cl[i].pk, kpa.pk, 32))
			net.watch = net.cl[i].l;
	ck_assert_ptr_nonnull(net.watch);
	uint64_t sched0 = es->slots + es->loops;
	int w0 = net.watched;
	/* Messages to send meanwhile: they wait for slots too. */
	send_seq(A, &addr_c, 21, 40, NULL);
	shared_es = es;
	shared_until = sched0 + 200;
	ck_assert(run_until(shared_scheduled, 20000));
	long frames = net.watched - w0, sched = (long)(es->slots + es->loops - sched0);
	if (getenv("TEST_VERBOSE"))
		fprintf(stderr, "shared edge: %ld frames for %ld slots and loops\n", frames, sched);
	ck_assert_msg(labs(frames - sched) <= 5, "%ld frames for %ld slots and loops", frames, sched);
	net.watch = NULL;

	/* A report of the gateway's links on the shared link reaches the
	 * routes the identities share once, not once an identity. */
	struct route_stats rs0, rs1;
	uint8_t report[PKT_BYTES];
	routes_get_stats(rt, &rs0);
	route_status_encode(report, NULL, 0);
	for (int i = 0; i < NET_CLIENTS; i++)
		if (net.cl[i].l && !memcmp(net.cl[i].pk, kpa.pk, 32))
			ck_assert_int_eq(link_send(net.cl[i].l, LF_STATUS, NULL, report), 0);
	run_for(100);
	routes_get_stats(rt, &rs1);
	ck_assert_uint_eq(rs1.link_reports - rs0.link_reports, 1);

	/* B goes: its key is detached, in a slot; A goes on. */
	mixclient_free(B);
	B = NULL;
	ck_assert(run_until(b_detached, 5000));
	ck_assert_int_eq(mixedge_tenants(edge), 1);
	send_seq(A, &addr_c, 6, 6, NULL);
	ck_assert(run_until(a_got6, 10000));

	/* The link drops: A's key is attached again on the next. */
	for (int i = 0; i < NET_CLIENTS; i++)
		if (net.cl[i].l && !memcmp(net.cl[i].pk, kpa.pk, 32)) {
			link_close(net.cl[i].l, "test: dropped");
			break;
		}
	ck_assert(run_until(a_attached_again, 5000));
	send_seq(A, &addr_c, 7, 7, NULL);
	ck_assert(run_until(a_got7, 10000));

	mixclient_free(A);
	mixclient_free(C);
	mixedge_free(edge);
	routes_free(rt);
	keypair_wipe(&kpc);
	net_stop();
}
END_TEST

Suite *suite_mixclient(void)
{
	Suite *s = suite_create("mixclient");
	TCase *tc = tcase_create("mixclient");
	tcase_add_test(tc, test_body_parser);
	tcase_add_test(tc, test_senders_cannot_be_pinned);
	suite_add_tcase(s, tc);
	TCase *tn = tcase_create("mixclient_net");
	tcase_set_timeout(tn, 60);
	tcase_add_test(tn, test_peer_restart);
	tcase_add_loop_test(tn, test_forgotten_resend, 0, 2);
	tcase_add_test(tn, test_send_giveup);
	tcase_add_test(tn, test_reply_deadline);
	tcase_add_test(tn, test_sender_eviction);
	tcase_add_test(tn, test_acks_round_robin);
	tcase_add_test(tn, test_backoff_unmeasured);
	tcase_add_test(tn, test_shared_window);
	tcase_add_test(tn, test_loss_found_early);
	tcase_add_test(tn, test_blocks_as_needed);
	tcase_add_test(tn, test_acks_carry_answers);
	tcase_add_test(tn, test_hello);
	tcase_add_test(tn, test_report_first);
	tcase_add_test(tn, test_paced_ask);
	tcase_add_test(tn, test_retry_first);
	tcase_add_test(tn, test_ack_repeated);
	tcase_add_test(tn, test_done_after_peers);
	tcase_add_test(tn, test_announce_each_refusal);
	tcase_add_test(tn, test_shared_edge);
	suite_add_tcase(s, tn);
	return s;
}
