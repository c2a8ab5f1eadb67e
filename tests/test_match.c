/* Matcher unit tests: each operator on hand-written cases, error messages with their positions,
 * runtime add/delete, limits, and differential tests against the reference matcher. */
#include "test.h"
#include "match_corpus.h"
#include "ref_match.h"
#include "kumomori/match.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* 1 match, 0 no match, -1 pattern rejected, -3 event rejected */
static int match1(const char *pattern, const char *event) {
    km_matcher *m = km_matcher_new();
    km_match_scratch *s = km_match_scratch_new();
    km_error err;
    int res;
    if (km_matcher_add(m, 1, pattern, strlen(pattern), &err) != KM_OK) {
        res = -1;
    } else {
        const uint32_t *ids;
        int n = km_matcher_match(m, s, event, strlen(event), &ids, &err);
        res = n < 0 ? -3 : n;
    }
    km_matcher_free(m);
    km_match_scratch_free(s);
    return res;
}

typedef struct mc { const char *pattern, *event; int want; } mc;

static void run_table(const mc *t, size_t n) {
    for (size_t i = 0; i < n; i++) {
        int got = match1(t[i].pattern, t[i].event);
        km_test_case(got == t[i].want, "pattern %s event %s: got %d, want %d", t[i].pattern, t[i].event, got, t[i].want);
        if (t[i].want >= 0) {
            int ref = ref_match(t[i].pattern, strlen(t[i].pattern), t[i].event, strlen(t[i].event));
            km_test_case(ref == t[i].want, "reference: pattern %s event %s: got %d, want %d", t[i].pattern, t[i].event, ref,
                         t[i].want);
        }
    }
}

#define RUN(t) run_table(t, sizeof t / sizeof t[0])

TEST(match_exact_values) {
    static const mc t[] = {
        {"{\"a\": [\"x\"]}", "{\"a\": \"x\"}", 1},
        {"{\"a\": [\"x\"]}", "{\"a\": \"X\"}", 0},
        {"{\"a\": [\"\"]}", "{\"a\": \"\"}", 1},
        {"{\"a\": [\"35\"]}", "{\"a\": 35}", 0},
        {"{\"a\": [35]}", "{\"a\": \"35\"}", 0},
        {"{\"a\": [35]}", "{\"a\": 35.0}", 1},
        {"{\"a\": [35]}", "{\"a\": 3.5e1}", 1},
        {"{\"a\": [3.5E+1]}", "{\"a\": 35}", 1},
        {"{\"a\": [-0]}", "{\"a\": 0}", 1},
        {"{\"a\": [0.1]}", "{\"a\": 0.10}", 1},
        /* not representable as a double: only the same text matches */
        {"{\"a\": [123456789012345678901]}", "{\"a\": 123456789012345678901}", 1},
        {"{\"a\": [123456789012345678901]}", "{\"a\": 123456789012345678900}", 0},
        {"{\"a\": [0.30000000000000001]}", "{\"a\": 0.3}", 0},
        {"{\"a\": [null]}", "{\"a\": null}", 1},
        {"{\"a\": [null]}", "{\"b\": null}", 0},
        {"{\"a\": [null]}", "{\"a\": \"null\"}", 0},
        {"{\"a\": [true]}", "{\"a\": true}", 1},
        {"{\"a\": [true]}", "{\"a\": \"true\"}", 0},
        {"{\"a\": [false]}", "{\"a\": true}", 0},
        {"{\"a\": [\"x\", \"y\"]}", "{\"a\": \"y\"}", 1},
        {"{\"a\": [{\"exactly\": \"x\"}]}", "{\"a\": \"x\"}", 1},
        {"{\"a\": {\"b\": [1]}}", "{\"a\": {\"b\": 1, \"c\": 2}}", 1},
        {"{\"a\": {\"b\": [1]}}", "{\"a\": {\"c\": 1}}", 0},
        {"{\"a.b\": [1]}", "{\"a\": {\"b\": 1}}", 1},
        {"{\"a\": {\"b\": [1]}}", "{\"a.b\": 1}", 1},
        {"{\"a\": [\"x\"], \"a\": [\"y\"]}", "{\"a\": \"y\"}", 1},
        {"{\"a\": [\"x\"], \"a\": [\"y\"]}", "{\"a\": \"x\"}", 0},
        {"{\"a\": [\"\\ud83d\\ude80\"]}", "{\"a\": \"\xf0\x9f\x9a\x80\"}", 1},
        /* a string naming an IP address matches that address however it is written */
        {"{\"ip\": [\"2001:db8::1\"]}", "{\"ip\": \"2001:0db8:0:0:0:0:0:1\"}", 1},
        {"{\"ip\": [\"10.0.0.1\"]}", "{\"ip\": \"10.0.0.2\"}", 0},
    };
    RUN(t);
}

TEST(match_prefix_suffix_ignore_case) {
    static const mc t[] = {
        {"{\"a\": [{\"prefix\": \"ab\"}]}", "{\"a\": \"abc\"}", 1},
        {"{\"a\": [{\"prefix\": \"ab\"}]}", "{\"a\": \"xabc\"}", 0},
        {"{\"a\": [{\"prefix\": \"\"}]}", "{\"a\": \"\"}", 1},
        {"{\"a\": [{\"prefix\": \"1\"}]}", "{\"a\": 12}", 0},
        {"{\"a\": [{\"suffix\": \".png\"}]}", "{\"a\": \"x.png\"}", 1},
        {"{\"a\": [{\"suffix\": \".png\"}]}", "{\"a\": \"x.PNG\"}", 0},
        {"{\"a\": [{\"suffix\": \"\"}]}", "{\"a\": 5}", 0},
        {"{\"a\": [{\"equals-ignore-case\": \"ABC\"}]}", "{\"a\": \"aBc\"}", 1},
        {"{\"a\": [{\"equals-ignore-case\": \"ABC\"}]}", "{\"a\": \"aBcd\"}", 0},
        /* values of 16 bytes and more are folded 16 at a time: letters at the block's edges, the
         * bytes beside 'A'..'Z' ('@', '['), and non-ASCII past the first block */
        {"{\"a\": [{\"equals-ignore-case\": \"cloudtrail.amazonaws.com\"}]}", "{\"a\": \"CloudTrail.AMAZONAWS.com\"}", 1},
        {"{\"a\": [{\"equals-ignore-case\": \"abcdefghijklmnopqrstuvwxyz\"}]}", "{\"a\": \"ABCDEFGHIJKLMNOPQRSTUVWXYZ\"}", 1},
        {"{\"a\": [{\"equals-ignore-case\": \"a@[`{zzzzzzzzzzzzzzzz\"}]}", "{\"a\": \"A@[`{ZZZZZZZZZZZZZZZZ\"}", 1},
        {"{\"a\": [{\"equals-ignore-case\": \"a`{`{zzzzzzzzzzzzzzzz\"}]}", "{\"a\": \"A@[@[ZZZZZZZZZZZZZZZZ\"}", 0},
        {"{\"a\": [{\"equals-ignore-case\": \"0123456789abcdef\\u00e9\"}]}", "{\"a\": \"0123456789ABCDEF\\u00c9\"}", 1},
        {"{\"a\": [{\"equals-ignore-case\": \"0123456789abcdefx\"}]}", "{\"a\": \"0123456789ABCDEFY\"}", 0},
        {"{\"a\": [{\"equals-ignore-case\": \"\xc3\x89\x43OLE\"}]}", "{\"a\": \"\xc3\xa9\x63ole\"}", 1},
        {"{\"a\": [{\"equals-ignore-case\": \"stra\xc3\x9f\x65\"}]}", "{\"a\": \"STRASSE\"}", 1},
        {"{\"a\": [{\"prefix\": {\"equals-ignore-case\": \"EventB\"}}]}", "{\"a\": \"eventbridge\"}", 1},
        {"{\"a\": [{\"prefix\": {\"equals-ignore-case\": \"EventB\"}}]}", "{\"a\": \"event\"}", 0},
        {"{\"a\": [{\"suffix\": {\"equals-ignore-case\": \".PNG\"}}]}", "{\"a\": \"x.png\"}", 1},
        {"{\"a\": [{\"suffix\": {\"equals-ignore-case\": \".PNG\"}}]}", "{\"a\": \"x.pn\"}", 0},
        /* prefix/suffix ignoring case through km_vm_match: ASCII patterns byte by byte (km_vm.eic_ascii),
         * patterns with a quote or non-ASCII text by the general comparison */
        {"{\"a\": [{\"prefix\": {\"equals-ignore-case\": \"UpdateFunctionConfiguration\"}}]}", "{\"a\": \"updatefunctionconfiguration20150331v2\"}", 1},
        {"{\"a\": [{\"prefix\": {\"equals-ignore-case\": \"UpdateFunctionConfiguration\"}}]}", "{\"a\": \"UpdateFunctionConfiguratio\"}", 0},
        {"{\"a\": [{\"prefix\": {\"equals-ignore-case\": \"UpdateFunctionConfiguration\"}}]}", "{\"a\": \"UpdateFunctionConfiguratioN2\"}", 1},
        {"{\"a\": [{\"prefix\": {\"equals-ignore-case\": \"UpdateFunctionConfiguration\"}}]}", "{\"a\": \"UpdateFunctionConfigurat1on\"}", 0},
        {"{\"a\": [{\"prefix\": {\"equals-ignore-case\": \"AB\\\"\"}}]}", "{\"a\": \"ab\"}", 1},
        {"{\"a\": [{\"suffix\": {\"equals-ignore-case\": \"\\\"AB\"}}]}", "{\"a\": \"ab\"}", 1},
        {"{\"a\": [{\"suffix\": {\"equals-ignore-case\": \"\\\"AB\"}}]}", "{\"a\": \"xab\"}", 0},
        {"{\"a\": [{\"prefix\": {\"equals-ignore-case\": \"\xc3\x89\x43L\"}}]}", "{\"a\": \"\xc3\xa9\x63lair\"}", 1},
        {"{\"a\": [{\"suffix\": {\"equals-ignore-case\": \"\xc3\x89\"}}]}", "{\"a\": \"caf\xc3\xa9\"}", 1},
        /* the quote event-ruler puts around strings can be matched by an affix ending in '"' */
        {"{\"a\": [{\"prefix\": \"ab\\\"\"}]}", "{\"a\": \"ab\"}", 1},
    };
    RUN(t);
}

TEST(match_wildcard) {
    static const mc t[] = {
        {"{\"a\": [{\"wildcard\": \"a*c\"}]}", "{\"a\": \"abbbc\"}", 1},
        {"{\"a\": [{\"wildcard\": \"a*c\"}]}", "{\"a\": \"ac\"}", 1},
        {"{\"a\": [{\"wildcard\": \"a*c\"}]}", "{\"a\": \"acb\"}", 0},
        {"{\"a\": [{\"wildcard\": \"a\\\\*c\"}]}", "{\"a\": \"a*c\"}", 1},
        {"{\"a\": [{\"wildcard\": \"a\\\\*c\"}]}", "{\"a\": \"abc\"}", 0},
        {"{\"a\": [{\"wildcard\": \"a\\\\\\\\c\"}]}", "{\"a\": \"a\\\\c\"}", 1},
        {"{\"a\": [{\"wildcard\": \"*\"}]}", "{\"a\": \"\"}", 1},
        {"{\"a\": [{\"wildcard\": \"*\"}]}", "{\"a\": 1}", 0},
        {"{\"a\": [{\"wildcard\": \"\"}]}", "{\"a\": \"x\"}", 0},
        {"{\"a\": [{\"wildcard\": \"*.jar\"}]}", "{\"a\": \"x.jar\"}", 1},
        {"{\"a\": [{\"wildcard\": \"arn:aws:events:*:*:event-bus/*\"}]}", "{\"a\": \"arn:aws:events:us-east-1:1:event-bus/x\"}", 1},
        {"{\"a\": [{\"wildcard\": \"x*y*z\"}]}", "{\"a\": \"xzyz\"}", 1},
        {"{\"a\": [{\"wildcard\": \"x*y*z\"}]}", "{\"a\": \"xzy\"}", 0},
        {"{\"a\": [{\"wildcard\": \"**\"}]}", "{\"a\": \"x\"}", -1},
        {"{\"a\": [{\"wildcard\": \"a\\\\b\"}]}", "{\"a\": \"x\"}", -1},
    };
    RUN(t);
}

TEST(match_anything_but) {
    static const mc t[] = {
        {"{\"a\": [{\"anything-but\": \"x\"}]}", "{\"a\": \"y\"}", 1},
        {"{\"a\": [{\"anything-but\": \"x\"}]}", "{\"a\": \"x\"}", 0},
        {"{\"a\": [{\"anything-but\": \"x\"}]}", "{\"b\": \"y\"}", 0},
        {"{\"a\": [{\"anything-but\": \"x\"}]}", "{\"a\": null}", 1},
        {"{\"a\": [{\"anything-but\": \"x\"}]}", "{\"a\": 5}", 1},
        {"{\"a\": [{\"anything-but\": [\"x\", \"z\"]}]}", "{\"a\": [\"x\", \"z\"]}", 0},
        {"{\"a\": [{\"anything-but\": [\"x\", \"z\"]}]}", "{\"a\": [\"x\", \"q\"]}", 1},
        {"{\"a\": [{\"anything-but\": [1, 2]}]}", "{\"a\": 3}", 1},
        {"{\"a\": [{\"anything-but\": [1, 2]}]}", "{\"a\": 2.0}", 0},
        {"{\"a\": [{\"anything-but\": [1, 2]}]}", "{\"a\": \"2\"}", 1},
        {"{\"a\": [{\"anything-but\": 0}]}", "{\"a\": -0}", 0},
        {"{\"a\": [{\"anything-but\": {\"prefix\": \"in\"}}]}", "{\"a\": \"run\"}", 1},
        {"{\"a\": [{\"anything-but\": {\"prefix\": \"in\"}}]}", "{\"a\": \"init\"}", 0},
        {"{\"a\": [{\"anything-but\": {\"prefix\": \"in\"}}]}", "{\"a\": 5}", 1},
        {"{\"a\": [{\"anything-but\": {\"prefix\": [\"in\", \"out\"]}}]}", "{\"a\": \"outside\"}", 0},
        {"{\"a\": [{\"anything-but\": {\"suffix\": \".txt\"}}]}", "{\"a\": \"a.txt\"}", 0},
        {"{\"a\": [{\"anything-but\": {\"suffix\": \".txt\"}}]}", "{\"a\": \"a.txt.gz\"}", 1},
        {"{\"a\": [{\"anything-but\": {\"wildcard\": \"*.jar\"}}]}", "{\"a\": \"x.class\"}", 1},
        {"{\"a\": [{\"anything-but\": {\"wildcard\": [\"*.jar\", \"*.war\"]}}]}", "{\"a\": \"x.war\"}", 0},
        {"{\"a\": [{\"anything-but\": {\"equals-ignore-case\": \"Stop\"}}]}", "{\"a\": \"STOP\"}", 0},
        {"{\"a\": [{\"anything-but\": {\"equals-ignore-case\": [\"a\", \"b\"]}}]}", "{\"a\": \"C\"}", 1},
    };
    RUN(t);
}

TEST(match_numeric) {
    static const mc t[] = {
        {"{\"x\": [{\"numeric\": [\">\", 0, \"<=\", 5]}]}", "{\"x\": 5}", 1},
        {"{\"x\": [{\"numeric\": [\">\", 0, \"<=\", 5]}]}", "{\"x\": 0}", 0},
        {"{\"x\": [{\"numeric\": [\">\", 0, \"<\", 5]}]}", "{\"x\": 5}", 0},
        {"{\"x\": [{\"numeric\": [\">=\", 0, \"<\", 5]}]}", "{\"x\": 0.0}", 1},
        {"{\"x\": [{\"numeric\": [\"=\", 300]}]}", "{\"x\": 3e2}", 1},
        {"{\"x\": [{\"numeric\": [\"=\", 300]}]}", "{\"x\": \"300\"}", 0},
        {"{\"x\": [{\"numeric\": [\"<\", -1e308]}]}", "{\"x\": -1.7976931348623157e308}", 1},
        {"{\"x\": [{\"numeric\": [\">\", 1e308]}]}", "{\"x\": 1.7976931348623157e308}", 1},
        {"{\"x\": [{\"numeric\": [\">\", 1e308]}]}", "{\"x\": 1e309}", 0},
        {"{\"x\": [{\"numeric\": [\"<\", 1]}]}", "{\"x\": 5e-324}", 0}, /* not comparable: Java prints 4.9E-324 */
        {"{\"x\": [{\"numeric\": [\"<\", 1]}]}", "{\"x\": 4.9e-324}", 1},
        {"{\"x\": [{\"numeric\": [\"<\", 1]}]}", "{\"x\": null}", 0},
        {"{\"x\": [{\"numeric\": [\">\", 100]}, {\"anything-but\": \"101\"}]}", "{\"x\": \"101\"}", 0},
        {"{\"x\": [{\"numeric\": [\">\", 100]}, {\"anything-but\": \"101\"}]}", "{\"x\": 101}", 1},
        {"{\"x\": [{\"numeric\": [\">\", 5, \"<\", 5]}]}", "{\"x\": 5}", -1},
    };
    RUN(t);
}

TEST(match_exists_and_arrays) {
    static const mc t[] = {
        {"{\"a\": [{\"exists\": true}]}", "{\"a\": null}", 1},
        {"{\"a\": [{\"exists\": true}]}", "{\"a\": {\"b\": 1}}", 0},
        {"{\"a\": [{\"exists\": true}]}", "{\"a\": []}", 0},
        {"{\"a\": [{\"exists\": false}]}", "{\"a\": []}", 1},
        {"{\"a\": [{\"exists\": false}]}", "{\"a\": null}", 0},
        {"{\"a\": [{\"exists\": false}]}", "{\"b\": 1}", 1},
        {"{\"a\": [{\"exists\": false}]}", "{\"a\": {\"b\": 1}}", 1},
        {"{\"a\": [{\"exists\": false}, \"x\"]}", "{\"a\": \"x\"}", 1},
        {"{\"a\": [\"x\", \"q\"]}", "{\"a\": [\"y\", \"x\"]}", 1},
        {"{\"e\": {\"f\": [\"Anna\"], \"l\": [\"Jones\"]}}",
         "{\"e\": [{\"f\": \"Anna\", \"l\": \"Smith\"}, {\"f\": \"Peter\", \"l\": \"Jones\"}]}", 0},
        {"{\"e\": {\"f\": [\"Anna\"], \"l\": [\"Smith\"]}}",
         "{\"e\": [{\"f\": \"Anna\", \"l\": \"Smith\"}, {\"f\": \"Peter\", \"l\": \"Jones\"}]}", 1},
        /* different arrays combine freely; nested arrays keep their element */
        {"{\"x\": {\"a\": [1]}, \"y\": {\"b\": [2]}}", "{\"x\": [{\"a\": 1}, {\"a\": 3}], \"y\": [{\"b\": 2}]}", 1},
        {"{\"a\": {\"b\": {\"c\": [1], \"d\": [2]}}}", "{\"a\": [{\"b\": [{\"c\": 1}, {\"d\": 2}]}]}", 0},
        {"{\"a\": {\"b\": {\"c\": [1], \"d\": [2]}}}", "{\"a\": [{\"b\": [{\"c\": 1, \"d\": 2}]}]}", 1},
        {"{\"a\": {\"c\": [1], \"d\": [2]}}", "{\"a\": [[{\"c\": 1}], [{\"d\": 2}]]}", 0},
        /* exists:false inside arrays is judged against the elements chosen for earlier fields
         * in name order, as event-ruler does */
        {"{\"a\": {\"b\": [1], \"c\": [{\"exists\": false}]}}", "{\"a\": [{\"b\": 1}, {\"b\": 2, \"c\": 3}]}", 1},
        {"{\"a\": {\"b\": [1], \"c\": [{\"exists\": false}]}}", "{\"a\": [{\"b\": 1, \"c\": 3}]}", 0},
        {"{\"a\": {\"b\": [{\"exists\": false}], \"c\": [3]}}", "{\"a\": [{\"c\": 3}, {\"b\": 1}]}", 0},
    };
    RUN(t);
}

TEST(match_cidr) {
    static const mc t[] = {
        {"{\"ip\": [{\"cidr\": \"10.0.0.0/24\"}]}", "{\"ip\": \"10.0.0.255\"}", 1},
        {"{\"ip\": [{\"cidr\": \"10.0.0.0/24\"}]}", "{\"ip\": \"10.0.1.0\"}", 0},
        {"{\"ip\": [{\"cidr\": \"10.0.0.0/24\"}]}", "{\"ip\": \"not an ip\"}", 0},
        {"{\"ip\": [{\"cidr\": \"10.0.0.0/0\"}]}", "{\"ip\": \"255.1.2.3\"}", 1},
        {"{\"ip\": [{\"cidr\": \"10.0.0.7/31\"}]}", "{\"ip\": \"10.0.0.6\"}", 1},
        {"{\"ip\": [{\"cidr\": \"2001:db8::/32\"}]}", "{\"ip\": \"2001:db8:ffff::1\"}", 1},
        {"{\"ip\": [{\"cidr\": \"2001:db8::/32\"}]}", "{\"ip\": \"2001:db9::1\"}", 0},
        {"{\"ip\": [{\"cidr\": \"2001:db8:1234:1a00::/64\"}]}", "{\"ip\": \"2001:db8:1234:1a00:9691:9503:25ad:1761\"}", 1},
        {"{\"ip\": [{\"cidr\": \"::/0\"}]}", "{\"ip\": \"10.0.0.1\"}", 0},
        {"{\"ip\": [{\"cidr\": \"10.0.0.0/8\"}]}", "{\"ip\": \"::ffff:a00:1\"}", 1},
        {"{\"ip\": [{\"cidr\": \"10.0.0.0/32\"}]}", "{\"ip\": \"10.0.0.0\"}", -1},
        {"{\"ip\": [{\"cidr\": \"10.0.0.0\"}]}", "{\"ip\": \"10.0.0.0\"}", -1},
    };
    RUN(t);
}

TEST(match_or) {
    static const mc t[] = {
        {"{\"$or\": [{\"a\": [\"x\"]}, {\"b\": [\"y\"]}]}", "{\"b\": \"y\"}", 1},
        {"{\"$or\": [{\"a\": [\"x\"]}, {\"b\": [\"y\"]}]}", "{\"c\": \"y\"}", 0},
        {"{\"s\": [1], \"$or\": [{\"a\": [\"x\"]}, {\"b\": [\"y\"]}]}", "{\"b\": \"y\"}", 0},
        {"{\"s\": [1], \"$or\": [{\"a\": [\"x\"]}, {\"b\": [\"y\"]}]}", "{\"b\": \"y\", \"s\": 1}", 1},
        {"{\"d\": {\"$or\": [{\"a\": [1]}, {\"$or\": [{\"b\": [2]}, {\"c\": [3]}]}]}}", "{\"d\": {\"c\": 3}}", 1},
        {"{\"d\": {\"$or\": [{\"a\": [1]}, {\"$or\": [{\"b\": [2]}, {\"c\": [3]}]}]}}", "{\"c\": 3}", 0},
        /* a branch field overrides the same field given before the $or */
        {"{\"a\": [1], \"$or\": [{\"a\": [2]}, {\"b\": [3]}]}", "{\"a\": 2}", 1},
        {"{\"a\": [1], \"$or\": [{\"a\": [2]}, {\"b\": [3]}]}", "{\"a\": 1, \"b\": 3}", 1},
        {"{\"$or\": [{\"a\": [1]}]}", "{\"a\": 1}", -1},
        {"{\"$or\": [{\"prefix\": [1]}, {\"b\": [1]}]}", "{\"a\": 1}", -1},
    };
    RUN(t);
}

/* Error messages: the reason (AWS's wording), the JSON path and the byte offset. */
TEST(match_pattern_errors_say_what_and_where) {
    static const struct { const char *p; const char *msg; size_t off; } t[] = {
        {"[1]", "Filter is not an object (at $, byte 0)", 0},
        {"{}", "Empty objects are not allowed (at $, byte 0)", 0},
        {"{\"a\": 1}", "\"a\" must be an object or an array (at $.a, byte 6)", 6},
        {"{\"a\": []}", "Empty arrays are not allowed (at $.a, byte 6)", 6},
        {"{\"a\": {\"b\": {}}}", "Empty objects are not allowed (at $.a.b, byte 12)", 12},
        {"{\"a\": [[1]]}", "Match value must be String, number, true, false, or null (at $.a[0], byte 7)", 7},
        {"{\"a\": [{}]}", "Match expression name not found (at $.a[0], byte 7)", 7},
        {"{\"a\": [{\"prefix\": 1}]}", "prefix match pattern must be a string (at $.a[0].prefix, byte 18)", 18},
        {"{\"a\": [{\"suffix\": [\"x\"]}]}", "suffix match pattern must be a string (at $.a[0].suffix, byte 18)", 18},
        {"{\"a\": [{\"prefix\": \"x\", \"b\": 1}]}", "Only one key allowed in match expression (at $.a[0].b, byte 28)", 28},
        {"{\"a\": [{\"NUMERIC\": [\"=\", 5]}]}", "Unrecognized match type NUMERIC (at $.a[0], byte 7)", 7},
        {"{\"a\": [{\"numeric\": 10}]}", "Value of numeric must be an array. (at $.a[0].numeric, byte 19)", 19},
        {"{\"a\": [{\"numeric\": [\">\", 0, \">\", 0]}]}", "Bad numeric range operator: > (at $.a[0].numeric, byte 28)", 28},
        {"{\"a\": [{\"numeric\": [\">\", 0, \"<\"]}]}", "Value of < must be numeric (at $.a[0].numeric, byte 19)", 19},
        {"{\"a\": [{\"numeric\": [\"~\", 0]}]}", "Unrecognized numeric range operator: ~ (at $.a[0].numeric, byte 20)", 20},
        {"{\"a\": [{\"numeric\": [\"=\", 1e999]}]}", "Cannot compare number : 1e999 (at $.a[0].numeric, byte 25)", 25},
        {"{\"a\": [{\"numeric\": [\">=\", 5, \"<\", 1]}]}", "Bottom must be less than top (at $.a[0].numeric, byte 34)", 34},
        {"{\"a\": [{\"exists\": 1}]}", "exists match pattern must be either true or false. (at $.a[0].exists, byte 18)", 18},
        {"{\"a\": [{\"anything-but\": null}]}", "Value of anything-but must be an array or single string/number value. (at $.a[0].anything-but, byte 24)", 24},
        {"{\"a\": [{\"anything-but\": [\"x\", 1]}]}", "either all values are number or string, mixed type is not supported (at $.a[0].anything-but, byte 24)", 24},
        {"{\"a\": [{\"anything-but\": [\"x\", null]}]}", "Inside anything but list, start|null|boolean is not supported. (at $.a[0].anything-but[1], byte 30)", 30},
        {"{\"a\": [{\"anything-but\": {\"prefix\": \"\"}}]}", "Null prefix/suffix not allowed (at $.a[0].anything-but.prefix, byte 35)", 35},
        {"{\"a\": [{\"anything-but\": {\"exists\": \"x\"}}]}", "Unsupported anything-but pattern: exists (at $.a[0].anything-but, byte 24)", 24},
        {"{\"a\": [{\"cidr\": \"bad-filter\"}]}", "Malformed CIDR, one '/' required (at $.a[0].cidr, byte 16)", 16},
        {"{\"a\": [{\"cidr\": \"xx.11.xx/8\"}]}", "Nonstandard IP address: xx.11.xx (at $.a[0].cidr, byte 16)", 16},
        {"{\"a\": [{\"cidr\": \"10.0.0.0/x\"}]}", "Malformed CIDR, mask bits must be an integer (at $.a[0].cidr, byte 16)", 16},
        {"{\"a\": [{\"cidr\": \"10.0.0.300/8\"}]}", "Invalid IP address: 10.0.0.300 (at $.a[0].cidr, byte 16)", 16},
        {"{\"a\": [{\"wildcard\": \"ab**\"}]}", "Consecutive wildcard characters at pos 3 (at $.a[0].wildcard, byte 20)", 20},
        {"{\"a\": [{\"wildcard\": \"a\\\\b\"}]}", "Invalid escape character at pos 2 (at $.a[0].wildcard, byte 20)", 20},
        {"{\"a\": [{\"wildcard\": \"*:*:*:*:*:event-bus/*\"}]}", "Rule is too complex", 0},
        {"{\"$or\": {\"a\": [1]}}", "It must be an Array followed with $or. (at $.$or, byte 8)", 8},
        {"{\"$or\": [{\"a\": [1]}, 2]}", "Only JSON object is allowed in array of $or relationship. (at $.$or[1], byte 21)", 21},
        {"{\"$or\": [{\"a\": [1]}]}", "There must have at least 2 Objects in $or relationship. (at $.$or, byte 8)", 8},
        {"{\"$or\": [{\"a\": [1]}, {\"numeric\": [1]}]}", "numeric is Ruler reserved fieldName which cannot be used inside $or. (at $.$or[1].numeric, byte 33)", 33},
        {"{\"a b\": {\"c\": 1}}", "\"c\" must be an object or an array (at $[\"a b\"].c, byte 14)", 14},
        {"{\"a\": [1,]}", "Event pattern is not valid JSON", 9},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        km_error err;
        int rc = km_pattern_check(t[i].p, strlen(t[i].p), &err);
        km_test_case(rc != KM_OK && strstr(err.msg, t[i].msg) && err.offset == t[i].off,
                     "pattern %s: rc %d, message \"%s\" at %zu; want \"%s\" at %zu", t[i].p, rc, err.msg, err.offset,
                     t[i].msg, t[i].off);
    }
}

TEST(match_wildcard_complexity_limit) {
    /* accepted by AWS (eventbridge-patterns-localstack) */
    static const char *ok1 = "{\"f\": [{\"wildcard\": \"/Users/*/dir/dir/dir/dir/dir/doc.txt\"}]}";
    static const char *ok2 = "{\"f\": [{\"wildcard\": \"arn:aws:events:us-east-1:*:event-bus/*\"}]}";
    static const char *bad = "{\"f\": [{\"wildcard\": \"*:*:*:*:*:event-bus/*\"}]}";
    CHECK_INT(km_pattern_check(ok1, strlen(ok1), NULL), KM_OK);
    CHECK_INT(km_pattern_check(ok2, strlen(ok2), NULL), KM_OK);
    /* rejected by AWS as too complex */
    CHECK(km_pattern_check(bad, strlen(bad), NULL) != KM_OK);
}

TEST(match_many_ids_add_delete) {
    km_matcher *m = km_matcher_new();
    km_match_scratch *s = km_match_scratch_new();
    km_error err;
    char p[128];
    for (uint32_t id = 0; id < 500; id++) {
        int n = snprintf(p, sizeof p, "{\"n\": [%u], \"k\": [{\"prefix\": \"v%u\"}]}", id % 50, id);
        CHECK_INT(km_matcher_add(m, id, p, (size_t)n, &err), KM_OK);
    }
    /* same id twice = OR */
    CHECK_INT(km_matcher_add(m, 7, "{\"other\": [true]}", 17, &err), KM_OK);
    CHECK_INT(km_matcher_count(m), 500);
    const uint32_t *ids;
    /* n == 7 for ids 7, 57, 107, ...; the prefix "v107" only for id 107 */
    const char *ev = "{\"n\": 7, \"k\": [\"v107x\", \"v7\"]}";
    CHECK_INT(km_matcher_match(m, s, ev, strlen(ev), &ids, &err), 2);
    CHECK_INT(ids[0], 7);
    CHECK_INT(ids[1], 107);
    ev = "{\"other\": true}";
    CHECK_INT(km_matcher_match(m, s, ev, strlen(ev), &ids, &err), 1);
    CHECK_INT(ids[0], 7);
    for (uint32_t id = 0; id < 500; id += 2) CHECK_INT(km_matcher_delete(m, id), 1);
    CHECK_INT(km_matcher_delete(m, 0), 0);
    CHECK_INT(km_matcher_count(m), 250);
    ev = "{\"n\": 7, \"k\": [\"v107x\", \"v7\"]}";
    CHECK_INT(km_matcher_match(m, s, ev, strlen(ev), &ids, &err), 2);
    CHECK_INT(km_matcher_delete(m, 7), 1);
    CHECK_INT(km_matcher_match(m, s, ev, strlen(ev), &ids, &err), 1);
    CHECK_INT(ids[0], 107);
    ev = "{\"other\": true}";
    CHECK_INT(km_matcher_match(m, s, ev, strlen(ev), &ids, &err), 0);
    /* every remaining odd id still matches its own event */
    for (uint32_t id = 1; id < 500; id += 2) {
        if (id == 7) continue;
        char e[128];
        int n = snprintf(e, sizeof e, "{\"n\": %u, \"k\": \"v%u\"}", id % 50, id);
        int r = km_matcher_match(m, s, e, (size_t)n, &ids, &err);
        CHECK_MSG(r >= 1, "id %u: %d", id, r);
        int found = 0;
        for (int k = 0; k < r; k++) found |= ids[k] == id;
        CHECK_MSG(found, "id %u not matched", id);
    }
    /* a failed add leaves the matcher unchanged */
    CHECK(km_matcher_add(m, 9999, "{\"a\": []}", 9, &err) != KM_OK);
    CHECK_INT(km_matcher_count(m), 249);
    km_matcher_free(m);
    km_match_scratch_free(s);
    km_matcher_free(NULL);
    km_match_scratch_free(NULL);
}

TEST(match_event_errors_and_limits) {
    km_matcher *m = km_matcher_new();
    km_match_scratch *s = km_match_scratch_new();
    km_error err;
    const uint32_t *ids;
    CHECK_INT(km_matcher_add(m, 1, "{\"a\": [1]}", 10, &err), KM_OK);
    CHECK_INT(km_matcher_add(m, 2, "{\"b\": [2], \"c\": [3], \"d\": [4]}", 30, &err), KM_OK);
    CHECK_INT(km_matcher_match(m, s, "{\"a\": 1", 7, &ids, &err), -1);
    CHECK_INT(km_matcher_match(m, s, "[1]", 3, &ids, &err), -1);
    CHECK_CONTAINS(err.msg, "not a JSON object");
    km_match_limits lim = {.max_depth = 4, .max_event_bytes = 64, .max_fields = 3};
    km_matcher_set_limits(m, &lim);
    const char *deep = "{\"a\": [[[[[1]]]]]}";
    CHECK_INT(km_matcher_match(m, s, deep, strlen(deep), &ids, &err), -1);
    const char *many = "{\"a\": 1, \"b\": 2, \"c\": 3, \"d\": 4}";
    CHECK_INT(km_matcher_match(m, s, many, strlen(many), &ids, &err), -1);
    CHECK_CONTAINS(err.msg, "more than 3 fields");
    /* only the fields some pattern uses count */
    const char *unused = "{\"a\": 1, \"x\": 2, \"y\": 3, \"z\": 4, \"w\": [5, 6]}";
    CHECK_INT(km_matcher_match(m, s, unused, strlen(unused), &ids, &err), 1);
    char big[100];
    memset(big, ' ', sizeof big);
    memcpy(big, "{\"a\": 1}", 8);
    CHECK_INT(km_matcher_match(m, s, big, sizeof big, &ids, &err), -1);
    CHECK_INT(err.code, KM_ELIMIT);
    CHECK_INT(km_matcher_match(m, s, "{\"a\": 1}", 8, &ids, &err), 1);
    km_matcher_free(m);
    km_match_scratch_free(s);
}

/* Differential: matcher vs reference on every corpus case with a pattern the matcher accepts. */
TEST(match_differential_corpus) {
    static const char *const files[] = {"patterns/cases.jsonl", "patterns/probes-both-peers.jsonl",
                                        "cloudtrail/eventbridge-patterns-localstack/eventbridge_pattern_cases.jsonl"};
    int any = 0;
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        km_mcases cs;
        if (km_mcases_load(files[f], &cs) != 0) continue;
        any = 1;
        for (size_t i = 0; i < cs.n; i++) {
            const km_mcase *c = &cs.c[i];
            if (km_pattern_check(c->pattern, c->plen, NULL) != KM_OK) continue;
            km_matcher *m = km_matcher_new();
            km_match_scratch *s = km_match_scratch_new();
            const uint32_t *ids;
            km_matcher_add(m, 1, c->pattern, c->plen, NULL);
            int got = km_matcher_match(m, s, c->event, c->elen, &ids, NULL);
            int ref = ref_match(c->pattern, c->plen, c->event, c->elen);
            km_test_case(got == ref, "%s: matcher %d, reference %d", c->key, got, ref);
            km_matcher_free(m);
            km_match_scratch_free(s);
        }
        km_mcases_free(&cs);
    }
    if (!any) km_test_skip("shared corpora absent");
}

/* ---- random patterns and events --------------------------------------------------------- */

static uint64_t rng_state;
static uint32_t rnd(uint32_t n) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % n);
}

static const char *const keys[] = {"a", "b", "c", "d"};
static const char *const strs[] = {"x", "xy", "X", "yx", "", "10.0.0.1", "a*b", "ab", "Ab", "x.y", "é", "É"};
static const char *const nums[] = {"0", "1", "1.0", "-1", "2.5", "100", "1e2", "-0", "3"};

static void put_str(km_buf *b, const char *s) { km_buf_json_str(b, s, strlen(s)); }

static void rand_value(km_buf *b) {
    uint32_t r = rnd(10);
    if (r < 5) put_str(b, strs[rnd(12)]);
    else if (r < 8) km_buf_puts(b, nums[rnd(9)]);
    else if (r == 8) km_buf_puts(b, rnd(2) ? "true" : "null");
    else km_buf_puts(b, "false");
}

static void rand_event_obj(km_buf *b, int depth);

static void rand_event_val(km_buf *b, int depth) {
    uint32_t r = rnd(depth < 3 ? 8 : 5);
    if (r < 4) rand_value(b);
    else if (r == 4) {
        km_buf_putc(b, '[');
        uint32_t n = rnd(4);
        for (uint32_t i = 0; i < n; i++) {
            if (i) km_buf_putc(b, ',');
            if (depth < 3 && rnd(2)) rand_event_obj(b, depth + 1);
            else rand_value(b);
        }
        km_buf_putc(b, ']');
    } else rand_event_obj(b, depth + 1);
}

static void rand_event_obj(km_buf *b, int depth) {
    km_buf_putc(b, '{');
    uint32_t n = rnd(4) + (depth == 0);
    for (uint32_t i = 0; i < n; i++) {
        if (i) km_buf_putc(b, ',');
        put_str(b, keys[rnd(4)]);
        km_buf_putc(b, ':');
        rand_event_val(b, depth);
    }
    km_buf_putc(b, '}');
}

static void rand_matcher(km_buf *b) {
    switch (rnd(16)) {
    case 0: put_str(b, strs[rnd(12)]); break;
    case 1: km_buf_puts(b, nums[rnd(9)]); break;
    case 2: km_buf_puts(b, rnd(2) ? "null" : "true"); break;
    case 3: km_buf_puts(b, "{\"prefix\":"); put_str(b, strs[rnd(12)]); km_buf_putc(b, '}'); break;
    case 4: km_buf_puts(b, "{\"suffix\":"); put_str(b, strs[rnd(12)]); km_buf_putc(b, '}'); break;
    case 5: km_buf_puts(b, "{\"equals-ignore-case\":"); put_str(b, strs[rnd(12)]); km_buf_putc(b, '}'); break;
    case 6: km_buf_puts(b, "{\"wildcard\":"); put_str(b, rnd(2) ? "*x*" : strs[rnd(12)]); km_buf_putc(b, '}'); break;
    case 7: km_buf_puts(b, "{\"anything-but\":"); put_str(b, strs[rnd(12)]); km_buf_putc(b, '}'); break;
    case 8: km_buf_printf(b, "{\"anything-but\":[%s,%s]}", nums[rnd(9)], nums[rnd(9)]); break;
    case 9: km_buf_puts(b, "{\"anything-but\":{\"prefix\":"); put_str(b, rnd(2) ? "x" : "a"); km_buf_puts(b, "}}"); break;
    case 10: km_buf_printf(b, "{\"numeric\":[\">\",%s,\"<=\",100]}", rnd(2) ? "-1" : "0"); break;
    case 11: km_buf_printf(b, "{\"numeric\":[\"=\",%s]}", nums[rnd(9)]); break;
    case 12: km_buf_printf(b, "{\"exists\":%s}", rnd(2) ? "true" : "false"); break;
    case 13: km_buf_puts(b, "{\"cidr\":\"10.0.0.0/8\"}"); break;
    case 14: km_buf_puts(b, "{\"anything-but\":{\"equals-ignore-case\":"); put_str(b, strs[rnd(12)]); km_buf_puts(b, "}}"); break;
    default: km_buf_puts(b, "{\"prefix\":{\"equals-ignore-case\":\"x\"}}"); break;
    }
}

static void rand_pattern_obj(km_buf *b, int depth) {
    km_buf_putc(b, '{');
    uint32_t n = rnd(3) + 1;
    for (uint32_t i = 0; i < n; i++) {
        if (i) km_buf_putc(b, ',');
        if (depth < 2 && rnd(8) == 0) {
            km_buf_puts(b, "\"$or\":[");
            rand_pattern_obj(b, depth + 1);
            km_buf_putc(b, ',');
            rand_pattern_obj(b, depth + 1);
            km_buf_putc(b, ']');
            continue;
        }
        put_str(b, keys[rnd(4)]);
        km_buf_putc(b, ':');
        if (depth < 3 && rnd(3) == 0) {
            rand_pattern_obj(b, depth + 1);
        } else {
            km_buf_putc(b, '[');
            uint32_t k = rnd(2) + 1;
            for (uint32_t j = 0; j < k; j++) {
                if (j) km_buf_putc(b, ',');
                rand_matcher(b);
            }
            km_buf_putc(b, ']');
        }
    }
    km_buf_putc(b, '}');
}

TEST(match_differential_random) {
    rng_state = 0x9E3779B97F4A7C15ull;
    size_t compared = 0, rejected = 0, matched = 0;
    km_match_scratch *s = km_match_scratch_new();
    for (int i = 0; i < 20000; i++) {
        km_buf p = KM_BUF_INIT, e = KM_BUF_INIT;
        rand_pattern_obj(&p, 0);
        rand_event_obj(&e, 0);
        km_matcher *m = km_matcher_new();
        if (km_matcher_add(m, 1, p.data, p.len, NULL) != KM_OK) {
            rejected++;
        } else {
            const uint32_t *ids;
            int got = km_matcher_match(m, s, e.data, e.len, &ids, NULL);
            int ref = ref_match(p.data, p.len, e.data, e.len);
            compared++;
            matched += got == 1;
            if (got != ref) km_test_case(0, "pair %d: matcher %d, reference %d\n   pattern %s\n   event %s", i, got, ref, p.data, e.data);
        }
        km_matcher_free(m);
        km_buf_free(&p);
        km_buf_free(&e);
    }
    km_match_scratch_free(s);
    km_test_case(compared > 15000 && matched > 1000, "random pairs: %zu compared, %zu matched, %zu rejected", compared, matched,
                 rejected);
}

/* Hundreds of patterns in one matcher (sub-rules are then also found through combined keys of
 * two fields, src/match/matcher.c): each event's ids must be exactly the patterns the reference
 * matches. Some events have long arrays in two fields, so that the matcher falls back from
 * trying every pair of values. */
TEST(match_differential_many_patterns) {
    rng_state = 0x5DEECE66Dull;
    enum { NPAT = 320, NEV = 500 };
    km_buf pats[NPAT];
    int ok[NPAT];
    km_matcher *m = km_matcher_new();
    km_match_scratch *s = km_match_scratch_new();
    size_t added = 0, hits = 0, events = 0, bad = 0;
    for (int i = 0; i < NPAT; i++) {
        pats[i] = (km_buf)KM_BUF_INIT;
        if (i % 2) {
            rand_pattern_obj(&pats[i], 0);
        } else {
            /* two fields, each one test that can be part of a combined key */
            static const char *const ops[] = {"%s", "{\"equals-ignore-case\":%s}", "{\"prefix\":%s}", "{\"suffix\":%s}"};
            km_buf_putc(&pats[i], '{');
            for (int f = 0; f < 2; f++) {
                km_buf t = KM_BUF_INIT;
                put_str(&t, strs[rnd(12)]);
                km_buf_printf(&pats[i], "%s\"%s\":[", f ? "," : "", keys[f + 2 * (int)rnd(2)]);
                km_buf_printf(&pats[i], ops[rnd(4)], t.data);
                km_buf_putc(&pats[i], ']');
                km_buf_free(&t);
            }
            km_buf_putc(&pats[i], '}');
        }
        ok[i] = km_matcher_add(m, (uint32_t)i, pats[i].data, pats[i].len, NULL) == KM_OK;
        added += ok[i];
    }
    for (int j = 0; j < NEV; j++) {
        km_buf e = KM_BUF_INIT;
        if (j % 10 == 9) {
            /* two fields with 9 values each: 81 pairs */
            km_buf_puts(&e, "{");
            for (int f = 0; f < 2; f++) {
                km_buf_printf(&e, "%s\"%s\":[", f ? "," : "", keys[rnd(4)]);
                for (int k = 0; k < 9; k++) {
                    if (k) km_buf_putc(&e, ',');
                    rand_value(&e);
                }
                km_buf_putc(&e, ']');
            }
            km_buf_puts(&e, "}");
        } else {
            rand_event_obj(&e, 0);
        }
        const uint32_t *ids;
        int got = km_matcher_match(m, s, e.data, e.len, &ids, NULL);
        if (got < 0) {
            km_buf_free(&e);
            continue;
        }
        events++;
        int k = 0;
        for (int i = 0; i < NPAT; i++) {
            if (!ok[i]) continue;
            int ref = ref_match(pats[i].data, pats[i].len, e.data, e.len);
            int in = k < got && ids[k] == (uint32_t)i;
            if (in) k++;
            hits += ref == 1;
            if (ref != in && bad++ < 5)
                km_test_case(0, "pattern %d: matcher %d, reference %d\n   pattern %s\n   event %s", i, in, ref, pats[i].data, e.data);
        }
        km_buf_free(&e);
    }
    km_test_case(bad == 0 && added > 250 && events > 400 && hits > 3000, "%zu patterns, %zu events, %zu matches, %zu disagree",
                 added, events, hits, bad);
    for (int i = 0; i < NPAT; i++) km_buf_free(&pats[i]);
    km_matcher_free(m);
    km_match_scratch_free(s);
}

/* The fast number check must agree with formatting and re-reading, on numbers written the way
 * JSON producers write them (shortest, %.15g..%.17g, random digit strings). */
#include "match/internal.h"
#include <stdio.h>
TEST(match_number_comparability_fast_equals_slow) {
    uint64_t st = 0x1234567887654321ull;
    size_t bad = 0, n = 0, comparable = 0;
    char buf[64];
    for (int i = 0; i < 300000; i++) {
        st ^= st << 13; st ^= st >> 7; st ^= st << 17;
        double d;
        uint64_t r = st;
        switch (r % 6) {
        case 0: { uint64_t b = st >> 1; memcpy(&d, &b, 8); break; } /* any bit pattern */
        case 1: d = (double)(int64_t)(st % 2000000) / 1000.0; break;
        case 2: d = -122.5 + (double)(st % 1000000007) / 1e9 * 0.14; break;
        case 3: d = (double)(st % 100000) * 1e-7; break;
        case 4: d = ldexp((double)(st % (1ull << 53)), (int)(st % 200) - 100); break;
        default: d = 1.0 / (double)(st % 9999 + 1); break;
        }
        if (!isfinite(d)) continue;
        int prec = 15 + (int)(r >> 60) % 3;
        int len = (r >> 58) & 1 ? snprintf(buf, sizeof buf, "%.*g", prec, d) : snprintf(buf, sizeof buf, "%.*e", prec - 1, d);
        if ((r >> 57) & 1) {
            /* perturb the last digit */
            char *e = strpbrk(buf, "eE");
            char *lastd = e ? e - 1 : buf + len - 1;
            if (*lastd >= '0' && *lastd <= '8') (*lastd)++;
        }
        double a = 0, b = 0;
        int fa = km_num_comparable(buf, strlen(buf), &a), fb = km_num_comparable_slow(buf, strlen(buf), &b);
        n++;
        comparable += fb;
        if (fa != fb || (fa && a != b)) {
            if (bad++ < 5) km_test_case(0, "%s: fast %d (%.17g), slow %d (%.17g)", buf, fa, a, fb, b);
        }
    }
    km_test_case(bad == 0 && comparable > n / 4 && comparable < n, "%zu of %zu disagree; %zu comparable", bad, n, comparable);
}

/* A compiled sub-rule's fields go in Java's (UTF-16) order of their names, as event-ruler walks
 * them (it decides what exists:false sees inside arrays). The compiler ranks the names once for
 * the whole pattern and sorts each sub-rule by rank, so the test repeats names across $or
 * branches, overrides one in a branch, and mixes names whose UTF-16 order differs from their
 * byte order: U+1F600 (a surrogate pair, D83D..) comes before U+FF21 in UTF-16, after it in UTF-8. */
TEST(match_pattern_fields_in_java_order) {
#define FW "\xef\xbc\xa1" /* U+FF21 FULLWIDTH LATIN CAPITAL LETTER A */
#define EMO "\xf0\x9f\x98\x80" /* U+1F600 */
#define EACUTE "\xc3\xa9" /* U+00E9 */
    static const char text[] = "{\"" FW "\": [1], \"b\": [1], \"$or\": ["
                               "{\"" EMO "\": [1], \"a\": {\"b\": [1]}},"
                               "{\"" EACUTE "\": [1], \"A\": [1], \"a-\": [1]},"
                               "{\"aZ\": [1], \"b\": [2]}]}";
    static const char *const want[3][6] = {
        {"a.b", "b", EMO, FW},
        {"A", "a-", "b", EACUTE, FW},
        {"aZ", "b", FW},
    };
    static const size_t nwant[3] = {4, 5, 3};
    km_error err;
    km_pattern *p = km_pattern_compile(text, sizeof text - 1, 0, &err);
    km_test_case(p != NULL, "compiles: %s", p ? "" : err.msg);
    if (!p) return;
    km_test_case(p->nsubs == 3, "3 sub-rules, got %zu", p->nsubs);
    for (size_t s = 0; s < p->nsubs && s < 3; s++) {
        int same = p->subs[s].nfields == nwant[s];
        for (size_t f = 0; same && f < nwant[s]; f++) {
            const km_str *n = &p->subs[s].fields[f].name;
            same = n->len == strlen(want[s][f]) && memcmp(n->s, want[s][f], n->len) == 0;
        }
        km_buf got = {0};
        for (size_t f = 0; f < p->subs[s].nfields; f++) {
            if (f) km_buf_puts(&got, ", ");
            km_buf_append(&got, p->subs[s].fields[f].name.s, p->subs[s].fields[f].name.len);
        }
        km_test_case(same, "sub-rule %zu: fields %s", s, got.data ? got.data : "");
        km_buf_free(&got);
    }
    /* the branch's b = 2 replaced the outer b = 1 in the third sub-rule only */
    km_test_case(p->nsubs == 3 && p->subs[2].fields[1].nvm == 1, "third sub-rule's b has one value");
    km_pattern_free(p);
#undef FW
#undef EMO
#undef EACUTE
}

/* A field name splits into at most KM_NAME_MAX_PARTS (130) parts (found by fuzz_pattern: a 2.7 KB
 * name of 1,761 dots took 2.3 GB and 29 s in the fuzzer's build, as the name tree holds an edge
 * from every dot to every later one). 130 parts work, with the edges' keys pointing into one copy
 * of the name; 131 are refused with a message naming the count, also when nesting makes them. */
TEST(match_field_name_parts_limit) {
    km_buf name = KM_BUF_INIT, pat = KM_BUF_INIT, ev = KM_BUF_INIT;
    for (int i = 0; i < 130; i++) km_buf_printf(&name, "%sk%d", i ? "." : "", i);
    km_buf_printf(&pat, "{\"%s\": [\"v\"]}", name.data);
    /* the event splits the name three ways: k0 nested, k1..k63 as one dotted key, k64..k127
     * nested one by one, k128.k129 as one dotted key */
    km_buf_puts(&ev, "{\"k0\": {\"");
    for (int i = 1; i < 64; i++) km_buf_printf(&ev, "%sk%d", i > 1 ? "." : "", i);
    km_buf_puts(&ev, "\": ");
    for (int i = 64; i < 128; i++) km_buf_printf(&ev, "{\"k%d\": ", i);
    km_buf_puts(&ev, "{\"k128.k129\": \"v\"}");
    for (int i = 64; i < 128; i++) km_buf_putc(&ev, '}');
    km_buf_puts(&ev, "}}");
    km_test_case(match1(pat.data, ev.data) == 1, "130 parts, split three ways: match");
    km_error err;
    km_pattern *p = km_pattern_compile(pat.data, pat.len, 0, &err);
    km_test_case(p != NULL, "130 parts compile");
    km_pattern_free(p);
    km_names nm;
    km_names_init(&nm);
    km_test_case(km_names_add_field(&nm, name.data, name.len, 0) == 0, "130 parts: added to the name tree");
    /* 130 edges from the root (one per prefix) and one from each part's end to each later one:
     * 129 + 128 + ... + 1 = 8,385 */
    km_test_case(nm.ntab == 130 + 8385 && nm.nstore == 1, "edges %zu, copies %zu", nm.ntab, nm.nstore);
    km_buf_puts(&name, ".k130");
    km_test_case(km_names_add_field(&nm, name.data, name.len, 1) == -1 && nm.ntab == 8515 && nm.nstore == 1,
                 "131 parts: refused by the name tree, nothing added");
    km_names_free(&nm);
    km_buf_reset(&pat);
    km_buf_printf(&pat, "{\"%s\": [\"v\"]}", name.data);
    p = km_pattern_compile(pat.data, pat.len, 0, &err);
    km_test_case(p == NULL && strstr(err.msg, "field name has 131 parts separated by dots; at most 130 are allowed"),
                 "131 parts refused: %s", p ? "compiled" : err.msg);
    km_pattern_free(p);
    /* nesting counts the same: 10 objects whose keys hold 13 parts each, then one more key */
    km_buf_reset(&pat);
    for (int i = 0; i < 10; i++) {
        km_buf_putc(&pat, '{');
        for (int j = 0; j < 13; j++) km_buf_printf(&pat, "%s%c%d", j ? "." : "\"", 'a' + i, j);
        km_buf_puts(&pat, "\": ");
    }
    km_buf_puts(&pat, "{\"z\": [\"v\"]}");
    for (int i = 0; i < 10; i++) km_buf_putc(&pat, '}');
    p = km_pattern_compile(pat.data, pat.len, 0, &err);
    km_test_case(p == NULL && strstr(err.msg, "131 parts"), "131 parts by nesting refused: %s", p ? "compiled" : err.msg);
    km_pattern_free(p);
    km_buf_free(&name);
    km_buf_free(&pat);
    km_buf_free(&ev);
}

/* ---- the flattener on hostile bytes ----------------------------------------------------------- */

static const char *const nasty[] = {
    "\"a\\\"b\"", "\"x\\\\\"", "\"[{\"", "\"}]\"", "\"\\\\\\\"}\"", "\"\\u0061\"", "\"\\ud83d\\ude80\"", "\"\\ud800\"",
    "\"\xc3\xa9\"", "\"\xff\"", "\"0123456789012345678901234567890123456789012345678901234567890123456789{[\\\"]}\"",
    "\"\\/\\b\\f\\n\\r\\t\"", "-0.5e+3", "1E2", "0", "true", "null", "[]", "{}", "[[[]]]", "{\"a\":{\"b\":[1,{\"c\":\"}\"}]}}",
};

static void nasty_value(km_buf *b, int depth) {
    uint32_t r = rnd(depth < 4 ? 10 : 6);
    if (r < 5) {
        km_buf_puts(b, nasty[rnd(sizeof nasty / sizeof nasty[0])]);
    } else if (r < 7) {
        km_buf_puts(b, nums[rnd(9)]);
    } else if (r < 8) {
        km_buf_puts(b, " [ ");
        uint32_t n = rnd(5);
        for (uint32_t i = 0; i < n; i++) {
            if (i) km_buf_puts(b, " ,\n");
            nasty_value(b, depth + 1);
        }
        km_buf_puts(b, "]");
    } else {
        km_buf_putc(b, '{');
        uint32_t n = rnd(5);
        for (uint32_t i = 0; i < n; i++) {
            if (i) km_buf_putc(b, ',');
            /* keys: used ones (sometimes escaped), dotted ones, unused ones */
            static const char *const k[] = {"\"a\"", "\"b\"", "\"\\u0061\"", "\"a.b\"", "\"zz\"", "\"q\\\"\"", "\"c\""};
            km_buf_puts(b, k[rnd(7)]);
            km_buf_puts(b, rnd(2) ? ":" : " :\t");
            nasty_value(b, depth + 1);
        }
        km_buf_putc(b, '}');
    }
}

TEST(match_flattener_hostile_events_agree_with_reference) {
    rng_state = 0xC0FFEE1234567ull;
    static const char *const pats[] = {
        "{\"a\": [{\"exists\": true}]}",
        "{\"a\": {\"b\": [{\"exists\": true}]}}",
        "{\"a\": [\"a\\\"b\", \"x\\\\\", \"}]\", \"\\u00e9\"]}",
        "{\"a\": {\"b\": [{\"prefix\": \"0123\"}], \"c\": [{\"exists\": false}]}}",
        "{\"a\": [{\"numeric\": [\"<\", 0]}], \"b\": [{\"anything-but\": \"x\"}]}",
        "{\"c\": [null, true, \"\\ud83d\\ude80\"]}",
        "{\"a\": {\"b\": {\"c\": [\"}\"]}}}",
    };
    size_t agreed = 0, invalid = 0, matched = 0;
    km_match_scratch *s = km_match_scratch_new();
    for (size_t p = 0; p < sizeof pats / sizeof pats[0]; p++) {
        km_matcher *m = km_matcher_new();
        CHECK_INT(km_matcher_add(m, 1, pats[p], strlen(pats[p]), NULL), KM_OK);
        for (int i = 0; i < 3000; i++) {
            km_buf e = KM_BUF_INIT;
            km_buf_putc(&e, '{');
            uint32_t n = rnd(4) + 1;
            for (uint32_t k = 0; k < n; k++) {
                if (k) km_buf_putc(&e, ',');
                static const char *const top[] = {"\"a\"", "\"c\"", "\"zz\"", "\"a.b\"", "\"\\u0061\""};
                km_buf_puts(&e, top[rnd(5)]);
                km_buf_putc(&e, ':');
                nasty_value(&e, 0);
            }
            km_buf_putc(&e, '}');
            /* sometimes damage it */
            int damaged = 0;
            if (rnd(4) == 0 && e.len > 2) {
                size_t at = rnd((uint32_t)e.len);
                static const char junk[] = "\"\\{}[],: x";
                if (rnd(2)) memmove(e.data + at, e.data + at + 1, e.len - at), e.len--;
                else e.data[at] = junk[rnd(sizeof junk - 1)];
                damaged = 1;
            }
            const uint32_t *ids;
            km_error err;
            int got = km_matcher_match(m, s, e.data, e.len, &ids, &err);
            km_json_opts o = {.replace_invalid_utf8 = 1};
            km_json_doc *d = km_json_parse(e.data, e.len, &o, NULL, NULL);
            int ref = ref_match(pats[p], strlen(pats[p]), e.data, e.len);
            if (d) {
                /* valid JSON: same answer as the reference */
                if (got != ref) km_test_case(0, "pattern %s event %s: matcher %d reference %d (%s)", pats[p], e.data, got, ref, got < 0 ? err.msg : "");
                else agreed++;
                matched += got == 1;
            } else {
                invalid++;
                /* invalid JSON: the matcher may only accept it when the damage is in a part no
                 * pattern reads; it must never crash */
                if (!damaged) km_test_case(0, "generated invalid JSON: %s", e.data);
            }
            km_json_doc_free(d);
            km_buf_free(&e);
        }
        km_matcher_free(m);
    }
    km_match_scratch_free(s);
    km_test_case(agreed > 15000 && matched > 1000 && invalid > 1000, "%zu agreed, %zu matched, %zu invalid", agreed, matched, invalid);
}

/* Many threads may match on one matcher at once, each with its own scratch. */
#include <pthread.h>
typedef struct thr_arg {
    const km_matcher *m;
    const char *const *events;
    size_t nevents;
    const int *want;
    int bad;
} thr_arg;

static void *thr_match(void *p) {
    thr_arg *a = p;
    km_match_scratch *s = km_match_scratch_new();
    for (int round = 0; round < 200; round++) {
        for (size_t i = 0; i < a->nevents; i++) {
            const uint32_t *ids;
            int n = km_matcher_match(a->m, s, a->events[i], strlen(a->events[i]), &ids, NULL);
            if (n != a->want[i]) a->bad++;
        }
    }
    km_match_scratch_free(s);
    return NULL;
}

TEST(match_concurrent_matching_on_one_matcher) {
    km_matcher *m = km_matcher_new();
    char p[128];
    for (uint32_t id = 0; id < 300; id++) {
        int n = snprintf(p, sizeof p, "{\"a\": [%u], \"b\": {\"c\": [{\"prefix\": \"x%u\"}]}}", id % 30, id % 7);
        CHECK_INT(km_matcher_add(m, id, p, (size_t)n, NULL), KM_OK);
    }
    static const char *const events[] = {
        "{\"a\": 3, \"b\": {\"c\": \"x3y\"}}",
        "{\"a\": [3, 4], \"b\": [{\"c\": \"x4\"}, {\"c\": \"x3\"}]}",
        "{\"a\": 99}",
        "{\"b\": {\"c\": \"x1\"}, \"a\": 1}",
    };
    int want[4];
    km_match_scratch *s = km_match_scratch_new();
    for (size_t i = 0; i < 4; i++) {
        const uint32_t *ids;
        want[i] = km_matcher_match(m, s, events[i], strlen(events[i]), &ids, NULL);
    }
    km_match_scratch_free(s);
    CHECK(want[0] > 0 && want[1] > want[0] && want[2] == 0);
    pthread_t th[4];
    thr_arg args[4];
    for (int t = 0; t < 4; t++) {
        args[t] = (thr_arg){m, events, 4, want, 0};
        CHECK(pthread_create(&th[t], NULL, thr_match, &args[t]) == 0);
    }
    int bad = 0;
    for (int t = 0; t < 4; t++) {
        pthread_join(th[t], NULL);
        bad += args[t].bad;
    }
    CHECK_INT(bad, 0);
    km_matcher_free(m);
}

/* "*text*" is searched 16 positions at a time (first and last bytes together): every length of
 * text and of value, the text at every position, near misses in its first, middle and last
 * bytes, cased and folded, must give what a byte-by-byte search gives. */
static int naive_contains(const char *t, size_t tl, const char *s, size_t sl, int fold) {
    for (size_t k = 0; k + tl <= sl; k++) {
        size_t j = 0;
        for (; j < tl; j++) {
            unsigned char a = (unsigned char)s[k + j], b = (unsigned char)t[j];
            if (fold && a >= 'A' && a <= 'Z') a = (unsigned char)(a + 32);
            if (fold && b >= 'A' && b <= 'Z') b = (unsigned char)(b + 32);
            if (a != b) break;
        }
        if (j == tl) return 1;
    }
    return 0;
}

TEST(match_wildcard_contains_blocks) {
    static const char text[] = ":Assumed-Role/aws:[";
    char pat[64], s[80];
    size_t bad = 0, n = 0;
    for (size_t tl = 1; tl < sizeof text; tl++) {
        pat[0] = '*';
        memcpy(pat + 1, text, tl);
        pat[tl + 1] = '*';
        for (size_t sl = 0; sl < 70; sl++) {
            for (size_t at = 0; at + tl <= sl || at == 0; at++) {
                for (int miss = 0; miss < 5; miss++) {
                    /* '{' and '@' differ from '[' and '`' by 0x20 only: never equal, folded or not */
                    for (size_t q = 0; q < sl; q++) s[q] = (char)("xy@{aS:-"[(q * 7 + sl) % 8]);
                    if (at + tl <= sl) {
                        memcpy(s + at, text, tl);
                        if (miss == 1) s[at] = 'q';
                        if (miss == 2) s[at + tl - 1] = '{';
                        if (miss == 3 && tl > 2) s[at + tl / 2] = (char)(s[at + tl / 2] ^ 0x20); /* other case */
                        if (miss == 4) s[at + tl - 1] = (char)(s[at + tl - 1] ^ 0x20);
                    }
                    for (int fold = 0; fold < 2; fold++) {
                        int want = naive_contains(text, tl, s, sl, fold);
                        int got = fold ? km_wildcard_match_ci(pat, tl + 2, s, sl) : km_wildcard_match(pat, tl + 2, s, sl);
                        n++;
                        if (got != want && bad++ < 5)
                            fprintf(stderr, "  *%.*s* on %.*s (fold %d): %d, want %d\n", (int)tl, text, (int)sl, s, fold, got, want);
                    }
                }
                if (sl < tl) break;
            }
        }
    }
    CHECK(n > 100000);
    CHECK_INT(bad, 0);
}

/* A plain search for the largest set of wildcard positions one input can reach, the reference for
 * km_wildcard_complexity: a set of positions per pattern as a byte array, every new set compared
 * with every set found before it. Stops at 4,000 sets (*nsets says how many were found). */
static int ref_wildcard_complexity(const char *const *pats, size_t n, size_t *nsets) {
    *nsets = 0;
    enum { MAXPOS = 512, MAXSETS = 4000 };
    int el[MAXPOS];          /* per position of every pattern: the element after it (-1 star, -2 end) */
    size_t npos = 0;
    int used[257] = {0};
    used['"'] = 1;
    for (size_t i = 0; i < n; i++) {
        el[npos++] = '"';
        for (const char *p = pats[i]; *p; p++) {
            if (*p == '*') { el[npos++] = -1; continue; }
            if (*p == '\\' && p[1]) p++;
            el[npos++] = (unsigned char)*p;
            used[(unsigned char)*p] = 1;
        }
        el[npos++] = '"';
        el[npos++] = -2;
    }
    int other = 1;
    while (other < 256 && used[other]) other++;
    unsigned char(*sets)[MAXPOS] = calloc(MAXSETS, MAXPOS);
    if (!sets) return -1;
    size_t ns = 1;
    for (size_t g = 0; g < npos; g++)
        if (g == 0 || el[g - 1] == -2) /* a pattern's start, then the stars right after it */
            for (size_t q = g; ; q++) {
                sets[0][q] = 1;
                if (el[q] != -1) break;
            }
    int best = 0;
    for (size_t h = 0; h < ns; h++)
        for (int c = 0; c <= 256; c++) {
            int byte = c < 256 ? c : other;
            if (c < 256 ? !used[c] : other >= 256) continue;
            unsigned char next[MAXPOS] = {0};
            for (size_t g = 0; g < npos; g++) {
                if (!sets[h][g]) continue;
                if (g > 0 && el[g - 1] == -1) next[g] = 1;
                if (el[g] == byte)
                    for (size_t q = g + 1; ; q++) {
                        next[q] = 1;
                        if (el[q] != -1) break;
                    }
            }
            int cnt = 0;
            for (size_t g = 0; g < npos; g++) cnt += next[g];
            if (cnt > best) best = cnt;
            if (!cnt) continue;
            size_t k = 0;
            while (k < ns && memcmp(sets[k], next, npos)) k++;
            if (k == ns && ns < MAXSETS) memcpy(sets[ns++], next, npos);
        }
    free(sets);
    *nsets = ns;
    return best;
}

/* km_wildcard_complexity finds the sets it has met through a hash table and grows its table of
 * sets from 64 (it compared each new set with all before it, which cost 120 ms on one Sigma rule,
 * docs/security.md "Cost per execution"): its answers are those of the plain search, on pattern
 * groups that reach more than 64 sets (the growth) and fewer than its cap of 2,048. */
TEST(match_wildcard_complexity_agrees_with_a_plain_search) {
    static const char *const cases[][4] = {
        {"*a*b*c*d*e*f*g*", 0},
        {"ab*ab*ab*abc*d", 0},
        {"*aab*aba*baa*", "*bab*", 0},
        {"x*y*x*y*x*y*x*y", 0},
        {"*:assumed-role/*", "*TruffleHog*", "arn:aws:*:*:role/*", 0},
        {"*abcabcabd*", "*ab*cd*", 0},
        {"a*b*a*b*a*b*a*b*a*b*", 0},
        {"*aXbYc*dZe*", "*a*e*", "*b*d*", 0},
        {"*a\\*b\\\\*c*", "*\\**", 0},
    };
    size_t over64 = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        km_str p[4];
        size_t n = 0;
        while (n < 4 && cases[i][n]) {
            p[n] = (km_str){cases[i][n], strlen(cases[i][n])};
            n++;
        }
        size_t nsets;
        int want = ref_wildcard_complexity(cases[i], n, &nsets);
        km_test_case(want > 0 && nsets < 2048, "case %zu: reference %d with %zu sets", i, want, nsets);
        if (nsets > 64) over64++;
        int got = km_wildcard_complexity(p, n, 100000);
        km_test_case(got == want, "case %zu (%s ...): complexity %d, want %d", i, cases[i][0], got, want);
        /* capped as the pattern compiler asks */
        int capped = km_wildcard_complexity(p, n, KM_WILDCARD_MAX_COMPLEXITY + 1);
        int wantc = want > KM_WILDCARD_MAX_COMPLEXITY + 1 ? KM_WILDCARD_MAX_COMPLEXITY + 1 : want;
        km_test_case(capped == wantc, "case %zu: capped complexity %d, want %d", i, capped, wantc);
    }
    CHECK(over64 >= 3);
}

/* The Sigma |re literal fuzz_sigma took 120 ms over (800 bytes of rule): a long literal of many
 * distinct bytes, and so many sets of positions; the answer is the plain search's. */
TEST(match_wildcard_complexity_long_literal_of_many_bytes) {
    static const char lit[] =
        "*:assum\"even- tName\"ed22222222222222222222222222222222222222222222222222222222220001234"
        "2j357475922076559-roleanythin\"eventName\"/aws:group-by_ma!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
        "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!in_generic*";
    km_str p = {lit, sizeof lit - 1};
    static const char *const one[] = {lit};
    size_t nsets;
    int want = ref_wildcard_complexity(one, 1, &nsets);
    CHECK(want > 0 && nsets > 64 && nsets < 2048);
    CHECK_INT(km_wildcard_complexity(&p, 1, 100000), want);
    CHECK_INT(km_wildcard_complexity(&p, 1, KM_WILDCARD_MAX_COMPLEXITY + 1), want);
}
