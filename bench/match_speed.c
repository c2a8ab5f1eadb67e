/* Matcher throughput: events per second for a set of patterns over a JSON-lines file.
 *
 *   build/bench/match_speed [-r ROUNDS] [-g GROUP] [-n COPIES] RULES.json EVENTS.jsonl
 *
 * RULES.json is bench/cl2-rules.json ({"groups": {"EXACT": [pattern, ...], ...}}); each group is
 * timed on its own (or only -g GROUP). -n COPIES adds every pattern COPIES times under distinct
 * ids with a changed value, to see how the cost grows with the number of patterns. Prints, per
 * group, the matches per pattern and the best events per CPU-second over the rounds. */
#include "kumomori/buf.h"
#include "kumomori/json.h"
#include "kumomori/match.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* CPU time of this thread: the machine is often shared, and wall time then measures the
 * neighbours. */
static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

typedef struct line { const char *s; size_t n; } line;

/* Copy k of a pattern: every string value gets a suffix so it matches nothing real. */
static void mutate(km_buf *out, const km_json *v, int k) {
    switch (v->type) {
    case KM_JSON_OBJECT:
        km_buf_putc(out, '{');
        for (size_t i = 0; i < v->u.obj.n; i++) {
            if (i) km_buf_putc(out, ',');
            km_buf_json_str(out, v->u.obj.members[i].key, v->u.obj.members[i].key_len);
            km_buf_putc(out, ':');
            mutate(out, v->u.obj.members[i].value, k);
        }
        km_buf_putc(out, '}');
        break;
    case KM_JSON_ARRAY:
        km_buf_putc(out, '[');
        for (size_t i = 0; i < v->u.arr.n; i++) {
            if (i) km_buf_putc(out, ',');
            mutate(out, v->u.arr.items[i], k);
        }
        km_buf_putc(out, ']');
        break;
    case KM_JSON_STRING: {
        /* operator names and numeric operators stay; values get "#k" */
        const char *s = v->u.str.s;
        if (!strcmp(s, "<") || !strcmp(s, "<=") || !strcmp(s, ">") || !strcmp(s, ">=") || !strcmp(s, "=")) {
            km_buf_json_str(out, s, v->u.str.len);
        } else {
            km_buf b = KM_BUF_INIT;
            km_buf_append(&b, s, v->u.str.len);
            km_buf_printf(&b, "#%d", k);
            km_buf_json_str(out, b.data, b.len);
            km_buf_free(&b);
        }
        break;
    }
    default:
        km_json_write(out, v);
    }
}

int main(int argc, char **argv) {
    int rounds = 5, copies = 0;
    const char *only = NULL;
    int a = 1;
    for (; a < argc && argv[a][0] == '-'; a++) {
        if (!strcmp(argv[a], "-r") && a + 1 < argc) rounds = (int)strtol(argv[++a], NULL, 10);
        else if (!strcmp(argv[a], "-g") && a + 1 < argc) only = argv[++a];
        else if (!strcmp(argv[a], "-n") && a + 1 < argc) copies = (int)strtol(argv[++a], NULL, 10);
        else { fprintf(stderr, "unknown option %s\n", argv[a]); return 2; }
    }
    if (argc - a != 2) {
        fprintf(stderr, "usage: match_speed [-r ROUNDS] [-g GROUP] [-n COPIES] RULES.json EVENTS.jsonl\n");
        return 2;
    }
    km_error err;
    size_t rlen, elen;
    char *rules = km_read_file(argv[a], 1 << 24, &rlen, &err);
    char *events = rules ? km_read_file(argv[a + 1], (size_t)4 << 30, &elen, &err) : NULL;
    if (!rules || !events) { fprintf(stderr, "%s\n", err.msg); return 2; }
    km_json_doc *doc = km_json_parse(rules, rlen, NULL, NULL, &err);
    if (!doc) { fprintf(stderr, "%s: %s\n", argv[a], err.msg); return 2; }
    const km_json *groups = km_json_get(km_json_root(doc), "groups");
    size_t nl = 0, cap = 1024;
    line *ls = malloc(cap * sizeof *ls);
    if (!ls) { fprintf(stderr, "out of memory\n"); return 2; }
    for (char *p = events, *end = events + elen; p < end;) {
        char *nlp = memchr(p, '\n', (size_t)(end - p));
        char *le = nlp ? nlp : end;
        if (le > p) {
            if (nl == cap) {
                line *nls = realloc(ls, (cap *= 2) * sizeof *nls);
                if (!nls) { fprintf(stderr, "out of memory\n"); exit(2); }
                ls = nls;
            }
            ls[nl++] = (line){p, (size_t)(le - p)};
        }
        p = le + 1;
    }
    printf("%zu events, %.1f MB, %d rounds%s\n", nl, elen / 1e6, rounds, copies ? "" : "");
    for (size_t g = 0; g < groups->u.obj.n; g++) {
        const char *gname = groups->u.obj.members[g].key;
        if (only && strcmp(only, gname)) continue;
        const km_json *arr = groups->u.obj.members[g].value;
        km_matcher *m = km_matcher_new();
        km_match_scratch *s = km_match_scratch_new();
        size_t np = arr->u.arr.n;
        for (size_t i = 0; i < np; i++) {
            km_buf b = KM_BUF_INIT;
            km_json_write(&b, arr->u.arr.items[i]);
            /* exit(): a benchmark that cannot run gives up at once, whatever it holds */
            if (km_matcher_add(m, (uint32_t)i, b.data, b.len, &err)) { fprintf(stderr, "%s[%zu]: %s\n", gname, i, err.msg); exit(2); }
            km_buf_free(&b);
            for (int k = 1; k <= copies; k++) {
                km_buf c = KM_BUF_INIT;
                mutate(&c, arr->u.arr.items[i], k);
                if (km_matcher_add(m, (uint32_t)(np + i * (size_t)copies + (size_t)k), c.data, c.len, &err)) {
                    fprintf(stderr, "%s copy: %s\n", gname, err.msg);
                    exit(2);
                }
                km_buf_free(&c);
            }
        }
        size_t *counts = calloc(np ? np : 1, sizeof *counts);
        if (!counts) { fprintf(stderr, "out of memory\n"); exit(2); }
        double best = 1e30;
        for (int r = 0; r < rounds; r++) {
            memset(counts, 0, np * sizeof *counts);
            double t0 = now();
            for (size_t i = 0; i < nl; i++) {
                const uint32_t *ids;
                int n = km_matcher_match(m, s, ls[i].s, ls[i].n, &ids, &err);
                if (n < 0) { fprintf(stderr, "event %zu: %s\n", i + 1, err.msg); exit(2); }
                for (int k = 0; k < n; k++)
                    if (ids[k] < np) counts[ids[k]]++;
            }
            double dt = now() - t0;
            if (dt < best) best = dt;
        }
        printf("%-28s %6zu patterns  %10.0f events/s  matches:", gname, km_matcher_count(m), nl / best);
        for (size_t i = 0; i < np; i++) printf(" %zu", counts[i]);
        printf("\n");
        free(counts);
        km_matcher_free(m);
        km_match_scratch_free(s);
    }
    km_json_doc_free(doc);
    free(rules);
    free(events);
    free(ls);
    return 0;
}
