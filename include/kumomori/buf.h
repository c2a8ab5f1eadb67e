/* Growable byte buffer with a hard cap, so untrusted input can never make it grow without
 * bound. The buffer owns `data`; km_buf_free releases it and leaves an empty buffer. */
#ifndef KUMOMORI_BUF_H
#define KUMOMORI_BUF_H

#include <stddef.h>
#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct km_buf {
    char *data;   /* always NUL-terminated when non-NULL (the NUL is not counted in len) */
    size_t len;
    size_t cap;
    size_t max;   /* hard cap on len; 0 means the default (1 GiB) */
    int failed;   /* set once an append failed: KM_BUF_OVER (the cap) or KM_BUF_NOMEM (out of
                     memory, which callers must not take for "the input is too long"); later
                     appends are no-ops */
} km_buf;

#define KM_BUF_OVER 1
#define KM_BUF_NOMEM 2

#define KM_BUF_INIT {NULL, 0, 0, 0, 0}

void km_buf_init(km_buf *b, size_t max);
/* Each append returns 0, or -1 (and sets b->failed) when the cap or memory would be exceeded. */
int km_buf_append(km_buf *b, const void *p, size_t n);
int km_buf_puts(km_buf *b, const char *s);
int km_buf_putc(km_buf *b, char c);
int km_buf_printf(km_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int km_buf_vprintf(km_buf *b, const char *fmt, va_list ap);
/* Ensure room for n more bytes without changing len. */
int km_buf_reserve(km_buf *b, size_t n);
void km_buf_reset(km_buf *b); /* len = 0, keeps memory */
void km_buf_free(km_buf *b);  /* takes NULL */
/* Give up ownership of the data to the caller (free() it); the buffer becomes empty. */
char *km_buf_steal(km_buf *b, size_t *len);

/* Append s as a JSON string literal (with quotes), escaping as RFC 8259 requires.
 * Invalid UTF-8 bytes are written as U+FFFD so the output is always valid JSON. */
int km_buf_json_str(km_buf *b, const char *s, size_t n);

#ifdef __cplusplus
}
#endif
#endif
