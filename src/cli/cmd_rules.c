/* kumomori rules list|test|lint: the detection rules, their own examples, and their style. */
#include "cli/commands.h"
#include "cli/ruleload.h"
#include "kumomori/json.h"
#include "kumomori/match.h"
#include "util/embedded.h"
#include "detect/program.h" /* sigma helper: stateful rule examples */
#include "kumomori/sigma.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

KM_COMMAND(rules, 60, "list, test and lint the detection rules")

static void help(void) {
    printf("usage: kumomori rules list [--format text|json] [--rules PATH]... [--no-builtin]\n"
           "       kumomori rules test [-v] [--rules PATH]... [--no-builtin]\n"
           "       kumomori rules lint [--rules PATH]... [--no-builtin]\n\n"
           "list  every rule: id, severity, scenarios (S1..S7) and title; --format json adds the\n"
           "      description, MITRE ATT&CK ids, references, response hint, the pattern as written\n"
           "      and as matched over the raw CloudTrail record\n"
           "test  run every rule's own examples (docs/rules.md): each 'match' record must raise the\n"
           "      rule, each 'no_match' record must not; -v lists every example\n"
           "lint  load the rules and warn about what makes a rule hard to use: no references, a\n"
           "      pattern that names neither eventSource nor eventName, examples that are not\n"
           "      CloudTrail records, unknown fields, two rules with the same pattern\n\n"
           "--rules PATH adds rules from a file or a folder of *.json; --no-builtin leaves out the\n"
           "built-in pack.\n\n"
           "exit status: 0 fine, 1 failed examples (test) or warnings (lint), 2 usage error or a\n"
           "rule that cannot be loaded (the message gives file:line:column).\n");
}

static int cmp_id(const void *a, const void *b) {
    return strcmp((*(const km_rule *const *)a)->id, (*(const km_rule *const *)b)->id);
}

/* sigma helper: hidden rules (a threshold's own pattern, the pieces of a Sigma correlation) are
 * part of another rule and not listed; *n receives the number listed */
static const km_rule **sorted(const km_ruleset *rs, size_t *n) {
    size_t all = km_ruleset_count(rs);
    const km_rule **v = calloc(all ? all : 1, sizeof *v);
    if (!v) return NULL;
    *n = 0;
    for (size_t i = 0; i < all; i++)
        if (!km_ruleset_get(rs, i)->hidden) v[(*n)++] = km_ruleset_get(rs, i);
    if (*n > 1) qsort(v, *n, sizeof *v, cmp_id);
    return v;
}

static const char *const kind_names[] = {"pattern", "sigma", "threshold", "correlation"};
static const char *const corr_names[] = {"", "event_count", "value_count", "temporal", "temporal_ordered"};

static void json_strs(km_buf *b, const char *const *v, size_t n) {
    km_buf_putc(b, '[');
    for (size_t i = 0; i < n; i++) {
        if (i) km_buf_putc(b, ',');
        km_buf_json_str(b, v[i], strlen(v[i]));
    }
    km_buf_putc(b, ']');
}

static void json_member(km_buf *b, const char *key, const char *v) {
    km_buf_printf(b, ",\"%s\":", key);
    km_buf_json_str(b, v, strlen(v));
}

static int list_rules(const km_ruleset *rs, int json) {
    size_t n = 0;
    const km_rule **v = sorted(rs, &n);
    if (!v) return 2;
    if (json) {
        km_buf b;
        km_buf_init(&b, 0);
        km_buf_putc(&b, '[');
        for (size_t i = 0; i < n; i++) {
            const km_rule *r = v[i];
            km_buf_puts(&b, i ? ",\n{\"id\":" : "\n{\"id\":");
            km_buf_json_str(&b, r->id, strlen(r->id));
            json_member(&b, "title", r->title);
            json_member(&b, "description", r->description);
            json_member(&b, "severity", km_severity_name(r->severity));
            km_buf_puts(&b, ",\"scenarios\":[");
            int first = 1;
            for (int s = 1; s <= KM_SCENARIO_COUNT; s++) {
                if (!(r->scenarios & KM_SCENARIO_BIT(s))) continue;
                km_buf_printf(&b, "%s\"S%d\"", first ? "" : ",", s);
                first = 0;
            }
            km_buf_printf(&b, "],\"primaryScenario\":\"S%d\",\"mitre\":", r->primary_scenario);
            json_strs(&b, r->mitre, r->nmitre);
            km_buf_puts(&b, ",\"references\":");
            json_strs(&b, r->references, r->nreferences);
            json_member(&b, "response", r->response);
            json_member(&b, "file", r->file);
            km_buf_printf(&b, ",\"builtin\":%s,\"pattern\":%s,\"patternOverRecord\":%s", r->builtin ? "true" : "false",
                          r->pattern_written ? r->pattern_written : "null", r->pattern ? r->pattern : "null");
            /* sigma helper: what kind of rule, and a threshold's or correlation's definition */
            km_buf_printf(&b, ",\"kind\":\"%s\"", kind_names[r->kind]);
            if (r->kind == KM_RULE_THRESHOLD || r->kind == KM_RULE_CORRELATION) {
                km_buf_printf(&b, ",\"type\":\"%s\",\"rules\":", corr_names[r->corr_type]);
                json_strs(&b, r->inputs, r->ninputs);
                km_buf_puts(&b, ",\"groupBy\":");
                json_strs(&b, r->group_by, r->ngroup);
                km_buf_printf(&b, ",\"timespanSeconds\":%llu", (unsigned long long)(r->span_ms / 1000));
                if (r->value_field) json_member(&b, "field", r->value_field);
                if (r->has_cond) {
                    const km_count_cond *c = &r->cond;
                    km_buf_puts(&b, ",\"condition\":{");
                    const char *sep = "";
                    if (c->has_gt) { km_buf_printf(&b, "%s\"gt\":%llu", sep, (unsigned long long)c->gt); sep = ","; }
                    if (c->has_gte) { km_buf_printf(&b, "%s\"gte\":%llu", sep, (unsigned long long)c->gte); sep = ","; }
                    if (c->has_lt) { km_buf_printf(&b, "%s\"lt\":%llu", sep, (unsigned long long)c->lt); sep = ","; }
                    if (c->has_lte) { km_buf_printf(&b, "%s\"lte\":%llu", sep, (unsigned long long)c->lte); sep = ","; }
                    if (c->has_eq) km_buf_printf(&b, "%s\"eq\":%llu", sep, (unsigned long long)c->eq);
                    km_buf_putc(&b, '}');
                }
                if (r->query) json_member(&b, "query", r->query);
            }
            if (r->kind == KM_RULE_SIGMA) {
                km_buf_puts(&b, ",\"prefilter\":");
                json_strs(&b, r->patterns, r->npatterns);
                /* how much of the rule the matcher decides, and what it leaves to the evaluator */
                const char *const *why;
                size_t nwhy;
                int how = km_sigma_compiled(km_ruleset_sigma(rs), r->sigma_index, &why, &nwhy);
                json_member(&b, "compiled", how == 2 ? "fully" : how == 1 ? "partly" : "no");
                km_buf_puts(&b, ",\"offMatcher\":");
                json_strs(&b, why, nwhy);
            }
            size_t m = 0;
            for (size_t k = 0; k < r->nexamples; k++) m += (size_t)r->examples[k].should_match;
            km_buf_printf(&b, ",\"examples\":{\"match\":%zu,\"no_match\":%zu}}", m, r->nexamples - m);
        }
        km_buf_puts(&b, n ? "\n]\n" : "]\n");
        int ok = !b.failed && fwrite(b.data, 1, b.len, stdout) == b.len;
        km_buf_free(&b);
        free(v);
        return ok ? 0 : 2;
    }
    size_t idw = 2;
    for (size_t i = 0; i < n; i++)
        if (strlen(v[i]->id) > idw) idw = strlen(v[i]->id);
    printf("%-*s  %-8s  %-11s  %s\n", (int)idw, "ID", "SEVERITY", "SCENARIOS", "TITLE");
    unsigned covered = 0;
    for (size_t i = 0; i < n; i++) {
        const km_rule *r = v[i];
        char sc[32] = "";
        size_t len = 0;
        len += (size_t)(r->primary_scenario ? snprintf(sc, sizeof sc, "S%d", r->primary_scenario) : snprintf(sc, sizeof sc, "-")); /* sigma helper: Sigma rules may have none */
        for (int s = 1; s <= KM_SCENARIO_COUNT; s++)
            if ((r->scenarios & KM_SCENARIO_BIT(s)) && s != r->primary_scenario && len + 4 < sizeof sc)
                len += (size_t)snprintf(sc + len, sizeof sc - len, " S%d", s);
        covered |= r->scenarios;
        printf("%-*s  %-8s  %-11s  %s\n", (int)idw, r->id, km_severity_name(r->severity), sc, r->title);
    }
    int nsc = 0;
    for (int s = 1; s <= KM_SCENARIO_COUNT; s++) nsc += (covered & KM_SCENARIO_BIT(s)) != 0;
    printf("%zu rule%s covering %d of the %d scenarios\n", n, n == 1 ? "" : "s", nsc, KM_SCENARIO_COUNT);
    free(v);
    return 0;
}

static int test_rules(const km_ruleset *rs, int verbose) {
    km_error err;
    km_matcher *m = km_ruleset_matcher(rs, &err);
    km_match_scratch *s = km_match_scratch_new();
    if (!m || !s) {
        fprintf(stderr, "kumomori rules: %s\n", m ? "out of memory" : err.msg);
        km_matcher_free(m);
        km_match_scratch_free(s);
        return 2;
    }
    size_t passed = 0, failed = 0, n = km_ruleset_count(rs);
    for (size_t i = 0; i < n; i++) {
        const km_rule *r = km_ruleset_get(rs, i);
        for (size_t k = 0; k < r->nexamples; k++) {
            const km_rule_example *e = &r->examples[k];
            if (r->kind == KM_RULE_THRESHOLD || r->kind == KM_RULE_CORRELATION) {
                /* sigma helper: an example is a sequence of records */
                int fired = 0;
                int rc = km_program_run_sequence(rs, m, e->json, e->len, i, &fired, &err);
                int ok = rc == KM_OK && fired == e->should_match;
                if (ok) passed++;
                else failed++;
                if (!ok || verbose) {
                    FILE *f = ok ? stdout : stderr;
                    if (rc != KM_OK)
                        fprintf(f, "FAIL %s (%s:%zu): the example sequence cannot be run: %s\n", r->id, r->file, e->line, err.msg);
                    else
                        fprintf(f, "%s %s (%s:%zu): the %s example sequence %s\n", ok ? "ok  " : "FAIL", r->id, r->file, e->line,
                                e->should_match ? "match" : "no_match", fired ? "raises the rule" : "does not raise the rule");
                }
                continue;
            }
            const uint32_t *ids;
            int got = km_matcher_match(m, s, e->json, e->len, &ids, &err);
            int hit = 0;
            for (int j = 0; j < got; j++) hit |= ids[j] == (uint32_t)i;
            int ok = got >= 0 && hit == e->should_match;
            if (ok) passed++;
            else failed++;
            if (!ok || verbose) {
                FILE *f = ok ? stdout : stderr;
                if (got < 0)
                    fprintf(f, "FAIL %s (%s:%zu): the example record cannot be matched: %s\n", r->id, r->file, e->line, err.msg);
                else
                    fprintf(f, "%s %s (%s:%zu): the %s example %s\n", ok ? "ok  " : "FAIL", r->id, r->file, e->line,
                            e->should_match ? "match" : "no_match", hit ? "raises the rule" : "does not raise the rule");
            }
        }
    }
    km_matcher_free(m);
    km_match_scratch_free(s);
    size_t listed = 0;
    for (size_t i = 0; i < n; i++) listed += !km_ruleset_get(rs, i)->hidden; /* sigma helper */
    printf("%zu rule%s, %zu example%s: %zu passed, %zu failed\n", listed, listed == 1 ? "" : "s", passed + failed,
           passed + failed == 1 ? "" : "s", passed, failed);
    return failed ? 1 : 0;
}

/* ---- lint ---- */

static size_t warnings;

static void warn(const km_rule *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(const km_rule *r, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    printf("%s: %s: warning: ", r->file, r->id);
    vprintf(fmt, ap);
    putchar('\n');
    va_end(ap);
    warnings++;
}

static char *rule_text(const km_rule *r, size_t *len) {
    if (r->builtin) {
        for (const km_embedded_file *f = km_builtin_rules; f->name; f++)
            if (strcmp(f->name, r->file) == 0) {
                char *c = malloc(f->len + 1);
                if (c) memcpy(c, f->data, f->len + 1);
                *len = f->len;
                return c;
            }
        return NULL;
    }
    return km_read_file(r->file, (size_t)16 << 20, len, NULL);
}

static void lint_rule(const km_rule *r, const km_ruleset *rs, size_t idx) {
    static const char *const known[] = {"id", "title", "description", "severity", "scenarios", "mitre",
                                        "references", "response", "pattern", "examples", "threshold", "correlation"};
    if (r->hidden) return; /* sigma helper: part of another rule */
    if (r->kind == KM_RULE_SIGMA) { /* sigma helper: the Sigma loader has checked it; say what runs slowly */
        if (!r->npatterns) warn(r, "no field of the rule narrows the records the matcher passes on: it is evaluated on every record");
        return;
    }
    if (r->never_matches) warn(r, "%s", r->never_matches);
    if (r->bare_pattern) {
        warn(r, "a bare EventBridge pattern: its id, title, severity (medium) and scenario (S%d) are made up; "
                "write it as a rule file (docs/rules.md) to choose them and to add examples", r->primary_scenario);
        return;
    }
    size_t len;
    char *text = rule_text(r, &len);
    km_json_doc *doc = text ? km_json_parse(text, len, NULL, NULL, NULL) : NULL;
    const km_json *root = km_json_root(doc);
    for (size_t i = 0; root && i < root->u.obj.n; i++) {
        const km_json_member *mb = &root->u.obj.members[i];
        int ok = 0;
        for (size_t k = 0; k < sizeof known / sizeof known[0] && !ok; k++) ok = strcmp(mb->key, known[k]) == 0;
        if (!ok) warn(r, "unknown field \"%s\" (a typo? the fields are in docs/rules.md)", mb->key);
    }
    km_json_doc_free(doc);
    free(text);
    size_t tl = strlen(r->title);
    if (tl > 100) warn(r, "the title is %zu characters; keep it to one short line", tl);
    if (tl && r->title[tl - 1] == '.') warn(r, "the title ends with a full stop");
    if (strlen(r->description) < 40) warn(r, "the description is very short: say why this matters for ransomware");
    if (strlen(r->response) < 20) warn(r, "the response hint is very short: say what to do when it fires");
    if (!r->nreferences) warn(r, "no references (AWS documentation, a write-up of the technique)");
    if (!r->pattern) return; /* sigma helper: thresholds and correlations read other rules */
    km_json_doc *pd = km_json_parse(r->pattern, r->pattern_len, NULL, NULL, NULL);
    const km_json *p = km_json_root(pd);
    int names = 0;
    if (p && (km_json_get(p, "eventSource") || km_json_get(p, "eventName"))) names = 1;
    const km_json *or = km_json_get(p, "$or");
    if (!names && or) {
        names = 1;
        for (size_t i = 0; i < km_json_len(or); i++) {
            const km_json *br = km_json_at(or, i);
            if (!km_json_get(br, "eventSource") && !km_json_get(br, "eventName")) names = 0;
        }
    }
    km_json_doc_free(pd);
    if (!names) warn(r, "the pattern names neither eventSource nor eventName: it may match far more than intended");
    for (size_t k = 0; k < r->nexamples; k++) {
        const km_rule_example *e = &r->examples[k];
        km_json_doc *ed = km_json_parse(e->json, e->len, NULL, NULL, NULL);
        const km_json *er = km_json_root(ed);
        if (!km_json_get(er, "eventName") || !km_json_get(er, "eventSource"))
            warn(r, "the example on line %zu has no eventName or eventSource: is it a raw CloudTrail record?", e->line);
        km_json_doc_free(ed);
    }
    for (size_t j = 0; j < idx; j++) {
        const km_rule *o = km_ruleset_get(rs, j);
        if (!o->pattern || o->hidden) continue; /* sigma helper */
        if (o->pattern_len == r->pattern_len && memcmp(o->pattern, r->pattern, r->pattern_len) == 0)
            warn(r, "the same pattern as %s (%s)", o->id, o->file);
    }
}

static int lint_rules(const km_ruleset *rs) {
    warnings = 0;
    size_t n = km_ruleset_count(rs), listed = 0;
    for (size_t i = 0; i < n; i++) lint_rule(km_ruleset_get(rs, i), rs, i);
    for (size_t i = 0; i < n; i++) listed += !km_ruleset_get(rs, i)->hidden; /* sigma helper */
    printf("%zu rule%s, %zu warning%s\n", listed, listed == 1 ? "" : "s", warnings, warnings == 1 ? "" : "s");
    return warnings ? 1 : 0;
}

int km_cmd_rules(int argc, char **argv) {
    if (km_cli_wants_help(argc, argv) || argc < 2) {
        if (argc < 2) {
            km_cli_usage_error("rules", "say what to do: list, test or lint");
            return 2;
        }
        help();
        return 0;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "list") && strcmp(sub, "test") && strcmp(sub, "lint")) {
        km_cli_usage_error("rules", "unknown subcommand '%s' (list, test or lint)", sub);
        return 2;
    }
    char **paths = calloc((size_t)argc, sizeof *paths);
    size_t np = 0;
    int builtin = 1, json = 0, verbose = 0, status = 2;
    km_ruleset *rs = NULL;
    if (!paths) return 2;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--rules") == 0 && i + 1 < argc) {
            paths[np++] = argv[++i];
        } else if (strcmp(a, "--no-builtin") == 0) {
            builtin = 0;
        } else if (strcmp(sub, "list") == 0 && strcmp(a, "--format") == 0 && i + 1 < argc) {
            const char *f = argv[++i];
            if (strcmp(f, "json") == 0) json = 1;
            else if (strcmp(f, "text") != 0) {
                km_cli_usage_error("rules", "--format must be text or json, not '%s'", f);
                goto done;
            }
        } else if (strcmp(sub, "test") == 0 && (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0)) {
            verbose = 1;
        } else {
            km_cli_usage_error("rules", "unexpected argument '%s' for 'rules %s'", a, sub);
            goto done;
        }
    }
    rs = km_cli_load_rules("rules", paths, np, builtin, 1);
    if (!rs) goto done;
    if (strcmp(sub, "list") == 0) status = list_rules(rs, json);
    else if (strcmp(sub, "test") == 0) status = test_rules(rs, verbose);
    else status = lint_rules(rs);
done:
    km_ruleset_free(rs);
    free(paths);
    return status;
}
