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

enum { KM_X_TEXT = 0, KM_X_STRING = 1, KM_X_LIST = 2 };

typedef struct km_extract_req {
    const char *path;  /* dotted, as Sigma writes it */
    int mode;          /* KM_X_TEXT: km_sigma_field_text's text; KM_X_STRING: the value if it is one
                        * string; KM_X_LIST: the strings found inside an array (resources[].ARN) */
    const char *value; /* out: arena memory, NULL when absent (or not a string in KM_X_STRING mode);
                        * KM_X_LIST: nvalues strings one after the other, each NUL-terminated */
    size_t nvalues;
} km_extract_req;

/* Fill every req[i].value from the JSON object in json[0..len). Returns 0, or 1 when the record has
 * a shape this reader leaves to the tree (the values are then unset), or -1 when the text is not a
 * JSON object or memory ran out. */
int km_extract(const char *json, size_t len, km_extract_req *req, size_t n, km_arena *a);

#endif
