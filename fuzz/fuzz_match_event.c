/* Fuzz target: the event flattener and matcher (src/match) on untrusted CloudTrail records. The
 * matcher holds the built-in rule pack (rewritten onto the raw record) plus patterns using every
 * operator; the input is one event. The first byte picks tight limits (depth, fields) or the
 * defaults. Properties: the ids returned are ascending, distinct and known; under the default
 * limits the hand-written patterns agree with the reference matcher (tests/ref_match.c) on small
 * events that are strict JSON objects, so this is also a differential target on arbitrary event
 * bytes. The hand patterns are parsed for the reference once, and each event once per input
 * (tests/ref_match.h, ref_match_doc): parsing both again for each of the 12 comparisons was a
 * quarter of this target's time, spent in the harness. */
#include "fuzz.h"
#include "kumomori/match.h"
#include "kumomori/rules.h"
#include "../tests/ref_match.h"

#include <stdlib.h>
#include <string.h>

static const char *const hand[] = {
    "{\"eventName\":[\"DeleteBucket\",{\"prefix\":\"Put\"}],\"eventSource\":[{\"suffix\":\".amazonaws.com\"}]}",
    "{\"userIdentity\":{\"type\":[\"Root\"]},\"sourceIPAddress\":[{\"cidr\":\"10.0.0.0/8\"},{\"cidr\":\"2001:db8::/32\"}]}",
    "{\"requestParameters\":{\"bucketName\":[{\"equals-ignore-case\":\"SECRET\"}],\"x\":[{\"exists\":false}]}}",
    "{\"a\":[{\"anything-but\":[\"x\",\"y\"]}],\"b\":[{\"numeric\":[\">\",0,\"<=\",100]}]}",
    "{\"a\":[{\"anything-but\":{\"prefix\":\"z\"}}],\"c\":[null,true,1.5e2,-0]}",
    "{\"$or\":[{\"a\":[{\"wildcard\":\"*x*y\"}]},{\"b\":{\"c\":[{\"exists\":true}]}}]}",
    "{\"a\":{\"b\":[\"1\",1]},\"a.b\":[{\"suffix\":{\"equals-ignore-case\":\"Z\"}}]}",
    "{\"e\":[{\"anything-but\":{\"equals-ignore-case\":[\"A\",\"\\u00e9\"]}}],\"f\":[{\"numeric\":[\"=\",3]}]}",
    "{\"errorCode\":[{\"exists\":true}],\"responseElements\":[null]}",
    "{\"resources\":{\"ARN\":[{\"wildcard\":\"arn:aws:s3:::*\"}],\"type\":[\"AWS::S3::Object\"]}}",
    "{\"a\":[{\"anything-but\":{\"wildcard\":\"a*\"}}],\"d\":[{\"prefix\":{\"equals-ignore-case\":\"ab\"}}]}",
    "{\"tlsDetails\":{\"tlsVersion\":[\"TLSv1.2\"]},\"readOnly\":[false]}",
};
#define NHAND (sizeof hand / sizeof hand[0])
#define HAND_BASE 100000u

static km_matcher *m;
static km_match_scratch *scratch;
static uint32_t nrules;
static km_json_doc *hand_doc[NHAND];

static void cleanup(void) {
    km_matcher_free(m);
    km_match_scratch_free(scratch);
    for (size_t i = 0; i < NHAND; i++) km_json_doc_free(hand_doc[i]);
}

static int setup(void) {
    if (m) return 0;
    km_ruleset *rs = km_ruleset_new();
    km_error err;
    if (!rs || km_ruleset_add_builtin(rs, &err) != KM_OK) abort(); /* the built-in pack must load */
    km_ruleset_finish(rs, NULL);
    m = km_ruleset_matcher(rs, &err);
    if (!m) abort();
    nrules = (uint32_t)km_ruleset_count(rs);
    km_ruleset_free(rs);
    for (size_t i = 0; i < NHAND; i++) {
        if (km_matcher_add(m, HAND_BASE + (uint32_t)i, hand[i], strlen(hand[i]), &err) != KM_OK) abort();
        hand_doc[i] = km_json_parse(hand[i], strlen(hand[i]), NULL, NULL, NULL);
        if (!hand_doc[i]) abort();
    }
    scratch = km_match_scratch_new();
    if (!scratch) abort();
    atexit(cleanup);
    return 0;
}

KM_FUZZ_TARGET(match_event) {
    setup();
    km_fuzz_in in = {data, size};
    uint8_t flags = km_fuzz_byte(&in);
    km_match_limits lim = {0, 0, 0};
    if (flags & 1) lim.max_depth = 1 + (flags >> 4);
    if (flags & 2) lim.max_fields = 1 + (flags >> 2);
    if (flags & 4) lim.max_event_bytes = 1 + (flags >> 1);
    km_matcher_set_limits(m, &lim);
    const char *ev = (const char *)in.p;
    size_t len = in.n;
    const uint32_t *ids = NULL;
    km_error err;
    int n = km_matcher_match(m, scratch, ev, len, &ids, &err);
    if (n < 0) {
        KM_FUZZ_CHECK("match_event", err.msg[0] && (err.offset == (size_t)-1 || err.offset <= len),
                      "bad error (offset %zu of %zu)", err.offset, len);
    }
    int hit[NHAND];
    memset(hit, 0, sizeof hit);
    for (int i = 0; i < n; i++) {
        KM_FUZZ_CHECK("match_event", i == 0 || ids[i] > ids[i - 1], "ids not ascending");
        KM_FUZZ_CHECK("match_event", ids[i] < nrules || (ids[i] >= HAND_BASE && ids[i] < HAND_BASE + NHAND),
                      "unknown id %u", ids[i]);
        if (ids[i] >= HAND_BASE && ids[i] < HAND_BASE + NHAND) hit[ids[i] - HAND_BASE] = 1;
    }
    if (!(flags & 7) && len <= 512) {
        km_json_doc *ed = ref_match_parse_event(ev, len);
        for (size_t i = 0; ed && i < NHAND; i++) {
            /* The reference parses the whole event strictly; the matcher validates only the parts
             * some pattern reads (docs/matcher.md), so events the reference refuses are not compared. */
            int ref = ref_match_doc(km_json_root(hand_doc[i]), km_json_root(ed));
            if (ref < 0) continue;
            KM_FUZZ_CHECK("match_event", n >= 0 && ref == hit[i], "pattern %zu: matcher %d, reference %d", i,
                          n < 0 ? -1 : hit[i], ref);
        }
        km_json_doc_free(ed);
    }
    return 0;
}
