/* KMS: customer managed keys rotate, and none is disabled or scheduled for deletion (an
 * attacker who schedules the deletion of the key of the backups holds them to ransom). */
#include "audit/check.h"

#include <string.h>

/* KeyMetadata from collect's describe-key, or the AWS Config configuration itself. */
static const km_json *key_meta(km_audit *a, const km_res *k, km_item *it) {
    if (k->from_config) {
        it->status = KM_DATA_OK;
        it->file = k->file;
        return k->cfg;
    }
    *it = km_rget(a, k, "kms", "describe-key");
    return km_ci_get(it->json, "KeyMetadata");
}

static void chk_rotation(km_audit *a) {
    km_listing_unknown(a, "AWS::KMS::Key", "kms list-keys");
    size_t n;
    const km_res *const *v = km_all(a, "AWS::KMS::Key", &n);
    for (size_t i = 0; i < n; i++) {
        const km_res *k = v[i];
        if (km_begin(a, k)) continue;
        km_item it;
        const km_json *m = key_meta(a, k, &it);
        if (km_unknown_res(a, k, &it, "kms describe-key")) continue;
        if (!km_streq_ci(km_ci_str(m, "KeyManager"), "CUSTOMER")) continue;
        const char *state = km_ci_str(m, "KeyState");
        const char *spec = km_ci_str(m, "KeySpec");
        if (!spec) spec = km_ci_str(m, "CustomerMasterKeySpec");
        const char *origin = km_ci_str(m, "Origin");
        if ((state && !km_streq_ci(state, "Enabled")) || (spec && !km_streq_ci(spec, "SYMMETRIC_DEFAULT")) ||
            (origin && !km_streq_ci(origin, "AWS_KMS")))
            continue; /* rotation applies to enabled symmetric keys with AWS-generated material */
        if (k->from_config) {
            const km_json *r = km_ci_get(k->supp, "KeyRotationStatus");
            if (!r) r = km_ci_get(k->cfg, "KeyRotationEnabled");
            if (!r) { km_emit(a, k, KM_UNKNOWN, "cannot tell: rotation status is not in the AWS Config snapshot"); continue; }
            if (km_json_truth(r) == 1) km_emit(a, k, KM_PASS, "automatic rotation on");
            else km_emit(a, k, KM_FAIL, "automatic rotation off");
            continue;
        }
        km_item rs = km_rget(a, k, "kms", "get-key-rotation-status");
        if (km_unknown_res(a, k, &rs, "kms get-key-rotation-status")) continue;
        if (km_json_truth(km_ci_get(rs.json, "KeyRotationEnabled")) == 1) km_emit(a, k, KM_PASS, "automatic rotation on");
        else km_emit(a, k, KM_FAIL, "automatic rotation off");
    }
}

static void chk_pending_deletion(km_audit *a) {
    size_t n;
    const km_res *const *v = km_all(a, "AWS::KMS::Key", &n);
    for (size_t i = 0; i < n; i++) {
        const km_res *k = v[i];
        if (km_begin(a, k)) continue;
        km_item it;
        const km_json *m = key_meta(a, k, &it);
        if (km_unknown_res(a, k, &it, "kms describe-key")) continue;
        if (!km_streq_ci(km_ci_str(m, "KeyManager"), "CUSTOMER")) continue;
        const char *state = km_ci_str(m, "KeyState");
        if (!state) { km_emit(a, k, KM_UNKNOWN, "cannot tell: KeyState is not recorded"); continue; }
        if (km_str_starts(state, "PendingDeletion") || km_str_starts(state, "PendingReplicaDeletion"))
            km_emit(a, k, KM_FAIL, "key is scheduled for deletion (%s%s%s): everything encrypted with it becomes unreadable", state,
                    km_ci_str(m, "DeletionDate") ? ", on " : "", km_ci_str(m, "DeletionDate") ? km_ci_str(m, "DeletionDate") : "");
        else if (km_streq_ci(state, "Disabled"))
            km_emit(a, k, KM_FAIL, "key is disabled: data encrypted with it cannot be read until it is enabled again");
        else km_emit(a, k, KM_PASS, "key state %s", state);
    }
}

const km_check_impl km_chk_kms[] = {
    {"KMA-KMS-ROTATION", chk_rotation},
    {"KMA-KMS-PENDING-DELETION", chk_pending_deletion},
    {NULL, NULL},
};
