/* Streaming reader with gzip detection (zlib inflate, gzip wrapper, concatenated members). */
#include "detect/input.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define RAW_CHUNK (128u << 10)

struct km_input {
    int fd;           /* -1 for memory */
    int owns_fd;
    const unsigned char *mem;
    size_t mem_len, mem_pos;
    unsigned char *rawbuf; /* RAW_CHUNK bytes for files */
    const unsigned char *raw; /* current raw bytes: rawbuf, or the memory block */
    size_t raw_len, raw_pos;
    uint64_t raw_total;   /* bytes read from the file/memory */
    int raw_eof;
    int probed, gz, gz_init, member_done, done;
    int has_pending;      /* an error found after some bytes were handed out; reported next */
    km_error pending;
    uint64_t out_total;   /* decompressed bytes handed out */
    z_stream zs;
};

static int open_fd(const char *path, int *fd, int *owns, km_error *err) {
    int is_stdin = strcmp(path, "-") == 0;
    int f = is_stdin ? 0 : open(path, O_RDONLY | O_CLOEXEC);
    if (f < 0) return km_error_set(err, KM_ERR, (size_t)-1, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (!is_stdin && fstat(f, &st) == 0 && S_ISDIR(st.st_mode)) {
        close(f);
        return km_error_set(err, KM_ERR, (size_t)-1, "%s: is a folder", path);
    }
    *fd = f;
    *owns = !is_stdin;
    return KM_OK;
}

km_input *km_input_open(const char *path, km_error *err) {
    km_input *in = calloc(1, sizeof *in);
    unsigned char *raw = malloc(RAW_CHUNK);
    if (!in || !raw) {
        free(in);
        free(raw);
        km_error_set(err, KM_ENOMEM, (size_t)-1, "%s: out of memory", path);
        return NULL;
    }
    if (open_fd(path, &in->fd, &in->owns_fd, err) != KM_OK) {
        free(in);
        free(raw);
        return NULL;
    }
    in->rawbuf = raw;
    in->raw = raw;
    return in;
}

int km_input_reopen(km_input *in, const char *path, km_error *err) {
    if (in->owns_fd) close(in->fd);
    /* Keep the buffer and zlib's state (reset when the next gzip stream starts). */
    unsigned char *rawbuf = in->rawbuf;
    int gz_init = in->gz_init;
    z_stream zs = in->zs;
    memset(in, 0, sizeof *in);
    in->fd = -1;
    in->rawbuf = rawbuf;
    in->raw = rawbuf;
    in->gz_init = gz_init;
    in->zs = zs;
    if (!rawbuf) return km_error_set(err, KM_ERR, (size_t)-1, "%s: cannot reuse a memory source", path);
    return open_fd(path, &in->fd, &in->owns_fd, err);
}

km_input *km_input_mem(const void *data, size_t len) {
    km_input *in = calloc(1, sizeof *in);
    if (!in) return NULL;
    in->fd = -1;
    in->mem = data;
    in->mem_len = len;
    return in;
}

void km_input_close(km_input *in) {
    if (!in) return;
    if (in->gz_init) inflateEnd(&in->zs);
    if (in->owns_fd) close(in->fd);
    free(in->rawbuf);
    free(in);
}

int km_input_is_gzip(const km_input *in) { return in && in->gz; }
uint64_t km_input_raw_bytes(const km_input *in) { return in ? in->raw_total : 0; }

/* Make raw bytes available (raw + raw_pos .. raw_len). Returns 1 if some are, 0 at the end, -1 on
 * a read error. Memory sources expose their bytes directly. */
static int raw_fill(km_input *in, km_error *err) {
    if (in->raw_pos < in->raw_len) return 1;
    if (in->raw_eof) return 0;
    if (in->fd < 0) {
        if (in->mem_pos >= in->mem_len) { in->raw_eof = 1; return 0; }
        /* Hand the whole memory block over at once; raw points into it. */
        in->raw = in->mem;
        in->raw_pos = 0;
        in->raw_len = in->mem_len;
        in->mem_pos = in->mem_len;
        in->raw_total = in->mem_len;
        return 1;
    }
    for (;;) {
        ssize_t r = read(in->fd, in->rawbuf, RAW_CHUNK);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            km_error_set(err, KM_ERR, (size_t)in->out_total, "read error after %llu bytes: %s",
                         (unsigned long long)in->raw_total, strerror(errno));
            return -1;
        }
        if (r == 0) { in->raw_eof = 1; return 0; }
        in->raw_pos = 0;
        in->raw_len = (size_t)r;
        in->raw_total += (uint64_t)r;
        return 1;
    }
}

static uint64_t raw_offset(const km_input *in) {
    return in->raw_total - (in->raw_len - in->raw_pos);
}

static long fail(km_input *in) {
    in->done = 1;
    return -1;
}

long km_input_read(km_input *in, char *buf, size_t n, km_error *err) {
    if (in->done || n == 0) return 0;
    if (in->has_pending) {
        if (err) *err = in->pending;
        return fail(in);
    }
    if (!in->probed) {
        int r = raw_fill(in, err);
        if (r < 0) return fail(in);
        in->probed = 1;
        /* A gzip member starts with 1f 8b; a one-byte file starting with 1f is not gzip. */
        if (r > 0 && in->raw_len - in->raw_pos >= 2 && in->raw[in->raw_pos] == 0x1f &&
            in->raw[in->raw_pos + 1] == 0x8b) {
            in->gz = 1;
            if (in->gz_init) {
                inflateReset(&in->zs);
            } else {
                memset(&in->zs, 0, sizeof in->zs);
                if (inflateInit2(&in->zs, 16 + MAX_WBITS) != Z_OK) {
                    km_error_set(err, KM_ENOMEM, 0, "cannot start gzip decompression (out of memory)");
                    return fail(in);
                }
                in->gz_init = 1;
            }
            in->zs.avail_in = 0;
        }
    }
    if (!in->gz) {
        int r = raw_fill(in, err);
        if (r < 0) return fail(in);
        if (r == 0) { in->done = 1; return 0; }
        size_t k = in->raw_len - in->raw_pos;
        if (k > n) k = n;
        memcpy(buf, in->raw + in->raw_pos, k);
        in->raw_pos += k;
        in->out_total += k;
        return (long)k;
    }
    for (;;) {
        if (in->member_done) {
            /* Another member may follow (concatenated gzip files are one stream). */
            int r = raw_fill(in, err);
            if (r < 0) return fail(in);
            if (r == 0) { in->done = 1; return 0; }
            if (in->raw[in->raw_pos] != 0x1f) {
                /* Zero padding after the last member is tolerated (some tools write it). */
                while (in->raw_pos < in->raw_len && in->raw[in->raw_pos] == 0) in->raw_pos++;
                if (in->raw_pos == in->raw_len) continue;
                km_error_set(err, KM_ERR, (size_t)in->out_total,
                             "unexpected data after the end of the gzip stream (compressed byte %llu)",
                             (unsigned long long)raw_offset(in));
                return fail(in);
            }
            inflateReset(&in->zs);
            in->member_done = 0;
        }
        int raw_end = 0;
        if (in->zs.avail_in == 0) {
            int r = raw_fill(in, err);
            if (r < 0) return fail(in);
            /* r == 0: no compressed bytes left, but zlib may still hold output it had no room for
             * in the caller's buffer last time (a small n); the inflate below drains it, and the
             * data is truncated only when nothing more comes out. */
            raw_end = r == 0;
            in->zs.next_in = (unsigned char *)(uintptr_t)(in->raw + in->raw_pos); /* zlib does not write it */
            in->zs.avail_in = raw_end ? 0 : (uInt)(in->raw_len - in->raw_pos);
        }
        in->zs.next_out = (unsigned char *)buf;
        in->zs.avail_out = (uInt)(n > (1u << 30) ? (1u << 30) : n);
        uInt before_in = in->zs.avail_in, before_out = in->zs.avail_out;
        int zr = inflate(&in->zs, Z_NO_FLUSH);
        in->raw_pos += before_in - in->zs.avail_in;
        size_t produced = before_out - in->zs.avail_out;
        in->out_total += produced;
        if (zr == Z_STREAM_END) {
            in->member_done = 1;
            in->zs.avail_in = 0; /* the rest of raw is re-examined for a next member */
        } else if (zr == Z_DATA_ERROR || zr == Z_NEED_DICT || zr == Z_STREAM_ERROR) {
                km_error *e = produced ? &in->pending : err;
            km_error_set(e, KM_ERR, (size_t)in->out_total,
                         "corrupt gzip data at compressed byte %llu (after %llu decompressed bytes): %s",
                         (unsigned long long)raw_offset(in), (unsigned long long)in->out_total,
                         in->zs.msg ? in->zs.msg : "invalid data");
            if (!produced) return fail(in);
            in->has_pending = 1; /* the bytes before the damage are still worth reading */
            return (long)produced;
        } else if (zr == Z_MEM_ERROR) {
            km_error_set(err, KM_ENOMEM, (size_t)in->out_total, "out of memory while decompressing");
            return fail(in);
        }
        if (produced) return (long)produced;
        if (raw_end && zr != Z_STREAM_END) {
            km_error_set(err, KM_ERR, (size_t)in->out_total,
                         "truncated gzip data: the compressed stream ends at byte %llu before its end "
                         "marker (%llu bytes were decompressed)",
                         (unsigned long long)in->raw_total, (unsigned long long)in->out_total);
            return fail(in);
        }
    }
}
