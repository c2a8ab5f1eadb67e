/* A snapshot of one or more AWS accounts' configuration, as kumomori collect writes it
 * (DIR/<account>/<region|global>/<service>/<operation>.json and per-resource answers in
 * DIR/<account>/<region>/<service>/<operation>/<key>.json) and as AWS Config delivers it
 * (configuration snapshot files), normalised into one resource model: resources in the shape
 * of an AWS Config configuration item (type, id, name, ARN, account, region, configuration,
 * supplementary configuration, tags).
 *
 * Every answer read is kept with what it says about the account: data, "not configured" (an
 * error answer such as NoSuchPublicAccessBlockConfiguration, which is a real answer), access
 * denied or failed (cannot tell), or not collected (cannot tell). Checks use that to report
 * UNKNOWN, never FAIL, when they could not see.
 *
 * Ownership: the snapshot owns every document, string and resource it hands out; they stay
 * valid until km_snap_free. Not thread-safe: load and query from one thread. */
#ifndef KM_AUDIT_SNAP_H
#define KM_AUDIT_SNAP_H

#include "kumomori/error.h"
#include "kumomori/json.h"
#include <stddef.h>
#include <stdint.h>

typedef enum {
    KM_DATA_OK,      /* the call answered with data */
    KM_DATA_ABSENT,  /* the service answered "not configured" */
    KM_DATA_DENIED,  /* access denied: cannot tell */
    KM_DATA_ERROR,   /* failed, throttled or unreadable: cannot tell */
    KM_DATA_MISSING  /* not in the snapshot: cannot tell */
} km_data_status;

typedef struct km_item {
    km_data_status status;
    const km_json *json;  /* the answer when OK; never NULL then */
    const char *code;     /* AWS error code (ABSENT, DENIED, ERROR), or NULL */
    const char *message;  /* error message, or why the data is missing or unusable */
    const char *file;     /* where it was read, or NULL when missing */
    size_t base;          /* byte offset of the answer in the parsed text (for positions) */
} km_item;

#define KM_RES_MAX_VIEWS 4

/* A resource in AWS Config configuration-item shape. */
typedef struct km_res {
    const char *type;     /* "AWS::S3::Bucket" */
    const char *id;       /* resourceId */
    const char *name;     /* resourceName (often equal to id) */
    const char *arn;      /* may be NULL when unknown */
    const char *account;
    const char *region;   /* a region, or "global" */
    const km_json *cfg;   /* configuration (an object) */
    const km_json *views[KM_RES_MAX_VIEWS]; /* further configurations of the same resource from
                                               other calls (iam list-roles next to
                                               get-account-authorization-details) */
    int nviews;
    const km_json *supp;  /* supplementaryConfiguration (AWS Config input), or NULL */
    const km_json *tags;  /* {"k": "v"} (Config) or [{"Key":..,"Value":..}] (CLI), or NULL */
    const char *file;     /* the file it came from */
    size_t base;          /* base offset of cfg's text in that file's parse */
    /* collect input: where the per-resource answers for this resource live */
    const char *key;
    const char *data_region;
    int from_config;      /* 1 when read from an AWS Config snapshot */
} km_res;

typedef struct km_snap km_snap;

km_snap *km_snap_new(void);
void km_snap_free(km_snap *s); /* takes NULL */

/* Load a path: a collect output directory (or one account's directory in it), a directory of
 * AWS Config snapshot files (as synced from S3), or one file. Unreadable or malformed files are
 * recorded as problems (km_snap_problem) and loading goes on; the answers they held become
 * "cannot tell". Returns KM_OK, or an error when the path itself cannot be read. */
int km_snap_load(km_snap *s, const char *path, km_error *err);

/* Add one file's text from memory, as if read at rel inside a loaded directory
 * ("111122223333/global/s3api/list-buckets.json", or a Config snapshot's name). display names
 * it in messages (defaults to rel). Problems are recorded as for files. For tests. */
int km_snap_add_text(km_snap *s, const char *rel, const char *text, size_t len, const char *display);

/* Whether something was lost for want of memory while loading or building (harden helper): the
 * model is then incomplete and the run must fail rather than report on it. */
int km_snap_oom(const km_snap *s);

/* Build the resource model from everything loaded. Call once after the last load. */
int km_snap_finish(km_snap *s, km_error *err);

/* The answer to one call: key NULL for account- or region-level calls, the resource key for
 * per-resource calls. region is a region name or "global". */
km_item km_snap_get(const km_snap *s, const char *account, const char *region, const char *service,
                    const char *op, const char *key);
/* Every per-resource answer of one call, in load order. Returns how many; *keys and *items
 * point to arrays owned by the snapshot. */
size_t km_snap_keys(const km_snap *s, const char *account, const char *region, const char *service,
                    const char *op, const char *const **keys, const km_item *const **items);

/* Accounts (sorted) and the regions seen for an account (sorted, "global" excluded). */
size_t km_snap_naccounts(const km_snap *s);
const char *km_snap_account(const km_snap *s, size_t i);
size_t km_snap_nregions(const km_snap *s, const char *account);
const char *km_snap_region(const km_snap *s, const char *account, size_t i);
/* Whether the account holds any collect answers (as opposed to AWS Config input only). */
int km_snap_has_collect(const km_snap *s, const char *account);

/* Resources of a type (all accounts), in load order. */
const km_res *const *km_snap_resources(const km_snap *s, const char *type, size_t *n);
const km_res *km_snap_find_arn(const km_snap *s, const char *arn);
/* Whether the list of resources of type in account/region is complete: OK when the listing
 * call answered, otherwise why it is not known (then "no resource" means "cannot tell"). */
km_item km_snap_listing(const km_snap *s, const char *account, const char *region, const char *type);

/* Problems met while loading (file, position, what), in order. */
size_t km_snap_nproblems(const km_snap *s);
const char *km_snap_problem(const km_snap *s, size_t i);
/* Number of files read and answers stored. */
size_t km_snap_nfiles(const km_snap *s);

/* Every file read, in load order, for an analysis that would otherwise read the same folder
 * again (the IAM engine of the recoverability analysis): its path as opened (the loaded path,
 * '/', then the path inside it), its whole document as parsed (an error answer's too, before
 * km_item interprets it), or NULL when it could not be read or parsed (a problem says why),
 * and which km_snap_load call read it (0 for the first; (size_t)-1 for km_snap_add_text).
 * Returns the path, or NULL past the end. */
size_t km_snap_nloads(const km_snap *s);
size_t km_snap_nread(const km_snap *s);
const char *km_snap_read(const km_snap *s, size_t i, const km_json **root, size_t *load);

/* JSON kept inside a string value (SCP Content, EventBridge EventPattern, S3 bucket policy,
 * Config's URL-encoded IAM documents) parsed once and cached. An object or array is returned
 * as is. NULL when v is not JSON text, with *why set (why may be NULL). */
const km_json *km_snap_embedded(km_snap *s, const km_json *v, const char **why);

/* A field of a resource's configuration (case-insensitive), looked up in cfg and then in the
 * further views; NULL when absent. */
const km_json *km_res_get(const km_res *r, const char *field);
/* The per-resource answer of service/op for a collected resource (MISSING for AWS Config
 * input, whose answers are in r->supp). */
km_item km_res_data(const km_snap *s, const km_res *r, const char *service, const char *op);

/* Intern a string for the snapshot's lifetime. */
const char *km_snap_intern(km_snap *s, const char *str);

/* The snapshot's "now" for age checks: the collect manifest's time, else the newest Config
 * capture time, else 0 (the caller decides). */
int64_t km_snap_time(const km_snap *s);

#endif
