/* Event flattener: walks the event's bytes once and hands over only the leaf values whose
 * dotted names some pattern uses, each with its array element (for array consistency).
 *
 * Written by hand because it is the hot path of detection: a general JSON parser would build a
 * tree of the whole event, while most of a CloudTrail record (or a GeoJSON polygon) is never
 * looked at. Subtrees no pattern reads are skipped 64 bytes at a time with bit masks (strings
 * found by their unescaped quotes, brackets counted outside strings); within them only string
 * termination and bracket balance are checked. Everything on a used path is validated as strict
 * JSON, with the same decoding rules as src/json (invalid UTF-8 becomes U+FFFD). */
#include "kumomori/match.h"
#include "match/internal.h"

#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define KM_X86_DISPATCH 1
#endif

/* ---- name states -------------------------------------------------------------------------- */

static uint32_t hash_key(uint32_t parent, const char *k, size_t n) {
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (parent * 0xFF51AFD7ED558CCDull);
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)k[i];
        h *= 0x100000001B3ull;
    }
    h ^= h >> 29;
    return (uint32_t)h;
}

void km_names_init(km_names *n) {
    memset(n, 0, sizeof *n);
}

void km_names_free(km_names *n) {
    if (!n) return;
    for (size_t i = 0; i < n->nst; i++) free(n->st[i].kids);
    for (size_t i = 0; i < n->nstore; i++) free(n->store[i]);
    free(n->store);
    free(n->tab);
    free(n->st);
    memset(n, 0, sizeof *n);
}

static inline uint64_t key_head(const char *k, size_t n) {
    uint64_t h = 0;
    size_t m = n < 8 ? n : 8;
    for (size_t i = 0; i < m; i++) h |= (uint64_t)(unsigned char)k[i] << (8 * i);
    return h;
}

#define KM_FEW_KIDS 16

static int32_t step_hashed(const km_names *n, uint32_t parent, const char *key, size_t klen);

/* head = key_head(key, klen), computed by a caller that can read it faster. */
static inline int32_t names_step_h(const km_names *n, uint32_t parent, const char *key, size_t klen, uint64_t head) {
    const km_nstate *st = &n->st[parent];
    if (st->nchildren <= KM_FEW_KIDS) {
        for (uint32_t i = 0; i < st->nchildren; i++) {
            const km_nkid *k = &st->kids[i];
            if (k->head == head && k->klen == klen && (klen <= 8 || memcmp(k->key + 8, key + 8, klen - 8) == 0))
                return (int32_t)k->child;
        }
        return -1;
    }
    return step_hashed(n, parent, key, klen);
}

int32_t km_names_step(const km_names *n, uint32_t parent, const char *key, size_t klen) {
    return names_step_h(n, parent, key, klen, key_head(key, klen));
}

static int32_t step_hashed(const km_names *n, uint32_t parent, const char *key, size_t klen) {
    const km_nstate *st = &n->st[parent];
    if (st->nchildren <= KM_FEW_KIDS) {
        uint64_t head = key_head(key, klen);
        for (uint32_t i = 0; i < st->nchildren; i++) {
            const km_nkid *k = &st->kids[i];
            if (k->head == head && k->klen == klen && (klen <= 8 || memcmp(k->key + 8, key + 8, klen - 8) == 0))
                return (int32_t)k->child;
        }
        return -1;
    }
    uint32_t h = hash_key(parent, key, klen);
    size_t mask = n->tabcap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        const km_nedge *e = &n->tab[i];
        if (!e->key) return -1;
        if (e->hash == h && e->parent == parent && e->klen == klen && memcmp(e->key, key, klen) == 0) return (int32_t)e->child;
    }
}

static int32_t new_state(km_names *n) {
    if (n->nst == n->capst) {
        size_t nc = n->capst ? n->capst * 2 : 16;
        km_nstate *ns = realloc(n->st, nc * sizeof *ns);
        if (!ns) return -1;
        n->st = ns;
        n->capst = nc;
    }
    n->st[n->nst] = (km_nstate){-1, 0, NULL, 0, 0, 0, 0};
    return (int32_t)n->nst++;
}

static int tab_grow(km_names *n) {
    size_t nc = n->tabcap ? n->tabcap * 2 : 64;
    km_nedge *nt = calloc(nc, sizeof *nt);
    if (!nt) return -1;
    for (size_t i = 0; i < n->tabcap; i++) {
        km_nedge *e = &n->tab[i];
        if (!e->key) continue;
        size_t j = e->hash & (nc - 1);
        while (nt[j].key) j = (j + 1) & (nc - 1);
        nt[j] = *e;
    }
    free(n->tab);
    n->tab = nt;
    n->tabcap = nc;
    return 0;
}

/* Records the edge in the hash table and the parent's kid list. key points into the names' store
 * (a copy of the whole name, km_names_add_field): the edges of a name of k parts are k(k+1)/2
 * substrings of it, not copies each. */
static int put_edge(km_names *n, uint32_t parent, uint32_t child, const char *key, size_t klen) {
    if ((n->ntab + 1) * 2 > n->tabcap && tab_grow(n)) return -1;
    km_nstate *st = &n->st[parent];
    if (st->nchildren == st->capkids) {
        uint32_t nc = st->capkids ? st->capkids * 2 : 4;
        km_nkid *nk = realloc(st->kids, nc * sizeof *nk);
        if (!nk) return -1;
        st->kids = nk;
        st->capkids = nc;
    }
    const char *k = key;
    uint32_t h = hash_key(parent, key, klen);
    size_t j = h & (n->tabcap - 1);
    while (n->tab[j].key) j = (j + 1) & (n->tabcap - 1);
    n->tab[j] = (km_nedge){parent, child, h, (uint32_t)klen, k};
    n->ntab++;
    st->kids[st->nchildren++] = (km_nkid){key_head(k, klen), (uint32_t)klen, child, k};
    return 0;
}

/* Edge parent --key--> child, creating child when new. Returns the child or -1. */
static int32_t edge(km_names *n, uint32_t parent, const char *key, size_t klen) {
    int32_t c = km_names_step(n, parent, key, klen);
    if (c >= 0) return c;
    c = new_state(n);
    if (c < 0 || put_edge(n, parent, (uint32_t)c, key, klen)) return -1;
    return c;
}

/* A state is the joined name; the same name reached by different key splits must be the same
 * state, so edges are added from every dot boundary to every later one. States are found by
 * walking from the root with the whole prefix as one key. */
int km_names_add_field(km_names *n, const char *name, size_t len, uint32_t field) {
    /* boundaries: positions of '.' and len; prefix P(b) = name[0..b) */
    size_t nb = 1;
    for (size_t i = 0; i < len; i++)
        if (name[i] == '.') nb++;
    if (nb > KM_NAME_MAX_PARTS) return -1;
    if (n->nst == 0 && new_state(n) < 0) return -1; /* root = 0 */
    /* the copy every edge's key points into, kept until km_names_free */
    if (n->nstore == n->capstore) {
        size_t nc = n->capstore ? n->capstore * 2 : 16;
        char **ns = realloc(n->store, nc * sizeof *ns);
        if (!ns) return -1;
        n->store = ns;
        n->capstore = nc;
    }
    char *copy = malloc(len + 1);
    if (!copy) return -1;
    memcpy(copy, name, len);
    copy[len] = 0;
    n->store[n->nstore++] = copy;
    name = copy;
    size_t *b = malloc(nb * sizeof *b);
    int32_t *st = malloc(nb * sizeof *st);
    if (!b || !st) {
        free(b);
        free(st);
        return -1;
    }
    size_t k = 0;
    for (size_t i = 0; i < len; i++)
        if (name[i] == '.') b[k++] = i;
    b[k] = len;
    int rc = 0;
    /* canonical state of each prefix: root --P--> state */
    for (size_t i = 0; i < nb && rc == 0; i++) {
        st[i] = edge(n, 0, name, b[i]);
        if (st[i] < 0) rc = -1;
    }
    for (size_t i = 0; i < nb && rc == 0; i++) {
        for (size_t j = i + 1; j < nb && rc == 0; j++) {
            /* from P(b[i]) with key name(b[i]+1 .. b[j]) to P(b[j]) */
            const char *key = name + b[i] + 1;
            size_t klen = b[j] - b[i] - 1;
            int32_t c = km_names_step(n, (uint32_t)st[i], key, klen);
            if (c >= 0) continue;
            if (put_edge(n, (uint32_t)st[i], (uint32_t)st[j], key, klen)) { rc = -1; break; }
        }
    }
    if (rc == 0) n->st[st[nb - 1]].field = (int32_t)field;
    free(b);
    free(st);
    return rc;
}

void km_names_mark_kept(km_names *n, const char *name, size_t len) {
    if (n->nst == 0) return;
    n->st[0].onpath = 1;
    /* every prefix ending at a dot, and the whole name: the canonical states from the root */
    uint16_t level = 0;
    for (size_t b = 0; b <= len; b++) {
        if (b < len && name[b] != '.') continue;
        level++;
        int32_t st = km_names_step(n, 0, name, b);
        if (st < 0) continue;
        n->st[st].onpath = 1;
        n->st[st].level = level;
        if (b == len) n->st[st].kept = 1;
    }
    n->kept = 1;
}

/* ---- array consistency ---------------------------------------------------------------------- */

int km_elem_consistent(const km_elem *el, int32_t a, int32_t b) {
    if (a < 0 || b < 0 || a == b) return 1;
    while (el[a].depth > el[b].depth) a = el[a].parent;
    while (el[b].depth > el[a].depth) b = el[b].parent;
    while (a != b && el[a].parent != el[b].parent) {
        a = el[a].parent;
        b = el[b].parent;
    }
    if (a == b) return 1;
    return el[a].array != el[b].array;
}

/* ---- the walk ------------------------------------------------------------------------------ */

typedef struct fw {
    const km_names *names;
    const unsigned char *s;
    size_t n, i;
    km_flat *out;
    km_error *err;
    size_t max_depth, max_fields;
    uint32_t narrays;
    uint32_t arrdepth; /* arrays around the current value */
    char *kbuf; /* decoded key with escapes */
    size_t kcap;
} fw;

static int ferr(fw *w, size_t off, const char *what) {
    km_error_set(w->err, KM_ERR, off, "invalid JSON at byte %zu: %s", off, what);
    return -1;
}

static int nomem(fw *w) {
    km_error_set(w->err, KM_ENOMEM, w->i, "out of memory flattening the event");
    return -1;
}

static inline __attribute__((always_inline)) void ws(fw *w) {
    size_t i = w->i;
    /* anything above ' ' ends it at once: the usual case */
    while (i < w->n && w->s[i] <= ' ') {
        unsigned char c = w->s[i];
        if (c != ' ' && c != '\n' && c != '\r' && c != '\t') break;
        i++;
    }
    w->i = i;
}

/* Index of the first byte in [i, n) that is '"', '\\', a control character or non-ASCII. */
static size_t find_special(const unsigned char *s, size_t i, size_t n) {
#if defined(__SSE2__)
    const __m128i q = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\'), ctl = _mm_set1_epi8(0x1F);
    while (i + 16 <= n) {
        __m128i v = _mm_loadu_si128((const __m128i *)(s + i));
        /* bytes <= 0x1F or >= 0x80: signed compare catches >= 0x80 as negative */
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, q), _mm_cmpeq_epi8(v, bs)),
                                 _mm_or_si128(_mm_cmpgt_epi8(_mm_set1_epi8(0x20), v), _mm_cmplt_epi8(v, _mm_setzero_si128())));
        (void)ctl;
        int mask = _mm_movemask_epi8(m);
        if (mask) return i + (size_t)__builtin_ctz((unsigned)mask);
        i += 16;
    }
#endif
    while (i < n) {
        unsigned char c = s[i];
        if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) return i;
        i++;
    }
    return n;
}

/* Most keys and values are short plain ASCII: when the 16 bytes from i (a string's first
 * content byte) hold its closing quote and nothing before it needs decoding or checking
 * (backslash, control character, non-ASCII), the quote's index; else (size_t)-1 and the caller
 * takes the general path. Inlined into the walk: it runs once per key and value. */
static inline __attribute__((always_inline)) size_t quick_close(const unsigned char *s, size_t i, size_t n) {
#if defined(__SSE2__)
    if (i + 16 <= n) {
        __m128i v = _mm_loadu_si128((const __m128i *)(s + i));
        unsigned q = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')));
        /* signed compare: bytes >= 0x80 are negative, so "< 0x20" also finds non-ASCII */
        unsigned sp = (unsigned)_mm_movemask_epi8(
            _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\\')), _mm_cmplt_epi8(v, _mm_set1_epi8(0x20))));
        if (q) {
            unsigned k = (unsigned)__builtin_ctz(q);
            if (!(sp & ((1u << k) - 1))) return i + k;
        }
    }
#else
    (void)s, (void)i, (void)n;
#endif
    return (size_t)-1;
}

/* quick_close for longer strings: up to four 16-byte blocks from i (the kept walk's values:
 * eventTime is 20 bytes, eventID 36, ARNs and user agents longer), where a string that needs
 * nothing decoded or checked ends; else (size_t)-1, and the caller takes parse_string. The
 * blocks stop at n (the last partial block is left to parse_string). Its block test repeats
 * quick_close's on purpose: one always-inline function for both made gcc's walk 5 M instructions
 * dearer on the account-day (callgrind, session 7), in the walks that call either. */
static inline __attribute__((always_inline)) size_t quick_close_long(const unsigned char *s, size_t i, size_t n) {
#if defined(__SSE2__)
    for (int b = 0; b < 4 && i + 16 <= n; b++, i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(s + i));
        unsigned q = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')));
        unsigned sp = (unsigned)_mm_movemask_epi8(
            _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\\')), _mm_cmplt_epi8(v, _mm_set1_epi8(0x20))));
        if (q) {
            unsigned k = (unsigned)__builtin_ctz(q);
            return sp & ((1u << k) - 1) ? (size_t)-1 : i + k;
        }
        if (sp) return (size_t)-1;
    }
#else
    (void)s, (void)i, (void)n;
#endif
    return (size_t)-1;
}

static size_t utf8_len(const unsigned char *s, size_t n) {
    unsigned c = s[0];
    if (c >= 0xC2 && c <= 0xDF) return n >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80) return 0;
        if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] > 0x9F)) return 0;
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80) return 0;
        if ((c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] > 0x8F)) return 0;
        return 4;
    }
    return 0;
}

static int hex4(const unsigned char *s, unsigned *out) {
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        unsigned c = s[k], d;
        if (c >= '0' && c <= '9') d = c - '0';
        else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
        else return -1;
        v = v * 16 + d;
    }
    *out = v;
    return 0;
}

static int buf_put(char **b, size_t *n, size_t *cap, const void *p, size_t k) {
    if (k == 0) return 0;
    if (*n + k > *cap) {
        size_t nc = *cap ? *cap : 256;
        while (nc < *n + k) nc *= 2;
        char *nb = realloc(*b, nc);
        if (!nb) return -1;
        *b = nb;
        *cap = nc;
    }
    memcpy(*b + *n, p, k);
    *n += k;
    return 0;
}

static int put_cp(char **b, size_t *n, size_t *cap, unsigned cp) {
    unsigned char u[4];
    size_t k;
    if (cp < 0x80) { u[0] = (unsigned char)cp; k = 1; }
    else if (cp < 0x800) { u[0] = (unsigned char)(0xC0 | cp >> 6); u[1] = (unsigned char)(0x80 | (cp & 0x3F)); k = 2; }
    else if (cp < 0x10000) {
        u[0] = (unsigned char)(0xE0 | cp >> 12); u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (unsigned char)(0x80 | (cp & 0x3F)); k = 3;
    } else {
        u[0] = (unsigned char)(0xF0 | cp >> 18); u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F)); u[3] = (unsigned char)(0x80 | (cp & 0x3F)); k = 4;
    }
    return buf_put(b, n, cap, u, k);
}

/* Parse a string at w->i (the opening quote). When it needs no decoding, *raw points into the
 * event; otherwise the decoded text is appended to (*b, *bn) starting at *boff. */
static int parse_string(fw *w, const char **raw, size_t *len, int *decoded, char **b, size_t *bn, size_t *bcap) {
    size_t start = w->i++;
    size_t run = w->i;
    size_t j = find_special(w->s, w->i, w->n);
    if (j < w->n && w->s[j] == '"') {
        *raw = (const char *)w->s + run;
        *len = j - run;
        *decoded = 0;
        w->i = j + 1;
        return 0;
    }
    /* slow path: escapes, control characters or non-ASCII */
    size_t b0 = *bn;
    w->i = j;
    int clean = 1; /* no change to the bytes so far: could still point into the event */
    for (;;) {
        if (w->i >= w->n) return ferr(w, start, "unterminated string");
        unsigned char c = w->s[w->i];
        if (c == '"') break;
        if (c < 0x20) return ferr(w, w->i, "control character in string (must be escaped)");
        if (c >= 0x80) {
            size_t k = utf8_len(w->s + w->i, w->n - w->i);
            if (k) {
                if (!clean && buf_put(b, bn, bcap, w->s + w->i, k)) return nomem(w);
                w->i += k;
            } else {
                if (clean) {
                    if (buf_put(b, bn, bcap, w->s + run, w->i - run)) return nomem(w);
                    clean = 0;
                }
                if (buf_put(b, bn, bcap, "\xEF\xBF\xBD", 3)) return nomem(w);
                w->i++;
            }
        } else if (c == '\\') {
            if (clean) {
                if (buf_put(b, bn, bcap, w->s + run, w->i - run)) return nomem(w);
                clean = 0;
            }
            size_t esc = w->i;
            if (w->i + 1 >= w->n) return ferr(w, esc, "unterminated escape in string");
            unsigned char e = w->s[w->i + 1];
            w->i += 2;
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
                unsigned cp, lo;
                if (w->i + 4 > w->n || hex4(w->s + w->i, &cp)) return ferr(w, esc, "bad \\u escape (needs 4 hex digits)");
                w->i += 4;
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    if (w->i + 6 <= w->n && w->s[w->i] == '\\' && w->s[w->i + 1] == 'u' && hex4(w->s + w->i + 2, &lo) == 0 &&
                        lo >= 0xDC00 && lo <= 0xDFFF) {
                        w->i += 6;
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    } else {
                        cp = 0xFFFD;
                    }
                } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                    cp = 0xFFFD;
                }
                if (put_cp(b, bn, bcap, cp)) return nomem(w);
                continue;
            }
            default:
                return ferr(w, esc, "unknown escape in string");
            }
            if (buf_put(b, bn, bcap, &ch, 1)) return nomem(w);
        } else {
            size_t k = find_special(w->s, w->i, w->n);
            if (!clean && buf_put(b, bn, bcap, w->s + w->i, k - w->i)) return nomem(w);
            w->i = k;
        }
    }
    if (clean) {
        *raw = (const char *)w->s + run;
        *len = w->i - run;
        *decoded = 0;
    } else {
        *raw = NULL;
        *len = *bn - b0;
        *decoded = 1;
    }
    w->i++;
    (void)b0;
    return 0;
}

/* Skip a string without decoding (only termination matters). */
static int skip_string(fw *w) {
    size_t start = w->i++;
    for (;;) {
        size_t j = find_special(w->s, w->i, w->n);
        if (j >= w->n) return ferr(w, start, "unterminated string");
        unsigned char c = w->s[j];
        if (c == '"') {
            w->i = j + 1;
            return 0;
        }
        if (c == '\\') {
            if (j + 1 >= w->n) return ferr(w, start, "unterminated string");
            w->i = j + 2;
        } else {
            w->i = j + 1;
        }
    }
}

static int parse_number(fw *w) {
    size_t i = w->i, n = w->n;
    const unsigned char *s = w->s;
    if (i < n && s[i] == '-') i++;
    if (i >= n) return ferr(w, w->i, "digit expected");
    if (s[i] == '0') i++;
    else if (s[i] >= '1' && s[i] <= '9') while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    else return ferr(w, i, "digit expected");
    if (i < n && s[i] == '.') {
        i++;
        if (i >= n || s[i] < '0' || s[i] > '9') return ferr(w, i, "digit expected after '.'");
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        if (i >= n || s[i] < '0' || s[i] > '9') return ferr(w, i, "digit expected in exponent");
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    }
    w->i = i;
    return 0;
}

static int literal(fw *w, const char *lit, size_t k) {
    if (w->n - w->i < k || memcmp(w->s + w->i, lit, k) != 0) return ferr(w, w->i, "unknown literal");
    w->i += k;
    return 0;
}

static uint64_t prefix_xor(uint64_t x) {
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    return x;
}

/* Masks of one 64-byte block: quotes, backslashes, openers ({[) and closers (}]). */
static inline __attribute__((always_inline)) void block_masks(const unsigned char *p, uint64_t *q, uint64_t *bs, uint64_t *op, uint64_t *cl) {
#if defined(__SSE2__)
    uint64_t mq = 0, mb = 0, mo = 0, mc = 0;
    const __m128i Q = _mm_set1_epi8('"'), B = _mm_set1_epi8('\\'), O1 = _mm_set1_epi8('{'), O2 = _mm_set1_epi8('['),
                  C1 = _mm_set1_epi8('}'), C2 = _mm_set1_epi8(']');
    for (int k = 0; k < 4; k++) {
        __m128i v = _mm_loadu_si128((const __m128i *)(p + 16 * k));
        mq |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, Q)) << (16 * k);
        mb |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, B)) << (16 * k);
        mo |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, O1), _mm_cmpeq_epi8(v, O2))) << (16 * k);
        mc |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, C1), _mm_cmpeq_epi8(v, C2))) << (16 * k);
    }
    *q = mq;
    *bs = mb;
    *op = mo;
    *cl = mc;
#else
    uint64_t mq = 0, mb = 0, mo = 0, mc = 0;
    for (int k = 0; k < 64; k++) {
        unsigned char c = p[k];
        uint64_t bit = 1ull << k;
        if (c == '"') mq |= bit;
        else if (c == '\\') mb |= bit;
        else if (c == '{' || c == '[') mo |= bit;
        else if (c == '}' || c == ']') mc |= bit;
    }
    *q = mq;
    *bs = mb;
    *op = mo;
    *cl = mc;
#endif
}

#ifdef KM_X86_DISPATCH
/* The same masks with AVX-512 (one load and four compares for 64 bytes; '{' and '[' differ only
 * in bit 0x20, as do '}' and ']'). */
__attribute__((target("avx512f,avx512bw"))) static inline __attribute__((always_inline)) void
block_masks_512(const unsigned char *p, uint64_t *q, uint64_t *bs, uint64_t *op, uint64_t *cl) {
    __m512i v = _mm512_loadu_si512((const void *)p);
    __m512i f = _mm512_or_si512(v, _mm512_set1_epi8(0x20));
    *q = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('"'));
    *bs = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('\\'));
    *op = _mm512_cmpeq_epi8_mask(f, _mm512_set1_epi8('{'));
    *cl = _mm512_cmpeq_epi8_mask(f, _mm512_set1_epi8('}'));
}

/* Running XOR of the bits (1 from an opening quote up to its closing quote) by carry-less
 * multiplication with all ones. */
__attribute__((target("pclmul,sse2"))) static inline __attribute__((always_inline)) uint64_t prefix_xor_clmul(uint64_t x) {
    __m128i r = _mm_clmulepi64_si128(_mm_set_epi64x(0, (long long)x), _mm_set1_epi8((char)0xFF), 0);
    return (uint64_t)_mm_cvtsi128_si64(r);
}
#endif

/* Skip an object or array starting at w->i (its opening bracket). Compiled several times: with
 * AVX-512 and carry-less multiplication, with the popcnt instruction, and plain, for the CPU
 * found at run time (wide is 1 for the AVX-512 build). */
#define SKIP_CONTAINER_BODY(MASKS, PXOR) \
    size_t start = w->i; \
    size_t i = w->i; \
    long depth = 0; \
    uint64_t in_str = 0;  /* all ones when the block starts inside a string */ \
    uint64_t esc_carry = 0; /* first byte of the block is escaped */ \
    unsigned char tail[64]; \
    while (i < w->n) { \
        const unsigned char *p; \
        size_t avail = w->n - i; \
        if (avail >= 64) { \
            p = w->s + i; \
        } else { \
            memset(tail, ' ', sizeof tail); \
            memcpy(tail, w->s + i, avail); \
            p = tail; \
        } \
        uint64_t q, bs, op, cl; \
        MASKS(p, &q, &bs, &op, &cl); \
        if (avail < 64) { \
            uint64_t valid = avail == 64 ? ~0ull : ((1ull << avail) - 1); \
            q &= valid; bs &= valid; op &= valid; cl &= valid; \
        } \
        uint64_t escaped = esc_carry; \
        esc_carry = 0; \
        if (bs) { \
            /* a backslash escapes the next byte unless it is itself escaped */ \
            uint64_t b = bs & ~escaped; \
            while (b) { \
                int k = __builtin_ctzll(b); \
                if (k == 63) esc_carry = 1; \
                else escaped |= 1ull << (k + 1); \
                b &= b - 1; \
                if (k < 63) b &= ~(1ull << (k + 1)); \
            } \
        } \
        q &= ~escaped; \
        uint64_t str; \
        str = PXOR(q) ^ in_str; \
        in_str = (uint64_t)0 - (str >> 63); /* all ones when the top bit is set, without an implementation-defined signed shift */ \
        op &= ~str; \
        cl &= ~str; \
        long nc = __builtin_popcountll(cl); \
        if (depth > nc) { \
            depth += __builtin_popcountll(op) - nc; \
        } else { \
            uint64_t all = op | cl; \
            while (all) { \
                int k = __builtin_ctzll(all); \
                if (op >> k & 1) depth++; \
                else if (--depth == 0) { \
                    w->i = i + (size_t)k + 1; \
                    return 0; \
                } \
                all &= all - 1; \
            } \
        } \
        i += 64; \
    } \
    return ferr(w, start, in_str ? "unterminated string" : "unterminated object or array");

static inline __attribute__((always_inline)) int skip_container_impl(fw *w) { SKIP_CONTAINER_BODY(block_masks, prefix_xor) }

#ifdef KM_X86_DISPATCH
__attribute__((target("avx512f,avx512bw,pclmul,popcnt,bmi"))) static int skip_container_512(fw *w) {
    SKIP_CONTAINER_BODY(block_masks_512, prefix_xor_clmul)
}
__attribute__((target("popcnt"))) static int skip_container_popcnt(fw *w) { return skip_container_impl(w); }
static int skip_container_plain(fw *w) { return skip_container_impl(w); }
/* 2 AVX-512 with carry-less multiplication, 1 popcnt, 0 neither */
static int cpu_level(void) {
    static int level = -1;
    int l = __atomic_load_n(&level, __ATOMIC_RELAXED);
    if (l < 0) {
        __builtin_cpu_init();
        l = __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("pclmul") &&
                    __builtin_cpu_supports("popcnt")
                ? 2
                : __builtin_cpu_supports("popcnt") ? 1 : 0;
        __atomic_store_n(&level, l, __ATOMIC_RELAXED);
    }
    return l;
}
static int skip_container(fw *w) {
    int l = cpu_level();
    return l == 2 ? skip_container_512(w) : l == 1 ? skip_container_popcnt(w) : skip_container_plain(w);
}
#else
static int skip_container(fw *w) { return skip_container_impl(w); }
#endif

/* A span skipped without the strict checks (with kept fields: their reader checks it, as the
 * tree parser would, before it trusts the values). Only the kept walk notes them (the patterns'
 * walk never does); the growing is out of line. */
static __attribute__((noinline)) int note_skip_grow(fw *w) {
    km_flat *o = w->out;
    size_t nc = o->capskip ? o->capskip * 2 : 16;
    size_t(*ns)[2] = realloc(o->skip, nc * sizeof *ns);
    if (!ns) return nomem(w);
    o->skip = ns;
    o->capskip = nc;
    return 0;
}

static inline __attribute__((always_inline)) int note_skip(fw *w, size_t start) {
    km_flat *o = w->out;
    if (o->nskip == o->capskip && note_skip_grow(w)) return -1;
    o->skip[o->nskip][0] = start;
    o->skip[o->nskip++][1] = w->i;
    return 0;
}

static inline __attribute__((always_inline)) int skip_value_t(fw *w, const int kept) {
    if (w->i >= w->n) return ferr(w, w->i, "unexpected end of input");
    unsigned char c = w->s[w->i];
    switch (c) {
    case '"': {
        size_t j = quick_close(w->s, w->i + 1, w->n);
        if (j != (size_t)-1) {
            w->i = j + 1;
            return 0;
        }
        size_t st = w->i;
        if (skip_string(w)) return -1;
        return kept ? note_skip(w, st) : 0;
    }
    case '{':
    case '[': {
        size_t st = w->i;
        if (skip_container(w)) return -1;
        return kept ? note_skip(w, st) : 0;
    }
    case 't': return literal(w, "true", 4);
    case 'f': return literal(w, "false", 5);
    case 'n': return literal(w, "null", 4);
    default:
        if (c == '-' || (c >= '0' && c <= '9')) return parse_number(w);
        return ferr(w, w->i, "unexpected character");
    }
}

static inline __attribute__((always_inline)) int add_value_t(fw *w, const int kept, uint32_t field, int32_t elem, km_vtype t, const char *s, size_t len, int decoded, size_t boff) {
    km_flat *o = w->out;
    if (o->nv >= w->max_fields) {
        km_error_set(w->err, KM_ELIMIT, w->i, "event has more than %zu fields some pattern uses (at byte %zu; --limit fields)", w->max_fields,
                     w->i);
        return -1;
    }
    if (o->nv == o->capv) {
        size_t nc = o->capv ? o->capv * 2 : 32;
        km_fval *nv = realloc(o->v, nc * sizeof *nv);
        if (!nv) return nomem(w);
        o->v = nv;
        o->capv = nc;
    }
    km_fval *v = &o->v[o->nv++];
    v->field = field;
    v->elem = elem;
    v->v.type = t;
    if (kept) v->v.arr = (uint8_t)(w->arrdepth < 255 ? w->arrdepth : 255);
    v->v.s = s;
    v->v.len = len;
    v->v.num_ok = 0;
    v->v.ip_state = 0;
    /* decoded strings live in o->buf, which may still move: keep the offset for now */
    v->boff = decoded ? boff : (size_t)-1;
    return 0;
}

/* The walk is compiled twice: without kept fields (kept 0, as fast as before they existed) and
 * with them (kept 1: odd shapes on their way and unchecked spans noted). */
static int walk_value_p(fw *w, int32_t state, int32_t elem, size_t depth);
static int walk_value_k(fw *w, int32_t state, int32_t elem, size_t depth);
static int walk_object_p(fw *w, int32_t state, int32_t elem, size_t depth);
static int walk_object_k(fw *w, int32_t state, int32_t elem, size_t depth);
#define WALK_VALUE(w, st, el, d) (kept ? walk_value_k(w, st, el, d) : walk_value_p(w, st, el, d))

static inline __attribute__((always_inline)) size_t skip_ws(const unsigned char *s, size_t i, size_t n) {
    while (i < n && s[i] <= ' ' && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t')) i++;
    return i;
}

/* A key on the way to a kept field: what the tree readers would read differently from the
 * values: a repeated key (the last wins there), a key with a dot (read both ways: it reaches a
 * state more than one level down), an escaped key. */
static inline __attribute__((always_inline)) void kept_key(fw *w, const km_nstate *st, uint32_t *stamp, uint32_t level1,
                                                           int32_t child, uint32_t inst, int kdec) {
    if (child < 0 || !st[child].onpath) return;
    uint32_t *stp = &stamp[child];
    if (*stp == inst || kdec || st[child].level != level1) w->out->odd = 1;
    *stp = inst;
}

/* An object at a used state: keys some pattern uses are walked, the other values skipped. The
 * position is kept in a local and written back around calls: this loop runs once per key of
 * every walked object, and plain keys and string values (quick_close) never leave it. */
static inline __attribute__((always_inline)) int walk_object_t(fw *w, const int kept, int32_t state, int32_t elem, size_t depth) {
    const unsigned char *s = w->s;
    const size_t n = w->n;
    size_t start = w->i;
    uint32_t inst = 0;
    /* kept: the name states, the stamps and the level a key one down has, loaded once per object
     * rather than per key (the stores to the stamps might alias them) */
    const km_nstate *nst = w->names->st;
    uint32_t *stamp = NULL, level1 = 0;
    if (kept) {
        inst = ++w->out->inst;
        if (inst == 0) { /* the clock wrapped: forget every stamp */
            memset(w->out->stamp, 0, w->out->capstamp * sizeof *w->out->stamp);
            inst = w->out->inst = 1;
        }
        stamp = w->out->stamp;
        level1 = (uint32_t)nst[state].level + 1;
    }
    size_t i = skip_ws(s, w->i + 1, n);
    if (i < n && s[i] == '}') {
        w->i = i + 1;
        return 0;
    }
    for (;;) {
        i = skip_ws(s, i, n);
        if (i >= n || s[i] != '"') {
            w->i = i;
            return ferr(w, i >= n ? start : i, "expected a string key in object");
        }
        const char *k;
        size_t klen;
        uint64_t head;
        int kdec = 0;
        size_t kq = quick_close(s, i + 1, n);
        if (kq != (size_t)-1) {
            /* plain key with 16 readable bytes from its start */
            k = (const char *)s + i + 1;
            klen = kq - i - 1;
            i = kq + 1;
            if (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__) {
                memcpy(&head, k, 8);
                if (klen < 8) head &= ((uint64_t)1 << (8 * klen)) - 1;
            } else {
                head = key_head(k, klen);
            }
        } else {
            int dec;
            size_t kb = 0, kcap = w->kcap;
            w->i = i;
            if (parse_string(w, &k, &klen, &dec, &w->kbuf, &kb, &kcap)) return -1;
            w->kcap = kcap;
            i = w->i;
            if (dec) {
                k = w->kbuf;
                kdec = 1;
                head = key_head(k, klen);
            } else if (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && (size_t)((const unsigned char *)k - s) + 8 <= n) {
                /* 8 bytes readable: load and mask instead of a variable-length copy */
                memcpy(&head, k, 8);
                if (klen < 8) head &= ((uint64_t)1 << (8 * klen)) - 1;
            } else {
                head = key_head(k, klen);
            }
        }
        if (i < n && s[i] == ':') {
            i++;
        } else {
            i = skip_ws(s, i, n);
            if (i >= n || s[i] != ':') {
                w->i = i;
                return ferr(w, i, "expected ':' after key");
            }
            i++;
        }
        i = skip_ws(s, i, n);
        int32_t child = names_step_h(w->names, (uint32_t)state, k, klen, head);
        if (kept) kept_key(w, nst, stamp, level1, child, inst, kdec);
        size_t vq;
        int32_t fld;
        if (child < 0 && i < n && s[i] == '"' && (vq = quick_close(s, i + 1, n)) != (size_t)-1) {
            i = vq + 1;
        } else if (kept && child >= 0 && i < n && s[i] == '"' && (fld = nst[child].field) >= 0 && depth + 1 <= w->max_depth) {
            /* a string at a field (the kept ones are mostly such: eventTime, eventID, ...): added
             * here, as walk_value_t would, without a call per value */
            const char *vs;
            size_t vl;
            if ((vq = quick_close_long(s, i + 1, n)) != (size_t)-1) {
                vs = (const char *)s + i + 1;
                vl = vq - i - 1;
                w->i = i = vq + 1;
                if (add_value_t(w, 1, (uint32_t)fld, elem, KM_V_STRING, vs, vl, 0, 0)) return -1;
            } else {
                int dec;
                size_t b0 = w->out->nbuf;
                w->i = i;
                if (parse_string(w, &vs, &vl, &dec, &w->out->buf, &w->out->nbuf, &w->out->capbuf) ||
                    add_value_t(w, 1, (uint32_t)fld, elem, KM_V_STRING, vs, vl, dec, b0))
                    return -1;
                i = w->i;
            }
        } else {
            w->i = i;
            if (child < 0 ? skip_value_t(w, kept) : WALK_VALUE(w, child, elem, depth + 1)) return -1;
            i = w->i;
        }
        if (i < n && s[i] == ',') {
            i++;
            continue;
        }
        i = skip_ws(s, i, n);
        if (i >= n) {
            w->i = i;
            return ferr(w, start, "unterminated object");
        }
        unsigned char c = s[i++];
        w->i = i;
        if (c == '}') return 0;
        if (c != ',') return ferr(w, i - 1, "expected ',' or '}'");
    }
}

static inline __attribute__((always_inline)) int walk_array_t(fw *w, const int kept, int32_t state, int32_t elem, size_t depth) {
    size_t start = w->i;
    uint32_t arr = w->narrays++;
    w->i++;
    ws(w);
    if (w->i < w->n && w->s[w->i] == ']') {
        w->i++;
        return 0;
    }
    for (uint32_t idx = 0;; idx++) {
        ws(w);
        if (w->i >= w->n) return ferr(w, start, "unterminated array");
        unsigned char c = w->s[w->i];
        if (c == '{' || c == '[') {
            km_flat *o = w->out;
            if (o->nel == o->capel) {
                size_t nc = o->capel ? o->capel * 2 : 16;
                km_elem *ne = realloc(o->el, nc * sizeof *ne);
                if (!ne) return nomem(w);
                o->el = ne;
                o->capel = nc;
            }
            int32_t e = (int32_t)o->nel;
            o->el[o->nel++] = (km_elem){elem, arr, idx, elem >= 0 ? o->el[elem].depth + 1 : 0};
            if (WALK_VALUE(w, state, e, depth + 1)) return -1;
        } else if (WALK_VALUE(w, state, elem, depth + 1)) {
            return -1;
        }
        ws(w);
        if (w->i >= w->n) return ferr(w, start, "unterminated array");
        c = w->s[w->i++];
        if (c == ']') return 0;
        if (c != ',') return ferr(w, w->i - 1, "expected ',' or ']'");
    }
}

static inline __attribute__((always_inline)) int walk_value_t(fw *w, const int kept, int32_t state, int32_t elem, size_t depth) {
    if (depth > w->max_depth) {
        km_error_set(w->err, KM_ELIMIT, w->i, "event nested deeper than %zu levels (at byte %zu; --limit depth)", w->max_depth, w->i);
        return -1;
    }
    if (w->i >= w->n) return ferr(w, w->i, "unexpected end of input");
    const km_nstate *st = &w->names->st[state];
    unsigned char c = w->s[w->i];
    int32_t field = st->field;
    switch (c) {
    case '{':
        if (kept && st->kept) w->out->odd = 1; /* an object at a kept field: its reader wants the tree */
        if (st->nchildren == 0) {
            size_t sp = w->i;
            if (skip_container(w)) return -1;
            return kept ? note_skip(w, sp) : 0;
        }
        return kept ? walk_object_k(w, state, elem, depth) : walk_object_p(w, state, elem, depth);
    case '[': {
        if (st->nchildren == 0 && field < 0) {
            size_t sp = w->i;
            if (skip_container(w)) return -1;
            return kept ? note_skip(w, sp) : 0;
        }
        if (!kept) return walk_array_t(w, 0, state, elem, depth);
        w->arrdepth++;
        int rc = walk_array_t(w, 1, state, elem, depth);
        w->arrdepth--;
        return rc;
    }
    case '"': {
        if (field < 0) return skip_value_t(w, kept);
        const char *s;
        size_t len;
        int dec;
        size_t vq = quick_close(w->s, w->i + 1, w->n);
        if (vq != (size_t)-1) {
            s = (const char *)w->s + w->i + 1;
            len = vq - w->i - 1;
            w->i = vq + 1;
            return add_value_t(w, kept, (uint32_t)field, elem, KM_V_STRING, s, len, 0, 0);
        }
        size_t b0 = w->out->nbuf;
        if (parse_string(w, &s, &len, &dec, &w->out->buf, &w->out->nbuf, &w->out->capbuf)) return -1;
        return add_value_t(w, kept, (uint32_t)field, elem, KM_V_STRING, s, len, dec, b0);
    }
    case 't':
        if (literal(w, "true", 4)) return -1;
        return field < 0 ? 0 : add_value_t(w, kept, (uint32_t)field, elem, KM_V_TRUE, "true", 4, 0, 0);
    case 'f':
        if (literal(w, "false", 5)) return -1;
        return field < 0 ? 0 : add_value_t(w, kept, (uint32_t)field, elem, KM_V_FALSE, "false", 5, 0, 0);
    case 'n':
        if (literal(w, "null", 4)) return -1;
        return field < 0 ? 0 : add_value_t(w, kept, (uint32_t)field, elem, KM_V_NULL, "null", 4, 0, 0);
    default: {
        size_t b = w->i;
        if (c != '-' && (c < '0' || c > '9')) return ferr(w, w->i, "unexpected character");
        if (parse_number(w)) return -1;
        return field < 0 ? 0 : add_value_t(w, kept, (uint32_t)field, elem, KM_V_NUMBER, (const char *)w->s + b, w->i - b, 0, 0);
    }
    }
}

static int walk_object_p(fw *w, int32_t state, int32_t elem, size_t depth) { return walk_object_t(w, 0, state, elem, depth); }
static int walk_object_k(fw *w, int32_t state, int32_t elem, size_t depth) { return walk_object_t(w, 1, state, elem, depth); }
static int walk_value_p(fw *w, int32_t state, int32_t elem, size_t depth) { return walk_value_t(w, 0, state, elem, depth); }
static int walk_value_k(fw *w, int32_t state, int32_t elem, size_t depth) { return walk_value_t(w, 1, state, elem, depth); }

int km_flatten(const km_names *names, const char *ev, size_t len, const km_match_limits *lim, km_flat *out, km_error *err) {
    fw w = {.names = names, .s = (const unsigned char *)ev, .n = len, .out = out, .err = err};
    w.max_depth = lim->max_depth;
    w.max_fields = lim->max_fields;
    out->nv = out->nel = out->nbuf = 0;
    out->odd = 0;
    out->nskip = 0;
    if (names->kept) {
        if (out->capstamp < names->nst) {
            size_t nc = names->nst + 16;
            uint32_t *ns = realloc(out->stamp, nc * sizeof *ns);
            if (!ns) {
                km_error_set(err, KM_ENOMEM, 0, "out of memory flattening the event");
                return -1;
            }
            memset(ns + out->capstamp, 0, (nc - out->capstamp) * sizeof *ns);
            out->stamp = ns;
            out->capstamp = nc;
        }
    }
    ws(&w);
    if (w.i >= w.n) {
        km_error_set(err, KM_ERR, w.i, "invalid JSON at byte %zu: unexpected end of input", w.i);
        return -1;
    }
    if (w.s[w.i] != '{') {
        km_error_set(err, KM_ERR, w.i, "event is not a JSON object (byte %zu)", w.i);
        return -1;
    }
    int rc;
    if (names->nst == 0) rc = skip_container(&w);
    else rc = names->kept ? walk_object_k(&w, 0, -1, 1) : walk_object_p(&w, 0, -1, 1);
    free(w.kbuf);
    if (rc) return -1;
    ws(&w);
    if (w.i != w.n) {
        km_error_set(err, KM_ERR, w.i, "invalid JSON at byte %zu: unexpected data after the event", w.i);
        return -1;
    }
    for (size_t i = 0; i < out->nv; i++)
        if (out->v[i].boff != (size_t)-1) out->v[i].v.s = out->buf + out->v[i].boff;
    return 0;
}

void km_flat_free(km_flat *f) {
    if (!f) return;
    free(f->v);
    free(f->el);
    free(f->buf);
    free(f->skip);
    free(f->stamp);
    memset(f, 0, sizeof *f);
}
