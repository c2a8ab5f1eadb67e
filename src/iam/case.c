/* Simulation cases in the shape of ../shared/corpora/iam/cases.jsonl (the JSON fixtures of
 * cloud-copilot/iam-simulate, normalised): one request and every policy that applies to it. */
#include "iam/iam_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct km_iam_case {
    char *id, *name;
    char *principal, *action, *resource, *resource_account;
    km_iam_context *ctx;
    km_iam_policy **owned;
    size_t nowned, capowned;
    km_iam_policy **identity;
    size_t n_identity;
    km_iam_policy **boundary;
    size_t n_boundary;
    km_iam_policy *session, *resource_policy;
    km_iam_level *scp, *rcp;
    size_t n_scp, n_rcp;
    km_iam_policy **endpoint;
    size_t n_endpoint;
    char **level_ids;
    size_t nlevel_ids;
    km_iam_key_knowledge *kn;
    size_t nkn;
    km_iam_options opt;
    int expected;
};

typedef struct cctx {
    km_iam_case *c;
    const char *text;
    size_t len;
    const char *file;
    km_error *err;
} cctx;

static char *dupz(const char *s) {
    if (!s) return NULL;
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    if (d) memcpy(d, s, n + 1);
    return d;
}

static int cerr(cctx *c, const km_json *v, const char *fmt, const char *what) {
    size_t off = v ? v->offset : (size_t)-1;
    char loc[96] = "";
    if (v && c->text) {
        size_t line, col;
        km_json_line_col(c->text, c->len, off, &line, &col);
        snprintf(loc, sizeof loc, " (byte %zu, line %zu, column %zu)", off, line, col);
    }
    char msg[400];
    snprintf(msg, sizeof msg, fmt, what);
    km_error_set(c->err, KM_ERR, off, "%s: %s%s", c->file, msg, loc);
    return -1;
}

static int own(cctx *c, km_iam_policy *p) {
    km_iam_case *k = c->c;
    if (k->nowned == k->capowned) {
        size_t nc = k->capowned ? k->capowned * 2 : 8;
        km_iam_policy **n = realloc(k->owned, nc * sizeof *n);
        if (!n) return -1;
        k->owned = n;
        k->capowned = nc;
    }
    k->owned[k->nowned++] = p;
    return 0;
}

static km_iam_policy *load_policy(cctx *c, const km_json *v, km_iam_policy_kind kind, const char *name,
                                  const char *where_label) {
    km_error e;
    km_error_clear(&e);
    km_iam_policy *p = km_iam_policy_from_json(v, c->text, c->len, kind, name, &e);
    if (!p) {
        km_error_set(c->err, e.code, e.offset, "%s: %s: %s", c->file, where_label, e.msg);
        return NULL;
    }
    if (own(c, p) < 0) {
        km_iam_policy_free(p);
        km_error_set(c->err, KM_ENOMEM, (size_t)-1, "out of memory");
        return NULL;
    }
    return p;
}

static int load_list(cctx *c, const km_json *arr, km_iam_policy_kind kind, const char *label,
                     const km_json *names, km_iam_policy ***out, size_t *n) {
    if (!arr || arr->type == KM_JSON_NULL) return 0;
    if (arr->type != KM_JSON_ARRAY) return cerr(c, arr, "%s must be an array of policies", label);
    *out = calloc(arr->u.arr.n ? arr->u.arr.n : 1, sizeof **out);
    if (!*out) return cerr(c, NULL, "%s: out of memory", label);
    for (size_t i = 0; i < arr->u.arr.n; i++) {
        char name[160], where[160];
        const char *nm = km_json_str(km_json_at(names, i));
        if (nm) snprintf(name, sizeof name, "%s", nm);
        else snprintf(name, sizeof name, "%s-%zu", km_iam_kind_name(kind), i + 1);
        snprintf(where, sizeof where, "%s[%zu]", label, i);
        km_iam_policy *p = load_policy(c, arr->u.arr.items[i], kind, name, where);
        if (!p) return -1;
        (*out)[(*n)++] = p;
    }
    return 0;
}

static int load_levels(cctx *c, const km_json *arr, km_iam_policy_kind kind, const char *label,
                       km_iam_level **out, size_t *n) {
    if (!arr || arr->type == KM_JSON_NULL) return 0;
    if (arr->type != KM_JSON_ARRAY)
        return cerr(c, arr, "%s must be an array of {orgIdentifier, policies} levels", label);
    *out = calloc(arr->u.arr.n ? arr->u.arr.n : 1, sizeof **out);
    if (!*out) return cerr(c, NULL, "%s: out of memory", label);
    km_iam_case *k = c->c;
    for (size_t i = 0; i < arr->u.arr.n; i++) {
        const km_json *lv = arr->u.arr.items[i];
        if (lv->type != KM_JSON_OBJECT) return cerr(c, lv, "%s: each level must be an object", label);
        const char *id = km_json_get_str(lv, "orgIdentifier", "");
        char **ids = realloc(k->level_ids, (k->nlevel_ids + 1) * sizeof *ids);
        if (!ids) return cerr(c, NULL, "%s: out of memory", label);
        k->level_ids = ids;
        k->level_ids[k->nlevel_ids] = dupz(id);
        if (!k->level_ids[k->nlevel_ids]) return cerr(c, NULL, "%s: out of memory", label);
        (*out)[i].id = k->level_ids[k->nlevel_ids++];
        const km_json *pols = km_json_get(lv, "policies");
        if (pols && pols->type != KM_JSON_ARRAY && pols->type != KM_JSON_NULL)
            return cerr(c, pols, "%s: policies must be an array", label);
        size_t np = pols && pols->type == KM_JSON_ARRAY ? pols->u.arr.n : 0;
        km_iam_policy **pp = calloc(np ? np : 1, sizeof *pp);
        if (!pp) return cerr(c, NULL, "%s: out of memory", label);
        /* Keep the array alive by parking it in the level; freed in km_iam_case_free. */
        (*out)[i].policies = (const km_iam_policy *const *)pp;
        (*out)[i].n = 0;
        (*n)++;
        for (size_t j = 0; j < np; j++) {
            char name[160], where[200];
            snprintf(name, sizeof name, "%s-%zu", km_iam_kind_name(kind), j + 1);
            snprintf(where, sizeof where, "%s[%zu] (%s) policy %zu", label, i, id, j + 1);
            km_iam_policy *p = load_policy(c, pols->u.arr.items[j], kind, name, where);
            if (!p) return -1;
            pp[(*out)[i].n++] = p;
        }
    }
    return 0;
}

static int value_string(const km_json *v, char *buf, size_t n, const char **out) {
    switch (v->type) {
    case KM_JSON_STRING: *out = v->u.str.s; return 0;
    case KM_JSON_NUMBER:
        snprintf(buf, n, "%.*s", (int)v->u.num.len, v->u.num.raw);
        *out = buf;
        return 0;
    case KM_JSON_TRUE: *out = "true"; return 0;
    case KM_JSON_FALSE: *out = "false"; return 0;
    default: return -1;
    }
}

static int load_context(cctx *c, const km_json *obj) {
    km_iam_case *k = c->c;
    k->ctx = km_iam_context_new();
    if (!k->ctx) return cerr(c, NULL, "%s", "out of memory");
    if (!obj || obj->type == KM_JSON_NULL) return 0;
    if (obj->type != KM_JSON_OBJECT) return cerr(c, obj, "%s must be an object of condition keys", "request.context");
    for (size_t i = 0; i < obj->u.obj.n; i++) {
        const km_json_member *m = &obj->u.obj.members[i];
        char buf[64];
        const char *s;
        if (m->value->type == KM_JSON_ARRAY) {
            if (km_iam_context_set_multi(k->ctx, m->key, NULL, 0) != KM_OK) return cerr(c, NULL, "%s", "out of memory");
            for (size_t j = 0; j < m->value->u.arr.n; j++) {
                if (value_string(m->value->u.arr.items[j], buf, sizeof buf, &s) < 0)
                    return cerr(c, m->value->u.arr.items[j], "context key %s: values must be strings, numbers or booleans", m->key);
                if (km_iam_context_add(k->ctx, m->key, s) != KM_OK) return cerr(c, NULL, "%s", "out of memory");
            }
        } else {
            if (value_string(m->value, buf, sizeof buf, &s) < 0)
                return cerr(c, m->value, "context key %s: a value must be a string, number, boolean or array", m->key);
            if (km_iam_context_set(k->ctx, m->key, s) != KM_OK) return cerr(c, NULL, "%s", "out of memory");
        }
    }
    return 0;
}

km_iam_case *km_iam_case_from_json(const km_json *obj, const char *text, size_t len, const char *file,
                                   km_error *err) {
    km_iam_case *k = calloc(1, sizeof *k);
    if (!k) {
        km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
        return NULL;
    }
    cctx c = {k, text, len, file ? file : "case", err};
    k->expected = -1;
    k->opt.expand_wildcards = 1;
    if (!obj || obj->type != KM_JSON_OBJECT) {
        cerr(&c, obj, "%s", "a case must be a JSON object");
        goto fail;
    }
    k->id = dupz(km_json_get_str(obj, "id", ""));
    k->name = dupz(km_json_get_str(obj, "name", ""));
    if (!k->id || !k->name) goto nomem;
    const char *suite = km_json_get_str(obj, "suite", NULL);
    if (suite && strcmp(suite, "core_engine") == 0) k->opt.expand_wildcards = 0;
    const km_json *xw = km_json_get(obj, "expandWildcards");
    if (xw) k->opt.expand_wildcards = xw->type == KM_JSON_TRUE;

    const km_json *req = km_json_get(obj, "request");
    if (!req || req->type != KM_JSON_OBJECT) {
        cerr(&c, req ? req : obj, "%s", "\"request\" must be an object {principal, action, resource, context}");
        goto fail;
    }
    const km_json *pr = km_json_get(req, "principal");
    if (pr && pr->type == KM_JSON_STRING) {
        k->principal = dupz(pr->u.str.s);
        if (!k->principal) goto nomem;
    } else if (pr && pr->type == KM_JSON_OBJECT) {
        const char *t = km_json_get_str(pr, "type", "");
        if (strcmp(t, "Anonymous") != 0) {
            cerr(&c, pr, "%s", "request.principal: an object principal must be {\"type\": \"Anonymous\"}");
            goto fail;
        }
    } else if (pr && pr->type != KM_JSON_NULL) {
        cerr(&c, pr, "%s", "request.principal must be an ARN string or {\"type\": \"Anonymous\"}");
        goto fail;
    }
    const char *action = km_json_get_str(req, "action", NULL);
    if (!action) {
        cerr(&c, req, "%s", "request.action is missing (e.g. \"s3:GetObject\")");
        goto fail;
    }
    k->action = dupz(action);
    const km_json *res = km_json_get(req, "resource");
    if (res && res->type == KM_JSON_OBJECT) { /* iam-simulate's own {resource, accountId} */
        k->resource = dupz(km_json_get_str(res, "resource", "*"));
        k->resource_account = dupz(km_json_get_str(res, "accountId", ""));
    } else {
        k->resource = dupz(km_json_get_str(req, "resource", "*"));
        k->resource_account = dupz(km_json_get_str(req, "resourceAccount", ""));
    }
    if (!k->action || !k->resource || !k->resource_account) goto nomem;
    const km_json *wo = km_json_get(req, "wildcardOnlyAction");
    k->opt.wildcard_only_action = wo && wo->type == KM_JSON_TRUE;
    const km_json *ctxv = km_json_get(req, "context");
    if (!ctxv) ctxv = km_json_get(req, "contextVariables");
    if (load_context(&c, ctxv) < 0) goto fail;

    if (load_list(&c, km_json_get(obj, "identityPolicies"), KM_IAM_IDENTITY, "identityPolicies",
                  km_json_get(obj, "identityPolicyNames"), &k->identity, &k->n_identity) < 0)
        goto fail;
    const km_json *pb = km_json_get(obj, "permissionBoundaries");
    if (!pb) pb = km_json_get(obj, "permissionBoundaryPolicies");
    if (load_list(&c, pb, KM_IAM_BOUNDARY, "permissionBoundaries", NULL, &k->boundary, &k->n_boundary) < 0)
        goto fail;
    const km_json *ep = km_json_get(obj, "endpointPolicies");
    if (!ep) ep = km_json_get(obj, "vpcEndpointPolicies");
    if (load_list(&c, ep, KM_IAM_ENDPOINT, "endpointPolicies", NULL, &k->endpoint, &k->n_endpoint) < 0)
        goto fail;
    const km_json *sp = km_json_get(obj, "sessionPolicy");
    if (sp && sp->type != KM_JSON_NULL) {
        k->session = load_policy(&c, sp, KM_IAM_SESSION, "session", "sessionPolicy");
        if (!k->session) goto fail;
    }
    const km_json *rp = km_json_get(obj, "resourcePolicy");
    if (rp && rp->type != KM_JSON_NULL) {
        km_iam_policy_kind kind = KM_IAM_RESOURCE;
        const char *rk = km_json_get_str(obj, "resourcePolicyType", NULL);
        if (rk && strcmp(rk, "trust") == 0) kind = KM_IAM_TRUST;
        else if (rk && strcmp(rk, "key") == 0) kind = KM_IAM_KEY;
        k->resource_policy = load_policy(&c, rp, kind, "resource", "resourcePolicy");
        if (!k->resource_policy) goto fail;
    }
    if (load_levels(&c, km_json_get(obj, "serviceControlPolicies"), KM_IAM_SCP, "serviceControlPolicies",
                    &k->scp, &k->n_scp) < 0)
        goto fail;
    if (load_levels(&c, km_json_get(obj, "resourceControlPolicies"), KM_IAM_RCP, "resourceControlPolicies",
                    &k->rcp, &k->n_rcp) < 0)
        goto fail;

    const char *mode = km_json_get_str(obj, "mode", NULL);
    const km_json *sim = km_json_get(obj, "simulation");
    if (!mode && sim) mode = km_json_get_str(sim, "mode", NULL);
    if (mode && strcmp(mode, "Discovery") == 0) k->opt.mode = KM_IAM_DISCOVERY;
    else if (mode && strcmp(mode, "Strict") != 0) {
        cerr(&c, km_json_get(obj, "mode"), "mode must be \"Strict\" or \"Discovery\", not \"%s\"", mode);
        goto fail;
    }
    const km_json *dk = km_json_get(obj, "discoveryContextKeyConstraints");
    if (!dk && sim) dk = km_json_get(sim, "discoveryContextKeyConstraints");
    if (dk && dk->type == KM_JSON_ARRAY && dk->u.arr.n) {
        k->kn = calloc(dk->u.arr.n, sizeof *k->kn);
        if (!k->kn) goto nomem;
        for (size_t i = 0; i < dk->u.arr.n; i++) {
            const km_json *o = dk->u.arr.items[i];
            const char *kn = km_json_get_str(o, "keyName", NULL);
            if (!kn) {
                cerr(&c, o, "%s", "discoveryContextKeyConstraints: each entry needs keyName");
                goto fail;
            }
            k->kn[i].key = dupz(kn);
            if (!k->kn[i].key) goto nomem;
            k->kn[i].presence_known = km_json_get(o, "presenceIsKnown") &&
                                      km_json_get(o, "presenceIsKnown")->type == KM_JSON_TRUE;
            k->kn[i].value_known = km_json_get(o, "valueIsKnown") &&
                                   km_json_get(o, "valueIsKnown")->type == KM_JSON_TRUE;
            k->nkn++;
        }
        k->opt.knowledge = k->kn;
        k->opt.n_knowledge = k->nkn;
    }
    const km_json *ex = km_json_get(obj, "expected");
    const char *dec = ex ? km_json_get_str(ex, "decision", km_json_get_str(ex, "response", NULL)) : NULL;
    if (dec) k->expected = km_iam_decision_parse(dec);
    return k;
nomem:
    km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
fail:
    km_iam_case_free(k);
    return NULL;
}

void km_iam_case_free(km_iam_case *k) {
    if (!k) return;
    for (size_t i = 0; i < k->nowned; i++) km_iam_policy_free(k->owned[i]);
    free(k->owned);
    free(k->identity);
    free(k->boundary);
    free(k->endpoint);
    for (size_t i = 0; i < k->n_scp; i++) free((void *)k->scp[i].policies);
    for (size_t i = 0; i < k->n_rcp; i++) free((void *)k->rcp[i].policies);
    free(k->scp);
    free(k->rcp);
    for (size_t i = 0; i < k->nlevel_ids; i++) free(k->level_ids[i]);
    free(k->level_ids);
    for (size_t i = 0; i < k->nkn; i++) free((void *)k->kn[i].key);
    free(k->kn);
    km_iam_context_free(k->ctx);
    free(k->id);
    free(k->name);
    free(k->principal);
    free(k->action);
    free(k->resource);
    free(k->resource_account);
    free(k);
}

int km_iam_case_evaluate(const km_iam_case *k, const km_iam_options *extra, km_iam_explain *ex,
                         km_error *err) {
    km_iam_input in;
    memset(&in, 0, sizeof in);
    in.identity = (const km_iam_policy *const *)k->identity;
    in.n_identity = k->n_identity;
    in.boundary = (const km_iam_policy *const *)k->boundary;
    in.n_boundary = k->n_boundary;
    in.session = k->session;
    in.resource = k->resource_policy;
    in.scp = k->scp;
    in.n_scp = k->n_scp;
    in.rcp = k->rcp;
    in.n_rcp = k->n_rcp;
    in.endpoint = (const km_iam_policy *const *)k->endpoint;
    in.n_endpoint = k->n_endpoint;
    km_iam_request r = {k->principal, k->action, k->resource,
                        k->resource_account && *k->resource_account ? k->resource_account : NULL, k->ctx};
    km_iam_options o = k->opt;
    if (extra) {
        if (extra->mode == KM_IAM_DISCOVERY) o.mode = KM_IAM_DISCOVERY;
        o.wildcard_only_action |= extra->wildcard_only_action;
        o.expand_wildcards |= extra->expand_wildcards;
        o.no_default_rcp |= extra->no_default_rcp;
        if (extra->n_knowledge) {
            o.knowledge = extra->knowledge;
            o.n_knowledge = extra->n_knowledge;
        }
    }
    return km_iam_evaluate(&in, &r, &o, ex, err);
}

int km_iam_case_expected(const km_iam_case *k) { return k ? k->expected : -1; }
const char *km_iam_case_id(const km_iam_case *k) { return k && k->id ? k->id : ""; }
const char *km_iam_case_name(const km_iam_case *k) { return k && k->name ? k->name : ""; }

void km_iam_case_warnings(const km_iam_case *k, km_buf *out) {
    if (!k) return;
    for (size_t i = 0; i < k->nowned; i++) {
        const km_iam_policy *p = k->owned[i];
        for (size_t w = 0; w < p->nwarn; w++)
            km_buf_printf(out, "%s policy %s: %s\n", km_iam_kind_name(p->kind), p->name, p->warn[w]);
    }
}
