/* CloudWatch Logs and monitoring: log group encryption and retention, export of the audit
 * logs to another account, the CIS metric-filter alarms (or EventBridge rules) on the events
 * an attacker causes while tampering, and the EventBridge rule on IAM policy changes the
 * strategy calls for. */
#include "audit/check.h"
#include "audit/evpattern.h"
#include "audit/s3facts.h"
#include "audit/trail.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where the listing of log groups was denied or failed (throttled after the CLI's retries),
 * the region's log groups are unknown: one UNKNOWN for the region, not silence. */
static void listing_unknown(km_audit *a) {
    for (size_t i = 0; i < km_naccounts(a); i++) {
        const char *acct = km_account(a, i);
        for (size_t r = 0; r < km_nregions(a, acct); r++) {
            km_item l = km_snap_listing(a->snap, acct, km_region(a, acct, r), "AWS::Logs::LogGroup");
            if (l.status != KM_DATA_DENIED && l.status != KM_DATA_ERROR) continue;
            km_begin(a, NULL);
            km_ev_item(a, &l);
            km_unknown_acct(a, acct, km_region(a, acct, r), &l, "logs describe-log-groups");
        }
    }
}

static void chk_log_kms(km_audit *a) {
    listing_unknown(a);
    size_t n;
    const km_res *const *v = km_all(a, "AWS::Logs::LogGroup", &n);
    for (size_t i = 0; i < n; i++) {
        if (km_begin(a, v[i])) continue;
        const char *k = km_json_str(km_res_get(v[i], "kmsKeyId"));
        if (k && *k) km_emit(a, v[i], KM_PASS, "encrypted with KMS key %s", k);
        else km_emit(a, v[i], KM_FAIL, "not encrypted with a KMS key (CloudWatch Logs' default encryption only)");
    }
}

static void chk_log_retention(km_audit *a) {
    listing_unknown(a);
    size_t n;
    const km_res *const *v = km_all(a, "AWS::Logs::LogGroup", &n);
    for (size_t i = 0; i < n; i++) {
        if (km_begin(a, v[i])) continue;
        double d;
        if (km_json_num(km_res_get(v[i], "retentionInDays"), &d) != 0)
            km_emit(a, v[i], KM_PASS, "events never expire");
        else if (d >= (double)a->opts.log_retention_days)
            km_emit(a, v[i], KM_PASS, "retention %.0f days", d);
        else
            km_emit(a, v[i], KM_FAIL, "retention %.0f days, shorter than %ld: evidence of a slow intrusion is gone before it is found",
                    d, a->opts.log_retention_days);
    }
}

/* "arn:aws:logs:REGION:ACCOUNT:log-group:NAME:*". Each buffer has its own size: the ARN comes
 * from the snapshot, and one size for all three let a long region overflow the smaller buffers
 * (found by fuzz/fuzz_snap). A field that does not fit is an error, not a truncated name. */
static int split_lg(const char *arn, char *region, size_t rn, char *acct, size_t an, char *name, size_t nn) {
    if (!arn) return -1;
    km_arn_field(arn, 3, region, rn);
    km_arn_field(arn, 4, acct, an);
    km_arn_field(arn, 6, name, nn);
    if (strlen(region) + 1 >= rn || strlen(acct) + 1 >= an || strlen(name) + 1 >= nn) return -1;
    return region[0] && acct[0] && name[0] ? 0 : -1;
}

/* A trail whose get-trail-status is missing or denied may be stopped: what it would deliver
 * cannot make a PASS, and its not logging cannot make a FAIL, so its PASS becomes UNKNOWN. */
static void unless_logging(const km_trail *t, char *pass, size_t pn, char *unknown, size_t un) {
    if (!pass[0] || t->logging >= 0) return;
    if (!unknown[0]) {
        char buf[500];
        snprintf(unknown, un, "%s, but %s", pass, km_item_why(&t->status_item, "cloudtrail get-trail-status", buf, sizeof buf));
    }
    (void)pn;
    pass[0] = 0;
}

static void chk_cross_account(km_audit *a) {
    for (size_t i = 0; i < km_naccounts(a); i++) {
        const char *acct = km_account(a, i);
        km_begin(a, NULL);
        size_t n;
        km_trail *t = km_trails_covering(a, acct, &n);
        char pass[700] = "", unknown[700] = "";
        int any = 0;
        for (size_t k = 0; k < n && !pass[0]; k++) {
            if (t[k].logging == 0) continue;
            any = 1;
            km_ev(a, t[k].r->file);
            if (t[k].bucket) {
                const km_res *b = km_s3_bucket(a, t[k].bucket);
                if (b && strcmp(b->account, acct)) {
                    snprintf(pass, sizeof pass, "trail %s delivers to bucket %s in account %s", t[k].name, t[k].bucket, b->account);
                } else if (!b) {
                    km_item l = km_snap_listing(a->snap, acct, "global", "AWS::S3::Bucket");
                    if (l.status == KM_DATA_OK) {
                        km_ev_item(a, &l);
                        snprintf(pass, sizeof pass, "trail %s delivers to bucket %s, which is not one of this account's buckets (another account)",
                                 t[k].name, t[k].bucket);
                    } else if (!unknown[0]) {
                        snprintf(unknown, sizeof unknown, "cannot tell which account owns bucket %s of trail %s (s3api list-buckets is not in the snapshot)",
                                 t[k].bucket, t[k].name);
                    }
                }
            }
            unless_logging(&t[k], pass, sizeof pass, unknown, sizeof unknown);
            char reg[64], lacct[32], name[512];
            if (pass[0] || split_lg(t[k].log_group_arn, reg, sizeof reg, lacct, sizeof lacct, name, sizeof name)) continue;
            (void)sizeof reg;
            km_item sf = km_get(a, lacct, reg, "logs", "describe-subscription-filters", name);
            const km_json *fl = km_ci_get(sf.json, "subscriptionFilters");
            for (size_t f = 0; f < km_json_len(fl) && !pass[0]; f++) {
                const char *dest = km_ci_str(km_json_at(fl, f), "destinationArn");
                char dacct[32];
                km_arn_field(dest, 4, dacct, sizeof dacct);
                if (dacct[0] && strcmp(dacct, lacct) && strcmp(dacct, acct))
                    snprintf(pass, sizeof pass, "log group %s of trail %s is subscribed to %s in account %s", name, t[k].name, dest, dacct);
            }
            if (!pass[0] && sf.status != KM_DATA_OK && sf.status != KM_DATA_ABSENT && !unknown[0]) {
                char buf[500];
                snprintf(unknown, sizeof unknown, "%s", km_item_why(&sf, "logs describe-subscription-filters", buf, sizeof buf));
            }
            unless_logging(&t[k], pass, sizeof pass, unknown, sizeof unknown);
        }
        km_item lw;
        int listed = km_trails_listed(a, acct, &lw);
        char buf[600];
        if (pass[0]) km_emit_acct(a, acct, NULL, KM_PASS, "%s", pass);
        else if (unknown[0]) km_emit_acct(a, acct, NULL, KM_UNKNOWN, "%s", unknown);
        else if (!listed && n == 0) km_emit_acct(a, acct, NULL, KM_UNKNOWN, "%s", km_item_why(&lw, "cloudtrail describe-trails", buf, sizeof buf));
        else if (!any) km_emit_acct(a, acct, NULL, KM_FAIL, "no logging trail, so no logs leave the account");
        else km_emit_acct(a, acct, NULL, KM_FAIL, "the audit logs stay in this account (own bucket, no subscription to another account): "
                                                  "an attacker with administrator access here can delete them");
        free(t);
    }
}

/* ---- alarms on tampering events ---- */

typedef struct alarm_spec {
    const char *id;
    const char *what;
    const char *tokens[3];      /* must appear in the normalised filter pattern */
    const char *events[17];     /* each must appear as $.eventName=X */
    const char *eb_events[3];   /* JSON of synthetic events an EventBridge rule must match */
} alarm_spec;

static const char *const iam_policy_events[] = {
    "DeleteGroupPolicy", "DeleteRolePolicy", "DeleteUserPolicy", "PutGroupPolicy", "PutRolePolicy",
    "PutUserPolicy", "CreatePolicy", "DeletePolicy", "CreatePolicyVersion", "DeletePolicyVersion",
    "AttachRolePolicy", "DetachRolePolicy", "AttachUserPolicy", "DetachUserPolicy", "AttachGroupPolicy",
    "DetachGroupPolicy", NULL};

static const alarm_spec alarms[] = {
    {"KMA-CW-ALARM-ROOT-USAGE", "use of the root user", {"$.userIdentity.type=Root", NULL}, {NULL},
     {"{\"source\":\"aws.signin\",\"detail-type\":\"AWS Console Sign In via CloudTrail\",\"detail\":{\"eventSource\":\"signin.amazonaws.com\",\"eventName\":\"ConsoleLogin\",\"eventType\":\"AwsConsoleSignIn\",\"userIdentity\":{\"type\":\"Root\"}}}",
      "{\"source\":\"aws.iam\",\"detail-type\":\"AWS API Call via CloudTrail\",\"detail\":{\"eventSource\":\"iam.amazonaws.com\",\"eventName\":\"CreateAccessKey\",\"eventType\":\"AwsApiCall\",\"userIdentity\":{\"type\":\"Root\"}}}", NULL}},
    {"KMA-CW-ALARM-CONSOLE-NO-MFA", "console sign-in without MFA", {"$.eventName=ConsoleLogin", "$.additionalEventData.MFAUsed!=Yes", NULL}, {NULL},
     {"{\"source\":\"aws.signin\",\"detail-type\":\"AWS Console Sign In via CloudTrail\",\"detail\":{\"eventSource\":\"signin.amazonaws.com\",\"eventName\":\"ConsoleLogin\",\"eventType\":\"AwsConsoleSignIn\",\"userIdentity\":{\"type\":\"IAMUser\"},\"additionalEventData\":{\"MFAUsed\":\"No\"},\"responseElements\":{\"ConsoleLogin\":\"Success\"}}}", NULL}},
    {"KMA-CW-ALARM-AUTH-FAILURES", "failed console sign-ins", {"$.eventName=ConsoleLogin", "$.errorMessage=Failedauthentication", NULL}, {NULL},
     {"{\"source\":\"aws.signin\",\"detail-type\":\"AWS Console Sign In via CloudTrail\",\"detail\":{\"eventSource\":\"signin.amazonaws.com\",\"eventName\":\"ConsoleLogin\",\"eventType\":\"AwsConsoleSignIn\",\"userIdentity\":{\"type\":\"IAMUser\"},\"errorMessage\":\"Failed authentication\",\"responseElements\":{\"ConsoleLogin\":\"Failure\"}}}", NULL}},
    {"KMA-CW-ALARM-IAM-POLICY-CHANGES", "IAM policy changes", {NULL},
     {"DeleteGroupPolicy", "DeleteRolePolicy", "DeleteUserPolicy", "PutGroupPolicy", "PutRolePolicy",
      "PutUserPolicy", "CreatePolicy", "DeletePolicy", "CreatePolicyVersion", "DeletePolicyVersion",
      "AttachRolePolicy", "DetachRolePolicy", "AttachUserPolicy", "DetachUserPolicy", "AttachGroupPolicy",
      "DetachGroupPolicy", NULL},
     {NULL}},
    {"KMA-CW-ALARM-CLOUDTRAIL-CHANGES", "changes to CloudTrail", {NULL},
     {"CreateTrail", "UpdateTrail", "DeleteTrail", "StartLogging", "StopLogging", NULL}, {NULL}},
    {"KMA-CW-ALARM-KMS-KEY-DISABLE", "disabling or scheduled deletion of KMS keys", {"$.eventSource=kms.amazonaws.com", NULL},
     {"DisableKey", "ScheduleKeyDeletion", NULL}, {NULL}},
    {"KMA-CW-ALARM-S3-POLICY-CHANGES", "S3 bucket policy changes", {"$.eventSource=s3.amazonaws.com", NULL},
     {"PutBucketAcl", "PutBucketPolicy", "PutBucketCors", "PutBucketLifecycle", "PutBucketReplication",
      "DeleteBucketPolicy", "DeleteBucketCors", "DeleteBucketLifecycle", "DeleteBucketReplication", NULL}, {NULL}},
    {"KMA-CW-ALARM-CONFIG-CHANGES", "AWS Config changes", {"$.eventSource=config.amazonaws.com", NULL},
     {"StopConfigurationRecorder", "DeleteDeliveryChannel", "PutDeliveryChannel", "PutConfigurationRecorder", NULL}, {NULL}},
};

static void normalise(const char *in, char *out, size_t n) {
    size_t o = 0;
    for (; *in && o + 1 < n; in++)
        if (!isspace((unsigned char)*in) && *in != '"') out[o++] = *in;
    out[o] = 0;
}

static int has_event(const char *pat, const char *ev) {
    char tok[128];
    snprintf(tok, sizeof tok, "$.eventName=%s", ev);
    size_t l = strlen(tok);
    for (const char *p = strstr(pat, tok); p; p = strstr(p + 1, tok))
        if (!isalnum((unsigned char)p[l])) return 1;
    return 0;
}

static int pattern_covers(const alarm_spec *sp, const char *raw, char *missing, size_t mn) {
    char pat[8192];
    normalise(raw, pat, sizeof pat);
    missing[0] = 0;
    for (int i = 0; sp->tokens[i]; i++)
        if (!strstr(pat, sp->tokens[i])) { snprintf(missing, mn, "%s", sp->tokens[i]); return 0; }
    for (int i = 0; sp->events[i]; i++)
        if (!has_event(pat, sp->events[i])) { snprintf(missing, mn, "eventName %s", sp->events[i]); return 0; }
    return 1;
}

/* Metric filter on the log group plus an alarm with an action on its metric. */
static int filter_and_alarm(km_audit *a, const alarm_spec *sp, const char *lg_arn, char *msg, size_t mn, int *unknown) {
    char reg[64], acct[32], name[512];
    if (split_lg(lg_arn, reg, sizeof reg, acct, sizeof acct, name, sizeof name)) return 0;
    km_item mf = km_get(a, acct, reg, "logs", "describe-metric-filters", NULL);
    if (mf.status != KM_DATA_OK) {
        if (mf.status != KM_DATA_ABSENT) {
            char buf[500];
            snprintf(msg, mn, "%s", km_item_why(&mf, "logs describe-metric-filters", buf, sizeof buf));
            *unknown = 1;
        }
        return 0;
    }
    const km_json *fl = km_ci_get(mf.json, "metricFilters");
    char lastmiss[160] = "";
    for (size_t i = 0; i < km_json_len(fl); i++) {
        const km_json *f = km_json_at(fl, i);
        if (!km_streq_ci(km_ci_str(f, "logGroupName"), name)) continue;
        const char *fp = km_ci_str(f, "filterPattern");
        char miss[160];
        if (!fp || !pattern_covers(sp, fp, miss, sizeof miss)) {
            if (fp) snprintf(lastmiss, sizeof lastmiss, "%s", miss);
            continue;
        }
        const km_json *mt = km_ci_get(f, "metricTransformations");
        km_item al = km_get(a, acct, reg, "cloudwatch", "describe-alarms", NULL);
        if (al.status != KM_DATA_OK) {
            char buf[500];
            snprintf(msg, mn, "metric filter %s matches; %s", km_ci_str(f, "filterName") ? km_ci_str(f, "filterName") : "?",
                     km_item_why(&al, "cloudwatch describe-alarms", buf, sizeof buf));
            *unknown = 1;
            continue;
        }
        const km_json *alarms_v = km_ci_get(al.json, "MetricAlarms");
        for (size_t m = 0; m < km_json_len(mt); m++) {
            const char *mname = km_ci_str(km_json_at(mt, m), "metricName");
            const char *mns = km_ci_str(km_json_at(mt, m), "metricNamespace");
            for (size_t k = 0; k < km_json_len(alarms_v); k++) {
                const km_json *al1 = km_json_at(alarms_v, k);
                if (!km_streq_ci(km_ci_str(al1, "MetricName"), mname) || !km_streq_ci(km_ci_str(al1, "Namespace"), mns)) continue;
                if (km_json_truth(km_ci_get(al1, "ActionsEnabled")) == 0) continue;
                if (km_json_len(km_ci_get(al1, "AlarmActions")) == 0) continue;
                snprintf(msg, mn, "metric filter %s on %s feeds alarm %s", km_ci_str(f, "filterName"), name,
                         km_ci_str(al1, "AlarmName") ? km_ci_str(al1, "AlarmName") : "?");
                *unknown = 0;
                return 1;
            }
        }
        if (!*unknown) snprintf(msg, mn, "metric filter %s on %s has no alarm with an action", km_ci_str(f, "filterName"), name);
    }
    if (!msg[0] && lastmiss[0]) snprintf(msg, mn, "the metric filters on %s miss %s", name, lastmiss);
    return 0;
}

/* EventBridge rules of account in region that are enabled, have a target and match every
 * synthetic event. Returns 1 and the rule name, 0 when none, -1 when the rules are unknown. */
static int eventbridge_covers(km_audit *a, const char *acct, const char *region, const char *const *events, size_t nev,
                              char *msg, size_t mn) {
    km_item lr = km_get(a, acct, region, "events", "list-rules", NULL);
    if (lr.status != KM_DATA_OK && lr.status != KM_DATA_ABSENT) {
        char buf[500];
        snprintf(msg, mn, "%s", km_item_why(&lr, "events list-rules in us-east-1", buf, sizeof buf));
        return -1;
    }
    km_json_doc *docs[32];
    size_t nd = 0;
    for (size_t e = 0; e < nev && nd < 32; e++) {
        km_error err;
        docs[nd] = km_json_parse(events[e], strlen(events[e]), NULL, NULL, &err);
        if (docs[nd]) nd++;
    }
    const km_json *rules = km_ci_get(lr.json, "Rules");
    int found = 0;
    int *covered = calloc(nd ? nd : 1, sizeof *covered);
    for (size_t i = 0; covered && i < km_json_len(rules) && !found; i++) {
        const km_json *r = km_json_at(rules, i);
        const char *name = km_ci_str(r, "Name");
        if (!km_streq_ci(km_ci_str(r, "State"), "ENABLED") || !name) continue;
        const km_json *pat = km_snap_embedded(a->snap, km_ci_get(r, "EventPattern"), NULL);
        if (!pat || pat->type != KM_JSON_OBJECT) continue;
        km_item tg = km_get(a, acct, region, "events", "list-targets-by-rule", name);
        if (tg.status == KM_DATA_OK && km_json_len(km_ci_get(tg.json, "Targets")) == 0) continue;
        size_t hits = 0;
        for (size_t e = 0; e < nd; e++)
            if (km_evpattern_match(pat, km_json_root(docs[e]), NULL, 0)) { covered[e] = 1; hits++; }
        if (hits == nd && nd) {
            if (tg.status != KM_DATA_OK) {
                char buf[400];
                snprintf(msg, mn, "EventBridge rule %s matches; %s", name, km_item_why(&tg, "events list-targets-by-rule", buf, sizeof buf));
                found = -1;
                break;
            }
            snprintf(msg, mn, "EventBridge rule %s (us-east-1) matches and has a target", name);
            found = 1;
        }
    }
    free(covered);
    for (size_t e = 0; e < nd; e++) km_json_doc_free(docs[e]);
    return found;
}

static void run_alarm(km_audit *a, const alarm_spec *sp) {
    for (size_t i = 0; i < km_naccounts(a); i++) {
        const char *acct = km_account(a, i);
        km_begin(a, NULL);
        size_t n;
        km_trail *t = km_trails_covering(a, acct, &n);
        char msg[800] = "", umsg[800] = "";
        int pass = 0, unknown = 0, have_lg = 0;
        for (size_t k = 0; k < n && !pass; k++) {
            if (!t[k].multi || t[k].logging == 0 || !t[k].log_group_arn) continue;
            have_lg = 1;
            km_ev(a, t[k].r->file);
            int u = 0;
            char m[800] = "";
            int found = filter_and_alarm(a, sp, t[k].log_group_arn, m, sizeof m, &u);
            if (found && t[k].logging < 0) {
                /* the alarm is in place, but the trail feeding it may be stopped */
                char buf[500];
                if (!unknown)
                    snprintf(umsg, sizeof umsg, "%s, but trail %s: %s", m, t[k].name,
                             km_item_why(&t[k].status_item, "cloudtrail get-trail-status", buf, sizeof buf));
                unknown = 1;
            } else if (found) { pass = 1; snprintf(msg, sizeof msg, "%s", m); }
            else if (u) { unknown = 1; snprintf(umsg, sizeof umsg, "%s", m); }
            else if (m[0]) snprintf(msg, sizeof msg, "%s", m);
        }
        if (!pass && sp->eb_events[0]) {
            size_t ne = 0;
            while (sp->eb_events[ne]) ne++;
            char m[800] = "";
            int r = eventbridge_covers(a, acct, "us-east-1", sp->eb_events, ne, m, sizeof m);
            if (r == 1) { pass = 1; snprintf(msg, sizeof msg, "%s", m); }
            else if (r < 0 && !have_lg) { unknown = 1; snprintf(umsg, sizeof umsg, "%s", m); }
        }
        km_item lw;
        int listed = km_trails_listed(a, acct, &lw);
        char buf[600];
        if (pass) km_emit_acct(a, acct, NULL, KM_PASS, "%s", msg);
        else if (unknown) km_emit_acct(a, acct, NULL, KM_UNKNOWN, "%s", umsg);
        else if (!listed && n == 0) km_emit_acct(a, acct, NULL, KM_UNKNOWN, "%s", km_item_why(&lw, "cloudtrail describe-trails", buf, sizeof buf));
        else if (!have_lg)
            km_emit_acct(a, acct, NULL, KM_FAIL, "no alarm on %s: no multi-region trail delivers to CloudWatch Logs%s",
                         sp->what, sp->eb_events[0] ? " and no EventBridge rule matches" : "");
        else km_emit_acct(a, acct, NULL, KM_FAIL, "no alarm on %s%s%s", sp->what, msg[0] ? ": " : "", msg);
        free(t);
    }
}

#define ALARM_FN(NAME, IDX) static void NAME(km_audit *a) { run_alarm(a, &alarms[IDX]); }
ALARM_FN(chk_alarm_root, 0)
ALARM_FN(chk_alarm_console_mfa, 1)
ALARM_FN(chk_alarm_auth, 2)
ALARM_FN(chk_alarm_iam, 3)
ALARM_FN(chk_alarm_trail, 4)
ALARM_FN(chk_alarm_kms, 5)
ALARM_FN(chk_alarm_s3, 6)
ALARM_FN(chk_alarm_config, 7)

/* ---- the strategy's EventBridge rule on IAM policy changes ---- */

/* A rule written for IAM events but created in another region: a common mistake (the
 * strategy's own rule would be created in the workload's region), worth naming. */
static void elsewhere(km_audit *a, const char *acct, km_json_doc *const *docs, size_t nev, char *diag, size_t n) {
    for (size_t r = 0; r < km_nregions(a, acct); r++) {
        const char *reg = km_region(a, acct, r);
        if (!strcmp(reg, "us-east-1") || !strcmp(reg, "global")) continue;
        km_item lr = km_get(a, acct, reg, "events", "list-rules", NULL);
        const km_json *rules = km_ci_get(lr.json, "Rules");
        for (size_t k = 0; k < km_json_len(rules); k++) {
            const km_json *rule = km_json_at(rules, k);
            const km_json *pat = km_snap_embedded(a->snap, km_ci_get(rule, "EventPattern"), NULL);
            if (!pat || pat->type != KM_JSON_OBJECT) continue;
            /* the sample events say us-east-1; a pattern that filters on region is not this mistake */
            for (size_t e = 0; e < nev; e++)
                if (docs[e] && km_evpattern_match(pat, km_json_root(docs[e]), NULL, 0)) {
                    snprintf(diag, n, "rule %s in %s matches them, but IAM events reach EventBridge only in us-east-1, so it never fires",
                             km_ci_str(rule, "Name") ? km_ci_str(rule, "Name") : "?", reg);
                    return;
                }
        }
    }
}

/* The sample IAM events, parsed on first use: most snapshots have no EventBridge rule to test
 * them against, and parsing 16 documents per audit was a third of an audit of a small snapshot
 * (measured with fuzz/fuzz_snap). */
static km_json_doc *const *sample_events(km_json_doc **docs, size_t nev, int *parsed) {
    if (*parsed) return docs;
    *parsed = 1;
    for (size_t e = 0; e < nev; e++) {
        char evtext[400];
        snprintf(evtext, sizeof evtext,
                 "{\"version\":\"0\",\"source\":\"aws.iam\",\"detail-type\":\"AWS API Call via CloudTrail\",\"region\":\"us-east-1\","
                 "\"detail\":{\"eventSource\":\"iam.amazonaws.com\",\"eventName\":\"%s\",\"eventType\":\"AwsApiCall\","
                 "\"awsRegion\":\"us-east-1\",\"userIdentity\":{\"type\":\"IAMUser\"}}}",
                 iam_policy_events[e]);
        km_error err;
        docs[e] = km_json_parse(evtext, strlen(evtext), NULL, NULL, &err);
    }
    return docs;
}

static void chk_eventbridge_iam(km_audit *a) {
    size_t nev = 0;
    while (iam_policy_events[nev]) nev++;
    km_json_doc *docs[16] = {0};
    int parsed = 0;
    for (size_t i = 0; i < km_naccounts(a); i++) {
        const char *acct = km_account(a, i);
        km_begin(a, NULL);
        km_item lr = km_get(a, acct, "us-east-1", "events", "list-rules", NULL);
        if (lr.status != KM_DATA_OK && lr.status != KM_DATA_ABSENT) {
            char buf[600];
            km_emit_acct(a, acct, "us-east-1", KM_UNKNOWN, "%s (IAM events reach EventBridge only in us-east-1)",
                         km_item_why(&lr, "events list-rules in us-east-1", buf, sizeof buf));
            continue;
        }
        int covered[16] = {0};
        const km_json *rules = km_ci_get(lr.json, "Rules");
        char diag[600] = "", rulesok[300] = "";
        int target_unknown = 0;
        for (size_t k = 0; k < km_json_len(rules); k++) {
            const km_json *r = km_json_at(rules, k);
            const char *name = km_ci_str(r, "Name");
            const km_json *pat = km_snap_embedded(a->snap, km_ci_get(r, "EventPattern"), NULL);
            if (!name || !pat || pat->type != KM_JSON_OBJECT) continue;
            int hits = 0;
            char why[128] = "";
            sample_events(docs, nev, &parsed);
            for (size_t e = 0; e < nev; e++)
                if (docs[e] && km_evpattern_match(pat, km_json_root(docs[e]), e == 0 ? why : NULL, sizeof why)) hits++;
            if (!hits) {
                const km_json *src = km_ci_get(pat, "source");
                if (!diag[0] && src && km_json_has_str(src, "aws.cloudtrail") && !km_json_has_str(src, "aws.iam"))
                    snprintf(diag, sizeof diag, "rule %s filters source aws.cloudtrail, but IAM API calls arrive with source aws.iam: it never fires", name);
                continue;
            }
            if (!km_streq_ci(km_ci_str(r, "State"), "ENABLED")) {
                if (!diag[0]) snprintf(diag, sizeof diag, "rule %s matches IAM policy changes but is %s", name, km_ci_str(r, "State") ? km_ci_str(r, "State") : "not enabled");
                continue;
            }
            km_item tg = km_get(a, acct, "us-east-1", "events", "list-targets-by-rule", name);
            if (tg.status == KM_DATA_OK && km_json_len(km_ci_get(tg.json, "Targets")) == 0) {
                if (!diag[0]) snprintf(diag, sizeof diag, "rule %s matches IAM policy changes but has no target", name);
                continue;
            }
            if (tg.status != KM_DATA_OK) target_unknown = 1;
            for (size_t e = 0; e < nev; e++)
                if (docs[e] && km_evpattern_match(pat, km_json_root(docs[e]), NULL, 0)) covered[e] = 1;
            km_join(rulesok, sizeof rulesok, ", ", name);
        }
        char missing[600] = "";
        size_t nmiss = 0;
        for (size_t e = 0; e < nev; e++)
            if (!covered[e]) {
                nmiss++;
                km_join(missing, sizeof missing, ", ", iam_policy_events[e]);
            }
        if (nmiss == 0 && !target_unknown)
            km_emit_acct(a, acct, "us-east-1", KM_PASS, "EventBridge rule(s) %s catch all %zu IAM policy-change calls and have targets", rulesok, nev);
        else if (nmiss == 0)
            km_emit_acct(a, acct, "us-east-1", KM_UNKNOWN, "rule(s) %s match every IAM policy change, but their targets are not in the snapshot (events list-targets-by-rule)", rulesok);
        else if (nmiss == nev) {
            if (!diag[0]) elsewhere(a, acct, sample_events(docs, nev, &parsed), nev, diag, sizeof diag);
            km_emit_acct(a, acct, "us-east-1", KM_FAIL, "no enabled EventBridge rule with a target matches IAM policy changes in us-east-1%s%s",
                         diag[0] ? ": " : "", diag);
        }
        else
            km_emit_acct(a, acct, "us-east-1", KM_FAIL, "rule(s) %s miss %zu of %zu IAM policy-change calls: %s", rulesok, nmiss, nev, missing);
    }
    for (size_t e = 0; e < nev; e++) km_json_doc_free(docs[e]);
}

const km_check_impl km_chk_logs[] = {
    {"KMA-LOGS-KMS", chk_log_kms},
    {"KMA-LOGS-RETENTION", chk_log_retention},
    {"KMA-LOGS-CROSS-ACCOUNT-EXPORT", chk_cross_account},
    {"KMA-CW-ALARM-ROOT-USAGE", chk_alarm_root},
    {"KMA-CW-ALARM-CONSOLE-NO-MFA", chk_alarm_console_mfa},
    {"KMA-CW-ALARM-AUTH-FAILURES", chk_alarm_auth},
    {"KMA-CW-ALARM-IAM-POLICY-CHANGES", chk_alarm_iam},
    {"KMA-CW-ALARM-CLOUDTRAIL-CHANGES", chk_alarm_trail},
    {"KMA-CW-ALARM-KMS-KEY-DISABLE", chk_alarm_kms},
    {"KMA-CW-ALARM-S3-POLICY-CHANGES", chk_alarm_s3},
    {"KMA-CW-ALARM-CONFIG-CHANGES", chk_alarm_config},
    {"KMA-EVENTBRIDGE-IAM-POLICY-CHANGES", chk_eventbridge_iam},
    {NULL, NULL},
};
