/* Suppressions file (YAML, read with libyaml):
 *
 *   suppressions:
 *     - check: KMA-S3-CROSS-REGION-REPLICATION     # globs: check, account, region, resource
 *       account: "111122223333"
 *       resource: "arn:aws:s3:::scratch-*"         # matches the ARN, the id or the name
 *       tags: {env: sandbox}                        # every tag must match (value glob)
 *       reason: scratch buckets are disposable      # required
 *       expires: 2026-12-31                         # required; valid through that day (UTC)
 *
 * A suppressed finding keeps its status and is reported as suppressed; an expired entry
 * applies to nothing and is reported, so its findings come back. */
#include "audit/check.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define MAX_TAGS 8

typedef struct supp {
    char *check, *account, *region, *resource, *reason, *expires_s;
    int64_t expires;
    char *tagk[MAX_TAGS], *tagv[MAX_TAGS];
    int ntags;
    size_t line;
} supp;

struct km_suppressions {
    supp *v;
    size_t n;
    char *file;
};

void km_suppressions_free(km_suppressions *s) {
    if (!s) return;
    for (size_t i = 0; i < s->n; i++) {
        supp *e = &s->v[i];
        free(e->check);
        free(e->account);
        free(e->region);
        free(e->resource);
        free(e->reason);
        free(e->expires_s);
        for (int k = 0; k < e->ntags; k++) {
            free(e->tagk[k]);
            free(e->tagv[k]);
        }
    }
    free(s->v);
    free(s->file);
    free(s);
}

static int at(km_error *err, const char *file, const yaml_node_t *n, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int at(km_error *err, const char *file, const yaml_node_t *n, const char *fmt, ...) {
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return km_error_set(err, KM_ERR, n ? n->start_mark.index : 0, "%s:%zu:%zu: %s", file, n ? n->start_mark.line + 1 : 0,
                        n ? n->start_mark.column + 1 : 0, msg);
}

static char *scalar(yaml_document_t *d, yaml_node_t *n) {
    (void)d;
    if (!n || n->type != YAML_SCALAR_NODE) return NULL;
    return strndup((const char *)n->data.scalar.value, n->data.scalar.length);
}

static int parse_entry(yaml_document_t *d, yaml_node_t *m, supp *e, const char *file, km_error *err) {
    if (m->type != YAML_MAPPING_NODE) return at(err, file, m, "a suppression must be a mapping (check, resource, reason, expires, ...)");
    e->line = m->start_mark.line + 1;
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(d, p->key), *v = yaml_document_get_node(d, p->value);
        char *key = scalar(d, k);
        if (!key) return at(err, file, k, "keys must be plain words");
        char **dst = NULL;
        if (!strcmp(key, "check")) dst = &e->check;
        else if (!strcmp(key, "account")) dst = &e->account;
        else if (!strcmp(key, "region")) dst = &e->region;
        else if (!strcmp(key, "resource")) dst = &e->resource;
        else if (!strcmp(key, "reason")) dst = &e->reason;
        else if (!strcmp(key, "expires")) dst = &e->expires_s;
        else if (!strcmp(key, "tags")) {
            if (!v || v->type != YAML_MAPPING_NODE) { free(key); return at(err, file, v, "tags must be a mapping of tag key to value"); }
            for (yaml_node_pair_t *t = v->data.mapping.pairs.start; t < v->data.mapping.pairs.top; t++) {
                if (e->ntags >= MAX_TAGS) { free(key); return at(err, file, v, "at most %d tags", MAX_TAGS); }
                e->tagk[e->ntags] = scalar(d, yaml_document_get_node(d, t->key));
                e->tagv[e->ntags] = scalar(d, yaml_document_get_node(d, t->value));
                if (!e->tagk[e->ntags] || !e->tagv[e->ntags]) {
                    free(key);
                    return at(err, file, v, "tag keys and values must be strings");
                }
                e->ntags++;
            }
            free(key);
            continue;
        } else {
            int r = at(err, file, k, "unknown key \"%s\" (check, account, region, resource, tags, reason, expires)", key);
            free(key);
            return r;
        }
        free(key);
        if (*dst) return at(err, file, k, "key given twice");
        *dst = scalar(d, v);
        if (!*dst) return at(err, file, v, "value must be a string");
    }
    if (!e->reason || !*e->reason) return at(err, file, m, "every suppression needs a reason");
    if (!e->expires_s) return at(err, file, m, "every suppression needs an expiry date (expires: YYYY-MM-DD)");
    if (km_parse_time_str(e->expires_s, &e->expires)) return at(err, file, m, "expires \"%s\" is not a date (YYYY-MM-DD)", e->expires_s);
    if (strlen(e->expires_s) == 10) e->expires += 86399; /* a date: valid through that day */
    if (!e->check && !e->account && !e->region && !e->resource && !e->ntags)
        return at(err, file, m, "a suppression must match something (check, account, region, resource or tags)");
    return KM_OK;
}

int km_suppressions_load(km_suppressions **out, const char *path, km_error *err) {
    *out = NULL;
    size_t len;
    char *text = km_read_file(path, 16u << 20, &len, err);
    if (!text) return KM_ERR;
    yaml_parser_t p;
    yaml_document_t d;
    if (!yaml_parser_initialize(&p)) { free(text); return km_error_set(err, KM_ENOMEM, 0, "out of memory"); }
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    if (!yaml_parser_load(&p, &d)) {
        int rc = km_error_set(err, KM_ERR, p.problem_mark.index, "%s:%zu:%zu: invalid YAML: %s", path, p.problem_mark.line + 1,
                              p.problem_mark.column + 1, p.problem ? p.problem : "?");
        yaml_parser_delete(&p);
        free(text);
        return rc;
    }
    km_suppressions *s = calloc(1, sizeof *s);
    int rc = KM_OK;
    yaml_node_t *root = yaml_document_get_root_node(&d);
    yaml_node_t *list = root;
    /* rc is set apart from km_error_set so that the code reads (and the analyzer sees) that the
     * steps below only run with s and s->v allocated */
    if (!s) {
        km_error_set(err, KM_ENOMEM, 0, "out of memory");
        rc = KM_ENOMEM;
    } else if (!root) list = NULL; /* empty file: nothing suppressed */
    else if (root->type == YAML_MAPPING_NODE) {
        list = NULL;
        for (yaml_node_pair_t *pr = root->data.mapping.pairs.start; pr < root->data.mapping.pairs.top; pr++) {
            yaml_node_t *k = yaml_document_get_node(&d, pr->key);
            if (k && k->type == YAML_SCALAR_NODE && !strncmp((const char *)k->data.scalar.value, "suppressions", k->data.scalar.length))
                list = yaml_document_get_node(&d, pr->value);
            else { rc = at(err, path, k, "the top level has only \"suppressions:\""); break; }
        }
    }
    if (rc == KM_OK && list && list->type != YAML_SEQUENCE_NODE)
        rc = at(err, path, list, "\"suppressions\" must be a list");
    if (rc == KM_OK && list) {
        size_t n = (size_t)(list->data.sequence.items.top - list->data.sequence.items.start);
        s->v = calloc(n ? n : 1, sizeof *s->v);
        if (!s->v) {
            km_error_set(err, KM_ENOMEM, 0, "out of memory");
            rc = KM_ENOMEM;
        }
        for (yaml_node_item_t *it = list->data.sequence.items.start; rc == KM_OK && it < list->data.sequence.items.top; it++) {
            rc = parse_entry(&d, yaml_document_get_node(&d, *it), &s->v[s->n], path, err);
            s->n++;
        }
    }
    yaml_document_delete(&d);
    yaml_parser_delete(&p);
    free(text);
    if (rc != KM_OK) { km_suppressions_free(s); return rc; }
    s->file = strdup(path);
    *out = s;
    return KM_OK;
}

static int tags_match(const supp *e, const km_json *tags) {
    for (int k = 0; k < e->ntags; k++) {
        const char *have = NULL;
        if (tags && tags->type == KM_JSON_OBJECT) have = km_json_str(km_json_get(tags, e->tagk[k]));
        for (size_t i = 0; !have && tags && tags->type == KM_JSON_ARRAY && i < tags->u.arr.n; i++) {
            const km_json *t = tags->u.arr.items[i];
            if (km_streq_ci(km_ci_str(t, "Key"), e->tagk[k])) have = km_ci_str(t, "Value");
        }
        if (!have || !km_glob(e->tagv[k], have)) return 0;
    }
    return 1;
}

static int matches(const supp *e, const km_finding *f) {
    if (e->check && !km_glob_ci(e->check, f->check->id)) return 0;
    if (e->account && !km_glob(e->account, f->account)) return 0;
    if (e->region && !km_glob(e->region, f->region)) return 0;
    if (e->resource && !(km_glob(e->resource, f->res_arn ? f->res_arn : "") || km_glob(e->resource, f->res_id ? f->res_id : "") ||
                         km_glob(e->resource, f->res_name ? f->res_name : "")))
        return 0;
    return tags_match(e, f->tags);
}

size_t km_audit_suppress(km_audit *a, const km_suppressions *s, void (*warn)(const char *msg, void *ctx), void *ctx) {
    if (!s) return 0;
    size_t n = 0;
    int64_t now = km_audit_now(a);
    for (size_t i = 0; i < s->n; i++) {
        const supp *e = &s->v[i];
        if (now > e->expires) {
            if (warn) {
                char msg[700];
                snprintf(msg, sizeof msg, "%s:%zu: suppression expired on %s (%s): its findings are reported again", s->file, e->line,
                         e->expires_s, e->reason);
                warn(msg, ctx);
            }
            continue;
        }
        for (size_t k = 0; k < a->n; k++) {
            km_finding *f = &a->f[k];
            if (f->suppressed || f->status == KM_PASS || !matches(e, f)) continue;
            f->suppressed = e->reason;
            f->suppress_expires = e->expires_s;
            n++;
        }
    }
    return n;
}
