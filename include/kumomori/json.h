/* A small JSON document model for everything that is not the detection hot path:
 * policies, snapshots, rule files, patterns, digests. Every value remembers its byte
 * offset so errors can say where. The document owns all values (one arena): after
 * km_json_doc_free every km_json pointer into it is invalid.
 *
 * Thread-safety: a document is read-only after parsing and can be shared by threads. */
#ifndef KUMOMORI_JSON_H
#define KUMOMORI_JSON_H

#include <stddef.h>
#include <stdint.h>
#include "kumomori/error.h"
#include "kumomori/buf.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    KM_JSON_NULL,
    KM_JSON_FALSE,
    KM_JSON_TRUE,
    KM_JSON_NUMBER,
    KM_JSON_STRING,
    KM_JSON_ARRAY,
    KM_JSON_OBJECT
} km_json_type;

typedef struct km_json km_json;

typedef struct km_json_member {
    const char *key; /* decoded UTF-8, NUL-terminated (may contain NUL: use key_len) */
    size_t key_len;
    km_json *value;
} km_json_member;

struct km_json {
    km_json_type type;
    size_t offset; /* byte offset of the value's first byte in the parsed text */
    size_t end;    /* byte offset just past the value */
    union {
        struct { const char *s; size_t len; } str;              /* decoded, NUL-terminated */
        struct { const char *raw; size_t len; double d; } num;  /* text as written, and value */
        struct { km_json **items; size_t n; } arr;
        struct { km_json_member *members; size_t n; } obj;      /* in document order */
    } u;
};

typedef struct km_json_opts {
    size_t max_depth;         /* nesting limit; 0 = default 512 */
    size_t max_string;        /* longest string in bytes; 0 = default 64 MiB */
    int allow_trailing;       /* accept bytes after the value (see consumed) */
    int replace_invalid_utf8; /* turn invalid UTF-8 into U+FFFD instead of failing */
} km_json_opts;

typedef struct km_json_doc km_json_doc;

/* Parse text[0..len) as one JSON value (RFC 8259, strict). On failure returns NULL and fills
 * err with the reason, the byte offset and line:column. opts may be NULL. If consumed is not
 * NULL it receives the number of bytes used (value plus trailing white space). The text is
 * copied: the caller may free it after the call. */
km_json_doc *km_json_parse(const char *text, size_t len, const km_json_opts *opts,
                           size_t *consumed, km_error *err);
const km_json *km_json_root(const km_json_doc *doc);
void km_json_doc_free(km_json_doc *doc); /* takes NULL */

/* Member lookup on an object; NULL when v is not an object or has no such key. With duplicate
 * keys the last one wins (as EventBridge and most AWS parsers do). */
const km_json *km_json_get(const km_json *v, const char *key);
const km_json *km_json_getn(const km_json *v, const char *key, size_t key_len);
/* Dotted path lookup through objects only: km_json_path(v, "requestParameters.bucketName"). */
const km_json *km_json_path(const km_json *v, const char *dotted);
/* Array element, or NULL. */
const km_json *km_json_at(const km_json *v, size_t i);
/* Number of array items or object members, 0 otherwise. */
size_t km_json_len(const km_json *v);

/* The string value or NULL when v is not a string. */
const char *km_json_str(const km_json *v);
/* Convenience: string member of an object, or def. */
const char *km_json_get_str(const km_json *obj, const char *key, const char *def);
int km_json_is(const km_json *v, km_json_type t);
const char *km_json_type_name(km_json_type t);

/* Serialise v compactly (no white space) into b. Returns 0 or -1 when b's cap is hit. */
int km_json_write(km_buf *b, const km_json *v);

/* 1-based line and column of byte offset off in text (for messages). */
void km_json_line_col(const char *text, size_t len, size_t off, size_t *line, size_t *col);

/* Read a whole file (max bytes at most; "-" is stdin). Returns malloc'd bytes NUL-terminated,
 * or NULL with err set naming the file. */
char *km_read_file(const char *path, size_t max, size_t *len, km_error *err);

#ifdef __cplusplus
}
#endif
#endif
