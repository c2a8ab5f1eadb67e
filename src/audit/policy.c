#include "audit/policy.h"
#include "audit/util.h"

#include <string.h>
#include <strings.h>

size_t km_pol_nstmts(const km_json *doc) {
    const km_json *s = km_ci_get(doc, "Statement");
    if (!s) return 0;
    return s->type == KM_JSON_OBJECT ? 1 : km_json_len(s);
}

const km_json *km_pol_stmt(const km_json *doc, size_t i) {
    const km_json *s = km_ci_get(doc, "Statement");
    if (s && s->type == KM_JSON_OBJECT) return i == 0 ? s : NULL;
    const km_json *e = km_json_at(s, i);
    return e && e->type == KM_JSON_OBJECT ? e : NULL;
}

int km_stmt_allow(const km_json *st) { return km_streq_ci(km_ci_str(st, "Effect"), "Allow"); }
int km_stmt_deny(const km_json *st) { return km_streq_ci(km_ci_str(st, "Effect"), "Deny"); }

static int action_cb(const char *pat, void *ctx) { return km_glob_ci(pat, (const char *)ctx); }

int km_stmt_covers_action(const km_json *st, const char *action) {
    const km_json *a = km_ci_get(st, "Action");
    if (a) return km_json_each_str(a, action_cb, (void *)action) != 0;
    const km_json *na = km_ci_get(st, "NotAction");
    if (na) return km_json_each_str(na, action_cb, (void *)action) == 0;
    return 0;
}

static int star_cb(const char *s, void *ctx) {
    (void)ctx;
    return !strcmp(s, "*") || !strcmp(s, "*:*");
}

int km_stmt_all_actions(const km_json *st) {
    return km_json_each_str(km_ci_get(st, "Action"), star_cb, NULL) != 0;
}

int km_stmt_all_resources(const km_json *st) {
    return km_json_each_str(km_ci_get(st, "Resource"), star_cb, NULL) != 0;
}

int km_stmt_public_principal(const km_json *st) {
    const km_json *p = km_ci_get(st, "Principal");
    if (!p) return 0;
    if (p->type == KM_JSON_STRING) return !strcmp(p->u.str.s, "*");
    return km_json_has_str(km_ci_get(p, "AWS"), "*");
}

/* s3:DataAccessPoint*: the bucket policy that delegates access control to access points
 * (Principal "*", StringEquals s3:DataAccessPointAccount) is not public in S3's own sense; a
 * recorded one (Cloud Custodian's test_s3_dataaccesspointaccount_cross_account) was called public. */
int km_stmt_limiting_condition(const km_json *st) {
    static const char *const keys[] = {
        "aws:SourceAccount", "aws:SourceArn", "aws:SourceOwner", "aws:PrincipalOrgID", "aws:PrincipalOrgPaths",
        "aws:PrincipalAccount", "aws:PrincipalArn", "aws:SourceVpc", "aws:SourceVpce", "aws:SourceIp",
        "aws:userid", "aws:username", "aws:SourceOrgID", "aws:ResourceOrgID", "kms:CallerAccount",
        "kms:ViaService", "s3:DataAccessPointAccount", "s3:DataAccessPointArn", NULL};
    const km_json *c = km_ci_get(st, "Condition");
    if (!c || c->type != KM_JSON_OBJECT) return 0;
    for (size_t i = 0; i < c->u.obj.n; i++) {
        const km_json *ops = c->u.obj.members[i].value;
        if (!ops || ops->type != KM_JSON_OBJECT) continue;
        for (size_t k = 0; k < ops->u.obj.n; k++)
            for (const char *const *key = keys; *key; key++)
                if (!strcasecmp(ops->u.obj.members[k].key, *key)) return 1;
    }
    return 0;
}

const km_json *km_stmt_condition(const km_json *st, const char *op, const char *key) {
    const km_json *c = km_ci_get(st, "Condition");
    const km_json *o = km_ci_get(c, op);
    return km_ci_get(o, key);
}

int km_pol_allows(const km_json *doc, const char *action) {
    for (size_t i = 0; i < km_pol_nstmts(doc); i++) {
        const km_json *st = km_pol_stmt(doc, i);
        if (!km_stmt_allow(st) || km_ci_get(st, "Condition")) continue;
        if (!km_stmt_covers_action(st, action)) continue;
        if (km_ci_get(st, "NotResource")) continue;
        return 1;
    }
    return 0;
}
