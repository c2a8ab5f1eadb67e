#include "util/term.h"
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
