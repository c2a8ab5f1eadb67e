#include "audit/evpattern.h"
#include "audit/util.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static int value_eq(const km_json *p, const km_json *v) {
    if (!v) return p->type == KM_JSON_NULL ? 0 : 0;
    if (p->type != v->type) {
        /* numbers compare by value */
        return 0;
    }
    switch (p->type) {
    case KM_JSON_STRING: return !strcmp(p->u.str.s, v->u.str.s);
    case KM_JSON_NUMBER: return p->u.num.d == v->u.num.d;
    default: return 1; /* null, true, false */
    }
}

static int match_operator(const km_json *op, const km_json *v, int depth);

/* One element of a pattern's value list against one event value (v may be NULL: absent). */
static int match_element(const km_json *p, const km_json *v, int depth) {
    if (p->type == KM_JSON_OBJECT) return match_operator(p, v, depth);
    if (!v) return 0;
    return value_eq(p, v);
}

static int any_element(const km_json *list, const km_json *v, int depth) {
    if (list->type != KM_JSON_ARRAY) return match_element(list, v, depth);
    for (size_t i = 0; i < list->u.arr.n; i++)
        if (match_element(list->u.arr.items[i], v, depth)) return 1;
    return 0;
}

static int match_operator(const km_json *op, const km_json *v, int depth) {
    if (depth > 16 || op->u.obj.n != 1) return 0;
    const char *k = op->u.obj.members[0].key;
    const km_json *a = op->u.obj.members[0].value;
    const char *s = v && v->type == KM_JSON_STRING ? v->u.str.s : NULL;
    if (!strcmp(k, "exists")) return (km_json_truth(a) == 1) == (v != NULL);
    if (!v) return 0;
    if (!strcmp(k, "prefix")) {
        if (a->type == KM_JSON_OBJECT) {
            const char *ic = km_json_get_str(a, "equals-ignore-case", NULL);
            return s && ic && !strncasecmp(s, ic, strlen(ic));
        }
        return s && a->type == KM_JSON_STRING && km_str_starts(s, a->u.str.s);
    }
    if (!strcmp(k, "suffix")) {
        if (a->type == KM_JSON_OBJECT) {
            const char *ic = km_json_get_str(a, "equals-ignore-case", NULL);
            size_t sl = s ? strlen(s) : 0, il = ic ? strlen(ic) : 0;
            return s && ic && sl >= il && !strcasecmp(s + sl - il, ic);
        }
        return s && a->type == KM_JSON_STRING && km_str_ends(s, a->u.str.s);
    }
    if (!strcmp(k, "equals-ignore-case")) return s && a->type == KM_JSON_STRING && !strcasecmp(s, a->u.str.s);
    if (!strcmp(k, "wildcard")) return s && a->type == KM_JSON_STRING && km_glob(a->u.str.s, s);
    if (!strcmp(k, "anything-but")) {
        if (a->type == KM_JSON_OBJECT) return !match_operator(a, v, depth + 1);
        return !any_element(a, v, depth + 1);
    }
    return 0; /* numeric, cidr and unknown operators do not match a string */
}

static int match_obj(const km_json *pat, const km_json *ev, const char *path, char *why, size_t whyn, int depth) {
    if (depth > 16 || pat->type != KM_JSON_OBJECT) return 0;
    for (size_t i = 0; i < pat->u.obj.n; i++) {
        const char *k = pat->u.obj.members[i].key;
        const km_json *pv = pat->u.obj.members[i].value;
        char sub[256];
        snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "." : "", k);
        if (!strcmp(k, "$or")) {
            int any = 0;
            for (size_t j = 0; j < km_json_len(pv) && !any; j++)
                any = match_obj(km_json_at(pv, j), ev, path, NULL, 0, depth + 1);
            if (!any) {
                if (why) snprintf(why, whyn, "%s", *path ? path : "$or");
                return 0;
            }
            continue;
        }
        const km_json *evv = ev && ev->type == KM_JSON_OBJECT ? km_json_get(ev, k) : NULL;
        int ok;
        if (pv->type == KM_JSON_OBJECT) {
            ok = evv && evv->type == KM_JSON_OBJECT && match_obj(pv, evv, sub, why, whyn, depth + 1);
            if (!ok && why && !*why) snprintf(why, whyn, "%s", sub);
            if (!ok) return 0;
            continue;
        }
        if (evv && evv->type == KM_JSON_ARRAY) {
            ok = 0;
            for (size_t j = 0; j < evv->u.arr.n && !ok; j++) ok = any_element(pv, evv->u.arr.items[j], depth);
        } else {
            ok = any_element(pv, evv, depth);
        }
        if (!ok) {
            if (why) snprintf(why, whyn, "%s", sub);
            return 0;
        }
    }
    return 1;
}

int km_evpattern_match(const km_json *pattern, const km_json *event, char *why, size_t whyn) {
    if (why && whyn) why[0] = 0;
    return match_obj(pattern, event, "", why, whyn, 0);
}
