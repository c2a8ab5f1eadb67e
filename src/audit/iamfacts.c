#include "audit/iamfacts.h"
#include "audit/policy.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const col_names[CR_NCOLS] = {
    "user", "arn", "user_creation_time", "password_enabled", "password_last_used", "password_last_changed",
    "mfa_active", "access_key_1_active", "access_key_1_last_rotated", "access_key_1_last_used_date",
    "access_key_2_active", "access_key_2_last_rotated", "access_key_2_last_used_date"};

static void free_report(void *p) {
    km_cred_report *r = p;
    if (!r) return;
    free(r->text);
    free(r->cells);
    free(r);
}

/* Split CSV in place. Fields may be quoted ("" for a quote). Returns cells per row, -1 (bad CSV)
 * or -2 (out of memory). */
static int parse_csv(km_cred_report *r, size_t *ncells) {
    char *p = r->text;
    size_t cap = 0, n = 0, ncols = 0, row_cells = 0;
    char **cells = NULL;
    while (*p) {
        char *start = p, *out;
        if (*p == '"') {
            p++;
            start = out = p;
            while (*p) {
                if (*p == '"' && p[1] == '"') { *out++ = '"'; p += 2; }
                else if (*p == '"') { p++; break; }
                else *out++ = *p++;
            }
        } else {
            while (*p && *p != ',' && *p != '\n' && *p != '\r') p++;
            out = p;
        }
        char sep = *p;
        if (n >= cap) {
            cap = cap ? cap * 2 : 256;
            char **nc = realloc(cells, cap * sizeof *nc);
            if (!nc) { free(cells); return -2; } /* out of memory, not a bad CSV */
            cells = nc;
        }
        cells[n++] = start;
        row_cells++;
        if (sep == '\r') { *out = 0; p++; if (*p == '\n') p++; sep = '\n'; }
        else if (sep) { *out = 0; p++; }
        else *out = 0;
        if (sep == '\n' || !sep) {
            if (!ncols) ncols = row_cells;
            else if (row_cells != ncols) { free(cells); return -1; }
            row_cells = 0;
        }
    }
    if (row_cells && row_cells != ncols) { free(cells); return -1; }
    r->cells = cells;
    *ncells = n;
    return ncols ? (int)ncols : -1;
}

const km_cred_report *km_cred_report_get(km_audit *a, const char *account) {
    char key[64];
    snprintf(key, sizeof key, "credreport:%s", account);
    km_cred_report *r = km_cache_get(a, key);
    if (r) return r;
    static km_cred_report none; /* out of memory: the audit fails (a->oom), no report */
    r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(none.why, sizeof none.why, "out of memory");
        a->oom = 1;
        return &none;
    }
    r->item = km_snap_get(a->snap, account, "global", "iam", "get-credential-report", NULL);
    if (r->item.status != KM_DATA_OK) {
        km_item_why(&r->item, "iam get-credential-report", r->why, sizeof r->why);
    } else {
        const km_json *c = km_ci_get(r->item.json, "Content");
        const char *s = km_json_str(c);
        size_t len = s ? c->u.str.len : 0;
        if (!s) {
            snprintf(r->why, sizeof r->why, "cannot tell: %s has no Content", r->item.file);
        } else {
            size_t dl;
            char *dec = km_base64_decode(s, len, &dl);
            if (dec && !strncmp(dec, "user,", 5)) r->text = dec;
            else {
                free(dec);
                if (!strncmp(s, "user,", 5)) { /* recordings keep the CSV decoded */
                    r->text = strdup(s);
                    if (!r->text) a->oom = 1;
                }
            }
            if (!r->text) {
                snprintf(r->why, sizeof r->why, "cannot tell: %s: Content is neither base64 of the credential report CSV nor the CSV itself",
                         r->item.file);
            } else {
                size_t ncells = 0;
                int ncols = parse_csv(r, &ncells);
                if (ncols == -2) a->oom = 1;
                if (ncols < 0) {
                    snprintf(r->why, sizeof r->why, "cannot tell: %s: the credential report CSV has rows of different lengths", r->item.file);
                } else {
                    r->ncols = (size_t)ncols;
                    for (int k = 0; k < CR_NCOLS; k++) r->col[k] = -1;
                    for (int i = 0; i < ncols; i++)
                        for (int k = 0; k < CR_NCOLS; k++)
                            if (!strcmp(r->cells[i], col_names[k])) r->col[k] = i;
                    if (r->col[CR_USER] < 0 || r->col[CR_ARN] < 0) {
                        snprintf(r->why, sizeof r->why, "cannot tell: %s: the credential report has no user/arn columns", r->item.file);
                    } else {
                        r->nrows = ncells / (size_t)ncols - 1;
                        r->ok = 1;
                    }
                }
            }
        }
    }
    if (km_cache_put(a, key, r, free_report)) {
        free_report(r);
        snprintf(none.why, sizeof none.why, "out of memory");
        return &none;
    }
    return r;
}

const char *km_cr(const km_cred_report *r, size_t row, int col) {
    if (!r->ok || row >= r->nrows || col < 0 || col >= CR_NCOLS || r->col[col] < 0) return "";
    return r->cells[(row + 1) * r->ncols + (size_t)r->col[col]];
}

/* IAM writes "true"; a recorded report (Cloud Custodian's test_iam_user_credential_reverse_filter_delete)
 * has "TRUE", and reading that as false would hide an active key. */
int km_cr_true(const km_cred_report *r, size_t row, int col) { return km_streq_ci(km_cr(r, row, col), "true"); }

double km_cr_age(km_audit *a, const km_cred_report *r, size_t row, int col) {
    int64_t t;
    if (km_parse_time_str(km_cr(r, row, col), &t)) return -1;
    return (double)(km_now(a) - t) / 86400.0;
}

void km_cr_emit(km_audit *a, const char *account, const km_cred_report *r, size_t row, km_status st, const char *fmt, ...) {
    char msg[1500];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *arn = km_cr(r, row, CR_ARN), *user = km_cr(r, row, CR_USER);
    const km_res *u = km_snap_find_arn(a->snap, arn);
    if (u && !strcmp(u->account, account)) {
        km_ev(a, u->file);
        km_emit(a, u, st, "%s", msg);
    } else if (!strcmp(user, "<root_account>")) {
        km_emit_acct(a, account, NULL, st, "%s", msg);
    } else {
        km_emit_at(a, account, "global", "AWS::IAM::User", km_snap_intern(a->snap, user), km_snap_intern(a->snap, user),
                   km_snap_intern(a->snap, arn), st, "%s", msg);
    }
}

static int is_admin_arn(const char *arn) { return arn && km_str_ends(arn, ":policy/AdministratorAccess"); }

const km_json *km_iam_policy_doc(km_audit *a, const km_res *policy) {
    const km_json *vl = km_res_get(policy, "PolicyVersionList");
    const char *def = km_json_str(km_res_get(policy, "DefaultVersionId"));
    for (size_t i = 0; i < km_json_len(vl); i++) {
        const km_json *v = km_json_at(vl, i);
        int is_def = km_json_truth(km_ci_get(v, "IsDefaultVersion")) == 1 ||
                     (def && km_streq_ci(km_ci_str(v, "VersionId"), def));
        if (is_def) return km_snap_embedded(a->snap, km_ci_get(v, "Document"), NULL);
    }
    return NULL;
}

int km_iam_doc_star(const km_json *doc) {
    for (size_t i = 0; i < km_pol_nstmts(doc); i++) {
        const km_json *st = km_pol_stmt(doc, i);
        if (km_stmt_allow(st) && km_stmt_all_actions(st) && km_stmt_all_resources(st)) return 1;
    }
    return 0;
}

/* A list of attachments, or one attachment given as an object (AWS's own example of
 * get-account-authorization-details shows a group's AttachedManagedPolicies that way). */
static size_t att_len(const km_json *v) { return v && v->type == KM_JSON_OBJECT ? 1 : km_json_len(v); }
static const km_json *att_at(const km_json *v, size_t i) { return v && v->type == KM_JSON_OBJECT ? v : km_json_at(v, i); }

/* An unconditional Deny of every action on every resource: no Allow overcomes it. */
static int doc_denies_all(const km_json *doc) {
    for (size_t i = 0; i < km_pol_nstmts(doc); i++) {
        const km_json *st = km_pol_stmt(doc, i);
        if (km_stmt_deny(st) && km_stmt_all_actions(st) && km_stmt_all_resources(st) && !km_ci_get(st, "Condition")) return 1;
    }
    return 0;
}

static int principal_denies_all(km_audit *a, const km_res *p, const char *inline_key) {
    const km_json *att = km_res_get(p, "AttachedManagedPolicies");
    for (size_t i = 0; i < att_len(att); i++) {
        const km_res *pol = km_snap_find_arn(a->snap, km_ci_str(att_at(att, i), "PolicyArn"));
        if (pol && doc_denies_all(km_iam_policy_doc(a, pol))) return 1;
    }
    const km_json *inl = km_res_get(p, inline_key);
    for (size_t i = 0; i < km_json_len(inl); i++)
        if (doc_denies_all(km_snap_embedded(a->snap, km_ci_get(km_json_at(inl, i), "PolicyDocument"), NULL))) return 1;
    return 0;
}

/* Admin rights from one principal's own attachments and inline policies. */
static int principal_admin(km_audit *a, const km_res *p, const char *inline_key, char *why, size_t n) {
    const km_json *att = km_res_get(p, "AttachedManagedPolicies");
    for (size_t i = 0; i < att_len(att); i++) {
        const char *arn = km_ci_str(att_at(att, i), "PolicyArn");
        if (is_admin_arn(arn)) { snprintf(why, n, "AdministratorAccess attached to %s", p->name); return 1; }
        const km_res *pol = km_snap_find_arn(a->snap, arn);
        if (pol && km_iam_doc_star(km_iam_policy_doc(a, pol))) {
            snprintf(why, n, "policy %s (Allow * on *) attached to %s", pol->name, p->name);
            return 1;
        }
    }
    const km_json *inl = km_res_get(p, inline_key);
    for (size_t i = 0; i < km_json_len(inl); i++) {
        const km_json *e = km_json_at(inl, i);
        if (km_iam_doc_star(km_snap_embedded(a->snap, km_ci_get(e, "PolicyDocument"), NULL))) {
            snprintf(why, n, "inline policy %s (Allow * on *) of %s", km_ci_str(e, "PolicyName") ? km_ci_str(e, "PolicyName") : "?", p->name);
            return 1;
        }
    }
    return 0;
}

int km_iam_user_admin(km_audit *a, const km_res *user, char *why, size_t n) {
    const km_json *groups = km_res_get(user, "GroupList");
    size_t ng;
    const km_res *const *gv = km_all(a, "AWS::IAM::Group", &ng);
    /* An explicit Deny of everything, of the user or one of its groups, wins over any Allow. */
    if (principal_denies_all(a, user, "UserPolicyList")) return 0;
    for (size_t i = 0; i < km_json_len(groups); i++)
        for (size_t k = 0; k < ng; k++)
            if (!strcmp(gv[k]->account, user->account) && km_streq_ci(gv[k]->name, km_json_str(km_json_at(groups, i))) &&
                principal_denies_all(a, gv[k], "GroupPolicyList"))
                return 0;
    if (principal_admin(a, user, "UserPolicyList", why, n)) return 1;
    if (!groups) return 0;
    for (size_t i = 0; i < km_json_len(groups); i++) {
        const char *gname = km_json_str(km_json_at(groups, i));
        int found = 0;
        for (size_t k = 0; k < ng; k++) {
            if (strcmp(gv[k]->account, user->account) || !km_streq_ci(gv[k]->name, gname)) continue;
            found = 1;
            if (principal_admin(a, gv[k], "GroupPolicyList", why, n)) {
                size_t l = strlen(why);
                snprintf(why + l, n - l, " (group of %s)", user->name);
                return 1;
            }
        }
        if (!found && gname) return -1;
    }
    return 0;
}
