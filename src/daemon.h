/* daemon — the steps `mixproxy node`, `client` and `server` take around
 * their own: read and check the options, open the listening socket,
 * leave the terminal, and let SIGTERM and SIGINT end the loop.  Each
 * command is parse, open, run, close; these are the parts of parse and
 * open that do not depend on what the command is.
 *
 * Messages go to stderr, prefixed "mixproxy CMD: ", before the log is
 * set up: until daemon_detach() the user is at the terminal. */
#ifndef MIXPROXY_DAEMON_H
#define MIXPROXY_DAEMON_H

#include <stddef.h>
#include <sys/socket.h>

#include "conf.h"
#include "ev.h"

/* Read argv into opts, then the config file *config names, if it names
 * one (it is itself an option, so known only after argv).  -h prints
 * the usage.  Returns DAEMON_GO_ON to go on; otherwise the exit status:
 * 0 after -h, EXIT_USAGE for a bad argument, EXIT_CONFIG for a bad
 * file. */
#define DAEMON_GO_ON (-1)
int daemon_options(const char *cmd, struct opt *opts, size_t nopts, int argc, char **argv,
                   const char *usage, char *const *config);

/* --check-config passed: say so (on stdout, what a script reads) and
 * return the exit status, 0. */
int daemon_checked(const char *cmd, const char *config);

/* A listening TCP socket on ss (text names it in the message):
 * non-blocking, close-on-exec, SO_REUSEADDR.  The fd, or -1 with the
 * reason in err. */
int daemon_listen(const struct sockaddr_storage *ss, socklen_t sl, int backlog,
                  const char *text, char *err, size_t errsz);

/* Leave the terminal unless foreground; a failure is fatal. */
void daemon_detach(int foreground);

/* SIGTERM and SIGINT stop ev's loop; SIGPIPE is ignored (a peer that
 * closes first is an EPIPE on that socket, not the end of us). */
void daemon_signals(struct ev *ev);

#endif
