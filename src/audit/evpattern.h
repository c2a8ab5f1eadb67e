/* Does an EventBridge event pattern match an event? Used by audit checks to ask whether a
 * rule in the account would fire on a given CloudTrail API call (the IAM policy changes the
 * strategy wants alerts on), by matching the rule's pattern against a synthetic event.
 *
 * Written here rather than with the matcher of include/kumomori/match.h because a check asks
 * about one pattern and a handful of events at a time and needs to know which part of the
 * pattern failed (to say why in the finding); the semantics follow EventBridge's for the
 * operators a rule on CloudTrail events uses (exact, prefix, suffix, anything-but,
 * equals-ignore-case, wildcard, exists, $or, nested objects). numeric and cidr never match a
 * string field, as in EventBridge. */
#ifndef KM_AUDIT_EVPATTERN_H
#define KM_AUDIT_EVPATTERN_H
#include "kumomori/json.h"
#include <stddef.h>

/* 1 when pattern matches event, 0 when not. When it does not and why is not NULL, the first
 * field that failed is written there ("source", "detail.eventName"). */
int km_evpattern_match(const km_json *pattern, const km_json *event, char *why, size_t whyn);
#endif
