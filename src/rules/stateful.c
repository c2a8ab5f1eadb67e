/* Threshold and correlation rule files (docs/stateful.md), thresholds written as an Athena query,
 * and km_ruleset_finish: Sigma rules become rules of the set, and every stateful rule's inputs are
 * checked. A stateful rule is stored as a km_rule of kind THRESHOLD or CORRELATION; a threshold's
 * own pattern (and an inline pattern in a correlation) becomes a hidden pattern rule it reads. */
#include "kumomori/rules.h"
#include "kumomori/json.h"
#include "rules/internal.h"
#include "corr/corr.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_INPUTS 32

static int km_stateful_sql_into(km_ruleset *rs, km_rule *r, const char *name, const char *qs, size_t qlen, size_t qoff,
                                const char *text, size_t len, km_error *err);

typedef struct sctx {
    km_ruleset *rs;
    const char *name, *text;
    size_t len;
    km_error *err;
} sctx;

/* The 1-based position written as a rule id ("1", "2", ...) or 0 when rid is not a plain number. */
static size_t input_number(const char *rid) {
    if (!isdigit((unsigned char)rid[0])) return 0;
    char *end;
    errno = 0;
    unsigned long v = strtoul(rid, &end, 10);
    return errno || *end ? 0 : (size_t)v;
}

static int bad(sctx *c, size_t off, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(sctx *c, size_t off, const char *fmt, ...) {
    char what[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    size_t line = 1, col = 1;
    if (c->text) km_json_line_col(c->text, c->len, off, &line, &col);
    return km_error_set(c->err, KM_ERR, off, "%s:%zu:%zu: %s", c->name, line, col, what);
}

static const char *str_member(sctx *c, const km_json *o, const char *key, int required, int *rc) {
    const km_json *v = km_json_get(o, key);
    if (!v) {
        if (required) *rc = bad(c, o->offset, "missing required field \"%s\"", key);
        return NULL;
    }
    if (v->type != KM_JSON_STRING || !v->u.str.len) {
        *rc = bad(c, v->offset, "\"%s\" must be a non-empty string", key);
        return NULL;
    }
    return v->u.str.s;
}

static int str_array(sctx *c, const km_json *a, const char *key, const char **out, size_t max, size_t *n) {
    *n = 0;
    if (!a) return 0;
    if (a->type == KM_JSON_STRING) {
        out[(*n)++] = a->u.str.s;
        return 0;
    }
    if (a->type != KM_JSON_ARRAY) return bad(c, a->offset, "\"%s\" must be a list of strings", key);
    if (km_json_len(a) > max) return bad(c, a->offset, "\"%s\" has more than %zu entries", key, max);
    for (size_t i = 0; i < km_json_len(a); i++) {
        const km_json *v = km_json_at(a, i);
        if (v->type != KM_JSON_STRING) return bad(c, v->offset, "\"%s\" must be a list of strings", key);
        out[(*n)++] = v->u.str.s;
    }
    return 0;
}

/* The common metadata of a rule file (the same fields and checks as docs/rules.md). */
static int read_meta(sctx *c, const km_json *root, km_rule *r, const char **mitre, const char **refs, int builtin) {
    int rc = 0;
    r->builtin = builtin;
    r->file = c->name;
    r->id = str_member(c, root, "id", 1, &rc);
    r->title = str_member(c, root, "title", 1, &rc);
    r->description = str_member(c, root, "description", 1, &rc);
    r->response = str_member(c, root, "response", 1, &rc);
    if (rc) return rc;
    const char *p = r->id;
    int ok = !strncmp(p, "KM-", 3) && p[3];
    for (p += 3; ok && *p; p++)
        if (!(isupper((unsigned char)*p) || isdigit((unsigned char)*p) || (*p == '-' && p[1] && p[1] != '-'))) ok = 0;
    if (!ok) return bad(c, km_json_get(root, "id")->offset, "rule id \"%s\" must be KM- followed by upper-case words or digits joined by '-'", r->id);
    const char *sev = str_member(c, root, "severity", 1, &rc);
    if (rc) return rc;
    if (km_severity_parse(sev, &r->severity))
        return bad(c, km_json_get(root, "severity")->offset, "\"severity\" must be one of critical, high, medium, low, info (not \"%s\")", sev);
    const km_json *sc = km_json_get(root, "scenarios");
    if (!sc || sc->type != KM_JSON_ARRAY || !km_json_len(sc))
        return bad(c, sc ? sc->offset : root->offset, "\"scenarios\" needs at least one of S1..S7");
    for (size_t i = 0; i < km_json_len(sc); i++) {
        const char *s = km_json_str(km_json_at(sc, i));
        if (!s || s[0] != 'S' || s[1] < '1' || s[1] > '7' || s[2])
            return bad(c, km_json_at(sc, i)->offset, "\"scenarios\" entries must be scenario ids S1..S7");
        r->scenarios |= KM_SCENARIO_BIT(s[1] - '0');
        if (!r->primary_scenario) r->primary_scenario = s[1] - '0';
    }
    const km_json *m = km_json_get(root, "mitre");
    if (!m) return bad(c, root->offset, "missing required field \"mitre\"");
    if (str_array(c, m, "mitre", mitre, 64, &r->nmitre)) return KM_ERR;
    for (size_t i = 0; i < r->nmitre; i++) {
        const char *t = mitre[i];
        int tok = t[0] == 'T' && isdigit((unsigned char)t[1]) && isdigit((unsigned char)t[2]) && isdigit((unsigned char)t[3]) &&
                  isdigit((unsigned char)t[4]) &&
                  (!t[5] || (t[5] == '.' && isdigit((unsigned char)t[6]) && isdigit((unsigned char)t[7]) && isdigit((unsigned char)t[8]) && !t[9]));
        if (!tok) return bad(c, m->offset, "\"mitre\" entries must be technique ids like T1486 or T1562.008, not \"%s\"", t);
    }
    r->mitre = mitre;
    if (str_array(c, km_json_get(root, "references"), "references", refs, 64, &r->nreferences)) return KM_ERR;
    r->references = refs;
    return 0;
}

static int cond_from(sctx *c, const km_json *o, km_count_cond *cc, int *has) {
    memset(cc, 0, sizeof *cc);
    *has = 0;
    if (!o) return 0;
    if (o->type != KM_JSON_OBJECT) return bad(c, o->offset, "\"condition\" must be an object like {\"gte\": 50}");
    for (size_t i = 0; i < o->u.obj.n; i++) {
        const char *k = o->u.obj.members[i].key;
        const km_json *v = o->u.obj.members[i].value;
        if (!strcmp(k, "field")) continue;
        if (v->type != KM_JSON_NUMBER || v->u.num.d < 0 || v->u.num.d != (double)(uint64_t)v->u.num.d)
            return bad(c, v->offset, "condition \"%s\" needs a whole number", k);
        uint64_t n = (uint64_t)v->u.num.d;
        if (n > 1000000) return bad(c, v->offset, "condition \"%s\": a threshold above 1000000 is not supported (state is kept per event)", k);
        if (!strcmp(k, "gt")) { cc->has_gt = 1; cc->gt = n; }
        else if (!strcmp(k, "gte")) { cc->has_gte = 1; cc->gte = n; }
        else if (!strcmp(k, "lt")) { cc->has_lt = 1; cc->lt = n; }
        else if (!strcmp(k, "lte")) { cc->has_lte = 1; cc->lte = n; }
        else if (!strcmp(k, "eq")) { cc->has_eq = 1; cc->eq = n; }
        else return bad(c, v->offset, "condition \"%s\" is not gt, gte, lt, lte, eq or field", k);
        *has = 1;
    }
    return 0;
}

/* Examples of a stateful rule: sequences of records; an entry {"repeat": N, "every": "10s",
 * "record": {...}} stands for N copies 'every' apart, with {i} in strings replaced by the copy's
 * number. They are kept as written (one JSON array per example) and expanded by the tests. */
static int read_examples(sctx *c, const km_json *root, km_rule *r, km_rule_example *ex, size_t max) {
    const km_json *e = km_json_get(root, "examples");
    if (!e || e->type != KM_JSON_OBJECT) return bad(c, e ? e->offset : root->offset, "\"examples\" needs \"match\" and \"no_match\" lists of event sequences");
    size_t n = 0;
    static const char *const kinds[2] = {"no_match", "match"};
    for (int should = 0; should < 2; should++) {
        const km_json *l = km_json_get(e, kinds[should]);
        if (!l || l->type != KM_JSON_ARRAY || !km_json_len(l))
            return bad(c, l ? l->offset : e->offset, "\"examples\" needs a non-empty \"%s\" list of event sequences (lists of records)", kinds[should]);
        for (size_t i = 0; i < km_json_len(l); i++) {
            const km_json *seq = km_json_at(l, i);
            if (seq->type != KM_JSON_ARRAY) return bad(c, seq->offset, "each example is a list of records (a sequence)");
            if (n >= max) return bad(c, seq->offset, "more than %zu examples", max);
            size_t line, col;
            km_json_line_col(c->text, c->len, seq->offset, &line, &col);
            ex[n].json = c->text + seq->offset;
            ex[n].len = seq->end - seq->offset;
            ex[n].should_match = should;
            ex[n].line = line;
            n++;
        }
    }
    r->examples = ex;
    r->nexamples = n;
    return 0;
}

/* A hidden pattern rule "<id>#<n>" for a threshold's own pattern or an inline correlation input. */
static int add_hidden(sctx *c, const km_rule *owner, const km_json *pattern, int n, char *idbuf, size_t idsz) {
    snprintf(idbuf, idsz, "%s#%d", owner->id, n);
    if (pattern->type != KM_JSON_OBJECT) return bad(c, pattern->offset, "\"pattern\" must be an object (an EventBridge event pattern)");
    km_buf written = KM_BUF_INIT, raw = KM_BUF_INIT;
    km_json_write(&written, pattern);
    km_error pe;
    km_error_clear(&pe);
    int rc = KM_OK;
    /* compiled as written only near the limits or to word an error (see km_pattern_near_limits) */
    int careful = km_pattern_near_limits(pattern, written.len);
    if ((careful && km_pattern_check(written.data, written.len, &pe) != KM_OK) ||
        km_pattern_rewrite(written.data, written.len, &raw, NULL, &pe) != KM_OK ||
        km_pattern_check(raw.data, raw.len, &pe) != KM_OK) {
        km_error pw;
        km_error_clear(&pw);
        if (!careful && km_pattern_check(written.data, written.len, &pw) != KM_OK) pe = pw;
        rc = bad(c, pattern->offset, "invalid pattern: %s", pe.msg);
    } else {
        km_rule h;
        memset(&h, 0, sizeof h);
        h.id = idbuf;
        h.title = owner->title;
        h.description = owner->description;
        h.response = owner->response;
        h.severity = owner->severity;
        h.scenarios = owner->scenarios;
        h.primary_scenario = owner->primary_scenario;
        h.file = c->name;
        h.builtin = owner->builtin;
        h.hidden = 1;
        h.pattern_written = written.data;
        h.pattern = raw.data;
        h.pattern_len = raw.len;
        rc = km_ruleset_add_rule(c->rs, &h, c->err);
    }
    km_buf_free(&written);
    km_buf_free(&raw);
    return rc;
}

int km_stateful_load_json(km_ruleset *rs, const char *name, const char *text, size_t len, const km_json *root,
                          int builtin, km_error *err) {
    sctx c = {rs, name, text, len, err};
    km_rule r;
    memset(&r, 0, sizeof r);
    const char *mitre[64], *refs[64];
    if (read_meta(&c, root, &r, mitre, refs, builtin)) return KM_ERR;
    if (km_ruleset_find(rs, r.id)) return bad(&c, km_json_get(root, "id")->offset, "duplicate rule id \"%s\"", r.id);
    km_rule_example ex[64];
    if (read_examples(&c, root, &r, ex, 64)) return KM_ERR;
    const km_json *th = km_json_get(root, "threshold"), *co = km_json_get(root, "correlation");
    if (th && co) return bad(&c, co->offset, "a rule has either \"threshold\" or \"correlation\", not both");
    const km_json *def = th ? th : co;
    if (def->type != KM_JSON_OBJECT) return bad(&c, def->offset, "\"%s\" must be an object", th ? "threshold" : "correlation");
    static const char *const known_th[] = {"group-by", "timespan", "condition", "field", "query", "first-seen-within", NULL};
    static const char *const known_co[] = {"type", "rules", "group-by", "timespan", "condition", "aliases", "differ", NULL};
    for (size_t i = 0; i < def->u.obj.n; i++) {
        const char *k = def->u.obj.members[i].key;
        const char *const *known = th ? known_th : known_co;
        int ok = 0;
        for (size_t q = 0; known[q]; q++)
            if (!strcmp(known[q], k)) ok = 1;
        if (!ok) return bad(&c, def->u.obj.members[i].value->offset, "unknown field \"%s\" in \"%s\" (docs/stateful.md)", k, th ? "threshold" : "correlation");
    }
    if (th && km_json_get(th, "query")) {
        if (km_json_get(root, "pattern") || km_json_len(th) != 1)
            return bad(&c, th->offset, "a threshold given as an Athena \"query\" has no \"pattern\" and no other threshold fields: the query says it all");
        const km_json *q = km_json_get(th, "query");
        if (q->type != KM_JSON_STRING) return bad(&c, q->offset, "\"query\" must be a string (the Athena SQL as written)");
        r.query = q->u.str.s;
        r.kind = KM_RULE_THRESHOLD;
        /* the loader for .sql files does the rest, with this rule's metadata */
        return km_stateful_sql_into(rs, &r, name, q->u.str.s, q->u.str.len, q->offset, text, len, err);
    }
    const km_json *ts = km_json_get(def, "timespan");
    int64_t span = ts && ts->type == KM_JSON_STRING ? km_corr_parse_span(ts->u.str.s) : -1;
    if (span <= 0) return bad(&c, ts ? ts->offset : def->offset, "\"timespan\" must be a duration like \"30s\", \"10m\", \"1h\" or \"2d\"");
    r.span_ms = (uint64_t)span;
    const char *gb[64];
    if (str_array(&c, km_json_get(def, "group-by"), "group-by", gb, 64, &r.ngroup)) return KM_ERR;
    r.group_by = gb;
    const km_json *cond = km_json_get(def, "condition");
    if (cond_from(&c, cond, &r.cond, &r.has_cond)) return KM_ERR;
    const char *inputs[MAX_INPUTS];
    char hidden_ids[MAX_INPUTS][300];
    if (th) {
        r.kind = KM_RULE_THRESHOLD;
        const km_json *fld = km_json_get(th, "field");
        if (fld && fld->type != KM_JSON_STRING) return bad(&c, fld->offset, "\"field\" must be a field path (its distinct values are counted)");
        r.value_field = fld ? fld->u.str.s : NULL;
        r.corr_type = r.value_field ? KM_CORR_VALUE_COUNT : KM_CORR_EVENT_COUNT;
        if (!r.has_cond) return bad(&c, th->offset, "a threshold needs a \"condition\" like {\"gte\": 50}");
        const km_json *nw = km_json_get(th, "first-seen-within");
        if (nw) {
            int64_t v = nw->type == KM_JSON_STRING ? km_corr_parse_span(nw->u.str.s) : -1;
            if (v <= 0) return bad(&c, nw->offset, "\"first-seen-within\" must be a duration like \"1d\"");
            r.new_within_ms = (uint64_t)v;
        }
        const km_json *pat = km_json_get(root, "pattern");
        if (!pat) return bad(&c, root->offset, "a threshold needs the \"pattern\" of the events it counts");
        if (add_hidden(&c, &r, pat, 1, hidden_ids[0], sizeof hidden_ids[0])) return KM_ERR;
        inputs[0] = hidden_ids[0];
        r.inputs = inputs;
        r.ninputs = 1;
    } else {
        r.kind = KM_RULE_CORRELATION;
        const char *t = str_member(&c, co, "type", 1, &(int){0});
        if (!t) return bad(&c, co->offset, "a correlation needs \"type\": temporal, temporal_ordered, event_count or value_count");
        if (!strcmp(t, "temporal")) r.corr_type = KM_CORR_TEMPORAL;
        else if (!strcmp(t, "temporal_ordered")) r.corr_type = KM_CORR_TEMPORAL_ORDERED;
        else if (!strcmp(t, "event_count")) r.corr_type = KM_CORR_EVENT_COUNT;
        else if (!strcmp(t, "value_count")) r.corr_type = KM_CORR_VALUE_COUNT;
        else return bad(&c, km_json_get(co, "type")->offset, "correlation type \"%s\" is not temporal, temporal_ordered, event_count or value_count", t);
        if (cond && km_json_get(cond, "field")) {
            const km_json *f = km_json_get(cond, "field");
            if (f->type != KM_JSON_STRING) return bad(&c, f->offset, "\"field\" must be a field path");
            r.value_field = f->u.str.s;
        }
        if ((r.corr_type == KM_CORR_EVENT_COUNT || r.corr_type == KM_CORR_VALUE_COUNT) && !r.has_cond)
            return bad(&c, co->offset, "%s needs a \"condition\"", t);
        if (r.corr_type == KM_CORR_VALUE_COUNT && !r.value_field) return bad(&c, co->offset, "value_count needs \"field\" in its condition");
        const km_json *df = km_json_get(co, "differ");
        if (df) {
            if (df->type != KM_JSON_STRING) return bad(&c, df->offset, "\"differ\" must be a field path");
            if (r.corr_type != KM_CORR_TEMPORAL_ORDERED) return bad(&c, df->offset, "\"differ\" only goes with temporal_ordered");
            r.differ_field = df->u.str.s;
        }
        const km_json *rl = km_json_get(co, "rules");
        if (!rl || rl->type != KM_JSON_ARRAY || !km_json_len(rl))
            return bad(&c, rl ? rl->offset : co->offset, "a correlation needs \"rules\": rule ids, or objects {\"pattern\": ...}");
        if (km_json_len(rl) > MAX_INPUTS) return bad(&c, rl->offset, "more than %d rules", MAX_INPUTS);
        for (size_t i = 0; i < km_json_len(rl); i++) {
            const km_json *v = km_json_at(rl, i);
            if (v->type == KM_JSON_STRING) {
                inputs[i] = v->u.str.s;
            } else if (v->type == KM_JSON_OBJECT && km_json_get(v, "pattern") && km_json_len(v) == 1) {
                if (add_hidden(&c, &r, km_json_get(v, "pattern"), (int)i + 1, hidden_ids[i], sizeof hidden_ids[i])) return KM_ERR;
                inputs[i] = hidden_ids[i];
            } else {
                return bad(&c, v->offset, "each of \"rules\" is a rule id or an object {\"pattern\": {...}}");
            }
        }
        r.inputs = inputs;
        r.ninputs = km_json_len(rl);
        /* aliases: {"alias": {"RULE-ID": "field", ...}} */
        const km_json *al = km_json_get(co, "aliases");
        const char *gf[MAX_INPUTS * 8];
        if (al) {
            if (al->type != KM_JSON_OBJECT) return bad(&c, al->offset, "\"aliases\" must map a group-by name to {rule id: field}");
            if (r.ngroup * r.ninputs > sizeof gf / sizeof gf[0]) return bad(&c, al->offset, "too many group-by fields with aliases");
            for (size_t k = 0; k < r.ngroup * r.ninputs; k++) gf[k] = NULL;
            for (size_t a = 0; a < al->u.obj.n; a++) {
                const char *alias = al->u.obj.members[a].key;
                const km_json *m = al->u.obj.members[a].value;
                size_t g = 0;
                while (g < r.ngroup && strcmp(r.group_by[g], alias)) g++;
                if (g == r.ngroup) return bad(&c, m->offset, "alias \"%s\" is not in \"group-by\"", alias);
                if (m->type != KM_JSON_OBJECT) return bad(&c, m->offset, "alias \"%s\" must map rule ids to fields", alias);
                for (size_t q = 0; q < m->u.obj.n; q++) {
                    const char *rid = m->u.obj.members[q].key;
                    const km_json *fv = m->u.obj.members[q].value;
                    size_t j = 0;
                    while (j < r.ninputs && strcmp(inputs[j], rid) && input_number(rid) != j + 1) j++;
                    if (j == r.ninputs) return bad(&c, fv->offset, "alias \"%s\" names rule \"%s\", which is not in \"rules\"", alias, rid);
                    if (fv->type != KM_JSON_STRING) return bad(&c, fv->offset, "alias fields are field paths");
                    gf[j * r.ngroup + g] = fv->u.str.s;
                }
            }
            r.group_fields = gf;
        }
        return km_ruleset_add_rule(rs, &r, err);
    }
    return km_ruleset_add_rule(rs, &r, err);
}

/* ---- Athena SQL ---- */

/* CloudTrail's fields as the Athena table (docs: "Querying AWS CloudTrail logs") names them in
 * lower case, with the record's own spelling. */
static const char *const ct_fields[] = {
    "eventVersion", "userIdentity", "eventTime", "eventSource", "eventName", "awsRegion", "sourceIPAddress", "userAgent",
    "errorCode", "errorMessage", "requestParameters", "responseElements", "additionalEventData", "requestID", "eventID",
    "resources", "eventType", "apiVersion", "readOnly", "recipientAccountId", "serviceEventDetails", "sharedEventID",
    "vpcEndpointId", "eventCategory", "tlsDetails", "managementEvent", "sessionCredentialFromConsole",
    /* userIdentity members */
    "type", "principalId", "arn", "accountId", "invokedBy", "accessKeyId", "userName", "sessionContext", "attributes",
    "mfaAuthenticated", "creationDate", "sessionIssuer", "webIdFederationData", "sourceIdentity", "ec2RoleDelivery",
    "onBehalfOf", "identityStoreArn", "userId", "credentialId",
};

static int map_column(const char *col, size_t len, km_buf *out) {
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && col[j] != '.') j++;
        const char *hit = NULL;
        for (size_t k = 0; k < sizeof ct_fields / sizeof ct_fields[0]; k++)
            if (strlen(ct_fields[k]) == j - i && !strncasecmp(ct_fields[k], col + i, j - i)) hit = ct_fields[k];
        if (!hit) return -1;
        if (i) km_buf_putc(out, '.');
        km_buf_puts(out, hit);
        i = j + 1;
    }
    return 0;
}

typedef enum { Q_END, Q_WORD, Q_NUM, Q_STR, Q_SYM } qtok;

typedef struct qp {
    sctx *c;
    const char *s;
    size_t n, i, qoff;
    qtok t;
    size_t ts, tl;
    char str[1024]; /* Q_STR decoded */
    int failed;
} qp;

static int qbad(qp *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int qbad(qp *p, const char *fmt, ...) {
    if (p->failed) return KM_ERR;
    p->failed = 1;
    char what[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    /* position: inside the query (JSON string: approximate by the string's start + offset) */
    size_t at = p->ts;
    if (p->c->text) {
        size_t line, col;
        km_json_line_col(p->c->text, p->c->len, p->qoff, &line, &col);
        if (p->qoff == 0) {
            km_json_line_col(p->s, p->n, at, &line, &col);
            km_error_set(p->c->err, KM_ERR, at, "%s:%zu:%zu: Athena query: %s", p->c->name, line, col, what);
            return KM_ERR; /* always non-zero, which callers (and the analyzer) rely on */
        }
        km_error_set(p->c->err, KM_ERR, p->qoff, "%s:%zu:%zu: Athena query, at character %zu: %s", p->c->name, line, col,
                     at + 1, what);
        return KM_ERR;
    }
    km_error_set(p->c->err, KM_ERR, at, "%s: Athena query, at character %zu: %s", p->c->name, at + 1, what);
    return KM_ERR;
}

static void qnext(qp *p) {
    for (;;) {
        while (p->i < p->n && isspace((unsigned char)p->s[p->i])) p->i++;
        if (p->i + 1 < p->n && p->s[p->i] == '-' && p->s[p->i + 1] == '-') {
            while (p->i < p->n && p->s[p->i] != '\n') p->i++;
            continue;
        }
        if (p->i + 1 < p->n && p->s[p->i] == '/' && p->s[p->i + 1] == '*') {
            const char *e = strstr(p->s + p->i + 2, "*/");
            p->i = e ? (size_t)(e - p->s) + 2 : p->n;
            continue;
        }
        break;
    }
    p->ts = p->i;
    if (p->i >= p->n) { p->t = Q_END; p->tl = 0; return; }
    char ch = p->s[p->i];
    if (isalpha((unsigned char)ch) || ch == '_' || ch == '"') {
        if (ch == '"') { /* quoted identifier; column() rejects one never closed */
            p->i++;
            while (p->i < p->n && p->s[p->i] != '"') p->i++;
            if (p->i < p->n) p->i++; /* never past the query's end */
        } else {
            while (p->i < p->n && (isalnum((unsigned char)p->s[p->i]) || p->s[p->i] == '_' || p->s[p->i] == '.')) p->i++;
        }
        p->t = Q_WORD;
    } else if (isdigit((unsigned char)ch)) {
        while (p->i < p->n && (isdigit((unsigned char)p->s[p->i]) || p->s[p->i] == '.')) p->i++;
        p->t = Q_NUM;
    } else if (ch == '\'') {
        size_t k = 0;
        p->i++;
        for (;;) {
            if (p->i >= p->n) { p->t = Q_SYM; qbad(p, "a string is never closed"); return; }
            if (p->s[p->i] == '\'') {
                if (p->i + 1 < p->n && p->s[p->i + 1] == '\'') { if (k + 1 < sizeof p->str) p->str[k++] = '\''; p->i += 2; continue; }
                p->i++;
                break;
            }
            if (k + 1 < sizeof p->str) p->str[k++] = p->s[p->i];
            p->i++;
        }
        p->str[k] = 0;
        p->t = Q_STR;
    } else {
        p->i++;
        if (p->i < p->n && ((ch == '>' || ch == '<' || ch == '!') && p->s[p->i] == '=')) p->i++;
        else if (ch == '<' && p->i < p->n && p->s[p->i] == '>') p->i++;
        p->t = Q_SYM;
    }
    p->tl = p->i - p->ts;
}

static int kw(const qp *p, const char *w) {
    return p->t == Q_WORD && p->tl == strlen(w) && !strncasecmp(p->s + p->ts, w, p->tl);
}
static int sym(const qp *p, const char *w) { return p->t == Q_SYM && p->tl == strlen(w) && !strncmp(p->s + p->ts, w, p->tl); }

static int expect_kw(qp *p, const char *w) {
    if (!kw(p, w)) return qbad(p, "'%s' expected, found '%.*s'", w, (int)(p->tl ? p->tl : 3), p->tl ? p->s + p->ts : "end");
    qnext(p);
    return 0;
}

/* A column: its CloudTrail path into out. */
static int column(qp *p, km_buf *out) {
    /* qbad always returns KM_ERR; said again here because the static analyzer does not follow
     * variadic functions and took a failed column() for a success */
    if (p->t != Q_WORD) {
        qbad(p, "a column name expected");
        return KM_ERR;
    }
    const char *w = p->s + p->ts;
    size_t l = p->tl;
    if (w[0] == '"') {
        if (l < 2 || w[l - 1] != '"') {
            qbad(p, "a quoted column name is never closed");
            return KM_ERR;
        }
        w++;
        l -= 2;
    }
    /* an empty name would leave out->data NULL for the callers, which read it as a string */
    if (l == 0) {
        qbad(p, "an empty column name");
        return KM_ERR;
    }
    if (map_column(w, l, out)) {
        qbad(p, "'%.*s' is not a column of the CloudTrail table", (int)l, w);
        return KM_ERR;
    }
    if (out->failed || !out->data) {
        p->failed = 1;
        km_error_set(p->c->err, out->failed == KM_BUF_OVER ? KM_ERR : KM_ENOMEM, (size_t)-1, "%s: Athena query: %s",
                     p->c->name, out->failed == KM_BUF_OVER ? "a column name is too long" : "out of memory");
        return out->failed == KM_BUF_OVER ? KM_ERR : KM_ENOMEM;
    }
    qnext(p);
    return 0;
}

typedef struct query {
    km_buf group[16];
    size_t ngroup;
    int distinct;
    km_buf value;
    km_count_cond cond;
    int has_cond;
    int64_t span;
    km_buf pattern; /* members of the EventBridge pattern, comma-separated */
    int nfilters;
} query;

static void pat_member(query *q, const char *path, const char *matcher_json) {
    /* nested object for a dotted path */
    if (q->nfilters++) km_buf_putc(&q->pattern, ',');
    const char *s = path;
    int depth = 0;
    for (;;) {
        const char *d = strchr(s, '.');
        size_t l = d ? (size_t)(d - s) : strlen(s);
        km_buf_json_str(&q->pattern, s, l);
        km_buf_putc(&q->pattern, ':');
        if (!d) break;
        km_buf_putc(&q->pattern, '{');
        depth++;
        s = d + 1;
    }
    km_buf_puts(&q->pattern, matcher_json);
    while (depth--) km_buf_putc(&q->pattern, '}');
}

static int literal_json(qp *p, km_buf *b) {
    if (p->t == Q_STR) km_buf_json_str(b, p->str, strlen(p->str));
    else if (p->t == Q_NUM) km_buf_append(b, p->s + p->ts, p->tl);
    else if (kw(p, "true") || kw(p, "false")) km_buf_printf(b, "%s", kw(p, "true") ? "true" : "false");
    else return qbad(p, "a literal ('text', a number, true or false) expected");
    qnext(p);
    return 0;
}

/* from_iso8601_timestamp(eventtime) > current_timestamp - interval 'N' unit  (or >=, or eventtime
 * compared the same way) */
static int time_filter(qp *p, query *q) {
    int fn = kw(p, "from_iso8601_timestamp");
    if (fn) {
        qnext(p);
        if (!sym(p, "(")) return qbad(p, "'(' expected");
        qnext(p);
    }
    if (!kw(p, "eventtime")) return qbad(p, "eventtime expected");
    qnext(p);
    if (fn) {
        if (!sym(p, ")")) return qbad(p, "')' expected");
        qnext(p);
    }
    if (!sym(p, ">") && !sym(p, ">=")) return qbad(p, "only 'eventtime > current_timestamp - interval ...' bounds a window");
    qnext(p);
    if (!kw(p, "current_timestamp") && !kw(p, "now")) return qbad(p, "current_timestamp expected");
    int now_fn = kw(p, "now");
    qnext(p);
    if (now_fn) {
        if (!sym(p, "(")) return qbad(p, "'(' expected");
        qnext(p);
        if (!sym(p, ")")) return qbad(p, "')' expected");
        qnext(p);
    }
    if (!sym(p, "-")) return qbad(p, "'-' expected");
    qnext(p);
    if (expect_kw(p, "interval")) return KM_ERR;
    if (p->t != Q_STR) return qbad(p, "the interval's length, like '1', expected");
    char *end;
    long long n = strtoll(p->str, &end, 10);
    if (*end || n <= 0) return qbad(p, "the interval's length must be a whole number");
    qnext(p);
    int64_t unit = 0;
    if (kw(p, "second")) unit = 1000;
    else if (kw(p, "minute")) unit = 60000;
    else if (kw(p, "hour")) unit = 3600000;
    else if (kw(p, "day")) unit = 86400000;
    else return qbad(p, "the interval's unit must be second, minute, hour or day");
    qnext(p);
    if (q->span) return qbad(p, "two time windows");
    q->span = (int64_t)n * unit;
    return 0;
}

static int where_term(qp *p, query *q) {
    if (kw(p, "from_iso8601_timestamp") || kw(p, "eventtime")) return time_filter(p, q);
    km_buf col = KM_BUF_INIT;
    if (column(p, &col)) {
        km_buf_free(&col);
        return KM_ERR;
    }
    km_buf m = KM_BUF_INIT;
    int rc = 0;
    if (sym(p, "=")) {
        qnext(p);
        km_buf_putc(&m, '[');
        rc = literal_json(p, &m);
        km_buf_putc(&m, ']');
    } else if (sym(p, "<>") || sym(p, "!=")) {
        qnext(p);
        km_buf_puts(&m, "[{\"anything-but\":");
        rc = literal_json(p, &m);
        km_buf_puts(&m, "}]");
    } else if (kw(p, "in")) {
        qnext(p);
        if (!sym(p, "(")) rc = qbad(p, "'(' expected after IN");
        else qnext(p);
        km_buf_putc(&m, '[');
        int first = 1;
        while (!rc && !sym(p, ")")) {
            if (!first) {
                if (!sym(p, ",")) { rc = qbad(p, "',' or ')' expected"); break; }
                qnext(p);
                km_buf_putc(&m, ',');
            }
            first = 0;
            rc = literal_json(p, &m);
        }
        if (!rc) qnext(p);
        km_buf_putc(&m, ']');
    } else if (kw(p, "like")) {
        qnext(p);
        if (p->t != Q_STR) rc = qbad(p, "a pattern string expected after LIKE");
        else {
            /* % any run, _ one character (no EventBridge form for _) */
            km_buf w = KM_BUF_INIT;
            for (const char *s = p->str; *s; s++) {
                if (*s == '%') km_buf_putc(&w, '*');
                else if (*s == '_') { rc = qbad(p, "LIKE with '_' has no EventBridge form; use %%"); break; }
                else if (*s == '*' || *s == '\\') { km_buf_putc(&w, '\\'); km_buf_putc(&w, *s); }
                else km_buf_putc(&w, *s);
            }
            if (!rc) {
                km_buf_puts(&m, "[{\"wildcard\":");
                km_buf_json_str(&m, w.data ? w.data : "", w.len);
                km_buf_puts(&m, "}]");
                qnext(p);
            }
            km_buf_free(&w);
        }
    } else if (kw(p, "is")) {
        qnext(p);
        int neg = kw(p, "not");
        if (neg) qnext(p);
        if (!kw(p, "null")) rc = qbad(p, "NULL expected after IS");
        else {
            qnext(p);
            km_buf_puts(&m, neg ? "[{\"exists\":true}]" : "[{\"exists\":false}]");
        }
    } else {
        rc = qbad(p, "=, <>, IN, LIKE or IS [NOT] NULL expected");
    }
    if (!rc) pat_member(q, col.data, m.data);
    km_buf_free(&col);
    km_buf_free(&m);
    return rc;
}

static int count_item(qp *p, query *q, int in_having) {
    /* count(*) or count(distinct col) */
    qnext(p);
    if (!sym(p, "(")) return qbad(p, "'(' expected after count");
    qnext(p);
    if (sym(p, "*")) {
        qnext(p);
        if (in_having && q->distinct) return qbad(p, "HAVING count(*) with SELECT count(DISTINCT ...): count one way");
    } else if (kw(p, "distinct")) {
        qnext(p);
        km_buf v = KM_BUF_INIT;
        if (column(p, &v)) {
            km_buf_free(&v);
            return KM_ERR;
        }
        if (q->distinct && strcmp(q->value.data, v.data)) {
            km_buf_free(&v);
            return qbad(p, "count(DISTINCT ...) of two different columns");
        }
        if (!q->distinct) {
            q->value = v;
            q->distinct = 1;
        } else {
            km_buf_free(&v);
        }
    } else {
        return qbad(p, "count(*) or count(DISTINCT column) expected");
    }
    if (!sym(p, ")")) return qbad(p, "')' expected");
    qnext(p);
    return 0;
}

static int parse_query(qp *p, query *q) {
    memset(q, 0, sizeof *q);
    qnext(p);
    if (expect_kw(p, "select")) return KM_ERR;
    km_buf sel[16];
    size_t nsel = 0;
    int has_count = 0;
    for (;;) {
        if (kw(p, "count")) {
            if (count_item(p, q, 0)) goto fail;
            has_count = 1;
        } else {
            if (nsel >= 16) { qbad(p, "more than 16 columns"); goto fail; }
            sel[nsel] = (km_buf)KM_BUF_INIT;
            if (column(p, &sel[nsel])) { km_buf_free(&sel[nsel]); goto fail; }
            nsel++;
        }
        if (kw(p, "as")) {
            qnext(p);
            if (p->t != Q_WORD) { qbad(p, "a name expected after AS"); goto fail; }
            qnext(p);
        }
        if (!sym(p, ",")) break;
        qnext(p);
    }
    if (!has_count) { qbad(p, "the query must count: SELECT ..., count(*) or count(DISTINCT column)"); goto fail; }
    if (expect_kw(p, "from")) goto fail;
    if (p->t != Q_WORD) { qbad(p, "a table name expected"); goto fail; }
    qnext(p);
    if (kw(p, "where")) {
        qnext(p);
        for (;;) {
            if (kw(p, "or") || kw(p, "not") || sym(p, "(")) { qbad(p, "WHERE supports conditions joined by AND only"); goto fail; }
            if (where_term(p, q)) goto fail;
            if (kw(p, "or")) { qbad(p, "WHERE supports conditions joined by AND only"); goto fail; }
            if (!kw(p, "and")) break;
            qnext(p);
        }
    }
    if (kw(p, "group")) {
        qnext(p);
        if (expect_kw(p, "by")) goto fail;
        for (;;) {
            if (q->ngroup >= 16) { qbad(p, "more than 16 GROUP BY columns"); goto fail; }
            q->group[q->ngroup] = (km_buf)KM_BUF_INIT;
            if (column(p, &q->group[q->ngroup])) { km_buf_free(&q->group[q->ngroup]); goto fail; }
            q->ngroup++;
            if (!sym(p, ",")) break;
            qnext(p);
        }
    }
    for (size_t i = 0; i < nsel; i++) {
        size_t g = 0;
        while (g < q->ngroup && strcmp(q->group[g].data, sel[i].data)) g++;
        if (g == q->ngroup) { qbad(p, "the selected column %s is not in GROUP BY", sel[i].data); goto fail; }
    }
    if (expect_kw(p, "having")) goto fail;
    if (!kw(p, "count")) { qbad(p, "HAVING count(...) > N expected"); goto fail; }
    if (count_item(p, q, 1)) goto fail;
    const char *ops[] = {">", ">=", "<", "<=", "="};
    int op = -1;
    for (int k = 0; k < 5; k++)
        if (sym(p, ops[k])) op = k;
    if (op < 0) { qbad(p, "a comparison (>, >=, <, <=, =) expected"); goto fail; }
    qnext(p);
    if (p->t != Q_NUM) { qbad(p, "a whole number expected"); goto fail; }
    uint64_t n = strtoull(p->s + p->ts, NULL, 10);
    qnext(p);
    q->has_cond = 1;
    switch (op) {
    case 0: q->cond.has_gt = 1; q->cond.gt = n; break;
    case 1: q->cond.has_gte = 1; q->cond.gte = n; break;
    case 2: q->cond.has_lt = 1; q->cond.lt = n; break;
    case 3: q->cond.has_lte = 1; q->cond.lte = n; break;
    default: q->cond.has_eq = 1; q->cond.eq = n; break;
    }
    if (kw(p, "order")) { /* the order of results has no meaning for alerts */
        qnext(p);
        if (expect_kw(p, "by")) goto fail;
        while (p->t != Q_END && !kw(p, "limit") && !sym(p, ";")) qnext(p);
    }
    if (kw(p, "limit")) { qbad(p, "LIMIT would drop groups silently: remove it"); goto fail; }
    if (sym(p, ";")) qnext(p);
    if (p->t != Q_END) { qbad(p, "unexpected '%.*s' after the query", (int)p->tl, p->s + p->ts); goto fail; }
    if (!q->span) { qbad(p, "the query needs a window: WHERE from_iso8601_timestamp(eventtime) > current_timestamp - interval 'N' hour"); goto fail; }
    for (size_t i = 0; i < nsel; i++) km_buf_free(&sel[i]);
    return 0;
fail:
    for (size_t i = 0; i < nsel; i++) km_buf_free(&sel[i]);
    return KM_ERR;
}

static void query_free(query *q) {
    for (size_t i = 0; i < q->ngroup; i++) km_buf_free(&q->group[i]);
    km_buf_free(&q->value);
    km_buf_free(&q->pattern);
}

static int km_stateful_sql_into(km_ruleset *rs, km_rule *r, const char *name, const char *qs, size_t qlen, size_t qoff,
                         const char *text, size_t len, km_error *err) {
    sctx c = {rs, name, text, len, err};
    qp p;
    memset(&p, 0, sizeof p);
    p.c = &c;
    p.s = qs;
    p.n = qlen;
    p.qoff = qoff;
    query q;
    if (parse_query(&p, &q)) {
        query_free(&q);
        return KM_ERR;
    }
    r->kind = KM_RULE_THRESHOLD;
    r->query = qs;
    r->span_ms = (uint64_t)q.span;
    r->cond = q.cond;
    r->has_cond = 1;
    r->corr_type = q.distinct ? KM_CORR_VALUE_COUNT : KM_CORR_EVENT_COUNT;
    r->value_field = q.distinct ? q.value.data : NULL;
    const char *gb[16];
    for (size_t i = 0; i < q.ngroup; i++) gb[i] = q.group[i].data;
    r->group_by = gb;
    r->ngroup = q.ngroup;
    /* the events counted: the WHERE filters, or every event with a time */
    km_buf pat = KM_BUF_INIT;
    km_buf_putc(&pat, '{');
    if (q.nfilters) km_buf_append(&pat, q.pattern.data, q.pattern.len);
    else km_buf_puts(&pat, "\"eventTime\":[{\"exists\":true}]");
    km_buf_putc(&pat, '}');
    km_error pe;
    km_json_doc *pd = km_json_parse(pat.data, pat.len, NULL, NULL, &pe);
    char hid[300];
    const char *inputs[1];
    int rc = KM_OK;
    if (!pd) rc = km_error_set(err, KM_ERR, qoff, "%s: Athena query: cannot build the pattern: %s", name, pe.msg);
    if (rc == KM_OK) {
        /* positions of pattern problems are in the generated pattern: report them at the query */
        sctx c2 = {rs, name, NULL, 0, err};
        if (text) { c2.text = text; c2.len = len; }
        rc = add_hidden(&c2, r, km_json_root(pd), 1, hid, sizeof hid);
        if (rc != KM_OK) km_error_set(err, KM_ERR, qoff, "%s: Athena query: its filters make an invalid pattern: %s", name, err->msg);
    }
    if (rc == KM_OK) {
        inputs[0] = hid;
        r->inputs = inputs;
        r->ninputs = 1;
        rc = km_ruleset_add_rule(rs, r, err);
    }
    km_json_doc_free(pd);
    km_buf_free(&pat);
    query_free(&q);
    /* km_ruleset_add_rule copied what these point to (this frame's arrays, q's buffers): leave no
     * pointer to them in the caller's template */
    r->group_by = NULL;
    r->ngroup = 0;
    r->inputs = NULL;
    r->ninputs = 0;
    r->value_field = NULL;
    return rc;
}

/* Metadata for a bare .sql file comes from "-- key: value" comments; the rest has defaults. */
static const char *meta(const char *text, size_t len, const char *key, char *buf, size_t bufsz) {
    size_t kl = strlen(key);
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        const char *s = p;
        while (s < le && isspace((unsigned char)*s)) s++;
        if (le - s > 2 && s[0] == '-' && s[1] == '-') {
            s += 2;
            while (s < le && *s == ' ') s++;
            if ((size_t)(le - s) > kl && !strncasecmp(s, key, kl) && s[kl] == ':') {
                s += kl + 1;
                while (s < le && *s == ' ') s++;
                size_t l = (size_t)(le - s);
                while (l && isspace((unsigned char)s[l - 1])) l--;
                if (l >= bufsz) l = bufsz - 1;
                memcpy(buf, s, l);
                buf[l] = 0;
                return buf;
            }
        }
        p = le + 1;
    }
    return NULL;
}

int km_stateful_load_sql(km_ruleset *rs, const char *name, const char *text, size_t len, int builtin, km_error *err) {
    km_rule r;
    memset(&r, 0, sizeof r);
    r.builtin = builtin;
    r.file = name;
    char id[200], title[400], sev[40], sc[100], desc[1000], resp[1000];
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    if (!meta(text, len, "id", id, sizeof id)) {
        size_t k = 0;
        k += (size_t)snprintf(id, sizeof id, "KM-SQL-");
        for (const char *s = base; *s && *s != '.' && k + 1 < sizeof id; s++) id[k++] = isalnum((unsigned char)*s) ? (char)toupper((unsigned char)*s) : '-';
        id[k] = 0;
    }
    r.id = id;
    r.title = meta(text, len, "title", title, sizeof title);
    if (!r.title) {
        snprintf(title, sizeof title, "Athena threshold query %s", base);
        r.title = title;
    }
    r.description = meta(text, len, "description", desc, sizeof desc);
    if (!r.description) r.description = "A threshold written as an Athena query over the CloudTrail table.";
    r.response = meta(text, len, "response", resp, sizeof resp);
    if (!r.response) r.response = "Find who made the calls and whether they were expected; contain the principal if not.";
    r.severity = KM_SEV_MEDIUM;
    if (meta(text, len, "severity", sev, sizeof sev) && km_severity_parse(sev, &r.severity))
        return km_error_set(err, KM_ERR, (size_t)-1, "%s: -- severity: '%s' is not critical, high, medium, low or info", name, sev);
    r.scenarios = KM_SCENARIO_BIT(2);
    r.primary_scenario = 2;
    if (meta(text, len, "scenarios", sc, sizeof sc)) {
        r.scenarios = 0;
        r.primary_scenario = 0;
        for (char *s = sc; *s; s++) {
            if (*s == 'S' && s[1] >= '1' && s[1] <= '7') {
                r.scenarios |= KM_SCENARIO_BIT(s[1] - '0');
                if (!r.primary_scenario) r.primary_scenario = s[1] - '0';
            }
        }
        if (!r.scenarios) return km_error_set(err, KM_ERR, (size_t)-1, "%s: -- scenarios: needs S1..S7", name);
    }
    return km_stateful_sql_into(rs, &r, name, text, len, 0, text, len, err);
}

/* ---- finishing the set ---- */

static void fin_err(km_ruleset *rs, int *rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fin_err(km_ruleset *rs, int *rc, const char *fmt, ...) {
    char m[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    km_ruleset_add_error(rs, m);
    *rc = KM_ERR;
}

static km_severity sev_of(const char *level) {
    if (!level) return KM_SEV_MEDIUM;
    if (!strcmp(level, "informational")) return KM_SEV_INFO;
    if (!strcmp(level, "low")) return KM_SEV_LOW;
    if (!strcmp(level, "high")) return KM_SEV_HIGH;
    if (!strcmp(level, "critical")) return KM_SEV_CRITICAL;
    return KM_SEV_MEDIUM;
}

/* The rule id a Sigma rule gets in the set: its id, else its name, else file#index. */
static const char *sigma_rule_id(const km_sigma_set *s, size_t i, char *buf, size_t bufsz) {
    const km_sigma_info *in = km_sigma_get(s, i);
    if (in->id) return in->id;
    if (in->name) return in->name;
    /* a piece of a legacy aggregation: the correlation that reads it names it */
    for (size_t c = 0; c < km_sigma_count(s); c++) {
        const km_sigma_info *ci = km_sigma_get(s, c);
        if (ci->kind != KM_SIGMA_CORRELATION) continue;
        for (size_t j = 0; j < ci->ncorr_rules; j++)
            if (ci->corr_rules[j] == i && (ci->id || ci->name)) {
                snprintf(buf, bufsz, "%s#%zu", ci->id ? ci->id : ci->name, j + 1);
                return buf;
            }
    }
    const char *base = strrchr(in->file, '/');
    snprintf(buf, bufsz, "%s#%zu", base ? base + 1 : in->file, i + 1);
    return buf;
}

static int add_sigma(km_ruleset *rs, km_sigma_set *s, km_error *err) {
    int rc = KM_OK;
    size_t n = km_sigma_count(s);
    char (*ids)[300] = calloc(n ? n : 1, sizeof *ids);
    if (!ids) return km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const char *idv = sigma_rule_id(s, i, ids[i], sizeof ids[i]);
        if (idv != ids[i]) snprintf(ids[i], sizeof ids[i], "%s", idv);
    }
    for (size_t i = 0; i < n; i++) {
        const km_sigma_info *in = km_sigma_get(s, i);
        km_rule r;
        memset(&r, 0, sizeof r);
        r.id = ids[i];
        r.title = in->title;
        r.description = in->description ? in->description : "";
        char resp[1200];
        if (in->response) r.response = in->response;
        else {
            size_t k = (size_t)snprintf(resp, sizeof resp, "Review the event against the Sigma rule's intent");
            for (size_t f = 0; f < in->nfalsepositives && k < sizeof resp; f++)
                k += (size_t)snprintf(resp + k, sizeof resp - k, "%s%s", f ? "; " : " (known false positives: ", in->falsepositives[f]);
            if (in->nfalsepositives && k < sizeof resp) snprintf(resp + k, sizeof resp - k, ")");
            r.response = resp;
        }
        r.severity = sev_of(in->level);
        r.scenarios = in->scenarios;
        for (int b = 1; b <= 7 && !r.primary_scenario; b++)
            if (r.scenarios & KM_SCENARIO_BIT(b)) r.primary_scenario = b;
        const char *mitre[64];
        char tech[64][16];
        for (size_t t = 0; t < in->ntags && r.nmitre < 64; t++) {
            const char *g = in->tags[t];
            if (strncasecmp(g, "attack.t", 8) || !isdigit((unsigned char)g[8])) continue;
            snprintf(tech[r.nmitre], sizeof tech[0], "T%s", g + 8);
            for (char *q = tech[r.nmitre]; *q; q++) *q = (char)toupper((unsigned char)*q);
            mitre[r.nmitre] = tech[r.nmitre];
            r.nmitre++;
        }
        r.mitre = mitre;
        r.references = in->references;
        r.nreferences = in->nreferences;
        r.file = in->file;
        r.hidden = !in->reported;
        r.sigma_index = i;
        const char *inputs[64];
        const char *gf[64 * 8];
        if (in->kind == KM_SIGMA_DETECTION) {
            r.kind = KM_RULE_SIGMA;
            const char *const *pats;
            r.npatterns = km_sigma_prefilter(s, i, &pats);
            r.patterns = pats;
            r.sigma_exact = km_sigma_prefilter_exact(s, i);
        } else {
            r.kind = KM_RULE_CORRELATION;
            r.corr_type = in->corr_type;
            if (in->ncorr_rules > 64) {
                fin_err(rs, &rc, "%s:%zu:1: rule '%s': more than 64 rules in a correlation", in->file, in->line, in->title);
                continue;
            }
            for (size_t j = 0; j < in->ncorr_rules; j++) inputs[j] = ids[in->corr_rules[j]];
            r.inputs = inputs;
            r.ninputs = in->ncorr_rules;
            r.group_by = in->group_by;
            r.ngroup = in->ngroup_by;
            if (in->ngroup_by && in->ngroup_by * in->ncorr_rules <= 64 * 8) {
                for (size_t j = 0; j < in->ncorr_rules; j++)
                    for (size_t g = 0; g < in->ngroup_by; g++) gf[j * in->ngroup_by + g] = km_sigma_group_field(s, i, j, g);
                r.group_fields = gf;
            }
            r.value_field = in->value_field;
            r.span_ms = in->timespan_ms;
            r.cond = in->cond;
            r.has_cond = in->has_cond;
        }
        km_error e;
        if (km_ruleset_add_rule(rs, &r, &e) != KM_OK) fin_err(rs, &rc, "%s:%zu:1: rule '%s': %s", in->file, in->line, in->title, e.msg);
    }
    free(ids);
    return rc;
}

int km_ruleset_finish(km_ruleset *rs, km_error *err) {
    int rc = KM_OK;
    km_error_clear(err);
    km_sigma_set *s = km_ruleset_sigma(rs);
    if (s) {
        km_error e;
        km_sigma_set_finish(s, &e);
        for (size_t i = 0; i < km_sigma_error_count(s); i++) fin_err(rs, &rc, "%s", km_sigma_error(s, i));
        if (add_sigma(rs, s, err) != KM_OK) rc = KM_ERR;
    }
    /* every input of a stateful rule exists */
    for (size_t i = 0; i < km_ruleset_count(rs); i++) {
        const km_rule *r = km_ruleset_get(rs, i);
        if (r->kind != KM_RULE_THRESHOLD && r->kind != KM_RULE_CORRELATION) continue;
        for (size_t j = 0; j < r->ninputs; j++)
            if (!km_ruleset_find(rs, r->inputs[j]))
                fin_err(rs, &rc, "%s: rule %s reads rule \"%s\", which is not loaded", r->file, r->id, r->inputs[j]);
    }
    if (rc != KM_OK && km_ruleset_error_count(rs)) km_error_set(err, KM_ERR, (size_t)-1, "%s", km_ruleset_error(rs, km_ruleset_error_count(rs) - 1));
    return rc;
}
