/* AWS Backup: data stores covered by a plan, plans that copy to another region and another
 * account, retention, vaults locked in compliance mode (WORM), encryption. A backup plan is
 * read as get-backup-plan prints it, as AWS Config records it, and as the strategy writes it
 * (its "TargetBackupVault" is CloudFormation's spelling of TargetBackupVaultName). */
#include "audit/check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- plans ---- */

static const km_json *plan_doc(km_audit *a, const km_res *plan, km_item *it) {
    const km_json *root;
    if (plan->from_config) {
        memset(it, 0, sizeof *it);
        it->status = KM_DATA_OK;
        it->file = plan->file;
        root = plan->cfg;
    } else {
        *it = km_rget(a, plan, "backup", "get-backup-plan");
        if (it->status != KM_DATA_OK) return NULL;
        root = it->json;
    }
    const km_json *bp = km_ci_get(root, "BackupPlan");
    return bp ? bp : root;
}

static const km_json *plan_rules(const km_json *doc) {
    const km_json *r = km_ci_get(doc, "Rules");
    return r ? r : km_ci_get(doc, "BackupPlanRule");
}

static const char *rule_vault(const km_json *rule) {
    const char *v = km_ci_str(rule, "TargetBackupVaultName");
    return v ? v : km_ci_str(rule, "TargetBackupVault");
}

static void plan_copy(km_audit *a, int want_account) {
    size_t n;
    const km_res *const *v = km_all(a, "AWS::Backup::BackupPlan", &n);
    for (size_t i = 0; i < n; i++) {
        const km_res *p = v[i];
        if (km_begin(a, p)) continue;
        km_item it;
        const km_json *doc = plan_doc(a, p, &it);
        if (!doc) { km_unknown_res(a, p, &it, "backup get-backup-plan"); continue; }
        const km_json *rules = plan_rules(doc);
        char found[600] = "", other[600] = "";
        for (size_t r = 0; r < km_json_len(rules) && !found[0]; r++) {
            const km_json *ca = km_ci_get(km_json_at(rules, r), "CopyActions");
            for (size_t c = 0; c < km_json_len(ca) && !found[0]; c++) {
                const char *dest = km_ci_str(km_json_at(ca, c), "DestinationBackupVaultArn");
                char dreg[64], dacct[32];
                km_arn_field(dest, 3, dreg, sizeof dreg);
                km_arn_field(dest, 4, dacct, sizeof dacct);
                if (!dest) continue;
                int diff = want_account ? (dacct[0] && strcmp(dacct, p->account)) : (dreg[0] && strcmp(dreg, p->region));
                if (diff) snprintf(found, sizeof found, "rule %s copies to %s", km_ci_str(km_json_at(rules, r), "RuleName") ? km_ci_str(km_json_at(rules, r), "RuleName") : "?", dest);
                else snprintf(other, sizeof other, "copies only to %s, in the same %s", dest, want_account ? "account" : "region");
            }
        }
        if (found[0]) km_emit(a, p, KM_PASS, "%s", found);
        else if (other[0]) km_emit(a, p, KM_FAIL, "%s", other);
        else if (want_account)
            km_emit(a, p, KM_FAIL, "no copy to another account: whoever controls this account can delete every recovery point");
        else km_emit(a, p, KM_FAIL, "no copy to another region (no CopyActions in any rule)");
    }
}

static void chk_cross_region(km_audit *a) { plan_copy(a, 0); }
static void chk_cross_account(km_audit *a) { plan_copy(a, 1); }

static void chk_plan_retention(km_audit *a) {
    size_t n;
    const km_res *const *v = km_all(a, "AWS::Backup::BackupPlan", &n);
    for (size_t i = 0; i < n; i++) {
        const km_res *p = v[i];
        if (km_begin(a, p)) continue;
        km_item it;
        const km_json *doc = plan_doc(a, p, &it);
        if (!doc) { km_unknown_res(a, p, &it, "backup get-backup-plan"); continue; }
        const km_json *rules = plan_rules(doc);
        double worst = -1;
        const char *worst_rule = NULL;
        for (size_t r = 0; r < km_json_len(rules); r++) {
            double d;
            const km_json *rule = km_json_at(rules, r);
            if (km_json_num(km_ci_get(km_ci_get(rule, "Lifecycle"), "DeleteAfterDays"), &d) != 0) continue;
            if (worst < 0 || d < worst) { worst = d; worst_rule = km_ci_str(rule, "RuleName"); }
        }
        if (!km_json_len(rules)) km_emit(a, p, KM_FAIL, "the plan has no rule");
        else if (worst < 0) km_emit(a, p, KM_PASS, "recovery points are kept until deleted by hand");
        else if (worst >= 35) km_emit(a, p, KM_PASS, "shortest retention %.0f days (rule %s)", worst, worst_rule ? worst_rule : "?");
        else km_emit(a, p, KM_FAIL, "rule %s keeps recovery points %.0f days, less than 35: an intrusion found late has no clean copy left",
                     worst_rule ? worst_rule : "?", worst);
    }
}

/* ---- selections and coverage ---- */

typedef struct sel {
    const km_json *s; /* BackupSelection */
    const char *account, *region, *file;
} sel;

typedef struct sels {
    sel *v;
    size_t n, cap;
    int unknown;      /* some plan's selections could not be read */
    char why[500];
} sels;

static void add_sel(sels *ss, const km_json *s, const char *acct, const char *reg, const char *file) {
    if (!s) return;
    if (ss->n >= ss->cap) {
        size_t nc = ss->cap ? ss->cap * 2 : 16;
        sel *nv = realloc(ss->v, nc * sizeof *nv);
        if (!nv) return;
        ss->v = nv;
        ss->cap = nc;
    }
    ss->v[ss->n++] = (sel){s, acct, reg, file};
}

static void free_sels(void *p) {
    sels *ss = p;
    if (ss) free(ss->v);
    free(ss);
}

static sels *all_selections(km_audit *a) {
    sels *ss = km_cache_get(a, "backup-selections");
    if (ss) return ss;
    ss = calloc(1, sizeof *ss);
    if (!ss) {
        a->oom = 1; /* the audit fails: no report */
        return NULL;
    }
    size_t n;
    const km_res *const *v = km_all(a, "AWS::Backup::BackupPlan", &n);
    for (size_t i = 0; i < n; i++) {
        const km_res *p = v[i];
        if (p->from_config) continue;
        km_item ls = km_res_data(a->snap, p, "backup", "list-backup-selections");
        if (ls.status != KM_DATA_OK) {
            ss->unknown = 1;
            km_item_why(&ls, "backup list-backup-selections", ss->why, sizeof ss->why);
            continue;
        }
        const km_json *l = km_ci_get(ls.json, "BackupSelectionsList");
        for (size_t k = 0; k < km_json_len(l); k++) {
            const char *sid = km_ci_str(km_json_at(l, k), "SelectionId");
            km_item gs = km_snap_get(a->snap, p->account, p->data_region, "backup", "get-backup-selection", sid);
            if (gs.status != KM_DATA_OK) {
                ss->unknown = 1;
                km_item_why(&gs, "backup get-backup-selection", ss->why, sizeof ss->why);
                continue;
            }
            add_sel(ss, km_ci_get(gs.json, "BackupSelection"), p->account, p->region, gs.file);
        }
    }
    v = km_all(a, "AWS::Backup::BackupSelection", &n);
    for (size_t i = 0; i < n; i++) {
        const km_json *s = km_res_get(v[i], "BackupSelection");
        add_sel(ss, s ? s : v[i]->cfg, v[i]->account, v[i]->region, v[i]->file);
    }
    if (km_cache_put(a, "backup-selections", ss, free_sels)) {
        free_sels(ss);
        return NULL;
    }
    return ss;
}

static int arn_in(const km_json *list, const char *arn) {
    for (size_t i = 0; i < km_json_len(list); i++) {
        const char *p = km_json_str(km_json_at(list, i));
        if (p && (km_glob(p, arn))) return 1;
    }
    return 0;
}

static int tags_match(const km_res *r, const km_json *list) {
    for (size_t i = 0; i < km_json_len(list); i++) {
        const km_json *t = km_json_at(list, i);
        const char *k = km_ci_str(t, "ConditionKey"), *val = km_ci_str(t, "ConditionValue");
        if (k && km_str_starts(k, "aws:ResourceTag/")) k += 16;
        const char *have = k ? km_tag(r, k) : NULL;
        if (have && val && !strcmp(have, val)) return 1;
    }
    return 0;
}

/* Conditions: every listed condition must hold. */
static int conditions_match(const km_res *r, const km_json *c) {
    static const char *const ops[] = {"StringEquals", "StringNotEquals", "StringLike", "StringNotLike", NULL};
    int any = 0;
    for (int o = 0; ops[o]; o++) {
        const km_json *l = km_ci_get(c, ops[o]);
        for (size_t i = 0; i < km_json_len(l); i++) {
            any = 1;
            const km_json *t = km_json_at(l, i);
            const char *k = km_ci_str(t, "ConditionKey"), *val = km_ci_str(t, "ConditionValue");
            if (k && km_str_starts(k, "aws:ResourceTag/")) k += 16;
            const char *have = k ? km_tag(r, k) : NULL;
            int m = have && val && (o >= 2 ? km_glob(val, have) : !strcmp(have, val));
            if ((o == 0 || o == 2) && !m) return 0;
            if ((o == 1 || o == 3) && m) return 0;
        }
    }
    return any;
}

static int selection_covers(const km_json *s, const km_res *r) {
    if (!r->arn) return 0;
    if (arn_in(km_ci_get(s, "NotResources"), r->arn)) return 0;
    const km_json *res = km_ci_get(s, "Resources");
    const km_json *cond = km_ci_get(s, "Conditions");
    int has_cond = cond && conditions_match(r, cond);
    int cond_given = 0;
    static const char *const ops[] = {"StringEquals", "StringNotEquals", "StringLike", "StringNotLike", NULL};
    for (int o = 0; ops[o]; o++) cond_given |= km_json_len(km_ci_get(cond, ops[o])) > 0;
    int by_res = km_json_len(res) > 0 && arn_in(res, r->arn);
    if (by_res && (!cond_given || has_cond)) return 1;
    if (!km_json_len(res) && cond_given && has_cond) return 1;
    return tags_match(r, km_ci_get(s, "ListOfTags"));
}

static int protected_resource(km_audit *a, const km_res *r, const char **file) {
    km_item pr = km_snap_get(a->snap, r->account, r->region, "backup", "list-protected-resources", NULL);
    const km_json *l = km_ci_get(pr.json, "Results");
    for (size_t i = 0; i < km_json_len(l); i++)
        if (r->arn && km_streq_ci(km_ci_str(km_json_at(l, i), "ResourceArn"), r->arn)) { *file = pr.file; return 1; }
    return 0;
}

static void coverage(km_audit *a, const km_res *r, const char *what) {
    const char *pf;
    if (protected_resource(a, r, &pf)) {
        km_ev(a, pf);
        km_emit(a, r, KM_PASS, "AWS Backup holds recovery points of this %s", what);
        return;
    }
    sels *ss = all_selections(a);
    if (!ss) return;
    for (size_t i = 0; i < ss->n; i++) {
        if (strcmp(ss->v[i].account, r->account) || strcmp(ss->v[i].region, r->region)) continue;
        if (selection_covers(ss->v[i].s, r)) {
            km_ev(a, ss->v[i].file);
            km_emit(a, r, KM_PASS, "selected by backup selection %s", km_ci_str(ss->v[i].s, "SelectionName") ? km_ci_str(ss->v[i].s, "SelectionName") : "?");
            return;
        }
    }
    km_item pl = km_snap_listing(a->snap, r->account, r->region, "AWS::Backup::BackupPlan");
    if (pl.status != KM_DATA_OK && !r->from_config) {
        char buf[600];
        km_emit(a, r, KM_UNKNOWN, "%s", km_item_why(&pl, "backup list-backup-plans", buf, sizeof buf));
    } else if (ss->unknown) {
        km_emit(a, r, KM_UNKNOWN, "not selected by any readable backup selection; %s", ss->why);
    } else {
        km_emit(a, r, KM_FAIL, "no AWS Backup plan selects this %s: its only copies are the ones an attacker can delete with it", what);
    }
}

static void chk_rds_covered(km_audit *a) {
    size_t n;
    const km_res *const *v = km_all(a, "AWS::RDS::DBInstance", &n);
    for (size_t i = 0; i < n; i++) {
        if (km_json_str(km_res_get(v[i], "DBClusterIdentifier"))) continue; /* the cluster is backed up */
        if (km_begin(a, v[i])) continue;
        coverage(a, v[i], "database");
    }
    v = km_all(a, "AWS::RDS::DBCluster", &n);
    for (size_t i = 0; i < n; i++) {
        if (km_begin(a, v[i])) continue;
        coverage(a, v[i], "cluster");
    }
}

static void chk_ec2_covered(km_audit *a) {
    size_t n;
    const km_res *const *v = km_all(a, "AWS::EC2::Instance", &n);
    for (size_t i = 0; i < n; i++) {
        const char *state = km_json_str(km_ci_get(km_res_get(v[i], "State"), "Name"));
        if (state && (km_streq_ci(state, "terminated") || km_streq_ci(state, "shutting-down"))) continue;
        if (km_begin(a, v[i])) continue;
        coverage(a, v[i], "instance");
    }
}

static void chk_plan_exists(km_audit *a) {
    static const char *const stores[] = {"AWS::RDS::DBInstance", "AWS::RDS::DBCluster", "AWS::EC2::Instance", NULL};
    for (size_t i = 0; i < km_naccounts(a); i++) {
        const char *acct = km_account(a, i);
        for (size_t rg = 0; rg < km_nregions(a, acct); rg++) {
            const char *reg = km_region(a, acct, rg);
            size_t count = 0;
            for (const char *const *t = stores; *t; t++) {
                size_t n;
                const km_res **sel_v = km_select(a, *t, acct, reg, &n);
                count += n;
                free(sel_v);
            }
            if (!count && !a->opts.scan_unused) continue;
            km_begin(a, NULL);
            km_item pl = km_snap_listing(a->snap, acct, reg, "AWS::Backup::BackupPlan");
            size_t np;
            const km_res **plans = km_select(a, "AWS::Backup::BackupPlan", acct, reg, &np);
            free(plans);
            if (np) { km_emit_acct(a, acct, reg, KM_PASS, "%zu backup plan(s) for %zu data store(s)", np, count); continue; }
            if (pl.status != KM_DATA_OK) {
                if (pl.status == KM_DATA_MISSING && !km_snap_has_collect(a->snap, acct)) {
                    km_emit_acct(a, acct, reg, KM_UNKNOWN, "cannot tell: the AWS Config snapshot has no backup plan (it may not record AWS::Backup::BackupPlan)");
                    continue;
                }
                km_unknown_acct(a, acct, reg, &pl, "backup list-backup-plans");
                continue;
            }
            km_ev_item(a, &pl);
            km_emit_acct(a, acct, reg, KM_FAIL, "no AWS Backup plan in %s, which holds %zu database(s) or instance(s)", reg, count);
        }
    }
}

/* ---- vaults ---- */

static int vault_in_use(km_audit *a, const km_res *vault, char *why, size_t n) {
    double rp = 0;
    if (km_json_num(km_res_get(vault, "NumberOfRecoveryPoints"), &rp) == 0 && rp > 0) {
        snprintf(why, n, "holds %.0f recovery point(s)", rp);
        return 1;
    }
    size_t np;
    const km_res *const *v = km_all(a, "AWS::Backup::BackupPlan", &np);
    for (size_t i = 0; i < np; i++) {
        km_item it;
        const km_json *doc = plan_doc(a, v[i], &it);
        const km_json *rules = plan_rules(doc);
        for (size_t r = 0; r < km_json_len(rules); r++) {
            const km_json *rule = km_json_at(rules, r);
            const char *tv = rule_vault(rule);
            if (tv && !strcmp(tv, vault->name) && !strcmp(v[i]->account, vault->account) && !strcmp(v[i]->region, vault->region)) {
                snprintf(why, n, "target of plan %s", v[i]->name);
                return 1;
            }
            const km_json *ca = km_ci_get(rule, "CopyActions");
            for (size_t c = 0; c < km_json_len(ca); c++)
                if (vault->arn && km_streq_ci(km_ci_str(km_json_at(ca, c), "DestinationBackupVaultArn"), vault->arn)) {
                    snprintf(why, n, "copy destination of plan %s", v[i]->name);
                    return 1;
                }
        }
    }
    return 0;
}

static void chk_vault_lock(km_audit *a) {
    size_t n;
    const km_res *const *v = km_all(a, "AWS::Backup::BackupVault", &n);
    for (size_t i = 0; i < n; i++) {
        const km_res *vt = v[i];
        char why[300];
        if (!vault_in_use(a, vt, why, sizeof why)) continue;
        if (km_begin(a, vt)) continue;
        const char *type = km_json_str(km_res_get(vt, "VaultType"));
        if (type && strstr(type, "LOGICALLY_AIR_GAPPED")) {
            km_emit(a, vt, KM_PASS, "logically air-gapped vault, always locked in compliance mode (the vault %s)", why);
            continue;
        }
        const km_json *locked = km_res_get(vt, "Locked");
        if (!locked) {
            km_emit(a, vt, KM_UNKNOWN, "cannot tell: the lock state (Locked, LockDate) is not in the snapshot (the vault %s)", why);
            continue;
        }
        double minret = -1;
        km_json_num(km_res_get(vt, "MinRetentionDays"), &minret);
        if (km_json_truth(locked) != 1) {
            km_emit(a, vt, KM_FAIL, "not locked: anyone allowed backup:DeleteRecoveryPoint can destroy the backups (the vault %s)", why);
            continue;
        }
        const km_json *ld = km_res_get(vt, "LockDate");
        int64_t t;
        if (!ld || km_parse_time(ld, &t)) {
            km_emit(a, vt, KM_FAIL, "locked in governance mode only: an administrator can remove the lock and delete the backups (the vault %s)", why);
            continue;
        }
        char when[32];
        km_format_time(t, when, sizeof when);
        if (t > km_now(a))
            km_emit(a, vt, KM_FAIL, "compliance lock still in its grace time until %s: until then it can be removed (the vault %s)", when, why);
        else if (minret >= 0)
            km_emit(a, vt, KM_PASS, "locked in compliance mode since %s, minimum retention %.0f days (the vault %s)", when, minret, why);
        else km_emit(a, vt, KM_PASS, "locked in compliance mode since %s (the vault %s)", when, why);
    }
}

static void chk_vault_encrypted(km_audit *a) {
    size_t n;
    const km_res *const *v = km_all(a, "AWS::Backup::BackupVault", &n);
    for (size_t i = 0; i < n; i++) {
        if (km_begin(a, v[i])) continue;
        const char *k = km_json_str(km_res_get(v[i], "EncryptionKeyArn"));
        if (k) km_emit(a, v[i], KM_PASS, "encrypted with %s", k);
        else km_emit(a, v[i], KM_FAIL, "no encryption key recorded for the vault");
    }
}

static void chk_rp_encrypted(km_audit *a) {
    size_t n;
    const km_res *const *v = km_all(a, "AWS::Backup::BackupVault", &n);
    for (size_t i = 0; i < n; i++) {
        const km_res *vt = v[i];
        double rp = -1;
        km_json_num(km_res_get(vt, "NumberOfRecoveryPoints"), &rp);
        if (rp == 0) continue;
        if (km_begin(a, vt)) continue;
        km_item it = km_rget(a, vt, "backup", "list-recovery-points-by-backup-vault");
        if (km_unknown_res(a, vt, &it, "backup list-recovery-points-by-backup-vault")) continue;
        const km_json *l = km_ci_get(it.json, "RecoveryPoints");
        size_t bad = 0, total = km_json_len(l);
        for (size_t k = 0; k < total; k++)
            if (km_json_truth(km_ci_get(km_json_at(l, k), "IsEncrypted")) == 0) bad++;
        if (!total) continue;
        /* a snapshot collected with --max-items (before 2026-11) may hold only the first points */
        int cut = km_ci_get(it.json, "NextToken") || km_ci_get(it.json, "nextToken");
        if (bad) km_emit(a, vt, KM_FAIL, "%zu of %s%zu recovery point(s) are not encrypted", bad, cut ? "the first " : "", total);
        else if (cut)
            km_emit(a, vt, KM_UNKNOWN, "cannot tell: the backup list-recovery-points-by-backup-vault answer is cut short (NextToken): the %zu recovery point(s) listed are encrypted, the rest are not seen", total);
        else km_emit(a, vt, KM_PASS, "all %zu recovery point(s) listed are encrypted", total);
    }
}

const km_check_impl km_chk_backup[] = {
    {"KMA-BACKUP-RDS-COVERED", chk_rds_covered},
    {"KMA-BACKUP-EC2-COVERED", chk_ec2_covered},
    {"KMA-BACKUP-PLAN-EXISTS", chk_plan_exists},
    {"KMA-BACKUP-CROSS-REGION-COPY", chk_cross_region},
    {"KMA-BACKUP-CROSS-ACCOUNT-COPY", chk_cross_account},
    {"KMA-BACKUP-PLAN-RETENTION", chk_plan_retention},
    {"KMA-BACKUP-VAULT-LOCK", chk_vault_lock},
    {"KMA-BACKUP-VAULT-ENCRYPTED", chk_vault_encrypted},
    {"KMA-BACKUP-RECOVERY-POINT-ENCRYPTED", chk_rp_encrypted},
    {NULL, NULL},
};
