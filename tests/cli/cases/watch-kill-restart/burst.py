"""Writes four CloudTrail delivery files: StopLogging, then 60 DeleteObject calls by the same user
over two later files, then one later event that moves event time past the allowed lateness (test
data for the watch restart case)."""
import json, sys, os
d = sys.argv[1]
def rec(t, src, name, i):
    return {"eventVersion": "1.09", "eventTime": t, "eventSource": src, "eventName": name, "awsRegion": "us-east-1",
            "sourceIPAddress": "203.0.113.50", "userAgent": "aws-cli/2.15.0", "eventID": "burst-%d" % i,
            "eventType": "AwsApiCall", "recipientAccountId": "123837392027",
            "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::123837392027:user/mallory", "accessKeyId": "ASIAEXAMPLE"},
            "requestParameters": {"bucketName": "evidence", "key": "k%d" % i}}
files = [[rec("2023-07-10T12:40:00Z", "cloudtrail.amazonaws.com", "StopLogging", 0)],
         [rec("2023-07-10T12:41:%02dZ" % (i % 60), "s3.amazonaws.com", "DeleteObject", i) for i in range(1, 31)],
         [rec("2023-07-10T12:42:%02dZ" % (i % 60), "s3.amazonaws.com", "DeleteObject", i) for i in range(31, 61)],
         [rec("2023-07-10T12:55:00Z", "sts.amazonaws.com", "GetCallerIdentity", 61)]]
for k, rs in enumerate(files):
    with open(os.path.join(d, "123837392027_CloudTrail_us-east-1_20230710T124%dZ_burst%d.json" % (k, k)), "w") as f:
        json.dump({"Records": rs}, f)
