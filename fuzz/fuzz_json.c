/* Fuzz target: the JSON DOM parser (src/json/json.c) on untrusted text, with the options picked
 * by the first byte. Properties checked besides "no crash, no leak": every value's byte range
 * lies inside the text and inside its parent's, an error's offset is inside the text, and
 * writing a parsed document then parsing and writing it again gives the same bytes. */
#include "fuzz.h"
#include "kumomori/json.h"

#include <string.h>

static void check_ranges(const km_json *v, size_t lo, size_t hi, size_t depth) {
    KM_FUZZ_CHECK("json", v->offset >= lo && v->offset < v->end && v->end <= hi,
                  "value range %zu..%zu outside %zu..%zu", v->offset, v->end, lo, hi);
    if (depth > 600) return;
    if (v->type == KM_JSON_ARRAY) {
        for (size_t i = 0; i < v->u.arr.n; i++) check_ranges(v->u.arr.items[i], v->offset, v->end, depth + 1);
    } else if (v->type == KM_JSON_OBJECT) {
        for (size_t i = 0; i < v->u.obj.n; i++) {
            const km_json_member *m = &v->u.obj.members[i];
            KM_FUZZ_CHECK("json", m->key && strlen(m->key) <= m->key_len, "key length");
            check_ranges(m->value, v->offset, v->end, depth + 1);
        }
    } else if (v->type == KM_JSON_STRING) {
        KM_FUZZ_CHECK("json", v->u.str.s && v->u.str.s[v->u.str.len] == 0, "string not NUL-terminated");
    }
}

KM_FUZZ_TARGET(json) {
    km_fuzz_in in = {data, size};
    uint8_t flags = km_fuzz_byte(&in);
    km_json_opts o;
    memset(&o, 0, sizeof o);
    if (flags & 1) o.max_depth = 1 + (flags >> 4);
    if (flags & 2) o.max_string = 1 + (flags >> 3);
    o.allow_trailing = (flags & 4) != 0;
    o.replace_invalid_utf8 = (flags & 8) != 0;
    const char *text = (const char *)in.p;
    size_t len = in.n, consumed = 0;
    km_error err;
    km_json_doc *doc = km_json_parse(text, len, &o, &consumed, &err);
    if (!doc) {
        KM_FUZZ_CHECK("json", err.offset == (size_t)-1 || err.offset <= len, "error offset %zu past %zu",
                      err.offset, len);
        KM_FUZZ_CHECK("json", err.msg[0] != 0, "error without a message");
        size_t line, col;
        km_json_line_col(text, len, err.offset == (size_t)-1 ? 0 : err.offset, &line, &col);
        return 0;
    }
    KM_FUZZ_CHECK("json", consumed <= len, "consumed %zu of %zu", consumed, len);
    const km_json *root = km_json_root(doc);
    check_ranges(root, 0, len, 0);
    (void)km_json_path(root, "a.b.c");
    (void)km_json_get_str(root, "eventName", NULL);
    (void)km_json_at(root, 0);

    km_buf w1 = KM_BUF_INIT, w2 = KM_BUF_INIT;
    if (km_json_write(&w1, root) == 0) {
        km_json_opts o2 = o;
        o2.allow_trailing = 0;
        o2.replace_invalid_utf8 = 0; /* the writer's output must be valid as it is */
        km_json_doc *d2 = km_json_parse(w1.data, w1.len, &o2, NULL, &err);
        KM_FUZZ_CHECK("json", d2 != NULL, "written output does not parse: %s", err.msg);
        if (d2) {
            KM_FUZZ_CHECK("json", km_json_write(&w2, km_json_root(d2)) == 0, "second write failed");
            KM_FUZZ_CHECK("json", w1.len == w2.len && !memcmp(w1.data, w2.data, w1.len),
                          "write(parse(write(x))) differs from write(x)");
        }
        km_json_doc_free(d2);
    }
    km_buf_free(&w1);
    km_buf_free(&w2);
    km_json_doc_free(doc);
    return 0;
}
