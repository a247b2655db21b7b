/* ev — the event loop: one per process, one thread.
 *
 * After hostap's eloop and redis' ae: file descriptors with read/write
 * callbacks and a context pointer; timers on a binary heap, cancellable by
 * id; signals turned into loop events through signalfd; deferred frees run
 * after each event batch, so a callback may schedule its own object's
 * destruction safely.  Work to be done after a batch (a flush) is a 0 ms
 * timer: timers added during a pass wait for the next one.
 *
 * Write interest is explicit: call ev_want_write(fd, 1) while output is
 * queued and ev_want_write(fd, 0) when it drains (OpenSMTPD's ioev), so the
 * loop never spins on an always-writable socket. */
#ifndef MIXPROXY_EV_H
#define MIXPROXY_EV_H

#include <stdint.h>

struct ev;
typedef void ev_fd_cb(struct ev *ev, int fd, void *ctx);
typedef void ev_timer_cb(struct ev *ev, void *ctx);
typedef void ev_signal_cb(struct ev *ev, int signo, void *ctx);
typedef void ev_free_cb(void *ptr);

struct ev *ev_new(void);
void ev_free(struct ev *ev);

/* Watch fd for readability (rd) and optionally writability (wr; may be
 * NULL).  Read interest is on from the start; write interest off.
 * 0, or -1 with errno. */
int ev_add_fd(struct ev *ev, int fd, ev_fd_cb *rd, ev_fd_cb *wr, void *ctx);
int ev_want_read(struct ev *ev, int fd, int on);
int ev_want_write(struct ev *ev, int fd, int on);
/* Whether write interest is on for fd (0 for an fd not watched): the
 * loop's flag is the only record of it, so its owners keep no copy. */
int ev_wants_write(const struct ev *ev, int fd);
/* Stop watching fd (does not close it).  Safe inside a callback: no callback
 * for fd runs after this returns, even later in the same batch. */
void ev_del_fd(struct ev *ev, int fd);

/* One-shot timer in `ms` milliseconds (0 = next iteration).  Returns a
 * non-zero id.  Timers fire in deadline order; equal deadlines in the
 * order they were added. */
uint64_t ev_timer_add(struct ev *ev, uint64_t ms, ev_timer_cb *cb, void *ctx);
/* The same with microsecond resolution (mix delays). */
uint64_t ev_timer_add_us(struct ev *ev, uint64_t us, ev_timer_cb *cb, void *ctx);
/* Cancel by id; returns 1 if it was pending.  0 and unknown ids are
 * ignored, so `t = 0` works as "no timer". */
int ev_timer_cancel(struct ev *ev, uint64_t id);
/* Number of pending timers (tests, counters). */
uint64_t ev_timer_count(const struct ev *ev);

/* Deliver signo as a loop event (blocks it for the process and reads it
 * from a signalfd).  One handler per signal. */
int ev_signal(struct ev *ev, int signo, ev_signal_cb *cb, void *ctx);

/* Free ptr with fn after the current batch of events. */
void ev_defer_free(struct ev *ev, void *ptr, ev_free_cb *fn);

/* Loop until ev_stop.  Returns 0, or -1 if epoll_wait failed. */
int ev_run(struct ev *ev);
/* Run one iteration, waiting at most timeout_ms (-1: until an event).
 * Returns the number of callbacks run, or -1. */
int ev_run_once(struct ev *ev, int timeout_ms);
void ev_stop(struct ev *ev);
/* A handler for ev_signal that logs the signal and stops the loop: the
 * daemons' SIGTERM and SIGINT. */
void ev_stop_on_signal(struct ev *ev, int signo, void *ctx);
/* Cached monotonic time of the current iteration, in microseconds. */
uint64_t ev_now_us(const struct ev *ev);

#endif
