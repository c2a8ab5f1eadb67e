/* Rule files (docs/rules.md): loading, validation and the built-in pack. Every message names the
 * file and line:column of the value at fault, so a user can fix a rule without guessing. */
#include "kumomori/rules.h"
#include "util/limits.h"
#include "kumomori/json.h"
#include "util/arena.h"
#include "util/embedded.h"
#include "util/walk.h"
#include "rules/internal.h"
#include "match/internal.h" /* KM_PATTERN_MAX_BYTES, KM_PATTERN_MAX_DEPTH: km_pattern_near_limits */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define RULE_FILE_MAX ((size_t)16 << 20)

struct km_ruleset {
    km_arena arena;     /* every string, array and example of every rule */
    km_rule *rules;
    size_t n, cap;
    uint32_t *index;    /* open addressing over rule ids: slot holds rule index + 1, 0 = empty */
    size_t index_cap;
    char **errors;
    size_t nerrors, errors_cap;
    char **warnings;
    size_t nwarnings, warnings_cap;
    unsigned bare_seq;   /* numbering of made-up ids when two bare patterns share a name */
    km_sigma_set *sigma; /* sigma helper: YAML rules, turned into rules by km_ruleset_finish */
    /* [i]: pattern rule i's pattern as compiled at load, kept for the first matcher built, which
     * takes it (NULL: compiled from r->pattern); as long as rules (cap entries) */
    km_pattern **compiled;
};

static const char *const sev_names[] = {"info", "low", "medium", "high", "critical"};

const char *km_severity_name(km_severity s) {
    return (unsigned)s < 5 ? sev_names[s] : "?";
}

int km_severity_parse(const char *s, km_severity *out) {
    for (int i = 0; i < 5; i++)
        if (s && strcasecmp(s, sev_names[i]) == 0) { *out = (km_severity)i; return 0; }
    if (s && strcasecmp(s, "informational") == 0) { *out = KM_SEV_INFO; return 0; }
    return -1;
}

static const char *const scenario_titles[KM_SCENARIO_COUNT] = {
    "application vulnerability", "credential leak", "misconfiguration", "insider",
    "supply chain", "database and backups", "log and monitoring tampering",
};

const char *km_scenario_title(int n) {
    return n >= 1 && n <= KM_SCENARIO_COUNT ? scenario_titles[n - 1] : "";
}

km_ruleset *km_ruleset_new(void) {
    km_ruleset *rs = calloc(1, sizeof *rs);
    if (rs) km_arena_init(&rs->arena, 0);
    return rs;
}

void km_ruleset_free(km_ruleset *rs) {
    if (!rs) return;
    km_arena_free(&rs->arena);
    km_sigma_set_free(rs->sigma); /* sigma helper */
    for (size_t i = 0; rs->compiled && i < rs->n; i++) km_pattern_free(rs->compiled[i]);
    free(rs->compiled);
    free(rs->rules);
    free(rs->index);
    for (size_t i = 0; i < rs->nerrors; i++) free(rs->errors[i]);
    free(rs->errors);
    for (size_t i = 0; i < rs->nwarnings; i++) free(rs->warnings[i]);
    free(rs->warnings);
    free(rs);
}

size_t km_ruleset_count(const km_ruleset *rs) { return rs ? rs->n : 0; }

const km_rule *km_ruleset_get(const km_ruleset *rs, size_t i) {
    return rs && i < rs->n ? &rs->rules[i] : NULL;
}

size_t km_ruleset_error_count(const km_ruleset *rs) { return rs ? rs->nerrors : 0; }

const char *km_ruleset_error(const km_ruleset *rs, size_t i) {
    return rs && i < rs->nerrors ? rs->errors[i] : NULL;
}

static uint64_t hash_str(const char *s) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static long index_find(const km_ruleset *rs, const char *id) {
    if (!rs->index_cap) return -1;
    size_t mask = rs->index_cap - 1;
    for (size_t i = hash_str(id) & mask;; i = (i + 1) & mask) {
        uint32_t v = rs->index[i];
        if (!v) return -1;
        if (strcmp(rs->rules[v - 1].id, id) == 0) return (long)(v - 1);
    }
}

static int index_put(km_ruleset *rs, size_t rule) {
    if ((rs->n + 1) * 2 > rs->index_cap) {
        size_t ncap = rs->index_cap ? rs->index_cap * 2 : 256;
        uint32_t *ni = calloc(ncap, sizeof *ni);
        if (!ni) return -1;
        for (size_t i = 0; i < rs->index_cap; i++) {
            uint32_t v = rs->index[i];
            if (!v) continue;
            size_t j = hash_str(rs->rules[v - 1].id) & (ncap - 1);
            while (ni[j]) j = (j + 1) & (ncap - 1);
            ni[j] = v;
        }
        free(rs->index);
        rs->index = ni;
        rs->index_cap = ncap;
    }
    size_t j = hash_str(rs->rules[rule].id) & (rs->index_cap - 1);
    while (rs->index[j]) j = (j + 1) & (rs->index_cap - 1);
    rs->index[j] = (uint32_t)rule + 1;
    return 0;
}

const km_rule *km_ruleset_find(const km_ruleset *rs, const char *id) {
    if (!rs || !id) return NULL;
    long i = index_find(rs, id);
    return i < 0 ? NULL : &rs->rules[i];
}

static void keep_warning(km_ruleset *rs, const char *msg) {
    if (rs->nwarnings == rs->warnings_cap) {
        size_t ncap = rs->warnings_cap ? rs->warnings_cap * 2 : 8;
        char **p = realloc(rs->warnings, ncap * sizeof *p);
        if (!p) return;
        rs->warnings = p;
        rs->warnings_cap = ncap;
    }
    char *s = strdup(msg);
    if (s) rs->warnings[rs->nwarnings++] = s;
}

size_t km_ruleset_warning_count(const km_ruleset *rs) { return rs ? rs->nwarnings : 0; }

const char *km_ruleset_warning(const km_ruleset *rs, size_t i) {
    return rs && i < rs->nwarnings ? rs->warnings[i] : NULL;
}

static void keep_error(km_ruleset *rs, const km_error *e) {
    if (rs->nerrors == rs->errors_cap) {
        size_t ncap = rs->errors_cap ? rs->errors_cap * 2 : 16;
        char **p = realloc(rs->errors, ncap * sizeof *p);
        if (!p) return;
        rs->errors = p;
        rs->errors_cap = ncap;
    }
    char *s = strdup(e->msg);
    if (s) rs->errors[rs->nerrors++] = s;
}

/* ---- validation helpers: each sets err to "name:line:col: message" ---- */

typedef struct loadctx {
    km_ruleset *rs;
    const char *name;
    const char *text;
    size_t len;
    km_error *err;
    km_pattern **compiled; /* the file's rule's compiled pattern until add_loaded takes it; the
                            * copies of a loadctx share it, km_ruleset_add_text frees what is left */
    size_t line_off, line_no; /* line_of: the line of byte line_off (0: none counted yet) */
} loadctx;

/* The 1-based line of byte off, counted on from the byte last asked for: a rule's examples come in
 * file order, and counting each one's line from the start of the file (km_json_line_col) was a
 * sixth of loading the built-in pack (10.2 M of 55.5 M instructions, callgrind). */
static size_t line_of(loadctx *c, size_t off) {
    if (off > c->len) off = c->len;
    if (!c->line_no || off < c->line_off) {
        c->line_off = 0;
        c->line_no = 1;
    }
    const char *end = c->text + off;
    for (const char *p = c->text + c->line_off; (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++) c->line_no++;
    c->line_off = off;
    return c->line_no;
}

static int bad(loadctx *c, size_t off, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(loadctx *c, size_t off, const char *fmt, ...) {
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t line, col;
    km_json_line_col(c->text, c->len, off, &line, &col);
    return km_error_set(c->err, KM_ERR, off, "%s:%zu:%zu: %s", c->name, line, col, msg);
}

static const km_json *need(loadctx *c, const km_json *root, const char *key, km_json_type t) {
    const km_json *v = km_json_get(root, key);
    if (!v) { bad(c, root->offset, "missing required field \"%s\"", key); return NULL; }
    if (v->type != t) {
        bad(c, v->offset, "\"%s\" must be %s %s, not %s", key, t == KM_JSON_ARRAY || t == KM_JSON_OBJECT ? "an" : "a",
            km_json_type_name(t), km_json_type_name(v->type));
        return NULL;
    }
    return v;
}

static const char *need_text(loadctx *c, const km_json *root, const char *key) {
    const km_json *v = need(c, root, key, KM_JSON_STRING);
    if (!v) return NULL;
    if (v->u.str.len == 0) { bad(c, v->offset, "\"%s\" must not be empty", key); return NULL; }
    if (strlen(v->u.str.s) != v->u.str.len) { bad(c, v->offset, "\"%s\" contains a NUL character", key); return NULL; }
    return km_arena_strndup(&c->rs->arena, v->u.str.s, v->u.str.len);
}

/* KM- followed by upper-case words and digits joined by '-'. */
static int valid_rule_id(const char *s) {
    if (strncmp(s, "KM-", 3) != 0) return 0;
    s += 3;
    int word = 0;
    for (; *s; s++) {
        if ((*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')) word++;
        else if (*s == '-' && word) word = 0;
        else return 0;
    }
    return word > 0;
}

/* T1234 or T1234.567 */
static int valid_technique(const char *s) {
    if (s[0] != 'T') return 0;
    for (int i = 1; i <= 4; i++)
        if (s[i] < '0' || s[i] > '9') return 0;
    if (s[5] == 0) return 1;
    if (s[5] != '.') return 0;
    for (int i = 6; i <= 8; i++)
        if (s[i] < '0' || s[i] > '9') return 0;
    return s[9] == 0;
}

static int string_list(loadctx *c, const km_json *arr, const char *key, const char ***out, size_t *n,
                       int (*valid)(const char *), const char *what) {
    size_t k = km_json_len(arr);
    const char **list = k ? km_arena_alloc(&c->rs->arena, k * sizeof *list) : NULL;
    if (k && !list) return km_error_set(c->err, KM_ENOMEM, 0, "%s: out of memory", c->name);
    for (size_t i = 0; i < k; i++) {
        const km_json *v = km_json_at(arr, i);
        if (v->type != KM_JSON_STRING || v->u.str.len == 0)
            return bad(c, v->offset, "\"%s\" entries must be non-empty strings", key);
        if (valid && !valid(v->u.str.s))
            return bad(c, v->offset, "\"%s\" entry \"%s\" is not %s", key, v->u.str.s, what);
        list[i] = km_arena_strndup(&c->rs->arena, v->u.str.s, v->u.str.len);
        if (!list[i]) return km_error_set(c->err, KM_ENOMEM, 0, "%s: out of memory", c->name);
    }
    *out = list;
    *n = k;
    return KM_OK;
}

static int load_examples(loadctx *c, const km_json *ex, km_rule *r) {
    const km_json *m = need(c, ex, "match", KM_JSON_ARRAY);
    if (!m) return KM_ERR;
    const km_json *nm = need(c, ex, "no_match", KM_JSON_ARRAY);
    if (!nm) return KM_ERR;
    if (km_json_len(m) == 0) return bad(c, m->offset, "\"examples.match\" needs at least one record");
    if (km_json_len(nm) == 0) return bad(c, nm->offset, "\"examples.no_match\" needs at least one record");
    size_t total = km_json_len(m) + km_json_len(nm);
    r->examples = km_arena_alloc(&c->rs->arena, total * sizeof *r->examples);
    if (!r->examples) return km_error_set(c->err, KM_ENOMEM, 0, "%s: out of memory", c->name);
    km_buf b;
    km_buf_init(&b, RULE_FILE_MAX);
    for (int pass = 0; pass < 2; pass++) {
        const km_json *arr = pass == 0 ? m : nm;
        for (size_t i = 0; i < km_json_len(arr); i++) {
            const km_json *v = km_json_at(arr, i);
            if (v->type != KM_JSON_OBJECT) {
                km_buf_free(&b);
                return bad(c, v->offset, "example records must be JSON objects (CloudTrail records), not %s",
                           km_json_type_name(v->type));
            }
            km_buf_reset(&b);
            if (km_json_write(&b, v)) {
                km_buf_free(&b);
                return km_error_set(c->err, KM_ENOMEM, 0, "%s: out of memory", c->name);
            }
            km_rule_example *e = &r->examples[r->nexamples++];
            e->json = km_arena_strndup(&c->rs->arena, b.data, b.len);
            e->len = b.len;
            e->should_match = pass == 0;
            e->line = line_of(c, v->offset);
            if (!e->json) {
                km_buf_free(&b);
                return km_error_set(c->err, KM_ENOMEM, 0, "%s: out of memory", c->name);
            }
        }
    }
    km_buf_free(&b);
    return KM_OK;
}

/* JSON nesting (objects and arrays) of v deeper than limit. */
static int nested_over(const km_json *v, size_t limit) {
    if (limit == 0) return v->type == KM_JSON_OBJECT || v->type == KM_JSON_ARRAY;
    if (v->type == KM_JSON_OBJECT) {
        for (size_t i = 0; i < v->u.obj.n; i++)
            if (nested_over(v->u.obj.members[i].value, limit - 1)) return 1;
    } else if (v->type == KM_JSON_ARRAY) {
        for (size_t i = 0; i < v->u.arr.n; i++)
            if (nested_over(v->u.arr.items[i], limit - 1)) return 1;
    }
    return 0;
}

int km_pattern_near_limits(const km_json *pattern, size_t written_len) {
    /* a quarter of the matcher's depth is far from the rewrite's one level (and deeper than any
     * real pattern) */
    return written_len > KM_PATTERN_MAX_BYTES || nested_over(pattern, KM_PATTERN_MAX_DEPTH / 4);
}

/* The pattern as written in the file compiled; on an error, reported with its position in the
 * file (KM_ERR), else 0. */
static int check_written(loadctx *c, const km_json *p) {
    km_error perr;
    km_error_clear(&perr);
    if (km_pattern_check(c->text + p->offset, p->end - p->offset, &perr) == KM_OK) return 0;
    size_t off = perr.offset != (size_t)-1 ? p->offset + perr.offset : p->offset;
    if (off > p->end) off = p->offset;
    return bad(c, off, "invalid pattern: %s", perr.msg);
}

static int load_pattern(loadctx *c, const km_json *p, km_rule *r) {
    if (p->type != KM_JSON_OBJECT)
        return bad(c, p->offset, "\"pattern\" must be an object (an EventBridge event pattern)");
    km_error perr;
    km_error_clear(&perr);
    /* An invalid pattern is reported as written, so that the position in the message is the
     * file's: the written form is compiled first near the limits, else only when the rewrite or
     * the rewritten form fails (one compilation per valid pattern, not two). */
    int careful = km_pattern_near_limits(p, p->end - p->offset);
    if (careful && check_written(c, p)) return KM_ERR;
    km_buf b;
    km_buf_init(&b, RULE_FILE_MAX);
    if (km_json_write(&b, p)) {
        km_buf_free(&b);
        return km_error_set(c->err, KM_ENOMEM, 0, "%s: out of memory", c->name);
    }
    r->pattern_written = km_arena_strndup(&c->rs->arena, b.data, b.len);
    km_buf_reset(&b);
    km_error_clear(&perr);
    km_error never;
    if (km_pattern_rewrite_value(p, &b, &r->eventbridge_form, &never, &perr) != KM_OK) {
        km_buf_free(&b);
        if (!careful && check_written(c, p)) return KM_ERR;
        size_t off = perr.offset != (size_t)-1 ? perr.offset : p->offset;
        return bad(c, off, "%s", perr.msg);
    }
    km_error_clear(&perr);
    km_pattern *cp = km_pattern_compile(b.data, b.len, 0, &perr);
    if (!cp) {
        if (!careful && check_written(c, p)) {
            km_buf_free(&b);
            return KM_ERR;
        }
        bad(c, p->offset, "the pattern rewritten onto the CloudTrail record (%.200s) is invalid: %s",
            b.data, perr.msg);
        km_buf_free(&b);
        return KM_ERR;
    }
    /* what km_ruleset_matcher would compile from r->pattern: the first matcher takes it */
    km_pattern_free(*c->compiled);
    *c->compiled = cp;
    r->pattern = km_arena_strndup(&c->rs->arena, b.data, b.len);
    r->pattern_len = b.len;
    km_buf_free(&b);
    if (never.code != KM_OK) {
        km_error pos;
        km_error_clear(&pos);
        loadctx w = *c;
        w.err = &pos;
        size_t off = never.offset != (size_t)-1 ? never.offset : p->offset;
        bad(&w, off, "%s", never.msg);
        r->never_matches = km_arena_strndup(&c->rs->arena, pos.msg, strlen(pos.msg));
        if (!r->never_matches) return km_error_set(c->err, KM_ENOMEM, 0, "%s: out of memory", c->name);
    }
    if (!r->pattern || !r->pattern_written)
        return km_error_set(c->err, KM_ENOMEM, 0, "%s: out of memory", c->name);
    return KM_OK;
}

/* ---- bare EventBridge patterns ----
 * A user's existing EventBridge rule is a pattern without kumomori's metadata: the file holds the
 * pattern itself (what `aws events put-rule --event-pattern` takes) or the output of
 * `aws events describe-rule`. It loads as a rule whose id, title, severity and scenario are made
 * up as docs/rules.md says, so existing detections run unchanged. */

static int is_pattern_key(const char *k) {
    static const char *const keys[] = {"source", "detail-type", "detail", "account", "region", "resources",
                                       "version", "id", "time", "$or"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (strcmp(k, keys[i]) == 0) return 1;
    return 0;
}

/* An object using only EventBridge envelope keys, at least one of source/detail-type/detail. */
static int looks_like_bare_pattern(const km_json *root) {
    if (root->type != KM_JSON_OBJECT || root->u.obj.n == 0) return 0;
    int core = 0;
    for (size_t i = 0; i < root->u.obj.n; i++) {
        const km_json_member *m = &root->u.obj.members[i];
        if (!is_pattern_key(m->key)) return 0;
        if (!strcmp(m->key, "source") || !strcmp(m->key, "detail-type") || !strcmp(m->key, "detail") ||
            !strcmp(m->key, "$or"))
            core = 1;
    }
    /* an "id" holding a string is more likely a rule file missing its other fields */
    const km_json *id = km_json_get(root, "id");
    return core && !(id && id->type == KM_JSON_STRING);
}

/* The scenario a made-up rule is filed under, from the service the pattern names (the strategy's
 * grouping: identity -> credential leak, data and backups -> S6, logging and monitoring -> S7). */
static int scenario_for_service(const char *svc) {
    static const struct { const char *svc; int scenario; } map[] = {
        {"iam", 2}, {"sts", 2}, {"signin", 2}, {"sso", 2}, {"organizations", 2}, {"secretsmanager", 2},
        {"s3", 6}, {"rds", 6}, {"backup", 6}, {"dynamodb", 6}, {"kms", 6}, {"elasticfilesystem", 6},
        {"ec2", 3}, {"elasticloadbalancing", 3}, {"wafv2", 1}, {"ecr", 5}, {"ecs", 4}, {"eks", 4}, {"lambda", 4},
        {"cloudtrail", 7}, {"logs", 7}, {"guardduty", 7}, {"config", 7}, {"securityhub", 7}, {"events", 7},
        {"monitoring", 7}, {"cloudwatch", 7},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(svc, map[i].svc) == 0) return map[i].scenario;
    return 0;
}

/* The first service named by detail.eventSource ("iam.amazonaws.com") or source ("aws.iam"). */
static int bare_scenario(const km_json *p) {
    const km_json *d = km_json_get(km_json_get(p, "detail"), "eventSource");
    for (size_t i = 0; d && i < km_json_len(d); i++) {
        const char *s = km_json_str(km_json_at(d, i));
        const char *dot = s ? strchr(s, '.') : NULL;
        if (!dot || (size_t)(dot - s) >= 64) continue;
        char svc[64];
        snprintf(svc, sizeof svc, "%.*s", (int)(dot - s), s);
        int sc = scenario_for_service(svc);
        if (sc) return sc;
    }
    const km_json *src = km_json_get(p, "source");
    for (size_t i = 0; src && i < km_json_len(src); i++) {
        const char *s = km_json_str(km_json_at(src, i));
        if (!s || strncmp(s, "aws.", 4) != 0) continue;
        int sc = scenario_for_service(s + 4);
        if (sc) return sc;
    }
    const km_json *or = km_json_get(p, "$or");
    for (size_t i = 0; or && i < km_json_len(or); i++) {
        int sc = bare_scenario(km_json_at(or, i));
        if (sc) return sc;
    }
    return 7; /* the strategy files its EventBridge monitoring rules under S7 */
}

/* KM-EB- and the name in upper case, other characters turned into single '-'. */
static const char *bare_id(km_ruleset *rs, const char *name) {
    char id[96];
    size_t n = (size_t)snprintf(id, sizeof id, "KM-EB-");
    int dash = 1;
    for (const char *p = name; *p && n < 80; p++) {
        char ch = *p;
        if (ch >= 'a' && ch <= 'z') ch = (char)(ch - 'a' + 'A');
        if ((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')) {
            id[n++] = ch;
            dash = 0;
        } else if (!dash) {
            id[n++] = '-';
            dash = 1;
        }
    }
    while (n > 6 && id[n - 1] == '-') n--;
    if (n == 6) n += (size_t)snprintf(id + n, sizeof id - n, "PATTERN");
    id[n] = 0;
    if (index_find(rs, id) >= 0) {
        char more[112];
        do snprintf(more, sizeof more, "%s-%u", id, ++rs->bare_seq + 1);
        while (index_find(rs, more) >= 0);
        return km_arena_strndup(&rs->arena, more, strlen(more));
    }
    return km_arena_strndup(&rs->arena, id, n);
}

static int add_loaded(loadctx *c, km_rule *r);

static int load_bare(loadctx *c, const km_json *root, int builtin) {
    km_ruleset *rs = c->rs;
    km_rule r;
    memset(&r, 0, sizeof r);
    r.builtin = builtin;
    r.bare_pattern = 1;
    r.file = km_arena_strndup(&rs->arena, c->name, strlen(c->name));
    const km_json *ep = km_json_get(root, "EventPattern");
    const char *rname = km_json_str(km_json_get(root, "Name"));
    const char *rdesc = km_json_str(km_json_get(root, "Description"));
    km_json_doc *inner = NULL;
    const km_json *pat = root;
    loadctx pc = *c;
    char where[600];
    if (ep) {
        /* describe-rule: the pattern is a JSON document inside a string */
        if (ep->type != KM_JSON_STRING) return bad(c, ep->offset, "\"EventPattern\" must be a string holding the pattern");
        snprintf(where, sizeof where, "%s (EventPattern)", c->name);
        pc.name = where;
        pc.text = ep->u.str.s;
        pc.len = ep->u.str.len;
        km_error perr;
        inner = km_json_parse(ep->u.str.s, ep->u.str.len, NULL, NULL, &perr);
        if (!inner) {
            size_t off = perr.offset == (size_t)-1 ? 0 : perr.offset;
            return bad(&pc, off, "%s", perr.msg);
        }
        pat = km_json_root(inner);
    }
    const char *base = strrchr(c->name, '/');
    base = base ? base + 1 : c->name;
    char stem[200];
    snprintf(stem, sizeof stem, "%s", base);
    char *dot = strrchr(stem, '.');
    if (dot && dot != stem) *dot = 0;
    r.id = bare_id(rs, rname && *rname ? rname : stem);
    char buf[512];
    snprintf(buf, sizeof buf, "EventBridge rule %s", rname && *rname ? rname : stem);
    r.title = km_arena_strndup(&rs->arena, buf, strlen(buf));
    if (rdesc && *rdesc) r.description = km_arena_strndup(&rs->arena, rdesc, strlen(rdesc));
    else {
        snprintf(buf, sizeof buf, "An event the EventBridge pattern in %s matches.", base);
        r.description = km_arena_strndup(&rs->arena, buf, strlen(buf));
    }
    static const char resp[] = "Review the event. This rule is a bare EventBridge pattern: write it as a kumomori rule "
                               "(docs/rules.md) to give it a severity, scenarios and a response.";
    r.response = resp;
    r.severity = KM_SEV_MEDIUM;
    r.primary_scenario = bare_scenario(pat);
    r.scenarios = KM_SCENARIO_BIT(r.primary_scenario);
    int rc = load_pattern(&pc, pat, &r);
    km_json_doc_free(inner);
    if (rc) return rc;
    if (!r.file || !r.id || !r.title || !r.description)
        return km_error_set(c->err, KM_ENOMEM, 0, "%s: out of memory", c->name);
    return add_loaded(c, &r);
}

static int load_rule(loadctx *c, const km_json *root, int builtin) {
    km_ruleset *rs = c->rs;
    if (root->type != KM_JSON_OBJECT)
        return bad(c, root->offset, "a rule file holds one JSON object, not %s", km_json_type_name(root->type));
    /* sigma helper: thresholds and correlations (docs/stateful.md) are read by src/rules/stateful.c */
    if (km_json_get(root, "threshold") || km_json_get(root, "correlation"))
        return km_stateful_load_json(rs, c->name, c->text, c->len, root, builtin, c->err);
    if (!km_json_get(root, "pattern") && (km_json_get(root, "EventPattern") || looks_like_bare_pattern(root)))
        return load_bare(c, root, builtin);
    km_rule r;
    memset(&r, 0, sizeof r);
    r.builtin = builtin;
    r.file = km_arena_strndup(&rs->arena, c->name, strlen(c->name));
    if (!(r.id = need_text(c, root, "id"))) return KM_ERR;
    const km_json *idv = km_json_get(root, "id");
    if (!valid_rule_id(r.id))
        return bad(c, idv->offset, "rule id \"%s\" must be KM- followed by upper-case words or digits joined by '-' (e.g. KM-S3-SSEC-REENCRYPT)", r.id);
    long dup = index_find(rs, r.id);
    if (dup >= 0) return bad(c, idv->offset, "duplicate rule id \"%s\" (already loaded from %s)", r.id, rs->rules[dup].file);
    if (!(r.title = need_text(c, root, "title"))) return KM_ERR;
    if (!(r.description = need_text(c, root, "description"))) return KM_ERR;
    if (!(r.response = need_text(c, root, "response"))) return KM_ERR;
    const km_json *sev = need(c, root, "severity", KM_JSON_STRING);
    if (!sev) return KM_ERR;
    if (km_severity_parse(sev->u.str.s, &r.severity))
        return bad(c, sev->offset, "\"severity\" must be one of critical, high, medium, low, info (not \"%s\")", sev->u.str.s);
    const km_json *sc = need(c, root, "scenarios", KM_JSON_ARRAY);
    if (!sc) return KM_ERR;
    if (km_json_len(sc) == 0) return bad(c, sc->offset, "\"scenarios\" needs at least one of S1..S7");
    for (size_t i = 0; i < km_json_len(sc); i++) {
        const km_json *v = km_json_at(sc, i);
        const char *s = km_json_str(v);
        if (!s || s[0] != 'S' || s[1] < '1' || s[1] > '0' + KM_SCENARIO_COUNT || s[2] != 0)
            return bad(c, v->offset, "\"scenarios\" entries must be scenario ids S1..S7 (see README), not %s%s%s",
                       s ? "\"" : "", s ? s : km_json_type_name(v->type), s ? "\"" : "");
        r.scenarios |= KM_SCENARIO_BIT(s[1] - '0');
        if (!r.primary_scenario) r.primary_scenario = s[1] - '0';
    }
    const km_json *mitre = need(c, root, "mitre", KM_JSON_ARRAY);
    if (!mitre) return KM_ERR;
    if (string_list(c, mitre, "mitre", &r.mitre, &r.nmitre, valid_technique, "a MITRE ATT&CK technique id (T1234 or T1234.567)"))
        return KM_ERR;
    const km_json *refs = km_json_get(root, "references");
    if (refs) {
        if (refs->type != KM_JSON_ARRAY) return bad(c, refs->offset, "\"references\" must be an array of URLs");
        if (string_list(c, refs, "references", &r.references, &r.nreferences, NULL, NULL)) return KM_ERR;
    }
    const km_json *pat = km_json_get(root, "pattern");
    if (!pat) return bad(c, root->offset, "missing required field \"pattern\"");
    if (load_pattern(c, pat, &r)) return KM_ERR;
    const km_json *ex = need(c, root, "examples", KM_JSON_OBJECT);
    if (!ex) return KM_ERR;
    if (load_examples(c, ex, &r)) return KM_ERR;
    if (!r.file || !r.title || !r.description || !r.response)
        return km_error_set(c->err, KM_ENOMEM, 0, "%s: out of memory", c->name);
    return add_loaded(c, &r);
}

/* Room for more rules (and their compiled patterns). 0, or -1 out of memory. */
static int grow_rules(km_ruleset *rs) {
    size_t ncap = rs->cap ? rs->cap * 2 : 64;
    km_rule *p = realloc(rs->rules, ncap * sizeof *p);
    if (!p) return -1;
    rs->rules = p;
    km_pattern **q = realloc(rs->compiled, ncap * sizeof *q);
    if (!q) return -1; /* rules has grown, cap not yet: the next call grows compiled again */
    for (size_t i = rs->cap; i < ncap; i++) q[i] = NULL;
    rs->compiled = q;
    rs->cap = ncap;
    return 0;
}

static int add_loaded(loadctx *c, km_rule *rp) {
    km_ruleset *rs = c->rs;
    km_rule r = *rp;
    /* A copy the loader made into the arena and did not check (a title, a reference, an example)
     * is NULL when memory ran out: the arena remembers, and the rule is not added (the sarif
     * writer was handed a NULL reference at allocation N = 299 of detect-builtin) */
    if (rs->arena.failed) return km_error_set(c->err, KM_ENOMEM, 0, "%s: out of memory", c->name);
    if (rs->n >= km_limit(KM_LIMIT_RULES, 100000)) /* harden helper */
        return km_error_set(c->err, KM_ELIMIT, 0, "%s: more than the limit of %zu rules (--limit rules)", c->name,
                            km_limit(KM_LIMIT_RULES, 100000));
    if (rs->n == rs->cap && grow_rules(rs)) return km_error_set(c->err, KM_ENOMEM, 0, "%s: out of memory", c->name);
    rs->rules[rs->n] = r;
    if (index_put(rs, rs->n)) return km_error_set(c->err, KM_ENOMEM, 0, "%s: out of memory", c->name);
    rs->compiled[rs->n] = *c->compiled;
    *c->compiled = NULL;
    rs->n++;
    if (r.never_matches) {
        char msg[1200];
        snprintf(msg, sizeof msg, "%s (rule %s is loaded but will raise no alert)", r.never_matches, r.id);
        keep_warning(rs, msg);
    }
    return KM_OK;
}

int km_ruleset_add_text(km_ruleset *rs, const char *name, const char *text, size_t len, int builtin,
                        km_error *err) {
    km_error local;
    if (!err) err = &local;
    km_error_clear(err);
    km_pattern *compiled = NULL;
    loadctx c = {rs, name, text, len, err, &compiled, 0, 0};
    km_json_opts opts = {0};
    opts.max_string = RULE_FILE_MAX;
    km_error perr;
    km_json_doc *doc = km_json_parse(text, len, &opts, NULL, &perr);
    int rc;
    if (!doc) {
        size_t line, col;
        size_t off = perr.offset == (size_t)-1 ? 0 : perr.offset;
        km_json_line_col(text, len, off, &line, &col);
        rc = km_error_set(err, KM_ERR, off, "%s:%zu:%zu: %s", name, line, col, perr.msg);
    } else {
        rc = load_rule(&c, km_json_root(doc), builtin);
    }
    km_json_doc_free(doc);
    km_pattern_free(compiled); /* a rule that failed after its pattern compiled */
    if (rc != KM_OK) keep_error(rs, err);
    return rc;
}

static int has_suffix(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

int km_ruleset_add_builtin(km_ruleset *rs, km_error *err) {
    int rc = KM_OK;
    km_error e;
    for (const km_embedded_file *f = km_builtin_rules; f->name; f++) {
        if (!has_suffix(f->name, ".json")) continue; /* YAML (Sigma) rules are not read here */
        if (km_ruleset_add_text(rs, f->name, f->data, f->len, 1, &e) != KM_OK && rc == KM_OK) {
            rc = KM_ERR;
            if (err) *err = e;
        }
    }
    return rc;
}

typedef struct walkctx {
    km_ruleset *rs;
    km_error *err;
    int rc;
    int explicit_file;
} walkctx;

static void walk_fail(walkctx *w, const km_error *e) {
    if (w->rc == KM_OK) {
        w->rc = KM_ERR;
        if (w->err) *w->err = *e;
    }
}

static int on_rule_file(void *ctx, const char *path, int errnum) {
    walkctx *w = ctx;
    km_error e;
    if (errnum) {
        km_error_set(&e, KM_ERR, (size_t)-1, "%s: cannot read: %s", path, strerror(errnum));
        keep_error(w->rs, &e);
        walk_fail(w, &e);
        return 0;
    }
    /* sigma helper: Sigma rules (YAML) and thresholds written as an Athena query (.sql) */
    if (has_suffix(path, ".yml") || has_suffix(path, ".yaml")) {
        if (!w->rs->sigma && !(w->rs->sigma = km_sigma_set_new())) {
            km_error_set(&e, KM_ENOMEM, (size_t)-1, "%s: out of memory", path);
            walk_fail(w, &e);
            return 0;
        }
        /* the Sigma set keeps its own messages; km_ruleset_finish copies them */
        if (km_sigma_set_add_path(w->rs->sigma, path, &e) != KM_OK) walk_fail(w, &e);
        return 0;
    }
    if (has_suffix(path, ".sql")) {
        size_t qlen;
        char *q = km_read_file(path, RULE_FILE_MAX, &qlen, &e);
        if (!q || km_stateful_load_sql(w->rs, path, q, qlen, 0, &e) != KM_OK) {
            keep_error(w->rs, &e);
            walk_fail(w, &e);
        }
        free(q);
        return 0;
    }
    if (!has_suffix(path, ".json")) {
        if (!w->explicit_file) return 0; /* README files and the like beside the rules */
        km_error_set(&e, KM_ERR, (size_t)-1,
                     "%s: not a JSON rule file (rules are JSON, see docs/rules.md)", path);
        keep_error(w->rs, &e);
        walk_fail(w, &e);
        return 0;
    }
    size_t len;
    char *text = km_read_file(path, RULE_FILE_MAX, &len, &e);
    if (!text) {
        keep_error(w->rs, &e);
        walk_fail(w, &e);
        return 0;
    }
    if (km_ruleset_add_text(w->rs, path, text, len, 0, &e) != KM_OK) walk_fail(w, &e);
    free(text);
    return 0;
}

int km_ruleset_add_path(km_ruleset *rs, const char *path, km_error *err) {
    walkctx w = {rs, err, KM_OK, 0};
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISDIR(st.st_mode)) w.explicit_file = 1;
    km_walk(path, on_rule_file, &w);
    return w.rc;
}

km_matcher *km_ruleset_matcher(const km_ruleset *rs, km_error *err) {
    return km_ruleset_matcher_select(rs, NULL, NULL, err);
}

km_matcher *km_ruleset_matcher_select(const km_ruleset *rs, int (*keep)(const km_rule *r, void *ctx),
                                      void *ctx, km_error *err) {
    km_matcher *m = km_matcher_new();
    if (!m) {
        km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
        return NULL;
    }
    for (size_t i = 0; rs && i < rs->n; i++) {
        const km_rule *r = &rs->rules[i];
        if (keep && !keep(r, ctx)) continue;
        /* sigma helper: a Sigma rule adds its necessary patterns (the program evaluates it after);
         * thresholds and correlations have none (they read other rules' matches) */
        if (r->kind == KM_RULE_SIGMA) {
            for (size_t k = 0; k < r->npatterns; k++)
                if (km_matcher_add_flags(m, (uint32_t)i, r->patterns[k], strlen(r->patterns[k]), KM_PATTERN_KM_OPS, err) != KM_OK) {
                    km_error_prefix(err, "%s (%s)", r->file, r->id);
                    km_matcher_free(m);
                    return NULL;
                }
            continue;
        }
        if (r->kind != KM_RULE_PATTERN || r->never_matches) continue;
        /* the loader's compilation once (rs->compiled points to memory that is not const) */
        km_pattern *cp = rs->compiled ? rs->compiled[i] : NULL;
        if (cp) rs->compiled[i] = NULL;
        if ((cp ? km_matcher_add_compiled(m, (uint32_t)i, cp, err)
                : km_matcher_add(m, (uint32_t)i, r->pattern, r->pattern_len, err)) != KM_OK) {
            km_error_prefix(err, "%s (%s)", r->file, r->id);
            km_matcher_free(m);
            return NULL;
        }
    }
    return m;
}

/* ---- sigma helper: rules added from outside the JSON loader ---- */

static const char *cp_str(km_ruleset *rs, const char *s, int *oom) {
    if (!s) return NULL;
    const char *c = km_arena_strndup(&rs->arena, s, strlen(s));
    if (!c) *oom = 1;
    return c;
}

static const char **cp_strs(km_ruleset *rs, const char *const *v, size_t n, int *oom) {
    if (!v || !n) return NULL;
    const char **c = km_arena_alloc(&rs->arena, n * sizeof *c);
    if (!c) {
        *oom = 1;
        return NULL;
    }
    for (size_t i = 0; i < n; i++) c[i] = cp_str(rs, v[i], oom);
    return c;
}

int km_ruleset_add_rule(km_ruleset *rs, const km_rule *src, km_error *err) {
    if (!src->id) return km_error_set(err, KM_ERR, (size_t)-1, "%s: a rule without an id", src->file ? src->file : "?");
    long dup = index_find(rs, src->id);
    if (dup >= 0)
        return km_error_set(err, KM_ERR, (size_t)-1, "%s: duplicate rule id \"%s\" (already loaded from %s)",
                            src->file ? src->file : "?", src->id, rs->rules[dup].file);
    km_rule r = *src;
    int oom = 0;
    r.id = cp_str(rs, src->id, &oom);
    r.title = cp_str(rs, src->title, &oom);
    r.description = cp_str(rs, src->description ? src->description : "", &oom);
    r.response = cp_str(rs, src->response ? src->response : "", &oom);
    r.file = cp_str(rs, src->file, &oom);
    r.mitre = cp_strs(rs, (const char *const *)src->mitre, src->nmitre, &oom);
    r.references = cp_strs(rs, (const char *const *)src->references, src->nreferences, &oom);
    r.pattern_written = cp_str(rs, src->pattern_written, &oom);
    r.pattern = cp_str(rs, src->pattern, &oom);
    r.patterns = cp_strs(rs, src->patterns, src->npatterns, &oom);
    r.inputs = cp_strs(rs, src->inputs, src->ninputs, &oom);
    r.group_by = cp_strs(rs, src->group_by, src->ngroup, &oom);
    r.value_field = cp_str(rs, src->value_field, &oom);
    r.query = cp_str(rs, src->query, &oom);
    r.differ_field = cp_str(rs, src->differ_field, &oom);
    if (src->group_fields && src->ngroup && src->ninputs) {
        const char **gf = km_arena_alloc(&rs->arena, src->ngroup * src->ninputs * sizeof *gf);
        if (!gf) oom = 1;
        for (size_t k = 0; gf && k < src->ngroup * src->ninputs; k++) gf[k] = cp_str(rs, src->group_fields[k], &oom);
        r.group_fields = gf;
    }
    if (src->nexamples) {
        km_rule_example *ex = km_arena_alloc(&rs->arena, src->nexamples * sizeof *ex);
        if (!ex) oom = 1;
        for (size_t k = 0; ex && k < src->nexamples; k++) {
            ex[k] = src->examples[k];
            ex[k].json = km_arena_strndup(&rs->arena, src->examples[k].json, src->examples[k].len);
            if (!ex[k].json) oom = 1;
        }
        r.examples = ex;
    }
    if (oom) return km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
    if (rs->n >= km_limit(KM_LIMIT_RULES, 100000)) /* harden helper */
        return km_error_set(err, KM_ELIMIT, (size_t)-1, "more than the limit of %zu rules (--limit rules)",
                            km_limit(KM_LIMIT_RULES, 100000));
    if (rs->n == rs->cap && grow_rules(rs)) return km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
    rs->rules[rs->n] = r;
    if (index_put(rs, rs->n)) return km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
    rs->compiled[rs->n] = NULL; /* compiled from r.pattern when a matcher is built */
    rs->n++;
    return KM_OK;
}

void km_ruleset_add_error(km_ruleset *rs, const char *msg) {
    km_error e;
    km_error_set(&e, KM_ERR, (size_t)-1, "%s", msg);
    keep_error(rs, &e);
}

km_sigma_set *km_ruleset_sigma(const km_ruleset *rs) { return rs ? rs->sigma : NULL; }

int km_ruleset_sigma_placeholder(km_ruleset *rs, const char *name, const char *const *values, size_t n, km_error *err) {
    if (!rs->sigma && !(rs->sigma = km_sigma_set_new())) return km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
    return km_sigma_set_placeholder(rs->sigma, name, values, n, err);
}

int km_ruleset_has_extensions(const km_ruleset *rs) {
    for (size_t i = 0; rs && i < rs->n; i++)
        if (rs->rules[i].kind != KM_RULE_PATTERN || rs->rules[i].hidden) return 1;
    return 0;
}
