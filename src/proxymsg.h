/* proxymsg — the reference's ProxiedMessage, as bytes.
 *
 * Every proxied message rides in one mixnet message (mixclient.h):
 *
 *     0   version    1 byte, PMSG_VERSION
 *     1   kind       1 byte, enum pmsg_kind
 *     2   message_id 2 bytes, big-endian: per session and direction,
 *                    counting from PMSG_ID_FIRST and wrapping (serial
 *                    arithmetic)
 *     4   credit     2 bytes, big-endian: the sender of this message has
 *                    written out every message of the other direction
 *                    below this id (flow control)
 *     6   session_id 16 bytes, random, chosen by the client
 *     22  payload    DATA: 1..PMSG_DATA_MAX bytes; RESET: a printable
 *                    reason of at most PMSG_REASON_MAX bytes; else none
 *
 * OPEN, DATA and CLOSE are sequenced: they take the next message_id and
 * are written out in that order.  CREDIT and RESET are not: their
 * message_id is ignored.  The decoder is a pure function on a buffer, so
 * the unit tests and the fuzzer drive it unchanged. */
#ifndef MIXPROXY_PROXYMSG_H
#define MIXPROXY_PROXYMSG_H

#include <stddef.h>
#include <stdint.h>

#define PMSG_VERSION 2 /* 2: ids from PMSG_ID_FIRST; 1 counted them from 0 */
#define PMSG_HDR 22
#define PMSG_SID_BYTES 16
#define PMSG_MAX 1928        /* one mixnet message (MIX_MSG_MAX: asserted) */
#define PMSG_DATA_MAX (PMSG_MAX - PMSG_HDR)
#define PMSG_REASON_MAX 200
/* The id of a session's first message each way (OPEN from the client):
 * 1,024 below the wrap, so that every session of more than 1,024
 * messages a way crosses it, as Linux starts its jiffies counter five
 * minutes before its wrap.  The wrap is then tested by every long
 * transfer, not only by one of more than 65,536 messages. */
#define PMSG_ID_FIRST 0xfc00

enum pmsg_kind {
	PMSG_OPEN = 1,    /* client -> server, id PMSG_ID_FIRST: connect the upstream */
	PMSG_DATA = 2,    /* bytes of the stream */
	PMSG_CLOSE = 3,   /* no more bytes this way (shutdown(SHUT_WR)) */
	PMSG_RESET = 4,   /* the session is aborted; payload says why */
	PMSG_CREDIT = 5,  /* flow control and keepalive only */
};

struct pmsg {
	enum pmsg_kind kind;
	uint16_t id;
	uint16_t credit;
	uint8_t sid[PMSG_SID_BYTES];
	const uint8_t *data;      /* decode: points into the input */
	size_t len;
};

/* 1 for OPEN, DATA, CLOSE. */
int pmsg_sequenced(enum pmsg_kind k);
const char *pmsg_kind_name(enum pmsg_kind k);

/* Why m is not a valid message (kind, payload size, reason), or NULL. */
const char *pmsg_invalid(const struct pmsg *m);
/* Encode into out (>= PMSG_HDR + m->len bytes).  Returns the length, or 0
 * if m is not a valid message (wrong kind, payload size or reason). */
size_t pmsg_encode(uint8_t *out, size_t outsz, const struct pmsg *m);
/* 0, or -1 with a reason in *why. */
int pmsg_decode(const uint8_t *in, size_t len, struct pmsg *m, const char **why);

/* Serial-number arithmetic on message ids (RFC 1982 flavour): the
 * distance from a forward to b, modulo 2^16. */
static inline uint16_t pmsg_dist(uint16_t a, uint16_t b)
{
	return (uint16_t)(b - a);
}

#endif
