/* libFuzzer harness for the topology parser: the input is fed to the real
 * push parser in two chunks (split where its first byte says, so line
 * splits across feeds get explored), then finished.  When the input is
 * accepted, every node's line is printed and parsed again, and the result
 * must be the same network: the parser and topo_node_line must agree. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "topology.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same_node(const struct topo_node *a, const struct topo_node *b)
{
	return !strcmp(a->name, b->name) && !memcmp(a->id, b->id, PKT_ID_BYTES) &&
	       a->role == b->role && a->layer == b->layer &&
	       a->addrlen == b->addrlen && !memcmp(&a->addr, &b->addr, a->addrlen) &&
	       !strcmp(a->addr_text, b->addr_text) && !memcmp(a->pk, b->pk, PKT_KEY_BYTES);
}

static void round_trip(const struct topology *t)
{
	/* Node lines are short (id, address, key): 160 bytes each is ample. */
	size_t cap = t->n * 160 + 1, len = 0;
	char *text = malloc(cap), line[160], err[256];
	if (!text)
		abort();
	for (size_t i = 0; i < t->n; i++) {
		const struct topo_node *n = &t->nodes[i];
		size_t l = strlen(topo_node_line(n, line, sizeof(line)));
		if (l + 1 >= sizeof(line))
			abort();        /* truncated: the buffer guess is wrong */
		memcpy(text + len, line, l);
		text[len + l] = '\n';
		len += l + 1;
		if (topo_by_id(t, n->id) != n || topo_by_name(t, n->name) != n ||
		    topo_by_pk(t, n->pk) != n)
			abort();
	}
	struct topo_parser *p = topo_parser_new();
	if (!p || topo_parser_feed(p, text, len, err, sizeof(err)))
		abort();
	struct topology *u = topo_parser_finish(p, err, sizeof(err));
	if (!u || u->n != t->n)
		abort();
	for (size_t i = 0; i < t->n; i++)
		if (!same_node(&u->nodes[i], &t->nodes[i]))
			abort();
	topo_free(u);
	free(text);

	struct pkt_hop route[PKT_HOPS];
	const struct topo_node *gw = topo_random_gateway(t);
	topo_route(t, gw, route);
	for (int l = 0; l < TOPO_LAYERS; l++) {
		const struct topo_node *m = topo_by_id(t, route[l].id);
		if (!m || m->role != TOPO_MIX || m->layer != l + 1)
			abort();
	}
	if (memcmp(route[3].id, gw->id, PKT_ID_BYTES))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	char err[256];

	if (!ready) {
		if (sodium_init() < 0)
			abort();
		ready = 1;
	}
	size_t cut = size ? data[0] % size : 0;
	struct topo_parser *p = topo_parser_new();
	if (!p)
		abort();
	if (topo_parser_feed(p, (const char *)data, cut, err, sizeof(err)) ||
	    topo_parser_feed(p, (const char *)data + cut, size - cut, err, sizeof(err))) {
		/* After an error the parser must keep refusing, and finish
		 * must say why and free it. */
		if (topo_parser_finish(p, err, sizeof(err)))
			abort();
		return 0;
	}
	struct topology *t = topo_parser_finish(p, err, sizeof(err));
	if (t) {
		round_trip(t);
		topo_free(t);
	}
	return 0;
}
