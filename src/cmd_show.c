/* cmd_show — `mixproxy show [NAME|SOCKET]`: ask a running daemon what
 * it is doing, through its control socket (ctl.h), as `wg show` asks the
 * kernel.  A short-lived command: it may block, within a time bound. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "cmd.h"
#include "conf.h"
#include "ctl.h"
#include "util.h"

#define SHOW_TIMEOUT_S 10

/* The exit status for a failed connect or read (mixproxy(8), EXIT STATUS). */
static int status_of(int e)
{
	switch (e) {
	case ENOENT:
	case ENOTDIR:
		return EXIT_NOINPUT;
	case EACCES:
	case EPERM:
		return EXIT_NOPERM;
	case ECONNREFUSED:
	case EAGAIN:
	case ETIMEDOUT:
	case ECONNRESET:
	case ENOTSOCK:
		return EXIT_UNAVAILABLE;
	default:
		return EXIT_IOERR;
	}
}

static const char *reason_of(int e)
{
	switch (e) {
	case ENOENT:
		return "no such socket (is the daemon running, with this --control?)";
	case ECONNREFUSED:
		return "no daemon answers (a socket left by one that stopped?)";
	case EAGAIN:
	case ETIMEDOUT:
		return "no answer in time";
	default:
		return strerror(e);
	}
}

/* Send req, read the whole answer into *ans (the caller frees it).
 * 0, or an exit status after a line on stderr. */
static int ask(const char *path, const char *req, char **ans, size_t *alen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = SHOW_TIMEOUT_S };
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "mixproxy show: %s: path longer than %zu bytes\n", path,
		        sizeof(sa.sun_path) - 1);
		return EXIT_USAGE;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "mixproxy show: socket: %s\n", strerror(errno));
		return EXIT_OSERR;
	}
	/* Bounds for a daemon that is stuck: its loop answers within
	 * milliseconds when it runs at all. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	size_t cap = CTL_ANSWER_MAX + 256, len = 0;
	char *buf = NULL;
	int e = 0;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req)) {
		e = errno;
		goto fail;
	}
	buf = xmalloc(cap + 1);
	for (;;) {
		ssize_t r = read(fd, buf + len, cap - len);
		if (r > 0) {
			len += (size_t)r;
			if (len == cap) {
				fprintf(stderr, "mixproxy show: %s: answer longer than %zu bytes\n",
				        path, cap);
				free(buf);
				close(fd);
				return EXIT_IOERR;
			}
			continue;
		}
		if (r == 0)
			break;
		if (errno == EINTR)
			continue;
		e = errno;
		goto fail;
	}
	close(fd);
	buf[len] = 0;
	*ans = buf;
	*alen = len;
	return 0;
fail:
	free(buf);
	close(fd);
	fprintf(stderr, "mixproxy show: %s: %s\n", path, reason_of(e));
	return status_of(e);
}

int cmd_show(int argc, char **argv)
{
	int metrics = 0, npos = 0, rc;
	char *pos[1], err[CONF_ERR_MAX + 256], path[4096];
	struct opt opts[] = {
		{ "metrics", 'm', OPT_FLAG, NULL, "the counters in the Prometheus text format", &metrics, 0, 0, 0 },
	};
	switch (conf_parse_argv(opts, ARRAY_LEN(opts), argc, argv, pos, 1, &npos, err, sizeof(err))) {
	case 1:
		conf_usage(opts, ARRAY_LEN(opts), "mixproxy show [--metrics] [NAME | SOCKET]");
		return 0;
	case -1:
		fprintf(stderr, "mixproxy show: %s\n", err);
		return EXIT_USAGE;
	}
	if (ctl_find(CTL_DIR, npos ? pos[0] : NULL, path, sizeof(path), err, sizeof(err))) {
		/* A directory we may not read is the daemon's user's: say so
		 * as a refused connect would. */
		int e = errno;
		fprintf(stderr, "mixproxy show: %s\n", err);
		return e == EACCES ? EXIT_NOPERM : EXIT_USAGE;
	}
	char *ans;
	size_t len;
	rc = ask(path, metrics ? "metrics\n" : "show\n", &ans, &len);
	if (rc)
		return rc;
	/* A daemon that refuses says so in one line: it goes to stderr, as
	 * our own errors do. */
	if (!strncmp(ans, "error: ", 7)) {
		fprintf(stderr, "mixproxy show: %s: %.*s\n", path, (int)strcspn(ans + 7, "\n"), ans + 7);
		free(ans);
		return EXIT_UNAVAILABLE;
	}
	if (len == 0) {
		fprintf(stderr, "mixproxy show: %s: empty answer\n", path);
		free(ans);
		return EXIT_UNAVAILABLE;
	}
	rc = fwrite(ans, 1, len, stdout) == len && fflush(stdout) == 0 ? 0 : EXIT_IOERR;
	if (rc)
		fprintf(stderr, "mixproxy show: standard output: %s\n", strerror(errno));
	free(ans);
	return rc;
}
