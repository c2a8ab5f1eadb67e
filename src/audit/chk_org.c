/* AWS Organizations service control policies: deny without MFA (the strategy's SCP), and
 * denies that keep a stolen credential from switching off logging or deleting backups. SCPs
 * are decided from the organisation's management account data; they count for every member. */
#include "audit/check.h"
#include "audit/policy.h"

#include <stdio.h>
#include <string.h>

/* 2: denies every request without MFA, including long-term keys (BoolIfExists false, or a
 * Null-true statement); 1: only requests that say "no MFA" (Bool false: keys pass);
 * 0: no MFA condition. */
static int mfa_strength(const km_json *st) {
    static const char *const key = "aws:MultiFactorAuthPresent";
    const km_json *v = km_stmt_condition(st, "BoolIfExists", key);
    if (v && (km_json_has_str_ci(v, "false") || (v->type == KM_JSON_FALSE))) return 2;
    v = km_stmt_condition(st, "Null", key);
    if (v && (km_json_has_str_ci(v, "true") || v->type == KM_JSON_TRUE)) return 2;
    v = km_stmt_condition(st, "Bool", key);
    if (v && (km_json_has_str_ci(v, "false") || v->type == KM_JSON_FALSE)) return 1;
    return 0;
}

static const char *const destructive[] = {
    "s3:PutObject", "s3:DeleteObject", "rds:DeleteDBInstance", "backup:DeleteRecoveryPoint",
    "kms:ScheduleKeyDeletion", "ec2:TerminateInstances", "iam:CreateAccessKey", NULL};

static void chk_scp_mfa(km_audit *a) {
    for (size_t i = 0; i < km_naccounts(a); i++) {
        const char *acct = km_account(a, i);
        km_begin(a, NULL);
        km_get(a, acct, "global", "organizations", "describe-organization", NULL);
        const km_scp *scps;
        size_t n;
        const char *why;
        km_org_state st = km_org_scps(a, acct, &scps, &n, &why);
        if (st == KM_ORG_NONE) { km_emit_acct(a, acct, NULL, KM_FAIL, "the account is not in an AWS Organization, so no SCP can require MFA"); continue; }
        if (st == KM_ORG_MANAGEMENT) {
            km_emit_acct(a, acct, NULL, KM_NA, "management account of organisation %s: SCPs never apply to it (require MFA with IAM policies and keep no IAM users here)",
                         km_org_id(a, acct) ? km_org_id(a, acct) : "?");
            continue;
        }
        if (st == KM_ORG_UNKNOWN) { km_emit_acct(a, acct, NULL, KM_UNKNOWN, "%s", why ? why : "cannot tell"); continue; }
        if (why) { km_emit_acct(a, acct, NULL, KM_FAIL, "%s: no SCP applies", why); continue; }
        int best = 0, maybe = 0, unreadable = 0;
        const char *unreadable_why = NULL;
        char pass[400] = "", weak[400] = "", narrow[400] = "", maybe_msg[400] = "";
        for (size_t k = 0; k < n; k++) {
            km_ev(a, scps[k].file);
            if (!scps[k].doc) {
                if (!unreadable) unreadable_why = scps[k].why;
                unreadable = 1;
                continue;
            }
            for (size_t s = 0; s < km_pol_nstmts(scps[k].doc); s++) {
                const km_json *stm = km_pol_stmt(scps[k].doc, s);
                if (!km_stmt_deny(stm)) continue;
                int m = mfa_strength(stm);
                if (!m) continue;
                int covered = 0, total = 0;
                for (const char *const *d = destructive; *d; d++, total++) covered += km_stmt_covers_action(stm, *d);
                const char *nm = scps[k].name ? scps[k].name : scps[k].id;
                if (covered < total) {
                    if (!narrow[0]) snprintf(narrow, sizeof narrow, "SCP %s denies without MFA only %d of %d sampled destructive actions", nm, covered, total);
                    continue;
                }
                if (scps[k].applies == 2) {
                    maybe = 1;
                    snprintf(maybe_msg, sizeof maybe_msg, "SCP %s (deny without MFA) is attached to %s, and the account's place in the OU tree is not in the snapshot", nm,
                             scps[k].target ? scps[k].target : "an OU");
                    continue;
                }
                if (m == 2 && best < 2) {
                    best = 2;
                    snprintf(pass, sizeof pass, "SCP %s (attached to %s) denies requests without MFA, long-term access keys included", nm,
                             scps[k].target ? scps[k].target : "?");
                } else if (m == 1 && best < 1) {
                    best = 1;
                    snprintf(weak, sizeof weak, "SCP %s uses Bool, not BoolIfExists: requests signed with long-term access keys carry no aws:MultiFactorAuthPresent and are not denied", nm);
                }
            }
        }
        if (best == 2) km_emit_acct(a, acct, NULL, KM_PASS, "%s", pass);
        else if (maybe) km_emit_acct(a, acct, NULL, KM_UNKNOWN, "cannot tell: %s", maybe_msg);
        else if (unreadable)
            km_emit_acct(a, acct, NULL, KM_UNKNOWN, "cannot tell: the content of an SCP that applies is unreadable (%s)",
                         unreadable_why ? unreadable_why : "organizations describe-policy");
        else if (best == 1) km_emit_acct(a, acct, NULL, KM_FAIL, "%s", weak);
        else if (narrow[0]) km_emit_acct(a, acct, NULL, KM_FAIL, "%s", narrow);
        else km_emit_acct(a, acct, NULL, KM_FAIL, "no SCP that applies to the account denies actions without MFA: a stolen access key works on its own");
    }
}

/* need: actions[0..need) must all be denied for a PASS; the rest are reported when missing. */
static void scp_denies(km_audit *a, const char *const *actions, size_t need, const char *what) {
    for (size_t i = 0; i < km_naccounts(a); i++) {
        const char *acct = km_account(a, i);
        km_begin(a, NULL);
        const km_scp *scps;
        size_t n;
        const char *why;
        km_org_state st = km_org_scps(a, acct, &scps, &n, &why);
        if (st == KM_ORG_NONE) { km_emit_acct(a, acct, NULL, KM_FAIL, "the account is not in an AWS Organization: no SCP protects %s", what); continue; }
        if (st == KM_ORG_MANAGEMENT) { km_emit_acct(a, acct, NULL, KM_NA, "management account: SCPs never apply to it"); continue; }
        if (st == KM_ORG_UNKNOWN) { km_emit_acct(a, acct, NULL, KM_UNKNOWN, "%s", why ? why : "cannot tell"); continue; }
        size_t nact = 0;
        while (actions[nact]) nact++;
        int covered[16] = {0}, maybe = 0, unreadable = 0;
        const char *unreadable_why = NULL;
        char names[300] = "";
        for (size_t k = 0; k < n; k++) {
            km_ev(a, scps[k].file);
            if (!scps[k].doc) {
                if (!unreadable) unreadable_why = scps[k].why;
                unreadable = 1;
                continue;
            }
            for (size_t s = 0; s < km_pol_nstmts(scps[k].doc); s++) {
                const km_json *stm = km_pol_stmt(scps[k].doc, s);
                /* a deny that lifts with MFA is the MFA control, not protection from administrators */
                if (!km_stmt_deny(stm) || mfa_strength(stm)) continue;
                int hit = 0;
                for (size_t x = 0; x < nact && x < 16; x++)
                    if (km_stmt_covers_action(stm, actions[x])) {
                        if (scps[k].applies == 1) covered[x] = 1;
                        hit = 1;
                    }
                if (hit && scps[k].applies == 2) maybe = 1;
                if (hit && scps[k].applies == 1) km_join(names, sizeof names, ", ", scps[k].name ? scps[k].name : scps[k].id);
            }
        }
        size_t have = 0;
        char miss[400] = "";
        for (size_t x = 0; x < nact; x++) {
            if (covered[x]) { if (x < need) have++; continue; }
            km_join(miss, sizeof miss, ", ", actions[x]);
        }
        if (have >= need) km_emit_acct(a, acct, NULL, KM_PASS, "SCP(s) %s deny %s%s%s", names, what, miss[0] ? "; not covered: " : "", miss);
        else if (unreadable)
            km_emit_acct(a, acct, NULL, KM_UNKNOWN, "cannot tell: the content of an SCP that applies is unreadable (%s)",
                         unreadable_why ? unreadable_why : "organizations describe-policy");
        else if (maybe)
            km_emit_acct(a, acct, NULL, KM_UNKNOWN, "cannot tell: an SCP that may deny %s is attached where the snapshot cannot place the account", what);
        else if (names[0]) km_emit_acct(a, acct, NULL, KM_FAIL, "SCP(s) %s deny only part of %s (missing: %s)", names, what, miss);
        else km_emit_acct(a, acct, NULL, KM_FAIL, "no SCP denies %s (missing: %s)", what, miss);
    }
}

static const char *const logging_actions[] = {
    "cloudtrail:StopLogging", "cloudtrail:DeleteTrail", "guardduty:DeleteDetector", "config:StopConfigurationRecorder",
    "config:DeleteConfigurationRecorder", NULL};

static void chk_scp_logging(km_audit *a) { scp_denies(a, logging_actions, 5, "switching off CloudTrail, GuardDuty and AWS Config"); }

static const char *const backup_actions[] = {
    "backup:DeleteRecoveryPoint", "backup:DeleteBackupVault", "backup:PutBackupVaultAccessPolicy",
    "backup:DeleteBackupVaultLockConfiguration", "rds:DeleteDBSnapshot", NULL};

static void chk_scp_backups(km_audit *a) { scp_denies(a, backup_actions, 4, "deleting backups and recovery points"); }

const km_check_impl km_chk_org[] = {
    {"KMA-ORG-SCP-MFA", chk_scp_mfa},
    {"KMA-ORG-SCP-PROTECT-LOGGING", chk_scp_logging},
    {"KMA-ORG-SCP-PROTECT-BACKUPS", chk_scp_backups},
    {NULL, NULL},
};
