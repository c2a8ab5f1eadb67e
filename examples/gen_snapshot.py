#!/usr/bin/env python3
"""Builds examples/snapshot/: the kumo-shop organisation as `kumomori collect` would have saved it
on 2025-03-12 at 06:00 UTC, nine and a half hours before the intrusion told in README.md.

Three accounts, in the collect layout DIR/<account>/<region|global>/<service>/<operation>.json
(per-resource answers under .../<operation>/<key>.json, error answers kept as the CLI prints them):

  381492765028  kumo-shop, the shop itself (ap-northeast-1; us-east-1 for IAM's EventBridge events)
  617283940516  the organisation's management account (SCPs, IAM Identity Center)
  728394051627  log archive (AWS Config's delivery bucket)

The account is the one of examples/scenario/ (same names, ids, keys) and, like most real
accounts, half done: the gaps `kumomori audit` reports are the ones the intruder went through
(dev-tanaka's old access key, a developer group allowed iam:* on users, SCPs that protect the
trail but nothing else, a Vault Lock in governance mode, no copy of the backups elsewhere, an
EventBridge rule in a region IAM events never reach). The strategy's own snippets are used as
written: the MFA SCP, the Backup plan (vault renamed to kumo-vault), the Config rule and the WAF
SQL-injection rule. Everything is invented for this project; nothing comes from a real account.

usage: gen_snapshot.py [OUT_DIR]     (default: the snapshot/ folder next to this script)
"""
import base64
import hashlib
import json
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "snapshot")
ACTORS = json.load(open(os.path.join(HERE, "scenario", "actors.json")))
WK = ACTORS["account"]                      # 381492765028
ORG_ID = ACTORS["organization"]             # o-4m7q2x9k1c
MG, LA = "617283940516", "728394051627"
T = "ap-northeast-1"
TAKEN = "2025-03-12T06:00:00Z"
SAAS = "310987654321"                       # the monitoring SaaS's account (actors.json)


def enc(s):
    """Per-resource file names: the key percent-encoded as collect writes it."""
    return "".join(c if (c.isalnum() or c in "._-") else "%%%02X" % ord(c) for c in s)


def w(acct, path, obj, key=None):
    p = os.path.join(ROOT, acct, path + ("/" + enc(key) if key is not None else "") + ".json")
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "w") as f:
        if obj != "":           # the CLI prints nothing for an empty answer
            json.dump(obj, f, indent=2)
            f.write("\n")


def ERR(code, msg=""):
    return {"Error": {"Code": code, "Message": msg}}


def pab(on=True):
    return {"PublicAccessBlockConfiguration": {k: on for k in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")}}


shutil.rmtree(ROOT, ignore_errors=True)

# ---- the organisation, seen from every account -------------------------------------------------
ORG = {"Organization": {"Id": ORG_ID, "Arn": f"arn:aws:organizations::{MG}:organization/{ORG_ID}", "FeatureSet": "ALL",
                        "MasterAccountId": MG, "MasterAccountEmail": "aws-root@kumo-shop.example"}}
for a in (MG, LA, WK):
    w(a, "global/organizations/describe-organization", ORG)
    w(a, "global/sts/get-caller-identity", {"UserId": "AROAEXAMPLEAUDITOR:auditor", "Account": a,
                                            "Arn": f"arn:aws:sts::{a}:assumed-role/kumomori-audit/auditor"})

# ---- management account: accounts, OUs, SCPs -----------------------------------------------------
ROOT_ID, OU_PROD, OU_SEC, OU_SANDBOX = "r-4m7q", "ou-4m7q-prod2x9k", "ou-4m7q-sec1c0de", "ou-4m7q-sandbox7"
w(MG, "global/organizations/list-accounts", {"Accounts": [
    {"Id": MG, "Name": "kumo-management", "Status": "ACTIVE"},
    {"Id": LA, "Name": "kumo-log-archive", "Status": "ACTIVE"},
    {"Id": WK, "Name": "kumo-shop", "Status": "ACTIVE"}]})
w(MG, "global/organizations/list-roots", {"Roots": [{"Id": ROOT_ID, "Arn": f"arn:aws:organizations::{MG}:root/{ORG_ID}/{ROOT_ID}", "Name": "Root",
                                                      "PolicyTypes": [{"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"}]}]})
FULL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
# The strategy's SCP, as written. It is attached to the sandbox OU only: attached to the shop, it
# would have stopped dev-tanaka's key (no MFA) on the first call.
SCP_MFA = {"Version": "2012-10-17", "Statement": [{"Sid": "DenyAllExceptListedIfNoMFA", "Effect": "Deny", "NotAction": [
    "iam:CreateVirtualMFADevice", "iam:EnableMFADevice", "iam:GetUser", "iam:ListMFADevices", "iam:ListVirtualMFADevices",
    "iam:ResyncMFADevice", "sts:GetSessionToken"], "Resource": "*", "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}}]}
# Protects the trail (the intruder's StopLogging and PutEventSelectors are denied), nothing else.
SCP_TRAIL = {"Version": "2012-10-17", "Statement": [{"Sid": "ProtectOrganisationTrail", "Effect": "Deny", "Action": [
    "cloudtrail:StopLogging", "cloudtrail:DeleteTrail", "cloudtrail:UpdateTrail", "cloudtrail:PutEventSelectors"],
    "Resource": f"arn:aws:cloudtrail:*:{WK}:trail/kumo-org-trail",
    "Condition": {"ArnNotLike": {"aws:PrincipalArn": f"arn:aws:iam::*:role/OrganizationAccountAccessRole"}}}]}
# FullAWSAccess is attached everywhere, as AWS does by default (a level without it would allow nothing)
POLICIES = [("p-FullAWSAccess", "FullAWSAccess", FULL, True, [(ROOT_ID, "ROOT", "Root"), (OU_PROD, "ORGANIZATIONAL_UNIT", "Production"),
                                                             (OU_SEC, "ORGANIZATIONAL_UNIT", "Security"), (OU_SANDBOX, "ORGANIZATIONAL_UNIT", "Sandbox"),
                                                             (MG, "ACCOUNT", "kumo-management"), (LA, "ACCOUNT", "kumo-log-archive"),
                                                             (WK, "ACCOUNT", "kumo-shop")]),
            ("p-9k1cmfa0", "require-mfa", SCP_MFA, False, [(OU_SANDBOX, "ORGANIZATIONAL_UNIT", "Sandbox")]),
            ("p-9k1ctrl1", "protect-org-trail", SCP_TRAIL, False, [(OU_PROD, "ORGANIZATIONAL_UNIT", "Production")])]
w(MG, "global/organizations/list-policies", {"Policies": [
    {"Id": pid, "Arn": f"arn:aws:organizations::{MG}:policy/{ORG_ID}/service_control_policy/{pid}", "Name": name,
     "Type": "SERVICE_CONTROL_POLICY", "AwsManaged": managed} for pid, name, _, managed, _ in POLICIES]})
for pid, name, doc, managed, targets in POLICIES:
    w(MG, "global/organizations/describe-policy", {"Policy": {"PolicySummary": {"Id": pid, "Name": name, "Type": "SERVICE_CONTROL_POLICY",
                                                                                "AwsManaged": managed}, "Content": json.dumps(doc)}}, pid)
    w(MG, "global/organizations/list-targets-for-policy", {"Targets": [{"TargetId": t, "Type": ty, "Name": n} for t, ty, n in targets]}, pid)
for child, parent, ptype in ((WK, OU_PROD, "ORGANIZATIONAL_UNIT"), (LA, OU_SEC, "ORGANIZATIONAL_UNIT"), (MG, ROOT_ID, "ROOT"),
                             (OU_PROD, ROOT_ID, "ROOT"), (OU_SEC, ROOT_ID, "ROOT")):
    w(MG, "global/organizations/list-parents", {"Parents": [{"Id": parent, "Type": ptype}]}, child)
w(MG, "global/organizations/list-delegated-administrators", {"DelegatedAdministrators": []})
# member accounts cannot read the organisation's policies: kumomori takes them from the management account
for a in (WK, LA):
    w(a, "global/organizations/list-policies", ERR("AccessDeniedException", "You don't have permissions to access this resource."))

# ---- IAM: credential reports -----------------------------------------------------------------------
HDR = ("user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,"
       "access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,"
       "access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,"
       "cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated")


def root_row(acct, last_used):
    return ",".join(["<root_account>", f"arn:aws:iam::{acct}:root", "2023-02-01T00:00:00+00:00", "not_supported", last_used,
                     "not_supported", "not_supported", "true", "false", "N/A", "N/A", "N/A", "N/A", "false", "N/A", "N/A", "N/A", "N/A",
                     "false", "N/A", "false", "N/A"])


def report(acct, rows):
    csv = HDR + "\n" + "\n".join(rows) + "\n"
    return {"Content": base64.b64encode(csv.encode()).decode(), "ReportFormat": "text/csv", "GeneratedTime": "2025-03-12T05:58:41+00:00"}


TANAKA = ",".join(["dev-tanaka", f"arn:aws:iam::{WK}:user/dev-tanaka", "2023-06-05T02:11:09+00:00", "true", "2025-03-11T08:02:13+00:00",
                   "2024-11-18T01:00:00+00:00", "N/A", "true", "true", "2024-05-20T03:14:00+00:00", "2025-03-11T09:41:00+00:00", T, "secretsmanager",
                   "false", "N/A", "N/A", "N/A", "N/A", "false", "N/A", "false", "N/A"])
w(WK, "global/iam/get-credential-report", report(WK, [root_row(WK, "2024-07-02T04:00:00+00:00"), TANAKA]))
w(MG, "global/iam/get-credential-report", report(MG, [root_row(MG, "2024-02-01T00:30:00+00:00")]))
# The log archive's permission boundary denies the audit role the credential report: the root
# user checks say UNKNOWN there, never FAIL.
w(LA, "global/iam/get-credential-report", ERR("AccessDenied", f"User: arn:aws:sts::{LA}:assumed-role/kumomori-audit/auditor is not authorized to perform: "
                                                               "iam:GetCredentialReport on resource: * with an explicit deny in a permissions boundary"))

# ---- IAM: kumo-shop ---------------------------------------------------------------------------------
READONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
SELF_SERVICE = {"Version": "2012-10-17", "Statement": [
    {"Sid": "ManageUsersSelfService", "Effect": "Allow", "Action": "iam:*", "Resource": f"arn:aws:iam::{WK}:user/*"},
    {"Sid": "ReadShopSecrets", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": f"arn:aws:secretsmanager:{T}:{WK}:secret:prod/kumo-shop/*"}]}
CI_POLICY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["ecr:GetAuthorizationToken"], "Resource": "*"},
    {"Effect": "Allow", "Action": ["ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:PutImage"],
     "Resource": f"arn:aws:ecr:{T}:{WK}:repository/kumo-shop-*"},
    {"Effect": "Allow", "Action": ["ecs:RegisterTaskDefinition", "ecs:DescribeServices", "ecs:UpdateService"], "Resource": "*"},
    {"Effect": "Allow", "Action": "iam:PassRole", "Resource": [f"arn:aws:iam::{WK}:role/kumo-shop-app-task", f"arn:aws:iam::{WK}:role/kumo-shop-task-execution"]},
    {"Effect": "Allow", "Action": "cloudfront:CreateInvalidation", "Resource": f"arn:aws:cloudfront::{WK}:distribution/E2QWRUHAPOMQZL"}]}
APP_POLICY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"], "Resource": "arn:aws:s3:::kumo-shop-orders/*"},
    {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": f"arn:aws:secretsmanager:{T}:{WK}:secret:prod/kumo-shop/db-*"},
    {"Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": f"arn:aws:kms:{T}:{WK}:key/7d1e3f5a-9b2c-4d6e-8f0a-1b3c5d7e9f20"}]}


def trust(principal, action="sts:AssumeRole", cond=None):
    st = {"Effect": "Allow", "Principal": principal, "Action": action}
    if cond:
        st["Condition"] = cond
    return {"Version": "2012-10-17", "Statement": [st]}


SSO_ROLE = "AWSReservedSSO_AdministratorAccess_8c1f2a7d3b9e4051"
OIDC = f"arn:aws:iam::{WK}:oidc-provider/token.actions.githubusercontent.com"
ROLES = [
    (SSO_ROLE, "/aws-reserved/sso.amazonaws.com/ap-northeast-1/", trust({"Federated": f"arn:aws:iam::{WK}:saml-provider/AWSSSO_5b2e9c1d7a_DO_NOT_DELETE"},
                                                                          ["sts:AssumeRoleWithSAML", "sts:TagSession"]),
     ["arn:aws:iam::aws:policy/AdministratorAccess"], [], 43200, "2025-03-12T01:15:00+00:00"),
    ("ci-deploy", "/", trust({"Federated": OIDC}, "sts:AssumeRoleWithWebIdentity",
                             {"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                                               "token.actions.githubusercontent.com:sub": "repo:kumo-shop/shop:ref:refs/heads/main"}}),
     [], [("ci-deploy", CI_POLICY)], 3600, "2025-03-12T02:00:00+00:00"),
    ("kumo-shop-app-task", "/", trust({"Service": "ecs-tasks.amazonaws.com"}), [], [("app", APP_POLICY)], 3600, "2025-03-12T05:59:00+00:00"),
    ("kumo-shop-task-execution", "/", trust({"Service": "ecs-tasks.amazonaws.com"}),
     ["arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"], [], 3600, "2025-03-12T02:01:00+00:00"),
    ("monitoring-readonly", "/", trust({"AWS": f"arn:aws:iam::{SAAS}:root"}, cond={"StringEquals": {"sts:ExternalId": "kumo-shop-7f3a9c"}}),
     ["arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"], [], 3600, "2025-03-12T05:30:00+00:00"),
    ("AWSBackupDefaultServiceRole", "/service-role/", trust({"Service": "backup.amazonaws.com"}),
     ["arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup"], [], 3600, "2025-03-11T19:05:00+00:00"),
    ("AWSDataLifecycleManagerDefaultRole", "/service-role/", trust({"Service": "dlm.amazonaws.com"}),
     ["arn:aws:iam::aws:policy/service-role/AWSDataLifecycleManagerServiceRole"], [], 3600, "2025-03-11T18:00:00+00:00"),
    ("legacy-batch", "/", trust({"AWS": f"arn:aws:iam::{WK}:root"}), [READONLY], [], 3600, None),
]


def role_entry(name, path, doc, managed, inline, maxs, last, detail):
    r = {"Path": path, "RoleName": name, "RoleId": "AROA" + name.upper().replace("-", "").replace("_", "")[:17],
         "Arn": f"arn:aws:iam::{WK}:role{path}{name}", "CreateDate": "2023-06-01T00:00:00+00:00", "AssumeRolePolicyDocument": doc}
    if detail:
        r["RolePolicyList"] = [{"PolicyName": n, "PolicyDocument": d} for n, d in inline]
        r["AttachedManagedPolicies"] = [{"PolicyName": m.split("/")[-1], "PolicyArn": m} for m in managed]
        r["RoleLastUsed"] = {"LastUsedDate": last, "Region": T} if last else {}
    else:
        r["MaxSessionDuration"] = maxs
    return r


w(WK, "global/iam/get-account-authorization-details", {
    "UserDetailList": [{"Path": "/", "UserName": "dev-tanaka", "UserId": "AIDAVRUVQ5LTANAKA7H2Q", "Arn": f"arn:aws:iam::{WK}:user/dev-tanaka",
                        "CreateDate": "2023-06-05T02:11:09+00:00", "GroupList": ["developers"], "AttachedManagedPolicies": [], "UserPolicyList": []}],
    "GroupDetailList": [{"Path": "/", "GroupName": "developers", "GroupId": "AGPAVRUVQ5LTDEVS4K2M", "Arn": f"arn:aws:iam::{WK}:group/developers",
                         "GroupPolicyList": [{"PolicyName": "developer-self-service", "PolicyDocument": SELF_SERVICE}],
                         "AttachedManagedPolicies": [{"PolicyName": "ReadOnlyAccess", "PolicyArn": READONLY}]}],
    "RoleDetailList": [role_entry(*r, detail=True) for r in ROLES],
    # attached AWS managed policies come with their documents (the others are left out to keep the example small)
    "Policies": [{"PolicyName": "AdministratorAccess", "PolicyId": "ANPAIWMBCKSKIEE64ZLYK", "Arn": "arn:aws:iam::aws:policy/AdministratorAccess",
                  "Path": "/", "DefaultVersionId": "v1", "AttachmentCount": 1, "IsAttachable": True,
                  "CreateDate": "2015-02-06T18:39:46+00:00", "UpdateDate": "2015-02-06T18:39:46+00:00",
                  "PolicyVersionList": [{"Document": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
                                         "VersionId": "v1", "IsDefaultVersion": True, "CreateDate": "2015-02-06T18:39:46+00:00"}]}]})
w(WK, "global/iam/list-roles", {"Roles": [role_entry(*r, detail=False) for r in ROLES]})
w(WK, "global/iam/get-account-password-policy", {"PasswordPolicy": {"MinimumPasswordLength": 8, "RequireSymbols": False, "RequireNumbers": True,
                                                                     "RequireUppercaseCharacters": True, "RequireLowercaseCharacters": True,
                                                                     "AllowUsersToChangePassword": True, "ExpirePasswords": False}})
w(WK, "global/iam/get-account-summary", {"SummaryMap": {"AccountMFAEnabled": 1, "AccountAccessKeysPresent": 0, "Users": 1, "Groups": 1,
                                                         "Roles": len(ROLES)}})
w(WK, "global/iam/list-virtual-mfa-devices", {"VirtualMFADevices": [
    {"SerialNumber": f"arn:aws:iam::{WK}:mfa/root-account-mfa-device", "User": {"Arn": f"arn:aws:iam::{WK}:root"}},
    {"SerialNumber": f"arn:aws:iam::{WK}:mfa/dev-tanaka", "User": {"Arn": f"arn:aws:iam::{WK}:user/dev-tanaka"}}]})
w(WK, "global/iam/list-saml-providers", {"SAMLProviderList": [{"Arn": f"arn:aws:iam::{WK}:saml-provider/AWSSSO_5b2e9c1d7a_DO_NOT_DELETE",
                                                               "ValidUntil": "2124-01-01T00:00:00+00:00"}]})
w(WK, "global/iam/list-open-id-connect-providers", {"OpenIDConnectProviderList": [{"Arn": OIDC}]})
for a in (MG, LA):
    w(a, "global/iam/get-account-authorization-details", {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": [], "Policies": []})
    w(a, "global/iam/list-roles", {"Roles": []})
    w(a, "global/iam/get-account-password-policy", {"PasswordPolicy": {"MinimumPasswordLength": 16, "PasswordReusePrevention": 24,
                                                                        "RequireSymbols": True, "RequireNumbers": True}})
    w(a, "global/iam/get-account-summary", {"SummaryMap": {"AccountMFAEnabled": 1, "AccountAccessKeysPresent": 0, "Users": 0}})
    w(a, "global/iam/list-virtual-mfa-devices", {"VirtualMFADevices": []})
    w(a, "global/iam/list-open-id-connect-providers", {"OpenIDConnectProviderList": []})
w(MG, "global/iam/list-saml-providers", {"SAMLProviderList": []})
w(LA, "global/iam/list-saml-providers", {"SAMLProviderList": [{"Arn": f"arn:aws:iam::{LA}:saml-provider/AWSSSO_5b2e9c1d7a_DO_NOT_DELETE"}]})

# ---- S3 -------------------------------------------------------------------------------------------
DATA_KEY = f"arn:aws:kms:{T}:{WK}:key/7d1e3f5a-9b2c-4d6e-8f0a-1b3c5d7e9f20"
BUCKETS = ["kumo-cloudtrail-logs", "kumo-shop-backups", "kumo-shop-orders"]
w(WK, "global/s3api/list-buckets", {"Buckets": [{"Name": b, "CreationDate": "2023-06-01T00:00:00+00:00"} for b in BUCKETS],
                                    "Owner": {"DisplayName": "kumo-shop", "ID": "5d0c9e2f"}})
w(WK, "global/s3control/get-public-access-block", pab())
TRAIL_BUCKET_POLICY = {"Version": "2012-10-17", "Statement": [
    {"Sid": "AWSCloudTrailAclCheck", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:GetBucketAcl",
     "Resource": "arn:aws:s3:::kumo-cloudtrail-logs"},
    {"Sid": "AWSCloudTrailWrite", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:PutObject",
     "Resource": f"arn:aws:s3:::kumo-cloudtrail-logs/AWSLogs/{WK}/*", "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}}]}
for b in BUCKETS:
    w(WK, "global/s3api/get-bucket-location", {"LocationConstraint": T}, b)
    w(WK, "global/s3api/get-public-access-block", pab(), b)
    w(WK, "global/s3api/get-bucket-versioning", {"Status": "Enabled", "MFADelete": "Disabled"}, b)
    w(WK, "global/s3api/get-bucket-encryption", {"ServerSideEncryptionConfiguration": {"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": DATA_KEY}, "BucketKeyEnabled": True}]}}
      if b != "kumo-cloudtrail-logs" else {"ServerSideEncryptionConfiguration": {"Rules": [
          {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": False}]}}, b)
    w(WK, "global/s3api/get-bucket-policy", {"Policy": json.dumps(TRAIL_BUCKET_POLICY)} if b == "kumo-cloudtrail-logs"
      else ERR("NoSuchBucketPolicy", "The bucket policy does not exist"), b)
    w(WK, "global/s3api/get-bucket-acl", {"Owner": {"ID": "5d0c9e2f"}, "Grants": [{"Grantee": {"Type": "CanonicalUser", "ID": "5d0c9e2f"},
                                                                                    "Permission": "FULL_CONTROL"}]}, b)
    w(WK, "global/s3api/get-bucket-logging", "", b)
    w(WK, "global/s3api/get-object-lock-configuration",
      ERR("ObjectLockConfigurationNotFoundError", "Object Lock configuration does not exist for this bucket"), b)
    w(WK, "global/s3api/get-bucket-replication", ERR("ReplicationConfigurationNotFoundError", "The replication configuration was not found"), b)
    w(WK, "global/s3api/get-bucket-lifecycle-configuration", ERR("NoSuchLifecycleConfiguration", "The lifecycle configuration does not exist"), b)
    # tagged for cost reports, not for a backup plan (the plan selects Environment=Production)
    w(WK, "global/s3api/get-bucket-tagging", {"TagSet": [{"Key": "Team", "Value": "shop"}]} if b != "kumo-cloudtrail-logs"
      else ERR("NoSuchTagSet", "The TagSet does not exist"), b)

# log archive: AWS Config's bucket, locked
CFG_BUCKET = f"kumo-config-{LA}"
w(LA, "global/s3api/list-buckets", {"Buckets": [{"Name": CFG_BUCKET, "CreationDate": "2023-06-01T00:00:00+00:00"}], "Owner": {"ID": "a1c3e5"}})
w(LA, "global/s3control/get-public-access-block", pab())
w(LA, "global/s3api/get-bucket-location", {"LocationConstraint": T}, CFG_BUCKET)
w(LA, "global/s3api/get-public-access-block", pab(), CFG_BUCKET)
w(LA, "global/s3api/get-bucket-versioning", {"Status": "Enabled", "MFADelete": "Disabled"}, CFG_BUCKET)
w(LA, "global/s3api/get-bucket-encryption", {"ServerSideEncryptionConfiguration": {"Rules": [
    {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": f"arn:aws:kms:{T}:{LA}:key/3e5a7c9b-1d2f-4a6b-8c0d-2e4f6a8b0c1d"},
     "BucketKeyEnabled": True}]}}, CFG_BUCKET)
w(LA, "global/s3api/get-bucket-policy", ERR("NoSuchBucketPolicy", "The bucket policy does not exist"), CFG_BUCKET)
w(LA, "global/s3api/get-bucket-acl", {"Owner": {"ID": "a1c3e5"}, "Grants": [{"Grantee": {"Type": "CanonicalUser", "ID": "a1c3e5"}, "Permission": "FULL_CONTROL"}]}, CFG_BUCKET)
w(LA, "global/s3api/get-bucket-logging", "", CFG_BUCKET)
w(LA, "global/s3api/get-object-lock-configuration", {"ObjectLockConfiguration": {"ObjectLockEnabled": "Enabled",
                                                                                  "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 400}}}}, CFG_BUCKET)
w(LA, "global/s3api/get-bucket-replication", ERR("ReplicationConfigurationNotFoundError", "The replication configuration was not found"), CFG_BUCKET)
w(LA, "global/s3api/get-bucket-lifecycle-configuration", {"Rules": [{"ID": "expire-after-400-days", "Status": "Enabled", "Filter": {"Prefix": ""},
                                                                    "Expiration": {"Days": 400}}]}, CFG_BUCKET)
w(LA, "global/s3api/get-bucket-tagging", ERR("NoSuchTagSet", "The TagSet does not exist"), CFG_BUCKET)
w(MG, "global/s3api/list-buckets", {"Buckets": [], "Owner": {"ID": "f00d"}})
w(MG, "global/s3control/get-public-access-block", pab())

# ---- edge: CloudFront and its web ACL (with the strategy's SQL-injection rule) ----------------------
STRATEGY_SQLI = {"Name": "block-sql-injection", "Priority": 10, "Action": {"Block": {}},
                 "Statement": {"SqliMatchStatement": {"FieldToMatch": {"AllQueryArguments": {}}, "TextTransformations": [{"Priority": 0, "Type": "NONE"}]}},
                 "VisibilityConfig": {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": "SQLInjectionAttempts"}}
EDGE_ACL = f"arn:aws:wafv2:us-east-1:{WK}:global/webacl/kumo-shop-edge/4f6a8b0c-2d4e-4f6a-8b0c-2d4e6f8a0b1c"
w(WK, "global/cloudfront/list-distributions", {"DistributionList": {"Quantity": 1, "Items": [
    {"Id": "E2QWRUHAPOMQZL", "ARN": f"arn:aws:cloudfront::{WK}:distribution/E2QWRUHAPOMQZL", "DomainName": "d3kumoshop7x.cloudfront.net",
     "Status": "Deployed", "Aliases": {"Quantity": 1, "Items": ["shop.kumo-shop.example"]}, "WebACLId": EDGE_ACL,
     "Origins": {"Quantity": 1, "Items": [{"Id": "alb", "DomainName": "kumo-shop-web-1234567890.ap-northeast-1.elb.amazonaws.com"}]}}]}})
w(WK, "global/wafv2/list-web-acls", {"WebACLs": [{"Name": "kumo-shop-edge", "Id": "4f6a8b0c-2d4e-4f6a-8b0c-2d4e6f8a0b1c", "ARN": EDGE_ACL, "LockToken": "0a1b"}]})
w(WK, "global/wafv2/get-web-acl", {"WebACL": {"Name": "kumo-shop-edge", "Id": "4f6a8b0c-2d4e-4f6a-8b0c-2d4e6f8a0b1c", "ARN": EDGE_ACL,
                                              "DefaultAction": {"Allow": {}}, "Rules": [
    {"Name": "aws-common", "Priority": 0, "OverrideAction": {"None": {}},
     "Statement": {"ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": "AWSManagedRulesCommonRuleSet"}},
     "VisibilityConfig": {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": "aws-common"}},
    STRATEGY_SQLI],
    "VisibilityConfig": {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": "kumo-shop-edge"}}, "LockToken": "0a1b"},
  "4f6a8b0c-2d4e-4f6a-8b0c-2d4e6f8a0b1c")
w(WK, "global/wafv2/get-logging-configuration", ERR("WAFNonexistentItemException", "AWS WAF couldn't perform the operation because your resource doesn't exist."),
  "4f6a8b0c-2d4e-4f6a-8b0c-2d4e6f8a0b1c")
w(WK, "global/wafv2/list-rule-groups", {"RuleGroups": []})


# ---- regional services -----------------------------------------------------------------------------
def rw(path, obj, key=None, acct=WK, region=T):
    w(acct, region + "/" + path, obj, key)


def basics(acct, region, **over):
    """What every account and region of the organisation has: detectors on, Config recording."""
    def r(path, obj, key=None):
        if path not in over.get("skip", ()):
            w(acct, region + "/" + path, obj, key)
    det = over.get("detector", "d" + acct[-6:] + region.replace("-", ""))
    r("guardduty/list-detectors", {"DetectorIds": [det]})
    r("guardduty/get-detector", {"Status": "ENABLED", "FindingPublishingFrequency": "FIFTEEN_MINUTES", "Features": [
        {"Name": "CLOUD_TRAIL", "Status": "ENABLED"}, {"Name": "S3_DATA_EVENTS", "Status": "ENABLED"},
        {"Name": "EBS_MALWARE_PROTECTION", "Status": over.get("malware", "ENABLED")},
        {"Name": "RDS_LOGIN_EVENTS", "Status": over.get("rds_login", "ENABLED")}]}, det)
    r("securityhub/describe-hub", {"HubArn": f"arn:aws:securityhub:{region}:{acct}:hub/default", "SubscribedAt": "2023-06-01T00:00:00.000Z",
                                   "AutoEnableControls": True})
    r("securityhub/get-enabled-standards", {"StandardsSubscriptions": [
        {"StandardsArn": f"arn:aws:securityhub:{region}::standards/aws-foundational-security-best-practices/v/1.0.0", "StandardsStatus": "READY",
         "StandardsSubscriptionArn": f"arn:aws:securityhub:{region}:{acct}:subscription/aws-foundational-security-best-practices/v/1.0.0"}]})
    r("configservice/describe-configuration-recorders", {"ConfigurationRecorders": [
        {"name": "default", "roleARN": f"arn:aws:iam::{acct}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig",
         "recordingGroup": {"allSupported": True, "includeGlobalResourceTypes": region == T}}]})
    r("configservice/describe-configuration-recorder-status", {"ConfigurationRecordersStatus": [
        {"name": "default", "recording": True, "lastStatus": "SUCCESS", "lastStatusChangeTime": "2025-03-12T05:55:00+00:00"}]})
    r("configservice/describe-delivery-channels", {"DeliveryChannels": [{"name": "default", "s3BucketName": CFG_BUCKET}]})
    rule = {"ConfigRuleName": "restricted-common-ports",
            "ConfigRuleArn": f"arn:aws:config:{region}:{acct}:config-rule/config-rule-{acct[-4:]}{region[-1]}",
            "ConfigRuleId": f"config-rule-{acct[-4:]}{region[-1]}",
            "Source": {"Owner": "AWS", "SourceIdentifier": "RESTRICTED_INCOMING_TRAFFIC"},
            "Scope": {"ComplianceResourceTypes": ["AWS::EC2::SecurityGroup"]}, "ConfigRuleState": "ACTIVE"}
    r("configservice/describe-config-rules", {"ConfigRules": [rule]})
    r("configservice/describe-compliance-by-config-rule", {"ComplianceByConfigRules": [
        {"ConfigRuleName": "restricted-common-ports", "Compliance": {"ComplianceType": "COMPLIANT"}}]})
    r("configservice/describe-conformance-packs", {"ConformancePackDetails": []})
    r("inspector2/batch-get-account-status", {"accounts": [{"accountId": acct, "state": {"status": "ENABLED"}, "resourceState": {
        "ec2": {"status": "ENABLED"}, "ecr": {"status": over.get("inspector_ecr", "ENABLED")}, "lambda": {"status": "ENABLED"},
        "lambdaCode": {"status": "ENABLED"}}}], "failedAccounts": []})
    r("inspector2/list-findings", {"findings": []})
    r("macie2/get-macie-session", ERR("AccessDeniedException", "Macie is not enabled"))
    r("macie2/get-automated-discovery-configuration", ERR("AccessDeniedException", "Macie is not enabled"))
    r("fms/get-admin-account", ERR("ResourceNotFoundException", "No default admin could be found"))
    r("accessanalyzer/list-analyzers", {"analyzers": []})
    r("ec2/get-ebs-encryption-by-default", {"EbsEncryptionByDefault": True})
    for path, obj in (("ec2/describe-instances", {"Reservations": []}), ("ec2/describe-security-groups", {"SecurityGroups": []}),
                      ("ec2/describe-vpcs", {"Vpcs": []}), ("ec2/describe-vpc-endpoints", {"VpcEndpoints": []}),
                      ("logs/describe-log-groups", {"logGroups": []}), ("logs/describe-metric-filters", {"metricFilters": []}),
                      ("cloudwatch/describe-alarms", {"MetricAlarms": [], "CompositeAlarms": []}),
                      ("rds/describe-db-instances", {"DBInstances": []}), ("rds/describe-db-clusters", {"DBClusters": []}),
                      ("rds/describe-db-snapshots", {"DBSnapshots": []}), ("rds/describe-db-cluster-snapshots", {"DBClusterSnapshots": []}),
                      ("backup/list-backup-plans", {"BackupPlansList": []}), ("backup/list-backup-vaults", {"BackupVaultList": []}),
                      ("backup/list-protected-resources", {"Results": []}), ("ecr/describe-repositories", {"repositories": []}),
                      ("ecs/list-task-definition-families", {"families": []}), ("lambda/list-functions", {"Functions": []}),
                      ("ssm/describe-instance-information", {"InstanceInformationList": []}), ("events/list-rules", {"Rules": []}),
                      ("secretsmanager/list-secrets", {"SecretList": []}), ("kms/list-keys", {"Keys": []}),
                      ("cloudtrail/describe-trails", {"trailList": []}), ("sso-admin/list-instances", {"Instances": []}),
                      ("wafv2/list-web-acls", {"WebACLs": []}), ("elbv2/describe-load-balancers", {"LoadBalancers": []}),
                      ("ec2/describe-volumes", {"Volumes": []}), ("ec2/describe-snapshots", {"Snapshots": []}),
                      ("dynamodb/list-tables", {"TableNames": []}), ("dynamodb/list-backups", {"BackupSummaries": []}),
                      ("efs/describe-file-systems", {"FileSystems": []})):
        r(path, obj)


# kumo-shop, ap-northeast-1: the shop
SKIP = ("ec2/describe-instances", "ec2/describe-security-groups", "ec2/describe-vpcs", "ec2/describe-vpc-endpoints", "logs/describe-log-groups",
        "logs/describe-metric-filters", "cloudwatch/describe-alarms", "rds/describe-db-instances", "rds/describe-db-snapshots",
        "backup/list-backup-plans", "backup/list-backup-vaults", "backup/list-protected-resources", "ecr/describe-repositories",
        "ecs/list-task-definition-families", "ssm/describe-instance-information", "events/list-rules", "secretsmanager/list-secrets",
        "kms/list-keys", "cloudtrail/describe-trails", "wafv2/list-web-acls", "elbv2/describe-load-balancers", "inspector2/list-findings",
        "ec2/describe-volumes", "ec2/describe-snapshots", "dynamodb/list-tables", "dynamodb/list-backups")
basics(WK, T, detector="5ac7e1f3b9d24e6a8c0b2d4f6e8a1c3b", malware="DISABLED", rds_login="DISABLED", inspector_ecr="DISABLED", skip=SKIP)
basics(WK, "us-east-1", malware="DISABLED", rds_login="DISABLED")
basics(MG, "us-east-1", skip=("sso-admin/list-instances", "accessanalyzer/list-analyzers"))
basics(MG, T, skip=("accessanalyzer/list-analyzers",))
basics(LA, T)
basics(LA, "us-east-1")
for a in (WK, MG, LA):
    w(a, "global/ec2/describe-regions", {"Regions": [{"RegionName": r, "OptInStatus": "opt-in-not-required"} for r in (T, "us-east-1")]})
# the organisation's unused-access analyzer lives in the management account
for region in (T, "us-east-1"):
    arn = f"arn:aws:access-analyzer:{region}:{MG}:analyzer/kumo-org"
    w(MG, region + "/accessanalyzer/list-analyzers", {"analyzers": [{"arn": arn, "name": "kumo-org", "type": "ORGANIZATION", "status": "ACTIVE"}]})
    w(MG, region + "/accessanalyzer/list-findings", {"findings": []}, arn)

# network
VPC = "vpc-0c4e6a8b2d1f3e5a7"
ALB_SG, APP_SG, DB_SG, DEF_SG = "sg-0a9b8c7d6e5f4a3b2", "sg-0b3d5f7a9c1e2b4d6", "sg-0e2a4c6f8b1d3a5c7", "sg-0f1e2d3c4b5a69788"
rw("ec2/describe-vpcs", {"Vpcs": [{"VpcId": VPC, "CidrBlock": "10.40.0.0/16", "IsDefault": False, "OwnerId": WK, "State": "available",
                                   "Tags": [{"Key": "Name", "Value": "kumo-shop"}]}]})
rw("ec2/describe-vpc-endpoints", {"VpcEndpoints": [{"VpcEndpointId": "vpce-0a2c4e6f8b1d3a5c7", "VpcId": VPC, "ServiceName": f"com.amazonaws.{T}.s3",
                                                    "VpcEndpointType": "Gateway", "State": "available"}]})


def perm(port, cidr=None, src=None, desc=""):
    return {"IpProtocol": "tcp", "FromPort": port, "ToPort": port,
            "IpRanges": [{"CidrIp": cidr, "Description": desc}] if cidr else [], "Ipv6Ranges": [], "PrefixListIds": [],
            "UserIdGroupPairs": [{"GroupId": src, "UserId": WK}] if src else []}


EGRESS = [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "Ipv6Ranges": [], "PrefixListIds": [], "UserIdGroupPairs": []}]
rw("ec2/describe-security-groups", {"SecurityGroups": [
    {"GroupId": ALB_SG, "GroupName": "kumo-shop-alb", "Description": "ALB", "OwnerId": WK, "VpcId": VPC,
     "IpPermissions": [perm(443, "0.0.0.0/0", desc="HTTPS from CloudFront and clients")], "IpPermissionsEgress": EGRESS},
    {"GroupId": APP_SG, "GroupName": "kumo-shop-app", "Description": "ECS tasks", "OwnerId": WK, "VpcId": VPC,
     "IpPermissions": [perm(8080, src=ALB_SG)], "IpPermissionsEgress": EGRESS},
    {"GroupId": DB_SG, "GroupName": "kumo-shop-db", "Description": "MySQL from the app", "OwnerId": WK, "VpcId": VPC,
     "IpPermissions": [perm(3306, src=APP_SG)], "IpPermissionsEgress": EGRESS},
    {"GroupId": DEF_SG, "GroupName": "default", "Description": "default VPC security group", "OwnerId": WK, "VpcId": VPC,
     "IpPermissions": [{"IpProtocol": "-1", "IpRanges": [], "Ipv6Ranges": [], "PrefixListIds": [], "UserIdGroupPairs": [{"GroupId": DEF_SG, "UserId": WK}]}],
     "IpPermissionsEgress": EGRESS}]})
HOSTS = [("i-0a1b2c3d4e5f60718", "kumo-shop-worker-a"), ("i-0b2c3d4e5f6071829", "kumo-shop-worker-b")]
rw("ec2/describe-instances", {"Reservations": [{"Instances": [
    {"InstanceId": i, "InstanceType": "t3.large", "State": {"Name": "running"}, "VpcId": VPC, "SecurityGroups": [{"GroupId": APP_SG, "GroupName": "kumo-shop-app"}],
     "IamInstanceProfile": {"Arn": f"arn:aws:iam::{WK}:instance-profile/kumo-shop-worker"}, "MetadataOptions": {"HttpTokens": "required"},
     "Tags": [{"Key": "Name", "Value": n}, {"Key": "Environment", "Value": "Production"}]} for i, n in HOSTS]}]})
# the workers' root volumes, encrypted with the AWS managed EBS key; Data Lifecycle Manager snapshots them daily
EBS_KEY_ID = "5f7a9c1e-3b5d-4f7a-9c1e-3b5d7f9a1c3e"
EBS_KEY = f"arn:aws:kms:{T}:{WK}:key/{EBS_KEY_ID}"
VOLS = [("vol-0c1e3a5b7d9f1a2c4", HOSTS[0][0]), ("vol-0d2f4b6c8e0a2b3d5", HOSTS[1][0])]
rw("ec2/describe-volumes", {"Volumes": [
    {"VolumeId": v, "Size": 30, "VolumeType": "gp3", "State": "in-use", "AvailabilityZone": f"{T}a", "Encrypted": True, "KmsKeyId": EBS_KEY,
     "CreateTime": "2024-11-02T03:10:00.000Z", "Attachments": [{"VolumeId": v, "InstanceId": i, "Device": "/dev/xvda", "State": "attached",
                                                                 "DeleteOnTermination": True}],
     "Tags": [{"Key": "Name", "Value": i + "-root"}]} for v, i in VOLS]})
rw("ec2/describe-snapshots", {"Snapshots": [
    {"SnapshotId": f"snap-0{k}{d:02d}e2a4c6b8d0f1a3", "VolumeId": v, "State": "completed", "Progress": "100%", "OwnerId": WK,
     "StartTime": f"2025-03-{d:02d}T18:00:00.000Z", "VolumeSize": 30, "Encrypted": True, "KmsKeyId": EBS_KEY,
     "Description": "Created for policy: policy-0a2c4e6b8d1f3a5c7 schedule: daily",
     "Tags": [{"Key": "dlm:managed", "Value": "true"}]} for k, (v, _) in enumerate(VOLS) for d in (9, 10, 11)]})
rw("ssm/describe-instance-information", {"InstanceInformationList": [{"InstanceId": i, "PingStatus": "Online", "PlatformType": "Linux",
                                                                      "PlatformName": "Amazon Linux"} for i, _ in HOSTS]})
rw("ssm/list-resource-compliance-summaries", {"ResourceComplianceSummaryItems": [
    {"ComplianceType": "Patch", "ResourceType": "ManagedInstance", "ResourceId": i, "Status": "COMPLIANT",
     "CompliantSummary": {"CompliantCount": 212}} for i, _ in HOSTS]})
rw("ssm/describe-maintenance-windows", {"WindowIdentities": [{"WindowId": "mw-0c2e4a6b8d1f3e5a7", "Name": "kumo-shop-patching", "Enabled": True,
                                                              "Schedule": "cron(0 18 ? * SUN *)"}]})
rw("ssm/describe-maintenance-window-tasks", {"Tasks": [{"WindowId": "mw-0c2e4a6b8d1f3e5a7", "TaskArn": "AWS-RunPatchBaseline", "Type": "RUN_COMMAND"}]},
   "mw-0c2e4a6b8d1f3e5a7")
rw("ssm/list-associations", {"Associations": [{"Name": "AWS-GatherSoftwareInventory", "AssociationId": "5c7e9a1b-3d5f-4a7c-9e1b-3d5f7a9c1e2b"}]})
ALB = f"arn:aws:elasticloadbalancing:{T}:{WK}:loadbalancer/app/kumo-shop-web/7d9f1b3c5e7a9d1f"
rw("elbv2/describe-load-balancers", {"LoadBalancers": [{"LoadBalancerArn": ALB, "DNSName": "kumo-shop-web-1234567890.ap-northeast-1.elb.amazonaws.com",
                                                        "LoadBalancerName": "kumo-shop-web", "Scheme": "internet-facing", "VpcId": VPC,
                                                        "Type": "application", "SecurityGroups": [ALB_SG]}]})
rw("wafv2/list-web-acls", {"WebACLs": []})

# database, keys, secrets
rw("rds/describe-db-instances", {"DBInstances": [{
    "DBInstanceIdentifier": "kumo-shop-db", "DBInstanceClass": "db.r6g.large", "Engine": "mysql", "EngineVersion": "8.0.35",
    "DBInstanceStatus": "available", "Endpoint": {"Address": "kumo-shop-db.c7x9k1m3q5s7.ap-northeast-1.rds.amazonaws.com", "Port": 3306},
    "BackupRetentionPeriod": 7, "VpcSecurityGroups": [{"VpcSecurityGroupId": DB_SG, "Status": "active"}],
    "DBSubnetGroup": {"DBSubnetGroupName": "kumo-shop-private", "VpcId": VPC}, "PubliclyAccessible": False, "StorageEncrypted": True,
    "KmsKeyId": DATA_KEY, "DbiResourceId": "db-KUMOSHOP7X9K1M3Q5S7U9W1Y3A", "LatestRestorableTime": "2025-03-12T05:55:00+00:00", "DBInstanceArn": f"arn:aws:rds:{T}:{WK}:db:kumo-shop-db",
    "DeletionProtection": False, "MonitoringInterval": 0, "AutoMinorVersionUpgrade": True, "MultiAZ": True,
    "EnabledCloudwatchLogsExports": ["error"], "TagList": [{"Key": "Environment", "Value": "Production"}]}]})
SNAPS = ["kumo-shop-db-weekly-2025-03-02", "kumo-shop-db-weekly-2025-03-09"]
rw("rds/describe-db-snapshots", {"DBSnapshots": [
    {"DBSnapshotIdentifier": s, "DBSnapshotArn": f"arn:aws:rds:{T}:{WK}:snapshot:{s}", "DBInstanceIdentifier": "kumo-shop-db",
     "SnapshotType": "manual", "Encrypted": True, "KmsKeyId": DATA_KEY, "Status": "available",
     "SnapshotCreateTime": s[-10:] + "T03:00:00.000Z"} for s in SNAPS]})
for s in SNAPS:
    rw("rds/describe-db-snapshot-attributes", {"DBSnapshotAttributesResult": {"DBSnapshotIdentifier": s, "DBSnapshotAttributes": [
        {"AttributeName": "restore", "AttributeValues": []}]}}, s)
KEYS = {"7d1e3f5a-9b2c-4d6e-8f0a-1b3c5d7e9f20": ("CUSTOMER", "kumo-shop-data: orders, backups, the database", True),
        "2b4d6f8a-0c1e-4a3b-9d5f-7a9c1e3b5d7f": ("AWS", "Default key that protects my Backup vaults when no other key is defined", True),
        "9e1c3a5b-7d9f-4b2d-8f0a-2c4e6a8b0d2f": ("CUSTOMER", "kumo-shop-logs (created for CloudWatch Logs, never used)", False),
        EBS_KEY_ID: ("AWS", "Default key that protects my EBS volumes when no other key is defined", True)}
rw("kms/list-keys", {"Keys": [{"KeyId": k, "KeyArn": f"arn:aws:kms:{T}:{WK}:key/{k}"} for k in KEYS]})
for k, (mgr, desc, rot) in KEYS.items():
    rw("kms/describe-key", {"KeyMetadata": {"AWSAccountId": WK, "KeyId": k, "Arn": f"arn:aws:kms:{T}:{WK}:key/{k}", "KeyManager": mgr,
                                            "KeyState": "Enabled", "Enabled": True, "KeySpec": "SYMMETRIC_DEFAULT", "KeyUsage": "ENCRYPT_DECRYPT",
                                            "Origin": "AWS_KMS", "Description": desc, "CreationDate": "2023-06-01T00:00:00+00:00"}}, k)
    rw("kms/get-key-rotation-status", {"KeyRotationEnabled": rot}, k)
    # the default key policy: the account's IAM policies decide (AWS managed keys: only through their service)
    kp = {"Version": "2012-10-17", "Id": "key-default-1", "Statement": [
        {"Sid": "Enable IAM User Permissions", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{WK}:root"}, "Action": "kms:*", "Resource": "*"}]}
    if mgr == "AWS":
        kp = {"Version": "2012-10-17", "Id": "auto-default-1", "Statement": [
            {"Sid": "Allow access through the service for all principals in the account", "Effect": "Allow", "Principal": {"AWS": "*"},
             "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:CreateGrant", "kms:DescribeKey"], "Resource": "*",
             "Condition": {"StringEquals": {"kms:CallerAccount": WK}}},
            {"Sid": "Allow direct access to key metadata to the account", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{WK}:root"},
             "Action": ["kms:Describe*", "kms:Get*", "kms:List*"], "Resource": "*"}]}
    rw("kms/get-key-policy", {"Policy": json.dumps(kp), "PolicyName": "default"}, k)
rw("secretsmanager/list-secrets", {"SecretList": [
    {"ARN": f"arn:aws:secretsmanager:{T}:{WK}:secret:prod/kumo-shop/db-Xr4k9Q", "Name": "prod/kumo-shop/db", "RotationEnabled": False,
     "LastChangedDate": "2024-02-14T00:00:00+00:00", "LastAccessedDate": "2025-03-12T00:00:00+00:00", "CreatedDate": "2023-06-05T00:00:00+00:00"}]})

# backups: the strategy's plan, into kumo-vault, whose Vault Lock is in governance mode
PLAN_ID = "3c9e1a7f-5b2d-4e8a-b6f0-2d4c6e8a0b13"
PLAN = {"BackupPlanName": "DailyBackupPlan", "Rules": [{"RuleName": "DailyBackups", "TargetBackupVault": "kumo-vault",
                                                         "ScheduleExpression": "cron(0 5 ? * * *)", "StartWindowMinutes": 60, "CompletionWindowMinutes": 180,
                                                         "Lifecycle": {"MoveToColdStorageAfterDays": 30, "DeleteAfterDays": 365},
                                                         "RecoveryPointTags": {"Environment": "Production"}}]}
rw("backup/list-backup-plans", {"BackupPlansList": [{"BackupPlanArn": f"arn:aws:backup:{T}:{WK}:backup-plan:{PLAN_ID}", "BackupPlanId": PLAN_ID,
                                                     "BackupPlanName": "DailyBackupPlan", "VersionId": "ZjY1NmFh", "CreationDate": "2023-06-10T00:00:00+00:00"}]})
rw("backup/get-backup-plan", {"BackupPlan": PLAN, "BackupPlanId": PLAN_ID, "BackupPlanArn": f"arn:aws:backup:{T}:{WK}:backup-plan:{PLAN_ID}",
                              "VersionId": "ZjY1NmFh"}, PLAN_ID)
SEL = "8a0c2e4f-6b8d-4f1a-3c5e-7a9b1d3f5e7a"
rw("backup/list-backup-selections", {"BackupSelectionsList": [{"SelectionId": SEL, "SelectionName": "production", "BackupPlanId": PLAN_ID,
                                                               "IamRoleArn": f"arn:aws:iam::{WK}:role/service-role/AWSBackupDefaultServiceRole"}]}, PLAN_ID)
rw("backup/get-backup-selection", {"BackupSelection": {"SelectionName": "production", "IamRoleArn": f"arn:aws:iam::{WK}:role/service-role/AWSBackupDefaultServiceRole",
                                                       "Resources": [], "ListOfTags": [{"ConditionType": "STRINGEQUALS", "ConditionKey": "Environment",
                                                                                        "ConditionValue": "Production"}]},
                                   "SelectionId": SEL, "BackupPlanId": PLAN_ID}, SEL)
BACKUP_KEY = f"arn:aws:kms:{T}:{WK}:key/2b4d6f8a-0c1e-4a3b-9d5f-7a9c1e3b5d7f"
rw("backup/list-backup-vaults", {"BackupVaultList": [
    {"BackupVaultName": "kumo-vault", "BackupVaultArn": f"arn:aws:backup:{T}:{WK}:backup-vault:kumo-vault", "EncryptionKeyArn": BACKUP_KEY,
     "NumberOfRecoveryPoints": 11, "Locked": True, "MinRetentionDays": 7, "MaxRetentionDays": 400, "CreationDate": "2023-06-10T00:00:00+00:00"},
    {"BackupVaultName": "Default", "BackupVaultArn": f"arn:aws:backup:{T}:{WK}:backup-vault:Default", "EncryptionKeyArn": BACKUP_KEY,
     "NumberOfRecoveryPoints": 0, "Locked": False}]})
rw("backup/list-protected-resources", {"Results": [
    {"ResourceArn": f"arn:aws:rds:{T}:{WK}:db:kumo-shop-db", "ResourceType": "RDS", "LastBackupTime": "2025-03-12T05:41:00+00:00"}] + [
    {"ResourceArn": f"arn:aws:ec2:{T}:{WK}:instance/{i}", "ResourceType": "EC2", "LastBackupTime": "2025-03-12T05:52:00+00:00"} for i, _ in HOSTS]})
rw("backup/list-recovery-points-by-backup-vault", {"RecoveryPoints": [
    {"RecoveryPointArn": f"arn:aws:rds:{T}:{WK}:snapshot:awsbackup:job-{d:02d}a7c9e1b3d5f", "BackupVaultName": "kumo-vault", "ResourceType": "RDS",
     "ResourceArn": f"arn:aws:rds:{T}:{WK}:db:kumo-shop-db", "IsEncrypted": True, "EncryptionKeyArn": DATA_KEY, "Status": "COMPLETED",
     "CreationDate": f"2025-03-{d:02d}T05:40:00+00:00"} for d in range(1, 12)]}, "kumo-vault")
rw("backup/list-recovery-points-by-backup-vault", {"RecoveryPoints": []}, "Default")
for v in ("kumo-vault", "Default"):
    rw("backup/get-backup-vault-access-policy", ERR("ResourceNotFoundException", f"Backup vault {v} has no access policy"), v)

# the shopping carts: a DynamoDB table nobody backs up (no point-in-time recovery, no backup, no plan selects it)
CARTS = f"arn:aws:dynamodb:{T}:{WK}:table/kumo-shop-carts"
rw("dynamodb/list-tables", {"TableNames": ["kumo-shop-carts"]})
rw("dynamodb/describe-table", {"Table": {"TableName": "kumo-shop-carts", "TableArn": CARTS, "TableId": "4b6d8f0a-2c4e-4a6b-8d0f-2a4c6e8b0d1f",
                                         "TableStatus": "ACTIVE", "CreationDateTime": "2023-07-01T00:00:00+00:00", "ItemCount": 18342,
                                         "KeySchema": [{"AttributeName": "cart_id", "KeyType": "HASH"}],
                                         "BillingModeSummary": {"BillingMode": "PAY_PER_REQUEST"}, "DeletionProtectionEnabled": False}},
   "kumo-shop-carts")
rw("dynamodb/list-tags-of-resource", {"Tags": [{"Key": "Team", "Value": "shop"}]}, "kumo-shop-carts")
rw("dynamodb/describe-continuous-backups", {"ContinuousBackupsDescription": {"ContinuousBackupsStatus": "ENABLED",
                                                                            "PointInTimeRecoveryDescription": {"PointInTimeRecoveryStatus": "DISABLED"}}},
   "kumo-shop-carts")
rw("dynamodb/list-backups", {"BackupSummaries": []})

# the trail: multi-region, management and S3 data events, into the account's own bucket
TRAIL_ARN = f"arn:aws:cloudtrail:{T}:{WK}:trail/kumo-org-trail"
TRAIL = {"Name": "kumo-org-trail", "S3BucketName": "kumo-cloudtrail-logs", "IncludeGlobalServiceEvents": True, "IsMultiRegionTrail": True,
         "HomeRegion": T, "TrailARN": TRAIL_ARN, "LogFileValidationEnabled": True,
         "CloudWatchLogsLogGroupArn": f"arn:aws:logs:{T}:{WK}:log-group:kumo-cloudtrail:*",
         "CloudWatchLogsRoleArn": f"arn:aws:iam::{WK}:role/kumo-cloudtrail-to-logs", "HasCustomEventSelectors": True,
         "HasInsightSelectors": False, "IsOrganizationTrail": True}
for region in (T, "us-east-1"):
    rw("cloudtrail/describe-trails", {"trailList": [TRAIL]}, region=region)
rw("cloudtrail/get-trail-status", {"IsLogging": True, "LatestDeliveryTime": "2025-03-12T05:58:12+00:00",
                                   "LatestCloudWatchLogsDeliveryTime": "2025-03-12T05:58:40+00:00", "StartLoggingTime": "2023-06-01T00:00:00+00:00"}, TRAIL_ARN)
rw("cloudtrail/get-event-selectors", {"TrailARN": TRAIL_ARN, "EventSelectors": [
    {"ReadWriteType": "All", "IncludeManagementEvents": True, "ExcludeManagementEventSources": [],
     "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::kumo-shop-orders/", "arn:aws:s3:::kumo-shop-backups/"]}]}]}, TRAIL_ARN)
rw("logs/describe-subscription-filters", {"subscriptionFilters": []}, "kumo-cloudtrail")

# logs and alarms
rw("logs/describe-log-groups", {"logGroups": [
    {"logGroupName": "kumo-cloudtrail", "arn": f"arn:aws:logs:{T}:{WK}:log-group:kumo-cloudtrail:*", "retentionInDays": 400, "storedBytes": 81234567},
    {"logGroupName": "/ecs/kumo-shop-web", "arn": f"arn:aws:logs:{T}:{WK}:log-group:/ecs/kumo-shop-web:*", "retentionInDays": 90, "storedBytes": 23456789},
    {"logGroupName": "/aws/rds/instance/kumo-shop-db/error", "arn": f"arn:aws:logs:{T}:{WK}:log-group:/aws/rds/instance/kumo-shop-db/error:*",
     "storedBytes": 345678}]})


def mf(name, pattern, metric):
    return {"filterName": name, "logGroupName": "kumo-cloudtrail", "filterPattern": pattern,
            "metricTransformations": [{"metricName": metric, "metricNamespace": "KumoShop/Security", "metricValue": "1"}]}


rw("logs/describe-metric-filters", {"metricFilters": [
    mf("root-login", '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }', "RootUsage"),
    mf("cloudtrail-changes", "{ ($.eventName = CreateTrail) || ($.eventName = UpdateTrail) || ($.eventName = DeleteTrail) || "
                             "($.eventName = StartLogging) || ($.eventName = StopLogging) }", "CloudTrailChanges")]})
SNS = f"arn:aws:sns:{T}:{WK}:kumo-shop-security"


def alarm(name, metric, ns="KumoShop/Security"):
    return {"AlarmName": name, "AlarmArn": f"arn:aws:cloudwatch:{T}:{WK}:alarm:{name}", "MetricName": metric, "Namespace": ns,
            "Statistic": "Sum", "Period": 300, "EvaluationPeriods": 1, "Threshold": 1.0, "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "ActionsEnabled": True, "AlarmActions": [SNS], "StateValue": "OK"}


rw("cloudwatch/describe-alarms", {"MetricAlarms": [alarm("kumo-root-login", "RootUsage"), alarm("kumo-cloudtrail-changes", "CloudTrailChanges"),
                                                   alarm("kumo-rds-cpu-high", "CPUUtilization", "AWS/RDS")], "CompositeAlarms": []})
# The operator's Terraform installed the strategy's rule with the source corrected, on 2025-03-11,
# in the shop's region: IAM's events are delivered to EventBridge in us-east-1 only.
FIXED = {"source": ["aws.iam"], "detail-type": ["AWS API Call via CloudTrail"],
         "detail": {"eventSource": ["iam.amazonaws.com"], "eventName": ["DeleteUserPolicy", "PutUserPolicy"]}}
rw("events/list-rules", {"Rules": [{"Name": "iam-policy-changes", "Arn": f"arn:aws:events:{T}:{WK}:rule/iam-policy-changes",
                                    "EventPattern": json.dumps(FIXED, separators=(",", ":")), "State": "ENABLED", "EventBusName": "default"}]})
rw("events/list-targets-by-rule", {"Targets": [{"Id": "mail-the-team", "Arn": SNS}]}, "iam-policy-changes")

# application: ECR, ECS, certificates, stacks
REPOS = {"kumo-shop-web": ["2025-03-12.1", "2025-03-11.2"], "kumo-shop-nginx": ["1.25.4"]}
rw("ecr/describe-repositories", {"repositories": [
    {"repositoryName": n, "repositoryArn": f"arn:aws:ecr:{T}:{WK}:repository/{n}", "registryId": WK,
     "repositoryUri": f"{WK}.dkr.ecr.{T}.amazonaws.com/{n}", "imageTagMutability": "MUTABLE",
     "imageScanningConfiguration": {"scanOnPush": True}, "encryptionConfiguration": {"encryptionType": "AES256"}} for n in REPOS]})
rw("ecr/get-registry-scanning-configuration", {"registryId": WK, "scanningConfiguration": {"scanType": "BASIC", "rules": [
    {"scanFrequency": "SCAN_ON_PUSH", "repositoryFilters": [{"filter": "*", "filterType": "WILDCARD"}]}]}})
for n, tags in REPOS.items():
    rw("ecr/get-repository-policy", ERR("RepositoryPolicyNotFoundException", "Repository policy does not exist"), n)
    counts = {"HIGH": 3, "MEDIUM": 9} if n == "kumo-shop-web" else {"CRITICAL": 1, "HIGH": 4}
    rw("ecr/describe-images", {"imageDetails": [
        {"registryId": WK, "repositoryName": n, "imageDigest": "sha256:" + hashlib.sha256((n + t).encode()).hexdigest(), "imageTags": [t],
         "imagePushedAt": f"2025-03-{12 - i:02d}T02:00:00+00:00", "imageScanStatus": {"status": "COMPLETE"},
         "imageScanFindingsSummary": {"findingSeverityCounts": counts}} for i, t in enumerate(tags)]}, n)
rw("ecs/list-task-definition-families", {"families": ["kumo-shop-web"]})
rw("ecs/describe-task-definition", {"taskDefinition": {
    "taskDefinitionArn": f"arn:aws:ecs:{T}:{WK}:task-definition/kumo-shop-web:57", "family": "kumo-shop-web", "revision": 57,
    "taskRoleArn": f"arn:aws:iam::{WK}:role/kumo-shop-app-task", "executionRoleArn": f"arn:aws:iam::{WK}:role/kumo-shop-task-execution",
    "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "containerDefinitions": [
        {"name": "nginx", "image": f"{WK}.dkr.ecr.{T}.amazonaws.com/kumo-shop-nginx:1.25.4", "essential": True, "portMappings": [{"containerPort": 8080}]},
        {"name": "app", "image": f"{WK}.dkr.ecr.{T}.amazonaws.com/kumo-shop-web:2025-03-12.1", "essential": True,
         "secrets": [{"name": "DB_PASSWORD", "valueFrom": f"arn:aws:secretsmanager:{T}:{WK}:secret:prod/kumo-shop/db-Xr4k9Q"}]}]}}, "kumo-shop-web")
rw("inspector2/list-findings", {"findings": [
    {"title": "CVE-2024-24990 - nginx", "severity": "CRITICAL", "status": "ACTIVE", "type": "PACKAGE_VULNERABILITY",
     "resources": [{"id": f"arn:aws:ecr:{T}:{WK}:repository/kumo-shop-nginx/sha256:1", "type": "AWS_ECR_CONTAINER_IMAGE"}]}]})
CERT = f"arn:aws:acm:{T}:{WK}:certificate/6b8d0f2a-4c6e-4a8b-0d2f-4a6c8e0b2d4f"
rw("acm/list-certificates", {"CertificateSummaryList": [{"CertificateArn": CERT, "DomainName": "shop.kumo-shop.example"}]})
rw("acm/describe-certificate", {"Certificate": {"CertificateArn": CERT, "DomainName": "shop.kumo-shop.example", "NotAfter": "2025-09-30T23:59:59+00:00",
                                                "InUseBy": [ALB], "KeyAlgorithm": "RSA-2048", "Status": "ISSUED", "Type": "AMAZON_ISSUED",
                                                "RenewalEligibility": "ELIGIBLE"}}, CERT)
rw("cloudformation/describe-stacks", {"Stacks": [{"StackName": "kumo-shop-network", "StackId": f"arn:aws:cloudformation:{T}:{WK}:stack/kumo-shop-network/1c3e5a7b",
                                                  "StackStatus": "UPDATE_COMPLETE", "DriftInformation": {"StackDriftStatus": "IN_SYNC"}}]})
rw("codebuild/list-projects", {"projects": []})
rw("lambda/list-code-signing-configs", {"CodeSigningConfigs": []})
rw("signer/list-signing-profiles", {"profiles": []})
rw("wafv2/list-rule-groups", {"RuleGroups": []})

# IAM Identity Center, in the management account
SSO = "arn:aws:sso:::instance/ssoins-7758a1c3e5b9d2f4"
w(MG, "us-east-1/sso-admin/list-instances", {"Instances": [{"InstanceArn": SSO, "IdentityStoreId": "d-9067c3a5e1", "OwnerAccountId": MG, "Status": "ACTIVE"}]})
PS = {f"{SSO}/ps-8c1f2a7d3b9e4051".replace("instance/", "permissionSet/"): ("AdministratorAccess", "PT12H"),
      f"{SSO}/ps-2d4f6a8c0e1b3d5f".replace("instance/", "permissionSet/"): ("ReadOnly", "PT4H")}
w(MG, "us-east-1/sso-admin/list-permission-sets", {"PermissionSets": list(PS)}, SSO)
for arn, (name, dur) in PS.items():
    w(MG, "us-east-1/sso-admin/describe-permission-set", {"PermissionSet": {"Name": name, "PermissionSetArn": arn, "SessionDuration": dur,
                                                                            "CreatedDate": "2023-06-01T00:00:00+00:00"}}, arn)

# ---- manifests ---------------------------------------------------------------------------------------
for a in (WK, MG, LA):
    w(a, "manifest", {"tool": {"name": "kumomori", "version": "0.1.0"}, "started_at": TAKEN, "finished_at": "2025-03-12T06:02:47Z",
                      "caller": {"Account": a, "Arn": f"arn:aws:sts::{a}:assumed-role/kumomori-audit/auditor"},
                      "cli_version": "aws-cli/2.15.30 Python/3.11.8 Linux/6.1.0 exe/x86_64.debian.12",
                      "note": "the example organisation of examples/README.md, written by examples/gen_snapshot.py in the layout kumomori collect writes",
                      "regions": [T, "us-east-1"]})
