#include "audit/commands.h"
#include "audit/util.h"
#include "util/embedded.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "service operation": the service is copied (freed with the set), op points into s. */
static int split_call(const char *s, const char **svc, const char **op) {
    const char *sp = strchr(s, ' ');
    if (!sp || sp == s || !sp[1]) return -1;
    size_t l = (size_t)(sp - s);
    char *c = malloc(l + 1);
    if (!c) return -1;
    memcpy(c, s, l);
    c[l] = 0;
    *svc = c;
    *op = sp + 1;
    return 0;
}

int km_cmdset_load(km_cmdset *set, const char *text, size_t len, km_error *err) {
    memset(set, 0, sizeof *set);
    if (!text) {
        for (const km_embedded_file *f = km_builtin_checks; f->name; f++)
            if (km_str_ends(f->name, "collect/commands.json")) { text = f->data; len = f->len; }
        if (!text) return km_error_set(err, KM_ERR, (size_t)-1, "the built-in command list is missing");
    }
    set->doc = km_json_parse(text, len, NULL, NULL, err);
    if (!set->doc) {
        km_error_prefix(err, "checks/collect/commands.json");
        return KM_ERR;
    }
    const km_json *cmds = km_json_get(km_json_root(set->doc), "commands");
    size_t n = km_json_len(cmds);
    if (!km_json_is(cmds, KM_JSON_ARRAY) || n == 0) {
        km_cmdset_free(set);
        return km_error_set(err, KM_ERR, 0, "checks/collect/commands.json: no \"commands\" array");
    }
    set->cmds = calloc(n, sizeof *set->cmds);
    if (!set->cmds) { km_cmdset_free(set); return km_error_set(err, KM_ENOMEM, 0, "out of memory"); }
    for (size_t i = 0; i < n; i++) {
        const km_json *c = km_json_at(cmds, i);
        km_cmd *k = &set->cmds[i];
        set->n = i + 1;
        k->service = km_json_get_str(c, "service", NULL);
        k->op = km_json_get_str(c, "operation", NULL);
        const char *scope = km_json_get_str(c, "scope", "regional");
        if (!k->service || !k->op || (strcmp(scope, "global") && strcmp(scope, "regional"))) {
            size_t off = c->offset;
            km_cmdset_free(set);
            return km_error_set(err, KM_ERR, off,
                                "checks/collect/commands.json: command %zu at byte %zu needs service, "
                                "operation and scope global or regional", i, off);
        }
        k->global = strcmp(scope, "global") == 0;
        k->args = km_json_get(c, "args");
        k->absent = km_json_get(c, "absent");
        k->retry = km_json_get(c, "retry");
        k->iam = km_json_get(c, "iam");
        k->after = km_json_get(c, "after");
        k->empty = km_json_get_str(c, "empty", NULL);
        k->store = km_json_truth(km_json_get(c, "store")) != 0;
        const km_json *fe = km_json_get(c, "for_each");
        if (fe) {
            k->nsources = km_json_len(fe);
            k->sources = calloc(k->nsources ? k->nsources : 1, sizeof *k->sources);
            if (!k->sources) { km_cmdset_free(set); return km_error_set(err, KM_ENOMEM, 0, "out of memory"); }
            for (size_t j = 0; j < k->nsources; j++) {
                const km_json *s = km_json_at(fe, j);
                km_cmd_source *src = &k->sources[j];
                const char *from = km_json_get_str(s, "from", NULL);
                src->items = km_json_get_str(s, "items", NULL);
                src->key = km_json_get_str(s, "key", NULL);
                src->where = km_json_get(s, "where");
                if (!from || !src->items || !src->key ||
                    split_call(from, &src->from_service, &src->from_op)) {
                    size_t off = s ? s->offset : 0;
                    /* harden helper: the message first; k and its strings die with set (they
                     * were read after the free, found by the allocation-failure runs) */
                    km_error_set(err, KM_ERR, off,
                                 "checks/collect/commands.json: for_each of %s %s at byte %zu "
                                 "needs from (\"service operation\"), items and key",
                                 k->service, k->op, off);
                    km_cmdset_free(set);
                    return KM_ERR;
                }
            }
        }
    }
    /* Dependency levels: a per-resource call runs after the calls it reads. Calls that read
     * themselves (list-parents walking up the tree) are repeated by collect. */
    for (int round = 0; round < 16; round++) {
        int changed = 0;
        for (size_t i = 0; i < set->n; i++) {
            km_cmd *k = &set->cmds[i];
            for (size_t j = 0; j < km_json_len(k->after); j++) {
                char buf[128];
                snprintf(buf, sizeof buf, "%s", km_json_str(km_json_at(k->after, j)) ? km_json_str(km_json_at(k->after, j)) : "");
                char *sp = strchr(buf, ' ');
                if (!sp) continue;
                *sp = 0;
                const km_cmd *dep = km_cmdset_find(set, buf, sp + 1);
                if (dep && dep != k && dep->level + 1 > k->level) { k->level = dep->level + 1; changed = 1; }
            }
            for (size_t j = 0; j < k->nsources; j++) {
                const km_cmd *dep = km_cmdset_find(set, k->sources[j].from_service, k->sources[j].from_op);
                if (!dep || dep == k) continue;
                if (dep->level + 1 > k->level) { k->level = dep->level + 1; changed = 1; }
            }
        }
        if (!changed) break;
    }
    return KM_OK;
}

void km_cmdset_free(km_cmdset *set) {
    if (!set) return;
    for (size_t i = 0; set->cmds && i < set->n; i++) {
        /* sources is NULL when its allocation failed after nsources was set */
        for (size_t j = 0; set->cmds[i].sources && j < set->cmds[i].nsources; j++)
            free((void *)set->cmds[i].sources[j].from_service);
        free(set->cmds[i].sources);
    }
    free(set->cmds);
    km_json_doc_free(set->doc);
    memset(set, 0, sizeof *set);
}

static km_cmdset builtin;
static int builtin_ok;
static pthread_once_t builtin_once = PTHREAD_ONCE_INIT;

static void builtin_free(void) { km_cmdset_free(&builtin); }

static void builtin_init(void) {
    km_error err;
    if (km_cmdset_load(&builtin, NULL, 0, &err) == KM_OK) {
        builtin_ok = 1;
        atexit(builtin_free);
    }
}

const km_cmdset *km_cmdset_builtin(void) {
    pthread_once(&builtin_once, builtin_init);
    return builtin_ok ? &builtin : NULL;
}

const km_cmd *km_cmdset_find(const km_cmdset *set, const char *service, const char *op) {
    if (!set || !service || !op) return NULL;
    for (size_t i = 0; i < set->n; i++)
        if (!strcmp(set->cmds[i].service, service) && !strcmp(set->cmds[i].op, op)) return &set->cmds[i];
    return NULL;
}

static int listed(const km_json *list, const char *code, const char *message) {
    for (size_t i = 0; i < km_json_len(list); i++) {
        const char *e = km_json_str(km_json_at(list, i));
        if (!e) continue;
        const char *colon = strchr(e, ':');
        size_t cl = colon ? (size_t)(colon - e) : strlen(e);
        if (strlen(code) != cl || strncmp(code, e, cl) != 0) continue;
        if (!colon) return 1;
        if (message && strstr(message, colon + 1)) return 1;
    }
    return 0;
}

km_errclass km_classify_error(const char *service, const char *op, const char *code, const char *message) {
    if (!code) return KM_ERRCLASS_OTHER;
    /* The same code can mean either thing depending on the call (AccessDeniedException is
     * Macie's way of saying "not enabled"), so the call's own list wins. A call may appear
     * several times (two scopes): any of its entries counts. */
    const km_cmdset *set = km_cmdset_builtin();
    if (set && service && op) {
        for (size_t i = 0; i < set->n; i++) {
            const km_cmd *k = &set->cmds[i];
            if (!strcmp(k->service, service) && !strcmp(k->op, op) && listed(k->absent, code, message))
                return KM_ERRCLASS_ABSENT;
        }
    }
    static const char *const denied[] = {
        "AccessDenied", "UnauthorizedOperation", "Unauthorized", "AuthorizationError", "AuthFailure",
        "Forbidden", "InvalidClientTokenId", "SignatureDoesNotMatch", "ExpiredToken",
        "UnrecognizedClientException", "OptInRequired", "InvalidIdentityToken",
        "MissingAuthenticationToken", "SubscriptionRequiredException", "NotAuthorized", NULL};
    for (const char *const *d = denied; *d; d++)
        if (strstr(code, *d)) return KM_ERRCLASS_DENIED;
    if (km_str_starts(code, "NoSuch") || strstr(code, "NotFound") ||
        km_str_ends(code, "NotInUseException") || !strcmp(code, "WAFNonexistentItemException"))
        return KM_ERRCLASS_ABSENT;
    return KM_ERRCLASS_OTHER;
}
