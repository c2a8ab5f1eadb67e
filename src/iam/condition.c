/* Condition operators (String*, Numeric*, Date*, Bool, BinaryEquals, IpAddress/NotIpAddress,
 * Arn*, Null), ...IfExists, ForAllValues/ForAnyValue, with AWS's missing-key and multi-value
 * rules:
 *  - several values for one key are ORed; for negated operators they are ANDed (the request
 *    value must match none of them);
 *  - an absent key makes a condition false, except for negated operators, ...IfExists and
 *    ForAllValues, which are true, and Null, which tests exactly that;
 *  - a multi-valued key needs a set operator: a plain operator is false for it;
 *  - ForAllValues is true for an empty set, ForAnyValue false.
 * Sources: reference_policies_elements_condition_operators.md,
 * reference_policies_multi-value-conditions.md (see docs/iam.md).
 *
 * Addresses are read with inet_pton. Dates are read by hand: the W3C profile of ISO 8601 that
 * AWS accepts (optional month, day, time, seconds, fraction and zone offset) is not what strptime
 * parses, and the comparison must be exact to the millisecond. Numbers are checked against the
 * decimal grammar before strtod, which alone would also take "inf", "nan" and hex. */
#include "iam/iam_internal.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

/* ---- value parsing ----------------------------------------------------------------------- */

int iam_parse_number(const char *s, size_t n, double *out) {
    if (n == 0 || n > 64) return 0;
    size_t i = 0;
    if (s[i] == '+' || s[i] == '-') i++;
    size_t digits = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++, digits++;
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++, digits++;
    }
    if (!digits) return 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        size_t ed = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++, ed++;
        if (!ed) return 0;
    }
    if (i != n) return 0;
    char buf[72];
    memcpy(buf, s, n);
    buf[n] = 0;
    *out = strtod(buf, NULL);
    return 1;
}

static int digits_at(const char *s, size_t n, size_t i, size_t k, int *v) {
    if (i + k > n) return 0;
    int x = 0;
    for (size_t j = 0; j < k; j++) {
        if (s[i + j] < '0' || s[i + j] > '9') return 0;
        x = x * 10 + (s[i + j] - '0');
    }
    *v = x;
    return 1;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* W3C date-time profile of ISO 8601 (YYYY, YYYY-MM, YYYY-MM-DD, ...Thh:mm[:ss[.f]]TZD, with a
 * space allowed for the T and a missing zone read as UTC), or epoch seconds. */
int iam_parse_date(const char *s, size_t n, int64_t *ms) {
    if (n == 0 || n > 64) return 0;
    size_t i = 0;
    int neg = 0;
    if (s[0] == '-' && n > 1) neg = 1, i = 1;
    int all_digits = 1;
    for (size_t k = i; k < n; k++)
        if (s[k] < '0' || s[k] > '9') all_digits = 0;
    if (all_digits && n - i <= 15 && (n - i != 4 || neg)) {
        int64_t v = 0;
        for (size_t k = i; k < n; k++) v = v * 10 + (s[k] - '0');
        *ms = (neg ? -v : v) * 1000;
        return 1;
    }
    if (neg) return 0;
    int y, mo = 1, d = 1, h = 0, mi = 0, sec = 0;
    double frac = 0;
    if (!digits_at(s, n, 0, 4, &y)) return 0;
    i = 4;
    if (i < n) {
        if (s[i] != '-' || !digits_at(s, n, i + 1, 2, &mo)) return 0;
        i += 3;
        if (i < n) {
            if (s[i] != '-' || !digits_at(s, n, i + 1, 2, &d)) return 0;
            i += 3;
        }
    }
    int64_t tz = 0;
    if (i < n) {
        if (s[i] != 'T' && s[i] != 't' && s[i] != ' ') return 0;
        if (!digits_at(s, n, i + 1, 2, &h) || i + 3 >= n || s[i + 3] != ':' ||
            !digits_at(s, n, i + 4, 2, &mi))
            return 0;
        i += 6;
        if (i < n && s[i] == ':') {
            if (!digits_at(s, n, i + 1, 2, &sec)) return 0;
            i += 3;
            if (i < n && (s[i] == '.' || s[i] == ',')) {
                i++;
                double scale = 0.1;
                size_t fd = 0;
                while (i < n && s[i] >= '0' && s[i] <= '9') {
                    frac += (s[i] - '0') * scale;
                    scale /= 10;
                    i++;
                    fd++;
                }
                if (!fd) return 0;
            }
        }
        if (i < n) {
            if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == n) {
                i++;
            } else if (s[i] == '+' || s[i] == '-') {
                int th, tm = 0;
                int sign = s[i] == '-' ? -1 : 1;
                if (!digits_at(s, n, i + 1, 2, &th)) return 0;
                size_t j = i + 3;
                if (j < n && s[j] == ':') j++;
                if (j < n) {
                    if (!digits_at(s, n, j, 2, &tm)) return 0;
                    j += 2;
                }
                if (j != n || th > 23 || tm > 59) return 0;
                tz = sign * (th * 3600 + tm * 60);
                i = n;
            } else {
                return 0;
            }
        }
    }
    if (i != n) return 0;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 24 || mi > 59 || sec > 60) return 0;
    if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 0;
    int64_t secs = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + sec - tz;
    *ms = secs * 1000 + (int64_t)(frac * 1000 + 0.5);
    return 1;
}

int iam_parse_ip(const char *s, size_t n, iam_cidr *out) {
    memset(out, 0, sizeof *out);
    if (n == 0 || n >= INET6_ADDRSTRLEN) return 0;
    char buf[INET6_ADDRSTRLEN];
    memcpy(buf, s, n);
    buf[n] = 0;
    if (memchr(buf, ':', n)) {
        if (inet_pton(AF_INET6, buf, out->addr) != 1) return 0;
        out->v6 = 1;
        out->prefix = 128;
    } else {
        if (inet_pton(AF_INET, buf, out->addr) != 1) return 0;
        out->prefix = 32;
    }
    out->ok = 1;
    return 1;
}

int iam_parse_cidr(const char *s, size_t n, iam_cidr *out) {
    const char *slash = memchr(s, '/', n);
    if (!slash) return iam_parse_ip(s, n, out);
    if (!iam_parse_ip(s, (size_t)(slash - s), out)) return 0;
    size_t pl = n - (size_t)(slash - s) - 1;
    int v;
    if (pl < 1 || pl > 3 || !digits_at(slash + 1, pl, 0, pl, &v)) return (out->ok = 0);
    if (v > (out->v6 ? 128 : 32)) return (out->ok = 0);
    out->prefix = (uint8_t)v;
    return 1;
}

static int cidr_contains(const iam_cidr *net, const iam_cidr *ip) {
    int bits = net->prefix;
    for (int i = 0; bits > 0; i++, bits -= 8) {
        uint8_t mask = bits >= 8 ? 0xFF : (uint8_t)(0xFF << (8 - bits));
        if ((net->addr[i] & mask) != (ip->addr[i] & mask)) return 0;
    }
    return 1;
}

/* ---- per-value comparisons ---------------------------------------------------------------- */

typedef struct vctx {
    const km_iam_context *ctx;
    int vars;
    iam_scratch *scr;
    iam_cond_result *out;
} vctx;

/* Resolve a policy value; returns 0 ok, 1 unresolvable (recorded), -1 no memory. */
static int resolve_value(vctx *v, const char *s, size_t n, int has_var, int wild, iam_pat *pat,
                         const char **ps, const uint8_t **pw, size_t *pn) {
    if (!has_var || !v->vars) {
        *ps = s;
        *pw = NULL;
        *pn = n;
        return 0;
    }
    const char *bad = NULL;
    size_t badn = 0;
    int rc = iam_resolve(s, n, v->ctx, wild, pat, &bad, &badn);
    if (rc < 0) return -1;
    if (rc == 1) {
        v->out->reason = CR_UNRESOLVED_VAR;
        if (!v->out->bad_var) {
            v->out->bad_var = bad;
            v->out->bad_var_len = badn;
        }
        return 1;
    }
    *ps = pat->s;
    *pw = pat->w;
    *pn = pat->n;
    return 0;
}

/* ARN match per colon-separated part: wildcards stay inside a part except in the resource part. */
static int arn_value_match(vctx *v, const iam_cvalue *pv, const char *req, size_t rn, int *err) {
    iam_arn pa, ra;
    *err = 0;
    if (iam_arn_split(pv->s, pv->len, &pa) != 6 || iam_arn_split(req, rn, &ra) != 6) {
        *err = 1;
        v->out->reason = CR_BAD_VALUE;
        return 0;
    }
    for (int k = 1; k < 6; k++) {
        const char *ps;
        const uint8_t *pw;
        size_t pn;
        int rc = resolve_value(v, pa.seg[k], pa.len[k], pv->has_var, 1, &v->scr->pat[1], &ps, &pw, &pn);
        if (rc != 0) {
            *err = 1;
            return 0;
        }
        if (!iam_glob(ps, pw, pn, ra.seg[k], ra.len[k], 0)) return 0;
    }
    return 1;
}

static int bool_text(const char *s, size_t n) {
    if (iam_ieq(s, n, "true", 4)) return 1;
    if (iam_ieq(s, n, "false", 5)) return 0;
    return -1;
}

/* Whether one request value satisfies the base operator against all policy values (OR for
 * positive operators, AND-of-not for negated ones). */
static int base_match(vctx *v, const iam_cond *c, const char *req) {
    size_t rn = strlen(req);
    int neg = iam_op_negated(c->op);
    double rnum = 0;
    int64_t rdate = 0;
    iam_cidr rip;
    int rok = 1;
    switch (c->op) {
    case OP_NUM_EQ: case OP_NUM_NE: case OP_NUM_LT: case OP_NUM_LE: case OP_NUM_GT: case OP_NUM_GE:
        rok = iam_parse_number(req, rn, &rnum);
        break;
    case OP_DATE_EQ: case OP_DATE_NE: case OP_DATE_LT: case OP_DATE_LE: case OP_DATE_GT: case OP_DATE_GE:
        rok = iam_parse_date(req, rn, &rdate);
        break;
    case OP_IP: case OP_NOT_IP:
        rok = iam_parse_ip(req, rn, &rip);
        break;
    case OP_BOOL:
        rok = bool_text(req, rn) >= 0;
        break;
    default:
        break;
    }
    if (!rok) {
        /* A request value of the wrong type satisfies neither form of the operator. */
        v->out->reason = CR_BAD_VALUE;
        return 0;
    }
    for (size_t i = 0; i < c->nv; i++) {
        const iam_cvalue *pv = &c->v[i];
        int m = 0, err = 0;
        const char *ps;
        const uint8_t *pw;
        size_t pn;
        int rc;
        switch (c->op) {
        case OP_STRING_EQUALS: case OP_STRING_NOT_EQUALS:
        case OP_STRING_EQUALS_IC: case OP_STRING_NOT_EQUALS_IC:
            rc = resolve_value(v, pv->s, pv->len, pv->has_var, 0, &v->scr->pat[0], &ps, &pw, &pn);
            if (rc < 0) return -1;
            if (rc) { err = 1; break; }
            if (c->op == OP_STRING_EQUALS || c->op == OP_STRING_NOT_EQUALS)
                m = pn == rn && memcmp(ps, req, rn) == 0;
            else
                m = iam_ieq(ps, pn, req, rn);
            break;
        case OP_STRING_LIKE: case OP_STRING_NOT_LIKE:
            rc = resolve_value(v, pv->s, pv->len, pv->has_var, 1, &v->scr->pat[0], &ps, &pw, &pn);
            if (rc < 0) return -1;
            if (rc) { err = 1; break; }
            m = iam_glob(ps, pw, pn, req, rn, 0);
            break;
        case OP_NUM_EQ: case OP_NUM_NE: case OP_NUM_LT: case OP_NUM_LE: case OP_NUM_GT: case OP_NUM_GE:
            if (!pv->ok) { err = 1; v->out->reason = CR_BAD_VALUE; break; }
            switch (c->op) {
            case OP_NUM_EQ: case OP_NUM_NE: m = rnum == pv->num; break;
            case OP_NUM_LT: m = rnum < pv->num; break;
            case OP_NUM_LE: m = rnum <= pv->num; break;
            case OP_NUM_GT: m = rnum > pv->num; break;
            default: m = rnum >= pv->num; break;
            }
            break;
        case OP_DATE_EQ: case OP_DATE_NE: case OP_DATE_LT: case OP_DATE_LE: case OP_DATE_GT: case OP_DATE_GE:
            if (!pv->ok) { err = 1; v->out->reason = CR_BAD_VALUE; break; }
            switch (c->op) {
            case OP_DATE_EQ: case OP_DATE_NE: m = rdate == pv->date_ms; break;
            case OP_DATE_LT: m = rdate < pv->date_ms; break;
            case OP_DATE_LE: m = rdate <= pv->date_ms; break;
            case OP_DATE_GT: m = rdate > pv->date_ms; break;
            default: m = rdate >= pv->date_ms; break;
            }
            break;
        case OP_BOOL: {
            rc = resolve_value(v, pv->s, pv->len, pv->has_var, 0, &v->scr->pat[0], &ps, &pw, &pn);
            if (rc < 0) return -1;
            if (rc) { err = 1; break; }
            int pb = bool_text(ps, pn);
            if (pb < 0) { err = 1; v->out->reason = CR_BAD_VALUE; break; }
            m = pb == bool_text(req, rn);
            break;
        }
        case OP_BINARY_EQUALS:
            m = pv->len == rn && memcmp(pv->s, req, rn) == 0;
            break;
        case OP_IP: case OP_NOT_IP:
            if (!pv->cidr.ok) { err = 1; v->out->reason = CR_BAD_VALUE; break; }
            m = pv->cidr.v6 == rip.v6 && cidr_contains(&pv->cidr, &rip);
            break;
        case OP_ARN_EQUALS: case OP_ARN_LIKE: case OP_ARN_NOT_EQUALS: case OP_ARN_NOT_LIKE:
            m = arn_value_match(v, pv, req, rn, &err);
            break;
        default:
            err = 1;
            break;
        }
        if (neg) {
            /* A value that cannot be compared does not count as "different". */
            if (err || m) return 0;
        } else if (!err && m) {
            return 1;
        }
    }
    return neg ? 1 : 0;
}

int iam_cond_eval(const iam_cond *c, const km_iam_context *ctx, int vars, iam_scratch *scr,
                  iam_cond_result *out) {
    memset(out, 0, sizeof *out);
    vctx v = {ctx, vars, scr, out};
    const iam_ctx_entry *e = ctx ? iam_ctx_find(ctx, c->key, c->key_len) : NULL;
    out->missing = e == NULL;
    if (c->op == OP_NULL) {
        out->reason = CR_NULL_CHECK;
        const char *goal = e ? "false" : "true";
        for (size_t i = 0; i < c->nv; i++)
            if (iam_ieq(c->v[i].s, c->v[i].len, goal, strlen(goal))) out->match = 1;
        return 0;
    }
    if (c->set) {
        if (!e) {
            /* ForAllValues over no values is true; ForAnyValue is false, and ...IfExists does not
             * change that: AWS denied a request whose only Allow had ForAnyValue:StringEqualsIfExists
             * on an absent key (re:Post QU9HFmDzP0QGuU-fd7rS6B7w), as iam-simulate also decides. */
            out->reason = c->set == SET_FOR_ALL ? CR_EMPTY_FORALL : CR_MISSING;
            out->match = c->set == SET_FOR_ALL;
            return 0;
        }
        if (e->n == 0) {
            out->reason = c->set == SET_FOR_ALL ? CR_EMPTY_FORALL : CR_COMPARED;
            out->match = c->set == SET_FOR_ALL;
            return 0;
        }
        int any = 0, all = 1;
        for (size_t i = 0; i < e->n; i++) {
            int m = base_match(&v, c, e->vals[i]);
            if (m < 0) return -1;
            if (m) any = 1;
            else all = 0;
            if (c->set == SET_FOR_ANY && any) break;
            if (c->set == SET_FOR_ALL && !all) break;
        }
        out->match = c->set == SET_FOR_ALL ? all : any;
        return 0;
    }
    if (!e) {
        if (c->if_exists) {
            out->reason = CR_MISSING_IFEXISTS;
            out->match = 1;
        } else {
            out->reason = CR_MISSING;
            out->match = iam_op_negated(c->op);
        }
        return 0;
    }
    if (e->multi) {
        out->reason = CR_MULTI_PLAIN;
        out->match = 0;
        return 0;
    }
    int m = base_match(&v, c, e->n ? e->vals[0] : "");
    if (m < 0) return -1;
    out->match = m;
    return 0;
}
