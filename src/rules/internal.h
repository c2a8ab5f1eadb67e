/* Shared between the rule loader and the pattern rewriter; not part of the public API. */
#ifndef KM_RULES_INTERNAL_H
#define KM_RULES_INTERNAL_H
#include "kumomori/json.h"

/* km_pattern_rewrite over an already parsed pattern (offsets in err are pattern's). never (may be
 * NULL) is set (code KM_ERR, the reason, the offset of the value at fault) when the pattern is valid
 * but can never match a CloudTrail event as EventBridge delivers it; the call still succeeds. */
int km_pattern_rewrite_value(const km_json *pattern, km_buf *out, int *was_eb, km_error *never, km_error *err);

/* Whether a pattern (its DOM, and the length of its text as written) is near the matcher's limits
 * on bytes or nesting (src/match/internal.h). Away from them, the pattern as written and as
 * rewritten (km_pattern_rewrite_value) compile alike, so the loader compiles only the rewritten form,
 * and the written one only to name the position in the file of an error; near them (the rewrite
 * moves "detail" fields up one level and drops white space) both are compiled, written first. */
int km_pattern_near_limits(const km_json *pattern, size_t written_len);

/* sigma helper (src/rules/stateful.c): a threshold or correlation rule file (docs/stateful.md),
 * already parsed; text/len are the file for positions in messages. */
struct km_ruleset;
int km_stateful_load_json(struct km_ruleset *rs, const char *name, const char *text, size_t len, const km_json *root,
                          int builtin, km_error *err);
/* A threshold written as an Athena SQL query (a .sql file, or "query" in a threshold rule). */
int km_stateful_load_sql(struct km_ruleset *rs, const char *name, const char *text, size_t len, int builtin,
                         km_error *err);
#endif
