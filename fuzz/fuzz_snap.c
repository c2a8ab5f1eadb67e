/* Fuzz target: the snapshot loader (src/audit/snap.c: collect output files and AWS Config
 * snapshots, through km_snap_add_text) and every audit check run over what it loaded. The input
 * is up to 8 files, separated by a line "=====": each starts with a line giving its path in the
 * snapshot ("111122223333/global/iam/get-account-authorization-details.json", or a Config
 * snapshot's name), then its text. Properties: loading never fails on bad content (problems are
 * recorded), each problem is a message, and every finding names a check and a status. */
#include "fuzz.h"
#include "audit/audit.h"
#include "audit/snap.h"

#include <stdlib.h>
#include <string.h>

static km_checkset checks;
static int loaded;

static void cleanup(void) { km_checkset_free(&checks); }

KM_FUZZ_TARGET(snap) {
    if (!loaded) {
        km_error err;
        if (km_checkset_load(&checks, &err) != KM_OK) abort(); /* the built-in checks must load */
        loaded = 1;
        atexit(cleanup);
    }
    km_snap *s = km_snap_new();
    if (!s) return 0;
    km_fuzz_in in = {data, size};
    for (int f = 0; f < 8 && in.n; f++) {
        size_t flen, rlen;
        const char *file = km_fuzz_chunk(&in, "\n=====\n", &flen);
        km_fuzz_in fi = {(const uint8_t *)file, flen};
        const char *rel = km_fuzz_chunk(&fi, "\n", &rlen);
        char path[256];
        if (rlen >= sizeof path) rlen = sizeof path - 1;
        memcpy(path, rel, rlen);
        path[rlen] = 0;
        int rc = km_snap_add_text(s, path, (const char *)fi.p, fi.n, NULL);
        KM_FUZZ_CHECK("snap", rc == KM_OK, "add_text failed with %d", rc);
    }
    km_error err;
    if (km_snap_finish(s, &err) == KM_OK) {
        for (size_t i = 0; i < km_snap_nproblems(s); i++) (void)strlen(km_snap_problem(s, i));
        km_audit_opts o;
        km_audit_opts_default(&o);
        o.now = 1780000000; /* fixed, so a finding replays the same way */
        km_audit *a = NULL;
        if (km_audit_run(s, &checks, &o, &a, &err) == KM_OK) {
            for (size_t i = 0; i < km_audit_nfindings(a); i++) {
                const km_finding *fd = km_audit_finding(a, i);
                KM_FUZZ_CHECK("snap", fd->check && fd->check->id && fd->status <= KM_NA && fd->message,
                              "finding %zu incomplete", i);
            }
            km_rollup r;
            km_audit_rollup(a, &r);
        }
        km_audit_free(a);
    }
    km_snap_free(s);
    return 0;
}
