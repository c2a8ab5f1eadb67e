/* --format text (the default): alerts grouped by scenario, then by rule (most severe first), each
 * rule with its first few events and what to do about it. Memory stays bounded whatever the
 * number of alerts: only the first examples_per_rule events of each rule are kept (pre-formatted),
 * the rest are counted. */
#include "out/alert.h"
#include "kumomori/buf.h"
#include "util/term.h"

#include <stdlib.h>
#include <string.h>

typedef struct rule_acc {
    uint64_t count;
    uint64_t failed;     /* alerts whose call failed (errorCode) */
    char **examples;     /* pre-formatted event lines */
    size_t nex;
} rule_acc;

typedef struct text_state {
    rule_acc *acc;       /* one per rule of the set */
    size_t nrules;
    uint64_t total;
} text_state;

static const char *esc(const km_writer *w, const char *name) {
    if (!w->opts.color) return "";
    static const struct { const char *n, *e; } tab[] = {
        {"reset", "\033[0m"}, {"bold", "\033[1m"}, {"dim", "\033[2m"}, {"red", "\033[31m"},
        {"yellow", "\033[33m"}, {"cyan", "\033[36m"}, {"boldred", "\033[1;31m"},
    };
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (strcmp(tab[i].n, name) == 0) return tab[i].e;
    return "";
}

static const char *sev_colour(km_severity s) {
    switch (s) {
    case KM_SEV_CRITICAL: return "boldred";
    case KM_SEV_HIGH: return "red";
    case KM_SEV_MEDIUM: return "yellow";
    case KM_SEV_LOW: return "cyan";
    default: return "dim";
    }
}

static text_state *state(km_writer *w) {
    if (w->state) return w->state;
    text_state *st = calloc(1, sizeof *st);
    if (!st) return NULL;
    st->nrules = km_ruleset_count(w->opts.rules);
    st->acc = calloc(st->nrules ? st->nrules : 1, sizeof *st->acc);
    if (!st->acc) { free(st); return NULL; }
    w->state = st;
    return st;
}

static int text_begin(km_writer *w) { return state(w) ? 0 : -1; }

/* Control characters from a record (an attacker chooses the user agent) must not reach a terminal;
 * C1 controls and bytes that are not UTF-8 neither (harden helper: util/term.h). */
static void put_clean(km_buf *b, const char *s) { km_term_clean_buf(b, s, strlen(s)); }

static int text_alert(km_writer *w, const km_alert *a) {
    text_state *st = state(w);
    if (!st || a->rule_index >= st->nrules) return -1;
    rule_acc *ra = &st->acc[a->rule_index];
    ra->count++;
    st->total++;
    if (a->error_code) ra->failed++;
    if (ra->nex >= w->opts.examples_per_rule) return 0;
    km_buf b;
    km_buf_init(&b, 1u << 16);
    km_buf_puts(&b, "    ");
    put_clean(&b, a->event_time ? a->event_time : "(no time)");
    km_buf_puts(&b, "  ");
    km_buf_puts(&b, esc(w, "bold"));
    put_clean(&b, a->event_name ? a->event_name : "(no eventName)");
    km_buf_puts(&b, esc(w, "reset"));
    if (a->aws_region) { km_buf_puts(&b, "  "); put_clean(&b, a->aws_region); }
    if (a->principal) { km_buf_puts(&b, "  by "); put_clean(&b, a->principal); }
    if (a->source_ip) { km_buf_puts(&b, "  from "); put_clean(&b, a->source_ip); }
    if (a->error_code) {
        km_buf_printf(&b, "  %s[failed: ", esc(w, "yellow"));
        put_clean(&b, a->error_code);
        km_buf_printf(&b, "]%s", esc(w, "reset"));
    }
    km_buf_printf(&b, "\n      %s", esc(w, "dim"));
    if (a->nresources) {
        km_buf_puts(&b, "resource ");
        put_clean(&b, a->resources[0]);
        if (a->nresources > 1) km_buf_printf(&b, " (+%zu)", a->nresources - 1);
        km_buf_puts(&b, "; ");
    }
    put_clean(&b, a->input);
    km_buf_printf(&b, " at byte %llu", (unsigned long long)a->offset);
    if (a->event_id) { km_buf_puts(&b, ", eventID "); put_clean(&b, a->event_id); }
    if (a->detail) { km_buf_puts(&b, "\n      "); put_clean(&b, a->detail); } /* sigma helper: thresholds and correlations */
    km_buf_printf(&b, "%s\n", esc(w, "reset"));
    if (b.failed) { km_buf_free(&b); return -1; }
    char **p = realloc(ra->examples, (ra->nex + 1) * sizeof *p);
    if (!p) { km_buf_free(&b); return -1; }
    ra->examples = p;
    ra->examples[ra->nex++] = km_buf_steal(&b, NULL);
    return 0;
}

static const km_rule *sort_rules;
static int cmp_rule(const void *a, const void *b) {
    const km_rule *x = &sort_rules[*(const size_t *)a], *y = &sort_rules[*(const size_t *)b];
    if (x->severity != y->severity) return x->severity > y->severity ? -1 : 1;
    return strcmp(x->id, y->id);
}

/* Word-wraps text at width columns, each line after the first indented by indent spaces. */
static void wrapped(km_buf *b, const char *text, size_t first_col, size_t indent, size_t width) {
    size_t col = first_col;
    const char *s = text;
    while (*s) {
        while (*s == ' ') s++;
        const char *e = s;
        while (*e && *e != ' ') e++;
        size_t wl = (size_t)(e - s);
        if (!wl) break;
        if (col > indent && col + 1 + wl > width) {
            km_buf_putc(b, '\n');
            for (size_t i = 0; i < indent; i++) km_buf_putc(b, ' ');
            col = indent;
        } else if (col > indent) {
            km_buf_putc(b, ' ');
            col++;
        }
        for (const char *q = s; q < e; q++) km_buf_putc(b, (unsigned char)*q < 0x20 ? ' ' : *q);
        col += wl;
        s = e;
    }
}

static int text_end(km_writer *w, const km_run_stats *s) {
    (void)s;
    text_state *st = state(w);
    if (!st) return -1;
    km_buf b;
    km_buf_init(&b, 0);
    size_t nr = st->nrules, nfired = 0;
    size_t *order = calloc(nr ? nr : 1, sizeof *order);
    if (!order) return -1;
    for (size_t i = 0; i < nr; i++)
        if (st->acc[i].count) order[nfired++] = i;
    sort_rules = km_ruleset_get(w->opts.rules, 0);
    if (nfired > 1) qsort(order, nfired, sizeof *order, cmp_rule);
    uint64_t by_sev[5] = {0};
    /* sigma helper: rules without a scenario (Sigma rules, unless they say `scenarios:`) come last */
    for (int sci = 1; sci <= KM_SCENARIO_COUNT + 1; sci++) {
        int sc = sci > KM_SCENARIO_COUNT ? 0 : sci;
        int header = 0;
        for (size_t k = 0; k < nfired; k++) {
            const km_rule *r = km_ruleset_get(w->opts.rules, order[k]);
            const rule_acc *ra = &st->acc[order[k]];
            if (r->primary_scenario != sc) continue;
            if (!header && !sc) {
                km_buf_printf(&b, "%s%sno scenario (Sigma rules and others without one)%s\n", b.len ? "\n" : "", esc(w, "bold"),
                              esc(w, "reset"));
                header = 1;
            }
            if (!header) {
                km_buf_printf(&b, "%s%sS%d  %s%s\n", b.len ? "\n" : "", esc(w, "bold"), sc,
                              km_scenario_title(sc), esc(w, "reset"));
                header = 1;
            }
            by_sev[r->severity] += ra->count;
            char sev[16];
            snprintf(sev, sizeof sev, "%s", km_severity_name(r->severity));
            for (char *p = sev; *p; p++) *p = (char)(*p - 32 * (*p >= 'a' && *p <= 'z'));
            km_buf_printf(&b, "  %s%-8s%s  %s%s%s  %s", esc(w, sev_colour(r->severity)), sev, esc(w, "reset"),
                          esc(w, "bold"), r->id, esc(w, "reset"), r->title);
            km_buf_printf(&b, "  [%llu alert%s", (unsigned long long)ra->count, ra->count == 1 ? "" : "s");
            if (ra->failed) km_buf_printf(&b, ", %llu failed call%s", (unsigned long long)ra->failed, ra->failed == 1 ? "" : "s");
            km_buf_puts(&b, ";");
            if (r->primary_scenario) km_buf_printf(&b, " S%d", r->primary_scenario);
            for (int i = 1; i <= KM_SCENARIO_COUNT; i++)
                if ((r->scenarios & KM_SCENARIO_BIT(i)) && i != r->primary_scenario) km_buf_printf(&b, " S%d", i);
            for (size_t i = 0; i < r->nmitre; i++) km_buf_printf(&b, " %s", r->mitre[i]);
            km_buf_puts(&b, "]\n");
            for (size_t i = 0; i < ra->nex; i++) km_buf_puts(&b, ra->examples[i]);
            if (ra->count > ra->nex)
                km_buf_printf(&b, "    ... and %llu more (--format jsonl lists every alert)\n",
                              (unsigned long long)(ra->count - ra->nex));
            km_buf_printf(&b, "    %sresponse:%s ", esc(w, "cyan"), esc(w, "reset"));
            wrapped(&b, r->response, 14, 14, 100);
            km_buf_putc(&b, '\n');
        }
    }
    free(order);
    if (st->total == 0) {
        km_buf_puts(&b, "No alerts.\n");
    } else {
        km_buf_printf(&b, "\n%s%llu alert%s from %zu rule%s%s", esc(w, "bold"), (unsigned long long)st->total,
                      st->total == 1 ? "" : "s", nfired, nfired == 1 ? "" : "s", esc(w, "reset"));
        const char *sep = ": ";
        for (int sv = KM_SEV_CRITICAL; sv >= KM_SEV_INFO; sv--) {
            if (!by_sev[sv]) continue;
            km_buf_printf(&b, "%s%llu %s", sep, (unsigned long long)by_sev[sv], km_severity_name((km_severity)sv));
            sep = ", ";
        }
        km_buf_putc(&b, '\n');
    }
    int rc = b.failed || fwrite(b.data, 1, b.len, w->opts.out) != b.len ? -1 : 0;
    km_buf_free(&b);
    return rc;
}

static void text_destroy(km_writer *w) {
    text_state *st = w->state;
    if (!st) return;
    for (size_t i = 0; i < st->nrules; i++) {
        for (size_t j = 0; j < st->acc[i].nex; j++) free(st->acc[i].examples[j]);
        free(st->acc[i].examples);
    }
    free(st->acc);
    free(st);
}

const km_writer_ops km_writer_text_ops = {
    "text", "alerts grouped by scenario, for people (default)", text_begin, text_alert, NULL, text_end,
    text_destroy,
};
