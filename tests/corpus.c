#include "corpus.h"
#include "test.h"
#include "kumomori/buf.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int add(km_test_corpus *c, const char *id, const km_json *rec) {
    km_test_record *nr = realloc(c->r, (c->n + 1) * sizeof *nr);
    if (!nr) return -1;
    c->r = nr;
    km_test_record *r = &c->r[c->n++];
    memset(r, 0, sizeof *r);
    r->id = strdup(id);
    r->rec = rec;
    km_buf b = KM_BUF_INIT;
    km_json_write(&b, rec);
    r->text = km_buf_steal(&b, &r->len);
    return r->id && r->text ? 0 : -1;
}

static km_json_doc *keep(km_test_corpus *c, km_json_doc *d) {
    if (!d) return NULL;
    km_json_doc **nd = realloc(c->docs, (c->ndocs + 1) * sizeof *nd);
    if (!nd) {
        km_json_doc_free(d);
        return NULL;
    }
    c->docs = nd;
    c->docs[c->ndocs++] = d;
    return d;
}

static km_json_doc *parse_file(km_test_corpus *c, const char *path) {
    size_t len;
    char *t = km_test_read(path, &len);
    if (!t) return NULL;
    km_error e;
    km_json_doc *d = km_json_parse(t, len, NULL, NULL, &e);
    free(t);
    return keep(c, d);
}

static int lines(km_test_corpus *c, const char *path, const char *prefix, const char *member) {
    size_t len;
    char *t = km_test_read(path, &len);
    if (!t) return -1;
    size_t line = 0;
    char *p = t;
    while (*p) {
        char *nl = strchr(p, '\n');
        size_t l = nl ? (size_t)(nl - p) : strlen(p);
        line++;
        if (l > 0) {
            km_error e;
            km_json_doc *d = keep(c, km_json_parse(p, l, NULL, NULL, &e));
            if (!d) {
                free(t);
                return -1;
            }
            const km_json *rec = member ? km_json_get(km_json_root(d), member) : km_json_root(d);
            if (rec && rec->type == KM_JSON_OBJECT) {
                char id[64];
                snprintf(id, sizeof id, "%s:%zu", prefix, line);
                if (add(c, id, rec)) {
                    free(t);
                    return -1;
                }
            }
        }
        if (!nl) break;
        p = nl + 1;
    }
    free(t);
    return 0;
}

static int folder(km_test_corpus *c, const char *dir, const char *prefix, const char *member) {
    struct dirent **list;
    int n = scandir(dir, &list, NULL, alphasort);
    if (n < 0) return -1;
    int rc = 0;
    for (int i = 0; i < n; i++) {
        const char *nm = list[i]->d_name;
        size_t l = strlen(nm);
        if (rc == 0 && l > 5 && !strcmp(nm + l - 5, ".json")) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", dir, nm);
            km_json_doc *d = parse_file(c, path);
            const km_json *arr = d ? (member ? km_json_get(km_json_root(d), member) : km_json_root(d)) : NULL;
            if (!arr || arr->type != KM_JSON_ARRAY) rc = -1;
            for (size_t k = 0; rc == 0 && k < km_json_len(arr); k++) {
                char id[600];
                snprintf(id, sizeof id, "%s:%s:%zu", prefix, nm, k);
                if (add(c, id, km_json_at(arr, k))) rc = -1;
            }
        }
        free(list[i]);
    }
    free(list);
    return rc;
}

km_test_corpus *km_test_corpus_load(const char *corpora) {
    if (!corpora) return NULL;
    km_test_corpus *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    char p[4096];
    int rc = 0;
    snprintf(p, sizeof p, "%s/cloudtrail/panther-analysis/panther_cloudtrail_tests.jsonl", corpora);
    rc |= lines(c, p, "panther", "log");
    snprintf(p, sizeof p, "%s/cloudtrail/stratus-red-team/detonation-logs", corpora);
    rc |= folder(c, p, "stratus", NULL);
    snprintf(p, sizeof p, "%s/cloudtrail/invictus-sigma-aws/CloudTrail", corpora);
    rc |= folder(c, p, "invictus", "Records");
    snprintf(p, sizeof p, "%s/cloudtrail/otrf-security-datasets/ec2_proxy_s3_exfiltration_2020-09-14011940.jsonl", corpora);
    rc |= lines(c, p, "otrf", NULL);
    if (rc) {
        km_test_corpus_free(c);
        return NULL;
    }
    return c;
}

void km_test_corpus_free(km_test_corpus *c) {
    if (!c) return;
    for (size_t i = 0; i < c->n; i++) {
        free(c->r[i].id);
        free(c->r[i].text);
    }
    free(c->r);
    for (size_t i = 0; i < c->ndocs; i++) km_json_doc_free(c->docs[i]);
    free(c->docs);
    free(c);
}
