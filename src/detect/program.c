/* The detection program (program.h). */
#include "detect/program.h"
#include "util/limits.h"
#include "detect/extract.h"
#include "match/kept.h"
#include "kumomori/sigma.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct km_program {
    const km_ruleset *rs;
    const km_sigma_set *sigma;
    km_corr *corr;
    uint32_t *always;
    size_t nalways;
    km_severity min_sev;
    int fresh;   /* an alert of a new record was seen and none of its hits fed yet */
    km_buf ctx;  /* the alert being fed, as JSON (reused) */
    /* writing side */
    km_writer *w;
    long written;
    int failed;
    /* fields kept by the matcher (km_program_keep_fields) */
    const km_matcher *km;
    int kh[15];        /* light_paths, then resources.ARN and resources.arn */
    int **rule_kh;     /* per rule: the handles of the fields its hits carry (km_corr_fields) */
    size_t nrule_kh;
};

struct km_program_scratch {
    km_sigma_scratch *sc;
    uint32_t *ids;
    size_t cap;
    const char *limit_rule; /* the first rule whose evaluation hit PCRE2's limit (km_sigma_scratch_limit_hits) */
};

km_program *km_program_new(const km_ruleset *rs, const km_program_opts *o, km_error *err) {
    km_program *p = calloc(1, sizeof *p);
    if (!p) {
        km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
        return NULL;
    }
    p->rs = rs;
    p->sigma = km_ruleset_sigma(rs);
    km_corr_opts co = {0};
    co.max_pending = km_limit(KM_LIMIT_PENDING, 100000); /* harden helper: --limit pending, groups */
    co.max_groups = km_limit(KM_LIMIT_GROUPS, 100000);
    if (o) {
        co.lateness_ms = o->lateness_ms;
        if (o->max_groups) co.max_groups = o->max_groups;
        if (o->max_pending) co.max_pending = o->max_pending;
        p->min_sev = o->min_severity;
    }
    p->corr = km_corr_new(&co);
    size_t n = km_ruleset_count(rs);
    p->always = calloc(n ? n : 1, sizeof *p->always);
    if (!p->corr || !p->always) {
        km_program_free(p);
        km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        const km_rule *r = km_ruleset_get(rs, i);
        if (r->kind == KM_RULE_SIGMA && r->npatterns == 0) p->always[p->nalways++] = (uint32_t)i;
        if (r->kind != KM_RULE_THRESHOLD && r->kind != KM_RULE_CORRELATION) continue;
        uint32_t in[64];
        if (r->ninputs > 64) {
            km_error_set(err, KM_ERR, (size_t)-1, "%s: rule %s reads more than 64 rules", r->file, r->id);
            km_program_free(p);
            return NULL;
        }
        for (size_t j = 0; j < r->ninputs; j++) {
            const km_rule *ir = km_ruleset_find(rs, r->inputs[j]);
            if (!ir) {
                km_error_set(err, KM_ERR, (size_t)-1, "%s: rule %s reads rule \"%s\", which is not loaded", r->file, r->id, r->inputs[j]);
                km_program_free(p);
                return NULL;
            }
            in[j] = (uint32_t)(ir - km_ruleset_get(rs, 0));
        }
        km_corr_def d;
        memset(&d, 0, sizeof d);
        d.id = (uint32_t)i;
        d.type = r->corr_type;
        d.inputs = in;
        d.ninputs = r->ninputs;
        d.group_by = r->group_by;
        d.ngroup = r->ngroup;
        d.group_fields = r->group_fields;
        d.value_field = r->value_field;
        d.span_ms = r->span_ms;
        d.cond = r->cond;
        d.has_cond = r->has_cond;
        d.new_within_ms = r->new_within_ms;
        d.differ_field = r->differ_field;
        if (km_corr_add(p->corr, &d, err) != KM_OK) {
            km_error_prefix(err, "%s: rule %s", r->file, r->id);
            km_program_free(p);
            return NULL;
        }
    }
    if (km_corr_finish(p->corr, err) != KM_OK) {
        km_program_free(p);
        return NULL;
    }
    return p;
}

void km_program_free(km_program *p) {
    if (!p) return;
    for (size_t i = 0; i < p->nrule_kh; i++) free(p->rule_kh[i]);
    free(p->rule_kh);
    km_corr_free(p->corr);
    km_buf_free(&p->ctx);
    free(p->always);
    free(p);
}

km_program_scratch *km_program_scratch_new(void) {
    km_program_scratch *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    if (!(s->sc = km_sigma_scratch_new())) {
        free(s);
        return NULL;
    }
    return s;
}

void km_program_scratch_free(km_program_scratch *s) {
    if (!s) return;
    km_sigma_scratch_free(s->sc);
    free(s->ids);
    free(s);
}

int km_program_sees_all(const km_program *p) { return p && p->nalways > 0; }

int km_program_feeds(const km_program *p, size_t i) { return p && km_corr_consumes(p->corr, (uint32_t)i); }

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* km_sigma_eval, noting the first rule whose regular expressions hit PCRE2's limit */
static int eval(const km_program *p, km_program_scratch *s, const km_rule *r, const km_json *root) {
    uint64_t before = km_sigma_scratch_limit_hits(s->sc);
    int got = km_sigma_eval(p->sigma, r->sigma_index, root, s->sc);
    if (!s->limit_rule && km_sigma_scratch_limit_hits(s->sc) != before) s->limit_rule = r->id;
    return got;
}

uint64_t km_program_scratch_limit_hits(const km_program_scratch *s, const char **first_rule) {
    if (first_rule) *first_rule = s ? s->limit_rule : NULL;
    return s ? km_sigma_scratch_limit_hits(s->sc) : 0;
}

int km_program_select(const km_program *p, km_program_scratch *s, const km_json *root, const uint32_t *ids, int n,
                      const uint32_t **out) {
    size_t need = (size_t)(n > 0 ? n : 0) + p->nalways;
    if (need > s->cap) {
        uint32_t *ni = realloc(s->ids, need * sizeof *ni);
        if (!ni) {
            *out = NULL;
            return 0;
        }
        s->ids = ni;
        s->cap = need;
    }
    size_t k = 0;
    for (int i = 0; i < n; i++) {
        const km_rule *r = km_ruleset_get(p->rs, ids[i]);
        if (r->kind == KM_RULE_SIGMA && !r->sigma_exact && (!root || eval(p, s, r, root) != 1)) continue;
        s->ids[k++] = ids[i];
    }
    if (root)
        for (size_t i = 0; i < p->nalways; i++) {
            const km_rule *r = km_ruleset_get(p->rs, p->always[i]);
            if (eval(p, s, r, root) == 1) s->ids[k++] = p->always[i];
        }
    if (p->nalways && k > 1) qsort(s->ids, k, sizeof *s->ids, cmp_u32);
    *out = s->ids;
    return (int)k;
}

km_program_hit *km_program_make_hit(const km_program *p, uint32_t id, const km_json *root, km_arena *a) {
    if (!root || !km_corr_consumes(p->corr, id)) return NULL;
    const char *const *paths;
    size_t n = km_corr_fields(p->corr, id, &paths);
    km_program_hit *h = km_arena_alloc(a, sizeof *h);
    if (!h) return NULL;
    h->vals = km_arena_alloc(a, (n ? n : 1) * sizeof *h->vals);
    if (!h->vals) return NULL;
    h->nvals = n;
    km_buf b = KM_BUF_INIT;
    km_buf_init(&b, 1u << 20);
    for (size_t i = 0; i < n; i++) {
        km_buf_reset(&b);
        if (km_sigma_field_text(root, paths[i], &b) && !b.failed) h->vals[i] = km_arena_strndup(a, b.data ? b.data : "", b.len);
    }
    km_buf_free(&b);
    const km_json *t = km_json_get(root, "eventTime");
    h->time_ms = t && t->type == KM_JSON_STRING ? km_corr_parse_time(t->u.str.s, t->u.str.len) : -1;
    return h;
}

/* ---- the fast path ---- */

#define KEPT_VALS 512 /* kept values of one record taken from the match (more: km_extract reads the text) */

static const char *const light_paths[13] = {
    "eventTime", "eventID", "eventName", "eventSource", "awsRegion", "recipientAccountId", "sourceIPAddress",
    "userAgent", "errorCode", "userIdentity.arn", "userIdentity.invokedBy", "userIdentity.principalId", "userIdentity.type",
};

int km_program_light(const km_program *p, const uint32_t *ids, int n) {
    if (!p || p->nalways || n <= 0) return 0;
    for (int i = 0; i < n; i++) {
        const km_rule *r = km_ruleset_get(p->rs, ids[i]);
        if (r->kind != KM_RULE_PATTERN && !(r->kind == KM_RULE_SIGMA && r->sigma_exact)) return 0;
    }
    return 1;
}

int km_program_keep_fields(km_program *p, km_matcher *m) {
    if (!p || !m || p->rule_kh) return 0;
    size_t n = km_ruleset_count(p->rs);
    p->rule_kh = calloc(n ? n : 1, sizeof *p->rule_kh);
    if (!p->rule_kh) return -1;
    p->nrule_kh = n;
    for (size_t i = 0; i < 15; i++) {
        const char *path = i < 13 ? light_paths[i] : i == 13 ? "resources.ARN" : "resources.arn";
        if ((p->kh[i] = km_matcher_keep(m, path, strlen(path))) < 0) return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const char *const *paths;
        size_t k = km_corr_consumes(p->corr, (uint32_t)i) ? km_corr_fields(p->corr, (uint32_t)i, &paths) : 0;
        if (!k) continue;
        if (!(p->rule_kh[i] = malloc(k * sizeof **p->rule_kh))) return -1;
        for (size_t j = 0; j < k; j++)
            if ((p->rule_kh[i][j] = km_matcher_keep(m, paths[j], strlen(paths[j]))) < 0) return -1;
    }
    p->km = m;
    return 0;
}

int km_program_light_extract(const km_program *p, const km_matcher *m, km_match_scratch *ms, const char *text,
                             size_t len, const uint32_t *ids, int n, km_arena *a, km_light *l) {
    km_extract_req req[64];
    int hs[64]; /* each request's kept field in m */
    size_t nr = 0;
    for (size_t i = 0; i < 13; i++) {
        hs[nr] = p->kh[i];
        req[nr++] = (km_extract_req){light_paths[i], KM_X_STRING, NULL, 0, 0};
    }
    hs[nr] = p->kh[13];
    req[nr++] = (km_extract_req){"resources.ARN", KM_X_LIST, NULL, 0, 0};
    hs[nr] = p->kh[14];
    req[nr++] = (km_extract_req){"resources.arn", KM_X_LIST, NULL, 0, 0};
    size_t base = nr;
    memset(l, 0, sizeof *l);
    l->first = km_arena_alloc(a, (size_t)n * sizeof *l->first);
    l->nvals = km_arena_alloc(a, (size_t)n * sizeof *l->nvals);
    if (!l->first || !l->nvals) return -1;
    for (int i = 0; i < n; i++) {
        const char *const *paths;
        size_t k = km_corr_fields(p->corr, ids[i], &paths);
        l->first[i] = nr - base;
        l->nvals[i] = k;
        if (nr + k > 64) return 1;
        const int *rh = p->rule_kh && ids[i] < p->nrule_kh ? p->rule_kh[ids[i]] : NULL;
        for (size_t j = 0; j < k; j++) {
            hs[nr] = rh ? rh[j] : -1;
            req[nr++] = (km_extract_req){paths[j], KM_X_TEXT, NULL, 0, 0};
        }
    }
    int rc = 2;
    if (p->km && p->km == m && ms) {
        /* the matcher's walker reads the fields (match/kept.h): no candidate loop over the
         * requested paths at every key, as km_extract has */
        km_kept_val *kv = km_arena_alloc_raw(a, KEPT_VALS * sizeof *kv, 8); /* not zeroed: filled first */
        if (!kv) return -1;
        km_kept_view view;
        int nv = km_match_kept(m, ms, text, len, kv, KEPT_VALS, &view);
        if (nv >= 0) rc = km_extract_kept(text, kv, (size_t)nv, &view, req, hs, nr, a);
    }
    if (rc == 2) rc = km_extract(text, len, req, nr, a);
    if (rc) return rc;
    if (req[13].nvalues && req[14].nvalues) return 1; /* both spellings: the tree reads them element by element */
    for (size_t i = 0; i < 13; i++) {
        l->f[i] = req[i].value;
        l->flen[i] = req[i].len;
    }
    l->res = req[13].nvalues ? req[13].value : req[14].value;
    l->nres = req[13].nvalues ? req[13].nvalues : req[14].nvalues;
    l->vals = km_arena_alloc_raw(a, (nr - base + 1) * sizeof *l->vals, _Alignof(const char *));
    l->vlen = km_arena_alloc_raw(a, (nr - base + 1) * sizeof *l->vlen, _Alignof(size_t));
    if (!l->vals || !l->vlen) return -1;
    for (size_t i = base; i < nr; i++) {
        l->vals[i - base] = req[i].value;
        l->vlen[i - base] = req[i].len;
    }
    l->time_ms = l->f[0] ? km_corr_parse_time(l->f[0], l->flen[0]) : -1;
    return 0;
}

static const char *dup_or_null(km_arena *a, const char *s) { return s ? km_arena_strndup(a, s, strlen(s)) : NULL; }
/* The same for a string whose length is known (the light path's values). */
static const char *dup_len(km_arena *a, const char *s, size_t len) { return s ? km_arena_strndup(a, s, len) : NULL; }

/* A hit's event fields are kept for the alert a threshold or correlation raises when the hit
 * completes it; they are built for every hit and read for the few that fire, so they are a
 * compact record rather than JSON (which km_alert_to_json wrote here before, at a tenth of the
 * light path's time): CTX_BIN, the offset in decimal, '0' or '1' (gzip), then each of the string
 * fields below as 's' + its bytes or 'n' (absent), each ended by a NUL, the resource count in
 * decimal and NUL, the resources NUL-ended, and last 'r' + the record's JSON text when it is
 * included. Field values hold no NUL (they are C strings). A state file written before holds
 * JSON contexts, which start with '{': on_fire reads both. */
#define CTX_BIN '\x01'
#define CTX_NSTR 11

static void ctx_strs(const km_alert *a, const char *v[CTX_NSTR]) {
    v[0] = a->input;
    v[1] = a->event_time;
    v[2] = a->event_id;
    v[3] = a->event_name;
    v[4] = a->event_source;
    v[5] = a->aws_region;
    v[6] = a->account;
    v[7] = a->principal;
    v[8] = a->source_ip;
    v[9] = a->user_agent;
    v[10] = a->error_code;
}

static size_t put_dec(char *d, uint64_t v) {
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++) d[i] = tmp[n - 1 - i];
    d[n] = 0;
    return n + 1;
}

/* The lengths a compact record of a's event fields needs (each string field's, and the first 64
 * resources'), measured once for both the size and the writing. */
typedef struct ctx_lens {
    const char *v[CTX_NSTR];
    size_t len[CTX_NSTR];
    size_t rlen[64];
    char off[24], nres[24]; /* the offset and the resource count in decimal, NUL-ended */
    size_t offn, nresn;     /* their lengths with the NUL */
    size_t total;
} ctx_lens;

/* known: the string fields' lengths when the caller has them (the light path), else NULL */
static void ctx_measure(ctx_lens *c, const km_alert *a, const size_t *known) {
    ctx_strs(a, c->v);
    c->offn = put_dec(c->off, a->offset);
    c->nresn = put_dec(c->nres, a->nresources);
    size_t k = 1 + c->offn + 1 + c->nresn;
    for (size_t i = 0; i < CTX_NSTR; i++) k += 2 + (c->len[i] = !c->v[i] ? 0 : known ? known[i] : strlen(c->v[i]));
    for (size_t i = 0; i < a->nresources; i++) {
        size_t l = strlen(a->resources[i]);
        if (i < 64) c->rlen[i] = l;
        k += l + 1;
    }
    if (a->record) k += 1 + a->record_len;
    c->total = k;
}

/* The compact record of a's event fields into dst (c->total bytes, measured from a). */
static size_t ctx_write(char *dst, const km_alert *a, const ctx_lens *c) {
    char *d = dst;
    *d++ = CTX_BIN;
    memcpy(d, c->off, c->offn - 1); /* the offset's NUL is replaced by the gzip flag */
    d += c->offn - 1;
    *d++ = a->gzip ? '1' : '0';
    *d++ = 0;
    for (size_t i = 0; i < CTX_NSTR; i++) {
        *d++ = c->v[i] ? 's' : 'n';
        if (c->len[i]) memcpy(d, c->v[i], c->len[i]);
        d += c->len[i];
        *d++ = 0;
    }
    memcpy(d, c->nres, c->nresn);
    d += c->nresn;
    for (size_t i = 0; i < a->nresources; i++) {
        size_t l = i < 64 ? c->rlen[i] : strlen(a->resources[i]);
        memcpy(d, a->resources[i], l + 1);
        d += l + 1;
    }
    if (a->record) {
        *d++ = 'r';
        memcpy(d, a->record, a->record_len);
        d += a->record_len;
    }
    return (size_t)(d - dst);
}

/* Read a compact record back into a (pointers into ctx, which ends with a NUL); resv holds up to
 * 64 resources. 0, or -1 when it is not one. */
static int ctx_decode(const char *ctx, size_t n, km_alert *a, const char **resv) {
    const char *p = ctx + 1, *end = ctx + n;
    const char *nul = memchr(p, 0, (size_t)(end - p));
    if (!nul || nul == p) return -1;
    a->gzip = nul[-1] == '1';
    a->offset = 0;
    for (const char *q = p; q < nul - 1; q++) a->offset = a->offset * 10 + (uint64_t)(*q - '0');
    p = nul + 1;
    const char *v[CTX_NSTR];
    for (size_t i = 0; i < CTX_NSTR; i++) {
        if (p >= end || (*p != 's' && *p != 'n') || !(nul = memchr(p, 0, (size_t)(end - p)))) return -1;
        v[i] = *p == 's' ? p + 1 : NULL;
        p = nul + 1;
    }
    if (p >= end || !(nul = memchr(p, 0, (size_t)(end - p)))) return -1;
    size_t nres = (size_t)strtoull(p, NULL, 10);
    p = nul + 1;
    a->nresources = 0;
    for (size_t i = 0; i < nres; i++) {
        if (p >= end || !(nul = memchr(p, 0, (size_t)(end - p)))) return -1;
        if (i < 64) resv[a->nresources++] = p;
        p = nul + 1;
    }
    a->resources = resv;
    if (p < end && *p == 'r') {
        a->record = p + 1;
        a->record_len = (size_t)(end - p - 1);
    }
    a->input = v[0] ? v[0] : "-";
    a->event_time = v[1];
    a->event_id = v[2];
    a->event_name = v[3];
    a->event_source = v[4];
    a->aws_region = v[5];
    a->account = v[6];
    a->principal = v[7];
    a->source_ip = v[8];
    a->user_agent = v[9];
    a->error_code = v[10];
    return 0;
}

/* h->ctx from a's fields (known: their lengths in ctx_strs order, or NULL). */
static void hit_ctx(km_program_hit *h, const km_alert *a, km_arena *ar, const size_t *known) {
    ctx_lens c;
    ctx_measure(&c, a, known);
    size_t n = c.total;
    char *d = km_arena_alloc_raw(ar, n + 1, 1);
    if (!d) return;
    ctx_write(d, a, &c);
    d[n] = 0;
    h->ctx = d;
    h->ctx_len = n;
}

void km_program_hit_ctx(km_program_hit *h, const km_alert *a, km_arena *ar, km_buf *scratch) {
    (void)scratch;
    hit_ctx(h, a, ar, NULL);
}

/* The alert of the k-th matched rule from the extracted fields: its fields copied into a (a written
 * alert), and its hit with the event's fields as JSON when a threshold or correlation reads it. */
void km_program_light_fill(const km_program *p, km_light *l, size_t k, km_arena *a, km_alert *al, km_program_hit **hit,
                           km_buf *scratch) {
    (void)scratch;
    *hit = NULL;
    km_alert tmp = *al;
    tmp.event_time = l->f[0];
    tmp.event_id = l->f[1];
    tmp.event_name = l->f[2];
    tmp.event_source = l->f[3];
    tmp.aws_region = l->f[4];
    tmp.account = l->f[5];
    tmp.source_ip = l->f[6];
    tmp.user_agent = l->f[7];
    tmp.error_code = l->f[8];
    size_t plen = 0;
    for (size_t i = 9; i < 13 && !tmp.principal; i++) {
        tmp.principal = l->f[i];
        plen = l->flen[i];
    }
    const char *list[64];
    if (l->nres) {
        const char *q = l->res;
        for (size_t i = 0; i < l->nres && i < 64; i++) {
            list[i] = q;
            q += strlen(q) + 1;
        }
        tmp.resources = list;
        tmp.nresources = l->nres < 64 ? l->nres : 64;
    }
    if (!al->rule->hidden) {
        /* written: every field lives with the alert's batch */
        al->event_time = dup_len(a, tmp.event_time, l->flen[0]);
        al->event_id = dup_len(a, tmp.event_id, l->flen[1]);
        al->event_name = dup_len(a, tmp.event_name, l->flen[2]);
        al->event_source = dup_len(a, tmp.event_source, l->flen[3]);
        al->aws_region = dup_len(a, tmp.aws_region, l->flen[4]);
        al->account = dup_len(a, tmp.account, l->flen[5]);
        al->source_ip = dup_len(a, tmp.source_ip, l->flen[6]);
        al->user_agent = dup_len(a, tmp.user_agent, l->flen[7]);
        al->error_code = dup_len(a, tmp.error_code, l->flen[8]);
        al->principal = dup_len(a, tmp.principal, plen);
        if (l->nres) {
            const char **rl = km_arena_alloc(a, l->nres * sizeof *rl);
            const char *q = l->res;
            for (size_t i = 0; rl && i < l->nres; i++) {
                rl[i] = dup_or_null(a, q);
                q += strlen(q) + 1;
            }
            al->resources = rl;
            al->nresources = rl ? l->nres : 0;
        }
    } else {
        al->event_id = dup_len(a, l->f[1], l->flen[1]);
    }
    if (!km_corr_consumes(p->corr, (uint32_t)al->rule_index)) return;
    km_program_hit *h = km_arena_alloc(a, sizeof *h);
    if (!h) return;
    h->nvals = l->nvals[k];
    h->vals = km_arena_alloc(a, (h->nvals ? h->nvals : 1) * sizeof *h->vals);
    if (!h->vals) return;
    for (size_t i = 0; i < h->nvals; i++) h->vals[i] = dup_len(a, l->vals[l->first[k] + i], l->vlen[l->first[k] + i]);
    h->time_ms = l->time_ms;
    if (l->ctx && l->ctx_arena == a) {
        /* another hit of the same record in the same batch: the same event fields (the ctx has no
         * rule in it), built once */
        h->ctx = l->ctx;
        h->ctx_len = l->ctx_len;
    } else {
        /* the lengths in ctx_strs order (the input's is measured) */
        size_t known[CTX_NSTR] = {tmp.input ? strlen(tmp.input) : 0, l->flen[0], l->flen[1], l->flen[2], l->flen[3], l->flen[4],
                                  l->flen[5], plen, l->flen[6], l->flen[7], l->flen[8]};
        hit_ctx(h, &tmp, a, known);
        l->ctx = h->ctx;
        l->ctx_len = h->ctx_len;
        l->ctx_arena = a;
    }
    *hit = h;
}

/* ---- alerts as JSON and back ---- */

/* k is the member's whole prefix, `,"key":` (one append per field: this runs for every hit). */
static void jfield(km_buf *b, const char *k, size_t klen, const char *v) {
    km_buf_append(b, k, klen);
    if (v) km_buf_json_str(b, v, strlen(v));
    else km_buf_append(b, "null", 4);
}
#define JFIELD(b, k, v) jfield(b, ",\"" k "\":", sizeof(",\"" k "\":") - 1, v)

int km_alert_to_json(km_buf *b, const km_alert *a) {
    char num[32];
    size_t nl = 0;
    uint64_t o = a->offset;
    do { /* digits backwards: snprintf was a tenth of building this for every hit */
        num[sizeof num - 1 - nl++] = (char)('0' + o % 10);
        o /= 10;
    } while (o);
    km_buf_append(b, "{\"o\":", 5);
    km_buf_append(b, num + sizeof num - nl, nl);
    km_buf_puts(b, a->gzip ? ",\"gz\":1" : ",\"gz\":0");
    JFIELD(b, "in", a->input);
    JFIELD(b, "t", a->event_time);
    JFIELD(b, "i", a->event_id);
    JFIELD(b, "n", a->event_name);
    JFIELD(b, "s", a->event_source);
    JFIELD(b, "r", a->aws_region);
    JFIELD(b, "a", a->account);
    JFIELD(b, "p", a->principal);
    JFIELD(b, "ip", a->source_ip);
    JFIELD(b, "ua", a->user_agent);
    JFIELD(b, "e", a->error_code);
    km_buf_puts(b, ",\"res\":[");
    for (size_t i = 0; i < a->nresources; i++) {
        if (i) km_buf_putc(b, ',');
        km_buf_json_str(b, a->resources[i], strlen(a->resources[i]));
    }
    km_buf_putc(b, ']');
    if (a->record) {
        km_buf_puts(b, ",\"rec\":");
        km_buf_append(b, a->record, a->record_len);
    }
    km_buf_putc(b, '}');
    return b->failed ? -1 : 0;
}

static const char *jget(const km_json *o, const char *k) { return km_json_str(km_json_get(o, k)); }

static void fmt_time(char *buf, size_t n, int64_t ms) {
    if (ms < 0) {
        snprintf(buf, n, "?");
        return;
    }
    int64_t s = ms / 1000;
    long days = (long)(s / 86400), rem = (long)(s % 86400);
    /* civil from days (proleptic Gregorian) */
    long z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097, doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365, y = yoe + era * 400;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    long d = doy - (153 * mp + 2) / 5 + 1, m = mp + (mp < 10 ? 3 : -9);
    if (m <= 2) y++;
    if (y > 9999 || n < 21) {
        snprintf(buf, n, "%04ld-%02ld-%02ldT%02ld:%02ld:%02ldZ", y, m, d, rem / 3600, rem / 60 % 60, rem % 60);
        return;
    }
    /* digits by hand: snprintf was half of writing a threshold's alert (two times each) */
    long f[6] = {y, m, d, rem / 3600, rem / 60 % 60, rem % 60};
    char *q = buf;
    for (int i = 0; i < 6; i++) {
        if (i == 0) {
            *q++ = (char)('0' + f[0] / 1000);
            *q++ = (char)('0' + f[0] / 100 % 10);
        }
        *q++ = (char)('0' + f[i] / 10 % 10);
        *q++ = (char)('0' + f[i] % 10);
        *q++ = "--T::Z"[i];
    }
    *q = 0;
}

static void span_text(char *buf, size_t n, uint64_t ms) {
    if (ms % 86400000 == 0) snprintf(buf, n, "%" PRIu64 "d", ms / 86400000);
    else if (ms % 3600000 == 0) snprintf(buf, n, "%" PRIu64 "h", ms / 3600000);
    else if (ms % 60000 == 0) snprintf(buf, n, "%" PRIu64 "m", ms / 60000);
    else snprintf(buf, n, "%" PRIu64 "s", ms / 1000);
}

static void fire_alert(km_program *p, const km_rule *r, const km_corr_fire *f, km_alert *ap);

static void on_fire(void *ctx, const km_corr_fire *f) {
    km_program *p = ctx;
    const km_rule *r = km_ruleset_get(p->rs, f->id);
    if (!r || r->hidden || p->failed || r->severity < p->min_sev) return;
    km_alert a;
    memset(&a, 0, sizeof a);
    a.rule = r;
    a.rule_index = f->id;
    const char *resv[64];
    km_buf recb = KM_BUF_INIT;
    km_json_doc *d = NULL;
    if (f->ctx && f->ctx_len && f->ctx[0] == CTX_BIN) {
        if (ctx_decode(f->ctx, f->ctx_len, &a, resv)) {
            memset(&a, 0, sizeof a); /* not one: the alert without its event's fields */
            a.rule = r;
            a.rule_index = f->id;
            a.input = "-";
        } else if (a.record) {
            /* as the JSON context gave it: parsed and written again */
            km_json_doc *rd = km_json_parse(a.record, a.record_len, NULL, NULL, NULL);
            a.record = NULL;
            a.record_len = 0;
            if (rd && km_json_write(&recb, km_json_root(rd)) == 0) {
                a.record = recb.data;
                a.record_len = recb.len;
            }
            km_json_doc_free(rd);
        }
        fire_alert(p, r, f, &a);
        km_buf_free(&recb);
        return;
    }
    d = f->ctx ? km_json_parse(f->ctx, f->ctx_len, NULL, NULL, NULL) : NULL;
    const km_json *o = km_json_root(d);
    a.input = jget(o, "in") ? jget(o, "in") : "-";
    const km_json *off = km_json_get(o, "o");
    a.offset = off && off->type == KM_JSON_NUMBER ? strtoull(off->u.num.raw, NULL, 10) : 0;
    a.gzip = km_json_get(o, "gz") && km_json_get(o, "gz")->u.num.d != 0;
    a.event_time = jget(o, "t");
    a.event_id = jget(o, "i");
    a.event_name = jget(o, "n");
    a.event_source = jget(o, "s");
    a.aws_region = jget(o, "r");
    a.account = jget(o, "a");
    a.principal = jget(o, "p");
    a.source_ip = jget(o, "ip");
    a.user_agent = jget(o, "ua");
    a.error_code = jget(o, "e");
    const km_json *res = km_json_get(o, "res");
    for (size_t i = 0; i < km_json_len(res) && i < 64; i++) resv[a.nresources++] = km_json_str(km_json_at(res, i));
    a.resources = resv;
    const km_json *rec = km_json_get(o, "rec");
    if (rec) {
        km_json_write(&recb, rec);
        a.record = recb.data;
        a.record_len = recb.len;
    }
    fire_alert(p, r, f, &a);
    km_buf_free(&recb);
    km_json_doc_free(d);
}

/* Write the alert of a threshold or correlation that fired (a: its trigger event's fields). */
static void fire_alert(km_program *p, const km_rule *r, const km_corr_fire *f, km_alert *ap) {
    km_alert a = *ap;
    /* what was counted */
    km_buf det = KM_BUF_INIT;
    char span[32], t0[96], t1[96];
    span_text(span, sizeof span, r->span_ms);
    fmt_time(t0, sizeof t0, f->first_ms);
    fmt_time(t1, sizeof t1, f->last_ms);
    switch (r->corr_type) {
    case KM_CORR_EVENT_COUNT:
        km_buf_printf(&det, "%" PRIu64 " matching events within %s", f->count, span);
        break;
    case KM_CORR_VALUE_COUNT:
        km_buf_printf(&det, "%" PRIu64 " distinct values of %s within %s", f->count, r->value_field ? r->value_field : "?", span);
        break;
    case KM_CORR_TEMPORAL:
        km_buf_printf(&det, "%" PRIu64 " of the rules", f->count);
        for (size_t j = 0; j < r->ninputs; j++) km_buf_printf(&det, "%s%s", j ? ", " : " (", r->inputs[j]);
        km_buf_printf(&det, ") within %s", span);
        break;
    case KM_CORR_TEMPORAL_ORDERED:
        km_buf_puts(&det, "in order: ");
        for (size_t j = 0; j < r->ninputs; j++) km_buf_printf(&det, "%s%s", j ? " then " : "", r->inputs[j]);
        km_buf_printf(&det, ", within %s", span);
        break;
    }
    for (size_t g = 0; g < f->ngroup; g++) { /* appends: km_buf_printf cost a thousand instructions each */
        km_buf_puts(&det, g ? ", " : " by ");
        km_buf_puts(&det, r->group_by[g]);
        km_buf_putc(&det, '=');
        km_buf_puts(&det, f->group_vals[g] ? f->group_vals[g] : "(absent)");
    }
    km_buf_puts(&det, " (from ");
    km_buf_puts(&det, t0);
    km_buf_puts(&det, " to ");
    km_buf_puts(&det, t1);
    km_buf_putc(&det, ')');
    a.detail = det.data;
    if (km_writer_alert(p->w, &a)) p->failed = 1;
    else p->written++;
    km_buf_free(&det);
}

long km_program_alert(km_program *p, const km_alert *a, const km_program_hit *h, int same_event, km_writer *w) {
    p->w = w;
    p->written = 0;
    p->failed = 0;
    if (!same_event) p->fresh = 1; /* the record's first hit, whichever alert carries it, starts a new event */
    if (!a->rule->hidden && a->rule->severity >= p->min_sev) {
        if (km_writer_alert(w, a)) return -1;
        p->written++;
    }
    if (h) {
        km_buf ctx = KM_BUF_INIT;
        if (h->ctx) {
            ctx.data = (char *)h->ctx;
            ctx.len = h->ctx_len;
        } else {
            km_buf_reset(&p->ctx);
            ctx_lens c;
            ctx_measure(&c, a, NULL);
            if (km_buf_reserve(&p->ctx, c.total) == 0) {
                p->ctx.len = ctx_write(p->ctx.data, a, &c);
                p->ctx.data[p->ctx.len] = 0;
            }
            ctx = p->ctx;
        }
        km_corr_hit ch;
        memset(&ch, 0, sizeof ch);
        ch.id = (uint32_t)a->rule_index;
        ch.time_ms = h->time_ms;
        ch.vals = h->vals;
        ch.nvals = h->nvals;
        ch.event_id = a->event_id;
        ch.ctx = ctx.data;
        ch.ctx_len = ctx.len;
        ch.same_event = !p->fresh;
        p->fresh = 0;
        km_corr_feed(p->corr, &ch, on_fire, p);
    }
    return p->failed ? -1 : p->written;
}

int km_program_stateful(const km_program *p) {
    for (size_t i = 0; p && i < km_ruleset_count(p->rs); i++) {
        const km_rule *r = km_ruleset_get(p->rs, i);
        if (r->kind == KM_RULE_THRESHOLD || r->kind == KM_RULE_CORRELATION) return 1;
    }
    return 0;
}

int64_t km_program_record_time(const char *json, size_t len) {
    static const char key[] = "\"eventTime\"";
    /* Found through its capital T (rare in CloudTrail's text before eventTime, unlike the quote
     * memmem would start from): glibc's generic memmem was 2% of detect with thresholds. */
    if (len < sizeof key - 1) return -1;
    const char *end = json + len, *p = NULL;
    for (const char *t = json + 6; t < end; t++) {
        t = memchr(t, 'T', (size_t)(end - t));
        if (!t) break;
        if ((size_t)(end - t) >= 5 && !memcmp(t - 6, key, sizeof key - 1)) {
            p = t - 6;
            break;
        }
    }
    if (!p) return -1;
    p += sizeof key - 1;
    while (p < end && (*p == ' ' || *p == ':' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    if (p >= end || *p != '"') return -1;
    p++;
    const char *q = memchr(p, '"', (size_t)(end - p));
    return q ? km_corr_parse_time(p, (size_t)(q - p)) : -1;
}

int64_t km_program_match_time(const km_program *p, const km_matcher *m, const km_match_scratch *ms, const char *json,
                              size_t len) {
    /* from the match: no second scan of the text (a tenth of the thresholds' extra time) */
    if (p && p->km && p->km == m && ms) {
        const char *v;
        size_t n;
        return km_match_kept_string(m, ms, p->kh[0], &v, &n) ? km_corr_parse_time(v, n) : -1;
    }
    return km_program_record_time(json, len);
}

long km_program_tick(km_program *p, int64_t t, km_writer *w) {
    p->w = w;
    p->written = 0;
    p->failed = 0;
    km_corr_advance(p->corr, t, on_fire, p);
    return p->failed ? -1 : p->written;
}

long km_program_flush(km_program *p, km_writer *w) {
    p->w = w;
    p->written = 0;
    p->failed = 0;
    km_corr_flush(p->corr, on_fire, p);
    return p->failed ? -1 : p->written;
}

void km_program_stats(const km_program *p, km_corr_stats *st) { km_corr_get_stats(p->corr, st); }

int km_program_save(const km_program *p, km_buf *out) { return km_corr_save(p->corr, out); }

int km_program_load(km_program *p, const char *json, size_t len, km_error *err) {
    return km_corr_load(p->corr, json, len, err);
}

/* ---- running an example sequence (kumomori rules test, the tests) ---- */

typedef struct capture {
    size_t want;
    int fired;
    size_t alerts;
} capture;

static int cap_alert(km_writer *w, const km_alert *a) {
    capture *c = w->state;
    c->alerts++;
    if (a->rule_index == c->want) c->fired = 1;
    return 0;
}

static const km_writer_ops cap_ops = {"capture", "", NULL, cap_alert, NULL, NULL, NULL};

/* Replace {i} by the copy's number in every string of v, writing the result into b. */
static void write_subst(km_buf *b, const km_json *v, long i) {
    if (v->type == KM_JSON_STRING) {
        km_buf tmp = KM_BUF_INIT;
        const char *s = v->u.str.s;
        size_t n = v->u.str.len;
        for (size_t k = 0; k < n; k++) {
            if (k + 2 < n && s[k] == '{' && s[k + 1] == 'i' && s[k + 2] == '}') {
                km_buf_printf(&tmp, "%ld", i);
                k += 2;
            } else {
                km_buf_putc(&tmp, s[k]);
            }
        }
        km_buf_json_str(b, tmp.data ? tmp.data : "", tmp.len);
        km_buf_free(&tmp);
    } else if (v->type == KM_JSON_OBJECT) {
        km_buf_putc(b, '{');
        for (size_t k = 0; k < v->u.obj.n; k++) {
            if (k) km_buf_putc(b, ',');
            km_buf_json_str(b, v->u.obj.members[k].key, v->u.obj.members[k].key_len);
            km_buf_putc(b, ':');
            write_subst(b, v->u.obj.members[k].value, i);
        }
        km_buf_putc(b, '}');
    } else if (v->type == KM_JSON_ARRAY) {
        km_buf_putc(b, '[');
        for (size_t k = 0; k < v->u.arr.n; k++) {
            if (k) km_buf_putc(b, ',');
            write_subst(b, v->u.arr.items[k], i);
        }
        km_buf_putc(b, ']');
    } else {
        km_json_write(b, v);
    }
}

/* One record of a repeated entry: {i} replaced, eventTime moved by i * every, eventID made unique. */
static int expand_one(km_buf *out, const km_json *rec, long i, int64_t every) {
    const km_json *idv = km_json_get(rec, "eventID");
    int id_has_i = idv && idv->type == KM_JSON_STRING && strstr(idv->u.str.s, "{i}");
    km_buf tmp = KM_BUF_INIT;
    write_subst(&tmp, rec, i);
    km_json_doc *d = km_json_parse(tmp.data, tmp.len, NULL, NULL, NULL);
    km_buf_free(&tmp);
    const km_json *r = km_json_root(d);
    if (!r || r->type != KM_JSON_OBJECT) {
        km_json_doc_free(d);
        return -1;
    }
    km_buf_putc(out, '{');
    for (size_t k = 0; k < r->u.obj.n; k++) {
        const km_json_member *m = &r->u.obj.members[k];
        if (k) km_buf_putc(out, ',');
        km_buf_json_str(out, m->key, m->key_len);
        km_buf_putc(out, ':');
        if (!strcmp(m->key, "eventTime") && m->value->type == KM_JSON_STRING && every) {
            int64_t t = km_corr_parse_time(m->value->u.str.s, m->value->u.str.len);
            char tb[96];
            fmt_time(tb, sizeof tb, t < 0 ? t : t + (int64_t)i * every);
            km_buf_json_str(out, tb, strlen(tb));
        } else if (!strcmp(m->key, "eventID") && m->value->type == KM_JSON_STRING && !id_has_i) {
            char idb[400];
            snprintf(idb, sizeof idb, "%s-%ld", m->value->u.str.s, i);
            km_buf_json_str(out, idb, strlen(idb));
        } else {
            km_json_write(out, m->value);
        }
    }
    km_buf_putc(out, '}');
    km_json_doc_free(d);
    return 0;
}

int km_program_run_sequence(const km_ruleset *rs, const km_matcher *m, const char *seq, size_t len, size_t rule_index,
                            int *fired, km_error *err) {
    *fired = 0;
    km_json_doc *d = km_json_parse(seq, len, NULL, NULL, err);
    if (!d) return KM_ERR;
    const km_json *arr = km_json_root(d);
    if (arr->type != KM_JSON_ARRAY) {
        km_json_doc_free(d);
        return km_error_set(err, KM_ERR, 0, "an example sequence is a list of records");
    }
    km_program *p = km_program_new(rs, NULL, err);
    km_program_scratch *ps = km_program_scratch_new();
    km_match_scratch *ms = km_match_scratch_new();
    capture cap = {rule_index, 0, 0};
    km_writer w;
    memset(&w, 0, sizeof w);
    w.ops = &cap_ops;
    w.state = &cap;
    int rc = p && ps && ms ? KM_OK : KM_ERR;
    km_buf recs = KM_BUF_INIT;
    size_t nrec = 0;
    for (size_t i = 0; rc == KM_OK && i < arr->u.arr.n; i++) {
        const km_json *it = arr->u.arr.items[i];
        const km_json *rep = km_json_get(it, "repeat");
        if (rep) {
            const km_json *rec = km_json_get(it, "record");
            const char *ev = km_json_get_str(it, "every", "1s");
            int64_t every = km_corr_parse_span(ev);
            long n = rep->type == KM_JSON_NUMBER ? (long)rep->u.num.d : -1;
            if (!rec || n < 1 || n > 100000 || every < 0) {
                rc = km_error_set(err, KM_ERR, it->offset, "{\"repeat\": N (1..100000), \"every\": \"10s\", \"record\": {...}} expected");
                break;
            }
            for (long k = 0; k < n && rc == KM_OK; k++) {
                if (expand_one(&recs, rec, k, every)) rc = km_error_set(err, KM_ERR, rec->offset, "the repeated record is not an object");
                km_buf_putc(&recs, '\n');
                nrec++;
            }
        } else {
            km_json_write(&recs, it);
            km_buf_putc(&recs, '\n');
            nrec++;
        }
    }
    char *line = recs.data;
    for (size_t i = 0; rc == KM_OK && i < nrec; i++) {
        char *nl = strchr(line, '\n');
        size_t l = (size_t)(nl - line);
        const uint32_t *ids;
        km_error me;
        int n = km_matcher_match(m, ms, line, l, &ids, &me);
        km_json_doc *rd = km_json_parse(line, l, NULL, NULL, NULL);
        const km_json *root = km_json_root(rd);
        if (n >= 0) n = km_program_select(p, ps, root, ids, n, &ids);
        km_arena a;
        km_arena_init(&a, 0);
        for (int k = 0; k < n; k++) {
            km_alert al;
            memset(&al, 0, sizeof al);
            al.rule = km_ruleset_get(rs, ids[k]);
            al.rule_index = ids[k];
            al.input = "example";
            al.event_time = km_json_get_str(root, "eventTime", NULL);
            al.event_id = km_json_get_str(root, "eventID", NULL);
            al.event_name = km_json_get_str(root, "eventName", NULL);
            al.event_source = km_json_get_str(root, "eventSource", NULL);
            km_program_hit *h = km_program_make_hit(p, ids[k], root, &a);
            km_program_alert(p, &al, h, k > 0, &w);
        }
        km_arena_free(&a);
        km_json_doc_free(rd);
        line = nl + 1;
    }
    if (rc == KM_OK) km_program_flush(p, &w);
    *fired = cap.fired;
    km_buf_free(&recs);
    km_match_scratch_free(ms);
    km_program_scratch_free(ps);
    km_program_free(p);
    km_json_doc_free(d);
    return rc;
}
