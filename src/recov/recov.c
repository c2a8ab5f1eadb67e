/* Recoverability analysis (see recov.h and docs/recoverability.md).
 *
 * Three steps per data store: gather the recovery copies the snapshot shows (and note every
 * source of copies it could not read), instantiate the destruction paths of
 * checks/recov/actions.json for the store and each copy, then ask the IAM engine, for every
 * user and role, whether each step is allowed without MFA. All answers are three-valued: a
 * step on a resource whose policy the snapshot could not read is "cannot tell", whatever the
 * engine says without it, so that a verdict is AT_RISK or NOT_BACKED_UP only when the snapshot
 * really says so. */
#include "recov/recov.h"

#include "audit/check.h" /* km_item_why */
#include "audit/hmap.h"
#include "audit/util.h"
#include "kumomori/iam.h"
#include "kumomori/json.h"
#include "util/arena.h"
#include "util/embedded.h"
#include "util/limits.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define ACTIONS_FILE "checks/recov/actions.json"

typedef struct evres {
    km_tri t;
    const char *why;
    int cond;
} evres;

struct km_recov {
    km_arena arena;
    km_snap *snap;
    int64_t now;
    km_recov_store *stores;
    size_t nstores, capstores;
    const char **notes;
    size_t nnotes, capnotes;
    size_t principals_evaluated;
    size_t counts[KM_RECOV_NVERDICTS];
    int score;
    /* analysis state */
    km_json_doc *actions;
    km_iam_account **iam, **iam_nopol;
    size_t niam;
    const char **iam_input; /* the input each IAM account was loaded from */
    size_t *iam_load;       /* and which of the snapshot's loads read it */
    size_t ninputs;
    const char *managed;
    const char **parn;      /* principals: ARN and the IAM account index */
    size_t *pidx;
    size_t npr;
    km_hmap cache;          /* "i|nopol|grant|principal|action|resource" -> evres* */
    km_hmap skip;           /* signature of a store's first copy -> cands* (judge) */
    const km_json *esc_defs;/* checks/recov/actions.json "escalations" */
    km_recov_escalation **esc; /* per principal: the escalations open to it, found on first need */
    size_t *nesc;
    unsigned char *esc_done;
    size_t evals, budget;   /* IAM engine calls made, and the most allowed */
    const char *budget_why;
    int failed;
    /* two threads judging (judge_all): what they share is guarded by mu (NULL with one); the
     * second thread's arena holds part of the verdicts and is kept until km_recov_free */
    pthread_mutex_t *mu;
    km_arena warena;
};

static void lock(km_recov *R) {
    if (R->mu) pthread_mutex_lock(R->mu);
}

static void unlock(km_recov *R) {
    if (R->mu) pthread_mutex_unlock(R->mu);
}

/* ---- memory: everything lives in the arena ---------------------------------------------- */

static void *grow(km_recov *R, void *v, size_t *cap, size_t n, size_t sz) {
    if (n < *cap) return v;
    size_t nc = *cap ? *cap * 2 : 4;
    void *nv = km_arena_alloc(&R->arena, nc * sz);
    if (!nv) {
        R->failed = 1;
        return NULL;
    }
    if (v && n) memcpy(nv, v, n * sz);
    *cap = nc;
    return nv;
}

#define PUSH(R, arr, n, cap)                                                                   \
    ((arr) = grow((R), (arr), &(cap), (n), sizeof *(arr)), (arr) ? &(arr)[(n)++] : NULL)

static const char *S(km_recov *R, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static const char *S(km_recov *R, const char *fmt, ...) {
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0) return "";
    char *s = km_arena_strndup(&R->arena, buf, strlen(buf));
    if (!s) R->failed = 1;
    return s ? s : "";
}

static const char *D(km_recov *R, const char *s) { return s ? S(R, "%s", s) : NULL; }

static void note(km_recov *R, const char *msg) {
    for (size_t i = 0; i < R->nnotes; i++)
        if (!strcmp(R->notes[i], msg)) return;
    const char **p = PUSH(R, R->notes, R->nnotes, R->capnotes);
    if (p) *p = msg;
}

typedef struct sbuild {
    km_recov_store *st;
    size_t capcopies, capplans, capprincipals, capmissing;
} sbuild;

static void missing(km_recov *R, sbuild *b, const char *msg) {
    if (!msg) return;
    for (size_t i = 0; i < b->st->nmissing; i++)
        if (!strcmp(b->st->missing[i], msg)) return;
    const char **p = PUSH(R, b->st->missing, b->st->nmissing, b->capmissing);
    if (p) *p = msg;
}

/* Why an answer cannot be used, for "missing" lists; NULL when it is usable (data or "not
 * configured"). */
static const char *why_item(km_recov *R, const km_item *it, const char *what) {
    if (it->status == KM_DATA_OK || it->status == KM_DATA_ABSENT) return NULL;
    char buf[700];
    km_item_why(it, what, buf, sizeof buf);
    const char *s = buf;
    if (km_str_starts(s, "cannot tell: ")) s += 13; /* every entry of "missing" is a cannot-tell */
    return S(R, "%s", s);
}

/* ---- small JSON and ARN helpers ----------------------------------------------------------- */

/* The store's tags (NULL: none), or *why when they could not be read. RDS, EBS and EFS carry
 * them in their description (TagList, Tags); S3 buckets and DynamoDB tables only answer a call
 * of their own (get-bucket-tagging, whose NoSuchTagSet means "no tags"; list-tags-of-resource). */
static const km_json *store_tags(km_recov *R, const km_res *r, const char **why) {
    *why = NULL;
    if (r->from_config || (strcmp(r->type, "AWS::S3::Bucket") && strcmp(r->type, "AWS::DynamoDB::Table"))) return r->tags;
    int s3 = !strcmp(r->type, "AWS::S3::Bucket");
    km_item it = s3 ? km_res_data(R->snap, r, "s3api", "get-bucket-tagging")
                    : km_res_data(R->snap, r, "dynamodb", "list-tags-of-resource");
    if (it.status == KM_DATA_ABSENT) return NULL;
    if (it.status != KM_DATA_OK) {
        *why = why_item(R, &it, S(R, "%s %s", s3 ? "s3api get-bucket-tagging" : "dynamodb list-tags-of-resource", r->name));
        return NULL;
    }
    return km_ci_get(it.json, s3 ? "TagSet" : "Tags");
}

static km_tri tri_or(km_tri a, km_tri b) {
    if (a == KM_TRI_YES || b == KM_TRI_YES) return KM_TRI_YES;
    if (a == KM_TRI_UNK || b == KM_TRI_UNK) return KM_TRI_UNK;
    return KM_TRI_NO;
}

static km_tri tri_and(km_tri a, km_tri b) {
    if (a == KM_TRI_NO || b == KM_TRI_NO) return KM_TRI_NO;
    if (a == KM_TRI_UNK || b == KM_TRI_UNK) return KM_TRI_UNK;
    return KM_TRI_YES;
}

static int64_t time_of(const km_json *v) {
    int64_t t;
    return v && km_parse_time(v, &t) == 0 ? t : 0;
}

static const char *isolation(const km_recov_store *st, const char *acct, const char *region) {
    if (acct && strcmp(acct, st->account)) return "cross-account";
    if (region && strcmp(region, st->region)) return "cross-region";
    return "same-region";
}

/* ---- KMS keys ------------------------------------------------------------------------------ */

/* The customer managed key behind a key reference (ARN, key id or alias) seen in account and
 * region; sets *unknown when its key policy cannot be read. NULL when the key is AWS managed,
 * absent, or outside the snapshot (then a note says why it was not evaluated). */
static const char *cmk(km_recov *R, sbuild *b, const char *ref, const char *account, const char *region,
                       const char **unknown) {
    *unknown = NULL;
    if (!ref || !*ref) return NULL;
    if (strstr(ref, "alias/aws/")) return NULL; /* AWS managed: nobody can disable or delete it */
    char arn[600];
    if (km_str_starts(ref, "arn:") && strstr(ref, ":key/")) {
        snprintf(arn, sizeof arn, "%s", ref);
    } else if (!strchr(ref, ':') && !strchr(ref, '/')) {
        snprintf(arn, sizeof arn, "arn:aws:kms:%s:%s:key/%s", region, account, ref);
    } else {
        missing(R, b, S(R, "KMS key %s is named by an alias: who can disable it was not evaluated", ref));
        return NULL;
    }
    char kacct[32], kreg[64];
    km_arn_field(arn, 4, kacct, sizeof kacct);
    km_arn_field(arn, 3, kreg, sizeof kreg);
    const char *kid = strstr(arn, ":key/") + 5;
    const km_res *key = km_snap_find_arn(R->snap, arn);
    if (!key) {
        size_t n;
        const km_res *const *v = km_snap_resources(R->snap, "AWS::KMS::Key", &n);
        for (size_t i = 0; i < n && !key; i++)
            if (!strcmp(v[i]->id, kid) && !strcmp(v[i]->account, kacct)) key = v[i];
    }
    if (!key) {
        km_item l = km_snap_listing(R->snap, kacct, kreg, "AWS::KMS::Key");
        if (l.status == KM_DATA_OK) return NULL; /* listed and not there: an AWS managed key of another listing, or gone */
        missing(R, b, S(R, "KMS key %s is not in the snapshot (account %s, %s): who can disable or delete it was not evaluated",
                        arn, kacct, kreg));
        return NULL;
    }
    km_item d = km_res_data(R->snap, key, "kms", "describe-key");
    const char *mgr = d.status == KM_DATA_OK ? km_json_str(km_ci_path(d.json, "KeyMetadata.KeyManager")) : NULL;
    if (!mgr) mgr = km_json_str(km_res_get(key, "KeyManager"));
    if (mgr && !strcmp(mgr, "AWS")) return NULL;
    km_item pol = km_res_data(R->snap, key, "kms", "get-key-policy");
    if (pol.status != KM_DATA_OK) *unknown = why_item(R, &pol, S(R, "kms get-key-policy %s", arn));
    if (pol.status == KM_DATA_ABSENT) *unknown = S(R, "the key policy of %s could not be read", arn);
    return S(R, "%s", arn);
}

/* ---- S3 facts ------------------------------------------------------------------------------- */

typedef struct bucket_facts {
    km_data_status vers_st, lock_st, repl_st, enc_st, pol_st;
    const char *vers_why, *lock_why, *repl_why, *pol_why;
    int versioning, mfa_delete, object_lock, governance;
    long lock_days;
    const km_json *rules; /* replication rules */
    const char *kms_ref;
} bucket_facts;

static void bucket_read(km_recov *R, const km_res *b, bucket_facts *f) {
    memset(f, 0, sizeof *f);
    km_item v = km_res_data(R->snap, b, "s3api", "get-bucket-versioning");
    f->vers_st = v.status;
    f->vers_why = why_item(R, &v, S(R, "s3api get-bucket-versioning %s", b->name));
    if (v.status == KM_DATA_OK) {
        const char *s = km_json_str(km_ci_get(v.json, "Status"));
        f->versioning = s && !strcmp(s, "Enabled");
        const char *m = km_json_str(km_ci_get(v.json, "MFADelete"));
        f->mfa_delete = m && !strcmp(m, "Enabled");
    }
    km_item l = km_res_data(R->snap, b, "s3api", "get-object-lock-configuration");
    f->lock_st = l.status;
    f->lock_why = why_item(R, &l, S(R, "s3api get-object-lock-configuration %s", b->name));
    if (l.status == KM_DATA_OK) {
        const km_json *c = km_ci_get(l.json, "ObjectLockConfiguration");
        const char *en = km_json_str(km_ci_get(c, "ObjectLockEnabled"));
        const char *mode = km_json_str(km_ci_path(c, "Rule.DefaultRetention.Mode"));
        if (en && !strcmp(en, "Enabled") && mode) {
            f->object_lock = 1;
            f->governance = !strcmp(mode, "GOVERNANCE");
            double d = 0;
            if (km_json_num(km_ci_path(c, "Rule.DefaultRetention.Days"), &d) == 0) f->lock_days = (long)d;
            else if (km_json_num(km_ci_path(c, "Rule.DefaultRetention.Years"), &d) == 0) f->lock_days = (long)(d * 365);
        }
    }
    km_item r = km_res_data(R->snap, b, "s3api", "get-bucket-replication");
    f->repl_st = r.status;
    f->repl_why = why_item(R, &r, S(R, "s3api get-bucket-replication %s", b->name));
    if (r.status == KM_DATA_OK) f->rules = km_ci_path(r.json, "ReplicationConfiguration.Rules");
    km_item e = km_res_data(R->snap, b, "s3api", "get-bucket-encryption");
    f->enc_st = e.status;
    if (e.status == KM_DATA_OK) {
        const km_json *rules = km_ci_path(e.json, "ServerSideEncryptionConfiguration.Rules");
        for (size_t i = 0; i < km_json_len(rules) && !f->kms_ref; i++) {
            const km_json *d = km_ci_get(km_json_at(rules, i), "ApplyServerSideEncryptionByDefault");
            const char *alg = km_json_str(km_ci_get(d, "SSEAlgorithm"));
            if (alg && km_str_starts(alg, "aws:kms")) {
                f->kms_ref = km_json_str(km_ci_get(d, "KMSMasterKeyID"));
                if (!f->kms_ref) f->kms_ref = "alias/aws/s3";
            }
        }
    }
    km_item p = km_res_data(R->snap, b, "s3api", "get-bucket-policy");
    f->pol_st = p.status;
    f->pol_why = why_item(R, &p, S(R, "s3api get-bucket-policy %s", b->name));
}

/* ---- AWS Backup ----------------------------------------------------------------------------- */

typedef struct vault_info {
    const km_res *v;
    int lock;                 /* 0 open, 1 removable, 2 immutable, -1 unknown */
    const char *lock_text;
    int policy;               /* 1, 0, -1 */
    const char *policy_why;
    const km_json *policy_doc;/* the get-backup-vault-access-policy answer */
    const km_json *rps;       /* RecoveryPoints, or NULL */
    const char *rps_why;      /* why they cannot be read */
    int rps_why_seen;         /* an earlier vault has the same rps_why (backup_copies) */
} vault_info;

static void vault_read(km_recov *R, const km_res *v, vault_info *vi) {
    memset(vi, 0, sizeof *vi);
    vi->v = v;
    const char *type = km_json_str(km_res_get(v, "VaultType"));
    const km_json *locked = km_res_get(v, "Locked");
    int64_t ld = time_of(km_res_get(v, "LockDate"));
    char when[32] = "";
    if (ld) km_format_time(ld, when, sizeof when);
    if (type && strstr(type, "LOGICALLY_AIR_GAPPED")) {
        vi->lock = 2;
        vi->lock_text = "logically air-gapped vault: always locked in compliance mode";
    } else if (!locked) {
        vi->lock = -1;
        vi->lock_text = S(R, "the lock state of vault %s (Locked, LockDate) is not in the snapshot", v->name);
    } else if (km_json_truth(locked) != 1) {
        vi->lock = 0;
        vi->lock_text = "vault not locked";
    } else if (!ld) {
        vi->lock = 1;
        vi->lock_text = "Vault Lock in governance mode only: backup:DeleteBackupVaultLockConfiguration removes it";
    } else if (ld > R->now) {
        vi->lock = 1;
        vi->lock_text = S(R, "Vault Lock in compliance mode but still in its grace time until %s: it can be removed until then", when);
    } else {
        double minr = -1;
        km_json_num(km_res_get(v, "MinRetentionDays"), &minr);
        vi->lock = 2;
        vi->lock_text = minr >= 0 ? S(R, "Vault Lock in compliance mode since %s (minimum retention %.0f days)", when, minr)
                                  : S(R, "Vault Lock in compliance mode since %s", when);
    }
    km_item p = km_res_data(R->snap, v, "backup", "get-backup-vault-access-policy");
    if (p.status == KM_DATA_OK) {
        vi->policy = km_ci_get(p.json, "Policy") ? 1 : 0;
        vi->policy_doc = p.json;
    } else if (p.status == KM_DATA_ABSENT) {
        vi->policy = 0;
    } else {
        vi->policy = -1;
        vi->policy_why = why_item(R, &p, S(R, "backup get-backup-vault-access-policy %s (%s %s)", v->name, v->account, v->region));
    }
    km_item rp = km_res_data(R->snap, v, "backup", "list-recovery-points-by-backup-vault");
    if (rp.status == KM_DATA_OK && (km_ci_get(rp.json, "NextToken") || km_ci_get(rp.json, "nextToken")))
        /* cut short by --max-items (snapshots collected before 2026-11): the newest points, or a
         * store's only ones, may be past the cut, so the vault's points are not judged at all */
        vi->rps_why = S(R, "backup list-recovery-points-by-backup-vault %s (%s %s) is cut short (NextToken): its recovery points are not all in the snapshot",
                        v->name, v->account, v->region);
    else if (rp.status == KM_DATA_OK) vi->rps = km_ci_get(rp.json, "RecoveryPoints");
    else if (rp.status == KM_DATA_ABSENT) vi->rps = NULL;
    else vi->rps_why = why_item(R, &rp, S(R, "backup list-recovery-points-by-backup-vault %s (%s %s)", v->name, v->account, v->region));
}

typedef struct vaults {
    vault_info *v;
    size_t n, cap;
    size_t nwhy; /* vaults whose recovery points cannot be read */
} vaults;

static void vaults_load(km_recov *R, vaults *vs) {
    size_t n;
    const km_res *const *v = km_snap_resources(R->snap, "AWS::Backup::BackupVault", &n);
    for (size_t i = 0; i < n; i++) {
        vault_info *vi = PUSH(R, vs->v, vs->n, vs->cap);
        if (vi) vault_read(R, v[i], vi);
    }
    for (size_t i = 0; i < vs->n; i++) {
        if (!vs->v[i].rps_why) continue;
        vs->nwhy++;
        for (size_t k = 0; k < i && !vs->v[i].rps_why_seen; k++)
            if (vs->v[k].rps_why && !strcmp(vs->v[k].rps_why, vs->v[i].rps_why)) vs->v[i].rps_why_seen = 1;
    }
}

static void copy_vault_facts(km_recov_copy *c, const vault_info *vi) {
    c->vault_arn = vi->v->arn;
    c->lock = vi->lock;
    c->immutable = vi->lock == 2;
    c->immutability = vi->lock_text;
    c->vault_policy = vi->policy;
    c->vault_unknown = vi->policy_why;
    c->res_unknown = vi->policy_why;
    c->res_policy = vi->policy;
}

/* Recovery points of the store in every vault of the snapshot, one copy entry per vault. */
static void backup_copies(km_recov *R, sbuild *b, const vaults *vs) {
    km_recov_store *st = b->st;
    /* a volume is also backed up by the backups of the instance it is attached to */
    const char *arns[5] = {st->arn, NULL, NULL, NULL, NULL};
    size_t narns = 1;
    if (!strcmp(st->type, "AWS::EC2::Volume")) {
        const km_json *att = km_res_get(st->res, "Attachments");
        for (size_t k = 0; k < km_json_len(att) && narns < 5; k++) {
            const char *iid = km_json_str(km_ci_get(km_json_at(att, k), "InstanceId"));
            if (iid) arns[narns++] = S(R, "arn:aws:ec2:%s:%s:instance/%s", st->region, st->account, iid);
        }
    }
    /* Performance (docs/performance.md, audit): every store names every vault whose recovery
     * points cannot be read (100 of them in the organisation snapshot), and checking each against
     * the whole list (missing) was quadratic: 110 million string comparisons. The vaults' reasons
     * are compared with each other once (vaults_load), so each is compared here only with the
     * entries that are not vaults' reasons: those from before and those cmk adds in this loop. */
    size_t m0 = st->nmissing, other[32], nother = 0;
    int fallback = 0;
    if (vs->nwhy && b->capmissing < st->nmissing + vs->nwhy) {
        /* one allocation of the size it will have, not the doublings up to it */
        size_t need = st->nmissing + vs->nwhy + 8; /* and room for judge's reasons */
        const char **nm = km_arena_alloc(&R->arena, need * sizeof *nm);
        if (!nm) {
            R->failed = 1;
            return;
        }
        if (st->nmissing) memcpy(nm, st->missing, st->nmissing * sizeof *nm);
        st->missing = nm;
        b->capmissing = need;
    }
    for (size_t i = 0; i < vs->n; i++) {
        const vault_info *vi = &vs->v[i];
        if (vi->rps_why) {
            /* a vault of the store's account and region, or anywhere a copy could have gone */
            st->copies_incomplete = 1;
            if (fallback) {
                missing(R, b, vi->rps_why);
                continue;
            }
            if (vi->rps_why_seen) continue; /* the same text is in the list already */
            int dup = 0;
            for (size_t k = 0; k < m0 && !dup; k++) dup = !strcmp(st->missing[k], vi->rps_why);
            for (size_t k = 0; k < nother && !dup; k++) dup = !strcmp(st->missing[other[k]], vi->rps_why);
            if (dup) continue;
            const char **p = PUSH(R, st->missing, st->nmissing, b->capmissing);
            if (p) *p = vi->rps_why;
            continue;
        }
        size_t count = 0;
        int64_t newest = 0;
        const km_json *best = NULL;
        for (size_t k = 0; k < km_json_len(vi->rps); k++) {
            const km_json *rp = km_json_at(vi->rps, k);
            const char *ra = km_json_str(km_ci_get(rp, "ResourceArn"));
            int mine = 0;
            for (size_t q = 0; ra && q < narns; q++) mine |= !strcmp(ra, arns[q]);
            if (!mine) continue;
            const char *status = km_json_str(km_ci_get(rp, "Status"));
            if (status && (!strcmp(status, "DELETING") || !strcmp(status, "EXPIRED"))) continue;
            count++;
            int64_t t = time_of(km_ci_get(rp, "CreationDate"));
            if (!best || t > newest) {
                best = rp;
                newest = t;
            }
        }
        if (!count) continue;
        km_recov_copy *c = PUSH(R, st->copies, st->ncopies, b->capcopies);
        if (!c) return;
        memset(c, 0, sizeof *c);
        c->kind = "backup-recovery-point";
        c->arn = D(R, km_json_str(km_ci_get(best, "RecoveryPointArn")));
        c->account = vi->v->account;
        c->region = vi->v->region;
        c->location = S(R, "backup vault %s", vi->v->name);
        c->isolated = isolation(st, c->account, c->region);
        c->newest = newest;
        c->count = count;
        c->verified = 1;
        copy_vault_facts(c, vi);
        const char *ku;
        size_t before = st->nmissing;
        c->key = cmk(R, b, km_json_str(km_ci_get(best, "EncryptionKeyArn")), c->account, c->region, &ku);
        c->key_unknown = ku;
        for (size_t k = before; k < st->nmissing && !fallback; k++) {
            if (nother == sizeof other / sizeof other[0]) fallback = 1; /* the plain way from here on */
            else other[nother++] = k;
        }
    }
}

/* Backup selections that pick the store (by ARN, tag or conditions). */
static int arn_listed(const km_json *list, const char *arn) {
    for (size_t i = 0; i < km_json_len(list); i++) {
        const char *p = km_json_str(km_json_at(list, i));
        if (p && km_glob(p, arn)) return 1;
    }
    return 0;
}

/* One tag condition: the key ("aws:ResourceTag/k" or "k") and value against the tags, with
 * op 0 StringEquals, 1 StringNotEquals, 2 StringLike, 3 StringNotLike (AWS Backup's operators:
 * case sensitive; a resource without the tag fails the positive ones and passes the negative
 * ones). UNK when the tags could not be read. */
static km_tri tag_cond(const km_json *c, int op, const km_json *tags, int known) {
    const char *k = km_json_str(km_ci_get(c, "ConditionKey")), *val = km_json_str(km_ci_get(c, "ConditionValue"));
    if (!k || !val) return KM_TRI_NO;
    if (!known) return KM_TRI_UNK;
    if (km_str_starts(k, "aws:ResourceTag/")) k += 16;
    const char *have = km_tags_get(tags, k);
    int m = have && (op >= 2 ? km_glob(val, have) : !strcmp(have, val));
    return (op == 0 || op == 2) == m ? KM_TRI_YES : KM_TRI_NO;
}

/* Whether a Backup selection picks the resource, as AWS Backup assigns resources: (Resources,
 * ARNs or patterns, AND every Conditions entry) OR any ListOfTags entry, minus NotResources; a
 * selection naming nothing at all picks every resource. UNK when the answer depends on tags
 * that could not be read (known 0). */
static km_tri selection_picks(const km_json *s, const km_res *r, const km_json *tags, int known) {
    if (!r->arn || arn_listed(km_ci_get(s, "NotResources"), r->arn)) return KM_TRI_NO;
    const km_json *cond = km_ci_get(s, "Conditions");
    static const char *const ops[] = {"StringEquals", "StringNotEquals", "StringLike", "StringNotLike"};
    size_t ncond = 0;
    km_tri cond_t = KM_TRI_YES;
    for (int o = 0; o < 4; o++) {
        const km_json *l = km_ci_get(cond, ops[o]);
        for (size_t i = 0; i < km_json_len(l); i++, ncond++) cond_t = tri_and(cond_t, tag_cond(km_json_at(l, i), o, tags, known));
    }
    const km_json *res = km_ci_get(s, "Resources"), *lot = km_ci_get(s, "ListOfTags");
    km_tri t = KM_TRI_NO;
    if (km_json_len(res)) t = tri_and(arn_listed(res, r->arn) ? KM_TRI_YES : KM_TRI_NO, cond_t);
    else if (ncond) t = cond_t;
    else if (!km_json_len(lot)) return KM_TRI_YES;
    for (size_t i = 0; i < km_json_len(lot); i++) t = tri_or(t, tag_cond(km_json_at(lot, i), 0, tags, known));
    return t;
}

static void backup_plans(km_recov *R, sbuild *b) {
    km_recov_store *st = b->st;
    size_t n;
    const km_res *const *v = km_snap_resources(R->snap, "AWS::Backup::BackupPlan", &n);
    const char *tags_why;
    const km_json *tags = store_tags(R, st->res, &tags_why);
    for (size_t i = 0; i < n; i++) {
        const km_res *p = v[i];
        if (strcmp(p->account, st->account) || strcmp(p->region, st->region) || p->from_config) continue;
        km_item ls = km_res_data(R->snap, p, "backup", "list-backup-selections");
        if (ls.status != KM_DATA_OK) {
            missing(R, b, why_item(R, &ls, S(R, "backup list-backup-selections of plan %s", p->name)));
            continue;
        }
        const km_json *l = km_ci_get(ls.json, "BackupSelectionsList");
        for (size_t k = 0; k < km_json_len(l); k++) {
            const char *sid = km_json_str(km_ci_get(km_json_at(l, k), "SelectionId"));
            km_item gs = km_snap_get(R->snap, p->account, p->data_region, "backup", "get-backup-selection", sid);
            if (gs.status != KM_DATA_OK) {
                missing(R, b, why_item(R, &gs, S(R, "backup get-backup-selection %s", sid ? sid : "?")));
                continue;
            }
            const km_json *sel = km_ci_get(gs.json, "BackupSelection");
            km_tri picks = selection_picks(sel, st->res, tags, !tags_why);
            if (picks == KM_TRI_NO) continue;
            if (picks == KM_TRI_UNK) {
                /* the plan may back it up (its recovery points past the listing's first 100, its
                 * copies): not NOT_BACKED_UP */
                missing(R, b, S(R, "whether selection %s of plan %s picks the %s cannot be told: %s",
                                km_json_str(km_ci_get(sel, "SelectionName")) ? km_json_str(km_ci_get(sel, "SelectionName")) : "?",
                                p->name, st->what, tags_why));
                st->copies_incomplete = 1;
                continue;
            }
            km_item gp = km_res_data(R->snap, p, "backup", "get-backup-plan");
            const km_json *doc = gp.status == KM_DATA_OK ? km_ci_get(gp.json, "BackupPlan") : NULL;
            const km_json *rules = km_ci_get(doc, "Rules");
            if (gp.status != KM_DATA_OK) missing(R, b, why_item(R, &gp, S(R, "backup get-backup-plan %s", p->name)));
            for (size_t r = 0; r < km_json_len(rules) || (r == 0 && !km_json_len(rules)); r++) {
                const km_json *rule = km_json_at(rules, r);
                km_recov_plan *pl = PUSH(R, st->plans, st->nplans, b->capplans);
                if (!pl) return;
                memset(pl, 0, sizeof *pl);
                pl->plan = p->name;
                pl->selection = D(R, km_json_str(km_ci_get(sel, "SelectionName")));
                const char *tv = km_json_str(km_ci_get(rule, "TargetBackupVaultName"));
                if (!tv) tv = km_json_str(km_ci_get(rule, "TargetBackupVault"));
                pl->vault = D(R, tv);
                pl->account = p->account;
                pl->region = p->region;
                const km_json *ca = km_ci_get(rule, "CopyActions");
                size_t cap = 0;
                for (size_t c = 0; c < km_json_len(ca); c++) {
                    const char *dest = km_json_str(km_ci_get(km_json_at(ca, c), "DestinationBackupVaultArn"));
                    if (!dest) continue;
                    const char **slot = PUSH(R, pl->copy_to, pl->ncopy_to, cap);
                    if (slot) *slot = D(R, dest);
                    if (km_snap_find_arn(R->snap, dest)) continue; /* its recovery points are read above */
                    /* a copy the snapshot cannot show: listed, but it cannot decide anything */
                    char dacct[32], dreg[64];
                    km_arn_field(dest, 4, dacct, sizeof dacct);
                    km_arn_field(dest, 3, dreg, sizeof dreg);
                    int dup = 0;
                    for (size_t q = 0; q < st->ncopies; q++)
                        if (st->copies[q].arn && !strcmp(st->copies[q].arn, dest)) dup = 1;
                    if (dup) continue;
                    km_recov_copy *cp = PUSH(R, st->copies, st->ncopies, b->capcopies);
                    if (!cp) return;
                    memset(cp, 0, sizeof *cp);
                    cp->kind = "backup-plan-copy";
                    cp->arn = D(R, dest);
                    cp->account = D(R, dacct);
                    cp->region = D(R, dreg);
                    cp->location = S(R, "backup vault %s (copy action of plan %s)", dest, p->name);
                    cp->isolated = isolation(st, dacct, dreg);
                    cp->immutability = "not verified: the destination vault is not in the snapshot";
                    cp->count = 1;
                    cp->lock = -1;
                    cp->vault_policy = -1;
                    cp->res_policy = -1;
                    cp->res_unknown = S(R, "the destination vault %s is not in the snapshot: whether the copies exist and who can "
                                           "delete them cannot be told (collect account %s too)", dest, dacct);
                    missing(R, b, cp->res_unknown);
                }
            }
        }
    }
}

/* ---- copies per type ------------------------------------------------------------------------ */

static km_recov_copy *new_copy(km_recov *R, sbuild *b, const char *kind) {
    km_recov_copy *c = PUSH(R, b->st->copies, b->st->ncopies, b->capcopies);
    if (!c) return NULL;
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->count = 1;
    c->verified = 1;
    c->account = b->st->account;
    c->region = b->st->region;
    c->isolated = "same-region";
    return c;
}

/* What Object Lock and MFA Delete make of a bucket's versions (replica: the replica bucket's). */
static void s3_lock_facts(km_recov *R, km_recov_copy *c, const bucket_facts *f, int replica) {
    const char *on = replica ? " on the replica" : "";
    c->mfa_delete = f->mfa_delete;
    c->object_lock = f->object_lock;
    c->object_lock_governance = f->object_lock && f->governance;
    c->immutable = f->object_lock && !f->governance;
    if (c->immutable) c->immutability = S(R, "Object Lock in COMPLIANCE mode%s, default retention %ld days", on, f->lock_days);
    else if (f->object_lock) c->immutability = S(R, "Object Lock in GOVERNANCE mode%s: s3:BypassGovernanceRetention overrides it", on);
    else if (f->mfa_delete) c->immutability = S(R, "MFA Delete on%s: deleting versions needs the root user's MFA device%s", on,
                                                replica ? "" : " (not immutable against the root user)");
    else c->immutability = replica ? "replica without Object Lock or MFA Delete" : "versioning without MFA Delete or Object Lock: versions can be deleted";
}

static void s3_store(km_recov *R, sbuild *b) {
    km_recov_store *st = b->st;
    bucket_facts f;
    bucket_read(R, st->res, &f);
    const char *ku;
    st->key = cmk(R, b, f.kms_ref, st->account, st->region, &ku);
    st->key_unknown = ku;
    st->res_unknown = f.pol_why;
    st->res_policy = f.pol_st == KM_DATA_OK ? 1 : f.pol_st == KM_DATA_ABSENT ? 0 : -1;
    if (f.vers_why) { missing(R, b, f.vers_why); st->copies_incomplete = 1; }
    if (f.lock_why) { missing(R, b, f.lock_why); st->copies_incomplete = 1; }
    if (f.repl_why) { missing(R, b, f.repl_why); st->copies_incomplete = 1; }
    if (f.versioning) {
        km_recov_copy *c = new_copy(R, b, "s3-versioning");
        if (!c) return;
        c->arn = st->arn;
        c->location = "previous object versions in the bucket";
        s3_lock_facts(R, c, &f, 0);
        c->key = st->key;
        c->key_unknown = st->key_unknown;
        c->res_unknown = f.pol_why;
        c->res_policy = st->res_policy;
        if (f.lock_why) c->res_unknown = f.lock_why;
    }
    for (size_t i = 0; i < km_json_len(f.rules); i++) {
        const km_json *rule = km_json_at(f.rules, i);
        const char *status = km_json_str(km_ci_get(rule, "Status"));
        if (status && strcmp(status, "Enabled")) continue;
        const char *dest = km_json_str(km_ci_path(rule, "Destination.Bucket"));
        if (!dest) continue;
        const char *dacct = km_json_str(km_ci_path(rule, "Destination.Account"));
        const km_res *db = km_snap_find_arn(R->snap, dest);
        km_recov_copy *c = new_copy(R, b, "s3-replica");
        if (!c) return;
        c->arn = D(R, dest);
        c->location = S(R, "replica bucket %s", dest + (km_str_starts(dest, "arn:aws:s3:::") ? 13 : 0));
        c->newest = 0;
        if (db) {
            bucket_facts df;
            bucket_read(R, db, &df);
            c->account = db->account;
            c->region = db->region;
            s3_lock_facts(R, c, &df, 1);
            const char *dku;
            c->key = cmk(R, b, df.kms_ref, db->account, db->region, &dku);
            c->key_unknown = dku;
            c->res_unknown = df.pol_why ? df.pol_why : df.lock_why;
            c->res_policy = df.pol_st == KM_DATA_OK ? 1 : df.pol_st == KM_DATA_ABSENT ? 0 : -1;
        } else {
            c->account = dacct ? D(R, dacct) : NULL;
            c->region = NULL;
            c->verified = 0;
            c->res_policy = -1;
            c->immutability = "not verified: the replica bucket is not in the snapshot";
            c->res_unknown = S(R, "replica bucket %s is not in the snapshot: who can delete its versions cannot be told%s%s", dest,
                               dacct ? " (collect account " : "", dacct ? S(R, "%s)", dacct) : "");
            missing(R, b, c->res_unknown);
        }
        c->isolated = c->account && strcmp(c->account, st->account) ? "cross-account"
                      : c->region && strcmp(c->region, st->region) ? "cross-region"
                      : c->region ? "same-region" : (dacct ? "same-region" : "cross-region");
    }
}

/* Whether a manual snapshot named after the store is the store's: one in another region only when
 * it says it was copied from the store's region (SourceRegion, or the region of the source
 * snapshot's ARN), since another region may hold a database of the same name; one in the store's
 * region unless it was copied there from elsewhere. */
static int rds_snapshot_mine(const km_recov_store *st, const km_res *s, int cluster) {
    const char *src = km_json_str(km_res_get(s, "SourceRegion"));
    char reg[64] = "";
    const char *sid = km_json_str(km_res_get(s, cluster ? "SourceDBClusterSnapshotArn" : "SourceDBSnapshotIdentifier"));
    if (!src && sid && km_str_starts(sid, "arn:")) {
        km_arn_field(sid, 3, reg, sizeof reg);
        if (reg[0]) src = reg;
    }
    if (!strcmp(s->region, st->region)) return !src || !strcmp(src, st->region);
    return src && !strcmp(src, st->region);
}

/* Automated backups replicated to another region (rds describe-db-instance-automated-backups
 * there: the entry names the source instance's ARN). Its absence hides nothing the verdict needs
 * (the store's own region answers for the rest), so a region that did not answer is not a
 * missing source. */
static void rds_replicated(km_recov *R, sbuild *b) {
    km_recov_store *st = b->st;
    for (size_t i = 0; i < km_snap_nregions(R->snap, st->account); i++) {
        const char *reg = km_snap_region(R->snap, st->account, i);
        if (!strcmp(reg, st->region)) continue;
        km_item it = km_snap_get(R->snap, st->account, reg, "rds", "describe-db-instance-automated-backups", NULL);
        const km_json *l = it.status == KM_DATA_OK ? km_ci_get(it.json, "DBInstanceAutomatedBackups") : NULL;
        for (size_t k = 0; k < km_json_len(l); k++) {
            const km_json *e = km_json_at(l, k);
            const char *src = km_json_str(km_ci_get(e, "DBInstanceArn"));
            const char *status = km_json_str(km_ci_get(e, "Status"));
            if (!src || strcmp(src, st->arn) || (status && (!strcmp(status, "pending") || !strcmp(status, "creating")))) continue;
            km_recov_copy *c = new_copy(R, b, "rds-replicated-backup");
            if (!c) return;
            c->arn = D(R, km_json_str(km_ci_get(e, "DBInstanceAutomatedBackupsArn")));
            c->region = reg;
            c->isolated = isolation(st, st->account, reg);
            double days = 0;
            km_json_num(km_ci_get(e, "BackupRetentionPeriod"), &days);
            c->location = S(R, "automated backups replicated to %s (%.0f days, point-in-time restore)", reg, days);
            c->immutability = "replicated automated backups: rds:DeleteDBInstanceAutomatedBackup deletes them once the replication is stopped";
            c->newest = time_of(km_ci_path(e, "RestoreWindow.LatestTime"));
            const char *ku = NULL;
            if (km_json_truth(km_ci_get(e, "Encrypted")) == 1) c->key = cmk(R, b, km_json_str(km_ci_get(e, "KmsKeyId")), st->account, reg, &ku);
            c->key_unknown = ku;
        }
    }
}

static void rds_store(km_recov *R, sbuild *b, int cluster) {
    km_recov_store *st = b->st;
    const km_res *r = st->res;
    st->deletion_protection = km_json_truth(km_res_get(r, "DeletionProtection")) == 1;
    const char *ku;
    if (km_json_truth(km_res_get(r, "StorageEncrypted")) == 1)
        st->key = cmk(R, b, km_json_str(km_res_get(r, "KmsKeyId")), st->account, st->region, &ku);
    else ku = NULL;
    st->key_unknown = ku;
    double ret = 0;
    if (km_json_num(km_res_get(r, "BackupRetentionPeriod"), &ret) == 0 && ret > 0) {
        km_recov_copy *c = new_copy(R, b, "rds-automated-backup");
        if (!c) return;
        c->arn = st->arn;
        c->location = S(R, "automated backups (%.0f days, point-in-time restore)", ret);
        c->immutability = "automated backups: deleted with the database or when the retention is set to 0";
        c->newest = time_of(km_res_get(r, "LatestRestorableTime"));
        c->key = st->key;
        c->key_unknown = st->key_unknown;
    }
    if (!cluster) rds_replicated(R, b);
    const char *type = cluster ? "AWS::RDS::DBClusterSnapshot" : "AWS::RDS::DBSnapshot";
    const char *idf = cluster ? "DBClusterIdentifier" : "DBInstanceIdentifier";
    km_item l = km_snap_listing(R->snap, st->account, st->region, type);
    if (l.status != KM_DATA_OK) {
        missing(R, b, why_item(R, &l, cluster ? "rds describe-db-cluster-snapshots" : "rds describe-db-snapshots"));
        st->copies_incomplete = 1;
    }
    size_t n;
    const km_res *const *v = km_snap_resources(R->snap, type, &n);
    for (size_t i = 0; i < n; i++) {
        const km_res *s = v[i];
        const char *owner = km_json_str(km_res_get(s, idf));
        if (!owner || strcmp(owner, st->name) || strcmp(s->account, st->account) || !rds_snapshot_mine(st, s, cluster)) continue;
        const char *status = km_json_str(km_res_get(s, "Status"));
        if (status && strcmp(status, "available")) continue;
        km_recov_copy *c = new_copy(R, b, cluster ? "rds-cluster-snapshot" : "rds-snapshot");
        if (!c) return;
        c->arn = s->arn;
        c->region = s->region;
        c->isolated = isolation(st, s->account, s->region);
        c->location = strcmp(s->region, st->region) ? S(R, "manual snapshot %s copied to %s", s->name, s->region)
                                                     : S(R, "manual snapshot %s", s->name);
        c->immutability = "manual snapshot: rds:DeleteDBSnapshot deletes it";
        c->newest = time_of(km_res_get(s, "SnapshotCreateTime"));
        const char *sku = NULL;
        if (km_json_truth(km_res_get(s, cluster ? "StorageEncrypted" : "Encrypted")) == 1)
            c->key = cmk(R, b, km_json_str(km_res_get(s, "KmsKeyId")), s->account, s->region, &sku);
        c->key_unknown = sku;
    }
}

/* One EBS snapshot of the store, found in region. */
static int ebs_copy(km_recov *R, sbuild *b, const km_json *s, const char *region) {
    km_recov_store *st = b->st;
    const char *id = km_json_str(km_ci_get(s, "SnapshotId"));
    km_recov_copy *c = new_copy(R, b, "ebs-snapshot");
    if (!c) return -1;
    c->arn = S(R, "arn:aws:ec2:%s::snapshot/%s", region, id);
    c->region = region;
    c->isolated = isolation(st, st->account, region);
    c->location = strcmp(region, st->region) ? S(R, "EBS snapshot %s copied to %s", id, region) : S(R, "EBS snapshot %s", id);
    c->immutability = "EBS snapshot: ec2:DeleteSnapshot deletes it";
    c->newest = time_of(km_ci_get(s, "StartTime"));
    const char *sku = NULL;
    if (km_json_truth(km_ci_get(s, "Encrypted")) == 1)
        c->key = cmk(R, b, km_json_str(km_ci_get(s, "KmsKeyId")), st->account, region, &sku);
    c->key_unknown = sku;
    return 0;
}

/* The snapshot a copy was made from, as the copy's description names it ("[Copied snap-0a1b from
 * us-east-1]", "Copied for DestinationAmi ... for SourceSnapshot snap-0a1b ..."): a copy's VolumeId
 * is arbitrary and the API keeps no source field, so the description written by the console,
 * the CLI examples and AMI copies is all there is. */
static int copied_from(const km_json *s, char *out, size_t n) {
    const char *d = km_json_str(km_ci_get(s, "Description"));
    const char *c = d ? strstr(d, "Copied") : NULL;
    const char *sn = c ? strstr(c, "snap-") : NULL;
    if (!sn) return 0;
    size_t l = 5;
    while (sn[l] && ((sn[l] >= '0' && sn[l] <= '9') || (sn[l] >= 'a' && sn[l] <= 'f'))) l++;
    if (l == 5 || l >= n) return 0;
    memcpy(out, sn, l);
    out[l] = 0;
    return 1;
}

#define EBS_COPY_DEPTH 3

static void ebs_store(km_recov *R, sbuild *b) {
    km_recov_store *st = b->st;
    const char *ku;
    if (km_json_truth(km_res_get(st->res, "Encrypted")) == 1)
        st->key = cmk(R, b, km_json_str(km_res_get(st->res, "KmsKeyId")), st->account, st->region, &ku);
    else ku = NULL;
    st->key_unknown = ku;
    km_item it = km_snap_get(R->snap, st->account, st->res->data_region, "ec2", "describe-snapshots", NULL);
    if (it.status != KM_DATA_OK && it.status != KM_DATA_ABSENT) {
        missing(R, b, why_item(R, &it, S(R, "ec2 describe-snapshots (%s %s)", st->account, st->region)));
        st->copies_incomplete = 1;
        return;
    }
    size_t first = st->ncopies;
    const km_json *l = km_ci_get(it.json, "Snapshots");
    for (size_t i = 0; i < km_json_len(l); i++) {
        const km_json *s = km_json_at(l, i);
        const char *vol = km_json_str(km_ci_get(s, "VolumeId"));
        const char *state = km_json_str(km_ci_get(s, "State"));
        if (!vol || !km_json_str(km_ci_get(s, "SnapshotId")) || strcmp(vol, st->name) || (state && !strcmp(state, "error"))) continue;
        if (ebs_copy(R, b, s, st->region)) return;
    }
    /* copies of those snapshots, in any region of the account (copies of copies too, a few deep);
     * a region whose snapshots were not read hides only copies, so it is not a missing source */
    for (int depth = 0; depth < EBS_COPY_DEPTH; depth++) {
        size_t before = st->ncopies;
        for (size_t r = 0; r < km_snap_nregions(R->snap, st->account); r++) {
            const char *reg = km_snap_region(R->snap, st->account, r);
            km_item ri = km_snap_get(R->snap, st->account, reg, "ec2", "describe-snapshots", NULL);
            const km_json *rl = ri.status == KM_DATA_OK ? km_ci_get(ri.json, "Snapshots") : NULL;
            for (size_t i = 0; i < km_json_len(rl); i++) {
                const km_json *s = km_json_at(rl, i);
                char src[64];
                const char *id = km_json_str(km_ci_get(s, "SnapshotId"));
                const char *state = km_json_str(km_ci_get(s, "State"));
                if (!id || !copied_from(s, src, sizeof src) || (state && !strcmp(state, "error"))) continue;
                int from_mine = 0, have = 0;
                for (size_t c = first; c < st->ncopies; c++) {
                    const char *cid = strrchr(st->copies[c].arn, '/') + 1;
                    from_mine |= !strcmp(cid, src);
                    have |= !strcmp(cid, id);
                }
                if (from_mine && !have && ebs_copy(R, b, s, reg)) return;
            }
        }
        if (st->ncopies == before) break;
    }
}

static void ddb_store(km_recov *R, sbuild *b) {
    km_recov_store *st = b->st;
    const km_res *r = st->res;
    st->deletion_protection = km_json_truth(km_res_get(r, "DeletionProtectionEnabled")) == 1;
    const char *ku = NULL;
    const km_json *sse = km_res_get(r, "SSEDescription");
    const char *sset = km_json_str(km_ci_get(sse, "SSEType"));
    if (sset && !strcmp(sset, "KMS")) st->key = cmk(R, b, km_json_str(km_ci_get(sse, "KMSMasterKeyArn")), st->account, st->region, &ku);
    st->key_unknown = ku;
    km_item cb = km_snap_get(R->snap, st->account, r->data_region, "dynamodb", "describe-continuous-backups", st->name);
    if (cb.status != KM_DATA_OK) {
        missing(R, b, why_item(R, &cb, S(R, "dynamodb describe-continuous-backups %s", st->name)));
        if (cb.status != KM_DATA_ABSENT) st->copies_incomplete = 1;
    } else {
        const km_json *p = km_ci_path(cb.json, "ContinuousBackupsDescription.PointInTimeRecoveryDescription");
        const char *s = km_json_str(km_ci_get(p, "PointInTimeRecoveryStatus"));
        if (s && !strcmp(s, "ENABLED")) {
            km_recov_copy *c = new_copy(R, b, "dynamodb-pitr");
            if (!c) return;
            c->arn = st->arn;
            c->location = "point-in-time recovery (35 days)";
            c->immutability = "point-in-time recovery: dynamodb:UpdateContinuousBackups switches it off and deletes its history";
            c->newest = time_of(km_ci_get(p, "LatestRestorableDateTime"));
            c->key = st->key;
            c->key_unknown = st->key_unknown;
        }
    }
    km_item lb = km_snap_get(R->snap, st->account, r->data_region, "dynamodb", "list-backups", NULL);
    if (lb.status != KM_DATA_OK && lb.status != KM_DATA_ABSENT) {
        missing(R, b, why_item(R, &lb, S(R, "dynamodb list-backups (%s %s)", st->account, st->region)));
        st->copies_incomplete = 1;
        return;
    }
    const km_json *l = km_ci_get(lb.json, "BackupSummaries");
    for (size_t i = 0; i < km_json_len(l); i++) {
        const km_json *s = km_json_at(l, i);
        const char *tn = km_json_str(km_ci_get(s, "TableName"));
        const char *type = km_json_str(km_ci_get(s, "BackupType"));
        const char *status = km_json_str(km_ci_get(s, "BackupStatus"));
        if (!tn || strcmp(tn, st->name)) continue;
        if (type && !strcmp(type, "AWS_BACKUP")) continue; /* in a backup vault: read with the vaults */
        if (status && !strcmp(status, "DELETED")) continue;
        km_recov_copy *c = new_copy(R, b, "dynamodb-backup");
        if (!c) return;
        c->arn = D(R, km_json_str(km_ci_get(s, "BackupArn")));
        c->location = S(R, "on-demand backup %s", km_json_str(km_ci_get(s, "BackupName")) ? km_json_str(km_ci_get(s, "BackupName")) : "?");
        c->immutability = "on-demand backup: dynamodb:DeleteBackup deletes it";
        c->newest = time_of(km_ci_get(s, "BackupCreationDateTime"));
        c->key = st->key;
        c->key_unknown = st->key_unknown;
    }
}

static void efs_store(km_recov *R, sbuild *b) {
    km_recov_store *st = b->st;
    const km_res *r = st->res;
    const char *ku = NULL;
    if (km_json_truth(km_res_get(r, "Encrypted")) == 1)
        st->key = cmk(R, b, km_json_str(km_res_get(r, "KmsKeyId")), st->account, st->region, &ku);
    st->key_unknown = ku;
    km_item bp = km_res_data(R->snap, r, "efs", "describe-backup-policy");
    if (bp.status == KM_DATA_OK) {
        const char *s = km_json_str(km_ci_path(bp.json, "BackupPolicy.Status"));
        if (s && !strcmp(s, "ENABLED")) {
            km_recov_plan *pl = PUSH(R, st->plans, st->nplans, b->capplans);
            if (pl) {
                memset(pl, 0, sizeof *pl);
                pl->plan = "aws/efs/automatic-backup-plan";
                pl->selection = "EFS backup policy ENABLED";
                pl->vault = "aws/efs/automatic-backup-vault";
                pl->account = st->account;
                pl->region = st->region;
            }
        }
    } else if (bp.status != KM_DATA_ABSENT) {
        missing(R, b, why_item(R, &bp, S(R, "efs describe-backup-policy %s", st->name)));
    }
}

/* ---- paths ---------------------------------------------------------------------------------- */

typedef struct tmpl {
    km_recov_path p;
    const char *unknown[KM_RECOV_MAX_STEPS]; /* why the step's resource policy is unknown */
    int no_policy[KM_RECOV_MAX_STEPS];       /* the resource has no resource policy at all */
} tmpl;

typedef struct tmpls {
    tmpl *v;
    size_t n, cap;
} tmpls;

/* Whether a fact named by "when" holds for the store and copy (c may be NULL). */
static int fact(const km_recov_store *st, const km_recov_copy *c, const char *name) {
    if (!strcmp(name, "deletion_protection")) return st->deletion_protection;
    if (!c) return 0;
    if (!strcmp(name, "vault_open")) return c->vault_arn && (c->lock == 0 || c->lock == -1);
    if (!strcmp(name, "vault_removable_lock")) return c->vault_arn && c->lock == 1;
    if (!strcmp(name, "vault_policy")) return c->vault_policy != 0;
    if (!strcmp(name, "mfa_delete")) return c->mfa_delete;
    if (!strcmp(name, "object_lock")) return c->object_lock;
    if (!strcmp(name, "object_lock_governance")) return c->object_lock_governance;
    return 0;
}

static int list_has(const km_json *l, const char *s) {
    if (!l) return 0;
    for (size_t i = 0; i < km_json_len(l); i++) {
        const char *x = km_json_str(km_json_at(l, i));
        if (x && (!strcmp(x, "*") || !strcmp(x, s))) return 1;
    }
    return 0;
}

static int when_holds(const km_json *when, const km_recov_store *st, const km_recov_copy *c) {
    for (size_t i = 0; i < km_json_len(when); i++) {
        const char *w = km_json_str(km_json_at(when, i));
        if (!w) return 0;
        int neg = w[0] == '!';
        if (fact(st, c, w + neg) == neg) return 0;
    }
    return 1;
}

/* Expand a resource template; NULL when it names something the store or copy lacks. */
static const char *expand(km_recov *R, const char *t, const km_recov_store *st, const km_recov_copy *c,
                          const char **unknown, int *policy) {
    *unknown = NULL;
    *policy = 1;
    /* policy: whether the resource may carry a resource policy (1, or -1 unknown) or surely has
     * none (0): then the identity side alone decides */
    struct { const char *name, *val, *unk; int pol; } vars[] = {
        {"{store}", st->arn, st->res_unknown, st->res_policy},
        {"{store_key}", st->key, st->key_unknown, 1},
        {"{copy}", c ? c->arn : NULL, c ? c->res_unknown : NULL, c ? c->res_policy : 1},
        {"{copy_key}", c ? c->key : NULL, c ? c->key_unknown : NULL, 1},
        {"{vault}", c ? c->vault_arn : NULL, c ? c->vault_unknown : NULL, c ? c->vault_policy : 1},
    };
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        size_t l = strlen(vars[i].name);
        if (strncmp(t, vars[i].name, l)) continue;
        if (!vars[i].val) return NULL;
        *unknown = vars[i].unk;
        *policy = vars[i].pol;
        /* a recovery point whose ARN the snapshot does not know: any in the vault's account */
        const char *val = vars[i].val;
        if (c && !strcmp(vars[i].name, "{copy}") && !strcmp(c->kind, "backup-plan-copy"))
            val = S(R, "arn:aws:backup:%s:%s:recovery-point:*", c->region ? c->region : "*", c->account ? c->account : "*");
        return S(R, "%s%s", val, t + l);
    }
    return S(R, "%s", t);
}

static void add_tmpls(km_recov *R, tmpls *out, const km_json *defs, const km_recov_store *st, const km_recov_copy *c) {
    for (size_t i = 0; i < km_json_len(defs); i++) {
        const km_json *d = km_json_at(defs, i);
        if (c) {
            if (!list_has(km_json_get(d, "kinds"), c->kind)) continue;
            if (km_json_get(d, "types") && !list_has(km_json_get(d, "types"), st->type)) continue;
        } else if (!list_has(km_json_get(d, "types"), st->type)) {
            continue;
        }
        if (!when_holds(km_json_get(d, "when"), st, c)) continue;
        tmpl t;
        memset(&t, 0, sizeof t);
        t.p.copy = c ? (c->arn ? c->arn : c->location) : NULL;
        t.p.why = km_json_str(km_json_get(d, "why"));
        const km_json *steps = km_json_get(d, "steps");
        int ok = km_json_len(steps) > 0 && km_json_len(steps) <= KM_RECOV_MAX_STEPS;
        for (size_t k = 0; ok && k < km_json_len(steps); k++) {
            const km_json *s = km_json_at(steps, k);
            int pol;
            const char *res = expand(R, km_json_str(km_json_get(s, "resource")) ? km_json_str(km_json_get(s, "resource")) : "",
                                     st, c, &t.unknown[k], &pol);
            if (!res) { ok = 0; break; }
            t.p.steps[k].action = km_json_str(km_json_get(s, "action"));
            t.p.steps[k].resource = res;
            t.p.steps[k].no_resource_policy = km_json_truth(km_json_get(s, "no_resource_policy")) == 1;
            /* a resource without a resource policy (RDS, EC2, DynamoDB and EFS resources, buckets
             * and vaults that have none): the identity side decides alone, so a principal
             * allowed the action nowhere is out without asking about this resource */
            t.no_policy[k] = pol == 0 || t.p.steps[k].no_resource_policy;
            if (t.p.steps[k].no_resource_policy) t.unknown[k] = NULL;
            /* a copy whose lock state is unknown: removing it might not be needed */
            if (c && c->lock == -1 && c->vault_arn && !t.unknown[k] && strstr(t.p.steps[k].action, "backup:"))
                t.unknown[k] = c->immutability;
            if (!t.p.steps[k].action) ok = 0;
        }
        if (!ok) continue;
        t.p.nsteps = km_json_len(steps);
        tmpl *slot = PUSH(R, out->v, out->n, out->cap);
        if (slot) *slot = t;
    }
}

/* ---- the IAM engine ------------------------------------------------------------------------ */

/* A file of the snapshot as the IAM engine's folder walk would name it. */
typedef struct relfile {
    const char *rel;
    const km_json *root;
} relfile;

static int cmp_rel(const void *x, const void *y) {
    return strcmp(((const relfile *)x)->rel, ((const relfile *)y)->rel);
}

/* The IAM account of the folder input, which the snapshot's load number `load` read, built
 * from the documents the snapshot already holds: reading and parsing the folder again (181,670
 * files in docs/performance.md's organisation) was a third of the audit. The files are those
 * km_iam_account_load reads (.json, sorted by path), so the account is the same; only its notes
 * on broken files differ (the snapshot's problems report them). Returns 1 with *out set (NULL
 * with *e set on failure), or 0 when the snapshot cannot stand in for the folder: the caller
 * then loads it from disk. */
static int iam_from_snap(km_recov *R, const char *input, size_t load, km_iam_account **out, km_error *e) {
    struct stat st;
    if (km_snap_nloads(R->snap) != R->ninputs || load >= R->ninputs || stat(input, &st) != 0 || !S_ISDIR(st.st_mode))
        return 0;
    size_t plen = strlen(input);
    while (plen > 1 && input[plen - 1] == '/') plen--; /* as km_snap_load names the files */
    size_t n = 0, total = km_snap_nread(R->snap);
    relfile *v = malloc((total ? total : 1) * sizeof *v);
    if (!v) {
        km_error_set(e, KM_ENOMEM, (size_t)-1, "out of memory");
        *out = NULL;
        return 1;
    }
    int sorted = 1;
    for (size_t i = 0; i < total; i++) {
        const km_json *root;
        size_t l;
        const char *path = km_snap_read(R->snap, i, &root, &l);
        if (l != load) continue;
        if (strncmp(path, input, plen) || path[plen] != '/') { /* not named as expected: read the folder */
            free(v);
            return 0;
        }
        size_t pl = strlen(path);
        if (pl <= 5 || strcmp(path + pl - 5, ".json")) continue; /* .json.gz: the walk reads .json only */
        const char *rel = path + plen;
        while (*rel == '/') rel++;
        v[n].rel = rel;
        v[n].root = root;
        if (n && sorted && strcmp(v[n - 1].rel, rel) > 0) sorted = 0;
        n++;
    }
    if (!sorted) qsort(v, n, sizeof *v, cmp_rel);
    km_iam_account *a = km_iam_account_new(e);
    int rc = a ? KM_OK : KM_ENOMEM;
    for (size_t i = 0; i < n && rc == KM_OK; i++)
        rc = km_iam_account_add_answer(a, v[i].rel, v[i].root); /* a broken file counts as read */
    free(v);
    if (rc != KM_OK) {
        km_iam_account_free(a);
        km_error_set(e, KM_ENOMEM, (size_t)-1, "out of memory while loading %s", input);
        *out = NULL;
        return 1;
    }
    if (!km_iam_account_principal_count(a)) { /* the folder's own loader words the error */
        km_iam_account_free(a);
        return 0;
    }
    *out = km_iam_account_finish(a, input, e);
    return 1;
}

/* The IAM account of inputs[i] (snapshot load number load); NULL with *e set on failure. */
static km_iam_account *iam_account(km_recov *R, const char *input, size_t load, km_error *e) {
    km_iam_account *a = NULL;
    if (iam_from_snap(R, input, load, &a, e)) return a;
    km_error_clear(e);
    return km_iam_account_load(input, e);
}

/* The first input's IAM account, built on a thread of its own while the stores are built: it
 * only reads the snapshot's documents and file list, which nothing changes after loading, and
 * the engine's own memory (0.7-1 s of the org benchmark's serial work). */
typedef struct iam_job {
    km_recov *R;
    const char *input;
    km_iam_account *a;
    km_error e;
    pthread_t th;
    int started;
} iam_job;

static void *iam_job_run(void *arg) {
    iam_job *j = arg;
    km_error_clear(&j->e);
    j->a = iam_account(j->R, j->input, 0, &j->e);
    return NULL;
}

static void iam_job_start(iam_job *j, km_recov *R, const char *input) {
    memset(j, 0, sizeof *j);
    j->R = R;
    j->input = input;
    if (km_threads() == 1) return; /* one thread: none started */
    j->started = pthread_create(&j->th, NULL, iam_job_run, j) == 0;
}

/* The job's account (built here and now when no thread was started); *e says why on NULL. */
static km_iam_account *iam_job_finish(iam_job *j, km_error *e) {
    if (j->started) pthread_join(j->th, NULL);
    else iam_job_run(j);
    j->started = 0;
    *e = j->e;
    return j->a;
}

static void iam_load(km_recov *R, const char *const *inputs, size_t ninputs, iam_job *first) {
    R->iam = km_arena_alloc(&R->arena, (ninputs ? ninputs : 1) * sizeof *R->iam);
    R->iam_nopol = km_arena_alloc(&R->arena, (ninputs ? ninputs : 1) * sizeof *R->iam_nopol);
    R->iam_input = km_arena_alloc(&R->arena, (ninputs ? ninputs : 1) * sizeof *R->iam_input);
    R->iam_load = km_arena_alloc(&R->arena, (ninputs ? ninputs : 1) * sizeof *R->iam_load);
    if (!R->iam || !R->iam_nopol || !R->iam_input || !R->iam_load) {
        R->failed = 1;
        if (first) {
            km_error e;
            km_iam_account_free(iam_job_finish(first, &e));
        }
        return;
    }
    for (size_t i = 0; i < ninputs; i++) {
        km_error e;
        km_error_clear(&e);
        km_iam_account *a = i == 0 && first ? iam_job_finish(first, &e) : iam_account(R, inputs[i], i, &e);
        if (!a) {
            if (e.code == KM_ENOMEM) R->failed = 1; /* harden2: not an input problem */
            note(R, S(R, "the users and roles could not be evaluated: %s", e.msg));
            continue;
        }
        if (R->managed && km_iam_account_add_managed_policies(a, R->managed, &e) != KM_OK)
            note(R, S(R, "--managed-policies: %s", e.msg));
        km_buf nb = KM_BUF_INIT;
        km_iam_account_notes(a, &nb);
        for (const char *p = nb.data; p && *p;) {
            size_t l = strcspn(p, "\n");
            const char *line = S(R, "%.*s", (int)l, p);
            /* the notes that change answers: policies named but absent */
            if (strstr(line, "is not in the snapshot: it grants nothing") || strstr(line, "boundary is missing"))
                note(R, line);
            p += l + (p[l] == '\n');
        }
        km_buf_free(&nb);
        R->iam_input[R->niam] = inputs[i];
        R->iam_load[R->niam] = i;
        R->iam[R->niam++] = a;
    }
}

static void iam_prepare(km_recov *R, km_iam_account *a, int with_vault_policies);

static km_iam_account *iam_nopol_locked(km_recov *R, size_t i);

/* Built on first need, by whichever judging thread needs it first. */
static km_iam_account *iam_nopol(km_recov *R, size_t i) {
    lock(R);
    km_iam_account *a = iam_nopol_locked(R, i);
    unlock(R);
    return a;
}

static km_iam_account *iam_nopol_locked(km_recov *R, size_t i) {
    if (R->iam_nopol[i]) return R->iam_nopol[i];
    km_error e;
    km_error_clear(&e);
    R->iam_nopol[i] = iam_account(R, R->iam_input[i], R->iam_load[i], &e);
    if (!R->iam_nopol[i] && e.code == KM_ENOMEM) R->failed = 1; /* harden2: not "could not be loaded" */
    if (R->iam_nopol[i] && R->managed) km_iam_account_add_managed_policies(R->iam_nopol[i], R->managed, &e);
    if (R->iam_nopol[i]) iam_prepare(R, R->iam_nopol[i], 0);
    return R->iam_nopol[i];
}

/* Tell the engine what it cannot read from ARNs: the owners of buckets and EBS snapshots, and
 * the vault access policy that governs each recovery point. */
static void iam_prepare(km_recov *R, km_iam_account *a, int with_vault_policies) {
    km_error e;
    size_t n;
    const km_res *const *v = km_snap_resources(R->snap, "AWS::S3::Bucket", &n);
    for (size_t i = 0; i < n; i++)
        if (v[i]->arn) km_iam_account_set_resource_account(a, v[i]->arn, v[i]->account, &e);
    for (size_t s = 0; s < R->nstores; s++) {
        const km_recov_store *st = &R->stores[s];
        for (size_t c = 0; c < st->ncopies; c++) {
            const km_recov_copy *cp = &st->copies[c];
            if (!cp->arn || !cp->account) continue;
            char acct[32];
            km_arn_field(cp->arn, 4, acct, sizeof acct);
            if (!acct[0]) km_iam_account_set_resource_account(a, cp->arn, cp->account, &e);
        }
    }
    if (!with_vault_policies) return;
    v = km_snap_resources(R->snap, "AWS::Backup::BackupVault", &n);
    for (size_t i = 0; i < n; i++) {
        km_item p = km_res_data(R->snap, v[i], "backup", "get-backup-vault-access-policy");
        if (p.status != KM_DATA_OK || !v[i]->arn) continue;
        km_buf text = KM_BUF_INIT;
        km_json_write(&text, p.json);
        for (size_t s = 0; s < R->nstores; s++) {
            const km_recov_store *st = &R->stores[s];
            for (size_t c = 0; c < st->ncopies; c++) {
                const km_recov_copy *cp = &st->copies[c];
                if (!cp->arn || !cp->vault_arn || strcmp(cp->vault_arn, v[i]->arn) || !strcmp(cp->arn, v[i]->arn)) continue;
                km_error_clear(&e);
                if (text.data &&
                    km_iam_account_add_resource_policy(a, cp->arn, text.data, text.len, S(R, "vault access policy of %s", v[i]->name), &e))
                    note(R, S(R, "vault access policy of %s: %s", v[i]->name, e.msg));
            }
        }
        km_buf_free(&text);
    }
}

/* Who a question is asked for: a principal, possibly holding what an escalation gave it. */
typedef struct actor {
    const char *arn;
    int admin;          /* a policy allowing everything attached */
    const char *group;  /* joined this group */
    int trust;          /* sts:AssumeRole without the target's trust policy */
} actor;

static int cache_key(char *key, size_t n, size_t ia, const actor *who, const km_recov_step *s) {
    int kl = snprintf(key, n, "%zu|%d|%s%s%s|%s|%s|%s", ia, s->no_resource_policy, who->admin ? "A" : "",
                      who->trust ? "T" : "", who->group ? who->group : "", who->arn, s->action, s->resource);
    return kl < 0 || (size_t)kl >= n ? -1 : kl;
}

static evres ask(km_recov *R, size_t ia, const actor *who, const km_recov_step *s) {
    evres none = {KM_TRI_UNK, "out of memory", 0};
    char key[4096];
    int kl = cache_key(key, sizeof key, ia, who, s);
    if (kl < 0) return none;
    evres *hit = km_hmap_get(&R->cache, key, (size_t)kl);
    if (hit) return *hit;
    evres r = {KM_TRI_NO, NULL, 0};
    if (R->evals >= R->budget) {
        evres over = {KM_TRI_UNK, R->budget_why, 0};
        return over; /* not cached: the answer is not the engine's */
    }
    R->evals++;
    km_iam_account *a = s->no_resource_policy ? iam_nopol(R, ia) : R->iam[ia];
    km_iam_answer ans;
    memset(&ans, 0, sizeof ans);
    km_error e;
    km_error_clear(&e);
    km_iam_grant g = {who->admin, who->group, who->trust};
    const km_iam_grant *gp = who->admin || who->group || who->trust ? &g : NULL;
    if (!a) {
        r.t = KM_TRI_UNK;
        r.why = "the snapshot could not be loaded a second time";
    } else if (km_iam_account_can_granted(a, who->arn, gp, s->action, s->resource && strcmp(s->resource, "*") ? s->resource : NULL,
                                          KM_IAM_CREDS_NO_MFA, &ans, &e) != KM_OK) {
        r.t = KM_TRI_UNK;
        if (e.code == KM_ENOMEM) R->failed = 1; /* harden2: an UNKNOWN for want of memory is no answer */
        r.why = S(R, "the IAM engine failed: %s", e.msg);
    } else if (ans.decision == KM_IAM_ALLOWED || ans.conditional) {
        r.t = KM_TRI_YES;
        r.cond = ans.conditional;
        size_t l = ans.why.len;
        while (l && ans.why.data[l - 1] == '\n') l--;
        r.why = l ? S(R, "%.*s", (int)l, ans.why.data) : "";
    }
    km_iam_answer_free(&ans);
    evres *slot = km_arena_alloc(&R->arena, sizeof *slot);
    char *k = km_arena_strndup(&R->arena, key, (size_t)kl);
    if (slot && k) {
        *slot = r;
        km_hmap_put(&R->cache, k, (size_t)kl, slot);
    }
    return r;
}

/* Evaluate one path for a principal into out (a copy of the template). */
static km_tri eval_path(km_recov *R, size_t ia, const actor *who, const tmpl *t, km_recov_path *out) {
    *out = t->p;
    km_tri res = KM_TRI_YES;
    km_buf why = KM_BUF_INIT;
    for (size_t k = 0; k < t->p.nsteps; k++) {
        if (t->no_policy[k]) {
            /* allowed on no resource at all (cached per principal and action): no need to ask
             * about this one */
            km_recov_step any = t->p.steps[k];
            any.resource = "*";
            if (ask(R, ia, who, &any).t == KM_TRI_NO) {
                km_buf_free(&why);
                return KM_TRI_NO;
            }
        }
        evres r = ask(R, ia, who, &t->p.steps[k]);
        if (t->unknown[k]) {
            /* the resource's policy is unknown: it might deny, or allow, whatever the engine says */
            if (r.t == KM_TRI_NO && !out->undecided) out->undecided = t->unknown[k];
            res = KM_TRI_UNK;
            if (!out->undecided) out->undecided = t->unknown[k];
        } else if (r.t == KM_TRI_NO) {
            km_buf_free(&why);
            return KM_TRI_NO;
        } else if (r.t == KM_TRI_UNK) {
            res = KM_TRI_UNK;
            if (!out->undecided) out->undecided = r.why;
        }
        if (r.cond) out->conditional = 1;
        /* the same statement allowing two steps is named once */
        if (r.t == KM_TRI_YES && r.why && *r.why && !(why.data && strstr(why.data, r.why))) {
            if (why.len) km_buf_putc(&why, '\n');
            km_buf_puts(&why, r.why);
        }
    }
    out->result = res;
    out->allowed_by = why.len ? S(R, "%.*s", (int)why.len, why.data) : "";
    km_buf_free(&why);
    return res;
}

/* Paths of one target (the data, or one copy) for one principal: keeps the allowed and the
 * undecided ones in *out. */
static km_tri eval_target(km_recov *R, size_t ia, const actor *who, const tmpls *ts, const char *copy,
                          int data, km_recov_path **out, size_t *n, size_t *cap) {
    km_tri t = KM_TRI_NO;
    for (size_t i = 0; i < ts->n; i++) {
        const tmpl *tp = &ts->v[i];
        if (data ? tp->p.copy != NULL : (!tp->p.copy || strcmp(tp->p.copy, copy))) continue;
        km_recov_path p;
        memset(&p, 0, sizeof p);
        km_tri r = eval_path(R, ia, who, tp, &p);
        if (r == KM_TRI_NO) continue;
        t = tri_or(t, r);
        km_recov_path *slot = PUSH(R, *out, *n, *cap);
        if (slot) *slot = p;
    }
    return t;
}

static void age_text(char *buf, size_t n, int64_t now, int64_t t) {
    if (!t) { snprintf(buf, n, "age unknown"); return; }
    double h = (double)(now - t) / 3600.0;
    if (h < 48) snprintf(buf, n, "newest %.1f h old", h);
    else snprintf(buf, n, "newest %.1f days old", h / 24.0);
}

/* ---- verdicts ------------------------------------------------------------------------------- */

static const char *what_of(const char *type) {
    if (!strcmp(type, "AWS::S3::Bucket")) return "bucket";
    if (!strcmp(type, "AWS::RDS::DBInstance")) return "database";
    if (!strcmp(type, "AWS::RDS::DBCluster")) return "cluster";
    if (!strcmp(type, "AWS::EC2::Volume")) return "volume";
    if (!strcmp(type, "AWS::DynamoDB::Table")) return "table";
    return "file system";
}

/* Whether who destroys the store's data and every copy: the paths allowed or undecided go into
 * *pr. The copies first: most principals cannot reach some copy, and that is decided by a cached
 * "allowed anywhere?" answer more often than the data's question. */
static km_tri destroys_all(km_recov *R, const km_recov_store *st, const tmpls *ts, size_t ia, const actor *who,
                           km_recov_principal *pr) {
    memset(pr, 0, sizeof *pr);
    size_t capd = 0, capc = 0;
    km_tri x = KM_TRI_YES;
    for (size_t c = 0; c < st->ncopies && x != KM_TRI_NO; c++) {
        const km_recov_copy *cp = &st->copies[c];
        x = tri_and(x, eval_target(R, ia, who, ts, cp->arn ? cp->arn : cp->location, 0, &pr->copy, &pr->ncopy, &capc));
    }
    if (x != KM_TRI_NO) x = tri_and(x, eval_target(R, ia, who, ts, NULL, 1, &pr->data, &pr->ndata, &capd));
    return x;
}

/* ---- privilege escalation ------------------------------------------------------------------- */

/* One step beyond what a principal holds: the single-step methods of actions.json
 * "escalations", each asked of the engine (SCPs and the principal's boundary included), then the
 * data and copy paths asked again as the principal taken over or with what it granted itself
 * (the boundary, SCPs and resource policies still apply). One step only: each further step
 * multiplies the questions by the number of principals and targets, and the known methods are
 * single steps (the audit's KMA-IAM-PRIVILEGE-ESCALATION check lists the principals that hold
 * them); the number kept per principal is bounded too. */
#define MAX_ESCALATIONS 8

/* km_snap_embedded parses on first use and keeps the result in the snapshot: one thread at a time. */
static const km_json *embedded(km_recov *R, const km_json *v) {
    lock(R);
    const km_json *d = km_snap_embedded(R->snap, v, NULL);
    unlock(R);
    return d;
}

static int trusts_service(km_recov *R, const char *role, const char *service) {
    char key[1200];
    int kl = snprintf(key, sizeof key, "trust|%s|%s", role, service);
    if (kl < 0 || (size_t)kl >= sizeof key) return 0;
    evres *hit = km_hmap_get(&R->cache, key, (size_t)kl);
    if (hit) return hit->t == KM_TRI_YES;
    int ok = 0;
    const km_res *r = km_snap_find_arn(R->snap, role);
    const km_json *doc = r ? km_res_get(r, "AssumeRolePolicyDocument") : NULL;
    if (doc && doc->type == KM_JSON_STRING) doc = embedded(R, doc);
    km_buf text = KM_BUF_INIT;
    /* a trust policy unread for want of memory is no "does not trust" (found by
     * tests/test_recov_oom.c: a principal escalating through it was dropped from the verdict) */
    if (doc && (km_json_write(&text, doc) || text.failed || !text.data)) R->failed = 1;
    else if (doc) {
        km_error e;
        km_error_clear(&e);
        km_iam_policy *trust = km_iam_policy_parse_document(text.data, text.len, KM_IAM_TRUST, "trust policy", &e);
        if (trust) {
            char acct[32];
            km_arn_field(role, 4, acct, sizeof acct);
            km_iam_input in;
            memset(&in, 0, sizeof in);
            in.resource = trust;
            km_iam_request rq = {service, "sts:AssumeRole", role, acct, NULL};
            ok = km_iam_evaluate(&in, &rq, NULL, NULL, &e) == KM_IAM_ALLOWED;
            km_iam_policy_free(trust);
        }
        if (e.code == KM_ENOMEM) R->failed = 1;
    }
    km_buf_free(&text);
    evres *slot = km_arena_alloc(&R->arena, sizeof *slot);
    char *k = km_arena_strndup(&R->arena, key, (size_t)kl);
    if (slot && k) {
        slot->t = ok ? KM_TRI_YES : KM_TRI_NO;
        slot->why = NULL;
        slot->cond = 0;
        km_hmap_put(&R->cache, k, (size_t)kl, slot);
    }
    return ok;
}

typedef struct targets {
    const char **arn, **name;
    size_t n, cap, capn;
} targets;

static void target_add(km_recov *R, targets *t, const char *arn, const char *name, int dedupe) {
    for (size_t i = 0; dedupe && i < t->n; i++)
        if (!strcmp(t->arn[i], arn)) return;
    const char **a = PUSH(R, t->arn, t->n, t->cap);
    size_t n = t->n - 1;
    const char **b = PUSH(R, t->name, n, t->capn);
    if (a) *a = arn;
    if (b) *b = name;
}

/* The groups (ARN and name) of a user, from the snapshot. */
static void own_groups(km_recov *R, const km_res *me, const char *acct, targets *out) {
    const km_json *gl = me ? km_res_get(me, "GroupList") : NULL;
    size_t n;
    const km_res *const *g = km_snap_resources(R->snap, "AWS::IAM::Group", &n);
    for (size_t i = 0; i < km_json_len(gl); i++) {
        const char *name = km_json_str(km_json_at(gl, i));
        for (size_t k = 0; name && k < n; k++)
            if (g[k]->arn && !strcmp(g[k]->name, name) && !strcmp(g[k]->account, acct)) target_add(R, out, g[k]->arn, g[k]->name, 1);
    }
}

/* The targets of one kind of escalation for principal p. */
static void esc_targets(km_recov *R, size_t p, const char *kind, targets *out) {
    const char *parn = R->parn[p];
    char acct[32];
    km_arn_field(parn, 4, acct, sizeof acct);
    const km_res *me = km_snap_find_arn(R->snap, parn);
    if (!strcmp(kind, "self")) {
        target_add(R, out, parn, NULL, 0);
    } else if (!strcmp(kind, "own_group")) {
        own_groups(R, me, acct, out);
    } else if (!strcmp(kind, "own_policy")) {
        /* customer managed policies attached to it or to its groups (AWS managed ones cannot be changed) */
        targets gs = {0};
        own_groups(R, me, acct, &gs);
        for (size_t g = 0; g <= gs.n; g++) {
            const km_res *holder = g < gs.n ? km_snap_find_arn(R->snap, gs.arn[g]) : me;
            const km_json *am = holder ? km_res_get(holder, "AttachedManagedPolicies") : NULL;
            for (size_t i = 0; i < km_json_len(am); i++) {
                const char *pa = km_json_str(km_ci_get(km_json_at(am, i), "PolicyArn"));
                if (pa && !strstr(pa, ":iam::aws:policy/")) target_add(R, out, pa, NULL, 1);
            }
        }
    } else if (!strcmp(kind, "group")) {
        size_t n;
        const km_res *const *g = km_snap_resources(R->snap, "AWS::IAM::Group", &n);
        for (size_t k = 0; k < n; k++)
            if (g[k]->arn && !strcmp(g[k]->account, acct)) target_add(R, out, g[k]->arn, g[k]->name, 0);
    } else {
        int role = !strcmp(kind, "role");
        for (size_t q = 0; q < R->npr; q++)
            if (q != p && R->pidx[q] == R->pidx[p] && (strstr(R->parn[q], ":role/") != NULL) == role)
                target_add(R, out, R->parn[q], NULL, 0); /* principals are listed once */
    }
}

/* Whether a policy document has an Allow that could match an IAM action (Action "*", "iam:...",
 * a service pattern with a wildcard, or NotAction). */
static int doc_may_allow_iam(km_recov *R, const km_json *doc) {
    if (doc && doc->type == KM_JSON_STRING) doc = embedded(R, doc);
    if (!doc) return 1; /* unreadable: the engine decides */
    const km_json *st = km_ci_get(doc, "Statement");
    size_t n = st && st->type == KM_JSON_ARRAY ? km_json_len(st) : (st ? 1 : 0);
    for (size_t i = 0; i < n; i++) {
        const km_json *x = st->type == KM_JSON_ARRAY ? km_json_at(st, i) : st;
        const char *eff = km_json_str(km_ci_get(x, "Effect"));
        if (!eff || strcmp(eff, "Allow")) continue;
        if (km_ci_get(x, "NotAction")) return 1;
        const km_json *a = km_ci_get(x, "Action");
        size_t na = a && a->type == KM_JSON_ARRAY ? km_json_len(a) : 1;
        for (size_t k = 0; k < na; k++) {
            const char *act = km_json_str(a && a->type == KM_JSON_ARRAY ? km_json_at(a, k) : a);
            if (!act) continue;
            size_t svc = strcspn(act, ":");
            if (!strcmp(act, "*") || (svc == 3 && !strncasecmp(act, "iam", 3)) || strcspn(act, "*?") < svc) return 1;
        }
    }
    return 0;
}

/* Whether one of a principal's identity policies (inline, managed, its groups') could allow an
 * IAM action: every escalation starts with one, and IAM has no resource policies (the trust
 * policy only governs sts:AssumeRole*). A cheap test on the documents, so that the principals that
 * hold no IAM permission at all (most of them) cost no engine question; when it says maybe, the
 * engine decides. */
static int may_allow_iam(km_recov *R, size_t ia, const char *parn) {
    const km_res *me = km_snap_find_arn(R->snap, parn);
    if (!me) return 1;
    char acct[32];
    km_arn_field(parn, 4, acct, sizeof acct);
    targets gs = {0};
    own_groups(R, me, acct, &gs);
    for (size_t g = 0; g <= gs.n; g++) {
        const km_res *h = g < gs.n ? km_snap_find_arn(R->snap, gs.arn[g]) : me;
        if (!h) return 1;
        static const char *const inl[] = {"RolePolicyList", "UserPolicyList", "GroupPolicyList"};
        for (size_t q = 0; q < 3; q++) {
            const km_json *l = km_res_get(h, inl[q]);
            for (size_t i = 0; i < km_json_len(l); i++)
                if (doc_may_allow_iam(R, km_ci_get(km_json_at(l, i), "PolicyDocument"))) return 1;
        }
        const km_json *am = km_res_get(h, "AttachedManagedPolicies");
        for (size_t i = 0; i < km_json_len(am); i++) {
            const char *pa = km_json_str(km_ci_get(km_json_at(am, i), "PolicyArn"));
            const km_res *pol = pa ? km_snap_find_arn(R->snap, pa) : NULL;
            const km_json *vl = pol ? km_res_get(pol, "PolicyVersionList") : NULL;
            const km_json *doc = NULL;
            for (size_t v = 0; v < km_json_len(vl) && !doc; v++)
                if (km_json_truth(km_ci_get(km_json_at(vl, v), "IsDefaultVersion")) == 1) doc = km_ci_get(km_json_at(vl, v), "Document");
            /* a policy the snapshot does not hold: the engine decides, unless it does not hold it
             * either (every role of docs/performance.md's organisation attaches the absent
             * ReadOnlyAccess): it then grants nothing there, and asking about each of 50,000
             * principals' escalations was a sixth of the audit */
            if (!doc && (!pa || km_iam_account_has_managed_policy(R->iam[ia], pa))) return 1;
            if (doc && doc_may_allow_iam(R, doc)) return 1;
        }
    }
    return 0;
}

/* The escalations open to principal p (found once, kept for every store). */
static const km_recov_escalation *escalations(km_recov *R, size_t p) {
    if (R->esc_done[p]) return R->esc[p];
    R->esc_done[p] = 1;
    size_t ia = R->pidx[p], cap = 0;
    const char *parn = R->parn[p];
    if (!may_allow_iam(R, ia, parn)) return NULL;
    int is_role = strstr(parn, ":role/") != NULL;
    actor me = {parn, 0, NULL, 0};
    for (size_t d = 0; d < km_json_len(R->esc_defs) && R->nesc[p] < MAX_ESCALATIONS; d++) {
        const km_json *def = km_json_at(R->esc_defs, d);
        const char *from = km_json_get_str(def, "from", "any"), *kind = km_json_get_str(def, "target", "");
        const char *grant = km_json_get_str(def, "grant", "none"), *service = km_json_get_str(def, "service", NULL);
        if ((!strcmp(from, "role") && !is_role) || (!strcmp(from, "user") && is_role)) continue;
        const km_json *steps = km_json_get(def, "steps");
        size_t ns = km_json_len(steps);
        if (!ns || ns > KM_RECOV_MAX_STEPS) continue;
        /* allowed on no resource of the kind at all (one cached answer per action and kind): no
         * target to look at */
        char acct[32];
        km_arn_field(parn, 4, acct, sizeof acct);
        const char *pattern = !strcmp(kind, "self") ? parn
                              : S(R, "arn:aws:iam::%s:%s/*", acct, !strcmp(kind, "own_group") ? "group"
                                                                   : !strcmp(kind, "own_policy") ? "policy" : kind);
        int open = 1;
        for (size_t k = 0; k < ns && open; k++) {
            const char *res = km_json_get_str(km_json_at(steps, k), "resource", "*");
            km_recov_step any = {km_json_get_str(km_json_at(steps, k), "action", ""), strcmp(res, "{target}") ? res : pattern, 0};
            open = ask(R, ia, &me, &any).t == KM_TRI_YES;
        }
        if (!open) continue;
        targets ts = {0};
        esc_targets(R, p, kind, &ts);
        for (size_t t = 0; t < ts.n && R->nesc[p] < MAX_ESCALATIONS; t++) {
            if (service && !trusts_service(R, ts.arn[t], service)) continue;
            km_recov_escalation e;
            memset(&e, 0, sizeof e);
            km_buf why = KM_BUF_INIT;
            int ok = 1;
            for (size_t k = 0; k < ns && ok; k++) {
                const km_json *sj = km_json_at(steps, k);
                const char *res = km_json_get_str(sj, "resource", "*");
                e.steps[k].action = km_json_get_str(sj, "action", "");
                e.steps[k].resource = !strcmp(res, "{target}") ? ts.arn[t] : res;
                actor who = me;
                who.trust = km_json_truth(km_json_get(sj, "trust_rewritten")) == 1;
                evres r = ask(R, ia, &who, &e.steps[k]);
                ok = r.t == KM_TRI_YES;
                e.conditional |= r.cond;
                if (ok && r.why && *r.why && !(why.data && strstr(why.data, r.why))) {
                    if (why.len) km_buf_putc(&why, '\n');
                    km_buf_puts(&why, r.why);
                }
            }
            if (ok) {
                e.nsteps = ns;
                e.why = km_json_get_str(def, "why", "");
                e.target = ts.arn[t];
                int takeover = !strcmp(kind, "role") || !strcmp(kind, "user");
                e.as = takeover ? ts.arn[t] : parn;
                e.grant_admin = !strcmp(grant, "admin");
                e.grant_group = !strcmp(grant, "group") ? ts.name[t] : NULL;
                e.allowed_by = why.len ? S(R, "%.*s", (int)why.len, why.data) : "";
                km_recov_escalation *slot = PUSH(R, R->esc[p], R->nesc[p], cap);
                if (slot) *slot = e;
            }
            km_buf_free(&why);
        }
    }
    return R->esc[p];
}

/* "role app can iam:AttachRolePolicy on itself, then rds:DeleteDBInstance on ... and
 * backup:DeleteRecoveryPoint on ..." */
static const char *path_words(km_recov *R, const km_recov_principal *pr) {
    km_buf b = KM_BUF_INIT;
    const char *name = strrchr(pr->arn, '/') ? strrchr(pr->arn, '/') + 1 : pr->arn;
    km_buf_printf(&b, "%s %s can ", pr->kind, name);
    const km_recov_escalation *e = pr->via;
    for (size_t k = 0; e && k < e->nsteps; k++)
        km_buf_printf(&b, "%s%s on %s", k ? " and " : "", e->steps[k].action,
                      !strcmp(e->steps[k].resource, pr->arn) ? "itself" : e->steps[k].resource);
    if (e && strcmp(e->as, pr->arn)) km_buf_printf(&b, ", then as %s", e->as);
    km_buf_puts(&b, e ? ", then " : "");
    const km_recov_path *all[2] = {pr->data, pr->copy};
    size_t nall[2] = {pr->ndata, pr->ncopy};
    int first = 1;
    for (int w = 0; w < 2; w++) {
        for (size_t i = 0; i < nall[w]; i++) {
            const km_recov_path *pt = &all[w][i];
            if (pt->result != KM_TRI_YES) continue;
            int dup = 0; /* one path per target: the first allowed */
            for (size_t q = 0; q < i && !dup; q++) dup = all[w][q].result == KM_TRI_YES && (w == 0 || !strcmp(all[w][q].copy, pt->copy));
            if (dup) continue;
            km_buf_printf(&b, "%s%s on %s", first ? "" : " and ", pt->steps[pt->nsteps - 1].action, pt->steps[pt->nsteps - 1].resource);
            first = 0;
        }
    }
    /* a sentence cut short for want of memory would be a different answer, not a shorter one */
    if (b.failed) R->failed = 1;
    const char *out = b.len && !b.failed ? S(R, "%.*s", (int)b.len, b.data) : "";
    km_buf_free(&b);
    return out;
}

/* Principals still to be looked at for stores whose first copy has a given signature (below),
 * in the order of R->parn. */
typedef struct cands {
    size_t *v;
    size_t n;
} cands;

/* The questions that decide, for every actor, whether it can reach the first copy at all: when
 * each path to the copy starts with a step on a resource that has no resource policy, an actor
 * allowed none of those steps on any resource cannot destroy the copy, whatever the store.
 * Returns the signature (those steps, in order) in sig, or 0 when some path starts otherwise
 * (then no principal is skipped). */
static int first_copy_signature(const km_recov_store *st, const tmpls *ts, km_buf *sig) {
    const km_recov_copy *cp = &st->copies[0];
    const char *id = cp->arn ? cp->arn : cp->location;
    for (size_t i = 0; i < ts->n; i++) {
        const tmpl *tp = &ts->v[i];
        if (!tp->p.copy || strcmp(tp->p.copy, id)) continue; /* eval_target's choice of paths */
        if (!tp->p.nsteps || !tp->no_policy[0]) return 0;
        km_buf_printf(sig, "%d|%s\n", tp->p.steps[0].no_resource_policy, tp->p.steps[0].action);
    }
    return !sig->failed;
}

/* Whether the cache already says NO to every question of the signature for who: then
 * destroys_all would decide NO for who from the cache alone, asking the engine nothing. */
static int known_unable(km_recov *R, size_t ia, const actor *who, const char *sig) {
    char key[4096];
    for (const char *line = sig; *line;) {
        const char *bar = strchr(line, '|'), *nl = strchr(line, '\n');
        km_recov_step any = {NULL, "*", (int)strtol(line, NULL, 10)};
        char action[512];
        if (!bar || !nl || (size_t)(nl - bar) > sizeof action) return 0;
        snprintf(action, sizeof action, "%.*s", (int)(nl - bar - 1), bar + 1);
        any.action = action;
        int kl = cache_key(key, sizeof key, ia, who, &any);
        if (kl < 0) return 0;
        const evres *hit = km_hmap_get(&R->cache, key, (size_t)kl);
        if (!hit || hit->t != KM_TRI_NO) return 0;
        line = nl + 1;
    }
    return 1;
}

/* Whether judge would decide NO for principal p from cached answers alone: neither p itself nor
 * any escalation open to it reaches the first copy. The escalations must have been found
 * already (finding them asks the engine), and each escalation's actor (its ARN and what the
 * escalation grants: admin, a group) is checked with the cache keys judge would use. */
static int ruled_out(km_recov *R, size_t p, const char *sig) {
    size_t ia = R->pidx[p];
    actor me = {R->parn[p], 0, NULL, 0};
    if (!R->esc_done[p] || !known_unable(R, ia, &me, sig)) return 0;
    for (size_t e = 0; e < R->nesc[p]; e++) {
        const km_recov_escalation *esc = &R->esc[p][e];
        actor as = {esc->as, esc->grant_admin, esc->grant_group, 0};
        if (!known_unable(R, ia, &as, sig)) return 0;
    }
    return 1;
}

/* The candidate list of a signature (all principals the first time), or NULL when out of memory. */
static cands *candidates(km_recov *R, const char *sig, size_t len) {
    cands *c = km_hmap_get(&R->skip, sig, len);
    if (c) return c;
    c = km_arena_alloc(&R->arena, sizeof *c);
    char *k = km_arena_strndup(&R->arena, sig, len);
    size_t *v = km_arena_alloc(&R->arena, (R->npr ? R->npr : 1) * sizeof *v);
    if (!c || !k || !v || km_hmap_put(&R->skip, k, len, c) < 0) return NULL;
    for (size_t p = 0; p < R->npr; p++) v[p] = p;
    c->v = v;
    c->n = R->npr;
    return c;
}

static void judge(km_recov *R, sbuild *b, const km_json *data_defs, const km_json *copy_defs) {
    km_recov_store *st = b->st;
    for (size_t i = 0; i < st->ncopies; i++)
        if (st->copies[i].newest && st->copies[i].newest > st->newest) st->newest = st->copies[i].newest;
    if (!st->ncopies) {
        if (st->copies_incomplete) {
            st->verdict = KM_RECOV_UNKNOWN;
            st->reason = S(R, "no recovery copy found, but the snapshot could not show all of them (%s)",
                           st->nmissing ? st->missing[0] : "a source of copies is missing");
        } else {
            st->verdict = KM_RECOV_NOT_BACKED_UP;
            st->reason = S(R, "no recovery copy: no AWS Backup recovery point, snapshot, %s",
                           !strcmp(st->type, "AWS::S3::Bucket") ? "versioning or replication"
                           : !strcmp(st->type, "AWS::DynamoDB::Table") ? "point-in-time recovery or on-demand backup"
                           : !strcmp(st->type, "AWS::EC2::Volume") ? "or EBS snapshot"
                           : km_str_starts(st->type, "AWS::RDS::") ? "automated backup or manual snapshot"
                                                                  : "or backup");
        }
        return;
    }
    if (!R->niam) {
        st->verdict = KM_RECOV_UNKNOWN;
        st->reason = "copies exist, but who can destroy them could not be evaluated (no IAM data: iam get-account-authorization-details)";
        missing(R, b, "iam get-account-authorization-details (users, roles and their policies)");
        return;
    }
    tmpls ts = {NULL, 0, 0};
    add_tmpls(R, &ts, data_defs, st, NULL);
    for (size_t c = 0; c < st->ncopies; c++) add_tmpls(R, &ts, copy_defs, st, &st->copies[c]);
    size_t nyes = 0, nunk = 0, stopped = 0;
    /* Performance (docs/performance.md, audit): the organisation snapshot has 22,000 stores and
     * 50,000 principals, and asking each principal about each store took minutes although nearly
     * every principal is ruled out by cached answers. Principals the cache already rules out
     * (themselves and every escalation open to them) for stores of this kind are skipped, and
     * dropped from the kind's list for good (cached answers and a principal's escalations never
     * change). The result is the same as looking at each: a skipped principal would have asked
     * only cached questions and been decided NO. */
    km_buf sig = KM_BUF_INIT;
    cands *cl = first_copy_signature(st, &ts, &sig) && sig.data ? candidates(R, sig.data, sig.len) : NULL;
    size_t ncand = cl ? cl->n : R->npr, kept = 0, last = (size_t)-1;
    for (size_t ci = 0; ci < ncand; ci++) {
        size_t p = cl ? cl->v[ci] : ci;
        if (R->evals >= R->budget) {
            /* out of budget: what was decided stands (an AT_RISK principal is one), the rest is
             * unknown */
            stopped = 1;
            missing(R, b, R->budget_why);
            for (; cl && ci < ncand; ci++) cl->v[kept++] = cl->v[ci];
            break;
        }
        if (cl && ruled_out(R, p, sig.data)) continue;
        if (cl) cl->v[kept++] = p;
        last = p;
        size_t ia = R->pidx[p];
        const char *parn = R->parn[p];
        km_recov_principal pr;
        actor me = {parn, 0, NULL, 0};
        km_tri x = destroys_all(R, st, &ts, ia, &me, &pr);
        if (x == KM_TRI_NO) {
            /* it cannot with what it holds: can it give itself the permissions first? */
            const km_recov_escalation *ev = escalations(R, p);
            for (size_t e = 0; e < R->nesc[p] && x != KM_TRI_YES; e++) {
                const km_recov_escalation *esc = &ev[e];
                actor as = {esc->as, esc->grant_admin, esc->grant_group, 0};
                km_recov_principal q;
                km_tri y = destroys_all(R, st, &ts, ia, &as, &q);
                if (y == KM_TRI_NO || (y == KM_TRI_UNK && x == KM_TRI_UNK)) continue;
                pr = q;
                pr.via = esc;
                x = y;
            }
        }
        if (x == KM_TRI_NO) continue;
        if (x == KM_TRI_YES && st->copies_incomplete) x = KM_TRI_UNK;
        pr.arn = parn;
        pr.kind = strstr(parn, ":role/") ? "role" : "user";
        pr.credential = !strcmp(pr.kind, "role") ? "role session without MFA" : "access key (no MFA)";
        pr.result = x;
        for (size_t k = 0; k < pr.ndata; k++) pr.conditional |= pr.data[k].conditional;
        for (size_t k = 0; k < pr.ncopy; k++) pr.conditional |= pr.copy[k].conditional;
        /* the reasons that left it undecided belong to the store's missing data */
        if (x == KM_TRI_UNK) {
            for (size_t k = 0; k < pr.ndata; k++) if (pr.data[k].undecided) missing(R, b, pr.data[k].undecided);
            for (size_t k = 0; k < pr.ncopy; k++) if (pr.copy[k].undecided) missing(R, b, pr.copy[k].undecided);
        }
        km_recov_principal *slot = PUSH(R, st->principals, st->nprincipals, b->capprincipals);
        if (slot) *slot = pr;
        if (x == KM_TRI_YES) nyes++;
        else nunk++;
    }
    if (cl) cl->n = kept;
    km_buf_free(&sig);
    /* the loop over every principal would have stopped at the first one after the last looked
     * at, had the budget run out there */
    if (!stopped && R->evals >= R->budget && (last == (size_t)-1 ? R->npr > 0 : last + 1 < R->npr)) {
        stopped = 1;
        missing(R, b, R->budget_why);
    }
    size_t ncopies = 0, nimm = 0;
    for (size_t c = 0; c < st->ncopies; c++) {
        ncopies += st->copies[c].count;
        nimm += st->copies[c].immutable;
    }
    if (nyes) {
        /* list only the principals that can; the undecided ones stay out of an AT_RISK store */
        size_t w = 0;
        for (size_t i = 0; i < st->nprincipals; i++)
            if (st->principals[i].result == KM_TRI_YES) st->principals[w++] = st->principals[i];
        st->nprincipals = w;
        st->verdict = KM_RECOV_AT_RISK;
        st->reason = S(R, "%zu principal(s) can destroy the %s and all %zu cop%s without MFA%s", nyes, st->what, ncopies,
                       ncopies == 1 ? "y" : "ies", nimm ? " (the immutable copies through their KMS key)" : "");
        size_t nesc = 0;
        const km_recov_principal *first = NULL;
        for (size_t i = 0; i < st->nprincipals; i++)
            if (st->principals[i].via && !nesc++) first = &st->principals[i];
        if (first)
            st->reason = S(R, "%s; %zu of them by privilege escalation: %s", st->reason, nesc, path_words(R, first));
    } else if (nunk || stopped) {
        st->verdict = KM_RECOV_UNKNOWN;
        st->reason = S(R, "%zu principal(s) might destroy the %s and all %zu cop%s without MFA; the snapshot cannot tell (%s)", nunk,
                       st->what, ncopies, ncopies == 1 ? "y" : "ies", st->nmissing ? st->missing[0] : "data is missing");
    } else {
        st->verdict = KM_RECOV_RECOVERABLE;
        const km_recov_copy *imm = NULL;
        for (size_t c = 0; c < st->ncopies && !imm; c++)
            if (st->copies[c].immutable) imm = &st->copies[c];
        if (imm)
            st->reason = S(R, "an immutable copy exists (%s, %s) and no principal can destroy it without MFA", imm->location,
                           imm->immutability);
        else
            st->reason = S(R, "%zu cop%s; no principal can destroy both the %s and every copy without MFA", ncopies,
                           ncopies == 1 ? "y" : "ies", st->what);
    }
    /* the copies out of the store's region or account, and how fresh the newest of them is */
    size_t niso = 0;
    int64_t iso_newest = 0;
    for (size_t c = 0; c < st->ncopies; c++) {
        const km_recov_copy *cp = &st->copies[c];
        if (!strcmp(cp->isolated, "same-region") || !cp->verified) continue;
        niso += cp->count;
        if (cp->newest > iso_newest) iso_newest = cp->newest;
    }
    if (niso) {
        char age[64];
        age_text(age, sizeof age, R->now, iso_newest);
        st->reason = S(R, "%s; %zu cop%s in another region or account (%s)", st->reason, niso, niso == 1 ? "y" : "ies", age);
    }
}

/* ---- judging on two threads ----------------------------------------------------------------- */

/* What judge keeps per thread: the answer cache, the candidate lists, the escalations found and
 * the count of engine calls. Fresh (empty) in R's arena. */
static void judge_state(km_recov *R) {
    size_t n = R->npr ? R->npr : 1;
    km_hmap empty = KM_HMAP_INIT;
    R->cache = empty;
    R->skip = empty;
    R->evals = 0;
    R->esc = km_arena_alloc(&R->arena, n * sizeof *R->esc);
    R->nesc = km_arena_alloc(&R->arena, n * sizeof *R->nesc);
    R->esc_done = km_arena_alloc(&R->arena, n);
    if (!R->esc || !R->nesc || !R->esc_done) R->failed = 1; /* km_arena_alloc zeroes */
}

typedef struct judge_job {
    km_recov *R;
    sbuild *bs;
    size_t from, to;
    const km_json *data_defs, *copy_defs;
} judge_job;

static void *judge_run(void *arg) {
    judge_job *j = arg;
    for (size_t s = j->from; s < j->to && !j->R->failed; s++) judge(j->R, &j->bs[s], j->data_defs, j->copy_defs);
    return NULL;
}

/* Whether the engine calls of both threads, counted once each, stayed under the budget: the
 * keys the second thread evaluated that the first did not, added to the first's count. */
static int within_budget(const km_recov *R, const km_recov *W) {
    if (R->evals >= R->budget || W->evals >= R->budget) return 0;
    size_t all = R->evals;
    for (size_t i = 0; i < W->cache.cap; i++) {
        const km_hmap_slot *sl = &W->cache.slots[i];
        if (!sl->key || (sl->klen >= 6 && !memcmp(sl->key, "trust|", 6))) continue; /* not an engine call */
        if (!km_hmap_get(&R->cache, sl->key, sl->klen) && ++all >= R->budget) return 0;
    }
    return 1;
}

/* Where to split the stores between the two threads. A store's cost is mostly that of the first
 * store of its kind (the same first-copy paths: every principal is looked at, about 12 us each on
 * the organisation snapshot, and its escalations found), then about 15 us per store; each thread
 * finds the escalations again. So a half costs about npr per kind of store it holds plus one per
 * store, the kinds approximated by the store types (the stores are in type order); the split
 * chosen among the type boundaries and the middle is the one whose dearer half is cheapest.
 * Only time depends on it: each store's verdict is the same wherever the split falls. */
static size_t split_point(const km_recov *R) {
    size_t best = R->nstores / 2, best_cost = (size_t)-1;
    for (size_t cand = 0; cand <= R->nstores; cand++) {
        int boundary = cand > 0 && cand < R->nstores && strcmp(R->stores[cand - 1].type, R->stores[cand].type);
        if (!boundary && cand != R->nstores / 2) continue;
        size_t cost[2] = {0, 0};
        for (size_t s = 0; s < R->nstores; s++) {
            int h = s >= cand;
            int first = s == 0 || s == cand || strcmp(R->stores[s - 1].type, R->stores[s].type);
            cost[h] += 1 + (first ? R->npr : 0);
        }
        size_t worst = cost[0] > cost[1] ? cost[0] : cost[1];
        if (worst < best_cost) {
            best_cost = worst;
            best = cand;
        }
    }
    return best;
}

/* Judge every store. Performance (docs/performance.md, audit): the organisation's 22,000 stores
 * took 1.5-2 s on one thread; they are split in two (split_point), the second part judged on a thread of its
 * own with its own answer cache, candidate lists, escalations and arena (one mutex guards what
 * both build on first need: the IAM account without resource policies and the snapshot's parsed
 * embedded documents). A store's verdict depends only on the engine's answers, never on which
 * questions were cached before (the cache and the candidate lists only spare questions whose
 * answer is known), so each half's verdicts are those of the one-thread loop, in the same order
 * (each store is its own slot) -- as long as the evaluation budget does not run out. That loop
 * evaluates each distinct question once, so it runs out exactly when the distinct questions of
 * both halves together reach the budget: then the halves' work is thrown away and the stores are
 * judged again on one thread, from an empty cache, so that the budget stops where it always did.
 * KUMOMORI_THREADS=1 judges on one thread from the start. */
static void judge_all(km_recov *R, sbuild *bs, const km_json *data_defs, const km_json *copy_defs) {
    int one = km_threads() == 1 || R->nstores < 2;
    size_t half = split_point(R);
    size_t *nmissing = one ? NULL : malloc(R->nstores * sizeof *nmissing);
    judge_job main_job = {R, bs, 0, R->nstores, data_defs, copy_defs};
    if (nmissing) {
        for (size_t s = 0; s < R->nstores; s++) nmissing[s] = R->stores[s].nmissing;
        pthread_mutex_t mu;
        pthread_mutex_init(&mu, NULL);
        km_recov W = *R;
        km_arena_init(&W.arena, (size_t)1 << 30);
        W.failed = 0;
        judge_state(&W);
        R->mu = W.mu = &mu;
        judge_job wjob = {&W, bs, half, R->nstores, data_defs, copy_defs};
        main_job.to = half;
        pthread_t th;
        int started = !W.failed && pthread_create(&th, NULL, judge_run, &wjob) == 0;
        judge_run(&main_job);
        if (started) pthread_join(th, NULL);
        else judge_run(&wjob); /* no thread: the same halves, one after the other */
        R->mu = NULL;
        pthread_mutex_destroy(&mu);
        R->warena = W.arena;
        R->failed |= W.failed;
        int ok = within_budget(R, &W);
        km_hmap_free(&W.cache);
        km_hmap_free(&W.skip);
        if (ok || R->failed) {
            free(nmissing);
            return;
        }
        /* the budget ran out: the one-thread loop decides where */
        for (size_t s = 0; s < R->nstores; s++) {
            km_recov_store *st = &R->stores[s];
            st->nmissing = nmissing[s];
            st->principals = NULL;
            st->nprincipals = 0;
            bs[s].capprincipals = 0;
            st->verdict = 0;
            st->reason = NULL;
        }
        free(nmissing);
        km_hmap_free(&R->cache);
        km_hmap_free(&R->skip);
        judge_state(R);
        main_job.to = R->nstores;
        if (R->failed) return;
    }
    judge_run(&main_job);
}

/* ---- the analysis --------------------------------------------------------------------------- */

static const char *const store_types[] = {"AWS::S3::Bucket", "AWS::RDS::DBInstance", "AWS::RDS::DBCluster",
                                          "AWS::EC2::Volume", "AWS::DynamoDB::Table", "AWS::EFS::FileSystem", NULL};

/* Listing calls whose failure hides stores: named in the notes. */
static void listing_notes(km_recov *R) {
    static const struct { const char *type, *call; } lists[] = {
        {"AWS::RDS::DBInstance", "rds describe-db-instances"}, {"AWS::RDS::DBCluster", "rds describe-db-clusters"},
        {"AWS::EC2::Volume", "ec2 describe-volumes"}, {"AWS::EFS::FileSystem", "efs describe-file-systems"},
        {"AWS::Backup::BackupVault", "backup list-backup-vaults"}};
    for (size_t i = 0; i < km_snap_naccounts(R->snap); i++) {
        const char *acct = km_snap_account(R->snap, i);
        if (!km_snap_has_collect(R->snap, acct)) continue;
        km_item b = km_snap_listing(R->snap, acct, "global", "AWS::S3::Bucket");
        const char *w = why_item(R, &b, "s3api list-buckets");
        if (w) note(R, S(R, "account %s: %s: its buckets are not analysed", acct, w));
        for (size_t r = 0; r < km_snap_nregions(R->snap, acct); r++) {
            const char *reg = km_snap_region(R->snap, acct, r);
            for (size_t k = 0; k < sizeof lists / sizeof lists[0]; k++) {
                km_item it = km_snap_listing(R->snap, acct, reg, lists[k].type);
                const char *why = why_item(R, &it, lists[k].call);
                if (why) note(R, S(R, "account %s %s: %s", acct, reg, why));
            }
            km_item t = km_snap_get(R->snap, acct, reg, "dynamodb", "list-tables", NULL);
            const char *why = why_item(R, &t, "dynamodb list-tables");
            if (why) note(R, S(R, "account %s %s: %s", acct, reg, why));
        }
    }
}

static int cmp_store(const void *x, const void *y) {
    const km_recov_store *a = x, *b = y;
    if (a->verdict != b->verdict) return (int)a->verdict - (int)b->verdict;
    int c = strcmp(a->account, b->account);
    if (!c) c = strcmp(a->region, b->region);
    if (!c) c = strcmp(a->type, b->type);
    if (!c) c = strcmp(a->arn, b->arn);
    return c;
}

static const km_json_doc *actions_doc(km_recov *R, km_error *err) {
    for (const km_embedded_file *f = km_builtin_checks; f->name; f++) {
        if (!km_str_ends(f->name, ACTIONS_FILE)) continue;
        R->actions = km_json_parse(f->data, f->len, NULL, NULL, err);
        if (!R->actions) km_error_prefix(err, "%s", ACTIONS_FILE);
        return R->actions;
    }
    km_error_set(err, KM_ERR, (size_t)-1, "%s is not built into the binary", ACTIONS_FILE);
    return NULL;
}

km_recov *km_recov_analyze(km_snap *snap, const char *const *inputs, size_t ninputs, const km_recov_opts *opts,
                           km_error *err) {
    km_recov *R = calloc(1, sizeof *R);
    if (!R) {
        km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
        return NULL;
    }
    km_arena_init(&R->arena, (size_t)1 << 30);
    R->snap = snap;
    R->score = -1;
    R->now = opts && opts->now ? opts->now : km_snap_time(snap);
    if (!R->now) R->now = (int64_t)time(NULL);
    R->managed = opts ? opts->managed_policies : NULL;
    R->budget = opts && opts->max_evaluations ? opts->max_evaluations : KM_RECOV_DEFAULT_EVALUATIONS;
    R->budget_why = S(R, "not all users and roles were evaluated: the analysis stops after %zu IAM evaluations "
                         "(kumomori recoverability --max-evaluations)", R->budget);
    const km_json_doc *ad = actions_doc(R, err);
    if (!ad) {
        km_recov_free(R);
        return NULL;
    }
    const km_json *data_defs = km_json_get(km_json_root(ad), "data");
    const km_json *copy_defs = km_json_get(km_json_root(ad), "copies");

    R->ninputs = ninputs;
    iam_job first;
    if (ninputs) iam_job_start(&first, R, inputs[0]);

    /* stores and their copies */
    vaults vs = {NULL, 0, 0, 0};
    vaults_load(R, &vs);
    for (const char *const *t = store_types; *t; t++) {
        size_t n;
        const km_res *const *v = km_snap_resources(snap, *t, &n);
        for (size_t i = 0; i < n; i++) {
            const km_res *r = v[i];
            if (!r->arn) continue;
            if (!strcmp(*t, "AWS::RDS::DBInstance") && km_json_str(km_res_get(r, "DBClusterIdentifier"))) continue;
            km_recov_store *st = PUSH(R, R->stores, R->nstores, R->capstores);
            if (!st) break;
            memset(st, 0, sizeof *st);
            st->res = r;
            st->arn = r->arn;
            st->type = *t;
            st->name = r->name;
            st->account = r->account;
            st->region = r->region;
            st->what = what_of(*t);
        }
    }
    sbuild *bs = km_arena_alloc(&R->arena, (R->nstores ? R->nstores : 1) * sizeof *bs);
    if (!bs) R->failed = 1;
    for (size_t s = 0; bs && s < R->nstores; s++) {
        sbuild *b = &bs[s];
        b->st = &R->stores[s];
        const char *t = b->st->type;
        if (!strcmp(t, "AWS::S3::Bucket")) s3_store(R, b);
        else if (!strcmp(t, "AWS::RDS::DBInstance")) rds_store(R, b, 0);
        else if (!strcmp(t, "AWS::RDS::DBCluster")) rds_store(R, b, 1);
        else if (!strcmp(t, "AWS::EC2::Volume")) ebs_store(R, b);
        else if (!strcmp(t, "AWS::DynamoDB::Table")) ddb_store(R, b);
        else efs_store(R, b);
        km_item vl = km_snap_listing(snap, b->st->account, b->st->region, "AWS::Backup::BackupVault");
        if (vl.status != KM_DATA_OK) {
            missing(R, b, why_item(R, &vl, S(R, "backup list-backup-vaults (%s %s)", b->st->account, b->st->region)));
            b->st->copies_incomplete = 1;
        }
        backup_copies(R, b, &vs);
        backup_plans(R, b);
    }

    /* principals */
    iam_load(R, inputs, ninputs, ninputs ? &first : NULL);
    size_t cappr = 0, capidx = 0, npidx = 0;
    for (size_t i = 0; i < R->niam; i++) {
        iam_prepare(R, R->iam[i], 1);
        for (size_t k = 0; k < km_iam_account_principal_count(R->iam[i]); k++) {
            const char *p = km_iam_account_principal(R->iam[i], k);
            /* service-linked roles: only the AWS service can assume them */
            if (!p || strstr(p, ":role/aws-service-role/")) continue;
            const char **slot = PUSH(R, R->parn, R->npr, cappr);
            size_t *islot = PUSH(R, R->pidx, npidx, capidx);
            if (!slot || !islot) break;
            *slot = p;
            *islot = i;
        }
    }
    R->principals_evaluated = R->npr;
    R->esc_defs = km_json_get(km_json_root(ad), "escalations");
    judge_state(R);
    listing_notes(R);
    if (bs && !R->failed) judge_all(R, bs, data_defs, copy_defs);
    if (R->nstores > 1) qsort(R->stores, R->nstores, sizeof *R->stores, cmp_store);
    for (size_t s = 0; s < R->nstores; s++) R->counts[R->stores[s].verdict]++;
    size_t decided = R->counts[KM_RECOV_RECOVERABLE] + R->counts[KM_RECOV_AT_RISK] + R->counts[KM_RECOV_NOT_BACKED_UP];
    if (decided) R->score = (int)((200 * R->counts[KM_RECOV_RECOVERABLE] + decided) / (2 * decided));
    if (R->failed) {
        km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory during the recoverability analysis");
        km_recov_free(R);
        return NULL;
    }
    return R;
}

void km_recov_free(km_recov *R) {
    if (!R) return;
    for (size_t i = 0; R->iam && i < R->niam; i++) {
        km_iam_account_free(R->iam[i]);
        if (R->iam_nopol) km_iam_account_free(R->iam_nopol[i]);
    }
    km_hmap_free(&R->cache);
    km_hmap_free(&R->skip);
    km_json_doc_free(R->actions);
    km_arena_free(&R->arena);
    km_arena_free(&R->warena);
    free(R);
}

const char *km_recov_verdict_name(km_recov_verdict v) {
    static const char *const names[] = {"AT_RISK", "NOT_BACKED_UP", "UNKNOWN", "RECOVERABLE"};
    return (unsigned)v < KM_RECOV_NVERDICTS ? names[v] : "?";
}

size_t km_recov_nstores(const km_recov *r) { return r ? r->nstores : 0; }
const km_recov_store *km_recov_store_at(const km_recov *r, size_t i) { return r && i < r->nstores ? &r->stores[i] : NULL; }
size_t km_recov_count(const km_recov *r, km_recov_verdict v) { return r && (unsigned)v < KM_RECOV_NVERDICTS ? r->counts[v] : 0; }
int km_recov_score(const km_recov *r) { return r ? r->score : -1; }
int64_t km_recov_time(const km_recov *r) { return r ? r->now : 0; }

/* ---- output --------------------------------------------------------------------------------- */

static void js(km_buf *b, const char *s) {
    if (s) km_buf_json_str(b, s, strlen(s));
    else km_buf_puts(b, "null");
}

static void jkv(km_buf *b, const char *k, const char *v) {
    km_buf_putc(b, ',');
    js(b, k);
    km_buf_putc(b, ':');
    js(b, v);
}

/* Opens an object (after a comma unless it is the first of its array) with its first key. */
static void jopen(km_buf *b, int first, const char *k, const char *v) {
    km_buf_puts(b, first ? "{" : ",{");
    js(b, k);
    km_buf_putc(b, ':');
    js(b, v);
}

static void jtime(km_buf *b, const char *k, int64_t t) {
    char buf[32];
    if (t) km_format_time(t, buf, sizeof buf);
    jkv(b, k, t ? buf : NULL);
}

static void jage(km_buf *b, const char *k, int64_t now, int64_t t) {
    km_buf_printf(b, ",\"%s\":", k);
    if (t) km_buf_printf(b, "%.1f", (double)(now - t) / 3600.0);
    else km_buf_puts(b, "null");
}

/* allowed_by: one statement per line, as the IAM engine lists them */
static void jlines(km_buf *b, const char *s) {
    km_buf_putc(b, '[');
    int first = 1;
    for (const char *p = s; p && *p;) {
        size_t l = strcspn(p, "\n");
        const char *q = p;
        size_t ql = l;
        while (ql && (*q == ' ')) { q++; ql--; }
        if (ql) {
            if (!first) km_buf_putc(b, ',');
            first = 0;
            km_buf_json_str(b, q, ql);
        }
        p += l + (p[l] == '\n');
    }
    km_buf_putc(b, ']');
}

static void jpath(km_buf *b, const km_recov_path *p, int copy) {
    km_buf_putc(b, '{');
    js(b, "actions");
    km_buf_puts(b, ":[");
    for (size_t i = 0; i < p->nsteps; i++) {
        if (i) km_buf_putc(b, ',');
        js(b, p->steps[i].action);
    }
    km_buf_puts(b, "]");
    jkv(b, "resource", p->nsteps ? p->steps[p->nsteps - 1].resource : NULL);
    km_buf_puts(b, ",\"steps\":[");
    for (size_t i = 0; i < p->nsteps; i++) {
        km_buf_printf(b, "%s{\"action\":", i ? "," : "");
        js(b, p->steps[i].action);
        jkv(b, "resource", p->steps[i].resource);
        km_buf_printf(b, ",\"without_resource_policy\":%s}", p->steps[i].no_resource_policy ? "true" : "false");
    }
    km_buf_puts(b, "]");
    if (copy) jkv(b, "copy", p->copy);
    jkv(b, "why", p->why);
    km_buf_puts(b, ",\"allowed_by\":");
    jlines(b, p->allowed_by);
    km_buf_printf(b, ",\"conditional\":%s,\"decided\":%s", p->conditional ? "true" : "false",
                  p->result == KM_TRI_YES ? "true" : "false");
    jkv(b, "undecided", p->undecided);
    km_buf_putc(b, '}');
}

static void jescalation(km_buf *b, const km_recov_escalation *e) {
    km_buf_puts(b, ",\"escalation\":");
    if (!e) {
        km_buf_puts(b, "null");
        return;
    }
    jopen(b, 1, "why", e->why);
    jkv(b, "target", e->target);
    jkv(b, "as", e->as);
    jkv(b, "grant", e->grant_admin ? "a policy allowing everything" : e->grant_group ? e->grant_group : NULL);
    km_buf_puts(b, ",\"steps\":[");
    for (size_t i = 0; i < e->nsteps; i++) {
        km_buf_printf(b, "%s{\"action\":", i ? "," : "");
        js(b, e->steps[i].action);
        jkv(b, "resource", e->steps[i].resource);
        km_buf_putc(b, '}');
    }
    km_buf_puts(b, "],\"allowed_by\":");
    jlines(b, e->allowed_by);
    km_buf_printf(b, ",\"conditional\":%s}", e->conditional ? "true" : "false");
}

int km_recov_json(const km_recov *r, km_buf *b) {
    km_buf_puts(b, "{\"version\":1");
    jtime(b, "snapshot_time", r->now);
    if (r->score >= 0) km_buf_printf(b, ",\"score\":%d", r->score);
    else km_buf_puts(b, ",\"score\":null");
    km_buf_printf(b, ",\"counts\":{\"RECOVERABLE\":%zu,\"AT_RISK\":%zu,\"NOT_BACKED_UP\":%zu,\"UNKNOWN\":%zu}",
                  r->counts[KM_RECOV_RECOVERABLE], r->counts[KM_RECOV_AT_RISK], r->counts[KM_RECOV_NOT_BACKED_UP],
                  r->counts[KM_RECOV_UNKNOWN]);
    km_buf_printf(b, ",\"principals_evaluated\":%zu,\"notes\":[", r->principals_evaluated);
    for (size_t i = 0; i < r->nnotes; i++) {
        if (i) km_buf_putc(b, ',');
        js(b, r->notes[i]);
    }
    km_buf_puts(b, "],\"stores\":[");
    for (size_t s = 0; s < r->nstores; s++) {
        const km_recov_store *st = &r->stores[s];
        jopen(b, !s, "arn", st->arn);
        jkv(b, "type", st->type);
        jkv(b, "name", st->name);
        jkv(b, "account", st->account);
        jkv(b, "region", st->region);
        jkv(b, "verdict", km_recov_verdict_name(st->verdict));
        jkv(b, "reason", st->reason);
        km_buf_puts(b, ",\"copies\":[");
        for (size_t c = 0; c < st->ncopies; c++) {
            const km_recov_copy *cp = &st->copies[c];
            jopen(b, !c, "kind", cp->kind);
            jkv(b, "arn", cp->arn);
            jkv(b, "account", cp->account);
            jkv(b, "region", cp->region);
            jkv(b, "location", cp->location);
            km_buf_printf(b, ",\"immutable\":%s", cp->immutable ? "true" : "false");
            jkv(b, "immutability", cp->immutability);
            jkv(b, "isolated", cp->isolated);
            jtime(b, "newest", cp->newest);
            jage(b, "age_hours", r->now, cp->newest);
            km_buf_printf(b, ",\"count\":%zu,\"verified\":%s}", cp->count, cp->verified ? "true" : "false");
        }
        km_buf_puts(b, "]");
        jage(b, "newest_copy_age_hours", r->now, st->newest);
        km_buf_puts(b, ",\"backup_plans\":[");
        for (size_t p = 0; p < st->nplans; p++) {
            const km_recov_plan *pl = &st->plans[p];
            jopen(b, !p, "plan", pl->plan);
            jkv(b, "selection", pl->selection);
            jkv(b, "vault", pl->vault);
            km_buf_puts(b, ",\"copy_to\":[");
            for (size_t k = 0; k < pl->ncopy_to; k++) {
                if (k) km_buf_putc(b, ',');
                js(b, pl->copy_to[k]);
            }
            km_buf_puts(b, "]");
            jkv(b, "account", pl->account);
            jkv(b, "region", pl->region);
            km_buf_putc(b, '}');
        }
        km_buf_puts(b, "],\"principals\":[");
        for (size_t p = 0; p < st->nprincipals; p++) {
            const km_recov_principal *pr = &st->principals[p];
            jopen(b, !p, "arn", pr->arn);
            jkv(b, "kind", pr->kind);
            jkv(b, "credential", pr->credential);
            km_buf_printf(b, ",\"conditional\":%s,\"decided\":%s", pr->conditional ? "true" : "false",
                          pr->result == KM_TRI_YES ? "true" : "false");
            jescalation(b, pr->via);
            km_buf_puts(b, ",\"data_paths\":[");
            for (size_t k = 0; k < pr->ndata; k++) {
                if (k) km_buf_putc(b, ',');
                jpath(b, &pr->data[k], 0);
            }
            km_buf_puts(b, "],\"copy_paths\":[");
            for (size_t k = 0; k < pr->ncopy; k++) {
                if (k) km_buf_putc(b, ',');
                jpath(b, &pr->copy[k], 1);
            }
            km_buf_puts(b, "]}");
        }
        km_buf_puts(b, "],\"missing\":[");
        for (size_t m = 0; m < st->nmissing; m++) {
            if (m) km_buf_putc(b, ',');
            js(b, st->missing[m]);
        }
        km_buf_puts(b, "]}");
    }
    km_buf_puts(b, "]}");
    return b->failed ? -1 : 0;
}

static const char *verdict_colour(km_recov_verdict v) {
    switch (v) {
    case KM_RECOV_AT_RISK: return "\033[1;31m";
    case KM_RECOV_NOT_BACKED_UP: return "\033[31m";
    case KM_RECOV_UNKNOWN: return "\033[33m";
    default: return "\033[32m";
    }
}


static int same_steps(const km_recov_path *a, const km_recov_path *b) {
    if (a->nsteps != b->nsteps) return 0;
    for (size_t i = 0; i < a->nsteps; i++)
        if (strcmp(a->steps[i].action, b->steps[i].action) || strcmp(a->steps[i].resource, b->steps[i].resource)) return 0;
    return 1;
}

static void text_path(FILE *f, const km_recov_path *p, const char *label) {
    fprintf(f, "      %s: ", label);
    for (size_t i = 0; i < p->nsteps; i++)
        fprintf(f, "%s%s on %s%s", i ? ", then " : "", p->steps[i].action, p->steps[i].resource,
                p->steps[i].no_resource_policy ? " (once the vault policy is gone)" : "");
    if (p->conditional) fprintf(f, " [conditional]");
    if (p->result != KM_TRI_YES) fprintf(f, " [cannot tell: %s]", p->undecided ? p->undecided : "?");
    fprintf(f, " (%s)", p->why ? p->why : "");
    fputc('\n', f);
    for (const char *s = p->allowed_by; s && *s;) {
        size_t l = strcspn(s, "\n");
        const char *q = s;
        size_t ql = l;
        while (ql && *q == ' ') { q++; ql--; }
        if (ql) fprintf(f, "        allowed by %.*s\n", (int)ql, q);
        s += l + (s[l] == '\n');
    }
}

int km_recov_text(const km_recov *r, FILE *f, int color, int brief) {
    char t[32];
    km_format_time(r->now, t, sizeof t);
    const char *on = color ? "\033[1m" : "", *off = color ? "\033[0m" : "";
    fprintf(f, "%s%sRecoverability%s: %zu data store(s) as of %s; %zu user(s) and role(s) evaluated without MFA\n", on,
            brief ? "S6 " : "", off, r->nstores, t, r->principals_evaluated);
    if (r->score >= 0) fprintf(f, "score %d/100: ", r->score);
    else fprintf(f, "score -: ");
    fprintf(f, "%zu at risk, %zu not backed up, %zu unknown, %zu recoverable\n", r->counts[KM_RECOV_AT_RISK],
            r->counts[KM_RECOV_NOT_BACKED_UP], r->counts[KM_RECOV_UNKNOWN], r->counts[KM_RECOV_RECOVERABLE]);
    for (size_t s = 0; s < r->nstores; s++) {
        const km_recov_store *st = &r->stores[s];
        char age[64];
        age_text(age, sizeof age, r->now, st->newest);
        fprintf(f, "\n  %s%-13s%s %s %s (%s, %s %s)\n", color ? verdict_colour(st->verdict) : "", km_recov_verdict_name(st->verdict),
                off, st->type, st->name, st->arn, st->account, st->region);
        fprintf(f, "      %s\n", st->reason);
        if (brief) {
            for (size_t p = 0; p < st->nprincipals; p++)
                if (st->principals[p].result == KM_TRI_YES)
                    fprintf(f, "      can destroy all: %s%s\n", st->principals[p].arn, st->principals[p].via ? " (by privilege escalation)" : "");
            if (st->nmissing) fprintf(f, "      missing: %s%s\n", st->missing[0], st->nmissing > 1 ? " (and more)" : "");
            continue;
        }
        for (size_t c = 0; c < st->ncopies; c++) {
            const km_recov_copy *cp = &st->copies[c];
            char ca[64];
            age_text(ca, sizeof ca, r->now, cp->newest);
            char cnt[32] = "";
            if (cp->count > 1) snprintf(cnt, sizeof cnt, "%zu x ", cp->count);
            fprintf(f, "      copy: %s%s, %s (%s%s%s)%s%s\n", cnt, cp->kind, cp->location, cp->isolated,
                    cp->account && strcmp(cp->account, st->account) ? " " : "",
                    cp->account && strcmp(cp->account, st->account) ? cp->account : "", cp->newest ? ", " : "",
                    cp->newest ? ca : "");
            fprintf(f, "            %s%s\n", cp->immutable ? "immutable: " : "not immutable: ", cp->immutability ? cp->immutability : "");
        }
        for (size_t p = 0; p < st->nplans; p++) {
            const km_recov_plan *pl = &st->plans[p];
            fprintf(f, "      plan: %s (selection %s) into vault %s", pl->plan, pl->selection ? pl->selection : "?",
                    pl->vault ? pl->vault : "?");
            if (pl->ncopy_to) {
                fprintf(f, ", copies to");
                for (size_t k = 0; k < pl->ncopy_to; k++) fprintf(f, " %s", pl->copy_to[k]);
            } else {
                fprintf(f, ", no copy elsewhere");
            }
            fputc('\n', f);
        }
        for (size_t p = 0; p < st->nprincipals; p++) {
            const km_recov_principal *pr = &st->principals[p];
            if (pr->result != KM_TRI_YES) {
                /* undecided: the JSON has the paths; the reason is in "missing" */
                fprintf(f, "    might destroy all: %s (%s)\n", pr->arn, pr->credential);
                continue;
            }
            fprintf(f, "    can destroy all: %s (%s)%s\n", pr->arn, pr->credential, pr->conditional ? " [conditional]" : "");
            if (pr->via) {
                const km_recov_escalation *e = pr->via;
                fprintf(f, "      by privilege escalation (%s): ", e->why);
                for (size_t k = 0; k < e->nsteps; k++)
                    fprintf(f, "%s%s on %s", k ? ", then " : "", e->steps[k].action,
                            strcmp(e->steps[k].resource, pr->arn) ? e->steps[k].resource : "itself");
                if (strcmp(e->as, pr->arn)) fprintf(f, "; then as %s", e->as);
                fprintf(f, "%s\n", e->conditional ? " [conditional]" : "");
                for (const char *q = e->allowed_by; q && *q;) {
                    size_t l = strcspn(q, "\n");
                    if (l) fprintf(f, "        allowed by %.*s\n", (int)l, q);
                    q += l + (q[l] == '\n');
                }
            }
            for (size_t k = 0; k < pr->ndata; k++) text_path(f, &pr->data[k], "data");
            for (size_t k = 0; k < pr->ncopy; k++) {
                /* a path that destroys several copies (their common KMS key) is shown once */
                int seen = 0;
                for (size_t q = 0; q < k && !seen; q++) seen = same_steps(&pr->copy[q], &pr->copy[k]);
                if (!seen) text_path(f, &pr->copy[k], "copy");
            }
        }
        for (size_t m = 0; m < st->nmissing; m++) fprintf(f, "      missing: %s\n", st->missing[m]);
    }
    if (brief) {
        fprintf(f, "  (copies, paths and the statements that allow them: kumomori recoverability SNAPSHOT)\n");
        return ferror(f) ? -1 : 0;
    }
    if (r->nnotes) fprintf(f, "\nnotes:\n");
    for (size_t i = 0; i < r->nnotes; i++) fprintf(f, "  %s\n", r->notes[i]);
    return ferror(f) ? -1 : 0;
}
