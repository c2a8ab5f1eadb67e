/* CloudTrail digest validation: times, keys, digests, string to sign, gzip hashing, signatures,
 * and the whole walk over a trail built by tests/gen_trail.py. Expected values come from the
 * shared corpora (aws-cli's test vectors, AWS's published keys), from Python/`date`, or from
 * OpenSSL and zlib used directly. */
#include "test.h"
#include "kumomori/json.h"
#include "kumomori/trail.h"
#include "trail/util.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* ---- helpers ----------------------------------------------------------------------------- */

static char tmpdir[256];

static const char *tmp(void) {
    if (!tmpdir[0]) {
        snprintf(tmpdir, sizeof tmpdir, "/tmp/km-test-trail-XXXXXX");
        if (!mkdtemp(tmpdir)) tmpdir[0] = 0;
    }
    return tmpdir;
}

/* Write data gzip'd with zlib's own gz* writer (not the code under test). */
static int write_gz(const char *path, const void *data, size_t len) {
    gzFile g = gzopen(path, "wb");
    if (!g) return -1;
    int ok = len == 0 || gzwrite(g, data, (unsigned)len) == (int)len;
    return gzclose(g) == Z_OK && ok ? 0 : -1;
}

static int write_raw(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(data, 1, len, f);
    return fclose(f) == 0 && w == len ? 0 : -1;
}

/* ---- times ------------------------------------------------------------------------------- */

TEST(trail_parse_time_forms) {
    static const struct { const char *s; int64_t want; } cases[] = {
        /* values from Python's datetime and GNU date */
        {"2015-08-17T14:01:31Z", 1439820091},
        {"2015-08-17T15:01:31Z", 1439823691},
        {"2023-10-15T23:04:04Z", 1697411044},
        {"2016-02-29T23:59:59Z", 1456790399},
        {"1970-01-01T00:00:00Z", 0},
        {"2026-01-15T00:17:42Z", 1768436262},
        {"2026-01-15T00:17:42.250Z", 1768436262},
        {"2024-05-01T10:00:00+02:00", 1714550400},
        {"2024-05-01T08:00:00", 1714550400},
        {"2024-05-01", 1714521600},
        {"20260115T001742Z", 1768436262},
        {"20260115T0017Z", 1768436220},
        {"1960-03-01T00:00:00Z", -310435200},
        {"1436317441.0", 1436317441},
        {"1436317441", 1436317441},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t t = 0;
        int rc = km_trail_parse_time(cases[i].s, &t);
        km_test_case(rc == 0 && t == cases[i].want, "%s -> rc %d, %lld (want %lld)", cases[i].s, rc,
                     (long long)t, (long long)cases[i].want);
    }
    static const char *const bad[] = {"", "yesterday", "2015-13-01", "2015-02-30", "2015-08-17T25:00:00Z",
                                      "2015-08-17T14:01:31Q", "2015-08-17T14:01:31+99:00", "2015-8-17"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t t;
        km_test_case(km_trail_parse_time(bad[i], &t) == -1, "'%s' should not parse", bad[i]);
    }
}

TEST(trail_format_time) {
    char s[32];
    km_trail_format_time(1439823691, s);
    CHECK_STR(s, "2015-08-17T15:01:31Z");
    km_trail_format_time(-310435200, s);
    CHECK_STR(s, "1960-03-01T00:00:00Z");
    km_trail_format_time(KM_TRAIL_TIME_MIN, s);
    CHECK_STR(s, "(beginning)");
}

/* ---- string to sign ---------------------------------------------------------------------- */

TEST(trail_string_to_sign_vector) {
    const char *corp = km_test_corpora();
    if (!corp) { km_test_skip("shared corpora absent"); return; }
    char path[4096];
    snprintf(path, sizeof path, "%s/integrity/test_vectors.json", corp);
    size_t len = 0;
    char *text = km_test_read(path, &len);
    CHECK(text);
    km_json_doc *doc = km_json_parse(text, len, NULL, NULL, NULL);
    free(text);
    CHECK(doc);
    const km_json *v = km_json_get(km_json_root(doc), "string_to_sign_null_previous");
    CHECK(v);
    const char *body = km_json_get_str(v, "inflated_digest_bytes", NULL);
    CHECK(body);
    char hash[65];
    CHECK(km_sha256_hex(body, strlen(body), hash) == 0);
    const km_json *prev = km_json_get(v, "previousDigestSignature");
    CHECK(prev && prev->type == KM_JSON_NULL);
    km_buf b = KM_BUF_INIT;
    CHECK(km_trail_string_to_sign(&b, km_json_get_str(v, "digestEndTime", NULL),
                                  km_json_get_str(v, "digestS3Bucket", NULL),
                                  km_json_get_str(v, "digestS3Object", NULL), hash, NULL) == 0);
    const char *want = km_json_get_str(v, "expected_string_to_sign", NULL);
    int same = want && b.data && strcmp(b.data, want) == 0;
    km_buf_free(&b);
    km_json_doc_free(doc);
    CHECK(same);
}

TEST(trail_string_to_sign_with_previous) {
    km_buf b = KM_BUF_INIT;
    km_trail_string_to_sign(&b, "2015-08-17T15:01:31Z", "bkt", "AWSLogs/1/x.json.gz", "ab12", "ff00");
    CHECK_STR(b.data, "2015-08-17T15:01:31Z\nbkt/AWSLogs/1/x.json.gz\nab12\nff00");
    km_buf_free(&b);
}

/* ---- gzip and log hashes ----------------------------------------------------------------- */

TEST(trail_log_hash_vectors) {
    const char *corp = km_test_corpora();
    if (!corp) { km_test_skip("shared corpora absent"); return; }
    char path[4096];
    snprintf(path, sizeof path, "%s/integrity/test_vectors.json", corp);
    size_t len = 0;
    char *text = km_test_read(path, &len);
    CHECK(text);
    km_json_doc *doc = km_json_parse(text, len, NULL, NULL, NULL);
    free(text);
    CHECK(doc);
    const km_json *cases = km_json_path(km_json_root(doc), "log_hash_vectors.cases");
    CHECK(cases && km_json_len(cases) == 3);
    for (size_t i = 0; i < km_json_len(cases); i++) {
        const km_json *c = km_json_at(cases, i);
        const char *u = km_json_get_str(c, "uncompressed", ""), *want = km_json_get_str(c, "hashValue", "");
        char f[512], got[65];
        snprintf(f, sizeof f, "%s/vec%zu.json.gz", tmp(), i);
        uint64_t ulen = 0;
        int ok = write_gz(f, u, strlen(u)) == 0 && km_trail_gz_sha256(f, got, &ulen, NULL) == 0;
        km_test_case(ok && strcmp(got, want) == 0 && ulen == strlen(u), "log hash of '%s': %s, want %s", u,
                     ok ? got : "(failed)", want);
    }
    km_json_doc_free(doc);
}

TEST(trail_gz_errors_name_file_and_offset) {
    char f[512];
    km_error e;
    char got[65];
    const char *body = "{\"Records\":[{\"eventName\":\"DeleteBucket\"}]}";
    snprintf(f, sizeof f, "%s/whole.json.gz", tmp());
    CHECK(write_gz(f, body, strlen(body)) == 0);
    size_t glen = 0;
    char *gz = km_test_read(f, &glen);
    CHECK(gz && glen > 30);

    /* truncated: the message gives the file and where the data stops */
    snprintf(f, sizeof f, "%s/trunc.json.gz", tmp());
    CHECK(write_raw(f, gz, 25) == 0);
    km_error_clear(&e);
    CHECK(km_trail_gz_sha256(f, got, NULL, &e) != 0);
    CHECK_CONTAINS(e.msg, f);
    CHECK_CONTAINS(e.msg, "truncated gzip stream: the compressed data ends at byte 25");
    CHECK_INT(e.offset, 25);

    /* not gzip at all */
    snprintf(f, sizeof f, "%s/plain.json.gz", tmp());
    CHECK(write_raw(f, body, strlen(body)) == 0);
    km_error_clear(&e);
    CHECK(km_trail_gz_sha256(f, got, NULL, &e) != 0);
    CHECK_CONTAINS(e.msg, "not a gzip file");

    /* a second gzip member (aws-cli refuses it since PR #10324) */
    snprintf(f, sizeof f, "%s/two.json.gz", tmp());
    char *two = malloc(glen * 2);
    CHECK(two);
    memcpy(two, gz, glen);
    memcpy(two + glen, gz, glen);
    int wrote = write_raw(f, two, glen * 2); /* freed before CHECK, which may return */
    free(two);
    CHECK(wrote == 0);
    km_error_clear(&e);
    CHECK(km_trail_gz_sha256(f, got, NULL, &e) != 0);
    char want[128];
    snprintf(want, sizeof want, "unexpected data after end of compressed stream at byte %zu", glen);
    CHECK_CONTAINS(e.msg, want);

    /* a damaged CRC-32 (the last 8 bytes are CRC and size) */
    snprintf(f, sizeof f, "%s/crc.json.gz", tmp());
    gz[glen - 8] ^= 0x55;
    CHECK(write_raw(f, gz, glen) == 0);
    km_error_clear(&e);
    CHECK(km_trail_gz_sha256(f, got, NULL, &e) != 0);
    CHECK_CONTAINS(e.msg, "corrupt gzip data at byte");
    CHECK_CONTAINS(e.msg, "incorrect data check");
    free(gz);

    /* missing file */
    km_error_clear(&e);
    snprintf(f, sizeof f, "%s/none.json.gz", tmp());
    CHECK(km_trail_gz_sha256(f, got, NULL, &e) != 0);
    CHECK_CONTAINS(e.msg, "cannot open");
}

TEST(trail_gz_read_cap) {
    char f[512];
    snprintf(f, sizeof f, "%s/big.json.gz", tmp());
    char *big = malloc(100000);
    CHECK(big);
    memset(big, 'a', 100000);
    int wrote = write_gz(f, big, 100000); /* freed before CHECK, which may return */
    free(big);
    CHECK(wrote == 0);
    km_error e;
    km_error_clear(&e);
    size_t len = 0;
    char *p = km_trail_gz_read(f, 1000, &len, &e);
    CHECK(p == NULL);
    CHECK_CONTAINS(e.msg, "too large");
    p = km_trail_gz_read(f, 200000, &len, &e);
    CHECK(p && len == 100000 && p[0] == 'a' && p[len] == 0);
    free(p);
}

/* ---- keys -------------------------------------------------------------------------------- */

TEST(trail_keys_documented) {
    const char *corp = km_test_corpora();
    if (!corp) { km_test_skip("shared corpora absent"); return; }
    char path[4096];
    snprintf(path, sizeof path, "%s/integrity/public_keys_documented.json", corp);
    size_t len = 0;
    char *text = km_test_read(path, &len);
    CHECK(text);
    km_json_doc *doc = km_json_parse(text, len, NULL, NULL, NULL);
    free(text);
    CHECK(doc);
    /* the corpus keeps AWS's keys under "keys": hand them over as a bare array */
    const km_json *keys = km_json_get(km_json_root(doc), "keys");
    CHECK(keys && km_json_len(keys) == 4);
    km_buf arr = KM_BUF_INIT;
    CHECK(km_json_write(&arr, keys) == 0);
    km_trail_keys *k = km_trail_keys_new();
    km_error e;
    km_error_clear(&e);
    int rc = km_trail_keys_load_json(k, arr.data, arr.len, "documented", &e);
    km_buf_free(&arr);
    CHECK_MSG(rc == 0, "load failed: %s", e.msg);
    CHECK_INT(km_trail_keys_count(k), 4);
    /* each fingerprint in the corpus (MD5 of the DER, checked there) is found, including the
     * X.509 SubjectPublicKeyInfo one */
    for (size_t i = 0; i < 4; i++) {
        const char *fp = km_json_get_str(km_json_at(keys, i), "Fingerprint", "");
        int64_t from = 0, to = 0;
        km_test_case(km_trail_keys_has(k, fp, &from, &to), "key %s loaded", fp);
    }
    int64_t from = 0, to = 0;
    CHECK(km_trail_keys_has(k, "8eba5db5bea9b640d1c96a77256fe7f2", &from, &to));
    CHECK_INT(from, 1436317441);
    CHECK_INT(to, 1438909441);
    CHECK(km_trail_keys_has(k, "31E8B5433410DFB61A9DC45CC65B22FF", NULL, NULL)); /* any case */
    km_trail_keys_free(k);
    km_json_doc_free(doc);
}

TEST(trail_keys_bad_files) {
    static const struct { const char *text, *want; } cases[] = {
        {"{\"PublicKeyList\":[{\"Value\":\"MIIB!CgKC\"}]}", "t: key 0: \"Value\" is not valid base64 at byte 32 (line 1, column 33)"},
        {"{\"PublicKeyList\":[{\"Value\":\"aGVsbG8=\"}]}", "not an RSA public key in PKCS#1 or X.509 SubjectPublicKeyInfo DER (5 bytes, fingerprint 5d41402abc4b2a76b9719d911017c592)"},
        {"{\"PublicKeyList\":[{\"Fingerprint\":\"00\"}]}", "t: key 0 at byte 18 (line 1, column 19): no \"Value\" string"},
        {"{\"PublicKeyList\":[7]}", "t: key 0 at byte 18 (line 1, column 19): expected an object"},
        {"{\"PublicKeyList\":{}}", "expected the output of `aws cloudtrail list-public-keys`"},
        {"{\"PublicKeyList\":[", "t: invalid JSON at byte 18"},
        {"[{\"Value\":\"aGVsbG8=\",\"ValidityStartTime\":true}]", "ValidityStartTime/ValidityEndTime is not a time"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        km_trail_keys *k = km_trail_keys_new();
        km_error e;
        km_error_clear(&e);
        int rc = km_trail_keys_load_json(k, cases[i].text, strlen(cases[i].text), "t", &e);
        km_test_case(rc != 0 && strstr(e.msg, cases[i].want) && km_trail_keys_count(k) == 0,
                     "case %zu: rc %d, message '%s', want '%s'", i, rc, e.msg, cases[i].want);
        km_trail_keys_free(k);
    }
}

/* Sign msg with the committed TEST key through OpenSSL directly. */
static size_t test_sign(const char *keyname, const char *msg, unsigned char *sig, size_t cap,
                        unsigned char **der, size_t *derlen) {
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/data/TEST-ONLY-trail-key-%s.pem", km_test_top(), keyname);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    EVP_PKEY *pk = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (!pk) return 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    size_t sl = cap;
    int ok = EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, pk) == 1 &&
             EVP_DigestSign(ctx, sig, &sl, (const unsigned char *)msg, strlen(msg)) == 1;
    EVP_MD_CTX_free(ctx);
    int n = i2d_PUBKEY(pk, der); /* X.509 SubjectPublicKeyInfo */
    *derlen = n > 0 ? (size_t)n : 0;
    EVP_PKEY_free(pk);
    return ok ? sl : 0;
}

TEST(trail_signature_verify) {
    const char *msg = "2026-01-15T01:17:42Z\nb/k\n00ff\nnull";
    unsigned char sig[512], *der = NULL;
    size_t derlen = 0;
    size_t sl = test_sign("a", msg, sig, sizeof sig, &der, &derlen);
    CHECK(sl == 256 && der);
    km_trail_keys *k = km_trail_keys_new();
    char fp[33];
    CHECK(km_trail_keys_add_der(k, der, derlen, KM_TRAIL_TIME_MIN, KM_TRAIL_TIME_MAX, fp, NULL) == 0);
    /* the fingerprint is the MD5 of the DER, computed here with OpenSSL directly */
    unsigned char md[16];
    unsigned int mdl = 0;
    EVP_Digest(der, derlen, md, &mdl, EVP_md5(), NULL);
    char want[33];
    for (int i = 0; i < 16; i++) snprintf(want + 2 * i, 3, "%02x", md[i]);
    CHECK_STR(fp, want);
    CHECK_INT(km_trail_keys_verify(k, fp, msg, strlen(msg), sig, sl), 1);
    sig[10] ^= 1;
    CHECK_INT(km_trail_keys_verify(k, fp, msg, strlen(msg), sig, sl), 0);
    sig[10] ^= 1;
    CHECK_INT(km_trail_keys_verify(k, fp, "other", 5, sig, sl), 0);
    CHECK_INT(km_trail_keys_verify(k, "0123456789abcdef0123456789abcdef", msg, strlen(msg), sig, sl), -1);
    /* DER with trailing junk is refused */
    unsigned char *junk = malloc(derlen + 1);
    CHECK(junk);
    memcpy(junk, der, derlen);
    junk[derlen] = 0;
    km_error e;
    km_error_clear(&e);
    CHECK(km_trail_keys_add_der(k, junk, derlen + 1, 0, 0, NULL, &e) != 0);
    free(junk);
    OPENSSL_free(der);
    km_trail_keys_free(k);
}

/* ---- digests ----------------------------------------------------------------------------- */

static km_trail_digest *corpus_digest(const char *name, char **textp, size_t *lenp) {
    const char *corp = km_test_corpora();
    if (!corp) return NULL;
    char path[4096];
    snprintf(path, sizeof path, "%s/integrity/digests/%s", corp, name);
    *textp = km_test_read(path, lenp);
    if (!*textp) return NULL;
    return km_trail_digest_parse(*textp, *lenp, NULL);
}

TEST(trail_digest_corpus_docs_sample) {
    if (!km_test_corpora()) { km_test_skip("shared corpora absent"); return; }
    char *text = NULL;
    size_t len = 0;
    km_trail_digest *d = corpus_digest("docs_sample_digest.json", &text, &len);
    CHECK(d);
    CHECK_STR(d->fingerprint, "31e8b5433410dfb61a9dc45cc65b22ff");
    CHECK_STR(d->bucket, "S3-bucket-name");
    CHECK_INT(d->start_t, 1439820091);
    CHECK_INT(d->end_t, 1439823691);
    CHECK_INT(d->nlogs, 1);
    CHECK_STR(d->logs[0].hash, "9bb6196fc6b84d6f075a56548feca262bd99ba3c2de41b618e5b6e22c1fc71f6");
    CHECK_STR(d->logs[0].hash_alg, "SHA-256");
    CHECK_STR(d->prev_hash_alg, "SHA-256");
    CHECK(d->prev_sig && strlen(d->prev_sig) == 512);
    /* sha256sum of the corpus file */
    CHECK_STR(d->sha256, "e54be22e06fe342543dc87eb018017339cce2851a3c41312cc059e01bd4c5a06");
    km_trail_digest_free(d);
    free(text);
}

TEST(trail_digest_corpus_empty_period) {
    if (!km_test_corpora()) { km_test_skip("shared corpora absent"); return; }
    char *text = NULL;
    size_t len = 0;
    km_trail_digest *d = corpus_digest("docs_empty_digest.json", &text, &len);
    CHECK(d);
    CHECK_INT(d->nlogs, 0);
    CHECK_STR(d->sha256, "a350e2352340e78f170ba566dd80e3719dff6e32e8f2f2dc6ca31e73b31c5b9e");
    km_trail_digest_free(d);
    free(text);
}

TEST(trail_digest_corpus_real) {
    if (!km_test_corpora()) { km_test_skip("shared corpora absent"); return; }
    char *text = NULL;
    size_t len = 0;
    km_trail_digest *d = corpus_digest("real_llmguard_ap-northeast-1_20231015T230404Z.digest.json", &text, &len);
    CHECK(d);
    /* "\/" in the compact real body decodes to "/" */
    CHECK_STR(d->key, "AWSLogs/327878933619/CloudTrail-Digest/ap-northeast-1/2023/10/15/327878933619_CloudTrail-Digest_ap-northeast-1_llm-guard-trail_us-west-2_20231015T230404Z.json.gz");
    CHECK_STR(d->fingerprint, "be2f0b997552f44942837300ba1aba9d");
    CHECK_INT(d->nlogs, 5);
    CHECK_STR(d->logs[0].hash, "4309c6161e37538de72ec6f679e86b7e45aebed71fa7e76af70c3019fef44e19");
    CHECK_STR(d->sha256, "4277102dccf54c0c247738ca5e6e3504b7370206ef1c82855994ec23441ae1ed");
    CHECK_INT(d->end_t, 1697411044);
    km_buf b = KM_BUF_INIT;
    km_trail_string_to_sign(&b, d->end, d->bucket, d->key, d->sha256, d->prev_sig);
    char want[2048];
    snprintf(want, sizeof want, "2023-10-15T23:04:04Z\nllm-guard-trail/%s\n%s\n%s", d->key,
             "4277102dccf54c0c247738ca5e6e3504b7370206ef1c82855994ec23441ae1ed", d->prev_sig);
    CHECK_STR(b.data, want);
    CHECK(strncmp(d->prev_sig, "11c11e253f4929ea", 16) == 0);
    km_buf_free(&b);
    km_trail_digest_free(d);
    free(text);
}

TEST(trail_digest_bad_format) {
    static const struct { const char *text, *want; } cases[] = {
        {"[]", "invalid format: digest not a JSON object at byte 0"},
        {"{\"digestS3Bucket\":\"b\"}", "invalid format: digestPublicKeyFingerprint is missing at byte 0"},
        {"{\"digestPublicKeyFingerprint\":\"f\",\"digestS3Bucket\":7,\"digestS3Object\":\"k\","
         "\"previousDigestSignature\":null,\"digestEndTime\":\"2015-08-17T15:01:31Z\",\"digestStartTime\":\"x\"}",
         "invalid format: digestS3Bucket is not a string at byte 51 (line 1, column 52)"},
        {"{\"digestPublicKeyFingerprint\":\"f\",\"digestS3Bucket\":\"b\",\"digestS3Object\":\"k\","
         "\"digestEndTime\":\"2015-08-17T15:01:31Z\",\"digestStartTime\":\"2015-08-17T14:01:31Z\",\"logFiles\":[]}",
         "previousDigestSignature is missing"},
        {"{\"digestPublicKeyFingerprint\":\"f\",\"digestS3Bucket\":\"b\",\"digestS3Object\":\"k\",\"previousDigestSignature\":null,"
         "\"digestEndTime\":\"2015-08-17T15:01:31Z\",\"digestStartTime\":\"noon\",\"logFiles\":[]}",
         "digestStartTime is not a time"},
        {"{\"digestPublicKeyFingerprint\":\"f\",\"digestS3Bucket\":\"b\",\"digestS3Object\":\"k\",\"previousDigestSignature\":null,"
         "\"digestEndTime\":\"2015-08-17T15:01:31Z\",\"digestStartTime\":\"2015-08-17T14:01:31Z\"}",
         "logFiles is missing"},
        {"{\"digestPublicKeyFingerprint\":\"f\",\"digestS3Bucket\":\"b\",\"digestS3Object\":\"k\",\"previousDigestSignature\":null,"
         "\"digestEndTime\":\"2015-08-17T15:01:31Z\",\"digestStartTime\":\"2015-08-17T14:01:31Z\",\"logFiles\":[{\"s3Bucket\":\"b\"}]}",
         "s3Object is missing from a logFiles entry"},
        {"{\"digestPublicKeyFingerprint\":\"f\",", "invalid format: invalid JSON at byte 0 (line 1, column 1): unterminated object"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        km_error e;
        km_error_clear(&e);
        km_trail_digest *d = km_trail_digest_parse(cases[i].text, strlen(cases[i].text), &e);
        km_test_case(!d && strstr(e.msg, cases[i].want), "case %zu: '%s', want '%s'", i, e.msg, cases[i].want);
        km_trail_digest_free(d);
    }
}

/* ---- a whole trail (tests/gen_trail.py) --------------------------------------------------- */

static km_trail_report *run_trail(const char *tamper, const char *keys) {
    char cmd[8192], out[1024], dir[1100], kf[1100];
    snprintf(out, sizeof out, "%s/trail-%s", tmp(), tamper);
    snprintf(cmd, sizeof cmd, "python3 '%s/tests/gen_trail.py' '%s' --tamper %s", km_test_top(), out, tamper);
    if (system(cmd) != 0) return NULL;
    snprintf(dir, sizeof dir, "%s/kumomori-test-trail", out);
    snprintf(kf, sizeof kf, "%s/%s", out, keys);
    km_trail_keys *k = km_trail_keys_new();
    if (km_trail_keys_load_file(k, kf, NULL)) {
        km_trail_keys_free(k);
        return NULL;
    }
    km_trail_mirror m = {dir, NULL, NULL};
    km_trail_opts o = {&m, 1, k, KM_TRAIL_TIME_MIN, KM_TRAIL_TIME_MAX, 2, 0};
    km_trail_report *r = NULL;
    km_trail_verify(&o, &r, NULL);
    km_trail_keys_free(k);
    return r;
}

static int have_python(void) { return system("python3 -c 'import gzip' >/dev/null 2>&1") == 0; }

static const km_trail_item *find_item(const km_trail_item *v, size_t n, const char *key_suffix) {
    size_t sl = strlen(key_suffix);
    for (size_t i = 0; i < n; i++) {
        size_t kl = strlen(v[i].key);
        if (kl >= sl && strcmp(v[i].key + kl - sl, key_suffix) == 0) return &v[i];
    }
    return NULL;
}

TEST(trail_verify_generated_valid) {
    if (!have_python()) { km_test_skip("python3 absent"); return; }
    km_trail_report *r = run_trail("none", "keys.json");
    CHECK(r);
    CHECK_INT(r->dig_valid, 9);
    CHECK_INT(r->bf_valid, 2);
    CHECK_INT(r->log_valid, 15);
    CHECK_INT(r->dig_invalid + r->dig_missing + r->bf_invalid + r->bf_missing + r->log_invalid +
              r->log_missing + r->log_unexpected, 0);
    CHECK_INT(r->ngaps, 1);
    CHECK(r->gaps[0].covered);
    CHECK_INT(r->gaps[0].from, 1768436262 + 4 * 3600);
    CHECK_INT(r->gaps[0].to, 1768436262 + 6 * 3600);
    CHECK(km_trail_report_ok(r));
    /* the two empty-period and backfill digests are among the valid ones */
    const km_trail_item *bf = find_item(r->digests, r->ndigests, "_20260115T061742Z_backfill.json.gz");
    CHECK(bf && bf->backfill && bf->status == KM_TRAIL_VALID);
    km_buf b = KM_BUF_INIT;
    CHECK(km_trail_report_json(r, &b) == 0);
    km_json_doc *doc = km_json_parse(b.data, b.len, NULL, NULL, NULL); /* the JSON output parses */
    km_buf_free(&b);
    CHECK(doc);
    CHECK(km_json_path(km_json_root(doc), "summary.valid")->type == KM_JSON_TRUE);
    km_json_doc_free(doc);
    km_trail_report_free(r);
}

TEST(trail_verify_generated_log_deleted) {
    if (!have_python()) { km_test_skip("python3 absent"); return; }
    km_trail_report *r = run_trail("log-deleted", "keys.json");
    CHECK(r);
    CHECK_INT(r->log_missing, 1);
    CHECK_INT(r->log_valid, 14);
    const km_trail_item *it = find_item(r->logs, r->nlogs, "_20260115T0347Z_GOAiWUcvUs2yOZMu.json.gz");
    CHECK(it && it->status == KM_TRAIL_MISSING);
    CHECK(it->digest && strstr(it->digest, "_20260115T041742Z.json.gz"));
    CHECK(!km_trail_report_ok(r));
    km_trail_report_free(r);
}

TEST(trail_verify_generated_wrong_keys) {
    if (!have_python()) { km_test_skip("python3 absent"); return; }
    km_trail_report *r = run_trail("none", "keys-attacker.json");
    CHECK(r);
    CHECK_INT(r->dig_valid + r->bf_valid, 0);
    CHECK_INT(r->dig_invalid, 9);
    CHECK(r->found_start == KM_TRAIL_TIME_MIN);
    CHECK_CONTAINS(r->digests[0].reason, "public key not found for fingerprint");
    km_trail_report_free(r);
}

TEST(trail_verify_limits_and_errors) {
    km_trail_keys *k = km_trail_keys_new();
    km_trail_mirror m = {"/nonexistent/km", NULL, NULL};
    km_trail_opts o = {&m, 1, k, KM_TRAIL_TIME_MIN, KM_TRAIL_TIME_MAX, 1, 0};
    km_trail_report *r = NULL;
    km_error e;
    km_error_clear(&e);
    CHECK(km_trail_verify(&o, &r, &e) != 0); /* no keys */
    CHECK_CONTAINS(e.msg, "no public keys");
    if (!have_python()) { km_trail_keys_free(k); km_test_skip("python3 absent"); return; }
    km_trail_report *ok = run_trail("none", "keys.json"); /* makes trail-none */
    km_trail_report_free(ok);
    char kf[1100], dir[1100];
    snprintf(kf, sizeof kf, "%s/trail-none/keys.json", tmp());
    snprintf(dir, sizeof dir, "%s/trail-none/kumomori-test-trail", tmp());
    CHECK(km_trail_keys_load_file(k, kf, NULL) == 0);
    km_error_clear(&e);
    CHECK(km_trail_verify(&o, &r, &e) != 0);
    CHECK_CONTAINS(e.msg, "/nonexistent/km: cannot read folder");
    m.dir = dir;
    o.max_files = 5;
    km_error_clear(&e);
    CHECK(km_trail_verify(&o, &r, &e) != 0);
    CHECK_CONTAINS(e.msg, "more than 5 files");
    km_trail_keys_free(k);
}

/* Damaged inputs of every kind must give an error or a result, never a crash (ASan checks the
 * memory side in the sanitized run). Deterministic: a fixed linear congruential generator. */
TEST(trail_damaged_inputs_do_not_crash) {
    const char *corp = km_test_corpora();
    if (!corp) { km_test_skip("shared corpora absent"); return; }
    char path[4096];
    snprintf(path, sizeof path, "%s/integrity/digests/real_llmguard_ap-northeast-1_20231015T230404Z.digest.json", corp);
    size_t len = 0;
    char *orig = km_test_read(path, &len);
    CHECK(orig && len > 100);
    char *buf = malloc(len + 1);
    CHECK(buf);
    uint32_t x = 12345;
    int parsed = 0, refused = 0;
    for (int round = 0; round < 400; round++) {
        memcpy(buf, orig, len + 1);
        size_t n = len;
        x = x * 1103515245u + 12345u;
        size_t at = (x >> 8) % len;
        switch (round % 4) {
        case 0: buf[at] ^= (char)(1 + (x & 0x7f)); break;      /* flip bits */
        case 1: n = at; buf[n] = 0; break;                       /* truncate */
        case 2: buf[at] = "\"{}[],:\\0"[x % 10]; break;        /* structural byte */
        case 3: memmove(buf + at, buf + at + 1, len - at); n--; break; /* drop a byte */
        }
        km_error e;
        km_error_clear(&e);
        km_trail_digest *d = km_trail_digest_parse(buf, n, &e);
        if (d) parsed++;
        else if (strncmp(e.msg, "invalid format: ", 16) == 0) refused++;
        km_trail_digest_free(d);
    }
    km_test_case(parsed + refused == 400, "400 damaged digests: %d parsed, %d refused with a message", parsed, refused);
    /* gzip: every truncation and some bit flips of a real gzip stream */
    char gzpath[512], cut[512];
    snprintf(gzpath, sizeof gzpath, "%s/damaged.json.gz", tmp());
    snprintf(cut, sizeof cut, "%s/damaged-cut.json.gz", tmp());
    CHECK(write_gz(gzpath, orig, len) == 0);
    size_t glen = 0;
    char *gz = km_test_read(gzpath, &glen);
    CHECK(gz);
    int errors = 0, ok = 0;
    for (size_t k = 0; k < glen; k++) {
        char h[65];
        km_error e;
        km_error_clear(&e);
        if (k % 2) {
            gz[k] ^= 0x20;
            write_raw(cut, gz, glen);
            gz[k] ^= 0x20;
        } else {
            write_raw(cut, gz, k);
        }
        if (km_trail_gz_sha256(cut, h, NULL, &e) == 0) ok++;
        else if (strstr(e.msg, cut)) errors++;
    }
    km_test_case(ok + errors == (int)glen && errors > (int)glen / 2,
                 "%zu damaged gzip files: %d read, %d errors naming the file", glen, ok, errors);
    free(gz);
    free(buf);
    free(orig);
}

TEST(trail_cleanup) {
    if (!tmpdir[0]) return;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    CHECK(system(cmd) == 0);
    tmpdir[0] = 0;
}
