/* mixproxy — one binary, subcommands as wg(8) or ip(8) have them. */
#include <sodium.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <string.h>

#include "cmd.h"
#include "rng.h"
#include "util.h"

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *what;
} commands[] = {
	{ "client", cmd_client, "proxy local TCP connections through the mixnet" },
	{ "server", cmd_server, "relay mixnet sessions to an upstream TCP service" },
	{ "node", cmd_node, "run a mix node or a gateway" },
	{ "keygen", cmd_keygen, "make a key file and print its public line" },
	{ "show", cmd_show, "print what a running daemon is doing (its control socket)" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: mixproxy COMMAND [options]\n"
	           "       mixproxy --version | -h\n\ncommands:\n");
	for (size_t i = 0; i < ARRAY_LEN(commands); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].what);
	fprintf(f, "\n'mixproxy COMMAND -h' lists a command's options; see mixproxy(8).\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("mixproxy %s (libsodium %s)\n", MIXPROXY_VERSION, sodium_version_string());
		return 0;
	}
	/* No core dumps and no ptrace by others of the same user (the
	 * systemd units run every instance as one user): the process holds
	 * keys and stream plaintext. */
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if (rng_install() < 0 || sodium_init() < 0) {
		fprintf(stderr, "mixproxy: libsodium failed to initialise\n");
		return EXIT_SOFTWARE;
	}
	for (size_t i = 0; i < ARRAY_LEN(commands); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	if (argv[1][0] == '-')
		fprintf(stderr, "mixproxy: unknown option '%s' (options go after the command; "
		        "see mixproxy -h)\n", argv[1]);
	else
		fprintf(stderr, "mixproxy: unknown command '%s' (commands: client, server, "
		        "node, keygen, show)\n", argv[1]);
	return EXIT_USAGE;
}
