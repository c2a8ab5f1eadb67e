/* YAML tree over libyaml's event parser (see yaml.h). Scalar resolution follows YAML 1.1 as
 * PyYAML's SafeLoader applies it, because that is what the Sigma ecosystem means by a rule. */
#include "sigma/yaml.h"
#include "util/arena.h"

#include <yaml.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Caps: rule files are small; these keep a hostile file from costing much. */
#define Y_MAX_NODES 1000000
#define Y_MAX_DEPTH 200
#define Y_MAX_ANCHORS 10000

struct km_ydoc {
    km_arena arena;
    km_ynode **docs;
    size_t ndocs;
};

typedef struct vec {
    void **p;
    size_t n, cap;
} vec;

static int vec_push(vec *v, void *x) {
    if (v->n == v->cap) {
        size_t nc = v->cap ? v->cap * 2 : 8;
        void **np = realloc(v->p, nc * sizeof *np);
        if (!np) return -1;
        v->p = np;
        v->cap = nc;
    }
    v->p[v->n++] = x;
    return 0;
}

typedef struct frame {
    km_ynode *node;
    vec kids; /* items, or alternating key, value for a mapping */
} frame;

typedef struct anchor {
    char *name;
    km_ynode *node;
} anchor;

/* ---- YAML 1.1 scalar resolution (PyYAML SafeLoader's implicit resolvers) ---- */

static int all_in(const char *s, size_t n, const char *set) {
    if (n == 0) return 0;
    for (size_t i = 0; i < n; i++)
        if (!strchr(set, s[i]) || s[i] == 0) return 0;
    return 1;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* Value of digits (underscores ignored) in base b. */
static double digits_value(const char *s, size_t n, int b) {
    double v = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int d;
        if (c == '_') continue;
        if (c >= '0' && c <= '9') d = c - '0';
        else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
        else return NAN;
        v = v * b + d;
    }
    return v;
}

/* [1-9][0-9_]*(:[0-5]?[0-9])+ : base 60 */
static int sexagesimal(const char *s, size_t n, int need_first_nonzero, double *out) {
    size_t i = 0;
    if (n == 0 || !is_digit(s[0]) || (need_first_nonzero && s[0] == '0')) return 0;
    while (i < n && (is_digit(s[i]) || s[i] == '_')) i++;
    double v = digits_value(s, i, 10);
    int parts = 0;
    while (i < n && s[i] == ':') {
        i++;
        size_t st = i;
        while (i < n && is_digit(s[i]) && i - st < 2) i++;
        size_t dl = i - st;
        if (dl == 0 || (dl == 2 && s[st] > '5')) return 0;
        v = v * 60 + digits_value(s + st, dl, 10);
        parts++;
        if (i < n && s[i] != ':') break;
    }
    if (parts == 0) return 0;
    *out = v;
    return (int)i; /* caller checks what follows */
}

static void resolve_plain(km_ynode *n) {
    const char *s = n->s;
    size_t len = n->len;
    n->kind = KM_YS_STR;
    if (len == 0 || (len == 1 && s[0] == '~') ||
        (len == 4 && (!memcmp(s, "null", 4) || !memcmp(s, "Null", 4) || !memcmp(s, "NULL", 4)))) {
        n->kind = KM_YS_NULL;
        return;
    }
    static const char *const yes[] = {"yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"};
    static const char *const no[] = {"no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (strlen(yes[i]) == len && !memcmp(s, yes[i], len)) { n->kind = KM_YS_BOOL; n->bool_val = 1; return; }
        if (strlen(no[i]) == len && !memcmp(s, no[i], len)) { n->kind = KM_YS_BOOL; n->bool_val = 0; return; }
    }
    size_t i = 0;
    double sign = 1;
    if (s[0] == '-' || s[0] == '+') { sign = s[0] == '-' ? -1 : 1; i = 1; }
    const char *b = s + i;
    size_t bl = len - i;
    /* integers */
    if (bl > 2 && b[0] == '0' && b[1] == 'b' && all_in(b + 2, bl - 2, "01_")) {
        n->kind = KM_YS_INT; n->num = sign * digits_value(b + 2, bl - 2, 2); return;
    }
    if (bl > 2 && b[0] == '0' && b[1] == 'x' && all_in(b + 2, bl - 2, "0123456789abcdefABCDEF_")) {
        n->kind = KM_YS_INT; n->num = sign * digits_value(b + 2, bl - 2, 16); return;
    }
    if (bl > 1 && b[0] == '0' && all_in(b + 1, bl - 1, "01234567_")) {
        n->kind = KM_YS_INT; n->num = sign * digits_value(b + 1, bl - 1, 8); return;
    }
    if ((bl == 1 && b[0] == '0') || (bl >= 1 && b[0] >= '1' && b[0] <= '9' && all_in(b, bl, "0123456789_"))) {
        n->kind = KM_YS_INT; n->num = sign * digits_value(b, bl, 10); return;
    }
    double v;
    int used = sexagesimal(b, bl, 1, &v);
    if (used > 0 && (size_t)used == bl) { n->kind = KM_YS_INT; n->num = sign * v; return; }
    /* floats: a dot is required (PyYAML does not read 1e5 as a number) */
    if ((bl == 4 && (!memcmp(b, ".inf", 4) || !memcmp(b, ".Inf", 4) || !memcmp(b, ".INF", 4)))) {
        n->kind = KM_YS_FLOAT; n->num = sign * INFINITY; return;
    }
    if (i == 0 && bl == 4 && (!memcmp(b, ".nan", 4) || !memcmp(b, ".NaN", 4) || !memcmp(b, ".NAN", 4))) {
        n->kind = KM_YS_FLOAT; n->num = NAN; return;
    }
    /* [0-9][0-9_]*\.[0-9_]*([eE][-+][0-9]+)?  or  \.[0-9_]+([eE][-+][0-9]+)? */
    size_t j = 0;
    while (j < bl && (is_digit(b[j]) || b[j] == '_')) j++;
    int lead = j > 0 && is_digit(b[0]);
    if (j < bl && b[j] == '.' && (lead || j == 0)) {
        size_t k = j + 1;
        while (k < bl && (is_digit(b[k]) || b[k] == '_')) k++;
        if (!lead && k == j + 1) return; /* "." alone, or ".e5" */
        if (k < bl && (b[k] == 'e' || b[k] == 'E')) {
            size_t e = k + 1;
            if (e < bl && (b[e] == '-' || b[e] == '+')) {
                e++;
                size_t ds = e;
                while (e < bl && is_digit(b[e])) e++;
                if (e == ds) return;
                k = e;
            } else {
                return;
            }
        }
        if (k != bl) return;
        char tmp[128];
        size_t tl = 0;
        for (size_t q = 0; q < bl && tl + 1 < sizeof tmp; q++)
            if (b[q] != '_') tmp[tl++] = b[q];
        tmp[tl] = 0;
        n->kind = KM_YS_FLOAT;
        n->num = sign * strtod(tmp, NULL);
        return;
    }
    /* sexagesimal float: [0-9][0-9_]*(:[0-5]?[0-9])+\.[0-9_]* */
    used = sexagesimal(b, bl, 0, &v);
    if (used > 0 && (size_t)used < bl && b[used] == '.' && all_in(b + used + 1, bl - used - 1, "0123456789_")) {
        n->kind = KM_YS_FLOAT; n->num = sign * v; return;
    }
    if (used > 0 && (size_t)used + 1 == bl && b[used] == '.') { n->kind = KM_YS_FLOAT; n->num = sign * v; }
}

/* Explicit tags on a scalar: the core ones are honoured, anything else is refused. */
static int resolve_tagged(km_ynode *n, const char *tag, const char **why) {
    if (!strcmp(tag, "tag:yaml.org,2002:str")) { n->kind = KM_YS_STR; return 0; }
    km_ynode t = *n;
    resolve_plain(&t);
    if (!strcmp(tag, "tag:yaml.org,2002:null")) {
        if (t.kind != KM_YS_NULL) { *why = "!!null on a value that is not null"; return -1; }
    } else if (!strcmp(tag, "tag:yaml.org,2002:bool")) {
        if (t.kind != KM_YS_BOOL) { *why = "!!bool on a value that is not a boolean"; return -1; }
    } else if (!strcmp(tag, "tag:yaml.org,2002:int")) {
        if (t.kind != KM_YS_INT) { *why = "!!int on a value that is not an integer"; return -1; }
    } else if (!strcmp(tag, "tag:yaml.org,2002:float")) {
        if (t.kind != KM_YS_FLOAT && t.kind != KM_YS_INT) { *why = "!!float on a value that is not a number"; return -1; }
        t.kind = KM_YS_FLOAT;
    } else {
        *why = "unsupported YAML tag";
        return -1;
    }
    *n = t;
    return 0;
}

static int same_key(const km_ynode *a, const km_ynode *b) {
    return a->type == KM_Y_SCALAR && b->type == KM_Y_SCALAR && a->len == b->len && !memcmp(a->s, b->s, a->len);
}

typedef struct ctx {
    km_ydoc *d;
    const char *name;
    km_error *err;
    vec stack;   /* frame* */
    vec docs;    /* km_ynode* */
    anchor *anchors;
    size_t nanchors, capanchors;
    size_t nodes;
} ctx;

static int fail(ctx *c, size_t line, size_t col, const char *fmt, const char *arg) {
    char what[300];
    snprintf(what, sizeof what, fmt, arg ? arg : "");
    return km_error_set(c->err, KM_ERR, (size_t)-1, "%s:%zu:%zu: %s", c->name, line, col, what);
}

static km_ynode *new_node(ctx *c, km_ynode_type t, const yaml_mark_t *m) {
    if (++c->nodes > Y_MAX_NODES) {
        km_error_set(c->err, KM_ELIMIT, (size_t)-1, "%s:%zu:%zu: more than %d YAML nodes", c->name,
                     (size_t)m->line + 1, (size_t)m->column + 1, Y_MAX_NODES);
        return NULL;
    }
    km_ynode *n = km_arena_alloc(&c->d->arena, sizeof *n);
    if (!n) {
        km_error_set(c->err, KM_ENOMEM, (size_t)-1, "%s: out of memory", c->name);
        return NULL;
    }
    n->type = t;
    n->line = (size_t)m->line + 1;
    n->col = (size_t)m->column + 1;
    return n;
}

static int add_anchor(ctx *c, const unsigned char *name, km_ynode *n) {
    if (!name) return 0;
    for (size_t i = 0; i < c->nanchors; i++) {
        if (!strcmp(c->anchors[i].name, (const char *)name)) { c->anchors[i].node = n; return 0; }
    }
    if (c->nanchors >= Y_MAX_ANCHORS) return fail(c, n->line, n->col, "too many YAML anchors", NULL);
    if (c->nanchors == c->capanchors) {
        size_t nc = c->capanchors ? c->capanchors * 2 : 8;
        anchor *na = realloc(c->anchors, nc * sizeof *na);
        if (!na) return km_error_set(c->err, KM_ENOMEM, (size_t)-1, "%s: out of memory", c->name);
        c->anchors = na;
        c->capanchors = nc;
    }
    char *copy = km_arena_strndup(&c->d->arena, (const char *)name, strlen((const char *)name));
    if (!copy) return km_error_set(c->err, KM_ENOMEM, (size_t)-1, "%s: out of memory", c->name);
    c->anchors[c->nanchors].name = copy;
    c->anchors[c->nanchors++].node = n;
    return 0;
}

/* Attach a finished node to the open container (or make it a document root). */
static int attach(ctx *c, km_ynode *n) {
    if (c->stack.n == 0) return vec_push(&c->docs, n) ? km_error_set(c->err, KM_ENOMEM, (size_t)-1, "out of memory") : 0;
    frame *f = c->stack.p[c->stack.n - 1];
    if (f->node->type == KM_Y_MAP && f->kids.n % 2 == 0) {
        if (n->type != KM_Y_SCALAR) return fail(c, n->line, n->col, "a mapping key must be a plain value, not %s", km_ynode_what(n));
        for (size_t i = 0; i < f->kids.n; i += 2) {
            km_ynode *k = f->kids.p[i];
            if (same_key(k, n)) {
                char msg[200];
                snprintf(msg, sizeof msg, "duplicate key '%.80s' (first at line %zu)", n->s, k->line);
                return fail(c, n->line, n->col, "%s", msg);
            }
        }
    }
    if (vec_push(&f->kids, n)) return km_error_set(c->err, KM_ENOMEM, (size_t)-1, "out of memory");
    return 0;
}

static int close_frame(ctx *c) {
    frame *f = c->stack.p[--c->stack.n];
    km_ynode *n = f->node;
    int rc = 0;
    if (n->type == KM_Y_SEQ) {
        n->n = f->kids.n;
        if (n->n) {
            n->items = km_arena_alloc(&c->d->arena, n->n * sizeof *n->items);
            if (!n->items) rc = km_error_set(c->err, KM_ENOMEM, (size_t)-1, "out of memory");
            else memcpy(n->items, f->kids.p, n->n * sizeof *n->items);
        }
    } else {
        n->n = f->kids.n / 2;
        if (n->n) {
            n->pairs = km_arena_alloc(&c->d->arena, n->n * sizeof *n->pairs);
            if (!n->pairs) rc = km_error_set(c->err, KM_ENOMEM, (size_t)-1, "out of memory");
            else
                for (size_t i = 0; i < n->n; i++) {
                    n->pairs[i].key = f->kids.p[2 * i];
                    n->pairs[i].value = f->kids.p[2 * i + 1];
                }
        }
    }
    free(f->kids.p);
    free(f);
    if (rc) return rc;
    return attach(c, n);
}

static int open_frame(ctx *c, km_ynode *n) {
    if (c->stack.n >= Y_MAX_DEPTH) return fail(c, n->line, n->col, "nesting deeper than %s levels", "200");
    frame *f = calloc(1, sizeof *f);
    if (!f || vec_push(&c->stack, f)) {
        free(f);
        return km_error_set(c->err, KM_ENOMEM, (size_t)-1, "out of memory");
    }
    f->node = n;
    return 0;
}

static int on_event(ctx *c, yaml_event_t *ev) {
    const yaml_mark_t *m = &ev->start_mark;
    km_ynode *n;
    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        c->nanchors = 0; /* anchors do not cross documents */
        return 0;
    case YAML_SCALAR_EVENT: {
        n = new_node(c, KM_Y_SCALAR, m);
        if (!n) return KM_ERR;
        n->len = ev->data.scalar.length;
        n->s = km_arena_strndup(&c->d->arena, (const char *)ev->data.scalar.value, n->len);
        if (!n->s) return km_error_set(c->err, KM_ENOMEM, (size_t)-1, "out of memory");
        n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        const char *tag = (const char *)ev->data.scalar.tag;
        if (tag && strcmp(tag, "!")) {
            const char *why = NULL;
            if (resolve_tagged(n, tag, &why)) {
                char msg[300];
                snprintf(msg, sizeof msg, "%s (%.100s)", why, tag);
                return fail(c, n->line, n->col, "%s", msg);
            }
        } else if (n->plain && ev->data.scalar.plain_implicit) {
            resolve_plain(n);
        }
        if (add_anchor(c, ev->data.scalar.anchor, n)) return KM_ERR;
        return attach(c, n);
    }
    case YAML_ALIAS_EVENT: {
        const char *name = (const char *)ev->data.alias.anchor;
        for (size_t i = c->nanchors; i-- > 0;)
            if (!strcmp(c->anchors[i].name, name)) return attach(c, c->anchors[i].node);
        return fail(c, (size_t)m->line + 1, (size_t)m->column + 1, "unknown alias '*%.100s'", name);
    }
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        int seq = ev->type == YAML_SEQUENCE_START_EVENT;
        const char *tag = (const char *)(seq ? ev->data.sequence_start.tag : ev->data.mapping_start.tag);
        const unsigned char *anc = seq ? ev->data.sequence_start.anchor : ev->data.mapping_start.anchor;
        n = new_node(c, seq ? KM_Y_SEQ : KM_Y_MAP, m);
        if (!n) return KM_ERR;
        if (tag && strcmp(tag, seq ? "tag:yaml.org,2002:seq" : "tag:yaml.org,2002:map") && strcmp(tag, "!"))
            return fail(c, n->line, n->col, "unsupported YAML tag (%.100s)", tag);
        /* The anchor is registered at the start so that a (recursive) alias inside is an error:
         * the node has no children yet and the alias would make a cycle. */
        if (open_frame(c, n)) return KM_ERR;
        (void)anc;
        return 0;
    }
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT: {
        if (c->stack.n == 0) return fail(c, (size_t)m->line + 1, (size_t)m->column + 1, "unbalanced YAML%s", NULL);
        return close_frame(c);
    }
    default:
        return 0;
    }
}

km_ydoc *km_yaml_parse(const char *text, size_t len, const char *name, km_error *err) {
    km_error_clear(err);
    ctx c;
    memset(&c, 0, sizeof c);
    c.name = name ? name : "<yaml>";
    c.err = err;
    c.d = calloc(1, sizeof *c.d);
    if (!c.d) {
        km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
        return NULL;
    }
    km_arena_init(&c.d->arena, 0);
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) {
        km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
        free(c.d);
        return NULL;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    int rc = 0, done = 0;
    /* Anchors on collections are bound when the collection closes, so remember them per frame. */
    vec pending_anchor_names = {0}, pending_anchor_frames = {0};
    while (!done && rc == 0) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            size_t line = (size_t)p.problem_mark.line + 1, col = (size_t)p.problem_mark.column + 1;
            km_error_set(err, KM_ERR, (size_t)-1, "%s:%zu:%zu: YAML syntax error: %s%s%s", c.name, line, col,
                         p.problem ? p.problem : "unknown problem", p.context ? " " : "",
                         p.context ? p.context : "");
            rc = KM_ERR;
            break;
        }
        if (ev.type == YAML_STREAM_END_EVENT) done = 1;
        const unsigned char *anc = NULL;
        if (ev.type == YAML_SEQUENCE_START_EVENT) anc = ev.data.sequence_start.anchor;
        if (ev.type == YAML_MAPPING_START_EVENT) anc = ev.data.mapping_start.anchor;
        size_t depth_before = c.stack.n;
        rc = on_event(&c, &ev);
        if (rc == 0 && anc && c.stack.n == depth_before + 1) {
            char *copy = strdup((const char *)anc);
            if (!copy || vec_push(&pending_anchor_names, copy)) {
                free(copy);
                rc = km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
            } else if (vec_push(&pending_anchor_frames, c.stack.p[c.stack.n - 1])) {
                /* the name is already in the list, which the cleanup below frees: take it back
                 * out rather than free it here too (a double free when the second push failed) */
                free(pending_anchor_names.p[--pending_anchor_names.n]);
                rc = km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
            }
        }
        if (rc == 0 && (ev.type == YAML_SEQUENCE_END_EVENT || ev.type == YAML_MAPPING_END_EVENT)) {
            /* the node just closed is the last child of the parent or the last document */
            km_ynode *closed = NULL;
            if (c.stack.n == 0) closed = c.docs.n ? c.docs.p[c.docs.n - 1] : NULL;
            else {
                frame *f = c.stack.p[c.stack.n - 1];
                closed = f->kids.n ? f->kids.p[f->kids.n - 1] : NULL;
            }
            /* bind the innermost pending anchor whose frame is gone */
            while (pending_anchor_frames.n > 0) {
                frame *pf = pending_anchor_frames.p[pending_anchor_frames.n - 1];
                int still_open = 0;
                for (size_t i = 0; i < c.stack.n; i++)
                    if (c.stack.p[i] == pf) still_open = 1;
                if (still_open) break;
                char *nm = pending_anchor_names.p[--pending_anchor_names.n];
                pending_anchor_frames.n--;
                if (closed) rc = add_anchor(&c, (const unsigned char *)nm, closed);
                free(nm);
                if (rc) break;
            }
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    for (size_t i = 0; i < pending_anchor_names.n; i++) free(pending_anchor_names.p[i]);
    free(pending_anchor_names.p);
    free(pending_anchor_frames.p);
    while (c.stack.n) {
        frame *f = c.stack.p[--c.stack.n];
        free(f->kids.p);
        free(f);
    }
    free(c.stack.p);
    free(c.anchors);
    if (rc == 0) {
        c.d->ndocs = c.docs.n;
        if (c.docs.n) {
            c.d->docs = km_arena_alloc(&c.d->arena, c.docs.n * sizeof *c.d->docs);
            if (!c.d->docs) rc = km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
            else memcpy(c.d->docs, c.docs.p, c.docs.n * sizeof *c.d->docs);
        }
    }
    free(c.docs.p);
    if (rc) {
        km_ydoc_free(c.d);
        return NULL;
    }
    return c.d;
}

void km_ydoc_free(km_ydoc *d) {
    if (!d) return;
    km_arena_free(&d->arena);
    free(d);
}

size_t km_ydoc_count(const km_ydoc *d) { return d ? d->ndocs : 0; }

const km_ynode *km_ydoc_root(const km_ydoc *d, size_t i) { return d && i < d->ndocs ? d->docs[i] : NULL; }

const km_ynode *km_ymap_get(const km_ynode *map, const char *key) {
    if (!map || map->type != KM_Y_MAP) return NULL;
    size_t kl = strlen(key);
    for (size_t i = 0; i < map->n; i++) {
        const km_ynode *k = map->pairs[i].key;
        if (k->type == KM_Y_SCALAR && k->len == kl && !memcmp(k->s, key, kl)) return map->pairs[i].value;
    }
    return NULL;
}

int km_yscalar_is(const km_ynode *n, const char *s) {
    return n && n->type == KM_Y_SCALAR && n->kind == KM_YS_STR && n->len == strlen(s) && !memcmp(n->s, s, n->len);
}

const char *km_ynode_what(const km_ynode *n) {
    if (!n) return "nothing";
    if (n->type == KM_Y_SEQ) return "a list";
    if (n->type == KM_Y_MAP) return "a mapping";
    switch (n->kind) {
    case KM_YS_NULL: return "null";
    case KM_YS_BOOL: return "a boolean";
    case KM_YS_INT: return "an integer";
    case KM_YS_FLOAT: return "a number";
    default: return "a string";
    }
}
