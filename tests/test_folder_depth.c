/* One folder-depth limit (KM_FOLDER_MAX_DEPTH, src/util/limits.h) for the snapshot loader
 * (src/audit/snap.c) and the IAM policy folder loader (src/iam/account.c): a file 16 folders
 * below the path given is read by both, one 17 folders down by neither, and each names the
 * folder it did not read. The policy loader stopped at 12 before, so a snapshot the audit read
 * whole lost principals in `kumomori iam`. */
#include "test.h"

#include "audit/snap.h"
#include "kumomori/buf.h"
#include "kumomori/iam.h"
#include "util/limits.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* root/1/2/.../depth, made; its path in out. 0 or -1. */
static int make_deep(const char *root, int depth, char *out, size_t n) {
    snprintf(out, n, "%s", root);
    for (int i = 1; i <= depth; i++) {
        size_t l = strlen(out);
        snprintf(out + l, n - l, "/%d", i);
        if (mkdir(out, 0700) && access(out, F_OK)) return -1;
    }
    return 0;
}

/* A get-account-authorization-details answer with one user, written into dir. */
static int write_user(const char *dir, const char *user) {
    char path[1300];
    snprintf(path, sizeof path, "%s/get-account-authorization-details.json", dir);
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fprintf(f, "{\"UserDetailList\": [{\"UserName\": \"%s\", \"UserId\": \"AIDA%s\", \"Path\": \"/\", "
               "\"Arn\": \"arn:aws:iam::111122223333:user/%s\", \"UserPolicyList\": [], \"GroupList\": [], "
               "\"AttachedManagedPolicies\": []}], \"GroupDetailList\": [], \"RoleDetailList\": [], \"Policies\": []}\n",
            user, user, user);
    return fclose(f);
}

static void rm_deep(const char *root, int depth) {
    char p[1200];
    snprintf(p, sizeof p, "%s/get-account-authorization-details.json", root);
    unlink(p);
    for (int d = depth; d >= 1; d--) {
        make_deep(root, d, p, sizeof p);
        char f[1300];
        snprintf(f, sizeof f, "%s/get-account-authorization-details.json", p);
        unlink(f);
        rmdir(p);
    }
    rmdir(root);
}

/* A folder with user "top" in it and one more at depth `at` (16: at the limit; 17: past it). */
static int deep_case(char *root, size_t n, int at) {
    snprintf(root, n, "/tmp/km-depth-XXXXXX");
    if (!mkdtemp(root) || write_user(root, "top")) return -1;
    char dir[1200];
    if (make_deep(root, at, dir, sizeof dir) || write_user(dir, at == 16 ? "at-limit" : "past-limit")) return -1;
    return 0;
}

TEST(folder_depth_limit_is_16_for_both) { CHECK_INT(KM_FOLDER_MAX_DEPTH, 16); }

TEST(folder_depth_iam_at_and_past_the_limit) {
    for (int at = 16; at <= 17; at++) {
        char root[64];
        CHECK(deep_case(root, sizeof root, at) == 0);
        km_error e;
        km_error_clear(&e);
        km_iam_account *a = km_iam_account_load(root, &e);
        size_t np = a ? km_iam_account_principal_count(a) : 0;
        int deep = 0, top = 0;
        for (size_t i = 0; i < np; i++) {
            deep |= !strcmp(km_iam_account_principal(a, i), "arn:aws:iam::111122223333:user/at-limit");
            top |= !strcmp(km_iam_account_principal(a, i), "arn:aws:iam::111122223333:user/top");
        }
        int ok = top && (at == 16 ? np == 2 && deep : np == 1);
        km_buf notes = KM_BUF_INIT;
        if (a) km_iam_account_notes(a, &notes);
        int named = notes.data && strstr(notes.data, "/17: nested deeper than 16 folders; not read") != NULL;
        char why[300];
        snprintf(why, sizeof why, "%.250s", notes.data ? notes.data : "");
        km_buf_free(&notes);
        km_iam_account_free(a);
        rm_deep(root, at);
        CHECK_MSG(ok, "depth %d: %zu principal(s), the user at depth %d %s (%s)", at, np, at, deep ? "read" : "not read", e.msg);
        CHECK_MSG(at == 16 || named, "depth %d: the notes do not name the folder: %s", at, why);
    }
}

TEST(folder_depth_snapshot_at_and_past_the_limit) {
    for (int at = 16; at <= 17; at++) {
        char root[64];
        CHECK(deep_case(root, sizeof root, at) == 0);
        km_error e;
        km_error_clear(&e);
        km_snap *s = km_snap_new();
        CHECK(s);
        int rc = km_snap_load(s, root, &e);
        size_t nread = km_snap_nread(s);
        int named = 0;
        for (size_t i = 0; i < km_snap_nproblems(s); i++)
            named |= strstr(km_snap_problem(s, i), "/17: nested deeper than 16 folders; not read") != NULL;
        km_snap_free(s);
        rm_deep(root, at);
        CHECK_INT(rc, KM_OK);
        CHECK_MSG(nread == (at == 16 ? 2u : 1u), "depth %d: %zu file(s) read", at, nread);
        CHECK_MSG(at == 16 || named, "depth %d: no problem names the folder", at);
    }
}
