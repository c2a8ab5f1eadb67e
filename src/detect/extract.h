/* A few fields of a record read straight from its JSON text, without building a tree: what the
 * thresholds and correlations need from records that only feed them (every GetObject of a data-event
 * trail, every call made with an access key, ...). The values are exactly those of the tree-based
 * readers (km_sigma_field_text for hit fields, a string member for alert fields); the few shapes
 * where that would take more than a scan (a path reaching an object, a key with a dot on the way,
 * a repeated key) make it give up, and the caller then parses the record. */
#ifndef KM_DETECT_EXTRACT_H
#define KM_DETECT_EXTRACT_H

#include <stddef.h>
#include "util/arena.h"
#include "match/kept.h"

enum { KM_X_TEXT = 0, KM_X_STRING = 1, KM_X_LIST = 2 };

typedef struct km_extract_req {
    const char *path;  /* dotted, as Sigma writes it */
    int mode;          /* KM_X_TEXT: km_sigma_field_text's text; KM_X_STRING: the value if it is one
                        * string; KM_X_LIST: the strings found inside an array (resources[].ARN) */
    const char *value; /* out: arena memory, NULL when absent (or not a string in KM_X_STRING mode);
                        * KM_X_LIST: nvalues strings one after the other, each NUL-terminated */
    size_t nvalues;
    size_t len;        /* out: the value's length (KM_X_TEXT, KM_X_STRING; not meaningful for KM_X_LIST) */
} km_extract_req;

/* Fill every req[i].value from the JSON object in json[0..len). Returns 0, or 1 when the record has
 * a shape this reader leaves to the tree (the values are then unset), or -1 when the text is not a
 * JSON object or memory ran out. */
int km_extract(const char *json, size_t len, km_extract_req *req, size_t n, km_arena *a);

/* The same values from the fields a matcher kept (match/kept.h) while reading json: req[i] is
 * kept field handle[i] (-1: none). Returns as km_extract, or 2 when the kept values cannot give
 * exactly km_extract's result (odd shapes, a span that is not strictly valid JSON, arrays in
 * arrays, a list element that is not a string): km_extract then reads the text. */
int km_extract_kept(const char *json, const km_kept_val *v, size_t nv, const km_kept_view *view, km_extract_req *req,
                    const int *handle, size_t n, km_arena *a);

/* 1 when json[start..end) is one JSON value as strictly valid as km_extract demands of the parts
 * it skips (the spans the matcher skipped without checking every token), else 0. */
int km_extract_strict(const char *json, size_t start, size_t end);

#endif
