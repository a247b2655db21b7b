/* rxwin — a receiver's window over a sender's message ids: each id is
 * taken once, in any order, within RXWIN_IDS of the lowest not yet taken.
 *
 * Ids start at 1 and only grow (they are 56 bits: they never wrap).
 * Every id below `base` has been taken or skipped; of the next RXWIN_IDS
 * a bit says which have been taken.  An id beyond the window is not
 * taken now: its sender sends it again once the window has moved.  The
 * sender moves the window itself with its floor (rxwin_floor): ids below
 * it it has given up, and the receiver must not wait for them. */
#ifndef MIXPROXY_RXWIN_H
#define MIXPROXY_RXWIN_H

#include <stdint.h>

#define RXWIN_IDS 1024

struct rxwin {
	uint64_t base;                   /* every id below it was taken or skipped */
	uint64_t bits[RXWIN_IDS / 64];   /* ids base..base+RXWIN_IDS-1, by id % RXWIN_IDS */
};

enum rxwin_verdict {
	RXWIN_AHEAD = -1,   /* beyond the window: not now */
	RXWIN_DUP = 0,      /* taken before (or skipped) */
	RXWIN_NEW = 1,      /* within the window, not taken yet */
};

void rxwin_init(struct rxwin *w);        /* empty, expecting id 1 */
enum rxwin_verdict rxwin_check(const struct rxwin *w, uint64_t id);
/* Take id (rxwin_check said RXWIN_NEW); the window moves past every id
 * taken in a row. */
void rxwin_take(struct rxwin *w, uint64_t id);
/* The sender's floor: every id below f counts as taken. */
void rxwin_floor(struct rxwin *w, uint64_t f);

#endif
