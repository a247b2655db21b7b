/* replay — see replay.h. */
#include "replay.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "util.h"

#define HASHES 10 /* ~3.5e-4 false positives at 0.07 items per bit */

/* The file: this header in its first page, then the generations' bits.
 * Native byte order (`order` tells): the file is this machine's. */
#define MAGIC "mixproxy-replay"
#define VERSION 1
#define ORDER 0x01020304u
#define HDR_BYTES 4096
enum { STATE_OPEN = 1, STATE_CLOSED = 2 };

struct hdr {
	char magic[16];
	uint32_t version, order, log2_bits, ngens, gen_minutes, state;
	uint64_t seed;
	uint8_t key_pk[32];
	uint8_t boot_id[16];  /* the boot that last opened it */
	uint32_t unknown_until, pad;
	struct {
		uint64_t id;      /* generation number + 1; 0 = empty slot */
		uint64_t count;   /* insertions */
	} gen[REPLAY_GENS_MAX];
};
_Static_assert(sizeof(struct hdr) <= HDR_BYTES, "replay header outgrew its page");

struct replay {
	unsigned log2_bits, ngens, gen_minutes;
	uint64_t design_load; /* insertions per generation at ~1e-3 FP */
	size_t gen_bytes;
	uint8_t *mem;         /* header page, then ngens x gen_bytes */
	size_t mem_bytes;
	struct hdr *h;
	int fd;               /* the file, or -1: memory only */
	struct replay_stats st;
};

static int params_ok(unsigned log2_bits, unsigned gens, unsigned gen_minutes)
{
	return log2_bits >= 10 && log2_bits <= 32 && gens >= 3 && gens <= REPLAY_GENS_MAX &&
	       gen_minutes >= 1 && gen_minutes <= 1440;
}

static struct replay *alloc_replay(unsigned log2_bits, unsigned gens, unsigned gen_minutes)
{
	struct replay *r = xcalloc(1, sizeof(*r));
	r->log2_bits = log2_bits;
	r->ngens = gens;
	r->gen_minutes = gen_minutes;
	/* k = 10 hashes: FP ~ 1e-3 at m/n ~ 14.4 bits per item. */
	r->design_load = ((uint64_t)1 << log2_bits) / 14;
	r->gen_bytes = ((size_t)1 << log2_bits) / 8;
	r->mem_bytes = HDR_BYTES + (size_t)gens * r->gen_bytes;
	r->fd = -1;
	return r;
}

/* A new, empty memory in r->mem, whose bits the caller has zeroed
 * without touching them (calloc, a new or truncated file): a page of
 * the filter is only paid for once a tag lands in it. */
static void init_mem(struct replay *r, const uint8_t key_pk[32])
{
	memset(r->mem, 0, HDR_BYTES);
	struct hdr *h = r->h = (struct hdr *)r->mem;
	memcpy(h->magic, MAGIC, sizeof(MAGIC));
	h->version = VERSION;
	h->order = ORDER;
	h->log2_bits = r->log2_bits;
	h->ngens = r->ngens;
	h->gen_minutes = r->gen_minutes;
	h->state = STATE_OPEN;
	randombytes_buf(&h->seed, sizeof(h->seed));
	if (key_pk)
		memcpy(h->key_pk, key_pk, 32);
}

static uint64_t *gen_bits(const struct replay *r, unsigned i)
{
	return (uint64_t *)(r->mem + HDR_BYTES + (size_t)i * r->gen_bytes);
}

struct replay *replay_new(unsigned log2_bits, unsigned gens, unsigned gen_minutes)
{
	if (!params_ok(log2_bits, gens, gen_minutes))
		return NULL;
	struct replay *r = alloc_replay(log2_bits, gens, gen_minutes);
	r->mem = xcalloc(1, r->mem_bytes);
	init_mem(r, NULL);
	return r;
}

void replay_free(struct replay *r)
{
	if (!r)
		return;
	if (r->fd >= 0) {
		/* Left open, as a crash leaves it: what is mapped stays in the
		 * page cache, and the file says it was not closed. */
		munmap(r->mem, r->mem_bytes);
		close(r->fd);
	} else {
		free(r->mem);
	}
	free(r);
}

const char *replay_found_str(enum replay_found f)
{
	switch (f) {
	case REPLAY_FOUND_NEW: return "new";
	case REPLAY_FOUND_CLOSED: return "closed cleanly";
	case REPLAY_FOUND_KILLED: return "not closed, this boot: all of it kept";
	case REPLAY_FOUND_LOST: return "not closed, an earlier boot: what the crash lost is unknown";
	case REPLAY_FOUND_RESIZED: return "other sizes, unreadable, or of a clock ahead of this one: unknown";
	case REPLAY_FOUND_OTHER_KEY: return "made for another key: started anew";
	}
	return "?";
}

int replay_boot_id(uint8_t id[16])
{
	char text[64];
	int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	text[n] = '\0';
	/* 8-4-4-4-12 hex digits: the dashes are skipped. */
	size_t got = 0;
	for (const char *p = text; *p && *p != '\n' && got < 32; p++) {
		int v;
		if (*p == '-')
			continue;
		if (*p >= '0' && *p <= '9')
			v = *p - '0';
		else if (*p >= 'a' && *p <= 'f')
			v = *p - 'a' + 10;
		else
			return -1;
		if (got % 2 == 0)
			id[got / 2] = (uint8_t)(v << 4);
		else
			id[got / 2] |= (uint8_t)v;
		got++;
	}
	return got == 32 ? 0 : -1;
}

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* A new file at path, made whole under a temporary name first: a crash
 * while it is made leaves no file that looks like a memory. */
static int create_file(const char *path, size_t bytes, char *err, size_t errlen)
{
	char tmp[4096];
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.new", path) >= sizeof(tmp)) {
		seterr(err, errlen, "replay file %s: path too long", path);
		return -1;
	}
	unlink(tmp);
	int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		seterr(err, errlen, "replay file %s: %s", tmp, strerror(errno));
		return -1;
	}
	/* The header says OPEN and is written by the caller before any tag
	 * is taken; until then an all-zero file is not a valid memory. */
	if (ftruncate(fd, (off_t)bytes) || fsync(fd) || rename(tmp, path)) {
		seterr(err, errlen, "replay file %s: %s", path, strerror(errno));
		close(fd);
		unlink(tmp);
		return -1;
	}
	return fd;
}

/* A slot of a generation still to come (a clock set back since, or a
 * corrupt file) would refuse every packet of its own generation as
 * expired, with no word of why: such a file is not read as a memory,
 * and the packets it may have taken are refused until the clock has
 * passed them (unknown_bound), with a warning that says until when. */
static int gens_plausible(const struct hdr *h, uint32_t now_min)
{
	uint64_t now_g = now_min / h->gen_minutes;
	for (unsigned i = 0; i < h->ngens; i++)
		if (h->gen[i].id > now_g + 2)
			return 0;
	return 1;
}

/* The last minute whose packets an unknown memory may have taken: a
 * packet was made at most REPLAY_AHEAD_MIN ahead of a clock that has not
 * passed now, or (a clock set back since) of the latest generation the
 * old file names, if its header can be read at all. */
static uint32_t unknown_bound(const struct hdr *old, uint32_t now_min)
{
	uint64_t last = now_min;
	if (!memcmp(old->magic, MAGIC, sizeof(MAGIC)) && old->version == VERSION &&
	    old->order == ORDER && old->ngens <= REPLAY_GENS_MAX && old->gen_minutes) {
		/* Only generations after the current one say more than now. */
		uint64_t now_g = now_min / old->gen_minutes;
		for (unsigned i = 0; i < old->ngens; i++)
			if (old->gen[i].id > now_g + 1 &&
			    old->gen[i].id * old->gen_minutes - 1 > last)
				last = old->gen[i].id * old->gen_minutes - 1;
	}
	last += REPLAY_AHEAD_MIN;
	return last > UINT32_MAX ? UINT32_MAX : (uint32_t)last;
}

struct replay *replay_open(const char *path, const uint8_t key_pk[32],
                           unsigned log2_bits, unsigned gens, unsigned gen_minutes,
                           uint32_t now_min, const uint8_t *boot_id,
                           enum replay_found *found, char *err, size_t errlen)
{
	if (!params_ok(log2_bits, gens, gen_minutes)) {
		seterr(err, errlen, "replay file %s: bad sizes", path);
		return NULL;
	}
	struct replay *r = alloc_replay(log2_bits, gens, gen_minutes);
	*found = REPLAY_FOUND_NEW;
	r->fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (r->fd < 0 && errno == ENOENT)
		r->fd = create_file(path, r->mem_bytes, err, errlen);
	else if (r->fd < 0)
		seterr(err, errlen, "replay file %s: %s", path, strerror(errno));
	else
		*found = REPLAY_FOUND_CLOSED; /* refined below */
	if (r->fd < 0)
		goto fail_nofd;
	if (flock(r->fd, LOCK_EX | LOCK_NB)) {
		seterr(err, errlen, "replay file %s: %s", path,
		       errno == EWOULDBLOCK ? "in use by another process" : strerror(errno));
		goto fail;
	}
	struct stat st;
	if (fstat(r->fd, &st) || !S_ISREG(st.st_mode)) {
		seterr(err, errlen, "replay file %s: not a regular file", path);
		goto fail;
	}
	/* What was there, read before it is mapped at the new size. */
	struct hdr old;
	memset(&old, 0, sizeof(old));
	if (*found != REPLAY_FOUND_NEW) {
		if (pread(r->fd, &old, sizeof(old), 0) != (ssize_t)sizeof(old) ||
		    memcmp(old.magic, MAGIC, sizeof(MAGIC)) || old.version != VERSION ||
		    old.order != ORDER || old.log2_bits != log2_bits || old.ngens != gens ||
		    old.gen_minutes != gen_minutes || (size_t)st.st_size != r->mem_bytes)
			*found = REPLAY_FOUND_RESIZED;
		else if (!gens_plausible(&old, now_min))
			*found = REPLAY_FOUND_RESIZED;
		else if (memcmp(old.key_pk, key_pk, 32))
			*found = REPLAY_FOUND_OTHER_KEY;
		else if (old.state == STATE_CLOSED)
			*found = REPLAY_FOUND_CLOSED;
		else if (old.state == STATE_OPEN && boot_id && !memcmp(old.boot_id, boot_id, 16))
			*found = REPLAY_FOUND_KILLED;
		else
			*found = REPLAY_FOUND_LOST;
		/* A memory that is not kept starts from zeros: cut to nothing,
		 * then grown back as a hole. */
		int anew = *found == REPLAY_FOUND_RESIZED || *found == REPLAY_FOUND_OTHER_KEY;
		if ((anew && ftruncate(r->fd, 0)) ||
		    ((anew || (size_t)st.st_size != r->mem_bytes) &&
		     ftruncate(r->fd, (off_t)r->mem_bytes))) {
			seterr(err, errlen, "replay file %s: %s", path, strerror(errno));
			goto fail;
		}
	}
	r->mem = mmap(NULL, r->mem_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
	if (r->mem == MAP_FAILED) {
		r->mem = NULL;
		seterr(err, errlen, "replay file %s: mmap: %s", path, strerror(errno));
		goto fail;
	}
	r->h = (struct hdr *)r->mem;
	switch (*found) {
	case REPLAY_FOUND_NEW:
	case REPLAY_FOUND_OTHER_KEY:
		init_mem(r, key_pk);
		break;
	case REPLAY_FOUND_RESIZED:
		/* The old memory cannot be read at these sizes: whatever it
		 * took is unknown, as after a crash. */
		init_mem(r, key_pk);
		r->h->unknown_until = unknown_bound(&old, now_min);
		break;
	case REPLAY_FOUND_LOST: {
		uint32_t until = unknown_bound(&old, now_min);
		if (r->h->unknown_until < until)
			r->h->unknown_until = until;
		break;
	}
	case REPLAY_FOUND_CLOSED:
	case REPLAY_FOUND_KILLED:
		break;
	}
	/* OPEN, and this boot, on the disk before any tag is taken: a crash
	 * of the machine from now on is seen at the next start. */
	r->h->state = STATE_OPEN;
	if (boot_id)
		memcpy(r->h->boot_id, boot_id, 16);
	else
		memset(r->h->boot_id, 0, 16);
	if (msync(r->mem, HDR_BYTES, MS_SYNC)) {
		seterr(err, errlen, "replay file %s: msync: %s", path, strerror(errno));
		goto fail;
	}
	return r;
fail:
	if (r->mem)
		munmap(r->mem, r->mem_bytes);
	close(r->fd);
fail_nofd:
	free(r);
	return NULL;
}

int replay_close(struct replay *r, char *err, size_t errlen)
{
	int rc = 0;
	if (r->fd < 0) {
		replay_free(r);
		return 0;
	}
	/* Every tag on the disk first, then the mark that says so. */
	if (msync(r->mem, r->mem_bytes, MS_SYNC)) {
		seterr(err, errlen, "replay file: msync: %s", strerror(errno));
		rc = -1;
	} else {
		r->h->state = STATE_CLOSED;
		if (msync(r->mem, HDR_BYTES, MS_SYNC)) {
			seterr(err, errlen, "replay file: msync: %s", strerror(errno));
			rc = -1;
		}
	}
	replay_free(r);
	return rc;
}

uint32_t replay_unknown_until(const struct replay *r)
{
	return r->h->unknown_until;
}

enum replay_verdict replay_check(struct replay *r, const uint8_t tag[REPLAY_TAG_BYTES],
                                 uint32_t ts_min, uint32_t now_min)
{
	uint64_t g = ts_min / r->gen_minutes;
	uint64_t now_g = now_min / r->gen_minutes;
	if (g + r->ngens < now_g + 2 || g > now_g + 1 ||
	    (uint64_t)ts_min > (uint64_t)now_min + REPLAY_AHEAD_MIN) {
		r->st.expired++;
		return REPLAY_EXPIRED;
	}
	if (r->h->unknown_until && ts_min <= r->h->unknown_until) {
		r->st.unknown++;
		return REPLAY_UNKNOWN;
	}
	unsigned slot = (unsigned)(g % r->ngens);
	uint64_t *bits = gen_bits(r, slot);
	if (r->h->gen[slot].id != g + 1) {
		if (r->h->gen[slot].id > g + 1) {
			/* The slot already moved on to a newer generation. */
			r->st.expired++;
			return REPLAY_EXPIRED;
		}
		/* Only a generation outside the window can share this slot. */
		memset(bits, 0, r->gen_bytes);
		r->h->gen[slot].id = g + 1;
		r->h->gen[slot].count = 0;
	}
	XXH128_hash_t h = XXH3_128bits_withSeed(tag, REPLAY_TAG_BYTES, r->h->seed);
	uint64_t mask = ((uint64_t)1 << r->log2_bits) - 1;
	uint64_t pos[HASHES];
	int all_set = 1;
	for (int i = 0; i < HASHES; i++) {
		pos[i] = (h.low64 + (uint64_t)i * (h.high64 | 1)) & mask;
		if (!(bits[pos[i] >> 6] & ((uint64_t)1 << (pos[i] & 63))))
			all_set = 0;
	}
	if (all_set) {
		r->st.seen++;
		return REPLAY_SEEN;
	}
	for (int i = 0; i < HASHES; i++)
		bits[pos[i] >> 6] |= (uint64_t)1 << (pos[i] & 63);
	if (++r->h->gen[slot].count > r->design_load)
		r->st.overloaded++;
	r->st.fresh++;
	return REPLAY_FRESH;
}

uint32_t replay_max_age_min(const struct replay *r)
{
	return (r->ngens - 2) * r->gen_minutes;
}

void replay_get_stats(const struct replay *r, struct replay_stats *st)
{
	*st = r->st;
}

size_t replay_memory_bytes(const struct replay *r)
{
	return (size_t)r->ngens * r->gen_bytes;
}
