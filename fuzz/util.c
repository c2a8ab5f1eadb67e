/* Helpers shared by the fuzz targets: see fuzz.h. */
#include "fuzz.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static size_t failures;
static char last_failure[512];

void km_fuzz_fail(const char *target, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = snprintf(last_failure, sizeof last_failure, "%s: ", target);
    if (n < 0 || (size_t)n >= sizeof last_failure) n = 0;
    vsnprintf(last_failure + n, sizeof last_failure - (size_t)n, fmt, ap);
    va_end(ap);
    failures++;
#ifndef KM_FUZZ_REPLAY
    fprintf(stderr, "property failed: %s\n", last_failure);
    abort();
#endif
}

size_t km_fuzz_failures(void) { return failures; }
const char *km_fuzz_last_failure(void) { return last_failure; }

uint8_t km_fuzz_byte(km_fuzz_in *in) {
    if (!in->n) return 0;
    in->n--;
    return *in->p++;
}

const char *km_fuzz_chunk(km_fuzz_in *in, const char *sep, size_t *len) {
    const char *start = (const char *)in->p;
    size_t sl = strlen(sep);
    const uint8_t *hit = sl && in->n >= sl ? memmem(in->p, in->n, sep, sl) : NULL;
    if (!hit) {
        *len = in->n;
        in->p += in->n;
        in->n = 0;
        return start;
    }
    *len = (size_t)(hit - in->p);
    in->n -= *len + sl;
    in->p = hit + sl;
    return start;
}

static char tmpdir[256];
static void rm_tmpdir(void) {
    if (tmpdir[0]) rmdir(tmpdir);
}

const char *km_fuzz_tmpdir(void) {
    if (tmpdir[0]) return tmpdir;
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/kmfuzz.XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpdir)) {
        tmpdir[0] = 0;
        return NULL;
    }
    atexit(rm_tmpdir);
    return tmpdir;
}
