/* Reading IAM-style policy documents (identity policies, SCPs, bucket, repository and key
 * policies) for audit checks: statements, actions with wildcards, public principals. This is
 * not the IAM evaluation engine (src/iam): it answers the narrow questions checks ask of one
 * document. Internal to the audit. */
#ifndef KM_AUDIT_POLICY_H
#define KM_AUDIT_POLICY_H

#include "kumomori/json.h"

/* Statements of a policy document: "Statement" may be one object or an array. */
size_t km_pol_nstmts(const km_json *doc);
const km_json *km_pol_stmt(const km_json *doc, size_t i);

int km_stmt_allow(const km_json *st); /* Effect == Allow */
int km_stmt_deny(const km_json *st);
/* Whether the statement's Action/NotAction covers action ("s3:DeleteObject"); wildcards in the
 * statement, case-insensitive. */
int km_stmt_covers_action(const km_json *st, const char *action);
/* Action is "*" (or "*:*"); NotAction is not. */
int km_stmt_all_actions(const km_json *st);
/* Resource is "*" (or contains it); NotResource is not. */
int km_stmt_all_resources(const km_json *st);
/* Principal is "*" or {"AWS": "*"} (anyone). */
int km_stmt_public_principal(const km_json *st);
/* Has a Condition that limits who can use a public grant (source account, org, VPC, IP, ARN). */
int km_stmt_limiting_condition(const km_json *st);
/* The value of condition operator op (e.g. "BoolIfExists") for key (case-insensitive key), or
 * NULL. */
const km_json *km_stmt_condition(const km_json *st, const char *op, const char *key);

/* Whether a policy document allows action on "*"-like resources in some Allow statement
 * without conditions (used for privilege escalation combinations). */
int km_pol_allows(const km_json *doc, const char *action);

#endif
