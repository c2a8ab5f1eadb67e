/* Text report for a terminal: the scenario table, the fixes that close the most, then for each
 * scenario the checks that failed or could not tell, with the resources and the fix. A check
 * that counts for several scenarios is detailed under the first one and referred to after. */
#include "out/audit_out.h"
#include "recov/recov.h"
#include "audit/util.h"
#include "util/term.h"

#include <stdlib.h>
#include <string.h>

typedef struct range {
    size_t start, end; /* findings of one check are contiguous */
} range;

static const char *status_colour(km_status s) {
    switch (s) {
    case KM_FAIL: return "red";
    case KM_UNKNOWN: return "yellow";
    case KM_PASS: return "green";
    default: return "dim";
    }
}

static const char *scen_colour(const char *st) {
    if (!strcmp(st, "EXPOSED")) return "red";
    if (!strcmp(st, "GAPS") || !strcmp(st, "INCOMPLETE")) return "yellow";
    if (!strcmp(st, "PROTECTED")) return "green";
    return "dim";
}

static void scenario_list(unsigned mask, char *out, size_t n) {
    out[0] = 0;
    for (int s = 0; s < KM_NSCENARIOS; s++)
        if (mask & (1u << s)) snprintf(out + strlen(out), n - strlen(out), "%sS%d", out[0] ? "," : "", s + 1);
}

static size_t count(const km_audit *a, const range *rg, km_status st, int suppressed) {
    size_t c = 0;
    for (size_t i = rg->start; i < rg->end; i++) {
        const km_finding *f = km_audit_finding(a, i);
        if (f->status == st && (!f->suppressed) == !suppressed) c++;
    }
    return c;
}

static void print_resources(FILE *out, const km_audit_report *r, const range *rg, km_status st) {
    const km_audit *a = r->audit;
    size_t shown = 0, total = count(a, rg, st, 0);
    size_t limit = r->verbose ? (size_t)-1 : 5;
    for (size_t i = rg->start; i < rg->end; i++) {
        const km_finding *f = km_audit_finding(a, i);
        if (f->status != st || f->suppressed) continue;
        if (shown++ >= limit) continue;
        /* harden helper: names and messages come from the snapshot (attacker-chosen in a
         * compromised account): no terminal controls */
        char *fn = NULL, *fm = NULL, *fa = NULL, *fr = NULL;
        const char *name = km_term_clean(f->res_name ? f->res_name : f->res_id, &fn);
        const char *msg = km_term_clean(f->message, &fm), *acct = km_term_clean(f->account, &fa);
        const char *region = km_term_clean(f->region, &fr);
        if (!strcmp(f->res_type, "AWS::::Account"))
            fprintf(out, "      %s%s%s%s%s: %s\n", km_term_esc(out, "bold"), acct, km_term_esc(out, "reset"),
                    strcmp(region, "global") ? " " : "", strcmp(region, "global") ? region : "", msg);
        else
            fprintf(out, "      %s%s%s (%s, %s %s): %s\n", km_term_esc(out, "bold"), name, km_term_esc(out, "reset"),
                    f->res_type, acct, region, msg);
        free(fn);
        free(fm);
        free(fa);
        free(fr);
    }
    if (total > shown || (shown > limit)) {
        size_t more = total > limit ? total - limit : 0;
        if (more) fprintf(out, "      ... and %zu more (--verbose lists all, --format json has everything)\n", more);
    }
}

int km_audit_write_text(FILE *out, const km_audit_report *r) {
    const km_audit *a = r->audit;
    const km_checkset *cs = km_audit_checks(a);
    const km_rollup *ru = r->rollup;
    km_snap *snap = km_audit_snap(a);
    range *rg = calloc(cs->n ? cs->n : 1, sizeof *rg);
    int *first_scen = calloc(cs->n ? cs->n : 1, sizeof *first_scen);
    size_t *order = calloc(cs->n ? cs->n : 1, sizeof *order); /* per scenario, below */
    if (!rg || !first_scen || !order) { /* the caller says the report could not be written */
        free(rg);
        free(first_scen);
        free(order);
        return -1;
    }
    for (size_t i = 0; i < cs->n; i++) rg[i].start = rg[i].end = (size_t)-1;
    for (size_t i = 0; i < km_audit_nfindings(a); i++) {
        size_t k = (size_t)(km_audit_finding(a, i)->check - cs->v);
        if (rg[k].start == (size_t)-1) rg[k].start = i;
        rg[k].end = i + 1;
    }
    for (size_t i = 0; i < cs->n; i++) {
        if (rg[i].start == (size_t)-1) rg[i].start = rg[i].end = 0;
        first_scen[i] = -1;
    }
    const char *B = km_term_esc(out, "bold"), *R0 = km_term_esc(out, "reset"), *D = km_term_esc(out, "dim");
    char t[32];
    km_format_time(km_audit_now(a), t, sizeof t);
    size_t nreg = 0;
    for (size_t i = 0; i < km_snap_naccounts(snap); i++) nreg += km_snap_nregions(snap, km_snap_account(snap, i));
    fprintf(out, "%skumomori audit%s: %zu account(s), %zu account-region(s), %zu file(s); evaluated at %s\n", B, R0,
            km_snap_naccounts(snap), nreg, km_snap_nfiles(snap), t);
    fprintf(out, "%zu checks: %zu pass, %zu fail, %zu unknown, %zu not applicable, %zu suppressed\n", cs->n, ru->pass, ru->fail,
            ru->unknown, ru->na, ru->suppressed);
    size_t cfg_only = 0;
    for (size_t i = 0; i < km_snap_naccounts(snap); i++) cfg_only += !km_snap_has_collect(snap, km_snap_account(snap, i));
    if (cfg_only)
        fprintf(out, "%s%zu account(s) from AWS Config snapshots only: IAM, password policy and service settings are not in them\n"
                     "(UNKNOWN below); 'kumomori collect' gathers them.%s\n",
                D, cfg_only, R0);
    fputc('\n', out);
    for (int s = 0; s < KM_NSCENARIOS; s++) {
        if (!(r->scenario_mask & (1u << s))) continue;
        const km_scenario_summary *ss = &ru->s[s];
        fprintf(out, "  %s %-30s %s%-10s%s %3d/100  %4zu pass %4zu fail %4zu unknown\n", ss->id, ss->title,
                km_term_esc(out, scen_colour(ss->status)), ss->status, R0, ss->score, ss->pass, ss->fail, ss->unknown);
    }
    if (ru->nfixes) {
        fprintf(out, "\n%sFix first%s (closes the most findings, weighted by severity):\n", B, R0);
        for (size_t k = 0; k < ru->nfixes && k < 5; k++) {
            const km_fix *x = &ru->fixes[k];
            char sc[32];
            scenario_list(x->check->scenarios, sc, sizeof sc);
            fprintf(out, "  %zu. %s%s%s (%s, %s): %s; closes %zu\n     %s%s%s\n", k + 1, B, x->check->id, R0,
                    km_severity_name(x->check->severity), sc, x->check->title, x->closes, D, x->check->remediation_cli, R0);
        }
    }
    /* per scenario */
    for (int s = 0; s < KM_NSCENARIOS; s++) {
        if (!(r->scenario_mask & (1u << s))) continue;
        const km_scenario_summary *ss = &ru->s[s];
        fprintf(out, "\n%s%s %s%s: %s%s%s, score %d/100 (%zu pass, %zu fail, %zu unknown%s)\n", B, ss->id, ss->title, R0,
                km_term_esc(out, scen_colour(ss->status)), ss->status, R0, ss->score, ss->pass, ss->fail, ss->unknown,
                ss->suppressed ? ", some suppressed" : "");
        size_t n = 0;
        for (size_t i = 0; i < cs->n; i++)
            if (cs->v[i].scenarios & (1u << s)) order[n++] = i;
        /* FAIL before UNKNOWN, then severity, then id (the check table is sorted by id) */
        for (size_t i = 1; i < n; i++)
            for (size_t k = i; k > 0; k--) {
                const km_check *x = &cs->v[order[k - 1]], *y = &cs->v[order[k]];
                int fx = count(a, &rg[order[k - 1]], KM_FAIL, 0) > 0, fy = count(a, &rg[order[k]], KM_FAIL, 0) > 0;
                if (fx > fy || (fx == fy && x->severity >= y->severity)) break;
                size_t tmp = order[k];
                order[k] = order[k - 1];
                order[k - 1] = tmp;
            }
        int any = 0;
        static const km_status shown[] = {KM_FAIL, KM_UNKNOWN, KM_PASS};
        for (size_t oi = 0; oi < n; oi++) {
            size_t ci = order[oi];
            const km_check *c = &cs->v[ci];
            for (int st = 0; st < 3; st++) {
                km_status want = shown[st];
                if (want == KM_PASS && !r->verbose) continue;
                if (!(r->status_mask & (1u << want))) continue;
                size_t cnt = count(a, &rg[ci], want, 0);
                if (!cnt) continue;
                any = 1;
                fprintf(out, "  %s%-7s%s %-8s %s%s%s  %s\n", km_term_esc(out, status_colour(want)), km_status_name(want), R0,
                        km_severity_name(c->severity), B, c->id, R0, c->title);
                if (first_scen[ci] >= 0 && first_scen[ci] != s) {
                    fprintf(out, "      %zu resource(s), listed under S%d\n", cnt, first_scen[ci] + 1);
                    continue;
                }
                print_resources(out, r, &rg[ci], want);
                if (want == KM_FAIL) fprintf(out, "      %sfix: %s%s\n", D, c->remediation_cli, R0);
            }
            if (first_scen[ci] < 0 && (count(a, &rg[ci], KM_FAIL, 0) || count(a, &rg[ci], KM_UNKNOWN, 0))) first_scen[ci] = s;
            size_t sup = count(a, &rg[ci], KM_FAIL, 1) + count(a, &rg[ci], KM_UNKNOWN, 1);
            if (sup && first_scen[ci] == s)
                fprintf(out, "  %sSUPPRESSED %zu finding(s) of %s%s\n", D, sup, c->id, R0);
        }
        if (!any) fprintf(out, "  %snothing failed or unknown%s\n", D, R0);
    }
    free(order);
    if (r->recov && (r->scenario_mask & (1u << 5))) {
        fputc('\n', out);
        km_recov_text(r->recov, out, r->color && km_term_color(out), 1);
    }
    if (r->nproblems) {
        fprintf(out, "\n%sInput problems%s (%zu; the answers involved count as UNKNOWN):\n", B, R0, r->nproblems);
        for (size_t i = 0; i < r->nproblems && i < 20; i++) {
            char *tp = NULL;
            fprintf(out, "  %s\n", km_term_clean(r->problems[i], &tp));
            free(tp);
        }
        if (r->nproblems > 20) fprintf(out, "  ... and %zu more (--format json lists all)\n", r->nproblems - 20);
    }
    free(rg);
    free(first_scen);
    return ferror(out) ? -1 : 0;
}
