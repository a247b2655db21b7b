/* ephem — see ephem.h.  Field elements mod p = 2^255 - 19 in five 51-bit
 * limbs with 128-bit products: only what the map to Montgomery form needs
 * (add, subtract, multiply, invert, encode).  The values are public, but
 * nothing here branches on them anyway. */
#include "ephem.h"

#include <sodium.h>
#include <string.h>

#define M51 ((UINT64_C(1) << 51) - 1)

typedef unsigned __int128 u128;
struct fe { uint64_t v[5]; };

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static void le64_put(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

/* The low 255 bits of s (an Edwards point's y; bit 255 is x's sign). */
static void fe_frombytes(struct fe *h, const uint8_t s[32])
{
	uint64_t w0 = le64(s), w1 = le64(s + 8), w2 = le64(s + 16), w3 = le64(s + 24);
	h->v[0] = w0 & M51;
	h->v[1] = ((w0 >> 51) | (w1 << 13)) & M51;
	h->v[2] = ((w1 >> 38) | (w2 << 26)) & M51;
	h->v[3] = ((w2 >> 25) | (w3 << 39)) & M51;
	h->v[4] = (w3 >> 12) & M51;
}

/* Limbs back under 2^51 (limb 0 up to 2^51 + 19 * 2^13 after one pass). */
static void fe_carry(struct fe *h)
{
	for (int i = 0; i < 4; i++) {
		h->v[i + 1] += h->v[i] >> 51;
		h->v[i] &= M51;
	}
	h->v[0] += 19 * (h->v[4] >> 51);
	h->v[4] &= M51;
}

static void fe_one(struct fe *h)
{
	memset(h, 0, sizeof(*h));
	h->v[0] = 1;
}

static void fe_add(struct fe *h, const struct fe *f, const struct fe *g)
{
	for (int i = 0; i < 5; i++)
		h->v[i] = f->v[i] + g->v[i];
	fe_carry(h);
}

/* f - g + 2p, so that no limb goes below zero for carried inputs. */
static void fe_sub(struct fe *h, const struct fe *f, const struct fe *g)
{
	h->v[0] = f->v[0] + 2 * (M51 - 18) - g->v[0];
	for (int i = 1; i < 5; i++)
		h->v[i] = f->v[i] + 2 * M51 - g->v[i];
	fe_carry(h);
}

/* Inputs carried (limbs at most a little over 2^51, as every function here
 * leaves them): each sum of products stays under 2^109, so the top carry
 * times 19 stays under 2^63. */
static void fe_mul(struct fe *h, const struct fe *f, const struct fe *g)
{
	const uint64_t *a = f->v, *b = g->v;
	uint64_t b1 = 19 * b[1], b2 = 19 * b[2], b3 = 19 * b[3], b4 = 19 * b[4];
	u128 r[5];
	r[0] = (u128)a[0] * b[0] + (u128)a[1] * b4 + (u128)a[2] * b3 + (u128)a[3] * b2 + (u128)a[4] * b1;
	r[1] = (u128)a[0] * b[1] + (u128)a[1] * b[0] + (u128)a[2] * b4 + (u128)a[3] * b3 + (u128)a[4] * b2;
	r[2] = (u128)a[0] * b[2] + (u128)a[1] * b[1] + (u128)a[2] * b[0] + (u128)a[3] * b4 + (u128)a[4] * b3;
	r[3] = (u128)a[0] * b[3] + (u128)a[1] * b[2] + (u128)a[2] * b[1] + (u128)a[3] * b[0] + (u128)a[4] * b4;
	r[4] = (u128)a[0] * b[4] + (u128)a[1] * b[3] + (u128)a[2] * b[2] + (u128)a[3] * b[1] + (u128)a[4] * b[0];
	for (int i = 0; i < 4; i++) {
		r[i + 1] += (uint64_t)(r[i] >> 51);
		h->v[i] = (uint64_t)r[i] & M51;
	}
	h->v[4] = (uint64_t)r[4] & M51;
	h->v[0] += 19 * (uint64_t)(r[4] >> 51);
	h->v[1] += h->v[0] >> 51;
	h->v[0] &= M51;
}

static void fe_sqn(struct fe *h, const struct fe *f, int n)
{
	fe_mul(h, f, f);
	while (--n > 0)
		fe_mul(h, h, h);
}

/* z^(p-2) = z^(2^255 - 21), by the usual chain: 254 squarings, 11 products. */
static void fe_invert(struct fe *out, const struct fe *z)
{
	struct fe z2, z9, z11, a, b, c, t;
	fe_mul(&z2, z, z);
	fe_sqn(&t, &z2, 2);
	fe_mul(&z9, &t, z);
	fe_mul(&z11, &z9, &z2);
	fe_mul(&t, &z11, &z11);
	fe_mul(&a, &t, &z9);          /* z^(2^5 - 1) */
	fe_sqn(&t, &a, 5);
	fe_mul(&a, &t, &a);           /* 2^10 - 1 */
	fe_sqn(&t, &a, 10);
	fe_mul(&b, &t, &a);           /* 2^20 - 1 */
	fe_sqn(&t, &b, 20);
	fe_mul(&t, &t, &b);           /* 2^40 - 1 */
	fe_sqn(&t, &t, 10);
	fe_mul(&b, &t, &a);           /* 2^50 - 1 */
	fe_sqn(&t, &b, 50);
	fe_mul(&c, &t, &b);           /* 2^100 - 1 */
	fe_sqn(&t, &c, 100);
	fe_mul(&t, &t, &c);           /* 2^200 - 1 */
	fe_sqn(&t, &t, 50);
	fe_mul(&t, &t, &b);           /* 2^250 - 1 */
	fe_sqn(&t, &t, 5);
	fe_mul(out, &t, &z11);        /* 2^255 - 32 + 11 */
}

/* The canonical encoding: fully reduced below p. */
static void fe_tobytes(uint8_t s[32], const struct fe *f)
{
	struct fe t = *f;
	fe_carry(&t);
	fe_carry(&t);
	fe_carry(&t);
	/* t < 2^255 now; it is >= p exactly when t + 19 carries into 2^255. */
	uint64_t q = (t.v[0] + 19) >> 51;
	for (int i = 1; i < 5; i++)
		q = (t.v[i] + q) >> 51;
	t.v[0] += 19 * q;
	for (int i = 0; i < 4; i++) {
		t.v[i + 1] += t.v[i] >> 51;
		t.v[i] &= M51;
	}
	t.v[4] &= M51;
	le64_put(s, t.v[0] | (t.v[1] << 51));
	le64_put(s + 8, (t.v[1] >> 13) | (t.v[2] << 38));
	le64_put(s + 16, (t.v[2] >> 26) | (t.v[3] << 25));
	le64_put(s + 24, (t.v[3] >> 39) | (t.v[4] << 12));
}

void ephem_to_x25519(uint8_t u[][32], const uint8_t ed[][32], size_t n)
{
	struct fe num[EPHEM_MAX], den[EPHEM_MAX], acc[EPHEM_MAX], one, y, inv, t;

	if (n == 0 || n > EPHEM_MAX)
		return;
	fe_one(&one);
	for (size_t i = 0; i < n; i++) {
		fe_frombytes(&y, ed[i]);
		fe_add(&num[i], &one, &y);
		fe_sub(&den[i], &one, &y);
		if (i == 0)
			acc[0] = den[0];
		else
			fe_mul(&acc[i], &acc[i - 1], &den[i]);
	}
	/* One inversion for all: 1/den[i] = acc[i-1] / acc[i]. */
	fe_invert(&inv, &acc[n - 1]);
	for (size_t i = n; i-- > 0;) {
		if (i > 0) {
			fe_mul(&t, &inv, &acc[i - 1]);
			fe_mul(&inv, &inv, &den[i]);
		} else {
			t = inv;
		}
		fe_mul(&t, &t, &num[i]);
		fe_tobytes(u[i], &t);
	}
}

int ephem_to_ed25519(uint8_t y[32], const uint8_t u[32])
{
	struct fe fu, one, num, den, t;
	uint8_t back[32];

	fe_frombytes(&fu, u);
	fe_tobytes(back, &fu);
	fe_one(&one);
	fe_add(&den, &fu, &one);
	fe_tobytes(y, &den);
	/* den = u + 1 is zero exactly for u = p - 1. */
	int zero = sodium_is_zero(y, 32);
	if (memcmp(back, u, 32) || zero) {
		memset(y, 0, 32);
		return -1;
	}
	fe_sub(&num, &fu, &one);
	fe_invert(&t, &den);
	fe_mul(&t, &t, &num);
	fe_tobytes(y, &t);
	return 0;
}

int ephem_keypairs(uint8_t sk[][32], uint8_t pk[][32], size_t n)
{
	uint8_t ed[EPHEM_MAX][32];
	int rc = 0;

	if (n == 0 || n > EPHEM_MAX)
		return -1;
	randombytes_buf(sk, n * 32);
	for (size_t i = 0; i < n; i++) {
		sk[i][0] &= 248;
		sk[i][31] &= 127;
		sk[i][31] |= 64;
		/* Refused only for a zero scalar or the neutral point, which a
		 * clamped scalar (a multiple of 8 below 8 * L) never gives. */
		if (crypto_scalarmult_ed25519_base_noclamp(ed[i], sk[i]) != 0)
			rc = -1;
	}
	if (rc != 0) {
		sodium_memzero(sk, n * 32);
		memset(pk, 0, n * 32);
		return -1;
	}
	ephem_to_x25519(pk, (const uint8_t (*)[32])ed, n);
	return 0;
}
