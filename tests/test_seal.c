/* Sealed output: keys, the format (links recomputed here with OpenSSL directly), and every
 * tampering the verifier must name: edited, deleted, reordered, inserted, duplicated, appended,
 * truncated, forged signatures, re-linked chains, wrong keys. */
#include "test.h"
#include "kumomori/seal.h"
#include "trail/util.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[256];
static km_seal_key *priv, *pub;

static int setup(void) {
    if (priv) return 0;
    snprintf(dir, sizeof dir, "/tmp/km-test-seal-XXXXXX");
    if (!mkdtemp(dir)) return -1;
    char a[512], b[512];
    snprintf(a, sizeof a, "%s/k.key", dir);
    snprintf(b, sizeof b, "%s/k.pub", dir);
    if (km_seal_keygen(a, b, NULL, NULL)) return -1;
    priv = km_seal_key_load_private(a, NULL);
    pub = km_seal_key_load_public(b, NULL);
    return priv && pub ? 0 : -1;
}

static int to_buf(void *ctx, const char *data, size_t len) { return km_buf_append(ctx, data, len); }

/* Seal n records {"alert":i} with a checkpoint every `every` records. */
static char *seal_n(int n, unsigned every, int finish) {
    km_buf out = KM_BUF_INIT;
    km_seal_opts o = {every, 3600, "test"};
    km_sealer *s = km_sealer_new(priv, to_buf, &out, &o, NULL);
    if (!s) return NULL;
    for (int i = 1; i <= n; i++) {
        char rec[64];
        int l = snprintf(rec, sizeof rec, "{\"alert\":%d,\"rule\":\"KM-T\"}\n", i);
        if (km_sealer_record(s, rec, (size_t)l, NULL)) { km_sealer_free(s); km_buf_free(&out); return NULL; }
    }
    if (finish && km_sealer_finish(s, NULL)) { km_sealer_free(s); km_buf_free(&out); return NULL; }
    km_sealer_free(s);
    return km_buf_steal(&out, NULL);
}

/* Line i (1-based) of text, malloc'd. */
static char *line_of(const char *text, int i) {
    const char *p = text;
    for (int k = 1; k < i && p; k++) {
        p = strchr(p, '\n');
        if (p) p++;
    }
    if (!p || !*p) return NULL;
    const char *e = strchr(p, '\n');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    char *s = malloc(n + 1);
    memcpy(s, p, n);
    s[n] = 0;
    return s;
}

/* Rebuild text from its lines in the given order (1-based indexes; 0 ends the list). */
static char *reorder(const char *text, const int *order) {
    km_buf b = KM_BUF_INIT;
    for (const int *o = order; *o; o++) {
        char *l = line_of(text, *o);
        if (l) { km_buf_puts(&b, l); km_buf_putc(&b, '\n'); free(l); }
    }
    return km_buf_steal(&b, NULL);
}

static km_seal_report *verify(const char *text) {
    km_seal_report *r = NULL;
    if (!text) return NULL; /* the sealing helper failed: the caller's CHECK on the report says so */
    if (km_seal_verify(text, strlen(text), pub, &r, NULL)) return NULL;
    return r;
}

/* The report has exactly one problem, of this kind, naming this line, with this in its message. */
static int one_problem(const km_seal_report *r, km_seal_kind kind, size_t line, const char *msg) {
    if (!r || r->nstreams != 1 || r->norphans) return 0;
    const km_seal_stream *s = &r->streams[0];
    if (s->nproblems != 1) {
        for (size_t i = 0; i < s->nproblems; i++) printf("   problem: %s\n", s->problems[i].message);
        return 0;
    }
    const km_seal_problem *p = &s->problems[0];
    if (p->kind != kind || p->line != line || !strstr(p->message, msg)) {
        printf("   got %s line %zu: %s\n", km_seal_kind_name(p->kind), p->line, p->message);
        return 0;
    }
    return 1;
}

/* Layout with every=2 and 5 records:
 * 1 header, 2 r1, 3 r2, 4 sig(2), 5 r3, 6 r4, 7 sig(4), 8 r5, 9 final(5) */

TEST(seal_keys) {
    CHECK(setup() == 0);
    CHECK_STR(km_seal_key_id(priv), km_seal_key_id(pub));
    CHECK(strlen(km_seal_key_id(pub)) == 64);
    char a[512];
    snprintf(a, sizeof a, "%s/k.key", dir);
    struct stat st;
    CHECK(stat(a, &st) == 0);
    CHECK_INT(st.st_mode & 0777, 0600);
    km_error e;
    km_error_clear(&e);
    char b[512];
    snprintf(b, sizeof b, "%s/k.pub", dir);
    CHECK(km_seal_keygen(a, b, NULL, &e) != 0); /* never overwrites */
    CHECK_CONTAINS(e.msg, "never overwritten");
    km_error_clear(&e);
    CHECK(km_seal_key_load_private(b, &e) == NULL); /* a public key cannot seal */
    CHECK_CONTAINS(e.msg, "not a PEM Ed25519 private key");
    km_seal_key *p2 = km_seal_key_load_public(a, NULL); /* the private file also gives the public key */
    CHECK(p2);
    CHECK_STR(km_seal_key_id(p2), km_seal_key_id(pub));
    km_seal_key_free(p2);
    km_error_clear(&e);
    CHECK(km_sealer_new(pub, to_buf, NULL, NULL, &e) == NULL);
    CHECK_CONTAINS(e.msg, "needs a private key");
}

static void sha(const void *parts[], const size_t lens[], size_t n, unsigned char out[32]) {
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    for (size_t i = 0; i < n; i++) EVP_DigestUpdate(md, parts[i], lens[i]);
    unsigned int l = 0;
    EVP_DigestFinal_ex(md, out, &l);
    EVP_MD_CTX_free(md);
}

TEST(seal_format_links) {
    CHECK(setup() == 0);
    char *t = seal_n(2, 100, 1);
    CHECK(t);
    char *h = line_of(t, 1), *r1 = line_of(t, 2), *r2 = line_of(t, 3), *f = line_of(t, 4);
    CHECK(h && r1 && r2 && f);
    CHECK(strncmp(h, "{\"kumomori_seal_stream\":{\"version\":1,\"stream\":\"", 47) == 0);
    /* link[0] and link[1] as seal.h defines them, computed here */
    unsigned char l0[32], l1[32], l2[32];
    const char t0[] = "kumomori-seal-v1 header\n", tr[] = "kumomori-seal-v1 record\n";
    const void *p0[] = {t0, h};
    size_t n0[] = {sizeof t0 - 1, strlen(h)};
    sha(p0, n0, 2, l0);
    unsigned char be1[8] = {0, 0, 0, 0, 0, 0, 0, 1}, be2[8] = {0, 0, 0, 0, 0, 0, 0, 2};
    const char *rec1 = "{\"alert\":1,\"rule\":\"KM-T\"}", *rec2 = "{\"alert\":2,\"rule\":\"KM-T\"}";
    const void *p1[] = {tr, l0, be1, rec1};
    size_t n1[] = {sizeof tr - 1, 32, 8, strlen(rec1)};
    sha(p1, n1, 4, l1);
    const void *p2[] = {tr, l1, be2, rec2};
    size_t n2[] = {sizeof tr - 1, 32, 8, strlen(rec2)};
    sha(p2, n2, 4, l2);
    char hx1[65], hx2[65], want1[256], want2[256];
    km_hex_encode(l1, 32, hx1);
    km_hex_encode(l2, 32, hx2);
    snprintf(want1, sizeof want1, "{\"alert\":1,\"rule\":\"KM-T\",\"kumomori_seal\":{\"seq\":1,\"link\":\"%s\"}}", hx1);
    snprintf(want2, sizeof want2, "{\"alert\":2,\"rule\":\"KM-T\",\"kumomori_seal\":{\"seq\":2,\"link\":\"%s\"}}", hx2);
    CHECK_STR(r1, want1);
    CHECK_STR(r2, want2);
    CHECK(strstr(f, "\"final\":true") && strstr(f, hx2));
    free(h); free(r1); free(r2); free(f);
    km_seal_report *r = verify(t);
    CHECK(r && km_seal_report_ok(r) && r->records == 2);
    km_seal_report_free(r);
    free(t);
}

TEST(seal_intact_and_layout) {
    CHECK(setup() == 0);
    char *t = seal_n(5, 2, 1);
    CHECK(t);
    km_seal_report *r = verify(t);
    CHECK(r);
    CHECK(km_seal_report_ok(r));
    CHECK_INT(r->streams[0].records, 5);
    CHECK_INT(r->streams[0].signatures, 3);
    CHECK(r->streams[0].final);
    char *l4 = line_of(t, 4), *l9 = line_of(t, 9);
    CHECK(l4 && strstr(l4, "\"seq\":2") && strstr(l4, "\"final\":false"));
    CHECK(l9 && strstr(l9, "\"seq\":5") && strstr(l9, "\"final\":true"));
    free(l4);
    free(l9);
    km_seal_report_free(r);
    free(t);
}

TEST(seal_empty_stream_and_empty_records) {
    CHECK(setup() == 0);
    char *t = seal_n(0, 2, 1);
    CHECK(t);
    km_seal_report *r = verify(t);
    CHECK(r && km_seal_report_ok(r) && r->records == 0);
    km_seal_report_free(r);
    free(t);
    km_buf out = KM_BUF_INIT;
    km_sealer *s = km_sealer_new(priv, to_buf, &out, NULL, NULL);
    CHECK(s);
    CHECK(km_sealer_record(s, "{}", 2, NULL) == 0);
    CHECK(km_sealer_record(s, "{ }\r\n", 5, NULL) == 0);
    CHECK(km_sealer_record(s, "{\"kumomori_seal\":{\"seq\":1}}", 27, NULL) == 0); /* look-alike inside */
    km_error e;
    km_error_clear(&e);
    CHECK(km_sealer_record(s, "[1]", 3, &e) != 0);
    CHECK_CONTAINS(e.msg, "a record must be a JSON object");
    CHECK(km_sealer_record(s, "{\"a\":\n1}", 8, &e) != 0);
    CHECK_INT(km_sealer_count(s), 3);
    CHECK(km_sealer_finish(s, NULL) == 0);
    CHECK(km_sealer_record(s, "{}", 2, &e) != 0);
    km_sealer_free(s);
    CHECK_CONTAINS(out.data, "\n{\"kumomori_seal\":{\"seq\":1,");
    CHECK_CONTAINS(out.data, "\n{ \"kumomori_seal\":{\"seq\":2,");
    r = verify(out.data);
    CHECK(r && km_seal_report_ok(r) && r->records == 3);
    km_seal_report_free(r);
    km_buf_free(&out);
}

TEST(seal_edited) {
    CHECK(setup() == 0);
    char *t = seal_n(5, 2, 1);
    CHECK(t);
    char *p = strstr(t, "{\"alert\":3,");
    CHECK(p);
    p[9] = '8';
    km_seal_report *r = verify(t);
    CHECK(one_problem(r, KM_SEAL_EDITED, 5, "record 3 (line 5) was edited"));
    km_seal_report_free(r);
    free(t);
}

TEST(seal_edited_first_or_header) {
    CHECK(setup() == 0);
    char *t = seal_n(3, 100, 1);
    CHECK(t);
    char *p = strstr(t, "\"producer\":\"test\"");
    CHECK(p);
    p[13] = 'T'; /* the header's producer */
    km_seal_report *r = verify(t);
    CHECK(r && r->streams[0].nproblems >= 1);
    CHECK_INT(r->streams[0].problems[0].kind, KM_SEAL_EDITED);
    CHECK_CONTAINS(r->streams[0].problems[0].message, "record 1 (line 2) or the stream header (line 1) was edited");
    km_seal_report_free(r);
    free(t);
}

TEST(seal_deleted_middle_and_end) {
    CHECK(setup() == 0);
    char *t = seal_n(5, 2, 1);
    CHECK(t);
    static const int drop4[] = {1, 2, 3, 4, 5, 7, 8, 9, 0};
    char *x = reorder(t, drop4);
    km_seal_report *r = verify(x);
    CHECK(one_problem(r, KM_SEAL_DELETED, 7, "record 4 was deleted (between line 5 and line 7)"));
    CHECK_INT(r->streams[0].problems[0].seq, 4);
    km_seal_report_free(r);
    free(x);
    static const int drop5[] = {1, 2, 3, 4, 5, 6, 7, 9, 0}; /* the last record, the final signature kept */
    x = reorder(t, drop5);
    r = verify(x);
    CHECK(one_problem(r, KM_SEAL_DELETED, 8, "record 5 was deleted (the final signature at line 8 counts 5 records)"));
    km_seal_report_free(r);
    free(x);
    static const int drop23[] = {1, 2, 6, 7, 8, 9, 0}; /* records 2 and 3 with the checkpoint */
    x = reorder(t, drop23);
    r = verify(x);
    CHECK(one_problem(r, KM_SEAL_DELETED, 3, "records 2 to 3 were deleted (between line 2 and line 3)"));
    km_seal_report_free(r);
    free(x);
    free(t);
}

TEST(seal_reordered) {
    CHECK(setup() == 0);
    char *t = seal_n(5, 2, 1);
    CHECK(t);
    static const int swap[] = {1, 3, 2, 4, 5, 6, 7, 8, 9, 0};
    char *x = reorder(t, swap);
    km_seal_report *r = verify(x);
    CHECK(one_problem(r, KM_SEAL_REORDERED, 3, "record 1 (line 3) is out of order: it comes after record 2 (line 2)"));
    km_seal_report_free(r);
    free(x);
    free(t);
}

TEST(seal_inserted_and_duplicated) {
    CHECK(setup() == 0);
    char *t = seal_n(5, 2, 1);
    CHECK(t);
    /* an unsealed line */
    km_buf b = KM_BUF_INIT;
    char *l;
    for (int i = 1; (l = line_of(t, i)) != NULL; i++) {
        km_buf_puts(&b, l);
        km_buf_putc(&b, '\n');
        if (i == 5) km_buf_puts(&b, "{\"alert\":99,\"rule\":\"KM-T\"}\n");
        free(l);
    }
    km_seal_report *r = verify(b.data);
    CHECK(one_problem(r, KM_SEAL_INSERTED, 6, "line 6 has no seal: inserted"));
    km_seal_report_free(r);
    km_buf_free(&b);
    /* a copy of a sealed record */
    static const int dup[] = {1, 2, 3, 4, 5, 6, 5, 7, 8, 9, 0};
    char *x = reorder(t, dup);
    r = verify(x);
    CHECK(one_problem(r, KM_SEAL_INSERTED, 7, "line 7 repeats record 3 (line 5): inserted or duplicated"));
    km_seal_report_free(r);
    free(x);
    /* a forged record with a taken number placed first: the genuine one is kept */
    b = (km_buf)KM_BUF_INIT;
    for (int i = 1; (l = line_of(t, i)) != NULL; i++) {
        if (i == 5) {
            char *fake = line_of(t, 5);
            fake[9] = '7';
            km_buf_puts(&b, fake);
            km_buf_putc(&b, '\n');
            free(fake);
        }
        km_buf_puts(&b, l);
        km_buf_putc(&b, '\n');
        free(l);
    }
    r = verify(b.data);
    CHECK(one_problem(r, KM_SEAL_INSERTED, 5, "line 5 repeats record 3 (line 6)"));
    km_seal_report_free(r);
    km_buf_free(&b);
    free(t);
}

TEST(seal_truncated_and_appended) {
    CHECK(setup() == 0);
    char *t = seal_n(5, 2, 1);
    CHECK(t);
    static const int cut[] = {1, 2, 3, 4, 5, 6, 0};
    char *x = reorder(t, cut);
    km_seal_report *r = verify(x);
    CHECK(one_problem(r, KM_SEAL_TRUNCATED, 6, "the last valid signature (line 4) covers records 1 to 2, records 3 to 4"));
    km_seal_report_free(r);
    free(x);
    static const int cut2[] = {1, 2, 3, 4, 5, 6, 7, 0};
    x = reorder(t, cut2);
    r = verify(x);
    CHECK(one_problem(r, KM_SEAL_TRUNCATED, 7, "no final signature after line 7 (records 1 to 4 are covered"));
    km_seal_report_free(r);
    free(x);
    /* a stream whose sealer was freed without finish: a crash looks truncated */
    x = seal_n(3, 100, 0);
    r = verify(x);
    CHECK(one_problem(r, KM_SEAL_TRUNCATED, 4, "the stream has no valid signature"));
    km_seal_report_free(r);
    free(x);
    /* a valid record copied after the final signature */
    static const int app[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 8, 0};
    x = reorder(t, app);
    r = verify(x);
    CHECK(r && r->streams[0].nproblems >= 1);
    int found = 0;
    for (size_t i = 0; i < r->streams[0].nproblems; i++)
        found |= r->streams[0].problems[i].kind == KM_SEAL_INSERTED && r->streams[0].problems[i].line == 10;
    CHECK(found);
    km_seal_report_free(r);
    free(x);
    free(t);
}

TEST(seal_forged_signature_and_relinked) {
    CHECK(setup() == 0);
    char *t = seal_n(5, 2, 1);
    CHECK(t);
    /* flip one hex digit of the checkpoint signature on line 4 */
    char *l4 = strstr(t, "\"final\":false,\"sig\":\"");
    CHECK(l4);
    char *d = l4 + 21;
    *d = *d == '0' ? '1' : '0';
    km_seal_report *r = verify(t);
    CHECK(one_problem(r, KM_SEAL_BAD_SIGNATURE, 4, "the signature at line 4 (over records 1 to 2) does not verify"));
    km_seal_report_free(r);
    *d = *d == '1' ? '0' : '1';
    free(t);

    /* A careful attacker edits record 3 and recomputes the links of records 3 and 4: every
     * record chains, so only the signature over record 4 (line 7) shows it. */
    t = seal_n(5, 2, 1);
    CHECK(t);
    char *lines[10] = {0};
    for (int i = 1; i <= 9; i++) lines[i] = line_of(t, i);
    unsigned char prev[32];
    const char *lk = strstr(lines[3], "\"link\":\"") + 8;
    km_hex_decode(lk, 64, prev, 32, NULL);
    for (int i = 5; i <= 6; i++) {
        char *seal = strstr(lines[i], ",\"kumomori_seal\"");
        if (i == 5) lines[i][9] = '7'; /* alert 3 -> 7 */
        km_buf rec = KM_BUF_INIT;
        km_buf_append(&rec, lines[i], (size_t)(seal - lines[i]));
        km_buf_putc(&rec, '}');
        unsigned char next[32];
        const char tr[] = "kumomori-seal-v1 record\n";
        unsigned char be[8] = {0, 0, 0, 0, 0, 0, 0, (unsigned char)(i == 5 ? 3 : 4)};
        const void *pp[] = {tr, prev, be, rec.data};
        size_t nn[] = {sizeof tr - 1, 32, 8, rec.len};
        sha(pp, nn, 4, next);
        char hx[65];
        km_hex_encode(next, 32, hx);
        char *nl = malloc(rec.len + 128);
        snprintf(nl, rec.len + 128, "%.*s,\"kumomori_seal\":{\"seq\":%d,\"link\":\"%s\"}}", (int)(rec.len - 1),
                 rec.data, i == 5 ? 3 : 4, hx);
        free(lines[i]);
        lines[i] = nl;
        memcpy(prev, next, 32);
        km_buf_free(&rec);
    }
    km_buf b = KM_BUF_INIT;
    for (int i = 1; i <= 9; i++) {
        km_buf_puts(&b, lines[i]);
        km_buf_putc(&b, '\n');
        free(lines[i]);
    }
    r = verify(b.data);
    /* record 5 no longer chains from the rewritten record 4 either: the edit is bounded */
    CHECK(r && r->streams[0].nproblems == 2);
    CHECK_INT(r->streams[0].problems[0].kind, KM_SEAL_EDITED);
    CHECK_CONTAINS(r->streams[0].problems[0].message, "record 5 (line 8)");
    CHECK_INT(r->streams[0].problems[1].kind, KM_SEAL_RELINKED);
    CHECK_CONTAINS(r->streams[0].problems[1].message,
                   "the signature at line 7 no longer matches: records 3 to 4 were changed and their seals "
                   "recomputed after signing (last good signature: line 4)");
    km_seal_report_free(r);
    km_buf_free(&b);
    free(t);
}

TEST(seal_wrong_key_and_orphans) {
    CHECK(setup() == 0);
    char a[512], b[512];
    snprintf(a, sizeof a, "%s/o.key", dir);
    snprintf(b, sizeof b, "%s/o.pub", dir);
    CHECK(km_seal_keygen(a, b, NULL, NULL) == 0);
    km_seal_key *other = km_seal_key_load_public(b, NULL);
    CHECK(other);
    char *t = seal_n(2, 100, 1);
    CHECK(t);
    km_seal_report *r = NULL;
    CHECK(km_seal_verify(t, strlen(t), other, &r, NULL) == 0);
    CHECK(one_problem(r, KM_SEAL_WRONG_KEY, 1, "the stream was sealed with key"));
    km_seal_report_free(r);
    km_seal_key_free(other);
    /* a line before any header, and a file with no stream */
    km_buf x = KM_BUF_INIT;
    km_buf_puts(&x, "{\"alert\":0}\n");
    km_buf_puts(&x, t);
    r = verify(x.data);
    CHECK(r && r->norphans == 1 && r->orphans[0].line == 1 && r->streams[0].nproblems == 0);
    CHECK(!km_seal_report_ok(r));
    km_seal_report_free(r);
    km_buf_free(&x);
    r = verify("{\"a\":1}\n");
    CHECK(r && r->nstreams == 0 && !km_seal_report_ok(r));
    km_seal_report_free(r);
    free(t);
}

TEST(seal_two_streams_in_one_file) {
    CHECK(setup() == 0);
    char *a = seal_n(2, 100, 1), *b = seal_n(3, 100, 1);
    CHECK(a && b);
    km_buf x = KM_BUF_INIT;
    km_buf_puts(&x, a);
    km_buf_puts(&x, b);
    km_seal_report *r = verify(x.data);
    CHECK(r && r->nstreams == 2 && km_seal_report_ok(r) && r->records == 5);
    CHECK_INT(r->streams[1].first_line, 5);
    km_buf o = KM_BUF_INIT;
    CHECK(km_seal_report_json(r, &o) == 0);
    CHECK_CONTAINS(o.data, "\"summary\":{\"streams\":2,\"records\":5,\"problems\":0,\"valid\":true,"
                           "\"unlisted_streams\":0,\"unlisted_problems\":0}");
    km_buf_free(&o);
    km_seal_report_free(r);
    km_buf_free(&x);
    free(a);
    free(b);
}

/* Consecutive unsealed lines are one problem naming the run (line .. line_last): a block of junk
 * is one line of the report, and its memory does not grow with the number of lines. */
TEST(seal_unsealed_runs) {
    CHECK(setup() == 0);
    char *t = seal_n(5, 2, 1); /* 1 header, 2 r1, 3 r2, 4 sig, 5 r3, 6 r4, 7 sig, 8 r5, 9 final */
    CHECK(t);
    km_buf b = KM_BUF_INIT;
    km_buf_puts(&b, "junk\n\njunk\n"); /* lines 1-3, before the header */
    char *l;
    for (int i = 1; (l = line_of(t, i)) != NULL; i++) {
        km_buf_puts(&b, l);
        km_buf_putc(&b, '\n');
        if (i == 2) km_buf_puts(&b, "{\"alert\":98}\nx\n{\"alert\":99}\n"); /* lines 6-8: after r1 (line 5) */
        if (i == 5) km_buf_puts(&b, "y\n");                                    /* line 12: after r3 (line 11) */
        free(l);
    }
    km_seal_report *r = verify(b.data);
    CHECK(r && r->norphans == 1 && r->nstreams == 1);
    if (r && r->norphans == 1) {
        const km_seal_problem *p = &r->orphans[0];
        CHECK(p->kind == KM_SEAL_INSERTED);
        CHECK_INT(p->line, 1);
        CHECK_INT(p->line_last, 3);
        CHECK_STR(p->message, "lines 1 to 3 (3 lines) are not part of a sealed stream (before any stream header)");
    }
    if (r && r->nstreams == 1) {
        const km_seal_stream *s = &r->streams[0];
        CHECK_INT(s->nproblems, 2);
        if (s->nproblems == 2) {
            CHECK_INT(s->problems[0].line, 6);
            CHECK_INT(s->problems[0].line_last, 8);
            CHECK_STR(s->problems[0].message, "lines 6 to 8 (3 lines) have no seal: inserted");
            CHECK_INT(s->problems[1].line, 12);
            CHECK_INT(s->problems[1].line_last, 12);
            CHECK_STR(s->problems[1].message, "line 12 has no seal: inserted");
        }
        CHECK_INT(s->records, 5);
    }
    CHECK(!km_seal_report_ok(r));
    km_buf o = KM_BUF_INIT;
    CHECK(r && km_seal_report_json(r, &o) == 0);
    CHECK_CONTAINS(o.data, "{\"kind\":\"inserted\",\"line\":6,\"line_last\":8,\"seq\":null,\"seq_last\":null,");
    km_buf_free(&o);
    km_seal_report_free(r);
    km_buf_free(&b);
    free(t);
}

/* A report lists 5,000 problems and 1,000 streams; the rest are counted and still decide the
 * verdict. */
TEST(seal_listing_caps) {
    CHECK(setup() == 0);
    /* 1,200 unreadable stream headers: a stream and a problem each */
    km_buf b = KM_BUF_INIT;
    for (int i = 0; i < 1200; i++) km_buf_puts(&b, "{\"kumomori_seal_stream\":{}}\n");
    km_seal_report *r = verify(b.data);
    CHECK(r && r->nstreams == 1000 && r->unlisted_streams == 200 && r->unlisted_problems == 200);
    CHECK(r && r->streams[999].nproblems == 1 && r->streams[999].first_line == 1000);
    CHECK(!km_seal_report_ok(r));
    km_buf o = KM_BUF_INIT;
    CHECK(r && km_seal_report_json(r, &o) == 0);
    CHECK_CONTAINS(o.data, "\"summary\":{\"streams\":1200,\"records\":0,\"problems\":1200,\"valid\":false,"
                           "\"unlisted_streams\":200,\"unlisted_problems\":200}");
    km_buf_free(&o);
    km_seal_report_free(r);
    km_buf_free(&b);
    /* one stream of 6,000 records, every record edited: 5,000 listed, 1,000 counted */
    char *t = seal_n(6000, 10000, 1);
    CHECK(t);
    b = (km_buf)KM_BUF_INIT;
    for (const char *p = t; p && *p;) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) + 1 : strlen(p);
        size_t at = b.len;
        km_buf_append(&b, p, n);
        if (!strncmp(p, "{\"alert\":", 9)) b.data[at + 2] = 'A'; /* {"Alert": the record no longer hashes to its link */
        p += n;
    }
    r = verify(b.data);
    CHECK(r && r->nstreams == 1 && r->streams[0].nproblems == 5000 && r->unlisted_problems == 1000);
    CHECK(r && r->streams[0].problems[4999].kind == KM_SEAL_EDITED && r->records == 6000);
    CHECK(!km_seal_report_ok(r));
    km_seal_report_free(r);
    km_buf_free(&b);
    /* 1,001 intact streams: the last one is not listed, and the file is intact */
    b = (km_buf)KM_BUF_INIT;
    for (int i = 0; i < 1001 && t; i++) {
        char *one = seal_n(1, 100, 1);
        CHECK(one);
        if (one) km_buf_puts(&b, one);
        free(one);
    }
    r = verify(b.data);
    CHECK(r && r->nstreams == 1000 && r->unlisted_streams == 1 && r->unlisted_problems == 0 && r->records == 1001);
    CHECK(km_seal_report_ok(r));
    km_seal_report_free(r);
    km_buf_free(&b);
    free(t);
}

TEST(seal_garbage_does_not_crash) {
    CHECK(setup() == 0);
    static const char *const inputs[] = {
        "",
        "\n\n\n",
        "{\"kumomori_seal_stream\":{}}\n",
        "{\"kumomori_seal_stream\":{\"version\":1,\"stream\":\"00\",\"key\":\"zz\"}}\n{\"kumomori_seal_signature\":7}\n",
        "{\"kumomori_seal_stream\":\n{\"a\":1,\"kumomori_seal\":{\"seq\":99999999999999999999999,\"link\":\"00\"}}\n",
        "{\"x\":1,\"kumomori_seal\":{\"seq\":0,\"link\":\"0000000000000000000000000000000000000000000000000000000000000000\"}}\n",
    };
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        km_seal_report *r = verify(inputs[i]);
        km_test_case(r && !km_seal_report_ok(r), "input %zu reported as not intact", i);
        km_seal_report_free(r);
    }
}

TEST(seal_file_stream) {
    CHECK(setup() == 0);
    char path[512];
    snprintf(path, sizeof path, "%s/stream.jsonl", dir);
    FILE *out = fopen(path, "w");
    CHECK(out);
    km_seal_opts o = {2, 3600, "test-file"};
    km_seal_file *sf = km_seal_file_open(priv, out, &o, NULL);
    CHECK(sf);
    FILE *f = km_seal_file_stream(sf);
    fprintf(f, "{\"a\":1}\n{\"a\":");  /* a record split across writes */
    fflush(f);
    fprintf(f, "2}\n\n{\"a\":3}");        /* a blank line, and a last line without newline */
    CHECK(km_seal_file_close(sf, NULL) == 0);
    fclose(out);
    size_t len = 0;
    char *text = km_test_read(path, &len);
    CHECK(text);
    km_seal_report *r = verify(text);
    CHECK(r && km_seal_report_ok(r) && r->records == 3 && r->streams[0].signatures == 2);
    CHECK_STR(r->streams[0].producer, "test-file");
    km_seal_report_free(r);
    free(text);

    /* a line that is not a JSON object: the write fails, close says why, no final signature */
    out = fopen(path, "w");
    CHECK(out);
    sf = km_seal_file_open(priv, out, NULL, NULL);
    CHECK(sf);
    f = km_seal_file_stream(sf);
    fprintf(f, "{\"a\":1}\nnot json\n");
    fflush(f);
    km_error e;
    km_error_clear(&e);
    CHECK(km_seal_file_close(sf, &e) != 0);
    CHECK_CONTAINS(e.msg, "a record must be a JSON object");
    fclose(out);
    text = km_test_read(path, &len);
    CHECK(text);
    r = verify(text);
    CHECK(r && r->streams[0].nproblems == 1 && r->streams[0].problems[0].kind == KM_SEAL_TRUNCATED);
    km_seal_report_free(r);
    free(text);

    /* abort: an error path leaves the stream unfinished */
    out = fopen(path, "w");
    CHECK(out);
    sf = km_seal_file_open(priv, out, NULL, NULL);
    fprintf(km_seal_file_stream(sf), "{\"a\":1}\n");
    km_seal_file_abort(sf);
    fclose(out);
    text = km_test_read(path, &len);
    r = verify(text);
    CHECK(r && r->records == 0 && r->streams[0].problems[0].kind == KM_SEAL_TRUNCATED); /* still buffered: not sealed */
    km_seal_report_free(r);
    free(text);
}

TEST(seal_resume_after_restart) {
    CHECK(setup() == 0);
    km_buf out = KM_BUF_INIT;
    km_seal_opts o = {2, 3600, "test-resume"};
    km_sealer *s = km_sealer_new(priv, to_buf, &out, &o, NULL);
    CHECK(s);
    CHECK(km_sealer_record(s, "{\"a\":1}", 7, NULL) == 0);
    CHECK(km_sealer_record(s, "{\"a\":2}", 7, NULL) == 0); /* + a checkpoint */
    CHECK(km_sealer_record(s, "{\"a\":3}", 7, NULL) == 0);
    char pos[KM_SEAL_POSITION_MAX];
    CHECK(km_sealer_position(s, pos) == 0);
    size_t saved = out.len; /* what a state file records with the position */
    CHECK(km_sealer_record(s, "{\"a\":4}", 7, NULL) == 0); /* lost in the crash */
    km_sealer_free(s);
    out.len = saved; /* the restart cuts the output back */
    out.data[saved] = 0;
    s = km_sealer_resume(priv, to_buf, &out, &o, pos, NULL);
    CHECK(s);
    CHECK(km_sealer_record(s, "{\"a\":4}", 7, NULL) == 0);
    CHECK(km_sealer_record(s, "{\"a\":5}", 7, NULL) == 0);
    CHECK(km_sealer_finish(s, NULL) == 0);
    CHECK(km_sealer_position(s, pos) == 0);
    CHECK(strstr(pos, ":final") != NULL);
    km_sealer_free(s);
    km_seal_report *r = verify(out.data);
    CHECK(r && km_seal_report_ok(r) && r->nstreams == 1 && r->records == 5);
    km_seal_report_free(r);
    /* after a final signature, a restart starts a new stream in the same file */
    s = km_sealer_resume(priv, to_buf, &out, &o, pos, NULL);
    CHECK(s);
    CHECK(km_sealer_record(s, "{\"a\":6}", 7, NULL) == 0);
    CHECK(km_sealer_finish(s, NULL) == 0);
    km_sealer_free(s);
    r = verify(out.data);
    CHECK(r && km_seal_report_ok(r) && r->nstreams == 2 && r->records == 6);
    km_seal_report_free(r);
    km_buf_free(&out);
    /* positions that cannot be used */
    km_error e;
    km_error_clear(&e);
    CHECK(km_sealer_resume(priv, to_buf, &out, &o, "v1:zz", &e) == NULL);
    CHECK_CONTAINS(e.msg, "unreadable stream position");
}

TEST(seal_cleanup) {
    km_seal_key_free(priv);
    km_seal_key_free(pub);
    priv = pub = NULL;
    if (dir[0]) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        CHECK(system(cmd) == 0);
    }
}
