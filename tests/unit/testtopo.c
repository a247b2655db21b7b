/* testtopo — see testtopo.h. */
#include "testtopo.h"

#include <check.h>
#include <stdio.h>

#include "b58.h"

struct topology *testtopo_new(unsigned n, unsigned gw_port, const struct keypair *gw)
{
	char text[64 * 1024], key[B58_KEY_CHARS], err[256];
	size_t off = 0;
	unsigned port = 20000;
	struct keypair kp;
	keypair_generate(&kp);
	off += (size_t)snprintf(text + off, sizeof(text) - off, "gw gateway 127.0.0.1:%u %s\n",
	                        gw_port ? gw_port : port,
	                        key_to_str(gw ? gw->pk : kp.pk, key, sizeof(key)));
	port++;
	for (unsigned l = 1; l <= 3; l++)
		for (unsigned i = 0; i < n; i++) {
			keypair_generate(&kp);
			off += (size_t)snprintf(text + off, sizeof(text) - off,
			                        "m%u_%u mix %u 127.0.0.1:%u %s\n", l, i, l, port++,
			                        key_to_str(kp.pk, key, sizeof(key)));
		}
	keypair_wipe(&kp);
	ck_assert_uint_lt(off, sizeof(text) - 1);
	struct topo_parser *p = topo_parser_new();
	ck_assert_int_eq(topo_parser_feed(p, text, off, err, sizeof(err)), 0);
	struct topology *t = topo_parser_finish(p, err, sizeof(err));
	ck_assert_msg(t != NULL, "%s", err);
	return t;
}
