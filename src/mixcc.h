/* mixcc — congestion control shared by the mixnet clients of a process.
 *
 * A process's identities (the proxy client makes one per connection) send
 * through the same machine, gateways and mixes, so what one of them
 * measures holds for all: they share one round-trip estimate and, in the
 * fast profile, one window of messages in flight, handed out in turn.
 * Without it, 1,000 identities with a window of 256 each put 256,000
 * packets at once into a mixnet that carries a few thousand a second: the
 * queues grew to minutes, every timeout fired, and retransmissions took
 * what was left.
 *
 * The window is delay-based, as TCP Vegas's: loss is a poor signal in a
 * mixnet, where mixes die or drop at random, and a window that halved at
 * every loss would crawl through a lossy path.  Details in mixcc.c.  In
 * the default profile the window does not hold messages back: every
 * client sends one packet per Poisson slot whatever it carries, so a
 * message held back would only turn into a cover packet on the wire.
 *
 * A client in a group calls mixcc_room before each message it sends and,
 * when there is none, queues itself with mixcc_wait; the group calls its
 * turn() as room comes back, one message each, round robin. */
#ifndef MIXPROXY_MIXCC_H
#define MIXPROXY_MIXCC_H

#include <stdint.h>

#include "list.h"

struct ev;
struct mixcc;

/* A client waiting for room: lives in the client. */
struct mixcc_waiter {
	struct list wq;              /* in the group's queue (zeroed: not queued) */
	/* Send one message: 1 when one went and more are ready, else 0. */
	int (*turn)(void *arg);
	void *arg;
};

struct mixcc_stats {
	double cwnd;          /* messages (fast profile; 0: not limited) */
	unsigned inflight;    /* messages sent, neither acknowledged nor lost */
	double srtt_ms, rttvar_ms, min_rtt_ms, queued; /* queued: estimate, packets */
	uint64_t rounds, grows, shrinks, cuts, waits;
	uint64_t rides;       /* messages that rode a packet going anyway */
	uint64_t overruns;    /* messages sent past the window: a caller's bug */
};

/* fast: the fast profile (the window holds messages back). */
struct mixcc *mixcc_new(struct ev *ev, int fast);
/* After every client that uses it is freed. */
void mixcc_free(struct mixcc *cc);
void mixcc_get_stats(const struct mixcc *cc, struct mixcc_stats *st);
int mixcc_is_fast(const struct mixcc *cc);

/* ---- for the mixnet client ---- */

/* Round trip beyond the delays chosen for the packets (0: none measured). */
double mixcc_srtt_us(const struct mixcc *cc);
double mixcc_rttvar_us(const struct mixcc *cc);
/* May a message go now?  No while others wait for their turn. */
int mixcc_room(const struct mixcc *cc);
/* Queue w for a turn (no-op if queued); mixcc_unwait takes it out. */
void mixcc_wait(struct mixcc *cc, struct mixcc_waiter *w);
void mixcc_unwait(struct mixcc *cc, struct mixcc_waiter *w);
/* The next message sent rides a packet that goes anyway (acks that are
 * due): the mixnet carries one packet either way, so it may pass the
 * window, as TCP data rides an ack.  Messages then go out at most as fast
 * as acks come in, which is the rate the path delivers. */
void mixcc_ride(struct mixcc *cc);
/* No message went after mixcc_ride after all. */
void mixcc_ride_cancel(struct mixcc *cc);
/* A message entered flight (a try of it was sent) / left it (acked, lost,
 * timed out, given up). */
void mixcc_sent(struct mixcc *cc);
void mixcc_left(struct mixcc *cc);
/* The ack of a try sent at sent_us came back rtt_us after it was sent,
 * beyond the delays chosen for its packets. */
void mixcc_sample(struct mixcc *cc, uint64_t sent_us, double rtt_us);
/* The retransmission timeout of a try sent at sent_us fired. */
void mixcc_timeout(struct mixcc *cc, uint64_t sent_us);

#endif
