/* Prefilter: EventBridge patterns implied by a Sigma detection, so the matcher (one automaton for
 * every rule) can tell which records a Sigma rule could possibly match, and the reference
 * evaluator runs only on those. A pattern here is a necessary condition, never a sufficient one:
 * for every record the detection matches, one of its patterns matches too.
 *
 * Only fields CloudTrail documents as plain strings are used (eventName, eventSource, ...): for
 * those, Sigma's candidate rule (docs/sigma.md) and EventBridge read the same single value, so
 * EventBridge's equals-ignore-case / prefix / suffix / wildcard give exactly Sigma's answer for
 * ASCII values. A value or field outside that is dropped from the pattern (which only widens it). */
#include "sigma/internal.h"
#include "match/internal.h"

#include <stdio.h>
#include <string.h>

static const char *const scalar_fields[] = {
    "eventVersion", "eventTime", "eventSource", "eventName", "awsRegion", "sourceIPAddress", "userAgent",
    "errorCode", "errorMessage", "requestID", "eventID", "eventType", "apiVersion", "recipientAccountId",
    "sharedEventID", "vpcEndpointId", "eventCategory", "userIdentity.type", "userIdentity.principalId",
    "userIdentity.arn", "userIdentity.accountId", "userIdentity.accessKeyId", "userIdentity.userName",
    "userIdentity.invokedBy", "userIdentity.sessionContext.sessionIssuer.type",
    "userIdentity.sessionContext.sessionIssuer.principalId", "userIdentity.sessionContext.sessionIssuer.arn",
    "userIdentity.sessionContext.sessionIssuer.accountId", "userIdentity.sessionContext.sessionIssuer.userName",
};

int sg_scalar_field(const char *f) {
    if (!f) return 0;
    for (size_t i = 0; i < sizeof scalar_fields / sizeof scalar_fields[0]; i++)
        if (!strcmp(scalar_fields[i], f)) return 1;
    return 0;
}

static int ascii(const sg_str *s) {
    for (size_t i = 0; i < s->len; i++)
        if ((unsigned char)s->b[i] >= 0x80 || (unsigned char)s->b[i] < 0x20) return 0;
    return 1;
}

/* The longest run of literal characters every match of a regular expression must contain, when
 * the expression is simple enough to tell (no alternation, no groups); 0 when not found or shorter
 * than 3. Conservative: a character followed by ?, * or {..} is not counted as required. */
size_t sg_required_literal(const char *re, char *out, size_t outsz) {
    if (strpbrk(re, "|()")) return 0;
    char run[256];
    size_t rl = 0, best = 0;
    for (const char *p = re; *p;) {
        char c = *p;
        int lit = 0;
        char ch = 0;
        size_t adv = 1;
        if (c == '\\') {
            if (!p[1]) return 0;
            if (!((p[1] >= 'a' && p[1] <= 'z') || (p[1] >= 'A' && p[1] <= 'Z') || (p[1] >= '0' && p[1] <= '9'))) {
                lit = 1;
                ch = p[1];
            }
            adv = 2;
        } else if (c == '[') {
            const char *e = strchr(p + 1 + (p[1] == ']'), ']');
            if (!e) return 0;
            adv = (size_t)(e - p) + 1;
        } else if (c == '.' || c == '^' || c == '$' || c == '+') {
            lit = 0;
        } else if (c == '*' || c == '?' || c == '{') {
            /* the previous character was optional: it leaves the run */
            if (rl) rl--;
            if (c == '{') {
                const char *e = strchr(p, '}');
                if (!e) return 0;
                adv = (size_t)(e - p) + 1;
            }
            if (rl > best && rl < outsz) { memcpy(out, run, rl); best = rl; }
            rl = 0;
            p += adv;
            continue;
        } else if ((unsigned char)c >= 0x80 || (unsigned char)c < 0x20) {
            lit = 0;
        } else {
            lit = 1;
            ch = c;
        }
        /* a quantifier right after this atom makes it optional (except +) */
        const char *q = p + adv;
        int optional = *q == '*' || *q == '?' || *q == '{';
        if (lit && !optional && rl + 1 < sizeof run) {
            run[rl++] = ch;
        } else {
            if (rl > best && rl < outsz) { memcpy(out, run, rl); best = rl; }
            rl = 0;
        }
        p += adv;
        if (c == '+' && rl) { /* "x+" still needs one x, but the run cannot go on */ }
    }
    if (rl > best && rl < outsz) { memcpy(out, run, rl); best = rl; }
    if (best < 3) return 0;
    out[best] = 0;
    return best;
}

void sg_wl_add(sg_wl *l, const char *w, size_t n) {
    if (!l) return;
    if (l->n == SG_WL_MAX) {
        l->over = 1;
        return;
    }
    km_buf_append(&l->b, w, n);
    l->end[l->n++] = l->b.len;
}

int sg_wl_fits(const sg_wl *l) {
    if (l->n == 0) return 1;
    if (l->over || l->b.failed) return 0;
    km_str w[SG_WL_MAX];
    for (size_t i = 0; i < l->n; i++) {
        size_t st = i ? l->end[i - 1] : 0;
        w[i] = (km_str){l->b.data + st, l->end[i] - st};
    }
    return km_wildcard_complexity(w, l->n, KM_WILDCARD_MAX_COMPLEXITY + 1) <= KM_WILDCARD_MAX_COMPLEXITY;
}

void sg_wl_free(sg_wl *l) {
    if (l) km_buf_free(&l->b);
}

static void put_contains(km_buf *w, const char *lit, size_t n) {
    km_buf_putc(w, '*');
    for (size_t i = 0; i < n; i++) {
        if (lit[i] == '*' || lit[i] == '\\') km_buf_putc(w, '\\');
        km_buf_putc(w, lit[i]);
    }
    km_buf_putc(w, '*');
}

static int contains_fits(const char *lit, size_t n) {
    km_buf w = KM_BUF_INIT;
    put_contains(&w, lit, n);
    km_str s = {w.data, w.len};
    int ok = !w.failed && km_wildcard_complexity(&s, 1, KM_WILDCARD_MAX_COMPLEXITY + 1) <= KM_WILDCARD_MAX_COMPLEXITY;
    km_buf_free(&w);
    return ok;
}

int sg_re_wildcard(const char *re, km_buf *w) {
    char lit[256];
    size_t n = sg_required_literal(re, lit, sizeof lit);
    if (!n) return 0;
    size_t best_at = 0, best_len = n;
    if (!contains_fits(lit, n)) {
        /* A "*text*" wildcard's complexity grows with how many of text's beginnings can end at one
         * place of the input at once (its nested borders: "2222222" has six). The longest part of
         * the literal in which no prefix has more than two nested borders keeps it at 4 or less;
         * each start is extended while a failure function says so. */
        best_len = 0;
        int fail[256], depth[257];
        for (size_t a = 0; a + best_len < n; a++) {
            const char *t = lit + a;
            size_t m = n - a, len = 1;
            fail[0] = 0;
            depth[1] = 0;
            for (size_t j = 1; j < m; j++) {
                int k = fail[j - 1];
                while (k > 0 && t[j] != t[k]) k = fail[k - 1];
                if (t[j] == t[k]) k++;
                fail[j] = k;
                depth[j + 1] = k ? depth[k] + 1 : 0;
                if (depth[j + 1] > 2) break;
                len = j + 1;
            }
            if (len > best_len) {
                best_len = len;
                best_at = a;
            }
        }
        if (best_len < 3 || !contains_fits(lit + best_at, best_len)) return 0;
    }
    put_contains(w, lit + best_at, best_len);
    return 1;
}

/* Append one EventBridge value matcher for v, or return 0 when v cannot be written as one. */
static int vm_json(km_buf *b, const sg_value *v, sg_wl *wl) {
    if (v->kind == SV_CIDR) {
        km_buf_puts(b, "{\"cidr\":");
        km_buf_json_str(b, v->text, strlen(v->text));
        km_buf_putc(b, '}');
        return 1;
    }
    if (v->kind == SV_EXISTS) {
        km_buf_puts(b, v->bval ? "{\"exists\":true}" : "{\"exists\":false}");
        return 1;
    }
    if (v->kind == SV_RE && v->cased) {
        km_buf wb = KM_BUF_INIT;
        int ok = sg_re_wildcard(v->text, &wb) && !wb.failed;
        if (ok) {
            km_buf_puts(b, "{\"wildcard\":");
            km_buf_json_str(b, wb.data, wb.len);
            km_buf_putc(b, '}');
            sg_wl_add(wl, wb.data, wb.len);
        }
        km_buf_free(&wb);
        return ok;
    }
    if (v->kind != SV_STR || !ascii(&v->str)) return 0;
    const sg_str *s = &v->str;
    size_t st = 0, en = s->len;
    while (st < en && s->w[st] == 1) st++;
    while (en > st && s->w[en - 1] == 1) en--;
    int inner_wild = 0;
    for (size_t i = st; i < en; i++) {
        if (s->w[i] == 2) return 0; /* '?' has no EventBridge form */
        if (s->w[i] == 1) inner_wild = 1;
    }
    if (st == en) return 0; /* only stars: matches any string, which the field's presence covers poorly */
    int lead = st > 0, trail = en < s->len;
    if (!v->cased) {
        if (inner_wild || (lead && trail)) return 0; /* case-insensitive wildcard: not EventBridge */
        if (!lead && !trail) km_buf_puts(b, "{\"equals-ignore-case\":");
        else if (trail) km_buf_puts(b, "{\"prefix\":{\"equals-ignore-case\":");
        else km_buf_puts(b, "{\"suffix\":{\"equals-ignore-case\":");
        km_buf_json_str(b, s->b + st, en - st);
        km_buf_puts(b, lead || trail ? "}}" : "}");
        return 1;
    }
    if (inner_wild || (lead && trail)) {
        km_buf wb = KM_BUF_INIT;
        for (size_t i = 0; i < s->len; i++) {
            if (s->w[i] == 1) km_buf_putc(&wb, '*');
            else if (s->b[i] == '*' || s->b[i] == '\\') { km_buf_putc(&wb, '\\'); km_buf_putc(&wb, s->b[i]); }
            else km_buf_putc(&wb, s->b[i]);
        }
        km_buf_puts(b, "{\"wildcard\":");
        km_buf_json_str(b, wb.data ? wb.data : "", wb.len);
        km_buf_putc(b, '}');
        sg_wl_add(wl, wb.data ? wb.data : "", wb.len);
        km_buf_free(&wb);
        return 1;
    }
    if (!lead && !trail) km_buf_json_str(b, s->b, s->len);
    else {
        km_buf_puts(b, trail ? "{\"prefix\":" : "{\"suffix\":");
        km_buf_json_str(b, s->b + st, en - st);
        km_buf_putc(b, '}');
    }
    return 1;
}

/* The value list for an item, or 0 when the item gives no usable constraint. */
static int item_json(km_buf *b, const sg_item *it) {
    if (!sg_scalar_field(it->field) || it->neq || it->nvalues == 0) return 0;
    km_buf tmp = KM_BUF_INIT;
    km_buf_putc(&tmp, '[');
    int n = 0, ok = 1;
    sg_wl wl = {KM_BUF_INIT, {0}, 0, 0};
    /* with |all every group is needed: group 0 alone is a necessary condition */
    for (size_t i = 0; i < it->nvalues && ok; i++) {
        if (it->all && it->ngroups > 1 && it->values[i].group != 0) continue;
        if (n++) km_buf_putc(&tmp, ',');
        ok = vm_json(&tmp, &it->values[i], &wl);
    }
    /* wildcards the matcher would refuse together: no constraint from this item (wider) */
    if (ok && !sg_wl_fits(&wl)) ok = 0;
    sg_wl_free(&wl);
    km_buf_putc(&tmp, ']');
    if (ok && n && !tmp.failed) km_buf_append(b, tmp.data, tmp.len);
    km_buf_free(&tmp);
    return ok && n;
}

/* Whether an item's EventBridge form says exactly what the Sigma item says on CloudTrail's string
 * fields: only wildcard strings (no regex, exists, cidr, null), one group of values, no neq. */
static int item_exact(const sg_item *it) {
    if (!sg_scalar_field(it->field) || it->neq || (it->all && it->ngroups > 1) || it->nvalues == 0) return 0;
    for (size_t i = 0; i < it->nvalues; i++)
        if (it->values[i].kind != SV_STR) return 0;
    return 1;
}

/* A map's pattern: the usable items, nested by dotted path. Returns 0 when none is usable.
 * *exact (may be NULL) says whether every item of the map is in it, exactly. */
static int map_json_x(km_buf *out, const sg_map *m, int *exact);
static int map_json(km_buf *out, const sg_map *m) { return map_json_x(out, m, NULL); }
static int map_json_x(km_buf *out, const sg_map *m, int *exact) {
    /* group the usable items by their first path component, keeping order */
    const sg_item *use[64];
    size_t nu = 0;
    if (exact) *exact = m->n <= 64;
    for (size_t i = 0; i < m->n && nu < 64; i++) {
        km_buf probe = KM_BUF_INIT;
        int ok = item_json(&probe, &m->items[i]);
        km_buf_free(&probe);
        if (!ok || !item_exact(&m->items[i])) {
            if (exact) *exact = 0;
        }
        if (!ok) continue;
        /* two items on one field: keep the first (both are needed, one suffices to filter) */
        int dupf = 0;
        const char *f = m->items[i].field, *d1 = strchr(f, '.');
        int deep = d1 && strchr(d1 + 1, '.');
        for (size_t k = 0; k < nu; k++) {
            if (!strcmp(use[k]->field, f)) dupf = 1;
            /* one three-level field per map keeps the emitter below from repeating a key */
            const char *e1 = strchr(use[k]->field, '.');
            if (deep && e1 && strchr(e1 + 1, '.')) dupf = 1;
        }
        if (!dupf) use[nu++] = &m->items[i];
        else if (exact) *exact = 0;
    }
    if (nu == 0) return 0;
    /* Emit as nested objects. The whitelist has at most three levels, so a simple recursive
     * emitter over the sorted prefix structure would be overkill: emit each item as its own
     * nested path and merge identical prefixes by walking them in order. */
    int done[64] = {0};
    km_buf_putc(out, '{');
    int first_top = 1;
    for (size_t i = 0; i < nu; i++) {
        if (done[i]) continue;
        const char *f = use[i]->field;
        const char *dot = strchr(f, '.');
        if (!first_top) km_buf_putc(out, ',');
        first_top = 0;
        if (!dot) {
            km_buf_json_str(out, f, strlen(f));
            km_buf_putc(out, ':');
            item_json(out, use[i]);
            done[i] = 1;
            continue;
        }
        /* every item under the same top component, e.g. userIdentity */
        size_t tl = (size_t)(dot - f);
        km_buf_json_str(out, f, tl);
        km_buf_puts(out, ":{");
        int first = 1;
        for (size_t k = i; k < nu; k++) {
            const char *g = use[k]->field;
            if (done[k] || strncmp(g, f, tl) || g[tl] != '.') continue;
            const char *rest = g + tl + 1;
            const char *d2 = strchr(rest, '.');
            if (!first) km_buf_putc(out, ',');
            first = 0;
            if (!d2) {
                km_buf_json_str(out, rest, strlen(rest));
                km_buf_putc(out, ':');
                item_json(out, use[k]);
                done[k] = 1;
                continue;
            }
            /* third level (sessionContext.sessionIssuer.x): one item per nested object */
            const char *d3 = strchr(d2 + 1, '.');
            km_buf_json_str(out, rest, (size_t)(d2 - rest));
            km_buf_puts(out, ":{");
            if (d3) {
                km_buf_json_str(out, d2 + 1, (size_t)(d3 - d2 - 1));
                km_buf_puts(out, ":{");
                km_buf_json_str(out, d3 + 1, strlen(d3 + 1));
                km_buf_putc(out, ':');
                item_json(out, use[k]);
                km_buf_putc(out, '}');
            } else {
                km_buf_json_str(out, d2 + 1, strlen(d2 + 1));
                km_buf_putc(out, ':');
                item_json(out, use[k]);
            }
            km_buf_putc(out, '}');
            done[k] = 1;
        }
        km_buf_putc(out, '}');
    }
    km_buf_putc(out, '}');
    return 1;
}

typedef struct plist {
    char **p;
    size_t n;
    int none; /* no constraint: the record must always be evaluated */
} plist;

static void pl_free(plist *l) {
    for (size_t i = 0; i < l->n; i++) free(l->p[i]);
    free(l->p);
    l->p = NULL;
    l->n = 0;
}

static int pl_add(plist *l, const char *s, size_t n) {
    char **np = realloc(l->p, (l->n + 1) * sizeof *np);
    if (!np) return -1;
    l->p = np;
    char *c = malloc(n + 1);
    if (!c) return -1;
    memcpy(c, s, n);
    c[n] = 0;
    l->p[l->n++] = c;
    return 0;
}

static void pl_union(plist *a, plist *b) {
    if (a->none || b->none) {
        pl_free(a);
        pl_free(b);
        a->none = 1;
        return;
    }
    for (size_t i = 0; i < b->n; i++) {
        if (pl_add(a, b->p[i], strlen(b->p[i]))) {
            a->none = 1;
            break;
        }
    }
    pl_free(b);
}

/* How selective a pattern list looks: fewer is better, and eventName constraints are best. */
static long score(const plist *l) {
    if (l->none) return -1;
    long s = 1000 - (long)l->n;
    for (size_t i = 0; i < l->n; i++)
        if (!strstr(l->p[i], "\"eventName\"")) s -= 100;
    return s;
}

static void sel_patterns(const sg_sel *s, plist *out) {
    memset(out, 0, sizeof *out);
    for (size_t m = 0; m < s->n; m++) {
        km_buf b = KM_BUF_INIT;
        if (!map_json(&b, &s->maps[m]) || b.failed || pl_add(out, b.data, b.len)) {
            km_buf_free(&b);
            pl_free(out);
            out->none = 1;
            return;
        }
        km_buf_free(&b);
    }
}

static void cond_patterns(const sg_detection *d, const sg_cond *c, plist *out) {
    memset(out, 0, sizeof *out);
    switch (c->kind) {
    case C_SEL:
        sel_patterns(&d->sels[c->sel], out);
        return;
    case C_AND: {
        plist a, b;
        cond_patterns(d, c->a, &a);
        cond_patterns(d, c->b, &b);
        if (score(&b) > score(&a)) { pl_free(&a); *out = b; }
        else { pl_free(&b); *out = a; }
        return;
    }
    case C_OR: {
        plist a, b;
        cond_patterns(d, c->a, &a);
        cond_patterns(d, c->b, &b);
        pl_union(&a, &b);
        *out = a;
        return;
    }
    case C_OF: {
        if (c->need == SIZE_MAX || c->need == c->nsels) {
            /* all of: any one member is necessary: take the most selective */
            out->none = 1;
            for (size_t k = 0; k < c->nsels; k++) {
                plist p;
                sel_patterns(&d->sels[c->sels[k]], &p);
                if (score(&p) > score(out)) { pl_free(out); *out = p; }
                else pl_free(&p);
            }
        } else {
            /* at least one member matches */
            for (size_t k = 0; k < c->nsels; k++) {
                plist p;
                sel_patterns(&d->sels[c->sels[k]], &p);
                pl_union(out, &p);
                if (out->none) return;
            }
        }
        return;
    }
    default:
        out->none = 1;
        return;
    }
}

static int sel_exact(const sg_sel *s) {
    for (size_t m = 0; m < s->n; m++) {
        km_buf b = KM_BUF_INIT;
        int exact = 0;
        int ok = map_json_x(&b, &s->maps[m], &exact);
        km_buf_free(&b);
        if (!ok || !exact) return 0;
    }
    return s->n > 0;
}

/* Whether the prefilter patterns are the detection itself: a condition of 'or' and '1 of' over
 * selections whose every item has an exact EventBridge form. */
static int cond_exact(const sg_detection *d, const sg_cond *c) {
    switch (c->kind) {
    case C_SEL: return sel_exact(&d->sels[c->sel]);
    case C_OR: return cond_exact(d, c->a) && cond_exact(d, c->b);
    case C_OF:
        if (!(c->need == 1 || c->nsels == 1)) return 0;
        for (size_t k = 0; k < c->nsels; k++)
            if (!sel_exact(&d->sels[c->sels[k]])) return 0;
        return 1;
    default: return 0;
    }
}

static int too_long(const char *const *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (strlen(p[i]) > KM_PATTERN_MAX_BYTES) return 1;
    return 0;
}

/* One more reason (arena memory) why the detection is not fully on the matcher. */
static int add_note(km_arena *a, sg_detection *d, const char *why) {
    const char **n = km_arena_alloc(a, (d->noffm + 1) * sizeof *n);
    const char *w = km_arena_strndup(a, why, strlen(why));
    if (!n || !w) return -1;
    for (size_t i = 0; i < d->noffm; i++) n[i] = d->offm[i];
    n[d->noffm] = w;
    d->offm = n;
    d->noffm++;
    return 0;
}

int sg_prefilter_build(km_arena *a, sg_detection *d) {
    plist l;
    cond_patterns(d, d->cond, &l);
    d->prefilter = NULL;
    d->nprefilter = 0;
    d->legacy = NULL;
    d->nlegacy = 0;
    if (!l.none && l.n > 0) {
        d->legacy = km_arena_alloc(a, l.n * sizeof *d->legacy);
        if (!d->legacy) {
            pl_free(&l);
            return -1;
        }
        for (size_t i = 0; i < l.n; i++) {
            char *c = km_arena_strndup(a, l.p[i], strlen(l.p[i]));
            if (!c) {
                pl_free(&l);
                return -1;
            }
            d->legacy[i] = c;
        }
        d->nlegacy = l.n;
    }
    pl_free(&l);
    /* Neither path writes a wildcard list the matcher refuses as too complex (sg_wl_fits): a |re's
     * literal is shortened to a part the matcher accepts (sg_re_wildcard), and a list that is still
     * refused drops out of the pattern (wider, still necessary), so the patterns need no trial
     * compilation here. */
    int rc = sg_compile_build(a, d);
    if (rc < 0) return -1;
    /* A pattern longer than the matcher accepts (KM_PATTERN_MAX_BYTES: e.g. the 3,125 values of a
     * |windash|base64 value of a few hundred characters) would stop the whole run when the matcher
     * is built: the compiled patterns give way to the necessary ones, and necessary ones that are
     * too long to none (the evaluator then decides every record). */
    if (rc == 1 && too_long(d->prefilter, d->nprefilter)) {
        if (add_note(a, d, "the patterns would be longer than the matcher's limit of 1 MiB")) return -1;
        rc = 0;
    }
    if (too_long(d->legacy, d->nlegacy)) {
        d->legacy = NULL;
        d->nlegacy = 0;
    }
    if (rc == 0) {
        /* the compiler gave up (too many combinations): the necessary patterns of old */
        d->prefilter = d->legacy;
        d->nprefilter = d->nlegacy;
        d->prefilter_exact = d->nlegacy > 0 && cond_exact(d, d->cond);
    }
    return 0;
}
