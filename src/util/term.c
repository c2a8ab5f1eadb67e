#include "util/term.h"
#include "kumomori/buf.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int forced = -1;

void km_term_set_color(int mode) { forced = mode; }

int km_term_color(FILE *f) {
    if (forced >= 0) return forced;
    const char *nc = getenv("NO_COLOR");
    if (nc && *nc) return 0;
    const char *term = getenv("TERM");
    if (term && strcmp(term, "dumb") == 0) return 0;
    return isatty(fileno(f));
}

const char *km_term_esc(FILE *f, const char *name) {
    static const struct { const char *name, *esc; } tab[] = {
        {"reset", "\033[0m"}, {"bold", "\033[1m"}, {"dim", "\033[2m"},
        {"red", "\033[31m"}, {"green", "\033[32m"}, {"yellow", "\033[33m"},
        {"blue", "\033[34m"}, {"magenta", "\033[35m"}, {"cyan", "\033[36m"},
        {"boldred", "\033[1;31m"},
    };
    if (!km_term_color(f)) return "";
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (strcmp(tab[i].name, name) == 0) return tab[i].esc;
    return "";
}

/* Length of the UTF-8 sequence at s[0..n) that a terminal shows as text; 0 for a byte that must
 * be replaced (control, not UTF-8); minus the length of a well-formed C1 control (replaced whole). */
static int printable_len(const unsigned char *s, size_t n) {
    unsigned char c = s[0];
    if (c < 0x20 || c == 0x7f) return 0;
    if (c < 0x80) return 1;
    size_t need;
    unsigned min;
    if (c >= 0xc2 && c <= 0xdf) need = 2, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef) need = 3, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4) need = 4, min = 0x10000;
    else return 0;
    if (n < need) return 0;
    unsigned cp = c & (0xff >> (need + 1));
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    if (cp >= 0x80 && cp <= 0x9f) return -(int)need; /* C1: U+009B is CSI on some terminals */
    return (int)need;
}

void km_term_clean_buf(km_buf *b, const char *s, size_t len) {
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        int k = printable_len(p + i, len - i);
        if (k > 0) km_buf_append(b, s + i, (size_t)k);
        else km_buf_putc(b, '?');
        i += k > 0 ? (size_t)k : k < 0 ? (size_t)-k : 1;
    }
}

const char *km_term_clean(const char *s, char **tofree) {
    *tofree = NULL;
    if (!s) return "";
    size_t len = strlen(s), i = 0;
    while (i < len) {
        int k = printable_len((const unsigned char *)s + i, len - i);
        if (k <= 0) break;
        i += (size_t)k;
    }
    if (i == len) return s;
    km_buf b;
    km_buf_init(&b, 0);
    km_term_clean_buf(&b, s, len);
    if (b.failed) {
        km_buf_free(&b);
        return "(unprintable)";
    }
    *tofree = km_buf_steal(&b, NULL);
    return *tofree ? *tofree : "(unprintable)";
}
