/* The decision: which statements apply to a request, and how the policy types combine.
 *
 * Statement matching: Action/NotAction (case-insensitive, '*' and '?'), Resource/NotResource
 * (ARN segments; short ARNs by policy type; request patterns with '*'), Principal/NotPrincipal
 * for resource policies (account, role session, federated user, service, canonical user,
 * wildcard), Condition (condition.c).
 *
 * Combination (AWS "policy evaluation logic", docs/iam.md has the references):
 *  1. a Deny that applies anywhere (SCP, RCP, resource, identity, boundary, session, VPC
 *     endpoint policy) decides ExplicitlyDenied;
 *  2. every SCP level (root, OUs, account) needs an applicable Allow; so does every RCP level
 *     (RCPFullAWSAccess is attached at each level unless told otherwise);
 *  3. same account: an Allow in the identity policies or a resource policy Allow naming the
 *     principal is enough, except where the service demands the resource policy trust the
 *     account (KMS key policies; role trust policies), where an identity Allow counts only if
 *     the resource policy allows the account;
 *     cross account: both the identity side and the resource policy must allow;
 *  4. a permissions boundary must allow, except (same account) when the resource policy names
 *     the user, the role session or the federated user session itself;
 *  5. a session policy must allow;
 *  6. anonymous requests need a resource policy Allow for "*" and pass RCPs;
 *  7. service quirks: sts:GetCallerIdentity needs no permission; AWS managed policies and
 *     aws-reserved roles and aws/ KMS aliases cannot be changed by anyone. */
#include "iam/iam_internal.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

enum { PT_OTHER = 0, PT_USER, PT_ROLE, PT_ASSUMED_ROLE, PT_FEDERATED_USER, PT_SERVICE, PT_ROOT };

typedef struct kn_entry {
    const km_iam_key_knowledge *k;
    pcre2_code *re;
} kn_entry;

typedef struct E {
    const km_iam_input *in;
    const km_iam_request *req;
    km_iam_options opt;
    const km_iam_context *ctx;
    km_iam_explain *ex;
    iam_scratch scr;
    int nomem;

    int anonymous, ptype;
    const char *principal;
    size_t plen;
    char paccount[64];
    int has_paccount;

    const char *svc, *act;
    size_t svc_len, act_len;

    const char *res;
    size_t res_len;
    int res_all, res_wild, res_nseg;
    iam_arn rarn;
    char raccount[64];
    int raccount_assumed;
    int same_account;
    int has_boundary;

    kn_entry *kn;
    size_t nkn;
    int ignored_rsn; /* discovery: a role session name was ignored */
    int shortcut;    /* decided without looking at policies */
    int exact_hit;   /* set by principal_entry when a Principal names the caller's exact ARN */
} E;

const char *iam_result_name(int r) {
    switch (r) {
    case R_NA: return "NotApplicable";
    case R_IMPLICIT: return "ImplicitlyDenied";
    case R_ALLOWED: return "Allowed";
    case R_EXPLICIT: return "ExplicitlyDenied";
    case R_ALLOWED_ACCOUNT: return "AllowedForAccount";
    case R_DENIED_ACCOUNT: return "DeniedForAccount";
    default: return "?";
    }
}

const char *km_iam_decision_name(km_iam_decision d) {
    switch (d) {
    case KM_IAM_ALLOWED: return "Allowed";
    case KM_IAM_EXPLICIT_DENY: return "ExplicitlyDenied";
    default: return "ImplicitlyDenied";
    }
}

int km_iam_decision_parse(const char *s) {
    if (!s) return -1;
    size_t n = strlen(s);
    if (iam_ieq(s, n, "Allowed", 7) || iam_ieq(s, n, "allow", 5)) return KM_IAM_ALLOWED;
    if (iam_ieq(s, n, "ExplicitlyDenied", 16) || iam_ieq(s, n, "explicitDeny", 12)) return KM_IAM_EXPLICIT_DENY;
    if (iam_ieq(s, n, "ImplicitlyDenied", 16) || iam_ieq(s, n, "implicitDeny", 12)) return KM_IAM_IMPLICIT_DENY;
    return -1;
}

/* ---- explanation recording -------------------------------------------------------------- */

km_iam_explain *km_iam_explain_new(void) {
    km_iam_explain *ex = calloc(1, sizeof *ex);
    if (ex) km_arena_init(&ex->arena, 64u << 20);
    return ex;
}

void km_iam_explain_free(km_iam_explain *ex) {
    if (!ex) return;
    km_arena_free(&ex->arena);
    free(ex);
}

void iam_explain_reset(km_iam_explain *ex) {
    km_arena_free(&ex->arena);
    memset(ex, 0, sizeof *ex);
    km_arena_init(&ex->arena, 64u << 20);
}

char *iam_xstrdup(km_iam_explain *ex, const char *s) {
    return km_arena_strndup(&ex->arena, s ? s : "", s ? strlen(s) : 0);
}

static int grow(km_iam_explain *ex, void **arr, size_t *cap, size_t n, size_t elem) {
    if (n < *cap) return 0;
    size_t nc = *cap ? *cap * 2 : 16;
    void *na = km_arena_alloc(&ex->arena, nc * elem);
    if (!na) return -1;
    if (n) memcpy(na, *arr, n * elem);
    *arr = na;
    *cap = nc;
    return 0;
}

void iam_explain_note(km_iam_explain *ex, const char *fmt, ...) {
    if (!ex) return;
    char buf[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (grow(ex, (void **)&ex->notes, &ex->capn, ex->nnotes, sizeof *ex->notes) < 0) return;
    char *d = iam_xstrdup(ex, buf);
    if (d) ex->notes[ex->nnotes++] = d;
}

static void add_step(E *e, km_iam_policy_kind kind, const char *level, int result) {
    km_iam_explain *ex = e->ex;
    if (!ex) return;
    if (grow(ex, (void **)&ex->steps, &ex->capst, ex->nsteps, sizeof *ex->steps) < 0) {
        e->nomem = 1;
        return;
    }
    iam_xstep *s = &ex->steps[ex->nsteps++];
    s->kind = kind;
    s->level = level ? iam_xstrdup(ex, level) : NULL;
    s->result = result;
    s->what = km_iam_kind_name(kind);
}

static void add_blocked(E *e, const char *what) {
    km_iam_explain *ex = e->ex;
    if (!ex) return;
    for (size_t i = 0; i < ex->nblocked; i++)
        if (strcmp(ex->blocked[i], what) == 0) return;
    if (ex->nblocked < sizeof ex->blocked / sizeof ex->blocked[0]) ex->blocked[ex->nblocked++] = what;
}

/* ---- request analysis -------------------------------------------------------------------- */

static int is_digits12(const char *s, size_t n) {
    if (n != 12) return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return 0;
    return 1;
}

/* arn:<partition>:<svc>::<12 digits>:<prefix>... */
static int principal_is(const iam_arn *a, int nseg, const char *svc, const char *prefix) {
    if (nseg != 6) return 0;
    if (a->len[1] == 0) return 0;
    for (size_t i = 0; i < a->len[1]; i++) {
        char c = a->seg[1][i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-')) return 0;
    }
    if (a->len[2] != strlen(svc) || memcmp(a->seg[2], svc, a->len[2]) != 0) return 0;
    if (a->len[3] != 0 || !is_digits12(a->seg[4], a->len[4])) return 0;
    return a->len[5] >= strlen(prefix) && memcmp(a->seg[5], prefix, strlen(prefix)) == 0;
}

static void classify_principal(E *e) {
    const char *p = e->principal;
    size_t n = e->plen;
    iam_arn a;
    int k = iam_arn_split(p, n, &a);
    if (k == 6 && a.len[4] && a.len[4] < sizeof e->paccount) {
        memcpy(e->paccount, a.seg[4], a.len[4]);
        e->paccount[a.len[4]] = 0;
        e->has_paccount = 1;
    }
    if (!k) {
        e->ptype = (n >= 13 && memcmp(p + n - 13, "amazonaws.com", 13) == 0) ? PT_SERVICE : PT_OTHER;
        return;
    }
    if (principal_is(&a, k, "sts", "assumed-role/")) e->ptype = PT_ASSUMED_ROLE;
    else if (principal_is(&a, k, "iam", "user/")) e->ptype = PT_USER;
    else if (principal_is(&a, k, "iam", "role/")) e->ptype = PT_ROLE;
    else if (principal_is(&a, k, "sts", "federated-user/")) e->ptype = PT_FEDERATED_USER;
    else if (principal_is(&a, k, "iam", "root")) e->ptype = PT_ROOT;
    else e->ptype = PT_OTHER;
}

/* ---- action ------------------------------------------------------------------------------ */

static int action_entry_matches(const E *e, const iam_action *a) {
    if (a->all) return 1;
    if (a->invalid) return 0;
    if (!iam_ieq(a->svc, a->svc_len, e->svc, e->svc_len)) return 0;
    return iam_glob(a->name, NULL, a->name_len, e->act, e->act_len, 1);
}

static int stmt_action_matches(const E *e, const iam_stmt *st) {
    int any = 0;
    for (size_t i = 0; i < st->nact && !any; i++) any = action_entry_matches(e, &st->act[i]);
    return st->not_action ? !any : any;
}

/* ---- resource ---------------------------------------------------------------------------- */

enum { OV_EQUAL, OV_POLICY_SUBSET, OV_POLICY_SUPERSET, OV_OVERLAP, OV_NONE };

static int segment_overlap(const char *pol, size_t pn, const char *req, size_t rn) {
    if (pn == rn && memcmp(pol, req, pn) == 0) return OV_EQUAL;
    if (iam_glob_star_only(req, rn, pol, pn)) return OV_POLICY_SUBSET;
    if (iam_glob(pol, NULL, pn, req, rn, 0)) return OV_POLICY_SUPERSET;
    int o = iam_glob_overlap(pol, pn, req, rn, 1);
    if (o != 0) return OV_OVERLAP; /* -1 (too long to decide): assume they may overlap */
    return OV_NONE;
}

typedef struct rmatch {
    int match;
    int invertible;
} rmatch;

/* Policy types that expand short ARNs (fewer than six segments) with '*'. */
static int short_arn_rule(km_iam_policy_kind kind, const iam_resource *r) {
    /* returns 0 expand, 1 no match (invertible), 2 reject (not invertible) */
    switch (kind) {
    case KM_IAM_IDENTITY: case KM_IAM_SESSION: case KM_IAM_BOUNDARY:
        return 0;
    case KM_IAM_SCP:
        return r->trailing_wild ? 0 : 2;
    case KM_IAM_RCP:
        return 2;
    default: /* resource, trust, key, endpoint */
        return r->any_wild ? 0 : 1;
    }
}

/* The product part of a resource segment: up to and including the first '/' or ':' (none for
 * S3 bucket and object ARNs). AWS does not allow wildcards there ("Incorrect wildcard usage"
 * in the ARN reference): such a pattern matches only a resource whose text starts the same. */
static size_t product_len(const iam_arn *a) {
    if (a->len[2] == 2 && memcmp(a->seg[2], "s3", 2) == 0 && a->len[3] == 0 && a->len[4] == 0) return 0;
    for (size_t i = 0; i < a->len[5]; i++)
        if (a->seg[5][i] == '/' || a->seg[5][i] == ':') return i + 1;
    return 0;
}

static rmatch resource_entry(E *e, const iam_resource *r, km_iam_policy_kind kind, int deny, int is_not) {
    rmatch m = {0, 1};
    if (r->all) {
        m.match = 1;
        return m;
    }
    if (!r->is_arn) return m;
    int expanded = 0;
    if (r->nseg < 6) {
        int rule = short_arn_rule(kind, r);
        if (rule == 1) return m;
        if (rule == 2) {
            m.invertible = 0;
            return m;
        }
        expanded = 1;
    }
    if (e->res_all) {
        if (e->opt.wildcard_only_action) return m;
        if (!deny && !is_not) m.match = 1;
        else if (!deny && is_not) m.match = 0;
        else if (deny && !is_not) m.match = 0;
        else m.match = 1;
        return m;
    }
    if (e->res_nseg != 6) {
        /* The request resource is not an ARN: nothing but "*" can match it. */
        if (expanded) m.invertible = 0;
        return m;
    }
    if (e->res_wild) {
        int ov[5];
        for (int k = 1; k <= 5; k++)
            ov[k - 1] = segment_overlap(r->arn.seg[k], r->arn.len[k], e->rarn.seg[k], e->rarn.len[k]);
        int any_none = 0, all_some = 1, all_eq_sup = 1, any_subset = 0;
        for (int k = 0; k < 5; k++) {
            if (ov[k] == OV_NONE) any_none = 1, all_some = 0;
            if (ov[k] != OV_EQUAL && ov[k] != OV_POLICY_SUPERSET) all_eq_sup = 0;
            if (ov[k] == OV_POLICY_SUBSET) any_subset = 1;
        }
        if (!deny && !is_not) {
            if (all_some) {
                m.match = 1;
                return m;
            }
        } else if (deny && !is_not) {
            if (any_none || any_subset) return m;
        } else if (!deny && is_not) {
            m.match = all_eq_sup;
            return m;
        } else {
            m.match = !any_none;
            return m;
        }
    }
    /* Concrete comparison, segment by segment. */
    for (int k = 1; k <= 4; k++) {
        if (!iam_glob(r->arn.seg[k], NULL, r->arn.len[k], e->rarn.seg[k], e->rarn.len[k], 0)) {
            if (expanded) m.invertible = 0;
            return m;
        }
    }
    const char *ps = r->arn.seg[5];
    size_t pn = r->arn.len[5];
    const uint8_t *pw = NULL;
    if (r->has_var) {
        const char *bad = NULL;
        size_t badn = 0;
        int rc = iam_resolve(r->arn.seg[5], r->arn.len[5], e->ctx, 1, &e->scr.pat[0], &bad, &badn);
        if (rc < 0) {
            e->nomem = 1;
            return m;
        }
        if (rc == 1) {
            m.invertible = 0; /* an unresolvable variable proves nothing either way */
            return m;
        }
        ps = e->scr.pat[0].s;
        pn = e->scr.pat[0].n;
        pw = e->scr.pat[0].w;
    }
    size_t prod = product_len(&r->arn);
    int prod_wild = 0;
    for (size_t i = 0; i < prod && i < pn; i++)
        if (pw ? pw[i] != 0 : (ps[i] == '*' || ps[i] == '?')) prod_wild = 1;
    if (prod_wild) {
        m.match = e->rarn.len[5] >= prod && memcmp(e->rarn.seg[5], ps, prod) == 0 &&
                  iam_glob(ps, pw, pn, e->rarn.seg[5], e->rarn.len[5], 0);
    } else {
        m.match = iam_glob(ps, pw, pn, e->rarn.seg[5], e->rarn.len[5], 0);
    }
    if (!m.match && expanded) m.invertible = 0;
    return m;
}

static int stmt_resource_matches(E *e, const iam_stmt *st, km_iam_policy_kind kind) {
    if (!st->has_resource) return 1;
    if (!st->not_resource) {
        for (size_t i = 0; i < st->nres; i++)
            if (resource_entry(e, &st->res[i], kind, st->deny, 0).match) return 1;
        return 0;
    }
    for (size_t i = 0; i < st->nres; i++) {
        rmatch m = resource_entry(e, &st->res[i], kind, st->deny, 1);
        int inv = m.match ? 0 : (m.invertible ? 1 : 0);
        if (!inv) return 0;
    }
    return 1;
}

/* ---- principal --------------------------------------------------------------------------- */

/* Same partition and account, and the role name of roleArn (last path segment) equals the
 * session's role name (first segment after assumed-role/), ignoring case as IAM does. */
static int role_matches_session(const char *role, size_t rn, const char *sess, size_t sn) {
    iam_arn ra, sa;
    if (iam_arn_split(role, rn, &ra) != 6 || iam_arn_split(sess, sn, &sa) != 6) return 0;
    if (!principal_is(&ra, 6, "iam", "role/") || !principal_is(&sa, 6, "sts", "assumed-role/")) return 0;
    if (ra.len[1] != sa.len[1] || memcmp(ra.seg[1], sa.seg[1], ra.len[1]) != 0) return 0;
    if (ra.len[4] != sa.len[4] || memcmp(ra.seg[4], sa.seg[4], ra.len[4]) != 0) return 0;
    const char *rp = ra.seg[5] + 5;
    size_t rpl = ra.len[5] - 5;
    const char *slash = NULL;
    for (size_t i = 0; i < rpl; i++)
        if (rp[i] == '/') slash = rp + i;
    const char *rname = slash ? slash + 1 : rp;
    size_t rnl = rpl - (size_t)(rname - rp);
    const char *sp = sa.seg[5] + 13;
    size_t spl = sa.len[5] - 13;
    const char *s2 = memchr(sp, '/', spl);
    if (!s2) return 0;
    size_t snl = (size_t)(s2 - sp);
    if (!rnl || !snl) return 0;
    return iam_ieq(rname, rnl, sp, snl);
}

/* arn:P:sts::A:assumed-role/Name/session -> compare with arn:P:iam::A:role/.../Name
 * (for discovery mode, where a policy names a session and the request a role or session). */
static int same_role(const char *x, size_t xn, const char *y, size_t yn) {
    /* both given as role ARN or session ARN; compare partition, account and role name */
    iam_arn a, b;
    if (iam_arn_split(x, xn, &a) != 6 || iam_arn_split(y, yn, &b) != 6) return 0;
    const char *an = NULL, *bn = NULL; /* both set by the loop or it returns; cppcheck cannot tell */
    size_t anl = 0, bnl = 0;
    for (int side = 0; side < 2; side++) {
        iam_arn *t = side ? &b : &a;
        const char **nm = side ? &bn : &an;
        size_t *nl = side ? &bnl : &anl;
        if (principal_is(t, 6, "sts", "assumed-role/")) {
            const char *sp = t->seg[5] + 13;
            const char *s2 = memchr(sp, '/', t->len[5] - 13);
            if (!s2) return 0;
            *nm = sp;
            *nl = (size_t)(s2 - sp);
        } else if (principal_is(t, 6, "iam", "role/")) {
            const char *rp = t->seg[5] + 5;
            size_t rpl = t->len[5] - 5;
            const char *last = rp;
            for (size_t i = 0; i < rpl; i++)
                if (rp[i] == '/') last = rp + i + 1;
            *nm = last;
            *nl = rpl - (size_t)(last - rp);
        } else {
            return 0;
        }
    }
    if (a.len[1] != b.len[1] || memcmp(a.seg[1], b.seg[1], a.len[1]) != 0) return 0;
    if (a.len[4] != b.len[4] || memcmp(a.seg[4], b.seg[4], a.len[4]) != 0) return 0;
    return anl && anl == bnl && memcmp(an, bn, anl) == 0;
}

static int principal_entry(E *e, const iam_principal *p, int deny, int *ignored_rsn) {
    if (e->anonymous) return p->type == PR_WILDCARD ? PM_MATCH : PM_NONE;
    size_t vl = strlen(p->value);
    switch (p->type) {
    case PR_WILDCARD:
        return PM_MATCH;
    case PR_SERVICE: case PR_FEDERATED: case PR_CANONICAL:
        return vl == e->plen && memcmp(p->value, e->principal, vl) == 0 ? PM_MATCH : PM_NONE;
    case PR_ACCOUNT:
        return e->has_paccount && strcmp(p->account, e->paccount) == 0 ? PM_ACCOUNT : PM_NONE;
    case PR_UNIQUE_ID:
        return PM_NONE;
    default:
        break;
    }
    if (e->ptype == PT_ASSUMED_ROLE && role_matches_session(p->value, vl, e->principal, e->plen))
        return PM_SESSION_ROLE;
    if (e->ptype == PT_FEDERATED_USER) {
        /* arn:P:sts::A:federated-user/NAME is the session of arn:P:iam::A:user/NAME */
        iam_arn f;
        iam_arn_split(e->principal, e->plen, &f);
        char user[1100];
        int k = snprintf(user, sizeof user, "arn:%.*s:iam::%.*s:user/%.*s", (int)f.len[1], f.seg[1],
                         (int)f.len[4], f.seg[4], (int)(f.len[5] - 15), f.seg[5] + 15);
        if (k > 0 && (size_t)k < sizeof user && strcmp(user, p->value) == 0) return PM_SESSION_USER;
    }
    if (vl == e->plen && memcmp(p->value, e->principal, vl) == 0) {
        e->exact_hit = 1;
        return PM_MATCH;
    }
    if (e->opt.mode == KM_IAM_DISCOVERY && (e->ptype == PT_ROLE || e->ptype == PT_ASSUMED_ROLE)) {
        iam_arn pa;
        if (iam_arn_split(p->value, vl, &pa) == 6 && principal_is(&pa, 6, "sts", "assumed-role/") &&
            same_role(p->value, vl, e->principal, e->plen)) {
            *ignored_rsn = 1;
            return deny ? PM_NONE : PM_MATCH;
        }
    }
    return PM_NONE;
}

static int stmt_principal(E *e, const iam_stmt *st, int *ignored_rsn) {
    *ignored_rsn = 0;
    e->exact_hit = 0;
    if (!st->has_principal) return PM_NONE;
    if (st->not_principal) {
        if (st->deny && e->has_boundary) return PM_MATCH; /* documented boundary quirk */
        for (size_t i = 0; i < st->npr; i++) {
            int dummy = 0;
            if (principal_entry(e, &st->pr[i], st->deny, &dummy) != PM_NONE) return PM_NONE;
        }
        return PM_MATCH;
    }
    int best_plain = 0, su = 0, sr = 0, ign_match = 0, acct = 0, any_ign = 0;
    for (size_t i = 0; i < st->npr; i++) {
        int ign = 0;
        int m = principal_entry(e, &st->pr[i], st->deny, &ign);
        if (ign) any_ign = 1;
        if (m == PM_MATCH && !ign) best_plain = 1;
        else if (m == PM_MATCH) ign_match = 1;
        else if (m == PM_SESSION_USER) su = 1;
        else if (m == PM_SESSION_ROLE) sr = 1;
        else if (m == PM_ACCOUNT) acct = 1;
    }
    *ignored_rsn = any_ign;
    if (best_plain) return PM_MATCH;
    if (su) return PM_SESSION_USER;
    if (sr) return PM_SESSION_ROLE;
    if (ign_match) return PM_MATCH;
    if (acct) return PM_ACCOUNT;
    return PM_NONE;
}

static int stmt_has_wildcard_principal(const iam_stmt *st) {
    if (!st->has_principal || st->not_principal) return 0;
    for (size_t i = 0; i < st->npr; i++)
        if (st->pr[i].type == PR_WILDCARD) return 1;
    return 0;
}

/* ---- conditions with discovery knowledge --------------------------------------------------- */

typedef struct know {
    int configured, presence_known, value_known;
} know;

static know knowledge_for(E *e, const char *key, size_t n) {
    know k = {0, 0, 0};
    for (size_t i = 0; i < e->nkn; i++) {
        const km_iam_key_knowledge *kk = e->kn[i].k;
        int hit;
        if (e->kn[i].re) {
            pcre2_match_data *md = pcre2_match_data_create_from_pattern(e->kn[i].re, NULL);
            if (!md) continue;
            hit = pcre2_match(e->kn[i].re, (PCRE2_SPTR)key, n, 0, 0, md, NULL) >= 0;
            pcre2_match_data_free(md);
        } else {
            hit = iam_ieq(kk->key, strlen(kk->key), key, n);
        }
        if (!hit) continue;
        k.configured = 1;
        if (kk->presence_known || kk->value_known) k.presence_known = 1;
        if (kk->value_known) k.value_known = 1;
    }
    return k;
}

enum { KN_KNOWN, KN_UNKNOWN, KN_NA };

/* Which variables does a value reference? Returns 1 if any referenced key is configured as
 * unknown (absent with unknown presence, or present with unknown value). */
static int value_refs_unknown(E *e, const iam_cond *c) {
    for (size_t i = 0; i < c->nv; i++) {
        const char *s = c->v[i].s;
        size_t n = c->v[i].len;
        for (size_t j = 0; j + 1 < n; j++) {
            if (s[j] != '$' || s[j + 1] != '{') continue;
            const char *close = memchr(s + j + 2, '}', n - j - 2);
            if (!close) break;
            const char *name = s + j + 2;
            size_t nl = (size_t)(close - name);
            const char *comma = memchr(name, ',', nl);
            if (comma) nl = (size_t)(comma - name);
            while (nl && name[nl - 1] == ' ') nl--;
            if (!(nl == 1 && (name[0] == '*' || name[0] == '?' || name[0] == '$'))) {
                know k = knowledge_for(e, name, nl);
                if (k.configured) {
                    int present = iam_ctx_find(e->ctx, name, nl) != NULL;
                    if (!present && !k.presence_known) return 1;
                    if (present && !k.value_known) return 1;
                }
            }
            j = (size_t)(close - s);
        }
    }
    return 0;
}

/* The request's value(s) for the condition key, as JSON text in the explanation's arena. */
static const char *request_values(E *e, const iam_cond *c) {
    const iam_ctx_entry *ce = iam_ctx_find(e->ctx, c->key, c->key_len);
    if (!ce) return NULL;
    km_buf b;
    km_buf_init(&b, 1u << 16);
    if (ce->multi) km_buf_putc(&b, '[');
    for (size_t i = 0; i < ce->n; i++) {
        if (i) km_buf_putc(&b, ',');
        km_buf_json_str(&b, ce->vals[i], strlen(ce->vals[i]));
    }
    if (ce->multi) km_buf_putc(&b, ']');
    if (b.failed == KM_BUF_NOMEM) e->nomem = 1; /* memory, not length */
    const char *out = b.failed ? "\"(too long)\"" : b.data ? b.data : "\"\"";
    char *d = iam_xstrdup(e->ex, out);
    km_buf_free(&b);
    if (!d) e->nomem = 1;
    return d;
}

static int matched_because_missing(const iam_cond_result *r) {
    return r->match && (r->reason == CR_MISSING || r->reason == CR_MISSING_IFEXISTS ||
                        (r->reason == CR_EMPTY_FORALL && r->missing));
}

/* Evaluate the statement's conditions. Returns 1 if they hold. Records them in xs when set. */
static int stmt_conditions(E *e, const km_iam_policy *p, const iam_stmt *st, iam_xstmt *xs) {
    int discovery = e->opt.mode == KM_IAM_DISCOVERY;
    int non_match = 0, ignored_possible_deny = 0;
    if (xs && st->ncond) {
        xs->xc = km_arena_alloc(&e->ex->arena, st->ncond * sizeof *xs->xc);
        if (!xs->xc) e->nomem = 1;
        else xs->nxc = st->ncond;
    }
    for (size_t i = 0; i < st->ncond; i++) {
        const iam_cond *c = &st->cond[i];
        iam_cond_result r;
        if (iam_cond_eval(c, e->ctx, p->vars, &e->scr, &r) < 0) {
            e->nomem = 1;
            r.match = 0;
        }
        int ignored = 0;
        if (discovery) {
            know k = knowledge_for(e, c->key, c->key_len);
            int present = !r.missing;
            int presence = KN_KNOWN, value = KN_KNOWN;
            if (!k.configured) {
                if (!present) presence = value = KN_UNKNOWN;
            } else {
                presence = k.presence_known ? KN_KNOWN : KN_UNKNOWN;
                if (presence == KN_UNKNOWN) value = KN_UNKNOWN;
                else if (!present) value = KN_NA;
                else value = k.value_known ? KN_KNOWN : KN_UNKNOWN;
            }
            int result_known;
            if (c->op == OP_NULL) result_known = presence == KN_KNOWN;
            else result_known = presence == KN_KNOWN && value != KN_UNKNOWN && !value_refs_unknown(e, c);
            if (!result_known) {
                if (!st->deny) {
                    int by_missing = 0;
                    if (matched_because_missing(&r)) {
                        if (c->if_exists) by_missing = 1;
                        else if (c->set == SET_FOR_ANY) by_missing = 0;
                        else by_missing = iam_op_negated(c->op);
                    }
                    ignored = !r.match || by_missing || (presence == KN_KNOWN && value != KN_NA);
                } else {
                    ignored = 1;
                }
            } else if (k.configured) {
                ignored = 0;
            } else {
                ignored = st->deny ? r.match : !r.match;
            }
            if (ignored && st->deny && (!result_known || r.match)) ignored_possible_deny = 1;
        }
        if (!ignored && !r.match) non_match = 1;
        if (xs && xs->xc) {
            iam_xcond *xc = &xs->xc[i];
            xc->op = iam_xstrdup(e->ex, c->op_raw);
            xc->key = iam_xstrdup(e->ex, c->key);
            km_buf pv;
            km_buf_init(&pv, 1u << 16);
            km_buf_putc(&pv, '[');
            for (size_t v = 0; v < c->nv; v++) {
                if (v) km_buf_putc(&pv, ',');
                km_buf_json_str(&pv, c->v[v].s, c->v[v].len);
            }
            km_buf_putc(&pv, ']');
            if (pv.failed == KM_BUF_NOMEM) e->nomem = 1; /* memory, not length */
            xc->pvals = iam_xstrdup(e->ex, pv.failed ? "[]" : pv.data);
            km_buf_free(&pv);
            xc->r = r;
            if (r.bad_var) {
                xc->r.bad_var = km_arena_strndup(&e->ex->arena, r.bad_var, r.bad_var_len);
                if (!xc->r.bad_var) xc->r.bad_var_len = 0;
            }
            if (!xc->op || !xc->key || !xc->pvals) e->nomem = 1;
            xs->xc[i].ignored = (uint8_t)ignored;
            xs->xc[i].req = request_values(e, c);
        }
    }
    return !non_match && !ignored_possible_deny;
}

/* ---- statement and policy analysis -------------------------------------------------------- */

typedef struct stmt_eval {
    int applies;
    int pm;
    int ignored_rsn;
} stmt_eval;

static iam_xstmt *record(E *e, const km_iam_policy *p, const iam_stmt *st, km_iam_policy_kind kind,
                         const char *level) {
    km_iam_explain *ex = e->ex;
    if (!ex) return NULL;
    if (grow(ex, (void **)&ex->xs, &ex->caps, ex->nxs, sizeof *ex->xs) < 0) {
        e->nomem = 1;
        return NULL;
    }
    iam_xstmt *x = &ex->xs[ex->nxs++];
    memset(x, 0, sizeof *x);
    x->kind = kind;
    x->pol_name = iam_xstrdup(ex, p->name);
    x->level = level ? iam_xstrdup(ex, level) : NULL;
    x->index = st->index;
    x->sid = st->sid ? iam_xstrdup(ex, st->sid) : NULL;
    x->deny = st->deny;
    if (!x->pol_name) e->nomem = 1;
    return x;
}

static stmt_eval eval_stmt(E *e, const km_iam_policy *p, const iam_stmt *st, km_iam_policy_kind kind,
                           const char *level, int resource_policy) {
    stmt_eval out = {0, PM_NA, 0};
    int am = stmt_action_matches(e, st);
    if (!am) return out;
    int rm = stmt_resource_matches(e, st, kind);
    if (!rm) return out;
    if (resource_policy) {
        out.pm = stmt_principal(e, st, &out.ignored_rsn);
        if (out.pm == PM_NONE) return out;
    }
    iam_xstmt *x = record(e, p, st, kind, level);
    if (x) {
        x->action = 1;
        x->resource = 1;
        x->principal = out.pm;
    }
    int cm = stmt_conditions(e, p, st, x);
    out.applies = cm;
    if (x) {
        x->conditions = (uint8_t)cm;
        x->applies = (uint8_t)cm;
    }
    return out;
}

/* Identity-like policies (identity, boundary, session, endpoint, one SCP/RCP level). */
static int analyze_set(E *e, const km_iam_policy *const *pols, size_t n, km_iam_policy_kind kind,
                       const char *level) {
    int allow = 0, deny = 0;
    for (size_t i = 0; i < n; i++) {
        const km_iam_policy *p = pols[i];
        if (!p) continue;
        for (size_t j = 0; j < p->nst; j++) {
            const iam_stmt *st = &p->st[j];
            stmt_eval se = eval_stmt(e, p, st, kind, level, 0);
            if (!se.applies) continue;
            if (st->deny) deny = 1;
            else allow = 1;
            if (deny && !e->ex) return R_EXPLICIT;
        }
    }
    return deny ? R_EXPLICIT : allow ? R_ALLOWED : R_IMPLICIT;
}

static const km_iam_policy *default_rcp(void);

static int analyze_levels(E *e, const km_iam_level *lv, size_t n, km_iam_policy_kind kind) {
    if (n == 0) return R_ALLOWED;
    int any_explicit = 0, any_without_allow = 0;
    for (size_t i = 0; i < n; i++) {
        int r;
        const char *id = lv[i].id ? lv[i].id : "";
        if (kind == KM_IAM_RCP && !e->opt.no_default_rcp) {
            const km_iam_policy *d = default_rcp();
            int r0 = d ? analyze_set(e, &d, 1, kind, id) : R_IMPLICIT;
            int r1 = analyze_set(e, lv[i].policies, lv[i].n, kind, id);
            r = (r0 == R_EXPLICIT || r1 == R_EXPLICIT) ? R_EXPLICIT
                : (r0 == R_ALLOWED || r1 == R_ALLOWED) ? R_ALLOWED : R_IMPLICIT;
        } else {
            r = analyze_set(e, lv[i].policies, lv[i].n, kind, id);
        }
        add_step(e, kind, id, r);
        if (r == R_EXPLICIT) any_explicit = 1;
        else if (r != R_ALLOWED) any_without_allow = 1;
        if (any_explicit && !e->ex) break;
    }
    return any_explicit ? R_EXPLICIT : any_without_allow ? R_IMPLICIT : R_ALLOWED;
}

typedef struct rp_analysis {
    int result;
    int names_session;      /* an Allow names the caller's session ARN itself */
    int any_direct_allow;   /* Allow with Match / session match */
    int account_allow;      /* Allow with account-level match */
    int bypass_pb;          /* Allow that lifts an implicit boundary deny */
} rp_analysis;

static rp_analysis analyze_resource_policy(E *e, const km_iam_policy *p) {
    rp_analysis a = {R_NA, 0, 0, 0, 0};
    if (!p) return a;
    int deny_direct = 0, deny_account = 0;
    for (size_t j = 0; j < p->nst; j++) {
        const iam_stmt *st = &p->st[j];
        stmt_eval se = eval_stmt(e, p, st, p->kind == KM_IAM_IDENTITY ? KM_IAM_RESOURCE : p->kind, NULL, 1);
        if (se.ignored_rsn) e->ignored_rsn = 1;
        if (!se.applies || se.pm == PM_NONE) continue;
        if (st->deny) {
            if (se.pm == PM_ACCOUNT) deny_account = 1;
            else deny_direct = 1;
        } else {
            if (se.pm == PM_ACCOUNT) {
                a.account_allow = 1;
            } else {
                a.any_direct_allow = 1;
                if (se.pm == PM_MATCH && e->exact_hit &&
                    (e->ptype == PT_ASSUMED_ROLE || e->ptype == PT_FEDERATED_USER))
                    a.names_session = 1;
                if (se.pm == PM_MATCH) {
                    if (e->ptype == PT_ASSUMED_ROLE || e->ptype == PT_USER || e->ptype == PT_FEDERATED_USER)
                        a.bypass_pb = 1;
                    else if (e->ptype == PT_ROLE && (se.ignored_rsn || stmt_has_wildcard_principal(st)))
                        a.bypass_pb = 1;
                }
            }
        }
    }
    if (deny_direct) a.result = R_EXPLICIT;
    else if (deny_account) a.result = R_DENIED_ACCOUNT;
    else if (a.any_direct_allow) a.result = R_ALLOWED;
    else if (a.account_allow) a.result = R_ALLOWED_ACCOUNT;
    else a.result = R_IMPLICIT;
    return a;
}

/* RCPFullAWSAccess: Allow * on * for every principal. Built once (thread-safe), kept for the
 * life of the process like any other constant. */
static km_iam_policy *rcp_full_access;
static void build_default_rcp(void) {
    static const char doc[] =
        "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\","
        "\"Action\":\"*\",\"Resource\":\"*\"}]}";
    rcp_full_access = km_iam_policy_parse(doc, sizeof doc - 1, KM_IAM_RCP, "RCPFullAWSAccess", NULL);
}
static const km_iam_policy *default_rcp(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, build_default_rcp);
    return rcp_full_access;
}

/* ---- the decision ------------------------------------------------------------------------ */

static int lower(int cur, int r) {
    /* Allowed -> ImplicitlyDenied -> ExplicitlyDenied, never back */
    if (cur == KM_IAM_EXPLICIT_DENY) return cur;
    if (r == KM_IAM_EXPLICIT_DENY) return r;
    if (r == KM_IAM_IMPLICIT_DENY) return r;
    return cur;
}

static int dec_of(int r) {
    return r == R_ALLOWED ? KM_IAM_ALLOWED : (r == R_EXPLICIT || r == R_DENIED_ACCOUNT) ? KM_IAM_EXPLICIT_DENY
                                                                                       : KM_IAM_IMPLICIT_DENY;
}

static void set_summary(E *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_summary(E *e, const char *fmt, ...) {
    if (!e->ex || e->ex->summary) return;
    char buf[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    e->ex->summary = iam_xstrdup(e->ex, buf);
}

static int res_starts(const E *e, const char *prefix) {
    if (e->res_nseg != 6) return 0;
    return iam_istarts(e->rarn.seg[5], e->rarn.len[5], prefix);
}

static int decide(E *e) {
    const km_iam_input *in = e->in;
    int is_kms = iam_ieq(e->svc, e->svc_len, "kms", 3);
    int is_sts = iam_ieq(e->svc, e->svc_len, "sts", 3);
    int is_iam = iam_ieq(e->svc, e->svc_len, "iam", 3);

    if (!e->anonymous && is_sts && iam_ieq(e->act, e->act_len, "GetCallerIdentity", 17)) {
        set_summary(e, "sts:GetCallerIdentity needs no permission: AWS answers it for every "
                    "authenticated caller, even under an explicit deny");
        e->shortcut = 1;
        return KM_IAM_ALLOWED;
    }

    int session = R_NA, identity, boundary = R_NA, endpoint = R_NA, scp = R_ALLOWED, rcp;
    if (in->session) {
        session = analyze_set(e, &in->session, 1, KM_IAM_SESSION, NULL);
        add_step(e, KM_IAM_SESSION, NULL, session);
    }
    identity = analyze_set(e, in->identity, in->n_identity, KM_IAM_IDENTITY, NULL);
    if (e->ptype == PT_ROOT && identity != R_EXPLICIT) {
        /* The account root user has every permission of its account that no SCP or RCP takes
         * away (evaluation logic, "the only exception is the account root user"); key and trust
         * policies still have to let the account in. */
        identity = R_ALLOWED;
        if (e->ex) iam_explain_note(e->ex, "the account root user holds every permission of its account; "
                                    "only SCPs, RCPs and resource policies can limit it");
    }
    if (!e->anonymous) add_step(e, KM_IAM_IDENTITY, NULL, identity);
    if (e->has_boundary) {
        boundary = analyze_set(e, in->boundary, in->n_boundary, KM_IAM_BOUNDARY, NULL);
        add_step(e, KM_IAM_BOUNDARY, NULL, boundary);
    }
    int service_principal = !e->anonymous && e->ptype == PT_SERVICE;
    if (!e->anonymous && !service_principal) scp = analyze_levels(e, in->scp, in->n_scp, KM_IAM_SCP);
    else if (in->n_scp && e->ex)
        iam_explain_note(e->ex, "SCPs were not evaluated: they apply to the users and roles of member "
                         "accounts, not to %s", e->anonymous ? "anonymous requests" : "AWS service principals");
    rcp = analyze_levels(e, in->rcp, in->n_rcp, KM_IAM_RCP);
    rp_analysis rp = analyze_resource_policy(e, in->resource);
    add_step(e, in->resource ? in->resource->kind : KM_IAM_RESOURCE, NULL, rp.result);
    if (in->n_endpoint) {
        endpoint = analyze_set(e, in->endpoint, in->n_endpoint, KM_IAM_ENDPOINT, NULL);
        add_step(e, KM_IAM_ENDPOINT, NULL, endpoint);
    }

    int d;
    if (e->anonymous) {
        if (rp.result == R_ALLOWED) {
            d = KM_IAM_ALLOWED;
        } else if (rp.result == R_EXPLICIT || rp.result == R_DENIED_ACCOUNT) {
            d = KM_IAM_EXPLICIT_DENY;
            add_blocked(e, "resource");
            set_summary(e, "the resource policy explicitly denies anonymous requests");
        } else {
            d = KM_IAM_IMPLICIT_DENY;
            set_summary(e, "anonymous requests need a resource policy that allows Principal \"*\"; "
                        "%s", in->resource ? "this one does not" : "there is no resource policy");
        }
        int core = d;
        if (in->n_rcp) {
            if (core == KM_IAM_ALLOWED && rcp != R_ALLOWED) add_blocked(e, "rcp");
            d = lower(d, dec_of(rcp));
        }
        if (in->n_endpoint && endpoint != R_ALLOWED) {
            if (core == KM_IAM_ALLOWED) add_blocked(e, "vpce");
            d = lower(d, dec_of(endpoint));
        }
        return d;
    }

    /* Core: identity, resource and session policies. */
    int core;
    const char *core_why = NULL;
    /* A resource policy naming the session ARN itself grants "in addition to the permissions
     * granted by the session policies" (STS AssumeRole / GetFederationToken reference, Policy
     * parameter): the session policy's implicit deny does not limit it. */
    int session_bypass = session == R_IMPLICIT && e->same_account && rp.names_session && rp.result == R_ALLOWED;
    if (session_bypass) {
        core = KM_IAM_ALLOWED;
        if (e->ex)
            iam_explain_note(e->ex, "the session policy does not allow it, but the resource policy names this "
                             "session's ARN, and such grants are not limited by session policies");
    } else if (session != R_NA && session != R_ALLOWED) {
        core = dec_of(session);
        core_why = session == R_EXPLICIT ? NULL : "the session policy does not allow it";
        if (core != KM_IAM_ALLOWED) add_blocked(e, "session");
    } else if (service_principal) {
        core = rp.result == R_ALLOWED ? KM_IAM_ALLOWED : KM_IAM_IMPLICIT_DENY;
        core_why = "an AWS service principal needs a resource policy that names it";
    } else if (e->same_account) {
        /* How far the service trusts the account's own identity policies. */
        int trust; /* 0 implicit, 1 explicit (account-level allow present), 2 none */
        int kms_key = is_kms && (e->res_all || res_starts(e, "key/") ||
                                 (in->resource && in->resource->kind == KM_IAM_KEY));
        int sts_trust = is_sts || (in->resource && in->resource->kind == KM_IAM_TRUST);
        if (kms_key) {
            if (e->res_all) trust = 0;
            else trust = rp.account_allow ? 1 : 2;
        } else if (sts_trust) {
            if (rp.result == R_NA) trust = 0;
            else trust = rp.account_allow ? 1 : 2;
        } else {
            trust = 0;
        }
        if (trust == 0) {
            core = (rp.result == R_ALLOWED || identity == R_ALLOWED) ? KM_IAM_ALLOWED : KM_IAM_IMPLICIT_DENY;
            core_why = "no identity policy or resource policy allows it";
        } else if (trust == 1) {
            core = (identity == R_ALLOWED || rp.result == R_ALLOWED) ? KM_IAM_ALLOWED : KM_IAM_IMPLICIT_DENY;
            core_why = "neither the identity policies nor the resource policy allow it";
        } else {
            core = rp.result == R_ALLOWED ? KM_IAM_ALLOWED : KM_IAM_IMPLICIT_DENY;
            core_why = kms_key ? "a KMS key policy must allow the principal or its account; this one "
                                 "does not (identity policies alone never grant access to a key)"
                               : "the role trust policy must allow the principal or its account; it "
                                 "does not (identity policies alone cannot assume a role)";
        }
    } else {
        if ((rp.result == R_ALLOWED || rp.result == R_ALLOWED_ACCOUNT) && identity == R_ALLOWED) {
            core = KM_IAM_ALLOWED;
        } else {
            core = KM_IAM_IMPLICIT_DENY;
            if (identity != R_ALLOWED && !(rp.result == R_ALLOWED || rp.result == R_ALLOWED_ACCOUNT))
                core_why = "cross-account: neither the principal's identity policies nor the resource "
                           "policy allow it (both must)";
            else if (identity != R_ALLOWED)
                core_why = "cross-account: the resource policy allows it, but the principal's own "
                           "identity policies do not (both must)";
            else
                core_why = e->in->resource ? "cross-account: the principal's identity policies allow it, "
                                             "but the resource policy does not (both must)"
                                           : "cross-account: there is no resource policy to allow it "
                                             "(both sides must)";
        }
    }

    int d2 = core;
    if (scp != R_ALLOWED) {
        if (core == KM_IAM_ALLOWED || scp == R_EXPLICIT) add_blocked(e, "scp");
        d2 = lower(d2, dec_of(scp));
    }
    if (rcp != R_ALLOWED) {
        if (core == KM_IAM_ALLOWED || rcp == R_EXPLICIT) add_blocked(e, "rcp");
        d2 = lower(d2, dec_of(rcp));
    }
    if (in->n_endpoint && endpoint != R_ALLOWED) {
        if (core == KM_IAM_ALLOWED || endpoint == R_EXPLICIT) add_blocked(e, "vpce");
        d2 = lower(d2, dec_of(endpoint));
    }
    if (rp.result == R_EXPLICIT || rp.result == R_DENIED_ACCOUNT) {
        add_blocked(e, "resource");
        d2 = KM_IAM_EXPLICIT_DENY;
    }
    if (identity == R_EXPLICIT) {
        add_blocked(e, "identity");
        d2 = KM_IAM_EXPLICIT_DENY;
    }
    if (session == R_EXPLICIT) d2 = KM_IAM_EXPLICIT_DENY;
    if (e->has_boundary) {
        if (boundary == R_EXPLICIT) {
            add_blocked(e, "boundary");
            d2 = KM_IAM_EXPLICIT_DENY;
        } else if (boundary != R_ALLOWED) {
            if (!e->same_account || !rp.bypass_pb) {
                if (core == KM_IAM_ALLOWED) add_blocked(e, "boundary");
                d2 = lower(d2, KM_IAM_IMPLICIT_DENY);
            } else if (e->ex) {
                iam_explain_note(e->ex, "the permissions boundary does not allow it, but a same-account "
                                 "resource policy naming the %s itself does, so the boundary does not apply",
                                 e->ptype == PT_USER ? "user" : "session");
            }
        }
    }

    /* Things nobody can do. */
    if (d2 != KM_IAM_EXPLICIT_DENY && is_iam && e->res_nseg == 6) {
        static const char *managed[] = {"createpolicy", "createpolicyversion", "deletepolicy",
                                        "deletepolicyversion", "setdefaultpolicyversion", "tagpolicy",
                                        "untagpolicy"};
        static const char *reserved[] = {"attachrolepolicy", "createrole", "createservicelinkedrole",
            "deleterole", "deleterolepermissionsboundary", "deleterolepolicy", "deleteservicelinkedrole",
            "detachrolepolicy", "passrole", "putrolepermissionsboundary", "putrolepolicy", "tagrole",
            "untagrole", "updateassumerolepolicy", "updaterole", "updateroledescription"};
        if (iam_ieq(e->rarn.seg[4], e->rarn.len[4], "aws", 3) && res_starts(e, "policy/")) {
            for (size_t i = 0; i < sizeof managed / sizeof managed[0]; i++)
                if (iam_ieq(e->act, e->act_len, managed[i], strlen(managed[i]))) {
                    set_summary(e, "AWS managed policies cannot be changed by any principal");
                    return KM_IAM_IMPLICIT_DENY;
                }
        }
        if (res_starts(e, "role/aws-reserved/")) {
            for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
                if (iam_ieq(e->act, e->act_len, reserved[i], strlen(reserved[i]))) {
                    set_summary(e, "roles under /aws-reserved/ (IAM Identity Center) cannot be changed "
                                "by any principal");
                    return KM_IAM_IMPLICIT_DENY;
                }
        }
    }
    if (d2 != KM_IAM_EXPLICIT_DENY && is_kms && res_starts(e, "alias/aws/") &&
        (iam_ieq(e->act, e->act_len, "CreateAlias", 11) || iam_ieq(e->act, e->act_len, "DeleteAlias", 11) ||
         iam_ieq(e->act, e->act_len, "UpdateAlias", 11))) {
        set_summary(e, "aliases of AWS managed keys (alias/aws/...) cannot be changed by any principal");
        return KM_IAM_IMPLICIT_DENY;
    }

    if (d2 == KM_IAM_IMPLICIT_DENY && e->ex && !e->ex->summary) {
        if (core != KM_IAM_ALLOWED && core_why) set_summary(e, "%s", core_why);
        else if (scp == R_IMPLICIT) {
            for (size_t i = 0; i < e->ex->nsteps; i++)
                if (e->ex->steps[i].kind == KM_IAM_SCP && e->ex->steps[i].result != R_ALLOWED) {
                    set_summary(e, "SCP level %s has no Allow for it (every level from the root to the "
                                "account must allow)", e->ex->steps[i].level ? e->ex->steps[i].level : "?");
                    break;
                }
        } else if (rcp == R_IMPLICIT) set_summary(e, "an RCP level has no Allow for it");
        else if (in->n_endpoint && endpoint == R_IMPLICIT) set_summary(e, "the VPC endpoint policy does not allow it");
        else if (e->has_boundary && boundary != R_ALLOWED) set_summary(e, "the permissions boundary does not allow it");
    }
    return d2;
}

/* ---- explain helpers used by the summary -------------------------------------------------- */

static void summarise(E *e, int d) {
    km_iam_explain *ex = e->ex;
    if (!ex || ex->summary) return;
    char buf[700];
    size_t k = 0;
    buf[0] = 0;
    for (size_t i = 0; i < ex->nxs; i++) {
        const iam_xstmt *x = &ex->xs[i];
        if (!x->applies) continue;
        if ((d == KM_IAM_EXPLICIT_DENY) != (x->deny != 0)) continue;
        if (d == KM_IAM_ALLOWED && (x->kind == KM_IAM_SCP || x->kind == KM_IAM_RCP || x->kind == KM_IAM_BOUNDARY ||
                                    x->kind == KM_IAM_SESSION || x->kind == KM_IAM_ENDPOINT))
            continue;
        char one[300];
        snprintf(one, sizeof one, "%s%s policy %s%s%s statement %zu%s%s%s", k ? "; " : "",
                 km_iam_kind_name(x->kind), x->pol_name[0] ? "\"" : "", x->pol_name[0] ? x->pol_name : "(unnamed)",
                 x->pol_name[0] ? "\"" : "", x->index, x->sid ? " (Sid \"" : "",
                 x->sid ? x->sid : "", x->sid ? "\")" : "");
        size_t ol = strlen(one);
        if (k + ol + 1 >= sizeof buf) break;
        memcpy(buf + k, one, ol + 1);
        k += ol;
        if (d == KM_IAM_EXPLICIT_DENY) break;
    }
    if (d == KM_IAM_EXPLICIT_DENY)
        set_summary(e, "explicitly denied by %s", k ? buf : "a Deny statement");
    else if (d == KM_IAM_ALLOWED)
        set_summary(e, "allowed by %s", k ? buf : "the policies");
    else
        set_summary(e, "no statement allows it");
}

/* ---- entry points ------------------------------------------------------------------------- */

static int setup(E *e, const km_iam_input *in, const km_iam_request *req, const km_iam_options *opt,
                 km_iam_explain *ex, km_error *err) {
    memset(e, 0, sizeof *e);
    e->in = in;
    e->req = req;
    if (opt) e->opt = *opt;
    e->ctx = req->context;
    e->ex = ex;
    if (!req->action || !*req->action) {
        km_error_set(err, KM_ERR, (size_t)-1, "the request has no action");
        return -1;
    }
    const char *colon = strchr(req->action, ':');
    if (!colon || colon == req->action || !colon[1]) {
        km_error_set(err, KM_ERR, (size_t)-1, "action \"%.100s\" is not service:Action (e.g. s3:GetObject)",
                     req->action);
        return -1;
    }
    e->svc = req->action;
    e->svc_len = (size_t)(colon - req->action);
    e->act = colon + 1;
    e->act_len = strlen(e->act);
    e->anonymous = req->principal == NULL || *req->principal == 0;
    if (!e->anonymous) {
        e->principal = req->principal;
        e->plen = strlen(req->principal);
        classify_principal(e);
    }
    e->res = req->resource && *req->resource ? req->resource : "*";
    e->res_len = strlen(e->res);
    e->res_all = e->res_len > 0 && strspn(e->res, "*") == e->res_len;
    e->res_nseg = e->res_all ? 0 : iam_arn_split(e->res, e->res_len, &e->rarn);
    e->res_wild = !e->res_all && memchr(e->res, '*', e->res_len) != NULL;
    if (req->resource_account && *req->resource_account) {
        snprintf(e->raccount, sizeof e->raccount, "%s", req->resource_account);
    } else if (e->res_nseg == 6 && e->rarn.len[4] && e->rarn.len[4] < sizeof e->raccount) {
        memcpy(e->raccount, e->rarn.seg[4], e->rarn.len[4]);
        e->raccount[e->rarn.len[4]] = 0;
    }
    if (!e->raccount[0] && e->has_paccount) {
        /* S3 ARNs (and "*") name no account. Unless told otherwise, the resource is taken to be
         * in the caller's account, the common case; the explanation says so. */
        snprintf(e->raccount, sizeof e->raccount, "%s", e->paccount);
        e->raccount_assumed = 1;
    }
    e->same_account = e->has_paccount && e->raccount[0] && strcmp(e->paccount, e->raccount) == 0;
    e->has_boundary = in->n_boundary > 0;
    iam_scratch_init(&e->scr);
    if (e->opt.mode == KM_IAM_DISCOVERY && e->opt.n_knowledge) {
        e->kn = calloc(e->opt.n_knowledge, sizeof *e->kn);
        if (!e->kn) {
            km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
            return -1;
        }
        e->nkn = e->opt.n_knowledge;
        for (size_t i = 0; i < e->nkn; i++) {
            const km_iam_key_knowledge *k = &e->opt.knowledge[i];
            e->kn[i].k = k;
            size_t kl = k->key ? strlen(k->key) : 0;
            if (kl >= 2 && k->key[0] == '/' && k->key[kl - 1] == '/') {
                int ec;
                PCRE2_SIZE eo;
                e->kn[i].re = pcre2_compile((PCRE2_SPTR)(k->key + 1), kl - 2, PCRE2_CASELESS, &ec, &eo, NULL);
                if (!e->kn[i].re) {
                    PCRE2_UCHAR msg[200];
                    pcre2_get_error_message(ec, msg, sizeof msg);
                    km_error_set(err, KM_ERR, (size_t)-1, "context key pattern %s: %s at offset %zu",
                                 k->key, (const char *)msg, (size_t)eo);
                    return -1;
                }
            }
        }
    }
    if (ex) {
        iam_explain_reset(ex);
        snprintf(ex->principal, sizeof ex->principal, "%s", e->anonymous ? "(anonymous)" : e->principal);
        snprintf(ex->action, sizeof ex->action, "%s", req->action);
        snprintf(ex->resource, sizeof ex->resource, "%s", e->res);
    }
    return 0;
}

static void teardown(E *e) {
    iam_scratch_free(&e->scr);
    for (size_t i = 0; i < e->nkn; i++) pcre2_code_free(e->kn[i].re);
    free(e->kn);
    e->kn = NULL;
}

/* Whether the statement allows the action (Allow, Action/NotAction only). */
static int stmt_allows_action(const E *e, const iam_stmt *st) {
    return !st->deny && stmt_action_matches(e, st);
}

static int add_candidate(char ***list, size_t *n, size_t *cap, const char *s) {
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*list)[i], s) == 0) return 0;
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 8;
        char **nl = realloc(*list, nc * sizeof *nl);
        if (!nl) return -1;
        *list = nl;
        *cap = nc;
    }
    size_t l = strlen(s);
    char *d = malloc(l + 1);
    if (!d) return -1;
    memcpy(d, s, l + 1);
    (*list)[(*n)++] = d;
    return 0;
}

/* Resource patterns of Allow statements that could narrow a wildcard request. */
static int collect_candidates(E *e, const km_iam_policy *p, int expand_short, char ***list, size_t *n,
                              size_t *cap) {
    if (!p) return 0;
    for (size_t j = 0; j < p->nst; j++) {
        const iam_stmt *st = &p->st[j];
        if (!stmt_allows_action(e, st)) continue;
        if (!st->has_resource) {
            if (add_candidate(list, n, cap, e->res) < 0) return -1;
            continue;
        }
        if (st->not_resource) {
            int excluded = 0;
            for (size_t i = 0; i < st->nres && !excluded; i++) {
                const iam_resource *r = &st->res[i];
                char buf[2048];
                const char *v = r->raw;
                if (expand_short && r->is_arn && r->nseg < 6) {
                    int k = snprintf(buf, sizeof buf, "%s", r->raw);
                    for (int s = r->nseg; s < 6 && k > 0 && (size_t)k + 2 < sizeof buf; s++) k += snprintf(buf + k, sizeof buf - (size_t)k, ":*");
                    v = buf;
                }
                if (strcmp(v, e->res) == 0 || iam_glob(v, NULL, strlen(v), e->res, e->res_len, 0)) excluded = 1;
            }
            if (!excluded && add_candidate(list, n, cap, "*") < 0) return -1;
            continue;
        }
        for (size_t i = 0; i < st->nres; i++) {
            const iam_resource *r = &st->res[i];
            char buf[2048];
            const char *v = r->raw;
            if (expand_short && r->is_arn && r->nseg < 6) {
                int k = snprintf(buf, sizeof buf, "%s", r->raw);
                for (int s = r->nseg; s < 6 && k > 0 && (size_t)k + 2 < sizeof buf; s++) k += snprintf(buf + k, sizeof buf - (size_t)k, ":*");
                v = buf;
            }
            int ov = iam_glob_overlap(v, strlen(v), e->res, e->res_len, 0);
            if (ov != 0 && add_candidate(list, n, cap, r->raw) < 0) return -1;
        }
    }
    return 0;
}

static int evaluate_one(const km_iam_input *in, const km_iam_request *req, const km_iam_options *opt,
                        km_iam_explain *ex, int *no_policies, km_error *err) {
    E e;
    if (setup(&e, in, req, opt, ex, err) < 0) {
        teardown(&e);
        return -1;
    }
    int d = decide(&e);
    if (no_policies) *no_policies = e.shortcut;
    if (ex) {
        ex->decision = (km_iam_decision)d;
        summarise(&e, d);
        if (e.ignored_rsn)
            iam_explain_note(ex, "discovery: a resource policy names a role session; the session name was "
                             "not compared");
        if (e.raccount_assumed && !e.res_all)
            iam_explain_note(ex, "the resource ARN names no account: it was taken to be in the caller's "
                             "account %s (give the resource account to evaluate a cross-account request)",
                             e.raccount);
    }
    int nomem = e.nomem || (ex && ex->arena.failed); /* harden helper: a lost note is a lost explanation */
    teardown(&e);
    if (nomem) {
        km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory while evaluating");
        return -1;
    }
    return d;
}

int km_iam_evaluate(const km_iam_input *in, const km_iam_request *req, const km_iam_options *opt,
                    km_iam_explain *ex, km_error *err) {
    static const km_iam_input empty;
    if (!req) {
        km_error_set(err, KM_ERR, (size_t)-1, "no request");
        return -1;
    }
    if (!in) in = &empty;
    int no_policies = 0;
    int d = evaluate_one(in, req, opt, ex, &no_policies, err);
    if (d < 0 || no_policies || !opt || !opt->expand_wildcards || opt->wildcard_only_action) return d;
    const char *res = req->resource ? req->resource : "*";
    if (!strchr(res, '*') || d != KM_IAM_ALLOWED) return d;

    /* The pattern as a whole is allowed: which narrower patterns really are? */
    E e;
    if (setup(&e, in, req, opt, NULL, err) < 0) {
        teardown(&e);
        return -1;
    }
    char **cands = NULL;
    size_t nc = 0, cap = 0;
    int rc = 0;
    for (size_t i = 0; i < in->n_identity && rc == 0; i++)
        rc = collect_candidates(&e, in->identity[i], 1, &cands, &nc, &cap);
    if (rc == 0) rc = collect_candidates(&e, in->resource, 0, &cands, &nc, &cap);
    teardown(&e);
    int overall = KM_IAM_IMPLICIT_DENY, any_allowed = 0, all_explicit = nc > 0;
    for (size_t i = 0; i < nc && rc == 0; i++) {
        char buf[2048];
        const char *r = cands[i];
        iam_arn a;
        int k = iam_arn_split(r, strlen(r), &a);
        if (k > 0 && k < 6) {
            int w = snprintf(buf, sizeof buf, "%s", r);
            for (int s = k; s < 6 && w > 0 && (size_t)w + 2 < sizeof buf; s++) w += snprintf(buf + w, sizeof buf - (size_t)w, ":*");
            r = buf;
        }
        km_iam_request sr = *req;
        sr.resource = r;
        if (!sr.resource_account) sr.resource_account = req->resource_account;
        int sd = evaluate_one(in, &sr, opt, NULL, NULL, err);
        if (sd < 0) {
            rc = -1;
            break;
        }
        if (sd == KM_IAM_ALLOWED) any_allowed = 1;
        if (sd != KM_IAM_EXPLICIT_DENY) all_explicit = 0;
        if (ex) {
            if (grow(ex, (void **)&ex->exp_res, &ex->capexp, ex->nexp, sizeof *ex->exp_res) == 0) {
                size_t cap2 = ex->capexp;
                int *nd = km_arena_alloc(&ex->arena, cap2 * sizeof *nd);
                if (nd) {
                    if (ex->nexp) memcpy(nd, ex->exp_dec, ex->nexp * sizeof *nd);
                    ex->exp_dec = nd;
                    ex->exp_res[ex->nexp] = iam_xstrdup(ex, r);
                    ex->exp_dec[ex->nexp] = sd;
                    ex->nexp++;
                }
            }
        }
    }
    for (size_t i = 0; i < nc; i++) free(cands[i]);
    free(cands);
    if (rc < 0) {
        if (err && err->code == KM_OK) km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
        return -1;
    }
    overall = any_allowed ? KM_IAM_ALLOWED : all_explicit ? KM_IAM_EXPLICIT_DENY : KM_IAM_IMPLICIT_DENY;
    if (ex && overall != d) {
        ex->decision = (km_iam_decision)overall;
        ex->summary = iam_xstrdup(ex, nc == 0 ? "the pattern is allowed as a whole, but no Allow statement "
                                               "names a resource that fits it"
                                           : overall == KM_IAM_EXPLICIT_DENY
                                                 ? "every resource pattern the Allow statements name within "
                                                   "the request pattern is explicitly denied"
                                                 : "none of the resource patterns the Allow statements name "
                                                   "within the request pattern is allowed");
    }
    return overall;
}

km_iam_decision km_iam_explain_decision(const km_iam_explain *ex) {
    return ex ? ex->decision : KM_IAM_IMPLICIT_DENY;
}

size_t km_iam_explain_applied_count(const km_iam_explain *ex) {
    size_t n = 0;
    if (!ex) return 0;
    for (size_t i = 0; i < ex->nxs; i++) n += ex->xs[i].applies;
    return n;
}

int km_iam_explain_applied(const km_iam_explain *ex, size_t i, km_iam_statement_ref *out) {
    if (!ex) return -1;
    for (size_t k = 0; k < ex->nxs; k++) {
        const iam_xstmt *x = &ex->xs[k];
        if (!x->applies) continue;
        if (i-- == 0) {
            out->kind = x->kind;
            out->policy = x->pol_name;
            out->level = x->level;
            out->index = x->index;
            out->sid = x->sid;
            out->deny = x->deny;
            return 0;
        }
    }
    return -1;
}
