/* Stateful detection: thresholds and correlations over a stream of rule hits ("rule R matched an
 * event at time T with these field values"), with windows on eventTime, not arrival.
 *
 * Hits may arrive out of order (CloudTrail files come minutes late and out of order across
 * files and regions): they wait in a reorder buffer until the watermark (the latest event time
 * seen, minus the allowed lateness) passes them, and are then applied in (time, arrival) order.
 * A hit older than the watermark is applied at once and counted as late.
 *
 * Types (docs/stateful.md has the exact rules):
 *   event_count   count of hits per group within a sliding window of `span`
 *   value_count   distinct values of a field per group within the window
 *   temporal      every input rule hit within the span, in any order, per group
 *   temporal_ordered  the input rules hit in the listed order within the span, per group
 * A correlation's own output is a hit too, so correlations chain.
 *
 * State is bounded: at most max_groups groups per rule (least recently used groups are evicted and
 * counted), at most max_pending hits waiting in the reorder buffer (the oldest is then applied
 * early and counted), and per group no more entries than the rule's threshold needs.
 *
 * Ownership: the engine copies everything it is given; fired alerts point into engine memory
 * valid during the callback only. Not thread-safe: one thread feeds an engine. */
#ifndef KM_CORR_H
#define KM_CORR_H

#include <stddef.h>
#include <stdint.h>
#include "kumomori/buf.h"
#include "kumomori/error.h"
#include "kumomori/sigma.h"

typedef struct km_corr km_corr;

typedef struct km_corr_opts {
    uint64_t lateness_ms; /* how late (in event time) a hit may arrive and still be applied in order */
    size_t max_groups;    /* per rule; 0 = 100,000 */
    size_t max_pending;   /* hits in the reorder buffer; 0 = 1,000,000 */
} km_corr_opts;

/* A stateful rule over input ids (base rules or other stateful rules). */
typedef struct km_corr_def {
    uint32_t id;                 /* this rule's id (distinct from every input id it is not) */
    km_corr_type type;
    const uint32_t *inputs;      /* ids of the rules it reads */
    size_t ninputs;
    const char *const *group_by; /* ngroup field names (for messages and alerts) */
    size_t ngroup;
    /* field read for group g from the events of input j: group_fields[j * ngroup + g]; NULL means
     * group_by[g] for every input */
    const char *const *group_fields;
    const char *value_field;     /* value_count */
    uint64_t span_ms;
    km_count_cond cond;
    int has_cond;                /* temporal(_ordered) without a condition: every input */
    /* kumomori extensions (docs/stateful.md) */
    uint64_t new_within_ms;      /* counts: fire only for a group first seen at most this long before */
    const char *differ_field;    /* temporal_ordered: the last step's value of this field must differ
                                  * from the first step's (a key used from another address) */
} km_corr_def;

/* One hit: input id matched an event. vals[i] is the event's value (km_sigma_field_text) of the
 * i-th path km_corr_fields gives for this id, NULL when absent. ctx is opaque bytes the engine keeps
 * with the hit and hands back when the hit triggers an alert (the alert's event fields). */
typedef struct km_corr_hit {
    uint32_t id;
    int64_t time_ms;
    const char *const *vals;
    size_t nvals;
    const char *event_id;
    const char *ctx;
    size_t ctx_len;
    int same_event;   /* the previous hit fed came from the same event (one event is one step of a
                       * temporal_ordered sequence, whatever the number of rules it matched) */
} km_corr_hit;

/* A stateful rule fired. */
typedef struct km_corr_fire {
    uint32_t id;
    const char *const *group_vals; /* ngroup values (NULL: the field was absent) */
    size_t ngroup;
    uint64_t count;                /* events (event_count), distinct values (value_count), rules (temporal) */
    int64_t first_ms, last_ms;     /* the window's first and last event times */
    const char *event_id;          /* the event that completed it */
    const char *ctx;
    size_t ctx_len;
} km_corr_fire;

typedef void (*km_corr_emit_fn)(void *ctx, const km_corr_fire *f);

typedef struct km_corr_stats {
    uint64_t hits, applied, late, early_released, untimed, evicted_groups, fired;
    uint64_t groups, pending;
} km_corr_stats;

km_corr *km_corr_new(const km_corr_opts *opts);
void km_corr_free(km_corr *e); /* takes NULL */
/* Add a rule (copied). Errors: a duplicate id, no inputs, a threshold above 1,000,000. */
int km_corr_add(km_corr *e, const km_corr_def *d, km_error *err);
/* After the last add: works out which fields each input's hits must carry (through chains). Rules
 * whose inputs form a loop are refused. */
int km_corr_finish(km_corr *e, km_error *err);
/* Whether hits of this id are read by some rule. */
int km_corr_consumes(const km_corr *e, uint32_t id);
/* The field paths a hit of id must carry, in order; 0 when none. */
size_t km_corr_fields(const km_corr *e, uint32_t id, const char *const **paths);

/* Feed a hit; alerts that become due are passed to emit (possibly several, possibly from earlier
 * hits released from the reorder buffer). */
int km_corr_feed(km_corr *e, const km_corr_hit *h, km_corr_emit_fn emit, void *ctx);
/* Event time has reached time_ms (a record no rule here matched): waiting hits older than the
 * lateness are applied and windows that ended are decided. */
void km_corr_advance(km_corr *e, int64_t time_ms, km_corr_emit_fn emit, void *ctx);
/* End of input: apply every waiting hit and close every window (rules with lt/lte/eq conditions
 * decide at a window's end). The engine stays usable. */
void km_corr_flush(km_corr *e, km_corr_emit_fn emit, void *ctx);
void km_corr_get_stats(const km_corr *e, km_corr_stats *st);

/* Save the whole state (reorder buffer, groups, counters) as one JSON object, and restore it into
 * an engine built with the same rules. A state whose rules differ is refused with a message. */
int km_corr_save(const km_corr *e, km_buf *out);
int km_corr_load(km_corr *e, const char *json, size_t len, km_error *err);

/* CloudTrail eventTime ("2024-05-01T10:00:00Z", with optional fraction or +hh:mm offset) in
 * milliseconds since 1970; -1 when it is not such a time. */
int64_t km_corr_parse_time(const char *s, size_t len);
/* "10m", "1h", "90s", "2d" in milliseconds; -1 otherwise. */
int64_t km_corr_parse_span(const char *s);

#endif
