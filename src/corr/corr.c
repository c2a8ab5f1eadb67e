/* Stateful detection engine (corr.h). Hand-written because the state must be bounded, saved and
 * restored exactly (kumomori watch survives kill -9), and applied in a deterministic order; no
 * Debian library offers windowed grouping with those properties. */
#include "corr/corr.h"
#include "kumomori/json.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_THRESHOLD 1000000u
#define ANCHORED_MAX_VALUES 100000u /* distinct values kept per anchored window */
#define NONE INT64_MIN

/* ---- small helpers ---- */

static uint64_t fnv(const void *p, size_t n, uint64_t h) {
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 1099511628211ULL;
    }
    return h;
}
#define FNV0 1469598103934665603ULL

static char *xstrdup(const char *s) {
    if (!s) return NULL;
    size_t n = strlen(s);
    char *p = malloc(n + 1);
    if (p) memcpy(p, s, n + 1);
    return p;
}


/* ---- stored hits ---- */

typedef struct hitrec {
    uint32_t id;
    int64_t t;
    uint64_t seq;
    char **vals;
    size_t nvals;
    char *event_id;
    char *ctx;
    size_t ctx_len;
} hitrec;

/* A stored hit is one allocation: the record, its value pointers, then the strings. */
static void hit_free(hitrec *h) { free(h); }

static hitrec *hit_copy(uint32_t id, int64_t t, uint64_t seq, const char *const *vals, size_t nvals, const char *eid,
                        const char *ctx, size_t ctx_len) {
    size_t total = sizeof(hitrec) + nvals * sizeof(char *);
    for (size_t i = 0; i < nvals; i++)
        if (vals[i]) total += strlen(vals[i]) + 1;
    if (eid) total += strlen(eid) + 1;
    if (ctx) total += ctx_len + 1;
    hitrec *h = malloc(total);
    if (!h) return NULL;
    h->id = id;
    h->t = t;
    h->seq = seq;
    h->nvals = nvals;
    h->vals = nvals ? (char **)(h + 1) : NULL;
    char *p = (char *)(h + 1) + nvals * sizeof(char *);
    for (size_t i = 0; i < nvals; i++) {
        if (!vals[i]) {
            h->vals[i] = NULL;
            continue;
        }
        size_t l = strlen(vals[i]) + 1;
        memcpy(p, vals[i], l);
        h->vals[i] = p;
        p += l;
    }
    h->event_id = NULL;
    if (eid) {
        size_t l = strlen(eid) + 1;
        memcpy(p, eid, l);
        h->event_id = p;
        p += l;
    }
    h->ctx = NULL;
    h->ctx_len = 0;
    if (ctx) {
        if (ctx_len) memcpy(p, ctx, ctx_len);
        p[ctx_len] = 0;
        h->ctx = p;
        h->ctx_len = ctx_len;
    }
    return h;
}

/* ---- a set of value hashes with times, in time order (value_count) ---- */

typedef struct ventry {
    uint64_t h;
    int64_t t;
    int32_t prev, next; /* time order; -1 ends */
} ventry;

typedef struct vset {
    ventry *e;
    uint32_t ne, cape;
    int32_t head, tail, freelist;
    int32_t *tab;  /* open addressing: entry index or -1 */
    uint32_t tabsz;
    uint32_t live;
} vset;

static void vset_free(vset *v) {
    free(v->e);
    free(v->tab);
    memset(v, 0, sizeof *v);
    v->head = v->tail = v->freelist = -1;
}

static void vset_init(vset *v) {
    memset(v, 0, sizeof *v);
    v->head = v->tail = v->freelist = -1;
}

static int vset_rehash(vset *v, uint32_t sz) {
    int32_t *t = malloc(sz * sizeof *t);
    if (!t) return -1;
    for (uint32_t i = 0; i < sz; i++) t[i] = -1;
    for (int32_t i = v->head; i >= 0; i = v->e[i].next) {
        uint32_t k = (uint32_t)(v->e[i].h & (sz - 1));
        while (t[k] >= 0) k = (k + 1) & (sz - 1);
        t[k] = i;
    }
    free(v->tab);
    v->tab = t;
    v->tabsz = sz;
    return 0;
}

static int32_t vset_find(const vset *v, uint64_t h, uint32_t *slot) {
    if (!v->tabsz) return -1;
    uint32_t k = (uint32_t)(h & (v->tabsz - 1));
    while (v->tab[k] >= 0) {
        if (v->e[v->tab[k]].h == h) {
            if (slot) *slot = k;
            return v->tab[k];
        }
        k = (k + 1) & (v->tabsz - 1);
    }
    if (slot) *slot = k;
    return -1;
}

static void unlink_e(vset *v, int32_t i) {
    ventry *x = &v->e[i];
    if (x->prev >= 0) v->e[x->prev].next = x->next;
    else v->head = x->next;
    if (x->next >= 0) v->e[x->next].prev = x->prev;
    else v->tail = x->prev;
}

static void append_e(vset *v, int32_t i) {
    v->e[i].prev = v->tail;
    v->e[i].next = -1;
    if (v->tail >= 0) v->e[v->tail].next = i;
    else v->head = i;
    v->tail = i;
}

/* Insert or refresh h at time t (t never decreases for one set). */
static int vset_put(vset *v, uint64_t h, int64_t t) {
    int32_t i = vset_find(v, h, NULL);
    if (i >= 0) {
        v->e[i].t = t;
        unlink_e(v, i);
        append_e(v, i);
        return 0;
    }
    if ((v->live + 1) * 2 > v->tabsz && vset_rehash(v, v->tabsz ? v->tabsz * 2 : 16)) return -1;
    if (v->freelist >= 0) {
        i = v->freelist;
        v->freelist = v->e[i].next;
    } else {
        if (v->ne == v->cape) {
            uint32_t nc = v->cape ? v->cape * 2 : 8;
            ventry *ne = realloc(v->e, nc * sizeof *ne);
            if (!ne) return -1;
            v->e = ne;
            v->cape = nc;
        }
        i = (int32_t)v->ne++;
    }
    v->e[i].h = h;
    v->e[i].t = t;
    append_e(v, i);
    uint32_t slot;
    vset_find(v, h, &slot);
    v->tab[slot] = i;
    v->live++;
    return 0;
}

/* Remove entry i (linear probing deletion by backward shift). */
static void vset_del(vset *v, int32_t i) {
    uint32_t k;
    vset_find(v, v->e[i].h, &k);
    v->tab[k] = -1;
    uint32_t j = k;
    for (;;) {
        j = (j + 1) & (v->tabsz - 1);
        if (v->tab[j] < 0) break;
        uint32_t home = (uint32_t)(v->e[v->tab[j]].h & (v->tabsz - 1));
        /* can the entry at j move to k? yes unless its home lies cyclically in (k, j] */
        int in_range = k <= j ? (home > k && home <= j) : (home > k || home <= j);
        if (!in_range) {
            v->tab[k] = v->tab[j];
            v->tab[j] = -1;
            k = j;
        }
    }
    unlink_e(v, i);
    v->e[i].next = v->freelist;
    v->freelist = i;
    v->live--;
}

static void vset_expire(vset *v, int64_t lo) {
    while (v->head >= 0 && v->e[v->head].t < lo) vset_del(v, v->head);
}

static void vset_clear(vset *v) {
    vset_free(v);
}

/* ---- groups and rules ---- */

typedef struct group {
    uint64_t hash;
    char *key;
    char **gvals;
    struct group *hnext, *prev, *next; /* hash chain; LRU list (next = more recent) */
    /* event_count (sliding): ring of times */
    int64_t *ts;
    uint32_t ts_head, ts_n, ts_cap;
    /* value_count */
    vset vs;
    /* anchored (lt/lte/eq or ranges): window start and counts */
    int64_t start, lastt;
    uint64_t count;
    hitrec *last;
    /* temporal(_ordered): per input */
    int64_t *tt;
    uint64_t *tseq;
    int64_t first_seen;  /* the group's first event (new_within_ms) */
    char *differ_val;    /* temporal_ordered: the differ field's value at the chain's start */
} group;

typedef struct crule {
    km_corr_def d;
    uint32_t *inputs;
    char **group_by;
    char **group_fields; /* ninputs * ngroup, resolved (never NULL) */
    char *value_field;
    char *differ_field;
    size_t *didx;        /* [j]: index of differ_field in fields(inputs[j]) */
    int anchored;        /* the condition is not only gt/gte */
    uint64_t need;       /* sliding: count at which it fires */
    size_t *gidx;        /* [j * ngroup + g]: index of the field in fields(inputs[j]) */
    size_t *vidx;        /* [j]: index of value_field in fields(inputs[j]) */
    size_t *fidx;        /* for this rule's own fields(): index in fields(input) of the same name, per input */
    group **tab;
    size_t tabsz, ngroups;
    group *lru_old, *lru_new;
    int64_t next_close;  /* anchored: earliest window end among groups (NONE when unknown) */
} crule;

typedef struct fieldlist {
    uint32_t id;
    char **paths;
    size_t n;
    uint32_t *consumers; /* rule indexes that read this id */
    size_t *consumer_input; /* and as which input */
    size_t nconsumers;
} fieldlist;

struct km_corr {
    km_corr_opts o;
    crule *rules;
    size_t nrules;
    fieldlist *fl;
    size_t nfl;
    uint32_t *fl_of;   /* after km_corr_finish: id -> index in fl + 1 (0: none), for ids < nfl_of */
    size_t nfl_of;
    size_t *anchored;  /* after km_corr_finish: the indexes of the anchored rules, which a tick closes */
    size_t nanchored;
    int finished;
    hitrec **heap;
    size_t nheap, capheap;
    uint64_t seq;
    int64_t maxt;
    km_corr_stats st;
    km_corr_emit_fn emit;
    void *emit_ctx;
    int depth;
};

km_corr *km_corr_new(const km_corr_opts *opts) {
    km_corr *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    if (opts) e->o = *opts;
    if (!e->o.max_groups) e->o.max_groups = 100000;
    if (!e->o.max_pending) e->o.max_pending = 1000000;
    e->maxt = NONE;
    return e;
}

static void group_free(group *g, size_t ngroup) {
    if (!g) return;
    free(g->key);
    for (size_t i = 0; g->gvals && i < ngroup; i++) free(g->gvals[i]); /* gvals is NULL when its calloc failed */
    free(g->gvals);
    free(g->ts);
    vset_free(&g->vs);
    hit_free(g->last);
    free(g->tt);
    free(g->tseq);
    free(g->differ_val);
    free(g);
}

static void rule_clear_groups(crule *r) {
    for (group *g = r->lru_old, *n; g; g = n) {
        n = g->next;
        group_free(g, r->d.ngroup);
    }
    r->lru_old = r->lru_new = NULL;
    if (r->tab) memset(r->tab, 0, r->tabsz * sizeof *r->tab);
    r->ngroups = 0;
    r->next_close = NONE;
}

void km_corr_free(km_corr *e) {
    if (!e) return;
    for (size_t i = 0; i < e->nrules; i++) {
        crule *r = &e->rules[i];
        rule_clear_groups(r);
        free(r->tab);
        free(r->inputs);
        /* the arrays are NULL when a rule's setup ran out of memory after the counts were set */
        for (size_t g = 0; r->group_by && g < r->d.ngroup; g++) free(r->group_by[g]);
        free(r->group_by);
        for (size_t k = 0; r->group_fields && k < r->d.ngroup * r->d.ninputs; k++) free(r->group_fields[k]);
        free(r->group_fields);
        free(r->value_field);
        free(r->differ_field);
        free(r->didx);
        free(r->gidx);
        free(r->vidx);
        free(r->fidx);
    }
    free(e->rules);
    for (size_t i = 0; i < e->nfl; i++) {
        for (size_t k = 0; k < e->fl[i].n; k++) free(e->fl[i].paths[k]);
        free(e->fl[i].paths);
        free(e->fl[i].consumers);
        free(e->fl[i].consumer_input);
    }
    free(e->fl);
    free(e->fl_of);
    free(e->anchored);
    for (size_t i = 0; i < e->nheap; i++) hit_free(e->heap[i]);
    free(e->heap);
    free(e);
}

static crule *rule_by_id(const km_corr *e, uint32_t id) {
    for (size_t i = 0; i < e->nrules; i++)
        if (e->rules[i].d.id == id) return &e->rules[i];
    return NULL;
}

int km_corr_add(km_corr *e, const km_corr_def *d, km_error *err) {
    if (e->finished) return km_error_set(err, KM_ERR, (size_t)-1, "rules cannot be added after km_corr_finish");
    if (!d->ninputs) return km_error_set(err, KM_ERR, (size_t)-1, "a stateful rule needs at least one input rule");
    if (rule_by_id(e, d->id)) return km_error_set(err, KM_ERR, (size_t)-1, "two stateful rules with id %u", d->id);
    if (!d->span_ms) return km_error_set(err, KM_ERR, (size_t)-1, "a stateful rule needs a time span");
    if (d->ngroup > 64) return km_error_set(err, KM_ERR, (size_t)-1, "more than 64 group-by fields");
    if (d->type == KM_CORR_VALUE_COUNT && !d->value_field)
        return km_error_set(err, KM_ERR, (size_t)-1, "value_count needs a field");
    if (d->differ_field && d->type != KM_CORR_TEMPORAL_ORDERED)
        return km_error_set(err, KM_ERR, (size_t)-1, "\"differ\" only goes with temporal_ordered");
    if (d->new_within_ms && d->type != KM_CORR_EVENT_COUNT && d->type != KM_CORR_VALUE_COUNT)
        return km_error_set(err, KM_ERR, (size_t)-1, "\"first-seen-within\" only goes with counts");
    const km_count_cond *c = &d->cond;
    if ((d->type == KM_CORR_EVENT_COUNT || d->type == KM_CORR_VALUE_COUNT) && !d->has_cond)
        return km_error_set(err, KM_ERR, (size_t)-1, "a count needs a condition");
    if ((c->has_gt && c->gt >= MAX_THRESHOLD) || (c->has_gte && c->gte > MAX_THRESHOLD) || (c->has_lt && c->lt > MAX_THRESHOLD) ||
        (c->has_lte && c->lte > MAX_THRESHOLD) || (c->has_eq && c->eq > MAX_THRESHOLD))
        return km_error_set(err, KM_ERR, (size_t)-1, "a threshold above %u is not supported (state is kept per event)", MAX_THRESHOLD);
    crule *nr = realloc(e->rules, (e->nrules + 1) * sizeof *nr);
    if (!nr) return km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
    e->rules = nr;
    crule *r = &e->rules[e->nrules];
    memset(r, 0, sizeof *r);
    r->d = *d;
    r->next_close = NONE;
    int oom = 0;
    r->inputs = malloc(d->ninputs * sizeof *r->inputs);
    r->group_by = calloc(d->ngroup ? d->ngroup : 1, sizeof *r->group_by);
    r->group_fields = calloc(d->ngroup * d->ninputs + 1, sizeof *r->group_fields);
    if (!r->inputs || !r->group_by || !r->group_fields) oom = 1;
    for (size_t j = 0; !oom && j < d->ninputs; j++) r->inputs[j] = d->inputs[j];
    for (size_t g = 0; !oom && g < d->ngroup; g++)
        if (!(r->group_by[g] = xstrdup(d->group_by[g]))) oom = 1;
    for (size_t j = 0; !oom && j < d->ninputs; j++)
        for (size_t g = 0; !oom && g < d->ngroup; g++) {
            const char *f = d->group_fields && d->group_fields[j * d->ngroup + g] ? d->group_fields[j * d->ngroup + g] : d->group_by[g];
            if (!(r->group_fields[j * d->ngroup + g] = xstrdup(f))) oom = 1;
        }
    if (!oom && d->value_field && !(r->value_field = xstrdup(d->value_field))) oom = 1;
    if (!oom && d->differ_field && !(r->differ_field = xstrdup(d->differ_field))) oom = 1;
    r->d.inputs = r->inputs;
    r->d.group_by = (const char *const *)r->group_by;
    r->d.group_fields = (const char *const *)r->group_fields;
    r->d.value_field = r->value_field;
    r->d.differ_field = r->differ_field;
    e->nrules++; /* freed with the engine even when incomplete */
    if (oom) return km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
    if (d->type == KM_CORR_EVENT_COUNT || d->type == KM_CORR_VALUE_COUNT) {
        r->anchored = c->has_lt || c->has_lte || c->has_eq;
        if (!r->anchored) {
            uint64_t need = 1;
            if (c->has_gt && c->gt + 1 > need) need = c->gt + 1;
            if (c->has_gte && c->gte > need) need = c->gte;
            r->need = need;
        }
    }
    return KM_OK;
}

/* The field list of id once the engine is finished: a table lookup (this runs for every hit and
 * every record a threshold reads), else NULL. */
static inline const fieldlist *fl_find(const km_corr *e, uint32_t id) {
    if (e->fl_of) {
        uint32_t k = id < e->nfl_of ? e->fl_of[id] : 0;
        return k ? &e->fl[k - 1] : NULL;
    }
    for (size_t i = 0; i < e->nfl; i++)
        if (e->fl[i].id == id) return &e->fl[i];
    return NULL;
}

static fieldlist *fl_get(km_corr *e, uint32_t id, int create) {
    if (e->fl_of) return (fieldlist *)fl_find(e, id); /* finished: nothing more is created */
    for (size_t i = 0; i < e->nfl; i++)
        if (e->fl[i].id == id) return &e->fl[i];
    if (!create) return NULL;
    fieldlist *n = realloc(e->fl, (e->nfl + 1) * sizeof *n);
    if (!n) return NULL;
    e->fl = n;
    fieldlist *f = &e->fl[e->nfl++];
    memset(f, 0, sizeof *f);
    f->id = id;
    return f;
}

static long fl_index(const fieldlist *f, const char *path) {
    for (size_t i = 0; f && i < f->n; i++)
        if (!strcmp(f->paths[i], path)) return (long)i;
    return -1;
}

/* 1 added, 0 already there, -1 out of memory */
static int fl_add(fieldlist *f, const char *path) {
    if (fl_index(f, path) >= 0) return 0;
    char **np = realloc(f->paths, (f->n + 1) * sizeof *np);
    if (!np) return -1;
    f->paths = np;
    if (!(f->paths[f->n] = xstrdup(path))) return -1;
    f->n++;
    return 1;
}

int km_corr_finish(km_corr *e, km_error *err) {
    /* fields each id must carry: what its consumers read, propagated down chains to a fixed point */
    int changed = 1;
    size_t rounds = 0;
    while (changed) {
        changed = 0;
        if (++rounds > e->nrules + 2) return km_error_set(err, KM_ERR, (size_t)-1, "stateful rules refer to each other in a loop");
        for (size_t i = 0; i < e->nrules; i++) {
            crule *r = &e->rules[i];
            fieldlist *own = fl_get(e, r->d.id, 1);
            if (!own) return km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
            for (size_t j = 0; j < r->d.ninputs; j++) {
                fieldlist *in = fl_get(e, r->inputs[j], 1);
                own = fl_get(e, r->d.id, 0);
                if (!in || !own) return km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
                for (size_t g = 0; g < r->d.ngroup; g++) {
                    int a = fl_add(in, r->group_fields[j * r->d.ngroup + g]);
                    if (a < 0) return km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
                    changed |= a;
                }
                if (r->value_field) {
                    int a = fl_add(in, r->value_field);
                    if (a < 0) return km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
                    changed |= a;
                }
                if (r->differ_field) {
                    int a = fl_add(in, r->differ_field);
                    if (a < 0) return km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
                    changed |= a;
                }
                /* what consumers read from this rule's output comes from its inputs' events */
                for (size_t k = 0; k < own->n; k++) {
                    int a = fl_add(in, own->paths[k]);
                    if (a < 0) return km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
                    changed |= a;
                }
            }
        }
    }
    /* loops: a rule reachable from itself */
    for (size_t i = 0; i < e->nrules; i++) {
        uint32_t *stack = malloc((e->nrules + 1) * 64 * sizeof *stack);
        size_t sp = 0, steps = 0;
        if (!stack) return km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
        for (size_t j = 0; j < e->rules[i].d.ninputs; j++) stack[sp++] = e->rules[i].inputs[j];
        while (sp) {
            uint32_t id = stack[--sp];
            if (id == e->rules[i].d.id) {
                free(stack);
                return km_error_set(err, KM_ERR, (size_t)-1, "stateful rule %u reads its own output through a chain of rules (a loop)", id);
            }
            crule *r = rule_by_id(e, id);
            if (!r) continue;
            if (++steps > 100000) break;
            for (size_t j = 0; j < r->d.ninputs && sp < (e->nrules + 1) * 64; j++) stack[sp++] = r->inputs[j];
        }
        free(stack);
    }
    /* index maps */
    for (size_t i = 0; i < e->nrules; i++) {
        crule *r = &e->rules[i];
        r->gidx = calloc(r->d.ninputs * r->d.ngroup + 1, sizeof *r->gidx);
        r->vidx = calloc(r->d.ninputs + 1, sizeof *r->vidx);
        r->didx = calloc(r->d.ninputs + 1, sizeof *r->didx);
        fieldlist *own = fl_get(e, r->d.id, 0);
        r->fidx = calloc(r->d.ninputs * (own ? own->n : 0) + 1, sizeof *r->fidx);
        if (!r->gidx || !r->vidx || !r->fidx || !r->didx) return km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
        for (size_t j = 0; j < r->d.ninputs; j++) {
            fieldlist *in = fl_get(e, r->inputs[j], 0);
            for (size_t g = 0; g < r->d.ngroup; g++) r->gidx[j * r->d.ngroup + g] = (size_t)fl_index(in, r->group_fields[j * r->d.ngroup + g]);
            if (r->value_field) r->vidx[j] = (size_t)fl_index(in, r->value_field);
            if (r->differ_field) r->didx[j] = (size_t)fl_index(in, r->differ_field);
            for (size_t k = 0; own && k < own->n; k++) r->fidx[j * own->n + k] = (size_t)fl_index(in, own->paths[k]);
            /* consumers */
            uint32_t *nc = realloc(in->consumers, (in->nconsumers + 1) * sizeof *nc);
            if (!nc) return km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
            in->consumers = nc;
            size_t *ni = realloc(in->consumer_input, (in->nconsumers + 1) * sizeof *ni);
            if (!ni) return km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
            in->consumer_input = ni;
            in->consumers[in->nconsumers] = (uint32_t)i;
            in->consumer_input[in->nconsumers++] = j;
        }
    }
    /* lookup tables for the hot path (ids are rule indexes: a small table) */
    uint32_t maxid = 0;
    for (size_t i = 0; i < e->nfl; i++)
        if (e->fl[i].id > maxid) maxid = e->fl[i].id;
    if (e->nfl && maxid < (1u << 24)) {
        uint32_t *t = calloc((size_t)maxid + 1, sizeof *t);
        if (!t) return km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
        for (size_t i = e->nfl; i-- > 0;) t[e->fl[i].id] = (uint32_t)i + 1; /* the first of an id, as the scan finds */
        free(e->fl_of);
        e->fl_of = t;
        e->nfl_of = (size_t)maxid + 1;
    }
    free(e->anchored);
    e->anchored = malloc((e->nrules ? e->nrules : 1) * sizeof *e->anchored);
    if (!e->anchored) return km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
    e->nanchored = 0;
    for (size_t i = 0; i < e->nrules; i++)
        if (e->rules[i].anchored) e->anchored[e->nanchored++] = i;
    e->finished = 1;
    return KM_OK;
}

int km_corr_consumes(const km_corr *e, uint32_t id) {
    const fieldlist *f = fl_find(e, id);
    return f && f->nconsumers > 0;
}

size_t km_corr_fields(const km_corr *e, uint32_t id, const char *const **paths) {
    const fieldlist *f = fl_find(e, id);
    *paths = f ? (const char *const *)f->paths : NULL;
    return f ? f->n : 0;
}

/* ---- the reorder buffer (a binary min-heap on time, then arrival) ---- */

static int before(const hitrec *a, const hitrec *b) { return a->t < b->t || (a->t == b->t && a->seq < b->seq); }

static int heap_push(km_corr *e, hitrec *h) {
    if (e->nheap == e->capheap) {
        size_t nc = e->capheap ? e->capheap * 2 : 64;
        hitrec **nh = realloc(e->heap, nc * sizeof *nh);
        if (!nh) return -1;
        e->heap = nh;
        e->capheap = nc;
    }
    size_t i = e->nheap++;
    e->heap[i] = h;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!before(e->heap[i], e->heap[p])) break;
        hitrec *t = e->heap[i];
        e->heap[i] = e->heap[p];
        e->heap[p] = t;
        i = p;
    }
    return 0;
}

static hitrec *heap_pop(km_corr *e) {
    if (!e->nheap) return NULL;
    hitrec *top = e->heap[0];
    e->heap[0] = e->heap[--e->nheap];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < e->nheap && before(e->heap[l], e->heap[m])) m = l;
        if (r < e->nheap && before(e->heap[r], e->heap[m])) m = r;
        if (m == i) break;
        hitrec *t = e->heap[i];
        e->heap[i] = e->heap[m];
        e->heap[m] = t;
        i = m;
    }
    return top;
}

/* ---- groups ---- */

static const char ABSENT[] = "\x1e";

static char *group_key(const crule *r, size_t j, const hitrec *h, uint64_t *hash) {
    km_buf b = KM_BUF_INIT;
    for (size_t g = 0; g < r->d.ngroup; g++) {
        size_t k = r->gidx[j * r->d.ngroup + g];
        const char *v = k < h->nvals ? h->vals[k] : NULL;
        if (g) km_buf_putc(&b, '\x1f');
        km_buf_puts(&b, v ? v : ABSENT);
    }
    if (!b.data) km_buf_puts(&b, "");
    if (b.failed) {
        km_buf_free(&b);
        return NULL;
    }
    *hash = fnv(b.data, b.len, FNV0);
    return km_buf_steal(&b, NULL);
}

/* group_key into buf (cap bytes) when it fits, for the lookup of a group that exists (nearly every
 * hit: a key on the heap, built and freed for each, was a third of applying a hit); NULL when it
 * does not fit. */
static const char *group_key_buf(const crule *r, size_t j, const hitrec *h, char *buf, size_t cap, uint64_t *hash) {
    size_t n = 0;
    for (size_t g = 0; g < r->d.ngroup; g++) {
        size_t k = r->gidx[j * r->d.ngroup + g];
        const char *v = k < h->nvals ? h->vals[k] : NULL;
        if (!v) v = ABSENT;
        size_t l = strlen(v);
        if (n + (g ? 1 : 0) + l + 1 > cap) return NULL;
        if (g) buf[n++] = '\x1f';
        memcpy(buf + n, v, l);
        n += l;
    }
    buf[n] = 0;
    *hash = fnv(buf, n, FNV0);
    return buf;
}

static void lru_unlink(crule *r, group *g) {
    if (g->prev) g->prev->next = g->next;
    else r->lru_old = g->next;
    if (g->next) g->next->prev = g->prev;
    else r->lru_new = g->prev;
    g->prev = g->next = NULL;
}

static void lru_append(crule *r, group *g) {
    g->prev = r->lru_new;
    g->next = NULL;
    if (r->lru_new) r->lru_new->next = g;
    else r->lru_old = g;
    r->lru_new = g;
}

static void tab_remove(crule *r, group *g) {
    group **p = &r->tab[g->hash & (r->tabsz - 1)];
    while (*p && *p != g) p = &(*p)->hnext;
    if (*p) *p = g->hnext;
}

static void group_drop(km_corr *e, crule *r, group *g) {
    (void)e;
    tab_remove(r, g);
    lru_unlink(r, g);
    group_free(g, r->d.ngroup);
    r->ngroups--;
}

static int tab_grow(crule *r) {
    size_t nsz = r->tabsz ? r->tabsz * 2 : 64;
    group **nt = calloc(nsz, sizeof *nt);
    if (!nt) return -1;
    for (group *g = r->lru_old; g; g = g->next) {
        g->hnext = nt[g->hash & (nsz - 1)];
        nt[g->hash & (nsz - 1)] = g;
    }
    free(r->tab);
    r->tab = nt;
    r->tabsz = nsz;
    return 0;
}

static void emit_anchored(km_corr *e, crule *r, group *g);

/* The group for key (created when absent, evicting the least recently used at the cap). */
/* The group of key, made the most recently used, or NULL. */
static group *group_find(crule *r, const char *key, uint64_t hash) {
    if (r->tabsz) {
        for (group *g = r->tab[hash & (r->tabsz - 1)]; g; g = g->hnext)
            if (g->hash == hash && !strcmp(g->key, key)) {
                lru_unlink(r, g);
                lru_append(r, g);
                return g;
            }
    }
    return NULL;
}

static group *group_get(km_corr *e, crule *r, char *key, uint64_t hash, const char *const *gvals) {
    group *found = group_find(r, key, hash);
    if (found) {
        free(key);
        return found;
    }
    if (r->ngroups >= e->o.max_groups && r->lru_old) {
        group *old = r->lru_old;
        if (r->anchored) emit_anchored(e, r, old); /* its window ends now: decide before forgetting it */
        group_drop(e, r, old);
        e->st.evicted_groups++;
    }
    if ((r->ngroups + 1) * 2 > r->tabsz && tab_grow(r)) {
        free(key);
        return NULL;
    }
    group *g = calloc(1, sizeof *g);
    if (!g) {
        free(key);
        return NULL;
    }
    g->key = key;
    g->hash = hash;
    g->start = NONE;
    g->first_seen = NONE;
    vset_init(&g->vs);
    g->gvals = calloc(r->d.ngroup ? r->d.ngroup : 1, sizeof *g->gvals);
    size_t nt = r->d.ninputs;
    if (r->d.type == KM_CORR_TEMPORAL || r->d.type == KM_CORR_TEMPORAL_ORDERED) {
        g->tt = malloc(nt * sizeof *g->tt);
        g->tseq = calloc(nt, sizeof *g->tseq);
        if (g->tt)
            for (size_t j = 0; j < nt; j++) g->tt[j] = NONE;
    }
    int oom = !g->gvals || ((r->d.type == KM_CORR_TEMPORAL || r->d.type == KM_CORR_TEMPORAL_ORDERED) && (!g->tt || !g->tseq));
    for (size_t k = 0; !oom && k < r->d.ngroup; k++)
        if (gvals[k] && !(g->gvals[k] = xstrdup(gvals[k]))) oom = 1;
    if (oom) {
        group_free(g, r->d.ngroup);
        return NULL;
    }
    g->hnext = r->tab[hash & (r->tabsz - 1)];
    r->tab[hash & (r->tabsz - 1)] = g;
    lru_append(r, g);
    r->ngroups++;
    return g;
}

/* ---- firing ---- */

static void apply(km_corr *e, const hitrec *h);

static void fire(km_corr *e, crule *r, group *g, uint64_t count, int64_t first, const hitrec *trigger, size_t j) {
    e->st.fired++;
    km_corr_fire f;
    memset(&f, 0, sizeof f);
    f.id = r->d.id;
    f.group_vals = (const char *const *)g->gvals;
    f.ngroup = r->d.ngroup;
    f.count = count;
    f.first_ms = first;
    f.last_ms = trigger->t;
    f.event_id = trigger->event_id;
    f.ctx = trigger->ctx;
    f.ctx_len = trigger->ctx_len;
    if (e->emit) e->emit(e->emit_ctx, &f);
    /* this rule's output is a hit for the rules that read it */
    fieldlist *own = fl_get(e, r->d.id, 0);
    if (own && own->nconsumers && e->depth < 32) {
        hitrec out;
        memset(&out, 0, sizeof out);
        out.id = r->d.id;
        out.t = trigger->t;
        out.seq = trigger->seq;
        out.event_id = trigger->event_id;
        out.ctx = trigger->ctx;
        out.ctx_len = trigger->ctx_len;
        char **vals = calloc(own->n + 1, sizeof *vals);
        if (!vals) return;
        for (size_t k = 0; k < own->n; k++) {
            size_t ix = r->fidx[j * own->n + k];
            vals[k] = ix < trigger->nvals ? trigger->vals[ix] : NULL;
        }
        out.vals = vals;
        out.nvals = own->n;
        e->depth++;
        apply(e, &out);
        e->depth--;
        free(vals);
    }
}

static int cond_ok(const km_count_cond *c, uint64_t n) {
    if (c->has_gt && !(n > c->gt)) return 0;
    if (c->has_gte && !(n >= c->gte)) return 0;
    if (c->has_lt && !(n < c->lt)) return 0;
    if (c->has_lte && !(n <= c->lte)) return 0;
    if (c->has_eq && !(n == c->eq)) return 0;
    return 1;
}

/* An anchored window ends: decide with its final count. */
static void emit_anchored(km_corr *e, crule *r, group *g) {
    if (g->start == NONE || !g->last) return;
    uint64_t n = r->d.type == KM_CORR_VALUE_COUNT ? g->vs.live : g->count;
    if (cond_ok(&r->d.cond, n)) {
        size_t j = 0;
        for (; j < r->d.ninputs; j++)
            if (r->inputs[j] == g->last->id) break;
        if (j == r->d.ninputs) j = 0;
        fire(e, r, g, n, g->start, g->last, j);
    }
    g->start = NONE;
    g->count = 0;
    vset_clear(&g->vs);
    hit_free(g->last);
    g->last = NULL;
}

static void close_due(km_corr *e, crule *r, int64_t now, int all) {
    if (!r->anchored) return;
    if (!all && (r->next_close == NONE || now <= r->next_close)) return;
    int64_t next = NONE;
    for (group *g = r->lru_old, *nx; g; g = nx) {
        nx = g->next;
        if (g->start == NONE) continue;
        int64_t end = g->start + (int64_t)r->d.span_ms;
        if (all || now > end) emit_anchored(e, r, g);
        else if (next == NONE || end < next) next = end;
    }
    r->next_close = next;
}

static void apply_rule(km_corr *e, crule *r, size_t j, const hitrec *h) {
    uint64_t hash;
    char kb[512];
    const char *sk = group_key_buf(r, j, h, kb, sizeof kb, &hash);
    group *g = sk ? group_find(r, sk, hash) : NULL;
    if (!g) {
        /* a new group (or a key too long for kb): built on the heap, which the group keeps */
        char *key = group_key(r, j, h, &hash);
        if (!key) return;
        const char *gv[64] = {0}; /* ngroup <= 64 (corr_add checks it), so group_get reads only what is set */
        size_t ng = r->d.ngroup < 64 ? r->d.ngroup : 64;
        for (size_t k = 0; k < ng; k++) {
            size_t x = r->gidx[j * r->d.ngroup + k];
            gv[k] = x < h->nvals ? h->vals[x] : NULL;
        }
        g = group_get(e, r, key, hash, gv);
        if (!g) return;
    }
    int64_t t = h->t, span = (int64_t)r->d.span_ms;
    if (g->first_seen == NONE || t < g->first_seen) g->first_seen = t;
    /* first-seen-within: a burst by a group seen for a long time already is not reported */
    int is_new = !r->d.new_within_ms || g->first_seen >= t - (int64_t)r->d.new_within_ms;
    const char *val = NULL;
    if (r->value_field) {
        size_t k = r->vidx[j];
        val = k < h->nvals ? h->vals[k] : NULL;
    }
    switch (r->d.type) {
    case KM_CORR_EVENT_COUNT:
    case KM_CORR_VALUE_COUNT:
        if (r->d.type == KM_CORR_VALUE_COUNT && !val) return; /* no value: nothing to count */
        if (r->anchored) {
            if (g->start != NONE && t > g->start + span) emit_anchored(e, r, g);
            if (g->start == NONE) {
                g->start = t;
                if (r->next_close == NONE || t + span < r->next_close) r->next_close = t + span;
            }
            g->count++;
            if (val && g->vs.live < ANCHORED_MAX_VALUES) vset_put(&g->vs, fnv(val, strlen(val), FNV0), t);
            hit_free(g->last);
            g->last = hit_copy(h->id, h->t, h->seq, (const char *const *)h->vals, h->nvals, h->event_id, h->ctx, h->ctx_len);
            return;
        }
        if (r->d.type == KM_CORR_EVENT_COUNT) {
            /* ring of times, oldest first */
            while (g->ts_n && g->ts[g->ts_head] < t - span) {
                g->ts_head = (g->ts_head + 1) % g->ts_cap;
                g->ts_n--;
            }
            if (g->ts_n == g->ts_cap) {
                uint32_t nc = g->ts_cap ? g->ts_cap * 2 : 8;
                if (nc > r->need) nc = (uint32_t)r->need;
                if (nc <= g->ts_cap) nc = g->ts_cap + 1;
                int64_t *nt = malloc(nc * sizeof *nt);
                if (!nt) return;
                for (uint32_t i = 0; i < g->ts_n; i++) nt[i] = g->ts[(g->ts_head + i) % g->ts_cap];
                free(g->ts);
                g->ts = nt;
                g->ts_cap = nc;
                g->ts_head = 0;
            }
            g->ts[(g->ts_head + g->ts_n) % g->ts_cap] = t;
            g->ts_n++;
            if (g->ts_n >= r->need) {
                int64_t first = g->ts[g->ts_head];
                uint64_t n = g->ts_n;
                g->ts_n = 0;
                g->ts_head = 0;
                if (is_new) fire(e, r, g, n, first, h, j);
            }
            return;
        }
        vset_expire(&g->vs, t - span);
        vset_put(&g->vs, fnv(val, strlen(val), FNV0), t);
        if (g->vs.live >= r->need) {
            int64_t first = g->vs.head >= 0 ? g->vs.e[g->vs.head].t : t;
            uint64_t n = g->vs.live;
            vset_clear(&g->vs);
            if (is_new) fire(e, r, g, n, first, h, j);
        }
        return;
    case KM_CORR_TEMPORAL: {
        g->tt[j] = t;
        g->tseq[j] = h->seq;
        uint64_t n = 0;
        int64_t first = t;
        for (size_t k = 0; k < r->d.ninputs; k++)
            if (g->tt[k] != NONE && g->tt[k] >= t - span) {
                n++;
                if (g->tt[k] < first) first = g->tt[k];
            }
        int ok = r->d.has_cond ? cond_ok(&r->d.cond, n) : n == r->d.ninputs;
        if (ok) {
            for (size_t k = 0; k < r->d.ninputs; k++) g->tt[k] = NONE;
            fire(e, r, g, n, first, h, j);
        }
        return;
    }
    case KM_CORR_TEMPORAL_ORDERED: {
        /* tt[k]: the latest start of a chain of inputs 0..k in order that ends at or before now;
         * tseq[k]: the arrival number of the event that extended it (one event is one step) */
        const char *dv = NULL;
        if (r->differ_field) {
            size_t k = r->didx[j];
            dv = k < h->nvals ? h->vals[k] : NULL;
        }
        if (j == 0) {
            g->tt[0] = t;
            g->tseq[0] = h->seq;
            if (r->differ_field) {
                free(g->differ_val);
                g->differ_val = dv ? xstrdup(dv) : NULL;
            }
        } else if (g->tt[j - 1] != NONE && g->tt[j - 1] >= t - span && g->tt[j - 1] <= t && g->tseq[j - 1] != h->seq) {
            /* hits come in event-time order (the reorder buffer), so the previous step is earlier;
             * the arrival number only says whether it was this same event. Comparing arrival
             * numbers for order would miss a first step delivered in a later file. */
            if (g->tt[j] == NONE || g->tt[j - 1] > g->tt[j] || g->tt[j] < t - span) g->tt[j] = g->tt[j - 1];
            g->tseq[j] = h->seq;
        } else {
            return;
        }
        uint64_t n = 0;
        for (size_t k = 0; k < r->d.ninputs; k++) {
            if (g->tt[k] == NONE || g->tt[k] < t - span) break;
            n = k + 1;
        }
        int ok = r->d.has_cond ? cond_ok(&r->d.cond, n) && n == j + 1 : n == r->d.ninputs;
        /* differ: the step that completes must not repeat the first step's value (absent counts as a value) */
        if (ok && r->differ_field && j > 0) {
            int same = (!dv && !g->differ_val) || (dv && g->differ_val && !strcmp(dv, g->differ_val));
            if (same) {
                /* this event does not complete the chain; the chain up to it stays for a later one */
                if (j == r->d.ninputs - 1) g->tt[j] = NONE;
                ok = 0;
            }
        }
        if (ok) {
            int64_t first = g->tt[n - 1];
            for (size_t k = 0; k < r->d.ninputs; k++) g->tt[k] = NONE;
            fire(e, r, g, n, first, h, j);
        }
        return;
    }
    }
}

static void apply(km_corr *e, const hitrec *h) {
    fieldlist *f = fl_get(e, h->id, 0);
    if (!f) return;
    e->st.applied++;
    for (size_t c = 0; c < f->nconsumers; c++) {
        crule *r = &e->rules[f->consumers[c]];
        close_due(e, r, h->t, 0);
        apply_rule(e, r, f->consumer_input[c], h);
    }
}

static void release(km_corr *e, int64_t watermark, int all) {
    while (e->nheap && (all || e->heap[0]->t <= watermark)) {
        hitrec *h = heap_pop(e);
        apply(e, h);
        hit_free(h);
    }
}

int km_corr_feed(km_corr *e, const km_corr_hit *in, km_corr_emit_fn emit, void *ctx) {
    e->emit = emit;
    e->emit_ctx = ctx;
    /* one arrival number per event, whichever of its hits the rules read */
    if (!in->same_event || e->seq == 0) e->seq++;
    if (!km_corr_consumes(e, in->id)) return 0;
    e->st.hits++;
    if (in->time_ms < 0) {
        e->st.untimed++;
        return 0;
    }
    hitrec *h = hit_copy(in->id, in->time_ms, e->seq, in->vals, in->nvals, in->event_id, in->ctx, in->ctx_len);
    if (!h) return -1;
    int64_t wm = e->maxt == NONE ? NONE : e->maxt - (int64_t)e->o.lateness_ms;
    if (wm != NONE && h->t < wm) {
        /* later than allowed: apply now, out of order */
        e->st.late++;
        apply(e, h);
        hit_free(h);
        return 0;
    }
    if (e->maxt == NONE || h->t > e->maxt) e->maxt = h->t;
    if (heap_push(e, h)) {
        hit_free(h);
        return -1;
    }
    release(e, e->maxt - (int64_t)e->o.lateness_ms, 0);
    while (e->nheap > e->o.max_pending) {
        hitrec *x = heap_pop(e);
        e->st.early_released++;
        apply(e, x);
        hit_free(x);
    }
    return 0;
}

void km_corr_advance(km_corr *e, int64_t time_ms, km_corr_emit_fn emit, void *ctx) {
    e->emit = emit;
    e->emit_ctx = ctx;
    if (time_ms < 0 || (e->maxt != NONE && time_ms <= e->maxt)) return;
    e->maxt = time_ms;
    int64_t wm = e->maxt - (int64_t)e->o.lateness_ms;
    release(e, wm, 0);
    if (e->anchored) {
        for (size_t i = 0; i < e->nanchored; i++) close_due(e, &e->rules[e->anchored[i]], wm, 0);
    } else {
        for (size_t i = 0; i < e->nrules; i++) close_due(e, &e->rules[i], wm, 0);
    }
}

void km_corr_flush(km_corr *e, km_corr_emit_fn emit, void *ctx) {
    e->emit = emit;
    e->emit_ctx = ctx;
    release(e, 0, 1);
    for (size_t i = 0; i < e->nrules; i++) close_due(e, &e->rules[i], 0, 1);
}

void km_corr_get_stats(const km_corr *e, km_corr_stats *st) {
    *st = e->st;
    st->pending = e->nheap;
    st->groups = 0;
    for (size_t i = 0; i < e->nrules; i++) st->groups += e->rules[i].ngroups;
}

/* ---- time ---- */

static long days_civil(long y, long m, long d) {
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int digits(const char *s, size_t n, long *v) {
    long x = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i])) return -1;
        x = x * 10 + (s[i] - '0');
    }
    *v = x;
    return 0;
}

/* The last date, hour and minute ("YYYY-MM-DDTHH:MM", 16 bytes) this thread read, and its
 * seconds since the epoch: a trail's records come in time order, so nearly every eventTime
 * (read for each record's tick and again for its alert fields) shares them with the one before,
 * and only the seconds and what follows are read. */
static _Thread_local char tm_key[16];
static _Thread_local int64_t tm_base;
static _Thread_local int tm_valid;

int64_t km_corr_parse_time(const char *s, size_t len) {
    long sec;
    if (!s || len < 19 || s[16] != ':') return -1;
    int64_t base;
    if (tm_valid && memcmp(s, tm_key, 16) == 0) {
        base = tm_base;
    } else {
        long Y, M, D, h, mi;
        if (s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') || s[13] != ':') return -1;
        if (digits(s, 4, &Y) || digits(s + 5, 2, &M) || digits(s + 8, 2, &D) || digits(s + 11, 2, &h) ||
            digits(s + 14, 2, &mi))
            return -1;
        if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || mi > 59) return -1;
        base = (int64_t)days_civil(Y, M, D) * 86400 + h * 3600 + mi * 60;
        memcpy(tm_key, s, 16);
        tm_base = base;
        tm_valid = 1;
    }
    if (digits(s + 17, 2, &sec) || sec > 60) return -1;
    size_t i = 19;
    long ms = 0;
    if (i < len && s[i] == '.') {
        i++;
        long scale = 100;
        size_t st = i;
        while (i < len && isdigit((unsigned char)s[i])) {
            ms += (s[i] - '0') * scale;
            scale /= 10;
            i++;
        }
        if (i == st) return -1;
    }
    long off = 0;
    if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (i < len && (s[i] == '+' || s[i] == '-')) {
        long oh, om;
        if (len - i < 6 || s[i + 3] != ':' || digits(s + i + 1, 2, &oh) || digits(s + i + 4, 2, &om)) return -1;
        off = (oh * 60 + om) * 60 * (s[i] == '+' ? 1 : -1);
        i += 6;
    } else if (i != len) {
        return -1;
    }
    if (i != len) return -1;
    int64_t secs = base + sec - off;
    return secs * 1000 + ms;
}

int64_t km_corr_parse_span(const char *s) {
    if (!s || !isdigit((unsigned char)s[0])) return -1;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    int64_t unit;
    if (!strcmp(end, "s")) unit = 1000;
    else if (!strcmp(end, "m")) unit = 60000;
    else if (!strcmp(end, "h")) unit = 3600000;
    else if (!strcmp(end, "d")) unit = 86400000;
    else return -1;
    if (v == 0 || v > (unsigned long long)(INT64_MAX / unit / 2)) return -1;
    return (int64_t)v * unit;
}

/* ---- saving and restoring ---- */

static uint64_t signature(const km_corr *e) {
    uint64_t h = FNV0;
    for (size_t i = 0; i < e->nrules; i++) {
        const crule *r = &e->rules[i];
        uint64_t v[6] = {r->d.id, (uint64_t)r->d.type, r->d.ninputs, r->d.ngroup, r->d.span_ms, r->need};
        /* byte by byte, least significant first (the bytes fnv(v, sizeof v) read on little-endian
         * machines, so saved states stay valid), without reading the integers through a char pointer */
        for (size_t q = 0; q < 6; q++)
            for (unsigned b = 0; b < 8; b++) h = (h ^ ((v[q] >> (8 * b)) & 0xff)) * 1099511628211ULL;
        h = fnv(r->inputs, r->d.ninputs * sizeof *r->inputs, h);
        for (size_t k = 0; k < r->d.ngroup * r->d.ninputs; k++) h = fnv(r->group_fields[k], strlen(r->group_fields[k]) + 1, h);
        if (r->value_field) h = fnv(r->value_field, strlen(r->value_field), h);
        h = fnv(&r->d.cond, sizeof r->d.cond, h);
        h = fnv(&r->d.new_within_ms, sizeof r->d.new_within_ms, h);
        if (r->differ_field) h = fnv(r->differ_field, strlen(r->differ_field), h);
    }
    return h;
}

static void jstr(km_buf *b, const char *s) {
    if (!s) km_buf_puts(b, "null");
    else km_buf_json_str(b, s, strlen(s));
}

static void save_hit(km_buf *b, const hitrec *h) {
    km_buf_printf(b, "{\"id\":%" PRIu32 ",\"t\":%" PRId64 ",\"s\":%" PRIu64 ",\"v\":[", h->id, h->t, h->seq);
    for (size_t i = 0; i < h->nvals; i++) {
        if (i) km_buf_putc(b, ',');
        jstr(b, h->vals[i]);
    }
    km_buf_puts(b, "],\"e\":");
    jstr(b, h->event_id);
    km_buf_puts(b, ",\"c\":");
    if (h->ctx) km_buf_json_str(b, h->ctx, h->ctx_len);
    else km_buf_puts(b, "null");
    km_buf_putc(b, '}');
}

int km_corr_save(const km_corr *e, km_buf *b) {
    km_buf_printf(b, "{\"version\":1,\"signature\":\"%016" PRIx64 "\",\"seq\":%" PRIu64 ",\"maxt\":%" PRId64, signature(e), e->seq,
                  e->maxt);
    const km_corr_stats *s = &e->st;
    km_buf_printf(b, ",\"stats\":[%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 "]", s->hits,
                  s->applied, s->late, s->early_released, s->untimed, s->evicted_groups, s->fired);
    km_buf_puts(b, ",\"pending\":[");
    for (size_t i = 0; i < e->nheap; i++) {
        if (i) km_buf_putc(b, ',');
        save_hit(b, e->heap[i]);
    }
    km_buf_puts(b, "],\"groups\":[");
    int first = 1;
    for (size_t ri = 0; ri < e->nrules; ri++) {
        const crule *r = &e->rules[ri];
        for (const group *g = r->lru_old; g; g = g->next) {
            km_buf_puts(b, first ? "" : ",");
            first = 0;
            km_buf_printf(b, "{\"r\":%zu,\"k\":[", ri);
            for (size_t k = 0; k < r->d.ngroup; k++) {
                if (k) km_buf_putc(b, ',');
                jstr(b, g->gvals[k]);
            }
            km_buf_puts(b, "],\"ts\":[");
            for (uint32_t i = 0; i < g->ts_n; i++) km_buf_printf(b, "%s%" PRId64, i ? "," : "", g->ts[(g->ts_head + i) % g->ts_cap]);
            km_buf_puts(b, "],\"vs\":[");
            int vf = 1;
            for (int32_t i = g->vs.head; i >= 0; i = g->vs.e[i].next) {
                km_buf_printf(b, "%s[\"%016" PRIx64 "\",%" PRId64 "]", vf ? "" : ",", g->vs.e[i].h, g->vs.e[i].t);
                vf = 0;
            }
            km_buf_printf(b, "],\"st\":%" PRId64 ",\"n\":%" PRIu64 ",\"fs\":%" PRId64, g->start, g->count, g->first_seen);
            if (g->differ_val) {
                km_buf_puts(b, ",\"dv\":");
                jstr(b, g->differ_val);
            }
            if (g->last) {
                km_buf_puts(b, ",\"last\":");
                save_hit(b, g->last);
            }
            if (g->tt) {
                km_buf_puts(b, ",\"tt\":[");
                for (size_t j = 0; j < r->d.ninputs; j++) km_buf_printf(b, "%s%" PRId64, j ? "," : "", g->tt[j]);
                km_buf_puts(b, "],\"tq\":[");
                for (size_t j = 0; j < r->d.ninputs; j++) km_buf_printf(b, "%s%" PRIu64, j ? "," : "", g->tseq[j]);
                km_buf_putc(b, ']');
            }
            km_buf_putc(b, '}');
        }
    }
    km_buf_puts(b, "]}");
    return b->failed ? -1 : 0;
}

static int64_t jint(const km_json *v) { return v && v->type == KM_JSON_NUMBER ? strtoll(v->u.num.raw, NULL, 10) : 0; }
static uint64_t juint(const km_json *v) { return v && v->type == KM_JSON_NUMBER ? strtoull(v->u.num.raw, NULL, 10) : 0; }

static hitrec *load_hit(const km_json *o) {
    const km_json *v = km_json_get(o, "v"), *c = km_json_get(o, "c");
    size_t n = km_json_len(v);
    const char **vals = calloc(n + 1, sizeof *vals);
    if (!vals) return NULL;
    for (size_t i = 0; i < n; i++) vals[i] = km_json_str(km_json_at(v, i));
    const char *cs = km_json_str(c);
    hitrec *h = hit_copy((uint32_t)juint(km_json_get(o, "id")), jint(km_json_get(o, "t")), juint(km_json_get(o, "s")), vals, n,
                         km_json_str(km_json_get(o, "e")), cs, cs ? c->u.str.len : 0);
    free(vals);
    return h;
}

int km_corr_load(km_corr *e, const char *json, size_t len, km_error *err) {
    km_json_doc *d = km_json_parse(json, len, NULL, NULL, err);
    if (!d) return KM_ERR;
    const km_json *root = km_json_root(d);
    char sig[32];
    snprintf(sig, sizeof sig, "%016" PRIx64, signature(e));
    const char *have = km_json_get_str(root, "signature", "");
    int64_t ver = jint(km_json_get(root, "version"));
    if (ver > 1) { /* not "other rules": a format this kumomori does not know */
        km_error_set(err, KM_ERR, (size_t)-1,
                     "the saved window state has format version %" PRId64 ", written by a newer kumomori (this one reads "
                     "version 1): run that kumomori, or start with a new state file", ver);
        km_json_doc_free(d);
        return KM_ERR;
    }
    if (ver != 1 || strcmp(have, sig)) {
        km_error_set(err, KM_ERR, (size_t)-1,
                     "the saved window state was made with other threshold/correlation rules (%.20s, now %s): start "
                     "with a new state file or the same rules",
                     have, sig);
        km_json_doc_free(d);
        return KM_ERR;
    }
    for (size_t i = 0; i < e->nrules; i++) rule_clear_groups(&e->rules[i]);
    for (size_t i = 0; i < e->nheap; i++) hit_free(e->heap[i]);
    e->nheap = 0;
    e->seq = juint(km_json_get(root, "seq"));
    e->maxt = jint(km_json_get(root, "maxt"));
    const km_json *st = km_json_get(root, "stats");
    uint64_t *sv[7] = {&e->st.hits, &e->st.applied, &e->st.late, &e->st.early_released, &e->st.untimed, &e->st.evicted_groups, &e->st.fired};
    for (size_t i = 0; i < 7; i++) *sv[i] = juint(km_json_at(st, i));
    const km_json *p = km_json_get(root, "pending");
    int rc = KM_OK;
    for (size_t i = 0; i < km_json_len(p) && rc == KM_OK; i++) {
        hitrec *h = load_hit(km_json_at(p, i));
        if (!h || heap_push(e, h)) {
            hit_free(h);
            rc = km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
        }
    }
    const km_json *gs = km_json_get(root, "groups");
    for (size_t i = 0; i < km_json_len(gs) && rc == KM_OK; i++) {
        const km_json *go = km_json_at(gs, i);
        size_t ri = (size_t)juint(km_json_get(go, "r"));
        if (ri >= e->nrules) {
            rc = km_error_set(err, KM_ERR, (size_t)-1, "the saved window state names rule %zu, which does not exist", ri);
            break;
        }
        crule *r = &e->rules[ri];
        const km_json *k = km_json_get(go, "k");
        const char *gv[64] = {0};
        for (size_t q = 0; q < r->d.ngroup && q < 64; q++) gv[q] = km_json_str(km_json_at(k, q));
        km_buf kb = KM_BUF_INIT;
        for (size_t q = 0; q < r->d.ngroup; q++) {
            if (q) km_buf_putc(&kb, '\x1f');
            km_buf_puts(&kb, gv[q] ? gv[q] : ABSENT);
        }
        if (!kb.data) km_buf_puts(&kb, "");
        uint64_t hash = fnv(kb.data, kb.len, FNV0);
        group *g = group_get(e, r, km_buf_steal(&kb, NULL), hash, gv);
        if (!g) {
            rc = km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
            break;
        }
        const km_json *ts = km_json_get(go, "ts");
        size_t nts = km_json_len(ts);
        if (nts) {
            g->ts = malloc(nts * sizeof *g->ts);
            if (!g->ts) { rc = km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory"); break; }
            for (size_t q = 0; q < nts; q++) g->ts[q] = jint(km_json_at(ts, q));
            g->ts_cap = g->ts_n = (uint32_t)nts;
        }
        const km_json *vs = km_json_get(go, "vs");
        for (size_t q = 0; q < km_json_len(vs); q++) {
            const km_json *pair = km_json_at(vs, q);
            const char *hs = km_json_str(km_json_at(pair, 0));
            uint64_t h = hs ? strtoull(hs, NULL, 16) : 0;
            if (vset_put(&g->vs, h, jint(km_json_at(pair, 1)))) rc = km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
        }
        g->start = jint(km_json_get(go, "st"));
        g->first_seen = km_json_get(go, "fs") ? jint(km_json_get(go, "fs")) : NONE;
        if (km_json_str(km_json_get(go, "dv")) && !(g->differ_val = xstrdup(km_json_str(km_json_get(go, "dv")))))
            rc = km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
        g->count = juint(km_json_get(go, "n"));
        if (km_json_get(go, "last")) g->last = load_hit(km_json_get(go, "last"));
        const km_json *tt = km_json_get(go, "tt"), *tq = km_json_get(go, "tq");
        if (g->tt)
            for (size_t j = 0; j < r->d.ninputs; j++) {
                g->tt[j] = km_json_at(tt, j) ? jint(km_json_at(tt, j)) : NONE;
                g->tseq[j] = juint(km_json_at(tq, j));
            }
        if (r->anchored && g->start != NONE && (r->next_close == NONE || g->start + (int64_t)r->d.span_ms < r->next_close))
            r->next_close = g->start + (int64_t)r->d.span_ms;
    }
    km_json_doc_free(d);
    return rc;
}
