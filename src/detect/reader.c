/* Record reader (see reader.h for what it accepts and why it is written by hand).
 *
 * A resumable state machine over a sliding buffer: `keep` marks the first byte that must survive
 * the next refill (the start of the record being read), everything before it is dropped. The
 * scanner knows only strings (with escapes) and nesting depth; structure is checked where it
 * decides something (top level, the Records array) and each record's JSON is validated later by
 * the matcher. */
#include "detect/reader.h"
#include "util/limits.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define NONE ((size_t)-1)
#define CHUNK ((size_t)256 << 10)

enum { M_TOP, M_GARBAGE, M_OBJ, M_ARR, M_REC, M_SKIP, M_SCALAR };
enum { C_PLAIN = 0, C_QUOTE, C_OPEN, C_CLOSE };

static const unsigned char cls[256] = {
    ['"'] = C_QUOTE, ['{'] = C_OPEN, ['['] = C_OPEN, ['}'] = C_CLOSE, [']'] = C_CLOSE,
};

struct km_reader {
    km_input *in;
    char *buf;
    size_t cap, len, pos;
    uint64_t base;        /* absolute offset of buf[0] */
    size_t keep;          /* index of the first byte to keep, or NONE */
    size_t max_record, max_depth, read_size;
    int mode;
    size_t depth;
    int in_str, esc;
    /* element arrays and records */
    size_t arr_base;      /* depth of the array whose elements are records */
    uint64_t rec_start;
    int rec_dropped;
    /* skipping a value */
    size_t skip_base;
    int skip_ret;
    /* the top-level object: a delivery file's container, or itself a record */
    uint64_t top_start;
    int top_container, top_overflow, top_dropped;
    char prev;            /* last significant byte at depth 1: '{', ',', ':' or 'v' (a value) */
    int str_is_key, expect_records;
    char key[16];
    size_t keylen;
    int key_odd;          /* the key had an escape or was too long: it is not "Records" */
    int seen_any, finished;
    km_error inerr;
};

static const char *const reason_names[KM_SKIP_REASONS][2] = {
    [KM_SKIP_NONE] = {"", ""},
    [KM_SKIP_UNREADABLE] = {"unreadable input", "unreadable inputs"},
    [KM_SKIP_EMPTY] = {"empty input", "empty inputs"},
    [KM_SKIP_GZIP] = {"corrupt or truncated gzip stream", "corrupt or truncated gzip streams"},
    [KM_SKIP_INVALID_JSON] = {"invalid JSON record", "invalid JSON records"},
    [KM_SKIP_TRUNCATED] = {"truncated record", "truncated records"},
    [KM_SKIP_NOT_OBJECT] = {"record that is not an object", "records that are not objects"},
    [KM_SKIP_TOO_LARGE] = {"record over the size limit", "records over the size limit"},
    [KM_SKIP_TOO_DEEP] = {"record nested too deep", "records nested too deep"},
    [KM_SKIP_INVALID_UTF8] = {"record with invalid UTF-8", "records with invalid UTF-8"},
    [KM_SKIP_TOO_MANY_FIELDS] = {"record with too many fields", "records with too many fields"},
    [KM_SKIP_DIGEST] = {"digest file", "digest files"},
    [KM_SKIP_NOT_CLOUDTRAIL] = {"EventBridge event not from CloudTrail", "EventBridge events not from CloudTrail"},
};

const char *km_skip_reason_name(km_skip_reason r) { return km_skip_reason_phrase(r, 2); }

const char *km_skip_reason_phrase(km_skip_reason r, uint64_t count) {
    return (unsigned)r < KM_SKIP_REASONS ? reason_names[r][count != 1] : "?";
}

int km_skip_is_error(km_skip_reason r) { return r > KM_SKIP_NONE && r <= KM_SKIP_ERROR_LAST; }

km_reader *km_reader_new(km_input *in, const km_reader_limits *lim) {
    km_reader *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->in = in;
    r->max_record = lim && lim->max_record ? lim->max_record : km_limit(KM_LIMIT_RECORD, (size_t)8 << 20);
    r->max_depth = lim && lim->max_depth ? lim->max_depth : km_limit(KM_LIMIT_DEPTH, 512);
    r->read_size = lim && lim->read_size ? lim->read_size : CHUNK;
    r->cap = CHUNK;
    r->buf = malloc(r->cap);
    if (!r->buf) { free(r); return NULL; }
    r->keep = NONE;
    r->mode = M_TOP;
    km_error_clear(&r->inerr);
    return r;
}

void km_reader_reset(km_reader *r, km_input *in) {
    char *buf = r->buf;
    size_t cap = r->cap, max_record = r->max_record, max_depth = r->max_depth, read_size = r->read_size;
    if (cap > 4 * CHUNK) { /* after a huge record, give the memory back */
        char *nb = realloc(buf, CHUNK);
        if (nb) { buf = nb; cap = CHUNK; }
    }
    memset(r, 0, sizeof *r);
    r->in = in;
    r->buf = buf;
    r->cap = cap;
    r->max_record = max_record;
    r->max_depth = max_depth;
    r->read_size = read_size;
    r->keep = NONE;
    r->mode = M_TOP;
    km_error_clear(&r->inerr);
}

void km_reader_free(km_reader *r) {
    if (!r) return;
    free(r->buf);
    free(r);
}

uint64_t km_reader_bytes(const km_reader *r) { return r->base + r->len; }

static uint64_t at(const km_reader *r) { return r->base + r->pos; }

/* Returns 1 when bytes were added, 0 at the end of the input, -1 on an input error (r->inerr),
 * 2 when the kept bytes reached max_record (the caller stops keeping them and calls again). */
static int refill(km_reader *r) {
    size_t k = r->keep != NONE ? r->keep : r->pos;
    if (k) {
        memmove(r->buf, r->buf + k, r->len - k);
        r->len -= k;
        r->pos -= k;
        r->base += k;
        if (r->keep != NONE) r->keep = 0;
    }
    if (r->keep != NONE && r->len >= r->max_record) return 2;
    if (r->len == r->cap) {
        size_t ncap = r->cap ? r->cap * 2 : CHUNK; /* cap is CHUNK or more; never realloc(buf, 0) */
        if (ncap > r->max_record + CHUNK) ncap = r->max_record + CHUNK;
        char *nb = realloc(r->buf, ncap);
        if (!nb) {
            km_error_set(&r->inerr, KM_ENOMEM, (size_t)at(r), "out of memory");
            return -1;
        }
        r->buf = nb;
        r->cap = ncap;
    }
    size_t want = r->cap - r->len;
    if (want > r->read_size) want = r->read_size; /* small reads: scanning stays in cache */
    long got = km_input_read(r->in, r->buf + r->len, want, &r->inerr);
    if (got < 0) return -1;
    if (got == 0) return 0;
    r->len += (size_t)got;
    return 1;
}

/* Position of the first '"' or '\\' at or after i, or n. Many bytes at a time: most of a
 * CloudTrail record is string content. */
static size_t find_quote_or_backslash(const unsigned char *p, size_t i, size_t n) {
#ifdef __SSE2__
    /* Sixteen at a time where SSE2 is there (every x86-64). */
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
    while (i + 16 <= n) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
        int m = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)));
        if (m) return i + (size_t)__builtin_ctz((unsigned)m);
        i += 16;
    }
#endif
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    while (i + 8 <= n) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');
        if ((((q - ones) & ~q) | ((b - ones) & ~b)) & highs) break;
        i += 8;
    }
    while (i < n && p[i] != '"' && p[i] != '\\') i++;
    return i;
}

/* Scan from pos until the depth comes back to target after a closing bracket (returns 1, pos just
 * past it), the buffer or the bound stop ends (0, pos == min(len, stop)), or the depth exceeds
 * limit (2, pos just past the opening bracket). Strings and escapes are tracked across calls. */
static int scan_nested(km_reader *r, size_t target, size_t limit, size_t stop) {
    const unsigned char *p = (const unsigned char *)r->buf;
    size_t i = r->pos, n = r->len < stop ? r->len : stop, depth = r->depth;
    int rc = 0;
    if (r->in_str) goto string;
    for (;;) {
        while (i < n) {
            unsigned k = cls[p[i++]];
            if (k == C_PLAIN) continue;
            if (k == C_QUOTE) goto string;
            if (k == C_OPEN) {
                if (++depth > limit) { rc = 2; goto out; }
            } else if (--depth == target) {
                rc = 1;
                goto out;
            }
        }
        goto out;
    string:
        if (r->esc) {
            if (i >= n) { r->in_str = 1; goto out; }
            i++;
            r->esc = 0;
        }
        for (;;) {
            i = find_quote_or_backslash(p, i, n);
            if (i >= n) { r->in_str = 1; goto out; }
            if (p[i++] == '"') break;
            if (i >= n) { r->in_str = 1; r->esc = 1; goto out; }
            i++;
        }
        r->in_str = 0;
    }
out:
    r->pos = i;
    r->depth = depth;
    return rc;
}

/* Finish the string being read (in_str set). Returns 1 with pos just past its closing quote, or 0
 * when the buffer ended first. */
static int finish_string(km_reader *r) {
    const unsigned char *p = (const unsigned char *)r->buf;
    size_t i = r->pos, n = r->len;
    if (r->esc) {
        if (i >= n) return 0;
        i++;
        r->esc = 0;
    }
    for (;;) {
        i = find_quote_or_backslash(p, i, n);
        if (i >= n) break;
        if (p[i++] == '"') {
            r->in_str = 0;
            r->pos = i;
            return 1;
        }
        if (i >= n) { r->esc = 1; break; }
        i++;
    }
    r->pos = i;
    return 0;
}

static int problem(km_reader *r, km_record *rec, km_error *err, km_skip_reason why, uint64_t off,
                   const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static int problem(km_reader *r, km_record *rec, km_error *err, km_skip_reason why, uint64_t off,
                   const char *fmt, ...) {
    (void)r;
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    memset(rec, 0, sizeof *rec);
    rec->skip = why;
    rec->offset = off;
    km_error_set(err, KM_ERR, (size_t)off, "%s", msg);
    return KM_READ_SKIP;
}

static const char *describe_char(unsigned char c, char *tmp, size_t n) {
    if (c >= 0x20 && c < 0x7f) snprintf(tmp, n, "the character '%c'", c);
    else snprintf(tmp, n, "the byte 0x%02x", c);
    return tmp;
}

static const char *describe_byte(unsigned char c, char *tmp, size_t n) {
    switch (c) {
    case '"': return "a string";
    case '[': return "an array";
    case 't': case 'f': return "a boolean";
    case 'n': return "null";
    default: break;
    }
    if (c == '-' || (c >= '0' && c <= '9')) return "a number";
    return describe_char(c, tmp, n);
}

/* Looks at the top-level keys of a complete object: EventBridge events give their `detail`,
 * digest files are recognised. Returns KM_READ_RECORD (rec possibly narrowed to the detail) or
 * KM_READ_SKIP. Malformed objects are passed on as records: the matcher reports where. */
static int classify(km_record *rec, km_error *err) {
    const char *p = rec->data;
    size_t n = rec->len, i = 1;
    const char *dtype = NULL;
    size_t dtype_len = 0, det = 0, det_len = 0;
    int digest = 0;
    while (i < n) {
        while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n' || p[i] == ','))
            i++;
        if (i >= n || p[i] != '"') break;
        size_t ks = ++i;
        while (i < n && p[i] != '"') i += p[i] == '\\' ? 2 : 1;
        if (i >= n) break;
        size_t kl = i - ks;
        i++;
        while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n' || p[i] == ':')) i++;
        if (i >= n) break;
        size_t vs = i;
        if (p[i] == '"') {
            i++;
            while (i < n && p[i] != '"') i += p[i] == '\\' ? 2 : 1;
            i++;
        } else if (p[i] == '{' || p[i] == '[') {
            size_t depth = 0;
            while (i < n) {
                char c = p[i++];
                if (c == '"') {
                    while (i < n && p[i] != '"') i += p[i] == '\\' ? 2 : 1;
                    i++;
                } else if (c == '{' || c == '[') {
                    depth++;
                } else if ((c == '}' || c == ']') && --depth == 0) {
                    break;
                }
            }
        } else {
            while (i < n && p[i] != ',' && p[i] != '}' && p[i] != ' ' && p[i] != '\n') i++;
        }
        if (i > n) i = n;
        const char *k = p + ks;
#define KEY(s) (kl == sizeof(s) - 1 && memcmp(k, s, kl) == 0)
        if (KEY("detail-type") && p[vs] == '"' && i >= vs + 2) {
            dtype = p + vs + 1;
            dtype_len = i - vs - 2;
        } else if (KEY("detail") && p[vs] == '{') {
            det = vs;
            det_len = i - vs;
        } else if (KEY("digestPublicKeyFingerprint") || KEY("digestS3Object") || KEY("digestStartTime")) {
            digest = 1;
        }
#undef KEY
    }
    if (digest) {
        rec->skip = KM_SKIP_DIGEST;
        km_error_set(err, KM_ERR, (size_t)rec->offset,
                     "CloudTrail digest file (skipped; 'kumomori verify' checks digests)");
        return KM_READ_SKIP;
    }
    if (dtype && det_len) {
        static const char suffix[] = "via CloudTrail";
        size_t sl = sizeof suffix - 1;
        if (dtype_len < sl || memcmp(dtype + dtype_len - sl, suffix, sl) != 0) {
            rec->skip = KM_SKIP_NOT_CLOUDTRAIL;
            km_error_set(err, KM_ERR, (size_t)rec->offset,
                         "EventBridge event at byte %llu has detail-type \"%.*s\", not a CloudTrail event; skipped",
                         (unsigned long long)rec->offset, (int)(dtype_len > 80 ? 80 : dtype_len), dtype);
            return KM_READ_SKIP;
        }
        rec->data = p + det;
        rec->len = det_len;
        rec->offset += det;
        rec->kind = KM_REC_EVENTBRIDGE;
    }
    return KM_READ_RECORD;
}

/* The record size limit for messages: "8 MiB", or bytes when it is not a whole number of MiB. */
static const char *limit_text(const km_reader *r, char *buf, size_t n) {
    if (r->max_record % ((size_t)1 << 20) == 0) snprintf(buf, n, "%zu MiB", r->max_record >> 20);
    else snprintf(buf, n, "%zu bytes", r->max_record);
    return buf;
}

static int emit(km_reader *r, km_record *rec, km_error *err, uint64_t start, km_record_kind kind) {
    /* refill() stops keeping a record once the kept bytes reach the limit, but a record that came
     * whole in fewer reads never meets that check: without this one the limit would depend on the
     * read size (found by fuzz/fuzz_reader). */
    if (at(r) - start > r->max_record) {
        char lt[48];
        r->keep = NONE;
        return problem(r, rec, err, KM_SKIP_TOO_LARGE, start, "the record at byte %llu is larger than the limit of %s (--limit record); skipped",
                       (unsigned long long)start, limit_text(r, lt, sizeof lt));
    }
    memset(rec, 0, sizeof *rec);
    rec->data = r->buf + (size_t)(start - r->base);
    rec->len = (size_t)(at(r) - start);
    rec->offset = start;
    rec->kind = kind;
    r->keep = NONE;
    if (kind == KM_REC_DELIVERY) return KM_READ_RECORD;
    return classify(rec, err);
}

static int at_end(km_reader *r, km_record *rec, km_error *err, int input_failed) {
    r->finished = 1;
    uint64_t end = r->base + r->len;
    const char *where = NULL;
    uint64_t from = 0;
    switch (r->mode) {
    case M_REC:
        if (!r->rec_dropped) { where = "the record"; from = r->rec_start; }
        break;
    case M_OBJ:
        where = r->top_container ? "the delivery file's top-level object" : "the object";
        from = r->top_start;
        break;
    case M_ARR: case M_SKIP: case M_SCALAR:
        where = r->arr_base == 1 ? "the top-level array" : "the Records array";
        from = 0;
        break;
    default: break;
    }
    if (input_failed) {
        km_skip_reason why = km_input_is_gzip(r->in) ? KM_SKIP_GZIP : KM_SKIP_UNREADABLE;
        if (where && r->mode == M_REC)
            return problem(r, rec, err, why, end, "%s; the record at byte %llu is incomplete and was skipped",
                           r->inerr.msg, (unsigned long long)from);
        return problem(r, rec, err, why, end, "%s", r->inerr.msg);
    }
    if (where)
        return problem(r, rec, err, KM_SKIP_TRUNCATED, end,
                       "unexpected end of data at byte %llu inside %s that begins at byte %llu (truncated file?)",
                       (unsigned long long)end, where, (unsigned long long)from);
    if (!r->seen_any)
        return problem(r, rec, err, KM_SKIP_EMPTY, 0, "empty input: no JSON at all");
    return KM_READ_END;
}

int km_reader_next(km_reader *r, km_record *rec, km_error *err) {
    km_error_clear(err);
    if (r->finished) return KM_READ_END;
    for (;;) {
        if (r->pos >= r->len) {
            int f = refill(r);
            if (f == 2) {
                uint64_t start = r->mode == M_REC ? r->rec_start : r->top_start;
                r->keep = NONE;
                if (r->mode == M_REC) {
                    char lt[48];
                    r->rec_dropped = 1;
                    return problem(r, rec, err, KM_SKIP_TOO_LARGE, start,
                                   "the record at byte %llu is larger than the limit of %s (--limit record); skipped",
                                   (unsigned long long)start, limit_text(r, lt, sizeof lt));
                }
                r->top_overflow = 1; /* reported at its end, unless it turns out to hold Records */
                continue;
            }
            if (f <= 0) return at_end(r, rec, err, f < 0);
        }
        const unsigned char *p = (const unsigned char *)r->buf;
        unsigned char c = p[r->pos];
        switch (r->mode) {
        case M_TOP:
            if (c == ' ' || c == '\n' || c == '\r' || c == '\t') { r->pos++; break; }
            if (at(r) == 0 && c == 0xef && r->len - r->pos < 3 && refill(r) > 0) break; /* see it whole */
            p = (const unsigned char *)r->buf; /* refill may have moved the buffer */
            if (at(r) == 0 && c == 0xef && r->len - r->pos >= 3 && p[r->pos + 1] == 0xbb && p[r->pos + 2] == 0xbf) {
                r->pos += 3; /* UTF-8 byte order mark */
                break;
            }
            r->seen_any = 1;
            if (c == '{') {
                r->top_start = at(r);
                r->keep = r->pos;
                r->pos++;
                r->depth = 1;
                r->mode = M_OBJ;
                r->prev = '{';
                r->top_container = r->top_overflow = r->top_dropped = 0;
                r->expect_records = 0;
            } else if (c == '[') {
                r->pos++;
                r->depth = 1;
                r->arr_base = 1;
                r->mode = M_ARR;
            } else {
                char tmp[32];
                uint64_t off = at(r);
                r->mode = M_GARBAGE;
                return problem(r, rec, err, KM_SKIP_INVALID_JSON, off,
                               "not JSON: %s at byte %llu where a JSON object or array should start; "
                               "skipping to the next line", describe_char(c, tmp, sizeof tmp),
                               (unsigned long long)off);
            }
            break;
        case M_GARBAGE: {
            const char *nl = memchr(r->buf + r->pos, '\n', r->len - r->pos);
            if (nl) {
                r->pos = (size_t)(nl - r->buf) + 1;
                r->mode = M_TOP;
            } else {
                r->pos = r->len;
            }
            break;
        }
        case M_OBJ:
            if (r->in_str) {
                if (r->str_is_key) {
                    while (r->pos < r->len) {
                        char k = r->buf[r->pos++];
                        if (r->esc) { r->esc = 0; r->key_odd = 1; continue; }
                        if (k == '\\') { r->esc = 1; continue; }
                        if (k == '"') { r->in_str = 0; break; }
                        if (r->keylen < sizeof r->key) r->key[r->keylen++] = k;
                        else r->key_odd = 1;
                    }
                } else {
                    finish_string(r);
                }
                break;
            }
            r->pos++;
            switch (c) {
            case ' ': case '\n': case '\r': case '\t': break;
            case '"':
                r->in_str = 1;
                r->str_is_key = r->prev == '{' || r->prev == ',';
                r->keylen = 0;
                r->key_odd = 0;
                if (!r->str_is_key) r->prev = 'v';
                break;
            case ':':
                r->prev = ':';
                r->expect_records = !r->key_odd && r->keylen == 7 && memcmp(r->key, "Records", 7) == 0;
                break;
            case ',':
                r->prev = ',';
                r->expect_records = 0;
                break;
            case '[':
                if (r->expect_records) {
                    r->top_container = 1;
                    r->keep = NONE;
                    r->depth = 2;
                    r->arr_base = 2;
                    r->mode = M_ARR;
                    r->prev = 'v';
                    r->expect_records = 0;
                    break;
                }
                /* fall through */
            case '{':
                r->depth = 2;
                r->skip_base = 1;
                r->skip_ret = M_OBJ;
                r->mode = M_SKIP;
                r->prev = 'v';
                r->expect_records = 0;
                break;
            case '}': {
                r->depth = 0;
                r->mode = M_TOP;
                if (r->top_container || r->top_dropped) break;
                if (r->top_overflow) {
                    char lt[48];
                    /* worded as emit() words it: the message must not depend on the read size */
                    return problem(r, rec, err, KM_SKIP_TOO_LARGE, r->top_start,
                                   "the record at byte %llu is larger than the limit of %s (--limit record); skipped",
                                   (unsigned long long)r->top_start, limit_text(r, lt, sizeof lt));
                }
                return emit(r, rec, err, r->top_start, KM_REC_LINE);
            }
            default:
                r->prev = 'v';
                r->expect_records = 0;
                break;
            }
            break;
        case M_ARR:
            if (c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == ',') { r->pos++; break; }
            if (c == ']') {
                r->pos++;
                r->depth = r->arr_base - 1;
                r->mode = r->arr_base == 1 ? M_TOP : M_OBJ;
                break;
            }
            if (c == '{') {
                r->rec_start = at(r);
                r->keep = r->pos;
                r->pos++;
                r->depth = r->arr_base + 1;
                r->rec_dropped = 0;
                r->mode = M_REC;
                break;
            }
            {
                char tmp[32];
                uint64_t off = at(r);
                const char *what = describe_byte(c, tmp, sizeof tmp);
                r->pos++;
                if (c == '[') {
                    r->depth = r->arr_base + 1;
                    r->skip_base = r->arr_base;
                    r->skip_ret = M_ARR;
                    r->mode = M_SKIP;
                } else if (c == '}') {
                    return problem(r, rec, err, KM_SKIP_INVALID_JSON, off,
                                   "invalid JSON: unexpected '}' at byte %llu inside %s",
                                   (unsigned long long)off, r->arr_base == 1 ? "the top-level array" : "the Records array");
                } else {
                    r->in_str = c == '"';
                    r->mode = M_SCALAR;
                }
                return problem(r, rec, err, KM_SKIP_NOT_OBJECT, off,
                               "the element at byte %llu of %s is %s, not a record (a JSON object); skipped",
                               (unsigned long long)off,
                               r->arr_base == 1 ? "the top-level array" : "the Records array", what);
            }
        case M_SCALAR:
            if (r->in_str) {
                finish_string(r);
                break;
            }
            if (c == ',' || c == ']' || c == '{' || c == '[' || c == '}' || c == ' ' || c == '\n' ||
                c == '\r' || c == '\t') {
                r->mode = M_ARR;
                break;
            }
            r->pos++;
            if (c == '"') r->in_str = 1;
            break;
        case M_REC: {
            /* The record may not run past its first max_record bytes: scanning stops there, so
             * that a record both too large and too deep is called by whichever limit comes first
             * in the data, whatever the read size (found by fuzz/fuzz_reader: with whole-buffer
             * reads the depth was reported, with small reads the size). */
            size_t stop = (size_t)-1;
            if (!r->rec_dropped && r->rec_start + r->max_record - r->base < r->len)
                stop = (size_t)(r->rec_start + r->max_record - r->base);
            int rc = scan_nested(r, r->arr_base, r->rec_dropped ? (size_t)-1 : r->arr_base + r->max_depth, stop);
            if (rc == 0 && r->pos == stop) {
                char lt[48];
                r->rec_dropped = 1;
                r->keep = NONE;
                return problem(r, rec, err, KM_SKIP_TOO_LARGE, r->rec_start,
                               "the record at byte %llu is larger than the limit of %s (--limit record); skipped",
                               (unsigned long long)r->rec_start, limit_text(r, lt, sizeof lt));
            }
            if (rc == 0) break;
            if (rc == 2) {
                uint64_t off = at(r) - 1;
                r->rec_dropped = 1;
                r->keep = NONE;
                return problem(r, rec, err, KM_SKIP_TOO_DEEP, r->rec_start,
                               "the record at byte %llu is nested deeper than %zu levels (at byte %llu; --limit depth); skipped",
                               (unsigned long long)r->rec_start, r->max_depth, (unsigned long long)off);
            }
            r->mode = M_ARR;
            if (r->rec_dropped) break;
            return emit(r, rec, err, r->rec_start, r->arr_base == 1 ? KM_REC_ARRAY : KM_REC_DELIVERY);
        }
        case M_SKIP: {
            /* A member of a top-level object that may itself be a record: same depth limit. */
            int limited = r->skip_ret == M_OBJ && !r->top_container && !r->top_dropped;
            int rc = scan_nested(r, r->skip_base, limited ? r->max_depth : (size_t)-1, (size_t)-1);
            if (rc == 2) {
                uint64_t off = at(r) - 1;
                r->top_dropped = 1;
                r->keep = NONE;
                return problem(r, rec, err, KM_SKIP_TOO_DEEP, r->top_start,
                               "the object at byte %llu is nested deeper than %zu levels (at byte %llu; --limit depth); skipped",
                               (unsigned long long)r->top_start, r->max_depth, (unsigned long long)off);
            }
            if (rc == 1) {
                r->mode = r->skip_ret;
                if (r->mode == M_OBJ) r->prev = 'v';
            }
            break;
        }
        }
    }
}
