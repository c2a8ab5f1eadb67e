#include "audit/hmap.h"
#include <stdlib.h>
#include <string.h>

uint64_t km_hash(const void *p, size_t n) {
    const unsigned char *s = p;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 1099511628211ULL;
    }
    return h ? h : 1;
}

void *km_hmap_get(const km_hmap *m, const char *key, size_t klen) {
    if (!m || !m->cap) return NULL;
    uint64_t h = km_hash(key, klen);
    size_t mask = m->cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        const km_hmap_slot *s = &m->slots[i];
        if (!s->key) return NULL;
        if (s->hash == h && s->klen == klen && memcmp(s->key, key, klen) == 0) return s->val;
    }
}

static int grow(km_hmap *m) {
    size_t nc = m->cap ? m->cap * 2 : 64;
    km_hmap_slot *ns = calloc(nc, sizeof *ns);
    if (!ns) return -1;
    for (size_t i = 0; i < m->cap; i++) {
        km_hmap_slot *s = &m->slots[i];
        if (!s->key) continue;
        size_t j = (size_t)s->hash & (nc - 1);
        while (ns[j].key) j = (j + 1) & (nc - 1);
        ns[j] = *s;
    }
    free(m->slots);
    m->slots = ns;
    m->cap = nc;
    return 0;
}

int km_hmap_put(km_hmap *m, const char *key, size_t klen, void *val) {
    if ((m->n + 1) * 4 >= m->cap * 3 && grow(m)) return -1;
    uint64_t h = km_hash(key, klen);
    size_t mask = m->cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        km_hmap_slot *s = &m->slots[i];
        if (!s->key) {
            s->key = key;
            s->klen = klen;
            s->hash = h;
            s->val = val;
            m->n++;
            return 0;
        }
        if (s->hash == h && s->klen == klen && memcmp(s->key, key, klen) == 0) {
            s->val = val;
            return 0;
        }
    }
}

void km_hmap_free(km_hmap *m) {
    if (!m) return;
    free(m->slots);
    m->slots = NULL;
    m->cap = m->n = 0;
}
