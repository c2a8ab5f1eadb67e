/* The matcher: every pattern compiled into shared per-field indexes, so the work per event
 * grows with the event's used values, not with the number of patterns.
 *
 *   event bytes --flatten.c--> (field, value, array element) for fields some pattern names
 *     --per-field indexes--> hits on (sub-rule, slot): hash tables for exact strings, literals,
 *        numbers, ignore-case ASCII strings; prefix/suffix tables by length (also the literal
 *        head or tail of wildcards, verified after); a short list for the rest
 *     --counting--> a sub-rule whose required slots are all hit is a candidate
 *     --verification--> direct when at most one of its fields has values inside arrays,
 *        otherwise the exact array-consistent search (event-ruler's semantics, docs/matcher.md)
 *
 * Sub-rules with no required slot (only exists:false, or exists:false OR values) are checked on
 * every event. Deleting marks sub-rules dead; the indexes are rebuilt when half are dead. */
#include "kumomori/match.h"
#include "match/internal.h"
#include "match/kept.h"
#include "util/limits.h"

#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* ---- small hash map: bytes -> list of targets ------------------------------------------- */

typedef struct target {
    uint32_t sub;
    uint32_t slot;        /* global slot index */
    const km_vm *verify;  /* check the value with this matcher first (index is only a filter) */
} target;

/* Targets of one index key; most keys have one, kept inline (the index is probed on every
 * event, and with thousands of patterns each pointer followed is a cache miss). */
typedef struct tlist {
    target t0;
    target *more; /* all targets when n > 1 */
    uint32_t n, cap;
} tlist;

static inline const target *tl_items(const tlist *l) { return l->n <= 1 ? &l->t0 : l->more; }

typedef struct hent {
    uint64_t h;
    uint32_t klen;
    uint32_t used;
    union {
        char in[16]; /* keys of up to 16 bytes live in the entry */
        char *p;
    } key;
    tlist l;
} hent;

typedef struct hmap {
    hent *e;
    size_t cap, n;
    uint64_t *bloom; /* two bits per key: most probes are for keys no pattern has, and the
                        filter answers them from cache without touching the big table */
    size_t bloom_bits;
} hmap;

static inline const char *hent_key(const hent *e) { return e->klen <= 16 ? e->key.in : e->key.p; }

static inline uint64_t load64(const unsigned char *s) {
    uint64_t x;
    memcpy(&x, s, 8);
    return x;
}

static inline uint32_t load32(const unsigned char *s) {
    uint32_t x;
    memcpy(&x, s, 4);
    return x;
}

/* Fixed-size loads only (short keys are the common case). */
static uint64_t hash_bytes(const void *p, size_t n) {
    const unsigned char *s = p;
    uint64_t h = 0x243F6A8885A308D3ull ^ (n * 0x9E3779B97F4A7C15ull);
    size_t len = n;
    while (n > 8) {
        h = (h ^ load64(s)) * 0xFF51AFD7ED558CCDull;
        h ^= h >> 32;
        s += 8;
        n -= 8;
    }
    uint64_t x;
    if (len >= 8) x = load64(s + n - 8); /* the last 8 bytes, overlapping what came before */
    else if (n >= 4) x = (uint64_t)load32(s) << 32 | load32(s + n - 4);
    else if (n > 0) x = (uint64_t)s[0] << 16 | (uint64_t)s[n / 2] << 8 | s[n - 1];
    else x = 0;
    h = (h ^ x) * 0xC4CEB9FE1A85EC53ull;
    h ^= h >> 29;
    return h;
}

static int tl_add(tlist *l, target t) {
    if (l->n == 0) {
        l->t0 = t;
        l->n = 1;
        return 0;
    }
    if (l->n == 1 && !l->more) {
        l->more = malloc(4 * sizeof *l->more);
        if (!l->more) return -1;
        l->cap = 4;
        l->more[0] = l->t0;
    } else if (l->n == l->cap) {
        uint32_t nc = l->cap * 2;
        target *nt = realloc(l->more, nc * sizeof *nt);
        if (!nt) return -1;
        l->more = nt;
        l->cap = nc;
    }
    l->more[l->n++] = t;
    return 0;
}

static const hent *hm_find(const hmap *m, const void *key, size_t klen, uint64_t h) {
    if (!m->n) return NULL;
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        const hent *e = &m->e[i];
        if (!e->used) return NULL;
        if (e->h == h && e->klen == klen && memcmp(hent_key(e), key, klen) == 0) return e;
    }
}

static inline int bloom_maybe(const hmap *m, uint64_t h) {
    size_t mask = m->bloom_bits - 1, a = h & mask, b = (h >> 32) & mask;
    return (m->bloom[a / 64] >> (a % 64) & 1) && (m->bloom[b / 64] >> (b % 64) & 1);
}

static inline void bloom_set(uint64_t *bl, size_t bits, uint64_t h) {
    size_t mask = bits - 1, a = h & mask, b = (h >> 32) & mask;
    bl[a / 64] |= 1ull << (a % 64);
    bl[b / 64] |= 1ull << (b % 64);
}

static const tlist *hm_get(const hmap *m, const void *key, size_t klen, uint64_t h) {
    if (!m->n || (m->bloom && !bloom_maybe(m, h))) return NULL;
    const hent *e = hm_find(m, key, klen, h);
    return e ? &e->l : NULL;
}

static int hm_grow(hmap *m) {
    size_t nc = m->cap ? m->cap * 2 : 16;
    hent *ne = calloc(nc, sizeof *ne);
    if (!ne) return -1;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->e[i].used) continue;
        size_t j = m->e[i].h & (nc - 1);
        while (ne[j].used) j = (j + 1) & (nc - 1);
        ne[j] = m->e[i];
    }
    free(m->e);
    m->e = ne;
    m->cap = nc;
    /* about 16 bits per key at the fill this table will reach */
    size_t bits = 1024;
    while (bits < nc * 12) bits *= 2;
    uint64_t *bl = calloc(bits / 64, sizeof *bl);
    if (!bl) return -1;
    for (size_t i = 0; i < nc; i++)
        if (ne[i].used) bloom_set(bl, bits, ne[i].h);
    free(m->bloom);
    m->bloom = bl;
    m->bloom_bits = bits;
    return 0;
}

/* The entry for key, created empty when missing; NULL when out of memory. */
static hent *hm_entry(hmap *m, const void *key, size_t klen) {
    uint64_t h = hash_bytes(key, klen);
    hent *e = (hent *)hm_find(m, key, klen, h);
    if (e) return e;
    if ((m->n + 1) * 4 > m->cap * 3 && hm_grow(m)) return NULL;
    size_t j = h & (m->cap - 1);
    while (m->e[j].used) j = (j + 1) & (m->cap - 1);
    e = &m->e[j];
    memset(e, 0, sizeof *e);
    if (klen > 16) {
        e->key.p = malloc(klen);
        if (!e->key.p) return NULL;
        memcpy(e->key.p, key, klen);
    } else if (klen) {
        memcpy(e->key.in, key, klen);
    }
    e->h = h;
    e->klen = (uint32_t)klen;
    e->used = 1;
    m->n++;
    bloom_set(m->bloom, m->bloom_bits, h);
    return e;
}

static int hm_add(hmap *m, const void *key, size_t klen, target t) {
    hent *e = hm_entry(m, key, klen);
    return e ? tl_add(&e->l, t) : -1;
}

static void hm_free(hmap *m) {
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->e[i].used) continue;
        if (m->e[i].klen > 16) free(m->e[i].key.p);
        free(m->e[i].l.more);
    }
    free(m->e);
    free(m->bloom);
    memset(m, 0, sizeof *m);
}

/* ---- interval index: which closed intervals [lo, hi] of 128-bit keys contain a key ------------
 * Numbers (mapped to order-preserving integers), IPv4 and IPv6 addresses use it for numeric
 * ranges, cidr blocks and address literals. Intervals sorted by lo carry a max-hi segment tree;
 * new intervals wait in a short unsorted tail until it is worth re-sorting. */
typedef unsigned __int128 u128;

typedef struct ival {
    u128 lo, hi;
    tlist l;
} ival;

typedef struct ivindex {
    ival *iv;
    u128 *lo;   /* lo of the sorted intervals, compact for the binary search */
    size_t n, cap, nsorted;
    u128 *tree; /* max hi over sorted intervals, implicit binary tree, leaves at [P, 2P) */
    size_t P;
} ivindex;

static int iv_cmp(const void *a, const void *b) {
    const ival *x = a, *y = b;
    if (x->lo != y->lo) return x->lo < y->lo ? -1 : 1;
    return x->hi < y->hi ? -1 : x->hi > y->hi;
}

static int iv_resort(ivindex *x) {
    qsort(x->iv, x->n, sizeof *x->iv, iv_cmp);
    size_t P = 1;
    while (P < x->n) P *= 2;
    u128 *t = calloc(2 * P, sizeof *t);
    if (!t) return -1;
    for (size_t i = 0; i < x->n; i++) t[P + i] = x->iv[i].hi;
    for (size_t i = P - 1; i >= 1; i--) t[i] = t[2 * i] > t[2 * i + 1] ? t[2 * i] : t[2 * i + 1];
    u128 *lo = malloc((x->n ? x->n : 1) * sizeof *lo);
    if (!lo) {
        free(t);
        return -1;
    }
    for (size_t i = 0; i < x->n; i++) lo[i] = x->iv[i].lo;
    free(x->lo);
    x->lo = lo;
    free(x->tree);
    x->tree = t;
    x->P = P;
    x->nsorted = x->n;
    return 0;
}

static int iv_add(ivindex *x, u128 lo, u128 hi, target t) {
    if (lo > hi) return 0; /* empty (e.g. > MAX) */
    for (size_t i = 0; i < x->n; i++) /* same interval: one more target (linear: adds are rare) */
        if (x->iv[i].lo == lo && x->iv[i].hi == hi) return tl_add(&x->iv[i].l, t);
    if (x->n == x->cap) {
        size_t nc = x->cap ? x->cap * 2 : 8;
        ival *ni = realloc(x->iv, nc * sizeof *ni);
        if (!ni) return -1;
        x->iv = ni;
        x->cap = nc;
    }
    memset(&x->iv[x->n], 0, sizeof x->iv[x->n]);
    x->iv[x->n].lo = lo;
    x->iv[x->n].hi = hi;
    if (tl_add(&x->iv[x->n].l, t)) return -1;
    x->n++;
    /* every query scans the tail: keep it short (re-sorting is O(n log n) per 32 adds) */
    if (x->n - x->nsorted > 32) return iv_resort(x);
    return 0;
}

static void iv_free(ivindex *x) {
    for (size_t i = 0; i < x->n; i++) free(x->iv[i].l.more);
    free(x->iv);
    free(x->lo);
    free(x->tree);
    memset(x, 0, sizeof *x);
}

/* ordered integer key of a double (-0 and +0 are one key) */
static u128 num_key(double d) {
    if (d == 0) d = 0.0;
    uint64_t b;
    memcpy(&b, &d, 8);
    b = (b >> 63) ? ~b : b | (1ull << 63);
    return b;
}

static u128 ip_key(const uint8_t *ip, int len) {
    u128 k = 0;
    for (int i = 0; i < len; i++) k = k << 8 | ip[i];
    return k;
}

/* ---- the compiled matcher ---------------------------------------------------------------- */

typedef struct gen_vm {
    const km_vm *vm;
    target t;
} gen_vm;

typedef struct fidx {
    /* What match_value reads for every value comes first, together: the struct is over a
     * kilobyte (the byte maps), and with the counts spread through it a value touched eight to ten
     * of its cache lines; now a string value touches the first few. */
    hmap exact;        /* strings */
    hmap eic;          /* ASCII equals-ignore-case: lower-cased */
    uint64_t eic_lens; /* bit (length % 64) of each eic key: most values (a long userAgent
                          against 'TruffleHog') need no folding at all */
    size_t nplen, nslen, nwcl, ngen;
    int pempty, sempty; /* an empty prefix / suffix (matches every string) */
    tlist exists;
    ivindex ip4, ip6, num; /* cidr blocks and address literals; numeric ranges */
    size_t *plen, *slen;
    uint32_t (*wcl)[2]; /* the distinct (head, tail) lengths of the wildcards in wc */
    gen_vm *gen;
    size_t capgen;
    hmap literal; /* raw text of numbers, true, false, null */
    hmap numeq;   /* comparable numbers: 8 bytes of the double */
    hmap prefix;  /* starts-with (PREFIX without '"', literal head of wildcards) */
    hmap suffix;  /* ends-with */
    /* wildcards with a literal head and tail, keyed by both ends at once (km_wc_key): the head
       alone is shared by many patterns ("143*..."), the pair hardly ever */
    hmap wc;
    char *name;
    size_t name_len;
    uint8_t pfirst[256], slast[256]; /* some prefix starts / suffix ends with this byte */
} fidx;

/* How a value gives one part of a combined key: the whole string, lower-cased (ASCII
 * equals-ignore-case), or its first / last len bytes. */
enum { PK_EXACT, PK_EIC, PK_PREFIX, PK_SUFFIX };
typedef struct pkey {
    uint32_t field;
    uint32_t mode;
    uint32_t len;
} pkey;

/* Sub-rules whose most selective single test is shared by many patterns (the same street in a
 * thousand patterns) are found through two of their fields at once: a key made of both
 * values' parts. single holds the first part alone, used when an event has so many values in
 * the two fields that trying every pair would cost more. */
typedef struct combo {
    pkey a, b;
    hmap pair, single;
} combo;

enum { SLOT_REQUIRED = 0, SLOT_ABSENT = 1, SLOT_EITHER = 2 };

typedef struct slot {
    uint32_t field;
    uint8_t kind;
    const km_pfield *pf; /* the pattern's field (its matchers), for verification */
} slot;

typedef struct sub {
    uint32_t entry;  /* pattern entry (id) it belongs to */
    uint32_t slot0;
    uint32_t nslots;
    uint32_t anchor; /* global slot whose hits make the sub-rule a candidate, or UINT32_MAX */
    uint8_t dead;
    const km_subrule *sr;
} sub;

typedef struct entry {
    uint32_t id;
    uint8_t dead;
    km_pattern *p;
} entry;

struct km_matcher {
    km_match_limits lim;
    entry *e;
    size_t ne, cape, ndead_entries;
    sub *subs;
    size_t nsubs, capsubs, ndead;
    slot *slots;
    size_t nslots, capslots;
    fidx *f;
    size_t nf, capf;
    hmap fieldmap; /* name -> field id (stored as target.sub) */
    km_names names;
    uint32_t *always; /* sub-rules with no required slot */
    size_t nalways, capalways;
    hmap pop;          /* how many required fields of live patterns use each (field, test) */
    combo *cb;
    size_t ncb, capcb;
    size_t nsubs_built; /* sub-rules when the indexes were last rebuilt */
    /* fields kept for the caller (match/kept.h): names, and the field id of each (ids change
     * when the indexes are rebuilt); field_kept maps a field id to its handle + 1, or 0 */
    char **kept_name;
    size_t nkept;
    uint32_t *kept_field;
    uint32_t *field_kept;
    size_t cap_field_kept;
    /* per field id: 1 when the field is only kept for the caller (no pattern reads it: its values
     * are not matched). A byte array of its own rather than a flag in fidx: the match loop reads it
     * for every value, and fidx is over a kilobyte (a cache miss per value of a kept field). */
    uint8_t *fpassive;
    size_t cap_fpassive;
};

struct km_match_scratch {
    km_flat flat;
    uint32_t gen;
    uint32_t *slot_gen, *field_gen, *field_arr, *entry_gen;
    size_t cap_slot_gen, cap_field_gen, cap_field_arr, cap_entry_gen;
    uint32_t *cand;
    size_t ncand, capcand;
    uint32_t *ids;
    size_t nids, capids;
    uint32_t *field_head; /* per field: its last value (chain through vnext), valid when field_gen */
    size_t cap_field_head;
    uint32_t *vnext;
    size_t capvnext;
    size_t *chosen;
    size_t capchosen;
    char *low;       /* lower-cased value for the ignore-case table */
    size_t caplow;
    char *pk;        /* combined keys (combos, wildcard ends) */
    size_t cappk;
};

static int grow(void **p, size_t *cap, size_t need, size_t sz) {
    if (need <= *cap) return 0;
    size_t nc = *cap ? *cap : 16;
    while (nc < need) nc *= 2;
    void *np = realloc(*p, nc * sz);
    if (!np) return -1;
    *p = np;
    *cap = nc;
    return 0;
}

km_matcher *km_matcher_new(void) {
    km_matcher *m = calloc(1, sizeof *m);
    if (m) km_names_init(&m->names);
    return m;
}

static void fidx_free(fidx *f) {
    free(f->name);
    hm_free(&f->exact);
    hm_free(&f->literal);
    hm_free(&f->numeq);
    hm_free(&f->eic);
    hm_free(&f->prefix);
    hm_free(&f->suffix);
    free(f->plen);
    free(f->slen);
    free(f->exists.more);
    iv_free(&f->num);
    iv_free(&f->ip4);
    iv_free(&f->ip6);
    free(f->gen);
    hm_free(&f->wc);
    free(f->wcl);
}

/* Drops every index (not the patterns). */
static void clear_indexes(km_matcher *m) {
    for (size_t i = 0; i < m->nf; i++) fidx_free(&m->f[i]);
    free(m->f);
    m->f = NULL;
    m->nf = m->capf = 0;
    free(m->subs);
    m->subs = NULL;
    m->nsubs = m->capsubs = m->ndead = 0;
    free(m->slots);
    m->slots = NULL;
    m->nslots = m->capslots = 0;
    hm_free(&m->fieldmap);
    hm_free(&m->pop);
    km_names_free(&m->names);
    km_names_init(&m->names);
    for (size_t i = 0; i < m->ncb; i++) {
        hm_free(&m->cb[i].pair);
        hm_free(&m->cb[i].single);
    }
    free(m->cb);
    m->cb = NULL;
    m->ncb = m->capcb = 0;
    free(m->always);
    m->always = NULL;
    m->nalways = m->capalways = 0;
}

void km_matcher_free(km_matcher *m) {
    if (!m) return;
    clear_indexes(m);
    for (size_t i = 0; i < m->nkept; i++) free(m->kept_name[i]);
    free(m->kept_name);
    free(m->kept_field);
    free(m->field_kept);
    free(m->fpassive);
    for (size_t i = 0; i < m->ne; i++) km_pattern_free(m->e[i].p);
    free(m->e);
    free(m);
}

void km_matcher_set_limits(km_matcher *m, const km_match_limits *lim) {
    if (m && lim) m->lim = *lim;
}

int km_pattern_check(const char *pattern, size_t len, km_error *err) {
    return km_pattern_check_flags(pattern, len, 0, err);
}

int km_pattern_check_flags(const char *pattern, size_t len, unsigned flags, km_error *err) {
    km_pattern *p = km_pattern_compile(pattern, len, flags, err);
    if (!p) return err && err->code ? err->code : KM_ERR;
    km_pattern_free(p);
    return KM_OK;
}

static int32_t field_id(km_matcher *m, const km_str *name) {
    uint64_t h = hash_bytes(name->s, name->len);
    const tlist *l = hm_get(&m->fieldmap, name->s, name->len, h);
    if (l) {
        m->fpassive[l->t0.sub] = 0; /* a pattern reads it (keep_field marks its own) */
        return (int32_t)l->t0.sub;
    }
    if (grow((void **)&m->f, &m->capf, m->nf + 1, sizeof *m->f) ||
        grow((void **)&m->fpassive, &m->cap_fpassive, m->nf + 1, sizeof *m->fpassive))
        return -1;
    m->fpassive[m->nf] = 0;
    fidx *f = &m->f[m->nf];
    memset(f, 0, sizeof *f);
    f->name = malloc(name->len + 1);
    if (!f->name) return -1;
    memcpy(f->name, name->s, name->len);
    f->name[name->len] = 0;
    f->name_len = name->len;
    uint32_t id = (uint32_t)m->nf;
    /* harden helper: out of memory leaves no half-added field. The name tree first: on failure
     * the slot is not taken (its name freed); once the tree maps the name to id the slot must stay
     * taken, or the next field would get the same id. */
    if (km_names_add_field(&m->names, name->s, name->len, id)) {
        free(f->name);
        f->name = NULL;
        return -1;
    }
    m->nf++;
    if (hm_add(&m->fieldmap, name->s, name->len, (target){id, 0, NULL})) return -1;
    return (int32_t)id;
}

static int add_len(size_t **arr, size_t *n, size_t len) {
    for (size_t i = 0; i < *n; i++)
        if ((*arr)[i] == len) return 0;
    size_t *na = realloc(*arr, (*n + 1) * sizeof *na);
    if (!na) return -1;
    na[(*n)++] = len;
    /* keep sorted so lookups stop at the value's length */
    for (size_t i = *n - 1; i > 0 && na[i - 1] > na[i]; i--) {
        size_t t = na[i];
        na[i] = na[i - 1];
        na[i - 1] = t;
    }
    *arr = na;
    return 0;
}

static int is_ascii(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] >= 0x80) return 0;
    return 1;
}

static char *lower_ascii(const char *s, size_t n) {
    char *o = malloc(n + 1);
    if (!o) return NULL;
    for (size_t i = 0; i < n; i++) o[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] + 32) : s[i];
    o[n] = 0;
    return o;
}

static int add_general(fidx *f, const km_vm *vm, target t) {
    if (f->ngen == f->capgen) {
        size_t nc = f->capgen ? f->capgen * 2 : 4;
        gen_vm *ng = realloc(f->gen, nc * sizeof *ng);
        if (!ng) return -1;
        f->gen = ng;
        f->capgen = nc;
    }
    f->gen[f->ngen++] = (gen_vm){vm, t};
    return 0;
}

/* Literal text of a wildcard's head (before the first unescaped '*') or tail; returns the
 * unescaped text (malloc'd) or NULL when none / out of memory (*oom set). */
static char *wildcard_part(const km_str *w, int tail, size_t *outlen, int *has_star) {
    /* unescape into elements: -1 star */
    char *buf = malloc(w->len + 1);
    if (!buf) return NULL;
    size_t first_star = (size_t)-1, last_star = (size_t)-1, n = 0;
    int *isstar = malloc((w->len + 1) * sizeof *isstar);
    if (!isstar) { free(buf); return NULL; }
    for (size_t i = 0; i < w->len; i++) {
        if (w->s[i] == '*') {
            if (first_star == (size_t)-1) first_star = n;
            last_star = n;
            isstar[n] = 1;
            buf[n++] = '*';
            continue;
        }
        char c = w->s[i];
        if (c == '\\' && i + 1 < w->len) c = w->s[++i];
        isstar[n] = 0;
        buf[n++] = c;
    }
    *has_star = first_star != (size_t)-1;
    char *out = NULL;
    if (!*has_star) {
        out = buf;
        *outlen = n;
        buf = NULL;
    } else if (!tail && first_star > 0) {
        out = malloc(first_star + 1);
        if (out) { memcpy(out, buf, first_star); out[first_star] = 0; *outlen = first_star; }
    } else if (tail && last_star + 1 < n) {
        size_t k = n - last_star - 1;
        out = malloc(k + 1);
        if (out) { memcpy(out, buf + last_star + 1, k); out[k] = 0; *outlen = k; }
    }
    free(buf);
    free(isstar);
    return out;
}

static void mark_prefix(fidx *f, const char *p, size_t n) {
    if (n == 0) f->pempty = 1;
    else f->pfirst[(unsigned char)p[0]] = 1;
}

static void mark_suffix(fidx *f, const char *p, size_t n) {
    if (n == 0) f->sempty = 1;
    else f->slast[(unsigned char)p[n - 1]] = 1;
}

/* Appends len bytes at p to the key being built in (*buf, *n), lower-cased (ASCII) if asked. */
static int key_put(char **buf, size_t *cap, size_t *n, const char *p, size_t len, int lower) {
    if (grow((void **)buf, cap, *n + len + 4, 1)) return -1;
    char *o = *buf + *n;
    if (lower)
        for (size_t i = 0; i < len; i++) o[i] = (p[i] >= 'A' && p[i] <= 'Z') ? (char)(p[i] + 32) : p[i];
    else if (len)
        memcpy(o, p, len);
    *n += len;
    return 0;
}

/* Two parts joined with the first one's length in front, so that "ab"+"c" and "a"+"bc" are
 * different keys. Returns the key's length, or 0 when out of memory. */
static size_t key2(char **buf, size_t *cap, const char *a, size_t al, int alow, const char *b, size_t bl, int blow) {
    size_t n = 0;
    uint32_t l32 = (uint32_t)al;
    if (key_put(buf, cap, &n, (const char *)&l32, 4, 0) || key_put(buf, cap, &n, a, al, alow) ||
        key_put(buf, cap, &n, b, bl, blow))
        return 0;
    return n;
}

static int index_ip(fidx *f, const km_vm *vm, target t) {
    ivindex *x = vm->ip_len == 4 ? &f->ip4 : &f->ip6;
    return iv_add(x, ip_key(vm->ip_lo, vm->ip_len), ip_key(vm->ip_hi, vm->ip_len), t);
}

static int index_vm(fidx *f, const km_vm *vm, target t) {
    switch (vm->kind) {
    case KM_VM_STRING:
        if (vm->is_ip) return index_ip(f, vm, t);
        return hm_add(&f->exact, vm->str.s, vm->str.len, t);
    case KM_VM_CIDR:
        return index_ip(f, vm, t);
    case KM_VM_NUM_RANGE: {
        u128 lo = num_key(vm->lo) + (vm->lo_open ? 1 : 0), hi = num_key(vm->hi);
        if (vm->hi_open) {
            if (hi == 0) return 0;
            hi--;
        }
        return iv_add(&f->num, lo, hi, t);
    }
    case KM_VM_LITERAL:
        if (hm_add(&f->literal, vm->str.s, vm->str.len, t)) return -1;
        if (vm->num_ok) {
            double d = vm->d == 0 ? 0.0 : vm->d;
            if (hm_add(&f->numeq, &d, sizeof d, t)) return -1;
        }
        return 0;
    case KM_VM_PREFIX:
        if (memchr(vm->str.s, '"', vm->str.len)) return add_general(f, vm, t);
        if (add_len(&f->plen, &f->nplen, vm->str.len)) return -1;
        mark_prefix(f, vm->str.s, vm->str.len);
        return hm_add(&f->prefix, vm->str.s, vm->str.len, t);
    case KM_VM_SUFFIX:
        if (memchr(vm->str.s, '"', vm->str.len)) return add_general(f, vm, t);
        if (add_len(&f->slen, &f->nslen, vm->str.len)) return -1;
        mark_suffix(f, vm->str.s, vm->str.len);
        return hm_add(&f->suffix, vm->str.s, vm->str.len, t);
    case KM_VM_EIC:
        if (is_ascii(vm->str.s, vm->str.len) && !memchr(vm->str.s, '"', vm->str.len)) {
            char *low = lower_ascii(vm->str.s, vm->str.len);
            if (!low) return -1;
            int rc = hm_add(&f->eic, low, vm->str.len, t);
            f->eic_lens |= 1ull << (vm->str.len & 63);
            free(low);
            return rc;
        }
        return add_general(f, vm, t);
    case KM_VM_WILDCARD: {
        size_t hl = 0, tl = 0;
        int star = 0;
        char *head = wildcard_part(&vm->str, 0, &hl, &star);
        if (!star) {
            /* no star: an exact string */
            if (!head) return -1;
            int rc = hm_add(&f->exact, head, hl, t);
            free(head);
            return rc;
        }
        char *tail = wildcard_part(&vm->str, 1, &tl, &star);
        if (head && tail) {
            /* both ends literal: index under the pair */
            char *kb = NULL;
            size_t kcap = 0, kl = key2(&kb, &kcap, head, hl, 0, tail, tl, 0);
            int rc = kl == 0;
            size_t i = 0;
            while (!rc && i < f->nwcl && !(f->wcl[i][0] == hl && f->wcl[i][1] == tl)) i++;
            if (!rc && i == f->nwcl) {
                uint32_t(*nw)[2] = realloc(f->wcl, (f->nwcl + 1) * sizeof *nw);
                if (!nw) rc = 1;
                else {
                    f->wcl = nw;
                    f->wcl[f->nwcl][0] = (uint32_t)hl;
                    f->wcl[f->nwcl][1] = (uint32_t)tl;
                    f->nwcl++;
                }
            }
            t.verify = vm;
            if (!rc) rc = hm_add(&f->wc, kb, kl, t);
            free(kb);
            free(head);
            free(tail);
            return rc ? -1 : 0;
        }
        /* index under the longer literal end: it selects fewer candidates to verify */
        if (head && (!tail || hl >= tl)) {
            free(tail);
            t.verify = vm;
            mark_prefix(f, head, hl);
            int rc = add_len(&f->plen, &f->nplen, hl) || hm_add(&f->prefix, head, hl, t);
            free(head);
            return rc ? -1 : 0;
        }
        free(head);
        if (tail) {
            t.verify = vm;
            mark_suffix(f, tail, tl);
            int rc = add_len(&f->slen, &f->nslen, tl) || hm_add(&f->suffix, tail, tl, t);
            free(tail);
            return rc ? -1 : 0;
        }
        return add_general(f, vm, t);
    }
    case KM_VM_EXISTS:
        return tl_add(&f->exists, t);
    default:
        return add_general(f, vm, t);
    }
}

/* How many events a matcher is likely to accept (lower = more selective); a sub-rule is found
 * through its most selective required field (its anchor), the others are checked afterwards. */
static int vm_cost(const km_vm *vm) {
    switch (vm->kind) {
    case KM_VM_STRING: return vm->is_ip ? 3 : 1;
    case KM_VM_LITERAL: /* true, false, null say little; numbers much */
        return vm->str.s[0] == 't' || vm->str.s[0] == 'f' || vm->str.s[0] == 'n' ? 6 : 2;
    case KM_VM_EIC: return is_ascii(vm->str.s, vm->str.len) ? 2 : 7;
    case KM_VM_PREFIX:
    case KM_VM_SUFFIX: return vm->str.len >= 3 ? 3 : 5;
    case KM_VM_NUM_RANGE: return vm->lo == vm->hi ? 2 : 4;
    case KM_VM_CIDR: return 4;
    case KM_VM_WILDCARD: return 5;
    case KM_VM_WILDCARD_CI: return 6;
    case KM_VM_PREFIX_EIC:
    case KM_VM_SUFFIX_EIC: return 7;
    case KM_VM_EXISTS: return 9;
    default: return 10; /* anything-but: accepts nearly everything */
    }
}

/* Key of a matcher's test for the popularity count: field, kind and the value it tests. */
static size_t pop_key(char *buf, size_t cap, uint32_t field, const km_vm *vm) {
    size_t n = 0;
    memcpy(buf, &field, 4);
    buf[4] = (char)vm->kind;
    n = 5;
    if (vm->kind == KM_VM_NUM_RANGE) {
        memcpy(buf + n, &vm->lo, 8);
        memcpy(buf + n + 8, &vm->hi, 8);
        n += 16;
    } else if (vm->str.s) {
        size_t k = vm->str.len < cap - n ? vm->str.len : cap - n;
        memcpy(buf + n, vm->str.s, k);
        n += k;
    }
    return n;
}

/* Counter in a hmap: the entry's list capacity field holds the count (no target is stored). */
static uint32_t pop_get(const hmap *h, const char *k, size_t n) {
    const tlist *l = hm_get(h, k, n, hash_bytes(k, n));
    return l ? l->cap : 0;
}

static int pop_inc(hmap *h, const char *k, size_t n) {
    hent *e = hm_entry(h, k, n);
    if (!e) return -1;
    e->l.cap++;
    return 0;
}

static int log2u(uint32_t x) {
    int r = 0;
    while (x > 1) { x >>= 1; r++; }
    return r;
}

/* Count the required fields' tests of pattern entry ei. */
static int count_pattern(km_matcher *m, uint32_t ei) {
    const km_pattern *p = m->e[ei].p;
    char key[256];
    for (size_t s = 0; s < p->nsubs; s++) {
        const km_subrule *sr = &p->subs[s];
        for (size_t k = 0; k < sr->nfields; k++) {
            const km_pfield *pf = &sr->fields[k];
            if (pf->absent) continue;
            int32_t fid = field_id(m, &pf->name);
            if (fid < 0) return -1;
            for (size_t v = 0; v < pf->nvm; v++)
                if (pop_inc(&m->pop, key, pop_key(key, sizeof key, (uint32_t)fid, &pf->vms[v]))) return -1;
        }
    }
    return 0;
}

/* The part of a combined key a pattern field's single matcher gives, if it can give one. */
static int pk_of_vm(const km_vm *vm, uint32_t field, pkey *k) {
    switch (vm->kind) {
    case KM_VM_STRING:
        if (vm->is_ip) return 0;
        *k = (pkey){field, PK_EXACT, 0};
        return 1;
    case KM_VM_EIC:
        if (!is_ascii(vm->str.s, vm->str.len) || memchr(vm->str.s, '"', vm->str.len)) return 0;
        *k = (pkey){field, PK_EIC, 0};
        return 1;
    case KM_VM_PREFIX:
    case KM_VM_SUFFIX:
        if (memchr(vm->str.s, '"', vm->str.len)) return 0;
        *k = (pkey){field, vm->kind == KM_VM_PREFIX ? PK_PREFIX : PK_SUFFIX, (uint32_t)vm->str.len};
        return 1;
    default:
        return 0;
    }
}

/* Each kind of combined key costs a lookup or two per event whatever the patterns, so their
 * number is capped; past it, sub-rules are found through one field as before. */
#define COMBO_MAX 32
/* With few patterns a value is rarely shared and one lookup per field costs less than the
 * combined keys; they pay off once many patterns hold the same values. */
#define COMBO_MIN_PATTERNS 256

static int pkey_cmp(const pkey *a, const pkey *b) {
    if (a->field != b->field) return a->field < b->field ? -1 : 1;
    if (a->mode != b->mode) return a->mode < b->mode ? -1 : 1;
    return a->len < b->len ? -1 : a->len > b->len;
}

static int combo_find(const km_matcher *m, const pkey *a, const pkey *b) {
    for (size_t i = 0; i < m->ncb; i++)
        if (pkey_cmp(&m->cb[i].a, a) == 0 && pkey_cmp(&m->cb[i].b, b) == 0) return (int)i;
    return -1;
}

static int add_combo(km_matcher *m, const pkey *a, const km_vm *va, const pkey *b, const km_vm *vb, target t) {
    int ci = combo_find(m, a, b);
    size_t i = ci < 0 ? m->ncb : (size_t)ci;
    if (ci < 0) {
        if (grow((void **)&m->cb, &m->capcb, m->ncb + 1, sizeof *m->cb)) return -1;
        memset(&m->cb[i], 0, sizeof m->cb[i]);
        m->cb[i].a = *a;
        m->cb[i].b = *b;
        m->ncb++;
    }
    combo *cb = &m->cb[i];
    char *kb = NULL;
    size_t kcap = 0;
    size_t kl = key2(&kb, &kcap, va->str.s, va->str.len, a->mode == PK_EIC, vb->str.s, vb->str.len, b->mode == PK_EIC);
    int rc = kl == 0 || hm_add(&cb->pair, kb, kl, t);
    if (!rc) {
        size_t n = 0;
        rc = key_put(&kb, &kcap, &n, va->str.s, va->str.len, a->mode == PK_EIC) || hm_add(&cb->single, kb, n, t);
    }
    free(kb);
    return rc ? -1 : 0;
}

/* Index one compiled pattern under entry index ei. */
static int index_pattern(km_matcher *m, uint32_t ei) {
    const km_pattern *p = m->e[ei].p;
    for (size_t s = 0; s < p->nsubs; s++) {
        const km_subrule *sr = &p->subs[s];
        if (grow((void **)&m->subs, &m->capsubs, m->nsubs + 1, sizeof *m->subs)) return -1;
        if (grow((void **)&m->slots, &m->capslots, m->nslots + sr->nfields, sizeof *m->slots)) return -1;
        uint32_t si = (uint32_t)m->nsubs;
        sub *sb = &m->subs[si];
        *sb = (sub){ei, (uint32_t)m->nslots, (uint32_t)sr->nfields, UINT32_MAX, 0, sr};
        int best = 1 << 30;
        size_t anchor_k = 0;
        int pbest[2] = {1 << 30, 1 << 30}; /* the two best fields that can give a combined key */
        size_t pk_k[2] = {0, 0};
        pkey pks[2] = {{0}}; /* both set whenever pbest[1] is; initialised for the analysers */
        for (size_t k = 0; k < sr->nfields; k++) {
            const km_pfield *pf = &sr->fields[k];
            int32_t fid = field_id(m, &pf->name);
            if (fid < 0) return -1;
            uint8_t kind = pf->absent ? (pf->nvm ? SLOT_EITHER : SLOT_ABSENT) : SLOT_REQUIRED;
            m->slots[m->nslots + k] = (slot){(uint32_t)fid, kind, pf};
            if (kind != SLOT_REQUIRED) continue;
            /* the kind of test, and how many patterns share it: a value used by a thousand
             * patterns ("Polygon") is a poor anchor even when it is an exact match */
            int cost = 0;
            char key[256];
            for (size_t v = 0; v < pf->nvm; v++) {
                uint32_t pop = pop_get(&m->pop, key, pop_key(key, sizeof key, (uint32_t)fid, &pf->vms[v]));
                int c = vm_cost(&pf->vms[v]) + 4 * log2u(pop + 1);
                if (c > cost) cost = c;
            }
            if (cost < best) {
                best = cost;
                anchor_k = k;
            }
            pkey pk;
            if (pf->nvm == 1 && pk_of_vm(&pf->vms[0], (uint32_t)fid, &pk)) {
                if (cost < pbest[0]) {
                    pbest[1] = pbest[0], pk_k[1] = pk_k[0], pks[1] = pks[0];
                    pbest[0] = cost, pk_k[0] = k, pks[0] = pk;
                } else if (cost < pbest[1]) {
                    pbest[1] = cost, pk_k[1] = k, pks[1] = pk;
                }
            }
        }
        if (pbest[1] < (1 << 30) && pkey_cmp(&pks[0], &pks[1]) > 0) {
            /* one order for a pair of fields, so that sub-rules share the kind of key */
            pkey tp = pks[0];
            size_t tk = pk_k[0];
            pks[0] = pks[1], pk_k[0] = pk_k[1];
            pks[1] = tp, pk_k[1] = tk;
        }
        if (pbest[1] < (1 << 30) && m->ne >= COMBO_MIN_PATTERNS && (m->ncb < COMBO_MAX || combo_find(m, &pks[0], &pks[1]) >= 0)) {
            sb->anchor = (uint32_t)(m->nslots + pk_k[0]);
            target t = {si, sb->anchor, NULL};
            if (add_combo(m, &pks[0], &sr->fields[pk_k[0]].vms[0], &pks[1], &sr->fields[pk_k[1]].vms[0], t)) return -1;
        } else if (best < (1 << 30)) {
            sb->anchor = (uint32_t)(m->nslots + anchor_k);
            const km_pfield *pf = &sr->fields[anchor_k];
            target t = {si, sb->anchor, NULL};
            for (size_t v = 0; v < pf->nvm; v++)
                if (index_vm(&m->f[m->slots[sb->anchor].field], &pf->vms[v], t)) return -1;
        }
        m->nslots += sr->nfields;
        m->nsubs++;
        if (sb->anchor == UINT32_MAX) {
            if (grow((void **)&m->always, &m->capalways, m->nalways + 1, sizeof *m->always)) return -1;
            m->always[m->nalways++] = si;
        }
    }
    return 0;
}

static int keep_field(km_matcher *m, size_t h);

static int rebuild(km_matcher *m) {
    clear_indexes(m);
    size_t j = 0;
    for (size_t i = 0; i < m->ne; i++) {
        if (m->e[i].dead) {
            km_pattern_free(m->e[i].p);
            continue;
        }
        m->e[j++] = m->e[i];
    }
    m->ne = j;
    m->ndead_entries = 0;
    for (size_t i = 0; i < m->ne; i++)
        if (count_pattern(m, (uint32_t)i)) return -1;
    for (size_t i = 0; i < m->ne; i++)
        if (index_pattern(m, (uint32_t)i)) return -1;
    m->nsubs_built = m->nsubs;
    for (size_t h = 0; h < m->nkept; h++)
        if (keep_field(m, h)) return -1;
    return 0;
}

/* (Re)register kept field h in the current indexes: flattened with the patterns' fields. */
static int keep_field(km_matcher *m, size_t h) {
    km_str name = {m->kept_name[h], strlen(m->kept_name[h])};
    size_t nf0 = m->nf;
    int32_t f = field_id(m, &name);
    if (f < 0) return -1;
    if (m->nf > nf0) m->fpassive[f] = 1;
    m->kept_field[h] = (uint32_t)f;
    km_names_mark_kept(&m->names, name.s, name.len);
    /* the map from field ids, whole again (ids move when the indexes are rebuilt); fields added
     * later get ids past it or find their entry 0 */
    if (grow((void **)&m->field_kept, &m->cap_field_kept, m->nf + 1, sizeof *m->field_kept)) return -1;
    memset(m->field_kept, 0, m->cap_field_kept * sizeof *m->field_kept);
    for (size_t k = 0; k <= h; k++) m->field_kept[m->kept_field[k]] = (uint32_t)k + 1;
    return 0;
}

int km_matcher_keep(km_matcher *m, const char *name, size_t len) {
    for (size_t h = 0; h < m->nkept; h++)
        if (strlen(m->kept_name[h]) == len && !memcmp(m->kept_name[h], name, len)) return (int)h;
    char **nk = realloc(m->kept_name, (m->nkept + 1) * sizeof *nk);
    if (!nk) return -1;
    m->kept_name = nk;
    uint32_t *nf = realloc(m->kept_field, (m->nkept + 1) * sizeof *nf);
    if (!nf) return -1;
    m->kept_field = nf;
    char *c = malloc(len + 1);
    if (!c) return -1;
    memcpy(c, name, len);
    c[len] = 0;
    m->kept_name[m->nkept] = c;
    m->kept_field[m->nkept] = 0;
    size_t h = m->nkept++;
    if (keep_field(m, h)) {
        free(c);
        m->nkept--;
        return -1;
    }
    return (int)h;
}

int km_match_kept_string(const km_matcher *m, const km_match_scratch *s, int handle, const char **v, size_t *len) {
    if (handle < 0 || (size_t)handle >= m->nkept) return 0;
    uint32_t f = m->kept_field[handle];
    for (size_t i = 0; i < s->flat.nv; i++) {
        const km_fval *fv = &s->flat.v[i];
        if (fv->field != f) continue;
        if (fv->v.type != KM_V_STRING || fv->v.arr) return 0;
        *v = fv->v.s;
        *len = fv->v.len;
        return 1;
    }
    return 0;
}

int km_match_kept(const km_matcher *m, km_match_scratch *s, const char *event, size_t len, km_kept_val *vals, size_t cap,
                  km_kept_view *view) {
    (void)event; /* flattened with the patterns' fields already */
    if (!m->nkept) return -1;
    view->len = len;
    view->odd = s->flat.odd;
    view->skipped = (const size_t(*)[2])s->flat.skip;
    view->nskipped = s->flat.nskip;
    size_t k = 0;
    for (size_t i = 0; i < s->flat.nv; i++) {
        const km_fval *fv = &s->flat.v[i];
        uint32_t h = fv->field < m->cap_field_kept ? m->field_kept[fv->field] : 0;
        if (!h) continue;
        if (k == cap) return -1;
        vals[k].handle = h - 1;
        vals[k].is_str = fv->v.type == KM_V_STRING;
        vals[k].arr = fv->v.arr;
        vals[k].s = fv->v.s;
        vals[k].len = fv->v.len;
        k++;
    }
    return (int)k;
}

int km_matcher_add(km_matcher *m, uint32_t id, const char *pattern, size_t len, km_error *err) {
    return km_matcher_add_flags(m, id, pattern, len, 0, err);
}

int km_matcher_add_flags(km_matcher *m, uint32_t id, const char *pattern, size_t len, unsigned flags, km_error *err) {
    if (m->ne >= km_limit(KM_LIMIT_PATTERNS, 1000000)) /* harden helper */
        return km_error_set(err, KM_ELIMIT, (size_t)-1, "more than the limit of %zu patterns (--limit patterns)",
                            km_limit(KM_LIMIT_PATTERNS, 1000000));
    km_pattern *p = km_pattern_compile(pattern, len, flags, err);
    if (!p) return err && err->code ? err->code : KM_ERR;
    return km_matcher_add_compiled(m, id, p, err);
}

int km_matcher_add_compiled(km_matcher *m, uint32_t id, km_pattern *p, km_error *err) {
    if (m->ne >= km_limit(KM_LIMIT_PATTERNS, 1000000)) { /* harden helper */
        km_pattern_free(p);
        return km_error_set(err, KM_ELIMIT, (size_t)-1, "more than the limit of %zu patterns (--limit patterns)",
                            km_limit(KM_LIMIT_PATTERNS, 1000000));
    }
    if (grow((void **)&m->e, &m->cape, m->ne + 1, sizeof *m->e)) {
        km_pattern_free(p);
        return km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory adding a pattern");
    }
    m->e[m->ne] = (entry){id, 0, p};
    if (count_pattern(m, (uint32_t)m->ne) || index_pattern(m, (uint32_t)m->ne)) {
        /* leave the matcher as it was: drop the half-added pattern and rebuild */
        km_pattern_free(p);
        rebuild(m);
        return km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory adding a pattern");
    }
    m->ne++;
    /* anchors were chosen with the counts known then: choose again as the set doubles */
    if (m->nsubs >= 64 && m->nsubs >= 2 * m->nsubs_built && rebuild(m))
        return km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory adding a pattern");
    return KM_OK;
}

int km_matcher_delete(km_matcher *m, uint32_t id) {
    int removed = 0;
    for (size_t i = 0; i < m->ne; i++) {
        if (m->e[i].id != id || m->e[i].dead) continue;
        m->e[i].dead = 1;
        m->ndead_entries++;
        removed = 1;
    }
    if (!removed) return 0;
    for (size_t s = 0; s < m->nsubs; s++) {
        if (!m->subs[s].dead && m->e[m->subs[s].entry].dead) {
            m->subs[s].dead = 1;
            m->ndead++;
        }
    }
    /* the dead stay in the indexes (skipped when hit) until they are half of everything */
    if (m->ndead * 2 > m->nsubs) rebuild(m);
    return 1;
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

size_t km_matcher_count(const km_matcher *m) {
    if (!m || m->ne == 0) return 0;
    uint32_t *ids = malloc(m->ne * sizeof *ids);
    if (!ids) return 0;
    size_t n = 0;
    for (size_t i = 0; i < m->ne; i++)
        if (!m->e[i].dead) ids[n++] = m->e[i].id;
    if (n > 1) qsort(ids, n, sizeof *ids, cmp_u32);
    size_t k = n ? 1 : 0;
    for (size_t i = 1; i < n; i++)
        if (ids[i] != ids[i - 1]) k++;
    free(ids);
    return k;
}

km_match_scratch *km_match_scratch_new(void) { return calloc(1, sizeof(km_match_scratch)); }

void km_match_scratch_free(km_match_scratch *s) {
    if (!s) return;
    km_flat_free(&s->flat);
    free(s->slot_gen);
    free(s->field_gen);
    free(s->field_arr);
    free(s->entry_gen);
    free(s->cand);
    free(s->ids);
    free(s->field_head);
    free(s->vnext);
    free(s->chosen);
    free(s->low);
    free(s->pk);
    free(s);
}

/* Grows a generation array, zero-filling the new part. */
static int grow_gen(uint32_t **p, size_t *cap, size_t need) {
    if (need <= *cap) return 0;
    size_t nc = *cap ? *cap : 64;
    while (nc < need) nc *= 2;
    uint32_t *np = realloc(*p, nc * sizeof *np);
    if (!np) return -1;
    memset(np + *cap, 0, (nc - *cap) * sizeof *np);
    *p = np;
    *cap = nc;
    return 0;
}

static int scratch_fit(km_match_scratch *s, const km_matcher *m) {
    if (grow_gen(&s->slot_gen, &s->cap_slot_gen, m->nslots + 1) || grow_gen(&s->field_gen, &s->cap_field_gen, m->nf + 1) ||
        grow_gen(&s->field_arr, &s->cap_field_arr, m->nf + 1) || grow_gen(&s->entry_gen, &s->cap_entry_gen, m->ne + 1) ||
        grow_gen(&s->field_head, &s->cap_field_head, m->nf + 1))
        return -1;
    if (++s->gen == 0) {
        /* wrapped: forget every stamp */
        memset(s->slot_gen, 0, s->cap_slot_gen * sizeof *s->slot_gen);
        memset(s->field_gen, 0, s->cap_field_gen * sizeof *s->field_gen);
        memset(s->field_arr, 0, s->cap_field_arr * sizeof *s->field_arr);
        memset(s->entry_gen, 0, s->cap_entry_gen * sizeof *s->entry_gen);
        s->gen = 1;
    }
    return 0;
}

/* ---- matching ------------------------------------------------------------------------------ */

typedef struct mctx {
    const km_matcher *m;
    km_match_scratch *s;
    int oom;
} mctx;

static void hit(mctx *c, const target *t, km_value *v) {
    const km_matcher *m = c->m;
    km_match_scratch *s = c->s;
    uint32_t g = s->gen;
    if (s->slot_gen[t->slot] == g) return;
    /* dead sub-rules are dropped when candidates are verified (one memory access less here) */
    if (t->verify && !km_vm_match(t->verify, v)) return;
    s->slot_gen[t->slot] = g;
    /* verified after every value is seen: start loading what verification reads */
    __builtin_prefetch(&m->subs[t->sub]);
    __builtin_prefetch(&m->slots[t->slot]);
    if (grow((void **)&s->cand, &s->capcand, s->ncand + 1, sizeof *s->cand)) {
        c->oom = 1;
        return;
    }
    s->cand[s->ncand++] = t->sub;
}

static void hit_list(mctx *c, const tlist *l, km_value *v) {
    if (!l) return;
    const target *t = tl_items(l);
    for (uint32_t i = 0; i < l->n; i++) hit(c, &t[i], v);
}

static void iv_visit(mctx *c, const ivindex *x, size_t node, size_t l, size_t r, size_t end, u128 k, km_value *v) {
    if (l >= end || x->tree[node] < k) return;
    if (r - l == 1) {
        hit_list(c, &x->iv[l].l, v);
        return;
    }
    size_t mid = (l + r) / 2;
    iv_visit(c, x, 2 * node, l, mid, end, k, v);
    iv_visit(c, x, 2 * node + 1, mid, r, end, k, v);
}

static void iv_query(mctx *c, const ivindex *x, u128 k, km_value *v) {
    /* sorted part: intervals with lo <= k, pruned by max hi */
    size_t a = 0, b = x->nsorted;
    while (a < b) {
        size_t mid = (a + b) / 2;
        if (x->lo[mid] <= k) a = mid + 1;
        else b = mid;
    }
    if (a > 0) iv_visit(c, x, 1, 0, x->P, a, k, v);
    for (size_t i = x->nsorted; i < x->n; i++)
        if (x->iv[i].lo <= k && k <= x->iv[i].hi) hit_list(c, &x->iv[i].l, v);
}

#define NO_VALUE UINT32_MAX

static void match_value(mctx *c, uint32_t vi) {
    km_match_scratch *s = c->s;
    km_fval *fv = &s->flat.v[vi];
    const fidx *f = &c->m->f[fv->field];
    km_value *v = &fv->v;
    /* chain the field's values for verification */
    if (s->field_gen[fv->field] != s->gen) s->field_head[fv->field] = NO_VALUE;
    s->vnext[vi] = s->field_head[fv->field];
    s->field_head[fv->field] = vi;
    s->field_gen[fv->field] = s->gen;
    if (fv->elem >= 0) s->field_arr[fv->field] = s->gen;
    if (v->type == KM_V_STRING) {
        if (f->exact.n) hit_list(c, hm_get(&f->exact, v->s, v->len, hash_bytes(v->s, v->len)), v);
        if (f->nplen && (f->pempty || (v->len && f->pfirst[(unsigned char)v->s[0]]))) {
            for (size_t i = 0; i < f->nplen && f->plen[i] <= v->len; i++) {
                size_t L = f->plen[i];
                hit_list(c, hm_get(&f->prefix, v->s, L, hash_bytes(v->s, L)), v);
            }
        }
        if (f->nslen && (f->sempty || (v->len && f->slast[(unsigned char)v->s[v->len - 1]]))) {
            for (size_t i = 0; i < f->nslen && f->slen[i] <= v->len; i++) {
                size_t L = f->slen[i];
                const char *p = v->s + v->len - L;
                hit_list(c, hm_get(&f->suffix, p, L, hash_bytes(p, L)), v);
            }
        }
        for (size_t i = 0; i < f->nwcl; i++) {
            size_t hl = f->wcl[i][0], tl = f->wcl[i][1];
            if (hl + tl > v->len) continue;
            size_t kl = key2(&s->pk, &s->cappk, v->s, hl, 0, v->s + v->len - tl, tl, 0);
            if (!kl) {
                c->oom = 1;
                return;
            }
            hit_list(c, hm_get(&f->wc, s->pk, kl, hash_bytes(s->pk, kl)), v);
        }
        if (f->eic.n && (f->eic_lens >> (v->len & 63) & 1)) {
            if (grow((void **)&s->low, &s->caplow, v->len + 1, 1)) {
                c->oom = 1;
                return;
            }
            /* one pass that folds ASCII and notes any non-ASCII byte, on locals: through the
             * pointers the compiler reloaded v->len at every byte (the stores might alias it) */
            const unsigned char *restrict src = (const unsigned char *)v->s;
            unsigned char *restrict low = (unsigned char *)s->low;
            size_t n = v->len, i = 0;
            unsigned acc = 0;
#if defined(__SSE2__)
            /* 16 bytes at a time (every eventName and eventSource, for the Sigma prefilters):
             * bytes with (b - 'A') <= 25 unsigned get 32 added; a set top bit is non-ASCII */
            for (; i + 16 <= n; i += 16) {
                __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(src + i));
                __m128i t = _mm_sub_epi8(x, _mm_set1_epi8('A'));
                __m128i up = _mm_cmpeq_epi8(_mm_min_epu8(t, _mm_set1_epi8(25)), t);
                acc |= (unsigned)_mm_movemask_epi8(x) ? 0x80u : 0u;
                _mm_storeu_si128((__m128i *)(void *)(low + i), _mm_add_epi8(x, _mm_and_si128(up, _mm_set1_epi8(32))));
            }
#endif
            for (; i < n; i++) {
                unsigned ch = src[i];
                acc |= ch;
                low[i] = (unsigned char)(ch - 'A' < 26u ? ch + 32 : ch);
            }
            if (acc < 0x80) hit_list(c, hm_get(&f->eic, s->low, n, hash_bytes(s->low, n)), v);
        }
    } else {
        if (f->literal.n) hit_list(c, hm_get(&f->literal, v->s, v->len, hash_bytes(v->s, v->len)), v);
        if (f->numeq.n && v->type == KM_V_NUMBER) {
            if (v->num_ok == 0) v->num_ok = km_num_comparable(v->s, v->len, &v->d) ? 1 : -1;
            if (v->num_ok == 1) {
                double d = v->d == 0 ? 0.0 : v->d;
                hit_list(c, hm_get(&f->numeq, &d, sizeof d, hash_bytes(&d, sizeof d)), v);
            }
        }
    }
    if (f->num.n && v->type == KM_V_NUMBER) {
        if (v->num_ok == 0) v->num_ok = km_num_comparable(v->s, v->len, &v->d) ? 1 : -1;
        if (v->num_ok == 1) iv_query(c, &f->num, num_key(v->d), v);
    }
    if ((f->ip4.n || f->ip6.n) && v->type == KM_V_STRING) {
        if (v->ip_state == 0) v->ip_state = km_ip_parse(v->s, v->len, v->ip, &v->ip_len) == 1 ? 1 : -1;
        if (v->ip_state == 1) iv_query(c, v->ip_len == 4 ? &f->ip4 : &f->ip6, ip_key(v->ip, v->ip_len), v);
    }
    for (size_t i = 0; i < f->ngen; i++) {
        const gen_vm *gv = &f->gen[i];
        if (c->s->slot_gen[gv->t.slot] == c->s->gen) continue;
        if (km_vm_match(gv->vm, v)) hit(c, &gv->t, v);
    }
    hit_list(c, &f->exists, v);
}

/* ---- exact verification ------------------------------------------------------------------- */

typedef struct search {
    const km_matcher *m;
    km_match_scratch *s;
    const sub *sb;
    size_t nchosen;
} search;

/* First value of a field in this event, or NO_VALUE; next with s->vnext. */
static inline uint32_t field_first(const km_match_scratch *s, uint32_t field) {
    return s->field_gen[field] == s->gen ? s->field_head[field] : NO_VALUE;
}

static int consistent_all(search *e, int32_t el) {
    const km_fval *v = e->s->flat.v;
    for (size_t i = 0; i < e->nchosen; i++)
        if (!km_elem_consistent(e->s->flat.el, v[e->s->chosen[i]].elem, el)) return 0;
    return 1;
}

/* Exists a choice of values, field by field in name order, that is array-consistent, with each
 * exists:false judged against the values chosen before it (event-ruler's walk). */
static int dfs(search *e, size_t k) {
    if (k == e->sb->nslots) return 1;
    const km_pfield *pf = &e->sb->sr->fields[k];
    uint32_t field = e->m->slots[e->sb->slot0 + k].field;
    km_fval *v = e->s->flat.v;
    uint32_t first = field_first(e->s, field);
    if (pf->absent) {
        int present = 0;
        for (uint32_t i = first; i != NO_VALUE && !present; i = e->s->vnext[i])
            if (consistent_all(e, v[i].elem)) present = 1;
        if (!present && dfs(e, k + 1)) return 1;
    }
    for (uint32_t vi = first; vi != NO_VALUE; vi = e->s->vnext[vi]) {
        if (!consistent_all(e, v[vi].elem)) continue;
        int ok = 0;
        for (size_t j = 0; j < pf->nvm && !ok; j++) ok = km_vm_match(&pf->vms[j], &v[vi].v);
        if (!ok) continue;
        e->s->chosen[e->nchosen++] = vi;
        int r = dfs(e, k + 1);
        e->nchosen--;
        if (r) return 1;
    }
    return 0;
}

static int verify(mctx *c, uint32_t si) {
    const km_matcher *m = c->m;
    km_match_scratch *s = c->s;
    const sub *sb = &m->subs[si];
    uint32_t g = s->gen;
    int in_arrays = 0;
    for (uint32_t k = 0; k < sb->nslots; k++)
        if (s->field_arr[m->slots[sb->slot0 + k].field] == g) in_arrays++;
    /* fast rejections first: a field that must be absent is present, one that must be present
     * is absent */
    for (uint32_t k = 0; k < sb->nslots; k++) {
        const slot *sl = &m->slots[sb->slot0 + k];
        int present = s->field_gen[sl->field] == g;
        if (sl->kind == SLOT_REQUIRED && !present) return 0;
        if (sl->kind == SLOT_ABSENT && present && in_arrays == 0) return 0;
    }
    if (in_arrays <= 1) {
        /* no two chosen values can be in different elements of one array: each field on its own */
        for (uint32_t k = 0; k < sb->nslots; k++) {
            uint32_t gs = sb->slot0 + k;
            const slot *sl = &m->slots[gs];
            int present = s->field_gen[sl->field] == g;
            if (sl->kind == SLOT_ABSENT) {
                if (present) return 0;
                continue;
            }
            if (!present) {
                if (sl->kind == SLOT_EITHER) continue;
                return 0;
            }
            if (gs == sb->anchor) continue; /* found through the index */
            const km_pfield *pf = sl->pf;
            int ok = 0;
            for (uint32_t i = field_first(s, sl->field); i != NO_VALUE && !ok; i = s->vnext[i])
                for (size_t j = 0; j < pf->nvm && !ok; j++) ok = km_vm_match(&pf->vms[j], &s->flat.v[i].v);
            if (!ok) return 0;
        }
        return 1;
    }
    if (grow((void **)&s->chosen, &s->capchosen, sb->nslots + 1, sizeof *s->chosen)) return c->oom = 1, 0;
    search e = {m, s, sb, 0};
    return dfs(&e, 0);
}

/* The part of a combined key value v gives under k: 1 with (*p, *len), or 0 when none. */
static int pk_part(const pkey *k, const km_value *v, const char **p, size_t *len) {
    if (v->type != KM_V_STRING) return 0;
    switch (k->mode) {
    case PK_EXACT: *p = v->s, *len = v->len; return 1;
    case PK_EIC:
        if (!is_ascii(v->s, v->len)) return 0;
        *p = v->s, *len = v->len;
        return 1;
    case PK_PREFIX:
        if (v->len < k->len) return 0;
        *p = v->s, *len = k->len;
        return 1;
    default:
        if (v->len < k->len) return 0;
        *p = v->s + v->len - k->len, *len = k->len;
        return 1;
    }
}

/* Every pair of values of the combo's two fields, or when they are too many pairs, the first
 * field's values alone (the other field is then checked when verifying). */
static void match_combo(mctx *c, const combo *cb) {
    km_match_scratch *s = c->s;
    uint32_t ha = field_first(s, cb->a.field), hb = field_first(s, cb->b.field);
    if (ha == NO_VALUE || hb == NO_VALUE) return;
    size_t na = 0, nb = 0;
    for (uint32_t i = ha; i != NO_VALUE && na <= 64; i = s->vnext[i]) na++;
    for (uint32_t i = hb; i != NO_VALUE && nb <= 64; i = s->vnext[i]) nb++;
    int pairs = na * nb <= 64;
    for (uint32_t i = ha; i != NO_VALUE; i = s->vnext[i]) {
        km_value *va = &s->flat.v[i].v;
        const char *pa, *pb;
        size_t la, lb;
        if (!pk_part(&cb->a, va, &pa, &la)) continue;
        if (!pairs) {
            size_t n = 0;
            if (key_put(&s->pk, &s->cappk, &n, pa, la, cb->a.mode == PK_EIC)) {
                c->oom = 1;
                return;
            }
            hit_list(c, hm_get(&cb->single, s->pk, n, hash_bytes(s->pk, n)), va);
            continue;
        }
        for (uint32_t j = hb; j != NO_VALUE; j = s->vnext[j]) {
            if (!pk_part(&cb->b, &s->flat.v[j].v, &pb, &lb)) continue;
            size_t kl = key2(&s->pk, &s->cappk, pa, la, cb->a.mode == PK_EIC, pb, lb, cb->b.mode == PK_EIC);
            if (!kl) {
                c->oom = 1;
                return;
            }
            hit_list(c, hm_get(&cb->pair, s->pk, kl, hash_bytes(s->pk, kl)), va);
        }
    }
}

int km_matcher_match(const km_matcher *m, km_match_scratch *s, const char *event, size_t len,
                     const uint32_t **ids, km_error *err) {
    km_match_limits lim = m->lim;
    if (!lim.max_depth) lim.max_depth = km_limit(KM_LIMIT_DEPTH, 512);
    if (!lim.max_event_bytes) lim.max_event_bytes = (size_t)256 << 20;
    if (!lim.max_fields) lim.max_fields = km_limit(KM_LIMIT_FIELDS, 1000000);
    *ids = NULL;
    if (len > lim.max_event_bytes) {
        km_error_set(err, KM_ELIMIT, 0, "event is %zu bytes, more than the limit of %zu", len, lim.max_event_bytes);
        return -1;
    }
    if (km_flatten(&m->names, event, len, &lim, &s->flat, err)) return -1;
    if (scratch_fit(s, m)) {
        km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory matching");
        return -1;
    }
    s->ncand = s->nids = 0;
    if (grow((void **)&s->vnext, &s->capvnext, s->flat.nv + 1, sizeof *s->vnext)) {
        km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory matching");
        return -1;
    }
    mctx c = {m, s, 0};
    if (m->nkept) {
        /* fields only kept for the caller have nothing to match */
        for (size_t i = 0; i < s->flat.nv; i++)
            if (!m->fpassive[s->flat.v[i].field]) match_value(&c, (uint32_t)i);
    } else {
        for (size_t i = 0; i < s->flat.nv; i++) match_value(&c, (uint32_t)i);
    }
    for (size_t i = 0; i < m->ncb && !c.oom; i++) match_combo(&c, &m->cb[i]);
    for (size_t pass = 0; pass < 2; pass++) {
        const uint32_t *list = pass ? m->always : s->cand;
        size_t n = pass ? m->nalways : s->ncand;
        for (size_t i = 0; i < n; i++) {
            uint32_t si = list[i];
            const sub *sb = &m->subs[si];
            if (sb->dead || s->entry_gen[sb->entry] == s->gen) continue;
            if (!verify(&c, si)) continue;
            s->entry_gen[sb->entry] = s->gen;
            if (grow((void **)&s->ids, &s->capids, s->nids + 1, sizeof *s->ids)) {
                c.oom = 1;
                break;
            }
            s->ids[s->nids++] = m->e[sb->entry].id;
        }
    }
    if (c.oom) {
        km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory matching");
        return -1;
    }
    if (s->nids > 1) {
        qsort(s->ids, s->nids, sizeof *s->ids, cmp_u32);
        size_t k = 1;
        for (size_t i = 1; i < s->nids; i++)
            if (s->ids[i] != s->ids[k - 1]) s->ids[k++] = s->ids[i];
        s->nids = k;
    }
    *ids = s->ids;
    return (int)s->nids;
}
