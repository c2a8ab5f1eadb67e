/* One error type for the whole library: a fixed-size message that says what went
 * wrong, where (file, byte offset, line:column) and, where it helps, what to do.
 * Functions that can fail take a `km_error *` (may be NULL) and return a status. */
#ifndef KUMOMORI_ERROR_H
#define KUMOMORI_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    KM_OK = 0,
    KM_ERR = -1,    /* generic failure, message in km_error */
    KM_ENOMEM = -2, /* allocation failed */
    KM_ELIMIT = -3  /* a configured limit was hit (depth, size, count) */
};

typedef struct km_error {
    int code;          /* one of the KM_* values above */
    size_t offset;     /* byte offset in the input where the problem was found, or (size_t)-1 */
    char msg[512];
} km_error;

/* Reset to "no error". Takes NULL. */
void km_error_clear(km_error *err);

/* Format a message into err (takes NULL, then does nothing). Returns code, so a caller can
 * write `return km_error_set(err, KM_ERR, off, "...")`. offset may be (size_t)-1 for "none". */
int km_error_set(km_error *err, int code, size_t offset, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Put "prefix: " in front of the current message (e.g. a file name). Takes NULL. */
void km_error_prefix(km_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#ifdef __cplusplus
}
#endif
#endif
