/* mixmsg — the messages a mixnet client has out, from the moment the
 * application hands one over until it is acknowledged or given up: their
 * table, the ready queue, the flight list, their timers, and the rules
 * for sending one again.
 *
 * Where a message is, and what that means (msg_set_state, traced):
 *
 *   NEW     made, not yet queued.
 *   QUEUED  in the ready queue (counted in its conversation's `queued`).
 *           A reply's deadline timer runs: it waits for a block of its
 *           sender's as well as for its turn.
 *   FLIGHT  a try is out: in the flight list, oldest try first, counted
 *           by the congestion window; its retransmission timer runs.
 *   ACKED, GIVEN_UP  on neither list, no timer: about to be freed.
 *
 * Queued to go (again), a message going again goes before every first
 * try, and retries go by id: the receiver delivers in order, so
 * everything after a lost message waits for it.
 *
 * A message is sent again however many tries that takes while a route
 * may still carry it: given up only when the owner says none can
 * (cbs->unreachable), after cfg->max_tries timeouts if that is set
 * (tests), or, for a reply, at its deadline.  The owner sends (it holds
 * the link and the reply blocks); this module says what is queued and
 * when a try is lost, and calls cbs->kick when there is something to
 * send. */
#ifndef MIXPROXY_MIXMSG_H
#define MIXPROXY_MIXMSG_H

#include <stddef.h>
#include <stdint.h>

#include "list.h"
#include "mixbody.h"
#include "mixclient.h"
#include "mixpeer.h"
#include "packet.h"

#define MIXMSG_TRY_RING 4        /* tries whose send times are kept */

enum msg_state { M_NEW, M_QUEUED, M_FLIGHT, M_ACKED, M_GIVEN_UP };

struct mixmsgs;

struct outmsg {
	struct mixmsgs *q;
	enum msg_state st;           /* msg_set_state only */
	struct list rq;              /* in the ready queue */
	int kind;                    /* MB_DATA or MB_REPLY */
	struct conv *cv;             /* of its peer: a peer_out's (DATA), a peer_in's */
	uint64_t id;
	uint64_t timer;
	unsigned tries;              /* sends so far */
	unsigned timeouts;           /* of those, the ones whose timeout fired */
	unsigned early;              /* found lost early since the last timeout */
	uint8_t mixes[3][PKT_ID_BYTES]; /* route of the last try */
	int have_route;
	uint8_t ret[3][PKT_ID_BYTES]; /* ... and of the reply block it carried last */
	int have_ret;
	int blames;                  /* its failure is evidence against the route:
	                              * it named the peer's epoch (one naming none
	                              * is refused wherever it arrives) */
	uint64_t first_us;           /* queued: the unheard peer's clock starts */
	uint64_t sent_us, fwd_us;    /* the last try: when, and its route's delays */
	uint64_t try_us[MIXMSG_TRY_RING], try_fwd_us[MIXMSG_TRY_RING]; /* the last tries */
	struct list fl;              /* in flight: by the time of the last try */
	int bound;                   /* DATA: sent naming a non-zero epoch */
	uint64_t deadline_us;        /* REPLY: given up if still waiting for a block then */
	size_t len;
	uint8_t data[MIX_MSG_MAX];
};

struct mixmsgs_cbs {
	void (*kick)(void *ctx);     /* messages were queued (again): send */
	/* Why no route can carry m now, in buf; NULL while one may. */
	const char *(*unreachable)(void *ctx, const struct outmsg *m, char *buf, size_t n);
	/* m is given up: the application hears whom it was for. */
	void (*given_up)(void *ctx, const struct mix_from *to, uint64_t id, const char *why);
	void (*writable)(void *ctx); /* room again after an EAGAIN */
};

struct mixmsgs {
	struct ev *ev;
	struct mixcc *cc;            /* round trips, the window */
	struct routes *routes;       /* credited and blamed by outcome */
	const struct mixclient_cfg *cfg;
	struct mixclient_stats *st;
	const struct mixmsgs_cbs *cbs;
	void *ctx;
	struct htab *tab;            /* (conv, id) -> outmsg */
	struct list rq;              /* the ready queue */
	struct list fl;              /* in flight, oldest try first */
	size_t n;
	int want_writable;           /* an EAGAIN was given: cbs->writable owed */
};

/* cfg, st: the owner's, living as long as q. */
void mixmsgs_init(struct mixmsgs *q, struct ev *ev, struct mixcc *cc, struct routes *routes,
                  const struct mixclient_cfg *cfg, struct mixclient_stats *st,
                  const struct mixmsgs_cbs *cbs, void *ctx);
/* Every message goes, wiped, without a callback. */
void mixmsgs_free(struct mixmsgs *q);

/* A message of len bytes, not queued yet: NULL with errno EMSGSIZE, or
 * EAGAIN when the window is full (cbs->writable follows when it is not). */
struct outmsg *mixmsgs_new(struct mixmsgs *q, const uint8_t *data, size_t len);
/* Queue m (kind MB_DATA or MB_REPLY) as cv's next id, which *id gets;
 * -1 (errno EAGAIN, m freed) if the table refuses it. */
int mixmsgs_enqueue(struct mixmsgs *q, struct outmsg *m, int kind, struct conv *cv, uint64_t *id);
void mixmsgs_want_writable(struct mixmsgs *q); /* an EAGAIN of the owner's own */
size_t mixmsgs_room(const struct mixmsgs *q);

void msg_set_state(struct outmsg *m, enum msg_state st, const char *why);
/* A try of m went (fwd_us: its route's delays): in flight. */
void msg_sent(struct outmsg *m, uint64_t fwd_us);

/* The acks of a body from cv's peer; how many were the first for one of
 * our messages.  In the fast profile, tries sent well before the latest
 * acknowledged one are found lost and queued again. */
unsigned mixmsgs_read_acks(struct mixmsgs *q, const struct mb_view *v, const struct conv *cv);

/* Give up the messages for which match() says why, as it says. */
typedef const char *mixmsgs_match(const struct outmsg *m, void *arg, char *buf, size_t n);
void mixmsgs_give_up_matching(struct mixmsgs *q, mixmsgs_match *match, void *arg);
/* cv's messages in flight go again at once (why: for the trace). */
void mixmsgs_requeue_conv(struct mixmsgs *q, const struct conv *cv, const char *why);

/* The lowest id of ours to cv's peer still out (or the next id). */
uint64_t mixmsgs_floor(const struct mixmsgs *q, const struct conv *cv);
/* The retransmission timeout of a try (tries: 1 for the first) whose
 * route's delays were fwd_delay_us. */
uint64_t mixmsgs_rto_ms(const struct mixmsgs *q, uint64_t fwd_delay_us, unsigned tries);

#endif
