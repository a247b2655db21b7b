/* libFuzzer harness of the control socket's request parser (ctl.h): the
 * input is what a peer sends to a daemon's control socket.
 *
 * 1. Fed whole, in two pieces (cut where the first byte says) and byte
 *    by byte, then ended as at EOF: the same outcome and the same reason
 *    every time.
 * 2. The outcome is the one a model written from the protocol gives
 *    (mixproxy(8), CONTROL SOCKET): the first line, before its newline at
 *    most CTL_REQ_MAX - 1 bytes of printable ASCII, tab or CR, is "show"
 *    or "metrics" once spaces, tabs and CRs around it are trimmed;
 *    anything else is an error, and an error comes as soon as a byte
 *    makes it certain.
 * 3. A reason is printable ASCII, within its buffer.
 * 4. The input as a label value (ctl_label): the output is key="...",
 *    with no bare quote or newline inside, and unescapes to a prefix of
 *    the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

static int printable(uint8_t c)
{
	return (c >= 0x20 && c <= 0x7e) || c == '\t' || c == '\r';
}

static int blank(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* The outcome after n bytes, and after the end of input if end. */
static enum ctl_req model(const uint8_t *d, size_t n, int end)
{
	size_t i;
	for (i = 0; i < n && d[i] != '\n'; i++)
		if (!printable(d[i]) || i == CTL_REQ_MAX - 1)
			return CTL_REQ_BAD;
	if (i == n && !end)
		return CTL_REQ_MORE;
	if (i == n && n == 0)
		return CTL_REQ_BAD;   /* nothing before the end */
	size_t a = 0, z = i;
	while (a < z && blank(d[a]))
		a++;
	while (z > a && blank(d[z - 1]))
		z--;
	if (z - a == 4 && !memcmp(d + a, "show", 4))
		return CTL_REQ_SHOW;
	if (z - a == 7 && !memcmp(d + a, "metrics", 7))
		return CTL_REQ_METRICS;
	return CTL_REQ_BAD;
}

static void check_reason(const struct ctl_parser *p)
{
	size_t n = strnlen(p->why, sizeof(p->why));
	if (n == sizeof(p->why))
		abort();
	if ((p->req == CTL_REQ_BAD) != (n > 0))
		abort();   /* an error, and only an error, says why */
	for (size_t i = 0; i < n; i++)
		if ((uint8_t)p->why[i] < 0x20 || (uint8_t)p->why[i] > 0x7e)
			abort();
}

static void parse(const uint8_t *data, size_t size)
{
	struct ctl_parser whole, two, bytes;
	size_t cut = size ? data[0] % (size + 1) : 0;
	ctl_parser_init(&whole);
	ctl_parser_init(&two);
	ctl_parser_init(&bytes);

	enum ctl_req r = ctl_parser_feed(&whole, data, size);
	if (r != model(data, size, 0))
		abort();
	check_reason(&whole);
	ctl_parser_feed(&two, data, cut);
	ctl_parser_feed(&two, data + cut, size - cut);
	for (size_t i = 0; i < size; i++) {
		enum ctl_req b = ctl_parser_feed(&bytes, data + i, 1);
		/* Decided as soon as the bytes so far decide it. */
		if (b != model(data, i + 1, 0))
			abort();
	}
	enum ctl_req e1 = ctl_parser_end(&whole), e2 = ctl_parser_end(&two),
	             e3 = ctl_parser_end(&bytes);
	if (e1 != e2 || e1 != e3 || e1 != model(data, size, 1) || e1 == CTL_REQ_MORE)
		abort();
	if (strcmp(whole.why, two.why) || strcmp(whole.why, bytes.why))
		abort();
	check_reason(&whole);
}

static void label(const uint8_t *data, size_t size)
{
	char value[512], out[1100];
	size_t n = strnlen((const char *)data, size < sizeof(value) ? size : sizeof(value) - 1);
	memcpy(value, data, n);
	value[n] = 0;
	size_t room = size ? 1 + data[size - 1] % sizeof(out) : sizeof(out);
	ctl_label(out, room, "k", value);
	size_t len = strlen(out);
	if (len >= room)
		abort();
	if (len == 0)
		return;    /* no room even for k="" */
	if (len < 4 || memcmp(out, "k=\"", 3) || out[len - 1] != '"')
		abort();
	size_t j = 0;
	for (size_t i = 3; i < len - 1; i++, j++) {
		char c = out[i];
		if (c == '"' || c == '\n')
			abort();
		if (c == '\\') {
			char e = out[++i];
			c = e == 'n' ? '\n' : e;
			if (i >= len - 1 || (e != 'n' && e != '\\' && e != '"'))
				abort();
		}
		if (j >= n || value[j] != c)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The parser decides within CTL_REQ_MAX bytes: longer inputs only
	 * make byte-by-byte feeding slow. */
	if (size > 4096)
		return 0;
	parse(data, size);
	label(data, size);
	return 0;
}
