/* kumomori report: escaping, the audit checks and their messages, what the page holds for the
 * handmade audits of tests/data/report/ (expected values written by hand from those files),
 * and the alert lines (skipped, counted, capped). */
#include "test.h"
#include "report/report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *data_file(const char *name, size_t *len) {
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/data/report/%s", km_test_top(), name);
    return km_test_read(path, len);
}

/* Renders the audit file name (and alert lines, NULL-terminated) into a malloc'd page. */
static char *render(const char *audit, const char *const *lines, size_t max_rows, km_report_stats *st) {
    size_t len;
    char *text = data_file(audit, &len);
    if (!text) return NULL;
    km_report *r = km_report_new(max_rows);
    km_error err;
    if (km_report_set_audit(r, text, len, audit, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        free(text);
        km_report_free(r);
        return NULL;
    }
    free(text);
    for (size_t i = 0; lines && lines[i]; i++) km_report_add_alert_line(r, lines[i], strlen(lines[i]), "a.jsonl", i + 1, &err);
    km_buf b = KM_BUF_INIT;
    if (km_report_render(r, &b)) {
        km_buf_free(&b);
        km_report_free(r);
        return NULL;
    }
    if (st) km_report_get_stats(r, st);
    km_report_free(r);
    return km_buf_steal(&b, NULL);
}

static size_t count(const char *hay, const char *needle) {
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle)) n++;
    return n;
}

/* The value of attribute attr in the first element after `after` inside the table row that
 * contains `row` (e.g. row id="heat-S6", after class="n fail", attr data-count). */
static const char *cell_attr(const char *html, const char *row, const char *after, const char *attr, char *out, size_t n) {
    const char *r = strstr(html, row);
    if (!r) return NULL;
    const char *end = strstr(r, "</tr>");
    const char *c = strstr(r, after);
    if (!c || (end && c > end)) return NULL;
    char key[64];
    snprintf(key, sizeof key, "%s=\"", attr);
    const char *a = strstr(c, key);
    if (!a || (end && a > end)) return NULL;
    a += strlen(key);
    size_t i = 0;
    while (a[i] && a[i] != '"' && i + 1 < n) {
        out[i] = a[i];
        i++;
    }
    out[i] = 0;
    return out;
}

TEST(report_html_escape_exact) {
    static const struct { const char *in; size_t n; const char *out; } cases[] = {
        {"plain arn:aws:s3:::b", 0, "plain arn:aws:s3:::b"},
        {"<script>alert(1)</script>", 0, "&lt;script&gt;alert(1)&lt;/script&gt;"},
        {"a\"b'c&d", 0, "a&quot;b&#39;c&amp;d"},
        {"&amp;", 0, "&amp;amp;"},
        {"x\0y", 3, "x\xE2\x90\x80y"},                           /* NUL: the control picture */
        {"bell\a", 0, "bell\xE2\x90\x87"},
        {"tab\tnl\n", 0, "tab\tnl\n"},
        {"del\x7f", 0, "del\xE2\x90\xA1"},
        {"exe.\xE2\x80\xAEgnp", 0, "exe.[U+202E]gnp"},          /* right-to-left override */
        {"iso\xE2\x81\xA6x", 0, "iso[U+2066]x"},
        {"c1\xC2\x85", 0, "c1[U+0085]"},
        {"\xE9t\xE9", 0, "\xEF\xBF\xBDt\xEF\xBF\xBD"},           /* Latin-1, not UTF-8 */
        {"\xED\xA0\x80", 0, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"}, /* a surrogate */
        {"\xC0\xAF", 0, "\xEF\xBF\xBD\xEF\xBF\xBD"},             /* overlong '/' */
        {"\xF0\x9F\x98", 0, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"}, /* cut short */
        {"\xE9\x9B\xB2\xE5\xAE\x88 \xF0\x9F\x98\x80", 0, "\xE9\x9B\xB2\xE5\xAE\x88 \xF0\x9F\x98\x80"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        km_buf b = KM_BUF_INIT;
        size_t n = cases[i].n ? cases[i].n : strlen(cases[i].in);
        int rc = km_html_escape(&b, cases[i].in, n);
        km_test_case(rc == 0 && b.data && strcmp(b.data, cases[i].out) == 0, "escape case %zu: got \"%s\"", i,
                     b.data ? b.data : "(null)");
        km_buf_free(&b);
    }
}

TEST(report_audit_errors_name_file_and_position) {
    static const struct { const char *text, *msg; } cases[] = {
        {"{\"findings\": [", "a.json:1:15 (byte 14): invalid JSON: "},
        {"[1]", "a.json:1:1 (byte 0): expected a JSON object (the output of kumomori audit --format json), not array"},
        {"{\"x\": 1}", "a.json:1:1 (byte 0): no \"findings\" or \"scenarios\": not the output of kumomori audit --format json"},
        {"{\"findings\": {}, \"scenarios\": []}", "a.json:1:14 (byte 13): the audit: \"findings\" must be an array, not object"},
        {"{\"findings\": [], \"scenarios\": []}\n", NULL},
        {"{\"findings\": [],\n \"scenarios\": [{\"id\": \"S8\"}]}",
         "a.json:2:23 (byte 39): scenarios[0]: \"id\" must be one of S1 to S7"},
        {"{\"scenarios\": [],\n\"findings\": [{\"check_id\": \"K\", \"status\": \"BAD\", \"severity\": \"high\", \"scenarios\": []}]}",
         "a.json:2:42 (byte 59): findings[0]: \"status\" must be one of PASS, FAIL, UNKNOWN, NOT_APPLICABLE"},
        {"{\"scenarios\": [], \"findings\": [{\"check_id\": \"K\", \"status\": \"PASS\", \"severity\": \"high\", \"scenarios\": [\"S9\"]}]}",
         "a.json:1:102 (byte 101): findings[0]: scenarios must hold S1 to S7"},
        {"{\"scenarios\": [], \"findings\": [{\"status\": \"PASS\"}]}", "a.json:1:32 (byte 31): findings[0] has no \"check_id\""},
        {"{\"scenarios\": [{\"id\": \"S1\", \"fail\": -1}], \"findings\": []}",
         "a.json:1:37 (byte 36): scenarios[0]: \"fail\" must be a non-negative number"},
        {"{\"scenarios\": [], \"findings\": [], \"recoverability\": []}",
         "a.json:1:53 (byte 52): the audit: \"recoverability\" must be an object, not array"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        km_report *r = km_report_new(0);
        km_error err;
        err.msg[0] = 0;
        int rc = km_report_set_audit(r, cases[i].text, strlen(cases[i].text), "a.json", &err);
        if (!cases[i].msg)
            km_test_case(rc == 0, "audit case %zu accepted (%s)", i, err.msg);
        else
            km_test_case(rc != 0 && strncmp(err.msg, cases[i].msg, strlen(cases[i].msg)) == 0,
                         "audit case %zu: got \"%s\"", i, err.msg);
        km_report_free(r);
    }
}

/* Expected counts: tests/data/report/audit-small.json's "scenarios", read by hand. */
TEST(report_heatmap_counts_are_the_audits) {
    char *h = render("audit-small.json", NULL, 0, NULL);
    CHECK(h);
    static const struct { const char *row, *status, *score, *fail, *unknown, *pass, *na; } want[] = {
        {"id=\"heat-S1\"", "NO_DATA", "100", "0", "0", "0", "1"},
        {"id=\"heat-S2\"", "EXPOSED", "0", "1", "1", "0", "0"},
        {"id=\"heat-S3\"", "NO_DATA", "100", "0", "0", "0", "0"},
        {"id=\"heat-S4\"", "INCOMPLETE", "100", "0", "1", "0", "0"},
        {"id=\"heat-S5\"", "NO_DATA", "100", "0", "0", "0", "1"},
        {"id=\"heat-S6\"", "EXPOSED", "10", "3", "0", "1", "0"},
        {"id=\"heat-S7\"", "EXPOSED", "33", "1", "0", "1", "0"},
    };
    char v[64];
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        int ok = cell_attr(h, want[i].row, want[i].row, "data-status", v, sizeof v) && strcmp(v, want[i].status) == 0 &&
                 cell_attr(h, want[i].row, "class=\"n score", "data-score", v, sizeof v) && strcmp(v, want[i].score) == 0 &&
                 cell_attr(h, want[i].row, "class=\"n fail", "data-count", v, sizeof v) && strcmp(v, want[i].fail) == 0 &&
                 cell_attr(h, want[i].row, "class=\"n unknown", "data-count", v, sizeof v) && strcmp(v, want[i].unknown) == 0 &&
                 cell_attr(h, want[i].row, "class=\"n pass", "data-count", v, sizeof v) && strcmp(v, want[i].pass) == 0 &&
                 cell_attr(h, want[i].row, "class=\"n na", "data-count", v, sizeof v) && strcmp(v, want[i].na) == 0;
        km_test_case(ok, "heatmap row %s", want[i].row);
    }
    /* a colour-blind-safe text label besides the colour */
    CHECK_CONTAINS(h, "<span class=\"badge st-EXPOSED\">\xE2\x9C\x96 EXPOSED</span>");
    CHECK_CONTAINS(h, "<span class=\"badge st-INCOMPLETE\">? INCOMPLETE</span>");
    free(h);
}

TEST(report_fixes_ranked_across_the_audit) {
    char *h = render("audit-small.json", NULL, 0, NULL);
    CHECK(h);
    /* by hand: KMA-BACKUP-VAULT-LOCK fails twice; KMA-ORG-SCP-MFA (critical) and
     * KMA-CW-ALARM-KMS-KEY-DISABLE (high) once; the suppressed S3 failure closes nothing */
    const char *a = strstr(h, "<tr class=\"fix\" data-closes=\"2\" data-severity=\"critical\" data-scenarios=\"S6\">");
    const char *b = strstr(h, "<tr class=\"fix\" data-closes=\"1\" data-severity=\"critical\" data-scenarios=\"S2\">");
    const char *c = strstr(h, "<tr class=\"fix\" data-closes=\"1\" data-severity=\"high\" data-scenarios=\"S6 S7\">");
    CHECK(a && b && c && a < b && b < c);
    CHECK_INT(count(h, "<tr class=\"fix\""), 3);
    CHECK(strstr(a, "KMA-BACKUP-VAULT-LOCK") < b);
    CHECK(strstr(b, "KMA-ORG-SCP-MFA") < c);
    CHECK(!strstr(h, "<code class=\"check-id\">KMA-S3-PUBLIC-ACCESS-BLOCK</code><br>S3 Block Public Access is on</td><td>S3</td><td>Turn"));
    free(h);
}

TEST(report_findings_table_has_every_finding_with_filter_attributes) {
    char *h = render("audit-small.json", NULL, 0, NULL);
    CHECK(h);
    CHECK_INT(count(h, "<tr class=\"finding"), 9);
    CHECK_INT(count(h, "data-status=\"FAIL\""), 5);
    CHECK_INT(count(h, "<tr class=\"finding suppressed\" data-status=\"FAIL\" data-severity=\"high\" data-scenarios=\"S3\">"), 1);
    CHECK_INT(count(h, "data-status=\"UNKNOWN\" data-severity=\"medium\" data-scenarios=\"S2 S4\""), 1);
    CHECK_INT(count(h, "data-status=\"NOT_APPLICABLE\" data-severity=\"low\" data-scenarios=\"S1 S5\""), 1);
    /* failures first: the first finding row is a critical FAIL, the last the NOT_APPLICABLE one */
    const char *first = strstr(h, "<tr class=\"finding");
    CHECK(strncmp(first, "<tr class=\"finding\" data-status=\"FAIL\" data-severity=\"critical\"", 63) == 0);
    CHECK(strstr(h, "data-status=\"NOT_APPLICABLE\"") > strstr(h, "data-status=\"PASS\""));
    /* the filter form is in the page but hidden until the script shows it */
    CHECK_CONTAINS(h, "<form id=\"filters\" hidden>");
    CHECK_CONTAINS(h, "<output id=\"findings-shown\">9 of 9 shown</output>");
    CHECK_CONTAINS(h, "recoverability not in this audit");
    CHECK(!strstr(h, "id=\"alerts-section\""));
    free(h);
}

TEST(report_recoverability_table_from_the_audit) {
    char *h = render("audit-recov.json", NULL, 0, NULL);
    CHECK(h);
    CHECK(!strstr(h, "recoverability not in this audit"));
    CHECK_CONTAINS(h, "<p id=\"recoverability-score\" data-score=\"50\">");
    CHECK_CONTAINS(h, "data-verdict=\"AT_RISK\" data-count=\"1\"");
    CHECK_CONTAINS(h, "data-verdict=\"NOT_BACKED_UP\" data-count=\"0\"");
    CHECK_CONTAINS(h, "data-verdict=\"UNKNOWN\" data-count=\"1\"");
    CHECK_CONTAINS(h, "data-verdict=\"RECOVERABLE\" data-count=\"1\"");
    CHECK_INT(count(h, "<tr class=\"store\""), 3);
    CHECK_CONTAINS(h, "<tr class=\"store\" data-verdict=\"AT_RISK\" data-principals=\"1\">");
    CHECK_CONTAINS(h, "arn:aws:iam::111122223333:user/dev-tanaka");
    CHECK_CONTAINS(h, "<code>rds:ModifyDBInstance</code> + <code>rds:DeleteDBInstance</code>");
    CHECK_CONTAINS(h, "<code>backup:DeleteRecoveryPoint</code>");
    CHECK_CONTAINS(h, "11 \xC3\x97 backup-recovery-point (backup vault kumo-vault) not immutable");
    CHECK_CONTAINS(h, "s3-replica (bucket shop-orders-replica) <strong>immutable</strong>");
    CHECK_CONTAINS(h, "backup get-backup-vault-access-policy dr-vault was denied (AccessDenied)");
    CHECK_CONTAINS(h, "account 444455556666: no iam get-account-authorization-details");
    CHECK_CONTAINS(h, "4 users and roles evaluated, ages as of 2025-03-12T06:00:00Z.");
    CHECK_CONTAINS(h, "newest copy 24.3 h old");
    CHECK_CONTAINS(h, "backup plan DailyBackupPlan (selection production) \xE2\x86\x92 vault kumo-vault; no copy action");
    free(h);
}

TEST(report_escapes_every_input_string) {
    static const char *const lines[] = {NULL};
    char *h = render("audit-evil.json", lines, 0, NULL);
    CHECK(h);
    CHECK_INT(count(h, "<script"), 1); /* the page's own, at the end */
    CHECK(strstr(h, "<script>") > strstr(h, "</footer>"));
    CHECK(!strstr(h, "<script>alert"));
    CHECK(!strstr(h, "<svg onload"));
    CHECK(!strstr(h, "<img"));
    CHECK(!strstr(h, "<iframe"));
    CHECK(!strstr(h, "<b>"));
    CHECK(!strstr(h, "<i>"));
    CHECK(!strstr(h, "onmouseover=\""));
    CHECK(!strstr(h, "onclick=\""));
    CHECK(!strstr(h, "href=\"http"));
    CHECK(!strstr(h, "src=\"http"));
    CHECK(!strstr(h, "@import"));
    CHECK_CONTAINS(h, "&lt;script&gt;alert(1)&lt;/script&gt;");
    CHECK_CONTAINS(h, "arn:aws:s3:::evil&quot;bucket&#39;&lt;script&gt;alert(1)&lt;/script&gt;");
    CHECK_CONTAINS(h, "id id-with-&quot;quotes&quot;-and-&#39;apostrophes&#39;-&lt;script&gt;alert(1)&lt;/script&gt;");
    CHECK_CONTAINS(h, "&lt;/script&gt;&lt;script&gt;alert(2)&lt;/script&gt; nul:\xE2\x90\x80 rlo:[U+202E]gnp.exe");
    CHECK_CONTAINS(h, "Title with &amp;amp; and &lt;i&gt;tags&lt;/i&gt;");
    CHECK_CONTAINS(h, "<title>kumomori report: &lt;b&gt;111122223333&lt;/b&gt;</title>");
    /* a status or verdict outside the known lists is shown, escaped, with a neutral class */
    CHECK_CONTAINS(h, "data-status=\"other\"");
    CHECK_CONTAINS(h, "<span class=\"badge st-other\">EXPOSED&quot;&gt;&lt;img src=x&gt;</span>");
    CHECK_CONTAINS(h, "<tr class=\"store\" data-verdict=\"other\"");
    free(h);
}

static const char *const small_alerts[] = {
    "{\"ruleId\":\"R-HIGH\",\"title\":\"t1\",\"severity\":\"high\",\"scenarios\":[\"S6\"],\"eventTime\":\"2025-03-12T16:01:57Z\"}",
    "{\"ruleId\":\"R-CRIT\",\"severity\":\"critical\",\"scenarios\":[\"S2\",\"S4\"],\"eventTime\":\"2025-03-12T15:38:00Z\"}",
    "{\"ruleId\": \"R-TRUNC\", \"severity\":",
    "   ",
    "{\"ruleId\":\"R-CRIT2\",\"severity\":\"critical\",\"scenarios\":[\"S7\"],\"eventTime\":\"2025-03-12T16:10:00Z\",\"principalArn\":\"<img src=x onerror=alert(1)>\"}",
    "[1, 2]",
    "{\"ruleId\":\"R-MED\",\"severity\":\"medium\",\"scenarios\":[\"S6\"],\"eventTime\":null}",
    "{\"ruleId\":\"R-INFO\",\"severity\":\"info\",\"scenarios\":[\"S1\"],\"eventTime\":\"2025-03-10T04:20:15Z\"}",
    "{\"title\":\"no rule id\"}",
    NULL};

TEST(report_alert_lines_bad_ones_skipped_and_counted) {
    km_report *r = km_report_new(0);
    km_error err;
    static const struct { int rc; const char *msg; } want[] = {
        {0, NULL}, {0, NULL}, {KM_ERR, "a.jsonl:3:34: invalid JSON: unexpected end of input"}, {1, NULL}, {0, NULL},
        {KM_ERR, "a.jsonl:6:1: an alert must be a JSON object, not array; line skipped"}, {0, NULL}, {0, NULL},
        {KM_ERR, "a.jsonl:9:1: an alert needs a string \"ruleId\""}};
    for (size_t i = 0; small_alerts[i]; i++) {
        err.msg[0] = 0;
        int rc = km_report_add_alert_line(r, small_alerts[i], strlen(small_alerts[i]), "a.jsonl", i + 1, &err);
        km_test_case(rc == want[i].rc && (!want[i].msg || strncmp(err.msg, want[i].msg, strlen(want[i].msg)) == 0),
                     "alert line %zu: rc %d, \"%s\"", i + 1, rc, err.msg);
    }
    km_report_free(r);

    km_report_stats st;
    char *h = render("audit-small.json", small_alerts, 0, &st);
    CHECK(h);
    CHECK_INT(st.alerts, 5);
    CHECK_INT(st.alerts_bad, 3);
    CHECK_INT(st.alerts_untimed, 1);
    CHECK_INT(st.alerts_listed, 5);
    CHECK_CONTAINS(h, "<div class=\"note\" id=\"alerts-skipped\" data-count=\"3\">");
    CHECK_CONTAINS(h, "a.jsonl:6:1: an alert must be a JSON object, not array; line skipped");
    CHECK_CONTAINS(h, "<p id=\"alerts-summary\" data-alerts=\"5\" data-skipped=\"3\">");
    /* lanes by hand: S1 R-INFO, S2 and S4 R-CRIT, S6 R-HIGH (R-MED has no time), S7 R-CRIT2 */
    CHECK_CONTAINS(h, "<g class=\"lane\" data-scenario=\"S1\" data-alerts=\"1\">");
    CHECK_CONTAINS(h, "<g class=\"lane\" data-scenario=\"S3\" data-alerts=\"0\">");
    CHECK_CONTAINS(h, "<g class=\"lane\" data-scenario=\"S6\" data-alerts=\"1\">");
    /* 2025-03-10T04:20:15Z to 2025-03-12T16:10:00Z: hour bars, 04:00 on the 10th to 16:00 on the 12th */
    CHECK_CONTAINS(h, "data-buckets=\"61\" data-bucket-seconds=\"3600\"");
    CHECK_INT(count(h, "<rect class=\"bar"), 5);
    CHECK_CONTAINS(h, "<rect class=\"bar sv-critical\" data-count=\"1\"");
    CHECK_CONTAINS(h, "1 alert(s) without a readable eventTime");
    /* the close-up: the 16:00 hour has two of the three critical and high alerts, so 15:00 to
     * 17:59 is shown in minutes: R-CRIT 15:38, R-HIGH 16:01:57, R-CRIT2 16:10 */
    CHECK_CONTAINS(h, "<svg id=\"timeline-zoom\"");
    CHECK_CONTAINS(h, "data-buckets=\"33\" data-bucket-seconds=\"60\"");
    CHECK_CONTAINS(h, "from 2025-03-12T15:38:00Z to 2025-03-12T16:11:00Z (UTC), one bar per 1 minute: 3 alert(s).");
    CHECK_CONTAINS(h, "<g class=\"zlane\" data-scenario=\"S1\" data-alerts=\"0\">");
    CHECK_CONTAINS(h, "<g class=\"zlane\" data-scenario=\"S6\" data-alerts=\"1\">");
    CHECK_INT(count(h, "<rect class=\"zbar"), 4);
    /* the table in time order, the alert without a time last */
    const char *a = strstr(h, "<code>R-INFO</code>"), *b = strstr(h, "<code>R-CRIT</code>"),
               *c = strstr(h, "<code>R-HIGH</code>"), *d = strstr(h, "<code>R-CRIT2</code>"),
               *e = strstr(h, "<code>R-MED</code>");
    CHECK(a && b && c && d && e && a < b && b < c && c < d && d < e);
    CHECK_CONTAINS(h, "&lt;img src=x onerror=alert(1)&gt;");
    CHECK(!strstr(h, "<img"));
    free(h);
}

TEST(report_alert_table_keeps_the_most_severe_when_capped) {
    km_report_stats st;
    char *h = render("audit-small.json", small_alerts, 2, &st);
    CHECK(h);
    CHECK_INT(st.alerts, 5);
    CHECK_INT(st.alerts_listed, 2);
    CHECK_CONTAINS(h, "The table lists the 2 most severe of the 5 alerts");
    CHECK_INT(count(h, "<tr class=\"alert\""), 2);
    CHECK_CONTAINS(h, "<code>R-CRIT</code>");
    CHECK_CONTAINS(h, "<code>R-CRIT2</code>");
    CHECK(!strstr(h, "<code>R-HIGH</code>"));
    /* the timeline still counts every timed alert */
    CHECK_INT(count(h, "<rect class=\"bar"), 5);
    free(h);
}

TEST(report_read_alerts_skips_a_line_over_16_mib) {
    char path[] = "/tmp/km-report-long-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    FILE *f = fdopen(fd, "w");
    CHECK(f);
    fputs("{\"ruleId\":\"", f);
    for (int i = 0; i < 17 * 1024; i++) {
        static char kib[1024];
        memset(kib, 'x', sizeof kib);
        fwrite(kib, 1, sizeof kib, f);
    }
    fputs("\"}\n{\"ruleId\":\"OK\",\"severity\":\"low\"}\n", f);
    fclose(f);
    km_report *r = km_report_new(0);
    km_error err;
    char *msgs = NULL;
    size_t msgs_len = 0;
    FILE *errf = open_memstream(&msgs, &msgs_len);
    CHECK(errf);
    int rc = km_report_read_alerts(r, path, errf, &err);
    fclose(errf);
    km_report_stats st;
    km_report_get_stats(r, &st);
    km_report_free(r);
    unlink(path);
    CHECK_INT(rc, 0);
    CHECK_INT(st.alerts, 1);
    CHECK_INT(st.alerts_bad, 1);
    CHECK_CONTAINS(msgs, ":1:1: line longer than 16 MiB; line skipped");
    CHECK_INT(strstr(msgs, "\n") - msgs + 1, (long long)msgs_len); /* one message */
    free(msgs);
}

TEST(report_read_alerts_file_lines_crlf_and_no_final_newline) {
    char path[] = "/tmp/km-report-alerts-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    const char *text = "{\"ruleId\":\"A\",\"severity\":\"low\",\"scenarios\":[\"S3\"],\"eventTime\":\"2025-01-01T00:00:00Z\"}\r\n"
                       "\r\n"
                       "not json\n"
                       "{\"ruleId\":\"B\",\"severity\":\"high\",\"scenarios\":[\"S3\"],\"eventTime\":\"2025-01-01T00:30:00Z\"}";
    CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
    km_report *r = km_report_new(0);
    km_error err;
    int rc = km_report_read_alerts(r, path, NULL, &err);
    km_report_stats st;
    km_report_get_stats(r, &st);
    unlink(path);
    km_report_free(r);
    CHECK_INT(rc, 0);
    CHECK_INT(st.alerts, 2);
    CHECK_INT(st.alerts_bad, 1);
    r = km_report_new(0);
    CHECK(km_report_read_alerts(r, "/nonexistent/alerts.jsonl", NULL, &err) != 0);
    CHECK_CONTAINS(err.msg, "/nonexistent/alerts.jsonl: cannot open");
    km_report_free(r);
}

TEST(report_page_is_self_contained) {
    char *h = render("audit-recov.json", small_alerts, 0, NULL);
    CHECK(h);
    CHECK(!strstr(h, "http://"));
    CHECK(!strstr(h, "https://"));
    CHECK(!strstr(h, "@import"));
    CHECK(!strstr(h, "url("));
    CHECK(!strstr(h, "<link"));
    CHECK(!strstr(h, "src=\""));
    CHECK(!strstr(h, "<img"));
    CHECK_CONTAINS(h, "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'sha256-");
    CHECK_INT(count(h, "<style>"), 1);
    CHECK_INT(count(h, "<script>"), 1);
    CHECK_CONTAINS(h, "@media print");
    CHECK_CONTAINS(h, "tr[hidden]{display:table-row!important}");
    free(h);
}

/* Bar widths: the smallest of 1 min, 5 min, ... 30 days, 1 year giving at most 96 bars (counts
 * worked out separately from the epoch seconds of the two times). */
TEST(report_timeline_bucket_size_follows_the_span) {
    static const char *const minutes[] = {
        "{\"ruleId\":\"A\",\"severity\":\"low\",\"scenarios\":[\"S3\"],\"eventTime\":\"2025-01-01T00:00:00Z\"}",
        "{\"ruleId\":\"B\",\"severity\":\"high\",\"scenarios\":[\"S3\"],\"eventTime\":\"2025-01-01T00:10:00Z\"}", NULL};
    char *h = render("audit-small.json", minutes, 0, NULL);
    CHECK(h);
    CHECK_CONTAINS(h, "data-buckets=\"11\" data-bucket-seconds=\"60\"");
    CHECK_CONTAINS(h, "one bar per 1 minute;");
    CHECK_CONTAINS(h, ">01-01 00:00</text>");
    CHECK_CONTAINS(h, "<g class=\"lane\" data-scenario=\"S3\" data-alerts=\"2\">");
    free(h);
    static const char *const years[] = {
        "{\"ruleId\":\"A\",\"severity\":\"low\",\"scenarios\":[\"S3\",\"S3\"],\"eventTime\":\"2020-01-01T00:00:00Z\"}",
        "{\"ruleId\":\"B\",\"severity\":\"high\",\"scenarios\":[\"S3\"],\"eventTime\":\"2025-01-01T00:00:00Z\"}", NULL};
    h = render("audit-small.json", years, 0, NULL);
    CHECK(h);
    CHECK_CONTAINS(h, "data-buckets=\"62\" data-bucket-seconds=\"2592000\"");
    CHECK_CONTAINS(h, "one bar per 30 days;");
    CHECK_CONTAINS(h, "<g class=\"lane\" data-scenario=\"S3\" data-alerts=\"2\">");
    free(h);
}
