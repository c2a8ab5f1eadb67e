/* Every fuzz finding stays a regression test: each file in fuzz/regress/<target>/ is replayed
 * through that target's entry point (fuzz/fuzz_<target>.c built with KM_FUZZ_REPLAY into this
 * binary, so under gcc and under clang ASan+UBSan), and must neither crash nor break the
 * target's properties. A few fixed inputs per target check that the entry points run at all.
 * A short differential round (fuzz/matchdiff.c) compares the matcher with tests/ref_match.c. */
#include "test.h"
#include "../fuzz/fuzz.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define T(name) int km_fuzz_##name(const uint8_t *data, size_t size);
T(json) T(match_event) T(extract) T(pattern) T(rule) T(sigma) T(reader) T(gzip) T(snap) T(iam) T(digest) T(seal)
#undef T

typedef struct target {
    const char *name;
    int (*fn)(const uint8_t *, size_t);
} target;

static const target targets[] = {
    {"json", km_fuzz_json},     {"match_event", km_fuzz_match_event}, {"pattern", km_fuzz_pattern},
    {"rule", km_fuzz_rule},     {"sigma", km_fuzz_sigma},             {"reader", km_fuzz_reader},
    {"gzip", km_fuzz_gzip},     {"snap", km_fuzz_snap},               {"iam", km_fuzz_iam},
    {"digest", km_fuzz_digest}, {"seal", km_fuzz_seal},           {"extract", km_fuzz_extract},
};
#define NTARGETS (sizeof targets / sizeof targets[0])

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Replays every file of fuzz/regress/<name>/; returns how many files, or -1 when the folder is absent. */
static long replay_dir(const target *t) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/fuzz/regress/%s", km_test_top(), t->name);
    DIR *d = opendir(dir);
    if (!d) return -1;
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn) break;
            names = nn;
        }
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, by_name);
    /* The empty input first, as libFuzzer starts with it too. */
    if (n) t->fn((const uint8_t *)"", 0);
    for (size_t i = 0; i < n; i++) {
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        size_t len = 0;
        char *data = km_test_read(path, &len);
        size_t before = km_fuzz_failures();
        if (!data) {
            km_test_case(0, "fuzz/regress/%s/%s: cannot read", t->name, names[i]);
        } else {
            t->fn((const uint8_t *)data, len);
            km_test_case(km_fuzz_failures() == before, "fuzz/regress/%s/%s replays cleanly%s%s", t->name, names[i],
                         km_fuzz_failures() == before ? "" : ": ", km_fuzz_failures() == before ? "" : km_fuzz_last_failure());
        }
        free(data);
        free(names[i]);
    }
    free(names);
    return (long)n;
}

TEST(fuzz_regressions_replay) {
    long total = 0;
    for (size_t i = 0; i < NTARGETS; i++) {
        long n = replay_dir(&targets[i]);
        if (n > 0) total += n;
    }
    /* Not a skip when there is none: the folder may legitimately be empty for a target. */
    km_test_case(total >= 0, "%ld fuzz regression inputs replayed", total);
}

/* Inputs every target must take without complaint: empty, one byte, typical small ones. */
TEST(fuzz_targets_run_on_simple_inputs) {
#define IN(s) {s, sizeof s - 1}
    static const struct { const char *p; size_t n; } inputs[] = {
        IN(""), IN("\0"), IN("{}"), IN("\0{\"eventName\":\"DeleteBucket\",\"a\":[1,{\"b\":null}]}"), IN("[1,2,3]"),
        IN("{\"Records\":[{\"a\":1},{\"b\":\"x\"}]}"), IN("\1\x1f\x8b\x08"),
        IN("title: x\ndetection:\n  sel:\n    eventName: DeleteBucket\n  condition: sel\n"),
        IN("\0{\"a\":1}\n{\"b\":[true]}\n"),
    };
#undef IN
    for (size_t t = 0; t < NTARGETS; t++) {
        size_t before = km_fuzz_failures();
        for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++)
            targets[t].fn((const uint8_t *)inputs[i].p, inputs[i].n);
        km_test_case(km_fuzz_failures() == before, "fuzz target %s on simple inputs%s%s", targets[t].name,
                     km_fuzz_failures() == before ? "" : ": ", km_fuzz_failures() == before ? "" : km_fuzz_last_failure());
    }
}

typedef struct km_matchdiff_stats {
    uint64_t pairs, matched, rejected, differences, events_refused;
} km_matchdiff_stats;
int km_matchdiff_run(uint64_t npairs, uint64_t seed, FILE *log, km_matchdiff_stats *st);

TEST(fuzz_matcher_differential_short) {
    km_matchdiff_stats st;
    km_matchdiff_run(20000, 20261126, stderr, &st);
    CHECK_MSG(st.differences == 0, "%" PRIu64 " differences between the matcher and the reference in %" PRIu64 " pairs",
              st.differences, st.pairs);
    /* The generator must produce a useful mix, or the long run proves little. */
    CHECK_MSG(st.pairs >= 20000 && st.matched > st.pairs / 50 && st.matched < st.pairs - st.pairs / 50,
              "%" PRIu64 " pairs, %" PRIu64 " matched", st.pairs, st.matched);
}

/* Finding of fuzz/fuzz_extract: a stray '}' or ']' among an array's elements left the text reader
 * looping at the same byte forever (`kumomori detect` hung on such a record). It now gives up,
 * so the caller parses the record. */
#include "detect/extract.h"
#include "util/arena.h"
TEST(fuzz_finding_extract_stray_bracket_gives_up) {
    static const char *const recs[] = {
        "{\"resources\":[{\"ARN\":\"a\"}<{\"ARN\":\"b\"}]}",
        "{\"resources\":[\"x\" } ],\"eventName\":\"E\"}",
        "{\"eventName\":\"E\" ] ,\"x\":1}",
    };
    for (size_t k = 0; k < sizeof recs / sizeof recs[0]; k++) {
        km_extract_req req[2] = {{"resources.ARN", KM_X_LIST, NULL, 0, 0}, {"eventName", KM_X_STRING, NULL, 0, 0}};
        km_arena a;
        km_arena_init(&a, 0);
        int rc = km_extract(recs[k], strlen(recs[k]), req, 2, &a);
        km_arena_free(&a);
        km_test_case(rc == 1, "record %zu: km_extract gives %d, expected 1 (leave it to the parser)", k, rc);
    }
}

/* Finding of fuzz/fuzz_reader: the record size limit held only when a record needed more than one
 * read, so with the default 256 KiB reads a limit below that was not applied at all. */
#include "detect/input.h"
#include "detect/reader.h"
#include "kumomori/buf.h"
TEST(fuzz_finding_reader_record_limit_whatever_the_read_size) {
    km_buf text = KM_BUF_INIT;
    km_buf_puts(&text, "[{\"a\":\"");
    for (int i = 0; i < 300; i++) km_buf_putc(&text, 'x');
    km_buf_puts(&text, "\"},{\"b\":1}]\n{\"c\":\"");
    for (int i = 0; i < 300; i++) km_buf_putc(&text, 'y');
    km_buf_puts(&text, "\"}\n{\"d\":2}\n");
    static const size_t sizes[] = {1, 7, 64, 0};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        km_reader_limits lim = {200, 0, sizes[k]};
        km_input *in = km_input_mem(text.data, text.len);
        km_reader *r = km_reader_new(in, &lim);
        km_record rec;
        km_error err;
        char got[64] = "";
        size_t gl = 0;
        int rc;
        char msg[600] = "";
        while ((rc = km_reader_next(r, &rec, &err)) != KM_READ_END && gl < sizeof got - 2) {
            got[gl++] = rc == KM_READ_RECORD ? 'R' : rec.skip == KM_SKIP_TOO_LARGE ? 'L' : '?';
            if (rc == KM_READ_SKIP && !msg[0]) snprintf(msg, sizeof msg, "%s", err.msg);
        }
        got[gl] = 0;
        km_reader_free(r);
        km_input_close(in);
        /* array element too large, small element, line too large, small line */
        km_test_case(!strcmp(got, "LRLR"), "read size %zu: %s, expected LRLR", sizes[k], got);
        km_test_case(strstr(msg, "larger than the limit of 200 bytes") != NULL, "read size %zu: message \"%s\"", sizes[k], msg);
    }
    km_buf_free(&text);
}

/* Finding of fuzz/fuzz_extract: a record whose text ends right after a key's opening quote made
 * the key's length -1 and the reader read past the record; a backslash as the last byte of a
 * string value stepped past the end too. Both are now left to the parser or read in bounds. */
TEST(fuzz_finding_extract_text_ending_inside_a_key_or_escape) {
    static const char *const recs[] = {"{\"eventName\":\"E\",\"", "{\"eventName\":\"E\",\"a", "{\"eventName\":\"E\\"};
    for (size_t k = 0; k < sizeof recs / sizeof recs[0]; k++) {
        size_t n = strlen(recs[k]);
        char *exact = malloc(n); /* no NUL after the text: ASan sees any read past it */
        memcpy(exact, recs[k], n);
        km_extract_req req[1] = {{"eventName", KM_X_STRING, NULL, 0, 0}};
        km_arena a;
        km_arena_init(&a, 0);
        int rc = km_extract(exact, n, req, 1, &a);
        km_arena_free(&a);
        free(exact);
        km_test_case(rc == 1 || rc == 0, "record %zu: km_extract gives %d", k, rc);
        if (k < 2) km_test_case(rc == 1, "record %zu (ends inside a key): %d, expected 1 (left to the parser)", k, rc);
    }
}

/* Finding of fuzz/fuzz_seal: a record beginning with the member "kumomori_seal_stream" (or
 * "kumomori_seal_signature") was sealed, and the verifier then read its line as a stream header:
 * an untouched stream failed to verify. The sealer now refuses such a record. */
#include "kumomori/seal.h"
#include <unistd.h>
static int seal_to_buf(void *ctx, const char *data, size_t len) { return km_buf_append(ctx, data, len); }
TEST(fuzz_finding_seal_refuses_records_that_read_as_seal_lines) {
    char dir[] = "/tmp/km-test-fuzzseal-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char a[128], b[128];
    snprintf(a, sizeof a, "%s/k.key", dir);
    snprintf(b, sizeof b, "%s/k.pub", dir);
    CHECK(km_seal_keygen(a, b, NULL, NULL) == 0);
    km_seal_key *priv = km_seal_key_load_private(a, NULL), *pub = km_seal_key_load_public(b, NULL);
    unlink(a);
    unlink(b);
    rmdir(dir);
    CHECK(priv && pub);
    km_buf out = KM_BUF_INIT;
    km_sealer *s = km_sealer_new(priv, seal_to_buf, &out, NULL, NULL);
    CHECK(s != NULL);
    km_error e;
    static const char r1[] = "{\"kumomori_seal_stream\":\"x\",\"a\":1}", r2[] = "{\"kumomori_seal_signature\":{}}",
                      ok1[] = "{\"a\":\"kumomori_seal_stream\"}", ok2[] = "{ \"kumomori_seal_stream\":1}";
    CHECK(km_sealer_record(s, r1, strlen(r1), &e) != KM_OK);
    CHECK_CONTAINS(e.msg, "may not begin with the member \"kumomori_seal_stream\"");
    CHECK(km_sealer_record(s, r2, strlen(r2), &e) != KM_OK);
    CHECK(km_sealer_record(s, ok1, strlen(ok1), &e) == KM_OK);
    CHECK(km_sealer_record(s, ok2, strlen(ok2), &e) == KM_OK); /* not the header's exact bytes */
    CHECK(km_sealer_finish(s, NULL) == KM_OK);
    km_sealer_free(s);
    km_seal_report *r = NULL;
    CHECK(km_seal_verify(out.data, out.len, pub, &r, NULL) == KM_OK);
    int ok = km_seal_report_ok(r);
    km_seal_report_free(r);
    km_buf_free(&out);
    km_seal_key_free(priv);
    km_seal_key_free(pub);
    CHECK_MSG(ok, "the stream of the two accepted records does not verify");
}

/* Finding of fuzz/fuzz_reader: a record over both the size and the depth limit was reported as
 * too deep when it came in one read and as too large with small reads (the size was checked only
 * between reads). Whichever limit the data crosses first now decides, whatever the read size; a
 * line object over the size limit is worded "the record at byte N" with any read size too. */
TEST(fuzz_finding_reader_size_or_depth_whatever_the_read_size) {
    static const struct { const char *text; const char *want; } cases[] = {
        {"[{\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\":[[[[[1]]]]]}]", "L: the record at byte 1 is larger than the limit of 26 bytes"},
        {"[{\"a\":[[[[[1]]]]],\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\":1}]", "D: the record at byte 1 is nested deeper than 4 levels"},
        {"{\"a\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}\n{\"b\":1}\n", "L: the record at byte 0 is larger than the limit of 26 bytes"},
    };
    static const size_t sizes[] = {1, 2, 5, 16, 64, 0};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
            km_reader_limits lim = {26, 4, sizes[k]};
            km_input *in = km_input_mem(cases[c].text, strlen(cases[c].text));
            km_reader *r = km_reader_new(in, &lim);
            km_record rec;
            km_error err;
            char got[600] = "none";
            int rc;
            while ((rc = km_reader_next(r, &rec, &err)) != KM_READ_END)
                if (rc == KM_READ_SKIP) {
                    snprintf(got, sizeof got, "%c: %s", rec.skip == KM_SKIP_TOO_LARGE ? 'L' : rec.skip == KM_SKIP_TOO_DEEP ? 'D' : '?',
                             err.msg);
                    break;
                }
            km_reader_free(r);
            km_input_close(in);
            km_test_case(strncmp(got, cases[c].want, strlen(cases[c].want)) == 0, "case %zu, read size %zu: \"%s\", expected \"%s...\"",
                         c, sizes[k], got, cases[c].want);
        }
    }
}
