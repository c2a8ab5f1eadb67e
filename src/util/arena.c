#include "util/arena.h"
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

struct km_arena_block {
    km_arena_block *next;
    size_t used, size;
    _Alignas(16) unsigned char data[];
};

void km_arena_init(km_arena *a, size_t max) {
    a->head = NULL;
    a->total = 0;
    a->max = max;
}

void *km_arena_alloc(km_arena *a, size_t n) {
    n = (n + 15) & ~(size_t)15;
    if (n == 0) n = 16;
    if (a->max && (n > a->max || a->total > a->max - n)) {
        a->failed = 1;
        return NULL;
    }
    km_arena_block *b = a->head;
    if (!b || b->size - b->used < n) {
        size_t sz = n > 16384 ? n : (a->head ? a->head->size * 2 : 4096);
        if (sz > (1u << 20) && n <= (1u << 20)) sz = 1u << 20;
        if (sz < n) sz = n; /* doubling the head's size is not always enough */
        b = sz > SIZE_MAX - sizeof(km_arena_block) ? NULL : malloc(sizeof(km_arena_block) + sz);
        if (!b) {
            a->failed = 1;
            return NULL;
        }
        b->used = 0;
        b->size = sz;
        if (a->head && n > 16384 && a->head->size - a->head->used > 256) {
            /* Big block: keep the current head (it still has room) in front. */
            b->next = a->head->next;
            a->head->next = b;
        } else {
            b->next = a->head;
            a->head = b;
        }
    }
    void *p = b->data + b->used;
    b->used += n;
    a->total += n;
    memset(p, 0, n);
    return p;
}

char *km_arena_strndup(km_arena *a, const char *s, size_t n) {
    if (n == SIZE_MAX) return NULL;
    char *p = km_arena_alloc(a, n + 1);
    if (!p) return NULL;
    if (n) memcpy(p, s, n);
    p[n] = 0;
    return p;
}

void km_arena_free(km_arena *a) {
    if (!a) return;
    km_arena_block *b = a->head;
    while (b) {
        km_arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
    a->total = 0;
}
