/* keys — X25519 key pairs, their files, and the addresses made of them.
 *
 * A key file holds one line: the secret key in Base58, as WireGuard keeps
 * one base64 line.  Files are created 0600 with O_EXCL (never overwritten)
 * and refused when group or others may read them.  The public key is
 * derived, never stored.  Secrets are wiped with sodium_memzero. */
#ifndef MIXPROXY_KEYS_H
#define MIXPROXY_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "b58.h"
#include "packet.h"

struct keypair {
	uint8_t pk[32];
	uint8_t sk[32];
};

void keypair_generate(struct keypair *kp);
void keypair_wipe(struct keypair *kp);
/* Derive pk from sk. */
void keypair_from_secret(struct keypair *kp, const uint8_t sk[32]);

/* Public key text (Base58) into buf (>= B58_KEY_CHARS). */
const char *key_to_str(const uint8_t key[32], char *buf, size_t n);
/* Parse a Base58 public key; 0 or -1. */
int key_from_str(const char *s, uint8_t key[32]);

/* Write kp's secret to path (0600, must not exist).  0, or -1 with a
 * reason in err (errsz bytes). */
int keyfile_write(const char *path, const struct keypair *kp, char *err, size_t errsz);
/* Read a key file; refuses group/other-readable files.  0 or -1 + err. */
int keyfile_read(const char *path, struct keypair *kp, char *err, size_t errsz);
/* A directory where a daemon makes and keeps its keys and state (the
 * server's --config-dir): refused when group or others may access it
 * (mode bits 077), or when it is not writable (mode or file system: a
 * read-only mount under systemd's ProtectSystem=).  0, or -1 with a
 * one-line reason naming dir in err. */
int keydir_check(const char *dir, char *err, size_t errsz);
/* A persistent identity: DIR/identity.key, created (0600, in a directory
 * made 0700 if missing) on first use and read after that; a key file that
 * others can read is refused, and so is a directory that others may
 * access or that is not writable (keydir_check).  0, or -1 with a reason
 * in err. */
int keydir_identity(const char *dir, struct keypair *kp, char *err, size_t errsz);

#define MIX_ADDR_CHARS (B58_KEY_CHARS + PKT_ID_BYTES + 1)

/* A mixnet client's address: its public key and its gateway, written
 * "KEY@GATEWAY". */
struct mix_addr {
	uint8_t pk[PKT_KEY_BYTES];
	uint8_t gw[PKT_ID_BYTES];
};
/* 0, or -1 with a reason in *why. */
int mix_addr_parse(const char *s, struct mix_addr *a, const char **why);
const char *mix_addr_format(const struct mix_addr *a, char *buf, size_t n);

/* Parse a key file's contents (push API: the fuzzer and tests feed it
 * bytes).  0 or -1 + err. */
int keyfile_parse(const char *text, size_t len, struct keypair *kp, char *err, size_t errsz);

#endif
