#include "kumomori/error.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void km_error_clear(km_error *err) {
    if (!err) return;
    err->code = KM_OK;
    err->offset = (size_t)-1;
    err->msg[0] = 0;
}

int km_error_set(km_error *err, int code, size_t offset, const char *fmt, ...) {
    if (!err) return code;
    err->code = code;
    err->offset = offset;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return code;
}

void km_error_prefix(km_error *err, const char *fmt, ...) {
    if (!err) return;
    char pre[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    size_t pl = strlen(pre), ml = strlen(err->msg);
    if (pl + 2 >= sizeof err->msg) pl = sizeof err->msg - 3;
    if (pl + 2 + ml >= sizeof err->msg) ml = sizeof err->msg - pl - 3;
    memmove(err->msg + pl + 2, err->msg, ml);
    memcpy(err->msg, pre, pl);
    err->msg[pl] = ':';
    err->msg[pl + 1] = ' ';
    err->msg[pl + 2 + ml] = 0;
}
