/* Internals of the Sigma engine shared by its files: the intermediate representation of
 * selections (what the loader builds, the evaluator runs, and the compiler turns into matcher
 * patterns) and of conditions. Nothing here is public API. */
#ifndef KM_SIGMA_INTERNAL_H
#define KM_SIGMA_INTERNAL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stddef.h>
#include <stdint.h>
#include "kumomori/sigma.h"
#include "kumomori/buf.h"
#include "util/arena.h"

/* A Sigma string after wildcard parsing: bytes with a parallel marker saying which bytes are the
 * wildcards '*' (1) and '?' (2) rather than literal characters (0). While the loader applies
 * modifiers, a '-' or '/' that |windash made interchangeable is marked SG_W_DASH: it stands for
 * any of the five dashes, so one string (and one compiled expression) holds all the variants that
 * would otherwise each be compiled (up to 5^5); the loader writes the variants out only where a
 * single string cannot say it (encodings, and the matcher patterns of compile.c, see load.c). */
#define SG_W_DASH 3
typedef struct sg_str {
    char *b;
    uint8_t *w;
    size_t len;
} sg_str;

/* How one value tests one field. */
typedef enum {
    SV_STR,      /* wildcard string: re compiled from it (case-insensitive unless cased) */
    SV_RE,       /* |re: re is the user's expression */
    SV_NUM,      /* a YAML number */
    SV_BOOL,     /* a YAML boolean */
    SV_NULL,     /* null: the field is absent, empty, or null */
    SV_CMP,      /* |gt |gte |lt |lte */
    SV_CIDR,     /* |cidr */
    SV_EXISTS,   /* |exists */
    SV_FIELDREF, /* |fieldref: compare with another field of the same record */
    SV_TIME      /* |minute |hour |day |week |month |year, then equality or a comparison */
} sv_kind;

enum { CMP_EQ = 0, CMP_GT, CMP_GTE, CMP_LT, CMP_LTE };
enum { TIME_MINUTE = 1, TIME_HOUR, TIME_DAY, TIME_WEEK, TIME_MONTH, TIME_YEAR };
/* Where a string must occur, for SV_STR made by contains/startswith/endswith, and SV_FIELDREF. */
enum { POS_FULL = 0, POS_CONTAINS, POS_START, POS_END };

typedef struct sg_value {
    sv_kind kind;
    uint32_t group;   /* values from one YAML value (base64offset, windash, expand) share a group */
    sg_str str;       /* SV_STR: the final wildcard string (for the matcher compiler and messages) */
    int cased;
    pcre2_code *re;   /* SV_STR, SV_RE; NULL for an SV_STR whose group's earlier value holds one
                       * expression for all its |windash variants (the evaluator skips it) */
    const char *text; /* SV_RE: the expression; SV_FIELDREF: the other field; SV_CIDR: as written */
    double num;       /* SV_NUM, SV_CMP, SV_TIME */
    int cmp;          /* SV_CMP, SV_TIME: CMP_* */
    int bval;         /* SV_BOOL, SV_EXISTS */
    int pos;          /* SV_FIELDREF: POS_* */
    int time_part;    /* SV_TIME: TIME_* */
    int ip_len;       /* SV_CIDR: 4 or 16 */
    uint8_t ip_lo[16], ip_hi[16];
} sg_value;

/* One `field|modifiers: value(s)` entry, or one keyword list (field NULL). */
typedef struct sg_item {
    const char *field;
    sg_value *values;
    size_t nvalues;
    uint32_t ngroups;
    int all;     /* |all: every group must match (else any) */
    int neq;     /* |neq: the item is true when no value matches */
    size_t line, col;
} sg_item;

/* A map of items, all of which must hold. */
typedef struct sg_map {
    sg_item *items;
    size_t n;
} sg_map;

/* A search identifier: any of its maps (a list of maps, or one map). */
typedef struct sg_sel {
    const char *name;
    sg_map *maps;
    size_t n;
    size_t line;
} sg_sel;

typedef enum { C_SEL, C_AND, C_OR, C_NOT, C_OF, C_TRUE } cnode_kind;

typedef struct sg_cond {
    cnode_kind kind;
    struct sg_cond *a, *b; /* AND, OR (both), NOT (a) */
    size_t sel;            /* C_SEL */
    size_t *sels;          /* C_OF: the selections named */
    size_t nsels;
    size_t need;           /* C_OF: how many must match; SIZE_MAX = all */
} sg_cond;

/* A detection: the selections and the condition tree over them. */
typedef struct sg_detection {
    sg_sel *sels;
    size_t nsels;
    sg_cond *cond;
    const char **prefilter; /* EventBridge patterns (see km_sigma_prefilter) */
    size_t nprefilter;
    int prefilter_exact;    /* the patterns say exactly what the detection says (CloudTrail's types) */
    /* Without the compilation (km_sigma_set_compile off): the older necessary patterns, evaluated. */
    const char **legacy;
    size_t nlegacy;
    /* What keeps parts of the detection off the matcher ("field|modifiers: why"), see compile.c. */
    const char **offm;
    size_t noffm;
} sg_detection;

typedef struct sg_alias {
    const char *alias;
    const char **rule_refs; /* as written (id or name) */
    const char **fields;
    size_t n;
} sg_alias;

typedef struct sg_rule {
    km_sigma_info info;
    sg_detection det;        /* KM_SIGMA_DETECTION */
    /* KM_SIGMA_CORRELATION, before km_sigma_set_finish resolves them */
    const char **refs;       /* rule ids or names as written */
    size_t *ref_lines;
    size_t nrefs;
    sg_alias *aliases;
    size_t naliases;
    const char ***group_fields; /* [j][g], filled by finish */
    int generate;
    int doc_group;           /* rules of one file share a number: names resolve inside it first */
    size_t line_corr;
} sg_rule;

struct km_sigma_set {
    km_arena arena;
    sg_rule **rules;
    size_t n, cap;
    char **errors;
    size_t nerrors, caperrors;
    char **warnings;
    size_t nwarnings, capwarnings;
    /* placeholders */
    const char **ph_names;
    const char ***ph_values;
    size_t *ph_counts;
    size_t nph;
    struct km_ydoc **docs; /* the YAML trees the rules point into */
    size_t ndocs, capdocs;
    int next_group;
    int finished;
    int no_compile; /* km_sigma_set_compile(s, 0): the evaluator decides every rule (a test switch) */
};

/* ---- value.c ---- */
/* Parse a Sigma string with wildcards and escapes into out (arena memory). */
int sg_str_parse(km_arena *a, const char *s, size_t len, sg_str *out);
/* A plain (no wildcard) Sigma string from bytes. */
int sg_str_literal(km_arena *a, const char *s, size_t len, sg_str *out);
/* Compile s into a PCRE2 expression with Sigma's meaning (anchored unless it starts/ends with '*',
 * case-insensitive as docs/sigma.md defines unless cased; an SG_W_DASH byte matches any one of
 * '-', '/', U+2013, U+2014, U+2015). NULL with msg set on failure. */
pcre2_code *sg_str_compile(const sg_str *s, int cased, char *msg, size_t msgsz);
/* Compile a |re expression with flags i/m/s. */
pcre2_code *sg_re_compile(const char *re, size_t len, int fi, int fm, int fs, char *msg, size_t msgsz);
/* Base64 of in (standard alphabet, padded) into a. */
char *sg_base64(km_arena *a, const char *in, size_t n, size_t *outlen);
/* The three base64offset variants of in (as pySigma makes them). Returns the count (3). */
int sg_base64offset(km_arena *a, const char *in, size_t n, char *out[3], size_t outlen[3]);
/* Parse an IPv4/IPv6 CIDR ("10.0.0.0/8", "2001:db8::/32", or a bare address). 0 or -1. */
int sg_cidr_parse(const char *s, uint8_t lo[16], uint8_t hi[16], int *iplen);
/* Parse an address; 4 or 16, or 0 when s is not one. */
int sg_ip_parse(const char *s, size_t len, uint8_t out[16]);

/* ---- cond.c ---- */
/* Parse a condition over the detection's selections. On error returns NULL with msg set (and
 * *pos the byte position in text). Legacy `| count ...` / `| near ...` tails are returned in
 * *pipe (NULL when absent) for the loader. */
sg_cond *sg_cond_parse(km_arena *a, const char *text, const sg_sel *sels, size_t nsels, const char **pipe,
                       char *msg, size_t msgsz, size_t *pos);

/* ---- eval.c ---- */
int sg_eval_detection(const sg_detection *d, const km_json *rec, km_sigma_scratch *sc);
/* Compile prefilter patterns for a detection into the arena. */
int sg_prefilter_build(km_arena *a, sg_detection *d);
/* ---- compile.c ---- */
/* Compile the detection onto EventBridge patterns (plus kumomori's km-wildcard-ignore-case): the
 * condition in disjunctive normal form over the items the matcher can test exactly. Sets
 * d->prefilter, d->prefilter_exact and d->offm. Returns 1 when it produced patterns, 0 when the
 * caller should fall back to sg_prefilter_build's necessary patterns, -1 out of memory. */
int sg_compile_build(km_arena *a, sg_detection *d);
/* Shared with compile.c (prefilter.c). */
int sg_scalar_field(const char *f);
size_t sg_required_literal(const char *re, char *out, size_t outsz);

/* The cased wildcards ("wildcard", anything-but "wildcard") one pattern field's value list holds,
 * checked together against the matcher's complexity rule (km_wildcard_complexity, which refuses a
 * field whose wildcards one input can be half-way through in too many ways) before the list is
 * written, so that no pattern the Sigma compiler writes is refused when the matcher compiles it. */
#define SG_WL_MAX 64
typedef struct sg_wl {
    km_buf b;               /* the wildcard texts, one after the other */
    size_t end[SG_WL_MAX];  /* where each ends in b */
    size_t n;
    int over;               /* more than SG_WL_MAX: not checked, so refused */
} sg_wl;
void sg_wl_add(sg_wl *l, const char *w, size_t n); /* l may be NULL: nothing to collect */
int sg_wl_fits(const sg_wl *l);                    /* 1 when the matcher accepts them together */
void sg_wl_free(sg_wl *l);
/* A cased |re's required literal as the wildcard "*text*" (stars and backslashes in text escaped)
 * into w: the whole literal when the matcher accepts that wildcard, else its longest part with few
 * repeated runs (e.g. not "2222222") that it accepts. Returns 0 (w untouched) when there is none
 * of at least 3 characters. */
int sg_re_wildcard(const char *re, km_buf *w);

#endif
