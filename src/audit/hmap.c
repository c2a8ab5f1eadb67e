#include "audit/hmap.h"
#include <stdlib.h>
#include <string.h>

/* Eight bytes at a time (multiply and fold), then the tail: the audit and the recoverability
 * analysis hash keys of 100-200 bytes by the million, and byte-wise FNV-1a was a sixth of the
 * analysis's time. Nothing depends on the values beyond this run (no output is in hash order). */
static uint64_t mix(uint64_t h, uint64_t w) {
    h ^= w * 0x9E3779B97F4A7C15ULL;
    h = (h << 29) | (h >> 35);
    return h * 0xBF58476D1CE4E5B9ULL;
}

uint64_t km_hash(const void *p, size_t n) {
    const unsigned char *s = p;
    uint64_t h = 1469598103934665603ULL ^ n;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        h = mix(h, w);
    }
    if (i < n) {
        uint64_t w = 0;
        memcpy(&w, s + i, n - i);
        h = mix(h, w);
    }
    h ^= h >> 32;
    h *= 0x94D049BB133111EBULL;
    h ^= h >> 29;
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
