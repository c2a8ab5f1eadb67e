/* SARIF 2.1.0 for audit results (GitHub code scanning and other SARIF viewers): one run, the
 * check table as rules[], FAIL findings as results of kind "fail" and UNKNOWN ones as
 * "review" notes; suppressed findings carry an external suppression with its reason. The
 * resource is a logical location (its ARN); the snapshot file that shows it is the physical
 * one. */
#include "out/audit_out.h"
#include "out/audit_common.h"
#include "audit/util.h"
#include "kumomori/kumomori.h"

static const char *level_of(km_severity s) {
    return s >= KM_SEV_HIGH ? "error" : s == KM_SEV_MEDIUM ? "warning" : "note";
}

static const char *security_severity(km_severity s) {
    static const char *const v[] = {"1.0", "3.0", "5.5", "8.0", "9.5"};
    return (unsigned)s < 5 ? v[s] : "5.0";
}

int km_audit_write_sarif(FILE *out, const km_audit_report *r) {
    km_buf b = KM_BUF_INIT;
    const km_audit *a = r->audit;
    const km_checkset *cs = km_audit_checks(a);
    km_buf_puts(&b, "{\"$schema\":\"https://json.schemastore.org/sarif-2.1.0.json\",\"version\":\"2.1.0\",\"runs\":[{\"tool\":{\"driver\":{"
                    "\"name\":\"kumomori\",\"version\":\"" KUMOMORI_VERSION "\",\"semanticVersion\":\"" KUMOMORI_VERSION "\","
                    "\"informationUri\":\"https://github.com/kumomori/kumomori\",\"rules\":[");
    for (size_t i = 0; i < cs->n; i++) {
        const km_check *c = &cs->v[i];
        km_buf_printf(&b, "%s{", i ? "," : "");
        km_akv(&b, "id", c->id, 0);
        km_buf_puts(&b, ",\"name\":");
        /* SARIF rule names are identifiers: the id in PascalCase-free form */
        km_ajs(&b, c->id);
        km_buf_puts(&b, ",\"shortDescription\":{");
        km_akv(&b, "text", c->title, 0);
        km_buf_puts(&b, "},\"fullDescription\":{");
        km_akv(&b, "text", c->rationale, 0);
        km_buf_puts(&b, "},\"help\":{");
        km_buf_puts(&b, "\"text\":");
        char help[3000];
        snprintf(help, sizeof help, "%s\n%s", c->remediation, c->remediation_cli);
        km_ajs(&b, help);
        km_buf_printf(&b, "},\"defaultConfiguration\":{\"level\":\"%s\"},\"properties\":{\"security-severity\":\"%s\",\"tags\":[",
                      level_of(c->severity), security_severity(c->severity));
        int first = 1;
        for (int s = 0; s < KM_NSCENARIOS; s++)
            if (c->scenarios & (1u << s)) {
                km_buf_printf(&b, "%s\"S%d\"", first ? "" : ",", s + 1);
                first = 0;
            }
        km_buf_puts(&b, ",\"security\"],\"severity\":");
        km_ajs(&b, km_severity_name(c->severity));
        km_buf_puts(&b, ",\"references\":");
        km_json_write(&b, c->refs);
        km_buf_puts(&b, "}}");
    }
    km_buf_puts(&b, "]}},\"results\":[");
    int first = 1;
    for (size_t i = 0; i < km_audit_nfindings(a); i++) {
        const km_finding *f = km_audit_finding(a, i);
        if (f->status != KM_FAIL && f->status != KM_UNKNOWN) continue;
        if (!km_audit_report_wants(r, f)) continue;
        const km_check *c = f->check;
        km_buf_printf(&b, "%s{", first ? "" : ",");
        first = 0;
        km_akv(&b, "ruleId", c->id, 0);
        km_buf_printf(&b, ",\"ruleIndex\":%zu", (size_t)(c - cs->v));
        km_buf_printf(&b, ",\"kind\":\"%s\",\"level\":\"%s\"", f->status == KM_FAIL ? "fail" : "review",
                      f->status == KM_FAIL ? level_of(c->severity) : "note");
        char msg[3000];
        snprintf(msg, sizeof msg, "%s %s (%s, %s): %s", f->res_type, f->res_name ? f->res_name : f->res_id, f->account, f->region,
                 f->message);
        km_buf_puts(&b, ",\"message\":{");
        km_akv(&b, "text", msg, 0);
        km_buf_puts(&b, "},\"locations\":[{");
        if (f->nfiles) {
            km_buf_puts(&b, "\"physicalLocation\":{\"artifactLocation\":{");
            km_akv(&b, "uri", f->files[0], 0);
            km_buf_puts(&b, "}},");
        }
        km_buf_puts(&b, "\"logicalLocations\":[{");
        km_akv(&b, "fullyQualifiedName", f->res_arn ? f->res_arn : f->res_id, 0);
        km_akv(&b, "name", f->res_name ? f->res_name : f->res_id, 1);
        km_akv(&b, "kind", "resource", 1);
        km_buf_puts(&b, "}]}]");
        char fp[32];
        km_afingerprint(c->id, f->account, f->region, f->res_arn ? f->res_arn : f->res_id, fp, sizeof fp);
        km_buf_puts(&b, ",\"partialFingerprints\":{");
        km_akv(&b, "kumomori/v1", fp, 0);
        km_buf_puts(&b, "}");
        if (f->suppressed) {
            km_buf_puts(&b, ",\"suppressions\":[{\"kind\":\"external\",\"status\":\"accepted\",");
            km_akv(&b, "justification", f->suppressed, 0);
            km_buf_puts(&b, "}]");
        }
        km_buf_puts(&b, ",\"properties\":{");
        km_akv(&b, "status", km_status_name(f->status), 0);
        km_akv(&b, "account", f->account, 1);
        km_akv(&b, "region", f->region, 1);
        km_akv(&b, "resourceType", f->res_type, 1);
        km_buf_puts(&b, "}}");
        if (b.len > (1u << 20) && km_aflush(&b, out)) { km_buf_free(&b); return -1; }
    }
    char t[32];
    km_format_time(r->generated_at, t, sizeof t);
    km_buf_puts(&b, "],\"invocations\":[{\"executionSuccessful\":true,");
    km_akv(&b, "endTimeUtc", t, 0);
    if (r->nproblems) {
        km_buf_puts(&b, ",\"toolExecutionNotifications\":[");
        for (size_t i = 0; i < r->nproblems && i < 1000; i++) {
            km_buf_printf(&b, "%s{\"level\":\"warning\",\"message\":{", i ? "," : "");
            km_akv(&b, "text", r->problems[i], 0);
            km_buf_puts(&b, "}}");
        }
        km_buf_putc(&b, ']');
    }
    km_buf_puts(&b, "}]}]}\n");
    int rc = km_aflush(&b, out);
    km_buf_free(&b);
    return rc;
}
