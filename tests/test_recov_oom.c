/* The recoverability analysis when an allocation fails (tests/allocfail/wrap.c through
 * km_allocfail_arm): every allocation the analysis of tests/data/recov/escalation makes is failed
 * in turn, and each run must either fail as a whole with "out of memory" or give the very verdict
 * and reason of the run without failure. The escalation path of the AT_RISK reason is written by
 * path_words(); when its buffer ran out of memory it once gave a sentence cut short (or an empty
 * path after "by privilege escalation: "), a different answer rather than an error. */
#include "test.h"

#include "audit/snap.h"
#include "recov/recov.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static km_snap *load_snap(const char *path) {
    km_error err;
    km_error_clear(&err);
    km_snap *s = km_snap_new();
    if (!s || km_snap_load(s, path, &err) != KM_OK) {
        km_snap_free(s);
        return NULL;
    }
    km_snap_finish(s, &err);
    return s;
}

/* The verdict and reason of store "orders", malloc'd, or NULL when there is no such store. */
static char *orders_reason(const km_recov *r) {
    for (size_t i = 0; i < km_recov_nstores(r); i++) {
        const km_recov_store *st = km_recov_store_at(r, i);
        if (strcmp(st->name, "orders")) continue;
        size_t n = strlen(st->reason) + 16;
        char *s = malloc(n);
        if (s) snprintf(s, n, "%d %s", (int)st->verdict, st->reason);
        return s;
    }
    return NULL;
}

TEST(recov_oom_escalation_reason_whole_or_error) {
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/data/recov/escalation", km_test_top());
    const char *in[1] = {path};
    km_error err;
    km_snap *snap = load_snap(path);
    CHECK(snap);
    long before = km_allocfail_calls();
    km_recov *r = km_recov_analyze(snap, in, 1, NULL, &err);
    long calls = km_allocfail_calls() - before;
    CHECK(r);
    char *want = orders_reason(r);
    km_recov_free(r);
    km_snap_free(snap);
    CHECK(want);
    /* the run without failure names the path in full (test_recov.c checks its words) */
    CHECK_CONTAINS(want, "by privilege escalation: ");
    CHECK(calls > 100);
    long errors = 0, same = 0;
    for (long n = 1; n <= calls; n++) {
        /* a fresh snapshot each time: the analysis may leave caches in it */
        snap = load_snap(path);
        CHECK(snap);
        km_error_clear(&err);
        km_allocfail_arm(n);
        r = km_recov_analyze(snap, in, 1, NULL, &err);
        km_allocfail_arm(0);
        if (!r) {
            CHECK_MSG(err.code == KM_ENOMEM && strstr(err.msg, "out of memory"),
                      "allocation %ld of %ld failed: no result and the error is \"%s\"", n, calls, err.msg);
            errors++;
        } else {
            char *got = orders_reason(r);
            int ok = got && !strcmp(got, want);
            if (!ok)
                km_test_fail(__FILE__, __LINE__, "allocation %ld of %ld failed: the reason is\n  %s\ninstead of\n  %s", n,
                             calls, got ? got : "(no store)", want);
            free(got);
            same += ok;
            km_recov_free(r);
            if (!ok) { km_snap_free(snap); break; }
        }
        km_snap_free(snap);
    }
    free(want);
    /* both outcomes happen: most failures are errors, a few are absorbed (a cache not built) */
    CHECK(errors > 0);
    printf("  recov_oom: %ld allocations failed in turn: %ld errors, %ld same answer\n", calls, errors, same);
}
