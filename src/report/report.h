/* kumomori report: one self-contained HTML page from an audit document (`kumomori audit
 * --format json`) and, optionally, detect alerts (`kumomori detect --format jsonl`).
 *
 * Every string of both inputs is treated as hostile (CloudTrail fields and resource names are
 * chosen by whoever acts in the account): it is HTML-escaped wherever it appears, never placed in
 * a script, and the page's Content-Security-Policy allows only its own inline style and script
 * (by hash), so even a missed escape could not load or run anything. */
#ifndef KM_REPORT_H
#define KM_REPORT_H

#include "kumomori/buf.h"
#include "kumomori/error.h"

#include <stddef.h>
#include <stdio.h>

typedef struct km_report km_report;

typedef struct km_report_stats {
    size_t findings;        /* findings in the audit */
    size_t alerts;          /* alerts read */
    size_t alerts_bad;      /* alert lines skipped as unreadable */
    size_t alerts_untimed;  /* alerts without a readable eventTime (in the table, not the timeline) */
    size_t alerts_listed;   /* alerts in the table (at most max_alert_rows) */
} km_report_stats;

/* A new, empty report; free it with km_report_free. max_alert_rows caps the alerts table
 * (0: 5000); the timeline always counts every alert. */
km_report *km_report_new(size_t max_alert_rows);
void km_report_free(km_report *r); /* takes NULL */

/* Parses and checks the audit document text[0..len). name is used in messages. On failure
 * returns KM_ERR with err naming the file, line:column and byte offset. The text is copied. */
int km_report_set_audit(km_report *r, const char *text, size_t len, const char *name, km_error *err);

/* Adds one line of alerts (JSON lines). Returns 1 when the line was blank, 0 when it was used,
 * or KM_ERR when it is unreadable: err then says why and where ("NAME:LINE:COL: ..."), the line
 * is counted as skipped and the caller goes on with the next one. */
int km_report_add_alert_line(km_report *r, const char *line, size_t len, const char *name,
                             size_t lineno, km_error *err);

/* Reads the alerts file path ("-" is standard input) line by line into r, reporting each
 * skipped line on errf (may be NULL). Returns 0, or KM_ERR (err set) when the file cannot be
 * opened or read at all. Lines over 16 MiB are skipped and counted. */
int km_report_read_alerts(km_report *r, const char *path, FILE *errf, km_error *err);

/* Appends the whole HTML page to out. Returns 0, or -1 when out's cap or memory ran out. */
int km_report_render(km_report *r, km_buf *out);

/* Counts of what was read and shown (valid after km_report_render for alerts_listed). */
void km_report_get_stats(const km_report *r, km_report_stats *st);

/* Appends s[0..n) to b escaped for HTML text and attribute values (& < > " '), with C0
 * controls, invalid UTF-8 and bidirectional overrides made visible instead of acting. */
int km_html_escape(km_buf *b, const char *s, size_t n);

#endif
