/* Helpers shared by the audit writers (internal to src/out/audit_*.c). */
#ifndef KM_OUT_AUDIT_COMMON_H
#define KM_OUT_AUDIT_COMMON_H
#include "kumomori/buf.h"
#include <stdio.h>
#include <stdint.h>
#include <string.h>

static inline void km_ajs(km_buf *b, const char *v) {
    if (v) km_buf_json_str(b, v, strlen(v));
    else km_buf_puts(b, "null");
}

static inline void km_akv(km_buf *b, const char *k, const char *v, int comma) {
    if (comma) km_buf_putc(b, ',');
    km_ajs(b, k);
    km_buf_putc(b, ':');
    km_ajs(b, v);
}

static inline int km_aflush(km_buf *b, FILE *f) {
    if (b->failed) return -1;
    if (b->len && fwrite(b->data, 1, b->len, f) != b->len) return -1;
    km_buf_reset(b);
    return 0;
}

/* A stable identifier for a finding: FNV-1a of check, account, region and resource, in hex. */
static inline void km_afingerprint(const char *check, const char *acct, const char *region, const char *res,
                                   char *out, size_t n) {
    uint64_t h = 1469598103934665603ULL;
    const char *parts[4] = {check, acct, region, res};
    for (int i = 0; i < 4; i++) {
        for (const char *p = parts[i] ? parts[i] : ""; *p; p++) {
            h ^= (unsigned char)*p;
            h *= 1099511628211ULL;
        }
        h ^= 0x1F;
        h *= 1099511628211ULL;
    }
    snprintf(out, n, "%016llx", (unsigned long long)h);
}
#endif
