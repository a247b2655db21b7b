/* libFuzzer harness of key text: keyfile_parse on the raw bytes, and
 * b58_decode and key_from_str on a NUL-terminated copy.
 *
 * Base58 without padding has one spelling per byte string, so whatever is
 * accepted must encode back to exactly the text it came from; and bytes
 * encoded must decode back to themselves. */
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b58.h"
#include "keys.h"

static void check_reencodes(const char *text, const uint8_t *bytes, size_t n)
{
	char again[128];
	if (b58_encode(bytes, n, again, sizeof(again)) < 0 || strcmp(again, text) != 0) {
		fprintf(stderr, "'%s' decoded to %zu bytes that encode as '%s'\n", text, n, again);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct keypair kp;
	char err[256];
	uint8_t out[65];

	if (!ready) {
		if (sodium_init() < 0)
			abort();
		ready = 1;
	}

	/* A key file's contents, at the size given. */
	memset(err, 0, sizeof(err));
	if (keyfile_parse((const char *)data, size, &kp, err, sizeof(err)) == 0) {
		/* One Base58 line, optionally newline-terminated. */
		size_t len = size;
		if (len && data[len - 1] == '\n')
			len--;
		char *line = malloc(len + 1);
		if (!line)
			abort();
		memcpy(line, data, len);
		line[len] = 0;
		check_reencodes(line, kp.sk, 32);
		uint8_t pk[32];
		crypto_scalarmult_base(pk, kp.sk);
		if (memcmp(pk, kp.pk, 32) != 0)
			abort();
		free(line);
	} else if (!err[0]) {
		abort(); /* a refusal always says why */
	}

	/* Text: a NUL-terminated copy (stops at the first NUL in the input). */
	char *s = malloc(size + 1);
	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = 0;
	if (key_from_str(s, out) == 0)
		check_reencodes(s, out, 32);
	/* Every length b58 handles, and one past it. */
	for (size_t n = 0; n <= 65; n++) {
		memset(out, 0, sizeof(out));
		if (b58_decode(s, out, n) == 0)
			check_reencodes(s, out, n);
	}
	free(s);

	/* Bytes: encode, decode back. */
	if (size <= 64) {
		char text[100];
		uint8_t back[64];
		int len = b58_encode(data, size, text, sizeof(text));
		if (len < 0 || (size_t)len != strlen(text))
			abort();
		if (size > 0 && (b58_decode(text, back, size) != 0 ||
		                 memcmp(back, data, size) != 0))
			abort();
	}
	return 0;
}
