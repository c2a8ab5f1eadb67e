/* kumomori report, reading side: the audit document (checked, so the page never shows half a
 * misread file) and the alerts (JSON lines, each line on its own: a bad one is skipped and
 * counted, the rest is used). */
#include "report/internal.h"
#include "audit/util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const rp_sev_names[5] = {"info", "low", "medium", "high", "critical"};

int rp_severity(const char *s) {
    if (!s) return -1;
    for (int i = 0; i < 5; i++)
        if (strcmp(s, rp_sev_names[i]) == 0) return i;
    return -1;
}

km_report *km_report_new(size_t max_alert_rows) {
    km_report *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->max_rows = max_alert_rows ? max_alert_rows : 5000;
    return r;
}

static void alert_free(rp_alert *a) {
    if (!a) return;
    char **f[] = {&a->rule, &a->title, &a->time, &a->event, &a->source, &a->principal, &a->ip,
                  &a->region, &a->account, &a->resource, &a->error, &a->detail, &a->scen_other};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) free(*f[i]);
    free(a);
}

void km_report_free(km_report *r) {
    if (!r) return;
    km_json_doc_free(r->audit);
    free(r->audit_name);
    free(r->alerts_name);
    free(r->points);
    for (size_t i = 0; i < r->nrows; i++) alert_free(r->rows[i]);
    free(r->rows);
    for (size_t i = 0; i < r->nbad_msgs; i++) free(r->bad_msgs[i]);
    free(r);
}

void km_report_get_stats(const km_report *r, km_report_stats *st) {
    memset(st, 0, sizeof *st);
    if (!r) return;
    const km_json *f = r->audit ? km_json_get(km_json_root(r->audit), "findings") : NULL;
    st->findings = km_json_len(f);
    st->alerts = r->alerts;
    st->alerts_bad = r->bad;
    st->alerts_untimed = r->untimed;
    st->alerts_listed = r->listed;
}

/* The reason part of a JSON parser message ("invalid JSON at byte N (line L, column C): reason"),
 * since the report puts its own file:line:column in front. */
static const char *parse_reason(const km_error *e) {
    const char *p = strstr(e->msg, "): ");
    return strncmp(e->msg, "invalid JSON at byte", 20) == 0 && p ? p + 3 : e->msg;
}

/* ---- the audit document ---- */

typedef struct audit_ctx {
    const char *text;
    size_t len;
    const char *name;
    km_error *err;
} audit_ctx;

static int audit_bad(audit_ctx *c, const km_json *v, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int audit_bad(audit_ctx *c, const km_json *v, const char *fmt, ...) {
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t off = v ? v->offset : 0, line = 1, col = 1;
    km_json_line_col(c->text, c->len, off, &line, &col);
    return km_error_set(c->err, KM_ERR, off, "%s:%zu:%zu (byte %zu): %s", c->name, line, col, off, msg);
}

static int is_scenario_id(const char *s) {
    return s && s[0] == 'S' && s[1] >= '1' && s[1] <= '7' && s[2] == 0;
}

/* A member that must be a string from a fixed list when present (required: must be present). */
static int want_enum(audit_ctx *c, const km_json *obj, const char *key, const char *const *allowed,
                     size_t n, int required, const char *what) {
    const km_json *v = km_json_get(obj, key);
    if (!v) return required ? audit_bad(c, obj, "%s has no \"%s\"", what, key) : 0;
    const char *s = km_json_str(v);
    if (s)
        for (size_t i = 0; i < n; i++)
            if (strcmp(s, allowed[i]) == 0) return 0;
    km_buf list = KM_BUF_INIT;
    for (size_t i = 0; i < n; i++) km_buf_printf(&list, "%s%s", i ? ", " : "", allowed[i]);
    int rc = audit_bad(c, v, "%s: \"%s\" must be one of %s", what, key, list.data ? list.data : "");
    km_buf_free(&list);
    return rc;
}

static int want_type(audit_ctx *c, const km_json *obj, const char *key, km_json_type t, int required,
                     const char *what) {
    const km_json *v = km_json_get(obj, key);
    if (!v) return required ? audit_bad(c, obj, "%s has no \"%s\"", what, key) : 0;
    if (v->type == t || (v->type == KM_JSON_NULL && !required)) return 0;
    return audit_bad(c, v, "%s: \"%s\" must be %s %s, not %s", what, key,
                     t == KM_JSON_ARRAY || t == KM_JSON_OBJECT ? "an" : "a", km_json_type_name(t),
                     km_json_type_name(v->type));
}

static const char *const status_names[] = {"PASS", "FAIL", "UNKNOWN", "NOT_APPLICABLE"};

static int check_finding(audit_ctx *c, const km_json *f, size_t i) {
    char what[64];
    snprintf(what, sizeof what, "findings[%zu]", i);
    if (f->type != KM_JSON_OBJECT) return audit_bad(c, f, "%s must be an object", what);
    if (want_type(c, f, "check_id", KM_JSON_STRING, 1, what)) return KM_ERR;
    if (want_enum(c, f, "status", status_names, 4, 1, what)) return KM_ERR;
    if (want_enum(c, f, "severity", rp_sev_names, 5, 1, what)) return KM_ERR;
    if (want_type(c, f, "scenarios", KM_JSON_ARRAY, 1, what)) return KM_ERR;
    const km_json *sc = km_json_get(f, "scenarios");
    for (size_t j = 0; j < km_json_len(sc); j++)
        if (!is_scenario_id(km_json_str(km_json_at(sc, j))))
            return audit_bad(c, km_json_at(sc, j), "%s: scenarios must hold S1 to S7", what);
    if (want_type(c, f, "title", KM_JSON_STRING, 0, what) ||
        want_type(c, f, "resource", KM_JSON_OBJECT, 0, what) ||
        want_type(c, f, "evidence", KM_JSON_OBJECT, 0, what) ||
        want_type(c, f, "remediation", KM_JSON_OBJECT, 0, what) ||
        want_type(c, f, "suppressed", KM_JSON_OBJECT, 0, what))
        return KM_ERR;
    return 0;
}

static int check_scenario(audit_ctx *c, const km_json *s, size_t i) {
    char what[64];
    snprintf(what, sizeof what, "scenarios[%zu]", i);
    if (s->type != KM_JSON_OBJECT) return audit_bad(c, s, "%s must be an object", what);
    const km_json *id = km_json_get(s, "id");
    if (!id) return audit_bad(c, s, "%s has no \"id\"", what);
    if (!is_scenario_id(km_json_str(id))) return audit_bad(c, id, "%s: \"id\" must be one of S1 to S7", what);
    static const char *const counts[] = {"pass", "fail", "unknown", "not_applicable", "score"};
    for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++) {
        const km_json *n = km_json_get(s, counts[k]);
        if (n && n->type != KM_JSON_NULL && (n->type != KM_JSON_NUMBER || n->u.num.d < 0 || n->u.num.d > 1e12))
            return audit_bad(c, n, "%s: \"%s\" must be a non-negative number", what, counts[k]);
    }
    return want_type(c, s, "status", KM_JSON_STRING, 0, what) || want_type(c, s, "title", KM_JSON_STRING, 0, what)
               ? KM_ERR : 0;
}

int km_report_set_audit(km_report *r, const char *text, size_t len, const char *name, km_error *err) {
    audit_ctx c = {text, len, name, err};
    km_error perr;
    km_json_doc *doc = km_json_parse(text, len, NULL, NULL, &perr);
    if (!doc) {
        size_t off = perr.offset == (size_t)-1 ? 0 : perr.offset, line = 1, col = 1;
        km_json_line_col(text, len, off, &line, &col);
        return km_error_set(err, KM_ERR, off, "%s:%zu:%zu (byte %zu): invalid JSON: %s", name, line, col, off,
                            parse_reason(&perr));
    }
    const km_json *root = km_json_root(doc);
    int rc = 0;
    if (root->type != KM_JSON_OBJECT) {
        rc = audit_bad(&c, root, "expected a JSON object (the output of kumomori audit --format json), not %s",
                       km_json_type_name(root->type));
    } else if (!km_json_get(root, "findings") && !km_json_get(root, "scenarios")) {
        rc = audit_bad(&c, root, "no \"findings\" or \"scenarios\": not the output of kumomori audit --format json");
    } else if (want_type(&c, root, "findings", KM_JSON_ARRAY, 1, "the audit") ||
               want_type(&c, root, "scenarios", KM_JSON_ARRAY, 1, "the audit") ||
               want_type(&c, root, "accounts", KM_JSON_ARRAY, 0, "the audit") ||
               want_type(&c, root, "tool", KM_JSON_OBJECT, 0, "the audit") ||
               want_type(&c, root, "summary", KM_JSON_OBJECT, 0, "the audit") ||
               want_type(&c, root, "problems", KM_JSON_ARRAY, 0, "the audit") ||
               want_type(&c, root, "generated_at", KM_JSON_STRING, 0, "the audit") ||
               want_type(&c, root, "recoverability", KM_JSON_OBJECT, 0, "the audit")) {
        rc = KM_ERR;
    } else {
        const km_json *fs = km_json_get(root, "findings");
        for (size_t i = 0; rc == 0 && i < km_json_len(fs); i++) rc = check_finding(&c, km_json_at(fs, i), i);
        const km_json *ss = km_json_get(root, "scenarios");
        for (size_t i = 0; rc == 0 && i < km_json_len(ss); i++) rc = check_scenario(&c, km_json_at(ss, i), i);
    }
    if (rc) {
        km_json_doc_free(doc);
        return KM_ERR;
    }
    char *nm = strdup(name);
    if (!nm) {
        km_json_doc_free(doc);
        return km_error_set(err, KM_ENOMEM, (size_t)-1, "%s: out of memory", name);
    }
    km_json_doc_free(r->audit);
    free(r->audit_name);
    r->audit = doc;
    r->audit_name = nm;
    return 0;
}

/* ---- alerts ---- */

#define RP_FIELD_MAX 2048 /* longest field kept for the table, in bytes */

static char *dup_field(const km_json *obj, const char *key) {
    const km_json *v = km_json_get(obj, key);
    const char *s = km_json_str(v);
    if (!s) return NULL;
    size_t n = v->u.str.len;
    if (n > RP_FIELD_MAX) {
        n = RP_FIELD_MAX;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--; /* whole UTF-8 characters */
    }
    /* NUL characters become U+2400 so the copy can be a C string */
    char *d = malloc(3 * n + 1), *o = d;
    if (!d) return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i]) *o++ = s[i];
        else { memcpy(o, "\xE2\x90\x80", 3); o += 3; }
    }
    *o = 0;
    return d;
}

/* Orders rows by importance: -1 when a matters less than b (lower severity, then later, then
 * read later), so the heap's top is the first row to give up. */
static int row_cmp(const rp_alert *a, const rp_alert *b) {
    if (a->sev != b->sev) return a->sev < b->sev ? -1 : 1;
    int64_t ta = a->t == RP_UNTIMED ? INT64_MAX : a->t, tb = b->t == RP_UNTIMED ? INT64_MAX : b->t;
    if (ta != tb) return ta > tb ? -1 : 1;
    if (a->seq != b->seq) return a->seq > b->seq ? -1 : 1;
    return 0;
}

static void heap_down(rp_alert **h, size_t n, size_t i) {
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < n && row_cmp(h[l], h[m]) < 0) m = l;
        if (l + 1 < n && row_cmp(h[l + 1], h[m]) < 0) m = l + 1;
        if (m == i) return;
        rp_alert *t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

static void heap_up(rp_alert **h, size_t i) {
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (row_cmp(h[i], h[p]) >= 0) return;
        rp_alert *t = h[i];
        h[i] = h[p];
        h[p] = t;
        i = p;
    }
}

/* Keeps a (taking ownership) if it is among the max_rows most important. -1 out of memory. */
static int keep_row(km_report *r, rp_alert *a) {
    if (!r->rows) {
        r->nrows = 0; /* no array, no rows (stated for the analyzer) */
        r->rows = calloc(r->max_rows, sizeof *r->rows);
        if (!r->rows) {
            alert_free(a);
            return -1;
        }
    }
    if (r->nrows < r->max_rows) {
        r->rows[r->nrows] = a;
        heap_up(r->rows, r->nrows++);
        return 0;
    }
    /* the heap is full; with max_rows 0 it would be empty and keep nothing (km_report_new never
     * makes max_rows 0, but the analyzer cannot see that) */
    if (r->nrows == 0 || row_cmp(a, r->rows[0]) <= 0) {
        alert_free(a);
        return 0;
    }
    alert_free(r->rows[0]);
    r->rows[0] = a;
    heap_down(r->rows, r->nrows, 0);
    return 0;
}

static void note_bad(km_report *r, const km_error *err) {
    r->bad++;
    if (r->nbad_msgs < sizeof r->bad_msgs / sizeof r->bad_msgs[0]) {
        char *m = strdup(err->msg);
        if (m) r->bad_msgs[r->nbad_msgs++] = m;
    }
}

static int line_bad(km_report *r, km_error *err, const char *name, size_t lineno, size_t col, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static int line_bad(km_report *r, km_error *err, const char *name, size_t lineno, size_t col, const char *fmt, ...) {
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    km_error local;
    if (!err) err = &local;
    km_error_set(err, KM_ERR, col ? col - 1 : (size_t)-1, "%s:%zu:%zu: %s; line skipped", name, lineno, col, msg);
    note_bad(r, err);
    return KM_ERR;
}

int km_report_add_alert_line(km_report *r, const char *line, size_t len, const char *name, size_t lineno,
                             km_error *err) {
    size_t i = 0;
    while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r' || line[i] == '\n')) i++;
    if (i == len) return 1;
    r->has_alerts = 1;
    km_error perr;
    km_json_doc *doc = km_json_parse(line, len, NULL, NULL, &perr);
    if (!doc)
        return line_bad(r, err, name, lineno, (perr.offset == (size_t)-1 ? 0 : perr.offset) + 1,
                        "invalid JSON: %s", parse_reason(&perr));
    const km_json *o = km_json_root(doc);
    int rc = 0;
    if (o->type != KM_JSON_OBJECT) {
        rc = line_bad(r, err, name, lineno, o->offset + 1, "an alert must be a JSON object, not %s",
                      km_json_type_name(o->type));
    } else if (!km_json_str(km_json_get(o, "ruleId"))) {
        const km_json *v = km_json_get(o, "ruleId");
        rc = line_bad(r, err, name, lineno, (v ? v->offset : o->offset) + 1,
                      "an alert needs a string \"ruleId\" (the output of kumomori detect --format jsonl)");
    }
    if (rc) {
        km_json_doc_free(doc);
        return rc;
    }
    rp_alert *a = calloc(1, sizeof *a);
    if (!a) {
        km_json_doc_free(doc);
        return line_bad(r, err, name, lineno, 1, "out of memory");
    }
    a->seq = r->alerts++;
    a->sev = rp_severity(km_json_get_str(o, "severity", NULL));
    const km_json *sc = km_json_get(o, "scenarios");
    km_buf other = KM_BUF_INIT;
    km_buf_init(&other, RP_FIELD_MAX);
    for (size_t j = 0; j < km_json_len(sc); j++) {
        const char *s = km_json_str(km_json_at(sc, j));
        if (!s) continue;
        if (is_scenario_id(s))
            a->scen |= 1u << (s[1] - '1');
        else {
            if (other.len) km_buf_putc(&other, ' ');
            km_buf_puts(&other, s);
        }
    }
    if (other.len && !other.failed) a->scen_other = km_buf_steal(&other, NULL);
    km_buf_free(&other);
    a->t = RP_UNTIMED;
    a->time = dup_field(o, "eventTime");
    int64_t t;
    if (a->time && km_parse_time_str(a->time, &t) == 0 && t >= 0 && t < ((int64_t)1 << 52)) a->t = t;
    a->rule = dup_field(o, "ruleId");
    a->title = dup_field(o, "title");
    a->event = dup_field(o, "eventName");
    a->source = dup_field(o, "eventSource");
    a->principal = dup_field(o, "principalArn");
    a->ip = dup_field(o, "sourceIPAddress");
    a->region = dup_field(o, "awsRegion");
    a->account = dup_field(o, "recipientAccountId");
    a->error = dup_field(o, "errorCode");
    a->detail = dup_field(o, "detail");
    const km_json *res = km_json_get(o, "resources");
    a->nresources = km_json_len(res);
    for (size_t j = 0; j < km_json_len(res) && !a->resource; j++) {
        const km_json *e = km_json_at(res, j);
        if (km_json_str(e)) {
            /* a one-element array so dup_field's truncation applies */
            km_json_member m = {"x", 1, (km_json *)e};
            km_json tmp = {.type = KM_JSON_OBJECT};
            tmp.u.obj.members = &m;
            tmp.u.obj.n = 1;
            a->resource = dup_field(&tmp, "x");
        }
    }
    km_json_doc_free(doc);

    if (a->t == RP_UNTIMED) {
        r->untimed++;
    } else if (!a->scen) {
        r->unlaned++;
    } else if (r->npoints < RP_MAX_POINTS) {
        if (r->npoints == r->cap_points) {
            size_t nc = r->cap_points ? r->cap_points * 2 : 1024;
            uint64_t *np = realloc(r->points, nc * sizeof *np);
            if (!np) {
                r->points_dropped++;
                goto keep;
            }
            r->points = np;
            r->cap_points = nc;
        }
        r->points[r->npoints++] = ((uint64_t)a->t << 11) | ((uint64_t)(a->sev + 1) << 8) | (a->scen & 0x7F);
    } else {
        r->points_dropped++;
    }
keep:
    if (keep_row(r, a)) return line_bad(r, err, name, lineno, 1, "out of memory");
    return 0;
}

#define RP_MAX_LINE ((size_t)16 << 20)

int km_report_read_alerts(km_report *r, const char *path, FILE *errf, km_error *err) {
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) return km_error_set(err, KM_ERR, (size_t)-1, "%s: cannot open: %s", path, strerror(errno));
    char *nm = strdup(path);
    if (!nm) {
        if (f != stdin) fclose(f);
        return km_error_set(err, KM_ENOMEM, (size_t)-1, "%s: out of memory", path);
    }
    free(r->alerts_name);
    r->alerts_name = nm;
    r->has_alerts = 1;
    km_buf line = KM_BUF_INIT;
    km_buf_init(&line, RP_MAX_LINE);
    size_t lineno = 0;
    int too_long = 0, rc = 0;
    char chunk[65536];
    size_t got;
    /* Lines are cut by hand from fread chunks so a line longer than the cap is skipped without
     * ever being held whole. */
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
        size_t s = 0;
        for (size_t i = 0; i <= got; i++) {
            if (i < got && chunk[i] != '\n') continue;
            if (i == got) {
                if (s < got && !too_long && km_buf_append(&line, chunk + s, got - s)) too_long = 1;
                break;
            }
            lineno++;
            if (!too_long && km_buf_append(&line, chunk + s, i - s)) too_long = 1;
            km_error e;
            if (too_long) {
                line_bad(r, &e, path, lineno, 1, "line longer than %zu MiB", RP_MAX_LINE >> 20);
                if (errf) fprintf(errf, "kumomori report: %s\n", e.msg);
            } else if (km_report_add_alert_line(r, line.data ? line.data : "", line.len, path, lineno, &e) < 0) {
                if (errf) fprintf(errf, "kumomori report: %s\n", e.msg);
            }
            km_buf_reset(&line);
            line.failed = 0;
            too_long = 0;
            s = i + 1;
        }
    }
    if (ferror(f)) rc = km_error_set(err, KM_ERR, (size_t)-1, "%s: read error: %s", path, strerror(errno));
    if (rc == 0 && (line.len || too_long)) { /* the last line had no newline */
        lineno++;
        km_error e;
        if (too_long) {
            line_bad(r, &e, path, lineno, 1, "line longer than %zu MiB", RP_MAX_LINE >> 20);
            if (errf) fprintf(errf, "kumomori report: %s\n", e.msg);
        } else if (km_report_add_alert_line(r, line.data, line.len, path, lineno, &e) < 0) {
            if (errf) fprintf(errf, "kumomori report: %s\n", e.msg);
        }
    }
    km_buf_free(&line);
    if (f != stdin) fclose(f);
    return rc;
}
