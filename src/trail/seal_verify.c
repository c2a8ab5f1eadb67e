/* Verifying a sealed output (format in include/kumomori/seal.h).
 *
 * Each record carries its sequence number and chain link, so a record edited in place, a gap in
 * the numbers, a number out of order or given twice, and a line without a seal are each found
 * and named by line. Signatures pin the chain at checkpoints and at the end: a writer who edits
 * a record and recomputes the links after it escapes the per-record check but not the next
 * signature, which is then reported with the range of records it no longer covers. */
#include "kumomori/seal.h"
#include "kumomori/json.h"
#include "trail/seal_int.h"
#include "trail/util.h"

#include <stdlib.h>
#include <string.h>

typedef struct rec {
    size_t line;
    uint64_t seq;
    unsigned char link[32];
    const char *bytes; /* the record as the writer gave it: line minus the seal, plus '}' */
    size_t len;
    char *own;         /* the reconstructed bytes */
    int dup;
} rec;

typedef struct sigl {
    size_t line;
    uint64_t seq;
    unsigned char link[32];
    int final, valid;
} sigl;

typedef struct vstate {
    km_seal_report *r;
    const km_seal_key *pub;
    km_seal_stream *cur;
    unsigned char link0[32];
    int key_ok;
    rec *recs;
    size_t nrecs, caprecs;
    sigl *sigs;
    size_t nsigs, capsigs;
    size_t (*stray)[2]; /* runs of unsealed lines inside the current stream: first, last */
    size_t nstray, capstray;
    size_t cap_streams, cap_orph, cap_prob;
    size_t listed;       /* problems kept in the report so far */
    int cur_unlisted;    /* the current stream is past KM_SEAL_MAX_STREAMS */
    uint64_t unlisted_records;
    int oom;
} vstate;

const char *km_seal_kind_name(km_seal_kind k) {
    static const char *const n[] = {"edited", "deleted", "reordered", "inserted", "appended",
                                    "truncated", "bad-signature", "relinked", "wrong-key", "malformed"};
    return (unsigned)k < sizeof n / sizeof n[0] ? n[k] : "malformed";
}

static int grow(void **v, size_t *cap, size_t n, size_t elem) {
    if (n < *cap) return 0;
    size_t nc = *cap ? *cap * 2 : 16;
    void *nv = realloc(*v, nc * elem);
    if (!nv) return -1;
    *v = nv;
    *cap = nc;
    return 0;
}

/* Adds a problem about line (line_last = line) and returns it, or NULL when it is only counted
 * (past the listing caps) or memory ran out. */
static km_seal_problem *problem(vstate *v, km_seal_kind kind, size_t line, uint64_t seq, uint64_t seq_last,
                                const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static km_seal_problem *problem(vstate *v, km_seal_kind kind, size_t line, uint64_t seq, uint64_t seq_last,
                                const char *fmt, ...) {
    if (v->listed >= KM_SEAL_MAX_PROBLEMS || (v->cur && v->cur_unlisted)) {
        v->r->unlisted_problems++;
        return NULL;
    }
    km_seal_problem **arr;
    size_t *n, *cap;
    if (v->cur) { /* problems go to the current stream, whose array only grows while current */
        arr = &v->cur->problems;
        n = &v->cur->nproblems;
        cap = &v->cap_prob;
    } else {
        arr = &v->r->orphans;
        n = &v->r->norphans;
        cap = &v->cap_orph;
    }
    if (grow((void **)arr, cap, *n, sizeof **arr)) { v->oom = 1; return NULL; }
    km_seal_problem *p = &(*arr)[(*n)++];
    v->listed++;
    p->kind = kind;
    p->line = p->line_last = line;
    p->seq = seq;
    p->seq_last = seq_last;
    km_buf b = KM_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    km_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    p->message = km_buf_steal(&b, NULL);
    if (!p->message) v->oom = 1;
    return p;
}

/* One problem for lines first..last, all unsealed (inserted). */
static void unsealed_run(vstate *v, size_t first, size_t last, const char *one, const char *many) {
    km_seal_problem *p;
    if (first == last) p = problem(v, KM_SEAL_INSERTED, first, 0, 0, "line %zu %s", first, one);
    else p = problem(v, KM_SEAL_INSERTED, first, 0, 0, "lines %zu to %zu (%zu lines) %s", first, last,
                     last - first + 1, many);
    if (p) p->line_last = last;
}

/* ---- reading lines ------------------------------------------------------------------------ */

static int is_hex(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return 0;
    }
    return 1;
}

/* The record's seal: the line ends with "kumomori_seal":{"seq":N,"link":"<64 hex>"}} (found
 * from the end, so a record may contain the same words). Returns 1 and fills r, 0 when the line
 * carries no seal. */
static int parse_record(const char *line, size_t len, rec *r) {
    static const char mark[] = "\"kumomori_seal\":{\"seq\":";
    const size_t ml = sizeof mark - 1;
    if (len < ml + 2 || line[0] != '{') return 0;
    size_t pos = len - ml;
    for (;;) {
        if (memcmp(line + pos, mark, ml) == 0) break;
        if (pos == 0) return 0;
        pos--;
    }
    const char *p = line + pos + ml, *end = line + len;
    uint64_t seq = 0;
    int nd = 0;
    while (p < end && *p >= '0' && *p <= '9' && nd < 20) {
        seq = seq * 10 + (uint64_t)(*p - '0');
        p++;
        nd++;
    }
    static const char mid[] = ",\"link\":\"";
    if (nd == 0 || (size_t)(end - p) != sizeof mid - 1 + 64 + 3) return 0;
    if (memcmp(p, mid, sizeof mid - 1) != 0) return 0;
    p += sizeof mid - 1;
    if (!is_hex(p, 64) || memcmp(p + 64, "\"}}", 3) != 0) return 0;
    km_hex_decode(p, 64, r->link, 32, NULL);
    r->seq = seq;
    /* the record before sealing: without the seal member and its comma */
    size_t keep = pos;
    if (pos > 0 && line[pos - 1] == ',') keep = pos - 1;
    else if (pos == 0) return 0;
    r->own = malloc(keep + 2);
    if (!r->own) return -1;
    memcpy(r->own, line, keep);
    r->own[keep] = '}';
    r->own[keep + 1] = 0;
    r->bytes = r->own;
    r->len = keep + 1;
    return 1;
}

static int hex_field(const km_json *o, const char *name, size_t n, unsigned char *out) {
    const char *s = km_json_get_str(o, name, NULL);
    if (!s || strlen(s) != 2 * n || !is_hex(s, 2 * n)) return -1;
    km_hex_decode(s, 2 * n, out, n, NULL);
    return 0;
}

static int seq_field(const km_json *o, uint64_t *seq) {
    const km_json *v = km_json_get(o, "seq");
    if (!v || v->type != KM_JSON_NUMBER) return -1;
    const char *s = v->u.num.raw;
    uint64_t x = 0;
    size_t i = 0;
    for (; i < v->u.num.len && i < 20; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        x = x * 10 + (uint64_t)(s[i] - '0');
    }
    if (i == 0 || i != v->u.num.len) return -1;
    *seq = x;
    return 0;
}

/* ---- one stream's analysis --------------------------------------------------------------- */

static int cmp_rec_seq(const void *a, const void *b) {
    const rec *x = *(rec *const *)a, *y = *(rec *const *)b;
    if (x->seq != y->seq) return x->seq < y->seq ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

static int chains(const unsigned char prev[32], const rec *r) {
    unsigned char h[32];
    if (km_seal_link(prev, r->seq, r->bytes, r->len, h)) return 0;
    return memcmp(h, r->link, 32) == 0;
}

static void finish_stream(vstate *v, size_t last_line) {
    km_seal_stream *st = v->cur;
    if (!st) return;
    st->last_line = last_line;
    rec **by = malloc((v->nrecs ? v->nrecs : 1) * sizeof *by);
    if (!by) { v->oom = 1; return; }
    for (size_t i = 0; i < v->nrecs; i++) by[i] = &v->recs[i];
    qsort(by, v->nrecs, sizeof *by, cmp_rec_seq);

    for (size_t i = 0; i < v->nstray; i++)
        unsealed_run(v, v->stray[i][0], v->stray[i][1], "has no seal: inserted", "have no seal: inserted");

    /* Records numbered 0 cannot come from a sealer. */
    for (size_t i = 0; i < v->nrecs; i++)
        if (by[i]->seq == 0) {
            by[i]->dup = 1;
            problem(v, KM_SEAL_INSERTED, by[i]->line, 0, 0, "line %zu claims record number 0: inserted", by[i]->line);
        }

    /* Two records with one number: keep the one that chains from its predecessor. */
    const rec *prev_unique = NULL;
    for (size_t i = 0; i < v->nrecs;) {
        size_t j = i;
        while (j < v->nrecs && by[j]->seq == by[i]->seq) j++;
        if (by[i]->seq == 0) { i = j; continue; }
        if (j - i > 1) {
            const unsigned char *pl = by[i]->seq == 1 ? v->link0
                                      : (prev_unique && prev_unique->seq + 1 == by[i]->seq ? prev_unique->link : NULL);
            size_t keep = i;
            if (pl)
                for (size_t k = i; k < j; k++)
                    if (chains(pl, by[k])) { keep = k; break; }
            for (size_t k = i; k < j; k++) {
                if (k == keep) continue;
                by[k]->dup = 1;
                problem(v, KM_SEAL_INSERTED, by[k]->line, by[k]->seq, by[k]->seq,
                        "line %zu repeats record %llu (line %zu): inserted or duplicated", by[k]->line,
                        (unsigned long long)by[k]->seq, by[keep]->line);
            }
            prev_unique = by[keep];
        } else {
            prev_unique = by[i];
        }
        i = j;
    }
    /* compact to the unique records, by number */
    size_t nu = 0;
    for (size_t i = 0; i < v->nrecs; i++)
        if (!by[i]->dup) by[nu++] = by[i];
    st->records = nu;

    /* the valid final signature, and the highest number a signature vouches for */
    const sigl *fin = NULL;
    for (size_t i = 0; i < v->nsigs; i++)
        if (v->sigs[i].valid && v->sigs[i].final) fin = &v->sigs[i];
    for (size_t i = 0; i < v->nsigs; i++) st->signatures += v->sigs[i].valid != 0;
    st->final = fin != NULL;

    /* gaps in the numbers: deleted records */
    uint64_t expect = 1;
    size_t prev_line = st->first_line;
    for (size_t i = 0; i < nu; i++) {
        if (by[i]->seq > expect) {
            if (by[i]->seq - 1 == expect)
                problem(v, KM_SEAL_DELETED, by[i]->line, expect, expect,
                        "record %llu was deleted (between line %zu and line %zu)", (unsigned long long)expect,
                        prev_line, by[i]->line);
            else
                problem(v, KM_SEAL_DELETED, by[i]->line, expect, by[i]->seq - 1,
                        "records %llu to %llu were deleted (between line %zu and line %zu)",
                        (unsigned long long)expect, (unsigned long long)(by[i]->seq - 1), prev_line, by[i]->line);
        }
        expect = by[i]->seq + 1;
        prev_line = by[i]->line;
    }
    if (fin && fin->seq >= expect) {
        if (fin->seq == expect)
            problem(v, KM_SEAL_DELETED, fin->line, expect, expect,
                    "record %llu was deleted (the final signature at line %zu counts %llu records)",
                    (unsigned long long)expect, fin->line, (unsigned long long)fin->seq);
        else
            problem(v, KM_SEAL_DELETED, fin->line, expect, fin->seq,
                    "records %llu to %llu were deleted (the final signature at line %zu counts %llu records)",
                    (unsigned long long)expect, (unsigned long long)fin->seq, fin->line,
                    (unsigned long long)fin->seq);
    }

    /* order in the file */
    const rec *maxr = NULL;
    for (size_t i = 0; i < v->nrecs; i++) {
        const rec *r = &v->recs[i];
        if (r->dup) continue;
        if (maxr && r->seq < maxr->seq)
            problem(v, KM_SEAL_REORDERED, r->line, r->seq, r->seq,
                    "record %llu (line %zu) is out of order: it comes after record %llu (line %zu)",
                    (unsigned long long)r->seq, r->line, (unsigned long long)maxr->seq, maxr->line);
        else
            maxr = r;
    }

    /* each record against its predecessor's link */
    for (size_t i = 0; i < nu; i++) {
        const rec *r = by[i];
        const unsigned char *pl = NULL;
        if (r->seq == 1) pl = v->link0;
        else if (i > 0 && by[i - 1]->seq + 1 == r->seq) pl = by[i - 1]->link;
        if (!pl || chains(pl, r)) continue;
        if (r->seq == 1)
            problem(v, KM_SEAL_EDITED, r->line, 1, 1,
                    "record 1 (line %zu) or the stream header (line %zu) was edited: it does not match its seal",
                    r->line, st->first_line);
        else
            problem(v, KM_SEAL_EDITED, r->line, r->seq, r->seq,
                    "record %llu (line %zu) was edited: it does not match its seal", (unsigned long long)r->seq,
                    r->line);
    }

    /* signatures against the records they cover */
    uint64_t good_seq = 0;
    size_t good_line = st->first_line;
    for (size_t i = 0; i < v->nsigs; i++) {
        const sigl *s = &v->sigs[i];
        if (!s->valid) continue;
        const unsigned char *have = NULL;
        if (s->seq == 0) {
            have = v->link0;
        } else {
            size_t lo = 0, hi = nu;
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (by[mid]->seq < s->seq) lo = mid + 1;
                else hi = mid;
            }
            if (lo < nu && by[lo]->seq == s->seq) have = by[lo]->link;
        }
        if (!have) continue; /* the record is gone: reported as deleted */
        if (memcmp(have, s->link, 32) != 0) {
            if (s->seq == 0)
                problem(v, KM_SEAL_RELINKED, s->line, 0, 0,
                        "the stream header (line %zu) was changed after the signature at line %zu",
                        st->first_line, s->line);
            else
                problem(v, KM_SEAL_RELINKED, s->line, good_seq + 1, s->seq,
                        "the signature at line %zu no longer matches: records %llu to %llu were changed "
                        "and their seals recomputed after signing (last good signature: line %zu)",
                        s->line, (unsigned long long)good_seq + 1, (unsigned long long)s->seq, good_line);
        } else {
            good_seq = s->seq;
            good_line = s->line;
        }
    }

    /* the end of the stream (unknowable when the signatures could not be checked) */
    if (v->key_ok && !fin) {
        const sigl *last = NULL;
        for (size_t i = 0; i < v->nsigs; i++)
            if (v->sigs[i].valid) last = &v->sigs[i];
        uint64_t top = nu ? by[nu - 1]->seq : 0;
        if (last && top > last->seq)
            problem(v, KM_SEAL_TRUNCATED, last_line, last->seq + 1, top,
                    "truncated: no final signature; the last valid signature (line %zu) covers records 1 to "
                    "%llu, records %llu to %llu are covered by none, and any after them may have been cut off",
                    last->line, (unsigned long long)last->seq, (unsigned long long)last->seq + 1,
                    (unsigned long long)top);
        else if (last)
            problem(v, KM_SEAL_TRUNCATED, last_line, last->seq + 1, 0,
                    "truncated: no final signature after line %zu (records 1 to %llu are covered; any after "
                    "them were cut off)", last->line, (unsigned long long)last->seq);
        else
            problem(v, KM_SEAL_TRUNCATED, last_line, 1, top,
                    "truncated: the stream has no valid signature, so none of its %llu records is covered",
                    (unsigned long long)top);
    } else if (fin) {
        for (size_t i = 0; i < v->nrecs; i++) {
            const rec *r = &v->recs[i];
            if (!r->dup && (r->seq > fin->seq || r->line > fin->line))
                problem(v, KM_SEAL_APPENDED, r->line, r->seq, r->seq,
                        "record %llu (line %zu) comes after the final signature (line %zu): appended",
                        (unsigned long long)r->seq, r->line, fin->line);
        }
        for (size_t i = 0; i < v->nsigs; i++)
            if (v->sigs[i].line > fin->line && v->sigs[i].valid)
                problem(v, KM_SEAL_APPENDED, v->sigs[i].line, 0, 0,
                        "a signature (line %zu) comes after the final signature (line %zu)", v->sigs[i].line,
                        fin->line);
    }
    free(by);
    for (size_t i = 0; i < v->nrecs; i++) free(v->recs[i].own);
    v->nrecs = v->nsigs = v->nstray = 0;
    if (v->cur_unlisted) {
        /* past KM_SEAL_MAX_STREAMS: verified (its problems counted), then folded into the counts */
        v->unlisted_records += st->records;
        v->r->unlisted_streams++;
        free(st->producer);
        free(st->problems);
        v->r->nstreams--;
        v->cur_unlisted = 0;
    }
    v->cur = NULL;
}

/* ---- the file ---------------------------------------------------------------------------- */

static void header_line(vstate *v, const char *line, size_t len, size_t lineno) {
    km_seal_report *r = v->r;
    if (grow((void **)&r->streams, &v->cap_streams, r->nstreams, sizeof *r->streams)) { v->oom = 1; return; }
    km_seal_stream *st = &r->streams[r->nstreams++];
    memset(st, 0, sizeof *st);
    st->first_line = st->last_line = lineno;
    v->cur = st;
    v->cur_unlisted = r->nstreams > KM_SEAL_MAX_STREAMS;
    v->cap_prob = 0;
    v->key_ok = 0;
    km_seal_link0(line, len, v->link0);
    km_error e;
    km_json_doc *doc = km_json_parse(line, len, NULL, NULL, &e);
    if (!doc && e.code == KM_ENOMEM) v->oom = 1; /* harden helper: not a verdict on the line */
    const km_json *h = doc ? km_json_get(km_json_root(doc), "kumomori_seal_stream") : NULL;
    const km_json *ver = km_json_get(h, "version");
    const char *id = km_json_get_str(h, "stream", NULL), *key = km_json_get_str(h, "key", NULL);
    if (!h || !ver || ver->type != KM_JSON_NUMBER || ver->u.num.d != 1 || !id || strlen(id) != 32 ||
        !is_hex(id, 32) || !key || strlen(key) != 64 || !is_hex(key, 64)) {
        problem(v, KM_SEAL_MALFORMED, lineno, 0, 0, "line %zu: unreadable stream header%s%s", lineno,
                doc ? "" : ": ", doc ? "" : e.msg);
        km_json_doc_free(doc);
        return;
    }
    memcpy(st->id, id, 33);
    memcpy(st->key, key, 65);
    snprintf(st->created, sizeof st->created, "%s", km_json_get_str(h, "created", ""));
    const char *prod = km_json_get_str(h, "producer", "");
    st->producer = malloc(strlen(prod) + 1);
    if (st->producer) memcpy(st->producer, prod, strlen(prod) + 1);
    else v->oom = 1;
    km_json_doc_free(doc); /* id and key were copied into st */
    if (strcmp(st->key, km_seal_key_id(v->pub)) != 0)
        problem(v, KM_SEAL_WRONG_KEY, lineno, 0, 0,
                "line %zu: the stream was sealed with key %.16s..., not the given key %.16s...", lineno,
                st->key, km_seal_key_id(v->pub));
    else
        v->key_ok = 1;
}

static void signature_line(vstate *v, const char *line, size_t len, size_t lineno) {
    km_error e;
    km_json_doc *doc = km_json_parse(line, len, NULL, NULL, &e);
    if (!doc && e.code == KM_ENOMEM) v->oom = 1; /* harden helper: not a verdict on the line */
    const km_json *s = doc ? km_json_get(km_json_root(doc), "kumomori_seal_signature") : NULL;
    sigl sg;
    memset(&sg, 0, sizeof sg);
    sg.line = lineno;
    unsigned char sig[64];
    const char *t = km_json_get_str(s, "time", NULL);
    const km_json *fin = km_json_get(s, "final");
    if (!s || seq_field(s, &sg.seq) || hex_field(s, "link", 32, sg.link) || hex_field(s, "sig", 64, sig) ||
        !t || !fin || (fin->type != KM_JSON_TRUE && fin->type != KM_JSON_FALSE)) {
        problem(v, KM_SEAL_MALFORMED, lineno, 0, 0, "line %zu: unreadable signature line", lineno);
        km_json_doc_free(doc);
        return;
    }
    sg.final = fin->type == KM_JSON_TRUE;
    if (v->key_ok && v->cur->id[0]) {
        char lh[65];
        km_hex_encode(sg.link, 32, lh);
        km_buf msg = KM_BUF_INIT;
        km_seal_sig_message(&msg, v->cur->id, sg.seq, lh, t, sg.final);
        if (msg.failed) { /* no message to check: out of memory, not a forged signature */
            km_buf_free(&msg);
            km_json_doc_free(doc);
            v->oom = 1;
            return;
        }
        sg.valid = km_seal_key_verify(v->pub, msg.data, msg.len, sig);
        km_buf_free(&msg);
        if (!sg.valid)
            problem(v, KM_SEAL_BAD_SIGNATURE, lineno, 0, sg.seq,
                    "the signature at line %zu (over records 1 to %llu) does not verify: forged or edited",
                    lineno, (unsigned long long)sg.seq);
    }
    km_json_doc_free(doc);
    if (grow((void **)&v->sigs, &v->capsigs, v->nsigs, sizeof *v->sigs)) { v->oom = 1; return; }
    v->sigs[v->nsigs++] = sg;
}

int km_seal_verify(const char *text, size_t len, const km_seal_key *pub, km_seal_report **out,
                   km_error *err) {
    *out = NULL;
    vstate v;
    memset(&v, 0, sizeof v);
    v.pub = pub;
    v.r = calloc(1, sizeof *v.r);
    if (!v.r) return km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
    static const char hdr[] = "{\"kumomori_seal_stream\":", sgn[] = "{\"kumomori_seal_signature\":";
    size_t lineno = 0, pos = 0;
    size_t orph_first = 0, orph_last = 0; /* the lines before the first header (one run) */
    while (pos < len && !v.oom) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        const char *line = text + pos;
        size_t ll = end - pos;
        pos = nl ? end + 1 : len;
        lineno++;
        if (ll && line[ll - 1] == '\r') ll--;
        if (ll >= sizeof hdr - 1 && memcmp(line, hdr, sizeof hdr - 1) == 0) {
            if (orph_first) {
                unsealed_run(&v, orph_first, orph_last, "is not part of a sealed stream (before any stream header)",
                             "are not part of a sealed stream (before any stream header)");
                orph_first = 0;
            }
            finish_stream(&v, lineno - 1);
            header_line(&v, line, ll, lineno);
            continue;
        }
        if (!v.cur) {
            if (ll == 0 && !nl) break;
            if (!orph_first) orph_first = lineno;
            orph_last = lineno;
            continue;
        }
        v.cur->last_line = lineno;
        if (ll >= sizeof sgn - 1 && memcmp(line, sgn, sizeof sgn - 1) == 0) {
            signature_line(&v, line, ll, lineno);
            continue;
        }
        rec r;
        memset(&r, 0, sizeof r);
        r.line = lineno;
        int pr = parse_record(line, ll, &r);
        if (pr < 0) { v.oom = 1; break; }
        if (pr == 0) {
            if (v.nstray && v.stray[v.nstray - 1][1] + 1 == lineno) {
                v.stray[v.nstray - 1][1] = lineno; /* the run goes on */
                continue;
            }
            if (grow((void **)&v.stray, &v.capstray, v.nstray, sizeof *v.stray)) { v.oom = 1; break; }
            v.stray[v.nstray][0] = v.stray[v.nstray][1] = lineno;
            v.nstray++;
            continue;
        }
        if (grow((void **)&v.recs, &v.caprecs, v.nrecs, sizeof *v.recs)) { free(r.own); v.oom = 1; break; }
        v.recs[v.nrecs++] = r;
    }
    if (orph_first && !v.oom)
        unsealed_run(&v, orph_first, orph_last, "is not part of a sealed stream (before any stream header)",
                     "are not part of a sealed stream (before any stream header)");
    if (!v.oom) finish_stream(&v, lineno);
    if (!v.oom && v.r->nstreams == 0)
        problem(&v, KM_SEAL_MALFORMED, 0, 0, 0, "no sealed stream: the file has no kumomori_seal_stream header");
    for (size_t i = 0; i < v.nrecs; i++) free(v.recs[i].own);
    free(v.recs);
    free(v.sigs);
    free(v.stray);
    if (v.oom) {
        km_seal_report_free(v.r);
        return km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
    }
    v.r->records = v.unlisted_records;
    for (size_t i = 0; i < v.r->nstreams; i++) v.r->records += v.r->streams[i].records;
    *out = v.r;
    return KM_OK;
}

/* ---- the report -------------------------------------------------------------------------- */

void km_seal_report_free(km_seal_report *r) {
    if (!r) return;
    for (size_t i = 0; i < r->nstreams; i++) {
        for (size_t j = 0; j < r->streams[i].nproblems; j++) free(r->streams[i].problems[j].message);
        free(r->streams[i].problems);
        free(r->streams[i].producer);
    }
    for (size_t j = 0; j < r->norphans; j++) free(r->orphans[j].message);
    free(r->orphans);
    free(r->streams);
    free(r);
}

int km_seal_report_ok(const km_seal_report *r) {
    if (!r || r->nstreams == 0 || r->norphans || r->unlisted_problems) return 0;
    for (size_t i = 0; i < r->nstreams; i++)
        if (r->streams[i].nproblems) return 0;
    return 1;
}

static size_t count_problems(const km_seal_report *r) {
    size_t n = r->norphans + r->unlisted_problems;
    for (size_t i = 0; i < r->nstreams; i++) n += r->streams[i].nproblems;
    return n;
}

static void text_problem(FILE *f, const km_seal_problem *p) {
    fprintf(f, "  %s\t%s\n", km_seal_kind_name(p->kind), p->message);
}

void km_seal_report_text(const km_seal_report *r, const char *name, FILE *f) {
    size_t ns = r->nstreams + r->unlisted_streams;
    fprintf(f, "Sealed output %s: %zu stream%s, %llu record%s\n", name, ns, ns == 1 ? "" : "s",
            (unsigned long long)r->records, r->records == 1 ? "" : "s");
    for (size_t j = 0; j < r->norphans; j++) text_problem(f, &r->orphans[j]);
    for (size_t i = 0; i < r->nstreams; i++) {
        const km_seal_stream *s = &r->streams[i];
        fprintf(f, "stream %s (lines %zu-%zu, %s, key %.16s): %llu record%s, %zu valid signature%s%s\n",
                s->id[0] ? s->id : "?", s->first_line, s->last_line, s->producer ? s->producer : "?", s->key,
                (unsigned long long)s->records, s->records == 1 ? "" : "s", s->signatures,
                s->signatures == 1 ? "" : "s", s->final ? " (final)" : "");
        for (size_t j = 0; j < s->nproblems; j++) text_problem(f, &s->problems[j]);
    }
    if (r->unlisted_streams)
        fprintf(f, "... and %zu more stream%s, verified but not listed (a report lists %d)\n", r->unlisted_streams,
                r->unlisted_streams == 1 ? "" : "s", KM_SEAL_MAX_STREAMS);
    if (r->unlisted_problems)
        fprintf(f, "... and %zu more problem%s, counted but not listed (a report lists %d)\n", r->unlisted_problems,
                r->unlisted_problems == 1 ? "" : "s", KM_SEAL_MAX_PROBLEMS);
    size_t np = count_problems(r);
    if (km_seal_report_ok(r))
        fprintf(f, "INTACT: every record is covered by a valid final signature\n");
    else
        fprintf(f, "TAMPERED: %zu problem%s\n", np, np == 1 ? "" : "s");
}

static void json_problem(km_buf *o, const km_seal_problem *p) {
    km_buf_printf(o, "{\"kind\":\"%s\",\"line\":", km_seal_kind_name(p->kind));
    if (p->line) km_buf_printf(o, "%zu,\"line_last\":%zu", p->line, p->line_last ? p->line_last : p->line);
    else km_buf_puts(o, "null,\"line_last\":null");
    km_buf_puts(o, ",\"seq\":");
    if (p->seq) km_buf_printf(o, "%llu", (unsigned long long)p->seq);
    else km_buf_puts(o, "null");
    km_buf_puts(o, ",\"seq_last\":");
    if (p->seq_last) km_buf_printf(o, "%llu", (unsigned long long)p->seq_last);
    else km_buf_puts(o, "null");
    km_buf_puts(o, ",\"message\":");
    km_buf_json_str(o, p->message ? p->message : "", p->message ? strlen(p->message) : 0);
    km_buf_putc(o, '}');
}

int km_seal_report_json(const km_seal_report *r, km_buf *o) {
    km_buf_puts(o, "{\"streams\":[");
    for (size_t i = 0; i < r->nstreams; i++) {
        const km_seal_stream *s = &r->streams[i];
        if (i) km_buf_putc(o, ',');
        km_buf_printf(o, "{\"stream\":\"%s\",\"key\":\"%s\",\"created\":", s->id, s->key);
        km_buf_json_str(o, s->created, strlen(s->created));
        km_buf_puts(o, ",\"producer\":");
        km_buf_json_str(o, s->producer ? s->producer : "", s->producer ? strlen(s->producer) : 0);
        km_buf_printf(o, ",\"first_line\":%zu,\"last_line\":%zu,\"records\":%llu,\"signatures\":%zu,"
                      "\"final\":%s,\"problems\":[", s->first_line, s->last_line,
                      (unsigned long long)s->records, s->signatures, s->final ? "true" : "false");
        for (size_t j = 0; j < s->nproblems; j++) {
            if (j) km_buf_putc(o, ',');
            json_problem(o, &s->problems[j]);
        }
        km_buf_puts(o, "]}");
    }
    km_buf_puts(o, "],\"other_problems\":[");
    for (size_t j = 0; j < r->norphans; j++) {
        if (j) km_buf_putc(o, ',');
        json_problem(o, &r->orphans[j]);
    }
    km_buf_printf(o, "],\"summary\":{\"streams\":%zu,\"records\":%llu,\"problems\":%zu,\"valid\":%s,"
                  "\"unlisted_streams\":%zu,\"unlisted_problems\":%zu}}\n",
                  r->nstreams + r->unlisted_streams, (unsigned long long)r->records, count_problems(r),
                  km_seal_report_ok(r) ? "true" : "false", r->unlisted_streams, r->unlisted_problems);
    return o->failed ? -1 : 0;
}
