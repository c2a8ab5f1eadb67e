/* kumomori's own JSON document for an audit: tool, accounts, scenario roll-up, fixes, findings
 * and input problems. This is the stable, primary machine format; the report command reads it. */
#include "out/audit_out.h"
#include "recov/recov.h"
#include "audit/util.h"
#include "kumomori/buf.h"
#include "kumomori/kumomori.h"

#include <string.h>

int km_audit_report_wants(const km_audit_report *r, const km_finding *f) {
    if (!(r->status_mask & (1u << f->status))) return 0;
    return (f->check->scenarios & r->scenario_mask) != 0;
}

static void s(km_buf *b, const char *v) {
    if (v) km_buf_json_str(b, v, strlen(v));
    else km_buf_puts(b, "null");
}

static void kv(km_buf *b, const char *k, const char *v, int comma) {
    if (comma) km_buf_putc(b, ',');
    s(b, k);
    km_buf_putc(b, ':');
    s(b, v);
}

static int flush(km_buf *b, FILE *f) {
    if (b->failed) return -1;
    if (b->len && fwrite(b->data, 1, b->len, f) != b->len) return -1;
    km_buf_reset(b);
    return 0;
}

static void scenarios(km_buf *b, unsigned mask) {
    km_buf_putc(b, '[');
    int first = 1;
    for (int i = 0; i < KM_NSCENARIOS; i++)
        if (mask & (1u << i)) {
            km_buf_printf(b, "%s\"S%d\"", first ? "" : ",", i + 1);
            first = 0;
        }
    km_buf_putc(b, ']');
}

static void fix(km_buf *b, const km_fix *x) {
    km_buf_putc(b, '{');
    kv(b, "check_id", x->check->id, 0);
    kv(b, "title", x->check->title, 1);
    kv(b, "severity", km_severity_name(x->check->severity), 1);
    km_buf_printf(b, ",\"closes\":%zu", x->closes);
    kv(b, "remediation", x->check->remediation, 1);
    kv(b, "cli", x->check->remediation_cli, 1);
    km_buf_putc(b, '}');
}

int km_audit_write_json(FILE *out, const km_audit_report *r) {
    km_buf b = KM_BUF_INIT;
    const km_audit *a = r->audit;
    km_snap *snap = km_audit_snap(a);
    char t[32];
    km_buf_puts(&b, "{\"tool\":{\"name\":\"kumomori\",\"version\":\"" KUMOMORI_VERSION "\"}");
    km_format_time(r->generated_at, t, sizeof t);
    kv(&b, "generated_at", t, 1);
    km_format_time(km_audit_now(a), t, sizeof t);
    kv(&b, "evaluated_at", t, 1);
    km_buf_puts(&b, ",\"inputs\":[");
    for (size_t i = 0; i < r->ninputs; i++) {
        if (i) km_buf_putc(&b, ',');
        s(&b, r->inputs[i]);
    }
    km_buf_puts(&b, "],\"accounts\":[");
    for (size_t i = 0; i < km_snap_naccounts(snap); i++) {
        const char *acct = km_snap_account(snap, i);
        km_buf_printf(&b, "%s{", i ? "," : "");
        kv(&b, "id", acct, 0);
        kv(&b, "source", km_snap_has_collect(snap, acct) ? "collect" : "aws-config", 1);
        km_buf_puts(&b, ",\"regions\":[");
        for (size_t k = 0; k < km_snap_nregions(snap, acct); k++) {
            if (k) km_buf_putc(&b, ',');
            s(&b, km_snap_region(snap, acct, k));
        }
        km_buf_puts(&b, "]}");
    }
    const km_rollup *ru = r->rollup;
    km_buf_printf(&b, "],\"summary\":{\"pass\":%zu,\"fail\":%zu,\"unknown\":%zu,\"not_applicable\":%zu,\"suppressed\":%zu,\"checks\":%zu}",
                  ru->pass, ru->fail, ru->unknown, ru->na, ru->suppressed, km_audit_checks(a)->n);
    km_buf_puts(&b, ",\"scenarios\":[");
    int firsts = 1;
    for (int i = 0; i < KM_NSCENARIOS; i++) {
        if (!(r->scenario_mask & (1u << i))) continue;
        const km_scenario_summary *ss = &ru->s[i];
        km_buf_printf(&b, "%s{", firsts ? "" : ",");
        firsts = 0;
        kv(&b, "id", ss->id, 0);
        kv(&b, "title", ss->title, 1);
        kv(&b, "status", ss->status, 1);
        km_buf_printf(&b, ",\"score\":%d,\"pass\":%zu,\"fail\":%zu,\"unknown\":%zu,\"not_applicable\":%zu,\"suppressed\":%zu,\"fixes\":[",
                      ss->score, ss->pass, ss->fail, ss->unknown, ss->na, ss->suppressed);
        for (size_t k = 0; k < ss->nfixes; k++) {
            if (k) km_buf_putc(&b, ',');
            fix(&b, &ss->fixes[k]);
        }
        km_buf_puts(&b, "]}");
    }
    km_buf_puts(&b, "],\"fixes\":[");
    for (size_t k = 0; k < ru->nfixes; k++) {
        if (k) km_buf_putc(&b, ',');
        fix(&b, &ru->fixes[k]);
    }
    km_buf_puts(&b, "],\"findings\":[");
    int first = 1;
    for (size_t i = 0; i < km_audit_nfindings(a); i++) {
        const km_finding *f = km_audit_finding(a, i);
        if (!km_audit_report_wants(r, f)) continue;
        const km_check *c = f->check;
        km_buf_printf(&b, "%s{", first ? "" : ",");
        first = 0;
        kv(&b, "check_id", c->id, 0);
        kv(&b, "title", c->title, 1);
        km_buf_puts(&b, ",\"scenarios\":");
        scenarios(&b, c->scenarios);
        kv(&b, "severity", km_severity_name(c->severity), 1);
        kv(&b, "status", km_status_name(f->status), 1);
        km_buf_puts(&b, ",\"resource\":{");
        kv(&b, "arn", f->res_arn, 0);
        kv(&b, "type", f->res_type, 1);
        kv(&b, "id", f->res_id, 1);
        kv(&b, "name", f->res_name, 1);
        kv(&b, "region", f->region, 1);
        kv(&b, "account", f->account, 1);
        km_buf_puts(&b, "},\"evidence\":{");
        kv(&b, "message", f->message, 0);
        km_buf_puts(&b, ",\"files\":[");
        for (size_t k = 0; k < f->nfiles; k++) {
            if (k) km_buf_putc(&b, ',');
            s(&b, f->files[k]);
        }
        km_buf_puts(&b, "]},\"remediation\":{");
        kv(&b, "text", c->remediation, 0);
        kv(&b, "cli", c->remediation_cli, 1);
        km_buf_puts(&b, "},\"references\":");
        km_json_write(&b, c->refs);
        if (f->suppressed) {
            km_buf_puts(&b, ",\"suppressed\":{");
            kv(&b, "reason", f->suppressed, 0);
            kv(&b, "expires", f->suppress_expires, 1);
            km_buf_putc(&b, '}');
        } else {
            km_buf_puts(&b, ",\"suppressed\":null");
        }
        km_buf_putc(&b, '}');
        if (b.len > (1u << 20) && flush(&b, out)) { km_buf_free(&b); return -1; }
    }
    km_buf_puts(&b, "]");
    if (r->recov) {
        km_buf_puts(&b, ",\"recoverability\":");
        km_recov_json(r->recov, &b);
    }
    km_buf_puts(&b, ",\"problems\":[");
    for (size_t i = 0; i < r->nproblems; i++) {
        if (i) km_buf_putc(&b, ',');
        s(&b, r->problems[i]);
    }
    km_buf_puts(&b, "]}\n");
    int rc = flush(&b, out);
    km_buf_free(&b);
    return rc;
}
