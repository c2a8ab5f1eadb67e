/* The staged CloudTrail records of ../shared/corpora/cloudtrail (3,788), each with the identifier
 * tests/data/sigma/expected_by_reading.py gives it: panther:<line>, stratus:<file>:<index>,
 * invictus:<file>:<index>, otrf:<line>. Shared by the Sigma and correlation tests. */
#ifndef KM_TEST_CORPUS_H
#define KM_TEST_CORPUS_H
#include <stddef.h>
#include "kumomori/json.h"

typedef struct km_test_record {
    char *id;
    km_json_doc *doc;      /* owns the record (or the file it is in: see shared) */
    const km_json *rec;
    char *text;            /* the record as compact JSON */
    size_t len;
} km_test_record;

typedef struct km_test_corpus {
    km_test_record *r;
    size_t n;
    km_json_doc **docs;    /* documents owned by the corpus */
    size_t ndocs;
} km_test_corpus;

/* Loads every record; NULL when the corpora are absent or cannot be read. */
km_test_corpus *km_test_corpus_load(const char *corpora);
void km_test_corpus_free(km_test_corpus *c);

#endif
