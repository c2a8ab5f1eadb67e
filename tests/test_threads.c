/* KUMOMORI_THREADS, read in one place (km_threads, src/util/limits.c) by the snapshot reader, the
 * audit and the recoverability analysis: before, four readers parsed it with strtol and disagreed
 * (the snapshot reader took "0" and "two" as one thread, the others as "not one", so threads).
 * Expected values here are written out, not computed by the code under test. */
#include "test.h"

#include "util/limits.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* km_threads() with KUMOMORI_THREADS set to v (NULL: unset), the variable restored after. */
static int threads_with(const char *v, int *check) {
    const char *old = getenv("KUMOMORI_THREADS");
    char *saved = old ? strdup(old) : NULL;
    if (v) setenv("KUMOMORI_THREADS", v, 1);
    else unsetenv("KUMOMORI_THREADS");
    km_error e;
    *check = km_threads_check(&e);
    int n = km_threads();
    if (saved) setenv("KUMOMORI_THREADS", saved, 1);
    else unsetenv("KUMOMORI_THREADS");
    free(saved);
    return n;
}

TEST(threads_env_values) {
    int ok;
    static const struct {
        const char *v;
        int n; /* 0: the default (processors, at most 8) */
        int check;
    } cases[] = {
        {"1", 1, 0},    {"2", 2, 0},          {"02", 2, 0},  {"8", 8, 0},   {"9", 8, 0},
        {"1000", 8, 0}, {"123456789012345678901234567890", 8, 0},         {"", 0, 0},
        {"0", 0, -1},   {"000", 0, -1},       {"-1", 0, -1}, {"two", 0, -1}, {"2x", 0, -1},
        {" 2", 0, -1},  {"2 ", 0, -1},        {"+2", 0, -1}, {"1.5", 0, -1},
    };
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int def = cpus < 1 ? 1 : cpus > 8 ? 8 : (int)cpus;
    CHECK_INT(threads_with(NULL, &ok), def);
    CHECK_INT(ok, 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int n = threads_with(cases[i].v, &ok);
        CHECK_MSG(n == (cases[i].n ? cases[i].n : def), "'%s': %d threads", cases[i].v, n);
        CHECK_MSG(ok == cases[i].check, "'%s': check %d", cases[i].v, ok);
    }
}

TEST(threads_check_names_the_value) {
    setenv("KUMOMORI_THREADS", "four", 1);
    km_error e;
    CHECK_INT(km_threads_check(&e), -1);
    CHECK_CONTAINS(e.msg, "'four'");
    unsetenv("KUMOMORI_THREADS");
    CHECK_INT(km_threads_check(&e), 0);
}
