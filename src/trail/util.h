/* Small helpers shared by the CloudTrail validator and the sealed-output code. Internal. */
#ifndef KM_TRAIL_UTIL_H
#define KM_TRAIL_UTIL_H
#include <stddef.h>
#include <stdint.h>

/* Lowercase hex of n bytes into out (2n+1 bytes). */
void km_hex_encode(const unsigned char *in, size_t n, char *out);
/* Decode hex (either case) into out (at most cap bytes). Returns the byte count, or -1 when the
 * text is not an even number of hex digits; *bad (may be NULL) receives the offending offset. */
long km_hex_decode(const char *s, size_t len, unsigned char *out, size_t cap, size_t *bad);
/* Decode standard base64 (white space ignored, padding optional). Returns the byte count, or -1
 * with *bad set to the offset of the first character that is not base64. */
long km_trail_base64_decode(const char *s, size_t len, unsigned char *out, size_t cap, size_t *bad);
/* Hex SHA-256 of data into out[65]. Returns 0, or -1 if the crypto library failed. */
int km_sha256_hex(const void *data, size_t len, char out[65]);
/* Case-insensitive comparison of two hex strings (1 equal). */
int km_hex_equal(const char *a, const char *b);
#endif
