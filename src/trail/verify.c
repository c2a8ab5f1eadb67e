/* Validating a local mirror of a CloudTrail bucket: find the digests and logs, walk each
 * digest chain from the newest digest back through previousDigestS3Object (as aws-cli does),
 * check every digest's signature, location, chain link and time order, then hash every log a
 * valid digest lists (in parallel) and look for logs that no digest lists.
 *
 * Chains: one per (key prefix, account, delivering region, trail, home region), standard and
 * backfill digests walked separately, as aws-cli does. */
#include "kumomori/trail.h"
#include "kumomori/json.h"
#include "trail/util.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_DIGEST_BYTES (64u << 20)
#define MAX_SIDECAR_BYTES (64u << 10)
#define HOUR 3600

/* ---- small string helpers ---------------------------------------------------------------- */

static char *xstrdup(const char *s) {
    if (!s) return NULL;
    size_t n = strlen(s);
    char *p = malloc(n + 1);
    if (p) memcpy(p, s, n + 1);
    return p;
}

static char *xstrndup(const char *s, size_t n) {
    char *p = malloc(n + 1);
    if (!p) return NULL;
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

static char *xprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xprintf(const char *fmt, ...) {
    km_buf b;
    km_buf_init(&b, 1 << 20);
    va_list ap;
    va_start(ap, fmt);
    km_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    if (b.failed) { km_buf_free(&b); return NULL; }
    return km_buf_steal(&b, NULL);
}

/* Grow an array of elem-sized items to hold n+1. */
static int grow(void **v, size_t *cap, size_t n, size_t elem) {
    if (n < *cap) return 0;
    size_t nc = *cap ? *cap * 2 : 64;
    void *nv = realloc(*v, nc * elem);
    if (!nv) return -1;
    *v = nv;
    *cap = nc;
    return 0;
}

/* ---- a set of (bucket, key) pairs: open addressing over FNV-1a hashes ---------------------- */

typedef struct strset {
    char **v;
    size_t n, cap; /* cap is 0 or a power of two */
} strset;

static uint64_t fnv(const char *a, const char *b) {
    uint64_t h = 1469598103934665603ull;
    for (const char *p = a; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ull;
    h = (h ^ 1) * 1099511628211ull;
    for (const char *p = b; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ull;
    return h;
}

/* 1 added, 0 already there, -1 out of memory. */
static int seen_add(strset *s, const char *bucket, const char *key) {
    if ((s->n + 1) * 2 > s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 256;
        char **nv = calloc(nc, sizeof *nv);
        if (!nv) return -1;
        for (size_t i = 0; i < s->cap; i++) {
            if (!s->v[i]) continue;
            const char *k = s->v[i] + strlen(s->v[i]) + 1;
            size_t j = (size_t)fnv(s->v[i], k) & (nc - 1);
            while (nv[j]) j = (j + 1) & (nc - 1);
            nv[j] = s->v[i];
        }
        free(s->v);
        s->v = nv;
        s->cap = nc;
    }
    size_t j = (size_t)fnv(bucket, key) & (s->cap - 1);
    for (; s->v[j]; j = (j + 1) & (s->cap - 1)) {
        const char *k = s->v[j] + strlen(s->v[j]) + 1;
        if (strcmp(s->v[j], bucket) == 0 && strcmp(k, key) == 0) return 0;
    }
    size_t bl = strlen(bucket), kl = strlen(key);
    char *e = malloc(bl + kl + 2);
    if (!e) return -1;
    memcpy(e, bucket, bl + 1);
    memcpy(e + bl + 1, key, kl + 1);
    s->v[j] = e;
    s->n++;
    return 1;
}

static void strset_free(strset *s) {
    for (size_t i = 0; i < s->cap; i++) free(s->v[i]);
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}

/* ---- what the scan finds ----------------------------------------------------------------- */

typedef struct dig {
    const char *bucket;
    char *key, *path;
    char *chain;        /* grouping key */
    char *label;        /* account/region/trail for messages */
    char *scope;        /* base|region: where this chain's logs live */
    int64_t ts;         /* from the key: the end time */
    int backfill;
    int in_range;
    int done;           /* validated */
    int valid;
    int parsed;         /* d is set */
    int via_chain;      /* signature came from the newer digest, no sidecar */
    int trusted;        /* invalid, but its content is proven (only its .sig is forged, or it is
                           the moved copy of the digest the chain expects): its logs are checked */
    int sig_ok, moved, nreasons;
    size_t missing_prev; /* report index of its missing previous digest, or (size_t)-1 */
    char sha[65];
    char *sig;          /* lowercase hex of the sidecar signature, if any */
    km_trail_digest *d;
    size_t item;        /* index in the report's digests */
} dig;

typedef struct logf {
    const char *bucket;
    char *key, *path;
    char *scope;
    int64_t ts;
    int listed;         /* 0 none, 1 only by invalid digests, 2 by a valid digest */
    const char *by;     /* key of a digest that lists it */
    int queued;
} logf;

typedef struct ctx {
    const km_trail_opts *o;
    km_trail_report *r;
    dig *digs;
    size_t ndigs, capdigs;
    logf *logs;
    size_t nlogs, caplogs;
    dig **dsorted;  /* by bucket, key */
    logf **lsorted;
    size_t files, max_files;
    size_t cap_items, cap_litems, cap_gaps, cap_notes;
    size_t via_chain;
    strset dmissing; /* digests reported missing */
    char **buckets; /* one per mirror */
    size_t nbuckets;
    int oom;
} ctx;

static int cmp_bk(const char *b1, const char *k1, const char *b2, const char *k2) {
    int c = strcmp(b1, b2);
    return c ? c : strcmp(k1, k2);
}

static int cmp_dig_bk(const void *a, const void *b) {
    const dig *x = *(dig *const *)a, *y = *(dig *const *)b;
    return cmp_bk(x->bucket, x->key, y->bucket, y->key);
}

static int cmp_log_bk(const void *a, const void *b) {
    const logf *x = *(logf *const *)a, *y = *(logf *const *)b;
    return cmp_bk(x->bucket, x->key, y->bucket, y->key);
}

static dig *find_dig(ctx *c, const char *bucket, const char *key) {
    size_t lo = 0, hi = c->ndigs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = cmp_bk(bucket, key, c->dsorted[mid]->bucket, c->dsorted[mid]->key);
        if (r == 0) return c->dsorted[mid];
        if (r < 0) hi = mid;
        else lo = mid + 1;
    }
    return NULL;
}

static logf *find_log(ctx *c, const char *bucket, const char *key) {
    size_t lo = 0, hi = c->nlogs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = cmp_bk(bucket, key, c->lsorted[mid]->bucket, c->lsorted[mid]->key);
        if (r == 0) return c->lsorted[mid];
        if (r < 0) hi = mid;
        else lo = mid + 1;
    }
    return NULL;
}

/* {acct}_CloudTrail-Digest_{src}_{trail}_{home}_{YYYYMMDDTHHMMSSZ}[_backfill].json.gz under
 * .../CloudTrail-Digest/; trail names may contain '_', regions never do. */
static int parse_digest_key(const char *key, char **chain, char **label, char **scope,
                            int64_t *ts, int *backfill) {
    const char *dirp = strstr(key, "CloudTrail-Digest/");
    if (!dirp || (dirp != key && dirp[-1] != '/')) return -1;
    const char *name = strrchr(key, '/');
    name = name ? name + 1 : key;
    size_t n = strlen(name);
    if (n < 8 || strcmp(name + n - 8, ".json.gz") != 0) return -1;
    n -= 8;
    *backfill = 0;
    if (n > 9 && memcmp(name + n - 9, "_backfill", 9) == 0) {
        *backfill = 1;
        n -= 9;
    }
    if (n < 17 || name[n - 17] != '_') return -1;
    char tsbuf[17];
    memcpy(tsbuf, name + n - 16, 16);
    tsbuf[16] = 0;
    if (km_trail_parse_time(tsbuf, ts)) return -1;
    size_t end_home = n - 17;
    size_t start_home = end_home;
    while (start_home > 0 && name[start_home - 1] != '_') start_home--;
    if (start_home == 0 || start_home == end_home) return -1;
    const char *mark = strstr(name, "_CloudTrail-Digest_");
    if (!mark) return -1;
    size_t acct_len = (size_t)(mark - name);
    size_t src_start = acct_len + 19, src_end = src_start;
    while (src_end < start_home - 1 && name[src_end] != '_') src_end++;
    if (src_end >= start_home - 1 || src_end == src_start) return -1;
    size_t trail_start = src_end + 1, trail_len = start_home - 1 - trail_start;
    if (trail_len == 0) return -1;
    int base_len = (int)(dirp - key);
    *chain = xprintf("%.*s|%.*s|%.*s|%.*s|%.*s", base_len, key, (int)acct_len, name,
                     (int)(src_end - src_start), name + src_start, (int)trail_len, name + trail_start,
                     (int)(end_home - start_home), name + start_home);
    *label = xprintf("%.*s/%.*s/%.*s", (int)acct_len, name, (int)(src_end - src_start),
                     name + src_start, (int)trail_len, name + trail_start);
    *scope = xprintf("%.*s|%.*s", base_len, key, (int)(src_end - src_start), name + src_start);
    if (!*chain || !*label || !*scope) {
        free(*chain); free(*label); free(*scope);
        return -2;
    }
    return 0;
}

/* {acct}_CloudTrail_{region}_{YYYYMMDDTHHMMZ}_{random}.json.gz under .../CloudTrail/ */
static int parse_log_key(const char *key, char **scope, int64_t *ts) {
    const char *dirp = strstr(key, "CloudTrail/");
    if (!dirp || (dirp != key && dirp[-1] != '/')) return -1;
    const char *name = strrchr(key, '/');
    name = name ? name + 1 : key;
    size_t n = strlen(name);
    if (n < 8 || strcmp(name + n - 8, ".json.gz") != 0) return -1;
    const char *mark = strstr(name, "_CloudTrail_");
    if (!mark) return -1;
    const char *reg = mark + 12, *re = strchr(reg, '_');
    if (!re || re == reg) return -1;
    if (strlen(re + 1) < 14) return -1;
    char tsbuf[15];
    memcpy(tsbuf, re + 1, 14);
    tsbuf[14] = 0;
    if (km_trail_parse_time(tsbuf, ts)) return -1;
    *scope = xprintf("%.*s|%.*s", (int)(dirp - key), key, (int)(re - reg), reg);
    return *scope ? 0 : -2;
}

static int add_file(ctx *c, const char *bucket, const char *key, const char *path) {
    char *chain = NULL, *label = NULL, *scope = NULL;
    int64_t ts = 0;
    int bf = 0;
    int r = parse_digest_key(key, &chain, &label, &scope, &ts, &bf);
    if (r == -2) return -1;
    if (r == 0) {
        if (grow((void **)&c->digs, &c->capdigs, c->ndigs, sizeof *c->digs)) {
            free(chain); free(label); free(scope);
            return -1;
        }
        dig *d = &c->digs[c->ndigs];
        memset(d, 0, sizeof *d);
        d->bucket = bucket;
        d->key = xstrdup(key);
        d->path = xstrdup(path);
        d->chain = chain;
        d->label = label;
        d->scope = scope;
        d->ts = ts;
        d->backfill = bf;
        d->item = (size_t)-1;
        d->missing_prev = (size_t)-1;
        c->ndigs++;
        return d->key && d->path ? 0 : -1;
    }
    r = parse_log_key(key, &scope, &ts);
    if (r == -2) return -1;
    if (r == 0) {
        if (grow((void **)&c->logs, &c->caplogs, c->nlogs, sizeof *c->logs)) {
            free(scope);
            return -1;
        }
        logf *l = &c->logs[c->nlogs++];
        memset(l, 0, sizeof *l);
        l->bucket = bucket;
        l->key = xstrdup(key);
        l->path = xstrdup(path);
        l->scope = scope;
        l->ts = ts;
        return l->key && l->path ? 0 : -1;
    }
    return 0; /* sidecars and anything else: not a CloudTrail object we check */
}

static int cmp_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Depth-first walk of dir; rel is the key of dir ("" or ending in '/'). Symbolic links to
 * folders are not followed (a mirror made by `aws s3 sync` has none, and loops are possible). */
static int scan(ctx *c, const char *bucket, const char *dir, const char *rel, int depth, km_error *err) {
    if (depth > 64) return km_error_set(err, KM_ELIMIT, (size_t)-1, "%s: folders nested too deep", dir);
    DIR *dp = opendir(dir);
    if (!dp) return km_error_set(err, KM_ERR, (size_t)-1, "%s: cannot read folder: %s", dir, strerror(errno));
    /* read all names first, sorted, so the report order never depends on the file system */
    char **names = NULL;
    size_t nn = 0, cap = 0;
    struct dirent *e;
    int rc = KM_OK;
    while ((e = readdir(dp)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        if (grow((void **)&names, &cap, nn, sizeof *names) || !(names[nn] = xstrdup(e->d_name))) {
            rc = km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
            break;
        }
        nn++;
    }
    closedir(dp);
    if (rc == KM_OK && nn > 1) qsort(names, nn, sizeof *names, cmp_name);
    for (size_t i = 0; i < nn && rc == KM_OK; i++) {
        char *path = xprintf("%s/%s", dir, names[i]);
        char *key = xprintf("%s%s", rel, names[i]);
        struct stat st;
        if (!path || !key) {
            rc = km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
        } else if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            char *sub = xprintf("%s/", key);
            if (!sub) rc = km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
            else rc = scan(c, bucket, path, sub, depth + 1, err);
            free(sub);
        } else if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            if (++c->files > c->max_files)
                rc = km_error_set(err, KM_ELIMIT, (size_t)-1, "%s: more than %zu files in the mirror",
                                  dir, c->max_files);
            else if (add_file(c, bucket, key, path))
                rc = km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
        }
        free(path);
        free(key);
    }
    for (size_t i = 0; i < nn; i++) free(names[i]);
    free(names);
    return rc;
}

/* ---- report building --------------------------------------------------------------------- */

static km_trail_item *new_digest_item(ctx *c, const char *bucket, const char *key, int backfill) {
    km_trail_report *r = c->r;
    if (grow((void **)&r->digests, &c->cap_items, r->ndigests, sizeof *r->digests)) { c->oom = 1; return NULL; }
    km_trail_item *it = &r->digests[r->ndigests++];
    memset(it, 0, sizeof *it);
    it->bucket = xstrdup(bucket);
    it->key = xstrdup(key);
    it->backfill = backfill;
    it->start = KM_TRAIL_TIME_MIN;
    it->end = KM_TRAIL_TIME_MAX;
    if (!it->bucket || !it->key) c->oom = 1;
    return it;
}

static km_trail_item *new_log_item(ctx *c, const char *bucket, const char *key, const char *digest) {
    km_trail_report *r = c->r;
    if (grow((void **)&r->logs, &c->cap_litems, r->nlogs, sizeof *r->logs)) { c->oom = 1; return NULL; }
    km_trail_item *it = &r->logs[r->nlogs++];
    memset(it, 0, sizeof *it);
    it->bucket = xstrdup(bucket);
    it->key = xstrdup(key);
    it->digest = xstrdup(digest);
    it->start = KM_TRAIL_TIME_MIN;
    it->end = KM_TRAIL_TIME_MAX;
    if (!it->bucket || !it->key) c->oom = 1;
    return it;
}

static void add_note(ctx *c, char *note) {
    km_trail_report *r = c->r;
    if (!note || grow((void **)&r->notes, &c->cap_notes, r->nnotes, sizeof *r->notes)) {
        free(note);
        c->oom = 1;
        return;
    }
    r->notes[r->nnotes++] = note;
}

/* Reasons accumulate "; "-separated, so one line says everything wrong with a file. */
typedef struct reasons {
    km_buf b;
    int n;
} reasons;

static void reason_add(reasons *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reason_add(reasons *r, const char *fmt, ...) {
    if (r->b.len) km_buf_puts(&r->b, "; ");
    va_list ap;
    va_start(ap, fmt);
    km_buf_vprintf(&r->b, fmt, ap);
    va_end(ap);
    r->n++;
}

/* ---- sidecar signatures ----------------------------------------------------------------- */

typedef struct sidecar {
    int present;
    char *sig;        /* as written (trimmed), or NULL */
    char alg[64];
    int64_t bf_ts;
    int has_bf;
    int oom;          /* out of memory: no verdict on the sidecar */
    char problem[600];
} sidecar;

/* D.sig holds the hex signature as S3 returns it in x-amz-meta-signature (white space and
 * surrounding quotes ignored), or the JSON that `aws s3api head-object` prints, whose
 * Metadata.signature, Metadata.signature-algorithm and Metadata.backfill-generation-timestamp
 * are used. */
static void read_sidecar(const char *digest_path, sidecar *sc) {
    memset(sc, 0, sizeof *sc);
    char *path = xprintf("%s.sig", digest_path);
    if (!path) { sc->oom = 1; return; }
    struct stat st;
    if (stat(path, &st) != 0) { free(path); return; }
    sc->present = 1;
    km_error e;
    km_error_clear(&e);
    size_t len = 0;
    char *text = km_read_file(path, MAX_SIDECAR_BYTES, &len, &e);
    if (!text) {
        if (e.code == KM_ENOMEM) sc->oom = 1;
        snprintf(sc->problem, sizeof sc->problem, "%s", e.msg);
        free(path);
        return;
    }
    size_t a = 0, z = len;
    while (a < z && (text[a] == ' ' || text[a] == '\n' || text[a] == '\r' || text[a] == '\t')) a++;
    while (z > a && (text[z - 1] == ' ' || text[z - 1] == '\n' || text[z - 1] == '\r' || text[z - 1] == '\t')) z--;
    if (a < z && text[a] == '{') {
        km_json_doc *doc = km_json_parse(text + a, z - a, NULL, NULL, &e);
        const km_json *md = doc ? km_json_get(km_json_root(doc), "Metadata") : NULL;
        const char *s = km_json_get_str(md, "signature", NULL);
        if (!doc) {
            if (e.code == KM_ENOMEM) sc->oom = 1;
            snprintf(sc->problem, sizeof sc->problem, "%s: %s", path, e.msg);
        } else if (!s) {
            snprintf(sc->problem, sizeof sc->problem, "%s: no Metadata.signature", path);
        } else {
            sc->sig = xstrdup(s);
            if (!sc->sig) sc->oom = 1;
            snprintf(sc->alg, sizeof sc->alg, "%s", km_json_get_str(md, "signature-algorithm", ""));
            const char *bf = km_json_get_str(md, "backfill-generation-timestamp", NULL);
            if (bf && km_trail_parse_time(bf, &sc->bf_ts) == 0) sc->has_bf = 1;
        }
        km_json_doc_free(doc);
    } else {
        if (z - a >= 2 && text[a] == '"' && text[z - 1] == '"') { a++; z--; }
        sc->sig = xstrndup(text + a, z - a);
        if (!sc->sig) sc->oom = 1;
        size_t bad = 0;
        if (sc->sig && (z == a || km_hex_decode(sc->sig, z - a, NULL, 0, &bad) == -1)) {
            /* a size-0 decode only checks the form: find the first non-hex byte for the message */
            for (bad = 0; bad < z - a; bad++) {
                char ch = sc->sig[bad];
                if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F'))) break;
            }
            if (z == a) snprintf(sc->problem, sizeof sc->problem, "%s is empty", path);
            else if (bad < z - a)
                snprintf(sc->problem, sizeof sc->problem, "%s is not hex (byte %zu)", path, a + bad);
            else if ((z - a) % 2)
                snprintf(sc->problem, sizeof sc->problem, "%s has an odd number of hex digits", path);
            if (sc->problem[0]) { free(sc->sig); sc->sig = NULL; }
        }
    }
    free(text);
    free(path);
}

/* ---- validating one digest --------------------------------------------------------------- */

typedef struct expect {
    const dig *newer; /* the digest that links to this one */
} expect;

static int verify_sig(ctx *c, const km_trail_digest *d, const char *sha, const char *hex, reasons *why) {
    size_t hl = strlen(hex);
    unsigned char *sig = malloc(hl / 2 + 1);
    if (!sig) { c->oom = 1; return 0; }
    size_t bad = 0;
    long sl = km_hex_decode(hex, hl, sig, hl / 2 + 1, &bad);
    if (sl <= 0) {
        free(sig);
        reason_add(why, "signature verification failed: the signature is not hex (byte %zu)", bad);
        return 0;
    }
    km_buf msg;
    km_buf_init(&msg, 1 << 20);
    km_trail_string_to_sign(&msg, d->end, d->bucket, d->key, sha, d->prev_sig);
    if (msg.failed == KM_BUF_NOMEM) c->oom = 1; /* not a verdict on the signature */
    int v = msg.failed ? 0 : km_trail_keys_verify(c->o->keys, d->fingerprint, msg.data, msg.len, sig, (size_t)sl);
    km_buf_free(&msg);
    free(sig);
    return v;
}

static void validate(ctx *c, dig *g, const expect *ex) {
    g->done = 1;
    reasons why = {KM_BUF_INIT, 0};
    km_buf_init(&why.b, 1 << 16);
    km_trail_item *it = new_digest_item(c, g->bucket, g->key, g->backfill);
    if (!it) { km_buf_free(&why.b); return; }
    g->item = (size_t)(it - c->r->digests);
    const dig *nw = ex ? ex->newer : NULL;
    const km_trail_digest *nd = nw ? nw->d : NULL;
    km_error e;
    km_error_clear(&e);
    size_t len = 0;
    char *text = km_trail_gz_read(g->path, MAX_DIGEST_BYTES, &len, &e);
    km_trail_digest *d = NULL;
    if (!text) {
        if (e.code == KM_ENOMEM) c->oom = 1; /* harden helper: not a verdict on the digest */
        reason_add(&why, "invalid format: %s", e.msg);
    } else {
        d = km_trail_digest_parse(text, len, &e);
        if (!d && e.code == KM_ENOMEM) c->oom = 1; /* harden helper */
        if (!d) {
            const char *m = e.msg;
            if (strncmp(m, "invalid format: ", 16) == 0) m += 16;
            reason_add(&why, "invalid format: %s (uncompressed): %s", g->path, m);
            km_sha256_hex(text, len, g->sha);
        } else {
            memcpy(g->sha, d->sha256, 65);
        }
    }
    free(text);
    g->d = d;
    g->parsed = d != NULL;
    sidecar sc;
    read_sidecar(g->path, &sc);
    if (sc.oom) c->oom = 1;
    int forged = 0;
    g->sig = sc.sig ? xstrdup(sc.sig) : NULL;
    if (sc.sig && !g->sig) c->oom = 1;
    if (d) {
        it->start = d->start_t;
        it->end = d->end_t;
        g->moved = strcmp(d->bucket, g->bucket) != 0 || strcmp(d->key, g->key) != 0;
        if (g->moved)
            reason_add(&why, "has been moved from its original location s3://%s/%s", d->bucket, d->key);
        if (d->sig_alg && strcmp(d->sig_alg, "SHA256withRSA") != 0)
            reason_add(&why, "unsupported digestSignatureAlgorithm %s", d->sig_alg);
        if (sc.alg[0] && strcmp(sc.alg, "SHA256withRSA") != 0)
            reason_add(&why, "unsupported signature-algorithm %s in the .sig metadata", sc.alg);
        if (d->prev_hash_alg && strcmp(d->prev_hash_alg, "SHA-256") != 0)
            reason_add(&why, "unsupported previousDigestHashAlgorithm %s", d->prev_hash_alg);
        int64_t kfrom, kto;
        if (!km_trail_keys_has(c->o->keys, d->fingerprint, &kfrom, &kto)) {
            reason_add(&why, "public key not found for fingerprint %s (not in the key file)", d->fingerprint);
        } else {
            /* The key must have been in use when the digest was signed: an hour or two after
             * digestEndTime, or around the backfill generation time. */
            int64_t lo, hi;
            int check = 1;
            if (g->backfill) {
                check = sc.has_bf;
                lo = sc.bf_ts - HOUR;
                hi = sc.bf_ts + HOUR;
            } else {
                lo = d->end_t - HOUR;
                hi = d->end_t + 2 * HOUR;
            }
            if (check && (kto < lo || kfrom > hi)) {
                char f[32], t[32];
                km_trail_format_time(kfrom, f);
                km_trail_format_time(kto, t);
                reason_add(&why, "signed with key %s, which was valid only from %s to %s", d->fingerprint, f, t);
            }
            const char *nsig = nd ? nd->prev_sig : NULL;
            if (sc.problem[0]) {
                reason_add(&why, "signature verification failed: %s", sc.problem);
            } else if (sc.sig) {
                int v = verify_sig(c, d, g->sha, sc.sig, &why);
                g->sig_ok = v == 1;
                if (v == 0) {
                    if (nsig && !km_hex_equal(nsig, sc.sig) && verify_sig(c, d, g->sha, nsig, &why) == 1) {
                        reason_add(&why, "signature verification failed: the signature in %s.sig is forged "
                                   "(the digest itself verifies with the previousDigestSignature recorded "
                                   "in newer digest %s)", g->path, nw->key);
                        forged = 1;
                    } else {
                        reason_add(&why, "signature verification failed");
                    }
                }
            } else if (nsig) {
                int v = verify_sig(c, d, g->sha, nsig, &why);
                if (v == 1) {
                    g->sig_ok = 1;
                    g->via_chain = 1;
                    c->via_chain++;
                } else {
                    reason_add(&why, "signature verification failed (no %s.sig; checked with the "
                               "previousDigestSignature of %s)", g->path, nw->key);
                }
            } else {
                reason_add(&why, "signature verification failed: no signature (%s.sig is missing)", g->path);
            }
        }
    }
    /* What aws-cli does not check: the newer digest recorded this digest's hash and signature. */
    if (nd) {
        /* (when the bytes could not be read at all there is no hash to compare) */
        if (nd->prev_hash && g->sha[0] && !km_hex_equal(nd->prev_hash, g->sha)) {
            reason_add(&why, "SHA-256 %.16s... does not match previousDigestHashValue %.16s... in newer digest %s",
                       g->sha, nd->prev_hash, nw->key);
        }
        if (nd->prev_sig && sc.sig && !sc.problem[0] && !forged && !km_hex_equal(nd->prev_sig, sc.sig))
            reason_add(&why, "signature in %s.sig differs from the previousDigestSignature in newer digest %s",
                       g->path, nw->key);
        if (d && d->end_t > nd->start_t) {
            char a[32], b[32];
            km_trail_format_time(d->end_t, a);
            km_trail_format_time(nd->start_t, b);
            reason_add(&why, "out of order: ends at %s, after newer digest %s starts (%s)", a, nw->key, b);
        }
    }
    free(sc.sig);
    if (why.b.failed == KM_BUF_NOMEM) c->oom = 1; /* the reasons are lost, not too long */
    g->valid = why.n == 0 && !why.b.failed;
    g->nreasons = why.n;
    /* a forged sidecar and nothing else wrong: the bytes are what the newer digest signed */
    g->trusted = forged && d && why.n == 1;
    it->status = g->valid ? KM_TRAIL_VALID : KM_TRAIL_INVALID;
    if (!g->valid) {
        it->reason = why.b.failed ? xstrdup("invalid (reasons too long to print)") : km_buf_steal(&why.b, NULL);
        if (!it->reason) c->oom = 1;
    }
    km_buf_free(&why.b);
}

/* ---- walking the chains ------------------------------------------------------------------ */

static int cmp_chain(const void *a, const void *b) {
    const dig *x = *(dig *const *)a, *y = *(dig *const *)b;
    int r = strcmp(x->chain, y->chain);
    if (r) return r;
    if (x->backfill != y->backfill) return x->backfill - y->backfill;
    if (x->ts != y->ts) return x->ts < y->ts ? -1 : 1;
    return strcmp(x->key, y->key);
}

/* The newest in-range digest of the group g[0..n) that is not validated yet and is older than
 * (or as old as) before. */
static dig *newest_unvisited(dig **g, size_t n, int64_t before) {
    size_t lo = 0, hi = n; /* g is sorted by ts: find the first one newer than before */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (g[mid]->ts <= before) lo = mid + 1;
        else hi = mid;
    }
    /* the walk goes from new to old, so the done ones just above are few */
    for (size_t i = lo; i-- > 0;)
        if (!g[i]->done && g[i]->in_range) return g[i];
    return NULL;
}

static void add_gap(ctx *c, const dig *older, const dig *newer) {
    km_trail_report *r = c->r;
    if (grow((void **)&r->gaps, &c->cap_gaps, r->ngaps, sizeof *r->gaps)) { c->oom = 1; return; }
    km_trail_gap *gp = &r->gaps[r->ngaps++];
    gp->chain = xstrdup(newer->label);
    gp->from = older->parsed ? older->d->end_t : older->ts;
    gp->to = newer->d->start_t;
    gp->backfill = newer->backfill;
    if (!gp->chain) c->oom = 1;
}

static void missing_digest(ctx *c, dig *from, const char *bucket, const char *key) {
    int added = seen_add(&c->dmissing, bucket, key);
    if (added < 0) c->oom = 1;
    if (added != 1) return; /* reported already */
    km_trail_item *it = new_digest_item(c, bucket, key, from->backfill);
    if (!it) return;
    from->missing_prev = it - c->r->digests;
    it->status = KM_TRAIL_MISSING;
    int mirrored = 0;
    for (size_t i = 0; i < c->nbuckets; i++)
        if (c->buckets[i] && strcmp(c->buckets[i], bucket) == 0) mirrored = 1;
    it->reason = mirrored ? xprintf("not found (the previous digest of %s)", from->key)
                          : xprintf("not found: bucket %s is not mirrored (the previous digest of %s)", bucket, from->key);
    if (!it->reason) c->oom = 1;
}

static void walk_group(ctx *c, dig **g, size_t n) {
    const int64_t req_start = c->r->req_start;
    dig *cur = newest_unvisited(g, n, KM_TRAIL_TIME_MAX);
    expect ex = {NULL}, *exp = NULL;
    while (cur && !c->oom) {
        validate(c, cur, exp);
        exp = NULL;
        dig *next = NULL;
        if (cur->valid && cur->d->start_t <= req_start) break; /* the range is covered */
        if (cur->valid && cur->d->prev_key) {
            const char *pb = cur->d->prev_bucket ? cur->d->prev_bucket : cur->bucket;
            dig *t = find_dig(c, pb, cur->d->prev_key);
            if (t && !t->done) {
                next = t;
                ex.newer = cur;
                exp = &ex;
            } else if (t) {
                next = newest_unvisited(g, n, cur->ts - 1);
            } else {
                char *cl = NULL, *lb = NULL, *sc = NULL;
                int64_t tts = cur->ts - 1;
                int bf = 0;
                if (parse_digest_key(cur->d->prev_key, &cl, &lb, &sc, &tts, &bf) == 0) {
                    free(cl); free(lb); free(sc);
                    if (tts >= cur->ts) tts = cur->ts - 1;
                } else {
                    tts = cur->ts - 1;
                }
                /* Without --start, the mirror's oldest digest may well link to one that a
                 * lifecycle rule expired: that is where the check starts, not tampering. */
                int older_listed = 0;
                for (size_t i = 0; i < n && !older_listed; i++) older_listed = g[i]->ts <= tts;
                if (req_start == KM_TRAIL_TIME_MIN && !older_listed) {
                    int mirrored = 0;
                    for (size_t i = 0; i < c->nbuckets; i++)
                        if (c->buckets[i] && strcmp(c->buckets[i], pb) == 0) mirrored = 1;
                    add_note(c, xprintf("the chain %s starts at %s; its previous digest s3://%s/%s is not in the "
                                        "mirror (%s): give --start to require it", cur->label, cur->key, pb,
                                        cur->d->prev_key, mirrored ? "expired?" : "that bucket is not mirrored"));
                } else {
                    missing_digest(c, cur, pb, cur->d->prev_key);
                }
                next = newest_unvisited(g, n, tts);
            }
        } else {
            next = newest_unvisited(g, n, cur->ts - 1);
            if (next && cur->valid) add_gap(c, next, cur);
        }
        cur = next;
    }
    /* Digests the chain skipped over: validated on their own, never trusted. */
    for (size_t i = n; i-- > 0 && !c->oom;) {
        dig *x = g[i];
        if (x->done || !x->in_range) continue;
        /* The walk reaches every older digest after a chain restart, so a digest it never
         * reached sits between two linked digests: something put it there. */
        validate(c, x, NULL);
        if (x->valid) {
            km_trail_item *it = &c->r->digests[x->item];
            it->status = KM_TRAIL_INVALID;
            it->reason = xstrdup("not part of the chain: no newer digest links to it");
            x->valid = 0;
        }
    }
}

/* A digest found at another key, intact and signed, whose original key is the missing previous
 * digest of a newer one with the same SHA-256 recorded: that is where the digest went. */
static void moved_copies(ctx *c) {
    km_trail_report *r = c->r;
    for (size_t i = 0; i < c->ndigs; i++) {
        dig *nw = &c->digs[i];
        if (nw->missing_prev == (size_t)-1 || !nw->d || !nw->d->prev_hash) continue;
        km_trail_item *miss = &r->digests[nw->missing_prev];
        for (size_t j = 0; j < c->ndigs; j++) {
            dig *g = &c->digs[j];
            if (!g->done || !g->d || !g->moved || !g->sig_ok || g->nreasons != 1) continue;
            if (strcmp(g->d->key, miss->key) != 0 || strcmp(g->d->bucket, miss->bucket) != 0) continue;
            if (!km_hex_equal(g->sha, nw->d->prev_hash)) continue;
            g->trusted = 1;
            char *a = xprintf("not found: moved to s3://%s/%s (the previous digest of %s)", g->bucket, g->key, nw->key);
            char *b = xprintf("has been moved from its original location s3://%s/%s (its content is the "
                              "digest that %s links to)", miss->bucket, miss->key, nw->key);
            km_trail_item *git = &r->digests[g->item];
            if (a) { free(miss->reason); miss->reason = a; }
            if (b) { free(git->reason); git->reason = b; }
            break;
        }
    }
}

/* Whether valid backfill digests of the same chain cover each gap of the standard chain. */
static void backfill_cover(ctx *c) {
    km_trail_report *r = c->r;
    for (size_t i = 0; i < r->ngaps; i++) {
        km_trail_gap *gp = &r->gaps[i];
        if (gp->backfill) continue;
        int64_t reached = gp->from;
        for (int progress = 1; progress && reached < gp->to;) {
            progress = 0;
            for (size_t j = 0; j < c->ndigs; j++) {
                const dig *g = &c->digs[j];
                if (!g->backfill || !g->valid || strcmp(g->label, gp->chain) != 0) continue;
                if (g->d->start_t <= reached && g->d->end_t > reached) {
                    reached = g->d->end_t;
                    progress = 1;
                }
            }
        }
        gp->covered = reached >= gp->to;
    }
}

/* ---- logs -------------------------------------------------------------------------------- */

typedef struct job {
    logf *l;
    const char *want;     /* hashValue from the digest */
    const char *by;
    int status;
    char *reason;
    uint64_t bytes;
    int oom; /* harden helper: hashing ran out of memory (not a verdict on the file) */
} job;

typedef struct pool {
    job *jobs;
    size_t n;
    atomic_size_t next;
} pool;

static void run_job(job *j) {
    char got[65];
    km_error e;
    km_error_clear(&e);
    uint64_t ulen = 0;
    if (km_trail_gz_sha256(j->l->path, got, &ulen, &e)) {
        if (e.code == KM_ENOMEM) j->oom = 1;
        j->status = KM_TRAIL_INVALID;
        j->reason = xprintf("invalid format: %s", e.msg);
        if (!j->reason) j->oom = 1; /* a verdict without its reason would be a different report */
        return;
    }
    j->bytes = ulen;
    if (km_hex_equal(got, j->want)) {
        j->status = KM_TRAIL_VALID;
    } else {
        j->status = KM_TRAIL_INVALID;
        j->reason = xprintf("hash value doesn't match (SHA-256 of the uncompressed log is %s, "
                            "the digest says %s)", got, j->want);
        if (!j->reason) j->oom = 1;
    }
}

static void *worker(void *arg) {
    pool *p = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&p->next, 1);
        if (i >= p->n) break;
        run_job(&p->jobs[i]);
    }
    return NULL;
}

static void run_jobs(job *jobs, size_t n, int threads) {
    pool p;
    p.jobs = jobs;
    p.n = n;
    atomic_init(&p.next, 0);
    if (threads < 1) threads = 2;
    if (threads > 64) threads = 64;
    if ((size_t)threads > n) threads = (int)n;
    pthread_t tid[64];
    int started = 0;
    for (int i = 1; i < threads; i++) {
        if (pthread_create(&tid[started], NULL, worker, &p) != 0) break;
        started++;
    }
    worker(&p);
    for (int i = 0; i < started; i++) pthread_join(tid[i], NULL);
}

typedef struct span { const char *scope; int64_t from, to; int newest; } span;

static int cmp_span(const void *a, const void *b) {
    const span *x = a, *y = b;
    int r = strcmp(x->scope, y->scope);
    if (r) return r;
    return x->from < y->from ? -1 : x->from > y->from;
}

/* Whether a log delivered at ts (a minute, from its key) falls inside a validated digest's
 * period, so some digest must list it. The last five minutes of the newest digest are left out:
 * a log delivered then may be listed by the next digest, which is not here yet. */
static int in_scope(const span *sp, size_t ns, const char *scope, int64_t ts) {
    size_t lo = 0, hi = ns; /* spans are sorted by (scope, from): the first one after (scope, ts) */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(sp[mid].scope, scope);
        if (c < 0 || (c == 0 && sp[mid].from <= ts)) lo = mid + 1;
        else hi = mid;
    }
    /* digest periods are about an hour: look back a day at most */
    for (size_t i = lo; i-- > 0;) {
        if (strcmp(sp[i].scope, scope) != 0 || sp[i].from < ts - 24 * HOUR) break;
        int64_t to = sp[i].newest ? sp[i].to - 300 : sp[i].to;
        if (sp[i].from <= ts && ts + 60 <= to) return 1;
    }
    return 0;
}

static void check_logs(ctx *c) {
    km_trail_report *r = c->r;
    strset seen = {NULL, 0, 0};
    job *jobs = NULL;
    size_t nj = 0, capj = 0;
    /* every log a valid digest lists, once, in digest order */
    for (size_t i = 0; i < r->ndigests && !c->oom; i++) {
        const km_trail_item *it = &r->digests[i];
        if (it->status == KM_TRAIL_MISSING) continue;
        dig *g = find_dig(c, it->bucket, it->key);
        if (!g || !g->d || !(g->valid || g->trusted)) continue;
        for (size_t k = 0; k < g->d->nlogs; k++) {
            const km_trail_logref *lr = &g->d->logs[k];
            logf *l = find_log(c, lr->bucket, lr->key);
            if (l) {
                if (l->listed == 2) continue;
                l->listed = 2;
                l->by = g->key;
                if (grow((void **)&jobs, &capj, nj, sizeof *jobs)) { c->oom = 1; break; }
                jobs[nj++] = (job){l, lr->hash, g->key, 0, NULL, 0, 0};
            } else {
                if (seen_add(&seen, lr->bucket, lr->key) != 1) continue; /* reported already, or no memory */
                km_trail_item *li = new_log_item(c, lr->bucket, lr->key, g->key);
                if (!li) break;
                li->status = KM_TRAIL_MISSING;
                li->reason = xstrdup("not found");
            }
        }
    }
    strset_free(&seen);
    run_jobs(jobs, nj, c->o->jobs);
    for (size_t i = 0; i < nj; i++) {
        km_trail_item *li = new_log_item(c, jobs[i].l->bucket, jobs[i].l->key, jobs[i].by);
        if (!li) { free(jobs[i].reason); continue; }
        if (jobs[i].oom) c->oom = 1;
        li->status = (km_trail_status)jobs[i].status;
        li->reason = jobs[i].reason;
        r->log_bytes += jobs[i].bytes;
    }
    free(jobs);
    /* logs listed only by invalid digests: not verified */
    for (size_t i = 0; i < c->ndigs && !c->oom; i++) {
        dig *g = &c->digs[i];
        if (!g->done || g->valid || g->trusted || !g->d) continue;
        for (size_t k = 0; k < g->d->nlogs; k++) {
            logf *l = find_log(c, g->d->logs[k].bucket, g->d->logs[k].key);
            if (!l || l->listed) continue;
            l->listed = 1;
            km_trail_item *li = new_log_item(c, l->bucket, l->key, g->key);
            if (!li) break;
            li->status = KM_TRAIL_INVALID;
            li->reason = xprintf("not verified: listed only by digest %s, which is invalid", g->key);
        }
    }
    /* logs no digest lists, inside the periods the validated digests cover */
    /* Periods: every digest examined, from its own times, or from its key (the end time; a
     * digest covers an hour) when it could not be read or is missing. */
    span *sp = calloc(c->ndigs + r->ndigests + 1, sizeof *sp);
    char **scopes = calloc(r->ndigests + 1, sizeof *scopes);
    if (!sp || !scopes) { free(sp); free(scopes); c->oom = 1; return; }
    size_t ns = 0, nsc = 0;
    for (size_t i = 0; i < c->ndigs; i++) {
        dig *g = &c->digs[i];
        if (!g->done) continue;
        if (g->d) sp[ns++] = (span){g->scope, g->d->start_t, g->d->end_t, 0};
        else sp[ns++] = (span){g->scope, g->ts - HOUR, g->ts, 0};
    }
    for (size_t i = 0; i < r->ndigests; i++) {
        const km_trail_item *it = &r->digests[i];
        char *cl = NULL, *lb = NULL, *sc = NULL;
        int64_t ts;
        int bf;
        if (it->status != KM_TRAIL_MISSING || parse_digest_key(it->key, &cl, &lb, &sc, &ts, &bf)) continue;
        free(cl);
        free(lb);
        scopes[nsc++] = sc;
        sp[ns++] = (span){sc, ts - HOUR, ts, 0};
    }
    qsort(sp, ns, sizeof *sp, cmp_span);
    for (size_t i = 0; i < ns; i++) { /* the newest span of each scope */
        if (i + 1 == ns || strcmp(sp[i + 1].scope, sp[i].scope) != 0) sp[i].newest = 1;
    }
    size_t pending = 0;
    for (size_t i = 0; i < c->nlogs && !c->oom; i++) {
        logf *l = c->lsorted[i];
        if (l->listed) continue;
        if (l->ts < r->req_start || l->ts > r->req_end) continue;
        if (!in_scope(sp, ns, l->scope, l->ts)) {
            pending++;
            continue;
        }
        km_trail_item *li = new_log_item(c, l->bucket, l->key, NULL);
        if (!li) break;
        li->status = KM_TRAIL_UNEXPECTED;
        li->reason = xstrdup("listed by no digest");
    }
    free(sp);
    for (size_t i = 0; i < nsc; i++) free(scopes[i]);
    free(scopes);
    if (pending)
        add_note(c, xprintf("%zu log file%s outside the periods the digests cover (before the first "
                            "digest, after the newest, or while validation was off) were not checked",
                            pending, pending == 1 ? "" : "s"));
}

/* ---- entry point ------------------------------------------------------------------------- */

static const char *base_name(const char *dir, char *buf, size_t cap) {
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') n--;
    size_t s = n;
    while (s > 0 && dir[s - 1] != '/') s--;
    snprintf(buf, cap, "%.*s", (int)(n - s), dir + s);
    return buf;
}

int km_trail_verify(const km_trail_opts *o, km_trail_report **out, km_error *err) {
    *out = NULL;
    if (!o->keys || km_trail_keys_count(o->keys) == 0)
        return km_error_set(err, KM_ERR, (size_t)-1, "no public keys: give the output of "
                            "`aws cloudtrail list-public-keys` with --public-keys");
    if (o->nmirrors == 0) return km_error_set(err, KM_ERR, (size_t)-1, "no trail folder given");
    ctx c;
    memset(&c, 0, sizeof c);
    c.o = o;
    c.max_files = o->max_files ? o->max_files : 10000000;
    km_trail_report *r = calloc(1, sizeof *r);
    char **buckets = calloc(o->nmirrors, sizeof *buckets);
    if (!r || !buckets) {
        free(r);
        free(buckets);
        return km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
    }
    c.r = r;
    c.buckets = buckets;
    c.nbuckets = o->nmirrors;
    r->req_start = o->start;
    r->req_end = o->end;
    r->found_start = KM_TRAIL_TIME_MIN;
    r->found_end = KM_TRAIL_TIME_MAX;
    int rc = KM_OK;
    for (size_t i = 0; i < o->nmirrors && rc == KM_OK; i++) {
        const km_trail_mirror *m = &o->mirrors[i];
        char bn[1024];
        buckets[i] = xstrdup(m->bucket ? m->bucket : base_name(m->dir, bn, sizeof bn));
        const char *pf = m->prefix ? m->prefix : "";
        size_t pl = strlen(pf);
        while (pl > 0 && pf[pl - 1] == '/') pl--;
        char *rel = pl ? xprintf("%.*s/", (int)pl, pf) : xstrdup("");
        if (!buckets[i] || !rel) rc = km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
        else rc = scan(&c, buckets[i], m->dir, rel, 0, err);
        free(rel);
    }
    if (rc == KM_OK) {
        c.dsorted = malloc((c.ndigs ? c.ndigs : 1) * sizeof *c.dsorted);
        c.lsorted = malloc((c.nlogs ? c.nlogs : 1) * sizeof *c.lsorted);
        if (!c.dsorted || !c.lsorted) { /* rc apart: the sorting below needs both arrays */
            km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
            rc = KM_ENOMEM;
        }
    }
    if (rc == KM_OK) {
        for (size_t i = 0; i < c.ndigs; i++) {
            c.dsorted[i] = &c.digs[i];
            dig *g = &c.digs[i];
            g->in_range = g->ts > o->start && (o->end > KM_TRAIL_TIME_MAX - HOUR || g->ts <= o->end + HOUR);
        }
        for (size_t i = 0; i < c.nlogs; i++) c.lsorted[i] = &c.logs[i];
        qsort(c.dsorted, c.ndigs, sizeof *c.dsorted, cmp_dig_bk);
        qsort(c.lsorted, c.nlogs, sizeof *c.lsorted, cmp_log_bk);
        dig **byc = malloc((c.ndigs ? c.ndigs : 1) * sizeof *byc);
        if (!byc) {
            rc = km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
        } else {
            memcpy(byc, c.dsorted, c.ndigs * sizeof *byc);
            qsort(byc, c.ndigs, sizeof *byc, cmp_chain);
            for (size_t i = 0; i < c.ndigs && !c.oom;) {
                size_t j = i + 1;
                while (j < c.ndigs && strcmp(byc[j]->chain, byc[i]->chain) == 0 &&
                       byc[j]->backfill == byc[i]->backfill)
                    j++;
                walk_group(&c, byc + i, j - i);
                i = j;
            }
            free(byc);
        }
    }
    if (rc == KM_OK && !c.oom) backfill_cover(&c);
    if (rc == KM_OK && !c.oom) moved_copies(&c);
    if (rc == KM_OK && !c.oom) check_logs(&c);
    if (rc == KM_OK && c.via_chain)
        add_note(&c, xprintf("%zu digest%s had no .sig file and %s verified with the signature recorded "
                             "in the next digest", c.via_chain, c.via_chain == 1 ? "" : "s",
                             c.via_chain == 1 ? "was" : "were"));
    if (rc == KM_OK && c.oom) rc = km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
    /* counts */
    for (size_t i = 0; i < r->ndigests; i++) {
        const km_trail_item *it = &r->digests[i];
        size_t *v = it->backfill ? &r->bf_valid : &r->dig_valid;
        size_t *inv = it->backfill ? &r->bf_invalid : &r->dig_invalid;
        size_t *mis = it->backfill ? &r->bf_missing : &r->dig_missing;
        if (it->status == KM_TRAIL_VALID) (*v)++;
        else if (it->status == KM_TRAIL_MISSING) (*mis)++;
        else (*inv)++;
    }
    for (size_t i = 0; i < r->ndigests; i++) { /* what the valid digests cover, within the request */
        const km_trail_item *it = &r->digests[i];
        if (it->status != KM_TRAIL_VALID) continue;
        int64_t s = it->start > r->req_start ? it->start : r->req_start;
        int64_t en = it->end < r->req_end ? it->end : r->req_end;
        if (r->found_start == KM_TRAIL_TIME_MIN || s < r->found_start) r->found_start = s;
        if (r->found_end == KM_TRAIL_TIME_MAX || en > r->found_end) r->found_end = en;
    }
    for (size_t i = 0; i < r->nlogs; i++) {
        switch (r->logs[i].status) {
        case KM_TRAIL_VALID: r->log_valid++; break;
        case KM_TRAIL_INVALID: r->log_invalid++; break;
        case KM_TRAIL_MISSING: r->log_missing++; break;
        case KM_TRAIL_UNEXPECTED: r->log_unexpected++; break;
        }
    }
    for (size_t i = 0; i < c.ndigs; i++) {
        dig *g = &c.digs[i];
        free(g->key); free(g->path); free(g->chain); free(g->label); free(g->scope); free(g->sig);
        km_trail_digest_free(g->d);
    }
    for (size_t i = 0; i < c.nlogs; i++) {
        free(c.logs[i].key); free(c.logs[i].path); free(c.logs[i].scope);
    }
    strset_free(&c.dmissing);
    free(c.digs);
    free(c.logs);
    free(c.dsorted);
    free(c.lsorted);
    for (size_t i = 0; i < o->nmirrors; i++) free(buckets[i]);
    free(buckets);
    if (rc != KM_OK) {
        km_trail_report_free(r);
        return rc;
    }
    *out = r;
    return KM_OK;
}
