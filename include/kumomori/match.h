/* EventBridge event-pattern matcher: many patterns compiled into one automaton, one call
 * matches an event (JSON bytes) against all of them and returns every matching id.
 *
 * Semantics are Amazon EventBridge's (aws/event-ruler `rulesForJSONEvent`, with AWS itself
 * winning where the two differ): exact strings/numbers/null/booleans, prefix, suffix,
 * equals-ignore-case, anything-but (all forms), numeric, exists, cidr, wildcard, $or, nested
 * objects, arrays (any element; fields of different elements of one array never combine).
 *
 * Ownership: the matcher owns copies of everything added; the caller keeps its buffers.
 * Thread-safety: km_matcher_match may run concurrently on one matcher from many threads, each
 * with its own km_match_scratch; km_matcher_add/km_matcher_delete need exclusive access (the
 * caller serialises them against every other call). */
#ifndef KUMOMORI_MATCH_H
#define KUMOMORI_MATCH_H

#include <stddef.h>
#include <stdint.h>
#include "kumomori/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct km_matcher km_matcher;
typedef struct km_match_scratch km_match_scratch;

/* Limits applied while matching events (untrusted input). 0 = default. */
typedef struct km_match_limits {
    size_t max_depth;       /* default 512 */
    size_t max_event_bytes; /* default 256 MiB */
    size_t max_fields;      /* flattened fields kept per event, default 1,000,000 */
} km_match_limits;

/* New empty matcher, or NULL when out of memory. */
km_matcher *km_matcher_new(void);
/* Frees the matcher and everything it owns. Takes NULL. */
void km_matcher_free(km_matcher *m);
void km_matcher_set_limits(km_matcher *m, const km_match_limits *lim);

/* Compile the pattern (JSON text) and add it under id. Adding several patterns under one id
 * means "any of them" (as in Quamina and Event Ruler). Returns KM_OK, or an error whose
 * message says what is wrong and where (byte offset and JSON path in the pattern); on error
 * the matcher is unchanged. */
int km_matcher_add(km_matcher *m, uint32_t id, const char *pattern, size_t len, km_error *err);
/* Remove every pattern added under id. Returns 1 if any was removed, 0 if none. */
int km_matcher_delete(km_matcher *m, uint32_t id);
/* Number of distinct ids currently held. */
size_t km_matcher_count(const km_matcher *m);

/* Check a pattern without adding it (same messages as km_matcher_add). */
int km_pattern_check(const char *pattern, size_t len, km_error *err);

/* KM_PATTERN_KM_OPS lets a pattern use kumomori's own operator km-wildcard-ignore-case
 * (docs/matcher.md). EventBridge refuses it, so km_matcher_add and km_pattern_check do too, as
 * for any unknown operator: only patterns kumomori writes itself (the Sigma compiler's) pass the
 * flag, never a pattern a user wrote. */
#define KM_PATTERN_KM_OPS 1u
/* km_matcher_add / km_pattern_check with flags (0 or KM_PATTERN_KM_OPS). */
int km_matcher_add_flags(km_matcher *m, uint32_t id, const char *pattern, size_t len, unsigned flags, km_error *err);
int km_pattern_check_flags(const char *pattern, size_t len, unsigned flags, km_error *err);

/* Per-thread scratch memory for matching; reuse it across calls. Takes NULL to free. */
km_match_scratch *km_match_scratch_new(void);
void km_match_scratch_free(km_match_scratch *s);

/* Match one event against every pattern. On success returns the number of matching ids and
 * sets *ids to them (sorted ascending, each once; valid until the next call with the same
 * scratch). Returns -1 when the event is not valid JSON or exceeds a limit (err says what and
 * at which byte offset). */
int km_matcher_match(const km_matcher *m, km_match_scratch *s, const char *event, size_t len,
                     const uint32_t **ids, km_error *err);

#ifdef __cplusplus
}
#endif
#endif
