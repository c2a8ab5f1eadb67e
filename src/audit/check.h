/* What check logic (src/audit/chk_*.c) sees: the snapshot, the options, and functions to emit
 * findings with their evidence. A check never returns FAIL for data it could not read:
 * km_emit_item turns a missing, denied or failed answer into UNKNOWN with the reason. */
#ifndef KM_AUDIT_CHECK_H
#define KM_AUDIT_CHECK_H

#include "audit/audit.h"
#include "audit/snap.h"
#include "audit/util.h"

typedef struct km_check_impl {
    const char *id;
    void (*fn)(km_audit *a);
} km_check_impl;

/* Each chk_*.c file exports one table ending with {NULL, NULL}. */
extern const km_check_impl km_chk_s3[], km_chk_iam[], km_chk_ec2[], km_chk_rds[], km_chk_trail[],
    km_chk_logs[], km_chk_backup[], km_chk_svc[], km_chk_app[], km_chk_org[], km_chk_kms[], km_chk_recov[];

struct km_audit {
    km_snap *snap;
    const km_checkset *checks;
    km_audit_opts opts;
    const km_check *cur;
    void *arena; /* km_arena* for finding strings */
    km_finding *f;
    size_t n, cap;
    const char *ev[16]; /* files read for the finding being built */
    size_t nev, ev_mark;
    struct km_org *org;  /* built on first use (org.c) */
    struct km_cache_entry *cache;
    int oom; /* a finding was lost for want of memory: km_audit_run fails (no partial report) */
};

/* Per-run cache for derived data several checks share (the parsed credential report). The
 * audit owns what is put there and calls free_fn on it at the end; when km_cache_put fails (-1,
 * out of memory: the audit then fails) val stays the caller's. */
void *km_cache_get(km_audit *a, const char *key);
int km_cache_put(km_audit *a, const char *key, void *val, void (*free_fn)(void *));

/* Evidence: files read. km_ev adds one; km_begin starts a resource (keeps the files read before
 * the loop, adds the resource's own file). */
void km_ev(km_audit *a, const char *file);
void km_ev_item(km_audit *a, const km_item *it);
void km_ev_sticky(km_audit *a); /* files read so far stay for every later finding */
/* Returns 1 (after emitting UNKNOWN) when the resource's configuration is unreadable: skip it. */
int km_begin(km_audit *a, const km_res *r);

/* Emit a finding for a resource / for a place without a resource (an account, or an account in
 * a region: type "AWS::::Account"). */
void km_emit(km_audit *a, const km_res *r, km_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void km_emit_acct(km_audit *a, const char *account, const char *region, km_status st, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void km_emit_at(km_audit *a, const char *account, const char *region, const char *type, const char *id,
                const char *name, const char *arn, km_status st, const char *fmt, ...)
    __attribute__((format(printf, 9, 10)));

/* UNKNOWN for an answer that is not usable, saying why ("what" names the call). Returns 1 when
 * it emitted (the item was not OK and not ABSENT), else 0. */
int km_unknown_res(km_audit *a, const km_res *r, const km_item *it, const char *what);
int km_unknown_acct(km_audit *a, const char *account, const char *region, const km_item *it, const char *what);
/* Why an item cannot be used, in words (into buf). */
const char *km_item_why(const km_item *it, const char *what, char *buf, size_t n);

/* Data access that records the file read as evidence. */
km_item km_get(km_audit *a, const char *account, const char *region, const char *service, const char *op,
               const char *key);
km_item km_rget(km_audit *a, const km_res *r, const char *service, const char *op);
const km_res *const *km_all(km_audit *a, const char *type, size_t *n);
/* Resources of type in one account (and region, unless region is NULL), into a malloc'd array
 * the caller frees. */
const km_res **km_select(km_audit *a, const char *type, const char *account, const char *region, size_t *n);

/* Accounts and regions. */
size_t km_naccounts(km_audit *a);
const char *km_account(km_audit *a, size_t i);
size_t km_nregions(km_audit *a, const char *account);
const char *km_region(km_audit *a, const char *account, size_t i);
int64_t km_now(km_audit *a);
/* Age in days of a timestamp value; -1 when it cannot be parsed. */
double km_age_days(km_audit *a, const km_json *t);

/* Supplementary configuration of an AWS Config resource (a JSON string is parsed), or NULL. */
const km_json *km_supp(km_audit *a, const km_res *r, const char *name);

/* Tags as "k=v" lookup. */
const char *km_tag(const km_res *r, const char *key);
/* The same on a tag list itself ({"k": "v"} from AWS Config, [{"Key", "Value"}] from the CLI). */
const char *km_tags_get(const km_json *tags, const char *key);
/* Where the listing of type was denied or failed, one UNKNOWN per account and region (what names
 * the call) rather than silence. */
void km_listing_unknown(km_audit *a, const char *type, const char *what);

/* The AWS Organizations picture for an account, built from whatever accounts of the
 * organisation the snapshot holds (org.c). */
typedef enum {
    KM_ORG_NONE,       /* the account is known not to be in an organisation */
    KM_ORG_MEMBER,     /* a member account whose organisation's policies the snapshot holds */
    KM_ORG_MANAGEMENT, /* the management account (SCPs never apply to it) */
    KM_ORG_UNKNOWN     /* cannot tell (denied, not collected, or policies not visible) */
} km_org_state;

typedef struct km_scp {
    const char *id, *name;
    const char *target;   /* where it is attached: root, OU or account id */
    const km_json *doc;   /* the parsed Content, or NULL when unreadable */
    const char *file;     /* describe-policy answer */
    const char *why;      /* when doc is NULL: why the content cannot be read */
    int applies;          /* 1: applies to the account; 2: attached to an OU the account may be in */
} km_scp;

/* The SCPs of account's organisation that apply (or may apply) to it. On KM_ORG_UNKNOWN *why
 * says what is missing. The array is owned by the audit. */
km_org_state km_org_scps(km_audit *a, const char *account, const km_scp **scps, size_t *n, const char **why);
/* The account's organisation id and management account, when known (else NULL). */
const char *km_org_id(km_audit *a, const char *account);
const char *km_org_management(km_audit *a, const char *account);
/* 1 when both accounts are known to be in the same organisation, 0 when known not, -1 unknown. */
int km_org_same(km_audit *a, const char *account, const char *other);
void km_org_free(struct km_org *o);

#endif
