/* Field extraction from JSON text (extract.h). Hand-written: it is on the detection hot path for
 * every record a threshold reads, where building a tree costs several times the matching itself.
 * The record was already checked by the matcher (valid JSON, UTF-8, depth), so this reader can be
 * simple; it still stops safely at the end of the text on malformed input. */
#include "detect/extract.h"
#include "kumomori/buf.h"

#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define MAX_REL_DEPTH 32 /* nesting followed along requested paths */

typedef struct xs {
    const char *s;
    size_t n;
    size_t rn; /* readable bytes from s (>= n): the strict check of a span reads on past its end
                  16 at a time, and what it finds there ends the span's string as invalid */
    km_extract_req *req;
    size_t nreq;
    km_buf *vals;   /* per request: the values found so far, joined by ',' */
    int *count;     /* per request: how many values */
    int *only_str;  /* per request: every value so far was a string */
    int *through_array;
    const char **first; /* per request: its only value so far, still in the record's text (no copy
                         * until a second value or the end: most requests find one value) */
    size_t *first_len;
    int giveup;
} xs;

static size_t ws(const xs *x, size_t i) {
    while (i < x->n && (x->s[i] == ' ' || x->s[i] == '\t' || x->s[i] == '\n' || x->s[i] == '\r')) i++;
    return i;
}

/* Bytes that end a run of plain string content. */
static const unsigned char str_stop[256] = {
    [0] = 1, [1] = 1, [2] = 1, [3] = 1, [4] = 1, [5] = 1, [6] = 1, [7] = 1, [8] = 1, [9] = 1, [10] = 1,
    [11] = 1, [12] = 1, [13] = 1, [14] = 1, [15] = 1, [16] = 1, [17] = 1, [18] = 1, [19] = 1, [20] = 1,
    [21] = 1, [22] = 1, [23] = 1, [24] = 1, [25] = 1, [26] = 1, [27] = 1, [28] = 1, [29] = 1, [30] = 1,
    [31] = 1, ['"'] = 1, ['\\'] = 1};

static int is_hex(unsigned char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

/* The values this reader skips or reads are checked as strictly as the tree parser checks them
 * (RFC 8259): a record that raises an alert is valid JSON as a whole, whichever path reads it
 * (docs/detect.md). On anything else the reader gives up, and the caller's parse reports where.
 * i at the opening quote: the index after the closing quote. */
static size_t vstr(xs *x, size_t i) {
    const unsigned char *s = (const unsigned char *)x->s;
    i++;
    for (;;) {
#ifdef __SSE2__
        /* 16 bytes at a time to the next quote, backslash or control character */
        const __m128i q = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\'), c1f = _mm_set1_epi8(0x1F);
        while (i + 16 <= x->rn) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
            __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, q), _mm_cmpeq_epi8(v, bs)),
                                     _mm_cmpeq_epi8(_mm_max_epu8(v, c1f), c1f)); /* v <= 0x1F, unsigned */
            unsigned bits = (unsigned)_mm_movemask_epi8(m);
            if (bits) {
                i += (size_t)__builtin_ctz(bits);
                break;
            }
            i += 16;
        }
#endif
        while (i < x->n && !str_stop[s[i]]) i++;
        if (i >= x->n || s[i] < 0x20) break;
        if (s[i] == '"') return i + 1;
        if (i + 1 >= x->n) break;
        unsigned char e = s[i + 1];
        if (e == 'u') {
            if (i + 5 >= x->n || !is_hex(s[i + 2]) || !is_hex(s[i + 3]) || !is_hex(s[i + 4]) || !is_hex(s[i + 5])) break;
            i += 6;
        } else if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' || e == 't') {
            i += 2;
        } else {
            break;
        }
    }
    x->giveup = 1;
    return x->n;
}

static size_t digits(const xs *x, size_t i) {
    while (i < x->n && x->s[i] >= '0' && x->s[i] <= '9') i++;
    return i;
}

/* A number as RFC 8259 writes it. */
static size_t vnum(xs *x, size_t i) {
    if (i < x->n && x->s[i] == '-') i++;
    if (i >= x->n) goto bad;
    if (x->s[i] == '0') i++;
    else if (x->s[i] >= '1' && x->s[i] <= '9') i = digits(x, i);
    else goto bad;
    if (i < x->n && x->s[i] == '.') {
        size_t j = digits(x, i + 1);
        if (j == i + 1) goto bad;
        i = j;
    }
    if (i < x->n && (x->s[i] == 'e' || x->s[i] == 'E')) {
        i++;
        if (i < x->n && (x->s[i] == '+' || x->s[i] == '-')) i++;
        size_t j = digits(x, i);
        if (j == i) goto bad;
        i = j;
    }
    return i;
bad:
    x->giveup = 1;
    return x->n;
}

#define MAX_SKIP_DEPTH 512

/* Check and skip any value starting at i; returns the index after it (n with x->giveup set when
 * it is not valid JSON). */
static size_t skip_value_d(xs *x, size_t i, int depth) {
    i = ws(x, i);
    if (i >= x->n || depth > MAX_SKIP_DEPTH) goto bad;
    char c = x->s[i];
    switch (c) {
    case '"': return vstr(x, i);
    case '{':
    case '[': {
        char close = c == '{' ? '}' : ']';
        i = ws(x, i + 1);
        if (i < x->n && x->s[i] == close) return i + 1;
        for (;;) {
            if (c == '{') {
                if (i >= x->n || x->s[i] != '"') goto bad;
                i = ws(x, vstr(x, i));
                if (x->giveup || i >= x->n || x->s[i] != ':') goto bad;
                i++;
            }
            i = ws(x, skip_value_d(x, i, depth + 1));
            if (x->giveup || i >= x->n) goto bad;
            if (x->s[i] == close) return i + 1;
            if (x->s[i] != ',') goto bad;
            i = ws(x, i + 1);
        }
    }
    case 't': if (x->n - i >= 4 && !memcmp(x->s + i, "true", 4)) return i + 4; goto bad;
    case 'f': if (x->n - i >= 5 && !memcmp(x->s + i, "false", 5)) return i + 5; goto bad;
    case 'n': if (x->n - i >= 4 && !memcmp(x->s + i, "null", 4)) return i + 4; goto bad;
    default: return vnum(x, i);
    }
bad:
    x->giveup = 1;
    return x->n;
}

static size_t skip_value(xs *x, size_t i) { return skip_value_d(x, i, 0); }

static int hexv(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static void put_cp(km_buf *b, uint32_t cp) {
    char u[4];
    if (cp < 0x80) { km_buf_putc(b, (char)cp); return; }
    if (cp < 0x800) { u[0] = (char)(0xC0 | (cp >> 6)); u[1] = (char)(0x80 | (cp & 0x3F)); km_buf_append(b, u, 2); return; }
    if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12)); u[1] = (char)(0x80 | ((cp >> 6) & 0x3F)); u[2] = (char)(0x80 | (cp & 0x3F));
        km_buf_append(b, u, 3);
        return;
    }
    u[0] = (char)(0xF0 | (cp >> 18)); u[1] = (char)(0x80 | ((cp >> 12) & 0x3F)); u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    u[3] = (char)(0x80 | (cp & 0x3F));
    km_buf_append(b, u, 4);
}

static int read_u4(const xs *x, size_t i, uint32_t *v) {
    if (i + 4 > x->n) return -1;
    uint32_t r = 0;
    for (int k = 0; k < 4; k++) {
        int h = hexv(x->s[i + (size_t)k]);
        if (h < 0) return -1;
        r = r * 16 + (uint32_t)h;
    }
    *v = r;
    return 0;
}

/* Append the decoded string at i (opening quote) to b, as the tree reader would decode it (lone
 * surrogates become U+FFFD). Returns the index after it. */
static size_t decode_str(const xs *x, size_t i, km_buf *b) {
    size_t j = i + 1, run = j;
    while (j < x->n && x->s[j] != '"') {
        if (x->s[j] != '\\') { j++; continue; }
        km_buf_append(b, x->s + run, j - run);
        char e = j + 1 < x->n ? x->s[j + 1] : 0;
        j += 2;
        switch (e) {
        case 'n': km_buf_putc(b, '\n'); break;
        case 't': km_buf_putc(b, '\t'); break;
        case 'r': km_buf_putc(b, '\r'); break;
        case 'b': km_buf_putc(b, '\b'); break;
        case 'f': km_buf_putc(b, '\f'); break;
        case 'u': {
            uint32_t cp;
            if (read_u4(x, j, &cp)) { put_cp(b, 0xFFFD); break; }
            j += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                uint32_t lo;
                if (j + 1 < x->n && x->s[j] == '\\' && x->s[j + 1] == 'u' && !read_u4(x, j + 2, &lo) && lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    j += 6;
                } else {
                    cp = 0xFFFD;
                }
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                cp = 0xFFFD;
            }
            put_cp(b, cp);
            break;
        }
        default: km_buf_putc(b, e); break; /* \" \\ \/ */
        }
        run = j;
    }
    if (j > x->n) j = x->n; /* a backslash as the last byte stepped past the end */
    if (run > j) run = j;
    km_buf_append(b, x->s + run, j - run);
    return j < x->n ? j + 1 : x->n;
}

/* The value kept as a slice of the text moves into the request's buffer. */
static void flush_first(xs *x, size_t r) {
    if (!x->first[r]) return;
    km_buf_append(&x->vals[r], x->first[r], x->first_len[r]);
    if (x->req[r].mode == KM_X_LIST) km_buf_putc(&x->vals[r], 0);
    x->first[r] = NULL;
}

/* stable: v points into the record's text (it outlives the walk) */
static void add_value(xs *x, size_t r, const char *v, size_t vl, int is_str, int in_array, int stable) {
    int list = x->req[r].mode == KM_X_LIST;
    /* list: the strings of array elements only, as the alert's resource list reads them */
    if (list && (!is_str || !in_array)) x->giveup = 1;
    if (x->count[r] == 0 && stable) {
        x->first[r] = v;
        x->first_len[r] = vl;
    } else {
        flush_first(x, r);
        if (!list && x->count[r]) km_buf_putc(&x->vals[r], ',');
        km_buf_append(&x->vals[r], v, vl);
        if (list) km_buf_putc(&x->vals[r], 0);
    }
    x->count[r]++;
    if (list) return;
    if (!is_str) x->only_str[r] = 0;
    if (in_array) x->through_array[r] = 1;
}

/* After an element or member: a ',' (consumed) or the closing bracket (left for the loop). Anything
 * else is not JSON: give up (the caller parses the record and reports it), because a value reader
 * that stops on a stray '}' or ']' would otherwise leave the loop where it was, forever (found by
 * fuzz/fuzz_extract: "[{...}<{...}]" hung detect). */
static size_t after_item(xs *x, size_t i, char close) {
    i = ws(x, i);
    if (i < x->n && x->s[i] == ',') return i + 1;
    if (i < x->n && x->s[i] != close) x->giveup = 1;
    return i;
}

/* Requests still possible at the current place: their index and where their next segment starts. */
typedef struct cands {
    uint8_t r[64];
    uint16_t pos[64];
    uint16_t len[64]; /* length of that segment */
    size_t n;
} cands;

static uint16_t seg_len(const char *s) { return (uint16_t)strcspn(s, "."); }

static size_t walk_value(xs *x, size_t i, const cands *c, int depth, int in_array);

/* A value at a path some request names exactly. */
static size_t take(xs *x, size_t i, size_t r, int in_array) {
    i = ws(x, i);
    if (i >= x->n) return x->n;
    char c = x->s[i];
    if (c == '"') {
        size_t e = vstr(x, i);
        if (x->giveup) return x->n;
        if (e <= x->n && e >= i + 2 && x->s[e - 1] == '"' && !memchr(x->s + i + 1, '\\', e - i - 2)) { /* nothing to decode */
            add_value(x, r, x->s + i + 1, e - i - 2, 1, in_array, 1);
            return e;
        }
        km_buf tmp = KM_BUF_INIT;
        e = decode_str(x, i, &tmp);
        add_value(x, r, tmp.data ? tmp.data : "", tmp.len, 1, in_array, 0);
        km_buf_free(&tmp);
        return e;
    }
    if (c == '[') {
        /* the elements, flattened; an object among them would be its JSON text: left to the tree */
        i++;
        for (;;) {
            i = ws(x, i);
            if (i >= x->n) return x->n;
            if (x->s[i] == ']') return i + 1;
            if (x->s[i] == '{') {
                x->giveup = 1;
                return skip_value(x, i);
            }
            i = take(x, i, r, 1);
            i = after_item(x, i, ']');
            if (x->giveup) return x->n;
        }
    }
    if (c == '{') {
        if (x->req[r].mode != KM_X_STRING) x->giveup = 1;
        else x->only_str[r] = 0, x->count[r]++; /* an object is present: not a string */
        return skip_value(x, i);
    }
    size_t e = skip_value(x, i);
    add_value(x, r, x->s + i, e - i, 0, in_array, 1);
    return e;
}

static size_t walk_object(xs *x, size_t i, const cands *c, int depth, int in_array) {
    /* i at '{' */
    const char *seen[64];
    size_t seenl[64], nseen = 0;
    i++;
    for (;;) {
        i = ws(x, i);
        if (i >= x->n) return x->n;
        if (x->s[i] == '}') return i + 1;
        if (x->s[i] != '"') return x->n;
        size_t ks = i + 1, ke = vstr(x, i);
        /* A key that runs to the end of the text (unterminated, or its quote the last byte) would
         * give a length of -1 (found by fuzz/fuzz_extract: a read past the record): not an object
         * this reader can finish, so the tree decides. */
        if (ke >= x->n || ke < ks + 1) {
            x->giveup = 1;
            return x->n;
        }
        size_t klen = ke - 1 - ks;
        const char *key = x->s + ks;
        i = ws(x, ke);
        if (i < x->n && x->s[i] == ':') i++;
        else {
            x->giveup = 1; /* not JSON: the tree reports it */
            return x->n;
        }
        cands next;
        next.n = 0;
        int exact = 0;
        int escaped = memchr(key, '\\', klen) != NULL;
        if (escaped) {
            /* an escaped key might spell a requested name: let the tree decide */
            if (c->n) x->giveup = 1;
        } else {
            for (size_t k = 0; k < c->n; k++) {
                const char *seg = x->req[c->r[k]].path + c->pos[k];
                if (c->len[k] != klen || (klen && seg[0] != key[0]) || memcmp(seg, key, klen)) continue;
                if (seg[klen] == 0) exact = 1;
                else {
                    next.r[next.n] = c->r[k];
                    next.pos[next.n] = (uint16_t)(c->pos[k] + klen + 1);
                    next.len[next.n++] = seg_len(seg + klen + 1);
                }
            }
        }
        if (exact || next.n) {
            if (memchr(key, '.', klen)) x->giveup = 1; /* "a.b" as one key: the tree tries both readings */
            for (size_t k = 0; k < nseen; k++)
                if (seenl[k] == klen && (!klen || seen[k][0] == key[0]) && !memcmp(seen[k], key, klen))
                    x->giveup = 1; /* a repeated key: last wins */
            if (nseen < 64) {
                seen[nseen] = key;
                seenl[nseen++] = klen;
            } else {
                x->giveup = 1;
            }
        } else if (!escaped && memchr(key, '.', klen)) {
            /* "a.b" might be the first part of a request through a dotted key */
            for (size_t k = 0; k < c->n; k++)
                if (!strncmp(x->req[c->r[k]].path + c->pos[k], key, klen)) x->giveup = 1;
        }
        if (x->giveup) return x->n;
        if (exact) {
            size_t before = i;
            for (size_t k = 0; k < c->n; k++) {
                const char *seg = x->req[c->r[k]].path + c->pos[k];
                if (c->len[k] == klen && (!klen || seg[0] == key[0]) && !memcmp(seg, key, klen) && seg[klen] == 0)
                    i = take(x, before, c->r[k], in_array);
            }
            if (next.n) i = walk_value(x, before, &next, depth + 1, in_array);
        } else if (next.n) {
            i = walk_value(x, i, &next, depth + 1, in_array);
        } else {
            i = skip_value(x, i);
        }
        if (x->giveup) return x->n;
        i = after_item(x, i, '}');
        if (x->giveup) return x->n;
    }
}

/* A value on the way to requested paths: objects are entered, arrays' elements followed. */
static size_t walk_value(xs *x, size_t i, const cands *c, int depth, int in_array) {
    i = ws(x, i);
    if (i >= x->n) return x->n;
    if (depth > MAX_REL_DEPTH) {
        x->giveup = 1;
        return x->n;
    }
    if (x->s[i] == '{') return walk_object(x, i, c, depth, in_array);
    if (x->s[i] == '[') {
        i++;
        for (;;) {
            i = ws(x, i);
            if (i >= x->n) return x->n;
            if (x->s[i] == ']') return i + 1;
            i = walk_value(x, i, c, depth + 1, 1);
            if (x->giveup) return x->n;
            i = after_item(x, i, ']');
            if (x->giveup) return x->n;
        }
    }
    return skip_value(x, i);
}

int km_extract(const char *json, size_t len, km_extract_req *req, size_t n, km_arena *a) {
    xs x;
    memset(&x, 0, sizeof x);
    x.s = json;
    x.n = x.rn = len;
    x.req = req;
    x.nreq = n;
    km_buf vals[64];
    int count[64], only_str[64], through[64];
    const char *first[64];
    size_t first_len[64];
    if (n > 64) return 1;
    for (size_t r = 0; r < n; r++) {
        vals[r] = (km_buf)KM_BUF_INIT;
        count[r] = 0;
        only_str[r] = 1;
        through[r] = 0;
        first[r] = NULL;
        first_len[r] = 0;
        req[r].value = NULL;
        req[r].nvalues = 0;
        req[r].len = 0;
    }
    x.vals = vals;
    x.count = count;
    x.only_str = only_str;
    x.through_array = through;
    x.first = first;
    x.first_len = first_len;
    size_t i = ws(&x, 0);
    cands all;
    all.n = n;
    for (size_t r = 0; r < n; r++) {
        all.r[r] = (uint8_t)r;
        all.pos[r] = 0;
        all.len[r] = seg_len(req[r].path);
        if (strlen(req[r].path) > 60000) return 1;
    }
    int rc = 0;
    if (i >= len || json[i] != '{') rc = -1;
    else walk_object(&x, i, &all, 0, 0);
    if (!rc && x.giveup) rc = 1;
    for (size_t r = 0; r < n && rc == 0; r++) {
        if (!count[r]) continue;
        if (req[r].mode == KM_X_STRING && (count[r] != 1 || !only_str[r] || through[r])) continue;
        if (vals[r].failed) { rc = -1; break; }
        /* the one value still in the text, or the buffer; a list's elements end with a NUL each,
         * and the arena's memory is zeroed, so the terminators come free */
        const char *src = first[r] ? first[r] : vals[r].data;
        size_t sl = first[r] ? first_len[r] : vals[r].len;
        size_t extra = first[r] && req[r].mode == KM_X_LIST ? 2 : 1;
        char *v = km_arena_alloc(a, sl + extra);
        if (!v) { rc = -1; break; }
        if (sl) memcpy(v, src, sl);
        req[r].value = v;
        req[r].len = sl;
        req[r].nvalues = (size_t)count[r];
    }
    for (size_t r = 0; r < n; r++) km_buf_free(&vals[r]);
    return rc;
}

static int strict_span(const char *json, size_t start, size_t end, size_t readable) {
    xs x;
    memset(&x, 0, sizeof x);
    x.s = json;
    x.n = end;
    x.rn = readable > end ? readable : end;
    /* started 64 levels down: a span nested near the reader's depth cap is left to km_extract,
     * which counts from where it began to skip */
    size_t i = skip_value_d(&x, start, 64);
    return !x.giveup && i == end;
}

int km_extract_strict(const char *json, size_t start, size_t end) { return strict_span(json, start, end, end); }

#define KEPT_HANDLES 64
#define KEPT_VALS 512

int km_extract_kept(const char *json, const km_kept_val *v, size_t nv, const km_kept_view *view, km_extract_req *req,
                    const int *handle, size_t n, km_arena *a) {
    if (view->odd || nv > KEPT_VALS) return 2;
    for (size_t i = 0; i < view->nskipped; i++)
        if (!strict_span(json, view->skipped[i][0], view->skipped[i][1], view->len)) return 2;
    /* each field's values chained in the event's order */
    int16_t head[KEPT_HANDLES], tail[KEPT_HANDLES], cnt[KEPT_HANDLES], next[KEPT_VALS];
    for (size_t h = 0; h < KEPT_HANDLES; h++) head[h] = tail[h] = -1, cnt[h] = 0;
    for (size_t i = 0; i < nv; i++) {
        uint32_t h = v[i].handle;
        if (h >= KEPT_HANDLES) continue;
        if (v[i].arr > 1) return 2; /* arrays in arrays: km_extract's depth rules decide */
        next[i] = -1;
        if (tail[h] < 0) head[h] = (int16_t)i;
        else next[tail[h]] = (int16_t)i;
        tail[h] = (int16_t)i;
        cnt[h]++;
    }
    /* the values' sizes first, then one piece of the arena for all of them (an allocation per
     * value was a sixth of this function) */
    size_t need[64], grand = 0;
    if (n > 64) return 2;
    for (size_t r = 0; r < n; r++) {
        req[r].value = NULL;
        req[r].nvalues = 0;
        req[r].len = 0;
        need[r] = 0;
        int h = handle[r];
        if (h < 0 || h >= KEPT_HANDLES) return 2;
        if (!cnt[h]) continue;
        if (req[r].mode == KM_X_STRING) {
            /* one string reached through objects only */
            const km_kept_val *x = &v[head[h]];
            if (cnt[h] != 1 || !x->is_str || x->arr) continue;
        } else if (req[r].mode == KM_X_LIST) {
            /* the strings of array elements only */
            for (int i = head[h]; i >= 0; i = next[i])
                if (!v[i].is_str || !v[i].arr) return 2;
        }
        size_t total = 0;
        for (int i = head[h]; i >= 0; i = next[i]) total += v[i].len + 1;
        need[r] = total + 1;
        grand += total + 1;
    }
    char *out = grand ? km_arena_alloc_raw(a, grand, 1) : NULL;
    if (grand && !out) return -1;
    for (size_t r = 0; r < n; r++) {
        if (!need[r]) continue;
        int h = handle[r];
        /* KM_X_TEXT joins the values with ','; KM_X_LIST ends each with a NUL, and one more */
        size_t k = 0;
        for (int i = head[h]; i >= 0; i = next[i]) {
            if (k && req[r].mode == KM_X_TEXT) out[k++] = ',';
            if (v[i].len) memcpy(out + k, v[i].s, v[i].len);
            k += v[i].len;
            if (req[r].mode == KM_X_LIST) out[k++] = 0;
        }
        out[k] = 0;
        req[r].value = out;
        req[r].len = k;
        req[r].nvalues = (size_t)cnt[h];
        out += need[r];
    }
    return 0;
}
