/* Applications and supply chain: ECR scanning, immutability and privacy, ECS task images,
 * Lambda code signing and runtimes, WAF (rules, the SQL injection rule of the strategy,
 * coverage of load balancers and CloudFront, logging), CodeBuild secrets, CodeArtifact
 * upstreams, Secrets Manager rotation, ACM certificates. */
#include "audit/check.h"
#include "audit/policy.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- ECR ---- */

static int filter_covers(const km_json *rule, const char *repo) {
    const km_json *fl = km_ci_get(rule, "repositoryFilters");
    if (!km_json_len(fl)) return 1; /* no filter: every repository */
    for (size_t i = 0; i < km_json_len(fl); i++) {
        const char *f = km_ci_str(km_json_at(fl, i), "filter");
        if (f && km_glob(f, repo)) return 1;
    }
    return 0;
}

/* The registry's scanning rule for repo with one of the given frequencies, or NULL. */
static const km_json *registry_rule(const km_json *cfg, const char *repo, int continuous_only) {
    const km_json *rules = km_ci_get(km_ci_get(cfg, "scanningConfiguration"), "rules");
    for (size_t i = 0; i < km_json_len(rules); i++) {
        const km_json *r = km_json_at(rules, i);
        const char *f = km_ci_str(r, "scanFrequency");
        if (!f) continue;
        if (continuous_only ? !km_streq_ci(f, "CONTINUOUS_SCAN") : !(km_streq_ci(f, "SCAN_ON_PUSH") || km_streq_ci(f, "CONTINUOUS_SCAN")))
            continue;
        if (filter_covers(r, repo)) return r;
    }
    return NULL;
}

static void chk_scan_on_push(km_audit *a) {
    size_t n;
    const km_res *const *v = km_all(a, "AWS::ECR::Repository", &n);
    for (size_t i = 0; i < n; i++) {
        const km_res *r = v[i];
        if (km_begin(a, r)) continue;
        const km_json *isc = km_res_get(r, "imageScanningConfiguration");
        if (km_json_truth(km_ci_get(isc, "scanOnPush")) == 1) { km_emit(a, r, KM_PASS, "scan on push enabled on the repository"); continue; }
        km_item reg = km_get(a, r->account, r->region, "ecr", "get-registry-scanning-configuration", NULL);
        if (reg.status == KM_DATA_OK) {
            const km_json *rule = registry_rule(reg.json, r->name, 0);
            if (rule) km_emit(a, r, KM_PASS, "registry scanning rule (%s, %s) covers the repository",
                              km_ci_str(km_ci_get(reg.json, "scanningConfiguration"), "scanType") ? km_ci_str(km_ci_get(reg.json, "scanningConfiguration"), "scanType") : "?",
                              km_ci_str(rule, "scanFrequency"));
            else km_emit(a, r, KM_FAIL, "images are not scanned when pushed: no repository setting and no registry rule covers %s", r->name);
            continue;
        }
        char buf[600];
        km_emit(a, r, KM_UNKNOWN, "scan on push is off on the repository; whether a registry rule covers it: %s",
                km_item_why(&reg, "ecr get-registry-scanning-configuration", buf, sizeof buf));
    }
}

static void chk_enhanced(km_audit *a) {
    for (size_t i = 0; i < km_naccounts(a); i++) {
        const char *acct = km_account(a, i);
        for (size_t rg = 0; rg < km_nregions(a, acct); rg++) {
            const char *reg = km_region(a, acct, rg);
            size_t n;
            const km_res **repos = km_select(a, "AWS::ECR::Repository", acct, reg, &n);
            if (!n) { free(repos); continue; }
            km_begin(a, NULL);
            km_item it = km_get(a, acct, reg, "ecr", "get-registry-scanning-configuration", NULL);
            if (km_unknown_acct(a, acct, reg, &it, "ecr get-registry-scanning-configuration")) { free(repos); continue; }
            const char *type = km_ci_str(km_ci_get(it.json, "scanningConfiguration"), "scanType");
            size_t uncovered = 0;
            const char *example = NULL;
            for (size_t k = 0; k < n; k++)
                if (!registry_rule(it.json, repos[k]->name, 1)) { uncovered++; if (!example) example = repos[k]->name; }
            free(repos);
            if (!km_streq_ci(type, "ENHANCED"))
                km_emit_acct(a, acct, reg, KM_FAIL, "registry scanning is %s: images are not rescanned when new CVEs are published", type ? type : "not configured");
            else if (uncovered)
                km_emit_acct(a, acct, reg, KM_FAIL, "enhanced scanning, but %zu repositor%s (e.g. %s) have no continuous-scan rule", uncovered,
                             uncovered == 1 ? "y" : "ies", example);
            else km_emit_acct(a, acct, reg, KM_PASS, "enhanced continuous scanning covers all %zu repositories", n);
        }
    }
}

static void chk_latest_image(km_audit *a) {
    size_t n;
    const km_res *const *v = km_all(a, "AWS::ECR::Repository", &n);
    for (size_t i = 0; i < n; i++) {
        const km_res *r = v[i];
        if (km_begin(a, r)) continue;
        km_item it = km_rget(a, r, "ecr", "describe-images");
        if (km_unknown_res(a, r, &it, "ecr describe-images")) continue;
        const km_json *imgs = km_ci_get(it.json, "imageDetails");
        const km_json *newest = NULL;
        int64_t best = -1;
        for (size_t k = 0; k < km_json_len(imgs); k++) {
            int64_t t;
            const km_json *im = km_json_at(imgs, k);
            if (km_parse_time(km_ci_get(im, "imagePushedAt"), &t) == 0 && t > best) { best = t; newest = im; }
        }
        if (!newest) continue; /* no image */
        const km_json *tags = km_ci_get(newest, "imageTags");
        const char *tag = km_json_str(km_json_at(tags, 0));
        const char *dig = km_ci_str(newest, "imageDigest");
        char name[300];
        snprintf(name, sizeof name, "%s:%s", r->name, tag ? tag : (dig ? dig : "?"));
        const km_json *counts = km_ci_get(km_ci_get(newest, "imageScanFindingsSummary"), "findingSeverityCounts");
        const char *st = km_ci_str(km_ci_get(newest, "imageScanStatus"), "status");
        double crit = 0, high = 0;
        km_json_num(km_ci_get(counts, "CRITICAL"), &crit);
        km_json_num(km_ci_get(counts, "HIGH"), &high);
        if (crit + high > 0) km_emit(a, r, KM_FAIL, "newest image %s has %.0f critical and %.0f high vulnerabilities", name, crit, high);
        else if (counts || km_streq_ci(st, "COMPLETE")) km_emit(a, r, KM_PASS, "newest image %s has no critical or high vulnerability", name);
        else if (km_streq_ci(st, "ACTIVE")) km_emit(a, r, KM_UNKNOWN, "cannot tell: newest image %s is scanned continuously; its findings are in Amazon Inspector", name);
        else km_emit(a, r, KM_FAIL, "newest image %s has no completed scan (%s)", name, st ? st : "never scanned");
    }
}

static void chk_immutable(km_audit *a) {
    size_t n;
    const km_res *const *v = km_all(a, "AWS::ECR::Repository", &n);
    for (size_t i = 0; i < n; i++) {
        if (km_begin(a, v[i])) continue;
        const char *m = km_json_str(km_res_get(v[i], "imageTagMutability"));
        if (m && km_str_starts(m, "IMMUTABLE")) km_emit(a, v[i], KM_PASS, "image tags are immutable");
        else km_emit(a, v[i], KM_FAIL, "image tags are mutable: a pushed image can silently replace a trusted tag");
    }
}

static void chk_repo_public(km_audit *a) {
    size_t n;
    const km_res *const *v = km_all(a, "AWS::ECR::Repository", &n);
    for (size_t i = 0; i < n; i++) {
        const km_res *r = v[i];
        if (km_begin(a, r)) continue;
        const km_json *pt;
        if (r->from_config) {
            pt = km_res_get(r, "RepositoryPolicyText");
            if (!pt) { km_emit(a, r, KM_PASS, "no repository policy"); continue; }
        } else {
            km_item it = km_rget(a, r, "ecr", "get-repository-policy");
            if (km_unknown_res(a, r, &it, "ecr get-repository-policy")) continue;
            if (it.status == KM_DATA_ABSENT) { km_emit(a, r, KM_PASS, "no repository policy (%s)", it.code); continue; }
            pt = km_ci_get(it.json, "policyText");
        }
        const char *why;
        const km_json *doc = km_snap_embedded(a->snap, pt, &why);
        if (!doc) { km_emit(a, r, KM_UNKNOWN, "cannot tell: the repository policy is not JSON (%s)", why ? why : "?"); continue; }
        int pub = 0;
        for (size_t s = 0; s < km_pol_nstmts(doc); s++) {
            const km_json *st = km_pol_stmt(doc, s);
            if (km_stmt_allow(st) && km_stmt_public_principal(st) && !km_stmt_limiting_condition(st)) pub = 1;
        }
        if (pub) km_emit(a, r, KM_FAIL, "the repository policy lets anyone (Principal \"*\") use it");
        else km_emit(a, r, KM_PASS, "the repository policy grants no public access");
    }
}

/* ---- ECS ---- */

static int private_image(km_audit *a, const char *image, const char *account) {
    /* <account>.dkr.ecr.<region>.amazonaws.com/<repo> (pull-through caches included) */
    const char *dot = strchr(image, '.');
    if (!dot || (size_t)(dot - image) != 12 || strncmp(dot, ".dkr.ecr.", 9)) return 0;
    char acct[13];
    memcpy(acct, image, 12);
    acct[12] = 0;
    if (!km_is_account_id(acct)) return 0;
    const char *slash = strchr(image, '/');
    if (!slash || !strstr(image, ".amazonaws.com")) return 0;
    return !strcmp(acct, account) || km_org_same(a, acct, account) == 1 ? 2 : 1;
}

static void chk_ecs_images(km_audit *a) {
    size_t n;
    const km_res *const *v = km_all(a, "AWS::ECS::TaskDefinition", &n);
    for (size_t i = 0; i < n; i++) {
        const km_res *td = v[i];
        if (km_begin(a, td)) continue;
        const km_json *cds = km_res_get(td, "containerDefinitions");
        char outside[600] = "";
        size_t bad = 0;
        for (size_t k = 0; k < km_json_len(cds); k++) {
            const char *img = km_ci_str(km_json_at(cds, k), "image");
            if (!img) continue;
            int p = private_image(a, img, td->account);
            if (p) continue;
            bad++;
            km_join(outside, sizeof outside, ", ", img);
        }
        if (bad) km_emit(a, td, KM_FAIL, "pulls %zu image(s) from outside your private ECR: %s", bad, outside);
        else if (km_json_len(cds)) km_emit(a, td, KM_PASS, "every container image comes from a private ECR registry");
    }
}

static void chk_ecs_privileged(km_audit *a) {
    size_t n;
    const km_res *const *v = km_all(a, "AWS::ECS::TaskDefinition", &n);
    for (size_t i = 0; i < n; i++) {
        if (km_begin(a, v[i])) continue;
        const km_json *cds = km_res_get(v[i], "containerDefinitions");
        const char *priv = NULL;
        for (size_t k = 0; k < km_json_len(cds); k++)
            if (km_json_truth(km_ci_get(km_json_at(cds, k), "privileged")) == 1) priv = km_ci_str(km_json_at(cds, k), "name");
        if (priv) km_emit(a, v[i], KM_FAIL, "container %s runs privileged: code injected into it owns the host", priv);
        else km_emit(a, v[i], KM_PASS, "no privileged container");
    }
}

/* ---- Lambda ---- */

static void chk_code_signing(km_audit *a) {
    size_t n;
    const km_res *const *v = km_all(a, "AWS::Lambda::Function", &n);
    for (size_t i = 0; i < n; i++) {
        const km_res *f = v[i];
        if (km_begin(a, f)) continue;
        if (km_streq_ci(km_json_str(km_res_get(f, "PackageType")), "Image")) {
            km_emit(a, f, KM_NA, "container image function: Lambda code signing applies to .zip packages (sign the image with AWS Signer/Notation instead)");
            continue;
        }
        km_item it = km_rget(a, f, "lambda", "get-function-code-signing-config");
        if (km_unknown_res(a, f, &it, "lambda get-function-code-signing-config")) continue;
        const char *csc = km_ci_str(it.json, "CodeSigningConfigArn");
        if (!csc || !*csc) { km_emit(a, f, KM_FAIL, "no code signing configuration: unsigned or altered code deploys"); continue; }
        km_item l = km_get(a, f->account, f->region, "lambda", "list-code-signing-configs", NULL);
        const km_json *cfgs = km_ci_get(l.json, "CodeSigningConfigs");
        const km_json *cfg = NULL;
        for (size_t k = 0; k < km_json_len(cfgs); k++)
            if (km_streq_ci(km_ci_str(km_json_at(cfgs, k), "CodeSigningConfigArn"), csc)) cfg = km_json_at(cfgs, k);
        if (!cfg) {
            char buf[600];
            km_emit(a, f, KM_UNKNOWN, "signing configuration %s: %s", csc,
                    l.status == KM_DATA_OK ? "not listed by lambda list-code-signing-configs" : km_item_why(&l, "lambda list-code-signing-configs", buf, sizeof buf));
            continue;
        }
        const char *pol = km_ci_str(km_ci_get(cfg, "CodeSigningPolicies"), "UntrustedArtifactOnDeployment");
        if (!km_streq_ci(pol, "Enforce")) {
            km_emit(a, f, KM_FAIL, "code signing configuration %s only warns (%s): unsigned code still deploys", csc, pol ? pol : "Warn");
            continue;
        }
        /* the allowed signing profiles must exist and be active */
        km_item sp = km_get(a, f->account, f->region, "signer", "list-signing-profiles", NULL);
        const km_json *pubs = km_ci_get(km_ci_get(cfg, "AllowedPublishers"), "SigningProfileVersionArns");
        if (sp.status == KM_DATA_OK) {
            const km_json *profiles = km_ci_get(sp.json, "profiles");
            size_t active = 0;
            for (size_t k = 0; k < km_json_len(pubs); k++) {
                const char *pv = km_json_str(km_json_at(pubs, k));
                for (size_t m = 0; pv && m < km_json_len(profiles); m++) {
                    const km_json *p = km_json_at(profiles, m);
                    const char *parn = km_ci_str(p, "profileVersionArn");
                    if (parn && !strcmp(parn, pv) && km_streq_ci(km_ci_str(p, "status"), "Active")) active++;
                }
            }
            if (!active) {
                km_emit(a, f, KM_FAIL, "code signing enforced, but no allowed signing profile is active in AWS Signer");
                continue;
            }
        }
        km_emit(a, f, KM_PASS, "code signing enforced by %s", csc);
    }
}

static void chk_runtime(km_audit *a) {
    km_listing_unknown(a, "AWS::Lambda::Function", "lambda list-functions");
    size_t n;
    const km_res *const *v = km_all(a, "AWS::Lambda::Function", &n);
    const km_json *dep = km_ci_get(a->cur->params, "deprecated_runtimes");
    for (size_t i = 0; i < n; i++) {
        if (km_begin(a, v[i])) continue;
        const char *rt = km_json_str(km_res_get(v[i], "Runtime"));
        if (!rt) continue; /* container images bring their own runtime */
        if (km_json_has_str(dep, rt)) km_emit(a, v[i], KM_FAIL, "runtime %s is deprecated: it gets no security fixes", rt);
        else km_emit(a, v[i], KM_PASS, "runtime %s is supported", rt);
    }
}

/* ---- WAF ---- */

static const km_json *web_acl(km_audit *a, const km_res *acl, km_item *it) {
    if (acl->from_config) {
        memset(it, 0, sizeof *it);
        it->status = KM_DATA_OK;
        it->file = acl->file;
        return acl->cfg;
    }
    *it = km_rget(a, acl, "wafv2", "get-web-acl");
    return km_ci_get(it->json, "WebACL");
}

static const km_json *find_rule_group(km_audit *a, const km_res *acl, const char *arn);

static void chk_waf_rules(km_audit *a) {
    km_listing_unknown(a, "AWS::WAFv2::WebACL", "wafv2 list-web-acls");
    size_t n;
    const km_res *const *v = km_all(a, "AWS::WAFv2::WebACL", &n);
    for (size_t i = 0; i < n; i++) {
        if (km_begin(a, v[i])) continue;
        km_item it;
        const km_json *w = web_acl(a, v[i], &it);
        if (km_unknown_res(a, v[i], &it, "wafv2 get-web-acl")) continue;
        const km_json *rules = km_ci_get(w, "Rules");
        size_t nr = km_json_len(rules) + km_json_len(km_ci_get(w, "PreProcessFirewallManagerRuleGroups")) +
                    km_json_len(km_ci_get(w, "PostProcessFirewallManagerRuleGroups"));
        /* A rule that only references a rule group recorded with no rules matches nothing
         * (Cloud Custodian's recorded noncompliant-waf-3): it does not count. */
        size_t empty = 0;
        for (size_t k = 0; k < km_json_len(rules); k++) {
            const km_json *ref = km_ci_get(km_ci_get(km_json_at(rules, k), "Statement"), "RuleGroupReferenceStatement");
            const km_json *rg = ref ? find_rule_group(a, v[i], km_ci_str(ref, "ARN")) : NULL;
            if (rg && km_ci_get(rg, "Rules") && !km_json_len(km_ci_get(rg, "Rules"))) empty++;
        }
        if (nr > empty) km_emit(a, v[i], KM_PASS, "%zu rule(s)", nr - empty);
        else if (nr) km_emit(a, v[i], KM_FAIL, "the web ACL's only rule group(s) have no rule: it only applies its default action");
        else km_emit(a, v[i], KM_FAIL, "the web ACL has no rule: it only applies its default action");
    }
}

/* Does a statement contain a SQL injection match (And/Or/RateBased scope-down included)? */
static int has_sqli(const km_json *st, int depth) {
    if (!st || depth > 12) return 0;
    if (km_ci_get(st, "SqliMatchStatement")) return 1;
    const char *combo[] = {"AndStatement", "OrStatement", NULL};
    for (int c = 0; combo[c]; c++) {
        const km_json *l = km_ci_get(km_ci_get(st, combo[c]), "Statements");
        for (size_t i = 0; i < km_json_len(l); i++)
            if (has_sqli(km_json_at(l, i), depth + 1)) return 1;
    }
    return has_sqli(km_ci_get(km_ci_get(st, "RateBasedStatement"), "ScopeDownStatement"), depth + 1);
}

static int blocks(const km_json *rule) {
    const km_json *act = km_ci_get(rule, "Action");
    return km_ci_get(act, "Block") != NULL;
}

static const km_json *find_rule_group(km_audit *a, const km_res *acl, const char *arn) {
    const char *const *keys;
    const km_item *const *items;
    size_t n = km_snap_keys(a->snap, acl->account, acl->data_region, "wafv2", "get-rule-group", &keys, &items);
    for (size_t i = 0; i < n; i++) {
        const km_json *rg = km_ci_get(items[i]->json, "RuleGroup");
        if (km_streq_ci(km_ci_str(rg, "ARN"), arn)) { km_ev(a, items[i]->file); return rg; }
    }
    return NULL;
}

/* 2 blocks SQLi, 1 matches it but only counts, 0 none. */
static int sqli_rules(km_audit *a, const km_res *acl, const km_json *rules, char *how, size_t n, int depth) {
    int best = 0;
    for (size_t i = 0; i < km_json_len(rules) && best < 2; i++) {
        const km_json *r = km_json_at(rules, i);
        const char *name = km_ci_str(r, "Name");
        const km_json *st = km_ci_get(r, "Statement");
        if (!st) st = km_ci_path(r, "FirewallManagerStatement");
        const km_json *mg = km_ci_get(st, "ManagedRuleGroupStatement");
        const km_json *ov = km_ci_get(r, "OverrideAction");
        int count_only = ov && km_ci_get(ov, "Count") != NULL;
        if (mg && km_streq_ci(km_ci_str(mg, "VendorName"), "AWS") && km_streq_ci(km_ci_str(mg, "Name"), "AWSManagedRulesSQLiRuleSet")) {
            if (count_only) { if (best < 1) { best = 1; snprintf(how, n, "AWSManagedRulesSQLiRuleSet in rule %s only counts (OverrideAction Count)", name ? name : "?"); } }
            else { best = 2; snprintf(how, n, "rule %s uses AWSManagedRulesSQLiRuleSet", name ? name : "?"); }
            continue;
        }
        if (has_sqli(st, 0)) {
            if (blocks(r)) { best = 2; snprintf(how, n, "rule %s blocks SQL injection (SqliMatchStatement)", name ? name : "?"); }
            else if (best < 1) { best = 1; snprintf(how, n, "rule %s matches SQL injection but does not block it", name ? name : "?"); }
            continue;
        }
        const km_json *ref = km_ci_get(st, "RuleGroupReferenceStatement");
        if (ref && depth < 2) {
            const km_json *rg = find_rule_group(a, acl, km_ci_str(ref, "ARN"));
            if (rg) {
                char sub[300];
                int s = sqli_rules(a, acl, km_ci_get(rg, "Rules"), sub, sizeof sub, depth + 1);
                if (s == 2 && count_only) s = 1;
                if (s > best) { best = s; snprintf(how, n, "rule group %s: %s", km_ci_str(rg, "Name") ? km_ci_str(rg, "Name") : "?", sub); }
            }
        }
    }
    return best;
}

static void chk_waf_sqli(km_audit *a) {
    size_t n;
    const km_res *const *v = km_all(a, "AWS::WAFv2::WebACL", &n);
    for (size_t i = 0; i < n; i++) {
        if (km_begin(a, v[i])) continue;
        km_item it;
        const km_json *w = web_acl(a, v[i], &it);
        if (km_unknown_res(a, v[i], &it, "wafv2 get-web-acl")) continue;
        char how1[600] = "", how2[600] = "";
        int s1 = sqli_rules(a, v[i], km_ci_get(w, "PreProcessFirewallManagerRuleGroups"), how1, sizeof how1, 0);
        int s2 = sqli_rules(a, v[i], km_ci_get(w, "Rules"), how2, sizeof how2, 0);
        int s = s1 >= s2 ? s1 : s2;
        const char *how = s1 >= s2 ? how1 : how2;
        if (s == 2) km_emit(a, v[i], KM_PASS, "%s", how);
        else if (s == 1) km_emit(a, v[i], KM_FAIL, "%s", how);
        else km_emit(a, v[i], KM_FAIL, "no rule blocks SQL injection (neither AWSManagedRulesSQLiRuleSet nor a blocking SqliMatchStatement)");
    }
}

static void chk_waf_alb(km_audit *a) {
    size_t n;
    const km_res *const *v = km_all(a, "AWS::ElasticLoadBalancingV2::LoadBalancer", &n);
    for (size_t i = 0; i < n; i++) {
        const km_res *lb = v[i];
        if (!km_streq_ci(km_json_str(km_res_get(lb, "Type")), "application") ||
            !km_streq_ci(km_json_str(km_res_get(lb, "Scheme")), "internet-facing"))
            continue;
        if (km_begin(a, lb)) continue;
        size_t na;
        const km_res **acls = km_select(a, "AWS::WAFv2::WebACL", lb->account, lb->region, &na);
        const char *by = NULL;
        int unknown = 0;
        for (size_t k = 0; k < na && !by; k++) {
            km_item r = km_rget(a, acls[k], "wafv2", "list-resources-for-web-acl");
            if (r.status != KM_DATA_OK) { unknown = 1; continue; }
            if (km_json_has_str(km_ci_get(r.json, "ResourceArns"), lb->arn)) by = acls[k]->name;
        }
        free(acls);
        km_item l = km_snap_listing(a->snap, lb->account, lb->region, "AWS::WAFv2::WebACL");
        if (by) km_emit(a, lb, KM_PASS, "protected by web ACL %s", by);
        else if (unknown) km_emit(a, lb, KM_UNKNOWN, "cannot tell: the resources of some web ACL are not in the snapshot (wafv2 list-resources-for-web-acl)");
        else if (l.status != KM_DATA_OK && !lb->from_config) km_unknown_res(a, lb, &l, "wafv2 list-web-acls");
        else km_emit(a, lb, KM_FAIL, "internet-facing load balancer without AWS WAF: SQL injection reaches the application");
    }
}

static void chk_waf_cloudfront(km_audit *a) {
    size_t n;
    const km_res *const *v = km_all(a, "AWS::CloudFront::Distribution", &n);
    for (size_t i = 0; i < n; i++) {
        if (km_begin(a, v[i])) continue;
        const char *w = km_json_str(km_res_get(v[i], "WebACLId"));
        if (!w) w = km_json_str(km_ci_get(km_res_get(v[i], "DistributionConfig"), "WebACLId"));
        if (w && *w) km_emit(a, v[i], KM_PASS, "protected by web ACL %s", w);
        else km_emit(a, v[i], KM_FAIL, "distribution without AWS WAF");
    }
}

static void chk_waf_logging(km_audit *a) {
    km_listing_unknown(a, "AWS::WAFv2::WebACL", "wafv2 list-web-acls");
    size_t n;
    const km_res *const *v = km_all(a, "AWS::WAFv2::WebACL", &n);
    for (size_t i = 0; i < n; i++) {
        if (km_begin(a, v[i])) continue;
        km_item it = km_rget(a, v[i], "wafv2", "get-logging-configuration");
        if (km_unknown_res(a, v[i], &it, "wafv2 get-logging-configuration")) continue;
        const km_json *d = km_ci_get(km_ci_get(it.json, "LoggingConfiguration"), "LogDestinationConfigs");
        if (it.status == KM_DATA_OK && km_json_len(d)) km_emit(a, v[i], KM_PASS, "logs to %s", km_json_str(km_json_at(d, 0)) ? km_json_str(km_json_at(d, 0)) : "?");
        else km_emit(a, v[i], KM_FAIL, "web ACL logging is off: attack requests leave no record");
    }
}

/* ---- CodeBuild, CodeArtifact ---- */

static int secret_name(const char *n) {
    static const char *const words[] = {"SECRET", "PASSWORD", "PASSWD", "TOKEN", "PRIVATE_KEY", "ACCESS_KEY", "API_KEY", "CREDENTIAL", NULL};
    char up[256];
    size_t i = 0;
    for (; n[i] && i + 1 < sizeof up; i++) up[i] = (char)toupper((unsigned char)n[i]);
    up[i] = 0;
    for (const char *const *w = words; *w; w++)
        if (strstr(up, *w)) return 1;
    return 0;
}

static void chk_codebuild_secrets(km_audit *a) {
    size_t n;
    const km_res *const *v = km_all(a, "AWS::CodeBuild::Project", &n);
    for (size_t i = 0; i < n; i++) {
        if (km_begin(a, v[i])) continue;
        const km_json *vars = km_ci_get(km_res_get(v[i], "environment"), "environmentVariables");
        char names[400] = "";
        for (size_t k = 0; k < km_json_len(vars); k++) {
            const km_json *e = km_json_at(vars, k);
            const char *nm = km_ci_str(e, "name"), *type = km_ci_str(e, "type");
            if (!nm || (type && !km_streq_ci(type, "PLAINTEXT")) || !secret_name(nm)) continue;
            /* the value is never printed */
            km_join(names, sizeof names, ", ", nm);
        }
        if (names[0]) km_emit(a, v[i], KM_FAIL, "plaintext environment variable(s) that look like secrets: %s (use Secrets Manager or Parameter Store)", names);
        else km_emit(a, v[i], KM_PASS, "no plaintext secret in environment variables");
    }
}

static void chk_codebuild_privileged(km_audit *a) {
    size_t n;
    const km_res *const *v = km_all(a, "AWS::CodeBuild::Project", &n);
    for (size_t i = 0; i < n; i++) {
        if (km_begin(a, v[i])) continue;
        if (km_json_truth(km_ci_get(km_res_get(v[i], "environment"), "privilegedMode")) == 1)
            km_emit(a, v[i], KM_FAIL, "builds run in privileged mode: a poisoned dependency gets root on the build host");
        else km_emit(a, v[i], KM_PASS, "privileged mode off");
    }
}

static void chk_codeartifact(km_audit *a) {
    size_t n;
    const km_res *const *v = km_all(a, "AWS::CodeArtifact::Repository", &n);
    for (size_t i = 0; i < n; i++) {
        if (km_begin(a, v[i])) continue;
        km_item it = km_rget(a, v[i], "codeartifact", "list-packages");
        if (km_unknown_res(a, v[i], &it, "codeartifact list-packages")) continue;
        const km_json *pk = km_ci_get(it.json, "packages");
        const char *bad = NULL;
        size_t nbad = 0;
        for (size_t k = 0; k < km_json_len(pk); k++) {
            const km_json *r = km_ci_get(km_ci_get(km_json_at(pk, k), "originConfiguration"), "restrictions");
            if (km_streq_ci(km_ci_str(r, "publish"), "ALLOW") && km_streq_ci(km_ci_str(r, "upstream"), "ALLOW")) {
                nbad++;
                if (!bad) bad = km_ci_str(km_json_at(pk, k), "package");
            }
        }
        if (!km_json_len(pk)) continue;
        /* a snapshot collected with --max-items (before 2026-11) may hold only the first packages */
        int cut = km_ci_get(it.json, "NextToken") || km_ci_get(it.json, "nextToken");
        if (nbad) km_emit(a, v[i], KM_FAIL, "%zu%s package(s) (e.g. %s) accept both internal publishing and upstream versions: dependency confusion", nbad, cut ? "+" : "", bad ? bad : "?");
        else if (cut)
            km_emit(a, v[i], KM_UNKNOWN, "cannot tell: the codeartifact list-packages answer is cut short (NextToken): none of the %zu packages listed mixes internal and upstream versions, the rest are not seen", km_json_len(pk));
        else km_emit(a, v[i], KM_PASS, "no package mixes internal and upstream versions");
    }
}

/* ---- Secrets Manager ---- */

static void chk_secret_rotation(km_audit *a) {
    km_listing_unknown(a, "AWS::SecretsManager::Secret", "secretsmanager list-secrets");
    size_t n;
    const km_res *const *v = km_all(a, "AWS::SecretsManager::Secret", &n);
    for (size_t i = 0; i < n; i++) {
        if (km_begin(a, v[i])) continue;
        if (km_json_truth(km_res_get(v[i], "RotationEnabled")) == 1) km_emit(a, v[i], KM_PASS, "automatic rotation on");
        else km_emit(a, v[i], KM_FAIL, "automatic rotation off");
    }
}

static void chk_secret_rotated(km_audit *a) {
    km_listing_unknown(a, "AWS::SecretsManager::Secret", "secretsmanager list-secrets");
    size_t n;
    const km_res *const *v = km_all(a, "AWS::SecretsManager::Secret", &n);
    long lim = a->opts.secret_rotation_days;
    for (size_t i = 0; i < n; i++) {
        if (km_begin(a, v[i])) continue;
        double rot = km_age_days(a, km_res_get(v[i], "LastRotatedDate"));
        double created = km_age_days(a, km_res_get(v[i], "CreatedDate"));
        if (rot >= 0 && rot <= (double)lim) km_emit(a, v[i], KM_PASS, "rotated %.0f days ago", rot);
        else if (rot >= 0) km_emit(a, v[i], KM_FAIL, "last rotated %.0f days ago (limit %ld)", rot, lim);
        else if (created >= 0 && created <= (double)lim) km_emit(a, v[i], KM_PASS, "created %.0f days ago", created);
        else if (created >= 0) km_emit(a, v[i], KM_FAIL, "never rotated since it was created %.0f days ago", created);
        else km_emit(a, v[i], KM_UNKNOWN, "cannot tell: no rotation or creation date recorded");
    }
}

static void chk_secret_unused(km_audit *a) {
    km_listing_unknown(a, "AWS::SecretsManager::Secret", "secretsmanager list-secrets");
    size_t n;
    const km_res *const *v = km_all(a, "AWS::SecretsManager::Secret", &n);
    long lim = a->opts.secret_rotation_days;
    for (size_t i = 0; i < n; i++) {
        if (km_begin(a, v[i])) continue;
        double used = km_age_days(a, km_res_get(v[i], "LastAccessedDate"));
        double created = km_age_days(a, km_res_get(v[i], "CreatedDate"));
        if (used >= 0 && used > (double)lim) km_emit(a, v[i], KM_FAIL, "not read for %.0f days: delete it or find out who holds a copy", used);
        else if (used >= 0) km_emit(a, v[i], KM_PASS, "read within the last %.0f days", used < 1 ? 1 : used);
        else if (created > (double)lim) km_emit(a, v[i], KM_FAIL, "never read since it was created %.0f days ago", created);
        else if (created >= 0) km_emit(a, v[i], KM_PASS, "recently created");
        else km_emit(a, v[i], KM_UNKNOWN, "cannot tell: neither LastAccessedDate nor CreatedDate is recorded");
    }
}

/* ---- ACM ---- */

static const km_json *cert(km_audit *a, const km_res *c) {
    km_item it = km_rget(a, c, "acm", "describe-certificate");
    const km_json *d = km_ci_get(it.json, "Certificate");
    return d ? d : c->cfg;
}

static int cert_in_use(const km_res *c, const km_json *d) {
    if (km_json_len(km_ci_get(d, "InUseBy"))) return 1;
    return km_json_truth(km_res_get(c, "InUse")) == 1;
}

static void chk_cert_expiry(km_audit *a) {
    size_t n;
    const km_res *const *v = km_all(a, "AWS::ACM::Certificate", &n);
    for (size_t i = 0; i < n; i++) {
        if (km_begin(a, v[i])) continue;
        const km_json *d = cert(a, v[i]);
        if (!cert_in_use(v[i], d)) {
            /* The list's summaries carry InUse only in newer CLI versions (the recorded ones lack
             * it): without describe-certificate, whether the certificate is in use is unknown. */
            if (!v[i]->from_config && !km_ci_get(d, "InUseBy") && !km_res_get(v[i], "InUse")) {
                km_item it = km_rget(a, v[i], "acm", "describe-certificate");
                km_unknown_res(a, v[i], &it, "acm describe-certificate");
            }
            continue;
        }
        const km_json *na = km_ci_get(d, "NotAfter");
        if (!na) na = km_res_get(v[i], "NotAfter");
        int64_t t;
        if (km_parse_time(na, &t)) { km_emit(a, v[i], KM_UNKNOWN, "cannot tell: the expiry date is not in the snapshot (acm describe-certificate)"); continue; }
        double left = (double)(t - km_now(a)) / 86400.0;
        if (left < 0) km_emit(a, v[i], KM_FAIL, "certificate in use expired %.0f days ago", -left);
        else if (left < (double)a->opts.cert_expiry_days) km_emit(a, v[i], KM_FAIL, "certificate in use expires in %.0f days", left);
        else km_emit(a, v[i], KM_PASS, "certificate valid for %.0f more days", left);
    }
}

static void chk_cert_alg(km_audit *a) {
    size_t n;
    const km_res *const *v = km_all(a, "AWS::ACM::Certificate", &n);
    for (size_t i = 0; i < n; i++) {
        if (km_begin(a, v[i])) continue;
        const km_json *d = cert(a, v[i]);
        const char *alg = km_ci_str(d, "KeyAlgorithm");
        if (!alg) alg = km_json_str(km_res_get(v[i], "KeyAlgorithm"));
        if (!alg) { km_emit(a, v[i], KM_UNKNOWN, "cannot tell: key algorithm not recorded"); continue; }
        char norm[64];
        size_t k = 0;
        for (; alg[k] && k + 1 < sizeof norm; k++) norm[k] = alg[k] == '-' ? '_' : alg[k];
        norm[k] = 0;
        if (!strcmp(norm, "RSA_1024") || !strcmp(norm, "EC_prime192")) km_emit(a, v[i], KM_FAIL, "weak key algorithm %s", alg);
        else km_emit(a, v[i], KM_PASS, "key algorithm %s", alg);
    }
}

const km_check_impl km_chk_app[] = {
    {"KMA-ECR-SCAN-ON-PUSH", chk_scan_on_push},
    {"KMA-ECR-ENHANCED-SCANNING", chk_enhanced},
    {"KMA-ECR-LATEST-IMAGE-VULNERABILITIES", chk_latest_image},
    {"KMA-ECR-TAG-IMMUTABILITY", chk_immutable},
    {"KMA-ECR-REPOSITORY-NOT-PUBLIC", chk_repo_public},
    {"KMA-ECS-PRIVATE-IMAGES", chk_ecs_images},
    {"KMA-ECS-NO-PRIVILEGED", chk_ecs_privileged},
    {"KMA-LAMBDA-CODE-SIGNING", chk_code_signing},
    {"KMA-LAMBDA-SUPPORTED-RUNTIME", chk_runtime},
    {"KMA-WAF-WEBACL-RULES", chk_waf_rules},
    {"KMA-WAF-SQLI-RULE", chk_waf_sqli},
    {"KMA-WAF-ALB-PROTECTED", chk_waf_alb},
    {"KMA-WAF-CLOUDFRONT-PROTECTED", chk_waf_cloudfront},
    {"KMA-WAF-LOGGING", chk_waf_logging},
    {"KMA-CODEBUILD-NO-PLAINTEXT-SECRETS", chk_codebuild_secrets},
    {"KMA-CODEBUILD-NO-PRIVILEGED-MODE", chk_codebuild_privileged},
    {"KMA-CODEARTIFACT-UPSTREAM-BLOCK", chk_codeartifact},
    {"KMA-SECRETS-ROTATION-ENABLED", chk_secret_rotation},
    {"KMA-SECRETS-ROTATED", chk_secret_rotated},
    {"KMA-SECRETS-UNUSED", chk_secret_unused},
    {"KMA-ACM-EXPIRY", chk_cert_expiry},
    {"KMA-ACM-KEY-ALGORITHM", chk_cert_alg},
    {NULL, NULL},
};
