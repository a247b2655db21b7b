/* proxy_server — `mixproxy server`: the reference's NymProxyServer.
 *
 * One persistent mixnet identity (CONFIG_DIR/identity.key), its address
 * in CONFIG_DIR/address.  Every session a client opens gets one
 * non-blocking connection to the upstream service; bytes travel back
 * through the client's reply blocks, so the server never learns who the
 * client is, only an anonymous sender tag.
 *
 * Two parts: the server (proxy_server.h), which holds the sessions and
 * dispatches what arrives to them, and the command around it, which
 * reads the options, keeps the identity and its address, runs the one
 * mixnet client whose send window all sessions share, and reports. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "daemon.h"
#include "ev.h"
#include "fring.h"
#include "htab.h"
#include "log.h"
#include "ratelog.h"
#include "mixcc.h"
#include "mixclient.h"
#include "proxy_common.h"
#include "proxy_server.h"
#include "route.h"
#include "session.h"
#include "topology.h"
#include "util.h"

/* A session of the server's, and the sender it is bound to. */
struct ssess {
	struct server *sv;
	struct session *s;
	uint8_t tag[MIX_TAG_BYTES];
};

struct server {
	struct ev *ev;
	struct sockaddr_storage up;
	socklen_t uplen;
	char *upstream_text;
	uint64_t max_sessions;
	struct session_cfg scfg;
	int (*reply)(const uint8_t tag[MIX_TAG_BYTES], const uint8_t *msg, size_t len, void *ctx);
	void *ctx;
	struct session_waitq q;
	struct htab *sessions;          /* session id -> struct ssess */
	struct htab *tombs;             /* session id -> (void *)1 */
	struct fring tomb_ring;         /* their ids, oldest first */
	struct ratelog rl_bad;
	struct server_counters n;
};

/* ---- ended sessions ---- */

static void tomb_add(struct server *sv, const uint8_t sid[PMSG_SID_BYTES])
{
	if (htab_get(sv->tombs, sid))
		return;
	if (fring_full(&sv->tomb_ring)) {
		htab_del(sv->tombs, fring_oldest(&sv->tomb_ring));
		fring_drop_oldest(&sv->tomb_ring);
	}
	if (htab_put(sv->tombs, sid, (void *)1) == 0)
		fring_push(&sv->tomb_ring, sid);
}

/* ---- sessions ---- */

static int ssess_io_send(struct session *s, const uint8_t *msg, size_t len, void *ctx)
{
	struct ssess *ss = ctx;
	(void)s;
	return ss->sv->reply(ss->tag, msg, len, ss->sv->ctx);
}

static void ssess_io_done(struct session *s, int clean, void *ctx)
{
	struct ssess *ss = ctx;
	struct server *sv = ss->sv;
	if (clean)
		sv->n.closed++;
	else
		sv->n.reset++;
	proxy_session_ended(&sv->n.ended, s);
	htab_del(sv->sessions, session_id(s));
	tomb_add(sv, session_id(s));
	session_release(s);
	free(ss);
}

static const struct session_io ssess_io = {
	.send = ssess_io_send,
	.done = ssess_io_done,
};

/* Start the upstream connection: a socket, or -1 with errno. */
static int upstream_connect(struct server *sv, int *connecting)
{
	int fd = socket(sv->up.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	*connecting = 0;
	if (connect(fd, (struct sockaddr *)&sv->up, sv->uplen) < 0) {
		if (errno != EINPROGRESS) {
			int e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		*connecting = 1;
	}
	return fd;
}

/* A session for m's id, bound to tag, its upstream connect begun; NULL
 * with the reason for the sender's RESET in *reset when there is no room
 * for it. */
static struct session *open_session(struct server *sv, const uint8_t tag[MIX_TAG_BYTES],
                                    const struct pmsg *m, const char **reset)
{
	if (htab_count(sv->sessions) >= sv->max_sessions) {
		sv->n.refused++;
		ratelog_warn(&sv->rl_bad, "session refused: --max-sessions (%llu) reached",
		             (unsigned long long)sv->max_sessions);
		*reset = "server full";
		return NULL;
	}
	struct ssess *ss = xcalloc(1, sizeof(*ss));
	ss->sv = sv;
	memcpy(ss->tag, tag, MIX_TAG_BYTES);
	ss->s = session_new(sv->ev, SESSION_SERVER, m->sid, &sv->scfg, &ssess_io, ss, &sv->q);
	if (htab_put(sv->sessions, m->sid, ss)) {
		session_free(ss->s);
		free(ss);
		*reset = "server full";
		return NULL;
	}
	sv->n.opened++;
	struct session *s = ss->s;
	log_info("session %s: opened, connecting to %s", session_name(s), sv->upstream_text);
	log_debug("session %s: opened by sender %02x%02x%02x%02x", session_name(s), tag[0], tag[1],
	          tag[2], tag[3]);
	int connecting;
	int fd = upstream_connect(sv, &connecting);
	if (fd < 0) {
		char why[160];
		sv->n.upstream_failed++;
		snprintf(why, sizeof(why), "upstream %s: %s", sv->upstream_text, strerror(errno));
		session_abort(s, why, 1);
		/* Done, or resetting: either takes no more input. */
		return s;
	}
	/* What comes before the connect is done waits in the reorder window. */
	session_start_server(s, fd, connecting);
	return s;
}

/* ---- dispatch: what session_dispatch asks of the server ---- */

/* One message from one sender, as session_dispatch's ctx. */
struct from_sender {
	struct server *sv;
	const uint8_t *tag;
};

static struct session *server_find(const struct pmsg *m, int *refused, void *ctx)
{
	struct from_sender *f = ctx;
	struct server *sv = f->sv;
	struct ssess *ss = htab_get(sv->sessions, m->sid);
	if (!ss)
		return NULL;
	if (memcmp(ss->tag, f->tag, MIX_TAG_BYTES)) {
		sv->n.bad++;
		ratelog_warn(&sv->rl_bad, "session %s: message from another sender dropped",
		             session_name(ss->s));
		*refused = 1;
		return NULL;
	}
	return ss->s;
}

static struct session *server_unknown(const struct pmsg *m, const char **reset, void *ctx)
{
	struct from_sender *f = ctx;
	struct server *sv = f->sv;
	if (htab_get(sv->tombs, m->sid)) {
		log_debug("%s message for an ended session dropped", pmsg_kind_name(m->kind));
		return NULL;
	}
	/* A new session begins with its first messages (they may arrive in
	 * any order); anything else names a session we never had. */
	if (!pmsg_sequenced(m->kind) || pmsg_dist(PMSG_ID_FIRST, m->id) >= SESSION_WINDOW) {
		if (m->kind != PMSG_RESET && m->kind != PMSG_CREDIT) {
			sv->n.bad++;
			ratelog_warn(&sv->rl_bad, "%s message %u for an unknown session dropped",
			             pmsg_kind_name(m->kind), (unsigned)m->id);
		}
		return NULL;
	}
	return open_session(sv, f->tag, m, reset);
}

static int server_refuse(const uint8_t *msg, size_t len, void *ctx)
{
	struct from_sender *f = ctx;
	return f->sv->reply(f->tag, msg, len, f->sv->ctx);
}

static void server_malformed(const char *why, void *ctx)
{
	struct from_sender *f = ctx;
	f->sv->n.bad++;
	ratelog_warn(&f->sv->rl_bad, "message from an anonymous sender dropped: %s", why);
}

static const struct session_owner server_owner = {
	.find = server_find,
	.unknown = server_unknown,
	.send = server_refuse,
	.malformed = server_malformed,
};

void server_input(struct server *sv, const struct mix_from *from, const uint8_t *data,
                  size_t len)
{
	if (from->reply) {
		ratelog_warn(&sv->rl_bad, "a reply dropped: this server sends no messages");
		return;
	}
	struct from_sender f = { sv, from->tag };
	session_dispatch(data, len, &server_owner, &f);
}

void server_on_room(struct server *sv)
{
	session_waitq_run(&sv->q);
}

void server_giveup(struct server *sv, const struct mix_from *to, const char *why)
{
	char reason[256];
	size_t it = 0;
	const void *k;
	void *v;
	if (to->reply)
		return;
	/* A reply that cannot reach its sender dooms every session of that
	 * sender (our clients use one sender per session). */
	snprintf(reason, sizeof(reason), "a message to the client could not be delivered: %s", why);
	while (htab_next(sv->sessions, &it, &k, &v)) {
		struct ssess *ss = v;
		if (!memcmp(ss->tag, to->tag, MIX_TAG_BYTES))
			session_abort(ss->s, reason, 0);
	}
}

/* ---- life ---- */

struct server *server_new(struct ev *ev, const struct server_cfg *cfg)
{
	struct server *sv = xcalloc(1, sizeof(*sv));
	sv->ev = ev;
	ratelog_init(&sv->rl_bad, ev);
	memcpy(&sv->up, cfg->upstream, sizeof(sv->up));
	sv->uplen = cfg->upstream_len;
	sv->upstream_text = xstrdup(cfg->upstream_text);
	sv->max_sessions = cfg->max_sessions;
	sv->scfg = cfg->scfg;
	sv->reply = cfg->reply;
	sv->ctx = cfg->ctx;
	session_waitq_init(&sv->q);
	sv->sessions = htab_new(PMSG_SID_BYTES, cfg->max_sessions);
	sv->tombs = htab_new(PMSG_SID_BYTES, SERVER_TOMBS);
	(void)fring_init(&sv->tomb_ring, PMSG_SID_BYTES, SERVER_TOMBS); /* fails only for a size of 0 */
	return sv;
}

void server_free(struct server *sv)
{
	size_t it = 0;
	const void *k;
	void *v;
	if (!sv)
		return;
	while (htab_next(sv->sessions, &it, &k, &v)) {
		struct ssess *ss = v;
		session_free(ss->s);
		free(ss);
	}
	ratelog_stop(&sv->rl_bad);
	htab_free(sv->sessions);
	htab_free(sv->tombs);
	fring_free(&sv->tomb_ring);
	free(sv->upstream_text);
	free(sv);
}

size_t server_sessions(const struct server *sv)
{
	return htab_count(sv->sessions);
}

const struct server_counters *server_counters(const struct server *sv)
{
	return &sv->n;
}

/* ---- what it reports: SIGUSR1, and `mixproxy show` (ctl.h) ---- */

enum {
	SS_SESSIONS, SS_OPENED, SS_CLOSED, SS_RESET, SS_REFUSED, SS_UPSTREAM_FAILED, SS_BAD, SS_N
};

_Static_assert(SS_N <= PROXY_OWN_MAX, "a proxy_report holds the figures");

static const struct ctl_stat server_stats[SS_N] = {
	[SS_SESSIONS] = { NULL, "sessions", "sessions", NULL, CTL_GAUGE, 0, "Sessions open." },
	[SS_OPENED] = { NULL, "opened", "sessions_opened_total", NULL, CTL_COUNTER, 0, "Sessions opened." },
	[SS_CLOSED] = { NULL, "closed", "sessions_closed_total", NULL, CTL_COUNTER, 0, "Sessions that ended cleanly." },
	[SS_RESET] = { NULL, "reset", "sessions_reset_total", NULL, CTL_COUNTER, 0, "Sessions reset, or timed out." },
	[SS_REFUSED] = { NULL, "refused", "sessions_refused_total", NULL, CTL_COUNTER, 0, "Sessions refused: --max-sessions reached." },
	[SS_UPSTREAM_FAILED] = { NULL, "upstream_failed", "upstream_failed_total", NULL, CTL_COUNTER, 0, "Upstream connections that failed." },
	[SS_BAD] = { NULL, "bad", "messages_bad_total", NULL, CTL_COUNTER, 0, "Messages dropped: malformed, or for a session not theirs." },
};

void server_report(const struct server *sv, struct proxy_report *r)
{
	size_t it = 0;
	const void *k;
	void *ss;
	while (htab_next(sv->sessions, &it, &k, &ss))
		proxy_report_add_session(r, ((struct ssess *)ss)->s);
	r->own = server_stats;
	r->own_n = SS_N;
	r->own_v[SS_SESSIONS] = (double)htab_count(sv->sessions);
	r->own_v[SS_OPENED] = (double)sv->n.opened;
	r->own_v[SS_CLOSED] = (double)sv->n.closed;
	r->own_v[SS_RESET] = (double)sv->n.reset;
	r->own_v[SS_REFUSED] = (double)sv->n.refused;
	r->own_v[SS_UPSTREAM_FAILED] = (double)sv->n.upstream_failed;
	r->own_v[SS_BAD] = (double)sv->n.bad;
}

/* ---- the command: `mixproxy server` ---- */

/* What cmd_server holds around the server: the options, the identity and
 * its address, the mixnet client and what reports on it all. */
struct server_cmd {
	struct proxy_opts o;
	char *upstream_text, *config_dir;
	uint64_t window, connect_timeout;
	struct sockaddr_storage up;
	socklen_t uplen;
	struct ev *ev;
	struct topology *topo;
	struct keypair kp;
	struct mix_addr addr;
	struct mixclient *mc;
	struct mixcc *cc;
	struct routes *routes;          /* the mixnet client's, kept here for show */
	struct server *sv;
	struct ctl *ctl;
	char name[256];                 /* the instance (ctl_name) */
	char atext[MIX_ADDR_CHARS + 8];
	struct proxy_reporter rep;
};

/* ---- the mixnet side ---- */

static int server_mc_message(struct mixclient *mc, const struct mix_from *from,
                             const uint8_t *data, size_t len, void *ctx)
{
	struct server_cmd *sc = ctx;
	(void)mc;
	server_input(sc->sv, from, data, len);
	return 0;
}

static void server_mc_writable(struct mixclient *mc, void *ctx)
{
	struct server_cmd *sc = ctx;
	(void)mc;
	server_on_room(sc->sv);
}

static void server_mc_giveup(struct mixclient *mc, const struct mix_from *to, uint64_t msg_id,
                             const char *why, void *ctx)
{
	struct server_cmd *sc = ctx;
	(void)mc;
	(void)msg_id;
	server_giveup(sc->sv, to, why);
}

static void server_mc_link(struct mixclient *mc, int up, void *ctx)
{
	(void)mc;
	(void)ctx;
	log_info("gateway link %s", up ? "up" : "down");
}

static const struct mixclient_cbs server_mc_cbs = {
	.on_message = server_mc_message,
	.on_writable = server_mc_writable,
	.on_giveup = server_mc_giveup,
	.on_link = server_mc_link,
};

static int server_mc_reply(const uint8_t tag[MIX_TAG_BYTES], const uint8_t *msg, size_t len,
                           void *ctx)
{
	struct server_cmd *sc = ctx;
	return mixclient_reply(sc->mc, tag, msg, len, NULL);
}

/* ---- identity and address ---- */

/* The gateway of the address we had, so a restart keeps the address. */
static int previous_gateway(struct server_cmd *sc, char *gw, size_t n)
{
	char path[4096], line[256];
	snprintf(path, sizeof(path), "%s/address", sc->config_dir);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	int ok = fgets(line, sizeof(line), f) != NULL;
	fclose(f);
	if (!ok)
		return -1;
	line[strcspn(line, "\r\n")] = 0;
	struct mix_addr a;
	const char *why;
	if (mix_addr_parse(line, &a, &why) || memcmp(a.pk, sc->kp.pk, PKT_KEY_BYTES))
		return -1;
	snprintf(gw, n, "%s", (const char *)a.gw);
	return 0;
}

static int write_address(struct server_cmd *sc, const char *text, char *err, size_t errsz)
{
	char path[4096], tmp[4200];
	snprintf(path, sizeof(path), "%s/address", sc->config_dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		snprintf(err, errsz, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	size_t n = strlen(text);
	int bad = write(fd, text, n) != (ssize_t)n || write(fd, "\n", 1) != 1 || fsync(fd) < 0;
	if (close(fd) < 0 || bad || rename(tmp, path) < 0) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* The gateway to attach to: --gateway, else the one of the address we
 * had, else one at random.  NULL (said on stderr) for a --gateway that is
 * none. */
static const struct topo_node *server_gateway(struct server_cmd *sc)
{
	const struct proxy_opts *o = &sc->o;
	char gwname[PKT_ID_BYTES + 1];
	const struct topo_node *gw = NULL;
	if (o->gateway) {
		gw = topo_by_name(sc->topo, o->gateway);
		if (!gw || gw->role != TOPO_GATEWAY) {
			fprintf(stderr, "mixproxy server: --gateway '%s': no gateway of that name in %s\n",
			        o->gateway, o->topology);
			return NULL;
		}
	} else if (previous_gateway(sc, gwname, sizeof(gwname)) == 0) {
		gw = topo_by_name(sc->topo, gwname);
		if (gw && gw->role != TOPO_GATEWAY)
			gw = NULL;
		if (!gw)
			fprintf(stderr, "mixproxy server: gateway %s of the old address is gone from "
			        "%s: picking another (the address changes)\n", gwname, o->topology);
	}
	if (!gw)
		gw = topo_random_gateway(sc->topo);
	return gw;
}

/* ---- what the command reports ---- */

static void server_gather(void *ctx, struct proxy_report *r)
{
	struct server_cmd *sc = ctx;
	proxy_report_init(r, sc->topo, sc->cc, sc->routes, NULL, &server_counters(sc->sv)->ended);
	proxy_report_add_client(r, sc->mc);
	server_report(sc->sv, r);
}

static void server_head(void *ctx, struct ctl_buf *b, uint64_t up_s)
{
	struct server_cmd *sc = ctx;
	char age[32];
	ctl_printf(b, "server: %s\n", sc->atext);
	ctl_printf(b, "  upstream: %s\n", sc->upstream_text);
	ctl_printf(b, "  config dir: %s\n", sc->config_dir);
	ctl_printf(b, "  topology: %s (%zu nodes)\n", sc->o.topology, sc->topo->n);
	ctl_printf(b, "  running for: %s\n", ctl_duration(up_s, age, sizeof(age)));
	proxy_show_profile(b, &sc->o);
}

static void server_on_usr1(struct ev *ev, int signo, void *ctx)
{
	struct server_cmd *sc = ctx;
	(void)ev;
	(void)signo;
	proxy_report_log(&sc->rep);
}

/* ---- parse, open, run, close ---- */

/* The options and their checks.  DAEMON_GO_ON, or the exit status. */
static int server_cmd_parse(struct server_cmd *sc, struct opt *opts, size_t nopts, int argc,
                            char **argv)
{
	struct proxy_opts *o = &sc->o;
	/* SIGHUP is documented as ignored: from the start, not only once the
	 * loop runs (a stray systemctl kill -s HUP must not stop us). */
	signal(SIGHUP, SIG_IGN);
	int rc = daemon_options("server", opts, nopts, argc, argv, "mixproxy server -u HOST:PORT -c DIR -t TOPOLOGY [options]", &o->config);
	if (rc != DAEMON_GO_ON)
		return rc;
	if (!sc->upstream_text || !sc->config_dir || !o->topology) {
		fprintf(stderr, "mixproxy server: %s is required (see mixproxy server -h)\n",
		        !sc->upstream_text ? "-u/--upstream-tcp-address" :
		        !sc->config_dir ? "-c/--config-dir" : "-t/--topology");
		return EXIT_USAGE;
	}
	char err[1024];
	if (proxy_opts_check(o, err, sizeof(err))) {
		fprintf(stderr, "mixproxy server: %s (see mixproxy server -h)\n", err);
		return EXIT_USAGE;
	}
	const char *why;
	if (parse_hostport(sc->upstream_text, &sc->up, &sc->uplen, &why)) {
		fprintf(stderr, "mixproxy server: --upstream-tcp-address '%s': %s\n",
		        sc->upstream_text, why);
		return EXIT_USAGE;
	}
	if (o->check_config)
		return daemon_checked("server", o->config);
	return DAEMON_GO_ON;
}

/* Everything the loop needs: the topology, the identity and its address,
 * the control socket, the mixnet client and the server, then leave the
 * terminal.  DAEMON_GO_ON, or the exit status (said on stderr). */
static int server_cmd_open(struct server_cmd *sc)
{
	struct proxy_opts *o = &sc->o;
	char err[8448];
	int rc = 0;
	sc->topo = topo_load(o->topology, err, sizeof(err));
	if (!sc->topo) {
		fprintf(stderr, "mixproxy server: %s\n", err);
		return EXIT_CONFIG;
	}
	if (keydir_identity(sc->config_dir, &sc->kp, err, sizeof(err))) {
		fprintf(stderr, "mixproxy server: %s\n", err);
		return EXIT_CANTCREAT;
	}
	/* The directory may be relative: resolve it before daemon(3) moves us. */
	char *abs = realpath(sc->config_dir, NULL);
	if (abs) {
		free(sc->config_dir);
		sc->config_dir = abs;
	}
	const struct topo_node *gw = server_gateway(sc);
	if (!gw)
		return EXIT_CONFIG;
	memcpy(sc->addr.pk, sc->kp.pk, PKT_KEY_BYTES);
	memcpy(sc->addr.gw, gw->id, PKT_ID_BYTES);
	mix_addr_format(&sc->addr, sc->atext, sizeof(sc->atext));
	if (write_address(sc, sc->atext, err, sizeof(err))) {
		fprintf(stderr, "mixproxy server: cannot write the address: %s\n", err);
		return EXIT_CANTCREAT;
	}
	log_init("mixproxy-server", o->foreground, o->verbose);
	/* Each session takes one: its upstream connection. */
	proxy_fit_sessions(&o->max_sessions, 1);
	/* Named for the service it fronts: two servers on one box differ. */
	char fallback[32];
	snprintf(fallback, sizeof(fallback), "server-%s", strrchr(sc->upstream_text, ':') + 1);
	ctl_name(o->config, fallback, sc->name, sizeof(sc->name));
	sc->ctl = ctl_open("server", o->control, sc->name, &rc);
	if (!sc->ctl && rc)
		return rc;
	daemon_detach(o->foreground);

	sc->ev = ev_new();
	sc->rep = (struct proxy_reporter){ "server", sc->name, &sc->o, now_us(), server_gather,
	                                   server_head, sc };
	struct mixclient_cfg mcfg;
	proxy_mixcfg(o, &mcfg);
	mcfg.topo = sc->topo;
	mcfg.kp = &sc->kp;
	mcfg.gateway = gw->name;
	mcfg.window = (unsigned)sc->window;
	mcfg.cbs = &server_mc_cbs;
	mcfg.ctx = sc;
	sc->cc = mixcc_new(sc->ev, o->fast);
	mcfg.cc = sc->cc;
	sc->routes = routes_new(sc->topo);
	mcfg.routes = sc->routes;
	const char *why;
	sc->mc = mixclient_new(sc->ev, &mcfg, &why);
	if (!sc->mc)
		fatal(EXIT_SOFTWARE, "mixnet client: %s", why);
	struct server_cfg cfg = {
		.upstream = &sc->up,
		.upstream_len = sc->uplen,
		.upstream_text = sc->upstream_text,
		.max_sessions = o->max_sessions,
		.reply = server_mc_reply,
		.ctx = sc,
	};
	proxy_session_cfg(o, &cfg.scfg);
	cfg.scfg.connect_timeout_s = (unsigned)sc->connect_timeout;
	sc->sv = server_new(sc->ev, &cfg);
	daemon_signals(sc->ev);
	ev_signal(sc->ev, SIGUSR1, server_on_usr1, sc);
	if (sc->ctl)
		ctl_serve(sc->ctl, sc->ev, proxy_report_answer, &sc->rep);
	log_info("server address %s (written to %s/address), upstream %s", sc->atext,
	         sc->config_dir, sc->upstream_text);
	proxy_log_profile(o);
	return DAEMON_GO_ON;
}

/* Until SIGTERM or SIGINT; the counters are logged at the end. */
static int server_cmd_run(struct server_cmd *sc)
{
	int rc = ev_run(sc->ev) ? EXIT_OSERR : 0;
	server_on_usr1(sc->ev, 0, sc);
	return rc;
}

/* Free what open made, as far as it got. */
static void server_cmd_close(struct server_cmd *sc)
{
	ctl_free(sc->ctl);
	server_free(sc->sv);
	mixclient_free(sc->mc);
	routes_free(sc->routes);
	mixcc_free(sc->cc);
	ev_free(sc->ev);
	topo_free(sc->topo);
	keypair_wipe(&sc->kp);
}

int cmd_server(int argc, char **argv)
{
	struct server_cmd *sc = xcalloc(1, sizeof(*sc));
	struct proxy_opts *o = &sc->o;
	proxy_opts_defaults(o);
	o->max_sessions = 4096;
	sc->window = 1024;
	sc->connect_timeout = 10;
	struct opt opts[] = {
		{ "upstream-tcp-address", 'u', OPT_STR, "HOST:PORT", "the service to relay sessions to (required)", &sc->upstream_text, 0, 0, 0 },
		{ "config-dir", 'c', OPT_STR, "DIR", "identity and address live here (required)", &sc->config_dir, 0, 0, 0 },
		{ "connect-timeout", 0, OPT_U64, "SECS", "upstream connect timeout (10)", &sc->connect_timeout, 1, 3600, 0 },
		{ "window", 0, OPT_U64, "N", "messages in flight for all sessions together (1024)", &sc->window, 16, 65536, 0 },
		PROXY_COMMON_OPTS(o),
	};
	const size_t nopts = ARRAY_LEN(opts);

	int rc = server_cmd_parse(sc, opts, nopts, argc, argv);
	if (rc == DAEMON_GO_ON)
		rc = server_cmd_open(sc);
	if (rc == DAEMON_GO_ON)
		rc = server_cmd_run(sc);
	server_cmd_close(sc);
	conf_free(opts, nopts);
	free(sc);
	return rc;
}
