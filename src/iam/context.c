/* Request context: condition keys with one value or a set of values. Lookups fold ASCII case
 * (AWS condition key names are case-insensitive). A handful of keys per request, so a flat
 * array with a linear search beats any index. */
#include "iam/iam_internal.h"

#include <stdlib.h>
#include <string.h>

km_iam_context *km_iam_context_new(void) { return calloc(1, sizeof(km_iam_context)); }

static void entry_clear_values(iam_ctx_entry *e) {
    for (size_t i = 0; i < e->n; i++) free(e->vals[i]);
    e->n = 0;
}

void km_iam_context_free(km_iam_context *c) {
    if (!c) return;
    for (size_t i = 0; i < c->n; i++) {
        entry_clear_values(&c->e[i]);
        free(c->e[i].vals);
        free(c->e[i].key);
        free(c->e[i].lkey);
    }
    free(c->e);
    free(c);
}

const iam_ctx_entry *iam_ctx_find(const km_iam_context *c, const char *key, size_t n) {
    if (!c) return NULL;
    for (size_t i = 0; i < c->n; i++) {
        const char *lk = c->e[i].lkey;
        size_t j = 0;
        for (; j < n && lk[j]; j++)
            if (lk[j] != iam_lc(key[j])) break;
        if (j == n && lk[j] == 0) return &c->e[i];
    }
    return NULL;
}

static iam_ctx_entry *find_or_add(km_iam_context *c, const char *key) {
    iam_ctx_entry *e = (iam_ctx_entry *)iam_ctx_find(c, key, strlen(key));
    if (e) return e;
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 8;
        iam_ctx_entry *ne = realloc(c->e, nc * sizeof *ne);
        if (!ne) return NULL;
        c->e = ne;
        c->cap = nc;
    }
    e = &c->e[c->n];
    memset(e, 0, sizeof *e);
    size_t kl = strlen(key);
    e->key = malloc(kl + 1);
    e->lkey = malloc(kl + 1);
    if (!e->key || !e->lkey) {
        free(e->key);
        free(e->lkey);
        return NULL;
    }
    memcpy(e->key, key, kl + 1);
    for (size_t i = 0; i <= kl; i++) e->lkey[i] = iam_lc(key[i]);
    c->n++;
    return e;
}

static int push_value(iam_ctx_entry *e, const char *v) {
    if (e->n == e->cap) {
        size_t nc = e->cap ? e->cap * 2 : 2;
        char **nv = realloc(e->vals, nc * sizeof *nv);
        if (!nv) return KM_ENOMEM;
        e->vals = nv;
        e->cap = nc;
    }
    size_t l = strlen(v);
    char *d = malloc(l + 1);
    if (!d) return KM_ENOMEM;
    memcpy(d, v, l + 1);
    e->vals[e->n++] = d;
    return KM_OK;
}

int km_iam_context_set(km_iam_context *c, const char *key, const char *value) {
    if (!c || !key || !value) return KM_ERR;
    iam_ctx_entry *e = find_or_add(c, key);
    if (!e) return KM_ENOMEM;
    entry_clear_values(e);
    e->multi = 0;
    return push_value(e, value);
}

int km_iam_context_set_multi(km_iam_context *c, const char *key, const char *const *values,
                             size_t n) {
    if (!c || !key || (n && !values)) return KM_ERR;
    iam_ctx_entry *e = find_or_add(c, key);
    if (!e) return KM_ENOMEM;
    entry_clear_values(e);
    e->multi = 1;
    for (size_t i = 0; i < n; i++)
        if (push_value(e, values[i]) != KM_OK) return KM_ENOMEM;
    return KM_OK;
}

int km_iam_context_add(km_iam_context *c, const char *key, const char *value) {
    if (!c || !key || !value) return KM_ERR;
    iam_ctx_entry *e = find_or_add(c, key);
    if (!e) return KM_ENOMEM;
    e->multi = 1;
    return push_value(e, value);
}

int km_iam_context_remove(km_iam_context *c, const char *key) {
    if (!c || !key) return 0;
    iam_ctx_entry *e = (iam_ctx_entry *)iam_ctx_find(c, key, strlen(key));
    if (!e) return 0;
    entry_clear_values(e);
    free(e->vals);
    free(e->key);
    free(e->lkey);
    size_t i = (size_t)(e - c->e);
    memmove(&c->e[i], &c->e[i + 1], (c->n - i - 1) * sizeof *e);
    c->n--;
    return 1;
}

int km_iam_context_get(const km_iam_context *c, const char *key, const char *const **values,
                       size_t *n, int *multi) {
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
