/* Record reader: turns a byte source into CloudTrail records, one call per record, without
 * building a JSON tree. It recognises, in any mix and order within one input:
 *   - delivery files {"Records":[ {...}, ... ]} (the records are the array's elements),
 *   - JSON lines / concatenated JSON objects (each object is a record),
 *   - top-level JSON arrays of records (e.g. Stratus Red Team detonation logs),
 *   - EventBridge events ({"detail-type": "... via CloudTrail", "detail": {record}}),
 *   - CloudTrail digest files (reported as skipped, not as an error).
 *
 * Why by hand: this is the detection hot path. Building a tree of every record (or of a whole
 * delivery file) costs several times the decompression itself, and the matcher flattens the
 * record's bytes on its own; all the pipeline needs here is each record's byte range. The reader
 * tracks only strings and nesting depth (a table-driven byte loop with an 8-byte-at-a-time skip
 * inside strings), keeps at most one record in memory (capped, so a 100 MB string cannot exhaust
 * memory) and never recurses, so 100,000 levels of nesting cost a counter. Full JSON validation of
 * each record is left to the matcher, which reports the byte offset of any error. */
#ifndef KM_DETECT_READER_H
#define KM_DETECT_READER_H

#include <stddef.h>
#include <stdint.h>
#include "kumomori/error.h"
#include "detect/input.h"

/* Why something in the input was not matched. The first group is input that could not be read;
 * the second is input that is rightly not matched (not an error). */
typedef enum {
    KM_SKIP_NONE = 0,
    KM_SKIP_UNREADABLE,   /* cannot open or read (permission, I/O error) */
    KM_SKIP_EMPTY,        /* an empty file or stream */
    KM_SKIP_GZIP,         /* corrupt or truncated gzip data */
    KM_SKIP_INVALID_JSON, /* not JSON, or a record that is not valid JSON */
    KM_SKIP_TRUNCATED,    /* the data ends inside a record */
    KM_SKIP_NOT_OBJECT,   /* a record that is not a JSON object */
    KM_SKIP_TOO_LARGE,    /* a record larger than the limit */
    KM_SKIP_TOO_DEEP,     /* nesting deeper than the limit */
    KM_SKIP_INVALID_UTF8, /* a record whose text is not UTF-8 */
    KM_SKIP_TOO_MANY_FIELDS, /* more fields (that patterns use) than the limit */
    KM_SKIP_ERROR_LAST = KM_SKIP_TOO_MANY_FIELDS,
    KM_SKIP_DIGEST,       /* a CloudTrail digest file */
    KM_SKIP_NOT_CLOUDTRAIL, /* an EventBridge event that does not carry a CloudTrail record */
    KM_SKIP_REASONS
} km_skip_reason;

/* Noun phrase for summaries, singular or plural after count: "1 digest file", "2 truncated
 * records". km_skip_reason_name gives the plural. */
const char *km_skip_reason_phrase(km_skip_reason r, uint64_t count);
const char *km_skip_reason_name(km_skip_reason r);
/* Whether the reason means input could not be read (exit status 2). */
int km_skip_is_error(km_skip_reason r);

typedef enum {
    KM_REC_DELIVERY = 1, /* element of a delivery file's Records array */
    KM_REC_LINE,         /* a top-level object (JSON lines) */
    KM_REC_ARRAY,        /* element of a top-level array */
    KM_REC_EVENTBRIDGE   /* the detail of an EventBridge event */
} km_record_kind;

typedef struct km_record {
    const char *data;   /* the record's JSON text; valid until the next km_reader_next */
    size_t len;
    uint64_t offset;    /* byte offset of data[0] in the (decompressed) input */
    km_record_kind kind;
    km_skip_reason skip; /* for KM_READ_SKIP: why */
} km_record;

typedef struct km_reader_limits {
    size_t max_record; /* bytes; default 8 MiB */
    size_t max_depth;  /* default 512 */
    size_t read_size;  /* bytes asked of the source per read; default 256 KiB (tests use tiny ones) */
} km_reader_limits;

enum { KM_READ_END = 0, KM_READ_RECORD = 1, KM_READ_SKIP = 2 };

typedef struct km_reader km_reader;

/* A reader over in (which stays the caller's: close it after km_reader_free). lim may be NULL.
 * NULL when out of memory. */
km_reader *km_reader_new(km_input *in, const km_reader_limits *lim);
void km_reader_free(km_reader *r); /* takes NULL */
/* Start again on another source, keeping the buffer (the limits stay). */
void km_reader_reset(km_reader *r, km_input *in);

/* Next item: KM_READ_RECORD (rec filled), KM_READ_SKIP (rec->skip and rec->offset set, err says
 * what and where; call again to go on), or KM_READ_END. */
int km_reader_next(km_reader *r, km_record *rec, km_error *err);

/* Counts so far: top-level containers ({"Records":[...]}) seen, and decompressed bytes scanned. */
uint64_t km_reader_bytes(const km_reader *r);

#endif
