/* Threshold and correlation rules as files (docs/stateful.md): the built-in ones' example sequences,
 * the strategy's Athena query as written, the SQL subset and its errors, the JSON format's errors,
 * Sigma correlation rules with names, chains and aliases, and the legacy rules of SigmaHQ's
 * unsupported/ folder. */
#include "test.h"
#include "detect/program.h"
#include "kumomori/rules.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A rule set from files written to a temporary folder (name, text pairs), finished. */
static km_ruleset *from_texts(const char *const *files, size_t n, int builtin, km_error *err) {
    char dir[] = "/tmp/km-stateful-XXXXXX";
    if (!mkdtemp(dir)) return NULL;
    km_ruleset *rs = km_ruleset_new();
    int rc = builtin ? km_ruleset_add_builtin(rs, err) : KM_OK;
    for (size_t i = 0; i < n && rc == KM_OK; i += 2) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        FILE *f = fopen(path, "w");
        if (!f) { rc = KM_ERR; break; }
        fputs(files[i + 1], f);
        fclose(f);
        rc = km_ruleset_add_path(rs, path, err);
        unlink(path);
    }
    rmdir(dir);
    if (rc == KM_OK) rc = km_ruleset_finish(rs, err);
    if (rc != KM_OK) {
        if (km_ruleset_error_count(rs)) snprintf(err->msg, sizeof err->msg, "%s", km_ruleset_error(rs, 0));
        km_ruleset_free(rs);
        return NULL;
    }
    return rs;
}

/* Run a sequence (JSON array text) and say whether rule id fired. */
static int fires(const km_ruleset *rs, const char *id, const char *seq) {
    const km_rule *r = km_ruleset_find(rs, id);
    if (!r) return -2;
    km_error err;
    km_matcher *m = km_ruleset_matcher(rs, &err);
    if (!m) return -3;
    int fired = 0;
    int rc = km_program_run_sequence(rs, m, seq, strlen(seq), (size_t)(r - km_ruleset_get(rs, 0)), &fired, &err);
    km_matcher_free(m);
    if (rc != KM_OK) {
        printf("  %s\n", err.msg);
        return -1;
    }
    return fired;
}

TEST(stateful_builtin_rules_examples) {
    km_ruleset *rs = km_ruleset_new();
    km_error err;
    CHECK(km_ruleset_add_builtin(rs, &err) == KM_OK && km_ruleset_finish(rs, &err) == KM_OK);
    km_matcher *m = km_ruleset_matcher(rs, &err);
    CHECK(m);
    size_t rules = 0;
    for (size_t i = 0; i < km_ruleset_count(rs); i++) {
        const km_rule *r = km_ruleset_get(rs, i);
        if (r->kind != KM_RULE_THRESHOLD && r->kind != KM_RULE_CORRELATION) continue;
        rules++;
        int pos = 0, neg = 0;
        for (size_t k = 0; k < r->nexamples; k++) {
            const km_rule_example *e = &r->examples[k];
            int fired = 0;
            int rc = km_program_run_sequence(rs, m, e->json, e->len, i, &fired, &err);
            km_test_case(rc == KM_OK && fired == e->should_match, "%s (%s:%zu): %s example %s", r->id, r->file, e->line,
                         e->should_match ? "match" : "no_match", rc != KM_OK ? err.msg : fired ? "fires" : "does not fire");
            if (e->should_match) pos++;
            else neg++;
        }
        km_test_case(pos && neg, "%s: %d match and %d no_match examples", r->id, pos, neg);
    }
    km_test_case(rules >= 9, "%zu built-in thresholds and correlations", rules);
    km_matcher_free(m);
    km_ruleset_free(rs);
}

static const char STRATEGY_QUERY[] = "SELECT eventname, eventsource, count(*) as count\n"
                                     "FROM cloudtrail_logs\n"
                                     "WHERE from_iso8601_timestamp(eventtime) > current_timestamp - interval '1' hour\n"
                                     "GROUP BY eventname, eventsource\n"
                                     "HAVING count(*) > 100\n"
                                     "ORDER BY count DESC\n";

#define CALLS(n, every, name, src)                                                                                  \
    "{\"repeat\":" #n ",\"every\":\"" every "\",\"record\":{\"eventTime\":\"2024-05-01T10:00:00Z\",\"eventID\":\"e\","  \
    "\"eventName\":\"" name "\",\"eventSource\":\"" src "\",\"userIdentity\":{\"arn\":\"arn:aws:iam::1:user/u\"}}}"

TEST(stateful_strategy_athena_query_as_it_stands) {
    const char *files[] = {"strategy.sql", STRATEGY_QUERY};
    km_error err;
    km_ruleset *rs = from_texts(files, 2, 0, &err);
    CHECK_MSG(rs, "%s", err.msg);
    const km_rule *r = km_ruleset_find(rs, "KM-SQL-STRATEGY");
    CHECK(r);
    CHECK_INT(r->kind, KM_RULE_THRESHOLD);
    CHECK_INT(r->corr_type, KM_CORR_EVENT_COUNT);
    CHECK_INT(r->ngroup, 2);
    CHECK_STR(r->group_by[0], "eventName");
    CHECK_STR(r->group_by[1], "eventSource");
    CHECK_INT(r->span_ms, 3600000);
    CHECK(r->cond.has_gt && r->cond.gt == 100 && !r->cond.has_gte);
    CHECK_STR(r->query, STRATEGY_QUERY);
    const km_rule *h = km_ruleset_find(rs, "KM-SQL-STRATEGY#1");
    CHECK(h && h->hidden);
    CHECK_STR(h->pattern, "{\"eventTime\":[{\"exists\":true}]}");
    CHECK_INT(fires(rs, "KM-SQL-STRATEGY", "[" CALLS(101, "20s", "GetCallerIdentity", "sts.amazonaws.com") "]"), 1);
    CHECK_INT(fires(rs, "KM-SQL-STRATEGY", "[" CALLS(100, "20s", "GetCallerIdentity", "sts.amazonaws.com") "]"), 0);
    /* 101 calls spread over more than an hour */
    CHECK_INT(fires(rs, "KM-SQL-STRATEGY", "[" CALLS(101, "40s", "GetCallerIdentity", "sts.amazonaws.com") "]"), 0);
    /* one name, two services: two groups of 60 */
    CHECK_INT(fires(rs, "KM-SQL-STRATEGY", "[" CALLS(60, "20s", "GetCallerIdentity", "sts.amazonaws.com") ","
                                           CALLS(60, "20s", "GetCallerIdentity", "iam.amazonaws.com") "]"), 0);
    km_ruleset_free(rs);
}

TEST(stateful_sql_subset) {
    const char *files[] = {
        "distinct.sql",
        "-- id: KM-SQL-DISTINCT-DENIED\n-- title: Denied on many APIs\n-- severity: high\n-- scenarios: S2, S4\n"
        "SELECT useridentity.arn, count(DISTINCT eventname) FROM cloudtrail WHERE errorcode IN ('AccessDenied', "
        "'Client.UnauthorizedOperation') AND eventsource LIKE '%.amazonaws.com' AND errormessage IS NOT NULL AND "
        "from_iso8601_timestamp(eventtime) > current_timestamp - interval '10' minute GROUP BY useridentity.arn HAVING "
        "count(DISTINCT eventname) >= 3;",
    };
    km_error err;
    km_ruleset *rs = from_texts(files, 2, 0, &err);
    CHECK_MSG(rs, "%s", err.msg);
    const km_rule *r = km_ruleset_find(rs, "KM-SQL-DISTINCT-DENIED");
    CHECK(r);
    CHECK_STR(r->title, "Denied on many APIs");
    CHECK_INT(r->severity, KM_SEV_HIGH);
    CHECK_INT(r->scenarios, KM_SCENARIO_BIT(2) | KM_SCENARIO_BIT(4));
    CHECK_INT(r->corr_type, KM_CORR_VALUE_COUNT);
    CHECK_STR(r->value_field, "eventName");
    CHECK_STR(r->group_by[0], "userIdentity.arn");
    CHECK_INT(r->span_ms, 600000);
    CHECK(r->cond.has_gte && r->cond.gte == 3);
    const km_rule *h = km_ruleset_find(rs, "KM-SQL-DISTINCT-DENIED#1");
    CHECK(h);
    CHECK_CONTAINS(h->pattern, "\"errorCode\":[\"AccessDenied\",\"Client.UnauthorizedOperation\"]");
    CHECK_CONTAINS(h->pattern, "\"eventSource\":[{\"wildcard\":\"*.amazonaws.com\"}]");
    CHECK_CONTAINS(h->pattern, "\"errorMessage\":[{\"exists\":true}]");
#define DENIED(name, t) "{\"eventTime\":\"" t "\",\"eventName\":\"" name "\",\"eventSource\":\"iam.amazonaws.com\"," \
    "\"errorCode\":\"AccessDenied\",\"errorMessage\":\"no\",\"userIdentity\":{\"arn\":\"arn:aws:iam::1:user/u\"}}"
    CHECK_INT(fires(rs, "KM-SQL-DISTINCT-DENIED", "[" DENIED("A", "2024-05-01T10:00:00Z") "," DENIED("B", "2024-05-01T10:01:00Z") ","
                                                  DENIED("C", "2024-05-01T10:02:00Z") "]"), 1);
    CHECK_INT(fires(rs, "KM-SQL-DISTINCT-DENIED", "[" DENIED("A", "2024-05-01T10:00:00Z") "," DENIED("A", "2024-05-01T10:01:00Z") ","
                                                  DENIED("B", "2024-05-01T10:02:00Z") "]"), 0);
    km_ruleset_free(rs);
    static const struct { const char *q; const char *msg; } bad[] = {
        {"SELECT eventname, count(*) FROM t WHERE eventname = 'a' OR eventname = 'b' AND from_iso8601_timestamp(eventtime) > "
         "current_timestamp - interval '1' hour GROUP BY eventname HAVING count(*) > 1",
         "WHERE supports conditions joined by AND only"},
        {"SELECT eventname, count(*) FROM t GROUP BY eventname HAVING count(*) > 1", "the query needs a window"},
        {"SELECT eventname, count(*) FROM t WHERE from_iso8601_timestamp(eventtime) > current_timestamp - interval '1' hour "
         "GROUP BY eventname HAVING count(*) > 1 LIMIT 10",
         "LIMIT would drop groups silently"},
        {"SELECT bogus, count(*) FROM t WHERE eventtime > now() - interval '1' hour GROUP BY bogus HAVING count(*) > 1",
         "'bogus' is not a column of the CloudTrail table"},
        {"SELECT eventname, eventsource, count(*) FROM t WHERE eventtime > now() - interval '1' hour GROUP BY eventname "
         "HAVING count(*) > 1",
         "the selected column eventSource is not in GROUP BY"},
        {"SELECT eventname FROM t WHERE eventtime > now() - interval '1' hour GROUP BY eventname HAVING count(*) > 1",
         "the query must count"},
        {"SELECT eventname, count(*) FROM t WHERE eventtime > now() - interval '1' week GROUP BY eventname HAVING count(*) > 1",
         "unit must be second, minute, hour or day"},
        {"SELECT eventname, count(*) FROM t WHERE eventname LIKE 'a_b' AND eventtime > now() - interval '1' hour GROUP BY "
         "eventname HAVING count(*) > 1",
         "LIKE with '_' has no EventBridge form"},
        /* an empty quoted column reached strchr/strcmp as NULL (a crash) before column() refused it */
        {"SELECT \"\", count(*) FROM t WHERE \"\" = 'a' AND eventtime > now() - interval '1' hour GROUP BY \"\" "
         "HAVING count(*) > 1",
         "an empty column name"},
        {"SELECT eventname, count(DISTINCT \"\") FROM t WHERE eventtime > now() - interval '1' hour GROUP BY eventname "
         "HAVING count(DISTINCT \"\") > 1",
         "an empty column name"},
        {"SELECT eventname, count(*) FROM t WHERE eventtime > now() - interval '1' hour GROUP BY \"eventname",
         "a quoted column name is never closed"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *f[] = {"bad.sql", bad[i].q};
        km_ruleset *b = from_texts(f, 2, 0, &err);
        km_test_case(!b && strstr(err.msg, bad[i].msg) && strstr(err.msg, "bad.sql:"), "SQL case %zu: '%s' lacks '%s'", i,
                     b ? "(loaded)" : err.msg, bad[i].msg);
        km_ruleset_free(b);
    }
}

#define META "\"id\":\"KM-T\",\"title\":\"t\",\"description\":\"d\",\"response\":\"r\",\"severity\":\"high\",\"scenarios\":[\"S6\"],\"mitre\":[]," \
             "\"examples\":{\"match\":[[]],\"no_match\":[[]]}"
#define PAT "\"pattern\":{\"eventName\":[\"DeleteObject\"]}"

TEST(stateful_json_errors_name_file_and_position) {
    static const struct { const char *json; const char *msg; } bad[] = {
        {"{" META "," PAT ",\"threshold\":{\"condition\":{\"gte\":5}}}", "\"timespan\" must be a duration"},
        {"{" META "," PAT ",\"threshold\":{\"timespan\":\"5w\",\"condition\":{\"gte\":5}}}", "\"timespan\" must be a duration"},
        {"{" META "," PAT ",\"threshold\":{\"timespan\":\"5m\"}}", "a threshold needs a \"condition\""},
        {"{" META "," PAT ",\"threshold\":{\"timespan\":\"5m\",\"condition\":{\"more\":5}}}", "condition \"more\" is not gt"},
        {"{" META "," PAT ",\"threshold\":{\"timespan\":\"5m\",\"condition\":{\"gte\":-1}}}", "needs a whole number"},
        {"{" META "," PAT ",\"threshold\":{\"timespan\":\"5m\",\"condition\":{\"gte\":5},\"window\":1}}", "unknown field \"window\" in \"threshold\""},
        {"{" META ",\"threshold\":{\"timespan\":\"5m\",\"condition\":{\"gte\":5}}}", "a threshold needs the \"pattern\""},
        {"{" META ",\"pattern\":{\"eventName\":[{\"nope\":1}]},\"threshold\":{\"timespan\":\"5m\",\"condition\":{\"gte\":5}}}", "invalid pattern"},
        /* an invalid pattern is worded as written (with "detail"), not as rewritten onto the record */
        {"{" META ",\"pattern\":{\"source\":[\"aws.s3\"],\"detail\":{\"eventName\":[{\"prefix\":5}]}},\"threshold\":{\"timespan\":\"5m\",\"condition\":{\"gte\":5}}}",
         "invalid pattern: Event pattern is not valid: prefix match pattern must be a string (at $.detail.eventName[0].prefix, byte 54)"},
        {"{" META ",\"pattern\":{\"source\":[\"aws.s3\"],\"foo\":[\"x\"]},\"threshold\":{\"timespan\":\"5m\",\"condition\":{\"gte\":5}}}",
         "invalid pattern: \"foo\" is not a field of the EventBridge envelope"},
        {"{" META "," PAT ",\"threshold\":{\"timespan\":\"5m\",\"condition\":{\"gte\":5000000}}}", "above 1000000"},
        {"{" META ",\"correlation\":{\"type\":\"sometimes\",\"rules\":[\"A\"],\"timespan\":\"1h\"}}", "correlation type \"sometimes\""},
        {"{" META ",\"correlation\":{\"type\":\"temporal\",\"rules\":[],\"timespan\":\"1h\"}}", "a correlation needs \"rules\""},
        {"{" META ",\"correlation\":{\"type\":\"temporal\",\"rules\":[\"KM-NOT-LOADED\"],\"timespan\":\"1h\"}}",
         "rule KM-T reads rule \"KM-NOT-LOADED\", which is not loaded"},
        {"{" META ",\"correlation\":{\"type\":\"temporal\",\"rules\":[{\"pattern\":{\"a\":[1]}}],\"timespan\":\"1h\",\"differ\":\"x\"}}",
         "\"differ\" only goes with temporal_ordered"},
        {"{" META ",\"correlation\":{\"type\":\"temporal\",\"rules\":[{\"pattern\":{\"a\":[1]}}],\"group-by\":[\"k\"],"
         "\"timespan\":\"1h\",\"aliases\":{\"q\":{\"1\":\"x\"}}}}",
         "alias \"q\" is not in \"group-by\""},
        {"{" META ",\"correlation\":{\"type\":\"value_count\",\"rules\":[{\"pattern\":{\"a\":[1]}}],\"timespan\":\"1h\",\"condition\":{\"gte\":2}}}",
         "value_count needs \"field\""},
        {"{" META "," PAT ",\"threshold\":{\"timespan\":\"5m\",\"condition\":{\"gte\":5}},\"correlation\":{}}", "either \"threshold\" or \"correlation\""},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *f[] = {"r.json", bad[i].json};
        km_error err;
        km_ruleset *rs = from_texts(f, 2, 0, &err);
        km_test_case(!rs && strstr(err.msg, bad[i].msg) && strstr(err.msg, "r.json"), "JSON case %zu: '%s' lacks '%s'", i,
                     rs ? "(loaded)" : err.msg, bad[i].msg);
        km_ruleset_free(rs);
    }
    /* a loop through two correlations is refused when the program is built */
    const char *loop[] = {
        "a.json", "{\"id\":\"KM-A\",\"title\":\"t\",\"description\":\"d\",\"response\":\"r\",\"severity\":\"high\",\"scenarios\":[\"S6\"],"
                  "\"mitre\":[],\"examples\":{\"match\":[[]],\"no_match\":[[]]},\"correlation\":{\"type\":\"event_count\",\"rules\":[\"KM-B\"],"
                  "\"timespan\":\"1h\",\"condition\":{\"gte\":2}}}",
        "b.json", "{\"id\":\"KM-B\",\"title\":\"t\",\"description\":\"d\",\"response\":\"r\",\"severity\":\"high\",\"scenarios\":[\"S6\"],"
                  "\"mitre\":[],\"examples\":{\"match\":[[]],\"no_match\":[[]]},\"correlation\":{\"type\":\"event_count\",\"rules\":[\"KM-A\"],"
                  "\"timespan\":\"1h\",\"condition\":{\"gte\":2}}}",
    };
    km_error err;
    km_ruleset *rs = from_texts(loop, 4, 0, &err);
    CHECK_MSG(rs, "%s", err.msg);
    km_program *p = km_program_new(rs, NULL, &err);
    CHECK(!p);
    CHECK_CONTAINS(err.msg, "loop");
    km_ruleset_free(rs);
}

/* The specification's example (failed logins followed by a successful one), written for CloudTrail. */
static const char SIGMA_CHAIN[] =
    "title: Many failed console logins then a success\n"
    "id: 0e2b7a32-7d0a-4c1e-9f0a-000000000001\n"
    "level: high\n"
    "correlation:\n"
    "    type: temporal_ordered\n"
    "    rules:\n"
    "        - multiple_failed_login\n"
    "        - successful_login\n"
    "    group-by:\n"
    "        - user\n"
    "    aliases:\n"
    "        user:\n"
    "            multiple_failed_login: userIdentity.userName\n"
    "            successful_login: additionalEventData.LoginTo\n"
    "    timespan: 10m\n"
    "---\n"
    "title: Multiple failed logins\n"
    "name: multiple_failed_login\n"
    "correlation:\n"
    "    type: event_count\n"
    "    rules:\n"
    "        - failed_login\n"
    "    group-by:\n"
    "        - userIdentity.userName\n"
    "    timespan: 10m\n"
    "    condition:\n"
    "        gte: 3\n"
    "---\n"
    "title: Failed login\n"
    "name: failed_login\n"
    "logsource:\n    product: aws\n    service: cloudtrail\n"
    "detection:\n    s:\n        eventName: ConsoleLogin\n        errorMessage: Failed authentication\n    condition: s\n"
    "---\n"
    "title: Successful login\n"
    "name: successful_login\n"
    "logsource:\n    product: aws\n    service: cloudtrail\n"
    "detection:\n    s:\n        eventName: ConsoleLogin\n        responseElements.ConsoleLogin: Success\n    condition: s\n";

#define LOGIN(t, user, ok)                                                                                           \
    "{\"eventTime\":\"" t "\",\"eventName\":\"ConsoleLogin\",\"eventSource\":\"signin.amazonaws.com\",\"userIdentity\":"  \
    "{\"type\":\"IAMUser\",\"userName\":\"" user "\"},\"additionalEventData\":{\"LoginTo\":\"" user "\"}" ok "}"
#define FAIL_ ",\"errorMessage\":\"Failed authentication\",\"responseElements\":{\"ConsoleLogin\":\"Failure\"}"
#define OK_ ",\"responseElements\":{\"ConsoleLogin\":\"Success\"}"

TEST(stateful_sigma_correlation_chain_with_names_and_aliases) {
    const char *files[] = {"chain.yml", SIGMA_CHAIN};
    km_error err;
    km_ruleset *rs = from_texts(files, 2, 0, &err);
    CHECK_MSG(rs, "%s", err.msg);
    const char *id = "0e2b7a32-7d0a-4c1e-9f0a-000000000001";
    const km_rule *r = km_ruleset_find(rs, id);
    CHECK(r);
    CHECK_INT(r->kind, KM_RULE_CORRELATION);
    CHECK_INT(r->severity, KM_SEV_HIGH);
    CHECK(!r->hidden);
    /* the pieces are not reported on their own (generate is false) */
    CHECK(km_ruleset_find(rs, "multiple_failed_login")->hidden);
    CHECK(km_ruleset_find(rs, "failed_login")->hidden);
    CHECK(km_ruleset_find(rs, "successful_login")->hidden);
    CHECK_STR(r->group_fields[1], "additionalEventData.LoginTo");
    CHECK_INT(fires(rs, id, "[" LOGIN("2024-05-01T10:00:00Z", "bob", FAIL_) "," LOGIN("2024-05-01T10:01:00Z", "bob", FAIL_) ","
                            LOGIN("2024-05-01T10:02:00Z", "bob", FAIL_) "," LOGIN("2024-05-01T10:03:00Z", "bob", OK_) "]"), 1);
    /* only two failures */
    CHECK_INT(fires(rs, id, "[" LOGIN("2024-05-01T10:00:00Z", "bob", FAIL_) "," LOGIN("2024-05-01T10:01:00Z", "bob", FAIL_) ","
                            LOGIN("2024-05-01T10:03:00Z", "bob", OK_) "]"), 0);
    /* another user's success */
    CHECK_INT(fires(rs, id, "[" LOGIN("2024-05-01T10:00:00Z", "bob", FAIL_) "," LOGIN("2024-05-01T10:01:00Z", "bob", FAIL_) ","
                            LOGIN("2024-05-01T10:02:00Z", "bob", FAIL_) "," LOGIN("2024-05-01T10:03:00Z", "eve", OK_) "]"), 0);
    /* success before the failures */
    CHECK_INT(fires(rs, id, "[" LOGIN("2024-05-01T09:59:00Z", "bob", OK_) "," LOGIN("2024-05-01T10:00:00Z", "bob", FAIL_) ","
                            LOGIN("2024-05-01T10:01:00Z", "bob", FAIL_) "," LOGIN("2024-05-01T10:02:00Z", "bob", FAIL_) "]"), 0);
    km_ruleset_free(rs);
    /* an unknown reference and a generate: true */
    const char *bad[] = {"c.yml", "title: c\ncorrelation:\n    type: temporal\n    rules: [nowhere]\n    timespan: 5m\n"};
    rs = from_texts(bad, 2, 0, &err);
    CHECK(!rs);
    CHECK_CONTAINS(err.msg, "correlation refers to 'nowhere', which is not loaded");
}

/* A visible rule that matches the same records as a hidden one must not change what the
 * correlation sees (one event is one arrival, whichever alert comes first). */
TEST(stateful_co_matching_visible_rule_does_not_change_sequences) {
    const char *files[] = {
        "visible.json",
        "{\"id\":\"KM-VISIBLE-DELETE\",\"title\":\"t\",\"description\":\"d\",\"response\":\"r\",\"severity\":\"low\",\"scenarios\":[\"S6\"],"
        "\"mitre\":[],\"pattern\":{\"eventName\":[\"DeleteObject\",\"StopLogging\"]},\"examples\":{\"match\":[{\"eventName\":\"DeleteObject\"}],"
        "\"no_match\":[{\"eventName\":\"x\"}]}}",
        "corr.json",
        "{\"id\":\"KM-SEQ\",\"title\":\"t\",\"description\":\"d\",\"response\":\"r\",\"severity\":\"high\",\"scenarios\":[\"S6\"],\"mitre\":[],"
        "\"examples\":{\"match\":[[]],\"no_match\":[[]]},\"correlation\":{\"type\":\"temporal_ordered\",\"rules\":["
        "{\"pattern\":{\"eventName\":[\"StopLogging\"]}},{\"pattern\":{\"eventName\":[\"DeleteObject\"]}}],\"timespan\":\"1h\"}}",
    };
    km_error err;
    km_ruleset *rs = from_texts(files, 4, 0, &err);
    CHECK_MSG(rs, "%s", err.msg);
    CHECK_INT(fires(rs, "KM-SEQ", "[{\"eventTime\":\"2024-05-01T10:00:00Z\",\"eventName\":\"StopLogging\"},"
                                  "{\"eventTime\":\"2024-05-01T10:01:00Z\",\"eventName\":\"DeleteObject\"}]"), 1);
    CHECK_INT(fires(rs, "KM-SEQ", "[{\"eventTime\":\"2024-05-01T10:01:00Z\",\"eventName\":\"DeleteObject\"},"
                                  "{\"eventTime\":\"2024-05-01T10:02:00Z\",\"eventName\":\"StopLogging\"}]"), 0);
    km_ruleset_free(rs);
}

/* Sigma's value_count and temporal, in the specification's YAML: the distinct users of failed logins
 * from one address, and a login plus an access key creation in any order by one user. */
static const char SIGMA_VC_T[] =
    "title: Password spraying from one address\n"
    "id: 0e2b7a32-7d0a-4c1e-9f0a-000000000002\n"
    "level: medium\n"
    "correlation:\n"
    "    type: value_count\n"
    "    rules: [failed]\n"
    "    group-by: [sourceIPAddress]\n"
    "    timespan: 10m\n"
    "    condition:\n"
    "        gte: 3\n"
    "        field: userIdentity.userName\n"
    "---\n"
    "title: Login and a new key, either order\n"
    "id: 0e2b7a32-7d0a-4c1e-9f0a-000000000003\n"
    "level: high\n"
    "correlation:\n"
    "    type: temporal\n"
    "    rules: [login, newkey]\n"
    "    group-by: [userIdentity.userName]\n"
    "    timespan: 30m\n"
    "---\n"
    "title: Failed login\nname: failed\nlogsource:\n    product: aws\n    service: cloudtrail\n"
    "detection:\n    s:\n        eventName: ConsoleLogin\n        errorMessage: Failed authentication\n    condition: s\n"
    "---\n"
    "title: Login\nname: login\nlogsource:\n    product: aws\n    service: cloudtrail\n"
    "detection:\n    s:\n        eventName: ConsoleLogin\n        responseElements.ConsoleLogin: Success\n    condition: s\n"
    "---\n"
    "title: New key\nname: newkey\nlogsource:\n    product: aws\n    service: cloudtrail\n"
    "detection:\n    s:\n        eventName: CreateAccessKey\n    condition: s\n";

#define SPRAY(t, user) "{\"eventTime\":\"" t "\",\"eventName\":\"ConsoleLogin\",\"sourceIPAddress\":\"198.51.100.7\",\"userIdentity\":" \
    "{\"userName\":\"" user "\"},\"errorMessage\":\"Failed authentication\"}"
#define KEY(t, user) "{\"eventTime\":\"" t "\",\"eventName\":\"CreateAccessKey\",\"userIdentity\":{\"userName\":\"" user "\"}}"
#define OKLOGIN(t, user) "{\"eventTime\":\"" t "\",\"eventName\":\"ConsoleLogin\",\"userIdentity\":{\"userName\":\"" user "\"}," \
    "\"responseElements\":{\"ConsoleLogin\":\"Success\"}}"

TEST(stateful_sigma_value_count_and_temporal) {
    const char *files[] = {"vc.yml", SIGMA_VC_T};
    km_error err;
    km_ruleset *rs = from_texts(files, 2, 0, &err);
    CHECK_MSG(rs, "%s", err.msg);
    const char *vc = "0e2b7a32-7d0a-4c1e-9f0a-000000000002", *tp = "0e2b7a32-7d0a-4c1e-9f0a-000000000003";
    CHECK_INT(km_ruleset_find(rs, vc)->kind, KM_RULE_CORRELATION);
    /* three users from the address within 10 minutes */
    CHECK_INT(fires(rs, vc, "[" SPRAY("2024-05-01T10:00:00Z", "a") "," SPRAY("2024-05-01T10:01:00Z", "b") ","
                            SPRAY("2024-05-01T10:02:00Z", "c") "]"), 1);
    /* the same user three times is one value */
    CHECK_INT(fires(rs, vc, "[" SPRAY("2024-05-01T10:00:00Z", "a") "," SPRAY("2024-05-01T10:01:00Z", "a") ","
                            SPRAY("2024-05-01T10:02:00Z", "a") "]"), 0);
    /* three users, but the first 11 minutes before the last */
    CHECK_INT(fires(rs, vc, "[" SPRAY("2024-05-01T10:00:00Z", "a") "," SPRAY("2024-05-01T10:05:00Z", "b") ","
                            SPRAY("2024-05-01T10:11:00Z", "c") "]"), 0);
    /* temporal: either order within 30 minutes, by the same user */
    CHECK_INT(fires(rs, tp, "[" KEY("2024-05-01T10:00:00Z", "bob") "," OKLOGIN("2024-05-01T10:20:00Z", "bob") "]"), 1);
    CHECK_INT(fires(rs, tp, "[" OKLOGIN("2024-05-01T10:00:00Z", "bob") "," KEY("2024-05-01T10:20:00Z", "bob") "]"), 1);
    CHECK_INT(fires(rs, tp, "[" OKLOGIN("2024-05-01T10:00:00Z", "bob") "," KEY("2024-05-01T10:20:00Z", "eve") "]"), 0);
    CHECK_INT(fires(rs, tp, "[" OKLOGIN("2024-05-01T10:00:00Z", "bob") "," KEY("2024-05-01T10:31:00Z", "bob") "]"), 0);
    km_ruleset_free(rs);
}
