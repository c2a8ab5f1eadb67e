/* What the snapshot says about one CloudTrail trail (shared by the trail, log and alarm
 * checks). -1 in a tri-state means "cannot tell". */
#ifndef KM_AUDIT_TRAIL_H
#define KM_AUDIT_TRAIL_H

#include "audit/check.h"

typedef struct km_trail {
    const km_res *r;
    const char *arn, *name, *home, *owner; /* owner: the account in the trail's ARN */
    int multi, org;
    int logging;       /* get-trail-status IsLogging */
    int mgmt_all;      /* records read and write management events */
    int s3_write;      /* records S3 object write data events of at least some buckets */
    int s3_write_all;  /* ... of every bucket, current and future (Security Hub S3.22) */
    const km_json *selectors; /* the get-event-selectors answer (or configuration item), or NULL */
    int validation;
    const char *bucket, *kms, *log_group_arn;
    const km_json *status; /* get-trail-status answer, or NULL */
    km_item status_item, selectors_item;
} km_trail;

void km_trail_read(km_audit *a, const km_res *r, km_trail *t);
/* Trails that record account's activity: its own and, for a member of an organisation whose
 * management account is in the snapshot, the organisation trails. malloc'd; caller frees. */
km_trail *km_trails_covering(km_audit *a, const char *account, size_t *n);
/* Whether any region of account has a readable trail list. */
int km_trails_listed(km_audit *a, const char *account, km_item *why);
/* Whether the trail's selectors record every object write of bucket (NULL: of every bucket,
 * current and future): 1 yes, 0 no, -1 its selectors are not in the snapshot. */
int km_trail_s3_writes(const km_trail *t, const char *bucket);

#endif
