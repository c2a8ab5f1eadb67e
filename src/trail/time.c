/* UTC time parsing and printing for digests, key validity and --start/--end. Written by hand
 * because strptime/timegm depend on the locale and TZ, and CloudTrail uses several forms (RFC
 * 3339, the compact forms in S3 keys, epoch seconds from ListPublicKeys). */
#include "kumomori/trail.h"
#include <stdio.h>
#include <string.h>

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's published formula). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yy + (*m <= 2);
}

/* Read exactly n digits at *p. */
static int digits(const char **p, int n, int *out) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9') return -1;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

static int days_in_month(int y, int m) {
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
    return dm[m - 1];
}

static int parse_epoch(const char *s, int64_t *t) {
    const char *p = s;
    int neg = 0;
    if (*p == '-') { neg = 1; p++; }
    if (*p < '0' || *p > '9') return -1;
    int64_t v = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (INT64_MAX - 9) / 10) return -1;
        v = v * 10 + (*p - '0');
    }
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9') p++;
    }
    if (*p) return -1;
    *t = neg ? -v : v;
    return 0;
}

int km_trail_parse_time(const char *s, int64_t *t) {
    if (!s || !*s) return -1;
    size_t n = strlen(s);
    /* Plain digits (with an optional fraction) that are not a compact date: epoch seconds. */
    if (!strchr(s, 'T') && !strchr(s, '-') && n != 8) return parse_epoch(s, t);
    if (s[0] == '-') return parse_epoch(s, t);
    const char *p = s;
    int y, mo, d, h = 0, mi = 0, se = 0;
    int compact = n >= 8 && s[4] != '-';
    if (digits(&p, 4, &y)) return -1;
    if (!compact && *p++ != '-') return -1;
    if (digits(&p, 2, &mo)) return -1;
    if (!compact && *p++ != '-') return -1;
    if (digits(&p, 2, &d)) return -1;
    if (*p == 'T' || *p == 't' || (*p == ' ' && !compact)) {
        p++;
        if (digits(&p, 2, &h)) return -1;
        if (!compact && *p++ != ':') return -1;
        if (digits(&p, 2, &mi)) return -1;
        if ((compact && *p >= '0' && *p <= '9') || (!compact && *p == ':')) {
            if (!compact) p++;
            if (digits(&p, 2, &se)) return -1;
            if (*p == '.') {
                p++;
                if (*p < '0' || *p > '9') return -1;
                while (*p >= '0' && *p <= '9') p++;
            }
        }
    }
    int64_t off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1, oh, om = 0;
        p++;
        if (digits(&p, 2, &oh)) return -1;
        if (*p == ':') p++;
        if (*p && digits(&p, 2, &om)) return -1;
        if (oh > 23 || om > 59) return -1;
        off = sign * (oh * 3600 + om * 60);
    }
    if (*p) return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || se > 60)
        return -1;
    *t = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + se - off;
    return 0;
}

void km_trail_format_time(int64_t t, char out[32]) {
    if (t == KM_TRAIL_TIME_MIN || t == KM_TRAIL_TIME_MAX) {
        snprintf(out, 32, "%s", t == KM_TRAIL_TIME_MIN ? "(beginning)" : "(now)");
        return;
    }
    int64_t days = t / 86400, rem = t % 86400;
    if (rem < 0) { rem += 86400; days--; }
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    char tmp[96];
    snprintf(tmp, sizeof tmp, "%04lld-%02u-%02uT%02d:%02d:%02dZ", (long long)y, m, d, (int)(rem / 3600),
             (int)(rem / 60 % 60), (int)(rem % 60));
    snprintf(out, 32, "%.31s", tmp);
}
