/* Gzip'd CloudTrail files: streaming inflate with SHA-256 (log hashes) and whole-file inflate
 * (digests). Exactly one gzip member per file, as aws-cli since PR #10324; every error names the
 * file and the offset in the compressed bytes where it was found. */
#include "kumomori/trail.h"
#include "trail/util.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define IN_CHUNK (256u * 1024)
#define OUT_CHUNK (256u * 1024)

typedef int (*sink_fn)(void *ctx, const unsigned char *p, size_t n);

/* Where the compressed bytes come from: a file descriptor, or memory (km_trail_gz_*_mem, which
 * the fuzz targets use so that no file is written per input). */
typedef struct gz_src {
    int fd;                   /* -1 for memory */
    const unsigned char *mem;
    size_t mem_len, mem_pos;
    size_t in_chunk, out_chunk; /* smaller for memory: inputs are small, and the fuzz targets then
                                   cross chunk boundaries too */
} gz_src;

static ssize_t src_read(gz_src *src, unsigned char *buf, size_t n) {
    if (src->fd >= 0) return read(src->fd, buf, n);
    size_t left = src->mem_len - src->mem_pos;
    if (n > left) n = left;
    if (n) memcpy(buf, src->mem + src->mem_pos, n);
    src->mem_pos += n;
    return (ssize_t)n;
}

static int inflate_src(gz_src *src, const char *path, sink_fn sink, void *ctx, uint64_t *ulen, km_error *err);

/* Inflate the file at path, handing every uncompressed block to sink. */
static int inflate_file(const char *path, sink_fn sink, void *ctx, uint64_t *ulen, km_error *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return km_error_set(err, KM_ERR, (size_t)-1, "%s: cannot open: %s", path, strerror(errno));
#ifdef POSIX_FADV_SEQUENTIAL
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
    gz_src src = {fd, NULL, 0, 0, IN_CHUNK, OUT_CHUNK};
    int rc = inflate_src(&src, path, sink, ctx, ulen, err);
    close(fd);
    return rc;
}

static int inflate_mem(const void *data, size_t len, const char *name, sink_fn sink, void *ctx, uint64_t *ulen,
                       km_error *err) {
    gz_src src = {-1, data, len, 0, 4096, 4096};
    return inflate_src(&src, name, sink, ctx, ulen, err);
}

static int inflate_src(gz_src *src, const char *path, sink_fn sink, void *ctx, uint64_t *ulen, km_error *err) {
    unsigned char *in = malloc(src->in_chunk), *out = malloc(src->out_chunk);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    int rc = KM_OK, zinit = 0;
    if (!in || !out) {
        rc = km_error_set(err, KM_ENOMEM, (size_t)-1, "%s: out of memory", path);
        goto done;
    }
    if (inflateInit2(&zs, 15 + 16) != Z_OK) { /* 16: gzip wrapper only, CRC-32 checked */
        rc = km_error_set(err, KM_ENOMEM, (size_t)-1, "%s: cannot start inflate", path);
        goto done;
    }
    zinit = 1;
    uint64_t consumed = 0; /* compressed bytes handed to zlib before the current chunk */
    int ended = 0;
    for (;;) {
        ssize_t got = src_read(src, in, src->in_chunk);
        if (got < 0) {
            if (errno == EINTR) continue;
            rc = km_error_set(err, KM_ERR, (size_t)consumed, "%s: read error at byte %llu: %s", path,
                              (unsigned long long)consumed, strerror(errno));
            goto done;
        }
        if (got == 0) break;
        if (ended) { /* data after the end of the gzip member */
            rc = km_error_set(err, KM_ERR, (size_t)consumed,
                              "%s: unexpected data after end of compressed stream at byte %llu",
                              path, (unsigned long long)consumed);
            goto done;
        }
        zs.next_in = in;
        zs.avail_in = (uInt)got;
        while (zs.avail_in > 0) {
            zs.next_out = out;
            zs.avail_out = (uInt)src->out_chunk;
            int z = inflate(&zs, Z_NO_FLUSH);
            size_t have = src->out_chunk - zs.avail_out;
            if (have && sink(ctx, out, have)) {
                rc = km_error_set(err, KM_ELIMIT, (size_t)-1, "%s: uncompressed data too large", path);
                goto done;
            }
            if (z == Z_STREAM_END) {
                ended = 1;
                if (zs.avail_in > 0) {
                    size_t at = (size_t)(consumed + (uint64_t)got - zs.avail_in);
                    rc = km_error_set(err, KM_ERR, at,
                                      "%s: unexpected data after end of compressed stream at byte %zu",
                                      path, at);
                    goto done;
                }
                break;
            }
            if (z == Z_BUF_ERROR && zs.avail_in == 0) break;
            if (z != Z_OK) {
                size_t at = (size_t)(consumed + (uint64_t)got - zs.avail_in);
                const char *why = zs.msg ? zs.msg : z == Z_MEM_ERROR ? "out of memory" : "corrupt data";
                if (consumed == 0 && (size_t)got - zs.avail_in <= 2 && z == Z_DATA_ERROR)
                    rc = km_error_set(err, KM_ERR, at, "%s: not a gzip file (%s at byte %zu)", path, why, at);
                else
                    rc = km_error_set(err, KM_ERR, at, "%s: corrupt gzip data at byte %zu: %s", path, at, why);
                goto done;
            }
        }
        consumed += (uint64_t)got;
    }
    if (!ended) {
        if (consumed == 0)
            rc = km_error_set(err, KM_ERR, 0, "%s: empty file (no gzip data)", path);
        else
            rc = km_error_set(err, KM_ERR, (size_t)consumed,
                              "%s: truncated gzip stream: the compressed data ends at byte %llu "
                              "before the end of the stream", path, (unsigned long long)consumed);
        goto done;
    }
    if (ulen) *ulen = zs.total_out;
done:
    if (zinit) inflateEnd(&zs);
    free(in);
    free(out);
    return rc;
}

static int sha_sink(void *ctx, const unsigned char *p, size_t n) {
    return EVP_DigestUpdate((EVP_MD_CTX *)ctx, p, n) == 1 ? 0 : -1;
}

/* SHA-256 of what inflating gives: from path, or from memory when data is not NULL. */
static int gz_sha256(const char *path, const void *data, size_t dlen, char out[65], uint64_t *ulen, km_error *err) {
    out[0] = 0;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(md);
        return km_error_set(err, KM_ERR, (size_t)-1, "%s: SHA-256 unavailable", path);
    }
    int rc = data ? inflate_mem(data, dlen, path, sha_sink, md, ulen, err)
                  : inflate_file(path, sha_sink, md, ulen, err);
    if (rc == KM_OK) {
        unsigned char h[32];
        unsigned int hl = 0;
        if (EVP_DigestFinal_ex(md, h, &hl) != 1 || hl != 32)
            rc = km_error_set(err, KM_ERR, (size_t)-1, "%s: SHA-256 failed", path);
        else
            km_hex_encode(h, 32, out);
    }
    EVP_MD_CTX_free(md);
    return rc;
}

int km_trail_gz_sha256(const char *path, char out[65], uint64_t *ulen, km_error *err) {
    return gz_sha256(path, NULL, 0, out, ulen, err);
}

int km_trail_gz_sha256_mem(const void *data, size_t len, const char *name, char out[65], uint64_t *ulen,
                           km_error *err) {
    return gz_sha256(name, data ? data : "", len, out, ulen, err);
}

static int buf_sink(void *ctx, const unsigned char *p, size_t n) {
    return km_buf_append((km_buf *)ctx, p, n);
}

static char *gz_read(const char *path, const void *data, size_t dlen, size_t max, size_t *len, km_error *err) {
    km_buf b;
    km_buf_init(&b, max);
    int rc = data ? inflate_mem(data, dlen, path, buf_sink, &b, NULL, err) : inflate_file(path, buf_sink, &b, NULL, err);
    if (rc) {
        /* the sink fails for the cap or for want of memory: only the first is about the file */
        if (b.failed == KM_BUF_NOMEM) km_error_set(err, KM_ENOMEM, (size_t)-1, "%s: out of memory", path);
        km_buf_free(&b);
        return NULL;
    }
    if (!b.data && km_buf_reserve(&b, 1)) {
        km_error_set(err, KM_ENOMEM, (size_t)-1, "%s: out of memory", path);
        return NULL;
    }
    return km_buf_steal(&b, len);
}

char *km_trail_gz_read(const char *path, size_t max, size_t *len, km_error *err) {
    return gz_read(path, NULL, 0, max, len, err);
}

char *km_trail_gz_read_mem(const void *data, size_t len, const char *name, size_t max, size_t *len_out, km_error *err) {
    return gz_read(name, data ? data : "", len, max, len_out, err);
}
