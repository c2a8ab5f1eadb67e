/* Record reader and byte sources: how records are split out of every input shape, and what
 * happens with each kind of bad input. */
#include "test.h"
#include "detect/input.h"
#include "detect/reader.h"
#include "util/walk.h"
#include "kumomori/buf.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* Runs the reader over text and describes what came out, one item per line:
 *   R <offset> <kind> <record text>      a record
 *   S <offset> <reason>                  something skipped
 * The first error message is kept in first_msg. */
static char first_msg[600];

static char *describe_reader(km_reader *r) {
    km_buf out;
    km_buf_init(&out, 0);
    first_msg[0] = 0;
    km_record rec;
    km_error err;
    int rc, guard = 0;
    static const char *kinds[] = {"?", "delivery", "line", "array", "eventbridge"};
    while ((rc = km_reader_next(r, &rec, &err)) != KM_READ_END && guard++ < 1000) {
        if (rc == KM_READ_RECORD) {
            km_buf_printf(&out, "R %llu %s %.*s\n", (unsigned long long)rec.offset, kinds[rec.kind],
                          (int)rec.len, rec.data);
        } else {
            static const char *const why[KM_SKIP_REASONS] = {
                [KM_SKIP_UNREADABLE] = "unreadable", [KM_SKIP_EMPTY] = "empty", [KM_SKIP_GZIP] = "gzip",
                [KM_SKIP_INVALID_JSON] = "invalid JSON", [KM_SKIP_TRUNCATED] = "truncated",
                [KM_SKIP_NOT_OBJECT] = "not an object", [KM_SKIP_TOO_LARGE] = "too large",
                [KM_SKIP_TOO_DEEP] = "nested too deep", [KM_SKIP_INVALID_UTF8] = "invalid UTF-8",
                [KM_SKIP_DIGEST] = "digest files", [KM_SKIP_NOT_CLOUDTRAIL] = "EventBridge events not from CloudTrail",
            };
            km_buf_printf(&out, "S %llu %s\n", (unsigned long long)rec.offset, why[rec.skip] ? why[rec.skip] : "?");
            if (!first_msg[0]) snprintf(first_msg, sizeof first_msg, "%s", err.msg);
        }
    }
    return km_buf_steal(&out, NULL);
}

static char *split_mem(const char *text, size_t len, const km_reader_limits *lim) {
    km_input *in = km_input_mem(text, len);
    km_reader *r = km_reader_new(in, lim);
    char *s = describe_reader(r);
    km_reader_free(r);
    km_input_close(in);
    return s;
}

static char *split(const char *text) { return split_mem(text, strlen(text), NULL); }

#define CHECK_SPLIT(text, want)                                                   \
    do {                                                                          \
        char *got_ = split(text);                                                 \
        int ok_ = strcmp(got_, want) == 0;                                        \
        if (!ok_) km_test_fail(__FILE__, __LINE__, "split(%s):\n%s\nexpected:\n%s", text, got_, want); \
        free(got_);                                                               \
        if (!ok_) return;                                                         \
    } while (0)

TEST(reader_delivery_file_records_with_offsets) {
    CHECK_SPLIT("{\"Records\":[{\"a\":1},{\"b\":\"x}\\\"{\"}]}",
                "R 12 delivery {\"a\":1}\n"
                "R 20 delivery {\"b\":\"x}\\\"{\"}\n");
    /* White space everywhere, other members before and after, an empty array. */
    CHECK_SPLIT(" {\n \"v\" : [1,{\"Records\":[{}]}],\n \"Records\" : [ {\"e\": [ {} ] } ,\n{} ] , \"t\": \"]\" }\n",
                "R 47 delivery {\"e\": [ {} ] }\n"
                "R 64 delivery {}\n");
    CHECK_SPLIT("{\"Records\":[]}", "");
}

TEST(reader_json_lines_arrays_and_concatenation) {
    CHECK_SPLIT("{\"eventName\":\"A\"}\n{\"eventName\":\"B\"}\r\n\n",
                "R 0 line {\"eventName\":\"A\"}\n"
                "R 18 line {\"eventName\":\"B\"}\n");
    CHECK_SPLIT("[ {\"a\":1}, {\"b\":[2]} ]", "R 2 array {\"a\":1}\nR 11 array {\"b\":[2]}\n");
    CHECK_SPLIT("{\"Records\":[{\"a\":1}]}{\"Records\":[{\"b\":2}]}",
                "R 12 delivery {\"a\":1}\nR 33 delivery {\"b\":2}\n");
    /* A key named Records whose value is not an array is an ordinary record field. */
    CHECK_SPLIT("{\"Records\":null,\"x\":1}", "R 0 line {\"Records\":null,\"x\":1}\n");
    /* An escaped key is not the Records key. */
    CHECK_SPLIT("{\"Record\\u0073\":[{\"a\":1}]}", "R 0 line {\"Record\\u0073\":[{\"a\":1}]}\n");
}

TEST(reader_unwraps_eventbridge_events) {
    CHECK_SPLIT("{\"version\":\"0\",\"detail-type\":\"AWS API Call via CloudTrail\",\"source\":\"aws.s3\","
                "\"detail\":{\"eventName\":\"PutObject\",\"x\":{\"y\":\"}\"}}}\n",
                "R 86 eventbridge {\"eventName\":\"PutObject\",\"x\":{\"y\":\"}\"}}\n");
    CHECK_SPLIT("{\"detail\":{\"a\":1},\"detail-type\":\"AWS Console Sign In via CloudTrail\"}",
                "R 10 eventbridge {\"a\":1}\n");
    CHECK_SPLIT("{\"detail-type\":\"GuardDuty Finding\",\"detail\":{\"a\":1}}", "S 0 EventBridge events not from CloudTrail\n");
    CHECK_CONTAINS(first_msg, "GuardDuty Finding");
    /* In an array too. */
    CHECK_SPLIT("[{\"detail-type\":\"AWS API Call via CloudTrail\",\"detail\":{\"b\":2}}]",
                "R 55 eventbridge {\"b\":2}\n");
}

TEST(reader_recognises_digest_files) {
    CHECK_SPLIT("{\"awsAccountId\":\"1\",\"digestStartTime\":\"2015\",\"logFiles\":[]}", "S 0 digest files\n");
}

TEST(reader_not_an_object_elements_are_skipped_and_named) {
    CHECK_SPLIT("{\"Records\":[1, \"s,]\", [ {\"a\":1} ], null, {\"ok\":1}, true]}",
                "S 12 not an object\nS 15 not an object\nS 22 not an object\nS 35 not an object\n"
                "R 41 delivery {\"ok\":1}\nS 51 not an object\n");
    CHECK_CONTAINS(first_msg, "the element at byte 12 of the Records array is a number");
}

TEST(reader_garbage_lines_are_skipped_with_their_offset) {
    CHECK_SPLIT("{\"a\":1}\nnot json at all\n{\"b\":2}\n",
                "R 0 line {\"a\":1}\nS 8 invalid JSON\nR 24 line {\"b\":2}\n");
    CHECK_CONTAINS(first_msg, "byte 8");
    CHECK_CONTAINS(first_msg, "the character 'n'");
}

TEST(reader_truncated_data_names_the_record) {
    CHECK_SPLIT("{\"Records\":[{\"a\":1},{\"b\":\"x", "R 12 delivery {\"a\":1}\nS 27 truncated\n");
    CHECK_CONTAINS(first_msg, "inside the record that begins at byte 20");
    CHECK_SPLIT("{\"Records\":[{\"a\":1}", "R 12 delivery {\"a\":1}\nS 19 truncated\n");
    CHECK_CONTAINS(first_msg, "Records array");
    CHECK_SPLIT("{\"a\":", "S 5 truncated\n");
}

TEST(reader_empty_input) {
    CHECK_SPLIT("", "S 0 empty\n");
    CHECK_SPLIT("  \n\t", "S 0 empty\n");
    CHECK_SPLIT("\xef\xbb\xbf{\"a\":1}", "R 3 line {\"a\":1}\n");
}

TEST(reader_nul_bytes_and_invalid_utf8_reach_the_record_bytes) {
    /* The reader passes them on; the matcher's validation names the offset (tested in detect). */
    static const char text[] = "{\"Records\":[{\"a\":\"\0\xff\"}]}";
    char *got = split_mem(text, sizeof text - 1, NULL);
    CHECK_INT(strncmp(got, "R 12 delivery ", 14), 0);
    free(got);
    /* A NUL byte at the top level is not JSON. */
    static const char nul[] = "\0\n{\"a\":1}";
    got = split_mem(nul, sizeof nul - 1, NULL);
    CHECK_STR(got, "S 0 invalid JSON\nR 2 line {\"a\":1}\n");
    CHECK_CONTAINS(first_msg, "0x00");
    free(got);
}

/* A record of n bytes: {"s":"xxxx..."} */
static char *big_record_file(size_t n, size_t *len) {
    km_buf b;
    km_buf_init(&b, 0);
    km_buf_puts(&b, "{\"Records\":[{\"a\":1},{\"s\":\"");
    for (size_t i = 0; i < n; i++) km_buf_putc(&b, 'x');
    km_buf_puts(&b, "\"},{\"b\":2}]}");
    return km_buf_steal(&b, len);
}

TEST(reader_records_over_the_limit_are_skipped_with_bounded_memory) {
    size_t len;
    char *text = big_record_file(3u << 20, &len);
    km_reader_limits lim = {1u << 20, 0, 0};
    char *got = split_mem(text, len, &lim);
    CHECK_STR(got, "R 12 delivery {\"a\":1}\nS 20 too large\nR 3145757 delivery {\"b\":2}\n");
    CHECK_CONTAINS(first_msg, "larger than the limit of 1 MiB");
    free(got);
    /* Under the limit it is a record like any other. */
    lim.max_record = 4u << 20;
    got = split_mem(text, len, &lim);
    CHECK_INT(strncmp(got, "R 12 delivery {\"a\":1}\nR 20 delivery {\"s\":\"xxx", 44), 0);
    free(got);
    free(text);
}

TEST(reader_deep_nesting_costs_a_counter) {
    size_t depth = 100000;
    km_buf b;
    km_buf_init(&b, 0);
    km_buf_puts(&b, "{\"Records\":[{\"a\":1},{\"d\":");
    for (size_t i = 0; i < depth; i++) km_buf_putc(&b, '[');
    for (size_t i = 0; i < depth; i++) km_buf_putc(&b, ']');
    km_buf_puts(&b, "},{\"b\":2}]}\n");
    for (size_t i = 0; i < depth; i++) km_buf_putc(&b, '[');
    km_buf_putc(&b, '\n');
    size_t len;
    char *text = km_buf_steal(&b, &len);
    char *got = split_mem(text, len, NULL);
    CHECK_STR(got, "R 12 delivery {\"a\":1}\nS 20 nested too deep\nR 200027 delivery {\"b\":2}\n"
                   "S 200038 not an object\nS 300038 truncated\n");
    free(got);
    free(text);
}

static char *gzip_bytes(const char *text, size_t len, size_t *out_len) {
    uLongf cap = compressBound(len) + 64;
    unsigned char *out = malloc(cap);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
    zs.next_in = (unsigned char *)(uintptr_t)text;
    zs.avail_in = (uInt)len;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    deflate(&zs, Z_FINISH);
    *out_len = zs.total_out;
    deflateEnd(&zs);
    return (char *)out;
}

TEST(input_gzip_is_detected_by_content_and_streamed) {
    const char *text = "{\"Records\":[{\"a\":1},{\"b\":2}]}";
    size_t gl;
    char *gz = gzip_bytes(text, strlen(text), &gl);
    char *got = split_mem(gz, gl, NULL);
    CHECK_STR(got, "R 12 delivery {\"a\":1}\nR 20 delivery {\"b\":2}\n");
    free(got);
    /* Two members one after the other are one stream. */
    char *two = malloc(2 * gl);
    memcpy(two, gz, gl);
    memcpy(two + gl, gz, gl);
    got = split_mem(two, 2 * gl, NULL);
    free(two); /* before CHECK_STR, which returns when it fails */
    CHECK_STR(got, "R 12 delivery {\"a\":1}\nR 20 delivery {\"b\":2}\nR 41 delivery {\"a\":1}\nR 49 delivery {\"b\":2}\n");
    free(got);
    free(gz);
}

TEST(input_truncated_gzip_keeps_what_was_read) {
    km_buf b;
    km_buf_init(&b, 0);
    km_buf_puts(&b, "{\"Records\":[");
    for (int i = 0; i < 20000; i++) km_buf_printf(&b, "%s{\"eventID\":\"%d\",\"pad\":\"%08x\"}", i ? "," : "", i, i * 2654435761u);
    km_buf_puts(&b, "]}");
    size_t gl;
    char *gz = gzip_bytes(b.data, b.len, &gl);
    km_input *in = km_input_mem(gz, gl / 2);
    km_reader *r = km_reader_new(in, NULL);
    km_record rec;
    km_error err;
    int rc, records = 0, skips = 0;
    km_skip_reason why = KM_SKIP_NONE;
    while ((rc = km_reader_next(r, &rec, &err)) != KM_READ_END) {
        if (rc == KM_READ_RECORD) records++;
        else { skips++; why = rec.skip; snprintf(first_msg, sizeof first_msg, "%s", err.msg); }
    }
    km_reader_free(r);
    km_input_close(in);
    CHECK(records > 1000 && records < 20000);
    CHECK_INT(skips, 1);
    CHECK_INT(why, KM_SKIP_GZIP);
    CHECK_CONTAINS(first_msg, "truncated gzip data");
    CHECK_CONTAINS(first_msg, "is incomplete");
    /* Corrupt bytes in the middle. */
    gz[gl / 2] ^= 0x55;
    gz[gl / 2 + 1] ^= 0xaa;
    in = km_input_mem(gz, gl);
    r = km_reader_new(in, NULL);
    skips = 0;
    while ((rc = km_reader_next(r, &rec, &err)) != KM_READ_END)
        if (rc == KM_READ_SKIP) { skips++; why = rec.skip; }
    km_reader_free(r);
    km_input_close(in);
    CHECK(skips >= 1);
    CHECK_INT(why, KM_SKIP_GZIP);
    free(gz);
    km_buf_free(&b);
}

/* Everything km_input_read gives (bytes, then the error message if any) for a source. */
static char *drain_input(km_input *in, size_t *len) {
    km_buf b;
    km_buf_init(&b, 0);
    char chunk[7000];
    km_error err;
    long n;
    while ((n = km_input_read(in, chunk, sizeof chunk, &err)) > 0) km_buf_append(&b, chunk, (size_t)n);
    if (n < 0) km_buf_printf(&b, "\nERROR %s", err.msg);
    *len = b.len;
    return b.data ? b.data : calloc(1, 1);
}

/* Files are decoded whole (libdeflate, when built with it) up to a size, streamed above it; a
 * file read from disk must give exactly what the streaming decoder gives for the same bytes:
 * the data, the data before damage, and the same message. */
TEST(input_gzip_files_read_whole_or_streamed_give_the_same) {
    km_buf t;
    km_buf_init(&t, 0);
    km_buf_puts(&t, "{\"Records\":[");
    for (int i = 0; i < 30000; i++) km_buf_printf(&t, "%s{\"eventID\":\"%d\",\"pad\":\"%08x\"}", i ? "," : "", i, i * 2654435761u);
    km_buf_puts(&t, "]}");
    size_t gl;
    char *gz = gzip_bytes(t.data, t.len, &gl);
    /* 3 MiB of incompressible text (over the whole-file cap) and 20 MiB of one byte (output over
       its cap) */
    size_t bigl = 3u << 20, zl = 20u << 20;
    char *big = malloc(bigl), *zeros = malloc(zl);
    uint64_t st = 88172645463325252ull;
    for (size_t i = 0; i < bigl; i++) {
        st ^= st << 13; st ^= st >> 7; st ^= st << 17;
        big[i] = (char)(' ' + st % 90);
    }
    memset(zeros, 'z', zl);
    size_t gbl, gzl;
    char *gbig = gzip_bytes(big, bigl, &gbl), *gzero = gzip_bytes(zeros, zl, &gzl);
    km_buf v[8];
    for (int i = 0; i < 8; i++) km_buf_init(&v[i], 0);
    km_buf_append(&v[0], gz, gl);                       /* one member */
    km_buf_append(&v[1], gz, gl); km_buf_append(&v[1], gz, gl); km_buf_append(&v[1], "\0\0\0", 3); /* two, padding */
    km_buf_append(&v[2], gz, gl / 2);                   /* truncated */
    km_buf_append(&v[3], gz, gl); v[3].data[gl / 2] ^= 0x55; v[3].data[gl / 2 + 1] ^= 0xaa; /* corrupt */
    km_buf_append(&v[4], gz, gl); km_buf_append(&v[4], "junk", 4);       /* junk after the end */
    km_buf_append(&v[5], gbig, gbl);                    /* over the whole-file cap */
    km_buf_append(&v[6], gzero, gzl);                   /* output over its cap */
    km_buf_append(&v[7], gz, gl); v[7].data[gl - 6] ^= 1; /* bad CRC */
    char path[64];
    snprintf(path, sizeof path, "/tmp/km-whole-%d.json.gz", (int)getpid());
    int errors = 0;
    for (int i = 0; i < 8; i++) {
        FILE *f = fopen(path, "wb");
        CHECK(f && fwrite(v[i].data, 1, v[i].len, f) == v[i].len);
        fclose(f);
        km_error err;
        km_input *a = km_input_open(path, &err), *b = km_input_mem(v[i].data, v[i].len);
        CHECK(a && b);
        size_t la, lb;
        char *da = drain_input(a, &la), *db = drain_input(b, &lb);
        CHECK_MSG(la == lb && memcmp(da, db, la) == 0, "variant %d: file gave %zu bytes, memory %zu (%s | %s)", i, la, lb,
                  la > 200 ? da + la - 200 : da, lb > 200 ? db + lb - 200 : db);
        CHECK_INT(km_input_is_gzip(a), 1);
        errors += strstr(da, "\nERROR ") != NULL;
        free(da);
        free(db);
        km_input_close(a);
        km_input_close(b);
    }
    CHECK_INT(errors, 4);
    unlink(path);
    for (int i = 0; i < 8; i++) km_buf_free(&v[i]);
    free(gz); free(gbig); free(gzero); free(big); free(zeros);
    km_buf_free(&t);
}

TEST(input_open_errors_name_the_file) {
    km_error err;
    CHECK(km_input_open("/nonexistent/kumomori-x.json", &err) == NULL);
    CHECK_CONTAINS(err.msg, "/nonexistent/kumomori-x.json: cannot open");
    CHECK(km_input_open("/", &err) == NULL);
    CHECK_CONTAINS(err.msg, "is a folder");
}

typedef struct { char **paths; size_t n; } pathlist;

static int collect(void *ctx, const char *path, int errnum) {
    pathlist *pl = ctx;
    char line[1200];
    snprintf(line, sizeof line, "%s%s%s", path, errnum ? " ! " : "", errnum ? strerror(errnum) : "");
    pl->paths = realloc(pl->paths, (pl->n + 1) * sizeof *pl->paths);
    pl->paths[pl->n++] = strdup(line);
    return 0;
}

TEST(walk_sorted_recursive_and_reports_unreadable_folders) {
    char tmpl[] = "/tmp/km-walk-XXXXXX";
    char *dir = mkdtemp(tmpl);
    CHECK(dir);
    char p[1024];
    const char *files[] = {"b.json", "a/2.json.gz", "a/10.json", ".hidden", "c/d/e.json"};
    const char *dirs[] = {"a", "c", "c/d", "locked"};
    for (size_t i = 0; i < 4; i++) { snprintf(p, sizeof p, "%s/%s", dir, dirs[i]); mkdir(p, 0755); }
    for (size_t i = 0; i < 5; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        FILE *f = fopen(p, "w");
        if (f) fclose(f);
    }
    snprintf(p, sizeof p, "%s/c/d/loop", dir);
    CHECK(symlink("..", p) == 0);
    snprintf(p, sizeof p, "%s/locked", dir);
    chmod(p, 0);
    pathlist pl = {NULL, 0};
    km_walk(dir, collect, &pl);
    chmod(p, 0755);
    char want[8][1200];
    int nw = 0;
    snprintf(want[nw++], sizeof want[0], "%s/a/10.json", dir);
    snprintf(want[nw++], sizeof want[0], "%s/a/2.json.gz", dir);
    snprintf(want[nw++], sizeof want[0], "%s/b.json", dir);
    snprintf(want[nw++], sizeof want[0], "%s/c/d/e.json", dir);
    snprintf(want[nw++], sizeof want[0], "%s/c/d/loop ! %s", dir, strerror(ELOOP));
    int root = geteuid() == 0; /* root reads the folder anyway */
    if (!root) snprintf(want[nw++], sizeof want[0], "%s/locked ! %s", dir, strerror(EACCES));
    int ok = (int)pl.n == nw;
    for (int i = 0; ok && i < nw; i++) ok = strcmp(pl.paths[i], want[i]) == 0;
    if (!ok) {
        for (size_t i = 0; i < pl.n; i++) fprintf(stdout, "  got %s\n", pl.paths[i]);
        for (int i = 0; i < nw; i++) fprintf(stdout, "  want %s\n", want[i]);
    }
    for (size_t i = 0; i < pl.n; i++) free(pl.paths[i]);
    free(pl.paths);
    char cmd[1100];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
    CHECK(ok);
}

/* Feeding the reader one byte at a time must give the same records as one big buffer: every
 * state survives a refill. */
TEST(reader_gives_the_same_records_whatever_the_chunking) {
    /* Built from pieces that exercise every state: strings with escapes, nested values, keys. */
    const char *text =
        "\xef\xbb\xbf{\"x\":{\"Records\":[1]},\"Records\":[{\"k\":\"a\\\\\\\"b\",\"n\":[[{}]]},7,"
        "{\"detail-type\":\"q\"}],\"z\":\"Records\"}\n"
        "{\"detail-type\":\"AWS API Call via CloudTrail\",\"detail\":{\"e\":\"}\"}}\n[{\"r\":[]},\"s\"]\n";
    char *whole = split(text);
    static const size_t sizes[] = {1, 2, 3, 5, 7, 64};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        km_reader_limits lim = {0, 0, sizes[k]};
        char *chunked = split_mem(text, strlen(text), &lim);
        int same = strcmp(chunked, whole) == 0;
        if (!same) km_test_fail(__FILE__, __LINE__, "read size %zu gives\n%s\ninstead of\n%s", sizes[k], chunked, whole);
        free(chunked);
        if (!same) { free(whole); return; }
    }
    CHECK_CONTAINS(whole, "R 35 delivery {\"k\":\"a\\\\\\\"b\",\"n\":[[{}]]}\n");
    CHECK_CONTAINS(whole, "S 61 not an object\n");
    free(whole);
}

TEST(input_and_reader_are_reused_across_files) {
    /* gzip, plain, gzip again, a missing file, then plain: each file's records, nothing carried over. */
    const char *texts[] = {"{\"Records\":[{\"a\":1}]}", "{\"b\":2}\n{\"c\":", "[{\"d\":4}]", NULL, "{\"e\":5}"};
    int gz[] = {1, 0, 1, 0, 0};
    char paths[5][64];
    for (int i = 0; i < 5; i++) {
        snprintf(paths[i], sizeof paths[i], "/tmp/km-reuse-%d-%d.json", (int)getpid(), i);
        if (!texts[i]) continue;
        size_t len = strlen(texts[i]);
        char *data = (char *)(uintptr_t)texts[i];
        if (gz[i]) data = gzip_bytes(texts[i], strlen(texts[i]), &len);
        FILE *f = fopen(paths[i], "wb");
        CHECK(f && fwrite(data, 1, len, f) == len);
        fclose(f);
        if (gz[i]) free(data);
    }
    const char *want[] = {"R 12 delivery {\"a\":1}\n", "R 0 line {\"b\":2}\nS 13 truncated\n", "R 1 array {\"d\":4}\n",
                          NULL, "R 0 line {\"e\":5}\n"};
    km_error err;
    km_input *in = km_input_open(paths[0], &err);
    CHECK(in);
    km_reader *r = km_reader_new(in, NULL);
    for (int i = 0; i < 5; i++) {
        if (i) {
            int rc = km_input_reopen(in, paths[i], &err);
            if (!texts[i]) {
                CHECK(rc != KM_OK);
                CHECK_CONTAINS(err.msg, "cannot open");
                continue;
            }
            CHECK_MSG(rc == KM_OK, "%s", err.msg);
            km_reader_reset(r, in);
        }
        char *got = describe_reader(r);
        CHECK_MSG(strcmp(got, want[i]) == 0, "file %d gave\n%s", i, got);
        CHECK_INT(km_input_is_gzip(in), gz[i]);
        free(got);
    }
    km_reader_free(r);
    km_input_close(in);
    for (int i = 0; i < 5; i++) unlink(paths[i]);
}
