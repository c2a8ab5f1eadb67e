/* Sigma condition parser: `and`, `or`, `not`, parentheses, `1 of` / `all of` (and `N of`) over a
 * search-identifier pattern with `*` or over `them`. Precedence, weakest first: or, and, not,
 * x of, parentheses (the specification's order). Hand-written recursive descent: the grammar is
 * a dozen lines and the messages must point at the offending word. Recursion depth is bounded. */
#include "sigma/internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COND_MAX_DEPTH 100

typedef enum { T_END, T_LP, T_RP, T_WORD, T_PIPE, T_BAD } tkind;

typedef struct cp {
    km_arena *a;
    const char *s;
    size_t i;      /* next byte */
    tkind t;       /* current token */
    size_t ts, tl; /* its start and length */
    const sg_sel *sels;
    size_t nsels;
    char *msg;
    size_t msgsz;
    size_t errpos;
    int failed;
    int depth;
} cp;

static int word_char(char c) {
    return isalnum((unsigned char)c) || c == '_' || c == '*' || c == '-' || c == '.' || c == '?';
}

static void next(cp *p) {
    while (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' || p->s[p->i] == '\r') p->i++;
    p->ts = p->i;
    char c = p->s[p->i];
    if (!c) { p->t = T_END; p->tl = 0; return; }
    if (c == '(') { p->t = T_LP; p->tl = 1; p->i++; return; }
    if (c == ')') { p->t = T_RP; p->tl = 1; p->i++; return; }
    if (c == '|') { p->t = T_PIPE; p->tl = 1; return; } /* not consumed: the rest is the pipe */
    if (word_char(c)) {
        while (word_char(p->s[p->i])) p->i++;
        p->t = T_WORD;
        p->tl = p->i - p->ts;
        return;
    }
    p->t = T_BAD;
    p->tl = 1;
    p->i++;
}

static int is_kw(const cp *p, const char *kw) {
    size_t n = strlen(kw);
    if (p->t != T_WORD || p->tl != n) return 0;
    for (size_t k = 0; k < n; k++)
        if (tolower((unsigned char)p->s[p->ts + k]) != kw[k]) return 0;
    return 1;
}

static sg_cond *err(cp *p, size_t pos, const char *fmt, const char *arg, size_t arglen) {
    if (!p->failed) {
        char a[120];
        snprintf(a, sizeof a, "%.*s", (int)(arglen < 100 ? arglen : 100), arg ? arg : "");
        snprintf(p->msg, p->msgsz, fmt, a);
        p->errpos = pos;
        p->failed = 1;
    }
    return NULL;
}

static sg_cond *node(cp *p, cnode_kind k) {
    sg_cond *c = km_arena_alloc(p->a, sizeof *c);
    if (!c) return err(p, p->ts, "out of memory%s", "", 0);
    c->kind = k;
    return c;
}

/* '*' in a search-identifier pattern matches any run of characters. */
static int name_match(const char *pat, size_t pl, const char *s) {
    size_t sl = strlen(s), pi = 0, si = 0, star = (size_t)-1, mark = 0;
    while (si < sl) {
        if (pi < pl && pat[pi] == '*') { star = pi++; mark = si; }
        else if (pi < pl && pat[pi] == s[si]) { pi++; si++; }
        else if (star != (size_t)-1) { pi = star + 1; si = ++mark; }
        else return 0;
    }
    while (pi < pl && pat[pi] == '*') pi++;
    return pi == pl;
}

static sg_cond *parse_or(cp *p);

static sg_cond *parse_primary(cp *p) {
    if (p->t == T_LP) {
        size_t at = p->ts;
        next(p);
        sg_cond *e = parse_or(p);
        if (!e) return NULL;
        if (p->t != T_RP) return err(p, p->t == T_END ? at : p->ts, "'(' is never closed%s", "", 0);
        next(p);
        return e;
    }
    if (p->t != T_WORD) {
        if (p->t == T_END) return err(p, p->ts, "the condition ends where a search identifier was expected%s", "", 0);
        if (p->t == T_RP) return err(p, p->ts, "unexpected ')'%s", "", 0);
        return err(p, p->ts, "unexpected '%s'", p->s + p->ts, p->tl);
    }
    if (is_kw(p, "and") || is_kw(p, "or") || is_kw(p, "of") || is_kw(p, "them"))
        return err(p, p->ts, "'%s' where a search identifier was expected", p->s + p->ts, p->tl);
    /* quantifier: 1 of / all of / N of */
    size_t qs = p->ts, ql = p->tl;
    int is_all = is_kw(p, "all");
    int is_num = 1;
    for (size_t k = 0; k < ql; k++)
        if (!isdigit((unsigned char)p->s[qs + k])) is_num = 0;
    if (is_all || is_num) {
        size_t save_i = p->i;
        tkind save_t = p->t;
        size_t save_ts = p->ts, save_tl = p->tl;
        next(p);
        if (is_kw(p, "of")) {
            size_t need = SIZE_MAX;
            if (is_num) {
                char tmp[24];
                if (ql >= sizeof tmp) return err(p, qs, "count '%s' is too large", p->s + qs, ql);
                memcpy(tmp, p->s + qs, ql);
                tmp[ql] = 0;
                long v = strtol(tmp, NULL, 10);
                if (v < 1) return err(p, qs, "'%s of' needs a count of at least 1", p->s + qs, ql);
                need = (size_t)v;
            }
            next(p);
            if (p->t != T_WORD) return err(p, p->ts, "'of' must be followed by a search-identifier pattern or 'them'%s", "", 0);
            sg_cond *c = node(p, C_OF);
            if (!c) return NULL;
            int them = is_kw(p, "them");
            c->sels = km_arena_alloc(p->a, (p->nsels ? p->nsels : 1) * sizeof *c->sels);
            if (!c->sels) return err(p, p->ts, "out of memory%s", "", 0);
            for (size_t k = 0; k < p->nsels; k++) {
                const char *nm = p->sels[k].name;
                if (them ? nm[0] != '_' : name_match(p->s + p->ts, p->tl, nm)) c->sels[c->nsels++] = k;
            }
            if (c->nsels == 0)
                return err(p, p->ts, them ? "'them' names no search identifier%s" : "'%s' matches no search identifier",
                           p->s + p->ts, p->tl);
            c->need = need;
            if (need != SIZE_MAX && need > c->nsels) {
                char n[24];
                snprintf(n, sizeof n, "%zu", need);
                return err(p, qs, "'%s of' asks for more search identifiers than the pattern names", n, strlen(n));
            }
            next(p);
            return c;
        }
        p->i = save_i;
        p->t = save_t;
        p->ts = save_ts;
        p->tl = save_tl;
    }
    if (memchr(p->s + p->ts, '*', p->tl))
        return err(p, p->ts, "'%s': a pattern with '*' needs '1 of' or 'all of' before it", p->s + p->ts, p->tl);
    for (size_t k = 0; k < p->nsels; k++) {
        const char *nm = p->sels[k].name;
        if (strlen(nm) == p->tl && !memcmp(nm, p->s + p->ts, p->tl)) {
            sg_cond *c = node(p, C_SEL);
            if (!c) return NULL;
            c->sel = k;
            next(p);
            return c;
        }
    }
    return err(p, p->ts, "unknown search identifier '%s'", p->s + p->ts, p->tl);
}

static sg_cond *parse_not(cp *p) {
    if (is_kw(p, "not")) {
        if (++p->depth > COND_MAX_DEPTH) return err(p, p->ts, "condition nested too deeply%s", "", 0);
        next(p);
        sg_cond *a = parse_not(p);
        p->depth--;
        if (!a) return NULL;
        sg_cond *c = node(p, C_NOT);
        if (!c) return NULL;
        c->a = a;
        return c;
    }
    if (p->t == T_LP) {
        if (++p->depth > COND_MAX_DEPTH) return err(p, p->ts, "condition nested too deeply%s", "", 0);
        sg_cond *c = parse_primary(p);
        p->depth--;
        return c;
    }
    return parse_primary(p);
}

static sg_cond *parse_and(cp *p) {
    sg_cond *l = parse_not(p);
    while (l && is_kw(p, "and")) {
        next(p);
        sg_cond *r = parse_not(p);
        if (!r) return NULL;
        sg_cond *c = node(p, C_AND);
        if (!c) return NULL;
        c->a = l;
        c->b = r;
        l = c;
    }
    return l;
}

static sg_cond *parse_or(cp *p) {
    sg_cond *l = parse_and(p);
    while (l && is_kw(p, "or")) {
        next(p);
        sg_cond *r = parse_and(p);
        if (!r) return NULL;
        sg_cond *c = node(p, C_OR);
        if (!c) return NULL;
        c->a = l;
        c->b = r;
        l = c;
    }
    return l;
}

sg_cond *sg_cond_parse(km_arena *a, const char *text, const sg_sel *sels, size_t nsels, const char **pipe,
                       char *msg, size_t msgsz, size_t *pos) {
    cp p;
    memset(&p, 0, sizeof p);
    p.a = a;
    p.s = text;
    p.sels = sels;
    p.nsels = nsels;
    p.msg = msg;
    p.msgsz = msgsz;
    *pipe = NULL;
    next(&p);
    sg_cond *c = parse_or(&p);
    if (c && p.t == T_PIPE) {
        *pipe = text + p.ts + 1;
    } else if (c && p.t != T_END) {
        if (p.t == T_RP) err(&p, p.ts, "unexpected ')'%s", "", 0);
        else err(&p, p.ts, "expected 'and', 'or' or the end of the condition, found '%s'", text + p.ts, p.tl);
        c = NULL;
    }
    if (!c) {
        *pos = p.errpos;
        return NULL;
    }
    return c;
}
