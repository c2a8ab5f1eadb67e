/* The reference evaluator of Sigma detections over a parsed CloudTrail record, and the
 * prefilter: EventBridge patterns that every record a detection matches must also match, so that
 * the matcher can skip the evaluator on almost every record.
 *
 * Field values (docs/sigma.md, "Fields and values"): a dotted path walks objects (a key that
 * itself contains dots is found too) and every element of an array. What the path reaches gives
 * the candidates a value is tested against: a string as is; a number or boolean as its JSON text
 * (and as a number / boolean for numeric and boolean values); null as null; an array as each of
 * its elements; an object as its compact JSON text and as every scalar inside it. A value matches
 * the field when it matches any candidate. */
#include "sigma/internal.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVAL_MAX_DEPTH 64
#define EVAL_MAX_CANDS 100000

typedef enum { CT_STR, CT_NUM, CT_BOOL, CT_NULL } ctype_;

typedef struct cand {
    ctype_ t;
    const char *s; /* text; for object texts an offset into sc->text until fixed up */
    size_t len;
    size_t off;
    int in_text;
    double d;
    int b;
} cand;

struct km_sigma_scratch {
    pcre2_match_data *md;
    pcre2_match_context *mctx;
    cand *c;
    size_t nc, capc;
    km_buf text;
    int8_t *memo;
    size_t capmemo;
    int present;
    uint64_t regex_limit_hits;
};

km_sigma_scratch *km_sigma_scratch_new(void) {
    km_sigma_scratch *sc = calloc(1, sizeof *sc);
    if (!sc) return NULL;
    sc->md = pcre2_match_data_create(1, NULL);
    sc->mctx = pcre2_match_context_create(NULL);
    if (!sc->md || !sc->mctx) {
        km_sigma_scratch_free(sc);
        return NULL;
    }
    /* A user's |re must not hang detection on a crafted record (catastrophic backtracking). */
    pcre2_set_match_limit(sc->mctx, 1000000);
    pcre2_set_depth_limit(sc->mctx, 10000);
    km_buf_init(&sc->text, 64u << 20);
    return sc;
}

uint64_t km_sigma_scratch_limit_hits(const km_sigma_scratch *sc) { return sc ? sc->regex_limit_hits : 0; }

void km_sigma_scratch_free(km_sigma_scratch *sc) {
    if (!sc) return;
    pcre2_match_data_free(sc->md);
    pcre2_match_context_free(sc->mctx);
    free(sc->c);
    km_buf_free(&sc->text);
    free(sc->memo);
    free(sc);
}

static void push(km_sigma_scratch *sc, cand c) {
    if (sc->nc >= EVAL_MAX_CANDS) return;
    if (sc->nc == sc->capc) {
        size_t n = sc->capc ? sc->capc * 2 : 32;
        cand *nc = realloc(sc->c, n * sizeof *nc);
        if (!nc) return;
        sc->c = nc;
        sc->capc = n;
    }
    sc->c[sc->nc++] = c;
}

static void emit_scalar(km_sigma_scratch *sc, const km_json *v) {
    cand c;
    memset(&c, 0, sizeof c);
    switch (v->type) {
    case KM_JSON_STRING: c.t = CT_STR; c.s = v->u.str.s; c.len = v->u.str.len; break;
    case KM_JSON_NUMBER: c.t = CT_NUM; c.s = v->u.num.raw; c.len = v->u.num.len; c.d = v->u.num.d; break;
    case KM_JSON_TRUE: c.t = CT_BOOL; c.s = "true"; c.len = 4; c.b = 1; break;
    case KM_JSON_FALSE: c.t = CT_BOOL; c.s = "false"; c.len = 5; c.b = 0; break;
    case KM_JSON_NULL: c.t = CT_NULL; c.s = ""; break;
    default: return;
    }
    push(sc, c);
}

static void emit_leaves(km_sigma_scratch *sc, const km_json *v, int depth) {
    if (depth > EVAL_MAX_DEPTH) return;
    if (v->type == KM_JSON_OBJECT) {
        for (size_t i = 0; i < v->u.obj.n; i++) emit_leaves(sc, v->u.obj.members[i].value, depth + 1);
    } else if (v->type == KM_JSON_ARRAY) {
        for (size_t i = 0; i < v->u.arr.n; i++) emit_leaves(sc, v->u.arr.items[i], depth + 1);
    } else {
        emit_scalar(sc, v);
    }
}

static void emit_node(km_sigma_scratch *sc, const km_json *v, int depth) {
    if (depth > EVAL_MAX_DEPTH) return;
    if (v->type == KM_JSON_ARRAY) {
        for (size_t i = 0; i < v->u.arr.n; i++) emit_node(sc, v->u.arr.items[i], depth + 1);
    } else if (v->type == KM_JSON_OBJECT) {
        size_t off = sc->text.len;
        if (km_json_write(&sc->text, v) == 0) {
            cand c;
            memset(&c, 0, sizeof c);
            c.t = CT_STR;
            c.in_text = 1;
            c.off = off;
            c.len = sc->text.len - off;
            push(sc, c);
            km_buf_putc(&sc->text, 0);
        }
        emit_leaves(sc, v, depth + 1);
    } else {
        emit_scalar(sc, v);
    }
}

static void walk(km_sigma_scratch *sc, const km_json *v, const char *path, size_t plen, int depth) {
    if (depth > EVAL_MAX_DEPTH) return;
    if (plen == 0) {
        sc->present = 1;
        emit_node(sc, v, depth);
        return;
    }
    if (v->type == KM_JSON_ARRAY) {
        for (size_t i = 0; i < v->u.arr.n; i++) walk(sc, v->u.arr.items[i], path, plen, depth + 1);
        return;
    }
    if (v->type != KM_JSON_OBJECT) return;
    for (size_t k = 1; k <= plen; k++) {
        if (k < plen && path[k] != '.') continue;
        const km_json *child = km_json_getn(v, path, k);
        if (!child) continue;
        if (k == plen) walk(sc, child, path + k, 0, depth + 1);
        else walk(sc, child, path + k + 1, plen - k - 1, depth + 1);
    }
}

/* Fill sc->c with the candidates of field path (NULL: every scalar of the record, for keywords). */
static void collect(km_sigma_scratch *sc, const km_json *rec, const char *path) {
    sc->nc = 0;
    sc->present = 0;
    km_buf_reset(&sc->text);
    if (!path) {
        sc->present = 1;
        emit_leaves(sc, rec, 0);
    } else {
        walk(sc, rec, path, strlen(path), 0);
    }
    for (size_t i = 0; i < sc->nc; i++)
        if (sc->c[i].in_text) sc->c[i].s = sc->text.data + sc->c[i].off;
}

static int re_match(km_sigma_scratch *sc, const pcre2_code *re, const char *s, size_t len) {
    int rc = pcre2_match(re, (PCRE2_SPTR)s, len, 0, 0, sc->md, sc->mctx);
    if (rc >= 0) return 1;
    if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT || rc == PCRE2_ERROR_JIT_STACKLIMIT)
        sc->regex_limit_hits++;
    return 0;
}

/* A string that is entirely a decimal number (JSON or YAML style), as a double. */
static int str_number(const char *s, size_t len, double *out) {
    char tmp[64];
    if (len == 0 || len >= sizeof tmp) return 0;
    memcpy(tmp, s, len);
    tmp[len] = 0;
    if (isspace((unsigned char)tmp[0])) return 0;
    for (size_t i = 0; i < len; i++)
        if (!(isdigit((unsigned char)tmp[i]) || strchr("+-.eE", tmp[i]))) return 0;
    char *end;
    double d = strtod(tmp, &end);
    if (*end) return 0;
    *out = d;
    return 1;
}

static int cand_number(const cand *c, double *d) {
    if (c->t == CT_NUM) { *d = c->d; return 1; }
    if (c->t == CT_STR) return str_number(c->s, c->len, d);
    return 0;
}

static int cmp_ok(int op, double a, double b) {
    switch (op) {
    case CMP_GT: return a > b;
    case CMP_GTE: return a >= b;
    case CMP_LT: return a < b;
    case CMP_LTE: return a <= b;
    default: return a == b;
    }
}

/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
static long days_from_civil(long y, long m, long d) {
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The number written with exactly n decimal digits at s, or -1 (harden helper: replaces sscanf
 * %4d/%2d, which cannot report a conversion error and accepted signs and spaces). */
static int digits(const char *s, int n) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static int time_part(const char *s, size_t len, int part, double *out) {
    int Y, M, D, h = 0, mi = 0;
    if (len < 10 || len >= 40) return 0;
    Y = digits(s, 4);
    M = digits(s + 5, 2);
    D = digits(s + 8, 2);
    if (Y < 0 || s[4] != '-' || s[7] != '-' || M < 1 || M > 12 || D < 1 || D > 31) return 0;
    if (len >= 16 && (s[10] == 'T' || s[10] == ' ')) {
        h = digits(s + 11, 2);
        mi = digits(s + 14, 2);
        if (h < 0 || s[13] != ':' || mi < 0) return 0;
    }
    switch (part) {
    case TIME_MINUTE: *out = mi; return len >= 16;
    case TIME_HOUR: *out = h; return len >= 16;
    case TIME_DAY: *out = D; return 1;
    case TIME_MONTH: *out = M; return 1;
    case TIME_YEAR: *out = Y; return 1;
    case TIME_WEEK: {
        /* ISO 8601 week number */
        long days = days_from_civil(Y, M, D);
        int wd = (int)(((days % 7) + 7 + 3) % 7) + 1; /* 1 = Monday (1970-01-01 was a Thursday) */
        long thursday = days - wd + 4;
        long y = Y;
        long jan1 = days_from_civil(y, 1, 1);
        if (thursday < jan1) jan1 = days_from_civil(--y, 1, 1);
        else if (thursday >= days_from_civil(y + 1, 1, 1)) jan1 = days_from_civil(++y, 1, 1);
        long week = (thursday - jan1) / 7 + 1; /* whole weeks: integer division on purpose */
        *out = (double)week;
        return 1;
    }
    default: return 0;
    }
}

static int fieldref_match(km_sigma_scratch *sc, const sg_value *v, const cand *mine, size_t nmine,
                          const km_json *rec);

/* Whether value v matches the candidates currently in sc. */
static int value_match(km_sigma_scratch *sc, const sg_value *v, const km_json *rec) {
    size_t n = sc->nc;
    switch (v->kind) {
    case SV_NULL:
        if (n == 0) return 1;
        for (size_t i = 0; i < n; i++)
            if (sc->c[i].t == CT_NULL) return 1;
        return 0;
    case SV_EXISTS:
        return sc->present == v->bval;
    case SV_FIELDREF:
        return fieldref_match(sc, v, sc->c, n, rec);
    default:
        break;
    }
    for (size_t i = 0; i < n; i++) {
        const cand *c = &sc->c[i];
        double d;
        switch (v->kind) {
        case SV_STR:
        case SV_RE:
            /* no expression: an earlier value of the same |windash variants tests them all */
            if (!v->re) return 0;
            if (c->t != CT_NULL && re_match(sc, v->re, c->s, c->len)) return 1;
            break;
        case SV_NUM:
            if (cand_number(c, &d) && d == v->num) return 1;
            break;
        case SV_BOOL:
            if (c->t == CT_BOOL && c->b == v->bval) return 1;
            if (c->t == CT_STR && c->len == (v->bval ? 4u : 5u) && !strncasecmp(c->s, v->bval ? "true" : "false", c->len))
                return 1;
            break;
        case SV_CMP:
            if (cand_number(c, &d) && cmp_ok(v->cmp, d, v->num)) return 1;
            break;
        case SV_TIME:
            if (c->t == CT_STR && time_part(c->s, c->len, v->time_part, &d) && cmp_ok(v->cmp, d, v->num)) return 1;
            break;
        case SV_CIDR: {
            uint8_t ip[16];
            if (c->t != CT_STR) break;
            int l = sg_ip_parse(c->s, c->len, ip);
            if (l == v->ip_len && memcmp(ip, v->ip_lo, (size_t)l) >= 0 && memcmp(ip, v->ip_hi, (size_t)l) <= 0) return 1;
            break;
        }
        default:
            break;
        }
    }
    return 0;
}

/* |fieldref: the other field's value is compared with this field's, as a plain (wildcard-free)
 * Sigma string; POS_* says where it must occur, and case follows |cased. */
static int fieldref_match(km_sigma_scratch *sc, const sg_value *v, const cand *mine, size_t nmine,
                          const km_json *rec) {
    if (nmine == 0) return 0;
    /* keep our candidates: collecting the other field reuses the scratch */
    cand *keep = malloc(nmine * sizeof *keep);
    if (!keep) return 0;
    memcpy(keep, mine, nmine * sizeof *keep);
    km_buf saved = sc->text; /* the texts our candidates point into stay alive in saved */
    sc->text = (km_buf)KM_BUF_INIT;
    km_buf_init(&sc->text, 64u << 20);
    collect(sc, rec, v->text);
    int hit = 0;
    for (size_t j = 0; j < sc->nc && !hit; j++) {
        const cand *o = &sc->c[j];
        if (o->t == CT_NULL) continue;
        km_arena a;
        km_arena_init(&a, 0);
        sg_str s;
        if (sg_str_literal(&a, o->s, o->len, &s) == 0) {
            /* wrap with '*' where the position allows anything around */
            sg_str w;
            w.len = s.len + 2;
            w.b = km_arena_alloc(&a, w.len + 1);
            w.w = km_arena_alloc(&a, w.len + 1);
            if (w.b && w.w) {
                size_t k = 0;
                if (v->pos == POS_CONTAINS || v->pos == POS_END) { w.b[k] = '*'; w.w[k++] = 1; }
                memcpy(w.b + k, s.b, s.len);
                k += s.len;
                if (v->pos == POS_CONTAINS || v->pos == POS_START) { w.b[k] = '*'; w.w[k++] = 1; }
                w.len = k;
                char msg[200];
                pcre2_code *re = sg_str_compile(&w, v->cased, msg, sizeof msg);
                if (re) {
                    for (size_t i = 0; i < nmine && !hit; i++)
                        if (keep[i].t != CT_NULL && re_match(sc, re, keep[i].s, keep[i].len)) hit = 1;
                    pcre2_code_free(re);
                }
            }
        }
        km_arena_free(&a);
    }
    km_buf_free(&sc->text);
    sc->text = saved;
    free(keep);
    return hit;
}

static int item_match(km_sigma_scratch *sc, const sg_item *it, const km_json *rec) {
    collect(sc, rec, it->field);
    int result;
    if (it->all && it->ngroups > 1) {
        result = 1;
        for (uint32_t g = 0; g < it->ngroups && result; g++) {
            int any = 0;
            for (size_t k = 0; k < it->nvalues && !any; k++)
                if (it->values[k].group == g && value_match(sc, &it->values[k], rec)) any = 1;
            if (!any) result = 0;
        }
    } else {
        result = 0;
        for (size_t k = 0; k < it->nvalues && !result; k++)
            if (value_match(sc, &it->values[k], rec)) result = 1;
    }
    return it->neq ? !result : result;
}

static int sel_match(km_sigma_scratch *sc, const sg_sel *s, const km_json *rec) {
    for (size_t m = 0; m < s->n; m++) {
        const sg_map *map = &s->maps[m];
        int ok = 1;
        for (size_t i = 0; i < map->n && ok; i++)
            if (!item_match(sc, &map->items[i], rec)) ok = 0;
        if (ok) return 1;
    }
    return 0;
}

static int sel_cached(km_sigma_scratch *sc, const sg_detection *d, size_t i, const km_json *rec) {
    if (sc->memo[i] < 0) sc->memo[i] = (int8_t)sel_match(sc, &d->sels[i], rec);
    return sc->memo[i];
}

static int cond_eval(km_sigma_scratch *sc, const sg_detection *d, const sg_cond *c, const km_json *rec) {
    switch (c->kind) {
    case C_TRUE: return 1;
    case C_SEL: return sel_cached(sc, d, c->sel, rec);
    case C_AND: return cond_eval(sc, d, c->a, rec) && cond_eval(sc, d, c->b, rec);
    case C_OR: return cond_eval(sc, d, c->a, rec) || cond_eval(sc, d, c->b, rec);
    case C_NOT: return !cond_eval(sc, d, c->a, rec);
    case C_OF: {
        size_t need = c->need == SIZE_MAX ? c->nsels : c->need, got = 0;
        for (size_t k = 0; k < c->nsels; k++) {
            if (sel_cached(sc, d, c->sels[k], rec)) got++;
            if (got >= need) return 1;
            if (got + (c->nsels - k - 1) < need) return 0;
        }
        return got >= need;
    }
    }
    return 0;
}

int sg_eval_detection(const sg_detection *d, const km_json *rec, km_sigma_scratch *sc) {
    if (!rec || rec->type != KM_JSON_OBJECT) return 0;
    if (sc->capmemo < d->nsels) {
        int8_t *m = realloc(sc->memo, d->nsels);
        if (!m) return 0;
        sc->memo = m;
        sc->capmemo = d->nsels;
    }
    memset(sc->memo, -1, d->nsels);
    return cond_eval(sc, d, d->cond, rec);
}

static void text_node(const km_json *v, km_buf *out, int *any, int depth) {
    if (depth > EVAL_MAX_DEPTH) return;
    if (v->type == KM_JSON_ARRAY) {
        for (size_t i = 0; i < v->u.arr.n; i++) text_node(v->u.arr.items[i], out, any, depth + 1);
        return;
    }
    if (*any) km_buf_putc(out, ',');
    *any = 1;
    switch (v->type) {
    case KM_JSON_STRING: km_buf_append(out, v->u.str.s, v->u.str.len); break;
    case KM_JSON_NUMBER: km_buf_append(out, v->u.num.raw, v->u.num.len); break;
    case KM_JSON_TRUE: km_buf_puts(out, "true"); break;
    case KM_JSON_FALSE: km_buf_puts(out, "false"); break;
    case KM_JSON_NULL: km_buf_puts(out, "null"); break;
    default: km_json_write(out, v); break;
    }
}

static void text_walk(const km_json *v, const char *path, size_t plen, km_buf *out, int *any, int depth) {
    if (depth > EVAL_MAX_DEPTH) return;
    if (plen == 0) {
        text_node(v, out, any, depth);
        return;
    }
    if (v->type == KM_JSON_ARRAY) {
        for (size_t i = 0; i < v->u.arr.n; i++) text_walk(v->u.arr.items[i], path, plen, out, any, depth + 1);
        return;
    }
    if (v->type != KM_JSON_OBJECT) return;
    for (size_t k = 1; k <= plen; k++) {
        if (k < plen && path[k] != '.') continue;
        const km_json *child = km_json_getn(v, path, k);
        if (!child) continue;
        if (k == plen) text_walk(child, path + k, 0, out, any, depth + 1);
        else text_walk(child, path + k + 1, plen - k - 1, out, any, depth + 1);
    }
}

int km_sigma_field_text(const km_json *record, const char *path, km_buf *out) {
    if (!record || !path) return 0;
    size_t before = out->len;
    int any = 0;
    text_walk(record, path, strlen(path), out, &any, 0);
    if (!any && out->len != before) out->len = before;
    return any;
}
