/* rng — the process's random bytes, from the kernel's generator through a
 * fast-key-erasure ChaCha20 stream in user space.
 *
 * libsodium's own generators make one system call per request.  A sender
 * makes about fifteen requests per packet (route draws, delays, tags, key
 * pairs, padding), and on the machines measured a system call costs about
 * a microsecond: over 3% of a packet's CPU.  rng_install() puts this one
 * under every randombytes_* call, libsodium's own included:
 *
 *   - each refill of its 512-byte buffer runs ChaCha20 with the current
 *     key and replaces the key with the stream's first 32 bytes, so the
 *     state never holds what it has given out (bytes served are wiped);
 *   - it mixes 32 fresh bytes from the kernel into the key at the first
 *     use, every RNG_RESEED_REFILLS refills after, and on randombytes_stir;
 *   - a child of fork() starts from fresh kernel bytes (pthread_atfork), so
 *     parent and child never share a stream: daemon(3) forks, and so does
 *     every unit test;
 *   - a request larger than the buffer is one ChaCha20 stream under a key
 *     drawn for it alone.
 *
 * One thread, like everything in mixproxy: no locks. */
#ifndef MIXPROXY_RNG_H
#define MIXPROXY_RNG_H

#include <stdint.h>

#define RNG_RESEED_REFILLS 256 /* 128 KiB of output between kernel draws */

/* Before sodium_init().  0, or -1 if libsodium refused the implementation. */
int rng_install(void);

/* How many times the key took kernel bytes (tests). */
uint64_t rng_reseeds(void);

/* A sample of the exponential distribution of this mean (0 if mean <= 0):
 * the gaps of a Poisson process. */
double rng_exp(double mean);

/* The next event of a Poisson stream of this mean (microseconds), drawn
 * from the last one's due time *at, not from now: a loop that ran late
 * catches up, so the rate an observer sees does not fall with the
 * process's load.  Behind by more than a second (a stall), the stream
 * starts afresh from now rather than burst.  *at advances; the result is
 * how long from now until it is due (0 if it is already). */
uint64_t rng_poisson_next(uint64_t *at, uint64_t now_us, double mean_us);

#endif
