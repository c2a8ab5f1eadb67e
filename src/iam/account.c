/* An account as a snapshot describes it, and "who can do A on R" over it.
 *
 * Input: `iam get-account-authorization-details` output (users, groups, roles, managed policies
 * with their versions, boundaries, tags, trust policies), Organizations outputs (SCP/RCP
 * contents, what is attached where, the parent chain of the account), and resource policies
 * (bucket, key, queue, topic, function, secret, repository, backup vault). Files are found by
 * the layout `kumomori collect` writes (docs/iam.md) and, failing that, by their shape, so a
 * folder of hand-saved CLI outputs works too.
 *
 * Each question is answered by building, per principal, the request AWS would see (the session
 * ARN for roles, the context keys the credentials carry) and evaluating it with eval.c. */
#include "iam/iam_internal.h"
#include "iam/document.h"
#include "util/limits.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FILE_MAX (512u << 20)
#define WALK_MAX_FILES 200000

typedef struct named_policy {
    char *key; /* managed policy ARN, org policy id, or resource ARN */
    km_iam_policy *p;
    char account[32]; /* resource policies: the account whose snapshot folder held it */
} named_policy;

typedef struct strlist {
    char **v;
    size_t n, cap;
} strlist;

/* A string-keyed index (open addressing) into one of the arrays below, by position: the
 * organisation snapshot of docs/performance.md has 50,000 roles and 20,000 bucket policies,
 * and looking them up by a linear search made loading and every question quadratic. Keys are
 * the arrays' own heap strings (they do not move when the arrays grow). */
typedef struct strix_slot {
    const char *key;
    size_t len, val;
    uint64_t h;
} strix_slot;

typedef struct strix {
    strix_slot *s;
    size_t cap, n;
} strix;

#define STRIX_NONE ((size_t)-1)

typedef struct group {
    char *name;
    km_iam_policy **inl;
    size_t ninl;
    strlist attached;
} group;

typedef struct principal {
    char *arn, *name, *id;
    char acct[32];
    int role;
    km_iam_policy **inl;
    size_t ninl;
    strlist attached, groups, tag_k, tag_v;
    char *boundary_arn;
    km_iam_policy *trust;
    /* resolved */
    const km_iam_policy **identity;
    size_t n_identity;
    const km_iam_policy *boundary;
    int boundary_missing;
    int no_trust;  /* a granted copy (km_iam_account_can_granted): sts:AssumeRole* is asked without the target's trust policy */
} principal;

typedef struct orglevels {
    char account[32];
    km_iam_level *scp, *rcp;
    size_t n_scp, n_rcp;
    const km_iam_policy **pols; /* storage for the levels' policy arrays */
    size_t npols;
} orglevels;

typedef struct org_link {
    char *child, *parent;
} org_link;

typedef struct org_attach {
    char *target;
    strlist ids;
    strlist types;
} org_attach;

struct km_iam_account {
    char account[32];
    char org_master[32];
    char org_id[64];
    principal *pr;
    size_t npr, cappr;
    group *gr;
    size_t ngr, capgr;
    named_policy *managed;
    size_t nmanaged, capmanaged;
    named_policy *orgpol; /* key = policy id; kind SCP or RCP */
    size_t norgpol, caporgpol;
    named_policy *respol; /* key = resource ARN */
    size_t nrespol, caprespol;
    strix ix_managed, ix_orgpol, ix_respol, ix_pr, ix_own; /* ix_pr: while loading only */
    strix ix_noted; /* see managed() */
    org_link *links;
    size_t nlinks, caplinks;
    org_attach *att;
    size_t natt, capatt;
    /* SCP/RCP levels of each account that has principals in the snapshot */
    orglevels *lv;
    size_t nlv;
    km_iam_policy *full_access; /* synthesised FullAWSAccess SCP */
    km_iam_policy *admin;       /* AdministratorAccess, for the guard-rail probe */
    km_iam_policy *granted;     /* the same, as the policy an escalation attaches */
    km_buf notes;
    size_t files_seen, files_used;
    /* owners of resources whose ARN names no account (S3 buckets, EBS snapshots), set by the
     * caller: parallel lists of ARN and account */
    strlist own_arn, own_acct;
    /* an allocation failed where the loader goes on (a policy or a note lost): the account is
     * incomplete, and loading fails with KM_ENOMEM rather than answer from it */
    int oom;
};

/* ---- small helpers ---------------------------------------------------------------------- */

static char *sdup(const char *s) {
    if (!s) return NULL;
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    if (d) memcpy(d, s, n + 1);
    return d;
}

static int sl_push(strlist *l, const char *s) {
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 4;
        char **nv = realloc(l->v, nc * sizeof *nv);
        if (!nv) return -1;
        l->v = nv;
        l->cap = nc;
    }
    char *d = sdup(s ? s : "");
    if (!d) return -1;
    l->v[l->n++] = d;
    return 0;
}

static void sl_free(strlist *l) {
    for (size_t i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static void note(km_iam_account *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(km_iam_account *a, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    km_buf_vprintf(&a->notes, fmt, ap);
    va_end(ap);
    km_buf_putc(&a->notes, '\n');
    if (a->notes.failed == KM_BUF_NOMEM) a->oom = 1;
}

/* arr is non-NULL whenever cap > 0; testing it too states that for the static analyzer */
#define GROW(arr, n, cap)                                                         \
    (((n) < (cap) && (arr)) ? 0 : grow_array((void **)&(arr), &(cap), sizeof *(arr)))

static int grow_array(void **arr, size_t *cap, size_t elem) {
    size_t nc = *cap ? *cap * 2 : 16;
    void *na = realloc(*arr, nc * elem);
    if (!na) return -1;
    memset((char *)na + *cap * elem, 0, (nc - *cap) * elem);
    *arr = na;
    *cap = nc;
    return 0;
}

static uint64_t strix_hash(const char *k, size_t len) {
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)k[i];
        h *= 1099511628211ULL;
    }
    return h;
}

/* The value stored for key (len bytes), or STRIX_NONE. */
static size_t strix_get(const strix *ix, const char *key, size_t len) {
    if (!ix->cap) return STRIX_NONE;
    uint64_t h = strix_hash(key, len);
    for (size_t i = (size_t)h & (ix->cap - 1);; i = (i + 1) & (ix->cap - 1)) {
        const strix_slot *e = &ix->s[i];
        if (!e->key) return STRIX_NONE;
        if (e->h == h && e->len == len && memcmp(e->key, key, len) == 0) return e->val;
    }
}

/* Stores val for key (a string that outlives the index) unless the key is there already.
 * Returns 0, or -1 when out of memory. */
static int strix_add(strix *ix, const char *key, size_t val) {
    if ((ix->n + 1) * 2 > ix->cap) {
        size_t nc = ix->cap ? ix->cap * 2 : 64;
        strix_slot *ns = calloc(nc, sizeof *ns);
        if (!ns) return -1;
        for (size_t i = 0; i < ix->cap; i++) {
            if (!ix->s[i].key) continue;
            size_t j = (size_t)ix->s[i].h & (nc - 1);
            while (ns[j].key) j = (j + 1) & (nc - 1);
            ns[j] = ix->s[i];
        }
        free(ix->s);
        ix->s = ns;
        ix->cap = nc;
    }
    size_t len = strlen(key);
    uint64_t h = strix_hash(key, len);
    for (size_t i = (size_t)h & (ix->cap - 1);; i = (i + 1) & (ix->cap - 1)) {
        strix_slot *e = &ix->s[i];
        if (!e->key) {
            *e = (strix_slot){key, len, val, h};
            ix->n++;
            return 0;
        }
        if (e->h == h && e->len == len && memcmp(e->key, key, len) == 0) return 0;
    }
}

static void strix_free(strix *ix) {
    free(ix->s);
    memset(ix, 0, sizeof *ix);
}

/* The entry of key in a list of named policies, through the list's index (np_put keeps it). */
static named_policy *np_lookup(named_policy *v, const strix *ix, const char *key) {
    size_t i = strix_get(ix, key, strlen(key));
    return i == STRIX_NONE ? NULL : &v[i];
}

/* Adds or replaces; takes p in every case: on failure (out of memory) it is freed. */
static int np_put(named_policy **v, size_t *n, size_t *cap, strix *ix, const char *key, km_iam_policy *p) {
    named_policy *e = np_lookup(*v, ix, key);
    if (e) {
        km_iam_policy_free(e->p);
        e->p = p;
        return 0;
    }
    if (GROW(*v, *n, *cap) < 0 || !((*v)[*n].key = sdup(key))) {
        km_iam_policy_free(p);
        return -1;
    }
    if (strix_add(ix, (*v)[*n].key, *n) < 0) {
        free((*v)[*n].key);
        (*v)[*n].key = NULL;
        km_iam_policy_free(p);
        return -1;
    }
    (*v)[*n].p = p;
    (*n)++;
    return 0;
}

static const km_json *arr_or_one(const km_json *v, size_t i, size_t *n) {
    if (!v) {
        *n = 0;
        return NULL;
    }
    if (v->type == KM_JSON_ARRAY) {
        *n = v->u.arr.n;
        return i < v->u.arr.n ? v->u.arr.items[i] : NULL;
    }
    *n = v->type == KM_JSON_OBJECT || v->type == KM_JSON_STRING ? 1 : 0;
    return i == 0 ? v : NULL;
}

/* ---- authorization details ---------------------------------------------------------------- */

static km_iam_policy *doc_policy(km_iam_account *a, const km_json *doc, const char *text, size_t len,
                                 km_iam_policy_kind kind, const char *name, const char *file) {
    km_error e;
    km_error_clear(&e);
    km_iam_policy *p = iam_policy_from_value(doc, text, len, kind, name, &e);
    if (!p && e.code == KM_ENOMEM) a->oom = 1; /* not a policy to skip */
    else if (!p) note(a, "%s: policy %s skipped: %s", file, name, e.msg);
    return p;
}

static int load_inline(km_iam_account *a, const km_json *list, const char *owner, const char *text,
                       size_t len, const char *file, km_iam_policy ***out, size_t *n) {
    size_t cnt;
    arr_or_one(list, 0, &cnt);
    if (!cnt) return 0;
    *out = calloc(cnt, sizeof **out);
    if (!*out) return -1;
    for (size_t i = 0; i < cnt; i++) {
        size_t dummy;
        const km_json *it = arr_or_one(list, i, &dummy);
        const char *pn = km_json_get_str(it, "PolicyName", "inline");
        char name[512];
        snprintf(name, sizeof name, "%s inline %s", owner, pn);
        km_iam_policy *p = doc_policy(a, km_json_get(it, "PolicyDocument"), text, len, KM_IAM_IDENTITY, name, file);
        if (p) (*out)[(*n)++] = p;
    }
    return 0;
}

static int load_attached(const km_json *list, strlist *out) {
    size_t cnt;
    arr_or_one(list, 0, &cnt);
    for (size_t i = 0; i < cnt; i++) {
        size_t d;
        const char *arn = km_json_get_str(arr_or_one(list, i, &d), "PolicyArn", NULL);
        if (arn && sl_push(out, arn) < 0) return -1;
    }
    return 0;
}

static void account_from_arn(km_iam_account *a, const char *arn) {
    if (a->account[0] || !arn) return;
    iam_arn x;
    if (iam_arn_split(arn, strlen(arn), &x) == 6 && x.len[4] == 12) {
        memcpy(a->account, x.seg[4], 12);
        a->account[12] = 0;
    }
}

static int load_authz(km_iam_account *a, const km_json *root, const char *text, size_t len, const char *file) {
    const km_json *pols = km_json_get(root, "Policies");
    for (size_t i = 0; pols && pols->type == KM_JSON_ARRAY && i < pols->u.arr.n; i++) {
        const km_json *p = pols->u.arr.items[i];
        const char *arn = km_json_get_str(p, "Arn", NULL);
        const char *def = km_json_get_str(p, "DefaultVersionId", NULL);
        const km_json *vers = km_json_get(p, "PolicyVersionList");
        const km_json *doc = NULL;
        for (size_t v = 0; vers && v < km_json_len(vers); v++) {
            const km_json *ver = km_json_at(vers, v);
            const km_json *isdef = km_json_get(ver, "IsDefaultVersion");
            if ((isdef && isdef->type == KM_JSON_TRUE) ||
                (def && strcmp(km_json_get_str(ver, "VersionId", ""), def) == 0)) {
                doc = km_json_get(ver, "Document");
                break;
            }
        }
        if (!doc && km_json_len(vers) == 1) doc = km_json_get(km_json_at(vers, 0), "Document");
        if (!arn || !doc) {
            note(a, "%s: managed policy %s has no default version document; skipped", file, arn ? arn : "(no Arn)");
            continue;
        }
        km_iam_policy *kp = doc_policy(a, doc, text, len, KM_IAM_IDENTITY, km_json_get_str(p, "PolicyName", arn), file);
        if (kp && np_put(&a->managed, &a->nmanaged, &a->capmanaged, &a->ix_managed, arn, kp) < 0) return -1;
    }
    const km_json *groups = km_json_get(root, "GroupDetailList");
    for (size_t i = 0; groups && i < km_json_len(groups); i++) {
        const km_json *g = km_json_at(groups, i);
        if (GROW(a->gr, a->ngr, a->capgr) < 0) return -1;
        group *gr = &a->gr[a->ngr++];
        gr->name = sdup(km_json_get_str(g, "GroupName", "?"));
        if (!gr->name) return -1;
        char owner[300];
        snprintf(owner, sizeof owner, "group %s", gr->name);
        if (load_inline(a, km_json_get(g, "GroupPolicyList"), owner, text, len, file, &gr->inl, &gr->ninl) < 0 ||
            load_attached(km_json_get(g, "AttachedManagedPolicies"), &gr->attached) < 0)
            return -1;
    }
    for (int role = 0; role < 2; role++) {
        const km_json *list = km_json_get(root, role ? "RoleDetailList" : "UserDetailList");
        for (size_t i = 0; list && i < km_json_len(list); i++) {
            const km_json *u = km_json_at(list, i);
            const char *arn = km_json_get_str(u, "Arn", NULL);
            if (!arn) {
                note(a, "%s: a %s without Arn was skipped", file, role ? "role" : "user");
                continue;
            }
            if (strix_get(&a->ix_pr, arn, strlen(arn)) != STRIX_NONE) continue; /* listed twice */
            account_from_arn(a, arn);
            if (GROW(a->pr, a->npr, a->cappr) < 0) return -1;
            principal *p = &a->pr[a->npr++];
            {
                iam_arn x;
                if (iam_arn_split(arn, strlen(arn), &x) == 6 && x.len[4] < sizeof p->acct)
                    snprintf(p->acct, sizeof p->acct, "%.*s", (int)x.len[4], x.seg[4]);
            }
            p->role = role;
            p->arn = sdup(arn);
            p->name = sdup(km_json_get_str(u, role ? "RoleName" : "UserName", ""));
            p->id = sdup(km_json_get_str(u, role ? "RoleId" : "UserId", ""));
            if (!p->arn || !p->name || !p->id || strix_add(&a->ix_pr, p->arn, a->npr - 1) < 0) return -1;
            char owner[600];
            snprintf(owner, sizeof owner, "%s %s", role ? "role" : "user", p->name);
            if (load_inline(a, km_json_get(u, role ? "RolePolicyList" : "UserPolicyList"), owner, text, len, file,
                            &p->inl, &p->ninl) < 0 ||
                load_attached(km_json_get(u, "AttachedManagedPolicies"), &p->attached) < 0)
                return -1;
            const km_json *gl = km_json_get(u, "GroupList");
            for (size_t k = 0; gl && k < km_json_len(gl); k++) {
                const char *gn = km_json_str(km_json_at(gl, k));
                if (gn && sl_push(&p->groups, gn) < 0) return -1;
            }
            const char *pb = km_json_get_str(km_json_get(u, "PermissionsBoundary"), "PermissionsBoundaryArn", NULL);
            if (pb && !(p->boundary_arn = sdup(pb))) return -1;
            const km_json *tags = km_json_get(u, "Tags");
            for (size_t k = 0; tags && k < km_json_len(tags); k++) {
                const km_json *t = km_json_at(tags, k);
                const char *tk = km_json_get_str(t, "Key", NULL), *tv = km_json_get_str(t, "Value", "");
                if (tk && (sl_push(&p->tag_k, tk) < 0 || sl_push(&p->tag_v, tv) < 0)) return -1;
            }
            if (role) {
                const km_json *tr = km_json_get(u, "AssumeRolePolicyDocument");
                if (tr) {
                    char name[600];
                    snprintf(name, sizeof name, "of role %s", p->name);
                    p->trust = doc_policy(a, tr, text, len, KM_IAM_TRUST, name, file);
                }
            }
        }
    }
    return 0;
}

/* ---- Organizations -------------------------------------------------------------------------- */

static const char full_access_doc[] =
    "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}";

static int load_org_policy(km_iam_account *a, const km_json *root, const char *text, size_t len, const char *file) {
    const km_json *sum = km_json_path(root, "Policy.PolicySummary");
    const char *id = km_json_get_str(sum, "Id", NULL);
    const char *type = km_json_get_str(sum, "Type", "SERVICE_CONTROL_POLICY");
    const char *name = km_json_get_str(sum, "Name", id);
    if (!id) {
        note(a, "%s: organizations policy without PolicySummary.Id; skipped", file);
        return 0;
    }
    km_iam_policy_kind kind;
    if (strcmp(type, "SERVICE_CONTROL_POLICY") == 0) kind = KM_IAM_SCP;
    else if (strcmp(type, "RESOURCE_CONTROL_POLICY") == 0) kind = KM_IAM_RCP;
    else return 0; /* tag, backup, AI opt-out policies: not authorization */
    char label[300];
    snprintf(label, sizeof label, "%s (%s)", name, id);
    km_iam_policy *p = doc_policy(a, km_json_path(root, "Policy.Content"), text, len, kind, label, file);
    if (!p) return 0;
    return np_put(&a->orgpol, &a->norgpol, &a->caporgpol, &a->ix_orgpol, id, p);
}

static int attach(km_iam_account *a, const char *target, const char *id, const char *type) {
    org_attach *at = NULL;
    for (size_t i = 0; i < a->natt; i++)
        if (strcmp(a->att[i].target, target) == 0) at = &a->att[i];
    if (!at) {
        if (GROW(a->att, a->natt, a->capatt) < 0) return -1;
        at = &a->att[a->natt++];
        at->target = sdup(target);
        if (!at->target) return -1;
    }
    for (size_t k = 0; k < at->ids.n; k++)
        if (strcmp(at->ids.v[k], id) == 0) return 0;
    if (sl_push(&at->ids, id) < 0 || sl_push(&at->types, type) < 0) return -1;
    return 0;
}

static int load_org_attach(km_iam_account *a, const km_json *root, const char *target) {
    const km_json *pols = km_json_get(root, "Policies");
    for (size_t i = 0; i < km_json_len(pols); i++) {
        const km_json *p = km_json_at(pols, i);
        const char *id = km_json_get_str(p, "Id", NULL);
        if (id && attach(a, target, id, km_json_get_str(p, "Type", "")) < 0) return -1;
    }
    return 0;
}

static int load_org_parents(km_iam_account *a, const km_json *root, const char *child) {
    const km_json *par = km_json_at(km_json_get(root, "Parents"), 0);
    const char *pid = km_json_get_str(par, "Id", NULL);
    if (!pid) return 0;
    if (GROW(a->links, a->nlinks, a->caplinks) < 0) return -1;
    char *c = sdup(child), *p = sdup(pid);
    if (!c || !p) { /* harden helper: the slot is not counted, so neither would be freed */
        free(c);
        free(p);
        return -1;
    }
    a->links[a->nlinks].child = c;
    a->links[a->nlinks].parent = p;
    a->nlinks++;
    return 0;
}

/* Levels root -> OUs -> account from list-parents and the attachments (list-policies-for-target
 * or list-targets-for-policy); falling back to one level holding every SCP found when the
 * attachments are unknown. */
static int build_levels_for(km_iam_account *a, const char *account, orglevels *ol) {
    memset(ol, 0, sizeof *ol);
    snprintf(ol->account, sizeof ol->account, "%s", account);
    if (!a->norgpol && !a->natt) return 0;
    if (a->org_master[0] && strcmp(a->org_master, account) == 0) {
        note(a, "account %s is the organization's management account: SCPs and RCPs do not apply to it", account);
        return 0;
    }
    const char *chain[16];
    size_t nchain = 0;
    const char *cur = account;
    while (cur && *cur && nchain < 16) {
        chain[nchain++] = cur;
        const char *next = NULL;
        for (size_t i = 0; i < a->nlinks; i++)
            if (strcmp(a->links[i].child, cur) == 0) next = a->links[i].parent;
        cur = next;
    }
    if (nchain == 1 && a->nlinks > 0) {
        note(a, "account %s: no organizations list-parents output, so its place in the organization is "
             "unknown: SCPs and RCPs are not applied to it", account);
        return 0;
    }
    int have_chain = nchain > 1 && a->natt > 0;
    size_t total = a->norgpol + 2;
    for (size_t i = 0; i < a->natt; i++) total += a->att[i].ids.n;
    ol->pols = calloc(total * 2 + 2 * (nchain + 1), sizeof *ol->pols);
    ol->scp = calloc(nchain + 1, sizeof *ol->scp);
    ol->rcp = calloc(nchain + 1, sizeof *ol->rcp);
    if (!ol->pols || !ol->scp || !ol->rcp) return -1;
    if (!have_chain) {
        size_t nscp = 0, nrcp = 0;
        km_iam_level *ls = &ol->scp[0], *lr = &ol->rcp[0];
        ls->id = "organization";
        lr->id = "organization";
        ls->policies = &ol->pols[ol->npols];
        for (size_t i = 0; i < a->norgpol; i++)
            if (a->orgpol[i].p->kind == KM_IAM_SCP) ol->pols[ol->npols++] = a->orgpol[i].p, nscp++;
        ls->n = nscp;
        if (nscp) {
            /* FullAWSAccess is attached by default everywhere; without attachment data assume it. */
            int has_allow_all = 0;
            for (size_t i = 0; i < a->norgpol; i++)
                if (strcmp(a->orgpol[i].key, "p-FullAWSAccess") == 0) has_allow_all = 1;
            if (!has_allow_all && a->full_access) {
                ol->pols[ol->npols++] = a->full_access;
                ls->n++;
            }
            note(a, "SCP attachments of account %s unknown (no organizations list-parents and "
                 "list-targets-for-policy / list-policies-for-target outputs): the %zu SCPs found are "
                 "treated as attached at one level%s", account, nscp, has_allow_all ? "" : ", with FullAWSAccess");
            ol->n_scp = 1;
        }
        lr->policies = &ol->pols[ol->npols];
        for (size_t i = 0; i < a->norgpol; i++)
            if (a->orgpol[i].p->kind == KM_IAM_RCP) ol->pols[ol->npols++] = a->orgpol[i].p, nrcp++;
        lr->n = nrcp;
        if (nrcp) ol->n_rcp = 1;
        return 0;
    }
    /* chain is account, parent, ..., root: levels go root first */
    for (size_t li = 0; li < nchain; li++) {
        const char *id = chain[nchain - 1 - li];
        const org_attach *at = NULL;
        for (size_t i = 0; i < a->natt; i++)
            if (strcmp(a->att[i].target, id) == 0) at = &a->att[i];
        km_iam_level *ls = &ol->scp[ol->n_scp++], *lr = &ol->rcp[ol->n_rcp++];
        ls->id = id;
        lr->id = id;
        ls->policies = &ol->pols[ol->npols];
        if (!at) {
            /* Missing data must not read as "nothing attached" (which would deny everything). */
            note(a, "no attachment data for %s: FullAWSAccess alone is assumed there", id);
            if (a->full_access) ol->pols[ol->npols++] = a->full_access, ls->n++;
        }
        for (size_t k = 0; at && k < at->ids.n; k++) {
            named_policy *np = np_lookup(a->orgpol, &a->ix_orgpol, at->ids.v[k]);
            const char *t = at->types.v[k];
            int is_scp = np ? np->p->kind == KM_IAM_SCP : (!*t || strcmp(t, "SERVICE_CONTROL_POLICY") == 0);
            if (!is_scp) continue;
            if (np) ol->pols[ol->npols++] = np->p, ls->n++;
            else if (strcmp(at->ids.v[k], "p-FullAWSAccess") == 0 && a->full_access)
                ol->pols[ol->npols++] = a->full_access, ls->n++;
            else
                note(a, "SCP %s attached to %s has no describe-policy output: ignored", at->ids.v[k], id);
        }
        lr->policies = &ol->pols[ol->npols];
        for (size_t k = 0; at && k < at->ids.n; k++) {
            named_policy *np = np_lookup(a->orgpol, &a->ix_orgpol, at->ids.v[k]);
            if (np && np->p->kind == KM_IAM_RCP) ol->pols[ol->npols++] = np->p, lr->n++;
        }
    }
    int any_rcp = 0;
    for (size_t i = 0; i < ol->n_rcp; i++) any_rcp |= ol->rcp[i].n > 0;
    if (!any_rcp) ol->n_rcp = 0;
    note(a, "SCP levels of account %s: %zu (root first)", account, ol->n_scp);
    return 0;
}

static void orglevels_free(orglevels *ol) {
    free(ol->scp);
    free(ol->rcp);
    free(ol->pols);
    memset(ol, 0, sizeof *ol);
}

static int build_levels(km_iam_account *a) {
    for (size_t i = 0; i < a->nlv; i++) orglevels_free(&a->lv[i]);
    free(a->lv);
    a->lv = NULL;
    a->nlv = 0;
    a->lv = calloc(a->npr + 1, sizeof *a->lv);
    if (!a->lv) return -1;
    for (size_t i = 0; i < a->npr; i++) {
        int seen = 0;
        for (size_t k = 0; k < a->nlv; k++)
            if (strcmp(a->lv[k].account, a->pr[i].acct) == 0) seen = 1;
        if (seen || !a->pr[i].acct[0]) continue;
        if (build_levels_for(a, a->pr[i].acct, &a->lv[a->nlv]) < 0) {
            orglevels_free(&a->lv[a->nlv]); /* what it allocated before failing */
            return -1;
        }
        a->nlv++;
    }
    return 0;
}

static const orglevels *levels_of(const km_iam_account *a, const char *account) {
    for (size_t i = 0; i < a->nlv; i++)
        if (strcmp(a->lv[i].account, account) == 0) return &a->lv[i];
    return NULL;
}

/* ---- resource policies ------------------------------------------------------------------------ */

static int put_resource_policy(km_iam_account *a, const char *arn, km_iam_policy *p) {
    return np_put(&a->respol, &a->nrespol, &a->caprespol, &a->ix_respol, arn, p);
}

/* ---- files ------------------------------------------------------------------------------------ */

typedef struct fpath {
    char *path;
} fpath;

static int cmp_str(const void *x, const void *y) {
    return strcmp(((const fpath *)x)->path, ((const fpath *)y)->path);
}

static int walk(const char *dir, int depth, fpath **out, size_t *n, size_t *cap, km_iam_account *a) {
    if (depth > KM_FOLDER_MAX_DEPTH) {
        note(a, "%s: nested deeper than %d folders; not read", dir, KM_FOLDER_MAX_DEPTH);
        return 0;
    }
    DIR *d = opendir(dir);
    if (!d) {
        note(a, "%s: cannot open: %s", dir, strerror(errno));
        return 0;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        size_t need = strlen(dir) + strlen(de->d_name) + 2;
        char *p = malloc(need);
        if (!p) {
            closedir(d);
            return -1;
        }
        snprintf(p, need, "%s/%s", dir, de->d_name);
        /* the entry's type from the directory itself (a stat per file was a twentieth of the
         * recoverability analysis of a 180,000-file snapshot); stat only when the file system
         * does not say, or for a symbolic link (followed, as stat does) */
        struct stat st;
        memset(&st, 0, sizeof st);
        if (de->d_type == DT_DIR) st.st_mode = S_IFDIR;
        else if (de->d_type == DT_REG) st.st_mode = S_IFREG;
        else if (stat(p, &st) != 0) {
            free(p);
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            int rc = walk(p, depth + 1, out, n, cap, a);
            free(p);
            if (rc < 0) {
                closedir(d);
                return -1;
            }
        } else if (S_ISREG(st.st_mode) && strlen(de->d_name) > 5 &&
                   strcmp(de->d_name + strlen(de->d_name) - 5, ".json") == 0) {
            if (*n >= WALK_MAX_FILES) {
                free(p);
                note(a, "more than %d files: the rest were not read", WALK_MAX_FILES);
                break;
            }
            if (GROW(*out, *n, *cap) < 0) {
                free(p);
                closedir(d);
                return -1;
            }
            (*out)[(*n)++].path = p;
        } else {
            free(p);
        }
    }
    closedir(d);
    return 0;
}

/* Path parts: .../<account>/<region|global>/<service>/<op>.json or .../<service>/<op>/<key>.json */
typedef struct pinfo {
    char account[32], region[64], service[64], op[96], key[512];
} pinfo;

static int is_acct(const char *s, size_t n) {
    if (n != 12) return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return 0;
    return 1;
}

static void path_info(const char *path, pinfo *pi) {
    memset(pi, 0, sizeof *pi);
    const char *comp[64];
    size_t len[64], nc = 0;
    const char *s = path;
    while (*s && nc < 64) {
        const char *e = strchr(s, '/');
        size_t l = e ? (size_t)(e - s) : strlen(s);
        if (l) {
            comp[nc] = s;
            len[nc] = l;
            nc++;
        }
        if (!e) break;
        s = e + 1;
    }
    if (!nc) return;
    size_t ai = (size_t)-1;
    for (size_t i = 0; i < nc; i++)
        if (is_acct(comp[i], len[i])) ai = i;
    size_t base_len = len[nc - 1] > 5 ? len[nc - 1] - 5 : len[nc - 1];
    if (ai != (size_t)-1 && ai + 3 < nc) {
        snprintf(pi->account, sizeof pi->account, "%.*s", (int)len[ai], comp[ai]);
        snprintf(pi->region, sizeof pi->region, "%.*s", (int)len[ai + 1], comp[ai + 1]);
        snprintf(pi->service, sizeof pi->service, "%.*s", (int)len[ai + 2], comp[ai + 2]);
        if (ai + 4 == nc) {
            snprintf(pi->op, sizeof pi->op, "%.*s", (int)base_len, comp[ai + 3]);
        } else {
            snprintf(pi->op, sizeof pi->op, "%.*s", (int)len[ai + 3], comp[ai + 3]);
            snprintf(pi->key, sizeof pi->key, "%.*s", (int)base_len, comp[nc - 1]);
        }
    } else if (nc >= 2) {
        /* A loose folder: <service>/<op>/<key>.json or <service>.<op>[.x].json file names. */
        snprintf(pi->op, sizeof pi->op, "%.*s", (int)len[nc - 2], comp[nc - 2]);
        snprintf(pi->key, sizeof pi->key, "%.*s", (int)base_len, comp[nc - 1]);
        if (nc >= 3) snprintf(pi->service, sizeof pi->service, "%.*s", (int)len[nc - 3], comp[nc - 3]);
    }
    /* Resource keys are written URL-encoded by collect (ARNs hold '/' and ':'). */
    char *k = pi->key, *w = pi->key;
    while (*k) {
        if (k[0] == '%' && k[1] && k[2]) {
            int h1 = (k[1] >= '0' && k[1] <= '9') ? k[1] - '0' : ((k[1] | 32) >= 'a' && (k[1] | 32) <= 'f') ? (k[1] | 32) - 'a' + 10 : -1;
            int h2 = (k[2] >= '0' && k[2] <= '9') ? k[2] - '0' : ((k[2] | 32) >= 'a' && (k[2] | 32) <= 'f') ? (k[2] | 32) - 'a' + 10 : -1;
            if (h1 >= 0 && h2 >= 0) {
                *w++ = (char)(h1 * 16 + h2);
                k += 3;
                continue;
            }
        }
        *w++ = *k++;
    }
    *w = 0;
}

static int resource_policy_file(km_iam_account *a, const pinfo *pi, const km_json *root, const char *text,
                                size_t len, const char *file) {
    char arn[1200];
    arn[0] = 0;
    const char *acct = pi->account[0] ? pi->account : a->account;
    const char *region = pi->region[0] && strcmp(pi->region, "global") != 0 ? pi->region : "us-east-1";
    const km_json *pv = NULL;
    km_iam_policy_kind kind = KM_IAM_RESOURCE;
    if (strcmp(pi->op, "get-bucket-policy") == 0 && pi->key[0]) {
        snprintf(arn, sizeof arn, "arn:aws:s3:::%s", pi->key);
        pv = km_json_get(root, "Policy");
    } else if (strcmp(pi->op, "get-key-policy") == 0 && pi->key[0]) {
        if (strncmp(pi->key, "arn:", 4) == 0) snprintf(arn, sizeof arn, "%s", pi->key);
        else snprintf(arn, sizeof arn, "arn:aws:kms:%s:%s:key/%s", region, acct, pi->key);
        pv = km_json_get(root, "Policy");
        kind = KM_IAM_KEY;
    } else if (strcmp(pi->op, "get-policy") == 0 && strcmp(pi->service, "lambda") == 0 && pi->key[0]) {
        if (strncmp(pi->key, "arn:", 4) == 0) snprintf(arn, sizeof arn, "%s", pi->key);
        else snprintf(arn, sizeof arn, "arn:aws:lambda:%s:%s:function:%s", region, acct, pi->key);
        pv = km_json_get(root, "Policy");
    } else if (km_json_path(root, "Attributes.Policy")) {
        const char *qa = km_json_get_str(km_json_get(root, "Attributes"), "QueueArn",
                                         km_json_get_str(km_json_get(root, "Attributes"), "TopicArn", NULL));
        if (qa) snprintf(arn, sizeof arn, "%s", qa);
        pv = km_json_path(root, "Attributes.Policy");
    } else if (km_json_get(root, "ResourcePolicy") && km_json_get_str(root, "ARN", NULL)) {
        snprintf(arn, sizeof arn, "%s", km_json_get_str(root, "ARN", ""));
        pv = km_json_get(root, "ResourcePolicy");
    } else if (km_json_get(root, "policyText") && km_json_get_str(root, "repositoryName", NULL)) {
        snprintf(arn, sizeof arn, "arn:aws:ecr:%s:%s:repository/%s", region,
                 km_json_get_str(root, "registryId", acct), km_json_get_str(root, "repositoryName", ""));
        pv = km_json_get(root, "policyText");
    } else if (km_json_get_str(root, "BackupVaultArn", NULL) && km_json_get(root, "Policy")) {
        snprintf(arn, sizeof arn, "%s", km_json_get_str(root, "BackupVaultArn", ""));
        pv = km_json_get(root, "Policy");
    }
    if (!arn[0] || !pv) return 0;
    km_iam_policy *p = doc_policy(a, pv, text, len, kind, arn, file);
    if (!p) return 0;
    a->files_used++;
    if (put_resource_policy(a, arn, p) < 0) return -1;
    named_policy *np = np_lookup(a->respol, &a->ix_respol, arn);
    if (np && pi->account[0]) snprintf(np->account, sizeof np->account, "%s", pi->account);
    return 0;
}

/* Whether a file's text can hold any key load_file reads (below): each branch needs one of
 * these names as an object key, and a key can only hide a name from a text search behind a
 * \u escape. A snapshot folder is mostly answers IAM does not read (most of the 181,670 files
 * of the benchmark's organisation snapshot), and parsing each of them was a quarter of the
 * recoverability analysis. A broken file of that kind is not parsed, so not noted here. */
static int may_concern_iam(const char *text, size_t len) {
    static const char *const names[] = {"olic" /* Policy, Policies, policyText */, "DetailList", "Parents",
                                        "Organization", "Targets", "Error", "\\u"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (memmem(text, len, names[i], strlen(names[i]))) return 1;
    return 0;
}

/* A regular file read whole with one open, fstat and read (stdio's buffering and the growing
 * buffer of km_read_file were a tenth of the recoverability analysis, which reads the 181,670
 * files of the benchmark's snapshot twice), NUL-terminated; NULL on anything unusual, for
 * km_read_file to read it again and say what is wrong in its words. */
static char *read_plain(const char *path, size_t *len) {
    if (km_limit_is_set(KM_LIMIT_FILE)) return NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return NULL;
    struct stat st;
    char *buf = NULL;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= 0 && (uint64_t)st.st_size < FILE_MAX) {
        size_t want = (size_t)st.st_size, got = 0;
        buf = malloc(want + 1);
        while (buf && got < want) {
            ssize_t r = read(fd, buf + got, want - got);
            if (r <= 0) {
                free(buf); /* an error, or the file shrank: the slow path decides */
                buf = NULL;
                break;
            }
            got += (size_t)r;
        }
        char extra;
        if (buf && read(fd, &extra, 1) != 0) { /* it grew, or an error */
            free(buf);
            buf = NULL;
        }
        if (buf) {
            buf[want] = 0;
            *len = want;
        }
    }
    close(fd);
    return buf;
}

/* One file's answer, parsed: what it says about IAM, by its shape and its path (rel). text is
 * the parsed text, for positions in messages, or NULL when the caller has none. Returns 0, or
 * -1 when out of memory. */
static int load_root(km_iam_account *a, const km_json *root, const char *text, size_t len, const char *rel) {
    pinfo pi;
    path_info(rel, &pi);
    int rc = 0;
    if (root && root->type == KM_JSON_OBJECT &&
        (km_json_get(root, "UserDetailList") || km_json_get(root, "RoleDetailList") ||
         km_json_get(root, "GroupDetailList") ||
         (km_json_get(root, "Policies") && km_json_get(km_json_at(km_json_get(root, "Policies"), 0), "PolicyVersionList")))) {
        if (pi.account[0] && !a->account[0]) snprintf(a->account, sizeof a->account, "%s", pi.account);
        rc = load_authz(a, root, text, len, rel);
        a->files_used++;
    } else if (root && km_json_path(root, "Policy.PolicySummary")) {
        rc = load_org_policy(a, root, text, len, rel);
        a->files_used++;
    } else if (root && km_json_get(root, "Parents") && (pi.key[0] || strstr(rel, "list-parents"))) {
        const char *child = pi.key[0] ? pi.key : NULL;
        if (child) rc = load_org_parents(a, root, child), a->files_used++;
    } else if (root && km_json_get(root, "Organization")) {
        snprintf(a->org_master, sizeof a->org_master, "%s",
                 km_json_get_str(km_json_get(root, "Organization"), "MasterAccountId", ""));
        snprintf(a->org_id, sizeof a->org_id, "%s", km_json_get_str(km_json_get(root, "Organization"), "Id", ""));
        a->files_used++;
    } else if (root && km_json_get(root, "Targets") && strcmp(pi.op, "list-targets-for-policy") == 0 && pi.key[0]) {
        const km_json *tg = km_json_get(root, "Targets");
        for (size_t i = 0; i < km_json_len(tg) && rc == 0; i++) {
            const char *tid = km_json_get_str(km_json_at(tg, i), "TargetId", NULL);
            if (tid) rc = attach(a, tid, pi.key, "");
        }
        a->files_used++;
    } else if (root && km_json_get(root, "Error") && km_json_get_str(km_json_get(root, "Error"), "Code", NULL)) {
        if (strstr(rel, "get-account-authorization-details") || strstr(rel, "organizations"))
            note(a, "%s: the call failed: %s: %s", rel, km_json_get_str(km_json_get(root, "Error"), "Code", ""),
                 km_json_get_str(km_json_get(root, "Error"), "Message", ""));
    } else if (root && km_json_get(root, "Policies") && strcmp(pi.op, "list-policies-for-target") == 0 && pi.key[0]) {
        char target[512];
        snprintf(target, sizeof target, "%s", pi.key);
        target[strcspn(target, ".,_ ")] = 0;
        rc = load_org_attach(a, root, target);
        a->files_used++;
    } else if (root && root->type == KM_JSON_OBJECT) {
        rc = resource_policy_file(a, &pi, root, text, len, rel);
    }
    return rc;
}

static int load_file(km_iam_account *a, const char *path, const char *rel) {
    km_error e;
    km_error_clear(&e);
    size_t len;
    char *text = read_plain(path, &len);
    if (!text) text = km_read_file(path, FILE_MAX, &len, &e);
    a->files_seen++;
    if (!text) {
        if (e.code == KM_ENOMEM) return -1; /* harden helper: a failed run, not a skipped file */
        note(a, "%s", e.msg);
        return 0;
    }
    if (!may_concern_iam(text, len)) {
        free(text);
        return 0;
    }
    km_json_opts o = {.max_depth = 256};
    km_json_doc *doc = km_json_parse(text, len, &o, NULL, &e);
    if (!doc) {
        if (e.code == KM_ENOMEM) {
            free(text);
            return -1;
        }
        note(a, "%s: skipped: %s", rel, e.msg);
        free(text);
        return 0;
    }
    int rc = load_root(a, km_json_root(doc), text, len, rel);
    km_json_doc_free(doc);
    free(text);
    return rc;
}

/* ---- resolution ----------------------------------------------------------------------------- */

static const km_iam_policy *managed(km_iam_account *a, const char *arn, const char *who) {
    named_policy *np = np_lookup(a->managed, &a->ix_managed, arn);
    if (np) return np->p;
    /* Note each missing policy once. */
    char mark[700];
    snprintf(mark, sizeof mark, "managed policy %s (attached to %s) is not in the snapshot", arn, who);
    /* ix_noted: the ARNs known to be in the notes already (50,000 roles attaching the same
     * missing policy searched the notes 50,000 times) */
    if (strix_get(&a->ix_noted, arn, strlen(arn)) != STRIX_NONE) return NULL;
    if (!a->notes.data || !strstr(a->notes.data, arn))
        note(a, "%s: it grants nothing here; pass AWS managed policies with --managed-policies", mark);
    if (a->notes.data && !a->notes.failed) strix_add(&a->ix_noted, arn, 0); /* if it fails: searched again */
    return NULL;
}

static int resolve(km_iam_account *a) {
    for (size_t i = 0; i < a->npr; i++) {
        principal *p = &a->pr[i];
        size_t cap = p->ninl + p->attached.n + 1;
        for (size_t g = 0; g < p->groups.n; g++)
            for (size_t k = 0; k < a->ngr; k++)
                if (strcmp(a->gr[k].name, p->groups.v[g]) == 0) cap += a->gr[k].ninl + a->gr[k].attached.n;
        free(p->identity);
        p->identity = calloc(cap, sizeof *p->identity);
        if (!p->identity) return -1;
        p->n_identity = 0;
        for (size_t k = 0; k < p->ninl; k++) p->identity[p->n_identity++] = p->inl[k];
        for (size_t k = 0; k < p->attached.n; k++) {
            const km_iam_policy *m = managed(a, p->attached.v[k], p->arn);
            if (m) p->identity[p->n_identity++] = m;
        }
        for (size_t g = 0; g < p->groups.n; g++) {
            int found = 0;
            for (size_t k = 0; k < a->ngr; k++) {
                group *gr = &a->gr[k];
                if (strcmp(gr->name, p->groups.v[g]) != 0) continue;
                found = 1;
                for (size_t q = 0; q < gr->ninl; q++) p->identity[p->n_identity++] = gr->inl[q];
                for (size_t q = 0; q < gr->attached.n; q++) {
                    const km_iam_policy *m = managed(a, gr->attached.v[q], gr->name);
                    if (m) p->identity[p->n_identity++] = m;
                }
            }
            if (!found) note(a, "%s is in group %s, which the snapshot does not describe", p->arn, p->groups.v[g]);
        }
        p->boundary = NULL;
        p->boundary_missing = 0;
        if (p->boundary_arn) {
            named_policy *np = np_lookup(a->managed, &a->ix_managed, p->boundary_arn);
            if (np) p->boundary = np->p;
            else {
                p->boundary_missing = 1;
                note(a, "permissions boundary %s of %s is not in the snapshot: %s is evaluated without it "
                     "(which can only over-report what it can do)", p->boundary_arn, p->arn, p->name);
            }
        }
    }
    return build_levels(a);
}

static int cmp_principal(const void *x, const void *y) {
    return strcmp(((const principal *)x)->arn, ((const principal *)y)->arn);
}

km_iam_account *km_iam_account_new(km_error *err) {
    km_iam_account *a = calloc(1, sizeof *a);
    if (!a) {
        km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
        return NULL;
    }
    km_buf_init(&a->notes, 1u << 20);
    a->full_access = km_iam_policy_parse(full_access_doc, sizeof full_access_doc - 1, KM_IAM_SCP,
                                         "FullAWSAccess (p-FullAWSAccess)", NULL);
    a->admin = km_iam_policy_parse(full_access_doc, sizeof full_access_doc - 1, KM_IAM_IDENTITY,
                                   "AdministratorAccess (probe)", NULL);
    a->granted = km_iam_policy_parse(full_access_doc, sizeof full_access_doc - 1, KM_IAM_IDENTITY,
                                     "a policy it attaches (allows everything)", NULL);
    return a;
}

/* The top-level keys load_root branches on: an answer with none of them says nothing to IAM.
 * The audit's snapshot hands over every answer it parsed (181,670 in the benchmark's
 * organisation), nearly all of them of that kind. */
static int says_iam(const km_json *root) {
    static const char *const keys[] = {"UserDetailList", "RoleDetailList", "GroupDetailList", "Policies", "Policy",
                                       "Parents", "Organization", "Targets", "Error", "Attributes",
                                       "ResourcePolicy", "policyText", "BackupVaultArn"};
    if (!root || root->type != KM_JSON_OBJECT) return 0;
    for (size_t i = 0; i < root->u.obj.n; i++)
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
            if (!strcmp(root->u.obj.members[i].key, keys[k])) return 1;
    return 0;
}

int km_iam_account_add_answer(km_iam_account *a, const char *rel, const km_json *root) {
    if (!a || !rel) return KM_ERR;
    size_t depth = 0; /* the folder walk reads files at most KM_FOLDER_MAX_DEPTH folders down */
    for (const char *c = rel; *c; c++) depth += *c == '/';
    if (depth > KM_FOLDER_MAX_DEPTH) return KM_OK;
    a->files_seen++;
    if (!says_iam(root)) return KM_OK;
    return load_root(a, root, NULL, 0, rel) < 0 ? KM_ENOMEM : KM_OK;
}

static km_iam_account *finish_load(km_iam_account *a, const char *path, int is_dir, km_error *err);

km_iam_account *km_iam_account_finish(km_iam_account *a, const char *path, km_error *err) {
    if (!a) return NULL;
    return finish_load(a, path ? path : "(snapshot)", 1, err);
}

km_iam_account *km_iam_account_load(const char *path, km_error *err) {
    km_iam_account *a = km_iam_account_new(err);
    if (!a) return NULL;
    struct stat st;
    if (!path || stat(path, &st) != 0) {
        km_error_set(err, KM_ERR, (size_t)-1, "%s: %s", path ? path : "(null)", path ? strerror(errno) : "no path");
        km_iam_account_free(a);
        return NULL;
    }
    if (S_ISDIR(st.st_mode)) {
        fpath *files = NULL;
        size_t n = 0, cap = 0;
        if (walk(path, 0, &files, &n, &cap, a) < 0) {
            for (size_t i = 0; i < n; i++) free(files[i].path);
            free(files);
            km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory while listing %s", path);
            km_iam_account_free(a);
            return NULL;
        }
        if (n) qsort(files, n, sizeof *files, cmp_str);
        size_t plen = strlen(path);
        int rc = 0;
        for (size_t i = 0; i < n && rc == 0; i++) {
            const char *rel = files[i].path + plen;
            while (*rel == '/') rel++;
            rc = load_file(a, files[i].path, rel);
        }
        for (size_t i = 0; i < n; i++) free(files[i].path);
        free(files);
        if (rc < 0) {
            km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory while loading %s", path);
            km_iam_account_free(a);
            return NULL;
        }
    } else {
        if (load_file(a, path, path) < 0) {
            km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory while loading %s", path);
            km_iam_account_free(a);
            return NULL;
        }
    }
    return finish_load(a, path, S_ISDIR(st.st_mode), err);
}

/* What is left once every file is in: the summary note, the principals sorted and their
 * policies resolved. Frees a and returns NULL on error. */
static km_iam_account *finish_load(km_iam_account *a, const char *path, int is_dir, km_error *err) {
    if (is_dir)
        note(a, "%s: %zu JSON files read, %zu used for IAM (the rest concern other checks)", path, a->files_seen,
             a->files_used);
    if (a->npr == 0 && !a->oom) {
        char first[300] = "";
        if (a->notes.data) snprintf(first, sizeof first, " (%.*s)", (int)strcspn(a->notes.data, "\n"), a->notes.data);
        km_error_set(err, KM_ERR, (size_t)-1, "%s: no users or roles found: expected the output of "
                     "`aws iam get-account-authorization-details`%s", path, first);
        km_iam_account_free(a);
        return NULL;
    }
    if (a->npr > 1) qsort(a->pr, a->npr, sizeof *a->pr, cmp_principal);
    strix_free(&a->ix_pr); /* find_principal searches the sorted array */
    if (resolve(a) < 0 || a->oom || !a->full_access || !a->admin) {
        km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory while loading %s", path);
        km_iam_account_free(a);
        return NULL;
    }
    return a;
}

void km_iam_account_free(km_iam_account *a) {
    if (!a) return;
    for (size_t i = 0; i < a->npr; i++) {
        principal *p = &a->pr[i];
        free(p->arn);
        free(p->name);
        free(p->id);
        for (size_t k = 0; k < p->ninl; k++) km_iam_policy_free(p->inl[k]);
        free(p->inl);
        sl_free(&p->attached);
        sl_free(&p->groups);
        sl_free(&p->tag_k);
        sl_free(&p->tag_v);
        free(p->boundary_arn);
        km_iam_policy_free(p->trust);
        free(p->identity);
    }
    free(a->pr);
    for (size_t i = 0; i < a->ngr; i++) {
        free(a->gr[i].name);
        for (size_t k = 0; k < a->gr[i].ninl; k++) km_iam_policy_free(a->gr[i].inl[k]);
        free(a->gr[i].inl);
        sl_free(&a->gr[i].attached);
    }
    free(a->gr);
    named_policy *lists[3] = {a->managed, a->orgpol, a->respol};
    size_t ns[3] = {a->nmanaged, a->norgpol, a->nrespol};
    for (int l = 0; l < 3; l++) {
        for (size_t i = 0; i < ns[l]; i++) {
            free(lists[l][i].key);
            km_iam_policy_free(lists[l][i].p);
        }
        free(lists[l]);
    }
    for (size_t i = 0; i < a->nlinks; i++) {
        free(a->links[i].child);
        free(a->links[i].parent);
    }
    free(a->links);
    for (size_t i = 0; i < a->natt; i++) {
        free(a->att[i].target);
        sl_free(&a->att[i].ids);
        sl_free(&a->att[i].types);
    }
    free(a->att);
    for (size_t i = 0; i < a->nlv; i++) orglevels_free(&a->lv[i]);
    free(a->lv);
    km_iam_policy_free(a->full_access);
    km_iam_policy_free(a->admin);
    km_iam_policy_free(a->granted);
    km_buf_free(&a->notes);
    sl_free(&a->own_arn);
    sl_free(&a->own_acct);
    strix_free(&a->ix_managed);
    strix_free(&a->ix_orgpol);
    strix_free(&a->ix_respol);
    strix_free(&a->ix_pr);
    strix_free(&a->ix_own);
    strix_free(&a->ix_noted);
    free(a);
}

int km_iam_account_set_resource_account(km_iam_account *a, const char *resource_arn, const char *account,
                                        km_error *err) {
    if (!a || !resource_arn || !account || !*account) return km_error_set(err, KM_ERR, (size_t)-1, "missing argument");
    if (sl_push(&a->own_arn, resource_arn) < 0 || sl_push(&a->own_acct, account) < 0 ||
        strix_add(&a->ix_own, a->own_arn.v[a->own_arn.n - 1], a->own_arn.n - 1) < 0)
        return km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
    return KM_OK;
}

/* The account the caller said owns res (the ARN itself, or an object or pattern below it). */
static const char *declared_owner(const km_iam_account *a, const char *res) {
    /* The first declaration (in the order given) that is res or a prefix of it ending before a
     * '/': each such prefix is looked up, the earliest declaration wins. */
    size_t best = STRIX_NONE;
    for (size_t l = 0;; l++) {
        if (res[l] == '/' || res[l] == 0) {
            size_t i = strix_get(&a->ix_own, res, l);
            if (i != STRIX_NONE && i < a->own_acct.n && (best == STRIX_NONE || i < best)) best = i;
        }
        if (!res[l]) break;
    }
    return best == STRIX_NONE ? NULL : a->own_acct.v[best];
}

int km_iam_account_add_resource_policy(km_iam_account *a, const char *resource_arn, const char *text,
                                       size_t len, const char *label, km_error *err) {
    if (!a || !resource_arn) return km_error_set(err, KM_ERR, (size_t)-1, "no account or resource");
    int is_key = strncmp(resource_arn, "arn:aws:kms:", 12) == 0;
    km_iam_policy *p = km_iam_policy_parse_document(text, len, is_key ? KM_IAM_KEY : KM_IAM_RESOURCE,
                                                    label ? label : resource_arn, err);
    if (!p) return err ? err->code : KM_ERR;
    char key[1200];
    snprintf(key, sizeof key, "%s", resource_arn);
    /* A policy given for an S3 object applies through its bucket. */
    if (strncmp(key, "arn:aws:s3:::", 13) == 0) key[13 + strcspn(key + 13, "/")] = 0;
    if (put_resource_policy(a, key, p) < 0) return km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
    return KM_OK;
}

static int add_managed_doc(km_iam_account *a, const char *arn, const km_json *doc, const char *text, size_t len,
                           const char *name, const char *file) {
    if (np_lookup(a->managed, &a->ix_managed, arn)) return 0; /* the snapshot's own copy wins */
    km_iam_policy *p = doc_policy(a, doc, text, len, KM_IAM_IDENTITY, name, file);
    if (!p) return 0;
    return np_put(&a->managed, &a->nmanaged, &a->capmanaged, &a->ix_managed, arn, p);
}

int km_iam_account_add_managed_policies(km_iam_account *a, const char *path, km_error *err) {
    size_t len;
    char *text = km_read_file(path, FILE_MAX, &len, err);
    if (!text) return err ? err->code : KM_ERR;
    size_t before = a->nmanaged;
    int rc = 0;
    size_t pos = 0;
    /* JSON lines of {"arn", "name", "document"}, or one authorization-details document. */
    km_error we;
    km_error_clear(&we);
    km_json_doc *whole = km_json_parse(text, len, NULL, NULL, &we);
    if (!whole && we.code == KM_ENOMEM) rc = -1; /* not "JSON lines, then" */
    if (whole && km_json_get(km_json_root(whole), "Policies")) {
        const km_json *pols = km_json_get(km_json_root(whole), "Policies");
        for (size_t i = 0; i < km_json_len(pols) && rc == 0; i++) {
            const km_json *p = km_json_at(pols, i);
            const char *arn = km_json_get_str(p, "Arn", NULL);
            const km_json *vers = km_json_get(p, "PolicyVersionList");
            for (size_t v = 0; arn && v < km_json_len(vers); v++) {
                const km_json *isdef = km_json_get(km_json_at(vers, v), "IsDefaultVersion");
                if (isdef && isdef->type == KM_JSON_TRUE)
                    rc = add_managed_doc(a, arn, km_json_get(km_json_at(vers, v), "Document"), text, len,
                                         km_json_get_str(p, "PolicyName", arn), path);
            }
        }
    } else {
        size_t lineno = 0;
        while (pos < len && rc == 0) {
            size_t end = pos;
            while (end < len && text[end] != '\n') end++;
            lineno++;
            if (end > pos) {
                km_error e;
                km_error_clear(&e);
                km_json_doc *d = km_json_parse(text + pos, end - pos, NULL, NULL, &e);
                if (!d && e.code == KM_ENOMEM) {
                    rc = -1;
                } else if (!d) {
                    note(a, "%s line %zu: skipped: %s", path, lineno, e.msg);
                } else {
                    const km_json *r = km_json_root(d);
                    const char *arn = km_json_get_str(r, "arn", km_json_get_str(r, "Arn", NULL));
                    const km_json *doc = km_json_get(r, "document");
                    if (arn && doc) rc = add_managed_doc(a, arn, doc, text + pos, end - pos,
                                                         km_json_get_str(r, "name", arn), path);
                    km_json_doc_free(d);
                }
            }
            pos = end + 1;
        }
    }
    km_json_doc_free(whole);
    free(text);
    if (rc < 0) return km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
    note(a, "%s: %zu managed policies added", path, a->nmanaged - before);
    /* Notes about missing policies are stale now: rebuild them. */
    if (a->notes.data) {
        km_buf keep;
        km_buf_init(&keep, 1u << 20);
        const char *s = a->notes.data;
        while (*s) {
            const char *e = strchr(s, '\n');
            size_t l = e ? (size_t)(e - s) + 1 : strlen(s);
            if (!(l > 15 && strncmp(s, "managed policy ", 15) == 0)) km_buf_append(&keep, s, l);
            s += l;
        }
        km_buf_free(&a->notes);
        a->notes = keep;
        strix_free(&a->ix_noted);
        if (keep.failed == KM_BUF_NOMEM) a->oom = 1;
    }
    if (resolve(a) < 0 || a->oom) return km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
    return KM_OK;
}

void km_iam_account_notes(const km_iam_account *a, km_buf *out) {
    if (a && a->notes.data) km_buf_append(out, a->notes.data, a->notes.len);
}

size_t km_iam_account_principal_count(const km_iam_account *a) { return a ? a->npr : 0; }

int km_iam_account_has_managed_policy(const km_iam_account *a, const char *arn) {
    return a && arn && np_lookup(a->managed, &a->ix_managed, arn) != NULL;
}
const char *km_iam_account_principal(const km_iam_account *a, size_t i) {
    return a && i < a->npr ? a->pr[i].arn : NULL;
}
const char *km_iam_account_id(const km_iam_account *a) { return a ? a->account : ""; }

/* ---- questions ------------------------------------------------------------------------------ */

static const named_policy *find_resource_policy(const km_iam_account *a, const char *resource) {
    if (!resource) return NULL;
    size_t i = strix_get(&a->ix_respol, resource, strlen(resource));
    if (i != STRIX_NONE) return &a->respol[i];
    if (strncmp(resource, "arn:aws:s3:::", 13) == 0) {
        size_t bl = strcspn(resource + 13, "/");
        i = strix_get(&a->ix_respol, resource, 13 + bl);
        if (i != STRIX_NONE) return &a->respol[i];
    }
    /* a key policy stored under the key id while asked by ARN, or the reverse */
    const char *kid = strstr(resource, ":key/");
    if (kid) {
        for (size_t k = 0; k < a->nrespol; k++) {
            const char *k2 = strstr(a->respol[k].key, ":key/");
            if (k2 && strcmp(k2, kid) == 0) return &a->respol[k];
        }
    }
    return NULL;
}

static const principal *find_principal(const km_iam_account *a, const char *arn) {
    /* a->pr is sorted by ARN (cmp_principal) and holds each ARN once */
    size_t lo = 0, hi = a->npr;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(a->pr[mid].arn, arn);
        if (c == 0) return &a->pr[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

/* Whether a role's trust policy lets anyone assume it without MFA: some Allow for
 * sts:AssumeRole* whose MFA conditions hold for a session without MFA, and no Deny whose only
 * conditions are MFA conditions that hold for it. Conditions on other keys are assumed to be
 * satisfiable by an attacker (who chooses where to call from). */
static int trust_needs_mfa(const principal *p) {
    if (!p->trust) return 0;
    km_iam_context *c = km_iam_context_new();
    if (!c) return 0;
    km_iam_context_set(c, "aws:MultiFactorAuthPresent", "false");
    iam_scratch scr;
    iam_scratch_init(&scr);
    int allow_path = 0, hard_deny = 0;
    for (size_t i = 0; i < p->trust->nst; i++) {
        const iam_stmt *st = &p->trust->st[i];
        int assume = 0;
        for (size_t k = 0; k < st->nact; k++) {
            const iam_action *ac = &st->act[k];
            static const char *assume_acts[] = {"AssumeRole", "AssumeRoleWithSAML", "AssumeRoleWithWebIdentity"};
            int m = ac->all;
            for (int q = 0; q < 3 && !m; q++)
                m = !ac->invalid && iam_ieq(ac->svc, ac->svc_len, "sts", 3) &&
                    iam_glob(ac->name, NULL, ac->name_len, assume_acts[q], strlen(assume_acts[q]), 1);
            if (m) assume = 1;
        }
        if (st->not_action) assume = !assume;
        if (!assume) continue;
        int mfa_ok = 1, only_mfa = 1;
        for (size_t q = 0; q < st->ncond; q++) {
            const iam_cond *cd = &st->cond[q];
            int is_mfa = iam_ieq(cd->key, cd->key_len, "aws:MultiFactorAuthPresent", 26) ||
                         iam_ieq(cd->key, cd->key_len, "aws:MultiFactorAuthAge", 22);
            if (!is_mfa) {
                only_mfa = 0;
                continue;
            }
            iam_cond_result r;
            if (iam_cond_eval(cd, c, p->trust->vars, &scr, &r) < 0 || !r.match) mfa_ok = 0;
        }
        if (st->deny && mfa_ok && only_mfa && st->ncond) hard_deny = 1;
        if (!st->deny && mfa_ok) allow_path = 1;
    }
    iam_scratch_free(&scr);
    km_iam_context_free(c);
    return !allow_path || hard_deny;
}

/* Whether the trust policy lets IAM users or roles (an AWS principal: account, ARN or "*")
 * assume the role. */
static int trust_allows_aws_principals(const principal *p) {
    if (!p->trust) return 0;
    for (size_t i = 0; i < p->trust->nst; i++) {
        const iam_stmt *st = &p->trust->st[i];
        if (st->deny || !st->has_principal) continue;
        if (st->not_principal) return 1;
        for (size_t k = 0; k < st->npr; k++) {
            int t = st->pr[k].type;
            if (t == PR_WILDCARD || t == PR_ACCOUNT || t == PR_ARN) return 1;
        }
    }
    return 0;
}

typedef struct cred_try {
    const char *label;
    int session;      /* principal is a session (assumed-role) or the user itself */
    const char *mfa;  /* NULL: key absent; "true"/"false" */
} cred_try;

/* The context keys the credentials carry. now_iso/now_epoch are computed once per question. */
static int build_context(const km_iam_account *a, const principal *p, const cred_try *t, const char *region,
                         const char *resource_account, const char *now_iso, const char *now_epoch,
                         km_iam_context *c) {
    int rc = 0;
    char buf[1200];
    rc |= iam_ctx_append(c, "aws:PrincipalArn", p->arn);
    if (p->acct[0]) rc |= iam_ctx_append(c, "aws:PrincipalAccount", p->acct);
    if (a->org_id[0]) rc |= iam_ctx_append(c, "aws:PrincipalOrgID", a->org_id);
    rc |= iam_ctx_append(c, "aws:PrincipalType", p->role ? "AssumedRole" : "User");
    if (p->role) {
        snprintf(buf, sizeof buf, "%s:kumomori", p->id);
        rc |= iam_ctx_append(c, "aws:userid", buf);
    } else {
        rc |= iam_ctx_append(c, "aws:userid", p->id);
        rc |= iam_ctx_append(c, "aws:username", p->name);
    }
    for (size_t i = 0; i < p->tag_k.n; i++) {
        snprintf(buf, sizeof buf, "aws:PrincipalTag/%s", p->tag_k.v[i]);
        rc |= km_iam_context_set(c, buf, p->tag_v.v[i]); /* tag keys may repeat in case */
    }
    rc |= iam_ctx_append(c, "aws:SecureTransport", "true");
    rc |= iam_ctx_append(c, "aws:ViaAWSService", "false");
    rc |= iam_ctx_append(c, "aws:PrincipalIsAWSService", "false");
    rc |= iam_ctx_append(c, "aws:RequestedRegion", region);
    if (resource_account && *resource_account) rc |= iam_ctx_append(c, "aws:ResourceAccount", resource_account);
    rc |= iam_ctx_append(c, "aws:CurrentTime", now_iso);
    rc |= iam_ctx_append(c, "aws:EpochTime", now_epoch);
    if (t->mfa) {
        rc |= iam_ctx_append(c, "aws:MultiFactorAuthPresent", t->mfa);
        if (strcmp(t->mfa, "true") == 0) rc |= iam_ctx_append(c, "aws:MultiFactorAuthAge", "60");
        if (t->session && !p->role) rc |= iam_ctx_append(c, "aws:TokenIssueTime", now_iso);
    }
    return rc ? -1 : 0;
}

static void why_from_explain(const km_iam_explain *ex, km_buf *why, int want_deny) {
    size_t n = km_iam_explain_applied_count(ex);
    for (size_t i = 0; i < n; i++) {
        km_iam_statement_ref r;
        if (km_iam_explain_applied(ex, i, &r) < 0) continue;
        if (r.deny != want_deny) continue;
        if (!want_deny && (r.kind == KM_IAM_SCP || r.kind == KM_IAM_RCP || r.kind == KM_IAM_BOUNDARY)) continue;
        char line[700];
        snprintf(line, sizeof line, "%s policy %s statement %zu%s%s%s\n", km_iam_kind_name(r.kind), r.policy,
                 r.index, r.sid ? " (Sid " : "", r.sid ? r.sid : "", r.sid ? ")" : "");
        /* the same managed policy reached twice (attached and through a group) is listed once */
        if (why->data && strstr(why->data, line)) continue;
        km_buf_puts(why, line);
    }
}

static void ignored_conditions(const km_iam_explain *ex, km_buf *why) {
    for (size_t i = 0; i < ex->nxs; i++) {
        const iam_xstmt *x = &ex->xs[i];
        for (size_t k = 0; k < x->nxc; k++) {
            if (!x->xc[k].ignored) continue;
            km_buf_printf(why, "if %s %s %s holds (%s policy %s statement %zu)\n", x->xc[k].op, x->xc[k].key,
                          x->xc[k].pvals, km_iam_kind_name(x->kind), x->pol_name, x->index);
        }
    }
}

static int policy_has_conditions(const km_iam_policy *p) {
    if (!p) return 0;
    for (size_t i = 0; i < p->nst; i++)
        if (p->st[i].ncond) return 1;
    return 0;
}

static int input_has_conditions(const km_iam_input *in) {
    for (size_t i = 0; i < in->n_identity; i++)
        if (policy_has_conditions(in->identity[i])) return 1;
    for (size_t i = 0; i < in->n_boundary; i++)
        if (policy_has_conditions(in->boundary[i])) return 1;
    if (policy_has_conditions(in->resource)) return 1;
    for (size_t l = 0; l < in->n_scp; l++)
        for (size_t i = 0; i < in->scp[l].n; i++)
            if (policy_has_conditions(in->scp[l].policies[i])) return 1;
    for (size_t l = 0; l < in->n_rcp; l++)
        for (size_t i = 0; i < in->rcp[l].n; i++)
            if (policy_has_conditions(in->rcp[l].policies[i])) return 1;
    return 0;
}

static int ask(const km_iam_account *a, const principal *p, const char *action, const char *resource,
               km_iam_creds creds, km_iam_answer *out, km_iam_explain *ex, int quick, km_error *err) {
    memset(out, 0, sizeof *out);
    km_buf_init(&out->why, 1u << 20);
    out->principal = p->arn;
    out->kind = p->role ? "role" : "user";
    out->decision = KM_IAM_IMPLICIT_DENY;
    const char *res = resource && *resource ? resource : "*";

    cred_try tries[3];
    size_t nt = 0;
    if (!p->role) {
        if (creds != KM_IAM_CREDS_MFA) {
            tries[nt++] = (cred_try){"access key", 0, NULL};
            tries[nt++] = (cred_try){"session without MFA", 1, "false"};
        }
        if (creds != KM_IAM_CREDS_NO_MFA) tries[nt++] = (cred_try){"session with MFA", 1, "true"};
    } else {
        int gated = trust_needs_mfa(p);
        if (creds != KM_IAM_CREDS_MFA && !gated) tries[nt++] = (cred_try){"role session without MFA", 1, "false"};
        if (creds == KM_IAM_CREDS_NO_MFA && gated) {
            km_buf_puts(&out->why, "its trust policy requires MFA to assume it\n");
            out->credential = "role session (MFA required to assume)";
            return KM_OK;
        }
        /* Sessions can carry MFA only when users or roles (AWS principals) may assume the role;
         * a role only services or identity federation assume never has aws:MultiFactorAuthPresent
         * true. */
        if (creds != KM_IAM_CREDS_NO_MFA && trust_allows_aws_principals(p))
            tries[nt++] = (cred_try){"role session with MFA", 1, "true"};
        if (!nt) {
            km_buf_puts(&out->why, "its sessions cannot carry MFA: only AWS services or federation may assume it\n");
            out->credential = "role session with MFA (impossible)";
            return KM_OK;
        }
    }

    /* Principal the request carries: the user, or a session of the role. */
    char session[1200];
    const char *req_principal = p->arn;
    if (p->role) {
        iam_arn x;
        iam_arn_split(p->arn, strlen(p->arn), &x);
        snprintf(session, sizeof session, "arn:%.*s:sts::%.*s:assumed-role/%s/kumomori-session", (int)x.len[1],
                 x.seg[1], (int)x.len[4], x.seg[4], p->name);
        req_principal = session;
    }
    const named_policy *rnp = find_resource_policy(a, res);
    const km_iam_policy *rp = rnp ? rnp->p : NULL;
    /* The resource's account: from its ARN; for ARNs that name none (S3), the account whose
     * snapshot folder held its policy, else the snapshot's account; "any resource" is looked for
     * in the principal's own account. */
    char racct[32] = "";
    iam_arn ra;
    int rk = iam_arn_split(res, strlen(res), &ra);
    if (rk == 6 && ra.len[4] && ra.len[4] < sizeof racct) snprintf(racct, sizeof racct, "%.*s", (int)ra.len[4], ra.seg[4]);
    else if (rnp && rnp->account[0]) snprintf(racct, sizeof racct, "%s", rnp->account);
    else if (declared_owner(a, res)) snprintf(racct, sizeof racct, "%s", declared_owner(a, res));
    else if (strcmp(res, "*") == 0 && p->acct[0]) snprintf(racct, sizeof racct, "%s", p->acct);
    else snprintf(racct, sizeof racct, "%s", a->account);
    char region[64] = "us-east-1";
    if (rk == 6 && ra.len[3] && ra.len[3] < sizeof region && !memchr(ra.seg[3], '*', ra.len[3]))
        snprintf(region, sizeof region, "%.*s", (int)ra.len[3], ra.seg[3]);

    if (!rp && !p->no_trust && iam_istarts(action, strlen(action), "sts:AssumeRole")) {
        const principal *target = find_principal(a, res);
        if (target) rp = target->trust;
    }
    const km_iam_policy *bound = p->boundary;
    km_iam_input in;
    memset(&in, 0, sizeof in);
    in.identity = p->identity;
    in.n_identity = p->n_identity;
    in.boundary = bound ? &bound : NULL;
    in.n_boundary = bound ? 1 : 0;
    in.resource = rp;
    const orglevels *pl = levels_of(a, p->acct), *rl = levels_of(a, racct);
    if (pl) {
        in.scp = pl->scp;
        in.n_scp = pl->n_scp;
    }
    if (rl) {
        in.rcp = rl->rcp;
        in.n_rcp = rl->n_rcp;
    }

    static const char *known_keys[] = {"aws:PrincipalArn", "aws:PrincipalAccount", "aws:PrincipalOrgID",
        "aws:PrincipalType", "aws:userid", "aws:username", "/^aws:PrincipalTag\\//", "aws:SecureTransport",
        "aws:ViaAWSService", "aws:PrincipalIsAWSService", "aws:RequestedRegion", "aws:ResourceAccount",
        "aws:CurrentTime", "aws:EpochTime", "aws:MultiFactorAuthPresent", "aws:MultiFactorAuthAge",
        "aws:TokenIssueTime"};
    km_iam_key_knowledge kn[sizeof known_keys / sizeof known_keys[0]];
    for (size_t i = 0; i < sizeof kn / sizeof kn[0]; i++) kn[i] = (km_iam_key_knowledge){known_keys[i], 1, 1};

    /* Strict: the first credential type decides unless another one is allowed. Then, if still
     * denied and some policy in play has conditions: discovery (could it be allowed if the keys
     * kumomori cannot know, such as the source IP, VPC or tags, went the caller's way?).
     * Evaluations run without an explanation first; the explanation is made only for the answer
     * that is reported (quick: who-can reports only principals that can). */
    char now_iso[32], now_epoch[32];
    time_t now = time(NULL);
    struct tm tmv;
    gmtime_r(&now, &tmv);
    strftime(now_iso, sizeof now_iso, "%Y-%m-%dT%H:%M:%SZ", &tmv);
    snprintf(now_epoch, sizeof now_epoch, "%lld", (long long)now);
    km_iam_context *ctxs[3] = {NULL, NULL, NULL};
    for (size_t t = 0; t < nt; t++) {
        ctxs[t] = km_iam_context_new();
        if (!ctxs[t] || build_context(a, p, &tries[t], region, racct, now_iso, now_epoch, ctxs[t]) < 0) {
            for (size_t k = 0; k <= t; k++) km_iam_context_free(ctxs[k]);
            return km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
        }
    }
    int any_cond = input_has_conditions(&in);
    int first = KM_IAM_IMPLICIT_DENY, allowed = -1, rc = KM_OK;
    for (int pass = 0; pass < 2 && allowed < 0 && rc == KM_OK; pass++) {
        if (pass == 1 && !any_cond) break;
        km_iam_options o;
        memset(&o, 0, sizeof o);
        o.expand_wildcards = 1;
        if (pass == 1) {
            o.mode = KM_IAM_DISCOVERY;
            o.knowledge = kn;
            o.n_knowledge = sizeof kn / sizeof kn[0];
        }
        for (size_t t = 0; t < nt; t++) {
            const char *rq_principal = tries[t].session || p->role ? req_principal : p->arn;
            km_iam_request rq = {rq_principal, action, res, racct[0] ? racct : NULL, ctxs[t]};
            /* quick (who-can): no explanation unless the answer is reported */
            km_iam_explain *x = quick ? NULL : ex;
            int d = km_iam_evaluate(&in, &rq, &o, x, err);
            if (d < 0) {
                rc = err ? err->code : KM_ERR;
                break;
            }
            if (pass == 0 && t == 0) {
                first = d;
                out->credential = tries[t].label;
                if (x) why_from_explain(ex, &out->why, d == KM_IAM_EXPLICIT_DENY);
            }
            if (d == KM_IAM_ALLOWED) {
                allowed = (int)t;
                out->credential = tries[t].label;
                km_buf_reset(&out->why);
                if (!x && km_iam_evaluate(&in, &rq, &o, ex, err) < 0) { /* an answer without its why */
                    rc = err ? err->code : KM_ERR;
                    break;
                }
                why_from_explain(ex, &out->why, 0);
                if (pass == 1) ignored_conditions(ex, &out->why);
                if (pass == 1) out->conditional = 1;
                break;
            }
        }
        if (pass == 0 && allowed >= 0) first = KM_IAM_ALLOWED;
    }
    for (size_t t = 0; t < nt; t++) km_iam_context_free(ctxs[t]);
    if (rc != KM_OK) return rc;
    int best = first;
    out->decision = (km_iam_decision)best;
    if (!rp && best != KM_IAM_ALLOWED && (iam_istarts(action, strlen(action), "kms:") && strstr(res, ":key/")))
        km_buf_puts(&out->why, "note: no key policy for this key in the snapshot; KMS requires the key policy "
                               "to allow (pass it with --resource-policy)\n");
    if (p->boundary_missing) km_buf_puts(&out->why, "note: its permissions boundary is missing from the snapshot\n");
    if (out->why.failed == KM_BUF_NOMEM) return km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
    return KM_OK;
}

int km_iam_account_can(const km_iam_account *a, const char *principal_arn, const char *action,
                       const char *resource, km_iam_creds creds, km_iam_answer *out, km_error *err) {
    if (!a || !principal_arn || !action || !out) return km_error_set(err, KM_ERR, (size_t)-1, "missing argument");
    const principal *p = find_principal(a, principal_arn);
    if (!p) return km_error_set(err, KM_ERR, (size_t)-1, "%s is not a user or role of the snapshot", principal_arn);
    km_iam_explain *ex = km_iam_explain_new();
    if (!ex) return km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
    int rc = ask(a, p, action, resource, creds, out, ex, 0, err);
    km_iam_explain_free(ex);
    return rc;
}

int km_iam_account_guardrails(const km_iam_account *a, const char *account, const char *action,
                              const char *resource, km_iam_creds creds, km_iam_answer *out, km_error *err) {
    if (!a || !action || !out) return km_error_set(err, KM_ERR, (size_t)-1, "missing argument");
    if (!account || !*account) account = a->account;
    if (!a->admin) return km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
    principal probe;
    memset(&probe, 0, sizeof probe);
    char arn[128];
    snprintf(arn, sizeof arn, "arn:aws:iam::%s:user/kumomori-guardrail-probe", account);
    probe.arn = arn;
    probe.name = "kumomori-guardrail-probe";
    probe.id = "AIDAKUMOMORIPROBE";
    snprintf(probe.acct, sizeof probe.acct, "%s", account);
    const km_iam_policy *ids[1] = {a->admin};
    probe.identity = ids;
    probe.n_identity = 1;
    km_iam_explain *ex = km_iam_explain_new();
    if (!ex) return km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
    int rc = ask(a, &probe, action, resource, creds, out, ex, 0, err);
    km_iam_explain_free(ex);
    out->principal = "(a user of the account allowed everything by its own policies)";
    return rc;
}

int km_iam_account_can_granted(const km_iam_account *a, const char *principal_arn, const km_iam_grant *g,
                               const char *action, const char *resource, km_iam_creds creds, km_iam_answer *out,
                               km_error *err) {
    if (!g) return km_iam_account_can(a, principal_arn, action, resource, creds, out, err);
    if (!a || !principal_arn || !action || !out) return km_error_set(err, KM_ERR, (size_t)-1, "missing argument");
    const principal *p = find_principal(a, principal_arn);
    if (!p) return km_error_set(err, KM_ERR, (size_t)-1, "%s is not a user or role of the snapshot", principal_arn);
    if (g->admin && !a->granted) return km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
    const group *gr = NULL;
    if (g->group) {
        for (size_t k = 0; k < a->ngr && !gr; k++)
            if (strcmp(a->gr[k].name, g->group) == 0) gr = &a->gr[k];
        if (!gr) return km_error_set(err, KM_ERR, (size_t)-1, "group %s is not in the snapshot", g->group);
    }
    /* a copy of the principal whose identity policies are its own plus the granted ones; its
     * boundary, trust policy and organisation levels stay (they limit what any grant gives) */
    size_t n = p->n_identity + (g->admin ? 1 : 0) + (gr ? gr->ninl + gr->attached.n : 0);
    const km_iam_policy **ids = calloc(n ? n : 1, sizeof *ids);
    if (!ids) return km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < p->n_identity; i++) ids[k++] = p->identity[i];
    if (g->admin) ids[k++] = a->granted;
    for (size_t i = 0; gr && i < gr->ninl; i++) ids[k++] = gr->inl[i];
    for (size_t i = 0; gr && i < gr->attached.n; i++) {
        const named_policy *np = np_lookup(a->managed, &a->ix_managed, gr->attached.v[i]);
        if (np) ids[k++] = np->p;
    }
    principal copy = *p;
    copy.identity = ids;
    copy.n_identity = k;
    copy.no_trust = g->trust_rewritten;
    km_iam_explain *ex = km_iam_explain_new();
    int rc = ex ? ask(a, &copy, action, resource, creds, out, ex, 0, err) : km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
    km_iam_explain_free(ex);
    free(ids);
    return rc;
}

void km_iam_answer_free(km_iam_answer *ans) {
    if (!ans) return;
    km_buf_free(&ans->why);
}

long km_iam_who_can(const km_iam_account *a, const char *action, const char *resource, km_iam_creds creds,
                    km_iam_who_fn fn, void *user, km_error *err) {
    if (!a || !action) {
        km_error_set(err, KM_ERR, (size_t)-1, "missing argument");
        return -1;
    }
    const char *colon = strchr(action, ':');
    if (!colon || colon == action || !colon[1]) {
        km_error_set(err, KM_ERR, (size_t)-1, "action \"%.100s\" is not service:Action (e.g. s3:DeleteObject)", action);
        return -1;
    }
    km_iam_explain *ex = km_iam_explain_new();
    if (!ex) {
        km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
        return -1;
    }
    long count = 0;
    for (size_t i = 0; i < a->npr; i++) {
        km_iam_answer ans;
        if (ask(a, &a->pr[i], action, resource, creds, &ans, ex, 1, err) != KM_OK) {
            km_iam_answer_free(&ans);
            km_iam_explain_free(ex);
            return -1;
        }
        if (ans.decision == KM_IAM_ALLOWED || ans.conditional) {
            count++;
            if (fn && fn(&ans, user) != 0) {
                km_iam_answer_free(&ans);
                break;
            }
        }
        km_iam_answer_free(&ans);
    }
    km_iam_explain_free(ex);
    return count;
}
