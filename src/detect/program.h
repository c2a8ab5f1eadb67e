/* The detection program: what the pipeline runs beyond single EventBridge patterns. Sigma rules
 * (the matcher narrows the records with each rule's necessary patterns, the Sigma evaluator
 * decides), hidden rules that only feed others, and thresholds and correlations (src/corr) fed
 * with rule matches in input order.
 *
 * Two sides: workers call km_program_select and km_program_make_hit on their own record (each with
 * its own scratch); the one writing thread calls km_program_alert for every alert in input order,
 * then km_program_flush at the end of the input. The program owns the stateful engine; its state can
 * be saved and restored (kumomori watch). */
#ifndef KM_DETECT_PROGRAM_H
#define KM_DETECT_PROGRAM_H

#include <stdint.h>
#include "kumomori/json.h"
#include "kumomori/match.h"
#include "kumomori/rules.h"
#include "corr/corr.h"
#include "out/alert.h"
#include "util/arena.h"

typedef struct km_program km_program;
typedef struct km_program_scratch km_program_scratch;

typedef struct km_program_opts {
    uint64_t lateness_ms; /* reorder window in event time; default (0 given) none */
    size_t max_groups;    /* per threshold/correlation; 0 = 100,000 */
    size_t max_pending;   /* events waiting for late ones; 0 = 100,000 */
    km_severity min_severity; /* alerts of rules below it are not written (their matches still feed others) */
} km_program_opts;

/* What a worker hands over with an alert whose rule feeds a threshold or correlation. */
typedef struct km_program_hit {
    int64_t time_ms;
    const char **vals;
    size_t nvals;
    const char *ctx;   /* the alert's event fields (a compact record, km_program_hit_ctx), built by the worker */
    size_t ctx_len;
} km_program_hit;

/* A program for the finished rule set rs (which must outlive it). NULL with err set when the
 * thresholds and correlations cannot be built (a loop, an unknown input). */
km_program *km_program_new(const km_ruleset *rs, const km_program_opts *o, km_error *err);
void km_program_free(km_program *p); /* takes NULL */

/* Whether rule i's matches are read by a threshold or correlation (the matcher must keep it). */
int km_program_feeds(const km_program *p, size_t i);

/* Worker side. */
km_program_scratch *km_program_scratch_new(void);
void km_program_scratch_free(km_program_scratch *s); /* takes NULL */
/* Regular-expression tests of Sigma rules evaluated with this scratch that stopped at PCRE2's
 * limit and were taken as no match (km_sigma_scratch_limit_hits); *first_rule: the id of the first
 * rule that did (NULL when none). */
uint64_t km_program_scratch_limit_hits(const km_program_scratch *s, const char **first_rule);
/* Whether some Sigma rule must see every record (it has no necessary pattern). */
int km_program_sees_all(const km_program *p);
/* The rules that really match a record, from the matcher's ids (root may be NULL when the record
 * could not be parsed: Sigma rules then do not match). *out is valid until the next call. */
int km_program_select(const km_program *p, km_program_scratch *s, const km_json *root, const uint32_t *ids, int n,
                      const uint32_t **out);
/* The hit of rule id for the stateful rules (NULL when none reads it), allocated in a. */
km_program_hit *km_program_make_hit(const km_program *p, uint32_t id, const km_json *root, km_arena *a);

/* Worker side: h->ctx from the alert's fields, in ar (the alert's batch); scratch is not used. */
void km_program_hit_ctx(km_program_hit *h, const km_alert *a, km_arena *ar, km_buf *scratch);

/* The fast path for records that only feed thresholds and correlations: when every matched rule is
 * hidden (none is a Sigma rule to evaluate, none is written), the fields are read from the record's
 * text (detect/extract.h) instead of a parsed tree. */
typedef struct km_light {
    const char *f[13];      /* alert fields, see program.c */
    size_t flen[13];        /* their lengths (no strlen for each alert and hit) */
    const char *res;        /* resource ARNs, NUL-separated */
    size_t nres;
    const char **vals;      /* per matched rule: its hit values, one block after the other */
    size_t *vlen;           /* their lengths */
    size_t *first, *nvals;
    int64_t time_ms;
    const char *ctx;        /* the hits' event fields as JSON, once built for this record (in ctx_arena) */
    size_t ctx_len;
    const km_arena *ctx_arena;
} km_light;
int km_program_light(const km_program *p, const uint32_t *ids, int n);
/* Have m keep (match/kept.h) the fields the fast path reads, so that the matcher's walker reads
 * them instead of km_extract. Returns 0, or -1 when out of memory (the fast path
 * then reads the text). Before matching starts; m must outlive p's use of it. */
int km_program_keep_fields(km_program *p, km_matcher *m);
/* 0 done (l filled, strings in a), 1 the record needs the tree, -1 out of memory. m and ms: the
 * matcher and scratch that matched this record (its kept fields are read when m is the matcher
 * given to km_program_keep_fields; NULL: km_extract reads the text). */
int km_program_light_extract(const km_program *p, const km_matcher *m, km_match_scratch *ms, const char *text,
                             size_t len, const uint32_t *ids, int n, km_arena *a, km_light *l);
/* The alert fields and the hit of the k-th matched rule, copied into a (the alert's batch). */
void km_program_light_fill(const km_program *p, km_light *l, size_t k, km_arena *a, km_alert *al, km_program_hit **hit,
                           km_buf *scratch);

/* Writing side, one thread, in input order. Writes a (unless its rule is hidden), feeds its hit,
 * and writes the threshold/correlation alerts that become due. same_event: a is not the first alert
 * of its record. Returns the number of alerts written, or -1 when writing failed. */
long km_program_alert(km_program *p, const km_alert *a, const km_program_hit *h, int same_event, km_writer *w);
/* Whether the program has thresholds or correlations (workers then report event time with
 * km_program_record_time, so that windows close without waiting for the next match). */
int km_program_stateful(const km_program *p);
/* The eventTime of a record from its text, cheaply (the first "eventTime" string in it), or -1. */
int64_t km_program_record_time(const char *json, size_t len);
/* The eventTime of a record just matched by m with ms: the top-level one, which the matcher kept
 * (km_program_keep_fields) and the hits carry, or km_program_record_time's when m keeps none. */
int64_t km_program_match_time(const km_program *p, const km_matcher *m, const km_match_scratch *ms, const char *json,
                              size_t len);
/* Writing side: event time reached t (in input order). Returns alerts written or -1. */
long km_program_tick(km_program *p, int64_t t, km_writer *w);
/* End of input: decide every waiting event and open window; returns alerts written or -1. */
long km_program_flush(km_program *p, km_writer *w);

void km_program_stats(const km_program *p, km_corr_stats *st);
/* The stateful engine's state (JSON) for kumomori watch. */
int km_program_save(const km_program *p, km_buf *out);
int km_program_load(km_program *p, const char *json, size_t len, km_error *err);

/* The alert's event fields as JSON: what a hit carried before the compact record of
 * km_program_hit_ctx (state files written then hold it; the thresholds' alerts read both). */
int km_alert_to_json(km_buf *b, const km_alert *a);

/* Run one example sequence of a rule file (docs/stateful.md: a list of records, where
 * {"repeat": N, "every": "10s", "record": {...}} stands for N copies) through a fresh program over rs
 * and m; *fired says whether rule_index raised an alert. */
int km_program_run_sequence(const km_ruleset *rs, const km_matcher *m, const char *seq, size_t len, size_t rule_index,
                            int *fired, km_error *err);

#endif
