/* RDS: encryption with a customer managed key, no public access, security groups, snapshots,
 * monitoring and log exports, backups and deletion protection, minor version upgrades, and
 * GuardDuty RDS Protection lives with the detection services. */
#include "audit/check.h"
#include "audit/ec2facts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Aurora instances take storage, backups and deletion protection from their cluster. */
static int in_cluster(const km_res *db) { return km_json_str(km_res_get(db, "DBClusterIdentifier")) != NULL; }

typedef void (*db_fn)(km_audit *a, const km_res *db, int cluster);

/* A field every DescribeDBInstances / DescribeDBClusters answer carries today. A recording
 * without it (trimmed by hand, or made before the feature existed: DeletionProtection dates from
 * 2018) cannot tell, so the check goes UNKNOWN instead of reading the absence as "off". */
static const km_json *need(km_audit *a, const km_res *r, const char *field) {
    const km_json *v = km_res_get(r, field);
    if (!v || v->type == KM_JSON_NULL) {
        km_emit(a, r, KM_UNKNOWN, "cannot tell: %s is not in the recorded answer (%s)", field, r->file ? r->file : "snapshot");
        return NULL;
    }
    return v;
}

static void each_db(km_audit *a, db_fn fn, int skip_cluster_members) {
    km_listing_unknown(a, "AWS::RDS::DBInstance", "rds describe-db-instances");
    km_listing_unknown(a, "AWS::RDS::DBCluster", "rds describe-db-clusters");
    size_t n;
    const km_res *const *v = km_all(a, "AWS::RDS::DBInstance", &n);
    for (size_t i = 0; i < n; i++) {
        if (skip_cluster_members && in_cluster(v[i])) continue;
        if (km_begin(a, v[i])) continue;
        fn(a, v[i], 0);
    }
    v = km_all(a, "AWS::RDS::DBCluster", &n);
    for (size_t i = 0; i < n; i++) {
        if (km_begin(a, v[i])) continue;
        fn(a, v[i], 1);
    }
}

static void db_encrypted(km_audit *a, const km_res *db, int cluster) {
    (void)cluster;
    const km_json *enc = need(a, db, "StorageEncrypted");
    if (!enc) return;
    if (km_json_truth(enc) == 1) km_emit(a, db, KM_PASS, "storage encrypted");
    else km_emit(a, db, KM_FAIL, "storage not encrypted: a copied snapshot or stolen volume is readable");
}

static void chk_encrypted(km_audit *a) { each_db(a, db_encrypted, 1); }

static void db_cmk(km_audit *a, const km_res *db, int cluster) {
    (void)cluster;
    const km_json *enc = need(a, db, "StorageEncrypted");
    if (!enc) return;
    if (km_json_truth(enc) != 1) { km_emit(a, db, KM_FAIL, "not encrypted at all"); return; }
    const char *kid = km_json_str(km_res_get(db, "KmsKeyId"));
    if (!kid) { km_emit(a, db, KM_UNKNOWN, "cannot tell: encrypted but KmsKeyId is not in the snapshot"); return; }
    const km_res *key = km_snap_find_arn(a->snap, kid);
    if (!key) {
        char kacct[32];
        km_arn_field(kid, 4, kacct, sizeof kacct);
        km_emit(a, db, KM_UNKNOWN, "cannot tell: key %s is not in the snapshot%s", kid,
                strcmp(kacct, db->account) ? " (another account)" : " (kms list-keys / describe-key)");
        return;
    }
    km_ev(a, key->file);
    const char *mgr = km_json_str(km_ci_get(km_res_get(key, "KeyMetadata"), "KeyManager"));
    if (!mgr) mgr = km_json_str(km_res_get(key, "KeyManager"));
    if (!mgr) {
        km_item d = km_rget(a, key, "kms", "describe-key");
        if (km_unknown_res(a, db, &d, "kms describe-key")) return;
        mgr = km_ci_str(km_ci_get(d.json, "KeyMetadata"), "KeyManager");
    }
    if (km_streq_ci(mgr, "CUSTOMER")) km_emit(a, db, KM_PASS, "encrypted with customer managed key %s", kid);
    else if (km_streq_ci(mgr, "AWS"))
        km_emit(a, db, KM_FAIL, "encrypted with the AWS managed key aws/rds: its policy cannot be controlled and snapshots cannot be shared to a backup account");
    else km_emit(a, db, KM_UNKNOWN, "cannot tell who manages key %s", kid);
}

static void chk_cmk(km_audit *a) { each_db(a, db_cmk, 1); }

static void chk_public(km_audit *a) {
    km_listing_unknown(a, "AWS::RDS::DBInstance", "rds describe-db-instances");
    size_t n;
    const km_res *const *v = km_all(a, "AWS::RDS::DBInstance", &n);
    for (size_t i = 0; i < n; i++) {
        if (km_begin(a, v[i])) continue;
        const km_json *pub = need(a, v[i], "PubliclyAccessible");
        if (!pub) continue;
        if (km_json_truth(pub) == 1)
            km_emit(a, v[i], KM_FAIL, "publicly accessible: the endpoint resolves to a public address");
        else km_emit(a, v[i], KM_PASS, "not publicly accessible");
    }
}

static void chk_sg_open(km_audit *a) {
    km_listing_unknown(a, "AWS::RDS::DBInstance", "rds describe-db-instances");
    size_t n;
    const km_res *const *v = km_all(a, "AWS::RDS::DBInstance", &n);
    for (size_t i = 0; i < n; i++) {
        const km_res *db = v[i];
        if (km_begin(a, db)) continue;
        double port = -1;
        km_json_num(km_ci_get(km_res_get(db, "Endpoint"), "Port"), &port);
        if (port < 0) km_json_num(km_res_get(db, "DbInstancePort"), &port);
        const km_json *sgs = km_res_get(db, "VpcSecurityGroups");
        char open[300] = "", missing[300] = "";
        for (size_t k = 0; k < km_json_len(sgs); k++) {
            const char *id = km_ci_str(km_json_at(sgs, k), "VpcSecurityGroupId");
            if (!id) continue;
            const km_res *sg = km_sg_find(a, db->account, db->region, id);
            if (!sg) {
                km_join(missing, sizeof missing, ", ", id);
                continue;
            }
            km_ev(a, sg->file);
            char rule[128];
            if (km_sg_world_open(sg, port >= 0 ? (int)port : -1, rule, sizeof rule) || km_sg_world_open(sg, -1, rule, sizeof rule)) {
                snprintf(open, sizeof open, "%s allows %s", id, rule);
                break;
            }
        }
        if (open[0]) km_emit(a, db, KM_FAIL, "security group %s to the database port %.0f", open, port);
        else if (missing[0]) km_emit(a, db, KM_UNKNOWN, "cannot tell: security group(s) %s are not in the snapshot", missing);
        else if (!km_json_len(sgs)) km_emit(a, db, KM_UNKNOWN, "cannot tell: no VPC security groups recorded for the instance");
        else km_emit(a, db, KM_PASS, "no attached security group opens port %.0f to the internet", port);
    }
}

static void snapshots(km_audit *a, const char *type, int check_public) {
    km_listing_unknown(a, type, strstr(type, "Cluster") ? "rds describe-db-cluster-snapshots" : "rds describe-db-snapshots");
    size_t n;
    const km_res *const *v = km_all(a, type, &n);
    int cluster = strstr(type, "Cluster") != NULL;
    for (size_t i = 0; i < n; i++) {
        const km_res *s = v[i];
        if (km_begin(a, s)) continue;
        if (!check_public) {
            const km_json *enc = km_res_get(s, cluster ? "StorageEncrypted" : "Encrypted");
            if (!enc) enc = km_res_get(s, "StorageEncrypted");
            if (!enc) enc = need(a, s, cluster ? "StorageEncrypted" : "Encrypted");
            if (!enc) continue;
            if (km_json_truth(enc) == 1) km_emit(a, s, KM_PASS, "snapshot encrypted");
            else km_emit(a, s, KM_FAIL, "snapshot not encrypted");
            continue;
        }
        const char *op = cluster ? "describe-db-cluster-snapshot-attributes" : "describe-db-snapshot-attributes";
        km_item at = km_rget(a, s, "rds", op);
        if (km_unknown_res(a, s, &at, op)) continue;
        const km_json *res = km_ci_get(at.json, cluster ? "DBClusterSnapshotAttributesResult" : "DBSnapshotAttributesResult");
        const km_json *attrs = km_ci_get(res, cluster ? "DBClusterSnapshotAttributes" : "DBSnapshotAttributes");
        int pub = 0;
        for (size_t k = 0; k < km_json_len(attrs); k++) {
            const km_json *e = km_json_at(attrs, k);
            if (km_streq_ci(km_ci_str(e, "AttributeName"), "restore") && km_json_has_str(km_ci_get(e, "AttributeValues"), "all")) pub = 1;
        }
        if (pub) km_emit(a, s, KM_FAIL, "snapshot is public: anyone can restore the database from it");
        else km_emit(a, s, KM_PASS, "snapshot is not shared publicly");
    }
}

static void chk_snap_encrypted(km_audit *a) {
    snapshots(a, "AWS::RDS::DBSnapshot", 0);
    snapshots(a, "AWS::RDS::DBClusterSnapshot", 0);
}

static void chk_snap_public(km_audit *a) {
    snapshots(a, "AWS::RDS::DBSnapshot", 1);
    snapshots(a, "AWS::RDS::DBClusterSnapshot", 1);
}

static void chk_monitoring(km_audit *a) {
    km_listing_unknown(a, "AWS::RDS::DBInstance", "rds describe-db-instances");
    size_t n;
    const km_res *const *v = km_all(a, "AWS::RDS::DBInstance", &n);
    for (size_t i = 0; i < n; i++) {
        if (km_begin(a, v[i])) continue;
        double iv = 0;
        const km_json *mi = need(a, v[i], "MonitoringInterval");
        if (!mi) continue;
        km_json_num(mi, &iv);
        if (iv > 0) km_emit(a, v[i], KM_PASS, "enhanced monitoring every %.0f s", iv);
        else km_emit(a, v[i], KM_FAIL, "enhanced monitoring is off");
    }
}

static void db_logs(km_audit *a, const km_res *db, int cluster) {
    const char *engine = km_json_str(km_res_get(db, "Engine"));
    const km_json *ex = km_res_get(db, "EnabledCloudwatchLogsExports");
    const char *want = "audit";
    if (engine && strstr(engine, "postgres")) want = "postgresql";
    else if (engine && strstr(engine, "sqlserver")) want = "error";
    if (!cluster && engine && km_str_starts(engine, "aurora")) return; /* exported by the cluster */
    if (!engine) { need(a, db, "Engine"); return; } /* which log to want depends on the engine */
    if (km_json_has_str(ex, want)) km_emit(a, db, KM_PASS, "exports the %s log to CloudWatch Logs", want);
    else if (km_json_len(ex)) km_emit(a, db, KM_FAIL, "exports logs but not the %s log (engine %s)", want, engine ? engine : "?");
    else km_emit(a, db, KM_FAIL, "exports no logs to CloudWatch Logs: queries that read or destroy data leave no trace");
}

static void chk_log_exports(km_audit *a) { each_db(a, db_logs, 0); }

static void db_retention(km_audit *a, const km_res *db, int cluster) {
    (void)cluster;
    double d = 0;
    const km_json *rp = need(a, db, "BackupRetentionPeriod");
    if (!rp) return;
    km_json_num(rp, &d);
    if (d >= (double)a->opts.backup_retention_days) km_emit(a, db, KM_PASS, "automated backups kept %.0f days", d);
    else if (d <= 0) km_emit(a, db, KM_FAIL, "automated backups are off");
    else km_emit(a, db, KM_FAIL, "automated backups kept %.0f days (at least %ld)", d, a->opts.backup_retention_days);
}

static void chk_retention(km_audit *a) { each_db(a, db_retention, 1); }

static void db_deletion(km_audit *a, const km_res *db, int cluster) {
    (void)cluster;
    const km_json *dp = need(a, db, "DeletionProtection");
    if (!dp) return;
    if (km_json_truth(dp) == 1) km_emit(a, db, KM_PASS, "deletion protection on");
    else km_emit(a, db, KM_FAIL, "deletion protection off: one API call deletes the database");
}

static void chk_deletion(km_audit *a) { each_db(a, db_deletion, 1); }

static void chk_minor_upgrade(km_audit *a) {
    km_listing_unknown(a, "AWS::RDS::DBInstance", "rds describe-db-instances");
    size_t n;
    const km_res *const *v = km_all(a, "AWS::RDS::DBInstance", &n);
    for (size_t i = 0; i < n; i++) {
        if (km_begin(a, v[i])) continue;
        const km_json *mu = need(a, v[i], "AutoMinorVersionUpgrade");
        if (!mu) continue;
        if (km_json_truth(mu) == 1) km_emit(a, v[i], KM_PASS, "automatic minor version upgrades on");
        else km_emit(a, v[i], KM_FAIL, "automatic minor version upgrades off: engine security fixes wait for someone");
    }
}

const km_check_impl km_chk_rds[] = {
    {"KMA-RDS-STORAGE-ENCRYPTED", chk_encrypted},
    {"KMA-RDS-CMK", chk_cmk},
    {"KMA-RDS-PUBLIC", chk_public},
    {"KMA-RDS-SG-OPEN", chk_sg_open},
    {"KMA-RDS-SNAPSHOT-ENCRYPTED", chk_snap_encrypted},
    {"KMA-RDS-SNAPSHOT-PUBLIC", chk_snap_public},
    {"KMA-RDS-ENHANCED-MONITORING", chk_monitoring},
    {"KMA-RDS-LOG-EXPORTS", chk_log_exports},
    {"KMA-RDS-BACKUP-RETENTION", chk_retention},
    {"KMA-RDS-DELETION-PROTECTION", chk_deletion},
    {"KMA-RDS-MINOR-UPGRADE", chk_minor_upgrade},
    {NULL, NULL},
};
