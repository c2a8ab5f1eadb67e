#include "audit/util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int km_streq_ci(const char *a, const char *b) {
    if (!a || !b) return a == b;
    return strcasecmp(a, b) == 0;
}

int km_str_starts(const char *s, const char *prefix) {
    return s && prefix && strncmp(s, prefix, strlen(prefix)) == 0;
}

int km_str_ends(const char *s, const char *suffix) {
    if (!s || !suffix) return 0;
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

const km_json *km_ci_get(const km_json *v, const char *key) {
    if (!v || v->type != KM_JSON_OBJECT || !key) return NULL;
    const km_json *exact = km_json_get(v, key);
    if (exact) return exact;
    size_t kl = strlen(key);
    const km_json *found = NULL;
    for (size_t i = 0; i < v->u.obj.n; i++) {
        const km_json_member *m = &v->u.obj.members[i];
        if (m->key_len == kl && strncasecmp(m->key, key, kl) == 0) found = m->value;
    }
    return found;
}

const km_json *km_ci_get_any(const km_json *v, const char *const *keys) {
    for (; keys && *keys; keys++) {
        const km_json *r = km_ci_get(v, *keys);
        if (r) return r;
    }
    return NULL;
}

const km_json *km_ci_path(const km_json *v, const char *dotted) {
    char part[128];
    const char *p = dotted;
    while (v && p && *p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (n >= sizeof part) return NULL;
        memcpy(part, p, n);
        part[n] = 0;
        v = km_ci_get(v, part);
        p = dot ? dot + 1 : NULL;
    }
    return v;
}

const char *km_ci_str(const km_json *v, const char *key) {
    return km_json_str(km_ci_get(v, key));
}

int km_json_truth(const km_json *v) {
    if (!v) return -1;
    switch (v->type) {
    case KM_JSON_TRUE: return 1;
    case KM_JSON_FALSE:
    case KM_JSON_NULL: return 0;
    case KM_JSON_NUMBER: return v->u.num.d != 0;
    case KM_JSON_STRING: {
        const char *s = v->u.str.s;
        if (!strcasecmp(s, "true") || !strcasecmp(s, "enabled") || !strcasecmp(s, "yes") ||
            !strcasecmp(s, "on"))
            return 1;
        if (!strcasecmp(s, "false") || !strcasecmp(s, "disabled") || !strcasecmp(s, "no") ||
            !strcasecmp(s, "off") || !strcasecmp(s, "suspended") || !*s)
            return 0;
        return -1;
    }
    default: return -1;
    }
}

int km_json_num(const km_json *v, double *out) {
    if (!v) return -1;
    if (v->type == KM_JSON_NUMBER) { *out = v->u.num.d; return 0; }
    if (v->type == KM_JSON_STRING && v->u.str.len > 0) {
        char *end;
        double d = strtod(v->u.str.s, &end);
        if (end != v->u.str.s && *end == 0) { *out = d; return 0; }
    }
    return -1;
}

int km_json_each_str(const km_json *v, int (*fn)(const char *s, void *ctx), void *ctx) {
    if (!v) return 0;
    if (v->type == KM_JSON_STRING) return fn(v->u.str.s, ctx);
    if (v->type == KM_JSON_ARRAY) {
        for (size_t i = 0; i < v->u.arr.n; i++) {
            const km_json *e = v->u.arr.items[i];
            if (e->type != KM_JSON_STRING) continue;
            int r = fn(e->u.str.s, ctx);
            if (r) return r;
        }
    }
    return 0;
}

static int eq_cb(const char *s, void *ctx) { return strcmp(s, (const char *)ctx) == 0; }
static int eq_ci_cb(const char *s, void *ctx) { return strcasecmp(s, (const char *)ctx) == 0; }

int km_json_has_str(const km_json *v, const char *s) {
    return km_json_each_str(v, eq_cb, (void *)s);
}

int km_json_has_str_ci(const km_json *v, const char *s) {
    return km_json_each_str(v, eq_ci_cb, (void *)s);
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian), as in Howard Hinnant's algorithm. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int digits(const char **pp, int n, int *out) {
    const char *p = *pp;
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return -1;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    *pp = p + n;
    return 0;
}

int km_parse_time_str(const char *s, int64_t *out) {
    if (!s) return -1;
    while (*s == ' ') s++;
    /* Epoch seconds or milliseconds written as a string. */
    {
        char *end;
        double d = strtod(s, &end);
        if (end != s && *end == 0 && (s[0] >= '0' && s[0] <= '9')) {
            if (d > 1e11) d /= 1000.0; /* milliseconds (after year 5138 in seconds: not a date) */
            /* past the year 9999 (also inf, or digits beyond an int64's range): not a time; the
             * conversion itself would be undefined (fuzz_snap, 15:17 on 2026-11-26). */
            if (!(d <= 253402300799.0)) return -1;
            *out = (int64_t)d;
            return 0;
        }
    }
    const char *p = s;
    int y, mo, d, h = 0, mi = 0, se = 0;
    if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' || digits(&p, 2, &d))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31) return -1;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi)) return -1;
        if (*p == ':') {
            p++;
            if (digits(&p, 2, &se)) return -1;
        }
        if (*p == '.' || *p == ',') {
            p++;
            while (*p >= '0' && *p <= '9') p++;
        }
    }
    if (h > 24 || mi > 59 || se > 60) return -1;
    int64_t off = 0;
    if (*p == 'Z' || *p == 'z') p++;
    else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1;
        p++;
        int oh, om = 0;
        if (digits(&p, 2, &oh)) return -1;
        if (*p == ':') p++;
        if (*p >= '0' && *p <= '9' && digits(&p, 2, &om)) return -1;
        off = sign * (oh * 3600 + om * 60);
    } else if (*p == ' ' && (!strcmp(p, " UTC") || !strcmp(p, " GMT"))) {
        p += 4;
    }
    if (*p) return -1;
    *out = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + se - off;
    return 0;
}

int km_parse_time(const km_json *v, int64_t *out) {
    if (!v) return -1;
    if (v->type == KM_JSON_STRING) return km_parse_time_str(v->u.str.s, out);
    if (v->type == KM_JSON_NUMBER) {
        double d = v->u.num.d;
        if (d < 0) return -1;
        if (d > 1e11) d /= 1000.0;
        *out = (int64_t)d;
        return 0;
    }
    if (v->type == KM_JSON_OBJECT) {
        /* placebo's recording of a Python datetime */
        const char *cls = km_json_get_str(v, "__class__", NULL);
        if (!cls || strcmp(cls, "datetime") != 0) return -1;
        double y, mo, d, h = 0, mi = 0, se = 0;
        if (km_json_num(km_json_get(v, "year"), &y) || km_json_num(km_json_get(v, "month"), &mo) ||
            km_json_num(km_json_get(v, "day"), &d))
            return -1;
        km_json_num(km_json_get(v, "hour"), &h);
        km_json_num(km_json_get(v, "minute"), &mi);
        km_json_num(km_json_get(v, "second"), &se);
        if (mo < 1 || mo > 12 || d < 1 || d > 31) return -1;
        *out = days_from_civil((int64_t)y, (unsigned)mo, (unsigned)d) * 86400 + (int64_t)h * 3600 +
               (int64_t)mi * 60 + (int64_t)se;
        return 0;
    }
    return -1;
}

void km_format_time(int64_t t, char *buf, size_t n) {
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm)) { snprintf(buf, n, "?"); return; }
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int glob_impl(const char *p, const char *s, int ci) {
    /* Iterative matcher with one backtrack point: linear for patterns with one '*' run and
     * never recursive, so hostile patterns cannot exhaust the stack. */
    const char *star = NULL, *ss = NULL;
    while (*s) {
        char pc = *p, sc = *s;
        if (ci) { pc = (char)tolower((unsigned char)pc); sc = (char)tolower((unsigned char)sc); }
        if (*p == '*') { star = p++; ss = s; continue; }
        if (*p && (*p == '?' || pc == sc)) { p++; s++; continue; }
        if (star) { p = star + 1; s = ++ss; continue; }
        return 0;
    }
    while (*p == '*') p++;
    return *p == 0;
}

int km_glob(const char *pattern, const char *s) {
    return pattern && s && glob_impl(pattern, s, 0);
}

int km_glob_ci(const char *pattern, const char *s) {
    return pattern && s && glob_impl(pattern, s, 1);
}

size_t km_pct_encode(const char *s, char *out, size_t n) {
    static const char hex[] = "0123456789ABCDEF";
    size_t need = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        int plain = isalnum(*p) || *p == '.' || *p == '_' || *p == '-';
        /* A leading '.' would make a hidden file or "." / ".." */
        if (p == (const unsigned char *)s && *p == '.') plain = 0;
        if (plain) {
            if (need + 1 < n) out[need] = (char)*p;
            need++;
        } else {
            if (need + 3 < n) {
                out[need] = '%';
                out[need + 1] = hex[*p >> 4];
                out[need + 2] = hex[*p & 15];
            }
            need += 3;
        }
    }
    if (n) out[need < n ? need : n - 1] = 0;
    return need;
}

size_t km_pct_decode(const char *s, size_t len, char *out, int plus_space) {
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        int h1, h2;
        if (s[i] == '%' && i + 2 < len && isxdigit((unsigned char)s[i + 1]) &&
            isxdigit((unsigned char)s[i + 2])) {
            h1 = isdigit((unsigned char)s[i + 1]) ? s[i + 1] - '0' : (tolower((unsigned char)s[i + 1]) - 'a' + 10);
            h2 = isdigit((unsigned char)s[i + 2]) ? s[i + 2] - '0' : (tolower((unsigned char)s[i + 2]) - 'a' + 10);
            out[o++] = (char)(h1 * 16 + h2);
            i += 2;
        } else if (plus_space && s[i] == '+') {
            out[o++] = ' ';
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = 0;
    return o;
}

char *km_base64_decode(const char *s, size_t len, size_t *outlen) {
    char *out = malloc(len / 4 * 3 + 4);
    if (!out) return NULL;
    unsigned acc = 0;
    int bits = 0, pad = 0;
    size_t o = 0, seen = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        int v;
        if (c >= 'A' && c <= 'Z') v = c - 'A';
        else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
        else if (c >= '0' && c <= '9') v = c - '0' + 52;
        else if (c == '+') v = 62;
        else if (c == '/') v = 63;
        else if (c == '=') { pad++; seen++; continue; }
        else if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
        else { free(out); return NULL; }
        if (pad) { free(out); return NULL; } /* data after padding */
        seen++;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)((acc >> bits) & 0xFF);
        }
    }
    if (seen % 4 != 0 || pad > 2) { free(out); return NULL; }
    out[o] = 0;
    if (outlen) *outlen = o;
    return out;
}

int km_is_account_id(const char *s) {
    if (!s) return 0;
    size_t i = 0;
    for (; s[i]; i++)
        if (s[i] < '0' || s[i] > '9') return 0;
    return i == 12;
}

int km_is_region(const char *s) {
    /* letters, '-', letters (maybe more groups), '-', digits */
    if (!s || !islower((unsigned char)s[0])) return 0;
    int dashes = 0;
    const char *p = s;
    const char *last_dash = NULL;
    for (; *p; p++) {
        if (*p == '-') { dashes++; last_dash = p; }
        else if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p)) return 0;
    }
    if (dashes < 2 || !last_dash || !last_dash[1]) return 0;
    for (p = last_dash + 1; *p; p++)
        if (!isdigit((unsigned char)*p)) return 0;
    return 1;
}

void km_arn_field(const char *arn, int n, char *out, size_t outn) {
    if (outn) out[0] = 0;
    if (!arn || !outn) return;
    const char *p = arn;
    for (int i = 0; i < n; i++) {
        p = strchr(p, ':');
        if (!p) return;
        p++;
    }
    const char *e = strchr(p, ':');
    size_t l = e ? (size_t)(e - p) : strlen(p);
    if (l >= outn) l = outn - 1;
    memcpy(out, p, l);
    out[l] = 0;
}

int km_join(char *buf, size_t n, const char *sep, const char *item) {
    if (!n || !item) return -1;
    size_t l = strnlen(buf, n - 1);
    const char *sp = l ? sep : "";
    size_t need = strlen(sp) + strlen(item);
    if (l + need < n) {
        snprintf(buf + l, n - l, "%s%s", sp, item);
        return 0;
    }
    if (!(l >= 3 && !strcmp(buf + l - 3, "...")) && l + strlen(sp) + 3 < n) snprintf(buf + l, n - l, "%s...", sp);
    return -1;
}

int km_template_expand(const char *tmpl, const km_json *item, const char *key, const char *account, const char *region,
                       char *out, size_t n) {
    size_t o = 0;
    for (const char *p = tmpl; *p;) {
        /* "{name}" is a template; any other '{' is text, such as the JSON of --filter-criteria
         * (read as a template, it made the whole call vanish from the plan without a word) */
        unsigned char nx = (unsigned char)p[1];
        int tmpl_start = *p == '{' && (isalnum(nx) || nx == '_' || nx == '.' || nx == '@');
        if (!tmpl_start) {
            if (o + 1 >= n) return -1;
            out[o++] = *p++;
            continue;
        }
        const char *e = strchr(p, '}');
        if (!e) return -1;
        char name[128];
        size_t l = (size_t)(e - p - 1);
        if (l >= sizeof name) return -1;
        memcpy(name, p + 1, l);
        name[l] = 0;
        int arn_field = -1;
        char *bar = strchr(name, '|');
        if (bar) {
            if (strncmp(bar + 1, "arn:", 4)) return -1;
            arn_field = (int)strtol(bar + 5, NULL, 10);
            *bar = 0;
        }
        char num[64], tmp[2048];
        const char *val = NULL;
        if (!strcmp(name, "account")) val = account;
        else if (!strcmp(name, "region")) val = region;
        else if (!strcmp(name, "@key")) val = key;
        else {
            const km_json *v = strcmp(name, ".") ? km_ci_get(item, name) : item;
            if (v && v->type == KM_JSON_STRING) val = v->u.str.s;
            else if (v && v->type == KM_JSON_NUMBER) {
                snprintf(num, sizeof num, "%.*s", (int)v->u.num.len, v->u.num.raw);
                val = num;
            }
        }
        if (!val || !*val) return -1;
        if (arn_field >= 0) {
            km_arn_field(val, arn_field, tmp, sizeof tmp);
            if (!tmp[0]) return -1;
            val = tmp;
        }
        size_t vl = strlen(val);
        if (o + vl >= n) return -1;
        memcpy(out + o, val, vl);
        o += vl;
        p = e + 1;
    }
    out[o] = 0;
    return 0;
}
