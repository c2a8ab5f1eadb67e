/* Detection rules: loading rule files (docs/rules.md), validating them with file and line:column
 * in every message, rewriting EventBridge-form patterns onto the raw CloudTrail record, and
 * compiling a whole rule set into one matcher.
 *
 * Ownership: a km_ruleset owns every rule, string and example it holds; pointers obtained from it
 * stay valid until km_ruleset_free. Thread-safety: loading needs exclusive access; afterwards a
 * rule set is read-only and may be shared by threads. */
#ifndef KUMOMORI_RULES_H
#define KUMOMORI_RULES_H

#include <stddef.h>
#include <stdint.h>
#include "kumomori/buf.h"
#include "kumomori/error.h"
#include "kumomori/match.h"
#include "kumomori/sigma.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Ordered so that a larger value is more severe. */
typedef enum {
    KM_SEV_INFO = 0,
    KM_SEV_LOW,
    KM_SEV_MEDIUM,
    KM_SEV_HIGH,
    KM_SEV_CRITICAL
} km_severity;

/* "critical", "high", ... */
const char *km_severity_name(km_severity s);
/* Parses a severity name; returns 0, or -1 when s is not one of the five names. */
int km_severity_parse(const char *s, km_severity *out);

/* Scenario bits: bit (n-1) is scenario Sn, S1..S7. */
#define KM_SCENARIO_COUNT 7
#define KM_SCENARIO_BIT(n) (1u << ((n) - 1))
/* The scenario's short title ("credential leak" for 2), or "" outside 1..7. */
const char *km_scenario_title(int n);

typedef struct km_rule_example {
    const char *json;   /* the example record, compact JSON */
    size_t len;
    int should_match;   /* 1: listed under examples.match, 0: under examples.no_match */
    size_t line;        /* line of the example in the rule file (for messages) */
} km_rule_example;

/* sigma helper: what a rule is (docs/sigma.md, docs/stateful.md). */
typedef enum {
    KM_RULE_PATTERN = 0, /* one EventBridge pattern (docs/rules.md) */
    KM_RULE_SIGMA,       /* a Sigma detection: patterns narrow the records, the Sigma evaluator decides */
    KM_RULE_THRESHOLD,   /* a count or distinct count of another rule's matches in a window */
    KM_RULE_CORRELATION  /* a sequence or co-occurrence of rules' matches in a window */
} km_rule_kind;

typedef struct km_rule {
    const char *id;
    const char *title;
    const char *description;
    const char *response;
    km_severity severity;
    unsigned scenarios;          /* KM_SCENARIO_BIT(n) for each Sn */
    int primary_scenario;        /* the first one the rule lists (1..7): where reports group it */
    const char **mitre;          /* technique ids */
    size_t nmitre;
    const char **references;     /* URLs */
    size_t nreferences;
    const char *file;            /* where it came from: "rules/s3/x.json" (built-in) or the user's path */
    int builtin;
    const char *pattern_written; /* the pattern as the file writes it, compact JSON */
    const char *pattern;         /* the pattern over the raw CloudTrail record, compact JSON */
    size_t pattern_len;
    int eventbridge_form;        /* the file wrote it in EventBridge form (source/detail-type/detail) */
    const char *never_matches;   /* why the pattern, valid in AWS, can never match a CloudTrail event as
                                    EventBridge delivers it ("file:line:col: ..."); such a rule is
                                    loaded (with a warning) but left out of the matcher. NULL normally */
    int bare_pattern;            /* the file was a bare EventBridge pattern (or `aws events describe-rule`
                                    output): the metadata was made up (docs/rules.md) */
    km_rule_example *examples;
    size_t nexamples;
    /* ---- sigma helper: rules that are not one EventBridge pattern (docs/sigma.md, docs/stateful.md) ---- */
    km_rule_kind kind;
    int hidden;                  /* feeds thresholds/correlations only: its matches are not alerts */
    const char *const *patterns; /* KM_RULE_SIGMA: necessary patterns (any of them); none = every record */
    size_t npatterns;
    size_t sigma_index;          /* KM_RULE_SIGMA: the rule in km_ruleset_sigma(rs) */
    int sigma_exact;             /* KM_RULE_SIGMA: the patterns are the rule (no evaluation needed) */
    /* KM_RULE_THRESHOLD / KM_RULE_CORRELATION */
    km_corr_type corr_type;
    const char *const *inputs;   /* ids of the rules it reads (a threshold reads its own hidden rule) */
    size_t ninputs;
    const char *const *group_by;
    size_t ngroup;
    const char *const *group_fields; /* [input * ngroup + g]: the field read from that input's events, or NULL */
    const char *value_field;     /* value_count: distinct values of this field */
    uint64_t span_ms;
    km_count_cond cond;
    int has_cond;
    const char *query;           /* a threshold written as an Athena query: the query as written */
    uint64_t new_within_ms;      /* threshold "first-seen-within": only groups first seen this recently */
    const char *differ_field;    /* correlation "differ": the last step's value must differ from the first's */
} km_rule;

typedef struct km_ruleset km_ruleset;

/* New empty rule set, or NULL when out of memory. */
km_ruleset *km_ruleset_new(void);
/* Frees the set and everything it owns. Takes NULL. */
void km_ruleset_free(km_ruleset *rs);

/* Add the built-in pack (the rules/ folder embedded at build time). Returns KM_OK or the first
 * error; every error is also kept (km_ruleset_error). */
int km_ruleset_add_builtin(km_ruleset *rs, km_error *err);
/* Add a rule file, or every *.json file under a folder (recursively, in name order). A bad file
 * does not stop the others from loading: every problem is kept, err gets the first, and the
 * return value is KM_ERR when there was any. */
int km_ruleset_add_path(km_ruleset *rs, const char *path, km_error *err);
/* Add one rule from the text of a rule file; name is used in messages and as km_rule.file.
 * The text is copied. */
int km_ruleset_add_text(km_ruleset *rs, const char *name, const char *text, size_t len,
                        int builtin, km_error *err);

size_t km_ruleset_count(const km_ruleset *rs);
/* Rule i (0-based, in load order), or NULL. Rule i is matcher id i (km_ruleset_matcher). */
const km_rule *km_ruleset_get(const km_ruleset *rs, size_t i);
/* The rule with this id, or NULL. */
const km_rule *km_ruleset_find(const km_ruleset *rs, const char *id);
/* Every problem met while loading, "file:line:col: message", in order. */
size_t km_ruleset_error_count(const km_ruleset *rs);
const char *km_ruleset_error(const km_ruleset *rs, size_t i);

/* Things that load but deserve the user's attention ("file:line:col: message"), e.g. a pattern that
 * can never match; the command prints them as warnings. */
size_t km_ruleset_warning_count(const km_ruleset *rs);
const char *km_ruleset_warning(const km_ruleset *rs, size_t i);

/* ---- sigma helper: Sigma, threshold and correlation rules ---- */
/* Add a rule built elsewhere (Sigma, thresholds); every string and array is copied. The id must be
 * new. */
int km_ruleset_add_rule(km_ruleset *rs, const km_rule *r, km_error *err);
/* Keep a problem found outside the JSON loader ("file:line:col: message"). */
void km_ruleset_add_error(km_ruleset *rs, const char *msg);
/* The Sigma rules loaded so far (YAML files given to km_ruleset_add_path), or NULL. Owned by rs. */
km_sigma_set *km_ruleset_sigma(const km_ruleset *rs);
/* Values for a Sigma `|expand` placeholder %name%; call before adding the rules that use it. */
int km_ruleset_sigma_placeholder(km_ruleset *rs, const char *name, const char *const *values, size_t n, km_error *err);
/* After the last add: turns the Sigma rules into rules of the set and checks that every threshold
 * and correlation names rules that exist, without loops. Returns KM_OK or KM_ERR (problems kept). */
int km_ruleset_finish(km_ruleset *rs, km_error *err);
/* Whether any rule is not a plain pattern (the pipeline then needs src/detect/program). */
int km_ruleset_has_extensions(const km_ruleset *rs);

/* A new matcher holding every rule's (rewritten) pattern, rule i under id i; the caller frees it
 * with km_matcher_free. NULL with err set on failure. The first matcher built from a ruleset takes
 * the patterns the loader compiled (later ones compile them again), so two threads must not build
 * matchers from one ruleset at the same time. */
km_matcher *km_ruleset_matcher(const km_ruleset *rs, km_error *err);
/* The same with only the rules for which keep(rule, ctx) returns non-zero (ids stay rule indexes). */
km_matcher *km_ruleset_matcher_select(const km_ruleset *rs, int (*keep)(const km_rule *r, void *ctx),
                                      void *ctx, km_error *err);

/* Rewrite an EventBridge-form pattern (source / detail-type / detail / account / region) onto the
 * raw CloudTrail record, as docs/rules.md describes; a raw-form pattern is copied unchanged
 * (compacted). Appends compact JSON to out. *was_eventbridge (may be NULL) says which form it was.
 * On error, err->offset is the byte offset in pattern of the value at fault. */
int km_pattern_rewrite(const char *pattern, size_t len, km_buf *out, int *was_eventbridge,
                       km_error *err);

#ifdef __cplusplus
}
#endif
#endif
