#include "kumomori/json.h"
#include "util/limits.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

char *km_read_file(const char *path, size_t max, size_t *len, km_error *err) {
    if (km_limit_is_set(KM_LIMIT_FILE)) max = km_limit(KM_LIMIT_FILE, max); /* harden helper: --limit file=N */
    int is_stdin = strcmp(path, "-") == 0;
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (!f) {
        km_error_set(err, KM_ERR, (size_t)-1, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    if (!is_stdin) {
        struct stat st;
        if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
            fclose(f);
            km_error_set(err, KM_ERR, (size_t)-1, "%s: is a directory", path);
            return NULL;
        }
    }
    km_buf b;
    km_buf_init(&b, max);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (km_buf_append(&b, chunk, n)) {
            int toobig = b.len + n > max;
            km_buf_free(&b);
            if (!is_stdin) fclose(f);
            if (toobig)
                km_error_set(err, KM_ELIMIT, (size_t)-1, "%s: larger than the limit of %zu bytes (--limit file)", path, max);
            else
                km_error_set(err, KM_ENOMEM, (size_t)-1, "%s: out of memory", path);
            return NULL;
        }
    }
    int rerr = ferror(f);
    if (!is_stdin) fclose(f);
    if (rerr) {
        km_buf_free(&b);
        km_error_set(err, KM_ERR, (size_t)-1, "%s: read error", path);
        return NULL;
    }
    return km_buf_steal(&b, len);
}
