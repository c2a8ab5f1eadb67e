/* JSON document model (see include/kumomori/json.h).
 *
 * Written by hand rather than taken from a library because kumomori needs, for every value,
 * its byte offset (errors name the position), hard caps on depth and string length that
 * attackers' CloudTrail records cannot get round, the number's text as written (EventBridge
 * compares numbers by value but prints them as given), duplicate keys kept in order, and one
 * arena per document so that a whole snapshot file is freed at once. Recursive descent with an
 * explicit depth cap: the stack can never hold more than max_depth frames. */
#include "kumomori/json.h"
#include "util/limits.h"
#include "util/arena.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

struct km_json_doc {
    km_arena arena;
    km_json *root;
};

typedef struct parser {
    const char *s;
    size_t n, i;
    size_t depth, max_depth, max_string;
    int replace_utf8;
    km_arena *arena;
    km_error *err;
    km_buf tmp;
    /* Members and items of the containers being parsed, stacked (nested containers above
     * their parent's): each container's are copied into the arena once, at exactly their
     * number, when it closes. Growing every array in the arena instead left the outgrown
     * copies behind: a third of a large snapshot's memory. */
    km_json_member *mstack;
    size_t mtop, mcap;
    km_json **istack;
    size_t itop, icap;
    /* Object keys already stored in this document: AWS answers repeat the same few dozen
     * keys thousands of times, and each is stored once. Open addressing, no removal. */
    struct keyslot { const char *s; size_t len; uint32_t hash; } *keys;
    size_t nkeys, capkeys;
} parser;

static int fail(parser *p, size_t off, const char *what) {
    size_t line, col;
    km_json_line_col(p->s, p->n, off, &line, &col);
    if (p->err && p->err->code != KM_OK) return -1; /* keep the first (innermost) reason */
    km_error_set(p->err, KM_ERR, off, "invalid JSON at byte %zu (line %zu, column %zu): %s",
                 off, line, col, what);
    return -1;
}

static int fail_nomem(parser *p) {
    if (p->err && p->err->code != KM_OK) return -1;
    km_error_set(p->err, KM_ENOMEM, p->i, "out of memory while parsing JSON (at byte %zu)", p->i);
    return -1;
}

static void skip_ws(parser *p) {
    while (p->i < p->n) {
        char c = p->s[p->i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') p->i++;
        else break;
    }
}

static km_json *new_value(parser *p, km_json_type t, size_t off) {
    km_json *v = km_arena_alloc(p->arena, sizeof *v);
    if (!v) { fail_nomem(p); return NULL; }
    v->type = t;
    v->offset = off;
    return v;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int read_hex4(parser *p, size_t at, unsigned *out) {
    if (at + 4 > p->n) return -1;
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        int h = hexval(p->s[at + (size_t)k]);
        if (h < 0) return -1;
        v = v * 16 + (unsigned)h;
    }
    *out = v;
    return 0;
}

static int put_utf8(km_buf *b, unsigned cp) {
    char o[4];
    size_t k;
    if (cp < 0x80) { o[0] = (char)cp; k = 1; }
    else if (cp < 0x800) { o[0] = (char)(0xC0 | (cp >> 6)); o[1] = (char)(0x80 | (cp & 0x3F)); k = 2; }
    else if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12)); o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F)); k = 3;
    } else {
        o[0] = (char)(0xF0 | (cp >> 18)); o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[3] = (char)(0x80 | (cp & 0x3F)); k = 4;
    }
    return km_buf_append(b, o, k);
}

/* Length of a valid UTF-8 sequence at s[0..n), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n) {
    unsigned c = s[0];
    if (c >= 0xC2 && c <= 0xDF) return n >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80) return 0;
        if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] > 0x9F)) return 0;
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
            return 0;
        if ((c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] > 0x8F)) return 0;
        return 4;
    }
    return 0;
}

#define KEY_INTERN_MAX 64       /* longer keys are stored each time */
#define KEY_INTERN_FIRST 64     /* slots at first: most documents (a record, a policy) have few keys */
#define KEY_INTERN_SLOTS 4096   /* at most 3072 distinct keys are remembered per document */

static uint32_t key_hash(const char *s, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

/* Doubles the key table (up to KEY_INTERN_SLOTS). The table starts small and grows because
 * zeroing the full 96 KiB table for every small document cost more than parsing it (the audit
 * parses a few dozen tiny documents per run). Returns 0, or -1 when it cannot grow (the table
 * then stays as it is and new keys are simply stored each time). */
static int grow_keys(parser *p) {
    size_t old = p->keys ? p->capkeys : 0; /* capkeys counts only once keys exists */
    size_t cap = old ? old * 2 : KEY_INTERN_FIRST;
    if (cap > KEY_INTERN_SLOTS) return -1;
    struct keyslot *t = calloc(cap, sizeof *t);
    if (!t) return -1;
    for (size_t i = 0; i < old; i++) {
        if (!p->keys[i].s) continue;
        size_t j = p->keys[i].hash & (cap - 1);
        while (t[j].s) j = (j + 1) & (cap - 1);
        t[j] = p->keys[i];
    }
    free(p->keys);
    p->keys = t;
    p->capkeys = cap;
    return 0;
}

/* The stored copy of key s[0..n): found among the keys stored before, or stored now. */
static const char *intern_key(parser *p, const char *s, size_t n) {
    if (n > KEY_INTERN_MAX) return km_arena_strndup(p->arena, s, n);
    if (!p->keys && grow_keys(p)) return km_arena_strndup(p->arena, s, n);
    uint32_t h = key_hash(s, n);
    size_t mask = p->capkeys - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        struct keyslot *k = &p->keys[i];
        if (!k->s) {
            char *c = km_arena_strndup(p->arena, s, n);
            if (c && (p->nkeys + 1) * 4 > p->capkeys * 3 && grow_keys(p) == 0) {
                /* find the free slot again in the larger table */
                mask = p->capkeys - 1;
                for (i = h & mask; p->keys[i].s; i = (i + 1) & mask) {}
                k = &p->keys[i];
            }
            if (c && (p->nkeys + 1) * 4 <= p->capkeys * 3) {
                k->s = c;
                k->len = n;
                k->hash = h;
                p->nkeys++;
            }
            return c;
        }
        if (k->hash == h && k->len == n && memcmp(k->s, s, n) == 0) return k->s;
    }
}

/* Parse a string starting at the opening quote; decoded text goes to arena (object keys through
 * intern_key when is_key). */
static int parse_string(parser *p, const char **out, size_t *out_len, int is_key) {
    size_t start = p->i;
    p->i++; /* opening quote */
    {
        /* Most strings hold no escape and no byte above 0x7F: stored straight from the text. */
        size_t j = p->i;
        const char *t = p->s;
        while (j < p->n) {
            unsigned char c = (unsigned char)t[j];
            if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) break;
            j++;
        }
        if (j < p->n && t[j] == '"' && j - p->i <= p->max_string) {
            size_t len = j - p->i;
            *out = is_key ? intern_key(p, t + p->i, len) : km_arena_strndup(p->arena, t + p->i, len);
            if (!*out) return fail_nomem(p);
            *out_len = len;
            p->i = j + 1;
            return 0;
        }
    }
    km_buf_reset(&p->tmp);
    for (;;) {
        size_t run = p->i;
        while (p->i < p->n) {
            unsigned char c = (unsigned char)p->s[p->i];
            if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) break;
            p->i++;
        }
        /* harden helper: a run longer than the cap would fail the append with len unchanged and
         * be reported as out of memory; it is the string limit */
        if (p->tmp.len + (p->i - run) > p->max_string) goto toolong;
        if (p->i > run && km_buf_append(&p->tmp, p->s + run, p->i - run)) goto toolong;
        if (p->tmp.len > p->max_string) goto toolong;
        if (p->i >= p->n) return fail(p, start, "unterminated string");
        unsigned char c = (unsigned char)p->s[p->i];
        if (c == '"') { p->i++; break; }
        if (c < 0x20) return fail(p, p->i, "control character in string (must be escaped)");
        if (c >= 0x80) {
            size_t k = utf8_len((const unsigned char *)p->s + p->i, p->n - p->i);
            if (!k) {
                if (!p->replace_utf8) return fail(p, p->i, "invalid UTF-8 in string");
                if (km_buf_append(&p->tmp, "\xEF\xBF\xBD", 3)) goto toolong;
                p->i++;
            } else {
                if (km_buf_append(&p->tmp, p->s + p->i, k)) goto toolong;
                p->i += k;
            }
            continue;
        }
        /* backslash */
        size_t esc = p->i;
        if (p->i + 1 >= p->n) return fail(p, esc, "unterminated escape in string");
        char e = p->s[p->i + 1];
        p->i += 2;
        char ch;
        switch (e) {
        case '"': ch = '"'; break;
        case '\\': ch = '\\'; break;
        case '/': ch = '/'; break;
        case 'b': ch = '\b'; break;
        case 'f': ch = '\f'; break;
        case 'n': ch = '\n'; break;
        case 'r': ch = '\r'; break;
        case 't': ch = '\t'; break;
        case 'u': {
            unsigned cp;
            if (read_hex4(p, p->i, &cp)) return fail(p, esc, "bad \\u escape (needs 4 hex digits)");
            p->i += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                unsigned lo;
                if (p->i + 6 <= p->n && p->s[p->i] == '\\' && p->s[p->i + 1] == 'u' &&
                    read_hex4(p, p->i + 2, &lo) == 0 && lo >= 0xDC00 && lo <= 0xDFFF) {
                    p->i += 6;
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                } else if (p->replace_utf8) {
                    cp = 0xFFFD;
                } else {
                    return fail(p, esc, "unpaired surrogate in \\u escape");
                }
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                if (!p->replace_utf8) return fail(p, esc, "unpaired surrogate in \\u escape");
                cp = 0xFFFD;
            }
            if (put_utf8(&p->tmp, cp)) goto toolong;
            continue;
        }
        default:
            return fail(p, esc, "unknown escape in string");
        }
        if (km_buf_putc(&p->tmp, ch)) goto toolong;
    }
    if (p->tmp.len > p->max_string) goto toolong;
    *out = is_key ? intern_key(p, p->tmp.data ? p->tmp.data : "", p->tmp.len)
                  : km_arena_strndup(p->arena, p->tmp.data ? p->tmp.data : "", p->tmp.len);
    if (!*out) return fail_nomem(p);
    *out_len = p->tmp.len;
    return 0;
toolong:
    if (p->tmp.failed && p->tmp.len <= p->max_string) return fail_nomem(p);
    if (p->err && p->err->code == KM_OK)
        km_error_set(p->err, KM_ELIMIT, start,
                     "string at byte %zu is longer than the limit of %zu bytes (--limit string)", start,
                     p->max_string);
    return -1;
}

static int parse_number(parser *p, km_json *v) {
    size_t start = p->i;
    const char *s = p->s;
    size_t i = p->i, n = p->n;
    if (i < n && s[i] == '-') i++;
    if (i >= n) return fail(p, start, "bad number");
    if (s[i] == '0') i++;
    else if (s[i] >= '1' && s[i] <= '9') { while (i < n && s[i] >= '0' && s[i] <= '9') i++; }
    else return fail(p, start, "bad number");
    if (i < n && s[i] == '.') {
        i++;
        if (i >= n || s[i] < '0' || s[i] > '9') return fail(p, i, "bad number: digit expected after '.'");
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        if (i >= n || s[i] < '0' || s[i] > '9') return fail(p, i, "bad number: digit expected in exponent");
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    }
    size_t len = i - start;
    char *raw = km_arena_strndup(p->arena, s + start, len);
    if (!raw) return fail_nomem(p);
    v->u.num.raw = raw;
    v->u.num.len = len;
    errno = 0;
    v->u.num.d = strtod(raw, NULL);
    p->i = i;
    return 0;
}

static km_json *parse_value(parser *p);

static int push_item(parser *p, km_json *item) {
    if (p->itop == p->icap) {
        size_t nc = p->icap ? p->icap * 2 : 64;
        km_json **ns = realloc(p->istack, nc * sizeof *ns);
        if (!ns) return fail_nomem(p);
        p->istack = ns;
        p->icap = nc;
    }
    p->istack[p->itop++] = item;
    return 0;
}

static int push_member(parser *p, const char *key, size_t klen, km_json *val) {
    if (p->mtop == p->mcap) {
        size_t nc = p->mcap ? p->mcap * 2 : 64;
        km_json_member *ns = realloc(p->mstack, nc * sizeof *ns);
        if (!ns) return fail_nomem(p);
        p->mstack = ns;
        p->mcap = nc;
    }
    p->mstack[p->mtop].key = key;
    p->mstack[p->mtop].key_len = klen;
    p->mstack[p->mtop].value = val;
    p->mtop++;
    return 0;
}

/* Copy stack[base..top) of elem-sized entries into the arena; NULL for none. */
static int settle(parser *p, const void *stack, size_t base, size_t top, size_t elem, void **out) {
    *out = NULL;
    if (top == base) return 0;
    void *a = km_arena_alloc_raw(p->arena, (top - base) * elem, 8);
    if (!a) return fail_nomem(p);
    memcpy(a, (const char *)stack + base * elem, (top - base) * elem);
    *out = a;
    return 0;
}

static km_json *parse_array(parser *p) {
    km_json *v = new_value(p, KM_JSON_ARRAY, p->i);
    if (!v) return NULL;
    p->i++;
    size_t base = p->itop;
    skip_ws(p);
    if (p->i < p->n && p->s[p->i] == ']') { p->i++; goto done; }
    for (;;) {
        skip_ws(p);
        km_json *item = parse_value(p);
        if (!item) return NULL;
        if (push_item(p, item)) return NULL;
        skip_ws(p);
        if (p->i >= p->n) { fail(p, v->offset, "unterminated array"); return NULL; }
        char c = p->s[p->i];
        if (c == ',') { p->i++; continue; }
        if (c == ']') { p->i++; break; }
        fail(p, p->i, "expected ',' or ']' in array");
        return NULL;
    }
done:
    if (settle(p, p->istack, base, p->itop, sizeof *p->istack, (void **)&v->u.arr.items)) return NULL;
    v->u.arr.n = p->itop - base;
    p->itop = base;
    return v;
}

static km_json *parse_object(parser *p) {
    km_json *v = new_value(p, KM_JSON_OBJECT, p->i);
    if (!v) return NULL;
    p->i++;
    size_t base = p->mtop;
    skip_ws(p);
    if (p->i < p->n && p->s[p->i] == '}') { p->i++; goto done; }
    for (;;) {
        skip_ws(p);
        if (p->i >= p->n) { fail(p, v->offset, "unterminated object"); return NULL; }
        if (p->s[p->i] != '"') { fail(p, p->i, "expected a string key in object"); return NULL; }
        const char *key;
        size_t klen;
        if (parse_string(p, &key, &klen, 1)) return NULL;
        skip_ws(p);
        if (p->i >= p->n || p->s[p->i] != ':') { fail(p, p->i, "expected ':' after object key"); return NULL; }
        p->i++;
        skip_ws(p);
        km_json *val = parse_value(p);
        if (!val) return NULL;
        if (push_member(p, key, klen, val)) return NULL;
        skip_ws(p);
        if (p->i >= p->n) { fail(p, v->offset, "unterminated object"); return NULL; }
        char c = p->s[p->i];
        if (c == ',') { p->i++; continue; }
        if (c == '}') { p->i++; break; }
        fail(p, p->i, "expected ',' or '}' in object");
        return NULL;
    }
done:
    if (settle(p, p->mstack, base, p->mtop, sizeof *p->mstack, (void **)&v->u.obj.members)) return NULL;
    v->u.obj.n = p->mtop - base;
    p->mtop = base;
    return v;
}

static int match_word(parser *p, const char *w, size_t wl) {
    if (p->n - p->i < wl || memcmp(p->s + p->i, w, wl) != 0) return 0;
    p->i += wl;
    return 1;
}

static km_json *parse_value(parser *p) {
    skip_ws(p);
    if (p->i >= p->n) { fail(p, p->i, "unexpected end of input, a value was expected"); return NULL; }
    size_t off = p->i;
    char c = p->s[p->i];
    km_json *v = NULL;
    switch (c) {
    case '{':
    case '[':
        if (++p->depth > p->max_depth) {
            if (p->err && p->err->code == KM_OK)
                km_error_set(p->err, KM_ELIMIT, off,
                             "JSON nested deeper than the limit of %zu at byte %zu (--limit depth)", p->max_depth, off);
            return NULL;
        }
        v = c == '{' ? parse_object(p) : parse_array(p);
        p->depth--;
        break;
    case '"':
        v = new_value(p, KM_JSON_STRING, off);
        if (v && parse_string(p, &v->u.str.s, &v->u.str.len, 0)) return NULL;
        break;
    case 't':
        if (!match_word(p, "true", 4)) { fail(p, off, "unknown literal (expected true)"); return NULL; }
        v = new_value(p, KM_JSON_TRUE, off);
        break;
    case 'f':
        if (!match_word(p, "false", 5)) { fail(p, off, "unknown literal (expected false)"); return NULL; }
        v = new_value(p, KM_JSON_FALSE, off);
        break;
    case 'n':
        if (!match_word(p, "null", 4)) { fail(p, off, "unknown literal (expected null)"); return NULL; }
        v = new_value(p, KM_JSON_NULL, off);
        break;
    default:
        if (c == '-' || (c >= '0' && c <= '9')) {
            v = new_value(p, KM_JSON_NUMBER, off);
            if (v && parse_number(p, v)) return NULL;
        } else {
            fail(p, off, "unexpected character, a value was expected");
            return NULL;
        }
    }
    if (!v) return NULL;
    /* A literal or number must not run on into letters or digits ("trueX", "12a"). */
    if ((v->type != KM_JSON_OBJECT && v->type != KM_JSON_ARRAY && v->type != KM_JSON_STRING) &&
        p->i < p->n) {
        char d = p->s[p->i];
        if ((d >= 'a' && d <= 'z') || (d >= 'A' && d <= 'Z') || (d >= '0' && d <= '9') || d == '_' ||
            d == '.' || d == '+' || d == '-') {
            fail(p, p->i, "unexpected character after value");
            return NULL;
        }
    }
    v->end = p->i;
    return v;
}

km_json_doc *km_json_parse(const char *text, size_t len, const km_json_opts *opts,
                           size_t *consumed, km_error *err) {
    km_error_clear(err);
    km_json_doc *doc = calloc(1, sizeof *doc);
    if (!doc) {
        km_error_set(err, KM_ENOMEM, 0, "out of memory");
        return NULL;
    }
    km_arena_init(&doc->arena, 0);
    parser p = {0};
    p.s = text;
    p.n = len;
    /* harden helper: a user-set limit (util/limits.h) replaces the default and may lower, never
     * raise, a caller's own (a caller's depth protects its recursive consumers' stacks). */
    p.max_depth = opts && opts->max_depth ? opts->max_depth : km_limit(KM_LIMIT_DEPTH, 512);
    if (km_limit_is_set(KM_LIMIT_DEPTH) && km_limit(KM_LIMIT_DEPTH, 0) < p.max_depth) p.max_depth = km_limit(KM_LIMIT_DEPTH, 0);
    p.max_string = opts && opts->max_string ? opts->max_string : km_limit(KM_LIMIT_STRING, (size_t)64 << 20);
    if (km_limit_is_set(KM_LIMIT_STRING) && km_limit(KM_LIMIT_STRING, 0) < p.max_string) p.max_string = km_limit(KM_LIMIT_STRING, 0);
    p.replace_utf8 = opts ? opts->replace_invalid_utf8 : 0;
    p.arena = &doc->arena;
    p.err = err;
    km_buf_init(&p.tmp, p.max_string + 8);
    /* Strings and numbers point into the arena; keys too. Nothing points into text. */
    doc->root = parse_value(&p);
    if (doc->root) {
        skip_ws(&p);
        if (p.i < p.n && !(opts && opts->allow_trailing)) {
            fail(&p, p.i, "unexpected data after the JSON value");
            doc->root = NULL;
        }
    }
    km_buf_free(&p.tmp);
    free(p.mstack);
    free(p.istack);
    free(p.keys);
    if (!doc->root) {
        if (err && err->code == KM_OK) km_error_set(err, KM_ERR, p.i, "invalid JSON");
        km_json_doc_free(doc);
        return NULL;
    }
    if (consumed) *consumed = p.i;
    return doc;
}

const km_json *km_json_root(const km_json_doc *doc) { return doc ? doc->root : NULL; }

void km_json_doc_free(km_json_doc *doc) {
    if (!doc) return;
    km_arena_free(&doc->arena);
    free(doc);
}

const km_json *km_json_getn(const km_json *v, const char *key, size_t key_len) {
    if (!v || v->type != KM_JSON_OBJECT) return NULL;
    for (size_t i = v->u.obj.n; i-- > 0;) {
        const km_json_member *m = &v->u.obj.members[i];
        if (m->key_len == key_len && memcmp(m->key, key, key_len) == 0) return m->value;
    }
    return NULL;
}

const km_json *km_json_get(const km_json *v, const char *key) {
    return km_json_getn(v, key, strlen(key));
}

const km_json *km_json_path(const km_json *v, const char *dotted) {
    const char *s = dotted;
    while (v && *s) {
        const char *dot = strchr(s, '.');
        size_t n = dot ? (size_t)(dot - s) : strlen(s);
        v = km_json_getn(v, s, n);
        s += n;
        if (*s == '.') s++;
    }
    return v;
}

const km_json *km_json_at(const km_json *v, size_t i) {
    if (!v || v->type != KM_JSON_ARRAY || i >= v->u.arr.n) return NULL;
    return v->u.arr.items[i];
}

size_t km_json_len(const km_json *v) {
    if (!v) return 0;
    if (v->type == KM_JSON_ARRAY) return v->u.arr.n;
    if (v->type == KM_JSON_OBJECT) return v->u.obj.n;
    return 0;
}

const char *km_json_str(const km_json *v) {
    return v && v->type == KM_JSON_STRING ? v->u.str.s : NULL;
}

const char *km_json_get_str(const km_json *obj, const char *key, const char *def) {
    const char *s = km_json_str(km_json_get(obj, key));
    return s ? s : def;
}

int km_json_is(const km_json *v, km_json_type t) { return v && v->type == t; }

const char *km_json_type_name(km_json_type t) {
    switch (t) {
    case KM_JSON_NULL: return "null";
    case KM_JSON_FALSE: return "false";
    case KM_JSON_TRUE: return "true";
    case KM_JSON_NUMBER: return "number";
    case KM_JSON_STRING: return "string";
    case KM_JSON_ARRAY: return "array";
    case KM_JSON_OBJECT: return "object";
    }
    return "?";
}

int km_json_write(km_buf *b, const km_json *v) {
    if (!v) return km_buf_puts(b, "null");
    switch (v->type) {
    case KM_JSON_NULL: return km_buf_puts(b, "null");
    case KM_JSON_FALSE: return km_buf_puts(b, "false");
    case KM_JSON_TRUE: return km_buf_puts(b, "true");
    case KM_JSON_NUMBER: return km_buf_append(b, v->u.num.raw, v->u.num.len);
    case KM_JSON_STRING: return km_buf_json_str(b, v->u.str.s, v->u.str.len);
    case KM_JSON_ARRAY:
        if (km_buf_putc(b, '[')) return -1;
        for (size_t i = 0; i < v->u.arr.n; i++) {
            if (i && km_buf_putc(b, ',')) return -1;
            if (km_json_write(b, v->u.arr.items[i])) return -1;
        }
        return km_buf_putc(b, ']');
    case KM_JSON_OBJECT:
        if (km_buf_putc(b, '{')) return -1;
        for (size_t i = 0; i < v->u.obj.n; i++) {
            const km_json_member *m = &v->u.obj.members[i];
            if (i && km_buf_putc(b, ',')) return -1;
            if (km_buf_json_str(b, m->key, m->key_len) || km_buf_putc(b, ':')) return -1;
            if (km_json_write(b, m->value)) return -1;
        }
        return km_buf_putc(b, '}');
    }
    return -1;
}

void km_json_line_col(const char *text, size_t len, size_t off, size_t *line, size_t *col) {
    size_t l = 1, c = 1;
    if (off > len) off = len;
    for (size_t i = 0; i < off; i++) {
        if (text[i] == '\n') { l++; c = 1; }
        else c++;
    }
    *line = l;
    *col = c;
}
