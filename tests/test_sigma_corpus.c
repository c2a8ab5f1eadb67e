/* The 57 SigmaHQ CloudTrail rules over the 3,788 staged records, against the expected matches in
 * tests/data/sigma/corpus-expected.txt (written from a reading of each rule, see the script
 * beside it); and each rule's hand-written positive and negative records in
 * tests/data/sigma/cases/<rule>.jsonl. */
#include "test.h"
#include "corpus.h"
#include "kumomori/sigma.h"

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
                km_json_doc_free(d);
            }
            km_test_case(pos > 0 && neg > 0, "%s: %d positive and %d negative cases (need one of each)", nm, pos, neg);
        }
        free(cases);
        km_sigma_set_free(s);
        free(list[i]);
    }
    free(list);
    km_sigma_scratch_free(sc);
}
