/* daemon — see daemon.h. */
#include "daemon.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

int daemon_options(const char *cmd, struct opt *opts, size_t nopts, int argc, char **argv,
                   const char *usage, char *const *config)
{
	char err[1024];
	switch (conf_parse_argv(opts, nopts, argc, argv, NULL, 0, NULL, err, sizeof(err))) {
	case 1:
		conf_usage(opts, nopts, usage);
		return 0;
	case -1:
		fprintf(stderr, "mixproxy %s: %s\n", cmd, err);
		return EXIT_USAGE;
	}
	if (*config && conf_load_file(opts, nopts, *config, err, sizeof(err))) {
		fprintf(stderr, "mixproxy %s: %s\n", cmd, err);
		return EXIT_CONFIG;
	}
	return DAEMON_GO_ON;
}

int daemon_checked(const char *cmd, const char *config)
{
	printf("mixproxy %s: %s: ok\n", cmd, config ? config : "options");
	return 0;
}

int daemon_listen(const struct sockaddr_storage *ss, socklen_t sl, int backlog,
                  const char *text, char *err, size_t errsz)
{
	int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0) {
		snprintf(err, errsz, "socket: %s", strerror(errno));
		return -1;
	}
	/* A restart must not wait out the TIME_WAIT of the last run's
	 * connections. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)ss, sl) < 0 || listen(fd, backlog) < 0) {
		snprintf(err, errsz, "cannot listen on %s: %s", text, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

void daemon_detach(int foreground)
{
	if (!foreground && daemon(0, 0) < 0)
		fatal(EXIT_OSERR, "daemon: %s", strerror(errno));
}

void daemon_signals(struct ev *ev)
{
	ev_signal(ev, SIGTERM, ev_stop_on_signal, NULL);
	ev_signal(ev, SIGINT, ev_stop_on_signal, NULL);
	signal(SIGPIPE, SIG_IGN);
}
