/* b58 — see b58.h.  Quadratic big-number conversion: fine for keys. */
#include "b58.h"

#include <string.h>

static const char alphabet[] =
	"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

int b58_encode(const uint8_t *in, size_t n, char *out, size_t outsz)
{
	uint8_t digits[96]; /* base-58 digits, least significant first */
	size_t nd = 0, zeros = 0;

	if (n > 64)
		return -1;
	while (zeros < n && in[zeros] == 0)
		zeros++;
	for (size_t i = zeros; i < n; i++) {
		unsigned carry = in[i];
		for (size_t j = 0; j < nd; j++) {
			carry += (unsigned)digits[j] << 8;
			digits[j] = (uint8_t)(carry % 58);
			carry /= 58;
		}
		while (carry) {
			digits[nd++] = (uint8_t)(carry % 58);
			carry /= 58;
		}
	}
	if (zeros + nd + 1 > outsz)
		return -1;
	size_t o = 0;
	for (size_t i = 0; i < zeros; i++)
		out[o++] = '1';
	for (size_t j = nd; j-- > 0;)
		out[o++] = alphabet[digits[j]];
	out[o] = 0;
	return (int)o;
}

int b58_decode(const char *s, uint8_t *out, size_t n)
{
	uint8_t bytes[64]; /* least significant first */
	size_t nb = 0, zeros = 0, len = strlen(s);

	if (n > 64 || len == 0 || len > 100)
		return -1;
	while (zeros < len && s[zeros] == '1')
		zeros++;
	for (size_t i = zeros; i < len; i++) {
		const char *p = strchr(alphabet, s[i]);
		if (!p || !s[i])
			return -1;
		unsigned carry = (unsigned)(p - alphabet);
		for (size_t j = 0; j < nb; j++) {
			carry += (unsigned)bytes[j] * 58;
			bytes[j] = (uint8_t)carry;
			carry >>= 8;
		}
		while (carry) {
			if (nb == sizeof(bytes))
				return -1;
			bytes[nb++] = (uint8_t)carry;
			carry >>= 8;
		}
	}
	if (zeros + nb != n)
		return -1;
	memset(out, 0, zeros);
	for (size_t j = 0; j < nb; j++)
		out[zeros + j] = bytes[nb - 1 - j];
	return 0;
}
