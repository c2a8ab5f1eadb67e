/* Process-wide limits on untrusted input (see limits.h). */
#include "util/limits.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const km_limit_info infos[KM_LIMIT_COUNT] = {
    [KM_LIMIT_DEPTH] = {"depth", 512, "JSON nesting depth"},
    [KM_LIMIT_STRING] = {"string", (size_t)64 << 20, "bytes in one JSON string"},
    [KM_LIMIT_RECORD] = {"record", (size_t)8 << 20, "bytes in one CloudTrail record"},
    [KM_LIMIT_FIELDS] = {"fields", 1000000, "fields of one record kept for matching"},
    [KM_LIMIT_FILE] = {"file", 0, "bytes of one file read whole"},
    [KM_LIMIT_RULES] = {"rules", 100000, "rules loaded"},
    [KM_LIMIT_PATTERNS] = {"patterns", 1000000, "patterns in one matcher"},
    [KM_LIMIT_GROUPS] = {"groups", 100000, "groups per threshold or correlation"},
    [KM_LIMIT_PENDING] = {"pending", 100000, "events held back for late ones"},
};

static size_t values[KM_LIMIT_COUNT]; /* 0: not set */

const km_limit_info *km_limit_info_of(km_limit_id id) { return id < KM_LIMIT_COUNT ? &infos[id] : NULL; }

size_t km_limit(km_limit_id id, size_t def) { return id < KM_LIMIT_COUNT && values[id] ? values[id] : def; }

int km_limit_is_set(km_limit_id id) { return id < KM_LIMIT_COUNT && values[id] != 0; }

int km_limit_set(const char *spec, km_error *err) {
    const char *eq = strchr(spec, '=');
    size_t nlen = eq ? (size_t)(eq - spec) : strlen(spec);
    int id = -1;
    for (int i = 0; i < KM_LIMIT_COUNT; i++)
        if (strlen(infos[i].name) == nlen && strncmp(infos[i].name, spec, nlen) == 0) id = i;
    if (id < 0)
        return km_error_set(err, KM_ERR, (size_t)-1,
                            "unknown limit '%.*s' (depth, string, record, fields, file, rules, patterns, groups, "
                            "pending)", (int)(nlen > 40 ? 40 : nlen), spec),
               -1;
    if (!eq)
        return km_error_set(err, KM_ERR, (size_t)-1, "limit '%s' needs a value: %s=N", infos[id].name, infos[id].name), -1;
    const char *v = eq + 1;
    char *end;
    errno = 0;
    unsigned long long n = isdigit((unsigned char)*v) ? strtoull(v, &end, 10) : 0;
    if (!isdigit((unsigned char)*v)) end = (char *)v;
    unsigned shift = 0;
    if (*end == 'k' || *end == 'K') shift = 10, end++;
    else if (*end == 'm' || *end == 'M') shift = 20, end++;
    else if (*end == 'g' || *end == 'G') shift = 30, end++;
    if (errno || end == v || *end || n == 0 || n > (SIZE_MAX >> 1) >> shift)
        return km_error_set(err, KM_ERR, (size_t)-1,
                            "limit %s wants a positive number (optionally with k, M or G), not '%.40s'", infos[id].name, v),
               -1;
    values[id] = (size_t)n << shift;
    return 0;
}

int km_limits_set_list(const char *list, km_error *err) {
    char item[128];
    const char *p = list;
    while (*p) {
        while (*p == ',' || isspace((unsigned char)*p)) p++;
        if (!*p) break;
        size_t n = strcspn(p, ", \t\n");
        if (n >= sizeof item)
            return km_error_set(err, KM_ERR, (size_t)-1, "limit setting too long: '%.40s...'", p), -1;
        memcpy(item, p, n);
        item[n] = 0;
        if (km_limit_set(item, err)) return -1;
        p += n;
    }
    return 0;
}

/* The value of KUMOMORI_THREADS: 0 when unset or empty, n >= 1 when a whole number from 1 (any
 * number of digits: a long one is simply more than KM_THREADS_MAX), -1 otherwise (a sign, a space,
 * a suffix, zero). */
static long threads_env(void) {
    const char *v = getenv("KUMOMORI_THREADS");
    if (!v || !*v) return 0;
    size_t n = strspn(v, "0123456789");
    if (n == 0 || v[n]) return -1;
    v += strspn(v, "0");
    if (!*v) return -1;
    return strlen(v) > 6 ? 1000000 : strtol(v, NULL, 10);
}

int km_threads(void) {
    long t = threads_env();
    if (t <= 0) t = sysconf(_SC_NPROCESSORS_ONLN);
    if (t < 1) t = 1;
    return t > KM_THREADS_MAX ? KM_THREADS_MAX : (int)t;
}

int km_threads_check(km_error *err) {
    if (threads_env() >= 0) return 0;
    const char *v = getenv("KUMOMORI_THREADS");
    return km_error_set(err, KM_ERR, (size_t)-1, "'%.40s' is not a number of threads (a whole number from 1)", v),
           -1;
}
