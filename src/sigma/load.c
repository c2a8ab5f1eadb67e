/* Loading Sigma rules: YAML documents into the intermediate representation (internal.h).
 * Detection rules, correlation rules (multi-document files, references by id or name, aliases,
 * chains), and the legacy aggregation syntax of SigmaHQ's unsupported/ folder (`| count() > N`,
 * `count() by F`, `near`, `timeframe`). Every problem names the file, line, column and rule. */
#include "sigma/internal.h"
#include "sigma/yaml.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_RULE_FILE (16u << 20)
/* Values one YAML value may expand into (windash, expand, base64offset). A |windash value is kept
 * as one string with SG_W_DASH marks (one expression), but every variant still becomes a value of
 * the matcher patterns (compile.c), so the limit still bounds the work and memory of a rule. */
#define MAX_VARIANTS 4096

/* ---- the set ---- */

km_sigma_set *km_sigma_set_new(void) {
    km_sigma_set *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    km_arena_init(&s->arena, 0);
    /* test switch (tests/cli/cases/detect-sigma-compiled-same): the evaluator decides every rule */
    const char *ev = getenv("KUMOMORI_SIGMA_EVALUATE");
    if (ev && *ev && strcmp(ev, "0")) s->no_compile = 1;
    return s;
}

static void free_rule_codes(sg_rule *r) {
    for (size_t i = 0; i < r->det.nsels; i++) {
        sg_sel *sel = &r->det.sels[i];
        for (size_t m = 0; m < sel->n; m++)
            for (size_t k = 0; k < sel->maps[m].n; k++) {
                sg_item *it = &sel->maps[m].items[k];
                for (size_t v = 0; v < it->nvalues; v++) {
                    pcre2_code_free(it->values[v].re);
                    it->values[v].re = NULL;
                }
            }
    }
}

void km_sigma_set_free(km_sigma_set *s) {
    if (!s) return;
    for (size_t i = 0; i < s->n; i++) free_rule_codes(s->rules[i]);
    free(s->rules);
    for (size_t i = 0; i < s->nerrors; i++) free(s->errors[i]);
    free(s->errors);
    for (size_t i = 0; i < s->nwarnings; i++) free(s->warnings[i]);
    free(s->warnings);
    free(s->ph_names);
    free(s->ph_values);
    free(s->ph_counts);
    for (size_t i = 0; i < s->ndocs; i++) km_ydoc_free(s->docs[i]);
    free(s->docs);
    km_arena_free(&s->arena);
    free(s);
}

static int keep_msg(char ***list, size_t *n, size_t *cap, const char *msg) {
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 8;
        char **nl = realloc(*list, nc * sizeof *nl);
        if (!nl) return -1;
        *list = nl;
        *cap = nc;
    }
    char *c = strdup(msg);
    if (!c) return -1;
    (*list)[(*n)++] = c;
    return 0;
}

size_t km_sigma_count(const km_sigma_set *s) { return s ? s->n : 0; }
const km_sigma_info *km_sigma_get(const km_sigma_set *s, size_t i) { return s && i < s->n ? &s->rules[i]->info : NULL; }
size_t km_sigma_error_count(const km_sigma_set *s) { return s ? s->nerrors : 0; }
const char *km_sigma_error(const km_sigma_set *s, size_t i) { return s && i < s->nerrors ? s->errors[i] : NULL; }
size_t km_sigma_warning_count(const km_sigma_set *s) { return s ? s->nwarnings : 0; }
const char *km_sigma_warning(const km_sigma_set *s, size_t i) { return s && i < s->nwarnings ? s->warnings[i] : NULL; }

int km_sigma_eval(const km_sigma_set *s, size_t i, const km_json *record, km_sigma_scratch *sc) {
    if (!s || i >= s->n || s->rules[i]->info.kind != KM_SIGMA_DETECTION || !sc) return -1;
    return sg_eval_detection(&s->rules[i]->det, record, sc);
}

size_t km_sigma_prefilter(const km_sigma_set *s, size_t i, const char *const **patterns) {
    if (!s || i >= s->n || s->rules[i]->info.kind != KM_SIGMA_DETECTION) {
        *patterns = NULL;
        return 0;
    }
    if (s->no_compile) {
        *patterns = s->rules[i]->det.legacy;
        return s->rules[i]->det.nlegacy;
    }
    *patterns = s->rules[i]->det.prefilter;
    return s->rules[i]->det.nprefilter;
}

int km_sigma_prefilter_exact(const km_sigma_set *s, size_t i) {
    if (!s || i >= s->n || s->rules[i]->info.kind != KM_SIGMA_DETECTION || s->no_compile) return 0;
    return s->rules[i]->det.nprefilter > 0 && s->rules[i]->det.prefilter_exact;
}

void km_sigma_set_compile(km_sigma_set *s, int on) {
    if (s) s->no_compile = !on;
}

int km_sigma_compiled(const km_sigma_set *s, size_t i, const char *const **reasons, size_t *nreasons) {
    if (reasons) *reasons = NULL;
    if (nreasons) *nreasons = 0;
    if (!s || i >= s->n || s->rules[i]->info.kind != KM_SIGMA_DETECTION) return -1;
    const sg_detection *d = &s->rules[i]->det;
    if (reasons) *reasons = d->offm;
    if (nreasons) *nreasons = d->noffm;
    if (km_sigma_prefilter_exact(s, i)) return 2;
    const char *const *p;
    return km_sigma_prefilter(s, i, &p) ? 1 : 0;
}

const char *km_sigma_group_field(const km_sigma_set *s, size_t c, size_t j, size_t g) {
    if (!s || c >= s->n) return NULL;
    sg_rule *r = s->rules[c];
    if (r->info.kind != KM_SIGMA_CORRELATION || j >= r->info.ncorr_rules || g >= r->info.ngroup_by) return NULL;
    if (r->group_fields && r->group_fields[j] && r->group_fields[j][g]) return r->group_fields[j][g];
    return r->info.group_by[g];
}

int km_sigma_set_placeholder(km_sigma_set *s, const char *name, const char *const *values, size_t n,
                             km_error *err) {
    const char **nn = realloc(s->ph_names, (s->nph + 1) * sizeof *nn);
    if (!nn) return km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
    s->ph_names = nn;
    const char ***nv = realloc(s->ph_values, (s->nph + 1) * sizeof *nv);
    if (!nv) return km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
    s->ph_values = nv;
    size_t *nc = realloc(s->ph_counts, (s->nph + 1) * sizeof *nc);
    if (!nc) return km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
    s->ph_counts = nc;
    const char **vals = km_arena_alloc(&s->arena, (n ? n : 1) * sizeof *vals);
    const char *nm = km_arena_strndup(&s->arena, name, strlen(name));
    if (!vals || !nm) return km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
    for (size_t i = 0; i < n; i++) {
        vals[i] = km_arena_strndup(&s->arena, values[i], strlen(values[i]));
        if (!vals[i]) return km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
    }
    s->ph_names[s->nph] = nm;
    s->ph_values[s->nph] = vals;
    s->ph_counts[s->nph++] = n;
    return KM_OK;
}

/* ---- loading context ---- */

typedef struct lctx {
    km_sigma_set *s;
    const char *file;
    const char *title; /* for messages */
    km_error *err;
    int failed;   /* the current document failed */
    int err_set;  /* err holds the first problem of this call */
    int group;
} lctx;

static int bad(lctx *c, const km_ynode *at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(lctx *c, const km_ynode *at, const char *fmt, ...) {
    char what[600], full[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (c->title)
        snprintf(full, sizeof full, "%s:%zu:%zu: rule '%.120s': %s", c->file, at ? at->line : 1, at ? at->col : 1,
                 c->title, what);
    else
        snprintf(full, sizeof full, "%s:%zu:%zu: %s", c->file, at ? at->line : 1, at ? at->col : 1, what);
    keep_msg(&c->s->errors, &c->s->nerrors, &c->s->caperrors, full);
    if (!c->err_set) km_error_set(c->err, KM_ERR, (size_t)-1, "%s", full);
    c->err_set = 1;
    c->failed = 1;
    return KM_ERR;
}

static void warn(lctx *c, const km_ynode *at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void warn(lctx *c, const km_ynode *at, const char *fmt, ...) {
    char what[600], full[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    snprintf(full, sizeof full, "%s:%zu:%zu: rule '%.120s': %s", c->file, at ? at->line : 1, at ? at->col : 1,
             c->title ? c->title : "?", what);
    keep_msg(&c->s->warnings, &c->s->nwarnings, &c->s->capwarnings, full);
}

static char *dup(lctx *c, const char *s, size_t n) {
    char *p = km_arena_strndup(&c->s->arena, s, n);
    if (!p) bad(c, NULL, "out of memory");
    return p;
}

static void *zalloc(lctx *c, size_t n) {
    void *p = km_arena_alloc(&c->s->arena, n ? n : 1);
    if (!p) bad(c, NULL, "out of memory");
    return p;
}

/* A scalar that must be a string (or a plain value we read as text). */
static const char *text_of(lctx *c, const km_ynode *n, const char *what) {
    if (!n || n->type != KM_Y_SCALAR) {
        bad(c, n, "%s must be a string, not %s", what, km_ynode_what(n));
        return NULL;
    }
    return n->s;
}

static int string_list(lctx *c, const km_ynode *n, const char *what, const char ***out, size_t *nout) {
    *out = NULL;
    *nout = 0;
    if (!n) return 0;
    if (n->type == KM_Y_SCALAR) {
        const char **l = zalloc(c, sizeof *l);
        if (!l) return -1;
        l[0] = n->s;
        *out = l;
        *nout = 1;
        return 0;
    }
    if (n->type != KM_Y_SEQ) return bad(c, n, "%s must be a list of strings, not %s", what, km_ynode_what(n));
    const char **l = zalloc(c, n->n * sizeof *l);
    if (!l) return -1;
    for (size_t i = 0; i < n->n; i++) {
        if (n->items[i]->type != KM_Y_SCALAR)
            return bad(c, n->items[i], "%s must be a list of strings, not a list of %s", what, km_ynode_what(n->items[i]));
        l[i] = n->items[i]->s;
    }
    *out = l;
    *nout = n->n;
    return 0;
}

/* ---- values and modifiers ---- */

typedef enum {
    M_CONTAINS, M_STARTSWITH, M_ENDSWITH, M_ALL, M_BASE64, M_BASE64OFFSET, M_UTF16LE, M_UTF16BE, M_UTF16,
    M_WINDASH, M_RE, M_I, M_M, M_S, M_CIDR, M_GT, M_GTE, M_LT, M_LTE, M_EXISTS, M_CASED, M_NEQ, M_FIELDREF,
    M_EXPAND, M_MINUTE, M_HOUR, M_DAY, M_WEEK, M_MONTH, M_YEAR, M_COUNT
} mod;

static const struct { const char *name; mod m; } mod_names[] = {
    {"contains", M_CONTAINS}, {"startswith", M_STARTSWITH}, {"endswith", M_ENDSWITH}, {"all", M_ALL},
    {"base64", M_BASE64}, {"base64offset", M_BASE64OFFSET}, {"wide", M_UTF16LE}, {"utf16le", M_UTF16LE},
    {"utf16be", M_UTF16BE}, {"utf16", M_UTF16}, {"windash", M_WINDASH}, {"re", M_RE}, {"i", M_I},
    {"m", M_M}, {"s", M_S}, {"cidr", M_CIDR}, {"gt", M_GT}, {"gte", M_GTE}, {"lt", M_LT}, {"lte", M_LTE},
    {"exists", M_EXISTS}, {"cased", M_CASED}, {"neq", M_NEQ}, {"fieldref", M_FIELDREF}, {"expand", M_EXPAND},
    {"minute", M_MINUTE}, {"hour", M_HOUR}, {"day", M_DAY}, {"week", M_WEEK}, {"month", M_MONTH},
    {"year", M_YEAR},
};

typedef struct mods {
    mod list[32];
    size_t n;
    int has[M_COUNT];
} mods;

static int has_any(const mods *m, mod a, mod b, mod c2) { return m->has[a] || m->has[b] || m->has[c2]; }

/* A growing list of values for one item. */
typedef struct vlist {
    sg_value *v;
    size_t n, cap;
} vlist;

static sg_value *vnew(lctx *c, vlist *l, uint32_t group) {
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 4;
        sg_value *nv = realloc(l->v, nc * sizeof *nv);
        if (!nv) {
            bad(c, NULL, "out of memory");
            return NULL;
        }
        l->v = nv;
        l->cap = nc;
    }
    sg_value *v = &l->v[l->n++];
    memset(v, 0, sizeof *v);
    v->group = group;
    return v;
}

/* Variants of one YAML value while string modifiers apply; total counts each |windash string as
 * the variants it stands for. */
typedef struct svars {
    sg_str *s;
    size_t n, cap;
    size_t total;
} svars;

static const char *const windash_set[] = {"-", "/", "\xe2\x80\x93", "\xe2\x80\x94", "\xe2\x80\x95"};

/* How many plain strings s stands for: 5 per SG_W_DASH mark (at most 5 marks, see windash). */
static size_t sv_weight(const sg_str *s) {
    size_t w = 1;
    for (size_t i = 0; i < s->len; i++)
        if (s->w[i] == SG_W_DASH) w *= 5;
    return w;
}

/* Appends s. Returns 0, 1 when that would make more than MAX_VARIANTS (the caller says which
 * modifier did it), or -1 out of memory (reported). */
static int sv_push(lctx *c, svars *v, sg_str s) {
    size_t w = sv_weight(&s);
    if (v->total + w > MAX_VARIANTS) return 1;
    if (v->n == v->cap) {
        size_t nc = v->cap ? v->cap * 2 : 4;
        sg_str *ns = realloc(v->s, nc * sizeof *ns);
        if (!ns) return bad(c, NULL, "out of memory");
        v->s = ns;
        v->cap = nc;
    }
    v->s[v->n++] = s;
    v->total += w;
    return 0;
}

/* Pushes s; over the limit, reports that modifier `what` makes too many values. */
static int sv_push_or(lctx *c, const km_ynode *at, svars *v, sg_str s, const char *what) {
    int r = sv_push(c, v, s);
    if (r > 0) return bad(c, at, "|%s makes more than %d values", what, MAX_VARIANTS);
    return r;
}

static int has_wild(const sg_str *s) {
    for (size_t i = 0; i < s->len; i++)
        if (s->w[i]) return 1;
    return 0;
}

static int str_concat(lctx *c, const sg_str *a, const sg_str *b, sg_str *out) {
    out->len = a->len + b->len;
    out->b = zalloc(c, out->len + 1);
    out->w = zalloc(c, out->len + 1);
    if (!out->b || !out->w) return -1;
    if (a->len) { memcpy(out->b, a->b, a->len); memcpy(out->w, a->w, a->len); }
    if (b->len) { memcpy(out->b + a->len, b->b, b->len); memcpy(out->w + a->len, b->w, b->len); }
    return 0;
}

/* |expand: %name% placeholders replaced by their configured values (each a Sigma string); a
 * backslash before % keeps it literal. */
static int expand_value(lctx *c, const km_ynode *at, const char *s, size_t len, svars *out) {
    svars cur = {0};
    sg_str empty = {0};
    if (sg_str_literal(&c->s->arena, "", 0, &empty) || sv_push(c, &cur, empty)) return bad(c, at, "out of memory");
    size_t i = 0;
    int rc = 0;
    while (i < len && rc == 0) {
        /* literal run up to an unescaped % */
        km_buf lit = KM_BUF_INIT;
        while (i < len) {
            if (s[i] == '\\' && i + 1 < len && s[i + 1] == '%') { km_buf_append(&lit, "\\%", 0); km_buf_putc(&lit, '%'); i += 2; continue; }
            if (s[i] == '%') break;
            km_buf_putc(&lit, s[i++]);
        }
        if (lit.len) {
            sg_str part;
            if (sg_str_parse(&c->s->arena, lit.data, lit.len, &part)) rc = bad(c, at, "out of memory");
            for (size_t k = 0; k < cur.n && rc == 0; k++) {
                sg_str joined;
                if (str_concat(c, &cur.s[k], &part, &joined)) rc = -1;
                else cur.s[k] = joined;
            }
        }
        km_buf_free(&lit);
        if (rc || i >= len) break;
        const char *close = memchr(s + i + 1, '%', len - i - 1);
        if (!close) { rc = bad(c, at, "|expand: '%%' without a closing '%%'"); break; }
        size_t nl = (size_t)(close - (s + i + 1));
        size_t ph = SIZE_MAX;
        for (size_t k = 0; k < c->s->nph; k++)
            if (strlen(c->s->ph_names[k]) == nl && !memcmp(c->s->ph_names[k], s + i + 1, nl)) ph = k;
        if (ph == SIZE_MAX) {
            rc = bad(c, at, "|expand: placeholder %%%.*s%% has no values (give them with --sigma-placeholder %.*s=VALUE,...)",
                     (int)nl, s + i + 1, (int)nl, s + i + 1);
            break;
        }
        svars next = {0};
        for (size_t k = 0; k < cur.n && rc == 0; k++)
            for (size_t p = 0; p < c->s->ph_counts[ph] && rc == 0; p++) {
                sg_str part, joined;
                const char *pv = c->s->ph_values[ph][p];
                if (sg_str_parse(&c->s->arena, pv, strlen(pv), &part) || str_concat(c, &cur.s[k], &part, &joined)) rc = -1;
                else rc = sv_push_or(c, at, &next, joined, "expand");
            }
        free(cur.s);
        cur = next;
        i = (size_t)(close - s) + 1;
    }
    if (rc == 0 && cur.n == 0) rc = bad(c, at, "|expand: the placeholder has an empty list of values");
    for (size_t k = 0; k < cur.n && rc == 0; k++)
        rc = sv_push_or(c, at, out, cur.s[k], "expand");
    free(cur.s);
    return rc;
}

static int utf16_transform(lctx *c, const km_ynode *at, mod m, sg_str *s) {
    /* UTF-8 to UTF-16 code units; wildcards stay wildcards */
    size_t cap = s->len * 4 + 4;
    sg_str o;
    o.b = zalloc(c, cap);
    o.w = zalloc(c, cap);
    o.len = 0;
    if (!o.b || !o.w) return -1;
    if (m == M_UTF16) { o.b[o.len++] = (char)0xFF; o.b[o.len++] = (char)0xFE; }
    size_t i = 0;
    while (i < s->len) {
        if (s->w[i]) { o.b[o.len] = s->b[i]; o.w[o.len++] = s->w[i]; i++; continue; }
        const unsigned char *p = (const unsigned char *)s->b + i;
        uint32_t cp;
        size_t l = 1;
        if (p[0] < 0x80) cp = p[0];
        else if ((p[0] & 0xE0) == 0xC0 && i + 1 < s->len) { cp = ((p[0] & 0x1Fu) << 6) | (p[1] & 0x3F); l = 2; }
        else if ((p[0] & 0xF0) == 0xE0 && i + 2 < s->len) { cp = ((p[0] & 0x0Fu) << 12) | ((p[1] & 0x3Fu) << 6) | (p[2] & 0x3F); l = 3; }
        else if ((p[0] & 0xF8) == 0xF0 && i + 3 < s->len) {
            cp = ((p[0] & 0x07u) << 18) | ((p[1] & 0x3Fu) << 12) | ((p[2] & 0x3Fu) << 6) | (p[3] & 0x3F);
            l = 4;
        } else return bad(c, at, "the value is not UTF-8 text");
        uint16_t u[2];
        int nu = 1;
        if (cp >= 0x10000) { cp -= 0x10000; u[0] = (uint16_t)(0xD800 | (cp >> 10)); u[1] = (uint16_t)(0xDC00 | (cp & 0x3FF)); nu = 2; }
        else u[0] = (uint16_t)cp;
        for (int k = 0; k < nu; k++) {
            if (m == M_UTF16BE) { o.b[o.len++] = (char)(u[k] >> 8); o.b[o.len++] = (char)(u[k] & 0xFF); }
            else { o.b[o.len++] = (char)(u[k] & 0xFF); o.b[o.len++] = (char)(u[k] >> 8); }
        }
        i += l;
    }
    *s = o;
    return 0;
}

/* |windash: every '-' and '/' (not a wildcard) may be any of -, /, en dash, em dash and horizontal
 * bar (pySigma's windash set), in every combination. The value stays one string with those bytes
 * marked SG_W_DASH (compiled once, as a character class), counted as the variants it stands for;
 * dash_variants writes them out where needed. */
static int windash(lctx *c, const km_ynode *at, const sg_str *s, svars *out) {
    size_t np = 0;
    sg_str o;
    o.b = zalloc(c, s->len + 1);
    o.w = zalloc(c, s->len + 1);
    if (!o.b || !o.w) return -1;
    o.len = s->len;
    if (s->len) memcpy(o.b, s->b, s->len);
    for (size_t i = 0; i < s->len; i++) {
        o.w[i] = s->w[i];
        if (!s->w[i] && (s->b[i] == '-' || s->b[i] == '/')) {
            if (np == 5) return bad(c, at, "|windash: more than 5 dashes in one value would make too many variants");
            np++;
            o.w[i] = SG_W_DASH;
        }
    }
    return sv_push_or(c, at, out, o, "windash");
}

/* The plain strings a string with SG_W_DASH marks stands for, appended to out in the order the
 * variants have always had (the first mark varies fastest, each through windash_set's order): the
 * values of the matcher patterns, and the input of an encoding modifier. */
static int dash_variants(lctx *c, const km_ynode *at, const sg_str *s, svars *out) {
    size_t total = sv_weight(s);
    for (size_t combo = 0; combo < total; combo++) {
        sg_str o;
        o.b = zalloc(c, s->len * 3 + 1);
        o.w = zalloc(c, s->len * 3 + 1);
        o.len = 0;
        if (!o.b || !o.w) return -1;
        size_t rem = combo;
        for (size_t i = 0; i < s->len; i++) {
            if (s->w[i] == SG_W_DASH) {
                const char *d = windash_set[rem % 5];
                rem /= 5;
                for (const char *q = d; *q; q++) { o.b[o.len] = *q; o.w[o.len++] = 0; }
            } else {
                o.b[o.len] = s->b[i];
                o.w[o.len++] = s->w[i];
            }
        }
        int r = sv_push_or(c, at, out, o, "windash");
        if (r) return r;
    }
    return 0;
}

/* Replaces every marked string of *vars by its plain variants (before an encoding modifier, which
 * turns each variant into different bytes). The total stays the same. */
static int dash_expand_all(lctx *c, const km_ynode *at, svars *vars) {
    if (vars->total == vars->n) return 0; /* no marks */
    svars next = {0};
    int rc = 0;
    for (size_t i = 0; i < vars->n && rc == 0; i++) rc = dash_variants(c, at, &vars->s[i], &next);
    free(vars->s);
    *vars = next;
    return rc;
}

/* A plain string: one value with its own expression. */
static int add_str_value(lctx *c, const km_ynode *at, const mods *m, const sg_str *s, uint32_t group, vlist *out) {
    sg_value *v = vnew(c, out, group);
    if (!v) return -1;
    v->kind = SV_STR;
    v->str = *s;
    v->cased = m->has[M_CASED];
    char msg[300];
    v->re = sg_str_compile(&v->str, v->cased, msg, sizeof msg);
    if (!v->re) return bad(c, at, "cannot compile the value: %s", msg);
    return 0;
}

static int add_str_values(lctx *c, const km_ynode *at, const mods *m, svars *vars, uint32_t group, vlist *out) {
    for (size_t i = 0; i < vars->n; i++) {
        const sg_str *s = &vars->s[i];
        if (sv_weight(s) == 1) {
            if (add_str_value(c, at, m, s, group, out)) return -1;
            continue;
        }
        /* A |windash string: its plain variants are the values (the matcher patterns and the
         * messages use them), but one expression, the first value's, tests them all. */
        svars vs = {0};
        int rc = dash_variants(c, at, s, &vs);
        char msg[300];
        pcre2_code *re = rc ? NULL : sg_str_compile(s, m->has[M_CASED], msg, sizeof msg);
        if (!rc && !re) {
            /* the class made it too large for PCRE2 (or the text is not UTF-8): each variant is
             * compiled alone, as before the marks existed, and reports its own error */
            for (size_t k = 0; k < vs.n && rc == 0; k++) rc = add_str_value(c, at, m, &vs.s[k], group, out);
        } else {
            for (size_t k = 0; k < vs.n && rc == 0; k++) {
                sg_value *v = vnew(c, out, group);
                if (!v) rc = -1;
                else {
                    v->kind = SV_STR;
                    v->str = vs.s[k];
                    v->cased = m->has[M_CASED];
                    v->re = k == 0 ? re : NULL;
                    if (k == 0) re = NULL; /* owned by the value now */
                }
            }
        }
        pcre2_code_free(re);
        free(vs.s);
        if (rc) return -1;
    }
    return 0;
}

static int cmp_of(const mods *m) {
    if (m->has[M_GT]) return CMP_GT;
    if (m->has[M_GTE]) return CMP_GTE;
    if (m->has[M_LT]) return CMP_LT;
    if (m->has[M_LTE]) return CMP_LTE;
    return CMP_EQ;
}

static int time_of(const mods *m) {
    if (m->has[M_MINUTE]) return TIME_MINUTE;
    if (m->has[M_HOUR]) return TIME_HOUR;
    if (m->has[M_DAY]) return TIME_DAY;
    if (m->has[M_WEEK]) return TIME_WEEK;
    if (m->has[M_MONTH]) return TIME_MONTH;
    if (m->has[M_YEAR]) return TIME_YEAR;
    return 0;
}

/* One YAML value of an item, with the item's modifiers, into values of group `group`. */
static int add_value(lctx *c, const km_ynode *n, const mods *m, uint32_t group, int keyword, vlist *out) {
    if (n->type != KM_Y_SCALAR)
        return bad(c, n, "a value must be a string, number, boolean or null, not %s", km_ynode_what(n));
    int strmods = has_any(m, M_CONTAINS, M_STARTSWITH, M_ENDSWITH) || has_any(m, M_BASE64, M_BASE64OFFSET, M_WINDASH) ||
                  has_any(m, M_UTF16LE, M_UTF16BE, M_UTF16) || m->has[M_EXPAND];
    int cmp = has_any(m, M_GT, M_GTE, M_LT) || m->has[M_LTE];
    int tpart = time_of(m);
    sg_value *v;
    if (m->has[M_EXISTS]) {
        if (n->kind != KM_YS_BOOL) return bad(c, n, "|exists takes true or false, not %s", km_ynode_what(n));
        if (!(v = vnew(c, out, group))) return -1;
        v->kind = SV_EXISTS;
        v->bval = n->bool_val;
        return 0;
    }
    if (m->has[M_RE]) {
        if (n->kind == KM_YS_NULL) return bad(c, n, "|re needs a regular expression, not null");
        if (!(v = vnew(c, out, group))) return -1;
        v->kind = SV_RE;
        v->text = n->s;
        v->cased = !m->has[M_I]; /* the prefilter may use a literal run of a case-sensitive expression */
        char msg[300];
        v->re = sg_re_compile(n->s, n->len, m->has[M_I], m->has[M_M], m->has[M_S], msg, sizeof msg);
        if (!v->re) return bad(c, n, "|re: invalid regular expression '%.100s': %s", n->s, msg);
        return 0;
    }
    if (m->has[M_CIDR]) {
        if (!(v = vnew(c, out, group))) return -1;
        v->kind = SV_CIDR;
        v->text = n->s;
        if (n->kind == KM_YS_NULL || sg_cidr_parse(n->s, v->ip_lo, v->ip_hi, &v->ip_len))
            return bad(c, n, "|cidr: '%.100s' is not an IPv4 or IPv6 network (like 10.0.0.0/8)", n->s);
        return 0;
    }
    if (m->has[M_FIELDREF]) {
        if (n->kind == KM_YS_NULL || n->len == 0) return bad(c, n, "|fieldref needs a field name");
        if (!(v = vnew(c, out, group))) return -1;
        v->kind = SV_FIELDREF;
        v->text = n->s;
        v->cased = m->has[M_CASED];
        v->pos = m->has[M_CONTAINS] ? POS_CONTAINS : m->has[M_STARTSWITH] ? POS_START : m->has[M_ENDSWITH] ? POS_END : POS_FULL;
        return 0;
    }
    if (cmp || tpart) {
        if (n->kind != KM_YS_INT && n->kind != KM_YS_FLOAT)
            return bad(c, n, "|%s needs a number, not %s", cmp ? "gt/gte/lt/lte" : "minute/hour/day/week/month/year",
                       km_ynode_what(n));
        if (!(v = vnew(c, out, group))) return -1;
        v->kind = tpart ? SV_TIME : SV_CMP;
        v->time_part = tpart;
        v->cmp = cmp_of(m);
        v->num = n->num;
        return 0;
    }
    if (n->kind == KM_YS_NULL) {
        if (strmods) return bad(c, n, "string modifiers cannot apply to null");
        if (keyword) return bad(c, n, "a keyword cannot be null");
        if (!(v = vnew(c, out, group))) return -1;
        v->kind = SV_NULL;
        return 0;
    }
    if (n->kind == KM_YS_BOOL && !strmods && !keyword) {
        if (!(v = vnew(c, out, group))) return -1;
        v->kind = SV_BOOL;
        v->bval = n->bool_val;
        return 0;
    }
    if ((n->kind == KM_YS_INT || n->kind == KM_YS_FLOAT) && !strmods && !keyword) {
        if (!(v = vnew(c, out, group))) return -1;
        v->kind = SV_NUM;
        v->num = n->num;
        return 0;
    }
    /* a string (or a number/boolean read as its text under string modifiers or as a keyword) */
    svars vars = {0};
    int rc = 0;
    if (m->has[M_EXPAND]) {
        rc = expand_value(c, n, n->s, n->len, &vars);
    } else {
        sg_str s;
        if (n->kind == KM_YS_STR ? sg_str_parse(&c->s->arena, n->s, n->len, &s) : sg_str_literal(&c->s->arena, n->s, n->len, &s))
            rc = bad(c, n, "out of memory");
        else rc = sv_push(c, &vars, s);
    }
    for (size_t k = 0; k < m->n && rc == 0; k++) {
        mod md = m->list[k];
        if (md == M_UTF16LE || md == M_UTF16BE || md == M_UTF16 || md == M_BASE64 || md == M_BASE64OFFSET) {
            rc = dash_expand_all(c, n, &vars);
            if (rc) break;
        }
        svars next = {0};
        for (size_t i = 0; i < vars.n && rc == 0; i++) {
            sg_str s = vars.s[i];
            switch (md) {
            case M_UTF16LE:
            case M_UTF16BE:
            case M_UTF16:
                rc = utf16_transform(c, n, md, &s);
                if (!rc) rc = sv_push_or(c, n, &next, s, "utf16");
                break;
            case M_BASE64:
            case M_BASE64OFFSET: {
                if (has_wild(&s))
                    rc = bad(c, n, "|%s cannot encode a value with wildcards (put contains/startswith/endswith after it)",
                             md == M_BASE64 ? "base64" : "base64offset");
                else if (md == M_BASE64) {
                    size_t el;
                    char *e = sg_base64(&c->s->arena, s.b, s.len, &el);
                    sg_str o;
                    if (!e || sg_str_literal(&c->s->arena, e, el, &o)) rc = bad(c, n, "out of memory");
                    else rc = sv_push_or(c, n, &next, o, "base64");
                } else {
                    char *e[3];
                    size_t el[3];
                    if (sg_base64offset(&c->s->arena, s.b, s.len, e, el) < 0) rc = bad(c, n, "out of memory");
                    for (int q = 0; q < 3 && rc == 0; q++) {
                        sg_str o;
                        if (sg_str_literal(&c->s->arena, e[q], el[q], &o)) rc = bad(c, n, "out of memory");
                        else rc = sv_push_or(c, n, &next, o, "base64offset");
                    }
                }
                break;
            }
            case M_WINDASH:
                rc = windash(c, n, &s, &next);
                break;
            case M_CONTAINS:
            case M_STARTSWITH:
            case M_ENDSWITH: {
                sg_str star, o = {0}; /* set by str_concat when rc is 0 (initialised for cppcheck) */
                if (sg_str_parse(&c->s->arena, "*", 1, &star)) { rc = -1; break; }
                if (md == M_CONTAINS) {
                    sg_str t;
                    rc = str_concat(c, &star, &s, &t);
                    if (!rc) rc = str_concat(c, &t, &star, &o);
                } else if (md == M_STARTSWITH) {
                    rc = str_concat(c, &s, &star, &o);
                } else {
                    rc = str_concat(c, &star, &s, &o);
                }
                if (!rc) rc = sv_push_or(c, n, &next, o, md == M_CONTAINS ? "contains" : md == M_STARTSWITH ? "startswith" : "endswith");
                break;
            }
            default:
                rc = sv_push_or(c, n, &next, s, "modifier");
                break;
            }
        }
        free(vars.s);
        vars = next;
    }
    if (rc == 0 && keyword && !has_any(m, M_CONTAINS, M_STARTSWITH, M_ENDSWITH)) {
        /* a keyword is found anywhere inside a value of the record */
        for (size_t i = 0; i < vars.n && rc == 0; i++) {
            sg_str star, t, o;
            if (sg_str_parse(&c->s->arena, "*", 1, &star) || str_concat(c, &star, &vars.s[i], &t) ||
                str_concat(c, &t, &star, &o))
                rc = -1;
            else vars.s[i] = o;
        }
    }
    if (rc == 0) rc = add_str_values(c, n, m, &vars, group, out);
    free(vars.s);
    return rc;
}

static int parse_mods(lctx *c, const km_ynode *key, const char *spec, mods *m, int keyword) {
    memset(m, 0, sizeof *m);
    const char *p = spec;
    while (*p) {
        const char *e = strchr(p, '|');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        size_t k = 0;
        for (; k < sizeof mod_names / sizeof mod_names[0]; k++)
            if (strlen(mod_names[k].name) == l && !memcmp(mod_names[k].name, p, l)) break;
        if (k == sizeof mod_names / sizeof mod_names[0])
            return bad(c, key, "unknown modifier '%.*s'", (int)(l < 60 ? l : 60), p);
        if (m->n >= sizeof m->list / sizeof m->list[0]) return bad(c, key, "too many modifiers");
        mod md = mod_names[k].m;
        if (m->has[md]) return bad(c, key, "modifier '%s' given twice", mod_names[k].name);
        m->list[m->n++] = md;
        m->has[md] = 1;
        p = e ? e + 1 : p + l;
    }
    /* combinations that have no meaning */
    int pos = m->has[M_CONTAINS] + m->has[M_STARTSWITH] + m->has[M_ENDSWITH];
    int cmp = m->has[M_GT] + m->has[M_GTE] + m->has[M_LT] + m->has[M_LTE];
    int times = m->has[M_MINUTE] + m->has[M_HOUR] + m->has[M_DAY] + m->has[M_WEEK] + m->has[M_MONTH] + m->has[M_YEAR];
    int types = m->has[M_RE] + m->has[M_CIDR] + (cmp > 0) + m->has[M_EXISTS] + m->has[M_FIELDREF] + (times > 0);
    if (pos > 1) return bad(c, key, "contains, startswith and endswith exclude each other");
    if (cmp > 1) return bad(c, key, "only one of gt, gte, lt, lte may be given");
    if (times > 1) return bad(c, key, "only one of minute, hour, day, week, month, year may be given");
    if (types > 1 && !(times && cmp && types == 2))
        return bad(c, key, "re, cidr, gt/gte/lt/lte, exists and fieldref exclude each other");
    if ((m->has[M_I] || m->has[M_M] || m->has[M_S]) && !m->has[M_RE])
        return bad(c, key, "the i, m and s modifiers only go with re");
    if (m->has[M_RE] && (pos || has_any(m, M_BASE64, M_BASE64OFFSET, M_WINDASH) || m->has[M_CASED] || m->has[M_EXPAND]))
        return bad(c, key, "re cannot be combined with string modifiers (write the expression you mean)");
    if ((m->has[M_CIDR] || cmp || times || m->has[M_EXISTS]) && (pos || has_any(m, M_BASE64, M_BASE64OFFSET, M_WINDASH)))
        return bad(c, key, "string modifiers cannot apply to cidr, numeric, time or exists tests");
    if (m->has[M_FIELDREF] && has_any(m, M_BASE64, M_BASE64OFFSET, M_WINDASH))
        return bad(c, key, "fieldref cannot be combined with encoding modifiers");
    if (keyword && (m->has[M_EXISTS] || m->has[M_FIELDREF] || m->has[M_CIDR] || cmp || times))
        return bad(c, key, "a keyword (no field name) cannot use exists, fieldref, cidr, numeric or time modifiers");
    return 0;
}

static int build_item(lctx *c, const km_ynode *key, const km_ynode *val, sg_item *it) {
    const char *k = key->s;
    const char *bar = strchr(k, '|');
    size_t fl = bar ? (size_t)(bar - k) : strlen(k);
    int keyword = fl == 0;
    mods m;
    if (parse_mods(c, key, bar ? bar + 1 : "", &m, keyword)) return -1;
    memset(it, 0, sizeof *it);
    it->line = key->line;
    it->col = key->col;
    if (!keyword && !(it->field = dup(c, k, fl))) return -1;
    it->all = m.has[M_ALL];
    it->neq = m.has[M_NEQ];
    vlist vl = {0};
    int rc = 0;
    if (val->type == KM_Y_SEQ) {
        if (val->n == 0) rc = bad(c, val, "'%s' has an empty list of values", k);
        for (size_t i = 0; i < val->n && rc == 0; i++) rc = add_value(c, val->items[i], &m, (uint32_t)i, keyword, &vl);
        it->ngroups = (uint32_t)val->n;
    } else if (val->type == KM_Y_MAP) {
        rc = bad(c, val, "'%s': a field's value cannot be a mapping", k);
    } else {
        if (m.has[M_ALL] && !m.has[M_BASE64OFFSET] && !m.has[M_WINDASH] && !m.has[M_EXPAND])
            rc = bad(c, key, "|all needs a list of values (Sigma does not allow it on a single value)");
        else rc = add_value(c, val, &m, 0, keyword, &vl);
        it->ngroups = 1;
    }
    if (rc == 0 && m.has[M_ALL] && val->type == KM_Y_SEQ && val->n < 2 && 0)
        rc = bad(c, key, "|all needs a list of two values or more");
    if (rc) {
        for (size_t i = 0; i < vl.n; i++) pcre2_code_free(vl.v[i].re);
        free(vl.v);
        return -1;
    }
    it->nvalues = vl.n;
    it->values = zalloc(c, vl.n * sizeof *it->values);
    if (!it->values) {
        for (size_t i = 0; i < vl.n; i++) pcre2_code_free(vl.v[i].re);
        free(vl.v);
        return -1;
    }
    if (vl.n) memcpy(it->values, vl.v, vl.n * sizeof *it->values); /* vl.v is NULL when empty */
    free(vl.v);
    return 0;
}

static int build_map(lctx *c, const km_ynode *map, sg_map *out) {
    if (map->n == 0) return bad(c, map, "an empty mapping matches nothing a rule could mean");
    out->items = zalloc(c, map->n * sizeof *out->items);
    if (!out->items) return -1;
    out->n = map->n;
    for (size_t i = 0; i < map->n; i++) {
        const km_ynode *k = map->pairs[i].key;
        if (k->type != KM_Y_SCALAR || k->kind == KM_YS_NULL) return bad(c, k, "a field name must be a string");
        if (build_item(c, k, map->pairs[i].value, &out->items[i])) {
            out->n = i; /* items before this one own compiled expressions */
            return -1;
        }
    }
    return 0;
}

static int build_sel(lctx *c, const km_ynode *name, const km_ynode *def, sg_sel *sel) {
    sel->name = name->s;
    sel->line = name->line;
    if (def->type == KM_Y_MAP) {
        sel->maps = zalloc(c, sizeof *sel->maps);
        if (!sel->maps) return -1;
        sel->n = 1;
        return build_map(c, def, &sel->maps[0]);
    }
    if (def->type == KM_Y_SEQ) {
        if (def->n == 0) return bad(c, def, "search identifier '%s' is an empty list", name->s);
        int maps = 0, scalars = 0;
        for (size_t i = 0; i < def->n; i++) {
            if (def->items[i]->type == KM_Y_MAP) maps++;
            else if (def->items[i]->type == KM_Y_SCALAR) scalars++;
            else return bad(c, def->items[i], "search identifier '%s': a list inside a list is not Sigma", name->s);
        }
        if (maps && scalars)
            return bad(c, def, "search identifier '%s' mixes field mappings and keywords in one list", name->s);
        if (maps) {
            sel->maps = zalloc(c, def->n * sizeof *sel->maps);
            if (!sel->maps) return -1;
            sel->n = def->n;
            for (size_t i = 0; i < def->n; i++)
                if (build_map(c, def->items[i], &sel->maps[i])) {
                    sel->n = i + 1;
                    return -1;
                }
            return 0;
        }
    }
    /* keywords: a list of values (or one value) searched in the whole record */
    sel->maps = zalloc(c, sizeof *sel->maps);
    if (!sel->maps) return -1;
    sel->n = 1;
    sel->maps[0].items = zalloc(c, sizeof(sg_item));
    if (!sel->maps[0].items) return -1;
    sel->maps[0].n = 1;
    km_ynode key = *name;
    key.s = "";
    key.len = 0;
    if (build_item(c, &key, def, &sel->maps[0].items[0])) {
        sel->maps[0].n = 0;
        return -1;
    }
    return 0;
}

/* ---- durations, counts ---- */

static int parse_span(const char *s, uint64_t *ms) {
    char *end;
    if (!s || !isdigit((unsigned char)s[0])) return -1;
    unsigned long long v = strtoull(s, &end, 10);
    uint64_t unit;
    if (!strcmp(end, "s")) unit = 1000;
    else if (!strcmp(end, "m")) unit = 60000;
    else if (!strcmp(end, "h")) unit = 3600000;
    else if (!strcmp(end, "d")) unit = 86400000;
    else return -1;
    if (v == 0 || v > UINT64_MAX / unit / 1000) return -1;
    *ms = v * unit;
    return 0;
}

/* ---- rules ---- */

static sg_rule *rule_new(lctx *c, const km_ynode *root) {
    sg_rule *r = zalloc(c, sizeof *r);
    if (!r) return NULL;
    r->info.file = c->file;
    r->info.line = root->line;
    r->info.reported = 1;
    r->doc_group = c->group;
    return r;
}

static int read_meta(lctx *c, const km_ynode *root, sg_rule *r) {
    const km_ynode *n;
    r->info.title = c->title;
    if ((n = km_ymap_get(root, "id")) && !(r->info.id = text_of(c, n, "id"))) return -1;
    if ((n = km_ymap_get(root, "name")) && !(r->info.name = text_of(c, n, "name"))) return -1;
    if ((n = km_ymap_get(root, "status")) && !(r->info.status = text_of(c, n, "status"))) return -1;
    if ((n = km_ymap_get(root, "description")) && !(r->info.description = text_of(c, n, "description"))) return -1;
    if ((n = km_ymap_get(root, "author")) && !(r->info.author = text_of(c, n, "author"))) return -1;
    if ((n = km_ymap_get(root, "response")) && !(r->info.response = text_of(c, n, "response"))) return -1;
    if ((n = km_ymap_get(root, "level"))) {
        static const char *const levels[] = {"informational", "low", "medium", "high", "critical"};
        if (!(r->info.level = text_of(c, n, "level"))) return -1;
        size_t k = 0;
        for (; k < 5; k++)
            if (!strcmp(levels[k], r->info.level)) break;
        if (k == 5) return bad(c, n, "level '%.40s' is not informational, low, medium, high or critical", r->info.level);
    }
    if (string_list(c, km_ymap_get(root, "tags"), "tags", &r->info.tags, &r->info.ntags)) return -1;
    if (string_list(c, km_ymap_get(root, "references"), "references", &r->info.references, &r->info.nreferences)) return -1;
    if (string_list(c, km_ymap_get(root, "falsepositives"), "falsepositives", &r->info.falsepositives,
                    &r->info.nfalsepositives))
        return -1;
    const char **sc;
    size_t nsc;
    if ((n = km_ymap_get(root, "scenarios"))) {
        if (string_list(c, n, "scenarios", &sc, &nsc)) return -1;
        for (size_t i = 0; i < nsc; i++) {
            if (!(sc[i][0] == 'S' && sc[i][1] >= '1' && sc[i][1] <= '7' && !sc[i][2]))
                return bad(c, n, "scenarios: '%.20s' is not one of S1..S7", sc[i]);
            r->info.scenarios |= 1u << (sc[i][1] - '1');
        }
    }
    if ((n = km_ymap_get(root, "taxonomy")) && !km_yscalar_is(n, "sigma"))
        return bad(c, n, "taxonomy '%.40s' is not supported (only the default 'sigma')", n->type == KM_Y_SCALAR ? n->s : "?");
    return 0;
}

static int check_logsource(lctx *c, const km_ynode *root) {
    const km_ynode *ls = km_ymap_get(root, "logsource");
    if (!ls) return bad(c, root, "no 'logsource' (kumomori reads product: aws, service: cloudtrail)");
    if (ls->type != KM_Y_MAP) return bad(c, ls, "'logsource' must be a mapping");
    const km_ynode *prod = km_ymap_get(ls, "product"), *svc = km_ymap_get(ls, "service"),
                   *cat = km_ymap_get(ls, "category");
    if (!prod || prod->type != KM_Y_SCALAR || strcasecmp(prod->s, "aws"))
        return bad(c, prod ? prod : ls, "logsource product '%.40s' is not 'aws': kumomori reads CloudTrail records only",
                   prod && prod->type == KM_Y_SCALAR ? prod->s : "(none)");
    if (svc && (svc->type != KM_Y_SCALAR || strcasecmp(svc->s, "cloudtrail")))
        return bad(c, svc, "logsource service '%.40s' is not 'cloudtrail'", svc->type == KM_Y_SCALAR ? svc->s : "?");
    if (cat) return bad(c, cat, "logsource category '%.40s' is not a CloudTrail log source", cat->type == KM_Y_SCALAR ? cat->s : "?");
    return 0;
}

static int push_rule(lctx *c, sg_rule *r) {
    if (c->s->n == c->s->cap) {
        size_t nc = c->s->cap ? c->s->cap * 2 : 32;
        sg_rule **nr = realloc(c->s->rules, nc * sizeof *nr);
        if (!nr) {
            free_rule_codes(r);
            return bad(c, NULL, "out of memory");
        }
        c->s->rules = nr;
        c->s->cap = nc;
    }
    c->s->rules[c->s->n++] = r;
    return 0;
}

/* The selections of a detection mapping (every key but condition and timeframe). */
static int build_sels(lctx *c, const km_ynode *det, sg_detection *d) {
    d->sels = zalloc(c, det->n * sizeof *d->sels);
    if (!d->sels) return -1;
    for (size_t i = 0; i < det->n; i++) {
        const km_ynode *k = det->pairs[i].key;
        if (km_yscalar_is(k, "condition") || km_yscalar_is(k, "timeframe")) continue;
        if (k->type != KM_Y_SCALAR || k->len == 0) return bad(c, k, "a search identifier must be a name");
        sg_sel *sel = &d->sels[d->nsels++];
        if (build_sel(c, k, det->pairs[i].value, sel)) return -1;
    }
    return 0;
}

static int finish_detection(lctx *c, const km_ynode *at, sg_detection *d) {
    if (sg_prefilter_build(&c->s->arena, d)) return bad(c, at, "out of memory");
    return 0;
}

/* Legacy aggregation: "count(F) by G > N" (F, "by G" optional). */
static int parse_count(lctx *c, const km_ynode *at, const char *p, sg_rule *corr) {
    while (isspace((unsigned char)*p)) p++;
    if (strncmp(p, "count", 5)) return -1;
    p += 5;
    while (isspace((unsigned char)*p)) p++;
    if (*p != '(') return bad(c, at, "legacy aggregation: '(' expected after count");
    const char *fs = ++p;
    while (*p && *p != ')') p++;
    if (!*p) return bad(c, at, "legacy aggregation: ')' expected");
    const char *fe = p++;
    while (fs < fe && isspace((unsigned char)*fs)) fs++;
    while (fe > fs && isspace((unsigned char)fe[-1])) fe--;
    if (fe > fs) {
        corr->info.corr_type = KM_CORR_VALUE_COUNT;
        if (!(corr->info.value_field = dup(c, fs, (size_t)(fe - fs)))) return -1;
    } else {
        corr->info.corr_type = KM_CORR_EVENT_COUNT;
    }
    while (isspace((unsigned char)*p)) p++;
    if (!strncmp(p, "by", 2) && isspace((unsigned char)p[2])) {
        p += 2;
        while (isspace((unsigned char)*p)) p++;
        const char *gs = p;
        while (*p && !isspace((unsigned char)*p) && !strchr("<>=!", *p)) p++;
        if (p == gs) return bad(c, at, "legacy aggregation: a field name is expected after 'by'");
        corr->info.ngroup_by = 1;
        corr->info.group_by = zalloc(c, sizeof *corr->info.group_by);
        if (!corr->info.group_by || !(corr->info.group_by[0] = dup(c, gs, (size_t)(p - gs)))) return -1;
        while (isspace((unsigned char)*p)) p++;
    }
    int op;
    if (!strncmp(p, ">=", 2)) { op = CMP_GTE; p += 2; }
    else if (!strncmp(p, "<=", 2)) { op = CMP_LTE; p += 2; }
    else if (!strncmp(p, "==", 2)) { op = CMP_EQ; p += 2; }
    else if (*p == '>') { op = CMP_GT; p++; }
    else if (*p == '<') { op = CMP_LT; p++; }
    else if (*p == '=') { op = CMP_EQ; p++; }
    else return bad(c, at, "legacy aggregation: a comparison (>, >=, <, <=, ==) is expected, found '%.20s'", p);
    while (isspace((unsigned char)*p)) p++;
    char *end;
    if (!isdigit((unsigned char)*p)) return bad(c, at, "legacy aggregation: a whole number is expected after the comparison");
    unsigned long long v = strtoull(p, &end, 10);
    while (isspace((unsigned char)*end)) end++;
    if (*end) return bad(c, at, "legacy aggregation: unexpected '%.20s' after the count", end);
    km_count_cond *cc = &corr->info.cond;
    corr->info.has_cond = 1;
    switch (op) {
    case CMP_GT: cc->has_gt = 1; cc->gt = v; break;
    case CMP_GTE: cc->has_gte = 1; cc->gte = v; break;
    case CMP_LT: cc->has_lt = 1; cc->lt = v; break;
    case CMP_LTE: cc->has_lte = 1; cc->lte = v; break;
    default: cc->has_eq = 1; cc->eq = v; break;
    }
    return 0;
}

/* A hidden detection rule for a piece of a legacy correlation: the given condition over the
 * rule's own selections. */
static sg_rule *piece_rule(lctx *c, const km_ynode *root, const km_ynode *det, const char *cond_text,
                           const km_ynode *cond_node, const char *suffix) {
    sg_rule *r = rule_new(c, root);
    if (!r) return NULL;
    if (read_meta(c, root, r)) return NULL;
    char title[400];
    snprintf(title, sizeof title, "%s [%s]", c->title, suffix);
    if (!(r->info.title = dup(c, title, strlen(title)))) return NULL;
    r->info.id = NULL;
    r->info.name = NULL;
    r->info.kind = KM_SIGMA_DETECTION;
    r->info.reported = 0;
    if (build_sels(c, det, &r->det)) {
        free_rule_codes(r);
        return NULL;
    }
    char msg[300];
    size_t pos = 0;
    const char *pipe;
    r->det.cond = sg_cond_parse(&c->s->arena, cond_text, r->det.sels, r->det.nsels, &pipe, msg, sizeof msg, &pos);
    if (!r->det.cond || pipe) {
        free_rule_codes(r);
        if (!r->det.cond) bad(c, cond_node, "condition '%.100s': %s (at character %zu)", cond_text, msg, pos + 1);
        else bad(c, cond_node, "condition '%.100s': only one '|' is allowed", cond_text);
        return NULL;
    }
    if (finish_detection(c, cond_node, &r->det)) {
        free_rule_codes(r);
        return NULL;
    }
    if (push_rule(c, r)) return NULL;
    return r;
}

static int set_corr_refs_direct(lctx *c, sg_rule *corr, sg_rule **pieces, size_t n) {
    size_t *idx = zalloc(c, n * sizeof *idx);
    if (!idx) return -1;
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < c->s->n; k++)
            if (c->s->rules[k] == pieces[i]) idx[i] = k;
    }
    corr->info.corr_rules = idx;
    corr->info.ncorr_rules = n;
    return 0;
}

/* A rule written with the legacy pipe: `selection | count() > 10`, `a | near b and c`. */
static int load_legacy(lctx *c, const km_ynode *root, const km_ynode *det, const km_ynode *cond_node,
                       const char *cond_text, const char *pipe, const km_ynode *tf) {
    uint64_t span = 0;
    if (tf && (tf->type != KM_Y_SCALAR || parse_span(tf->s, &span)))
        return bad(c, tf, "timeframe '%.40s' is not a duration like 30s, 10m, 1h or 2d",
                   tf->type == KM_Y_SCALAR ? tf->s : "?");
    size_t headlen = (size_t)(pipe - 1 - cond_text);
    char *head = dup(c, cond_text, headlen);
    if (!head) return -1;
    const char *p = pipe;
    while (isspace((unsigned char)*p)) p++;
    sg_rule *corr = rule_new(c, root);
    if (!corr) return -1;
    if (read_meta(c, root, corr)) return -1;
    corr->info.kind = KM_SIGMA_CORRELATION;
    if (!strncmp(p, "count", 5)) {
        if (!tf) return bad(c, cond_node, "legacy aggregation '%.60s' needs a 'timeframe' in the detection", p);
        int rc = parse_count(c, cond_node, p, corr);
        if (rc) return rc < 0 && !c->failed ? bad(c, cond_node, "cannot read the aggregation '%.60s'", p) : -1;
        sg_rule *piece = piece_rule(c, root, det, head, cond_node, "events");
        if (!piece) return -1;
        corr->info.timespan_ms = span;
        if (set_corr_refs_direct(c, corr, &piece, 1)) return -1;
        warn(c, cond_node, "legacy aggregation '%s' read as a Sigma %s correlation over %s", p,
             corr->info.corr_type == KM_CORR_VALUE_COUNT ? "value_count" : "event_count", tf->s);
        return push_rule(c, corr);
    }
    if (!strncmp(p, "near", 4) && isspace((unsigned char)p[4])) {
        p += 4;
        sg_rule *pieces[16];
        size_t np = 0;
        pieces[np] = piece_rule(c, root, det, head, cond_node, "first");
        if (!pieces[np++]) return -1;
        /* operands joined by 'and'; 'and not' (absence) has no streaming meaning here */
        char buf[512];
        snprintf(buf, sizeof buf, "%s", p);
        char *save = NULL;
        for (char *tok = strtok_r(buf, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
            if (!strcmp(tok, "and")) continue;
            if (!strcmp(tok, "not")) return bad(c, cond_node, "legacy 'near ... and not ...' is not supported");
            if (np >= 16) return bad(c, cond_node, "legacy 'near' with more than 15 operands");
            pieces[np] = piece_rule(c, root, det, tok, cond_node, tok);
            if (!pieces[np++]) return -1;
        }
        if (np < 2) return bad(c, cond_node, "legacy 'near' needs a search identifier after it");
        if (!tf) {
            span = 3600000;
            warn(c, cond_node, "legacy 'near' without 'timeframe': read with a timespan of 1h");
        }
        corr->info.corr_type = KM_CORR_TEMPORAL;
        corr->info.timespan_ms = span;
        if (set_corr_refs_direct(c, corr, pieces, np)) return -1;
        warn(c, cond_node, "legacy 'near' read as a Sigma temporal correlation of %zu rules", np);
        return push_rule(c, corr);
    }
    return bad(c, cond_node, "unsupported aggregation '| %.60s' (kumomori reads count() and near)", p);
}

/* `timeframe` with a condition that is an 'and' of search identifiers and no aggregation:
 * the events are meant to be correlated (SigmaHQ's aws_ses_messaging_enabled says so). */
static int load_legacy_timeframe_and(lctx *c, const km_ynode *root, const km_ynode *det, const km_ynode *cond_node,
                                     const char *cond_text, const km_ynode *tf) {
    uint64_t span;
    if (tf->type != KM_Y_SCALAR || parse_span(tf->s, &span))
        return bad(c, tf, "timeframe '%.40s' is not a duration like 30s, 10m, 1h or 2d", tf->type == KM_Y_SCALAR ? tf->s : "?");
    char buf[512];
    snprintf(buf, sizeof buf, "%s", cond_text);
    const char *names[16];
    size_t nn = 0;
    int expect_name = 1;
    char *save = NULL;
    for (char *tok = strtok_r(buf, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save)) {
        if (expect_name) {
            if (!strcmp(tok, "and") || !strcmp(tok, "or") || !strcmp(tok, "not") || strchr(tok, '(') ||
                strchr(tok, '*') || nn >= 16)
                return -2;
            names[nn++] = tok;
        } else if (strcmp(tok, "and")) {
            return -2;
        }
        expect_name = !expect_name;
    }
    if (nn < 2 || expect_name) return -2;
    sg_rule *corr = rule_new(c, root);
    if (!corr) return -1;
    if (read_meta(c, root, corr)) return -1;
    corr->info.kind = KM_SIGMA_CORRELATION;
    sg_rule *pieces[16];
    for (size_t i = 0; i < nn; i++) {
        pieces[i] = piece_rule(c, root, det, names[i], cond_node, names[i]);
        if (!pieces[i]) return -1;
    }
    corr->info.corr_type = KM_CORR_TEMPORAL;
    corr->info.timespan_ms = span;
    if (set_corr_refs_direct(c, corr, pieces, nn)) return -1;
    warn(c, tf, "legacy 'timeframe' with the condition '%s' read as a Sigma temporal correlation of its %zu search "
                "identifiers within %s", cond_text, nn, tf->s);
    return push_rule(c, corr);
}

static int load_detection(lctx *c, const km_ynode *root, const km_ynode *det) {
    if (check_logsource(c, root)) return -1;
    if (det->type != KM_Y_MAP) return bad(c, det, "'detection' must be a mapping");
    const km_ynode *cond_node = km_ymap_get(det, "condition");
    if (!cond_node) return bad(c, det, "'detection' has no 'condition'");
    const km_ynode *tf = km_ymap_get(det, "timeframe");
    /* the condition: a string, or a list of strings (any of them) */
    const char *conds[64];
    const km_ynode *cnodes[64];
    size_t ncond = 0;
    if (cond_node->type == KM_Y_SCALAR && cond_node->kind == KM_YS_STR) {
        conds[ncond] = cond_node->s;
        cnodes[ncond++] = cond_node;
    } else if (cond_node->type == KM_Y_SEQ && cond_node->n > 0 && cond_node->n <= 64) {
        for (size_t i = 0; i < cond_node->n; i++) {
            if (cond_node->items[i]->type != KM_Y_SCALAR) return bad(c, cond_node->items[i], "a condition must be a string");
            conds[ncond] = cond_node->items[i]->s;
            cnodes[ncond++] = cond_node->items[i];
        }
    } else {
        return bad(c, cond_node, "'condition' must be a string or a list of strings");
    }
    for (size_t i = 0; i < ncond; i++) {
        const char *bar = strchr(conds[i], '|');
        if (bar) {
            if (ncond > 1) return bad(c, cnodes[i], "a legacy aggregation cannot be one of several conditions");
            return load_legacy(c, root, det, cnodes[i], conds[i], bar + 1, tf);
        }
    }
    if (tf) {
        int rc = ncond == 1 ? load_legacy_timeframe_and(c, root, det, cnodes[0], conds[0], tf) : -2;
        if (rc != -2) return rc;
        return bad(c, tf, "'timeframe' without an aggregation ('| count() ...' or '| near ...') and with a condition "
                          "that is not an 'and' of search identifiers has no meaning: write a Sigma correlation rule");
    }
    sg_rule *r = rule_new(c, root);
    if (!r) return -1;
    if (read_meta(c, root, r)) return -1;
    r->info.kind = KM_SIGMA_DETECTION;
    if (build_sels(c, det, &r->det)) {
        free_rule_codes(r);
        return -1;
    }
    if (r->det.nsels == 0) {
        free_rule_codes(r);
        return bad(c, det, "'detection' has no search identifier");
    }
    sg_cond *all = NULL;
    for (size_t i = 0; i < ncond; i++) {
        char msg[300];
        size_t pos = 0;
        const char *pipe;
        sg_cond *cd = sg_cond_parse(&c->s->arena, conds[i], r->det.sels, r->det.nsels, &pipe, msg, sizeof msg, &pos);
        if (!cd) {
            free_rule_codes(r);
            return bad(c, cnodes[i], "condition '%.100s': %s (at character %zu)", conds[i], msg, pos + 1);
        }
        if (all) {
            sg_cond *o = zalloc(c, sizeof *o);
            if (!o) {
                free_rule_codes(r);
                return -1;
            }
            o->kind = C_OR;
            o->a = all;
            o->b = cd;
            all = o;
        } else {
            all = cd;
        }
    }
    r->det.cond = all;
    if (finish_detection(c, cond_node, &r->det)) {
        free_rule_codes(r);
        return -1;
    }
    return push_rule(c, r);
}

static int load_correlation(lctx *c, const km_ynode *root, const km_ynode *cor) {
    if (cor->type != KM_Y_MAP) return bad(c, cor, "'correlation' must be a mapping");
    for (size_t i = 0; i < cor->n; i++) {
        const km_ynode *k = cor->pairs[i].key;
        static const char *const known[] = {"type", "rules", "group-by", "timespan", "condition", "aliases", "generate", "field"};
        size_t q = 0;
        for (; q < sizeof known / sizeof known[0]; q++)
            if (km_yscalar_is(k, known[q])) break;
        if (q == sizeof known / sizeof known[0])
            return bad(c, k, "unknown key '%.40s' in 'correlation'", k->type == KM_Y_SCALAR ? k->s : "?");
    }
    sg_rule *r = rule_new(c, root);
    if (!r) return -1;
    if (read_meta(c, root, r)) return -1;
    r->info.kind = KM_SIGMA_CORRELATION;
    r->line_corr = cor->line;
    const km_ynode *t = km_ymap_get(cor, "type");
    if (!t) return bad(c, cor, "correlation has no 'type'");
    if (km_yscalar_is(t, "event_count")) r->info.corr_type = KM_CORR_EVENT_COUNT;
    else if (km_yscalar_is(t, "value_count")) r->info.corr_type = KM_CORR_VALUE_COUNT;
    else if (km_yscalar_is(t, "temporal")) r->info.corr_type = KM_CORR_TEMPORAL;
    else if (km_yscalar_is(t, "temporal_ordered")) r->info.corr_type = KM_CORR_TEMPORAL_ORDERED;
    else return bad(c, t, "correlation type '%.40s' is not event_count, value_count, temporal or temporal_ordered",
                    t->type == KM_Y_SCALAR ? t->s : "?");
    const km_ynode *rules = km_ymap_get(cor, "rules");
    if (!rules) return bad(c, cor, "correlation has no 'rules'");
    if (string_list(c, rules, "rules", &r->refs, &r->nrefs)) return -1;
    if (r->nrefs == 0) return bad(c, rules, "correlation 'rules' is empty");
    r->ref_lines = zalloc(c, r->nrefs * sizeof *r->ref_lines);
    if (!r->ref_lines) return -1;
    for (size_t i = 0; i < r->nrefs; i++) r->ref_lines[i] = rules->type == KM_Y_SEQ ? rules->items[i]->line : rules->line;
    if (string_list(c, km_ymap_get(cor, "group-by"), "group-by", &r->info.group_by, &r->info.ngroup_by)) return -1;
    const km_ynode *ts = km_ymap_get(cor, "timespan");
    if (!ts) return bad(c, cor, "correlation has no 'timespan'");
    if (ts->type != KM_Y_SCALAR || parse_span(ts->s, &r->info.timespan_ms))
        return bad(c, ts, "timespan '%.40s' is not a duration like 30s, 10m, 1h or 2d", ts->type == KM_Y_SCALAR ? ts->s : "?");
    const km_ynode *cond = km_ymap_get(cor, "condition");
    const km_ynode *field = km_ymap_get(cor, "field");
    if (cond) {
        if (cond->type != KM_Y_MAP) return bad(c, cond, "correlation 'condition' must be a mapping like {gte: 10}");
        km_count_cond *cc = &r->info.cond;
        for (size_t i = 0; i < cond->n; i++) {
            const km_ynode *k = cond->pairs[i].key, *v = cond->pairs[i].value;
            if (km_yscalar_is(k, "field")) {
                field = v;
                continue;
            }
            if (v->type != KM_Y_SCALAR || v->kind != KM_YS_INT || v->num < 0)
                return bad(c, v, "correlation condition '%.10s' needs a whole number", k->s);
            uint64_t n = (uint64_t)v->num;
            if (km_yscalar_is(k, "gt")) { cc->has_gt = 1; cc->gt = n; }
            else if (km_yscalar_is(k, "gte")) { cc->has_gte = 1; cc->gte = n; }
            else if (km_yscalar_is(k, "lt")) { cc->has_lt = 1; cc->lt = n; }
            else if (km_yscalar_is(k, "lte")) { cc->has_lte = 1; cc->lte = n; }
            else if (km_yscalar_is(k, "eq")) { cc->has_eq = 1; cc->eq = n; }
            else return bad(c, k, "correlation condition '%.20s' is not gt, gte, lt, lte, eq or field", k->s);
            r->info.has_cond = 1;
        }
    }
    if (field) {
        if (field->type == KM_Y_SEQ) {
            /* several fields: their values together make one distinct value */
            km_buf b = KM_BUF_INIT;
            for (size_t i = 0; i < field->n; i++) {
                if (field->items[i]->type != KM_Y_SCALAR) {
                    km_buf_free(&b);
                    return bad(c, field, "'field' must be a field name or a list of them");
                }
                if (i) km_buf_putc(&b, '\x1f');
                km_buf_puts(&b, field->items[i]->s);
            }
            r->info.value_field = dup(c, b.data ? b.data : "", b.len);
            km_buf_free(&b);
            if (!r->info.value_field) return -1;
        } else if (!(r->info.value_field = text_of(c, field, "field"))) {
            return -1;
        }
    }
    switch (r->info.corr_type) {
    case KM_CORR_EVENT_COUNT:
        if (!r->info.has_cond) return bad(c, cor, "event_count needs a 'condition' (like gte: 100)");
        break;
    case KM_CORR_VALUE_COUNT:
        if (!r->info.has_cond) return bad(c, cor, "value_count needs a 'condition' (like gte: 10)");
        if (!r->info.value_field) return bad(c, cor, "value_count needs 'field' in its condition");
        break;
    default:
        if (r->info.value_field) return bad(c, field, "'field' only goes with value_count");
        break;
    }
    const km_ynode *gen = km_ymap_get(root, "generate");
    if (!gen) gen = km_ymap_get(cor, "generate");
    if (gen) {
        if (gen->type != KM_Y_SCALAR || gen->kind != KM_YS_BOOL) return bad(c, gen, "'generate' must be true or false");
        r->generate = gen->bool_val;
    }
    const km_ynode *al = km_ymap_get(cor, "aliases");
    if (al) {
        if (al->type != KM_Y_MAP) return bad(c, al, "'aliases' must be a mapping");
        r->naliases = al->n;
        r->aliases = zalloc(c, al->n * sizeof *r->aliases);
        if (!r->aliases) return -1;
        for (size_t i = 0; i < al->n; i++) {
            const km_ynode *an = al->pairs[i].value;
            if (an->type != KM_Y_MAP) return bad(c, an, "alias '%.40s' must map rule names to field names", al->pairs[i].key->s);
            sg_alias *a = &r->aliases[i];
            a->alias = al->pairs[i].key->s;
            a->n = an->n;
            a->rule_refs = zalloc(c, an->n * sizeof *a->rule_refs);
            a->fields = zalloc(c, an->n * sizeof *a->fields);
            if (!a->rule_refs || !a->fields) return -1;
            for (size_t k = 0; k < an->n; k++) {
                a->rule_refs[k] = an->pairs[k].key->s;
                if (!(a->fields[k] = text_of(c, an->pairs[k].value, "an alias's field"))) return -1;
            }
        }
    }
    return push_rule(c, r);
}

int km_sigma_set_add_text(km_sigma_set *s, const char *name, const char *text, size_t len, km_error *err) {
    km_error_clear(err);
    lctx c;
    memset(&c, 0, sizeof c);
    c.s = s;
    c.err = err;
    c.file = km_arena_strndup(&s->arena, name, strlen(name));
    if (!c.file) return km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
    c.group = ++s->next_group;
    /* rules will point into the document's strings: room to keep it is made before any rule
     * exists (making it after, on failure, would free the document under the new rules) */
    if (s->ndocs == s->capdocs) {
        size_t nc = s->capdocs ? s->capdocs * 2 : 16;
        km_ydoc **nd = realloc(s->docs, nc * sizeof *nd);
        if (!nd) return km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
        s->docs = nd;
        s->capdocs = nc;
    }
    km_error yerr;
    km_ydoc *doc = km_yaml_parse(text, len, c.file, &yerr);
    if (!doc) {
        keep_msg(&s->errors, &s->nerrors, &s->caperrors, yerr.msg);
        km_error_set(err, KM_ERR, (size_t)-1, "%s", yerr.msg);
        return KM_ERR;
    }
    int any_failed = 0;
    for (size_t d = 0; d < km_ydoc_count(doc); d++) {
        const km_ynode *root = km_ydoc_root(doc, d);
        c.title = NULL;
        c.failed = 0;
        if (root->type == KM_Y_SCALAR && root->kind == KM_YS_NULL) continue; /* an empty document */
        if (root->type != KM_Y_MAP) {
            bad(&c, root, "a Sigma rule must be a mapping, not %s", km_ynode_what(root));
        } else {
            const km_ynode *t = km_ymap_get(root, "title");
            const km_ynode *action = km_ymap_get(root, "action");
            if (t && t->type == KM_Y_SCALAR) c.title = dup(&c, t->s, t->len);
            if (action) {
                bad(&c, action, "Sigma rule collections ('action: %.20s') are not supported: write each rule in full",
                    action->type == KM_Y_SCALAR ? action->s : "?");
            } else if (!t || t->type != KM_Y_SCALAR || t->len == 0) {
                bad(&c, t ? t : root, "a Sigma rule needs a 'title'");
            } else {
                const km_ynode *det = km_ymap_get(root, "detection"), *cor = km_ymap_get(root, "correlation");
                if (det && cor) bad(&c, cor, "a rule has either 'detection' or 'correlation', not both");
                else if (det) load_detection(&c, root, det);
                else if (cor) load_correlation(&c, root, cor);
                else bad(&c, root, "the rule has neither 'detection' nor 'correlation'");
            }
        }
        if (c.failed) any_failed = 1;
    }
    /* rules point into the document's strings: the set keeps it (room made above) */
    s->docs[s->ndocs++] = doc;
    s->finished = 0;
    return any_failed ? KM_ERR : KM_OK;
}

/* ---- files and folders ---- */

static int has_yaml_ext(const char *p) {
    size_t n = strlen(p);
    return (n > 4 && !strcmp(p + n - 4, ".yml")) || (n > 5 && !strcmp(p + n - 5, ".yaml"));
}

static int add_file(km_sigma_set *s, const char *path, km_error *err) {
    size_t len;
    km_error e;
    char *text = km_read_file(path, MAX_RULE_FILE, &len, &e);
    if (!text) {
        keep_msg(&s->errors, &s->nerrors, &s->caperrors, e.msg);
        km_error_set(err, KM_ERR, (size_t)-1, "%s", e.msg);
        return KM_ERR;
    }
    int rc = km_sigma_set_add_text(s, path, text, len, err);
    free(text);
    return rc;
}

static int add_dir(km_sigma_set *s, const char *path, km_error *err, int depth, int *first_rc) {
    if (depth > 32) return 0;
    struct dirent **list = NULL;
    int n = scandir(path, &list, NULL, alphasort);
    if (n < 0) {
        char msg[600];
        snprintf(msg, sizeof msg, "%s: cannot read the folder: %s", path, strerror(errno));
        keep_msg(&s->errors, &s->nerrors, &s->caperrors, msg);
        if (*first_rc == KM_OK) km_error_set(err, KM_ERR, (size_t)-1, "%s", msg);
        *first_rc = KM_ERR;
        return 0;
    }
    for (int i = 0; i < n; i++) {
        const char *nm = list[i]->d_name;
        if (nm[0] != '.') {
            char full[4096];
            snprintf(full, sizeof full, "%s/%s", path, nm);
            struct stat st;
            if (stat(full, &st) == 0 && S_ISDIR(st.st_mode)) {
                add_dir(s, full, err, depth + 1, first_rc);
            } else if (has_yaml_ext(nm)) {
                km_error e;
                if (add_file(s, full, &e) != KM_OK) {
                    if (*first_rc == KM_OK) *err = e;
                    *first_rc = KM_ERR;
                }
            }
        }
        free(list[i]);
    }
    free(list);
    return 0;
}

int km_sigma_set_add_path(km_sigma_set *s, const char *path, km_error *err) {
    km_error_clear(err);
    struct stat st;
    if (stat(path, &st) != 0) {
        char msg[600];
        snprintf(msg, sizeof msg, "%s: %s", path, strerror(errno));
        keep_msg(&s->errors, &s->nerrors, &s->caperrors, msg);
        return km_error_set(err, KM_ERR, (size_t)-1, "%s", msg);
    }
    if (!S_ISDIR(st.st_mode)) return add_file(s, path, err);
    int rc = KM_OK;
    add_dir(s, path, err, 0, &rc);
    return rc;
}

/* ---- finishing: references, aliases, cycles ---- */

static long find_ref(km_sigma_set *s, const sg_rule *from, const char *ref) {
    long by_name_same = -1, by_name = -1, by_id = -1;
    for (size_t i = 0; i < s->n; i++) {
        const sg_rule *r = s->rules[i];
        if (r == from) continue;
        if (r->info.id && !strcmp(r->info.id, ref) && by_id < 0) by_id = (long)i;
        if (r->info.name && !strcmp(r->info.name, ref)) {
            if (r->doc_group == from->doc_group && by_name_same < 0) by_name_same = (long)i;
            if (by_name < 0) by_name = (long)i;
        }
    }
    if (by_id >= 0) return by_id;
    if (by_name_same >= 0) return by_name_same;
    return by_name;
}

static int fin_bad(km_sigma_set *s, const sg_rule *r, size_t line, const char *fmt, const char *a, const char *b) {
    char what[400], full[700];
    snprintf(what, sizeof what, fmt, a, b);
    snprintf(full, sizeof full, "%s:%zu:1: rule '%.120s': %s", r->info.file, line, r->info.title, what);
    keep_msg(&s->errors, &s->nerrors, &s->caperrors, full);
    return KM_ERR;
}

int km_sigma_set_finish(km_sigma_set *s, km_error *err) {
    km_error_clear(err);
    int rc = KM_OK;
    size_t first_new_error = s->nerrors;
    for (size_t i = 0; i < s->n; i++) {
        sg_rule *r = s->rules[i];
        if (r->info.kind != KM_SIGMA_CORRELATION || r->info.corr_rules) continue; /* legacy: already direct */
        size_t *idx = km_arena_alloc(&s->arena, r->nrefs * sizeof *idx);
        if (!idx) return km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
        int ok = 1;
        for (size_t j = 0; j < r->nrefs; j++) {
            long k = find_ref(s, r, r->refs[j]);
            if (k < 0) {
                rc = fin_bad(s, r, r->ref_lines[j], "correlation refers to '%s'%s, which is not loaded (give its file with --rules)",
                             r->refs[j], "");
                ok = 0;
                continue;
            }
            idx[j] = (size_t)k;
        }
        if (!ok) continue;
        r->info.corr_rules = idx;
        r->info.ncorr_rules = r->nrefs;
        /* aliases: group-by names that are aliases read a per-rule field */
        if (r->info.ngroup_by) {
            r->group_fields = km_arena_alloc(&s->arena, r->nrefs * sizeof *r->group_fields);
            if (!r->group_fields) return km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
            for (size_t j = 0; j < r->nrefs; j++) {
                r->group_fields[j] = km_arena_alloc(&s->arena, r->info.ngroup_by * sizeof **r->group_fields);
                if (!r->group_fields[j]) return km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
                const sg_rule *ref = s->rules[idx[j]];
                for (size_t g = 0; g < r->info.ngroup_by; g++) {
                    r->group_fields[j][g] = r->info.group_by[g];
                    for (size_t a = 0; a < r->naliases; a++) {
                        if (strcmp(r->aliases[a].alias, r->info.group_by[g])) continue;
                        const char *f = NULL;
                        for (size_t q = 0; q < r->aliases[a].n; q++) {
                            const char *rr = r->aliases[a].rule_refs[q];
                            if ((ref->info.name && !strcmp(ref->info.name, rr)) || (ref->info.id && !strcmp(ref->info.id, rr)))
                                f = r->aliases[a].fields[q];
                        }
                        if (!f) {
                            rc = fin_bad(s, r, r->line_corr, "alias '%s' gives no field for rule '%s'", r->aliases[a].alias,
                                         ref->info.name ? ref->info.name : ref->info.title);
                        } else {
                            r->group_fields[j][g] = f;
                        }
                    }
                }
            }
        }
        if (!r->generate)
            for (size_t j = 0; j < r->nrefs; j++) s->rules[idx[j]]->info.reported = 0;
    }
    /* cycles: follow references from each correlation; a path longer than the set has a loop */
    for (size_t i = 0; i < s->n && rc == KM_OK; i++) {
        if (s->rules[i]->info.kind != KM_SIGMA_CORRELATION) continue;
        /* iterative DFS with colours */
        unsigned char *colour = calloc(s->n, 1);
        size_t *stack = malloc(s->n * 2 * sizeof *stack + 16);
        if (!colour || !stack) {
            free(colour);
            free(stack);
            return km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
        }
        size_t sp = 0;
        stack[sp++] = i;
        stack[sp++] = 0;
        colour[i] = 1;
        int cyc = 0;
        while (sp && !cyc) {
            size_t node = stack[sp - 2], next = stack[sp - 1];
            const km_sigma_info *in = &s->rules[node]->info;
            if (in->kind == KM_SIGMA_CORRELATION && next < in->ncorr_rules) {
                stack[sp - 1]++;
                size_t ch = in->corr_rules[next];
                if (colour[ch] == 1) cyc = 1;
                else if (colour[ch] == 0) {
                    colour[ch] = 1;
                    stack[sp++] = ch;
                    stack[sp++] = 0;
                }
            } else {
                colour[node] = 2;
                sp -= 2;
            }
        }
        free(colour);
        free(stack);
        if (cyc) rc = fin_bad(s, s->rules[i], s->rules[i]->info.line, "correlation rules refer to each other in a loop%s%s", "", "");
    }
    s->finished = 1;
    if (rc != KM_OK && s->nerrors > first_new_error) km_error_set(err, KM_ERR, (size_t)-1, "%s", s->errors[first_new_error]);
    return rc;
}
