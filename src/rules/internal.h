/* Shared between the rule loader and the pattern rewriter; not part of the public API. */
#ifndef KM_RULES_INTERNAL_H
#define KM_RULES_INTERNAL_H
#include "kumomori/json.h"

/* km_pattern_rewrite over an already parsed pattern (offsets in err are pattern's). never (may be
 * NULL) is set (code KM_ERR, the reason, the offset of the value at fault) when the pattern is valid
 * but can never match a CloudTrail event as EventBridge delivers it; the call still succeeds. */
int km_pattern_rewrite_value(const km_json *pattern, km_buf *out, int *was_eb, km_error *never, km_error *err);

/* sigma helper (src/rules/stateful.c): a threshold or correlation rule file (docs/stateful.md),
 * already parsed; text/len are the file for positions in messages. */
struct km_ruleset;
int km_stateful_load_json(struct km_ruleset *rs, const char *name, const char *text, size_t len, const km_json *root,
                          int builtin, km_error *err);
/* A threshold written as an Athena SQL query (a .sql file, or "query" in a threshold rule). */
int km_stateful_load_sql(struct km_ruleset *rs, const char *name, const char *text, size_t len, int builtin,
                         km_error *err);
#endif
