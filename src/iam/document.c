/* Finding the policy document inside what AWS CLI commands print, and decoding documents that
 * arrive as strings (JSON text in "Policy": "..." fields, or URL-encoded JSON from the raw IAM
 * API). */
#include "iam/document.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const km_json *iam_find_policy_value(const km_json *root, const char **wrapper) {
    const char *w = "";
    const km_json *v = NULL;
    if (!root) return NULL;
    if (root->type == KM_JSON_STRING) {
        v = root;
        w = "string";
    } else if (root->type != KM_JSON_OBJECT) {
        return NULL;
    } else if (km_json_get(root, "Statement")) {
        v = root;
        w = "document";
    } else if ((v = km_json_path(root, "PolicyVersion.Document"))) {
        w = "PolicyVersion.Document";
    } else if ((v = km_json_get(root, "Policy"))) {
        if (v->type == KM_JSON_OBJECT) {
            const km_json *c = km_json_get(v, "Content");
            if (c) {
                v = c;
                w = "Policy.Content";
            } else if (km_json_get(v, "Statement")) {
                w = "Policy";
            } else {
                v = NULL;
            }
        } else {
            w = "Policy";
        }
    } else if ((v = km_json_get(root, "PolicyDocument"))) {
        w = "PolicyDocument";
    } else if ((v = km_json_path(root, "Role.AssumeRolePolicyDocument"))) {
        w = "Role.AssumeRolePolicyDocument";
    } else if ((v = km_json_get(root, "AssumeRolePolicyDocument"))) {
        w = "AssumeRolePolicyDocument";
    } else if ((v = km_json_get(root, "ResourcePolicy"))) {
        w = "ResourcePolicy";
    } else if ((v = km_json_get(root, "policyText"))) {
        w = "policyText";
    } else if ((v = km_json_path(root, "Attributes.Policy"))) {
        w = "Attributes.Policy";
    } else if ((v = km_json_get(root, "Document"))) {
        w = "Document";
    } else if ((v = km_json_get(root, "KeyPolicy"))) {
        w = "KeyPolicy";
    }
    if (wrapper) *wrapper = w;
    return v;
}

static int hexd(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* RFC 3986 percent-decoding into a new NUL-terminated buffer. */
static char *url_decode(const char *s, size_t n, size_t *out_len) {
    char *d = malloc(n + 1);
    if (!d) return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n + 0 && hexd(s[i + 1]) >= 0 && hexd(s[i + 2]) >= 0) {
            d[k++] = (char)(hexd(s[i + 1]) * 16 + hexd(s[i + 2]));
            i += 2;
        } else {
            d[k++] = s[i];
        }
    }
    d[k] = 0;
    *out_len = k;
    return d;
}

km_iam_policy *iam_policy_from_value(const km_json *v, const char *text, size_t len,
                                     km_iam_policy_kind kind, const char *name, km_error *err) {
    if (!v) {
        km_error_set(err, KM_ERR, (size_t)-1, "no policy document found (expected a policy, or AWS CLI "
                     "output such as {\"Policy\": ...} or {\"PolicyVersion\": {\"Document\": ...}})");
        return NULL;
    }
    if (v->type != KM_JSON_STRING) return km_iam_policy_from_json(v, text, len, kind, name, err);
    const char *s = v->u.str.s;
    size_t n = v->u.str.len;
    size_t i = 0;
    while (i < n && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r')) i++;
    char *decoded = NULL;
    if (i < n && s[i] == '%') {
        size_t dn;
        decoded = url_decode(s, n, &dn);
        if (!decoded) {
            km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
            return NULL;
        }
        s = decoded;
        n = dn;
    }
    km_iam_policy *p = km_iam_policy_parse(s, n, kind, name, err);
    if (!p && err) {
        char pre[160];
        if (text) {
            size_t line, col;
            km_json_line_col(text, len, v->offset, &line, &col);
            snprintf(pre, sizeof pre, "in the policy string at byte %zu (line %zu, column %zu)%s", v->offset,
                     line, col, decoded ? " (URL-decoded)" : "");
        } else {
            snprintf(pre, sizeof pre, "in the policy string%s", decoded ? " (URL-decoded)" : "");
        }
        km_error_prefix(err, "%s", pre);
    }
    free(decoded);
    return p;
}

km_iam_policy *km_iam_policy_parse_document(const char *text, size_t len, km_iam_policy_kind kind,
                                            const char *name, km_error *err) {
    if (!text) {
        km_error_set(err, KM_ERR, (size_t)-1, "no policy text");
        return NULL;
    }
    km_json_opts o = {.max_depth = 128};
    km_json_doc *doc = km_json_parse(text, len, &o, NULL, err);
    if (!doc) return NULL;
    const char *w = NULL;
    const km_json *v = iam_find_policy_value(km_json_root(doc), &w);
    km_iam_policy *p = iam_policy_from_value(v, text, len, kind, name, err);
    km_json_doc_free(doc);
    return p;
}
