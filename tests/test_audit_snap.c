/* Snapshot loading: the collect layout, error answers, placebo recordings, AWS Config
 * snapshots, bad input. */
#include "test.h"
#include "audit/snap.h"
#include "audit/util.h"
#include "audit/commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void add(km_snap *s, const char *rel, const char *text) {
    km_snap_add_text(s, rel, text, strlen(text), NULL);
}

TEST(audit_snap_collect_layout_and_errors) {
    km_snap *s = km_snap_new();
    CHECK(s);
    add(s, "111122223333/global/s3api/list-buckets.json",
        "{\"Buckets\":[{\"Name\":\"b1\"},{\"Name\":\"b2\"},{\"Name\":\"b3\"}]}");
    add(s, "111122223333/global/s3api/get-public-access-block/b1.json",
        "{\"Error\":{\"Code\":\"NoSuchPublicAccessBlockConfiguration\",\"Message\":\"not found\"}}");
    add(s, "111122223333/global/s3api/get-public-access-block/b2.json",
        "{\"Error\":{\"Code\":\"AccessDenied\",\"Message\":\"Access Denied\"}}");
    add(s, "111122223333/global/s3api/get-bucket-versioning/b1.json", "");
    add(s, "111122223333/global/s3api/get-bucket-versioning/b2.json", "{\"Status\":\"Enabled\"}");
    add(s, "111122223333/us-east-1/rds/describe-db-instances.json", "{\"DBInstances\": [");
    km_error err;
    CHECK_INT(km_snap_finish(s, &err), KM_OK);
    km_item it = km_snap_get(s, "111122223333", "global", "s3api", "get-public-access-block", "b1");
    CHECK_INT(it.status, KM_DATA_ABSENT);
    CHECK_STR(it.code, "NoSuchPublicAccessBlockConfiguration");
    it = km_snap_get(s, "111122223333", "global", "s3api", "get-public-access-block", "b2");
    CHECK_INT(it.status, KM_DATA_DENIED);
    it = km_snap_get(s, "111122223333", "global", "s3api", "get-public-access-block", "b3");
    CHECK_INT(it.status, KM_DATA_MISSING);
    it = km_snap_get(s, "111122223333", "global", "s3api", "get-bucket-versioning", "b1");
    CHECK_INT(it.status, KM_DATA_OK); /* empty answer = {} */
    CHECK_INT(km_json_len(it.json), 0);
    it = km_snap_get(s, "111122223333", "us-east-1", "rds", "describe-db-instances", NULL);
    CHECK_INT(it.status, KM_DATA_ERROR);
    CHECK_CONTAINS(it.message, "111122223333/us-east-1/rds/describe-db-instances.json");
    CHECK_CONTAINS(it.message, "byte");
    size_t n;
    const km_res *const *b = km_snap_resources(s, "AWS::S3::Bucket", &n);
    CHECK_INT(n, 3);
    CHECK_STR(b[0]->arn, "arn:aws:s3:::b1");
    CHECK_STR(b[1]->key, "b2");
    km_item l = km_snap_listing(s, "111122223333", "global", "AWS::S3::Bucket");
    CHECK_INT(l.status, KM_DATA_OK);
    l = km_snap_listing(s, "111122223333", "us-east-1", "AWS::RDS::DBInstance");
    CHECK_INT(l.status, KM_DATA_ERROR);
    l = km_snap_listing(s, "111122223333", "eu-west-1", "AWS::RDS::DBInstance");
    CHECK_INT(l.status, KM_DATA_MISSING);
    CHECK_INT(km_snap_naccounts(s), 1);
    CHECK_INT(km_snap_nregions(s, "111122223333"), 1);
    CHECK(km_snap_nproblems(s) >= 1);
    CHECK_CONTAINS(km_snap_problem(s, 0), "describe-db-instances.json");
    km_snap_free(s);
}

TEST(audit_snap_error_classes) {
    CHECK_INT(km_classify_error("macie2", "get-macie-session", "AccessDeniedException", "Macie is not enabled"), KM_ERRCLASS_ABSENT);
    CHECK_INT(km_classify_error("macie2", "get-macie-session", "AccessDeniedException", "User is not authorized"), KM_ERRCLASS_DENIED);
    CHECK_INT(km_classify_error("securityhub", "describe-hub", "InvalidAccessException", "not subscribed"), KM_ERRCLASS_ABSENT);
    CHECK_INT(km_classify_error("s3api", "get-bucket-replication", "ReplicationConfigurationNotFoundError", NULL), KM_ERRCLASS_ABSENT);
    CHECK_INT(km_classify_error("organizations", "list-policies", "AccessDeniedException", NULL), KM_ERRCLASS_DENIED);
    CHECK_INT(km_classify_error("organizations", "describe-organization", "AWSOrganizationsNotInUseException", NULL), KM_ERRCLASS_ABSENT);
    CHECK_INT(km_classify_error("logs", "describe-log-groups", "ThrottlingException", NULL), KM_ERRCLASS_OTHER);
    CHECK_INT(km_classify_error("iam", "get-credential-report", "ReportInProgress", NULL), KM_ERRCLASS_OTHER);
}

TEST(audit_snap_placebo_raw_and_times) {
    km_snap *s = km_snap_new();
    add(s, "111122223333/global/s3api/get-public-access-block/x.json",
        "{\"status_code\": 404, \"data\": {\"Error\": {\"Code\": \"NoSuchPublicAccessBlockConfiguration\"}}}");
    add(s, "111122223333/global/s3api/get-bucket-versioning/x.json",
        "{\"status_code\": 200, \"data\": {\"Status\": \"Enabled\", \"ResponseMetadata\": {}}}");
    km_error err;
    km_snap_finish(s, &err);
    CHECK_INT(km_snap_get(s, "111122223333", "global", "s3api", "get-public-access-block", "x").status, KM_DATA_ABSENT);
    km_item v = km_snap_get(s, "111122223333", "global", "s3api", "get-bucket-versioning", "x");
    CHECK_INT(v.status, KM_DATA_OK);
    CHECK_STR(km_ci_str(v.json, "Status"), "Enabled");
    km_snap_free(s);
    int64_t t;
    CHECK_INT(km_parse_time_str("2024-01-05T00:00:00Z", &t), 0);
    CHECK_INT(t, 1704412800);
    CHECK_INT(km_parse_time_str("2024-01-05T09:00:00+09:00", &t), 0);
    CHECK_INT(t, 1704412800);
    CHECK_INT(km_parse_time_str("2023-03-09 10:41:45+00:00", &t), 0);
    CHECK_INT(t, 1678358505);
    CHECK_INT(km_parse_time_str("2024-01-05T00:00:00.000+0000", &t), 0);
    CHECK_INT(t, 1704412800);
    CHECK_INT(km_parse_time_str("1568926091.57", &t), 0);
    CHECK_INT(t, 1568926091);
    CHECK_INT(km_parse_time_str("1704412800000", &t), 0);
    CHECK_INT(t, 1704412800);
    CHECK(km_parse_time_str("yesterday", &t) != 0);
    CHECK(km_parse_time_str("2024-13-01", &t) != 0);
}

TEST(audit_snap_config_snapshot) {
    km_snap *s = km_snap_new();
    add(s, "AWSLogs/111122223333/Config/ap-northeast-1/2024/1/5/ConfigSnapshot/x_ConfigSnapshot_y.json",
        "{\"fileVersion\":\"1.0\",\"configSnapshotId\":\"abc\",\"configurationItems\":["
        "{\"configurationItemVersion\":\"1.3\",\"configurationItemCaptureTime\":\"2024-01-05T00:00:00.000Z\","
        "\"configurationItemStatus\":\"OK\",\"resourceType\":\"AWS::RDS::DBInstance\",\"resourceId\":\"db-ABC\","
        "\"resourceName\":\"orders\",\"ARN\":\"arn:aws:rds:ap-northeast-1:111122223333:db:orders\","
        "\"awsRegion\":\"ap-northeast-1\",\"awsAccountId\":\"111122223333\","
        "\"configuration\":{\"dBInstanceIdentifier\":\"orders\",\"storageEncrypted\":false},"
        "\"supplementaryConfiguration\":{},\"tags\":{\"env\":\"prod\"}},"
        "{\"resourceType\":\"AWS::S3::Bucket\",\"resourceId\":\"gone\",\"awsAccountId\":\"111122223333\","
        "\"configurationItemStatus\":\"ResourceDeleted\"},"
        "{\"resourceType\":\"AWS::S3::Bucket\"}"
        "]}");
    km_error err;
    km_snap_finish(s, &err);
    size_t n;
    const km_res *const *r = km_snap_resources(s, "AWS::RDS::DBInstance", &n);
    CHECK_INT(n, 1);
    CHECK(r[0]->from_config);
    CHECK_STR(r[0]->name, "orders");
    CHECK_STR(r[0]->region, "ap-northeast-1");
    CHECK_INT(km_json_truth(km_res_get(r[0], "StorageEncrypted")), 0);
    CHECK_INT(km_snap_time(s), 1704412800);
    km_snap_resources(s, "AWS::S3::Bucket", &n);
    CHECK_INT(n, 0);
    CHECK_INT(km_snap_nproblems(s), 1); /* the item without resourceId */
    CHECK_CONTAINS(km_snap_problem(s, 0), "ConfigSnapshot_y.json");
    km_snap_free(s);
}

TEST(audit_snap_embedded_json) {
    km_snap *s = km_snap_new();
    add(s, "111122223333/global/organizations/describe-policy/p-1.json",
        "{\"Policy\":{\"Content\":\"{\\\"Version\\\":\\\"2012-10-17\\\",\\\"Statement\\\":[]}\"}}");
    km_error err;
    km_snap_finish(s, &err);
    km_item it = km_snap_get(s, "111122223333", "global", "organizations", "describe-policy", "p-1");
    CHECK_INT(it.status, KM_DATA_OK);
    const km_json *c = km_ci_path(it.json, "Policy.Content");
    const km_json *d = km_snap_embedded(s, c, NULL);
    CHECK(d && d->type == KM_JSON_OBJECT);
    CHECK(km_snap_embedded(s, c, NULL) == d); /* cached */
    km_snap_free(s);
    /* URL-encoded documents as AWS Config writes them */
    s = km_snap_new();
    add(s, "c.json", "{\"configurationItems\":[{\"resourceType\":\"AWS::IAM::Policy\",\"resourceId\":\"P\","
                     "\"awsAccountId\":\"111122223333\",\"awsRegion\":\"global\",\"configuration\":{"
                     "\"document\":\"%7B%22Statement%22%3A%5B%5D%7D\"}}]}");
    km_snap_finish(s, &err);
    size_t n;
    const km_res *const *r = km_snap_resources(s, "AWS::IAM::Policy", &n);
    CHECK_INT(n, 1);
    const km_json *doc = km_snap_embedded(s, km_res_get(r[0], "document"), NULL);
    CHECK(doc && km_json_get(doc, "Statement"));
    const char *why = NULL;
    km_json bad = {KM_JSON_STRING, 0, 0, {.str = {"{not json", 9}}};
    CHECK(km_snap_embedded(s, &bad, &why) == NULL);
    CHECK(why != NULL);
    km_snap_free(s);
}

TEST(audit_snap_corpus_placebo_dir) {
    const char *c = km_test_corpora();
    if (!c) { km_test_skip("shared corpora absent"); return; }
    /* The recorded error answers of Cloud Custodian's test account, laid out as collect does. */
    char dir[] = "/tmp/km-snap-XXXXXX";
    CHECK(mkdtemp(dir));
    char path[4096], src[4096];
    snprintf(path, sizeof path, "%s/644160558196/global/s3api/get-public-access-block", dir);
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", path);
    CHECK(system(cmd) == 0);
    snprintf(src, sizeof src, "%s/audit/cloud-custodian-placebo/raw/test_s3_check_public_block/s3.GetPublicAccessBlock_1.json", c);
    snprintf(cmd, sizeof cmd, "ln -s %s %s/a.json", src, path);
    CHECK(system(cmd) == 0);
    snprintf(src, sizeof src, "%s/audit/cloud-custodian-placebo/raw/test_s3_check_public_block/s3.GetPublicAccessBlock_3.json", c);
    snprintf(cmd, sizeof cmd, "ln -s %s %s/b.json", src, path);
    CHECK(system(cmd) == 0);
    snprintf(src, sizeof src, "%s/audit/cloud-custodian-placebo/cli/test_s3_check_public_block/s3api.get-public-access-block.2.json", c);
    snprintf(cmd, sizeof cmd, "ln -s %s %s/c.json", src, path);
    CHECK(system(cmd) == 0);
    km_snap *s = km_snap_new();
    km_error err;
    CHECK_INT(km_snap_load(s, dir, &err), KM_OK);
    km_snap_finish(s, &err);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    system(cmd);
    CHECK_INT(km_snap_get(s, "644160558196", "global", "s3api", "get-public-access-block", "a").status, KM_DATA_ABSENT);
    CHECK_INT(km_snap_get(s, "644160558196", "global", "s3api", "get-public-access-block", "b").status, KM_DATA_DENIED);
    km_item ok = km_snap_get(s, "644160558196", "global", "s3api", "get-public-access-block", "c");
    CHECK_INT(ok.status, KM_DATA_OK);
    CHECK_INT(km_json_truth(km_ci_path(ok.json, "PublicAccessBlockConfiguration.IgnorePublicAcls")), 0);
    km_snap_free(s);
}

/* A directory large enough for several batches and thread-parallel parsing: every bucket's
 * answer must land on that bucket, a broken file must be named with its position without
 * losing its neighbours, and one thread or two must give the same snapshot. */
static km_snap *load_many(const char *dir, const char *threads) {
    setenv("KUMOMORI_THREADS", threads, 1);
    km_snap *s = km_snap_new();
    km_error err;
    if (km_snap_load(s, dir, &err) != KM_OK || km_snap_finish(s, &err) != KM_OK) {
        km_snap_free(s);
        s = NULL;
    }
    unsetenv("KUMOMORI_THREADS");
    return s;
}

TEST(audit_snap_many_files_parallel) {
    enum { NB = 9000 };
    char dir[] = "/tmp/km-snap-XXXXXX";
    CHECK(mkdtemp(dir));
    char path[4096], cmd[4200];
    snprintf(cmd, sizeof cmd, "mkdir -p %s/123456789012/global/s3api/get-bucket-versioning", dir);
    CHECK(system(cmd) == 0);
    snprintf(path, sizeof path, "%s/123456789012/global/s3api/list-buckets.json", dir);
    FILE *f = fopen(path, "w");
    CHECK(f);
    fputs("{\"Buckets\":[", f);
    for (int i = 0; i < NB; i++) fprintf(f, "%s{\"Name\":\"b%05d\"}", i ? "," : "", i);
    fputs("]}", f);
    fclose(f);
    for (int i = 0; i < NB; i++) {
        snprintf(path, sizeof path, "%s/123456789012/global/s3api/get-bucket-versioning/b%05d.json", dir, i);
        f = fopen(path, "w");
        CHECK(f);
        if (i == 4321) fputs("{\"Status\": \"Ena", f);                  /* truncated */
        else if (i == 77) fputs("{\"Error\":{\"Code\":\"AccessDenied\",\"Message\":\"no\"}}", f);
        else if (i % 3 == 2) fputs("\n", f);                             /* never versioned */
        else fprintf(f, "{\"Status\": \"%s\", \"n\": %d}\n", i % 3 ? "Suspended" : "Enabled", i);
        fclose(f);
    }
    km_snap *one = load_many(dir, "1");
    km_snap *two = load_many(dir, "2");
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    CHECK(one && two);
    if (!one || !two) { km_snap_free(one); km_snap_free(two); return; }
    km_snap *v[2] = {one, two};
    for (int k = 0; k < 2; k++) {
        km_snap *s = v[k];
        CHECK_INT(km_snap_nfiles(s), NB + 1);
        size_t nb;
        km_snap_resources(s, "AWS::S3::Bucket", &nb);
        CHECK_INT(nb, NB);
        CHECK_INT(km_snap_nproblems(s), 1);
        CHECK_CONTAINS(km_snap_problem(s, 0), "get-bucket-versioning/b04321.json");
        CHECK_CONTAINS(km_snap_problem(s, 0), "line 1");
        int bad = 0;
        for (int i = 0; i < NB; i++) {
            char key[16];
            snprintf(key, sizeof key, "b%05d", i);
            km_item it = km_snap_get(s, "123456789012", "global", "s3api", "get-bucket-versioning", key);
            if (i == 4321) { bad += it.status != KM_DATA_ERROR; continue; }
            if (i == 77) { bad += it.status != KM_DATA_DENIED; continue; }
            if (it.status != KM_DATA_OK) { bad++; continue; }
            if (i % 3 == 2) { bad += km_json_len(it.json) != 0; continue; }
            const char *st = km_json_str(km_json_get(it.json, "Status"));
            const km_json *n = km_json_get(it.json, "n");
            bad += !st || strcmp(st, i % 3 ? "Suspended" : "Enabled") || !n || n->u.num.d != i;
        }
        CHECK_INT(bad, 0);
    }
    km_snap_free(one);
    km_snap_free(two);
}

/* The AWS CLI documentation's example has a group's AttachedManagedPolicies as one object: the
 * group still carries it, and the snapshot's problems say so with the file and byte. */
TEST(audit_snap_attached_policies_object) {
    static const char doc[] =
        "{\"GroupDetailList\": [{\"GroupName\": \"Admins\", \"GroupId\": \"AGPA1\", "
        "\"Arn\": \"arn:aws:iam::111122223333:group/Admins\", \"GroupPolicyList\": [], "
        "\"AttachedManagedPolicies\": {\"PolicyName\": \"AdministratorAccess\", "
        "\"PolicyArn\": \"arn:aws:iam::aws:policy/AdministratorAccess\"}}], "
        "\"UserDetailList\": [], \"RoleDetailList\": [], \"Policies\": []}";
    km_snap *s = km_snap_new();
    CHECK(s);
    const char *path = "111122223333/global/iam/get-account-authorization-details.json";
    km_snap_add_text(s, path, doc, sizeof doc - 1, path);
    km_error err;
    CHECK(km_snap_finish(s, &err) == KM_OK);
    int found = 0;
    for (size_t i = 0; i < km_snap_nproblems(s); i++) {
        const char *p = km_snap_problem(s, i);
        if (strstr(p, "AttachedManagedPolicies of AWS::IAM::Group") && strstr(p, path) && strstr(p, "byte 164")) found = 1;
    }
    CHECK_MSG(found, "no problem names the object-shaped AttachedManagedPolicies (%zu problems, first: %s)", km_snap_nproblems(s),
              km_snap_nproblems(s) ? km_snap_problem(s, 0) : "none");
    km_snap_free(s);
}
