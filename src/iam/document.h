/* Policy documents inside AWS CLI outputs (internal). */
#ifndef KM_IAM_DOCUMENT_H
#define KM_IAM_DOCUMENT_H
#include "kumomori/iam.h"

/* The value holding the policy in an AWS CLI output (object or string), or NULL; *wrapper names
 * where it was found ("Policy.Content", "PolicyVersion.Document", ...). */
const km_json *iam_find_policy_value(const km_json *root, const char **wrapper);
/* Compile a policy given as an object or as a string (JSON text or URL-encoded JSON). */
km_iam_policy *iam_policy_from_value(const km_json *v, const char *text, size_t len,
                                     km_iam_policy_kind kind, const char *name, km_error *err);
#endif
