/* Small helpers the audit needs over JSON values written by the AWS CLI and by AWS Config:
 * case-insensitive member lookup (the CLI says "StorageEncrypted", Config says
 * "storageEncrypted"), values that may be a string or a list, booleans written as true,
 * "true" or "Enabled", the timestamp forms AWS tools print, percent-encoding of file names,
 * glob matching and base64. Internal to the audit. */
#ifndef KM_AUDIT_UTIL_H
#define KM_AUDIT_UTIL_H

#include "kumomori/json.h"
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Member of an object by name, compared without regard to ASCII case when no exact match
 * exists. NULL when v is not an object or has no such member. */
const km_json *km_ci_get(const km_json *v, const char *key);
/* The first of several alternative names that is present (NULL-terminated list). */
const km_json *km_ci_get_any(const km_json *v, const char *const *keys);
/* Dotted path through objects with km_ci_get at each step ("Policy.PolicySummary.Id"). */
const km_json *km_ci_path(const km_json *v, const char *dotted);
/* String member (case-insensitive), or NULL. */
const char *km_ci_str(const km_json *v, const char *key);

/* Truth value: 1 for true, "true", "TRUE", "Enabled", "ENABLED", "Yes"; 0 for false, "false",
 * "Disabled", "Off", "Suspended", null; -1 when v is NULL or something else. */
int km_json_truth(const km_json *v);
/* Number (a JSON number or a string holding one). Returns 0 and sets *out, or -1. */
int km_json_num(const km_json *v, double *out);

/* Call fn for each string in v, which may be a string or an array of strings (IAM policy
 * elements are either). Stops early when fn returns non-zero and returns that value. */
int km_json_each_str(const km_json *v, int (*fn)(const char *s, void *ctx), void *ctx);
/* Whether v (string or array of strings) contains s exactly / matches the glob pattern. */
int km_json_has_str(const km_json *v, const char *s);
int km_json_has_str_ci(const km_json *v, const char *s);

/* Parse a timestamp as AWS tools print it: ISO-8601 with or without 'T', fraction and zone
 * ("2024-01-05T00:00:00Z", "2024-01-05T00:00:00.000+0000", "2023-03-09 10:41:45+00:00",
 * "2024-01-05"), epoch seconds or milliseconds (numbers or numeric strings, as AWS CLI v1
 * prints rest-json timestamps), and placebo's {"__class__": "datetime", "year": ...}
 * objects. Returns 0 and sets *out (UTC seconds), or -1. */
int km_parse_time(const km_json *v, int64_t *out);
int km_parse_time_str(const char *s, int64_t *out);
/* Write t as "2024-01-05T00:00:00Z" into buf (at least 21 bytes). */
void km_format_time(int64_t t, char *buf, size_t n);

/* Glob with '*' (any run) and '?' (one byte); case-sensitive or not. */
int km_glob(const char *pattern, const char *s);
int km_glob_ci(const char *pattern, const char *s);

/* Percent-encode every byte outside [A-Za-z0-9._-] (file names for resource keys). Writes at
 * most n-1 bytes; returns the full length needed (like snprintf). */
size_t km_pct_encode(const char *s, char *out, size_t n);
/* Decode %XX sequences (and '+' as space when plus_space); returns the decoded length, the
 * output is NUL-terminated and never longer than the input. */
size_t km_pct_decode(const char *s, size_t len, char *out, int plus_space);

/* Decode standard base64 (white space ignored). Returns a malloc'd NUL-terminated buffer
 * (caller frees) and its length, or NULL when the input is not base64. */
char *km_base64_decode(const char *s, size_t len, size_t *outlen);

/* 12 decimal digits (an AWS account id). */
int km_is_account_id(const char *s);
/* Region-like name ("us-east-1", "ap-northeast-3", "us-gov-west-1", "cn-north-1"). */
int km_is_region(const char *s);
/* The n-th (0-based) ':'-separated field of an ARN, copied into out; "" when absent. */
void km_arn_field(const char *arn, int n, char *out, size_t outn);

/* Fill in a template of the collect command list and the snapshot's resource table against
 * item: "{Field}" (member, any case; a string or a number), "{.}" (item itself), "{account}",
 * "{region}", "{@key}" (key, the source file's key), "{Field|arn:N}" (field N of that ARN); a
 * '{' not followed by a name character is text (the JSON of --filter-criteria). Returns 0, or
 * -1 when a value is missing or empty or out (n bytes) is too small. */
int km_template_expand(const char *tmpl, const km_json *item, const char *key, const char *account, const char *region,
                       char *out, size_t n);

/* Case-insensitive ASCII string equality (either may be NULL: then equal only if both are). */
int km_streq_ci(const char *a, const char *b);
/* Append sep (when buf is not empty) and item to the string in buf[0..n). What does not fit is
 * left out and marked once with "...", so lists in messages stay bounded. Returns 0 when item
 * was added, -1 when not. */
int km_join(char *buf, size_t n, const char *sep, const char *item);
int km_str_starts(const char *s, const char *prefix);
int km_str_ends(const char *s, const char *suffix);

#endif
