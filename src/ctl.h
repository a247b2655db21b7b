/* ctl — a daemon's control socket, and the text it answers with
 * (`mixproxy show`).
 *
 * Every daemon (node, client, server) listens on a UNIX stream socket,
 * by default CTL_DIR/NAME.sock (ctl_open), made with mode 0600 so that
 * only the daemon's user and root may connect; nothing of it is on the
 * network.  The protocol, as mixproxy(8) documents it:
 *
 *   -> one request line: "show" or "metrics" and a newline, at most
 *      CTL_REQ_MAX bytes with it; spaces, tabs and carriage returns
 *      around the word are ignored; bytes after the newline are not read
 *   <- the answer, then the daemon closes the connection; a bad request
 *      gets one line "error: REASON" instead
 *
 * What callers may rely on:
 *
 *   - The request parser is a push API without I/O: feed it bytes in any
 *     pieces and it says "more", a request, or an error with a reason;
 *     the same bytes give the same outcome however they are cut.  The
 *     unit tests and tests/fuzz/fuzz_ctl.c drive it unchanged.
 *   - A control connection never blocks the loop, and what it may hold
 *     is bounded: reads and writes are non-blocking; the request must
 *     come within CTL_REQUEST_MS and the answer be taken within
 *     CTL_ANSWER_MS, else the connection is closed; at most CTL_MAX_CONNS
 *     are open at once (one more is told "error: busy" and closed at
 *     once); an answer is cut at CTL_ANSWER_MAX bytes, with a last line
 *     saying so.  When accept(2) runs out of descriptors the listener
 *     rests CTL_PAUSE_MS instead of spinning on it.
 *   - The answer callback runs in the loop, once per good request, and
 *     writes the whole answer into a struct ctl_buf; it must not block.
 *   - ctl_free closes every connection and removes the socket file if it
 *     is still the one this process made.
 *
 * The counters a daemon logs on SIGUSR1 are described once, as a table of
 * struct ctl_stat, and written from it as that log line, as lines of
 * `show` and as Prometheus metrics (text exposition format 0.0.4), so
 * that the three always agree. */
#ifndef MIXPROXY_CTL_H
#define MIXPROXY_CTL_H

#include <stddef.h>
#include <stdint.h>

#define CTL_DIR "/run/mixproxy"
#define CTL_REQ_MAX 64             /* a request line, its newline included */
#define CTL_MAX_CONNS 16
#define CTL_REQUEST_MS 2000
#define CTL_ANSWER_MS 5000
#define CTL_PAUSE_MS 1000
#define CTL_ANSWER_MAX (128 * 1024)
#define CTL_LABELS_MAX 384
#define CTL_LIST_MAX 100           /* lines of one list in an answer (mixes, links) */

/* ---- the request parser ---- */

enum ctl_req {
	CTL_REQ_MORE = 0,  /* no whole line yet */
	CTL_REQ_SHOW,
	CTL_REQ_METRICS,
	CTL_REQ_BAD,       /* why says why */
};

struct ctl_parser {
	char line[CTL_REQ_MAX];
	size_t len;
	enum ctl_req req;
	char why[CTL_REQ_MAX + 64];  /* printable ASCII, NUL-terminated */
};

void ctl_parser_init(struct ctl_parser *p);
/* Feed n bytes.  Once the outcome is not CTL_REQ_MORE it is final: later
 * bytes are not looked at and the same outcome is returned. */
enum ctl_req ctl_parser_feed(struct ctl_parser *p, const void *buf, size_t n);
/* The peer sent no more: a last line without its newline counts as one
 * (`printf show | socat`); nothing at all is an error. */
enum ctl_req ctl_parser_end(struct ctl_parser *p);

/* ---- answers ---- */

/* Text that grows on demand up to max bytes.  A piece that does not fit
 * is left out, and so is everything after it (cut is set): an answer
 * never has a hole in its middle. */
struct ctl_buf {
	char *p;           /* NUL-terminated; NULL until the first piece */
	size_t len, cap, max;
	int cut;
};
void ctl_buf_init(struct ctl_buf *b, size_t max);
void ctl_buf_free(struct ctl_buf *b);
void ctl_printf(struct ctl_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "45 s", "12 min 3 s", "5 h 2 min", "3 d 4 h". */
const char *ctl_duration(uint64_t secs, char *buf, size_t n);

enum ctl_type { CTL_COUNTER, CTL_GAUGE };

/* One figure of a daemon.  Members of a metric family (the same metric,
 * told apart by label) should stand together in a table; the metrics
 * writer groups them anyway. */
struct ctl_stat {
	const char *group;   /* NULL, or the log line's group: group{name=V ...} */
	const char *name;    /* its name in the log line and in `show` */
	const char *metric;  /* Prometheus: mixproxy_METRIC; a counter's ends in _total */
	const char *label;   /* NULL, or `key="value"` telling a family's members apart */
	enum ctl_type type;
	int prec;            /* decimals written */
	const char *help;    /* the family's # HELP (its first member's counts) */
};

/* "a=1 b=2 drop{mac=0 replay=1}": the SIGUSR1 log line's body (after
 * what b holds already, with a space: tables may follow each other). */
void ctl_stats_log(struct ctl_buf *b, const struct ctl_stat *s, const double *v, size_t n);
/* `show`: "  a: 1" a line, and "  drop: mac 0, replay 1" a group. */
void ctl_stats_show(struct ctl_buf *b, const struct ctl_stat *s, const double *v, size_t n);
/* Prometheus text format: # HELP and # TYPE once a family, then a sample
 * a line: mixproxy_METRIC{LABELS,label} VALUE.  labels as ctl_labels
 * makes them (may be ""). */
void ctl_stats_metrics(struct ctl_buf *b, const char *labels, const struct ctl_stat *s,
                       const double *v, size_t n);
/* A family written by hand (one sample per mix, say): its head once,
 * then its samples; extra is NULL or more labels (`mix="mix1a"`). */
void ctl_metric_head(struct ctl_buf *b, const char *metric, enum ctl_type t, const char *help);
void ctl_metric(struct ctl_buf *b, const char *metric, const char *labels, const char *extra,
                double v, int prec);
/* mixproxy_info{LABELS,version=..[,profile=..]} 1 and
 * mixproxy_uptime_seconds: what every daemon's metrics begin with.
 * profile may be NULL (a node has none of its own). */
void ctl_metrics_common(struct ctl_buf *b, const char *labels, uint64_t uptime_s,
                        const char *profile);
/* `role="ROLE",id="ID"` into out (CTL_LABELS_MAX bytes is room enough),
 * each value escaped as the format wants (\\, \" and \n); a label that
 * does not fit is left out. */
void ctl_labels(char *out, size_t n, const char *role, const char *id);
/* One label `key="value"`, escaped, into out (truncated to fit, never
 * inside an escape).  Returns out. */
const char *ctl_label(char *out, size_t n, const char *key, const char *value);

/* ---- the daemon's side ---- */

struct ctl;
struct ev;
/* Write the answer to req (CTL_REQ_SHOW or CTL_REQ_METRICS) into out. */
typedef void ctl_answer_cb(enum ctl_req req, struct ctl_buf *out, void *ctx);

/* The instance name of a daemon: the basename of its config file without
 * ".conf" (systemd instances read /etc/mixproxy/NAME.conf), else
 * fallback (the node's id, client-PORT, server-PORT). */
void ctl_name(const char *config, const char *fallback, char *out, size_t n);
/* Listen as --control says: opt NULL is the default, CTL_DIR/NAME.sock
 * (CTL_DIR made 0700 if missing); "none" is no socket; anything else a
 * path.  A socket file that nothing answers on is taken over; one that
 * answers, or a file that is no socket, is left alone.  Returns the ctl,
 * or NULL with *rc = 0 (no socket: "none", or the default could not be
 * made, which is logged as a warning), or NULL with *rc an exit status
 * after "mixproxy CMD: control socket PATH: REASON" on stderr (an
 * explicit path that cannot be made).  Call it before daemon(3): the
 * error reaches the terminal, a relative path is made absolute. */
struct ctl *ctl_open(const char *cmd, const char *opt, const char *name, int *rc);
/* The lower half, for tests: listen on path (absolute).  NULL with a
 * reason in err. */
struct ctl *ctl_listen(const char *path, char *err, size_t errsz);
/* Start answering in the loop (the socket is listening already: early
 * connections wait in its backlog). */
void ctl_serve(struct ctl *c, struct ev *ev, ctl_answer_cb *cb, void *ctx);
/* For tests: other bounds than CTL_REQUEST_MS, CTL_ANSWER_MS and
 * CTL_PAUSE_MS. */
void ctl_set_timeouts(struct ctl *c, unsigned request_ms, unsigned answer_ms, unsigned pause_ms);
const char *ctl_path(const struct ctl *c);
unsigned ctl_conns(const struct ctl *c);
/* NULL is fine.  Not from inside a control connection's callback. */
void ctl_free(struct ctl *c);

/* ---- `mixproxy show`'s side ---- */

/* The socket `mixproxy show ARG` means: ARG with a '/' is a path, any
 * other ARG is dir/ARG.sock; no ARG (NULL) is the only *.sock in dir.
 * 0 with the path in out; -1 with a reason in err (for no ARG: none, or
 * several, which err lists; errno says why dir could not be read, else
 * it is 0). */
int ctl_find(const char *dir, const char *arg, char *out, size_t n, char *err, size_t errsz);

#endif
