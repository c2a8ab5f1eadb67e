/* Internal structures of the IAM engine: compiled policies, the context, string patterns. */
#ifndef KM_IAM_INTERNAL_H
#define KM_IAM_INTERNAL_H

#include "kumomori/iam.h"
#include "util/arena.h"

#include <stdint.h>

/* ---- strings with wildcards and policy variables (glob.c) ------------------------------ */

/* A pattern after policy-variable substitution: bytes plus, per byte, whether it is a
 * wildcard ('*' any run, '?' one byte) or a literal. A substituted value and the escapes
 * ${*} ${?} ${$} always give literals (AWS does not re-read them as wildcards). */
typedef struct iam_pat {
    char *s;
    uint8_t *w; /* 0 literal, 1 '*', 2 '?' */
    size_t n, cap;
} iam_pat;

/* Scratch memory reused during one evaluation. */
typedef struct iam_scratch {
    iam_pat pat[2];
    km_buf tmp;
} iam_scratch;

void iam_scratch_init(iam_scratch *s);
void iam_scratch_free(iam_scratch *s);

/* Glob match of str against pattern p (length pn). When w is NULL every '*' and '?' in p is a
 * wildcard; otherwise w says which bytes are. icase folds ASCII case. Iterative, O(pn*sn)
 * worst case, no recursion. */
int iam_glob(const char *p, const uint8_t *w, size_t pn, const char *str, size_t sn, int icase);
/* The same with only '*' as a wildcard ('?' literal), for request resource patterns. */
int iam_glob_star_only(const char *p, size_t pn, const char *str, size_t sn);
/* Whether some string matches both patterns (wildcards '*' and '?' on both sides, w NULL
 * meaning every '*'/'?' is one). Returns 1/0, or -1 when the patterns are too long to decide
 * within the work cap. */
int iam_glob_overlap(const char *a, size_t an, const char *b, size_t bn, int b_question_literal);

/* Variable resolution. Returns 1 when s contains "${". */
int iam_has_var(const char *s, size_t n);
/* Substitute policy variables in s using ctx. wild: whether unescaped '*' and '?' in s are
 * wildcards (StringLike, Resource) or literal (StringEquals). On success returns 0 and fills
 * out. Returns 1 when a variable cannot be resolved (absent key without default, or a
 * multi-valued key): the value then matches nothing; *bad_var names it (points into s, length
 * *bad_len). Returns -1 when out of memory or over the size cap. */
int iam_resolve(const char *s, size_t n, const km_iam_context *ctx, int wild, iam_pat *out,
                const char **bad_var, size_t *bad_len);

/* ---- context (context.c) --------------------------------------------------------------- */

typedef struct iam_ctx_entry {
    char *key;    /* as first written */
    char *lkey;   /* lower case, for lookup */
    size_t klen;
    char **vals;
    size_t n, cap;
    int multi;
} iam_ctx_entry;

/* Keys and values live in the context's arena: a request context is built once and thrown
 * away whole, so per-string mallocs would only cost time. */
struct km_iam_context {
    iam_ctx_entry *e;
    size_t n, cap;
    km_arena arena;
};

/* Add a key the caller knows is not there yet (no lookup): for contexts built in bulk. */
int iam_ctx_append(km_iam_context *c, const char *key, const char *value);
/* Lookup with a key of given length (case-insensitive). NULL when absent. */
const iam_ctx_entry *iam_ctx_find(const km_iam_context *c, const char *key, size_t n);

/* ---- compiled policies (policy.c) ------------------------------------------------------ */

typedef struct iam_action {
    const char *raw;
    const char *svc;  /* lower case service prefix */
    size_t svc_len;
    const char *name; /* part after ':' (pattern, matched case-insensitively) */
    size_t name_len;
    uint8_t all;      /* "*" (or "**"...) */
    uint8_t invalid;  /* no ':' / empty or blank name: never matches */
} iam_action;

typedef struct iam_arn {
    const char *seg[6]; /* "arn", partition, service, region, account, resource */
    size_t len[6];
} iam_arn;

/* Split s into ARN segments: returns the number of ':'-separated segments found (capped at 6,
 * the last taking the rest), or 0 when s does not start with "arn:". */
int iam_arn_split(const char *s, size_t n, iam_arn *out);

typedef struct iam_resource {
    const char *raw;
    size_t raw_len;
    uint8_t all;      /* "*" */
    uint8_t is_arn;
    uint8_t nseg;     /* segments written (short ARNs have fewer than 6) */
    uint8_t has_var;
    uint8_t any_wild;      /* '*' anywhere */
    uint8_t trailing_wild; /* last written segment ends with '*' */
    iam_arn arn;           /* of raw, padded with "*" segments when short */
} iam_resource;

enum { PR_WILDCARD, PR_ACCOUNT, PR_ARN, PR_UNIQUE_ID, PR_SERVICE, PR_FEDERATED, PR_CANONICAL };

typedef struct iam_principal {
    uint8_t type;
    const char *type_name; /* "AWS", "Service", ... as written */
    const char *value;
    char account[13];      /* PR_ACCOUNT */
} iam_principal;

typedef enum iam_op {
    OP_STRING_EQUALS, OP_STRING_NOT_EQUALS, OP_STRING_EQUALS_IC, OP_STRING_NOT_EQUALS_IC,
    OP_STRING_LIKE, OP_STRING_NOT_LIKE,
    OP_NUM_EQ, OP_NUM_NE, OP_NUM_LT, OP_NUM_LE, OP_NUM_GT, OP_NUM_GE,
    OP_DATE_EQ, OP_DATE_NE, OP_DATE_LT, OP_DATE_LE, OP_DATE_GT, OP_DATE_GE,
    OP_BOOL, OP_BINARY_EQUALS, OP_IP, OP_NOT_IP,
    OP_ARN_EQUALS, OP_ARN_LIKE, OP_ARN_NOT_EQUALS, OP_ARN_NOT_LIKE,
    OP_NULL,
    OP_COUNT
} iam_op;

/* Negated operators: multiple policy values must all "not match", and a missing key
 * satisfies them. */
int iam_op_negated(iam_op op);

enum { SET_NONE = 0, SET_FOR_ALL = 1, SET_FOR_ANY = 2 };

typedef struct iam_cidr {
    uint8_t ok, v6, prefix;
    uint8_t addr[16];
} iam_cidr;

typedef struct iam_cvalue {
    const char *s;
    size_t len;
    uint8_t has_var;
    uint8_t ok;      /* pre-parsed value valid (numbers, dates, CIDRs, booleans) */
    double num;
    int64_t date_ms;
    iam_cidr cidr;
} iam_cvalue;

typedef struct iam_cond {
    const char *op_raw; /* operator as written, e.g. "ForAnyValue:StringLikeIfExists" */
    const char *key;    /* as written */
    const char *lkey;   /* lower case */
    size_t key_len;
    iam_op op;
    uint8_t set;        /* SET_* */
    uint8_t if_exists;
    iam_cvalue *v;
    size_t nv;
} iam_cond;

typedef struct iam_stmt {
    size_t index;  /* 1-based */
    const char *sid;
    uint8_t deny;
    uint8_t not_action, not_resource, not_principal;
    uint8_t has_resource, has_principal;
    iam_action *act; size_t nact;
    iam_resource *res; size_t nres;
    iam_principal *pr; size_t npr;
    iam_cond *cond; size_t ncond;
} iam_stmt;

struct km_iam_policy {
    km_arena arena;
    km_iam_policy_kind kind;
    const char *name;
    uint8_t vars;      /* Version 2012-10-17: policy variables are substituted */
    iam_stmt *st;
    size_t nst;
    const char **warn;
    size_t nwarn, warn_cap;
};

/* ---- conditions (condition.c) ---------------------------------------------------------- */

/* Parse helpers shared with policy.c (pre-parsing condition values). */
int iam_parse_number(const char *s, size_t n, double *out);
int iam_parse_date(const char *s, size_t n, int64_t *ms);
int iam_parse_cidr(const char *s, size_t n, iam_cidr *out);
int iam_parse_ip(const char *s, size_t n, iam_cidr *out); /* address only, prefix = full */

/* How one condition evaluated, for explanations. */
enum {
    CR_COMPARED = 0,      /* values compared */
    CR_MISSING,           /* key absent: operator's missing-key rule applied */
    CR_MISSING_IFEXISTS,  /* key absent, ...IfExists: true */
    CR_MULTI_PLAIN,       /* multi-valued key with a plain operator: false */
    CR_EMPTY_FORALL,      /* ForAllValues on an empty set or absent key: true */
    CR_BAD_VALUE,         /* a value could not be read (number, date, IP, boolean): that value fails */
    CR_UNRESOLVED_VAR,    /* a policy variable had no value: that value fails */
    CR_NULL_CHECK         /* Null operator */
};

typedef struct iam_cond_result {
    int match;
    int reason; /* CR_* */
    int missing;
    const char *bad_var; size_t bad_var_len;
} iam_cond_result;

/* Evaluate one condition against the context. vars: substitute policy variables. */
int iam_cond_eval(const iam_cond *c, const km_iam_context *ctx, int vars, iam_scratch *scr,
                  iam_cond_result *out);

/* ---- explanation records (eval.c / explain.c) ------------------------------------------ */

/* Explanation records hold copies (in the explanation's arena), so an explanation stays valid
 * after the policies and context it describes are freed. */
typedef struct iam_xcond {
    const char *op, *key;
    const char *pvals; /* policy values as a JSON array */
    iam_cond_result r; /* r.bad_var points into the arena */
    uint8_t ignored; /* discovery mode: assumed in the requester's favour */
    const char *req; /* the request's value(s) as JSON, or NULL when the key is absent */
} iam_xcond;

typedef struct iam_xstmt {
    km_iam_policy_kind kind;
    const char *pol_name;
    const char *level;
    size_t index;
    const char *sid;
    uint8_t deny;
    uint8_t action, resource, conditions, applies;
    int principal; /* PM_* */
    iam_xcond *xc;
    size_t nxc;
} iam_xstmt;

typedef struct iam_xstep {
    const char *what;   /* "identity", "scp r-root", ... */
    km_iam_policy_kind kind;
    const char *level;
    int result;         /* R_* */
} iam_xstep;

struct km_iam_explain {
    km_arena arena;
    km_iam_decision decision;
    const char *summary;
    char principal[512], action[256], resource[1024];
    iam_xstmt *xs; size_t nxs, caps;
    iam_xstep *steps; size_t nsteps, capst;
    const char *blocked[8]; size_t nblocked;
    const char **notes; size_t nnotes, capn;
    /* expanded wildcard evaluations */
    const char **exp_res; int *exp_dec; size_t nexp, capexp;
};

/* Principal match kinds of a resource-policy statement. */
enum { PM_NONE = 0, PM_MATCH, PM_ACCOUNT, PM_SESSION_ROLE, PM_SESSION_USER, PM_NA };
/* Per-policy-type results. */
enum { R_NA = 0, R_IMPLICIT, R_ALLOWED, R_EXPLICIT, R_ALLOWED_ACCOUNT, R_DENIED_ACCOUNT };
const char *iam_result_name(int r);

void iam_explain_reset(km_iam_explain *ex);
char *iam_xstrdup(km_iam_explain *ex, const char *s);
void iam_explain_note(km_iam_explain *ex, const char *fmt, ...) __attribute__((format(printf, 2, 3)));


/* ---- small helpers --------------------------------------------------------------------- */
static inline char iam_lc(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c; }
int iam_ieq(const char *a, size_t an, const char *b, size_t bn);
int iam_istarts(const char *s, size_t n, const char *prefix);
int iam_iends(const char *s, size_t n, const char *suffix);

#endif
