/* Check registry, the run, finding emission and the scenario roll-up. */
#include "audit/check.h"
#include "util/arena.h"
#include "util/embedded.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const km_check_impl *const impl_tables[] = {
    km_chk_s3, km_chk_iam, km_chk_ec2, km_chk_rds, km_chk_trail, km_chk_logs,
    km_chk_backup, km_chk_svc, km_chk_app, km_chk_org, km_chk_kms, km_chk_recov,
};

static const char *const scenario_titles[KM_NSCENARIOS] = {
    "Application vulnerability", "Credential leak", "Misconfiguration", "Insider",
    "Supply chain", "Database and backups", "Log and monitoring tampering",
};

const char *km_audit_scenario_title(int i) { return i >= 0 && i < KM_NSCENARIOS ? scenario_titles[i] : "?"; }

const char *km_status_name(km_status s) {
    switch (s) {
    case KM_PASS: return "PASS";
    case KM_FAIL: return "FAIL";
    case KM_UNKNOWN: return "UNKNOWN";
    default: return "NOT_APPLICABLE";
    }
}

void km_audit_opts_default(km_audit_opts *o) {
    memset(o, 0, sizeof *o);
    o->max_session_seconds = 3600;
    o->key_max_age_days = 90;
    o->unused_days = 45;
    o->secret_rotation_days = 90;
    o->log_retention_days = 365;
    o->backup_retention_days = 7;
    o->cert_expiry_days = 30;
    o->role_unused_days = 90;
}

/* ---- metadata ---- */

static int meta_err(km_error *err, const char *file, const km_json *v, const char *what) {
    return km_error_set(err, KM_ERR, v ? v->offset : 0, "%s: byte %zu: %s", file, v ? v->offset : 0, what);
}

static void (*find_impl(const char *id))(km_audit *) {
    for (size_t t = 0; t < sizeof impl_tables / sizeof impl_tables[0]; t++)
        for (const km_check_impl *c = impl_tables[t]; c->id; c++)
            if (!strcmp(c->id, id)) return c->fn;
    return NULL;
}

static int cmp_check(const void *a, const void *b) {
    return strcmp(((const km_check *)a)->id, ((const km_check *)b)->id);
}

static int bind_one(km_check *c, const char *file, const km_json *m, km_error *err) {
    memset(c, 0, sizeof *c);
    c->file = file;
    c->id = km_json_get_str(m, "id", NULL);
    c->title = km_json_get_str(m, "title", NULL);
    if (!c->id || strncmp(c->id, "KMA-", 4) != 0) return meta_err(err, file, m, "\"id\" must be a string starting with KMA-");
    if (!c->title) return meta_err(err, file, m, "\"title\" is required");
    const km_json *sev = km_json_get(m, "severity");
    if (km_severity_parse(km_json_str(sev), &c->severity))
        return meta_err(err, file, sev ? sev : m, "\"severity\" must be critical, high, medium, low or info");
    const km_json *sc = km_json_get(m, "scenarios");
    if (!km_json_is(sc, KM_JSON_ARRAY) || km_json_len(sc) == 0)
        return meta_err(err, file, sc ? sc : m, "\"scenarios\" must list one or more of S1..S7");
    for (size_t i = 0; i < km_json_len(sc); i++) {
        const char *s = km_json_str(km_json_at(sc, i));
        if (!s || s[0] != 'S' || s[1] < '1' || s[1] > '7' || s[2])
            return meta_err(err, file, km_json_at(sc, i), "scenario must be S1..S7");
        c->scenarios |= 1u << (s[1] - '1');
    }
    c->resource_type = km_json_get_str(m, "resource_type", NULL);
    c->rationale = km_json_get_str(m, "rationale", NULL);
    c->strategy = km_json_get_str(m, "strategy", NULL);
    const km_json *rem = km_json_get(m, "remediation");
    c->remediation = km_json_get_str(rem, "text", NULL);
    c->remediation_cli = km_json_get_str(rem, "cli", NULL);
    if (!c->resource_type) return meta_err(err, file, m, "\"resource_type\" is required");
    if (!c->rationale) return meta_err(err, file, m, "\"rationale\" is required");
    if (!c->remediation || !c->remediation_cli)
        return meta_err(err, file, rem ? rem : m, "\"remediation\" needs \"text\" and \"cli\"");
    c->refs = km_json_get(m, "references");
    if (!km_json_is(c->refs, KM_JSON_OBJECT)) return meta_err(err, file, c->refs ? c->refs : m, "\"references\" must be an object");
    c->data = km_json_get(m, "data");
    c->params = km_json_get(m, "parameters");
    c->fn = find_impl(c->id);
    if (!c->fn) return meta_err(err, file, m, "no implementation for this check id in src/audit/chk_*.c");
    return KM_OK;
}

int km_checkset_load(km_checkset *set, km_error *err) {
    memset(set, 0, sizeof *set);
    size_t nfiles = 0;
    for (const km_embedded_file *f = km_builtin_checks; f->name; f++) nfiles++;
    set->v = calloc(nfiles ? nfiles : 1, sizeof *set->v);
    set->docs = calloc(nfiles ? nfiles : 1, sizeof *set->docs);
    if (!set->v || !set->docs) { km_checkset_free(set); return km_error_set(err, KM_ENOMEM, 0, "out of memory"); }
    for (const km_embedded_file *f = km_builtin_checks; f->name; f++) {
        if (strstr(f->name, "checks/collect/") || strstr(f->name, "checks/recov/")) continue; /* data, not checks */
        km_json_doc *d = km_json_parse(f->data, f->len, NULL, NULL, err);
        if (!d) {
            km_error_prefix(err, "%s", f->name);
            km_checkset_free(set);
            return KM_ERR;
        }
        set->docs[set->ndocs++] = d;
        if (bind_one(&set->v[set->n], f->name, km_json_root(d), err)) { km_checkset_free(set); return KM_ERR; }
        for (size_t i = 0; i < set->n; i++)
            if (!strcmp(set->v[i].id, set->v[set->n].id)) {
                km_error_set(err, KM_ERR, 0, "%s: check id %s is also defined in %s", f->name,
                             set->v[i].id, set->v[i].file);
                km_checkset_free(set);
                return KM_ERR;
            }
        set->n++;
    }
    for (size_t t = 0; t < sizeof impl_tables / sizeof impl_tables[0]; t++)
        for (const km_check_impl *c = impl_tables[t]; c->id; c++)
            if (!km_checkset_find(set, c->id)) {
                km_error_set(err, KM_ERR, 0, "check %s is implemented but has no metadata file under checks/", c->id);
                km_checkset_free(set);
                return KM_ERR;
            }
    qsort(set->v, set->n, sizeof *set->v, cmp_check);
    return KM_OK;
}

void km_checkset_free(km_checkset *set) {
    if (!set) return;
    for (size_t i = 0; set->docs && i < set->ndocs; i++) km_json_doc_free(set->docs[i]);
    free(set->docs);
    free(set->v);
    memset(set, 0, sizeof *set);
}

const km_check *km_checkset_find(const km_checkset *set, const char *id) {
    for (size_t i = 0; i < set->n; i++)
        if (set->v[i].id && !strcmp(set->v[i].id, id)) return &set->v[i]; /* a check being bound has none yet */
    return NULL;
}

/* ---- emission ---- */

void km_ev(km_audit *a, const char *file) {
    if (!file) return;
    for (size_t i = 0; i < a->nev; i++)
        if (a->ev[i] == file || !strcmp(a->ev[i], file)) return;
    if (a->nev < sizeof a->ev / sizeof a->ev[0]) a->ev[a->nev++] = file;
}

void km_ev_item(km_audit *a, const km_item *it) { if (it) km_ev(a, it->file); }
void km_ev_sticky(km_audit *a) { a->ev_mark = a->nev; }

int km_begin(km_audit *a, const km_res *r) {
    a->nev = a->ev_mark;
    if (!r) return 0;
    km_ev(a, r->file);
    if (km_json_len(r->cfg) == 0 && r->from_config) {
        km_emit(a, r, KM_UNKNOWN, "cannot tell: the configuration of this resource in %s is not readable", r->file ? r->file : "the snapshot");
        return 1;
    }
    return 0;
}

static void emit_v(km_audit *a, const char *account, const char *region, const char *type, const char *id,
                   const char *name, const char *arn, const km_json *tags, km_status st, const char *fmt,
                   va_list ap) {
    if (a->n >= a->cap) {
        size_t nc = a->cap ? a->cap * 2 : 256;
        km_finding *nf = realloc(a->f, nc * sizeof *nf);
        if (!nf) {
            a->oom = 1;
            return;
        }
        a->f = nf;
        a->cap = nc;
    }
    km_arena *ar = a->arena;
    char msg[2048];
    vsnprintf(msg, sizeof msg, fmt, ap);
    km_finding *f = &a->f[a->n];
    memset(f, 0, sizeof *f);
    f->check = a->cur;
    f->status = st;
    f->account = account ? account : "";
    f->region = region ? region : "global";
    f->res_type = type;
    f->res_id = id;
    f->res_name = name ? name : id;
    f->res_arn = arn;
    f->tags = tags;
    f->message = km_arena_strndup(ar, msg, strlen(msg));
    if (a->nev) {
        f->files = km_arena_alloc_raw(ar, a->nev * sizeof *f->files, 8);
        if (f->files) {
            memcpy(f->files, a->ev, a->nev * sizeof *f->files);
            f->nfiles = a->nev;
        } else a->oom = 1;
    }
    if (f->message) a->n++;
    else a->oom = 1;
}

void km_emit(km_audit *a, const km_res *r, km_status st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    emit_v(a, r->account, r->region, r->type, r->id, r->name, r->arn, r->tags, st, fmt, ap);
    va_end(ap);
}

void km_emit_at(km_audit *a, const char *account, const char *region, const char *type, const char *id,
                const char *name, const char *arn, km_status st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    emit_v(a, account, region, type, id, name, arn, NULL, st, fmt, ap);
    va_end(ap);
}

void km_emit_acct(km_audit *a, const char *account, const char *region, km_status st, const char *fmt, ...) {
    char arn[64];
    snprintf(arn, sizeof arn, "arn:aws:iam::%s:root", account);
    const char *arn_i = km_snap_intern(a->snap, arn);
    va_list ap;
    va_start(ap, fmt);
    emit_v(a, account, region ? region : "global", "AWS::::Account", account, account, arn_i, NULL, st, fmt, ap);
    va_end(ap);
}

const char *km_item_why(const km_item *it, const char *what, char *buf, size_t n) {
    switch (it->status) {
    case KM_DATA_MISSING:
        if (it->message && strcmp(it->message, "not in the snapshot"))
            snprintf(buf, n, "cannot tell: %s is not in the snapshot (%s)", what, it->message);
        else
            snprintf(buf, n, "cannot tell: %s is not in the snapshot", what);
        break;
    case KM_DATA_DENIED:
        snprintf(buf, n, "cannot tell: %s was denied (%s%s%s)", what, it->code ? it->code : "AccessDenied",
                 it->message ? ": " : "", it->message ? it->message : "");
        break;
    case KM_DATA_ERROR:
        if (it->code)
            snprintf(buf, n, "cannot tell: %s failed (%s%s%s)", what, it->code, it->message ? ": " : "",
                     it->message ? it->message : "");
        else
            snprintf(buf, n, "cannot tell: %s is unreadable (%s)", what, it->message ? it->message : "?");
        break;
    case KM_DATA_ABSENT:
        snprintf(buf, n, "%s answered %s", what, it->code ? it->code : "not configured");
        break;
    default:
        snprintf(buf, n, "%s", what);
    }
    return buf;
}

int km_unknown_res(km_audit *a, const km_res *r, const km_item *it, const char *what) {
    if (it->status == KM_DATA_OK || it->status == KM_DATA_ABSENT) return 0;
    char buf[1200];
    km_emit(a, r, KM_UNKNOWN, "%s", km_item_why(it, what, buf, sizeof buf));
    return 1;
}

int km_unknown_acct(km_audit *a, const char *account, const char *region, const km_item *it, const char *what) {
    if (it->status == KM_DATA_OK || it->status == KM_DATA_ABSENT) return 0;
    char buf[1200];
    km_emit_acct(a, account, region, KM_UNKNOWN, "%s", km_item_why(it, what, buf, sizeof buf));
    return 1;
}

km_item km_get(km_audit *a, const char *account, const char *region, const char *service, const char *op,
               const char *key) {
    km_item it = km_snap_get(a->snap, account, region, service, op, key);
    km_ev_item(a, &it);
    return it;
}

km_item km_rget(km_audit *a, const km_res *r, const char *service, const char *op) {
    km_item it = km_res_data(a->snap, r, service, op);
    km_ev_item(a, &it);
    return it;
}

const km_res *const *km_all(km_audit *a, const char *type, size_t *n) {
    return km_snap_resources(a->snap, type, n);
}

const km_res **km_select(km_audit *a, const char *type, const char *account, const char *region, size_t *n) {
    size_t all;
    const km_res *const *v = km_snap_resources(a->snap, type, &all);
    const km_res **out = malloc((all ? all : 1) * sizeof *out);
    *n = 0;
    if (!out) return NULL;
    for (size_t i = 0; i < all; i++) {
        if (account && strcmp(v[i]->account, account)) continue;
        if (region && strcmp(v[i]->region, region)) continue;
        out[(*n)++] = v[i];
    }
    return out;
}

size_t km_naccounts(km_audit *a) { return km_snap_naccounts(a->snap); }
const char *km_account(km_audit *a, size_t i) { return km_snap_account(a->snap, i); }
size_t km_nregions(km_audit *a, const char *account) { return km_snap_nregions(a->snap, account); }
const char *km_region(km_audit *a, const char *account, size_t i) { return km_snap_region(a->snap, account, i); }
int64_t km_now(km_audit *a) { return a->opts.now; }

double km_age_days(km_audit *a, const km_json *t) {
    int64_t ts;
    if (km_parse_time(t, &ts)) return -1;
    return (double)(a->opts.now - ts) / 86400.0;
}

const km_json *km_supp(km_audit *a, const km_res *r, const char *name) {
    const km_json *v = km_ci_get(r->supp, name);
    if (v && v->type == KM_JSON_STRING) v = km_snap_embedded(a->snap, v, NULL);
    return v && v->type != KM_JSON_NULL ? v : NULL;
}

void km_listing_unknown(km_audit *a, const char *type, const char *what) {
    for (size_t i = 0; i < km_naccounts(a); i++) {
        const char *acct = km_account(a, i);
        for (size_t r = 0; r <= km_nregions(a, acct); r++) {
            const char *reg = r < km_nregions(a, acct) ? km_region(a, acct, r) : "global";
            km_item l = km_snap_listing(a->snap, acct, reg, type);
            if (l.status != KM_DATA_DENIED && l.status != KM_DATA_ERROR) continue;
            km_begin(a, NULL);
            km_ev_item(a, &l);
            km_unknown_acct(a, acct, reg, &l, what);
        }
    }
}

const char *km_tag(const km_res *r, const char *key) { return km_tags_get(r->tags, key); }

const char *km_tags_get(const km_json *t, const char *key) {
    if (!t) return NULL;
    if (t->type == KM_JSON_OBJECT) return km_json_str(km_json_get(t, key));
    for (size_t i = 0; i < km_json_len(t); i++) {
        const km_json *e = km_json_at(t, i);
        const char *k = km_json_str(km_ci_get(e, "Key"));
        if (k && !strcmp(k, key)) return km_json_str(km_ci_get(e, "Value"));
    }
    return NULL;
}

/* ---- cache ---- */

struct km_cache_entry {
    struct km_cache_entry *next;
    char *key;
    void *val;
    void (*free_fn)(void *);
};

void *km_cache_get(km_audit *a, const char *key) {
    for (struct km_cache_entry *e = a->cache; e; e = e->next)
        if (!strcmp(e->key, key)) return e->val;
    return NULL;
}

int km_cache_put(km_audit *a, const char *key, void *val, void (*free_fn)(void *)) {
    struct km_cache_entry *e = calloc(1, sizeof *e);
    if (!e || !(e->key = strdup(key))) {
        /* val stays the caller's: freeing it here left the callers returning freed memory */
        free(e);
        a->oom = 1;
        return -1;
    }
    e->val = val;
    e->free_fn = free_fn;
    e->next = a->cache;
    a->cache = e;
    return 0;
}

/* ---- run ---- */

/* "GLOB[,GLOB...]" */
static int only_match(const char *list, const char *id) {
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", list);
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
        if (km_glob_ci(t, id)) return 1;
    return 0;
}

/* Whether check c reports the recoverability analysis (its findings wait for it). */
static int needs_recov(const km_check *c) {
    for (const km_check_impl *x = km_chk_recov; x->id; x++)
        if (c->fn == x->fn) return 1;
    return 0;
}

static void run_checks(km_audit *a, int recov_pass) {
    const km_checkset *checks = a->checks;
    for (size_t i = 0; i < checks->n; i++) {
        const km_check *c = &checks->v[i];
        if (a->opts.only && !only_match(a->opts.only, c->id)) continue;
        if (needs_recov(c) != recov_pass) continue;
        a->cur = c;
        a->nev = a->ev_mark = 0;
        c->fn(a);
    }
    a->cur = NULL;
}

int km_audit_start(km_snap *snap, const km_checkset *checks, const km_audit_opts *opts, km_audit **out,
                   km_error *err) {
    km_audit *a = calloc(1, sizeof *a);
    km_arena *ar = calloc(1, sizeof *ar);
    if (!a || !ar) {
        free(a);
        free(ar);
        return km_error_set(err, KM_ENOMEM, 0, "out of memory");
    }
    km_arena_init(ar, 0);
    a->arena = ar;
    a->snap = snap;
    a->checks = checks;
    if (opts) a->opts = *opts;
    else km_audit_opts_default(&a->opts);
    a->opts.recov = NULL; /* given to km_audit_finish */
    if (!a->opts.now) a->opts.now = km_snap_time(snap);
    if (!a->opts.now) a->opts.now = (int64_t)time(NULL);
    run_checks(a, 0);
    if (a->oom) { /* a report without some findings would look complete */
        km_audit_free(a);
        return km_error_set(err, KM_ENOMEM, 0, "out of memory while running the checks; no report");
    }
    *out = a;
    return KM_OK;
}

/* The findings in check order, as one pass over all checks would have emitted them: the first
 * pass's (a->f[0..n1)) and the recoverability checks' (a->f[n1..n)) are each in check order and
 * are merged from the back, with a copy of the second (the smaller) only. */
static int merge_passes(km_audit *a, size_t n1) {
    size_t n2 = a->n - n1;
    if (!n2 || !n1) return 0;
    km_finding *b = malloc(n2 * sizeof *b);
    if (!b) return -1;
    memcpy(b, a->f + n1, n2 * sizeof *b);
    const km_check *base = a->checks->v;
    size_t i = n1, j = n2, k = a->n;
    while (j) {
        if (i && a->f[i - 1].check - base > b[j - 1].check - base) a->f[--k] = a->f[--i];
        else a->f[--k] = b[--j];
    }
    free(b);
    return 0;
}

int km_audit_finish(km_audit *a, const struct km_recov *recov, km_error *err) {
    size_t n1 = a->n;
    a->opts.recov = recov;
    run_checks(a, 1);
    if (a->oom || merge_passes(a, n1)) /* a report without some findings would look complete */
        return km_error_set(err, KM_ENOMEM, 0, "out of memory while running the checks; no report");
    return KM_OK;
}

int km_audit_run(km_snap *snap, const km_checkset *checks, const km_audit_opts *opts, km_audit **out,
                 km_error *err) {
    km_audit *a = NULL;
    int rc = km_audit_start(snap, checks, opts, &a, err);
    if (rc != KM_OK) return rc;
    rc = km_audit_finish(a, opts ? opts->recov : NULL, err);
    if (rc != KM_OK) {
        km_audit_free(a);
        return rc;
    }
    *out = a;
    return KM_OK;
}

void km_audit_free(km_audit *a) {
    if (!a) return;
    km_org_free(a->org);
    while (a->cache) {
        struct km_cache_entry *e = a->cache;
        a->cache = e->next;
        if (e->free_fn) e->free_fn(e->val);
        free(e->key);
        free(e);
    }
    km_arena_free(a->arena);
    free(a->arena);
    free(a->f);
    free(a);
}

size_t km_audit_nfindings(const km_audit *a) { return a->n; }
const km_finding *km_audit_finding(const km_audit *a, size_t i) { return i < a->n ? &a->f[i] : NULL; }
const km_checkset *km_audit_checks(const km_audit *a) { return a->checks; }
km_snap *km_audit_snap(const km_audit *a) { return a->snap; }
int64_t km_audit_now(const km_audit *a) { return a->opts.now; }

/* ---- roll-up ---- */

static const double sev_weight[5] = {0.5, 1, 3, 6, 10};

static int cmp_fix(const void *x, const void *y) {
    const km_fix *a = x, *b = y;
    if (a->weight != b->weight) return a->weight < b->weight ? 1 : -1;
    if (a->closes != b->closes) return a->closes < b->closes ? 1 : -1;
    return strcmp(a->check->id, b->check->id);
}

/* The fixes that close the most of each scenario's failures (best 3 into out->s[s].fixes) and of
 * all of them (best 10 into out->fixes), from one pass over the findings into one table: row s
 * for scenario s, row KM_NSCENARIOS for all. Returns -1 when out of memory (a report without its
 * fixes would look complete). */
static int top_fixes(const km_audit *a, km_rollup *out) {
    size_t nc = a->checks->n, rows = KM_NSCENARIOS + 1;
    km_fix *all = calloc((nc ? nc : 1) * rows, sizeof *all);
    if (!all) return -1;
    for (size_t i = 0; i < a->n; i++) {
        const km_finding *f = &a->f[i];
        unsigned sc = f->check->scenarios & ((1u << KM_NSCENARIOS) - 1);
        if (f->status != KM_FAIL || f->suppressed || !sc) continue;
        size_t k = (size_t)(f->check - a->checks->v);
        if (k >= nc) continue;
        double w = sev_weight[f->check->severity];
        for (size_t r = 0; r < rows; r++) {
            if (r < KM_NSCENARIOS && !(sc & (1u << r))) continue;
            km_fix *x = &all[r * nc + k];
            x->check = f->check;
            x->closes++;
            x->weight += w;
        }
    }
    for (size_t r = 0; r < rows; r++) {
        km_fix *row = all + r * nc;
        size_t n = 0;
        for (size_t k = 0; k < nc; k++)
            if (row[k].check) row[n++] = row[k];
        qsort(row, n, sizeof *row, cmp_fix);
        km_fix *dst = r < KM_NSCENARIOS ? out->s[r].fixes : out->fixes;
        size_t cap = r < KM_NSCENARIOS ? 3 : 10, *nout = r < KM_NSCENARIOS ? &out->s[r].nfixes : &out->nfixes;
        *nout = n < cap ? n : cap;
        memcpy(dst, row, *nout * sizeof *dst);
    }
    free(all);
    return 0;
}

void km_audit_rollup(const km_audit *a, km_rollup *out) {
    memset(out, 0, sizeof *out);
    double wpass[KM_NSCENARIOS] = {0}, wdec[KM_NSCENARIOS] = {0};
    for (size_t i = 0; i < a->n; i++) {
        const km_finding *f = &a->f[i];
        if (f->suppressed) out->suppressed++;
        else if (f->status == KM_PASS) out->pass++;
        else if (f->status == KM_FAIL) out->fail++;
        else if (f->status == KM_UNKNOWN) out->unknown++;
        else out->na++;
        for (int s = 0; s < KM_NSCENARIOS; s++) {
            if (!(f->check->scenarios & (1u << s))) continue;
            km_scenario_summary *ss = &out->s[s];
            double w = sev_weight[f->check->severity];
            if (f->suppressed) { ss->suppressed++; continue; }
            switch (f->status) {
            case KM_PASS: ss->pass++; wpass[s] += w; wdec[s] += w; break;
            case KM_FAIL: ss->fail++; ss->fail_by_sev[f->check->severity]++; wdec[s] += w; break;
            case KM_UNKNOWN: ss->unknown++; break;
            default: ss->na++; break;
            }
        }
    }
    for (int s = 0; s < KM_NSCENARIOS; s++) {
        km_scenario_summary *ss = &out->s[s];
        static const char *const ids[] = {"S1", "S2", "S3", "S4", "S5", "S6", "S7"};
        ss->id = ids[s];
        ss->title = scenario_titles[s];
        ss->score = wdec[s] > 0 ? (int)lround(100.0 * wpass[s] / wdec[s]) : 0;
        if (ss->fail_by_sev[KM_SEV_CRITICAL] || ss->fail_by_sev[KM_SEV_HIGH]) ss->status = "EXPOSED";
        else if (ss->fail) ss->status = "GAPS";
        else if (ss->unknown) ss->status = "INCOMPLETE";
        else if (ss->pass) ss->status = "PROTECTED";
        else ss->status = "NO_DATA";
    }
    if (top_fixes(a, out)) out->oom = 1;
}
