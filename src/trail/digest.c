/* CloudTrail digest files: parsing the JSON and the string that CloudTrail signs. */
#include "kumomori/trail.h"
#include "kumomori/json.h"
#include "trail/util.h"

#include <stdlib.h>
#include <string.h>

void km_trail_digest_free(km_trail_digest *d) {
    if (!d) return;
    km_json_doc_free(d->doc_);
    free(d->logs);
    free(d);
}

static km_trail_digest *fail(km_trail_digest *d, km_error *err, const char *text, size_t len,
                             size_t off, const char *what, const char *field) {
    size_t line, col;
    km_json_line_col(text, len, off, &line, &col);
    km_error_set(err, KM_ERR, off, "invalid format: %s%s%s at byte %zu (line %zu, column %zu)",
                 field ? field : "", field ? " " : "", what, off, line, col);
    km_trail_digest_free(d);
    return NULL;
}

/* A string member, or NULL for JSON null / absent. Returns -1 when present with another type. */
static int str_field(const km_json *o, const char *name, const char **out, size_t *bad) {
    const km_json *v = km_json_get(o, name);
    *out = NULL;
    if (!v || v->type == KM_JSON_NULL) return 0;
    if (v->type != KM_JSON_STRING) {
        *bad = v->offset;
        return -1;
    }
    *out = v->u.str.s;
    return 0;
}

km_trail_digest *km_trail_digest_parse(const char *text, size_t len, km_error *err) {
    km_trail_digest *d = calloc(1, sizeof *d);
    if (!d) {
        km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
        return NULL;
    }
    if (km_sha256_hex(text, len, d->sha256)) {
        km_trail_digest_free(d);
        km_error_set(err, KM_ERR, (size_t)-1, "SHA-256 failed in the crypto library");
        return NULL;
    }
    km_error e;
    km_error_clear(&e);
    d->doc_ = km_json_parse(text, len, NULL, NULL, &e);
    if (!d->doc_) {
        km_error_set(err, e.code ? e.code : KM_ERR, e.offset, "invalid format: %s", e.msg);
        km_trail_digest_free(d);
        return NULL;
    }
    const km_json *root = km_json_root(d->doc_);
    if (root->type != KM_JSON_OBJECT) return fail(d, err, text, len, root->offset, "not a JSON object", "digest");
    /* aws-cli's required keys; previousDigestSignature must be present but may be null. */
    static const char *const required[] = {"digestPublicKeyFingerprint", "digestS3Bucket",
                                           "digestS3Object", "previousDigestSignature",
                                           "digestEndTime", "digestStartTime"};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
        const km_json *v = km_json_get(root, required[i]);
        if (!v) return fail(d, err, text, len, root->offset, "is missing", required[i]);
        if (v->type != KM_JSON_STRING && !(v->type == KM_JSON_NULL && i == 3))
            return fail(d, err, text, len, v->offset, "is not a string", required[i]);
    }
    static const struct { const char *name; size_t off; } fields[] = {
        {"awsAccountId", offsetof(km_trail_digest, account)},
        {"digestStartTime", offsetof(km_trail_digest, start)},
        {"digestEndTime", offsetof(km_trail_digest, end)},
        {"digestS3Bucket", offsetof(km_trail_digest, bucket)},
        {"digestS3Object", offsetof(km_trail_digest, key)},
        {"digestPublicKeyFingerprint", offsetof(km_trail_digest, fingerprint)},
        {"digestSignatureAlgorithm", offsetof(km_trail_digest, sig_alg)},
        {"previousDigestS3Bucket", offsetof(km_trail_digest, prev_bucket)},
        {"previousDigestS3Object", offsetof(km_trail_digest, prev_key)},
        {"previousDigestHashValue", offsetof(km_trail_digest, prev_hash)},
        {"previousDigestHashAlgorithm", offsetof(km_trail_digest, prev_hash_alg)},
        {"previousDigestSignature", offsetof(km_trail_digest, prev_sig)},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        size_t bad = 0;
        if (str_field(root, fields[i].name, (const char **)((char *)d + fields[i].off), &bad))
            return fail(d, err, text, len, bad, "is not a string", fields[i].name);
    }
    if (km_trail_parse_time(d->start, &d->start_t))
        return fail(d, err, text, len, km_json_get(root, "digestStartTime")->offset,
                    "is not a time", "digestStartTime");
    if (km_trail_parse_time(d->end, &d->end_t))
        return fail(d, err, text, len, km_json_get(root, "digestEndTime")->offset,
                    "is not a time", "digestEndTime");
    const km_json *logs = km_json_get(root, "logFiles");
    if (!logs) return fail(d, err, text, len, root->offset, "is missing", "logFiles");
    if (logs->type != KM_JSON_ARRAY) return fail(d, err, text, len, logs->offset, "is not an array", "logFiles");
    d->nlogs = logs->u.arr.n;
    d->logs = calloc(d->nlogs ? d->nlogs : 1, sizeof *d->logs);
    if (!d->logs) {
        km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
        km_trail_digest_free(d);
        return NULL;
    }
    for (size_t i = 0; i < d->nlogs; i++) {
        const km_json *o = logs->u.arr.items[i];
        if (o->type != KM_JSON_OBJECT)
            return fail(d, err, text, len, o->offset, "is not an object", "logFiles entry");
        km_trail_logref *l = &d->logs[i];
        l->offset = o->offset;
        static const char *const lf[] = {"s3Bucket", "s3Object", "hashValue"};
        const char **dst[] = {&l->bucket, &l->key, &l->hash};
        for (size_t j = 0; j < 3; j++) {
            size_t bad = 0;
            if (str_field(o, lf[j], dst[j], &bad))
                return fail(d, err, text, len, bad, "is not a string", lf[j]);
            if (!*dst[j]) return fail(d, err, text, len, o->offset, "is missing from a logFiles entry", lf[j]);
        }
        size_t bad = 0;
        if (str_field(o, "hashAlgorithm", &l->hash_alg, &bad))
            return fail(d, err, text, len, bad, "is not a string", "hashAlgorithm");
    }
    return d;
}

int km_trail_string_to_sign(km_buf *out, const char *end_time, const char *bucket,
                            const char *key, const char *hash_hex, const char *prev_sig) {
    /* The literal "null" for a missing previous signature matches CloudTrail's own signer. */
    return km_buf_printf(out, "%s\n%s/%s\n%s\n%s", end_time, bucket, key, hash_hex,
                         prev_sig ? prev_sig : "null");
}
