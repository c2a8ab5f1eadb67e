/* Compiling a Sigma detection onto the matcher (issue 5): the condition is put in negation normal
 * form, selections are expanded into their maps and items, and the result is multiplied out into
 * a disjunction of conjunctions of items; each conjunction becomes one EventBridge pattern added
 * under the rule's id, so the matcher's answer for the rule is the condition's answer.
 *
 * An item becomes a pattern field when the matcher can test it exactly (docs/sigma.md, "How it
 * runs"): its field is one CloudTrail documents as a plain string (eventName, userIdentity.type,
 * ...; the list is sg_scalar_field), and its values are ASCII strings with '*' wildcards, null or
 * exists. Case-insensitive values become equals-ignore-case, prefix/suffix with
 * equals-ignore-case, or kumomori's km-wildcard-ignore-case; cased ones exact strings, prefix,
 * suffix or wildcard; a negated item becomes anything-but of the same values or exists:false
 * (Sigma's `not` is true on an absent field; EventBridge's anything-but needs the field).
 *
 * Any other item (a regular expression, fieldref, numbers, keywords, a field that may hold an
 * object or an array, ...) is replaced by "true" where it stands in the normal form, which only
 * widens the patterns: they stay necessary conditions, the record is parsed and the reference
 * evaluator decides (the rule is compiled "partly"). Each such item is recorded with the reason
 * (km_sigma_compiled, `kumomori rules list --format json`). A cased `|re` still contributes the
 * literal text every match must contain. */
#include "sigma/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TERMS 256 /* conjunctions (patterns) per rule before falling back */
#define MAX_ATOMS 32  /* items per conjunction */

typedef struct atom {
    const char *field;
    size_t line;
    char *vals; /* the field's JSON value list */
} atom;

typedef struct term {
    uint16_t *ix; /* indices into the atom pool */
    size_t n;
} term;

typedef struct dnf {
    term *t;
    size_t n;
    int over; /* too many terms: give up */
} dnf;

typedef struct cx {
    const sg_detection *d;
    atom *pool;
    size_t npool, cappool;
    char **why;
    size_t nwhy, capwhy;
    int exact;
    int oom;
} cx;

static void dnf_free(dnf *x) {
    for (size_t i = 0; i < x->n; i++) free(x->t[i].ix);
    free(x->t);
    x->t = NULL;
    x->n = 0;
}

static dnf dnf_false(void) { return (dnf){NULL, 0, 0}; }

static dnf dnf_true(cx *c) {
    dnf x = {calloc(1, sizeof(term)), 1, 0};
    if (!x.t) {
        c->oom = 1;
        x.n = 0;
        x.over = 1;
    }
    return x;
}

static dnf dnf_over(void) { return (dnf){NULL, 0, 1}; }

static dnf dnf_or(dnf a, dnf b) {
    if (a.over || b.over || a.n + b.n > MAX_TERMS) {
        dnf_free(&a);
        dnf_free(&b);
        return dnf_over();
    }
    /* an empty (false) side may still own its array (dnf_and of a false side allocates one) */
    if (!b.n) {
        dnf_free(&b);
        return a;
    }
    if (!a.n) {
        dnf_free(&a);
        return b;
    }
    term *t = realloc(a.t, (a.n + b.n) * sizeof *t);
    if (!t) {
        dnf_free(&a);
        dnf_free(&b);
        return dnf_over();
    }
    memcpy(t + a.n, b.t, b.n * sizeof *t);
    free(b.t);
    return (dnf){t, a.n + b.n, 0};
}

static dnf dnf_and(dnf a, dnf b) {
    if (a.over || b.over || a.n * b.n > MAX_TERMS) {
        dnf_free(&a);
        dnf_free(&b);
        return dnf_over();
    }
    dnf r = {calloc(a.n * b.n > 0 ? a.n * b.n : 1, sizeof(term)), 0, 0};
    int bad = !r.t;
    for (size_t i = 0; i < a.n && !bad; i++)
        for (size_t j = 0; j < b.n && !bad; j++) {
            size_t n = a.t[i].n + b.t[j].n;
            if (n > MAX_ATOMS) {
                bad = 1;
                break;
            }
            uint16_t *ix = malloc((n ? n : 1) * sizeof *ix);
            if (!ix) {
                bad = 1;
                break;
            }
            if (a.t[i].n) memcpy(ix, a.t[i].ix, a.t[i].n * sizeof *ix);
            if (b.t[j].n) memcpy(ix + a.t[i].n, b.t[j].ix, b.t[j].n * sizeof *ix);
            r.t[r.n++] = (term){ix, n};
        }
    dnf_free(&a);
    dnf_free(&b);
    if (bad) {
        dnf_free(&r);
        return dnf_over();
    }
    if (!r.n) { /* false and anything: false, without the array allocated for it */
        dnf_free(&r);
        return dnf_false();
    }
    return r;
}

static void note(cx *c, const sg_item *it, const char *what) {
    char buf[512];
    snprintf(buf, sizeof buf, "line %zu: %s: %s", it->line, it->field ? it->field : "keywords", what);
    for (size_t i = 0; i < c->nwhy; i++)
        if (!strcmp(c->why[i], buf)) return;
    if (c->nwhy == c->capwhy) {
        size_t nc = c->capwhy ? c->capwhy * 2 : 8;
        char **nw = realloc(c->why, nc * sizeof *nw);
        if (!nw) {
            c->oom = 1;
            return;
        }
        c->why = nw;
        c->capwhy = nc;
    }
    if (!(c->why[c->nwhy] = strdup(buf))) c->oom = 1;
    else c->nwhy++;
}

static int ascii_text(const sg_str *s) {
    for (size_t i = 0; i < s->len; i++)
        if ((unsigned char)s->b[i] >= 0x80 || (unsigned char)s->b[i] < 0x20) return 0;
    return 1;
}

/* The whole Sigma string as a wildcard text: stars as '*' (runs of them as one), literal '*' and
 * '\' escaped. */
static void wild_text(km_buf *b, const sg_str *s, size_t st, size_t en) {
    int prev_star = 0;
    for (size_t i = st; i < en; i++) {
        if (s->w[i] == 1) {
            if (!prev_star) km_buf_putc(b, '*');
            prev_star = 1;
            continue;
        }
        prev_star = 0;
        if (s->b[i] == '*' || s->b[i] == '\\') km_buf_putc(b, '\\');
        km_buf_putc(b, s->b[i]);
    }
}

/* wl (may be NULL) collects the cased wildcards, which the matcher's complexity rule counts. */
static void put_wild(km_buf *b, const char *op, const sg_str *s, sg_wl *wl) {
    km_buf w = KM_BUF_INIT;
    wild_text(&w, s, 0, s->len);
    km_buf_printf(b, "{\"%s\":", op);
    km_buf_json_str(b, w.data ? w.data : "", w.len);
    km_buf_putc(b, '}');
    if (w.failed) b->failed = 1;
    if (!strcmp(op, "wildcard")) sg_wl_add(wl, w.data ? w.data : "", w.len);
    km_buf_free(&w);
}

/* One string value, positively. Returns 0 with *why set when the matcher cannot test it exactly. */
static int str_pos(km_buf *b, const sg_value *v, const char **why, sg_wl *wl) {
    const sg_str *s = &v->str;
    if (!ascii_text(s)) {
        *why = "text outside printable ASCII (the matcher's case rules are ASCII's)";
        return 0;
    }
    size_t st = 0, en = s->len;
    while (st < en && s->w[st] == 1) st++;
    while (en > st && s->w[en - 1] == 1) en--;
    int inner = 0;
    for (size_t i = st; i < en; i++) {
        if (s->w[i] == 2) {
            *why = "the '?' wildcard (one character; the matcher has no such test)";
            return 0;
        }
        if (s->w[i] == 1) inner = 1;
    }
    if (s->len == 0) {
        km_buf_puts(b, "\"\"");
        return 1;
    }
    if (st == en) { /* only stars: any string */
        km_buf_puts(b, "{\"wildcard\":\"*\"}");
        sg_wl_add(wl, "*", 1);
        return 1;
    }
    int lead = st > 0, trail = en < s->len;
    if (inner || (lead && trail)) {
        put_wild(b, v->cased ? "wildcard" : "km-wildcard-ignore-case", s, wl);
        return 1;
    }
    if (v->cased) {
        if (!lead && !trail) km_buf_json_str(b, s->b, s->len);
        else {
            km_buf_puts(b, trail ? "{\"prefix\":" : "{\"suffix\":");
            km_buf_json_str(b, s->b + st, en - st);
            km_buf_putc(b, '}');
        }
        return 1;
    }
    if (!lead && !trail) km_buf_puts(b, "{\"equals-ignore-case\":");
    else if (trail) km_buf_puts(b, "{\"prefix\":{\"equals-ignore-case\":");
    else km_buf_puts(b, "{\"suffix\":{\"equals-ignore-case\":");
    km_buf_json_str(b, s->b + st, en - st);
    km_buf_puts(b, lead || trail ? "}}" : "}");
    return 1;
}

static int in_group(const sg_item *it, size_t k, int g) { return g < 0 || it->values[k].group == (uint32_t)g; }

/* The value list of "field matches one of the values (of group g)". 1 exact, 2 necessary only,
 * 0 not expressible (*why). */
static int vals_pos_wl(km_buf *b, const sg_item *it, int g, const char **why, sg_wl *wl);
static int vals_pos(km_buf *b, const sg_item *it, int g, const char **why) {
    sg_wl wl = {KM_BUF_INIT, {0}, 0, 0};
    int rc = vals_pos_wl(b, it, g, why, &wl);
    if (rc && !sg_wl_fits(&wl)) {
        *why = "wildcards the matcher refuses together as too complex (repeated characters after '*')";
        rc = 0;
    }
    sg_wl_free(&wl);
    return rc;
}

static int vals_pos_wl(km_buf *b, const sg_item *it, int g, const char **why, sg_wl *wl) {
    int rc = 1, n = 0;
    km_buf_putc(b, '[');
    for (size_t k = 0; k < it->nvalues; k++) {
        if (!in_group(it, k, g)) continue;
        const sg_value *v = &it->values[k];
        if (n++) km_buf_putc(b, ',');
        switch (v->kind) {
        case SV_STR:
            if (!str_pos(b, v, why, wl)) return 0;
            break;
        case SV_NULL:
            km_buf_puts(b, "null,{\"exists\":false}");
            break;
        case SV_EXISTS:
            km_buf_puts(b, v->bval ? "{\"exists\":true}" : "{\"exists\":false}");
            break;
        case SV_CIDR:
            /* EventBridge's address reading (IPv4-mapped IPv6) is not Sigma's: necessary only */
            km_buf_puts(b, "{\"cidr\":");
            km_buf_json_str(b, v->text, strlen(v->text));
            km_buf_putc(b, '}');
            *why = "|cidr (EventBridge reads some addresses differently; the evaluator decides)";
            rc = 2;
            break;
        case SV_RE: {
            km_buf w = KM_BUF_INIT;
            if (!v->cased || !sg_re_wildcard(v->text, &w) || w.failed) {
                km_buf_free(&w);
                *why = "|re (a regular expression)";
                return 0;
            }
            km_buf_puts(b, "{\"wildcard\":");
            km_buf_json_str(b, w.data, w.len);
            km_buf_putc(b, '}');
            sg_wl_add(wl, w.data, w.len);
            km_buf_free(&w);
            *why = "|re (a regular expression: the matcher tests the text every match contains, the evaluator decides)";
            rc = 2;
            break;
        }
        case SV_NUM: *why = "a number (also compared with numeric text)"; return 0;
        case SV_BOOL: *why = "a boolean (also compared with the text true/false)"; return 0;
        case SV_CMP: *why = "|gt/|gte/|lt/|lte (numbers and numeric text)"; return 0;
        case SV_FIELDREF: *why = "|fieldref (compares two fields of the record)"; return 0;
        case SV_TIME: *why = "a time part (|minute .. |year)"; return 0;
        }
    }
    km_buf_putc(b, ']');
    return n ? rc : 0;
}

/* The value list of "field matches none of the values (of group g)". 1 exact, 0 not (*why). */
static int vals_neg(km_buf *b, const sg_item *it, int g, const char **why) {
    km_buf ci = KM_BUF_INIT, cs = KM_BUF_INIT;
    sg_wl wl = {KM_BUF_INIT, {0}, 0, 0}; /* the cased values: an anything-but wildcard list */
    int nci = 0, ncs = 0, has_null = 0, nex = 0, exv = 0, nv = 0, ok = 1;
    for (size_t k = 0; k < it->nvalues && ok; k++) {
        if (!in_group(it, k, g)) continue;
        const sg_value *v = &it->values[k];
        nv++;
        if (v->kind == SV_NULL) has_null = 1;
        else if (v->kind == SV_EXISTS) {
            nex++;
            exv = v->bval;
        } else if (v->kind == SV_STR) {
            const char *w2 = NULL;
            km_buf probe = KM_BUF_INIT;
            if (!str_pos(&probe, v, &w2, NULL)) {
                *why = w2;
                ok = 0;
            }
            km_buf_free(&probe);
            if (!ok) break;
            km_buf *t = v->cased ? &cs : &ci;
            if (t->len) km_buf_putc(t, ',');
            km_buf wt = KM_BUF_INIT;
            wild_text(&wt, &v->str, 0, v->str.len);
            km_buf_json_str(t, wt.data ? wt.data : "", wt.len);
            if (v->cased) sg_wl_add(&wl, wt.data ? wt.data : "", wt.len);
            km_buf_free(&wt);
            if (v->cased) ncs++;
            else nci++;
        } else {
            /* the same reasons as for the positive test */
            km_buf probe = KM_BUF_INIT;
            sg_item one = *it;
            one.values = (sg_value *)v;
            one.nvalues = 1;
            const char *w2 = NULL;
            vals_pos(&probe, &one, -1, &w2);
            km_buf_free(&probe);
            *why = w2 ? w2 : "not expressible";
            if (v->kind == SV_CIDR || v->kind == SV_RE) *why = v->kind == SV_CIDR ? "a negated |cidr" : "a negated |re (a regular expression)";
            ok = 0;
        }
    }
    if (ok && nex && nv > 1) {
        *why = "|exists among other values";
        ok = 0;
    }
    if (ok && nci && ncs) {
        *why = "negated cased and case-insensitive values together";
        ok = 0;
    }
    if (ok && !nv) ok = 0;
    if (ok && ncs && !nex && !sg_wl_fits(&wl)) {
        *why = "wildcards the matcher refuses together as too complex (repeated characters after '*')";
        ok = 0;
    }
    sg_wl_free(&wl);
    if (ok) {
        km_buf_putc(b, '[');
        if (nex) km_buf_puts(b, exv ? "{\"exists\":false}" : "{\"exists\":true}");
        else if (!nci && !ncs) km_buf_puts(b, "{\"wildcard\":\"*\"}"); /* not null: a string */
        else {
            km_buf_printf(b, "{\"anything-but\":{\"%s\":[", ncs ? "wildcard" : "km-wildcard-ignore-case");
            km_buf *t = ncs ? &cs : &ci;
            km_buf_append(b, t->data, t->len);
            km_buf_puts(b, "]}}");
            /* Sigma's not is true when the field is absent (and, with null among the values, the
             * field must be a string) */
            if (!has_null) km_buf_puts(b, ",{\"exists\":false}");
        }
        km_buf_putc(b, ']');
    }
    km_buf_free(&ci);
    km_buf_free(&cs);
    return ok;
}

static dnf atom_dnf(cx *c, const sg_item *it, int g, int neg) {
    const char *why = NULL;
    if (!it->field) {
        note(c, it, "keywords (any scalar anywhere in the record)");
        c->exact = 0;
        return dnf_true(c);
    }
    if (!sg_scalar_field(it->field)) {
        note(c, it, "not a field CloudTrail documents as a plain string (it may hold an object, an array or a number, "
                    "whose text and inner values Sigma also compares)");
        c->exact = 0;
        return dnf_true(c);
    }
    km_buf b = KM_BUF_INIT;
    int rc = neg ? vals_neg(&b, it, g, &why) : vals_pos(&b, it, g, &why);
    if (rc == 0 || b.failed) {
        note(c, it, why ? why : "not expressible");
        km_buf_free(&b);
        c->exact = 0;
        return dnf_true(c);
    }
    if (rc == 2) {
        note(c, it, why);
        c->exact = 0;
    }
    if (c->npool == c->cappool) {
        size_t nc = c->cappool ? c->cappool * 2 : 16;
        atom *np = nc <= 60000 ? realloc(c->pool, nc * sizeof *np) : NULL;
        if (!np) {
            km_buf_free(&b);
            c->oom = 1;
            return dnf_over();
        }
        c->pool = np;
        c->cappool = nc;
    }
    char *vals = malloc(b.len + 1);
    if (!vals) {
        km_buf_free(&b);
        c->oom = 1;
        return dnf_over();
    }
    memcpy(vals, b.data, b.len);
    vals[b.len] = 0;
    km_buf_free(&b);
    c->pool[c->npool] = (atom){it->field, it->line, vals};
    dnf x = dnf_true(c);
    if (x.n) {
        x.t[0].ix = malloc(sizeof *x.t[0].ix);
        if (!x.t[0].ix) {
            dnf_free(&x);
            c->oom = 1;
            free(vals);
            return dnf_over();
        }
        x.t[0].ix[0] = (uint16_t)c->npool;
        x.t[0].n = 1;
    }
    c->npool++;
    return x;
}

static dnf item_dnf(cx *c, const sg_item *it, int neg) {
    int eneg = neg ^ (it->neq != 0);
    if (it->all && it->ngroups > 1) {
        /* every group: and of the groups (negated: or of the negated groups) */
        dnf r = eneg ? dnf_false() : dnf_true(c);
        for (uint32_t g = 0; g < it->ngroups; g++) {
            dnf a = atom_dnf(c, it, (int)g, eneg);
            r = eneg ? dnf_or(r, a) : dnf_and(r, a);
        }
        return r;
    }
    return atom_dnf(c, it, -1, eneg);
}

static dnf sel_dnf(cx *c, const sg_sel *s, int neg) {
    /* positive: or of maps, each an and of items; negated: and of maps, each an or of negated items */
    dnf r = neg ? dnf_true(c) : dnf_false();
    for (size_t m = 0; m < s->n; m++) {
        dnf mm = neg ? dnf_false() : dnf_true(c);
        for (size_t i = 0; i < s->maps[m].n; i++) {
            dnf a = item_dnf(c, &s->maps[m].items[i], neg);
            mm = neg ? dnf_or(mm, a) : dnf_and(mm, a);
        }
        r = neg ? dnf_and(r, mm) : dnf_or(r, mm);
    }
    return r;
}

static dnf cond_dnf(cx *c, const sg_cond *n, int neg) {
    switch (n->kind) {
    case C_TRUE: return neg ? dnf_false() : dnf_true(c);
    case C_SEL: return sel_dnf(c, &c->d->sels[n->sel], neg);
    case C_AND:
    case C_OR: {
        dnf a = cond_dnf(c, n->a, neg), b = cond_dnf(c, n->b, neg);
        return (n->kind == C_AND) != (neg != 0) ? dnf_and(a, b) : dnf_or(a, b);
    }
    case C_NOT: return cond_dnf(c, n->a, !neg);
    case C_OF: {
        size_t need = n->need == SIZE_MAX ? n->nsels : n->need;
        if (need == 0) return neg ? dnf_false() : dnf_true(c);
        if (need == 1 || need >= n->nsels) {
            int conj = (need >= n->nsels) != (neg != 0); /* all of (or not 1 of): and */
            dnf r = conj ? dnf_true(c) : dnf_false();
            for (size_t k = 0; k < n->nsels; k++) {
                dnf a = sel_dnf(c, &c->d->sels[n->sels[k]], neg);
                r = conj ? dnf_and(r, a) : dnf_or(r, a);
            }
            return r;
        }
        /* at least N of M: 1 of M is necessary (the evaluator counts); its negation says nothing */
        c->exact = 0;
        sg_item fake = {0};
        fake.field = "condition";
        fake.line = c->d->nsels ? c->d->sels[0].line : 0;
        note(c, &fake, "'N of' with N between 1 and all (the matcher tests 1 of them, the evaluator counts)");
        if (neg) return dnf_true(c);
        dnf r = dnf_false();
        for (size_t k = 0; k < n->nsels; k++) r = dnf_or(r, sel_dnf(c, &c->d->sels[n->sels[k]], 0));
        return r;
    }
    }
    return dnf_over();
}

static int cmp_atom(const void *x, const void *y) {
    const atom *a = *(const atom *const *)x, *b = *(const atom *const *)y;
    return strcmp(a->field, b->field);
}

/* Path component k of a dotted field name. */
static const char *comp(const char *f, size_t k, size_t *len) {
    for (size_t i = 0; i < k; i++) {
        const char *d = strchr(f, '.');
        if (!d) {
            *len = 0;
            return NULL;
        }
        f = d + 1;
    }
    const char *d = strchr(f, '.');
    *len = d ? (size_t)(d - f) : strlen(f);
    return f;
}

static void emit_obj(km_buf *b, atom **v, size_t n, size_t depth) {
    km_buf_putc(b, '{');
    for (size_t i = 0; i < n;) {
        size_t cl;
        const char *cp = comp(v[i]->field, depth, &cl);
        size_t j = i + 1;
        for (; j < n; j++) {
            size_t l2;
            const char *c2 = comp(v[j]->field, depth, &l2);
            if (!c2 || l2 != cl || memcmp(c2, cp, cl)) break;
        }
        if (i) km_buf_putc(b, ',');
        km_buf_json_str(b, cp, cl);
        km_buf_putc(b, ':');
        size_t rest;
        if (!comp(v[i]->field, depth + 1, &rest)) km_buf_puts(b, v[i]->vals); /* a leaf: j == i + 1 (checked) */
        else emit_obj(b, v + i, j - i, depth + 1);
        i = j;
    }
    km_buf_putc(b, '}');
}

int sg_compile_build(km_arena *a, sg_detection *d) {
    cx c;
    memset(&c, 0, sizeof c);
    c.d = d;
    c.exact = 1;
    dnf x = cond_dnf(&c, d->cond, 0);
    int rc = 0;
    char **pats = NULL;
    size_t np = 0;
    if (c.oom) rc = -1;
    else if (x.over) {
        sg_item fake = {0};
        fake.field = "condition";
        note(&c, &fake, "more than 256 combinations of items: the necessary patterns of each selection are used");
        c.exact = 0;
    } else if (x.n) {
        pats = calloc(x.n, sizeof *pats);
        rc = pats ? 1 : -1;
        for (size_t t = 0; t < x.n && rc == 1; t++) {
            term *tm = &x.t[t];
            if (tm->n == 0) { /* always true: no pattern narrows it */
                rc = 0;
                break;
            }
            atom *v[MAX_ATOMS];
            size_t nv = 0;
            for (size_t k = 0; k < tm->n; k++) v[nv++] = &c.pool[tm->ix[k]];
            qsort(v, nv, sizeof *v, cmp_atom);
            /* one field tested twice in one conjunction (or a field and a field inside it): keep the
             * first test (the pattern is then only necessary) */
            size_t w = 0;
            for (size_t k = 0; k < nv; k++) {
                if (w) {
                    const char *pf = v[w - 1]->field;
                    size_t pl = strlen(pf);
                    int clash = !strcmp(pf, v[k]->field) || (!strncmp(pf, v[k]->field, pl) && v[k]->field[pl] == '.');
                    if (clash) {
                        if (strcmp(v[w - 1]->vals, v[k]->vals) || strcmp(pf, v[k]->field)) {
                            c.exact = 0;
                            sg_item fake = {0};
                            fake.field = v[k]->field;
                            fake.line = v[k]->line;
                            note(&c, &fake, "two tests of one field that must both hold (an EventBridge pattern has one "
                                            "list per field): the matcher tests the first");
                        }
                        continue;
                    }
                }
                v[w++] = v[k];
            }
            km_buf b = KM_BUF_INIT;
            emit_obj(&b, v, w, 0);
            int dup = 0;
            for (size_t k = 0; k < np && !b.failed; k++)
                if (!strcmp(pats[k], b.data)) dup = 1;
            if (b.failed) rc = -1;
            else if (!dup) {
                pats[np] = malloc(b.len + 1);
                if (!pats[np]) rc = -1;
                else {
                    memcpy(pats[np], b.data, b.len);
                    pats[np++][b.len] = 0;
                }
            }
            km_buf_free(&b);
        }
    }
    /* x.n == 0: the condition can never hold (e.g. "a and not a" folded away): no pattern at all
     * would make the rule "evaluate every record"; keep the old patterns (rc 0). */
    if (rc == 1) {
        d->prefilter = km_arena_alloc(a, np * sizeof *d->prefilter);
        if (!d->prefilter) rc = -1;
        for (size_t k = 0; k < np && rc == 1; k++)
            if (!(d->prefilter[k] = km_arena_strndup(a, pats[k], strlen(pats[k])))) rc = -1;
        d->nprefilter = np;
        d->prefilter_exact = c.exact;
    }
    if (rc >= 0 && c.nwhy) {
        d->offm = km_arena_alloc(a, c.nwhy * sizeof *d->offm);
        if (!d->offm) rc = -1;
        for (size_t k = 0; k < c.nwhy && rc >= 0; k++)
            if (!(d->offm[k] = km_arena_strndup(a, c.why[k], strlen(c.why[k])))) rc = -1;
        if (rc >= 0) d->noffm = c.nwhy;
    }
    for (size_t k = 0; k < np; k++) free(pats[k]);
    free(pats);
    for (size_t k = 0; k < c.npool; k++) free(c.pool[k].vals);
    free(c.pool);
    for (size_t k = 0; k < c.nwhy; k++) free(c.why[k]);
    free(c.why);
    dnf_free(&x);
    if (rc < 0) return -1;
    if (rc == 1 && d->nprefilter == 0) return 0;
    return rc;
}
