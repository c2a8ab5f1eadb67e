#!/usr/bin/env python3
"""Expected alerts of SigmaHQ's 8 unsupported/ AWS rules on the Invictus trail (2,900 records).

Each rule's events were written here by reading its YAML (quoted in the comments), and the windows
follow docs/stateful.md: events in eventTime order (ties in file and record order); a count with
`> N` fires on the event that makes N+1 events within the timeframe (sliding, [t - span, t]) and
then starts over; `near` and a timeframe over `a and b` fire when every part has an event within
the span of the current one, then start over. It does not run kumomori; it wrote
unsupported-expected.txt once.

Usage: python3 tests/data/stateful/unsupported_expected.py ../shared/corpora/cloudtrail > tests/data/stateful/unsupported-expected.txt
"""
import json, os, sys
from datetime import datetime, timezone

root = sys.argv[1]
d = os.path.join(root, 'invictus-sigma-aws/CloudTrail')
recs = []
for name in sorted(os.listdir(d)):
    recs += json.load(open(os.path.join(d, name)))['Records']
def t(r):
    return datetime.strptime(r['eventTime'], '%Y-%m-%dT%H:%M:%SZ').replace(tzinfo=timezone.utc).timestamp()
order = sorted(range(len(recs)), key=lambda i: (t(recs[i]), i))
def low(r, k):
    v = r.get(k)
    return v.lower() if isinstance(v, str) else None
def src(r, s): return low(r, 'eventSource') == s
def name(r, *n): return low(r, 'eventName') in [x.lower() for x in n]

def count_gt(rule_id, pred, n, span_s, group=lambda r: None):
    out, win = [], {}
    for i in order:
        r = recs[i]
        if not pred(r): continue
        g = group(r)
        w = [x for x in win.get(g, []) if x >= t(r) - span_s] + [t(r)]
        if len(w) >= n + 1:
            out.append((rule_id, r['eventID']))
            w = []
        win[g] = w
    return out

def temporal(rule_id, preds, span_s):
    out, last = [], [None] * len(preds)
    for i in order:
        r = recs[i]
        hit = False
        for k, p in enumerate(preds):
            if p(r):
                last[k] = t(r)
                hit = True
        if hit and all(x is not None and x >= t(r) - span_s for x in last):
            out.append((rule_id, r['eventID']))
            last = [None] * len(preds)
    return out

exp = []
# aws_ec2_download_userdata: eventSource ec2, requestParameters.attribute userData, eventName DescribeInstanceAttribute; count() > 10, 30m
exp += count_gt('26ff4080-194e-47e7-9889-ef7602efed0c', lambda r: src(r, 'ec2.amazonaws.com') and name(r, 'DescribeInstanceAttribute')
                and isinstance(r.get('requestParameters'), dict) and low(r['requestParameters'], 'attribute') == 'userdata', 10, 1800)
# aws_enum_backup: eventSource ec2, eventName in the list; count() > 5, 10m
exp += count_gt('76255e09-755e-4675-8b6b-dbce9842cd2a', lambda r: src(r, 'ec2.amazonaws.com') and name(
    r, 'GetPasswordData', 'GetEbsEncryptionByDefault', 'GetEbsDefaultKmsKeyId', 'GetBucketReplication', 'DescribeVolumes',
    'DescribeVolumesModifications', 'DescribeSnapshotAttribute', 'DescribeSnapshotTierStatus', 'DescribeImages'), 5, 600)
# aws_enum_listing: eventName list* (case-insensitive); count() > 50, 10m
exp += count_gt('e9c14b23-47e2-4a8b-8a63-d36618e33d70', lambda r: (low(r, 'eventName') or '').startswith('list'), 50, 600)
# aws_enum_network: eventSource ec2, eventName in the list; count() > 5, 10m
exp += count_gt('c3d53999-4b14-4ddd-9d9b-e618c366b54d', lambda r: src(r, 'ec2.amazonaws.com') and name(
    r, 'DescribeCarrierGateways', 'DescribeVpcEndpointConnectionNotifications', 'DescribeTransitGatewayMulticastDomains',
    'DescribeClientVpnRoutes', 'DescribeDhcpOptions', 'GetTransitGatewayRouteTableAssociations'), 5, 600)
# aws_enum_storage: eventSource s3, eventName in the list; count() > 5, 10m
exp += count_gt('4723218f-2048-41f6-bcb0-417f2d784f61', lambda r: src(r, 's3.amazonaws.com') and name(
    r, 'ListBuckets', 'GetBucketCors', 'GetBucketInventoryConfiguration', 'GetBucketPublicAccessBlock',
    'GetBucketMetricsConfiguration', 'GetBucketPolicy', 'GetBucketTagging'), 5, 600)
# aws_lambda_function_created_or_invoked: selection1 (lambda CreateFunction) | near selection2 (lambda Invoke); no timeframe: 1h
exp += temporal('d914951b-52c8-485f-875e-86abab710c0b', [lambda r: src(r, 'lambda.amazonaws.com') and name(r, 'CreateFunction'),
                                                         lambda r: src(r, 'lambda.amazonaws.com') and name(r, 'Invoke')], 3600)
# aws_macic_evasion: eventName in the list; count() by sourceIPAddress > 5, 10m
exp += count_gt('91f6a16c-ef71-437a-99ac-0b070e3ad221', lambda r: name(
    r, 'ArchiveFindings', 'CreateFindingsFilter', 'DeleteMember', 'DisassociateFromMasterAccount', 'DisassociateMember',
    'DisableMacie', 'DisableOrganizationAdminAccount', 'UpdateFindingsFilter', 'UpdateMacieSession', 'UpdateMemberSession',
    'UpdateClassificationJob'), 5, 600, group=lambda r: r.get('sourceIPAddress'))
# aws_ses_messaging_enabled: selection1 (ses UpdateAccountSendingEnabled) and selection2 (ses VerifyEmailIdentity), timeframe 5m
exp += temporal('60b84424-a724-4502-bd0d-cc676e1bc90e', [lambda r: src(r, 'ses.amazonaws.com') and name(r, 'UpdateAccountSendingEnabled'),
                                                         lambda r: src(r, 'ses.amazonaws.com') and name(r, 'VerifyEmailIdentity')], 300)
print('# rule id <TAB> eventID of the event that completed the alert (unsupported_expected.py)')
for rid, eid in sorted(exp):
    print('%s\t%s' % (rid, eid))
