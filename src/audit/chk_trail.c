/* CloudTrail: a multi-region trail that logs every management event (an organisation trail
 * counts for the member accounts), log file validation, KMS encryption, delivery to CloudWatch
 * Logs, S3 data events, and the trail's bucket: versioning, MFA Delete, not public, access
 * logging. */
#include "audit/check.h"
#include "audit/s3facts.h"
#include "audit/trail.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const km_json *tget(const km_res *r, const char *a, const char *b) {
    const km_json *v = km_res_get(r, a);
    return v ? v : (b ? km_res_get(r, b) : NULL);
}

/* Whether a classic DataResources value (an ARN prefix) takes in every object of bucket: the
 * value is a prefix of "arn:aws:s3:::BUCKET/". "arn:aws:s3" and "arn:aws:s3:::" stand for all
 * buckets, current and future; bucket NULL asks for exactly that. */
static int prefix_takes_bucket(const char *v, const char *bucket) {
    char all[1200];
    if (!v) return 0;
    if (bucket) snprintf(all, sizeof all, "arn:aws:s3:::%s/", bucket);
    else snprintf(all, sizeof all, "arn:aws:s3:::");
    return km_str_starts(all, v);
}

/* An advanced selector's resources.ARN conditions, all of which must hold (fields are ANDed, and
 * within one field the positive operators are ORed): do they let through every object ARN of
 * bucket (NULL: of every bucket)? A prefix that cuts into the bucket (NotStartsWith, NotEquals,
 * EndsWith, ...) leaves some of its objects out, which is not "every write". */
static int arn_field_takes_bucket(const km_json *f, const char *bucket) {
    char pre[1200];
    if (bucket) snprintf(pre, sizeof pre, "arn:aws:s3:::%s/", bucket);
    else snprintf(pre, sizeof pre, "arn:aws:s3:::");
    const km_json *sw = km_ci_get(f, "StartsWith");
    if (km_json_len(sw)) {
        int any = 0;
        for (size_t i = 0; i < km_json_len(sw) && !any; i++) any = prefix_takes_bucket(km_json_str(km_json_at(sw, i)), bucket);
        if (!any) return 0;
    }
    if (km_json_len(km_ci_get(f, "Equals")) || km_json_len(km_ci_get(f, "EndsWith")) ||
        km_json_len(km_ci_get(f, "NotEndsWith")))
        return 0;
    const km_json *nsw = km_ci_get(f, "NotStartsWith");
    for (size_t i = 0; i < km_json_len(nsw); i++) {
        const char *v = km_json_str(km_json_at(nsw, i));
        if (!v) continue;
        if (!bucket) return 0; /* excludes some bucket that may exist or come */
        if (km_str_starts(pre, v) || km_str_starts(v, pre)) return 0;
    }
    const km_json *neq = km_ci_get(f, "NotEquals");
    for (size_t i = 0; i < km_json_len(neq); i++) {
        const char *v = km_json_str(km_json_at(neq, i));
        if (!v) continue;
        if (!bucket || km_str_starts(v, pre)) return 0;
    }
    return 1;
}

/* One advanced selector: records every object write of bucket (NULL: of every bucket)? Only
 * eventCategory, resources.type, resources.ARN and readOnly keep it whole; any other field
 * (eventName, userIdentity.arn, ...) filters writes out. */
static int advanced_takes_bucket(const km_json *sel, const char *bucket) {
    const km_json *fs = km_ci_get(sel, "FieldSelectors");
    int data = 0, s3obj = 0;
    for (size_t k = 0; k < km_json_len(fs); k++) {
        const km_json *f = km_json_at(fs, k);
        const char *field = km_ci_str(f, "Field");
        const km_json *eq = km_ci_get(f, "Equals");
        if (km_streq_ci(field, "eventCategory")) data = km_json_has_str(eq, "Data");
        else if (km_streq_ci(field, "resources.type")) s3obj = km_json_has_str(eq, "AWS::S3::Object");
        else if (km_streq_ci(field, "readOnly")) { if (!km_json_has_str(eq, "false")) return 0; }
        else if (km_streq_ci(field, "resources.ARN")) { if (!arn_field_takes_bucket(f, bucket)) return 0; }
        else return 0;
    }
    return data && s3obj;
}

static int classic_takes_bucket(const km_json *e, const char *bucket) {
    const char *rw = km_ci_str(e, "ReadWriteType");
    if (rw && !km_streq_ci(rw, "All") && !km_streq_ci(rw, "WriteOnly")) return 0;
    const km_json *dr = km_ci_get(e, "DataResources");
    for (size_t k = 0; k < km_json_len(dr); k++) {
        const km_json *d = km_json_at(dr, k);
        if (!km_streq_ci(km_ci_str(d, "Type"), "AWS::S3::Object")) continue;
        const km_json *vals = km_ci_get(d, "Values");
        for (size_t j = 0; j < km_json_len(vals); j++)
            if (prefix_takes_bucket(km_json_str(km_json_at(vals, j)), bucket)) return 1;
    }
    return 0;
}

int km_trail_s3_writes(const km_trail *t, const char *bucket) {
    if (!t->selectors) return -1;
    const km_json *es = km_ci_get(t->selectors, "EventSelectors");
    for (size_t i = 0; i < km_json_len(es); i++)
        if (classic_takes_bucket(km_json_at(es, i), bucket)) return 1;
    const km_json *aes = km_ci_get(t->selectors, "AdvancedEventSelectors");
    for (size_t i = 0; i < km_json_len(aes); i++)
        if (advanced_takes_bucket(km_json_at(aes, i), bucket)) return 1;
    return 0;
}

static void read_selectors(km_trail *t, const km_json *sel_answer) {
    t->mgmt_all = 0;
    t->s3_write = 0;
    t->selectors = sel_answer;
    const km_json *es = km_ci_get(sel_answer, "EventSelectors");
    for (size_t i = 0; i < km_json_len(es); i++) {
        const km_json *e = km_json_at(es, i);
        const char *rw = km_ci_str(e, "ReadWriteType");
        int all = !rw || km_streq_ci(rw, "All");
        int writes = all || km_streq_ci(rw, "WriteOnly");
        const km_json *im = km_ci_get(e, "IncludeManagementEvents");
        if (all && (!im || km_json_truth(im) == 1)) t->mgmt_all = 1;
        const km_json *dr = km_ci_get(e, "DataResources");
        for (size_t k = 0; k < km_json_len(dr); k++)
            if (writes && km_streq_ci(km_ci_str(km_json_at(dr, k), "Type"), "AWS::S3::Object")) t->s3_write = 1;
    }
    const km_json *aes = km_ci_get(sel_answer, "AdvancedEventSelectors");
    for (size_t i = 0; i < km_json_len(aes); i++) {
        const km_json *fs = km_ci_get(km_json_at(aes, i), "FieldSelectors");
        int mgmt = 0, data = 0, s3obj = 0, ro_any = 1, ro_false = 0;
        for (size_t k = 0; k < km_json_len(fs); k++) {
            const km_json *f = km_json_at(fs, k);
            const char *field = km_ci_str(f, "Field");
            const km_json *eq = km_ci_get(f, "Equals");
            if (km_streq_ci(field, "eventCategory")) {
                mgmt = km_json_has_str(eq, "Management");
                data = km_json_has_str(eq, "Data");
            } else if (km_streq_ci(field, "resources.type")) {
                s3obj = km_json_has_str(eq, "AWS::S3::Object");
            } else if (km_streq_ci(field, "readOnly")) {
                ro_any = 0;
                ro_false = km_json_has_str(eq, "false");
            }
        }
        if (mgmt && ro_any) t->mgmt_all = 1;
        if (data && s3obj && (ro_any || ro_false)) t->s3_write = 1;
    }
    t->s3_write_all = km_trail_s3_writes(t, NULL);
}

void km_trail_read(km_audit *a, const km_res *r, km_trail *t) {
    memset(t, 0, sizeof *t);
    t->r = r;
    t->arn = r->arn ? r->arn : r->id;
    t->name = r->name;
    t->home = km_json_str(km_res_get(r, "HomeRegion"));
    if (!t->home) t->home = r->region;
    char owner[32];
    km_arn_field(t->arn, 4, owner, sizeof owner);
    t->owner = owner[0] ? km_snap_intern(a->snap, owner) : r->account;
    t->multi = km_json_truth(km_res_get(r, "IsMultiRegionTrail")) == 1;
    t->org = km_json_truth(km_res_get(r, "IsOrganizationTrail")) == 1;
    t->validation = km_json_truth(tget(r, "LogFileValidationEnabled", "EnableLogFileValidation")) == 1;
    t->bucket = km_json_str(km_res_get(r, "S3BucketName"));
    t->kms = km_json_str(tget(r, "KmsKeyId", "KMSKeyId"));
    t->log_group_arn = km_json_str(km_res_get(r, "CloudWatchLogsLogGroupArn"));
    t->logging = -1;
    t->mgmt_all = -1;
    t->s3_write = -1;
    t->s3_write_all = -1;
    if (r->from_config) {
        const km_json *il = km_res_get(r, "IsLogging");
        if (il) t->logging = km_json_truth(il) == 1;
        else {
            /* a zeroed item reads as "answered"; say why the logging state is unknown */
            t->status_item.status = KM_DATA_MISSING;
            t->status_item.message = "the AWS Config item records no IsLogging";
        }
        const km_json *es = km_res_get(r, "EventSelectors"), *aes = km_res_get(r, "AdvancedEventSelectors");
        if (es || aes) read_selectors(t, r->cfg); /* same member names as get-event-selectors */
        return;
    }
    t->status_item = km_get(a, r->account, t->home, "cloudtrail", "get-trail-status", t->arn);
    if (t->status_item.status == KM_DATA_OK) {
        t->status = t->status_item.json;
        t->logging = km_json_truth(km_ci_get(t->status, "IsLogging")) == 1;
    }
    t->selectors_item = km_get(a, r->account, t->home, "cloudtrail", "get-event-selectors", t->arn);
    if (t->selectors_item.status == KM_DATA_OK) read_selectors(t, t->selectors_item.json);
}

km_trail *km_trails_covering(km_audit *a, const char *account, size_t *n) {
    size_t nt;
    const km_res *const *v = km_all(a, "AWS::CloudTrail::Trail", &nt);
    km_trail *out = calloc(nt ? nt : 1, sizeof *out);
    *n = 0;
    if (!out) return NULL;
    for (size_t i = 0; i < nt; i++) {
        const km_res *r = v[i];
        int mine = !strcmp(r->account, account);
        if (!mine) {
            /* an organisation trail kept by another account of the same organisation */
            if (km_json_truth(km_res_get(r, "IsOrganizationTrail")) != 1) continue;
            char owner[32];
            km_arn_field(r->arn, 4, owner, sizeof owner);
            if (strcmp(r->account, owner)) continue; /* only the owner's view */
            if (km_org_same(a, account, r->account) != 1) continue;
            /* already seen from this account? */
            int dup = 0;
            for (size_t k = 0; k < *n; k++)
                if (!strcmp(out[k].arn, r->arn)) dup = 1;
            if (dup) continue;
        } else {
            int dup = -1;
            for (size_t k = 0; k < *n; k++)
                if (r->arn && !strcmp(out[k].arn, r->arn)) dup = (int)k;
            if (dup >= 0) continue;
        }
        km_trail_read(a, r, &out[*n]);
        (*n)++;
    }
    return out;
}

int km_trails_listed(km_audit *a, const char *account, km_item *why) {
    int any = 0;
    memset(why, 0, sizeof *why);
    why->status = KM_DATA_MISSING;
    why->message = "no region's trail list is in the snapshot";
    for (size_t i = 0; i < km_nregions(a, account); i++) {
        km_item l = km_snap_listing(a->snap, account, km_region(a, account, i), "AWS::CloudTrail::Trail");
        if (l.status == KM_DATA_OK) any = 1;
        else if (l.status != KM_DATA_MISSING) *why = l;
    }
    return any;
}

static void chk_multi_region(km_audit *a) {
    for (size_t i = 0; i < km_naccounts(a); i++) {
        const char *acct = km_account(a, i);
        km_begin(a, NULL);
        size_t n;
        km_trail *t = km_trails_covering(a, acct, &n);
        int pass = -1, unknown = -1;
        char reasons[1024] = "";
        for (size_t k = 0; k < n; k++) {
            km_ev(a, t[k].r->file);
            km_ev_item(a, &t[k].status_item);
            km_ev_item(a, &t[k].selectors_item);
            char r[256] = "";
            if (!t[k].multi) snprintf(r, sizeof r, "%s is single-region", t[k].name);
            else if (t[k].logging == 0) snprintf(r, sizeof r, "%s is not logging", t[k].name);
            else if (t[k].mgmt_all == 0) snprintf(r, sizeof r, "%s does not record all management events", t[k].name);
            else if (t[k].logging < 0 || t[k].mgmt_all < 0) { if (unknown < 0) unknown = (int)k; continue; }
            else { pass = (int)k; break; }
            km_join(reasons, sizeof reasons, "; ", r);
        }
        km_item lw;
        int listed = km_trails_listed(a, acct, &lw);
        if (pass >= 0) {
            const km_trail *p = &t[pass];
            if (strcmp(p->owner, acct))
                km_emit_acct(a, acct, NULL, KM_PASS, "covered by organisation trail %s of account %s (multi-region, logging, all management events)", p->arn, p->owner);
            else
                km_emit_acct(a, acct, NULL, KM_PASS, "trail %s is multi-region, logging and records all management events", p->arn);
        } else if (unknown >= 0) {
            const km_trail *u = &t[unknown];
            char buf[600];
            const km_item *it = u->logging < 0 ? &u->status_item : &u->selectors_item;
            km_emit_acct(a, acct, NULL, KM_UNKNOWN, "multi-region trail %s: %s", u->name,
                         km_item_why(it, u->logging < 0 ? "cloudtrail get-trail-status" : "cloudtrail get-event-selectors", buf, sizeof buf));
        } else if (!listed && n == 0) {
            char buf[600];
            km_emit_acct(a, acct, NULL, KM_UNKNOWN, "%s", km_item_why(&lw, "cloudtrail describe-trails", buf, sizeof buf));
        } else {
            km_emit_acct(a, acct, NULL, KM_FAIL, "no multi-region trail logging all management events%s%s",
                         reasons[0] ? ": " : "", reasons);
        }
        free(t);
    }
}

/* Each trail once, in the account that owns it. */
typedef void (*trail_fn)(km_audit *a, const km_trail *t);

static void each_owned_trail(km_audit *a, trail_fn fn) {
    size_t nt;
    const km_res *const *v = km_all(a, "AWS::CloudTrail::Trail", &nt);
    for (size_t i = 0; i < nt; i++) {
        const km_res *r = v[i];
        char owner[32];
        km_arn_field(r->arn, 4, owner, sizeof owner);
        if (owner[0] && strcmp(owner, r->account)) continue;
        if (km_begin(a, r)) continue;
        if (km_json_len(r->cfg) == 0) {
            km_emit(a, r, KM_UNKNOWN, "cannot tell: the trail's configuration is not in the snapshot");
            continue;
        }
        km_trail t;
        km_trail_read(a, r, &t);
        fn(a, &t);
    }
}

static void emit_trail(km_audit *a, const km_trail *t, km_status st, const char *fmt, const char *arg) {
    km_emit_at(a, t->r->account, t->home, t->r->type, t->r->id, t->name, t->r->arn, st, fmt, arg);
}

static void one_validation(km_audit *a, const km_trail *t) {
    if (!tget(t->r, "LogFileValidationEnabled", "EnableLogFileValidation"))
        emit_trail(a, t, KM_UNKNOWN, "cannot tell: the trail's log file validation setting is not recorded%s", "");
    else if (t->validation) emit_trail(a, t, KM_PASS, "log file validation is enabled%s", "");
    else emit_trail(a, t, KM_FAIL, "log file validation is disabled: deleted or altered log files go unnoticed%s", "");
}

static void chk_validation(km_audit *a) { each_owned_trail(a, one_validation); }

static void one_kms(km_audit *a, const km_trail *t) {
    if (t->kms) emit_trail(a, t, KM_PASS, "log files are encrypted with KMS key %s", t->kms);
    else emit_trail(a, t, KM_FAIL, "log files use S3-managed encryption only, not a KMS key%s", "");
}

static void chk_kms(km_audit *a) { each_owned_trail(a, one_kms); }

static void one_cwl(km_audit *a, const km_trail *t) {
    if (!t->log_group_arn) {
        emit_trail(a, t, KM_FAIL, "the trail does not deliver to CloudWatch Logs: no real-time alarms on its events%s", "");
        return;
    }
    const char *err = km_ci_str(t->status, "LatestCloudWatchLogsDeliveryError");
    double age = km_age_days(a, km_ci_get(t->status, "LatestCloudWatchLogsDeliveryTime"));
    if (t->logging == 0) {
        emit_trail(a, t, KM_FAIL, "the trail is not logging (get-trail-status IsLogging false): nothing reaches %s", t->log_group_arn);
    } else if (t->logging < 0) {
        /* a log group in the configuration says nothing of a stopped trail: no PASS, and no FAIL either */
        char buf[600];
        emit_trail(a, t, KM_UNKNOWN, "%s", km_item_why(&t->status_item, "cloudtrail get-trail-status", buf, sizeof buf));
    } else if (err && *err) {
        emit_trail(a, t, KM_FAIL, "delivery to CloudWatch Logs fails: %s", err);
    } else if (t->status && age > 1) {
        char m[64];
        snprintf(m, sizeof m, "%.0f", age);
        emit_trail(a, t, KM_FAIL, "the last delivery to CloudWatch Logs was %s days ago", m);
    } else if (t->status && age < 0 && t->logging == 1) {
        /* CIS 3.4 asks for a recent LatestCloudWatchLogsDeliveryTime; a recorded status of a
         * logging trail with a log group has none (Cloud Custodian's
         * test_cloudtrail_fail_log_metric_filter): nothing has reached the log group. */
        emit_trail(a, t, KM_FAIL, "CloudTrail reports no delivery to %s (no LatestCloudWatchLogsDeliveryTime)", t->log_group_arn);
    } else {
        emit_trail(a, t, KM_PASS, "delivers to %s", t->log_group_arn);
    }
}

static void chk_cwl(km_audit *a) { each_owned_trail(a, one_cwl); }

/* Security Hub S3.22 (and the Config rule cloudtrail-all-write-s3-data-event-check behind it)
 * asks for a multi-region trail that logs write data events of all current and future buckets:
 * selectors naming buckets leave out the buckets created tomorrow, so they FAIL; the buckets of
 * the snapshot that no multi-region trail covers are named as the evidence. Selectors record
 * nothing on a stopped trail (StopLogging is the attacker's first move in S7), so a trail counts
 * only when get-trail-status says IsLogging; when that answer is missing or denied the account
 * is UNKNOWN, not FAIL. */
static void chk_s3_data_events(km_audit *a) {
    size_t nb;
    const km_res *const *bv = km_all(a, "AWS::S3::Bucket", &nb);
    for (size_t i = 0; i < km_naccounts(a); i++) {
        const char *acct = km_account(a, i);
        km_begin(a, NULL);
        size_t n;
        km_trail *t = km_trails_covering(a, acct, &n);
        int pass = -1, unknown = -1, unknown_logging = -1, partial = -1, stopped = -1;
        for (size_t k = 0; k < n && pass < 0; k++) {
            km_ev(a, t[k].r->file);
            km_ev_item(a, &t[k].selectors_item);
            km_ev_item(a, &t[k].status_item);
            if (!t[k].multi) continue;
            if (t[k].logging == 0) {
                if (t[k].s3_write == 1 && stopped < 0) stopped = (int)k;
                continue;
            }
            if (t[k].s3_write_all == 1) {
                if (t[k].logging == 1) pass = (int)k;
                else if (unknown_logging < 0) unknown_logging = (int)k;
            } else if (t[k].s3_write_all < 0 && unknown < 0) unknown = (int)k;
            else if (t[k].s3_write == 1 && partial < 0) partial = (int)k;
        }
        km_item lw;
        int listed = km_trails_listed(a, acct, &lw);
        char buf[600];
        if (pass >= 0) km_emit_acct(a, acct, NULL, KM_PASS, "trail %s is logging and records S3 object write events of every bucket", t[pass].arn);
        else if (unknown >= 0)
            km_emit_acct(a, acct, NULL, KM_UNKNOWN, "trail %s: %s", t[unknown].name,
                         km_item_why(&t[unknown].selectors_item, "cloudtrail get-event-selectors", buf, sizeof buf));
        else if (unknown_logging >= 0)
            km_emit_acct(a, acct, NULL, KM_UNKNOWN, "trail %s records S3 object write events of every bucket, but whether it is logging: %s",
                         t[unknown_logging].name,
                         km_item_why(&t[unknown_logging].status_item, "cloudtrail get-trail-status", buf, sizeof buf));
        else if (!listed && n == 0)
            km_emit_acct(a, acct, NULL, KM_UNKNOWN, "%s", km_item_why(&lw, "cloudtrail describe-trails", buf, sizeof buf));
        else if (partial >= 0) {
            /* the account's buckets in the snapshot that no multi-region trail records writes of */
            char names[400] = "";
            size_t nown = 0, nout = 0;
            for (size_t j = 0; j < nb; j++) {
                if (strcmp(bv[j]->account, acct)) continue;
                nown++;
                int cov = 0;
                for (size_t k = 0; k < n && !cov; k++)
                    cov = t[k].multi && t[k].logging != 0 && km_trail_s3_writes(&t[k], bv[j]->name) == 1;
                if (cov) continue;
                if (nout++ < 5) {
                    size_t l = strlen(names);
                    snprintf(names + l, sizeof names - l, "%s%s", l ? ", " : "", bv[j]->name);
                }
            }
            if (nout)
                km_emit_acct(a, acct, NULL, KM_FAIL,
                             "trail %s records S3 object writes only in part (named buckets, prefixes or operations): %zu of the %zu buckets in the snapshot are not covered (%s%s), nor are new buckets",
                             t[partial].name, nout, nown, names, nout > 5 ? ", ..." : "");
            else if (nown)
                km_emit_acct(a, acct, NULL, KM_FAIL,
                             "trail %s records S3 object writes only in part (named buckets, prefixes or operations): the %zu bucket(s) in the snapshot are covered, but a new bucket would not be",
                             t[partial].name, nown);
            else
                km_emit_acct(a, acct, NULL, KM_FAIL,
                             "trail %s records S3 object writes only in part (named buckets, prefixes or operations): buckets outside its selectors, new ones included, are not recorded",
                             t[partial].name);
        } else if (stopped >= 0)
            km_emit_acct(a, acct, NULL, KM_FAIL, "trail %s has S3 data event selectors but is not logging (get-trail-status IsLogging false): it records nothing",
                         t[stopped].name);
        else
            km_emit_acct(a, acct, NULL, KM_FAIL, "no multi-region trail records S3 object write (data) events: mass overwrites and deletions of objects leave no trace");
        free(t);
    }
}

/* ---- the trail's bucket ----
 * These four (and LOG-VALIDATION and KMS above) judge how the log files already written are
 * kept, which matters as much after StopLogging as before (they are the evidence of what
 * happened up to then), so they do not depend on whether the trail is logging now; the checks
 * about recording from now on (MULTI-REGION, CLOUDWATCH, S3-DATA-EVENTS, the CloudWatch alarms
 * and LOGS-CROSS-ACCOUNT-EXPORT) do. */

typedef void (*bucket_fn)(km_audit *a, const km_trail *t, const km_res *b);

static void each_trail_bucket(km_audit *a, bucket_fn fn) {
    size_t nt;
    const km_res *const *v = km_all(a, "AWS::CloudTrail::Trail", &nt);
    const char **seen = calloc(nt ? nt : 1, sizeof *seen);
    size_t nseen = 0;
    for (size_t i = 0; i < nt && seen; i++) {
        const km_res *r = v[i];
        char owner[32];
        km_arn_field(r->arn, 4, owner, sizeof owner);
        if (owner[0] && strcmp(owner, r->account)) continue;
        const char *bucket = km_json_str(km_res_get(r, "S3BucketName"));
        if (!bucket) continue;
        int dup = 0;
        for (size_t k = 0; k < nseen; k++) if (!strcmp(seen[k], bucket)) dup = 1;
        if (dup) continue;
        seen[nseen++] = bucket;
        if (km_begin(a, r)) continue;
        km_trail t;
        km_trail_read(a, r, &t);
        const km_res *b = km_s3_bucket(a, bucket);
        if (!b) {
            km_item l = km_snap_listing(a->snap, r->account, "global", "AWS::S3::Bucket");
            if (l.status == KM_DATA_OK)
                km_emit_at(a, r->account, "global", "AWS::S3::Bucket", bucket, bucket, NULL, KM_UNKNOWN,
                           "cannot tell: trail %s writes to bucket %s in another account, which is not in the snapshot "
                           "(add that account, e.g. the log archive, to the audit)", t.name, bucket);
            else
                km_emit_at(a, r->account, "global", "AWS::S3::Bucket", bucket, bucket, NULL, KM_UNKNOWN,
                           "cannot tell: bucket %s of trail %s is not in the snapshot", bucket, t.name);
            continue;
        }
        km_ev(a, b->file);
        fn(a, &t, b);
    }
    free(seen);
}

static void one_bucket_versioning(km_audit *a, const km_trail *t, const km_res *b) {
    km_s3_versioning ver;
    km_item it;
    km_s3_versioning_get(a, b, &ver, &it);
    if (km_unknown_res(a, b, &it, "s3api get-bucket-versioning")) return;
    if (ver.enabled) km_emit(a, b, KM_PASS, "versioning is enabled on the bucket of trail %s", t->name);
    else km_emit(a, b, KM_FAIL, "versioning is off on the bucket of trail %s: deleted log files cannot be recovered", t->name);
}

static void chk_bucket_versioning(km_audit *a) { each_trail_bucket(a, one_bucket_versioning); }

static void one_bucket_mfa(km_audit *a, const km_trail *t, const km_res *b) {
    km_s3_versioning ver;
    km_item it;
    km_s3_versioning_get(a, b, &ver, &it);
    if (km_unknown_res(a, b, &it, "s3api get-bucket-versioning")) return;
    if (ver.enabled && ver.mfa_delete) km_emit(a, b, KM_PASS, "MFA Delete is enabled on the bucket of trail %s", t->name);
    else if (!ver.enabled)
        km_emit(a, b, KM_FAIL, "the bucket of trail %s has no versioning, so no MFA Delete", t->name);
    else km_emit(a, b, KM_FAIL, "MFA Delete is off on the bucket of trail %s: stolen keys alone can delete log versions", t->name);
}

static void chk_bucket_mfa(km_audit *a) { each_trail_bucket(a, one_bucket_mfa); }

static void one_bucket_public(km_audit *a, const km_trail *t, const km_res *b) {
    km_s3_pab bp, ap;
    km_item bit, ait, pit, cit;
    int bok = km_s3_pab_get(a, b, &bp, &bit) == KM_DATA_OK;
    int aok = km_s3_account_pab_get(a, b->account, &ap, &ait) == KM_DATA_OK;
    int bpol = km_s3_pab_blocks_policy(&bp, bok, &ap, aok), bacl = km_s3_pab_blocks_acl(&bp, bok, &ap, aok);
    const km_json *doc;
    int pub_acl = 0;
    km_data_status ps = km_s3_policy_get(a, b, &doc, &pit);
    km_s3_acl_public(a, b, &pub_acl, &cit);
    if (!bpol && ps == KM_DATA_OK && km_s3_policy_public(doc)) {
        km_emit(a, b, KM_FAIL, "the bucket of trail %s has a public bucket policy", t->name);
        return;
    }
    if (!bacl && pub_acl) {
        km_emit(a, b, KM_FAIL, "the ACL of the bucket of trail %s grants public access", t->name);
        return;
    }
    if (!bpol && km_unknown_res(a, b, &pit, "s3api get-bucket-policy")) return;
    if (!bacl && km_unknown_res(a, b, &cit, "s3api get-bucket-acl")) return;
    km_emit(a, b, KM_PASS, "the bucket of trail %s is not public", t->name);
}

static void chk_bucket_public(km_audit *a) { each_trail_bucket(a, one_bucket_public); }

static void one_bucket_logging(km_audit *a, const km_trail *t, const km_res *b) {
    const char *target;
    km_item it;
    km_data_status st = km_s3_logging_get(a, b, &target, &it);
    if (km_unknown_res(a, b, &it, "s3api get-bucket-logging")) return;
    if (st == KM_DATA_OK) km_emit(a, b, KM_PASS, "server access logging of the bucket of trail %s goes to %s", t->name, target);
    else km_emit(a, b, KM_FAIL, "server access logging is off on the bucket of trail %s: reads and deletes of log files are not recorded", t->name);
}

static void chk_bucket_logging(km_audit *a) { each_trail_bucket(a, one_bucket_logging); }

const km_check_impl km_chk_trail[] = {
    {"KMA-CLOUDTRAIL-MULTI-REGION", chk_multi_region},
    {"KMA-CLOUDTRAIL-LOG-VALIDATION", chk_validation},
    {"KMA-CLOUDTRAIL-KMS", chk_kms},
    {"KMA-CLOUDTRAIL-CLOUDWATCH", chk_cwl},
    {"KMA-CLOUDTRAIL-S3-DATA-EVENTS", chk_s3_data_events},
    {"KMA-CLOUDTRAIL-BUCKET-VERSIONING", chk_bucket_versioning},
    {"KMA-CLOUDTRAIL-BUCKET-MFA-DELETE", chk_bucket_mfa},
    {"KMA-CLOUDTRAIL-BUCKET-NOT-PUBLIC", chk_bucket_public},
    {"KMA-CLOUDTRAIL-BUCKET-ACCESS-LOGGING", chk_bucket_logging},
    {NULL, NULL},
};
