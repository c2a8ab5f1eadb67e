/* Fuzz target: the two gzip readers on untrusted compressed bytes: detection's streaming source
 * (src/detect/input.c: gzip sniffing, concatenated members, partial data before damage) and the
 * CloudTrail validator's single-member inflate with SHA-256 (src/trail/gz.c, through its
 * from-memory variants). The first byte sets the read size. Properties: reading in small or
 * large pieces gives the same bytes, also on damaged or truncated data (found: 1-byte reads lost
 * the bytes zlib still held when a truncated stream ran out, fixed in input.c); when gz.c accepts the data (one whole member) input.c gives
 * exactly the same bytes without error, and the SHA-256 is that of those bytes.
 *
 * The two transcripts go into fixed CAP-sized buffers kept for the process (session 5): growing a
 * km_buf to 256 KiB a few bytes at a time was a quarter of the target's time (the instrumented
 * km_buf_append/km_buf_reserve called once per small read, and under ASan the blocks over 128 KiB
 * are fresh mappings, page-faulted in for every input). The read buffer itself stays a malloc of
 * exactly the read size, so a read writing past it is still caught. */
#include "fuzz.h"
#include "detect/input.h"
#include "kumomori/trail.h"
#include "trail/util.h"

#include <stdlib.h>
#include <string.h>

#define CAP (256u << 10) /* uncompressed bytes compared per input: bounds time and memory on gzip bombs */

/* What one reading gave, up to CAP bytes (the storage is kept from one input to the next). */
typedef struct transcript {
    unsigned char *data;
    size_t len;
} transcript;

static unsigned char *small_data, *large_data;

static void cleanup(void) {
    free(small_data);
    free(large_data);
}

/* All of in's data (up to CAP) read piece bytes at a time into out; returns 0, or -1 when a
 * read failed. */
static int read_all(const uint8_t *d, size_t n, size_t piece, transcript *out) {
    km_input *in = km_input_mem(d, n);
    if (!in) return -1;
    char *buf = malloc(piece);
    int rc = 0;
    km_error err;
    while (buf) {
        long got = km_input_read(in, buf, piece, &err);
        if (got < 0) {
            rc = -1;
            KM_FUZZ_CHECK("gzip", err.msg[0] != 0, "read error without a message");
            KM_FUZZ_CHECK("gzip", km_input_read(in, buf, piece, &err) == 0, "read after an error is not 0");
            break;
        }
        if (got == 0) break;
        KM_FUZZ_CHECK("gzip", (size_t)got <= piece, "read %ld > %zu", got, piece);
        if (out->len + (size_t)got > CAP) break;
        memcpy(out->data + out->len, buf, (size_t)got);
        out->len += (size_t)got;
    }
    free(buf);
    km_input_close(in);
    return rc;
}

KM_FUZZ_TARGET(gzip) {
    km_fuzz_in fin = {data, size};
    size_t piece = 1 + km_fuzz_byte(&fin) % 97;
    const uint8_t *d = fin.p;
    size_t n = fin.n;

    if (!small_data) {
        small_data = malloc(CAP);
        large_data = malloc(CAP);
        if (!small_data || !large_data) abort();
        atexit(cleanup);
    }
    transcript small = {small_data, 0}, large = {large_data, 0};
    int rs = read_all(d, n, piece, &small);
    int rl = read_all(d, n, 65536, &large);
    size_t common = small.len < large.len ? small.len : large.len;
    KM_FUZZ_CHECK("gzip", common == 0 || !memcmp(small.data, large.data, common),
                  "reading %zu or 65536 bytes at a time gives different data", piece);
    if (small.len < CAP && large.len < CAP)
        KM_FUZZ_CHECK("gzip", rs == rl && small.len == large.len,
                      "piece %zu: %zu bytes (rc %d), piece 65536: %zu bytes (rc %d)", piece, small.len, rs, large.len, rl);

    km_error err;
    size_t len = 0;
    char *whole = km_trail_gz_read_mem(d, n, "fuzz.json.gz", CAP, &len, &err);
    char hex[65];
    uint64_t ulen = 0;
    int hrc = km_trail_gz_sha256_mem(d, n, "fuzz.json.gz", hex, &ulen, &err);
    if (whole) {
        KM_FUZZ_CHECK("gzip", whole[len] == 0, "not NUL-terminated");
        KM_FUZZ_CHECK("gzip", hrc == KM_OK && ulen == len, "gz_read accepted %zu bytes but gz_sha256 %d (%llu)", len,
                      hrc, (unsigned long long)ulen);
        char want[65];
        if (hrc == KM_OK && km_sha256_hex(whole, len, want) == 0)
            KM_FUZZ_CHECK("gzip", !strcmp(want, hex), "SHA-256 differs from the bytes read");
        if (n >= 2 && d[0] == 0x1f && d[1] == 0x8b && large.len < CAP)
            KM_FUZZ_CHECK("gzip", rl == 0 && large.len == len && (!len || !memcmp(large.data, whole, len)),
                          "trail gz read %zu bytes, detect input %zu bytes (rc %d)", len, large.len, rl);
    } else {
        KM_FUZZ_CHECK("gzip", strstr(err.msg, "fuzz.json.gz") != NULL, "error does not name the input: %s", err.msg);
    }
    free(whole);
    return 0;
}
