/* --format sarif: SARIF 2.1.0 (OASIS), for code-scanning dashboards and SIEMs that read it.
 *
 * Streamed: tool.driver.rules[] comes from the loaded rule set (known before the first alert),
 * each alert becomes a result as it arrives, and the invocation (whether all input could be read,
 * with one notification per skipped input) closes the run. Severity maps to SARIF levels as
 * critical/high -> error, medium -> warning, low/info -> note, and to GitHub's numeric
 * security-severity (9.5, 8.0, 5.5, 3.0, 0.0). */
#include "out/alert.h"
#include "kumomori/buf.h"
#include "kumomori/kumomori.h"

#include <stdlib.h>
#include <string.h>

#define MAX_NOTES 1000

typedef struct sarif_state {
    km_buf b;
    size_t nresults;
    km_note *notes;     /* copies, strings owned */
    size_t nnotes;
    uint64_t notes_dropped;
} sarif_state;

static const char *level_of(km_severity s) {
    return s >= KM_SEV_HIGH ? "error" : s == KM_SEV_MEDIUM ? "warning" : "note";
}

static const char *security_severity(km_severity s) {
    static const char *const v[] = {"0.0", "3.0", "5.5", "8.0", "9.5"};
    return (unsigned)s < 5 ? v[s] : "0.0";
}

static void str(km_buf *b, const char *s) {
    if (!s) km_buf_puts(b, "null");
    else km_buf_json_str(b, s, strlen(s));
}

static void text_obj(km_buf *b, const char *key, const char *text) {
    km_buf_printf(b, "\"%s\":{\"text\":", key);
    str(b, text);
    km_buf_putc(b, '}');
}

/* A relative or absolute path as a URI reference: bytes outside the unreserved set and '/' are
 * percent-encoded, absolute paths get the file:// scheme. */
static void uri(km_buf *b, const char *path) {
    km_buf tmp;
    km_buf_init(&tmp, 0);
    if (path[0] == '/') km_buf_puts(&tmp, "file://");
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        unsigned char c = *p;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
            c == '.' || c == '_' || c == '~' || c == '/')
            km_buf_putc(&tmp, (char)c);
        else
            km_buf_printf(&tmp, "%%%02X", c);
    }
    str(b, tmp.data ? tmp.data : "");
    km_buf_free(&tmp);
}

static int flush(km_writer *w) {
    sarif_state *st = w->state;
    if (st->b.failed) return -1;
    int ok = fwrite(st->b.data ? st->b.data : "", 1, st->b.len, w->opts.out) == st->b.len;
    km_buf_reset(&st->b);
    return ok ? 0 : -1;
}

static void rule_descriptor(km_buf *b, const km_rule *r) {
    km_buf_puts(b, "{\"id\":");
    str(b, r->id);
    km_buf_putc(b, ',');
    text_obj(b, "shortDescription", r->title);
    km_buf_putc(b, ',');
    text_obj(b, "fullDescription", r->description);
    km_buf_putc(b, ',');
    text_obj(b, "help", r->response);
    for (size_t i = 0; i < r->nreferences; i++) {
        if (strncmp(r->references[i], "https://", 8) == 0 || strncmp(r->references[i], "http://", 7) == 0) {
            km_buf_puts(b, ",\"helpUri\":");
            str(b, r->references[i]);
            break;
        }
    }
    km_buf_printf(b, ",\"defaultConfiguration\":{\"level\":\"%s\"}", level_of(r->severity));
    km_buf_puts(b, ",\"properties\":{\"tags\":[\"security\"");
    for (int s = 1; s <= KM_SCENARIO_COUNT; s++)
        if (r->scenarios & KM_SCENARIO_BIT(s)) km_buf_printf(b, ",\"S%d\"", s);
    for (size_t i = 0; i < r->nmitre; i++) {
        km_buf_putc(b, ',');
        str(b, r->mitre[i]);
    }
    km_buf_printf(b, "],\"security-severity\":\"%s\",\"severity\":\"%s\",\"scenarios\":",
                  security_severity(r->severity), km_severity_name(r->severity));
    km_scenarios_json(b, r->scenarios);
    km_buf_puts(b, ",\"references\":[");
    for (size_t i = 0; i < r->nreferences; i++) {
        if (i) km_buf_putc(b, ',');
        str(b, r->references[i]);
    }
    km_buf_puts(b, "]}}");
}

static int sarif_begin(km_writer *w) {
    sarif_state *st = calloc(1, sizeof *st);
    if (!st) return -1;
    w->state = st;
    km_buf_init(&st->b, 0);
    km_buf *b = &st->b;
    km_buf_puts(b, "{\"$schema\":\"https://json.schemastore.org/sarif-2.1.0.json\",\"version\":\"2.1.0\","
                   "\"runs\":[{\"tool\":{\"driver\":{\"name\":\"kumomori\",\"version\":\"" KUMOMORI_VERSION "\","
                   "\"semanticVersion\":\"" KUMOMORI_VERSION "\",\"rules\":[");
    size_t n = km_ruleset_count(w->opts.rules);
    for (size_t i = 0; i < n; i++) {
        if (i) km_buf_putc(b, ',');
        rule_descriptor(b, km_ruleset_get(w->opts.rules, i));
        if (b->len > (1u << 16) && flush(w)) return -1;
    }
    km_buf_puts(b, "]}},\"columnKind\":\"unicodeCodePoints\",\"results\":[");
    return flush(w);
}

static int sarif_alert(km_writer *w, const km_alert *a) {
    sarif_state *st = w->state;
    km_buf *b = &st->b;
    const km_rule *r = a->rule;
    if (st->nresults++) km_buf_putc(b, ',');
    km_buf_puts(b, "{\"ruleId\":");
    str(b, r->id);
    km_buf_printf(b, ",\"ruleIndex\":%zu,\"level\":\"%s\",\"kind\":\"fail\",\"message\":{\"text\":",
                  a->rule_index, level_of(r->severity));
    km_buf msg;
    km_buf_init(&msg, 0);
    km_buf_printf(&msg, "%s: %s", r->title, a->event_name ? a->event_name : "(no eventName)");
    if (a->principal) km_buf_printf(&msg, " by %s", a->principal);
    if (a->source_ip) km_buf_printf(&msg, " from %s", a->source_ip);
    if (a->event_time) km_buf_printf(&msg, " at %s", a->event_time);
    if (a->error_code) km_buf_printf(&msg, " (failed: %s)", a->error_code);
    if (a->detail) km_buf_printf(&msg, "; %s", a->detail); /* sigma helper: thresholds and correlations */
    str(b, msg.data ? msg.data : r->title);
    km_buf_free(&msg);
    km_buf_puts(b, "},\"locations\":[{");
    int stdin_input = strcmp(a->input, "-") == 0;
    if (!stdin_input) {
        km_buf_puts(b, "\"physicalLocation\":{\"artifactLocation\":{\"uri\":");
        uri(b, a->input);
        km_buf_putc(b, '}');
        /* A region's byteOffset counts the artifact's own bytes: only meaningful uncompressed. */
        if (!a->gzip) km_buf_printf(b, ",\"region\":{\"byteOffset\":%llu}", (unsigned long long)a->offset);
        km_buf_putc(b, '}');
    }
    if (a->nresources || a->principal) {
        km_buf_printf(b, "%s\"logicalLocations\":[", stdin_input ? "" : ",");
        for (size_t i = 0; i < a->nresources; i++) {
            km_buf_puts(b, i ? ",{\"fullyQualifiedName\":" : "{\"fullyQualifiedName\":");
            str(b, a->resources[i]);
            km_buf_puts(b, ",\"kind\":\"resource\"}");
        }
        if (a->principal) {
            km_buf_puts(b, a->nresources ? ",{\"fullyQualifiedName\":" : "{\"fullyQualifiedName\":");
            str(b, a->principal);
            km_buf_puts(b, ",\"kind\":\"principal\"}");
        }
        km_buf_putc(b, ']');
    }
    km_buf_putc(b, '}');
    km_buf_putc(b, ']');
    if (a->event_id) {
        km_buf_puts(b, ",\"partialFingerprints\":{\"cloudTrailEventId/v1\":");
        str(b, a->event_id);
        km_buf_putc(b, '}');
    }
    km_buf_puts(b, ",\"properties\":{");
    km_alert_json_event_fields(b, a);
    km_buf_puts(b, ",\"input\":");
    str(b, a->input);
    km_buf_printf(b, ",\"offset\":%llu", (unsigned long long)a->offset);
    if (a->record) {
        km_buf_puts(b, ",\"event\":");
        km_buf_append(b, a->record, a->record_len);
    }
    km_buf_puts(b, "}}");
    return b->len > (1u << 16) ? flush(w) : (b->failed ? -1 : 0);
}

static void sarif_note(km_writer *w, const km_note *n) {
    sarif_state *st = w->state;
    if (!st) return;
    if (st->nnotes >= MAX_NOTES) { st->notes_dropped++; return; }
    if (st->nnotes % 64 == 0) {
        km_note *p = realloc(st->notes, (st->nnotes + 64) * sizeof *p);
        if (!p) { st->notes_dropped++; return; }
        st->notes = p;
    }
    km_note c = *n;
    c.input = strdup(n->input);
    c.message = strdup(n->message);
    if (!c.input || !c.message) {
        free((char *)c.input);
        free((char *)c.message);
        st->notes_dropped++;
        return;
    }
    st->notes[st->nnotes++] = c;
}

static int sarif_end(km_writer *w, const km_run_stats *s) {
    sarif_state *st = w->state;
    km_buf *b = &st->b;
    km_buf_printf(b, "],\"invocations\":[{\"executionSuccessful\":%s,\"toolExecutionNotifications\":[",
                  s->input_errors ? "false" : "true");
    for (size_t i = 0; i < st->nnotes; i++) {
        const km_note *n = &st->notes[i];
        if (i) km_buf_putc(b, ',');
        km_buf_printf(b, "{\"level\":\"%s\",\"message\":{\"text\":", n->is_error ? "error" : "note");
        km_buf msg;
        km_buf_init(&msg, 0);
        km_buf_printf(&msg, "%s: %s", n->input, n->message);
        str(b, msg.data);
        km_buf_free(&msg);
        km_buf_putc(b, '}');
        if (strcmp(n->input, "-") != 0) {
            km_buf_puts(b, ",\"locations\":[{\"physicalLocation\":{\"artifactLocation\":{\"uri\":");
            uri(b, n->input);
            km_buf_puts(b, "}}}]");
        }
        km_buf_putc(b, '}');
        if (b->len > (1u << 16) && flush(w)) return -1;
    }
    km_buf_printf(b, "]}],\"properties\":{\"inputs\":%llu,\"records\":%llu,\"alerts\":%llu,\"bytes\":%llu,"
                     "\"inputErrors\":%llu,\"notificationsDropped\":%llu}}]}\n",
                  (unsigned long long)s->inputs, (unsigned long long)s->records, (unsigned long long)s->alerts,
                  (unsigned long long)s->bytes, (unsigned long long)s->input_errors,
                  (unsigned long long)st->notes_dropped);
    return flush(w);
}

static void sarif_destroy(km_writer *w) {
    sarif_state *st = w->state;
    if (!st) return;
    for (size_t i = 0; i < st->nnotes; i++) {
        free((char *)st->notes[i].input);
        free((char *)st->notes[i].message);
    }
    free(st->notes);
    km_buf_free(&st->b);
    free(st);
}

const km_writer_ops km_writer_sarif_ops = {
    "sarif", "SARIF 2.1.0 log", sarif_begin, sarif_alert, sarif_note, sarif_end, sarif_destroy,
};
