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

#include <stdlib.h>
#include <string.h>

/* ---- small hash map: bytes -> list of targets ------------------------------------------- */

typedef struct target {
    uint32_t sub;
    uint32_t slot;        /* global slot index */
    const km_vm *verify;  /* check the value with this matcher first (index is only a filter) */
} target;

typedef struct tlist {
    target *t;
    uint32_t n, cap;
} tlist;

typedef struct hent {
    uint64_t h;
    char *key; /* NULL = empty slot */
    size_t klen;
    tlist l;
} hent;

typedef struct hmap {
    hent *e;
    size_t cap, n;
} hmap;

static uint64_t hash_bytes(const void *p, size_t n) {
    const unsigned char *s = p;
    uint64_t h = 0x243F6A8885A308D3ull ^ (n * 0x9E3779B97F4A7C15ull);
    while (n >= 8) {
        uint64_t x;
        memcpy(&x, s, 8);
        h = (h ^ x) * 0xFF51AFD7ED558CCDull;
        h ^= h >> 32;
        s += 8;
        n -= 8;
    }
    uint64_t x = 0;
    memcpy(&x, s, n);
    h = (h ^ x) * 0xC4CEB9FE1A85EC53ull;
    h ^= h >> 29;
    return h;
}

static int tl_add(tlist *l, target t) {
    if (l->n == l->cap) {
        uint32_t nc = l->cap ? l->cap * 2 : 2;
        target *nt = realloc(l->t, nc * sizeof *nt);
        if (!nt) return -1;
        l->t = nt;
        l->cap = nc;
    }
    l->t[l->n++] = t;
    return 0;
}

static const tlist *hm_get(const hmap *m, const void *key, size_t klen, uint64_t h) {
    if (!m->n) return NULL;
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        const hent *e = &m->e[i];
        if (!e->key) return NULL;
        if (e->h == h && e->klen == klen && memcmp(e->key, key, klen) == 0) return &e->l;
    }
}

static int hm_grow(hmap *m) {
    size_t nc = m->cap ? m->cap * 2 : 16;
    hent *ne = calloc(nc, sizeof *ne);
    if (!ne) return -1;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->e[i].key) continue;
        size_t j = m->e[i].h & (nc - 1);
        while (ne[j].key) j = (j + 1) & (nc - 1);
        ne[j] = m->e[i];
    }
    free(m->e);
    m->e = ne;
    m->cap = nc;
    return 0;
}

static int hm_add(hmap *m, const void *key, size_t klen, target t) {
    uint64_t h = hash_bytes(key, klen);
    tlist *l = (tlist *)hm_get(m, key, klen, h);
    if (!l) {
        if ((m->n + 1) * 4 > m->cap * 3 && hm_grow(m)) return -1;
        size_t j = h & (m->cap - 1);
        while (m->e[j].key) j = (j + 1) & (m->cap - 1);
        char *k = malloc(klen + 1);
        if (!k) return -1;
        memcpy(k, key, klen);
        k[klen] = 0;
        m->e[j] = (hent){h, k, klen, {NULL, 0, 0}};
        m->n++;
        l = &m->e[j].l;
    }
    return tl_add(l, t);
}

static void hm_free(hmap *m) {
    for (size_t i = 0; i < m->cap; i++) {
        free(m->e[i].key);
        free(m->e[i].l.t);
    }
    free(m->e);
    memset(m, 0, sizeof *m);
}

/* ---- the compiled matcher ---------------------------------------------------------------- */

typedef struct gen_vm {
    const km_vm *vm;
    target t;
} gen_vm;

typedef struct fidx {
    char *name;
    size_t name_len;
    hmap exact;    /* strings */
    hmap literal;  /* raw text of numbers, true, false, null */
    hmap numeq;    /* comparable numbers: 8 bytes of the double */
    hmap eic;      /* ASCII equals-ignore-case: lower-cased */
    hmap prefix;   /* starts-with (PREFIX without '"', literal head of wildcards) */
    hmap suffix;   /* ends-with */
    size_t *plen, nplen, *slen, nslen;
    tlist exists;
    gen_vm *gen;
    size_t ngen, capgen;
} fidx;

enum { SLOT_REQUIRED = 0, SLOT_ABSENT = 1, SLOT_EITHER = 2 };

typedef struct slot {
    uint32_t field;
    uint8_t kind;
} slot;

typedef struct sub {
    uint32_t entry;  /* pattern entry (id) it belongs to */
    uint32_t slot0;
    uint32_t nslots;
    uint32_t need;   /* required slots */
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
};

struct km_match_scratch {
    km_flat flat;
    uint32_t gen;
    uint32_t *slot_gen, *sub_gen, *sub_cnt, *field_gen, *field_arr, *entry_gen;
    size_t cap_slot_gen, cap_sub_gen, cap_sub_cnt, cap_field_gen, cap_field_arr, cap_entry_gen;
    uint32_t *cand;
    size_t ncand, capcand;
    uint32_t *ids;
    size_t nids, capids;
    uint32_t *order; /* value indexes sorted by field, for the search */
    size_t caporder;
    int sorted;
    size_t *chosen;
    size_t capchosen;
    char *low;       /* lower-cased value for the ignore-case table */
    size_t caplow;
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
    free(f->exists.t);
    free(f->gen);
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
    km_names_free(&m->names);
    km_names_init(&m->names);
    free(m->always);
    m->always = NULL;
    m->nalways = m->capalways = 0;
}

void km_matcher_free(km_matcher *m) {
    if (!m) return;
    clear_indexes(m);
    for (size_t i = 0; i < m->ne; i++) km_pattern_free(m->e[i].p);
    free(m->e);
    free(m);
}

void km_matcher_set_limits(km_matcher *m, const km_match_limits *lim) {
    if (m && lim) m->lim = *lim;
}

int km_pattern_check(const char *pattern, size_t len, km_error *err) {
    km_pattern *p = km_pattern_compile(pattern, len, err);
    if (!p) return err && err->code ? err->code : KM_ERR;
    km_pattern_free(p);
    return KM_OK;
}

static int32_t field_id(km_matcher *m, const km_str *name) {
    uint64_t h = hash_bytes(name->s, name->len);
    const tlist *l = hm_get(&m->fieldmap, name->s, name->len, h);
    if (l) return (int32_t)l->t[0].sub;
    if (grow((void **)&m->f, &m->capf, m->nf + 1, sizeof *m->f)) return -1;
    fidx *f = &m->f[m->nf];
    memset(f, 0, sizeof *f);
    f->name = malloc(name->len + 1);
    if (!f->name) return -1;
    memcpy(f->name, name->s, name->len);
    f->name[name->len] = 0;
    f->name_len = name->len;
    uint32_t id = (uint32_t)m->nf;
    if (hm_add(&m->fieldmap, name->s, name->len, (target){id, 0, NULL})) return -1;
    if (km_names_add_field(&m->names, name->s, name->len, id)) return -1;
    m->nf++;
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

static int index_vm(fidx *f, const km_vm *vm, target t) {
    switch (vm->kind) {
    case KM_VM_STRING:
        if (vm->is_ip) return add_general(f, vm, t);
        return hm_add(&f->exact, vm->str.s, vm->str.len, t);
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
        return hm_add(&f->prefix, vm->str.s, vm->str.len, t);
    case KM_VM_SUFFIX:
        if (memchr(vm->str.s, '"', vm->str.len)) return add_general(f, vm, t);
        if (add_len(&f->slen, &f->nslen, vm->str.len)) return -1;
        return hm_add(&f->suffix, vm->str.s, vm->str.len, t);
    case KM_VM_EIC:
        if (is_ascii(vm->str.s, vm->str.len) && !memchr(vm->str.s, '"', vm->str.len)) {
            char *low = lower_ascii(vm->str.s, vm->str.len);
            if (!low) return -1;
            int rc = hm_add(&f->eic, low, vm->str.len, t);
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
        if (head) {
            t.verify = vm;
            int rc = add_len(&f->plen, &f->nplen, hl) || hm_add(&f->prefix, head, hl, t);
            free(head);
            return rc ? -1 : 0;
        }
        char *tail = wildcard_part(&vm->str, 1, &tl, &star);
        if (tail) {
            t.verify = vm;
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

/* Index one compiled pattern under entry index ei. */
static int index_pattern(km_matcher *m, uint32_t ei) {
    const km_pattern *p = m->e[ei].p;
    for (size_t s = 0; s < p->nsubs; s++) {
        const km_subrule *sr = &p->subs[s];
        if (grow((void **)&m->subs, &m->capsubs, m->nsubs + 1, sizeof *m->subs)) return -1;
        if (grow((void **)&m->slots, &m->capslots, m->nslots + sr->nfields, sizeof *m->slots)) return -1;
        uint32_t si = (uint32_t)m->nsubs;
        sub *sb = &m->subs[si];
        *sb = (sub){ei, (uint32_t)m->nslots, (uint32_t)sr->nfields, 0, 0, sr};
        for (size_t k = 0; k < sr->nfields; k++) {
            const km_pfield *pf = &sr->fields[k];
            int32_t fid = field_id(m, &pf->name);
            if (fid < 0) return -1;
            uint8_t kind = pf->absent ? (pf->nvm ? SLOT_EITHER : SLOT_ABSENT) : SLOT_REQUIRED;
            m->slots[m->nslots] = (slot){(uint32_t)fid, kind};
            if (kind == SLOT_REQUIRED) sb->need++;
            target t = {si, (uint32_t)m->nslots, NULL};
            for (size_t v = 0; v < pf->nvm; v++)
                if (index_vm(&m->f[fid], &pf->vms[v], t)) return -1;
            m->nslots++;
        }
        m->nsubs++;
        if (sb->need == 0) {
            if (grow((void **)&m->always, &m->capalways, m->nalways + 1, sizeof *m->always)) return -1;
            m->always[m->nalways++] = si;
        }
    }
    return 0;
}

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
        if (index_pattern(m, (uint32_t)i)) return -1;
    return 0;
}

int km_matcher_add(km_matcher *m, uint32_t id, const char *pattern, size_t len, km_error *err) {
    km_pattern *p = km_pattern_compile(pattern, len, err);
    if (!p) return err && err->code ? err->code : KM_ERR;
    if (grow((void **)&m->e, &m->cape, m->ne + 1, sizeof *m->e)) {
        km_pattern_free(p);
        return km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory adding a pattern");
    }
    m->e[m->ne] = (entry){id, 0, p};
    if (index_pattern(m, (uint32_t)m->ne)) {
        /* leave the matcher as it was: drop the half-added pattern and rebuild */
        km_pattern_free(p);
        rebuild(m);
        return km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory adding a pattern");
    }
    m->ne++;
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
    free(s->sub_gen);
    free(s->sub_cnt);
    free(s->field_gen);
    free(s->field_arr);
    free(s->entry_gen);
    free(s->cand);
    free(s->ids);
    free(s->order);
    free(s->chosen);
    free(s->low);
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
    if (grow_gen(&s->sub_gen, &s->cap_sub_gen, m->nsubs + 1) || grow_gen(&s->sub_cnt, &s->cap_sub_cnt, m->nsubs + 1) ||
        grow_gen(&s->slot_gen, &s->cap_slot_gen, m->nslots + 1) || grow_gen(&s->field_gen, &s->cap_field_gen, m->nf + 1) ||
        grow_gen(&s->field_arr, &s->cap_field_arr, m->nf + 1) || grow_gen(&s->entry_gen, &s->cap_entry_gen, m->ne + 1))
        return -1;
    if (++s->gen == 0) {
        /* wrapped: forget every stamp */
        memset(s->sub_gen, 0, s->cap_sub_gen * sizeof *s->sub_gen);
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
    const sub *sb = &m->subs[t->sub];
    if (sb->dead) return;
    if (t->verify && !km_vm_match(t->verify, v)) return;
    s->slot_gen[t->slot] = g;
    if (m->slots[t->slot].kind != SLOT_REQUIRED) return;
    if (s->sub_gen[t->sub] != g) {
        s->sub_gen[t->sub] = g;
        s->sub_cnt[t->sub] = 0;
    }
    if (++s->sub_cnt[t->sub] == sb->need) {
        if (grow((void **)&s->cand, &s->capcand, s->ncand + 1, sizeof *s->cand)) {
            c->oom = 1;
            return;
        }
        s->cand[s->ncand++] = t->sub;
    }
}

static void hit_list(mctx *c, const tlist *l, km_value *v) {
    if (!l) return;
    for (uint32_t i = 0; i < l->n; i++) hit(c, &l->t[i], v);
}

static void match_value(mctx *c, km_fval *fv) {
    const fidx *f = &c->m->f[fv->field];
    km_match_scratch *s = c->s;
    km_value *v = &fv->v;
    s->field_gen[fv->field] = s->gen;
    if (fv->elem >= 0) s->field_arr[fv->field] = s->gen;
    if (v->type == KM_V_STRING) {
        if (f->exact.n) hit_list(c, hm_get(&f->exact, v->s, v->len, hash_bytes(v->s, v->len)), v);
        for (size_t i = 0; i < f->nplen && f->plen[i] <= v->len; i++) {
            size_t L = f->plen[i];
            hit_list(c, hm_get(&f->prefix, v->s, L, hash_bytes(v->s, L)), v);
        }
        for (size_t i = 0; i < f->nslen && f->slen[i] <= v->len; i++) {
            size_t L = f->slen[i];
            const char *p = v->s + v->len - L;
            hit_list(c, hm_get(&f->suffix, p, L, hash_bytes(p, L)), v);
        }
        if (f->eic.n && is_ascii(v->s, v->len)) {
            if (grow((void **)&s->low, &s->caplow, v->len + 1, 1)) {
                c->oom = 1;
                return;
            }
            for (size_t i = 0; i < v->len; i++) s->low[i] = (v->s[i] >= 'A' && v->s[i] <= 'Z') ? (char)(v->s[i] + 32) : v->s[i];
            hit_list(c, hm_get(&f->eic, s->low, v->len, hash_bytes(s->low, v->len)), v);
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
    for (size_t i = 0; i < f->ngen; i++) {
        const gen_vm *gv = &f->gen[i];
        if (c->s->slot_gen[gv->t.slot] == c->s->gen) continue;
        if (km_vm_match(gv->vm, v)) hit(c, &gv->t, v);
    }
    hit_list(c, &f->exists, v);
}

/* ---- exact verification ------------------------------------------------------------------- */

static int cmp_order(const void *a, const void *b, void *ctx) {
    const km_fval *v = ctx;
    uint32_t x = v[*(const uint32_t *)a].field, y = v[*(const uint32_t *)b].field;
    return x < y ? -1 : x > y;
}

typedef struct search {
    const km_matcher *m;
    km_match_scratch *s;
    const sub *sb;
    size_t nchosen;
} search;

static void field_range(km_match_scratch *s, uint32_t field, size_t *lo, size_t *hi) {
    const km_fval *v = s->flat.v;
    size_t a = 0, b = s->flat.nv;
    while (a < b) {
        size_t mid = (a + b) / 2;
        if (v[s->order[mid]].field < field) a = mid + 1;
        else b = mid;
    }
    *lo = a;
    b = s->flat.nv;
    size_t c = a;
    while (c < b) {
        size_t mid = (c + b) / 2;
        if (v[s->order[mid]].field <= field) c = mid + 1;
        else b = mid;
    }
    *hi = c;
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
    size_t lo, hi;
    field_range(e->s, field, &lo, &hi);
    km_fval *v = e->s->flat.v;
    if (pf->absent) {
        int present = 0;
        for (size_t i = lo; i < hi && !present; i++)
            if (consistent_all(e, v[e->s->order[i]].elem)) present = 1;
        if (!present && dfs(e, k + 1)) return 1;
    }
    for (size_t i = lo; i < hi; i++) {
        uint32_t vi = e->s->order[i];
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
    if (in_arrays <= 1) {
        /* no two chosen values can be in different elements of one array */
        for (uint32_t k = 0; k < sb->nslots; k++) {
            const slot *sl = &m->slots[sb->slot0 + k];
            int present = s->field_gen[sl->field] == g;
            if (sl->kind == SLOT_ABSENT && present) return 0;
            if (sl->kind == SLOT_EITHER && present && s->slot_gen[sb->slot0 + k] != g) return 0;
        }
        return 1;
    }
    if (!s->sorted) {
        if (grow((void **)&s->order, &s->caporder, s->flat.nv + 1, sizeof *s->order)) return c->oom = 1, 0;
        for (size_t i = 0; i < s->flat.nv; i++) s->order[i] = (uint32_t)i;
        /* a stable order is not needed: equal fields may come in any order */
        qsort_r(s->order, s->flat.nv, sizeof *s->order, cmp_order, s->flat.v);
        s->sorted = 1;
    }
    if (grow((void **)&s->chosen, &s->capchosen, sb->nslots + 1, sizeof *s->chosen)) return c->oom = 1, 0;
    search e = {m, s, sb, 0};
    return dfs(&e, 0);
}

int km_matcher_match(const km_matcher *m, km_match_scratch *s, const char *event, size_t len,
                     const uint32_t **ids, km_error *err) {
    km_match_limits lim = m->lim;
    if (!lim.max_depth) lim.max_depth = 512;
    if (!lim.max_event_bytes) lim.max_event_bytes = (size_t)256 << 20;
    if (!lim.max_fields) lim.max_fields = 1000000;
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
    s->sorted = 0;
    mctx c = {m, s, 0};
    for (size_t i = 0; i < s->flat.nv; i++) match_value(&c, &s->flat.v[i]);
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
