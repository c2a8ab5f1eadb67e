/* Shared helpers for the matcher tests: reading the pattern corpora (../shared/corpora/patterns)
 * and the list of cases skipped on purpose (tests/data/match-skips.tsv). */
#ifndef KM_TEST_MATCH_CORPUS_H
#define KM_TEST_MATCH_CORPUS_H
#include <stddef.h>
#include "kumomori/json.h"

/* One (pattern, event, expected) case. expected: 1 match, 0 no match, -1 invalid pattern,
 * -2 skip (reason set). */
typedef struct km_mcase {
    char key[96];          /* file:line, as in match-skips.tsv */
    const char *source;
    char *pattern, *event; /* malloc'd JSON texts */
    size_t plen, elen;
    int expected;
    const char *skip_reason;
    km_json_doc *doc;
} km_mcase;

typedef struct km_mcases {
    km_mcase *c;
    size_t n;
} km_mcases;

/* Reads corpora file rel (e.g. "patterns/cases.jsonl"); returns 0, or -1 when absent. */
int km_mcases_load(const char *rel, km_mcases *out);
void km_mcases_free(km_mcases *cs);
/* Reason this case is skipped according to tests/data/match-skips.tsv, or NULL. */
const char *km_mskip_reason(const char *key);
/* Number of skip entries that named no existing case (checked by a test). */
size_t km_mskip_unused(char *first, size_t cap);

#endif
