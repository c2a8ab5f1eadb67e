/* who-can over snapshots: the hand-written account in tests/data/iam/snapshot (expected answers
 * worked out from its policies, see its README), the real authorization details in
 * ../shared/corpora/iam/authz_details compared with iam-simulate's answer set, every AWS
 * managed policy of the corpus, and broken snapshots. */
#include "test.h"
#include "audit/snap.h"
#include "kumomori/iam.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static km_iam_account *load_test_snapshot(void) {
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/data/iam/snapshot", km_test_top());
    km_error e;
    km_error_clear(&e);
    km_iam_account *a = km_iam_account_load(path, &e);
    if (!a) printf("snapshot: %s\n", e.msg);
    return a;
}

typedef struct collected {
    char list[2048];
    int n, conditional;
} collected;

static int collect(const km_iam_answer *ans, void *user) {
    collected *c = user;
    size_t l = strlen(c->list);
    const char *name = strrchr(ans->principal, '/');
    snprintf(c->list + l, sizeof c->list - l, "%s%s%s", l ? "," : "", name ? name + 1 : ans->principal,
             ans->conditional ? "?" : "");
    c->n++;
    c->conditional += ans->conditional;
    return 0;
}

static const char *who(const km_iam_account *a, const char *action, const char *resource, km_iam_creds creds,
                       collected *c) {
    memset(c, 0, sizeof *c);
    km_error e;
    long n = km_iam_who_can(a, action, resource, creds, collect, c, &e);
    if (n < 0) snprintf(c->list, sizeof c->list, "error: %s", e.msg);
    return c->list;
}

TEST(iam_whocan_snapshot) {
    km_iam_account *a = load_test_snapshot();
    CHECK(a != NULL);
    CHECK_STR(km_iam_account_id(a), "111122223333");
    CHECK_INT(km_iam_account_principal_count(a), 8);
    collected c;
    /* The MFA SCP on the OU stops every credential without MFA. */
    CHECK_STR(who(a, "s3:DeleteObject", "arn:aws:s3:::backups/db.dump", KM_IAM_CREDS_NO_MFA, &c), "");
    CHECK_STR(who(a, "kms:ScheduleKeyDeletion", "arn:aws:kms:us-east-1:111122223333:key/1111aaaa-22bb-33cc-44dd-555555eeeeee",
                  KM_IAM_CREDS_NO_MFA, &c), "");
    /* With MFA the bucket policy leaves object deletion to BackupAdmin alone. */
    CHECK_STR(who(a, "s3:DeleteObject", "arn:aws:s3:::backups/db.dump", KM_IAM_CREDS_ANY, &c), "BackupAdmin");
    /* Writing objects: the admins with MFA, carol only from her office network (conditional);
     * bob reads only; dave's boundary is read-only; AppRole is an EC2 role: its sessions carry no
     * MFA, so the SCP denies it everything. */
    CHECK_STR(who(a, "s3:PutObject", "arn:aws:s3:::backups/app/x.bin", KM_IAM_CREDS_ANY, &c),
              "BackupAdmin,LegacyAdmin,alice,carol?");
    CHECK_INT(c.conditional, 1);
    /* The key policy reserves key deletion to BackupAdmin. */
    CHECK_STR(who(a, "kms:ScheduleKeyDeletion", "arn:aws:kms:us-east-1:111122223333:key/1111aaaa-22bb-33cc-44dd-555555eeeeee",
                  KM_IAM_CREDS_ANY, &c), "BackupAdmin");
    /* Reading: dave's boundary allows s3:Get*. */
    CHECK_STR(who(a, "s3:GetObject", "arn:aws:s3:::backups/x", KM_IAM_CREDS_MFA, &c),
              "BackupAdmin,LegacyAdmin,alice,bob,carol?,dave");
    /* Assuming BackupAdmin needs MFA (its trust policy), and the trust policy names the account,
     * so the account's admins with MFA can. */
    CHECK_STR(who(a, "sts:AssumeRole", "arn:aws:iam::111122223333:role/BackupAdmin", KM_IAM_CREDS_NO_MFA, &c), "");
    CHECK_STR(who(a, "sts:AssumeRole", "arn:aws:iam::111122223333:role/BackupAdmin", KM_IAM_CREDS_MFA, &c),
              "BackupAdmin,LegacyAdmin,alice");
    /* The actions the SCP leaves open stay open without MFA: everyone may look up their user. */
    CHECK_STR(who(a, "iam:GetUser", NULL, KM_IAM_CREDS_NO_MFA, &c), "LegacyAdmin,alice,ext"); /* dave: boundary */
    /* Cross-account: ext (another account, no SCP known) can read what the bucket policy grants
     * it, and nothing else there, admin though it is at home. */
    CHECK_STR(who(a, "s3:GetObject", "arn:aws:s3:::backups/shared/report.pdf", KM_IAM_CREDS_NO_MFA, &c), "ext");
    CHECK_STR(who(a, "s3:PutObject", "arn:aws:s3:::backups/shared/report.pdf", KM_IAM_CREDS_NO_MFA, &c), "");
    km_iam_account_free(a);
}

TEST(iam_whocan_account_can) {
    km_iam_account *a = load_test_snapshot();
    CHECK(a != NULL);
    km_iam_answer ans;
    km_error e;
    CHECK_INT(km_iam_account_can(a, "arn:aws:iam::111122223333:user/alice", "s3:PutObject", "arn:aws:s3:::backups/x",
                                 KM_IAM_CREDS_NO_MFA, &ans, &e), KM_OK);
    CHECK_INT(ans.decision, KM_IAM_EXPLICIT_DENY);
    CHECK_STR(ans.credential, "access key");
    CHECK_CONTAINS(ans.why.data, "DenyAllExceptListedIfNoMFA");
    km_iam_answer_free(&ans);
    CHECK_INT(km_iam_account_can(a, "arn:aws:iam::111122223333:user/alice", "s3:PutObject", "arn:aws:s3:::backups/x",
                                 KM_IAM_CREDS_MFA, &ans, &e), KM_OK);
    CHECK_INT(ans.decision, KM_IAM_ALLOWED);
    CHECK_CONTAINS(ans.why.data, "identity policy AdministratorAccess statement 1");
    km_iam_answer_free(&ans);
    CHECK_INT(km_iam_account_can(a, "arn:aws:iam::111122223333:user/dave", "s3:PutObject", "arn:aws:s3:::backups/x",
                                 KM_IAM_CREDS_MFA, &ans, &e), KM_OK);
    CHECK_INT(ans.decision, KM_IAM_IMPLICIT_DENY);
    km_iam_answer_free(&ans);
    CHECK_INT(km_iam_account_can(a, "arn:aws:iam::111122223333:role/service/AppRole", "s3:PutObject",
                                 "arn:aws:s3:::backups/app/1", KM_IAM_CREDS_MFA, &ans, &e), KM_OK);
    CHECK_INT(ans.decision, KM_IAM_IMPLICIT_DENY);
    CHECK_CONTAINS(ans.why.data, "cannot carry MFA");
    km_iam_answer_free(&ans);
    CHECK(km_iam_account_can(a, "arn:aws:iam::111122223333:user/nobody", "s3:GetObject", NULL, KM_IAM_CREDS_ANY, &ans, &e) != KM_OK);
    CHECK_CONTAINS(e.msg, "not a user or role");
    km_iam_answer_free(&ans);
    km_buf notes = KM_BUF_INIT;
    km_iam_account_notes(a, &notes);
    CHECK_CONTAINS(notes.data, "SCP levels of account 111122223333: 3");
    CHECK_CONTAINS(notes.data, "account 444455556666: no organizations list-parents output");
    km_buf_free(&notes);
    km_iam_account_free(a);
}

TEST(iam_whocan_guardrails) {
    km_iam_account *a = load_test_snapshot();
    CHECK(a != NULL);
    km_iam_answer ans;
    km_error e;
    /* The OU's MFA SCP stops even an administrator holding a leaked key... */
    static const char *ransom[] = {"s3:DeleteObject", "kms:ScheduleKeyDeletion", "backup:DeleteRecoveryPoint",
                                   "rds:DeleteDBSnapshot", "ec2:DeleteSnapshot", "cloudtrail:StopLogging"};
    for (size_t i = 0; i < sizeof ransom / sizeof ransom[0]; i++) {
        CHECK_INT(km_iam_account_guardrails(a, NULL, ransom[i], NULL, KM_IAM_CREDS_NO_MFA, &ans, &e), KM_OK);
        CHECK_MSG(ans.decision == KM_IAM_EXPLICIT_DENY, "%s: %s", ransom[i], km_iam_decision_name(ans.decision));
        CHECK_CONTAINS(ans.why.data, "DenyAllExceptListedIfNoMFA");
        km_iam_answer_free(&ans);
    }
    /* ...but not one with MFA, and not in the other account, which no SCP reaches. */
    CHECK_INT(km_iam_account_guardrails(a, NULL, "s3:DeleteObject", NULL, KM_IAM_CREDS_MFA, &ans, &e), KM_OK);
    CHECK_INT(ans.decision, KM_IAM_ALLOWED);
    km_iam_answer_free(&ans);
    CHECK_INT(km_iam_account_guardrails(a, "444455556666", "s3:DeleteObject", NULL, KM_IAM_CREDS_NO_MFA, &ans, &e), KM_OK);
    CHECK_INT(ans.decision, KM_IAM_ALLOWED);
    km_iam_answer_free(&ans);
    km_iam_account_free(a);
}

/* ---- the real account of the corpus, against iam-simulate's answer set ---------------------- */

typedef struct diff {
    char key[600];
    char decision[32];
} diff;

static int load_diffs(diff *d, int max) {
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/data/iam/whocan_differences.tsv", km_test_top());
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char line[2048];
    int n = 0;
    while (n < max && fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n') continue;
        char *t1 = strchr(line, '\t');
        char *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
        char *t3 = t2 ? strchr(t2 + 1, '\t') : NULL;
        if (!t3) continue;
        *t1 = *t2 = *t3 = 0;
        snprintf(d[n].key, sizeof d[n].key, "%.290s %.290s", line, t1 + 1);
        snprintf(d[n].decision, sizeof d[n].decision, "%.31s", t2 + 1);
        n++;
    }
    fclose(f);
    return n;
}

TEST(iam_whocan_corpus_answer_set) {
    const char *corp = km_test_corpora();
    if (!corp) {
        km_test_skip("shared corpora absent");
        return;
    }
    char path[8192];
    snprintf(path, sizeof path, "%s/iam/authz_details/cloudsplaining__examples_files_example.json", corp);
    km_error e;
    km_error_clear(&e);
    km_iam_account *a = km_iam_account_load(path, &e);
    CHECK_MSG(a != NULL, "%s", e.msg);
    CHECK_INT(km_iam_account_principal_count(a), 122);
    snprintf(path, sizeof path, "%s/iam/authz_details/whocan_nomfa__cloudsplaining_example.iam-simulate.jsonl", corp);
    size_t len;
    char *text = km_test_read(path, &len);
    CHECK(text != NULL);
    static diff diffs[64];
    int ndiffs = load_diffs(diffs, 64);
    size_t pos = 0;
    int total = 0, agree = 0;
    while (pos < len) {
        size_t end = pos;
        while (end < len && text[end] != '\n') end++;
        if (end > pos) {
            km_json_doc *d = km_json_parse(text + pos, end - pos, NULL, NULL, NULL);
            const km_json *r = km_json_root(d);
            const char *action = km_json_get_str(r, "action", "");
            const char *principal = km_json_get_str(r, "principal", "");
            int want = km_iam_decision_parse(km_json_get_str(r, "decision", ""));
            km_iam_answer ans;
            int rc = km_iam_account_can(a, principal, action, km_json_get_str(r, "resource", NULL),
                                        KM_IAM_CREDS_NO_MFA, &ans, &e);
            int got = rc == KM_OK ? (int)ans.decision : -1;
            char key[600];
            snprintf(key, sizeof key, "%.290s %.290s", action, principal);
            const char *recorded = NULL;
            for (int i = 0; i < ndiffs; i++)
                if (strcmp(diffs[i].key, key) == 0) recorded = diffs[i].decision;
            total++;
            if (got == want) agree++;
            if (recorded)
                km_test_case(got == km_iam_decision_parse(recorded), "%s: got %s, whocan_differences.tsv records %s",
                             key, got < 0 ? e.msg : km_iam_decision_name(got), recorded);
            else
                km_test_case(got == want, "%s: got %s, iam-simulate's answer set says %s", key,
                             got < 0 ? e.msg : km_iam_decision_name(got), km_iam_decision_name(want));
            km_iam_answer_free(&ans);
            km_json_doc_free(d);
        }
        pos = end + 1;
    }
    free(text);
    printf("iam who-can answer set: %d/%d decisions agree with iam-simulate\n", agree, total);
    km_iam_account_free(a);
}

TEST(iam_managed_policies_parse) {
    const char *corp = km_test_corpora();
    if (!corp) {
        km_test_skip("shared corpora absent");
        return;
    }
    char path[8192];
    snprintf(path, sizeof path, "%s/iam/aws_managed_policies_latest.jsonl", corp);
    size_t len;
    char *text = km_test_read(path, &len);
    if (!text) {
        km_test_skip("%s not found", path);
        return;
    }
    size_t pos = 0;
    int n = 0, ok = 0, warned = 0;
    while (pos < len) {
        size_t end = pos;
        while (end < len && text[end] != '\n') end++;
        if (end > pos) {
            km_error e;
            km_error_clear(&e);
            km_json_doc *d = km_json_parse(text + pos, end - pos, NULL, NULL, &e);
            const km_json *r = km_json_root(d);
            const char *name = km_json_get_str(r, "name", "?");
            km_iam_policy *p = d ? km_iam_policy_from_json(km_json_get(r, "document"), text + pos, end - pos,
                                                           KM_IAM_IDENTITY, name, &e)
                                 : NULL;
            n++;
            if (p) ok++;
            if (p && km_iam_policy_warning_count(p)) warned++;
            km_test_case(p != NULL, "managed policy %s: %s", name, e.msg);
            km_iam_policy_free(p);
            km_json_doc_free(d);
        }
        pos = end + 1;
    }
    free(text);
    printf("iam managed policies: %d/%d parse (%d with warnings)\n", ok, n, warned);
    CHECK_INT(n, 1594);
}

/* ---- broken snapshots ------------------------------------------------------------------------- */

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static int cmp_pair(const void *x, const void *y) {
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* The account built from answers the audit's snapshot already parsed (what the recoverability
 * analysis does) answers as the one loaded from the folder: the expected answers are the
 * hand-worked ones of iam_whocan_snapshot, asked of both. */
TEST(iam_account_from_answers) {
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/data/iam/snapshot", km_test_top());
    km_error e;
    km_error_clear(&e);
    km_snap *s = km_snap_new();
    CHECK(s != NULL && km_snap_load(s, path, &e) == KM_OK);
    /* rel and root per file, sorted by rel as the folder walk reads them */
    size_t n = km_snap_nread(s), m = 0;
    const char **rel = calloc(n ? 2 * n : 2, sizeof *rel);
    CHECK(rel != NULL);
    for (size_t i = 0; rel && i < n; i++) {
        const km_json *root;
        size_t load;
        const char *p = km_snap_read(s, i, &root, &load);
        CHECK_INT(load, 0);
        CHECK(strncmp(p, path, strlen(path)) == 0);
        rel[2 * m] = p + strlen(path) + 1;
        rel[2 * m + 1] = (const char *)root;
        m++;
    }
    CHECK(m >= 5);
    qsort(rel, m, 2 * sizeof *rel, cmp_pair);
    km_iam_account *a = km_iam_account_new(&e);
    CHECK(a != NULL);
    for (size_t i = 0; a && rel && i < m; i++)
        CHECK_INT(km_iam_account_add_answer(a, rel[2 * i], (const km_json *)rel[2 * i + 1]), KM_OK);
    /* deeper than the folder walk goes: not read, as the walk would not read it */
    km_json_doc *deep = km_json_parse("{\"UserDetailList\": [{\"UserName\": \"deep\", \"Arn\": "
                                      "\"arn:aws:iam::111122223333:user/deep\"}]}", 88, NULL, NULL, &e);
    CHECK(deep != NULL);
    CHECK_INT(km_iam_account_add_answer(a, "1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16/17/authz.json", km_json_root(deep)), KM_OK);
    CHECK_INT(km_iam_account_add_answer(a, "broken.json", NULL), KM_OK); /* counted, nothing else */
    km_json_doc_free(deep);
    a = km_iam_account_finish(a, path, &e);
    CHECK_MSG(a != NULL, "%s", e.msg);
    km_iam_account *b = km_iam_account_load(path, &e);
    CHECK(b != NULL);
    if (a && b) {
        CHECK_STR(km_iam_account_id(a), "111122223333");
        CHECK_INT(km_iam_account_principal_count(a), 8);
        for (size_t i = 0; i < 8; i++) CHECK_STR(km_iam_account_principal(a, i), km_iam_account_principal(b, i));
        collected c;
        static const struct { const char *action, *resource; km_iam_creds creds; const char *want; } q[] = {
            {"s3:DeleteObject", "arn:aws:s3:::backups/db.dump", KM_IAM_CREDS_NO_MFA, ""},
            {"s3:DeleteObject", "arn:aws:s3:::backups/db.dump", KM_IAM_CREDS_ANY, "BackupAdmin"},
            {"iam:GetUser", NULL, KM_IAM_CREDS_NO_MFA, "LegacyAdmin,alice,ext"},
            {"s3:GetObject", "arn:aws:s3:::backups/shared/report.pdf", KM_IAM_CREDS_NO_MFA, "ext"},
            {"s3:PutObject", "arn:aws:s3:::backups/shared/report.pdf", KM_IAM_CREDS_NO_MFA, ""},
        };
        for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
            CHECK_STR(who(a, q[i].action, q[i].resource, q[i].creds, &c), q[i].want);
            CHECK_STR(who(b, q[i].action, q[i].resource, q[i].creds, &c), q[i].want);
        }
        /* the snapshot holds the documents of these managed policies, not of ReadOnlyAccess */
        CHECK(km_iam_account_has_managed_policy(a, "arn:aws:iam::111122223333:policy/ReadOnlyBoundary"));
        CHECK(km_iam_account_has_managed_policy(a, "arn:aws:iam::aws:policy/AdministratorAccess"));
        CHECK(!km_iam_account_has_managed_policy(a, "arn:aws:iam::aws:policy/ReadOnlyAccess"));
        CHECK(!km_iam_account_has_managed_policy(a, NULL));
        km_buf na = KM_BUF_INIT;
        km_iam_account_notes(a, &na);
        CHECK_CONTAINS(na.data, "JSON files read");
        km_buf_free(&na);
    }
    km_iam_account_free(a);
    km_iam_account_free(b);
    free(rel);
    km_snap_free(s);
    /* finish without any user or role: an error naming the folder */
    km_iam_account *empty = km_iam_account_new(&e);
    CHECK(empty != NULL);
    CHECK(km_iam_account_finish(empty, "/some/folder", &e) == NULL);
    CHECK_CONTAINS(e.msg, "/some/folder");
    CHECK(km_iam_account_finish(NULL, "x", &e) == NULL);
}

TEST(iam_whocan_bad_snapshots) {
    km_error e;
    km_error_clear(&e);
    CHECK(km_iam_account_load("/nonexistent/snapshot", &e) == NULL);
    CHECK_CONTAINS(e.msg, "/nonexistent/snapshot");
    char dir[] = "/tmp/kumomori-iam-test-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char p1[512], p2[512], p3[512], sub[128];
    snprintf(sub, sizeof sub, "%s/222233334444", dir);
    mkdir(sub, 0700);
    snprintf(p1, sizeof p1, "%s/truncated.json", dir);
    write_file(p1, "{\"UserDetailList\": [{\"UserName\": \"x\"");
    /* no authorization details at all: an error that says what is expected */
    km_iam_account *a = km_iam_account_load(dir, &e);
    CHECK(a == NULL);
    CHECK_CONTAINS(e.msg, "get-account-authorization-details");
    /* with details, the broken file is only a note */
    snprintf(p2, sizeof p2, "%s/authz.json", sub);
    write_file(p2, "{\"UserDetailList\": [{\"UserName\": \"u\", \"UserId\": \"AIDA1\", \"Arn\": \"arn:aws:iam::222233334444:user/u\","
                   " \"AttachedManagedPolicies\": [{\"PolicyArn\": \"arn:aws:iam::aws:policy/ReadOnlyAccess\"}],"
                   " \"UserPolicyList\": [{\"PolicyName\": \"broken\", \"PolicyDocument\": {\"Statement\": {\"Effect\": \"Maybe\"}}},"
                   " {\"PolicyName\": \"ok\", \"PolicyDocument\": {\"Version\": \"2012-10-17\", \"Statement\": {\"Effect\": \"Allow\", \"Action\": \"s3:List*\", \"Resource\": \"*\"}}}]}]}");
    snprintf(p3, sizeof p3, "%s/python-time.json", sub);
    write_file(p3, "{\"Policies\": [{\"CreateDate\": datetime.datetime(2023, 3, 9)}]}");
    a = km_iam_account_load(dir, &e);
    CHECK_MSG(a != NULL, "%s", e.msg);
    km_buf notes = KM_BUF_INIT;
    km_iam_account_notes(a, &notes);
    CHECK_CONTAINS(notes.data, "truncated.json: skipped");
    CHECK_CONTAINS(notes.data, "python-time.json: skipped");
    CHECK_CONTAINS(notes.data, "policy user u inline broken skipped");
    CHECK_CONTAINS(notes.data, "ReadOnlyAccess");
    km_buf_free(&notes);
    collected c;
    CHECK_STR(who(a, "s3:ListBucket", "arn:aws:s3:::b", KM_IAM_CREDS_ANY, &c), "u");
    CHECK_STR(who(a, "s3:GetObject", "arn:aws:s3:::b/k", KM_IAM_CREDS_ANY, &c), "");
    CHECK(km_iam_who_can(a, "GetObject", NULL, KM_IAM_CREDS_ANY, NULL, NULL, &e) < 0);
    CHECK_CONTAINS(e.msg, "not service:Action");
    km_iam_account_free(a);
    km_iam_account_free(NULL);
    unlink(p1);
    unlink(p2);
    unlink(p3);
    rmdir(sub);
    rmdir(dir);
}
