/* proxy_client — `mixproxy client`: the reference's NymProxyClient.
 *
 * Listens on a local TCP port; every accepted connection becomes a
 * session (session.h) carried to the server's mixnet address by a mixnet
 * identity of its own, so the server cannot link two connections by their
 * sender.  Identities come from a pool of about --client-pool-reserve
 * (each one already attached to its gateway and known to the server, so
 * the first byte leaves at once), or are made on demand when the pool is
 * dry.  An identity is used once: after its session it stays until
 * everything it sent is acknowledged (at most the close timeout), then it
 * is freed.
 *
 * When the pool's identities are made, and which one a session takes,
 * must say nothing of the sessions: the server sees each identity greet it
 * when it joins the pool, and one made when a session starts, taken by the
 * next session, would link the two.  So a new identity joins the pool at
 * the times of a Poisson process (mean --client-pool-interval), whatever
 * the sessions do, and the one that waited longest leaves when the pool
 * is over its reserve; a session takes one at random; and each greets the
 * server again on a timer of its own.  With an interval of 0 (the fast
 * profile's default) the pool is refilled at once instead. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cmd.h"
#include "daemon.h"
#include "ev.h"
#include "list.h"
#include "listener.h"
#include "log.h"
#include "ratelog.h"
#include "mixcc.h"
#include "mixclient.h"
#include "mixedge.h"
#include "route.h"
#include "proxy_common.h"
#include "rng.h"
#include "session.h"
#include "topology.h"
#include "util.h"

#define LINGER_CHECK_MS 100
#define GREET_MS 20000           /* a pooled identity's hello is trusted 30 s:
                                  * it greets again after 10 to 20 s */

struct pclient;

/* One mixnet identity: in the pool, serving a session, or lingering
 * until its last messages are acknowledged. */
struct ident {
	struct pclient *c;
	struct list all_node;        /* in c->all */
	struct list pool_node;       /* in c->pool, while it waits there */
	struct keypair kp;
	struct mixclient *mc;
	struct session *s;
	uint64_t t_linger, linger_until_us;
	uint64_t t_greet;            /* while in the pool */
};

struct pclient {
	struct proxy_opts o;
	char *listen_addr;
	uint64_t listen_port, pool_reserve;
	double pool_interval;        /* seconds; < 0 until set */
	char *server_text;
	struct mix_addr server;
	struct ev *ev;
	struct topology *topo;
	struct mixclient_cfg mcfg;
	struct mixcc *cc;            /* shared by every identity (mixcc.h) */
	struct routes *routes;       /* likewise: what one learns of the mixes (route.h) */
	uint64_t nlinks;             /* --links */
	struct mixedge **edges;      /* the links to gateways, each with its schedule,
	                              * shared by the identities (mixedge.h) */
	struct mixclient_stats mx;   /* of the identities freed so far */
	struct session_cfg scfg;
	uint64_t server_heard_us;    /* a message from the server, on any identity
	                              * (scfg.peer_heard_us) */
	struct sockaddr_storage ls;  /* --listen-address and --listen-port */
	socklen_t lsl;
	char ltext[128];             /* the same, for messages */
	int lfd;
	struct listener *listener;
	struct list all;             /* every identity */
	struct list pool;            /* those ready for a session, newest first */
	unsigned npool, nsessions, nidents;
	uint64_t t_fill;
	struct ratelog rl_stray, rl_refused;
	uint64_t accepted, refused, clean, reset, idents_made, idents_retired;
	struct proxy_sessions ended;  /* bytes of the sessions that ended */
	struct ctl *ctl;
	char name[256];               /* the instance (ctl_name) */
	struct proxy_reporter rep;
};

static const struct mixclient_cbs ident_cbs;
static const struct session_io ident_io;

/* ---- identities ---- */

static struct ident *ident_new(struct pclient *c, const char **err)
{
	struct ident *id = xcalloc(1, sizeof(*id));
	id->c = c;
	keypair_generate(&id->kp);
	struct mixclient_cfg cfg = c->mcfg;
	cfg.edge = c->edges[randombytes_uniform((uint32_t)c->nlinks)];
	cfg.kp = &id->kp;
	cfg.cbs = &ident_cbs;
	cfg.ctx = id;
	id->mc = mixclient_new(c->ev, &cfg, err);
	if (!id->mc) {
		keypair_wipe(&id->kp);
		free(id);
		return NULL;
	}
	list_push_front(&c->all, &id->all_node);
	c->nidents++;
	c->idents_made++;
	return id;
}

static void pool_put(struct pclient *c, struct ident *id)
{
	list_push_front(&c->pool, &id->pool_node);
	c->npool++;
}

/* Out of the pool: for a session, or to be freed. */
static void pool_remove(struct pclient *c, struct ident *id)
{
	list_remove(&id->pool_node);
	c->npool--;
	ev_timer_cancel(c->ev, id->t_greet);
	id->t_greet = 0;
}

/* Not from inside the identity's own mixnet callbacks (mixclient.h). */
static void ident_free(struct ident *id)
{
	struct pclient *c = id->c;
	list_remove(&id->all_node);
	if (list_linked(&id->pool_node))
		pool_remove(c, id);
	c->nidents--;
	ev_timer_cancel(c->ev, id->t_linger);
	proxy_add_stats(&c->mx, id->mc);
	if (id->s)
		session_free(id->s);
	mixclient_free(id->mc);
	keypair_wipe(&id->kp);
	free(id);
}

/* A pool identity greets the server again before what its last hello
 * taught it goes stale (mixclient_hello), each on a timer of its own: not
 * the whole pool at once, in phase. */
static void ident_greet(struct ev *ev, void *ctx);

static void greet_arm(struct ident *id)
{
	ev_timer_cancel(id->c->ev, id->t_greet);
	id->t_greet = ev_timer_add(id->c->ev, GREET_MS / 2 + randombytes_uniform(GREET_MS / 2 + 1),
	                           ident_greet, id);
}

static void ident_greet(struct ev *ev, void *ctx)
{
	struct ident *id = ctx;
	(void)ev;
	id->t_greet = 0;
	greet_arm(id);
	if (mixclient_is_attached(id->mc))
		(void)mixclient_hello(id->mc, &id->c->server);
}

/* Fill the pool up to the reserve: at start, and (interval 0) after a
 * session took one. */
static void fill_pool(struct ev *ev, void *ctx)
{
	struct pclient *c = ctx;
	const char *err;
	c->t_fill = 0;
	while (c->npool < c->pool_reserve) {
		struct ident *id = ident_new(c, &err);
		if (!id) {
			log_err("cannot make a mixnet identity for the pool: %s", err);
			return;
		}
		pool_put(c, id);
	}
	(void)ev;
}

/* The pool's Poisson clock: one identity more, and the one that waited
 * longest goes when that puts the pool over its reserve. */
static void pool_tick(struct ev *ev, void *ctx)
{
	struct pclient *c = ctx;
	const char *err;
	c->t_fill = ev_timer_add_us(ev, (uint64_t)rng_exp(c->pool_interval * 1e6), pool_tick, c);
	if (c->pool_reserve == 0)
		return;
	struct ident *id = ident_new(c, &err);
	if (!id) {
		log_err("cannot make a mixnet identity for the pool: %s", err);
		return;
	}
	pool_put(c, id);
	if (c->npool > c->pool_reserve) {
		c->idents_retired++;
		ident_free(list_entry(c->pool.prev, struct ident, pool_node));
	}
}

static struct ident *take_ident(struct pclient *c, const char **err)
{
	struct ident *id = NULL;
	if (c->npool > 0) {
		uint32_t k = randombytes_uniform(c->npool);
		struct list *l = c->pool.next;
		while (k--)
			l = l->next;
		id = list_entry(l, struct ident, pool_node);
		pool_remove(c, id);
	} else {
		log_info("identity pool empty: making one on demand");
		id = ident_new(c, err);
	}
	if (c->pool_interval == 0 && !c->t_fill && c->npool < c->pool_reserve)
		c->t_fill = ev_timer_add(c->ev, 0, fill_pool, c);
	return id;
}

static void linger_check(struct ev *ev, void *ctx)
{
	struct ident *id = ctx;
	id->t_linger = 0;
	if (mixclient_done(id->mc) || ev_now_us(ev) >= id->linger_until_us) {
		id->c->nsessions--;
		ident_free(id);
		return;
	}
	id->t_linger = ev_timer_add(ev, LINGER_CHECK_MS, linger_check, id);
}

/* ---- the mixnet side ---- */

/* What session_dispatch asks of an identity: it serves one session, and
 * never opens one for a message. */
static struct session *ident_find(const struct pmsg *m, int *refused, void *ctx)
{
	struct ident *id = ctx;
	(void)refused;
	if (id->s && !memcmp(m->sid, session_id(id->s), PMSG_SID_BYTES))
		return id->s;
	return NULL;
}

static struct session *ident_unknown(const struct pmsg *m, const char **reset, void *ctx)
{
	(void)reset;
	(void)ctx;
	log_debug("%s message for a session this identity does not serve dropped",
	          pmsg_kind_name(m->kind));
	return NULL;
}

static void ident_malformed(const char *why, void *ctx)
{
	struct ident *id = ctx;
	ratelog_warn(&id->c->rl_stray, "%s: bad message from the server dropped: %s",
	             id->s ? session_name(id->s) : "no session", why);
}

static const struct session_owner ident_owner = {
	.find = ident_find,
	.unknown = ident_unknown,
	.malformed = ident_malformed,
};

static int ident_mc_message(struct mixclient *mc, const struct mix_from *from, const uint8_t *data,
                      size_t len, void *ctx)
{
	struct ident *id = ctx;
	struct pclient *c = id->c;
	(void)mc;
	/* Only the server's replies belong to a session; anything else is
	 * someone writing to a throwaway address. */
	if (!from->reply || memcmp(&from->addr, &c->server, sizeof(c->server))) {
		ratelog_warn(&c->rl_stray, "message not from the server dropped");
		return 0;
	}
	c->server_heard_us = ev_now_us(c->ev);
	session_dispatch(data, len, &ident_owner, id);
	return 0;
}

static void ident_mc_writable(struct mixclient *mc, void *ctx)
{
	struct ident *id = ctx;
	(void)mc;
	if (id->s)
		session_on_room(id->s);
}

static void ident_mc_giveup(struct mixclient *mc, const struct mix_from *to, uint64_t msg_id,
                      const char *why, void *ctx)
{
	struct ident *id = ctx;
	char reason[256];
	(void)mc;
	(void)to;
	(void)msg_id;
	snprintf(reason, sizeof(reason), "a message to the server could not be delivered: %s", why);
	if (id->s)
		session_abort(id->s, reason, 0);
}

static void ident_mc_link(struct mixclient *mc, int up, void *ctx)
{
	struct ident *id = ctx;
	/* Debug only: the link is the process's, and its going is logged
	 * once (mixattach.h), not once a session. */
	if (id->s)
		log_debug("session %s: gateway link %s", session_name(id->s), up ? "up" : "down");
	/* A pool identity makes acquaintance with the server while it waits,
	 * so that its session's first message is not refused for want of
	 * the server's epoch (a round trip saved on every connection). */
	else if (up && list_linked(&id->pool_node)) {
		if (mixclient_hello(mc, &id->c->server) < 0)
			log_warn("identity: cannot greet the server: %s", strerror(errno));
		greet_arm(id);
	}
}

static const struct mixclient_cbs ident_cbs = {
	.on_message = ident_mc_message,
	.on_writable = ident_mc_writable,
	.on_giveup = ident_mc_giveup,
	.on_link = ident_mc_link,
};

/* ---- sessions ---- */

static int ident_io_send(struct session *s, const uint8_t *msg, size_t len, void *ctx)
{
	struct ident *id = ctx;
	(void)s;
	return mixclient_send(id->mc, &id->c->server, msg, len, NULL);
}

static void ident_io_done(struct session *s, int clean, void *ctx)
{
	struct ident *id = ctx;
	struct pclient *c = id->c;
	if (clean)
		c->clean++;
	else
		c->reset++;
	proxy_session_ended(&c->ended, s);
	id->s = NULL;
	session_release(s);
	/* The identity stays until the server has acknowledged our last
	 * messages and has had time to send again what our lost acks left
	 * it unsure of (mixclient_done): else it would retransmit to nobody,
	 * hold a slot of its window meanwhile and report a loss.  The check
	 * runs from a timer, outside the mixnet client's callbacks. */
	id->linger_until_us = ev_now_us(c->ev) + c->o.close_timeout * 1000000u;
	id->t_linger = ev_timer_add(c->ev, 0, linger_check, id);
}

/* Messages leave room for reply blocks while the server needs them. */
static size_t ident_io_msg_max(struct session *s, void *ctx)
{
	struct ident *id = ctx;
	(void)s;
	return mixclient_msg_max(id->mc, &id->c->server);
}

static const struct session_io ident_io = {
	.send = ident_io_send,
	.msg_max = ident_io_msg_max,
	.done = ident_io_done,
};

static void client_refuse(struct pclient *c, int fd, const char *why)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	c->refused++;
	ratelog_warn(&c->rl_refused, "connection refused: %s", why);
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

static void client_on_accept(int fd, const struct sockaddr *sa, socklen_t sl, void *ctx)
{
	struct pclient *c = ctx;
	(void)sl;
	c->accepted++;
	if (c->nsessions >= c->o.max_sessions) {
		client_refuse(c, fd, "--max-sessions reached");
		return;
	}
	const char *err;
	struct ident *id = take_ident(c, &err);
	if (!id) {
		client_refuse(c, fd, err);
		return;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	uint8_t sid[PMSG_SID_BYTES];
	randombytes_buf(sid, sizeof(sid));
	c->nsessions++;
	id->s = session_new(c->ev, SESSION_CLIENT, sid, &c->scfg, &ident_io, id, NULL);
	char peer[64];
	sockaddr_str(sa, peer, sizeof(peer));
	log_info("session %s: accepted from %s", session_name(id->s), peer);
	session_start_client(id->s, fd);
}

/* ---- what it reports: SIGUSR1, and `mixproxy show` (ctl.h) ---- */

enum {
	CS_ACCEPTED, CS_REFUSED, CS_SESSIONS, CS_CLOSED, CS_RESET, CS_IDENTITIES, CS_POOL, CS_MADE,
	CS_RETIRED, CS_N
};

_Static_assert(CS_N <= PROXY_OWN_MAX, "a proxy_report holds the figures");

static const struct ctl_stat client_stats[CS_N] = {
	[CS_ACCEPTED] = { NULL, "accepted", "connections_accepted_total", NULL, CTL_COUNTER, 0, "Local connections accepted." },
	[CS_REFUSED] = { NULL, "refused", "connections_refused_total", NULL, CTL_COUNTER, 0, "Local connections refused: --max-sessions, or no identity." },
	[CS_SESSIONS] = { NULL, "sessions", "sessions", NULL, CTL_GAUGE, 0, "Sessions open, and identities waiting for their last acknowledgements." },
	[CS_CLOSED] = { NULL, "closed", "sessions_closed_total", NULL, CTL_COUNTER, 0, "Sessions that ended cleanly." },
	[CS_RESET] = { NULL, "reset", "sessions_reset_total", NULL, CTL_COUNTER, 0, "Sessions reset, or timed out." },
	[CS_IDENTITIES] = { NULL, "identities", "identities", NULL, CTL_GAUGE, 0, "Mixnet identities alive." },
	[CS_POOL] = { NULL, "pool", "identity_pool", NULL, CTL_GAUGE, 0, "Identities ready in the pool." },
	[CS_MADE] = { NULL, "made", "identities_made_total", NULL, CTL_COUNTER, 0, "Identities made." },
	[CS_RETIRED] = { NULL, "retired", "identities_retired_total", NULL, CTL_COUNTER, 0, "Pool identities freed unused, to make room for a newer one." },
};

static void client_gather(void *ctx, struct proxy_report *r)
{
	struct pclient *c = ctx;
	proxy_report_init(r, c->topo, c->cc, c->routes, &c->mx, &c->ended);
	for (struct list *l = c->all.next; l != &c->all; l = l->next) {
		struct ident *id = list_entry(l, struct ident, all_node);
		proxy_report_add_client(r, id->mc);
		if (id->s)
			proxy_report_add_session(r, id->s);
	}
	r->own = client_stats;
	r->own_n = CS_N;
	r->own_v[CS_ACCEPTED] = (double)c->accepted;
	r->own_v[CS_REFUSED] = (double)c->refused;
	r->own_v[CS_SESSIONS] = c->nsessions;
	r->own_v[CS_CLOSED] = (double)c->clean;
	r->own_v[CS_RESET] = (double)c->reset;
	r->own_v[CS_IDENTITIES] = c->nidents;
	r->own_v[CS_POOL] = c->npool;
	r->own_v[CS_MADE] = (double)c->idents_made;
	r->own_v[CS_RETIRED] = (double)c->idents_retired;
}

static void client_head(void *ctx, struct ctl_buf *b, uint64_t up_s)
{
	struct pclient *c = ctx;
	char sa[MIX_ADDR_CHARS + 8], age[32];
	unsigned serving = 0;
	for (struct list *l = c->all.next; l != &c->all; l = l->next)
		serving += list_entry(l, struct ident, all_node)->s != NULL;
	ctl_printf(b, "client: listening on %s port %llu\n", c->listen_addr,
	           (unsigned long long)c->listen_port);
	ctl_printf(b, "  server: %s\n", mix_addr_format(&c->server, sa, sizeof(sa)));
	ctl_printf(b, "  topology: %s (%zu nodes)\n", c->o.topology, c->topo->n);
	ctl_printf(b, "  running for: %s\n", ctl_duration(up_s, age, sizeof(age)));
	proxy_show_profile(b, &c->o);
	ctl_printf(b, "  identities: %u (%u ready in the pool of %llu, %u serving a session, "
	           "%u finishing)\n", c->nidents, c->npool, (unsigned long long)c->pool_reserve,
	           serving, c->nidents - c->npool - serving);
	if (c->pool_interval > 0)
		ctl_printf(b, "  pool: a new identity every %.3g s on average\n", c->pool_interval);
	else
		ctl_printf(b, "  pool: refilled at once (links consecutive sessions)\n");
}

static void client_on_usr1(struct ev *ev, int signo, void *ctx)
{
	struct pclient *c = ctx;
	(void)ev;
	(void)signo;
	proxy_report_log(&c->rep);
}

/* --listen-address and --listen-port as one address, c->ls, and its text
 * for messages.  0, or -1 with a reason in err. */
static int listen_parse(struct pclient *c, char *err, size_t errsz)
{
	const char *why;
	if (strchr(c->listen_addr, ':') && c->listen_addr[0] != '[')
		snprintf(c->ltext, sizeof(c->ltext), "[%s]:%llu", c->listen_addr,
		         (unsigned long long)c->listen_port);
	else
		snprintf(c->ltext, sizeof(c->ltext), "%s:%llu", c->listen_addr,
		         (unsigned long long)c->listen_port);
	if (parse_hostport(c->ltext, &c->ls, &c->lsl, &why)) {
		snprintf(err, errsz, "--listen-address '%s': %s", c->listen_addr, why);
		return -1;
	}
	return 0;
}

/* ---- parse, open, run, close ---- */

/* The options and their checks.  DAEMON_GO_ON, or the exit status. */
static int client_parse(struct pclient *c, struct opt *opts, size_t nopts, int argc,
                        char **argv)
{
	struct proxy_opts *o = &c->o;
	char err[1024];
	/* SIGHUP is documented as ignored: from the start, not only once the
	 * loop runs (a stray systemctl kill -s HUP must not stop us). */
	signal(SIGHUP, SIG_IGN);
	int rc = daemon_options("client", opts, nopts, argc, argv, "mixproxy client -s ADDRESS -t TOPOLOGY [options]", &o->config);
	if (rc != DAEMON_GO_ON)
		return rc;
	if (!o->topology || !c->server_text) {
		fprintf(stderr, "mixproxy client: %s is required (see mixproxy client -h)\n",
		        !c->server_text ? "-s/--server-address" : "-t/--topology");
		return EXIT_USAGE;
	}
	if (proxy_opts_check(o, err, sizeof(err))) {
		fprintf(stderr, "mixproxy client: %s (see mixproxy client -h)\n", err);
		return EXIT_USAGE;
	}
	/* Unset: 5 s, or at once in the fast profile (which gives up timing
	 * anonymity anyway).  Below 0.1 s it would be a stream of identities. */
	if (c->pool_interval < 0)
		c->pool_interval = o->fast ? 0 : 5;
	else if (c->pool_interval > 0 && c->pool_interval < 0.1) {
		fprintf(stderr, "mixproxy client: --client-pool-interval: 0, or from 0.1 to 3600 "
		        "seconds\n");
		return EXIT_USAGE;
	}
	const char *why;
	if (mix_addr_parse(c->server_text, &c->server, &why)) {
		fprintf(stderr, "mixproxy client: --server-address '%s': %s\n", c->server_text, why);
		return EXIT_USAGE;
	}
	if (!c->listen_addr)
		c->listen_addr = xstrdup("127.0.0.1");
	if (listen_parse(c, err, sizeof(err))) {
		fprintf(stderr, "mixproxy client: %s\n", err);
		return EXIT_USAGE;
	}
	if (o->check_config)
		return daemon_checked("client", o->config);
	return DAEMON_GO_ON;
}

/* The process's links: --links of them, to --gateway, or each to another
 * gateway drawn at random (as many distinct ones as there are).  Every
 * identity takes one of them, so that the links, their handshakes and
 * their send rate do not follow the sessions. */
static void open_edges(struct pclient *c)
{
	const struct topology *t = c->topo;
	const struct topo_node *one = NULL;
	struct mixedge_cfg ec = {
		.fast = c->mcfg.fast,
		.send_mean_ms = c->mcfg.send_mean_ms,
		.loop_mean_ms = c->mcfg.loop_mean_ms,
		.receive_mean_ms = c->mcfg.receive_mean_ms,
		.routes = c->routes,
	};
	if (c->o.gateway)
		one = topo_by_name(t, c->o.gateway); /* checked: client_open */
	size_t *order = xcalloc(t->ngateways, sizeof(*order));
	for (size_t i = 0; i < t->ngateways; i++)
		order[i] = t->gateways[i];
	for (size_t i = t->ngateways; i > 1; i--) {
		size_t j = randombytes_uniform((uint32_t)i), k = order[i - 1];
		order[i - 1] = order[j];
		order[j] = k;
	}
	c->edges = xcalloc(c->nlinks, sizeof(*c->edges));
	for (uint64_t i = 0; i < c->nlinks; i++)
		c->edges[i] = mixedge_new(c->ev, one ? one : &t->nodes[order[i % t->ngateways]], NULL,
		                          &ec);
	free(order);
}

/* Everything the loop needs: the topology, the listening socket, the
 * control socket, then leave the terminal and fill the identity pool.
 * DAEMON_GO_ON, or the exit status (said on stderr). */
static int client_open(struct pclient *c)
{
	struct proxy_opts *o = &c->o;
	char err[1024];
	int rc = 0;
	c->topo = topo_load(o->topology, err, sizeof(err));
	if (!c->topo) {
		fprintf(stderr, "mixproxy client: %s\n", err);
		return EXIT_CONFIG;
	}
	const struct topo_node *sgw = topo_by_id(c->topo, c->server.gw);
	if (!sgw || sgw->role != TOPO_GATEWAY) {
		fprintf(stderr, "mixproxy client: --server-address: gateway '%s' is not in %s\n",
		        (const char *)c->server.gw, o->topology);
		return EXIT_CONFIG;
	}
	if (o->gateway) {
		const struct topo_node *g = topo_by_name(c->topo, o->gateway);
		if (!g || g->role != TOPO_GATEWAY) {
			fprintf(stderr, "mixproxy client: --gateway '%s': no gateway of that name in %s\n",
			        o->gateway, o->topology);
			return EXIT_CONFIG;
		}
	}
	log_init("mixproxy-client", o->foreground, o->verbose);
	/* Each session takes one: its connection (the links are the
	 * process's: --links).  Said before the port opens: whoever waits
	 * for the port finds the line logged. */
	proxy_fit_sessions(&o->max_sessions, 1);
	c->lfd = daemon_listen(&c->ls, c->lsl, 512, c->ltext, err, sizeof(err));
	if (c->lfd < 0) {
		fprintf(stderr, "mixproxy client: %s\n", err);
		return EXIT_OSERR;
	}
	char fallback[32];
	snprintf(fallback, sizeof(fallback), "client-%llu", (unsigned long long)c->listen_port);
	ctl_name(o->config, fallback, c->name, sizeof(c->name));
	c->ctl = ctl_open("client", o->control, c->name, &rc);
	if (!c->ctl && rc)
		return rc;
	daemon_detach(o->foreground);

	c->ev = ev_new();
	ratelog_init(&c->rl_stray, c->ev);
	ratelog_init(&c->rl_refused, c->ev);
	c->rep = (struct proxy_reporter){ "client", c->name, &c->o, now_us(), client_gather,
	                                  client_head, c };
	proxy_mixcfg(o, &c->mcfg);
	c->mcfg.topo = c->topo;
	c->cc = mixcc_new(c->ev, o->fast);
	c->mcfg.cc = c->cc;
	c->routes = routes_new(c->topo);
	c->mcfg.routes = c->routes;
	open_edges(c);
	proxy_session_cfg(o, &c->scfg);
	c->scfg.peer_heard_us = &c->server_heard_us;
	daemon_signals(c->ev);
	ev_signal(c->ev, SIGUSR1, client_on_usr1, c);
	fill_pool(c->ev, c);
	if (c->pool_interval > 0)
		c->t_fill = ev_timer_add_us(c->ev, (uint64_t)rng_exp(c->pool_interval * 1e6), pool_tick, c);
	c->listener = listener_new(c->ev, c->lfd, "client listener", client_on_accept, c);
	if (!c->listener)
		fatal(EXIT_OSERR, "cannot watch the listening socket: %s", strerror(errno));
	if (c->ctl)
		ctl_serve(c->ctl, c->ev, proxy_report_answer, &c->rep);
	char sa[MIX_ADDR_CHARS + 8];
	log_info("client listening on %s port %llu for server %s (pool of %llu identities)",
	         c->listen_addr, (unsigned long long)c->listen_port,
	         mix_addr_format(&c->server, sa, sizeof(sa)), (unsigned long long)c->pool_reserve);
	proxy_log_profile(o);
	return DAEMON_GO_ON;
}

/* Until SIGTERM or SIGINT; the counters are logged at the end. */
static int client_run(struct pclient *c)
{
	int rc = ev_run(c->ev) ? EXIT_OSERR : 0;
	client_on_usr1(c->ev, 0, c);
	return rc;
}

/* Free what open made, as far as it got. */
static void client_close(struct pclient *c)
{
	ctl_free(c->ctl);
	listener_free(c->listener);
	while (!list_empty(&c->all))
		ident_free(list_entry(c->all.next, struct ident, all_node));
	for (uint64_t i = 0; c->edges && i < c->nlinks; i++)
		mixedge_free(c->edges[i]);
	free(c->edges);
	mixcc_free(c->cc);
	routes_free(c->routes);
	ratelog_stop(&c->rl_stray);
	ratelog_stop(&c->rl_refused);
	ev_free(c->ev);
	if (c->lfd >= 0)
		close(c->lfd);
	topo_free(c->topo);
}

int cmd_client(int argc, char **argv)
{
	struct pclient *c = xcalloc(1, sizeof(*c));
	struct proxy_opts *o = &c->o;
	proxy_opts_defaults(o);
	o->max_sessions = 1024;
	c->listen_port = 8080;
	c->pool_reserve = 2;
	c->pool_interval = -1;
	c->nlinks = 1;
	c->lfd = -1;
	list_init(&c->all);
	list_init(&c->pool);
	struct opt opts[] = {
		{ "server-address", 's', OPT_STR, "ADDR", "the server's mixnet address KEY@GATEWAY (required)", &c->server_text, 0, 0, 0 },
		{ "listen-address", 0, OPT_STR, "IP", "address to listen on (127.0.0.1)", &c->listen_addr, 0, 0, 0 },
		{ "listen-port", 0, OPT_U64, "PORT", "port to listen on (8080)", &c->listen_port, 1, 65535, 0 },
		{ "client-pool-reserve", 0, OPT_U64, "N", "mixnet identities kept ready (2)", &c->pool_reserve, 0, 1000, 0 },
		{ "links", 0, OPT_U64, "N", "links to gateways, each with its own send schedule, that every identity shares (1)", &c->nlinks, 1, 16, 0 },
		{ "client-pool-interval", 0, OPT_DBL, "SECS", "mean time between new pool identities (5; fast profile 0: at once)", &c->pool_interval, 0, 3600, 0 },
		PROXY_COMMON_OPTS(o),
	};
	const size_t nopts = ARRAY_LEN(opts);

	int rc = client_parse(c, opts, nopts, argc, argv);
	if (rc == DAEMON_GO_ON)
		rc = client_open(c);
	if (rc == DAEMON_GO_ON)
		rc = client_run(c);
	client_close(c);
	conf_free(opts, nopts);
	free(c);
	return rc;
}
