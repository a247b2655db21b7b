/* proxymsg — see proxymsg.h for the layout. */
#include <string.h>

#include "proxymsg.h"

int pmsg_sequenced(enum pmsg_kind k)
{
	return k == PMSG_OPEN || k == PMSG_DATA || k == PMSG_CLOSE;
}

const char *pmsg_kind_name(enum pmsg_kind k)
{
	switch (k) {
	case PMSG_OPEN: return "open";
	case PMSG_DATA: return "data";
	case PMSG_CLOSE: return "close";
	case PMSG_RESET: return "reset";
	case PMSG_CREDIT: return "credit";
	}
	return "?";
}

/* A reason is one printable line: it ends up in the other side's log. */
static int reason_ok(const uint8_t *p, size_t n)
{
	if (n > PMSG_REASON_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] > 0x7e)
			return 0;
	return 1;
}

static const char *check(const struct pmsg *m)
{
	switch (m->kind) {
	case PMSG_DATA:
		if (m->len < 1 || m->len > PMSG_DATA_MAX)
			return m->len ? "data longer than a message holds" : "empty data";
		return NULL;
	case PMSG_RESET:
		return reason_ok(m->data, m->len) ? NULL : "reset reason not one printable line";
	case PMSG_OPEN:
		if (m->id != 0)
			return "open with a message id other than 0";
		/* fallthrough */
	case PMSG_CLOSE:
	case PMSG_CREDIT:
		return m->len ? "payload on a message that takes none" : NULL;
	}
	return "unknown kind";
}

size_t pmsg_encode(uint8_t *out, size_t outsz, const struct pmsg *m)
{
	if (check(m) || outsz < PMSG_HDR + m->len)
		return 0;
	out[0] = PMSG_VERSION;
	out[1] = (uint8_t)m->kind;
	out[2] = (uint8_t)(m->id >> 8);
	out[3] = (uint8_t)m->id;
	out[4] = (uint8_t)(m->credit >> 8);
	out[5] = (uint8_t)m->credit;
	memcpy(out + 6, m->sid, PMSG_SID_BYTES);
	if (m->len)
		memcpy(out + PMSG_HDR, m->data, m->len);
	return PMSG_HDR + m->len;
}

int pmsg_decode(const uint8_t *in, size_t len, struct pmsg *m, const char **why)
{
	if (len < PMSG_HDR) {
		*why = "shorter than a proxy message header";
		return -1;
	}
	if (len > PMSG_MAX) {
		*why = "longer than a proxy message";
		return -1;
	}
	if (in[0] != PMSG_VERSION) {
		*why = "unknown proxy message version";
		return -1;
	}
	m->kind = (enum pmsg_kind)in[1];
	m->id = (uint16_t)(in[2] << 8 | in[3]);
	m->credit = (uint16_t)(in[4] << 8 | in[5]);
	memcpy(m->sid, in + 6, PMSG_SID_BYTES);
	m->data = in + PMSG_HDR;
	m->len = len - PMSG_HDR;
	const char *bad = check(m);
	if (bad) {
		*why = bad;
		return -1;
	}
	return 0;
}
