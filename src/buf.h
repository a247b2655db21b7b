/* buf — fixed-capacity byte storage with bounds-checked access.
 *
 * struct ring: a ring buffer whose capacity is fixed at creation; writers
 * are told how much room there is and never grow it (back-pressure is the
 * caller's job: stop reading a socket while the ring is full).
 *
 * struct rd / struct wr: cursors over a flat byte array for parsers and
 * encoders.  Every get/put checks the remaining length; after the first
 * failure the cursor is poisoned (ok = 0) and every later call fails too,
 * so a parser may check once at the end. */
#ifndef MIXPROXY_BUF_H
#define MIXPROXY_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct ring {
	uint8_t *data;
	size_t cap;   /* bytes */
	size_t head;  /* index of first readable byte */
	size_t len;   /* readable bytes */
};

int ring_init(struct ring *r, size_t cap);     /* 0 or -1 (EINVAL if cap 0, ENOMEM) */
void ring_free(struct ring *r);                /* wipes the contents */
/* Change the capacity, keeping the contents (newcap >= len, > 0): for
 * queues that start small and grow up to their bound on demand.  0 or -1. */
int ring_resize(struct ring *r, size_t newcap);
size_t ring_len(const struct ring *r);
size_t ring_room(const struct ring *r);
/* Copy in at most n bytes; returns bytes copied (min(n, room)). */
size_t ring_write(struct ring *r, const void *p, size_t n);
/* Copy out and consume at most n bytes; returns bytes copied. */
size_t ring_read(struct ring *r, void *p, size_t n);
/* Copy out at most n bytes starting at offset off without consuming. */
size_t ring_peek(const struct ring *r, size_t off, void *p, size_t n);
/* Consume n bytes (n <= len, else consumes len); returns bytes consumed. */
size_t ring_drop(struct ring *r, size_t n);
/* Largest contiguous readable / writable span (for read(2)/write(2)
 * without a copy).  *p set to the span start; returns its length. */
size_t ring_rspan(const struct ring *r, const uint8_t **p);
size_t ring_wspan(struct ring *r, uint8_t **p);
/* Account for n bytes written into the span from ring_wspan (n <= span;
 * more is a program bug and fatal). */
void ring_commit(struct ring *r, size_t n);
/* read(2) from fd into free space / write(2) from data to fd.
 * Return bytes moved, 0 on EOF (read) / nothing to do (write), -1 with
 * errno (EAGAIN included; ENOBUFS from ring_read_fd on a full ring, so
 * that it cannot be mistaken for EOF). */
ssize_t ring_read_fd(struct ring *r, int fd);
ssize_t ring_write_fd(struct ring *r, int fd);

struct rd {
	const uint8_t *p;
	size_t len;
	size_t off;
	int ok;
};

struct wr {
	uint8_t *p;
	size_t cap;
	size_t off;
	int ok;
};

void rd_init(struct rd *r, const void *p, size_t len);
size_t rd_left(const struct rd *r);
int rd_u8(struct rd *r, uint8_t *v);
int rd_u16(struct rd *r, uint16_t *v);   /* big-endian */
int rd_u32(struct rd *r, uint32_t *v);
int rd_u64(struct rd *r, uint64_t *v);
int rd_bytes(struct rd *r, void *out, size_t n);
/* Point *out at the next n bytes without copying. */
int rd_ptr(struct rd *r, const uint8_t **out, size_t n);
int rd_skip(struct rd *r, size_t n);

void wr_init(struct wr *w, void *p, size_t cap);
size_t wr_left(const struct wr *w);
int wr_u8(struct wr *w, uint8_t v);
int wr_u16(struct wr *w, uint16_t v);
int wr_u32(struct wr *w, uint32_t v);
int wr_u64(struct wr *w, uint64_t v);
int wr_bytes(struct wr *w, const void *p, size_t n);
int wr_zero(struct wr *w, size_t n);

/* Plain big-endian helpers on raw pointers (caller guarantees room). */
static inline void be16_put(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void be32_put(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v; }
static inline uint16_t be16_get(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline uint32_t be32_get(const uint8_t *p) { return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3]; }

#endif
