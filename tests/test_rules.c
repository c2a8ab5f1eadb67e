/* Rule files: loading, validation messages, EventBridge-form rewriting, the built-in pack. */
#include "test.h"
#include "kumomori/rules.h"

#include <stdlib.h>

typedef struct {
    const char *pattern;
    const char *want;     /* rewritten pattern, or NULL when an error is expected */
    int eventbridge;
    const char *error;    /* substring of the error message */
    long offset;          /* byte offset of the error in the pattern */
} rewrite_case;

static const rewrite_case rewrites[] = {
    /* Raw form passes through, compacted. */
    {"{ \"eventName\" : [\"A\"] }", "{\"eventName\":[\"A\"]}", 0, NULL, 0},
    {"{\"$or\":[{\"eventName\":[\"A\"]},{\"errorCode\":[{\"exists\":true}]}]}",
     "{\"$or\":[{\"eventName\":[\"A\"]},{\"errorCode\":[{\"exists\":true}]}]}", 0, NULL, 0},
    /* The envelope onto the record, in the order written. */
    {"{\"source\":[\"aws.s3\",\"aws.kms\"],\"detail-type\":[\"AWS API Call via CloudTrail\"],\"detail\":{\"eventName\":[\"PutObject\"]}}",
     "{\"eventSource\":[\"s3.amazonaws.com\",\"kms.amazonaws.com\"],\"eventType\":[\"AwsApiCall\"],\"eventName\":[\"PutObject\"]}", 1, NULL, 0},
    {"{\"detail\":{\"userIdentity\":{\"type\":[\"Root\"]}},\"account\":[\"111122223333\"],\"region\":[{\"prefix\":\"eu-\"}]}",
     "{\"userIdentity\":{\"type\":[\"Root\"]},\"recipientAccountId\":[\"111122223333\"],\"awsRegion\":[{\"prefix\":\"eu-\"}]}", 1, NULL, 0},
    {"{\"detail-type\":[\"AWS Console Sign In via CloudTrail\",\"AWS Service Event via CloudTrail\",\"AWS Console Action via CloudTrail\",\"AWS Insight via CloudTrail\"]}",
     "{\"eventType\":[\"AwsConsoleSignIn\",\"AwsServiceEvent\",\"AwsConsoleAction\",\"AwsCloudTrailInsight\"]}", 1, NULL, 0},
    {"{\"source\":[\"aws.cloudwatch\"]}", "{\"eventSource\":[\"monitoring.amazonaws.com\"]}", 1, NULL, 0},
    /* $or whose branches use the envelope: each branch is rewritten. */
    {"{\"$or\":[{\"source\":[\"aws.s3\"]},{\"detail\":{\"eventName\":[\"X\"]}}]}",
     "{\"$or\":[{\"eventSource\":[\"s3.amazonaws.com\"]},{\"eventName\":[\"X\"]}]}", 1, NULL, 0},
    /* detail's own $or stays a $or over record fields. */
    {"{\"source\":[\"aws.iam\"],\"detail\":{\"$or\":[{\"eventName\":[\"A\"]},{\"eventName\":[\"B\"]}]}}",
     "{\"eventSource\":[\"iam.amazonaws.com\"],\"$or\":[{\"eventName\":[\"A\"]},{\"eventName\":[\"B\"]}]}", 1, NULL, 0},
    /* Errors, each at the value at fault. */
    {"{\"source\":[\"my.app\"]}", NULL, 1, "exact AWS sources", 11},
    {"{\"source\":[{\"prefix\":\"aws.\"}]}", NULL, 1, "exact AWS sources", 11},
    {"{\"detail-type\":[\"Object Created\"]}", NULL, 1, "CloudTrail detail types", 16},
    {"{\"source\":[\"aws.s3\"],\"eventName\":[\"A\"]}", NULL, 1, "\"eventName\" is not a field of the EventBridge envelope", 33},
    {"{\"resources\":[\"arn:x\"]}", NULL, 1, "\"resources\" has no counterpart", 13},
    {"{\"time\":[{\"prefix\":\"2026\"}]}", NULL, 1, "\"time\" has no counterpart", 8},
    {"{\"detail\":[1]}", NULL, 1, "\"detail\" must be an object", 10},
    /* "source" and detail.eventSource together: AWS matches events satisfying both, i.e. the
     * intersection when both are exact values. */
    {"{\"source\":[\"aws.s3\"],\"detail\":{\"eventSource\":[\"s3.amazonaws.com\"]}}",
     "{\"eventSource\":[\"s3.amazonaws.com\"]}", 1, NULL, 0},
    {"{\"source\":[\"aws.s3\",\"aws.kms\"],\"detail\":{\"eventName\":[\"A\"],\"eventSource\":[\"kms.amazonaws.com\",\"iam.amazonaws.com\"]}}",
     "{\"eventSource\":[\"kms.amazonaws.com\"],\"eventName\":[\"A\"]}", 1, NULL, 0},
    {"{\"source\":[\"aws.s3\"],\"detail\":{\"eventSource\":[{\"prefix\":\"s3\"}]}}", NULL, 1,
     "\"source\" and a field under \"detail\" both constrain the record's \"eventSource\"", 45},
    {"{\"account\":[\"1\"],\"detail\":{\"recipientAccountId\":[\"2\"]}}", NULL, 1, "both constrain the record's \"recipientAccountId\"", 48},
};

TEST(rules_rewrite_eventbridge_form_onto_the_record) {
    for (size_t i = 0; i < sizeof rewrites / sizeof rewrites[0]; i++) {
        const rewrite_case *c = &rewrites[i];
        km_buf out;
        km_buf_init(&out, 0);
        km_error err;
        km_error_clear(&err);
        int eb = -1;
        int rc = km_pattern_rewrite(c->pattern, strlen(c->pattern), &out, &eb, &err);
        if (c->want) {
            km_test_case(rc == KM_OK && out.data && strcmp(out.data, c->want) == 0 && eb == c->eventbridge,
                         "rewrite %s\n  gave %s (rc %d, eventbridge %d, %s)\n  want %s", c->pattern,
                         out.data ? out.data : "", rc, eb, err.msg, c->want);
        } else {
            km_test_case(rc != KM_OK && strstr(err.msg, c->error) && (long)err.offset == c->offset,
                         "rewrite %s\n  gave rc %d, \"%s\" at %ld\n  want an error \"%s\" at %ld", c->pattern, rc,
                         err.msg, (long)err.offset, c->error, c->offset);
        }
        km_buf_free(&out);
    }
}

static char *path_in_top(const char *rel) {
    static char p[4096];
    snprintf(p, sizeof p, "%s/%s", km_test_top(), rel);
    return p;
}

TEST(rules_load_a_folder_of_rule_files) {
    km_ruleset *rs = km_ruleset_new();
    km_error err;
    CHECK_MSG(km_ruleset_add_path(rs, path_in_top("tests/data/detect/rules"), &err) == KM_OK, "%s", err.msg);
    CHECK_INT(km_ruleset_count(rs), 3);
    /* Name order: cloudtrail-stop.json, s3-ssec.json, sg-open.json */
    const km_rule *r = km_ruleset_get(rs, 0);
    CHECK_STR(r->id, "KM-TEST-CLOUDTRAIL-STOP");
    CHECK_INT(r->severity, KM_SEV_CRITICAL);
    CHECK_INT(r->scenarios, KM_SCENARIO_BIT(7) | KM_SCENARIO_BIT(4));
    CHECK_INT(r->primary_scenario, 7);
    CHECK_INT(r->nmitre, 1);
    CHECK_STR(r->mitre[0], "T1562.008");
    CHECK_INT(r->nreferences, 1);
    CHECK_INT(r->eventbridge_form, 1);
    CHECK_STR(r->pattern, "{\"eventSource\":[\"cloudtrail.amazonaws.com\"],\"eventType\":[\"AwsApiCall\"],\"eventName\":[\"StopLogging\",\"DeleteTrail\"]}");
    CHECK_INT(r->nexamples, 3);
    CHECK_INT(r->examples[0].should_match, 1);
    CHECK_INT(r->examples[2].should_match, 0);
    CHECK_INT(r->examples[0].line, 33);
    CHECK(r->builtin == 0);
    CHECK(km_ruleset_find(rs, "KM-TEST-S3-SSEC") == km_ruleset_get(rs, 1));
    CHECK(km_ruleset_find(rs, "KM-NOPE") == NULL);
    CHECK_INT(km_ruleset_get(rs, 1)->eventbridge_form, 0);
    /* Loading the same folder again: every rule is a duplicate, and each is reported. */
    CHECK(km_ruleset_add_path(rs, path_in_top("tests/data/detect/rules"), &err) != KM_OK);
    CHECK_CONTAINS(err.msg, "duplicate rule id \"KM-TEST-CLOUDTRAIL-STOP\" (already loaded from");
    CHECK_INT(km_ruleset_error_count(rs), 3);
    CHECK_INT(km_ruleset_count(rs), 3);
    km_ruleset_free(rs);
}

TEST(rules_matcher_runs_every_example) {
    km_ruleset *rs = km_ruleset_new();
    km_error err;
    CHECK(km_ruleset_add_path(rs, path_in_top("tests/data/detect/rules"), &err) == KM_OK);
    km_matcher *m = km_ruleset_matcher(rs, &err);
    CHECK_MSG(m, "%s", err.msg);
    km_match_scratch *s = km_match_scratch_new();
    size_t checked = 0;
    for (size_t i = 0; i < km_ruleset_count(rs); i++) {
        const km_rule *r = km_ruleset_get(rs, i);
        for (size_t k = 0; k < r->nexamples; k++) {
            const uint32_t *ids;
            int n = km_matcher_match(m, s, r->examples[k].json, r->examples[k].len, &ids, &err);
            int hit = 0;
            for (int j = 0; j < n; j++) hit |= ids[j] == i;
            km_test_case(n >= 0 && hit == r->examples[k].should_match, "%s example %zu", r->id, k);
            checked++;
        }
    }
    CHECK_INT(checked, 7);
    km_match_scratch_free(s);
    km_matcher_free(m);
    km_ruleset_free(rs);
}

static const char *load_error(const char *text) {
    static char msg[600];
    km_ruleset *rs = km_ruleset_new();
    km_error err;
    km_error_clear(&err);
    int rc = km_ruleset_add_text(rs, "r.json", text, strlen(text), 0, &err);
    snprintf(msg, sizeof msg, "%s", rc == KM_OK ? "(loaded)" : err.msg);
    km_ruleset_free(rs);
    return msg;
}

#define BASE "\"id\":\"KM-A\",\"title\":\"t\",\"description\":\"d\",\"severity\":\"low\",\"scenarios\":[\"S1\"],\"mitre\":[],\"response\":\"r\""
#define EX "\"examples\":{\"match\":[{\"eventName\":\"A\"}],\"no_match\":[{\"eventName\":\"B\"}]}"

/* Each example's line in its file, whatever the order of the lists (no_match written before match
 * here: the lines are read back in the loader's order, match first) and with blank lines and
 * strings holding an escaped newline in between. */
TEST(rules_example_lines) {
    static const char text[] =
        "{" BASE ",\n"                                           /* line 1 */
        "\"pattern\":{\"eventName\":[\"A\"]},\n"                /* 2 */
        "\"examples\":{\n"                                       /* 3 */
        "  \"no_match\":[\n"                                     /* 4 */
        "    {\"eventName\":\"B\",\"x\":\"a\\nb\"},\n"            /* 5 */
        "\n"                                                     /* 6 */
        "    {\"eventName\":\"C\"}\n"                              /* 7 */
        "  ],\n"                                                 /* 8 */
        "  \"match\":[\n"                                        /* 9 */
        "\n\n"                                                   /* 10, 11 */
        "    {\"eventName\":\"A\"}, {\"eventName\":\"A\",\"y\":1}\n"  /* 12 */
        "  ]\n"
        "}}\n";
    km_ruleset *rs = km_ruleset_new();
    km_error err;
    CHECK_MSG(km_ruleset_add_text(rs, "lines.json", text, strlen(text), 0, &err) == KM_OK, "%s", err.msg);
    const km_rule *r = km_ruleset_get(rs, 0);
    CHECK(r != NULL);
    if (r) {
        CHECK_INT(r->nexamples, 4);
        static const struct { int match; size_t line; } want[] = {{1, 12}, {1, 12}, {0, 5}, {0, 7}};
        for (size_t i = 0; i < 4 && i < r->nexamples; i++) {
            CHECK_INT(r->examples[i].should_match, want[i].match);
            CHECK_INT(r->examples[i].line, want[i].line);
        }
    }
    km_ruleset_free(rs);
}

TEST(rules_validation_names_file_line_and_column) {
    CHECK_STR(load_error("{" BASE ",\"pattern\":{\"eventName\":[\"A\"]}," EX "}"), "(loaded)");
    CHECK_STR(load_error("[1]"), "r.json:1:1: a rule file holds one JSON object, not array");
    CHECK_STR(load_error("{" BASE ",\n\"pattern\":{\"eventName\":[\"A\"]}}"), "r.json:1:1: missing required field \"examples\"");
    CHECK_STR(load_error("{" BASE ",\n\"pattern\":{\"eventName\":[\"A\"]},\n\"examples\":{\"match\":[1],\"no_match\":[{}]}}"),
              "r.json:3:22: example records must be JSON objects (CloudTrail records), not number");
    CHECK_STR(load_error("{" BASE ",\"pattern\":{\"eventName\":[\"A\"]},\"examples\":{\"match\":[{}]}}"),
              "r.json:1:147: missing required field \"no_match\"");
    CHECK_STR(load_error("{" BASE ",\"pattern\":\"x\"," EX "}"),
              "r.json:1:116: \"pattern\" must be an object (an EventBridge event pattern)");
    CHECK_STR(load_error("{\"id\":\"KM-A\",\"title\":\"\"}"), "r.json:1:22: \"title\" must not be empty");
    CHECK_STR(load_error("{\"id\":\"KM-A-\",\"title\":\"\"}"),
              "r.json:1:7: rule id \"KM-A-\" must be KM- followed by upper-case words or digits joined by '-' (e.g. KM-S3-SSEC-REENCRYPT)");
    CHECK_STR(load_error("{\"id\":7}"), "r.json:1:7: \"id\" must be a string, not number");
    CHECK_CONTAINS(load_error("{" BASE ",\"pattern\":{\"eventName\":[{\"numeric\":[\">\"]}]}," EX "}"),
                   "r.json:1:141: invalid pattern: ");
    CHECK_STR(load_error("{" BASE ",\"references\":\"http://x\",\"pattern\":{}," EX "}"),
              "r.json:1:119: \"references\" must be an array of URLs");
}

/* An invalid pattern is reported as written in the file (position, JSON path with "detail"),
 * though a valid one is compiled only as rewritten onto the record; the rewrite's own messages
 * stay; near the nesting limit the written form decides (the rewrite lifts "detail" one level). */
static const char *deep_eb(int levels) {
    static char text[4096];
    km_buf b = KM_BUF_INIT;
    km_buf_puts(&b, "{" BASE "," EX ",\n\"pattern\":{\"source\":[\"aws.s3\"],\"detail\":");
    for (int i = 0; i < levels; i++) km_buf_puts(&b, "{\"a\":");
    km_buf_puts(&b, "[\"x\"]");
    for (int i = 0; i < levels; i++) km_buf_putc(&b, '}');
    km_buf_puts(&b, "}}");
    snprintf(text, sizeof text, "%s", b.data ? b.data : "");
    km_buf_free(&b);
    return text;
}

TEST(rules_invalid_pattern_is_reported_as_written) {
    /* a bad value under "detail": column 11 + its byte 54 in the pattern */
    CHECK_STR(load_error("{" BASE "," EX ",\n\"pattern\":{\"source\":[\"aws.s3\"],\"detail\":{\"eventName\":[{\"prefix\":5}]}}}"),
              "r.json:2:65: invalid pattern: Event pattern is not valid: prefix match pattern must be a string (at "
              "$.detail.eventName[0].prefix, byte 54)");
    /* a bad matcher as "source": the written pattern's message, not the rewrite's */
    CHECK_STR(load_error("{" BASE "," EX ",\n\"pattern\":{\"source\":[{\"prefix\":5}],\"detail\":{\"eventName\":[\"x\"]}}}"),
              "r.json:2:32: invalid pattern: Event pattern is not valid: prefix match pattern must be a string (at "
              "$.source[0].prefix, byte 21)");
    /* valid as written, refused by the rewrite: the rewrite's message at the value */
    CHECK_STR(load_error("{" BASE "," EX ",\n\"pattern\":{\"source\":[\"aws.s3\"],\"foo\":[\"x\"]}}"),
              "r.json:2:38: \"foo\" is not a field of the EventBridge envelope (source, detail-type, detail, account, "
              "region): put it under \"detail\", or write the whole pattern over the raw CloudTrail record");
    CHECK_STR(load_error("{" BASE "," EX ",\n\"pattern\":{\"source\":[{\"prefix\":\"aws.\"}],\"detail\":{\"eventName\":[\"x\"]}}}"),
              "r.json:2:22: \"source\" values must be exact AWS sources such as \"aws.s3\" to be mapped onto the record's "
              "eventSource; write this pattern over the raw record (\"eventSource\") instead");
    /* 64 objects inside "detail" are within the matcher's 64 levels as written, 65 are not (as
     * rewritten they would be 64) */
    CHECK_STR(load_error(deep_eb(64)), "(loaded)");
    CHECK_CONTAINS(load_error(deep_eb(65)), "r.json:2:");
    CHECK_CONTAINS(load_error(deep_eb(65)), ": invalid pattern: Event pattern is not valid: pattern nested deeper than 64 "
                                            "levels (at $.detail.a.a.");
}

/* A bare EventBridge pattern (what `aws events put-rule --event-pattern` takes) or the output of
 * `aws events describe-rule` loads as a rule with made-up metadata. */
TEST(rules_bare_eventbridge_patterns_load) {
    km_ruleset *rs = km_ruleset_new();
    km_error err;
    const char *p1 = "{\"source\":[\"aws.iam\"],\"detail\":{\"eventName\":[\"PutUserPolicy\"]}}";
    CHECK_MSG(km_ruleset_add_text(rs, "dir/Iam changes.json", p1, strlen(p1), 0, &err) == KM_OK, "%s", err.msg);
    const char *p2 = "{\"Name\":\"backup-vault-deleted\",\"Arn\":\"arn:aws:events:us-east-1:1:rule/x\","
                     "\"EventPattern\":\"{\\\"source\\\":[\\\"aws.backup\\\"],\\\"detail\\\":{\\\"eventName\\\":[\\\"DeleteBackupVault\\\"]}}\","
                     "\"State\":\"ENABLED\",\"Description\":\"Vault deleted\"}";
    CHECK_MSG(km_ruleset_add_text(rs, "rule.json", p2, strlen(p2), 0, &err) == KM_OK, "%s", err.msg);
    /* the same name again gets a numbered id */
    CHECK_MSG(km_ruleset_add_text(rs, "other/iam-changes.json", p1, strlen(p1), 0, &err) == KM_OK, "%s", err.msg);
    CHECK_INT(km_ruleset_count(rs), 3);
    const km_rule *a = km_ruleset_get(rs, 0), *b = km_ruleset_get(rs, 1), *c = km_ruleset_get(rs, 2);
    CHECK_STR(a->id, "KM-EB-IAM-CHANGES");
    CHECK_STR(a->title, "EventBridge rule Iam changes");
    CHECK_INT(a->severity, KM_SEV_MEDIUM);
    CHECK_INT(a->primary_scenario, 2);
    CHECK(a->bare_pattern && !a->never_matches);
    CHECK_STR(a->pattern, "{\"eventSource\":[\"iam.amazonaws.com\"],\"eventName\":[\"PutUserPolicy\"]}");
    CHECK_STR(b->id, "KM-EB-BACKUP-VAULT-DELETED");
    CHECK_STR(b->description, "Vault deleted");
    CHECK_INT(b->primary_scenario, 6);
    CHECK_STR(b->pattern, "{\"eventSource\":[\"backup.amazonaws.com\"],\"eventName\":[\"DeleteBackupVault\"]}");
    CHECK_STR(c->id, "KM-EB-IAM-CHANGES-2");
    CHECK_INT(km_ruleset_warning_count(rs), 0);
    km_ruleset_free(rs);
}

/* The defence strategy's pattern: source aws.cloudtrail with eventSource iam.amazonaws.com is valid
 * in AWS and never matches (EventBridge gives IAM's events source aws.iam). It loads, with a
 * warning, and stays out of the matcher. */
TEST(rules_pattern_that_can_never_match_loads_with_a_warning) {
    km_ruleset *rs = km_ruleset_new();
    km_error err;
    const char *p = "{\n\"source\": [\"aws.cloudtrail\"],\n\"detail-type\": [\"AWS API Call via CloudTrail\"],\n"
                    "\"detail\": {\n\"eventSource\": [\"iam.amazonaws.com\"],\n\"eventName\": [\"DeleteUserPolicy\", \"PutUserPolicy\"]\n}\n}\n";
    CHECK_MSG(km_ruleset_add_text(rs, "strategy.json", p, strlen(p), 0, &err) == KM_OK, "%s", err.msg);
    const km_rule *r = km_ruleset_get(rs, 0);
    CHECK(r && r->never_matches);
    CHECK_CONTAINS(r->never_matches, "strategy.json:2:11: this pattern can never match");
    CHECK_CONTAINS(r->never_matches, "did you mean \"source\": [\"aws.iam\"]?");
    CHECK_INT(km_ruleset_warning_count(rs), 1);
    CHECK_CONTAINS(km_ruleset_warning(rs, 0), "rule KM-EB-STRATEGY is loaded but will raise no alert");
    km_matcher *m = km_ruleset_matcher(rs, &err);
    CHECK(m);
    km_match_scratch *s = km_match_scratch_new();
    const char *ev = "{\"eventSource\":\"iam.amazonaws.com\",\"eventName\":\"PutUserPolicy\",\"eventType\":\"AwsApiCall\"}";
    const uint32_t *ids;
    CHECK_INT(km_matcher_match(m, s, ev, strlen(ev), &ids, &err), 0);
    km_match_scratch_free(s);
    km_matcher_free(m);
    km_ruleset_free(rs);
    /* a describe-rule whose EventPattern string is broken: the position is inside the string */
    CHECK_STR(load_error("{\"Name\":\"x\",\"EventPattern\":\"{\\\"source\\\":[\"}"),
              "r.json (EventPattern):1:12: invalid JSON at byte 11 (line 1, column 12): unexpected end of input, a value was expected");
}

TEST(rules_builtin_pack_loads_and_its_examples_pass) {
    km_ruleset *rs = km_ruleset_new();
    km_error err;
    int rc = km_ruleset_add_builtin(rs, &err);
    for (size_t i = 0; i < km_ruleset_error_count(rs); i++) fprintf(stdout, "  %s\n", km_ruleset_error(rs, i));
    CHECK_MSG(rc == KM_OK, "%s", err.msg);
    if (km_ruleset_count(rs) == 0) {
        km_test_skip("the built-in pack (rules/) is empty in this tree");
        km_ruleset_free(rs);
        return;
    }
    km_matcher *m = km_ruleset_matcher(rs, &err);
    CHECK_MSG(m, "%s", err.msg);
    km_match_scratch *s = km_match_scratch_new();
    for (size_t i = 0; i < km_ruleset_count(rs); i++) {
        const km_rule *r = km_ruleset_get(rs, i);
        CHECK(r->builtin);
        /* Thresholds, correlations and Sigma rules decide on more than one pattern match: their
         * examples are sequences, run by `kumomori rules test` (the rules-test-builtin case). */
        if (r->kind != KM_RULE_PATTERN) continue;
        for (size_t k = 0; k < r->nexamples; k++) {
            const uint32_t *ids;
            int n = km_matcher_match(m, s, r->examples[k].json, r->examples[k].len, &ids, &err);
            int hit = 0;
            for (int j = 0; j < n; j++) hit |= ids[j] == i;
            km_test_case(n >= 0 && hit == r->examples[k].should_match, "%s (%s:%zu): %s example", r->id, r->file,
                         r->examples[k].line, r->examples[k].should_match ? "match" : "no_match");
        }
    }
    km_match_scratch_free(s);
    km_matcher_free(m);
    km_ruleset_free(rs);
}
