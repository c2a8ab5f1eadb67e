/* km_buf_json_str (16 bytes at a time since session G) against a byte-by-byte reference written
 * here from RFC 8259 and the function's contract (quote, backslash and control characters escaped,
 * valid UTF-8 kept, an invalid byte becomes U+FFFD), on random strings that mix every class of
 * byte at every position and length. */
#include "test.h"
#include "kumomori/buf.h"

#include <stdlib.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s (RFC 3629), 0 when invalid. */
static size_t ref_utf8(const unsigned char *s, size_t n) {
    unsigned c = s[0];
    size_t k;
    unsigned min;
    if (c >= 0xC2 && c <= 0xDF) k = 2, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF) k = 3, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4) k = 4, min = 0x10000;
    else return 0;
    if (n < k) return 0;
    unsigned cp = c & (0x7F >> k);
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return k;
}

static void ref_json_str(km_buf *b, const unsigned char *s, size_t n) {
    km_buf_putc(b, '"');
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        if (c >= 0x80) {
            size_t k = ref_utf8(s + i, n - i);
            if (k) km_buf_append(b, (const char *)s + i, k), i += k;
            else km_buf_append(b, "\xEF\xBF\xBD", 3), i++;
            continue;
        }
        if (c == '"') km_buf_puts(b, "\\\"");
        else if (c == '\\') km_buf_puts(b, "\\\\");
        else if (c == '\n') km_buf_puts(b, "\\n");
        else if (c == '\r') km_buf_puts(b, "\\r");
        else if (c == '\t') km_buf_puts(b, "\\t");
        else if (c == '\b') km_buf_puts(b, "\\b");
        else if (c == '\f') km_buf_puts(b, "\\f");
        else if (c < 0x20) km_buf_printf(b, "\\u%04x", c);
        else km_buf_putc(b, (char)c);
        i++;
    }
    km_buf_putc(b, '"');
}

TEST(buf_json_str_equals_a_byte_by_byte_reference) {
    static const unsigned char pool[] = {'a', 'Z', ' ', '~', '"', '\\', '\n', 0x01, 0x1F, 0x7F, 0x80, 0xC3, 0xA9,
                                         0xE2, 0x82, 0xAC, 0xF0, 0x9F, 0x98, 0x80, 0xFF, 0xED, 0xA0, 0x00};
    unsigned seed = 12345;
    unsigned char s[80];
    long differ = 0;
    for (int t = 0; t < 20000; t++) {
        seed = seed * 1103515245u + 12345u;
        size_t n = (seed >> 16) % sizeof s;
        int plain = (seed >> 8) & 1; /* half the strings mostly plain, with a rare special byte */
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            unsigned r = seed >> 16;
            s[i] = plain && r % 23 ? (unsigned char)('a' + r % 26) : pool[r % sizeof pool];
        }
        km_buf a = KM_BUF_INIT, b = KM_BUF_INIT;
        km_buf_json_str(&a, (const char *)s, n);
        ref_json_str(&b, s, n);
        if (a.len != b.len || memcmp(a.data, b.data, a.len)) differ++;
        km_buf_free(&a);
        km_buf_free(&b);
    }
    km_test_case(differ == 0, "%ld of 20000 strings escaped differently", differ);
}
