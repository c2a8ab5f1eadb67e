/* AWS Organizations as the snapshot shows it. SCPs and the OU tree are visible only from the
 * management account (or a delegated administrator), so a member account's SCP question is
 * answered from whichever account of the same organisation holds them; when none does, the
 * answer is "cannot tell", never "no SCP". */
#include "audit/check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct org_entry {
    const char *account;
    km_org_state state;
    const char *org_id, *mgmt, *why;
    km_scp *scps;
    size_t n;
} org_entry;

struct km_org {
    org_entry *v;
    size_t n, cap;
};

void km_org_free(struct km_org *o) {
    if (!o) return;
    for (size_t i = 0; i < o->n; i++) free(o->v[i].scps);
    free(o->v);
    free(o);
}

static const char *org_of(km_audit *a, const char *account, const char **mgmt, km_item *it) {
    *it = km_snap_get(a->snap, account, "global", "organizations", "describe-organization", NULL);
    if (it->status != KM_DATA_OK) return NULL;
    const km_json *o = km_ci_get(it->json, "Organization");
    *mgmt = km_ci_str(o, "MasterAccountId");
    if (!*mgmt) *mgmt = km_ci_str(o, "ManagementAccountId");
    return km_ci_str(o, "Id");
}

static int listed_in(km_audit *a, const char *holder, const char *account) {
    km_item it = km_snap_get(a->snap, holder, "global", "organizations", "list-accounts", NULL);
    const km_json *accts = km_ci_get(it.json, "Accounts");
    for (size_t i = 0; i < km_json_len(accts); i++)
        if (km_streq_ci(km_ci_str(km_json_at(accts, i), "Id"), account)) return 1;
    return 0;
}

static void resolve(km_audit *a, org_entry *e) {
    km_snap *s = a->snap;
    const char *X = e->account;
    const char *mgmt = NULL;
    km_item it;
    const char *oid = org_of(a, X, &mgmt, &it);
    char buf[1024];
    if (!oid && it.status == KM_DATA_ABSENT) {
        e->state = KM_ORG_NONE;
        return;
    }
    if (!oid) {
        /* the management account's list of accounts may name it */
        for (size_t i = 0; i < km_snap_naccounts(s) && !oid; i++) {
            const char *h = km_snap_account(s, i);
            if (strcmp(h, X) && listed_in(a, h, X)) {
                km_item hi;
                oid = org_of(a, h, &mgmt, &hi);
            }
        }
        if (!oid) {
            e->state = KM_ORG_UNKNOWN;
            e->why = km_snap_intern(s, km_item_why(&it, "organizations describe-organization", buf, sizeof buf));
            return;
        }
    }
    e->org_id = oid;
    e->mgmt = mgmt;
    if (mgmt && !strcmp(mgmt, X)) {
        e->state = KM_ORG_MANAGEMENT;
        return;
    }
    /* an account of the same organisation that can list its policies, the management first */
    const char *P = NULL;
    km_item mgmt_lp = {KM_DATA_MISSING, NULL, NULL, NULL, NULL, 0};
    if (mgmt) {
        mgmt_lp = km_snap_get(s, mgmt, "global", "organizations", "list-policies", NULL);
        if (mgmt_lp.status == KM_DATA_OK) P = mgmt;
    }
    for (size_t i = 0; i < km_snap_naccounts(s) && !P; i++) {
        const char *h = km_snap_account(s, i);
        const char *hm;
        km_item hi;
        const char *hid = org_of(a, h, &hm, &hi);
        if (!hid || strcmp(hid, oid)) continue;
        km_item lp = km_snap_get(s, h, "global", "organizations", "list-policies", NULL);
        if (lp.status == KM_DATA_OK) P = h;
    }
    if (!P) {
        e->state = KM_ORG_UNKNOWN;
        if (mgmt && mgmt_lp.status != KM_DATA_MISSING) {
            char w[600];
            km_item_why(&mgmt_lp, "organizations list-policies in the management account", w, sizeof w);
            snprintf(buf, sizeof buf, "%s", w);
        } else {
            snprintf(buf, sizeof buf,
                     "cannot tell: the SCPs of organisation %s are listed only from its management account %s "
                     "(or a delegated administrator), which is not in the snapshot",
                     oid, mgmt ? mgmt : "(unknown)");
        }
        e->why = km_snap_intern(s, buf);
        return;
    }
    e->state = KM_ORG_MEMBER;
    km_ev(a, km_snap_get(s, P, "global", "organizations", "list-policies", NULL).file);
    /* SCPs must be enabled on the root to apply at all */
    km_item roots = km_snap_get(s, P, "global", "organizations", "list-roots", NULL);
    const km_json *rv = km_ci_get(roots.json, "Roots");
    const char *ids[16];
    size_t nids = 0;
    ids[nids++] = X;
    int scp_off = 0;
    for (size_t i = 0; i < km_json_len(rv); i++) {
        const km_json *r = km_json_at(rv, i);
        if (km_ci_str(r, "Id") && nids < 16) ids[nids++] = km_ci_str(r, "Id");
        const km_json *pt = km_ci_get(r, "PolicyTypes");
        int on = 0;
        for (size_t k = 0; k < km_json_len(pt); k++) {
            const km_json *t = km_json_at(pt, k);
            if (km_streq_ci(km_ci_str(t, "Type"), "SERVICE_CONTROL_POLICY") &&
                km_streq_ci(km_ci_str(t, "Status"), "ENABLED"))
                on = 1;
        }
        if (!on && pt) scp_off = 1;
    }
    if (scp_off) {
        e->why = "SERVICE_CONTROL_POLICY is not enabled on the organisation's root";
        return;
    }
    /* ancestors: account -> OU -> ... -> root */
    int incomplete = 0;
    const char *cur = X;
    for (int depth = 0; depth < 10; depth++) {
        km_item lp = km_snap_get(s, P, "global", "organizations", "list-parents", cur);
        if (lp.status != KM_DATA_OK) { incomplete = 1; break; }
        const km_json *par = km_json_at(km_ci_get(lp.json, "Parents"), 0);
        const char *pid = km_ci_str(par, "Id");
        if (!pid) { incomplete = 1; break; }
        if (nids < 16) ids[nids++] = pid;
        if (km_streq_ci(km_ci_str(par, "Type"), "ROOT")) break;
        cur = pid;
    }
    km_item pl = km_snap_get(s, P, "global", "organizations", "list-policies", NULL);
    const km_json *pols = km_ci_get(pl.json, "Policies");
    size_t np = km_json_len(pols);
    e->scps = calloc(np ? np : 1, sizeof *e->scps);
    if (!e->scps) return;
    for (size_t i = 0; i < np; i++) {
        const km_json *p = km_json_at(pols, i);
        const char *pid = km_ci_str(p, "Id");
        if (!pid) continue;
        km_item tg = km_snap_get(s, P, "global", "organizations", "list-targets-for-policy", pid);
        int applies = 0;
        const char *target = NULL;
        if (tg.status != KM_DATA_OK) {
            applies = 2;
        } else {
            const km_json *tv = km_ci_get(tg.json, "Targets");
            for (size_t k = 0; k < km_json_len(tv); k++) {
                const km_json *t = km_json_at(tv, k);
                const char *tid = km_ci_str(t, "TargetId");
                for (size_t m = 0; tid && m < nids; m++)
                    if (!strcmp(ids[m], tid)) { applies = 1; target = tid; }
                if (!applies && incomplete && km_streq_ci(km_ci_str(t, "Type"), "ORGANIZATIONAL_UNIT")) {
                    applies = 2;
                    target = tid;
                }
            }
        }
        if (!applies) continue;
        km_scp *sc = &e->scps[e->n++];
        sc->id = pid;
        sc->name = km_ci_str(p, "Name");
        sc->target = target;
        sc->applies = applies;
        km_item dp = km_snap_get(s, P, "global", "organizations", "describe-policy", pid);
        sc->file = dp.file;
        const km_json *content = km_ci_path(dp.json, "Policy.Content");
        const char *w = NULL;
        sc->doc = content ? km_snap_embedded(s, content, &w) : NULL;
        if (!sc->doc) {
            char whybuf[900];
            if (dp.status != KM_DATA_OK) sc->why = "organizations describe-policy is not in the snapshot or was not answered";
            else {
                snprintf(whybuf, sizeof whybuf, "%s: Policy.Content %s", dp.file ? dp.file : "describe-policy",
                         !content ? "is missing" : w ? w : "is not a policy document");
                sc->why = km_snap_intern(s, whybuf);
            }
        }
    }
}

static org_entry *entry_for(km_audit *a, const char *account) {
    if (!a->org) {
        a->org = calloc(1, sizeof *a->org);
        if (!a->org) {
            a->oom = 1; /* the callers' "unknown" would be a wrong answer: the audit fails */
            return NULL;
        }
    }
    struct km_org *o = a->org;
    for (size_t i = 0; i < o->n; i++)
        if (!strcmp(o->v[i].account, account)) return &o->v[i];
    /* Callers may pass an account id held in their own stack buffer (one parsed out of an ECR
     * image address, say): the cache keeps its own copy, owned by the snapshot. */
    const char *kept = km_snap_intern(a->snap, account);
    if (!kept) {
        a->oom = 1;
        return NULL;
    }
    if (o->n >= o->cap) {
        size_t nc = o->cap ? o->cap * 2 : 8;
        org_entry *nv = realloc(o->v, nc * sizeof *nv);
        if (!nv) {
            a->oom = 1;
            return NULL;
        }
        o->v = nv;
        o->cap = nc;
    }
    org_entry *e = &o->v[o->n++];
    memset(e, 0, sizeof *e);
    e->account = kept;
    resolve(a, e);
    return e;
}

km_org_state km_org_scps(km_audit *a, const char *account, const km_scp **scps, size_t *n, const char **why) {
    org_entry *e = entry_for(a, account);
    *scps = NULL;
    *n = 0;
    if (why) *why = NULL;
    if (!e) return KM_ORG_UNKNOWN;
    *scps = e->scps;
    *n = e->n;
    if (why) *why = e->why;
    return e->state;
}

const char *km_org_id(km_audit *a, const char *account) {
    org_entry *e = entry_for(a, account);
    return e ? e->org_id : NULL;
}

const char *km_org_management(km_audit *a, const char *account) {
    org_entry *e = entry_for(a, account);
    return e ? e->mgmt : NULL;
}

int km_org_same(km_audit *a, const char *account, const char *other) {
    const char *x = km_org_id(a, account), *y = km_org_id(a, other);
    if (!x || !y) return -1;
    return strcmp(x, y) == 0;
}
