/* EventBridge-form patterns rewritten onto the raw CloudTrail record (docs/rules.md).
 *
 * EventBridge delivers a CloudTrail record as the `detail` of an envelope whose `source` is
 * `aws.<service>` and whose `detail-type` names the record's eventType. Rules are written the way
 * users write them for EventBridge, but kumomori matches the records of delivery files directly,
 * so the envelope fields are mapped onto the record fields that carry the same information. */
#include "kumomori/rules.h"
#include "kumomori/json.h"
#include "rules/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const envelope_keys[] = {
    "source", "detail-type", "detail", "account", "region", "resources", "version", "id", "time",
};

static const struct { const char *detail_type, *event_type; } detail_types[] = {
    {"AWS API Call via CloudTrail", "AwsApiCall"},
    {"AWS Console Sign In via CloudTrail", "AwsConsoleSignIn"},
    {"AWS Service Event via CloudTrail", "AwsServiceEvent"},
    {"AWS Console Action via CloudTrail", "AwsConsoleAction"},
    {"AWS Insight via CloudTrail", "AwsCloudTrailInsight"},
};

/* EventBridge sources whose CloudTrail eventSource is not "<service>.amazonaws.com". */
static const struct { const char *source, *event_source; } source_exceptions[] = {
    {"aws.cloudwatch", "monitoring.amazonaws.com"},
};

static int is_envelope_key(const char *k, size_t n) {
    for (size_t i = 0; i < sizeof envelope_keys / sizeof envelope_keys[0]; i++)
        if (strlen(envelope_keys[i]) == n && memcmp(envelope_keys[i], k, n) == 0) return 1;
    return 0;
}

static int key_is(const km_json_member *m, const char *k) {
    return m->key_len == strlen(k) && memcmp(m->key, k, m->key_len) == 0;
}

/* Whether the pattern (or any branch of a top-level $or) uses the envelope. */
static int eventbridge_form(const km_json *p) {
    if (!p || p->type != KM_JSON_OBJECT) return 0;
    for (size_t i = 0; i < p->u.obj.n; i++) {
        const km_json_member *m = &p->u.obj.members[i];
        if (is_envelope_key(m->key, m->key_len)) return 1;
        if (key_is(m, "$or") && m->value->type == KM_JSON_ARRAY)
            for (size_t j = 0; j < m->value->u.arr.n; j++)
                if (eventbridge_form(m->value->u.arr.items[j])) return 1;
    }
    return 0;
}

enum { OUT_COPY, OUT_SOURCE, OUT_DETAIL_TYPE, OUT_OR, OUT_SOURCE_AND };

/* Set when the pattern is one AWS accepts but that can never match a CloudTrail event as
 * EventBridge delivers it (see narrow_source). */
typedef struct rwctx {
    km_error *err;
    km_error *never;
} rwctx;

typedef struct outm {
    const char *key;
    size_t key_len;
    const km_json *value;
    int kind;
    const char *from; /* for conflict messages */
    const km_json *also; /* OUT_SOURCE_AND: the detail.eventSource values the sources must also be */
} outm;

static int rewrite_object(const km_json *p, km_buf *out, rwctx *cx);

/* The record's eventSource for an EventBridge source "aws.x" (written to tmp). */
static void source_to_event_source(const char *s, km_buf *tmp) {
    const char *mapped = NULL;
    for (size_t k = 0; k < sizeof source_exceptions / sizeof source_exceptions[0]; k++)
        if (strcmp(s, source_exceptions[k].source) == 0) mapped = source_exceptions[k].event_source;
    if (mapped) km_buf_puts(tmp, mapped);
    else km_buf_printf(tmp, "%s.amazonaws.com", s + 4);
}

/* Whether v is an array of plain strings (exact values only, no operators). */
static int plain_strings(const km_json *v) {
    if (!v || v->type != KM_JSON_ARRAY || v->u.arr.n == 0) return 0;
    for (size_t i = 0; i < v->u.arr.n; i++) {
        const km_json *e = v->u.arr.items[i];
        if (e->type != KM_JSON_STRING || strlen(e->u.str.s) != e->u.str.len) return 0;
    }
    return 1;
}

static int in_strings(const km_json *arr, const char *s, size_t n) {
    for (size_t i = 0; i < arr->u.arr.n; i++) {
        const km_json *e = arr->u.arr.items[i];
        if (e->u.str.len == n && memcmp(e->u.str.s, s, n) == 0) return 1;
    }
    return 0;
}

/* also (may be NULL): keep only the sources whose eventSource is among these values; when none is,
 * the pattern never matches (check_never says so) and every source is written, so the rewritten
 * pattern stays valid. */
static int any_source_in(const km_json *v, const km_json *also) {
    km_buf tmp;
    km_buf_init(&tmp, 0);
    int found = 0;
    for (size_t i = 0; i < v->u.arr.n && !found; i++) {
        const char *s = km_json_str(v->u.arr.items[i]);
        if (!s || strncmp(s, "aws.", 4) != 0) continue;
        km_buf_reset(&tmp);
        source_to_event_source(s, &tmp);
        found = !tmp.failed && in_strings(also, tmp.data, tmp.len);
    }
    km_buf_free(&tmp);
    return found;
}

static int write_source(const km_json *v, const km_json *also, km_buf *out, km_error *err) {
    if (v->type != KM_JSON_ARRAY)
        return km_error_set(err, KM_ERR, v->offset, "\"source\" must be an array of values such as \"aws.s3\"");
    if (km_buf_putc(out, '[')) return KM_ENOMEM;
    if (also && !any_source_in(v, also)) also = NULL;
    size_t written = 0;
    for (size_t i = 0; i < v->u.arr.n; i++) {
        const km_json *e = v->u.arr.items[i];
        const char *s = km_json_str(e);
        if (!s || strncmp(s, "aws.", 4) != 0 || e->u.str.len <= 4 || strlen(s) != e->u.str.len)
            return km_error_set(err, KM_ERR, e->offset,
                                "\"source\" values must be exact AWS sources such as \"aws.s3\" to be mapped onto the "
                                "record's eventSource; write this pattern over the raw record (\"eventSource\") instead");
        km_buf tmp;
        km_buf_init(&tmp, 0);
        source_to_event_source(s, &tmp);
        int rc = 0;
        if (tmp.failed) rc = -1;
        else if (!also || in_strings(also, tmp.data, tmp.len)) {
            if (written && km_buf_putc(out, ',')) rc = -1;
            else rc = km_buf_json_str(out, tmp.data, tmp.len);
            written++;
        }
        km_buf_free(&tmp);
        if (rc) return KM_ENOMEM;
    }
    return km_buf_putc(out, ']') ? KM_ENOMEM : KM_OK;
}

static int write_detail_type(const km_json *v, km_buf *out, km_error *err) {
    if (v->type != KM_JSON_ARRAY)
        return km_error_set(err, KM_ERR, v->offset, "\"detail-type\" must be an array of values such as \"AWS API Call via CloudTrail\"");
    if (km_buf_putc(out, '[')) return KM_ENOMEM;
    for (size_t i = 0; i < v->u.arr.n; i++) {
        const km_json *e = v->u.arr.items[i];
        const char *s = km_json_str(e);
        const char *mapped = NULL;
        for (size_t k = 0; s && k < sizeof detail_types / sizeof detail_types[0]; k++)
            if (strcmp(s, detail_types[k].detail_type) == 0) mapped = detail_types[k].event_type;
        if (!mapped)
            return km_error_set(err, KM_ERR, e->offset,
                                "\"detail-type\" values must be one of the CloudTrail detail types (\"AWS API Call via "
                                "CloudTrail\", \"AWS Console Sign In via CloudTrail\", \"AWS Service Event via CloudTrail\", "
                                "\"AWS Console Action via CloudTrail\", \"AWS Insight via CloudTrail\")");
        if (i && km_buf_putc(out, ',')) return KM_ENOMEM;
        if (km_buf_json_str(out, mapped, strlen(mapped))) return KM_ENOMEM;
    }
    return km_buf_putc(out, ']') ? KM_ENOMEM : KM_OK;
}

static int write_or(const km_json *v, km_buf *out, rwctx *cx) {
    if (v->type != KM_JSON_ARRAY)
        return km_error_set(cx->err, KM_ERR, v->offset, "\"$or\" must be an array of patterns");
    if (km_buf_putc(out, '[')) return KM_ENOMEM;
    for (size_t i = 0; i < v->u.arr.n; i++) {
        if (i && km_buf_putc(out, ',')) return KM_ENOMEM;
        int rc = rewrite_object(v->u.arr.items[i], out, cx);
        if (rc) return rc;
    }
    return km_buf_putc(out, ']') ? KM_ENOMEM : KM_OK;
}

static int add_out(outm *list, size_t *n, const char *key, size_t key_len, const km_json *value, int kind,
                   const char *from, rwctx *cx) {
    for (size_t i = 0; i < *n; i++) {
        if (list[i].key_len != key_len || memcmp(list[i].key, key, key_len) != 0) continue;
        /* "source" and "detail.eventSource" both name the service. AWS accepts such a pattern, and it
         * matches only the events whose service satisfies both: with exact values on both sides,
         * that is the intersection, which is what the rewritten pattern keeps. */
        outm *prev = &list[i];
        const km_json *src = prev->kind == OUT_SOURCE ? prev->value : kind == OUT_SOURCE ? value : NULL;
        const km_json *det = prev->kind == OUT_COPY ? prev->value : kind == OUT_COPY ? value : NULL;
        if (src && det && (prev->kind == OUT_SOURCE) != (kind == OUT_SOURCE) && plain_strings(src) &&
            plain_strings(det)) {
            prev->kind = OUT_SOURCE_AND;
            prev->value = src;
            prev->also = det;
            prev->from = "\"source\"";
            return KM_OK;
        }
        return km_error_set(cx->err, KM_ERR, value->offset,
                            "%s and %s both constrain the record's \"%.*s\"; keep one of them",
                            list[i].from, from, (int)key_len, key);
    }
    list[*n] = (outm){key, key_len, value, kind, from, NULL};
    (*n)++;
    return KM_OK;
}

/* With both "source" and "detail.eventSource" given (OUT_SOURCE_AND): when no source's service is
 * among the eventSource values, the pattern can never match. EventBridge delivers a CloudTrail API
 * call with source "aws.<service of eventSource>", so e.g. source aws.cloudtrail with eventSource
 * iam.amazonaws.com (the defence strategy's example) is valid in AWS and never fires. */
static void check_never(const outm *o, rwctx *cx) {
    if (!cx->never || cx->never->code != KM_OK) return;
    const km_json *src = o->value, *det = o->also;
    if (any_source_in(src, det)) return;
    const char *d0 = det->u.arr.items[0]->u.str.s;
    const char *dot = strchr(d0, '.');
    char want[128];
    snprintf(want, sizeof want, "aws.%.*s", dot ? (int)(dot - d0) : (int)strlen(d0), d0);
    for (size_t k = 0; k < sizeof source_exceptions / sizeof source_exceptions[0]; k++)
        if (strcmp(d0, source_exceptions[k].event_source) == 0) snprintf(want, sizeof want, "%s", source_exceptions[k].source);
    km_error_set(cx->never, KM_ERR, src->offset,
                 "this pattern can never match: EventBridge gives a CloudTrail event the source of the service "
                 "that was called (\"aws.<service>\" for eventSource \"<service>.amazonaws.com\"), so \"source\" "
                 "\"%s\"%s excludes every \"detail.eventSource\" it asks for (\"%s\"%s); did you mean \"source\": "
                 "[\"%s\"]?",
                 src->u.arr.items[0]->u.str.s, src->u.arr.n > 1 ? ", ..." : "", d0, det->u.arr.n > 1 ? ", ..." : "", want);
}

/* One level of an EventBridge-form pattern (the top level, or a branch of its $or). */
static int rewrite_object(const km_json *p, km_buf *out, rwctx *cx) {
    km_error *err = cx->err;
    if (p->type != KM_JSON_OBJECT)
        return km_error_set(err, KM_ERR, p->offset, "a pattern must be a JSON object");
    size_t cap = p->u.obj.n;
    const km_json *detail = km_json_get(p, "detail");
    if (detail && detail->type == KM_JSON_OBJECT) cap += detail->u.obj.n;
    outm *list = calloc(cap ? cap : 1, sizeof *list);
    if (!list) return km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
    size_t n = 0;
    int rc = KM_OK;
    for (size_t i = 0; i < p->u.obj.n && rc == KM_OK; i++) {
        const km_json_member *m = &p->u.obj.members[i];
        const km_json *v = m->value;
        if (key_is(m, "detail")) {
            if (v->type != KM_JSON_OBJECT) {
                rc = km_error_set(err, KM_ERR, v->offset, "\"detail\" must be an object (the CloudTrail record's fields)");
                break;
            }
            for (size_t j = 0; j < v->u.obj.n && rc == KM_OK; j++) {
                const km_json_member *d = &v->u.obj.members[j];
                rc = add_out(list, &n, d->key, d->key_len, d->value, OUT_COPY, "a field under \"detail\"", cx);
            }
        } else if (key_is(m, "source")) {
            rc = add_out(list, &n, "eventSource", 11, v, OUT_SOURCE, "\"source\"", cx);
        } else if (key_is(m, "detail-type")) {
            rc = add_out(list, &n, "eventType", 9, v, OUT_DETAIL_TYPE, "\"detail-type\"", cx);
        } else if (key_is(m, "account")) {
            rc = add_out(list, &n, "recipientAccountId", 18, v, OUT_COPY, "\"account\"", cx);
        } else if (key_is(m, "region")) {
            rc = add_out(list, &n, "awsRegion", 9, v, OUT_COPY, "\"region\"", cx);
        } else if (key_is(m, "$or")) {
            rc = add_out(list, &n, "$or", 3, v, OUT_OR, "\"$or\"", cx);
        } else if (is_envelope_key(m->key, m->key_len)) {
            rc = km_error_set(err, KM_ERR, v->offset,
                              "the EventBridge envelope field \"%.*s\" has no counterpart in a CloudTrail record; "
                              "match a field under \"detail\" instead", (int)m->key_len, m->key);
        } else {
            rc = km_error_set(err, KM_ERR, v->offset,
                              "\"%.*s\" is not a field of the EventBridge envelope (source, detail-type, detail, "
                              "account, region): put it under \"detail\", or write the whole pattern over the raw "
                              "CloudTrail record", (int)m->key_len, m->key);
        }
    }
    if (rc == KM_OK && km_buf_putc(out, '{')) rc = KM_ENOMEM;
    for (size_t i = 0; i < n && rc == KM_OK; i++) {
        if ((i && km_buf_putc(out, ',')) || km_buf_json_str(out, list[i].key, list[i].key_len) ||
            km_buf_putc(out, ':')) {
            rc = KM_ENOMEM;
            break;
        }
        switch (list[i].kind) {
        case OUT_SOURCE: rc = write_source(list[i].value, NULL, out, err); break;
        case OUT_SOURCE_AND:
            check_never(&list[i], cx);
            rc = write_source(list[i].value, list[i].also, out, err);
            break;
        case OUT_DETAIL_TYPE: rc = write_detail_type(list[i].value, out, err); break;
        case OUT_OR: rc = write_or(list[i].value, out, cx); break;
        default: rc = km_json_write(out, list[i].value) ? KM_ENOMEM : KM_OK; break;
        }
    }
    if (rc == KM_OK && km_buf_putc(out, '}')) rc = KM_ENOMEM;
    free(list);
    if (rc == KM_ENOMEM && (!err || err->code == KM_OK || err->code == KM_ENOMEM))
        km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory (or the pattern is too large)");
    return rc;
}

int km_pattern_rewrite_value(const km_json *pattern, km_buf *out, int *was_eb, km_error *never, km_error *err) {
    if (never) km_error_clear(never);
    int eb = eventbridge_form(pattern);
    if (was_eb) *was_eb = eb;
    if (!eb) {
        if (km_json_write(out, pattern))
            return km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory (or the pattern is too large)");
        return KM_OK;
    }
    rwctx cx = {err, never};
    return rewrite_object(pattern, out, &cx);
}

int km_pattern_rewrite(const char *pattern, size_t len, km_buf *out, int *was_eventbridge, km_error *err) {
    km_error_clear(err);
    km_json_doc *doc = km_json_parse(pattern, len, NULL, NULL, err);
    if (!doc) return KM_ERR;
    int rc = km_pattern_rewrite_value(km_json_root(doc), out, was_eventbridge, NULL, err);
    km_json_doc_free(doc);
    return rc;
}
