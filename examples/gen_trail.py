#!/usr/bin/env python3
"""Builds the example account's CloudTrail trail (examples/trail/) from readable sources.

  scenario/actors.json      who acts in the account (identities, addresses, user agents)
  scenario/intrusion.jsonl  the intrusion, one API call (or one bulk step) per line, with notes
  this file                 the account's everyday activity (deploys, backups, the shop's tasks)

Output: examples/trail/AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/*.json.gz, one
{"Records": [...]} file per region and five minutes of activity, as CloudTrail delivers them.
The output is byte-for-byte reproducible (fixed seed, gzip mtime 0), so a test can check that
the committed trail is what this script makes.

usage: gen_trail.py [OUT_DIR]     (default: the trail/ folder next to this script)
"""
import datetime as dt
import gzip
import hashlib
import io
import json
import os
import random
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SCEN = os.path.join(HERE, "scenario")
ACTORS = json.load(open(os.path.join(SCEN, "actors.json")))
ACCT = ACTORS["account"]
REGION = "ap-northeast-1"
START = dt.datetime(2025, 3, 10, 0, 0, tzinfo=dt.timezone.utc)
END = dt.datetime(2025, 3, 13, 0, 0, tzinfo=dt.timezone.utc)
ATTACK = dt.datetime(2025, 3, 12, 15, 38, tzinfo=dt.timezone.utc)
rng = random.Random(20250312)

DATA_KEY = f"arn:aws:kms:{REGION}:{ACCT}:key/7d1e3f5a-9b2c-4d6e-8f0a-1b3c5d7e9f20"
ECR = f"{ACCT}.dkr.ecr.{REGION}.amazonaws.com"
GLOBAL = {"iam", "ce", "organizations", "cloudfront", "signin"}
records = []


def uid(*parts):
    h = hashlib.sha256("/".join(str(p) for p in parts).encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) % 4]}{h[17:20]}-{h[20:32]}"


def actor(name):
    a = ACTORS["actors"][name]
    ident = a["identity"]
    if isinstance(ident, str):  # reuses another actor's identity (same session, another tool)
        ident = ACTORS["actors"][ident]["identity"]
    return json.loads(json.dumps(ident)), a["ip"], a["ua"]


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def call(t, who, api, params=None, resp=None, error=None, read_only=False, region=None, etype="AwsApiCall",
         extra=None, resources=None, data=False):
    """Append one CloudTrail record. api is "service:Operation"."""
    svc, name = api.split(":")
    ident, ip, ua = actor(who)
    region = region or ("us-east-1" if svc in GLOBAL else REGION)
    src = f"{svc}.amazonaws.com"
    r = {"eventVersion": "1.10" if data else "1.09", "userIdentity": ident, "eventTime": iso(t), "eventSource": src,
         "eventName": name, "awsRegion": region, "sourceIPAddress": ip, "userAgent": ua}
    if error:
        r["errorCode"], r["errorMessage"] = error
    r["requestParameters"] = params
    r["responseElements"] = None if error else resp
    if extra:
        r.update(extra)
    r["requestID"] = uid("req", iso(t), who, api, len(records))
    r["eventID"] = uid("evt", iso(t), who, api, len(records))
    r["readOnly"] = read_only
    if resources:
        r["resources"] = resources
    r["eventType"] = etype
    r["managementEvent"] = not data
    r["recipientAccountId"] = ACCT
    if ident.get("type") == "AssumedRole" and ua.startswith("Mozilla") and etype == "AwsApiCall":
        r["sessionCredentialFromConsole"] = "true"
    r["eventCategory"] = "Data" if data else "Management"
    if etype == "AwsApiCall" and not ident.get("invokedBy") and ident.get("type") != "AWSService":
        host = f"{svc}.amazonaws.com" if svc in GLOBAL else f"{svc}.{region}.amazonaws.com"
        r["tlsDetails"] = {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256", "clientProvidedHostHeader": host}
    records.append(r)
    return r


# ---- S3 data events -------------------------------------------------------------------------
objects = {"kumo-shop-orders": [], "kumo-shop-backups": []}  # [key, versionId]


def s3_extra(sse="SSE_KMS", bytes_in=0, bytes_out=0):
    return {"additionalEventData": {"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256",
            "bytesTransferredIn": bytes_in, "SSEApplied": sse, "AuthenticationMethod": "AuthHeader",
            "x-amz-id-2": hashlib.sha256(str(len(records)).encode()).hexdigest()[:56], "bytesTransferredOut": bytes_out}}


def s3_res(bucket, key):
    return [{"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{bucket}/{key}"},
            {"accountId": ACCT, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"}]


def s3_params(bucket, key, **kw):
    p = {"bucketName": bucket, "Host": f"{bucket}.s3.{REGION}.amazonaws.com", "key": key}
    p.update(kw)
    return p


def version_id(bucket, key, t):
    return hashlib.sha256(f"{bucket}/{key}/{iso(t)}".encode()).hexdigest()[:32].replace("a", ".")


def put_object(t, who, bucket, key, size):
    vid = version_id(bucket, key, t)
    objects[bucket].append([key, vid])
    call(t, who, "s3:PutObject", s3_params(bucket, key),
         {"x-amz-server-side-encryption": "aws:kms", "x-amz-server-side-encryption-aws-kms-key-id": DATA_KEY,
          "x-amz-server-side-encryption-bucket-key-enabled": "true", "x-amz-version-id": vid},
         data=True, extra=s3_extra(bytes_in=size), resources=s3_res(bucket, key))


def get_object(t, who, bucket, key, size):
    call(t, who, "s3:GetObject", s3_params(bucket, key), None, read_only=True, data=True,
         extra=s3_extra(bytes_out=size), resources=s3_res(bucket, key))


# ---- everyday activity ------------------------------------------------------------------------
def at(day, h, m=0, s=0):
    return START + dt.timedelta(days=day, hours=h, minutes=m, seconds=s)


def jitter(t, spread=240):
    return t + dt.timedelta(seconds=rng.randint(0, spread))


def task_assume_role(t, n):
    session = hashlib.md5(f"task{n}".encode()).hexdigest()
    call(t, "ecs-tasks", "sts:AssumeRole",
         {"roleArn": f"arn:aws:iam::{ACCT}:role/kumo-shop-app-task", "roleSessionName": session},
         {"credentials": {"accessKeyId": f"ASIAVRUVQ5LT{session[:8].upper()}", "expiration": iso(t + dt.timedelta(hours=6))},
          "assumedRoleUser": {"assumedRoleId": f"AROAVRUVQ5LTAPPTASK2:{session}",
                              "arn": f"arn:aws:sts::{ACCT}:assumed-role/kumo-shop-app-task/{session}"}},
         resources=[{"accountId": ACCT, "type": "AWS::IAM::Role", "ARN": f"arn:aws:iam::{ACCT}:role/kumo-shop-app-task"}],
         extra={"sharedEventID": uid("shared", iso(t), n)})


def secret_read(t):
    call(t, "app-task", "secretsmanager:GetSecretValue", {"secretId": "prod/kumo-shop/db"}, None, read_only=True)
    ident = {"type": "AWSService", "invokedBy": "secretsmanager.amazonaws.com"}
    r = call(t, "ecs-tasks", "kms:Decrypt", {"encryptionAlgorithm": "SYMMETRIC_DEFAULT", "encryptionContext": {
        "SecretARN": f"arn:aws:secretsmanager:{REGION}:{ACCT}:secret:prod/kumo-shop/db-Xk29Qa", "SecretVersionId": "b1d3f5a7-9c2e-4b6d-8f0a-2c4e6a8b0d1f"}},
        None, read_only=True, resources=[{"accountId": ACCT, "type": "AWS::KMS::Key", "ARN": DATA_KEY}])
    r["userIdentity"] = ident
    r["sourceIPAddress"] = r["userAgent"] = "secretsmanager.amazonaws.com"


def deploy(t, n):
    web = {"type": "WebIdentityUser", "principalId": f"arn:aws:iam::{ACCT}:oidc-provider/token.actions.githubusercontent.com:sts.amazonaws.com:repo:kumo/shop:ref:refs/heads/main",
           "userName": "repo:kumo/shop:ref:refs/heads/main", "identityProvider": f"arn:aws:iam::{ACCT}:oidc-provider/token.actions.githubusercontent.com"}
    r = call(t, "ci-deploy", "sts:AssumeRoleWithWebIdentity", {"roleArn": f"arn:aws:iam::{ACCT}:role/ci-deploy", "roleSessionName": "GitHubActions", "durationSeconds": 3600},
             {"credentials": {"accessKeyId": "ASIAVRUVQ5LTEXAMPLE4", "expiration": iso(t + dt.timedelta(hours=1))},
              "subjectFromWebIdentityToken": "repo:kumo/shop:ref:refs/heads/main", "provider": f"arn:aws:iam::{ACCT}:oidc-provider/token.actions.githubusercontent.com",
              "audience": "sts.amazonaws.com"})
    r["userIdentity"] = web
    tag = f"1.{4 + n // 3}.{n % 3}"
    t += dt.timedelta(seconds=20)
    call(t, "ci-deploy", "ecr:GetAuthorizationToken", {}, None, read_only=True)
    t += dt.timedelta(seconds=35)
    digest = "sha256:" + hashlib.sha256(tag.encode()).hexdigest()
    call(t, "ci-deploy", "ecr:PutImage", {"repositoryName": "kumo-shop-web", "imageTag": tag, "registryId": ACCT,
         "imageManifestMediaType": "application/vnd.docker.distribution.manifest.v2+json"},
         {"image": {"registryId": ACCT, "repositoryName": "kumo-shop-web", "imageId": {"imageDigest": digest, "imageTag": tag}}},
         resources=[{"accountId": ACCT, "ARN": f"arn:aws:ecr:{REGION}:{ACCT}:repository/kumo-shop-web"}])
    t += dt.timedelta(seconds=40)
    rev = 40 + n
    call(t, "ci-deploy", "ecs:RegisterTaskDefinition", {
        "family": "kumo-shop-web", "taskRoleArn": f"arn:aws:iam::{ACCT}:role/kumo-shop-app-task",
        "executionRoleArn": f"arn:aws:iam::{ACCT}:role/kumo-shop-task-execution", "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"], "cpu": "512", "memory": "1024",
        "containerDefinitions": [
            {"name": "nginx", "image": f"{ECR}/kumo-shop-nginx:1.25.4", "essential": True, "cpu": 0,
             "portMappings": [{"containerPort": 80, "hostPort": 80, "protocol": "tcp"}], "environment": [], "mountPoints": [], "volumesFrom": []},
            {"name": "app", "image": f"{ECR}/kumo-shop-web:{tag}", "essential": True, "cpu": 0, "command": ["gunicorn", "shop.wsgi", "-b", "0.0.0.0:8000"],
             "environment": [{"name": "APP_ENV", "value": "prod"}], "mountPoints": [], "volumesFrom": [],
             "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/kumo-shop-web", "awslogs-region": REGION, "awslogs-stream-prefix": "app"}}}]},
        {"taskDefinition": {"taskDefinitionArn": f"arn:aws:ecs:{REGION}:{ACCT}:task-definition/kumo-shop-web:{rev}", "family": "kumo-shop-web",
                            "revision": rev, "status": "ACTIVE"}})
    t += dt.timedelta(seconds=5)
    call(t, "ci-deploy", "ecs:UpdateService", {"cluster": "kumo-shop", "service": "kumo-shop-web", "taskDefinition": f"kumo-shop-web:{rev}", "forceNewDeployment": False},
         {"service": {"serviceName": "kumo-shop-web", "taskDefinition": f"arn:aws:ecs:{REGION}:{ACCT}:task-definition/kumo-shop-web:{rev}", "desiredCount": 2}})
    for k in range(3):
        t += dt.timedelta(seconds=30)
        call(t, "ci-deploy", "ecs:DescribeServices", {"cluster": "kumo-shop", "services": ["kumo-shop-web"]}, None, read_only=True)
    for k in range(2):
        task_assume_role(t + dt.timedelta(seconds=10 + k), n * 10 + k)
        call(t + dt.timedelta(seconds=30 + k), "ecs-tasks", "elasticloadbalancing:RegisterTargets",
             {"targetGroupArn": f"arn:aws:elasticloadbalancing:{REGION}:{ACCT}:targetgroup/kumo-shop-web/6d0ab1c2e3f4a5b6",
              "targets": [{"id": f"10.20.{11 + k}.{rng.randint(10, 250)}", "port": 80}]}, None)
        records[-1]["userIdentity"] = {"type": "AWSService", "invokedBy": "ecs.amazonaws.com"}
        records[-1]["sourceIPAddress"] = records[-1]["userAgent"] = "ecs.amazonaws.com"
    t += dt.timedelta(seconds=90)
    call(t, "ci-deploy", "cloudfront:CreateInvalidation", {"distributionId": "E2QWRUHAPOMQZL", "invalidationBatch": {
        "paths": {"quantity": 1, "items": ["/static/*"]}, "callerReference": f"cli-{int(t.timestamp())}"}},
        {"location": f"https://cloudfront.amazonaws.com/2020-05-31/distribution/E2QWRUHAPOMQZL/invalidation/I{n:02d}XK3P9ZQ1", "invalidation": {
         "id": f"I{n:02d}XK3P9ZQ1", "status": "InProgress"}}, region="us-east-1")


# AWS Backup keeps 35 days of nightly recovery points; those from before the trail's window:
RECOVERY_POINTS = [f"arn:aws:rds:{REGION}:{ACCT}:snapshot:awsbackup:job-{uid('job', d)}" for d in range(-6, 0)]
EBS_SNAPSHOTS = []
DB_SNAPSHOTS = ["kumo-shop-db-weekly-2025-03-02", "kumo-shop-db-weekly-2025-03-09"]


def nightly_backup(day):
    t = at(day, 5, 0, 12)
    job = uid("job", day)
    call(t, "backup-service", "backup:StartBackupJob", {"backupVaultName": "kumo-vault", "resourceArn": f"arn:aws:rds:{REGION}:{ACCT}:db:kumo-shop-db",
         "iamRoleArn": f"arn:aws:iam::{ACCT}:role/service-role/AWSBackupDefaultServiceRole", "lifecycle": {"deleteAfterDays": 35}},
         {"backupJobId": job, "creationDate": iso(t)})
    snap = f"awsbackup:job-{job}"
    call(t + dt.timedelta(seconds=8), "backup-service", "rds:CreateDBSnapshot", {"dBSnapshotIdentifier": snap, "dBInstanceIdentifier": "kumo-shop-db"},
         {"dBSnapshotIdentifier": snap, "dBInstanceIdentifier": "kumo-shop-db", "snapshotType": "awsbackup", "status": "creating", "encrypted": True})
    RECOVERY_POINTS.append(f"arn:aws:rds:{REGION}:{ACCT}:snapshot:{snap}")
    # the point that reached its 35 days is removed by AWS Backup itself
    old = f"arn:aws:rds:{REGION}:{ACCT}:snapshot:awsbackup:job-{uid('old', day)}"
    call(t + dt.timedelta(minutes=41), "backup-service", "backup:DeleteRecoveryPoint", {"backupVaultName": "kumo-vault", "recoveryPointArn": old}, None)
    # EBS snapshot of the ECS container hosts by Data Lifecycle Manager, and the oldest one pruned
    t = at(day, 3, 0, 30)
    sid = "snap-0" + hashlib.sha1(f"ebs{day}".encode()).hexdigest()[:16]
    call(t, "dlm-service", "ec2:CreateSnapshot", {"volumeId": "vol-0c3e5a7b9d1f2e4a6", "description": "Created for policy: policy-0a2c4e6b8d0f1a3c5",
         "tagSpecificationSet": {"items": [{"resourceType": "snapshot", "tags": [{"key": "dlm:managed", "value": "true"}]}]}},
         {"requestId": uid("dlmreq", day), "snapshotId": sid, "volumeId": "vol-0c3e5a7b9d1f2e4a6", "status": "pending", "ownerId": ACCT, "encrypted": True})
    EBS_SNAPSHOTS.append(sid)
    call(t + dt.timedelta(minutes=2), "dlm-service", "ec2:DeleteSnapshot", {"snapshotId": "snap-0" + hashlib.sha1(f"ebs{day - 7}".encode()).hexdigest()[:16]},
         {"requestId": uid("dlmdel", day), "_return": True})


def developer_day(day):
    t = at(day, 0, 40)
    calls = [("sts:GetCallerIdentity", None, True), ("ecs:ListTasks", {"cluster": "kumo-shop", "serviceName": "kumo-shop-web"}, True),
             ("ecs:DescribeTasks", {"cluster": "kumo-shop", "tasks": ["4f1a2b3c4d5e4f6a7b8c9d0e1f2a3b4c"]}, True),
             ("logs:FilterLogEvents", {"logGroupName": "/ecs/kumo-shop-web", "startTime": 1741560000000, "filterPattern": "ERROR"}, True),
             ("rds:DescribeDBInstances", {"dBInstanceIdentifier": "kumo-shop-db"}, True),
             ("monitoring:GetMetricData", {"startTime": "Mar 10, 2025, 12:00:00 AM", "endTime": "Mar 10, 2025, 1:00:00 AM"}, True),
             ("ssm:GetParameter", {"name": "/kumo-shop/feature-flags"}, True),
             ("ecs:DescribeServices", {"cluster": "kumo-shop", "services": ["kumo-shop-web"]}, True),
             ("logs:GetLogEvents", {"logGroupName": "/ecs/kumo-shop-web", "logStreamName": "app/app/4f1a2b3c4d5e4f6a7b8c9d0e1f2a3b4c"}, True)]
    for k in range(22):
        api, p, ro = calls[rng.randrange(len(calls))]
        t += dt.timedelta(seconds=rng.randint(300, 1500))
        call(t, "dev-tanaka", api, p, None, read_only=ro)
    for k in range(2):
        if objects["kumo-shop-orders"]:
            key = objects["kumo-shop-orders"][rng.randrange(len(objects["kumo-shop-orders"]))][0]
            get_object(at(day, 2 + 3 * k, rng.randint(0, 59)), "dev-tanaka", "kumo-shop-orders", key, rng.randint(40000, 90000))
    if day == 1:
        # a habit worth knowing about: the developer reads the production database secret with a long-term key
        call(at(day, 6, 12, 40), "dev-tanaka", "secretsmanager:GetSecretValue", {"secretId": "prod/kumo-shop/db"}, None, read_only=True)


def ops_work(day):
    if day == 0:
        t = at(0, 1, 2, 11)
        r = call(t, "ops-suzuki", "signin:ConsoleLogin", None, {"ConsoleLogin": "Success"}, etype="AwsConsoleSignIn", region="us-east-1",
                 extra={"additionalEventData": {"LoginTo": "https://ap-northeast-1.console.aws.amazon.com/console/home", "MobileVersion": "No", "MFAUsed": "No"}})
        for api, p in [("rds:DescribeDBInstances", None), ("s3:ListBuckets", {"Host": "s3.ap-northeast-1.amazonaws.com"}),
                       ("backup:ListBackupPlans", None), ("backup:ListRecoveryPointsByBackupVault", {"backupVaultName": "kumo-vault"}),
                       ("monitoring:DescribeAlarms", {"maxRecords": 100}), ("guardduty:ListFindings", {"detectorId": "5ac7e1f3b9d24e6a8c0b2d4f6e8a1c3b", "maxResults": 50}),
                       ("config:DescribeComplianceByConfigRule", None), ("cloudtrail:GetTrailStatus", {"name": f"arn:aws:cloudtrail:{REGION}:{ACCT}:trail/kumo-org-trail"})]:
            t += dt.timedelta(seconds=rng.randint(20, 180))
            call(t, "ops-suzuki", api, p, None, read_only=True)
    if day == 1:
        t = at(1, 4, 30, 5)
        call(t, "ops-terraform", "ec2:AuthorizeSecurityGroupIngress", {"groupId": "sg-0a9b8c7d6e5f4a3b2", "ipPermissions": {"items": [
             {"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "groups": {}, "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0", "description": "HTTPS from CloudFront and clients"}]},
              "ipv6Ranges": {}, "prefixListIds": {}}]}},
             {"requestId": uid("sg", 1), "_return": True, "securityGroupRuleSet": {"items": [{"groupOwnerId": ACCT, "groupId": "sg-0a9b8c7d6e5f4a3b2",
              "securityGroupRuleId": "sgr-0b2d4f6a8c0e1b3d5", "isEgress": False, "ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "cidrIpv4": "0.0.0.0/0"}]}})
        call(t + dt.timedelta(seconds=6), "ops-terraform", "s3:PutBucketLifecycle", {"bucketName": "kumo-cloudtrail-logs", "Host": f"kumo-cloudtrail-logs.s3.{REGION}.amazonaws.com",
             "lifecycle": "", "LifecycleConfiguration": {"xmlns": "http://s3.amazonaws.com/doc/2006-03-01/", "Rule": {"ID": "retention", "Status": "Enabled",
             "Filter": {"Prefix": ""}, "Transition": {"Days": 90, "StorageClass": "GLACIER"}, "Expiration": {"Days": 400}}}}, None)
        call(t + dt.timedelta(seconds=9), "ops-terraform", "logs:PutRetentionPolicy", {"logGroupName": "/ecs/kumo-shop-web", "retentionInDays": 90}, None)
        call(t + dt.timedelta(seconds=12), "ops-terraform", "events:PutRule", {"name": "iam-policy-changes", "eventBusName": "default", "state": "ENABLED",
             "eventPattern": "{\"source\":[\"aws.iam\"],\"detail-type\":[\"AWS API Call via CloudTrail\"],\"detail\":{\"eventSource\":[\"iam.amazonaws.com\"],\"eventName\":[\"DeleteUserPolicy\",\"PutUserPolicy\"]}}"},
             {"ruleArn": f"arn:aws:events:{REGION}:{ACCT}:rule/iam-policy-changes"})
    if day == 2:
        t = at(2, 1, 15, 0)
        call(t, "ops-suzuki", "signin:ConsoleLogin", None, {"ConsoleLogin": "Success"}, etype="AwsConsoleSignIn", region="us-east-1",
             extra={"additionalEventData": {"LoginTo": "https://ap-northeast-1.console.aws.amazon.com/console/home", "MobileVersion": "No", "MFAUsed": "No"}})
        call(t + dt.timedelta(minutes=3), "ops-suzuki", "rds:CreateDBSnapshot", {"dBSnapshotIdentifier": "kumo-shop-db-weekly-2025-03-12", "dBInstanceIdentifier": "kumo-shop-db"},
             {"dBSnapshotIdentifier": "kumo-shop-db-weekly-2025-03-12", "dBInstanceIdentifier": "kumo-shop-db", "snapshotType": "manual", "status": "creating", "encrypted": True})
        DB_SNAPSHOTS.append("kumo-shop-db-weekly-2025-03-12")


def monitoring_poll(t, n):
    """A monitoring integration (an outside SaaS, through a role it assumes) reads metrics and inventory."""
    r = call(t, "monitoring-saas", "sts:AssumeRole", {"roleArn": f"arn:aws:iam::{ACCT}:role/monitoring-readonly", "roleSessionName": "metrics-poller",
             "externalId": "HIDDEN_DUE_TO_SECURITY_REASONS", "durationSeconds": 3600},
             {"credentials": {"accessKeyId": f"ASIAVRUVQ5LTMON{n:05d}", "expiration": iso(t + dt.timedelta(hours=1))},
              "assumedRoleUser": {"assumedRoleId": "AROAVRUVQ5LTMONITOR1:metrics-poller", "arn": f"arn:aws:sts::{ACCT}:assumed-role/monitoring-readonly/metrics-poller"}},
             resources=[{"accountId": ACCT, "type": "AWS::IAM::Role", "ARN": f"arn:aws:iam::{ACCT}:role/monitoring-readonly"}])
    for k, (api, p) in enumerate([("monitoring:GetMetricData", {"startTime": iso(t - dt.timedelta(minutes=30)), "endTime": iso(t)}),
                                  ("ec2:DescribeInstances", {"instancesSet": {}, "filterSet": {}}),
                                  ("rds:DescribeDBInstances", None),
                                  ("elasticloadbalancing:DescribeTargetHealth", {"targetGroupArn": f"arn:aws:elasticloadbalancing:{REGION}:{ACCT}:targetgroup/kumo-shop-web/6d0ab1c2e3f4a5b6"}),
                                  ("tag:GetResources", {"resourceTypeFilters": ["ec2:instance", "rds:db", "s3"]})]):
        call(t + dt.timedelta(seconds=2 + k), "monitoring-role", api, p, None, read_only=True)


def background():
    task_no = 0
    for day in range(3):
        nightly_backup(day)
        developer_day(day)
        ops_work(day)
        for d in (2, 7):
            deploy(jitter(at(day, d, 5)), day * 2 + (d == 7))
        for h in range(24):
            t = at(day, h)
            if t >= END:
                break
            put_object(jitter(t + dt.timedelta(minutes=5), 60), "app-task", "kumo-shop-orders",
                       f"exports/{t:%Y/%m/%d}/orders-{t:%H}00.csv", rng.randint(30000, 95000))
            for half in (0, 30):
                monitoring_poll(jitter(t + dt.timedelta(minutes=half + 10), 120), day * 48 + h * 2 + half // 30)
            if h % 3 == 0:
                secret_read(jitter(t + dt.timedelta(minutes=1), 90))
            if h % 6 == 2:
                task_assume_role(jitter(t + dt.timedelta(minutes=30)), 1000 + task_no)
                task_no += 1
            if h % 4 == 1:
                key = objects["kumo-shop-orders"][-1][0]
                get_object(jitter(t + dt.timedelta(minutes=20)), "app-task", "kumo-shop-orders", key, rng.randint(30000, 95000))
        put_object(at(day, 4, 10, 3), "app-task", "kumo-shop-backups", f"db/dump-{at(day, 0):%Y-%m-%d}.sql.gz", rng.randint(80_000_000, 90_000_000))
        # the shop's cleanup task removes yesterday's temporary upload
        tmp = f"tmp/upload-{day:02d}-{rng.randint(1000, 9999)}.bin"
        call(at(day, 4, 20, 15), "app-task", "s3:DeleteObject", s3_params("kumo-shop-orders", tmp), None, data=True,
             extra=s3_extra(sse="Default_SSE_S3"), resources=s3_res("kumo-shop-orders", tmp))


# ---- the intrusion ---------------------------------------------------------------------------
SSEC_MD5 = "Y2hhbmdlLW1lLWtleS1tZDUtb25seQ=="


def intrusion():
    for line in open(os.path.join(SCEN, "intrusion.jsonl")):
        if not line.strip():
            continue
        step = json.loads(line)
        t = dt.datetime.strptime(step["at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)
        who = step["actor"]
        every = dt.timedelta(seconds=step.get("every", 2))
        if "each_object" in step:
            bucket = step["each_object"]
            for key, vid in [o for o in objects[bucket] if not o[0].startswith("tmp/")]:
                size = rng.randint(30000, 95000)
                get_object(t, who, bucket, key, size)
                call(t + dt.timedelta(seconds=1), who, "s3:CopyObject", s3_params(bucket, key, **{
                     "x-amz-copy-source": f"{bucket}/{key}", "x-amz-server-side-encryption-customer-algorithm": "AES256",
                     "x-amz-server-side-encryption-customer-key-MD5": SSEC_MD5}),
                     {"x-amz-server-side-encryption-customer-algorithm": "AES256", "x-amz-server-side-encryption-customer-key-MD5": SSEC_MD5,
                      "CopyObjectResult": {"lastModified": iso(t), "eTag": hashlib.md5(key.encode()).hexdigest()}},
                     data=True, extra=s3_extra(sse="SSE_C"), resources=s3_res(bucket, key))
                call(t + dt.timedelta(seconds=2), who, "s3:DeleteObject", s3_params(bucket, key, versionId=vid),
                     {"x-amz-version-id": vid}, data=True, extra=s3_extra(sse="SSE_KMS"), resources=s3_res(bucket, key))
                t += every
            continue
        expand = None
        for k, lst, ph in (("each_recovery_point", RECOVERY_POINTS + [f"arn:aws:ec2:{REGION}::snapshot/{s}" for s in EBS_SNAPSHOTS[:2]], "{recovery_point}"),
                           ("each_db_snapshot", DB_SNAPSHOTS, "{db_snapshot}"), ("each_ebs_snapshot", EBS_SNAPSHOTS, "{ebs_snapshot}")):
            if k in step:
                expand = (lst, ph)
        items = expand[0] if expand else [None]
        for item in items:
            def sub(v):
                s = json.dumps(v)
                return json.loads(s.replace(expand[1], item)) if expand else v
            svc = step["call"].split(":")[0]
            if step.get("data"):
                p = step["params"]
                call(t, who, step["call"], p, step.get("resp"), data=True, extra=s3_extra(sse="Default_SSE_S3", bytes_in=step.get("bytes_in", 0)),
                     resources=s3_res(p["bucketName"], p["key"]))
            else:
                err = step.get("error")
                extra = None
                if svc == "s3":
                    extra = s3_extra(sse=None)
                    extra["additionalEventData"].pop("SSEApplied")
                call(t, who, step["call"], sub(step.get("params")), sub(step.get("resp")), error=tuple(err) if err else None,
                     read_only=step.get("read_only", False), region=step.get("region"), extra=extra)
            t += every


def write(out):
    records.sort(key=lambda r: (r["eventTime"], r["eventID"]))
    groups = {}
    for r in records:
        t = dt.datetime.strptime(r["eventTime"], "%Y-%m-%dT%H:%M:%SZ")
        slot = t.replace(minute=t.minute - t.minute % 5, second=0) + dt.timedelta(minutes=5)
        groups.setdefault((r["awsRegion"], slot), []).append(r)
    if os.path.isdir(os.path.join(out, "AWSLogs")):
        shutil.rmtree(os.path.join(out, "AWSLogs"))
    names = random.Random(7)
    for (region, slot), recs in sorted(groups.items()):
        d = os.path.join(out, "AWSLogs", ACCT, "CloudTrail", region, f"{slot:%Y}", f"{slot:%m}", f"{slot:%d}")
        os.makedirs(d, exist_ok=True)
        suffix = "".join(names.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") for _ in range(16))
        path = os.path.join(d, f"{ACCT}_CloudTrail_{region}_{slot:%Y%m%dT%H%M}Z_{suffix}.json.gz")
        raw = io.BytesIO()
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
            gz.write(json.dumps({"Records": recs}, separators=(",", ":")).encode())
        with open(path, "wb") as f:
            f.write(raw.getvalue())
    return len(groups)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "trail")
    background()
    intrusion()
    files = write(out)
    attack = sum(1 for r in records if r["eventTime"] >= iso(ATTACK) and r["sourceIPAddress"] == "192.0.2.147")
    print(f"{len(records)} records ({attack} by the intruder) in {files} files under {out}")


if __name__ == "__main__":
    main()
