/* kumomori match: an offline `aws events test-event-pattern` over JSON lines. */
#include "cli/commands.h"
#include "kumomori/json.h"
#include "kumomori/match.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

KM_COMMAND(match, 80, "test an EventBridge event pattern against events (JSON lines)")

static void help(void) {
    printf("usage: kumomori match PATTERN_FILE [EVENTS_FILE|-]\n\n"
           "Reads one Amazon EventBridge event pattern from PATTERN_FILE, then events from\n"
           "EVENTS_FILE (or standard input), one JSON object per line; blank lines are skipped.\n"
           "Prints 'true' or 'false' for each event, as `aws events test-event-pattern` would.\n\n"
           "An invalid pattern is reported with its file, line:column and JSON path, and nothing\n"
           "is matched. An event line that is not valid JSON is reported on standard error as\n"
           "FILE:LINE:COLUMN, prints nothing on standard output, and matching goes on.\n\n"
           "exit status: 0 no event matched, 1 at least one event matched,\n"
           "2 usage error, unreadable file, invalid pattern or at least one invalid event line.\n");
}

int km_cmd_match(int argc, char **argv) {
    if (km_cli_wants_help(argc, argv)) {
        help();
        return 0;
    }
    const char *args[2] = {NULL, NULL};
    int nargs = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            for (i++; i < argc; i++) {
                if (nargs >= 2) { km_cli_usage_error("match", "too many arguments"); return 2; }
                args[nargs++] = argv[i];
            }
            break;
        }
        if (argv[i][0] == '-' && argv[i][1] != 0) {
            km_cli_usage_error("match", "unknown option '%s'", argv[i]);
            return 2;
        }
        if (nargs >= 2) {
            km_cli_usage_error("match", "too many arguments");
            return 2;
        }
        args[nargs++] = argv[i];
    }
    if (nargs < 1) {
        km_cli_usage_error("match", "a pattern file is required");
        return 2;
    }
    const char *pfile = args[0], *efile = nargs > 1 ? args[1] : "-";
    km_error err;
    size_t plen;
    char *pat = km_read_file(pfile, 1u << 20, &plen, &err);
    if (!pat) {
        fprintf(stderr, "kumomori match: %s\n", err.msg);
        return 2;
    }
    km_matcher *m = km_matcher_new();
    km_match_scratch *s = km_match_scratch_new();
    if (!m || !s) {
        fprintf(stderr, "kumomori match: out of memory\n");
        free(pat);
        km_matcher_free(m);
        km_match_scratch_free(s);
        return 2;
    }
    if (km_matcher_add(m, 1, pat, plen, &err) != KM_OK) {
        size_t line = 0, col = 0;
        if (err.offset != (size_t)-1) km_json_line_col(pat, plen, err.offset, &line, &col);
        fprintf(stderr, "kumomori match: %s:%zu:%zu: %s\n", pfile, line, col, err.msg);
        free(pat);
        km_matcher_free(m);
        km_match_scratch_free(s);
        return 2;
    }
    free(pat);
    FILE *in = strcmp(efile, "-") == 0 ? stdin : fopen(efile, "rb");
    const char *ename = strcmp(efile, "-") == 0 ? "(stdin)" : efile;
    if (!in) {
        fprintf(stderr, "kumomori match: cannot open %s: %s\n", efile, strerror(errno));
        km_matcher_free(m);
        km_match_scratch_free(s);
        return 2;
    }
    char *line = NULL;
    size_t cap = 0, lineno = 0, bad = 0, matched = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, in)) >= 0) {
        lineno++;
        size_t len = (size_t)n;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
        size_t k = 0;
        while (k < len && (line[k] == ' ' || line[k] == '\t')) k++;
        if (k == len) continue;
        const uint32_t *ids;
        int r = km_matcher_match(m, s, line, len, &ids, &err);
        if (r < 0) {
            size_t col = err.offset == (size_t)-1 ? 0 : err.offset + 1;
            fprintf(stderr, "kumomori match: %s:%zu:%zu: invalid event: %s\n", ename, lineno, col, err.msg);
            bad++;
            continue;
        }
        if (r > 0) matched++;
        fputs(r > 0 ? "true\n" : "false\n", stdout);
    }
    int rerr = ferror(in);
    free(line);
    if (in != stdin) fclose(in);
    km_matcher_free(m);
    km_match_scratch_free(s);
    if (rerr) {
        fprintf(stderr, "kumomori match: error reading %s\n", ename);
        return 2;
    }
    if (bad) {
        fprintf(stderr, "kumomori match: %zu invalid event line%s skipped\n", bad, bad == 1 ? "" : "s");
        return 2;
    }
    return matched ? 1 : 0;
}
