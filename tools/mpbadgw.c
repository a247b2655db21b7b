/* mpbadgw — a malicious gateway, for the test of what one can do to the
 * clients attached to it (tests/integration/dos.sh; issue 15, item 5).
 *
 *   mpbadgw LISTEN -t TOPOLOGY --gateway ID --gateway-key FILE --client-key FILE
 *           [--replays N]
 *       Listens on LISTEN (HOST:PORT; prints "listening addr=H:P") as
 *       gateway ID: it answers with ID's key (FILE), so a client given a
 *       topology whose line for ID names LISTEN attaches to it as to ID.
 *       It takes only the client whose key is in --client-key, and for
 *       each such link attaches to the real ID with that key and relays
 *       every frame both ways, decrypted and sealed again: it sees what a
 *       gateway sees.  After SIGUSR1 it also plays every delivery it
 *       relays to the client again, N times (2), 1 and 3 s later: what a
 *       gateway that wants used reply blocks back in its client's stock
 *       would do.  On SIGTERM it prints one JSON line (frames relayed,
 *       deliveries played again) and exits 0.
 *
 * Test tool: it holds the secret keys of a gateway and of a client. */
#include <errno.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conf.h"
#include "daemon.h"
#include "ev.h"
#include "keys.h"
#include "link.h"
#include "listener.h"
#include "log.h"
#include "rng.h"
#include "topology.h"
#include "util.h"

#define RING 8192 /* deliveries remembered for playing again */

/* One client's attachment through us: its link to us and ours to the
 * real gateway. */
struct pair {
	struct link *down, *up;
	int closing; /* link_close runs on_down at once: one free, the outermost */
	int opening; /* in link_accept or link_connect, whose failure runs on_down */
};

struct kept {
	uint64_t at_us;
	unsigned played;
	uint8_t pkt[PKT_BYTES];
};

static struct ev *ev;
static const struct topo_node *gw;
static struct keypair gw_kp, cl_kp;
static uint64_t replays = 2, relayed_down, relayed_up, played;
static int replaying;
static struct kept *ring;
static size_t ring_head, ring_n;
static struct pair *current; /* the pair whose client gets the replays */

static void pair_close(struct pair *p, const char *why)
{
	if (p->closing)
		return;
	p->closing = 1;
	struct link *d = p->down, *u = p->up;
	p->down = p->up = NULL;
	if (current == p)
		current = NULL;
	if (d)
		link_close(d, why);
	if (u)
		link_close(u, why);
	free(p);
}

static int down_accept(struct link *l, enum link_kind kind, const uint8_t pk[32], void *ctx)
{
	(void)l;
	(void)ctx;
	return kind == LINK_CLIENT && !sodium_memcmp(pk, cl_kp.pk, 32) ? 0 : -1;
}

static void up_frame(struct link *l, enum link_frame_type t, const uint8_t *id, uint8_t *pkt,
                     void *ctx)
{
	struct pair *p = ctx;
	(void)l;
	if (!p->down || link_send(p->down, t, id, pkt))
		return;
	relayed_down++;
	if (t != LF_DELIVER || !replaying)
		return;
	struct kept *k = &ring[(ring_head + ring_n) % RING];
	if (ring_n == RING)
		ring_head = (ring_head + 1) % RING; /* the oldest is not played again */
	else
		ring_n++;
	k->at_us = now_us();
	k->played = 0;
	memcpy(k->pkt, pkt, PKT_BYTES);
	current = p;
}

static void down_frame(struct link *l, enum link_frame_type t, const uint8_t *id, uint8_t *pkt,
                       void *ctx)
{
	struct pair *p = ctx;
	(void)l;
	if (p->up && !link_send(p->up, t, id, pkt))
		relayed_up++;
}

static void down_down(struct link *l, const char *why, void *ctx)
{
	struct pair *p = ctx;
	(void)l;
	p->down = NULL;
	log_info("client link down: %s", why);
	if (!p->opening)
		pair_close(p, "client left");
}

static void up_down(struct link *l, const char *why, void *ctx)
{
	struct pair *p = ctx;
	(void)l;
	p->up = NULL;
	log_info("link to %s down: %s", gw->name, why);
	if (!p->opening)
		pair_close(p, "gateway left");
}

static const struct link_cbs up_cbs = {
	.on_frame = up_frame,
	.on_down = up_down,
};

static void down_up(struct link *l, void *ctx)
{
	struct pair *p = ctx;
	(void)l;
	log_info("client attached; attaching to %s as it", gw->name);
	p->opening = 1;
	struct link *up = link_connect(ev, (const struct sockaddr *)&gw->addr, gw->addrlen, &cl_kp,
	                               gw->pk, LINK_CLIENT, 4096, &up_cbs, p);
	p->opening = 0;
	p->up = up;
	if (!up)
		pair_close(p, "cannot reach the gateway");
}

static const struct link_cbs down_cbs = {
	.accept_peer = down_accept,
	.on_up = down_up,
	.on_frame = down_frame,
	.on_down = down_down,
};

static void on_accept(int fd, const struct sockaddr *sa, socklen_t salen, void *ctx)
{
	(void)ctx;
	struct pair *p = xcalloc(1, sizeof(*p));
	p->opening = 1;
	struct link *down = link_accept(ev, fd, sa, salen, &gw_kp, 4096, &down_cbs, p);
	p->opening = 0;
	p->down = down;
	if (!down)
		free(p);
}

/* Every kept delivery again at 1 s, then every 2 s, `replays` times. */
static void on_tick(struct ev *e, void *ctx)
{
	(void)ctx;
	uint64_t now = now_us();
	for (size_t i = 0; i < ring_n; i++) {
		struct kept *k = &ring[(ring_head + i) % RING];
		if (k->played >= replays || now - k->at_us < 1000000ull + 2000000ull * k->played)
			continue;
		if (current && current->down && link_queue_room(current->down) > 0 &&
		    !link_send(current->down, LF_DELIVER, NULL, k->pkt)) {
			k->played++;
			played++;
		}
	}
	while (ring_n && ring[ring_head].played >= replays) {
		ring_head = (ring_head + 1) % RING;
		ring_n--;
	}
	ev_timer_add(e, 50, on_tick, NULL);
}

static void on_usr1(struct ev *e, int signo, void *ctx)
{
	(void)e;
	(void)signo;
	(void)ctx;
	replaying = 1;
	log_info("from now on, every delivery is played again %llu times",
	         (unsigned long long)replays);
}

int main(int argc, char **argv)
{
	char *topo_path = NULL, *gw_name = NULL, *gw_key = NULL, *cl_key = NULL;
	int verbose = 0;
	const char *usage = "mpbadgw LISTEN -t TOPOLOGY --gateway ID --gateway-key FILE "
	                    "--client-key FILE [--replays N]";
	struct opt opts[] = {
		{ "topology", 't', OPT_STR, "FILE", "topology file", &topo_path, 0, 0, 0 },
		{ "gateway", 0, OPT_STR, "ID", "the gateway to stand in for", &gw_name, 0, 0, 0 },
		{ "gateway-key", 0, OPT_STR, "FILE", "its key file", &gw_key, 0, 0, 0 },
		{ "client-key", 0, OPT_STR, "FILE", "the key file of the client to relay", &cl_key, 0, 0, 0 },
		{ "replays", 0, OPT_U64, "N", "times each delivery is played again (2)", &replays, 1, 10, 0 },
		{ "verbose", 'v', OPT_COUNT, NULL, "log more", &verbose, 0, 0, 0 },
	};
	char *pos[1] = { NULL };
	int npos = 0;
	char err[512];
	if (rng_install() < 0 || sodium_init() < 0)
		return 1;
	int r = conf_parse_argv(opts, ARRAY_LEN(opts), argc, argv, pos, 1, &npos, err, sizeof(err));
	if (r) {
		if (r < 0)
			fprintf(stderr, "mpbadgw: %s\n", err);
		else
			conf_usage(opts, ARRAY_LEN(opts), usage);
		return r < 0 ? 64 : 0;
	}
	log_init("mpbadgw", 1, verbose);
	if (npos != 1 || !topo_path || !gw_name || !gw_key || !cl_key)
		fatal(64, "usage: %s", usage);
	struct topology *topo = topo_load(topo_path, err, sizeof(err));
	if (!topo)
		fatal(66, "mpbadgw: %s", err);
	gw = topo_by_name(topo, gw_name);
	if (!gw || gw->role != TOPO_GATEWAY)
		fatal(64, "mpbadgw: '%s' is not a gateway of the topology", gw_name);
	if (keyfile_read(gw_key, &gw_kp, err, sizeof(err)) || keyfile_read(cl_key, &cl_kp, err, sizeof(err)))
		fatal(66, "mpbadgw: %s", err);
	if (sodium_memcmp(gw_kp.pk, gw->pk, 32))
		fatal(64, "mpbadgw: %s is not the key of %s", gw_key, gw_name);
	struct sockaddr_storage ss;
	socklen_t sl;
	const char *why;
	if (parse_hostport(pos[0], &ss, &sl, &why))
		fatal(64, "mpbadgw: %s: %s", pos[0], why);
	char bound[128];
	int fd = daemon_listen(&ss, sl, 16, pos[0], err, sizeof(err));
	if (fd < 0)
		fatal(1, "mpbadgw: %s", err);
	sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl))
		fatal(1, "mpbadgw: getsockname: %s", strerror(errno));
	sockaddr_str((const struct sockaddr *)&ss, bound, sizeof(bound));
	ev = ev_new();
	ring = xcalloc(RING, sizeof(*ring));
	struct listener *ls = listener_new(ev, fd, "mpbadgw", on_accept, NULL);
	ev_signal(ev, SIGTERM, ev_stop_on_signal, NULL);
	ev_signal(ev, SIGINT, ev_stop_on_signal, NULL);
	ev_signal(ev, SIGUSR1, on_usr1, NULL);
	ev_timer_add(ev, 50, on_tick, NULL);
	printf("listening addr=%s\n", bound);
	fflush(stdout);
	ev_run(ev);
	printf("{\"relayed_to_client\":%llu, \"relayed_to_gateway\":%llu, \"played_again\":%llu}\n",
	       (unsigned long long)relayed_down, (unsigned long long)relayed_up,
	       (unsigned long long)played);
	fflush(stdout);
	listener_free(ls);
	close(fd);
	ev_free(ev);
	free(ring);
	topo_free(topo);
	keypair_wipe(&gw_kp);
	keypair_wipe(&cl_kp);
	conf_free(opts, ARRAY_LEN(opts));
	return 0;
}
