/* Rule-count scaling benchmark: the same events matched against few and against many generated
 * patterns (default 10 and 10,000), events/s for each and their ratio. The target is a
 * ratio of at least 0.5: the matcher compiles every pattern into one automaton, so the cost per
 * event should hardly grow with the number of patterns.
 *
 * The patterns are generated deterministically (fixed-seed PRNG) from values sampled out of the
 * events themselves, so they are selective like real detection rules (each matches a handful of
 * events; the number of matches per event stays small whatever the pattern count, and the time
 * measured is the matcher's, not the cost of returning thousands of ids). Ten families, taken in
 * turn, so the 10-pattern set has one of each: exact (4 of 10), prefix + exact, equals-ignore-case
 * + exact, numeric range, wildcard, exact + anything-but, exact + suffix. The first N patterns of
 * the 10,000 are the N-pattern set.
 *
 * usage: scale [--reps N] [--families LIST] [--dump] EVENTS.jsonl [COUNT...]
 *   --families 0,7 generates only those families (0-3 exact, 4 prefix, 5 equals-ignore-case,
 *   6 numeric, 7 wildcard, 8 anything-but, 9 suffix), to see which one costs what;
 *   --dump prints the patterns as "SCALE<count><TAB>pattern" lines (the bench/cl2-rules.txt format)
 *   instead of measuring, so the same sets can be given to other matchers. */
#include <ctype.h>
#include "bench_util.h"

#define MAX_COUNTS 8

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rng(void) { /* xorshift64*: deterministic across platforms */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

typedef struct sample {
    char mbl[32], street[64], from[32], block[16];
    double x;
} sample;

static void copy_str(char *dst, size_t cap, const km_json *v) {
    const char *s = km_json_str(v);
    snprintf(dst, cap, "%s", s ? s : "");
}

/* Fields of a random event; returns 0, or -1 when the chosen event lacks them (skipped). */
static int take_sample(const bench_lines *ev, sample *out) {
    const bench_line *l = &ev->v[rng() % ev->n];
    km_error err;
    km_json_doc *doc = km_json_parse(l->p, l->len, NULL, NULL, &err);
    if (!doc) return -1;
    const km_json *root = km_json_root(doc);
    const km_json *x = km_json_path(root, "geometry.firstCoordinates.x");
    copy_str(out->mbl, sizeof out->mbl, km_json_path(root, "properties.MAPBLKLOT"));
    copy_str(out->street, sizeof out->street, km_json_path(root, "properties.STREET"));
    copy_str(out->from, sizeof out->from, km_json_path(root, "properties.FROM_ST"));
    copy_str(out->block, sizeof out->block, km_json_path(root, "properties.BLOCK_NUM"));
    int ok = x && x->type == KM_JSON_NUMBER && strlen(out->mbl) >= 6 && strlen(out->street) >= 2 &&
             out->from[0] && out->block[0];
    if (ok) out->x = x->u.num.d;
    km_json_doc_free(doc);
    return ok ? 0 : -1;
}

/* A pattern of family fam (0..9) into b. */
static int make_pattern(km_buf *b, int fam, const bench_lines *ev) {
    sample s, o;
    int tries = 0;
    while (take_sample(ev, &s))
        if (++tries > 1000) return -1;
    km_buf_reset(b);
    char tmp[64];
    size_t ml = strlen(s.mbl), sl = strlen(s.street);
    switch (fam) {
    case 0: case 1: case 2: case 3:
        km_buf_puts(b, "{\"properties\":{\"MAPBLKLOT\":[");
        km_buf_json_str(b, s.mbl, ml);
        km_buf_puts(b, "]}}");
        break;
    case 4:
        km_buf_puts(b, "{\"properties\":{\"MAPBLKLOT\":[{\"prefix\":");
        km_buf_json_str(b, s.mbl, 5);
        km_buf_puts(b, "}]},\"geometry\":{\"type\":[\"Polygon\"]}}");
        break;
    case 5:
        for (size_t k = 0; k < sl && k + 1 < sizeof tmp; k++) tmp[k] = (char)tolower((unsigned char)s.street[k]);
        tmp[sl < sizeof tmp - 1 ? sl : sizeof tmp - 1] = 0;
        km_buf_puts(b, "{\"properties\":{\"STREET\":[{\"equals-ignore-case\":");
        km_buf_json_str(b, tmp, strlen(tmp));
        km_buf_puts(b, "}],\"FROM_ST\":[");
        km_buf_json_str(b, s.from, strlen(s.from));
        km_buf_puts(b, "]}}");
        break;
    case 6:
        km_buf_printf(b, "{\"geometry\":{\"firstCoordinates\":{\"x\":[{\"numeric\":[\">=\",%.15g,\"<=\",%.15g]}]}}}",
                      s.x - 2e-6, s.x + 2e-6);
        break;
    case 7:
        snprintf(tmp, sizeof tmp, "%.3s*%.24s", s.mbl, s.mbl + 5);
        km_buf_puts(b, "{\"properties\":{\"MAPBLKLOT\":[{\"wildcard\":");
        km_buf_json_str(b, tmp, strlen(tmp));
        km_buf_puts(b, "}]}}");
        break;
    case 8:
        while (take_sample(ev, &o))
            if (++tries > 1000) return -1;
        km_buf_puts(b, "{\"properties\":{\"MAPBLKLOT\":[");
        km_buf_json_str(b, s.mbl, ml);
        km_buf_puts(b, "],\"STREET\":[{\"anything-but\":[");
        km_buf_json_str(b, o.street, strlen(o.street));
        km_buf_puts(b, "]}]}}");
        break;
    default:
        km_buf_puts(b, "{\"properties\":{\"BLOCK_NUM\":[");
        km_buf_json_str(b, s.block, strlen(s.block));
        km_buf_puts(b, "],\"STREET\":[{\"suffix\":");
        km_buf_json_str(b, s.street + sl - 2, 2);
        km_buf_puts(b, "}]}}");
        break;
    }
    return 0;
}

static void usage(void) {
    fprintf(stderr, "usage: scale [--reps N] [--families LIST] [--dump] EVENTS.jsonl [COUNT...]\n");
    exit(2);
}

int main(int argc, char **argv) {
    long reps = 3;
    int dump = 0, i = 1, fams[10], nfam = 0;
    for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
            char *end;
            reps = strtol(argv[++i], &end, 10);
            if (*end || reps < 1 || reps > 100) usage();
        } else if (strcmp(argv[i], "--families") == 0 && i + 1 < argc) {
            for (const char *p = argv[++i]; *p; p++) {
                if (*p == ',') continue;
                if (*p < '0' || *p > '9' || nfam == 10) usage();
                fams[nfam++] = *p - '0';
            }
        } else if (strcmp(argv[i], "--dump") == 0) {
            dump = 1;
        } else {
            usage();
        }
    }
    if (i >= argc) usage();
    if (nfam == 0)
        for (nfam = 0; nfam < 10; nfam++) fams[nfam] = nfam;
    const char *events_path = argv[i++];
    size_t counts[MAX_COUNTS], ncounts = 0, maxn = 0;
    for (; i < argc && ncounts < MAX_COUNTS; i++) {
        char *end;
        long v = strtol(argv[i], &end, 10);
        if (*end || v < 1 || v > 10000000) usage();
        counts[ncounts++] = (size_t)v;
    }
    if (ncounts == 0) {
        counts[0] = 10;
        counts[1] = 10000;
        ncounts = 2;
    }
    for (size_t k = 0; k < ncounts; k++)
        if (counts[k] > maxn) maxn = counts[k];

    /* From here on a failure ends the process with exit(): the benchmark gives up at once and the
     * system takes back what it holds. */
    bench_lines ev;
    if (bench_lines_load(&ev, events_path)) return 2;
    if (ev.n == 0) {
        fprintf(stderr, "%s: no events\n", events_path);
        exit(2);
    }

    char **pats = calloc(maxn, sizeof *pats);
    km_buf b;
    km_buf_init(&b, 4096);
    if (!pats) exit(2);
    for (size_t k = 0; k < maxn; k++) {
        if (make_pattern(&b, fams[k % (size_t)nfam], &ev)) {
            fprintf(stderr, "%s: could not sample usable events\n", events_path);
            exit(2);
        }
        pats[k] = malloc(b.len + 1);
        if (!pats[k]) exit(2);
        memcpy(pats[k], b.data, b.len);
        pats[k][b.len] = 0;
    }
    km_buf_free(&b);

    if (dump) {
        for (size_t c = 0; c < ncounts; c++)
            for (size_t k = 0; k < counts[c]; k++) printf("SCALE%zu\t%s\n", counts[c], pats[k]);
        return 0;
    }

    printf("events %zu\n", ev.n);
    /* All matchers are built first and their runs interleaved (10, 10000, 10, 10000, ...), so that a
     * change in the machine's load during the benchmark hits every pattern count alike. */
    typedef struct cell {
        km_matcher *m;
        km_match_scratch *s;
        double add_s, eps[100], cpu[100];
        unsigned long total, errors, matched_events;
        size_t distinct;
    } cell;
    static cell cells[MAX_COUNTS];
    double med[MAX_COUNTS], cpu_med[MAX_COUNTS];
    uint32_t *hits = calloc(maxn, sizeof *hits);
    if (!hits) exit(2);
    int failed = 0;
    km_error err;
    km_error_clear(&err);
    for (size_t c = 0; c < ncounts; c++) {
        cell *x = &cells[c];
        x->m = km_matcher_new();
        x->s = km_match_scratch_new();
        if (!x->m || !x->s) exit(2);
        double t0 = bench_now();
        for (size_t k = 0; k < counts[c]; k++) {
            if (km_matcher_add(x->m, (uint32_t)k, pats[k], strlen(pats[k]), &err) != KM_OK) {
                fprintf(stderr, "pattern %zu rejected: %s\n  %s\n", k, err.msg, pats[k]);
                exit(1);
            }
        }
        x->add_s = bench_now() - t0;
    }
    for (long r = 0; r < reps; r++) {
        for (size_t c = 0; c < ncounts; c++) {
            cell *x = &cells[c];
            x->total = x->errors = x->matched_events = 0;
            double before = bench_now(), cpu_before = bench_cpu_now();
            for (size_t e = 0; e < ev.n; e++) {
                const uint32_t *ids;
                int got = km_matcher_match(x->m, x->s, ev.v[e].p, ev.v[e].len, &ids, &err);
                if (got < 0) {
                    x->errors++;
                    continue;
                }
                x->total += (unsigned long)got;
                x->matched_events += got > 0;
                if (r == 0)
                    for (int j = 0; j < got; j++) hits[ids[j]] = 1;
            }
            x->eps[r] = (double)ev.n / (bench_now() - before);
            x->cpu[r] = (double)ev.n / (bench_cpu_now() - cpu_before);
            if (r == 0) {
                x->distinct = 0;
                for (size_t k = 0; k < counts[c]; k++) x->distinct += hits[k], hits[k] = 0;
            }
        }
    }
    for (size_t c = 0; c < ncounts; c++) {
        cell *x = &cells[c];
        med[c] = bench_median(x->eps, (size_t)reps);
        cpu_med[c] = bench_median(x->cpu, (size_t)reps);
        printf("SCALE patterns %zu median_eps %.0f min %.0f max %.0f cpu_median_eps %.0f add_ms %.1f matches %lu "
               "matching_events %lu patterns_that_matched %zu",
               counts[c], med[c], x->eps[0], x->eps[reps - 1], cpu_med[c], x->add_s * 1e3, x->total,
               x->matched_events, x->distinct);
        if (x->errors) printf(" event_errors %lu", x->errors), failed = 1;
        printf("\n");
        km_match_scratch_free(x->s);
        km_matcher_free(x->m);
    }
    if (ncounts >= 2)
        printf("SCALE ratio %.3f cpu_ratio %.3f (events/s with %zu patterns / with %zu; target >= 0.5)\n",
               med[ncounts - 1] / med[0], cpu_med[ncounts - 1] / cpu_med[0], counts[ncounts - 1], counts[0]);
    for (size_t k = 0; k < maxn; k++) free(pats[k]);
    free(pats);
    free(hits);
    bench_lines_free(&ev);
    return failed;
}
