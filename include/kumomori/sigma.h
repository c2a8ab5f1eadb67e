/* Sigma rules for CloudTrail (https://github.com/SigmaHQ/sigma-specification): loading rule files
 * unchanged (YAML, one or many documents), and deciding whether a CloudTrail record matches a
 * rule's detection. Correlation rules (event_count, value_count, temporal, temporal_ordered) and
 * the legacy `| count() ... > N` / `near` conditions are loaded here too and run by the stateful
 * engine (src/corr). docs/sigma.md gives the exact semantics (case, wildcards, field paths,
 * `contains` on objects, null, numbers, keywords).
 *
 * A rule the engine cannot run fails to load with "file:line:col: rule 'title': what", never
 * silently; warnings (a legacy construct read a documented way) are kept beside the errors.
 *
 * Ownership: a km_sigma_set owns every rule, compiled expression and string it holds; pointers
 * obtained from it stay valid until km_sigma_set_free. Thread-safety: loading needs exclusive
 * access; afterwards the set is read-only, and km_sigma_eval may run on many threads at once,
 * each with its own km_sigma_scratch. */
#ifndef KUMOMORI_SIGMA_H
#define KUMOMORI_SIGMA_H

#include <stddef.h>
#include <stdint.h>
#include "kumomori/error.h"
#include "kumomori/json.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct km_sigma_set km_sigma_set;
typedef struct km_sigma_scratch km_sigma_scratch;

typedef enum {
    KM_SIGMA_DETECTION = 1, /* a rule with `detection:` */
    KM_SIGMA_CORRELATION    /* a rule with `correlation:`, or a legacy aggregation/near condition */
} km_sigma_kind;

typedef enum {
    KM_CORR_EVENT_COUNT = 1,
    KM_CORR_VALUE_COUNT,
    KM_CORR_TEMPORAL,
    KM_CORR_TEMPORAL_ORDERED
} km_corr_type;

/* Condition on a count: every present bound must hold (gt and lte make a range). */
typedef struct km_count_cond {
    int has_gt, has_gte, has_lt, has_lte, has_eq;
    uint64_t gt, gte, lt, lte, eq;
} km_count_cond;

typedef struct km_sigma_info {
    km_sigma_kind kind;
    const char *title;
    const char *id;          /* may be NULL (id is optional in Sigma) */
    const char *name;        /* may be NULL */
    const char *status;      /* may be NULL */
    const char *level;       /* "informational", "low", "medium", "high", "critical", or NULL */
    const char *description; /* may be NULL */
    const char *author;      /* may be NULL */
    const char **tags;
    size_t ntags;
    const char **references;
    size_t nreferences;
    const char **falsepositives;
    size_t nfalsepositives;
    unsigned scenarios;      /* kumomori extension `scenarios: [S2, S6]`: bit n-1 for Sn; 0 if absent */
    const char *response;    /* kumomori extension `response:` (what to do when it fires), or NULL */
    const char *file;        /* the file (or name) it was loaded from */
    size_t line;             /* line of the document's first key */
    /* Whether a match of this rule is reported on its own. False for rules referred to by a
     * correlation whose `generate` is not true, and for the pieces of a legacy aggregation. */
    int reported;
    /* KM_SIGMA_CORRELATION only */
    km_corr_type corr_type;
    const size_t *corr_rules;  /* indices of the referred rules in this set */
    size_t ncorr_rules;
    const char **group_by;     /* field names (after aliases: see km_sigma_group_field) */
    size_t ngroup_by;
    uint64_t timespan_ms;
    km_count_cond cond;
    int has_cond;
    const char *value_field;   /* value_count: the field whose distinct values are counted */
} km_sigma_info;

/* New empty set, or NULL when out of memory. */
km_sigma_set *km_sigma_set_new(void);
/* Frees the set and everything it owns. Takes NULL. */
void km_sigma_set_free(km_sigma_set *s);

/* Values for `|expand` placeholders (%name%, without the percent signs). Must be called before
 * rules that use the placeholder are added; the strings are copied. Each value is a Sigma string
 * (wildcards allowed); the placeholder matches any of them. */
int km_sigma_set_placeholder(km_sigma_set *s, const char *name, const char *const *values, size_t n,
                             km_error *err);

/* Add every document of a Sigma YAML text; name is used in messages and as km_sigma_info.file.
 * Returns KM_OK, or KM_ERR when any document could not be loaded (every problem is kept: see
 * km_sigma_error; err gets the first). Correlation references are resolved by km_sigma_set_finish. */
int km_sigma_set_add_text(km_sigma_set *s, const char *name, const char *text, size_t len, km_error *err);
/* Add a .yml/.yaml file, or every such file under a folder (recursively, in name order). */
int km_sigma_set_add_path(km_sigma_set *s, const char *path, km_error *err);
/* Resolve correlation references (by id or name, across every file added) and check the rule
 * graph (no cycles). Call once after the last add; returns KM_OK or KM_ERR (problems kept). */
int km_sigma_set_finish(km_sigma_set *s, km_error *err);

size_t km_sigma_count(const km_sigma_set *s);
const km_sigma_info *km_sigma_get(const km_sigma_set *s, size_t i);
/* Problems met while loading, "file:line:col: message", in order. */
size_t km_sigma_error_count(const km_sigma_set *s);
const char *km_sigma_error(const km_sigma_set *s, size_t i);
size_t km_sigma_warning_count(const km_sigma_set *s);
const char *km_sigma_warning(const km_sigma_set *s, size_t i);

/* For correlation rule c and its j-th referred rule: the field to read for group-by entry g
 * (the alias's field for that rule, else the group-by name itself). */
const char *km_sigma_group_field(const km_sigma_set *s, size_t c, size_t j, size_t g);

/* Scratch memory for evaluation; one per thread. NULL when out of memory. Takes NULL to free. */
km_sigma_scratch *km_sigma_scratch_new(void);
void km_sigma_scratch_free(km_sigma_scratch *sc);

/* Whether detection rule i matches the CloudTrail record (a JSON object). Returns 1 or 0, or -1
 * when i is not a detection rule. This is the reference evaluator: it reads the record's tree
 * directly and is the oracle the compiled matcher is tested against. */
int km_sigma_eval(const km_sigma_set *s, size_t i, const km_json *record, km_sigma_scratch *sc);

/* How many regular-expression tests made with this scratch stopped at PCRE2's match or depth
 * limit (a `|re` with catastrophic backtracking on a crafted value, so that one record cannot hang
 * detection). Such a test is taken as no match, so the rule may have missed the record: callers
 * report the count rather than let the miss pass unsaid. */
uint64_t km_sigma_scratch_limit_hits(const km_sigma_scratch *sc);

/* Necessary conditions for detection rule i as EventBridge patterns over the raw record: the
 * rule can only match a record that matches at least one of them. Returns how many there are
 * (0: the rule must be evaluated on every record) and points *patterns at them (compact JSON,
 * owned by the set). */
size_t km_sigma_prefilter(const km_sigma_set *s, size_t i, const char *const **patterns);
/* Whether rule i's prefilter patterns are the detection itself on records whose fields have
 * CloudTrail's documented types (then a prefilter match is a match, no evaluation needed): an 'or'
 * of selections of plain, contains/startswith/endswith or cased string values on CloudTrail's
 * string fields. docs/sigma.md. */
int km_sigma_prefilter_exact(const km_sigma_set *s, size_t i);

/* How detection rule i runs on the matcher: 2 fully (its patterns are the rule: the matcher's
 * answer is final), 1 partly (the patterns test what the matcher can test exactly, the reference
 * evaluator decides on the records they pass), 0 not at all (evaluated on every record), -1 not a
 * detection. *reasons (owned by the set) lists what is kept off the matcher, "line N: field: why".
 * docs/sigma.md. */
int km_sigma_compiled(const km_sigma_set *s, size_t i, const char *const **reasons, size_t *nreasons);
/* Test switch: with on = 0, no rule is compiled: every rule's patterns are the older necessary
 * conditions and the reference evaluator decides (the alerts must be the same). Call before the
 * rules are turned into a rule set. */
void km_sigma_set_compile(km_sigma_set *s, int on);

/* The values a record holds at a Sigma field path (dotted, through objects and arrays) rendered as
 * one string for grouping and distinct counting: a string as is, a number or boolean as its JSON
 * text, an object or array as compact JSON, several values joined by ",". Appends to out and
 * returns 1, or returns 0 (out unchanged) when the record has no value there. */
struct km_buf;
int km_sigma_field_text(const km_json *record, const char *path, struct km_buf *out);

#ifdef __cplusplus
}
#endif
#endif
