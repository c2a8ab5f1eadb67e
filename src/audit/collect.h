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
    double seconds;
    char dir[4096];               /* OUT/<account> */
} km_collect_summary;

/* Returns KM_OK (even when some calls failed: they are recorded), or an error when nothing
 * could be collected (no AWS CLI, no credentials, output not writable). */
int km_collect_run(const km_collect_opts *o, km_collect_summary *sum, km_error *err);

/* Write the read-only IAM policy the command list needs (JSON) to stdout. */
void km_collect_print_policy(void);

#endif
