/* The detection pipeline: inputs (files, folders, stdin) -> record reader -> matcher -> alerts ->
 * writer, with files processed by a pool of threads and every alert and message delivered in
 * input order, whatever the number of threads. */
#ifndef KM_DETECT_H
#define KM_DETECT_H

#include <stdio.h>
#include "kumomori/match.h"
#include "kumomori/rules.h"
#include "detect/reader.h"
#include "out/alert.h"
#include "detect/program.h"

typedef struct km_detect_opts {
    const km_ruleset *rules;
    const km_matcher *matcher;   /* built from rules: rule i under id i */
    km_writer *writer;
    int jobs;                    /* worker threads; 0 = 1 */
    int include_event;           /* alerts carry the record's JSON */
    int progress;                /* draw a progress line on diag (the caller checked it is a terminal) */
    int verbose;                 /* also print skipped input that is not an error (digests, ...) */
    FILE *diag;                  /* messages and the progress line (stderr) */
    size_t max_messages_per_input; /* then "... and N more problems in FILE"; 0 = 10 */
    km_reader_limits limits;
    /* sigma helper: Sigma rules, hidden rules, thresholds and correlations (NULL: patterns only).
     * Its alerts are written in input order; km_detect_run does not flush it (the caller does, with
     * km_program_flush, so that kumomori watch can keep windows open across runs). */
    km_program *program;
} km_detect_opts;

/* Run detection over the inputs ("-" is standard input; folders are walked recursively; in a folder
 * only *.json, *.jsonl, *.ndjson, optionally .gz, are read and CloudTrail-Digest files are skipped).
 * Fills st (zeroed first). Returns 0, or -1 when writing the output failed. Inputs that cannot be
 * read are reported on o->diag and counted in st->input_errors; they do not stop the run. */
int km_detect_run(const km_detect_opts *o, char *const *inputs, size_t ninputs, km_run_stats *st);

/* Offset of the first byte of s[0..n) that is not part of valid UTF-8 (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF), or n when all of it is valid. */
size_t km_utf8_check(const unsigned char *s, size_t n);

#endif
