/* Request context: condition keys with one value or a set of values. Lookups fold ASCII case
 * (AWS condition key names are case-insensitive). A handful of keys per request, so a flat
 * array with a linear search (length first) beats any index; strings live in one arena. */
#include "iam/iam_internal.h"

#include <stdlib.h>
#include <string.h>

#define CTX_MAX_BYTES (64u << 20)

km_iam_context *km_iam_context_new(void) {
    km_iam_context *c = calloc(1, sizeof(km_iam_context));
    if (c) km_arena_init(&c->arena, CTX_MAX_BYTES);
    return c;
}

void km_iam_context_free(km_iam_context *c) {
    if (!c) return;
    free(c->e);
    km_arena_free(&c->arena);
    free(c);
}

const iam_ctx_entry *iam_ctx_find(const km_iam_context *c, const char *key, size_t n) {
    if (!c) return NULL;
    for (size_t i = 0; i < c->n; i++) {
        const iam_ctx_entry *e = &c->e[i];
        if (e->klen != n) continue;
        const char *lk = e->lkey;
        size_t j = 0;
        while (j < n && lk[j] == iam_lc(key[j])) j++;
        if (j == n) return e;
    }
    return NULL;
}

static int push_value(km_iam_context *c, iam_ctx_entry *e, const char *v);

static iam_ctx_entry *add_entry(km_iam_context *c, const char *key, size_t kl) {
    iam_ctx_entry *e;
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 16;
        iam_ctx_entry *ne = realloc(c->e, nc * sizeof *ne);
        if (!ne) return NULL;
        c->e = ne;
        c->cap = nc;
    }
    char *k = km_arena_alloc(&c->arena, 2 * (kl + 1));
    if (!k) return NULL;
    e = &c->e[c->n];
    memset(e, 0, sizeof *e);
    e->key = k;
    e->lkey = k + kl + 1;
    e->klen = kl;
    memcpy(e->key, key, kl + 1);
    for (size_t i = 0; i <= kl; i++) e->lkey[i] = iam_lc(key[i]);
    c->n++;
    return e;
}

static iam_ctx_entry *find_or_add(km_iam_context *c, const char *key) {
    size_t kl = strlen(key);
    iam_ctx_entry *e = (iam_ctx_entry *)iam_ctx_find(c, key, kl);
    return e ? e : add_entry(c, key, kl);
}

int iam_ctx_append(km_iam_context *c, const char *key, const char *value) {
    iam_ctx_entry *e = add_entry(c, key, strlen(key));
    if (!e) return KM_ENOMEM;
    return push_value(c, e, value);
}

static int push_value(km_iam_context *c, iam_ctx_entry *e, const char *v) {
    if (e->n == e->cap) {
        size_t nc = e->cap ? e->cap * 2 : 2;
        char **nv = km_arena_alloc(&c->arena, nc * sizeof *nv);
        if (!nv) return KM_ENOMEM;
        if (e->n) memcpy(nv, e->vals, e->n * sizeof *nv);
        e->vals = nv;
        e->cap = nc;
    }
    char *d = km_arena_strndup(&c->arena, v, strlen(v));
    if (!d) return KM_ENOMEM;
    e->vals[e->n++] = d;
    return KM_OK;
}

int km_iam_context_set(km_iam_context *c, const char *key, const char *value) {
    if (!c || !key || !value) return KM_ERR;
    iam_ctx_entry *e = find_or_add(c, key);
    if (!e) return KM_ENOMEM;
    e->n = 0;
    e->multi = 0;
    return push_value(c, e, value);
}

int km_iam_context_set_multi(km_iam_context *c, const char *key, const char *const *values, size_t n) {
    if (!c || !key || (n && !values)) return KM_ERR;
    iam_ctx_entry *e = find_or_add(c, key);
    if (!e) return KM_ENOMEM;
    e->n = 0;
    e->multi = 1;
    for (size_t i = 0; i < n; i++)
        if (push_value(c, e, values[i]) != KM_OK) return KM_ENOMEM;
    return KM_OK;
}

int km_iam_context_add(km_iam_context *c, const char *key, const char *value) {
    if (!c || !key || !value) return KM_ERR;
    iam_ctx_entry *e = find_or_add(c, key);
    if (!e) return KM_ENOMEM;
    e->multi = 1;
    return push_value(c, e, value);
}

int km_iam_context_remove(km_iam_context *c, const char *key) {
    if (!c || !key) return 0;
    iam_ctx_entry *e = (iam_ctx_entry *)iam_ctx_find(c, key, strlen(key));
    if (!e) return 0;
    size_t i = (size_t)(e - c->e);
    memmove(&c->e[i], &c->e[i + 1], (c->n - i - 1) * sizeof *e);
    c->n--;
    return 1;
}

int km_iam_context_get(const km_iam_context *c, const char *key, const char *const **values, size_t *n,
                       int *multi) {
    const iam_ctx_entry *e = key ? iam_ctx_find(c, key, strlen(key)) : NULL;
    if (!e) return 0;
    if (values) *values = (const char *const *)e->vals;
    if (n) *n = e->n;
    if (multi) *multi = e->multi;
    return 1;
}

size_t km_iam_context_count(const km_iam_context *c) { return c ? c->n : 0; }

const char *km_iam_context_key(const km_iam_context *c, size_t i) {
    return c && i < c->n ? c->e[i].key : NULL;
}

km_iam_context *km_iam_context_clone(const km_iam_context *c) {
    km_iam_context *d = km_iam_context_new();
    if (!d || !c) return d;
    for (size_t i = 0; i < c->n; i++) {
        const iam_ctx_entry *e = &c->e[i];
        int rc = e->multi ? km_iam_context_set_multi(d, e->key, (const char *const *)e->vals, e->n)
                          : km_iam_context_set(d, e->key, e->n ? e->vals[0] : "");
        if (rc != KM_OK) {
            km_iam_context_free(d);
            return NULL;
        }
    }
    return d;
}
