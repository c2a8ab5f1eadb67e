/* What the sealer and the sealed-output verifier share. Internal. */
#ifndef KM_SEAL_INT_H
#define KM_SEAL_INT_H
#include "kumomori/seal.h"

/* link[0] from the header line (without its newline). */
int km_seal_link0(const char *header, size_t len, unsigned char out[32]);
/* link[seq] from link[seq-1] and the record bytes. */
int km_seal_link(const unsigned char prev[32], uint64_t seq, const char *rec, size_t len,
                 unsigned char out[32]);
/* The bytes an Ed25519 signature line signs. */
int km_seal_sig_message(km_buf *b, const char *stream, uint64_t seq, const char *link_hex,
                        const char *time, int final);
/* 1 when sig is k's Ed25519 signature over msg. */
int km_seal_key_verify(const km_seal_key *k, const void *msg, size_t len, const unsigned char sig[64]);
#endif
