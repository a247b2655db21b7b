/* mpclient — a test client of the mixnet (tests and benchmarks only).
 *
 *   mpclient pingpong -t TOPOLOGY [-n COUNT] [--rate PPS] [--delay-ms MEAN]
 *                     [--timeout SECS] [--gw-a ID] [--gw-b ID]
 *       Two fresh identities in one process attach to two gateways; A
 *       sends COUNT packets to B through the three mix layers; B counts what
 *       arrives (exactly once?) and the one-way delay.  Prints one JSON line.
 *   mpclient inject -t TOPOLOGY --kind replay|tamper [--gw-a ID] [--wait-file F]
 *       Sends one good packet to B, then a replay of it (or a copy with a
 *       flipped header bit): B must receive exactly one.  --wait-file:
 *       once B has the first, creates F.sent and waits (up to --timeout)
 *       until F exists before the second (the nodes may restart meanwhile).
 *   mpclient stranger -t TOPOLOGY --target ID
 *       Connects to node ID as a node with a key outside the topology and
 *       tries to hand it a packet; succeeds (exit 0) if the link is refused.
 *   mpclient mailbox -t TOPOLOGY [-n COUNT] [--gw-a ID] [--gw-b ID] [--timeout SECS]
 *       B attaches and leaves; A sends COUNT packets to B; an impostor
 *       claiming B's key attaches (and must get nothing); then B returns
 *       and must find all COUNT in its mailbox within SECS, each once.
 *   mpclient keys -t TOPOLOGY [-n COUNT] [--rate PPS] [--gw-a ID] [--gw-b ID]
 *       The attack of made-up keys on gateway B (mixproxy-protocol(7),
 *       SECURITY NOTES): A sends COUNT packets through the mixnet, each for
 *       a fresh random key at B's gateway, which has to keep their mail as
 *       a stranger's.  Exit 0 once all went out.
 *   mpclient hold -t TOPOLOGY [-n COUNT] [--gw-b ID] [--from ADDR,...] [--seconds S]
 *                 [--idle] [--target ID]
 *       The attack on a node's link slots: COUNT client links, each with a
 *       fresh key, to B's gateway from the local addresses ADDR in turn,
 *       held S seconds (10) or until SIGTERM; --idle: TCP connections
 *       that never say hello, to node ID if --target names one (a mix
 *       too).  Prints how many the node holds at the end.  Exit 0.
 *   mpclient pin -t TOPOLOGY --to ADDRESS [-n TAGS] [--rate PPS] [--gw-a ID] [--seconds S]
 *       The attack on a receiver's table of anonymous senders (issue 15,
 *       item 4): A writes to ADDRESS under TAGS made-up sender tags.  Each
 *       tag's first message carries one reply block, which the receiver
 *       answers with its epoch for the tag; from then on A sends, for
 *       every tag in turn, messages that name that epoch and carry no
 *       block, so the receiver owes acks it has no way to send.  Runs S
 *       seconds (10) or until SIGTERM at PPS packets a second (500), with
 *       at most 512 asks unanswered at once (an ask unanswered for 10 s
 *       is made again under a new tag); says "ready" on stderr once every
 *       tag has asked and 9 in 10 learned their epoch; prints how many
 *       did.  Exit 0 when at least half did.
 *
 * Exit 0 when the run met its expectation, 1 otherwise. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "ev.h"
#include "keys.h"
#include "link.h"
#include "log.h"
#include "htab.h"
#include "mixbody.h"
#include "packet.h"
#include "proxymsg.h"
#include "rng.h"
#include "topology.h"
#include "util.h"

struct cl {
	const char *name;
	struct keypair kp;
	const struct topo_node *gw;
	struct link *link;
	int up, down, refused;
	int reported;   /* the gateway's report came: it has us attached */
	uint64_t received, unique, dup, bad;
	uint8_t *seen;  /* one byte per sequence number */
	uint64_t *lat;  /* one-way delays of unique arrivals, microseconds */
};

static struct ev *ev;
static struct topology *topo;
static uint64_t count = 1000, rate = 0, timeout_s = 60;
static double delay_ms = 0;
static struct cl A, B;
static uint64_t sent, send_timer, deadline_timer;
static const char *mode;
static int done;
static int made_up_keys; /* keys: every packet for a fresh key */
static uint64_t hold_s = 10;
static int idle;

/* pin: one made-up sender tag and what A knows of the receiver's state
 * for it. */
struct pin {
	uint8_t tag[MB_TAG_BYTES];
	uint64_t epoch;           /* the receiver's, from its answer (0: not yet) */
	uint64_t next;            /* id and packet number of the next message */
	struct surb_secret sec;   /* of the block its first message carried */
	uint64_t asked_ms;        /* when its first message went */
	int lost;                 /* no answer within PIN_ANSWER_MS */
};
/* Asks without an answer yet, at most: a receiver slower than the rate
 * (a loaded machine) would otherwise see new tags push out the ones it
 * has not answered yet, and the attack would never reach strength. */
#define PIN_OUTSTANDING 512
#define PIN_ANSWER_MS 10000
static struct pin *pins;
static struct htab *pin_blocks;  /* block tag -> pin */
static struct mix_addr victim;
static uint64_t pin_learned, pin_answers;
static uint64_t pin_lost_n;      /* pins lost, not asked again yet */

static uint32_t exp_delay_us(void)
{
	if (delay_ms <= 0)
		return 0;
	/* Inverse transform of a uniform draw in (0, 1]. */
	double u = ((double)randombytes_random() + 1.0) / 4294967296.0;
	double us = -log(u) * delay_ms * 1000.0;
	return us > 4e9 ? 4000000000u : (uint32_t)us;
}

static void cl_down(struct link *l, const char *why, void *ctx)
{
	struct cl *c = ctx;
	(void)l;
	if (!c->up)
		c->refused = 1;
	c->up = 0;
	c->down = 1;
	c->link = NULL;
	log_debug("%s: link down: %s", c->name, why);
}

/* pin: the receiver's answer to a tag's first message came through the
 * tag's block; it names the receiver's epoch for the tag. */
static void pin_answer(const uint8_t *dlv)
{
	uint8_t btag[PKT_TAG_BYTES], body[PKT_BODY_BYTES];
	struct mb_view v;
	struct pin *p;
	if (pkt_delivery_tag(dlv, PKT_BYTES, btag) != PKT_OK || !(p = htab_get(pin_blocks, btag)) ||
	    surb_open(dlv, PKT_BYTES, &p->sec, body) != PKT_OK || mb_parse(body, sizeof(body), &v))
		return;
	pin_answers++;
	if (!p->epoch && v.h.epoch) {
		p->epoch = v.h.epoch;
		pin_learned++;
		if (p->lost) { /* late, but here */
			p->lost = 0;
			pin_lost_n--;
		}
	}
}

static void cl_frame(struct link *l, enum link_frame_type t, const uint8_t *id, uint8_t *pkt,
                     void *ctx)
{
	struct cl *c = ctx;
	uint8_t body[PKT_BODY_BYTES];
	(void)l;
	(void)id;
	if (t == LF_STATUS) {
		c->reported = 1; /* the gateway's report of its links: not a delivery */
		return;
	}
	c->received++;
	if (pins) {
		pin_answer(pkt);
		return;
	}
	if (pkt_open(pkt, PKT_BYTES, c->kp.sk, body) != PKT_OK) {
		c->bad++;
		return;
	}
	uint32_t seq = be32_get(body);
	uint64_t t0 = ((uint64_t)be32_get(body + 4) << 32) | be32_get(body + 8);
	if (seq >= count) {
		c->bad++;
		return;
	}
	if (c->seen[seq]) {
		c->dup++;
		return;
	}
	c->seen[seq] = 1;
	c->lat[c->unique++] = now_us() - t0;
}

static void cl_up(struct link *l, void *ctx);
static void cl_drain(struct link *l, void *ctx);

static const struct link_cbs cl_cbs = {
	.on_up = cl_up,
	.on_frame = cl_frame,
	.on_drain = cl_drain,
	.on_down = cl_down,
};

static void cl_attach(struct cl *c)
{
	c->up = c->down = c->refused = c->reported = 0;
	c->link = link_connect(ev, (const struct sockaddr *)&c->gw->addr, c->gw->addrlen, &c->kp,
	                       c->gw->pk, LINK_CLIENT, 4096, &cl_cbs, c);
}

static int make_packet(uint8_t pkt[PKT_BYTES], uint8_t first[PKT_ID_BYTES], uint32_t seq)
{
	struct pkt_hop route[PKT_HOPS];
	uint8_t body[PKT_BODY_BYTES];
	topo_route(topo, B.gw, route);
	for (int i = 0; i < PKT_HOPS - 1; i++)
		route[i].delay_us = exp_delay_us();
	randombytes_buf(body, sizeof(body));
	uint64_t t = now_us();
	be32_put(body, seq);
	be32_put(body + 4, (uint32_t)(t >> 32));
	be32_put(body + 8, (uint32_t)t);
	memcpy(first, route[0].id, PKT_ID_BYTES);
	uint8_t to[PKT_KEY_BYTES];
	int rc;
	do {
		/* A random key is a low-order point once in 2^250 or so,
		 * which pkt_create refuses: draw again. */
		if (made_up_keys)
			randombytes_buf(to, sizeof(to));
		else
			memcpy(to, B.kp.pk, sizeof(to));
		rc = pkt_create(pkt, route, to, body, sizeof(body), (uint32_t)(wall_s() / 60));
	} while (rc != PKT_OK && made_up_keys);
	return rc;
}

static void send_some(void)
{
	uint8_t pkt[PKT_BYTES], first[PKT_ID_BYTES];
	while (sent < count && A.link && A.up && link_queue_room(A.link) > 0) {
		if (make_packet(pkt, first, (uint32_t)sent) != PKT_OK)
			fatal(1, "cannot build a packet");
		link_send(A.link, LF_SEND, first, pkt);
		sent++;
		if (rate)
			break;
	}
}

static void on_send_timer(struct ev *e, void *ctx)
{
	(void)ctx;
	send_timer = 0;
	send_some();
	if (sent < count)
		send_timer = ev_timer_add_us(e, rate ? 1000000u / rate : 1000, on_send_timer, NULL);
}

static int sending; /* start_sending ran: A's drains send more */

static void cl_drain(struct link *l, void *ctx)
{
	(void)l;
	if (ctx == &A && sending && !rate)
		send_some();
}

static void start_sending(void)
{
	sending = 1;
	if (rate)
		send_timer = ev_timer_add(ev, 0, on_send_timer, NULL);
	else
		send_some();
}

static void cl_up(struct link *l, void *ctx)
{
	struct cl *c = ctx;
	static const uint8_t no_pace[PKT_BYTES];
	c->up = 1;
	/* First, as mixclient does: no pacing; the gateway holds a new
	 * client's mail until it knows (mixproxy-protocol(7), PACE). */
	link_send(l, LF_PACE, NULL, no_pace);
	if (!strcmp(mode, "pingpong") && A.up && B.up && sent == 0)
		start_sending();
	if (made_up_keys && A.up && sent == 0)
		start_sending();
}

/* hold and pin run until SIGTERM if the test that runs them needs them
 * for longer than it can tell beforehand. */
static int terminated;

static void on_term(struct ev *e, int signo, void *ctx)
{
	(void)signo;
	(void)ctx;
	terminated = 1;
	ev_stop(e);
}

static void on_deadline(struct ev *e, void *ctx)
{
	(void)ctx;
	deadline_timer = 0;
	ev_stop(e);
}

/* Stop once everything arrived, with a short grace for duplicates. */
static void on_poll(struct ev *e, void *ctx)
{
	(void)ctx;
	if (!strcmp(mode, "pingpong") && B.unique >= count && !done) {
		done = 1;
		ev_timer_add(e, 300, on_deadline, NULL);
		return;
	}
	ev_timer_add(e, 20, on_poll, NULL);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void report(void)
{
	double mean = 0;
	uint64_t p50 = 0, p99 = 0;
	if (B.unique) {
		for (uint64_t i = 0; i < B.unique; i++)
			mean += (double)B.lat[i];
		mean /= (double)B.unique;
		qsort(B.lat, B.unique, sizeof(uint64_t), cmp_u64);
		p50 = B.lat[B.unique / 2];
		p99 = B.lat[(B.unique * 99) / 100 >= B.unique ? B.unique - 1 : (B.unique * 99) / 100];
	}
	printf("{\"mode\":\"%s\", \"sent\":%llu, \"received\":%llu, \"unique\":%llu, "
	       "\"duplicates\":%llu, \"bad\":%llu, \"lat_mean_us\":%.0f, \"lat_p50_us\":%llu, "
	       "\"lat_p99_us\":%llu}\n", mode,
	       (unsigned long long)sent, (unsigned long long)B.received,
	       (unsigned long long)B.unique, (unsigned long long)B.dup, (unsigned long long)B.bad,
	       mean, (unsigned long long)p50, (unsigned long long)p99);
	fflush(stdout);
}

static void run_for(uint64_t ms)
{
	uint64_t t = ev_timer_add(ev, ms, on_deadline, NULL);
	ev_run(ev);
	ev_timer_cancel(ev, t);
}

/* Run the loop until cond() holds or ms pass. */
static int run_until(int (*cond)(void), uint64_t ms)
{
	uint64_t end = now_ms() + ms;
	while (!cond() && now_ms() < end)
		ev_run_once(ev, 20);
	return cond();
}

static int both_up(void) { return A.up && B.up; }
static int a_up(void) { return A.up || A.down; }
static int b_settled(void) { return B.up || B.down; }
static int b_reported(void) { return B.reported || B.down; }

static const struct topo_node *pick_gw(const char *name)
{
	if (!name)
		return topo_random_gateway(topo);
	const struct topo_node *g = topo_by_name(topo, name);
	if (!g || g->role != TOPO_GATEWAY)
		fatal(EXIT_USAGE, "mpclient: '%s' is not a gateway of the topology", name);
	return g;
}

static int b_got_one(void) { return B.received >= 1; }

/* Until path exists, or timeout_s seconds. */
static int wait_file(const char *path)
{
	for (uint64_t waited = 0; waited < timeout_s * 1000; waited += 100) {
		if (!access(path, F_OK))
			return 1;
		run_for(100);
	}
	return 0;
}

static int do_inject(const char *kind, const char *wait)
{
	uint8_t pkt[PKT_BYTES], copy[PKT_BYTES], first[PKT_ID_BYTES];
	count = 1;
	cl_attach(&A);
	cl_attach(&B);
	if (!run_until(both_up, 5000))
		fatal(1, "mpclient: could not attach to the gateways");
	if (make_packet(pkt, first, 0) != PKT_OK)
		fatal(1, "cannot build a packet");
	memcpy(copy, pkt, PKT_BYTES);
	if (!strcmp(kind, "tamper"))
		copy[100] ^= 0x01;
	else if (strcmp(kind, "replay"))
		fatal(EXIT_USAGE, "mpclient: --kind must be replay or tamper");
	link_send(A.link, LF_SEND, first, pkt);
	if (wait) {
		char sent_path[4096];
		snprintf(sent_path, sizeof(sent_path), "%s.sent", wait);
		if (!run_until(b_got_one, 5000))
			fatal(1, "mpclient: the first packet did not arrive");
		int fd = open(sent_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0)
			fatal(1, "mpclient: %s: %s", sent_path, strerror(errno));
		close(fd);
		if (!wait_file(wait))
			fatal(1, "mpclient: %s did not appear", wait);
	}
	link_send(A.link, LF_SEND, first, copy);
	sent = 2;
	run_for(1500);
	report();
	return B.unique == 1 && B.received == 1 ? 0 : 1;
}

static int do_stranger(const char *target)
{
	const struct topo_node *t = target ? topo_by_name(topo, target) : NULL;
	uint8_t pkt[PKT_BYTES], first[PKT_ID_BYTES];
	if (!t)
		fatal(EXIT_USAGE, "mpclient: --target must name a node of the topology");
	cl_attach(&B);
	run_until(b_settled, 5000);
	/* A stranger: its own key, not in the topology, claiming to be a node. */
	A.link = link_connect(ev, (const struct sockaddr *)&t->addr, t->addrlen, &A.kp, t->pk,
	                      LINK_NODE, 16, &cl_cbs, &A);
	if (make_packet(pkt, first, 0) != PKT_OK)
		fatal(1, "cannot build a packet");
	link_send(A.link, LF_PACKET, NULL, pkt); /* queued until "up" */
	run_until(a_up, 5000);
	run_for(1000);
	printf("{\"mode\":\"stranger\", \"link_up\":%d, \"refused\":%d, \"received\":%llu}\n",
	       A.up, A.refused, (unsigned long long)B.received);
	return !A.up && A.refused && B.received == 0 ? 0 : 1;
}

/* mailbox: the impostor, which knows B's public key only. */
static struct cl imp = { .name = "impostor" };
static int imp_down(void) { return imp.down; }
static int b_has_all_or_gone(void) { return B.unique >= count || B.down; }

static int do_mailbox(void)
{
	uint8_t pkt[PKT_BYTES], first[PKT_ID_BYTES];
	/* B leaves once the gateway's report says it has B attached: up on
	 * B's side, the last handshake message may still be on its way. */
	cl_attach(&B);
	if (!run_until(b_reported, 5000) || !B.up)
		fatal(1, "mpclient: B could not attach");
	link_close(B.link, "leaving for a while");
	run_for(200);
	cl_attach(&A);
	if (!run_until(a_up, 5000) || !A.up)
		fatal(1, "mpclient: A could not attach");
	for (sent = 0; sent < count; sent++) {
		if (make_packet(pkt, first, (uint32_t)sent) != PKT_OK)
			fatal(1, "cannot build a packet");
		if (link_send(A.link, LF_SEND, first, pkt))
			fatal(1, "mpclient: link queue full");
	}
	/* Nothing says when the mail is in B's mailbox: with no delays
	 * asked for, it is there in milliseconds, and this is ample. */
	run_for(1500);
	keypair_generate(&imp.kp);
	memcpy(imp.kp.pk, B.kp.pk, 32);
	imp.gw = B.gw;
	imp.seen = xcalloc(count, 1);
	imp.lat = xcalloc(count, sizeof(uint64_t));
	/* The gateway ends the impostor's link once its handshake fails;
	 * up on the impostor's side for a moment does not count. */
	cl_attach(&imp);
	run_until(imp_down, 1500);
	uint64_t before = B.received;
	cl_attach(&B);
	/* All the mail, then a while for a second copy of any of it; a B
	 * refused or dropped waits no longer. */
	if (run_until(b_settled, 5000) && B.up) {
		run_until(b_has_all_or_gone, timeout_s * 1000);
		run_for(500);
	}
	printf("{\"mode\":\"mailbox\", \"sent\":%llu, \"impostor_up\":%d, \"impostor_received\":%llu, "
	       "\"received\":%llu, \"unique\":%llu, \"duplicates\":%llu}\n", (unsigned long long)sent,
	       imp.up, (unsigned long long)imp.received, (unsigned long long)(B.received - before),
	       (unsigned long long)B.unique, (unsigned long long)B.dup);
	int ok = !imp.up && imp.received == 0 && B.unique == count && B.dup == 0;
	free(imp.seen);
	free(imp.lat);
	return ok ? 0 : 1;
}

static int all_out(void)
{
	return A.down || (sent >= count && A.link && link_queue_len(A.link) == 0);
}

static int do_keys(void)
{
	uint64_t t0 = now_us();
	run_until(all_out, timeout_s * 1000);
	double secs = (double)(now_us() - t0) / 1e6;
	printf("{\"mode\":\"keys\", \"sent\":%llu, \"seconds\":%.2f}\n", (unsigned long long)sent,
	       secs);
	return sent >= count && !A.down ? 0 : 1;
}

/* pin: the next packet for tag p.  Its first carries a block back to A
 * and names no epoch (the receiver answers with its own); the rest name
 * the epoch learned and carry a message the receiver takes (a CREDIT
 * for a session it never had: dropped, but acked) and no block. */
static int pin_packet(struct pin *p, uint8_t pkt[PKT_BYTES], uint8_t first[PKT_ID_BYTES])
{
	struct pkt_hop route[PKT_HOPS];
	const struct topo_node *gw = topo_by_id(topo, victim.gw);
	struct mb_writer b;
	uint8_t msg[PMSG_HDR];
	struct pmsg m = { .kind = PMSG_CREDIT };
	uint32_t min = (uint32_t)(wall_s() / 60);
	if (!gw)
		return -1;
	randombytes_buf(m.sid, sizeof(m.sid));
	size_t len = pmsg_encode(msg, sizeof(msg), &m);
	mb_begin(&b, MB_DATA, p->next, p->tag);
	b.h.try = 1;
	b.h.pnum = p->next;
	b.h.floor = p->next;
	b.h.epoch = p->epoch;
	if (p->next == 1) {
		uint8_t surb[SURB_BYTES];
		topo_route(topo, A.gw, route);
		if (surb_create(surb, &p->sec, route, A.kp.pk, min) != PKT_OK ||
		    mb_add_surb(&b, surb) || htab_put(pin_blocks, p->sec.tag, p))
			return -1;
	}
	if (!len || mb_add_data(&b, msg, len))
		return -1;
	p->next++;
	topo_route(topo, gw, route);
	memcpy(first, route[0].id, PKT_ID_BYTES);
	return pkt_create(pkt, route, victim.pk, mb_finish(&b), PKT_BODY_BYTES, min) == PKT_OK ? 0 : -1;
}

static struct pin *pin_lost(void)
{
	for (uint64_t k = 0; k < count; k++)
		if (pins[k].lost)
			return &pins[k];
	return NULL;
}

/* Full strength for the whole time: first every tag asks once, then
 * every tag that learned its epoch writes in turn, at the rate. */
static int do_pin(const char *to)
{
	const char *why;
	uint8_t pkt[PKT_BYTES], first[PKT_ID_BYTES];
	if (!to || mix_addr_parse(to, &victim, &why))
		fatal(EXIT_USAGE, "mpclient: --to must be an address KEY@GATEWAY%s%s", to ? ": " : "",
		      to ? why : "");
	if (!topo_by_id(topo, victim.gw))
		fatal(EXIT_USAGE, "mpclient: --to: its gateway is not in the topology");
	if (!rate)
		rate = 500;
	pins = xcalloc(count, sizeof(*pins));
	pin_blocks = htab_new(PKT_TAG_BYTES, count);
	for (uint64_t i = 0; i < count; i++) {
		randombytes_buf(pins[i].tag, MB_TAG_BYTES);
		pins[i].next = 1;
	}
	cl_attach(&A);
	if (!run_until(a_up, 5000) || !A.up)
		fatal(1, "mpclient: could not attach to %s", A.gw->name);
	uint64_t t0 = now_us(), end = t0 + hold_s * 1000000, i = 0, asked = 0;
	uint64_t swept_ms = now_ms();
	int ready = 0;
	while (now_us() < end && A.link && !terminated) {
		/* Asks unanswered this long are lost: they wait no more. */
		if (now_ms() - swept_ms >= 1000) {
			swept_ms = now_ms();
			for (uint64_t k = 0; k < asked; k++)
				if (!pins[k].epoch && !pins[k].lost &&
				    swept_ms - pins[k].asked_ms > PIN_ANSWER_MS) {
					pins[k].lost = 1;
					pin_lost_n++;
				}
		}
		/* At strength: the test may go on (stderr, at once). */
		if (!ready && asked == count && pin_learned * 10 >= count * 9) {
			ready = 1;
			fprintf(stderr, "ready: %llu tags of %llu learned their epoch\n",
			        (unsigned long long)pin_learned, (unsigned long long)count);
			fflush(stderr);
		}
		/* The packets due by now, as far as the link takes them. */
		uint64_t due = (now_us() - t0) * rate / 1000000;
		while (sent < due && A.link && link_queue_room(A.link) > 0) {
			struct pin *p = NULL;
			if (asked < count && asked - pin_learned - pin_lost_n < PIN_OUTSTANDING) {
				p = &pins[asked++];
				p->asked_ms = now_ms();
			} else if (asked == count && pin_lost_n && (p = pin_lost()) != NULL) {
				/* Asked again, under a tag of its own. */
				htab_del(pin_blocks, p->sec.tag);
				randombytes_buf(p->tag, MB_TAG_BYTES);
				p->next = 1;
				p->lost = 0;
				p->asked_ms = now_ms();
				pin_lost_n--;
			} else if (asked < count && !pin_learned) {
				break; /* none to pin with yet */
			} else {
				for (uint64_t k = 0; k < count && !p; k++) {
					if (pins[i].epoch)
						p = &pins[i];
					i = (i + 1) % count;
				}
			}
			if (!p)
				break; /* no answer yet: nothing to pin with */
			if (pin_packet(p, pkt, first))
				fatal(1, "mpclient: cannot build a packet");
			link_send(A.link, LF_SEND, first, pkt);
			sent++;
		}
		ev_run_once(ev, 5);
	}
	printf("{\"mode\":\"pin\", \"tags\":%llu, \"learned\":%llu, \"answers\":%llu, "
	       "\"sent\":%llu}\n", (unsigned long long)count, (unsigned long long)pin_learned,
	       (unsigned long long)pin_answers, (unsigned long long)sent);
	for (uint64_t k = 0; k < count; k++)
		sodium_memzero(&pins[k].sec, sizeof(pins[k].sec));
	htab_free(pin_blocks);
	free(pins);
	pins = NULL;
	return A.link && pin_learned * 2 >= count ? 0 : 1;
}

/* A socket still open at the far end: not at EOF, nor reset. */
static int still_open(int fd)
{
	char b;
	ssize_t r = recv(fd, &b, 1, MSG_DONTWAIT | MSG_PEEK);
	return r > 0 || (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
}

/* One connection of the crowd, from fa (fl 0: any address). */
static int idle_connect(const struct sockaddr_storage *fa, socklen_t fl)
{
	int fd = socket(B.gw->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || (fl && bind(fd, (const struct sockaddr *)fa, fl)))
		fatal(1, "mpclient: socket: %s", strerror(errno));
	if (connect(fd, (const struct sockaddr *)&B.gw->addr, B.gw->addrlen) < 0 &&
	    errno != EINPROGRESS)
		fatal(1, "mpclient: connect: %s", strerror(errno));
	return fd;
}

static void held_connect(struct cl *c, const struct sockaddr_storage *fa, socklen_t fl)
{
	c->up = c->down = c->refused = c->reported = 0;
	c->link = link_connect_from(ev, fl ? (const struct sockaddr *)fa : NULL, fl,
	                            (const struct sockaddr *)&B.gw->addr, B.gw->addrlen, &c->kp,
	                            B.gw->pk, LINK_CLIENT, 64, &cl_cbs, c);
}

/* Full strength: what the node closes is opened again at once, for the
 * whole time. */
#define HOLD_FROM_MAX 16

/* --from: numeric addresses, comma-separated (the port is any); none
 * given is one, of length 0: any address. */
static size_t hold_from(const char *from, struct sockaddr_storage *fa, socklen_t *fl)
{
	char list[512], *save = NULL;
	size_t n = 0;
	if (!from) {
		fl[0] = 0;
		return 1;
	}
	if (snprintf(list, sizeof(list), "%s", from) >= (int)sizeof(list))
		fatal(EXIT_USAGE, "mpclient: --from: too long");
	for (char *a = strtok_r(list, ",", &save); a; a = strtok_r(NULL, ",", &save)) {
		if (n == HOLD_FROM_MAX)
			fatal(EXIT_USAGE, "mpclient: --from: at most %d addresses", HOLD_FROM_MAX);
		struct sockaddr_in *s4 = (struct sockaddr_in *)&fa[n];
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&fa[n];
		memset(&fa[n], 0, sizeof(fa[n]));
		if (inet_pton(AF_INET, a, &s4->sin_addr) == 1) {
			s4->sin_family = AF_INET;
			fl[n] = sizeof(*s4);
		} else if (inet_pton(AF_INET6, a, &s6->sin6_addr) == 1) {
			s6->sin6_family = AF_INET6;
			fl[n] = sizeof(*s6);
		} else {
			fatal(EXIT_USAGE, "mpclient: --from %s: not a numeric address", a);
		}
		n++;
	}
	if (!n)
		fatal(EXIT_USAGE, "mpclient: --from: no address");
	return n;
}

static int do_hold(const char *from)
{
	struct sockaddr_storage fa[HOLD_FROM_MAX];
	socklen_t fl[HOLD_FROM_MAX];
	size_t nfrom = hold_from(from, fa, fl);
	struct cl *cs = xcalloc(count, sizeof(*cs));
	int *fds = xcalloc(count, sizeof(*fds));
	uint64_t reopened = 0;
	/* Connection i comes from address i mod nfrom, each time. */
	for (uint64_t i = 0; i < count; i++) {
		if (idle) {
			fds[i] = idle_connect(&fa[i % nfrom], fl[i % nfrom]);
		} else {
			cs[i].name = "held";
			cs[i].gw = B.gw;
			keypair_generate(&cs[i].kp);
			held_connect(&cs[i], &fa[i % nfrom], fl[i % nfrom]);
		}
	}
	/* Nothing is reopened in the last second, SIGTERM's included, so
	 * that the node has closed what it refuses when they are counted. */
	uint64_t end = now_ms() + hold_s * 1000;
	int settling = 0;
	while (now_ms() < end) {
		run_for(100);
		if (terminated && !settling) {
			settling = 1;
			if (end > now_ms() + 1000)
				end = now_ms() + 1000;
		}
		for (uint64_t i = 0; i < count && now_ms() + 1000 < end; i++) {
			if (idle && !still_open(fds[i])) {
				close(fds[i]);
				fds[i] = idle_connect(&fa[i % nfrom], fl[i % nfrom]);
				reopened++;
			} else if (!idle && cs[i].down) {
				held_connect(&cs[i], &fa[i % nfrom], fl[i % nfrom]);
				reopened++;
			}
		}
	}
	uint64_t held = 0;
	for (uint64_t i = 0; i < count; i++) {
		if (idle) {
			held += still_open(fds[i]);
			close(fds[i]);
		} else {
			held += cs[i].up;
			if (cs[i].link)
				link_close(cs[i].link, "done");
			keypair_wipe(&cs[i].kp);
		}
	}
	ev_run_once(ev, 0);
	printf("{\"mode\":\"hold\", \"kind\":\"%s\", \"opened\":%llu, \"reopened\":%llu, "
	       "\"held\":%llu}\n", idle ? "idle" : "client", (unsigned long long)count,
	       (unsigned long long)reopened, (unsigned long long)held);
	free(cs);
	free(fds);
	return 0;
}

int main(int argc, char **argv)
{
	char *topo_path = NULL, *gw_a = NULL, *gw_b = NULL, *kind = NULL, *target = NULL;
	char *from = NULL, *to = NULL, *wait_path = NULL;
	int verbose = 0;
	struct opt opts[] = {
		{ "topology", 't', OPT_STR, "FILE", "topology file", &topo_path, 0, 0, 0 },
		{ "count", 'n', OPT_U64, "N", "packets to send (1000)", &count, 1, 100000000, 0 },
		{ "rate", 0, OPT_U64, "PPS", "send rate, 0 = as fast as the link takes", &rate, 0, 1000000, 0 },
		{ "delay-ms", 0, OPT_DBL, "MEAN", "mean per-mix delay (0)", &delay_ms, 0, 60000, 0 },
		{ "timeout", 0, OPT_U64, "SECS", "give up after (60)", &timeout_s, 1, 3600, 0 },
		{ "gw-a", 0, OPT_STR, "ID", "sender's gateway", &gw_a, 0, 0, 0 },
		{ "gw-b", 0, OPT_STR, "ID", "receiver's gateway", &gw_b, 0, 0, 0 },
		{ "kind", 0, OPT_STR, "KIND", "inject: replay or tamper", &kind, 0, 0, 0 },
		{ "wait-file", 0, OPT_STR, "F", "inject: touch F.sent after the first, wait for F", &wait_path, 0, 0, 0 },
		{ "target", 0, OPT_STR, "ID", "stranger, hold --idle: node to attack", &target, 0, 0, 0 },
		{ "from", 0, OPT_STR, "ADDR,...", "hold: local addresses to connect from, in turn", &from, 0, 0, 0 },
		{ "seconds", 0, OPT_U64, "S", "hold, pin: how long at most (10; SIGTERM ends it)", &hold_s, 2, 3600, 0 },
		{ "idle", 0, OPT_FLAG, NULL, "hold: connections that never say hello", &idle, 0, 0, 0 },
		{ "to", 0, OPT_STR, "ADDRESS", "pin: the receiver, KEY@GATEWAY", &to, 0, 0, 0 },
		{ "verbose", 'v', OPT_COUNT, NULL, "log more", &verbose, 0, 0, 0 },
	};
	char err[512];
	if (argc < 2 || rng_install() < 0 || sodium_init() < 0) {
		fprintf(stderr, "usage: mpclient pingpong|inject|stranger|mailbox|keys|hold|pin -t TOPOLOGY [options]\n");
		return 64;
	}
	mode = argv[1];
	int r = conf_parse_argv(opts, ARRAY_LEN(opts), argc - 1, argv + 1, NULL, 0, NULL, err, sizeof(err));
	if (r) {
		if (r < 0)
			fprintf(stderr, "mpclient: %s\n", err);
		else
			conf_usage(opts, ARRAY_LEN(opts), "mpclient pingpong|inject|stranger|mailbox|keys|hold|pin -t TOPOLOGY [options]");
		return r < 0 ? 64 : 0;
	}
	log_init("mpclient", 1, verbose);
	if (!topo_path)
		fatal(64, "mpclient: -t TOPOLOGY is required");
	topo = topo_load(topo_path, err, sizeof(err));
	if (!topo)
		fatal(66, "mpclient: %s", err);
	ev = ev_new();
	/* Only the modes that look at it: the others would go on with the
	 * loop stopped, spinning. */
	if (!strcmp(mode, "hold") || !strcmp(mode, "pin"))
		ev_signal(ev, SIGTERM, on_term, NULL);
	A.name = "A";
	B.name = "B";
	keypair_generate(&A.kp);
	keypair_generate(&B.kp);
	A.gw = pick_gw(gw_a);
	B.gw = pick_gw(gw_b);
	A.seen = xcalloc(count, 1);
	B.seen = xcalloc(count, 1);
	A.lat = xcalloc(count, sizeof(uint64_t));
	B.lat = xcalloc(count, sizeof(uint64_t));
	int rc;
	if (!strcmp(mode, "pingpong")) {
		cl_attach(&A);
		cl_attach(&B);
		deadline_timer = ev_timer_add(ev, timeout_s * 1000, on_deadline, NULL);
		ev_timer_add(ev, 20, on_poll, NULL);
		ev_run(ev);
		report();
		rc = B.unique == count && B.dup == 0 && B.bad == 0 ? 0 : 1;
	} else if (!strcmp(mode, "hold")) {
		if (target) {
			/* Any node takes connections; only gateways take clients. */
			B.gw = topo_by_name(topo, target);
			if (!B.gw || (!idle && B.gw->role != TOPO_GATEWAY))
				fatal(EXIT_USAGE, "mpclient: --target must name a gateway (any node "
				      "with --idle)");
		}
		rc = do_hold(from);
	} else if (!strcmp(mode, "keys")) {
		made_up_keys = 1;
		cl_attach(&A);
		rc = do_keys();
	} else if (!strcmp(mode, "pin")) {
		rc = do_pin(to);
	} else if (!strcmp(mode, "inject")) {
		rc = do_inject(kind ? kind : "replay", wait_path);
	} else if (!strcmp(mode, "stranger")) {
		rc = do_stranger(target);
	} else if (!strcmp(mode, "mailbox")) {
		rc = do_mailbox();
	} else {
		fprintf(stderr, "mpclient: unknown mode '%s'\n", mode);
		rc = 64;
	}
	if (A.link)
		link_close(A.link, "done");
	if (B.link)
		link_close(B.link, "done");
	ev_free(ev);
	topo_free(topo);
	free(A.seen);
	free(B.seen);
	free(A.lat);
	free(B.lat);
	keypair_wipe(&A.kp);
	keypair_wipe(&B.kp);
	conf_free(opts, ARRAY_LEN(opts));
	return rc;
}
