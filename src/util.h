/* util — small helpers shared by every module: allocation that cannot
 * return NULL, monotonic time, strict number parsing, host:port parsing. */
#ifndef MIXPROXY_UTIL_H
#define MIXPROXY_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Exit statuses, as sysexits(3). */
#define EXIT_USAGE    64
#define EXIT_DATAERR  65
#define EXIT_NOINPUT  66
#define EXIT_UNAVAILABLE 69
#define EXIT_SOFTWARE 70
#define EXIT_OSERR    71
#define EXIT_CANTCREAT 73
#define EXIT_IOERR    74
#define EXIT_NOPERM   77
#define EXIT_CONFIG   78

/* Allocation failure is not a condition this program can serve through:
 * these abort with a log line instead of returning NULL. */
void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

/* Monotonic clock. */
uint64_t now_us(void);
uint64_t now_ms(void);
/* Wall clock, seconds since the epoch (packet timestamps). */
uint64_t wall_s(void);

/* Strict parsing: the whole string must be a number within [min, max].
 * Return 0 on success, -1 otherwise (nothing written). */
int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
int parse_double(const char *s, double min, double max, double *out);

/* "host:port", "[v6]:port" or "v6addr" with a separate port is not accepted:
 * the port is mandatory.  Numeric hosts only (no DNS in the loop): IPv4,
 * or IPv6 in brackets.  Returns 0, or -1 with a reason in *why. */
int parse_hostport(const char *s, struct sockaddr_storage *ss, socklen_t *len,
                   const char **why);
/* Format an address as "host:port" / "[v6]:port" into buf (>= 64 bytes). */
const char *sockaddr_str(const struct sockaddr *sa, char *buf, size_t n);

/* Put a file descriptor in non-blocking, close-on-exec mode. */
int fd_nonblock(int fd);

/* The outcome of a non-blocking connect(2) on fd, once it is writable:
 * 0, or the errno it failed with. */
int sock_connect_error(int fd);

#endif
