/* mpbench — in-process benchmarks behind tools/bench.  Prints one JSON
 * object per line: bench, value, unit and, where a ceiling applies, ratio.
 * Ratios are measured against a bare X25519 timed in the same process,
 * because these machines are shared and absolute figures are noise. */
#include <errno.h>
#include <libgen.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "ephem.h"
#include "ev.h"
#include "keys.h"
#include "link.h"
#include "log.h"
#include "packet.h"
#include "replay.h"
#include "rng.h"
#include "topology.h"
#include "util.h"

/* Time fn over at least min_us of wall time; returns seconds per call.
 * Takes the best of several rounds: interference only ever slows a round. */
static double per_call(void (*fn)(void *), void *ctx, unsigned batch, uint64_t min_us)
{
	double best = 1e9;
	for (int round = 0; round < 5; round++) {
		uint64_t t0 = now_us(), n = 0;
		do {
			for (unsigned i = 0; i < batch; i++)
				fn(ctx);
			n += batch;
		} while (now_us() - t0 < min_us);
		double s = (double)(now_us() - t0) / 1e6 / (double)n;
		if (s < best)
			best = s;
	}
	return best;
}

struct x_ctx { uint8_t sk[32], pk[32], out[32]; };

static void do_x25519(void *p)
{
	struct x_ctx *c = p;
	if (crypto_scalarmult(c->out, c->sk, c->pk) != 0)
		abort();
	c->sk[0] ^= c->out[0] & 1; /* depend on the result */
}

struct pkt_ctx {
	uint8_t sk[PKT_HOPS][32];
	struct pkt_hop route[PKT_HOPS];
	uint8_t dst_pk[32], dst_sk[32];
	uint8_t body[PKT_BODY_BYTES];
	uint8_t *pkts;   /* n pre-built packets for hop 0 */
	size_t n, next;
	uint8_t work[PKT_BYTES];
	struct replay *rf;
	uint8_t surb[SURB_BYTES];
	struct surb_secret sec;
};

static void do_process(void *p)
{
	struct pkt_ctx *c = p;
	struct pkt_hop_result r;
	memcpy(c->work, c->pkts + (c->next++ % c->n) * PKT_BYTES, PKT_BYTES);
	/* No replay filter here (packets repeat across rounds); the filter's
	 * cost is measured by do_process_rf on fresh packets. */
	if (pkt_process(c->work, PKT_BYTES, c->sk[0], NULL, 0, &r) != PKT_OK)
		abort();
}

static void do_process_rf(void *p)
{
	struct pkt_ctx *c = p;
	struct pkt_hop_result r;
	size_t i = c->next++;
	if (i >= c->n)
		abort();
	memcpy(c->work, c->pkts + i * PKT_BYTES, PKT_BYTES);
	if (pkt_process(c->work, PKT_BYTES, c->sk[0], c->rf, (uint32_t)(wall_s() / 60), &r) != PKT_OK)
		abort();
}

static void do_x25519_base(void *p)
{
	struct x_ctx *c = p;
	crypto_scalarmult_base(c->out, c->sk);
	c->sk[0] ^= c->out[0] & 1;
}

/* Five key pairs, as a forward packet takes them. */
static void do_ephem(void *p)
{
	uint8_t sk[5][32], pk[5][32];
	if (ephem_keypairs(sk, pk, 5) != 0)
		abort();
	((struct x_ctx *)p)->sk[0] ^= pk[4][0] & 1;
}

static void do_create(void *p)
{
	struct pkt_ctx *c = p;
	if (pkt_create(c->work, c->route, c->dst_pk, c->body, PKT_BODY_BYTES,
	               (uint32_t)(wall_s() / 60)) != PKT_OK)
		abort();
}

static void do_surb(void *p)
{
	struct pkt_ctx *c = p;
	if (surb_create(c->surb, &c->sec, c->route, c->dst_pk, (uint32_t)(wall_s() / 60)) != PKT_OK)
		abort();
}

static void line(const char *name, double per_s, double x_s)
{
	printf("{\"bench\":\"%s\", \"value\":%.0f, \"unit\":\"1/s\", \"ratio\":%.3f}\n",
	       name, 1.0 / per_s, x_s / per_s);
	fflush(stdout);
}

static int bench_packet(void)
{
	struct x_ctx x;
	struct pkt_ctx *c = xcalloc(1, sizeof(*c));
	randombytes_buf(x.sk, 32);
	crypto_box_keypair(x.pk, x.out);
	double xs = per_call(do_x25519, &x, 64, 200000);
	printf("{\"bench\":\"x25519\", \"value\":%.0f, \"unit\":\"1/s\"}\n", 1.0 / xs);

	static const char *names[PKT_HOPS] = { "mix1", "mix2", "mix3", "gw" };
	for (int i = 0; i < PKT_HOPS; i++) {
		crypto_box_keypair(c->route[i].pk, c->sk[i]);
		pkt_id_from_str(c->route[i].id, names[i]);
		c->route[i].delay_us = 15000;
	}
	crypto_box_keypair(c->dst_pk, c->dst_sk);
	randombytes_buf(c->body, sizeof(c->body));
	uint32_t now = (uint32_t)(wall_s() / 60);
	c->n = 20000;
	c->pkts = xmalloc(c->n * PKT_BYTES);
	for (size_t i = 0; i < c->n; i++)
		if (pkt_create(c->pkts + i * PKT_BYTES, c->route, c->dst_pk, c->body,
		               PKT_BODY_BYTES, now) != PKT_OK)
			abort();
	double ps = per_call(do_process, c, 64, 200000);
	/* The figure that counts includes the replay filter, as a node runs it:
	 * one pass over fresh packets (a replay would be rejected early). */
	c->rf = replay_new(23, 6, 15);
	c->next = 0;
	uint64_t t0 = now_us();
	for (size_t i = 0; i < c->n; i++)
		do_process_rf(c);
	double prf = (double)(now_us() - t0) / 1e6 / (double)c->n;
	/* Re-measure X25519 next to it: the ratio uses figures from one moment. */
	double xs2 = per_call(do_x25519, &x, 64, 200000);
	if (xs2 < xs)
		xs = xs2;
	line("packet.process", prf < ps ? ps : prf, xs);
	line("x25519.base", per_call(do_x25519_base, &x, 64, 200000), xs);
	line("ephem.keypair", per_call(do_ephem, &x, 16, 200000) / 5, xs);
	line("packet.create", per_call(do_create, c, 8, 200000), xs);
	line("surb.create", per_call(do_surb, c, 8, 200000), xs);
	replay_free(c->rf);
	free(c->pkts);
	free(c);
	return 0;
}

/* ---- node: one real mix process, fed and drained by this one ---- */

struct nb {
	struct ev *ev;
	struct keypair feeder, sink;
	struct topo_node mix;     /* the mix under test, as the topology says */
	uint8_t sink_id[PKT_ID_BYTES];
	struct link *feed, *in;
	int listen_fd;
	uint8_t *pkts;
	size_t npkts, next;
	uint64_t *sent_us;        /* per sequence number */
	uint64_t arrived, *lat, nlat;
	uint64_t rate;            /* 0: as fast as the link takes */
	uint64_t t_start;
	size_t run_first;         /* first sequence number of the current run */
	int feed_up;
};

static struct nb NB;

static int nb_accept_peer(struct link *l, enum link_kind kind, const uint8_t pk[32], void *ctx)
{
	(void)l;
	(void)ctx;
	return kind == LINK_NODE && !memcmp(pk, NB.mix.pk, 32) ? 0 : -1;
}

static void nb_frame(struct link *l, enum link_frame_type t, const uint8_t *id, uint8_t *pkt,
                     void *ctx)
{
	(void)l;
	(void)t;
	(void)id;
	(void)ctx;
	/* The mix put the alpha we chose in front: it carries the number. */
	uint32_t seq = be32_get(pkt);
	NB.arrived++;
	if (seq < NB.npkts && NB.sent_us[seq] && NB.nlat < NB.npkts)
		NB.lat[NB.nlat++] = now_us() - NB.sent_us[seq];
}

static void nb_down(struct link *l, const char *why, void *ctx)
{
	(void)ctx;
	if (l == NB.feed)
		NB.feed = NULL;
	if (l == NB.in)
		NB.in = NULL;
	log_debug("bench link down: %s", why);
}

static void nb_up(struct link *l, void *ctx)
{
	(void)ctx;
	if (l == NB.feed)
		NB.feed_up = 1;
}

static void nb_feed(void);

static void nb_drain(struct link *l, void *ctx)
{
	(void)l;
	(void)ctx;
	if (!NB.rate)
		nb_feed();
}

static const struct link_cbs nb_cbs = {
	.accept_peer = nb_accept_peer,
	.on_up = nb_up,
	.on_frame = nb_frame,
	.on_drain = nb_drain,
	.on_down = nb_down,
};

static void nb_accept(struct ev *ev, int fd, void *ctx)
{
	(void)ctx;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int c = accept4(fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (c >= 0)
		NB.in = link_accept(ev, c, (struct sockaddr *)&ss, sl, &NB.sink, 4096, &nb_cbs, NULL);
}

/* Send the next packet(s): all the link takes (rate 0) or one tick's worth. */
static void nb_feed(void)
{
	size_t budget = (size_t)-1;
	if (NB.rate) {
		uint64_t due = NB.run_first + (now_us() - NB.t_start) * NB.rate / 1000000u;
		budget = due > NB.next ? (size_t)(due - NB.next) : 0;
	}
	while (budget-- > 0 && NB.next < NB.npkts && NB.feed && link_queue_room(NB.feed) > 0) {
		NB.sent_us[NB.next] = now_us();
		link_send(NB.feed, LF_PACKET, NULL, NB.pkts + NB.next * PKT_BYTES);
		NB.next++;
	}
}

/* One run: send n packets from NB.next on at rate (0 = flood); returns
 * packets/s that arrived, measured from first send to last arrival. */
static double nb_run(size_t n, uint64_t rate, uint64_t max_ms)
{
	if (NB.next + n > NB.npkts) /* never past the packets built */
		n = NB.npkts - NB.next;
	size_t first = NB.next, end = NB.next + n;
	uint64_t arrived0 = NB.arrived;
	size_t saved = NB.npkts;
	NB.npkts = end;
	NB.rate = rate;
	NB.nlat = 0;
	NB.t_start = now_us();
	NB.next = first;
	NB.run_first = first;
	uint64_t t0 = now_us(), last = t0, sent_all = 0;
	uint64_t deadline = t0 + max_ms * 1000u;
	while (NB.arrived - arrived0 < n && now_us() < deadline) {
		/* A paced run polls without sleeping, so packets leave one by one
		 * when due: epoll's millisecond timeouts would send them in bursts
		 * and measure queueing behind the burst, not the mix.  This
		 * process has the second core to itself. */
		nb_feed();
		uint64_t before = NB.arrived;
		ev_run_once(NB.ev, rate ? 0 : 5);
		if (NB.arrived != before)
			last = now_us();
		/* Losses at saturation are counted by the node; stop waiting once
		 * everything was sent and nothing has come for a while (counted
		 * from the last send when nothing has come at all). */
		if (NB.next >= end) {
			if (!sent_all)
				sent_all = now_us();
			uint64_t quiet_since = NB.arrived != arrived0 && last > sent_all ? last : sent_all;
			if (now_us() - quiet_since > 2000000)
				break;
		}
	}
	NB.npkts = saved;
	NB.next = end;
	double secs = (double)(last - t0) / 1e6;
	return secs > 0 ? (double)(NB.arrived - arrived0) / secs : 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static const char *self_dir;
static pid_t node_pid;

/* Whatever way this process ends, the node it started ends with it. */
static void kill_node(void)
{
	if (node_pid > 0) {
		kill(node_pid, SIGTERM);
		waitpid(node_pid, NULL, 0);
		node_pid = 0;
	}
}

/* replay_file: the node's --replay-file (NULL: its default, a file). */
static pid_t start_node(const char *dir, const char *replay_file)
{
	char bin[4096], topo[4200], key[4200], logf[4200];
	const char *env = getenv("MIXPROXY");
	snprintf(bin, sizeof(bin), "%s", env ? env : "");
	if (!env)
		snprintf(bin, sizeof(bin), "%s/../src/mixproxy", self_dir);
	snprintf(topo, sizeof(topo), "%s/topology", dir);
	snprintf(key, sizeof(key), "%s/mix.key", dir);
	snprintf(logf, sizeof(logf), "%s/mix.log", dir);
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		FILE *f = freopen(logf, "w", stderr);
		(void)f;
		if (replay_file)
			execl(bin, "mixproxy", "node", "-d", "-t", topo, "-k", key, "--link-queue",
			      "4096", "--control", "none", "--replay-file", replay_file, (char *)NULL);
		else
			execl(bin, "mixproxy", "node", "-d", "-t", topo, "-k", key, "--link-queue",
			      "4096", "--control", "none", (char *)NULL);
		fprintf(stderr, "exec %s: %s\n", bin, strerror(errno));
		_exit(127);
	}
	return pid;
}

/* Link the feeder to the mix at ms once it listens. */
static void nb_link(const char *dir, const struct sockaddr_storage *ms)
{
	for (int i = 0; i < 200; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		int c = connect(fd, (const struct sockaddr *)ms, sizeof(struct sockaddr_in));
		close(fd);
		if (c == 0)
			break;
		usleep(20000);
	}
	if (NB.feed)
		link_close(NB.feed, "a new mix");
	if (NB.in)
		link_close(NB.in, "a new mix");
	NB.feed_up = 0;
	NB.feed = link_connect(NB.ev, (const struct sockaddr *)ms, sizeof(struct sockaddr_in),
	                       &NB.feeder, NB.mix.pk, LINK_NODE, 4096, &nb_cbs, NULL);
	uint64_t end = now_ms() + 5000;
	while (!NB.feed_up && now_ms() < end)
		ev_run_once(NB.ev, 10);
	if (!NB.feed_up)
		fatal(1, "could not link to the mix (see %s/mix.log)", dir);
}

static int bench_node(void)
{
	char dir[] = "/tmp/mpbench-node.XXXXXX", path[4200], err[256];
	struct keypair mixkp, l3, gw;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char a[64], k1[B58_KEY_CHARS], k2[B58_KEY_CHARS], k3[B58_KEY_CHARS], k4[B58_KEY_CHARS];

	if (!mkdtemp(dir))
		fatal(1, "mkdtemp: %s", strerror(errno));
	log_init("mpbench", 1, getenv("MPBENCH_VERBOSE") ? 2 : 0);
	NB.ev = ev_new();
	keypair_generate(&mixkp);
	keypair_generate(&NB.sink);
	keypair_generate(&l3);
	keypair_generate(&gw);
	NB.feeder = gw; /* the feeder speaks as the topology's gateway */

	/* The sink (layer 2) listens here; the mix gets a port of its own. */
	NB.listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001) };
	if (bind(NB.listen_fd, (struct sockaddr *)&sin, sizeof(sin)) || listen(NB.listen_fd, 16))
		fatal(1, "sink listen: %s", strerror(errno));
	getsockname(NB.listen_fd, (struct sockaddr *)&ss, &sl);
	sockaddr_str((struct sockaddr *)&ss, a, sizeof(a));
	int probe = socket(AF_INET, SOCK_STREAM, 0);
	sin.sin_port = 0;
	bind(probe, (struct sockaddr *)&sin, sizeof(sin));
	sl = sizeof(ss);
	struct sockaddr_storage ms;
	getsockname(probe, (struct sockaddr *)&ms, &sl);
	close(probe);
	char ma[64];
	sockaddr_str((struct sockaddr *)&ms, ma, sizeof(ma));

	snprintf(path, sizeof(path), "%s/topology", dir);
	FILE *t = fopen(path, "w");
	fprintf(t, "gw1 gateway 127.0.0.1:9 %s\nmixA mix 1 %s %s\nsinkB mix 2 %s %s\n"
	        "mixC mix 3 127.0.0.1:10 %s\n",
	        key_to_str(gw.pk, k1, sizeof(k1)), ma, key_to_str(mixkp.pk, k2, sizeof(k2)),
	        a, key_to_str(NB.sink.pk, k3, sizeof(k3)), key_to_str(l3.pk, k4, sizeof(k4)));
	fclose(t);
	snprintf(path, sizeof(path), "%s/mix.key", dir);
	if (keyfile_write(path, &mixkp, err, sizeof(err)))
		fatal(1, "%s", err);
	snprintf(path, sizeof(path), "%s/topology", dir);
	struct topology *topo = topo_load(path, err, sizeof(err));
	if (!topo)
		fatal(1, "%s", err);
	NB.mix = *topo_by_name(topo, "mixA");
	memcpy(NB.sink_id, topo_by_name(topo, "sinkB")->id, PKT_ID_BYTES);
	ev_add_fd(NB.ev, NB.listen_fd, nb_accept, NULL, NULL);

	/* Packets first: building them must not share the CPU with the mix. */
	struct pkt_hop hop;
	memcpy(hop.id, NB.mix.id, PKT_ID_BYTES);
	memcpy(hop.pk, NB.mix.pk, 32);
	hop.delay_us = 0;
	size_t total = 160000;
	NB.npkts = total;
	NB.pkts = xmalloc(total * PKT_BYTES);
	NB.sent_us = xcalloc(total, sizeof(uint64_t));
	NB.lat = xcalloc(total, sizeof(uint64_t));
	uint32_t now = (uint32_t)(wall_s() / 60);
	for (size_t i = 0; i < total; i++) {
		uint8_t alpha[32];
		randombytes_buf(alpha, sizeof(alpha));
		be32_put(alpha, (uint32_t)i);
		if (pkt_create_first_hop(NB.pkts + i * PKT_BYTES, &hop, NB.sink_id, alpha, now))
			fatal(1, "cannot build packets");
	}

	struct x_ctx x;
	randombytes_buf(x.sk, 32);
	crypto_box_keypair(x.pk, x.out);
	double xs = per_call(do_x25519, &x, 64, 200000);

	node_pid = start_node(dir, NULL);
	atexit(kill_node);
	nb_link(dir, &ms);
	nb_run(2000, 0, 5000); /* warm up: the mix opens its link to the sink */
	double sat = nb_run(80000, 0, 20000);
	/* Offered rates below saturation: the forwarded rate should follow. */
	double half = sat / 2;
	nb_run((size_t)(half * 2), (uint64_t)half, 10000);
	uint64_t p99 = 0, p50 = 0;
	if (NB.nlat) {
		qsort(NB.lat, NB.nlat, sizeof(uint64_t), cmp_u64);
		p99 = NB.lat[NB.nlat * 99 / 100];
		p50 = NB.lat[NB.nlat / 2];
	}
	double xs2 = per_call(do_x25519, &x, 64, 200000);
	if (xs2 < xs)
		xs = xs2;
	printf("{\"bench\":\"node.forward\", \"value\":%.0f, \"unit\":\"1/s\", \"ratio\":%.3f}\n",
	       sat, sat * xs);
	printf("{\"bench\":\"node.latency_p99_us\", \"value\":%llu, \"unit\":\"us\", "
	       "\"offered\":%.0f, \"p50_us\":%llu}\n", (unsigned long long)p99, half,
	       (unsigned long long)p50);
	fflush(stdout);

	/* The replay file's cost: the same packets through a new mix whose
	 * filter is in memory only. */
	kill_node();
	node_pid = start_node(dir, "none");
	nb_link(dir, &ms);
	NB.next = 0;
	nb_run(2000, 0, 5000);
	double sat_off = nb_run(80000, 0, 20000);
	printf("{\"bench\":\"node.replay_file\", \"value\":%.3f, \"unit\":\"ratio\", "
	       "\"on\":%.0f, \"off\":%.0f}\n", sat_off > 0 ? sat / sat_off : 0, sat, sat_off);
	fflush(stdout);

	kill_node();
	if (NB.feed)
		link_close(NB.feed, "done");
	if (NB.in)
		link_close(NB.in, "done");
	ev_free(NB.ev);
	close(NB.listen_fd);
	topo_free(topo);
	free(NB.pkts);
	free(NB.sent_us);
	free(NB.lat);
	char cmd[4300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (sat <= 0) {
		log_err("nothing was forwarded (sink link %s, %llu arrived): see %s/mix.log",
		        NB.in ? "open" : "closed", (unsigned long long)NB.arrived, dir);
		return 1;
	}
	if (system(cmd) != 0)
		log_warn("could not remove %s", dir);
	return 0;
}

int main(int argc, char **argv)
{
	if (rng_install() < 0 || sodium_init() < 0) {
		fprintf(stderr, "mpbench: libsodium failed to initialise\n");
		return 1;
	}
	char *me = realpath(argv[0], NULL);
	self_dir = me ? dirname(me) : ".";
	signal(SIGPIPE, SIG_IGN);
	if (argc == 2 && strcmp(argv[1], "packet") == 0)
		return bench_packet();
	if (argc == 2 && strcmp(argv[1], "node") == 0)
		return bench_node();
	if (argc == 2 && strcmp(argv[1], "x25519") == 0) {
		/* For ceilings computed by tools/bench in the same run. */
		struct x_ctx x;
		randombytes_buf(x.sk, 32);
		crypto_box_keypair(x.pk, x.out);
		printf("{\"bench\":\"x25519\", \"value\":%.0f, \"unit\":\"1/s\"}\n",
		       1.0 / per_call(do_x25519, &x, 64, 200000));
		return 0;
	}
	fprintf(stderr, "usage: mpbench packet|node|x25519\n");
	return 64;
}
