/* cmd_node — `mixproxy node`: parse the options, open what the node
 * needs (its keys, the topology, the listening and control sockets),
 * run the loop, close.  What a node does is node.c's. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "conf.h"
#include "ctl.h"
#include "daemon.h"
#include "ev.h"
#include "keys.h"
#include "log.h"
#include "node.h"
#include "replay.h"
#include "topology.h"
#include "util.h"

/* Everything the four steps share: the options, then what open made and
 * close frees.  topo and rf belong to this until node_new takes them. */
struct node_cmd {
	char *config, *topology, *key_file, *role, *listen, *control, *replay_file;
	uint64_t layer;
	int foreground, verbose, check_config;
	uint64_t replay_window, replay_memory;
	struct node_cfg cfg;
	struct sockaddr_storage ls;
	socklen_t lsl;
	struct keypair kp;
	struct topology *topo;
	struct replay *rf;
	int listen_fd;
	struct ctl *ctl;
	struct ev *ev;
	struct node *n;
};

/* Replay memory: `gens` Bloom filters sharing the budget, spanning the
 * window with two generations to spare (see replay.h), in the file
 * c->replay_file (default: the key file's name + ".replay") or, with
 * "none", in memory only.  What the file held is logged.  0, or the exit
 * status. */
static int make_replay(struct node_cmd *c)
{
	const unsigned gens = 6;
	unsigned gen_min = (unsigned)((c->replay_window + gens - 3) / (gens - 2));
	unsigned log2 = 10;
	while (log2 < 32 && ((uint64_t)gens << (log2 + 1)) / 8 <= c->replay_memory * 1048576u)
		log2++;
	if (!gen_min)
		gen_min = 1;
	if (c->replay_file && !strcmp(c->replay_file, "none")) {
		c->rf = replay_new(log2, gens, gen_min);
		if (!c->rf)
			fatal(EXIT_SOFTWARE, "cannot create the replay filter");
		log_warn("replay memory in memory only (replay-file none): a restart "
		         "forgets the packets of the last %u minutes", replay_max_age_min(c->rf));
		return 0;
	}
	if (!c->replay_file) {
		size_t len = strlen(c->key_file) + sizeof(".replay");
		c->replay_file = xmalloc(len);
		snprintf(c->replay_file, len, "%s.replay", c->key_file);
	}
	char err[512];
	uint8_t boot[16];
	enum replay_found found;
	int have_boot = !replay_boot_id(boot);
	c->rf = replay_open(c->replay_file, c->kp.pk, log2, gens, gen_min,
	                    (uint32_t)(wall_s() / 60), have_boot ? boot : NULL, &found,
	                    err, sizeof(err));
	if (!c->rf) {
		fprintf(stderr, "mixproxy node: %s (replay-file: another file, or none "
		        "to keep it in memory only)\n", err);
		return EXIT_CANTCREAT;
	}
	if (found == REPLAY_FOUND_LOST || found == REPLAY_FOUND_RESIZED) {
		time_t until = (time_t)replay_unknown_until(c->rf) * 60 + 59;
		struct tm tm;
		char when[32];
		gmtime_r(&until, &tm);
		strftime(when, sizeof(when), "%H:%M:%S UTC", &tm);
		log_warn("replay file %s: %s; packets made up to %s are refused",
		         c->replay_file, replay_found_str(found), when);
	} else {
		log_info("replay file %s: %s", c->replay_file, replay_found_str(found));
	}
	return 0;
}

/* The options, checked as far as they can be without opening anything.
 * DAEMON_GO_ON, or the exit status. */
static int node_parse(struct node_cmd *c, struct opt *opts, size_t nopts, int argc, char **argv)
{
	const char *why;
	int rc = daemon_options("node", opts, nopts, argc, argv,
	                        "mixproxy node -t TOPOLOGY -k KEYFILE [options]", &c->config);
	if (rc != DAEMON_GO_ON)
		return rc;
	if (!c->topology || !c->key_file) {
		fprintf(stderr, "mixproxy node: %s is required (see mixproxy node -h)\n",
		        !c->topology ? "-t/--topology" : "-k/--key-file");
		return EXIT_USAGE;
	}
	if (c->role && strcmp(c->role, "mix") && strcmp(c->role, "gateway")) {
		fprintf(stderr, "mixproxy node: --role '%s': expected mix or gateway\n", c->role);
		return EXIT_USAGE;
	}
	if (c->listen && parse_hostport(c->listen, &c->ls, &c->lsl, &why)) {
		fprintf(stderr, "mixproxy node: --listen '%s': %s\n", c->listen, why);
		return EXIT_USAGE;
	}
	if (c->check_config)
		return daemon_checked("node", c->config);
	return DAEMON_GO_ON;
}

/* The key, the topology (and this node's place in it), the replay
 * filter, the sockets, then the loop and the node on it.  DAEMON_GO_ON,
 * or the exit status; what was opened is closed by node_close. */
static int node_open(struct node_cmd *c)
{
	char err[1024], keytext[B58_KEY_CHARS], rolebuf[32], name[256], listen_text[64];
	int rc;

	log_init("mixproxy-node", c->foreground, c->verbose);
	if (keyfile_read(c->key_file, &c->kp, err, sizeof(err))) {
		fprintf(stderr, "mixproxy node: %s\n", err);
		return EXIT_NOINPUT;
	}
	/* SIGHUP reloads the topology after we may have left the directory. */
	char *abs = realpath(c->topology, NULL);
	if (abs) {
		free(c->topology);
		c->topology = abs;
	}
	c->topo = topo_load(c->topology, err, sizeof(err));
	if (!c->topo) {
		fprintf(stderr, "mixproxy node: %s\n", err);
		return EXIT_CONFIG;
	}
	key_to_str(c->kp.pk, keytext, sizeof(keytext));
	const struct topo_node *self = topo_by_pk(c->topo, c->kp.pk);
	if (!self) {
		fprintf(stderr, "mixproxy node: this node's public key %s is not in %s "
		        "(add the line 'mixproxy keygen --show' prints)\n", keytext, c->topology);
		return EXIT_CONFIG;
	}
	if (c->role && strcmp(c->role, self->role == TOPO_MIX ? "mix" : "gateway")) {
		fprintf(stderr, "mixproxy node: --role %s, but %s lists %s as a %s\n", c->role,
		        c->topology, self->name, node_role_name(self, rolebuf, sizeof(rolebuf)));
		return EXIT_CONFIG;
	}
	if (c->layer && (self->role != TOPO_MIX || (int)c->layer != self->layer)) {
		fprintf(stderr, "mixproxy node: --layer %llu, but %s lists %s as a %s\n",
		        (unsigned long long)c->layer, c->topology, self->name,
		        node_role_name(self, rolebuf, sizeof(rolebuf)));
		return EXIT_CONFIG;
	}
	if (!c->listen) {
		c->ls = self->addr;
		c->lsl = self->addrlen;
	}
	if ((rc = make_replay(c)))
		return rc;
	c->listen_fd = daemon_listen(&c->ls, c->lsl, 256, c->listen ? c->listen : self->addr_text,
	                             err, sizeof(err));
	if (c->listen_fd < 0) {
		fprintf(stderr, "mixproxy node: %s\n", err);
		return EXIT_OSERR;
	}
	ctl_name(c->config, self->name, name, sizeof(name));
	c->ctl = ctl_open("node", c->control, name, &rc);
	if (!c->ctl && rc)
		return rc;
	daemon_detach(c->foreground);

	/* What the start line says of the filter, read while it is ours. */
	unsigned replay_min = replay_max_age_min(c->rf);
	size_t replay_kib = replay_memory_bytes(c->rf) / 1024;
	char self_name[sizeof(self->name)];
	snprintf(self_name, sizeof(self_name), "%s", self->name);
	node_role_name(self, rolebuf, sizeof(rolebuf));
	sockaddr_str((struct sockaddr *)&c->ls, listen_text, sizeof(listen_text));

	c->ev = ev_new();
	c->cfg.kp = &c->kp;
	c->cfg.topo = c->topo;
	c->cfg.topology = c->topology;
	c->cfg.rf = c->rf;
	c->cfg.listen_fd = c->listen_fd;
	c->cfg.listen_text = listen_text;
	c->topo = NULL;
	c->rf = NULL;
	c->n = node_new(c->ev, &c->cfg, err, sizeof(err));
	if (!c->n)
		fatal(EXIT_OSERR, "%s", err);
	if (c->ctl)
		ctl_serve(c->ctl, c->ev, node_answer, c->n);
	log_info("node %s (%s) listening on %s, key %s, replay window %u min in %zu KiB",
	         self_name, rolebuf, listen_text, keytext, replay_min, replay_kib);
	if (c->cfg.test_drop > 0 || c->cfg.test_duplicate > 0)
		log_warn("TESTING ONLY: dropping %.3f and duplicating %.3f of received packets",
		         c->cfg.test_drop, c->cfg.test_duplicate);
	return DAEMON_GO_ON;
}

static void node_on_usr1(struct ev *ev, int signo, void *ctx)
{
	(void)ev;
	(void)signo;
	node_log_counters(ctx);
}

static void node_on_hup(struct ev *ev, int signo, void *ctx)
{
	(void)ev;
	(void)signo;
	node_reload(ctx);
}

/* Until SIGTERM or SIGINT; the exit status. */
static int node_run(struct node_cmd *c)
{
	daemon_signals(c->ev);
	ev_signal(c->ev, SIGHUP, node_on_hup, c->n);
	ev_signal(c->ev, SIGUSR1, node_on_usr1, c->n);
	int rc = ev_run(c->ev) ? EXIT_OSERR : 0;
	node_log_counters(c->n);
	return rc;
}

/* Whatever open got to, freed in order, so leak checkers see a clean
 * exit: the node closes its links, whose frees ev_free runs. */
static void node_close(struct node_cmd *c)
{
	ctl_free(c->ctl);
	node_free(c->n);
	if (c->ev)
		ev_free(c->ev);
	if (c->listen_fd >= 0)
		close(c->listen_fd);
	if (c->rf) {
		char err[256];
		if (replay_close(c->rf, err, sizeof(err)))
			log_err("%s", err);
	}
	if (c->topo)
		topo_free(c->topo);
	keypair_wipe(&c->kp);
}

int cmd_node(int argc, char **argv)
{
	struct node_cmd *c = xcalloc(1, sizeof(*c));
	struct node_cfg *o = &c->cfg;
	node_cfg_defaults(o);
	c->listen_fd = -1;
	c->replay_window = 60;
	c->replay_memory = 8;
	struct opt opts[] = {
		{ "config", 'f', OPT_STR, "FILE", "read options from FILE (mixproxy.conf(5))", &c->config, 0, 0, 0 },
		{ "topology", 't', OPT_STR, "FILE", "the topology file (required)", &c->topology, 0, 0, 0 },
		{ "key-file", 'k', OPT_STR, "FILE", "this node's key file (required)", &c->key_file, 0, 0, 0 },
		{ "role", 'r', OPT_STR, "ROLE", "mix or gateway: checked against the topology", &c->role, 0, 0, 0 },
		{ "layer", 'l', OPT_U64, "N", "mix layer 1-3: checked against the topology", &c->layer, 1, 3, 0 },
		{ "listen", 'L', OPT_STR, "HOST:PORT", "listen address (default: the topology's)", &c->listen, 0, 0, 0 },
		{ "foreground", 'd', OPT_FLAG, NULL, "stay in the foreground, log to stderr", &c->foreground, 0, 0, 0 },
		{ "verbose", 'v', OPT_COUNT, NULL, "log more (repeat for more)", &c->verbose, 0, 0, 0 },
		{ "check-config", 0, OPT_FLAG, NULL, "check the options and the config file, then exit", &c->check_config, 0, 0, 0 },
		{ "control", 0, OPT_STR, "PATH", "control socket for mixproxy show, or none (" CTL_DIR "/NAME.sock)", &c->control, 0, 0, 0 },
		{ "link-queue", 0, OPT_U64, "N", "frames queued per link (1024)", &o->link_queue, 2, 1000000, 0 },
		{ "max-held", 0, OPT_U64, "N", "packets held for their delay at once (50000)", &o->max_held, 1, 10000000, 0 },
		{ "max-delay", 0, OPT_U64, "MS", "longest per-hop delay accepted (10000)", &o->max_delay_ms, 0, 4294967, 0 },
		{ "max-links", 0, OPT_U64, "N", "incoming links at once (4096)", &o->max_links, 3, 1000000, 0 },
		{ "max-handshakes", 0, OPT_U64, "N", "incoming links not yet authenticated (256)", &o->max_handshakes, 1, 1000000, 0 },
		{ "max-handshakes-per-address", 0, OPT_U64, "N", "... from one address (64)", &o->handshakes_per_addr, 1, 1000000, 0 },
		{ "max-clients-per-address", 0, OPT_U64, "N", "client links from one address (1024)", &o->clients_per_addr, 1, 1000000, 0 },
		{ "client-queue-total", 0, OPT_U64, "N", "frames queued to all clients (16384)", &o->client_queue_total, 1, 100000000, 0 },
		{ "pace-total", 0, OPT_U64, "N", "paced frames a second to all clients together (20000)", &o->pace_total, 1, 100000000, 0 },
		{ "mailbox-max", 0, OPT_U64, "N", "mail kept per client away or paced (1000)", &o->mailbox_max, 1, 1000000, 0 },
		{ "mailbox-total", 0, OPT_U64, "N", "mail kept for all clients (20000)", &o->mailbox_total, 1, 100000000, 0 },
		{ "mailbox-age", 0, OPT_U64, "SECS", "mail older than this is dropped (600)", &o->mailbox_age, 1, 86400, 0 },
		{ "max-clients", 0, OPT_U64, "N", "clients known at once (10000)", &o->max_clients, 1, 10000000, 0 },
		{ "max-strangers", 0, OPT_U64, "N", "keys that never attached with mail kept (1000)", &o->max_strangers, 1, 10000000, 0 },
		{ "stranger-mail", 0, OPT_U64, "N", "mail kept for keys that never attached (2000)", &o->stranger_mail, 1, 100000000, 0 },
		{ "replay-window", 0, OPT_U64, "MIN", "packet and reply-block lifetime (60)", &c->replay_window, 4, 1440, 0 },
		{ "replay-memory", 0, OPT_U64, "MIB", "memory of the replay filter (8)", &c->replay_memory, 1, 4096, 0 },
		{ "replay-file", 0, OPT_STR, "FILE", "where the replay filter lives, or none (KEYFILE.replay)", &c->replay_file, 0, 0, 0 },
		{ "test-drop", 0, OPT_DBL, "P", "TESTING ONLY: drop received packets with probability P", &o->test_drop, 0, 1, 0 },
		{ "test-duplicate", 0, OPT_DBL, "P", "TESTING ONLY: duplicate received packets with probability P", &o->test_duplicate, 0, 1, 0 },
	};
	const size_t nopts = ARRAY_LEN(opts);

	/* SIGHUP asks for a reload (systemctl reload, procd), and may come
	 * at any time after the start: until the loop takes it, hold it
	 * instead of dying of its default action.  The loop's signalfd then
	 * reads it, so a topology changed during the start is not missed. */
	sigset_t hup;
	sigemptyset(&hup);
	sigaddset(&hup, SIGHUP);
	sigprocmask(SIG_BLOCK, &hup, NULL);

	int rc = node_parse(c, opts, nopts, argc, argv);
	if (rc == DAEMON_GO_ON)
		rc = node_open(c);
	if (rc == DAEMON_GO_ON)
		rc = node_run(c);
	node_close(c);
	conf_free(opts, nopts);
	free(c);
	return rc;
}
