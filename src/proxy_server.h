/* proxy_server — the sessions of `mixproxy server`, as one object on a
 * loop.
 *
 * cmd_server (proxy_server.c) reads the options, keeps the identity and
 * its address file, and runs the mixnet client the server talks through:
 * it hands every message the client receives to server_input, and gives
 * server_new a reply callback that is mixclient_reply.  The unit tests
 * make a server the same way on a transport of their own and drive it
 * with messages they encode.
 *
 * What callers may rely on:
 *
 *   - A message that may begin a session (OPEN, DATA or CLOSE with one of
 *     the first SESSION_WINDOW ids: the first messages arrive in any
 *     order) for a session id the server does not hold opens one: one
 *     non-blocking connection to the upstream, and the session is bound
 *     to the anonymous sender tag of that message.  Messages naming it
 *     from any other tag are dropped and counted bad.
 *   - At max_sessions, such a message is answered with a RESET ("server
 *     full") through the reply callback, and counted refused.
 *   - The last SERVER_TOMBS sessions that ended are remembered: messages
 *     for them are dropped, never open them again.
 *   - Any other message for a session the server does not hold is
 *     dropped: counted bad, unless a RESET or a CREDIT (those may trail
 *     the end of a session).  Replies (a message from an address) are
 *     dropped: the server sends no messages of its own.
 *   - All sessions share the transport's room, served round robin
 *     (session_waitq): after a reply said EAGAIN, call server_on_room
 *     when there is room.
 *
 * It never blocks and never stops the loop. */
#ifndef MIXPROXY_PROXY_SERVER_H
#define MIXPROXY_PROXY_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ev.h"
#include "mixclient.h"
#include "proxy_common.h"
#include "session.h"

#define SERVER_TOMBS 4096   /* ended sessions remembered */

struct server_cfg {
	const struct sockaddr_storage *upstream;  /* copied */
	socklen_t upstream_len;
	const char *upstream_text;   /* names it in the log (copied) */
	uint64_t max_sessions;
	struct session_cfg scfg;     /* copied */
	/* Send msg to the anonymous sender tag, through its reply blocks:
	 * 0, or -1 with errno as mixclient_reply's (EAGAIN: no room now). */
	int (*reply)(const uint8_t tag[MIX_TAG_BYTES], const uint8_t *msg, size_t len, void *ctx);
	void *ctx;
};

/* What a server counts, for its log line, `show` and `metrics`. */
struct server_counters {
	uint64_t opened, closed, reset, refused, upstream_failed, bad;
	struct proxy_sessions ended;  /* bytes of the sessions that ended */
};

/* A server with no session yet.  Free it before ev. */
struct server *server_new(struct ev *ev, const struct server_cfg *cfg);
/* Reset every session (its socket gets an RST; the peer is not told)
 * and free the rest.  NULL is fine. */
void server_free(struct server *sv);

/* A message the transport received (mixclient's on_message). */
void server_input(struct server *sv, const struct mix_from *from, const uint8_t *data,
                  size_t len);
/* The transport has room again (mixclient's on_writable). */
void server_on_room(struct server *sv);
/* A message to `to` was given up (mixclient's on_giveup): every session
 * of that sender ends, why in the log. */
void server_giveup(struct server *sv, const struct mix_from *to, const char *why);

size_t server_sessions(const struct server *sv);   /* open now */
const struct server_counters *server_counters(const struct server *sv);
/* Add the open sessions and the server's own figures to r (after
 * proxy_report_init with server_counters(sv)->ended). */
void server_report(const struct server *sv, struct proxy_report *r);

#endif
