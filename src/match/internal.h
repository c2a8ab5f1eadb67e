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
    KM_VM_AB_EIC
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
/* Largest wildcard complexity accepted (see km_wildcard_complexity and docs/matcher.md). */
#define KM_WILDCARD_MAX_COMPLEXITY 8

/* Compile pattern text. Returns NULL with err set (message names reason, JSON path, offset). */
km_pattern *km_pattern_compile(const char *text, size_t len, km_error *err);
void km_pattern_free(km_pattern *p);

/* An event leaf value as the matchers see it. */
typedef enum { KM_V_STRING, KM_V_NUMBER, KM_V_TRUE, KM_V_FALSE, KM_V_NULL } km_vtype;
typedef struct km_value {
    km_vtype type;
    const char *s; /* decoded string, or the raw text of a number/literal */
    size_t len;
    int num_ok;    /* number EventBridge can compare (see km_num_comparable) */
    double d;
    int ip_state;  /* 0 not yet parsed, 1 is an IP address, -1 is not */
    int ip_len;
    uint8_t ip[16];
} km_value;

/* 1 when vm accepts v. v's IP cache may be filled in. */
int km_vm_match(const km_vm *vm, km_value *v);

/* Numbers: 1 when the JSON number text is one EventBridge compares numerically (its decimal
 * value is exactly that of the shortest double rendering, as event-ruler's ComparableNumber
 * demands); *out receives the value. */
int km_num_comparable(const char *raw, size_t len, double *out);

/* IP addresses as event-ruler reads them (dotted IPv4 with four parts, or hex-and-colon IPv6;
 * IPv4-mapped IPv6 becomes IPv4). Returns 1 and fills out/out_len, 0 when text does not look
 * like an address, -1 when it looks like one but is invalid. */
int km_ip_parse(const char *s, size_t len, uint8_t out[16], int *out_len);

/* equals-ignore-case: each pattern character matches its lower- or upper-case form.
 * mode 0 whole value, 1 prefix, 2 suffix. */
int km_eic_match(const char *pat, size_t plen, const char *s, size_t slen, int mode);

/* Wildcard: '*' any run of bytes, "\*" and "\\" literal. Pattern assumed valid. */
int km_wildcard_match(const char *pat, size_t plen, const char *s, size_t slen);
/* Checks a wildcard pattern; returns NULL or a message (static text with %zu for position) and
 * sets *pos. */
const char *km_wildcard_check(const char *pat, size_t plen, size_t *pos);
/* Largest number of pattern prefixes one input can match at once (event-ruler's
 * MachineComplexityEvaluator idea), capped at cap. pats are raw wildcard texts. */
int km_wildcard_complexity(const km_str *pats, size_t n, int cap);

/* Java String.compareTo order of two UTF-8 strings (UTF-16 code unit order). */
int km_java_strcmp(const char *a, size_t alen, const char *b, size_t blen);

#endif
