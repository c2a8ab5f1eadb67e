/* The detection pipeline end to end in-process, and the UTF-8 check in front of the matcher. */
#include "test.h"
#include "detect/detect.h"
#include "out/alert.h"

#include <stdlib.h>
#include <unistd.h>

TEST(detect_utf8_check_finds_the_first_bad_byte) {
    static const struct { const char *s; size_t n, bad; } cases[] = {
        {"plain ascii text, long enough for the fast path", 48, 48},
        {"caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80", 17, 17},
        {"abc\xff", 4, 3},
        {"abcdefgh\xc0\xaf", 10, 8},          /* overlong '/' */
        {"\xe0\x80\xaf", 3, 0},               /* overlong, 3 bytes */
        {"\xed\xa0\x80", 3, 0},               /* surrogate U+D800 */
        {"\xf4\x90\x80\x80", 4, 0},           /* above U+10FFFF */
        {"\xf0\x9f\x98", 3, 0},               /* cut short */
        {"ok \xc3", 4, 3},
        {"\xc3\xa9\x80", 3, 2},               /* stray continuation byte */
        {"\xef\xbf\xbf", 3, 3},               /* U+FFFF is valid UTF-8 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t got = km_utf8_check((const unsigned char *)cases[i].s, cases[i].n);
        km_test_case(got == cases[i].bad, "case %zu: %zu, expected %zu", i, got, cases[i].bad);
    }
}

/* Runs the pipeline over the test trail with the test rules, -j jobs, output as JSON lines. */
static char *run_detect(int jobs, km_run_stats *st, const char *extra_input) {
    char rules[4096], trail[4096], jsonl[4096];
    snprintf(rules, sizeof rules, "%s/tests/data/detect/rules", km_test_top());
    snprintf(trail, sizeof trail, "%s/tests/data/detect/trail", km_test_top());
    snprintf(jsonl, sizeof jsonl, "%s/tests/data/detect/events.jsonl", km_test_top());
    km_ruleset *rs = km_ruleset_new();
    km_error err;
    if (km_ruleset_add_path(rs, rules, &err) != KM_OK) return NULL;
    km_matcher *m = km_ruleset_matcher(rs, &err);
    char *out = NULL;
    size_t outlen = 0;
    FILE *f = open_memstream(&out, &outlen);
    FILE *diag = tmpfile();
    km_writer_opts wo = {0};
    wo.out = f;
    wo.rules = rs;
    km_writer *w = km_writer_new("jsonl", &wo, &err);
    km_detect_opts o = {0};
    o.rules = rs;
    o.matcher = m;
    o.writer = w;
    o.jobs = jobs;
    o.diag = diag;
    char *inputs[] = {trail, jsonl, (char *)(uintptr_t)extra_input};
    km_writer_begin(w);
    km_detect_run(&o, inputs, extra_input ? 3 : 2, st);
    km_writer_end(w, st);
    km_writer_free(w);
    fclose(f);
    fclose(diag);
    km_matcher_free(m);
    km_ruleset_free(rs);
    return out;
}

TEST(detect_pipeline_counts_and_orders_alerts) {
    km_run_stats st;
    char *one = run_detect(1, &st, "/nonexistent/kumomori.json");
    CHECK(one);
    CHECK_INT(st.inputs, 3);
    CHECK_INT(st.records, 10);
    CHECK_INT(st.alerts, 5);
    CHECK_INT(st.skipped[KM_SKIP_DIGEST], 1);
    CHECK_INT(st.skipped[KM_SKIP_UNREADABLE], 1);
    CHECK_INT(st.input_errors, 1);
    /* Alerts in input order: the trail's first file, its second file, then the JSON lines. */
    const char *ids[] = {"000000000001", "000000000003", "000000000005", "000000000008", "000000000003"};
    const char *p = one;
    for (size_t i = 0; i < 5; i++) {
        const char *q = strstr(p, "\"eventID\":\"e0000000-0000-4000-8000-");
        CHECK_MSG(q, "alert %zu missing", i);
        CHECK_MSG(strncmp(q + 35, ids[i], 12) == 0, "alert %zu is %.12s, expected %s", i, q + 35, ids[i]);
        p = strchr(q, '\n');
        CHECK(p);
    }
    km_run_stats st4;
    char *four = run_detect(4, &st4, "/nonexistent/kumomori.json");
    CHECK_STR(four, one);
    CHECK_INT(st4.records, st.records);
    free(one);
    free(four);
}
