/* Shared between the rule loader and the pattern rewriter; not part of the public API. */
#ifndef KM_RULES_INTERNAL_H
#define KM_RULES_INTERNAL_H
#include "kumomori/json.h"

/* km_pattern_rewrite over an already parsed pattern (offsets in err are pattern's). */
int km_pattern_rewrite_value(const km_json *pattern, km_buf *out, int *was_eb, km_error *err);
#endif
