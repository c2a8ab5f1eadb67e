/* Internals of the EventBridge matcher shared by its files: compiled patterns (value matchers,
 * fields, sub-rules), event values, and the helpers for numbers, IP addresses, case-insensitive
 * and wildcard comparison. Nothing here is public API. */
#ifndef KM_MATCH_INTERNAL_H
#define KM_MATCH_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include "kumomori/error.h"
#include "util/arena.h"

/* One value test inside a pattern field's list ("value matcher"). A field matches an event value
 * when any of its matchers does. New operators (Sigma's contains, regex, base64) are added as
 * new kinds here and in km_vm_match. */
typedef enum {
    KM_VM_STRING,      /* exact string (s); when is_ip, any string naming the same IP address */
    KM_VM_LITERAL,     /* number/true/false/null: raw text equal, or numerically equal numbers */
    KM_VM_NUM_RANGE,   /* numeric: lo/hi with open flags (always both present) */
    KM_VM_PREFIX,      /* s is a prefix of value + '"' (see docs/matcher.md on the quote) */
    KM_VM_SUFFIX,      /* s is a suffix of '"' + value */
    KM_VM_EIC,         /* equals-ignore-case */
    KM_VM_PREFIX_EIC,
    KM_VM_SUFFIX_EIC,
    KM_VM_WILDCARD,
    KM_VM_CIDR,        /* IP address in [ip_lo, ip_hi] */
    KM_VM_EXISTS,      /* exists: true (any leaf value, null included) */
    KM_VM_AB_STRINGS,  /* anything-but a list of strings */
    KM_VM_AB_NUMBERS,  /* anything-but a list of numbers */
    KM_VM_AB_PREFIX,
    KM_VM_AB_SUFFIX,
    KM_VM_AB_WILDCARD,
    KM_VM_AB_EIC,
    /* kumomori's own operator "km-wildcard-ignore-case" (not EventBridge's; the Sigma compiler
     * emits it): a wildcard over ASCII text whose letters match either case. ASCII patterns only. */
    KM_VM_WILDCARD_CI,
    KM_VM_AB_WILDCARD_CI
} km_vm_kind;

typedef struct km_str {
    const char *s; /* NUL-terminated copy owned by the pattern's arena */
    size_t len;
} km_str;

typedef struct km_vm {
    km_vm_kind kind;
    km_str str;            /* STRING, LITERAL (raw text), PREFIX, SUFFIX, *EIC, WILDCARD */
    km_str *list;          /* anything-but forms (strings; for AB_NUMBERS the raw texts) */
    double *nums;          /* AB_NUMBERS values */
    size_t nlist;
    double d;              /* LITERAL: value when num_ok */
    int num_ok;            /* LITERAL is a number EventBridge can compare */
    double lo, hi;         /* NUM_RANGE */
    int lo_open, hi_open;
    int is_ip;             /* STRING: names an IP address (stored in ip_lo) */
    int contains;          /* WILDCARD, WILDCARD_CI: str is "*text*", text without stars or escapes */
    int eic_ascii;         /* EIC, PREFIX_EIC, SUFFIX_EIC: str is ASCII without '"' (compared byte by byte) */
    int ip_len;            /* 4 or 16 */
    uint8_t ip_lo[16], ip_hi[16];
} km_vm;

/* One field of a sub-rule: the dotted path and the OR of its matchers; absent = exists:false
 * is among them. */
typedef struct km_pfield {
    km_str name;
    km_vm *vms;
    size_t nvm;
    int absent;
} km_pfield;

/* A conjunction of fields, sorted by name in Java (UTF-16) string order, as event-ruler walks
 * them; that order decides what exists:false sees inside arrays. */
typedef struct km_subrule {
    km_pfield *fields;
    size_t nfields;
} km_subrule;

/* A compiled pattern: $or expanded into sub-rules (any of them matching is a match). */
typedef struct km_pattern {
    km_arena arena;
    km_subrule *subs;
    size_t nsubs;
} km_pattern;

/* Caps on pattern compilation (patterns are usually trusted, but rule files come from users). */
#define KM_PATTERN_MAX_BYTES (1u << 20)
#define KM_PATTERN_MAX_DEPTH 64
#define KM_PATTERN_MAX_SUBRULES 4096
/* A field name splits at its dots into at most this many parts: twice the 65 that the nesting
 * limit allows with keys without dots. The name tree holds an edge from every dot of a name to
 * every later one (an event's key may itself hold dots: "a.b" as one key reaches the same field as
 * "a" then "b"), so a name of k parts costs k(k+1)/2 edges: a 2.7 KB name of 1,761 dots took
 * 1.5 GB (fuzz_pattern, session 9); 130 parts make 8,515. */
#define KM_NAME_MAX_PARTS 130
/* Largest wildcard complexity accepted (see km_wildcard_complexity and docs/matcher.md). */
#define KM_WILDCARD_MAX_COMPLEXITY 8

/* Compile pattern text. Returns NULL with err set (message names reason, JSON path, offset). */
km_pattern *km_pattern_compile(const char *text, size_t len, unsigned flags, km_error *err);
void km_pattern_free(km_pattern *p);
/* km_matcher_add of an already compiled pattern (the rule loader's, src/rules/rules.c): the
 * matcher owns p from the call on, also when the call fails. */
struct km_matcher;
int km_matcher_add_compiled(struct km_matcher *m, uint32_t id, km_pattern *p, km_error *err);

/* An event leaf value as the matchers see it. */
typedef enum { KM_V_STRING, KM_V_NUMBER, KM_V_TRUE, KM_V_FALSE, KM_V_NULL } km_vtype;
typedef struct km_value {
    km_vtype type;
    uint8_t arr;   /* arrays around it on its way from the root (capped at 255): for kept fields */
    const char *s; /* decoded string, or the raw text of a number/literal */
    size_t len;
    int num_ok;    /* number EventBridge can compare: 1 yes, -1 no, 0 not yet known */
    double d;
    int ip_state;  /* 0 not yet parsed, 1 is an IP address, -1 is not */
    int ip_len;
    uint8_t ip[16];
} km_value;

/* ---- event flattening (flatten.c) ----------------------------------------------------------
 * Field names used by the patterns form a table of name states: the root, and every prefix of
 * a used dotted name that ends before a '.' or at its end. An event key moves from one state
 * to another (keys may contain dots themselves, so "a" then "b" and "a.b" reach one state). */
typedef struct km_nkid {
    uint64_t head;        /* first 8 bytes of the key, zero padded */
    uint32_t klen, child;
    const char *key;
} km_nkid;

typedef struct km_nstate {
    int32_t field;        /* field id when the state's name is a used field, else -1 */
    uint32_t nchildren;   /* edges leaving this state */
    km_nkid *kids;        /* the edges, looked up directly while there are few */
    uint32_t capkids;
    uint8_t onpath;       /* on the way to (or at) a field kept for the caller (km_matcher_keep) */
    uint8_t kept;         /* a kept field itself */
    uint16_t level;       /* onpath states: the name's segments (a key with a dot skips levels) */
} km_nstate;

typedef struct km_nedge {
    uint32_t parent, child;
    uint32_t hash, klen;
    const char *key; /* into the names' store; NULL: a free slot */
} km_nedge;

typedef struct km_names {
    km_nstate *st;
    size_t nst, capst;
    km_nedge *tab; /* open addressing on (parent, key) */
    size_t tabcap, ntab;
    char **store;  /* one copy of each added name: the edges' keys point into them */
    size_t nstore, capstore;
    int kept;      /* some field is kept for the caller: the walk notes what km_extract would */
} km_names;

void km_names_init(km_names *n);
void km_names_free(km_names *n);
/* State reached from parent by key, or -1. */
int32_t km_names_step(const km_names *n, uint32_t parent, const char *key, size_t klen);
/* Make name (a used field, joined with '.') known, giving it field id; returns 0, or -1 (memory,
 * or more than KM_NAME_MAX_PARTS parts: then nothing is added). */
int km_names_add_field(km_names *n, const char *name, size_t len, uint32_t field);
/* Mark the states of name (already added) as a field kept for the caller (match/kept.h) and its
 * way there (onpath, with their levels). */
void km_names_mark_kept(km_names *n, const char *name, size_t len);

typedef struct km_elem {
    int32_t parent;   /* enclosing element, -1 none */
    uint32_t array;   /* id of the array, unique in the event */
    uint32_t index;
    uint32_t depth;
} km_elem;

typedef struct km_fval {
    uint32_t field;
    int32_t elem;
    size_t boff; /* decoded text's offset in km_flat.buf while flattening, else (size_t)-1 */
    km_value v;
} km_fval;

typedef struct km_flat {
    km_fval *v;
    size_t nv, capv;
    km_elem *el;
    size_t nel, capel;
    char *buf;       /* decoded strings (escapes, replaced invalid UTF-8) */
    size_t nbuf, capbuf;
    /* With kept fields (names->kept) only: */
    int odd;         /* a shape on a kept path the values do not describe as a tree reader would
                        see it: a repeated key, a key with a dot or an escape, an object at a kept field */
    size_t (*skip)[2]; /* the spans skipped without strict checks (containers, strings with escapes) */
    size_t nskip, capskip;
    uint32_t *stamp; /* per name state: the object in which its key was last seen (repeated keys) */
    size_t capstamp;
    uint32_t inst;   /* objects walked so far (the stamps' clock) */
} km_flat;

/* Flatten event bytes: every leaf value whose dotted name is a used field, with its array
 * element. Subtrees no pattern reads are skipped fast (their strings and bracket balance are
 * checked, not every token). Returns 0, or -1 with err (what and byte offset). */
struct km_match_limits;
int km_flatten(const km_names *names, const char *ev, size_t len, const struct km_match_limits *lim, km_flat *out,
               km_error *err);
void km_flat_free(km_flat *f);

/* 1 when the values lie in no two different elements of one array. */
int km_elem_consistent(const km_elem *el, int32_t a, int32_t b);

/* 1 when vm accepts v. v's IP cache may be filled in. */
int km_vm_match(const km_vm *vm, km_value *v);

/* Numbers: 1 when the JSON number text is one EventBridge compares numerically (its decimal
 * value is exactly that of the shortest double rendering, as event-ruler's ComparableNumber
 * demands); *out receives the value. */
int km_num_comparable(const char *raw, size_t len, double *out);
/* The same by formatting and re-reading (strtod/snprintf): the reference for the fast path. */
int km_num_comparable_slow(const char *raw, size_t len, double *out);

/* IP addresses as event-ruler reads them (dotted IPv4 with four parts, or hex-and-colon IPv6;
 * IPv4-mapped IPv6 becomes IPv4). Returns 1 and fills out/out_len, 0 when text does not look
 * like an address, -1 when it looks like one but is invalid. */
int km_ip_parse(const char *s, size_t len, uint8_t out[16], int *out_len);

/* equals-ignore-case: each pattern character matches its lower- or upper-case form.
 * mode 0 whole value, 1 prefix, 2 suffix. */
int km_eic_match(const char *pat, size_t plen, const char *s, size_t slen, int mode);
/* 1 when an equals-ignore-case pattern is ASCII without '"': km_vm_match then compares it byte
 * by byte, without looking at the pattern again for each value (km_vm.eic_ascii). */
int km_eic_is_ascii(const char *pat, size_t plen);

/* Wildcard: '*' any run of bytes, "\*" and "\\" literal. Pattern assumed valid. */
int km_wildcard_match(const char *pat, size_t plen, const char *s, size_t slen);
/* The same with ASCII letters compared without regard to case (km-wildcard-ignore-case). */
int km_wildcard_match_ci(const char *pat, size_t plen, const char *s, size_t slen);
/* 1 when wildcard pat is "*text*" with text holding no star or backslash (km_vm.contains). */
int km_wildcard_is_contains(const char *pat, size_t plen);
/* The same answers as km_wildcard_match(_ci) for such a pattern (fold: _ci), without reading the
 * pattern again: whether s holds text (pat + 1, plen - 2). */
int km_wildcard_contains(const char *text, size_t tlen, const char *s, size_t slen, int fold);
/* Checks a wildcard pattern; returns NULL or a message (static text with %zu for position) and
 * sets *pos. */
const char *km_wildcard_check(const char *pat, size_t plen, size_t *pos);
/* Largest number of pattern prefixes one input can match at once (event-ruler's
 * MachineComplexityEvaluator idea), capped at cap. pats are raw wildcard texts. */
int km_wildcard_complexity(const km_str *pats, size_t n, int cap);

/* Java String.compareTo order of two UTF-8 strings (UTF-16 code unit order). */
int km_java_strcmp(const char *a, size_t alen, const char *b, size_t blen);

#endif
