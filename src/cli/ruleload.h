/* Rule loading shared by `kumomori detect` and `kumomori rules`: the built-in pack plus --rules
 * paths, every problem printed as "kumomori CMD: file:line:col: message". */
#ifndef KM_CLI_RULELOAD_H
#define KM_CLI_RULELOAD_H
#include "kumomori/rules.h"

/* A rule set with the built-in pack (unless builtin is 0) and every path in paths[0..n); NULL
 * (after printing every problem on stderr) when any rule failed to load, or when no rule is left
 * and allow_empty is 0. The caller frees the set with km_ruleset_free. */
km_ruleset *km_cli_load_rules(const char *cmd, char *const *paths, size_t n, int builtin, int allow_empty);
/* sigma helper: the same with values for Sigma |expand placeholders, each "NAME=V1,V2,..." */
km_ruleset *km_cli_load_rules_ph(const char *cmd, char *const *paths, size_t n, int builtin, int allow_empty,
                                 char *const *placeholders, size_t nph);
#endif
