/* listener — the accept loop of a listening socket, shared by the node,
 * the proxy client and the control socket.
 *
 * A process out of descriptors (EMFILE, ENFILE) or memory cannot take the
 * pending connection, which stays pending: the listener stays readable,
 * and a level-triggered loop that kept watching it would spin, logging
 * each time.  On such an error the listener stops watching its socket for
 * LISTENER_REST_MS, logs one line a second at most, and counts the rest.
 * Each readable event takes at most LISTENER_BURST connections, so one
 * busy listener cannot starve the rest of the loop.
 *
 * The listener does not own the socket: the caller closes it after
 * listener_free(). */
#ifndef MIXPROXY_LISTENER_H
#define MIXPROXY_LISTENER_H

#include <stdint.h>
#include <sys/socket.h>

#include "ev.h"

#define LISTENER_REST_MS 1000
#define LISTENER_BURST 64

struct listener;

/* One accepted connection: non-blocking, close-on-exec; the callee owns
 * fd from here (closes it or keeps it). */
typedef void listener_cb(int fd, const struct sockaddr *sa, socklen_t salen, void *ctx);

/* Watch fd (listening, non-blocking) on ev; `what` names it in the log
 * ("client listener").  NULL if ev refused the fd. */
struct listener *listener_new(struct ev *ev, int fd, const char *what,
                              listener_cb *cb, void *ctx);
void listener_free(struct listener *l); /* stops watching; NULL is fine */

/* How long a rest lasts (tests: short). */
void listener_set_rest(struct listener *l, unsigned ms);

/* Rests taken for want of descriptors or memory, and whether it rests now. */
uint64_t listener_rests(const struct listener *l);
int listener_resting(const struct listener *l);

/* The soft limit on open files raised to the hard one; what it is now
 * (0 if unknown). */
uint64_t nofile_raise(void);

/* How many of `want` things taking `each` descriptors fit under the
 * open-file limit (raised first) beside `reserve` others: want if all do,
 * else what does, 1 at least.  *nofile gets the limit (0: unknown, and
 * then want is kept). */
uint64_t nofile_fit(uint64_t want, unsigned each, uint64_t reserve, uint64_t *nofile);

#endif
