/* Unit tests of the server's session dispatch (proxy_server.h): a real
 * server on a real ev loop, with no mixnet.  The test hands it messages it
 * encodes itself, as the mixnet client would from anonymous senders, and
 * records what the server replies; the upstream is a listening socket on
 * loopback that the test accepts from.
 *
 * Every wait is bounded (run_until fails the test at its time limit), and
 * every fd is closed. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "ev.h"
#include "log.h"
#include "proxy_server.h"
#include "proxymsg.h"
#include "util.h"

#define REPLIES_MAX 64

/* A reply the server sent, decoded. */
struct reply {
	uint8_t tag[MIX_TAG_BYTES];
	struct pmsg m;
	uint8_t data[PMSG_DATA_MAX];
};

static struct ev *ev;
static struct server *sv;
static int lfd = -1;                /* the upstream's listening socket */
static struct sockaddr_storage up;
static socklen_t uplen;
static struct reply replies[REPLIES_MAX];
static size_t nreplies;
static int full;                    /* the transport refuses: EAGAIN */

static const uint8_t TAG_A[MIX_TAG_BYTES] = { 0xa0, 1, 2, 3 };
static const uint8_t TAG_B[MIX_TAG_BYTES] = { 0xb0, 1, 2, 3 };
static const uint8_t SID1[PMSG_SID_BYTES] = { 0x51, 0xd1 };
static const uint8_t SID2[PMSG_SID_BYTES] = { 0x51, 0xd2 };
static const uint8_t SID3[PMSG_SID_BYTES] = { 0x51, 0xd3 };

static int t_reply(const uint8_t tag[MIX_TAG_BYTES], const uint8_t *msg, size_t len, void *ctx)
{
	const char *why = NULL;
	ck_assert_ptr_eq(ctx, &replies);
	if (full) {
		errno = EAGAIN;
		return -1;
	}
	ck_assert_uint_lt(nreplies, REPLIES_MAX);
	struct reply *r = &replies[nreplies++];
	memcpy(r->tag, tag, MIX_TAG_BYTES);
	ck_assert_msg(pmsg_decode(msg, len, &r->m, &why) == 0, "the server sent a malformed message: %s",
	              why);
	memcpy(r->data, r->m.data, r->m.len);
	r->m.data = r->data;
	return 0;
}

/* The upstream: listening on loopback, a port of the kernel's choice. */
static void listen_up(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	ck_assert_int_ge(lfd, 0);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(lfd, 8), 0);
	uplen = sizeof(up);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&up, &uplen), 0);
}

static void start(uint64_t max_sessions)
{
	char text[64];
	snprintf(text, sizeof(text), "127.0.0.1:%u",
	         (unsigned)ntohs(((struct sockaddr_in *)&up)->sin_port));
	struct server_cfg cfg = {
		.upstream = &up,
		.upstream_len = uplen,
		.upstream_text = text,
		.max_sessions = max_sessions,
		.scfg = { .idle_timeout_s = 0, .close_timeout_s = 30, .connect_timeout_s = 10 },
		.reply = t_reply,
		.ctx = &replies,
	};
	sv = server_new(ev, &cfg);
	ck_assert_ptr_nonnull(sv);
}

static void setup(void)
{
	/* TEST_VERBOSE=1 shows the server's debug log. */
	log_init("test_proxy_server", 1, getenv("TEST_VERBOSE") ? 2 : -2);
	ev = ev_new();
	ck_assert_ptr_nonnull(ev);
	nreplies = 0;
	full = 0;
	listen_up();
	start(4);
}

static void teardown(void)
{
	server_free(sv);
	sv = NULL;
	ev_free(ev);
	ev = NULL;
	if (lfd >= 0)
		close(lfd);
	lfd = -1;
}

/* A message as a client sends it, from the sender tag; id is its place
 * in the session (the OPEN's 0), not its message_id. */
static void feed(const uint8_t tag[MIX_TAG_BYTES], enum pmsg_kind k, const uint8_t sid[PMSG_SID_BYTES],
                 uint16_t id, const char *data)
{
	struct pmsg m = { .kind = k, .id = (uint16_t)(PMSG_ID_FIRST + id), .data = (const uint8_t *)data,
	                  .len = data ? strlen(data) : 0 };
	struct mix_from from = { .reply = 0 };
	uint8_t buf[PMSG_MAX];
	memcpy(m.sid, sid, PMSG_SID_BYTES);
	memcpy(from.tag, tag, MIX_TAG_BYTES);
	size_t n = pmsg_encode(buf, sizeof(buf), &m);
	ck_assert_uint_gt(n, 0);
	server_input(sv, &from, buf, n);
}

/* Run the loop until cond() holds; fail after ms. */
static void run_until(int (*cond)(void), const char *what, int ms)
{
	uint64_t t0 = now_ms();
	while (!cond()) {
		ck_assert_msg(now_ms() - t0 < (uint64_t)ms, "no %s after %d ms", what, ms);
		ck_assert_int_ge(ev_run_once(ev, 5), 0);
	}
}

static void run_for(int ms)
{
	uint64_t t0 = now_ms();
	while (now_ms() - t0 < (uint64_t)ms)
		ck_assert_int_ge(ev_run_once(ev, 5), 0);
}

static int accepted = -1;

static int try_accept(void)
{
	if (accepted < 0)
		accepted = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
	return accepted >= 0;
}

/* The upstream connection the server made. */
static int accept_up(void)
{
	accepted = -1;
	run_until(try_accept, "upstream connection", 5000);
	return accepted;
}

/* No further upstream connection comes within ms. */
static void no_more_connections(int ms)
{
	accepted = -1;
	run_for(ms);
	ck_assert_int_eq(try_accept(), 0);
}

static int rd_fd = -1;
static char rd_buf[256];
static size_t rd_len, rd_want;
static int rd_eof, rd_err;

static int read_enough(void)
{
	ssize_t n = recv(rd_fd, rd_buf + rd_len, sizeof(rd_buf) - 1 - rd_len, 0);
	if (n > 0)
		rd_len += (size_t)n;
	else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
		rd_eof = 1;
		rd_err = n ? errno : 0;
	}
	rd_buf[rd_len] = 0;
	return rd_eof || rd_len >= rd_want;
}

/* What fd gives until want bytes or its end. */
static const char *read_up(int fd, size_t want)
{
	rd_fd = fd;
	rd_len = 0;
	rd_want = want;
	rd_eof = 0;
	rd_err = 0;
	run_until(read_enough, "bytes from the server", 5000);
	return rd_buf;
}

static int no_session(void)
{
	return server_sessions(sv) == 0;
}

static int have_reply(void)
{
	return nreplies > 0;
}

START_TEST(test_open_connects)
{
	feed(TAG_A, PMSG_OPEN, SID1, 0, NULL);
	ck_assert_uint_eq(server_sessions(sv), 1);
	ck_assert_uint_eq(server_counters(sv)->opened, 1);
	/* Sent before the connect is through: it waits in the window. */
	feed(TAG_A, PMSG_DATA, SID1, 1, "hello");
	int u = accept_up();
	ck_assert_str_eq(read_up(u, 5), "hello");
	feed(TAG_A, PMSG_DATA, SID1, 2, " world");
	ck_assert_str_eq(read_up(u, 6), " world");

	/* The upstream's bytes go back to the sender that opened the
	 * session, in its first sequenced message. */
	ck_assert_int_eq(send(u, "hi", 2, 0), 2);
	run_until(have_reply, "a reply", 5000);
	ck_assert_mem_eq(replies[0].tag, TAG_A, MIX_TAG_BYTES);
	ck_assert_mem_eq(replies[0].m.sid, SID1, PMSG_SID_BYTES);
	ck_assert_int_eq(replies[0].m.kind, PMSG_DATA);
	ck_assert_uint_eq(replies[0].m.id, PMSG_ID_FIRST);
	ck_assert_uint_eq(replies[0].m.len, 2);
	ck_assert_mem_eq(replies[0].m.data, "hi", 2);
	ck_assert_uint_eq(server_counters(sv)->bad, 0);
	close(u);
}
END_TEST

/* The first messages of a session arrive in any order: a DATA before the
 * OPEN opens the session as well, and the OPEN then joins it. */
START_TEST(test_open_out_of_order)
{
	feed(TAG_A, PMSG_DATA, SID1, 1, "late open");
	ck_assert_uint_eq(server_sessions(sv), 1);
	feed(TAG_A, PMSG_OPEN, SID1, 0, NULL);
	ck_assert_uint_eq(server_sessions(sv), 1);
	ck_assert_uint_eq(server_counters(sv)->opened, 1);
	int u = accept_up();
	ck_assert_str_eq(read_up(u, 9), "late open");
	no_more_connections(50);
	close(u);
}
END_TEST

START_TEST(test_duplicate_open)
{
	feed(TAG_A, PMSG_OPEN, SID1, 0, NULL);
	feed(TAG_A, PMSG_OPEN, SID1, 0, NULL);
	ck_assert_uint_eq(server_sessions(sv), 1);
	ck_assert_uint_eq(server_counters(sv)->opened, 1);
	int u = accept_up();
	no_more_connections(50);
	/* The same session id from another sender is not that session: not
	 * a second one either, and nothing of it reaches the upstream. */
	feed(TAG_B, PMSG_OPEN, SID1, 0, NULL);
	feed(TAG_B, PMSG_DATA, SID1, 1, "intruder");
	ck_assert_uint_eq(server_sessions(sv), 1);
	ck_assert_uint_eq(server_counters(sv)->opened, 1);
	ck_assert_uint_eq(server_counters(sv)->bad, 2);
	no_more_connections(50);
	feed(TAG_A, PMSG_DATA, SID1, 1, "owner");
	ck_assert_str_eq(read_up(u, 5), "owner");
	ck_assert_uint_eq(nreplies, 0);
	close(u);
}
END_TEST

/* A message for a session the server does not hold and will not open. */
START_TEST(test_unknown_session)
{
	server_free(sv);
	start(1);
	feed(TAG_A, PMSG_OPEN, SID1, 0, NULL);
	int u = accept_up();
	/* Full: the sender of a new session is told at once, through the
	 * reply blocks of the message, with the same encoder as every other
	 * message. */
	feed(TAG_B, PMSG_OPEN, SID2, 0, NULL);
	ck_assert_uint_eq(nreplies, 1);
	ck_assert_mem_eq(replies[0].tag, TAG_B, MIX_TAG_BYTES);
	ck_assert_int_eq(replies[0].m.kind, PMSG_RESET);
	ck_assert_mem_eq(replies[0].m.sid, SID2, PMSG_SID_BYTES);
	ck_assert_uint_eq(replies[0].m.len, strlen("server full"));
	ck_assert_mem_eq(replies[0].m.data, "server full", replies[0].m.len);
	ck_assert_uint_eq(server_counters(sv)->refused, 1);
	ck_assert_uint_eq(server_sessions(sv), 1);

	/* No room to tell it: the refusal is dropped, not queued. */
	full = 1;
	feed(TAG_B, PMSG_OPEN, SID3, 0, NULL);
	full = 0;
	ck_assert_uint_eq(nreplies, 1);
	ck_assert_uint_eq(server_counters(sv)->refused, 2);

	/* What cannot begin a session names one the server never had:
	 * dropped and counted, not answered, nothing opened. */
	feed(TAG_B, PMSG_DATA, SID3, SESSION_WINDOW, "too far");
	ck_assert_uint_eq(server_counters(sv)->bad, 1);
	/* ... except what may trail a session's end: not even counted. */
	feed(TAG_B, PMSG_CREDIT, SID3, 0, NULL);
	feed(TAG_B, PMSG_RESET, SID3, 0, "bye");
	ck_assert_uint_eq(server_counters(sv)->bad, 1);
	ck_assert_uint_eq(nreplies, 1);
	ck_assert_uint_eq(server_sessions(sv), 1);
	ck_assert_uint_eq(server_counters(sv)->opened, 1);
	no_more_connections(50);
	close(u);
}
END_TEST

START_TEST(test_tombs)
{
	feed(TAG_A, PMSG_OPEN, SID1, 0, NULL);
	int u = accept_up();
	feed(TAG_A, PMSG_RESET, SID1, 0, "client gone");
	ck_assert_uint_eq(server_sessions(sv), 0);
	ck_assert_uint_eq(server_counters(sv)->reset, 1);
	/* The upstream sees a reset, not an orderly end. */
	read_up(u, 1);
	ck_assert_int_eq(rd_eof, 1);
	ck_assert_int_eq(rd_err, ECONNRESET);
	close(u);

	/* Stragglers of the ended session, an OPEN among them, open nothing. */
	feed(TAG_A, PMSG_OPEN, SID1, 0, NULL);
	feed(TAG_A, PMSG_DATA, SID1, 1, "straggler");
	ck_assert_uint_eq(server_sessions(sv), 0);
	ck_assert_uint_eq(server_counters(sv)->opened, 1);
	ck_assert_uint_eq(server_counters(sv)->bad, 0);
	no_more_connections(50);
	ck_assert_uint_eq(nreplies, 0);

	/* Another session id still opens. */
	feed(TAG_A, PMSG_OPEN, SID2, 0, NULL);
	ck_assert_uint_eq(server_sessions(sv), 1);
	close(accept_up());
}
END_TEST

/* The tombs are a bounded ring: the oldest are forgotten first. */
START_TEST(test_tombs_bounded)
{
	uint8_t sid[PMSG_SID_BYTES] = { 0x70 };
	for (unsigned i = 0; i <= SERVER_TOMBS; i++) {
		be32_put(sid + 4, i);
		feed(TAG_A, PMSG_OPEN, sid, 0, NULL);
		feed(TAG_A, PMSG_RESET, sid, 0, "done");
		/* The loop frees what ended, and takes the connections. */
		ck_assert_int_ge(ev_run_once(ev, 0), 0);
		for (int fd; (fd = accept4(lfd, NULL, NULL, 0)) >= 0;)
			close(fd);
	}
	ck_assert_uint_eq(server_counters(sv)->opened, SERVER_TOMBS + 1);
	ck_assert_uint_eq(server_sessions(sv), 0);
	/* The newest is remembered... */
	feed(TAG_A, PMSG_OPEN, sid, 0, NULL);
	ck_assert_uint_eq(server_sessions(sv), 0);
	/* ... the oldest is not. */
	be32_put(sid + 4, 0);
	feed(TAG_A, PMSG_OPEN, sid, 0, NULL);
	ck_assert_uint_eq(server_sessions(sv), 1);
	close(accept_up());
}
END_TEST

START_TEST(test_not_messages)
{
	struct mix_from from = { .reply = 0 };
	uint8_t junk[PMSG_HDR] = { 9, 9 };
	memcpy(from.tag, TAG_A, MIX_TAG_BYTES);
	server_input(sv, &from, junk, sizeof(junk));
	server_input(sv, &from, junk, 3);
	ck_assert_uint_eq(server_counters(sv)->bad, 2);
	/* A reply: the server sends no messages, so none is for it. */
	uint8_t buf[PMSG_MAX];
	struct pmsg m = { .kind = PMSG_OPEN };
	memcpy(m.sid, SID1, PMSG_SID_BYTES);
	size_t n = pmsg_encode(buf, sizeof(buf), &m);
	from.reply = 1;
	server_input(sv, &from, buf, n);
	ck_assert_uint_eq(server_sessions(sv), 0);
	ck_assert_uint_eq(nreplies, 0);
	no_more_connections(50);
}
END_TEST

START_TEST(test_upstream_refused)
{
	/* Nobody listens on the upstream's port any more. */
	close(lfd);
	lfd = -1;
	feed(TAG_A, PMSG_OPEN, SID1, 0, NULL);
	run_until(no_session, "the session's end", 5000);
	ck_assert_uint_eq(nreplies, 1);
	ck_assert_mem_eq(replies[0].tag, TAG_A, MIX_TAG_BYTES);
	ck_assert_int_eq(replies[0].m.kind, PMSG_RESET);
	ck_assert_mem_eq(replies[0].m.sid, SID1, PMSG_SID_BYTES);
	ck_assert_uint_eq(server_counters(sv)->reset, 1);
}
END_TEST

/* A reply that cannot reach its sender ends that sender's sessions only. */
START_TEST(test_giveup)
{
	feed(TAG_A, PMSG_OPEN, SID1, 0, NULL);
	int ua = accept_up();
	feed(TAG_B, PMSG_OPEN, SID2, 0, NULL);
	int ub = accept_up();
	struct mix_from to = { .reply = 0 };
	memcpy(to.tag, TAG_A, MIX_TAG_BYTES);
	server_giveup(sv, &to, "no route");
	ck_assert_uint_eq(server_sessions(sv), 1);
	ck_assert_uint_eq(nreplies, 0);
	feed(TAG_B, PMSG_DATA, SID2, 1, "still here");
	ck_assert_str_eq(read_up(ub, 10), "still here");
	close(ua);
	close(ub);
}
END_TEST

Suite *suite_proxy_server(void)
{
	Suite *s = suite_create("proxy_server");
	TCase *tc = tcase_create("dispatch");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_open_connects);
	tcase_add_test(tc, test_open_out_of_order);
	tcase_add_test(tc, test_duplicate_open);
	tcase_add_test(tc, test_unknown_session);
	tcase_add_test(tc, test_tombs);
	tcase_add_test(tc, test_tombs_bounded);
	tcase_add_test(tc, test_not_messages);
	tcase_add_test(tc, test_upstream_refused);
	tcase_add_test(tc, test_giveup);
	suite_add_tcase(s, tc);
	return s;
}
