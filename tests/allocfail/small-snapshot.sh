#!/bin/sh
# A tiny snapshot folder $1 for the allocation-failure sweep of `kumomori audit` (good and bad files).
set -e
d=$1
mkdir -p $d/111122223333/global/s3api/get-bucket-versioning $d/111122223333/us-east-1/rds $d/111122223333/global/iam
printf '{"Buckets": [{"Name": "a"}, {"Name": "b"}]}' > $d/111122223333/global/s3api/list-buckets.json
printf '{"Status": "Enab' > $d/111122223333/global/s3api/get-bucket-versioning/a.json
printf '{"Status": "Enabled"}' > $d/111122223333/global/s3api/get-bucket-versioning/b.json
printf '[1, 2, 3]' > $d/111122223333/us-east-1/rds/describe-db-instances.json
printf '{"RoleDetailList": [{"RoleName": "r", "RoleId": "R1", "Arn": "arn:aws:iam::111122223333:role/r", "Path": "/", "CreateDate": "2023-03-09 10:41:45+00:00", "RoleLastUsed": {"LastUsedDate": "2023-03-09 10:41:45+00:00"}, "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444455556666:root"}, "Action": "sts:AssumeRole"}]}}]}' > $d/111122223333/global/iam/get-account-authorization-details.json
printf 'not json at all' > $d/notes.json
