/* AWS Security Finding Format (ASFF) for Security Hub: a JSON array of findings to pass to
 * `aws securityhub batch-import-findings --findings file://...` (at most 100 per call). PASS,
 * FAIL and UNKNOWN findings are written with Compliance.Status PASSED, FAILED and
 * NOT_AVAILABLE; suppressed ones with Workflow.Status SUPPRESSED. */
#include "out/audit_out.h"
#include "out/audit_common.h"
#include "audit/util.h"
#include "kumomori/kumomori.h"

static const struct { const char *cfg, *asff; } types[] = {
    {"AWS::S3::Bucket", "AwsS3Bucket"}, {"AWS::IAM::User", "AwsIamUser"}, {"AWS::IAM::Role", "AwsIamRole"},
    {"AWS::IAM::Group", "AwsIamGroup"}, {"AWS::IAM::Policy", "AwsIamPolicy"},
    {"AWS::EC2::SecurityGroup", "AwsEc2SecurityGroup"}, {"AWS::EC2::Instance", "AwsEc2Instance"},
    {"AWS::EC2::VPC", "AwsEc2Vpc"}, {"AWS::RDS::DBInstance", "AwsRdsDbInstance"}, {"AWS::RDS::DBCluster", "AwsRdsDbCluster"},
    {"AWS::RDS::DBSnapshot", "AwsRdsDbSnapshot"}, {"AWS::RDS::DBClusterSnapshot", "AwsRdsDbClusterSnapshot"},
    {"AWS::KMS::Key", "AwsKmsKey"}, {"AWS::CloudTrail::Trail", "AwsCloudTrailTrail"},
    {"AWS::CloudWatch::Alarm", "AwsCloudWatchAlarm"}, {"AWS::Backup::BackupVault", "AwsBackupBackupVault"},
    {"AWS::Backup::BackupPlan", "AwsBackupBackupPlan"}, {"AWS::Lambda::Function", "AwsLambdaFunction"},
    {"AWS::ECR::Repository", "AwsEcrRepository"}, {"AWS::ECS::TaskDefinition", "AwsEcsTaskDefinition"},
    {"AWS::WAFv2::WebACL", "AwsWafv2WebAcl"}, {"AWS::CloudFront::Distribution", "AwsCloudFrontDistribution"},
    {"AWS::SecretsManager::Secret", "AwsSecretsManagerSecret"}, {"AWS::ACM::Certificate", "AwsCertificateManagerCertificate"},
    {"AWS::CloudFormation::Stack", "AwsCloudFormationStack"}, {"AWS::CodeBuild::Project", "AwsCodeBuildProject"},
    {"AWS::ElasticLoadBalancingV2::LoadBalancer", "AwsElbv2LoadBalancer"}, {"AWS::GuardDuty::Detector", "AwsGuardDutyDetector"},
    {"AWS::::Account", "AwsAccount"}, {NULL, NULL}};

static const char *asff_type(const char *t) {
    for (int i = 0; types[i].cfg; i++)
        if (!strcmp(types[i].cfg, t)) return types[i].asff;
    return "Other";
}

/* Copy at most max bytes of s without cutting a UTF-8 sequence. */
static void clip(const char *s, size_t max, char *out, size_t n) {
    size_t l = strlen(s);
    if (l > max) {
        l = max;
        while (l > 0 && ((unsigned char)s[l] & 0xC0) == 0x80) l--;
    }
    if (l >= n) l = n - 1;
    memcpy(out, s, l);
    out[l] = 0;
}

int km_audit_write_asff(FILE *out, const km_audit_report *r) {
    km_buf b = KM_BUF_INIT;
    const km_audit *a = r->audit;
    char now[32];
    km_format_time(r->generated_at, now, sizeof now);
    km_buf_putc(&b, '[');
    int first = 1;
    for (size_t i = 0; i < km_audit_nfindings(a); i++) {
        const km_finding *f = km_audit_finding(a, i);
        if (f->status == KM_NA || !km_audit_report_wants(r, f)) continue;
        const km_check *c = f->check;
        const char *region = strcmp(f->region, "global") ? f->region : "us-east-1";
        char fp[32], id[300], arn[300], title[260], desc[1100], rec[520], resid[600];
        km_afingerprint(c->id, f->account, f->region, f->res_arn ? f->res_arn : f->res_id, fp, sizeof fp);
        snprintf(id, sizeof id, "kumomori/%s/%s/%s", c->id, f->account, fp);
        snprintf(arn, sizeof arn, "arn:aws:securityhub:%s:%s:product/%s/default", region, f->account, f->account);
        clip(c->title, 256, title, sizeof title);
        char full[2400];
        snprintf(full, sizeof full, "%s: %s", f->res_name ? f->res_name : f->res_id, f->message);
        clip(full, 1024, desc, sizeof desc);
        char rtext[1600];
        snprintf(rtext, sizeof rtext, "%s %s", c->remediation, c->remediation_cli);
        clip(rtext, 512, rec, sizeof rec);
        if (!strcmp(f->res_type, "AWS::::Account")) snprintf(resid, sizeof resid, "AWS::::Account:%s", f->account);
        else snprintf(resid, sizeof resid, "%s", f->res_arn ? f->res_arn : f->res_id);
        static const char *const sev[] = {"INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"};
        static const int norm[] = {0, 30, 50, 70, 90};
        const char *comp = f->status == KM_PASS ? "PASSED" : f->status == KM_FAIL ? "FAILED" : "NOT_AVAILABLE";
        km_buf_printf(&b, "%s{\"SchemaVersion\":\"2018-10-08\"", first ? "" : ",");
        first = 0;
        km_akv(&b, "Id", id, 1);
        km_akv(&b, "ProductArn", arn, 1);
        km_akv(&b, "GeneratorId", c->id, 1);
        km_akv(&b, "AwsAccountId", f->account, 1);
        km_akv(&b, "Region", region, 1);
        km_buf_puts(&b, ",\"Types\":[\"Software and Configuration Checks/AWS Security Best Practices\"]");
        km_akv(&b, "CreatedAt", now, 1);
        km_akv(&b, "UpdatedAt", now, 1);
        km_buf_printf(&b, ",\"Severity\":{\"Label\":\"%s\",\"Normalized\":%d,\"Original\":\"%s\"}", sev[c->severity], norm[c->severity],
                      km_severity_name(c->severity));
        km_akv(&b, "Title", title, 1);
        km_akv(&b, "Description", desc, 1);
        km_buf_puts(&b, ",\"Remediation\":{\"Recommendation\":{");
        km_akv(&b, "Text", rec, 0);
        km_buf_puts(&b, "}},\"ProductFields\":{");
        km_akv(&b, "kumomori/CheckId", c->id, 0);
        char sc[32] = "";
        for (int s = 0; s < KM_NSCENARIOS; s++)
            if (c->scenarios & (1u << s)) snprintf(sc + strlen(sc), sizeof sc - strlen(sc), "%sS%d", sc[0] ? "," : "", s + 1);
        km_akv(&b, "kumomori/Scenarios", sc, 1);
        km_akv(&b, "kumomori/Status", km_status_name(f->status), 1);
        if (f->nfiles) km_akv(&b, "kumomori/Evidence", f->files[0], 1);
        km_buf_puts(&b, "},\"Resources\":[{");
        km_akv(&b, "Type", asff_type(f->res_type), 0);
        km_akv(&b, "Id", resid, 1);
        km_akv(&b, "Partition", "aws", 1);
        if (strcmp(f->region, "global")) km_akv(&b, "Region", f->region, 1);
        km_buf_puts(&b, "}],\"Compliance\":{");
        km_akv(&b, "Status", comp, 0);
        km_buf_puts(&b, ",\"RelatedRequirements\":[");
        km_ajs(&b, c->id);
        km_buf_puts(&b, "]}");
        km_buf_printf(&b, ",\"Workflow\":{\"Status\":\"%s\"},\"RecordState\":\"ACTIVE\"}", f->suppressed ? "SUPPRESSED" : "NEW");
        if (b.len > (1u << 20) && km_aflush(&b, out)) { km_buf_free(&b); return -1; }
    }
    km_buf_puts(&b, "]\n");
    int rc = km_aflush(&b, out);
    km_buf_free(&b);
    return rc;
}
