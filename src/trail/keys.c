/* CloudTrail public keys: loading `aws cloudtrail list-public-keys` output, fingerprints, and
 * RSA PKCS#1 v1.5 SHA-256 verification through OpenSSL. */
#include "kumomori/trail.h"
#include "kumomori/json.h"
#include "trail/util.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

typedef struct tkey {
    char fp[33];
    int64_t from, to;
    EVP_PKEY *pkey;
} tkey;

struct km_trail_keys {
    tkey *v;
    size_t n, cap;
};

km_trail_keys *km_trail_keys_new(void) { return calloc(1, sizeof(km_trail_keys)); }

void km_trail_keys_free(km_trail_keys *k) {
    if (!k) return;
    for (size_t i = 0; i < k->n; i++) EVP_PKEY_free(k->v[i].pkey);
    free(k->v);
    free(k);
}

size_t km_trail_keys_count(const km_trail_keys *k) { return k ? k->n : 0; }

void km_trail_fingerprint(const unsigned char *der, size_t len, char out[33]) {
    unsigned char md[16];
    unsigned int mdlen = 0;
    if (!EVP_Digest(der, len, md, &mdlen, EVP_md5(), NULL) || mdlen != 16) {
        out[0] = 0;
        return;
    }
    km_hex_encode(md, 16, out);
}

/* PKCS#1 RSAPublicKey first (what the CloudTrail docs promise), then X.509 SPKI (what one of
 * the documented sample keys is). The whole DER must be consumed, so trailing junk is refused. */
static EVP_PKEY *decode_rsa(const unsigned char *der, size_t len) {
    if (len > 1 << 20) return NULL;
    const unsigned char *p = der;
    EVP_PKEY *k = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)len);
    if (k && p == der + len) return k;
    EVP_PKEY_free(k);
    p = der;
    k = d2i_PUBKEY(NULL, &p, (long)len);
    if (k && p == der + len && EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA) return k;
    EVP_PKEY_free(k);
    return NULL;
}

static const tkey *find(const km_trail_keys *k, const char *fp) {
    if (!k || !fp) return NULL;
    for (size_t i = 0; i < k->n; i++)
        if (km_hex_equal(k->v[i].fp, fp)) return &k->v[i];
    return NULL;
}

int km_trail_keys_add_der(km_trail_keys *k, const unsigned char *der, size_t len,
                          int64_t valid_from, int64_t valid_to, char fp_out[33], km_error *err) {
    char fp[33];
    km_trail_fingerprint(der, len, fp);
    if (fp_out) memcpy(fp_out, fp, 33);
    EVP_PKEY *pkey = decode_rsa(der, len);
    if (!pkey)
        return km_error_set(err, KM_ERR, (size_t)-1,
                            "not an RSA public key in PKCS#1 or X.509 SubjectPublicKeyInfo DER "
                            "(%zu bytes, fingerprint %s)", len, fp);
    if (find(k, fp)) { /* the same key listed twice (overlapping ListPublicKeys ranges) */
        EVP_PKEY_free(pkey);
        return KM_OK;
    }
    if (k->n == k->cap) {
        size_t nc = k->cap ? k->cap * 2 : 8;
        tkey *nv = realloc(k->v, nc * sizeof *nv);
        if (!nv) {
            EVP_PKEY_free(pkey);
            return km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
        }
        k->v = nv;
        k->cap = nc;
    }
    tkey *t = &k->v[k->n++];
    memcpy(t->fp, fp, 33);
    t->from = valid_from;
    t->to = valid_to;
    t->pkey = pkey;
    return KM_OK;
}

static int time_field(const km_json *o, const char *name, int64_t def, int64_t *out) {
    const km_json *v = km_json_get(o, name);
    *out = def;
    if (!v || v->type == KM_JSON_NULL) return 0;
    if (v->type == KM_JSON_NUMBER) {
        if (!(v->u.num.d > -9.2e18 && v->u.num.d < 9.2e18)) return -1;
        *out = (int64_t)v->u.num.d;
        return 0;
    }
    if (v->type == KM_JSON_STRING) return km_trail_parse_time(v->u.str.s, out);
    return -1;
}

int km_trail_keys_load_json(km_trail_keys *k, const char *text, size_t len, const char *name,
                            km_error *err) {
    km_error e;
    km_error_clear(&e);
    km_json_doc *doc = km_json_parse(text, len, NULL, NULL, &e);
    if (!doc) {
        km_error_set(err, e.code, e.offset, "%s: %s", name, e.msg);
        return e.code ? e.code : KM_ERR;
    }
    const km_json *root = km_json_root(doc), *list = root;
    if (root->type == KM_JSON_OBJECT) list = km_json_get(root, "PublicKeyList");
    if (!list || list->type != KM_JSON_ARRAY) {
        size_t at = root->offset;
        km_json_doc_free(doc);
        return km_error_set(err, KM_ERR, at,
                            "%s: expected the output of `aws cloudtrail list-public-keys` "
                            "({\"PublicKeyList\": [...]}) or an array of keys, at byte %zu", name, at);
    }
    size_t before = k->n;
    int rc = KM_OK;
    for (size_t i = 0; i < list->u.arr.n && rc == KM_OK; i++) {
        const km_json *o = list->u.arr.items[i];
        size_t line, col;
        km_json_line_col(text, len, o->offset, &line, &col);
        if (o->type != KM_JSON_OBJECT) {
            rc = km_error_set(err, KM_ERR, o->offset, "%s: key %zu at byte %zu (line %zu, column %zu): "
                              "expected an object", name, i, o->offset, line, col);
            break;
        }
        const km_json *val = km_json_get(o, "Value");
        if (!val || val->type != KM_JSON_STRING) {
            rc = km_error_set(err, KM_ERR, o->offset, "%s: key %zu at byte %zu (line %zu, column %zu): "
                              "no \"Value\" string (the base64 DER of the key)", name, i, o->offset,
                              line, col);
            break;
        }
        size_t cap = val->u.str.len / 4 * 3 + 3, bad = 0;
        unsigned char *der = malloc(cap ? cap : 1);
        if (!der) { rc = km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory"); break; }
        long dn = km_trail_base64_decode(val->u.str.s, val->u.str.len, der, cap, &bad);
        if (dn <= 0) {
            free(der);
            /* +1 for the opening quote; exact for keys without escapes, which base64 never needs */
            size_t at = val->offset + 1 + bad;
            km_json_line_col(text, len, at, &line, &col);
            rc = km_error_set(err, KM_ERR, at, "%s: key %zu: \"Value\" is not valid base64 at byte "
                              "%zu (line %zu, column %zu)", name, i, at, line, col);
            break;
        }
        int64_t from, to;
        if (time_field(o, "ValidityStartTime", KM_TRAIL_TIME_MIN, &from) ||
            time_field(o, "ValidityEndTime", KM_TRAIL_TIME_MAX, &to)) {
            free(der);
            rc = km_error_set(err, KM_ERR, o->offset, "%s: key %zu at byte %zu (line %zu, column %zu): "
                              "ValidityStartTime/ValidityEndTime is not a time", name, i,
                              o->offset, line, col);
            break;
        }
        char fp[33];
        km_error ke;
        km_error_clear(&ke);
        if (km_trail_keys_add_der(k, der, (size_t)dn, from, to, fp, &ke)) {
            free(der);
            km_json_line_col(text, len, val->offset, &line, &col);
            rc = km_error_set(err, ke.code, val->offset, "%s: key %zu at byte %zu (line %zu, column "
                              "%zu): %s", name, i, val->offset, line, col, ke.msg);
            break;
        }
        free(der);
        const km_json *claimed = km_json_get(o, "Fingerprint");
        if (claimed && claimed->type == KM_JSON_STRING && !km_hex_equal(claimed->u.str.s, fp)) {
            km_json_line_col(text, len, claimed->offset, &line, &col);
            rc = km_error_set(err, KM_ERR, claimed->offset, "%s: key %zu: Fingerprint %s at byte %zu "
                              "(line %zu, column %zu) is not the key's (the MD5 of its DER is %s)",
                              name, i, claimed->u.str.s, claimed->offset, line, col, fp);
            break;
        }
    }
    if (rc != KM_OK) { /* all or nothing */
        for (size_t i = before; i < k->n; i++) EVP_PKEY_free(k->v[i].pkey);
        k->n = before;
    }
    km_json_doc_free(doc);
    return rc;
}

int km_trail_keys_load_file(km_trail_keys *k, const char *path, km_error *err) {
    size_t len = 0;
    char *text = km_read_file(path, 64u << 20, &len, err);
    if (!text) return err ? err->code : KM_ERR;
    int rc = km_trail_keys_load_json(k, text, len, path, err);
    free(text);
    return rc;
}

int km_trail_keys_has(const km_trail_keys *k, const char *fingerprint, int64_t *valid_from,
                      int64_t *valid_to) {
    const tkey *t = find(k, fingerprint);
    if (!t) return 0;
    if (valid_from) *valid_from = t->from;
    if (valid_to) *valid_to = t->to;
    return 1;
}

int km_trail_keys_verify(const km_trail_keys *k, const char *fingerprint, const void *msg,
                         size_t len, const unsigned char *sig, size_t siglen) {
    const tkey *t = find(k, fingerprint);
    if (!t) return -1;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx) return 0;
    int ok = EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, t->pkey) == 1 &&
             EVP_DigestVerify(ctx, sig, siglen, msg, len) == 1;
    EVP_MD_CTX_free(ctx);
    return ok ? 1 : 0;
}
