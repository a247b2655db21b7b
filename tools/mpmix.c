/* mpmix — drives two mixnet clients (src/mixclient) in one process, for
 * tests and benchmarks.
 *
 *   mpmix exchange -t TOPO [--fast] [-n N] [--replies] [--size BYTES]
 *                  [--timeout SECS] [--gw-a ID] [--gw-b ID]
 *       A sends N messages to B's address; with --replies B answers each
 *       through A's reply blocks.  Checks exactly-once delivery both ways
 *       and that B never sees A's key.  Prints one JSON line.
 *   mpmix goodput -t TOPO [--fast] [--seconds S]
 *       A streams full messages to B for S seconds: bytes/s delivered.
 *   mpmix rates -t TOPO [--seconds S]
 *       An idle client and a busy one: packets/s each sends to its gateway,
 *       and frames/s each gets from it (paced: mail or padding).
 *   mpmix stall -t TOPO [--fast] [--seconds S]
 *       A floods B while B's application refuses everything: from B's
 *       first refusal on, for S seconds, memory held by both stays
 *       within what their caps allow (mixclient_memory_max).
 * Exit 0 when the run met its expectation. */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "conf.h"
#include "ev.h"
#include "keys.h"
#include "log.h"
#include "mixclient.h"
#include "rng.h"
#include "topology.h"
#include "util.h"

static struct ev *ev;
static struct topology *topo;
static struct keypair kpa, kpb;
static struct mixclient *A, *B;
static struct mix_addr addr_b;
static uint64_t count = 1000, size = 100, timeout_s = 120, seconds = 10;
static int fast, replies, refuse_all;
static uint64_t refused; /* stall: messages B's application refused */
static uint64_t sent, got_b, got_a, dup_b, dup_a, leaked_key, bad;
static uint8_t *seen_b, *seen_a;
static uint64_t bytes_b, t_first, t_last;
static const char *mode;

static void fill(uint8_t *buf, size_t len, uint32_t seq)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(seq * 31 + i * 7);
	if (len >= 4)
		be32_put(buf, seq);
}

static int check(const uint8_t *data, size_t len, uint32_t *seq)
{
	if (len < 4)
		return -1;
	*seq = be32_get(data);
	for (size_t i = 4; i < len; i++)
		if (data[i] != (uint8_t)(*seq * 31 + i * 7))
			return -1;
	return 0;
}

static int on_msg_b(struct mixclient *mc, const struct mix_from *from, const uint8_t *data,
                    size_t len, void *ctx)
{
	uint32_t seq;
	(void)ctx;
	if (refuse_all) {
		refused++;
		return -1;
	}
	/* B must learn nothing of A: no key in what it is handed. */
	if (from->reply || memmem(from, sizeof(*from), kpa.pk, 8) || memmem(data, len, kpa.pk, 8))
		leaked_key++;
	if (!strcmp(mode, "goodput")) {
		uint64_t t = now_us();
		if (!t_first)
			t_first = t;
		t_last = t;
		bytes_b += len;
		return 0;
	}
	if (check(data, len, &seq) || seq >= count) {
		bad++;
		return 0;
	}
	if (seen_b[seq]++)
		dup_b++;
	else
		got_b++;
	if (replies && mixclient_reply(mc, from->tag, data, len, NULL)) {
		/* The window is full: refuse, the message comes again. */
		seen_b[seq]--;
		got_b--;
		return -1;
	}
	return 0;
}

static int on_msg_a(struct mixclient *mc, const struct mix_from *from, const uint8_t *data,
                    size_t len, void *ctx)
{
	uint32_t seq;
	(void)mc;
	(void)ctx;
	if (!from->reply || memcmp(&from->addr, &addr_b, sizeof(addr_b)) || check(data, len, &seq) ||
	    seq >= count) {
		bad++;
		return 0;
	}
	if (seen_a[seq]++)
		dup_a++;
	else
		got_a++;
	return 0;
}

static void push(void)
{
	uint8_t buf[MIX_MSG_MAX];
	while (sent < count || !strcmp(mode, "goodput") || !strcmp(mode, "stall")) {
		size_t len = strcmp(mode, "exchange") ? MIX_MSG_MAX : size;
		fill(buf, len, (uint32_t)(sent % 0xffffffffu));
		if (mixclient_send(A, &addr_b, buf, len, NULL))
			break;
		sent++;
	}
}

static void on_writable(struct mixclient *mc, void *ctx)
{
	(void)mc;
	(void)ctx;
	push();
}

/* A message given up must name its peer as on_message would: B's address
 * for A's messages, an anonymous tag (never A's key) for B's replies. */
static void on_giveup_a(struct mixclient *mc, const struct mix_from *to, uint64_t id,
                        const char *why, void *ctx)
{
	(void)mc;
	(void)ctx;
	fprintf(stderr, "mpmix: A's message %llu given up: %s\n", (unsigned long long)id, why);
	if (!to->reply || memcmp(&to->addr, &addr_b, sizeof(addr_b)))
		bad++;
}

static void on_giveup_b(struct mixclient *mc, const struct mix_from *to, uint64_t id,
                        const char *why, void *ctx)
{
	(void)mc;
	(void)ctx;
	fprintf(stderr, "mpmix: B's reply %llu given up: %s\n", (unsigned long long)id, why);
	if (to->reply)
		bad++;
	if (memmem(to, sizeof(*to), kpa.pk, 8))
		leaked_key++;
}

static const struct mixclient_cbs cbs_a = { .on_message = on_msg_a, .on_writable = on_writable,
                                            .on_giveup = on_giveup_a };
static const struct mixclient_cbs cbs_b = { .on_message = on_msg_b, .on_giveup = on_giveup_b };

static int done(void)
{
	return got_b >= count && (!replies || got_a >= count) && mixclient_pending(A) == 0 &&
	       mixclient_pending(B) == 0;
}

static void stats_json(const char *name, struct mixclient *mc)
{
	struct mixclient_stats s;
	mixclient_get_stats(mc, &s);
	printf("\"%s\":{\"sent\":%llu, \"retransmitted\":%llu, \"acked\":%llu, \"gave_up\":%llu, "
	       "\"received\":%llu, \"duplicates\":%llu, \"cover\":%llu, \"loop\":%llu, "
	       "\"surbs_sent\":%llu, \"surbs_used\":%llu, \"packets_sent\":%llu, \"memory\":%zu}",
	       name, (unsigned long long)s.sent, (unsigned long long)s.retransmitted,
	       (unsigned long long)s.acked, (unsigned long long)s.gave_up,
	       (unsigned long long)s.received, (unsigned long long)s.duplicates,
	       (unsigned long long)s.cover_sent, (unsigned long long)s.loop_sent,
	       (unsigned long long)s.surbs_sent, (unsigned long long)s.surbs_used,
	       (unsigned long long)s.packets_sent, mixclient_memory(mc));
}

static void run_until(int (*cond)(void), uint64_t ms)
{
	uint64_t end = now_ms() + ms;
	while ((!cond || !cond()) && now_ms() < end)
		ev_run_once(ev, 20);
}

static int b_refused(void)
{
	return refused > 0;
}

static int both_attached(void)
{
	return mixclient_is_attached(A) && mixclient_is_attached(B);
}

int main(int argc, char **argv)
{
	char *topo_path = NULL, *gw_a = NULL, *gw_b = NULL;
	int verbose = 0;
	struct opt opts[] = {
		{ "topology", 't', OPT_STR, "FILE", "topology file", &topo_path, 0, 0, 0 },
		{ "count", 'n', OPT_U64, "N", "messages (1000)", &count, 1, 10000000, 0 },
		{ "size", 0, OPT_U64, "BYTES", "message size (100)", &size, 4, MIX_MSG_MAX, 0 },
		{ "replies", 0, OPT_FLAG, NULL, "answer every message", &replies, 0, 0, 0 },
		{ "fast", 0, OPT_FLAG, NULL, "fast profile", &fast, 0, 0, 0 },
		{ "timeout", 0, OPT_U64, "SECS", "give up after (120)", &timeout_s, 1, 3600, 0 },
		{ "seconds", 0, OPT_U64, "SECS", "goodput/rates/stall duration (10)", &seconds, 1, 3600, 0 },
		{ "gw-a", 0, OPT_STR, "ID", "A's gateway", &gw_a, 0, 0, 0 },
		{ "gw-b", 0, OPT_STR, "ID", "B's gateway", &gw_b, 0, 0, 0 },
		{ "verbose", 'v', OPT_COUNT, NULL, "log more", &verbose, 0, 0, 0 },
	};
	char err[512];
	const char *why;
	if (argc < 2 || rng_install() < 0 || sodium_init() < 0) {
		fprintf(stderr, "usage: mpmix exchange|goodput|rates|stall -t TOPOLOGY [options]\n");
		return 64;
	}
	mode = argv[1];
	int r = conf_parse_argv(opts, ARRAY_LEN(opts), argc - 1, argv + 1, NULL, 0, NULL, err, sizeof(err));
	if (r) {
		if (r < 0)
			fprintf(stderr, "mpmix: %s\n", err);
		else
			conf_usage(opts, ARRAY_LEN(opts), "mpmix exchange|goodput|rates|stall -t TOPOLOGY");
		conf_free(opts, ARRAY_LEN(opts));
		return r < 0 ? 64 : 0;
	}
	log_init("mpmix", 1, verbose);
	if (!topo_path)
		fatal(64, "mpmix: -t TOPOLOGY is required");
	topo = topo_load(topo_path, err, sizeof(err));
	if (!topo)
		fatal(66, "mpmix: %s", err);
	ev = ev_new();
	keypair_generate(&kpa);
	keypair_generate(&kpb);
	struct mixclient_cfg ca, cb;
	mixclient_cfg_defaults(&ca);
	ca.topo = topo;
	ca.fast = fast;
	/* Paced delivery as mixproxy client and server ask for it. */
	ca.receive_mean_ms = fast ? 0 : ca.send_mean_ms / 2;
	cb = ca;
	ca.kp = &kpa;
	ca.gateway = gw_a;
	ca.cbs = &cbs_a;
	cb.kp = &kpb;
	cb.gateway = gw_b;
	cb.cbs = &cbs_b;
	A = mixclient_new(ev, &ca, &why);
	B = A ? mixclient_new(ev, &cb, &why) : NULL;
	if (!A || !B)
		fatal(64, "mpmix: %s", why);
	mixclient_address(B, &addr_b);
	seen_b = xcalloc(count, 1);
	seen_a = xcalloc(count, 1);
	run_until(both_attached, 5000);
	int rc = 1;
	if (!strcmp(mode, "exchange")) {
		uint64_t t0 = now_us();
		push();
		run_until(done, timeout_s * 1000);
		double secs = (double)(now_us() - t0) / 1e6;
		printf("{\"mode\":\"exchange\", \"count\":%llu, \"received_b\":%llu, \"dup_b\":%llu, "
		       "\"received_a\":%llu, \"dup_a\":%llu, \"bad\":%llu, \"key_seen\":%llu, "
		       "\"seconds\":%.2f, ", (unsigned long long)count, (unsigned long long)got_b,
		       (unsigned long long)dup_b, (unsigned long long)got_a, (unsigned long long)dup_a,
		       (unsigned long long)bad, (unsigned long long)leaked_key, secs);
		stats_json("A", A);
		printf(", ");
		stats_json("B", B);
		printf("}\n");
		/* Delivered is not enough: every message must also have been
		 * acknowledged (none stuck waiting for reply blocks). */
		rc = got_b == count && dup_b == 0 && bad == 0 && leaked_key == 0 &&
		     (!replies || (got_a == count && dup_a == 0)) &&
		     mixclient_pending(A) == 0 && mixclient_pending(B) == 0 ? 0 : 1;
	} else if (!strcmp(mode, "goodput")) {
		push();
		run_until(NULL, seconds * 1000);
		double secs = t_last > t_first ? (double)(t_last - t_first) / 1e6 : 0;
		double gp = secs > 0 ? (double)bytes_b / secs : 0;
		double ceiling = fast ? 0 : 1000.0 / ca.send_mean_ms * MIX_MSG_MAX;
		if (fast)
			printf("{\"bench\":\"client.goodput_fast\", \"value\":%.0f, \"unit\":\"B/s\"}\n", gp);
		else
			printf("{\"bench\":\"client.goodput_default\", \"value\":%.0f, \"unit\":\"B/s\", "
			       "\"ratio\":%.3f}\n", gp, gp / ceiling);
		rc = gp > 0 ? 0 : 1;
	} else if (!strcmp(mode, "rates")) {
		/* A busy (always has messages), B idle (sends only what it must). */
		struct mixclient_stats s0a, s0b, s1a, s1b;
		push();
		run_until(NULL, 2000);
		mixclient_get_stats(A, &s0a);
		mixclient_get_stats(B, &s0b);
		uint64_t t0 = now_us();
		run_until(NULL, seconds * 1000);
		mixclient_get_stats(A, &s1a);
		mixclient_get_stats(B, &s1b);
		double secs = (double)(now_us() - t0) / 1e6;
		/* Main stream only: loop cover runs on its own clock for both. */
		double ra = (double)(s1a.packets_sent - s0a.packets_sent - (s1a.loop_sent - s0a.loop_sent)) / secs;
		double rb = (double)(s1b.packets_sent - s0b.packets_sent - (s1b.loop_sent - s0b.loop_sent)) / secs;
		double la = (double)(s1a.loop_sent - s0a.loop_sent) / secs;
		double lb = (double)(s1b.loop_sent - s0b.loop_sent) / secs;
		/* What each gets from its gateway: deliveries and padding. */
		double ia = (double)(s1a.packets_received + s1a.pads_received - s0a.packets_received -
		                     s0a.pads_received) / secs;
		double ib = (double)(s1b.packets_received + s1b.pads_received - s0b.packets_received -
		                     s0b.pads_received) / secs;
		printf("{\"mode\":\"rates\", \"seconds\":%.1f, \"busy_pps\":%.2f, \"idle_pps\":%.2f, "
		       "\"busy_loop_pps\":%.2f, \"idle_loop_pps\":%.2f, \"expected_pps\":%.2f, "
		       "\"busy_in_pps\":%.2f, \"idle_in_pps\":%.2f, \"expected_in_pps\":%.2f}\n",
		       secs, ra, rb, la, lb, 1000.0 / ca.send_mean_ms, ia, ib,
		       1000.0 / ca.receive_mean_ms);
		rc = 0;
	} else if (!strcmp(mode, "stall")) {
		refuse_all = 1;
		push();
		/* The stall begins once B's application has refused a first
		 * message: on a loaded machine the first packets take seconds,
		 * and buffers that grow then are the traffic's, not the stall's. */
		run_until(b_refused, 20000);
		/* Bounded: at every look, neither holds more messages than its
		 * window, nor more for its peers than their caps allow (every
		 * stock, ring and list full).  The halves are printed, not
		 * compared: a bounded ring that doubles to its cap late in the
		 * stall (the receiver's stock of reply blocks, topped up by each
		 * retry) is growth, and bounded. */
		size_t peak_a = 0, peak_b = 0, half_a = 0, half_b = 0, over = 0;
		uint64_t start = now_ms(), end = start + seconds * 1000;
		while (now_ms() < end) {
			ev_run_once(ev, 20);
			size_t ma = mixclient_memory(A), mb = mixclient_memory(B);
			over += ma > mixclient_memory_max(A) || mb > mixclient_memory_max(B) ||
			        mixclient_pending(A) > ca.window || mixclient_pending(B) > cb.window;
			if (ma > peak_a)
				peak_a = ma;
			if (mb > peak_b)
				peak_b = mb;
			if (now_ms() - start < seconds * 500) {
				half_a = peak_a;
				half_b = peak_b;
			}
		}
		printf("{\"mode\":\"stall\", \"sent\":%llu, \"refused\":%llu, \"memory_a_half\":%zu, "
		       "\"memory_a\":%zu, \"memory_a_max\":%zu, \"memory_b_half\":%zu, "
		       "\"memory_b\":%zu, \"memory_b_max\":%zu, \"over\":%zu, ",
		       (unsigned long long)sent, (unsigned long long)refused, half_a, peak_a,
		       mixclient_memory_max(A), half_b, peak_b, mixclient_memory_max(B), over);
		stats_json("B", B);
		printf("}\n");
		rc = refused && !over ? 0 : 1;
	} else {
		fprintf(stderr, "mpmix: unknown mode '%s'\n", mode);
		rc = 64;
	}
	mixclient_free(A);
	mixclient_free(B);
	ev_run_once(ev, 0);
	ev_free(ev);
	topo_free(topo);
	free(seen_a);
	free(seen_b);
	keypair_wipe(&kpa);
	keypair_wipe(&kpb);
	conf_free(opts, ARRAY_LEN(opts));
	return rc;
}
