/* Fuzz target: the IAM policy parser (src/iam, km_iam_policy_parse_document: the document or the
 * AWS CLI output carrying it, URL-encoded or as a string) and the evaluator, on one untrusted
 * policy. The first byte picks the policy kind and the evaluation mode. The policy is put where
 * its kind goes next to an allow-all identity policy, and a fixed set of requests (with and
 * without condition keys) is decided. Properties: a decision is one of the three; the
 * explanation's JSON is valid JSON naming the same decision. */
#include "fuzz.h"
#include "kumomori/iam.h"
#include "kumomori/json.h"

#include <stdlib.h>
#include <string.h>

static km_iam_policy *allow_all;
static km_iam_context *ctx;
static km_iam_explain *ex;

static void cleanup(void) {
    km_iam_policy_free(allow_all);
    km_iam_context_free(ctx);
    km_iam_explain_free(ex);
}

static void setup(void) {
    if (allow_all) return;
    static const char doc[] = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}";
    allow_all = km_iam_policy_parse(doc, strlen(doc), KM_IAM_IDENTITY, "allow-all", NULL);
    ctx = km_iam_context_new();
    ex = km_iam_explain_new();
    if (!allow_all || !ctx || !ex) abort();
    km_iam_context_set(ctx, "aws:MultiFactorAuthPresent", "false");
    km_iam_context_set(ctx, "aws:SourceIp", "203.0.113.7");
    km_iam_context_set(ctx, "aws:PrincipalArn", "arn:aws:iam::111122223333:user/alice");
    km_iam_context_set(ctx, "aws:CurrentTime", "2025-03-10T01:02:03Z");
    km_iam_context_set(ctx, "aws:username", "alice");
    static const char *const tags[] = {"team", "Env"};
    km_iam_context_set_multi(ctx, "aws:TagKeys", tags, 2);
    km_iam_context_set(ctx, "s3:x-amz-server-side-encryption", "aws:kms");
    atexit(cleanup);
}

static const km_iam_request reqs[] = {
    {"arn:aws:iam::111122223333:user/alice", "s3:DeleteObject", "arn:aws:s3:::backups/k", NULL, NULL},
    {"arn:aws:iam::111122223333:user/alice", "s3:PutObject", "arn:aws:s3:::backups/a/b", NULL, NULL},
    {"arn:aws:sts::444455556666:assumed-role/R/s", "kms:ScheduleKeyDeletion",
     "arn:aws:kms:us-east-1:111122223333:key/k", "111122223333", NULL},
    {NULL, "s3:GetObject", "arn:aws:s3:::public/x", NULL, NULL},
    {"ec2.amazonaws.com", "sts:AssumeRole", "arn:aws:iam::111122223333:role/R", NULL, NULL},
    {"arn:aws:iam::111122223333:root", "iam:CreateAccessKey", "*", NULL, NULL},
    {"arn:aws:iam::111122223333:user/alice", "ec2:TerminateInstances", "arn:aws:ec2:us-east-1:111122223333:instance/*",
     NULL, NULL},
};

KM_FUZZ_TARGET(iam) {
    setup();
    km_fuzz_in in = {data, size};
    uint8_t flags = km_fuzz_byte(&in);
    km_iam_policy_kind kind = (km_iam_policy_kind)(flags % KM_IAM_KIND_COUNT);
    km_error err;
    km_iam_policy *p = km_iam_policy_parse_document((const char *)in.p, in.n, kind, "fuzz", &err);
    if (!p) {
        KM_FUZZ_CHECK("iam", err.msg[0] != 0, "parse failed without a message");
        return 0;
    }
    for (size_t i = 0; i < km_iam_policy_warning_count(p); i++) (void)strlen(km_iam_policy_warning(p, i));
    const km_iam_policy *one[1] = {p};
    const km_iam_policy *ident[2] = {allow_all, p};
    km_iam_level level = {"r-root", one, 1};
    km_iam_input input;
    memset(&input, 0, sizeof input);
    input.identity = ident;
    input.n_identity = 1;
    switch (kind) {
    case KM_IAM_IDENTITY: input.n_identity = 2; break;
    case KM_IAM_RESOURCE: case KM_IAM_TRUST: case KM_IAM_KEY: input.resource = p; break;
    case KM_IAM_SCP: input.scp = &level; input.n_scp = 1; break;
    case KM_IAM_RCP: input.rcp = &level; input.n_rcp = 1; break;
    case KM_IAM_BOUNDARY: input.boundary = one; input.n_boundary = 1; break;
    case KM_IAM_SESSION: input.session = p; break;
    case KM_IAM_ENDPOINT: input.endpoint = one; input.n_endpoint = 1; break;
    default: break;
    }
    km_iam_options opt;
    memset(&opt, 0, sizeof opt);
    opt.mode = (flags & 0x10) ? KM_IAM_DISCOVERY : KM_IAM_STRICT;
    opt.expand_wildcards = (flags & 0x20) != 0;
    opt.no_default_rcp = (flags & 0x40) != 0;
    km_buf out = KM_BUF_INIT;
    for (size_t r = 0; r < sizeof reqs / sizeof reqs[0]; r++) {
        km_iam_request req = reqs[r];
        if (flags & 0x80) req.context = ctx;
        int d = km_iam_evaluate(&input, &req, &opt, (r & 1) ? ex : NULL, &err);
        KM_FUZZ_CHECK("iam", d >= KM_IAM_IMPLICIT_DENY && d <= KM_IAM_EXPLICIT_DENY, "request %zu: decision %d (%s)", r, d,
                      d < 0 ? err.msg : "");
        if (!(r & 1) || d < 0) continue;
        KM_FUZZ_CHECK("iam", (int)km_iam_explain_decision(ex) == d, "explanation's decision differs");
        km_buf_reset(&out);
        km_iam_explain_text(ex, &out);
        km_buf_reset(&out);
        if (km_iam_explain_json(ex, &out) == 0) {
            km_json_doc *doc = km_json_parse(out.data, out.len, NULL, NULL, &err);
            KM_FUZZ_CHECK("iam", doc != NULL, "explanation JSON does not parse: %s", err.msg);
            if (doc)
                KM_FUZZ_CHECK("iam", !strcmp(km_json_get_str(km_json_root(doc), "decision", ""), km_iam_decision_name(d)),
                              "explanation JSON names another decision");
            km_json_doc_free(doc);
        }
        for (size_t i = 0; i < km_iam_explain_applied_count(ex); i++) {
            km_iam_statement_ref ref;
            km_iam_explain_applied(ex, i, &ref);
        }
    }
    km_buf_free(&out);
    km_iam_policy_free(p);
    return 0;
}
