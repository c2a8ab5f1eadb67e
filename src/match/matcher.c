/* The matcher: patterns under ids, matched against events.
 *
 * Phase 1 engine (simple and exact): the event is parsed into the JSON document model and
 * flattened into leaf fields (dotted name, value, array element); each pattern's sub-rules are
 * then tried one by one with a backtracking search that keeps the chosen values array-consistent
 * (docs/matcher.md). */
#include "kumomori/match.h"
#include "kumomori/json.h"
#include "match/internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct entry {
    uint32_t id;
    km_pattern *p;
} entry;

struct km_matcher {
    km_match_limits lim;
    entry *e;
    size_t n, cap;
};

/* An array element that is an object or array: event-ruler's ArrayMembership entry. */
typedef struct elem {
    int32_t parent; /* enclosing element, -1 none */
    uint32_t array; /* array id, unique per array in the event */
    uint32_t index;
    uint32_t depth;
} elem;

typedef struct field {
    const char *name;
    size_t name_len;
    km_value v;
    int32_t elem;
} field;

struct km_match_scratch {
    field *f;
    size_t nf, capf;
    elem *el;
    size_t nel, capel;
    char *names;
    size_t names_len, names_cap;
    uint32_t *ids;
    size_t nids, capids;
    size_t *chosen;
    size_t capchosen;
    km_json_doc *doc;
};

km_matcher *km_matcher_new(void) {
    km_matcher *m = calloc(1, sizeof *m);
    return m;
}

void km_matcher_free(km_matcher *m) {
    if (!m) return;
    for (size_t i = 0; i < m->n; i++) km_pattern_free(m->e[i].p);
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

int km_matcher_add(km_matcher *m, uint32_t id, const char *pattern, size_t len, km_error *err) {
    km_pattern *p = km_pattern_compile(pattern, len, err);
    if (!p) return err && err->code ? err->code : KM_ERR;
    if (m->n == m->cap) {
        size_t nc = m->cap ? m->cap * 2 : 16;
        entry *ne = realloc(m->e, nc * sizeof *ne);
        if (!ne) {
            km_pattern_free(p);
            return km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory adding a pattern");
        }
        m->e = ne;
        m->cap = nc;
    }
    m->e[m->n++] = (entry){id, p};
    return KM_OK;
}

int km_matcher_delete(km_matcher *m, uint32_t id) {
    size_t j = 0;
    int removed = 0;
    for (size_t i = 0; i < m->n; i++) {
        if (m->e[i].id == id) {
            km_pattern_free(m->e[i].p);
            removed = 1;
        } else {
            m->e[j++] = m->e[i];
        }
    }
    m->n = j;
    return removed;
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

size_t km_matcher_count(const km_matcher *m) {
    if (!m || m->n == 0) return 0;
    uint32_t *ids = malloc(m->n * sizeof *ids);
    if (!ids) return 0;
    for (size_t i = 0; i < m->n; i++) ids[i] = m->e[i].id;
    qsort(ids, m->n, sizeof *ids, cmp_u32);
    size_t k = 1;
    for (size_t i = 1; i < m->n; i++)
        if (ids[i] != ids[i - 1]) k++;
    free(ids);
    return k;
}

km_match_scratch *km_match_scratch_new(void) { return calloc(1, sizeof(km_match_scratch)); }

void km_match_scratch_free(km_match_scratch *s) {
    if (!s) return;
    free(s->f);
    free(s->el);
    free(s->names);
    free(s->ids);
    free(s->chosen);
    km_json_doc_free(s->doc);
    free(s);
}

/* ---- flattening ------------------------------------------------------------------------- */

typedef struct fl {
    km_match_scratch *s;
    const km_match_limits *lim;
    km_error *err;
    uint32_t narrays;
    char *path; /* current dotted name */
    size_t plen, pcap;
} fl;

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

static int add_field(fl *f, const km_json *v, int32_t el) {
    km_match_scratch *s = f->s;
    if (s->nf >= f->lim->max_fields)
        return km_error_set(f->err, KM_ELIMIT, v->offset, "event has more than %zu fields", f->lim->max_fields);
    if (grow((void **)&s->f, &s->capf, s->nf + 1, sizeof *s->f)) return km_error_set(f->err, KM_ENOMEM, v->offset, "out of memory");
    field *fd = &s->f[s->nf++];
    memset(fd, 0, sizeof *fd);
    /* names are stored as offsets first (the buffer may move), fixed up after flattening */
    if (grow((void **)&s->names, &s->names_cap, s->names_len + f->plen + 1, 1))
        return km_error_set(f->err, KM_ENOMEM, v->offset, "out of memory");
    memcpy(s->names + s->names_len, f->path, f->plen);
    fd->name = (const char *)(uintptr_t)s->names_len;
    fd->name_len = f->plen;
    s->names_len += f->plen;
    s->names[s->names_len++] = 0;
    fd->elem = el;
    switch (v->type) {
    case KM_JSON_STRING:
        fd->v.type = KM_V_STRING;
        fd->v.s = v->u.str.s;
        fd->v.len = v->u.str.len;
        break;
    case KM_JSON_NUMBER:
        fd->v.type = KM_V_NUMBER;
        fd->v.s = v->u.num.raw;
        fd->v.len = v->u.num.len;
        fd->v.num_ok = km_num_comparable(v->u.num.raw, v->u.num.len, &fd->v.d);
        break;
    case KM_JSON_TRUE: fd->v.type = KM_V_TRUE; fd->v.s = "true"; fd->v.len = 4; break;
    case KM_JSON_FALSE: fd->v.type = KM_V_FALSE; fd->v.s = "false"; fd->v.len = 5; break;
    default: fd->v.type = KM_V_NULL; fd->v.s = "null"; fd->v.len = 4; break;
    }
    return 0;
}

static int walk(fl *f, const km_json *v, int32_t el, uint32_t nsteps);

static int walk_array(fl *f, const km_json *v, int32_t el, uint32_t nsteps) {
    uint32_t arr = f->narrays++;
    for (size_t i = 0; i < v->u.arr.n; i++) {
        const km_json *it = v->u.arr.items[i];
        if (it->type == KM_JSON_OBJECT || it->type == KM_JSON_ARRAY) {
            km_match_scratch *s = f->s;
            if (grow((void **)&s->el, &s->capel, s->nel + 1, sizeof *s->el))
                return km_error_set(f->err, KM_ENOMEM, it->offset, "out of memory");
            int32_t ne = (int32_t)s->nel;
            s->el[s->nel++] = (elem){el, arr, (uint32_t)i, el >= 0 ? s->el[el].depth + 1 : 0};
            if (walk(f, it, ne, nsteps)) return -1;
        } else if (add_field(f, it, el)) {
            return -1;
        }
    }
    return 0;
}

/* Field names join the object keys with '.', arrays add nothing (event-ruler's Path.name). */
static int walk(fl *f, const km_json *v, int32_t el, uint32_t nsteps) {
    if (v->type == KM_JSON_ARRAY) return walk_array(f, v, el, nsteps);
    if (v->type != KM_JSON_OBJECT) return add_field(f, v, el);
    for (size_t i = 0; i < v->u.obj.n; i++) {
        const km_json_member *mb = &v->u.obj.members[i];
        size_t old = f->plen;
        size_t need = f->plen + 1 + mb->key_len + 1;
        if (grow((void **)&f->path, &f->pcap, need, 1)) return km_error_set(f->err, KM_ENOMEM, v->offset, "out of memory");
        if (nsteps > 0) f->path[f->plen++] = '.';
        memcpy(f->path + f->plen, mb->key, mb->key_len);
        f->plen += mb->key_len;
        int rc = walk(f, mb->value, el, nsteps + 1);
        f->plen = old;
        if (rc) return rc;
    }
    return 0;
}

static int field_cmp(const void *a, const void *b) {
    const field *x = a, *y = b;
    int c = km_java_strcmp(x->name, x->name_len, y->name, y->name_len);
    return c;
}

/* ---- array consistency ------------------------------------------------------------------- */

/* Two values are consistent unless they lie in different elements of one array. */
static int consistent(const elem *el, int32_t a, int32_t b) {
    if (a < 0 || b < 0 || a == b) return 1;
    while (el[a].depth > el[b].depth) a = el[a].parent;
    while (el[b].depth > el[a].depth) b = el[b].parent;
    while (a != b && el[a].parent != el[b].parent) {
        a = el[a].parent;
        b = el[b].parent;
    }
    if (a == b) return 1;
    return el[a].array != el[b].array;
}

typedef struct ev {
    km_match_scratch *s;
    const km_subrule *sub;
    size_t *lo, *hi; /* per pattern field: range of event fields with that name */
    size_t nchosen;
} ev;

static int consistent_all(ev *e, int32_t el) {
    for (size_t i = 0; i < e->nchosen; i++)
        if (!consistent(e->s->el, e->s->f[e->s->chosen[i]].elem, el)) return 0;
    return 1;
}

static int search(ev *e, size_t k) {
    if (k == e->sub->nfields) return 1;
    const km_pfield *pf = &e->sub->fields[k];
    field *f = e->s->f;
    if (pf->absent) {
        int present = 0;
        for (size_t i = e->lo[k]; i < e->hi[k] && !present; i++)
            if (consistent_all(e, f[i].elem)) present = 1;
        if (!present && search(e, k + 1)) return 1;
    }
    for (size_t i = e->lo[k]; i < e->hi[k]; i++) {
        if (!consistent_all(e, f[i].elem)) continue;
        int ok = 0;
        for (size_t j = 0; j < pf->nvm && !ok; j++) ok = km_vm_match(&pf->vms[j], &f[i].v);
        if (!ok) continue;
        e->s->chosen[e->nchosen++] = i;
        int r = search(e, k + 1);
        e->nchosen--;
        if (r) return 1;
    }
    return 0;
}

static void name_range(const km_match_scratch *s, const km_str *name, size_t *lo, size_t *hi) {
    size_t a = 0, b = s->nf;
    while (a < b) {
        size_t mid = (a + b) / 2;
        if (km_java_strcmp(s->f[mid].name, s->f[mid].name_len, name->s, name->len) < 0) a = mid + 1;
        else b = mid;
    }
    *lo = a;
    b = s->nf;
    size_t c = a;
    while (c < b) {
        size_t mid = (c + b) / 2;
        if (km_java_strcmp(s->f[mid].name, s->f[mid].name_len, name->s, name->len) <= 0) c = mid + 1;
        else b = mid;
    }
    *hi = c;
}

static int pattern_matches(km_match_scratch *s, const km_pattern *p) {
    for (size_t i = 0; i < p->nsubs; i++) {
        const km_subrule *sub = &p->subs[i];
        size_t stack_lo[32], stack_hi[32];
        size_t *lo = stack_lo, *hi = stack_hi;
        if (sub->nfields > 32) {
            lo = malloc(sub->nfields * sizeof *lo);
            hi = malloc(sub->nfields * sizeof *hi);
            if (!lo || !hi) { free(lo == stack_lo ? NULL : lo); free(hi == stack_hi ? NULL : hi); return -1; }
        }
        if (grow((void **)&s->chosen, &s->capchosen, sub->nfields + 1, sizeof *s->chosen)) return -1;
        for (size_t k = 0; k < sub->nfields; k++) name_range(s, &sub->fields[k].name, &lo[k], &hi[k]);
        ev e = {s, sub, lo, hi, 0};
        int r = search(&e, 0);
        if (lo != stack_lo) { free(lo); free(hi); }
        if (r) return 1;
    }
    return 0;
}

int km_matcher_match(const km_matcher *m, km_match_scratch *s, const char *event, size_t len,
                     const uint32_t **ids, km_error *err) {
    km_match_limits lim = m->lim;
    if (!lim.max_depth) lim.max_depth = 512;
    if (!lim.max_event_bytes) lim.max_event_bytes = (size_t)256 << 20;
    if (!lim.max_fields) lim.max_fields = 1000000;
    *ids = NULL;
    if (len > lim.max_event_bytes)
        return km_error_set(err, KM_ELIMIT, 0, "event is %zu bytes, more than the limit of %zu", len, lim.max_event_bytes),
               -1;
    km_json_doc_free(s->doc);
    km_json_opts jo = {.max_depth = lim.max_depth, .replace_invalid_utf8 = 1};
    s->doc = km_json_parse(event, len, &jo, NULL, err);
    if (!s->doc) return -1;
    const km_json *root = km_json_root(s->doc);
    if (root->type != KM_JSON_OBJECT) {
        km_error_set(err, KM_ERR, root->offset, "event is not a JSON object");
        return -1;
    }
    s->nf = s->nel = s->names_len = s->nids = 0;
    fl f = {.s = s, .lim = &lim, .err = err};
    int rc = walk(&f, root, -1, 0);
    free(f.path);
    if (rc) return -1;
    for (size_t i = 0; i < s->nf; i++) s->f[i].name = s->names + (uintptr_t)s->f[i].name;
    if (s->nf > 1) qsort(s->f, s->nf, sizeof *s->f, field_cmp);
    for (size_t i = 0; i < m->n; i++) {
        /* an id already matched needs no second look */
        int seen = 0;
        for (size_t k = 0; k < s->nids && !seen; k++) seen = s->ids[k] == m->e[i].id;
        if (seen) continue;
        int r = pattern_matches(s, m->e[i].p);
        if (r < 0) return km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory matching"), -1;
        if (r) {
            if (grow((void **)&s->ids, &s->capids, s->nids + 1, sizeof *s->ids))
                return km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory matching"), -1;
            s->ids[s->nids++] = m->e[i].id;
        }
    }
    if (s->nids > 1) qsort(s->ids, s->nids, sizeof *s->ids, cmp_u32);
    *ids = s->ids;
    return (int)s->nids;
}
