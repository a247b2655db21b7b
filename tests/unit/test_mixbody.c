/* Unit tests of mixbody: what is encoded decodes to the same, at the
 * offsets the layout names; the sections go in their order and within
 * the body; a body whose counts or length name more than it holds is
 * refused, however the counts are made. */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "mixbody.h"

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

START_TEST(test_round_trip)
{
	struct mb_writer e;
	struct mb_view v;
	uint8_t tag[MB_TAG_BYTES], surb[SURB_BYTES], data[300];
	fill(tag, sizeof(tag), 1);
	fill(surb, sizeof(surb), 2);
	fill(data, sizeof(data), 3);
	mb_begin(&e, MB_DATA, 0x00abcdef01234567ull, tag);
	e.h.try = 3;
	e.h.want = 9;
	e.h.have = 7;
	e.h.floor = 42;
	e.h.epoch = 0x1122334455667788ull;
	e.h.named = 0x8877665544332211ull;
	ck_assert_int_eq(mb_add_surb(&e, surb), 0);
	ck_assert_int_eq(mb_add_surb(&e, surb), 0);
	ck_assert_int_eq(mb_add_ack(&e, 0x0500000000000011ull, 0), 0);
	ck_assert_int_eq(mb_add_ack(&e, 12, 0), 0);
	ck_assert_int_eq(mb_add_data(&e, data, sizeof(data)), 0);
	const uint8_t *b = mb_finish(&e);

	/* The offsets of the layout comment. */
	ck_assert_uint_eq(b[0], MB_DATA);
	ck_assert_uint_eq(b[1], 2);
	ck_assert_uint_eq(b[2], 2);
	ck_assert_uint_eq(b[3], 9);
	ck_assert_uint_eq(b[4] << 8 | b[5], sizeof(data));
	ck_assert_uint_eq(b[6], 7);
	ck_assert_uint_eq(b[7], 3);
	ck_assert_uint_eq(b[9], 0xab);
	ck_assert_mem_eq(b + 16, tag, MB_TAG_BYTES);
	ck_assert_uint_eq(b[39], 42);
	ck_assert_uint_eq(b[40], 0x11);
	ck_assert_uint_eq(b[48], 0x88);
	ck_assert_mem_eq(b + MB_HDR, surb, SURB_BYTES);

	ck_assert_int_eq(mb_parse(b, PKT_BODY_BYTES, &v), 0);
	ck_assert_uint_eq(v.h.kind, MB_DATA);
	ck_assert_uint_eq(v.h.try, 3);
	ck_assert_uint_eq(v.h.want, 9);
	ck_assert_uint_eq(v.h.have, 7);
	ck_assert_uint_eq(v.h.id, 0x00abcdef01234567ull);
	ck_assert_uint_eq(v.h.floor, 42);
	ck_assert_uint_eq(v.h.epoch, 0x1122334455667788ull);
	ck_assert_uint_eq(v.h.named, 0x8877665544332211ull);
	ck_assert_mem_eq(v.h.tag, tag, MB_TAG_BYTES);
	ck_assert_uint_eq(v.nsurbs, 2);
	ck_assert_mem_eq(v.surbs + SURB_BYTES, surb, SURB_BYTES);
	ck_assert_uint_eq(v.nacks, 2);
	ck_assert_uint_eq(mb_ack(&v, 0), 0x0500000000000011ull);
	ck_assert_uint_eq(mb_ack(&v, 1), 12);
	ck_assert_uint_eq(mb_ack(&v, 2), 0);
	ck_assert_uint_eq(v.len, sizeof(data));
	ck_assert_mem_eq(v.data, data, sizeof(data));
	/* What follows the sections is zero. */
	for (size_t i = (size_t)(v.data - b) + v.len; i < PKT_BODY_BYTES; i++)
		ck_assert_uint_eq(b[i], 0);
	ck_assert_int_eq(mb_kind(b, PKT_BODY_BYTES), MB_DATA);
	ck_assert_int_eq(mb_kind(b, 0), 0);
}
END_TEST

/* The top byte of the id and the floor is the try's, never the id's. */
START_TEST(test_ids_are_56_bits)
{
	struct mb_writer e;
	struct mb_view v;
	mb_begin(&e, MB_REPLY, 0xff00000000000001ull, NULL);
	e.h.floor = 0xee00000000000002ull;
	ck_assert_int_eq(mb_parse(mb_finish(&e), PKT_BODY_BYTES, &v), 0);
	ck_assert_uint_eq(v.h.id, 1);
	ck_assert_uint_eq(v.h.floor, 2);
}
END_TEST

START_TEST(test_sections_in_order)
{
	struct mb_writer e;
	uint8_t surb[SURB_BYTES] = { 0 }, d[4] = { 1, 2, 3, 4 };
	mb_begin(&e, MB_DATA, 1, NULL);
	ck_assert_int_eq(mb_add_ack(&e, 1, 0), 0);
	ck_assert_int_eq(mb_add_surb(&e, surb), -1);       /* after an ack */
	ck_assert_int_eq(mb_add_data(&e, d, sizeof(d)), 0);
	ck_assert_int_eq(mb_add_ack(&e, 2, 0), -1);       /* after the data */
	ck_assert_int_eq(mb_add_data(&e, d, sizeof(d)), -1); /* data once */
	ck_assert_uint_eq(e.nacks, 1);

	mb_begin(&e, MB_DATA, 1, NULL);
	for (int i = 0; i < MB_MAX_SURBS; i++)
		ck_assert_int_eq(mb_add_surb(&e, surb), 0);
	ck_assert_int_eq(mb_add_surb(&e, surb), -1);       /* MB_MAX_SURBS */
	ck_assert_uint_eq(e.nsurbs, MB_MAX_SURBS);
}
END_TEST

START_TEST(test_room)
{
	struct mb_writer e;
	static uint8_t big[PKT_BODY_BYTES];
	mb_begin(&e, MB_DATA, 1, NULL);
	ck_assert_uint_eq(mb_room(&e), PKT_BODY_BYTES - MB_HDR);
	/* An ack leaves `reserve` for the message after it. */
	ck_assert_int_eq(mb_add_ack(&e, 1, PKT_BODY_BYTES - MB_HDR - 8), 0);
	ck_assert_int_eq(mb_add_ack(&e, 2, PKT_BODY_BYTES - MB_HDR - 8), -1);
	ck_assert_int_eq(mb_add_data(&e, big, mb_room(&e) + 1), -1);
	ck_assert_int_eq(mb_add_data(&e, big, mb_room(&e)), 0);
	ck_assert_uint_eq(mb_room(&e), 0);

	/* Acks up to the end of the body (fewer than the one-byte count
	 * could say). */
	mb_begin(&e, MB_ACK, 0, NULL);
	unsigned n = 0, fit = (PKT_BODY_BYTES - MB_HDR) / MB_ACK_BYTES;
	while (mb_add_ack(&e, n, 0) == 0)
		n++;
	ck_assert_uint_eq(n, fit < MB_MAX_ACKS ? fit : MB_MAX_ACKS);
	struct mb_view v;
	ck_assert_int_eq(mb_parse(mb_finish(&e), PKT_BODY_BYTES, &v), 0);
	ck_assert_uint_eq(v.nacks, n);
	ck_assert_uint_eq(mb_ack(&v, n - 1), n - 1);
}
END_TEST

/* Counts and lengths from the wire that name more than the body. */
START_TEST(test_bad_bodies)
{
	static uint8_t b[PKT_BODY_BYTES];
	struct mb_view v;
	memset(b, 0, sizeof(b));
	b[0] = MB_DATA;
	ck_assert_int_eq(mb_parse(b, PKT_BODY_BYTES, &v), 0);
	ck_assert_int_eq(mb_parse(b, PKT_BODY_BYTES - 1, &v), -1);
	ck_assert_int_eq(mb_parse(b, PKT_BODY_BYTES + 1, &v), -1);
	b[1] = MB_MAX_SURBS + 1;                      /* too many blocks */
	ck_assert_int_eq(mb_parse(b, PKT_BODY_BYTES, &v), -1);
	ck_assert_ptr_null(v.surbs);                  /* nothing half-decoded */
	b[1] = MB_MAX_SURBS;
	b[2] = 255;                                   /* 3 x 560 + 255 x 8 > 1976 */
	ck_assert_int_eq(mb_parse(b, PKT_BODY_BYTES, &v), -1);
	b[1] = 0;
	b[2] = 0;
	b[4] = 0xff;                                  /* len 65535 */
	b[5] = 0xff;
	ck_assert_int_eq(mb_parse(b, PKT_BODY_BYTES, &v), -1);
	/* The exact fit is taken, one byte more is not. */
	size_t fit = PKT_BODY_BYTES - MB_HDR - SURB_BYTES - 8;
	b[1] = 1;
	b[2] = 1;
	b[4] = (uint8_t)(fit >> 8);
	b[5] = (uint8_t)fit;
	ck_assert_int_eq(mb_parse(b, PKT_BODY_BYTES, &v), 0);
	ck_assert_uint_eq((size_t)(v.data - b) + v.len, PKT_BODY_BYTES);
	b[5] = (uint8_t)(fit + 1);
	ck_assert_int_eq(mb_parse(b, PKT_BODY_BYTES, &v), -1);
}
END_TEST

START_TEST(test_cover_is_random)
{
	struct mb_writer e;
	mb_begin(&e, MB_COVER, 0, NULL);
	mb_pad_random(&e);
	const uint8_t *b = mb_finish(&e);
	ck_assert_int_eq(mb_kind(b, PKT_BODY_BYTES), MB_COVER);
	for (size_t i = 1; i < MB_HDR; i++)
		ck_assert_uint_eq(b[i], 0);
	unsigned zeros = 0;
	for (size_t i = MB_HDR; i < PKT_BODY_BYTES; i++)
		zeros += b[i] == 0;
	ck_assert_uint_lt(zeros, 64); /* ~8 expected of 1976 random bytes */
}
END_TEST

Suite *suite_mixbody(void)
{
	Suite *s = suite_create("mixbody");
	TCase *tc = tcase_create("mixbody");
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_ids_are_56_bits);
	tcase_add_test(tc, test_sections_in_order);
	tcase_add_test(tc, test_room);
	tcase_add_test(tc, test_bad_bodies);
	tcase_add_test(tc, test_cover_is_random);
	suite_add_tcase(s, tc);
	return s;
}
