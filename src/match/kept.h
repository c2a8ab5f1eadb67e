/* Fields the matcher keeps for its caller: a field no pattern needs to read is flattened with
 * the rest of the event, so that a caller that reads a few fields of the records that matched
 * (detect's light alert path) takes them from the matcher's single walk instead of scanning the
 * text a second time (src/detect/extract.c). Such a field's values are not matched.
 *
 * The values are those the walk saw; where a tree reader would read differently (a repeated key:
 * the last wins; a key with a dot; an object at the field) the match says so (odd), and spans the
 * walk skipped without the strict checks are listed, for the caller to check before it trusts
 * the record as valid JSON. Not public API: detect's, beside include/kumomori/match.h. */
#ifndef KM_MATCH_KEPT_H
#define KM_MATCH_KEPT_H

#include <stddef.h>
#include <stdint.h>
#include "kumomori/match.h"

/* Keep field name (dotted); the same name twice gives the same handle. Returns its handle (0, 1,
 * ... in the order kept) or -1 when out of memory. Exclusive access, like km_matcher_add. */
int km_matcher_keep(km_matcher *m, const char *name, size_t len);

typedef struct km_kept_val {
    uint32_t handle;
    uint8_t is_str; /* a string (decoded); else the raw text of a number, true, false or null */
    uint8_t arr;    /* arrays around it on its way from the root (capped at 255) */
    const char *s;  /* valid until the next match with the scratch */
    size_t len;
} km_kept_val;

typedef struct km_kept_view {
    int odd;                     /* a shape the values do not describe faithfully (see above) */
    const size_t (*skipped)[2];  /* [start, end) byte spans of the event, not checked strictly */
    size_t nskipped;
    size_t len;                  /* the event's length: bytes a reader may look at beyond a span */
} km_kept_view;

/* The kept fields' values of the last successful km_matcher_match with s (event and len: that
 * match's event), in the event's order, into vals (cap entries); strings stay valid until the
 * next match with s. Returns their number, or -1 when there are more than cap or none is kept. */
int km_match_kept(const km_matcher *m, km_match_scratch *s, const char *event, size_t len, km_kept_val *vals, size_t cap,
                  km_kept_view *view);

/* The first value of kept field handle in the last successful match with s: 1 and *v, *len when
 * it is a string reached through objects only, else 0. */
int km_match_kept_string(const km_matcher *m, const km_match_scratch *s, int handle, const char **v, size_t *len);

#endif
