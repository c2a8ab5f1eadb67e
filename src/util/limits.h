/* Process-wide resource limits on untrusted input, set once by the command line
 * (`--limit NAME=VALUE`, repeatable, any command) or the environment
 * (KUMOMORI_LIMITS="NAME=VALUE,..."), before any input is read. docs/security.md lists them.
 * A limit left unset keeps each reader's own default (km_limit's def argument), so that a
 * policy file and a log file can keep different sizes until the user says otherwise.
 * Thread-safety: set before threads start, then read-only. */
#ifndef KM_LIMITS_H
#define KM_LIMITS_H
#include <stddef.h>
#include "kumomori/error.h"

typedef enum {
    KM_LIMIT_DEPTH,    /* JSON nesting depth, every JSON reader */
    KM_LIMIT_STRING,   /* bytes in one JSON string (policies, snapshots, rules, digests) */
    KM_LIMIT_RECORD,   /* bytes in one CloudTrail record (detect, watch) */
    KM_LIMIT_FIELDS,   /* flattened fields kept per record while matching */
    KM_LIMIT_FILE,     /* bytes of one file read whole (snapshots, policies, rules, digests, keys) */
    KM_LIMIT_RULES,    /* rules loaded in one run */
    KM_LIMIT_PATTERNS, /* patterns compiled into one matcher */
    KM_LIMIT_GROUPS,   /* groups kept per threshold or correlation rule */
    KM_LIMIT_PENDING,  /* events waiting for late ones (thresholds, correlations) */
    KM_LIMIT_COUNT
} km_limit_id;

/* Built-in default of each limit for the table in --help and docs (0 for "per reader"). */
typedef struct km_limit_info {
    const char *name;
    size_t def;
    const char *what;
} km_limit_info;
const km_limit_info *km_limit_info_of(km_limit_id id);

/* The value set for id, or def when none was set. */
size_t km_limit(km_limit_id id, size_t def);
/* Whether the user set id. */
int km_limit_is_set(km_limit_id id);

/* Apply "NAME=VALUE" (VALUE a positive integer with an optional k, M or G suffix, powers of
 * 1024). Returns 0, or -1 with err saying what is wrong. */
int km_limit_set(const char *spec, km_error *err);
/* Apply a comma- or space-separated list of NAME=VALUE (the KUMOMORI_LIMITS syntax). */
int km_limits_set_list(const char *list, km_error *err);

/* Fixed, not a --limit: how many folders below the path given a snapshot folder (audit,
 * recoverability: src/audit/snap.c) or a policy folder (iam: src/iam/account.c) is read. One
 * number for both, as they read the same snapshots: a file 16 folders down is read, one 17 down
 * is not (and the folder is named as an input problem). docs/security.md, "Limits". */
#define KM_FOLDER_MAX_DEPTH 16

/* Threads the audit's snapshot reader and recoverability analysis may use: KUMOMORI_THREADS=N
 * (a whole number from 1; more than KM_THREADS_MAX is taken as KM_THREADS_MAX), else the number of
 * processors online, at most KM_THREADS_MAX. 1 means everything on the calling thread. Reads the
 * environment at each call (no state, so any thread may call it); a value that is not a whole
 * number from 1 counts as unset here: km_threads_check refuses it once, up front (src/cli/main.c). */
#define KM_THREADS_MAX 8
int km_threads(void);
/* 0 when KUMOMORI_THREADS is unset, empty or a whole number from 1; otherwise -1 with err saying
 * what is wrong with it. */
int km_threads_check(km_error *err);
#endif
