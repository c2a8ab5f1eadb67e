/* What the snapshot says about one S3 bucket, from collect's per-bucket answers or from AWS
 * Config's supplementary configuration, in one shape. Each getter returns the data status
 * (OK, ABSENT = "not configured", else cannot tell) and fills the item for messages. */
#ifndef KM_AUDIT_S3FACTS_H
#define KM_AUDIT_S3FACTS_H

#include "audit/check.h"

typedef struct km_s3_versioning {
    int enabled;      /* Status == Enabled */
    int suspended;
    int mfa_delete;   /* MFADelete == Enabled */
} km_s3_versioning;

typedef struct km_s3_pab {
    int block_acls, ignore_acls, block_policy, restrict_buckets; /* -1 unknown field */
} km_s3_pab;

km_data_status km_s3_versioning_get(km_audit *a, const km_res *b, km_s3_versioning *out, km_item *it);
/* Bucket-level Block Public Access. ABSENT: none set. */
km_data_status km_s3_pab_get(km_audit *a, const km_res *b, km_s3_pab *out, km_item *it);
/* Account-level Block Public Access (s3control). */
km_data_status km_s3_account_pab_get(km_audit *a, const char *account, km_s3_pab *out, km_item *it);
/* The bucket policy document (parsed), or ABSENT when the bucket has none. */
km_data_status km_s3_policy_get(km_audit *a, const km_res *b, const km_json **doc, km_item *it);
/* Whether the ACL grants AllUsers or AuthenticatedUsers (*public set to 1). */
km_data_status km_s3_acl_public(km_audit *a, const km_res *b, int *pub, km_item *it);
/* Default encryption algorithm ("AES256", "aws:kms", ...) or ABSENT. */
km_data_status km_s3_encryption_get(km_audit *a, const km_res *b, const char **alg, km_item *it);
/* Server access logging target bucket, or ABSENT when off. */
km_data_status km_s3_logging_get(km_audit *a, const km_res *b, const char **target, km_item *it);
/* Replication rules (CLI shape {"Rules": [...]}: Status, Destination.Bucket, Destination.Account)
 * or ABSENT. For AWS Config input the rules are converted on the fly into *rules_cfg with
 * entries {status, bucket} (see s3facts.c); exactly one of *rules / *rules_cfg is set. */
km_data_status km_s3_replication_get(km_audit *a, const km_res *b, const km_json **rules, const km_json **rules_cfg,
                                     km_item *it);
/* Object Lock: enabled and the default retention mode ("COMPLIANCE", "GOVERNANCE" or NULL). */
km_data_status km_s3_object_lock_get(km_audit *a, const km_res *b, int *enabled, const char **mode, km_item *it);

/* Public policy: an Allow statement to anyone without a limiting condition. */
int km_s3_policy_public(const km_json *doc);
/* Both set: the effective block (bucket or account) stops public policies / ACLs. */
int km_s3_pab_blocks_policy(const km_s3_pab *bucket, int bucket_ok, const km_s3_pab *acct, int acct_ok);
int km_s3_pab_blocks_acl(const km_s3_pab *bucket, int bucket_ok, const km_s3_pab *acct, int acct_ok);

/* The bucket resource called name (any account in the snapshot), or NULL. */
const km_res *km_s3_bucket(km_audit *a, const char *name);

#endif
