/* S3: account and bucket Block Public Access, versioning, default encryption, replication to
 * another region, Object Lock on the buckets that keep logs. */
#include "audit/check.h"
#include "audit/s3facts.h"
#include "audit/hmap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void pab_missing(const km_s3_pab *p, char *buf, size_t n) {
    buf[0] = 0;
    const char *names[4] = {"BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"};
    int vals[4] = {p->block_acls, p->ignore_acls, p->block_policy, p->restrict_buckets};
    for (int i = 0; i < 4; i++)
        if (vals[i] != 1) km_join(buf, n, ", ", names[i]);
}

static void chk_account_pab(km_audit *a) {
    for (size_t i = 0; i < km_naccounts(a); i++) {
        const char *acct = km_account(a, i);
        km_begin(a, NULL);
        km_s3_pab p;
        km_item it;
        km_data_status st = km_s3_account_pab_get(a, acct, &p, &it);
        if (km_unknown_acct(a, acct, NULL, &it, "s3control get-public-access-block")) continue;
        if (st == KM_DATA_ABSENT) {
            km_emit_acct(a, acct, NULL, KM_FAIL, "no account-level S3 Block Public Access (%s)", it.code);
            continue;
        }
        char miss[128];
        pab_missing(&p, miss, sizeof miss);
        if (miss[0]) km_emit_acct(a, acct, NULL, KM_FAIL, "account-level Block Public Access has %s off", miss);
        else km_emit_acct(a, acct, NULL, KM_PASS, "all four account-level Block Public Access settings are on");
    }
}

static void chk_bucket_public(km_audit *a) {
    size_t n;
    const km_res *const *v = km_all(a, "AWS::S3::Bucket", &n);
    for (size_t i = 0; i < n; i++) {
        const km_res *b = v[i];
        if (km_begin(a, b)) continue;
        km_s3_pab bp, ap;
        km_item bit, ait;
        km_data_status bs = km_s3_pab_get(a, b, &bp, &bit);
        km_data_status as = km_s3_account_pab_get(a, b->account, &ap, &ait);
        int bok = bs == KM_DATA_OK, aok = as == KM_DATA_OK;
        int block_pol = km_s3_pab_blocks_policy(&bp, bok, &ap, aok);
        int block_acl = km_s3_pab_blocks_acl(&bp, bok, &ap, aok);
        if (block_pol && block_acl) {
            km_emit(a, b, KM_PASS, "Block Public Access (%s) stops public policies and ACLs",
                    (bok && bp.restrict_buckets == 1 && bp.ignore_acls == 1) ? "bucket" : "account");
            continue;
        }
        const km_json *doc;
        km_item pit, acl_it;
        int pub_acl = 0;
        km_data_status ps = km_s3_policy_get(a, b, &doc, &pit);
        km_data_status cs = km_s3_acl_public(a, b, &pub_acl, &acl_it);
        int pub_pol = ps == KM_DATA_OK && km_s3_policy_public(doc);
        if (pub_pol && !block_pol) {
            km_emit(a, b, KM_FAIL, "the bucket policy allows anyone (Principal \"*\") without a limiting condition");
            continue;
        }
        if (pub_acl && !block_acl) {
            km_emit(a, b, KM_FAIL, "the bucket ACL grants access to AllUsers or AuthenticatedUsers");
            continue;
        }
        if (!block_pol && km_unknown_res(a, b, &pit, "s3api get-bucket-policy")) continue;
        if (!block_acl && km_unknown_res(a, b, &acl_it, "s3api get-bucket-acl")) continue;
        (void)cs;
        km_emit(a, b, KM_PASS, "neither the bucket policy nor the ACL grants public access");
    }
}

static void chk_versioning(km_audit *a) {
    size_t n;
    const km_res *const *v = km_all(a, "AWS::S3::Bucket", &n);
    for (size_t i = 0; i < n; i++) {
        const km_res *b = v[i];
        if (km_begin(a, b)) continue;
        km_s3_versioning ver;
        km_item it;
        km_s3_versioning_get(a, b, &ver, &it);
        if (km_unknown_res(a, b, &it, "s3api get-bucket-versioning")) continue;
        if (ver.enabled) km_emit(a, b, KM_PASS, "versioning is enabled");
        else km_emit(a, b, KM_FAIL, "versioning is %s: an overwrite or delete destroys the only copy",
                     ver.suspended ? "suspended" : "not enabled");
    }
}

static void chk_encryption(km_audit *a) {
    size_t n;
    const km_res *const *v = km_all(a, "AWS::S3::Bucket", &n);
    for (size_t i = 0; i < n; i++) {
        const km_res *b = v[i];
        if (km_begin(a, b)) continue;
        const char *alg;
        km_item it;
        km_data_status st = km_s3_encryption_get(a, b, &alg, &it);
        if (km_unknown_res(a, b, &it, "s3api get-bucket-encryption")) continue;
        if (st == KM_DATA_OK) km_emit(a, b, KM_PASS, "default encryption %s", alg);
        else km_emit(a, b, KM_FAIL, "no default encryption configured (%s)", it.code ? it.code : "none");
    }
}

static const char *bucket_region_of_arn(km_audit *a, const char *arn, const km_res **dest) {
    *dest = km_snap_find_arn(a->snap, arn);
    if (*dest && strcmp((*dest)->region, "global")) return (*dest)->region;
    return NULL;
}

static void chk_crr(km_audit *a) {
    size_t n;
    const km_res *const *v = km_all(a, "AWS::S3::Bucket", &n);
    for (size_t i = 0; i < n; i++) {
        const km_res *b = v[i];
        if (km_begin(a, b)) continue;
        const km_json *rules, *rcfg;
        km_item it;
        km_data_status st = km_s3_replication_get(a, b, &rules, &rcfg, &it);
        if (km_unknown_res(a, b, &it, "s3api get-bucket-replication")) continue;
        if (st == KM_DATA_ABSENT) {
            km_emit(a, b, KM_FAIL, "no replication configuration (%s)", it.code ? it.code : "none");
            continue;
        }
        int pass = 0, unknown = 0;
        char where[512] = "";
        const km_json *list = rules ? rules : rcfg;
        for (size_t k = 0; k < km_json_len(list) && !pass; k++) {
            const km_json *r = rules ? km_json_at(list, k) : list->u.obj.members[k].value;
            const char *status = km_ci_str(r, "Status");
            if (status && !km_streq_ci(status, "Enabled")) continue;
            const char *dbucket = km_ci_str(km_ci_get(r, "Destination"), "Bucket");
            if (!dbucket) dbucket = km_ci_str(km_ci_get(r, "destinationConfig"), "bucketARN");
            const char *dacct = km_ci_str(km_ci_get(r, "Destination"), "Account");
            if (!dbucket) continue;
            const km_res *dest;
            const char *dreg = bucket_region_of_arn(a, dbucket, &dest);
            if (dest) km_ev(a, dest->file);
            if (dreg && strcmp(b->region, "global") && strcmp(dreg, b->region)) {
                pass = 1;
                snprintf(where, sizeof where, "%s in %s", dbucket, dreg);
            } else if (dacct && strcmp(dacct, b->account)) {
                pass = 1;
                snprintf(where, sizeof where, "%s in account %s", dbucket, dacct);
            } else if (dest && dest->account && strcmp(dest->account, b->account)) {
                pass = 1;
                snprintf(where, sizeof where, "%s in account %s", dbucket, dest->account);
            } else if (!dreg || !strcmp(b->region, "global")) {
                unknown = 1;
                snprintf(where, sizeof where, "%s", dbucket);
            } else {
                snprintf(where, sizeof where, "%s in the same region %s", dbucket, dreg);
            }
        }
        if (pass) km_emit(a, b, KM_PASS, "replicates to %s", where);
        else if (unknown)
            km_emit(a, b, KM_UNKNOWN, "cannot tell: replicates to %s, whose region is not in the snapshot "
                                      "(add s3api get-bucket-location for both buckets)", where);
        else km_emit(a, b, KM_FAIL, "no enabled replication rule to another region or account%s%s",
                     where[0] ? ": replicates to " : "", where);
    }
}

/* Buckets that keep audit logs: CloudTrail and AWS Config deliver into them. */
/* Buckets that receive CloudTrail logs or AWS Config snapshots, by name, with the reason as
 * value. Built once: a scan per bucket would cost buckets x accounts x regions lookups. The
 * reasons are interned in the snapshot. */
static void log_buckets(km_audit *a, km_hmap *m) {
    size_t nt;
    const km_res *const *t = km_all(a, "AWS::CloudTrail::Trail", &nt);
    for (size_t i = 0; i < nt; i++) {
        const char *name = km_json_str(km_res_get(t[i], "S3BucketName"));
        if (!name || km_hmap_get(m, name, strlen(name))) continue;
        char why[256];
        snprintf(why, sizeof why, "receives CloudTrail logs of %s", t[i]->name);
        const char *w = km_snap_intern(a->snap, why);
        if (w) km_hmap_put(m, name, strlen(name), (void *)w);
    }
    for (size_t i = 0; i < km_naccounts(a); i++) {
        const char *acct = km_account(a, i);
        for (size_t r = 0; r < km_nregions(a, acct); r++) {
            km_item dc = km_snap_get(a->snap, acct, km_region(a, acct, r), "configservice", "describe-delivery-channels", NULL);
            const km_json *chs = km_ci_get(dc.json, "DeliveryChannels");
            for (size_t k = 0; k < km_json_len(chs); k++) {
                const char *name = km_ci_str(km_json_at(chs, k), "s3BucketName");
                if (name && !km_hmap_get(m, name, strlen(name)))
                    km_hmap_put(m, name, strlen(name), (void *)"receives AWS Config snapshots");
            }
        }
    }
}

static void chk_object_lock(km_audit *a) {
    size_t n;
    const km_res *const *v = km_all(a, "AWS::S3::Bucket", &n);
    km_hmap logs = KM_HMAP_INIT;
    log_buckets(a, &logs);
    for (size_t i = 0; i < n && logs.n; i++) {
        const km_res *b = v[i];
        const char *why = b->name ? km_hmap_get(&logs, b->name, strlen(b->name)) : NULL;
        if (!why) continue;
        if (km_begin(a, b)) continue;
        int on;
        const char *mode;
        km_item it;
        km_data_status st = km_s3_object_lock_get(a, b, &on, &mode, &it);
        if (km_unknown_res(a, b, &it, "s3api get-object-lock-configuration")) continue;
        if (st == KM_DATA_ABSENT || !on)
            km_emit(a, b, KM_FAIL, "bucket %s but has no Object Lock: logs can be deleted", why);
        else if (!mode)
            km_emit(a, b, KM_FAIL, "bucket %s; Object Lock is on but with no default retention", why);
        else if (!km_streq_ci(mode, "COMPLIANCE"))
            km_emit(a, b, KM_FAIL, "bucket %s; default retention is %s mode, which an administrator can bypass", why, mode);
        else km_emit(a, b, KM_PASS, "bucket %s; Object Lock default retention in COMPLIANCE mode", why);
    }
    km_hmap_free(&logs);
}

const km_check_impl km_chk_s3[] = {
    {"KMA-S3-ACCOUNT-PUBLIC-ACCESS-BLOCK", chk_account_pab},
    {"KMA-S3-BUCKET-PUBLIC", chk_bucket_public},
    {"KMA-S3-VERSIONING", chk_versioning},
    {"KMA-S3-DEFAULT-ENCRYPTION", chk_encryption},
    {"KMA-S3-CROSS-REGION-REPLICATION", chk_crr},
    {"KMA-S3-LOG-BUCKET-OBJECT-LOCK", chk_object_lock},
    {NULL, NULL},
};
