/* node — a mix (layer 1, 2 or 3) or a gateway, as one object on a loop.
 *
 * `mixproxy node` (cmd_node.c) reads the options, opens the keys, the
 * topology and the sockets, makes a node with node_new and runs the
 * loop; the tests make nodes the same way, several on one loop.
 *
 * A node owns everything it needs past node_new: the links (to the next
 * hops, from previous hops, from attached clients), the packets held for
 * their delay on the loop's timer heap, the replay filter and, on a
 * gateway, the mailboxes of clients that are briefly away (mailbox.h).
 * Every queue has a bound; whatever overflows is dropped and counted,
 * never grown.  It never blocks and never stops the loop. */
#ifndef MIXPROXY_NODE_H
#define MIXPROXY_NODE_H

#include <stddef.h>
#include <stdint.h>

#include "ctl.h"
#include "ev.h"
#include "keys.h"
#include "packet.h"
#include "replay.h"
#include "topology.h"

struct node_cfg {
	const struct keypair *kp;  /* copied; its public key must be in topo */
	struct topology *topo;     /* taken: the node frees it, or the one a reload puts in its place */
	const char *topology;      /* the file topo came from (copied): a reload reads it again */
	struct replay *rf;         /* taken */
	/* A listening socket, or -1 (tests: links come from node_accept_detached).
	 * Not taken: the caller closes it after node_free. */
	int listen_fd;
	const char *listen_text;   /* what show says it listens on */
	uint64_t link_queue, max_held, max_delay_ms, max_links;
	uint64_t max_handshakes, handshakes_per_addr;     /* incoming links (admit.h) */
	uint64_t clients_per_addr;
	uint64_t client_queue_total;                      /* frames queued to all clients */
	uint64_t pace_total;                              /* paced frames a second to all clients */
	uint64_t mailbox_max, mailbox_total, mailbox_age, max_clients;
	uint64_t max_strangers, stranger_mail;  /* keys that never attached (gwclient.h) */
	double test_drop, test_duplicate; /* TESTING ONLY: fault injection */
};

/* What a node counts, for its log line, `show` and `metrics`. */
struct node_counters {
	uint64_t pkt_in, pkt_out, client_in, delivered, mailboxed, mailbox_flushed;
	uint64_t drop_size, drop_key, drop_mac, drop_format, drop_replay, drop_expired;
	uint64_t drop_route, drop_delay, drop_held_full, drop_queue, drop_link_down;
	uint64_t drop_mailbox_full, drop_mailbox_age, drop_no_client_slot;
	uint64_t padded;       /* paced slots sent as padding (LF_PAD) */
	uint64_t pace_skipped; /* paced slots skipped: no room, no token or no budget */
	uint64_t keys_attached, keys_detached; /* on client links besides their own (LF_ATTACH) */
	uint64_t attach_refused;             /* LF_ATTACH with a bad proof, too fast, or too many */
	uint64_t test_dropped, test_duplicated;
	uint64_t links_accepted, links_refused, links_opened, links_failed, links_over_max;
};

/* "gateway" or "mix layer N", into buf. */
const char *node_role_name(const struct topo_node *t, char *buf, size_t n);

/* The limits cmd_node starts from (its option defaults); the rest zero. */
void node_cfg_defaults(struct node_cfg *c);

/* A node on ev, with its timers armed and its listening socket (if any)
 * watched; it logs the line that says it runs.  NULL with the reason in
 * err if the loop refused the socket: topo and rf are freed then too. */
struct node *node_new(struct ev *ev, const struct node_cfg *cfg, char *err, size_t errsz);
/* Close every link (their frees wait for the loop's next batch, or
 * ev_free), drop what is held and mailboxed, free the rest.  NULL is fine. */
void node_free(struct node *n);

/* SIGHUP: read the topology file again.  Links to nodes that left or
 * moved are closed.  0, or -1 (logged) keeping the old one. */
int node_reload(struct node *n);
/* SIGUSR1: log the counters. */
void node_log_counters(struct node *n);
/* The answer to `mixproxy show` and `metrics` (ctl_serve's callback). */
void node_answer(enum ctl_req req, struct ctl_buf *b, void *ctx);

/* A link taken in as if accepted, with no socket (tests, as link.h's
 * detached links): bytes go in by link_feed, out by link_take_output.
 * The node owns it; NULL when max-links links are open. */
struct link *node_accept_detached(struct node *n);

const struct node_counters *node_counters(const struct node *n);
uint64_t node_held(const struct node *n);   /* packets held for their delay */
/* The gateway's clients (gwclient.h), and the incoming links' classes
 * (admit.h), for tests. */
const struct gwclients *node_clients(const struct node *n);
const struct admit *node_admit(const struct node *n);
/* Deliveries waiting in the mailbox of the client with key pk. */
size_t node_mail_waiting(const struct node *n, const uint8_t pk[PKT_KEY_BYTES]);
/* Client links paced now (LF_PACE). */
uint64_t node_paced_links(const struct node *n);
/* A gateway's: it has tried a link to every mix (or waited
 * STATUS_FIRST_MAX_MS for them), so its reports go to its clients. */
int node_links_known(const struct node *n);

#endif
