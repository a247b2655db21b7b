/* mprelay — a recording TCP relay, and the check of what it recorded, for
 * the test of what an observer of a link sees (tests/integration/
 * linkwire.sh).
 *
 *   mprelay relay LISTEN TARGET DIR NAME
 *       Accept on LISTEN (HOST:PORT; prints "listening addr=H:P"), relay each connection to TARGET, and record its bytes
 *       as DIR/NAME.N.up (toward TARGET) and DIR/NAME.N.down, N counting
 *       from 1.
 *       Runs until killed; each connection is a child process, which dies
 *       with the parent.
 *
 *   mprelay scan DIR KEY...
 *       Read every recording in DIR (each X.up with its X.down) and fail (exit 1, a line saying what)
 *       when one of them holds a KEY (Base58) raw or as text, when two
 *       connections' first 100 bytes up or 48 down (their handshakes)
 *       share any 4 bytes at one offset, or when any 8 bytes in a row
 *       occur twice anywhere in all recordings: constants, or repeated
 *       data, would show there.  Random bytes collide by chance with a
 *       probability below 10^-6 for the sizes a test records.  On
 *       success: "ok connections=N bytes=B".
 *
 * Test tool: it writes with blocking calls, one child per connection. */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "keys.h"
#include "util.h"

#define HEAD_UP 100
#define HEAD_DOWN 48
#define MAX_CONNS 4096

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "mprelay: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* One connection: copy both ways until either side ends, recording. */
static void relay_one(int a, const struct sockaddr *to, socklen_t tolen, const char *dir,
                      const char *name, unsigned n)
{
	char path[4096];
	FILE *rec[2];
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	int b = socket(to->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (b < 0 || connect(b, to, tolen) < 0)
		_exit(1);
	for (int k = 0; k < 2; k++) {
		snprintf(path, sizeof(path), "%s/%s.%u.%s", dir, name, n, k ? "down" : "up");
		rec[k] = fopen(path, "w");
		if (!rec[k])
			_exit(1);
	}
	struct pollfd pf[2] = { { .fd = a, .events = POLLIN }, { .fd = b, .events = POLLIN } };
	uint8_t buf[65536];
	for (;;) {
		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int k = 0; k < 2; k++) {
			if (!(pf[k].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t r = read(pf[k].fd, buf, sizeof(buf));
			if (r <= 0)
				goto done;
			fwrite(buf, 1, (size_t)r, rec[k]);
			fflush(rec[k]);
			if (write_all(pf[!k].fd, buf, (size_t)r))
				goto done;
		}
	}
done:
	fclose(rec[0]);
	fclose(rec[1]);
	_exit(0);
}

static int cmd_relay(int argc, char **argv)
{
	struct sockaddr_storage ls, ts;
	socklen_t llen, tlen;
	const char *why;
	if (argc != 6)
		return 64;
	if (parse_hostport(argv[2], &ls, &llen, &why))
		die("bad LISTEN: %s", why);
	if (parse_hostport(argv[3], &ts, &tlen, &why))
		die("bad TARGET: %s", why);
	signal(SIGCHLD, SIG_IGN); /* children reap themselves */
	int l = socket(ls.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (l < 0 || bind(l, (struct sockaddr *)&ls, llen) < 0 || listen(l, 128) < 0)
		die("cannot listen on %s", argv[2]);
	llen = sizeof(ls);
	getsockname(l, (struct sockaddr *)&ls, &llen);
	char text[64];
	printf("listening addr=%s\n", sockaddr_str((struct sockaddr *)&ls, text, sizeof(text)));
	fflush(stdout);
	for (unsigned n = 1;; n++) {
		int a = accept4(l, NULL, NULL, SOCK_CLOEXEC);
		if (a < 0) {
			if (errno == EINTR || errno == ECONNABORTED) {
				n--;
				continue;
			}
			die("accept: %s", strerror(errno));
		}
		pid_t p = fork();
		if (p == 0) {
			close(l);
			relay_one(a, (struct sockaddr *)&ts, tlen, argv[4], argv[5], n);
		}
		close(a);
	}
}

struct rec {
	uint8_t *p;
	size_t n;
	char name[256]; /* of the .up file */
};

static int read_file(const char *path, struct rec *r)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t cap = 65536;
	r->p = xmalloc(cap);
	r->n = 0;
	size_t got;
	while ((got = fread(r->p + r->n, 1, cap - r->n, f)) > 0) {
		r->n += got;
		if (r->n == cap)
			r->p = xrealloc(r->p, cap *= 2);
	}
	fclose(f);
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int cmd_scan(int argc, char **argv)
{
	static struct rec up[MAX_CONNS], down[MAX_CONNS];
	char path[4096];
	unsigned conns = 0;
	size_t total = 0;
	if (argc < 3)
		return 64;
	DIR *dh = opendir(argv[2]);
	struct dirent *de;
	if (!dh)
		die("cannot read %s", argv[2]);
	while ((de = readdir(dh))) {
		size_t len = strlen(de->d_name);
		if (len < 4 || strcmp(de->d_name + len - 3, ".up"))
			continue;
		if (conns == MAX_CONNS)
			die("more than %d connections", MAX_CONNS);
		snprintf(path, sizeof(path), "%s/%s", argv[2], de->d_name);
		if (read_file(path, &up[conns]))
			die("cannot read %s", path);
		snprintf(up[conns].name, sizeof(up[conns].name), "%s", de->d_name);
		snprintf(path, sizeof(path), "%s/%.*sdown", argv[2], (int)(len - 2), de->d_name);
		if (read_file(path, &down[conns]))
			die("%s is missing", path);
		total += up[conns].n + down[conns].n;
		conns++;
	}
	closedir(dh);
	if (conns < 2)
		die("fewer than two connections recorded in %s", argv[2]);

	/* The keys, raw and as text. */
	for (int k = 3; k < argc; k++) {
		uint8_t key[32];
		if (key_from_str(argv[k], key))
			die("bad key %s", argv[k]);
		for (unsigned c = 0; c < conns; c++)
			for (int d = 0; d < 2; d++) {
				const struct rec *r = d ? &down[c] : &up[c];
				if (memmem(r->p, r->n, key, 32) || memmem(r->p, r->n, argv[k], strlen(argv[k]))) {
					printf("key %s found in %s%s\n", argv[k], up[c].name,
					       d ? " (its down)" : "");
					return 1;
				}
			}
	}

	/* The handshakes: 4 bytes at one offset in two connections. */
	for (unsigned c = 0; c < conns; c++)
		for (unsigned e = c + 1; e < conns; e++)
			for (int d = 0; d < 2; d++) {
				const struct rec *x = d ? &down[c] : &up[c], *y = d ? &down[e] : &up[e];
				size_t head = d ? HEAD_DOWN : HEAD_UP;
				for (size_t o = 0; o + 4 <= head && o + 4 <= x->n && o + 4 <= y->n; o++)
					if (!memcmp(x->p + o, y->p + o, 4)) {
						printf("%s and %s share bytes %zu..%zu%s\n", up[c].name,
						       up[e].name, o, o + 3, d ? " down" : "");
						return 1;
					}
			}

	/* Any 8 bytes in a row, twice anywhere. */
	uint64_t *w = xmalloc((total + 1) * sizeof(*w));
	size_t nw = 0;
	for (unsigned c = 0; c < conns; c++)
		for (int d = 0; d < 2; d++) {
			const struct rec *r = d ? &down[c] : &up[c];
			for (size_t o = 0; o + 8 <= r->n; o++)
				memcpy(&w[nw++], r->p + o, 8);
		}
	qsort(w, nw, sizeof(*w), cmp_u64);
	for (size_t k = 1; k < nw; k++)
		if (w[k] == w[k - 1]) {
			printf("8 bytes %016llx occur twice in the recordings\n",
			       (unsigned long long)w[k]);
			return 1;
		}
	free(w);
	for (unsigned c = 0; c < conns; c++) {
		free(up[c].p);
		free(down[c].p);
	}
	printf("ok connections=%u bytes=%zu\n", conns, total);
	return 0;
}

int main(int argc, char **argv)
{
	int rc = 64;
	if (argc >= 2 && !strcmp(argv[1], "relay"))
		rc = cmd_relay(argc, argv);
	else if (argc >= 2 && !strcmp(argv[1], "scan"))
		rc = cmd_scan(argc, argv);
	if (rc == 64)
		fprintf(stderr, "usage: mprelay relay LISTEN TARGET DIR NAME\n"
		                "       mprelay scan DIR KEY...\n");
	return rc;
}
