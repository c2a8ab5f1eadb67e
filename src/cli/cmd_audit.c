/* kumomori audit: evaluate a snapshot (collect output, AWS Config snapshots) against every
 * countermeasure of the strategy and report by scenario. */
#include "recov/recov.h"
#include "cli/commands.h"
#include "audit/audit.h"
#include "audit/util.h"
#include "kumomori/json.h"
#include "kumomori/kumomori.h"
#include "kumomori/seal.h"
#include "out/audit_out.h"
#include "util/limits.h"
#include "util/term.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

KM_COMMAND(audit, 30, "audit an account snapshot against the strategy, scenario by scenario")

static void usage(FILE *f) {
    fprintf(f,
            "usage: kumomori audit [options] SNAPSHOT...\n\n"
            "SNAPSHOT is a directory written by 'kumomori collect' (or one account's directory in it),\n"
            "AWS Config configuration snapshot files (.json or .json.gz, as Config delivers them to S3)\n"
            "or a folder of them. Give several to judge an organisation's accounts together: SCPs and\n"
            "organisation trails are read from the management account and count for the members.\n\n"
            "  --format FORMAT         text (default), json, sarif, asff (Security Hub), ocsf (1.1.0 Compliance Finding)\n"
            "  -o, --output FILE       write the report to FILE instead of standard output\n"
            "  --fail-on SEVERITY      exit 1 if a FAIL of SEVERITY or higher is not suppressed\n"
            "                          (critical, high, medium, low, info; default low)\n"
            "  --suppress FILE         suppressions (YAML: check, account, region, resource, tags, reason, expires)\n"
            "  --checks GLOB[,GLOB]    run only the checks whose id matches, e.g. 'KMA-BACKUP-*,KMA-RDS-*'\n"
            "  --scenario LIST         report only these scenarios, e.g. S6,S7\n"
            "  --status LIST           list only these statuses (PASS,FAIL,UNKNOWN,NOT_APPLICABLE); default:\n"
            "                          FAIL,UNKNOWN for text and sarif, all for json, asff and ocsf\n"
            "  --now TIME              judge ages as of TIME (ISO-8601); default: the snapshot's own time\n"
            "  --scan-unused-services  judge service switches even in regions with nothing to protect\n"
            "  --max-session-hours N   longest acceptable session of roles people assume (default 1)\n"
            "  --seal KEY              with --format json: write the report as sealed JSON lines (the report\n"
            "                          without its findings, then one finding per line), hash-chained and\n"
            "                          signed with a key of 'kumomori keygen'; check with 'kumomori verify --sealed'\n"
            "  -v, --verbose           text: also list passed checks and every resource\n"
            "  -q, --quiet             do not repeat input problems on standard error\n"
            "  --list-checks           print the checks (id, severity, scenarios, title) and exit;\n"
            "                          with --format json or markdown (the table of docs/audit.md)\n\n"
            "Statuses: PASS; FAIL; UNKNOWN when the data was not collected, denied or unreadable (never\n"
            "a FAIL); NOT_APPLICABLE. Exit status: 0 no FAIL at or above --fail-on, 1 otherwise, 2 usage\n"
            "or unreadable input.\n\n"
            "Environment: KUMOMORI_THREADS=N reads the snapshot with N threads (default: the number of\n"
            "processors; at most 8 either way); 1 also runs the recoverability analysis and its judging\n"
            "on the calling thread. The report is the same whatever N. A value that is not a whole\n"
            "number from 1 is refused (exit 2).\n");
}

static void md_cell(const char *s) {
    for (; s && *s; s++) {
        if (*s == '|') fputs("\\|", stdout);
        else if (*s == '\n') fputc(' ', stdout);
        else fputc(*s, stdout);
    }
}

static void md_refs(const km_json *refs, const char *key) {
    const km_json *v = km_json_get(refs, key);
    for (size_t i = 0; i < km_json_len(v); i++) {
        if (i) fputs(", ", stdout);
        md_cell(km_json_str(km_json_at(v, i)));
    }
}

/* The check table of docs/audit.md (a test keeps the document equal to this output). */
static int list_markdown(const km_checkset *cs) {
    printf("| id | severity | scenarios | check | Security Hub | CIS v5 | Prowler |\n|---|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < cs->n; i++) {
        const km_check *c = &cs->v[i];
        char sc[32] = "";
        for (int s = 0; s < KM_NSCENARIOS; s++)
            if (c->scenarios & (1u << s)) snprintf(sc + strlen(sc), sizeof sc - strlen(sc), "%sS%d", sc[0] ? " " : "", s + 1);
        char anchor[128];
        size_t k = 0;
        for (; c->id[k] && k + 1 < sizeof anchor; k++) anchor[k] = (char)(c->id[k] >= 'A' && c->id[k] <= 'Z' ? c->id[k] + 32 : c->id[k]);
        anchor[k] = 0;
        printf("| [%s](#%s) | %s | %s | ", c->id, anchor, km_severity_name(c->severity), sc);
        md_cell(c->title);
        fputs(" | ", stdout);
        md_refs(c->refs, "securityhub");
        fputs(" | ", stdout);
        md_refs(c->refs, "cis_aws_v5");
        fputs(" | ", stdout);
        md_refs(c->refs, "prowler");
        fputs(" |\n", stdout);
    }
    printf("\n%zu checks.\n", cs->n);
    for (size_t i = 0; i < cs->n; i++) {
        const km_check *c = &cs->v[i];
        printf("\n### %s\n\n**%s** (%s; ", c->id, c->title, km_severity_name(c->severity));
        int first = 1;
        for (int s = 0; s < KM_NSCENARIOS; s++)
            if (c->scenarios & (1u << s)) { printf("%sS%d", first ? "" : ", ", s + 1); first = 0; }
        printf("; resource %s)\n\n", c->resource_type);
        if (c->strategy) printf("Strategy: %s\n\n", c->strategy);
        printf("%s\n\nFix: %s\n\n```sh\n%s\n```\n\nReads:", c->rationale, c->remediation, c->remediation_cli);
        for (size_t k = 0; k < km_json_len(c->data); k++) printf("%s `%s`", k ? "," : "", km_json_str(km_json_at(c->data, k)));
        printf("\n");
    }
    return 0;
}

static int list_checks(const km_checkset *cs, const char *format) {
    if (format && !strcmp(format, "markdown")) return list_markdown(cs);
    if (format && !strcmp(format, "json")) {
        km_buf b = KM_BUF_INIT;
        km_buf_puts(&b, "[");
        for (size_t i = 0; i < cs->n; i++) {
            const km_check *c = &cs->v[i];
            km_buf_printf(&b, "%s{\"id\":", i ? "," : "");
            km_buf_json_str(&b, c->id, strlen(c->id));
            km_buf_puts(&b, ",\"title\":");
            km_buf_json_str(&b, c->title, strlen(c->title));
            km_buf_printf(&b, ",\"severity\":\"%s\",\"scenarios\":[", km_severity_name(c->severity));
            int first = 1;
            for (int s = 0; s < KM_NSCENARIOS; s++)
                if (c->scenarios & (1u << s)) {
                    km_buf_printf(&b, "%s\"S%d\"", first ? "" : ",", s + 1);
                    first = 0;
                }
            km_buf_puts(&b, "],\"resource_type\":");
            km_buf_json_str(&b, c->resource_type, strlen(c->resource_type));
            km_buf_puts(&b, ",\"references\":");
            km_json_write(&b, c->refs);
            km_buf_puts(&b, "}");
        }
        km_buf_puts(&b, "]\n");
        fwrite(b.data, 1, b.len, stdout);
        km_buf_free(&b);
        return 0;
    }
    for (size_t i = 0; i < cs->n; i++) {
        const km_check *c = &cs->v[i];
        char sc[32] = "";
        for (int s = 0; s < KM_NSCENARIOS; s++)
            if (c->scenarios & (1u << s)) snprintf(sc + strlen(sc), sizeof sc - strlen(sc), "%sS%d", sc[0] ? "," : "", s + 1);
        printf("%-40s %-8s %-9s %s\n", c->id, km_severity_name(c->severity), sc, c->title);
    }
    printf("%zu checks\n", cs->n);
    return 0;
}

static int parse_status_list(const char *s, unsigned *mask) {
    *mask = 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", s);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        if (km_streq_ci(tok, "PASS")) *mask |= 1u << KM_PASS;
        else if (km_streq_ci(tok, "FAIL")) *mask |= 1u << KM_FAIL;
        else if (km_streq_ci(tok, "UNKNOWN")) *mask |= 1u << KM_UNKNOWN;
        else if (km_streq_ci(tok, "NOT_APPLICABLE") || km_streq_ci(tok, "NA")) *mask |= 1u << KM_NA;
        else if (km_streq_ci(tok, "ALL")) *mask |= 0xF;
        else return -1;
    }
    return *mask ? 0 : -1;
}

static int parse_scenarios(const char *s, unsigned *mask) {
    *mask = 0;
    for (const char *p = s; *p; p++) {
        if ((*p == 'S' || *p == 's') && p[1] >= '1' && p[1] <= '7') { *mask |= 1u << (p[1] - '1'); p++; }
        else if (*p != ',' && *p != ' ') return -1;
    }
    return *mask ? 0 : -1;
}

static void warn_cb(const char *msg, void *ctx) {
    (void)ctx;
    fprintf(stderr, "kumomori audit: warning: %s\n", msg);
}

/* --seal: the JSON report (one line) becomes JSON lines so that each finding is a sealed record
 * of its own: first the report without "findings" (plus "findings_sealed": N), then each finding
 * as written. The pieces are cut from the document's text by the parser's offsets, unchanged. */
static int write_sealed(const char *doc, size_t len, const km_seal_key *key, FILE *out, km_error *err) {
    km_json_doc *d = km_json_parse(doc, len, NULL, NULL, err);
    const km_json *root = km_json_root(d);
    if (!root || root->type != KM_JSON_OBJECT) {
        km_json_doc_free(d);
        return KM_ERR;
    }
    const km_json *findings = km_json_get(root, "findings");
    km_buf head = KM_BUF_INIT;
    km_buf_putc(&head, '{');
    int first = 1;
    for (size_t i = 0; i < root->u.obj.n; i++) {
        const km_json_member *m = &root->u.obj.members[i];
        if (m->value == findings) continue;
        if (!first) km_buf_putc(&head, ',');
        first = 0;
        km_buf_json_str(&head, m->key, m->key_len);
        km_buf_putc(&head, ':');
        km_buf_append(&head, doc + m->value->offset, m->value->end - m->value->offset);
    }
    km_buf_printf(&head, "%s\"findings_sealed\":%zu}\n", first ? "" : ",", km_json_len(findings));
    km_seal_opts so = {0, 0, "kumomori audit " KUMOMORI_VERSION};
    km_seal_file *sf = km_seal_file_open(key, out, &so, err);
    int rc = sf && !head.failed ? KM_OK : KM_ERR;
    FILE *s = sf ? km_seal_file_stream(sf) : NULL;
    if (rc == KM_OK && fwrite(head.data, 1, head.len, s) != head.len) rc = KM_ERR;
    for (size_t i = 0; rc == KM_OK && i < km_json_len(findings); i++) {
        const km_json *f = km_json_at(findings, i);
        if (fwrite(doc + f->offset, 1, f->end - f->offset, s) != f->end - f->offset || fputc('\n', s) == EOF) rc = KM_ERR;
    }
    if (rc == KM_OK) rc = km_seal_file_close(sf, err) ? KM_ERR : KM_OK;
    else km_seal_file_abort(sf);
    km_buf_free(&head);
    km_json_doc_free(d);
    return rc;
}

/* S6's recoverability analysis, on a thread of its own while the other checks run.
 * Performance (docs/performance.md, audit): on the organisation snapshot the two took about
 * 2.5 s one after the other on the main thread; they only share the snapshot, whose writes
 * after loading take its lock (snap.c). */
typedef struct recov_job {
    km_snap *snap;
    const char *const *inputs;
    size_t ninputs;
    km_recov_opts ro;
    km_recov *recov;
    km_error err;
    pthread_t th;
    int started;
} recov_job;

static void *recov_run(void *arg) {
    recov_job *j = arg;
    km_error_clear(&j->err);
    j->recov = km_recov_analyze(j->snap, j->inputs, j->ninputs, &j->ro, &j->err);
    return NULL;
}

int km_cmd_audit(int argc, char **argv) {
    if (km_cli_wants_help(argc, argv)) { usage(stdout); return 0; }
    const char *format = "text", *output = NULL, *fail_on = "low", *supp_path = NULL, *only = NULL;
    const char *scen = NULL, *status = NULL, *now_s = NULL, *seal_path = NULL;
    int verbose = 0, quiet = 0, list = 0, scan_unused = 0;
    double max_hours = 1;
    const char **inputs = calloc((size_t)argc + 1, sizeof *inputs);
    size_t ninputs = 0;
    if (!inputs) {
        fprintf(stderr, "kumomori audit: out of memory\n");
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
#define NEEDARG()                                                                       \
    do {                                                                                \
        if (i + 1 >= argc) {                                                            \
            km_cli_usage_error("audit", "%s needs a value", a);                         \
            free(inputs);                                                               \
            return 2;                                                                   \
        }                                                                               \
    } while (0)
        if (!strcmp(a, "--format")) { NEEDARG(); format = argv[++i]; }
        else if (!strcmp(a, "-o") || !strcmp(a, "--output")) { NEEDARG(); output = argv[++i]; }
        else if (!strcmp(a, "--fail-on")) { NEEDARG(); fail_on = argv[++i]; }
        else if (!strcmp(a, "--suppress")) { NEEDARG(); supp_path = argv[++i]; }
        else if (!strcmp(a, "--checks")) { NEEDARG(); only = argv[++i]; }
        else if (!strcmp(a, "--scenario") || !strcmp(a, "--scenarios")) { NEEDARG(); scen = argv[++i]; }
        else if (!strcmp(a, "--status")) { NEEDARG(); status = argv[++i]; }
        else if (!strcmp(a, "--now")) { NEEDARG(); now_s = argv[++i]; }
        else if (!strcmp(a, "--seal")) { NEEDARG(); seal_path = argv[++i]; }
        else if (!strcmp(a, "--max-session-hours")) {
            NEEDARG();
            char *end;
            max_hours = strtod(argv[++i], &end);
            if (*end || max_hours <= 0 || max_hours > 36) {
                km_cli_usage_error("audit", "--max-session-hours takes hours between 0 and 36, not '%s'", argv[i]);
                free(inputs);
                return 2;
            }
        } else if (!strcmp(a, "--scan-unused-services")) scan_unused = 1;
        else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) verbose = 1;
        else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) quiet = 1;
        else if (!strcmp(a, "--list-checks")) list = 1;
        else if (!strcmp(a, "--")) { while (++i < argc) inputs[ninputs++] = argv[i]; }
        else if (a[0] == '-' && a[1]) { km_cli_usage_error("audit", "unknown option '%s'", a); free(inputs); return 2; }
        else inputs[ninputs++] = a;
#undef NEEDARG
    }
    static const char *const formats[] = {"text", "json", "sarif", "asff", "ocsf", "markdown", NULL};
    int fi = -1;
    for (int k = 0; formats[k]; k++)
        if (!strcmp(format, formats[k])) fi = k;
    if (fi < 0 || (fi == 5 && !list)) {
        km_cli_usage_error("audit", "unknown format '%s' (text, json, sarif, asff, ocsf; markdown with --list-checks)", format);
        free(inputs);
        return 2;
    }
    if (seal_path && fi != 1) {
        km_cli_usage_error("audit", "--seal needs --format json (text, SARIF, ASFF and OCSF are documents, not record streams)");
        free(inputs);
        return 2;
    }
    km_severity fail_sev;
    if (km_severity_parse(fail_on, &fail_sev)) {
        km_cli_usage_error("audit", "--fail-on takes critical, high, medium, low or info, not '%s'", fail_on);
        free(inputs);
        return 2;
    }
    unsigned status_mask = (fi == 0 || fi == 2) ? ((1u << KM_FAIL) | (1u << KM_UNKNOWN)) : 0xF;
    if (verbose && fi == 0) status_mask |= 1u << KM_PASS;
    if (status && parse_status_list(status, &status_mask)) {
        km_cli_usage_error("audit", "--status takes a list of PASS, FAIL, UNKNOWN, NOT_APPLICABLE, not '%s'", status);
        free(inputs);
        return 2;
    }
    unsigned scen_mask = 0x7F;
    if (scen && parse_scenarios(scen, &scen_mask)) {
        km_cli_usage_error("audit", "--scenario takes a list of S1..S7, not '%s'", scen);
        free(inputs);
        return 2;
    }
    km_audit_opts opts;
    km_audit_opts_default(&opts);
    opts.only = only;
    opts.scan_unused = scan_unused;
    opts.max_session_seconds = (long)(max_hours * 3600 + 0.5);
    if (now_s && km_parse_time_str(now_s, &opts.now)) {
        km_cli_usage_error("audit", "--now takes an ISO-8601 time such as 2026-06-01T00:00:00Z, not '%s'", now_s);
        free(inputs);
        return 2;
    }
    km_checkset checks;
    km_error err;
    if (km_checkset_load(&checks, &err) != KM_OK) {
        fprintf(stderr, "kumomori audit: the built-in checks are broken: %s\n", err.msg);
        free(inputs);
        return 2;
    }
    if (list) {
        int rc = list_checks(&checks, format);
        km_checkset_free(&checks);
        free(inputs);
        return rc;
    }
    if (!ninputs) {
        km_cli_usage_error("audit", "give at least one SNAPSHOT (a collect directory or AWS Config snapshot files)");
        km_checkset_free(&checks);
        free(inputs);
        return 2;
    }
    km_suppressions *supp = NULL;
    if (supp_path && km_suppressions_load(&supp, supp_path, &err) != KM_OK) {
        fprintf(stderr, "kumomori audit: %s\n", err.msg);
        km_checkset_free(&checks);
        free(inputs);
        return 2;
    }
    int rc = 2;
    km_seal_key *seal_key = NULL;
    char *sealbuf = NULL;
    size_t seallen = 0;
    if (seal_path && !(seal_key = km_seal_key_load_private(seal_path, &err))) {
        fprintf(stderr, "kumomori audit: %s\n", err.msg);
        km_suppressions_free(supp);
        km_checkset_free(&checks);
        free(inputs);
        return 2;
    }
    km_snap *snap = km_snap_new();
    km_audit *audit = NULL;
    km_recov *recov = NULL;
    FILE *out = stdout;
    if (!snap) {
        fprintf(stderr, "kumomori audit: out of memory\n");
        goto done;
    }
    for (size_t i = 0; i < ninputs; i++) {
        if (km_snap_load(snap, inputs[i], &err) != KM_OK) {
            fprintf(stderr, "kumomori audit: %s\n", err.msg);
            goto done;
        }
    }
    km_snap_finish(snap, &err);
    if (km_snap_oom(snap)) { /* harden helper */
        fprintf(stderr, "kumomori audit: out of memory while reading the snapshot; no report\n");
        goto done;
    }
    if (!km_snap_naccounts(snap)) {
        fprintf(stderr, "kumomori audit: no account data found in %s%s (expected DIR/<12-digit account>/<region or global>/<service>/<operation>.json or AWS Config snapshot files)\n",
                inputs[0], ninputs > 1 ? " and the other inputs" : "");
        for (size_t i = 0; i < km_snap_nproblems(snap) && i < 10; i++) fprintf(stderr, "  %s\n", km_snap_problem(snap, i));
        goto done;
    }
    /* S6's recoverability analysis: its verdicts become KMA-RECOV-* findings and a section.
     * With KUMOMORI_THREADS=1 it runs first, then the checks, as before threads. */
    recov_job rj = {.snap = snap, .inputs = (const char *const *)inputs, .ninputs = ninputs, .ro = {.now = opts.now}};
    int with_recov = (scen_mask & (1u << 5)) != 0;
    if (with_recov && km_threads() > 1)
        rj.started = pthread_create(&rj.th, NULL, recov_run, &rj) == 0;
    if (with_recov && !rj.started) recov_run(&rj);
    km_error cerr;
    km_error_clear(&cerr);
    int crc = km_audit_start(snap, &checks, &opts, &audit, &cerr);
    if (rj.started) pthread_join(rj.th, NULL);
    recov = rj.recov;
    if (with_recov) {
        if (!recov && rj.err.code == KM_ENOMEM) { /* a report without its recoverability would look complete */
            fprintf(stderr, "kumomori audit: %s; no report\n", rj.err.msg);
            goto done;
        }
        if (!recov) fprintf(stderr, "kumomori audit: warning: recoverability not analysed: %s\n", rj.err.msg);
    }
    if (crc != KM_OK || km_audit_finish(audit, recov, &cerr) != KM_OK) {
        fprintf(stderr, "kumomori audit: %s\n", cerr.msg);
        goto done;
    }
    if (km_snap_oom(snap)) { /* harden helper: the checks intern into the snapshot too */
        fprintf(stderr, "kumomori audit: out of memory while running the checks; no report\n");
        goto done;
    }
    km_audit_suppress(audit, supp, warn_cb, NULL);
    size_t np = km_snap_nproblems(snap);
    const char **problems = calloc(np ? np : 1, sizeof *problems);
    if (!problems) { /* harden helper: a report without its input problems would look complete */
        fprintf(stderr, "kumomori audit: out of memory\n");
        goto done;
    }
    for (size_t i = 0; problems && i < np; i++) problems[i] = km_snap_problem(snap, i);
    if (!quiet && np) {
        for (size_t i = 0; i < np && i < 10; i++) {
            char *t = NULL; /* harden helper: file names and messages may carry terminal controls */
            fprintf(stderr, "kumomori audit: warning: %s\n", km_term_clean(problems[i], &t));
            free(t);
        }
        if (np > 10) fprintf(stderr, "kumomori audit: warning: ... and %zu more input problems (listed in the report)\n", np - 10);
    }
    km_rollup ru;
    km_audit_rollup(audit, &ru);
    if (ru.oom) {
        fprintf(stderr, "kumomori audit: out of memory while ranking the fixes; no report\n");
        free(problems);
        goto done;
    }
    if (output && !(out = fopen(output, "w"))) {
        fprintf(stderr, "kumomori audit: %s: cannot write: %s\n", output, strerror(errno));
        out = stdout;
        free(problems);
        goto done;
    }
    km_audit_report rep = {audit, &ru, inputs, ninputs, (int64_t)time(NULL), status_mask, scen_mask, 1, verbose,
                           problems, problems ? np : 0, recov};
    int wr;
    switch (fi) {
    case 0: wr = km_audit_write_text(out, &rep); break;
    case 1:
        if (seal_key) { /* the document is made in memory, then written as sealed lines */
            FILE *mem = open_memstream(&sealbuf, &seallen);
            wr = !mem || km_audit_write_json(mem, &rep);
            if (mem && fclose(mem)) wr = -1;
            km_error_clear(&err);
            if (!wr && write_sealed(sealbuf, seallen, seal_key, out, &err) != KM_OK) {
                fprintf(stderr, "kumomori audit: sealed output: %s\n", err.msg[0] ? err.msg : "write failed");
                wr = -1;
            }
        } else {
            wr = km_audit_write_json(out, &rep);
        }
        break;
    case 2: wr = km_audit_write_sarif(out, &rep); break;
    case 3: wr = km_audit_write_asff(out, &rep); break;
    default: wr = km_audit_write_ocsf(out, &rep); break;
    }
    free(problems);
    if (wr || fflush(out)) {
        fprintf(stderr, "kumomori audit: writing the report failed: %s\n", strerror(errno));
        goto done;
    }
    rc = 0;
    for (size_t i = 0; i < km_audit_nfindings(audit); i++) {
        const km_finding *f = km_audit_finding(audit, i);
        if (f->status == KM_FAIL && !f->suppressed && f->check->severity >= fail_sev && (f->check->scenarios & scen_mask)) rc = 1;
    }
done:
    if (out != stdout && fclose(out) && rc != 2) {
        fprintf(stderr, "kumomori audit: %s: %s\n", output, strerror(errno));
        rc = 2;
    }
    km_audit_free(audit);
    km_recov_free(recov);
    km_snap_free(snap);
    km_seal_key_free(seal_key);
    free(sealbuf);
    km_suppressions_free(supp);
    km_checkset_free(&checks);
    free(inputs);
    return rc;
}
