/* topology — see topology.h.
 *
 * The parser collects one line at a time in a fixed buffer, so a line may
 * arrive split over any number of feeds and memory stays bounded by the
 * line limit plus the nodes themselves.  While parsing, nodes live in a
 * growing array, so the hash tables hold indexes (plus one, so that NULL
 * still means "absent"); finish swaps them for pointers once the array
 * stops moving. */
#include "topology.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "htab.h"
#include "keys.h"
#include "util.h"

#define TOPO_LINE_MAX 1024          /* bytes per line, without the newline */
#define TOPO_FIELDS_MAX 5           /* a mix line; one more means "too many" */
#define ADDR_KEY_BYTES 19           /* family, port, 16 address bytes */

struct topo_parser {
	char line[TOPO_LINE_MAX + 2];   /* room for a CR and the NUL */
	size_t len;
	unsigned long lineno;           /* line being collected, from 1 */
	int failed;
	char err[256];                  /* the first error, repeated after */
	struct topo_node *nodes;
	unsigned long *node_line;       /* where each node was defined */
	size_t n, cap;
	struct htab *by_id, *by_pk, *by_addr;   /* values: index + 1 */
};

static void *idx_val(size_t i)
{
	return (void *)(uintptr_t)(i + 1);
}

static size_t val_idx(void *v)
{
	return (size_t)(uintptr_t)v - 1;
}

/* Input text goes into error messages that end up in logs: show only
 * printable ASCII, and not too much of it, so a hostile or binary file
 * cannot forge log lines or flood them. */
static const char *show(const char *s, char *out, size_t outsz)
{
	size_t i = 0, max = outsz - 4;      /* room for "..." and the NUL */
	for (; s[i] && i < max; i++)
		out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (s[i]) {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = 0;
	return out;
}

static int fail(struct topo_parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int fail(struct topo_parser *p, const char *fmt, ...)
{
	int off = snprintf(p->err, sizeof(p->err), "line %lu: ", p->lineno);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->err + off, sizeof(p->err) - (size_t)off, fmt, ap);
	va_end(ap);
	p->failed = 1;
	return -1;
}

static void copy_err(const struct topo_parser *p, char *err, size_t errsz)
{
	if (errsz)
		snprintf(err, errsz, "%s", p->err);
}

struct topo_parser *topo_parser_new(void)
{
	struct topo_parser *p = xcalloc(1, sizeof(*p));
	p->lineno = 1;
	p->by_id = htab_new(PKT_ID_BYTES, TOPO_MAX_NODES);
	p->by_pk = htab_new(PKT_KEY_BYTES, TOPO_MAX_NODES);
	p->by_addr = htab_new(ADDR_KEY_BYTES, TOPO_MAX_NODES);
	if (!p->by_id || !p->by_pk || !p->by_addr) {
		/* Only a bad constant could get here. */
		topo_parser_free(p);
		return NULL;
	}
	return p;
}

void topo_parser_free(struct topo_parser *p)
{
	if (!p)
		return;
	htab_free(p->by_id);
	htab_free(p->by_pk);
	htab_free(p->by_addr);
	free(p->nodes);
	free(p->node_line);
	free(p);
}

/* Two spellings of one socket address ("127.0.0.1:80" and
 * "127.000.0.1:80" do not exist, but "[::1]:80" and "[0::1]:80" do) must
 * collide, so duplicates are found on the parsed bytes, not the text. */
static void addr_key(const struct topo_node *n, uint8_t key[ADDR_KEY_BYTES])
{
	memset(key, 0, ADDR_KEY_BYTES);
	if (n->addr.ss_family == AF_INET) {
		const struct sockaddr_in *in4 = (const struct sockaddr_in *)&n->addr;
		key[0] = 4;
		memcpy(key + 1, &in4->sin_port, 2);
		memcpy(key + 3, &in4->sin_addr, 4);
	} else {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&n->addr;
		key[0] = 6;
		memcpy(key + 1, &in6->sin6_port, 2);
		memcpy(key + 3, &in6->sin6_addr, 16);
	}
}

/* A low-order point (all zeros, say) decodes fine but no packet or link
 * to it could ever be built: refuse it here, by name, rather than fail
 * later on every packet.  libsodium refuses exactly these points in
 * X25519, so ask it; the cost (one X25519 per node) is paid at load. */
static int usable_key(const uint8_t pk[PKT_KEY_BYTES])
{
	static const uint8_t sk[crypto_scalarmult_SCALARBYTES] = { 1 };
	uint8_t out[crypto_scalarmult_BYTES];
	return crypto_scalarmult(out, sk, pk) == 0;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Parse one complete line (no newline, NUL-terminated, no NUL inside). */
static int parse_line(struct topo_parser *p, char *s)
{
	char *f[TOPO_FIELDS_MAX + 1], tmp[48];
	size_t nf = 0;

	/* A file saved by a Windows editor may start with a byte order mark. */
	if (p->lineno == 1 && !strncmp(s, "\xef\xbb\xbf", 3))
		s += 3;
	char *hash = strchr(s, '#');
	if (hash)
		*hash = 0;
	while (nf <= TOPO_FIELDS_MAX) {
		while (is_blank(*s))
			s++;
		if (!*s)
			break;
		f[nf++] = s;
		while (*s && !is_blank(*s))
			s++;
		if (*s)
			*s++ = 0;
	}
	if (nf == 0)
		return 0;       /* blank or comment only */

	struct topo_node n;
	memset(&n, 0, sizeof(n));
	if (pkt_id_from_str(n.id, f[0]))
		return fail(p, "bad id '%s' (1 to 31 of A-Z a-z 0-9 . _ -)",
		            show(f[0], tmp, sizeof(tmp)));
	memcpy(n.name, n.id, PKT_ID_BYTES);
	if (nf < 2)
		return fail(p, "too few fields (expected ID gateway HOST:PORT PUBKEY "
		            "or ID mix LAYER HOST:PORT PUBKEY)");

	size_t want;
	if (!strcmp(f[1], "gateway")) {
		n.role = TOPO_GATEWAY;
		n.layer = 0;
		want = 4;
	} else if (!strcmp(f[1], "mix")) {
		n.role = TOPO_MIX;
		want = 5;
		if (nf < 3)
			return fail(p, "missing layer");
		const char *l = f[2];
		if (l[0] >= '1' && l[0] <= '3' && !l[1]) {
			n.layer = l[0] - '0';
		} else if (nf == 4 && strchr(l, ':')) {
			/* "ID mix HOST:PORT PUBKEY": the layer was left out. */
			return fail(p, "missing layer");
		} else {
			return fail(p, "layer must be 1, 2 or 3, not '%s'",
			            show(l, tmp, sizeof(tmp)));
		}
	} else {
		return fail(p, "unknown role '%s' (expected gateway or mix)",
		            show(f[1], tmp, sizeof(tmp)));
	}
	if (nf < want)
		return fail(p, "too few fields (expected %s)", n.role == TOPO_GATEWAY ?
		            "ID gateway HOST:PORT PUBKEY" : "ID mix LAYER HOST:PORT PUBKEY");
	if (nf > want)
		return fail(p, "too many fields (expected %s)", n.role == TOPO_GATEWAY ?
		            "ID gateway HOST:PORT PUBKEY, a gateway has no layer" :
		            "ID mix LAYER HOST:PORT PUBKEY");

	const char *a = f[want - 2], *why;
	if (parse_hostport(a, &n.addr, &n.addrlen, &why))
		return fail(p, "bad address '%s': %s", show(a, tmp, sizeof(tmp)), why);
	sockaddr_str((const struct sockaddr *)&n.addr, n.addr_text, sizeof(n.addr_text));
	if (key_from_str(f[want - 1], n.pk))
		return fail(p, "bad public key '%s' (expected Base58, as mixproxy "
		            "keygen prints it)", show(f[want - 1], tmp, sizeof(tmp)));
	if (!usable_key(n.pk))
		return fail(p, "bad public key '%s' (not a usable X25519 key)",
		            show(f[want - 1], tmp, sizeof(tmp)));

	void *v;
	uint8_t ak[ADDR_KEY_BYTES];
	addr_key(&n, ak);
	if ((v = htab_get(p->by_id, n.id)))
		return fail(p, "duplicate id '%s' (first on line %lu)", n.name,
		            p->node_line[val_idx(v)]);
	if ((v = htab_get(p->by_pk, n.pk)))
		return fail(p, "duplicate key (same as '%s')", p->nodes[val_idx(v)].name);
	if ((v = htab_get(p->by_addr, ak)))
		return fail(p, "duplicate address (same as '%s')", p->nodes[val_idx(v)].name);
	if (p->n >= TOPO_MAX_NODES)
		return fail(p, "more than %d nodes", TOPO_MAX_NODES);

	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 16;
		p->nodes = xrealloc(p->nodes, p->cap * sizeof(*p->nodes));
		p->node_line = xrealloc(p->node_line, p->cap * sizeof(*p->node_line));
	}
	/* The tables hold TOPO_MAX_NODES, checked above: these cannot fail. */
	if (htab_put(p->by_id, n.id, idx_val(p->n)) ||
	    htab_put(p->by_pk, n.pk, idx_val(p->n)) ||
	    htab_put(p->by_addr, ak, idx_val(p->n)))
		return fail(p, "internal error: node table full");
	p->nodes[p->n] = n;
	p->node_line[p->n] = p->lineno;
	p->n++;
	return 0;
}

/* The collected line is complete (newline or end of input). */
static int end_line(struct topo_parser *p)
{
	if (p->len > 0 && p->line[p->len - 1] == '\r')
		p->len--;
	if (p->len > TOPO_LINE_MAX)
		return fail(p, "line longer than %d bytes", TOPO_LINE_MAX);
	p->line[p->len] = 0;
	p->len = 0;
	return parse_line(p, p->line);
}

int topo_parser_feed(struct topo_parser *p, const char *buf, size_t n, char *err, size_t errsz)
{
	if (p->failed) {
		copy_err(p, err, errsz);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		char c = buf[i];
		int r = 0;
		if (c == '\n') {
			r = end_line(p);
			p->lineno++;
		} else if (c == 0) {
			r = fail(p, "NUL byte");
		} else if (p->len > TOPO_LINE_MAX) {
			/* One byte past the limit is kept for a CR; anything
			 * beyond is an error now rather than at the newline,
			 * so an endless line is not read to its end. */
			r = fail(p, "line longer than %d bytes", TOPO_LINE_MAX);
		} else {
			p->line[p->len++] = c;
		}
		if (r) {
			copy_err(p, err, errsz);
			return -1;
		}
	}
	return 0;
}

struct topology *topo_parser_finish(struct topo_parser *p, char *err, size_t errsz)
{
	if (!p->failed && p->len > 0)
		end_line(p);    /* last line without a newline */
	if (!p->failed) {
		if (p->n == 0) {
			snprintf(p->err, sizeof(p->err), "no nodes (empty topology)");
			p->failed = 1;
		}
	}
	struct topology *t = NULL;
	if (!p->failed) {
		t = xcalloc(1, sizeof(*t));
		t->n = p->n;
		t->nodes = xrealloc(p->nodes, p->n * sizeof(*t->nodes));
		p->nodes = NULL;
		t->gateways = xcalloc(p->n, sizeof(size_t));
		for (int l = 0; l < TOPO_LAYERS; l++)
			t->layer[l] = xcalloc(p->n, sizeof(size_t));
		for (size_t i = 0; i < t->n; i++) {
			const struct topo_node *nd = &t->nodes[i];
			if (nd->role == TOPO_GATEWAY)
				t->gateways[t->ngateways++] = i;
			else
				t->layer[nd->layer - 1][t->nlayer[nd->layer - 1]++] = i;
		}
		if (t->ngateways == 0) {
			snprintf(p->err, sizeof(p->err), "no gateway");
			p->failed = 1;
		}
		for (int l = 0; l < TOPO_LAYERS && !p->failed; l++) {
			if (t->nlayer[l] == 0) {
				snprintf(p->err, sizeof(p->err), "no mix in layer %d", l + 1);
				p->failed = 1;
			}
		}
	}
	if (p->failed) {
		copy_err(p, err, errsz);
		topo_free(t);
		topo_parser_free(p);
		return NULL;
	}
	/* The array no longer moves: the tables can point into it.
	 * Replacing a value never needs room, so these cannot fail. */
	for (size_t i = 0; i < t->n; i++) {
		htab_put(p->by_id, t->nodes[i].id, &t->nodes[i]);
		htab_put(p->by_pk, t->nodes[i].pk, &t->nodes[i]);
	}
	t->by_id = p->by_id;
	t->by_pk = p->by_pk;
	p->by_id = p->by_pk = NULL;
	topo_parser_free(p);
	return t;
}

void topo_free(struct topology *t)
{
	if (!t)
		return;
	free(t->nodes);
	free(t->gateways);
	for (int l = 0; l < TOPO_LAYERS; l++)
		free(t->layer[l]);
	htab_free(t->by_id);
	htab_free(t->by_pk);
	free(t);
}

struct topology *topo_load(const char *path, char *err, size_t errsz)
{
	char buf[4096], why[256];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return NULL;
	}
	struct topo_parser *p = topo_parser_new();
	if (!p) {
		close(fd);
		snprintf(err, errsz, "%s: cannot create parser", path);
		return NULL;
	}
	for (;;) {
		ssize_t r = read(fd, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errsz, "%s: %s", path, strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		if (topo_parser_feed(p, buf, (size_t)r, why, sizeof(why))) {
			snprintf(err, errsz, "%s: %s", path, why);
			goto fail;
		}
	}
	close(fd);
	struct topology *t = topo_parser_finish(p, why, sizeof(why));
	if (!t)
		snprintf(err, errsz, "%s: %s", path, why);
	return t;
fail:
	close(fd);
	topo_parser_free(p);
	return NULL;
}

const struct topo_node *topo_by_id(const struct topology *t, const uint8_t id[PKT_ID_BYTES])
{
	return htab_get(t->by_id, id);
}

const struct topo_node *topo_by_name(const struct topology *t, const char *name)
{
	uint8_t id[PKT_ID_BYTES];
	if (pkt_id_from_str(id, name))
		return NULL;
	return topo_by_id(t, id);
}

const struct topo_node *topo_by_pk(const struct topology *t, const uint8_t pk[PKT_KEY_BYTES])
{
	return htab_get(t->by_pk, pk);
}

const struct topo_node *topo_random_mix(const struct topology *t, int layer)
{
	if (layer < 1 || layer > TOPO_LAYERS || t->nlayer[layer - 1] == 0)
		return NULL;
	size_t k = t->nlayer[layer - 1];
	/* At most TOPO_MAX_NODES entries: the count fits a uint32_t. */
	return &t->nodes[t->layer[layer - 1][randombytes_uniform((uint32_t)k)]];
}

const struct topo_node *topo_random_gateway(const struct topology *t)
{
	if (t->ngateways == 0)
		return NULL;
	return &t->nodes[t->gateways[randombytes_uniform((uint32_t)t->ngateways)]];
}

static void set_hop(struct pkt_hop *h, const struct topo_node *n)
{
	memcpy(h->id, n->id, PKT_ID_BYTES);
	memcpy(h->pk, n->pk, PKT_KEY_BYTES);
	h->delay_us = 0;
}

void topo_route(const struct topology *t, const struct topo_node *exit_gw,
                struct pkt_hop route[PKT_HOPS])
{
	for (int l = 1; l <= TOPO_LAYERS; l++)
		set_hop(&route[l - 1], topo_random_mix(t, l));
	set_hop(&route[PKT_HOPS - 1], exit_gw);
}

const char *topo_node_line(const struct topo_node *n, char *buf, size_t bufsz)
{
	char pk[B58_KEY_CHARS];
	key_to_str(n->pk, pk, sizeof(pk));
	if (n->role == TOPO_GATEWAY)
		snprintf(buf, bufsz, "%s gateway %s %s", n->name, n->addr_text, pk);
	else
		snprintf(buf, bufsz, "%s mix %d %s %s", n->name, n->layer, n->addr_text, pk);
	return buf;
}
