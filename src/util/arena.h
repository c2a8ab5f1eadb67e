/* Bump allocator: many small allocations freed together. Used by the JSON document model and
 * compiled structures whose parts all live and die together. Internal to the library. */
#ifndef KM_ARENA_H
#define KM_ARENA_H
#include <stddef.h>

typedef struct km_arena_block km_arena_block;
typedef struct km_arena {
    km_arena_block *head;
    size_t total;      /* bytes handed out so far */
    size_t max;        /* cap on total; 0 = unlimited */
    int failed;        /* set once an allocation failed (cap or memory), so callers that build
                          many optional parts can tell "absent" from "lost" at the end */
    size_t first;      /* size of the first block; 0 = 4096 (set after km_arena_init, for arenas
                          known to stay small and kept by the thousand) */
} km_arena;

void km_arena_init(km_arena *a, size_t max);
/* Zeroed, 16-byte-aligned memory owned by the arena, or NULL (cap or memory). */
void *km_arena_alloc(km_arena *a, size_t n);
char *km_arena_strndup(km_arena *a, const char *s, size_t n);
/* n bytes, not zeroed, aligned to align (1, 2, 4, 8 or 16): for data the caller writes whole at
 * once (strings, copied arrays), so that small strings do not take 16 bytes each and memory is
 * touched once instead of twice. NULL on cap or memory. */
void *km_arena_alloc_raw(km_arena *a, size_t n, size_t align);
void km_arena_free(km_arena *a); /* releases every allocation; takes NULL */
/* Releases every allocation but keeps the largest block for the next ones: an arena emptied once
 * per record then costs neither malloc nor fresh pages (whose first touch was a measurable part
 * of `detect`'s time). */
void km_arena_reset(km_arena *a);
#endif
