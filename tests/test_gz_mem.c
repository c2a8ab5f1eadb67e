/* The from-memory gzip readers (km_trail_gz_read_mem, km_trail_gz_sha256_mem: what the fuzz
 * targets call) must behave exactly like the file readers, and detection's streaming source must
 * give the same bytes whatever the size of the caller's reads, up to the end of a truncated
 * stream (a finding of fuzz/fuzz_gzip.c). */
#include "test.h"
#include "detect/input.h"
#include "kumomori/buf.h"
#include "kumomori/trail.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

/* Gzip of text (one member) into a malloc'd buffer. */
static unsigned char *gz(const char *text, size_t n, size_t *out_len) {
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK) return NULL;
    size_t cap = deflateBound(&zs, n) + 64;
    unsigned char *out = malloc(cap);
    zs.next_in = (unsigned char *)(uintptr_t)text;
    zs.avail_in = (uInt)n;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    int r = deflate(&zs, Z_FINISH);
    *out_len = cap - zs.avail_out;
    deflateEnd(&zs);
    if (r != Z_STREAM_END) { free(out); return NULL; }
    return out;
}

static char *tmpfile_with(const unsigned char *d, size_t n) {
    static char path[64];
    snprintf(path, sizeof path, "/tmp/km-test-gzmem-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0) return NULL;
    if (write(fd, d, n) != (ssize_t)n) { close(fd); return NULL; }
    close(fd);
    return path;
}

/* Text that does not compress to nothing: numbered lines. */
static char *sample(size_t *n) {
    km_buf b = KM_BUF_INIT;
    for (int i = 0; i < 20000; i++) km_buf_printf(&b, "{\"eventName\":\"E%d\",\"n\":%d}\n", i * 7919 % 10007, i);
    return km_buf_steal(&b, n);
}

TEST(gz_mem_same_as_file) {
    size_t tn, zn;
    char *text = sample(&tn);
    unsigned char *z = gz(text, tn, &zn);
    CHECK(z != NULL);
    char *path = tmpfile_with(z, zn);
    CHECK(path != NULL);
    size_t l1 = 0, l2 = 0;
    km_error e1, e2;
    char *a = km_trail_gz_read(path, 1u << 24, &l1, &e1);
    char *b = km_trail_gz_read_mem(z, zn, "mem.gz", 1u << 24, &l2, &e2);
    CHECK(a && b);
    CHECK(l1 == tn && l2 == tn);
    CHECK(memcmp(b, text, tn) == 0);
    char h1[65], h2[65];
    uint64_t u1 = 0, u2 = 0;
    CHECK_INT(km_trail_gz_sha256(path, h1, &u1, NULL), 0);
    CHECK_INT(km_trail_gz_sha256_mem(z, zn, "mem.gz", h2, &u2, NULL), 0);
    CHECK_STR(h2, h1);
    CHECK(u1 == tn && u2 == tn);
    unlink(path);
    free(a);
    free(b);
    free(z);
    free(text);
}

TEST(gz_mem_errors_match_file) {
    size_t tn, zn;
    char *text = sample(&tn);
    unsigned char *z = gz(text, tn, &zn);
    CHECK(z != NULL);
    /* truncated, then with bytes after the member */
    for (int k = 0; k < 2; k++) {
        size_t n = k == 0 ? zn / 2 : zn + 3;
        unsigned char *d = malloc(n);
        memcpy(d, z, k == 0 ? n : zn);
        if (k == 1) memcpy(d + zn, "abc", 3);
        char *path = tmpfile_with(d, n);
        CHECK(path != NULL);
        km_error e1, e2;
        char h[65];
        CHECK(km_trail_gz_sha256(path, h, NULL, &e1) != 0);
        CHECK(km_trail_gz_sha256_mem(d, n, path, h, NULL, &e2) != 0);
        /* same message and offset when the memory is named like the file */
        CHECK_STR(e2.msg, e1.msg);
        CHECK_INT(e2.offset, e1.offset);
        CHECK_CONTAINS(e1.msg, k == 0 ? "truncated" : "after end");
        unlink(path);
        free(d);
    }
    size_t len;
    km_error e;
    CHECK(km_trail_gz_read_mem("", 0, "empty.gz", 100, &len, &e) == NULL);
    CHECK_CONTAINS(e.msg, "empty.gz: empty");
    free(z);
    free(text);
}

/* A member that inflates to nothing gives an empty, NUL-terminated text (found by fuzz_gzip:
 * the buffer was allocated but never terminated; ASan's malloc fill made the byte 0xbe). */
TEST(gz_empty_member_is_an_empty_string) {
    size_t zn;
    unsigned char *z = gz("", 0, &zn);
    CHECK(z != NULL);
    size_t len = 99;
    km_error e;
    char *t = km_trail_gz_read_mem(z, zn, "empty-member.gz", 100, &len, &e);
    CHECK(t != NULL);
    CHECK(len == 0);
    CHECK(t[0] == 0);
    free(t);
    char *path = tmpfile_with(z, zn);
    CHECK(path != NULL);
    len = 99;
    t = km_trail_gz_read(path, 100, &len, &e);
    CHECK(t != NULL && len == 0 && t[0] == 0);
    free(t);
    unlink(path);
    free(z);
    /* the buffer itself: reserving room in an empty buffer leaves it an empty string */
    km_buf b = KM_BUF_INIT;
    CHECK(km_buf_reserve(&b, 10) == 0);
    CHECK(b.data != NULL && b.data[0] == 0);
    km_buf_free(&b);
}

/* Everything detection's source gives, reading piece bytes at a time. */
static size_t read_all(const unsigned char *d, size_t n, size_t piece, char *out, size_t cap, int *failed) {
    km_input *in = km_input_mem(d, n);
    char *buf = malloc(piece);
    size_t got = 0;
    *failed = 0;
    for (;;) {
        km_error err;
        long r = km_input_read(in, buf, piece, &err);
        if (r < 0) { *failed = 1; break; }
        if (r == 0) break;
        if (got + (size_t)r > cap) break;
        memcpy(out + got, buf, (size_t)r);
        got += (size_t)r;
    }
    free(buf);
    km_input_close(in);
    return got;
}

TEST(gz_input_truncated_stream_same_bytes_for_any_read_size) {
    size_t tn, zn;
    char *text = sample(&tn);
    unsigned char *z = gz(text, tn, &zn);
    CHECK(z != NULL);
    size_t cut = zn * 2 / 3;
    char *o1 = malloc(tn), *o2 = malloc(tn);
    int f1, f2;
    size_t n1 = read_all(z, cut, 1, o1, tn, &f1);
    size_t n2 = read_all(z, cut, 1 << 16, o2, tn, &f2);
    CHECK(f1 && f2); /* truncated either way */
    /* the bytes zlib can decode from the prefix, whatever the read size (1-byte reads used to
     * lose what zlib still held when the compressed data ran out) */
    CHECK_INT(n1, n2);
    CHECK(n1 > 0 && memcmp(o1, text, n1) == 0 && memcmp(o2, text, n2) == 0);
    free(o1);
    free(o2);
    free(z);
    free(text);
}
