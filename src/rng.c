/* rng — see rng.h. */
#include "rng.h"

#include <math.h>
#include <pthread.h>
#include <sodium.h>
#include <string.h>

#define BUF_BYTES 512

static struct {
	uint8_t key[crypto_stream_chacha20_KEYBYTES];
	uint8_t buf[BUF_BYTES];
	size_t pos;          /* bytes of buf already served (and wiped) */
	unsigned refills;    /* since the last reseed */
	int seeded;
	uint64_t reseeds;
} R = { .pos = BUF_BYTES };

/* key = BLAKE2b-256 keyed with the old key over 32 kernel bytes: what the
 * state held before and the kernel's bytes both have to be known. */
static void reseed(void)
{
	uint8_t fresh[32], key[sizeof(R.key)];
	randombytes_sysrandom_implementation.buf(fresh, sizeof(fresh));
	crypto_generichash(key, sizeof(key), fresh, sizeof(fresh),
	                   R.seeded ? R.key : NULL, R.seeded ? sizeof(R.key) : 0);
	memcpy(R.key, key, sizeof(key));
	sodium_memzero(key, sizeof(key));
	sodium_memzero(fresh, sizeof(fresh));
	sodium_memzero(R.buf, sizeof(R.buf));
	R.pos = BUF_BYTES;
	R.refills = 0;
	R.seeded = 1;
	R.reseeds++;
}

static void refill(void)
{
	static const uint8_t nonce[crypto_stream_chacha20_NONCEBYTES];
	uint8_t block[sizeof(R.key) + BUF_BYTES];

	if (!R.seeded || R.refills >= RNG_RESEED_REFILLS)
		reseed();
	/* Every key is used for one stream only, so the nonce can stay 0. */
	crypto_stream_chacha20(block, sizeof(block), nonce, R.key);
	memcpy(R.key, block, sizeof(R.key));
	memcpy(R.buf, block + sizeof(R.key), BUF_BYTES);
	sodium_memzero(block, sizeof(block));
	R.pos = 0;
	R.refills++;
}

static void take(void *out, size_t n)
{
	uint8_t *o = out;
	while (n > 0) {
		if (R.pos == BUF_BYTES)
			refill();
		size_t k = BUF_BYTES - R.pos < n ? BUF_BYTES - R.pos : n;
		memcpy(o, R.buf + R.pos, k);
		sodium_memzero(R.buf + R.pos, k);
		R.pos += k;
		o += k;
		n -= k;
	}
}

static void rng_buf(void *const out, const size_t n)
{
	if (n <= BUF_BYTES) {
		take(out, n);
		return;
	}
	static const uint8_t nonce[crypto_stream_chacha20_NONCEBYTES];
	uint8_t k[crypto_stream_chacha20_KEYBYTES];
	take(k, sizeof(k));
	crypto_stream_chacha20(out, n, nonce, k);
	sodium_memzero(k, sizeof(k));
}

static uint32_t rng_random(void)
{
	uint32_t v;
	take(&v, sizeof(v));
	return v;
}

static void rng_stir(void)
{
	reseed();
}

static const char *rng_name(void)
{
	return "mixproxy-fke-chacha20";
}

static int rng_close(void)
{
	sodium_memzero(&R, sizeof(R));
	R.pos = BUF_BYTES;
	return 0;
}

/* The child must not repeat the parent's stream: forget the state, so the
 * next request starts from kernel bytes. */
static void after_fork_child(void)
{
	sodium_memzero(R.key, sizeof(R.key));
	sodium_memzero(R.buf, sizeof(R.buf));
	R.pos = BUF_BYTES;
	R.seeded = 0;
}

static randombytes_implementation impl = {
	.implementation_name = rng_name,
	.random = rng_random,
	.stir = rng_stir,
	.uniform = NULL, /* libsodium's rejection sampling over .random */
	.buf = rng_buf,
	.close = rng_close,
};

int rng_install(void)
{
	static int installed;
	if (installed)
		return 0;
	if (pthread_atfork(NULL, NULL, after_fork_child) != 0)
		return -1;
	if (randombytes_set_implementation(&impl) != 0)
		return -1;
	installed = 1;
	return 0;
}

uint64_t rng_reseeds(void)
{
	return R.reseeds;
}

double rng_exp(double mean)
{
	if (mean <= 0)
		return 0;
	/* u in (0, 1]: never log(0). */
	double u = ((double)randombytes_random() + 1.0) / 4294967296.0;
	return -log(u) * mean;
}

uint64_t rng_poisson_next(uint64_t *at, uint64_t now_us, double mean_us)
{
	if (*at + 1000000 < now_us)
		*at = now_us;
	*at += (uint64_t)rng_exp(mean_us);
	return *at > now_us ? *at - now_us : 0;
}
