/* Unit tests for util: strict number parsing, host:port parsing and its
 * error reasons, sockaddr_str round trips. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <string.h>

#include "util.h"

START_TEST(u64_good)
{
	uint64_t v = 0;
	ck_assert_int_eq(parse_u64("0", 0, 10, &v), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(parse_u64("10", 0, 10, &v), 0);
	ck_assert_uint_eq(v, 10);
	ck_assert_int_eq(parse_u64("5", 5, 5, &v), 0);
	ck_assert_uint_eq(v, 5);
	ck_assert_int_eq(parse_u64("007", 0, 10, &v), 0);	/* decimal, not octal */
	ck_assert_uint_eq(v, 7);
	ck_assert_int_eq(parse_u64("18446744073709551615", 0, UINT64_MAX, &v), 0);
	ck_assert_uint_eq(v, UINT64_MAX);
}
END_TEST

START_TEST(u64_bad)
{
	static const char *const bad[] = {
		"", " 1", "1 ", "-1", "+1", "1x", "x", "0x10", "1.0", "1e3",
		"18446744073709551616",		/* one past UINT64_MAX */
		"99999999999999999999999",
	};
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		uint64_t v = 42;
		ck_assert_msg(parse_u64(bad[i], 0, UINT64_MAX, &v) == -1,
		    "accepted \"%s\"", bad[i]);
		ck_assert_uint_eq(v, 42);	/* nothing written */
	}
	uint64_t v = 42;
	ck_assert_int_eq(parse_u64(NULL, 0, 10, &v), -1);
	/* Range: one below min, one above max. */
	ck_assert_int_eq(parse_u64("4", 5, 10, &v), -1);
	ck_assert_int_eq(parse_u64("11", 5, 10, &v), -1);
	ck_assert_uint_eq(v, 42);
}
END_TEST

START_TEST(double_good)
{
	double d = -1;
	ck_assert_int_eq(parse_double("0", 0, 1, &d), 0);
	ck_assert_double_eq(d, 0.0);
	ck_assert_int_eq(parse_double("0.25", 0, 1, &d), 0);
	ck_assert_double_eq(d, 0.25);
	ck_assert_int_eq(parse_double("1", 0, 1, &d), 0);
	ck_assert_double_eq(d, 1.0);
	ck_assert_int_eq(parse_double("-2.5", -3, 0, &d), 0);
	ck_assert_double_eq(d, -2.5);
	ck_assert_int_eq(parse_double("1e2", 0, 1000, &d), 0);
	ck_assert_double_eq(d, 100.0);
}
END_TEST

START_TEST(double_bad)
{
	static const char *const bad[] = {
		"", " 1", "1 ", "x", "1.5x", "nan", "inf", "-inf", "1e999",
	};
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		double d = 42;
		ck_assert_msg(parse_double(bad[i], -1e300, 1e300, &d) == -1,
		    "accepted \"%s\"", bad[i]);
		ck_assert_double_eq(d, 42);
	}
	double d = 42;
	ck_assert_int_eq(parse_double(NULL, 0, 1, &d), -1);
	ck_assert_int_eq(parse_double("1.0001", 0, 1, &d), -1);
	ck_assert_int_eq(parse_double("-0.1", 0, 1, &d), -1);
	ck_assert_double_eq(d, 42);
}
END_TEST

START_TEST(hostport_v4)
{
	struct sockaddr_storage ss;
	socklen_t len = 0;
	const char *why = NULL;
	ck_assert_int_eq(parse_hostport("1.2.3.4:80", &ss, &len, &why), 0);
	ck_assert_uint_eq(len, sizeof(struct sockaddr_in));
	const struct sockaddr_in *in4 = (const struct sockaddr_in *)&ss;
	ck_assert_int_eq(in4->sin_family, AF_INET);
	ck_assert_uint_eq(ntohs(in4->sin_port), 80);
	ck_assert_uint_eq(ntohl(in4->sin_addr.s_addr), 0x01020304u);
	ck_assert_int_eq(parse_hostport("0.0.0.0:65535", &ss, &len, &why), 0);
	ck_assert_uint_eq(ntohs(in4->sin_port), 65535);
	ck_assert_int_eq(parse_hostport("127.0.0.1:1", &ss, &len, &why), 0);
	ck_assert_uint_eq(ntohs(in4->sin_port), 1);
}
END_TEST

START_TEST(hostport_v6)
{
	struct sockaddr_storage ss;
	socklen_t len = 0;
	const char *why = NULL;
	ck_assert_int_eq(parse_hostport("[::1]:22", &ss, &len, &why), 0);
	ck_assert_uint_eq(len, sizeof(struct sockaddr_in6));
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;
	ck_assert_int_eq(in6->sin6_family, AF_INET6);
	ck_assert_uint_eq(ntohs(in6->sin6_port), 22);
	ck_assert(IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr));
	ck_assert_int_eq(parse_hostport("[2001:db8::1:2]:443", &ss, &len, &why), 0);
	ck_assert_uint_eq(ntohs(in6->sin6_port), 443);
}
END_TEST

/* Each bad input with (a fragment of) the reason it must give. */
static const struct {
	const char *in;
	const char *why;
} hp_bad[] = {
	{ "", "empty" },
	{ "1.2.3.4", "missing :port" },
	{ ":80", "host" },
	{ "1.2.3.4:", "port must be" },
	{ "host:0", "port must be" },
	{ "1.2.3.4:0", "port must be" },
	{ "host:65536", "port must be" },
	{ "1.2.3.4:65536", "port must be" },
	{ "1.2.3.4:-1", "port must be" },
	{ "1.2.3.4:+80", "port must be" },
	{ "1.2.3.4:80x", "port must be" },
	{ "1.2.3.4: 80", "port must be" },
	{ "::1:22", "[addr]:port" },
	{ "::1", "[addr]:port" },
	{ "[::1]", "[addr]:port" },
	{ "[::1]22", "[addr]:port" },
	{ "[]:22", "bad IPv6" },
	{ "[1.2.3.4]:22", "bad IPv6" },
	{ "[::g]:22", "bad IPv6" },
	{ "example.com:80", "no DNS" },
	{ "localhost:80", "no DNS" },
	{ "1.2.3.256:80", "no DNS" },
	{ "1.2.3:80", "no DNS" },
};

START_TEST(hostport_bad)
{
	struct sockaddr_storage ss;
	socklen_t len = 1234;
	const char *why = NULL;
	const char *in = hp_bad[_i].in;
	ck_assert_msg(parse_hostport(in, &ss, &len, &why) == -1,
	    "accepted \"%s\"", in);
	ck_assert_ptr_nonnull(why);
	ck_assert_msg(strstr(why, hp_bad[_i].why) != NULL,
	    "\"%s\": reason \"%s\", want \"%s\"", in, why, hp_bad[_i].why);
	ck_assert_uint_eq(len, 1234);	/* length untouched on failure */
}
END_TEST

START_TEST(hostport_null_and_long)
{
	struct sockaddr_storage ss;
	socklen_t len;
	const char *why = NULL;
	ck_assert_int_eq(parse_hostport(NULL, &ss, &len, &why), -1);
	ck_assert_ptr_nonnull(why);
	/* A host longer than any address must not overflow the copy. */
	char big[300];
	memset(big, '1', sizeof(big));
	memcpy(big + sizeof(big) - 4, ":80", 4);
	why = NULL;
	ck_assert_int_eq(parse_hostport(big, &ss, &len, &why), -1);
	ck_assert_ptr_nonnull(why);
	big[0] = '[';
	memcpy(big + sizeof(big) - 5, "]:80", 5);
	why = NULL;
	ck_assert_int_eq(parse_hostport(big, &ss, &len, &why), -1);
	ck_assert_ptr_nonnull(why);
}
END_TEST

/* parse_hostport -> sockaddr_str gives back the canonical text. */
START_TEST(sockaddr_round_trip)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "1.2.3.4:80", "1.2.3.4:80" },
		{ "255.255.255.255:65535", "255.255.255.255:65535" },
		{ "[::1]:22", "[::1]:22" },
		{ "[2001:DB8:0:0::1]:443", "[2001:db8::1]:443" },
		{ "[::ffff:1.2.3.4]:9", "[::ffff:1.2.3.4]:9" },
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct sockaddr_storage ss;
		socklen_t len;
		const char *why = NULL;
		char buf[64], buf2[64];
		ck_assert_msg(parse_hostport(cases[i].in, &ss, &len, &why) == 0,
		    "\"%s\": %s", cases[i].in, why ? why : "?");
		const char *s = sockaddr_str((const struct sockaddr *)&ss, buf, sizeof(buf));
		ck_assert_ptr_eq(s, buf);
		ck_assert_str_eq(buf, cases[i].out);
		/* And the output parses back to the same address. */
		struct sockaddr_storage ss2;
		socklen_t len2;
		ck_assert_int_eq(parse_hostport(buf, &ss2, &len2, &why), 0);
		ck_assert_uint_eq(len2, len);
		ck_assert_mem_eq(&ss2, &ss, len);
		sockaddr_str((const struct sockaddr *)&ss2, buf2, sizeof(buf2));
		ck_assert_str_eq(buf2, buf);
	}
}
END_TEST

START_TEST(sockaddr_other_family)
{
	struct sockaddr_storage ss;
	char buf[64];
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_UNIX;
	sockaddr_str((const struct sockaddr *)&ss, buf, sizeof(buf));
	ck_assert_str_eq(buf, "(family 1)");
	/* A short buffer truncates rather than overflows. */
	struct sockaddr_storage v6;
	socklen_t len;
	const char *why;
	ck_assert_int_eq(parse_hostport("[2001:db8::1]:443", &v6, &len, &why), 0);
	char small[8];
	sockaddr_str((const struct sockaddr *)&v6, small, sizeof(small));
	ck_assert_str_eq(small, "[2001:d");
}
END_TEST

/* Declared for -Wmissing-prototypes; the Makefile collects the definition. */
Suite *suite_util(void);

Suite *suite_util(void)
{
	Suite *s = suite_create("util");
	TCase *tc = tcase_create("numbers");
	tcase_add_test(tc, u64_good);
	tcase_add_test(tc, u64_bad);
	tcase_add_test(tc, double_good);
	tcase_add_test(tc, double_bad);
	suite_add_tcase(s, tc);

	tc = tcase_create("hostport");
	tcase_add_test(tc, hostport_v4);
	tcase_add_test(tc, hostport_v6);
	tcase_add_loop_test(tc, hostport_bad, 0, (int)ARRAY_LEN(hp_bad));
	tcase_add_test(tc, hostport_null_and_long);
	tcase_add_test(tc, sockaddr_round_trip);
	tcase_add_test(tc, sockaddr_other_family);
	suite_add_tcase(s, tc);
	return s;
}
