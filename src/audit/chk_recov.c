/* The recoverability verdicts (src/recov) as audit findings under S6, so that every audit format
 * carries them: one finding per data store. The analysis itself runs once, before the checks
 * (cmd_audit.c), and reaches the checks through km_audit_opts.recov. */
#include "audit/check.h"
#include "recov/recov.h"

#include <stdio.h>

static void principals(const km_recov_store *st, char *buf, size_t n) {
    buf[0] = 0;
    for (size_t i = 0; i < st->nprincipals; i++) km_join(buf, n, ", ", st->principals[i].arn);
}

/* AT_RISK fails, RECOVERABLE passes; stores without any copy belong to KMA-RECOV-NOT-BACKED-UP. */
static void chk_at_risk(km_audit *a) {
    const km_recov *r = a->opts.recov;
    for (size_t i = 0; i < km_recov_nstores(r); i++) {
        const km_recov_store *st = km_recov_store_at(r, i);
        if (!st->ncopies) continue;
        if (km_begin(a, st->res)) continue;
        char who[1500];
        principals(st, who, sizeof who);
        switch (st->verdict) {
        case KM_RECOV_AT_RISK: km_emit(a, st->res, KM_FAIL, "%s: %s", st->reason, who); break;
        case KM_RECOV_RECOVERABLE: km_emit(a, st->res, KM_PASS, "%s", st->reason); break;
        default: km_emit(a, st->res, KM_UNKNOWN, "%s", st->reason); break;
        }
    }
}

static void chk_not_backed_up(km_audit *a) {
    const km_recov *r = a->opts.recov;
    for (size_t i = 0; i < km_recov_nstores(r); i++) {
        const km_recov_store *st = km_recov_store_at(r, i);
        if (km_begin(a, st->res)) continue;
        if (st->ncopies) km_emit(a, st->res, KM_PASS, "%zu recovery cop%s (kinds: %s%s)", st->ncopies, st->ncopies == 1 ? "y" : "ies",
                                 st->copies[0].kind, st->ncopies > 1 ? ", ..." : "");
        else if (st->verdict == KM_RECOV_NOT_BACKED_UP) km_emit(a, st->res, KM_FAIL, "%s", st->reason);
        else km_emit(a, st->res, KM_UNKNOWN, "%s", st->reason);
    }
}

const km_check_impl km_chk_recov[] = {
    {"KMA-RECOV-AT-RISK", chk_at_risk},
    {"KMA-RECOV-NOT-BACKED-UP", chk_not_backed_up},
    {NULL, NULL},
};
