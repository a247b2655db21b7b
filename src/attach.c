/* attach — see attach.h. */
#include "attach.h"

#include <sodium.h>
#include <string.h>

static const char dom[] = "mixproxy/attach/1";

static int proof_from(uint8_t proof[ATTACH_PROOF_BYTES], const uint8_t sk[32],
                      const uint8_t pk[32], const uint8_t id_pk[32], const uint8_t binding[32])
{
	uint8_t s[32];
	crypto_generichash_state st;
	if (crypto_scalarmult(s, sk, pk) != 0) {
		sodium_memzero(s, sizeof(s));
		return -1;
	}
	crypto_generichash_init(&st, s, sizeof(s), ATTACH_PROOF_BYTES);
	crypto_generichash_update(&st, (const uint8_t *)dom, sizeof(dom) - 1);
	crypto_generichash_update(&st, binding, 32);
	crypto_generichash_update(&st, id_pk, 32);
	crypto_generichash_final(&st, proof, ATTACH_PROOF_BYTES);
	sodium_memzero(s, sizeof(s));
	sodium_memzero(&st, sizeof(st));
	return 0;
}

int attach_prove(uint8_t proof[ATTACH_PROOF_BYTES], const uint8_t id_sk[32],
                 const uint8_t id_pk[32], const uint8_t gw_pk[32], const uint8_t binding[32])
{
	return proof_from(proof, id_sk, gw_pk, id_pk, binding);
}

int attach_check(const uint8_t proof[ATTACH_PROOF_BYTES], const uint8_t gw_sk[32],
                 const uint8_t id_pk[32], const uint8_t binding[32])
{
	uint8_t want[ATTACH_PROOF_BYTES];
	int rc = proof_from(want, gw_sk, id_pk, id_pk, binding) == 0 &&
	         sodium_memcmp(want, proof, ATTACH_PROOF_BYTES) == 0 ? 0 : -1;
	sodium_memzero(want, sizeof(want));
	return rc;
}
