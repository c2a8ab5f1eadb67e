#include "util/arena.h"
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/mman.h>

/* Once an arena has grown to 1 MiB blocks (a large document: a snapshot's IAM answers), its
 * further blocks are 2 MiB, aligned, and offered to the kernel as a transparent huge page: one
 * page fault per 2 MiB instead of 512, which was a fifth of the time of auditing a large
 * organisation's snapshot. Small arenas are unchanged. */
#define HUGE_BLOCK ((size_t)2 << 20)

struct km_arena_block {
    km_arena_block *next;
    size_t used, size;
    _Alignas(16) unsigned char data[];
};

void km_arena_init(km_arena *a, size_t max) {
    a->head = NULL;
    a->total = 0;
    a->max = max;
    a->failed = 0;
    a->first = 0;
}

/* A fresh block able to hold n bytes, made the head (or kept behind it for a big one). */
static km_arena_block *new_block(km_arena *a, size_t n) {
    size_t sz = n > 16384 ? n : (a->head ? a->head->size * 2 : a->first ? a->first : 4096);
    if (sz > (1u << 20) && n <= (1u << 20)) sz = 1u << 20;
    if (sz < n) sz = n; /* doubling the head's size is not always enough */
    if (sz > SIZE_MAX - sizeof(km_arena_block)) return NULL;
    km_arena_block *b = NULL;
    if (a->head && a->head->size >= ((size_t)1 << 20) - sizeof(km_arena_block) &&
        n <= HUGE_BLOCK - sizeof(km_arena_block)) {
        b = aligned_alloc(HUGE_BLOCK, HUGE_BLOCK);
        if (b) {
#ifdef MADV_HUGEPAGE
            madvise(b, HUGE_BLOCK, MADV_HUGEPAGE); /* a hint: without it the block still works */
#endif
            sz = HUGE_BLOCK - sizeof(km_arena_block);
        }
    }
    if (!b) b = malloc(sizeof(km_arena_block) + sz);
    if (!b) return NULL;
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
    return b;
}

void *km_arena_alloc_raw(km_arena *a, size_t n, size_t align) {
    if (align < 1 || align > 16 || (align & (align - 1))) return NULL;
    if (n == 0) n = 1;
    if (n > SIZE_MAX - 32) {
        a->failed = 1;
        return NULL;
    }
    km_arena_block *b = a->head;
    size_t pad = b ? (size_t)(-(uintptr_t)(b->data + b->used) & (align - 1)) : 0;
    if (a->max && (n + pad > a->max || a->total > a->max - n - pad)) {
        a->failed = 1;
        return NULL;
    }
    if (!b || b->size - b->used < n + pad) {
        b = new_block(a, n);
        if (!b) {
            a->failed = 1;
            return NULL;
        }
        pad = 0; /* block data is 16-byte aligned and a big block starts empty */
    }
    b->used += pad;
    void *p = b->data + b->used;
    b->used += n;
    a->total += n + pad;
    return p;
}

void *km_arena_alloc(km_arena *a, size_t n) {
    n = (n + 15) & ~(size_t)15;
    if (n == 0) n = 16;
    void *p = km_arena_alloc_raw(a, n, 16);
    if (p) memset(p, 0, n);
    return p;
}

char *km_arena_strndup(km_arena *a, const char *s, size_t n) {
    if (n == SIZE_MAX) return NULL;
    char *p = km_arena_alloc_raw(a, n + 1, 1);
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

void km_arena_reset(km_arena *a) {
    if (!a) return;
    km_arena_block *keep = NULL;
    for (km_arena_block *b = a->head; b; b = b->next)
        if (!keep || b->size > keep->size) keep = b;
    km_arena_block *b = a->head;
    while (b) {
        km_arena_block *next = b->next;
        if (b != keep) free(b);
        b = next;
    }
    if (keep) {
        keep->next = NULL;
        keep->used = 0;
    }
    a->head = keep;
    a->total = 0;
}
