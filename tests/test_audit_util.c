/* Audit helpers: EventBridge pattern evaluation, globs, percent-encoding, base64, regions. */
#include "test.h"
#include "audit/evpattern.h"
#include "audit/util.h"

#include <stdlib.h>
#include <string.h>

static int match(const char *pattern, const char *event) {
    km_error e;
    km_json_doc *p = km_json_parse(pattern, strlen(pattern), NULL, NULL, &e);
    km_json_doc *v = km_json_parse(event, strlen(event), NULL, NULL, &e);
    int r = p && v ? km_evpattern_match(km_json_root(p), km_json_root(v), NULL, 0) : -1;
    km_json_doc_free(p);
    km_json_doc_free(v);
    return r;
}

#define IAM_EVENT(name) "{\"source\":\"aws.iam\",\"detail-type\":\"AWS API Call via CloudTrail\",\"detail\":{\"eventSource\":\"iam.amazonaws.com\",\"eventName\":\"" name "\",\"userIdentity\":{\"type\":\"IAMUser\"}}}"

TEST(audit_evpattern_semantics) {
    /* the strategy's pattern as written: source aws.cloudtrail never carries IAM API calls */
    const char *strategy = "{\"source\":[\"aws.cloudtrail\"],\"detail-type\":[\"AWS API Call via CloudTrail\"],"
                           "\"detail\":{\"eventSource\":[\"iam.amazonaws.com\"],\"eventName\":[\"DeleteUserPolicy\",\"PutUserPolicy\"]}}";
    CHECK_INT(match(strategy, IAM_EVENT("PutUserPolicy")), 0);
    const char *fixed = "{\"source\":[\"aws.iam\"],\"detail\":{\"eventName\":[\"DeleteUserPolicy\",\"PutUserPolicy\"]}}";
    CHECK_INT(match(fixed, IAM_EVENT("PutUserPolicy")), 1);
    CHECK_INT(match(fixed, IAM_EVENT("AttachUserPolicy")), 0);
    CHECK_INT(match("{\"detail\":{\"eventName\":[{\"prefix\":\"Attach\"}]}}", IAM_EVENT("AttachRolePolicy")), 1);
    CHECK_INT(match("{\"detail\":{\"eventName\":[{\"suffix\":\"Policy\"}]}}", IAM_EVENT("AttachRolePolicy")), 1);
    CHECK_INT(match("{\"detail\":{\"eventName\":[{\"anything-but\":[\"PutUserPolicy\"]}]}}", IAM_EVENT("PutUserPolicy")), 0);
    CHECK_INT(match("{\"detail\":{\"eventName\":[{\"anything-but\":{\"prefix\":\"Get\"}}]}}", IAM_EVENT("PutUserPolicy")), 1);
    CHECK_INT(match("{\"detail\":{\"eventName\":[{\"equals-ignore-case\":\"putuserpolicy\"}]}}", IAM_EVENT("PutUserPolicy")), 1);
    CHECK_INT(match("{\"detail\":{\"eventName\":[{\"wildcard\":\"*User*\"}]}}", IAM_EVENT("PutUserPolicy")), 1);
    CHECK_INT(match("{\"detail\":{\"errorCode\":[{\"exists\":false}]}}", IAM_EVENT("PutUserPolicy")), 1);
    CHECK_INT(match("{\"detail\":{\"errorCode\":[{\"exists\":true}]}}", IAM_EVENT("PutUserPolicy")), 0);
    CHECK_INT(match("{\"detail\":{\"userIdentity\":{\"type\":[\"Root\"]}}}", IAM_EVENT("PutUserPolicy")), 0);
    CHECK_INT(match("{\"$or\":[{\"source\":[\"aws.s3\"]},{\"detail\":{\"eventName\":[\"PutUserPolicy\"]}}]}", IAM_EVENT("PutUserPolicy")), 1);
    CHECK_INT(match("{\"detail\":{\"eventName\":[{\"numeric\":[\">\",0]}]}}", IAM_EVENT("PutUserPolicy")), 0);
    char why[64];
    km_error e;
    km_json_doc *p = km_json_parse(strategy, strlen(strategy), NULL, NULL, &e);
    km_json_doc *v = km_json_parse(IAM_EVENT("PutUserPolicy"), strlen(IAM_EVENT("PutUserPolicy")), NULL, NULL, &e);
    CHECK_INT(km_evpattern_match(km_json_root(p), km_json_root(v), why, sizeof why), 0);
    CHECK_STR(why, "source");
    km_json_doc_free(p);
    km_json_doc_free(v);
}

TEST(audit_util_strings) {
    CHECK(km_glob("arn:aws:rds:*:*:db:*", "arn:aws:rds:ap-northeast-1:111122223333:db:orders"));
    CHECK(!km_glob("arn:aws:rds:*:*:cluster:*", "arn:aws:rds:ap-northeast-1:111122223333:db:orders"));
    CHECK(km_glob_ci("kma-s3-*", "KMA-S3-VERSIONING"));
    CHECK(km_glob("a?c", "abc") && !km_glob("a?c", "ac"));
    char out[128];
    km_pct_encode("arn:aws:logs:us-east-1:1:log-group:/a b", out, sizeof out);
    CHECK_STR(out, "arn%3Aaws%3Alogs%3Aus-east-1%3A1%3Alog-group%3A%2Fa%20b");
    km_pct_encode(".hidden", out, sizeof out);
    CHECK_STR(out, "%2Ehidden");
    char dec[128];
    const char *enc = "arn%3Aaws%3As3%3A%3A%3Ab";
    km_pct_decode(enc, strlen(enc), dec, 0);
    CHECK_STR(dec, "arn:aws:s3:::b");
    km_pct_decode("100%", 4, dec, 0);
    CHECK_STR(dec, "100%");
    size_t n;
    char *b = km_base64_decode("dXNlcixhcm4K", 12, &n);
    CHECK(b);
    CHECK_STR(b, "user,arn\n");
    free(b);
    CHECK(km_base64_decode("not base64!", 11, &n) == NULL);
    CHECK(km_is_region("ap-northeast-3") && km_is_region("us-gov-west-1") && !km_is_region("global") && !km_is_region("us-east"));
    CHECK(km_is_account_id("111122223333") && !km_is_account_id("11112222333") && !km_is_account_id("11112222333x"));
    km_arn_field("arn:aws:logs:us-east-1:222233334444:log-group:org-trail:*", 6, out, sizeof out);
    CHECK_STR(out, "org-trail");
}

TEST(audit_util_join_is_bounded) {
    char b[17] = "";
    CHECK_INT(km_join(b, sizeof b, ", ", "alpha"), 0);
    CHECK_INT(km_join(b, sizeof b, ", ", "beta"), 0);
    CHECK_STR(b, "alpha, beta");
    CHECK_INT(km_join(b, sizeof b, ", ", "gamma"), -1); /* 11 + 7 > 16 */
    CHECK_STR(b, "alpha, beta, ...");
    CHECK_INT(km_join(b, sizeof b, ", ", "d"), -1);      /* marked once only */
    CHECK_STR(b, "alpha, beta, ...");
    char c[4] = "";
    CHECK_INT(km_join(c, sizeof c, "+", "toolong"), -1);
    CHECK_STR(c, "...");
}
