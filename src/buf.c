/* buf — see buf.h.
 *
 * Ring invariants: data holds cap bytes; head < cap; len <= cap; the
 * readable bytes are data[head .. head+len) taken modulo cap.  cap is
 * capped at SIZE_MAX / 2 so head + len never overflows. */
#include "buf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <sodium.h>

#include "log.h"
#include "util.h"

/* i < 2 * cap always holds here, so one subtraction is a modulo. */
static size_t wrap(const struct ring *r, size_t i)
{
	return i >= r->cap ? i - r->cap : i;
}

static size_t min_sz(size_t a, size_t b)
{
	return a < b ? a : b;
}

int ring_init(struct ring *r, size_t cap)
{
	memset(r, 0, sizeof(*r));
	if (cap == 0) {
		errno = EINVAL;
		return -1;
	}
	if (cap > SIZE_MAX / 2) {
		errno = ENOMEM;
		return -1;
	}
	r->data = xmalloc(cap);
	r->cap = cap;
	return 0;
}

int ring_resize(struct ring *r, size_t newcap)
{
	if (newcap == 0 || newcap < r->len) {
		errno = EINVAL;
		return -1;
	}
	uint8_t *d = xmalloc(newcap);
	size_t n = ring_peek(r, 0, d, r->len);
	if (r->data) {
		sodium_memzero(r->data, r->cap);
		free(r->data);
	}
	r->data = d;
	r->cap = newcap;
	r->head = 0;
	r->len = n;
	return 0;
}

void ring_free(struct ring *r)
{
	/* Rings carry session plaintext: wipe before the memory goes back
	 * to the allocator, where it would outlive the session. */
	if (r->data) {
		sodium_memzero(r->data, r->cap);
		free(r->data);
	}
	memset(r, 0, sizeof(*r));
}

size_t ring_len(const struct ring *r)
{
	return r->len;
}

size_t ring_room(const struct ring *r)
{
	return r->cap - r->len;
}

size_t ring_write(struct ring *r, const void *p, size_t n)
{
	n = min_sz(n, ring_room(r));
	if (n == 0)
		return 0;
	size_t tail = wrap(r, r->head + r->len);
	size_t first = min_sz(n, r->cap - tail);
	memcpy(r->data + tail, p, first);
	if (n > first)
		memcpy(r->data, (const uint8_t *)p + first, n - first);
	r->len += n;
	return n;
}

size_t ring_peek(const struct ring *r, size_t off, void *p, size_t n)
{
	if (off >= r->len)
		return 0;
	n = min_sz(n, r->len - off);
	if (n == 0)
		return 0;
	size_t start = wrap(r, r->head + off);
	size_t first = min_sz(n, r->cap - start);
	memcpy(p, r->data + start, first);
	if (n > first)
		memcpy((uint8_t *)p + first, r->data, n - first);
	return n;
}

size_t ring_drop(struct ring *r, size_t n)
{
	n = min_sz(n, r->len);
	r->len -= n;
	/* An empty ring restarts at 0 so the next read(2) gets one
	 * contiguous span of the whole capacity. */
	r->head = r->len ? wrap(r, r->head + n) : 0;
	return n;
}

size_t ring_read(struct ring *r, void *p, size_t n)
{
	n = ring_peek(r, 0, p, n);
	return ring_drop(r, n);
}

size_t ring_rspan(const struct ring *r, const uint8_t **p)
{
	if (!r->data) {
		/* Freed or never initialised: nothing to point at. */
		*p = NULL;
		return 0;
	}
	*p = r->data + r->head;
	return min_sz(r->len, r->cap - r->head);
}

size_t ring_wspan(struct ring *r, uint8_t **p)
{
	if (!r->data) {
		*p = NULL;
		return 0;
	}
	size_t t = r->head + r->len;
	if (t < r->cap) {
		/* Not wrapped: free space runs from the tail to the end
		 * (and again from 0 to head, the second span). */
		*p = r->data + t;
		return r->cap - t;
	}
	/* Wrapped (or full): free space is the gap before head. */
	t -= r->cap;
	*p = r->data + t;
	return r->head - t;
}

void ring_commit(struct ring *r, size_t n)
{
	uint8_t *p;
	/* More than the span means the caller already wrote past it:
	 * memory is corrupt and there is nothing safe left to do. */
	if (n > ring_wspan(r, &p))
		fatal(EXIT_SOFTWARE, "ring_commit: %zu bytes past a %zu-byte span",
		    n, ring_wspan(r, &p));
	r->len += n;
}

ssize_t ring_read_fd(struct ring *r, int fd)
{
	struct iovec iov[2];
	int cnt = 1;
	uint8_t *p;
	size_t n = ring_wspan(r, &p);
	if (n == 0) {
		/* Returning 0 would read as EOF: a full ring is the
		 * caller's back-pressure bug, so say so distinctly. */
		errno = ENOBUFS;
		return -1;
	}
	iov[0].iov_base = p;
	iov[0].iov_len = n;
	if (r->head + r->len < r->cap && r->head > 0) {
		iov[1].iov_base = r->data;
		iov[1].iov_len = r->head;
		cnt = 2;
	}
	ssize_t got;
	do
		got = readv(fd, iov, cnt);
	while (got < 0 && errno == EINTR);
	if (got > 0)
		r->len += (size_t)got;
	return got;
}

ssize_t ring_write_fd(struct ring *r, int fd)
{
	struct iovec iov[2];
	int cnt = 1;
	if (r->len == 0)
		return 0;
	size_t first = min_sz(r->len, r->cap - r->head);
	iov[0].iov_base = r->data + r->head;
	iov[0].iov_len = first;
	if (r->len > first) {
		iov[1].iov_base = r->data;
		iov[1].iov_len = r->len - first;
		cnt = 2;
	}
	/* MSG_NOSIGNAL: a peer gone is an error for the caller to handle,
	 * not a SIGPIPE that ends whoever embeds this (tools/mpmix died of
	 * one when its gateway was killed).  Not a socket (a pipe): writev. */
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = (size_t)cnt };
	ssize_t put;
	do
		put = sendmsg(fd, &m, MSG_NOSIGNAL);
	while (put < 0 && errno == EINTR);
	if (put < 0 && errno == ENOTSOCK) {
		do
			put = writev(fd, iov, cnt);
		while (put < 0 && errno == EINTR);
	}
	if (put > 0)
		ring_drop(r, (size_t)put);
	return put;
}

/* Cursors.  A failed call poisons the cursor so that a parser can run a
 * whole sequence of gets and check once; integer outputs are zeroed on
 * failure so nothing uninitialised is ever used by mistake. */

void rd_init(struct rd *r, const void *p, size_t len)
{
	r->p = p;
	r->len = p ? len : 0;
	r->off = 0;
	r->ok = 1;
}

size_t rd_left(const struct rd *r)
{
	return r->ok ? r->len - r->off : 0;
}

/* Reserve n bytes: returns their start, or NULL (and poisons). */
static const uint8_t *rd_take(struct rd *r, size_t n)
{
	static const uint8_t none[1];
	if (!r->ok || n > r->len - r->off) {
		r->ok = 0;
		return NULL;
	}
	if (!r->p)
		return none;	/* n == 0 on an empty cursor; NULL + 0 is UB */
	const uint8_t *q = r->p + r->off;
	r->off += n;
	return q;
}

int rd_u8(struct rd *r, uint8_t *v)
{
	const uint8_t *q = rd_take(r, 1);
	*v = q ? q[0] : 0;
	return q ? 0 : -1;
}

int rd_u16(struct rd *r, uint16_t *v)
{
	const uint8_t *q = rd_take(r, 2);
	*v = q ? be16_get(q) : 0;
	return q ? 0 : -1;
}

int rd_u32(struct rd *r, uint32_t *v)
{
	const uint8_t *q = rd_take(r, 4);
	*v = q ? be32_get(q) : 0;
	return q ? 0 : -1;
}

int rd_u64(struct rd *r, uint64_t *v)
{
	const uint8_t *q = rd_take(r, 8);
	*v = q ? (uint64_t)be32_get(q) << 32 | be32_get(q + 4) : 0;
	return q ? 0 : -1;
}

int rd_bytes(struct rd *r, void *out, size_t n)
{
	/* n may be a length from the wire: out is left alone on failure
	 * rather than zeroed, since n need not fit in it. */
	const uint8_t *q = rd_take(r, n);
	if (!q)
		return -1;
	if (n)
		memcpy(out, q, n);
	return 0;
}

int rd_ptr(struct rd *r, const uint8_t **out, size_t n)
{
	const uint8_t *q = rd_take(r, n);
	*out = q;
	return q ? 0 : -1;
}

int rd_skip(struct rd *r, size_t n)
{
	return rd_take(r, n) ? 0 : -1;
}

void wr_init(struct wr *w, void *p, size_t cap)
{
	w->p = p;
	w->cap = p ? cap : 0;
	w->off = 0;
	w->ok = 1;
}

size_t wr_left(const struct wr *w)
{
	return w->ok ? w->cap - w->off : 0;
}

static uint8_t *wr_take(struct wr *w, size_t n)
{
	static uint8_t none[1];
	if (!w->ok || n > w->cap - w->off) {
		w->ok = 0;
		return NULL;
	}
	if (!w->p)
		return none;	/* n == 0 on an empty cursor; nothing is stored */
	uint8_t *q = w->p + w->off;
	w->off += n;
	return q;
}

int wr_u8(struct wr *w, uint8_t v)
{
	uint8_t *q = wr_take(w, 1);
	if (!q)
		return -1;
	q[0] = v;
	return 0;
}

int wr_u16(struct wr *w, uint16_t v)
{
	uint8_t *q = wr_take(w, 2);
	if (!q)
		return -1;
	be16_put(q, v);
	return 0;
}

int wr_u32(struct wr *w, uint32_t v)
{
	uint8_t *q = wr_take(w, 4);
	if (!q)
		return -1;
	be32_put(q, v);
	return 0;
}

int wr_u64(struct wr *w, uint64_t v)
{
	uint8_t *q = wr_take(w, 8);
	if (!q)
		return -1;
	be32_put(q, (uint32_t)(v >> 32));
	be32_put(q + 4, (uint32_t)v);
	return 0;
}

int wr_bytes(struct wr *w, const void *p, size_t n)
{
	uint8_t *q = wr_take(w, n);
	if (!q)
		return -1;
	if (n)
		memcpy(q, p, n);
	return 0;
}

int wr_zero(struct wr *w, size_t n)
{
	uint8_t *q = wr_take(w, n);
	if (!q)
		return -1;
	if (n)
		memset(q, 0, n);
	return 0;
}
