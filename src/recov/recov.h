/* Recoverability: for each data store of a snapshot (S3 buckets, RDS instances and clusters, EBS
 * volumes, DynamoDB tables, EFS file systems), the recovery copies that exist, whether each is
 * immutable and isolated, how old the newest is, and which users and roles could destroy the
 * data and every copy with credentials alone (no MFA), decided by the IAM engine with SCPs,
 * boundaries and bucket, vault and key policies. Verdicts RECOVERABLE, AT_RISK, NOT_BACKED_UP,
 * UNKNOWN and an account score; docs/recoverability.md gives the semantics and the JSON shape.
 *
 * The header is internal (src/, not include/kumomori/): the analysis reads the audit's snapshot
 * model (src/audit/snap.h), which is not a public API, and only the CLI and the audit use it.
 *
 * Ownership: km_recov_analyze returns a result that owns its strings and arrays; it points into
 * the snapshot (resources), which must outlive it. km_recov_free releases it (takes NULL). */
#ifndef KM_RECOV_RECOV_H
#define KM_RECOV_RECOV_H

#include "audit/snap.h"
#include "kumomori/buf.h"
#include "kumomori/error.h"
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum {
    KM_RECOV_AT_RISK = 0,
    KM_RECOV_NOT_BACKED_UP,
    KM_RECOV_UNKNOWN,
    KM_RECOV_RECOVERABLE,
    KM_RECOV_NVERDICTS
} km_recov_verdict;

/* "AT_RISK", ... */
const char *km_recov_verdict_name(km_recov_verdict v);

/* Three-valued answers: the snapshot says yes, says no, or cannot tell. */
typedef enum { KM_TRI_NO = 0, KM_TRI_YES = 1, KM_TRI_UNK = 2 } km_tri;

typedef struct km_recov_copy {
    const char *kind;         /* backup-recovery-point, rds-snapshot, s3-versioning, ... */
    const char *arn;          /* the copy (recovery point, snapshot, replica bucket), or NULL */
    const char *account;      /* NULL when unknown */
    const char *region;       /* NULL when unknown */
    const char *location;     /* in words: "backup vault kumo-vault" */
    int immutable;
    const char *immutability; /* what protects it, or why it is not immutable */
    const char *isolated;     /* same-region, cross-region, cross-account */
    int64_t newest;           /* creation or latest restorable time; 0 unknown */
    size_t count;
    int verified;             /* 0: only planned or configured (the destination is not in the snapshot) */
    /* facts the paths use */
    const char *vault_arn;    /* backup vault holding it, or NULL */
    int lock;                 /* vault: 0 open, 1 removable lock, 2 immutable, -1 unknown */
    int vault_policy;         /* vault: 1 has an access policy, 0 none, -1 cannot tell */
    int mfa_delete, object_lock, object_lock_governance; /* S3 versions and replicas */
    const char *key;          /* customer managed key protecting it, or NULL */
    const char *res_unknown;  /* why the copy's own resource policy is unknown, or NULL */
    const char *vault_unknown;/* why the vault's access policy is unknown, or NULL */
    const char *key_unknown;  /* why the key's policy is unknown, or NULL */
    int res_policy;           /* the copy's own resource has a policy (bucket or vault): 1, 0, -1 */
} km_recov_copy;

typedef struct km_recov_step {
    const char *action, *resource;
    int no_resource_policy;
} km_recov_step;

#define KM_RECOV_MAX_STEPS 3

typedef struct km_recov_path {
    const char *copy;         /* the copy it destroys (copy paths), else NULL */
    const char *why;          /* what the path does */
    km_recov_step steps[KM_RECOV_MAX_STEPS];
    size_t nsteps;
    km_tri result;            /* YES (allowed) or UNK (the snapshot cannot tell) */
    const char *allowed_by;   /* statements that allow the steps, one per line */
    int conditional;          /* allowed only if conditions kumomori cannot know hold */
    const char *undecided;    /* why it could not be decided (result UNK), else NULL */
} km_recov_path;

/* A privilege escalation: what a principal that cannot destroy the data and every copy itself
 * does first to get the permissions (checks/recov/actions.json "escalations"). */
typedef struct km_recov_escalation {
    const char *why;          /* "attach a policy that allows everything to itself" */
    const char *target;       /* the role, user, group or policy the steps act on */
    const char *as;           /* whose permissions the paths then use: the principal itself, or the role or user taken over */
    km_recov_step steps[KM_RECOV_MAX_STEPS];
    size_t nsteps;
    const char *allowed_by;   /* statements that allow the steps, one per line */
    int conditional;
    int grant_admin;          /* the paths are asked as if "as" held a policy allowing everything */
    const char *grant_group;  /* ... or the policies of this group (name) */
} km_recov_escalation;

typedef struct km_recov_principal {
    const char *arn, *kind, *credential;
    km_tri result;            /* YES: destroys the data and every copy; UNK: cannot tell */
    int conditional;
    const km_recov_escalation *via; /* NULL: with its own permissions; else after this escalation */
    km_recov_path *data, *copy;
    size_t ndata, ncopy;
} km_recov_principal;

typedef struct km_recov_plan {
    const char *plan, *selection, *vault, *account, *region;
    const char **copy_to;
    size_t ncopy_to;
} km_recov_plan;

typedef struct km_recov_store {
    const km_res *res;
    const char *arn, *type, *name, *account, *region, *what; /* what: "bucket", "database", ... */
    km_recov_verdict verdict;
    const char *reason;
    km_recov_copy *copies;
    size_t ncopies;
    km_recov_plan *plans;
    size_t nplans;
    km_recov_principal *principals;
    size_t nprincipals;
    const char **missing;
    size_t nmissing;
    int copies_incomplete;    /* a source of copies could not be read */
    int64_t newest;           /* newest copy with a known time, or 0 */
    /* facts */
    int deletion_protection;
    const char *key;          /* customer managed key protecting the data, or NULL */
    const char *res_unknown, *key_unknown;
    int res_policy;           /* the store has a resource policy: 1 yes, 0 no, -1 cannot tell */
} km_recov_store;

typedef struct km_recov km_recov;

/* IAM engine calls one analysis may make by default: a few seconds. Beyond them the stores left
 * are UNKNOWN (an AT_RISK already found stands), so a snapshot of 50,000 roles and 20,000 buckets
 * cannot run for hours. */
#define KM_RECOV_DEFAULT_EVALUATIONS 500000

typedef struct km_recov_opts {
    int64_t now;                    /* 0: the snapshot's time, else the clock */
    const char *managed_policies;   /* AWS managed policy documents (as iam --managed-policies), or NULL */
    size_t max_evaluations;         /* 0: KM_RECOV_DEFAULT_EVALUATIONS */
} km_recov_opts;

/* Analyse a finished snapshot. inputs are the paths it was loaded from (the IAM engine reads
 * the users, roles and policies from them). Never fails for missing data (that becomes UNKNOWN
 * and notes); returns NULL with err set only when memory runs out or the built-in action list
 * is broken. The caller owns the result. */
km_recov *km_recov_analyze(km_snap *snap, const char *const *inputs, size_t ninputs, const km_recov_opts *opts,
                           km_error *err);
void km_recov_free(km_recov *r); /* takes NULL */

size_t km_recov_nstores(const km_recov *r);
const km_recov_store *km_recov_store_at(const km_recov *r, size_t i);
/* Stores per verdict; the score (0..100), or -1 when no store was decided. */
size_t km_recov_count(const km_recov *r, km_recov_verdict v);
int km_recov_score(const km_recov *r);
int64_t km_recov_time(const km_recov *r);

/* The "recoverability" object of docs/recoverability.md, appended to b. */
int km_recov_json(const km_recov *r, km_buf *b);
/* The human-readable report (colour escapes when color); brief (the audit's section): one line
 * per store and the principals' names, without the paths. Returns 0, or -1 on a write error. */
int km_recov_text(const km_recov *r, FILE *f, int color, int brief);

#endif
