/* fring — see fring.h. */
#include "fring.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

int fring_init(struct fring *r, size_t size, size_t cap)
{
	memset(r, 0, sizeof(*r));
	if (!size || !cap || cap > SIZE_MAX / size)
		return -1;
	r->alloc = cap < FRING_FIRST ? cap : FRING_FIRST;
	r->rec = xcalloc(r->alloc, size);
	r->size = size;
	r->cap = cap;
	return 0;
}

void fring_free(struct fring *r)
{
	if (r->rec)
		sodium_memzero(r->rec, r->alloc * r->size);
	free(r->rec);
	memset(r, 0, sizeof(*r));
}

static uint8_t *slot(const struct fring *r, size_t i)
{
	return r->rec + ((r->head + i) % r->alloc) * r->size;
}

/* Room for twice as many records (at most cap), oldest first from 0; the
 * old room is wiped before it is freed (realloc would leave it as it is). */
static void grow(struct fring *r)
{
	size_t alloc = r->alloc > r->cap / 2 ? r->cap : r->alloc * 2;
	uint8_t *rec = xcalloc(alloc, r->size);
	for (size_t i = 0; i < r->n; i++)
		memcpy(rec + i * r->size, slot(r, i), r->size);
	sodium_memzero(r->rec, r->alloc * r->size);
	free(r->rec);
	r->rec = rec;
	r->alloc = alloc;
	r->head = 0;
}

void *fring_at(const struct fring *r, size_t i)
{
	return r->rec && i < r->n ? slot(r, i) : NULL;
}

void *fring_oldest(const struct fring *r)
{
	return fring_at(r, 0);
}

void *fring_newest(const struct fring *r)
{
	return r->n ? fring_at(r, r->n - 1) : NULL;
}

int fring_drop_oldest(struct fring *r)
{
	if (!r->n)
		return -1;
	sodium_memzero(slot(r, 0), r->size);
	r->head = (r->head + 1) % r->alloc;
	r->n--;
	return 0;
}

int fring_drop_newest(struct fring *r)
{
	if (!r->n)
		return -1;
	sodium_memzero(slot(r, r->n - 1), r->size);
	r->n--;
	return 0;
}

int fring_push(struct fring *r, const void *rec)
{
	int dropped = 0;
	if (!r->rec)
		return -1;
	if (r->n == r->cap)
		dropped = fring_drop_oldest(r) == 0;
	else if (r->n == r->alloc)
		grow(r);
	memcpy(slot(r, r->n), rec, r->size);
	r->n++;
	return dropped;
}

size_t fring_filter(struct fring *r, int (*keep)(const void *rec, void *ctx), void *ctx)
{
	size_t kept = 0, n = r->n;
	for (size_t i = 0; i < n; i++) {
		uint8_t *from = slot(r, i);
		if (!keep(from, ctx)) {
			sodium_memzero(from, r->size);
			continue;
		}
		if (kept != i) {
			memcpy(slot(r, kept), from, r->size);
			sodium_memzero(from, r->size);
		}
		kept++;
	}
	r->n = kept;
	return n - kept;
}

int fring_take_newest(struct fring *r, void *out)
{
	void *p = fring_newest(r);
	if (!p)
		return -1;
	memcpy(out, p, r->size);
	return fring_drop_newest(r);
}

int fring_take_oldest(struct fring *r, void *out)
{
	void *p = fring_oldest(r);
	if (!p)
		return -1;
	memcpy(out, p, r->size);
	return fring_drop_oldest(r);
}
