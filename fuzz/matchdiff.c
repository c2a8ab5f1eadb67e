/* Differential fuzzing of the EventBridge matcher (src/match: many patterns in one automaton)
 * against the reference matcher written for the tests (tests/ref_match.c: one pattern at a time,
 * interpreted, no automaton), on random patterns and events from a seeded generator.
 *
 * Each round puts 1..4 random patterns into one matcher (ids 1..4; patterns the matcher refuses
 * are counted and left out, since the reference does not validate), sometimes deletes one again,
 * then matches 1..3 random events and compares, for every pattern and event, whether the matcher
 * returned its id with what the reference says. A "pair" is one (pattern, event) comparison.
 *
 * The generator covers every operator (exact strings/numbers/null/booleans, prefix, suffix,
 * equals-ignore-case and their combinations, anything-but in all forms, numeric ranges, exists,
 * cidr, wildcard with escapes, $or), nested objects, arrays of values and of objects (the
 * array-consistency rule), non-ASCII case folding, numbers written several ways and dotted keys.
 *
 * Built as build/fuzz/match_diff (N SEED) by `make fuzz` and `make matchdiff`; the unit tests
 * run a short round (tests/test_fuzz_regress.c). */
#include "kumomori/buf.h"
#include "kumomori/match.h"
#include "../tests/ref_match.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct km_matchdiff_stats {
    uint64_t pairs, matched, rejected, differences, events_refused;
} km_matchdiff_stats;

int km_matchdiff_run(uint64_t npairs, uint64_t seed, FILE *log, km_matchdiff_stats *st);

static uint64_t rs;
static uint32_t rnd(uint32_t n) {
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return (uint32_t)((rs * 0x2545F4914F6CDD1Dull) >> 33) % n;
}

static const char *const keys[] = {"a", "b", "c", "d", "e", "a.b", "B", "\\u00e9"};
static const char *const strs[] = {"x", "xy", "X", "yx", "", "10.0.0.1", "a*b", "ab", "Ab", "x.y", "\\u00e9",
                                   "\\u00c9", "xyz", "ABC", "abc", "10.1.2.3", "2001:db8::1", "192.168.0.1",
                                   "\\u03a3", "\\u03c3", "\\u03c2", "*", "aXb", "\\\\", "\\\"q", "ss",
                                   "\\u00df", "K", "\\u212a", "k", "x\\u0000y", "1", "true"};
#define NSTRS (sizeof strs / sizeof strs[0])
static const char *const nums[] = {"0", "1", "1.0", "-1", "2.5", "100", "1e2", "-0", "3", "1E2", "0.1",
                                   "5e-324", "1.7976931348623157e308", "123456789012345678901", "0.30000000000000001",
                                   "-2.5", "99.999", "1e-7", "10", "-100"};
#define NNUMS (sizeof nums / sizeof nums[0])
/* Numbers numeric bounds accept (comparable ones). */
static const char *const bounds[] = {"0", "1", "-1", "2.5", "100", "1e2", "3", "0.1", "-2.5", "99.999", "10", "-100", "1e-7"};
#define NBOUNDS (sizeof bounds / sizeof bounds[0])
/* Mostly valid: refusals are the pattern target's business (fuzz/fuzz_pattern.c). */
static const char *const wilds[] = {"*", "x*", "*x", "*x*", "a*b", "a\\\\*b", "*y*z", "x*y", "\\\\\\\\*",
                                    "10.*.1", "*\\u00e9", "X*", "a*b*c", "", "*\\u0000*", "\\\\**"};
#define NWILDS (sizeof wilds / sizeof wilds[0])
static const char *const cidrs[] = {"10.0.0.0/8", "10.1.0.0/16", "192.168.0.0/24", "0.0.0.0/0", "2001:db8::/32",
                                    "10.0.0.1/31", "::/0", "10.0.0.0/33", "2001:db8::1/127"};
#define NCIDRS (sizeof cidrs / sizeof cidrs[0])

static void qs(km_buf *b, const char *s) { km_buf_printf(b, "\"%s\"", s); }

static void rand_scalar(km_buf *b) {
    uint32_t r = rnd(12);
    if (r < 6) qs(b, strs[rnd(NSTRS)]);
    else if (r < 10) km_buf_puts(b, nums[rnd(NNUMS)]);
    else if (r == 10) km_buf_puts(b, rnd(2) ? "true" : "false");
    else km_buf_puts(b, "null");
}

static void rand_event_obj(km_buf *b, int depth);

static void rand_event_val(km_buf *b, int depth) {
    uint32_t r = rnd(depth < 3 ? 9 : 5);
    if (r < 4) rand_scalar(b);
    else if (r < 6) {
        km_buf_putc(b, '[');
        uint32_t n = rnd(4);
        for (uint32_t i = 0; i < n; i++) {
            if (i) km_buf_putc(b, ',');
            uint32_t k = rnd(6);
            if (depth < 3 && k < 2) rand_event_obj(b, depth + 1);
            else if (depth < 3 && k == 2) rand_event_val(b, depth + 1);
            else rand_scalar(b);
        }
        km_buf_putc(b, ']');
    } else rand_event_obj(b, depth + 1);
}

static void rand_event_obj(km_buf *b, int depth) {
    km_buf_putc(b, '{');
    uint32_t n = rnd(4) + (depth == 0 ? 2 : 0);
    for (uint32_t i = 0; i < n; i++) {
        if (i) km_buf_putc(b, ',');
        qs(b, keys[rnd(depth == 0 ? 6 : 8)]);
        km_buf_putc(b, ':');
        rand_event_val(b, depth);
    }
    km_buf_putc(b, '}');
}

static void str_list(km_buf *b, int allow_single) {
    if (allow_single && rnd(2)) { qs(b, strs[rnd(NSTRS)]); return; }
    km_buf_putc(b, '[');
    uint32_t n = 1 + rnd(3);
    for (uint32_t i = 0; i < n; i++) {
        if (i) km_buf_putc(b, ',');
        qs(b, strs[rnd(NSTRS)]);
    }
    km_buf_putc(b, ']');
}

static void rand_matcher(km_buf *b) {
    static const char *const ops[] = {"<", "<=", ">", ">=", "="};
    switch (rnd(26)) {
    case 0: case 1: qs(b, strs[rnd(NSTRS)]); break;
    case 2: case 3: km_buf_puts(b, nums[rnd(NNUMS)]); break;
    case 4: km_buf_puts(b, rnd(3) == 0 ? "true" : rnd(2) ? "false" : "null"); break;
    case 5: km_buf_puts(b, "{\"prefix\":"); qs(b, strs[rnd(NSTRS)]); km_buf_putc(b, '}'); break;
    case 6: km_buf_puts(b, "{\"suffix\":"); qs(b, strs[rnd(NSTRS)]); km_buf_putc(b, '}'); break;
    case 7: km_buf_puts(b, "{\"equals-ignore-case\":"); qs(b, strs[rnd(NSTRS)]); km_buf_putc(b, '}'); break;
    case 8: case 9: km_buf_puts(b, "{\"wildcard\":"); qs(b, wilds[rnd(NWILDS)]); km_buf_putc(b, '}'); break;
    case 10: km_buf_puts(b, "{\"anything-but\":"); str_list(b, 1); km_buf_putc(b, '}'); break;
    case 11:
        if (rnd(2)) km_buf_printf(b, "{\"anything-but\":%s}", nums[rnd(NNUMS)]);
        else km_buf_printf(b, "{\"anything-but\":[%s,%s]}", nums[rnd(NNUMS)], nums[rnd(NNUMS)]);
        break;
    case 12: km_buf_puts(b, "{\"anything-but\":{\"prefix\":"); qs(b, strs[rnd(NSTRS)]); km_buf_puts(b, "}}"); break;
    case 13: km_buf_puts(b, "{\"anything-but\":{\"suffix\":"); qs(b, strs[rnd(NSTRS)]); km_buf_puts(b, "}}"); break;
    case 14: km_buf_puts(b, "{\"anything-but\":{\"equals-ignore-case\":"); str_list(b, 1); km_buf_puts(b, "}}"); break;
    case 15: km_buf_puts(b, "{\"anything-but\":{\"wildcard\":"); qs(b, wilds[rnd(NWILDS)]); km_buf_puts(b, "}}"); break;
    case 16: {
        uint32_t o = rnd(5);
        if (o < 4 && rnd(2)) {
            const char *lo = o < 2 ? ">" : ">=";
            km_buf_printf(b, "{\"numeric\":[\"%s\",%s,\"%s\",%s]}", rnd(2) ? lo : ">=", bounds[rnd(NBOUNDS)],
                          rnd(2) ? "<" : "<=", bounds[rnd(NBOUNDS)]);
        } else {
            km_buf_printf(b, "{\"numeric\":[\"%s\",%s]}", ops[o], bounds[rnd(NBOUNDS)]);
        }
        break;
    }
    case 17: case 18: km_buf_printf(b, "{\"exists\":%s}", rnd(2) ? "true" : "false"); break;
    case 19: km_buf_printf(b, "{\"cidr\":\"%s\"}", cidrs[rnd(NCIDRS)]); break;
    case 20: km_buf_puts(b, "{\"prefix\":{\"equals-ignore-case\":"); qs(b, strs[rnd(NSTRS)]); km_buf_puts(b, "}}"); break;
    case 21: km_buf_puts(b, "{\"suffix\":{\"equals-ignore-case\":"); qs(b, strs[rnd(NSTRS)]); km_buf_puts(b, "}}"); break;
    case 22: km_buf_puts(b, "{\"anything-but\":{\"prefix\":"); str_list(b, 0); km_buf_puts(b, "}}"); break;
    case 23: km_buf_puts(b, "{\"anything-but\":{\"suffix\":"); str_list(b, 0); km_buf_puts(b, "}}"); break;
    case 24: km_buf_puts(b, "{\"anything-but\":{\"wildcard\":["); qs(b, wilds[rnd(NWILDS)]); km_buf_putc(b, ',');
        qs(b, wilds[rnd(NWILDS)]); km_buf_puts(b, "]}}"); break;
    default: km_buf_puts(b, "{\"exists\":true}"); break;
    }
}

static void rand_pattern_obj(km_buf *b, int depth) {
    km_buf_putc(b, '{');
    uint32_t n = rnd(3) + 1;
    for (uint32_t i = 0; i < n; i++) {
        if (i) km_buf_putc(b, ',');
        if (depth < 2 && rnd(7) == 0) {
            km_buf_puts(b, "\"$or\":[");
            uint32_t k = 2 + rnd(2);
            for (uint32_t j = 0; j < k; j++) {
                if (j) km_buf_putc(b, ',');
                rand_pattern_obj(b, depth + 1);
            }
            km_buf_putc(b, ']');
            continue;
        }
        qs(b, keys[rnd(depth == 0 ? 6 : 8)]);
        km_buf_putc(b, ':');
        if (depth < 3 && rnd(3) == 0) {
            rand_pattern_obj(b, depth + 1);
        } else {
            km_buf_putc(b, '[');
            uint32_t k = rnd(3) + 1;
            for (uint32_t j = 0; j < k; j++) {
                if (j) km_buf_putc(b, ',');
                rand_matcher(b);
            }
            km_buf_putc(b, ']');
        }
    }
    km_buf_putc(b, '}');
}

int km_matchdiff_run(uint64_t npairs, uint64_t seed, FILE *log, km_matchdiff_stats *st) {
    memset(st, 0, sizeof *st);
    rs = seed * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull;
    if (!rs) rs = 1;
    km_match_scratch *s = km_match_scratch_new();
    if (!s) return -1;
    while (st->pairs < npairs) {
        km_matcher *m = km_matcher_new();
        if (!m) break;
        km_buf pats[4];
        int live[4] = {0, 0, 0, 0};
        uint32_t np = 1 + rnd(4);
        for (uint32_t i = 0; i < np; i++) {
            km_buf_init(&pats[i], 0);
            rand_pattern_obj(&pats[i], 0);
            if (km_matcher_add(m, i + 1, pats[i].data, pats[i].len, NULL) == KM_OK) live[i] = 1;
            else st->rejected++;
        }
        if (np > 1 && rnd(5) == 0) {
            uint32_t d = rnd(np);
            if (live[d] && km_matcher_delete(m, d + 1) == 1) live[d] = 0;
        }
        uint32_t ne = 1 + rnd(3);
        for (uint32_t e = 0; e < ne; e++) {
            km_buf ev = KM_BUF_INIT;
            rand_event_obj(&ev, 0);
            const uint32_t *ids = NULL;
            int n = km_matcher_match(m, s, ev.data, ev.len, &ids, NULL);
            if (n < 0) st->events_refused++;
            for (uint32_t i = 0; i < np; i++) {
                if (!live[i]) continue;
                int got = 0;
                for (int k = 0; k < n; k++) got |= ids[k] == i + 1;
                if (n < 0) got = -1;
                int ref = ref_match(pats[i].data, pats[i].len, ev.data, ev.len);
                st->pairs++;
                st->matched += got == 1;
                if (got != ref) {
                    st->differences++;
                    if (log && st->differences <= 10)
                        fprintf(log, "difference: matcher %d, reference %d\n  pattern %s\n  event   %s\n", got, ref,
                                pats[i].data, ev.data);
                }
            }
            km_buf_free(&ev);
        }
        for (uint32_t i = 0; i < np; i++) km_buf_free(&pats[i]);
        km_matcher_free(m);
    }
    km_match_scratch_free(s);
    return st->differences ? 1 : 0;
}

#ifdef KM_MATCHDIFF_MAIN
int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: match_diff PAIRS SEED\n");
        return 2;
    }
    char *end;
    uint64_t n = strtoull(argv[1], &end, 10);
    if (*end) { fprintf(stderr, "match_diff: PAIRS must be a number\n"); return 2; }
    uint64_t seed = strtoull(argv[2], &end, 10);
    if (*end) { fprintf(stderr, "match_diff: SEED must be a number\n"); return 2; }
    km_matchdiff_stats st;
    int rc = km_matchdiff_run(n, seed, stderr, &st);
    printf("match_diff: %" PRIu64 " pairs compared (seed %" PRIu64 "), %" PRIu64 " matched, %" PRIu64
           " patterns refused by the matcher, %" PRIu64 " events refused, %" PRIu64 " differences\n",
           st.pairs, seed, st.matched, st.rejected, st.events_refused, st.differences);
    return rc == 0 ? 0 : 1;
}
#endif
