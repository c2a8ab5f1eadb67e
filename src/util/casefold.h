/* Unicode full case mappings (lower and upper case as UTF-8), shared by the matcher's
 * equals-ignore-case operators and the Sigma compiler's case-insensitive values, so that the two
 * agree character for character. The table is generated (tools/gen_casefold.py). */
#ifndef KM_UTIL_CASEFOLD_H
#define KM_UTIL_CASEFOLD_H

#include <stddef.h>
#include <stdint.h>

struct km_casefold {
    uint32_t cp;    /* the code point */
    const char *lo; /* its full lower-case form, UTF-8, NUL-terminated */
    const char *up; /* its full upper-case form */
};

/* The row of code point cp, or NULL when both its case forms are cp itself. The row is static
 * storage: the caller owns nothing. */
const struct km_casefold *km_casefold_find(uint32_t cp);

/* Every row, sorted by code point (for the tests' reference matcher, which scans them). */
const struct km_casefold *km_casefold_rows_all(size_t *n);

#endif
