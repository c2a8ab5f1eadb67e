/* Detection and compliance services: GuardDuty and its protection plans, Security Hub and its
 * standards, AWS Config recording and the strategy's RESTRICTED_INCOMING_TRAFFIC rule, rule
 * compliance, Macie, Inspector, Firewall Manager, CloudFormation drift, Systems Manager
 * patching. Regional switches are checked in each region of the snapshot; a service with
 * nothing to look at in a region (Inspector ECR with no repository) is NOT_APPLICABLE unless
 * --scan-unused-services. */
#include "audit/check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*region_fn)(km_audit *a, const char *acct, const char *reg);

static void each_region(km_audit *a, region_fn fn) {
    for (size_t i = 0; i < km_naccounts(a); i++) {
        const char *acct = km_account(a, i);
        for (size_t r = 0; r < km_nregions(a, acct); r++) {
            km_begin(a, NULL);
            fn(a, acct, km_region(a, acct, r));
        }
    }
}

/* Number of resources of type in account/region; -1 when the list is unknown. */
static long count_in(km_audit *a, const char *type, const char *acct, const char *reg) {
    size_t n;
    const km_res **v = km_select(a, type, acct, reg, &n);
    free(v);
    if (n) return (long)n;
    km_item l = km_snap_listing(a->snap, acct, reg, type);
    return l.status == KM_DATA_OK ? 0 : -1;
}

/* Config-only accounts have none of these answers: say so once per region, not per check. */
static int config_only(km_audit *a, const char *acct) { return !km_snap_has_collect(a->snap, acct); }

/* ---- GuardDuty ---- */

static const km_json *detector(km_audit *a, const char *acct, const char *reg, km_item *list, km_item *det, const char **id) {
    *id = NULL;
    *list = km_get(a, acct, reg, "guardduty", "list-detectors", NULL);
    if (list->status != KM_DATA_OK) return NULL;
    const km_json *ids = km_ci_get(list->json, "DetectorIds");
    *id = km_json_str(km_json_at(ids, 0));
    if (!*id) return NULL;
    *det = km_get(a, acct, reg, "guardduty", "get-detector", *id);
    return det->status == KM_DATA_OK ? det->json : NULL;
}

static void gd_enabled(km_audit *a, const char *acct, const char *reg) {
    km_item l, d = {0};
    const char *id;
    const km_json *det = detector(a, acct, reg, &l, &d, &id);
    if (l.status == KM_DATA_MISSING && config_only(a, acct)) {
        size_t n;
        const km_res **v = km_select(a, "AWS::GuardDuty::Detector", acct, reg, &n);
        if (n) km_emit(a, v[0], KM_PASS, "GuardDuty detector recorded by AWS Config");
        free(v);
        return;
    }
    if (km_unknown_acct(a, acct, reg, &l, "guardduty list-detectors")) return;
    if (!id) { km_emit_acct(a, acct, reg, KM_FAIL, "GuardDuty is off in %s", reg); return; }
    if (!det) { km_unknown_acct(a, acct, reg, &d, "guardduty get-detector"); return; }
    if (km_streq_ci(km_ci_str(det, "Status"), "ENABLED")) km_emit_acct(a, acct, reg, KM_PASS, "GuardDuty detector %s is enabled", id);
    else km_emit_acct(a, acct, reg, KM_FAIL, "GuardDuty detector %s is %s", id, km_ci_str(det, "Status") ? km_ci_str(det, "Status") : "not enabled");
}

static void chk_gd_enabled(km_audit *a) { each_region(a, gd_enabled); }

static int feature_on(const km_json *det, const char *feature, const char *legacy) {
    const km_json *fs = km_ci_get(det, "Features");
    for (size_t i = 0; i < km_json_len(fs); i++) {
        const km_json *f = km_json_at(fs, i);
        if (km_streq_ci(km_ci_str(f, "Name"), feature)) return km_streq_ci(km_ci_str(f, "Status"), "ENABLED");
    }
    if (legacy) {
        const km_json *v = km_ci_path(km_ci_get(det, "DataSources"), legacy);
        if (v) return km_streq_ci(km_ci_str(v, "Status"), "ENABLED");
    }
    return 0;
}

static void gd_feature(km_audit *a, const char *acct, const char *reg, const char *feature, const char *legacy, const char *what) {
    km_item l, d = {0};
    const char *id;
    const km_json *det = detector(a, acct, reg, &l, &d, &id);
    if (l.status == KM_DATA_MISSING && config_only(a, acct)) return;
    if (km_unknown_acct(a, acct, reg, &l, "guardduty list-detectors")) return;
    if (!id) { km_emit_acct(a, acct, reg, KM_FAIL, "GuardDuty is off in %s, so %s is off", reg, what); return; }
    if (!det) { km_unknown_acct(a, acct, reg, &d, "guardduty get-detector"); return; }
    if (feature_on(det, feature, legacy)) km_emit_acct(a, acct, reg, KM_PASS, "%s (%s) is enabled", what, feature);
    else km_emit_acct(a, acct, reg, KM_FAIL, "%s (%s) is not enabled", what, feature);
}

static void gd_s3(km_audit *a, const char *acct, const char *reg) { gd_feature(a, acct, reg, "S3_DATA_EVENTS", "S3Logs", "GuardDuty S3 Protection"); }
static void gd_malware(km_audit *a, const char *acct, const char *reg) {
    gd_feature(a, acct, reg, "EBS_MALWARE_PROTECTION", "MalwareProtection.ScanEc2InstanceWithFindings.EbsVolumes", "GuardDuty Malware Protection for EC2");
}
static void gd_rds(km_audit *a, const char *acct, const char *reg) { gd_feature(a, acct, reg, "RDS_LOGIN_EVENTS", NULL, "GuardDuty RDS Protection"); }
static void chk_gd_s3(km_audit *a) { each_region(a, gd_s3); }
static void chk_gd_malware(km_audit *a) { each_region(a, gd_malware); }
static void chk_gd_rds(km_audit *a) { each_region(a, gd_rds); }

/* ---- Security Hub ---- */

static void sh_enabled(km_audit *a, const char *acct, const char *reg) {
    km_item h = km_get(a, acct, reg, "securityhub", "describe-hub", NULL);
    if (h.status == KM_DATA_MISSING && config_only(a, acct)) return;
    if (km_unknown_acct(a, acct, reg, &h, "securityhub describe-hub")) return;
    if (h.status == KM_DATA_ABSENT) km_emit_acct(a, acct, reg, KM_FAIL, "Security Hub is not enabled in %s (%s)", reg, h.code);
    else km_emit_acct(a, acct, reg, KM_PASS, "Security Hub is enabled (%s)", km_ci_str(h.json, "HubArn") ? km_ci_str(h.json, "HubArn") : "hub");
}

static void chk_sh_enabled(km_audit *a) { each_region(a, sh_enabled); }

static void sh_standards(km_audit *a, const char *acct, const char *reg) {
    km_item s = km_get(a, acct, reg, "securityhub", "get-enabled-standards", NULL);
    km_item cp = km_get(a, acct, reg, "configservice", "describe-conformance-packs", NULL);
    if (s.status == KM_DATA_MISSING && cp.status == KM_DATA_MISSING && config_only(a, acct)) return;
    const km_json *subs = km_ci_get(s.json, "StandardsSubscriptions");
    for (size_t i = 0; i < km_json_len(subs); i++) {
        const km_json *e = km_json_at(subs, i);
        const char *arn = km_ci_str(e, "StandardsArn");
        if (!arn || !km_streq_ci(km_ci_str(e, "StandardsStatus"), "READY")) continue;
        km_emit_acct(a, acct, reg, KM_PASS, "standard %s is enabled and ready", arn);
        return;
    }
    const km_json *packs = km_ci_get(cp.json, "ConformancePackDetails");
    if (km_json_len(packs)) {
        km_emit_acct(a, acct, reg, KM_PASS, "conformance pack %s evaluates compliance", km_ci_str(km_json_at(packs, 0), "ConformancePackName") ? km_ci_str(km_json_at(packs, 0), "ConformancePackName") : "?");
        return;
    }
    if ((s.status == KM_DATA_OK || s.status == KM_DATA_ABSENT) && (cp.status == KM_DATA_OK || cp.status == KM_DATA_ABSENT))
        km_emit_acct(a, acct, reg, KM_FAIL, "no ready Security Hub standard (FSBP, CIS, ...) and no Config conformance pack: compliance is not evaluated automatically");
    else if (!km_unknown_acct(a, acct, reg, &s, "securityhub get-enabled-standards"))
        km_unknown_acct(a, acct, reg, &cp, "configservice describe-conformance-packs");
}

static void chk_sh_standards(km_audit *a) { each_region(a, sh_standards); }

/* ---- AWS Config ---- */

static int recording(km_audit *a, const char *acct, const char *reg, km_item *rec, km_item *st, char *why, size_t n) {
    *rec = km_get(a, acct, reg, "configservice", "describe-configuration-recorders", NULL);
    *st = km_get(a, acct, reg, "configservice", "describe-configuration-recorder-status", NULL);
    if (rec->status != KM_DATA_OK || st->status != KM_DATA_OK) return -1;
    const km_json *rv = km_ci_get(rec->json, "ConfigurationRecorders");
    if (!km_json_len(rv)) { snprintf(why, n, "no configuration recorder"); return 0; }
    const km_json *sv = km_ci_get(st->json, "ConfigurationRecordersStatus");
    for (size_t i = 0; i < km_json_len(sv); i++) {
        const km_json *e = km_json_at(sv, i);
        if (km_json_truth(km_ci_get(e, "recording")) == 1 && !km_streq_ci(km_ci_str(e, "lastStatus"), "FAILURE")) {
            const char *name = km_ci_str(e, "name");
            /* A recorder limited to a list of types (Control Tower's, recorded by Cloud
             * Custodian, keeps four WAF types) records nothing of the rest: CIS 3.3 and the
             * remediation ask for allSupported. Excluding a few types still records the rest. */
            const km_json *grp = NULL;
            for (size_t k = 0; k < km_json_len(rv) && !grp; k++)
                if (!name || km_streq_ci(km_ci_str(km_json_at(rv, k), "name"), name)) grp = km_ci_get(km_json_at(rv, k), "recordingGroup");
            const char *only = km_ci_str(km_ci_get(grp, "recordingStrategy"), "useOnly");
            if (km_streq_ci(only, "INCLUSION_BY_RESOURCE_TYPES") || (!only && km_json_truth(km_ci_get(grp, "allSupported")) == 0)) {
                snprintf(why, n, "recorder %s records only %zu listed resource type(s), not all supported types: changes to anything else leave no history",
                         name ? name : "?", km_json_len(km_ci_get(grp, "resourceTypes")));
                return 0;
            }
            snprintf(why, n, "recorder %s is recording", name ? name : "?");
            return 1;
        }
    }
    snprintf(why, n, "the configuration recorder is not recording (or its last delivery failed)");
    return 0;
}

static void config_recorder(km_audit *a, const char *acct, const char *reg) {
    km_item rec, st;
    char why[300];
    int r = recording(a, acct, reg, &rec, &st, why, sizeof why);
    if (r < 0) {
        if (rec.status == KM_DATA_MISSING && st.status == KM_DATA_MISSING && config_only(a, acct)) {
            km_emit_acct(a, acct, reg, KM_PASS, "AWS Config delivered the configuration snapshot being audited");
            return;
        }
        if (!km_unknown_acct(a, acct, reg, &rec, "configservice describe-configuration-recorders"))
            km_unknown_acct(a, acct, reg, &st, "configservice describe-configuration-recorder-status");
        return;
    }
    km_emit_acct(a, acct, reg, r ? KM_PASS : KM_FAIL, "%s", why);
}

static void chk_config_recorder(km_audit *a) { each_region(a, config_recorder); }

static void restricted_ports(km_audit *a, const char *acct, const char *reg) {
    km_item rules = km_get(a, acct, reg, "configservice", "describe-config-rules", NULL);
    size_t nr;
    const km_res **cr = km_select(a, "AWS::Config::ConfigRule", acct, reg, &nr);
    if (rules.status == KM_DATA_MISSING && config_only(a, acct) && !nr) { free(cr); return; }
    if (rules.status != KM_DATA_OK && rules.status != KM_DATA_ABSENT && !nr) {
        km_unknown_acct(a, acct, reg, &rules, "configservice describe-config-rules");
        free(cr);
        return;
    }
    const km_res *hit = NULL;
    for (size_t i = 0; i < nr && !hit; i++) {
        const km_json *src = km_res_get(cr[i], "Source");
        const char *state = km_json_str(km_res_get(cr[i], "ConfigRuleState"));
        if (km_streq_ci(km_ci_str(src, "Owner"), "AWS") && km_streq_ci(km_ci_str(src, "SourceIdentifier"), "RESTRICTED_INCOMING_TRAFFIC") &&
            (!state || km_streq_ci(state, "ACTIVE")))
            hit = cr[i];
    }
    free(cr);
    if (!hit) {
        km_emit_acct(a, acct, reg, KM_FAIL, "no active AWS Config rule restricted-common-ports (RESTRICTED_INCOMING_TRAFFIC): security groups opening database or admin ports go unnoticed");
        return;
    }
    km_ev(a, hit->file);
    char ports[200] = "";
    const km_json *params = km_snap_embedded(a->snap, km_res_get(hit, "InputParameters"), NULL);
    for (int p = 1; p <= 5 && params; p++) {
        char key[16];
        snprintf(key, sizeof key, "blockedPort%d", p);
        const km_json *v = km_ci_get(params, key);
        char num[32] = "";
        if (v && v->type == KM_JSON_STRING) snprintf(num, sizeof num, "%s", v->u.str.s);
        else if (v && v->type == KM_JSON_NUMBER) snprintf(num, sizeof num, "%.0f", v->u.num.d);
        if (!num[0]) continue;
        km_join(ports, sizeof ports, ",", num);
    }
    const char *bp = km_ci_str(params, "blockedPorts");
    if (!ports[0] && bp) snprintf(ports, sizeof ports, "%s", bp);
    km_item rec, st;
    char why[300];
    int r = recording(a, acct, reg, &rec, &st, why, sizeof why);
    const char *state = km_json_str(km_res_get(hit, "ConfigRuleState"));
    if (r == 0)
        km_emit_acct(a, acct, reg, KM_FAIL, "rule %s exists but %s, so it evaluates nothing", hit->name, why);
    else
        km_emit_acct(a, acct, reg, KM_PASS, "rule %s (RESTRICTED_INCOMING_TRAFFIC%s) watches security groups on ports %s%s", hit->name,
                     state ? "" : ", state not recorded: taken as active", ports[0] ? ports : "20,21,3389,3306,4333 (defaults)",
                     r < 0 ? "; whether AWS Config is recording is not in the snapshot" : "");
}

static void chk_restricted_ports(km_audit *a) { each_region(a, restricted_ports); }

static void rules_compliant(km_audit *a, const char *acct, const char *reg) {
    km_item c = km_get(a, acct, reg, "configservice", "describe-compliance-by-config-rule", NULL);
    if (c.status == KM_DATA_MISSING && config_only(a, acct)) return;
    if (km_unknown_acct(a, acct, reg, &c, "configservice describe-compliance-by-config-rule")) return;
    km_ev_sticky(a);
    const km_json *l = km_ci_get(c.json, "ComplianceByConfigRules");
    for (size_t i = 0; i < km_json_len(l); i++) {
        const km_json *e = km_json_at(l, i);
        const char *name = km_ci_str(e, "ConfigRuleName");
        const km_json *comp = km_ci_get(e, "Compliance");
        const char *type = km_ci_str(comp, "ComplianceType");
        if (!name) continue;
        km_begin(a, NULL);
        char arn[512];
        snprintf(arn, sizeof arn, "arn:aws:config:%s:%s:config-rule/%s", reg, acct, name);
        const char *aarn = km_snap_intern(a->snap, arn), *aname = km_snap_intern(a->snap, name);
        double cnt = -1;
        km_json_num(km_ci_path(comp, "ComplianceContributorCount.CappedCount"), &cnt);
        if (km_streq_ci(type, "COMPLIANT"))
            km_emit_at(a, acct, reg, "AWS::Config::ConfigRule", aname, aname, aarn, KM_PASS, "compliant");
        else if (km_streq_ci(type, "NON_COMPLIANT"))
            km_emit_at(a, acct, reg, "AWS::Config::ConfigRule", aname, aname, aarn, KM_FAIL, "non-compliant%s%.0f%s",
                       cnt >= 0 ? " (" : "", cnt >= 0 ? cnt : 0, cnt >= 0 ? " resources)" : "");
        else if (km_streq_ci(type, "NOT_APPLICABLE"))
            km_emit_at(a, acct, reg, "AWS::Config::ConfigRule", aname, aname, aarn, KM_NA, "no resource in scope");
        else
            km_emit_at(a, acct, reg, "AWS::Config::ConfigRule", aname, aname, aarn, KM_UNKNOWN, "cannot tell: compliance is %s", type ? type : "not reported");
    }
    a->ev_mark = 0;
}

static void chk_rules_compliant(km_audit *a) { each_region(a, rules_compliant); }

/* ---- Macie ---- */

static long buckets_in(km_audit *a, const char *acct, const char *reg) {
    size_t n;
    const km_res *const *v = km_all(a, "AWS::S3::Bucket", &n);
    long c = 0, unknown = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(v[i]->account, acct)) continue;
        if (!strcmp(v[i]->region, reg)) c++;
        else if (!strcmp(v[i]->region, "global")) unknown++;
    }
    return c ? c : (unknown ? -1 : 0);
}

static void macie(km_audit *a, const char *acct, const char *reg, int discovery) {
    const char *op = discovery ? "get-automated-discovery-configuration" : "get-macie-session";
    km_item m = km_get(a, acct, reg, "macie2", op, NULL);
    if (m.status == KM_DATA_MISSING && config_only(a, acct)) return;
    if (!a->opts.scan_unused && buckets_in(a, acct, reg) == 0) {
        km_emit_acct(a, acct, reg, KM_NA, "no S3 bucket in %s", reg);
        return;
    }
    char what[64];
    snprintf(what, sizeof what, "macie2 %s", op);
    if (km_unknown_acct(a, acct, reg, &m, what)) return;
    const char *st = km_ci_str(m.json, "status");
    const char *name = discovery ? "automated sensitive data discovery" : "Macie";
    if (m.status == KM_DATA_ABSENT) km_emit_acct(a, acct, reg, KM_FAIL, "Macie is not enabled in %s", reg);
    else if (km_streq_ci(st, "ENABLED")) km_emit_acct(a, acct, reg, KM_PASS, "%s is enabled", name);
    else km_emit_acct(a, acct, reg, KM_FAIL, "%s is %s", name, st ? st : "not enabled");
}

static void macie_on(km_audit *a, const char *acct, const char *reg) { macie(a, acct, reg, 0); }
static void macie_disc(km_audit *a, const char *acct, const char *reg) { macie(a, acct, reg, 1); }
static void chk_macie(km_audit *a) { each_region(a, macie_on); }
static void chk_macie_discovery(km_audit *a) { each_region(a, macie_disc); }

/* ---- Inspector ---- */

static const km_json *inspector_state(km_audit *a, const char *acct, const char *reg, km_item *it) {
    *it = km_get(a, acct, reg, "inspector2", "batch-get-account-status", NULL);
    const km_json *accts = km_ci_get(it->json, "accounts");
    for (size_t i = 0; i < km_json_len(accts); i++) {
        const km_json *e = km_json_at(accts, i);
        const char *id = km_ci_str(e, "accountId");
        if (!id || !strcmp(id, acct)) return e;
    }
    return NULL;
}

static void inspector(km_audit *a, const char *acct, const char *reg, const char *const *types, const char *rtype, const char *what) {
    km_item it;
    const km_json *st = inspector_state(a, acct, reg, &it);
    if (it.status == KM_DATA_MISSING && config_only(a, acct)) return;
    long count = rtype ? count_in(a, rtype, acct, reg) : -1;
    if (!a->opts.scan_unused && count == 0) {
        km_emit_acct(a, acct, reg, KM_NA, "no %s in %s to scan", what, reg);
        return;
    }
    if (km_unknown_acct(a, acct, reg, &it, "inspector2 batch-get-account-status")) return;
    if (!st) { km_emit_acct(a, acct, reg, KM_UNKNOWN, "cannot tell: the answer has no status for account %s", acct); return; }
    char off[200] = "";
    for (const char *const *t = types; *t; t++) {
        const char *s = km_ci_str(km_ci_get(km_ci_get(st, "resourceState"), *t), "status");
        if (!km_streq_ci(s, "ENABLED")) {
            km_join(off, sizeof off, ", ", *t);
        }
    }
    if (off[0]) km_emit_acct(a, acct, reg, KM_FAIL, "Amazon Inspector does not scan %s in %s (%s off)", what, reg, off);
    else km_emit_acct(a, acct, reg, KM_PASS, "Amazon Inspector scans %s", what);
}

static void insp_ec2(km_audit *a, const char *acct, const char *reg) {
    static const char *const t[] = {"ec2", NULL};
    inspector(a, acct, reg, t, "AWS::EC2::Instance", "EC2 instances");
}
static void insp_ecr(km_audit *a, const char *acct, const char *reg) {
    static const char *const t[] = {"ecr", NULL};
    inspector(a, acct, reg, t, "AWS::ECR::Repository", "container images in ECR");
}
static void insp_lambda(km_audit *a, const char *acct, const char *reg) {
    static const char *const t[] = {"lambda", "lambdaCode", NULL};
    inspector(a, acct, reg, t, "AWS::Lambda::Function", "Lambda functions and their code");
}
static void chk_insp_ec2(km_audit *a) { each_region(a, insp_ec2); }
static void chk_insp_ecr(km_audit *a) { each_region(a, insp_ecr); }
static void chk_insp_lambda(km_audit *a) { each_region(a, insp_lambda); }

static void insp_findings(km_audit *a, const char *acct, const char *reg) {
    km_item st_it;
    const km_json *st = inspector_state(a, acct, reg, &st_it);
    km_item f = km_get(a, acct, reg, "inspector2", "list-findings", NULL);
    if (f.status == KM_DATA_MISSING && config_only(a, acct)) return;
    if (st && !km_streq_ci(km_ci_str(km_ci_get(st, "state"), "status"), "ENABLED")) {
        km_emit_acct(a, acct, reg, KM_NA, "Amazon Inspector is off in %s: no findings to review", reg);
        return;
    }
    if (km_unknown_acct(a, acct, reg, &f, "inspector2 list-findings")) return;
    const km_json *l = km_ci_get(f.json, "findings");
    size_t n = 0;
    const char *example = NULL;
    for (size_t i = 0; i < km_json_len(l); i++) {
        const km_json *e = km_json_at(l, i);
        const char *sev = km_ci_str(e, "severity"), *status = km_ci_str(e, "status");
        if (status && !km_streq_ci(status, "ACTIVE")) continue;
        if (sev && !km_streq_ci(sev, "CRITICAL") && !km_streq_ci(sev, "HIGH")) continue;
        n++;
        if (!example) example = km_ci_str(e, "title");
    }
    int cut = km_ci_get(f.json, "NextToken") || km_ci_get(f.json, "nextToken");
    if (n) km_emit_acct(a, acct, reg, KM_FAIL, "%zu%s active critical/high Inspector finding(s), e.g. %s", n, cut ? "+" : "",
                        example ? example : "?");
    else if (cut) /* nothing in the first page proves nothing about the rest */
        km_emit_acct(a, acct, reg, KM_UNKNOWN, "cannot tell: the inspector2 list-findings answer is cut short (NextToken) and its first part has no active critical or high finding");
    else km_emit_acct(a, acct, reg, KM_PASS, "no active critical or high Inspector finding");
}

static void chk_insp_findings(km_audit *a) { each_region(a, insp_findings); }

/* ---- Firewall Manager, CloudFormation ---- */

static void chk_fms(km_audit *a) {
    for (size_t i = 0; i < km_naccounts(a); i++) {
        const char *acct = km_account(a, i);
        km_begin(a, NULL);
        const char *reg = NULL;
        km_item adm = {KM_DATA_MISSING, NULL, NULL, NULL, NULL, 0};
        for (size_t r = 0; r < km_nregions(a, acct) && !reg; r++) {
            adm = km_snap_get(a->snap, acct, km_region(a, acct, r), "fms", "get-admin-account", NULL);
            if (adm.status != KM_DATA_MISSING) reg = km_region(a, acct, r);
        }
        if (!reg) {
            if (km_snap_has_collect(a->snap, acct)) km_emit_acct(a, acct, NULL, KM_UNKNOWN, "cannot tell: fms get-admin-account is not in the snapshot");
            continue;
        }
        km_ev_item(a, &adm);
        if (km_unknown_acct(a, acct, reg, &adm, "fms get-admin-account")) continue;
        if (adm.status == KM_DATA_ABSENT) { km_emit_acct(a, acct, NULL, KM_FAIL, "no Firewall Manager administrator: WAF and security group policies are not enforced across accounts"); continue; }
        km_item pl = km_get(a, acct, reg, "fms", "list-policies", NULL);
        if (km_unknown_acct(a, acct, reg, &pl, "fms list-policies")) continue;
        const km_json *pv = km_ci_get(pl.json, "PolicyList");
        if (!km_json_len(pv)) { km_emit_acct(a, acct, NULL, KM_FAIL, "Firewall Manager administrator %s has no policy", km_ci_str(adm.json, "AdminAccount") ? km_ci_str(adm.json, "AdminAccount") : "?"); continue; }
        size_t nonc = 0;
        int unknown = 0;
        for (size_t k = 0; k < km_json_len(pv); k++) {
            const char *pid = km_ci_str(km_json_at(pv, k), "PolicyId");
            km_item cs = km_get(a, acct, reg, "fms", "list-compliance-status", pid);
            if (cs.status != KM_DATA_OK) { unknown = 1; continue; }
            const km_json *l = km_ci_get(cs.json, "PolicyComplianceStatusList");
            for (size_t m = 0; m < km_json_len(l); m++) {
                const km_json *er = km_ci_get(km_json_at(l, m), "EvaluationResults");
                for (size_t e = 0; e < km_json_len(er); e++)
                    if (km_streq_ci(km_ci_str(km_json_at(er, e), "ComplianceStatus"), "NON_COMPLIANT")) nonc++;
            }
        }
        if (nonc) km_emit_acct(a, acct, NULL, KM_FAIL, "%zu Firewall Manager evaluation(s) are non-compliant", nonc);
        else if (unknown) km_emit_acct(a, acct, NULL, KM_UNKNOWN, "cannot tell: compliance of some Firewall Manager policies is not in the snapshot");
        else km_emit_acct(a, acct, NULL, KM_PASS, "%zu Firewall Manager policies, all compliant", km_json_len(pv));
    }
}

static void chk_cfn_drift(km_audit *a) {
    size_t n;
    const km_res *const *v = km_all(a, "AWS::CloudFormation::Stack", &n);
    for (size_t i = 0; i < n; i++) {
        if (km_begin(a, v[i])) continue;
        const char *st = km_ci_str(km_res_get(v[i], "DriftInformation"), "StackDriftStatus");
        if (km_streq_ci(st, "IN_SYNC")) km_emit(a, v[i], KM_PASS, "in sync with its template");
        else if (km_streq_ci(st, "DRIFTED")) km_emit(a, v[i], KM_FAIL, "drifted: resources were changed outside the template");
        else if (st) km_emit(a, v[i], KM_FAIL, "drift is %s: changes outside the template would go unseen", st);
        else km_emit(a, v[i], KM_UNKNOWN, "cannot tell: no drift information recorded");
    }
}

/* ---- Systems Manager patching ---- */

static long running_in(km_audit *a, const char *acct, const char *reg) {
    size_t n;
    const km_res **v = km_select(a, "AWS::EC2::Instance", acct, reg, &n);
    long c = 0;
    for (size_t i = 0; i < n; i++) {
        const char *s = km_json_str(km_ci_get(km_res_get(v[i], "State"), "Name"));
        if (!s || km_streq_ci(s, "running")) c++;
    }
    free(v);
    return c;
}

static void patch_compliance(km_audit *a, const char *acct, const char *reg) {
    if (!running_in(a, acct, reg)) return;
    km_item c = km_get(a, acct, reg, "ssm", "list-resource-compliance-summaries", NULL);
    if (c.status == KM_DATA_MISSING && config_only(a, acct)) return;
    if (km_unknown_acct(a, acct, reg, &c, "ssm list-resource-compliance-summaries")) return;
    km_ev_sticky(a);
    const km_json *l = km_ci_get(c.json, "ResourceComplianceSummaryItems");
    size_t seen = 0;
    for (size_t i = 0; i < km_json_len(l); i++) {
        const km_json *e = km_json_at(l, i);
        const char *type = km_ci_str(e, "ComplianceType");
        if (type && !km_streq_ci(type, "Patch")) continue;
        const char *id = km_ci_str(e, "ResourceId");
        if (!id) continue;
        seen++;
        km_begin(a, NULL);
        char arn[256];
        snprintf(arn, sizeof arn, "arn:aws:ec2:%s:%s:instance/%s", reg, acct, id);
        const km_res *r = km_snap_find_arn(a->snap, arn);
        const char *st = km_ci_str(e, "Status");
        double crit = 0;
        km_json_num(km_ci_path(e, "NonCompliantSummary.SeveritySummary.CriticalCount"), &crit);
        km_status s = km_streq_ci(st, "COMPLIANT") ? KM_PASS : KM_FAIL;
        const char *msg = s == KM_PASS ? "patch compliant" : "missing patches";
        if (r) km_emit(a, r, s, "%s%s", msg, crit > 0 ? " (critical ones among them)" : "");
        else km_emit_at(a, acct, reg, "AWS::EC2::Instance", km_snap_intern(a->snap, id), km_snap_intern(a->snap, id),
                        km_snap_intern(a->snap, arn), s, "%s%s", msg, crit > 0 ? " (critical ones among them)" : "");
    }
    a->ev_mark = 0;
    if (!seen) {
        km_begin(a, NULL);
        km_ev_item(a, &c);
        km_emit_acct(a, acct, reg, KM_FAIL, "no patch compliance data for the %ld running instance(s) in %s: nothing scans them for missing patches",
                     running_in(a, acct, reg), reg);
    }
}

static void chk_patch_compliance(km_audit *a) { each_region(a, patch_compliance); }

static int patch_doc(const char *name) {
    return name && (strstr(name, "RunPatchBaseline") || strstr(name, "PatchPolicy"));
}

static void patch_manager(km_audit *a, const char *acct, const char *reg) {
    long run = running_in(a, acct, reg);
    if (!run && !a->opts.scan_unused) return;
    km_item as = km_get(a, acct, reg, "ssm", "list-associations", NULL);
    km_item mw = km_get(a, acct, reg, "ssm", "describe-maintenance-windows", NULL);
    if (as.status == KM_DATA_MISSING && mw.status == KM_DATA_MISSING && config_only(a, acct)) return;
    const km_json *al = km_ci_get(as.json, "Associations");
    for (size_t i = 0; i < km_json_len(al); i++) {
        const char *name = km_ci_str(km_json_at(al, i), "Name");
        if (patch_doc(name)) {
            km_emit_acct(a, acct, reg, KM_PASS, "State Manager association runs %s", name);
            return;
        }
    }
    const km_json *wl = km_ci_get(mw.json, "WindowIdentities");
    int unknown = 0;
    for (size_t i = 0; i < km_json_len(wl); i++) {
        const km_json *w = km_json_at(wl, i);
        if (km_json_truth(km_ci_get(w, "Enabled")) == 0) continue;
        const char *wid = km_ci_str(w, "WindowId");
        km_item t = km_get(a, acct, reg, "ssm", "describe-maintenance-window-tasks", wid);
        if (t.status != KM_DATA_OK) { unknown = 1; continue; }
        const km_json *tl = km_ci_get(t.json, "Tasks");
        for (size_t k = 0; k < km_json_len(tl); k++)
            if (patch_doc(km_ci_str(km_json_at(tl, k), "TaskArn"))) {
                km_emit_acct(a, acct, reg, KM_PASS, "maintenance window %s runs AWS-RunPatchBaseline", km_ci_str(w, "Name") ? km_ci_str(w, "Name") : wid);
                return;
            }
    }
    if ((as.status == KM_DATA_OK || as.status == KM_DATA_ABSENT) && (mw.status == KM_DATA_OK || mw.status == KM_DATA_ABSENT) && !unknown)
        km_emit_acct(a, acct, reg, KM_FAIL, "Patch Manager is not set up in %s: no association or maintenance window runs AWS-RunPatchBaseline for %ld running instance(s)", reg, run);
    else if (unknown) km_emit_acct(a, acct, reg, KM_UNKNOWN, "cannot tell: the tasks of an enabled maintenance window are not in the snapshot");
    else if (!km_unknown_acct(a, acct, reg, &as, "ssm list-associations")) km_unknown_acct(a, acct, reg, &mw, "ssm describe-maintenance-windows");
}

static void chk_patch_manager(km_audit *a) { each_region(a, patch_manager); }

const km_check_impl km_chk_svc[] = {
    {"KMA-GUARDDUTY-ENABLED", chk_gd_enabled},
    {"KMA-GUARDDUTY-S3-PROTECTION", chk_gd_s3},
    {"KMA-GUARDDUTY-MALWARE-PROTECTION", chk_gd_malware},
    {"KMA-GUARDDUTY-RDS-PROTECTION", chk_gd_rds},
    {"KMA-SECURITYHUB-ENABLED", chk_sh_enabled},
    {"KMA-SECURITYHUB-STANDARDS", chk_sh_standards},
    {"KMA-CONFIG-RECORDER", chk_config_recorder},
    {"KMA-CONFIG-RESTRICTED-COMMON-PORTS", chk_restricted_ports},
    {"KMA-CONFIG-RULES-COMPLIANT", chk_rules_compliant},
    {"KMA-MACIE-ENABLED", chk_macie},
    {"KMA-MACIE-AUTOMATED-DISCOVERY", chk_macie_discovery},
    {"KMA-INSPECTOR-EC2", chk_insp_ec2},
    {"KMA-INSPECTOR-ECR", chk_insp_ecr},
    {"KMA-INSPECTOR-LAMBDA", chk_insp_lambda},
    {"KMA-INSPECTOR-CRITICAL-FINDINGS", chk_insp_findings},
    {"KMA-FMS-POLICIES", chk_fms},
    {"KMA-CFN-DRIFT", chk_cfn_drift},
    {"KMA-SSM-PATCH-COMPLIANCE", chk_patch_compliance},
    {"KMA-SSM-PATCH-MANAGER", chk_patch_manager},
    {NULL, NULL},
};
