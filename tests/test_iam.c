/* IAM engine unit tests: every condition operator, every evaluation rule, policy variables,
 * wildcards and case rules, bad input. Expected values come from the AWS documentation
 * (docs/iam.md cites the pages), never from the code under test.
 * Case JSON is written with ` for " to keep it readable. */
#include "test.h"
#include "kumomori/iam.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *unquote(const char *s) {
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    for (size_t i = 0; i <= n; i++) d[i] = s[i] == '`' ? '"' : s[i];
    return d;
}

/* Evaluate a case written with backquotes; returns the decision or -1 (error in *msg). */
static int run(const char *bq, char *msg, size_t msgn) {
    char *json = unquote(bq);
    km_error err;
    km_error_clear(&err);
    km_json_doc *doc = km_json_parse(json, strlen(json), NULL, NULL, &err);
    int d = -1;
    if (doc) {
        km_iam_case *c = km_iam_case_from_json(km_json_root(doc), json, strlen(json), "test", &err);
        if (c) d = km_iam_case_evaluate(c, NULL, NULL, &err);
        km_iam_case_free(c);
    }
    if (d < 0 && msg) snprintf(msg, msgn, "%s", err.msg);
    km_json_doc_free(doc);
    free(json);
    return d;
}

#define A KM_IAM_ALLOWED
#define X KM_IAM_EXPLICIT_DENY
#define I KM_IAM_IMPLICIT_DENY
#define EXPECT(bq, want)                                                                  \
    do {                                                                                  \
        char m_[600] = "";                                                                \
        int d_ = run(bq, m_, sizeof m_);                                                  \
        CHECK_MSG(d_ == (want), "line %d: got %d (%s), expected %d", __LINE__, d_, m_, (want)); \
    } while (0)

/* ---- one condition, Allow * on * -------------------------------------------------------- */

/* cond("StringEquals", "`k`: `v`", "`k`: `v`") evaluates Allow-if-condition with the context. */
static int cond(const char *op, const char *keyvals, const char *ctx) {
    char buf[4096];
    snprintf(buf, sizeof buf,
             "{`request`: {`principal`: `arn:aws:iam::111122223333:user/alice`, `action`: `s3:GetObject`,"
             " `resource`: `arn:aws:s3:::b/k`, `resourceAccount`: `111122223333`, `context`: {%s}},"
             " `identityPolicies`: [{`Version`: `2012-10-17`, `Statement`: [{`Effect`: `Allow`, `Action`: `*`,"
             " `Resource`: `*`, `Condition`: {`%s`: {%s}}}]}]}",
             ctx, op, keyvals);
    char m[600];
    int d = run(buf, m, sizeof m);
    if (d < 0) {
        printf("cond error: %s\n", m);
        return -1;
    }
    return d == KM_IAM_ALLOWED;
}

TEST(iam_op_string) {
    CHECK_INT(cond("StringEquals", "`k:a`: `Bob`", "`k:a`: `Bob`"), 1);
    CHECK_INT(cond("StringEquals", "`k:a`: `Bob`", "`k:a`: `bob`"), 0);            /* case-sensitive */
    CHECK_INT(cond("StringEquals", "`k:a`: [`x`, `Bob`]", "`k:a`: `Bob`"), 1);     /* values ORed */
    CHECK_INT(cond("StringEquals", "`k:a`: `B*`", "`k:a`: `Bob`"), 0);             /* no wildcards */
    CHECK_INT(cond("StringEquals", "`k:a`: `B*`", "`k:a`: `B*`"), 1);
    CHECK_INT(cond("StringEquals", "`k:a`: `Bob`", ""), 0);                        /* absent: false */
    CHECK_INT(cond("StringEquals", "`K:A`: `Bob`", "`k:a`: `Bob`"), 1);            /* key names fold case */
    CHECK_INT(cond("StringNotEquals", "`k:a`: [`x`, `y`]", "`k:a`: `Bob`"), 1);
    CHECK_INT(cond("StringNotEquals", "`k:a`: [`x`, `Bob`]", "`k:a`: `Bob`"), 0);  /* values ANDed */
    CHECK_INT(cond("StringNotEquals", "`k:a`: `x`", ""), 1);                       /* absent: true */
    CHECK_INT(cond("StringEqualsIgnoreCase", "`k:a`: `BOB`", "`k:a`: `bob`"), 1);
    CHECK_INT(cond("StringNotEqualsIgnoreCase", "`k:a`: `BOB`", "`k:a`: `bob`"), 0);
    CHECK_INT(cond("StringNotEqualsIgnoreCase", "`k:a`: `BOB`", "`k:a`: `bobby`"), 1);
    CHECK_INT(cond("StringLike", "`k:a`: `arn:*:role/a?c`", "`k:a`: `arn:x:y:role/abc`"), 1);
    CHECK_INT(cond("StringLike", "`k:a`: `a?c`", "`k:a`: `ac`"), 0);               /* ? is exactly one */
    CHECK_INT(cond("StringLike", "`k:a`: `A*`", "`k:a`: `abc`"), 0);               /* case-sensitive */
    CHECK_INT(cond("StringLike", "`k:a`: `*`", ""), 0);
    CHECK_INT(cond("StringNotLike", "`k:a`: [`a*`, `b*`]", "`k:a`: `cat`"), 1);
    CHECK_INT(cond("StringNotLike", "`k:a`: [`a*`, `c*`]", "`k:a`: `cat`"), 0);
    CHECK_INT(cond("StringNotLike", "`k:a`: `a*`", ""), 1);
    CHECK_INT(cond("StringLike", "`k:a`: `é?`", "`k:a`: `éü`"), 1);            /* ? is a character */
}

TEST(iam_op_numeric) {
    CHECK_INT(cond("NumericEquals", "`k:n`: `10`", "`k:n`: `10`"), 1);
    CHECK_INT(cond("NumericEquals", "`k:n`: `10`", "`k:n`: `10.0`"), 1);
    CHECK_INT(cond("NumericEquals", "`k:n`: 10", "`k:n`: `10`"), 1);               /* JSON number value */
    CHECK_INT(cond("NumericNotEquals", "`k:n`: [`1`, `2`]", "`k:n`: `3`"), 1);
    CHECK_INT(cond("NumericNotEquals", "`k:n`: [`1`, `3`]", "`k:n`: `3`"), 0);
    CHECK_INT(cond("NumericLessThan", "`k:n`: `10`", "`k:n`: `9.5`"), 1);
    CHECK_INT(cond("NumericLessThan", "`k:n`: `10`", "`k:n`: `10`"), 0);
    CHECK_INT(cond("NumericLessThanEquals", "`k:n`: `10`", "`k:n`: `10`"), 1);
    CHECK_INT(cond("NumericGreaterThan", "`k:n`: `10`", "`k:n`: `11`"), 1);
    CHECK_INT(cond("NumericGreaterThan", "`k:n`: `10`", "`k:n`: `-11`"), 0);
    CHECK_INT(cond("NumericGreaterThanEquals", "`k:n`: `10`", "`k:n`: `10`"), 1);
    CHECK_INT(cond("NumericEquals", "`k:n`: `10`", "`k:n`: `ten`"), 0);            /* not a number */
    CHECK_INT(cond("NumericNotEquals", "`k:n`: `10`", "`k:n`: `ten`"), 0);         /* neither form */
    CHECK_INT(cond("NumericEquals", "`k:n`: `abc`", "`k:n`: `10`"), 0);            /* bad policy value */
    CHECK_INT(cond("NumericLessThanIfExists", "`k:n`: `10`", ""), 1);
}

TEST(iam_op_date) {
    CHECK_INT(cond("DateEquals", "`k:d`: `2024-01-01T00:00:00Z`", "`k:d`: `1704067200`"), 1); /* epoch s */
    CHECK_INT(cond("DateEquals", "`k:d`: `2024-01-01`", "`k:d`: `2024-01-01T00:00:00Z`"), 1);
    CHECK_INT(cond("DateEquals", "`k:d`: `2024-01-01T09:00:00+09:00`", "`k:d`: `2024-01-01T00:00:00Z`"), 1);
    CHECK_INT(cond("DateLessThan", "`k:d`: `2024-01-01T00:00:00Z`", "`k:d`: `2023-12-31T23:59:59Z`"), 1);
    CHECK_INT(cond("DateLessThan", "`k:d`: `2024-01-01T00:00:00Z`", "`k:d`: `2024-01-01T00:00:00Z`"), 0);
    CHECK_INT(cond("DateLessThanEquals", "`k:d`: `2024-01-01T00:00:00Z`", "`k:d`: `2024-01-01T00:00:00Z`"), 1);
    CHECK_INT(cond("DateGreaterThan", "`k:d`: `2024-01-01T00:00:00Z`", "`k:d`: `2024-01-01T00:00:00.5Z`"), 1);
    CHECK_INT(cond("DateGreaterThanEquals", "`k:d`: `2024-01-01`", "`k:d`: `2023-06-01`"), 0);
    CHECK_INT(cond("DateNotEquals", "`k:d`: [`2024-01-01`, `2025-01-01`]", "`k:d`: `2026-01-01`"), 1);
    CHECK_INT(cond("DateNotEquals", "`k:d`: [`2024-01-01`, `2025-01-01`]", "`k:d`: `2025-01-01`"), 0);
    CHECK_INT(cond("DateEquals", "`k:d`: `2024-02-30`", "`k:d`: `2024-02-30`"), 0); /* not a date */
    CHECK_INT(cond("DateEquals", "`k:d`: `2024-01-01`", "`k:d`: `yesterday`"), 0);
}

TEST(iam_op_bool_binary) {
    CHECK_INT(cond("Bool", "`aws:SecureTransport`: `true`", "`aws:SecureTransport`: `true`"), 1);
    CHECK_INT(cond("Bool", "`aws:SecureTransport`: `True`", "`aws:SecureTransport`: `TRUE`"), 1);
    CHECK_INT(cond("Bool", "`aws:SecureTransport`: true", "`aws:SecureTransport`: `true`"), 1);
    CHECK_INT(cond("Bool", "`aws:SecureTransport`: `true`", "`aws:SecureTransport`: `false`"), 0);
    CHECK_INT(cond("Bool", "`aws:SecureTransport`: `true`", "`aws:SecureTransport`: `yes`"), 0);
    CHECK_INT(cond("Bool", "`aws:SecureTransport`: `true`", ""), 0);
    CHECK_INT(cond("BoolIfExists", "`aws:SecureTransport`: `true`", ""), 1);
    CHECK_INT(cond("BinaryEquals", "`k:b`: `QmluYXJ5VmFsdWU=`", "`k:b`: `QmluYXJ5VmFsdWU=`"), 1);
    CHECK_INT(cond("BinaryEquals", "`k:b`: `QmluYXJ5VmFsdWU=`", "`k:b`: `qmluYXJ5VmFsdWU=`"), 0);
}

TEST(iam_op_ip) {
    CHECK_INT(cond("IpAddress", "`aws:SourceIp`: `203.0.113.0/24`", "`aws:SourceIp`: `203.0.113.77`"), 1);
    CHECK_INT(cond("IpAddress", "`aws:SourceIp`: `203.0.113.0/24`", "`aws:SourceIp`: `203.0.114.1`"), 0);
    CHECK_INT(cond("IpAddress", "`aws:SourceIp`: `203.0.113.7`", "`aws:SourceIp`: `203.0.113.7`"), 1); /* bare = /32 */
    CHECK_INT(cond("IpAddress", "`aws:SourceIp`: `203.0.113.7`", "`aws:SourceIp`: `203.0.113.8`"), 0);
    CHECK_INT(cond("IpAddress", "`aws:SourceIp`: `10.1.2.3/8`", "`aws:SourceIp`: `10.200.0.1`"), 1); /* host bits */
    CHECK_INT(cond("IpAddress", "`aws:SourceIp`: `0.0.0.0/0`", "`aws:SourceIp`: `8.8.8.8`"), 1);
    CHECK_INT(cond("IpAddress", "`aws:SourceIp`: `2001:DB8:1234:5678::/64`",
                   "`aws:SourceIp`: `2001:db8:1234:5678:abcd::1`"), 1);
    CHECK_INT(cond("IpAddress", "`aws:SourceIp`: `2001:db8::/32`", "`aws:SourceIp`: `2001:db9::1`"), 0);
    CHECK_INT(cond("IpAddress", "`aws:SourceIp`: `::ffff:192.0.2.0/120`", "`aws:SourceIp`: `::ffff:192.0.2.5`"), 1);
    CHECK_INT(cond("IpAddress", "`aws:SourceIp`: `203.0.113.0/24`", "`aws:SourceIp`: `2001:db8::1`"), 0);
    CHECK_INT(cond("NotIpAddress", "`aws:SourceIp`: `203.0.113.0/24`", "`aws:SourceIp`: `2001:db8::1`"), 1);
    CHECK_INT(cond("NotIpAddress", "`aws:SourceIp`: [`10.0.0.0/8`, `192.168.0.0/16`]", "`aws:SourceIp`: `192.168.1.1`"), 0);
    CHECK_INT(cond("NotIpAddress", "`aws:SourceIp`: [`10.0.0.0/8`, `192.168.0.0/16`]", "`aws:SourceIp`: `172.16.0.1`"), 1);
    CHECK_INT(cond("IpAddress", "`aws:SourceIp`: `10.0.0.0/8`", "`aws:SourceIp`: `not-an-ip`"), 0);
    CHECK_INT(cond("NotIpAddress", "`aws:SourceIp`: `10.0.0.0/8`", "`aws:SourceIp`: `not-an-ip`"), 0);
    CHECK_INT(cond("NotIpAddress", "`aws:SourceIp`: `10.0.0.0/8`", ""), 1);
    CHECK_INT(cond("IpAddress", "`aws:SourceIp`: `10.0.0.0/33`", "`aws:SourceIp`: `10.0.0.1`"), 0);
}

TEST(iam_op_arn) {
    CHECK_INT(cond("ArnLike", "`aws:PrincipalArn`: `arn:aws:iam::*:role/admin-*`",
                   "`aws:PrincipalArn`: `arn:aws:iam::111122223333:role/admin-ops`"), 1);
    CHECK_INT(cond("ArnEquals", "`aws:PrincipalArn`: `arn:aws:iam::*:role/admin-*`",
                   "`aws:PrincipalArn`: `arn:aws:iam::111122223333:role/admin-ops`"), 1); /* same as ArnLike */
    /* '*' stays inside its segment: it cannot stand for region and account together. */
    CHECK_INT(cond("ArnLike", "`aws:SourceArn`: `arn:aws:sns:*:topic`", "`aws:SourceArn`: `arn:aws:sns:us-east-1:111122223333:topic`"), 0);
    CHECK_INT(cond("StringLike", "`aws:SourceArn`: `arn:aws:sns:*:topic`", "`aws:SourceArn`: `arn:aws:sns:us-east-1:111122223333:topic`"), 1);
    /* the resource part may hold colons */
    CHECK_INT(cond("ArnLike", "`aws:SourceArn`: `arn:aws:logs:us-east-1:111122223333:log-group:*`",
                   "`aws:SourceArn`: `arn:aws:logs:us-east-1:111122223333:log-group:app:log-stream:x`"), 1);
    CHECK_INT(cond("ArnLike", "`aws:SourceArn`: `arn:aws:s3:::Bucket`", "`aws:SourceArn`: `arn:aws:s3:::bucket`"), 0);
    CHECK_INT(cond("ArnNotLike", "`aws:PrincipalArn`: `arn:aws:iam::*:role/admin-*`",
                   "`aws:PrincipalArn`: `arn:aws:iam::111122223333:user/bob`"), 1);
    CHECK_INT(cond("ArnNotEquals", "`aws:PrincipalArn`: `arn:aws:iam::*:role/admin-*`",
                   "`aws:PrincipalArn`: `arn:aws:iam::111122223333:role/admin-x`"), 0);
    CHECK_INT(cond("ArnNotLike", "`aws:PrincipalArn`: `arn:aws:iam::*:role/x`", ""), 1);
    CHECK_INT(cond("ArnLike", "`aws:PrincipalArn`: `arn:aws:iam::*:role/x`", "`aws:PrincipalArn`: `not-an-arn`"), 0);
}

TEST(iam_op_null_ifexists) {
    CHECK_INT(cond("Null", "`aws:TokenIssueTime`: `true`", ""), 1);
    CHECK_INT(cond("Null", "`aws:TokenIssueTime`: `true`", "`aws:TokenIssueTime`: `2024-01-01T00:00:00Z`"), 0);
    CHECK_INT(cond("Null", "`aws:TokenIssueTime`: `false`", "`aws:TokenIssueTime`: `2024-01-01T00:00:00Z`"), 1);
    CHECK_INT(cond("Null", "`aws:TokenIssueTime`: `false`", ""), 0);
    CHECK_INT(cond("StringEqualsIfExists", "`k:a`: `x`", ""), 1);
    CHECK_INT(cond("StringEqualsIfExists", "`k:a`: `x`", "`k:a`: `y`"), 0);
    CHECK_INT(cond("StringEqualsIfExists", "`k:a`: `x`", "`k:a`: `x`"), 1);
    CHECK_INT(cond("NumericGreaterThanIfExists", "`k:n`: `5`", "`k:n`: `4`"), 0);
}

TEST(iam_op_sets) {
    /* ForAllValues: every request value must match; true for an absent key and an empty set. */
    CHECK_INT(cond("ForAllValues:StringEquals", "`aws:TagKeys`: [`env`, `team`]", "`aws:TagKeys`: [`env`]"), 1);
    CHECK_INT(cond("ForAllValues:StringEquals", "`aws:TagKeys`: [`env`, `team`]", "`aws:TagKeys`: [`env`, `cost`]"), 0);
    CHECK_INT(cond("ForAllValues:StringEquals", "`aws:TagKeys`: [`env`]", ""), 1);
    CHECK_INT(cond("ForAllValues:StringEquals", "`aws:TagKeys`: [`env`]", "`aws:TagKeys`: []"), 1);
    CHECK_INT(cond("ForAllValues:StringLike", "`aws:TagKeys`: [`env*`]", "`aws:TagKeys`: [`env1`, `env2`]"), 1);
    /* ForAnyValue: at least one; false for an absent key and an empty set. */
    CHECK_INT(cond("ForAnyValue:StringEquals", "`aws:TagKeys`: [`env`]", "`aws:TagKeys`: [`cost`, `env`]"), 1);
    CHECK_INT(cond("ForAnyValue:StringEquals", "`aws:TagKeys`: [`env`]", "`aws:TagKeys`: [`cost`]"), 0);
    CHECK_INT(cond("ForAnyValue:StringEquals", "`aws:TagKeys`: [`env`]", ""), 0);
    CHECK_INT(cond("ForAnyValue:StringEquals", "`aws:TagKeys`: [`env`]", "`aws:TagKeys`: []"), 0);
    /* IfExists does not rescue ForAnyValue on an absent key (observed on AWS, docs/iam.md). */
    CHECK_INT(cond("ForAnyValue:StringEqualsIfExists", "`aws:TagKeys`: [`env`]", ""), 0);
    CHECK_INT(cond("ForAllValues:StringEqualsIfExists", "`aws:TagKeys`: [`env`]", ""), 1);
    /* Negated base operators inside set operators. */
    CHECK_INT(cond("ForAllValues:StringNotEquals", "`aws:TagKeys`: [`secret`]", "`aws:TagKeys`: [`env`, `team`]"), 1);
    CHECK_INT(cond("ForAllValues:StringNotEquals", "`aws:TagKeys`: [`secret`]", "`aws:TagKeys`: [`env`, `secret`]"), 0);
    CHECK_INT(cond("ForAnyValue:StringNotEquals", "`aws:TagKeys`: [`env`]", "`aws:TagKeys`: [`env`, `team`]"), 1);
    CHECK_INT(cond("ForAnyValue:StringNotEquals", "`aws:TagKeys`: [`env`]", "`aws:TagKeys`: [`env`]"), 0);
    /* A single-valued key is a set of one for set operators. */
    CHECK_INT(cond("ForAnyValue:StringEquals", "`k:a`: [`x`]", "`k:a`: `x`"), 1);
    /* A multi-valued key without a set operator never satisfies a plain operator, negated or not. */
    CHECK_INT(cond("StringEquals", "`aws:TagKeys`: `env`", "`aws:TagKeys`: [`env`]"), 0);
    CHECK_INT(cond("StringNotEquals", "`aws:TagKeys`: `x`", "`aws:TagKeys`: [`env`]"), 0);
}

TEST(iam_op_and_or) {
    /* Different keys and different operators are ANDed. */
    CHECK_INT(cond("StringEquals", "`k:a`: `1`, `k:b`: `2`", "`k:a`: `1`, `k:b`: `2`"), 1);
    CHECK_INT(cond("StringEquals", "`k:a`: `1`, `k:b`: `2`", "`k:a`: `1`, `k:b`: `3`"), 0);
    EXPECT("{`request`: {`principal`: `arn:aws:iam::111122223333:user/a`, `action`: `s3:GetObject`,"
           " `resource`: `arn:aws:s3:::b/k`, `context`: {`k:a`: `1`, `k:n`: `7`}},"
           " `identityPolicies`: [{`Version`: `2012-10-17`, `Statement`: [{`Effect`: `Allow`, `Action`: `*`,"
           " `Resource`: `*`, `Condition`: {`StringEquals`: {`k:a`: `1`}, `NumericLessThan`: {`k:n`: `5`}}}]}]}", I);
}

/* ---- policy variables ------------------------------------------------------------------- */

static const char *var_case =
    "{`request`: {`principal`: `arn:aws:iam::111122223333:user/alice`, `action`: `s3:GetObject`,"
    " `resource`: `%s`, `context`: {%s}},"
    " `identityPolicies`: [{%s `Statement`: [{`Effect`: `Allow`, `Action`: `s3:GetObject`,"
    " `Resource`: `%s`%s}]}]}";

static int var(const char *resource, const char *ctx, const char *version, const char *pres, const char *condition) {
    char buf[4096];
    snprintf(buf, sizeof buf, var_case, resource, ctx, version, pres, condition);
    char m[600];
    int d = run(buf, m, sizeof m);
    if (d < 0) printf("var error: %s\n", m);
    return d;
}

TEST(iam_variables) {
    const char *v12 = "`Version`: `2012-10-17`,";
    CHECK_INT(var("arn:aws:s3:::home/alice/x", "`aws:username`: `alice`", v12, "arn:aws:s3:::home/${aws:username}/*", ""), A);
    CHECK_INT(var("arn:aws:s3:::home/bob/x", "`aws:username`: `alice`", v12, "arn:aws:s3:::home/${aws:username}/*", ""), I);
    /* no value, no default: the statement matches nothing */
    CHECK_INT(var("arn:aws:s3:::home/alice/x", "", v12, "arn:aws:s3:::home/${aws:username}/*", ""), I);
    /* default value */
    CHECK_INT(var("arn:aws:s3:::team/company-wide/x", "", v12,
                  "arn:aws:s3:::team/${aws:PrincipalTag/team, 'company-wide'}/*", ""), A);
    CHECK_INT(var("arn:aws:s3:::team/ops/x", "`aws:PrincipalTag/team`: `ops`", v12,
                  "arn:aws:s3:::team/${aws:PrincipalTag/team, 'company-wide'}/*", ""), A);
    /* without Version 2012-10-17 a variable is literal text */
    CHECK_INT(var("arn:aws:s3:::home/alice/x", "`aws:username`: `alice`", "", "arn:aws:s3:::home/${aws:username}/*", ""), I);
    CHECK_INT(var("arn:aws:s3:::home/${aws:username}/x", "`aws:username`: `alice`", "",
                  "arn:aws:s3:::home/${aws:username}/*", ""), A);
    /* escapes: ${*} is a literal star */
    CHECK_INT(var("arn:aws:s3:::b/k", "`k:a`: `a*b`", v12, "*", ", `Condition`: {`StringLike`: {`k:a`: `a${*}b`}}"), A);
    CHECK_INT(var("arn:aws:s3:::b/k", "`k:a`: `axxb`", v12, "*", ", `Condition`: {`StringLike`: {`k:a`: `a${*}b`}}"), I);
    /* a substituted value is never a wildcard */
    CHECK_INT(var("arn:aws:s3:::b/k", "`k:a`: `anything`, `k:p`: `*`", v12, "*",
                  ", `Condition`: {`StringLike`: {`k:a`: `${k:p}`}}"), I);
    CHECK_INT(var("arn:aws:s3:::b/k", "`k:a`: `*`, `k:p`: `*`", v12, "*", ", `Condition`: {`StringLike`: {`k:a`: `${k:p}`}}"), A);
    /* a multi-valued key cannot be substituted */
    CHECK_INT(var("arn:aws:s3:::b/k", "`k:a`: `x`, `k:m`: [`x`]", v12, "*", ", `Condition`: {`StringEquals`: {`k:a`: `${k:m}`}}"), I);
    /* negated operator with an unresolvable variable is not satisfied either */
    CHECK_INT(var("arn:aws:s3:::b/k", "`k:a`: `x`", v12, "*", ", `Condition`: {`StringNotEquals`: {`k:a`: `${k:none}`}}"), I);
    /* variables in ARN conditions */
    CHECK_INT(var("arn:aws:s3:::b/k", "`aws:username`: `bob`, `aws:PrincipalArn`: `arn:aws:iam::111122223333:user/bob`", v12, "*",
                  ", `Condition`: {`ArnEquals`: {`aws:PrincipalArn`: `arn:aws:iam::111122223333:user/${aws:username}`}}"), A);
}

/* ---- statement matching ----------------------------------------------------------------- */

static int stmt(const char *action, const char *resource, const char *statement) {
    char buf[4096];
    snprintf(buf, sizeof buf,
             "{`request`: {`principal`: `arn:aws:iam::111122223333:user/alice`, `action`: `%s`,"
             " `resource`: `%s`, `resourceAccount`: `111122223333`, `context`: {}}, `suite`: `core_engine`,"
             " `identityPolicies`: [{`Version`: `2012-10-17`, `Statement`: [%s]}]}",
             action, resource, statement);
    char m[600];
    int d = run(buf, m, sizeof m);
    if (d < 0) printf("stmt error: %s\n", m);
    return d;
}

TEST(iam_actions_and_resources) {
    /* Actions: case-insensitive, * and ? wildcards. */
    CHECK_INT(stmt("s3:getobject", "arn:aws:s3:::b/k", "{`Effect`:`Allow`,`Action`:`S3:GetObject`,`Resource`:`*`}"), A);
    CHECK_INT(stmt("iam:CreateAccessKey", "*", "{`Effect`:`Allow`,`Action`:`iam:*AccessKey*`,`Resource`:`*`}"), A);
    CHECK_INT(stmt("iam:CreateUser", "*", "{`Effect`:`Allow`,`Action`:`iam:*AccessKey*`,`Resource`:`*`}"), I);
    CHECK_INT(stmt("s3:GetObject", "*", "{`Effect`:`Allow`,`Action`:`s3:Get?bject`,`Resource`:`*`}"), A);
    CHECK_INT(stmt("s3:GetObject", "*", "{`Effect`:`Allow`,`Action`:`s3*:GetObject`,`Resource`:`*`}"), I);
    CHECK_INT(stmt("s3:GetObject", "*", "{`Effect`:`Allow`,`Action`:`*`,`Resource`:`*`}"), A);
    /* NotAction */
    CHECK_INT(stmt("s3:GetObject", "*", "{`Effect`:`Allow`,`NotAction`:`iam:*`,`Resource`:`*`}"), A);
    CHECK_INT(stmt("iam:CreateUser", "*", "{`Effect`:`Allow`,`NotAction`:[`iam:*`,`organizations:*`],`Resource`:`*`}"), I);
    /* Resource ARNs are case-sensitive; * crosses / within the resource part. */
    CHECK_INT(stmt("s3:GetObject", "arn:aws:s3:::MyBucket/k", "{`Effect`:`Allow`,`Action`:`s3:*`,`Resource`:`arn:aws:s3:::mybucket/*`}"), I);
    CHECK_INT(stmt("s3:GetObject", "arn:aws:s3:::b/a/b/c", "{`Effect`:`Allow`,`Action`:`s3:*`,`Resource`:`arn:aws:s3:::b/*`}"), A);
    CHECK_INT(stmt("s3:GetObject", "arn:aws:s3:::b/k", "{`Effect`:`Allow`,`Action`:`s3:*`,`Resource`:`arn:aws:s3:::b?k`}"), A);
    CHECK_INT(stmt("ec2:StopInstances", "arn:aws:ec2:us-east-1:111122223333:instance/i-1",
                   "{`Effect`:`Allow`,`Action`:`ec2:*`,`Resource`:`arn:aws:ec2:*:111122223333:instance/*`}"), A);
    CHECK_INT(stmt("ec2:StopInstances", "arn:aws:ec2:us-east-1:111122223333:instance/i-1",
                   "{`Effect`:`Allow`,`Action`:`ec2:*`,`Resource`:`arn:aws:ec2:*:444455556666:instance/*`}"), I);
    /* NotResource */
    CHECK_INT(stmt("s3:DeleteObject", "arn:aws:s3:::b/k",
                   "{`Effect`:`Allow`,`Action`:`s3:*`,`Resource`:`*`},{`Effect`:`Deny`,`Action`:`s3:*`,`NotResource`:`arn:aws:s3:::b/*`}"), A);
    CHECK_INT(stmt("s3:DeleteObject", "arn:aws:s3:::other/k",
                   "{`Effect`:`Allow`,`Action`:`s3:*`,`Resource`:`*`},{`Effect`:`Deny`,`Action`:`s3:*`,`NotResource`:`arn:aws:s3:::b/*`}"), X);
    /* short ARN in an identity policy: missing segments are wildcards */
    CHECK_INT(stmt("sqs:SendMessage", "arn:aws:sqs:us-east-1:111122223333:q", "{`Effect`:`Allow`,`Action`:`sqs:*`,`Resource`:`arn:aws:sqs`}"), A);
    /* explicit deny beats allow, whatever the order */
    CHECK_INT(stmt("s3:GetObject", "arn:aws:s3:::b/k",
                   "{`Effect`:`Deny`,`Action`:`s3:GetObject`,`Resource`:`*`},{`Effect`:`Allow`,`Action`:`*`,`Resource`:`*`}"), X);
    /* nothing allows: implicit deny */
    CHECK_INT(stmt("s3:GetObject", "arn:aws:s3:::b/k", "{`Effect`:`Allow`,`Action`:`s3:PutObject`,`Resource`:`*`}"), I);
}

TEST(iam_wildcard_resource_requests) {
    /* "*" as the request resource is a pattern unless the action is wildcard-only. */
    CHECK_INT(stmt("ec2:DescribeInstances", "*", "{`Effect`:`Allow`,`Action`:`ec2:*`,`Resource`:`arn:aws:ec2:us-east-1:111122223333:instance/i-1`}"), A);
    EXPECT("{`request`: {`principal`: `arn:aws:iam::111122223333:user/alice`, `action`: `s3:ListAllMyBuckets`,"
           " `resource`: `*`, `wildcardOnlyAction`: true},"
           " `identityPolicies`: [{`Version`: `2012-10-17`, `Statement`: [{`Effect`:`Allow`,`Action`:`s3:*`,`Resource`:`arn:aws:s3:::b`}]}]}", I);
    EXPECT("{`request`: {`principal`: `arn:aws:iam::111122223333:user/alice`, `action`: `s3:ListAllMyBuckets`,"
           " `resource`: `*`, `wildcardOnlyAction`: true},"
           " `identityPolicies`: [{`Version`: `2012-10-17`, `Statement`: [{`Effect`:`Allow`,`Action`:`s3:*`,`Resource`:`*`}]}]}", A);
    /* a narrower Deny does not deny the whole pattern; expansion then finds the allowed part */
    EXPECT("{`request`: {`principal`: `arn:aws:iam::111122223333:user/alice`, `action`: `s3:GetObject`,"
           " `resource`: `arn:aws:s3:::b/*`},"
           " `identityPolicies`: [{`Version`: `2012-10-17`, `Statement`: [{`Effect`:`Allow`,`Action`:`s3:*`,`Resource`:`arn:aws:s3:::b/public/*`},"
           " {`Effect`:`Deny`,`Action`:`s3:*`,`Resource`:`arn:aws:s3:::b/private/*`}]}]}", A);
    /* a broader Deny covers it */
    EXPECT("{`request`: {`principal`: `arn:aws:iam::111122223333:user/alice`, `action`: `s3:GetObject`,"
           " `resource`: `arn:aws:s3:::b/private/*`},"
           " `identityPolicies`: [{`Version`: `2012-10-17`, `Statement`: [{`Effect`:`Allow`,`Action`:`s3:*`,`Resource`:`*`},"
           " {`Effect`:`Deny`,`Action`:`s3:*`,`Resource`:`arn:aws:s3:::b/*`}]}]}", X);
}

/* ---- how policy types combine ------------------------------------------------------------- */

#define ALLOW_ALL "{`Version`:`2012-10-17`,`Statement`:[{`Effect`:`Allow`,`Action`:`*`,`Resource`:`*`}]}"
#define ALLOW_S3 "{`Version`:`2012-10-17`,`Statement`:[{`Effect`:`Allow`,`Action`:`s3:*`,`Resource`:`*`}]}"
#define DENY_S3 "{`Version`:`2012-10-17`,`Statement`:[{`Effect`:`Deny`,`Action`:`s3:*`,`Resource`:`*`}]}"
#define USER "arn:aws:iam::111122223333:user/alice"
#define ROLE "arn:aws:iam::111122223333:role/app"
#define SESSION "arn:aws:sts::111122223333:assumed-role/app/s1"
#define REQ(P, ACT, RES) "`request`: {`principal`: `" P "`, `action`: `" ACT "`, `resource`: `" RES "`, `resourceAccount`: `111122223333`}"

TEST(iam_scp_levels) {
    /* Every level must allow; one level without an Allow is an implicit deny. */
    EXPECT("{" REQ(USER, "s3:GetObject", "arn:aws:s3:::b/k") ", `identityPolicies`: [" ALLOW_ALL "],"
           " `serviceControlPolicies`: [{`orgIdentifier`: `r-1`, `policies`: [" ALLOW_ALL "]},"
           " {`orgIdentifier`: `ou-1`, `policies`: [" ALLOW_ALL "]}, {`orgIdentifier`: `111122223333`, `policies`: [" ALLOW_ALL "]}]}", A);
    EXPECT("{" REQ(USER, "s3:GetObject", "arn:aws:s3:::b/k") ", `identityPolicies`: [" ALLOW_ALL "],"
           " `serviceControlPolicies`: [{`orgIdentifier`: `r-1`, `policies`: [" ALLOW_ALL "]},"
           " {`orgIdentifier`: `ou-1`, `policies`: []}, {`orgIdentifier`: `111122223333`, `policies`: [" ALLOW_ALL "]}]}", I);
    EXPECT("{" REQ(USER, "iam:CreateUser", "*") ", `identityPolicies`: [" ALLOW_ALL "],"
           " `serviceControlPolicies`: [{`orgIdentifier`: `r-1`, `policies`: [" ALLOW_ALL "]},"
           " {`orgIdentifier`: `ou-1`, `policies`: [" ALLOW_S3 "]}]}", I);
    EXPECT("{" REQ(USER, "s3:GetObject", "arn:aws:s3:::b/k") ", `identityPolicies`: [" ALLOW_ALL "],"
           " `serviceControlPolicies`: [{`orgIdentifier`: `r-1`, `policies`: [" ALLOW_ALL ", " DENY_S3 "]}]}", X);
    /* An SCP never grants: without an identity Allow the answer is still no. */
    EXPECT("{" REQ(USER, "s3:GetObject", "arn:aws:s3:::b/k") ", `identityPolicies`: [],"
           " `serviceControlPolicies`: [{`orgIdentifier`: `r-1`, `policies`: [" ALLOW_ALL "]}]}", I);
    /* SCPs do not apply to service principals (they are not principals of the member account). */
    EXPECT("{`request`: {`principal`: `cloudtrail.amazonaws.com`, `action`: `s3:PutObject`, `resource`: `arn:aws:s3:::logs/x`,"
           " `resourceAccount`: `111122223333`}, `identityPolicies`: [],"
           " `resourcePolicy`: {`Version`:`2012-10-17`,`Statement`:[{`Effect`:`Allow`,`Principal`:{`Service`:`cloudtrail.amazonaws.com`},`Action`:`s3:PutObject`,`Resource`:`arn:aws:s3:::logs/*`}]},"
           " `serviceControlPolicies`: [{`orgIdentifier`: `r-1`, `policies`: [" DENY_S3 "]}]}", A);
}

TEST(iam_rcp) {
    /* RCPFullAWSAccess is implied at each level: an empty level does not deny. */
    EXPECT("{" REQ(USER, "s3:GetObject", "arn:aws:s3:::b/k") ", `identityPolicies`: [" ALLOW_ALL "],"
           " `resourceControlPolicies`: [{`orgIdentifier`: `r-1`, `policies`: []}]}", A);
    EXPECT("{" REQ(USER, "s3:GetObject", "arn:aws:s3:::b/k") ", `identityPolicies`: [" ALLOW_ALL "],"
           " `resourceControlPolicies`: [{`orgIdentifier`: `r-1`, `policies`: [{`Version`:`2012-10-17`,`Statement`:[{`Effect`:`Deny`,"
           "`Principal`:`*`,`Action`:`s3:*`,`Resource`:`*`,`Condition`:{`StringNotEqualsIfExists`:{`aws:PrincipalOrgID`:`o-1`}}}]}]}]}", X);
    /* Anonymous requests are subject to RCPs too. */
    EXPECT("{`request`: {`principal`: {`type`: `Anonymous`}, `action`: `s3:GetObject`, `resource`: `arn:aws:s3:::pub/k`, `resourceAccount`: `111122223333`},"
           " `identityPolicies`: [], `resourcePolicy`: {`Version`:`2012-10-17`,`Statement`:[{`Effect`:`Allow`,`Principal`:`*`,`Action`:`s3:GetObject`,`Resource`:`arn:aws:s3:::pub/*`}]},"
           " `resourceControlPolicies`: [{`orgIdentifier`: `r-1`, `policies`: [{`Version`:`2012-10-17`,`Statement`:[{`Effect`:`Deny`,`Principal`:`*`,`Action`:`s3:*`,`Resource`:`*`}]}]}]}", X);
}

#define RP(PRINC) ", `resourcePolicy`: {`Version`:`2012-10-17`,`Statement`:[{`Effect`:`Allow`,`Principal`:{`AWS`:`" PRINC "`},`Action`:`s3:GetObject`,`Resource`:`arn:aws:s3:::b/*`}]}"
#define BOUNDARY_NONE ", `permissionBoundaries`: [{`Version`:`2012-10-17`,`Statement`:[{`Effect`:`Allow`,`Action`:`ec2:*`,`Resource`:`*`}]}]"

TEST(iam_resource_policy_same_account) {
    /* Same account: a resource policy naming the principal is enough without an identity Allow. */
    EXPECT("{" REQ(USER, "s3:GetObject", "arn:aws:s3:::b/k") ", `identityPolicies`: []" RP(USER) "}", A);
    /* ... naming the account only: the identity policies must allow. */
    EXPECT("{" REQ(USER, "s3:GetObject", "arn:aws:s3:::b/k") ", `identityPolicies`: []" RP("111122223333") "}", I);
    EXPECT("{" REQ(USER, "s3:GetObject", "arn:aws:s3:::b/k") ", `identityPolicies`: [" ALLOW_S3 "]" RP("111122223333") "}", A);
    /* The role ARN in the policy covers its sessions. */
    EXPECT("{" REQ(SESSION, "s3:GetObject", "arn:aws:s3:::b/k") ", `identityPolicies`: []" RP(ROLE) "}", A);
    /* Permissions boundary: a grant naming the user or the session itself lifts the boundary's
     * implicit deny; a grant naming the role ARN does not. */
    EXPECT("{" REQ(USER, "s3:GetObject", "arn:aws:s3:::b/k") ", `identityPolicies`: []" RP(USER) BOUNDARY_NONE "}", A);
    EXPECT("{" REQ(SESSION, "s3:GetObject", "arn:aws:s3:::b/k") ", `identityPolicies`: []" RP(SESSION) BOUNDARY_NONE "}", A);
    EXPECT("{" REQ(SESSION, "s3:GetObject", "arn:aws:s3:::b/k") ", `identityPolicies`: []" RP(ROLE) BOUNDARY_NONE "}", I);
    /* An explicit deny in the resource policy wins over an identity Allow. */
    EXPECT("{" REQ(USER, "s3:GetObject", "arn:aws:s3:::b/k") ", `identityPolicies`: [" ALLOW_ALL "],"
           " `resourcePolicy`: {`Version`:`2012-10-17`,`Statement`:[{`Effect`:`Deny`,`Principal`:`*`,`Action`:`s3:*`,`Resource`:`arn:aws:s3:::b/*`}]}}", X);
    /* NotPrincipal with Deny: everyone but the listed principal is denied. */
    EXPECT("{" REQ(USER, "s3:GetObject", "arn:aws:s3:::b/k") ", `identityPolicies`: [" ALLOW_ALL "],"
           " `resourcePolicy`: {`Version`:`2012-10-17`,`Statement`:[{`Effect`:`Deny`,`NotPrincipal`:{`AWS`:[`" USER "`,`111122223333`]},`Action`:`s3:*`,`Resource`:`arn:aws:s3:::b/*`}]}}", A);
    EXPECT("{" REQ("arn:aws:iam::111122223333:user/mallory", "s3:GetObject", "arn:aws:s3:::b/k") ", `identityPolicies`: [" ALLOW_ALL "],"
           " `resourcePolicy`: {`Version`:`2012-10-17`,`Statement`:[{`Effect`:`Deny`,`NotPrincipal`:{`AWS`:[`" USER "`]},`Action`:`s3:*`,`Resource`:`arn:aws:s3:::b/*`}]}}", X);
}

TEST(iam_cross_account) {
    const char *other = "arn:aws:iam::444455556666:user/eve";
    char buf[2048];
    /* Both sides must allow. */
    snprintf(buf, sizeof buf, "{`request`: {`principal`: `%s`, `action`: `s3:GetObject`, `resource`: `arn:aws:s3:::b/k`,"
             " `resourceAccount`: `111122223333`}, `identityPolicies`: [" ALLOW_S3 "]}", other);
    EXPECT(buf, I);
    snprintf(buf, sizeof buf, "{`request`: {`principal`: `%s`, `action`: `s3:GetObject`, `resource`: `arn:aws:s3:::b/k`,"
             " `resourceAccount`: `111122223333`}, `identityPolicies`: []" RP("arn:aws:iam::444455556666:user/eve") "}", other);
    EXPECT(buf, I);
    snprintf(buf, sizeof buf, "{`request`: {`principal`: `%s`, `action`: `s3:GetObject`, `resource`: `arn:aws:s3:::b/k`,"
             " `resourceAccount`: `111122223333`}, `identityPolicies`: [" ALLOW_S3 "]" RP("arn:aws:iam::444455556666:user/eve") "}", other);
    EXPECT(buf, A);
    /* the other account as principal: its identity policies decide on their side */
    snprintf(buf, sizeof buf, "{`request`: {`principal`: `%s`, `action`: `s3:GetObject`, `resource`: `arn:aws:s3:::b/k`,"
             " `resourceAccount`: `111122223333`}, `identityPolicies`: [" ALLOW_S3 "]" RP("arn:aws:iam::444455556666:root") "}", other);
    EXPECT(buf, A);
    /* the principal's SCPs still apply on its side */
    snprintf(buf, sizeof buf, "{`request`: {`principal`: `%s`, `action`: `s3:GetObject`, `resource`: `arn:aws:s3:::b/k`,"
             " `resourceAccount`: `111122223333`}, `identityPolicies`: [" ALLOW_S3 "]" RP("444455556666")
             ", `serviceControlPolicies`: [{`orgIdentifier`: `r-2`, `policies`: [" DENY_S3 "]}]}", other);
    EXPECT(buf, X);
}

TEST(iam_kms_and_trust) {
    const char *key = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    char buf[2048];
    /* KMS: an identity Allow only counts if the key policy allows the account. */
    snprintf(buf, sizeof buf, "{" REQ(USER, "kms:Decrypt", "%s") ", `identityPolicies`: [" ALLOW_ALL "]}", key);
    EXPECT(buf, I);
    snprintf(buf, sizeof buf, "{" REQ(USER, "kms:Decrypt", "%s") ", `identityPolicies`: [" ALLOW_ALL "],"
             " `resourcePolicy`: {`Version`:`2012-10-17`,`Statement`:[{`Sid`:`Enable IAM User Permissions`,`Effect`:`Allow`,"
             "`Principal`:{`AWS`:`arn:aws:iam::111122223333:root`},`Action`:`kms:*`,`Resource`:`*`}]}}", key);
    EXPECT(buf, A);
    snprintf(buf, sizeof buf, "{" REQ(USER, "kms:Decrypt", "%s") ", `identityPolicies`: [],"
             " `resourcePolicy`: {`Version`:`2012-10-17`,`Statement`:[{`Effect`:`Allow`,"
             "`Principal`:{`AWS`:`" USER "`},`Action`:`kms:Decrypt`,`Resource`:`*`}]}}", key);
    EXPECT(buf, A);
    /* Role trust policy: the identity policy alone cannot assume a role. */
    EXPECT("{" REQ(USER, "sts:AssumeRole", ROLE) ", `identityPolicies`: [" ALLOW_ALL "],"
           " `resourcePolicy`: {`Version`:`2012-10-17`,`Statement`:[{`Effect`:`Allow`,`Principal`:{`Service`:`ec2.amazonaws.com`},`Action`:`sts:AssumeRole`}]}}", I);
    EXPECT("{" REQ(USER, "sts:AssumeRole", ROLE) ", `identityPolicies`: [" ALLOW_ALL "],"
           " `resourcePolicy`: {`Version`:`2012-10-17`,`Statement`:[{`Effect`:`Allow`,`Principal`:{`AWS`:`111122223333`},`Action`:`sts:AssumeRole`}]}}", A);
    /* sts:GetCallerIdentity needs no permission, even under an explicit deny. */
    EXPECT("{" REQ(USER, "sts:GetCallerIdentity", "*") ", `identityPolicies`: [{`Version`:`2012-10-17`,`Statement`:[{`Effect`:`Deny`,`Action`:`*`,`Resource`:`*`}]}]}", A);
    /* The root user has every permission its account has, but SCPs and key policies still apply. */
    EXPECT("{" REQ("arn:aws:iam::111122223333:root", "s3:DeleteBucket", "arn:aws:s3:::b") ", `identityPolicies`: []}", A);
    EXPECT("{" REQ("arn:aws:iam::111122223333:root", "s3:DeleteBucket", "arn:aws:s3:::b") ", `identityPolicies`: [],"
           " `serviceControlPolicies`: [{`orgIdentifier`: `r-1`, `policies`: [" ALLOW_ALL ", " DENY_S3 "]}]}", X);
    snprintf(buf, sizeof buf, "{" REQ("arn:aws:iam::111122223333:root", "kms:Decrypt", "%s") ", `identityPolicies`: []}", key);
    EXPECT(buf, I);
    /* Nobody can change an AWS managed policy. */
    EXPECT("{" REQ(USER, "iam:CreatePolicyVersion", "arn:aws:iam::aws:policy/AdministratorAccess") ", `identityPolicies`: [" ALLOW_ALL "]}", I);
}

TEST(iam_boundary_session_endpoint) {
    EXPECT("{" REQ(USER, "s3:GetObject", "arn:aws:s3:::b/k") ", `identityPolicies`: [" ALLOW_ALL "]" BOUNDARY_NONE "}", I);
    EXPECT("{" REQ(USER, "s3:GetObject", "arn:aws:s3:::b/k") ", `identityPolicies`: [], `permissionBoundaries`: [" ALLOW_ALL "]}", I);
    EXPECT("{" REQ(USER, "s3:GetObject", "arn:aws:s3:::b/k") ", `identityPolicies`: [" ALLOW_S3 "], `permissionBoundaries`: [" ALLOW_ALL "]}", A);
    EXPECT("{" REQ(USER, "s3:GetObject", "arn:aws:s3:::b/k") ", `identityPolicies`: [" ALLOW_S3 "], `permissionBoundaries`: [" ALLOW_ALL ", " DENY_S3 "]}", X);
    /* Session policy: the effective permissions are the intersection. */
    EXPECT("{" REQ(SESSION, "s3:GetObject", "arn:aws:s3:::b/k") ", `identityPolicies`: [" ALLOW_ALL "],"
           " `sessionPolicy`: {`Version`:`2012-10-17`,`Statement`:[{`Effect`:`Allow`,`Action`:`ec2:*`,`Resource`:`*`}]}}", I);
    EXPECT("{" REQ(SESSION, "s3:GetObject", "arn:aws:s3:::b/k") ", `identityPolicies`: [" ALLOW_ALL "], `sessionPolicy`: " ALLOW_S3 "}", A);
    EXPECT("{" REQ(SESSION, "s3:GetObject", "arn:aws:s3:::b/k") ", `identityPolicies`: [], `sessionPolicy`: " ALLOW_S3 "}", I);
    /* ...except that a resource policy naming the session ARN itself is not limited by the
     * session policy (STS AssumeRole reference, Policy parameter); naming the role ARN is. */
    EXPECT("{" REQ(SESSION, "s3:GetObject", "arn:aws:s3:::b/k") ", `identityPolicies`: [],"
           " `sessionPolicy`: {`Version`:`2012-10-17`,`Statement`:[{`Effect`:`Allow`,`Action`:`ec2:*`,`Resource`:`*`}]}" RP(SESSION) "}", A);
    EXPECT("{" REQ(SESSION, "s3:GetObject", "arn:aws:s3:::b/k") ", `identityPolicies`: [],"
           " `sessionPolicy`: {`Version`:`2012-10-17`,`Statement`:[{`Effect`:`Allow`,`Action`:`ec2:*`,`Resource`:`*`}]}" RP(ROLE) "}", I);
    EXPECT("{" REQ(SESSION, "s3:GetObject", "arn:aws:s3:::b/k") ", `identityPolicies`: [],"
           " `sessionPolicy`: " DENY_S3 RP(SESSION) "}", X);
    /* VPC endpoint policy must allow too. */
    EXPECT("{" REQ(USER, "s3:GetObject", "arn:aws:s3:::b/k") ", `identityPolicies`: [" ALLOW_ALL "], `endpointPolicies`: ["
           "{`Version`:`2012-10-17`,`Statement`:[{`Effect`:`Allow`,`Principal`:`*`,`Action`:`s3:GetObject`,`Resource`:`arn:aws:s3:::other/*`}]}]}", I);
    /* Anonymous needs a public resource policy; a service principal needs to be named. */
    EXPECT("{`request`: {`principal`: {`type`: `Anonymous`}, `action`: `s3:GetObject`, `resource`: `arn:aws:s3:::b/k`}, `identityPolicies`: []" RP("*") "}", A);
    EXPECT("{`request`: {`principal`: {`type`: `Anonymous`}, `action`: `s3:GetObject`, `resource`: `arn:aws:s3:::b/k`}, `identityPolicies`: []" RP("111122223333") "}", I);
}

/* ---- the strategy's MFA SCP, as it stands in strategy-ja.txt --------------------------------- */

static char *strategy_scp(void) {
    char path[4096];
    snprintf(path, sizeof path, "%s/../shared/strategy-ja.txt", km_test_top());
    size_t len;
    char *t = km_test_read(path, &len);
    if (!t) return NULL;
    char *sid = strstr(t, "DenyAllExceptListedIfNoMFA");
    char *start = NULL;
    for (char *p = sid; p && p > t; p--)
        if (p[0] == '{' && (p == t || p[-1] == '\n') && strncmp(p + 1, "\n\"Version\"", 10) == 0) {
            start = p;
            break;
        }
    if (!start) {
        free(t);
        return NULL;
    }
    size_t used = 0;
    km_json_opts o = {.allow_trailing = 1};
    km_json_doc *d = km_json_parse(start, len - (size_t)(start - t), &o, &used, NULL);
    char *out = NULL;
    if (d) {
        out = malloc(used + 1);
        memcpy(out, start, used);
        out[used] = 0;
    }
    km_json_doc_free(d);
    free(t);
    return out;
}

static int with_mfa_scp(const km_iam_policy *scp, const char *principal, const char *action, const char *mfa,
                        km_iam_explain *ex) {
    static const char full[] = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}";
    km_iam_policy *fa = km_iam_policy_parse(full, sizeof full - 1, KM_IAM_SCP, "FullAWSAccess", NULL);
    km_iam_policy *admin = km_iam_policy_parse(full, sizeof full - 1, KM_IAM_IDENTITY, "AdministratorAccess", NULL);
    const km_iam_policy *lvl[2] = {fa, scp};
    km_iam_level levels[1] = {{"r-root", lvl, 2}};
    const km_iam_policy *ids[1] = {admin};
    km_iam_input in = {0};
    in.identity = ids;
    in.n_identity = 1;
    in.scp = levels;
    in.n_scp = 1;
    km_iam_context *c = km_iam_context_new();
    if (mfa) km_iam_context_set(c, "aws:MultiFactorAuthPresent", mfa);
    km_iam_request rq = {principal, action, "*", "111122223333", c};
    km_error e;
    int d = km_iam_evaluate(&in, &rq, NULL, ex, &e);
    km_iam_context_free(c);
    km_iam_policy_free(fa);
    km_iam_policy_free(admin);
    return d;
}

TEST(iam_strategy_mfa_scp) {
    char *doc = strategy_scp();
    if (!doc) {
        km_test_skip("../shared/strategy-ja.txt absent");
        return;
    }
    km_error e;
    km_error_clear(&e);
    km_iam_policy *scp = km_iam_policy_parse(doc, strlen(doc), KM_IAM_SCP, "DenyAllExceptListedIfNoMFA", &e);
    free(doc);
    CHECK_MSG(scp != NULL, "the strategy's SCP must parse as it stands: %s", e.msg);
    CHECK_INT(km_iam_policy_statement_count(scp), 1);
    CHECK_INT(km_iam_policy_warning_count(scp), 0);
    static const char *ransom[] = {"s3:DeleteObject", "s3:PutObject", "kms:ScheduleKeyDeletion",
                                   "backup:DeleteRecoveryPoint", "rds:DeleteDBSnapshot", "ec2:DeleteSnapshot",
                                   "cloudtrail:StopLogging", "iam:CreateAccessKey", "s3:PutBucketVersioning"};
    const char *user = "arn:aws:iam::111122223333:user/dev";
    const char *sess = "arn:aws:sts::111122223333:assumed-role/Admin/s";
    for (size_t i = 0; i < sizeof ransom / sizeof ransom[0]; i++) {
        /* long-term access key: the key is absent, BoolIfExists makes the Deny apply */
        CHECK_MSG(with_mfa_scp(scp, user, ransom[i], NULL, NULL) == X, "%s with an access key", ransom[i]);
        CHECK_MSG(with_mfa_scp(scp, user, ransom[i], "false", NULL) == X, "%s without MFA", ransom[i]);
        CHECK_MSG(with_mfa_scp(scp, sess, ransom[i], "false", NULL) == X, "%s role session", ransom[i]);
        CHECK_MSG(with_mfa_scp(scp, user, ransom[i], "true", NULL) == A, "%s with MFA", ransom[i]);
    }
    /* the listed actions stay possible, so a user can still set up MFA */
    CHECK_INT(with_mfa_scp(scp, user, "iam:EnableMFADevice", NULL, NULL), A);
    CHECK_INT(with_mfa_scp(scp, user, "sts:GetSessionToken", NULL, NULL), A);
    CHECK_INT(with_mfa_scp(scp, user, "iam:ListMFADevices", "false", NULL), A);
    /* the explanation names the statement and the condition */
    km_iam_explain *ex = km_iam_explain_new();
    with_mfa_scp(scp, user, "s3:DeleteObject", NULL, ex);
    km_buf b = KM_BUF_INIT;
    km_iam_explain_text(ex, &b);
    CHECK_CONTAINS(b.data, "ExplicitlyDenied");
    CHECK_CONTAINS(b.data, "DenyAllExceptListedIfNoMFA");
    CHECK_CONTAINS(b.data, "BoolIfExists aws:MultiFactorAuthPresent");
    CHECK_CONTAINS(b.data, "IfExists is true");
    km_buf_reset(&b);
    km_iam_explain_json(ex, &b);
    km_json_doc *jd = km_json_parse(b.data, b.len, NULL, NULL, NULL);
    CHECK_MSG(jd != NULL, "explanation JSON must parse: %s", b.data);
    CHECK_STR(km_json_get_str(km_json_root(jd), "decision", ""), "ExplicitlyDenied");
    km_json_doc_free(jd);
    km_buf_free(&b);
    km_iam_explain_free(ex);
    km_iam_policy_free(scp);
}

TEST(iam_mfa_bool_variant_warns) {
    /* Deny + Bool false does not stop long-term keys (the key is absent), and kumomori says so. */
    static const char doc[] = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Deny\",\"Action\":\"*\",\"Resource\":\"*\","
                              "\"Condition\":{\"Bool\":{\"aws:MultiFactorAuthPresent\":\"false\"}}}]}";
    km_error e;
    km_iam_policy *scp = km_iam_policy_parse(doc, sizeof doc - 1, KM_IAM_SCP, "bool", &e);
    CHECK(scp != NULL);
    CHECK_INT(km_iam_policy_warning_count(scp), 1);
    CHECK_CONTAINS(km_iam_policy_warning(scp, 0), "long-term access keys");
    CHECK_INT(with_mfa_scp(scp, "arn:aws:iam::111122223333:user/dev", "s3:DeleteObject", NULL, NULL), A);
    CHECK_INT(with_mfa_scp(scp, "arn:aws:iam::111122223333:user/dev", "s3:DeleteObject", "false", NULL), X);
    km_iam_policy_free(scp);
}

/* ---- discovery mode ------------------------------------------------------------------------ */

TEST(iam_discovery) {
    /* An Allow condition on a key the caller did not give is assumed to hold... */
    EXPECT("{" REQ(USER, "s3:GetObject", "arn:aws:s3:::b/k") ", `mode`: `Discovery`, `identityPolicies`: ["
           "{`Version`:`2012-10-17`,`Statement`:[{`Effect`:`Allow`,`Action`:`s3:*`,`Resource`:`*`,`Condition`:{`IpAddress`:{`aws:SourceIp`:`10.0.0.0/8`}}}]}]}", A);
    /* ...unless the caller says the value is known */
    EXPECT("{`request`: {`principal`: `" USER "`, `action`: `s3:GetObject`, `resource`: `arn:aws:s3:::b/k`, `context`: {`aws:SourceIp`: `8.8.8.8`}},"
           " `mode`: `Discovery`, `discoveryContextKeyConstraints`: [{`keyName`: `aws:SourceIp`, `presenceIsKnown`: true, `valueIsKnown`: true}],"
           " `identityPolicies`: [{`Version`:`2012-10-17`,`Statement`:[{`Effect`:`Allow`,`Action`:`s3:*`,`Resource`:`*`,`Condition`:{`IpAddress`:{`aws:SourceIp`:`10.0.0.0/8`}}}]}]}", I);
    /* Deny conditions on unknown keys are assumed not to hold; an unconditional Deny still applies. */
    EXPECT("{" REQ(USER, "s3:GetObject", "arn:aws:s3:::b/k") ", `mode`: `Discovery`, `identityPolicies`: [" ALLOW_ALL ","
           "{`Version`:`2012-10-17`,`Statement`:[{`Effect`:`Deny`,`Action`:`s3:*`,`Resource`:`*`,`Condition`:{`NotIpAddress`:{`aws:SourceIp`:`10.0.0.0/8`}}}]}]}", A);
    EXPECT("{" REQ(USER, "s3:GetObject", "arn:aws:s3:::b/k") ", `mode`: `Discovery`, `identityPolicies`: [" ALLOW_ALL ", " DENY_S3 "]}", X);
    /* regex knowledge */
    EXPECT("{`request`: {`principal`: `" USER "`, `action`: `s3:GetObject`, `resource`: `arn:aws:s3:::b/k`, `context`: {`aws:PrincipalTag/team`: `ops`}},"
           " `mode`: `Discovery`, `discoveryContextKeyConstraints`: [{`keyName`: `/^aws:PrincipalTag\\\\//`, `presenceIsKnown`: true, `valueIsKnown`: true}],"
           " `identityPolicies`: [{`Version`:`2012-10-17`,`Statement`:[{`Effect`:`Allow`,`Action`:`s3:*`,`Resource`:`*`,`Condition`:{`StringEquals`:{`aws:PrincipalTag/team`:`dev`}}}]}]}", I);
}

/* ---- context API ---------------------------------------------------------------------------- */

TEST(iam_context_api) {
    km_iam_context *c = km_iam_context_new();
    CHECK(c != NULL);
    CHECK_INT(km_iam_context_set(c, "aws:UserName", "alice"), KM_OK);
    const char *const *v;
    size_t n;
    int multi;
    CHECK_INT(km_iam_context_get(c, "AWS:username", &v, &n, &multi), 1);
    CHECK_INT(n, 1);
    CHECK_INT(multi, 0);
    CHECK_STR(v[0], "alice");
    CHECK_INT(km_iam_context_add(c, "aws:TagKeys", "a"), KM_OK);
    CHECK_INT(km_iam_context_add(c, "aws:tagkeys", "b"), KM_OK);
    CHECK_INT(km_iam_context_get(c, "aws:TagKeys", &v, &n, &multi), 1);
    CHECK_INT(n, 2);
    CHECK_INT(multi, 1);
    CHECK_INT(km_iam_context_set_multi(c, "k:empty", NULL, 0), KM_OK);
    CHECK_INT(km_iam_context_get(c, "k:empty", &v, &n, &multi), 1);
    CHECK_INT(n, 0);
    km_iam_context *d = km_iam_context_clone(c);
    CHECK_INT(km_iam_context_count(d), 3);
    CHECK_INT(km_iam_context_remove(c, "AWS:USERNAME"), 1);
    CHECK_INT(km_iam_context_remove(c, "aws:username"), 0);
    CHECK_INT(km_iam_context_get(d, "aws:username", NULL, NULL, NULL), 1);
    CHECK_STR(km_iam_context_key(d, 0), "aws:UserName");
    km_iam_context_free(c);
    km_iam_context_free(d);
    km_iam_context_free(NULL);
}

/* ---- bad input --------------------------------------------------------------------------- */

static void expect_error(const char *doc, const char *needle1, const char *needle2, int line) {
    km_error e;
    km_error_clear(&e);
    km_iam_policy *p = km_iam_policy_parse(doc, strlen(doc), KM_IAM_IDENTITY, "bad", &e);
    if (p) {
        km_test_fail(__FILE__, line, "policy should be rejected: %s", doc);
        km_iam_policy_free(p);
        return;
    }
    if (!strstr(e.msg, needle1) || (needle2 && !strstr(e.msg, needle2)))
        km_test_fail(__FILE__, line, "message \"%s\" should contain \"%s\" and \"%s\"", e.msg, needle1,
                     needle2 ? needle2 : "");
}

TEST(iam_bad_policies) {
    expect_error("{\"Version\":\"2012-10-17\",\"Statement\":[{\"Action\":\"s3:*\",\"Resource\":\"*\"}]}",
                 "statement 1, Effect: is missing", "(byte", __LINE__);
    expect_error("{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"},{\"Sid\":\"Two\",\"Effect\":\"allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}",
                 "statement 2 (Sid \"Two\"), Effect", "case-sensitive", __LINE__);
    expect_error("{\"Statement\":{\"Effect\":\"Allow\",\"Actions\":\"*\",\"Resource\":\"*\"}}",
                 "Actions: unknown element", NULL, __LINE__);
    expect_error("{\"Statement\":{\"Effect\":\"Allow\",\"action\":\"*\",\"Resource\":\"*\"}}",
                 "write \"Action\"", NULL, __LINE__);
    expect_error("{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"NotAction\":\"s3:*\",\"Resource\":\"*\"}}",
                 "not both", NULL, __LINE__);
    expect_error("{\"Statement\":{\"Effect\":\"Allow\",\"Action\":[],\"Resource\":\"*\"}}", "empty array", NULL, __LINE__);
    expect_error("{\"Statement\":{\"Effect\":\"Allow\",\"Action\":[\"s3:*\",3],\"Resource\":\"*\"}}", "item 2 must be a string", NULL, __LINE__);
    expect_error("{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\",\"Condition\":{\"StringEqualz\":{\"a:b\":\"c\"}}}}",
                 "Condition", "unknown condition operator \"StringEqualz\"", __LINE__);
    expect_error("{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\",\"Condition\":{\"ForSomeValues:StringEquals\":{\"a:b\":\"c\"}}}}",
                 "unknown set operator", NULL, __LINE__);
    expect_error("{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\",\"Condition\":{\"StringEquals\":{\"a:b\":{\"x\":1}}}}}",
                 "Condition.StringEquals.a:b", "string, number or boolean", __LINE__);
    expect_error("{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\",\"Condition\":{\"StringEquals\":{\"a:b\":[]}}}}",
                 "at least one value", NULL, __LINE__);
    expect_error("{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\",\"Condition\":{\"NullIfExists\":{\"a:b\":\"true\"}}}}",
                 "Null takes neither", NULL, __LINE__);
    expect_error("{\"Version\":\"2012-10-18\",\"Statement\":[]}", "Version", "2012-10-17", __LINE__);
    expect_error("{\"Version\":\"2012-10-17\"}", "Statement: is missing", NULL, __LINE__);
    expect_error("[1,2]", "must be a JSON object", NULL, __LINE__);
    expect_error("{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Principal\":{\"Users\":\"x\"}}}",
                 "unknown principal type \"Users\"", NULL, __LINE__);
    expect_error("{\"Statement\":{\"Effect\":\"Allow\",\n\"Action\":\"*\",\"Resource\":\"*\",\"Effect\":\"Deny\"}}",
                 "appears twice", "line 2", __LINE__);
    expect_error("{\"Statement\":[{\"Effect\":\"Allow\"", "invalid JSON", "line 1", __LINE__);
    /* deep nesting is an error, not a crash */
    char deep[3000];
    size_t k = 0;
    k += (size_t)snprintf(deep + k, sizeof deep - k, "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":");
    for (int i = 0; i < 1000 && k + 2 < sizeof deep; i++) deep[k++] = '[';
    deep[k] = 0;
    expect_error(deep, "nested deeper than the limit", NULL, __LINE__);
}

TEST(iam_warnings) {
    static const char doc[] =
        "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:\",\"Resource\":\"bucket\"},"
        "{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\",\"Condition\":{\"NumericLessThan\":{\"s3:max-keys\":\"ten\"},"
        "\"ForAnyValue:StringEquals\":{\"aws:PrincipalTag/x\":\"y\"}}}]}";
    km_error e;
    km_iam_policy *p = km_iam_policy_parse(doc, sizeof doc - 1, KM_IAM_IDENTITY, "w", &e);
    CHECK(p != NULL);
    km_buf all = KM_BUF_INIT;
    for (size_t i = 0; i < km_iam_policy_warning_count(p); i++) {
        km_buf_puts(&all, km_iam_policy_warning(p, i));
        km_buf_putc(&all, '\n');
    }
    CHECK_CONTAINS(all.data, "identity policy cannot name principals");
    CHECK_CONTAINS(all.data, "\"s3:\" has an empty action name");
    CHECK_CONTAINS(all.data, "\"bucket\" is neither \"*\" nor an ARN");
    CHECK_CONTAINS(all.data, "\"ten\" is not a number");
    CHECK_CONTAINS(all.data, "single-valued key aws:PrincipalTag/x");
    CHECK_CONTAINS(all.data, "statement 2");
    km_buf_free(&all);
    km_iam_policy_free(p);
}

TEST(iam_documents_in_cli_outputs) {
    /* get-bucket-policy: the policy is a JSON string */
    static const char bp[] = "{\"Policy\": \"{\\\"Version\\\":\\\"2012-10-17\\\",\\\"Statement\\\":[{\\\"Effect\\\":\\\"Allow\\\","
                             "\\\"Principal\\\":\\\"*\\\",\\\"Action\\\":\\\"s3:GetObject\\\",\\\"Resource\\\":\\\"arn:aws:s3:::b/*\\\"}]}\"}";
    km_error e;
    km_iam_policy *p = km_iam_policy_parse_document(bp, sizeof bp - 1, KM_IAM_RESOURCE, "bp", &e);
    CHECK_MSG(p != NULL, "%s", e.msg);
    CHECK_INT(km_iam_policy_statement_count(p), 1);
    km_iam_policy_free(p);
    /* the raw IAM API's URL-encoded document */
    static const char enc[] = "{\"PolicyVersion\":{\"Document\":\"%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect"
                              "%22%3A%22Allow%22%2C%22Action%22%3A%22*%22%2C%22Resource%22%3A%22*%22%7D%5D%7D\"}}";
    p = km_iam_policy_parse_document(enc, sizeof enc - 1, KM_IAM_IDENTITY, "enc", &e);
    CHECK_MSG(p != NULL, "%s", e.msg);
    km_iam_policy_free(p);
    /* organizations describe-policy with an invalid document: the error says where */
    static const char bad[] = "{\"Policy\":{\"PolicySummary\":{\"Id\":\"p-1\"},\"Content\":\"{\\\"Statement\\\":{\\\"Effect\\\":\\\"Nope\\\",\\\"Action\\\":\\\"*\\\"}}\"}}";
    p = km_iam_policy_parse_document(bad, sizeof bad - 1, KM_IAM_SCP, "bad", &e);
    CHECK(p == NULL);
    CHECK_CONTAINS(e.msg, "in the policy string at byte");
    CHECK_CONTAINS(e.msg, "Effect");
    p = km_iam_policy_parse_document("{\"Something\":1}", 15, KM_IAM_IDENTITY, "x", &e);
    CHECK(p == NULL);
    CHECK_CONTAINS(e.msg, "no policy document found");
}

TEST(iam_bad_requests_and_cases) {
    km_iam_input in = {0};
    km_error e;
    km_iam_request r = {"arn:aws:iam::111122223333:user/a", "GetObject", "*", NULL, NULL};
    CHECK_INT(km_iam_evaluate(&in, &r, NULL, NULL, &e), -1);
    CHECK_CONTAINS(e.msg, "not service:Action");
    r.action = NULL;
    CHECK_INT(km_iam_evaluate(&in, &r, NULL, NULL, &e), -1);
    CHECK_INT(km_iam_evaluate(&in, NULL, NULL, NULL, &e), -1);
    char m[600];
    CHECK_INT(run("{`identityPolicies`: []}", m, sizeof m), -1);
    CHECK_CONTAINS(m, "request");
    CHECK_INT(run("{`request`: {`principal`: `x`, `action`: `s3:A`}, `mode`: `Lenient`}", m, sizeof m), -1);
    CHECK_CONTAINS(m, "mode must be");
    CHECK_INT(run("{`request`: {`principal`: `x`, `action`: `s3:A`}, `identityPolicies`: [{`Statement`: {`Effect`: `Allow`}}]}", m, sizeof m), -1);
    CHECK_CONTAINS(m, "identityPolicies[0]");
    CHECK_CONTAINS(m, "Action");
    CHECK_INT(run("{`request`: {`principal`: 5, `action`: `s3:A`}}", m, sizeof m), -1);
    CHECK_CONTAINS(m, "request.principal");
}

TEST(iam_explain_api) {
    km_iam_explain *ex = km_iam_explain_new();
    static const char doc[] = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"S3\",\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\"}]}";
    km_error e;
    km_iam_policy *p = km_iam_policy_parse(doc, sizeof doc - 1, KM_IAM_IDENTITY, "mine", &e);
    const km_iam_policy *ids[] = {p};
    km_iam_input in = {0};
    in.identity = ids;
    in.n_identity = 1;
    km_iam_request r = {"arn:aws:iam::111122223333:user/a", "s3:GetObject", "arn:aws:s3:::b/k", NULL, NULL};
    CHECK_INT(km_iam_evaluate(&in, &r, NULL, ex, &e), A);
    CHECK_INT(km_iam_explain_decision(ex), A);
    CHECK_INT(km_iam_explain_applied_count(ex), 1);
    km_iam_statement_ref ref;
    CHECK_INT(km_iam_explain_applied(ex, 0, &ref), 0);
    CHECK_STR(ref.policy, "mine");
    CHECK_STR(ref.sid, "S3");
    CHECK_INT(ref.index, 1);
    CHECK_INT(ref.deny, 0);
    CHECK_INT(km_iam_explain_applied(ex, 1, &ref), -1);
    /* the same evaluation without an explanation gives the same decision */
    CHECK_INT(km_iam_evaluate(&in, &r, NULL, NULL, &e), A);
    km_iam_explain_free(ex);
    km_iam_explain_free(NULL);
    km_iam_policy_free(p);
    km_iam_policy_free(NULL);
}

/* ---- robustness: mutated documents never crash, hang or fail silently ---------------------- */

static unsigned long long rng_state = 0x9E3779B97F4A7C15ull;
static unsigned rnd(unsigned n) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (unsigned)(rng_state % n);
}

TEST(iam_mutated_policies) {
    static const char *seeds[] = {
        "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"A\",\"Effect\":\"Allow\",\"Action\":[\"s3:Get*\",\"iam:*AccessKey*\"],"
        "\"Resource\":\"arn:aws:s3:::b/${aws:username}/*\",\"Condition\":{\"ForAnyValue:StringLike\":{\"aws:TagKeys\":[\"a*\",\"b?\"]},"
        "\"IpAddress\":{\"aws:SourceIp\":[\"10.0.0.0/8\",\"2001:db8::/32\"]}}}]}",
        "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Deny\",\"NotAction\":[\"iam:GetUser\"],\"NotResource\":\"arn:aws:iam::*:user/x\","
        "\"NotPrincipal\":{\"AWS\":[\"arn:aws:iam::111122223333:root\",\"111122223333\"]},\"Condition\":{\"BoolIfExists\":"
        "{\"aws:MultiFactorAuthPresent\":\"false\"},\"DateLessThan\":{\"aws:CurrentTime\":\"2024-01-01T00:00:00Z\"},"
        "\"NumericGreaterThan\":{\"aws:MultiFactorAuthAge\":3600},\"Null\":{\"aws:TokenIssueTime\":true}}}}",
        "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"Service\":\"ec2.amazonaws.com\",\"AWS\":\"*\"},\"Action\":\"sts:AssumeRole\","
        "\"Condition\":{\"ArnLike\":{\"aws:SourceArn\":\"arn:aws:ec2:*:${aws:PrincipalAccount}:instance/*\"},\"StringEquals\":"
        "{\"sts:ExternalId\":\"${aws:PrincipalTag/team, 'x'}\"}}}]}"};
    static const char noise[] = "{}[]\":,*?$\\/ az09-";
    km_iam_context *ctx = km_iam_context_new();
    km_iam_context_set(ctx, "aws:username", "alice");
    km_iam_context_set(ctx, "aws:SourceIp", "10.1.2.3");
    km_iam_context_set_multi(ctx, "aws:TagKeys", NULL, 0);
    km_iam_context_add(ctx, "aws:TagKeys", "ab");
    char buf[2048];
    int parsed = 0, rejected = 0;
    for (int iter = 0; iter < 20000; iter++) {
        const char *seed = seeds[rnd(3)];
        size_t n = strlen(seed);
        memcpy(buf, seed, n);
        int muts = 1 + (int)rnd(4);
        for (int m = 0; m < muts && n > 1; m++) {
            unsigned at = rnd((unsigned)n);
            switch (rnd(4)) {
            case 0: memmove(buf + at, buf + at + 1, n - at - 1); n--; break;          /* delete */
            case 1: if (n + 1 < sizeof buf) { memmove(buf + at + 1, buf + at, n - at); buf[at] = noise[rnd(sizeof noise - 1)]; n++; } break;
            case 2: buf[at] = noise[rnd(sizeof noise - 1)]; break;                   /* replace */
            default: n = at ? at : 1; break;                                        /* truncate */
            }
        }
        km_error e;
        km_error_clear(&e);
        km_iam_policy *p = km_iam_policy_parse(buf, n, (km_iam_policy_kind)rnd(KM_IAM_KIND_COUNT), "m", &e);
        if (!p) {
            rejected++;
            CHECK_MSG(e.msg[0] != 0, "a rejected document must say why: %.*s", (int)n, buf);
            continue;
        }
        parsed++;
        const km_iam_policy *pp = p;
        km_iam_input in = {0};
        if (rnd(2)) {
            in.identity = &pp;
            in.n_identity = 1;
        } else {
            in.resource = p;
        }
        km_iam_request rq = {rnd(5) ? "arn:aws:sts::111122223333:assumed-role/r/s" : NULL, "s3:GetObject",
                             rnd(3) ? "arn:aws:s3:::b/alice/x" : "arn:aws:s3:::b/*", NULL, ctx};
        km_iam_options o = {0};
        o.mode = rnd(4) ? KM_IAM_STRICT : KM_IAM_DISCOVERY;
        o.expand_wildcards = (int)rnd(2);
        km_iam_explain *ex = rnd(2) ? km_iam_explain_new() : NULL;
        int d = km_iam_evaluate(&in, &rq, &o, ex, &e);
        CHECK_MSG(d >= 0 && d <= 2, "evaluation failed: %s", e.msg);
        if (ex) {
            km_buf b = KM_BUF_INIT;
            CHECK(km_iam_explain_json(ex, &b) == 0);
            km_json_doc *jd = km_json_parse(b.data, b.len, NULL, NULL, NULL);
            CHECK_MSG(jd != NULL, "explanation is not JSON: %s", b.data);
            km_json_doc_free(jd);
            km_buf_free(&b);
            km_iam_explain_free(ex);
        }
        km_iam_policy_free(p);
    }
    km_iam_context_free(ctx);
    printf("iam mutated policies: %d parsed and evaluated, %d rejected with a message\n", parsed, rejected);
    CHECK(parsed > 100 && rejected > 100);
}
