#!/usr/bin/env python3
"""Expected matches of the 57 SigmaHQ CloudTrail rules on the staged corpora.

Each predicate below was written by reading the rule's YAML (quoted above it) and applying the
semantics docs/sigma.md states: values compare case-insensitively, `contains` is a substring
test, `null` means absent or null, a number or boolean in a record is compared as its JSON text,
an object is searched through its compact JSON text and every scalar inside it, `re` is a
case-sensitive search. It does not run kumomori, does not parse Sigma, and is not used by the
tests: it wrote corpus-expected.txt once, which tests/test_sigma.c compares kumomori against.

Record identifiers: panther:<line of panther_cloudtrail_tests.jsonl>, stratus:<file>:<index>,
invictus:<file>:<index>, otrf:<line>.

Usage: python3 tests/data/sigma/expected_by_reading.py ../shared/corpora/cloudtrail > tests/data/sigma/corpus-expected.txt
"""
import json
import os
import re
import sys


def records(root):
    with open(os.path.join(root, 'panther-analysis/panther_cloudtrail_tests.jsonl')) as f:
        for i, line in enumerate(f, 1):
            t = json.loads(line)
            if isinstance(t.get('log'), dict):
                yield 'panther:%d' % i, t['log']
    d = os.path.join(root, 'stratus-red-team/detonation-logs')
    for name in sorted(os.listdir(d)):
        with open(os.path.join(d, name)) as f:
            for i, r in enumerate(json.load(f)):
                yield 'stratus:%s:%d' % (name, i), r
    d = os.path.join(root, 'invictus-sigma-aws/CloudTrail')
    for name in sorted(os.listdir(d)):
        with open(os.path.join(d, name)) as f:
            for i, r in enumerate(json.load(f)['Records']):
                yield 'invictus:%s:%d' % (name, i), r
    with open(os.path.join(root, 'otrf-security-datasets/ec2_proxy_s3_exfiltration_2020-09-14011940.jsonl')) as f:
        for i, line in enumerate(f, 1):
            yield 'otrf:%d' % i, json.loads(line)


def reach(v, parts):
    """Values a dotted path reaches (through dicts and every list element)."""
    if not parts:
        if isinstance(v, list):
            out = []
            for x in v:
                out += reach(x, [])
            return out
        return [v]
    if isinstance(v, list):
        out = []
        for x in v:
            out += reach(x, parts)
        return out
    if isinstance(v, dict) and parts[0] in v:
        return reach(v[parts[0]], parts[1:])
    return []


def text(v):
    if isinstance(v, bool):
        return 'true' if v else 'false'
    if isinstance(v, (int, float)):
        return json.dumps(v)
    return v


def scalars(v):
    if isinstance(v, dict):
        out = []
        for x in v.values():
            out += scalars(x)
        return out
    if isinstance(v, list):
        out = []
        for x in v:
            out += scalars(x)
        return out
    return [v]


def strings(r, path):
    """The strings a value of the field is tested as (None for null)."""
    out = []
    for v in reach(r, path.split('.')):
        if isinstance(v, dict):
            out.append(json.dumps(v, separators=(',', ':'), ensure_ascii=False))
            out += [text(x) for x in scalars(v) if x is not None]
        elif v is not None:
            out.append(text(v))
    return out


def eq(r, path, *vals):
    return any(s.lower() == v.lower() for s in strings(r, path) for v in vals)


def has(r, path, sub):
    return any(sub.lower() in s.lower() for s in strings(r, path))


def starts(r, path, pre):
    return any(s.lower().startswith(pre.lower()) for s in strings(r, path))


def nonnull(r, path):
    """`field|contains: '*'`: some non-null value."""
    return len(strings(r, path)) > 0


def null(r, path):
    vs = reach(r, path.split('.'))
    return len(vs) == 0 or any(v is None for v in vs)


def ok_status(r):
    return eq(r, 'errorCode', 'Success') or null(r, 'errorCode')


def src(r, s):
    return eq(r, 'eventSource', s)


def name(r, *n):
    return eq(r, 'eventName', *n)


P = {}

# selection: eventName DeleteGuardrail, eventSource bedrock.amazonaws.com
P['aws_cloudtrail_bedrock_guardrail_deleted.yml'] = lambda r: name(r, 'DeleteGuardrail') and src(r, 'bedrock.amazonaws.com')
P['aws_cloudtrail_bedrock_guardrail_updated.yml'] = lambda r: name(r, 'UpdateGuardrail') and src(r, 'bedrock.amazonaws.com')
# selection_event_name and 1 of selection_status_* (errorCode Success | null)
P['aws_cloudtrail_bucket_deleted.yml'] = lambda r: name(r, 'DeleteBucket') and ok_status(r)
P['aws_cloudtrail_console_login_failed_authentication.yml'] = lambda r: name(r, 'ConsoleLogin') and eq(r, 'errorMessage', 'Failed authentication')
P['aws_cloudtrail_console_login_success_without_mfa.yml'] = lambda r: (
    name(r, 'ConsoleLogin') and eq(r, 'additionalEventData.MFAUsed', 'NO') and eq(r, 'responseElements.ConsoleLogin', 'Success'))
P['aws_cloudtrail_disable_logging.yml'] = lambda r: src(r, 'cloudtrail.amazonaws.com') and name(r, 'StopLogging', 'UpdateTrail', 'DeleteTrail')
# source and 1 of (DeleteDetector | UpdateDetector with requestParameters.enable 'false') and 1 of status
P['aws_cloudtrail_guardduty_detector_deleted_or_updated.yml'] = lambda r: (
    src(r, 'guardduty.amazonaws.com')
    and (name(r, 'DeleteDetector') or (name(r, 'UpdateDetector') and eq(r, 'requestParameters.enable', 'false')))
    and ok_status(r))
# userIdentity.arn|re '.+:assumed-role/aws:.+' and not (ssm | RegisterManagedInstance | AWS Internal)
P['aws_cloudtrail_imds_malicious_usage.yml'] = lambda r: (
    any(re.search(r'.+:assumed-role/aws:.+', s) for s in strings(r, 'userIdentity.arn'))
    and not (src(r, 'ssm.amazonaws.com') or name(r, 'RegisterManagedInstance') or eq(r, 'sourceIPAddress', 'AWS Internal')))
P['aws_cloudtrail_new_acl_entries.yml'] = lambda r: src(r, 'ec2.amazonaws.com') and name(r, 'CreateNetworkAclEntry')
P['aws_cloudtrail_new_route_added.yml'] = lambda r: src(r, 'ec2.amazonaws.com') and name(r, 'CreateRoute')
P['aws_cloudtrail_pua_trufflehog.yml'] = lambda r: eq(r, 'userAgent', 'TruffleHog')
P['aws_cloudtrail_region_enabled.yml'] = lambda r: name(r, 'EnableRegion') and src(r, 'account.amazonaws.com')
P['aws_cloudtrail_security_group_change_ingress_egress.yml'] = lambda r: src(r, 'ec2.amazonaws.com') and name(
    r, 'AuthorizeSecurityGroupEgress', 'AuthorizeSecurityGroupIngress', 'RevokeSecurityGroupEgress', 'RevokeSecurityGroupIngress')
P['aws_cloudtrail_security_group_change_loadbalancer.yml'] = lambda r: src(r, 'elasticloadbalancing.amazonaws.com') and name(
    r, 'ApplySecurityGroupsToLoadBalancer', 'SetSecurityGroups')
P['aws_cloudtrail_security_group_change_rds.yml'] = lambda r: src(r, 'rds.amazonaws.com') and name(
    r, 'AuthorizeDBSecurityGroupIngress', 'CreateDBSecurityGroup', 'DeleteDBSecurityGroup', 'RevokeDBSecurityGroupIngress')
P['aws_cloudtrail_ssm_malicious_usage.yml'] = lambda r: name(r, 'SendCommand') and src(r, 'ssm.amazonaws.com') and ok_status(r)
P['aws_cloudtrail_vpc_flow_logs_deleted.yml'] = lambda r: name(r, 'DeleteFlowLogs') and ok_status(r)
P['aws_config_disable_recording.yml'] = lambda r: src(r, 'config.amazonaws.com') and name(r, 'DeleteDeliveryChannel', 'StopConfigurationRecorder')
P['aws_console_getsignintoken.yml'] = lambda r: (
    src(r, 'signin.amazonaws.com') and name(r, 'GetSigninToken') and not has(r, 'userAgent', 'Jersey/${project.version}'))
P['aws_delete_identity.yml'] = lambda r: src(r, 'ses.amazonaws.com') and name(r, 'DeleteIdentity')
# `status` is not a CloudTrail field: the rule cannot match a CloudTrail record
P['aws_delete_saml_provider.yml'] = lambda r: src(r, 'iam.amazonaws.com') and name(r, 'DeleteSAMLProvider') and eq(r, 'status', 'success')
P['aws_disable_bucket_versioning.yml'] = lambda r: (
    src(r, 's3.amazonaws.com') and name(r, 'PutBucketVersioning') and has(r, 'requestParameters', 'Suspended'))
P['aws_ec2_disable_encryption.yml'] = lambda r: src(r, 'ec2.amazonaws.com') and name(r, 'DisableEbsEncryptionByDefault')
P['aws_ec2_import_key_pair_activity.yml'] = lambda r: src(r, 'ec2.amazonaws.com') and name(r, 'ImportKeyPair')
P['aws_ec2_startup_script_change.yml'] = lambda r: (
    src(r, 'ec2.amazonaws.com') and eq(r, 'requestParameters.attribute', 'userData') and name(r, 'ModifyInstanceAttribute'))
# selection and not 1 of filter*: errorMessage|contains '*', errorCode|contains '*', responseElements|contains 'Failure'
P['aws_ec2_vm_export_failure.yml'] = lambda r: (
    name(r, 'CreateInstanceExportTask') and src(r, 'ec2.amazonaws.com')
    and not (nonnull(r, 'errorMessage') or nonnull(r, 'errorCode') or has(r, 'responseElements', 'Failure')))
P['aws_ecs_task_definition_cred_endpoint_query.yml'] = lambda r: (
    src(r, 'ecs.amazonaws.com') and name(r, 'DescribeTaskDefinition', 'RegisterTaskDefinition', 'RunTask')
    and has(r, 'requestParameters.containerDefinitions.command', '$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI'))
P['aws_efs_fileshare_modified_or_deleted.yml'] = lambda r: src(r, 'elasticfilesystem.amazonaws.com') and name(r, 'DeleteFileSystem')
P['aws_efs_fileshare_mount_modified_or_deleted.yml'] = lambda r: src(r, 'elasticfilesystem.amazonaws.com') and name(r, 'DeleteMountTarget')
P['aws_eks_cluster_created_or_deleted.yml'] = lambda r: src(r, 'eks.amazonaws.com') and name(r, 'CreateCluster', 'DeleteCluster')
P['aws_elasticache_security_group_created.yml'] = lambda r: src(r, 'elasticache.amazonaws.com') and name(r, 'CreateCacheSecurityGroup')
P['aws_elasticache_security_group_modified_or_deleted.yml'] = lambda r: src(r, 'elasticache.amazonaws.com') and name(
    r, 'DeleteCacheSecurityGroup', 'AuthorizeCacheSecurityGroupIngress', 'RevokeCacheSecurityGroupIngress',
    'AuthorizeCacheSecurityGroupEgress', 'RevokeCacheSecurityGroupEgress')
P['aws_enum_buckets.yml'] = lambda r: src(r, 's3.amazonaws.com') and name(r, 'ListBuckets') and not eq(r, 'userIdentity.type', 'AssumedRole')
P['aws_guardduty_disruption.yml'] = lambda r: src(r, 'guardduty.amazonaws.com') and name(r, 'CreateIPSet')
# the filter has no |fieldref: it looks for the literal text 'responseElements.accessKey.userName'
P['aws_iam_backdoor_users_keys.yml'] = lambda r: (
    src(r, 'iam.amazonaws.com') and name(r, 'CreateAccessKey') and not has(r, 'userIdentity.arn', 'responseElements.accessKey.userName'))
P['aws_iam_s3browser_loginprofile_creation.yml'] = lambda r: (
    src(r, 'iam.amazonaws.com') and name(r, 'GetLoginProfile', 'CreateLoginProfile') and has(r, 'userAgent', 'S3 Browser'))
P['aws_iam_s3browser_templated_s3_bucket_policy_creation.yml'] = lambda r: (
    src(r, 'iam.amazonaws.com') and name(r, 'PutUserPolicy') and has(r, 'userAgent', 'S3 Browser')
    and has(r, 'requestParameters', '"arn:aws:s3:::<YOUR-BUCKET-NAME>/*"') and has(r, 'requestParameters', '"s3:GetObject"')
    and has(r, 'requestParameters', '"Allow"'))
P['aws_iam_s3browser_user_or_accesskey_creation.yml'] = lambda r: (
    src(r, 'iam.amazonaws.com') and name(r, 'CreateUser', 'CreateAccessKey') and has(r, 'userAgent', 'S3 Browser'))
P['aws_kms_import_key_material.yml'] = lambda r: src(r, 'kms.amazonaws.com') and name(r, 'ImportKeyMaterial', 'DeleteImportedKeyMaterial')
P['aws_lambda_function_url.yml'] = lambda r: src(r, 'lambda.amazonaws.com') and name(r, 'CreateFunctionUrlConfig')
P['aws_new_lambda_layer_attached.yml'] = lambda r: (
    src(r, 'lambda.amazonaws.com') and starts(r, 'eventName', 'UpdateFunctionConfiguration') and nonnull(r, 'requestParameters.layers'))
P['aws_passed_role_to_glue_development_endpoint.yml'] = lambda r: src(r, 'glue.amazonaws.com') and name(
    r, 'CreateDevEndpoint', 'DeleteDevEndpoint', 'UpdateDevEndpoint')
P['aws_rds_change_master_password.yml'] = lambda r: (
    src(r, 'rds.amazonaws.com') and nonnull(r, 'responseElements.pendingModifiedValues.masterUserPassword') and name(r, 'ModifyDBInstance'))
P['aws_rds_dbcluster_actions.yml'] = lambda r: src(r, 'rds.amazonaws.com') and name(r, 'ModifyDBCluster', 'DeleteDBCluster')
P['aws_rds_public_db_restore.yml'] = lambda r: (
    src(r, 'rds.amazonaws.com') and eq(r, 'responseElements.publiclyAccessible', 'true') and name(r, 'RestoreDBInstanceFromDBSnapshot'))
P['aws_root_account_usage.yml'] = lambda r: eq(r, 'userIdentity.type', 'Root') and not eq(r, 'eventType', 'AwsServiceEvent')
P['aws_route_53_domain_transferred_lock_disabled.yml'] = lambda r: src(r, 'route53.amazonaws.com') and name(r, 'DisableDomainTransferLock')
P['aws_route_53_domain_transferred_to_another_account.yml'] = lambda r: src(r, 'route53.amazonaws.com') and name(r, 'TransferDomainToAnotherAwsAccount')
P['aws_s3_data_management_tampering.yml'] = lambda r: src(r, 's3.amazonaws.com') and name(
    r, 'PutBucketLogging', 'PutBucketWebsite', 'PutEncryptionConfiguration', 'PutLifecycleConfiguration',
    'PutReplicationConfiguration', 'ReplicateObject', 'RestoreObject')
P['aws_securityhub_finding_evasion.yml'] = lambda r: src(r, 'securityhub.amazonaws.com') and name(
    r, 'BatchUpdateFindings', 'DeleteInsight', 'UpdateFindings', 'UpdateInsight')
P['aws_snapshot_backup_exfiltration.yml'] = lambda r: src(r, 'ec2.amazonaws.com') and name(r, 'ModifySnapshotAttribute')
P['aws_sso_idp_change.yml'] = lambda r: (eq(r, 'eventSource', 'sso-directory.amazonaws.com', 'sso.amazonaws.com') and name(
    r, 'AssociateDirectory', 'DisableExternalIdPConfigurationForDirectory', 'DisassociateDirectory',
    'EnableExternalIdPConfigurationForDirectory'))
P['aws_sts_assumerole_misuse.yml'] = lambda r: (
    eq(r, 'userIdentity.type', 'AssumedRole') and eq(r, 'userIdentity.sessionContext.sessionIssuer.type', 'Role'))
P['aws_sts_getcalleridentity_trufflehog.yml'] = lambda r: (
    src(r, 'sts.amazonaws.com') and name(r, 'GetCallerIdentity') and has(r, 'userAgent', 'TruffleHog'))
P['aws_sts_getsessiontoken_misuse.yml'] = lambda r: (
    src(r, 'sts.amazonaws.com') and name(r, 'GetSessionToken') and eq(r, 'userIdentity.type', 'IAMUser'))
P['aws_susp_saml_activity.yml'] = lambda r: (
    (src(r, 'sts.amazonaws.com') and name(r, 'AssumeRoleWithSAML')) or (src(r, 'iam.amazonaws.com') and name(r, 'UpdateSAMLProvider')))
# selection and not filter: userIdentity.arn|fieldref requestParameters.userName (equal, case-insensitive)
P['aws_update_login_profile.yml'] = lambda r: (
    src(r, 'iam.amazonaws.com') and name(r, 'UpdateLoginProfile')
    and not any(a.lower() == u.lower() for a in strings(r, 'userIdentity.arn') for u in strings(r, 'requestParameters.userName')))


def main():
    root = sys.argv[1]
    recs = list(records(root))
    print('# Expected matches of each SigmaHQ CloudTrail rule on the %d staged records' % len(recs))
    print('# (written by tests/data/sigma/expected_by_reading.py from a reading of each rule; see there).')
    print('# rule-file <TAB> count <TAB> record ids (comma-separated)')
    for f in sorted(P):
        hits = [rid for rid, r in recs if P[f](r)]
        print('%s\t%d\t%s' % (f, len(hits), ','.join(hits)))


main()
