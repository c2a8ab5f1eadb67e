/* Writing a CloudTrail validation report: text in the shape of aws-cli's validate-logs, and JSON. */
#include "kumomori/trail.h"

#include <stdlib.h>
#include <string.h>

const char *km_trail_status_name(km_trail_status s) {
    switch (s) {
    case KM_TRAIL_VALID: return "valid";
    case KM_TRAIL_INVALID: return "invalid";
    case KM_TRAIL_MISSING: return "missing";
    case KM_TRAIL_UNEXPECTED: return "unexpected";
    }
    return "invalid";
}

void km_trail_report_free(km_trail_report *r) {
    if (!r) return;
    for (size_t i = 0; i < r->ndigests; i++) {
        free(r->digests[i].bucket);
        free(r->digests[i].key);
        free(r->digests[i].reason);
        free(r->digests[i].digest);
    }
    for (size_t i = 0; i < r->nlogs; i++) {
        free(r->logs[i].bucket);
        free(r->logs[i].key);
        free(r->logs[i].reason);
        free(r->logs[i].digest);
    }
    for (size_t i = 0; i < r->ngaps; i++) free(r->gaps[i].chain);
    for (size_t i = 0; i < r->nnotes; i++) free(r->notes[i]);
    free(r->digests);
    free(r->logs);
    free(r->gaps);
    free(r->notes);
    free(r);
}

int km_trail_report_ok(const km_trail_report *r) {
    return r && r->dig_valid + r->bf_valid > 0 && r->dig_invalid + r->dig_missing + r->bf_invalid +
           r->bf_missing + r->log_invalid + r->log_missing + r->log_unexpected == 0;
}

static void item_line(FILE *f, const char *what, const km_trail_item *it) {
    fprintf(f, "%s%s\ts3://%s/%s\t", it->backfill ? "(backfill) " : "", what, it->bucket, it->key);
    switch (it->status) {
    case KM_TRAIL_VALID: fputs("valid\n", f); break;
    case KM_TRAIL_INVALID: fprintf(f, "INVALID: %s\n", it->reason ? it->reason : "invalid"); break;
    case KM_TRAIL_MISSING: fprintf(f, "INVALID: %s\n", it->reason ? it->reason : "not found"); break;
    case KM_TRAIL_UNEXPECTED: fprintf(f, "UNEXPECTED: %s\n", it->reason ? it->reason : "listed by no digest"); break;
    }
}

static void ratio(FILE *f, size_t valid, size_t bad, const char *name) {
    size_t total = valid + bad;
    if (!total) return;
    fprintf(f, "%zu/%zu %s files valid", valid, total, name);
    if (bad) fprintf(f, ", %zu/%zu %s files INVALID", bad, total, name);
    fputc('\n', f);
}

void km_trail_report_text(const km_trail_report *r, FILE *f, int verbose) {
    char a[32], b[32];
    int any = 0;
    for (size_t i = 0; i < r->ndigests; i++) {
        if (r->digests[i].status == KM_TRAIL_VALID && !verbose) continue;
        item_line(f, "Digest file", &r->digests[i]);
        any = 1;
    }
    for (size_t i = 0; i < r->nlogs; i++) {
        if (r->logs[i].status == KM_TRAIL_VALID && !verbose) continue;
        item_line(f, "Log file", &r->logs[i]);
        any = 1;
    }
    for (size_t i = 0; i < r->ngaps; i++) {
        km_trail_format_time(r->gaps[i].from, a);
        km_trail_format_time(r->gaps[i].to, b);
        fprintf(f, "%sChain restart\t%s\tno digests between %s and %s (logging or log file validation was off)%s\n",
                r->gaps[i].backfill ? "(backfill) " : "", r->gaps[i].chain, a, b,
                r->gaps[i].covered ? "; backfill digests cover it" : "");
        any = 1;
    }
    if (any) fputc('\n', f);
    km_trail_format_time(r->req_start, a);
    km_trail_format_time(r->req_end, b);
    fprintf(f, "Results requested for %s to %s\n", a, b);
    if (r->ndigests == 0) {
        fputs("No digests found\n", f);
    } else if (r->found_start == KM_TRAIL_TIME_MIN) {
        fputs("No valid digests found in range\n", f);
    } else {
        km_trail_format_time(r->found_start, a);
        km_trail_format_time(r->found_end, b);
        fprintf(f, "Results found for %s to %s:\n", a, b);
    }
    fputc('\n', f);
    ratio(f, r->dig_valid, r->dig_invalid + r->dig_missing, "digest");
    ratio(f, r->bf_valid, r->bf_invalid + r->bf_missing, "backfill digest");
    ratio(f, r->log_valid, r->log_invalid + r->log_missing, "log");
    if (r->log_unexpected)
        fprintf(f, "%zu log file%s UNEXPECTED (in the bucket, listed by no digest)\n", r->log_unexpected,
                r->log_unexpected == 1 ? "" : "s");
    if (r->ngaps)
        fprintf(f, "%zu chain restart%s\n", r->ngaps, r->ngaps == 1 ? "" : "s");
    for (size_t i = 0; i < r->nnotes; i++) fprintf(f, "Note: %s\n", r->notes[i]);
}

static void json_time(km_buf *o, int64_t t) {
    if (t == KM_TRAIL_TIME_MIN || t == KM_TRAIL_TIME_MAX) {
        km_buf_puts(o, "null");
        return;
    }
    char s[32];
    km_trail_format_time(t, s);
    km_buf_json_str(o, s, strlen(s));
}

static void json_strn(km_buf *o, const char *s) {
    if (s) km_buf_json_str(o, s, strlen(s));
    else km_buf_puts(o, "null");
}

static void json_item(km_buf *o, const km_trail_item *it, int is_digest) {
    km_buf_puts(o, "{\"bucket\":");
    json_strn(o, it->bucket);
    km_buf_puts(o, ",\"key\":");
    json_strn(o, it->key);
    km_buf_printf(o, ",\"status\":\"%s\",\"reason\":", km_trail_status_name(it->status));
    json_strn(o, it->reason);
    if (is_digest) {
        km_buf_printf(o, ",\"backfill\":%s,\"start\":", it->backfill ? "true" : "false");
        json_time(o, it->start);
        km_buf_puts(o, ",\"end\":");
        json_time(o, it->end);
    } else {
        km_buf_puts(o, ",\"digest\":");
        json_strn(o, it->digest);
    }
    km_buf_putc(o, '}');
}

int km_trail_report_json(const km_trail_report *r, km_buf *o) {
    km_buf_puts(o, "{\"digests\":[");
    for (size_t i = 0; i < r->ndigests; i++) {
        if (i) km_buf_putc(o, ',');
        json_item(o, &r->digests[i], 1);
    }
    km_buf_puts(o, "],\"logs\":[");
    for (size_t i = 0; i < r->nlogs; i++) {
        if (i) km_buf_putc(o, ',');
        json_item(o, &r->logs[i], 0);
    }
    km_buf_puts(o, "],\"gaps\":[");
    for (size_t i = 0; i < r->ngaps; i++) {
        if (i) km_buf_putc(o, ',');
        km_buf_puts(o, "{\"chain\":");
        json_strn(o, r->gaps[i].chain);
        km_buf_puts(o, ",\"from\":");
        json_time(o, r->gaps[i].from);
        km_buf_puts(o, ",\"to\":");
        json_time(o, r->gaps[i].to);
        km_buf_printf(o, ",\"backfill\":%s,\"covered_by_backfill\":%s}", r->gaps[i].backfill ? "true" : "false",
                      r->gaps[i].covered ? "true" : "false");
    }
    km_buf_puts(o, "],\"notes\":[");
    for (size_t i = 0; i < r->nnotes; i++) {
        if (i) km_buf_putc(o, ',');
        json_strn(o, r->notes[i]);
    }
    km_buf_puts(o, "],\"summary\":{\"requested\":{\"start\":");
    json_time(o, r->req_start);
    km_buf_puts(o, ",\"end\":");
    json_time(o, r->req_end);
    km_buf_puts(o, "},\"found\":{\"start\":");
    json_time(o, r->found_start);
    km_buf_puts(o, ",\"end\":");
    json_time(o, r->found_end);
    km_buf_printf(o, "},\"digests\":{\"total\":%zu,\"valid\":%zu,\"invalid\":%zu,\"missing\":%zu}",
                  r->dig_valid + r->dig_invalid + r->dig_missing, r->dig_valid, r->dig_invalid, r->dig_missing);
    km_buf_printf(o, ",\"backfill_digests\":{\"total\":%zu,\"valid\":%zu,\"invalid\":%zu,\"missing\":%zu}",
                  r->bf_valid + r->bf_invalid + r->bf_missing, r->bf_valid, r->bf_invalid, r->bf_missing);
    km_buf_printf(o, ",\"logs\":{\"total\":%zu,\"valid\":%zu,\"invalid\":%zu,\"missing\":%zu,\"unexpected\":%zu,"
                  "\"uncompressed_bytes\":%llu}",
                  r->log_valid + r->log_invalid + r->log_missing + r->log_unexpected, r->log_valid,
                  r->log_invalid, r->log_missing, r->log_unexpected, (unsigned long long)r->log_bytes);
    km_buf_printf(o, ",\"chain_restarts\":%zu,\"valid\":%s}}\n", r->ngaps,
                  km_trail_report_ok(r) ? "true" : "false");
    return o->failed ? -1 : 0;
}
