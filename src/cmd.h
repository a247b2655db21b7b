/* cmd — the subcommands of mixproxy(8).  Each takes the argument vector
 * from its own name on and returns the process exit status. */
#ifndef MIXPROXY_CMD_H
#define MIXPROXY_CMD_H

int cmd_keygen(int argc, char **argv);
int cmd_node(int argc, char **argv);
int cmd_client(int argc, char **argv);
int cmd_server(int argc, char **argv);
int cmd_show(int argc, char **argv);

#endif
