/* --format jsonl: one alert per line, every field present (null when the record lacks it), so a
 * line can be loaded by jq, a SIEM or a spreadsheet without knowing which rule fired. */
#include "out/alert.h"
#include "kumomori/buf.h"

#include <stdlib.h>
#include <string.h>

static int put_value(km_buf *b, const char *v) {
    if (!v) return km_buf_puts(b, "null");
    return km_buf_json_str(b, v, strlen(v));
}

static int put_field(km_buf *b, const char *key, const char *v) {
    km_buf_printf(b, ",\"%s\":", key);
    return put_value(b, v);
}

int km_scenarios_json(km_buf *b, unsigned scenarios) {
    km_buf_putc(b, '[');
    int first = 1;
    for (int i = 1; i <= KM_SCENARIO_COUNT; i++) {
        if (!(scenarios & KM_SCENARIO_BIT(i))) continue;
        km_buf_printf(b, "%s\"S%d\"", first ? "" : ",", i);
        first = 0;
    }
    return km_buf_putc(b, ']');
}

int km_alert_json_event_fields(km_buf *b, const km_alert *a) {
    km_buf_puts(b, "\"eventTime\":");
    put_value(b, a->event_time);
    put_field(b, "eventID", a->event_id);
    put_field(b, "eventName", a->event_name);
    put_field(b, "eventSource", a->event_source);
    put_field(b, "awsRegion", a->aws_region);
    put_field(b, "recipientAccountId", a->account);
    put_field(b, "principalArn", a->principal);
    put_field(b, "sourceIPAddress", a->source_ip);
    put_field(b, "userAgent", a->user_agent);
    put_field(b, "errorCode", a->error_code);
    km_buf_puts(b, ",\"resources\":[");
    for (size_t i = 0; i < a->nresources; i++) {
        if (i) km_buf_putc(b, ',');
        km_buf_json_str(b, a->resources[i], strlen(a->resources[i]));
    }
    return km_buf_putc(b, ']');
}

typedef struct jsonl_state {
    km_buf line;
} jsonl_state;

static int jsonl_alert(km_writer *w, const km_alert *a) {
    jsonl_state *st = w->state;
    if (!st) {
        st = w->state = calloc(1, sizeof *st);
        if (!st) return -1;
        km_buf_init(&st->line, 0);
    }
    km_buf *b = &st->line;
    km_buf_reset(b);
    const km_rule *r = a->rule;
    km_buf_puts(b, "{\"ruleId\":");
    km_buf_json_str(b, r->id, strlen(r->id));
    put_field(b, "title", r->title);
    put_field(b, "severity", km_severity_name(r->severity));
    km_buf_puts(b, ",\"scenarios\":");
    km_scenarios_json(b, r->scenarios);
    km_buf_puts(b, ",\"mitre\":[");
    for (size_t i = 0; i < r->nmitre; i++) {
        if (i) km_buf_putc(b, ',');
        km_buf_json_str(b, r->mitre[i], strlen(r->mitre[i]));
    }
    km_buf_puts(b, "],");
    km_alert_json_event_fields(b, a);
    put_field(b, "input", a->input);
    km_buf_printf(b, ",\"offset\":%llu", (unsigned long long)a->offset);
    if (a->detail) put_field(b, "detail", a->detail); /* sigma helper: thresholds and correlations */
    if (a->record) {
        km_buf_puts(b, ",\"event\":");
        km_buf_append(b, a->record, a->record_len);
    }
    km_buf_puts(b, "}\n");
    if (b->failed) return -1;
    return fwrite(b->data, 1, b->len, w->opts.out) == b->len ? 0 : -1;
}

static void jsonl_destroy(km_writer *w) {
    jsonl_state *st = w->state;
    if (!st) return;
    km_buf_free(&st->line);
    free(st);
}

const km_writer_ops km_writer_jsonl_ops = {
    "jsonl", "one JSON object per alert per line", NULL, jsonl_alert, NULL, NULL, jsonl_destroy,
};
