/* Minimal test framework: TEST(name) { ... } registers a test; CHECK* record failures with
 * file:line. Data-driven tests report each case with km_test_case(). The runner prints
 * failures and ends with "N passed, N failed, N skipped". */
#ifndef KM_TEST_H
#define KM_TEST_H
#include <stdio.h>
#include <string.h>

typedef void (*km_test_fn)(void);
void km_test_register(const char *name, km_test_fn fn);
void km_test_fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void km_test_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* One case of a data-driven test, counted on its own. */
void km_test_case(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void km_test_case_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Path of the shared corpora (KUMOMORI_CORPORA or ../shared/corpora from the repo), or NULL. */
const char *km_test_corpora(void);
/* Path of the repository's top directory (where tests/ is). */
const char *km_test_top(void);
/* Read a whole file, malloc'd and NUL-terminated, or NULL. */
char *km_test_read(const char *path, size_t *len);
/* Allocation failure (tests/allocfail/wrap.c, linked into the unit tests): km_allocfail_arm(n)
 * makes the nth allocation by kumomori's own code from now on return NULL (0: none);
 * km_allocfail_calls() counts the allocations made so far. Libraries keep their allocator. */
void km_allocfail_arm(long nth);
long km_allocfail_calls(void);

#define TEST(name)                                                                   \
    static void name(void);                                                          \
    __attribute__((constructor)) static void km_reg_##name(void) {                   \
        km_test_register(#name, name);                                               \
    }                                                                                \
    static void name(void)

#define CHECK(c)                                                                     \
    do {                                                                             \
        if (!(c)) { km_test_fail(__FILE__, __LINE__, "CHECK(%s)", #c); return; }    \
    } while (0)
#define CHECK_MSG(c, ...)                                                            \
    do {                                                                             \
        if (!(c)) { km_test_fail(__FILE__, __LINE__, __VA_ARGS__); return; }         \
    } while (0)
#define CHECK_INT(a, b)                                                              \
    do {                                                                             \
        long long km_a_ = (long long)(a), km_b_ = (long long)(b);                    \
        if (km_a_ != km_b_) {                                                        \
            km_test_fail(__FILE__, __LINE__, "%s == %lld, expected %s == %lld", #a, km_a_, #b, km_b_); \
            return;                                                                  \
        }                                                                            \
    } while (0)
#define CHECK_STR(a, b)                                                              \
    do {                                                                             \
        const char *km_a_ = (a), *km_b_ = (b);                                       \
        if (!km_a_ || !km_b_ || strcmp(km_a_, km_b_) != 0) {                         \
            km_test_fail(__FILE__, __LINE__, "%s == \"%s\", expected \"%s\"", #a,    \
                         km_a_ ? km_a_ : "(null)", km_b_ ? km_b_ : "(null)");        \
            return;                                                                  \
        }                                                                            \
    } while (0)
#define CHECK_CONTAINS(hay, needle)                                                  \
    do {                                                                             \
        const char *km_h_ = (hay), *km_n_ = (needle);                                \
        if (!km_h_ || !strstr(km_h_, km_n_)) {                                       \
            km_test_fail(__FILE__, __LINE__, "%s = \"%s\" does not contain \"%s\"", #hay, \
                         km_h_ ? km_h_ : "(null)", km_n_);                           \
            return;                                                                  \
        }                                                                            \
    } while (0)
#endif
