/* kumomori collect: run the read-only AWS CLI calls of checks/collect/commands.json and write
 * their answers in the layout the audit reads:
 *   OUT/<account>/<region|global>/<service>/<operation>.json
 *   OUT/<account>/<region|global>/<service>/<operation>/<percent-encoded key>.json
 *   OUT/<account>/manifest.json
 * An error answer is kept as {"Error": {"Code": ..., "Message": ...}} so that the audit can
 * tell "not configured" from "denied". The AWS CLI does the signing, retries (adaptive mode)
 * and pagination; kumomori runs a bounded number of them at once. */
#ifndef KM_AUDIT_COLLECT_H
#define KM_AUDIT_COLLECT_H

#include "kumomori/error.h"
#include <stddef.h>

typedef struct km_collect_opts {
    const char *out_dir;
    const char *profile;          /* --profile for every call, or NULL */
    const char *aws;              /* the AWS CLI program (default "aws" on PATH) */
    const char *const *regions;   /* explicit regions, or NULL */
    size_t nregions;
    int all_regions;              /* every enabled region (ec2 describe-regions) */
    int jobs;                     /* calls at once (default 4) */
    int timeout_s;                /* per call (default 600) */
    int progress;                 /* draw a progress bar on stderr */
    const char *services;         /* comma-separated CLI service names to limit to, or NULL */
} km_collect_opts;

typedef struct km_collect_summary {
    char account[16];
    size_t calls, ok, absent, denied, failed;
    size_t truncated;             /* answers cut short by the command's --max-items (NextToken kept) */
    size_t skipped;               /* calls not run: a parameter could not be filled in (not in calls) */
    size_t write_failed;          /* answers that could not be written ("write failed" in the manifest) */
    char write_error[600];        /* the first of them: "PATH: reason" */
    double seconds;
    char dir[4096];               /* OUT/<account> */
} km_collect_summary;

/* Returns KM_OK (even when some calls failed: they are recorded), or an error when nothing
 * could be collected (no AWS CLI, no credentials, output not writable). */
int km_collect_run(const km_collect_opts *o, km_collect_summary *sum, km_error *err);

/* collect --trail s3://BUCKET[/PREFIX]: mirror a CloudTrail bucket into OUT/trail/BUCKET/PREFIX
 * with `aws s3 sync`, save each digest's signature (head-object's Metadata.signature, hex) as
 * KEY.sig beside it, and the public keys of the digests' regions (list-public-keys) as
 * OUT/trail/public-keys-REGION.json and, all together, OUT/trail/public-keys.json: what
 * `kumomori verify OUT/trail/BUCKET --public-keys OUT/trail/public-keys.json` needs
 * (collect_trail.c). Uses o->out_dir, profile, aws, jobs, timeout_s, progress. */
#define KM_TRAIL_MAX_FAILURES 20
typedef struct km_trail_summary {
    char mirror[4096];            /* OUT/trail/BUCKET: the folder to give verify */
    char keys_file[4200];         /* OUT/trail/public-keys.json */
    int keys_written;
    size_t digests, sigs, sigs_kept, sig_failed;
    size_t regions, key_regions, key_failed, keys;
    char sync_warning[512];       /* s3 sync skipped some files (its exit status 2) */
    char failures[KM_TRAIL_MAX_FAILURES][1100]; /* the first failed calls: what and why */
    size_t nfailures;
    double seconds;
} km_trail_summary;

/* Returns KM_OK when the mirror was made (calls that failed are in sum and in
 * OUT/trail/manifest-BUCKET.json), or an error when the URL is malformed or s3 sync failed. */
int km_collect_trail(const km_collect_opts *o, const char *url, km_trail_summary *sum, km_error *err);

/* Write the read-only IAM policy the command list needs (JSON) to stdout. */
void km_collect_print_policy(void);

#endif
