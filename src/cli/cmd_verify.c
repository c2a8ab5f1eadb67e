/* kumomori verify: CloudTrail digest validation over a local mirror of the trail bucket, and
 * verification of kumomori's own sealed (hash-chained, signed) output. */
#include "cli/commands.h"
#include "kumomori/json.h"
#include "kumomori/seal.h"
#include "kumomori/trail.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

KM_COMMAND(verify, 60, "validate CloudTrail digests and log hashes, or a sealed kumomori output")

static void help(void) {
    printf("usage: kumomori verify TRAIL_DIR... --public-keys KEYS.json [options]\n"
           "       kumomori verify --sealed FILE --public-key PUB [--format text|json]\n"
           "\n"
           "Validates CloudTrail log file integrity offline, as `aws cloudtrail validate-logs` does, over\n"
           "TRAIL_DIR, a local mirror of the trail bucket (as `aws s3 sync` writes it). The signature of\n"
           "digest file D is read from the sidecar D.sig: the hex signature as S3 returns it in\n"
           "x-amz-meta-signature (or the JSON `aws s3api head-object` prints). Every digest's signature,\n"
           "location and link to the previous digest are checked, each older digest's hash and signature\n"
           "against what the newer digest recorded, and every log's SHA-256. Logs in the bucket that no\n"
           "digest lists are reported as unexpected.\n"
           "\n"
           "options:\n"
           "  --public-keys FILE  output of `aws cloudtrail list-public-keys` for the trail's regions\n"
           "                      (repeat for several files); PKCS#1 and X.509 DER keys\n"
           "  --bucket NAME       bucket name (default: the folder's name; one TRAIL_DIR only)\n"
           "  --prefix P          the key prefix the folder holds, when it mirrors s3://bucket/P\n"
           "  --start T, --end T  only digests for this period (2024-05-01, 2024-05-01T10:00:00Z, ...)\n"
           "  --format text|json  output format (default text)\n"
           "  -v, --verbose       also list the valid files\n"
           "  --jobs N            threads hashing logs (default 2)\n"
           "  Several TRAIL_DIRs: mirrors of several buckets (a trail that changed bucket).\n"
           "\n"
           "  --sealed FILE       verify a sealed output (detect/watch/audit --seal, `kumomori seal`)\n"
           "  --public-key PUB    the public key of `kumomori keygen`\n"
           "\n"
           "exit status: 0 everything in range is valid, 1 something is invalid, missing or unexpected\n"
           "(or no digest was found), 2 usage error or unreadable input.\n");
}

static int verify_sealed(const char *file, const char *pub, int json) {
    km_error err;
    km_error_clear(&err);
    km_seal_key *key = km_seal_key_load_public(pub, &err);
    if (!key) {
        fprintf(stderr, "kumomori verify: %s\n", err.msg);
        return 2;
    }
    size_t len = 0;
    char *text = km_read_file(file, (size_t)4 << 30, &len, &err);
    if (!text) {
        fprintf(stderr, "kumomori verify: %s\n", err.msg);
        km_seal_key_free(key);
        return 2;
    }
    km_seal_report *r = NULL;
    int rc = km_seal_verify(text, len, key, &r, &err);
    free(text);
    km_seal_key_free(key);
    if (rc) {
        fprintf(stderr, "kumomori verify: %s: %s\n", file, err.msg);
        return 2;
    }
    if (json) {
        km_buf o = KM_BUF_INIT;
        km_seal_report_json(r, &o);
        if (o.data) fwrite(o.data, 1, o.len, stdout);
        km_buf_free(&o);
    } else {
        km_seal_report_text(r, file, stdout);
    }
    int ok = km_seal_report_ok(r);
    km_seal_report_free(r);
    return ok ? 0 : 1;
}

int km_cmd_verify(int argc, char **argv) {
    if (km_cli_wants_help(argc, argv)) {
        help();
        return 0;
    }
    const char **keyfiles = calloc((size_t)argc, sizeof *keyfiles);
    km_trail_mirror *mirrors = calloc((size_t)argc, sizeof *mirrors);
    if (!keyfiles || !mirrors) {
        free(keyfiles);
        free(mirrors);
        fprintf(stderr, "kumomori verify: out of memory\n");
        return 2;
    }
    size_t nkeys = 0, nmirrors = 0;
    const char *bucket = NULL, *prefix = NULL, *start = NULL, *end = NULL, *format = "text";
    const char *sealed = NULL, *pub = NULL;
    int verbose = 0, jobs = 2, rc = 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_val = i + 1 < argc;
        if (strcmp(a, "--public-keys") == 0 && has_val) keyfiles[nkeys++] = argv[++i];
        else if (strcmp(a, "--bucket") == 0 && has_val) bucket = argv[++i];
        else if (strcmp(a, "--prefix") == 0 && has_val) prefix = argv[++i];
        else if (strcmp(a, "--start") == 0 && has_val) start = argv[++i];
        else if (strcmp(a, "--end") == 0 && has_val) end = argv[++i];
        else if (strcmp(a, "--format") == 0 && has_val) format = argv[++i];
        else if (strcmp(a, "--sealed") == 0 && has_val) sealed = argv[++i];
        else if (strcmp(a, "--public-key") == 0 && has_val) pub = argv[++i];
        else if (strcmp(a, "--jobs") == 0 && has_val) {
            char *e = NULL;
            long v = strtol(argv[++i], &e, 10);
            if (!e || *e || v < 1 || v > 64) {
                km_cli_usage_error("verify", "--jobs wants a number from 1 to 64, not '%s'", argv[i]);
                goto out;
            }
            jobs = (int)v;
        } else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) verbose = 1;
        else if (a[0] == '-' && a[1]) {
            km_cli_usage_error("verify", "unknown option or missing value: '%s'", a);
            goto out;
        } else mirrors[nmirrors++].dir = a;
    }
    if (strcmp(format, "text") != 0 && strcmp(format, "json") != 0) {
        km_cli_usage_error("verify", "--format must be text or json, not '%s'", format);
        goto out;
    }
    if (sealed || pub) {
        if (!sealed || !pub || nmirrors || nkeys) {
            km_cli_usage_error("verify", "--sealed FILE needs --public-key PUB and nothing else");
            goto out;
        }
        rc = verify_sealed(sealed, pub, strcmp(format, "json") == 0);
        goto out;
    }
    if (nmirrors == 0) {
        km_cli_usage_error("verify", "give the trail folder (a mirror of the trail bucket)");
        goto out;
    }
    if (nkeys == 0) {
        km_cli_usage_error("verify", "give --public-keys KEYS.json (the output of `aws cloudtrail list-public-keys`)");
        goto out;
    }
    if ((bucket || prefix) && nmirrors > 1) {
        km_cli_usage_error("verify", "--bucket and --prefix apply to a single TRAIL_DIR");
        goto out;
    }
    for (size_t i = 0; i < nmirrors; i++) {
        struct stat st;
        if (stat(mirrors[i].dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
            fprintf(stderr, "kumomori verify: %s: not a folder\n", mirrors[i].dir);
            goto out;
        }
    }
    mirrors[0].bucket = bucket;
    mirrors[0].prefix = prefix;
    int64_t ts = KM_TRAIL_TIME_MIN, te = KM_TRAIL_TIME_MAX;
    if (start && km_trail_parse_time(start, &ts)) {
        km_cli_usage_error("verify", "--start: '%s' is not a time (use 2024-05-01 or 2024-05-01T10:00:00Z)", start);
        goto out;
    }
    if (end && km_trail_parse_time(end, &te)) {
        km_cli_usage_error("verify", "--end: '%s' is not a time (use 2024-05-01 or 2024-05-01T10:00:00Z)", end);
        goto out;
    }
    if (ts > te) {
        km_cli_usage_error("verify", "invalid time range: --start must come before --end");
        goto out;
    }
    km_error err;
    km_error_clear(&err);
    km_trail_keys *keys = km_trail_keys_new();
    if (!keys) {
        fprintf(stderr, "kumomori verify: out of memory\n");
        goto out;
    }
    for (size_t i = 0; i < nkeys; i++) {
        if (km_trail_keys_load_file(keys, keyfiles[i], &err)) {
            fprintf(stderr, "kumomori verify: %s\n", err.msg);
            km_trail_keys_free(keys);
            goto out;
        }
    }
    km_trail_opts o = {mirrors, nmirrors, keys, ts, te, jobs, 0};
    km_trail_report *r = NULL;
    if (km_trail_verify(&o, &r, &err)) {
        fprintf(stderr, "kumomori verify: %s\n", err.msg);
        km_trail_keys_free(keys);
        goto out;
    }
    if (strcmp(format, "json") == 0) {
        km_buf b = KM_BUF_INIT;
        if (km_trail_report_json(r, &b)) { /* a cut-short report is no report */
            fprintf(stderr, "kumomori verify: out of memory while writing the report\n");
            km_buf_free(&b);
            km_trail_report_free(r);
            km_trail_keys_free(keys);
            goto out;
        }
        fwrite(b.data, 1, b.len, stdout);
        km_buf_free(&b);
    } else {
        char a[32], z[32];
        km_trail_format_time(ts, a);
        km_trail_format_time(te, z);
        printf("Validating CloudTrail log files in ");
        for (size_t i = 0; i < nmirrors; i++) {
            const char *dir = mirrors[i].dir;
            size_t n = strlen(dir);
            while (n > 1 && dir[n - 1] == '/') n--;
            size_t s = n;
            while (s > 0 && dir[s - 1] != '/') s--;
            printf("%s%s (s3://", i ? ", " : "", dir);
            if (mirrors[i].bucket) printf("%s", mirrors[i].bucket);
            else printf("%.*s", (int)(n - s), dir + s);
            if (mirrors[i].prefix && *mirrors[i].prefix) printf("/%s", mirrors[i].prefix);
            printf(")");
        }
        printf(" between %s and %s\n\n", a, z);
        km_trail_report_text(r, stdout, verbose);
    }
    rc = km_trail_report_ok(r) ? 0 : 1;
    km_trail_report_free(r);
    km_trail_keys_free(keys);
out:
    free(keyfiles);
    free(mirrors);
    return rc;
}
