/* Allocation-failure injection for build/asan/kumomori-allocfail (see tests/allocfail/run.sh).
 * The binary is linked with -Wl,--wrap=malloc,... so every allocation made by kumomori's own
 * objects comes here first; libraries (zlib, OpenSSL, libyaml, PCRE2, libc) keep theirs.
 * KM_ALLOCFAIL_N=N makes the Nth call (counted over all five functions, from 1) return NULL;
 * unset or 0 fails none. At exit one line "km-allocfail: calls=C failed=F" goes to standard error
 * so the driver knows how many allocations a run made and whether the failure was reached.
 * KM_ALLOCFAIL_TRACE=1 also prints the call stack of the failed allocation (for debugging).
 * build/tests/unit is linked the same way, so that a unit test can fail an allocation of its own
 * choosing (km_allocfail_arm, tests/test.h); there the line at exit is printed only when
 * KM_ALLOCFAIL_N is set, as the driver always does.
 * Written by hand: no library offers link-time fault injection. */
#include <errno.h>
#include <execinfo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

static long fail_at = -1; /* -1: not read yet */
static long calls, failed;

static int inject(void) {
    long at = __atomic_load_n(&fail_at, __ATOMIC_RELAXED);
    if (at < 0) {
        const char *s = getenv("KM_ALLOCFAIL_N");
        char *end = NULL;
        at = s ? strtol(s, &end, 10) : 0;
        if (!s || end == s || at < 0) at = 0;
        __atomic_store_n(&fail_at, at, __ATOMIC_RELAXED);
    }
    long c = __atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED);
    if (at && c == at) {
        __atomic_add_fetch(&failed, 1, __ATOMIC_RELAXED);
        errno = ENOMEM; /* as glibc's malloc does */
        if (getenv("KM_ALLOCFAIL_TRACE")) {
            void *frames[16];
            int n = backtrace(frames, 16);
            backtrace_symbols_fd(frames, n, 2);
        }
        return 1;
    }
    return 0;
}

void *__wrap_malloc(size_t n) { return inject() ? NULL : __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t size) { return inject() ? NULL : __real_calloc(n, size); }
void *__wrap_realloc(void *p, size_t n) { return inject() ? NULL : __real_realloc(p, n); }
char *__wrap_strdup(const char *s) { return inject() ? NULL : __real_strdup(s); }
char *__wrap_strndup(const char *s, size_t n) { return inject() ? NULL : __real_strndup(s, n); }

long km_allocfail_calls(void);
void km_allocfail_arm(long nth);
long km_allocfail_calls(void) { return __atomic_load_n(&calls, __ATOMIC_RELAXED); }
void km_allocfail_arm(long nth) {
    long at = nth > 0 ? __atomic_load_n(&calls, __ATOMIC_RELAXED) + nth : 0;
    __atomic_store_n(&fail_at, at, __ATOMIC_RELAXED);
}

__attribute__((destructor)) static void report(void) {
    if (!getenv("KM_ALLOCFAIL_N")) return;
    fprintf(stderr, "km-allocfail: calls=%ld failed=%ld\n", __atomic_load_n(&calls, __ATOMIC_RELAXED),
            __atomic_load_n(&failed, __ATOMIC_RELAXED));
}
