/* Data files embedded in the binary at build time (tools/embed.c). Tables end with name NULL. */
#ifndef KM_EMBEDDED_H
#define KM_EMBEDDED_H
#include <stddef.h>
typedef struct km_embedded_file {
    const char *name; /* path as given at build time, e.g. "rules/s3/sse-c.json" */
    const char *data; /* NUL-terminated */
    size_t len;
} km_embedded_file;

extern const km_embedded_file km_builtin_rules[];  /* rules/ (detection rules) */
extern const km_embedded_file km_builtin_checks[]; /* checks/ (audit check metadata) */
#endif
