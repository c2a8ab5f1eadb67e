/* Reference EventBridge matcher for differential tests: deliberately simple and slow, written
 * apart from src/match. It interprets one pattern (JSON DOM) against one event (JSON DOM) with
 * no compilation: $or is expanded on the fly, event leaves are collected with explicit array
 * paths, and a brute-force search looks for array-consistent choices. It does not validate
 * patterns (give it patterns the matcher accepted). */
#ifndef KM_TEST_REF_MATCH_H
#define KM_TEST_REF_MATCH_H
#include <stddef.h>

/* 1 match, 0 no match, -1 pattern or event unusable (not JSON, event not an object, ...). */
int ref_match(const char *pattern, size_t plen, const char *event, size_t elen);

/* The same on documents already parsed (the pattern as km_json_parse gives it, the event as
 * ref_match_parse_event does), for callers comparing many pairs: NULL gives -1. */
#include "kumomori/json.h"
int ref_match_doc(const km_json *pattern, const km_json *event);
/* The event parsed as ref_match parses it (invalid UTF-8 replaced); NULL when it is not JSON. */
km_json_doc *ref_match_parse_event(const char *event, size_t elen);

#endif
