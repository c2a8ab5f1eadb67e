/* IAM: MFA everywhere (users, administrators, root), root hygiene, key rotation and unused
 * credentials, password policy, "*" on "*" policies, privilege escalation paths, session
 * length, Identity Center, IAM Access Analyzer. */
#include "audit/check.h"
#include "audit/iamfacts.h"
#include "audit/policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Run fn for every non-root row of each account's credential report; one UNKNOWN per account
 * when the report cannot be read. */
typedef void (*row_fn)(km_audit *a, const char *acct, const km_cred_report *r, size_t row);

static void each_user_row(km_audit *a, row_fn fn) {
    for (size_t i = 0; i < km_naccounts(a); i++) {
        const char *acct = km_account(a, i);
        km_begin(a, NULL);
        const km_cred_report *r = km_cred_report_get(a, acct);
        km_ev_item(a, &r->item);
        if (!r->ok) {
            km_emit_acct(a, acct, NULL, KM_UNKNOWN, "%s", r->why);
            continue;
        }
        km_ev_sticky(a);
        for (size_t row = 0; row < r->nrows; row++) {
            if (!strcmp(km_cr(r, row, CR_USER), "<root_account>")) continue;
            km_begin(a, NULL);
            fn(a, acct, r, row);
        }
        a->ev_mark = 0;
    }
}

static void row_console_mfa(km_audit *a, const char *acct, const km_cred_report *r, size_t row) {
    if (!km_cr_true(r, row, CR_PW_ENABLED)) return;
    if (km_cr_true(r, row, CR_MFA)) km_cr_emit(a, acct, r, row, KM_PASS, "console password with MFA");
    else km_cr_emit(a, acct, r, row, KM_FAIL, "console password without MFA: a stolen password is enough to sign in");
}

static void chk_console_mfa(km_audit *a) { each_user_row(a, row_console_mfa); }

static void row_user_mfa(km_audit *a, const char *acct, const km_cred_report *r, size_t row) {
    if (km_cr_true(r, row, CR_MFA)) km_cr_emit(a, acct, r, row, KM_PASS, "MFA device active");
    else km_cr_emit(a, acct, r, row, KM_FAIL, "no MFA device%s",
                    km_cr_true(r, row, CR_K1_ACTIVE) || km_cr_true(r, row, CR_K2_ACTIVE) ? " (has active access keys)" : "");
}

static void chk_user_mfa(km_audit *a) { each_user_row(a, row_user_mfa); }

static int row_of(const km_cred_report *r, const char *arn) {
    for (size_t row = 0; row < r->nrows; row++)
        if (!strcmp(km_cr(r, row, CR_ARN), arn)) return (int)row;
    return -1;
}

static void chk_admin_mfa(km_audit *a) {
    size_t n;
    const km_res *const *v = km_all(a, "AWS::IAM::User", &n);
    for (size_t i = 0; i < n; i++) {
        const km_res *u = v[i];
        if (km_begin(a, u)) continue;
        char why[400];
        int adm = km_iam_user_admin(a, u, why, sizeof why);
        if (adm == 0) continue;
        if (adm < 0) {
            km_emit(a, u, KM_UNKNOWN, "cannot tell whether %s is an administrator: one of its groups is not in the snapshot", u->name);
            continue;
        }
        const km_cred_report *r = km_cred_report_get(a, u->account);
        km_ev_item(a, &r->item);
        if (!r->ok) { km_emit(a, u, KM_UNKNOWN, "administrator (%s); %s", why, r->why); continue; }
        int row = u->arn ? row_of(r, u->arn) : -1;
        if (row < 0) { km_emit(a, u, KM_UNKNOWN, "administrator (%s); not in the credential report", why); continue; }
        if (km_cr_true(r, (size_t)row, CR_MFA)) km_emit(a, u, KM_PASS, "administrator with MFA (%s)", why);
        else km_emit(a, u, KM_FAIL, "administrator without MFA (%s)", why);
    }
}

static void chk_admin_users(km_audit *a) {
    km_listing_unknown(a, "AWS::IAM::User", "iam get-account-authorization-details");
    size_t n;
    const km_res *const *v = km_all(a, "AWS::IAM::User", &n);
    for (size_t i = 0; i < n; i++) {
        const km_res *u = v[i];
        if (km_begin(a, u)) continue;
        char why[400];
        int adm = km_iam_user_admin(a, u, why, sizeof why);
        if (adm < 0) km_emit(a, u, KM_UNKNOWN, "cannot tell: a group of %s is not in the snapshot", u->name);
        else if (adm) km_emit(a, u, KM_FAIL, "IAM user with long-term credentials holds administrator rights: %s", why);
        else km_emit(a, u, KM_PASS, "no administrator rights");
    }
}

/* ---- root ---- */

static int root_row(const km_cred_report *r) {
    for (size_t row = 0; row < r->nrows; row++)
        if (!strcmp(km_cr(r, row, CR_USER), "<root_account>")) return (int)row;
    return -1;
}

static void chk_root_mfa(km_audit *a) {
    for (size_t i = 0; i < km_naccounts(a); i++) {
        const char *acct = km_account(a, i);
        km_begin(a, NULL);
        const km_cred_report *r = km_cred_report_get(a, acct);
        km_item sum = km_get(a, acct, "global", "iam", "get-account-summary", NULL);
        km_ev_item(a, &r->item);
        double mfa;
        if (sum.status == KM_DATA_OK && km_json_num(km_ci_path(sum.json, "SummaryMap.AccountMFAEnabled"), &mfa) == 0 && mfa == 1) {
            km_emit_acct(a, acct, NULL, KM_PASS, "root user has MFA (AccountMFAEnabled = 1)");
            continue;
        }
        int row = r->ok ? root_row(r) : -1;
        if (row >= 0) {
            size_t rr = (size_t)row;
            if (km_cr_true(r, rr, CR_MFA)) km_emit_acct(a, acct, NULL, KM_PASS, "root user has MFA");
            else if (!km_cr_true(r, rr, CR_PW_ENABLED) && strcmp(km_cr(r, rr, CR_PW_ENABLED), "not_supported") &&
                     !km_cr_true(r, rr, CR_K1_ACTIVE) && !km_cr_true(r, rr, CR_K2_ACTIVE))
                km_emit_acct(a, acct, NULL, KM_PASS, "root user has no password and no access key (centrally managed root)");
            else km_emit_acct(a, acct, NULL, KM_FAIL, "root user without MFA");
            continue;
        }
        if (sum.status == KM_DATA_OK && km_json_num(km_ci_path(sum.json, "SummaryMap.AccountMFAEnabled"), &mfa) == 0) {
            km_emit_acct(a, acct, NULL, KM_FAIL, "root user without MFA (AccountMFAEnabled = 0)");
            continue;
        }
        km_emit_acct(a, acct, NULL, KM_UNKNOWN, "%s", r->ok ? "cannot tell: no <root_account> row in the credential report" : r->why);
    }
}

static void chk_root_hw_mfa(km_audit *a) {
    for (size_t i = 0; i < km_naccounts(a); i++) {
        const char *acct = km_account(a, i);
        km_begin(a, NULL);
        km_item sum = km_get(a, acct, "global", "iam", "get-account-summary", NULL);
        if (km_unknown_acct(a, acct, NULL, &sum, "iam get-account-summary")) continue;
        double mfa = 0;
        km_json_num(km_ci_path(sum.json, "SummaryMap.AccountMFAEnabled"), &mfa);
        if (mfa != 1) { km_emit_acct(a, acct, NULL, KM_FAIL, "root user has no MFA at all"); continue; }
        km_item vm = km_get(a, acct, "global", "iam", "list-virtual-mfa-devices", NULL);
        if (km_unknown_acct(a, acct, NULL, &vm, "iam list-virtual-mfa-devices")) continue;
        const km_json *devs = km_ci_get(vm.json, "VirtualMFADevices");
        int virt = 0;
        for (size_t k = 0; k < km_json_len(devs); k++) {
            const km_json *d = km_json_at(devs, k);
            const char *sn = km_ci_str(d, "SerialNumber");
            const char *ua = km_ci_str(km_ci_get(d, "User"), "Arn");
            if ((sn && strstr(sn, "root-account-mfa-device")) || (ua && km_str_ends(ua, ":root"))) virt = 1;
        }
        if (virt) km_emit_acct(a, acct, NULL, KM_FAIL, "root user's MFA is a virtual device (an app on a phone or laptop), not hardware");
        else km_emit_acct(a, acct, NULL, KM_PASS, "root user's MFA is a hardware device");
    }
}

static void chk_root_keys(km_audit *a) {
    for (size_t i = 0; i < km_naccounts(a); i++) {
        const char *acct = km_account(a, i);
        km_begin(a, NULL);
        km_item sum = km_get(a, acct, "global", "iam", "get-account-summary", NULL);
        double keys;
        if (sum.status == KM_DATA_OK && km_json_num(km_ci_path(sum.json, "SummaryMap.AccountAccessKeysPresent"), &keys) == 0) {
            if (keys > 0) km_emit_acct(a, acct, NULL, KM_FAIL, "the root user has an access key");
            else km_emit_acct(a, acct, NULL, KM_PASS, "the root user has no access key");
            continue;
        }
        const km_cred_report *r = km_cred_report_get(a, acct);
        km_ev_item(a, &r->item);
        int row = r->ok ? root_row(r) : -1;
        if (row < 0) {
            char buf[600];
            km_emit_acct(a, acct, NULL, KM_UNKNOWN, "%s", r->ok ? km_item_why(&sum, "iam get-account-summary", buf, sizeof buf) : r->why);
            continue;
        }
        if (km_cr_true(r, (size_t)row, CR_K1_ACTIVE) || km_cr_true(r, (size_t)row, CR_K2_ACTIVE))
            km_emit_acct(a, acct, NULL, KM_FAIL, "the root user has an active access key");
        else km_emit_acct(a, acct, NULL, KM_PASS, "the root user has no active access key");
    }
}

static void chk_root_use(km_audit *a) {
    for (size_t i = 0; i < km_naccounts(a); i++) {
        const char *acct = km_account(a, i);
        km_begin(a, NULL);
        const km_cred_report *r = km_cred_report_get(a, acct);
        km_ev_item(a, &r->item);
        int row = r->ok ? root_row(r) : -1;
        if (row < 0) {
            km_emit_acct(a, acct, NULL, KM_UNKNOWN, "%s", r->ok ? "cannot tell: no <root_account> row in the credential report" : r->why);
            continue;
        }
        double best = -1;
        const char *how = NULL;
        int cols[3] = {CR_PW_LAST_USED, CR_K1_USED, CR_K2_USED};
        const char *names[3] = {"signed in", "used access key 1", "used access key 2"};
        for (int k = 0; k < 3; k++) {
            double d = km_cr_age(a, r, (size_t)row, cols[k]);
            if (d >= 0 && (best < 0 || d < best)) { best = d; how = names[k]; }
        }
        if (best >= 0 && best <= 7) km_emit_acct(a, acct, NULL, KM_FAIL, "the root user %s %.0f day(s) ago", how, best);
        else if (best >= 0) km_emit_acct(a, acct, NULL, KM_PASS, "the root user was last used %.0f days ago", best);
        else km_emit_acct(a, acct, NULL, KM_PASS, "no recorded use of the root user");
    }
}

/* ---- keys and unused credentials ---- */

static void row_rotation(km_audit *a, const char *acct, const km_cred_report *r, size_t row) {
    int any = 0;
    for (int k = 0; k < 2; k++) {
        int act = k ? CR_K2_ACTIVE : CR_K1_ACTIVE, rot = k ? CR_K2_ROTATED : CR_K1_ROTATED;
        if (!km_cr_true(r, row, act)) continue;
        any = 1;
        double age = km_cr_age(a, r, row, rot);
        if (age > (double)a->opts.key_max_age_days) {
            km_cr_emit(a, acct, r, row, KM_FAIL, "access key %d is %.0f days old (limit %ld)", k + 1, age, a->opts.key_max_age_days);
            return;
        }
    }
    if (any) km_cr_emit(a, acct, r, row, KM_PASS, "active access keys rotated within %ld days", a->opts.key_max_age_days);
}

static void chk_key_rotation(km_audit *a) { each_user_row(a, row_rotation); }

static void row_unused(km_audit *a, const char *acct, const km_cred_report *r, size_t row) {
    long lim = a->opts.unused_days;
    char why[300] = "";
    int any = 0;
    if (km_cr_true(r, row, CR_PW_ENABLED)) {
        any = 1;
        double used = km_cr_age(a, r, row, CR_PW_LAST_USED);
        double since = used >= 0 ? used : km_cr_age(a, r, row, CR_PW_CHANGED);
        if (since < 0) since = km_cr_age(a, r, row, CR_CREATED);
        if (since > (double)lim)
            snprintf(why, sizeof why, "console password %s %.0f days", used >= 0 ? "unused for" : "never used in", since);
    }
    for (int k = 0; k < 2 && !why[0]; k++) {
        int act = k ? CR_K2_ACTIVE : CR_K1_ACTIVE, used_c = k ? CR_K2_USED : CR_K1_USED, rot = k ? CR_K2_ROTATED : CR_K1_ROTATED;
        if (!km_cr_true(r, row, act)) continue;
        any = 1;
        double used = km_cr_age(a, r, row, used_c);
        double since = used >= 0 ? used : km_cr_age(a, r, row, rot);
        if (since > (double)lim)
            snprintf(why, sizeof why, "access key %d %s %.0f days", k + 1, used >= 0 ? "unused for" : "never used in", since);
    }
    if (!any) return;
    if (why[0]) km_cr_emit(a, acct, r, row, KM_FAIL, "%s (limit %ld): a forgotten credential of a former employee still works", why, lim);
    else km_cr_emit(a, acct, r, row, KM_PASS, "every active credential used within %ld days", lim);
}

static void chk_unused(km_audit *a) { each_user_row(a, row_unused); }

static void row_keys(km_audit *a, const char *acct, const km_cred_report *r, size_t row) {
    int n = km_cr_true(r, row, CR_K1_ACTIVE) + km_cr_true(r, row, CR_K2_ACTIVE);
    if (n) km_cr_emit(a, acct, r, row, KM_FAIL, "%d active long-term access key(s): a copy on a laptop works anywhere until revoked", n);
    else km_cr_emit(a, acct, r, row, KM_PASS, "no active access key");
}

static void chk_user_keys(km_audit *a) { each_user_row(a, row_keys); }

/* ---- password policy ---- */

static void password_check(km_audit *a, const char *field, long min, const char *what) {
    for (size_t i = 0; i < km_naccounts(a); i++) {
        const char *acct = km_account(a, i);
        km_begin(a, NULL);
        km_item pp = km_get(a, acct, "global", "iam", "get-account-password-policy", NULL);
        if (km_unknown_acct(a, acct, NULL, &pp, "iam get-account-password-policy")) continue;
        if (pp.status == KM_DATA_ABSENT) {
            km_emit_acct(a, acct, NULL, KM_FAIL, "no account password policy (%s): AWS defaults apply", pp.code);
            continue;
        }
        double v = 0;
        if (km_json_num(km_ci_path(pp.json, field), &v) != 0) v = 0;
        if (v >= (double)min) km_emit_acct(a, acct, NULL, KM_PASS, "%s is %.0f", what, v);
        else km_emit_acct(a, acct, NULL, KM_FAIL, "%s is %.0f, below %ld", what, v, min);
    }
}

static void chk_pw_length(km_audit *a) { password_check(a, "PasswordPolicy.MinimumPasswordLength", 14, "minimum password length"); }
static void chk_pw_reuse(km_audit *a) { password_check(a, "PasswordPolicy.PasswordReusePrevention", 24, "password reuse prevention"); }

/* ---- policies ---- */

typedef void (*doc_fn)(km_audit *a, const km_res *owner, const char *what, const km_json *doc);

/* Customer managed policies (default version) and every inline policy. */
static void each_policy_doc(km_audit *a, doc_fn fn) {
    size_t n;
    const km_res *const *v = km_all(a, "AWS::IAM::Policy", &n);
    for (size_t i = 0; i < n; i++) {
        const km_res *p = v[i];
        if (p->arn && strstr(p->arn, ":aws:policy/")) continue; /* AWS managed */
        if (km_begin(a, p)) continue;
        const km_json *doc = km_iam_policy_doc(a, p);
        if (!doc) { km_emit(a, p, KM_UNKNOWN, "cannot tell: the default version's document is not in the snapshot"); continue; }
        fn(a, p, "policy", doc);
    }
    static const struct { const char *type, *list; } inl[] = {
        {"AWS::IAM::User", "UserPolicyList"}, {"AWS::IAM::Group", "GroupPolicyList"}, {"AWS::IAM::Role", "RolePolicyList"}};
    for (size_t t = 0; t < 3; t++) {
        const km_res *const *pv = km_all(a, inl[t].type, &n);
        for (size_t i = 0; i < n; i++) {
            const km_json *list = km_res_get(pv[i], inl[t].list);
            for (size_t k = 0; k < km_json_len(list); k++) {
                const km_json *e = km_json_at(list, k);
                if (km_begin(a, pv[i])) continue;
                const km_json *doc = km_snap_embedded(a->snap, km_ci_get(e, "PolicyDocument"), NULL);
                char what[300];
                snprintf(what, sizeof what, "inline policy %s", km_ci_str(e, "PolicyName") ? km_ci_str(e, "PolicyName") : "?");
                if (!doc) { km_emit(a, pv[i], KM_UNKNOWN, "cannot tell: %s is not readable JSON", what); continue; }
                fn(a, pv[i], what, doc);
            }
        }
    }
}

static void doc_star(km_audit *a, const km_res *owner, const char *what, const km_json *doc) {
    if (km_iam_doc_star(doc)) km_emit(a, owner, KM_FAIL, "%s allows every action on every resource (\"*\" on \"*\")", what);
    else km_emit(a, owner, KM_PASS, "%s does not grant \"*\" on \"*\"", what);
}

static void chk_star(km_audit *a) {
    km_listing_unknown(a, "AWS::IAM::Policy", "iam get-account-authorization-details");
    each_policy_doc(a, doc_star);
}

static const char *const privesc[][4] = {
    {"iam:CreatePolicyVersion", NULL}, {"iam:SetDefaultPolicyVersion", NULL},
    {"iam:PassRole", "ec2:RunInstances", NULL}, {"iam:CreateAccessKey", NULL}, {"iam:CreateLoginProfile", NULL},
    {"iam:UpdateLoginProfile", NULL}, {"iam:AttachUserPolicy", NULL}, {"iam:AttachGroupPolicy", NULL},
    {"iam:AttachRolePolicy", NULL}, {"iam:PutUserPolicy", NULL}, {"iam:PutGroupPolicy", NULL},
    {"iam:PutRolePolicy", NULL}, {"iam:AddUserToGroup", NULL}, {"iam:UpdateAssumeRolePolicy", "sts:AssumeRole", NULL},
    {"iam:PassRole", "lambda:CreateFunction", "lambda:InvokeFunction", NULL},
    {"iam:PassRole", "lambda:CreateFunction", "lambda:CreateEventSourceMapping", NULL},
    {"lambda:UpdateFunctionCode", NULL}, {"iam:PassRole", "glue:CreateDevEndpoint", NULL},
    {"glue:UpdateDevEndpoint", NULL}, {"iam:PassRole", "cloudformation:CreateStack", NULL},
    {"iam:PassRole", "datapipeline:CreatePipeline", "datapipeline:PutPipelineDefinition", NULL},
    {"iam:PassRole", "sagemaker:CreateNotebookInstance", "sagemaker:CreatePresignedNotebookInstanceUrl", NULL},
};

static void doc_privesc(km_audit *a, const km_res *owner, const char *what, const km_json *doc) {
    if (km_iam_doc_star(doc)) return; /* reported as "*" on "*" */
    char found[600] = "";
    int nfound = 0;
    for (size_t c = 0; c < sizeof privesc / sizeof privesc[0]; c++) {
        int all = 1;
        for (int k = 0; privesc[c][k] && all; k++) all = km_pol_allows(doc, privesc[c][k]);
        if (!all) continue;
        nfound++;
        char combo[200] = "";
        for (int k = 0; privesc[c][k]; k++) {
            km_join(combo, sizeof combo, "+", privesc[c][k]);
        }
        km_join(found, sizeof found, ", ", combo);
    }
    if (nfound) km_emit(a, owner, KM_FAIL, "%s allows privilege escalation: %s", what, found);
    else km_emit(a, owner, KM_PASS, "%s has no known privilege-escalation combination", what);
}

static void chk_privesc(km_audit *a) { each_policy_doc(a, doc_privesc); }

/* ---- sessions and roles ---- */

static int human_trust(km_audit *a, const km_res *role, int *unknown) {
    *unknown = 0;
    const km_json *doc = km_snap_embedded(a->snap, km_res_get(role, "AssumeRolePolicyDocument"), NULL);
    if (!doc) { *unknown = 1; return 0; }
    for (size_t i = 0; i < km_pol_nstmts(doc); i++) {
        const km_json *st = km_pol_stmt(doc, i);
        if (!km_stmt_allow(st)) continue;
        const km_json *p = km_ci_get(st, "Principal");
        if (p && p->type == KM_JSON_STRING && !strcmp(p->u.str.s, "*")) return 1;
        if (km_ci_get(p, "AWS") || km_ci_get(p, "Federated")) return 1;
    }
    return 0;
}

static int service_linked(const km_res *role) {
    const char *path = km_json_str(km_res_get(role, "Path"));
    return path && km_str_starts(path, "/aws-service-role/");
}

static void chk_role_session(km_audit *a) {
    size_t n;
    const km_res *const *v = km_all(a, "AWS::IAM::Role", &n);
    for (size_t i = 0; i < n; i++) {
        const km_res *r = v[i];
        if (service_linked(r)) continue;
        if (km_begin(a, r)) continue;
        int unk;
        if (!human_trust(a, r, &unk)) {
            if (unk) km_emit(a, r, KM_UNKNOWN, "cannot tell who can assume the role: its trust policy is not in the snapshot");
            continue;
        }
        double d;
        if (km_json_num(km_res_get(r, "MaxSessionDuration"), &d) != 0) {
            km_emit(a, r, KM_UNKNOWN, "cannot tell: MaxSessionDuration is not in the snapshot (iam list-roles; get-account-authorization-details does not return it)");
            continue;
        }
        if (d > (double)a->opts.max_session_seconds)
            km_emit(a, r, KM_FAIL, "sessions of this role assumable by people last up to %.1f h (limit %.1f h)", d / 3600.0,
                    (double)a->opts.max_session_seconds / 3600.0);
        else km_emit(a, r, KM_PASS, "maximum session %.1f h", d / 3600.0);
    }
}

/* ISO-8601 duration "PT1H30M" in seconds, or -1. */
static long iso_duration(const char *s) {
    if (!s || s[0] != 'P') return -1;
    long total = 0, v = 0;
    int in_time = 0, digits = 0;
    for (const char *p = s + 1; *p; p++) {
        if (*p == 'T') { in_time = 1; continue; }
        if (*p >= '0' && *p <= '9') { v = v * 10 + (*p - '0'); digits = 1; if (v > 100000000) return -1; continue; }
        if (!digits) return -1;
        if (*p == 'D' && !in_time) total += v * 86400;
        else if (*p == 'H' && in_time) total += v * 3600;
        else if (*p == 'M' && in_time) total += v * 60;
        else if (*p == 'S' && in_time) total += v;
        else return -1;
        v = 0;
        digits = 0;
    }
    return digits ? -1 : total;
}

static void chk_sso_session(km_audit *a) {
    for (size_t i = 0; i < km_naccounts(a); i++) {
        const char *acct = km_account(a, i);
        for (size_t rg = 0; rg < km_nregions(a, acct); rg++) {
            const char *reg = km_region(a, acct, rg);
            km_begin(a, NULL);
            km_item li = km_get(a, acct, reg, "sso-admin", "list-instances", NULL);
            const km_json *inst = km_ci_get(li.json, "Instances");
            for (size_t k = 0; k < km_json_len(inst); k++) {
                const char *iarn = km_ci_str(km_json_at(inst, k), "InstanceArn");
                if (!iarn) continue;
                km_begin(a, NULL);
                km_item lp = km_get(a, acct, reg, "sso-admin", "list-permission-sets", iarn);
                if (lp.status != KM_DATA_OK) {
                    char buf[600];
                    km_emit_at(a, acct, reg, "AWS::SSO::Instance", iarn, iarn, iarn, KM_UNKNOWN, "%s",
                               km_item_why(&lp, "sso-admin list-permission-sets", buf, sizeof buf));
                    continue;
                }
                km_ev_sticky(a);
                const km_json *ps = km_ci_get(lp.json, "PermissionSets");
                for (size_t p = 0; p < km_json_len(ps); p++) {
                    const char *parn = km_json_str(km_json_at(ps, p));
                    if (!parn) continue;
                    km_begin(a, NULL);
                    km_item d = km_get(a, acct, reg, "sso-admin", "describe-permission-set", parn);
                    if (d.status != KM_DATA_OK) {
                        char buf[600];
                        km_emit_at(a, acct, reg, "AWS::SSO::PermissionSet", parn, parn, parn, KM_UNKNOWN, "%s",
                                   km_item_why(&d, "sso-admin describe-permission-set", buf, sizeof buf));
                        continue;
                    }
                    const km_json *pset = km_ci_get(d.json, "PermissionSet");
                    const char *name = km_ci_str(pset, "Name");
                    const char *dur = km_ci_str(pset, "SessionDuration");
                    long secs = dur ? iso_duration(dur) : 3600; /* the default is one hour */
                    const char *nm = name ? name : parn;
                    if (secs < 0)
                        km_emit_at(a, acct, reg, "AWS::SSO::PermissionSet", parn, nm, parn, KM_UNKNOWN,
                                   "cannot tell: SessionDuration %s is not an ISO-8601 duration", dur);
                    else if (secs > a->opts.max_session_seconds)
                        km_emit_at(a, acct, reg, "AWS::SSO::PermissionSet", parn, nm, parn, KM_FAIL,
                                   "permission set sessions last %s (%.1f h, limit %.1f h)", dur, secs / 3600.0,
                                   (double)a->opts.max_session_seconds / 3600.0);
                    else
                        km_emit_at(a, acct, reg, "AWS::SSO::PermissionSet", parn, nm, parn, KM_PASS,
                                   "permission set sessions last %s", dur ? dur : "PT1H (default)");
                }
                a->ev_mark = 0;
            }
        }
    }
}

static void chk_role_unused(km_audit *a) {
    km_listing_unknown(a, "AWS::IAM::Role", "iam get-account-authorization-details");
    size_t n;
    const km_res *const *v = km_all(a, "AWS::IAM::Role", &n);
    for (size_t i = 0; i < n; i++) {
        const km_res *r = v[i];
        if (service_linked(r)) continue;
        if (km_begin(a, r)) continue;
        const km_json *rlu = km_res_get(r, "RoleLastUsed");
        if (!rlu) {
            km_emit(a, r, KM_UNKNOWN, "cannot tell: RoleLastUsed is not in the snapshot (iam get-account-authorization-details)");
            continue;
        }
        double used = km_age_days(a, km_ci_get(rlu, "LastUsedDate"));
        double created = km_age_days(a, km_res_get(r, "CreateDate"));
        long lim = a->opts.role_unused_days;
        if (used >= 0 && used > (double)lim) km_emit(a, r, KM_FAIL, "last used %.0f days ago (limit %ld): review and remove", used, lim);
        else if (used < 0 && created > (double)lim) km_emit(a, r, KM_FAIL, "never used since it was created %.0f days ago", created);
        else if (used >= 0) km_emit(a, r, KM_PASS, "used %.0f days ago", used);
        else km_emit(a, r, KM_PASS, "created recently, not yet used");
    }
}

/* ---- Identity Center ---- */

static void chk_identity_center(km_audit *a) {
    for (size_t i = 0; i < km_naccounts(a); i++) {
        const char *acct = km_account(a, i);
        km_begin(a, NULL);
        int known = 0;
        char pass[500] = "";
        for (size_t rg = 0; rg < km_nregions(a, acct) && !pass[0]; rg++) {
            km_item li = km_snap_get(a->snap, acct, km_region(a, acct, rg), "sso-admin", "list-instances", NULL);
            if (li.status != KM_DATA_OK) continue;
            known = 1;
            const km_json *inst = km_ci_get(li.json, "Instances");
            for (size_t k = 0; k < km_json_len(inst); k++) {
                const char *st = km_ci_str(km_json_at(inst, k), "Status");
                if (!st || km_streq_ci(st, "ACTIVE")) {
                    km_ev(a, li.file);
                    snprintf(pass, sizeof pass, "IAM Identity Center instance %s in %s",
                             km_ci_str(km_json_at(inst, k), "InstanceArn") ? km_ci_str(km_json_at(inst, k), "InstanceArn") : "?",
                             km_region(a, acct, rg));
                }
            }
        }
        size_t n;
        const km_res *const *roles = km_all(a, "AWS::IAM::Role", &n);
        for (size_t k = 0; k < n && !pass[0]; k++) {
            if (strcmp(roles[k]->account, acct)) continue;
            known = 1;
            const char *path = km_json_str(km_res_get(roles[k], "Path"));
            if (path && strstr(path, "/aws-reserved/sso.amazonaws.com/")) {
                km_ev(a, roles[k]->file);
                snprintf(pass, sizeof pass, "IAM Identity Center (its role %s is in the account)", roles[k]->name);
            }
        }
        km_item saml = km_get(a, acct, "global", "iam", "list-saml-providers", NULL);
        if (!pass[0] && saml.status == KM_DATA_OK) {
            known = 1;
            const km_json *l = km_ci_get(saml.json, "SAMLProviderList");
            if (km_json_len(l))
                snprintf(pass, sizeof pass, "SAML 2.0 federation (%s)", km_ci_str(km_json_at(l, 0), "Arn") ? km_ci_str(km_json_at(l, 0), "Arn") : "?");
        }
        if (pass[0]) km_emit_acct(a, acct, NULL, KM_PASS, "people sign in through %s", pass);
        else if (known) km_emit_acct(a, acct, NULL, KM_FAIL, "no IAM Identity Center and no SAML federation: people use IAM users with long-term credentials");
        else {
            char buf[600];
            km_emit_acct(a, acct, NULL, KM_UNKNOWN, "%s", km_item_why(&saml, "iam list-saml-providers / sso-admin list-instances", buf, sizeof buf));
        }
    }
}

/* ---- Access Analyzer ---- */

static int analyzer_of(km_audit *a, const char *acct, const char *region, int unused, char *name, size_t n, km_item *it) {
    *it = km_get(a, acct, region, "accessanalyzer", "list-analyzers", NULL);
    const km_json *l = km_ci_get(it->json, "analyzers");
    for (size_t k = 0; k < km_json_len(l); k++) {
        const km_json *an = km_json_at(l, k);
        const char *type = km_ci_str(an, "type");
        if (!km_streq_ci(km_ci_str(an, "status"), "ACTIVE") || !type) continue;
        int is_unused = strstr(type, "UNUSED_ACCESS") != NULL;
        if (is_unused != unused) continue;
        snprintf(name, n, "%s (%s)", km_ci_str(an, "name") ? km_ci_str(an, "name") : "?", type);
        return 1;
    }
    return 0;
}

/* An ORGANIZATION analyzer of another account of the same organisation counts. */
static int org_analyzer(km_audit *a, const char *acct, const char *region, int unused, char *name, size_t n) {
    for (size_t i = 0; i < km_naccounts(a); i++) {
        const char *o = km_account(a, i);
        if (!strcmp(o, acct) || km_org_same(a, acct, o) != 1) continue;
        km_item it = km_snap_get(a->snap, o, region, "accessanalyzer", "list-analyzers", NULL);
        const km_json *l = km_ci_get(it.json, "analyzers");
        for (size_t k = 0; k < km_json_len(l); k++) {
            const km_json *an = km_json_at(l, k);
            const char *type = km_ci_str(an, "type");
            if (!type || !km_str_starts(type, "ORGANIZATION") || !km_streq_ci(km_ci_str(an, "status"), "ACTIVE")) continue;
            if ((strstr(type, "UNUSED_ACCESS") != NULL) != unused) continue;
            km_ev(a, it.file);
            snprintf(name, n, "organisation analyzer %s of account %s", km_ci_str(an, "name") ? km_ci_str(an, "name") : "?", o);
            return 1;
        }
    }
    return 0;
}

static void chk_aa_enabled(km_audit *a) {
    for (size_t i = 0; i < km_naccounts(a); i++) {
        const char *acct = km_account(a, i);
        for (size_t rg = 0; rg < km_nregions(a, acct); rg++) {
            const char *reg = km_region(a, acct, rg);
            km_begin(a, NULL);
            char name[300];
            km_item it;
            if (analyzer_of(a, acct, reg, 0, name, sizeof name, &it) || org_analyzer(a, acct, reg, 0, name, sizeof name)) {
                km_emit_acct(a, acct, reg, KM_PASS, "external access analyzer %s is active", name);
                continue;
            }
            if (km_unknown_acct(a, acct, reg, &it, "accessanalyzer list-analyzers")) continue;
            km_emit_acct(a, acct, reg, KM_FAIL, "no active IAM Access Analyzer for external access in %s", reg);
        }
    }
}

static void chk_aa_unused(km_audit *a) {
    for (size_t i = 0; i < km_naccounts(a); i++) {
        const char *acct = km_account(a, i);
        km_begin(a, NULL);
        char name[300] = "";
        int known = 0;
        km_item last = {KM_DATA_MISSING, NULL, NULL, NULL, NULL, 0};
        for (size_t rg = 0; rg < km_nregions(a, acct) && !name[0]; rg++) {
            const char *reg = km_region(a, acct, rg);
            km_item it;
            if (analyzer_of(a, acct, reg, 1, name, sizeof name, &it) || org_analyzer(a, acct, reg, 1, name, sizeof name)) break;
            name[0] = 0;
            if (it.status == KM_DATA_OK) known = 1;
            else last = it;
        }
        if (name[0]) km_emit_acct(a, acct, NULL, KM_PASS, "unused access analyzer %s reviews idle roles, users and permissions", name);
        else if (known) km_emit_acct(a, acct, NULL, KM_FAIL, "no unused-access analyzer: idle roles, keys and permissions are not reviewed");
        else if (!km_unknown_acct(a, acct, NULL, &last, "accessanalyzer list-analyzers"))
            km_emit_acct(a, acct, NULL, KM_UNKNOWN, "cannot tell: accessanalyzer list-analyzers is not in the snapshot");
    }
}

static void chk_aa_findings(km_audit *a) {
    size_t n;
    const km_res *const *v = km_all(a, "AWS::AccessAnalyzer::Analyzer", &n);
    for (size_t i = 0; i < n; i++) {
        const km_res *an = v[i];
        const char *type = km_json_str(km_res_get(an, "type"));
        if (!type || strstr(type, "UNUSED_ACCESS") || !km_streq_ci(km_json_str(km_res_get(an, "status")), "ACTIVE")) continue;
        if (km_begin(a, an)) continue;
        km_item f = km_rget(a, an, "accessanalyzer", "list-findings");
        if (km_unknown_res(a, an, &f, "accessanalyzer list-findings")) continue;
        const km_json *fl = km_ci_get(f.json, "findings");
        size_t active = 0;
        const char *example = NULL;
        for (size_t k = 0; k < km_json_len(fl); k++) {
            const km_json *e = km_json_at(fl, k);
            const char *st = km_ci_str(e, "status");
            if (st && !km_streq_ci(st, "ACTIVE")) continue;
            active++;
            if (!example) example = km_ci_str(e, "resource");
        }
        int cut = km_ci_get(f.json, "NextToken") || km_ci_get(f.json, "nextToken");
        if (active) km_emit(a, an, KM_FAIL, "%zu%s active finding(s) of external access, e.g. %s", active, cut ? "+" : "",
                            example ? example : "?");
        else if (cut) /* nothing in the first page proves nothing about the rest */
            km_emit(a, an, KM_UNKNOWN, "cannot tell: the accessanalyzer list-findings answer is cut short (NextToken) and its first part has no active finding");
        else km_emit(a, an, KM_PASS, "no active external-access finding");
    }
}

const km_check_impl km_chk_iam[] = {
    {"KMA-IAM-USER-CONSOLE-MFA", chk_console_mfa},
    {"KMA-IAM-USER-MFA", chk_user_mfa},
    {"KMA-IAM-ADMIN-MFA", chk_admin_mfa},
    {"KMA-IAM-ADMIN-USERS", chk_admin_users},
    {"KMA-IAM-ROOT-MFA", chk_root_mfa},
    {"KMA-IAM-ROOT-HARDWARE-MFA", chk_root_hw_mfa},
    {"KMA-IAM-ROOT-ACCESS-KEYS", chk_root_keys},
    {"KMA-IAM-ROOT-RECENT-USE", chk_root_use},
    {"KMA-IAM-ACCESS-KEY-ROTATION", chk_key_rotation},
    {"KMA-IAM-UNUSED-CREDENTIALS", chk_unused},
    {"KMA-IAM-USER-ACCESS-KEYS", chk_user_keys},
    {"KMA-IAM-PASSWORD-LENGTH", chk_pw_length},
    {"KMA-IAM-PASSWORD-REUSE", chk_pw_reuse},
    {"KMA-IAM-NO-STAR-POLICY", chk_star},
    {"KMA-IAM-PRIVILEGE-ESCALATION", chk_privesc},
    {"KMA-IAM-ROLE-SESSION-DURATION", chk_role_session},
    {"KMA-SSO-SESSION-DURATION", chk_sso_session},
    {"KMA-IAM-ROLE-UNUSED", chk_role_unused},
    {"KMA-IDENTITY-CENTER", chk_identity_center},
    {"KMA-ACCESSANALYZER-ENABLED", chk_aa_enabled},
    {"KMA-ACCESSANALYZER-FINDINGS", chk_aa_findings},
    {"KMA-ACCESSANALYZER-UNUSED-ACCESS", chk_aa_unused},
    {NULL, NULL},
};
