/* proxy_common — see proxy_common.h. */
#include <stdio.h>
#include <sys/resource.h>

#include "log.h"
#include "mixcc.h"
#include "proxy_common.h"
#include "util.h"

void proxy_opts_defaults(struct proxy_opts *o)
{
	o->send_mean = 20;
	o->loop_mean = 200;
	o->delay_mean = 15;
	o->idle_timeout = 300;
	o->close_timeout = 60;
	o->peer_timeout = 60;
}

int proxy_opts_check(const struct proxy_opts *o, char *err, size_t errsz)
{
	/* Keepalives go out every quarter of the idle timeout, on a tick of
	 * one second: below 5 s, two live peers would time each other out. */
	if (o->idle_timeout && o->idle_timeout < 5) {
		snprintf(err, errsz, "--idle-timeout %llu: 0 (never) or at least 5 seconds",
		         (unsigned long long)o->idle_timeout);
		return -1;
	}
	return 0;
}

void proxy_mixcfg(const struct proxy_opts *o, struct mixclient_cfg *cfg)
{
	mixclient_cfg_defaults(cfg);
	cfg->fast = o->fast;
	cfg->send_mean_ms = o->send_mean;
	cfg->loop_mean_ms = o->loop_mean;
	cfg->delay_mean_ms = o->delay_mean;
	cfg->gateway = o->gateway;
	cfg->peer_timeout_ms = o->peer_timeout * 1000;
}

void proxy_session_cfg(const struct proxy_opts *o, struct session_cfg *sc)
{
	sc->idle_timeout_s = (unsigned)o->idle_timeout;
	sc->close_timeout_s = (unsigned)o->close_timeout;
	sc->connect_timeout_s = 10;
}

void proxy_log_cc(const struct mixcc *cc)
{
	struct mixcc_stats st;
	mixcc_get_stats(cc, &st);
	log_info("congestion: window=%.0f in_flight=%u queued=%.1f rtt_ms=%.2f rttvar_ms=%.2f "
	         "min_rtt_ms=%.2f rounds=%llu grows=%llu shrinks=%llu cuts=%llu waits=%llu",
	         st.cwnd, st.inflight, st.queued, st.srtt_ms, st.rttvar_ms, st.min_rtt_ms,
	         (unsigned long long)st.rounds, (unsigned long long)st.grows,
	         (unsigned long long)st.shrinks, (unsigned long long)st.cuts,
	         (unsigned long long)st.waits);
}

void proxy_log_profile(const struct proxy_opts *o)
{
	if (o->fast)
		log_warn("FAST PROFILE: no delays and no cover traffic; this gives NO timing "
		         "anonymity (for tests and benchmarks)");
	else
		log_info("timing: send slots every %.1f ms, loop cover every %.1f ms, "
		         "%.1f ms per hop (means)", o->send_mean, o->loop_mean, o->delay_mean);
}

uint64_t proxy_raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 0;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	return (uint64_t)rl.rlim_cur;
}
