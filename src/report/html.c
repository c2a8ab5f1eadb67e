/* HTML escaping for the report. Written by hand because no Debian C library we already link
 * escapes HTML, and the rule here is stricter than plain entity escaping: the input is hostile,
 * so besides & < > " ' it also neutralises what could make the page lie (bidirectional overrides
 * that reorder a resource name on screen, control characters, invalid UTF-8). */
#include "report/report.h"

#include <stdint.h>
#include <stdio.h>

/* Length of the valid UTF-8 sequence at s[0..n) and its code point, or 0 when invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *cp) {
    unsigned char c = s[0];
    size_t len;
    uint32_t v, min;
    if (c < 0x80) { *cp = c; return 1; }
    if (c >= 0xC2 && c <= 0xDF) { len = 2; v = c & 0x1F; min = 0x80; }
    else if (c >= 0xE0 && c <= 0xEF) { len = 3; v = c & 0x0F; min = 0x800; }
    else if (c >= 0xF0 && c <= 0xF4) { len = 4; v = c & 0x07; min = 0x10000; }
    else return 0;
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    *cp = v;
    return len;
}

/* Characters shown as [U+XXXX] rather than rendered: C1 controls, the bidirectional embedding,
 * override and isolate controls, and the line and paragraph separators. */
static int shown_as_code(uint32_t cp) {
    return (cp >= 0x80 && cp <= 0x9F) || (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) ||
           cp == 0x2028 || cp == 0x2029 || cp == 0x200E || cp == 0x200F || cp == 0x061C || cp == 0xFEFF;
}

int km_html_escape(km_buf *b, const char *str, size_t n) {
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, run = 0;
    int rc = 0;
    while (i < n) {
        unsigned char c = s[i];
        const char *rep = NULL;
        char tmp[16];
        size_t adv = 1;
        if (c == '&') rep = "&amp;";
        else if (c == '<') rep = "&lt;";
        else if (c == '>') rep = "&gt;";
        else if (c == '"') rep = "&quot;";
        else if (c == '\'') rep = "&#39;";
        else if (c == '\t' || c == '\n') rep = NULL;
        else if (c < 0x20 || c == 0x7F) {
            /* the Control Pictures block: a visible symbol for each control character */
            uint32_t cp = c == 0x7F ? 0x2421 : 0x2400 + c;
            snprintf(tmp, sizeof tmp, "%c%c%c", (char)(0xE0 | (cp >> 12)), (char)(0x80 | ((cp >> 6) & 0x3F)),
                     (char)(0x80 | (cp & 0x3F)));
            rep = tmp;
        } else if (c >= 0x80) {
            uint32_t cp;
            size_t l = utf8_seq(s + i, n - i, &cp);
            if (l == 0) rep = "\xEF\xBF\xBD"; /* U+FFFD for each invalid byte */
            else if (shown_as_code(cp)) {
                snprintf(tmp, sizeof tmp, "[U+%04X]", (unsigned)cp);
                rep = tmp;
                adv = l;
            } else {
                run += l;
                i += l;
                continue;
            }
        }
        if (!rep) {
            run++;
            i++;
            continue;
        }
        if (run) rc |= km_buf_append(b, str + i - run, run);
        run = 0;
        rc |= km_buf_puts(b, rep);
        i += adv;
    }
    if (run) rc |= km_buf_append(b, str + n - run, run);
    return rc ? -1 : 0;
}
