/* mailbox — see mailbox.h. */
#include "mailbox.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "packet.h"
#include "util.h"

struct mail {
	struct list node;    /* in its mailbox */
	uint64_t t_us;
	uint8_t dlv[PKT_BYTES];
};

static struct mail *mail_first(const struct mailbox *mb)
{
	return list_empty(&mb->mail) ? NULL : list_entry(mb->mail.next, struct mail, node);
}

void mailbox_init(struct mailbox *mb)
{
	list_init(&mb->mail);
	mb->n = 0;
}

void mailbox_pop(struct mail_pool *p, struct mailbox *mb)
{
	struct mail *m = mail_first(mb);
	list_remove(&m->node);
	mb->n--;
	p->total--;
	sodium_memzero(m, sizeof(*m));
	free(m);
}

int mailbox_put(struct mail_pool *p, struct mailbox *mb, const uint8_t *dlv, uint64_t t_us)
{
	int pushed = 0;
	if (mb->n >= p->max_each || p->total >= p->max_total) {
		if (!mb->n)
			return -1;
		mailbox_pop(p, mb);
		pushed = 1;
	}
	struct mail *m = xcalloc(1, sizeof(*m));
	m->t_us = t_us;
	memcpy(m->dlv, dlv, PKT_BYTES);
	list_push_back(&mb->mail, &m->node);
	mb->n++;
	p->total++;
	return pushed;
}

const uint8_t *mailbox_oldest(const struct mailbox *mb, uint64_t *t_us)
{
	const struct mail *m = mail_first(mb);
	if (!m)
		return NULL;
	if (t_us)
		*t_us = m->t_us;
	return m->dlv;
}

size_t mailbox_expire(struct mail_pool *p, struct mailbox *mb, uint64_t cutoff_us)
{
	size_t gone = 0;
	const struct mail *m;
	while ((m = mail_first(mb)) && m->t_us < cutoff_us) {
		mailbox_pop(p, mb);
		gone++;
	}
	return gone;
}

void mailbox_move(struct mail_pool *from, struct mail_pool *to, struct mailbox *mb)
{
	from->total -= mb->n;
	to->total += mb->n;
}

void mailbox_clear(struct mail_pool *p, struct mailbox *mb)
{
	while (mb->n)
		mailbox_pop(p, mb);
}
