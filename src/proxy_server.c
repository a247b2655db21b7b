/* proxy_server — `mixproxy server`: the reference's NymProxyServer.
 *
 * One persistent mixnet identity (CONFIG_DIR/identity.key), its address
 * in CONFIG_DIR/address.  Every session a client opens gets one
 * non-blocking connection to the upstream service; bytes travel back
 * through the client's reply blocks, so the server never learns who the
 * client is, only an anonymous sender tag.  A session is bound to the tag
 * that opened it: a message naming the session from another sender is
 * dropped.  All sessions share the one mixnet client's send window,
 * served round robin (session_waitq). */
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
#include "mixcc.h"
#include "mixclient.h"
#include "proxy_common.h"
#include "route.h"
#include "session.h"
#include "topology.h"
#include "util.h"

#define TOMBS 4096   /* ended sessions remembered, so stragglers do not reopen them */

struct server;

struct ssess {
	struct server *sv;
	struct session *s;
	uint8_t tag[MIX_TAG_BYTES];
};

struct server {
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
	struct session_cfg scfg;
	struct session_waitq q;
	struct htab *sessions;          /* session id -> struct ssess */
	struct htab *tombs;             /* session id -> (void *)1 */
	struct fring tomb_ring;         /* their ids, oldest first */
	struct ratelog rl_bad;
	uint64_t opened, clean, reset, refused_full, bad, upstream_failed;
	struct routes *routes;          /* the mixnet client's, kept here for show */
	struct proxy_sessions ended;    /* bytes of the sessions that ended */
	struct ctl *ctl;
	char name[256];                 /* the instance (ctl_name) */
	char atext[MIX_ADDR_CHARS + 8];
	struct proxy_reporter rep;
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

static int io_send(struct session *s, const uint8_t *msg, size_t len, void *ctx)
{
	struct ssess *ss = ctx;
	(void)s;
	return mixclient_reply(ss->sv->mc, ss->tag, msg, len, NULL);
}

static void io_done(struct session *s, int clean, void *ctx)
{
	struct ssess *ss = ctx;
	struct server *sv = ss->sv;
	if (clean)
		sv->clean++;
	else
		sv->reset++;
	proxy_session_ended(&sv->ended, s);
	htab_del(sv->sessions, session_id(s));
	tomb_add(sv, session_id(s));
	session_release(s);
	free(ss);
}

static const struct session_io server_io = {
	.send = io_send,
	.done = io_done,
};

/* A RESET for a session we do not hold (the server is full). */
static void reset_unknown(struct server *sv, const uint8_t tag[MIX_TAG_BYTES],
                          const uint8_t sid[PMSG_SID_BYTES], const char *why)
{
	uint8_t buf[PMSG_HDR + PMSG_REASON_MAX];
	struct pmsg m = { .kind = PMSG_RESET, .data = (const uint8_t *)why, .len = strlen(why) };
	memcpy(m.sid, sid, PMSG_SID_BYTES);
	size_t n = pmsg_encode(buf, sizeof(buf), &m);
	if (n && mixclient_reply(sv->mc, tag, buf, n, NULL) < 0)
		log_debug("no room to refuse a session");
}

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

static void open_session(struct server *sv, const uint8_t tag[MIX_TAG_BYTES], const struct pmsg *m)
{
	if (htab_count(sv->sessions) >= sv->o.max_sessions) {
		sv->refused_full++;
		ratelog_warn(&sv->rl_bad, "session refused: --max-sessions (%llu) reached",
		             (unsigned long long)sv->o.max_sessions);
		reset_unknown(sv, tag, m->sid, "server full");
		return;
	}
	struct ssess *ss = xcalloc(1, sizeof(*ss));
	ss->sv = sv;
	memcpy(ss->tag, tag, MIX_TAG_BYTES);
	ss->s = session_new(sv->ev, SESSION_SERVER, m->sid, &sv->scfg, &server_io, ss, &sv->q);
	if (htab_put(sv->sessions, m->sid, ss)) {
		session_free(ss->s);
		free(ss);
		reset_unknown(sv, tag, m->sid, "server full");
		return;
	}
	sv->opened++;
	struct session *s = ss->s;
	log_info("session %s: opened, connecting to %s", session_name(s), sv->upstream_text);
	/* Buffered until the upstream connects (the reorder window bounds it). */
	session_input(s, m);
	int connecting;
	int fd = upstream_connect(sv, &connecting);
	if (fd < 0) {
		char why[160];
		sv->upstream_failed++;
		snprintf(why, sizeof(why), "upstream %s: %s", sv->upstream_text, strerror(errno));
		session_abort(s, why, 1);
		return;
	}
	session_start_server(s, fd, connecting);
}

/* ---- the mixnet side ---- */

static int on_message(struct mixclient *mc, const struct mix_from *from, const uint8_t *data,
                      size_t len, void *ctx)
{
	struct server *sv = ctx;
	struct pmsg m;
	const char *why;
	(void)mc;
	if (from->reply) {
		ratelog_warn(&sv->rl_bad, "a reply dropped: this server sends no messages");
		return 0;
	}
	if (pmsg_decode(data, len, &m, &why)) {
		sv->bad++;
		ratelog_warn(&sv->rl_bad, "message from an anonymous sender dropped: %s", why);
		return 0;
	}
	struct ssess *ss = htab_get(sv->sessions, m.sid);
	if (ss) {
		if (memcmp(ss->tag, from->tag, MIX_TAG_BYTES)) {
			sv->bad++;
			ratelog_warn(&sv->rl_bad, "session %s: message from another sender dropped",
			             session_name(ss->s));
			return 0;
		}
		session_input(ss->s, &m);
		return 0;
	}
	if (htab_get(sv->tombs, m.sid)) {
		log_debug("%s message for an ended session dropped", pmsg_kind_name(m.kind));
		return 0;
	}
	/* A new session begins with its first messages (they may arrive in
	 * any order); anything else names a session we never had. */
	if (!pmsg_sequenced(m.kind) || pmsg_dist(0, m.id) >= SESSION_WINDOW) {
		if (m.kind != PMSG_RESET && m.kind != PMSG_CREDIT) {
			sv->bad++;
			ratelog_warn(&sv->rl_bad, "%s message %u for an unknown session dropped",
			             pmsg_kind_name(m.kind), (unsigned)m.id);
		}
		return 0;
	}
	open_session(sv, from->tag, &m);
	return 0;
}

static void on_writable(struct mixclient *mc, void *ctx)
{
	struct server *sv = ctx;
	(void)mc;
	session_waitq_run(&sv->q);
}

static void on_giveup(struct mixclient *mc, const struct mix_from *to, uint64_t msg_id,
                      const char *why, void *ctx)
{
	struct server *sv = ctx;
	char reason[256];
	size_t it = 0;
	const void *k;
	void *v;
	(void)mc;
	(void)msg_id;
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

static void on_link(struct mixclient *mc, int up, void *ctx)
{
	(void)mc;
	(void)ctx;
	log_info("gateway link %s", up ? "up" : "down");
}

static const struct mixclient_cbs server_cbs = {
	.on_message = on_message,
	.on_writable = on_writable,
	.on_giveup = on_giveup,
	.on_link = on_link,
};

/* ---- identity and address ---- */

/* The gateway of the address we had, so a restart keeps the address. */
static int previous_gateway(struct server *sv, char *gw, size_t n)
{
	char path[4096], line[256];
	snprintf(path, sizeof(path), "%s/address", sv->config_dir);
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
	if (mix_addr_parse(line, &a, &why) || memcmp(a.pk, sv->kp.pk, PKT_KEY_BYTES))
		return -1;
	snprintf(gw, n, "%s", (const char *)a.gw);
	return 0;
}

static int write_address(struct server *sv, const char *text, char *err, size_t errsz)
{
	char path[4096], tmp[4200];
	snprintf(path, sizeof(path), "%s/address", sv->config_dir);
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

static void server_gather(void *ctx, struct proxy_report *r)
{
	struct server *sv = ctx;
	size_t it = 0;
	const void *k;
	void *ss;
	proxy_report_init(r, sv->topo, sv->cc, sv->routes, NULL, &sv->ended);
	proxy_report_add_client(r, sv->mc);
	while (htab_next(sv->sessions, &it, &k, &ss))
		proxy_report_add_session(r, ((struct ssess *)ss)->s);
	r->own = server_stats;
	r->own_n = SS_N;
	r->own_v[SS_SESSIONS] = (double)htab_count(sv->sessions);
	r->own_v[SS_OPENED] = (double)sv->opened;
	r->own_v[SS_CLOSED] = (double)sv->clean;
	r->own_v[SS_RESET] = (double)sv->reset;
	r->own_v[SS_REFUSED] = (double)sv->refused_full;
	r->own_v[SS_UPSTREAM_FAILED] = (double)sv->upstream_failed;
	r->own_v[SS_BAD] = (double)sv->bad;
}

static void server_head(void *ctx, struct ctl_buf *b, uint64_t up_s)
{
	struct server *sv = ctx;
	char age[32];
	ctl_printf(b, "server: %s\n", sv->atext);
	ctl_printf(b, "  upstream: %s\n", sv->upstream_text);
	ctl_printf(b, "  config dir: %s\n", sv->config_dir);
	ctl_printf(b, "  topology: %s (%zu nodes)\n", sv->o.topology, sv->topo->n);
	ctl_printf(b, "  running for: %s\n", ctl_duration(up_s, age, sizeof(age)));
	proxy_show_profile(b, &sv->o);
}

static void on_usr1(struct ev *ev, int signo, void *ctx)
{
	struct server *sv = ctx;
	(void)ev;
	(void)signo;
	proxy_report_log(&sv->rep);
}

int cmd_server(int argc, char **argv)
{
	struct server *sv = xcalloc(1, sizeof(*sv));
	struct proxy_opts *o = &sv->o;
	char err[8448];
	int rc = EXIT_USAGE;
	proxy_opts_defaults(o);
	o->max_sessions = 4096;
	sv->window = 1024;
	sv->connect_timeout = 10;
	session_waitq_init(&sv->q);
	struct opt opts[] = {
		{ "upstream-tcp-address", 'u', OPT_STR, "HOST:PORT", "the service to relay sessions to (required)", &sv->upstream_text, 0, 0, 0 },
		{ "config-dir", 'c', OPT_STR, "DIR", "identity and address live here (required)", &sv->config_dir, 0, 0, 0 },
		{ "connect-timeout", 0, OPT_U64, "SECS", "upstream connect timeout (10)", &sv->connect_timeout, 1, 3600, 0 },
		{ "window", 0, OPT_U64, "N", "messages in flight for all sessions together (1024)", &sv->window, 16, 65536, 0 },
		PROXY_COMMON_OPTS(o),
	};
	const size_t nopts = ARRAY_LEN(opts);

	/* SIGHUP is documented as ignored: from the start, not only once the
	 * loop runs (a stray systemctl kill -s HUP must not stop us). */
	signal(SIGHUP, SIG_IGN);
	rc = daemon_options("server", opts, nopts, argc, argv, "mixproxy server -u HOST:PORT -c DIR -t TOPOLOGY [options]", &o->config);
	if (rc != DAEMON_GO_ON)
		goto out;
	rc = EXIT_USAGE;
	if (!sv->upstream_text || !sv->config_dir || !o->topology) {
		fprintf(stderr, "mixproxy server: %s is required (see mixproxy server -h)\n",
		        !sv->upstream_text ? "-u/--upstream-tcp-address" :
		        !sv->config_dir ? "-c/--config-dir" : "-t/--topology");
		goto out;
	}
	if (proxy_opts_check(o, err, sizeof(err))) {
		fprintf(stderr, "mixproxy server: %s (see mixproxy server -h)\n", err);
		goto out;
	}
	const char *why;
	if (parse_hostport(sv->upstream_text, &sv->up, &sv->uplen, &why)) {
		fprintf(stderr, "mixproxy server: --upstream-tcp-address '%s': %s\n",
		        sv->upstream_text, why);
		goto out;
	}
	if (o->check_config) {
		rc = daemon_checked("server", o->config);
		goto out;
	}
	sv->topo = topo_load(o->topology, err, sizeof(err));
	if (!sv->topo) {
		fprintf(stderr, "mixproxy server: %s\n", err);
		rc = EXIT_CONFIG;
		goto out;
	}
	if (keydir_identity(sv->config_dir, &sv->kp, err, sizeof(err))) {
		fprintf(stderr, "mixproxy server: %s\n", err);
		rc = EXIT_CANTCREAT;
		goto out;
	}
	/* The directory may be relative: resolve it before daemon(3) moves us. */
	char *abs = realpath(sv->config_dir, NULL);
	if (abs) {
		free(sv->config_dir);
		sv->config_dir = abs;
	}
	char gwname[PKT_ID_BYTES + 1];
	const struct topo_node *gw = NULL;
	if (o->gateway) {
		gw = topo_by_name(sv->topo, o->gateway);
		if (!gw || gw->role != TOPO_GATEWAY) {
			fprintf(stderr, "mixproxy server: --gateway '%s': no gateway of that name in %s\n",
			        o->gateway, o->topology);
			rc = EXIT_CONFIG;
			goto out;
		}
	} else if (previous_gateway(sv, gwname, sizeof(gwname)) == 0) {
		gw = topo_by_name(sv->topo, gwname);
		if (gw && gw->role != TOPO_GATEWAY)
			gw = NULL;
		if (!gw)
			fprintf(stderr, "mixproxy server: gateway %s of the old address is gone from "
			        "%s: picking another (the address changes)\n", gwname, o->topology);
	}
	if (!gw)
		gw = topo_random_gateway(sv->topo);
	memcpy(sv->addr.pk, sv->kp.pk, PKT_KEY_BYTES);
	memcpy(sv->addr.gw, gw->id, PKT_ID_BYTES);
	mix_addr_format(&sv->addr, sv->atext, sizeof(sv->atext));
	if (write_address(sv, sv->atext, err, sizeof(err))) {
		fprintf(stderr, "mixproxy server: cannot write the address: %s\n", err);
		rc = EXIT_CANTCREAT;
		goto out;
	}
	log_init("mixproxy-server", o->foreground, o->verbose);
	/* Each session takes one: its upstream connection. */
	proxy_fit_sessions(&o->max_sessions, 1);
	/* Named for the service it fronts: two servers on one box differ. */
	char fallback[32];
	snprintf(fallback, sizeof(fallback), "server-%s", strrchr(sv->upstream_text, ':') + 1);
	ctl_name(o->config, fallback, sv->name, sizeof(sv->name));
	sv->ctl = ctl_open("server", o->control, sv->name, &rc);
	if (!sv->ctl && rc)
		goto out;
	daemon_detach(o->foreground);

	sv->ev = ev_new();
	sv->rep = (struct proxy_reporter){ "server", sv->name, &sv->o, now_us(), server_gather,
	                                   server_head, sv };
	struct mixclient_cfg mcfg;
	proxy_mixcfg(o, &mcfg);
	mcfg.topo = sv->topo;
	mcfg.kp = &sv->kp;
	mcfg.gateway = gw->name;
	mcfg.window = (unsigned)sv->window;
	mcfg.cbs = &server_cbs;
	mcfg.ctx = sv;
	sv->cc = mixcc_new(sv->ev, sv->o.fast);
	mcfg.cc = sv->cc;
	sv->routes = routes_new(sv->topo);
	mcfg.routes = sv->routes;
	sv->mc = mixclient_new(sv->ev, &mcfg, &why);
	if (!sv->mc)
		fatal(EXIT_SOFTWARE, "mixnet client: %s", why);
	proxy_session_cfg(o, &sv->scfg);
	sv->scfg.connect_timeout_s = (unsigned)sv->connect_timeout;
	sv->sessions = htab_new(PMSG_SID_BYTES, o->max_sessions);
	sv->tombs = htab_new(PMSG_SID_BYTES, TOMBS);
	(void)fring_init(&sv->tomb_ring, PMSG_SID_BYTES, TOMBS); /* fails only for a size of 0 */
	daemon_signals(sv->ev);
	ev_signal(sv->ev, SIGUSR1, on_usr1, sv);
	if (sv->ctl)
		ctl_serve(sv->ctl, sv->ev, proxy_report_answer, &sv->rep);
	log_info("server address %s (written to %s/address), upstream %s", sv->atext,
	         sv->config_dir, sv->upstream_text);
	proxy_log_profile(o);
	rc = ev_run(sv->ev) ? EXIT_OSERR : 0;
	on_usr1(sv->ev, 0, sv);

	ctl_free(sv->ctl);
	size_t it = 0;
	const void *k;
	void *v;
	while (htab_next(sv->sessions, &it, &k, &v)) {
		struct ssess *ss = v;
		session_free(ss->s);
		free(ss);
	}
	mixclient_free(sv->mc);
	routes_free(sv->routes);
	mixcc_free(sv->cc);
	ev_free(sv->ev);
	htab_free(sv->sessions);
	htab_free(sv->tombs);
	fring_free(&sv->tomb_ring);
out:
	if (sv->topo)
		topo_free(sv->topo);
	keypair_wipe(&sv->kp);
	conf_free(opts, nopts);
	free(sv);
	return rc;
}
