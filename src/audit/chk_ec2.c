/* EC2 and VPC: security groups open to the internet (high-risk ports, administration ports,
 * all traffic, the default group), EBS encryption by default, VPC endpoints, instances managed
 * by Systems Manager. */
#include "audit/check.h"
#include "audit/ec2facts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_world(const km_json *r) {
    const char *c = r && r->type == KM_JSON_STRING ? r->u.str.s : NULL;
    if (!c) c = km_ci_str(r, "CidrIp");
    if (!c) c = km_ci_str(r, "CidrIpv6");
    return c && (!strcmp(c, "0.0.0.0/0") || !strcmp(c, "::/0"));
}

static int perm_world(const km_json *p) {
    static const char *const lists[] = {"IpRanges", "Ipv6Ranges", "ipv4Ranges", NULL};
    for (const char *const *l = lists; *l; l++) {
        const km_json *v = km_json_get(p, *l);
        if (!v) v = km_ci_get(p, *l);
        for (size_t i = 0; i < km_json_len(v); i++)
            if (is_world(km_json_at(v, i))) return 1;
    }
    return 0;
}

int km_sg_world_open(const km_res *sg, int port, char *rule, size_t n) {
    const km_json *perms = km_res_get(sg, "IpPermissions");
    for (size_t i = 0; i < km_json_len(perms); i++) {
        const km_json *p = km_json_at(perms, i);
        if (!perm_world(p)) continue;
        const km_json *protov = km_ci_get(p, "IpProtocol");
        char proto[16] = "";
        if (protov && protov->type == KM_JSON_STRING) snprintf(proto, sizeof proto, "%s", protov->u.str.s);
        else if (protov && protov->type == KM_JSON_NUMBER) snprintf(proto, sizeof proto, "%.0f", protov->u.num.d);
        double from = -1, to = -1;
        km_json_num(km_ci_get(p, "FromPort"), &from);
        km_json_num(km_ci_get(p, "ToPort"), &to);
        int all = !strcmp(proto, "-1") || km_streq_ci(proto, "all");
        int tcp = km_streq_ci(proto, "tcp") || !strcmp(proto, "6");
        if (all) { snprintf(rule, n, "all traffic from the internet"); return 1; }
        if (!tcp) continue;
        if (port < 0) {
            if (from <= 0 && to >= 65535) { snprintf(rule, n, "TCP 0-65535 from the internet"); return 1; }
            continue;
        }
        if (from <= port && port <= to) {
            if (from == to) snprintf(rule, n, "TCP %d from the internet", port);
            else snprintf(rule, n, "TCP %.0f-%.0f (includes %d) from the internet", from, to, port);
            return 1;
        }
    }
    return 0;
}

const km_res *km_sg_find(km_audit *a, const char *account, const char *region, const char *id) {
    size_t n;
    const km_res *const *v = km_all(a, "AWS::EC2::SecurityGroup", &n);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(v[i]->id, id) && !strcmp(v[i]->account, account) && !strcmp(v[i]->region, region)) return v[i];
    return NULL;
}

static void ports_check(km_audit *a, const int *ports, size_t np, const char *what) {
    size_t n;
    const km_res *const *v = km_all(a, "AWS::EC2::SecurityGroup", &n);
    for (size_t i = 0; i < n; i++) {
        const km_res *sg = v[i];
        if (km_begin(a, sg)) continue;
        char open[600] = "";
        for (size_t k = 0; k < np; k++) {
            char rule[128];
            if (!km_sg_world_open(sg, ports[k], rule, sizeof rule)) continue;
            char one[32];
            snprintf(one, sizeof one, "%d", ports[k]);
            km_join(open, sizeof open, ", ", one);
        }
        if (open[0]) km_emit(a, sg, KM_FAIL, "open to the internet on %s port(s) %s", what, open);
        else km_emit(a, sg, KM_PASS, "no %s port open to the internet", what);
    }
}

static void chk_high_risk(km_audit *a) {
    static const int ports[] = {20, 21, 22, 23, 25, 110, 135, 143, 445, 1433, 1434, 3000, 3306, 3389, 4333,
                                5000, 5432, 5500, 5601, 8080, 8088, 8888, 9200, 9300};
    ports_check(a, ports, sizeof ports / sizeof ports[0], "high-risk");
}

static void chk_admin_ports(km_audit *a) {
    static const int ports[] = {22, 3389};
    ports_check(a, ports, 2, "remote administration (SSH/RDP)");
}

static void chk_all_traffic(km_audit *a) {
    size_t n;
    const km_res *const *v = km_all(a, "AWS::EC2::SecurityGroup", &n);
    for (size_t i = 0; i < n; i++) {
        if (km_begin(a, v[i])) continue;
        char rule[128];
        if (km_sg_world_open(v[i], -1, rule, sizeof rule)) km_emit(a, v[i], KM_FAIL, "allows %s", rule);
        else km_emit(a, v[i], KM_PASS, "does not allow every port from the internet");
    }
}

static void chk_default_sg(km_audit *a) {
    size_t n;
    const km_res *const *v = km_all(a, "AWS::EC2::SecurityGroup", &n);
    for (size_t i = 0; i < n; i++) {
        const char *gn = km_json_str(km_res_get(v[i], "GroupName"));
        if (!km_streq_ci(gn ? gn : v[i]->name, "default")) continue;
        if (km_begin(a, v[i])) continue;
        size_t in = km_json_len(km_res_get(v[i], "IpPermissions"));
        size_t out = km_json_len(km_res_get(v[i], "IpPermissionsEgress"));
        if (in || out) km_emit(a, v[i], KM_FAIL, "the default security group has %zu inbound and %zu outbound rule(s): anything launched without a group gets them", in, out);
        else km_emit(a, v[i], KM_PASS, "the default security group allows nothing");
    }
}

static void chk_ebs_default(km_audit *a) {
    for (size_t i = 0; i < km_naccounts(a); i++) {
        const char *acct = km_account(a, i);
        for (size_t r = 0; r < km_nregions(a, acct); r++) {
            const char *reg = km_region(a, acct, r);
            km_begin(a, NULL);
            km_item it = km_get(a, acct, reg, "ec2", "get-ebs-encryption-by-default", NULL);
            if (it.status == KM_DATA_MISSING && !km_snap_has_collect(a->snap, acct)) continue;
            if (km_unknown_acct(a, acct, reg, &it, "ec2 get-ebs-encryption-by-default")) continue;
            if (km_json_truth(km_ci_get(it.json, "EbsEncryptionByDefault")) == 1)
                km_emit_acct(a, acct, reg, KM_PASS, "new EBS volumes are encrypted by default");
            else km_emit_acct(a, acct, reg, KM_FAIL, "EBS encryption by default is off in %s", reg);
        }
    }
}

static int vpc_in_use(km_audit *a, const km_res *vpc) {
    static const char *const types[] = {"AWS::EC2::Instance", "AWS::RDS::DBInstance", NULL};
    for (const char *const *t = types; *t; t++) {
        size_t n;
        const km_res *const *v = km_all(a, *t, &n);
        for (size_t i = 0; i < n; i++) {
            if (strcmp(v[i]->account, vpc->account)) continue;
            const char *id = km_json_str(km_res_get(v[i], "VpcId"));
            if (!id) id = km_json_str(km_ci_get(km_res_get(v[i], "DBSubnetGroup"), "VpcId"));
            if (id && !strcmp(id, vpc->id)) return 1;
        }
    }
    return 0;
}

static void chk_vpc_endpoints(km_audit *a) {
    size_t n;
    const km_res *const *v = km_all(a, "AWS::EC2::VPC", &n);
    static const char *const need[] = {"s3", "kms", NULL};
    for (size_t i = 0; i < n; i++) {
        const km_res *vpc = v[i];
        if (!vpc_in_use(a, vpc)) continue;
        if (km_begin(a, vpc)) continue;
        km_item l = km_snap_listing(a->snap, vpc->account, vpc->region, "AWS::EC2::VPCEndpoint");
        if (l.status != KM_DATA_OK && !vpc->from_config) {
            km_unknown_res(a, vpc, &l, "ec2 describe-vpc-endpoints");
            continue;
        }
        size_t ne;
        const km_res *const *ev = km_all(a, "AWS::EC2::VPCEndpoint", &ne);
        char miss[200] = "", have[300] = "";
        for (const char *const *s = need; *s; s++) {
            char suffix[32];
            snprintf(suffix, sizeof suffix, ".%s", *s);
            int found = 0;
            for (size_t k = 0; k < ne && !found; k++) {
                const km_res *e = ev[k];
                if (strcmp(e->account, vpc->account)) continue;
                if (!km_streq_ci(km_json_str(km_res_get(e, "VpcId")), vpc->id)) continue;
                const char *state = km_json_str(km_res_get(e, "State"));
                if (state && !km_streq_ci(state, "available")) continue;
                if (km_str_ends(km_json_str(km_res_get(e, "ServiceName")), suffix)) found = 1;
            }
            char *dst = found ? have : miss;
            size_t cap = found ? sizeof have : sizeof miss;
            km_join(dst, cap, ", ", *s);
        }
        if (miss[0]) km_emit(a, vpc, KM_FAIL, "VPC in use without endpoint(s) for %s: traffic to them leaves the VPC", miss);
        else km_emit(a, vpc, KM_PASS, "endpoints for %s", have);
    }
}

static void chk_ssm_managed(km_audit *a) {
    size_t n;
    const km_res *const *v = km_all(a, "AWS::EC2::Instance", &n);
    for (size_t i = 0; i < n; i++) {
        const km_res *in = v[i];
        const char *state = km_json_str(km_ci_get(km_res_get(in, "State"), "Name"));
        if (state && !km_streq_ci(state, "running")) continue;
        if (km_begin(a, in)) continue;
        km_item it = km_get(a, in->account, in->region, "ssm", "describe-instance-information", NULL);
        if (km_unknown_res(a, in, &it, "ssm describe-instance-information")) continue;
        const km_json *l = km_ci_get(it.json, "InstanceInformationList");
        int found = 0;
        for (size_t k = 0; k < km_json_len(l) && !found; k++)
            found = km_streq_ci(km_ci_str(km_json_at(l, k), "InstanceId"), in->id);
        if (found) km_emit(a, in, KM_PASS, "managed by Systems Manager");
        else km_emit(a, in, KM_FAIL, "running but not managed by Systems Manager: Patch Manager cannot patch it");
    }
}

const km_check_impl km_chk_ec2[] = {
    {"KMA-EC2-SG-HIGH-RISK-PORTS", chk_high_risk},
    {"KMA-EC2-SG-ADMIN-PORTS", chk_admin_ports},
    {"KMA-EC2-SG-ALL-TRAFFIC", chk_all_traffic},
    {"KMA-EC2-SG-DEFAULT-CLOSED", chk_default_sg},
    {"KMA-EC2-EBS-DEFAULT-ENCRYPTION", chk_ebs_default},
    {"KMA-VPC-ENDPOINTS", chk_vpc_endpoints},
    {"KMA-SSM-MANAGED-INSTANCES", chk_ssm_managed},
    {NULL, NULL},
};
