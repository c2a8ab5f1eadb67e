/* Writers for audit results: text (grouped by scenario, for a terminal), one JSON document,
 * SARIF 2.1.0, ASFF (Security Hub BatchImportFindings) and OCSF 1.1.0 Compliance Finding.
 * All write to a FILE; they only read the audit. Self-contained: no other writer's code. */
#ifndef KM_OUT_AUDIT_OUT_H
#define KM_OUT_AUDIT_OUT_H

#include "audit/audit.h"
#include <stdint.h>
#include <stdio.h>

typedef struct km_audit_report {
    const km_audit *audit;
    const km_rollup *rollup;
    const char *const *inputs;  /* snapshot paths given */
    size_t ninputs;
    int64_t generated_at;       /* UTC seconds */
    unsigned status_mask;       /* bit (1 << km_status) of the statuses to list */
    unsigned scenario_mask;     /* bit i = S(i+1); 0x7F for all */
    int color;                  /* text: escapes allowed */
    int verbose;                /* text: list passed checks too */
    const char *const *problems; /* input problems to report */
    size_t nproblems;
    const struct km_recov *recov; /* recoverability (src/recov): a text section and the JSON key
                                     "recoverability"; NULL leaves both out */
} km_audit_report;

/* Each returns 0, or -1 when writing failed (errno set by stdio). */
int km_audit_write_text(FILE *f, const km_audit_report *r);
int km_audit_write_json(FILE *f, const km_audit_report *r);
int km_audit_write_sarif(FILE *f, const km_audit_report *r);
int km_audit_write_asff(FILE *f, const km_audit_report *r);
int km_audit_write_ocsf(FILE *f, const km_audit_report *r);

/* Whether a finding is listed by r (status and scenario filters). */
int km_audit_report_wants(const km_audit_report *r, const km_finding *f);

#endif
