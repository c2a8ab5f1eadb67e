/* EventBridge pattern compiler: JSON text -> km_pattern (sub-rules of fields of value matchers).
 * It follows event-ruler's JsonRuleCompiler (the library behind EventBridge), reading members in
 * document order: a field seen twice keeps the last list ("overriding"), `$or` forks every
 * sub-rule built so far into one copy per branch, and reasons for rejecting a pattern use the
 * texts AWS returns ("prefix match pattern must be a string", ...). Each message also says where:
 * the JSON path inside the pattern and the byte offset. */
#include "match/internal.h"
#include "kumomori/match.h"
#include "kumomori/buf.h"
#include "kumomori/json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A sub-rule under construction: field name -> field, last put wins. */
typedef struct bfield {
    km_str name;
    km_vm *vms;
    size_t nvm;
    int absent;
    size_t rank; /* the name's place in Java's order among the pattern's names (equal names, equal ranks) */
} bfield;

typedef struct bmap {
    bfield **f;
    size_t n, cap;
} bmap;

typedef struct blist {
    bmap **m;
    size_t n, cap;
} blist;

typedef struct cc {
    km_pattern *pat;
    km_arena tmp; /* maps under construction */
    km_error *err;
    km_buf path;  /* JSON path for messages: $.detail.state[0] */
    km_buf name;  /* dotted field path */
    size_t nsteps; /* object keys pushed onto name */
    int failed;
    int km_ops;   /* KM_PATTERN_KM_OPS: kumomori's own operators are allowed */
    bfield **all; /* every field made (in tmp), to rank their names once */
    size_t nall, capall;
} cc;

/* What to tell the author of a pattern that uses an operator only kumomori's compilers may. */
static const char *km_ops_hint(const char *op) {
    return strcmp(op, "km-wildcard-ignore-case") == 0
               ? " (kumomori's internal operator for compiled Sigma rules, which EventBridge refuses: write "
                 "\"wildcard\" or \"equals-ignore-case\")"
               : "";
}

static int fail(cc *c, const km_json *at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(cc *c, const km_json *at, const char *fmt, ...) {
    if (c->failed) return -1;
    c->failed = 1;
    char reason[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    size_t off = at ? at->offset : 0;
    km_error_set(c->err, KM_ERR, off, "Event pattern is not valid: %s (at %s, byte %zu)", reason,
                 c->path.data ? c->path.data : "$", off);
    return -1;
}

static int oom(cc *c) {
    if (!c->failed) {
        c->failed = 1;
        km_error_set(c->err, KM_ENOMEM, (size_t)-1, "out of memory compiling the event pattern");
    }
    return -1;
}

static int is_plain_key(const char *k, size_t n) {
    if (n == 0) return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = k[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
              ch == '-' || ch == '$'))
            return 0;
    }
    return 1;
}

static size_t path_push_key(cc *c, const char *k, size_t n) {
    size_t old = c->path.len;
    if (is_plain_key(k, n)) {
        km_buf_putc(&c->path, '.');
        km_buf_append(&c->path, k, n);
    } else {
        km_buf_putc(&c->path, '[');
        km_buf_json_str(&c->path, k, n);
        km_buf_putc(&c->path, ']');
    }
    return old;
}

static size_t path_push_index(cc *c, size_t i) {
    size_t old = c->path.len;
    km_buf_printf(&c->path, "[%zu]", i);
    return old;
}

static void path_pop(cc *c, size_t old) {
    c->path.len = old;
    if (c->path.data) c->path.data[old] = 0;
}

static char *adup(cc *c, const char *s, size_t n) {
    char *p = km_arena_strndup(&c->pat->arena, s, n);
    if (!p) oom(c);
    return p;
}

/* ---- sub-rule maps ---------------------------------------------------------------------- */

static bmap *map_new(cc *c, size_t cap) {
    bmap *m = km_arena_alloc(&c->tmp, sizeof *m);
    if (!m) return NULL;
    m->cap = cap < 4 ? 4 : cap;
    m->f = km_arena_alloc(&c->tmp, m->cap * sizeof *m->f);
    if (!m->f) return NULL;
    return m;
}

static bmap *map_copy(cc *c, const bmap *src) {
    bmap *m = map_new(c, src->n);
    if (!m) return NULL;
    memcpy(m->f, src->f, src->n * sizeof *m->f);
    m->n = src->n;
    return m;
}

static int map_put(cc *c, bmap *m, bfield *f) {
    for (size_t i = 0; i < m->n; i++) {
        if (m->f[i]->name.len == f->name.len && memcmp(m->f[i]->name.s, f->name.s, f->name.len) == 0) {
            m->f[i] = f;
            return 0;
        }
    }
    if (m->n == m->cap) {
        bfield **nf = km_arena_alloc(&c->tmp, m->cap * 2 * sizeof *nf);
        if (!nf) return -1;
        memcpy(nf, m->f, m->n * sizeof *nf);
        m->f = nf;
        m->cap *= 2;
    }
    m->f[m->n++] = f;
    return 0;
}

static int list_add(cc *c, blist *l, bmap *m) {
    if (l->n >= KM_PATTERN_MAX_SUBRULES) return -2;
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 4;
        bmap **nm = km_arena_alloc(&c->tmp, nc * sizeof *nm);
        if (!nm) return -1;
        if (l->n) memcpy(nm, l->m, l->n * sizeof *nm);
        l->m = nm;
        l->cap = nc;
    }
    l->m[l->n++] = m;
    return 0;
}

/* ---- value lists -------------------------------------------------------------------------- */

typedef struct vlist {
    km_vm *v;
    size_t n, cap;
    int absent;
} vlist;

static km_vm *vl_add(cc *c, vlist *l) {
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 4;
        km_vm *nv = km_arena_alloc(&c->pat->arena, nc * sizeof *nv);
        if (!nv) { oom(c); return NULL; }
        if (l->n) memcpy(nv, l->v, l->n * sizeof *nv);
        l->v = nv;
        l->cap = nc;
    }
    km_vm *v = &l->v[l->n++];
    memset(v, 0, sizeof *v);
    return v;
}

/* Jackson's getText() of a token, for messages that quote the offending token. */
static const char *tok_text(const km_json *v, char *buf, size_t cap) {
    switch (v->type) {
    case KM_JSON_NULL: return "null";
    case KM_JSON_TRUE: return "true";
    case KM_JSON_FALSE: return "false";
    case KM_JSON_NUMBER: snprintf(buf, cap, "%.*s", (int)(v->u.num.len > 200 ? 200 : v->u.num.len), v->u.num.raw); return buf;
    case KM_JSON_STRING: snprintf(buf, cap, "%.*s", (int)(v->u.str.len > 200 ? 200 : v->u.str.len), v->u.str.s); return buf;
    case KM_JSON_ARRAY: return "[";
    case KM_JSON_OBJECT: return "{";
    }
    return "?";
}

static int set_str(cc *c, km_str *dst, const char *s, size_t n) {
    dst->s = adup(c, s, n);
    dst->len = n;
    return dst->s ? 0 : -1;
}

/* Only one key may follow an operator: event-ruler reads the next token and wants '}'. */
static int one_key(cc *c, const km_json *obj, const char *msg) {
    if (obj->u.obj.n > 1) {
        size_t old = path_push_key(c, obj->u.obj.members[1].key, obj->u.obj.members[1].key_len);
        fail(c, obj->u.obj.members[1].value, "%s", msg);
        path_pop(c, old);
        return -1;
    }
    return 0;
}

static int parse_number_value(cc *c, const km_json *v, double *out) {
    if (!km_num_comparable(v->u.num.raw, v->u.num.len, out)) {
        char b[256];
        return fail(c, v, "Cannot compare number : %s", tok_text(v, b, sizeof b));
    }
    return 0;
}

static int parse_numeric(cc *c, km_vm *vm, const km_json *arr) {
    char b[256];
    size_t n = arr->u.arr.n;
    km_json **it = arr->u.arr.items;
    if (n == 0 || it[0]->type != KM_JSON_STRING) {
        const km_json *at = n ? it[0] : arr;
        return fail(c, at, "Invalid member in numeric match: %s", n ? tok_text(it[0], b, sizeof b) : "]");
    }
    const char *op = it[0]->u.str.s;
    vm->kind = KM_VM_NUM_RANGE;
    vm->lo = -1.7976931348623157e308;
    vm->hi = 1.7976931348623157e308;
    const km_json *val = n > 1 ? it[1] : arr;
    if (strcmp(op, "=") == 0 || strcmp(op, "<") == 0 || strcmp(op, "<=") == 0 || strcmp(op, ">") == 0 ||
        strcmp(op, ">=") == 0) {
        if (n < 2 || it[1]->type != KM_JSON_NUMBER) {
            const char *what = strcmp(op, "=") == 0 ? "equals" : op;
            return fail(c, val, "Value of %s must be numeric", what);
        }
    } else {
        return fail(c, it[0], "Unrecognized numeric range operator: %s", op);
    }
    double x;
    if (parse_number_value(c, it[1], &x)) return -1;
    if (strcmp(op, "=") == 0) {
        if (n > 2) return fail(c, it[2], "Too many elements in numeric expression");
        vm->lo = vm->hi = x;
        return 0;
    }
    if (op[0] == '<') {
        if (n > 2) return fail(c, it[2], "Too many elements in numeric expression");
        vm->hi = x;
        vm->hi_open = op[1] == 0;
        return 0;
    }
    vm->lo = x;
    vm->lo_open = op[1] == 0;
    if (n == 2) return 0;
    if (it[2]->type != KM_JSON_STRING)
        return fail(c, it[2], "Bad value in numeric range: %s", tok_text(it[2], b, sizeof b));
    const char *op2 = it[2]->u.str.s;
    if (strcmp(op2, "<") != 0 && strcmp(op2, "<=") != 0)
        return fail(c, it[2], "Bad numeric range operator: %s", op2);
    if (n < 4 || it[3]->type != KM_JSON_NUMBER)
        return fail(c, n > 3 ? it[3] : arr, "Value of %s must be numeric", op2);
    double y;
    if (parse_number_value(c, it[3], &y)) return -1;
    if (n > 4) return fail(c, it[4], "Too many terms in numeric range expression");
    if (!(x < y)) return fail(c, it[3], "Bottom must be less than top");
    vm->hi = y;
    vm->hi_open = op2[1] == 0;
    return 0;
}

/* km-wildcard-ignore-case compares ASCII letters only: other text would need Unicode case rules. */
static int check_ascii(cc *c, const km_json *v) {
    for (size_t i = 0; i < v->u.str.len; i++)
        if ((unsigned char)v->u.str.s[i] >= 0x80) return fail(c, v, "km-wildcard-ignore-case match pattern must be ASCII");
    return 0;
}

static int check_wildcard(cc *c, const km_json *v) {
    size_t pos;
    const char *m = km_wildcard_check(v->u.str.s, v->u.str.len, &pos);
    if (m) {
        char msg[128];
        /* positions count the quote event-ruler puts in front of the value */
        snprintf(msg, sizeof msg, m, pos + 1);
        return fail(c, v, "%s", msg);
    }
    return 0;
}

static int parse_cidr(cc *c, km_vm *vm, const km_json *v) {
    const char *s = v->u.str.s;
    size_t len = v->u.str.len;
    /* Java's split("/"): a trailing empty part is dropped */
    const char *slash = memchr(s, '/', len);
    size_t nparts = 1;
    for (size_t i = 0; i < len; i++)
        if (s[i] == '/') nparts++;
    size_t eff = len;
    while (eff > 0 && s[eff - 1] == '/') { eff--; nparts--; }
    if (nparts == 0) nparts = 1;
    if (nparts != 2 || !slash) return fail(c, v, "Malformed CIDR, one '/' required");
    const char *mask = slash + 1;
    size_t mlen = eff - (size_t)(mask - s);
    long bits = 0;
    size_t i = 0;
    int neg = 0;
    if (mlen > 0 && (mask[0] == '-' || mask[0] == '+')) { neg = mask[0] == '-'; i++; }
    if (i >= mlen) return fail(c, v, "Malformed CIDR, mask bits must be an integer");
    for (; i < mlen; i++) {
        if (mask[i] < '0' || mask[i] > '9' || bits > 100000000)
            return fail(c, v, "Malformed CIDR, mask bits must be an integer");
        bits = bits * 10 + (mask[i] - '0');
    }
    if (neg && bits > 0) return fail(c, v, "Malformed CIDR, mask bits must not be negative");
    size_t iplen = (size_t)(slash - s);
    int r = km_ip_parse(s, iplen, vm->ip_lo, &vm->ip_len);
    if (r == 0) return fail(c, v, "Nonstandard IP address: %.*s", (int)(iplen > 200 ? 200 : iplen), s);
    if (r < 0) return fail(c, v, "Invalid IP address: %.*s", (int)(iplen > 200 ? 200 : iplen), s);
    if (vm->ip_len == 4 && bits > 31) return fail(c, v, "IPv4 mask bits must be < 32");
    if (vm->ip_len == 16 && bits > 127) return fail(c, v, "IPv6 mask bits must be < 128");
    vm->kind = KM_VM_CIDR;
    int var = vm->ip_len * 8 - (int)bits;
    memcpy(vm->ip_hi, vm->ip_lo, 16);
    for (int b = vm->ip_len - 1; b >= 0 && var > 0; b--, var -= 8) {
        int k = var >= 8 ? 8 : var;
        uint8_t low = (uint8_t)((1u << k) - 1);
        vm->ip_lo[b] &= (uint8_t)~low;
        vm->ip_hi[b] |= low;
    }
    return 0;
}

/* anything-but: "x", 5, ["x","y"], [1,2], {"prefix"|"suffix"|"wildcard"|"equals-ignore-case": ...} */
static int parse_anything_but(cc *c, km_vm *vm, const km_json *v) {
    char b[256];
    const km_json *val = v;
    int sub = 0; /* 0 plain, 1 eic, 2 prefix, 3 suffix, 4 wildcard */
    size_t pold = c->path.len;
    if (v->type == KM_JSON_OBJECT) {
        if (v->u.obj.n == 0) return fail(c, v, "Anything-But expression name not found");
        const char *op = v->u.obj.members[0].key;
        if (strcmp(op, "equals-ignore-case") == 0) sub = 1;
        else if (strcmp(op, "prefix") == 0) sub = 2;
        else if (strcmp(op, "suffix") == 0) sub = 3;
        else if (strcmp(op, "wildcard") == 0) sub = 4;
        else if (c->km_ops && strcmp(op, "km-wildcard-ignore-case") == 0) sub = 5;
        else return fail(c, v, "Unsupported anything-but pattern: %s%s", op, km_ops_hint(op));
        path_push_key(c, op, v->u.obj.members[0].key_len);
        val = v->u.obj.members[0].value;
    }
    if (val->type != KM_JSON_ARRAY && val->type != KM_JSON_STRING && val->type != KM_JSON_NUMBER)
        return fail(c, val, "Value of anything-but must be an array or single string/number value.");
    const km_json *single[1] = {val};
    km_json *const *items = val->type == KM_JSON_ARRAY ? val->u.arr.items : (km_json *const *)single;
    size_t n = val->type == KM_JSON_ARRAY ? val->u.arr.n : 1;
    vm->list = km_arena_alloc(&c->pat->arena, (n ? n : 1) * sizeof *vm->list);
    vm->nums = km_arena_alloc(&c->pat->arena, (n ? n : 1) * sizeof *vm->nums);
    if (!vm->list || !vm->nums) return oom(c);
    int has_num = 0, has_str = 0;
    for (size_t i = 0; i < n; i++) {
        const km_json *it = items[i];
        size_t iold = val->type == KM_JSON_ARRAY ? path_push_index(c, i) : c->path.len;
        if (sub == 0) {
            if (it->type == KM_JSON_STRING) {
                if (set_str(c, &vm->list[vm->nlist], it->u.str.s, it->u.str.len)) return -1;
                vm->nlist++;
                has_str = 1;
            } else if (it->type == KM_JSON_NUMBER) {
                if (parse_number_value(c, it, &vm->nums[vm->nlist])) return -1;
                if (set_str(c, &vm->list[vm->nlist], it->u.num.raw, it->u.num.len)) return -1;
                vm->nlist++;
                has_num = 1;
            } else {
                return fail(c, it, val->type == KM_JSON_ARRAY ? "Inside anything but list, start|null|boolean is not supported."
                                                               : "Inside anything-but list, start|null|boolean is not supported.");
            }
        } else {
            if (it->type != KM_JSON_STRING) {
                if (sub == 1) return fail(c, it, "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.");
                if (sub >= 4) return fail(c, it, "wildcard match pattern must be a string");
                return fail(c, it, "prefix/suffix match pattern must be a string");
            }
            if ((sub == 2 || sub == 3) && it->u.str.len == 0) return fail(c, it, "Null prefix/suffix not allowed");
            if (sub >= 4 && check_wildcard(c, it)) return -1;
            if (sub == 5 && check_ascii(c, it)) return -1;
            if (set_str(c, &vm->list[vm->nlist], it->u.str.s, it->u.str.len)) return -1;
            vm->nlist++;
        }
        path_pop(c, iold);
    }
    (void)b;
    if (sub == 0) {
        if (has_num == has_str)
            return fail(c, val, "Inside anything but list, either all values are number or string, mixed type is not supported");
        vm->kind = has_num ? KM_VM_AB_NUMBERS : KM_VM_AB_STRINGS;
    } else {
        vm->kind = sub == 1   ? KM_VM_AB_EIC
                   : sub == 2 ? KM_VM_AB_PREFIX
                   : sub == 3 ? KM_VM_AB_SUFFIX
                   : sub == 4 ? KM_VM_AB_WILDCARD
                              : KM_VM_AB_WILDCARD_CI;
        if (v->u.obj.n > 1) {
            path_pop(c, pold);
            return one_key(c, v, "Too many elements in numeric expression");
        }
    }
    path_pop(c, pold);
    return 0;
}

/* {"prefix": {"equals-ignore-case": "x"}} and the suffix form */
static int parse_affix_eic(cc *c, km_vm *vm, const km_json *v, int suffix) {
    const char *what = suffix ? "Suffix" : "Prefix";
    if (v->u.obj.n == 0) return fail(c, v, "%s expression name not found", what);
    const char *op = v->u.obj.members[0].key;
    if (strcmp(op, "equals-ignore-case") != 0)
        return fail(c, v, "Unsupported %s pattern: %s", suffix ? "suffix" : "prefix", op);
    size_t old = path_push_key(c, op, v->u.obj.members[0].key_len);
    const km_json *s = v->u.obj.members[0].value;
    if (s->type != KM_JSON_STRING) return fail(c, s, "equals-ignore-case match pattern must be a string");
    path_pop(c, old);
    if (one_key(c, v, "Only one key allowed in match expression")) return -1;
    vm->kind = suffix ? KM_VM_SUFFIX_EIC : KM_VM_PREFIX_EIC;
    if (set_str(c, &vm->str, s->u.str.s, s->u.str.len)) return -1;
    vm->eic_ascii = km_eic_is_ascii(vm->str.s, vm->str.len);
    return 0;
}

/* One {"operator": value} object in a field's list. */
static int parse_match_expr(cc *c, vlist *l, const km_json *obj) {
    if (obj->u.obj.n == 0) return fail(c, obj, "Match expression name not found");
    const char *op = obj->u.obj.members[0].key;
    const km_json *v = obj->u.obj.members[0].value;
    size_t old = path_push_key(c, op, obj->u.obj.members[0].key_len);
    int rc = 0;
    if (strcmp(op, "exists") == 0) {
        if (v->type != KM_JSON_TRUE && v->type != KM_JSON_FALSE)
            return fail(c, v, "exists match pattern must be either true or false.");
        path_pop(c, old);
        if (one_key(c, obj, "Only one key allowed in match expression")) return -1;
        if (v->type == KM_JSON_FALSE) {
            l->absent = 1;
        } else {
            km_vm *vm = vl_add(c, l);
            if (!vm) return -1;
            vm->kind = KM_VM_EXISTS;
        }
        return 0;
    }
    km_vm *vm = vl_add(c, l);
    if (!vm) return -1;
    if (strcmp(op, "exactly") == 0) {
        if (v->type != KM_JSON_STRING) return fail(c, v, "exact match pattern must be a string");
        vm->kind = KM_VM_STRING;
        rc = set_str(c, &vm->str, v->u.str.s, v->u.str.len);
    } else if (strcmp(op, "prefix") == 0 || strcmp(op, "suffix") == 0) {
        int suffix = op[0] == 's';
        if (v->type == KM_JSON_OBJECT) {
            rc = parse_affix_eic(c, vm, v, suffix);
            path_pop(c, old);
            if (rc) return rc;
            return one_key(c, obj, "Only one key allowed in match expression");
        }
        if (v->type != KM_JSON_STRING)
            return fail(c, v, suffix ? "suffix match pattern must be a string" : "prefix match pattern must be a string");
        vm->kind = suffix ? KM_VM_SUFFIX : KM_VM_PREFIX;
        rc = set_str(c, &vm->str, v->u.str.s, v->u.str.len);
    } else if (strcmp(op, "numeric") == 0) {
        if (v->type != KM_JSON_ARRAY) return fail(c, v, "Value of numeric must be an array.");
        if (parse_numeric(c, vm, v)) return -1;
        path_pop(c, old);
        return one_key(c, obj, "Too many elements in numeric expression");
    } else if (strcmp(op, "anything-but") == 0) {
        if (parse_anything_but(c, vm, v)) return -1;
        path_pop(c, old);
        return one_key(c, obj, "Too many elements in numeric expression");
    } else if (strcmp(op, "cidr") == 0) {
        if (v->type != KM_JSON_STRING) return fail(c, v, "prefix match pattern must be a string");
        rc = parse_cidr(c, vm, v);
    } else if (strcmp(op, "equals-ignore-case") == 0) {
        if (v->type != KM_JSON_STRING) return fail(c, v, "equals-ignore-case match pattern must be a string");
        vm->kind = KM_VM_EIC;
        rc = set_str(c, &vm->str, v->u.str.s, v->u.str.len);
        vm->eic_ascii = !rc && km_eic_is_ascii(vm->str.s, vm->str.len);
    } else if (strcmp(op, "wildcard") == 0) {
        if (v->type != KM_JSON_STRING) return fail(c, v, "wildcard match pattern must be a string");
        if (check_wildcard(c, v)) return -1;
        vm->kind = KM_VM_WILDCARD;
        rc = set_str(c, &vm->str, v->u.str.s, v->u.str.len);
        vm->contains = !rc && km_wildcard_is_contains(vm->str.s, vm->str.len);
    } else if (c->km_ops && strcmp(op, "km-wildcard-ignore-case") == 0) {
        /* kumomori's own operator (docs/matcher.md), emitted by the Sigma compiler; in a pattern
         * a user wrote it falls to "Unrecognized match type", as EventBridge would answer */
        if (v->type != KM_JSON_STRING) return fail(c, v, "wildcard match pattern must be a string");
        if (check_wildcard(c, v) || check_ascii(c, v)) return -1;
        vm->kind = KM_VM_WILDCARD_CI;
        rc = set_str(c, &vm->str, v->u.str.s, v->u.str.len);
        vm->contains = !rc && km_wildcard_is_contains(vm->str.s, vm->str.len);
    } else {
        path_pop(c, old);
        return fail(c, obj, "Unrecognized match type %s%s", op, km_ops_hint(op));
    }
    if (rc) return rc;
    path_pop(c, old);
    return one_key(c, obj, "Only one key allowed in match expression");
}

/* A field's value list: ["x", 5, null, {"prefix": "y"}, ...] */
static int write_rules(cc *c, blist *rules, const km_json *arr) {
    vlist l = {0};
    for (size_t i = 0; i < arr->u.arr.n; i++) {
        const km_json *it = arr->u.arr.items[i];
        size_t old = path_push_index(c, i);
        km_vm *vm;
        switch (it->type) {
        case KM_JSON_OBJECT:
            if (parse_match_expr(c, &l, it)) return -1;
            break;
        case KM_JSON_STRING:
            if (!(vm = vl_add(c, &l))) return -1;
            vm->kind = KM_VM_STRING;
            if (set_str(c, &vm->str, it->u.str.s, it->u.str.len)) return -1;
            /* event-ruler turns a string that is an IP address into an address match */
            if (km_ip_parse(it->u.str.s, it->u.str.len, vm->ip_lo, &vm->ip_len) == 1) {
                vm->is_ip = 1;
                memcpy(vm->ip_hi, vm->ip_lo, 16);
            }
            break;
        case KM_JSON_NUMBER:
            if (!(vm = vl_add(c, &l))) return -1;
            vm->kind = KM_VM_LITERAL;
            if (set_str(c, &vm->str, it->u.num.raw, it->u.num.len)) return -1;
            vm->num_ok = km_num_comparable(it->u.num.raw, it->u.num.len, &vm->d);
            break;
        case KM_JSON_NULL:
        case KM_JSON_TRUE:
        case KM_JSON_FALSE: {
            if (!(vm = vl_add(c, &l))) return -1;
            vm->kind = KM_VM_LITERAL;
            const char *t = it->type == KM_JSON_NULL ? "null" : it->type == KM_JSON_TRUE ? "true" : "false";
            vm->str.s = t;
            vm->str.len = strlen(t);
            break;
        }
        case KM_JSON_ARRAY:
            return fail(c, it, "Match value must be String, number, true, false, or null");
        }
        path_pop(c, old);
    }
    if (arr->u.arr.n == 0) return fail(c, arr, "Empty arrays are not allowed");
    size_t parts = 1;
    for (size_t i = 0; i < c->name.len; i++) parts += c->name.data[i] == '.';
    if (parts > KM_NAME_MAX_PARTS)
        return fail(c, arr, "field name has %zu parts separated by dots; at most %d are allowed", parts,
                    KM_NAME_MAX_PARTS);
    bfield *f = km_arena_alloc(&c->pat->arena, sizeof *f);
    if (!f) return oom(c);
    if (set_str(c, &f->name, c->name.data ? c->name.data : "", c->name.len)) return -1;
    f->vms = l.v;
    f->nvm = l.n;
    f->absent = l.absent;
    f->rank = 0;
    if (c->nall == c->capall) {
        size_t nc = c->capall ? c->capall * 2 : 64;
        bfield **na = km_arena_alloc(&c->tmp, nc * sizeof *na);
        if (!na) return oom(c);
        if (c->nall) memcpy(na, c->all, c->nall * sizeof *na);
        c->all = na;
        c->capall = nc;
    }
    c->all[c->nall++] = f;
    if (rules->n == 0) {
        bmap *m = map_new(c, 4);
        if (!m || list_add(c, rules, m)) return oom(c);
    }
    for (size_t i = 0; i < rules->n; i++)
        if (map_put(c, rules->m[i], f)) return oom(c);
    return 0;
}

static const char *const reserved_in_or[] = {
    "exactly", "equals-ignore-case", "prefix", "suffix", "anything-but", "exists", "wildcard", "numeric",
    "cidr", "=", "<", "<=", ">", ">=", "regex", "not-wildcard", "not-equals-ignore-case", "date-after",
    "date-on-or-after", "date-before", "date-on-or-before", "in-date-range", "ip-address-in-range",
    "ip-address-not-in-range",
};

static int parse_object(cc *c, blist *rules, const km_json *obj, int in_or, int depth);

static int parse_or(cc *c, blist *rules, const km_json *v, int depth) {
    if (v->type != KM_JSON_ARRAY) return fail(c, v, "It must be an Array followed with $or.");
    blist current = *rules;
    blist out = {0};
    for (size_t i = 0; i < v->u.arr.n; i++) {
        const km_json *br = v->u.arr.items[i];
        size_t old = path_push_index(c, i);
        if (br->type != KM_JSON_OBJECT) return fail(c, br, "Only JSON object is allowed in array of $or relationship.");
        blist nr = {0};
        for (size_t k = 0; k < current.n; k++) {
            bmap *m = map_copy(c, current.m[k]);
            if (!m || list_add(c, &nr, m) == -1) return oom(c);
        }
        if (nr.n == 0) {
            bmap *m = map_new(c, 4);
            if (!m || list_add(c, &nr, m)) return oom(c);
        }
        if (parse_object(c, &nr, br, 1, depth + 1)) return -1;
        for (size_t k = 0; k < nr.n; k++) {
            int r = list_add(c, &out, nr.m[k]);
            if (r == -2) return fail(c, br, "pattern too complex: $or expands to more than %d alternatives", KM_PATTERN_MAX_SUBRULES);
            if (r) return oom(c);
        }
        path_pop(c, old);
    }
    if (v->u.arr.n < 2) return fail(c, v, "There must have at least 2 Objects in $or relationship.");
    *rules = out;
    return 0;
}

static int parse_object(cc *c, blist *rules, const km_json *obj, int in_or, int depth) {
    if (depth > KM_PATTERN_MAX_DEPTH) return fail(c, obj, "pattern nested deeper than %d levels", KM_PATTERN_MAX_DEPTH);
    for (size_t i = 0; i < obj->u.obj.n; i++) {
        const km_json_member *mb = &obj->u.obj.members[i];
        size_t pold = path_push_key(c, mb->key, mb->key_len);
        if (mb->key_len == 3 && memcmp(mb->key, "$or", 3) == 0) {
            if (parse_or(c, rules, mb->value, depth)) return -1;
            path_pop(c, pold);
            continue;
        }
        if (in_or) {
            for (size_t r = 0; r < sizeof reserved_in_or / sizeof reserved_in_or[0]; r++)
                if (strlen(reserved_in_or[r]) == mb->key_len && memcmp(reserved_in_or[r], mb->key, mb->key_len) == 0)
                    return fail(c, mb->value, "%s is Ruler reserved fieldName which cannot be used inside $or.", reserved_in_or[r]);
        }
        /* event-ruler joins object steps with '.' (Path.name) but puts no separator after an
         * empty base name for the last step (Path.extendedName) */
        size_t nold = c->name.len;
        int leaf = mb->value->type != KM_JSON_OBJECT;
        if (leaf ? c->name.len > 0 : c->nsteps > 0) km_buf_putc(&c->name, '.');
        km_buf_append(&c->name, mb->key, mb->key_len);
        if (c->name.failed || c->path.failed) return oom(c);
        if (mb->value->type == KM_JSON_OBJECT) {
            c->nsteps++;
            if (parse_object(c, rules, mb->value, in_or, depth + 1)) return -1;
            c->nsteps--;
        } else if (mb->value->type == KM_JSON_ARRAY) {
            if (write_rules(c, rules, mb->value)) return -1;
        } else {
            return fail(c, mb->value, "\"%s\" must be an object or an array", mb->key);
        }
        c->name.len = nold;
        if (c->name.data) c->name.data[nold] = 0;
        path_pop(c, pold);
    }
    if (obj->u.obj.n == 0) return fail(c, obj, "Empty objects are not allowed");
    return 0;
}

static int field_cmp(const void *a, const void *b) {
    const bfield *x = *(bfield *const *)a, *y = *(bfield *const *)b;
    return km_java_strcmp(x->name.s, x->name.len, y->name.s, y->name.len);
}

static int rank_cmp(const void *a, const void *b) {
    size_t x = (*(bfield *const *)a)->rank, y = (*(bfield *const *)b)->rank;
    return x < y ? -1 : x > y;
}

/* Each sub-rule's fields go in Java's order of their names. The names are ranked once, and each
 * sub-rule sorted by rank: sorting every sub-rule by comparing names (up to 4,096 sub-rules of a
 * hundred fields each) was 40% of compiling a pattern of eleven $or, and made fuzz_pattern time
 * out (fuzz/regress/pattern/or-sort-ranked). A sub-rule never holds a name twice (map_put), so
 * the order is the same. */
static int rank_fields(cc *c) {
    if (c->nall == 0) return 0;
    bfield **sorted = malloc(c->nall * sizeof *sorted);
    if (!sorted) return oom(c);
    memcpy(sorted, c->all, c->nall * sizeof *sorted);
    qsort(sorted, c->nall, sizeof *sorted, field_cmp);
    size_t r = 0;
    for (size_t i = 0; i < c->nall; i++) {
        if (i > 0 && field_cmp(&sorted[i - 1], &sorted[i]) != 0) r++;
        sorted[i]->rank = r;
    }
    free(sorted);
    return 0;
}

/* Wildcard patterns of one field name across the pattern must not make a too complex machine. */
static int check_complexity(cc *c, const km_pattern *p, const km_json *root) {
    for (size_t s = 0; s < p->nsubs; s++) {
        for (size_t f = 0; f < p->subs[s].nfields; f++) {
            const km_pfield *pf = &p->subs[s].fields[f];
            size_t n = 0;
            for (size_t v = 0; v < pf->nvm; v++) {
                if (pf->vms[v].kind == KM_VM_WILDCARD) n++;
                else if (pf->vms[v].kind == KM_VM_AB_WILDCARD) n += pf->vms[v].nlist;
            }
            if (n == 0) continue;
            km_str *w = malloc(n * sizeof *w);
            if (!w) return oom(c);
            n = 0;
            for (size_t v = 0; v < pf->nvm; v++) {
                if (pf->vms[v].kind == KM_VM_WILDCARD) w[n++] = pf->vms[v].str;
                else if (pf->vms[v].kind == KM_VM_AB_WILDCARD)
                    for (size_t k = 0; k < pf->vms[v].nlist; k++) w[n++] = pf->vms[v].list[k];
            }
            int cx = km_wildcard_complexity(w, n, KM_WILDCARD_MAX_COMPLEXITY + 1);
            free(w);
            if (cx > KM_WILDCARD_MAX_COMPLEXITY) {
                return fail(c, root,
                            "Rule is too complex - try using fewer wildcard characters or fewer repeating character "
                            "sequences after a wildcard character (field %s)",
                            pf->name.s);
            }
        }
    }
    return 0;
}

km_pattern *km_pattern_compile(const char *text, size_t len, unsigned flags, km_error *err) {
    km_error_clear(err);
    if (len > KM_PATTERN_MAX_BYTES) {
        km_error_set(err, KM_ELIMIT, 0, "Event pattern is not valid: longer than %u bytes", KM_PATTERN_MAX_BYTES);
        return NULL;
    }
    km_json_opts jo = {.max_depth = KM_PATTERN_MAX_DEPTH * 2 + 8};
    km_error jerr;
    km_json_doc *doc = km_json_parse(text, len, &jo, NULL, &jerr);
    if (!doc) {
        size_t line, col;
        km_json_line_col(text, len, jerr.offset, &line, &col);
        km_error_set(err, jerr.code == KM_ENOMEM ? KM_ENOMEM : KM_ERR, jerr.offset,
                     "Event pattern is not valid JSON: %s", jerr.msg);
        return NULL;
    }
    km_pattern *p = calloc(1, sizeof *p);
    if (!p) {
        km_json_doc_free(doc);
        km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory compiling the event pattern");
        return NULL;
    }
    km_arena_init(&p->arena, 0);
    cc c = {.pat = p, .err = err, .km_ops = (flags & KM_PATTERN_KM_OPS) != 0};
    km_arena_init(&c.tmp, (size_t)256 << 20);
    km_buf_init(&c.path, 1 << 16);
    km_buf_init(&c.name, 1 << 20);
    km_buf_puts(&c.path, "$");
    km_buf_reserve(&c.name, 64);
    if (c.name.data) c.name.data[0] = 0;
    const km_json *root = km_json_root(doc);
    blist rules = {0};
    int rc;
    if (root->type != KM_JSON_OBJECT) rc = fail(&c, root, "Filter is not an object");
    else rc = parse_object(&c, &rules, root, 0, 0);
    if (rc == 0) rc = rank_fields(&c);
    if (rc == 0) {
        p->subs = km_arena_alloc(&p->arena, (rules.n ? rules.n : 1) * sizeof *p->subs);
        if (!p->subs) rc = oom(&c);
        for (size_t i = 0; rc == 0 && i < rules.n; i++) {
            bmap *m = rules.m[i];
            qsort(m->f, m->n, sizeof *m->f, rank_cmp);
            km_subrule *s = &p->subs[p->nsubs++];
            s->fields = km_arena_alloc(&p->arena, (m->n ? m->n : 1) * sizeof *s->fields);
            if (!s->fields) { rc = oom(&c); break; }
            for (size_t k = 0; k < m->n; k++) {
                s->fields[k].name = m->f[k]->name;
                s->fields[k].vms = m->f[k]->vms;
                s->fields[k].nvm = m->f[k]->nvm;
                s->fields[k].absent = m->f[k]->absent;
            }
            s->nfields = m->n;
        }
    }
    if (rc == 0) rc = check_complexity(&c, p, root);
    km_arena_free(&c.tmp);
    km_buf_free(&c.path);
    km_buf_free(&c.name);
    km_json_doc_free(doc);
    if (rc != 0) {
        km_pattern_free(p);
        return NULL;
    }
    return p;
}

void km_pattern_free(km_pattern *p) {
    if (!p) return;
    km_arena_free(&p->arena);
    free(p);
}
