/* Fuzz target: the sealed-output verifier (src/trail/seal_verify.c) with a key made for the run.
 * First byte odd: the rest is verified as it is (any text claiming to be a sealed stream). First
 * byte even: the rest is lines of records, which the target seals itself (a checkpoint every
 * 1..8 records), then changes the sealed stream as the next three bytes say (nothing, delete,
 * swap or edit a record line) and verifies it; this way the fuzzer reaches the verifier's
 * deeper paths, which random bytes never would (they cannot forge a link or a signature).
 * Properties: an untouched stream verifies; a deleted, swapped or edited record line does not;
 * the report's JSON is valid JSON. */
#include "fuzz.h"
#include "kumomori/buf.h"
#include "kumomori/json.h"
#include "kumomori/seal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static km_seal_key *priv, *pub;

static void cleanup(void) {
    km_seal_key_free(priv);
    km_seal_key_free(pub);
}

static void setup(void) {
    if (priv) return;
    const char *dir = km_fuzz_tmpdir();
    if (!dir) abort();
    char a[512], b[512];
    snprintf(a, sizeof a, "%s/seal.key", dir);
    snprintf(b, sizeof b, "%s/seal.pub", dir);
    unlink(a);
    unlink(b);
    if (km_seal_keygen(a, b, NULL, NULL)) abort();
    priv = km_seal_key_load_private(a, NULL);
    pub = km_seal_key_load_public(b, NULL);
    unlink(a);
    unlink(b);
    if (!priv || !pub) abort();
    atexit(cleanup);
}

static int to_buf(void *ctx, const char *data, size_t len) { return km_buf_append(ctx, data, len); }

/* Verify text; returns km_seal_report_ok, or -1 when verification itself failed. */
static int verify(const char *text, size_t len) {
    km_seal_report *r = NULL;
    km_error err;
    if (km_seal_verify(text, len, pub, &r, &err) != KM_OK) {
        KM_FUZZ_CHECK("seal", err.code == KM_ENOMEM, "verify failed (%s) other than out of memory", err.msg);
        return -1;
    }
    int ok = km_seal_report_ok(r);
    km_buf j = KM_BUF_INIT;
    if (km_seal_report_json(r, &j) == 0) {
        km_json_doc *d = km_json_parse(j.data, j.len, NULL, NULL, &err);
        KM_FUZZ_CHECK("seal", d != NULL, "report JSON does not parse: %s", err.msg);
        km_json_doc_free(d);
    }
    km_buf_free(&j);
    km_seal_report_free(r);
    return ok;
}

typedef struct line { const char *p; size_t n; } line;

KM_FUZZ_TARGET(seal) {
    setup();
    km_fuzz_in in = {data, size};
    uint8_t mode = km_fuzz_byte(&in);
    if (mode & 1) {
        verify((const char *)in.p, in.n);
        return 0;
    }
    uint8_t op = km_fuzz_byte(&in) % 4, x = km_fuzz_byte(&in), y = km_fuzz_byte(&in);
    km_buf out = KM_BUF_INIT;
    km_seal_opts o = {1u + (mode >> 1) % 8, 3600, "fuzz"};
    km_sealer *s = km_sealer_new(priv, to_buf, &out, &o, NULL);
    if (!s) return 0;
    size_t accepted = 0;
    for (int i = 0; i < 64 && in.n; i++) {
        size_t n;
        const char *rec = km_fuzz_chunk(&in, "\n", &n);
        if (km_sealer_record(s, rec, n, NULL) == KM_OK) accepted++;
    }
    int fin = km_sealer_finish(s, NULL);
    km_sealer_free(s);
    if (fin != KM_OK || out.failed) {
        km_buf_free(&out);
        return 0;
    }
    /* Split the sealed stream into lines to change it. */
    line lines[256];
    size_t nl = 0;
    km_fuzz_in sin = {(const uint8_t *)out.data, out.len};
    while (sin.n && nl < 256) {
        size_t n;
        const char *l = km_fuzz_chunk(&sin, "\n", &n);
        lines[nl++] = (line){l, n};
    }
    size_t rec_lines[256], nrec = 0;
    for (size_t i = 0; i < nl; i++)
        if (memmem(lines[i].p, lines[i].n, "\"kumomori_seal\":", 16)) rec_lines[nrec++] = i;
    int changed = 0;
    size_t a = nrec ? rec_lines[x % nrec] : 0, b = nrec ? rec_lines[y % nrec] : 0;
    km_buf t = KM_BUF_INIT;
    for (size_t i = 0; i < nl; i++) {
        size_t src = i;
        if (nrec && op == 1 && i == a) { changed = 1; continue; } /* delete */
        if (nrec && op == 2 && a != b && (i == a || i == b)) {    /* swap */
            src = i == a ? b : a;
            changed = lines[a].n != lines[b].n || memcmp(lines[a].p, lines[b].p, lines[a].n) != 0;
        }
        if (nrec && op == 3 && i == a && lines[i].n) { /* edit one byte */
            size_t at = y % lines[i].n;
            uint8_t flip = (uint8_t)(x | 1);
            km_buf_append(&t, lines[i].p, at);
            km_buf_putc(&t, (char)(lines[i].p[at] ^ flip));
            km_buf_append(&t, lines[i].p + at + 1, lines[i].n - at - 1);
            km_buf_putc(&t, '\n');
            changed = 1;
            continue;
        }
        km_buf_append(&t, lines[src].p, lines[src].n);
        km_buf_putc(&t, '\n');
    }
    int ok = verify(t.data ? t.data : "", t.len);
    if (op == 0 && accepted > 0)
        KM_FUZZ_CHECK("seal", ok == 1, "an untouched stream of %zu records does not verify", accepted);
    if (changed)
        KM_FUZZ_CHECK("seal", ok == 0, "a changed stream (op %d on line %zu) verifies", op, a + 1);
    km_buf_free(&t);
    km_buf_free(&out);
    return 0;
}
