/* The posture audit: checks (metadata from checks/ files, logic in src/audit/chk_*.c) run
 * over a snapshot (snap.h), giving one finding per check and resource with a status PASS,
 * FAIL, UNKNOWN (the data was missing or denied: never FAIL) or NOT_APPLICABLE; then
 * suppressions and the roll-up per scenario S1..S7.
 *
 * Ownership: km_audit_run returns an audit that owns its findings and strings; the snapshot
 * must outlive it (findings point into it). km_audit_free releases it (takes NULL). */
#ifndef KM_AUDIT_AUDIT_H
#define KM_AUDIT_AUDIT_H

#include "audit/snap.h"
#include "kumomori/error.h"
#include "kumomori/json.h"
#include "kumomori/rules.h" /* km_severity and its names */
#include <stddef.h>
#include <stdint.h>

typedef enum { KM_PASS, KM_FAIL, KM_UNKNOWN, KM_NA } km_status;

#define KM_NSCENARIOS 7

typedef struct km_audit km_audit;

typedef struct km_check {
    const char *id;
    const char *title;
    km_severity severity;
    unsigned scenarios;       /* bit i = scenario S(i+1) */
    const char *resource_type;
    const char *rationale;
    const char *remediation;  /* what to do, in words */
    const char *remediation_cli; /* the AWS CLI command that fixes it */
    const char *strategy;     /* the countermeasure of the strategy it checks */
    const km_json *refs;      /* {"securityhub": [...], "cis": [...], "prowler": [...], ...} */
    const km_json *data;      /* the calls it reads ["s3api get-bucket-versioning", ...] */
    const km_json *params;    /* tunable data the logic reads (lists of ports, runtimes), or NULL */
    const char *file;         /* checks/... metadata file */
    void (*fn)(km_audit *a);
} km_check;

typedef struct km_checkset {
    km_check *v;
    size_t n;
    km_json_doc **docs;
    size_t ndocs;
} km_checkset;

/* Load the built-in check metadata and bind it to the C logic. Every metadata file must have
 * an implementation and every implementation a metadata file; errors name the file and the
 * byte offset. The set owns its documents. */
int km_checkset_load(km_checkset *set, km_error *err);
void km_checkset_free(km_checkset *set); /* takes NULL */
const km_check *km_checkset_find(const km_checkset *set, const char *id);

typedef struct km_finding {
    const km_check *check;
    km_status status;
    const char *account;
    const char *region;       /* region or "global" */
    const char *res_type;
    const char *res_id;
    const char *res_name;
    const char *res_arn;      /* may be NULL */
    const km_json *tags;      /* the resource's tags, or NULL */
    const char *message;      /* what was seen (the evidence in words) */
    const char **files;       /* the snapshot files read */
    size_t nfiles;
    const char *suppressed;   /* the suppression's reason when suppressed, else NULL */
    const char *suppress_expires;
} km_finding;

typedef struct km_audit_opts {
    int64_t now;                 /* "now" for ages; 0: the snapshot's time, else the clock */
    int scan_unused;             /* FAIL service switches even in regions with no resources */
    long max_session_seconds;    /* longest acceptable role session (default 3600) */
    long key_max_age_days;       /* access key rotation (default 90) */
    long unused_days;            /* credentials unused longer than this (default 45) */
    long secret_rotation_days;   /* secrets rotated within (default 90) */
    long log_retention_days;     /* CloudWatch Logs retention at least (default 365) */
    long backup_retention_days;  /* RDS automated backup retention at least (default 7) */
    long cert_expiry_days;       /* certificates valid for at least (default 30) */
    long role_unused_days;       /* roles unused longer than this (default 90) */
    const char *only;            /* glob over check ids to run, or NULL for all */
    const struct km_recov *recov; /* the recoverability analysis (src/recov) the KMA-RECOV-* checks
                                     report, or NULL: those checks then emit nothing */
} km_audit_opts;

void km_audit_opts_default(km_audit_opts *o);

/* Run every check (or those matching opts->only) over a finished snapshot. */
int km_audit_run(km_snap *snap, const km_checkset *checks, const km_audit_opts *opts, km_audit **out,
                 km_error *err);
/* The same in two steps, so that the recoverability analysis can run meanwhile: km_audit_start
 * runs every check but the KMA-RECOV-* ones (opts->recov is ignored) and returns the audit in
 * *out (freed on failure); km_audit_finish runs those with recov (may be NULL) and puts their
 * findings in check order, as km_audit_run would have; on failure the caller frees the audit. */
int km_audit_start(km_snap *snap, const km_checkset *checks, const km_audit_opts *opts, km_audit **out,
                   km_error *err);
int km_audit_finish(km_audit *a, const struct km_recov *recov, km_error *err);
void km_audit_free(km_audit *a); /* takes NULL */

size_t km_audit_nfindings(const km_audit *a);
const km_finding *km_audit_finding(const km_audit *a, size_t i);
const km_checkset *km_audit_checks(const km_audit *a);
km_snap *km_audit_snap(const km_audit *a);
int64_t km_audit_now(const km_audit *a);

/* Suppressions: a YAML file of entries matching check id, account, region, resource ARN or id
 * (globs) and tags, each with a reason and an expiry date. Expired entries do not apply and
 * are reported. Problems name the file and line:column. */
typedef struct km_suppressions km_suppressions;
int km_suppressions_load(km_suppressions **out, const char *path, km_error *err);
void km_suppressions_free(km_suppressions *s); /* takes NULL */
/* Mark matching findings as suppressed. Returns how many were. Messages about expired entries
 * go to warn (called once per expired entry; may be NULL). */
size_t km_audit_suppress(km_audit *a, const km_suppressions *s,
                         void (*warn)(const char *msg, void *ctx), void *ctx);

/* Roll-up per scenario. */
typedef struct km_fix {
    const km_check *check;
    size_t closes;     /* failed findings it would close */
    double weight;     /* severity-weighted */
} km_fix;

typedef struct km_scenario_summary {
    const char *id;      /* "S1" */
    const char *title;
    const char *status;  /* EXPOSED, GAPS, INCOMPLETE, PROTECTED, NO_DATA */
    int score;           /* 0..100: severity-weighted share of passed among decided */
    size_t pass, fail, unknown, na, suppressed;
    size_t fail_by_sev[5];
    km_fix fixes[5];     /* the fixes that close the most, best first */
    size_t nfixes;
} km_scenario_summary;

typedef struct km_rollup {
    km_scenario_summary s[KM_NSCENARIOS];
    size_t pass, fail, unknown, na, suppressed;
    km_fix fixes[10];    /* across all scenarios */
    size_t nfixes;
    int oom;             /* the fixes could not be ranked for want of memory: report nothing */
} km_rollup;

void km_audit_rollup(const km_audit *a, km_rollup *out);

const char *km_status_name(km_status s);
const char *km_audit_scenario_title(int i); /* 0-based, as report headings */

#endif
