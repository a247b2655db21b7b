/* session — one proxied TCP connection, at either end.
 *
 * A session joins a local TCP socket (the client's accepted connection,
 * or the server's upstream connection) to a stream of proxy messages
 * (proxymsg.h) that a mixnet client carries to the other end and back.
 * It is one struct with one state, advanced by socket readiness, arriving
 * messages and a once-a-second tick; every state change goes through one
 * function that logs "old -> new".
 *
 * The mixnet delivers every message exactly once but in any order, so
 * each direction numbers its messages (u16, wrapping) and the receiver
 * keeps a reorder window of SESSION_WINDOW slots: every message that is
 * next in line is written at once, a duplicate is dropped, a gap waits
 * for the retransmission that fills it.  The window is also the flow
 * control: a sender never has more than SESSION_WINDOW messages beyond
 * the last credit the receiver gave, and the receiver gives credit only
 * for what its socket took.  So a slow reader stops the far end's socket
 * reads, and memory per session stays below SESSION_WINDOW messages each
 * way, whatever the peer does. */
#ifndef MIXPROXY_SESSION_H
#define MIXPROXY_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "list.h"
#include "proxymsg.h"

#define SESSION_WINDOW 128  /* a power of two that divides 65536 */

struct ev;
struct session;

struct session_io {
	/* Hand one encoded message to the mixnet.  0, or -1 with errno
	 * EAGAIN when there is no room now (the owner calls session_on_room
	 * when there is); any other error aborts the session. */
	int (*send)(struct session *s, const uint8_t *msg, size_t len, void *ctx);
	/* The longest message the next send may take (optional; default
	 * PMSG_MAX): the transport may want room beside it for something of
	 * its own (the mixnet client's reply blocks). */
	size_t (*msg_max)(struct session *s, void *ctx);
	/* The session has ended (clean: both directions closed in order;
	 * otherwise reset or timed out), its socket is closed and it will
	 * call nothing more.  The owner forgets it and calls session_release;
	 * never session_free from here. */
	void (*done)(struct session *s, int clean, void *ctx);
};

struct session_cfg {
	unsigned idle_timeout_s;    /* nothing heard from the peer this long: reset (0: never) */
	unsigned close_timeout_s;   /* a direction closed and no progress this long: reset */
	unsigned connect_timeout_s; /* the upstream connect (server) */
	/* When the peer's process was last heard from, on any session (the
	 * client's one server), or NULL.  While it is heard from, a
	 * session's silence is its turn in the peer's queue, and the close
	 * timeout is the peer's to enforce: the clock runs only while the
	 * peer is silent too. */
	const uint64_t *peer_heard_us;
};

/* Sessions that wait for room in a shared transport (the server's one
 * mixnet client), served round robin by session_waitq_run.  Set up with
 * session_waitq_init (a zeroed one is not an empty queue). */
struct session_waitq {
	struct list sessions;
};

enum session_role { SESSION_CLIENT, SESSION_SERVER };

struct session_stats {
	uint64_t bytes_out, bytes_in;       /* local socket -> peer, peer -> local socket */
	uint64_t msgs_out, msgs_in, duplicates, bad;
};

/* cfg, io and q are borrowed and must outlive the session; q may be NULL
 * (the transport is the session's own). */
struct session *session_new(struct ev *ev, enum session_role role,
                            const uint8_t sid[PMSG_SID_BYTES], const struct session_cfg *cfg,
                            const struct session_io *io, void *ctx, struct session_waitq *q);

/* Client: the accepted socket; sends OPEN at once. */
void session_start_client(struct session *s, int fd);
/* Server: the upstream socket, its connect in progress (or done, if
 * connecting is 0).  `upstream` names it in logs. */
void session_start_server(struct session *s, int fd, int connecting);

/* A message for this session, decoded and its session id matched:
 * session_dispatch does both. */
void session_input(struct session *s, const struct pmsg *m);

/* What differs between the owners of sessions, for session_dispatch: the
 * client serves one session per mixnet identity; the server keeps a
 * table of them, and the messages of a session it does not know open
 * one. */
struct session_owner {
	/* The session m is for, or NULL if the owner holds none of its id.
	 * An owner that holds one but refuses m for it (the server: from a
	 * sender other than the session's) logs why, sets *refused and
	 * returns NULL. */
	struct session *(*find)(const struct pmsg *m, int *refused, void *ctx);
	/* m is for no session held.  Returns a session that m is the first
	 * message of (the server opens one), or NULL to drop m; then, if it
	 * set *reset to a reason, the sender is told in a RESET. */
	struct session *(*unknown)(const struct pmsg *m, const char **reset, void *ctx);
	/* Send that RESET, as session_io's send (NULL if unknown never asks
	 * for one). */
	int (*send)(const uint8_t *msg, size_t len, void *ctx);
	/* data is not a proxy message; why says what is wrong. */
	void (*malformed)(const char *why, void *ctx);
};

/* A message the transport carried: decode it and hand it to its session,
 * asking o (with ctx) which one that is.  The one place a received proxy
 * message is decoded. */
void session_dispatch(const uint8_t *data, size_t len, const struct session_owner *o, void *ctx);

/* The transport has room again. */
void session_on_room(struct session *s);
/* End the session now: the local socket is reset (RST), the peer told
 * with a RESET message if tell_peer.  why goes to the log (and to the
 * peer). */
void session_abort(struct session *s, const char *why, int tell_peer);

/* After done: free at the end of the current event batch. */
void session_release(struct session *s);
/* Free now (teardown at exit; not from the session's own callbacks). */
void session_free(struct session *s);

void session_waitq_init(struct session_waitq *q);
void session_waitq_run(struct session_waitq *q);

const uint8_t *session_id(const struct session *s);
/* Short printable id for logs ("3fa9c2d1"): local, random, nothing of the
 * session id (the other end's logs must not name the same session). */
const char *session_name(const struct session *s);
int session_is_done(const struct session *s);
void session_get_stats(const struct session *s, struct session_stats *st);
/* When it began (now_us's clock): `show` gives the oldest session's age. */
uint64_t session_started_us(const struct session *s);
/* Bytes of memory the session holds (tests of boundedness). */
size_t session_memory(const struct session *s);

#endif
