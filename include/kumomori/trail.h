/* CloudTrail log file integrity validation, offline, over a local mirror of the trail bucket.
 *
 * CloudTrail delivers, every hour and per region, a gzip'd JSON "digest" that lists the SHA-256
 * of every log file delivered that hour and links to the previous digest (its S3 key, SHA-256
 * and signature). Each digest is signed with RSA PKCS#1 v1.5 / SHA-256 over a four-line string
 * (end time, bucket/key, SHA-256 of the digest, previous signature); the signature travels as
 * the S3 object metadata `x-amz-meta-signature`, which a mirror keeps in a sidecar `D.sig`.
 * The algorithm follows aws-cli `cloudtrail validate-logs` and the CloudTrail User Guide, and
 * adds what aws-cli leaves out: each older digest's SHA-256 and signature are compared with the
 * newer digest's previousDigestHashValue and previousDigestSignature, logs in the bucket that no
 * digest lists are reported, and the chain's time order is checked.
 *
 * Ownership: every object returned by a km_trail_* function belongs to the caller and is freed
 * with the matching *_free function, which accepts NULL.
 * Thread-safety: a loaded km_trail_keys is read-only and may be shared by threads. */
#ifndef KUMOMORI_TRAIL_H
#define KUMOMORI_TRAIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "kumomori/error.h"
#include "kumomori/buf.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- times ------------------------------------------------------------------------------ */

#define KM_TRAIL_TIME_MIN INT64_MIN
#define KM_TRAIL_TIME_MAX INT64_MAX

/* Parse a UTC time: 2015-08-17T15:01:31Z, with optional fractional seconds, a +HH:MM / -HH:MM
 * offset (no offset means UTC), 2015-08-17T15:01Z, 2015-08-17, the key forms 20150817T150131Z
 * and 20150817T1501Z, or seconds since the epoch ("1436317441.0"). Returns 0 and sets *t, or -1. */
int km_trail_parse_time(const char *s, int64_t *t);
/* Format t as 2015-08-17T15:01:31Z into out (at least 32 bytes). */
void km_trail_format_time(int64_t t, char out[32]);

/* ---- public keys ------------------------------------------------------------------------ */

typedef struct km_trail_keys km_trail_keys;

/* A new empty key set; NULL when out of memory. */
km_trail_keys *km_trail_keys_new(void);
void km_trail_keys_free(km_trail_keys *k); /* takes NULL */

/* Add the keys of a JSON document as `aws cloudtrail list-public-keys` prints it
 * ({"PublicKeyList":[{"Value":base64 DER,"Fingerprint":...,"ValidityStartTime":...,
 * "ValidityEndTime":...}]}), or a bare array of such objects. Each Value may be PKCS#1
 * RSAPublicKey or X.509 SubjectPublicKeyInfo DER. A Fingerprint that is not the hex MD5 of the
 * DER is an error. name is used in messages (the file name). On error nothing is added and err
 * names the file, the key's index and the byte offset. The text is not kept. */
int km_trail_keys_load_json(km_trail_keys *k, const char *text, size_t len, const char *name,
                            km_error *err);
/* Read path and call km_trail_keys_load_json. */
int km_trail_keys_load_file(km_trail_keys *k, const char *path, km_error *err);
/* Add one DER key (copied). valid_from/valid_to may be KM_TRAIL_TIME_MIN/MAX for "unknown".
 * fp_out (may be NULL) receives the fingerprint. */
int km_trail_keys_add_der(km_trail_keys *k, const unsigned char *der, size_t len,
                          int64_t valid_from, int64_t valid_to, char fp_out[33], km_error *err);
size_t km_trail_keys_count(const km_trail_keys *k);
/* Whether a key with this fingerprint (lowercase hex) is in the set; fills its validity times
 * when found (either pointer may be NULL). */
int km_trail_keys_has(const km_trail_keys *k, const char *fingerprint, int64_t *valid_from,
                      int64_t *valid_to);
/* Verify an RSA PKCS#1 v1.5 SHA-256 signature over msg with the key of that fingerprint.
 * Returns 1 valid, 0 invalid signature, -1 no such key. */
int km_trail_keys_verify(const km_trail_keys *k, const char *fingerprint, const void *msg,
                         size_t len, const unsigned char *sig, size_t siglen);

/* Fingerprint of a DER public key: lowercase hex MD5 of the DER bytes (as CloudTrail prints it). */
void km_trail_fingerprint(const unsigned char *der, size_t len, char out[33]);

/* ---- digests ---------------------------------------------------------------------------- */

typedef struct km_trail_logref {
    const char *bucket, *key; /* s3Bucket, s3Object */
    const char *hash;         /* hashValue (hex SHA-256 of the uncompressed log) */
    const char *hash_alg;     /* hashAlgorithm, or NULL */
    size_t offset;            /* byte offset of this entry in the digest */
} km_trail_logref;

/* One parsed digest. String fields point into the digest (NULL when absent or JSON null). */
typedef struct km_trail_digest {
    const char *account, *start, *end;       /* awsAccountId, digestStartTime, digestEndTime */
    const char *bucket, *key;                /* digestS3Bucket, digestS3Object */
    const char *fingerprint, *sig_alg;       /* digestPublicKeyFingerprint, digestSignatureAlgorithm */
    const char *prev_bucket, *prev_key;      /* previousDigestS3Bucket, previousDigestS3Object */
    const char *prev_hash, *prev_hash_alg;   /* previousDigestHashValue, previousDigestHashAlgorithm */
    const char *prev_sig;                    /* previousDigestSignature (NULL for JSON null) */
    int64_t start_t, end_t;                  /* the two times, parsed */
    km_trail_logref *logs;
    size_t nlogs;
    char sha256[65];                         /* hex SHA-256 of the bytes that were parsed */
    struct km_json_doc *doc_;                /* owns the strings */
} km_trail_digest;

/* Parse the uncompressed bytes of a digest. Checks what aws-cli requires (the keys
 * digestPublicKeyFingerprint, digestS3Bucket, digestS3Object, previousDigestSignature,
 * digestEndTime, digestStartTime) plus the types of every field used and logFiles[]. On error
 * returns NULL and err says "invalid format: ..." with the byte offset. */
km_trail_digest *km_trail_digest_parse(const char *text, size_t len, km_error *err);
void km_trail_digest_free(km_trail_digest *d); /* takes NULL */

/* The string CloudTrail signs: end_time "\n" bucket "/" key "\n" hash_hex "\n" prev_sig, where a
 * NULL prev_sig is written as "null". Appended to out; returns 0 or -1 (buffer cap). */
int km_trail_string_to_sign(km_buf *out, const char *end_time, const char *bucket,
                            const char *key, const char *hash_hex, const char *prev_sig);

/* ---- gzip ------------------------------------------------------------------------------- */

/* Stream a gzip file through inflate and SHA-256 (hex into out). Exactly one gzip member is
 * accepted: bytes after it are an error, as in aws-cli. Errors name the file and the byte
 * offset in the compressed file (truncated stream, corrupt data, bad CRC, trailing data). *ulen
 * (may be NULL) receives the uncompressed size. */
int km_trail_gz_sha256(const char *path, char out[65], uint64_t *ulen, km_error *err);
/* Inflate a whole gzip file (at most max uncompressed bytes). Returns malloc'd bytes,
 * NUL-terminated, or NULL with err set (same messages as above). */
char *km_trail_gz_read(const char *path, size_t max, size_t *len, km_error *err);
/* The same two over len bytes of gzip data in memory (not copied); name labels the messages in
 * place of the file name. Same rules, same messages, same offsets. */
int km_trail_gz_sha256_mem(const void *data, size_t len, const char *name, char out[65], uint64_t *ulen,
                           km_error *err);
char *km_trail_gz_read_mem(const void *data, size_t len, const char *name, size_t max, size_t *len_out,
                           km_error *err);

/* ---- validating a mirror ---------------------------------------------------------------- */

typedef enum {
    KM_TRAIL_VALID = 0,
    KM_TRAIL_INVALID,
    KM_TRAIL_MISSING,    /* listed (or linked) but absent from the mirror */
    KM_TRAIL_UNEXPECTED  /* logs only: in the mirror, listed by no digest */
} km_trail_status;

const char *km_trail_status_name(km_trail_status s); /* "valid", "invalid", ... */

typedef struct km_trail_item {
    char *bucket, *key;
    km_trail_status status;
    char *reason;        /* NULL when valid */
    int backfill;        /* digests: a backfill digest */
    char *digest;        /* logs: key of the digest that lists it (NULL for unexpected) */
    int64_t start, end;  /* digests: digestStartTime/EndTime when known, else MIN/MAX */
} km_trail_item;

typedef struct km_trail_gap {
    char *chain;         /* "<account>/<region>/<trail>" */
    int64_t from, to;    /* end of the older digest, start of the newer one */
    int backfill;        /* a gap in the chain of backfill digests */
    int covered;         /* valid backfill digests cover the whole gap */
} km_trail_gap;

typedef struct km_trail_mirror {
    const char *dir;     /* local folder: the root of the bucket (or of prefix) */
    const char *bucket;  /* bucket name; NULL = the folder's name */
    const char *prefix;  /* key prefix the folder holds ("" or NULL = the bucket root) */
} km_trail_mirror;

typedef struct km_trail_opts {
    const km_trail_mirror *mirrors;
    size_t nmirrors;
    const km_trail_keys *keys;
    int64_t start, end;  /* requested range; KM_TRAIL_TIME_MIN/MAX for open ends */
    int jobs;            /* threads hashing logs; 0 = 2 */
    size_t max_files;    /* cap on files scanned; 0 = 10,000,000 */
} km_trail_opts;

typedef struct km_trail_report {
    km_trail_item *digests;
    size_t ndigests;
    km_trail_item *logs;
    size_t nlogs;
    km_trail_gap *gaps;
    size_t ngaps;
    char **notes;        /* things worth knowing that are not failures */
    size_t nnotes;
    int64_t req_start, req_end;     /* as requested */
    int64_t found_start, found_end; /* covered by valid digests; MIN/MAX when none */
    /* counts */
    size_t dig_valid, dig_invalid, dig_missing;
    size_t bf_valid, bf_invalid, bf_missing;
    size_t log_valid, log_invalid, log_missing, log_unexpected;
    uint64_t log_bytes;  /* uncompressed bytes hashed */
} km_trail_report;

/* Validate the digests and logs of the mirrors. Returns KM_OK with *out set (the caller frees it)
 * whenever the mirrors could be read; tampering is reported in *out, not as an error. Returns an
 * error only when a mirror folder cannot be read, no keys were given, or memory runs out. */
int km_trail_verify(const km_trail_opts *opts, km_trail_report **out, km_error *err);
void km_trail_report_free(km_trail_report *r); /* takes NULL */
/* 1 when every digest and log in range is valid and at least one digest was found. */
int km_trail_report_ok(const km_trail_report *r);
/* Text in the shape of aws-cli's validate-logs output (tab-separated lines); verbose also lists
 * the valid files. */
void km_trail_report_text(const km_trail_report *r, FILE *f, int verbose);
/* {"digests":[...],"logs":[...],"gaps":[...],"notes":[...],"summary":{...}} plus a newline. */
int km_trail_report_json(const km_trail_report *r, km_buf *out);

#ifdef __cplusplus
}
#endif
#endif
