/* log — see log.h. */
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>

#include "util.h"

static int log_stderr = 1;
static int log_journal;  /* stderr is systemd's journal: a <N> prefix gives the priority */
static int log_verbosity;
static char log_ident[32] = "mixproxy";

/* JOURNAL_STREAM names the device and inode of the journal's stream; it
 * is inherited, so stderr must still be that stream (not a redirection). */
static int stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2 || fstat(2, &st) != 0)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_init(const char *ident, int to_stderr, int verbosity)
{
	snprintf(log_ident, sizeof(log_ident), "%s", ident);
	log_stderr = to_stderr;
	log_verbosity = verbosity;
	/* Under systemd, stderr goes to the journal, which stamps the time
	 * and reads the priority from a "<N>" prefix (sd-daemon(3)). */
	log_journal = to_stderr && stderr_is_journal();
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
	if (log_journal) {
		fprintf(stderr, "<%d>%s: %s\n", lvl_syslog[lvl], lvl_name[lvl], line);
	} else if (log_stderr) {
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
