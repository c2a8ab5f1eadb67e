/* CL2 matcher benchmark: the rule groups of aws/event-ruler's Benchmarks#CL2Benchmark (also in
 * timbray/quamina's cl2_test.go) over a citylots2-shaped JSON-lines file, through the public API
 * in include/kumomori/match.h only. Same method as the peers' harnesses: one matcher per group,
 * the group's rules added under ids 0..n-1, every event matched once per run, the events/s of the
 * run and the per-rule match counts; the median of --reps runs is reported.
 *
 * With --expect FILE (bench/cl2-peer-counts.txt) the per-rule counts are compared with the
 * counts the peers returned for the same file (identified by its MD5); any difference is a
 * failure (exit 1). Output lines are meant for bench/run.sh to parse:
 *   GROUP median_eps N min N max N runs N... counts C... check ok|MISMATCH|n/a add_ms N cpu_median_eps N
 * (median_eps from wall time, as the peers measure; cpu_median_eps from the thread's CPU time.)
 *
 * usage: cl2 [--rules FILE] [--expect FILE] [--reps N] EVENTS.jsonl [GROUP...] */
#include <errno.h>
#include <openssl/evp.h>
#include "bench_util.h"

#define MAX_GROUPS 64
#define MAX_RULES_PER_GROUP 256

typedef struct group {
    char name[64];
    int is_combo;
    char *rules[MAX_RULES_PER_GROUP]; /* pattern text (plain group), or group names (combo) */
    size_t n;
} group;

typedef struct expect {
    char name[64];
    unsigned long counts[MAX_RULES_PER_GROUP];
    size_t n;
} expect;

static group groups[MAX_GROUPS];
static size_t ngroups;
static expect expects[MAX_GROUPS];
static size_t nexpects;
static char expect_md5[64];
static unsigned long expect_events;

static group *find_group(const char *name) {
    for (size_t i = 0; i < ngroups; i++)
        if (strcmp(groups[i].name, name) == 0) return &groups[i];
    return NULL;
}

static const expect *find_expect(const char *name) {
    for (size_t i = 0; i < nexpects; i++)
        if (strcmp(expects[i].name, name) == 0) return &expects[i];
    return NULL;
}

static char *dup_n(const char *s, size_t n) {
    char *d = malloc(n + 1);
    if (!d) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

/* Rules file: "GROUP<TAB>pattern" or "=COMBO<TAB>GROUP GROUP ...", '#' comments. */
static int load_rules(const char *path, bench_lines *store) {
    if (bench_lines_load(store, path)) return -1;
    for (size_t i = 0; i < store->n; i++) {
        const char *p = store->v[i].p;
        size_t len = store->v[i].len;
        if (p[0] == '#') continue;
        const char *tab = memchr(p, '\t', len);
        if (!tab) {
            fprintf(stderr, "%s:%zu: no TAB between group and pattern\n", path, i + 1);
            return -1;
        }
        int combo = p[0] == '=';
        const char *name = p + combo;
        size_t nlen = (size_t)(tab - name);
        if (nlen == 0 || nlen >= sizeof groups[0].name) {
            fprintf(stderr, "%s:%zu: bad group name\n", path, i + 1);
            return -1;
        }
        char nm[64];
        memcpy(nm, name, nlen);
        nm[nlen] = 0;
        group *g = find_group(nm);
        if (!g) {
            if (ngroups == MAX_GROUPS) {
                fprintf(stderr, "%s:%zu: more than %d groups\n", path, i + 1, MAX_GROUPS);
                return -1;
            }
            g = &groups[ngroups++];
            memcpy(g->name, nm, nlen + 1);
            g->is_combo = combo;
        }
        const char *rest = tab + 1;
        size_t rlen = len - (size_t)(rest - p);
        if (!combo) {
            if (g->n == MAX_RULES_PER_GROUP) {
                fprintf(stderr, "%s:%zu: too many rules in %s\n", path, i + 1, nm);
                return -1;
            }
            g->rules[g->n++] = dup_n(rest, rlen);
            continue;
        }
        char *list = dup_n(rest, rlen);
        for (char *save = NULL, *tok = strtok_r(list, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
            if (g->n == MAX_RULES_PER_GROUP) {
                fprintf(stderr, "%s:%zu: too many groups in %s\n", path, i + 1, nm);
                free(list);
                return -1;
            }
            g->rules[g->n++] = dup_n(tok, strlen(tok));
        }
        free(list);
    }
    return 0;
}

/* Expected counts: "events N", "md5 HEX", "GROUP c1 c2 ...". */
static int load_expect(const char *path) {
    bench_lines f;
    if (bench_lines_load(&f, path)) return -1;
    for (size_t i = 0; i < f.n; i++) {
        if (f.v[i].p[0] == '#') continue;
        char *line = dup_n(f.v[i].p, f.v[i].len);
        char *save = NULL;
        char *key = strtok_r(line, " ", &save);
        char *val = key ? strtok_r(NULL, " ", &save) : NULL;
        if (!key || !val) {
            fprintf(stderr, "%s:%zu: expected a key and values\n", path, i + 1);
            free(line);
            bench_lines_free(&f);
            return -1;
        }
        if (strcmp(key, "md5") == 0) {
            snprintf(expect_md5, sizeof expect_md5, "%s", val);
        } else if (strcmp(key, "events") == 0) {
            expect_events = strtoul(val, NULL, 10);
        } else if (nexpects < MAX_GROUPS) {
            expect *e = &expects[nexpects++];
            snprintf(e->name, sizeof e->name, "%s", key);
            for (; val && e->n < MAX_RULES_PER_GROUP; val = strtok_r(NULL, " ", &save)) {
                char *endp;
                errno = 0;
                e->counts[e->n++] = strtoul(val, &endp, 10);
                if (*endp || errno) {
                    fprintf(stderr, "%s:%zu: bad count '%s'\n", path, i + 1, val);
                    free(line);
                    bench_lines_free(&f);
                    return -1;
                }
            }
        }
        free(line);
    }
    bench_lines_free(&f);
    return 0;
}

static void md5_hex(const char *p, size_t n, char out[33]) {
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int dl = 0;
    out[0] = 0;
    if (!EVP_Digest(p, n, d, &dl, EVP_md5(), NULL)) return;
    for (unsigned int i = 0; i < dl && i < 16; i++) snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* The patterns of a group (a combo expands to its groups' rules, in order). */
static size_t group_patterns(const group *g, const char **out, size_t max) {
    size_t n = 0;
    if (!g->is_combo) {
        for (size_t i = 0; i < g->n && n < max; i++) out[n++] = g->rules[i];
        return n;
    }
    for (size_t i = 0; i < g->n; i++) {
        const group *sub = find_group(g->rules[i]);
        if (!sub || sub->is_combo) {
            fprintf(stderr, "combo %s: unknown group %s\n", g->name, g->rules[i]);
            exit(2);
        }
        for (size_t j = 0; j < sub->n && n < max; j++) out[n++] = sub->rules[j];
    }
    return n;
}

/* One timed pass: returns events/s, fills counts[0..npat). Returns -1 when a pattern is
 * rejected. */
static double run_once(const char **pats, size_t npat, const bench_lines *ev, unsigned long *counts,
                       unsigned long *errors, double *add_seconds, double *cpu_eps) {
    km_error err;
    km_error_clear(&err);
    km_matcher *m = km_matcher_new();
    km_match_scratch *s = km_match_scratch_new();
    if (!m || !s) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    double t0 = bench_now();
    for (size_t i = 0; i < npat; i++) {
        if (km_matcher_add(m, (uint32_t)i, pats[i], strlen(pats[i]), &err) != KM_OK) {
            fprintf(stderr, "pattern %zu rejected: %s\n  %s\n", i, err.msg, pats[i]);
            km_match_scratch_free(s);
            km_matcher_free(m);
            return -1;
        }
    }
    *add_seconds = bench_now() - t0;
    memset(counts, 0, npat * sizeof *counts);
    *errors = 0;
    double before = bench_now(), cpu_before = bench_cpu_now();
    for (size_t e = 0; e < ev->n; e++) {
        const uint32_t *ids = NULL;
        int k = km_matcher_match(m, s, ev->v[e].p, ev->v[e].len, &ids, &err);
        if (k < 0) {
            if (*errors == 0) fprintf(stderr, "event %zu: %s\n", e + 1, err.msg);
            (*errors)++;
            continue;
        }
        for (int j = 0; j < k; j++)
            if (ids[j] < npat) counts[ids[j]]++;
    }
    double secs = bench_now() - before;
    *cpu_eps = (double)ev->n / (bench_cpu_now() - cpu_before);
    km_match_scratch_free(s);
    km_matcher_free(m);
    return (double)ev->n / secs;
}

static void usage(void) {
    fprintf(stderr, "usage: cl2 [--rules FILE] [--expect FILE] [--reps N] EVENTS.jsonl [GROUP...]\n");
    exit(2);
}

int main(int argc, char **argv) {
    const char *rules_path = "bench/cl2-rules.txt", *expect_path = NULL;
    long reps = 5;
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        if (strcmp(argv[i], "--rules") == 0 && i + 1 < argc) {
            rules_path = argv[++i];
        } else if (strcmp(argv[i], "--expect") == 0 && i + 1 < argc) {
            expect_path = argv[++i];
        } else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
            char *end;
            reps = strtol(argv[++i], &end, 10);
            if (*end || reps < 1 || reps > 1000) usage();
        } else {
            usage();
        }
    }
    if (i >= argc) usage();
    const char *events_path = argv[i++];

    bench_lines rules_store;
    if (load_rules(rules_path, &rules_store)) {
        bench_lines_free(&rules_store); /* load_rules leaves it freeable whatever went wrong */
        return 2;
    }
    if (expect_path && load_expect(expect_path)) {
        bench_lines_free(&rules_store);
        return 2;
    }
    bench_lines ev;
    if (bench_lines_load(&ev, events_path)) {
        bench_lines_free(&rules_store);
        return 2;
    }

    char md5[33];
    md5_hex(ev.text, ev.len, md5);
    int comparable = expect_path && strcmp(md5, expect_md5) == 0 && ev.n == expect_events;
    printf("events %zu md5 %s%s\n", ev.n, md5,
           !expect_path ? "" : comparable ? " (the file the peer counts were recorded on)"
                                          : " (NOT the file of the peer counts: counts not checked)");

    const char *sel[MAX_GROUPS];
    size_t nsel = 0;
    for (; i < argc && nsel < MAX_GROUPS; i++) {
        if (!find_group(argv[i])) {
            fprintf(stderr, "unknown group %s\n", argv[i]);
            bench_lines_free(&ev);
            bench_lines_free(&rules_store);
            return 2;
        }
        sel[nsel++] = argv[i];
    }
    if (nsel == 0)
        for (size_t g = 0; g < ngroups; g++) sel[nsel++] = groups[g].name;

    static const char *pats[MAX_GROUPS * MAX_RULES_PER_GROUP];
    static unsigned long counts[MAX_GROUPS * MAX_RULES_PER_GROUP], first[MAX_GROUPS * MAX_RULES_PER_GROUP];
    double *eps = calloc((size_t)reps, sizeof *eps), *cpu = calloc((size_t)reps, sizeof *cpu);
    if (!eps || !cpu) {
        free(eps);
        free(cpu);
        bench_lines_free(&ev);
        bench_lines_free(&rules_store);
        return 2;
    }
    int failed = 0;
    unsigned long errors = 0;
    double add_s = 0;

    /* Warm-up pass (caches, page faults on the event buffer), as the peers do with EXACT. */
    size_t nw = group_patterns(&groups[0], pats, sizeof pats / sizeof pats[0]);
    if (run_once(pats, nw, &ev, counts, &errors, &add_s, &cpu[0]) < 0) failed = 1;

    for (size_t gi = 0; gi < nsel; gi++) {
        const group *g = find_group(sel[gi]);
        size_t np = group_patterns(g, pats, sizeof pats / sizeof pats[0]);
        int ok = 1;
        double add_min = 1e30;
        for (long r = 0; r < reps && ok; r++) {
            eps[r] = run_once(pats, np, &ev, counts, &errors, &add_s, &cpu[r]);
            if (eps[r] < 0) {
                ok = 0;
                break;
            }
            if (add_s < add_min) add_min = add_s;
            if (r == 0) {
                memcpy(first, counts, np * sizeof *counts);
            } else if (memcmp(first, counts, np * sizeof *counts) != 0) {
                fprintf(stderr, "%s: counts differ between runs\n", g->name);
                failed = 1;
            }
        }
        if (!ok) {
            printf("%s unsupported check MISMATCH\n", g->name);
            failed = 1;
            continue;
        }
        double runs_copy[1000];
        memcpy(runs_copy, eps, (size_t)reps * sizeof *eps);
        double med = bench_median(runs_copy, (size_t)reps);
        printf("%s median_eps %.0f min %.0f max %.0f runs", g->name, med, runs_copy[0], runs_copy[reps - 1]);
        for (long r = 0; r < reps; r++) printf(" %.0f", eps[r]);
        printf(" counts");
        for (size_t k = 0; k < np; k++) printf(" %lu", first[k]);
        const expect *x = comparable ? find_expect(g->name) : NULL;
        const char *check = "n/a";
        if (x) {
            int same = x->n == np;
            for (size_t k = 0; same && k < np; k++) same = x->counts[k] == first[k];
            check = same ? "ok" : "MISMATCH";
            if (!same) failed = 1;
        }
        printf(" check %s add_ms %.3f cpu_median_eps %.0f", check, add_min * 1e3, bench_median(cpu, (size_t)reps));
        if (errors) printf(" event_errors %lu", errors);
        printf("\n");
        fflush(stdout);
        if (errors) failed = 1;
    }
    free(eps);
    free(cpu);
    bench_lines_free(&ev);
    for (size_t g = 0; g < ngroups; g++)
        for (size_t k = 0; k < groups[g].n; k++) free(groups[g].rules[k]);
    bench_lines_free(&rules_store);
    return failed;
}
