/* IAM engine benchmarks (`make bench-iam`; figures in docs/iam.md):
 *  1. simple evaluations per second on one core (one identity policy, a small context, no
 *     explanation), and the strategy's case (FullAWSAccess + the MFA SCP + an admin policy);
 *  2. who-can for 100 ransomware-relevant actions over the 122 principals of the shared account
 *     (../shared/corpora/iam/authz_details, cloudsplaining example);
 *  3. parsing the 1,594 AWS managed policies of ../shared/corpora/iam.
 * CPU time of this process (the machine is shared, so wall time is printed beside it); each
 * figure is the median of 5 runs. Benchmarks, not tests: nothing fails on a time, only on a
 * wrong answer. */
#include "kumomori/iam.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double wall_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

#define RUNS 5

static double median(double *v) {
    qsort(v, RUNS, sizeof *v, cmp_d);
    return v[RUNS / 2];
}

static km_iam_policy *parse(const char *doc, km_iam_policy_kind kind, const char *name) {
    km_error e;
    km_iam_policy *p = km_iam_policy_parse(doc, strlen(doc), kind, name, &e);
    if (!p) {
        fprintf(stderr, "bench: %s: %s\n", name, e.msg);
        exit(2);
    }
    return p;
}

static int bench_simple(void) {
    km_iam_policy *p = parse("{\"Version\":\"2012-10-17\",\"Statement\":["
                             "{\"Effect\":\"Allow\",\"Action\":[\"s3:GetObject\",\"s3:PutObject\"],\"Resource\":\"arn:aws:s3:::app-data/*\"},"
                             "{\"Effect\":\"Deny\",\"Action\":\"s3:DeleteObject\",\"Resource\":\"*\"}]}",
                             KM_IAM_IDENTITY, "app");
    km_iam_policy *admin = parse("{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}",
                                 KM_IAM_IDENTITY, "AdministratorAccess");
    km_iam_policy *full = parse("{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}",
                                KM_IAM_SCP, "FullAWSAccess");
    km_iam_policy *mfa = parse("{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"DenyAllExceptListedIfNoMFA\",\"Effect\":\"Deny\","
                               "\"NotAction\":[\"iam:CreateVirtualMFADevice\",\"iam:EnableMFADevice\",\"iam:GetUser\",\"iam:ListMFADevices\","
                               "\"iam:ListVirtualMFADevices\",\"iam:ResyncMFADevice\",\"sts:GetSessionToken\"],\"Resource\":\"*\","
                               "\"Condition\":{\"BoolIfExists\":{\"aws:MultiFactorAuthPresent\":\"false\"}}}]}",
                               KM_IAM_SCP, "mfa");
    km_iam_context *ctx = km_iam_context_new();
    km_iam_context_set(ctx, "aws:SecureTransport", "true");
    km_iam_context_set(ctx, "aws:SourceIp", "203.0.113.10");
    km_iam_context_set(ctx, "aws:PrincipalArn", "arn:aws:iam::111122223333:role/app");
    const km_iam_policy *ids[1] = {p};
    km_iam_input in = {0};
    in.identity = ids;
    in.n_identity = 1;
    km_iam_request rq = {"arn:aws:sts::111122223333:assumed-role/app/i-0abc", "s3:GetObject",
                         "arn:aws:s3:::app-data/2024/01/01/report.csv", "111122223333", ctx};
    const long N = 2000000;
    double cpu[RUNS], wall[RUNS];
    long allowed = 0;
    km_error e;
    for (int r = 0; r < RUNS; r++) {
        double c0 = cpu_now(), w0 = wall_now();
        for (long i = 0; i < N; i++) allowed += km_iam_evaluate(&in, &rq, NULL, NULL, &e) == KM_IAM_ALLOWED;
        cpu[r] = cpu_now() - c0;
        wall[r] = wall_now() - w0;
    }
    if (allowed != N * RUNS) {
        fprintf(stderr, "bench: simple evaluation gave a wrong answer\n");
        return 1;
    }
    double c = median(cpu), w = median(wall);
    printf("simple evaluation (1 identity policy, 2 statements, 3 context keys): %.2f M/s CPU (%.0f ns each), "
           "%.2f M/s wall\n", N / c / 1e6, c / N * 1e9, N / w / 1e6);

    /* The strategy's case: admin user, FullAWSAccess + MFA SCP, long-term key (no MFA key). */
    const km_iam_policy *ids2[1] = {admin};
    const km_iam_policy *lvl[2] = {full, mfa};
    km_iam_level levels[1] = {{"r-root", lvl, 2}};
    km_iam_input in2 = {0};
    in2.identity = ids2;
    in2.n_identity = 1;
    in2.scp = levels;
    in2.n_scp = 1;
    km_iam_request rq2 = {"arn:aws:iam::111122223333:user/dev", "s3:DeleteObject", "arn:aws:s3:::backups/db.dump",
                          "111122223333", ctx};
    long denied = 0;
    for (int r = 0; r < RUNS; r++) {
        double c0 = cpu_now(), w0 = wall_now();
        for (long i = 0; i < N; i++) denied += km_iam_evaluate(&in2, &rq2, NULL, NULL, &e) == KM_IAM_EXPLICIT_DENY;
        cpu[r] = cpu_now() - c0;
        wall[r] = wall_now() - w0;
    }
    if (denied != N * RUNS) {
        fprintf(stderr, "bench: MFA SCP evaluation gave a wrong answer\n");
        return 1;
    }
    c = median(cpu);
    w = median(wall);
    printf("strategy case (admin policy, FullAWSAccess + MFA SCP, access key): %.2f M/s CPU (%.0f ns each), "
           "%.2f M/s wall\n", N / c / 1e6, c / N * 1e9, N / w / 1e6);
    /* With an explanation, for comparison. */
    km_iam_explain *ex = km_iam_explain_new();
    const long NX = 200000;
    for (int r = 0; r < RUNS; r++) {
        double c0 = cpu_now();
        for (long i = 0; i < NX; i++) km_iam_evaluate(&in2, &rq2, NULL, ex, &e);
        cpu[r] = cpu_now() - c0;
    }
    c = median(cpu);
    printf("same, with the explanation recorded: %.2f M/s CPU (%.0f ns each)\n", NX / c / 1e6, c / NX * 1e9);
    km_iam_explain_free(ex);
    km_iam_context_free(ctx);
    km_iam_policy_free(p);
    km_iam_policy_free(admin);
    km_iam_policy_free(full);
    km_iam_policy_free(mfa);
    return 0;
}

static const char *actions[100] = {
    "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObject", "s3:GetObject", "s3:PutBucketPolicy",
    "s3:DeleteBucketPolicy", "s3:PutBucketVersioning", "s3:PutLifecycleConfiguration", "s3:DeleteBucket",
    "s3:PutEncryptionConfiguration", "s3:PutBucketObjectLockConfiguration", "s3:PutBucketAcl",
    "s3:PutReplicationConfiguration", "s3:PutBucketPublicAccessBlock", "kms:ScheduleKeyDeletion",
    "kms:DisableKey", "kms:Encrypt", "kms:Decrypt", "kms:PutKeyPolicy", "kms:CreateGrant", "kms:ReEncryptTo",
    "kms:CreateKey", "kms:DisableKeyRotation", "backup:DeleteRecoveryPoint", "backup:DeleteBackupVault",
    "backup:UpdateRecoveryPointLifecycle", "backup:DeleteBackupPlan", "backup:PutBackupVaultAccessPolicy",
    "backup:DeleteBackupVaultLockConfiguration", "backup:StopBackupJob", "rds:DeleteDBSnapshot",
    "rds:DeleteDBInstance", "rds:ModifyDBInstance", "rds:DeleteDBCluster", "rds:DeleteDBClusterSnapshot",
    "rds:ModifyDBSnapshotAttribute", "rds:StopDBInstance", "rds:DeleteDBInstanceAutomatedBackup",
    "ec2:DeleteSnapshot", "ec2:ModifySnapshotAttribute", "ec2:DeleteVolume", "ec2:TerminateInstances",
    "ec2:CreateSnapshot", "ec2:AuthorizeSecurityGroupIngress", "ec2:DisableEbsEncryptionByDefault",
    "ec2:StopInstances", "cloudtrail:StopLogging", "cloudtrail:DeleteTrail", "cloudtrail:UpdateTrail",
    "cloudtrail:PutEventSelectors", "logs:DeleteLogGroup", "logs:DeleteLogStream", "logs:PutRetentionPolicy",
    "logs:DeleteSubscriptionFilter", "guardduty:DeleteDetector", "guardduty:UpdateDetector",
    "securityhub:DisableSecurityHub", "config:StopConfigurationRecorder", "config:DeleteConfigurationRecorder",
    "config:DeleteDeliveryChannel", "iam:CreateAccessKey", "iam:CreateUser", "iam:AttachUserPolicy",
    "iam:PutUserPolicy", "iam:AttachRolePolicy", "iam:PutRolePolicy", "iam:UpdateAssumeRolePolicy",
    "iam:CreateLoginProfile", "iam:UpdateLoginProfile", "iam:DeactivateMFADevice", "iam:DeleteUser",
    "iam:PassRole", "iam:CreatePolicyVersion", "iam:DeleteRolePermissionsBoundary", "sts:AssumeRole",
    "organizations:LeaveOrganization", "organizations:DetachPolicy", "ecr:PutImage", "ecr:DeleteRepository",
    "ecr:SetRepositoryPolicy", "ecs:RegisterTaskDefinition", "ecs:UpdateService", "lambda:UpdateFunctionCode",
    "lambda:CreateFunction", "lambda:AddPermission", "secretsmanager:GetSecretValue", "secretsmanager:DeleteSecret",
    "ssm:SendCommand", "ssm:GetParameter", "dynamodb:DeleteTable", "dynamodb:DeleteBackup",
    "glacier:DeleteArchive", "elasticfilesystem:DeleteFileSystem", "route53:ChangeResourceRecordSets",
    "wafv2:DeleteWebACL", "cloudwatch:DeleteAlarms", "events:DeleteRule", "events:DisableRule", "sns:DeleteTopic",
    "sqs:DeleteQueue"};

static int count_cb(const km_iam_answer *a, void *u) {
    (void)a;
    (*(long *)u)++;
    return 0;
}

static int bench_whocan(const char *corpora) {
    char path[4096];
    snprintf(path, sizeof path, "%s/iam/authz_details/cloudsplaining__examples_files_example.json", corpora);
    km_error e;
    double c0 = cpu_now(), w0 = wall_now();
    km_iam_account *a = km_iam_account_load(path, &e);
    double lc = cpu_now() - c0, lw = wall_now() - w0;
    if (!a) {
        fprintf(stderr, "bench: %s\n", e.msg);
        return 1;
    }
    printf("snapshot load (824 KB authorization details, %zu principals): %.1f ms CPU, %.1f ms wall\n",
           km_iam_account_principal_count(a), lc * 1e3, lw * 1e3);
    double cpu[RUNS], wall[RUNS];
    long answers = 0, first = -1;
    for (int r = 0; r < RUNS; r++) {
        long total = 0;
        double c1 = cpu_now(), w1 = wall_now();
        for (int i = 0; i < 100; i++)
            if (km_iam_who_can(a, actions[i], NULL, KM_IAM_CREDS_NO_MFA, count_cb, &total, &e) < 0) {
                fprintf(stderr, "bench: %s\n", e.msg);
                return 1;
            }
        cpu[r] = cpu_now() - c1;
        wall[r] = wall_now() - w1;
        if (first < 0) first = total;
        if (total != first) {
            fprintf(stderr, "bench: who-can answers changed between runs\n");
            return 1;
        }
        answers = total;
    }
    printf("who-can, 100 actions x %zu principals without MFA (%ld principal/action pairs can): %.1f ms CPU, "
           "%.1f ms wall\n", km_iam_account_principal_count(a), answers, median(cpu) * 1e3, median(wall) * 1e3);
    km_iam_account_free(a);
    return 0;
}

static int bench_managed(const char *corpora) {
    char path[4096];
    snprintf(path, sizeof path, "%s/iam/aws_managed_policies_latest.jsonl", corpora);
    km_error e;
    size_t len;
    char *text = km_read_file(path, 64u << 20, &len, &e);
    if (!text) {
        fprintf(stderr, "bench: %s\n", e.msg);
        return 1;
    }
    double cpu[RUNS], wall[RUNS];
    int n = 0;
    for (int r = 0; r < RUNS; r++) {
        double c0 = cpu_now(), w0 = wall_now();
        size_t pos = 0;
        n = 0;
        while (pos < len) {
            size_t end = pos;
            while (end < len && text[end] != '\n') end++;
            if (end > pos) {
                km_json_doc *d = km_json_parse(text + pos, end - pos, NULL, NULL, &e);
                km_iam_policy *p = d ? km_iam_policy_from_json(km_json_get(km_json_root(d), "document"), NULL, 0,
                                                               KM_IAM_IDENTITY, "m", &e)
                                     : NULL;
                if (!p) {
                    fprintf(stderr, "bench: managed policy %d: %s\n", n, e.msg);
                    return 1;
                }
                n++;
                km_iam_policy_free(p);
                km_json_doc_free(d);
            }
            pos = end + 1;
        }
        cpu[r] = cpu_now() - c0;
        wall[r] = wall_now() - w0;
    }
    free(text);
    printf("parse %d AWS managed policies (%.1f MB of JSON lines, JSON + compile): %.1f ms CPU, %.1f ms wall\n", n,
           len / 1e6, median(cpu) * 1e3, median(wall) * 1e3);
    return 0;
}

int main(int argc, char **argv) {
    const char *corpora = argc > 1 ? argv[1] : "../shared/corpora";
    int rc = bench_simple();
    rc |= bench_whocan(corpora);
    rc |= bench_managed(corpora);
    return rc;
}
