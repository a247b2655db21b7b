/* Fuzz the packet-body codec: mb_parse directly, with the property that
 * a body it takes re-encodes to the same bytes up to the end of its
 * sections; then the mixnet client's handling of the body through its
 * test entry point, on one client whose gateway is never reached.  Each
 * input is fed as it is, then naming the epoch of the sender state it
 * made, with a new packet number. */
#include <stdlib.h>
#include <sodium.h>
#include <stdint.h>
#include <string.h>

#include "ev.h"
#include "mixbody.h"
#include "mixclient.h"
#include "topology.h"

static struct ev *ev;
static struct mixclient *mc;
static struct keypair kp;
static struct topology *topo;

static int on_msg(struct mixclient *m, const struct mix_from *f, const uint8_t *d, size_t n, void *c)
{
	(void)m; (void)f; (void)c;
	/* Touch every byte handed out: ASan checks the bounds. */
	volatile uint8_t x = 0;
	for (size_t i = 0; i < n; i++)
		x ^= d[i];
	(void)x;
	return n % 3 == 0 ? -1 : 0;
}

static const struct mixclient_cbs cbs = { .on_message = on_msg };

static void codec(const uint8_t *b, size_t n)
{
	struct mb_view v;
	struct mb_writer e;
	if (mb_parse(b, n, &v))
		return;
	mb_begin(&e, (enum mb_kind)v.h.kind, v.h.id, v.h.tag);
	e.h = v.h;
	for (unsigned i = 0; i < v.nsurbs; i++)
		if (mb_add_surb(&e, v.surbs + (size_t)i * SURB_BYTES))
			abort();
	for (unsigned i = 0; i < v.nacks; i++)
		if (mb_add_ack(&e, mb_ack(&v, i), 0))
			abort();
	if (mb_add_data(&e, v.data, v.len))
		abort();
	/* Equal but for the top bytes of id and floor, which the parser
	 * masks off. */
	size_t end = (size_t)(v.data - b) + v.len;
	const uint8_t *o = mb_finish(&e);
	for (size_t i = 0; i < end; i++)
		if (o[i] != b[i] && i != 8 && i != 32)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!mc) {
		char text[512], k[B58_KEY_CHARS], err[128];
		const char *lines[] = { "gw1 gateway 127.0.0.1:9", "m1 mix 1 127.0.0.1:10",
		                        "m2 mix 2 127.0.0.1:11", "m3 mix 3 127.0.0.1:12" };
		struct keypair n;
		if (sodium_init() < 0)
			return 0;
		text[0] = 0;
		for (int i = 0; i < 4; i++) {
			keypair_generate(&n);
			strcat(text, lines[i]);
			strcat(text, " ");
			strcat(text, key_to_str(n.pk, k, sizeof(k)));
			strcat(text, "\n");
		}
		struct topo_parser *p = topo_parser_new();
		topo_parser_feed(p, text, strlen(text), err, sizeof(err));
		topo = topo_parser_finish(p, err, sizeof(err));
		ev = ev_new();
		keypair_generate(&kp);
		struct mixclient_cfg cfg;
		const char *why;
		mixclient_cfg_defaults(&cfg);
		cfg.topo = topo;
		cfg.kp = &kp;
		cfg.fast = 1;
		cfg.cbs = &cbs;
		mc = mixclient_new(ev, &cfg, &why);
	}
	uint8_t body[PKT_BODY_BYTES];
	codec(data, size);
	memset(body, 0, sizeof(body));
	memcpy(body, data, size < sizeof(body) ? size : sizeof(body));
	codec(body, sizeof(body));
	mixclient_feed_body(mc, body, sizeof(body));
	mixclient_feed_body(mc, data, size);
	/* A message is taken only from a body that names the epoch of the
	 * sender's state, which no input can guess: name it and feed the
	 * body again, so the acks and the window are fuzzed too. */
	uint64_t e = mixclient_sender_epoch(mc, body + 16);
	if (e) {
		/* A fresh packet number too: the same one again is a repeat,
		 * dropped before anything else is read. */
		static uint64_t pnum = 1ull << 40;
		pnum++;
		for (int i = 0; i < 8; i++) {
			body[40 + i] = (uint8_t)(e >> (56 - 8 * i));
			body[48 + i] = (uint8_t)(pnum >> (56 - 8 * i));
		}
		mixclient_feed_body(mc, body, sizeof(body));
	}
	return 0;
}
