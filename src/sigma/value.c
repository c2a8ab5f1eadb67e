/* Sigma values: wildcard strings and their escapes, compilation into PCRE2 expressions with
 * Sigma's case rule, |re flags, base64/base64offset, and IP addresses for |cidr.
 *
 * Case-insensitive matching (Sigma's default) is defined as EventBridge defines equals-ignore-case:
 * each character of the rule's value matches itself, its lower-case form or its upper-case form
 * (Unicode full mappings, the table the matcher uses: util/casefold.h). Writing that as explicit alternatives in the
 * expression, rather than using PCRE2_CASELESS (Unicode case folding, which also lets 'k' match
 * the Kelvin sign), keeps the Sigma evaluator and the matcher's ignore-case operators in exact
 * agreement, so one can be tested against the other. */
#include "sigma/internal.h"
#include "util/casefold.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sg_str_parse(km_arena *a, const char *s, size_t len, sg_str *out) {
    out->b = km_arena_alloc(a, len + 1);
    out->w = km_arena_alloc(a, len + 1);
    out->len = 0;
    if (!out->b || !out->w) return -1;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        uint8_t w = 0;
        if (c == '\\') {
            /* pySigma's rule: a backslash escapes *, ? and itself; before anything else it is
             * a plain backslash */
            if (i + 1 < len && (s[i + 1] == '*' || s[i + 1] == '?' || s[i + 1] == '\\')) c = s[++i];
        } else if (c == '*') {
            w = 1;
        } else if (c == '?') {
            w = 2;
        }
        out->b[out->len] = c;
        out->w[out->len++] = w;
    }
    return 0;
}

int sg_str_literal(km_arena *a, const char *s, size_t len, sg_str *out) {
    out->b = km_arena_alloc(a, len + 1);
    out->w = km_arena_alloc(a, len + 1);
    if (!out->b || !out->w) return -1;
    if (len) memcpy(out->b, s, len);
    out->len = len;
    return 0;
}

/* Decode one UTF-8 character; returns its length (1 for an invalid byte, taken as itself). */
static size_t utf8_dec(const unsigned char *p, size_t n, uint32_t *cp) {
    if (p[0] < 0x80) { *cp = p[0]; return 1; }
    size_t need = (p[0] & 0xE0) == 0xC0 ? 2 : (p[0] & 0xF0) == 0xE0 ? 3 : (p[0] & 0xF8) == 0xF0 ? 4 : 0;
    if (need == 0 || need > n) { *cp = p[0]; return 1; }
    uint32_t v = p[0] & (0x7F >> need);
    for (size_t i = 1; i < need; i++) {
        if ((p[i] & 0xC0) != 0x80) { *cp = p[0]; return 1; }
        v = (v << 6) | (p[i] & 0x3F);
    }
    *cp = v;
    return need;
}

/* Append bytes as a literal inside a PCRE2 pattern. */
static void lit(km_buf *b, const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80) km_buf_putc(b, (char)c);
        else if (c < 0x20 || c == 0x7F) km_buf_printf(b, "\\x{%x}", c);
        else { km_buf_putc(b, '\\'); km_buf_putc(b, (char)c); }
    }
}

int sg_utf8_valid(const char *s, size_t n);
int sg_utf8_valid(const char *s, size_t n) {
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        if (p[i] < 0x80) { i++; continue; }
        size_t need = (p[i] & 0xE0) == 0xC0 ? 2 : (p[i] & 0xF0) == 0xE0 ? 3 : (p[i] & 0xF8) == 0xF0 ? 4 : 0;
        if (need == 0 || i + need > n) return 0;
        uint32_t v = p[i] & (0x7F >> need);
        for (size_t k = 1; k < need; k++) {
            if ((p[i + k] & 0xC0) != 0x80) return 0;
            v = (v << 6) | (p[i + k] & 0x3F);
        }
        if ((need == 2 && v < 0x80) || (need == 3 && v < 0x800) || (need == 4 && (v < 0x10000 || v > 0x10FFFF)) ||
            (v >= 0xD800 && v <= 0xDFFF))
            return 0;
        i += need;
    }
    return 1;
}

static pcre2_code *compile(const char *pat, size_t len, uint32_t opts, char *msg, size_t msgsz) {
    int ec;
    PCRE2_SIZE eo;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, len, opts | PCRE2_UTF, &ec, &eo, NULL);
    if (!re) {
        PCRE2_UCHAR m[256];
        pcre2_get_error_message(ec, m, sizeof m);
        snprintf(msg, msgsz, "%s at offset %zu", (const char *)m, (size_t)eo);
        return NULL;
    }
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* best effort: the interpreter is the fallback */
    return re;
}

pcre2_code *sg_str_compile(const sg_str *s, int cased, char *msg, size_t msgsz) {
    if (!sg_utf8_valid(s->b, s->len)) {
        snprintf(msg, msgsz, "the value is not UTF-8 text (an encoding modifier needs base64 or base64offset after it)");
        return NULL;
    }
    size_t st = 0, en = s->len;
    while (st < en && s->w[st] == 1) st++;
    while (en > st && s->w[en - 1] == 1) en--;
    uint32_t opts = PCRE2_DOTALL;
    if (st == 0) opts |= PCRE2_ANCHORED;
    if (en == s->len) opts |= PCRE2_ENDANCHORED;
    if (st == en && st > 0) opts &= ~(uint32_t)(PCRE2_ANCHORED | PCRE2_ENDANCHORED);
    km_buf b = KM_BUF_INIT;
    km_buf_init(&b, 1u << 22);
    size_t i = st;
    while (i < en) {
        if (s->w[i] == 1 || s->w[i] == 2) {
            /* A run of wildcards is its '?'s (one character each) then, if it holds a '*', one
             * ".*": the same language as written, but ".*.*" (or ".*..*.") makes PCRE2 try every
             * way of sharing the text among the stars (a fuzzed "s3.amazonaws***...***.com" of 43
             * stars reached the match limit on "s3.amazonaws.com" and was taken as no match). */
            int star = 0;
            for (; i < en && (s->w[i] == 1 || s->w[i] == 2); i++) {
                if (s->w[i] == 2) km_buf_putc(&b, '.');
                else star = 1;
            }
            if (star) km_buf_puts(&b, ".*");
            continue;
        }
        if (s->w[i] == SG_W_DASH) {
            /* one character of the windash set; none of them has other case forms (casefold.h),
             * so cased and case-insensitive values write the same class */
            km_buf_puts(&b, "[\\-/\\x{2013}\\x{2014}\\x{2015}]");
            i++;
            continue;
        }
        uint32_t cp;
        size_t cl = utf8_dec((const unsigned char *)s->b + i, en - i, &cp);
        for (size_t k = 1; k < cl; k++)
            if (s->w[i + k]) cl = k; /* a wildcard cannot sit inside a character */
        const struct km_casefold *r = cased ? NULL : km_casefold_find(cp);
        if (!r) {
            lit(&b, s->b + i, cl);
        } else if (cp < 0x80 && strlen(r->lo) == 1 && strlen(r->up) == 1) {
            const char cls[4] = {'[', r->lo[0], r->up[0], ']'}; /* not printf: the hot path of long values */
            km_buf_append(&b, cls, sizeof cls);
        } else {
            const char *alts[3] = {r->lo, r->up, NULL};
            km_buf_puts(&b, "(?:");
            lit(&b, s->b + i, cl);
            for (int k = 0; k < 2; k++) {
                size_t al = strlen(alts[k]);
                if (al == cl && !memcmp(alts[k], s->b + i, cl)) continue;
                if (k == 1 && !strcmp(alts[0], alts[1])) continue;
                km_buf_putc(&b, '|');
                lit(&b, alts[k], al);
            }
            km_buf_putc(&b, ')');
        }
        i += cl;
    }
    if (b.failed) {
        km_buf_free(&b);
        snprintf(msg, msgsz, "value too long");
        return NULL;
    }
    pcre2_code *re = compile(b.data ? b.data : "", b.len, opts, msg, msgsz);
    km_buf_free(&b);
    return re;
}

pcre2_code *sg_re_compile(const char *re, size_t len, int fi, int fm, int fs, char *msg, size_t msgsz) {
    uint32_t opts = 0;
    if (fi) opts |= PCRE2_CASELESS;
    if (fm) opts |= PCRE2_MULTILINE;
    if (fs) opts |= PCRE2_DOTALL;
    return compile(re, len, opts, msg, msgsz);
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *sg_base64(km_arena *a, const char *in, size_t n, size_t *outlen) {
    size_t ol = (n + 2) / 3 * 4;
    char *o = km_arena_alloc(a, ol + 1);
    if (!o) return NULL;
    const unsigned char *p = (const unsigned char *)in;
    size_t j = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n) v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n) v |= p[i + 2];
        o[j++] = b64[(v >> 18) & 63];
        o[j++] = b64[(v >> 12) & 63];
        o[j++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
        o[j++] = i + 2 < n ? b64[v & 63] : '=';
    }
    o[j] = 0;
    *outlen = j;
    return o;
}

int sg_base64offset(km_arena *a, const char *in, size_t n, char *out[3], size_t outlen[3]) {
    /* The value shifted by 0, 1 and 2 bytes inside a longer base64 text: encode it behind that
     * many filler bytes, then drop the characters that depend on the unknown neighbours. */
    static const size_t start[3] = {0, 2, 3};
    static const size_t endcut[3] = {0, 3, 2};
    for (int i = 0; i < 3; i++) {
        char *tmp = km_arena_alloc(a, n + 3);
        if (!tmp) return -1;
        memset(tmp, ' ', (size_t)i);
        if (n) memcpy(tmp + i, in, n);
        size_t el;
        char *e = sg_base64(a, tmp, n + (size_t)i, &el);
        if (!e) return -1;
        size_t cut = endcut[(n + (size_t)i) % 3];
        size_t from = start[i], to = el >= cut ? el - cut : 0;
        if (to < from) to = from;
        out[i] = e + from;
        out[i][to - from] = 0;
        outlen[i] = to - from;
    }
    return 3;
}

int sg_ip_parse(const char *s, size_t len, uint8_t out[16]) {
    char tmp[64];
    if (len == 0 || len >= sizeof tmp) return 0;
    memcpy(tmp, s, len);
    tmp[len] = 0;
    if (inet_pton(AF_INET, tmp, out) == 1) return 4;
    if (inet_pton(AF_INET6, tmp, out) == 1) {
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (!memcmp(out, mapped, 12)) {
            memmove(out, out + 12, 4);
            return 4;
        }
        return 16;
    }
    return 0;
}

int sg_cidr_parse(const char *s, uint8_t lo[16], uint8_t hi[16], int *iplen) {
    const char *slash = strchr(s, '/');
    size_t alen = slash ? (size_t)(slash - s) : strlen(s);
    int l = sg_ip_parse(s, alen, lo);
    if (!l) return -1;
    long bits = l * 8;
    if (slash) {
        char *end;
        if (!slash[1]) return -1;
        bits = strtol(slash + 1, &end, 10);
        if (*end || bits < 0 || bits > l * 8) return -1;
        if (l == 4 && strchr(s, ':')) bits -= 96; /* ::ffff:a.b.c.d/len written as IPv6 */
        if (bits < 0) return -1;
    }
    for (int i = 0; i < l; i++) {
        long keep = bits - i * 8;
        uint8_t mask = keep >= 8 ? 0xFF : keep <= 0 ? 0 : (uint8_t)(0xFF << (8 - keep));
        lo[i] &= mask;
        hi[i] = lo[i] | (uint8_t)~mask;
    }
    *iplen = l;
    return 0;
}
