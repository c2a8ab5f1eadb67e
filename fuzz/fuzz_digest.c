/* Fuzz target: the CloudTrail digest parser (src/trail/digest.c) on untrusted digest text, and
 * with the same bytes the public-key list loader (src/trail/keys.c, `aws cloudtrail
 * list-public-keys` output) and the time parser (src/trail/time.c). Properties: a parsed
 * digest's SHA-256 is that of the bytes; entries' offsets lie inside the text; a parsed time
 * formats and parses back to itself. */
#include "fuzz.h"
#include "kumomori/buf.h"
#include "kumomori/trail.h"
#include "trail/util.h"

#include <string.h>

KM_FUZZ_TARGET(digest) {
    const char *text = (const char *)data;
    km_error err;
    km_trail_digest *d = km_trail_digest_parse(text, size, &err);
    if (d) {
        char want[65];
        if (km_sha256_hex(text, size, want) == 0)
            KM_FUZZ_CHECK("digest", !strcmp(want, d->sha256), "digest SHA-256 is not that of its bytes");
        for (size_t i = 0; i < d->nlogs; i++) {
            KM_FUZZ_CHECK("digest", d->logs[i].offset < size, "log entry offset %zu past %zu", d->logs[i].offset, size);
            (void)(d->logs[i].key ? strlen(d->logs[i].key) : 0);
        }
        km_buf b = KM_BUF_INIT;
        if (d->end && d->bucket && d->key)
            km_trail_string_to_sign(&b, d->end, d->bucket, d->key, d->sha256, d->prev_sig);
        km_buf_free(&b);
    } else {
        KM_FUZZ_CHECK("digest", err.msg[0] != 0, "failure without a message");
    }
    km_trail_digest_free(d);

    km_trail_keys *k = km_trail_keys_new();
    if (k) {
        size_t before = km_trail_keys_count(k);
        if (km_trail_keys_load_json(k, text, size, "fuzz-keys.json", &err) != KM_OK)
            KM_FUZZ_CHECK("digest", km_trail_keys_count(k) == before, "a failed key load added keys");
        km_trail_keys_free(k);
    }

    if (size < 64) {
        char s[64], out[32];
        memcpy(s, data, size);
        s[size] = 0;
        int64_t t, t2;
        if (km_trail_parse_time(s, &t) == 0 && t > -62135596800LL && t < 253402300800LL) {
            km_trail_format_time(t, out);
            KM_FUZZ_CHECK("digest", km_trail_parse_time(out, &t2) == 0 && t2 == t, "time %s does not parse back", out);
        }
    }
    return 0;
}
