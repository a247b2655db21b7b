/* mixbody — the body of a mixnet packet, as the mixnet client writes and
 * reads it: a pure encoder and decoder, no state.
 *
 * The body (PKT_BODY_BYTES, inside the layered encryption), big-endian:
 *
 *   0  kind      1 DATA, 2 REPLY, 3 ACK, 4 COVER, 5 LOOP
 *   1  nsurbs    reply blocks that follow (DATA and ACK from the sender)
 *   2  nacks     acknowledged message ids that follow
 *   3  want      reply blocks the receiver would like to hold (via SURB)
 *   4  len       u16, message bytes
 *   6  have      reply blocks the sender of this packet holds (via SURB)
 *   7  try       which send of this message this is (1..255)
 *   8  msg_id    u64 (DATA, REPLY), 0 otherwise
 *   16 tag       the sender's anonymous tag (packets to an address), or zero
 *   32 floor     u64: every id below it the sender has had acked or has
 *                given up; the receiver's window moves up to it
 *   40 epoch     u64: the epoch of the holder's state for the tag (below):
 *                via SURB the sender's own; to an address the one the
 *                sender last took from the holder (0: none yet)
 *   48 named     u64, via SURB: the epoch the tag's owner last named to
 *                this state (0: none)
 *      pnum      u64, to an address: the packet's number, from 1, in the
 *                sender's series to that holder (each packet is taken
 *                once: a replayed delivery must not restock used blocks)
 *   56 nsurbs x SURB_BYTES, then nacks x u64, then len bytes, then zeros
 *      (random bytes in COVER and LOOP).
 *
 * Ids are 56 bits: an ack is the message id with, in its top byte, the
 * try it answers, and the decoder masks the top byte off msg_id and
 * floor.  What the fields mean to the conversation (epochs, windows) is
 * mixclient.c's; this module only guarantees that what it decodes lies
 * within the body it was given, and that what it encodes decodes to the
 * same. */
#ifndef MIXPROXY_MIXBODY_H
#define MIXPROXY_MIXBODY_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "packet.h"

#define MB_HDR 56
#define MB_TAG_BYTES 16
#define MB_MAX_SURBS 3
#define MB_MAX_ACKS 255
#define MB_ID_MASK ((1ull << 56) - 1)
#define MB_ACK_BYTES 8

enum mb_kind { MB_DATA = 1, MB_REPLY = 2, MB_ACK = 3, MB_COVER = 4, MB_LOOP = 5 };

/* The fixed fields; the counts and the length are the encoder's. */
struct mb_head {
	uint8_t kind, want, have, try;
	uint64_t id, floor, epoch;
	union {                 /* offset 48: which one, the direction says */
		uint64_t named; /* via SURB */
		uint64_t pnum;  /* to an address */
	};
	uint8_t tag[MB_TAG_BYTES];
};

/* A decoded body: the sections point into the caller's bytes. */
struct mb_view {
	struct mb_head h;
	unsigned nsurbs, nacks;
	size_t len;
	const uint8_t *surbs;   /* nsurbs x SURB_BYTES */
	const uint8_t *acks;    /* nacks x MB_ACK_BYTES: read with mb_ack */
	const uint8_t *data;    /* len bytes */
};

/* 0, or -1 when n is not PKT_BODY_BYTES, or the counts and the length
 * name more than the body holds (or more than MB_MAX_SURBS blocks). */
int mb_parse(const uint8_t *b, size_t n, struct mb_view *v);
/* The i-th ack (i < v->nacks), try byte included. */
uint64_t mb_ack(const struct mb_view *v, unsigned i);

/* The kind alone, from any body (COVER and LOOP are random past it);
 * 0 when n is 0. */
int mb_kind(const uint8_t *b, size_t n);

/* An encoder: set the fields of h at any time before mb_finish; the
 * sections go in their wire order (blocks, acks, data), each refused
 * once a later one has begun. */
struct mb_writer {
	struct mb_head h;
	unsigned nsurbs, nacks;
	size_t len;
	int has_data;
	struct wr w;            /* the sections, after the header */
	uint8_t b[PKT_BODY_BYTES];
};

void mb_begin(struct mb_writer *e, enum mb_kind kind, uint64_t id, const uint8_t *tag);
/* Bytes left for sections. */
size_t mb_room(const struct mb_writer *e);
/* 0, or -1 (no room, MB_MAX_SURBS reached, or acks or data already in). */
int mb_add_surb(struct mb_writer *e, const uint8_t surb[SURB_BYTES]);
/* 0, or -1 (fewer than `reserve` bytes would be left, MB_MAX_ACKS
 * reached, or data already in). */
int mb_add_ack(struct mb_writer *e, uint64_t ack, size_t reserve);
/* 0, or -1 (no room, or data already in). */
int mb_add_data(struct mb_writer *e, const uint8_t *data, size_t len);
/* Fill what follows the sections with random bytes (COVER, LOOP). */
void mb_pad_random(struct mb_writer *e);
/* Write the header; the body is e->b, PKT_BODY_BYTES long. */
const uint8_t *mb_finish(struct mb_writer *e);

#endif
