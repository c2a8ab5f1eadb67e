/* Streaming reader with gzip detection (zlib inflate, gzip wrapper, concatenated members).
 *
 * Small gzip files (CloudTrail delivers one per account, region and five minutes, rarely over a
 * megabyte) are read whole and decompressed in one call with libdeflate when the build has it
 * (KM_HAVE_LIBDEFLATE): its whole-buffer decoder takes about 60% of zlib's time, and the
 * decompression is most of the cost of `detect`. Anything it does not accept (a file too large,
 * output over the cap, corrupt or truncated data, junk after the last member) goes through zlib
 * from the start, so messages and the partial data before damage are the same either way. */
#include "detect/input.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#ifdef KM_HAVE_LIBDEFLATE
#include <libdeflate.h>
#endif

#define RAW_CHUNK (128u << 10)
/* Whole-file decoding: caps on the compressed file and on its decompressed size (memory stays
 * bounded whatever the input: larger files are streamed). */
#define WHOLE_IN_MAX ((size_t)2 << 20)
#define WHOLE_OUT_MAX ((size_t)16 << 20)
/* Buffers grown past this are given back after the file. */
#define WHOLE_KEEP ((size_t)2 << 20)

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
    /* whole-file decoding: the compressed file (hold), and the decompressed data being handed
       out (whole, whole_len, whole_pos) when the decoder took it */
    unsigned char *hold, *whole;
    size_t hold_cap, whole_cap, whole_len, whole_pos;
    int in_whole;
#ifdef KM_HAVE_LIBDEFLATE
    struct libdeflate_decompressor *dd;
#endif
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
    unsigned char *hold = in->hold, *whole = in->whole;
    size_t hold_cap = in->hold_cap, whole_cap = in->whole_cap;
    if (hold_cap > WHOLE_KEEP) free(hold), hold = NULL, hold_cap = 0;
    if (whole_cap > WHOLE_KEEP) free(whole), whole = NULL, whole_cap = 0;
#ifdef KM_HAVE_LIBDEFLATE
    struct libdeflate_decompressor *dd = in->dd;
#endif
    memset(in, 0, sizeof *in);
    in->fd = -1;
    in->rawbuf = rawbuf;
    in->raw = rawbuf;
    in->gz_init = gz_init;
    in->zs = zs;
    in->hold = hold, in->hold_cap = hold_cap;
    in->whole = whole, in->whole_cap = whole_cap;
#ifdef KM_HAVE_LIBDEFLATE
    in->dd = dd;
#endif
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
    free(in->hold);
    free(in->whole);
#ifdef KM_HAVE_LIBDEFLATE
    if (in->dd) libdeflate_free_decompressor(in->dd);
#endif
    free(in);
}

int km_input_is_gzip(const km_input *in) { return in && in->gz != 0; }
uint64_t km_input_raw_bytes(const km_input *in) { return in ? in->raw_total : 0; }

/* Make raw bytes available (raw + raw_pos .. raw_len). Returns 1 if some are, 0 at the end, -1 on
 * a read error. Memory sources expose their bytes directly. */
static int raw_fill(km_input *in, km_error *err) {
    if (in->raw_pos < in->raw_len) return 1;
    if (in->raw_eof) return 0;
    if (in->in_whole) {
        /* the whole file was read into hold; zlib reads it from there */
        in->in_whole = 0;
        in->raw = in->hold;
        in->raw_pos = 0;
        in->raw_len = in->hold_cap ? (size_t)in->raw_total : 0;
        if (in->raw_len) return 1;
    }
    if (in->fd >= 0 && in->raw == in->hold) in->raw = in->rawbuf;
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

#ifdef KM_HAVE_LIBDEFLATE
/* Reads the rest of a small regular file into hold (after the bytes raw holds now) and decodes
 * every gzip member into whole. Returns 1 when whole holds the data, 0 when zlib must do it
 * (then hold has everything read so far, which raw_fill hands to zlib first), -1 on a read
 * error. */
static int whole_decode(km_input *in, km_error *err) {
    struct stat st;
    if (in->fd < 0 || fstat(in->fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > WHOLE_IN_MAX) return 0;
    size_t have = in->raw_len - in->raw_pos, need = (size_t)st.st_size + 1;
    if (need < have + 1) need = have + 1;
    if (in->hold_cap < need) {
        unsigned char *h = realloc(in->hold, need);
        if (!h) return 0;
        in->hold = h;
        in->hold_cap = need;
    }
    memcpy(in->hold, in->raw + in->raw_pos, have);
    in->raw_pos = in->raw_len = 0;
    int eof = 0;
    while (have < in->hold_cap) {
        ssize_t r = read(in->fd, in->hold + have, in->hold_cap - have);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            km_error_set(err, KM_ERR, 0, "read error after %llu bytes: %s", (unsigned long long)(in->raw_total), strerror(errno));
            return -1;
        }
        if (r == 0) {
            eof = 1;
            break;
        }
        have += (size_t)r;
        in->raw_total += (uint64_t)r;
    }
    /* from here on the file's bytes so far are in hold */
    in->in_whole = 1;
    if (!eof) return 0; /* it grew: stream it */
    if (!in->dd && !(in->dd = libdeflate_alloc_decompressor())) return 0;
    /* first guess: the last member's size field (the size modulo 2^32), at least 4x the input */
    size_t guess = have >= 4 ? (size_t)in->hold[have - 4] | (size_t)in->hold[have - 3] << 8 |
                                   (size_t)in->hold[have - 2] << 16 | (size_t)in->hold[have - 1] << 24
                             : 0;
    if (guess < 4 * have) guess = 4 * have;
    if (guess > WHOLE_OUT_MAX) guess = WHOLE_OUT_MAX;
    size_t pos = 0, out = 0;
    while (pos < have) {
        if (in->hold[pos] != 0x1f) {
            /* zero padding after the last member is accepted, anything else is zlib's to report */
            size_t k = pos;
            while (k < have && in->hold[k] == 0) k++;
            if (k == have && pos > 0) break;
            return 0;
        }
        for (;;) {
            if (in->whole_cap - out < guess && in->whole_cap < WHOLE_OUT_MAX) {
                size_t nc = out + guess;
                if (nc > WHOLE_OUT_MAX) nc = WHOLE_OUT_MAX;
                unsigned char *w = realloc(in->whole, nc);
                if (!w) return 0;
                in->whole = w;
                in->whole_cap = nc;
            }
            size_t used = 0, got = 0;
            enum libdeflate_result r = libdeflate_gzip_decompress_ex(in->dd, in->hold + pos, have - pos, in->whole + out,
                                                                     in->whole_cap - out, &used, &got);
            if (r == LIBDEFLATE_SUCCESS) {
                pos += used;
                out += got;
                break;
            }
            if (r != LIBDEFLATE_INSUFFICIENT_SPACE || in->whole_cap >= WHOLE_OUT_MAX) return 0;
            guess = in->whole_cap * 2 - out;
        }
    }
    in->in_whole = 0;
    in->raw_eof = 1;
    in->whole_len = out;
    in->whole_pos = 0;
    return 1;
}
#endif

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
#ifdef KM_HAVE_LIBDEFLATE
            int wr = whole_decode(in, err);
            if (wr < 0) return fail(in);
            if (wr > 0) in->gz = 2;
#endif
            if (in->gz == 2) {
                /* decoded already */
            } else if (in->gz_init) {
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
    if (in->gz == 2) {
        size_t k = in->whole_len - in->whole_pos;
        if (k == 0) {
            in->done = 1;
            return 0;
        }
        if (k > n) k = n;
        memcpy(buf, in->whole + in->whole_pos, k);
        in->whole_pos += k;
        in->out_total += k;
        return (long)k;
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
