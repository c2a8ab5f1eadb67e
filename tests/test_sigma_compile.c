/* Sigma detections compiled onto the matcher (src/sigma/compile.c, docs/sigma.md "How it runs"):
 * for each construct, whether it is compiled fully or partly, and that the matcher's answer agrees
 * with the reference evaluator on records written to hit the edge cases (a fully compiled rule:
 * equal on every record; a partly compiled one: never drops a match). Then the same over the
 * staged CloudTrail records through the detection program, with and without the compilation
 * (km_sigma_set_compile): the same rules must fire on every record. */
#include "test.h"
#include "corpus.h"
#include "detect/program.h"
#include "kumomori/buf.h"
#include "kumomori/match.h"
#include "kumomori/rules.h"
#include "kumomori/sigma.h"

#include <stdlib.h>
#include <string.h>

static const char *HEAD = "title: t\nid: 11111111-2222-3333-4444-555555555555\nlogsource:\n    product: aws\n    service: cloudtrail\n";

typedef struct {
    const char *det;
    int level; /* 2 fully, 1 partly */
    const char *recs[14];
} ccase;

/* Records over the fields the cases use, written by hand for the edge cases (absent, null, case,
 * non-ASCII, literal stars, objects where a string is documented). */
#define R_ALL                                                                                                          \
    "{\"eventName\":\"DeleteBucket\",\"eventSource\":\"s3.amazonaws.com\"}",                                           \
        "{\"eventName\":\"deletebucket\",\"eventSource\":\"S3.AMAZONAWS.COM\",\"errorCode\":\"Success\"}",             \
        "{\"eventName\":\"DeleteBucket\",\"errorCode\":null,\"userAgent\":\"aws-cli/2 TruffleHog/3\"}",                \
        "{\"eventName\":\"DeleteBucket\",\"errorCode\":\"AccessDenied\",\"userAgent\":\"TRUFFLEHOG\"}",                \
        "{\"eventName\":\"ListBuckets\",\"userIdentity\":{\"type\":\"AssumedRole\"},\"userAgent\":\"S3 Browser 9\"}",    \
        "{\"eventName\":\"ListBuckets\",\"userIdentity\":{\"type\":\"IAMUser\"},\"userAgent\":\"a*b\\\\c\"}",          \
        "{\"eventName\":\"ListBuckets\",\"userIdentity\":{\"type\":\"assumedrole\"},\"userAgent\":\"x\\u00e9y\"}",     \
        "{\"eventName\":\"ListBuckets\",\"userIdentity\":{\"arn\":\"arn:aws:sts::1:assumed-role/aws:ec2/i-1\"}}",       \
        "{\"eventName\":\"GetObject\",\"userIdentity\":{},\"errorMessage\":\"\",\"userAgent\":\"\"}",                 \
        "{\"eventName\":\"ListBucketsX\",\"requestParameters\":{\"x\":\"Suspended\"},\"userAgent\":\"Mozilla Jersey/${project.version} x\"}", \
        "{\"eventName\":\"ListBuckets\",\"sourceIPAddress\":\"AWS Internal\",\"errorMessage\":\"boom\"}"

static const ccase cases[] = {
    {"detection:\n    a:\n        eventName: DeleteBucket\n    b:\n        errorCode: Success\n    c:\n        errorCode: null\n"
     "    condition: a and (b or c)\n",
     2, {R_ALL}},
    {"detection:\n    sel:\n        eventName: ListBuckets\n    f:\n        userIdentity.type: AssumedRole\n"
     "    condition: sel and not f\n",
     2, {R_ALL}},
    {"detection:\n    sel:\n        userAgent|contains: 'TruffleHog'\n    condition: sel\n", 2, {R_ALL}},
    {"detection:\n    sel:\n        userAgent|contains|cased: 'TruffleHog'\n    condition: sel\n", 2, {R_ALL}},
    {"detection:\n    sel:\n        eventName|startswith: 'list'\n        userAgent|endswith: 'browser 9'\n    condition: sel\n", 2,
     {R_ALL}},
    {"detection:\n    sel:\n        eventName: 'List*s'\n    condition: sel\n", 2, {R_ALL}},
    {"detection:\n    sel:\n        userAgent: 'a\\*b\\c'\n    condition: sel\n", 2, {R_ALL}},
    {"detection:\n    sel:\n        eventName: '*'\n    f:\n        userAgent|contains: 'Jersey/${project.version}'\n"
     "    condition: sel and not 1 of f*\n",
     2, {R_ALL}},
    {"detection:\n    sel:\n        eventName: ListBuckets\n    f1:\n        errorMessage|contains: '*'\n    f2:\n        userAgent: null\n"
     "    condition: sel and not f1 and not f2\n",
     2, {R_ALL}},
    {"detection:\n    sel:\n        userAgent|contains|all:\n            - 'truffle'\n            - 'aws'\n    condition: sel\n", 1,
     {R_ALL}},
    {"detection:\n    sel:\n        userAgent|contains|all:\n            - 'truffle'\n            - 'aws'\n    condition: not sel\n",
     2, {R_ALL}},
    {"detection:\n    sel:\n        errorCode|exists: true\n        eventName: [DeleteBucket, ListBuckets]\n    condition: sel\n", 2,
     {R_ALL}},
    {"detection:\n    sel:\n        eventName: ListBuckets\n    f:\n        errorCode|exists: true\n    condition: sel and not f\n",
     2, {R_ALL}},
    {"detection:\n    sel:\n        eventName: GetObject\n        userAgent: ''\n    condition: not sel\n", 2, {R_ALL}},
    /* kept for the evaluator, partly */
    {"detection:\n    sel:\n        eventName: ListBuckets\n        userAgent: 'x?y'\n    condition: sel\n", 1, {R_ALL}},
    {"detection:\n    sel:\n        eventName: ListBuckets\n        userAgent: 'xéy'\n    condition: sel\n", 1, {R_ALL}},
    {"detection:\n    sel:\n        eventName: ListBucketsX\n        requestParameters|contains: suspended\n    condition: sel\n", 1,
     {R_ALL}},
    {"detection:\n    sel:\n        userIdentity.arn|re: '.+:assumed-role/aws:.+'\n    f:\n        - sourceIPAddress: 'AWS Internal'\n"
     "        - eventName: GetObject\n    condition: sel and not 1 of f\n",
     1, {R_ALL}},
    {"detection:\n    sel:\n        eventName: ListBuckets\n    f:\n        userIdentity.type|fieldref: eventName\n"
     "    condition: sel and not f\n",
     1, {R_ALL}},
    {"detection:\n    a:\n        eventName: ListBuckets\n    b:\n        userAgent|contains: s3\n    c:\n        errorMessage: boom\n"
     "    condition: 2 of them\n",
     1, {R_ALL}},
    {"detection:\n    sel:\n        eventName: ListBuckets\n    kw:\n        - 'internal'\n    condition: sel and kw\n", 1, {R_ALL}},
    /* wildcards the matcher would refuse as too complex: a |re literal with a long run of one
     * character is shortened, and cased contains values refused together drop out (wider) */
    {"detection:\n    sel:\n        userIdentity.arn|re: '[a-z]2222222222x-role/.+'\n    condition: sel\n", 1,
     {R_ALL, "{\"userIdentity\":{\"arn\":\"arn:aws:sts::1:a2222222222x-role/a\"}}",
      "{\"userIdentity\":{\"arn\":\"arn:aws:sts::1:a222222222-role/a\"}}"}},
    {"detection:\n    sel:\n        eventName: ListBuckets\n        userAgent|contains|cased: [abc, def, ghi, jkl]\n    condition: sel\n",
     1, {R_ALL, "{\"eventName\":\"ListBuckets\",\"userAgent\":\"x ghi\"}"}},
    /* |windash: its variants hold dashes outside ASCII, so the evaluator decides the item (one
     * expression for all the variants); the matcher must still never drop a match */
    {"detection:\n    sel:\n        eventName: ListBuckets\n        userAgent|windash|contains: ' -a /b'\n    condition: sel\n", 1,
     {R_ALL, "{\"eventName\":\"ListBuckets\",\"userAgent\":\"x /A \\u2013b\"}",
      "{\"eventName\":\"ListBuckets\",\"userAgent\":\"x \\u2015a \\u2014B y\"}",
      "{\"eventName\":\"ListBuckets\",\"userAgent\":\"x +a /b\"}"}},
    {"detection:\n    sel:\n        eventName: ListBuckets\n        userAgent|windash|endswith|cased: 'a-b/c-d-e-f'\n    condition: sel\n", 1,
     {R_ALL, "{\"eventName\":\"ListBuckets\",\"userAgent\":\"x a/b-c\\u2013d\\u2014e\\u2015f\"}",
      "{\"eventName\":\"ListBuckets\",\"userAgent\":\"x A/b-c-d-e-f\"}",
      "{\"eventName\":\"ListBuckets\",\"userAgent\":\"a-b/c-d-e-f x\"}"}},
};

/* A |windash|base64 value of 300 characters with 5 dashes is 3,125 values of 400 characters: its
 * compiled pattern would pass the matcher's 1 MiB and stop the run when the matcher is built. The
 * patterns give way (the evaluator decides), every one the matcher accepts; the rule still matches
 * (expected base64 texts made with Python's base64 module, of the value with '/' and '+' at the
 * dashes). */
TEST(sigma_patterns_stay_within_the_matcher_size_limit) {
    km_buf b = KM_BUF_INIT;
    km_buf_puts(&b, HEAD);
    km_buf_puts(&b, "detection:\n    sel:\n        userAgent|windash|base64|contains: '");
    for (int i = 0; i < 5; i++) km_buf_puts(&b, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-");
    km_buf_puts(&b, "'\n    condition: sel\n");
    km_error err;
    km_sigma_set *s = km_sigma_set_new();
    int ok = km_sigma_set_add_text(s, "c.yml", b.data, b.len, &err) == KM_OK && km_sigma_set_finish(s, &err) == KM_OK;
    km_buf_free(&b);
    CHECK_MSG(ok, "does not load: %s", err.msg);
    const char *const *why;
    size_t nwhy;
    CHECK(km_sigma_compiled(s, 0, &why, &nwhy) != 2);
    int said = 0;
    for (size_t i = 0; i < nwhy; i++) said |= strstr(why[i], "1 MiB") != NULL;
    CHECK_MSG(said, "no reason names the matcher's limit (%zu reasons)", nwhy);
    const char *const *pats;
    size_t np = km_sigma_prefilter(s, 0, &pats);
    km_matcher *m = km_matcher_new();
    for (size_t k = 0; k < np; k++) {
        int added = km_matcher_add_flags(m, 0, pats[k], strlen(pats[k]), KM_PATTERN_KM_OPS, &err) == KM_OK;
        km_test_case(added, "pattern %zu (%zu bytes): %s", k, strlen(pats[k]), added ? "" : err.msg);
    }
    km_matcher_free(m);
    static const char *yes = "{\"userAgent\":\"zz%s zz\"}", *b1 = "YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWEvYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWEvYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWEvYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWEvYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWEv",
                      *b2 = "YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWErYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWErYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWErYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWErYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWEr";
    km_sigma_scratch *sc = km_sigma_scratch_new();
    char rec[1024];
    for (int want = 1; want >= 0; want--) {
        snprintf(rec, sizeof rec, yes, want ? b1 : b2);
        km_json_doc *d = km_json_parse(rec, strlen(rec), NULL, NULL, &err);
        CHECK(d != NULL);
        CHECK_INT(km_sigma_eval(s, 0, km_json_root(d), sc), want);
        km_json_doc_free(d);
    }
    km_sigma_scratch_free(sc);
    km_sigma_set_free(s);
}

/* The |re literal's wildcard is kept (shortened), not dropped, and the matcher accepts it without
 * any trial compilation on the Sigma side. */
TEST(sigma_re_literal_wildcard_within_the_matcher_complexity) {
    static const char *det = "detection:\n    sel:\n        userIdentity.arn|re: '[a-z]2222222222x-role/.+'\n    condition: sel\n";
    km_buf b = KM_BUF_INIT;
    km_buf_puts(&b, HEAD);
    km_buf_puts(&b, det);
    km_error err;
    km_sigma_set *s = km_sigma_set_new();
    int ok = km_sigma_set_add_text(s, "c.yml", b.data, b.len, &err) == KM_OK && km_sigma_set_finish(s, &err) == KM_OK;
    km_buf_free(&b);
    CHECK_MSG(ok, "%s", err.msg);
    const char *const *pats;
    size_t np = km_sigma_prefilter(s, 0, &pats);
    CHECK_INT(np, 1);
    /* the whole literal as a wildcard would be refused: "2222222222" holds nine nested beginnings of itself */
    CHECK_CONTAINS(pats[0], "{\"wildcard\":\"*222x-role/*\"}");
    CHECK_INT(km_pattern_check_flags(pats[0], strlen(pats[0]), KM_PATTERN_KM_OPS, &err), KM_OK);
    km_sigma_set_free(s);
}

TEST(sigma_compiled_constructs_agree_with_the_evaluator) {
    km_sigma_scratch *sc = km_sigma_scratch_new();
    km_match_scratch *ms = km_match_scratch_new();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const ccase *c = &cases[i];
        km_buf b = KM_BUF_INIT;
        km_buf_puts(&b, HEAD);
        km_buf_puts(&b, c->det);
        km_error err;
        km_sigma_set *s = km_sigma_set_new();
        int ok = km_sigma_set_add_text(s, "c.yml", b.data, b.len, &err) == KM_OK && km_sigma_set_finish(s, &err) == KM_OK;
        km_buf_free(&b);
        km_test_case(ok, "case %zu does not load: %s", i, ok ? "" : err.msg);
        if (!ok) {
            km_sigma_set_free(s);
            continue;
        }
        const char *const *why;
        size_t nwhy;
        int level = km_sigma_compiled(s, 0, &why, &nwhy);
        km_test_case(level == c->level, "case %zu: compiled %d, expected %d (%s)", i, level, c->level, nwhy ? why[0] : "");
        km_test_case((level == 2) == (nwhy == 0), "case %zu: %zu reasons for level %d", i, nwhy, level);
        const char *const *pats;
        size_t np = km_sigma_prefilter(s, 0, &pats);
        km_test_case(np > 0, "case %zu: no pattern (evaluated on every record)", i);
        km_matcher *m = km_matcher_new();
        for (size_t k = 0; k < np; k++) {
            int added = km_matcher_add_flags(m, 0, pats[k], strlen(pats[k]), KM_PATTERN_KM_OPS, &err) == KM_OK;
            km_test_case(added, "case %zu: pattern %s: %s", i, pats[k], added ? "" : err.msg);
        }
        int pos = 0, neg = 0;
        for (size_t r = 0; r < sizeof c->recs / sizeof c->recs[0] && c->recs[r]; r++) {
            km_json_doc *d = km_json_parse(c->recs[r], strlen(c->recs[r]), NULL, NULL, &err);
            CHECK_MSG(d, "record %zu: %s", r, err.msg);
            int want = km_sigma_eval(s, 0, km_json_root(d), sc);
            const uint32_t *ids;
            int got = km_matcher_match(m, ms, c->recs[r], strlen(c->recs[r]), &ids, &err) > 0;
            if (want) pos++;
            else neg++;
            if (level == 2)
                km_test_case(got == want, "case %zu record %zu: matcher %d, evaluator %d\n    %s    %s", i, r, got, want, c->det,
                             c->recs[r]);
            else
                km_test_case(got || !want, "case %zu record %zu: the matcher drops a match\n    %s    %s", i, r, c->det, c->recs[r]);
            km_json_doc_free(d);
        }
        /* each fully compiled case is decided both ways by some record */
        if (level == 2 && c->level == 2) km_test_case(pos && neg, "case %zu: %d matching and %d other records", i, pos, neg);
        km_matcher_free(m);
        km_sigma_set_free(s);
    }
    km_match_scratch_free(ms);
    km_sigma_scratch_free(sc);
}

static km_ruleset *sigma_rules(const char *corp, int compile, km_error *err) {
    char d1[4096], d2[4096];
    snprintf(d1, sizeof d1, "%s/cloudtrail/sigma/rules", corp);
    snprintf(d2, sizeof d2, "%s/cloudtrail/sigma/unsupported", corp);
    km_ruleset *rs = km_ruleset_new();
    if (!rs) return NULL;
    if (km_ruleset_add_path(rs, d1, err) != KM_OK || km_ruleset_add_path(rs, d2, err) != KM_OK) {
        km_ruleset_free(rs);
        return NULL;
    }
    km_sigma_set_compile(km_ruleset_sigma(rs), compile);
    if (km_ruleset_finish(rs, err) != KM_OK) {
        km_ruleset_free(rs);
        return NULL;
    }
    return rs;
}

/* Every staged record through the matcher and the program's selection, with the compilation and
 * with the evaluator deciding every rule: the same rules, record by record. Also prints how each
 * of SigmaHQ's detections compiles and what keeps the partly compiled ones off the matcher. */
TEST(sigma_compiled_program_equals_the_evaluator_on_staged_records) {
    const char *corp = km_test_corpora();
    if (!corp) { km_test_skip("shared corpora absent"); return; }
    km_test_corpus *c = km_test_corpus_load(corp);
    CHECK(c);
    km_error err;
    km_ruleset *on = sigma_rules(corp, 1, &err), *off = on ? sigma_rules(corp, 0, &err) : NULL;
    CHECK_MSG(on && off, "%s", err.msg);
    CHECK_INT(km_ruleset_count(on), km_ruleset_count(off));
    size_t full = 0, part = 0, none = 0;
    for (size_t i = 0; i < km_ruleset_count(on); i++) {
        const km_rule *r = km_ruleset_get(on, i);
        if (r->kind != KM_RULE_SIGMA) continue;
        const char *const *why;
        size_t nwhy;
        int lv = km_sigma_compiled(km_ruleset_sigma(on), r->sigma_index, &why, &nwhy);
        if (lv == 2) full++;
        else if (lv == 1) part++;
        else none++;
        CHECK(!km_ruleset_get(off, i)->sigma_exact);
        if (lv == 2) continue;
        const char *f = strrchr(r->file, '/');
        printf("  %s %s:", lv == 1 ? "partly" : "not compiled", f ? f + 1 : r->file);
        for (size_t k = 0; k < nwhy; k++) printf(" [%s]", why[k]);
        printf("\n");
    }
    printf("  SigmaHQ detections: %zu compiled fully, %zu partly, %zu not at all\n", full, part, none);
    km_test_case(full + part + none == 67 && full >= 53 && none == 0, "%zu / %zu / %zu", full, part, none);
    km_matcher *mon = km_ruleset_matcher(on, &err), *moff = km_ruleset_matcher(off, &err);
    km_program *pon = km_program_new(on, NULL, &err), *poff = km_program_new(off, NULL, &err);
    km_program_scratch *son = km_program_scratch_new(), *soff = km_program_scratch_new();
    km_match_scratch *ms = km_match_scratch_new();
    CHECK(mon && moff && pon && poff && son && soff && ms);
    long differ = 0, fired = 0;
    for (size_t r = 0; r < c->n; r++) {
        const uint32_t *ids, *a, *b;
        int n = km_matcher_match(mon, ms, c->r[r].text, c->r[r].len, &ids, &err);
        CHECK(n >= 0);
        int na = km_program_select(pon, son, c->r[r].rec, ids, n, &a);
        n = km_matcher_match(moff, ms, c->r[r].text, c->r[r].len, &ids, &err);
        CHECK(n >= 0);
        int nb = km_program_select(poff, soff, c->r[r].rec, ids, n, &b);
        fired += nb;
        if (na != nb || (na > 0 && memcmp(a, b, (size_t)na * sizeof *a))) {
            if (differ++ < 5) printf("  %s: %d rules with the compilation, %d with the evaluator\n", c->r[r].id, na, nb);
        }
    }
    km_test_case(differ == 0 && fired > 1000, "%ld of %zu records differ (%ld rule matches)", differ, c->n, fired);
    km_match_scratch_free(ms);
    km_program_scratch_free(son);
    km_program_scratch_free(soff);
    km_program_free(pon);
    km_program_free(poff);
    km_matcher_free(mon);
    km_matcher_free(moff);
    km_ruleset_free(on);
    km_ruleset_free(off);
    km_test_corpus_free(c);
}

/* kumomori's km-wildcard-ignore-case: ASCII letters in either case, '*' any run, escapes; refused
 * with non-ASCII text; its anything-but form. */
TEST(match_km_wildcard_ignore_case) {
    static const struct { const char *pat, *ev; int want; } c[] = {
        {"{\"a\":[{\"km-wildcard-ignore-case\":\"*truffle*\"}]}", "{\"a\":\"x TruffleHog\"}", 1},
        {"{\"a\":[{\"km-wildcard-ignore-case\":\"*truffle*\"}]}", "{\"a\":\"x Truffel\"}", 0},
        {"{\"a\":[{\"km-wildcard-ignore-case\":\"ab*\"}]}", "{\"a\":\"ABC\"}", 1},
        {"{\"a\":[{\"km-wildcard-ignore-case\":\"ab*\"}]}", "{\"a\":\"xabc\"}", 0},
        {"{\"a\":[{\"km-wildcard-ignore-case\":\"*b\"}]}", "{\"a\":\"AB\"}", 1},
        {"{\"a\":[{\"km-wildcard-ignore-case\":\"a\\\\*b\"}]}", "{\"a\":\"A*B\"}", 1},
        {"{\"a\":[{\"km-wildcard-ignore-case\":\"a\\\\*b\"}]}", "{\"a\":\"AxB\"}", 0},
        {"{\"a\":[{\"km-wildcard-ignore-case\":\"k\"}]}", "{\"a\":\"\\u212a\"}", 0}, /* Kelvin sign: not ASCII's k */
        {"{\"a\":[{\"km-wildcard-ignore-case\":\"*\"}]}", "{\"a\":5}", 0},
        {"{\"a\":[{\"anything-but\":{\"km-wildcard-ignore-case\":[\"*x*\",\"y\"]}}]}", "{\"a\":\"Y\"}", 0},
        {"{\"a\":[{\"anything-but\":{\"km-wildcard-ignore-case\":[\"*x*\",\"y\"]}}]}", "{\"a\":\"aXa\"}", 0},
        {"{\"a\":[{\"anything-but\":{\"km-wildcard-ignore-case\":[\"*x*\",\"y\"]}}]}", "{\"a\":\"z\"}", 1},
        {"{\"a\":[{\"anything-but\":{\"km-wildcard-ignore-case\":[\"*x*\",\"y\"]}}]}", "{\"a\":null}", 1},
    };
    km_match_scratch *s = km_match_scratch_new();
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        km_matcher *m = km_matcher_new();
        km_error err;
        CHECK_MSG(km_matcher_add_flags(m, 7, c[i].pat, strlen(c[i].pat), KM_PATTERN_KM_OPS, &err) == KM_OK, "%s: %s", c[i].pat, err.msg);
        /* EventBridge refuses the operator: so does the matcher without the flag */
        km_matcher *u = km_matcher_new();
        CHECK(u);
        km_test_case(km_matcher_add(u, 7, c[i].pat, strlen(c[i].pat), &err) != KM_OK && strstr(err.msg, "km-wildcard-ignore-case") &&
                         km_matcher_count(u) == 0,
                     "%s: refused without KM_PATTERN_KM_OPS (%s)", c[i].pat, err.msg);
        km_matcher_free(u);
        const uint32_t *ids;
        int got = km_matcher_match(m, s, c[i].ev, strlen(c[i].ev), &ids, &err);
        km_test_case(got == c[i].want, "%s on %s: %d, expected %d", c[i].pat, c[i].ev, got, c[i].want);
        km_matcher_free(m);
    }
    km_error err;
    const char *bad = "{\"a\":[{\"km-wildcard-ignore-case\":\"\\u00e9*\"}]}";
    CHECK(km_pattern_check_flags(bad, strlen(bad), KM_PATTERN_KM_OPS, &err) != KM_OK);
    CHECK_MSG(strstr(err.msg, "ASCII"), "%s", err.msg);
    /* without the flag, both forms are unknown operators, with the byte offset of the operator's object */
    const char *plain = "{\"a\":[{\"km-wildcard-ignore-case\":\"*x*\"}]}";
    CHECK(km_pattern_check(plain, strlen(plain), &err) != KM_OK);
    CHECK_MSG(strstr(err.msg, "Unrecognized match type km-wildcard-ignore-case"), "%s", err.msg);
    CHECK_MSG(err.offset == 6, "offset %zu, expected 6 (the '{' of the operator): %s", err.offset, err.msg);
    const char *ab = "{\"a\":[{\"anything-but\":{\"km-wildcard-ignore-case\":[\"y\"]}}]}";
    CHECK(km_pattern_check(ab, strlen(ab), &err) != KM_OK);
    CHECK_MSG(strstr(err.msg, "Unsupported anything-but pattern: km-wildcard-ignore-case"), "%s", err.msg);
    CHECK(km_pattern_check_flags(ab, strlen(ab), KM_PATTERN_KM_OPS, &err) == KM_OK);
    km_match_scratch_free(s);
}
