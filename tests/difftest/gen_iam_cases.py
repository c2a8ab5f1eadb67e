#!/usr/bin/env python3
"""Random IAM evaluation cases for differential testing against @cloud-copilot/iam-simulate.

Writes JSON lines in the shape of ../shared/corpora/iam/cases.jsonl. Deterministic for a seed.
Covers every condition operator (with IfExists, ForAllValues/ForAnyValue, several values,
policy variables), action and resource wildcards, Allow/Deny mixes, NotAction/NotResource/
NotPrincipal, SCP and RCP levels, resource policies with every principal form, permissions
boundaries, session and endpoint policies, cross-account requests and discovery mode.

Each case carries "tags": constructs where the two engines are known to read AWS differently
(tests/data/iam/difftest_classes.tsv says why); a disagreement on an untagged case fails the test.

Usage: gen_iam_cases.py SEED COUNT > cases.jsonl
"""
import json
import random
import sys

A1, A2 = "111111111111", "222222222222"
REGIONS = ["us-east-1", "eu-west-1", "ap-northeast-1"]


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)

    def p(self, prob):
        return self.r.random() < prob

    def c(self, seq):
        return self.r.choice(seq)

    # ---- request --------------------------------------------------------------------------
    def principal(self, acct):
        k = self.r.random()
        if k < 0.30:
            return "user", f"arn:aws:iam::{acct}:user/{self.c(['alice', 'bob'])}"
        if k < 0.45:
            return "role", f"arn:aws:iam::{acct}:role/{self.c(['app', 'admin', 'ops/app'])}"
        if k < 0.80:
            return "session", f"arn:aws:sts::{acct}:assumed-role/{self.c(['app', 'admin'])}/{self.c(['s1', 'bob'])}"
        if k < 0.87:
            return "federated", f"arn:aws:sts::{acct}:federated-user/{self.c(['alice', 'bob'])}"
        if k < 0.95:
            return "service", self.c(["s3.amazonaws.com", "ec2.amazonaws.com", "cloudtrail.amazonaws.com"])
        return "anonymous", {"type": "Anonymous"}

    def action_and_resource(self, racct):
        region = self.c(REGIONS)
        bucket = self.c(["data", "backups", "Logs"])
        key = self.c(["a/b.txt", "alice/x", "bob/y", "private/z"])
        choices = [
            ("s3:GetObject", f"arn:aws:s3:::{bucket}/{key}", False),
            ("s3:PutObject", f"arn:aws:s3:::{bucket}/{key}", False),
            ("s3:DeleteObject", f"arn:aws:s3:::{bucket}/{key}", False),
            ("s3:ListBucket", f"arn:aws:s3:::{bucket}", False),
            ("s3:ListAllMyBuckets", "*", True),
            ("ec2:DescribeInstances", "*", True),
            ("ec2:StopInstances", f"arn:aws:ec2:{region}:{racct}:instance/i-0{self.r.randint(1, 3)}", False),
            ("kms:Decrypt", f"arn:aws:kms:{region}:{racct}:key/k-{self.r.randint(1, 2)}", False),
            ("kms:ScheduleKeyDeletion", f"arn:aws:kms:{region}:{racct}:key/k-{self.r.randint(1, 2)}", False),
            ("iam:CreateAccessKey", f"arn:aws:iam::{racct}:user/{self.c(['alice', 'victim'])}", False),
            ("sqs:SendMessage", f"arn:aws:sqs:{region}:{racct}:q{self.r.randint(1, 2)}", False),
            ("dynamodb:GetItem", f"arn:aws:dynamodb:{region}:{racct}:table/t{self.r.randint(1, 2)}", False),
            ("logs:DeleteLogGroup", f"arn:aws:logs:{region}:{racct}:log-group:app-{self.r.randint(1, 2)}", False),
            ("cloudtrail:StopLogging", f"arn:aws:cloudtrail:{region}:{racct}:trail/main", False),
        ]
        action, resource, wildcard_only = self.c(choices)
        if not wildcard_only and self.p(0.07) and action.startswith("s3:") and "/" in resource:
            resource = resource.rsplit("/", 1)[0] + "/*"  # a pattern request
        return action, resource, wildcard_only

    # ---- condition keys ------------------------------------------------------------------------
    KEYS = {
        "aws:SourceIp": ("ip", ["10.0.0.0/8", "192.168.1.0/24", "203.0.113.5", "2001:db8::/32"],
                         ["10.1.2.3", "192.168.1.7", "203.0.113.5", "2001:db8::1", "8.8.8.8"]),
        "aws:MultiFactorAuthPresent": ("bool", ["true", "false"], ["true", "false"]),
        "aws:SecureTransport": ("bool", ["true", "false"], ["true", "false"]),
        "aws:MultiFactorAuthAge": ("num", ["300", "3600", "86400.5"], ["60", "7200", "3600"]),
        "aws:username": ("str", ["alice", "bob", "al*", "ALICE"], ["alice", "bob", "Alice"]),
        "aws:PrincipalTag/team": ("str", ["ops", "dev", "o?s"], ["ops", "dev", "sec"]),
        "aws:RequestedRegion": ("str", ["us-east-1", "eu-west-1", "us-*"], ["us-east-1", "eu-west-1", "ap-northeast-1"]),
        "aws:CurrentTime": ("date", ["2024-01-01T00:00:00Z", "2025-06-30T12:00:00Z", "2024-06-01"],
                            ["2024-06-01T00:00:00Z", "2023-12-31T23:59:59Z", "2026-01-01T00:00:00Z"]),
        "aws:PrincipalArn": ("arn", [f"arn:aws:iam::{A1}:role/*", f"arn:aws:iam::*:user/alice", f"arn:aws:iam::{A2}:*"],
                             [f"arn:aws:iam::{A1}:role/app", f"arn:aws:iam::{A2}:user/alice", f"arn:aws:iam::{A1}:user/bob"]),
        "aws:TagKeys": ("multi", ["env", "team", "cost"], ["env", "team", "cost", "owner"]),
        "aws:PrincipalOrgID": ("str", ["o-aaa", "o-bbb"], ["o-aaa", "o-ccc"]),
    }
    OPS = {
        "ip": ["IpAddress", "NotIpAddress"],
        "bool": ["Bool"],
        "num": ["NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals",
                "NumericGreaterThan", "NumericGreaterThanEquals"],
        "str": ["StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase",
                "StringLike", "StringNotLike"],
        "date": ["DateEquals", "DateNotEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan",
                 "DateGreaterThanEquals"],
        "arn": ["ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike", "StringLike"],
        "multi": ["StringEquals", "StringLike", "StringNotEquals"],
    }

    def condition(self, tags):
        cond = {}
        for _ in range(self.r.randint(1, 2)):
            key = self.c(list(self.KEYS))
            kind, pvals, _ = self.KEYS[key]
            if self.p(0.06):
                op = "Null"
                vals = self.c(["true", "false"])
            else:
                op = self.c(self.OPS[kind])
                if kind == "multi":
                    op = self.c(["ForAllValues:", "ForAnyValue:"]) + op
                elif self.p(0.06):
                    op = self.c(["ForAllValues:", "ForAnyValue:"]) + op
                    tags.add("set-operator-on-single-valued-key")
                if self.p(0.25):
                    op += "IfExists"
                n = self.r.randint(1, 2)
                vals = self.r.sample(pvals, min(n, len(pvals)))
                if kind in ("str", "arn") and self.p(0.15):
                    vals.append(self.c(["${aws:username}", "${aws:PrincipalTag/team, 'ops'}", "${aws:userid}"]))
                vals = vals[0] if len(vals) == 1 and self.p(0.5) else vals
            cond.setdefault(op, {})[key] = vals
        return cond

    def context(self, kind, principal):
        ctx = {}
        for key, (k, _, rvals) in self.KEYS.items():
            if not self.p(0.45):
                continue
            if k == "multi":
                ctx[key] = self.r.sample(rvals, self.r.randint(0, 3))
            else:
                ctx[key] = self.c(rvals)
        if self.p(0.3) and isinstance(principal, str) and principal.startswith("arn:"):
            ctx["aws:PrincipalArn"] = principal
        return ctx

    # ---- policies -------------------------------------------------------------------------------
    def action_patterns(self, action):
        svc, name = action.split(":")
        pool = [action, f"{svc}:*", f"{svc}:{name[:3]}*", f"{svc}:*{name[-4:]}", f"{svc}:?{name[1:]}", "*",
                action.upper(), "s3:GetObject", "iam:*", "ec2:Describe*", "kms:*"]
        return self.r.sample(pool, self.r.randint(1, 2))

    def resource_patterns(self, resource, tags, kind):
        pool = ["*", resource]
        if resource.startswith("arn:"):
            parts = resource.split(":", 5)
            tail = parts[5]
            if "/" in tail:
                pool.append(resource.rsplit("/", 1)[0] + "/*")
                pool.append(":".join(parts[:5]) + ":" + tail.split("/")[0] + "/${aws:username}*")
            pool.append(":".join(parts[:3]) + ":*:" + (parts[4] or "") + ":" + tail[:2] + "*")
            pool.append(":".join(parts[:4]) + ":" + A2 + ":" + tail)
            pool.append(resource.replace("data", "Data") if "data" in resource else resource + "x")
            if self.p(0.1):
                pool.append(":".join(parts[:3]))  # short ARN
                tags.add("short-arn")
        return self.r.sample(pool, min(len(pool), self.r.randint(1, 2)))

    def statement(self, action, resource, tags, kind, principal_elem=None):
        st = {"Effect": "Deny" if self.p(0.25) else "Allow"}
        if self.p(0.3):
            st["Sid"] = f"S{self.r.randint(1, 99)}"
        acts = self.action_patterns(action)
        if self.p(0.1):
            st["NotAction"] = acts if len(acts) > 1 else acts[0]
        else:
            st["Action"] = acts if len(acts) > 1 else acts[0]
        res = self.resource_patterns(resource, tags, kind)
        if kind != "trust":
            if self.p(0.1):
                st["NotResource"] = res if len(res) > 1 else res[0]
                if any("${" in x for x in res):
                    tags.add("notresource-variable")
            else:
                st["Resource"] = res if len(res) > 1 else res[0]
        if principal_elem is not None:
            st.update(principal_elem)
        if self.p(0.45):
            st["Condition"] = self.condition(tags)
        return st

    def policy(self, action, resource, tags, kind="identity", principal_fn=None, n=None):
        stmts = []
        for _ in range(n or self.r.randint(1, 3)):
            stmts.append(self.statement(action, resource, tags, kind, principal_fn() if principal_fn else None))
        doc = {"Statement": stmts if len(stmts) > 1 or self.p(0.5) else stmts[0]}
        if self.p(0.97):
            doc = {"Version": "2012-10-17", **doc}
        elif "${" in json.dumps(doc):
            tags.add("variables-without-version")
        return doc

    def principal_elem(self, principal, pacct):
        pr = principal if isinstance(principal, str) else "*"
        role_arn = None
        if ":assumed-role/" in pr:
            role = pr.split("assumed-role/")[1].split("/")[0]
            role_arn = f"arn:aws:iam::{pacct}:role/{role}"
        pool = [
            "*",
            {"AWS": "*"},
            {"AWS": pacct or A1},
            {"AWS": f"arn:aws:iam::{pacct or A1}:root"},
            {"AWS": pr},
            {"AWS": [f"arn:aws:iam::{A2}:user/eve", pr]},
            {"Service": "s3.amazonaws.com"},
            {"AWS": f"arn:aws:iam::{A1}:user/alice"},
        ]
        if role_arn:
            pool.append({"AWS": role_arn})
        elem = self.c(pool)
        if self.p(0.1):
            return {"NotPrincipal": elem if elem != "*" else {"AWS": f"arn:aws:iam::{A2}:user/eve"}}
        return {"Principal": elem}

    def case(self, i, seed):
        tags = set()
        pacct = self.c([A1, A1, A1, A2])
        racct = self.c([A1, A1, A2])
        kind, principal = self.principal(pacct)
        action, resource, wildcard_only = self.action_and_resource(racct)
        c = {"id": f"diff/{seed}/{i}", "suite": "core_engine",
             "request": {"principal": principal, "action": action, "resource": resource,
                         "resourceAccount": racct, "context": self.context(kind, principal)}}
        if wildcard_only:
            c["request"]["wildcardOnlyAction"] = True
        anonymous = kind == "anonymous"
        c["identityPolicies"] = [] if anonymous else [self.policy(action, resource, tags) for _ in range(self.r.randint(0, 3))]
        if not anonymous and self.p(0.35):
            levels = []
            for lvl in range(self.r.randint(1, 3)):
                pols = []
                if self.p(0.85):
                    pols.append({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
                if self.p(0.5):
                    pols.append(self.policy(action, resource, tags, "scp", n=1))
                levels.append({"orgIdentifier": f"ou-{lvl}", "policies": pols})
            c["serviceControlPolicies"] = levels
            if kind == "service":
                tags.add("scp-on-service-principal")
        if self.p(0.15):
            c["resourceControlPolicies"] = [{"orgIdentifier": f"r-{lvl}", "policies": [
                {"Version": "2012-10-17", "Statement": [dict(self.statement(action, resource, tags, "rcp"), Effect="Deny", Principal="*")]}
            ]} for lvl in range(self.r.randint(1, 2))]
        if self.p(0.45):
            c["resourcePolicy"] = self.policy(action, resource, tags, "resource",
                                              lambda: self.principal_elem(principal, pacct))
        if not anonymous and self.p(0.2):
            c["permissionBoundaries"] = [self.policy(action, resource, tags, "pb")]
        if not anonymous and kind in ("session", "role", "federated") and self.p(0.2):
            c["sessionPolicy"] = self.policy(action, resource, tags, "session")
        if self.p(0.05):
            c["endpointPolicies"] = [self.policy(action, resource, tags, "vpce")]
        if self.p(0.1):
            c["mode"] = "Discovery"
            if self.p(0.5):
                keys = self.r.sample(list(self.KEYS), 2)
                c["discoveryContextKeyConstraints"] = [
                    {"keyName": k, "presenceIsKnown": True, "valueIsKnown": self.p(0.5)} for k in keys]
        tags |= self.divergences(c)
        c["tags"] = sorted(tags)
        return c

    @staticmethod
    def divergences(c):
        """Constructs on which the engines are known to differ (tests/data/iam/difftest_classes.tsv)."""
        tags = set()
        req = c["request"]
        pr = req["principal"] if isinstance(req["principal"], str) else ""
        rp = json.dumps(c.get("resourcePolicy") or {})
        if c.get("sessionPolicy") and (":assumed-role/" in pr or ":federated-user/" in pr) and json.dumps(pr) in rp:
            tags.add("session-arn-named-by-resource-policy")
        ip = c["request"]["context"].get("aws:SourceIp")
        docs = list(c.get("identityPolicies", []))
        for k in ("resourcePolicy", "sessionPolicy"):
            if c.get(k):
                docs.append(c[k])
        for k in ("permissionBoundaries", "endpointPolicies"):
            docs += c.get(k) or []
        for lvl in (c.get("serviceControlPolicies") or []) + (c.get("resourceControlPolicies") or []):
            docs += lvl["policies"]
        for d in docs:
            st = d["Statement"]
            for s in st if isinstance(st, list) else [st]:
                for op, kv in (s.get("Condition") or {}).items():
                    if "IpAddress" not in op or not ip:
                        continue
                    for key, vals in kv.items():
                        if key != "aws:SourceIp":
                            continue
                        for v in vals if isinstance(vals, list) else [vals]:
                            if "/" not in v and ((":" in v) != (":" in ip)):
                                tags.add("ip-bare-address-other-family")
        return tags


def main():
    seed, count = int(sys.argv[1]), int(sys.argv[2])
    g = Gen(seed)
    out = sys.stdout
    for i in range(count):
        out.write(json.dumps(g.case(i, seed), separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
