/* Loader for the pattern corpora used by the matcher tests (see match_corpus.h). */
#include "match_corpus.h"
#include "test.h"
#include "kumomori/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dup_n(const char *s, size_t n) {
    char *p = malloc(n + 1);
    if (!p) return NULL;
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

static char *to_text(const km_json *v, size_t *len) {
    if (v->type == KM_JSON_STRING) {
        *len = v->u.str.len;
        return dup_n(v->u.str.s, v->u.str.len);
    }
    km_buf b = KM_BUF_INIT;
    if (km_json_write(&b, v) != 0) {
        km_buf_free(&b);
        return NULL;
    }
    return km_buf_steal(&b, len);
}

int km_mcases_load(const char *rel, km_mcases *out) {
    out->c = NULL;
    out->n = 0;
    const char *corp = km_test_corpora();
    if (!corp) return -1;
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", corp, rel);
    size_t len;
    char *text = km_test_read(path, &len);
    if (!text) return -1;
    const char *base = strrchr(rel, '/');
    base = base ? base + 1 : rel;
    size_t cap = 1024;
    out->c = calloc(cap, sizeof *out->c);
    size_t line = 0;
    char *p = text, *end = text + len;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *le = nl ? nl : end;
        line++;
        if (le > p) {
            if (out->n == cap) {
                cap *= 2;
                out->c = realloc(out->c, cap * sizeof *out->c);
            }
            km_mcase *c = &out->c[out->n];
            memset(c, 0, sizeof *c);
            km_error err;
            c->doc = km_json_parse(p, (size_t)(le - p), NULL, NULL, &err);
            if (!c->doc) {
                fprintf(stderr, "%s:%zu: %s\n", rel, line, err.msg);
                p = le + 1;
                continue;
            }
            const km_json *r = km_json_root(c->doc);
            snprintf(c->key, sizeof c->key, "%s:%zu", base, line);
            const km_json *pat = km_json_get(r, "pattern");
            if (!pat) pat = km_json_get(r, "event_pattern");
            const km_json *ev = km_json_get(r, "event");
            c->pattern = to_text(pat, &c->plen);
            c->event = to_text(ev, &c->elen);
            c->source = km_json_get_str(r, "source", km_json_get_str(r, "name", "?"));
            const km_json *m = km_json_get(r, "matches");
            const char *peer = km_json_get_str(r, "peer", NULL);
            const char *exp = km_json_get_str(r, "expected", NULL);
            const char *ruler = km_json_get_str(r, "ruler", NULL);
            if (exp) {
                c->expected = strcmp(exp, "match") == 0 ? 1 : strcmp(exp, "no_match") == 0 ? 0 : -1;
            } else if (ruler) {
                c->expected = strcmp(ruler, "true") == 0 ? 1 : strcmp(ruler, "false") == 0 ? 0 : -1;
            } else if (peer && strcmp(peer, "quamina") == 0) {
                const km_json *er = km_json_get(r, "event_ruler");
                if (km_json_is(er, KM_JSON_STRING)) {
                    c->expected = -2;
                    c->skip_reason = "(not listed) event-ruler rejects this quamina pattern";
                } else {
                    c->expected = km_json_is(er, KM_JSON_TRUE);
                }
            } else {
                c->expected = km_json_is(m, KM_JSON_TRUE);
            }
            const char *why = km_mskip_reason(c->key);
            if (why) {
                c->expected = -2;
                c->skip_reason = why;
            }
            out->n++;
        }
        p = le + 1;
    }
    free(text);
    return 0;
}

void km_mcases_free(km_mcases *cs) {
    for (size_t i = 0; i < cs->n; i++) {
        free(cs->c[i].pattern);
        free(cs->c[i].event);
        km_json_doc_free(cs->c[i].doc);
    }
    free(cs->c);
    cs->c = NULL;
    cs->n = 0;
}

/* ---- skip list ---------------------------------------------------------------------------- */

typedef struct skip {
    char *key, *reason;
    int used;
} skip;
static skip *skips;
static size_t nskips;
static int skips_loaded;

static void load_skips(void) {
    if (skips_loaded) return;
    skips_loaded = 1;
    char path[8192];
    snprintf(path, sizeof path, "%s/tests/data/match-skips.tsv", km_test_top());
    size_t len;
    char *t = km_test_read(path, &len);
    if (!t) return;
    size_t cap = 256;
    skips = calloc(cap, sizeof *skips);
    char *save = NULL;
    for (char *ln = strtok_r(t, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
        if (ln[0] == '#' || ln[0] == 0) continue;
        char *tab1 = strchr(ln, '\t');
        if (!tab1) continue;
        char *tab2 = strchr(tab1 + 1, '\t');
        if (!tab2) continue;
        if (nskips == cap) {
            cap *= 2;
            void *ns = realloc(skips, cap * sizeof *skips);
            if (!ns) { fprintf(stderr, "match_corpus: out of memory\n"); exit(1); }
            skips = ns;
        }
        skips[nskips].key = dup_n(ln, (size_t)(tab1 - ln));
        skips[nskips].reason = strdup(tab2 + 1);
        skips[nskips].used = 0;
        nskips++;
    }
    free(t);
}

const char *km_mskip_reason(const char *key) {
    load_skips();
    /* the list is sorted by file then line as written; a linear scan is fast enough here */
    for (size_t i = 0; i < nskips; i++) {
        if (strcmp(skips[i].key, key) == 0) {
            skips[i].used = 1;
            return skips[i].reason;
        }
    }
    return NULL;
}

size_t km_mskip_unused(char *first, size_t cap) {
    load_skips();
    size_t n = 0;
    for (size_t i = 0; i < nskips; i++) {
        if (!skips[i].used) {
            if (n == 0 && first) snprintf(first, cap, "%s", skips[i].key);
            n++;
        }
    }
    return n;
}
