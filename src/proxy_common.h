/* proxy_common — what `mixproxy client` and `mixproxy server` share:
 * the timing options of their mixnet clients, the session timeouts and
 * the file-descriptor limit (log.h has the log line that does not flood,
 * which they include through this header). */
#ifndef MIXPROXY_PROXY_COMMON_H
#define MIXPROXY_PROXY_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "log.h"
#include "mixclient.h"
#include "session.h"

struct proxy_opts {
	char *config, *topology, *gateway;
	int foreground, verbose, fast;
	double send_mean, loop_mean, delay_mean;
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
	{ "delay-mean", 0, OPT_DBL, "MS", "mean delay chosen for each hop (15)", &(o)->delay_mean, 0, 10000, 0 }, \
	{ "idle-timeout", 0, OPT_U64, "SECS", "reset a session whose peer is silent this long (300; 0: never)", &(o)->idle_timeout, 0, 86400 * 7, 0 }, \
	{ "peer-timeout", 0, OPT_U64, "SECS", "reset a session whose messages have found no route this long (60; 0: never)", &(o)->peer_timeout, 0, 86400, 0 }, \
	{ "close-timeout", 0, OPT_U64, "SECS", "after a close, reset a session without progress this long (60)", &(o)->close_timeout, 1, 86400, 0 }, \
	{ "max-sessions", 0, OPT_U64, "N", "sessions at once", &(o)->max_sessions, 1, 1000000, 0 }, \
	{ "foreground", 'd', OPT_FLAG, NULL, "stay in the foreground, log to stderr", &(o)->foreground, 0, 0, 0 }, \
	{ "verbose", 'v', OPT_COUNT, NULL, "log more (repeat for more)", &(o)->verbose, 0, 0, 0 }

void proxy_opts_defaults(struct proxy_opts *o);
/* Checks across options.  0, or -1 with a reason in err. */
int proxy_opts_check(const struct proxy_opts *o, char *err, size_t errsz);
/* Fill a mixnet client configuration from the options. */
void proxy_mixcfg(const struct proxy_opts *o, struct mixclient_cfg *cfg);
void proxy_session_cfg(const struct proxy_opts *o, struct session_cfg *sc);
/* The congestion state of the process's mixnet clients, as a log line. */
void proxy_log_cc(const struct mixcc *cc);
/* Log the profile; the fast one loudly. */
void proxy_log_profile(const struct proxy_opts *o);
/* Raise the soft limit on open files to the hard one: every session
 * holds sockets.  Returns the limit now in force. */
uint64_t proxy_raise_nofile(void);

#endif
