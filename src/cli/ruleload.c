#include "cli/ruleload.h"

#include <stdio.h>

km_ruleset *km_cli_load_rules(const char *cmd, char *const *paths, size_t n, int builtin, int allow_empty) {
    km_ruleset *rs = km_ruleset_new();
    if (!rs) {
        fprintf(stderr, "kumomori %s: out of memory\n", cmd);
        return NULL;
    }
    km_error err;
    int bad = 0;
    if (builtin && km_ruleset_add_builtin(rs, &err) != KM_OK) bad = 1;
    for (size_t i = 0; i < n; i++)
        if (km_ruleset_add_path(rs, paths[i], &err) != KM_OK) bad = 1;
    for (size_t i = 0; i < km_ruleset_error_count(rs); i++)
        fprintf(stderr, "kumomori %s: %s\n", cmd, km_ruleset_error(rs, i));
    if (bad) {
        fprintf(stderr, "kumomori %s: %zu rule file%s could not be loaded; fix %s (format: docs/rules.md)\n", cmd,
                km_ruleset_error_count(rs), km_ruleset_error_count(rs) == 1 ? "" : "s",
                km_ruleset_error_count(rs) == 1 ? "it" : "them");
        km_ruleset_free(rs);
        return NULL;
    }
    if (km_ruleset_count(rs) == 0 && !allow_empty) {
        fprintf(stderr, "kumomori %s: no rules to run%s\n", cmd,
                builtin ? " (the built-in pack is empty and no --rules was given)" : " (give --rules PATH)");
        km_ruleset_free(rs);
        return NULL;
    }
    return rs;
}
