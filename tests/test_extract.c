/* The text-only field reader (src/detect/extract.c) gives the tree readers' values exactly, on every
 * staged record and on hand-made records with escapes, arrays, nulls and the shapes it must leave to
 * the tree. */
#include "test.h"
#include "corpus.h"
#include "detect/extract.h"
#include "detect/program.h"
#include "match/kept.h"
#include "kumomori/sigma.h"
#include "kumomori/buf.h"

#include <stdlib.h>
#include <string.h>

static const char *const TEXT_PATHS[] = {
    "eventTime", "eventID", "eventName", "eventSource", "awsRegion", "recipientAccountId", "userIdentity.arn",
    "userIdentity.type", "userIdentity.accessKeyId", "sourceIPAddress", "userAgent", "errorCode",
    "responseElements.accessKey.accessKeyId", "requestParameters.bucketName", "requestParameters.key",
    "requestParameters.containerDefinitions.command", "resources.ARN", "userIdentity.sessionContext.sessionIssuer.arn",
    "additionalEventData.MFAUsed", "readOnly", "requestParameters.maxResults", "tlsDetails.tlsVersion", "nope.nothing",
};

/* The alert reader's view: a string member reached through objects only. */
static const char *tree_string(const km_json *r, const char *path) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    const km_json *v = r;
    char *save = NULL;
    for (char *t = strtok_r(buf, ".", &save); t && v; t = strtok_r(NULL, ".", &save)) v = km_json_get(v, t);
    return km_json_str(v);
}

static int check_record(const char *text, size_t len, const km_json *root, const char *id, long *giveups) {
    size_t np = sizeof TEXT_PATHS / sizeof TEXT_PATHS[0];
    km_extract_req req[64];
    for (size_t i = 0; i < np; i++) {
        req[i] = (km_extract_req){TEXT_PATHS[i], KM_X_TEXT, NULL, 0, 0};
        req[np + i] = (km_extract_req){TEXT_PATHS[i], KM_X_STRING, NULL, 0, 0};
    }
    req[2 * np] = (km_extract_req){"resources.ARN", KM_X_LIST, NULL, 0, 0};
    km_arena a;
    km_arena_init(&a, 0);
    int rc = km_extract(text, len, req, 2 * np + 1, &a);
    int ok = 1;
    if (rc == 1) {
        (*giveups)++;
    } else if (rc != 0) {
        printf("  %s: extract failed\n", id);
        ok = 0;
    } else {
        for (size_t i = 0; i < np && ok; i++) {
            km_buf b = KM_BUF_INIT;
            int have = km_sigma_field_text(root, TEXT_PATHS[i], &b);
            const char *want = have ? (b.data ? b.data : "") : NULL;
            const char *got = req[i].value;
            if ((want == NULL) != (got == NULL) || (want && strcmp(want, got))) {
                printf("  %s: %s: text '%s', the tree says '%s'\n", id, TEXT_PATHS[i], got ? got : "(none)", want ? want : "(none)");
                ok = 0;
            }
            km_buf_free(&b);
            const char *ws = tree_string(root, TEXT_PATHS[i]), *gs = req[np + i].value;
            if ((ws == NULL) != (gs == NULL) || (ws && strcmp(ws, gs))) {
                printf("  %s: %s: string '%s', the tree says '%s'\n", id, TEXT_PATHS[i], gs ? gs : "(none)", ws ? ws : "(none)");
                ok = 0;
            }
        }
        /* resources[].ARN as a list */
        const km_json *res = km_json_get(root, "resources");
        size_t want_n = 0;
        const char *p = req[2 * np].value;
        for (size_t k = 0; res && res->type == KM_JSON_ARRAY && k < km_json_len(res); k++) {
            const char *arn = km_json_str(km_json_get(km_json_at(res, k), "ARN"));
            if (!arn) continue;
            if (want_n >= req[2 * np].nvalues || strcmp(p, arn)) {
                printf("  %s: resources[%zu].ARN differs\n", id, k);
                ok = 0;
                break;
            }
            p += strlen(p) + 1;
            want_n++;
        }
        if (ok && want_n != req[2 * np].nvalues) {
            printf("  %s: %zu resource ARNs, the tree has %zu\n", id, req[2 * np].nvalues, want_n);
            ok = 0;
        }
    }
    km_arena_free(&a);
    return ok;
}

TEST(extract_equals_the_tree_on_every_staged_record) {
    const char *corp = km_test_corpora();
    if (!corp) { km_test_skip("shared corpora absent"); return; }
    km_test_corpus *c = km_test_corpus_load(corp);
    CHECK(c);
    long giveups = 0, bad = 0;
    for (size_t i = 0; i < c->n; i++)
        if (!check_record(c->r[i].text, c->r[i].len, c->r[i].rec, c->r[i].id, &giveups)) bad++;
    km_test_case(bad == 0, "%ld of %zu records differ", bad, c->n);
    km_test_case(giveups == 0, "%ld of %zu staged records were left to the tree", giveups, c->n);
    km_test_corpus_free(c);
}

TEST(extract_hand_made_records) {
    static const struct { const char *json; int giveup; const char *why; } r[] = {
        {"{\"eventName\":\"a\\\"b\\\\c\\u00e9\\ud83d\\ude00\\n\",\"userIdentity\":{\"arn\":\"x\"}}", 0, "escapes"},
        {"{\"eventName\":\"\\ud800x\"}", 0, "a lone surrogate becomes U+FFFD"},
        {"{ \"eventName\" : \"spaced\" , \"requestParameters\" : { \"key\" : [ \"a\" , [ \"b\" , 3 ] , null ] } }", 0, "white space, nested arrays"},
        {"{\"requestParameters\":{\"containerDefinitions\":[{\"command\":[\"sh\",\"-c\"]},{\"command\":\"x\"},{\"other\":1}]}}", 0, "through an array of objects"},
        {"{\"readOnly\":true,\"requestParameters\":{\"maxResults\":1.50e2},\"errorCode\":null}", 0, "literals and numbers as written"},
        {"{\"resources\":[{\"ARN\":\"a\"},{\"type\":\"t\"},{\"ARN\":\"b\"}]}", 0, "resources"},
        {"{\"userIdentity\":{\"arn\":[\"in\",\"array\"]}}", 0, "a string field holding an array"},
        {"{\"userIdentity\":{\"arn\":{\"deep\":1}}}", 1, "a path reaching an object: left to the tree"},
        {"{\"eventName\":\"a\",\"eventName\":\"b\"}", 1, "a repeated key: left to the tree"},
        {"{\"userIdentity.arn\":\"dotted\"}", 1, "a key with a dot on a requested path: left to the tree"},
        {"{\"event\\u004eame\":\"escaped key\"}", 1, "an escaped key that may spell a requested name"},
        {"{\"unrelated\":{\"a.b\":1,\"x\":[{\"y\":\"\\u0041\"}]},\"eventName\":\"after\"}", 0, "irrelevant shapes are skipped"},
        {"{\"tlsDetails\":{\"tlsVersion\":\"TLSv1.2\"},\"tlsDetails2\":1}", 0, "a key that extends a requested name"},
    };
    for (size_t i = 0; i < sizeof r / sizeof r[0]; i++) {
        km_error err;
        km_json_opts jo = {0};
        jo.replace_invalid_utf8 = 1;
        km_json_doc *d = km_json_parse(r[i].json, strlen(r[i].json), &jo, NULL, &err);
        CHECK_MSG(d, "case %zu: %s", i, err.msg);
        long giveups = 0;
        int ok = check_record(r[i].json, strlen(r[i].json), km_json_root(d), r[i].why, &giveups);
        km_test_case(ok && giveups == r[i].giveup, "%s: %s, %s", r[i].why, ok ? "same values" : "values differ",
                     giveups ? "left to the tree" : "read");
        km_json_doc_free(d);
    }
    km_arena a;
    km_arena_init(&a, 0);
    km_extract_req q = {"eventName", KM_X_TEXT, NULL, 0, 0};
    CHECK_INT(km_extract("[1]", 3, &q, 1, &a), -1);
    CHECK_INT(km_extract("{\"eventName\":\"unterminated", 26, &q, 1, &a) >= 0, 1);
    km_arena_free(&a);
}

/* Every part of the record is checked as strictly as the tree parser checks it, including the
 * parts skipped (a record with an alert is valid JSON as a whole): the reader gives up (1) exactly
 * where km_json_parse fails. */
TEST(extract_gives_up_on_invalid_json_in_skipped_parts) {
    static const char *const texts[] = {
        "{\"eventName\":\"A\",\"tlsDetails\":{\"x\":tru}}",
        "{\"eventName\":\"A\",\"tlsDetails\":{\"x\":\"a\\qb\"}}",
        "{\"eventName\":\"A\",\"tlsDetails\":{\"x\":01}}",
        "{\"eventName\":\"A\",\"tlsDetails\":{\"x\":1.}}",
        "{\"eventName\":\"A\",\"tlsDetails\":{\"x\":[1,]}}",
        "{\"eventName\":\"A\",\"tlsDetails\":{\"x\" 1}}",
        "{\"eventName\":\"A\",\"tlsDetails\":{\"x\":\"\\u12G4\"}}",
        "{\"eventName\":\"A\",\"tlsDetails\":{\"x\":\"tab\there\"}}",
        "{\"eventName\":\"A\",\"tlsDetails\":{,}}",
        "{\"eventName\":\"A\" \"b\":1}",
        "{\"eventName\":\"a\\xb\"}",
        /* valid ones, for contrast */
        "{\"eventName\":\"A\",\"tlsDetails\":{\"x\":[true,false,null,-0.5e+3,\"\\u00e9\\n\",{}],\"y\":{}}}",
        "{ \"eventName\" : \"A\" , \"n\" : [ ] }",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        km_arena a;
        km_arena_init(&a, 0);
        km_extract_req q = {"eventName", KM_X_STRING, NULL, 0, 0};
        int rc = km_extract(texts[i], strlen(texts[i]), &q, 1, &a);
        km_error err;
        km_json_doc *d = km_json_parse(texts[i], strlen(texts[i]), NULL, NULL, &err);
        km_test_case((rc == 0) == (d != NULL), "%s: extract %d, parser %s", texts[i], rc, d ? "accepts" : "refuses");
        if (rc == 0) km_test_case(q.value && q.value[0] == 'A', "%s: eventName %s", texts[i], q.value ? q.value : "(none)");
        km_json_doc_free(d);
        km_arena_free(&a);
    }
}

/* The cheap eventTime reader: the first "eventTime" key's string, wherever capital T's come first. */
TEST(extract_record_time_finds_the_first_event_time) {
    static const struct { const char *text; const char *want; } c[] = {
        {"{\"eventTime\":\"2024-05-01T10:00:00Z\"}", "2024-05-01T10:00:00Z"},
        {"{\"userIdentity\":{\"sessionContext\":{\"attributes\":{\"creationDate\":\"2024-01-01T00:00:00Z\"}},\"Type\":\"T\"},"
         "\"eventTime\" : \"2024-05-01T10:00:01Z\",\"x\":{\"eventTime\":\"2030-01-01T00:00:00Z\"}}",
         "2024-05-01T10:00:01Z"},
        {"{\"a\":\"eventTime\",\"eventTime\":\"2024-05-01T10:00:02Z\"}", NULL}, /* the first one is a value: no string after it */
        {"{\"TTTTTT\":1}", NULL},
        {"{\"eventTim\":\"2024-05-01T10:00:00Z\"}", NULL},
        {"\"eventTime\"", NULL},
        {"", NULL},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        int64_t got = km_program_record_time(c[i].text, strlen(c[i].text));
        int64_t want = c[i].want ? km_corr_parse_time(c[i].want, strlen(c[i].want)) : -1;
        km_test_case(got == want, "%s: %lld, expected %lld", c[i].text, (long long)got, (long long)want);
    }
}

/* ---- the same values from the matcher's kept fields (match/kept.h, km_extract_kept) ---- */

typedef struct kept_rig {
    km_matcher *m;
    km_match_scratch *s;
    int h[64];
    size_t np;
} kept_rig;

static void kept_rig_init(kept_rig *k) {
    k->np = sizeof TEXT_PATHS / sizeof TEXT_PATHS[0];
    k->m = km_matcher_new();
    k->s = km_match_scratch_new();
    for (size_t i = 0; i < k->np; i++) k->h[i] = km_matcher_keep(k->m, TEXT_PATHS[i], strlen(TEXT_PATHS[i]));
    k->h[k->np] = km_matcher_keep(k->m, "resources.ARN", 13);
}

static void kept_rig_free(kept_rig *k) {
    km_match_scratch_free(k->s);
    km_matcher_free(k->m);
}

/* 1 when the kept values give km_extract's result (or leave the record to it: *fallback), 0 when
 * they differ; -1 when the matcher refuses the record. */
static int kept_vs_extract(kept_rig *k, const char *text, size_t len, const char *id, int *fallback) {
    size_t np = k->np, n = 2 * np + 1;
    km_extract_req qe[64], qk[64];
    int hs[64];
    for (size_t i = 0; i < np; i++) {
        qe[i] = (km_extract_req){TEXT_PATHS[i], KM_X_TEXT, NULL, 0, 0};
        qe[np + i] = (km_extract_req){TEXT_PATHS[i], KM_X_STRING, NULL, 0, 0};
        hs[i] = hs[np + i] = k->h[i];
    }
    qe[2 * np] = (km_extract_req){"resources.ARN", KM_X_LIST, NULL, 0, 0};
    hs[2 * np] = k->h[np];
    memcpy(qk, qe, sizeof qe);
    const uint32_t *ids;
    km_error err;
    if (km_matcher_match(k->m, k->s, text, len, &ids, &err) < 0) return -1;
    km_kept_val kv[512];
    km_kept_view view;
    km_arena a;
    km_arena_init(&a, 0);
    int nv = km_match_kept(k->m, k->s, text, len, kv, 512, &view);
    int rk = nv < 0 ? 2 : km_extract_kept(text, kv, (size_t)nv, &view, qk, hs, n, &a);
    int re = km_extract(text, len, qe, n, &a);
    int ok = 1;
    *fallback = rk == 2;
    if (rk != 2 && rk != re) {
        printf("  %s: kept %d, km_extract %d\n", id, rk, re);
        ok = 0;
    }
    for (size_t i = 0; ok && rk == 0 && re == 0 && i < n; i++) {
        const char *x = qk[i].value, *y = qe[i].value;
        size_t lx = x ? (qk[i].mode == KM_X_LIST ? qk[i].nvalues : 1) : 0;
        if ((x == NULL) != (y == NULL) || (x && strcmp(x, y)) || (qk[i].mode == KM_X_LIST && qk[i].nvalues != qe[i].nvalues)) {
            printf("  %s: %s (mode %d): kept '%s' (%zu), km_extract '%s'\n", id, qe[i].path, qe[i].mode, x ? x : "(none)", lx,
                   y ? y : "(none)");
            ok = 0;
        }
        /* the lengths both readers give (the light path copies by them, without strlen) */
        if (ok && qk[i].mode != KM_X_LIST && ((x && qk[i].len != strlen(x)) || (y && qe[i].len != strlen(y)))) {
            printf("  %s: %s (mode %d): lengths %zu and %zu for '%s'\n", id, qe[i].path, qe[i].mode, qk[i].len, qe[i].len, y ? y : "");
            ok = 0;
        }
        /* a list's elements after the first */
        for (size_t e = 1; ok && x && qk[i].mode == KM_X_LIST && e < qk[i].nvalues; e++) {
            x += strlen(x) + 1;
            y += strlen(y) + 1;
            if (strcmp(x, y)) {
                printf("  %s: %s element %zu: kept '%s', km_extract '%s'\n", id, qe[i].path, e, x, y);
                ok = 0;
            }
        }
    }
    km_arena_free(&a);
    return ok;
}

TEST(extract_kept_equals_extract_on_every_staged_record) {
    const char *corp = km_test_corpora();
    if (!corp) { km_test_skip("shared corpora absent"); return; }
    km_test_corpus *c = km_test_corpus_load(corp);
    CHECK(c);
    kept_rig k;
    kept_rig_init(&k);
    for (size_t i = 0; i <= k.np; i++) CHECK(k.h[i] >= 0);
    CHECK_INT(k.h[0], 0);
    CHECK_INT(k.h[k.np], k.h[16]); /* the same name twice: the same handle (TEXT_PATHS[16] is resources.ARN) */
    long bad = 0, fallbacks = 0, refused = 0;
    for (size_t i = 0; i < c->n; i++) {
        int fb = 0;
        int rc = kept_vs_extract(&k, c->r[i].text, c->r[i].len, c->r[i].id, &fb);
        if (rc < 0) refused++;
        else if (!rc) bad++;
        fallbacks += fb;
    }
    km_test_case(bad == 0, "%ld of %zu records: the kept values differ from km_extract's", bad, c->n);
    km_test_case(refused == 0, "%ld of %zu records refused by the matcher", refused, c->n);
    km_test_case(fallbacks == 0, "%ld of %zu staged records were left to km_extract", fallbacks, c->n);
    kept_rig_free(&k);
    km_test_corpus_free(c);
}

TEST(extract_kept_hand_made_records) {
    /* want: 0 read from the kept values (and equal), 2 left to km_extract */
    static const struct { const char *json; int want; const char *why; } r[] = {
        {"{\"eventName\":\"a\\\"b\\\\c\\u00e9\\ud83d\\ude00\\n\",\"userIdentity\":{\"arn\":\"x\"}}", 0, "escapes"},
        {"{\"eventName\":\"\\ud800x\"}", 0, "a lone surrogate becomes U+FFFD"},
        {"{ \"eventName\" : \"spaced\" , \"requestParameters\" : { \"key\" : [ \"a\" , 3 , null ] } }", 0, "white space, an array"},
        {"{\"requestParameters\":{\"key\":[\"a\",[\"b\",3]]}}", 2, "arrays in arrays"},
        {"{\"requestParameters\":{\"containerDefinitions\":[{\"command\":[\"sh\",\"-c\"]},{\"command\":\"x\"},{\"other\":1}]}}", 2,
         "through an array of objects into an array"},
        {"{\"requestParameters\":{\"containerDefinitions\":[{\"command\":\"sh\"},{\"command\":\"x\"},{\"other\":1}]}}", 0,
         "through an array of objects"},
        {"{\"readOnly\":true,\"requestParameters\":{\"maxResults\":1.50e2},\"errorCode\":null}", 0, "literals and numbers as written"},
        {"{\"resources\":[{\"ARN\":\"a\"},{\"type\":\"t\"},{\"ARN\":\"b\"}]}", 0, "resources"},
        {"{\"resources\":{\"ARN\":\"a\"}}", 2, "resources as an object"},
        {"{\"resources\":[{\"ARN\":5}]}", 2, "a resource ARN that is a number"},
        {"{\"userIdentity\":{\"arn\":[\"in\",\"array\"]}}", 0, "a string field holding an array"},
        {"{\"userIdentity\":{\"arn\":{\"deep\":1}}}", 2, "a path reaching an object"},
        {"{\"userIdentity\":{\"arn\":[{\"deep\":1}]}}", 2, "a path reaching an object in an array"},
        {"{\"eventName\":\"a\",\"eventName\":\"b\"}", 2, "a repeated key"},
        {"{\"userIdentity\":{\"arn\":\"a\"},\"userIdentity\":{\"type\":\"b\"}}", 2, "a repeated key on the way"},
        {"{\"resources\":[{\"ARN\":\"a\"},{\"ARN\":\"b\"}],\"userIdentity\":{\"arn\":\"x\",\"type\":\"y\"}}", 0,
         "the same key in two elements is not repeated"},
        {"{\"userIdentity.arn\":\"dotted\"}", 2, "a key with a dot on a requested path"},
        {"{\"userIdentity\":{\"a.b\":1},\"eventName\":\"x\"}", 0, "a key with a dot that reaches no requested path"},
        {"{\"event\\u004eame\":\"escaped key\"}", 2, "an escaped key that spells a requested name"},
        {"{\"unrelated\":{\"a.b\":1,\"x\":[{\"y\":\"\\u0041\"}]},\"eventName\":\"after\"}", 0, "irrelevant shapes are skipped"},
        {"{\"tlsDetails\":{\"tlsVersion\":\"TLSv1.2\"},\"tlsDetails2\":1}", 0, "a key that extends a requested name"},
        {"{\"eventName\":\"A\",\"other\":{\"x\":tru}}", 2, "invalid JSON in a skipped part"},
        {"{\"eventName\":\"A\",\"other\":[{\"x\":1},{\"y\":\"\\q\"}]}", 2, "a bad escape in a skipped array"},
        {"{\"eventName\":\"A\",\"tlsDetails\":{\"x\":\"a\\qb\"}}", 2, "a bad escape in a skipped part"},
        {"{\"eventName\":\"A\",\"tlsDetails\":{\"x\":[1,]}}", 2, "a trailing comma in a skipped part"},
        {"{\"eventName\":\"A\",\"other\":\"tab\there\"}", 2, "a control character in a skipped string"},
        {"{\"eventName\":\"A\",\"tlsDetails\":{\"x\":[true,false,null,-0.5e+3,\"\\u00e9\\n\",{}],\"y\":{}}}", 0,
         "valid skipped parts"},
    };
    kept_rig k;
    kept_rig_init(&k);
    for (size_t i = 0; i < sizeof r / sizeof r[0]; i++) {
        int fb = 0;
        int rc = kept_vs_extract(&k, r[i].json, strlen(r[i].json), r[i].why, &fb);
        km_test_case(rc == 1 && fb == (r[i].want == 2), "%s: %s, %s", r[i].why,
                     rc < 0 ? "refused by the matcher" : rc ? "same values" : "values differ", fb ? "left to km_extract" : "read");
    }
    kept_rig_free(&k);
}

/* Kept string values of 16 to 64 bytes are found 16 bytes at a time inside the walk (eventTime,
 * eventID, ARNs); whatever needs decoding or checking in any of those blocks goes to the general
 * string reader. Each value sits between other members, so that the blocks read are inside the record. */
TEST(extract_kept_long_strings) {
    static const struct { const char *raw, *want; } r[] = {
        {"2024-03-04T12:34:56Z", "2024-03-04T12:34:56Z"},
        {"0123456789abcdef", "0123456789abcdef"},
        {"0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef"},
        {"0123456789abcdef0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef0123456789abcdef"},
        {"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde"},
        {"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123"},
        {"0123456789abcdef0123\\n56789", "0123456789abcdef0123\n56789"},
        {"0123456789abcdef0123456789abcdef012345678\\\"bcdef", "0123456789abcdef0123456789abcdef012345678\"bcdef"},
        {"0123456789abcdef0123456789\xc3\xa9" "bcdef", "0123456789abcdef0123456789\xc3\xa9" "bcdef"},
        {"0123456789abcdef0123456789abcdef0123456789abcdef01234567\\u0041", "0123456789abcdef0123456789abcdef0123456789abcdef01234567A"},
    };
    kept_rig k;
    kept_rig_init(&k);
    km_buf b = KM_BUF_INIT;
    for (size_t i = 0; i < sizeof r / sizeof r[0]; i++) {
        km_buf_reset(&b);
        km_buf_puts(&b, "{\"eventName\":\"");
        km_buf_puts(&b, r[i].raw);
        km_buf_puts(&b, "\",\"userIdentity\":{\"arn\":\"arn:aws:iam::111122223333:user/x\"},\"awsRegion\":\"us-east-1\",\"other\":[1,2,3]}");
        int fb = 0;
        int rc = kept_vs_extract(&k, b.data, b.len, r[i].raw, &fb);
        const char *v = NULL;
        size_t vl = 0;
        int got = rc >= 0 && km_match_kept_string(k.m, k.s, k.h[2], &v, &vl);
        km_test_case(rc == 1 && !fb && got && vl == strlen(r[i].want) && memcmp(v, r[i].want, vl) == 0, "%zu bytes as written: %s",
                     strlen(r[i].raw), rc < 0 ? "refused" : !got ? "no kept value" : rc ? "same values" : "values differ");
    }
    /* a control character past the first block is refused, as the strict reader refuses it */
    km_buf_reset(&b);
    km_buf_puts(&b, "{\"eventName\":\"0123456789abcdef0123\t56789\",\"awsRegion\":\"us-east-1\",\"other\":[1,2,3,4,5,6,7,8,9]}");
    const uint32_t *ids;
    km_error err;
    km_test_case(km_matcher_match(k.m, k.s, b.data, b.len, &ids, &err) < 0, "a tab in the second block of a kept value: refused");
    km_buf_free(&b);
    kept_rig_free(&k);
}

/* The strict check of the spans the matcher skipped reads on past a span's end (within the
 * record), but a string whose closing quote lies beyond the span is not closed in it. */
TEST(extract_kept_strict_span_ends) {
    static const char text[] = "{\"a\":\"0123\",\"b\":{\"k\":\"v\",\"t\":\"x\ty\"},\"c\":1}                                ";
    static const struct { size_t start, end; int want; const char *what; } c[] = {
        {5, 11, 0, "a whole string"},
        {5, 9, 2, "a string cut before its quote"},
        {5, 10, 2, "a string cut at its quote"},
        {16, 35, 2, "an object with a tab in a string"},
        {16, 25, 2, "an object cut inside"},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        size_t span[1][2] = {{c[i].start, c[i].end}};
        km_kept_view view = {0, (const size_t(*)[2])span, 1, sizeof text - 1};
        km_extract_req req[1] = {{"eventName", KM_X_STRING, NULL, 0, 0}};
        int h[1] = {0};
        km_arena a;
        km_arena_init(&a, 0);
        int rc = km_extract_kept(text, NULL, 0, &view, req, h, 1, &a);
        km_test_case(rc == c[i].want, "%s ([%zu, %zu) '%.*s'): %d, expected %d", c[i].what, c[i].start, c[i].end,
                     (int)(c[i].end - c[i].start), text + c[i].start, rc, c[i].want);
        km_arena_free(&a);
    }
}

/* Kept fields live beside the patterns' fields: their values come with every match, a field only
 * kept matches nothing, and both survive the index rebuilds that adding many patterns triggers. */
TEST(extract_kept_fields_beside_patterns) {
    km_matcher *m = km_matcher_new();
    km_match_scratch *s = km_match_scratch_new();
    km_error err;
    CHECK_INT(km_matcher_add(m, 1, "{\"eventName\":[\"A\"]}", 19, &err), KM_OK);
    CHECK_INT(km_matcher_keep(m, "eventName", 9), 0);
    CHECK_INT(km_matcher_keep(m, "userIdentity.arn", 16), 1);
    CHECK_INT(km_matcher_keep(m, "eventName", 9), 0);
    static const char ev[] = "{\"eventName\":\"A\",\"userIdentity\":{\"arn\":\"arn:x\",\"type\":\"Root\"}}";
    for (int round = 0; round < 2; round++) {
        const uint32_t *ids;
        int n = km_matcher_match(m, s, ev, sizeof ev - 1, &ids, &err);
        CHECK_MSG(n >= 1 && ids[0] == 1, "round %d: %d matches", round, n);
        km_kept_val kv[8];
        km_kept_view view;
        int nv = km_match_kept(m, s, ev, sizeof ev - 1, kv, 8, &view);
        CHECK_INT(nv, 2);
        CHECK_INT(view.odd, 0);
        CHECK(kv[0].handle == 0 && kv[0].is_str && kv[0].len == 1 && kv[0].s[0] == 'A');
        CHECK(kv[1].handle == 1 && kv[1].is_str && kv[1].len == 5 && !memcmp(kv[1].s, "arn:x", 5));
        const char *sv;
        size_t sl;
        CHECK_INT(km_match_kept_string(m, s, 1, &sv, &sl), 1);
        CHECK(sl == 5 && !memcmp(sv, "arn:x", 5));
        CHECK_INT(km_match_kept_string(m, s, 7, &sv, &sl), 0); /* no such handle */
        /* enough patterns on other fields to rebuild the indexes (field ids move) */
        for (uint32_t i = 0; round == 0 && i < 300; i++) {
            char p[80];
            int pl = snprintf(p, sizeof p, "{\"requestParameters\":{\"k%u\":[\"v\"]}}", i);
            CHECK_INT(km_matcher_add(m, 100 + i, p, (size_t)pl, &err), KM_OK);
        }
    }
    /* a field only kept matches nothing: a pattern-less matcher with kept fields has no matches */
    km_matcher *k = km_matcher_new();
    CHECK_INT(km_matcher_keep(k, "eventName", 9), 0);
    const uint32_t *ids;
    CHECK_INT(km_matcher_match(k, s, ev, sizeof ev - 1, &ids, &err), 0);
    km_matcher_free(k);
    km_match_scratch_free(s);
    km_matcher_free(m);
}

/* The event time the thresholds' clock reads from a match: the top-level eventTime the matcher
 * kept (what the hits carry), not an earlier "eventTime" elsewhere in the text; none when it is
 * not one string. */
TEST(extract_kept_event_time) {
    km_matcher *m = km_matcher_new();
    km_match_scratch *s = km_match_scratch_new();
    CHECK_INT(km_matcher_keep(m, "eventTime", 9), 0);
    static const struct { const char *text; const char *want; } c[] = {
        {"{\"eventTime\":\"2024-05-01T10:00:00Z\"}", "2024-05-01T10:00:00Z"},
        {"{\"userIdentity\":{\"eventTime\":\"2030-01-01T00:00:00Z\"},\"eventTime\":\"2024-05-01T10:00:01Z\"}", "2024-05-01T10:00:01Z"},
        {"{\"a\":\"eventTime\",\"eventTime\":\"2024-05-01T10:00:02Z\"}", "2024-05-01T10:00:02Z"},
        {"{\"eventTime\":[\"2024-05-01T10:00:00Z\"]}", NULL},
        {"{\"eventTime\":5}", NULL},
        {"{\"x\":{\"eventTime\":\"2024-05-01T10:00:00Z\"}}", NULL},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        const uint32_t *ids;
        km_error err;
        CHECK(km_matcher_match(m, s, c[i].text, strlen(c[i].text), &ids, &err) >= 0);
        const char *v = NULL;
        size_t n = 0;
        int got = km_match_kept_string(m, s, 0, &v, &n);
        km_test_case(got == (c[i].want != NULL) && (!got || (n == strlen(c[i].want) && !memcmp(v, c[i].want, n))), "%s: %.*s",
                     c[i].text, got ? (int)n : 6, got ? v : "(none)");
    }
    km_match_scratch_free(s);
    km_matcher_free(m);
}
