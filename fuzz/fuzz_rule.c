/* Fuzz target: the rule file loader (src/rules: docs/rules.md, thresholds and correlations of
 * docs/stateful.md) on one untrusted rule file, then finishing the set, compiling its matcher and
 * running the rule's own examples through it. Properties: a failed load names the file and keeps
 * the error; on each example the compiled matcher agrees with the reference matcher
 * (tests/ref_match.c) interpreting the rewritten pattern. (Whether the examples match as the file
 * says is `kumomori rules test`'s business, not the loader's.) */
#include "fuzz.h"
#include "kumomori/match.h"
#include "kumomori/rules.h"
#include "../tests/ref_match.h"

#include <string.h>

KM_FUZZ_TARGET(rule) {
    km_ruleset *rs = km_ruleset_new();
    if (!rs) return 0;
    km_error err;
    int rc = km_ruleset_add_text(rs, "fuzz.json", (const char *)data, size, 0, &err);
    if (rc != KM_OK) {
        KM_FUZZ_CHECK("rule", km_ruleset_error_count(rs) > 0, "failed load kept no error");
        KM_FUZZ_CHECK("rule", strstr(err.msg, "fuzz.json") != NULL, "error does not name the file: %s", err.msg);
    }
    km_ruleset_finish(rs, &err);
    for (size_t i = 0; i < km_ruleset_error_count(rs); i++) (void)strlen(km_ruleset_error(rs, i));
    km_matcher *m = km_ruleset_matcher(rs, &err);
    km_match_scratch *s = km_match_scratch_new();
    if (m && s) {
        for (size_t i = 0; i < km_ruleset_count(rs); i++) {
            const km_rule *r = km_ruleset_get(rs, i);
            if (r->kind != KM_RULE_PATTERN) continue;
            for (size_t j = 0; j < r->nexamples; j++) {
                const km_rule_example *ex = &r->examples[j];
                const uint32_t *ids;
                int n = km_matcher_match(m, s, ex->json, ex->len, &ids, NULL);
                int hit = 0;
                for (int k = 0; k < n; k++) hit |= ids[k] == (uint32_t)i;
                int ref = ref_match(r->pattern, r->pattern_len, ex->json, ex->len);
                KM_FUZZ_CHECK("rule", n >= 0 && hit == ref, "rule %s example %zu: matcher %d, reference %d",
                              r->id, j, n < 0 ? -1 : hit, ref);
            }
        }
    }
    km_match_scratch_free(s);
    km_matcher_free(m);
    km_ruleset_free(rs);
    return 0;
}
