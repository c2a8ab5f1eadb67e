/* Recoverability analysis over the hand-written snapshots of tests/data/recov/<case>/ (collect
 * layout, one account 111111111111 in us-east-1 unless said otherwise; roles admin (everything),
 * app (deletes databases and objects, nothing else) and backup-operator (backup:* and
 * s3:DeleteObjectVersion, nothing else); snapshot time 2025-06-01T00:00:00Z). The expected
 * verdicts, principals and paths below are written by hand from what each snapshot holds. */
#include "test.h"

#include "audit/snap.h"
#include "kumomori/json.h"
#include "recov/recov.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ADMIN "arn:aws:iam::111111111111:role/admin"

typedef struct rc {
    km_snap *snap;
    km_recov *r;
} rc;

static int load(rc *c, const char *name) {
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/data/recov/%s", km_test_top(), name);
    km_error err;
    km_error_clear(&err);
    c->snap = km_snap_new();
    c->r = NULL;
    if (!c->snap || km_snap_load(c->snap, path, &err) != KM_OK) return -1;
    km_snap_finish(c->snap, &err);
    const char *in[1] = {path};
    c->r = km_recov_analyze(c->snap, in, 1, NULL, &err);
    return c->r ? 0 : -1;
}

static void unload(rc *c) {
    km_recov_free(c->r);
    km_snap_free(c->snap);
}

static const km_recov_store *store(const rc *c, const char *name) {
    for (size_t i = 0; i < km_recov_nstores(c->r); i++)
        if (!strcmp(km_recov_store_at(c->r, i)->name, name)) return km_recov_store_at(c->r, i);
    return NULL;
}

static const km_recov_principal *principal(const km_recov_store *st, const char *arn) {
    for (size_t i = 0; i < st->nprincipals; i++)
        if (!strcmp(st->principals[i].arn, arn)) return &st->principals[i];
    return NULL;
}

/* The path of p whose steps are exactly these actions (NULL-terminated), or NULL. */
static const km_recov_path *path_with(const km_recov_path *v, size_t n, const char *const *actions) {
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        while (k < v[i].nsteps && actions[k] && !strcmp(v[i].steps[k].action, actions[k])) k++;
        if (!actions[k] && k == v[i].nsteps) return &v[i];
    }
    return NULL;
}

static int has_missing(const km_recov_store *st, const char *needle) {
    for (size_t i = 0; i < st->nmissing; i++)
        if (strstr(st->missing[i], needle)) return 1;
    return 0;
}

TEST(recov_unlocked_vault_admin_only) {
    rc c;
    CHECK(load(&c, "vault-unlocked") == 0);
    const km_recov_store *st = store(&c, "orders");
    CHECK(st);
    CHECK_INT(st->verdict, KM_RECOV_AT_RISK);
    CHECK_STR(st->type, "AWS::RDS::DBInstance");
    /* app can delete the database but no backup; backup-operator the reverse: only admin does both */
    CHECK_INT(st->nprincipals, 1);
    const km_recov_principal *p = principal(st, ADMIN);
    CHECK(p);
    CHECK_INT(p->result, KM_TRI_YES);
    static const char *const del_db[] = {"rds:DeleteDBInstance", NULL};
    const km_recov_path *d = path_with(p->data, p->ndata, del_db);
    CHECK(d);
    CHECK_STR(d->steps[0].resource, "arn:aws:rds:us-east-1:111111111111:db:orders");
    CHECK_CONTAINS(d->allowed_by, "everything");
    static const char *const del_rp[] = {"backup:DeleteRecoveryPoint", NULL};
    const km_recov_path *cp = path_with(p->copy, p->ncopy, del_rp);
    CHECK(cp);
    /* the newest recovery point stands for the vault's */
    CHECK_STR(cp->steps[0].resource, "arn:aws:rds:us-east-1:111111111111:snapshot:awsbackup:job-prod-vault-2");
    static const char *const shorten[] = {"backup:UpdateRecoveryPointLifecycle", NULL};
    CHECK(path_with(p->copy, p->ncopy, shorten));
    CHECK(!principal(st, "arn:aws:iam::111111111111:role/app"));
    CHECK(!principal(st, "arn:aws:iam::111111111111:role/backup-operator"));
    CHECK_INT(st->ncopies, 1);
    CHECK_STR(st->copies[0].kind, "backup-recovery-point");
    CHECK_INT(st->copies[0].count, 2);
    CHECK_INT(st->copies[0].immutable, 0);
    CHECK_STR(st->copies[0].isolated, "same-region");
    /* newest 2025-05-31T12:00:00Z, snapshot 2025-06-01T00:00:00Z */
    CHECK_INT((km_recov_time(c.r) - st->newest), 12 * 3600);
    CHECK_INT(km_recov_score(c.r), 0);
    CHECK_INT(st->nmissing, 0);
    unload(&c);
}

TEST(recov_locked_vault_and_grace_time) {
    rc c;
    CHECK(load(&c, "vault-locked") == 0);
    const km_recov_store *orders = store(&c, "orders"), *billing = store(&c, "billing");
    CHECK(orders && billing);
    /* compliance lock since 2025-01-10: immutable, nobody can destroy the copies */
    CHECK_INT(orders->verdict, KM_RECOV_RECOVERABLE);
    CHECK_INT(orders->copies[0].immutable, 1);
    CHECK_CONTAINS(orders->copies[0].immutability, "compliance mode since 2025-01-10");
    CHECK_INT(orders->nprincipals, 0);
    /* LockDate 2025-06-03 is after the snapshot: still in the grace time, the lock can go */
    CHECK_INT(billing->verdict, KM_RECOV_AT_RISK);
    CHECK_INT(billing->copies[0].immutable, 0);
    CHECK_CONTAINS(billing->copies[0].immutability, "grace time until 2025-06-03");
    const km_recov_principal *p = principal(billing, ADMIN);
    CHECK(p);
    static const char *const unlock[] = {"backup:DeleteBackupVaultLockConfiguration", "backup:DeleteRecoveryPoint", NULL};
    const km_recov_path *cp = path_with(p->copy, p->ncopy, unlock);
    CHECK(cp);
    CHECK_STR(cp->steps[0].resource, "arn:aws:backup:us-east-1:111111111111:backup-vault:grace-vault");
    /* backup-operator can remove the lock and delete, but not the database */
    CHECK_INT(billing->nprincipals, 1);
    CHECK_INT(km_recov_count(c.r, KM_RECOV_RECOVERABLE), 1);
    CHECK_INT(km_recov_score(c.r), 50);
    unload(&c);
}

TEST(recov_object_lock_governance_vs_compliance) {
    rc c;
    CHECK(load(&c, "object-lock") == 0);
    const km_recov_store *gov = store(&c, "gov-bucket"), *comp = store(&c, "comp-bucket");
    CHECK(gov && comp);
    CHECK_INT(comp->verdict, KM_RECOV_RECOVERABLE);
    CHECK_STR(comp->copies[0].kind, "s3-versioning");
    CHECK_INT(comp->copies[0].immutable, 1);
    CHECK_INT(gov->verdict, KM_RECOV_AT_RISK);
    CHECK_INT(gov->copies[0].immutable, 0);
    const km_recov_principal *p = principal(gov, ADMIN);
    CHECK(p);
    static const char *const bypass[] = {"s3:BypassGovernanceRetention", "s3:DeleteObjectVersion", NULL};
    const km_recov_path *cp = path_with(p->copy, p->ncopy, bypass);
    CHECK(cp);
    CHECK_STR(cp->steps[1].resource, "arn:aws:s3:::gov-bucket/*");
    /* locked versions cannot be expired by a lifecycle rule, nor deleted without the bypass */
    static const char *const plain[] = {"s3:DeleteObjectVersion", NULL};
    CHECK(!path_with(p->copy, p->ncopy, plain));
    /* backup-operator may delete versions but holds no s3:BypassGovernanceRetention nor the data */
    CHECK_INT(gov->nprincipals, 1);
    unload(&c);
}

TEST(recov_cross_account_copy) {
    rc c;
    CHECK(load(&c, "cross-account") == 0);
    const km_recov_store *st = store(&c, "orders");
    CHECK(st);
    CHECK_INT(st->verdict, KM_RECOV_RECOVERABLE);
    CHECK_INT(st->ncopies, 2);
    const km_recov_copy *far = NULL;
    for (size_t i = 0; i < st->ncopies; i++)
        if (!strcmp(st->copies[i].account, "222222222222")) far = &st->copies[i];
    CHECK(far);
    CHECK_STR(far->isolated, "cross-account");
    CHECK_STR(far->location, "backup vault bunker");
    /* prod's admin cannot reach the bunker (no vault policy lets it in); the bunker's admin
     * cannot reach prod's database */
    CHECK_INT(st->nprincipals, 0);
    CHECK_INT(km_recov_score(c.r), 100);
    unload(&c);
}

TEST(recov_vault_access_policy_deny) {
    rc c;
    CHECK(load(&c, "vault-policy-deny") == 0);
    const km_recov_store *orders = store(&c, "orders"), *billing = store(&c, "billing");
    CHECK(orders && billing);
    /* strong-vault denies deleting, shortening and replacing or deleting its own policy */
    CHECK_INT(orders->verdict, KM_RECOV_RECOVERABLE);
    CHECK_INT(orders->nprincipals, 0);
    /* weak-vault denies deleting, but not deleting the policy that denies it */
    CHECK_INT(billing->verdict, KM_RECOV_AT_RISK);
    const km_recov_principal *p = principal(billing, ADMIN);
    CHECK(p);
    static const char *const del_pol[] = {"backup:DeleteBackupVaultAccessPolicy", "backup:DeleteRecoveryPoint", NULL};
    const km_recov_path *cp = path_with(p->copy, p->ncopy, del_pol);
    CHECK(cp);
    CHECK_INT(cp->steps[1].no_resource_policy, 1);
    static const char *const direct[] = {"backup:DeleteRecoveryPoint", NULL};
    CHECK(!path_with(p->copy, p->ncopy, direct));
    unload(&c);
}

TEST(recov_scp_requiring_mfa) {
    rc c;
    CHECK(load(&c, "scp-mfa") == 0);
    const km_recov_store *st = store(&c, "orders");
    CHECK(st);
    /* the same account as vault-unlocked, with the strategy's SCP at the root: nobody without MFA */
    CHECK_INT(st->verdict, KM_RECOV_RECOVERABLE);
    CHECK_INT(st->nprincipals, 0);
    unload(&c);
}

TEST(recov_missing_data_is_unknown) {
    rc c;
    CHECK(load(&c, "missing-data") == 0);
    const km_recov_store *db = store(&c, "orders"), *b = store(&c, "invoices");
    CHECK(db && b);
    /* the vault policy was denied: it might deny admin, or let others in */
    CHECK_INT(db->verdict, KM_RECOV_UNKNOWN);
    CHECK(has_missing(db, "backup get-backup-vault-access-policy prod-vault"));
    CHECK(has_missing(db, "was denied (AccessDeniedException"));
    /* versioning denied and no other copy: not NOT_BACKED_UP */
    CHECK_INT(b->verdict, KM_RECOV_UNKNOWN);
    CHECK(has_missing(b, "s3api get-bucket-versioning invoices was denied"));
    CHECK_INT(b->ncopies, 0);
    CHECK_INT(km_recov_score(c.r), -1);
    unload(&c);
}

/* cut-listing is vault-locked with locked-vault's recovery points cut short by --max-items (a
 * NextToken, as a collect before 2026-11 could leave): the points of that vault are not judged
 * from the part listed, so orders has no verified copy there and its verdict is UNKNOWN, naming
 * the cut listing. billing's only known copy (grace-vault, listed whole) can be deleted, but a
 * locked copy of it could be past the cut in locked-vault: UNKNOWN too, not AT_RISK. */
TEST(recov_cut_short_listing_is_unknown) {
    rc c;
    CHECK(load(&c, "cut-listing") == 0);
    const km_recov_store *orders = store(&c, "orders"), *billing = store(&c, "billing");
    CHECK(orders && billing);
    CHECK_INT(orders->verdict, KM_RECOV_UNKNOWN);
    CHECK(has_missing(orders, "list-recovery-points-by-backup-vault locked-vault (111111111111 us-east-1) is cut short (NextToken)"));
    CHECK_INT(billing->verdict, KM_RECOV_UNKNOWN);
    CHECK(has_missing(billing, "locked-vault (111111111111 us-east-1) is cut short"));
    unload(&c);
}

TEST(recov_not_backed_up) {
    rc c;
    CHECK(load(&c, "not-backed-up") == 0);
    CHECK_INT(km_recov_nstores(c.r), 2);
    CHECK_INT(store(&c, "orders")->verdict, KM_RECOV_NOT_BACKED_UP);
    CHECK_INT(store(&c, "uploads")->verdict, KM_RECOV_NOT_BACKED_UP);
    CHECK_INT(km_recov_count(c.r, KM_RECOV_NOT_BACKED_UP), 2);
    CHECK_INT(km_recov_score(c.r), 0);
    unload(&c);
}

TEST(recov_json_shape) {
    rc c;
    CHECK(load(&c, "vault-unlocked") == 0);
    km_buf b = KM_BUF_INIT;
    CHECK(km_recov_json(c.r, &b) == 0);
    km_error err;
    km_json_doc *d = km_json_parse(b.data, b.len, NULL, NULL, &err);
    km_buf_free(&b);
    CHECK(d);
    const km_json *root = km_json_root(d);
    const km_json *st = km_json_at(km_json_get(root, "stores"), 0);
    int ok = km_json_len(km_json_get(root, "stores")) == 1 && !strcmp(km_json_get_str(st, "verdict", ""), "AT_RISK") &&
             !strcmp(km_json_get_str(root, "snapshot_time", ""), "2025-06-01T00:00:00Z") &&
             km_json_get(km_json_get(root, "counts"), "NOT_BACKED_UP") &&
             !strcmp(km_json_get_str(km_json_at(km_json_get(st, "principals"), 0), "arn", ""), ADMIN) &&
             km_json_len(km_json_get(km_json_at(km_json_get(st, "principals"), 0), "copy_paths")) >= 2 &&
             !strcmp(km_json_get_str(km_json_at(km_json_get(st, "copies"), 0), "isolated", ""), "same-region");
    const km_json *age = km_json_get(st, "newest_copy_age_hours");
    ok = ok && age && age->type == KM_JSON_NUMBER && age->u.num.d == 12.0;
    km_json_doc_free(d);
    CHECK(ok);
    unload(&c);
}

/* The plan's selection of store name, or NULL when no plan picks it. */
static const char *selection_of(const km_recov_store *st) { return st && st->nplans ? st->plans[0].selection : NULL; }

TEST(recov_backup_selection_by_tag) {
    rc c;
    CHECK(load(&c, "tag-selection") == 0);
    /* by-tag: ListOfTags backup=daily OR tier=gold, NotResources arn:aws:s3:::excluded-*;
     * prod-tables: DynamoDB tables AND env=prod AND owner not like temp-* */
    CHECK_STR(selection_of(store(&c, "daily-bucket")), "by-tag");   /* get-bucket-tagging backup=daily */
    CHECK_STR(selection_of(store(&c, "gold-bucket")), "by-tag");    /* the other tag of the list: OR */
    CHECK(!selection_of(store(&c, "untagged")));                    /* NoSuchTagSet: no tags */
    CHECK(!selection_of(store(&c, "excluded-logs")));               /* tagged, but NotResources wins */
    CHECK_STR(selection_of(store(&c, "reports")), "by-tag");        /* RDS TagList */
    CHECK_STR(selection_of(store(&c, "vol-0gold")), "by-tag");      /* EC2 volume Tags */
    CHECK_STR(selection_of(store(&c, "shared")), "by-tag");         /* EFS Tags */
    CHECK_STR(selection_of(store(&c, "orders")), "prod-tables");    /* list-tags-of-resource: both conditions hold */
    CHECK_INT(store(&c, "orders")->nplans, 1);
    CHECK_STR(store(&c, "orders")->plans[0].vault, "main-vault");
    CHECK(!selection_of(store(&c, "scratch")));                     /* owner temp-bob: StringNotLike fails (AND) */
    /* picked, but the vault holds no recovery point for them: still not backed up */
    CHECK_INT(store(&c, "daily-bucket")->verdict, KM_RECOV_NOT_BACKED_UP);
    CHECK_INT(store(&c, "orders")->verdict, KM_RECOV_NOT_BACKED_UP);
    /* tags that could not be read: whether a plan covers it cannot be told, so not NOT_BACKED_UP */
    const km_recov_store *denied = store(&c, "tags-denied"), *legacy = store(&c, "legacy");
    CHECK(denied && legacy);
    CHECK_INT(denied->verdict, KM_RECOV_UNKNOWN);
    CHECK(has_missing(denied, "whether selection by-tag of plan tags picks the bucket cannot be told: s3api get-bucket-tagging tags-denied was denied"));
    CHECK_INT(denied->nmissing, 1); /* prod-tables names tables only: it cannot pick a bucket whatever its tags */
    CHECK_INT(legacy->verdict, KM_RECOV_UNKNOWN);
    CHECK(has_missing(legacy, "selection prod-tables of plan tags picks the table cannot be told: dynamodb list-tags-of-resource legacy is not in the snapshot"));
    CHECK(has_missing(legacy, "selection by-tag of plan tags"));
    CHECK_INT(km_recov_count(c.r, KM_RECOV_NOT_BACKED_UP), 9);
    CHECK_INT(km_recov_count(c.r, KM_RECOV_UNKNOWN), 2);
    unload(&c);
}

#define ROLE(n) "arn:aws:iam::111111111111:role/" n
#define USER(n) "arn:aws:iam::111111111111:user/" n

TEST(recov_privilege_escalation) {
    rc c;
    CHECK(load(&c, "escalation") == 0);
    const km_recov_store *st = store(&c, "orders");
    CHECK(st);
    CHECK_INT(st->verdict, KM_RECOV_AT_RISK);
    /* with their own permissions: admin, lambda-admin and ops-bot (rds:DeleteDBInstance and
     * backup:DeleteRecoveryPoint); by one escalation step: the six below */
    CHECK_INT(st->nprincipals, 9);
    static const char *const direct[] = {ROLE("admin"), ROLE("lambda-admin"), USER("ops-bot")};
    for (size_t i = 0; i < 3; i++) {
        const km_recov_principal *p = principal(st, direct[i]);
        CHECK(p && !p->via);
    }
    /* iam:AttachRolePolicy on itself: then it holds a policy allowing everything */
    const km_recov_principal *p = principal(st, ROLE("self-attacher"));
    CHECK(p && p->via);
    CHECK_STR(p->via->steps[0].action, "iam:AttachRolePolicy");
    CHECK_STR(p->via->steps[0].resource, ROLE("self-attacher"));
    CHECK_STR(p->via->as, ROLE("self-attacher"));
    CHECK_INT(p->via->grant_admin, 1);
    static const char *const del_db[] = {"rds:DeleteDBInstance", NULL};
    const km_recov_path *d = path_with(p->data, p->ndata, del_db);
    CHECK(d);
    CHECK_CONTAINS(d->allowed_by, "a policy it attaches (allows everything)");
    /* iam:PassRole of lambda-admin (trusted by lambda.amazonaws.com) with lambda:CreateFunction and InvokeFunction */
    p = principal(st, ROLE("passer"));
    CHECK(p && p->via);
    CHECK_INT(p->via->nsteps, 3);
    CHECK_STR(p->via->steps[0].action, "iam:PassRole");
    CHECK_STR(p->via->as, ROLE("lambda-admin"));
    CHECK_INT(p->via->grant_admin, 0);
    /* iam:UpdateAssumeRolePolicy then sts:AssumeRole on lambda-admin */
    p = principal(st, ROLE("rewriter"));
    CHECK(p && p->via);
    CHECK_STR(p->via->steps[0].action, "iam:UpdateAssumeRolePolicy");
    CHECK_STR(p->via->steps[1].action, "sts:AssumeRole");
    /* iam:AttachRolePolicy on readonly (which admits the account's principals), then assume it */
    p = principal(st, ROLE("assumer"));
    CHECK(p && p->via);
    CHECK_STR(p->via->as, ROLE("readonly"));
    CHECK_INT(p->via->grant_admin, 1);
    /* a user: an access key for ops-bot; joining dbadmins (rds:*, backup:*) */
    p = principal(st, USER("intern"));
    CHECK(p && p->via);
    CHECK_STR(p->via->steps[0].action, "iam:CreateAccessKey");
    CHECK_STR(p->via->as, USER("ops-bot"));
    p = principal(st, USER("joiner"));
    CHECK(p && p->via);
    CHECK_STR(p->via->steps[0].action, "iam:AddUserToGroup");
    CHECK_STR(p->via->grant_group, "dbadmins");
    CHECK_STR(p->via->as, USER("joiner"));
    /* blocked: bounded's boundary allows only iam:* and s3:* (whatever it attaches); ec2-passer's
     * role does not trust EC2; the SCP denies blocked-rewriter iam:UpdateAssumeRolePolicy; app
     * and readonly hold no escalation */
    CHECK(!principal(st, ROLE("bounded")));
    CHECK(!principal(st, ROLE("ec2-passer")));
    CHECK(!principal(st, ROLE("blocked-rewriter")));
    CHECK(!principal(st, ROLE("app")));
    CHECK(!principal(st, ROLE("readonly")));
    /* the verdict names an escalation path */
    CHECK_CONTAINS(st->reason, "9 principal(s) can destroy the database and all 2 copies without MFA; 6 of them by privilege escalation: ");
    CHECK_CONTAINS(st->reason, "then rds:DeleteDBInstance on arn:aws:rds:us-east-1:111111111111:db:orders and backup:DeleteRecoveryPoint on");
    unload(&c);
}

/* The copy of st whose location is loc, or NULL. */
static const km_recov_copy *copy_at(const km_recov_store *st, const char *loc) {
    for (size_t i = 0; st && i < st->ncopies; i++)
        if (!strcmp(st->copies[i].location, loc)) return &st->copies[i];
    return NULL;
}

/* Hours between the snapshot time (2025-06-01T00:00:00Z) and a copy's newest time. */
static long age_h(const rc *c, const km_recov_copy *cp) { return cp ? (long)((km_recov_time(c->r) - cp->newest) / 3600) : -1; }

TEST(recov_cross_region_copies) {
    rc c;
    CHECK(load(&c, "cross-region") == 0);
    const km_recov_store *db = NULL, *west = NULL, *vol = store(&c, "vol-0src");
    for (size_t i = 0; i < km_recov_nstores(c.r); i++) {
        const km_recov_store *s = km_recov_store_at(c.r, i);
        if (!strcmp(s->name, "orders")) *(strcmp(s->region, "us-east-1") ? &west : &db) = s;
    }
    CHECK(db && west && vol);
    /* orders in us-east-1: its own automated backups, manual snapshot and east-vault recovery point,
     * and in us-west-2 the replicated automated backups (LatestTime 2025-05-31T22:00), the copy of
     * orders-manual (SourceRegion us-east-1, 2025-05-21) and the plan's copy into west-copies (06:00) */
    CHECK_INT(db->ncopies, 6);
    const km_recov_copy *rep = copy_at(db, "automated backups replicated to us-west-2 (7 days, point-in-time restore)");
    CHECK(rep);
    CHECK_STR(rep->kind, "rds-replicated-backup");
    CHECK_STR(rep->arn, "arn:aws:rds:us-west-2:111111111111:auto-backup:ab-orders0001");
    CHECK_STR(rep->isolated, "cross-region");
    CHECK_INT(age_h(&c, rep), 2);
    const km_recov_copy *snapcopy = copy_at(db, "manual snapshot orders-copy copied to us-west-2");
    CHECK(snapcopy);
    CHECK_STR(snapcopy->isolated, "cross-region");
    CHECK_INT(age_h(&c, snapcopy), 11 * 24);
    const km_recov_copy *vaultcopy = copy_at(db, "backup vault west-copies");
    CHECK(vaultcopy);
    CHECK_STR(vaultcopy->isolated, "cross-region");
    CHECK_INT(age_h(&c, vaultcopy), 18);
    CHECK_STR(copy_at(db, "manual snapshot orders-manual")->isolated, "same-region");
    CHECK(!copy_at(db, "manual snapshot orders-local")); /* us-west-2's own database of the same name */
    CHECK_CONTAINS(db->reason, "; 3 copies in another region or account (newest 2.0 h old)");
    /* the replicated backups are destroyed by stopping the replication, then deleting them */
    const km_recov_principal *p = principal(db, ADMIN);
    CHECK(p);
    static const char *const stop_del[] = {"rds:StopDBInstanceAutomatedBackupsReplication", "rds:DeleteDBInstanceAutomatedBackup", NULL};
    const km_recov_path *sd = path_with(p->copy, p->ncopy, stop_del);
    CHECK(sd);
    CHECK_STR(sd->steps[0].resource, "arn:aws:rds:us-east-1:111111111111:db:orders");
    /* east-admin may do anything to us-east-1's RDS, EC2 and Backup resources only: the copies in
     * us-west-2 are out of its reach */
    CHECK_INT(db->nprincipals, 1);
    CHECK(!principal(db, "arn:aws:iam::111111111111:role/east-admin"));
    /* us-west-2's orders: only its own snapshot (orders-copy came from us-east-1) */
    CHECK_INT(west->ncopies, 1);
    CHECK(copy_at(west, "manual snapshot orders-local"));
    /* the volume: snap-0aaa, its copy snap-0bbb in us-west-2 ("[Copied snap-0aaa from us-east-1]")
     * and the copy of that copy snap-0ccc; not snap-0ddd (copied from another snapshot) */
    CHECK_INT(vol->ncopies, 3);
    const km_recov_copy *b = copy_at(vol, "EBS snapshot snap-0bbb copied to us-west-2"), *cc = copy_at(vol, "EBS snapshot snap-0ccc copied to us-west-2");
    CHECK(b && cc);
    CHECK_STR(b->isolated, "cross-region");
    CHECK_STR(b->arn, "arn:aws:ec2:us-west-2::snapshot/snap-0bbb");
    CHECK_INT(age_h(&c, b), 42);
    CHECK_INT(age_h(&c, cc), 24);
    CHECK_CONTAINS(vol->reason, "; 2 copies in another region or account (newest 24.0 h old)");
    CHECK(!principal(vol, "arn:aws:iam::111111111111:role/east-admin"));
    unload(&c);
}
