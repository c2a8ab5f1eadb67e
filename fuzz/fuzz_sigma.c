/* Fuzz target: the Sigma YAML loader (src/sigma: YAML via libyaml, detection and correlation
 * rules, conditions, modifiers) on one untrusted rule file, then evaluating every detection rule
 * on a fixed set of CloudTrail records. Properties: a rule's prefilter patterns are necessary
 * conditions (a record the rule matches matches one of them), and when the loader calls them
 * exact they are the rule (same answer as the evaluator) on these records, whose fields have
 * CloudTrail's documented types. */
#include "fuzz.h"
#include "kumomori/buf.h"
#include "kumomori/json.h"
#include "kumomori/match.h"
#include "kumomori/sigma.h"

#include <stdlib.h>
#include <string.h>

static const char *const records[] = {
    "{\"eventVersion\":\"1.08\",\"userIdentity\":{\"type\":\"IAMUser\",\"principalId\":\"AIDA1\","
    "\"arn\":\"arn:aws:iam::111122223333:user/alice\",\"accountId\":\"111122223333\",\"userName\":\"alice\"},"
    "\"eventTime\":\"2025-03-10T01:02:03Z\",\"eventSource\":\"s3.amazonaws.com\",\"eventName\":\"DeleteBucket\","
    "\"awsRegion\":\"us-east-1\",\"sourceIPAddress\":\"203.0.113.9\",\"userAgent\":\"aws-cli/2.15\","
    "\"requestParameters\":{\"bucketName\":\"backups\",\"Host\":\"backups.s3.amazonaws.com\"},"
    "\"responseElements\":null,\"eventType\":\"AwsApiCall\",\"readOnly\":false,\"recipientAccountId\":\"111122223333\"}",
    "{\"eventVersion\":\"1.08\",\"userIdentity\":{\"type\":\"Root\",\"arn\":\"arn:aws:iam::111122223333:root\"},"
    "\"eventTime\":\"2025-03-10T01:02:04Z\",\"eventSource\":\"signin.amazonaws.com\",\"eventName\":\"ConsoleLogin\","
    "\"awsRegion\":\"us-east-1\",\"sourceIPAddress\":\"198.51.100.1\",\"userAgent\":\"Mozilla/5.0\","
    "\"requestParameters\":null,\"responseElements\":{\"ConsoleLogin\":\"Failure\"},"
    "\"additionalEventData\":{\"MFAUsed\":\"No\"},\"errorMessage\":\"Failed authentication\",\"eventType\":\"AwsConsoleSignIn\"}",
    "{\"eventVersion\":\"1.08\",\"userIdentity\":{\"type\":\"AssumedRole\",\"arn\":\"arn:aws:sts::1:assumed-role/R/s\","
    "\"sessionContext\":{\"sessionIssuer\":{\"userName\":\"R\"},\"attributes\":{\"mfaAuthenticated\":\"false\"}}},"
    "\"eventTime\":\"2025-03-10T01:02:05Z\",\"eventSource\":\"cloudtrail.amazonaws.com\",\"eventName\":\"StopLogging\","
    "\"awsRegion\":\"eu-west-1\",\"sourceIPAddress\":\"10.0.0.5\",\"userAgent\":\"Boto3/1.26\","
    "\"requestParameters\":{\"name\":\"trail\"},\"errorCode\":\"AccessDenied\",\"eventType\":\"AwsApiCall\"}",
    "{\"eventSource\":\"kms.amazonaws.com\",\"eventName\":\"ScheduleKeyDeletion\",\"awsRegion\":\"ap-northeast-1\","
    "\"userIdentity\":{\"type\":\"IAMUser\",\"userName\":\"Mallory\"},\"sourceIPAddress\":\"kms.amazonaws.com\","
    "\"requestParameters\":{\"keyId\":\"k\",\"pendingWindowInDays\":7},\"resources\":[{\"ARN\":\"arn:aws:kms:ap-northeast-1:1:key/k\","
    "\"type\":\"AWS::KMS::Key\"}],\"eventTime\":\"2025-03-10T01:02:06Z\"}",
};
#define NREC (sizeof records / sizeof records[0])

static km_json_doc *docs[NREC];
static km_match_scratch *scratch;
static km_sigma_scratch *sscratch;

static void cleanup(void) {
    for (size_t i = 0; i < NREC; i++) km_json_doc_free(docs[i]);
    km_match_scratch_free(scratch);
    km_sigma_scratch_free(sscratch);
}

static void setup(void) {
    if (scratch) return;
    for (size_t i = 0; i < NREC; i++) {
        docs[i] = km_json_parse(records[i], strlen(records[i]), NULL, NULL, NULL);
        if (!docs[i]) abort();
    }
    scratch = km_match_scratch_new();
    sscratch = km_sigma_scratch_new();
    if (!scratch || !sscratch) abort();
    atexit(cleanup);
}

KM_FUZZ_TARGET(sigma) {
    setup();
    km_sigma_set *s = km_sigma_set_new();
    if (!s) return 0;
    static const char *const ph[] = {"x*", "?y"};
    km_sigma_set_placeholder(s, "placeholder", ph, 2, NULL);
    km_error err;
    if (km_sigma_set_add_text(s, "fuzz.yml", (const char *)data, size, &err) != KM_OK)
        KM_FUZZ_CHECK("sigma", km_sigma_error_count(s) > 0, "failed load kept no error");
    km_sigma_set_finish(s, &err);
    for (size_t i = 0; i < km_sigma_error_count(s); i++) (void)strlen(km_sigma_error(s, i));
    for (size_t i = 0; i < km_sigma_warning_count(s); i++) (void)strlen(km_sigma_warning(s, i));
    km_buf text = KM_BUF_INIT;
    for (size_t i = 0; i < km_sigma_count(s) && i < 64; i++) {
        const km_sigma_info *info = km_sigma_get(s, i);
        if (info->kind == KM_SIGMA_CORRELATION) {
            for (size_t j = 0; j < info->ncorr_rules; j++)
                for (size_t g = 0; g < info->ngroup_by; g++) {
                    const char *f = km_sigma_group_field(s, i, j, g);
                    for (size_t r = 0; f && r < NREC; r++) km_sigma_field_text(km_json_root(docs[r]), f, &text);
                }
            continue;
        }
        const char *const *pats = NULL;
        size_t np = km_sigma_prefilter(s, i, &pats);
        int exact = km_sigma_prefilter_exact(s, i);
        km_matcher *m = NULL;
        if (np) {
            m = km_matcher_new();
            for (size_t j = 0; m && j < np; j++) {
                int rc = km_matcher_add_flags(m, (uint32_t)j, pats[j], strlen(pats[j]), KM_PATTERN_KM_OPS, &err);
                KM_FUZZ_CHECK("sigma", rc == KM_OK, "prefilter pattern %zu of rule %zu refused: %s (%s)", j, i,
                              err.msg, pats[j]);
            }
        }
        for (size_t r = 0; r < NREC; r++) {
            int got = km_sigma_eval(s, i, km_json_root(docs[r]), sscratch);
            KM_FUZZ_CHECK("sigma", got == 0 || got == 1, "eval of detection rule %zu gave %d", i, got);
            if (!m) continue;
            const uint32_t *ids;
            int n = km_matcher_match(m, scratch, records[r], strlen(records[r]), &ids, NULL);
            KM_FUZZ_CHECK("sigma", !(got == 1 && n <= 0), "rule %zu matches record %zu but no prefilter does", i, r);
            if (exact)
                KM_FUZZ_CHECK("sigma", got == (n > 0), "rule %zu: exact prefilter %d, evaluator %d on record %zu", i,
                              n > 0, got, r);
        }
        km_matcher_free(m);
    }
    km_buf_free(&text);
    km_sigma_set_free(s);
    return 0;
}
