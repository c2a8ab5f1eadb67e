/* Fuzz target: the text-only field reader of the detection pipeline (src/detect/extract.c), which
 * reads alert and grouping fields straight from an untrusted record's JSON text. Differential
 * property (its header's promise): whenever it does not give up, its values are exactly those of
 * the tree readers (km_sigma_field_text for text, a string member through objects for strings,
 * resources[].ARN for the list) on the parsed record. */
#include "fuzz.h"
#include "detect/extract.h"
#include "kumomori/buf.h"
#include "kumomori/json.h"
#include "kumomori/sigma.h"
#include "util/arena.h"

#include <stdio.h>
#include <string.h>

static const char *const paths[] = {
    "eventTime", "eventName", "eventSource", "userIdentity.arn", "userIdentity.type", "sourceIPAddress", "errorCode",
    "requestParameters.bucketName", "requestParameters.key", "resources.ARN", "readOnly", "a.b", "a", "b.c.d",
    "userIdentity.sessionContext.sessionIssuer.arn", "responseElements",
};
#define NP (sizeof paths / sizeof paths[0])

static const char *tree_string(const km_json *r, const char *path) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    const km_json *v = r;
    char *save = NULL;
    for (char *t = strtok_r(buf, ".", &save); t && v; t = strtok_r(NULL, ".", &save)) v = km_json_get(v, t);
    return km_json_str(v);
}

static int same(const char *a, const char *b) { return (a == NULL) == (b == NULL) && (!a || !strcmp(a, b)); }

KM_FUZZ_TARGET(extract) {
    const char *text = (const char *)data;
    km_extract_req req[2 * NP + 1];
    for (size_t i = 0; i < NP; i++) {
        req[i] = (km_extract_req){paths[i], KM_X_TEXT, NULL, 0, 0};
        req[NP + i] = (km_extract_req){paths[i], KM_X_STRING, NULL, 0, 0};
    }
    req[2 * NP] = (km_extract_req){"resources.ARN", KM_X_LIST, NULL, 0, 0};
    km_arena a;
    km_arena_init(&a, 0);
    int rc = km_extract(text, size, req, 2 * NP + 1, &a);
    km_json_doc *doc = rc == 0 ? km_json_parse(text, size, NULL, NULL, NULL) : NULL;
    const km_json *root = km_json_root(doc);
    if (doc && root->type == KM_JSON_OBJECT) {
        for (size_t i = 0; i < NP; i++) {
            km_buf b = KM_BUF_INIT;
            int have = km_sigma_field_text(root, paths[i], &b);
            const char *want = have ? (b.data ? b.data : "") : NULL;
            KM_FUZZ_CHECK("extract", same(want, req[i].value), "%s: text '%s', the tree says '%s'", paths[i],
                          req[i].value ? req[i].value : "(none)", want ? want : "(none)");
            km_buf_free(&b);
            const char *ws = tree_string(root, paths[i]);
            KM_FUZZ_CHECK("extract", same(ws, req[NP + i].value), "%s: string '%s', the tree says '%s'", paths[i],
                          req[NP + i].value ? req[NP + i].value : "(none)", ws ? ws : "(none)");
        }
        const km_json *res = km_json_get(root, "resources");
        size_t want_n = 0;
        int broke = 0;
        const char *p = req[2 * NP].value;
        for (size_t k = 0; res && res->type == KM_JSON_ARRAY && k < km_json_len(res); k++) {
            const char *arn = km_json_str(km_json_get(km_json_at(res, k), "ARN"));
            if (!arn) continue;
            KM_FUZZ_CHECK("extract", want_n < req[2 * NP].nvalues && p && !strcmp(p, arn), "resources[%zu].ARN differs", k);
            if (want_n >= req[2 * NP].nvalues || !p || strcmp(p, arn)) { broke = 1; break; }
            p += strlen(p) + 1;
            want_n++;
        }
        KM_FUZZ_CHECK("extract", broke || want_n == req[2 * NP].nvalues,
                      "resources.ARN: %zu values, the tree has %zu", req[2 * NP].nvalues, want_n);
    }
    km_json_doc_free(doc);
    km_arena_free(&a);
    return 0;
}
