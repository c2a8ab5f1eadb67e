/* Policy documents: JSON -> compiled statements. Every element AWS defines is read; anything
 * AWS would reject as malformed is an error naming the statement, the element and the byte
 * position; things AWS accepts but that cannot do what the author meant for this kind of
 * policy become warnings (the statement is still evaluated the way AWS would). */
#include "iam/iam_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POLICY_MAX_BYTES (4u << 20)

static const char *kind_names[KM_IAM_KIND_COUNT] = {
    "identity", "resource", "scp", "rcp", "boundary", "session", "endpoint", "trust", "key"};

const char *km_iam_kind_name(km_iam_policy_kind kind) {
    return (unsigned)kind < KM_IAM_KIND_COUNT ? kind_names[kind] : "?";
}

typedef struct pctx {
    km_iam_policy *p;
    const char *text;
    size_t len;
    km_error *err;
    size_t st_index; /* 1-based, 0 outside statements */
    const char *sid;
    int oom; /* a warning could not be kept: the policy would look cleaner than it is */
} pctx;

static void where(pctx *c, size_t off, char *buf, size_t n) {
    if (off == (size_t)-1) {
        buf[0] = 0;
        return;
    }
    if (c->text && off <= c->len) {
        size_t line, col;
        km_json_line_col(c->text, c->len, off, &line, &col);
        snprintf(buf, n, " (byte %zu, line %zu, column %zu)", off, line, col);
    } else {
        snprintf(buf, n, " (byte %zu)", off);
    }
}

static void stmt_label(pctx *c, char *buf, size_t n) {
    if (!c->st_index) {
        buf[0] = 0;
        return;
    }
    if (c->sid && *c->sid)
        snprintf(buf, n, "statement %zu (Sid \"%.60s\"), ", c->st_index, c->sid);
    else
        snprintf(buf, n, "statement %zu, ", c->st_index);
}

static int perr(pctx *c, const km_json *v, const char *element, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int perr(pctx *c, const km_json *v, const char *element, const char *fmt, ...) {
    char msg[300], loc[96], lab[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t off = v ? v->offset : (size_t)-1;
    where(c, off, loc, sizeof loc);
    stmt_label(c, lab, sizeof lab);
    km_error_set(c->err, KM_ERR, off, "%s%s: %s%s", lab, element, msg, loc);
    return -1;
}

static void pwarn(pctx *c, const km_json *v, const char *element, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void pwarn(pctx *c, const km_json *v, const char *element, const char *fmt, ...) {
    km_iam_policy *p = c->p;
    if (p->nwarn >= 64) return;
    char msg[300], loc[96], lab[128], full[640];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    where(c, v ? v->offset : (size_t)-1, loc, sizeof loc);
    stmt_label(c, lab, sizeof lab);
    snprintf(full, sizeof full, "%s%s: %s%s", lab, element, msg, loc);
    if (p->nwarn == p->warn_cap) {
        size_t nc = p->warn_cap ? p->warn_cap * 2 : 4;
        const char **nw = km_arena_alloc(&p->arena, nc * sizeof *nw);
        if (!nw) { c->oom = 1; return; }
        if (p->nwarn) memcpy(nw, p->warn, p->nwarn * sizeof *nw);
        p->warn = nw;
        p->warn_cap = nc;
    }
    char *d = km_arena_strndup(&p->arena, full, strlen(full));
    if (d) p->warn[p->nwarn++] = d;
    else c->oom = 1;
}

static char *adup(pctx *c, const char *s, size_t n) { return km_arena_strndup(&c->p->arena, s, n); }

static int nomem(pctx *c) {
    km_error_set(c->err, KM_ENOMEM, (size_t)-1, "out of memory while compiling a policy");
    return -1;
}

/* ---- ARNs -------------------------------------------------------------------------------- */

int iam_arn_split(const char *s, size_t n, iam_arn *out) {
    memset(out, 0, sizeof *out);
    if (n < 4 || memcmp(s, "arn:", 4) != 0) return 0;
    size_t start = 0;
    int k = 0;
    for (size_t i = 0; i <= n && k < 6; i++) {
        if (k == 5) {
            out->seg[5] = s + start;
            out->len[5] = n - start;
            k = 6;
            break;
        }
        if (i == n || s[i] == ':') {
            out->seg[k] = s + start;
            out->len[k] = i - start;
            k++;
            start = i + 1;
            if (i == n) break;
        }
    }
    return k;
}

/* ---- elements ---------------------------------------------------------------------------- */

/* A string or a non-empty array of strings; calls fn for each. */
typedef int (*each_fn)(pctx *c, const km_json *v, void *slot);

static int string_list(pctx *c, const km_json *v, const char *element, size_t *count) {
    if (v->type == KM_JSON_STRING) {
        *count = 1;
        return 0;
    }
    if (v->type != KM_JSON_ARRAY)
        return perr(c, v, element, "must be a string or an array of strings, not %s",
                    km_json_type_name(v->type));
    if (v->u.arr.n == 0) return perr(c, v, element, "must not be an empty array");
    for (size_t i = 0; i < v->u.arr.n; i++)
        if (v->u.arr.items[i]->type != KM_JSON_STRING)
            return perr(c, v->u.arr.items[i], element, "item %zu must be a string, not %s", i + 1,
                        km_json_type_name(v->u.arr.items[i]->type));
    *count = v->u.arr.n;
    return 0;
}

static const km_json *list_item(const km_json *v, size_t i) {
    return v->type == KM_JSON_STRING ? v : v->u.arr.items[i];
}

static int all_stars(const char *s, size_t n) {
    if (!n) return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] != '*') return 0;
    return 1;
}

static int parse_actions(pctx *c, iam_stmt *st, const km_json *v, const char *element) {
    size_t n;
    if (string_list(c, v, element, &n) < 0) return -1;
    st->act = km_arena_alloc(&c->p->arena, n * sizeof *st->act);
    if (!st->act) return nomem(c);
    st->nact = n;
    for (size_t i = 0; i < n; i++) {
        const km_json *it = list_item(v, i);
        const char *s = it->u.str.s;
        size_t sl = it->u.str.len;
        iam_action *a = &st->act[i];
        a->raw = adup(c, s, sl);
        if (!a->raw) return nomem(c);
        if (all_stars(s, sl)) {
            a->all = 1;
            continue;
        }
        const char *colon = memchr(s, ':', sl);
        if (!colon) {
            a->invalid = 1;
            pwarn(c, it, element, "\"%.80s\" is not service:action; it matches no action", s);
            continue;
        }
        size_t svl = (size_t)(colon - s);
        char *svc = km_arena_alloc(&c->p->arena, svl + 1);
        if (!svc) return nomem(c);
        for (size_t k = 0; k < svl; k++) svc[k] = iam_lc(s[k]);
        a->svc = svc;
        a->svc_len = svl;
        a->name = a->raw + svl + 1;
        a->name_len = sl - svl - 1;
        int blank = a->name_len == 0;
        for (size_t k = 0; k < a->name_len; k++)
            if (a->name[k] == ' ' || a->name[k] == '\t' || a->name[k] == '\n' || a->name[k] == '\r')
                blank = 1;
        for (size_t k = 0; k < svl; k++)
            if (s[k] == ' ' || s[k] == '\t') blank = 1;
        if (memchr(a->name, ':', a->name_len)) blank = 1;
        if (blank) {
            a->invalid = 1;
            pwarn(c, it, element, "\"%.80s\" has an empty action name, white space or a second ':'; "
                  "it matches no action", s);
        }
    }
    return 0;
}

static int parse_resources(pctx *c, iam_stmt *st, const km_json *v, const char *element) {
    size_t n = 0; /* set by string_list unless it fails */
    if (string_list(c, v, element, &n) < 0) return -1;
    st->res = km_arena_alloc(&c->p->arena, n * sizeof *st->res);
    if (!st->res) return nomem(c);
    st->nres = n;
    for (size_t i = 0; i < n; i++) {
        const km_json *it = list_item(v, i);
        iam_resource *r = &st->res[i];
        size_t sl = it->u.str.len;
        char *raw = adup(c, it->u.str.s, sl);
        if (!raw) return nomem(c);
        r->raw = raw;
        r->raw_len = sl;
        r->any_wild = memchr(raw, '*', sl) != NULL;
        if (all_stars(raw, sl)) {
            r->all = 1;
            continue;
        }
        int k = iam_arn_split(raw, sl, &r->arn);
        if (!k) {
            pwarn(c, it, element, "\"%.80s\" is neither \"*\" nor an ARN; it matches nothing", raw);
            continue;
        }
        r->is_arn = 1;
        r->nseg = (uint8_t)k;
        const char *last = r->arn.seg[k - 1];
        size_t lastn = r->arn.len[k - 1];
        r->trailing_wild = lastn && last[lastn - 1] == '*';
        for (int j = k; j < 6; j++) {
            r->arn.seg[j] = "*";
            r->arn.len[j] = 1;
        }
        r->has_var = c->p->vars && iam_has_var(r->arn.seg[5], r->arn.len[5]);
        if (k >= 3 && (memchr(r->arn.seg[2], '*', r->arn.len[2]) || memchr(r->arn.seg[2], '?', r->arn.len[2])))
            pwarn(c, it, element, "\"%.80s\" has a wildcard in the service segment, which AWS does "
                  "not allow", raw);
    }
    return 0;
}

static int is_account_id(const char *s, size_t n) {
    if (n != 12) return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return 0;
    return 1;
}

static int is_unique_id(const char *s, size_t n) {
    if (n < 2 || s[0] != 'A') return 0;
    for (size_t i = 1; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'Z'))) return 0;
    return 1;
}

/* arn:<partition>:iam::<12 digits>:root */
static int account_root_arn(const char *s, size_t n, char acct[13]) {
    iam_arn a;
    if (iam_arn_split(s, n, &a) != 6) return 0;
    if (!(a.len[2] == 3 && memcmp(a.seg[2], "iam", 3) == 0) || a.len[3] != 0) return 0;
    if (!is_account_id(a.seg[4], a.len[4])) return 0;
    if (!(a.len[5] == 4 && memcmp(a.seg[5], "root", 4) == 0)) return 0;
    memcpy(acct, a.seg[4], 12);
    acct[12] = 0;
    return 1;
}

static int principal_value(pctx *c, const km_json *it, const char *element, const char *type,
                           iam_principal *pr) {
    pr->type_name = adup(c, type, strlen(type));
    pr->value = adup(c, it->u.str.s, it->u.str.len);
    if (!pr->type_name || !pr->value) return nomem(c);
    const char *s = it->u.str.s;
    size_t sl = it->u.str.len;
    if (strcmp(type, "AWS") == 0) {
        if (all_stars(s, sl)) pr->type = PR_WILDCARD;
        else if (is_account_id(s, sl)) {
            pr->type = PR_ACCOUNT;
            memcpy(pr->account, s, 12);
        } else if (account_root_arn(s, sl, pr->account)) pr->type = PR_ACCOUNT;
        else if (is_unique_id(s, sl)) pr->type = PR_UNIQUE_ID;
        else {
            pr->type = PR_ARN;
            if (sl < 4 || memcmp(s, "arn:", 4) != 0)
                pwarn(c, it, element, "\"%.80s\" is not an ARN, an account id or \"*\"", s);
            else if (memchr(s, '*', sl) || memchr(s, '?', sl))
                pwarn(c, it, element, "\"%.80s\": wildcards are not allowed in principal ARNs "
                      "(only \"*\" alone); it matches only itself", s);
        }
    } else if (strcmp(type, "Service") == 0) {
        pr->type = PR_SERVICE;
    } else if (strcmp(type, "Federated") == 0) {
        pr->type = PR_FEDERATED;
    } else {
        pr->type = PR_CANONICAL;
    }
    return 0;
}

static int parse_principals(pctx *c, iam_stmt *st, const km_json *v, const char *element) {
    if (v->type == KM_JSON_STRING && all_stars(v->u.str.s, v->u.str.len)) {
        st->pr = km_arena_alloc(&c->p->arena, sizeof *st->pr);
        if (!st->pr) return nomem(c);
        st->npr = 1;
        st->pr[0].type = PR_WILDCARD;
        st->pr[0].type_name = "*";
        st->pr[0].value = "*";
        return 0;
    }
    if (v->type == KM_JSON_STRING) {
        pwarn(c, v, element, "AWS documents only \"*\" as a string principal; \"%.80s\" is read as "
              "{\"AWS\": \"%.80s\"}", v->u.str.s, v->u.str.s);
        st->pr = km_arena_alloc(&c->p->arena, sizeof *st->pr);
        if (!st->pr) return nomem(c);
        st->npr = 1;
        return principal_value(c, v, element, "AWS", &st->pr[0]);
    }
    if (v->type != KM_JSON_OBJECT)
        return perr(c, v, element, "must be \"*\" or an object such as {\"AWS\": [...]}, not %s",
                    km_json_type_name(v->type));
    size_t total = 0;
    for (size_t i = 0; i < v->u.obj.n; i++) {
        const km_json_member *m = &v->u.obj.members[i];
        static const char *types[] = {"AWS", "Service", "Federated", "CanonicalUser"};
        int ok = 0;
        for (int t = 0; t < 4; t++)
            if (strcmp(m->key, types[t]) == 0) ok = 1;
        if (!ok)
            return perr(c, m->value, element,
                        "unknown principal type \"%.40s\" (AWS, Service, Federated or CanonicalUser)",
                        m->key);
        size_t n;
        char el[64];
        snprintf(el, sizeof el, "%s.%s", element, m->key);
        if (string_list(c, m->value, el, &n) < 0) return -1;
        total += n;
    }
    if (total == 0) return perr(c, v, element, "names no principal");
    st->pr = km_arena_alloc(&c->p->arena, total * sizeof *st->pr);
    if (!st->pr) return nomem(c);
    size_t k = 0;
    for (size_t i = 0; i < v->u.obj.n; i++) {
        const km_json_member *m = &v->u.obj.members[i];
        size_t n = m->value->type == KM_JSON_STRING ? 1 : m->value->u.arr.n;
        for (size_t j = 0; j < n; j++) {
            if (principal_value(c, list_item(m->value, j), element, m->key, &st->pr[k++]) < 0) return -1;
        }
    }
    st->npr = total;
    return 0;
}

/* ---- conditions -------------------------------------------------------------------------- */

static const struct {
    const char *name;
    iam_op op;
} op_table[] = {
    {"StringEquals", OP_STRING_EQUALS},
    {"StringNotEquals", OP_STRING_NOT_EQUALS},
    {"StringEqualsIgnoreCase", OP_STRING_EQUALS_IC},
    {"StringNotEqualsIgnoreCase", OP_STRING_NOT_EQUALS_IC},
    {"StringLike", OP_STRING_LIKE},
    {"StringNotLike", OP_STRING_NOT_LIKE},
    {"NumericEquals", OP_NUM_EQ},
    {"NumericNotEquals", OP_NUM_NE},
    {"NumericLessThan", OP_NUM_LT},
    {"NumericLessThanEquals", OP_NUM_LE},
    {"NumericGreaterThan", OP_NUM_GT},
    {"NumericGreaterThanEquals", OP_NUM_GE},
    {"DateEquals", OP_DATE_EQ},
    {"DateNotEquals", OP_DATE_NE},
    {"DateLessThan", OP_DATE_LT},
    {"DateLessThanEquals", OP_DATE_LE},
    {"DateGreaterThan", OP_DATE_GT},
    {"DateGreaterThanEquals", OP_DATE_GE},
    {"Bool", OP_BOOL},
    {"BinaryEquals", OP_BINARY_EQUALS},
    {"IpAddress", OP_IP},
    {"NotIpAddress", OP_NOT_IP},
    {"ArnEquals", OP_ARN_EQUALS},
    {"ArnLike", OP_ARN_LIKE},
    {"ArnNotEquals", OP_ARN_NOT_EQUALS},
    {"ArnNotLike", OP_ARN_NOT_LIKE},
    {"Null", OP_NULL},
};

int iam_op_negated(iam_op op) {
    return op == OP_STRING_NOT_EQUALS || op == OP_STRING_NOT_EQUALS_IC || op == OP_STRING_NOT_LIKE ||
           op == OP_NUM_NE || op == OP_DATE_NE || op == OP_NOT_IP || op == OP_ARN_NOT_EQUALS ||
           op == OP_ARN_NOT_LIKE;
}

static int op_lookup(const char *s, size_t n, iam_op *op) {
    for (size_t i = 0; i < sizeof op_table / sizeof op_table[0]; i++)
        if (iam_ieq(s, n, op_table[i].name, strlen(op_table[i].name))) {
            *op = op_table[i].op;
            return 1;
        }
    return 0;
}

/* "ForAnyValue:StringLikeIfExists" -> set, base op, if_exists. */
static int parse_operator(pctx *c, const km_json *where_v, const char *raw, iam_cond *cd) {
    size_t n = strlen(raw);
    const char *s = raw;
    const char *colon = memchr(s, ':', n);
    if (colon) {
        size_t pl = (size_t)(colon - s);
        if (iam_ieq(s, pl, "ForAllValues", 12)) cd->set = SET_FOR_ALL;
        else if (iam_ieq(s, pl, "ForAnyValue", 11)) cd->set = SET_FOR_ANY;
        else
            return perr(c, where_v, "Condition",
                        "unknown set operator \"%.*s\" (ForAllValues or ForAnyValue)", (int)pl, s);
        s = colon + 1;
        n -= pl + 1;
    }
    if (iam_iends(s, n, "IfExists") && n > 8) {
        cd->if_exists = 1;
        n -= 8;
    }
    if (!op_lookup(s, n, &cd->op))
        return perr(c, where_v, "Condition", "unknown condition operator \"%.80s\"", raw);
    if (cd->op == OP_NULL && (cd->if_exists || cd->set))
        return perr(c, where_v, "Condition", "\"%.80s\": Null takes neither IfExists nor a set operator",
                    raw);
    return 0;
}

static int value_text(pctx *c, const km_json *v, const char *element, const char **s, size_t *n) {
    switch (v->type) {
    case KM_JSON_STRING: *s = v->u.str.s; *n = v->u.str.len; return 0;
    case KM_JSON_NUMBER: *s = v->u.num.raw; *n = v->u.num.len; return 0;
    case KM_JSON_TRUE: *s = "true"; *n = 4; return 0;
    case KM_JSON_FALSE: *s = "false"; *n = 5; return 0;
    default:
        return perr(c, v, element, "a condition value must be a string, number or boolean, or an "
                    "array of them, not %s", km_json_type_name(v->type));
    }
}

static void preparse_value(pctx *c, const km_json *v, const char *element, iam_cond *cd,
                           iam_cvalue *cv) {
    cv->ok = 1;
    switch (cd->op) {
    case OP_NUM_EQ: case OP_NUM_NE: case OP_NUM_LT: case OP_NUM_LE: case OP_NUM_GT: case OP_NUM_GE:
        if (!iam_parse_number(cv->s, cv->len, &cv->num)) {
            cv->ok = 0;
            pwarn(c, v, element, "\"%.60s\" is not a number; this value never matches", cv->s);
        }
        break;
    case OP_DATE_EQ: case OP_DATE_NE: case OP_DATE_LT: case OP_DATE_LE: case OP_DATE_GT: case OP_DATE_GE:
        if (!iam_parse_date(cv->s, cv->len, &cv->date_ms)) {
            cv->ok = 0;
            pwarn(c, v, element, "\"%.60s\" is not an ISO 8601 date or epoch seconds; this value "
                  "never matches", cv->s);
        }
        break;
    case OP_IP: case OP_NOT_IP:
        if (!iam_parse_cidr(cv->s, cv->len, &cv->cidr)) {
            cv->ok = 0;
            pwarn(c, v, element, "\"%.60s\" is not an IPv4/IPv6 address or CIDR block; this value "
                  "never matches", cv->s);
        }
        break;
    case OP_BOOL:
        if (!cv->has_var && !iam_ieq(cv->s, cv->len, "true", 4) && !iam_ieq(cv->s, cv->len, "false", 5)) {
            cv->ok = 0;
            pwarn(c, v, element, "\"%.60s\" is not true or false; this value never matches", cv->s);
        }
        break;
    default:
        break;
    }
}

static int op_takes_vars(iam_op op) {
    return op <= OP_STRING_NOT_LIKE || op == OP_BOOL || (op >= OP_ARN_EQUALS && op <= OP_ARN_NOT_LIKE);
}

static int parse_condition(pctx *c, iam_stmt *st, const km_json *v) {
    if (v->type != KM_JSON_OBJECT)
        return perr(c, v, "Condition", "must be an object of operators, not %s",
                    km_json_type_name(v->type));
    size_t total = 0;
    for (size_t i = 0; i < v->u.obj.n; i++) {
        const km_json_member *m = &v->u.obj.members[i];
        char el[160];
        snprintf(el, sizeof el, "Condition.%.100s", m->key);
        if (m->value->type != KM_JSON_OBJECT)
            return perr(c, m->value, el, "must be an object of condition keys, not %s",
                        km_json_type_name(m->value->type));
        if (m->value->u.obj.n == 0) return perr(c, m->value, el, "names no condition key");
        total += m->value->u.obj.n;
    }
    if (!total) return 0; /* "Condition": {} (every operator names a key, so no operator either) */
    st->cond = km_arena_alloc(&c->p->arena, total * sizeof *st->cond);
    if (!st->cond) return nomem(c);
    size_t k = 0;
    for (size_t i = 0; i < v->u.obj.n; i++) {
        const km_json_member *m = &v->u.obj.members[i];
        iam_cond proto;
        memset(&proto, 0, sizeof proto);
        if (parse_operator(c, m->value, m->key, &proto) < 0) return -1;
        proto.op_raw = adup(c, m->key, strlen(m->key));
        if (!proto.op_raw) return nomem(c);
        for (size_t j = 0; j < m->value->u.obj.n; j++) {
            const km_json_member *kv = &m->value->u.obj.members[j];
            char el[200];
            snprintf(el, sizeof el, "Condition.%.80s.%.100s", m->key, kv->key);
            iam_cond *cd = &st->cond[k++];
            *cd = proto;
            cd->key_len = kv->key_len;
            cd->key = adup(c, kv->key, kv->key_len);
            char *lk = km_arena_alloc(&c->p->arena, kv->key_len + 1);
            if (!cd->key || !lk) return nomem(c);
            for (size_t q = 0; q < kv->key_len; q++) lk[q] = iam_lc(kv->key[q]);
            cd->lkey = lk;
            if (kv->key_len == 0) return perr(c, kv->value, el, "the condition key is empty");
            const km_json *vals = kv->value;
            size_t nv = 1;
            if (vals->type == KM_JSON_ARRAY) {
                nv = vals->u.arr.n;
                if (nv == 0) return perr(c, vals, el, "needs at least one value");
            }
            cd->v = km_arena_alloc(&c->p->arena, nv * sizeof *cd->v);
            if (!cd->v) return nomem(c);
            cd->nv = nv;
            for (size_t q = 0; q < nv; q++) {
                const km_json *it = vals->type == KM_JSON_ARRAY ? vals->u.arr.items[q] : vals;
                const char *s = NULL;
                size_t sl = 0;
                if (value_text(c, it, el, &s, &sl) < 0) return -1;
                iam_cvalue *cv = &cd->v[q];
                cv->s = adup(c, s, sl);
                if (!cv->s) return nomem(c);
                cv->len = sl;
                cv->has_var = c->p->vars && op_takes_vars(cd->op) && iam_has_var(s, sl);
                preparse_value(c, it, el, cd, cv);
                if (cd->op == OP_NULL && !iam_ieq(s, sl, "true", 4) && !iam_ieq(s, sl, "false", 5))
                    pwarn(c, it, el, "Null takes true or false, not \"%.60s\"; this value never "
                          "matches", s);
            }
            if (cd->set && iam_istarts(cd->key, cd->key_len, "aws:") &&
                (iam_istarts(cd->key, cd->key_len, "aws:RequestTag/") ||
                 iam_istarts(cd->key, cd->key_len, "aws:ResourceTag/") ||
                 iam_istarts(cd->key, cd->key_len, "aws:PrincipalTag/") ||
                 iam_ieq(cd->key, cd->key_len, "aws:MultiFactorAuthPresent", 26) ||
                 iam_ieq(cd->key, cd->key_len, "aws:SourceIp", 12) ||
                 iam_ieq(cd->key, cd->key_len, "aws:PrincipalArn", 16)))
                pwarn(c, kv->value, el, "%s on the single-valued key %s: with an absent key "
                      "ForAllValues is true and ForAnyValue false, which is rarely what is meant",
                      cd->set == SET_FOR_ALL ? "ForAllValues" : "ForAnyValue", cd->key);
            if (cd->op == OP_BOOL && iam_ieq(cd->key, cd->key_len, "aws:MultiFactorAuthPresent", 26) &&
                !cd->if_exists && st->deny && cd->nv == 1 && iam_ieq(cd->v[0].s, cd->v[0].len, "false", 5))
                pwarn(c, kv->value, el, "Deny with Bool aws:MultiFactorAuthPresent=false does not "
                      "stop long-term access keys (the key is absent for them); use BoolIfExists");
        }
    }
    st->ncond = total;
    return 0;
}

/* ---- statements -------------------------------------------------------------------------- */

static const char *stmt_keys[] = {"Sid", "Effect", "Action", "NotAction", "Resource",
                                  "NotResource", "Principal", "NotPrincipal", "Condition"};

static int parse_statement(pctx *c, const km_json *v, iam_stmt *st) {
    if (v->type != KM_JSON_OBJECT)
        return perr(c, v, "Statement", "must be an object, not %s", km_json_type_name(v->type));
    const km_json *sid = NULL, *effect = NULL, *action = NULL, *naction = NULL, *resource = NULL,
                  *nresource = NULL, *principal = NULL, *nprincipal = NULL, *condition = NULL;
    for (size_t i = 0; i < v->u.obj.n; i++) {
        const km_json_member *m = &v->u.obj.members[i];
        const km_json **slot = NULL;
        const km_json **slots[] = {&sid, &effect, &action, &naction, &resource,
                                   &nresource, &principal, &nprincipal, &condition};
        for (size_t k = 0; k < sizeof stmt_keys / sizeof stmt_keys[0]; k++) {
            if (strcmp(m->key, stmt_keys[k]) == 0) slot = slots[k];
        }
        if (!slot) {
            for (size_t k = 0; k < sizeof stmt_keys / sizeof stmt_keys[0]; k++)
                if (iam_ieq(m->key, m->key_len, stmt_keys[k], strlen(stmt_keys[k])))
                    return perr(c, m->value, m->key, "unknown element (element names are "
                                "case-sensitive: write \"%s\")", stmt_keys[k]);
            return perr(c, m->value, m->key, "unknown element (a statement has Sid, Effect, "
                        "Action/NotAction, Resource/NotResource, Principal/NotPrincipal, Condition)");
        }
        if (*slot) return perr(c, m->value, m->key, "appears twice in the statement");
        *slot = m->value;
    }
    if (sid) {
        if (sid->type != KM_JSON_STRING) return perr(c, sid, "Sid", "must be a string");
        st->sid = adup(c, sid->u.str.s, sid->u.str.len);
        if (!st->sid) return nomem(c);
        c->sid = st->sid;
    }
    if (!effect) return perr(c, v, "Effect", "is missing (\"Allow\" or \"Deny\")");
    if (effect->type != KM_JSON_STRING) return perr(c, effect, "Effect", "must be \"Allow\" or \"Deny\"");
    if (strcmp(effect->u.str.s, "Allow") == 0) st->deny = 0;
    else if (strcmp(effect->u.str.s, "Deny") == 0) st->deny = 1;
    else return perr(c, effect, "Effect", "must be \"Allow\" or \"Deny\" (case-sensitive), not \"%.40s\"",
                     effect->u.str.s);
    if (action && naction) return perr(c, naction, "NotAction", "a statement has Action or NotAction, not both");
    if (!action && !naction) return perr(c, v, "Action", "is missing (Action or NotAction)");
    st->not_action = naction != NULL;
    if (parse_actions(c, st, action ? action : naction, action ? "Action" : "NotAction") < 0) return -1;
    if (resource && nresource)
        return perr(c, nresource, "NotResource", "a statement has Resource or NotResource, not both");
    if (resource || nresource) {
        st->has_resource = 1;
        st->not_resource = nresource != NULL;
        if (parse_resources(c, st, resource ? resource : nresource,
                            resource ? "Resource" : "NotResource") < 0)
            return -1;
    }
    if (principal && nprincipal)
        return perr(c, nprincipal, "NotPrincipal", "a statement has Principal or NotPrincipal, not both");
    if (principal || nprincipal) {
        st->has_principal = 1;
        st->not_principal = nprincipal != NULL;
        if (parse_principals(c, st, principal ? principal : nprincipal,
                             principal ? "Principal" : "NotPrincipal") < 0)
            return -1;
    }
    if (condition && parse_condition(c, st, condition) < 0) return -1;

    /* What AWS would refuse for this kind of policy, or what cannot work. */
    km_iam_policy_kind k = c->p->kind;
    int principal_kind = k == KM_IAM_RESOURCE || k == KM_IAM_TRUST || k == KM_IAM_KEY || k == KM_IAM_ENDPOINT;
    if ((principal || nprincipal) && !principal_kind && k != KM_IAM_RCP)
        pwarn(c, principal ? principal : nprincipal, principal ? "Principal" : "NotPrincipal",
              "a %s policy cannot name principals (AWS rejects it); the element is ignored",
              km_iam_kind_name(k));
    if (!principal && !nprincipal && (k == KM_IAM_RESOURCE || k == KM_IAM_TRUST || k == KM_IAM_KEY))
        pwarn(c, v, "Principal", "missing: in a %s policy this statement applies to no principal",
              km_iam_kind_name(k));
    if (nprincipal && (k == KM_IAM_TRUST))
        pwarn(c, nprincipal, "NotPrincipal", "role trust policies cannot use NotPrincipal");
    if (nprincipal && !st->deny && principal_kind)
        pwarn(c, nprincipal, "NotPrincipal", "Allow with NotPrincipal grants access to every "
              "principal not listed, anonymous callers included");
    if (!resource && !nresource && k != KM_IAM_TRUST && k != KM_IAM_KEY && k != KM_IAM_RESOURCE &&
        k != KM_IAM_ENDPOINT)
        pwarn(c, v, "Resource", "missing: AWS requires Resource or NotResource in a %s policy; "
              "evaluated as all resources", km_iam_kind_name(k));
    if (k == KM_IAM_RCP && !st->deny)
        pwarn(c, effect, "Effect", "custom RCPs only support Deny (Allow is reserved to "
              "RCPFullAWSAccess, which is attached at every level anyway)");
    if (nresource && !st->deny && action && st->nact == 1 && st->act[0].all)
        pwarn(c, nresource, "NotResource", "Allow of every action on everything except the listed "
              "resources grants far more than it seems");
    return 0;
}

km_iam_policy *km_iam_policy_from_json(const km_json *doc, const char *text, size_t len,
                                       km_iam_policy_kind kind, const char *name, km_error *err) {
    km_iam_policy *p = calloc(1, sizeof *p);
    if (!p) {
        km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory while compiling a policy");
        return NULL;
    }
    km_arena_init(&p->arena, 0);
    /* A policy takes a few hundred bytes, and a snapshot's roles bring 100,000 of them (trust
     * and inline policies of the 50,000 roles of the benchmark's organisation): 4 KiB first
     * blocks made them 800 MB. */
    p->arena.first = 512;
    p->kind = kind;
    pctx c = {p, text, len, err, 0, NULL, 0};
    p->name = adup(&c, name ? name : "", name ? strlen(name) : 0);
    if (!p->name) goto nomem;
    if (!doc || doc->type != KM_JSON_OBJECT) {
        perr(&c, doc, "policy", "must be a JSON object, not %s",
             doc ? km_json_type_name(doc->type) : "nothing");
        goto fail;
    }
    const km_json *version = NULL, *statement = NULL;
    for (size_t i = 0; i < doc->u.obj.n; i++) {
        const km_json_member *m = &doc->u.obj.members[i];
        if (strcmp(m->key, "Version") == 0) {
            if (version) { perr(&c, m->value, "Version", "appears twice"); goto fail; }
            version = m->value;
        } else if (strcmp(m->key, "Statement") == 0) {
            if (statement) { perr(&c, m->value, "Statement", "appears twice"); goto fail; }
            statement = m->value;
        } else if (strcmp(m->key, "Id") == 0) {
            if (m->value->type != KM_JSON_STRING) { perr(&c, m->value, "Id", "must be a string"); goto fail; }
        } else {
            perr(&c, m->value, m->key, "unknown top-level element (a policy has Version, Id and "
                 "Statement; names are case-sensitive)");
            goto fail;
        }
    }
    if (version) {
        if (version->type != KM_JSON_STRING) { perr(&c, version, "Version", "must be a string"); goto fail; }
        if (strcmp(version->u.str.s, "2012-10-17") == 0) p->vars = 1;
        else if (strcmp(version->u.str.s, "2008-10-17") != 0) {
            perr(&c, version, "Version", "must be \"2012-10-17\" or \"2008-10-17\", not \"%.40s\"",
                 version->u.str.s);
            goto fail;
        }
    }
    if (!statement) { perr(&c, doc, "Statement", "is missing"); goto fail; }
    size_t n = statement->type == KM_JSON_ARRAY ? statement->u.arr.n : 1;
    if (statement->type != KM_JSON_ARRAY && statement->type != KM_JSON_OBJECT) {
        perr(&c, statement, "Statement", "must be an object or an array of objects, not %s",
             km_json_type_name(statement->type));
        goto fail;
    }
    p->st = n ? km_arena_alloc(&p->arena, n * sizeof *p->st) : NULL;
    if (n && !p->st) goto nomem;
    p->nst = n;
    for (size_t i = 0; i < n; i++) {
        const km_json *sv = statement->type == KM_JSON_ARRAY ? statement->u.arr.items[i] : statement;
        c.st_index = i + 1;
        c.sid = NULL;
        p->st[i].index = i + 1;
        if (parse_statement(&c, sv, &p->st[i]) < 0) goto fail;
    }
    c.st_index = 0;
    if (!version) {
        for (size_t i = 0; i < n; i++) {
            int uses = 0;
            for (size_t r = 0; r < p->st[i].nres; r++)
                if (iam_has_var(p->st[i].res[r].raw, p->st[i].res[r].raw_len)) uses = 1;
            for (size_t q = 0; q < p->st[i].ncond; q++)
                for (size_t v = 0; v < p->st[i].cond[q].nv; v++)
                    if (iam_has_var(p->st[i].cond[q].v[v].s, p->st[i].cond[q].v[v].len)) uses = 1;
            if (uses) {
                pwarn(&c, doc, "Version", "missing: without \"2012-10-17\" policy variables such as "
                      "${aws:username} are literal text");
                break;
            }
        }
    }
    if (c.oom) goto nomem;
    return p;
nomem:
    km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory while compiling a policy");
fail:
    km_iam_policy_free(p);
    return NULL;
}

km_iam_policy *km_iam_policy_parse(const char *text, size_t len, km_iam_policy_kind kind,
                                   const char *name, km_error *err) {
    if (!text) {
        km_error_set(err, KM_ERR, (size_t)-1, "no policy text");
        return NULL;
    }
    if (len > POLICY_MAX_BYTES) {
        km_error_set(err, KM_ELIMIT, (size_t)-1, "policy document of %zu bytes exceeds the %u-byte cap",
                     len, POLICY_MAX_BYTES);
        return NULL;
    }
    km_json_opts o = {.max_depth = 64};
    km_json_doc *doc = km_json_parse(text, len, &o, NULL, err);
    if (!doc) return NULL;
    km_iam_policy *p = km_iam_policy_from_json(km_json_root(doc), text, len, kind, name, err);
    km_json_doc_free(doc);
    return p;
}

void km_iam_policy_free(km_iam_policy *p) {
    if (!p) return;
    km_arena_free(&p->arena);
    free(p);
}

const char *km_iam_policy_name(const km_iam_policy *p) { return p ? p->name : ""; }
km_iam_policy_kind km_iam_policy_kind_of(const km_iam_policy *p) { return p ? p->kind : KM_IAM_IDENTITY; }
size_t km_iam_policy_statement_count(const km_iam_policy *p) { return p ? p->nst : 0; }
size_t km_iam_policy_warning_count(const km_iam_policy *p) { return p ? p->nwarn : 0; }
const char *km_iam_policy_warning(const km_iam_policy *p, size_t i) {
    return p && i < p->nwarn ? p->warn[i] : NULL;
}
