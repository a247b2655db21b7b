/* log — see log.h. */
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>

#include "util.h"

static int log_stderr = 1;
static int log_verbosity;
static char log_ident[32] = "mixproxy";

void log_init(const char *ident, int to_stderr, int verbosity)
{
	snprintf(log_ident, sizeof(log_ident), "%s", ident);
	log_stderr = to_stderr;
	log_verbosity = verbosity;
	if (!to_stderr)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

int log_enabled(enum log_level lvl)
{
	return (int)lvl <= LOG_LVL_INFO + log_verbosity;
}

static const char *const lvl_name[] = { "error", "warning", "info", "debug", "trace" };
static const int lvl_syslog[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG, LOG_DEBUG };

void log_vmsg(enum log_level lvl, const char *fmt, va_list ap)
{
	if (!log_enabled(lvl))
		return;
	char line[1024];
	vsnprintf(line, sizeof(line), fmt, ap);
	/* One event, one line: a stray newline in a formatted value must not
	 * let input forge a second log line. */
	for (char *c = line; *c; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
	if (log_stderr) {
		struct timeval tv;
		struct tm tm;
		char ts[32];
		gettimeofday(&tv, NULL);
		localtime_r(&tv.tv_sec, &tm);
		strftime(ts, sizeof(ts), "%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ld %s %s: %s\n", ts, (long)(tv.tv_usec / 1000),
		        log_ident, lvl_name[lvl], line);
	} else {
		syslog(lvl_syslog[lvl], "%s", line);
	}
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(lvl, fmt, ap);
	va_end(ap);
}

void fatal(int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(LOG_LVL_ERR, fmt, ap);
	va_end(ap);
	exit(status);
}

void ratelog_warn(struct ratelog *r, const char *fmt, ...)
{
	uint64_t now = now_us();
	if (r->last_us && now - r->last_us < 1000000u) {
		r->skipped++;
		return;
	}
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (r->skipped)
		log_warn("%s (and %llu more like it in the last second)", line,
		         (unsigned long long)r->skipped);
	else
		log_warn("%s", line);
	r->last_us = now;
	r->skipped = 0;
}
