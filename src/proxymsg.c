/* proxymsg — see proxymsg.h for the layout. */
#include "proxymsg.h"

#include <string.h>

#include "buf.h"
#include "mixclient.h"

_Static_assert(PMSG_MAX == MIX_MSG_MAX, "a proxy message is one mixnet message");

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

const char *pmsg_invalid(const struct pmsg *m)
{
	switch (m->kind) {
	case PMSG_DATA:
		if (m->len < 1 || m->len > PMSG_DATA_MAX)
			return m->len ? "data longer than a message holds" : "empty data";
		return NULL;
	case PMSG_RESET:
		return reason_ok(m->data, m->len) ? NULL : "reset reason not one printable line";
	case PMSG_OPEN:
		if (m->id != PMSG_ID_FIRST)
			return "open with a message id other than the first";
		/* fallthrough */
	case PMSG_CLOSE:
	case PMSG_CREDIT:
		return m->len ? "payload on a message that takes none" : NULL;
	}
	return "unknown kind";
}

size_t pmsg_encode(uint8_t *out, size_t outsz, const struct pmsg *m)
{
	struct wr w;
	/* Nothing is written unless all of it fits. */
	if (pmsg_invalid(m) || outsz < PMSG_HDR + m->len)
		return 0;
	wr_init(&w, out, outsz);
	wr_u8(&w, PMSG_VERSION);
	wr_u8(&w, (uint8_t)m->kind);
	wr_u16(&w, m->id);
	wr_u16(&w, m->credit);
	wr_bytes(&w, m->sid, PMSG_SID_BYTES);
	wr_bytes(&w, m->data, m->len);
	return w.ok ? w.off : 0;
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
	struct rd r;
	uint8_t version, kind;
	rd_init(&r, in, len);
	rd_u8(&r, &version);
	if (version != PMSG_VERSION) {
		*why = "unknown proxy message version";
		return -1;
	}
	rd_u8(&r, &kind);
	rd_u16(&r, &m->id);
	rd_u16(&r, &m->credit);
	rd_bytes(&r, m->sid, PMSG_SID_BYTES);
	m->kind = (enum pmsg_kind)kind;
	m->len = rd_left(&r);
	rd_ptr(&r, &m->data, m->len);
	const char *bad = pmsg_invalid(m);
	if (bad) {
		*why = bad;
		return -1;
	}
	return 0;
}
