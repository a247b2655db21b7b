/* Fuzz proxymsg and the receiving side of session.
 *
 * 1. The whole input goes to pmsg_decode; what decodes must re-encode to
 *    the same bytes, what does not must come with a reason.
 * 2. The input is also read as a list of records, each made into a proxy
 *    message (through pmsg_encode and pmsg_decode, as the owner would)
 *    and fed to a fresh session on a socketpair, alongside a model of
 *    what proxymsg.h and session.h promise: every byte the session writes
 *    to its socket must be the model's, in order, EOF only after the
 *    peer's close, the session ended only by a RESET, bad and duplicate
 *    counts as the model's, memory within one window.
 *
 * A record: op, a, b, n, then the payload.
 *   op bit 0     role: the first record's picks client or server
 *   op bits 1-3  kind: 0-2 DATA, 3 CLOSE, 4 CREDIT, 5 OPEN, 6 DATA, 7 RESET
 *   op bit 7     id relative to what the receiver expects: expect + (int8)a;
 *                otherwise id = a << 8 | b
 *   credit       b << 8 | a
 *   n            payload length for DATA (1 + n % 64) and RESET (n % 64) */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ev.h"
#include "log.h"
#include "proxymsg.h"
#include "session.h"
#include "util.h"

#define W SESSION_WINDOW

static struct ev *ev;
static const uint8_t SID[PMSG_SID_BYTES] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
static int done;
static struct session *cur;

static int t_send(struct session *s, const uint8_t *msg, size_t len, void *ctx)
{
	(void)ctx;
	struct pmsg m;
	const char *why;
	if (s != cur || done || pmsg_decode(msg, len, &m, &why) < 0 ||
	    memcmp(m.sid, SID, PMSG_SID_BYTES) != 0)
		abort();
	return 0;
}

static void t_done(struct session *s, int clean, void *ctx)
{
	(void)clean;
	(void)ctx;
	if (s != cur || done)
		abort();
	done = 1;
	session_release(s);
}

static const struct session_io io = { .send = t_send, .done = t_done };
static const struct session_cfg cfg = { .idle_timeout_s = 0, .close_timeout_s = 30,
                                        .connect_timeout_s = 10 };

/* The model: the receiver as the headers describe it. */
static struct {
	int client;
	uint16_t expect;
	int close_seen, closed, dead;
	uint16_t close_id;
	int used[W];
	enum pmsg_kind kind[W];
	size_t len[W];
	uint8_t data[W][64];
	uint64_t bad, dup;
	uint8_t out[1 << 20];
	size_t nout;
} md;

static void model_input(const struct pmsg *m)
{
	if (m->kind == PMSG_RESET) {
		md.dead = 1;
		return;
	}
	if (m->kind == PMSG_OPEN && md.client) {
		md.bad++;
		return;
	}
	if (!pmsg_sequenced(m->kind))
		return;
	uint16_t d = pmsg_dist(md.expect, m->id);
	unsigned i = m->id % W;
	if (d >= W) {
		if (pmsg_dist(m->id, md.expect) <= 32768)
			md.dup++;
		else
			md.bad++;
		return;
	}
	if (md.closed || (md.close_seen && d > pmsg_dist(md.expect, md.close_id)) ||
	    (m->kind == PMSG_CLOSE && md.close_seen && m->id != md.close_id)) {
		md.bad++;
		return;
	}
	if (md.used[i]) {
		md.dup++;
		return;
	}
	md.used[i] = 1;
	md.kind[i] = m->kind;
	md.len[i] = m->len;
	memcpy(md.data[i], m->data, m->len);
	if (m->kind == PMSG_CLOSE) {
		md.close_seen = 1;
		md.close_id = m->id;
		for (uint16_t j = (uint16_t)(m->id + 1); j != (uint16_t)(md.expect + W); j++) {
			if (md.used[j % W]) {
				md.used[j % W] = 0;
				md.bad++;
			}
		}
	}
	while (!md.closed && md.used[md.expect % W]) {
		unsigned k = md.expect % W;
		if (md.kind[k] == PMSG_DATA) {
			if (md.nout + md.len[k] > sizeof(md.out))
				abort();
			memcpy(md.out + md.nout, md.data[k], md.len[k]);
			md.nout += md.len[k];
		} else if (md.kind[k] == PMSG_CLOSE) {
			md.closed = 1;
		}
		md.used[k] = 0;
		md.expect++;
	}
}

static void decode_only(const uint8_t *data, size_t size)
{
	struct pmsg m;
	const char *why = NULL;
	if (pmsg_decode(data, size, &m, &why) == 0) {
		uint8_t out[PMSG_MAX];
		size_t n = pmsg_encode(out, sizeof(out), &m);
		if (n != size || memcmp(out, data, size) != 0)
			abort();
		/* Touch the payload: ASan checks it lies in the input. */
		volatile uint8_t x = 0;
		for (size_t i = 0; i < m.len; i++)
			x ^= m.data[i];
		(void)x;
	} else if (!why) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!ev) {
		log_init("fuzz_proxymsg", 1, -3);
		ev = ev_new();
	}
	decode_only(data, size);
	if (size < 4)
		return 0;

	memset(&md, 0, sizeof(md));
	md.expect = PMSG_ID_FIRST;
	md.client = data[0] & 1;
	int sp[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) < 0)
		abort();
	fd_nonblock(sp[0]);
	fd_nonblock(sp[1]);
	/* Room for every byte an input can make the session write. */
	int big = 1 << 20;
	setsockopt(sp[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	setsockopt(sp[0], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	done = 0;
	cur = session_new(ev, md.client ? SESSION_CLIENT : SESSION_SERVER, SID, &cfg, &io, NULL, NULL);
	if (md.client)
		session_start_client(cur, sp[1]);
	else
		session_start_server(cur, sp[1], 0);
	size_t mem0 = session_memory(cur);
	size_t got = 0;
	int eof = 0;

	size_t pos = 0;
	while (pos + 4 <= size && !md.dead) {
		uint8_t op = data[pos], a = data[pos + 1], b = data[pos + 2], n = data[pos + 3];
		pos += 4;
		static const enum pmsg_kind kinds[8] = { PMSG_DATA, PMSG_DATA, PMSG_DATA, PMSG_CLOSE,
		                                         PMSG_CREDIT, PMSG_OPEN, PMSG_DATA, PMSG_RESET };
		struct pmsg m = { .kind = kinds[(op >> 1) & 7] };
		memcpy(m.sid, SID, PMSG_SID_BYTES);
		m.id = op & 0x80 ? (uint16_t)(md.expect + (int8_t)a) : (uint16_t)(a << 8 | b);
		m.credit = (uint16_t)(b << 8 | a);
		if (m.kind == PMSG_OPEN)
			m.id = PMSG_ID_FIRST;
		if (m.kind == PMSG_DATA || m.kind == PMSG_RESET) {
			m.len = m.kind == PMSG_DATA ? 1 + n % 64u : n % 64u;
			if (pos + m.len > size)
				break;
			m.data = data + pos;
			pos += m.len;
		}
		uint8_t buf[PMSG_MAX];
		size_t len = pmsg_encode(buf, sizeof(buf), &m);
		if (!len)
			continue;   /* e.g. a reset reason that is not printable */
		struct pmsg dm;
		const char *why;
		if (pmsg_decode(buf, len, &dm, &why) < 0)
			abort();
		model_input(&dm);
		session_input(cur, &dm);
		if (done != md.dead)
			abort();   /* ended without a RESET, or survived one */
		if (done)
			break;
		if (session_memory(cur) > mem0 + (size_t)W * (PMSG_DATA_MAX + 64))
			abort();
		for (;;) {
			uint8_t rb[8192];
			ssize_t r = recv(sp[0], rb, sizeof(rb), MSG_DONTWAIT);
			if (r > 0) {
				if (got + (size_t)r > md.nout || memcmp(rb, md.out + got, (size_t)r) != 0)
					abort();   /* a byte the model did not write */
				got += (size_t)r;
				continue;
			}
			if (r == 0) {
				if (!md.closed)
					abort();   /* EOF before the peer's close */
				eof = 1;
			}
			break;
		}
		if (got != md.nout)
			abort();   /* the session held back what is in order */
		(void)eof;
	}
	if (!done) {
		struct session_stats st;
		session_get_stats(cur, &st);
		if (st.bad != md.bad || st.duplicates != md.dup)
			abort();
		session_free(cur);
	}
	ev_run_once(ev, 0);   /* the deferred free of a session that ended */
	cur = NULL;
	close(sp[0]);
	return 0;
}
