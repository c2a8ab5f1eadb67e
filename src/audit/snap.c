/* Snapshot loading: the collect layout, placebo recordings, AWS Config snapshot files.
 * Files are read and parsed by a few threads (a large organisation's snapshot holds hundreds
 * of thousands of small answers); everything else runs on the caller's thread. The small
 * per-resource answers of one call are parsed together as one JSON array so that they share
 * one document (one arena) instead of one each; when that combined text does not parse, or
 * its elements do not line up with the files, each file is parsed on its own so that the
 * error names the right file and position. */
#include "audit/snap.h"
#include "util/limits.h"
#include "audit/commands.h"
#include "audit/hmap.h"
#include "audit/util.h"
#include "util/arena.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* harden helper: --limit file (util/limits.h), default 1 GiB */
#define MAX_FILE_BYTES km_limit(KM_LIMIT_FILE, (size_t)1 << 30)
#define MAX_GROUP_BYTES ((size_t)32 << 20)
#define MAX_PROBLEMS 5000

typedef struct entry {
    const char *account, *region, *service, *op, *key;
    km_item item;
} entry;

typedef struct oplist {
    const char **keys;
    km_item **items;
    const km_item **citems;
    size_t n, cap;
} oplist;

typedef struct sacct {
    const char *id;
    const char **regions;
    size_t nregions, cap;
    int has_collect;
} sacct;

typedef struct reslist {
    const km_res **v;
    size_t n, cap;
} reslist;

/* A file read, for km_snap_read. */
typedef struct sfile {
    const char *path;
    const km_json *root;
    size_t load;
} sfile;

typedef struct pending_ci {
    const km_json *items; /* configurationItems array */
    const char *file;
} pending_ci;

struct km_snap {
    int oom; /* harden helper: something was lost for want of memory (the model is incomplete) */
    km_arena arena;
    /* After loading, the snapshot is read by the checks and the recoverability analysis at the
     * same time (cmd_audit.c); the only writes then, km_snap_intern and km_snap_embedded, take
     * this lock. */
    pthread_mutex_t mu;
    km_json_doc **docs;
    size_t ndocs, capdocs;
    km_hmap entries;   /* account/region/service/op/key -> entry */
    km_hmap oplists;   /* account/region/service/op -> oplist (per-resource answers) */
    entry **all;       /* every entry in load order */
    size_t nall, capall;
    sacct *accts;
    size_t naccts, capaccts;
    km_hmap types;     /* type -> reslist */
    km_hmap arns;      /* arn -> km_res (the owner's view when there are several) */
    km_hmap dedupe;    /* account/arn -> km_res */
    km_hmap listings;  /* account/region/type -> km_item */
    km_hmap embedded;  /* pointer -> cached parse */
    km_hmap strs;      /* names stored once (key and value are the copy): intern_name */
    char **problems;
    size_t nproblems, capproblems, dropped_problems;
    pending_ci *cis;
    size_t ncis, capcis;
    size_t nfiles;
    sfile *read;       /* every file read, in load order (km_snap_read) */
    size_t nread, capread;
    size_t nloads;     /* km_snap_load calls so far */
    int64_t time;
    int finished;
};

/* ---- small helpers ---- */

static int grow(void **p, size_t *cap, size_t n, size_t elem) {
    if (n < *cap) return 0;
    size_t nc = *cap ? *cap * 2 : 16;
    void *q = realloc(*p, nc * elem);
    if (!q) return -1;
    *p = q;
    *cap = nc;
    return 0;
}

const char *km_snap_intern(km_snap *s, const char *str) {
    if (!str) return NULL;
    pthread_mutex_lock(&s->mu);
    const char *r = km_arena_strndup(&s->arena, str, strlen(str));
    if (!r) s->oom = 1; /* the caller goes on with NULL (no value); km_snap_oom tells the run */
    pthread_mutex_unlock(&s->mu);
    return r;
}

/* The names every answer repeats (account, region, service, operation: a few hundred distinct
 * in a large organisation's snapshot, named hundreds of thousands of times) are stored once. */
static const char *intern_name(km_snap *s, const char *str) {
    if (!str) return NULL;
    size_t len = strlen(str);
    const char *have = km_hmap_get(&s->strs, str, len);
    if (have) return have;
    char *c = km_arena_strndup(&s->arena, str, len);
    if (c) km_hmap_put(&s->strs, c, len, c); /* out of memory: stored, not shared */
    else s->oom = 1;                           /* the caller goes on with NULL */
    return c;
}

static void problem(km_snap *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(km_snap *s, const char *fmt, ...) {
    if (s->nproblems >= MAX_PROBLEMS) { s->dropped_problems++; return; }
    if (grow((void **)&s->problems, &s->capproblems, s->nproblems, sizeof *s->problems)) {
        s->oom = 1;
        return;
    }
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char *p = strdup(buf);
    if (p) s->problems[s->nproblems++] = p;
    else s->oom = 1; /* a problem left out would make the list of input problems wrong */
}

/* Takes d; on failure (out of memory) it is freed and the snapshot marked out of memory, and the
 * caller must drop every pointer into it. */
static int keep_doc(km_snap *s, km_json_doc *d) {
    if (grow((void **)&s->docs, &s->capdocs, s->ndocs, sizeof *s->docs)) {
        km_json_doc_free(d);
        s->oom = 1;
        return -1;
    }
    s->docs[s->ndocs++] = d;
    return 0;
}

/* key for the maps: parts joined with 0x1F */
static char *joinkey(km_snap *s, size_t *len, const char *a, const char *b, const char *c,
                     const char *d, const char *e) {
    const char *parts[5] = {a, b, c, d, e};
    size_t n = 0;
    for (int i = 0; i < 5; i++) n += (parts[i] ? strlen(parts[i]) : 0) + 1;
    char *k = km_arena_alloc(&s->arena, n + 1);
    if (!k) return NULL;
    size_t o = 0;
    for (int i = 0; i < 5; i++) {
        if (parts[i]) {
            size_t l = strlen(parts[i]);
            memcpy(k + o, parts[i], l);
            o += l;
        }
        k[o++] = 0x1F;
    }
    k[o] = 0;
    *len = o;
    return k;
}

static int tmpkey(char *buf, size_t n, const char *a, const char *b, const char *c, const char *d,
                  const char *e) {
    int w = snprintf(buf, n, "%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f", a ? a : "", b ? b : "", c ? c : "",
                     d ? d : "", e ? e : "");
    return (w < 0 || (size_t)w >= n) ? -1 : w;
}

static sacct *get_acct(km_snap *s, const char *id) {
    for (size_t i = 0; i < s->naccts; i++)
        if (!strcmp(s->accts[i].id, id)) return &s->accts[i];
    if (grow((void **)&s->accts, &s->capaccts, s->naccts, sizeof *s->accts)) {
        s->oom = 1;
        return NULL;
    }
    sacct *a = &s->accts[s->naccts];
    memset(a, 0, sizeof *a);
    a->id = km_snap_intern(s, id); /* sets s->oom when it fails */
    if (!a->id) return NULL;     /* not counted: the loop above compares every id */
    s->naccts++;
    return a;
}

static void add_region(km_snap *s, sacct *a, const char *region) {
    if (!a || !region || !strcmp(region, "global") || !km_is_region(region)) return;
    for (size_t i = 0; i < a->nregions; i++)
        if (!strcmp(a->regions[i], region)) return;
    if (grow((void **)&a->regions, &a->cap, a->nregions, sizeof *a->regions)) { s->oom = 1; return; }
    a->regions[a->nregions++] = km_snap_intern(s, region);
}

/* ---- answers ---- */

static void interpret(const char *service, const char *op, const km_json *root, km_item *it) {
    it->status = KM_DATA_OK;
    it->json = root;
    const km_json *sc = km_json_get(root, "status_code");
    const km_json *data = km_json_get(root, "data");
    if (sc && sc->type == KM_JSON_NUMBER && data && data->type == KM_JSON_OBJECT) {
        /* placebo recording: {"status_code": N, "data": {...}} */
        if (sc->u.num.d < 300) { it->json = data; return; }
        root = data;
    } else {
        const km_json *e = km_json_get(root, "Error");
        if (!e || e->type != KM_JSON_OBJECT || !km_json_get_str(e, "Code", NULL)) return;
        for (size_t i = 0; i < root->u.obj.n; i++) {
            const char *k = root->u.obj.members[i].key;
            if (strcmp(k, "Error") && strcmp(k, "ResponseMetadata") && strcmp(k, "Message") &&
                strcmp(k, "Code") && strcmp(k, "message") && strcmp(k, "kumomori"))
                return; /* an answer that merely has an "Error" field */
        }
    }
    const km_json *e = km_json_get(root, "Error");
    it->json = NULL;
    it->code = km_json_get_str(e, "Code", "UnknownError");
    it->message = km_json_get_str(e, "Message", km_json_get_str(root, "message", NULL));
    switch (km_classify_error(service, op, it->code, it->message)) {
    case KM_ERRCLASS_ABSENT: it->status = KM_DATA_ABSENT; break;
    case KM_ERRCLASS_DENIED: it->status = KM_DATA_DENIED; break;
    default: it->status = KM_DATA_ERROR; break;
    }
}

static entry *put_entry(km_snap *s, const char *account, const char *region, const char *service,
                        const char *op, const char *key, const km_item *it) {
    size_t kl;
    char *k = joinkey(s, &kl, account, region, service, op, key);
    entry *e = km_arena_alloc(&s->arena, sizeof *e);
    if (!k || !e) goto nomem;
    e->account = intern_name(s, account);
    e->region = intern_name(s, region);
    e->service = intern_name(s, service);
    e->op = intern_name(s, op);
    e->key = key ? km_arena_strndup(&s->arena, key, strlen(key)) : NULL; /* unique: not interned */
    if (key && !e->key) goto nomem;
    e->item = *it;
    if (km_hmap_get(&s->entries, k, kl)) {
        /* A later answer for the same call (a second snapshot of the same account) wins, as
         * the newer view of the account; the first stays reachable in load order. */
    }
    if (km_hmap_put(&s->entries, k, kl, e)) goto nomem;
    if (grow((void **)&s->all, &s->capall, s->nall, sizeof *s->all)) goto nomem;
    s->all[s->nall++] = e;
    if (key) {
        size_t ol;
        char *okey = joinkey(s, &ol, account, region, service, op, NULL);
        if (!okey) goto nomem;
        oplist *l = km_hmap_get(&s->oplists, okey, ol);
        if (!l) {
            l = km_arena_alloc(&s->arena, sizeof *l);
            if (!l || km_hmap_put(&s->oplists, okey, ol, l)) goto nomem;
        }
        if (l->n >= l->cap) {
            size_t nc = l->cap ? l->cap * 2 : 8;
            const char **nk = realloc(l->keys, nc * sizeof *nk);
            if (!nk) goto nomem;
            l->keys = nk;
            km_item **ni = realloc(l->items, nc * sizeof *ni);
            if (!ni) goto nomem;
            l->items = ni;
            const km_item **nci = realloc(l->citems, nc * sizeof *nci);
            if (!nci) goto nomem;
            l->citems = nci;
            l->cap = nc;
        }
        l->keys[l->n] = e->key;
        l->items[l->n] = &e->item;
        l->citems[l->n] = &e->item;
        l->n++;
    }
    sacct *a = get_acct(s, account);
    if (a) {
        a->has_collect = 1;
        add_region(s, a, region);
    }
    return e;
nomem:
    /* an answer left out (or unreachable by its operation) would change the audit without a
     * word: the load fails as out of memory instead (km_snap_oom) */
    s->oom = 1;
    return NULL;
}

/* ---- file classification ---- */

typedef enum { F_SKIP, F_LIST, F_KEYED, F_MANIFEST, F_CONFIG } fkind;

typedef struct finfo {
    char *path;      /* as opened */
    char *display;   /* as named in messages */
    fkind kind;
    char *account, *region, *service, *op, *key; /* collect layout parts */
    /* results */
    char *text;
    size_t len;
    km_json_doc *doc;
    const km_json *root;
    size_t base;
    char *err;       /* why it failed (malloc'd), or NULL */
    int failed;
} finfo;

static int is_name(const char *s) {
    if (!*s) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.'))
            return 0;
    return 1;
}

static char *strip_json(const char *name) {
    size_t l = strlen(name);
    if (l <= 5 || strcmp(name + l - 5, ".json") != 0) return NULL;
    char *r = malloc(l - 4);
    if (!r) return NULL;
    memcpy(r, name, l - 5);
    r[l - 5] = 0;
    return r;
}

/* Classify by the last path components: .../<account>/<region>/<service>/<op>.json or
 * .../<account>/<region>/<service>/<op>/<key>.json. */
static void classify(finfo *f, const char *rel) {
    const char *comp[8];
    size_t clen[8];
    int nc = 0;
    const char *end = rel + strlen(rel);
    const char *p = end;
    while (nc < 8 && p > rel) {
        const char *q = p;
        while (q > rel && q[-1] != '/') q--;
        comp[nc] = q;
        clen[nc] = (size_t)(p - q);
        nc++;
        p = q > rel ? q - 1 : q;
    }
    char c[6][256];
    for (int i = 0; i < 6; i++) {
        c[i][0] = 0;
        if (i < nc && clen[i] < sizeof c[i]) {
            memcpy(c[i], comp[i], clen[i]);
            c[i][clen[i]] = 0;
        }
    }
    const char *name = c[0];
    size_t nl = strlen(name);
    if (!strcmp(name, "manifest.json")) { f->kind = F_MANIFEST; return; }
    int is_json = nl > 5 && !strcmp(name + nl - 5, ".json");
    int is_gz = nl > 8 && !strcmp(name + nl - 8, ".json.gz");
    if (is_json && nc >= 4 && km_is_account_id(c[3]) && (km_is_region(c[2]) || !strcmp(c[2], "global")) &&
        is_name(c[1])) {
        char *op = strip_json(name);
        if (!op) { /* out of memory (the name ends in .json): add_file sees the missing op */
            f->kind = F_LIST;
            return;
        }
        if (is_name(op)) {
            f->kind = F_LIST;
            f->account = strdup(c[3]);
            f->region = strdup(c[2]);
            f->service = strdup(c[1]);
            f->op = op;
            return;
        }
        free(op);
    }
    if (is_json && nc >= 5 && km_is_account_id(c[4]) && (km_is_region(c[3]) || !strcmp(c[3], "global")) &&
        is_name(c[2]) && is_name(c[1])) {
        f->kind = F_KEYED;
        f->account = strdup(c[4]);
        f->region = strdup(c[3]);
        f->service = strdup(c[2]);
        f->op = strdup(c[1]);
        f->key = malloc(nl + 1);
        if (f->key) km_pct_decode(name, nl - 5, f->key, 0);
        return;
    }
    if (is_gz || is_json) { f->kind = F_CONFIG; return; }
    f->kind = F_SKIP;
}

/* ---- reading ---- */

static char *read_gz(const char *path, size_t max, size_t *len, char *err, size_t errn) {
    gzFile g = gzopen(path, "rb");
    if (!g) { snprintf(err, errn, "cannot open: %s", strerror(errno)); return NULL; }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        if (n == cap) {
            if (cap >= max) { snprintf(err, errn, "larger than the limit of %zu bytes once decompressed", max); free(buf); buf = NULL; break; }
            size_t nc = cap * 2 > max ? max : cap * 2;
            char *nb = realloc(buf, nc + 1);
            if (!nb) { free(buf); buf = NULL; snprintf(err, errn, "out of memory"); break; }
            buf = nb;
            cap = nc;
        }
        unsigned want = (unsigned)((cap - n) > (1u << 30) ? (1u << 30) : (cap - n));
        int r = gzread(g, buf + n, want);
        if (r < 0) {
            int zerr;
            const char *m = gzerror(g, &zerr);
            snprintf(err, errn, "gzip: %s after %zu decompressed bytes", m ? m : "read error", n);
            free(buf);
            buf = NULL;
            break;
        }
        if (r == 0) break;
        n += (size_t)r;
    }
    gzclose(g);
    if (!buf) return NULL;
    buf[n] = 0;
    *len = n;
    return buf;
}

static int blank(const char *t, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (t[i] != ' ' && t[i] != '\n' && t[i] != '\r' && t[i] != '\t') return 0;
    return 1;
}

static void parse_one(finfo *f) {
    km_error e;
    f->doc = km_json_parse(f->text, f->len, NULL, NULL, &e);
    if (!f->doc) {
        f->failed = 1;
        f->err = strdup(e.msg);
    } else {
        f->root = km_json_root(f->doc);
        f->base = 0;
    }
}

/* The text of one job's files, back to back (as a JSON array when the job is a group). */
typedef struct tbuf {
    char *p;
    size_t n, cap;
} tbuf;

#define READ_STEP ((size_t)1 << 16)

static int tb_reserve(tbuf *b, size_t more) {
    if (b->cap - b->n >= more) return 0;
    size_t nc = b->cap ? b->cap : READ_STEP;
    while (nc - b->n < more) {
        if (nc > SIZE_MAX / 2) return -1;
        nc *= 2;
    }
    char *np = realloc(b->p, nc);
    if (!np) return -1;
    b->p = np;
    b->cap = nc;
    return 0;
}

static int tb_put(tbuf *b, const char *s, size_t n) {
    if (tb_reserve(b, n + 1)) return -1;
    memcpy(b->p + b->n, s, n);
    b->n += n;
    return 0;
}

/* Append a whole regular file to b. A read shorter than asked is taken as the end of the file
 * (POSIX guarantees it for regular files short of a signal, and none is handled here): a
 * snapshot holds hundreds of thousands of small files, and fstat plus a read returning 0 would
 * more than double the system calls. A truncated read would still show as a JSON error. On
 * failure b is unchanged and err says why. */
static int append_file(tbuf *b, int dirfd, const char *path, km_error *err) {
    int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return km_error_set(err, KM_ERR, (size_t)-1, "cannot open: %s", strerror(errno));
    size_t start = b->n;
    for (;;) {
        if (tb_reserve(b, READ_STEP + 4)) {
            b->n = start;
            close(fd);
            return km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
        }
        size_t want = b->cap - b->n - 4; /* room for "," or "]", NUL and "{}" */
        ssize_t r = read(fd, b->p + b->n, want);
        if (r < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            b->n = start;
            close(fd);
            return km_error_set(err, KM_ERR, (size_t)-1, "read error: %s", strerror(e));
        }
        b->n += (size_t)r;
        if (b->n - start > MAX_FILE_BYTES) {
            b->n = start;
            close(fd);
            return km_error_set(err, KM_ELIMIT, (size_t)-1, "larger than the limit of %zu bytes (--limit file)", MAX_FILE_BYTES);
        }
        if ((size_t)r < want) break;
    }
    close(fd);
    return KM_OK;
}

/* The files of one job mostly share a folder: opening them relative to it spares the kernel
 * the lookup of every folder on the way (a tenth of the time of a large snapshot). */
typedef struct dircache {
    int fd;
    size_t len; /* of the folder's path in name */
    char name[4096];
} dircache;

/* The folder fd and name to open path with: relative to the cached folder when path is in it,
 * else AT_FDCWD and path itself. */
static int dir_for(dircache *dc, const char *path, const char **rel) {
    const char *slash = strrchr(path, '/');
    *rel = path;
    if (!slash || slash == path || (size_t)(slash - path) >= sizeof dc->name) return AT_FDCWD;
    size_t len = (size_t)(slash - path);
    if (dc->fd < 0 || dc->len != len || memcmp(dc->name, path, len)) {
        if (dc->fd >= 0) close(dc->fd);
        memcpy(dc->name, path, len);
        dc->name[len] = 0;
        dc->len = len;
        dc->fd = open(dc->name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dc->fd < 0) return AT_FDCWD;
    }
    *rel = slash + 1;
    return dc->fd;
}

/* Append file f to b (decompressing .json.gz); a blank file becomes "{}", as the CLI prints
 * nothing for an empty answer (a bucket never versioned). Returns 0, or -1 with f failed. */
static int read_into(tbuf *b, finfo *f, dircache *dc) {
    size_t start = b->n;
    size_t l = strlen(f->path);
    if (l > 3 && !strcmp(f->path + l - 3, ".gz")) {
        char why[600] = "";
        size_t n;
        char *t = read_gz(f->path, MAX_FILE_BYTES, &n, why, sizeof why);
        if (!t || tb_put(b, t, n)) {
            free(t);
            f->failed = 1;
            f->err = strdup(t ? "out of memory" : why);
            return -1;
        }
        free(t);
    } else {
        km_error e;
        const char *rel;
        int dfd = dir_for(dc, f->path, &rel);
        if (append_file(b, dfd, rel, &e)) {
            f->failed = 1;
            f->err = strdup(e.msg);
            return -1;
        }
    }
    if (blank(b->p + start, b->n - start)) {
        b->n = start;
        if (tb_put(b, "{}", 2)) {
            f->failed = 1;
            f->err = strdup("out of memory");
            return -1;
        }
    }
    return 0;
}

typedef struct job {
    finfo **files;
    size_t n;
    km_json_doc *group_doc; /* when the group parsed as one */
    int finished;           /* under the pool's lock when threaded */
} job;

/* Parse files[i] from its slice of b on its own (offsets in messages are then its own). */
static void parse_slice(finfo *f, const tbuf *b, size_t start, size_t stop) {
    f->text = b->p + start;
    f->len = stop - start;
    parse_one(f);
    f->text = NULL;
}

/* Parse the group in b as one JSON array, one element per readable file, each element made of
 * exactly its own file's bytes (so nothing can leak from one file into another): one parse and
 * one arena for thousands of small per-resource answers. Returns the document, or NULL when
 * any file is not valid JSON on its own (the caller then parses them one by one). */
static km_json_doc *parse_group(job *j, const tbuf *b, const size_t *start, const size_t *stop, size_t cnt) {
    km_error e;
    km_json_doc *d = km_json_parse(b->p, b->n, NULL, NULL, &e);
    const km_json *arr = d ? km_json_root(d) : NULL;
    int ok = arr && km_json_len(arr) == cnt;
    size_t k = 0;
    for (size_t i = 0; ok && i < j->n; i++) {
        finfo *f = j->files[i];
        if (f->failed) continue;
        const km_json *v = km_json_at(arr, k++);
        if (v->offset < start[i] || v->end > stop[i] || !blank(b->p + start[i], v->offset - start[i]) ||
            !blank(b->p + v->end, stop[i] - v->end)) {
            ok = 0;
            break;
        }
        f->root = v;
        f->base = start[i];
    }
    if (ok) return d;
    km_json_doc_free(d);
    for (size_t i = 0; i < j->n; i++) j->files[i]->root = NULL;
    return NULL;
}

/* Read and parse one job. The files of a group are read straight into one buffer; past
 * MAX_GROUP_BYTES the job falls back to file-by-file parsing so that memory stays bounded. */
static void run_job(job *j, tbuf *scratch) {
    tbuf b = *scratch; /* reused from job to job: fresh memory costs a page fault per 4 KiB */
    b.n = 0;
    size_t *start = malloc(j->n * sizeof *start), *stop = malloc(j->n * sizeof *stop);
    if (!start || !stop) {
        for (size_t i = 0; i < j->n; i++) {
            j->files[i]->failed = 1;
            j->files[i]->err = strdup("out of memory");
        }
        free(start);
        free(stop);
        return;
    }
    dircache dc;
    dc.fd = -1;
    dc.len = 0;
    int group = j->n >= 2 && !tb_put(&b, "[", 1);
    size_t cnt = 0, first = 0; /* files[first..i) are in b */
    for (size_t i = 0; i < j->n; i++) {
        finfo *f = j->files[i];
        if (group && cnt && tb_put(&b, ",", 1)) {
            for (size_t k = first; k < i; k++)
                if (!j->files[k]->failed) parse_slice(j->files[k], &b, start[k], stop[k]);
            group = 0;
            b.n = 0;
            first = i;
        }
        size_t before = group && cnt ? b.n - 1 : b.n;
        start[i] = b.n;
        if (read_into(&b, f, &dc)) {
            b.n = before;
            continue;
        }
        stop[i] = b.n;
        cnt++;
        if (!group) {
            parse_slice(f, &b, start[i], stop[i]);
            b.n = 0;
            first = i + 1;
        } else if (b.n > MAX_GROUP_BYTES) {
            for (size_t k = first; k <= i; k++)
                if (!j->files[k]->failed) parse_slice(j->files[k], &b, start[k], stop[k]);
            group = 0;
            b.n = 0;
            first = i + 1;
        }
    }
    if (group && cnt && !tb_put(&b, "]", 1)) {
        b.p[b.n] = 0;
        j->group_doc = parse_group(j, &b, start, stop, cnt);
    }
    if (!j->group_doc)
        for (size_t k = first; k < j->n; k++)
            if (!j->files[k]->failed) parse_slice(j->files[k], &b, start[k], stop[k]);
    if (dc.fd >= 0) close(dc.fd);
    *scratch = b;
    if (scratch->cap > 2 * MAX_GROUP_BYTES) { /* an unusually large file: do not keep its buffer */
        free(scratch->p);
        memset(scratch, 0, sizeof *scratch);
    }
    free(start);
    free(stop);
}

/* Jobs queued for the worker threads, batch after batch; the main thread files the results
 * of one batch while the workers read and parse the next. */
typedef struct pool {
    job **q;
    size_t n, cap, next;
    int closed;
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    tbuf scratch; /* the calling thread's, when it runs jobs itself */
} pool;

static void *worker(void *arg) {
    pool *p = arg;
    tbuf scratch = {0};
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (p->next >= p->n && !p->closed) pthread_cond_wait(&p->work, &p->mu);
        if (p->next >= p->n) break;
        job *j = p->q[p->next++];
        pthread_mutex_unlock(&p->mu);
        run_job(j, &scratch);
        pthread_mutex_lock(&p->mu);
        j->finished = 1;
        pthread_cond_broadcast(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    free(scratch.p);
    return NULL;
}

/* Queue jobs[0..n); without worker threads they run here and now. Returns 0, or -1 when out of
 * memory (the jobs were then run here). */
static int pool_add(pool *p, job *jobs, size_t n, int threaded) {
    if (!threaded) {
        for (size_t i = 0; i < n; i++) {
            run_job(&jobs[i], &p->scratch);
            jobs[i].finished = 1;
        }
        return 0;
    }
    pthread_mutex_lock(&p->mu);
    int rc = 0;
    if (p->cap - p->n < n) {
        size_t nc = p->cap ? p->cap : 1024;
        while (nc - p->n < n) nc *= 2;
        job **nq = realloc(p->q, nc * sizeof *nq);
        if (!nq) rc = -1;
        else {
            p->q = nq;
            p->cap = nc;
        }
    }
    if (rc == 0) {
        for (size_t i = 0; i < n; i++) p->q[p->n++] = &jobs[i];
        pthread_cond_broadcast(&p->work);
    }
    pthread_mutex_unlock(&p->mu);
    if (rc)
        for (size_t i = 0; i < n; i++) {
            run_job(&jobs[i], &p->scratch);
            jobs[i].finished = 1;
        }
    return rc;
}

static void pool_wait(pool *p, job *j, int threaded) {
    if (!threaded) return;
    pthread_mutex_lock(&p->mu);
    while (!j->finished) pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}


/* ---- building from parsed files ---- */

static void add_manifest(km_snap *s, finfo *f) {
    if (!f->root) return;
    int64_t t;
    const km_json *st = km_ci_get(f->root, "started_at");
    if (st && km_parse_time(st, &t) == 0 && t > s->time) s->time = t;
}

static void add_config(km_snap *s, finfo *f) {
    const km_json *root = f->root;
    const km_json *items = km_json_get(root, "configurationItems");
    if (!items && root && root->type == KM_JSON_ARRAY) items = root;
    if (!items || items->type != KM_JSON_ARRAY) {
        problem(s, "%s: not a kumomori collect file (expected .../<account>/<region>/<service>/<operation>.json) "
                   "nor an AWS Config snapshot (no \"configurationItems\" array); skipped", f->display);
        return;
    }
    if (grow((void **)&s->cis, &s->capcis, s->ncis, sizeof *s->cis)) return;
    s->cis[s->ncis].items = items;
    s->cis[s->ncis].file = km_snap_intern(s, f->display);
    s->ncis++;
}

/* Keep f's path and parsed root for km_snap_read; path is f's name interned, or NULL. */
static void keep_read(km_snap *s, finfo *f, const char *path) {
    if (!path) path = km_snap_intern(s, f->display);
    if (!path) return; /* km_snap_oom says so */
    if (grow((void **)&s->read, &s->capread, s->nread, sizeof *s->read)) {
        s->oom = 1;
        return;
    }
    s->read[s->nread].path = path;
    s->read[s->nread].root = f->failed ? NULL : f->root;
    s->read[s->nread].load = s->nloads ? s->nloads - 1 : (size_t)-1;
    s->nread++;
}

static void add_file(km_snap *s, finfo *f) {
    s->nfiles++;
    /* harden helper: a file lost for want of memory is not an input problem but a failed run */
    if (f->failed && (!f->err || strstr(f->err, "out of memory"))) s->oom = 1;
    if ((f->kind == F_LIST || f->kind == F_KEYED) &&
        (!f->account || !f->region || !f->service || !f->op || (f->kind == F_KEYED && !f->key))) {
        s->oom = 1; /* classify ran out of memory */
        return;
    }
    if (f->kind == F_SKIP) return;
    if (f->kind == F_LIST || f->kind == F_KEYED) {
        km_item it = {0};
        it.file = km_snap_intern(s, f->display);
        it.base = f->base;
        if (f->failed || !f->root) {
            it.status = KM_DATA_ERROR;
            it.code = NULL;
            char msg[700];
            snprintf(msg, sizeof msg, "%s: %s", f->display, f->err ? f->err : "unreadable");
            it.message = km_snap_intern(s, msg);
            problem(s, "%s", msg);
        } else {
            interpret(f->service, f->op, f->root, &it);
            if (it.code) it.code = km_snap_intern(s, it.code);
            if (it.message) it.message = km_snap_intern(s, it.message);
        }
        put_entry(s, f->account, f->region, f->service, f->op, f->kind == F_KEYED ? f->key : NULL, &it);
        keep_read(s, f, it.file);
        return;
    }
    keep_read(s, f, NULL);
    if (f->failed || !f->root) {
        problem(s, "%s: %s", f->display, f->err ? f->err : "unreadable");
        return;
    }
    if (f->kind == F_MANIFEST) add_manifest(s, f);
    else add_config(s, f);
}

static void finfo_free(finfo *f) {
    free(f->path);
    free(f->display);
    free(f->account);
    free(f->region);
    free(f->service);
    free(f->op);
    free(f->key);
    free(f->text);
    free(f->err);
}

typedef struct plist {
    char **v;
    size_t n, cap;
} plist;

static int push_path(plist *l, const char *path) {
    if (grow((void **)&l->v, &l->cap, l->n, sizeof *l->v)) return -1;
    char *p = strdup(path);
    if (!p) return -1;
    l->v[l->n++] = p;
    return 0;
}

static int cmp_name_skip1(const void *a, const void *b) {
    return strcmp(*(char *const *)a + 1, *(char *const *)b + 1);
}

static int json_name(const char *name) {
    size_t nl = strlen(name);
    return (nl > 5 && !strcmp(name + nl - 5, ".json")) || (nl > 8 && !strcmp(name + nl - 8, ".json.gz"));
}

/* Depth-first, each directory sorted, so that results and messages do not depend on the file
 * system's order and the answers of one call stay together. */
static void walk(km_snap *s, plist *l, const char *dir, int depth) {
    if (depth > KM_FOLDER_MAX_DEPTH) {
        problem(s, "%s: nested deeper than %d folders; not read", dir, KM_FOLDER_MAX_DEPTH);
        return;
    }
    DIR *d = opendir(dir);
    if (!d) {
        problem(s, "%s: cannot open directory: %s", dir, strerror(errno));
        return;
    }
    struct dirent *de;
    char **names = NULL;
    size_t n = 0, cap = 0;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') continue;
        if (grow((void **)&names, &cap, n, sizeof *names)) { s->oom = 1; break; } /* harden helper */
        /* one leading byte keeps the entry type so that most entries need no stat */
        size_t nl = strlen(de->d_name);
        char *e = malloc(nl + 2);
        if (!e) { s->oom = 1; continue; }
        memcpy(e + 1, de->d_name, nl + 1);
        e[0] = de->d_type == DT_DIR ? 'd' : de->d_type == DT_REG ? 'f' : '?';
        names[n++] = e;
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, cmp_name_skip1);
    size_t dl = strlen(dir);
    for (size_t i = 0; i < n; i++) {
        const char *name = names[i] + 1;
        size_t pl = dl + strlen(name) + 2;
        char *path = malloc(pl);
        if (!path) { s->oom = 1; free(names[i]); continue; }
        snprintf(path, pl, "%s/%s", dir, name);
        char kind = names[i][0];
        if (kind == '?') {
            struct stat st;
            if (stat(path, &st) != 0) { problem(s, "%s: %s", path, strerror(errno)); kind = 0; }
            else kind = S_ISDIR(st.st_mode) ? 'd' : S_ISREG(st.st_mode) ? 'f' : 0;
        }
        if (kind == 'd') walk(s, l, path, depth + 1);
        else if (kind == 'f' && json_name(name)) { if (push_path(l, path)) s->oom = 1; } /* harden helper */
        free(path);
        free(names[i]);
    }
    free(names);
}

static int same_group(const finfo *a, const finfo *b) {
    if (!b->account || !b->region || !b->service || !b->op) return 0; /* out of memory in classify */
    return a->kind == F_KEYED && b->kind == F_KEYED && !strcmp(a->account, b->account) &&
           !strcmp(a->region, b->region) && !strcmp(a->service, b->service) && !strcmp(a->op, b->op);
}

#define BATCH 8192

typedef struct batch {
    finfo **fv;
    size_t nf;
    job *jobs;
    size_t nj;
    int oom; /* a file was left out for want of memory */
} batch;

/* Classify paths[0..m) and cut them into jobs: the files of one per-resource call together. */
static int batch_make(batch *bt, char **paths, size_t m, int force_config) {
    memset(bt, 0, sizeof *bt);
    bt->fv = calloc(m, sizeof *bt->fv);
    bt->jobs = calloc(m, sizeof *bt->jobs);
    if (!bt->fv || !bt->jobs) {
        free(bt->fv);
        free(bt->jobs);
        return -1;
    }
    for (size_t i = 0; i < m; i++) {
        finfo *f = calloc(1, sizeof *f);
        if (!f) {
            bt->oom = 1; /* harden helper: was silently left out */
            continue;
        }
        f->path = paths[i];
        f->display = f->path;
        classify(f, f->path);
        if (f->kind == F_SKIP && force_config) f->kind = F_CONFIG;
        bt->fv[bt->nf++] = f;
    }
    for (size_t i = 0; i < bt->nf;) {
        size_t k = i + 1;
        if (bt->fv[i]->kind == F_KEYED && bt->fv[i]->account && bt->fv[i]->region && bt->fv[i]->service && bt->fv[i]->op)
            while (k < bt->nf && same_group(bt->fv[i], bt->fv[k]) && k - i < 4096) k++;
        if (bt->fv[i]->kind != F_SKIP) {
            bt->jobs[bt->nj].files = &bt->fv[i];
            bt->jobs[bt->nj].n = k - i;
            bt->nj++;
        }
        i = k;
    }
    return 0;
}

/* File a finished batch into the snapshot, in path order, and release it. */
static void batch_file(km_snap *s, pool *p, batch *bt, int threaded) {
    for (size_t i = 0; i < bt->nj; i++) pool_wait(p, &bt->jobs[i], threaded);
    for (size_t i = 0; i < bt->nj; i++) {
        /* a document that could not be kept is freed: its files lose their tree (they pointed
         * into it; add_file then read freed memory) and count as lost for want of memory */
        int group_lost = bt->jobs[i].group_doc && keep_doc(s, bt->jobs[i].group_doc);
        for (size_t k = 0; k < bt->jobs[i].n; k++) {
            finfo *f = bt->jobs[i].files[k];
            int lost = group_lost && f->root && !f->doc;
            if (f->doc && keep_doc(s, f->doc)) lost = 1;
            if (lost) {
                f->doc = NULL;
                f->root = NULL;
                f->failed = 1;
                free(f->err);
                f->err = NULL; /* add_file: no reason given means out of memory */
            }
        }
    }
    for (size_t i = 0; i < bt->nf; i++) {
        add_file(s, bt->fv[i]);
        bt->fv[i]->path = bt->fv[i]->display = NULL; /* owned by the path list */
        finfo_free(bt->fv[i]);
        free(bt->fv[i]);
    }
    free(bt->fv);
    free(bt->jobs);
    memset(bt, 0, sizeof *bt);
}

/* Read, parse and store files[0..n) in batches: worker threads read and parse batch k+1 while
 * this thread files batch k, so the bookkeeping never holds more than two batches. force_config:
 * a single file named on the command line is taken as an AWS Config snapshot when its path is
 * not in the collect layout. */
static void load_paths(km_snap *s, char **paths, size_t n, int force_config) {
    pool p = {NULL, 0, 0, 0, 0, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, {0}};
    int nt = n > 64 ? km_threads() : 1;
    pthread_t th[8];
    int started = 0;
    for (int t = 0; t < nt && nt > 1; t++)
        if (pthread_create(&th[started], NULL, worker, &p) == 0) started++;
    int threaded = started > 0;
    batch prev = {0}, cur;
    int have_prev = 0;
    for (size_t start = 0; start < n; start += BATCH) {
        size_t m = n - start < BATCH ? n - start : BATCH;
        if (batch_make(&cur, paths + start, m, force_config)) {
            problem(s, "out of memory: %zu files not read", n - start);
            break;
        }
        if (cur.oom) s->oom = 1;
        pool_add(&p, cur.jobs, cur.nj, threaded);
        if (have_prev) batch_file(s, &p, &prev, threaded);
        prev = cur;
        have_prev = 1;
    }
    if (have_prev) batch_file(s, &p, &prev, threaded);
    pthread_mutex_lock(&p.mu);
    p.closed = 1;
    pthread_cond_broadcast(&p.work);
    pthread_mutex_unlock(&p.mu);
    for (int t = 0; t < started; t++) pthread_join(th[t], NULL);
    pthread_mutex_destroy(&p.mu);
    pthread_cond_destroy(&p.work);
    pthread_cond_destroy(&p.done);
    free(p.q);
    free(p.scratch.p);
}

int km_snap_load(km_snap *s, const char *path, km_error *err) {
    struct stat st;
    if (stat(path, &st) != 0)
        return km_error_set(err, KM_ERR, (size_t)-1, "%s: %s", path, strerror(errno));
    plist l = {0};
    size_t before = s->nfiles;
    s->nloads++;
    if (S_ISDIR(st.st_mode)) {
        size_t n = strlen(path);
        char *p = strdup(path);
        if (!p) return km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
        while (n > 1 && p[n - 1] == '/') p[--n] = 0;
        walk(s, &l, p, 0);
        free(p);
        load_paths(s, l.v, l.n, 0);
        if (s->nfiles == before) problem(s, "%s: no .json or .json.gz files found", path);
    } else if (S_ISREG(st.st_mode)) {
        if (push_path(&l, path)) s->oom = 1; /* harden helper */
        load_paths(s, l.v, l.n, 1);
    } else {
        return km_error_set(err, KM_ERR, (size_t)-1, "%s: not a file or directory", path);
    }
    for (size_t i = 0; i < l.n; i++) free(l.v[i]);
    free(l.v);
    return KM_OK;
}

int km_snap_add_text(km_snap *s, const char *rel, const char *text, size_t len, const char *display) {
    finfo f = {0};
    f.path = strdup(rel);
    f.display = strdup(display ? display : rel);
    classify(&f, rel);
    if (f.kind == F_SKIP) f.kind = F_CONFIG;
    f.text = malloc(len + 1);
    if (!f.path || !f.display || !f.text) {
        finfo_free(&f);
        return KM_ENOMEM;
    }
    memcpy(f.text, text, len);
    f.text[len] = 0;
    f.len = len;
    if (blank(f.text, f.len)) {
        free(f.text);
        f.text = strdup("{}");
        f.len = 2;
    }
    if (f.text) parse_one(&f);
    if (f.doc && keep_doc(s, f.doc)) { /* freed: out of memory, which add_file reports */
        f.doc = NULL;
        f.root = NULL;
        f.failed = 1;
    }
    add_file(s, &f);
    finfo_free(&f);
    return KM_OK;
}

/* ---- queries ---- */

km_item km_snap_get(const km_snap *s, const char *account, const char *region, const char *service,
                    const char *op, const char *key) {
    km_item none = {KM_DATA_MISSING, NULL, NULL, "not in the snapshot", NULL, 0};
    char buf[2048];
    int n = tmpkey(buf, sizeof buf, account, region, service, op, key);
    if (n < 0) return none;
    entry *e = km_hmap_get(&s->entries, buf, (size_t)n);
    return e ? e->item : none;
}

size_t km_snap_keys(const km_snap *s, const char *account, const char *region, const char *service,
                    const char *op, const char *const **keys, const km_item *const **items) {
    char buf[2048];
    int n = tmpkey(buf, sizeof buf, account, region, service, op, NULL);
    oplist *l = n < 0 ? NULL : km_hmap_get(&s->oplists, buf, (size_t)n);
    if (!l) { *keys = NULL; *items = NULL; return 0; }
    *keys = l->keys;
    *items = l->citems;
    return l->n;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_acct(const void *a, const void *b) {
    return strcmp(((const sacct *)a)->id, ((const sacct *)b)->id);
}

size_t km_snap_naccounts(const km_snap *s) { return s->naccts; }
const char *km_snap_account(const km_snap *s, size_t i) { return i < s->naccts ? s->accts[i].id : NULL; }

static const sacct *find_acct(const km_snap *s, const char *id) {
    for (size_t i = 0; id && i < s->naccts; i++)
        if (!strcmp(s->accts[i].id, id)) return &s->accts[i];
    return NULL;
}

size_t km_snap_nregions(const km_snap *s, const char *account) {
    const sacct *a = find_acct(s, account);
    return a ? a->nregions : 0;
}

const char *km_snap_region(const km_snap *s, const char *account, size_t i) {
    const sacct *a = find_acct(s, account);
    return a && i < a->nregions ? a->regions[i] : NULL;
}

int km_snap_has_collect(const km_snap *s, const char *account) {
    const sacct *a = find_acct(s, account);
    return a && a->has_collect;
}

const km_res *const *km_snap_resources(const km_snap *s, const char *type, size_t *n) {
    reslist *l = km_hmap_get(&s->types, type, strlen(type));
    *n = l ? l->n : 0;
    return l ? l->v : NULL;
}

const km_res *km_snap_find_arn(const km_snap *s, const char *arn) {
    return arn ? km_hmap_get(&s->arns, arn, strlen(arn)) : NULL;
}

km_item km_snap_listing(const km_snap *s, const char *account, const char *region, const char *type) {
    km_item none = {KM_DATA_MISSING, NULL, NULL, "the list of these resources is not in the snapshot", NULL, 0};
    char buf[1024];
    int n = tmpkey(buf, sizeof buf, account, region, type, NULL, NULL);
    km_item *it = n < 0 ? NULL : km_hmap_get(&s->listings, buf, (size_t)n);
    return it ? *it : none;
}

size_t km_snap_nproblems(const km_snap *s) { return s->nproblems; }
const char *km_snap_problem(const km_snap *s, size_t i) { return i < s->nproblems ? s->problems[i] : NULL; }
size_t km_snap_nfiles(const km_snap *s) { return s->nfiles; }
size_t km_snap_nloads(const km_snap *s) { return s->nloads; }
size_t km_snap_nread(const km_snap *s) { return s->nread; }

const char *km_snap_read(const km_snap *s, size_t i, const km_json **root, size_t *load) {
    if (i >= s->nread) return NULL;
    if (root) *root = s->read[i].root;
    if (load) *load = s->read[i].load;
    return s->read[i].path;
}
int64_t km_snap_time(const km_snap *s) { return s->time; }

const km_json *km_res_get(const km_res *r, const char *field) {
    const km_json *v = km_ci_get(r->cfg, field);
    for (int i = 0; !v && i < r->nviews; i++) v = km_ci_get(r->views[i], field);
    return v;
}

km_item km_res_data(const km_snap *s, const km_res *r, const char *service, const char *op) {
    if (r->from_config || !r->key) {
        km_item none = {KM_DATA_MISSING, NULL, NULL,
                        r->from_config ? "read from an AWS Config snapshot, which does not hold this answer"
                                       : "not in the snapshot",
                        NULL, 0};
        return none;
    }
    return km_snap_get(s, r->account, r->data_region, service, op, r->key);
}

typedef struct cached {
    const km_json *v;
    const char *why;
} cached;

static const km_json *embedded_locked(km_snap *s, const km_json *v, const char **why);

const km_json *km_snap_embedded(km_snap *s, const km_json *v, const char **why) {
    pthread_mutex_lock(&s->mu);
    const km_json *r = embedded_locked(s, v, why);
    pthread_mutex_unlock(&s->mu);
    return r;
}

static const km_json *embedded_locked(km_snap *s, const km_json *v, const char **why) {
    if (why) *why = NULL;
    if (!v) { if (why) *why = "absent"; return NULL; }
    if (v->type == KM_JSON_OBJECT || v->type == KM_JSON_ARRAY) return v;
    if (v->type != KM_JSON_STRING) { if (why) *why = "not a string"; return NULL; }
    cached *c = km_hmap_get(&s->embedded, (const char *)&v, sizeof v);
    if (!c) {
        c = km_arena_alloc(&s->arena, sizeof *c);
        char *k = km_arena_alloc(&s->arena, sizeof v);
        if (!c || !k) { if (why) *why = "out of memory"; return NULL; }
        memcpy(k, &v, sizeof v);
        const char *t = v->u.str.s;
        size_t len = v->u.str.len;
        char *dec = NULL;
        size_t i = 0;
        while (i < len && (t[i] == ' ' || t[i] == '\n' || t[i] == '\t' || t[i] == '\r')) i++;
        if (i < len && t[i] == '%') {
            /* AWS Config and the IAM API write policy documents URL-encoded */
            dec = malloc(len + 1);
            if (dec) {
                len = km_pct_decode(t, len, dec, 1);
                t = dec;
            }
        }
        km_error e;
        km_json_doc *d = km_json_parse(t, len, NULL, NULL, &e);
        free(dec);
        if (d && keep_doc(s, d) == 0) {
            c->v = km_json_root(d);
        } else {
            c->v = NULL;
            c->why = km_arena_strndup(&s->arena, d ? "out of memory" : e.msg, strlen(d ? "out of memory" : e.msg));
            if (!c->why) s->oom = 1; /* as km_snap_intern, whose lock is held here */
        }
        km_hmap_put(&s->embedded, k, sizeof v, c);
    }
    if (!c->v && why) *why = c->why;
    return c->v;
}

/* ---- lifecycle ---- */

km_snap *km_snap_new(void) {
    km_snap *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    km_arena_init(&s->arena, 0);
    pthread_mutex_init(&s->mu, NULL);
    return s;
}

static void free_lists(km_hmap *m, int kind) {
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].key) continue;
        if (kind == 0) {
            oplist *l = m->slots[i].val;
            free(l->keys);
            free(l->items);
            free(l->citems);
        } else {
            reslist *l = m->slots[i].val;
            free(l->v);
        }
    }
    km_hmap_free(m);
}

void km_snap_free(km_snap *s) {
    if (!s) return;
    for (size_t i = 0; i < s->ndocs; i++) km_json_doc_free(s->docs[i]);
    free(s->docs);
    km_hmap_free(&s->entries);
    free_lists(&s->oplists, 0);
    free_lists(&s->types, 1);
    km_hmap_free(&s->arns);
    km_hmap_free(&s->dedupe);
    km_hmap_free(&s->listings);
    km_hmap_free(&s->embedded);
    km_hmap_free(&s->strs);
    free(s->all);
    for (size_t i = 0; i < s->naccts; i++) free(s->accts[i].regions);
    free(s->accts);
    for (size_t i = 0; i < s->nproblems; i++) free(s->problems[i]);
    free(s->problems);
    free(s->cis);
    free(s->read);
    km_arena_free(&s->arena);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* ---- normalisation into resources ---- */

typedef struct spec {
    const char *type, *service, *op, *items, *id, *name, *arn, *key;
    int per_key; /* items come from the per-resource answers of the call */
} spec;

/* How each listing call of the collect layout becomes resources. Types are AWS Config's. */
static const spec specs[] = {
    {"AWS::S3::Bucket", "s3api", "list-buckets", "Buckets", "{Name}", "{Name}", "arn:aws:s3:::{Name}", "{Name}", 0},
    {"AWS::IAM::User", "iam", "get-account-authorization-details", "UserDetailList", "{UserId}", "{UserName}", "{Arn}", "{UserName}", 0},
    {"AWS::IAM::Role", "iam", "get-account-authorization-details", "RoleDetailList", "{RoleId}", "{RoleName}", "{Arn}", "{RoleName}", 0},
    {"AWS::IAM::Role", "iam", "list-roles", "Roles", "{RoleId}", "{RoleName}", "{Arn}", "{RoleName}", 0},
    {"AWS::IAM::Group", "iam", "get-account-authorization-details", "GroupDetailList", "{GroupId}", "{GroupName}", "{Arn}", "{GroupName}", 0},
    {"AWS::IAM::Policy", "iam", "get-account-authorization-details", "Policies", "{PolicyId}", "{PolicyName}", "{Arn}", "{Arn}", 0},
    {"AWS::EC2::SecurityGroup", "ec2", "describe-security-groups", "SecurityGroups", "{GroupId}", "{GroupName}", "arn:aws:ec2:{region}:{account}:security-group/{GroupId}", "{GroupId}", 0},
    {"AWS::EC2::Instance", "ec2", "describe-instances", "Reservations.Instances", "{InstanceId}", "{InstanceId}", "arn:aws:ec2:{region}:{account}:instance/{InstanceId}", "{InstanceId}", 0},
    {"AWS::EC2::VPC", "ec2", "describe-vpcs", "Vpcs", "{VpcId}", "{VpcId}", "arn:aws:ec2:{region}:{account}:vpc/{VpcId}", "{VpcId}", 0},
    {"AWS::EC2::VPCEndpoint", "ec2", "describe-vpc-endpoints", "VpcEndpoints", "{VpcEndpointId}", "{ServiceName}", "arn:aws:ec2:{region}:{account}:vpc-endpoint/{VpcEndpointId}", "{VpcEndpointId}", 0},
    {"AWS::ElasticLoadBalancingV2::LoadBalancer", "elbv2", "describe-load-balancers", "LoadBalancers", "{LoadBalancerArn}", "{LoadBalancerName}", "{LoadBalancerArn}", "{LoadBalancerArn}", 0},
    {"AWS::RDS::DBInstance", "rds", "describe-db-instances", "DBInstances", "{DbiResourceId}", "{DBInstanceIdentifier}", "{DBInstanceArn}", "{DBInstanceIdentifier}", 0},
    {"AWS::RDS::DBCluster", "rds", "describe-db-clusters", "DBClusters", "{DbClusterResourceId}", "{DBClusterIdentifier}", "{DBClusterArn}", "{DBClusterIdentifier}", 0},
    {"AWS::RDS::DBSnapshot", "rds", "describe-db-snapshots", "DBSnapshots", "{DBSnapshotIdentifier}", "{DBSnapshotIdentifier}", "{DBSnapshotArn}", "{DBSnapshotIdentifier}", 0},
    {"AWS::RDS::DBClusterSnapshot", "rds", "describe-db-cluster-snapshots", "DBClusterSnapshots", "{DBClusterSnapshotIdentifier}", "{DBClusterSnapshotIdentifier}", "{DBClusterSnapshotArn}", "{DBClusterSnapshotIdentifier}", 0},
    {"AWS::KMS::Key", "kms", "list-keys", "Keys", "{KeyId}", "{KeyId}", "{KeyArn}", "{KeyId}", 0},
    {"AWS::CloudTrail::Trail", "cloudtrail", "describe-trails", "trailList", "{TrailARN}", "{Name}", "{TrailARN}", "{TrailARN}", 0},
    {"AWS::Logs::LogGroup", "logs", "describe-log-groups", "logGroups", "{logGroupName}", "{logGroupName}", "{arn}", "{logGroupName}", 0},
    {"AWS::CloudWatch::Alarm", "cloudwatch", "describe-alarms", "MetricAlarms", "{AlarmName}", "{AlarmName}", "{AlarmArn}", "{AlarmName}", 0},
    {"AWS::Events::Rule", "events", "list-rules", "Rules", "{Name}", "{Name}", "{Arn}", "{Name}", 0},
    {"AWS::Config::ConfigRule", "configservice", "describe-config-rules", "ConfigRules", "{ConfigRuleId}", "{ConfigRuleName}", "{ConfigRuleArn}", "{ConfigRuleName}", 0},
    {"AWS::Backup::BackupVault", "backup", "list-backup-vaults", "BackupVaultList", "{BackupVaultName}", "{BackupVaultName}", "{BackupVaultArn}", "{BackupVaultName}", 0},
    {"AWS::Backup::BackupPlan", "backup", "list-backup-plans", "BackupPlansList", "{BackupPlanId}", "{BackupPlanName}", "{BackupPlanArn}", "{BackupPlanId}", 0},
    {"AWS::Lambda::Function", "lambda", "list-functions", "Functions", "{FunctionName}", "{FunctionName}", "{FunctionArn}", "{FunctionName}", 0},
    {"AWS::ECR::Repository", "ecr", "describe-repositories", "repositories", "{repositoryName}", "{repositoryName}", "{repositoryArn}", "{repositoryName}", 0},
    {"AWS::ECS::TaskDefinition", "ecs", "describe-task-definition", "taskDefinition", "{taskDefinitionArn}", "{family}", "{taskDefinitionArn}", NULL, 1},
    {"AWS::WAFv2::WebACL", "wafv2", "list-web-acls", "WebACLs", "{Id}", "{Name}", "{ARN}", "{Id}", 0},
    {"AWS::CloudFront::Distribution", "cloudfront", "list-distributions", "DistributionList.Items", "{Id}", "{DomainName}", "{ARN}", "{Id}", 0},
    {"AWS::SecretsManager::Secret", "secretsmanager", "list-secrets", "SecretList", "{ARN}", "{Name}", "{ARN}", "{ARN}", 0},
    {"AWS::ACM::Certificate", "acm", "list-certificates", "CertificateSummaryList", "{CertificateArn}", "{DomainName}", "{CertificateArn}", "{CertificateArn}", 0},
    {"AWS::CloudFormation::Stack", "cloudformation", "describe-stacks", "Stacks", "{StackId}", "{StackName}", "{StackId}", "{StackName}", 0},
    {"AWS::CodeBuild::Project", "codebuild", "batch-get-projects", "projects", "{arn}", "{name}", "{arn}", NULL, 1},
    {"AWS::CodeArtifact::Repository", "codeartifact", "list-repositories", "repositories", "{arn}", "{name}", "{arn}", "{arn}", 0},
    {"AWS::GuardDuty::Detector", "guardduty", "list-detectors", "DetectorIds", "{.}", "{.}", "arn:aws:guardduty:{region}:{account}:detector/{.}", "{.}", 0},
    {"AWS::AccessAnalyzer::Analyzer", "accessanalyzer", "list-analyzers", "analyzers", "{arn}", "{name}", "{arn}", "{arn}", 0},
    /* data stores of the recoverability analysis (src/recov) */
    {"AWS::EC2::Volume", "ec2", "describe-volumes", "Volumes", "{VolumeId}", "{VolumeId}", "arn:aws:ec2:{region}:{account}:volume/{VolumeId}", "{VolumeId}", 0},
    {"AWS::DynamoDB::Table", "dynamodb", "describe-table", "Table", "{TableName}", "{TableName}", "{TableArn}", NULL, 1},
    {"AWS::EFS::FileSystem", "efs", "describe-file-systems", "FileSystems", "{FileSystemId}", "{Name}", "{FileSystemArn}", "{FileSystemId}", 0},
};

/* Expand "{Field}", "{.}", "{region}", "{account}" against item (the templates of collect's
 * command list, one syntax: km_template_expand). Returns 0, or -1 when a field is missing or not
 * a string/number (then the template does not apply). */
static int expand(const char *tmpl, const km_json *item, const char *account, const char *region,
                  char *out, size_t n) {
    return km_template_expand(tmpl, item, NULL, account, region, out, n);
}

typedef void (*item_fn)(km_snap *s, const km_json *item, void *ctx);

/* Walk a dotted path of object members, flattening arrays on the way and at the end. */
static void walk_items(km_snap *s, const km_json *v, const char *path, item_fn fn, void *ctx, int depth) {
    if (!v || depth > 8) return;
    if (v->type == KM_JSON_ARRAY) {
        for (size_t i = 0; i < v->u.arr.n; i++) walk_items(s, v->u.arr.items[i], path, fn, ctx, depth + 1);
        return;
    }
    if (!path || !*path) { fn(s, v, ctx); return; }
    const char *dot = strchr(path, '.');
    char part[128];
    size_t l = dot ? (size_t)(dot - path) : strlen(path);
    if (l >= sizeof part) return;
    memcpy(part, path, l);
    part[l] = 0;
    walk_items(s, km_ci_get(v, part), dot ? dot + 1 : "", fn, ctx, depth + 1);
}

static reslist *type_list(km_snap *s, const char *type) {
    reslist *l = km_hmap_get(&s->types, type, strlen(type));
    if (l) return l;
    l = km_arena_alloc(&s->arena, sizeof *l);
    const char *k = intern_name(s, type);
    if (!l || !k || km_hmap_put(&s->types, k, strlen(k), l)) return NULL;
    return l;
}

static km_res *add_res(km_snap *s, km_res *proto) {
    char *dk = NULL;
    size_t dkl = 0;
    if (proto->arn) {
        /* One resource per account and ARN: an organisation trail is seen from the management
         * account and from each member, with each account's own per-trail answers. */
        dk = joinkey(s, &dkl, proto->account, proto->arn, NULL, NULL, NULL);
        if (!dk) goto nomem;
        km_res *old = dk ? km_hmap_get(&s->dedupe, dk, dkl) : NULL;
        if (old) {
            /* The same resource seen by another call: keep its configuration as a view. */
            if (!proto->from_config && old->nviews < KM_RES_MAX_VIEWS && proto->cfg != old->cfg)
                old->views[old->nviews++] = proto->cfg;
            return NULL;
        }
    }
    km_res *r = km_arena_alloc(&s->arena, sizeof *r);
    reslist *l = type_list(s, proto->type);
    if (!r || !l) goto nomem;
    *r = *proto;
    if (l->n >= l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 16;
        const km_res **nv = realloc(l->v, nc * sizeof *nv);
        if (!nv) goto nomem;
        l->v = nv;
        l->cap = nc;
    }
    l->v[l->n++] = r;
    if (dk && km_hmap_put(&s->dedupe, dk, dkl, r)) goto nomem;
    if (r->arn) {
        /* the owner's view wins the ARN lookup, else the first seen */
        km_res *first = km_hmap_get(&s->arns, r->arn, strlen(r->arn));
        char owner[32];
        km_arn_field(r->arn, 4, owner, sizeof owner);
        if ((!first || (strcmp(first->account, owner) && !strcmp(r->account, owner))) &&
            km_hmap_put(&s->arns, r->arn, strlen(r->arn), r))
            goto nomem;
    }
    return r;
nomem:
    /* a resource left out would change the audit without a word: km_snap_oom tells the run */
    s->oom = 1;
    return NULL;
}

typedef struct spec_ctx {
    const spec *sp;
    const entry *e;
} spec_ctx;

static void spec_item(km_snap *s, const km_json *item, void *vctx) {
    spec_ctx *c = vctx;
    const spec *sp = c->sp;
    const entry *e = c->e;
    char id[1024], name[1024], arn[2048], key[1024];
    if (expand(sp->id, item, e->account, e->region, id, sizeof id)) {
        problem(s, "%s: byte %zu: a %s item without %s; skipped", e->item.file,
                item->offset - e->item.base, sp->type, sp->id);
        return;
    }
    km_res r = {0};
    r.type = sp->type;
    r.id = km_snap_intern(s, id);
    r.name = expand(sp->name, item, e->account, e->region, name, sizeof name) ? r.id
             : r.id && !strcmp(r.id, name)                               ? r.id
                                                                         : km_snap_intern(s, name);
    r.arn = expand(sp->arn, item, e->account, e->region, arn, sizeof arn) ? NULL : km_snap_intern(s, arn);
    r.account = e->account;
    r.region = e->region;
    r.cfg = item;
    r.file = e->item.file;
    r.base = e->item.base;
    r.data_region = e->region;
    /* AWS's own example of get-account-authorization-details gives a group's
     * AttachedManagedPolicies as one object: the checks read it as a list of one, and the odd
     * shape is reported like the others. */
    const km_json *amp = km_ci_get(item, "AttachedManagedPolicies");
    if (amp && amp->type == KM_JSON_OBJECT)
        problem(s, "%s: byte %zu: AttachedManagedPolicies of %s %s is one object, not a list; read as a list of one",
                e->item.file, amp->offset - e->item.base, sp->type, id);
    if (sp->per_key) r.key = e->key;
    else if (sp->key && !expand(sp->key, item, e->account, e->region, key, sizeof key)) r.key = km_snap_intern(s, key);
    r.tags = km_ci_get(item, "Tags");
    if (!r.tags) r.tags = km_ci_get(item, "TagList");
    if (!strcmp(sp->type, "AWS::S3::Bucket") && r.key) {
        km_item loc = km_snap_get(s, r.account, r.data_region, "s3api", "get-bucket-location", r.key);
        if (loc.status == KM_DATA_OK) {
            const km_json *lc = km_ci_get(loc.json, "LocationConstraint");
            const char *reg = km_json_str(lc);
            if (!reg || !*reg) reg = "us-east-1";
            else if (!strcmp(reg, "EU")) reg = "eu-west-1";
            r.region = intern_name(s, reg);
        } else {
            const char *reg = km_json_str(km_ci_get(item, "BucketRegion"));
            if (reg) r.region = intern_name(s, reg);
        }
    }
    if (!strcmp(sp->type, "AWS::CloudTrail::Trail")) {
        const char *home = km_json_str(km_ci_get(item, "HomeRegion"));
        if (home) r.region = intern_name(s, home);
    }
    if (!strcmp(sp->type, "AWS::Logs::LogGroup") && r.arn && km_str_ends(r.arn, ":*")) {
        size_t l = strlen(r.arn);
        char *a = km_arena_strndup(&s->arena, r.arn, l - 2);
        if (a) r.arn = a;
    }
    add_res(s, &r);
}

static void set_listing(km_snap *s, const char *account, const char *region, const char *type, const km_item *it) {
    size_t kl;
    char *k = joinkey(s, &kl, account, region, type, NULL, NULL);
    if (!k) return;
    km_item *old = km_hmap_get(&s->listings, k, kl);
    if (old && old->status == KM_DATA_OK) return;
    km_item *n = km_arena_alloc(&s->arena, sizeof *n);
    if (!n) return;
    *n = *it;
    if (n->status == KM_DATA_ABSENT) {
        /* "not in use" for a listing (no organisation) means there are none */
        n->status = KM_DATA_OK;
    }
    km_hmap_put(&s->listings, k, kl, n);
}

static void config_items(km_snap *s, const pending_ci *p) {
    for (size_t i = 0; i < km_json_len(p->items); i++) {
        const km_json *ci = km_json_at(p->items, i);
        if (!ci || ci->type != KM_JSON_OBJECT) {
            problem(s, "%s: byte %zu: configuration item %zu is not an object; skipped", p->file,
                    ci ? ci->offset : 0, i);
            continue;
        }
        const char *st = km_ci_str(ci, "configurationItemStatus");
        if (st && (strstr(st, "Deleted") || !strcmp(st, "ResourceNotRecorded"))) continue;
        km_res r = {0};
        r.type = km_ci_str(ci, "resourceType");
        r.id = km_ci_str(ci, "resourceId");
        r.account = km_ci_str(ci, "awsAccountId");
        if (!r.account) r.account = km_ci_str(ci, "accountId");
        r.region = km_ci_str(ci, "awsRegion");
        if (!r.type || !r.id || !r.account || !km_is_account_id(r.account)) {
            problem(s, "%s: byte %zu: configuration item %zu lacks resourceType, resourceId or a 12-digit "
                       "awsAccountId; skipped", p->file, ci->offset, i);
            continue;
        }
        if (!r.region) r.region = "global";
        r.name = km_ci_str(ci, "resourceName");
        if (!r.name) r.name = r.id;
        r.arn = km_ci_str(ci, "ARN");
        const km_json *cfg = km_ci_get(ci, "configuration");
        if (cfg && cfg->type == KM_JSON_STRING) {
            const char *why;
            const km_json *d = km_snap_embedded(s, cfg, &why);
            if (!d) problem(s, "%s: byte %zu: the configuration of %s %s is not JSON (%s)", p->file,
                            cfg->offset, r.type, r.id, why ? why : "?");
            cfg = d;
        }
        r.cfg = cfg && cfg->type == KM_JSON_OBJECT ? cfg : NULL;
        if (!r.cfg) {
            static const km_json empty = {KM_JSON_OBJECT, 0, 0, {.obj = {NULL, 0}}};
            r.cfg = &empty;
        }
        r.supp = km_ci_get(ci, "supplementaryConfiguration");
        r.tags = km_ci_get(ci, "tags");
        r.file = p->file;
        r.from_config = 1;
        r.data_region = r.region;
        int64_t t;
        if (km_parse_time(km_ci_get(ci, "configurationItemCaptureTime"), &t) == 0 && t > s->time) s->time = t;
        sacct *a = get_acct(s, r.account);
        if (!a) continue;
        r.account = a->id;
        add_region(s, a, r.region);
        r.type = intern_name(s, r.type);
        add_res(s, &r);
    }
}

int km_snap_oom(const km_snap *s) { return s && s->oom; }

int km_snap_finish(km_snap *s, km_error *err) {
    if (s->finished) return KM_OK;
    s->finished = 1;
    for (size_t i = 0; i < s->nall; i++) {
        const entry *e = s->all[i];
        for (size_t k = 0; k < sizeof specs / sizeof specs[0]; k++) {
            const spec *sp = &specs[k];
            if (!e->service || !e->op || strcmp(sp->service, e->service) || strcmp(sp->op, e->op)) continue;
            if (sp->per_key != (e->key != NULL)) continue;
            if (!sp->per_key) set_listing(s, e->account, e->region, sp->type, &e->item);
            if (e->item.status != KM_DATA_OK) continue;
            const km_json *root = e->item.json;
            if (!sp->per_key && !km_ci_get(root, sp->items) && !strchr(sp->items, '.')) {
                problem(s, "%s: expected an object with \"%s\" (the answer of %s %s); its %s are unknown",
                        e->item.file, sp->items, sp->service, sp->op, sp->type);
                km_item bad = e->item;
                bad.status = KM_DATA_ERROR;
                bad.message = "unexpected shape";
                size_t kl;
                char *key = joinkey(s, &kl, e->account, e->region, sp->type, NULL, NULL);
                km_item *n = km_arena_alloc(&s->arena, sizeof *n);
                if (key && n) { *n = bad; km_hmap_put(&s->listings, key, kl, n); }
                continue;
            }
            spec_ctx c = {sp, e};
            walk_items(s, root, sp->items, spec_item, &c, 0);
        }
    }
    for (size_t i = 0; i < s->ncis; i++) config_items(s, &s->cis[i]);
    if (s->naccts) qsort(s->accts, s->naccts, sizeof *s->accts, cmp_acct);
    for (size_t i = 0; i < s->naccts; i++)
        if (s->accts[i].nregions) qsort(s->accts[i].regions, s->accts[i].nregions, sizeof *s->accts[i].regions, cmp_str);
    if (s->dropped_problems) {
        size_t d = s->dropped_problems;
        s->dropped_problems = 0;
        s->nproblems = MAX_PROBLEMS - 1 < s->nproblems ? MAX_PROBLEMS - 1 : s->nproblems;
        problem(s, "... and %zu more problems not listed", d);
    }
    (void)err;
    return KM_OK;
}
