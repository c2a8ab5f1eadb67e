/* Fuzz target: the EventBridge pattern parser and compiler (src/match/pattern.c), the rewriting
 * of EventBridge-form patterns onto the raw record (src/rules/rewrite.c), and matching a fixed
 * set of events with the compiled pattern. Properties: km_pattern_check and km_matcher_add agree;
 * a failed add leaves the matcher empty; deleting removes the pattern; and each accepted pattern
 * gives the same answer as the reference matcher (tests/ref_match.c) on every fixed event. The
 * fixed events are parsed for the reference once, and the pattern once per input
 * (ref_match_doc): not 7 times each. */
#include "fuzz.h"
#include "kumomori/buf.h"
#include "kumomori/match.h"
#include "kumomori/rules.h"
#include "../tests/ref_match.h"

#include <stdlib.h>
#include <string.h>

static const char *const events[] = {
    "{\"eventName\":\"DeleteBucket\",\"eventSource\":\"s3.amazonaws.com\",\"a\":\"x\",\"b\":1,"
    "\"c\":{\"d\":[\"xy\",\"Ab\",2.5]},\"sourceIPAddress\":\"10.1.2.3\"}",
    "{\"a\":[{\"b\":\"x\",\"c\":1},{\"b\":\"y\",\"c\":2}],\"d\":null,\"e\":true,\"f\":false}",
    "{\"a\":\"\",\"b\":-0,\"c\":\"10.0.0.1\",\"d\":\"a*b\",\"x\":{\"y\":{\"z\":\"\\u00c9t\\u00e9\"}}}",
    "{\"detail-type\":\"AWS API Call via CloudTrail\",\"source\":\"aws.s3\",\"detail\":{\"eventName\":\"PutObject\"}}",
    "{\"a\":1e2,\"b\":\"100\",\"c\":[],\"d\":{},\"e\":[[\"x\"]],\"a.b\":\"x\"}",
    "{\"userIdentity\":{\"type\":\"Root\",\"arn\":\"arn:aws:iam::1:root\"},\"requestParameters\":{\"bucketName\":\"Secret\"},"
    "\"errorCode\":\"AccessDenied\",\"sourceIPAddress\":\"2001:db8::1\"}",
    "{\"b\":{\"c\":\"X\"},\"c\":[\"x.y\",\"yx\",3],\"e\":\"\\u00e9\"}",
};
#define NEV (sizeof events / sizeof events[0])

static km_matcher *m;
static km_match_scratch *scratch;
static km_json_doc *event_doc[NEV];

static void cleanup(void) {
    km_matcher_free(m);
    km_match_scratch_free(scratch);
    for (size_t i = 0; i < NEV; i++) km_json_doc_free(event_doc[i]);
}

KM_FUZZ_TARGET(pattern) {
    if (!m) {
        m = km_matcher_new();
        scratch = km_match_scratch_new();
        if (!m || !scratch) abort();
        for (size_t i = 0; i < NEV; i++)
            if (!(event_doc[i] = ref_match_parse_event(events[i], strlen(events[i])))) abort();
        atexit(cleanup);
    }
    const char *p = (const char *)data;
    km_error e1, e2;
    int chk = km_pattern_check(p, size, &e1);
    int add = km_matcher_add(m, 7, p, size, &e2);
    KM_FUZZ_CHECK("pattern", (chk == KM_OK) == (add == KM_OK), "check %d but add %d", chk, add);
    if (add != KM_OK) {
        KM_FUZZ_CHECK("pattern", km_matcher_count(m) == 0, "failed add changed the matcher");
        KM_FUZZ_CHECK("pattern", e2.msg[0] != 0, "error without a message");
        KM_FUZZ_CHECK("pattern", e2.offset == (size_t)-1 || e2.offset <= size, "error offset %zu past %zu",
                      e2.offset, size);
    } else {
        km_json_doc *pd = km_json_parse(p, size, NULL, NULL, NULL);
        for (size_t i = 0; i < NEV; i++) {
            const uint32_t *ids;
            int got = km_matcher_match(m, scratch, events[i], strlen(events[i]), &ids, NULL);
            KM_FUZZ_CHECK("pattern", got == 0 || (got == 1 && ids[0] == 7), "match gave %d", got);
            int ref = pd ? ref_match_doc(km_json_root(pd), km_json_root(event_doc[i])) : -1;
            KM_FUZZ_CHECK("pattern", got == ref, "event %zu: matcher %d, reference %d", i, got, ref);
        }
        km_json_doc_free(pd);
        KM_FUZZ_CHECK("pattern", km_matcher_delete(m, 7) == 1 && km_matcher_count(m) == 0, "delete failed");
    }
    km_buf out = KM_BUF_INIT;
    int was_eb = 0;
    if (km_pattern_rewrite(p, size, &out, &was_eb, &e1) == KM_OK) {
        /* A rewritten pattern is compact JSON: it must at least be checkable without crashing. */
        (void)km_pattern_check(out.data ? out.data : "", out.len, NULL);
    } else {
        KM_FUZZ_CHECK("pattern", e1.offset == (size_t)-1 || e1.offset <= size, "rewrite error offset %zu past %zu",
                      e1.offset, size);
    }
    km_buf_free(&out);
    return 0;
}
