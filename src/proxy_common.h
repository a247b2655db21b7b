/* proxy_common — what `mixproxy client` and `mixproxy server` share:
 * the timing options of their mixnet clients, the session timeouts, the
 * file-descriptor limit, and what they report (the SIGUSR1 lines and the
 * answers of their control sockets, ctl.h).  log.h has the log line that
 * does not flood, which they include through this header. */
#ifndef MIXPROXY_PROXY_COMMON_H
#define MIXPROXY_PROXY_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "ctl.h"
#include "log.h"
#include "mixclient.h"
#include "session.h"

struct proxy_opts {
	char *config, *topology, *gateway, *control;
	int foreground, verbose, fast, check_config;
	double send_mean, loop_mean, delay_mean;
	double receive_mean;        /* < 0: half of send_mean */
	uint64_t idle_timeout, close_timeout, peer_timeout, max_sessions;
};

/* The option table entries both commands take (conf.h), for o. */
#define PROXY_COMMON_OPTS(o) \
	{ "config", 'f', OPT_STR, "FILE", "read options from FILE (mixproxy.conf(5))", &(o)->config, 0, 0, 0 }, \
	{ "topology", 't', OPT_STR, "FILE", "the topology file (required)", &(o)->topology, 0, 0, 0 }, \
	{ "gateway", 'g', OPT_STR, "ID", "attach to this gateway (default: one at random)", &(o)->gateway, 0, 0, 0 }, \
	{ "fast", 0, OPT_FLAG, NULL, "no delays, no cover traffic: NO timing anonymity (tests, benchmarks)", &(o)->fast, 0, 0, 0 }, \
	{ "send-mean", 0, OPT_DBL, "MS", "mean interval of the Poisson send slots (20)", &(o)->send_mean, 0.01, 60000, 0 }, \
	{ "loop-mean", 0, OPT_DBL, "MS", "mean interval of loop cover packets (200)", &(o)->loop_mean, 0.01, 600000, 0 }, \
	{ "receive-mean", 0, OPT_DBL, "MS", "mean interval of the gateway's frames to us, mail or padding (half of --send-mean; 0: none)", &(o)->receive_mean, 0, 60000, 0 }, \
	{ "delay-mean", 0, OPT_DBL, "MS", "mean delay chosen for each hop (15)", &(o)->delay_mean, 0, 10000, 0 }, \
	{ "idle-timeout", 0, OPT_U64, "SECS", "reset a session whose peer is silent this long (300; 0: never)", &(o)->idle_timeout, 0, 86400 * 7, 0 }, \
	{ "peer-timeout", 0, OPT_U64, "SECS", "reset a session whose messages have found no route this long (60; 0: never)", &(o)->peer_timeout, 0, 86400, 0 }, \
	{ "close-timeout", 0, OPT_U64, "SECS", "after a close, reset a session without progress this long (60)", &(o)->close_timeout, 1, 86400, 0 }, \
	{ "max-sessions", 0, OPT_U64, "N", "sessions at once", &(o)->max_sessions, 1, 1000000, 0 }, \
	{ "foreground", 'd', OPT_FLAG, NULL, "stay in the foreground, log to stderr", &(o)->foreground, 0, 0, 0 }, \
	{ "verbose", 'v', OPT_COUNT, NULL, "log more (repeat for more)", &(o)->verbose, 0, 0, 0 }, \
	{ "check-config", 0, OPT_FLAG, NULL, "check the options and the config file, then exit", &(o)->check_config, 0, 0, 0 }, \
	{ "control", 0, OPT_STR, "PATH", "control socket for mixproxy show, or none (" CTL_DIR "/NAME.sock)", &(o)->control, 0, 0, 0 }

void proxy_opts_defaults(struct proxy_opts *o);
/* Checks across options.  0, or -1 with a reason in err. */
int proxy_opts_check(const struct proxy_opts *o, char *err, size_t errsz);
/* --receive-mean as in force (ms; 0: no pacing). */
double proxy_receive_mean(const struct proxy_opts *o);
/* Fill a mixnet client configuration from the options. */
void proxy_mixcfg(const struct proxy_opts *o, struct mixclient_cfg *cfg);
void proxy_session_cfg(const struct proxy_opts *o, struct session_cfg *sc);
/* Log the profile; the fast one loudly. */
void proxy_log_profile(const struct proxy_opts *o);
/* The same as a line of `show` ("  profile: ..."), and the loud one. */
void proxy_show_profile(struct ctl_buf *b, const struct proxy_opts *o);
/* Raise the soft limit on open files to the hard one: every session
 * holds sockets.  Returns the limit now in force. */
/* Raise the open-file limit as far as it goes and lower *max_sessions to
 * what it allows, with a warning: fds_each per session, and
 * PROXY_FDS_RESERVED for the rest (the mixnet links, the control socket
 * and its connections, the log). */
#define PROXY_FDS_RESERVED 64
void proxy_fit_sessions(uint64_t *max_sessions, unsigned fds_each);

/* ---- what both report ---- */

/* The sessions of a process added up: never one session's figures,
 * nothing that tells sessions or their clients apart. */
struct proxy_sessions {
	unsigned open;
	uint64_t bytes_out, bytes_in;   /* since start: the ended sessions', the open ones' so far */
	uint64_t oldest_us;             /* the oldest open one began (now_us); 0: none open */
};
/* A session that ended: its bytes stay in the owner's running total. */
void proxy_session_ended(struct proxy_sessions *t, const struct session *s);
/* Add the counters of mc to *t (an owner keeps those of the mixnet
 * clients it freed). */
void proxy_add_stats(struct mixclient_stats *t, const struct mixclient *mc);

#define PROXY_OWN_MAX 16

/* Everything a proxy process reports, gathered once per SIGUSR1 or
 * request: init, add every mixnet client and open session and the
 * command's own figures, then log, show or write metrics, and free. */
struct proxy_report {
	const struct ctl_stat *own;     /* the command's own table, set by it */
	double own_v[PROXY_OWN_MAX];
	size_t own_n;
	const struct topology *topo;
	const struct mixcc *cc;
	const struct routes *routes;
	struct mixclient_stats mx;      /* added up */
	size_t pending;                 /* messages sent, not yet acknowledged */
	struct proxy_sessions sessions;
	unsigned *gw_up, *gw_down;      /* links by gateway: index in topo->gateways */
};
/* gone: the counters of mixnet clients freed; ended: of sessions ended. */
void proxy_report_init(struct proxy_report *r, const struct topology *t, const struct mixcc *cc,
                       const struct routes *routes, const struct mixclient_stats *gone,
                       const struct proxy_sessions *ended);
void proxy_report_add_client(struct proxy_report *r, const struct mixclient *mc);
void proxy_report_add_session(struct proxy_report *r, const struct session *s);
void proxy_report_free(struct proxy_report *r);

/* A command's part in what it reports. */
struct proxy_reporter {
	const char *role;               /* "client", "server": the role label */
	const char *name;               /* the instance (ctl_name): the id label */
	const struct proxy_opts *o;
	uint64_t started_us;
	/* Fill r with everything, from proxy_report_init on. */
	void (*gather)(void *ctx, struct proxy_report *r);
	/* The first lines of show, down to the profile. */
	void (*head)(void *ctx, struct ctl_buf *b, uint64_t up_s);
	void *ctx;
};
/* SIGUSR1: "counters: ...", "congestion: ...", "routes: ...". */
void proxy_report_log(const struct proxy_reporter *p);
/* The control socket's answer (ctl_answer_cb); ctx is a struct
 * proxy_reporter.  show: the head, then gateway links, sessions, queues,
 * mix health, counters. */
void proxy_report_answer(enum ctl_req req, struct ctl_buf *b, void *ctx);

#endif
