#include "cli/ruleload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

km_ruleset *km_cli_load_rules(const char *cmd, char *const *paths, size_t n, int builtin, int allow_empty) {
    return km_cli_load_rules_ph(cmd, paths, n, builtin, allow_empty, NULL, 0);
}

/* sigma helper: "NAME=V1,V2" into the rule set's Sigma placeholders */
static int placeholder(km_ruleset *rs, const char *cmd, const char *spec) {
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec) {
        fprintf(stderr, "kumomori %s: --sigma-placeholder needs NAME=VALUE[,VALUE...], not '%s'\n", cmd, spec);
        return -1;
    }
    char *copy = strdup(eq + 1), *name = strndup(spec, (size_t)(eq - spec));
    const char *vals[256];
    size_t nv = 0;
    char *save = NULL;
    for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t && nv < 256; t = strtok_r(NULL, ",", &save)) vals[nv++] = t;
    km_error err;
    int rc = copy && name ? km_ruleset_sigma_placeholder(rs, name, vals, nv, &err) : -1;
    if (rc) fprintf(stderr, "kumomori %s: --sigma-placeholder %s: %s\n", cmd, spec, copy && name ? err.msg : "out of memory");
    free(copy);
    free(name);
    return rc ? -1 : 0;
}

km_ruleset *km_cli_load_rules_ph(const char *cmd, char *const *paths, size_t n, int builtin, int allow_empty,
                                 char *const *placeholders, size_t nph) {
    km_ruleset *rs = km_ruleset_new();
    if (!rs) {
        fprintf(stderr, "kumomori %s: out of memory\n", cmd);
        return NULL;
    }
    km_error err;
    int bad = 0;
    for (size_t i = 0; i < nph; i++)
        if (placeholder(rs, cmd, placeholders[i])) {
            km_ruleset_free(rs);
            return NULL;
        }
    if (builtin && km_ruleset_add_builtin(rs, &err) != KM_OK) bad = 1;
    for (size_t i = 0; i < n; i++)
        if (km_ruleset_add_path(rs, paths[i], &err) != KM_OK) bad = 1;
    /* sigma helper: Sigma rules join the set; thresholds and correlations are checked */
    if (km_ruleset_finish(rs, &err) != KM_OK) bad = 1;
    km_sigma_set *sg = km_ruleset_sigma(rs);
    for (size_t i = 0; i < km_sigma_warning_count(sg); i++) fprintf(stderr, "kumomori %s: warning: %s\n", cmd, km_sigma_warning(sg, i));
    /* `rules lint` reports these itself, as warnings it counts */
    if (strcmp(cmd, "rules") != 0)
        for (size_t i = 0; i < km_ruleset_warning_count(rs); i++)
            fprintf(stderr, "kumomori %s: warning: %s\n", cmd, km_ruleset_warning(rs, i));
    for (size_t i = 0; i < km_ruleset_error_count(rs); i++)
        fprintf(stderr, "kumomori %s: %s\n", cmd, km_ruleset_error(rs, i));
    if (bad) {
        fprintf(stderr, "kumomori %s: %zu rule file%s could not be loaded; fix %s (format: docs/rules.md, docs/sigma.md, docs/stateful.md)\n", cmd,
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
