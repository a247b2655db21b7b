/* ratelog — a warning that a stranger may cause at will (once per packet
 * from the network, once per connection): logged at most once a second,
 * with the count of those left out since the last.
 *
 * The end of a burst is told too: while lines are left out, the ratelog
 * holds a timer on its owner's loop that logs their count when the second
 * is up, so a burst shorter than a second still leaves a trace, and no
 * owner needs a timer of its own for it.  Zeroed memory is a ratelog
 * without a loop; it tells what it left out with its next line only. */
#ifndef MIXPROXY_RATELOG_H
#define MIXPROXY_RATELOG_H

#include <stdint.h>

struct ev;

#define RATELOG_HEAD 64
struct ratelog {
	struct ev *ev;           /* NULL: no timer */
	uint64_t timer;          /* armed while lines are left out */
	uint64_t last_us;        /* when the last line was logged */
	uint64_t skipped;        /* left out since */
	char head[RATELOG_HEAD]; /* the start of the last line logged */
	int cut;                 /* head is not all of it */
};

/* Start a ratelog on ev (which may be NULL). */
void ratelog_init(struct ratelog *r, struct ev *ev);
void ratelog_warn(struct ratelog *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Cancel the timer, untold counts and all: the owner's free calls it
 * before the ratelog's memory goes. */
void ratelog_stop(struct ratelog *r);

#endif
