#include "audit/s3facts.h"
#include "audit/policy.h"

#include <stdio.h>
#include <string.h>

/* One datum: collect's per-bucket answer, or AWS Config's supplementary configuration. */
static km_data_status fact(km_audit *a, const km_res *b, const char *op, const char *supp, const km_json **v,
                           km_item *it) {
    *v = NULL;
    if (b->from_config) {
        memset(it, 0, sizeof *it);
        it->file = b->file;
        const km_json *s = km_supp(a, b, supp);
        if (!s) {
            it->status = KM_DATA_MISSING;
            it->message = "the AWS Config snapshot does not record it for this bucket";
            return it->status;
        }
        it->status = KM_DATA_OK;
        it->json = s;
        *v = s;
        return KM_DATA_OK;
    }
    *it = km_rget(a, b, "s3api", op);
    if (it->status == KM_DATA_OK) *v = it->json;
    return it->status;
}

km_data_status km_s3_versioning_get(km_audit *a, const km_res *b, km_s3_versioning *out, km_item *it) {
    const km_json *v;
    memset(out, 0, sizeof *out);
    km_data_status st = fact(a, b, "get-bucket-versioning", "BucketVersioningConfiguration", &v, it);
    if (st != KM_DATA_OK) return st;
    const char *s = km_ci_str(v, "Status");
    out->enabled = s && km_streq_ci(s, "Enabled");
    out->suspended = s && km_streq_ci(s, "Suspended");
    const km_json *m = km_ci_get(v, "MFADelete");
    if (!m) m = km_ci_get(v, "isMfaDeleteEnabled");
    out->mfa_delete = km_json_truth(m) == 1;
    return KM_DATA_OK;
}

static void read_pab(const km_json *v, km_s3_pab *out) {
    const km_json *c = km_ci_get(v, "PublicAccessBlockConfiguration");
    if (!c) c = v;
    out->block_acls = km_json_truth(km_ci_get(c, "BlockPublicAcls"));
    out->ignore_acls = km_json_truth(km_ci_get(c, "IgnorePublicAcls"));
    out->block_policy = km_json_truth(km_ci_get(c, "BlockPublicPolicy"));
    out->restrict_buckets = km_json_truth(km_ci_get(c, "RestrictPublicBuckets"));
}

km_data_status km_s3_pab_get(km_audit *a, const km_res *b, km_s3_pab *out, km_item *it) {
    const km_json *v;
    memset(out, 0, sizeof *out);
    km_data_status st = fact(a, b, "get-public-access-block", "PublicAccessBlockConfiguration", &v, it);
    if (st == KM_DATA_OK) read_pab(v, out);
    return st;
}

km_data_status km_s3_account_pab_get(km_audit *a, const char *account, km_s3_pab *out, km_item *it) {
    memset(out, 0, sizeof *out);
    *it = km_get(a, account, "global", "s3control", "get-public-access-block", NULL);
    if (it->status == KM_DATA_OK) read_pab(it->json, out);
    return it->status;
}

km_data_status km_s3_policy_get(km_audit *a, const km_res *b, const km_json **doc, km_item *it) {
    const km_json *v;
    *doc = NULL;
    km_data_status st = fact(a, b, "get-bucket-policy", "BucketPolicy", &v, it);
    if (st != KM_DATA_OK) return st;
    const km_json *text = km_ci_get(v, "Policy");
    if (!text) text = km_ci_get(v, "policyText");
    if (!text || text->type == KM_JSON_NULL) {
        it->status = KM_DATA_ABSENT;
        it->code = "no bucket policy";
        return KM_DATA_ABSENT;
    }
    const char *why = NULL;
    *doc = km_snap_embedded(a->snap, text, &why);
    if (!*doc) {
        it->status = KM_DATA_ERROR;
        it->message = why ? why : "the policy is not JSON";
        return KM_DATA_ERROR;
    }
    return KM_DATA_OK;
}

km_data_status km_s3_acl_public(km_audit *a, const km_res *b, int *pub, km_item *it) {
    const km_json *v;
    *pub = 0;
    km_data_status st = fact(a, b, "get-bucket-acl", "AccessControlList", &v, it);
    if (st != KM_DATA_OK) return st;
    const km_json *grants = km_ci_get(v, "Grants");
    if (!grants) grants = km_ci_get(v, "grantList");
    for (size_t i = 0; i < km_json_len(grants); i++) {
        const km_json *g = km_ci_get(km_json_at(grants, i), "Grantee");
        const char *uri = g && g->type == KM_JSON_STRING ? g->u.str.s : km_ci_str(g, "URI");
        if (uri && (strstr(uri, "AllUsers") || strstr(uri, "AuthenticatedUsers"))) *pub = 1;
    }
    return KM_DATA_OK;
}

km_data_status km_s3_encryption_get(km_audit *a, const km_res *b, const char **alg, km_item *it) {
    const km_json *v;
    *alg = NULL;
    km_data_status st = fact(a, b, "get-bucket-encryption", "ServerSideEncryptionConfiguration", &v, it);
    if (st != KM_DATA_OK) return st;
    const km_json *c = km_ci_get(v, "ServerSideEncryptionConfiguration");
    if (!c) c = v;
    const km_json *rules = km_ci_get(c, "Rules");
    for (size_t i = 0; i < km_json_len(rules) && !*alg; i++) {
        const km_json *d = km_ci_get(km_json_at(rules, i), "ApplyServerSideEncryptionByDefault");
        *alg = km_ci_str(d, "SSEAlgorithm");
    }
    if (!*alg) {
        it->status = KM_DATA_ABSENT;
        it->code = "no default encryption rule";
        return KM_DATA_ABSENT;
    }
    return KM_DATA_OK;
}

km_data_status km_s3_logging_get(km_audit *a, const km_res *b, const char **target, km_item *it) {
    const km_json *v;
    *target = NULL;
    km_data_status st = fact(a, b, "get-bucket-logging", "BucketLoggingConfiguration", &v, it);
    if (st != KM_DATA_OK) return st;
    *target = km_ci_str(km_ci_get(v, "LoggingEnabled"), "TargetBucket");
    if (!*target) *target = km_ci_str(v, "destinationBucketName");
    if (!*target) {
        it->status = KM_DATA_ABSENT;
        it->code = "logging off";
        return KM_DATA_ABSENT;
    }
    return KM_DATA_OK;
}

km_data_status km_s3_replication_get(km_audit *a, const km_res *b, const km_json **rules, const km_json **rules_cfg,
                                     km_item *it) {
    const km_json *v;
    *rules = *rules_cfg = NULL;
    km_data_status st = fact(a, b, "get-bucket-replication", "BucketReplicationConfiguration", &v, it);
    if (st != KM_DATA_OK) return st;
    if (b->from_config) {
        *rules_cfg = km_ci_get(v, "rules");
        if (!*rules_cfg || km_json_len(*rules_cfg) == 0) {
            it->status = KM_DATA_ABSENT;
            return KM_DATA_ABSENT;
        }
        return KM_DATA_OK;
    }
    const km_json *c = km_ci_get(v, "ReplicationConfiguration");
    *rules = km_ci_get(c ? c : v, "Rules");
    if (!*rules || km_json_len(*rules) == 0) {
        it->status = KM_DATA_ABSENT;
        return KM_DATA_ABSENT;
    }
    return KM_DATA_OK;
}

km_data_status km_s3_object_lock_get(km_audit *a, const km_res *b, int *enabled, const char **mode, km_item *it) {
    const km_json *v;
    *enabled = 0;
    *mode = NULL;
    km_data_status st = fact(a, b, "get-object-lock-configuration", "BucketObjectLockConfiguration", &v, it);
    if (st != KM_DATA_OK) return st;
    const km_json *c = km_ci_get(v, "ObjectLockConfiguration");
    if (!c) c = v;
    *enabled = km_json_truth(km_ci_get(c, "ObjectLockEnabled")) == 1;
    *mode = km_ci_str(km_ci_path(c, "Rule.DefaultRetention"), "Mode");
    return KM_DATA_OK;
}

int km_s3_policy_public(const km_json *doc) {
    for (size_t i = 0; i < km_pol_nstmts(doc); i++) {
        const km_json *st = km_pol_stmt(doc, i);
        if (km_stmt_allow(st) && km_stmt_public_principal(st) && !km_stmt_limiting_condition(st)) return 1;
    }
    return 0;
}

int km_s3_pab_blocks_policy(const km_s3_pab *bucket, int bucket_ok, const km_s3_pab *acct, int acct_ok) {
    return (bucket_ok && bucket->restrict_buckets == 1) || (acct_ok && acct->restrict_buckets == 1);
}

int km_s3_pab_blocks_acl(const km_s3_pab *bucket, int bucket_ok, const km_s3_pab *acct, int acct_ok) {
    return (bucket_ok && bucket->ignore_acls == 1) || (acct_ok && acct->ignore_acls == 1);
}

const km_res *km_s3_bucket(km_audit *a, const char *name) {
    char arn[1100];
    if (!name) return NULL;
    snprintf(arn, sizeof arn, "arn:aws:s3:::%s", name);
    return km_snap_find_arn(a->snap, arn);
}
