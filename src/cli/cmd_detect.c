/* kumomori detect: raise alerts on ransomware behaviour in CloudTrail logs. */
#include "cli/commands.h"
#include "cli/ruleload.h"
#include "detect/detect.h"
#include "kumomori/kumomori.h"
#include "kumomori/seal.h" /* verify helper: --seal */
#include "out/alert.h"
#include "util/term.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

KM_COMMAND(detect, 10, "raise alerts on ransomware behaviour in CloudTrail logs")

static void help(void) {
    printf("usage: kumomori detect [OPTIONS] PATH...\n\n"
           "Matches every CloudTrail record in PATH against the detection rules (the built-in\n"
           "pack, see 'kumomori rules list', plus your own with --rules) and reports the alerts.\n\n"
           "PATH is any mix of:\n"
           "  CloudTrail delivery files {\"Records\":[...]}, .json or .json.gz (gzip is detected)\n"
           "  folders, walked recursively (the S3 layout AWSLogs/<account>/CloudTrail/<region>/\n"
           "    YYYY/MM/DD/); there only *.json, *.jsonl, *.ndjson (optionally .gz) are read\n"
           "  JSON lines or JSON arrays of records, EventBridge events (the record under \"detail\")\n"
           "  -  standard input\n"
           "CloudTrail digest files are recognised and skipped ('kumomori verify' checks them).\n\n"
           "options:\n"
           "  --rules PATH        add rules from a file or a folder: *.json (docs/rules.md,\n"
           "                      thresholds and correlations: docs/stateful.md), Sigma *.yml\n"
           "                      (docs/sigma.md), Athena threshold queries *.sql; repeatable\n"
           "  --no-builtin        run only the rules given with --rules\n"
           "  --min-severity SEV  run only rules of severity SEV or above (info, low, medium,\n"
           "                      high, critical)\n"
           "  --format FMT        text (default: grouped by scenario), jsonl (one alert per line),\n"
           "                      sarif (SARIF 2.1.0)\n"
           "  -o, --output FILE   write the alerts to FILE instead of standard output\n"
           "  --include-event     put the CloudTrail record itself in each jsonl/sarif alert\n"
           "  --seal KEY          seal the jsonl output: hash-chained and signed with the private key\n"
           "                      of `kumomori keygen`; check it with `kumomori verify --sealed`\n"
           "  -j, --jobs N        read N files in parallel (default 1); output order is the same\n"
           "  --max-record-size MIB  skip records larger than this (default 8)\n"
           "  --lateness DUR      thresholds and correlations wait this long in event time for\n"
           "                      late events before deciding (default 15m; e.g. 90s, 1h, 1d)\n"
           "  --max-groups N      groups (principals, buckets, ...) kept per threshold or\n"
           "                      correlation; the least recently seen are evicted (default 100000)\n"
           "  --sigma-placeholder NAME=V1,V2  values for a Sigma rule's |expand %%NAME%%\n"
           "  -q, --quiet         no summary on standard error\n"
           "  -v, --verbose       also report skipped input that is not an error (digest files)\n\n"
           "A summary (files, records, alerts, skipped input and why) goes to standard error,\n"
           "with a progress line while a long run is going on a terminal.\n"
           "Input that cannot be read (a missing or unreadable file, corrupt or truncated gzip,\n"
           "invalid JSON or UTF-8, a record that is not an object, too large or nested too deep)\n"
           "is reported with its file and byte offset, and the rest is still processed.\n\n"
           "exit status: 0 no alert, 1 alerts, 2 usage error, bad rules, or some input could not\n"
           "be read (alerts found in the rest are still reported: the result is incomplete).\n");
}

static int parse_count(const char *s, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

/* sigma helper: a rule below the minimum severity still runs when a threshold or correlation reads
 * it (the program then does not write its alerts) */
typedef struct keep_ctx {
    km_severity min;
    const km_program *program;
    const km_ruleset *rs;
} keep_ctx;

static int keep_rule(const km_rule *r, void *ctx) {
    const keep_ctx *k = ctx;
    return r->severity >= k->min || (k->program && km_program_feeds(k->program, (size_t)(r - km_ruleset_get(k->rs, 0))));
}

static int parse_span_arg(const char *s, uint64_t *out) {
    if (!strcmp(s, "0")) { *out = 0; return 0; }
    int64_t v = km_corr_parse_span(s);
    if (v < 0) return -1;
    *out = (uint64_t)v;
    return 0;
}

static void summary(const km_run_stats *st, size_t nrules, FILE *f) {
    fprintf(f, "kumomori detect: %llu file%s, %llu record%s, %llu alert%s (%zu rule%s) in %.2f s\n",
            (unsigned long long)st->inputs, st->inputs == 1 ? "" : "s", (unsigned long long)st->records,
            st->records == 1 ? "" : "s", (unsigned long long)st->alerts, st->alerts == 1 ? "" : "s", nrules,
            nrules == 1 ? "" : "s", st->seconds);
    for (int pass = 0; pass < 2; pass++) {
        /* First what could not be read, then what was rightly left out. */
        int any = 0;
        for (int k = 1; k < KM_SKIP_REASONS; k++) {
            if (!st->skipped[k] || km_skip_is_error((km_skip_reason)k) != (pass == 0)) continue;
            fprintf(f, "%s%llu %s", any ? ", " : pass == 0 ? "kumomori detect: could not read: " : "kumomori detect: skipped: ",
                    (unsigned long long)st->skipped[k], km_skip_reason_phrase((km_skip_reason)k, st->skipped[k]));
            any = 1;
        }
        if (pass == 1 && st->ignored_files) {
            fprintf(f, "%s%llu file%s in folders not named *.json, *.json.gz or *.jsonl", any ? ", " : "kumomori detect: skipped: ",
                    (unsigned long long)st->ignored_files, st->ignored_files == 1 ? "" : "s");
            any = 1;
        }
        if (any) fputc('\n', f);
    }
    if (st->input_errors)
        fprintf(f, "kumomori detect: the result is incomplete: some input could not be read (exit status 2)\n");
}

int km_cmd_detect(int argc, char **argv) {
    if (km_cli_wants_help(argc, argv)) {
        help();
        return 0;
    }
    char **rule_paths = calloc((size_t)argc, sizeof *rule_paths);
    char **inputs = calloc((size_t)argc, sizeof *inputs);
    size_t nrule_paths = 0, ninputs = 0;
    const char *format = "text", *output = NULL;
    int builtin = 1, include_event = 0, quiet = 0, verbose = 0;
    long jobs = 1, max_mib = 0; /* 0: --limit record (8 MiB) */
    km_severity min_sev = KM_SEV_INFO;
    int status = 2;
    km_ruleset *rs = NULL, *all = NULL; /* rs borrows all */
    km_matcher *m = NULL;
    km_program *prog = NULL; /* sigma helper */
    km_program_opts po = {0};
    po.lateness_ms = 15 * 60 * 1000;
    char **placeholders = calloc((size_t)argc, sizeof *placeholders);
    size_t nph = 0;
    km_writer *w = NULL;
    FILE *out = stdout;
    const char *seal_path = NULL; /* verify helper: --seal */
    km_seal_key *seal_key = NULL;
    km_seal_file *sealf = NULL;
    if (!rule_paths || !inputs) {
        fprintf(stderr, "kumomori detect: out of memory\n");
        goto done;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED_VALUE()                                                               \
    do {                                                                           \
        if (!val) { km_cli_usage_error("detect", "%s needs a value", a); goto done; } \
        i++;                                                                       \
    } while (0)
        if (strcmp(a, "--") == 0) {
            while (++i < argc) inputs[ninputs++] = argv[i];
        } else if (strcmp(a, "--rules") == 0) {
            NEED_VALUE();
            rule_paths[nrule_paths++] = argv[i];
        } else if (strcmp(a, "--no-builtin") == 0) {
            builtin = 0;
        } else if (strcmp(a, "--format") == 0 || strcmp(a, "-f") == 0) {
            NEED_VALUE();
            format = argv[i];
        } else if (strcmp(a, "--output") == 0 || strcmp(a, "-o") == 0) {
            NEED_VALUE();
            output = argv[i];
        } else if (strcmp(a, "--include-event") == 0) {
            include_event = 1;
        } else if (strcmp(a, "--seal") == 0) { /* verify helper */
            NEED_VALUE();
            seal_path = argv[i];
        } else if (strcmp(a, "--jobs") == 0 || strcmp(a, "-j") == 0) {
            NEED_VALUE();
            if (parse_count(argv[i], 1, 256, &jobs)) {
                km_cli_usage_error("detect", "-j needs a number of threads from 1 to 256, not '%s'", argv[i]);
                goto done;
            }
        } else if (strncmp(a, "-j", 2) == 0 && a[2]) {
            if (parse_count(a + 2, 1, 256, &jobs)) {
                km_cli_usage_error("detect", "-j needs a number of threads from 1 to 256, not '%s'", a + 2);
                goto done;
            }
        } else if (strcmp(a, "--max-record-size") == 0) {
            NEED_VALUE();
            if (parse_count(argv[i], 1, 1024, &max_mib)) {
                km_cli_usage_error("detect", "--max-record-size needs MiB from 1 to 1024, not '%s'", argv[i]);
                goto done;
            }
        } else if (strcmp(a, "--min-severity") == 0) {
            NEED_VALUE();
            if (km_severity_parse(argv[i], &min_sev)) {
                km_cli_usage_error("detect", "--min-severity must be info, low, medium, high or critical, not '%s'", argv[i]);
                goto done;
            }
        } else if (strcmp(a, "--lateness") == 0) { /* sigma helper */
            NEED_VALUE();
            if (parse_span_arg(argv[i], &po.lateness_ms)) {
                km_cli_usage_error("detect", "--lateness needs a duration like 90s, 15m, 1h or 1d, not '%s'", argv[i]);
                goto done;
            }
        } else if (strcmp(a, "--max-groups") == 0) {
            NEED_VALUE();
            long g;
            if (parse_count(argv[i], 1, 100000000, &g)) {
                km_cli_usage_error("detect", "--max-groups needs a number from 1 to 100000000, not '%s'", argv[i]);
                goto done;
            }
            po.max_groups = (size_t)g;
        } else if (strcmp(a, "--sigma-placeholder") == 0) {
            NEED_VALUE();
            if (placeholders) placeholders[nph++] = argv[i];
        } else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
            quiet = 1;
        } else if (strcmp(a, "--verbose") == 0 || strcmp(a, "-v") == 0) {
            verbose = 1;
        } else if (a[0] == '-' && a[1]) {
            km_cli_usage_error("detect", "unknown option '%s'", a);
            goto done;
        } else {
            inputs[ninputs++] = argv[i];
        }
#undef NEED_VALUE
    }
    if (!ninputs) {
        km_cli_usage_error("detect", "give at least one file or folder of CloudTrail logs ('-' for standard input)");
        goto done;
    }
    km_error err;
    km_writer_opts wo = {0};
    wo.include_event = include_event;
    /* Probe the format before loading anything, so a typo fails fast. */
    w = km_writer_new(format, &wo, &err);
    if (!w) {
        km_cli_usage_error("detect", "%s", err.msg);
        goto done;
    }
    km_writer_free(w);
    w = NULL;
    if (seal_path) { /* verify helper: only a stream of JSON records can be sealed */
        if (strcmp(format, "jsonl") != 0) {
            km_cli_usage_error("detect", "--seal needs --format jsonl (text and SARIF are documents, not record streams)");
            goto done;
        }
        if (!(seal_key = km_seal_key_load_private(seal_path, &err))) {
            fprintf(stderr, "kumomori detect: %s\n", err.msg);
            goto done;
        }
    }
    all = km_cli_load_rules_ph("detect", rule_paths, nrule_paths, builtin, 0, placeholders, nph);
    if (!all) goto done;
    rs = all;
    /* sigma helper: Sigma rules, thresholds and correlations run in the program */
    po.min_severity = min_sev;
    if (km_ruleset_has_extensions(rs) && !(prog = km_program_new(rs, &po, &err))) {
        fprintf(stderr, "kumomori detect: %s\n", err.msg);
        goto done;
    }
    keep_ctx kc = {min_sev, prog, rs};
    m = km_ruleset_matcher_select(rs, keep_rule, &kc, &err);
    if (!m) {
        fprintf(stderr, "kumomori detect: %s\n", err.msg);
        goto done;
    }
    /* the fast path's fields come with the match (out of memory: it reads the text instead) */
    if (prog) (void)km_program_keep_fields(prog, m);
    if (output) {
        out = fopen(output, "w");
        if (!out) {
            fprintf(stderr, "kumomori detect: cannot write %s: %s\n", output, strerror(errno));
            out = stdout;
            goto done;
        }
    }
    wo.out = out;
    if (seal_key) { /* verify helper: the writer writes through the sealer */
        km_seal_opts so = {0, 0, "kumomori detect " KUMOMORI_VERSION};
        if (!(sealf = km_seal_file_open(seal_key, out, &so, &err))) {
            fprintf(stderr, "kumomori detect: %s\n", err.msg);
            goto done;
        }
        wo.out = km_seal_file_stream(sealf);
    }
    wo.rules = rs;
    wo.color = out == stdout && km_term_color(stdout);
    w = km_writer_new(format, &wo, &err);
    if (!w || km_writer_begin(w)) {
        fprintf(stderr, "kumomori detect: cannot start the %s output\n", format);
        goto done;
    }
    km_detect_opts o = {0};
    o.rules = rs;
    o.matcher = m;
    o.writer = w;
    o.jobs = (int)jobs;
    o.include_event = include_event;
    o.progress = !quiet && isatty(fileno(stderr));
    o.verbose = verbose;
    o.diag = stderr;
    o.limits.max_record = (size_t)max_mib << 20; /* 0: the reader takes --limit record */
    o.program = prog;
    km_run_stats st;
    int rc = km_detect_run(&o, inputs, ninputs, &st);
    if (prog) { /* sigma helper: windows still open at the end of the input decide now */
        long k = km_program_flush(prog, w);
        if (k < 0) rc = -1;
        else st.alerts += (uint64_t)k;
    }
    int seal_rc = 0; /* verify helper: the final signature */
    if (sealf) {
        int wrc = km_writer_end(w, &st);
        km_writer_free(w);
        w = NULL;
        km_error_clear(&err);
        seal_rc = wrc || km_seal_file_close(sealf, &err);
        sealf = NULL;
        if (seal_rc) fprintf(stderr, "kumomori detect: sealed output: %s\n", err.msg[0] ? err.msg : "write failed");
    }
    if (seal_rc || (w && km_writer_end(w, &st)) || rc || fflush(out) || ferror(out)) {
        fprintf(stderr, "kumomori detect: error writing %s: %s\n", output ? output : "standard output", strerror(errno));
        status = 2;
    } else if (st.input_errors) {
        status = 2;
    } else {
        status = st.alerts ? 1 : 0;
    }
    if (!quiet) {
        /* the rules that ran, counted as `rules list` lists them: those the matcher holds and those
         * it does not (Sigma rules with no field that narrows the records, evaluated on every
         * record; correlations, fed by others); not the hidden pieces of another rule (a
         * threshold's own pattern, the parts of a Sigma correlation) */
        size_t nrun = 0;
        for (size_t i = 0; i < km_ruleset_count(rs); i++) {
            const km_rule *r = km_ruleset_get(rs, i);
            nrun += !r->hidden && keep_rule(r, &kc);
        }
        summary(&st, nrun, stderr);
    }
    if (!quiet && prog) { /* sigma helper */
        km_corr_stats cs;
        km_program_stats(prog, &cs);
        if (cs.hits)
            fprintf(stderr, "kumomori detect: thresholds and correlations: %llu matches read, %llu alerts, %llu groups held, "
                            "%llu evicted, %llu late, %llu without eventTime\n",
                    (unsigned long long)cs.hits, (unsigned long long)cs.fired, (unsigned long long)cs.groups,
                    (unsigned long long)cs.evicted_groups, (unsigned long long)cs.late, (unsigned long long)cs.untimed);
    }
    if (st.regex_limit_hits) /* printed even with -q: a rule may have missed a record */
        fprintf(stderr,
                "kumomori detect: warning: %llu regular-expression test%s of Sigma rules stopped at PCRE2's match "
                "limit and counted as no match (first in rule %s): those records may have been missed\n",
                (unsigned long long)st.regex_limit_hits, st.regex_limit_hits == 1 ? "" : "s",
                st.regex_limit_rule ? st.regex_limit_rule : "?");
    if (st.inputs == 0 && st.input_errors == 0 && status != 2) {
        fprintf(stderr, "kumomori detect: no CloudTrail files found in the given paths\n");
        status = 2;
    }
done:
    km_writer_free(w);
    km_seal_file_abort(sealf); /* verify helper: an error path leaves the stream unfinished */
    km_seal_key_free(seal_key);
    km_program_free(prog); /* sigma helper */
    free(placeholders);
    km_matcher_free(m);
    km_ruleset_free(all);
    if (out != stdout) fclose(out);
    free(rule_paths);
    free(inputs);
    return status;
}
