/* Rendering of an evaluation's explanation as text (for people) and JSON (for programs). */
#include "iam/iam_internal.h"

#include <stdio.h>
#include <string.h>

static const char *reason_text(const iam_xcond *x, char *buf, size_t n) {
    const iam_cond_result *r = &x->r;
    switch (r->reason) {
    case CR_MISSING:
        return r->match ? "key absent: a negated operator is true" : "key absent: the condition is false";
    case CR_MISSING_IFEXISTS:
        return "key absent: ...IfExists is true";
    case CR_MULTI_PLAIN:
        return "the key has a set of values: an operator without ForAllValues/ForAnyValue is false";
    case CR_EMPTY_FORALL:
        return r->missing ? "key absent: ForAllValues is true for an empty set"
                          : "empty set: ForAllValues is true, ForAnyValue false";
    case CR_BAD_VALUE:
        return "a value is not of the operator's type (number, date, IP address, ARN or boolean)";
    case CR_UNRESOLVED_VAR:
        snprintf(buf, n, "policy variable ${%.*s} has no single value and no default: that value "
                 "matches nothing", (int)(r->bad_var_len > 100 ? 100 : r->bad_var_len),
                 r->bad_var ? r->bad_var : "");
        return buf;
    case CR_NULL_CHECK:
        return r->missing ? "key absent" : "key present";
    default:
        return NULL;
    }
}

static const char *pm_text(int pm) {
    switch (pm) {
    case PM_MATCH: return "names the principal";
    case PM_ACCOUNT: return "names the principal's account (the account's own policies must also allow)";
    case PM_SESSION_ROLE: return "names the role of this session";
    case PM_SESSION_USER: return "names the user of this federated session";
    default: return NULL;
    }
}

static void policy_label(km_buf *b, const iam_xstmt *x) {
    km_buf_printf(b, "%s", km_iam_kind_name(x->kind));
    if (x->level && *x->level) km_buf_printf(b, " %s", x->level);
    if (x->pol_name && *x->pol_name) km_buf_printf(b, " \"%s\"", x->pol_name);
    km_buf_printf(b, " statement %zu", x->index);
    if (x->sid && *x->sid) km_buf_printf(b, " (Sid \"%s\")", x->sid);
}

int km_iam_explain_text(const km_iam_explain *ex, km_buf *out) {
    if (!ex) return -1;
    km_buf_printf(out, "%s: %s\n", km_iam_decision_name(ex->decision), ex->summary ? ex->summary : "");
    km_buf_printf(out, "  principal  %s\n  action     %s\n  resource   %s\n", ex->principal, ex->action,
                  ex->resource);
    if (ex->nblocked) {
        km_buf_puts(out, "  blocked by ");
        for (size_t i = 0; i < ex->nblocked; i++) km_buf_printf(out, "%s%s", i ? ", " : "", ex->blocked[i]);
        km_buf_putc(out, '\n');
    }
    if (ex->nsteps) {
        km_buf_puts(out, "policy types:\n");
        for (size_t i = 0; i < ex->nsteps; i++) {
            const iam_xstep *s = &ex->steps[i];
            char label[160];
            snprintf(label, sizeof label, "%s%s%s", s->what, s->level ? " " : "", s->level ? s->level : "");
            const char *r = iam_result_name(s->result);
            if ((s->kind == KM_IAM_RESOURCE || s->kind == KM_IAM_TRUST || s->kind == KM_IAM_KEY) && s->result == R_NA)
                r = "none";
            km_buf_printf(out, "  %-22s %s\n", label, r);
        }
    }
    if (ex->nxs) {
        km_buf_puts(out, "statements matching the action and resource:\n");
        for (size_t i = 0; i < ex->nxs; i++) {
            const iam_xstmt *x = &ex->xs[i];
            km_buf_puts(out, "  ");
            policy_label(out, x);
            km_buf_printf(out, ": %s, %s\n", x->deny ? "Deny" : "Allow",
                          x->applies ? "applies" : "conditions not met");
            const char *pm = pm_text(x->principal);
            if (pm) km_buf_printf(out, "      Principal %s\n", pm);
            for (size_t k = 0; k < x->nxc; k++) {
                const iam_xcond *c = &x->xc[k];
                char rb[200];
                const char *why = reason_text(c, rb, sizeof rb);
                km_buf_printf(out, "      %s %s %s", c->op, c->key, c->pvals);
                km_buf_printf(out, " vs %s -> %s", c->req ? c->req : "(absent)", c->r.match ? "true" : "false");
                if (why) km_buf_printf(out, " (%s)", why);
                if (c->ignored) km_buf_puts(out, " [discovery: assumed to go the requester's way]");
                km_buf_putc(out, '\n');
            }
        }
    } else {
        km_buf_puts(out, "no statement of any policy matches this action and resource\n");
    }
    if (ex->nexp) {
        km_buf_puts(out, "resource patterns evaluated within the request pattern:\n");
        for (size_t i = 0; i < ex->nexp; i++)
            km_buf_printf(out, "  %-60s %s\n", ex->exp_res[i], km_iam_decision_name((km_iam_decision)ex->exp_dec[i]));
    }
    for (size_t i = 0; i < ex->nnotes; i++) km_buf_printf(out, "note: %s\n", ex->notes[i]);
    return out->failed ? -1 : 0;
}

int km_iam_explain_json(const km_iam_explain *ex, km_buf *b) {
    if (!ex) return -1;
    km_buf_puts(b, "{\"decision\":");
    const char *d = km_iam_decision_name(ex->decision);
    km_buf_json_str(b, d, strlen(d));
    km_buf_puts(b, ",\"summary\":");
    const char *s = ex->summary ? ex->summary : "";
    km_buf_json_str(b, s, strlen(s));
    km_buf_puts(b, ",\"request\":{\"principal\":");
    km_buf_json_str(b, ex->principal, strlen(ex->principal));
    km_buf_puts(b, ",\"action\":");
    km_buf_json_str(b, ex->action, strlen(ex->action));
    km_buf_puts(b, ",\"resource\":");
    km_buf_json_str(b, ex->resource, strlen(ex->resource));
    km_buf_puts(b, "},\"blockedBy\":[");
    for (size_t i = 0; i < ex->nblocked; i++) {
        if (i) km_buf_putc(b, ',');
        km_buf_json_str(b, ex->blocked[i], strlen(ex->blocked[i]));
    }
    km_buf_puts(b, "],\"steps\":[");
    for (size_t i = 0; i < ex->nsteps; i++) {
        const iam_xstep *st = &ex->steps[i];
        if (i) km_buf_putc(b, ',');
        km_buf_puts(b, "{\"policyType\":");
        km_buf_json_str(b, st->what, strlen(st->what));
        if (st->level) {
            km_buf_puts(b, ",\"level\":");
            km_buf_json_str(b, st->level, strlen(st->level));
        }
        km_buf_puts(b, ",\"result\":");
        const char *r = iam_result_name(st->result);
        km_buf_json_str(b, r, strlen(r));
        km_buf_putc(b, '}');
    }
    km_buf_puts(b, "],\"statements\":[");
    for (size_t i = 0; i < ex->nxs; i++) {
        const iam_xstmt *x = &ex->xs[i];
        if (i) km_buf_putc(b, ',');
        const char *k = km_iam_kind_name(x->kind);
        km_buf_puts(b, "{\"policyType\":");
        km_buf_json_str(b, k, strlen(k));
        km_buf_puts(b, ",\"policy\":");
        km_buf_json_str(b, x->pol_name, strlen(x->pol_name));
        if (x->level) {
            km_buf_puts(b, ",\"level\":");
            km_buf_json_str(b, x->level, strlen(x->level));
        }
        km_buf_printf(b, ",\"statement\":%zu", x->index);
        if (x->sid) {
            km_buf_puts(b, ",\"sid\":");
            km_buf_json_str(b, x->sid, strlen(x->sid));
        }
        km_buf_printf(b, ",\"effect\":\"%s\",\"applies\":%s", x->deny ? "Deny" : "Allow",
                      x->applies ? "true" : "false");
        const char *pm = pm_text(x->principal);
        if (pm) {
            km_buf_puts(b, ",\"principalMatch\":");
            km_buf_json_str(b, pm, strlen(pm));
        }
        km_buf_puts(b, ",\"conditions\":[");
        for (size_t c = 0; c < x->nxc; c++) {
            const iam_xcond *xc = &x->xc[c];
            if (c) km_buf_putc(b, ',');
            km_buf_puts(b, "{\"operator\":");
            km_buf_json_str(b, xc->op, strlen(xc->op));
            km_buf_puts(b, ",\"key\":");
            km_buf_json_str(b, xc->key, strlen(xc->key));
            km_buf_printf(b, ",\"policyValues\":%s", xc->pvals);
            km_buf_printf(b, ",\"requestValues\":%s,\"result\":%s", xc->req ? xc->req : "null",
                          xc->r.match ? "true" : "false");
            char rb[200];
            const char *why = reason_text(xc, rb, sizeof rb);
            if (why) {
                km_buf_puts(b, ",\"reason\":");
                km_buf_json_str(b, why, strlen(why));
            }
            if (xc->ignored) km_buf_puts(b, ",\"ignored\":true");
            km_buf_putc(b, '}');
        }
        km_buf_puts(b, "]}");
    }
    km_buf_puts(b, "],\"notes\":[");
    for (size_t i = 0; i < ex->nnotes; i++) {
        if (i) km_buf_putc(b, ',');
        km_buf_json_str(b, ex->notes[i], strlen(ex->notes[i]));
    }
    km_buf_putc(b, ']');
    if (ex->nexp) {
        km_buf_puts(b, ",\"expanded\":[");
        for (size_t i = 0; i < ex->nexp; i++) {
            if (i) km_buf_putc(b, ',');
            km_buf_puts(b, "{\"resource\":");
            km_buf_json_str(b, ex->exp_res[i], strlen(ex->exp_res[i]));
            const char *dn = km_iam_decision_name((km_iam_decision)ex->exp_dec[i]);
            km_buf_puts(b, ",\"decision\":");
            km_buf_json_str(b, dn, strlen(dn));
            km_buf_putc(b, '}');
        }
        km_buf_putc(b, ']');
    }
    km_buf_putc(b, '}');
    return b->failed ? -1 : 0;
}
