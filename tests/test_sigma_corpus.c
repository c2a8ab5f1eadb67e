/* The 57 SigmaHQ CloudTrail rules over the 3,788 staged records, against the expected matches in
 * tests/data/sigma/corpus-expected.txt (written from a reading of each rule, see the script
 * beside it); and each rule's hand-written positive and negative records in
 * tests/data/sigma/cases/<rule>.jsonl. */
#include "test.h"
#include "corpus.h"
#include "kumomori/sigma.h"
#include "kumomori/match.h"

#include "kumomori/buf.h"
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

static km_sigma_set *load_one(const char *path, km_error *err) {
    km_sigma_set *s = km_sigma_set_new();
    if (!s) return NULL;
    if (km_sigma_set_add_path(s, path, err) != KM_OK || km_sigma_set_finish(s, err) != KM_OK) {
        km_sigma_set_free(s);
        return NULL;
    }
    return s;
}

/* The only reported detection rule of a file with one rule. */
static long reported_rule(const km_sigma_set *s) {
    long r = -1;
    for (size_t i = 0; i < km_sigma_count(s); i++)
        if (km_sigma_get(s, i)->reported && km_sigma_get(s, i)->kind == KM_SIGMA_DETECTION) r = (long)i;
    return r;
}

static int in_list(const char *list, const char *id) {
    size_t l = strlen(id);
    const char *p = list;
    while (p && *p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == l && !memcmp(p, id, l)) return 1;
        p = e ? e + 1 : NULL;
    }
    return 0;
}

TEST(sigma_all_57_rules_load_and_match_the_expected_records) {
    const char *corp = km_test_corpora();
    if (!corp) { km_test_skip("shared corpora absent"); return; }
    km_test_corpus *c = km_test_corpus_load(corp);
    CHECK_MSG(c, "cannot read the staged CloudTrail records");
    CHECK_INT(c->n, 3788);
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/data/sigma/corpus-expected.txt", km_test_top());
    char *exp = km_test_read(path, NULL);
    CHECK_MSG(exp, "cannot read %s", path);
    km_sigma_scratch *sc = km_sigma_scratch_new();
    size_t rules = 0;
    char *save = NULL;
    for (char *line = strtok_r(exp, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#') continue;
        char *t1 = strchr(line, '\t');
        if (!t1) continue;
        *t1 = 0;
        char *t2 = strchr(t1 + 1, '\t');
        const char *ids = t2 ? t2 + 1 : "";
        long want = strtol(t1 + 1, NULL, 10);
        snprintf(path, sizeof path, "%s/cloudtrail/sigma/rules/%s", corp, line);
        km_error err;
        km_sigma_set *s = load_one(path, &err);
        km_test_case(s != NULL, "%s does not load: %s", line, err.msg);
        if (!s) continue;
        rules++;
        long ri = reported_rule(s);
        long got = 0, wrong = 0;
        for (size_t i = 0; i < c->n; i++) {
            int m = km_sigma_eval(s, (size_t)ri, c->r[i].rec, sc);
            int e = in_list(ids, c->r[i].id);
            if (m) got++;
            if (m != e) {
                if (wrong++ < 3) printf("  %s: %s %s, expected %s\n", line, c->r[i].id, m ? "matches" : "does not match",
                                        e ? "a match" : "no match");
            }
        }
        km_test_case(got == want && wrong == 0, "%s: %ld matches (expected %ld), %ld records differ", line, got, want, wrong);
        km_sigma_set_free(s);
    }
    km_test_case(rules == 57, "%zu rules in the expectation file, expected 57", rules);
    km_sigma_scratch_free(sc);
    free(exp);
    km_test_corpus_free(c);
}

/* Every rule file in sigma/rules has a case file, and every case file has at least one record
 * that must match and one that must not; each is checked. */
TEST(sigma_each_rule_has_positive_and_negative_cases) {
    const char *corp = km_test_corpora();
    if (!corp) { km_test_skip("shared corpora absent"); return; }
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/cloudtrail/sigma/rules", corp);
    struct dirent **list;
    int n = scandir(dir, &list, NULL, alphasort);
    CHECK(n > 0);
    km_sigma_scratch *sc = km_sigma_scratch_new();
    for (int i = 0; i < n; i++) {
        const char *nm = list[i]->d_name;
        size_t l = strlen(nm);
        if (l < 5 || strcmp(nm + l - 4, ".yml")) { free(list[i]); continue; }
        char rp[8400], cp[8400];
        snprintf(rp, sizeof rp, "%s/%s", dir, nm);
        snprintf(cp, sizeof cp, "%s/tests/data/sigma/cases/%.*s.jsonl", km_test_top(), (int)(l - 4), nm);
        km_error err;
        km_sigma_set *s = load_one(rp, &err);
        char *cases = km_test_read(cp, NULL);
        km_test_case(s && cases, "%s: %s", nm, !s ? err.msg : "no case file");
        if (s && cases) {
            long ri = reported_rule(s);
            /* the rule's prefilter, to check that it passes every positive case on */
            km_matcher *pm = km_matcher_new();
            const char *const *pats;
            size_t npat = km_sigma_prefilter(s, (size_t)ri, &pats);
            for (size_t k = 0; k < npat; k++) km_matcher_add_flags(pm, 1, pats[k], strlen(pats[k]), KM_PATTERN_KM_OPS, &err);
            km_match_scratch *ms = km_match_scratch_new();
            int pos = 0, neg = 0;
            size_t lineno = 0;
            char *save = NULL;
            for (char *line = strtok_r(cases, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                lineno++;
                if (!line[0] || line[0] == '#') continue;
                km_json_doc *d = km_json_parse(line, strlen(line), NULL, NULL, &err);
                km_test_case(d != NULL, "%s line %zu: %s", cp, lineno, d ? "" : err.msg);
                if (!d) continue;
                const km_json *root = km_json_root(d);
                const km_json *expect = km_json_get(root, "expect");
                const km_json *rec = km_json_get(root, "record");
                const char *why = km_json_get_str(root, "why", "");
                int want = km_json_is(expect, KM_JSON_TRUE);
                if (want) pos++;
                else neg++;
                int got = km_sigma_eval(s, (size_t)ri, rec, sc);
                km_test_case(got == want, "%s line %zu (%s): %s, expected %s", nm, lineno, why,
                             got ? "matches" : "does not match", want ? "a match" : "no match");
                if (got && npat) {
                    km_buf rb = KM_BUF_INIT;
                    km_json_write(&rb, rec);
                    const uint32_t *ids;
                    int pn = km_matcher_match(pm, ms, rb.data, rb.len, &ids, &err);
                    km_test_case(pn == 1, "%s line %zu: matches, but its prefilter drops it", nm, lineno);
                    km_buf_free(&rb);
                }
                km_json_doc_free(d);
            }
            km_test_case(pos > 0 && neg > 0, "%s: %d positive and %d negative cases (need one of each)", nm, pos, neg);
            km_match_scratch_free(ms);
            km_matcher_free(pm);
        }
        free(cases);
        km_sigma_set_free(s);
        free(list[i]);
    }
    free(list);
    km_sigma_scratch_free(sc);
}

/* The prefilter patterns are valid EventBridge patterns, and never drop a record the rule matches:
 * on every staged record and every hand-written case, a match implies a prefilter match. */
TEST(sigma_prefilter_never_drops_a_match) {
    const char *corp = km_test_corpora();
    if (!corp) { km_test_skip("shared corpora absent"); return; }
    km_test_corpus *c = km_test_corpus_load(corp);
    CHECK(c);
    char dir[4096], dir2[4096];
    snprintf(dir, sizeof dir, "%s/cloudtrail/sigma/rules", corp);
    snprintf(dir2, sizeof dir2, "%s/cloudtrail/sigma/unsupported", corp);
    km_sigma_set *s = km_sigma_set_new();
    km_error e;
    CHECK_MSG(km_sigma_set_add_path(s, dir, &e) == KM_OK && km_sigma_set_add_path(s, dir2, &e) == KM_OK &&
                  km_sigma_set_finish(s, &e) == KM_OK,
              "%s", e.msg);
    km_matcher *m = km_matcher_new();
    size_t with_prefilter = 0, rules = 0;
    for (size_t i = 0; i < km_sigma_count(s); i++) {
        if (km_sigma_get(s, i)->kind != KM_SIGMA_DETECTION) continue;
        rules++;
        const char *const *p;
        size_t n = km_sigma_prefilter(s, i, &p);
        if (n) with_prefilter++;
        for (size_t k = 0; k < n; k++) {
            km_error err;
            int ok = km_matcher_add_flags(m, (uint32_t)i, p[k], strlen(p[k]), KM_PATTERN_KM_OPS, &err) == KM_OK;
            km_test_case(ok, "rule %zu pattern %s: %s", i, p[k], ok ? "" : err.msg);
        }
    }
    printf("  %zu of %zu Sigma detections have a prefilter\n", with_prefilter, rules);
    km_test_case(with_prefilter == rules, "%zu Sigma detections without a prefilter", rules - with_prefilter);
    km_match_scratch *ms = km_match_scratch_new();
    km_sigma_scratch *sc = km_sigma_scratch_new();
    long matches = 0, dropped = 0, passed_on = 0;
    for (size_t r = 0; r < c->n; r++) {
        const uint32_t *ids;
        km_error err;
        int n = km_matcher_match(m, ms, c->r[r].text, c->r[r].len, &ids, &err);
        CHECK(n >= 0);
        passed_on += n;
        for (size_t i = 0; i < km_sigma_count(s); i++) {
            if (km_sigma_get(s, i)->kind != KM_SIGMA_DETECTION) continue;
            if (km_sigma_eval(s, i, c->r[r].rec, sc) != 1) continue;
            matches++;
            int found = 0;
            for (int k = 0; k < n; k++) found |= ids[k] == i;
            if (!found && dropped++ < 5) printf("  rule %zu matches %s but its prefilter does not\n", i, c->r[r].id);
        }
    }
    km_test_case(dropped == 0, "%ld of %ld matches dropped by the prefilter", dropped, matches);
    /* where the prefilter claims to be exact, it is: a prefilter match is a match on every record */
    size_t exact = 0;
    long extra = 0;
    for (size_t i = 0; i < km_sigma_count(s); i++) {
        if (!km_sigma_prefilter_exact(s, i)) continue;
        exact++;
        for (size_t r = 0; r < c->n; r++) {
            const uint32_t *ids;
            km_error err;
            int n = km_matcher_match(m, ms, c->r[r].text, c->r[r].len, &ids, &err);
            int pre = 0;
            for (int k = 0; k < n; k++) pre |= ids[k] == i;
            if (pre && km_sigma_eval(s, i, c->r[r].rec, sc) != 1 && extra++ < 5)
                printf("  rule %zu: exact prefilter passes %s, which the rule does not match\n", i, c->r[r].id);
        }
    }
    printf("  %zu of %zu Sigma detections are exactly their prefilter\n", exact, rules);
    km_test_case(extra == 0 && exact >= 40, "%ld records pass an exact prefilter without matching; %zu exact rules", extra, exact);
    printf("  prefilter passed %ld (rule, record) pairs on for %ld matches over %zu records\n", passed_on, matches, c->n);
    km_match_scratch_free(ms);
    km_sigma_scratch_free(sc);
    km_matcher_free(m);
    km_sigma_set_free(s);
    km_test_corpus_free(c);
}
