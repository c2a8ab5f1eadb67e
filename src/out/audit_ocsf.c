/* OCSF 1.1.0 Compliance Finding (class_uid 2003): a JSON array of events, one per finding,
 * as Amazon Security Lake custom sources and OCSF tools take them. compliance.status_id:
 * 1 Pass, 3 Fail, 0 Unknown (an UNKNOWN audit result). */
#include "out/audit_out.h"
#include "out/audit_common.h"
#include "audit/util.h"
#include "kumomori/kumomori.h"

int km_audit_write_ocsf(FILE *out, const km_audit_report *r) {
    km_buf b = KM_BUF_INIT;
    const km_audit *a = r->audit;
    long long ms = (long long)r->generated_at * 1000;
    km_buf_putc(&b, '[');
    int first = 1;
    for (size_t i = 0; i < km_audit_nfindings(a); i++) {
        const km_finding *f = km_audit_finding(a, i);
        if (f->status == KM_NA || !km_audit_report_wants(r, f)) continue;
        const km_check *c = f->check;
        static const char *const sevn[] = {"Informational", "Low", "Medium", "High", "Critical"};
        int status_id = f->status == KM_PASS ? 1 : f->status == KM_FAIL ? 3 : 0;
        const char *status = f->status == KM_PASS ? "Pass" : f->status == KM_FAIL ? "Fail" : "Unknown";
        char fp[32], uid[300];
        km_afingerprint(c->id, f->account, f->region, f->res_arn ? f->res_arn : f->res_id, fp, sizeof fp);
        snprintf(uid, sizeof uid, "kumomori-%s-%s-%s", c->id, f->account, fp);
        km_buf_printf(&b, "%s{\"activity_id\":1,\"activity_name\":\"Create\",\"category_uid\":2,\"category_name\":\"Findings\","
                          "\"class_uid\":2003,\"class_name\":\"Compliance Finding\",\"type_uid\":200301,\"type_name\":\"Compliance Finding: Create\","
                          "\"severity_id\":%d,\"severity\":\"%s\",\"time\":%lld,\"status_id\":%d,\"status\":\"%s\"",
                      first ? "" : ",", (int)c->severity + 1, sevn[c->severity], ms, f->suppressed ? 3 : 1,
                      f->suppressed ? "Suppressed" : "New");
        first = 0;
        km_akv(&b, "message", f->message, 1);
        km_buf_puts(&b, ",\"finding_info\":{");
        km_akv(&b, "uid", uid, 0);
        km_akv(&b, "title", c->title, 1);
        km_akv(&b, "desc", c->rationale, 1);
        km_buf_printf(&b, ",\"created_time\":%lld,\"types\":[\"Posture audit\"]}", ms);
        km_buf_puts(&b, ",\"metadata\":{\"version\":\"1.1.0\",\"profiles\":[\"cloud\"],\"product\":{\"name\":\"kumomori\",\"vendor_name\":\"kumomori\",\"version\":\"" KUMOMORI_VERSION "\"}");
        km_akv(&b, "event_code", c->id, 1);
        km_buf_puts(&b, "},\"compliance\":{\"standards\":[\"kumomori AWS ransomware defence strategy\"],\"requirements\":[");
        km_ajs(&b, c->id);
        km_buf_puts(&b, "]");
        km_akv(&b, "control", c->id, 1);
        km_buf_printf(&b, ",\"status_id\":%d,\"status\":\"%s\"", status_id, status);
        km_akv(&b, "status_detail", f->message, 1);
        km_buf_puts(&b, "},\"cloud\":{\"provider\":\"AWS\"");
        if (strcmp(f->region, "global")) km_akv(&b, "region", f->region, 1);
        km_buf_puts(&b, ",\"account\":{");
        km_akv(&b, "uid", f->account, 0);
        km_buf_puts(&b, ",\"type\":\"AWS Account\",\"type_id\":10}}");
        km_buf_puts(&b, ",\"resources\":[{");
        km_akv(&b, "uid", f->res_arn ? f->res_arn : f->res_id, 0);
        km_akv(&b, "name", f->res_name ? f->res_name : f->res_id, 1);
        km_akv(&b, "type", f->res_type, 1);
        if (strcmp(f->region, "global")) km_akv(&b, "region", f->region, 1);
        km_akv(&b, "cloud_partition", "aws", 1);
        km_buf_puts(&b, "}],\"remediation\":{");
        km_akv(&b, "desc", c->remediation, 0);
        km_buf_puts(&b, "},\"unmapped\":{\"scenarios\":[");
        int fs = 1;
        for (int s = 0; s < KM_NSCENARIOS; s++)
            if (c->scenarios & (1u << s)) {
                km_buf_printf(&b, "%s\"S%d\"", fs ? "" : ",", s + 1);
                fs = 0;
            }
        km_buf_puts(&b, "]");
        km_akv(&b, "remediation_cli", c->remediation_cli, 1);
        km_buf_puts(&b, ",\"references\":");
        km_json_write(&b, c->refs);
        km_buf_puts(&b, ",\"evidence_files\":[");
        for (size_t k = 0; k < f->nfiles; k++) {
            if (k) km_buf_putc(&b, ',');
            km_ajs(&b, f->files[k]);
        }
        km_buf_puts(&b, "]");
        if (f->suppressed) km_akv(&b, "suppression_reason", f->suppressed, 1);
        km_buf_puts(&b, "}}");
        if (b.len > (1u << 20) && km_aflush(&b, out)) { km_buf_free(&b); return -1; }
    }
    km_buf_puts(&b, "]\n");
    int rc = km_aflush(&b, out);
    km_buf_free(&b);
    return rc;
}
