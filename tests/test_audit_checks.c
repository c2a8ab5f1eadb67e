/* Check registry: every metadata file is complete and bound to code, and the command list
 * holds only read-only calls. */
#include "test.h"
#include "audit/audit.h"
#include "audit/commands.h"
#include "audit/util.h"

#include <stdlib.h>
#include <string.h>

TEST(audit_checkset_loads_and_binds) {
    km_checkset set;
    km_error err;
    int rc = km_checkset_load(&set, &err);
    CHECK_MSG(rc == KM_OK, "checkset: %s", err.msg);
    CHECK(set.n >= 80);
    unsigned all = 0;
    for (size_t i = 0; i < set.n; i++) {
        const km_check *c = &set.v[i];
        all |= c->scenarios;
        CHECK_MSG(c->fn && c->title && c->rationale && c->remediation && c->remediation_cli, "%s incomplete", c->id);
        CHECK_MSG(strncmp(c->remediation_cli, "aws ", 4) == 0, "%s: remediation cli must be an AWS CLI command", c->id);
    }
    CHECK_INT(all, 0x7F); /* every scenario has checks */
    km_checkset_free(&set);
}

TEST(audit_checks_read_collected_calls) {
    /* every call a check says it reads is one collect runs */
    km_checkset set;
    km_error err;
    CHECK(km_checkset_load(&set, &err) == KM_OK);
    const km_cmdset *cmds = km_cmdset_builtin();
    CHECK(cmds);
    for (size_t i = 0; i < set.n; i++) {
        const km_json *d = set.v[i].data;
        CHECK_MSG(km_json_len(d) > 0, "%s lists no data", set.v[i].id);
        for (size_t k = 0; k < km_json_len(d); k++) {
            char call[128];
            snprintf(call, sizeof call, "%s", km_json_str(km_json_at(d, k)));
            char *sp = strchr(call, ' ');
            CHECK(sp);
            *sp = 0;
            km_test_case(km_cmdset_find(cmds, call, sp + 1) != NULL, "%s reads %s %s, which collect does not run",
                         set.v[i].id, call, sp + 1);
        }
    }
    km_checkset_free(&set);
}

TEST(audit_collect_commands_are_read_only) {
    const km_cmdset *cmds = km_cmdset_builtin();
    CHECK(cmds);
    CHECK(cmds->n > 80);
    /* A write (or secret-reading) call never belongs in the list. */
    static const char *const ok_verbs[] = {"describe-", "list-", "get-", "batch-get-", NULL};
    static const char *const forbidden[] = {"get-secret-value", "get-parameter", "get-parameters", "get-object",
                                             "get-function", "decrypt", "get-password-data", "get-login-password",
                                             "get-authorization-token", "get-session-token", NULL};
    for (size_t i = 0; i < cmds->n; i++) {
        const km_cmd *c = &cmds->cmds[i];
        int ok = 0;
        for (const char *const *v = ok_verbs; *v; v++) ok |= km_str_starts(c->op, *v);
        /* the one exception: asking IAM to build the credential report changes no configuration */
        if (!strcmp(c->service, "iam") && !strcmp(c->op, "generate-credential-report")) ok = 1;
        for (const char *const *f = forbidden; *f; f++) ok &= strcmp(c->op, *f) != 0;
        km_test_case(ok, "%s %s is not a read-only call", c->service, c->op);
        for (size_t k = 0; k < km_json_len(c->iam); k++) {
            const char *act = km_json_str(km_json_at(c->iam, k));
            const char *colon = act ? strchr(act, ':') : NULL;
            int aok = colon && (km_str_starts(colon + 1, "Get") || km_str_starts(colon + 1, "List") ||
                                km_str_starts(colon + 1, "Describe") || km_str_starts(colon + 1, "BatchGet") ||
                                !strcmp(act, "iam:GenerateCredentialReport"));
            km_test_case(aok, "%s %s needs IAM action %s, which is not read-only", c->service, c->op, act ? act : "?");
        }
    }
}
