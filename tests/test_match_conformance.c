/* Conformance of the matcher with EventBridge: the peers' test cases (event-ruler and quamina),
 * the semantic probes answered by both, and the cases checked against AWS itself (localstack's
 * TestEventPattern). Every case is reported with km_test_case; skipped cases come only from
 * tests/data/match-skips.tsv, each with its reason. */
#include "test.h"
#include "match_corpus.h"
#include "kumomori/match.h"

#include <stdlib.h>
#include <string.h>

static size_t unlisted_skips;

/* Runs one case on a fresh matcher; returns 1 match, 0 no match, -1 pattern rejected,
 * -3 event rejected. */
static int run_case(const km_mcase *c, km_error *err) {
    km_matcher *m = km_matcher_new();
    km_match_scratch *s = km_match_scratch_new();
    int res;
    if (km_matcher_add(m, 7, c->pattern, c->plen, err) != KM_OK) {
        res = -1;
    } else {
        const uint32_t *ids;
        int n = km_matcher_match(m, s, c->event, c->elen, &ids, err);
        res = n < 0 ? -3 : (n == 1 && ids[0] == 7);
    }
    km_matcher_free(m);
    km_match_scratch_free(s);
    return res;
}

static void run_file(const char *rel) {
    km_mcases cs;
    if (km_mcases_load(rel, &cs) != 0) {
        km_test_skip("%s: shared corpora absent", rel);
        return;
    }
    for (size_t i = 0; i < cs.n; i++) {
        const km_mcase *c = &cs.c[i];
        if (c->expected == -2) {
            if (strncmp(c->skip_reason, "(not listed)", 12) == 0) {
                unlisted_skips++;
                km_test_case(0, "%s (%s): would be skipped but is not in tests/data/match-skips.tsv", c->key, c->source);
            } else {
                km_test_case_skip("%s (%s): %s", c->key, c->source, c->skip_reason);
            }
            continue;
        }
        km_error err = {0};
        int got = run_case(c, &err);
        km_test_case(got == c->expected, "%s (%s): expected %s, got %s%s%s\n   pattern: %.300s\n   event: %.300s", c->key,
                     c->source, c->expected == 1 ? "match" : c->expected == 0 ? "no match" : "invalid pattern",
                     got == 1 ? "match" : got == 0 ? "no match" : got == -1 ? "invalid pattern" : "invalid event",
                     got < 0 ? ": " : "", got < 0 ? err.msg : "", c->pattern, c->event);
    }
    km_mcases_free(&cs);
}

TEST(match_conformance_peer_cases) { run_file("patterns/cases.jsonl"); }

TEST(match_conformance_probes) { run_file("patterns/probes-both-peers.jsonl"); }

TEST(match_conformance_aws_localstack) {
    run_file("cloudtrail/eventbridge-patterns-localstack/eventbridge_pattern_cases.jsonl");
}

TEST(match_conformance_large_events) { run_file("patterns/cases-large.jsonl"); }

/* Runs last by name order? No: registration order is file order, so this checks after the
 * files above have consulted the list. */
TEST(match_conformance_skip_list_is_exact) {
    if (!km_test_corpora()) {
        km_test_skip("shared corpora absent");
        return;
    }
    char first[128] = "";
    size_t unused = km_mskip_unused(first, sizeof first);
    CHECK_MSG(unused == 0, "%zu entries in tests/data/match-skips.tsv name no case (first: %s)", unused, first);
    CHECK_INT(unlisted_skips, 0);
}
