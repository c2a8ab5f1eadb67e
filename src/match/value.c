/* Value-level tests of EventBridge patterns: number comparability, IP addresses,
 * equals-ignore-case, wildcards, and km_vm_match which applies one matcher to one value.
 * Written by hand because these are EventBridge's exact rules (event-ruler's ComparableNumber,
 * CIDR and EqualsIgnoreCaseParser behaviour), which no library reproduces. */
#include "match/internal.h"

#include <arpa/inet.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* ---- numbers ---------------------------------------------------------------------------- */

/* Decimal value of a number text as (negative, significant digits without leading/trailing
 * zeros, exponent of the first digit). Returns 0 when the text is not a plain decimal. */
typedef struct { int neg; char dig[800]; size_t n; long exp; } km_dec;

static int dec_parse(const char *s, size_t len, km_dec *d) {
    size_t i = 0;
    d->neg = 0;
    d->n = 0;
    d->exp = 0;
    if (i < len && (s[i] == '-' || s[i] == '+')) d->neg = s[i++] == '-';
    long point = -1, ndig = 0; /* digits seen before the decimal point */
    int seen = 0;
    long lead = 0;             /* leading zeros skipped after the first digit position */
    for (; i < len; i++) {
        char c = s[i];
        if (c == '.') {
            if (point >= 0) return 0;
            point = ndig;
            continue;
        }
        if (c < '0' || c > '9') break;
        seen = 1;
        if (d->n == 0 && c == '0') {
            lead++;
            ndig++;
            continue;
        }
        if (d->n >= sizeof d->dig) return 0;
        d->dig[d->n++] = c;
        ndig++;
    }
    if (!seen) return 0;
    long e = 0;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        int eneg = 0;
        if (i < len && (s[i] == '-' || s[i] == '+')) eneg = s[i++] == '-';
        if (i >= len) return 0;
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
            if (e < 100000) e = e * 10 + (s[i] - '0');
        }
        if (eneg) e = -e;
    }
    if (i != len) return 0;
    if (point < 0) point = ndig;
    while (d->n > 0 && d->dig[d->n - 1] == '0') d->n--;
    if (d->n == 0) {
        d->neg = 0;
        d->exp = 0;
        return 1;
    }
    /* the first significant digit is at position lead (0-based) among all digits */
    d->exp = point - lead - 1 + e;
    return 1;
}

int km_num_comparable_slow(const char *raw, size_t len, double *out) {
    char buf[64];
    if (len == 0) return 0;
    char *tmp = len < sizeof buf ? buf : malloc(len + 1);
    if (!tmp) return 0;
    memcpy(tmp, raw, len);
    tmp[len] = 0;
    char *end;
    double d = strtod(tmp, &end);
    int ok = end == tmp + len && isfinite(d);
    km_dec a, b;
    if (ok) ok = dec_parse(raw, len, &a);
    if (tmp != buf) free(tmp);
    if (!ok) return 0;
    if (d == 0) d = 0.0; /* BigDecimal has no negative zero */
    /* Java's Double.toString: the closest decimal with the fewest digits (at least two) that
     * reads back as d. */
    char rep[40];
    for (int p = 1; p <= 17; p++) {
        snprintf(rep, sizeof rep, "%.*e", p, d);
        if (strtod(rep, NULL) == d) break;
    }
    if (!dec_parse(rep, strlen(rep), &b)) return 0;
    if (a.n != b.n || a.exp != b.exp || a.neg != b.neg || memcmp(a.dig, b.dig, a.n) != 0) return 0;
    *out = d;
    return 1;
}

/* Fast path of km_num_comparable. The rule: the number is comparable when its decimal value
 * equals Java's Double.toString of the nearest double d (shortest digits that read back as d,
 * the closest such). Let D have n significant digits:
 *   n >= 18: never (toString has at most 17);
 *   n <= 15 and d normal: always (distinct decimals of at most 15 digits give distinct doubles,
 *     so D is the only candidate);
 *   n = 16, 17: exact integer arithmetic decides whether D is the closest n-digit decimal to d
 *     and no (n-1)-digit decimal reads back as d.
 * Returns 1/0 when decided, -1 to ask the slow path. */
typedef unsigned __int128 u128;

static const double pow10d[23] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
                                  1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static const u128 p10tab[39] = {
    (u128)1ull,
    (u128)10ull,
    (u128)100ull,
    (u128)1000ull,
    (u128)10000ull,
    (u128)100000ull,
    (u128)1000000ull,
    (u128)10000000ull,
    (u128)100000000ull,
    (u128)1000000000ull,
    (u128)10000000000ull,
    (u128)100000000000ull,
    (u128)1000000000000ull,
    (u128)10000000000000ull,
    (u128)100000000000000ull,
    (u128)1000000000000000ull,
    (u128)10000000000000000ull,
    (u128)100000000000000000ull,
    (u128)1000000000000000000ull,
    (u128)10000000000000000000ull,
    (u128)10000000000000000000ull * 10ull,
    (u128)10000000000000000000ull * 100ull,
    (u128)10000000000000000000ull * 1000ull,
    (u128)10000000000000000000ull * 10000ull,
    (u128)10000000000000000000ull * 100000ull,
    (u128)10000000000000000000ull * 1000000ull,
    (u128)10000000000000000000ull * 10000000ull,
    (u128)10000000000000000000ull * 100000000ull,
    (u128)10000000000000000000ull * 1000000000ull,
    (u128)10000000000000000000ull * 10000000000ull,
    (u128)10000000000000000000ull * 100000000000ull,
    (u128)10000000000000000000ull * 1000000000000ull,
    (u128)10000000000000000000ull * 10000000000000ull,
    (u128)10000000000000000000ull * 100000000000000ull,
    (u128)10000000000000000000ull * 1000000000000000ull,
    (u128)10000000000000000000ull * 10000000000000000ull,
    (u128)10000000000000000000ull * 100000000000000000ull,
    (u128)10000000000000000000ull * 1000000000000000000ull,
    (u128)10000000000000000000ull * 10000000000000000000ull,
};

static u128 p10(int k) { return p10tab[k]; }

/* 10^k for k <= 27 are exact in the x87 80-bit format (5^27 < 2^64). */
static const long double pow10l[28] = {1e0L,  1e1L,  1e2L,  1e3L,  1e4L,  1e5L,  1e6L,  1e7L,  1e8L,  1e9L,
                                       1e10L, 1e11L, 1e12L, 1e13L, 1e14L, 1e15L, 1e16L, 1e17L, 1e18L, 1e19L,
                                       1e20L, 1e21L, 1e22L, 1e23L, 1e24L, 1e25L, 1e26L, 1e27L};

static int bits128(u128 x) {
    uint64_t hi = (uint64_t)(x >> 64), lo = (uint64_t)x;
    if (hi) return 128 - __builtin_clzll(hi);
    return lo ? 64 - __builtin_clzll(lo) : 0;
}

/* x * 2^sh * 10^e10 when it stays below 2^124, else 0 (fail). */
static int scale(u128 x, int sh, int e10, u128 *out) {
    int b = bits128(x) + sh + (e10 * 3322 + 999) / 1000;
    if (b > 124) return 0;
    x <<= sh;
    x *= p10(e10);
    *out = x;
    return 1;
}

/* Does the scaled value c read back as the double (m, k)? Y = d scaled, Q = ulp scaled. */
static int rounds_to(u128 c, u128 Y, u128 Q, uint64_t m, int lowest) {
    int even = (m & 1) == 0;
    if (c >= Y) {
        u128 dlt = (c - Y) * 2;
        return dlt < Q || (dlt == Q && even);
    }
    u128 dlt = (Y - c) * (lowest ? 4 : 2); /* below 2^52 * 2^k the gap is half an ulp */
    return dlt < Q || (dlt == Q && even);
}

static int comparable_fast(const char *raw, size_t len, double *out) {
    size_t i = 0;
    int neg = 0;
    if (i < len && raw[i] == '-') { neg = 1; i++; }
    uint64_t M = 0;
    int n = 0, lead = 1;
    long e = 0, pending0 = 0; /* trailing zeros not yet known to be significant */
    int seen_point = 0;
    for (; i < len; i++) {
        char c = raw[i];
        if (c == '.') { seen_point = 1; continue; }
        if (c < '0' || c > '9') break;
        if (lead && c == '0') {
            if (seen_point) e--;
            continue;
        }
        lead = 0;
        if (c == '0') {
            pending0++;
        } else {
            if (n + pending0 + 1 > 19) return n + pending0 + 1 >= 18 ? 0 : -1;
            for (; pending0 > 0; pending0--) { M *= 10; n++; }
            M = M * 10 + (uint64_t)(c - '0');
            n++;
        }
        if (seen_point) e--;
    }
    e += pending0; /* trailing zeros only scale */
    if (i < len && (raw[i] == 'e' || raw[i] == 'E')) {
        i++;
        int eneg = 0;
        if (i < len && (raw[i] == '+' || raw[i] == '-')) eneg = raw[i++] == '-';
        long x = 0;
        for (; i < len && raw[i] >= '0' && raw[i] <= '9'; i++)
            if (x < 100000) x = x * 10 + (raw[i] - '0');
        e += eneg ? -x : x;
    }
    if (i != len) return -1;
    if (n == 0) { *out = 0.0; return 1; } /* zero, any spelling */
    if (n >= 18) return 0;
    if (e < -330 || e > 330) return -1;
    int E = (int)e;
    double d;
    if (n <= 15 && E >= -22 && E <= 22) {
        d = E >= 0 ? (double)M * pow10d[E] : (double)M / pow10d[-E];
        if (!(fabs(d) >= 2.2250738585072014e-308) || !isfinite(d)) return -1;
        *out = neg ? -d : d;
        return 1;
    }
    if (n <= 15) {
        char buf[400];
        if (len >= sizeof buf) return -1;
        memcpy(buf, raw, len);
        buf[len] = 0;
        d = fabs(strtod(buf, NULL));
        if (!(d >= 2.2250738585072014e-308) || !isfinite(d)) return -1;
        *out = neg ? -d : d;
        return 1;
    }
    if (E < -27 || E > 27) return -1;
    /* candidate from extended precision, then corrected with exact arithmetic */
    long double ld = (long double)M;
    ld = E >= 0 ? ld * pow10l[E] : ld / pow10l[-E];
    d = (double)ld;
    if (!(d >= 2.2250738585072014e-308) || !isfinite(d)) return -1;
    for (int tries = 0; tries < 4; tries++) {
        uint64_t bitsd;
        memcpy(&bitsd, &d, 8);
        int bexp = (int)(bitsd >> 52 & 0x7FF);
        uint64_t m = (bitsd & ((1ull << 52) - 1)) | (1ull << 52); /* normal: implicit bit */
        int k = bexp - 1075;                                        /* d = m * 2^k */
        int a = E < 0 ? -E : 0, b = k < 0 ? -k : 0;
        u128 X, Y, U, Q;
        if (!scale(M, b, E > 0 ? E : 0, &X) || !scale(m, k > 0 ? k : 0, a, &Y) ||
            !scale(1, b, E > 0 ? E : 0, &U) || !scale(1, k > 0 ? k : 0, a, &Q))
            return -1;
        int lowest = m == (1ull << 52);
        if (!rounds_to(X, Y, Q, m, lowest)) {
            d = X > Y ? nextafter(d, INFINITY) : nextafter(d, 0.0);
            continue;
        }
        /* D must be the closest n-digit decimal to d (ties: even last digit) */
        u128 dist = (X > Y ? X - Y : Y - X) * 2;
        if (dist > U || (dist == U && (M & 1))) return 0;
        /* and no decimal with fewer digits may read back as d */
        if (bits128(U) > 120) return -1;
        u128 U1 = U * 10, q = Y / U1;
        if (rounds_to(q * U1, Y, Q, m, lowest) || rounds_to((q + 1) * U1, Y, Q, m, lowest)) return 0;
        *out = neg ? -d : d;
        return 1;
    }
    return -1;
}

int km_num_comparable(const char *raw, size_t len, double *out) {
    int r = comparable_fast(raw, len, out);
    if (r >= 0) return r;
    return km_num_comparable_slow(raw, len, out);
}

/* ---- IP addresses ----------------------------------------------------------------------- */

int km_ip_parse(const char *s, size_t len, uint8_t out[16], int *out_len) {
    char buf[64];
    if (len == 0) return 0;
    /* shape checks, as event-ruler's regular expressions: [0-9]+(\.[0-9]+){3} or
     * [0-9a-fA-F:]*:[0-9a-fA-F:]* */
    int v4 = 1, parts = 1, digits = 0;
    for (size_t i = 0; i < len && v4; i++) {
        if (s[i] >= '0' && s[i] <= '9') digits++;
        else if (s[i] == '.' && digits > 0) { parts++; digits = 0; }
        else v4 = 0;
    }
    if (digits == 0 || parts != 4) v4 = 0;
    int v6 = !v4, colon = 0;
    for (size_t i = 0; i < len && v6; i++) {
        char c = s[i];
        if (c == ':') colon = 1;
        else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) v6 = 0;
    }
    if (!colon) v6 = 0;
    if (!v4 && !v6) return 0;
    if (len >= sizeof buf) return -1;
    memcpy(buf, s, len);
    buf[len] = 0;
    if (v4) {
        /* Each part decimal 0..255; leading zeros are ambiguous (octal?) and rejected, as
         * current Java and inet_pton do. */
        if (inet_pton(AF_INET, buf, out) != 1) return -1;
        *out_len = 4;
        return 1;
    }
    uint8_t a[16];
    if (inet_pton(AF_INET6, buf, a) != 1) return -1;
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(a, mapped, 12) == 0) {
        memcpy(out, a + 12, 4);
        *out_len = 4;
    } else {
        memcpy(out, a, 16);
        *out_len = 16;
    }
    return 1;
}

static int value_ip(km_value *v) {
    if (v->ip_state == 0) {
        v->ip_state = -1;
        if (v->type == KM_V_STRING && km_ip_parse(v->s, v->len, v->ip, &v->ip_len) == 1) v->ip_state = 1;
    }
    return v->ip_state == 1;
}

/* ---- equals-ignore-case ------------------------------------------------------------------ */

#include "util/casefold.h"

/* Decode one UTF-8 code point (input assumed valid UTF-8; invalid bytes count as themselves). */
static size_t utf8_next(const unsigned char *s, size_t len, uint32_t *cp) {
    unsigned c = s[0];
    size_t n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    if (c >= 0x80 && c < 0xC0) n = 1;
    if (n > len) n = 1;
    if (n == 1) { *cp = c; return 1; }
    uint32_t v = c & (0x7F >> n);
    for (size_t i = 1; i < n; i++) v = (v << 6) | (s[i] & 0x3F);
    *cp = v;
    return n;
}

/* A small set of byte positions in the value, the states of a nondeterministic comparison. */
typedef struct { size_t *p; size_t n, cap; size_t inl[8]; } posset;

static void ps_init(posset *s) { s->p = s->inl; s->n = 0; s->cap = 8; }
static void ps_free(posset *s) { if (s->p != s->inl) free(s->p); }
static int ps_add(posset *s, size_t v) {
    for (size_t i = 0; i < s->n; i++)
        if (s->p[i] == v) return 0;
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 8; /* ps_init makes cap 8; never malloc(0) */
        size_t *np = malloc(nc * sizeof *np);
        if (!np) return -1;
        memcpy(np, s->p, s->n * sizeof *np);
        if (s->p != s->inl) free(s->p);
        s->p = np;
        s->cap = nc;
    }
    s->p[s->n++] = v;
    return 0;
}

static inline unsigned char ascii_lower(unsigned char c) { return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c; }

/* An ASCII pattern character's two forms are its ASCII cases, so an ASCII pattern compares
 * byte by byte, ignoring ASCII case (a non-ASCII byte in the value never matches). */
static int eic_ascii(const char *pat, size_t plen, const char *s, size_t slen, int mode) {
    if (mode == 0 ? slen != plen : slen < plen) return 0;
    const unsigned char *a = (const unsigned char *)pat, *b = (const unsigned char *)s + (mode == 2 ? slen - plen : 0);
    for (size_t i = 0; i < plen; i++)
        if (ascii_lower(a[i]) != ascii_lower(b[i])) return 0;
    return 1;
}

int km_eic_is_ascii(const char *pat, size_t plen) {
    for (size_t i = 0; i < plen; i++)
        if ((unsigned char)pat[i] >= 0x80 || pat[i] == '"') return 0;
    return 1;
}

int km_eic_match(const char *pat, size_t plen, const char *s, size_t slen, int mode) {
    size_t k = 0;
    while (k < plen && (unsigned char)pat[k] < 0x80) k++;
    if (k == plen) return eic_ascii(pat, plen, s, slen, mode);
    posset A, B, *cur = &A, *nxt = &B;
    ps_init(&A);
    ps_init(&B);
    ps_add(cur, mode == 2 ? slen : 0);
    const unsigned char *p = (const unsigned char *)pat;
    /* suffix mode consumes the pattern from its end */
    size_t pi = mode == 2 ? plen : 0;
    int ok = 1;
    while (cur->n > 0 && (mode == 2 ? pi > 0 : pi < plen)) {
        uint32_t cp;
        size_t clen, start;
        if (mode == 2) {
            start = pi - 1;
            while (start > 0 && (p[start] & 0xC0) == 0x80 && pi - start < 4) start--;
            clen = utf8_next(p + start, pi - start, &cp);
            if (start + clen != pi) { start = pi - 1; clen = 1; cp = p[start]; }
            pi = start;
        } else {
            start = pi;
            clen = utf8_next(p + pi, plen - pi, &cp);
            pi += clen;
        }
        const char *alt[2];
        size_t altlen[2];
        int nalt = 1;
        const struct km_casefold *r = cp >= 0x41 ? km_casefold_find(cp) : NULL;
        if (r) {
            alt[0] = r->lo;
            altlen[0] = strlen(r->lo);
            alt[1] = r->up;
            altlen[1] = strlen(r->up);
            nalt = (altlen[0] == altlen[1] && memcmp(alt[0], alt[1], altlen[0]) == 0) ? 1 : 2;
        } else {
            alt[0] = pat + start;
            altlen[0] = clen;
        }
        nxt->n = 0;
        for (size_t i = 0; i < cur->n; i++) {
            size_t at = cur->p[i];
            for (int a = 0; a < nalt; a++) {
                size_t L = altlen[a];
                if (mode == 2) {
                    if (at >= L && memcmp(s + at - L, alt[a], L) == 0 && ps_add(nxt, at - L) < 0) ok = 0;
                } else {
                    if (slen - at >= L && memcmp(s + at, alt[a], L) == 0 && ps_add(nxt, at + L) < 0) ok = 0;
                }
            }
        }
        posset *t = cur;
        cur = nxt;
        nxt = t;
    }
    int res = 0;
    if (ok && cur->n > 0) {
        if (mode == 0) {
            for (size_t i = 0; i < cur->n; i++)
                if (cur->p[i] == slen) res = 1;
        } else {
            res = 1;
        }
    }
    ps_free(&A);
    ps_free(&B);
    return res;
}

/* ---- wildcards -------------------------------------------------------------------------- */

const char *km_wildcard_check(const char *pat, size_t plen, size_t *pos) {
    for (size_t i = 0; i < plen; i++) {
        if (pat[i] == '*') {
            if (i + 1 < plen && pat[i + 1] == '*') {
                *pos = i;
                return "Consecutive wildcard characters at pos %zu";
            }
        } else if (pat[i] == '\\') {
            if (i + 1 < plen && (pat[i + 1] == '*' || pat[i + 1] == '\\')) {
                i++;
                continue;
            }
            *pos = i;
            return "Invalid escape character at pos %zu";
        }
    }
    return NULL;
}

/* Does the literal run pat[0..plen) (escapes resolved on the fly, no unescaped '*') equal
 * s[0..n)? Returns the literal's unescaped length through *ulen. */
static size_t lit_len(const char *pat, size_t plen) {
    size_t n = 0;
    for (size_t i = 0; i < plen; i++, n++)
        if (pat[i] == '\\') i++;
    return n;
}

static inline char fold_ascii(char c, int fold) { return fold && c >= 'A' && c <= 'Z' ? (char)(c + 32) : c; }

/* fold: compare ASCII letters without regard to case (km-wildcard-ignore-case). */
static inline int lit_eq(const char *pat, size_t plen, const char *s, int fold) {
    size_t j = 0;
    for (size_t i = 0; i < plen; i++, j++) {
        char c = pat[i];
        if (c == '\\') c = pat[++i];
        if (fold_ascii(s[j], fold) != fold_ascii(c, fold)) return 0;
    }
    return 1;
}

#if defined(__SSE2__)
/* Positions k in [i, i + 16) where s[k] may equal c: with fold and c a letter, either case
 * (x | 0x20 is c's lower case exactly for c's two cases). */
static inline __m128i byte_eq(const char *p, unsigned char c, int fold) {
    __m128i v = _mm_loadu_si128((const __m128i *)p);
    unsigned char lc = (unsigned char)(c | 0x20);
    if (fold && lc >= 'a' && lc <= 'z') return _mm_cmpeq_epi8(_mm_or_si128(v, _mm_set1_epi8(0x20)), _mm_set1_epi8((char)lc));
    return _mm_cmpeq_epi8(v, _mm_set1_epi8((char)c));
}
#endif

/* Leftmost occurrence of the literal in s[from..slen), or (size_t)-1. A literal without escapes
 * is searched 16 positions at a time for its first and last bytes together, and only the
 * positions holding both are compared whole: the Sigma prefilters' '*:assumed-role/aws:*' runs
 * on every ARN and '*TruffleHog*' (folded) on every userAgent, where libc's memmem and a byte loop
 * cost several hundred instructions per value. */
static inline size_t lit_find(const char *pat, size_t plen, size_t ulen, const char *s, size_t from, size_t slen,
                              int fold) {
    if (ulen == 0) return from;
    if (from > slen || slen - from < ulen) return (size_t)-1;
    size_t k = from;
#if defined(__SSE2__)
    if (ulen == plen && ulen >= 2) {
        const size_t last = slen - ulen; /* last possible start */
        const unsigned char c0 = (unsigned char)pat[0], c1 = (unsigned char)pat[ulen - 1];
        while (k + 15 <= last || (k <= last && last >= 15)) {
            /* the last block overlaps the one before: its positions already tried are masked off */
            size_t b = k + 15 <= last ? k : last - 15;
            __m128i m = _mm_and_si128(byte_eq(s + b, c0, fold), byte_eq(s + b + ulen - 1, c1, fold));
            unsigned bits = (unsigned)_mm_movemask_epi8(m) & (0xFFFFu << (k - b));
            while (bits) {
                size_t q = b + (size_t)__builtin_ctz(bits);
                if (fold ? lit_eq(pat + 1, plen - 2, s + q + 1, 1) : memcmp(pat + 1, s + q + 1, ulen - 2) == 0) return q;
                bits &= bits - 1;
            }
            k = b + 16;
        }
    }
#endif
    for (; k + ulen <= slen; k++)
        if (lit_eq(pat, plen, s + k, fold)) return k;
    return (size_t)-1;
}

static inline int wildcard_match(const char *pat, size_t plen, const char *s, size_t slen, int fold) {
    /* "*text*" (text without stars or escapes), the form of the Sigma compiler's contains and of
     * every |re literal: one search, without splitting the pattern into runs at every value */
    if (km_wildcard_is_contains(pat, plen)) return lit_find(pat + 1, plen - 2, plen - 2, s, 0, slen, fold) != (size_t)-1;
    /* split into literal runs at unescaped stars */
    size_t seg_start = 0, i = 0, nstars = 0;
    /* first run: anchored at the start */
    size_t at = 0;
    int first = 1;
    for (;;) {
        /* find the end of the current run */
        i = seg_start;
        while (i < plen && pat[i] != '*') {
            if (pat[i] == '\\') i++;
            i++;
        }
        if (i > plen) i = plen;
        size_t rl = i - seg_start;
        size_t ul = lit_len(pat + seg_start, rl);
        int last = i >= plen;
        if (first && last) {
            return ul == slen && lit_eq(pat + seg_start, rl, s, fold);
        }
        if (first) {
            if (ul > slen || !lit_eq(pat + seg_start, rl, s, fold)) return 0;
            at = ul;
        } else if (last) {
            /* anchored at the end, after at */
            if (ul > slen - at) return 0;
            return lit_eq(pat + seg_start, rl, s + slen - ul, fold);
        } else {
            size_t k = lit_find(pat + seg_start, rl, ul, s, at, slen, fold);
            if (k == (size_t)-1) return 0;
            at = k + ul;
        }
        first = 0;
        nstars++;
        seg_start = i + 1;
    }
}

int km_wildcard_is_contains(const char *pat, size_t plen) {
    return plen >= 3 && pat[0] == '*' && pat[plen - 1] == '*' && !memchr(pat + 1, '*', plen - 2) && !memchr(pat + 1, '\\', plen - 2);
}

int km_wildcard_contains(const char *text, size_t tlen, const char *s, size_t slen, int fold) {
    return lit_find(text, tlen, tlen, s, 0, slen, fold) != (size_t)-1;
}

int km_wildcard_match(const char *pat, size_t plen, const char *s, size_t slen) {
    return wildcard_match(pat, plen, s, slen, 0);
}

int km_wildcard_match_ci(const char *pat, size_t plen, const char *s, size_t slen) {
    return wildcard_match(pat, plen, s, slen, 1);
}

/* Wildcard complexity: simulate the patterns' NFA (a position = how many elements of one
 * pattern are matched) over every input, exploring the reachable sets of positions breadth
 * first; the answer is the largest set, not counting start positions. Inputs are built from
 * the bytes the patterns use plus one byte they do not. The quotes event-ruler puts around a
 * wildcard are part of each pattern, as in its machine.
 * Sets already met are found through a hash table, and each set's successors are built from its
 * own few positions: comparing each new set with every set before it made long patterns with
 * many distinct bytes cost up to 2,048 x 2,048 set comparisons per byte (120 ms for one 800-byte
 * Sigma rule's |re literal, fuzz_sigma; docs/security.md, "Cost per execution"). Same sets, met
 * in the same order, so the same answer. */
static uint64_t posset_hash(const uint64_t *w, size_t words) {
    uint64_t h = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < words; i++) {
        h ^= w[i];
        h *= 0xFF51AFD7ED558CCDull;
        h ^= h >> 32;
    }
    return h;
}

int km_wildcard_complexity(const km_str *pats, size_t n, int cap) {
    if (n == 0) return 0; /* no pattern, no state (and no zero-byte allocations below) */
    size_t total = 0;
    for (size_t i = 0; i < n; i++) total += pats[i].len + 2;
    int *lit = malloc((total + 1) * sizeof *lit);  /* element byte, or -1 for a star */
    size_t *base = malloc((n + 1) * sizeof *base); /* first element of pattern i */
    uint64_t *states = NULL, *tmp = NULL, *staymask = NULL, *advmask = NULL;
    int *adv_byte = NULL;
    size_t *adv_hi = NULL, *ent = NULL;
    uint32_t *slot = NULL;
    int best = 0;
    if (!lit || !base) goto done;
    size_t m = 0;
    uint8_t used[256] = {0};
    for (size_t i = 0; i < n; i++) {
        base[i] = m;
        lit[m++] = '"';
        const char *p = pats[i].s;
        for (size_t j = 0; j < pats[i].len; j++) {
            if (p[j] == '*') { lit[m++] = -1; continue; }
            unsigned char c = (unsigned char)p[j];
            if (c == '\\' && j + 1 < pats[i].len) c = (unsigned char)p[++j];
            lit[m++] = c;
            used[c] = 1;
        }
        lit[m++] = '"';
    }
    base[n] = m;
    used['"'] = 1;
    int other = -1;
    for (int c = 1; c < 256 && other < 0; c++)
        if (!used[c]) other = c;
    /* the bytes tried from each set, in the order the sets are explored: the used ones, then one
     * the patterns do not use */
    int bytes[257];
    size_t nbytes = 0;
    for (int c = 0; c < 256; c++)
        if (used[c]) bytes[nbytes++] = c;
    if (other >= 0) bytes[nbytes++] = other;
    /* Position k of pattern i (0..len_i) has global index base[i] + i + k. From global position g
     * a star before it keeps the input there (staymask), and its element, when a byte (advmask,
     * adv_byte), moves it on to g + 1 and through the stars after that, up to adv_hi[g]. */
    size_t npos = m + n, words = (npos + 63) / 64, maxstates = 2048, scap = 64, hcap = 128;
    states = malloc(scap * words * sizeof *states);
    tmp = malloc(words * sizeof *tmp);
    staymask = calloc(words, sizeof *staymask);
    advmask = calloc(words, sizeof *advmask);
    adv_byte = malloc(npos * sizeof *adv_byte);
    adv_hi = malloc(npos * sizeof *adv_hi);
    ent = malloc(npos * sizeof *ent);
    slot = calloc(hcap, sizeof *slot); /* state index + 1, or 0 for an empty slot */
    if (!states || !tmp || !staymask || !advmask || !adv_byte || !adv_hi || !ent || !slot) goto done;
#define SETBIT(b, x) ((b)[(x) / 64] |= 1ull << ((x) % 64))
    for (size_t i = 0; i < n; i++) {
        size_t len = base[i + 1] - base[i], g0 = base[i] + i;
        const int *el = lit + base[i];
        for (size_t k = 0; k <= len; k++) {
            if (k > 0 && el[k - 1] < 0) SETBIT(staymask, g0 + k);
            adv_byte[g0 + k] = k < len ? el[k] : -1;
            if (k < len && el[k] >= 0) {
                SETBIT(advmask, g0 + k);
                size_t q = k + 1;
                while (q < len && el[q] < 0) q++;
                adv_hi[g0 + k] = g0 + q;
            }
        }
    }
    memset(states, 0, words * sizeof *states);
    for (size_t i = 0; i < n; i++) {
        size_t len = base[i + 1] - base[i], k = 0;
        SETBIT(states, base[i] + i);
        while (k < len && lit[base[i] + k] < 0) {
            k++;
            SETBIT(states, base[i] + i + k);
        }
    }
    slot[posset_hash(states, words) & (hcap - 1)] = 1;
    size_t nstates = 1;
    for (size_t head = 0; head < nstates; head++) {
        const uint64_t *cur = states + head * words;
        size_t ne = 0;
        for (size_t w = 0; w < words; w++)
            for (uint64_t b = cur[w] & advmask[w]; b; b &= b - 1) ent[ne++] = w * 64 + (size_t)__builtin_ctzll(b);
        /* every byte no position advances on leads to the same set, cur's staying positions:
         * tried once, where the first such byte comes */
        int stay_tried = 0;
        for (size_t u = 0; u < nbytes; u++) {
            int byte = bytes[u], moved = 0;
            for (size_t e = 0; e < ne; e++) {
                size_t g = ent[e];
                if (adv_byte[g] != byte) continue;
                if (!moved) {
                    for (size_t w = 0; w < words; w++) tmp[w] = cur[w] & staymask[w];
                    moved = 1;
                }
                for (size_t x = g + 1; x <= adv_hi[g]; x++) SETBIT(tmp, x);
            }
            if (!moved) {
                if (stay_tried) continue;
                stay_tried = 1;
                for (size_t w = 0; w < words; w++) tmp[w] = cur[w] & staymask[w];
            }
            int cnt = 0;
            for (size_t w = 0; w < words; w++) cnt += __builtin_popcountll(tmp[w]);
            if (cnt == 0) continue;
            if (cnt > best) best = cnt;
            if (best >= cap) goto done;
            if (nstates >= maxstates) continue; /* no room: whether it was seen changes nothing */
            size_t h = posset_hash(tmp, words) & (hcap - 1);
            int seen = 0;
            for (; slot[h]; h = (h + 1) & (hcap - 1))
                if (memcmp(states + (slot[h] - 1) * words, tmp, words * sizeof *tmp) == 0) {
                    seen = 1;
                    break;
                }
            if (seen) continue;
            if (nstates == scap) {
                /* grow the sets (cur moves with them) and the table, kept at most half full */
                size_t ncap = scap * 2;
                uint64_t *ns = realloc(states, ncap * words * sizeof *ns);
                uint32_t *nslot = ns ? calloc(hcap * 2, sizeof *nslot) : NULL;
                if (!nslot) {
                    if (ns) states = ns;
                    goto done;
                }
                states = ns;
                cur = states + head * words;
                free(slot);
                slot = nslot;
                scap = ncap;
                hcap *= 2;
                for (size_t s = 0; s < nstates; s++) {
                    size_t hs = posset_hash(states + s * words, words) & (hcap - 1);
                    while (slot[hs]) hs = (hs + 1) & (hcap - 1);
                    slot[hs] = (uint32_t)s + 1;
                }
                h = posset_hash(tmp, words) & (hcap - 1);
                while (slot[h]) h = (h + 1) & (hcap - 1);
            }
            memcpy(states + nstates * words, tmp, words * sizeof *tmp);
            slot[h] = (uint32_t)++nstates;
        }
    }
#undef SETBIT
done:
    free(states);
    free(tmp);
    free(staymask);
    free(advmask);
    free(adv_byte);
    free(adv_hi);
    free(ent);
    free(slot);
    free(lit);
    free(base);
    return best > cap ? cap : best;
}

/* ---- Java string order -------------------------------------------------------------------- */

int km_java_strcmp(const char *a, size_t alen, const char *b, size_t blen) {
    size_t n = alen < blen ? alen : blen;
    for (size_t i = 0; i < n; i++) {
        unsigned x = (unsigned char)a[i], y = (unsigned char)b[i];
        if (x == y) continue;
        /* UTF-16 puts supplementary characters (surrogates D800-DFFF) before U+E000-U+FFFF,
         * whose UTF-8 lead bytes are EE/EF; everything else orders as UTF-8 bytes do. */
        int xs = x >= 0xF0, ys = y >= 0xF0;
        if (xs && (y == 0xEE || y == 0xEF)) return -1;
        if (ys && (x == 0xEE || x == 0xEF)) return 1;
        return x < y ? -1 : 1;
    }
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

/* ---- one matcher, one value ---------------------------------------------------------------- */

static int str_eq(const km_str *k, const km_value *v) {
    return k->len == v->len && memcmp(k->s, v->s, v->len) == 0;
}

/* prefix p of value + '"' */
static int prefix_q(const km_str *p, const km_value *v) {
    if (p->len <= v->len) return memcmp(p->s, v->s, p->len) == 0;
    return p->len == v->len + 1 && p->s[v->len] == '"' && memcmp(p->s, v->s, v->len) == 0;
}

/* suffix p of '"' + value */
static int suffix_q(const km_str *p, const km_value *v) {
    if (p->len <= v->len) return memcmp(p->s, v->s + v->len - p->len, p->len) == 0;
    return p->len == v->len + 1 && p->s[0] == '"' && memcmp(p->s + 1, v->s, v->len) == 0;
}

/* equals-ignore-case in the quoted form, for patterns that contain a '"' */
static int eic_q(const km_str *p, const km_value *v, int mode) {
    if (!memchr(p->s, '"', p->len)) return km_eic_match(p->s, p->len, v->s, v->len, mode);
    char *q = malloc(v->len + 2);
    if (!q) return 0;
    size_t ql = 0;
    if (mode == 2) q[ql++] = '"';
    memcpy(q + ql, v->s, v->len);
    ql += v->len;
    if (mode == 1) q[ql++] = '"';
    int r = km_eic_match(p->s, p->len, q, ql, mode);
    free(q);
    return r;
}

static int value_num(km_value *v) {
    if (v->type != KM_V_NUMBER) return 0;
    if (v->num_ok == 0) v->num_ok = km_num_comparable(v->s, v->len, &v->d) ? 1 : -1;
    return v->num_ok == 1;
}

static int ip_in(const km_vm *vm, km_value *v) {
    if (!value_ip(v) || v->ip_len != vm->ip_len) return 0;
    return memcmp(v->ip, vm->ip_lo, (size_t)v->ip_len) >= 0 && memcmp(v->ip, vm->ip_hi, (size_t)v->ip_len) <= 0;
}

int km_vm_match(const km_vm *vm, km_value *v) {
    int isstr = v->type == KM_V_STRING;
    switch (vm->kind) {
    case KM_VM_STRING:
        if (vm->is_ip) return ip_in(vm, v);
        return isstr && str_eq(&vm->str, v);
    case KM_VM_LITERAL:
        if (isstr) return 0;
        if (str_eq(&vm->str, v)) return 1;
        return vm->num_ok && value_num(v) && vm->d == v->d;
    case KM_VM_NUM_RANGE:
        if (!value_num(v)) return 0;
        if (vm->lo_open ? !(v->d > vm->lo) : !(v->d >= vm->lo)) return 0;
        if (vm->hi_open ? !(v->d < vm->hi) : !(v->d <= vm->hi)) return 0;
        return 1;
    case KM_VM_PREFIX: return isstr && prefix_q(&vm->str, v);
    case KM_VM_SUFFIX: return isstr && suffix_q(&vm->str, v);
    case KM_VM_EIC:
    case KM_VM_PREFIX_EIC:
    case KM_VM_SUFFIX_EIC: {
        if (!isstr) return 0;
        int mode = vm->kind == KM_VM_EIC ? 0 : vm->kind == KM_VM_PREFIX_EIC ? 1 : 2;
        /* an ASCII pattern without a quote (Sigma's, nearly always): no copy with the quote,
         * no scan of the pattern for each value */
        return vm->eic_ascii ? eic_ascii(vm->str.s, vm->str.len, v->s, v->len, mode) : eic_q(&vm->str, v, mode);
    }
    case KM_VM_WILDCARD:
    case KM_VM_WILDCARD_CI:
        if (!isstr) return 0;
        if (vm->contains) return lit_find(vm->str.s + 1, vm->str.len - 2, vm->str.len - 2, v->s, 0, v->len, vm->kind == KM_VM_WILDCARD_CI) != (size_t)-1;
        return vm->kind == KM_VM_WILDCARD ? km_wildcard_match(vm->str.s, vm->str.len, v->s, v->len)
                                          : km_wildcard_match_ci(vm->str.s, vm->str.len, v->s, v->len);
    case KM_VM_CIDR: return ip_in(vm, v);
    case KM_VM_EXISTS: return 1;
    case KM_VM_AB_STRINGS:
        if (!isstr) return 1;
        for (size_t i = 0; i < vm->nlist; i++)
            if (str_eq(&vm->list[i], v)) return 0;
        return 1;
    case KM_VM_AB_NUMBERS:
        if (!value_num(v)) return 1;
        for (size_t i = 0; i < vm->nlist; i++)
            if (vm->nums[i] == v->d) return 0;
        return 1;
    case KM_VM_AB_PREFIX:
        if (!isstr) return 1;
        for (size_t i = 0; i < vm->nlist; i++)
            if (prefix_q(&vm->list[i], v)) return 0;
        return 1;
    case KM_VM_AB_SUFFIX:
        if (!isstr) return 1;
        for (size_t i = 0; i < vm->nlist; i++)
            if (suffix_q(&vm->list[i], v)) return 0;
        return 1;
    case KM_VM_AB_WILDCARD:
        if (!isstr) return 1;
        for (size_t i = 0; i < vm->nlist; i++)
            if (km_wildcard_match(vm->list[i].s, vm->list[i].len, v->s, v->len)) return 0;
        return 1;
    case KM_VM_AB_WILDCARD_CI:
        if (!isstr) return 1;
        for (size_t i = 0; i < vm->nlist; i++)
            if (km_wildcard_match_ci(vm->list[i].s, vm->list[i].len, v->s, v->len)) return 0;
        return 1;
    case KM_VM_AB_EIC:
        if (!isstr) return 1;
        for (size_t i = 0; i < vm->nlist; i++)
            if (eic_q(&vm->list[i], v, 0)) return 0;
        return 1;
    }
    return 0;
}
