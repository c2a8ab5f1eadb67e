#include "test.h"
#include "kumomori/json.h"
#include "kumomori/buf.h"
#include <stdio.h>
#include <stdlib.h>

static km_json_doc *parse(const char *s, km_error *err) {
    return km_json_parse(s, strlen(s), NULL, NULL, err);
}

TEST(json_parses_nested_values_with_offsets) {
    km_error err;
    km_json_doc *d = parse("{\"a\": [1, 2.5e1, \"x\\u00e9\"], \"b\": {\"c\": null, \"t\": true}}", &err);
    CHECK_MSG(d, "%s", err.msg);
    const km_json *r = km_json_root(d);
    CHECK_INT(km_json_len(r), 2);
    const km_json *a = km_json_get(r, "a");
    CHECK(km_json_is(a, KM_JSON_ARRAY));
    CHECK_INT(km_json_at(a, 0)->u.num.d, 1);
    CHECK(km_json_at(a, 1)->u.num.d == 25.0);
    CHECK_STR(km_json_at(a, 1)->u.num.raw, "2.5e1");
    CHECK_STR(km_json_str(km_json_at(a, 2)), "x\xc3\xa9");
    CHECK_INT(a->offset, 6);
    CHECK(km_json_is(km_json_path(r, "b.c"), KM_JSON_NULL));
    CHECK(km_json_is(km_json_path(r, "b.t"), KM_JSON_TRUE));
    CHECK(km_json_path(r, "b.zz") == NULL);
    km_json_doc_free(d);
}

TEST(json_duplicate_keys_last_wins) {
    km_error err;
    km_json_doc *d = parse("{\"k\": 1, \"k\": 2}", &err);
    CHECK(d);
    CHECK(km_json_get(km_json_root(d), "k")->u.num.d == 2.0);
    CHECK_INT(km_json_len(km_json_root(d)), 2);
    km_json_doc_free(d);
}

/* The key table starts small and grows: keys stay right across every growth, keys seen before
 * are shared (one copy per document), and past the table's 3072 keys new keys are still read. */
TEST(json_many_distinct_keys_across_key_table_growth) {
    km_buf b = KM_BUF_INIT;
    km_buf_putc(&b, '[');
    for (int i = 0; i < 5000; i++) km_buf_printf(&b, "%s{\"k%d\":%d,\"same\":%d}", i ? "," : "", i, i, -i);
    km_buf_putc(&b, ']');
    km_error err;
    km_json_doc *d = km_json_parse(b.data, b.len, NULL, NULL, &err);
    km_buf_free(&b);
    CHECK_MSG(d, "%s", err.msg);
    const km_json *r = km_json_root(d);
    CHECK_INT(km_json_len(r), 5000);
    const char *same = km_json_at(r, 0)->u.obj.members[1].key;
    int bad = 0, unshared = 0;
    for (int i = 0; i < 5000; i++) {
        const km_json *o = km_json_at(r, (size_t)i);
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        const km_json *v = km_json_get(o, k), *w = km_json_get(o, "same");
        if (!v || v->u.num.d != i || !w || w->u.num.d != -i) bad++;
        if (o->u.obj.members[1].key != same) unshared++;
    }
    CHECK_MSG(bad == 0, "%d objects read wrong", bad);
    CHECK_MSG(unshared == 0, "%d copies of the key \"same\" instead of one", unshared);
    km_json_doc_free(d);
}

TEST(json_surrogate_pairs_decode) {
    km_error err;
    km_json_doc *d = parse("\"\\ud83d\\ude00\"", &err);
    CHECK(d);
    CHECK_STR(km_json_str(km_json_root(d)), "\xf0\x9f\x98\x80");
    km_json_doc_free(d);
}

TEST(json_errors_name_offset_line_and_column) {
    static const struct { const char *text; size_t off; const char *msg; } bad[] = {
        {"{\"a\": 1,}", 8, "expected a string key"},
        {"[1 2]", 3, "expected ',' or ']'"},
        {"{\"a\":\n tru}", 7, "unknown literal"},
        {"\"abc", 0, "unterminated string"},
        {"01", 1, "unexpected character after value"},
        {"1.", 2, "digit expected after '.'"},
        {"\"a\\x\"", 2, "unknown escape"},
        {"\"\xff\"", 1, "invalid UTF-8"},
        {"[1] 2", 4, "unexpected data after"},
        {"", 0, "unexpected end of input"},
        {"trueX", 4, "unexpected character after value"},
        {"\"a\x01\"", 2, "control character"},
        {"\"\\ud800\"", 1, "unpaired surrogate"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        km_error err;
        km_json_doc *d = parse(bad[i].text, &err);
        CHECK_MSG(!d, "case %zu accepted", i);
        CHECK_MSG(err.offset == bad[i].off, "case %zu: offset %zu, expected %zu (%s)", i, err.offset,
                  bad[i].off, err.msg);
        CHECK_CONTAINS(err.msg, bad[i].msg);
    }
    km_error err;
    CHECK(!parse("{\"a\":\n tru}", &err));
    CHECK_CONTAINS(err.msg, "line 2, column 2");
}

TEST(json_depth_limit_is_an_error_not_a_crash) {
    size_t n = 100000;
    char *s = malloc(n * 2 + 1);
    for (size_t i = 0; i < n; i++) { s[i] = '['; s[n * 2 - 1 - i] = ']'; }
    s[n * 2] = 0;
    km_error err;
    km_json_doc *d = km_json_parse(s, n * 2, NULL, NULL, &err);
    free(s);
    CHECK(!d);
    CHECK_INT(err.code, KM_ELIMIT);
    CHECK_CONTAINS(err.msg, "deeper than the limit of 512");
}

TEST(json_string_limit) {
    km_json_opts o = {0};
    o.max_string = 4;
    km_error err;
    km_json_doc *d = km_json_parse("\"abcd\"", 6, &o, NULL, &err);
    CHECK(d);
    km_json_doc_free(d);
    CHECK(!km_json_parse("\"abcde\"", 7, &o, NULL, &err));
    CHECK_INT(err.code, KM_ELIMIT);
}

TEST(json_replace_invalid_utf8_option) {
    km_json_opts o = {0};
    o.replace_invalid_utf8 = 1;
    km_error err;
    km_json_doc *d = km_json_parse("\"a\xff\"", 4, &o, NULL, &err);
    CHECK(d);
    CHECK_STR(km_json_str(km_json_root(d)), "a\xef\xbf\xbd");
    km_json_doc_free(d);
}

TEST(json_write_round_trips_and_escapes) {
    const char *src = "{\"a\":[1,2.50,\"q\\\"\\n\\u0001\"],\"b\":{},\"c\":[],\"d\":null}";
    km_error err;
    km_json_doc *d = parse(src, &err);
    CHECK(d);
    km_buf b = KM_BUF_INIT;
    CHECK(km_json_write(&b, km_json_root(d)) == 0);
    CHECK_STR(b.data, src);
    km_buf_free(&b);
    km_json_doc_free(d);
}

TEST(json_trailing_and_consumed) {
    km_json_opts o = {0};
    o.allow_trailing = 1;
    size_t used = 0;
    km_error err;
    km_json_doc *d = km_json_parse("{\"a\":1}  \n{\"b\":2}", 17, &o, &used, &err);
    CHECK(d);
    CHECK_INT(used, 10);
    km_json_doc_free(d);
}

TEST(buf_cap_is_enforced) {
    km_buf b;
    km_buf_init(&b, 8);
    CHECK(km_buf_puts(&b, "12345678") == 0);
    CHECK(km_buf_putc(&b, '9') == -1);
    CHECK(b.failed);
    CHECK_INT(b.len, 8);
    km_buf_free(&b);
    km_buf_free(NULL);
}
