#include "kumomori/buf.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define KM_BUF_DEFAULT_MAX ((size_t)1 << 30)

void km_buf_init(km_buf *b, size_t max) {
    b->data = NULL;
    b->len = b->cap = 0;
    b->max = max;
    b->failed = 0;
}

int km_buf_reserve(km_buf *b, size_t n) {
    if (b->failed) return -1;
    size_t max = b->max ? b->max : KM_BUF_DEFAULT_MAX;
    if (n > max || b->len > max - n) { b->failed = KM_BUF_OVER; return -1; }
    size_t need = b->len + n + 1;
    if (need <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *p = realloc(b->data, cap);
    if (!p) { b->failed = KM_BUF_NOMEM; return -1; }
    b->data = p;
    b->cap = cap;
    /* the data is NUL-terminated whenever it is not NULL (buf.h), also right after the first
     * reserve of an empty buffer: km_trail_gz_read returned an empty file's 0 bytes unterminated
     * (fuzz_gzip, fuzz/regress/gzip/empty-member-unterminated) */
    p[b->len] = 0;
    return 0;
}

int km_buf_append(km_buf *b, const void *p, size_t n) {
    if (km_buf_reserve(b, n)) return -1;
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = 0;
    return 0;
}

int km_buf_puts(km_buf *b, const char *s) { return km_buf_append(b, s, strlen(s)); }
int km_buf_putc(km_buf *b, char c) { return km_buf_append(b, &c, 1); }

int km_buf_vprintf(km_buf *b, const char *fmt, va_list ap) {
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0 || km_buf_reserve(b, (size_t)n)) return -1;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int km_buf_printf(km_buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int r = km_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return r;
}

void km_buf_reset(km_buf *b) {
    b->len = 0;
    b->failed = 0;
    if (b->data) b->data[0] = 0;
}

void km_buf_free(km_buf *b) {
    if (!b) return;
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->failed = 0;
}

char *km_buf_steal(km_buf *b, size_t *len) {
    char *p = b->data;
    if (len) *len = b->len;
    if (!p) { p = malloc(1); if (p) *p = 0; }
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when it is invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n) {
    unsigned c = s[0];
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) return n >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80) return 0;
        if (c == 0xE0 && s[1] < 0xA0) return 0;
        if (c == 0xED && s[1] > 0x9F) return 0; /* surrogates */
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
            return 0;
        if (c == 0xF0 && s[1] < 0x90) return 0;
        if (c == 0xF4 && s[1] > 0x8F) return 0;
        return 4;
    }
    return 0;
}

int km_buf_json_str(km_buf *b, const char *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    if (km_buf_putc(b, '"')) return -1;
    size_t i = 0;
    while (i < n) {
        size_t start = i;
#ifdef __SSE2__
        /* 16 bytes at a time to the next byte that is not written as it is (alert output and the
         * hits' event JSON: dperf helper, session G) */
        {
            const __m128i q = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\'), c1f = _mm_set1_epi8(0x1F);
            while (i + 16 <= n) {
                __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
                __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, q), _mm_cmpeq_epi8(v, bs)),
                                         _mm_cmpeq_epi8(_mm_max_epu8(v, c1f), c1f));
                unsigned bits = (unsigned)(_mm_movemask_epi8(m) | _mm_movemask_epi8(v)); /* v: bytes >= 0x80 */
                if (bits) {
                    i += (size_t)__builtin_ctz(bits);
                    break;
                }
                i += 16;
            }
        }
#endif
        while (i < n && p[i] >= 0x20 && p[i] != '"' && p[i] != '\\' && p[i] < 0x80) i++;
        if (i > start && km_buf_append(b, s + start, i - start)) return -1;
        if (i >= n) break;
        unsigned c = p[i];
        if (c >= 0x80) {
            size_t k = utf8_seq(p + i, n - i);
            if (k) { if (km_buf_append(b, s + i, k)) return -1; i += k; }
            else { if (km_buf_append(b, "\xEF\xBF\xBD", 3)) return -1; i++; }
            continue;
        }
        char esc[7];
        switch (c) {
        case '"': memcpy(esc, "\\\"", 3); break;
        case '\\': memcpy(esc, "\\\\", 3); break;
        case '\n': memcpy(esc, "\\n", 3); break;
        case '\r': memcpy(esc, "\\r", 3); break;
        case '\t': memcpy(esc, "\\t", 3); break;
        case '\b': memcpy(esc, "\\b", 3); break;
        case '\f': memcpy(esc, "\\f", 3); break;
        default:
            esc[0] = '\\'; esc[1] = 'u'; esc[2] = '0'; esc[3] = '0';
            esc[4] = hex[c >> 4]; esc[5] = hex[c & 15]; esc[6] = 0;
        }
        if (km_buf_puts(b, esc)) return -1;
        i++;
    }
    return km_buf_putc(b, '"');
}
