/* IAM policy engine: parse AWS policy documents and decide a request the way AWS does
 * (explicit deny wins; every SCP and RCP level of the organisation path must allow; resource
 * policies with the same-account, role-session and user/role rules; identity policies;
 * permissions boundaries; session policies; cross-account requests need both sides), with an
 * explanation of which statement of which policy decided and how each condition evaluated.
 * The semantics and their sources are in docs/iam.md.
 *
 * Ownership: a parsed policy owns copies of everything it needs (the caller may free the text
 * after parsing); a context owns copies of its keys and values; an evaluation only borrows
 * policies and context for the duration of the call. Every _free function accepts NULL.
 * Thread-safety: policies and contexts are read-only during evaluation, so many threads may
 * evaluate against the same policies at once, each with its own km_iam_explain (or none). */
#ifndef KUMOMORI_IAM_H
#define KUMOMORI_IAM_H

#include <stddef.h>
#include "kumomori/buf.h"
#include "kumomori/error.h"
#include "kumomori/json.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------- */
/* Policies                                                                                  */

typedef enum km_iam_policy_kind {
    KM_IAM_IDENTITY = 0, /* inline or managed policy of a user, group or role */
    KM_IAM_RESOURCE,     /* resource-based policy (bucket policy, queue policy, ...) */
    KM_IAM_SCP,          /* AWS Organizations service control policy */
    KM_IAM_RCP,          /* AWS Organizations resource control policy */
    KM_IAM_BOUNDARY,     /* permissions boundary */
    KM_IAM_SESSION,      /* session policy passed to AssumeRole / GetFederationToken */
    KM_IAM_ENDPOINT,     /* VPC endpoint policy */
    KM_IAM_TRUST,        /* role trust policy (the resource policy of sts:AssumeRole) */
    KM_IAM_KEY,          /* KMS key policy (a resource policy that must allow explicitly) */
    KM_IAM_KIND_COUNT
} km_iam_policy_kind;

/* "identity", "resource", "scp", ... ; "?" for an unknown value. */
const char *km_iam_kind_name(km_iam_policy_kind kind);

typedef struct km_iam_policy km_iam_policy;

/* Parse a policy document (JSON text). name labels the policy in explanations and may be NULL.
 * Returns NULL on an invalid document; err then names the statement (index and Sid), the
 * element and the byte offset with line:column, e.g.
 *   statement 2 (Sid "DenyNoMFA"), Condition.BoolIfExists: a condition value must be a
 *   string, number or boolean, or an array of them (byte 311, line 12, column 40)
 * Elements AWS accepts but that make no sense for the kind (Principal in an identity policy,
 * an Allow in a custom RCP, ...) do not fail the parse: they become warnings (see below).
 * The caller owns the result (km_iam_policy_free). */
km_iam_policy *km_iam_policy_parse(const char *text, size_t len, km_iam_policy_kind kind,
                                   const char *name, km_error *err);
/* The same from an already parsed JSON value; text/len (may be NULL/0) is the document the
 * value came from, used only to give line:column in messages. The caller owns the result. */
km_iam_policy *km_iam_policy_from_json(const km_json *doc, const char *text, size_t len,
                                       km_iam_policy_kind kind, const char *name, km_error *err);
/* Parse a policy from what a file usually holds: the document itself, or the AWS CLI output
 * that carries one (iam get-policy-version, get-role-policy/get-user-policy/get-group-policy,
 * get-role (its trust policy), s3api get-bucket-policy, kms get-key-policy, organizations
 * describe-policy, lambda get-policy, sqs get-queue-attributes, sns get-topic-attributes,
 * secretsmanager get-resource-policy, ecr get-repository-policy, backup
 * get-backup-vault-access-policy). A document given as a string (JSON text, or the URL-encoded
 * form the raw IAM API returns) is decoded. The caller owns the result. */
km_iam_policy *km_iam_policy_parse_document(const char *text, size_t len, km_iam_policy_kind kind,
                                            const char *name, km_error *err);
void km_iam_policy_free(km_iam_policy *p); /* takes NULL */

const char *km_iam_policy_name(const km_iam_policy *p);
km_iam_policy_kind km_iam_policy_kind_of(const km_iam_policy *p);
size_t km_iam_policy_statement_count(const km_iam_policy *p);
/* Warnings found while parsing (owned by the policy; valid until it is freed). */
size_t km_iam_policy_warning_count(const km_iam_policy *p);
const char *km_iam_policy_warning(const km_iam_policy *p, size_t i);

/* ---------------------------------------------------------------------------------------- */
/* Request context (condition keys). Key names are case-insensitive, as in AWS. A key is either
 * single-valued or multi-valued (possibly with no value at all): the difference matters to
 * plain operators (a multi-valued key never satisfies them) and to ForAllValues (an empty set
 * satisfies it). */

typedef struct km_iam_context km_iam_context;

km_iam_context *km_iam_context_new(void);          /* NULL when out of memory */
void km_iam_context_free(km_iam_context *c);       /* takes NULL */
/* Deep copy; the caller owns the result. */
km_iam_context *km_iam_context_clone(const km_iam_context *c);
/* Set key to one value (replacing any earlier value). Returns KM_OK or KM_ENOMEM. */
int km_iam_context_set(km_iam_context *c, const char *key, const char *value);
/* Set key to a multi-valued set of n values (n may be 0). Returns KM_OK or KM_ENOMEM. */
int km_iam_context_set_multi(km_iam_context *c, const char *key, const char *const *values,
                             size_t n);
/* Add one value to a key, turning it into a multi-valued key. Returns KM_OK or KM_ENOMEM. */
int km_iam_context_add(km_iam_context *c, const char *key, const char *value);
/* Remove key; returns 1 if it was present. */
int km_iam_context_remove(km_iam_context *c, const char *key);
/* Look a key up: returns 1 and sets values, n and multi (owned by the context) when present. */
int km_iam_context_get(const km_iam_context *c, const char *key, const char *const **values,
                       size_t *n, int *multi);
size_t km_iam_context_count(const km_iam_context *c);
/* The i-th key as it was first written (for listing); NULL past the end. */
const char *km_iam_context_key(const km_iam_context *c, size_t i);

/* ---------------------------------------------------------------------------------------- */
/* Evaluation */

typedef enum km_iam_decision {
    KM_IAM_IMPLICIT_DENY = 0, /* "ImplicitlyDenied": nothing allowed it (or a guard rail did not) */
    KM_IAM_ALLOWED = 1,       /* "Allowed" */
    KM_IAM_EXPLICIT_DENY = 2  /* "ExplicitlyDenied": a Deny statement applied */
} km_iam_decision;

/* "Allowed", "ExplicitlyDenied", "ImplicitlyDenied" (the names AWS and iam-simulate use). */
const char *km_iam_decision_name(km_iam_decision d);
/* Parses those names (case-insensitively); returns -1 for anything else. */
int km_iam_decision_parse(const char *s);

/* One level of the organisation path (root, each OU, the account) and the SCPs or RCPs
 * attached to it. */
typedef struct km_iam_level {
    const char *id; /* "r-abcd", "ou-...", account id: labels only */
    const km_iam_policy *const *policies;
    size_t n;
} km_iam_level;

/* Every policy that takes part in one decision. All pointers are borrowed. */
typedef struct km_iam_input {
    const km_iam_policy *const *identity; size_t n_identity;
    const km_iam_policy *const *boundary; size_t n_boundary; /* 0: no permissions boundary */
    const km_iam_policy *session;                             /* NULL: no session policy */
    const km_iam_policy *resource;                            /* NULL: no resource policy */
    const km_iam_level *scp; size_t n_scp;    /* root first, account last; 0: SCPs do not apply */
    const km_iam_level *rcp; size_t n_rcp;    /* root first, account last; 0: RCPs do not apply */
    const km_iam_policy *const *endpoint; size_t n_endpoint; /* VPC endpoint policies */
} km_iam_input;

typedef struct km_iam_request {
    const char *principal;        /* ARN, service principal ("ec2.amazonaws.com"), or NULL: anonymous */
    const char *action;           /* "s3:DeleteObject" */
    const char *resource;         /* ARN, "*", or an ARN pattern with '*' (see below) */
    const char *resource_account; /* account owning the resource; NULL: taken from the ARN */
    const km_iam_context *context; /* may be NULL: no condition keys */
} km_iam_request;

typedef enum km_iam_mode {
    KM_IAM_STRICT = 0,   /* decide this exact request with this exact context */
    KM_IAM_DISCOVERY = 1 /* could it be allowed? conditions on keys the caller did not pin down
                            are assumed to go the requester's way (Allow conditions satisfied,
                            Deny conditions not), and the explanation lists those conditions */
} km_iam_mode;

/* In discovery mode, what the caller knows about a condition key. key is a key name or a
 * /regular expression/ (PCRE2, case-insensitive) matching key names. */
typedef struct km_iam_key_knowledge {
    const char *key;
    int presence_known; /* the context says for sure whether the key is present */
    int value_known;    /* ... and when present, its value is the real one */
} km_iam_key_knowledge;

typedef struct km_iam_options {
    km_iam_mode mode;
    const km_iam_key_knowledge *knowledge; size_t n_knowledge; /* discovery mode only */
    /* The action takes no resource ARN (s3:ListAllMyBuckets, ec2:DescribeInstances, ...): the
     * request resource is the literal "*", which only a policy Resource "*" grants. */
    int wildcard_only_action;
    /* A request resource containing '*' is a pattern ("some resource like this"). With this
     * flag, after the pattern itself is found allowed, each narrower Resource pattern of the
     * Allow statements that overlaps it is evaluated too, and the pattern is Allowed if one of
     * them is (Explicit deny only if all are). Without it the pattern is decided once. */
    int expand_wildcards;
    /* Do not add RCPFullAWSAccess to each RCP level. AWS attaches it everywhere and it cannot
     * be detached, so leave this 0 unless the levels you pass already contain it. */
    int no_default_rcp;
} km_iam_options;

/* What an evaluation explains: filled when passed to km_iam_evaluate, rendered with the
 * functions below. Reusable: each evaluation resets it. */
typedef struct km_iam_explain km_iam_explain;
km_iam_explain *km_iam_explain_new(void);
void km_iam_explain_free(km_iam_explain *ex); /* takes NULL */

/* Decide req against in. opt may be NULL (strict, no flags). ex may be NULL when only the
 * decision is wanted (no memory is then allocated unless policy variables need it).
 * Returns the decision, or -1 with err set when the request is unusable (no action, an
 * action without a service prefix) or memory ran out. */
int km_iam_evaluate(const km_iam_input *in, const km_iam_request *req,
                    const km_iam_options *opt, km_iam_explain *ex, km_error *err);

/* The explanation as text (several lines, each ending in '\n'), appended to out. */
int km_iam_explain_text(const km_iam_explain *ex, km_buf *out);
/* The explanation as one JSON object, appended to out:
 * {"decision":..., "summary":..., "blockedBy":[...], "steps":[{"policyType":..., "result":...}],
 *  "statements":[{"policyType","policy","level","statement","sid","effect","applies",
 *                 "conditions":[{"operator","key","requestValues","policyValues","result","reason"}]}],
 *  "ignoredConditions":[...], "expanded":[{"resource","decision"}]} */
int km_iam_explain_json(const km_iam_explain *ex, km_buf *out);
km_iam_decision km_iam_explain_decision(const km_iam_explain *ex);

/* The statements that decided, for callers that list them (who-can). Strings are owned by the
 * explanation and valid until its next evaluation or km_iam_explain_free. */
typedef struct km_iam_statement_ref {
    km_iam_policy_kind kind;
    const char *policy; /* policy name (owned by the explanation, like sid and level) */
    const char *level;  /* org level id for SCP/RCP, else NULL */
    size_t index;       /* 1-based statement number within the policy */
    const char *sid;    /* NULL when the statement has no Sid */
    int deny;           /* Effect is Deny */
} km_iam_statement_ref;
/* Number of statements that applied (matched action, resource, principal and conditions). */
size_t km_iam_explain_applied_count(const km_iam_explain *ex);
int km_iam_explain_applied(const km_iam_explain *ex, size_t i, km_iam_statement_ref *out);

/* ---------------------------------------------------------------------------------------- */
/* Simulation cases: the JSON shape of ../shared/corpora/iam/cases.jsonl (request, identityPolicies,
 * serviceControlPolicies, resourceControlPolicies, resourcePolicy, permissionBoundaries,
 * sessionPolicy, endpointPolicies, mode, discoveryContextKeyConstraints, expected). */

typedef struct km_iam_case km_iam_case;

/* Build a case from a parsed JSON object. file labels error messages. text/len (may be NULL)
 * is the source for line:column. The caller owns the result. */
km_iam_case *km_iam_case_from_json(const km_json *obj, const char *text, size_t len,
                                   const char *file, km_error *err);
void km_iam_case_free(km_iam_case *c); /* takes NULL */
/* Evaluate the case; ex may be NULL. extra_opts (may be NULL) ORs in flags such as
 * expand_wildcards. Returns the decision or -1 with err set. */
int km_iam_case_evaluate(const km_iam_case *c, const km_iam_options *extra_opts,
                         km_iam_explain *ex, km_error *err);
/* The expected decision written in the case, or -1 when it has none. */
int km_iam_case_expected(const km_iam_case *c);
const char *km_iam_case_id(const km_iam_case *c);   /* "" when absent */
const char *km_iam_case_name(const km_iam_case *c); /* "" when absent */
/* Every warning of every policy of the case, one per line, appended to out. */
void km_iam_case_warnings(const km_iam_case *c, km_buf *out);

/* ---------------------------------------------------------------------------------------- */
/* Accounts: what `iam get-account-authorization-details` (plus Organizations SCPs/RCPs and
 * resource policies) says about one account, for "who can do A on R" questions. */

typedef struct km_iam_account km_iam_account;

/* Load a snapshot: a file holding get-account-authorization-details output, or a directory
 * laid out as `kumomori collect` writes it (DIR/<account>/<region|global>/<service>/<op>.json,
 * per-resource calls in DIR/<account>/<region>/<service>/<op>/<key>.json; see docs/iam.md).
 * Unreadable or unexpected files are skipped with a note (km_iam_account_notes), never fatal,
 * unless no authorization details are found at all. The caller owns the result. */
km_iam_account *km_iam_account_load(const char *path, km_error *err);
void km_iam_account_free(km_iam_account *a); /* takes NULL */

/* The same from answers already parsed (the audit has read the snapshot folder once already):
 * km_iam_account_new, then km_iam_account_add_answer for each JSON file of the folder in the
 * order of their paths (strcmp), rel being the path inside the folder and root the file's whole
 * document, then km_iam_account_finish. The account copies what it keeps: root need only live
 * through the call. Files deeper than the folder walk goes are skipped as it skips them; broken
 * files are the caller's to report (no note here). add_answer returns KM_OK or KM_ENOMEM.
 * finish consumes a and returns it ready (the caller owns it), or NULL with *err set (path names
 * the folder in messages). */
km_iam_account *km_iam_account_new(km_error *err);
int km_iam_account_add_answer(km_iam_account *a, const char *rel, const km_json *root);
km_iam_account *km_iam_account_finish(km_iam_account *a, const char *path, km_error *err);

/* Extra inputs: a resource policy for a resource ARN (e.g. a bucket policy file), SCP levels
 * (root first) replacing those found in the snapshot, AWS managed policy documents (JSON lines
 * {"arn":..., "document":...} or the Policies list of authorization details) used when the
 * snapshot names a managed policy without its document. Each returns KM_OK or an error. */
int km_iam_account_add_resource_policy(km_iam_account *a, const char *resource_arn,
                                       const char *text, size_t len, const char *label,
                                       km_error *err);
int km_iam_account_add_managed_policies(km_iam_account *a, const char *path, km_error *err);

/* Notes collected while loading (skipped files, missing managed policies, how SCP levels were
 * found): one per line, appended to out. */
void km_iam_account_notes(const km_iam_account *a, km_buf *out);
/* Say which account owns a resource whose ARN names none (an S3 bucket "arn:aws:s3:::b", an EBS
 * snapshot "arn:aws:ec2:REGION::snapshot/snap-..."); it also covers the ARNs below it
 * (the objects "arn:aws:s3:::b/..." and patterns). Without it such a resource is taken to be in the account whose folder
 * held its resource policy, else the snapshot's first account. Copies the strings. */
int km_iam_account_set_resource_account(km_iam_account *a, const char *resource_arn, const char *account,
                                        km_error *err);
size_t km_iam_account_principal_count(const km_iam_account *a);
/* ARN of the i-th user or role (ARN order), owned by the account; NULL past the end. */
const char *km_iam_account_principal(const km_iam_account *a, size_t i);
const char *km_iam_account_id(const km_iam_account *a); /* "" when unknown */
/* Whether the account holds the document of managed policy arn (from the snapshot or
 * km_iam_account_add_managed_policies): one it does not hold grants nothing in its answers. */
int km_iam_account_has_managed_policy(const km_iam_account *a, const char *arn);

/* The credentials a question is asked with. */
typedef enum km_iam_creds {
    KM_IAM_CREDS_ANY = 0,  /* whatever the principal can hold, MFA included */
    KM_IAM_CREDS_NO_MFA,   /* what an attacker with stolen keys holds: a user's long-term
                              access key or a session without MFA; a role session without MFA
                              unless its trust policy demands MFA to assume it */
    KM_IAM_CREDS_MFA       /* a session authenticated with MFA */
} km_iam_creds;

typedef struct km_iam_answer {
    km_iam_decision decision;
    const char *principal;  /* ARN of the user or role (owned by the account) */
    const char *kind;       /* "user" or "role" */
    const char *credential; /* which credentials decided: "access key", "session without MFA",
                               "session with MFA", "role session", ... */
    int conditional;        /* decision is a deny, but it would be allowed if conditions on keys
                               the snapshot cannot know (source IP, VPC, tags of the request or
                               resource, ...) went the caller's way; why lists them */
    km_buf why;             /* statements that allowed (or denied), one per line */
} km_iam_answer;

/* Can principal_arn (a user or role of the account) perform action on resource (NULL or "*"
 * for "any resource") with creds? Fills *out (call km_iam_answer_free on it afterwards).
 * Returns KM_OK, or an error when the principal is unknown or memory ran out. */
int km_iam_account_can(const km_iam_account *a, const char *principal_arn, const char *action,
                       const char *resource, km_iam_creds creds, km_iam_answer *out,
                       km_error *err);
void km_iam_answer_free(km_iam_answer *ans); /* frees the buffer inside; takes NULL */

/* What a principal could give itself before acting (privilege escalation): the question is
 * then asked as if it held these too. Its permissions boundary, trust policy (for the MFA a
 * session of it can carry), SCPs, RCPs and the resource's policy still apply. */
typedef struct km_iam_grant {
    int admin;           /* a policy that allows everything ("Action": "*", "Resource": "*") is attached to it */
    const char *group;   /* it joined this group (name): the group's inline and managed policies apply */
    int trust_rewritten; /* sts:AssumeRole* on a role is decided without that role's current trust
                            policy (the principal rewrote it to let itself in): its own policies
                            must allow the call */
} km_iam_grant;

/* km_iam_account_can for a principal holding what g grants (g NULL: as km_iam_account_can).
 * Fills *out (free with km_iam_answer_free); an error when the principal or group is unknown. */
int km_iam_account_can_granted(const km_iam_account *a, const char *principal_arn, const km_iam_grant *g,
                               const char *action, const char *resource, km_iam_creds creds, km_iam_answer *out,
                               km_error *err);

/* Guard rails: would the organisation's SCPs, the resource's RCPs and its resource policy stop a
 * user of `account` (NULL: the snapshot's account) whose own policies allow everything
 * (AdministratorAccess), holding creds? The audit's question "is the MFA SCP effective for
 * s3:DeleteObject?" is km_iam_account_guardrails(a, NULL, "s3:DeleteObject", NULL,
 * KM_IAM_CREDS_NO_MFA, &ans, &err) giving ans.decision == KM_IAM_EXPLICIT_DENY (and ans.why
 * naming the SCP statement). Fills *out (free with km_iam_answer_free). */
int km_iam_account_guardrails(const km_iam_account *a, const char *account, const char *action,
                              const char *resource, km_iam_creds creds, km_iam_answer *out,
                              km_error *err);

/* Every user and role of the account that can perform action on resource (NULL: any) with
 * creds: calls fn once per principal whose answer is Allowed, or conditional (strictly denied,
 * but allowed if conditions on keys a snapshot cannot know, such as the source IP, hold), in
 * ARN order. fn returns 0 to continue. Returns the number of principals reported, or -1. */
typedef int (*km_iam_who_fn)(const km_iam_answer *ans, void *user);
long km_iam_who_can(const km_iam_account *a, const char *action, const char *resource,
                    km_iam_creds creds, km_iam_who_fn fn, void *user, km_error *err);

#ifdef __cplusplus
}
#endif
#endif
