/* log — one line per event.  Foreground (-d): stderr with a timestamp;
 * daemon: syslog.  Levels rise with each -v.  Never pass secrets here. */
#ifndef MIXPROXY_LOG_H
#define MIXPROXY_LOG_H

#include <stdarg.h>
#include <stdint.h>

enum log_level { LOG_LVL_ERR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG, LOG_LVL_TRACE };

/* ident: program/role name ("mixproxy-node"); to_stderr: foreground mode;
 * verbosity: number of -v (0 = info and worse are shown). */
void log_init(const char *ident, int to_stderr, int verbosity);
int log_enabled(enum log_level lvl);
void log_msg(enum log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void log_vmsg(enum log_level lvl, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Log at ERR and exit(status). */
void fatal(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

#define log_err(...)   log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) do { if (log_enabled(LOG_LVL_DEBUG)) log_msg(LOG_LVL_DEBUG, __VA_ARGS__); } while (0)
#define log_trace(...) do { if (log_enabled(LOG_LVL_TRACE)) log_msg(LOG_LVL_TRACE, __VA_ARGS__); } while (0)

#endif
