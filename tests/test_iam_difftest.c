/* Differential test: random cases (tests/difftest/gen_iam_cases.py: every operator, wildcards,
 * Allow/Deny mixes, SCP/RCP levels, boundaries, session/endpoint/resource policies, discovery
 * mode) decided by kumomori and by @cloud-copilot/iam-simulate's core engine (npm, run with
 * node when installed: `make difftest-deps`, which .ci/run does). Every disagreement must fall
 * into a class recorded in tests/data/iam/difftest_classes.tsv with its verdict from the AWS
 * documentation. KUMOMORI_DIFFTEST_N sets the number of cases (default 10000). */
#include "test.h"
#include "kumomori/iam.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SEED 20260101

static int exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

/* A cached file is stale when the script that made it is newer. */
static int fresh(const char *cached, const char *script) {
    struct stat c, s;
    if (stat(cached, &c) != 0) return 0;
    if (stat(script, &s) != 0) return 1;
    return c.st_mtime >= s.st_mtime;
}

typedef struct klass {
    char tag[64];
    int hits;
} klass;

TEST(iam_differential_vs_iam_simulate) {
    const char *top = km_test_top();
    char modules[4096], cases[4096], oracle[4096], classes_path[4096];
    km_buf cmd = KM_BUF_INIT;
    snprintf(modules, sizeof modules, "%s/build/difftest/node_modules", top);
    char pkg[4200];
    snprintf(pkg, sizeof pkg, "%s/@cloud-copilot/iam-simulate/package.json", modules);
    if (system("command -v node >/dev/null 2>&1 && command -v python3 >/dev/null 2>&1") != 0 || !exists(pkg)) {
        km_test_skip("node, python3 or @cloud-copilot/iam-simulate absent (`make difftest-deps` installs the "
                     "package; .ci/run does it)");
        return;
    }
    long n = 10000;
    const char *env = getenv("KUMOMORI_DIFFTEST_N");
    if (env && *env) n = strtol(env, NULL, 10);
    if (n <= 0) n = 10000;
    snprintf(cases, sizeof cases, "%s/build/difftest/cases-%d-%ld.jsonl", top, SEED, n);
    snprintf(oracle, sizeof oracle, "%s/build/difftest/oracle-%d-%ld.jsonl", top, SEED, n);
    char gen[4200], orac[4200];
    snprintf(gen, sizeof gen, "%s/tests/difftest/gen_iam_cases.py", top);
    snprintf(orac, sizeof orac, "%s/tests/difftest/iam_oracle.cjs", top);
    if (!fresh(cases, gen)) {
        remove(oracle);
        km_buf_reset(&cmd);
        km_buf_printf(&cmd, "python3 '%s/tests/difftest/gen_iam_cases.py' %d %ld > '%s.tmp' && mv '%s.tmp' '%s'",
                      top, SEED, n, cases, cases, cases);
        int rc = system(cmd.data);
        CHECK_MSG(rc == 0, "generator failed: %s", cmd.data);
    }
    if (!fresh(oracle, orac) || !fresh(oracle, cases)) {
        km_buf_reset(&cmd);
        km_buf_printf(&cmd, "node '%s/tests/difftest/iam_oracle.cjs' '%s' '%s' > '%s.tmp' && mv '%s.tmp' '%s'",
                      top, modules, cases, oracle, oracle, oracle);
        int rc = system(cmd.data);
        CHECK_MSG(rc == 0, "oracle failed: %s", cmd.data);
    }
    km_buf_free(&cmd);
    klass classes[32];
    memset(classes, 0, sizeof classes); /* filled line by line below; cppcheck cannot tell */
    int nclasses = 0;
    snprintf(classes_path, sizeof classes_path, "%s/tests/data/iam/difftest_classes.tsv", top);
    FILE *f = fopen(classes_path, "r");
    CHECK(f != NULL);
    char line[4096];
    while (nclasses < 32 && fgets(line, sizeof line, f)) {
        if (line[0] == '#' || !strchr(line, '\t')) continue;
        *strchr(line, '\t') = 0;
        snprintf(classes[nclasses].tag, sizeof classes[nclasses].tag, "%.63s", line);
        classes[nclasses++].hits = 0;
    }
    fclose(f);

    size_t clen, olen;
    char *ctext = km_test_read(cases, &clen);
    char *otext = km_test_read(oracle, &olen);
    CHECK(ctext && otext);
    size_t cp = 0, op = 0;
    long total = 0, agree = 0, explained = 0, oracle_errors = 0;
    km_iam_explain *ex = km_iam_explain_new();
    while (cp < clen && op < olen) {
        size_t ce = cp, oe = op;
        while (ce < clen && ctext[ce] != '\n') ce++;
        while (oe < olen && otext[oe] != '\n') oe++;
        km_error e;
        km_error_clear(&e);
        km_json_doc *cd = km_json_parse(ctext + cp, ce - cp, NULL, NULL, &e);
        km_json_doc *od = km_json_parse(otext + op, oe - op, NULL, NULL, &e);
        const km_json *c = km_json_root(cd), *o = km_json_root(od);
        const char *id = km_json_get_str(c, "id", "?");
        const char *oid = km_json_get_str(o, "id", "");
        if (strcmp(id, oid) != 0) {
            km_test_case(0, "case %s and oracle line %s out of step", id, oid);
            km_json_doc_free(cd);
            km_json_doc_free(od);
            break;
        }
        const char *odec = km_json_get_str(o, "decision", NULL);
        if (!odec) {
            oracle_errors++;
            km_test_case_skip("%s: iam-simulate failed: %s", id, km_json_get_str(o, "error", "?"));
        } else {
            km_iam_case *k = km_iam_case_from_json(c, ctext + cp, ce - cp, "difftest", &e);
            int got = k ? km_iam_case_evaluate(k, NULL, ex, &e) : -1;
            int want = km_iam_decision_parse(odec);
            total++;
            if (got == want) {
                agree++;
                km_test_case(1, "%s", id);
            } else {
                int found = 0;
                const km_json *tags = km_json_get(c, "tags");
                for (size_t i = 0; i < km_json_len(tags) && !found; i++)
                    for (int j = 0; j < nclasses; j++)
                        if (strcmp(km_json_str(km_json_at(tags, i)), classes[j].tag) == 0) {
                            classes[j].hits++;
                            found = 1;
                            break;
                        }
                explained += found;
                km_buf b = KM_BUF_INIT;
                if (!found && got >= 0) km_iam_explain_text(ex, &b);
                km_test_case(found, "%s: kumomori %s, iam-simulate %s, in no recorded class; case: %.*s\n%s", id,
                             got < 0 ? e.msg : km_iam_decision_name(got), odec, (int)(ce - cp), ctext + cp,
                             b.data ? b.data : "");
                km_buf_free(&b);
            }
            km_iam_case_free(k);
        }
        km_json_doc_free(cd);
        km_json_doc_free(od);
        cp = ce + 1;
        op = oe + 1;
    }
    km_iam_explain_free(ex);
    free(ctext);
    free(otext);
    printf("iam differential test: %ld cases, %ld agree with iam-simulate, %ld differ in recorded classes (",
           total, agree, explained);
    for (int j = 0; j < nclasses; j++) printf("%s%s %d", j ? ", " : "", classes[j].tag, classes[j].hits);
    printf("), %ld not evaluated by iam-simulate\n", oracle_errors);
    CHECK_MSG(total >= n * 99 / 100, "only %ld of %ld cases compared", total, n);
}
