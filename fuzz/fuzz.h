/* Shared by the libFuzzer targets in fuzz/ (docs/security.md, "Fuzzing").
 *
 * Each fuzz_<name>.c defines its entry point with KM_FUZZ_TARGET(name). Built for libFuzzer it is
 * LLVMFuzzerTestOneInput; built into the unit tests (KM_FUZZ_REPLAY) it is km_fuzz_<name>, which
 * tests/test_fuzz_regress.c calls on every file of fuzz/regress/<name>/ so that every finding
 * stays a regression test run by `make test`. */
#ifndef KM_FUZZ_H
#define KM_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#ifdef KM_FUZZ_REPLAY
#define KM_FUZZ_TARGET(name) int km_fuzz_##name(const uint8_t *data, size_t size)
#else
#define KM_FUZZ_TARGET(name) int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
#endif

/* A property of the code under test did not hold (not a crash, a wrong answer). Under libFuzzer
 * it prints the message and aborts, which libFuzzer records as a finding; in the replay tests
 * it is counted (km_fuzz_failures) and the message kept (km_fuzz_last_failure). */
void km_fuzz_fail(const char *target, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
size_t km_fuzz_failures(void);
const char *km_fuzz_last_failure(void);

#define KM_FUZZ_CHECK(target, cond, ...)                                                  \
    do {                                                                                  \
        if (!(cond)) km_fuzz_fail(target, __VA_ARGS__);                                   \
    } while (0)

/* Reads the input front to back: a byte, or a chunk up to a separator. Past the end every
 * byte is 0 and every chunk empty, so targets need no length checks of their own. */
typedef struct km_fuzz_in {
    const uint8_t *p;
    size_t n;
} km_fuzz_in;

uint8_t km_fuzz_byte(km_fuzz_in *in);
/* The bytes up to the next occurrence of sep (not included; the separator is consumed), or
 * all that is left when sep does not occur. */
const char *km_fuzz_chunk(km_fuzz_in *in, const char *sep, size_t *len);

/* A folder for files a target must write (key files), made once per process, or NULL. */
const char *km_fuzz_tmpdir(void);

#endif
