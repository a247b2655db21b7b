/* mixproxy keygen — make a key file, print the public line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "conf.h"
#include "keys.h"
#include "packet.h"
#include "util.h"

int cmd_keygen(int argc, char **argv)
{
	char *id = NULL, *role = NULL, *address = NULL;
	uint64_t layer = 0;
	int show = 0;
	struct opt opts[] = {
		{ "id", 'i', OPT_STR, "ID", "node id for the topology line", &id, 0, 0, 0 },
		{ "role", 'r', OPT_STR, "ROLE", "mix or gateway (with --id)", &role, 0, 0, 0 },
		{ "layer", 'l', OPT_U64, "N", "mix layer 1-3 (with --role mix)", &layer, 1, 3, 0 },
		{ "address", 'a', OPT_STR, "HOST:PORT", "the node's listen address (with --id)", &address, 0, 0, 0 },
		{ "show", 0, OPT_FLAG, NULL, "print the public line of an existing key file", &show, 0, 0, 0 },
	};
	const size_t nopts = ARRAY_LEN(opts);
	char err[512];
	char *pos[1];
	int npos, rc = EXIT_USAGE;
	struct keypair kp;

	switch (conf_parse_argv(opts, nopts, argc, argv, pos, 1, &npos, err, sizeof(err))) {
	case 1:
		conf_usage(opts, nopts, "mixproxy keygen [--id ID --role mix|gateway "
		           "[--layer N] --address HOST:PORT] [--show] KEYFILE");
		rc = 0;
		goto out;
	case -1:
		fprintf(stderr, "mixproxy keygen: %s\n", err);
		goto out;
	}
	if (npos != 1) {
		fprintf(stderr, "mixproxy keygen: missing KEYFILE (see mixproxy keygen -h)\n");
		goto out;
	}
	if (id) {
		uint8_t idb[PKT_ID_BYTES];
		struct sockaddr_storage ss;
		socklen_t sl;
		const char *why;
		if (pkt_id_from_str(idb, id)) {
			fprintf(stderr, "mixproxy keygen: --id '%s': 1 to 31 characters of "
			        "A-Z a-z 0-9 . _ -\n", id);
			goto out;
		}
		if (!role || (strcmp(role, "mix") && strcmp(role, "gateway"))) {
			fprintf(stderr, "mixproxy keygen: --id needs --role mix or --role gateway\n");
			goto out;
		}
		if (!strcmp(role, "mix") != (layer != 0)) {
			fprintf(stderr, "mixproxy keygen: %s\n", layer ?
			        "--layer applies to --role mix only" : "--role mix needs --layer 1, 2 or 3");
			goto out;
		}
		if (!address || parse_hostport(address, &ss, &sl, &why)) {
			fprintf(stderr, "mixproxy keygen: --address '%s': %s\n",
			        address ? address : "", address ? why : "required with --id");
			goto out;
		}
	} else if (role || layer || address) {
		fprintf(stderr, "mixproxy keygen: --role, --layer and --address need --id\n");
		goto out;
	}

	if (show) {
		if (keyfile_read(pos[0], &kp, err, sizeof(err))) {
			fprintf(stderr, "mixproxy keygen: %s\n", err);
			rc = EXIT_NOINPUT;
			goto out;
		}
	} else {
		keypair_generate(&kp);
		if (keyfile_write(pos[0], &kp, err, sizeof(err))) {
			fprintf(stderr, "mixproxy keygen: %s\n", err);
			keypair_wipe(&kp);
			rc = EXIT_CANTCREAT;
			goto out;
		}
	}
	char pub[B58_KEY_CHARS];
	key_to_str(kp.pk, pub, sizeof(pub));
	keypair_wipe(&kp);
	if (!id)
		printf("%s\n", pub);
	else if (layer)
		printf("%s mix %u %s %s\n", id, (unsigned)layer, address, pub);
	else
		printf("%s gateway %s %s\n", id, address, pub);
	rc = 0;
out:
	conf_free(opts, nopts);
	return rc;
}
