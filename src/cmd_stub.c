/* The proxy commands arrive with the mixnet client (issues 4 and 5); until
 * then they say so plainly rather than pretend to run. */
#include <stdio.h>

#include "cmd.h"
#include "util.h"

int cmd_client(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "mixproxy client: not implemented in this version yet\n");
	return EXIT_SOFTWARE;
}

int cmd_server(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "mixproxy server: not implemented in this version yet\n");
	return EXIT_SOFTWARE;
}
