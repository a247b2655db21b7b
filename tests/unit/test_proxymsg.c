/* Unit tests of proxymsg: the wire layout byte by byte, a round trip of
 * every kind, and every way a message can be malformed, from both the
 * encoder's side (refuses to make it) and the decoder's (refuses to read
 * it, with a reason). */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "proxymsg.h"

static const uint8_t SID[PMSG_SID_BYTES] = {
	0x3f, 0xa9, 0xc2, 0xd1, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 0xff,
};

static struct pmsg mk(enum pmsg_kind k, uint16_t id, uint16_t credit, const void *data, size_t len)
{
	struct pmsg m = { .kind = k, .id = id, .credit = credit, .data = data, .len = len };
	memcpy(m.sid, SID, PMSG_SID_BYTES);
	return m;
}

/* Encode, decode, and check every field survives; returns the length. */
static size_t roundtrip(const struct pmsg *m)
{
	uint8_t buf[PMSG_MAX + 16];
	memset(buf, 0xee, sizeof(buf));
	size_t n = pmsg_encode(buf, PMSG_MAX, m);
	ck_assert_uint_eq(n, PMSG_HDR + m->len);
	/* Nothing written past the message. */
	for (size_t i = n; i < sizeof(buf); i++)
		ck_assert_uint_eq(buf[i], 0xee);
	struct pmsg d;
	const char *why = "untouched";
	ck_assert_int_eq(pmsg_decode(buf, n, &d, &why), 0);
	ck_assert_int_eq(d.kind, m->kind);
	ck_assert_uint_eq(d.id, m->id);
	ck_assert_uint_eq(d.credit, m->credit);
	ck_assert_mem_eq(d.sid, m->sid, PMSG_SID_BYTES);
	ck_assert_uint_eq(d.len, m->len);
	ck_assert_ptr_eq(d.data, buf + PMSG_HDR);
	if (m->len)
		ck_assert_mem_eq(d.data, m->data, m->len);
	return n;
}

/* Decoding must fail, with a reason containing `frag`. */
static void decode_fails(const uint8_t *buf, size_t n, const char *frag)
{
	struct pmsg d;
	const char *why = NULL;
	ck_assert_int_eq(pmsg_decode(buf, n, &d, &why), -1);
	ck_assert_ptr_nonnull(why);
	ck_assert_msg(strstr(why, frag) != NULL, "reason '%s' lacks '%s'", why, frag);
}

/* A valid header of the given kind in buf, payload len bytes of 'a'. */
static size_t raw(uint8_t *buf, uint8_t kind, uint16_t id, size_t len)
{
	buf[0] = PMSG_VERSION;
	buf[1] = kind;
	buf[2] = (uint8_t)(id >> 8);
	buf[3] = (uint8_t)id;
	buf[4] = 0;
	buf[5] = 7;
	memcpy(buf + 6, SID, PMSG_SID_BYTES);
	memset(buf + PMSG_HDR, 'a', len);
	return PMSG_HDR + len;
}

START_TEST(test_layout)
{
	/* The layout of proxymsg.h, byte for byte: a peer written from
	 * the header comment alone must interoperate. */
	uint8_t buf[PMSG_MAX];
	struct pmsg m = mk(PMSG_DATA, 0x1234, 0xabcd, "xyz", 3);
	ck_assert_uint_eq(pmsg_encode(buf, sizeof(buf), &m), 25);
	ck_assert_uint_eq(buf[0], PMSG_VERSION);
	ck_assert_uint_eq(buf[1], PMSG_DATA);
	ck_assert_uint_eq(buf[2], 0x12);
	ck_assert_uint_eq(buf[3], 0x34);
	ck_assert_uint_eq(buf[4], 0xab);
	ck_assert_uint_eq(buf[5], 0xcd);
	ck_assert_mem_eq(buf + 6, SID, PMSG_SID_BYTES);
	ck_assert_mem_eq(buf + 22, "xyz", 3);
	ck_assert_int_eq(PMSG_HDR, 22);
	ck_assert_int_eq(PMSG_DATA_MAX + PMSG_HDR, PMSG_MAX);
	ck_assert_int_eq(PMSG_OPEN, 1);
	ck_assert_int_eq(PMSG_DATA, 2);
	ck_assert_int_eq(PMSG_CLOSE, 3);
	ck_assert_int_eq(PMSG_RESET, 4);
	ck_assert_int_eq(PMSG_CREDIT, 5);
}
END_TEST

START_TEST(test_roundtrip_kinds)
{
	static uint8_t big[PMSG_DATA_MAX];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 31 + 7);
	char reason[PMSG_REASON_MAX];
	memset(reason, 'r', sizeof(reason));

	struct pmsg m;
	m = mk(PMSG_OPEN, PMSG_ID_FIRST, 0, NULL, 0);
	ck_assert_uint_eq(roundtrip(&m), PMSG_HDR);
	m = mk(PMSG_OPEN, PMSG_ID_FIRST, 65535, NULL, 0);
	roundtrip(&m);
	m = mk(PMSG_DATA, 1, 0, "a", 1);
	roundtrip(&m);
	m = mk(PMSG_DATA, 65535, 65535, big, sizeof(big));
	ck_assert_uint_eq(roundtrip(&m), PMSG_MAX);
	m = mk(PMSG_DATA, 0, 1, "\0\n\xff", 3);   /* data is binary */
	roundtrip(&m);
	m = mk(PMSG_CLOSE, 40000, 3, NULL, 0);
	roundtrip(&m);
	m = mk(PMSG_CREDIT, 9, 32768, NULL, 0);
	roundtrip(&m);
	m = mk(PMSG_RESET, 5, 6, NULL, 0);          /* empty reason */
	roundtrip(&m);
	m = mk(PMSG_RESET, 5, 6, "upstream connect failed: Connection refused", 43);
	roundtrip(&m);
	m = mk(PMSG_RESET, 0, 0, " ~", 2);         /* the printable range's ends */
	roundtrip(&m);
	m = mk(PMSG_RESET, 0, 0, reason, PMSG_REASON_MAX);
	roundtrip(&m);
}
END_TEST

START_TEST(test_encode_refuses)
{
	uint8_t buf[PMSG_MAX + 64];
	static uint8_t big[PMSG_DATA_MAX + 1];
	char reason[PMSG_REASON_MAX + 1];
	memset(reason, 'r', sizeof(reason));
	struct pmsg m;

	m = mk(PMSG_DATA, 1, 0, NULL, 0);
	ck_assert_uint_eq(pmsg_encode(buf, sizeof(buf), &m), 0);
	m = mk(PMSG_DATA, 1, 0, big, sizeof(big));
	ck_assert_uint_eq(pmsg_encode(buf, sizeof(buf), &m), 0);
	m = mk(PMSG_OPEN, 0, 0, NULL, 0);
	ck_assert_uint_eq(pmsg_encode(buf, sizeof(buf), &m), 0);
	m = mk(PMSG_OPEN, PMSG_ID_FIRST, 0, "x", 1);
	ck_assert_uint_eq(pmsg_encode(buf, sizeof(buf), &m), 0);
	m = mk(PMSG_CLOSE, 0, 0, "x", 1);
	ck_assert_uint_eq(pmsg_encode(buf, sizeof(buf), &m), 0);
	m = mk(PMSG_CREDIT, 0, 0, "x", 1);
	ck_assert_uint_eq(pmsg_encode(buf, sizeof(buf), &m), 0);
	m = mk(PMSG_RESET, 0, 0, reason, PMSG_REASON_MAX + 1);
	ck_assert_uint_eq(pmsg_encode(buf, sizeof(buf), &m), 0);
	m = mk(PMSG_RESET, 0, 0, "a\nb", 3);
	ck_assert_uint_eq(pmsg_encode(buf, sizeof(buf), &m), 0);
	m = mk(PMSG_RESET, 0, 0, "a\x7f", 2);
	ck_assert_uint_eq(pmsg_encode(buf, sizeof(buf), &m), 0);
	m = mk(PMSG_RESET, 0, 0, "\xc3\xa9", 2);
	ck_assert_uint_eq(pmsg_encode(buf, sizeof(buf), &m), 0);
	m = mk(PMSG_RESET, 0, 0, "a\0b", 3);
	ck_assert_uint_eq(pmsg_encode(buf, sizeof(buf), &m), 0);
	m = mk((enum pmsg_kind)0, 0, 0, NULL, 0);
	ck_assert_uint_eq(pmsg_encode(buf, sizeof(buf), &m), 0);
	m = mk((enum pmsg_kind)6, 0, 0, NULL, 0);
	ck_assert_uint_eq(pmsg_encode(buf, sizeof(buf), &m), 0);

	/* Output buffer one byte short: refused, nothing written. */
	memset(buf, 0xee, sizeof(buf));
	m = mk(PMSG_DATA, 1, 0, "hello", 5);
	ck_assert_uint_eq(pmsg_encode(buf, PMSG_HDR + 4, &m), 0);
	for (size_t i = 0; i < sizeof(buf); i++)
		ck_assert_uint_eq(buf[i], 0xee);
	ck_assert_uint_eq(pmsg_encode(buf, PMSG_HDR + 5, &m), PMSG_HDR + 5);
	m = mk(PMSG_CREDIT, 1, 0, NULL, 0);
	ck_assert_uint_eq(pmsg_encode(buf, PMSG_HDR - 1, &m), 0);
	ck_assert_uint_eq(pmsg_encode(buf, PMSG_HDR, &m), PMSG_HDR);
}
END_TEST

START_TEST(test_decode_length)
{
	static uint8_t buf[PMSG_MAX + 64];
	/* Every length below a header. */
	raw(buf, PMSG_CREDIT, 0, 0);
	for (size_t n = 0; n < PMSG_HDR; n++)
		decode_fails(buf, n, "shorter");
	struct pmsg d;
	const char *why;
	ck_assert_int_eq(pmsg_decode(buf, PMSG_HDR, &d, &why), 0);

	/* The longest DATA, and one more byte. */
	size_t n = raw(buf, PMSG_DATA, 1, PMSG_DATA_MAX);
	ck_assert_int_eq(pmsg_decode(buf, n, &d, &why), 0);
	ck_assert_uint_eq(d.len, PMSG_DATA_MAX);
	raw(buf, PMSG_DATA, 1, PMSG_DATA_MAX + 1);
	decode_fails(buf, n + 1, "longer");
	decode_fails(buf, n + 60, "longer");
	raw(buf, PMSG_RESET, 1, PMSG_DATA_MAX + 1);
	decode_fails(buf, n + 1, "longer");
}
END_TEST

START_TEST(test_decode_header)
{
	uint8_t buf[PMSG_MAX];
	size_t n = raw(buf, PMSG_DATA, 1, 10);
	for (int v = 0; v < 256; v++) {
		if (v == PMSG_VERSION)
			continue;
		buf[0] = (uint8_t)v;
		decode_fails(buf, n, "version");
	}
	buf[0] = PMSG_VERSION;
	for (int k = 0; k < 256; k++) {
		if (k >= PMSG_OPEN && k <= PMSG_CREDIT)
			continue;
		buf[1] = (uint8_t)k;
		decode_fails(buf, n, "kind");
		decode_fails(buf, PMSG_HDR, "kind");
	}
	/* The version is checked before anything else. */
	buf[0] = PMSG_VERSION + 1;
	buf[1] = 99;
	decode_fails(buf, n, "version");
}
END_TEST

START_TEST(test_decode_payload_rules)
{
	uint8_t buf[PMSG_MAX];
	struct pmsg d;
	const char *why;
	size_t n;

	/* DATA: 1.. bytes; none is malformed. */
	n = raw(buf, PMSG_DATA, 5, 0);
	decode_fails(buf, n, "empty");
	n = raw(buf, PMSG_DATA, 0, 1);   /* id 0 is fine for DATA (after a wrap) */
	ck_assert_int_eq(pmsg_decode(buf, n, &d, &why), 0);

	/* OPEN: the first id, no payload. */
	n = raw(buf, PMSG_OPEN, PMSG_ID_FIRST, 0);
	ck_assert_int_eq(pmsg_decode(buf, n, &d, &why), 0);
	for (unsigned id = 0; id < 65536; id = id * 3 + 1) {
		if (id == PMSG_ID_FIRST)
			continue;
		n = raw(buf, PMSG_OPEN, (uint16_t)id, 0);
		decode_fails(buf, n, "open");
	}
	n = raw(buf, PMSG_OPEN, PMSG_ID_FIRST - 1, 0);
	decode_fails(buf, n, "open");
	n = raw(buf, PMSG_OPEN, PMSG_ID_FIRST + 1, 0);
	decode_fails(buf, n, "open");
	n = raw(buf, PMSG_OPEN, PMSG_ID_FIRST, 1);
	decode_fails(buf, n, "payload");

	/* CLOSE and CREDIT: no payload. */
	n = raw(buf, PMSG_CLOSE, 3, 1);
	decode_fails(buf, n, "payload");
	n = raw(buf, PMSG_CREDIT, 3, 1);
	decode_fails(buf, n, "payload");
	n = raw(buf, PMSG_CREDIT, 3, PMSG_DATA_MAX);
	decode_fails(buf, n, "payload");

	/* RESET: a printable line of at most PMSG_REASON_MAX bytes. */
	n = raw(buf, PMSG_RESET, 3, PMSG_REASON_MAX);
	ck_assert_int_eq(pmsg_decode(buf, n, &d, &why), 0);
	n = raw(buf, PMSG_RESET, 3, PMSG_REASON_MAX + 1);
	decode_fails(buf, n, "reset");
	n = raw(buf, PMSG_RESET, 3, 10);
	for (int c = 0; c < 256; c++) {
		buf[PMSG_HDR + 9] = (uint8_t)c;
		int ok = pmsg_decode(buf, n, &d, &why) == 0;
		ck_assert_int_eq(ok, c >= 0x20 && c <= 0x7e);
		buf[PMSG_HDR] = (uint8_t)c;     /* and at the first byte */
		ok = pmsg_decode(buf, n, &d, &why) == 0;
		ck_assert_int_eq(ok, c >= 0x20 && c <= 0x7e);
		buf[PMSG_HDR] = 'a';
	}
}
END_TEST

START_TEST(test_helpers)
{
	ck_assert_int_eq(pmsg_sequenced(PMSG_OPEN), 1);
	ck_assert_int_eq(pmsg_sequenced(PMSG_DATA), 1);
	ck_assert_int_eq(pmsg_sequenced(PMSG_CLOSE), 1);
	ck_assert_int_eq(pmsg_sequenced(PMSG_RESET), 0);
	ck_assert_int_eq(pmsg_sequenced(PMSG_CREDIT), 0);
	ck_assert_int_eq(pmsg_sequenced((enum pmsg_kind)0), 0);
	ck_assert_str_eq(pmsg_kind_name(PMSG_OPEN), "open");
	ck_assert_str_eq(pmsg_kind_name(PMSG_DATA), "data");
	ck_assert_str_eq(pmsg_kind_name(PMSG_CLOSE), "close");
	ck_assert_str_eq(pmsg_kind_name(PMSG_RESET), "reset");
	ck_assert_str_eq(pmsg_kind_name(PMSG_CREDIT), "credit");
	ck_assert_str_eq(pmsg_kind_name((enum pmsg_kind)77), "?");
	ck_assert_uint_eq(pmsg_dist(0, 0), 0);
	ck_assert_uint_eq(pmsg_dist(0, 5), 5);
	ck_assert_uint_eq(pmsg_dist(65530, 4), 10);
	ck_assert_uint_eq(pmsg_dist(5, 0), 65531);
	ck_assert_uint_eq(pmsg_dist(65535, 0), 1);
}
END_TEST

/* Every single-byte mutation of valid messages either decodes to
 * something that re-encodes to the same bytes, or fails with a reason. */
START_TEST(test_mutations_reencode)
{
	uint8_t src[4][64];
	size_t len[4];
	len[0] = raw(src[0], PMSG_DATA, 300, 20);
	len[1] = raw(src[1], PMSG_RESET, 1, 20);
	len[2] = raw(src[2], PMSG_OPEN, 0, 0);
	len[3] = raw(src[3], PMSG_CLOSE, 9, 0);
	for (int k = 0; k < 4; k++) {
		for (size_t i = 0; i < len[k]; i++) {
			for (int b = 0; b < 256; b += 3) {
				uint8_t buf[64], out[PMSG_MAX];
				memcpy(buf, src[k], len[k]);
				buf[i] = (uint8_t)b;
				struct pmsg d;
				const char *why = NULL;
				if (pmsg_decode(buf, len[k], &d, &why) < 0) {
					ck_assert_ptr_nonnull(why);
					continue;
				}
				ck_assert_uint_eq(pmsg_encode(out, sizeof(out), &d), len[k]);
				ck_assert_mem_eq(out, buf, len[k]);
			}
		}
	}
}
END_TEST

Suite *suite_proxymsg(void)
{
	Suite *s = suite_create("proxymsg");
	TCase *tc = tcase_create("proxymsg");
	tcase_add_test(tc, test_layout);
	tcase_add_test(tc, test_roundtrip_kinds);
	tcase_add_test(tc, test_encode_refuses);
	tcase_add_test(tc, test_decode_length);
	tcase_add_test(tc, test_decode_header);
	tcase_add_test(tc, test_decode_payload_rules);
	tcase_add_test(tc, test_helpers);
	tcase_add_test(tc, test_mutations_reencode);
	suite_add_tcase(s, tc);
	return s;
}
