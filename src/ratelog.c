/* ratelog — see ratelog.h. */
#include "ratelog.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ev.h"
#include "log.h"
#include "util.h"

#define RATELOG_US 1000000u

void ratelog_init(struct ratelog *r, struct ev *ev)
{
	memset(r, 0, sizeof(*r));
	r->ev = ev;
}

static void due(struct ev *ev, void *ctx);

/* A line logged: the next second is counted from now. */
static void told(struct ratelog *r, uint64_t now)
{
	r->last_us = now;
	r->skipped = 0;
}

static void arm(struct ratelog *r, uint64_t now)
{
	/* One past the second; the loop counts from its own time of the
	 * batch, a little behind, so it may come early: due() sets it
	 * again then. */
	uint64_t left = RATELOG_US - (now - r->last_us);
	r->timer = ev_timer_add_us(r->ev, left + 1, due, r);
}

static void due(struct ev *ev, void *ctx)
{
	(void)ev;
	struct ratelog *r = ctx;
	uint64_t now = now_us();
	r->timer = 0;
	if (!r->skipped)
		return;
	/* A line came since the timer was set, and lines were left out
	 * after it: their second is not up yet. */
	if (now - r->last_us < RATELOG_US) {
		arm(r, now);
		return;
	}
	log_warn("%llu more like \"%s%s\" since the last", (unsigned long long)r->skipped,
	         r->head, r->cut ? "..." : "");
	told(r, now);
}

void ratelog_warn(struct ratelog *r, const char *fmt, ...)
{
	uint64_t now = now_us();
	if (r->last_us && now - r->last_us < RATELOG_US) {
		r->skipped++;
		if (r->ev && !r->timer)
			arm(r, now);
		return;
	}
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (r->skipped)
		log_warn("%s (and %llu more like it since the last)", line,
		         (unsigned long long)r->skipped);
	else
		log_warn("%s", line);
	size_t n = strlen(line);
	r->cut = n > RATELOG_HEAD - 1;
	if (r->cut)
		n = RATELOG_HEAD - 1;
	memcpy(r->head, line, n);
	r->head[n] = 0;
	told(r, now);
}

void ratelog_stop(struct ratelog *r)
{
	if (r->ev)
		ev_timer_cancel(r->ev, r->timer);
	r->timer = 0;
	r->ev = NULL; /* a warning after this arms nothing */
}
