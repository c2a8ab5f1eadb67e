/* The read-only AWS CLI calls kumomori collects (checks/collect/commands.json, embedded in the
 * binary). collect runs them; the audit uses the same list to tell "not configured" error
 * answers from "cannot tell" ones. Internal to the audit. */
#ifndef KM_AUDIT_COMMANDS_H
#define KM_AUDIT_COMMANDS_H

#include "kumomori/error.h"
#include "kumomori/json.h"
#include <stddef.h>

typedef struct km_cmd_source {
    const char *from_service, *from_op; /* the call whose output gives the items */
    const char *items;                  /* path to the items ("Buckets", "trailList") */
    const char *key;                    /* template of the per-resource key */
    const km_json *where;               /* {"Field": "template"} equalities, or NULL */
} km_cmd_source;

typedef struct km_cmd {
    const char *service, *op;
    int global;               /* run once per account, stored under global/ */
    const km_json *args;      /* array of argument templates */
    km_cmd_source *sources;   /* per-resource call when nsources > 0 */
    size_t nsources;
    const km_json *absent;    /* array of "Code" or "Code:message substring" */
    const km_json *retry;     /* codes worth retrying (the credential report being built) */
    const km_json *iam;       /* IAM actions needed */
    const km_json *after;     /* ["service operation", ...] that must run first */
    const char *empty;        /* what an empty successful answer means ("{}") */
    int store;                /* 0: run for its side effect on the report only */
    int level;                /* dependency depth: 0 for plain calls */
} km_cmd;

typedef struct km_cmdset {
    km_json_doc *doc;
    km_cmd *cmds;
    size_t n;
} km_cmdset;

/* Load the embedded command list (or, when text is not NULL, the given JSON text).
 * Returns 0, or -1 with err naming what is wrong. The set owns everything. */
int km_cmdset_load(km_cmdset *set, const char *text, size_t len, km_error *err);
void km_cmdset_free(km_cmdset *set); /* takes NULL */
/* The process-wide embedded command list, loaded on first use (NULL if it does not parse). */
const km_cmdset *km_cmdset_builtin(void);
const km_cmd *km_cmdset_find(const km_cmdset *set, const char *service, const char *op);

typedef enum {
    KM_ERRCLASS_ABSENT,  /* the service answered "not configured": a real answer */
    KM_ERRCLASS_DENIED,  /* access denied: cannot tell */
    KM_ERRCLASS_OTHER    /* throttled, failed, invalid: cannot tell */
} km_errclass;

/* Classify an error answer of service/op (either may be NULL). */
km_errclass km_classify_error(const char *service, const char *op, const char *code, const char *message);

#endif
