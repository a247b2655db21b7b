/* mpjunk — send malformed proxy messages to a server's mixnet address,
 * for the integration test of bad input: a stranger who writes garbage
 * must change nothing for the server's other sessions.
 *
 *   mpjunk -t TOPOLOGY --to ADDRESS [-n N] [--fast] [--timeout SECS]
 *
 * Sends N messages (default 60) of every kind of wrong: random bytes, a
 * header of a wrong version, an unknown kind, DATA without bytes, an OPEN
 * with a message id other than the first, a message far beyond any window, and a
 * well-formed DATA for a session id nobody opened.  Exits 0 once all are
 * acknowledged (the server took them and dropped them), 1 otherwise. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "conf.h"
#include "ev.h"
#include "mixclient.h"
#include "proxymsg.h"
#include "topology.h"
#include "util.h"

static struct ev *ev;
static int failed;

static int on_message(struct mixclient *mc, const struct mix_from *from, const uint8_t *data,
                      size_t len, void *ctx)
{
	(void)mc, (void)from, (void)data, (void)len, (void)ctx;
	return 0;
}

static void on_giveup(struct mixclient *mc, const struct mix_from *to, uint64_t id,
                      const char *why, void *ctx)
{
	(void)mc, (void)to, (void)ctx;
	fprintf(stderr, "mpjunk: message %llu given up: %s\n", (unsigned long long)id, why);
	failed = 1;
}

static void on_timeout(struct ev *e, void *ctx)
{
	(void)ctx;
	fprintf(stderr, "mpjunk: timed out\n");
	failed = 1;
	ev_stop(e);
}

static size_t junk(unsigned i, uint8_t *buf)
{
	struct pmsg m = { .kind = PMSG_DATA, .id = 0, .credit = 0 };
	uint8_t data[64];
	size_t n;
	randombytes_buf(m.sid, sizeof(m.sid));
	randombytes_buf(data, sizeof(data));
	m.data = data;
	m.len = sizeof(data);
	switch (i % 7) {
	case 0: /* random bytes */
		n = 1 + randombytes_uniform(MIX_MSG_MAX);
		randombytes_buf(buf, n);
		return n;
	case 1: /* wrong version */
		n = pmsg_encode(buf, MIX_MSG_MAX, &m);
		buf[0] = 99;
		return n;
	case 2: /* unknown kind */
		n = pmsg_encode(buf, MIX_MSG_MAX, &m);
		buf[1] = 77;
		return n;
	case 3: /* DATA without bytes */
		m.len = 0;
		n = pmsg_encode(buf, MIX_MSG_MAX, &(struct pmsg){ .kind = PMSG_CLOSE });
		buf[1] = PMSG_DATA;
		return n;
	case 4: /* OPEN with id 5 */
		m.kind = PMSG_CLOSE;
		m.len = 0;
		n = pmsg_encode(buf, MIX_MSG_MAX, &m);
		buf[1] = PMSG_OPEN;
		buf[3] = 5;
		return n;
	case 5: /* far beyond any window */
		m.id = 40000;
		return pmsg_encode(buf, MIX_MSG_MAX, &m);
	default: /* too short */
		randombytes_buf(buf, 7);
		return 7;
	}
}

int main(int argc, char **argv)
{
	char *topo_file = NULL, *to_text = NULL;
	uint64_t n = 60, timeout = 30;
	int fast = 0;
	char err[512];
	struct opt opts[] = {
		{ "topology", 't', OPT_STR, "FILE", "topology", &topo_file, 0, 0, 0 },
		{ "to", 0, OPT_STR, "ADDRESS", "the server's address", &to_text, 0, 0, 0 },
		{ "count", 'n', OPT_U64, "N", "messages (60)", &n, 1, 100000, 0 },
		{ "fast", 0, OPT_FLAG, NULL, "fast profile", &fast, 0, 0, 0 },
		{ "timeout", 0, OPT_U64, "SECS", "give up after (30)", &timeout, 1, 3600, 0 },
	};
	if (sodium_init() < 0)
		return 1;
	int r = conf_parse_argv(opts, ARRAY_LEN(opts), argc, argv, NULL, 0, NULL, err, sizeof(err));
	if (r == 1) {
		conf_usage(opts, ARRAY_LEN(opts), "mpjunk -t TOPOLOGY --to ADDRESS [-n N]");
		conf_free(opts, ARRAY_LEN(opts));
		return 0;
	}
	if (r < 0 || !topo_file || !to_text) {
		fprintf(stderr, "mpjunk: %s\n", r < 0 ? err : "-t and --to are required");
		conf_free(opts, ARRAY_LEN(opts));
		return 64;
	}
	struct topology *topo = topo_load(topo_file, err, sizeof(err));
	struct mix_addr to;
	const char *why;
	if (!topo) {
		fprintf(stderr, "mpjunk: %s\n", err);
		conf_free(opts, ARRAY_LEN(opts));
		return 1;
	}
	if (mix_addr_parse(to_text, &to, &why)) {
		fprintf(stderr, "mpjunk: --to: %s\n", why);
		topo_free(topo);
		conf_free(opts, ARRAY_LEN(opts));
		return 64;
	}
	ev = ev_new();
	struct keypair kp;
	keypair_generate(&kp);
	static const struct mixclient_cbs cbs = { .on_message = on_message, .on_giveup = on_giveup };
	struct mixclient_cfg cfg;
	mixclient_cfg_defaults(&cfg);
	cfg.topo = topo;
	cfg.kp = &kp;
	cfg.fast = fast;
	cfg.cbs = &cbs;
	struct mixclient *mc = mixclient_new(ev, &cfg, &why);
	if (!mc) {
		fprintf(stderr, "mpjunk: %s\n", why);
		ev_free(ev);
		topo_free(topo);
		conf_free(opts, ARRAY_LEN(opts));
		return 1;
	}
	uint64_t t = ev_timer_add(ev, timeout * 1000, on_timeout, NULL);
	uint64_t sent = 0;
	while (!failed) {
		uint8_t buf[MIX_MSG_MAX];
		while (sent < n) {
			size_t len = junk((unsigned)sent, buf);
			if (mixclient_send(mc, &to, buf, len, NULL) < 0)
				break;
			sent++;
		}
		if (sent == n && mixclient_pending(mc) == 0)
			break;
		if (ev_run_once(ev, 100) < 0)
			break;
	}
	ev_timer_cancel(ev, t);
	printf("sent=%llu acked=%s\n", (unsigned long long)sent, failed ? "no" : "all");
	mixclient_free(mc);
	ev_free(ev);
	topo_free(topo);
	keypair_wipe(&kp);
	conf_free(opts, ARRAY_LEN(opts));
	return failed;
}
