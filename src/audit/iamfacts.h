/* IAM facts shared by checks: the credential report (base64 CSV in real CLI output, plain
 * CSV in some recordings) and who holds administrator rights. */
#ifndef KM_AUDIT_IAMFACTS_H
#define KM_AUDIT_IAMFACTS_H

#include "audit/check.h"

enum {
    CR_USER, CR_ARN, CR_CREATED, CR_PW_ENABLED, CR_PW_LAST_USED, CR_PW_CHANGED, CR_MFA,
    CR_K1_ACTIVE, CR_K1_ROTATED, CR_K1_USED, CR_K2_ACTIVE, CR_K2_ROTATED, CR_K2_USED, CR_NCOLS
};

typedef struct km_cred_report {
    km_item item;     /* the answer (file, status) */
    int ok;           /* parsed */
    char why[600];    /* why not, for UNKNOWN */
    char *text;       /* decoded CSV, cells point into it */
    char **cells;
    size_t nrows;     /* data rows (header excluded) */
    size_t ncols;
    int col[CR_NCOLS];
} km_cred_report;

/* The account's credential report, parsed once per run. Never NULL. */
const km_cred_report *km_cred_report_get(km_audit *a, const char *account);
/* Cell of row (0-based data row), or "" when the column is absent. */
const char *km_cr(const km_cred_report *r, size_t row, int col);
int km_cr_true(const km_cred_report *r, size_t row, int col);
/* Age in days of a date cell; -1 for "N/A", "no_information", "not_supported" or bad dates. */
double km_cr_age(km_audit *a, const km_cred_report *r, size_t row, int col);
/* Emit for the user of a row (the AWS::IAM::User resource when the snapshot has it). */
void km_cr_emit(km_audit *a, const char *account, const km_cred_report *r, size_t row, km_status st, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* Administrator rights of an IAM user: AdministratorAccess attached to the user or one of its
 * groups, or a "*" on "*" Allow in its own, its groups' or attached customer policies.
 * Returns 1 and a reason, 0, or -1 when the groups or policies are not in the snapshot. */
int km_iam_user_admin(km_audit *a, const km_res *user, char *why, size_t n);
/* Whether a policy document grants Allow "*" on "*". */
int km_iam_doc_star(const km_json *doc);
/* The default version's document of a managed policy resource (parsed). */
const km_json *km_iam_policy_doc(km_audit *a, const km_res *policy);

#endif
