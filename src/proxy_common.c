/* proxy_common — see proxy_common.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "link.h"
#include "listener.h"
#include "log.h"
#include "mixcc.h"
#include "proxy_common.h"
#include "route.h"
#include "util.h"

void proxy_opts_defaults(struct proxy_opts *o)
{
	o->send_mean = 20;
	o->loop_mean = 200;
	o->receive_mean = -1;
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
	/* The gateway's frames must outpace what comes back to us unasked:
	 * each empty send slot's cover and each loop.  Slower, the mail
	 * queues at the gateway until its mailbox drops the oldest, and a
	 * session's packets and acks go with it (a gateway holds a pace
	 * below LINK_PACE_MIN_US at that bound, so asking for less is the
	 * same mistake). */
	double r = proxy_receive_mean(o);
	if (o->fast || r == 0)
		return 0;
	const char *why = o->receive_mean < 0 ? " (half of --send-mean)" : "";
	if (r * 1000 < LINK_PACE_MIN_US) {
		snprintf(err, errsz, "--receive-mean %g ms%s: a gateway sends a frame at most every "
		         "%g ms; give at least that, or 0 for no pacing", r, why,
		         LINK_PACE_MIN_US / 1000.0);
		return -1;
	}
	double back = 1000 / o->send_mean + 1000 / o->loop_mean;
	if (1000 / r <= back) {
		snprintf(err, errsz, "--receive-mean %g ms%s: %.0f frames a second cannot carry our "
		         "own cover coming back (%.0f a second: --send-mean %g, --loop-mean %g), and "
		         "mail would queue at the gateway until it is dropped; give a shorter one",
		         r, why, 1000 / r, back, o->send_mean, o->loop_mean);
		return -1;
	}
	return 0;
}

/* What comes in is the client's own cover (one packet a send slot while
 * idle, and the loops) and its peers' mail: paced at the send slots'
 * rate, an idle client's queue at the gateway would never drain.  Twice
 * that rate leaves room for a download beside the cover. */
double proxy_receive_mean(const struct proxy_opts *o)
{
	return o->receive_mean < 0 ? o->send_mean / 2 : o->receive_mean;
}

void proxy_mixcfg(const struct proxy_opts *o, struct mixclient_cfg *cfg)
{
	mixclient_cfg_defaults(cfg);
	cfg->fast = o->fast;
	cfg->send_mean_ms = o->send_mean;
	cfg->loop_mean_ms = o->loop_mean;
	cfg->delay_mean_ms = o->delay_mean;
	cfg->receive_mean_ms = proxy_receive_mean(o);
	cfg->gateway = o->gateway;
	cfg->peer_timeout_ms = o->peer_timeout * 1000;
	/* A session takes each of its messages once by its own ids (and a
	 * server finds a session by its id, whatever state carried it): a
	 * server that forgot a client's identity, pushed out by strangers'
	 * tags, must not cost that client's sessions. */
	cfg->app_dedupes = 1;
}

void proxy_session_cfg(const struct proxy_opts *o, struct session_cfg *sc)
{
	sc->idle_timeout_s = (unsigned)o->idle_timeout;
	sc->close_timeout_s = (unsigned)o->close_timeout;
	sc->connect_timeout_s = 10;
	sc->peer_heard_us = NULL;
}

void proxy_log_profile(const struct proxy_opts *o)
{
	if (o->fast)
		log_warn("FAST PROFILE: no delays and no cover traffic; this gives NO timing "
		         "anonymity (for tests and benchmarks)");
	else
		log_info("timing: send slots every %.1f ms, loop cover every %.1f ms, "
		         "%.1f ms per hop, from the gateway every %.1f ms (means)", o->send_mean,
		         o->loop_mean, o->delay_mean, proxy_receive_mean(o));
}

void proxy_show_profile(struct ctl_buf *b, const struct proxy_opts *o)
{
	if (o->fast)
		ctl_printf(b, "  profile: fast\n"
		              "  FAST PROFILE: no timing anonymity (no delays, no cover traffic)\n");
	else
		ctl_printf(b, "  profile: default (send slots every %.1f ms, loop cover every %.1f ms, "
		           "%.1f ms per hop, from the gateway every %.1f ms, means)\n", o->send_mean,
		           o->loop_mean, o->delay_mean, proxy_receive_mean(o));
}

void proxy_fit_sessions(uint64_t *max_sessions, unsigned fds_each)
{
	uint64_t nofile, fit = nofile_fit(*max_sessions, fds_each, PROXY_FDS_RESERVED, &nofile);
	if (fit == *max_sessions)
		return;
	log_warn("--max-sessions %llu lowered to %llu: the open-file limit is %llu, each "
	         "session takes %u and %u are kept for the rest (raise it: LimitNOFILE= "
	         "or ulimit -n)", (unsigned long long)*max_sessions, (unsigned long long)fit,
	         (unsigned long long)nofile, fds_each, PROXY_FDS_RESERVED);
	*max_sessions = fit;
}

/* ---- what both report ---- */

static void add_bytes(struct proxy_sessions *t, const struct session *s)
{
	struct session_stats st;
	session_get_stats(s, &st);
	t->bytes_out += st.bytes_out;
	t->bytes_in += st.bytes_in;
}

void proxy_session_ended(struct proxy_sessions *t, const struct session *s)
{
	add_bytes(t, s);
}

void proxy_add_stats(struct mixclient_stats *t, const struct mixclient *mc)
{
	struct mixclient_stats st;
	mixclient_get_stats(mc, &st);
	t->sent += st.sent;
	t->retransmitted += st.retransmitted;
	t->lost_early += st.lost_early;
	t->received += st.received;
	t->duplicates += st.duplicates;
	t->gave_up += st.gave_up;
	t->senders_evicted += st.senders_evicted;
	t->acks_expired += st.acks_expired;
	t->repeats += st.repeats;
	t->senders += st.senders;
	t->packets_sent += st.packets_sent;
	t->packets_received += st.packets_received;
	t->pads_received += st.pads_received;
	t->surbs_sent += st.surbs_sent;
	t->surbs_expired += st.surbs_expired;
	t->undecodable += st.undecodable;
}

/* The figures the client and the server have in common, after their own
 * in the counters line: their mixnet clients' messages, the sessions'
 * bytes, the messages pending. */
enum {
	PX_SENT, PX_RETRANSMITTED, PX_LOST_EARLY, PX_RECEIVED, PX_DUPLICATES, PX_GAVE_UP,
	PX_SENDERS, PX_SENDERS_EVICTED, PX_ACKS_EXPIRED, PX_REPEATS, PX_PACKETS, PX_PACKETS_IN, PX_PADS_IN, PX_SURBS, PX_SURBS_EXPIRED, PX_UNDECODABLE, PX_BYTES_OUT, PX_BYTES_IN, PX_PENDING, PX_N
};

static const struct ctl_stat px_stats[PX_N] = {
	[PX_SENT] = { NULL, "sent", "messages_sent_total", NULL, CTL_COUNTER, 0, "Messages handed to the mixnet." },
	[PX_RETRANSMITTED] = { NULL, "retransmitted", "messages_retransmitted_total", NULL, CTL_COUNTER, 0, "Messages sent again: a try timed out or was found lost." },
	[PX_LOST_EARLY] = { NULL, "lost_early", "tries_lost_early_total", NULL, CTL_COUNTER, 0, "Tries found lost before their timeout (fast profile)." },
	[PX_RECEIVED] = { NULL, "received", "messages_received_total", NULL, CTL_COUNTER, 0, "Messages received, each once." },
	[PX_DUPLICATES] = { NULL, "duplicates", "messages_duplicate_total", NULL, CTL_COUNTER, 0, "Messages received again, and dropped." },
	[PX_GAVE_UP] = { NULL, "gave_up", "messages_given_up_total", NULL, CTL_COUNTER, 0, "Messages given up: no route could carry them." },
	[PX_SENDERS] = { NULL, "senders", "senders", NULL, CTL_GAUGE, 0, "Anonymous senders whose state is held (at most 4096 an identity)." },
	[PX_SENDERS_EVICTED] = { NULL, "senders_evicted", "senders_evicted_total", NULL, CTL_COUNTER, 0, "Anonymous senders forgotten to make room for newer ones." },
	[PX_ACKS_EXPIRED] = { NULL, "acks_expired", "acks_expired_total", NULL, CTL_COUNTER, 0, "Acknowledgements dropped: owed to a sender that left no reply block to send them by." },
	[PX_REPEATS] = { NULL, "repeats", "packets_repeated_total", NULL, CTL_COUNTER, 0, "Packets from a sender taken before (a replayed delivery, a node's duplicate), dropped whole." },
	[PX_PACKETS] = { NULL, "packets", "packets_sent_total", NULL, CTL_COUNTER, 0, "Packets sent: messages, acknowledgements, cover." },
	[PX_PACKETS_IN] = { NULL, "packets_in", "packets_received_total", NULL, CTL_COUNTER, 0, "Packets the gateway delivered: messages, acknowledgements, cover." },
	[PX_PADS_IN] = { NULL, "padding_in", "padding_received_total", NULL, CTL_COUNTER, 0, "Paced slots from the gateway that carried no packet (--receive-mean)." },
	[PX_SURBS] = { NULL, "surbs", "reply_blocks_sent_total", NULL, CTL_COUNTER, 0, "Single-use reply blocks sent." },
	[PX_SURBS_EXPIRED] = { NULL, "surbs_expired", "reply_blocks_expired_total", NULL, CTL_COUNTER, 0, "Reply blocks dropped unused: blocks held for senders, pushed out by newer ones or too old; secrets of our own blocks, forgotten." },
	[PX_UNDECODABLE] = { NULL, "undecodable", "packets_undecodable_total", NULL, CTL_COUNTER, 0, "Packets that no key or kept secret of ours opens: replies through blocks whose secrets we forgot, corrupt or forged packets." },
	[PX_BYTES_OUT] = { NULL, "bytes_out", "session_bytes_out_total", NULL, CTL_COUNTER, 0, "Bytes the sessions read from their local sockets (client: applications; server: the upstream)." },
	[PX_BYTES_IN] = { NULL, "bytes_in", "session_bytes_in_total", NULL, CTL_COUNTER, 0, "Bytes the sessions wrote to their local sockets." },
	[PX_PENDING] = { NULL, "pending", "messages_pending", NULL, CTL_GAUGE, 0, "Messages sent and neither acknowledged nor given up." },
};

enum {
	CC_WINDOW, CC_IN_FLIGHT, CC_QUEUED, CC_RTT, CC_RTTVAR, CC_MIN_RTT,
	CC_ROUNDS, CC_GROWS, CC_SHRINKS, CC_CUTS, CC_WAITS, CC_RIDES, CC_N
};

static const struct ctl_stat cc_stats[CC_N] = {
	[CC_WINDOW] = { NULL, "window", "cc_window_messages", NULL, CTL_GAUGE, 0, "The congestion window (fast profile; 0: not limited)." },
	[CC_IN_FLIGHT] = { NULL, "in_flight", "cc_in_flight_messages", NULL, CTL_GAUGE, 0, "Messages in flight." },
	[CC_QUEUED] = { NULL, "queued", "cc_queued_packets", NULL, CTL_GAUGE, 1, "Packets queued in the mixnet, as estimated." },
	[CC_RTT] = { NULL, "rtt_ms", "cc_rtt_milliseconds", NULL, CTL_GAUGE, 2, "Smoothed round trip beyond the delays chosen." },
	[CC_RTTVAR] = { NULL, "rttvar_ms", "cc_rtt_variation_milliseconds", NULL, CTL_GAUGE, 2, "Round-trip variation." },
	[CC_MIN_RTT] = { NULL, "min_rtt_ms", "cc_min_rtt_milliseconds", NULL, CTL_GAUGE, 2, "Smallest round trip seen lately." },
	[CC_ROUNDS] = { NULL, "rounds", "cc_rounds_total", NULL, CTL_COUNTER, 0, "Rounds of the window." },
	[CC_GROWS] = { NULL, "grows", "cc_grows_total", NULL, CTL_COUNTER, 0, "Times the window grew." },
	[CC_SHRINKS] = { NULL, "shrinks", "cc_shrinks_total", NULL, CTL_COUNTER, 0, "Times the window shrank (delay rising)." },
	[CC_CUTS] = { NULL, "cuts", "cc_cuts_total", NULL, CTL_COUNTER, 0, "Times the window was cut (timeouts)." },
	[CC_WAITS] = { NULL, "waits", "cc_waits_total", NULL, CTL_COUNTER, 0, "Times a client waited for room in the window." },
	[CC_RIDES] = { NULL, "rides", "cc_rides_total", NULL, CTL_COUNTER, 0, "Messages that rode a packet of due acks past the window." },
};

static void cc_values(const struct mixcc *cc, double v[CC_N])
{
	struct mixcc_stats st;
	mixcc_get_stats(cc, &st);
	v[CC_WINDOW] = st.cwnd;
	v[CC_IN_FLIGHT] = st.inflight;
	v[CC_QUEUED] = st.queued;
	v[CC_RTT] = st.srtt_ms;
	v[CC_RTTVAR] = st.rttvar_ms;
	v[CC_MIN_RTT] = st.min_rtt_ms;
	v[CC_ROUNDS] = (double)st.rounds;
	v[CC_GROWS] = (double)st.grows;
	v[CC_SHRINKS] = (double)st.shrinks;
	v[CC_CUTS] = (double)st.cuts;
	v[CC_WAITS] = (double)st.waits;
	v[CC_RIDES] = (double)st.rides;
}

enum { RS_PICKS, RS_PROVEN, RS_FAILED, RS_LINK_REPORTS, RS_LOSS, RS_N };

static const struct ctl_stat route_stats[RS_N] = {
	[RS_PICKS] = { NULL, "picks", "routes_drawn_total", NULL, CTL_COUNTER, 0, "Routes drawn for packets." },
	[RS_PROVEN] = { NULL, "proven", "routes_proven_total", NULL, CTL_COUNTER, 0, "Routes whose packet was acknowledged." },
	[RS_FAILED] = { NULL, "failed", "routes_failed_total", NULL, CTL_COUNTER, 0, "Routes whose try timed out." },
	[RS_LINK_REPORTS] = { NULL, "link_reports", "gateway_link_reports_total", NULL, CTL_COUNTER, 0, "A gateway's reports of its links to mixes, taken." },
	[RS_LOSS] = { NULL, "loss", "route_loss_ratio", NULL, CTL_GAUGE, 3, "Loss measured on routes of mixes proven alive." },
};

static void route_values(const struct routes *r, double v[RS_N])
{
	struct route_stats st;
	routes_get_stats(r, &st);
	v[RS_PICKS] = (double)st.picks;
	v[RS_PROVEN] = (double)st.proven;
	v[RS_FAILED] = (double)st.failed;
	v[RS_LINK_REPORTS] = (double)st.link_reports;
	v[RS_LOSS] = st.loss;
}

void proxy_report_init(struct proxy_report *r, const struct topology *t, const struct mixcc *cc,
                       const struct routes *routes, const struct mixclient_stats *gone,
                       const struct proxy_sessions *ended)
{
	memset(r, 0, sizeof(*r));
	r->topo = t;
	r->cc = cc;
	r->routes = routes;
	if (gone)
		r->mx = *gone;
	if (ended) {
		r->sessions.bytes_out = ended->bytes_out;
		r->sessions.bytes_in = ended->bytes_in;
	}
	r->gw_up = xcalloc(t->ngateways + 1, sizeof(*r->gw_up));
	r->gw_down = xcalloc(t->ngateways + 1, sizeof(*r->gw_down));
}

void proxy_report_add_client(struct proxy_report *r, const struct mixclient *mc)
{
	struct mix_addr a;
	proxy_add_stats(&r->mx, mc);
	r->pending += mixclient_pending(mc);
	mixclient_address(mc, &a);
	for (size_t i = 0; i < r->topo->ngateways; i++) {
		if (memcmp(r->topo->nodes[r->topo->gateways[i]].id, a.gw, PKT_ID_BYTES))
			continue;
		if (mixclient_is_attached(mc))
			r->gw_up[i]++;
		else
			r->gw_down[i]++;
		break;
	}
}

void proxy_report_add_session(struct proxy_report *r, const struct session *s)
{
	uint64_t began = session_started_us(s);
	add_bytes(&r->sessions, s);
	r->sessions.open++;
	if (!r->sessions.oldest_us || began < r->sessions.oldest_us)
		r->sessions.oldest_us = began;
}

void proxy_report_free(struct proxy_report *r)
{
	free(r->gw_up);
	free(r->gw_down);
}

static void px_values(const struct proxy_report *r, double v[PX_N])
{
	v[PX_SENT] = (double)r->mx.sent;
	v[PX_RETRANSMITTED] = (double)r->mx.retransmitted;
	v[PX_LOST_EARLY] = (double)r->mx.lost_early;
	v[PX_RECEIVED] = (double)r->mx.received;
	v[PX_DUPLICATES] = (double)r->mx.duplicates;
	v[PX_GAVE_UP] = (double)r->mx.gave_up;
	v[PX_SENDERS] = (double)r->mx.senders;
	v[PX_SENDERS_EVICTED] = (double)r->mx.senders_evicted;
	v[PX_ACKS_EXPIRED] = (double)r->mx.acks_expired;
	v[PX_REPEATS] = (double)r->mx.repeats;
	v[PX_PACKETS] = (double)r->mx.packets_sent;
	v[PX_PACKETS_IN] = (double)r->mx.packets_received;
	v[PX_PADS_IN] = (double)r->mx.pads_received;
	v[PX_SURBS] = (double)r->mx.surbs_sent;
	v[PX_SURBS_EXPIRED] = (double)r->mx.surbs_expired;
	v[PX_UNDECODABLE] = (double)r->mx.undecodable;
	v[PX_BYTES_OUT] = (double)r->sessions.bytes_out;
	v[PX_BYTES_IN] = (double)r->sessions.bytes_in;
	v[PX_PENDING] = (double)r->pending;
}

static void log_line(const char *what, const struct ctl_stat *s, const double *v, size_t n,
                     const struct ctl_stat *s2, const double *v2, size_t n2)
{
	struct ctl_buf b;
	ctl_buf_init(&b, 1000);
	ctl_stats_log(&b, s, v, n);
	ctl_stats_log(&b, s2, v2, n2);
	log_info("%s: %s", what, b.p ? b.p : "");
	ctl_buf_free(&b);
}

void proxy_report_log(const struct proxy_reporter *p)
{
	struct proxy_report r;
	double px[PX_N], cc[CC_N], rs[RS_N];
	p->gather(p->ctx, &r);
	px_values(&r, px);
	log_line("counters", r.own, r.own_v, r.own_n, px_stats, px, PX_N);
	cc_values(r.cc, cc);
	log_line("congestion", cc_stats, cc, CC_N, NULL, NULL, 0);
	route_values(r.routes, rs);
	log_line("routes", route_stats, rs, RS_N, NULL, NULL, 0);
	proxy_report_free(&r);
}

/* Every mix of the topology by layer, at most CTL_LIST_MAX: fn(mix). */
static size_t each_mix(const struct topology *t, void (*fn)(const struct topo_node *, void *),
                       void *arg)
{
	size_t all = 0;
	for (int l = 0; l < TOPO_LAYERS; l++)
		for (size_t i = 0; i < t->nlayer[l]; i++)
			if (all++ < CTL_LIST_MAX)
				fn(&t->nodes[t->layer[l][i]], arg);
	return all;
}

struct mix_arg {
	struct ctl_buf *b;
	const struct routes *r;
	const char *labels, *metric;
	double (*value)(const struct routes *r, const uint8_t id[PKT_ID_BYTES]);
};

static void show_mix(const struct topo_node *m, void *arg)
{
	struct mix_arg *a = arg;
	ctl_printf(a->b, "  %s (layer %d): weight %.3f, dead %.3f\n", m->name, m->layer,
	           routes_weight(a->r, m->id), routes_dead_belief(a->r, m->id));
}

static void metric_mix(const struct topo_node *m, void *arg)
{
	struct mix_arg *a = arg;
	char extra[80], mix[64];
	snprintf(extra, sizeof(extra), "%s,layer=\"%d\"", ctl_label(mix, sizeof(mix), "mix", m->name),
	         m->layer);
	ctl_metric(a->b, a->metric, a->labels, extra, a->value(a->r, m->id), 3);
}

static void report_show(struct ctl_buf *b, const struct proxy_report *r)
{
	char age[32];
	double px[PX_N], cc[CC_N], rs[RS_N];
	const struct proxy_sessions *ss = &r->sessions;
	unsigned up = 0, down = 0;
	size_t listed = 0;
	for (size_t i = 0; i < r->topo->ngateways; i++) {
		up += r->gw_up[i];
		down += r->gw_down[i];
	}
	ctl_printf(b, "\nidentities at gateways: %u attached, %u not\n", up, down);
	for (size_t i = 0; i < r->topo->ngateways && listed < CTL_LIST_MAX; i++)
		if (r->gw_up[i] || r->gw_down[i]) {
			listed++;
			ctl_printf(b, "  %s: %u attached, %u not\n",
			           r->topo->nodes[r->topo->gateways[i]].name, r->gw_up[i], r->gw_down[i]);
		}

	px_values(r, px);
	ctl_printf(b, "\nsessions: %u open", ss->open);
	if (ss->open)
		ctl_printf(b, ", the oldest for %s",
		           ctl_duration((now_us() - ss->oldest_us) / 1000000u, age, sizeof(age)));
	ctl_printf(b, "\n  bytes since start: %llu out, %llu in\n",
	           (unsigned long long)ss->bytes_out, (unsigned long long)ss->bytes_in);

	cc_values(r->cc, cc);
	ctl_printf(b, "\nqueues:\n  messages pending in the mixnet: %.0f\n", px[PX_PENDING]);
	if (cc[CC_WINDOW] > 0)
		ctl_printf(b, "  congestion window: %.0f messages, %.0f in flight, ~%.1f packets queued\n",
		           cc[CC_WINDOW], cc[CC_IN_FLIGHT], cc[CC_QUEUED]);
	else
		ctl_printf(b, "  congestion window: not limited (default profile), %.0f in flight\n",
		           cc[CC_IN_FLIGHT]);

	route_values(r->routes, rs);
	ctl_printf(b, "\nmix health: loss %.3f on routes of proven mixes; routes %.0f drawn, "
	           "%.0f proven, %.0f failed\n", rs[RS_LOSS], rs[RS_PICKS], rs[RS_PROVEN],
	           rs[RS_FAILED]);
	struct mix_arg a = { b, r->routes, NULL, NULL, NULL };
	size_t all = each_mix(r->topo, show_mix, &a);
	if (all > CTL_LIST_MAX)
		ctl_printf(b, "  (%zu more not listed)\n", all - CTL_LIST_MAX);

	ctl_printf(b, "\ncounters:\n");
	ctl_stats_show(b, r->own, r->own_v, r->own_n);
	ctl_stats_show(b, px_stats, px, PX_N);
	ctl_printf(b, "congestion:\n");
	ctl_stats_show(b, cc_stats, cc, CC_N);
	ctl_printf(b, "routes:\n");
	ctl_stats_show(b, route_stats, rs, RS_N);
}

static void report_metrics(struct ctl_buf *b, const char *labels, const char *profile,
                           uint64_t uptime_s, const struct proxy_report *r)
{
	double px[PX_N], cc[CC_N], rs[RS_N];
	char gw[64];
	px_values(r, px);
	ctl_metrics_common(b, labels, uptime_s, profile);
	ctl_stats_metrics(b, labels, r->own, r->own_v, r->own_n);
	ctl_stats_metrics(b, labels, px_stats, px, PX_N);
	/* Every gateway of the topology, used or not: a series that comes
	 * and goes is harder to alert on than one that reads 0. */
	for (int down = 0; down < 2; down++) {
		const char *m = down ? "gateway_links_down" : "gateway_links_up";
		ctl_metric_head(b, m, CTL_GAUGE, down ? "Identities not attached to their gateway, by gateway."
		                                      : "Identities attached to their gateway, by gateway.");
		for (size_t i = 0; i < r->topo->ngateways && i < CTL_LIST_MAX; i++)
			ctl_metric(b, m, labels, ctl_label(gw, sizeof(gw), "gateway",
			           r->topo->nodes[r->topo->gateways[i]].name),
			           down ? r->gw_down[i] : r->gw_up[i], 0);
	}
	ctl_metric_head(b, "session_oldest_age_seconds", CTL_GAUGE,
	                "Age of the oldest open session (0: none open).");
	ctl_metric(b, "session_oldest_age_seconds", labels, NULL, r->sessions.open ?
	           (double)((now_us() - r->sessions.oldest_us) / 1000000u) : 0, 0);
	cc_values(r->cc, cc);
	ctl_stats_metrics(b, labels, cc_stats, cc, CC_N);
	route_values(r->routes, rs);
	ctl_stats_metrics(b, labels, route_stats, rs, RS_N);
	struct mix_arg a = { b, r->routes, labels, "mix_weight", routes_weight };
	ctl_metric_head(b, a.metric, CTL_GAUGE, "A mix's weight in the draw of routes, by mix.");
	each_mix(r->topo, metric_mix, &a);
	a.metric = "mix_dead_belief";
	a.value = routes_dead_belief;
	ctl_metric_head(b, a.metric, CTL_GAUGE, "The belief that a mix is dead, by mix.");
	each_mix(r->topo, metric_mix, &a);
}

void proxy_report_answer(enum ctl_req req, struct ctl_buf *b, void *ctx)
{
	const struct proxy_reporter *p = ctx;
	struct proxy_report r;
	char labels[CTL_LABELS_MAX];
	uint64_t up_s = (now_us() - p->started_us) / 1000000u;
	p->gather(p->ctx, &r);
	if (req == CTL_REQ_METRICS) {
		ctl_labels(labels, sizeof(labels), p->role, p->name);
		report_metrics(b, labels, p->o->fast ? "fast" : "default", up_s, &r);
	} else {
		p->head(p->ctx, b, up_s);
		report_show(b, &r);
	}
	proxy_report_free(&r);
}
