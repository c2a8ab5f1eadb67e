/* Lookup in the generated Unicode case table (see casefold.h). */
#include "util/casefold.h"

#include "util/casefold_table.h"

const struct km_casefold *km_casefold_find(uint32_t cp) {
    size_t lo = 0, hi = sizeof km_casefold_rows / sizeof km_casefold_rows[0];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (km_casefold_rows[mid].cp < cp) lo = mid + 1;
        else if (km_casefold_rows[mid].cp > cp) hi = mid;
        else return &km_casefold_rows[mid];
    }
    return NULL;
}

const struct km_casefold *km_casefold_rows_all(size_t *n) {
    *n = sizeof km_casefold_rows / sizeof km_casefold_rows[0];
    return km_casefold_rows;
}
