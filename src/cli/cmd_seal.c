/* kumomori seal: seal a JSON-lines stream (one JSON object per line) with the format that
 * detect/watch/audit --seal write, for output that was made elsewhere or earlier. */
#include "cli/commands.h"
#include "kumomori/json.h"
#include "kumomori/kumomori.h"
#include "kumomori/seal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEAL_MESSAGES 10 /* bad input lines named one by one */

KM_COMMAND(seal, 61, "seal JSON lines into a tamper-evident, signed stream")

int km_cmd_seal(int argc, char **argv) {
    if (km_cli_wants_help(argc, argv)) {
        printf("usage: kumomori seal --key KEY [--every N] [--every-seconds S] [--producer NAME] [FILE|-]\n"
               "\n"
               "Reads JSON lines (one object per line; blank lines are skipped) and writes them sealed to\n"
               "standard output: each record gains a \"kumomori_seal\" member with its number and hash-chain\n"
               "link, and an Ed25519 signature line follows every N records (default 100), every S seconds\n"
               "(default 60) and the end. Check with `kumomori verify --sealed FILE --public-key PUB`.\n"
               "KEY is the private key of `kumomori keygen`.\n");
        return 0;
    }
    const char *keyfile = NULL, *input = "-", *producer = "kumomori seal " KUMOMORI_VERSION;
    km_seal_opts opts = {0, 0, NULL};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--key") == 0 && i + 1 < argc) keyfile = argv[++i];
        else if (strcmp(a, "--producer") == 0 && i + 1 < argc) producer = argv[++i];
        else if ((strcmp(a, "--every") == 0 || strcmp(a, "--every-seconds") == 0) && i + 1 < argc) {
            char *e = NULL;
            long v = strtol(argv[++i], &e, 10);
            if (!e || *e || v < 1 || v > 100000000) {
                km_cli_usage_error("seal", "%s wants a positive number, not '%s'", a, argv[i]);
                return 2;
            }
            if (strcmp(a, "--every") == 0) opts.every_records = (unsigned)v;
            else opts.every_seconds = (unsigned)v;
        } else if (a[0] == '-' && a[1]) {
            km_cli_usage_error("seal", "unknown option or missing value: '%s'", a);
            return 2;
        } else input = a;
    }
    if (!keyfile) {
        km_cli_usage_error("seal", "give --key KEY (the private key of `kumomori keygen`)");
        return 2;
    }
    opts.producer = producer;
    km_error err;
    km_error_clear(&err);
    km_seal_key *key = km_seal_key_load_private(keyfile, &err);
    if (!key) {
        fprintf(stderr, "kumomori seal: %s\n", err.msg);
        return 2;
    }
    FILE *in = strcmp(input, "-") == 0 ? stdin : fopen(input, "rb");
    if (!in) {
        fprintf(stderr, "kumomori seal: %s: cannot open\n", input);
        km_seal_key_free(key);
        return 2;
    }
    km_sealer *s = km_sealer_new(key, km_seal_write_file, stdout, &opts, &err);
    int rc = s ? 0 : 2;
    if (!s) fprintf(stderr, "kumomori seal: %s\n", err.msg);
    char *line = NULL;
    size_t cap = 0, lineno = 0, skipped = 0;
    ssize_t n;
    while (s && (n = getline(&line, &cap, in)) >= 0) {
        lineno++;
        size_t len = (size_t)n;
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' ')) len--;
        if (len == 0) continue;
        km_json_doc *doc = km_json_parse(line, len, NULL, NULL, &err);
        if (!doc || km_json_root(doc)->type != KM_JSON_OBJECT) {
            /* the first few named, the rest counted (as detect does): a file of bad lines would
             * otherwise give a message per line */
            if (skipped < SEAL_MESSAGES)
                fprintf(stderr, "kumomori seal: %s:%zu: %s; line skipped\n", input, lineno,
                        doc ? "not a JSON object" : err.msg);
            else if (skipped == SEAL_MESSAGES)
                fprintf(stderr, "kumomori seal: %s: more lines that are not JSON objects; the count follows at the end\n",
                        input);
            km_json_doc_free(doc);
            skipped++;
            continue;
        }
        km_json_doc_free(doc);
        if (km_sealer_record(s, line, len, &err)) {
            fprintf(stderr, "kumomori seal: %s:%zu: %s\n", input, lineno, err.msg);
            rc = 2;
            break;
        }
    }
    if (s && rc == 0 && km_sealer_finish(s, &err)) {
        fprintf(stderr, "kumomori seal: %s\n", err.msg);
        rc = 2;
    }
    if (skipped) {
        fprintf(stderr, "kumomori seal: %zu line%s skipped (not JSON objects)", skipped, skipped == 1 ? "" : "s");
        if (skipped > SEAL_MESSAGES) fprintf(stderr, "; the first %d are named above", SEAL_MESSAGES);
        fputc('\n', stderr);
        rc = 2;
    }
    free(line);
    km_sealer_free(s);
    km_seal_key_free(key);
    if (in != stdin) fclose(in);
    return rc;
}
