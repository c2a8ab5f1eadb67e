/* kumomori recoverability: for each data store of a snapshot, the recovery copies, whether they
 * are immutable and out of reach, and who could destroy the data and every copy without MFA
 * (src/recov, docs/recoverability.md). */
#include "audit/snap.h"
#include "audit/util.h"
#include "cli/commands.h"
#include "recov/recov.h"
#include "util/term.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

KM_COMMAND(recoverability, 45, "can one stolen credential destroy each data store and all its backups?")

static void usage(FILE *f) {
    fprintf(f,
            "usage: kumomori recoverability SNAPSHOT... [--format text|json] [-o FILE]\n"
            "\n"
            "For every S3 bucket, RDS instance and cluster, EBS volume, DynamoDB table and EFS file system\n"
            "of the snapshot (a `kumomori collect` directory): the recovery copies that exist (AWS Backup\n"
            "recovery points and plans, RDS automated backups and snapshots, EBS snapshots, S3 versioning,\n"
            "replication and Object Lock, DynamoDB point-in-time recovery and backups), whether each is\n"
            "immutable and isolated, how old the newest is, and which users and roles could destroy the\n"
            "data and every copy with credentials alone (no MFA), judged by the IAM engine with SCPs,\n"
            "boundaries and bucket, vault and key policies. Verdicts: RECOVERABLE, AT_RISK, NOT_BACKED_UP,\n"
            "UNKNOWN (the snapshot could not tell; it says what was missing). See docs/recoverability.md.\n"
            "\n"
            "options:\n"
            "  --format text|json        output format (default text); json is the \"recoverability\"\n"
            "                            object of `kumomori audit --format json`\n"
            "  -o, --output FILE         write there instead of standard output\n"
            "  --now TIME                judge ages as of TIME (default: the snapshot's time)\n"
            "  --managed-policies FILE   AWS managed policy documents the snapshot only names (JSON lines\n"
            "                            {\"arn\", \"document\"}, as `kumomori iam --managed-policies`)\n"
            "  --max-evaluations N       stop after N IAM evaluations (default 500000, a few seconds);\n"
            "                            the stores not judged by then are UNKNOWN\n"
            "  -q, --quiet               no warnings about the input on standard error\n"
            "\n"
            "exit status: 0 nothing is at risk or unprotected, 1 a store is AT_RISK or NOT_BACKED_UP,\n"
            "2 usage error or unreadable input.\n");
}

int km_cmd_recoverability(int argc, char **argv) {
    if (km_cli_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    const char *format = "text", *output = NULL, *now_s = NULL, *managed = NULL, *maxev = NULL;
    int quiet = 0;
    const char **inputs = calloc((size_t)argc + 1, sizeof *inputs);
    size_t ninputs = 0;
    if (!inputs) return 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int needs = !strcmp(a, "--format") || !strcmp(a, "-o") || !strcmp(a, "--output") || !strcmp(a, "--now") ||
                    !strcmp(a, "--managed-policies") || !strcmp(a, "--max-evaluations");
        if (needs && i + 1 >= argc) {
            km_cli_usage_error("recoverability", "%s needs a value", a);
            free(inputs);
            return 2;
        }
        if (!strcmp(a, "--format")) format = argv[++i];
        else if (!strcmp(a, "-o") || !strcmp(a, "--output")) output = argv[++i];
        else if (!strcmp(a, "--now")) now_s = argv[++i];
        else if (!strcmp(a, "--managed-policies")) managed = argv[++i];
        else if (!strcmp(a, "--max-evaluations")) maxev = argv[++i];
        else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) quiet = 1;
        else if (!strcmp(a, "--")) { while (++i < argc) inputs[ninputs++] = argv[i]; }
        else if (a[0] == '-' && a[1]) {
            km_cli_usage_error("recoverability", "unknown option '%s'", a);
            free(inputs);
            return 2;
        } else inputs[ninputs++] = a;
    }
    int json = !strcmp(format, "json");
    if (!json && strcmp(format, "text")) {
        km_cli_usage_error("recoverability", "unknown format '%s' (text or json)", format);
        free(inputs);
        return 2;
    }
    km_recov_opts ro = {.managed_policies = managed};
    if (maxev) {
        char *end;
        long v = strtol(maxev, &end, 10);
        if (*end || v <= 0) {
            km_cli_usage_error("recoverability", "--max-evaluations takes a positive number, not '%s'", maxev);
            free(inputs);
            return 2;
        }
        ro.max_evaluations = (size_t)v;
    }
    if (now_s && km_parse_time_str(now_s, &ro.now)) {
        km_cli_usage_error("recoverability", "--now takes an ISO-8601 time such as 2026-06-01T00:00:00Z, not '%s'", now_s);
        free(inputs);
        return 2;
    }
    if (!ninputs) {
        km_cli_usage_error("recoverability", "give at least one SNAPSHOT (a kumomori collect directory)");
        free(inputs);
        return 2;
    }
    km_error err;
    km_error_clear(&err);
    int rc = 2;
    km_recov *r = NULL;
    FILE *out = stdout;
    km_snap *snap = km_snap_new();
    if (!snap) goto done;
    for (size_t i = 0; i < ninputs; i++) {
        if (km_snap_load(snap, inputs[i], &err) != KM_OK) {
            fprintf(stderr, "kumomori recoverability: %s\n", err.msg);
            goto done;
        }
    }
    km_snap_finish(snap, &err);
    if (!km_snap_naccounts(snap)) {
        fprintf(stderr, "kumomori recoverability: no account data found in %s (expected DIR/<12-digit account>/<region or "
                        "global>/<service>/<operation>.json)\n", inputs[0]);
        goto done;
    }
    if (!quiet) {
        size_t np = km_snap_nproblems(snap);
        for (size_t i = 0; i < np && i < 10; i++) fprintf(stderr, "kumomori recoverability: warning: %s\n", km_snap_problem(snap, i));
        if (np > 10) fprintf(stderr, "kumomori recoverability: warning: ... and %zu more input problems\n", np - 10);
    }
    r = km_recov_analyze(snap, inputs, ninputs, &ro, &err);
    if (!r) {
        fprintf(stderr, "kumomori recoverability: %s\n", err.msg);
        goto done;
    }
    if (output && !(out = fopen(output, "w"))) {
        fprintf(stderr, "kumomori recoverability: %s: cannot write: %s\n", output, strerror(errno));
        out = stdout;
        goto done;
    }
    int wr;
    if (json) {
        km_buf b = KM_BUF_INIT;
        wr = km_recov_json(r, &b);
        if (!wr) km_buf_putc(&b, '\n');
        if (!wr && (b.failed || fwrite(b.data, 1, b.len, out) != b.len)) wr = -1;
        km_buf_free(&b);
    } else {
        wr = km_recov_text(r, out, out == stdout && km_term_color(stdout), 0);
    }
    if (wr || fflush(out)) {
        fprintf(stderr, "kumomori recoverability: writing the report failed: %s\n", strerror(errno));
        goto done;
    }
    rc = km_recov_count(r, KM_RECOV_AT_RISK) || km_recov_count(r, KM_RECOV_NOT_BACKED_UP) ? 1 : 0;
done:
    if (out != stdout && fclose(out) && rc != 2) {
        fprintf(stderr, "kumomori recoverability: %s: %s\n", output, strerror(errno));
        rc = 2;
    }
    km_recov_free(r);
    km_snap_free(snap);
    free(inputs);
    return rc;
}
