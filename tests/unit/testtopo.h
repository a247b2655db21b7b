/* testtopo — topologies for unit tests: one gateway and n mixes per
 * layer, fresh keys each time, on loopback ports that nothing listens on
 * unless the test says (gw_port). */
#ifndef MIXPROXY_TESTTOPO_H
#define MIXPROXY_TESTTOPO_H

#include "keys.h"
#include "topology.h"

/* Gateway "gw" at 127.0.0.1:gw_port (0: a port of no one's) with gw's
 * key (NULL: a fresh one), mixes "m<layer>_<i>".  Fails the test if the
 * text does not parse. */
struct topology *testtopo_new(unsigned mixes_per_layer, unsigned gw_port,
                              const struct keypair *gw);

#endif
