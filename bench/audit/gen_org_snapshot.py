#!/usr/bin/env python3
"""Generate a large organisation snapshot in kumomori collect's layout, for the audit benchmark:
50,000 IAM roles, 20,000 S3 buckets (each with its nine per-bucket answers), 5,000 security
groups, 2,000 RDS instances, spread over 10 accounts and 10 regions, plus the account- and
region-level answers every account has. Deterministic (seeded).

usage: gen_org_snapshot.py OUT_DIR [--scale F]   (F=1.0 is the size above)"""
import json, os, random, sys

out = sys.argv[1]
scale = float(sys.argv[sys.argv.index("--scale") + 1]) if "--scale" in sys.argv else 1.0
rnd = random.Random(42)
ACCOUNTS = ["1000000000%02d" % i for i in range(10)]
REGIONS = ["us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1", "ap-northeast-1", "ap-northeast-3",
           "ap-southeast-1", "ap-southeast-2", "sa-east-1"]
N_ROLES, N_BUCKETS, N_SGS, N_RDS = int(50000 * scale), int(20000 * scale), int(5000 * scale), int(2000 * scale)
files = 0

def w(path, obj):
    global files
    p = os.path.join(out, path)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "w") as f:
        if obj is not None:
            json.dump(obj, f, indent=4)
    files += 1

def share(total, i, n):
    return total // n + (1 if i < total % n else 0)

ORG = {"Organization": {"Id": "o-bench", "MasterAccountId": ACCOUNTS[0], "FeatureSet": "ALL"}}
for ai, acct in enumerate(ACCOUNTS):
    w("%s/global/organizations/describe-organization.json" % acct, ORG)
    # IAM
    nroles = share(N_ROLES, ai, len(ACCOUNTS))
    roles = []
    for r in range(nroles):
        trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                 "Principal": {"AWS": "arn:aws:iam::%s:root" % acct} if r % 7 == 0 else {"Service": "lambda.amazonaws.com"}}]}
        roles.append({"Path": "/", "RoleName": "role-%05d" % r, "RoleId": "AROA%s%05d" % (acct, r), "Arn": "arn:aws:iam::%s:role/role-%05d" % (acct, r),
                      "CreateDate": "2023-0%d-01T00:00:00+00:00" % (1 + r % 9), "AssumeRolePolicyDocument": trust,
                      "RoleLastUsed": {"LastUsedDate": "2026-0%d-15T00:00:00+00:00" % (1 + r % 5)} if r % 3 else {},
                      "RolePolicyList": [{"PolicyName": "inline", "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                          {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"] + (["iam:PassRole", "lambda:CreateFunction", "lambda:InvokeFunction"] if r % 50 == 0 else []),
                           "Resource": "arn:aws:s3:::bucket-%d/*" % r}]}}],
                      "AttachedManagedPolicies": [{"PolicyName": "ReadOnlyAccess", "PolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}]})
    w("%s/global/iam/get-account-authorization-details.json" % acct, {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": roles, "Policies": []})
    w("%s/global/iam/list-roles.json" % acct, {"Roles": [{k: v for k, v in x.items() if k not in ("RolePolicyList", "AttachedManagedPolicies", "RoleLastUsed")} | {"MaxSessionDuration": 3600 if i % 5 else 43200} for i, x in enumerate(roles)]})
    w("%s/global/iam/get-account-summary.json" % acct, {"SummaryMap": {"AccountMFAEnabled": 1, "AccountAccessKeysPresent": 0}})
    w("%s/global/iam/get-account-password-policy.json" % acct, {"PasswordPolicy": {"MinimumPasswordLength": 14, "PasswordReusePrevention": 24}})
    w("%s/global/s3control/get-public-access-block.json" % acct, {"PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}})
    # S3
    nb = share(N_BUCKETS, ai, len(ACCOUNTS))
    names = ["bkt-%s-%05d" % (acct, b) for b in range(nb)]
    w("%s/global/s3api/list-buckets.json" % acct, {"Buckets": [{"Name": n, "CreationDate": "2024-01-01T00:00:00+00:00"} for n in names]})
    for b, n in enumerate(names):
        g = "%s/global/s3api/%%s/%s.json" % (acct, n)
        w(g % "get-bucket-location", {"LocationConstraint": REGIONS[b % len(REGIONS)] if b % len(REGIONS) else None})
        w(g % "get-bucket-versioning", {"Status": "Enabled"} if b % 3 else None)
        w(g % "get-bucket-encryption", {"ServerSideEncryptionConfiguration": {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}})
        w(g % "get-public-access-block", {"PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}})
        w(g % "get-bucket-policy", {"Error": {"Code": "NoSuchBucketPolicy", "Message": "The bucket policy does not exist"}})
        w(g % "get-bucket-acl", {"Owner": {"ID": "x"}, "Grants": [{"Grantee": {"Type": "CanonicalUser", "ID": "x"}, "Permission": "FULL_CONTROL"}]})
        w(g % "get-bucket-logging", None)
        w(g % "get-bucket-replication", {"Error": {"Code": "ReplicationConfigurationNotFoundError", "Message": "not found"}} if b % 4 else
          {"ReplicationConfiguration": {"Rules": [{"Status": "Enabled", "Destination": {"Bucket": "arn:aws:s3:::%s" % names[(b + 1) % nb]}}]}})
        w(g % "get-object-lock-configuration", {"Error": {"Code": "ObjectLockConfigurationNotFoundError", "Message": "none"}})
    # regions
    nsg = share(N_SGS, ai, len(ACCOUNTS))
    nrds = share(N_RDS, ai, len(ACCOUNTS))
    for ri, reg in enumerate(REGIONS):
        base = "%s/%s/" % (acct, reg)
        sgs = []
        for s in range(share(nsg, ri, len(REGIONS))):
            perms = [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "Ipv6Ranges": [], "UserIdGroupPairs": []}]
            if s % 25 == 0:
                perms.append({"IpProtocol": "tcp", "FromPort": 3306, "ToPort": 3306, "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "Ipv6Ranges": [], "UserIdGroupPairs": []})
            sgs.append({"GroupId": "sg-%s%02d%04d" % (acct[-2:], ri, s), "GroupName": "default" if s == 0 else "sg-%d" % s, "OwnerId": acct, "VpcId": "vpc-%d" % ri,
                        "IpPermissions": perms if s else [], "IpPermissionsEgress": []})
        w(base + "ec2/describe-security-groups.json", {"SecurityGroups": sgs})
        dbs = []
        for d in range(share(nrds, ri, len(REGIONS))):
            ident = "db-%02d-%04d" % (ri, d)
            dbs.append({"DBInstanceIdentifier": ident, "DbiResourceId": "db-%s%s" % (acct, ident), "DBInstanceArn": "arn:aws:rds:%s:%s:db:%s" % (reg, acct, ident),
                        "Engine": "postgres", "StorageEncrypted": d % 10 != 0, "KmsKeyId": "arn:aws:kms:%s:%s:key/k%d" % (reg, acct, d % 3), "PubliclyAccessible": d % 40 == 0,
                        "BackupRetentionPeriod": 7, "DeletionProtection": d % 2 == 0, "MonitoringInterval": 60, "EnabledCloudwatchLogsExports": ["postgresql"],
                        "AutoMinorVersionUpgrade": True, "Endpoint": {"Port": 5432}, "VpcSecurityGroups": [{"VpcSecurityGroupId": sgs[d % len(sgs)]["GroupId"] if sgs else "sg-x"}],
                        "TagList": [{"Key": "backup", "Value": "daily"}] if d % 2 else []})
        w(base + "rds/describe-db-instances.json", {"DBInstances": dbs})
        w(base + "rds/describe-db-clusters.json", {"DBClusters": []})
        w(base + "ec2/describe-instances.json", {"Reservations": []})
        w(base + "ec2/get-ebs-encryption-by-default.json", {"EbsEncryptionByDefault": ri % 2 == 0})
        w(base + "guardduty/list-detectors.json", {"DetectorIds": ["d%d" % ri]})
        w(base + "guardduty/get-detector/d%d.json" % ri, {"Status": "ENABLED", "Features": [{"Name": "S3_DATA_EVENTS", "Status": "ENABLED"}]})
        w(base + "securityhub/describe-hub.json", {"HubArn": "arn:aws:securityhub:%s:%s:hub/default" % (reg, acct)})
        w(base + "configservice/describe-configuration-recorders.json", {"ConfigurationRecorders": [{"name": "default"}]})
        w(base + "configservice/describe-configuration-recorder-status.json", {"ConfigurationRecordersStatus": [{"name": "default", "recording": True}]})
        w(base + "backup/list-backup-plans.json", {"BackupPlansList": [{"BackupPlanId": "p%d" % ri, "BackupPlanName": "daily", "BackupPlanArn": "arn:aws:backup:%s:%s:backup-plan:p%d" % (reg, acct, ri)}]})
        w(base + "backup/get-backup-plan/p%d.json" % ri, {"BackupPlan": {"BackupPlanName": "daily", "Rules": [{"RuleName": "d", "TargetBackupVaultName": "Default", "Lifecycle": {"DeleteAfterDays": 35}}]}})
        w(base + "backup/list-backup-selections/p%d.json" % ri, {"BackupSelectionsList": [{"SelectionId": "s%d" % ri, "BackupPlanId": "p%d" % ri}]})
        w(base + "backup/get-backup-selection/s%d.json" % ri, {"BackupSelection": {"SelectionName": "tagged", "ListOfTags": [{"ConditionType": "STRINGEQUALS", "ConditionKey": "backup", "ConditionValue": "daily"}]}})
        w(base + "backup/list-backup-vaults.json", {"BackupVaultList": [{"BackupVaultName": "Default", "BackupVaultArn": "arn:aws:backup:%s:%s:backup-vault:Default" % (reg, acct), "NumberOfRecoveryPoints": 10, "Locked": False, "EncryptionKeyArn": "k"}]})
        w(base + "cloudtrail/describe-trails.json", {"trailList": []})
print("%d files in %s" % (files, out))
