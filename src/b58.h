/* b58 — Base58 (the Bitcoin alphabet, as Nym prints keys): short,
 * copy-pasteable, and free of look-alike characters (0 O I l). */
#ifndef MIXPROXY_B58_H
#define MIXPROXY_B58_H

#include <stddef.h>
#include <stdint.h>

/* Longest text for n bytes is about n * 1.37 + 1; 32-byte keys: <= 44. */
#define B58_KEY_CHARS 45 /* 44 characters and the NUL */

/* Encode n (<= 64) bytes; returns the length written (excluding NUL), or
 * -1 if out (outsz bytes) is too small. */
int b58_encode(const uint8_t *in, size_t n, char *out, size_t outsz);
/* Decode text of exactly n bytes (<= 64); -1 on a bad character, or if
 * the text does not encode exactly n bytes. */
int b58_decode(const char *s, uint8_t *out, size_t n);

#endif
