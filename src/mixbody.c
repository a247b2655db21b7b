/* mixbody — see mixbody.h. */
#include "mixbody.h"

#include <sodium.h>
#include <string.h>

int mb_parse(const uint8_t *b, size_t n, struct mb_view *v)
{
	struct rd r;
	uint8_t ns, na;
	uint16_t len;
	memset(v, 0, sizeof(*v));
	if (n != PKT_BODY_BYTES)
		return -1;
	rd_init(&r, b, n);
	rd_u8(&r, &v->h.kind);
	rd_u8(&r, &ns);
	rd_u8(&r, &na);
	rd_u8(&r, &v->h.want);
	rd_u16(&r, &len);
	rd_u8(&r, &v->h.have);
	rd_u8(&r, &v->h.try);
	rd_u64(&r, &v->h.id);
	rd_bytes(&r, v->h.tag, MB_TAG_BYTES);
	rd_u64(&r, &v->h.floor);
	rd_u64(&r, &v->h.epoch);
	rd_u64(&r, &v->h.named);
	v->h.id &= MB_ID_MASK;
	v->h.floor &= MB_ID_MASK;
	if (ns > MB_MAX_SURBS)
		return -1;
	v->nsurbs = ns;
	v->nacks = na;
	v->len = len;
	/* Each section is taken from the cursor: one that runs past the
	 * end poisons it, and the check below catches all three. */
	rd_ptr(&r, &v->surbs, (size_t)ns * SURB_BYTES);
	rd_ptr(&r, &v->acks, (size_t)na * MB_ACK_BYTES);
	rd_ptr(&r, &v->data, len);
	if (!r.ok) {
		memset(v, 0, sizeof(*v));
		return -1;
	}
	return 0;
}

int mb_kind(const uint8_t *b, size_t n)
{
	struct rd r;
	uint8_t k = 0;
	rd_init(&r, b, n);
	rd_u8(&r, &k);
	return k;
}

uint64_t mb_ack(const struct mb_view *v, unsigned i)
{
	struct rd r;
	uint64_t a = 0;
	if (i >= v->nacks)
		return 0;
	rd_init(&r, v->acks + (size_t)i * MB_ACK_BYTES, MB_ACK_BYTES);
	rd_u64(&r, &a);
	return a;
}

void mb_begin(struct mb_writer *e, enum mb_kind kind, uint64_t id, const uint8_t *tag)
{
	memset(e, 0, sizeof(*e));
	e->h.kind = (uint8_t)kind;
	e->h.id = id;
	if (tag)
		memcpy(e->h.tag, tag, MB_TAG_BYTES);
	wr_init(&e->w, e->b + MB_HDR, sizeof(e->b) - MB_HDR);
}

size_t mb_room(const struct mb_writer *e)
{
	return wr_left(&e->w);
}

int mb_add_surb(struct mb_writer *e, const uint8_t surb[SURB_BYTES])
{
	if (e->nacks || e->has_data || e->nsurbs >= MB_MAX_SURBS || mb_room(e) < SURB_BYTES)
		return -1;
	wr_bytes(&e->w, surb, SURB_BYTES);
	e->nsurbs++;
	return 0;
}

int mb_add_ack(struct mb_writer *e, uint64_t ack, size_t reserve)
{
	if (e->has_data || e->nacks >= MB_MAX_ACKS || mb_room(e) < reserve + MB_ACK_BYTES)
		return -1;
	wr_u64(&e->w, ack);
	e->nacks++;
	return 0;
}

int mb_add_data(struct mb_writer *e, const uint8_t *data, size_t len)
{
	if (e->has_data || len > UINT16_MAX || mb_room(e) < len)
		return -1;
	wr_bytes(&e->w, data, len);
	e->len = len;
	e->has_data = 1;
	return 0;
}

void mb_pad_random(struct mb_writer *e)
{
	size_t n = mb_room(e);
	if (n)
		randombytes_buf(e->b + MB_HDR + e->w.off, n);
}

const uint8_t *mb_finish(struct mb_writer *e)
{
	struct wr w;
	wr_init(&w, e->b, MB_HDR);
	wr_u8(&w, e->h.kind);
	wr_u8(&w, (uint8_t)e->nsurbs);
	wr_u8(&w, (uint8_t)e->nacks);
	wr_u8(&w, e->h.want);
	wr_u16(&w, (uint16_t)e->len);
	wr_u8(&w, e->h.have);
	wr_u8(&w, e->h.try);
	wr_u64(&w, e->h.id);
	wr_bytes(&w, e->h.tag, MB_TAG_BYTES);
	wr_u64(&w, e->h.floor);
	wr_u64(&w, e->h.epoch);
	wr_u64(&w, e->h.named);
	return e->b;
}
