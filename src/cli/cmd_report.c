/* kumomori report: one self-contained HTML page from an audit document and detect alerts. */
#include "cli/commands.h"
#include "kumomori/kumomori.h"
#include "report/report.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

KM_COMMAND(report, 35, "write one self-contained HTML report from audit JSON and detect alerts")

static void usage(void) {
    printf("usage: kumomori report --audit AUDIT.json [--detect ALERTS.jsonl] --out REPORT.html\n\n"
           "Writes one HTML file that needs nothing else (inline style, inline script, no network):\n"
           "the scenario heatmap S1..S7, the fixes ranked by how many findings they close, the\n"
           "recoverability table, the findings (filterable by scenario, severity and status) and,\n"
           "with --detect, a timeline of the alerts by scenario and their table. It reads the same\n"
           "with JavaScript off and prints every finding.\n\n"
           "  --audit FILE         the output of 'kumomori audit --format json' ('-': standard input)\n"
           "  --detect FILE        the output of 'kumomori detect --format jsonl' ('-': standard input)\n"
           "  --out FILE           where to write the page ('-': standard output)\n"
           "  --max-alert-rows N   list at most N alerts in the table, the most severe (default 5000;\n"
           "                       the timeline counts them all)\n"
           "  -q, --quiet          do not print the summary line on standard error\n\n"
           "A filter can be given in the address: report.html#scenario=S6&severity=high,critical&status=FAIL\n\n"
           "An unreadable audit is an error (file, line:column, byte). An alert line that cannot be read\n"
           "is skipped, reported on standard error and in the page, and the rest is used.\n\n"
           "exit status: 0 written; 2 usage error, unreadable audit or alerts file, or some alert lines\n"
           "skipped (the page is still written and says so).\n");
}

/* Writes data to path through a temporary file renamed into place, so a reader never sees half a
 * page and a failed run leaves an earlier page intact. */
static int write_out(const char *path, const char *data, size_t len) {
    if (strcmp(path, "-") == 0) {
        if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0) {
            fprintf(stderr, "kumomori report: writing to standard output failed: %s\n", strerror(errno));
            return -1;
        }
        return 0;
    }
    size_t n = strlen(path) + 32;
    char *tmp = malloc(n);
    if (!tmp) return -1;
    snprintf(tmp, n, "%s.tmp%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        fprintf(stderr, "kumomori report: %s: cannot write: %s\n", tmp, strerror(errno));
        free(tmp);
        return -1;
    }
    int ok = fwrite(data, 1, len, f) == len;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        fprintf(stderr, "kumomori report: %s: cannot write: %s\n", ok ? path : tmp, strerror(errno));
        remove(tmp);
        free(tmp);
        return -1;
    }
    free(tmp);
    return 0;
}

int km_cmd_report(int argc, char **argv) {
    if (km_cli_wants_help(argc, argv)) {
        usage();
        return 0;
    }
    const char *audit = NULL, *detect = NULL, *out = NULL;
    size_t max_rows = 0;
    int quiet = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = NULL;
        if (strcmp(a, "--audit") == 0) slot = &audit;
        else if (strcmp(a, "--detect") == 0 || strcmp(a, "--alerts") == 0) slot = &detect;
        else if (strcmp(a, "--out") == 0 || strcmp(a, "-o") == 0) slot = &out;
        else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            quiet = 1;
            continue;
        } else if (strcmp(a, "--max-alert-rows") == 0) {
            if (i + 1 >= argc) {
                km_cli_usage_error("report", "%s needs a value", a);
                return 2;
            }
            char *end;
            errno = 0;
            long v = strtol(argv[++i], &end, 10);
            if (errno || *end || end == argv[i] || v < 1 || v > 1000000) {
                km_cli_usage_error("report", "--max-alert-rows takes a number from 1 to 1000000, not '%s'", argv[i]);
                return 2;
            }
            max_rows = (size_t)v;
            continue;
        } else {
            km_cli_usage_error("report", a[0] == '-' ? "unknown option '%s'" : "unexpected argument '%s'", a);
            return 2;
        }
        if (i + 1 >= argc) {
            km_cli_usage_error("report", "%s needs a value", a);
            return 2;
        }
        *slot = argv[++i];
    }
    if (!audit) {
        km_cli_usage_error("report", "--audit AUDIT.json is required (the output of 'kumomori audit --format json')");
        return 2;
    }
    if (!out) {
        km_cli_usage_error("report", "--out REPORT.html is required");
        return 2;
    }
    if (detect && strcmp(audit, "-") == 0 && strcmp(detect, "-") == 0) {
        km_cli_usage_error("report", "--audit and --detect cannot both be standard input");
        return 2;
    }
    km_error err;
    size_t len;
    char *text = km_read_file(audit, (size_t)1 << 30, &len, &err);
    if (!text) {
        fprintf(stderr, "kumomori report: %s\n", err.msg);
        return 2;
    }
    km_report *r = km_report_new(max_rows);
    if (!r) {
        free(text);
        fprintf(stderr, "kumomori report: out of memory\n");
        return 2;
    }
    int rc = km_report_set_audit(r, text, len, audit, &err);
    free(text);
    if (rc) {
        fprintf(stderr, "kumomori report: %s\n", err.msg);
        km_report_free(r);
        return 2;
    }
    if (detect && km_report_read_alerts(r, detect, stderr, &err)) {
        fprintf(stderr, "kumomori report: %s\n", err.msg);
        km_report_free(r);
        return 2;
    }
    km_buf page = KM_BUF_INIT;
    km_buf_init(&page, (size_t)1 << 30);
    if (km_report_render(r, &page) || !page.data) {
        fprintf(stderr, "kumomori report: the page would exceed 1 GiB or memory ran out\n");
        km_buf_free(&page);
        km_report_free(r);
        return 2;
    }
    km_report_stats st;
    km_report_get_stats(r, &st);
    int wrc = write_out(out, page.data, page.len);
    km_buf_free(&page);
    km_report_free(r);
    if (wrc) return 2;
    if (!quiet) {
        fprintf(stderr, "kumomori report: wrote %s: %zu findings", strcmp(out, "-") == 0 ? "standard output" : out,
                st.findings);
        if (detect)
            fprintf(stderr, ", %zu alerts (%zu in the table, %zu without a time)", st.alerts, st.alerts_listed,
                    st.alerts_untimed);
        fputc('\n', stderr);
    }
    if (st.alerts_bad) {
        fprintf(stderr, "kumomori report: %zu alert line%s of %s could not be read and %s skipped (exit status 2)\n",
                st.alerts_bad, st.alerts_bad == 1 ? "" : "s", detect, st.alerts_bad == 1 ? "was" : "were");
        return 2;
    }
    return 0;
}
