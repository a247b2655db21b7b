/* Unit tests for buf: the ring (wrap-around, spans, edges, fd I/O) and the
 * rd/wr cursors (exact fit, overflow by one, poisoning). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"

/* Put an empty ring's head at `head`.  The API cannot do this by itself:
 * draining a ring resets its head to 0 (on purpose, for long spans), and
 * the wrap-around tests need the data to start near the end. */
static void ring_at(struct ring *r, size_t head)
{
	ck_assert_uint_eq(ring_len(r), 0);
	ck_assert_uint_lt(head, r->cap);
	r->head = head;
}

static void fill_seq(uint8_t *p, size_t n, uint8_t start)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(start + i);
}

START_TEST(ring_init_args)
{
	struct ring r;
	errno = 0;
	ck_assert_int_eq(ring_init(&r, 0), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(ring_init(&r, SIZE_MAX), -1);
	ck_assert_int_eq(errno, ENOMEM);
	ck_assert_int_eq(ring_init(&r, 1), 0);
	ck_assert_uint_eq(ring_len(&r), 0);
	ck_assert_uint_eq(ring_room(&r), 1);
	ring_free(&r);
	ck_assert_ptr_null(r.data);
	ring_free(&r);	/* freeing twice is harmless */
}
END_TEST

START_TEST(ring_empty_full_edges)
{
	struct ring r;
	uint8_t in[16], out[32];
	fill_seq(in, sizeof(in), 1);
	ck_assert_int_eq(ring_init(&r, 16), 0);
	/* Empty: reads, peeks and drops all do nothing. */
	ck_assert_uint_eq(ring_read(&r, out, sizeof(out)), 0);
	ck_assert_uint_eq(ring_peek(&r, 0, out, sizeof(out)), 0);
	ck_assert_uint_eq(ring_drop(&r, 5), 0);
	const uint8_t *rp;
	ck_assert_uint_eq(ring_rspan(&r, &rp), 0);
	/* Over-long write is clipped to the room. */
	ck_assert_uint_eq(ring_write(&r, in, 10), 10);
	ck_assert_uint_eq(ring_write(&r, in, 10), 6);
	ck_assert_uint_eq(ring_len(&r), 16);
	ck_assert_uint_eq(ring_room(&r), 0);
	/* Full: writes and spans refuse. */
	ck_assert_uint_eq(ring_write(&r, in, 1), 0);
	uint8_t *wp;
	ck_assert_uint_eq(ring_wspan(&r, &wp), 0);
	ck_assert_uint_eq(ring_read(&r, out, sizeof(out)), 16);
	ck_assert_mem_eq(out, in, 10);
	ck_assert_mem_eq(out + 10, in, 6);
	ck_assert_uint_eq(ring_len(&r), 0);
	ck_assert_uint_eq(ring_room(&r), 16);
	/* Zero-length operations are no-ops. */
	ck_assert_uint_eq(ring_write(&r, NULL, 0), 0);
	ck_assert_uint_eq(ring_read(&r, NULL, 0), 0);
	ring_free(&r);
}
END_TEST

START_TEST(ring_wrap_write_read)
{
	struct ring r;
	uint8_t in[10], out[10];
	ck_assert_int_eq(ring_init(&r, 16), 0);
	/* head at 12, keep one byte stored so the head does not reset */
	ring_at(&r, 11);
	uint8_t one = 0x55;
	ck_assert_uint_eq(ring_write(&r, &one, 1), 1);
	ck_assert_uint_eq(r.head, 11);
	fill_seq(in, sizeof(in), 100);
	/* 10 bytes from index 12: 4 at the end, 6 at the start. */
	ck_assert_uint_eq(ring_write(&r, in, 10), 10);
	ck_assert_uint_eq(ring_len(&r), 11);
	ck_assert_uint_eq(ring_read(&r, &one, 1), 1);
	ck_assert_uint_eq(one, 0x55);
	ck_assert_uint_eq(ring_read(&r, out, sizeof(out)), 10);
	ck_assert_mem_eq(out, in, 10);
	ring_free(&r);
}
END_TEST

/* Growing and shrinking keeps the bytes in order, also when they wrap;
 * a capacity below what is held is refused and changes nothing. */
START_TEST(ring_resize_keeps_contents)
{
	struct ring r;
	uint8_t in[40], out[40];
	for (unsigned i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 7 + 1);
	ck_assert_int_eq(ring_init(&r, 16), 0);
	ck_assert_uint_eq(ring_write(&r, in, 12), 12);
	ck_assert_uint_eq(ring_drop(&r, 10), 10);
	ck_assert_uint_eq(ring_write(&r, in + 12, 12), 12); /* wraps: 14 held */
	ck_assert_int_eq(ring_resize(&r, 13), -1);
	ck_assert_uint_eq(ring_len(&r), 14);
	ck_assert_int_eq(ring_resize(&r, 0), -1);
	ck_assert_int_eq(ring_resize(&r, 40), 0);
	ck_assert_uint_eq(r.cap, 40);
	ck_assert_uint_eq(ring_room(&r), 26);
	ck_assert_uint_eq(ring_write(&r, in + 24, 16), 16);
	ck_assert_uint_eq(ring_read(&r, out, sizeof(out)), 30);
	ck_assert_mem_eq(out, in + 10, 30);
	ck_assert_int_eq(ring_resize(&r, 1), 0);   /* empty: any size */
	ck_assert_uint_eq(ring_write(&r, in, 5), 1);
	ring_free(&r);
}
END_TEST

START_TEST(ring_wrap_spans)
{
	struct ring r;
	uint8_t in[12];
	fill_seq(in, sizeof(in), 0);
	ck_assert_int_eq(ring_init(&r, 16), 0);
	ring_at(&r, 10);
	ck_assert_uint_eq(ring_write(&r, in, 12), 12);	/* 10..15, 0..5 */
	const uint8_t *rp;
	uint8_t *wp;
	/* Readable: [10, 16) then [0, 6); writable: the gap [6, 10). */
	ck_assert_uint_eq(ring_rspan(&r, &rp), 6);
	ck_assert_ptr_eq(rp, r.data + 10);
	ck_assert_mem_eq(rp, in, 6);
	ck_assert_uint_eq(ring_wspan(&r, &wp), 4);
	ck_assert_ptr_eq(wp, r.data + 6);
	memset(wp, 0xaa, 3);
	ring_commit(&r, 3);
	ck_assert_uint_eq(ring_len(&r), 15);
	ck_assert_uint_eq(ring_wspan(&r, &wp), 1);
	/* Drop the first span: the rest is now contiguous from 0. */
	ck_assert_uint_eq(ring_drop(&r, 6), 6);
	ck_assert_uint_eq(r.head, 0);
	ck_assert_uint_eq(ring_rspan(&r, &rp), 9);
	ck_assert_mem_eq(rp, in + 6, 6);
	/* Not wrapped now: writable span runs from the tail to the end. */
	ck_assert_uint_eq(ring_wspan(&r, &wp), 7);
	ck_assert_ptr_eq(wp, r.data + 9);
	ring_free(&r);
}
END_TEST

START_TEST(ring_wspan_when_tail_at_end)
{
	struct ring r;
	uint8_t in[8] = { 0 };
	ck_assert_int_eq(ring_init(&r, 16), 0);
	ring_at(&r, 8);
	ck_assert_uint_eq(ring_write(&r, in, 8), 8);	/* exactly to the end */
	uint8_t *wp;
	ck_assert_uint_eq(ring_wspan(&r, &wp), 8);
	ck_assert_ptr_eq(wp, r.data);
	ring_commit(&r, 8);
	ck_assert_uint_eq(ring_room(&r), 0);
	ck_assert_uint_eq(ring_wspan(&r, &wp), 0);
	ring_free(&r);
}
END_TEST

START_TEST(ring_peek_offsets)
{
	struct ring r;
	uint8_t in[14], out[14];
	fill_seq(in, sizeof(in), 30);
	ck_assert_int_eq(ring_init(&r, 16), 0);
	ring_at(&r, 9);
	ck_assert_uint_eq(ring_write(&r, in, 14), 14);	/* 9..15, 0..6 */
	/* Every offset and length, including across and past the wrap. */
	for (size_t off = 0; off <= 15; off++) {
		for (size_t n = 0; n <= 15; n++) {
			memset(out, 0, sizeof(out));
			size_t want = off >= 14 ? 0 : (n < 14 - off ? n : 14 - off);
			ck_assert_uint_eq(ring_peek(&r, off, out, n), want);
			ck_assert_mem_eq(out, in + (off < 14 ? off : 0), want);
		}
	}
	ck_assert_uint_eq(ring_len(&r), 14);	/* peek consumed nothing */
	ck_assert_uint_eq(ring_peek(&r, SIZE_MAX, out, 1), 0);
	ring_free(&r);
}
END_TEST

START_TEST(ring_drop_wrap)
{
	struct ring r;
	uint8_t in[12], out[12];
	fill_seq(in, sizeof(in), 7);
	ck_assert_int_eq(ring_init(&r, 16), 0);
	ring_at(&r, 13);
	ck_assert_uint_eq(ring_write(&r, in, 12), 12);	/* 13..15, 0..8 */
	ck_assert_uint_eq(ring_drop(&r, 5), 5);		/* across the end */
	ck_assert_uint_eq(r.head, 2);
	ck_assert_uint_eq(ring_read(&r, out, 3), 3);
	ck_assert_mem_eq(out, in + 5, 3);
	ck_assert_uint_eq(ring_drop(&r, 100), 4);	/* clipped to len */
	ck_assert_uint_eq(ring_len(&r), 0);
	ck_assert_uint_eq(r.head, 0);
	ring_free(&r);
}
END_TEST

/* Pseudo-random pushes and pops against a model: catches any offset
 * slip over many wraps of an awkwardly sized ring. */
START_TEST(ring_model)
{
	struct ring r;
	uint8_t buf[64], out[64];
	uint8_t wseq = 0, rseq = 0;
	uint32_t x = 12345;
	ck_assert_int_eq(ring_init(&r, 37), 0);
	for (int step = 0; step < 20000; step++) {
		x = x * 1103515245u + 12345u;
		size_t n = (x >> 16) % 40;
		if ((x >> 8) & 1) {
			for (size_t i = 0; i < n; i++)
				buf[i] = (uint8_t)(wseq + i);
			size_t room = ring_room(&r);
			size_t w = ring_write(&r, buf, n);
			ck_assert_uint_eq(w, n < room ? n : room);
			wseq = (uint8_t)(wseq + w);
		} else {
			size_t len = ring_len(&r);
			size_t got = ring_read(&r, out, n);
			ck_assert_uint_eq(got, n < len ? n : len);
			for (size_t i = 0; i < got; i++)
				ck_assert_uint_eq(out[i], (uint8_t)(rseq + i));
			rseq = (uint8_t)(rseq + got);
		}
		ck_assert_uint_le(ring_len(&r), 37);
		ck_assert_uint_lt(r.head, 37);
	}
	ring_free(&r);
}
END_TEST

START_TEST(ring_commit_past_span)
{
	struct ring r;
	uint8_t *wp;
	ck_assert_int_eq(ring_init(&r, 16), 0);
	ring_at(&r, 4);
	uint8_t b[2] = { 0 };
	ring_write(&r, b, 2);		/* 4..5 stored, span is [6, 16) */
	ck_assert_uint_eq(ring_wspan(&r, &wp), 10);
	ring_commit(&r, 11);		/* more than the span: fatal */
}
END_TEST

static void nb_pipe(int fds[2])
{
	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_eq(fcntl(fds[0], F_SETFL, O_NONBLOCK), 0);
	ck_assert_int_eq(fcntl(fds[1], F_SETFL, O_NONBLOCK), 0);
}

START_TEST(ring_fd_read_eof_eagain)
{
	struct ring r;
	int fds[2];
	uint8_t in[20], out[20];
	fill_seq(in, sizeof(in), 50);
	nb_pipe(fds);
	ck_assert_int_eq(ring_init(&r, 16), 0);
	/* Nothing in the pipe yet. */
	errno = 0;
	ck_assert_int_eq(ring_read_fd(&r, fds[0]), -1);
	ck_assert_int_eq(errno, EAGAIN);
	/* Wrap: head at 10 with 2 bytes stored, so free space is [12, 16)
	 * and [0, 10); one readv must fill both. */
	ring_at(&r, 10);
	ck_assert_uint_eq(ring_write(&r, in, 2), 2);
	ck_assert_int_eq(write(fds[1], in + 2, 18), 18);
	ck_assert_int_eq(ring_read_fd(&r, fds[0]), 14);
	ck_assert_uint_eq(ring_room(&r), 0);
	/* Full ring: distinct from EOF. */
	errno = 0;
	ck_assert_int_eq(ring_read_fd(&r, fds[0]), -1);
	ck_assert_int_eq(errno, ENOBUFS);
	ck_assert_uint_eq(ring_read(&r, out, 16), 16);
	ck_assert_mem_eq(out, in, 16);
	/* The rest, then EOF once the writer is gone. */
	ck_assert_int_eq(ring_read_fd(&r, fds[0]), 4);
	close(fds[1]);
	ck_assert_int_eq(ring_read_fd(&r, fds[0]), 0);
	ck_assert_uint_eq(ring_read(&r, out, 16), 4);
	ck_assert_mem_eq(out, in + 16, 4);
	close(fds[0]);
	ring_free(&r);
}
END_TEST

START_TEST(ring_fd_write_wrap)
{
	struct ring r;
	int fds[2];
	uint8_t in[14], out[32];
	fill_seq(in, sizeof(in), 200);
	nb_pipe(fds);
	ck_assert_int_eq(ring_init(&r, 16), 0);
	/* Nothing queued: nothing to do. */
	ck_assert_int_eq(ring_write_fd(&r, fds[1]), 0);
	ring_at(&r, 7);
	ck_assert_uint_eq(ring_write(&r, in, 14), 14);	/* 7..15, 0..4 */
	ck_assert_int_eq(ring_write_fd(&r, fds[1]), 14);	/* one writev */
	ck_assert_uint_eq(ring_len(&r), 0);
	ck_assert_int_eq(read(fds[0], out, sizeof(out)), 14);
	ck_assert_mem_eq(out, in, 14);
	close(fds[0]);
	close(fds[1]);
	ring_free(&r);
}
END_TEST

START_TEST(ring_fd_write_peer_gone)
{
	struct ring r;
	int fds[2];
	/* A socket whose peer has gone: an error, not a SIGPIPE (which, left
	 * at its default here, would end the test). */
	signal(SIGPIPE, SIG_DFL);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	close(fds[1]);
	ck_assert_int_eq(ring_init(&r, 16), 0);
	ck_assert_uint_eq(ring_write(&r, "gone", 4), 4);
	ck_assert_int_eq(ring_write_fd(&r, fds[0]), -1);
	ck_assert_int_eq(errno, EPIPE);
	ck_assert_uint_eq(ring_len(&r), 4);
	close(fds[0]);
	ring_free(&r);
}
END_TEST

START_TEST(ring_fd_write_eagain)
{
	struct ring r;
	int fds[2];
	const size_t cap = 1 << 20;	/* more than any default pipe buffer */
	nb_pipe(fds);
	ck_assert_int_eq(ring_init(&r, cap), 0);
	uint8_t *chunk = malloc(4096);
	ck_assert_ptr_nonnull(chunk);
	uint32_t seq = 0;
	while (ring_room(&r)) {
		for (size_t i = 0; i < 4096; i++)
			chunk[i] = (uint8_t)(seq++ * 31u);
		ring_write(&r, chunk, 4096);
	}
	ssize_t n;
	size_t sent = 0;
	while ((n = ring_write_fd(&r, fds[1])) > 0)
		sent += (size_t)n;
	ck_assert_int_eq(n, -1);
	ck_assert(errno == EAGAIN || errno == EWOULDBLOCK);
	ck_assert_uint_gt(sent, 0);
	ck_assert_uint_eq(ring_len(&r), cap - sent);
	/* Drain the pipe and check the bytes came out in order; then
	 * the ring can send more. */
	uint32_t rseq = 0;
	size_t got = 0;
	while ((n = read(fds[0], chunk, 4096)) > 0) {
		for (ssize_t i = 0; i < n; i++)
			ck_assert_uint_eq(chunk[i], (uint8_t)(rseq++ * 31u));
		got += (size_t)n;
	}
	ck_assert_uint_eq(got, sent);
	ck_assert_int_gt(ring_write_fd(&r, fds[1]), 0);
	free(chunk);
	close(fds[0]);
	close(fds[1]);
	ring_free(&r);
}
END_TEST

START_TEST(rd_exact_fit)
{
	const uint8_t in[] = {
		0x01,
		0x02, 0x03,
		0x04, 0x05, 0x06, 0x07,
		0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
		0xa0, 0xa1, 0xa2,
		0xb0, 0xb1,
		0xc0, 0xc1,
	};
	struct rd r;
	uint8_t v8, b[3];
	uint16_t v16;
	uint32_t v32;
	uint64_t v64;
	const uint8_t *p;
	rd_init(&r, in, sizeof(in));
	ck_assert_uint_eq(rd_left(&r), sizeof(in));
	ck_assert_int_eq(rd_u8(&r, &v8), 0);
	ck_assert_uint_eq(v8, 0x01);
	ck_assert_int_eq(rd_u16(&r, &v16), 0);
	ck_assert_uint_eq(v16, 0x0203);
	ck_assert_int_eq(rd_u32(&r, &v32), 0);
	ck_assert_uint_eq(v32, 0x04050607);
	ck_assert_int_eq(rd_u64(&r, &v64), 0);
	ck_assert_uint_eq(v64, 0x08090a0b0c0d0e0fULL);
	ck_assert_int_eq(rd_bytes(&r, b, 3), 0);
	ck_assert_mem_eq(b, in + 15, 3);
	ck_assert_int_eq(rd_ptr(&r, &p, 2), 0);
	ck_assert_ptr_eq(p, in + 18);
	ck_assert_int_eq(rd_skip(&r, 2), 0);
	ck_assert_uint_eq(rd_left(&r), 0);
	ck_assert_int_eq(rd_skip(&r, 0), 0);	/* zero at the end is fine */
	ck_assert_int_eq(r.ok, 1);
}
END_TEST

START_TEST(rd_high_bits)
{
	const uint8_t in[] = { 0xff, 0xfe, 0x80, 0, 0, 1, 0xff, 0xff, 0xff, 0xff,
			       0xff, 0xff, 0xff, 0xfe };
	struct rd r;
	uint16_t v16;
	uint32_t v32;
	uint64_t v64;
	rd_init(&r, in, sizeof(in));
	ck_assert_int_eq(rd_u16(&r, &v16), 0);
	ck_assert_uint_eq(v16, 0xfffe);
	ck_assert_int_eq(rd_u32(&r, &v32), 0);
	ck_assert_uint_eq(v32, 0x80000001u);
	ck_assert_int_eq(rd_u64(&r, &v64), 0);
	ck_assert_uint_eq(v64, 0xfffffffffffffffeULL);
}
END_TEST

/* Each getter fails when one byte short, and poisons the cursor. */
START_TEST(rd_overflow_by_one)
{
	const uint8_t in[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	static const size_t need[] = { 1, 2, 4, 8, 3, 3, 3 };
	size_t k = (size_t)_i;
	struct rd r;
	uint8_t v8 = 9, b[8];
	uint16_t v16 = 9;
	uint32_t v32 = 9;
	uint64_t v64 = 9;
	const uint8_t *p = in;
	int rc = 0;
	rd_init(&r, in, need[k] - 1);
	switch (k) {
	case 0: rc = rd_u8(&r, &v8); ck_assert_uint_eq(v8, 0); break;
	case 1: rc = rd_u16(&r, &v16); ck_assert_uint_eq(v16, 0); break;
	case 2: rc = rd_u32(&r, &v32); ck_assert_uint_eq(v32, 0); break;
	case 3: rc = rd_u64(&r, &v64); ck_assert_uint_eq(v64, 0); break;
	case 4: rc = rd_bytes(&r, b, 3); break;
	case 5: rc = rd_ptr(&r, &p, 3); ck_assert_ptr_null(p); break;
	case 6: rc = rd_skip(&r, 3); break;
	}
	ck_assert_int_eq(rc, -1);
	ck_assert_int_eq(r.ok, 0);
	ck_assert_uint_eq(r.off, 0);	/* nothing consumed */
	ck_assert_uint_eq(rd_left(&r), 0);
	/* Poisoned: even what would fit now fails. */
	ck_assert_int_eq(rd_u8(&r, &v8), -1);
	ck_assert_int_eq(rd_skip(&r, 0), -1);
	ck_assert_int_eq(rd_bytes(&r, b, 0), -1);
}
END_TEST

START_TEST(rd_poison_sticks)
{
	const uint8_t in[4] = { 0xde, 0xad, 0xbe, 0xef };
	struct rd r;
	uint16_t v16;
	uint32_t v32;
	rd_init(&r, in, sizeof(in));
	ck_assert_int_eq(rd_u16(&r, &v16), 0);
	ck_assert_int_eq(rd_u32(&r, &v32), -1);	/* 2 left, wants 4 */
	ck_assert_int_eq(rd_u16(&r, &v16), -1);	/* would fit: still fails */
	ck_assert_uint_eq(v16, 0);
	ck_assert_int_eq(r.ok, 0);
	/* A huge length from the wire cannot wrap the bounds check. */
	rd_init(&r, in, sizeof(in));
	ck_assert_int_eq(rd_u8(&r, &(uint8_t){ 0 }), 0);
	ck_assert_int_eq(rd_skip(&r, SIZE_MAX), -1);
	ck_assert_int_eq(r.ok, 0);
}
END_TEST

START_TEST(rd_empty)
{
	struct rd r;
	const uint8_t *p;
	uint8_t v;
	rd_init(&r, NULL, 0);
	ck_assert_uint_eq(rd_left(&r), 0);
	ck_assert_int_eq(rd_ptr(&r, &p, 0), 0);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(rd_bytes(&r, NULL, 0), 0);
	ck_assert_int_eq(rd_u8(&r, &v), -1);
	ck_assert_int_eq(r.ok, 0);
}
END_TEST

START_TEST(wr_exact_fit)
{
	uint8_t out[24];
	const uint8_t want[24] = {
		0x01,
		0x02, 0x03,
		0x04, 0x05, 0x06, 0x07,
		0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
		0xa0, 0xa1, 0xa2,
		0, 0, 0, 0, 0, 0,
	};
	struct wr w;
	memset(out, 0xcc, sizeof(out));
	wr_init(&w, out, sizeof(out));
	ck_assert_uint_eq(wr_left(&w), 24);
	ck_assert_int_eq(wr_u8(&w, 0x01), 0);
	ck_assert_int_eq(wr_u16(&w, 0x0203), 0);
	ck_assert_int_eq(wr_u32(&w, 0x04050607), 0);
	ck_assert_int_eq(wr_u64(&w, 0x08090a0b0c0d0e0fULL), 0);
	ck_assert_int_eq(wr_bytes(&w, want + 15, 3), 0);
	ck_assert_int_eq(wr_zero(&w, 6), 0);
	ck_assert_uint_eq(wr_left(&w), 0);
	ck_assert_uint_eq(w.off, 24);
	ck_assert_int_eq(w.ok, 1);
	ck_assert_mem_eq(out, want, 24);
	ck_assert_int_eq(wr_bytes(&w, NULL, 0), 0);
}
END_TEST

START_TEST(wr_overflow_by_one)
{
	static const size_t need[] = { 1, 2, 4, 8, 3, 3 };
	size_t k = (size_t)_i;
	uint8_t out[9];
	const uint8_t src[3] = { 7, 7, 7 };
	struct wr w;
	int rc = 0;
	memset(out, 0xcc, sizeof(out));
	wr_init(&w, out, need[k] - 1);
	switch (k) {
	case 0: rc = wr_u8(&w, 0x11); break;
	case 1: rc = wr_u16(&w, 0x1111); break;
	case 2: rc = wr_u32(&w, 0x11111111); break;
	case 3: rc = wr_u64(&w, 0x1111111111111111ULL); break;
	case 4: rc = wr_bytes(&w, src, 3); break;
	case 5: rc = wr_zero(&w, 3); break;
	}
	ck_assert_int_eq(rc, -1);
	ck_assert_int_eq(w.ok, 0);
	ck_assert_uint_eq(w.off, 0);
	ck_assert_uint_eq(wr_left(&w), 0);
	/* Nothing written, not even the part that would have fitted. */
	for (size_t i = 0; i < sizeof(out); i++)
		ck_assert_uint_eq(out[i], 0xcc);
	ck_assert_int_eq(wr_u8(&w, 1), -1);
	ck_assert_int_eq(wr_zero(&w, 0), -1);
}
END_TEST

START_TEST(wr_poison_sticks)
{
	uint8_t out[4];
	struct wr w;
	wr_init(&w, out, sizeof(out));
	ck_assert_int_eq(wr_u16(&w, 0xabcd), 0);
	ck_assert_int_eq(wr_u32(&w, 1), -1);
	ck_assert_int_eq(wr_u16(&w, 1), -1);	/* would fit: still fails */
	ck_assert_uint_eq(w.off, 2);
	ck_assert_uint_eq(be16_get(out), 0xabcd);
	wr_init(&w, out, sizeof(out));
	ck_assert_int_eq(wr_zero(&w, SIZE_MAX), -1);
	ck_assert_int_eq(w.ok, 0);
}
END_TEST

START_TEST(be_helpers)
{
	uint8_t b[4];
	be16_put(b, 0xbeef);
	ck_assert_uint_eq(b[0], 0xbe);
	ck_assert_uint_eq(b[1], 0xef);
	ck_assert_uint_eq(be16_get(b), 0xbeef);
	be32_put(b, 0xfedcba98u);
	ck_assert_uint_eq(b[0], 0xfe);
	ck_assert_uint_eq(b[3], 0x98);
	ck_assert_uint_eq(be32_get(b), 0xfedcba98u);
}
END_TEST

/* Declared for -Wmissing-prototypes; the Makefile collects the definition. */
Suite *suite_buf(void);

Suite *suite_buf(void)
{
	Suite *s = suite_create("buf");
	TCase *tc = tcase_create("ring");
	tcase_add_test(tc, ring_init_args);
	tcase_add_test(tc, ring_empty_full_edges);
	tcase_add_test(tc, ring_wrap_write_read);
	tcase_add_test(tc, ring_wrap_spans);
	tcase_add_test(tc, ring_resize_keeps_contents);
	tcase_add_test(tc, ring_wspan_when_tail_at_end);
	tcase_add_test(tc, ring_peek_offsets);
	tcase_add_test(tc, ring_drop_wrap);
	tcase_add_test(tc, ring_model);
	/* A fatal exit can only be observed from a forked child; without
	 * fork (CK_FORK=no, e.g. under valgrind) it would end the run. */
	const char *fork_env = getenv("CK_FORK");
	if (!fork_env || strcmp(fork_env, "no") != 0)
		tcase_add_exit_test(tc, ring_commit_past_span, 70);
	suite_add_tcase(s, tc);

	tc = tcase_create("ring_fd");
	tcase_add_test(tc, ring_fd_read_eof_eagain);
	tcase_add_test(tc, ring_fd_write_wrap);
	tcase_add_test(tc, ring_fd_write_eagain);
	tcase_add_test(tc, ring_fd_write_peer_gone);
	suite_add_tcase(s, tc);

	tc = tcase_create("cursor");
	tcase_add_test(tc, rd_exact_fit);
	tcase_add_test(tc, rd_high_bits);
	tcase_add_loop_test(tc, rd_overflow_by_one, 0, 7);
	tcase_add_test(tc, rd_poison_sticks);
	tcase_add_test(tc, rd_empty);
	tcase_add_test(tc, wr_exact_fit);
	tcase_add_loop_test(tc, wr_overflow_by_one, 0, 6);
	tcase_add_test(tc, wr_poison_sticks);
	tcase_add_test(tc, be_helpers);
	suite_add_tcase(s, tc);
	return s;
}
