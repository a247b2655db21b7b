/* rxwin — see rxwin.h. */
#include "rxwin.h"

#include <string.h>

static int bit(const struct rxwin *w, uint64_t id)
{
	return (w->bits[(id % RXWIN_IDS) / 64] >> (id % 64)) & 1;
}

static void set_bit(struct rxwin *w, uint64_t id, int v)
{
	uint64_t m = 1ull << (id % 64);
	if (v)
		w->bits[(id % RXWIN_IDS) / 64] |= m;
	else
		w->bits[(id % RXWIN_IDS) / 64] &= ~m;
}

void rxwin_init(struct rxwin *w)
{
	memset(w, 0, sizeof(*w));
	w->base = 1;
}

enum rxwin_verdict rxwin_check(const struct rxwin *w, uint64_t id)
{
	if (id < w->base)
		return RXWIN_DUP;
	if (id - w->base >= RXWIN_IDS)
		return RXWIN_AHEAD;
	return bit(w, id) ? RXWIN_DUP : RXWIN_NEW;
}

/* Move base past every id taken; their bits are cleared for the ids
 * RXWIN_IDS further on, which share them. */
static void advance(struct rxwin *w)
{
	while (bit(w, w->base)) {
		set_bit(w, w->base, 0);
		w->base++;
	}
}

void rxwin_take(struct rxwin *w, uint64_t id)
{
	if (rxwin_check(w, id) != RXWIN_NEW)
		return;
	set_bit(w, id, 1);
	advance(w);
}

void rxwin_floor(struct rxwin *w, uint64_t f)
{
	if (f <= w->base)
		return;
	if (f - w->base >= RXWIN_IDS) {
		memset(w->bits, 0, sizeof(w->bits));
		w->base = f;
		return;
	}
	while (w->base < f) {
		set_bit(w, w->base, 0);
		w->base++;
	}
	advance(w);
}
