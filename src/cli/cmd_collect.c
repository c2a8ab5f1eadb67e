/* kumomori collect: snapshot an account's configuration with read-only AWS CLI calls. */
#include "cli/commands.h"
#include "audit/collect.h"
#include "audit/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

KM_COMMAND(collect, 29, "snapshot an account's configuration with read-only AWS CLI calls (for audit)")

static void usage(FILE *f) {
    fprintf(f,
            "usage: kumomori collect --out DIR [options]\n\n"
            "Runs the read-only AWS CLI calls the audit needs (describe/list/get only; the list is built\n"
            "into kumomori: 'kumomori collect --print-policy' shows the IAM permissions it takes) and writes\n"
            "their answers as DIR/<account>/<region|global>/<service>/<operation>.json, per-resource\n"
            "answers under DIR/<account>/<region|global>/<service>/<operation>/<key>.json, and\n"
            "DIR/<account>/manifest.json. Error answers are kept: 'not configured' is a finding, 'access\n"
            "denied' makes the checks concerned UNKNOWN. kumomori never writes to AWS.\n\n"
            "  --out DIR             where to write (created if needed)\n"
            "  --profile NAME        AWS CLI profile to use\n"
            "  --regions R1,R2       regions to collect (default: AWS_REGION, AWS_DEFAULT_REGION, else us-east-1)\n"
            "  --all-regions         every region enabled for the account (ec2 describe-regions)\n"
            "  --services S1,S2      only these AWS CLI services (e.g. s3api,iam)\n"
            "  --jobs N              AWS CLI processes at once (default 4; throttling is retried adaptively)\n"
            "  --timeout SECONDS     per call (default 600)\n"
            "  --aws PATH            the AWS CLI program (default: aws on PATH)\n"
            "  --no-progress         no progress bar on standard error\n"
            "  --print-policy        print the read-only IAM policy collect needs, and exit\n"
            "  --trail s3://BUCKET[/PREFIX]\n"
            "                        instead: mirror a CloudTrail bucket for 'kumomori verify' (repeatable):\n"
            "                        aws s3 sync into DIR/trail/BUCKET/PREFIX, each digest's signature\n"
            "                        (s3api head-object) as DIGEST.sig beside it, the digests' regions' public\n"
            "                        keys (cloudtrail list-public-keys) in DIR/trail/public-keys.json\n\n"
            "Then: kumomori audit DIR   (or, after --trail: kumomori verify DIR/trail/BUCKET --public-keys\n"
            "      DIR/trail/public-keys.json)\n"
            "Exit status: 0 collected (some calls may have failed: see the manifest), 2 nothing collected.\n");
}

int km_cmd_collect(int argc, char **argv) {
    if (km_cli_wants_help(argc, argv)) { usage(stdout); return 0; }
    km_collect_opts o;
    memset(&o, 0, sizeof o);
    o.jobs = 4;
    o.timeout_s = 600;
    o.progress = isatty(2);
    char *regions_buf = NULL;
    const char **regions = NULL;
    const char *trails[16];
    size_t ntrails = 0;
    int rc = 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        if (!strcmp(a, "--out") && has) o.out_dir = argv[++i];
        else if (!strcmp(a, "--profile") && has) o.profile = argv[++i];
        else if (!strcmp(a, "--regions") && has) {
            free(regions_buf);
            free(regions);
            regions_buf = strdup(argv[++i]);
            regions = calloc(strlen(argv[i]) + 1, sizeof *regions);
            if (!regions_buf || !regions) goto out;
            o.nregions = 0;
            char *save = NULL;
            for (char *t = strtok_r(regions_buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                if (!km_is_region(t)) {
                    km_cli_usage_error("collect", "'%s' is not a region name (like eu-west-1)", t);
                    goto out;
                }
                regions[o.nregions++] = t;
            }
            o.regions = regions;
        } else if (!strcmp(a, "--all-regions")) o.all_regions = 1;
        else if (!strcmp(a, "--services") && has) o.services = argv[++i];
        else if (!strcmp(a, "--trail") && has) {
            if (ntrails == sizeof trails / sizeof *trails) {
                km_cli_usage_error("collect", "at most %zu --trail", sizeof trails / sizeof *trails);
                goto out;
            }
            trails[ntrails++] = argv[++i];
        }
        else if (!strcmp(a, "--aws") && has) o.aws = argv[++i];
        else if (!strcmp(a, "--no-progress")) o.progress = 0;
        else if ((!strcmp(a, "--jobs") || !strcmp(a, "--timeout")) && has) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (*end || v < 1 || v > (a[2] == 'j' ? 64 : 86400)) {
                km_cli_usage_error("collect", "%s takes a number (1..%d), not '%s'", a, a[2] == 'j' ? 64 : 86400, argv[i]);
                goto out;
            }
            if (a[2] == 'j') o.jobs = (int)v;
            else o.timeout_s = (int)v;
        } else if (!strcmp(a, "--print-policy")) {
            km_collect_print_policy();
            rc = 0;
            goto out;
        } else if (a[0] == '-') {
            km_cli_usage_error("collect", "%s '%s'", has || a[1] != '-' ? "unknown option" : "missing value for", a);
            goto out;
        } else {
            km_cli_usage_error("collect", "unexpected argument '%s'", a);
            goto out;
        }
    }
    if (!o.out_dir) { km_cli_usage_error("collect", "--out DIR is required"); goto out; }
    if (o.nregions && o.all_regions) { km_cli_usage_error("collect", "give --regions or --all-regions, not both"); goto out; }
    km_error err;
    if (ntrails) {
        if (o.nregions || o.all_regions || o.services) {
            km_cli_usage_error("collect", "--trail mirrors a trail bucket only: --regions, --all-regions and --services do not apply (run collect twice)");
            goto out;
        }
        rc = 0;
        for (size_t t = 0; t < ntrails; t++) {
            km_trail_summary ts;
            if (km_collect_trail(&o, trails[t], &ts, &err) != KM_OK) {
                fprintf(stderr, "kumomori collect: %s\n", err.msg);
                rc = 2;
                continue;
            }
            fprintf(stderr, "kumomori collect: trail %s: mirrored into %s in %.1f s: %zu digest(s), %zu signature(s) saved, %zu kept from before, %zu failed; public keys of %zu/%zu region(s) (%zu key(s))\n",
                    trails[t], ts.mirror, ts.seconds, ts.digests, ts.sigs, ts.sigs_kept, ts.sig_failed, ts.key_regions, ts.regions, ts.keys);
            if (ts.sync_warning[0]) fprintf(stderr, "  aws s3 sync skipped some files: %s\n", ts.sync_warning);
            for (size_t k = 0; k < ts.nfailures; k++) fprintf(stderr, "  failed: %s\n", ts.failures[k]);
            if (ts.keys_written)
                fprintf(stderr, "  next: kumomori verify %s --public-keys %s\n", ts.mirror, ts.keys_file);
            else
                fprintf(stderr, "  no public keys were saved (no digest found, or list-public-keys failed): verify needs --public-keys\n");
        }
        goto out;
    }
    km_collect_summary sum;
    if (km_collect_run(&o, &sum, &err) != KM_OK) {
        fprintf(stderr, "kumomori collect: %s\n", err.msg);
        if (sum.write_failed) /* a full disk: the answers before the manifest say so first */
            fprintf(stderr, "  %zu answer(s) could not be written either, the first: %s\n", sum.write_failed, sum.write_error);
        goto out;
    }
    fprintf(stderr, "kumomori collect: account %s: %zu calls in %.1f s: %zu answered, %zu not configured, %zu denied, %zu failed\n"
                    "  written to %s (manifest.json lists every call); next: kumomori audit %s\n",
            sum.account, sum.calls, sum.seconds, sum.ok, sum.absent, sum.denied, sum.failed, sum.dir, o.out_dir);
    if (sum.truncated)
        fprintf(stderr, "  %zu answer(s) cut short by the command's --max-items (\"truncated\" in manifest.json)\n", sum.truncated);
    if (sum.write_failed)
        fprintf(stderr, "  %zu answer(s) could not be written (\"write failed\" in manifest.json; their checks cannot tell), "
                        "the first: %s\n", sum.write_failed, sum.write_error);
    if (sum.skipped)
        fprintf(stderr, "  %zu call(s) not run: a parameter could not be filled in from the answer it comes from "
                        "(\"skipped\" in manifest.json; their checks cannot tell)\n", sum.skipped);
    rc = 0;
out:
    free(regions_buf);
    free(regions);
    return rc;
}
