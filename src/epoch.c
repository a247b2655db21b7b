/* epoch — see epoch.h. */
#include "epoch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

int epoch_sched_init(struct epoch_sched *s, uint32_t len_s, uint32_t grace_s)
{
	if (len_s < 2 || len_s > 604800 || grace_s < 1 || grace_s > len_s)
		return -1;
	s->len_s = len_s;
	s->grace_s = grace_s;
	return 0;
}

uint32_t epoch_at(const struct epoch_sched *s, uint64_t t)
{
	return (uint32_t)(t / s->len_s);
}

uint64_t epoch_start(const struct epoch_sched *s, uint32_t e)
{
	return (uint64_t)e * s->len_s;
}

void epoch_held(const struct epoch_sched *s, uint64_t t, uint32_t *first, uint32_t *last)
{
	uint32_t cur = epoch_at(s, t);
	/* grace <= len: the epoch grace seconds ago is this one or the last. */
	*first = t >= s->grace_s ? epoch_at(s, t - s->grace_s) : cur;
	*last = cur + 1;
}

struct epoch_ring {
	char *dir, *prefix;
	struct keypair node;
	struct epoch_sched sched;
	struct epoch_key keys[EPOCH_HELD_MAX]; /* oldest first */
	size_t n;
};

static void key_path(const struct epoch_ring *r, uint32_t e, const char *suffix, char *out,
                     size_t outlen)
{
	snprintf(out, outlen, "%s/%s.epoch-%" PRIu32 ".key%s", r->dir, r->prefix, e, suffix);
}

/* Wipe keys[i] and delete its file. */
static void retire(struct epoch_ring *r, size_t i)
{
	char path[4096];
	key_path(r, r->keys[i].epoch, "", path, sizeof(path));
	unlink(path);
	sodium_memzero(&r->keys[i], sizeof(r->keys[i]));
	memmove(&r->keys[i], &r->keys[i + 1], (r->n - i - 1) * sizeof(r->keys[0]));
	r->n--;
	sodium_memzero(&r->keys[r->n], sizeof(r->keys[0]));
}

/* Keep k (its ann made here) in order. */
static int insert(struct epoch_ring *r, uint32_t e, const struct keypair *kp)
{
	size_t i = 0;
	if (r->n == EPOCH_HELD_MAX)
		return -1;
	while (i < r->n && r->keys[i].epoch < e)
		i++;
	memmove(&r->keys[i + 1], &r->keys[i], (r->n - i) * sizeof(r->keys[0]));
	struct epoch_key *k = &r->keys[i];
	k->epoch = e;
	k->kp = *kp;
	r->n++;
	if (ann_make(&k->ann, e, kp->pk, r->node.pk, r->node.sk)) {
		retire(r, i);
		return -1;
	}
	return 0;
}

/* A new key for e, on the disk before anyone hears of it. */
static int make_key(struct epoch_ring *r, uint32_t e, char *err, size_t errlen)
{
	char tmp[4096], path[4096];
	struct keypair kp;
	key_path(r, e, ".new", tmp, sizeof(tmp));
	key_path(r, e, "", path, sizeof(path));
	unlink(tmp);
	keypair_generate(&kp);
	int rc = keyfile_write(tmp, &kp, err, errlen);
	if (rc == 0 && rename(tmp, path)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		unlink(tmp);
		rc = -1;
	}
	if (rc == 0) {
		int dfd = open(r->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
		rc = insert(r, e, &kp);
		if (rc)
			snprintf(err, errlen, "cannot sign the key of epoch %" PRIu32, e);
	}
	keypair_wipe(&kp);
	return rc;
}

int epoch_ring_tick(struct epoch_ring *r, uint64_t now, char *err, size_t errlen)
{
	uint32_t first, last, cur = epoch_at(&r->sched, now);
	int made = 0, failed = 0;
	epoch_held(&r->sched, now, &first, &last);
	for (size_t i = r->n; i-- > 0;)
		if (r->keys[i].epoch < first || r->keys[i].epoch > last)
			retire(r, i);
	/* Past epochs with no key were never announced: none is made. */
	for (uint32_t e = cur; e <= last; e++) {
		if (epoch_ring_get(r, e))
			continue;
		if (make_key(r, e, err, errlen))
			failed = 1;
		else
			made++;
	}
	return failed ? -1 : made;
}

struct epoch_ring *epoch_ring_open(const char *dir, const char *prefix,
                                   const struct keypair *node, const struct epoch_sched *s,
                                   uint64_t now, char *err, size_t errlen)
{
	struct epoch_ring *r = xcalloc(1, sizeof(*r));
	r->dir = xstrdup(dir);
	r->prefix = xstrdup(prefix);
	r->node = *node;
	r->sched = *s;
	DIR *d = opendir(dir);
	if (!d) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		epoch_ring_free(r);
		return NULL;
	}
	uint32_t first, last;
	epoch_held(s, now, &first, &last);
	size_t plen = strlen(prefix);
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		const char *name = de->d_name;
		char path[4096], tail[16], kerr[256];
		unsigned long e;
		int used = 0;
		if (strncmp(name, prefix, plen) || strncmp(name + plen, ".epoch-", 7))
			continue;
		/* PREFIX.epoch-E.key, or a .key.new a crash left. */
		if (sscanf(name + plen + 7, "%lu%n", &e, &used) != 1 || e > UINT32_MAX)
			continue;
		snprintf(tail, sizeof(tail), "%s", name + plen + 7 + used);
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		if (strcmp(tail, ".key")) {
			if (!strcmp(tail, ".key.new"))
				unlink(path);
			continue;
		}
		struct keypair kp;
		if (e < first || e > last || epoch_ring_get(r, (uint32_t)e) ||
		    keyfile_read(path, &kp, kerr, sizeof(kerr)) || insert(r, (uint32_t)e, &kp))
			unlink(path);
		keypair_wipe(&kp);
	}
	closedir(d);
	if (epoch_ring_tick(r, now, err, errlen) < 0) {
		epoch_ring_free(r);
		return NULL;
	}
	return r;
}

const struct epoch_key *epoch_ring_get(const struct epoch_ring *r, uint32_t epoch)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->keys[i].epoch == epoch)
			return &r->keys[i];
	return NULL;
}

const struct epoch_key *epoch_ring_keys(const struct epoch_ring *r, size_t *n)
{
	*n = r->n;
	return r->keys;
}

void epoch_ring_free(struct epoch_ring *r)
{
	if (!r)
		return;
	sodium_memzero(r->keys, sizeof(r->keys));
	keypair_wipe(&r->node);
	free(r->dir);
	free(r->prefix);
	free(r);
}
