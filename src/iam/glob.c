/* IAM wildcard matching ('*' any run, '?' one character), overlap of two patterns, and policy
 * variable substitution (${aws:username}, ${aws:PrincipalTag/team, 'default'}, ${*} ${?} ${$}).
 *
 * Written by hand: the matching must follow IAM's rules exactly (which bytes are wildcards
 * after substitution, case folding for actions only) and must be bounded on hostile input, which
 * a general regex engine does not promise. Both matchers are iterative with work caps. */
#include "iam/iam_internal.h"

#include <stdlib.h>
#include <string.h>

#define PAT_MAX (1u << 20)           /* longest pattern after substitution */
#define OVERLAP_MAX_STATES (1u << 22) /* work cap for iam_glob_overlap */

void iam_scratch_init(iam_scratch *s) {
    memset(s, 0, sizeof *s);
    km_buf_init(&s->tmp, PAT_MAX);
}

void iam_scratch_free(iam_scratch *s) {
    if (!s) return;
    for (int i = 0; i < 2; i++) {
        free(s->pat[i].s);
        free(s->pat[i].w);
        s->pat[i].s = NULL;
        s->pat[i].w = NULL;
        s->pat[i].n = s->pat[i].cap = 0;
    }
    km_buf_free(&s->tmp);
}

int iam_ieq(const char *a, size_t an, const char *b, size_t bn) {
    if (an != bn) return 0;
    for (size_t i = 0; i < an; i++)
        if (iam_lc(a[i]) != iam_lc(b[i])) return 0;
    return 1;
}

int iam_istarts(const char *s, size_t n, const char *prefix) {
    size_t pn = strlen(prefix);
    return n >= pn && iam_ieq(s, pn, prefix, pn);
}

int iam_iends(const char *s, size_t n, const char *suffix) {
    size_t sn = strlen(suffix);
    return n >= sn && iam_ieq(s + n - sn, sn, suffix, sn);
}

/* Length of the UTF-8 character starting at s[i] (1 for stray bytes). */
static size_t char_len(const char *s, size_t n, size_t i) {
    size_t k = 1;
    while (i + k < n && ((unsigned char)s[i + k] & 0xC0) == 0x80 && k < 4) k++;
    return k;
}

static int wild_at(const char *p, const uint8_t *w, size_t i, int star_only) {
    if (w) return w[i];
    if (p[i] == '*') return 1;
    if (p[i] == '?' && !star_only) return 2;
    return 0;
}

/* flags: bit 0 icase; bit 1 only '*' is a wildcard when w is NULL. */
static int glob_impl(const char *p, const uint8_t *w, size_t pn, const char *s, size_t sn,
                     int icase, int star_only) {
    size_t pi = 0, si = 0;
    size_t star = (size_t)-1, mark = 0;
    while (si < sn) {
        if (pi < pn) {
            int k = wild_at(p, w, pi, star_only);
            if (k == 1) {
                star = pi++;
                mark = si;
                continue;
            }
            if (k == 2) {
                pi++;
                si += char_len(s, sn, si);
                continue;
            }
            char a = p[pi], b = s[si];
            if (a == b || (icase && iam_lc(a) == iam_lc(b))) {
                pi++;
                si++;
                continue;
            }
        }
        if (star != (size_t)-1) {
            pi = star + 1;
            mark += char_len(s, sn, mark);
            si = mark;
            continue;
        }
        return 0;
    }
    while (pi < pn && wild_at(p, w, pi, star_only) == 1) pi++;
    return pi == pn;
}

int iam_glob(const char *p, const uint8_t *w, size_t pn, const char *str, size_t sn, int icase) {
    return glob_impl(p, w, pn, str, sn, icase, 0);
}

/* Request patterns treat only '*' as a wildcard ('?' is a literal character there). */
int iam_glob_star_only(const char *p, size_t pn, const char *str, size_t sn) {
    return glob_impl(p, NULL, pn, str, sn, 0, 1);
}

/* Depth-first search over (i, j) positions of the two patterns: a state is reachable when
 * some string takes pattern a to i and pattern b to j. The patterns overlap when (an, bn) is
 * reachable. Each state is visited once, so the work is bounded by (an+1)*(bn+1). */
int iam_glob_overlap(const char *a, size_t an, const char *b, size_t bn, int b_question_literal) {
    size_t W = bn + 1;
    if (an + 1 > OVERLAP_MAX_STATES / W) return -1;
    size_t states = (an + 1) * W;
    uint8_t *seen = calloc((states + 7) / 8, 1);
    size_t *stack = malloc(sizeof(size_t) * (states < 1024 ? 1024 : states));
    if (!seen || !stack) {
        free(seen);
        free(stack);
        return -1;
    }
    size_t sp = 0;
    int found = 0;
#define PUSH(I, J)                                                          \
    do {                                                                    \
        size_t st_ = (size_t)(I) * W + (size_t)(J);                         \
        if (!(seen[st_ >> 3] & (1u << (st_ & 7)))) {                        \
            seen[st_ >> 3] |= (uint8_t)(1u << (st_ & 7));                   \
            stack[sp++] = st_;                                              \
        }                                                                   \
    } while (0)
    PUSH(0, 0);
    while (sp > 0) {
        size_t st = stack[--sp];
        size_t i = st / W, j = st % W;
        if (i == an && j == bn) {
            found = 1;
            break;
        }
        int ta = i < an ? (a[i] == '*' ? 1 : a[i] == '?' ? 2 : 0) : -1;
        int tb = j < bn ? (b[j] == '*' ? 1 : (b[j] == '?' && !b_question_literal) ? 2 : 0) : -1;
        if (ta == 1) PUSH(i + 1, j);
        if (tb == 1) PUSH(i, j + 1);
        if (ta >= 0 && tb >= 0 && (ta != 0 || tb != 0 || a[i] == b[j])) {
            size_t ni = ta == 1 ? i : i + 1;
            size_t nj = tb == 1 ? j : j + 1;
            PUSH(ni, nj);
        }
    }
#undef PUSH
    free(seen);
    free(stack);
    return found;
}

/* ---- policy variables ------------------------------------------------------------------ */

int iam_has_var(const char *s, size_t n) {
    for (size_t i = 0; i + 1 < n; i++)
        if (s[i] == '$' && s[i + 1] == '{') return 1;
    return 0;
}

static int pat_put(iam_pat *o, const char *s, size_t n, uint8_t wild) {
    if (n > PAT_MAX || o->n > PAT_MAX - n) return -1;
    if (o->n + n > o->cap || !o->s) {
        size_t nc = o->cap ? o->cap : 256;
        while (nc < o->n + n) nc *= 2;
        char *ns = realloc(o->s, nc + 1);
        if (!ns) return -1;
        o->s = ns;
        uint8_t *nw = realloc(o->w, nc + 1);
        if (!nw) return -1;
        o->w = nw;
        o->cap = nc;
    }
    memcpy(o->s + o->n, s, n);
    memset(o->w + o->n, wild, n);
    o->n += n;
    o->s[o->n] = 0;
    return 0;
}

static void trim(const char **s, size_t *n) {
    while (*n && (**s == ' ' || **s == '\t')) (*s)++, (*n)--;
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t')) (*n)--;
}

int iam_resolve(const char *s, size_t n, const km_iam_context *ctx, int wild, iam_pat *out,
                const char **bad_var, size_t *bad_len) {
    out->n = 0;
    if (pat_put(out, "", 0, 0) < 0) return -1;
    int unresolved = 0;
    size_t lit = 0, i = 0;
    while (i < n) {
        char c = s[i];
        if ((c == '*' || c == '?') && wild) {
            if (pat_put(out, s + lit, i - lit, 0) < 0) return -1;
            if (pat_put(out, s + i, 1, c == '*' ? 1 : 2) < 0) return -1;
            lit = ++i;
            continue;
        }
        if (c == '$' && i + 1 < n && s[i + 1] == '{') {
            const char *close = memchr(s + i + 2, '}', n - i - 2);
            if (!close) {
                i++;
                continue;
            }
            if (pat_put(out, s + lit, i - lit, 0) < 0) return -1;
            const char *in = s + i + 2;
            size_t inn = (size_t)(close - in);
            size_t next = (size_t)(close - s) + 1;
            if (inn == 1 && (in[0] == '*' || in[0] == '?' || in[0] == '$')) {
                if (pat_put(out, in, 1, 0) < 0) return -1;
            } else {
                const char *name = in, *def = NULL;
                size_t name_len = inn, def_len = 0;
                const char *comma = memchr(in, ',', inn);
                if (comma) {
                    name_len = (size_t)(comma - in);
                    const char *d = comma + 1;
                    size_t dn = inn - name_len - 1;
                    trim(&d, &dn);
                    if (dn >= 2 && d[0] == '\'' && d[dn - 1] == '\'') {
                        def = d + 1;
                        def_len = dn - 2;
                    }
                }
                trim(&name, &name_len);
                const iam_ctx_entry *e = ctx ? iam_ctx_find(ctx, name, name_len) : NULL;
                if (e && !e->multi && e->n == 1) {
                    if (pat_put(out, e->vals[0], strlen(e->vals[0]), 0) < 0) return -1;
                } else if (def) {
                    if (pat_put(out, def, def_len, 0) < 0) return -1;
                } else {
                    if (!unresolved && bad_var) {
                        *bad_var = name;
                        *bad_len = name_len;
                    }
                    unresolved = 1;
                    if (pat_put(out, s + i, next - i, 0) < 0) return -1;
                }
            }
            i = lit = next;
            continue;
        }
        i++;
    }
    if (pat_put(out, s + lit, n - lit, 0) < 0) return -1;
    return unresolved;
}
