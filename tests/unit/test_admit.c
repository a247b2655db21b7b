/* Unit tests for admit: the classes of incoming links and their bounds.
 * Handshakes push out the oldest, and are bounded per address; nodes
 * always find their reserve however many clients hold the rest; clients
 * get what is left; a slot released (at any class) frees its place. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "admit.h"

static void ip4(uint8_t out[ADMIT_ADDR_BYTES], const char *s)
{
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	ck_assert_int_eq(inet_pton(AF_INET, s, &sa.sin_addr), 1);
	admit_addr((const struct sockaddr *)&sa, out);
}

START_TEST(test_fitted)
{
	struct admit_limits l = { .max_links = 100, .node_reserve = 30, .max_handshakes = 60,
	                          .per_addr = 0 };
	struct admit *a = admit_new(&l);
	ck_assert_uint_eq(admit_limits(a)->max_handshakes, 25);
	ck_assert_uint_eq(admit_limits(a)->node_reserve, 30);
	ck_assert_uint_eq(admit_limits(a)->per_addr, 1);
	admit_free(a);
	l.per_addr = 100;
	a = admit_new(&l);
	ck_assert_uint_eq(admit_limits(a)->per_addr, 6);
	ck_assert_uint_eq(admit_max_clients(a), 45);
	admit_free(a);
	l.node_reserve = 1000;
	a = admit_new(&l);
	ck_assert_uint_eq(admit_limits(a)->node_reserve, 74);
	ck_assert_uint_eq(admit_max_clients(a), 1);
	admit_free(a);
}
END_TEST

START_TEST(test_handshakes)
{
	struct admit_limits l = { .max_links = 64, .node_reserve = 4, .max_handshakes = 16,
	                          .per_addr = 4 };
	struct admit *a = admit_new(&l);
	struct admit_slot s[24], *push;
	uint8_t addr[6][ADMIT_ADDR_BYTES];
	char text[32];
	memset(s, 0, sizeof(s));
	for (int k = 0; k < 6; k++) {
		snprintf(text, sizeof(text), "192.0.2.%d", k + 1);
		ip4(addr[k], text);
	}
	/* Four from the first address: a fifth from it is refused. */
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(admit_accept(a, &s[i], addr[0], (uint64_t)i, &push), 0);
		ck_assert_ptr_null(push);
	}
	ck_assert_int_eq(admit_accept(a, &s[4], addr[0], 4, &push), ADMIT_PER_ADDR);
	ck_assert_uint_eq(admit_stats(a)->refused_addr, 1);
	/* Three more addresses fill the sixteen slots. */
	for (int i = 4; i < 16; i++)
		ck_assert_int_eq(admit_accept(a, &s[i], addr[1 + (i - 4) / 4], (uint64_t)i, &push), 0);
	ck_assert_uint_eq(admit_count(a, AD_HANDSHAKE), 16);
	/* All taken: a fifth address pushes out the oldest (the first
	 * address's first), which frees a place for that address too. */
	ck_assert_int_eq(admit_accept(a, &s[16], addr[4], 16, &push), 0);
	ck_assert_ptr_eq(push, &s[0]);
	ck_assert_int_eq(s[0].cls, AD_NONE);
	ck_assert_uint_eq(admit_stats(a)->handshakes_pushed, 1);
	ck_assert_int_eq(admit_accept(a, &s[17], addr[0], 17, &push), 0);
	ck_assert_ptr_eq(push, &s[1]);
	/* One that authenticates leaves the handshakes; releasing a slot
	 * twice changes nothing. */
	ck_assert_int_eq(admit_up(a, &s[2], AD_NODE), 0);
	ck_assert_uint_eq(admit_count(a, AD_HANDSHAKE), 15);
	ck_assert_uint_eq(admit_count(a, AD_NODE), 1);
	admit_release(a, &s[0]);
	admit_release(a, &s[2]);
	admit_release(a, &s[2]);
	ck_assert_uint_eq(admit_count(a, AD_NODE), 0);
	for (int i = 0; i < 18; i++)
		admit_release(a, &s[i]);
	ck_assert_uint_eq(admit_count(a, AD_HANDSHAKE), 0);
	/* The per-address counts went with them: each has its four again. */
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(admit_accept(a, &s[i], addr[0], 20, &push), 0);
	for (int i = 0; i < 4; i++)
		admit_release(a, &s[i]);
	admit_free(a);
}
END_TEST

/* Clients hold every place they may: a node still comes up, and a
 * handshake still finds a slot. */
START_TEST(test_node_reserve)
{
	struct admit_limits l = { .max_links = 20, .node_reserve = 6, .max_handshakes = 4,
	                          .per_addr = 100, .per_addr_clients = 100 };
	struct admit *a = admit_new(&l);
	struct admit_slot s[32], *push;
	uint8_t x[ADMIT_ADDR_BYTES];
	memset(s, 0, sizeof(s));
	ip4(x, "198.51.100.7");
	ck_assert_uint_eq(admit_max_clients(a), 10);
	for (int i = 0; i < 10; i++) {
		ck_assert_int_eq(admit_accept(a, &s[i], x, (uint64_t)i, &push), 0);
		ck_assert_int_eq(admit_up(a, &s[i], AD_CLIENT), 0);
	}
	ck_assert_int_eq(admit_accept(a, &s[10], x, 10, &push), 0);
	ck_assert_int_eq(admit_up(a, &s[10], AD_CLIENT), -1);
	ck_assert_int_eq(s[10].cls, AD_NONE);
	ck_assert_uint_eq(admit_stats(a)->refused_clients, 1);
	for (int i = 11; i < 17; i++) {
		ck_assert_int_eq(admit_accept(a, &s[i], x, (uint64_t)i, &push), 0);
		ck_assert_int_eq(admit_up(a, &s[i], AD_NODE), 0);
	}
	ck_assert_uint_eq(admit_count(a, AD_NODE), 6);
	ck_assert_uint_eq(admit_count(a, AD_CLIENT), 10);
	/* Four handshakes (one an address: a quarter of four) fill
	 * max_links; a fifth pushes the oldest. */
	uint8_t other[5][ADMIT_ADDR_BYTES];
	char text[32];
	for (int i = 17; i < 22; i++) {
		snprintf(text, sizeof(text), "198.51.100.%d", i);
		ip4(other[i - 17], text);
		ck_assert_int_eq(admit_accept(a, &s[i], other[i - 17], (uint64_t)i, &push), 0);
		ck_assert_ptr_eq(push, i < 21 ? NULL : &s[17]);
	}
	for (int i = 0; i < 22; i++)
		admit_release(a, &s[i]);
	for (int c = AD_HANDSHAKE; c < AD_NCLASSES; c++)
		ck_assert_uint_eq(admit_count(a, (enum admit_class)c), 0);
	/* Nodes past their reserve take what handshakes would have: with
	 * every link authenticated, a new connection is refused. */
	for (int i = 0; i < 20; i++) {
		ck_assert_int_eq(admit_accept(a, &s[i], x, (uint64_t)i, &push), ADMIT_OK);
		ck_assert_int_eq(admit_up(a, &s[i], i < 10 ? AD_CLIENT : AD_NODE), 0);
	}
	ck_assert_int_eq(admit_accept(a, &s[20], x, 20, &push), ADMIT_FULL);
	for (int i = 0; i < 20; i++)
		admit_release(a, &s[i]);
	admit_free(a);
}
END_TEST

START_TEST(test_addresses)
{
	uint8_t a4[ADMIT_ADDR_BYTES], a6[ADMIT_ADDR_BYTES], none[ADMIT_ADDR_BYTES];
	static const uint8_t mapped[ADMIT_ADDR_BYTES] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	                                                  0xff, 0xff, 127, 0, 0, 1 };
	struct sockaddr_in6 s6;
	ip4(a4, "127.0.0.1");
	ck_assert_mem_eq(a4, mapped, ADMIT_ADDR_BYTES);
	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	ck_assert_int_eq(inet_pton(AF_INET6, "::1", &s6.sin6_addr), 1);
	admit_addr((const struct sockaddr *)&s6, a6);
	ck_assert_int_eq(a6[15], 0); /* ::1 is keyed by its /64, :: */
	/* Two addresses of one /64 are one source; another /64 is not. */
	uint8_t b6[ADMIT_ADDR_BYTES], c6[ADMIT_ADDR_BYTES];
	ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8:1:2::aa", &s6.sin6_addr), 1);
	admit_addr((const struct sockaddr *)&s6, a6);
	ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8:1:2:ffff::1", &s6.sin6_addr), 1);
	admit_addr((const struct sockaddr *)&s6, b6);
	ck_assert_mem_eq(a6, b6, ADMIT_ADDR_BYTES);
	ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8:1:3::aa", &s6.sin6_addr), 1);
	admit_addr((const struct sockaddr *)&s6, c6);
	ck_assert_int_ne(memcmp(a6, c6, ADMIT_ADDR_BYTES), 0);
	/* A v4-mapped IPv6 address is its IPv4 host. */
	ck_assert_int_eq(inet_pton(AF_INET6, "::ffff:127.0.0.1", &s6.sin6_addr), 1);
	admit_addr((const struct sockaddr *)&s6, c6);
	ck_assert_mem_eq(c6, mapped, ADMIT_ADDR_BYTES);
	admit_addr(NULL, none);
	for (int i = 0; i < ADMIT_ADDR_BYTES; i++)
		ck_assert_int_eq(none[i], 0);
}
END_TEST

/* One address holds its share of the client links, another still gets in. */
START_TEST(test_clients_per_address)
{
	struct admit_limits l = { .max_links = 64, .node_reserve = 4, .max_handshakes = 16,
	                          .per_addr = 4, .per_addr_clients = 3 };
	struct admit *a = admit_new(&l);
	struct admit_slot s[8], *push;
	uint8_t x[ADMIT_ADDR_BYTES], y[ADMIT_ADDR_BYTES];
	memset(s, 0, sizeof(s));
	ip4(x, "203.0.113.1");
	ip4(y, "203.0.113.2");
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(admit_accept(a, &s[i], x, (uint64_t)i, &push), 0);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(admit_up(a, &s[i], AD_CLIENT), 0);
	ck_assert_int_eq(admit_up(a, &s[3], AD_CLIENT), -1);
	ck_assert_int_eq(admit_accept(a, &s[4], y, 4, &push), 0);
	ck_assert_int_eq(admit_up(a, &s[4], AD_CLIENT), 0);
	/* One of x's goes: x may have another. */
	admit_release(a, &s[0]);
	ck_assert_int_eq(admit_accept(a, &s[5], x, 5, &push), 0);
	ck_assert_int_eq(admit_up(a, &s[5], AD_CLIENT), 0);
	ck_assert_uint_eq(admit_count(a, AD_CLIENT), 4);
	ck_assert_uint_eq(admit_stats(a)->refused_clients, 1);
	for (int i = 0; i < 6; i++)
		admit_release(a, &s[i]);
	ck_assert_uint_eq(admit_count(a, AD_CLIENT), 0);
	admit_free(a);
}
END_TEST

Suite *suite_admit(void)
{
	Suite *s = suite_create("admit");
	TCase *tc = tcase_create("admit");
	tcase_add_test(tc, test_fitted);
	tcase_add_test(tc, test_handshakes);
	tcase_add_test(tc, test_node_reserve);
	tcase_add_test(tc, test_addresses);
	tcase_add_test(tc, test_clients_per_address);
	suite_add_tcase(s, tc);
	return s;
}
