#include "test.h"
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>

typedef struct { const char *name; km_test_fn fn; } entry;
static entry tests[4096];
static size_t ntests;
static int cur_failed, cur_skipped;
static long passed, failed, skipped;
static const char *cur_name;
static int verbose;

void km_test_register(const char *name, km_test_fn fn) {
    if (ntests < sizeof tests / sizeof tests[0]) tests[ntests++] = (entry){name, fn};
}

void km_test_fail(const char *file, int line, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stdout, "FAIL %s (%s:%d): ", cur_name, file, line);
    vfprintf(stdout, fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
    cur_failed = 1;
}

void km_test_skip(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stdout, "skipped %s: ", cur_name);
    vfprintf(stdout, fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
    cur_skipped = 1;
}

void km_test_case(int ok, const char *fmt, ...) {
    if (ok) { passed++; return; }
    failed++;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stdout, "FAIL %s: ", cur_name);
    vfprintf(stdout, fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
}

void km_test_case_skip(const char *fmt, ...) {
    skipped++;
    if (!verbose) return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stdout, "skipped %s: ", cur_name);
    vfprintf(stdout, fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
}

static char top[4096];
static char corpora[8192];

const char *km_test_top(void) { return top; }

const char *km_test_corpora(void) {
    struct stat st;
    const char *env = getenv("KUMOMORI_CORPORA");
    if (env && *env) snprintf(corpora, sizeof corpora, "%s", env);
    else snprintf(corpora, sizeof corpora, "%s/../shared/corpora", top);
    if (stat(corpora, &st) != 0 || !S_ISDIR(st.st_mode)) return NULL;
    return corpora;
}

char *km_test_read(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 65536, n = 0;
    char *p = malloc(cap);
    size_t k;
    while (p && (k = fread(p + n, 1, cap - n - 1, f)) > 0) {
        n += k;
        if (cap - n - 1 == 0) {
            char *q = realloc(p, cap * 2);
            if (!q) { free(p); p = NULL; break; }
            p = q;
            cap *= 2;
        }
    }
    fclose(f);
    if (!p) return NULL;
    p[n] = 0;
    if (len) *len = n;
    return p;
}

int main(int argc, char **argv) {
    const char *filter = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-v") == 0) verbose = 1;
        else filter = argv[i];
    }
    const char *t = getenv("KUMOMORI_TOP");
    if (t && *t) snprintf(top, sizeof top, "%s", t);
    else if (!getcwd(top, sizeof top)) snprintf(top, sizeof top, ".");
    for (size_t i = 0; i < ntests; i++) {
        if (filter && !strstr(tests[i].name, filter)) continue;
        cur_name = tests[i].name;
        cur_failed = cur_skipped = 0;
        long before_p = passed, before_f = failed, before_s = skipped;
        tests[i].fn();
        int had_cases = passed != before_p || failed != before_f || skipped != before_s;
        if (cur_failed) failed++;
        else if (cur_skipped) skipped++;
        else if (!had_cases) passed++;
        if (verbose) printf("%s %s\n", cur_failed ? "FAIL" : cur_skipped ? "skip" : "ok  ", cur_name);
    }
    printf("%ld passed, %ld failed, %ld skipped\n", passed, failed, skipped);
    return failed ? 1 : 0;
}
