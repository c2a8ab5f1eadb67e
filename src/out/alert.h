/* The one alert model every detection writer reads (text, JSON lines, SARIF now; ASFF, OCSF and
 * HTML later), and the writer interface.
 *
 * An alert is one rule matching one CloudTrail record. Its strings are borrowed: they live as long
 * as the batch that holds the alert (the pipeline), so a writer that keeps an alert beyond the
 * call (text groups them) copies what it needs. Writers are called from one thread, in input
 * order. */
#ifndef KM_OUT_ALERT_H
#define KM_OUT_ALERT_H

#include <stdint.h>
#include <stdio.h>
#include "kumomori/error.h"
#include "kumomori/rules.h"

typedef struct km_alert {
    const km_rule *rule;         /* id, title, severity, scenarios, MITRE, references, response */
    size_t rule_index;           /* index of rule in the rule set (SARIF ruleIndex) */
    const char *input;           /* the input as named on the command line or found in a folder; "-" is stdin */
    uint64_t offset;             /* byte offset of the record in the input (decompressed bytes for gzip) */
    int gzip;                    /* the input was gzip-compressed */
    /* From the record; NULL when the record lacks the field. */
    const char *event_time;
    const char *event_id;
    const char *event_name;
    const char *event_source;
    const char *aws_region;
    const char *account;         /* recipientAccountId */
    const char *principal;       /* userIdentity.arn, else userIdentity.invokedBy / principalId */
    const char *source_ip;
    const char *user_agent;
    const char *error_code;      /* the call failed (an attempt, still worth an alert) */
    const char *const *resources; /* resources[].ARN of the record */
    size_t nresources;
    const char *record;          /* the record, compact JSON, when the writer asked for it */
    size_t record_len;
    /* sigma helper: for threshold and correlation alerts, what was counted or seen in sequence
     * ("52 events in 10m by userIdentity.arn=..."); the event fields are those of the event that
     * completed it. NULL for single-event alerts. */
    const char *detail;
} km_alert;

/* Input that was skipped or could not be read, as the pipeline reports it. */
typedef struct km_note {
    const char *input;
    uint64_t offset;             /* (uint64_t)-1 when the whole input is concerned */
    int is_error;                /* input that could not be read (vs. rightly skipped, e.g. digests) */
    const char *message;         /* without the input name */
} km_note;

typedef struct km_run_stats {
    uint64_t inputs;             /* files (and stdin) read */
    uint64_t records;            /* records matched against the rules */
    uint64_t alerts;
    uint64_t bytes;              /* (decompressed) bytes scanned */
    uint64_t input_errors;       /* notes with is_error */
    uint64_t ignored_files;      /* files in folders not named like trail files (*.json, *.json.gz, ...) */
    uint64_t skipped[16];        /* by km_skip_reason (detect/reader.h) */
    uint64_t regex_limit_hits;   /* Sigma regular-expression tests stopped at PCRE2's limit: taken as no match */
    const char *regex_limit_rule; /* the id of a rule that had one (NULL when none) */
    double seconds;
} km_run_stats;

typedef struct km_writer_opts {
    FILE *out;
    const km_ruleset *rules;
    int include_event;           /* jsonl/sarif: put the record itself in each alert */
    int color;                   /* text: colour escapes (the caller decided: a terminal, no NO_COLOR) */
    size_t examples_per_rule;    /* text: events listed per rule before "and N more"; 0 = 10 */
} km_writer_opts;

typedef struct km_writer km_writer;

typedef struct km_writer_ops {
    const char *name;
    const char *summary;
    /* Each returns 0, or -1 when writing failed (the stream's error is reported by the caller). */
    int (*begin)(km_writer *w);
    int (*alert)(km_writer *w, const km_alert *a);
    void (*note)(km_writer *w, const km_note *n);
    int (*end)(km_writer *w, const km_run_stats *st);
    void (*destroy)(km_writer *w);
} km_writer_ops;

struct km_writer {
    const km_writer_ops *ops;
    km_writer_opts opts;
    void *state;                 /* the format's own */
};

/* A writer for the format name ("text", "jsonl", "sarif"), or NULL with err listing the formats.
 * The writer borrows opts->out and opts->rules. Free with km_writer_free. */
km_writer *km_writer_new(const char *format, const km_writer_opts *opts, km_error *err);
void km_writer_free(km_writer *w); /* takes NULL */
/* "text, jsonl, sarif" for help texts. */
const char *km_writer_formats(void);

/* Append the alert's event fields as JSON object members ("eventTime":...,"resources":[...]),
 * without braces, absent fields as null; shared by the JSON-based writers. Returns 0 or -1 (cap). */
struct km_buf;
int km_alert_json_event_fields(struct km_buf *b, const km_alert *a);
/* Append the rule's scenario ids as a JSON array: ["S2","S6"]. */
int km_scenarios_json(struct km_buf *b, unsigned scenarios);

int km_writer_begin(km_writer *w);
int km_writer_alert(km_writer *w, const km_alert *a);
void km_writer_note(km_writer *w, const km_note *n);
int km_writer_end(km_writer *w, const km_run_stats *st);

#endif
