/* String-keyed hash map (open addressing, FNV-1a) from a key to a pointer. The map does not
 * own keys or values: keys must outlive the map (the audit interns them in an arena).
 * Internal to the audit. */
#ifndef KM_AUDIT_HMAP_H
#define KM_AUDIT_HMAP_H
#include <stddef.h>
#include <stdint.h>

typedef struct km_hmap_slot {
    const char *key;
    size_t klen;
    uint64_t hash;
    void *val;
} km_hmap_slot;

typedef struct km_hmap {
    km_hmap_slot *slots;
    size_t cap, n;
} km_hmap;

#define KM_HMAP_INIT {NULL, 0, 0}

uint64_t km_hash(const void *p, size_t n);
/* Value for key (klen bytes), or NULL. */
void *km_hmap_get(const km_hmap *m, const char *key, size_t klen);
/* Insert or replace. Returns 0, or -1 when out of memory (the map is unchanged). */
int km_hmap_put(km_hmap *m, const char *key, size_t klen, void *val);
/* Releases the slot array (not keys or values). Takes NULL. */
void km_hmap_free(km_hmap *m);
#endif
