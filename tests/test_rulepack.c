/* The built-in rule pack as data: every file in rules/ is a complete rule (docs/rules.md), the
 * pack covers the seven scenarios and every behaviour issue 2 lists, failed calls are handled
 * on purpose, and the examples are CloudTrail records written for the pack. Whether each
 * example matches its pattern is checked where the matcher runs (test_rulepack_match.c and
 * `kumomori rules test`). */
#include "test.h"
#include "kumomori/json.h"
#include "util/embedded.h"

#include <ctype.h>
#include <stdlib.h>

typedef struct loaded {
    const char *name;
    km_json_doc *doc;
} loaded;

static loaded *load_pack(size_t *n) {
    size_t cnt = 0;
    while (km_builtin_rules[cnt].name) cnt++;
    loaded *v = calloc(cnt ? cnt : 1, sizeof *v);
    if (!v) return NULL;
    size_t k = 0;
    for (size_t i = 0; i < cnt; i++) {
        km_error err;
        v[k].name = km_builtin_rules[i].name;
        v[k].doc = km_json_parse(km_builtin_rules[i].data, km_builtin_rules[i].len, NULL, NULL, &err);
        if (!v[k].doc) km_test_fail(__FILE__, __LINE__, "%s: %s", v[k].name, err.msg);
        /* sigma helper: thresholds and correlations (rules/stateful, docs/stateful.md) have their
         * own format and checks (tests/test_stateful.c) */
        const km_json *root = km_json_root(v[k].doc);
        if (root && (km_json_get(root, "threshold") || km_json_get(root, "correlation"))) {
            km_json_doc_free(v[k].doc);
            continue;
        }
        k++;
    }
    *n = k;
    return v;
}

/* Threshold and correlation rules (rules/stateful/, docs/stateful.md) share the metadata but not
 * the pattern or the examples' shape (sequences of records); their own tests cover those. */
static int stateful(const km_json *r) {
    return km_json_get(r, "threshold") != NULL || km_json_get(r, "correlation") != NULL;
}

static void free_pack(loaded *v, size_t n) {
    for (size_t i = 0; v && i < n; i++) km_json_doc_free(v[i].doc);
    free(v);
}

static int valid_id(const char *s) {
    if (!s || strncmp(s, "KM-", 3) != 0) return 0;
    const char *p = s + 3;
    if (!*p) return 0;
    for (int prev_dash = 1; *p; p++) {
        if (*p == '-') {
            if (prev_dash) return 0;
            prev_dash = 1;
        } else if (isupper((unsigned char)*p) || isdigit((unsigned char)*p)) {
            prev_dash = 0;
        } else {
            return 0;
        }
        if (!p[1] && *p == '-') return 0;
    }
    return 1;
}

/* T1234 or T1234.567 */
static int valid_mitre(const char *s) {
    if (!s || s[0] != 'T') return 0;
    for (int i = 1; i <= 4; i++)
        if (!isdigit((unsigned char)s[i])) return 0;
    if (s[5] == 0) return 1;
    if (s[5] != '.') return 0;
    for (int i = 6; i <= 8; i++)
        if (!isdigit((unsigned char)s[i])) return 0;
    return s[9] == 0;
}

static int nonempty_str(const km_json *v) {
    const char *s = km_json_str(v);
    return s && *s;
}

/* Whether the pattern names key anywhere (through objects and $or arrays). */
static int pattern_mentions(const km_json *v, const char *key) {
    if (km_json_is(v, KM_JSON_OBJECT)) {
        for (size_t i = 0; i < v->u.obj.n; i++) {
            if (strcmp(v->u.obj.members[i].key, key) == 0) return 1;
            if (pattern_mentions(v->u.obj.members[i].value, key)) return 1;
        }
    } else if (km_json_is(v, KM_JSON_ARRAY)) {
        for (size_t i = 0; i < v->u.arr.n; i++)
            if (pattern_mentions(v->u.arr.items[i], key)) return 1;
    }
    return 0;
}

/* Whether the pattern requires errorCode to be absent somewhere. */
static int excludes_failures(const km_json *v) {
    if (km_json_is(v, KM_JSON_OBJECT)) {
        for (size_t i = 0; i < v->u.obj.n; i++) {
            const km_json_member *m = &v->u.obj.members[i];
            if (strcmp(m->key, "errorCode") == 0 && km_json_is(m->value, KM_JSON_ARRAY)) {
                const km_json *e = km_json_at(m->value, 0);
                const km_json *ex = km_json_get(e, "exists");
                if (km_json_len(m->value) == 1 && km_json_is(ex, KM_JSON_FALSE)) return 1;
            }
            if (excludes_failures(m->value)) return 1;
        }
    } else if (km_json_is(v, KM_JSON_ARRAY)) {
        for (size_t i = 0; i < v->u.arr.n; i++)
            if (excludes_failures(v->u.arr.items[i])) return 1;
    }
    return 0;
}

TEST(rulepack_every_file_is_a_complete_rule) {
    size_t n = 0;
    loaded *pack = load_pack(&n);
    CHECK(pack);
    CHECK_MSG(n >= 60, "the built-in pack has %zu rules, issue 2 asks for at least 60", n);
    for (size_t i = 0; i < n; i++) {
        const km_json *r = km_json_root(pack[i].doc);
        const char *f = pack[i].name;
        int ok = km_json_is(r, KM_JSON_OBJECT);
        const char *why = ok ? NULL : "not a JSON object";
        const char *id = km_json_get_str(r, "id", NULL);
        const char *sev = km_json_get_str(r, "severity", "");
        const km_json *sc = km_json_get(r, "scenarios");
        const km_json *mitre = km_json_get(r, "mitre");
        const km_json *refs = km_json_get(r, "references");
        const km_json *ex = km_json_get(r, "examples");
        if (!why && strncmp(f, "rules/", 6) != 0) why = "file is not under rules/";
        if (!why && !valid_id(id)) why = "id is not KM- followed by upper-case words joined by -";
        if (!why && !nonempty_str(km_json_get(r, "title"))) why = "no title";
        if (!why && (!nonempty_str(km_json_get(r, "description")) || strlen(km_json_get_str(r, "description", "")) < 80))
            why = "description missing or shorter than 80 characters";
        if (!why && strcmp(sev, "critical") && strcmp(sev, "high") && strcmp(sev, "medium") && strcmp(sev, "low") &&
            strcmp(sev, "info"))
            why = "severity is not critical/high/medium/low/info";
        if (!why && (!km_json_is(sc, KM_JSON_ARRAY) || km_json_len(sc) == 0)) why = "scenarios missing or empty";
        for (size_t j = 0; !why && j < km_json_len(sc); j++) {
            const char *s = km_json_str(km_json_at(sc, j));
            if (!s || s[0] != 'S' || s[1] < '1' || s[1] > '7' || s[2]) why = "a scenario is not S1..S7";
            for (size_t k = 0; !why && k < j; k++)
                if (strcmp(s, km_json_str(km_json_at(sc, k))) == 0) why = "a scenario is listed twice";
        }
        if (!why && !km_json_is(mitre, KM_JSON_ARRAY)) why = "mitre is not an array";
        for (size_t j = 0; !why && j < km_json_len(mitre); j++)
            if (!valid_mitre(km_json_str(km_json_at(mitre, j)))) why = "a MITRE id is not Tnnnn or Tnnnn.nnn";
        if (!why && (!km_json_is(refs, KM_JSON_ARRAY) || km_json_len(refs) == 0)) why = "no references";
        for (size_t j = 0; !why && j < km_json_len(refs); j++) {
            const char *u = km_json_str(km_json_at(refs, j));
            if (!u || strncmp(u, "https://", 8) != 0) why = "a reference is not an https URL";
        }
        if (!why && !nonempty_str(km_json_get(r, "response"))) why = "no response hint";
        if (!why && !stateful(r) && !km_json_is(km_json_get(r, "pattern"), KM_JSON_OBJECT)) why = "pattern is not an object";
        if (!why && (km_json_len(km_json_get(ex, "match")) == 0 || km_json_len(km_json_get(ex, "no_match")) == 0))
            why = "examples need at least one match and one no_match record";
        km_test_case(why == NULL, "%s (%s)%s%s", f, id ? id : "?", why ? ": " : "", why ? why : "");
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            const char *a = km_json_get_str(km_json_root(pack[i].doc), "id", "");
            const char *b = km_json_get_str(km_json_root(pack[j].doc), "id", "");
            CHECK_MSG(strcmp(a, b) != 0, "rule id %s is used by %s and %s", a, pack[i].name, pack[j].name);
        }
    free_pack(pack, n);
}

static const km_json *find_rule(loaded *pack, size_t n, const char *id) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(km_json_get_str(km_json_root(pack[i].doc), "id", ""), id) == 0) return km_json_root(pack[i].doc);
    return NULL;
}

/* Each behaviour the issue names for pack v1, and the rule that covers it. */
static const struct { const char *behaviour, *rule; } required[] = {
    {"S3 re-encryption with SSE-C (CopyObject)", "KM-S3-SSEC-REENCRYPT"},
    {"S3 upload with SSE-C (PutObject)", "KM-S3-SSEC-UPLOAD"},
    {"DeleteObject", "KM-S3-DELETE-OBJECT"},
    {"DeleteObjects", "KM-S3-DELETE-OBJECTS-BATCH"},
    {"PutBucketVersioning Suspended", "KM-S3-VERSIONING-SUSPENDED"},
    {"lifecycle rules that expire data", "KM-S3-LIFECYCLE-EXPIRY"},
    {"lifecycle rules that expire data quickly", "KM-S3-LIFECYCLE-SHORT-EXPIRY"},
    {"ransom-note uploads", "KM-S3-RANSOM-NOTE"},
    {"bucket policy opened to everyone", "KM-S3-BUCKET-POLICY-PUBLIC"},
    {"bucket ACL opened to everyone", "KM-S3-BUCKET-ACL-PUBLIC"},
    {"KMS ScheduleKeyDeletion", "KM-KMS-SCHEDULE-KEY-DELETION"},
    {"KMS DisableKey", "KM-KMS-DISABLE-KEY"},
    {"key policy granting another account", "KM-KMS-KEY-POLICY-CHANGED"},
    {"key policy granting everyone", "KM-KMS-KEY-POLICY-PUBLIC"},
    {"key policy locking the owner out", "KM-KMS-KEY-POLICY-LOCKOUT-BYPASS"},
    {"external key material (CreateKey)", "KM-KMS-EXTERNAL-KEY-CREATED"},
    {"external key material (import)", "KM-KMS-IMPORT-KEY-MATERIAL"},
    {"external key material (deletion)", "KM-KMS-DELETE-IMPORTED-KEY-MATERIAL"},
    {"CloudTrail StopLogging", "KM-CLOUDTRAIL-STOP-LOGGING"},
    {"CloudTrail DeleteTrail", "KM-CLOUDTRAIL-DELETE-TRAIL"},
    {"UpdateTrail disabling validation", "KM-CLOUDTRAIL-VALIDATION-DISABLED"},
    {"PutEventSelectors dropping events", "KM-CLOUDTRAIL-EVENT-SELECTORS-REDUCED"},
    {"GuardDuty deletion", "KM-GUARDDUTY-DETECTOR-DELETED"},
    {"GuardDuty disabling", "KM-GUARDDUTY-DETECTOR-DISABLED"},
    {"Config disabling or deletion", "KM-CONFIG-RECORDING-STOPPED"},
    {"Security Hub disabling", "KM-SECURITYHUB-DISABLED"},
    {"CloudWatch Logs deletion", "KM-LOGS-LOG-GROUP-DELETED"},
    {"EventBridge rule disabling or deletion", "KM-EVENTBRIDGE-RULE-DISABLED"},
    {"VPC flow log deletion", "KM-VPC-FLOW-LOGS-DELETED"},
    {"AWS Backup recovery point deletion", "KM-BACKUP-RECOVERY-POINT-DELETED"},
    {"AWS Backup vault deletion", "KM-BACKUP-VAULT-DELETED"},
    {"AWS Backup plan deletion", "KM-BACKUP-PLAN-DELETED"},
    {"AWS Backup vault-lock deletion", "KM-BACKUP-VAULT-LOCK-DELETED"},
    {"AWS Backup vault access policy changes", "KM-BACKUP-VAULT-ACCESS-POLICY-CHANGED"},
    {"RDS snapshot deletion", "KM-RDS-SNAPSHOT-DELETED"},
    {"RDS snapshot shared with another account", "KM-RDS-SNAPSHOT-SHARED-ACCOUNT"},
    {"RDS snapshot shared with all", "KM-RDS-SNAPSHOT-SHARED-PUBLIC"},
    {"EBS snapshot deletion", "KM-EC2-SNAPSHOT-DELETED"},
    {"EBS snapshot shared with another account", "KM-EC2-SNAPSHOT-SHARED-ACCOUNT"},
    {"EBS snapshot shared with all", "KM-EC2-SNAPSHOT-SHARED-PUBLIC"},
    {"RDS made public", "KM-RDS-PUBLICLY-ACCESSIBLE"},
    {"RDS master password changed", "KM-RDS-MASTER-PASSWORD-CHANGED"},
    {"RDS deletion without final snapshot", "KM-RDS-DELETED-WITHOUT-FINAL-SNAPSHOT"},
    {"RDS backup retention set to 0", "KM-RDS-BACKUP-RETENTION-ZERO"},
    {"security group open on database ports", "KM-EC2-SG-DB-PORT-OPEN-TO-WORLD"},
    {"security group open on admin ports", "KM-EC2-SG-ADMIN-PORT-OPEN-TO-WORLD"},
    {"IAM CreateUser", "KM-IAM-USER-CREATED"},
    {"IAM CreateAccessKey", "KM-IAM-ACCESS-KEY-CREATED"},
    {"AttachUserPolicy AdministratorAccess", "KM-IAM-ADMIN-POLICY-ATTACHED"},
    {"CreateLoginProfile", "KM-IAM-LOGIN-PROFILE-CREATED"},
    {"UpdateAssumeRolePolicy trusting an outside account", "KM-IAM-ROLE-TRUST-ACCOUNT-ROOT"},
    {"console login without MFA", "KM-SIGNIN-CONSOLE-NO-MFA"},
    {"root activity", "KM-ROOT-ACTIVITY"},
    {"root console login", "KM-ROOT-CONSOLE-LOGIN"},
    {"task definitions pulling images from outside ECR", "KM-ECS-IMAGE-OUTSIDE-ECR"},
    {"task definitions running download-and-execute commands", "KM-ECS-DOWNLOAD-AND-EXECUTE"},
    {"the strategy's EventBridge rule on IAM user policy changes", "KM-IAM-USER-INLINE-POLICY-CHANGED"},
};

TEST(rulepack_covers_the_issue_and_every_scenario) {
    size_t n = 0;
    loaded *pack = load_pack(&n);
    CHECK(pack);
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        km_test_case(find_rule(pack, n, required[i].rule) != NULL, "%s is covered by %s", required[i].behaviour,
                     required[i].rule);
    int per[8] = {0};
    for (size_t i = 0; i < n; i++) {
        const km_json *sc = km_json_get(km_json_root(pack[i].doc), "scenarios");
        for (size_t j = 0; j < km_json_len(sc); j++) {
            const char *s = km_json_str(km_json_at(sc, j));
            if (s && s[0] == 'S' && s[1] >= '1' && s[1] <= '7') per[s[1] - '0']++;
        }
    }
    for (int s = 1; s <= 7; s++) km_test_case(per[s] >= 3, "scenario S%d has %d rules (at least 3)", s, per[s]);
    free_pack(pack, n);
}

/* Rules that match failed calls on purpose, and why. Every other rule must exclude them. */
static const struct { const char *rule, *why; } failures_on_purpose[] = {
    {"KM-ORGANIZATION-LEAVE-ATTEMPT", "the attempt to leave matters even when denied"},
    {"KM-TAMPER-ATTEMPT-DENIED", "matches only authorisation failures"},
    {"KM-RECON-ACCESS-DENIED", "matches only authorisation failures"},
    {"KM-OFFENSIVE-TOOL-USER-AGENT", "calls from attack tooling matter whether or not they succeed"},
    {"KM-SIGNIN-CONSOLE-NO-MFA", "sign-in success is responseElements.ConsoleLogin, not errorCode"},
    {"KM-ROOT-CONSOLE-LOGIN", "sign-in success is responseElements.ConsoleLogin, not errorCode"},
};

TEST(rulepack_failed_calls_are_handled_on_purpose) {
    size_t n = 0;
    loaded *pack = load_pack(&n);
    CHECK(pack);
    for (size_t i = 0; i < n; i++) {
        const km_json *r = km_json_root(pack[i].doc);
        const char *id = km_json_get_str(r, "id", "?");
        const km_json *pat = km_json_get(r, "pattern");
        if (stateful(r)) continue;
        const char *on_purpose = NULL;
        for (size_t k = 0; k < sizeof failures_on_purpose / sizeof failures_on_purpose[0]; k++)
            if (strcmp(id, failures_on_purpose[k].rule) == 0) on_purpose = failures_on_purpose[k].why;
        if (on_purpose) {
            km_test_case(!excludes_failures(pat), "%s matches failed calls on purpose (%s)", id, on_purpose);
            continue;
        }
        int excl = excludes_failures(pat);
        /* A rule that drops failed calls must prove it with a failed call among its no_match. */
        int has_failed_negative = 0;
        const km_json *neg = km_json_path(r, "examples.no_match");
        for (size_t j = 0; j < km_json_len(neg); j++)
            if (km_json_get(km_json_at(neg, j), "errorCode")) has_failed_negative = 1;
        km_test_case(excl && has_failed_negative && pattern_mentions(pat, "errorCode"),
                     "%s excludes failed calls (errorCode exists:false) and has a failed call among its no_match "
                     "examples", id);
    }
    free_pack(pack, n);
}

TEST(rulepack_examples_are_cloudtrail_records_of_their_own) {
    size_t n = 0;
    loaded *pack = load_pack(&n);
    CHECK(pack);
    size_t cap = 4096, used = 0;
    const char **ids = calloc(cap, sizeof *ids);
    CHECK(ids);
    for (size_t i = 0; i < n; i++) {
        const km_json *r = km_json_root(pack[i].doc);
        const char *rid = km_json_get_str(r, "id", "?");
        if (stateful(r)) continue;
        const char *kinds[] = {"match", "no_match"};
        const char *why = NULL;
        for (int k = 0; k < 2 && !why; k++) {
            const km_json *list = km_json_get(km_json_get(r, "examples"), kinds[k]);
            for (size_t j = 0; j < km_json_len(list) && !why; j++) {
                const km_json *e = km_json_at(list, j);
                const char *src = km_json_get_str(e, "eventSource", "");
                size_t sl = strlen(src);
                if (!km_json_is(e, KM_JSON_OBJECT)) why = "an example is not an object";
                else if (sl < 15 || strcmp(src + sl - 14, ".amazonaws.com") != 0) why = "eventSource is not <service>.amazonaws.com";
                else if (!nonempty_str(km_json_get(e, "eventName"))) why = "no eventName";
                else if (!nonempty_str(km_json_get(e, "eventTime"))) why = "no eventTime";
                else if (!nonempty_str(km_json_get(e, "eventVersion"))) why = "no eventVersion";
                else if (!nonempty_str(km_json_get(e, "awsRegion"))) why = "no awsRegion";
                else if (!nonempty_str(km_json_get(e, "recipientAccountId"))) why = "no recipientAccountId";
                else if (!nonempty_str(km_json_path(e, "userIdentity.type"))) why = "no userIdentity.type";
                else if (!nonempty_str(km_json_get(e, "eventType"))) why = "no eventType";
                else {
                    const char *eid = km_json_get_str(e, "eventID", NULL);
                    if (!eid) why = "no eventID";
                    for (size_t q = 0; !why && q < used; q++)
                        if (strcmp(ids[q], eid) == 0) why = "eventID repeated: examples must be records of their own";
                    if (!why && used < cap) ids[used++] = eid;
                }
            }
        }
        km_test_case(why == NULL, "%s examples%s%s", rid, why ? ": " : "", why ? why : "");
    }
    free(ids);
    free_pack(pack, n);
}
