/* keys — see keys.h. */
#include "keys.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void keypair_generate(struct keypair *kp)
{
	crypto_box_keypair(kp->pk, kp->sk);
}

void keypair_wipe(struct keypair *kp)
{
	sodium_memzero(kp, sizeof(*kp));
}

void keypair_from_secret(struct keypair *kp, const uint8_t sk[32])
{
	memmove(kp->sk, sk, 32);
	crypto_scalarmult_base(kp->pk, kp->sk);
}

const char *key_to_str(const uint8_t key[32], char *buf, size_t n)
{
	if (b58_encode(key, 32, buf, n) < 0 && n)
		buf[0] = 0;
	return buf;
}

int key_from_str(const char *s, uint8_t key[32])
{
	return b58_decode(s, key, 32);
}

int keyfile_parse(const char *text, size_t len, struct keypair *kp, char *err, size_t errsz)
{
	char line[128];
	size_t n = 0;

	/* One line; a final newline is allowed, nothing else around it. */
	if (len > 0 && text[len - 1] == '\n')
		len--;
	if (len == 0 || len >= sizeof(line)) {
		snprintf(err, errsz, "expected one line holding a Base58 secret key");
		return -1;
	}
	for (; n < len; n++) {
		if (text[n] == '\n' || text[n] == '\0') {
			snprintf(err, errsz, "expected one line holding a Base58 secret key");
			return -1;
		}
		line[n] = text[n];
	}
	line[n] = 0;
	uint8_t sk[32];
	int rc = b58_decode(line, sk, sizeof(sk));
	sodium_memzero(line, sizeof(line));
	if (rc != 0) {
		snprintf(err, errsz, "not a Base58 32-byte secret key");
		return -1;
	}
	keypair_from_secret(kp, sk);
	sodium_memzero(sk, sizeof(sk));
	return 0;
}

int keyfile_write(const char *path, const struct keypair *kp, char *err, size_t errsz)
{
	char text[B58_KEY_CHARS + 1];
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		snprintf(err, errsz, "%s: %s%s", path, strerror(errno),
		         errno == EEXIST ? " (refusing to overwrite a key)" : "");
		return -1;
	}
	int n = b58_encode(kp->sk, 32, text, sizeof(text) - 1);
	text[n] = '\n';
	ssize_t w = write(fd, text, (size_t)n + 1);
	sodium_memzero(text, sizeof(text));
	if (w != n + 1 || fsync(fd) != 0 || close(fd) != 0) {
		snprintf(err, errsz, "%s: write failed: %s", path, strerror(errno));
		unlink(path);
		return -1;
	}
	return 0;
}

int keyfile_read(const char *path, struct keypair *kp, char *err, size_t errsz)
{
	char text[256];
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errsz, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	if (st.st_mode & 077) {
		snprintf(err, errsz, "%s: key file is accessible by group or others "
		         "(mode %03o); run chmod 600 %s", path,
		         (unsigned)(st.st_mode & 0777), path);
		close(fd);
		return -1;
	}
	ssize_t n = read(fd, text, sizeof(text));
	close(fd);
	if (n < 0) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return -1;
	}
	char why[128];
	int rc = keyfile_parse(text, (size_t)n, kp, why, sizeof(why));
	sodium_memzero(text, sizeof(text));
	if (rc != 0)
		snprintf(err, errsz, "%s: %s", path, why);
	return rc;
}

int keydir_check(const char *dir, char *err, size_t errsz)
{
	struct stat st;
	if (stat(dir, &st) != 0) {
		snprintf(err, errsz, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errsz, "%s: not a directory", dir);
		return -1;
	}
	/* The key file in it is 0600 whatever the directory says; but who
	 * may list, add or swap its files may also plant a key or read what
	 * is written next to it: as for key files, only the owner. */
	if (st.st_mode & 077) {
		snprintf(err, errsz, "%s: directory is accessible by group or others "
		         "(mode %03o); run chmod 700 %s", dir, (unsigned)(st.st_mode & 0777), dir);
		return -1;
	}
	/* Root writes whatever the mode says: the mode is checked too, so that
	 * a directory made read-only on purpose is refused for root as well. */
	if (!(st.st_mode & S_IWUSR)) {
		snprintf(err, errsz, "%s: directory is not writable (mode %03o)", dir,
		         (unsigned)(st.st_mode & 0777));
		return -1;
	}
	if (access(dir, W_OK | X_OK) != 0) {
		snprintf(err, errsz, "%s: directory is not writable: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

int keydir_identity(const char *dir, struct keypair *kp, char *err, size_t errsz)
{
	char path[4096];
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errsz, "%s: cannot create directory: %s", dir, strerror(errno));
		return -1;
	}
	if (keydir_check(dir, err, errsz))
		return -1;
	if ((size_t)snprintf(path, sizeof(path), "%s/identity.key", dir) >= sizeof(path)) {
		snprintf(err, errsz, "%s: path too long", dir);
		return -1;
	}
	if (access(path, F_OK) == 0)
		return keyfile_read(path, kp, err, errsz);
	keypair_generate(kp);
	if (keyfile_write(path, kp, err, errsz)) {
		keypair_wipe(kp);
		return -1;
	}
	return 0;
}

int mix_addr_parse(const char *s, struct mix_addr *a, const char **why)
{
	const char *at = s ? strchr(s, '@') : NULL;
	char key[64];
	if (!at) {
		*why = "expected KEY@GATEWAY";
		return -1;
	}
	size_t kl = (size_t)(at - s);
	if (kl == 0 || kl >= sizeof(key)) {
		*why = "missing or overlong key before '@'";
		return -1;
	}
	memcpy(key, s, kl);
	key[kl] = 0;
	if (key_from_str(key, a->pk)) {
		*why = "the key is not a Base58 32-byte public key";
		return -1;
	}
	if (pkt_id_from_str(a->gw, at + 1)) {
		*why = "the gateway id after '@' must be 1 to 31 of A-Z a-z 0-9 . _ -";
		return -1;
	}
	return 0;
}

const char *mix_addr_format(const struct mix_addr *a, char *buf, size_t n)
{
	char k[B58_KEY_CHARS];
	snprintf(buf, n, "%s@%s", key_to_str(a->pk, k, sizeof(k)), (const char *)a->gw);
	return buf;
}
