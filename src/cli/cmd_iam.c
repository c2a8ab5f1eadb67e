/* kumomori iam: simulate a request against policies, and ask who in an account can do what. */
#include "cli/commands.h"
#include "kumomori/iam.h"
#include "util/term.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

KM_COMMAND(iam, 40, "IAM policy engine: simulate requests, list who can perform an action")

#define MAX_FILES 64

/* harden helper: a result buffer that ran out of memory is not written (it would be cut short);
 * the command then ends with exit status 2. */
static int out_lost;
static void write_out(const km_buf *out) {
    if (out->failed) out_lost = 1;
    else fwrite(out->data ? out->data : "", 1, out->len, stdout);
}

static void iam_usage(FILE *f) {
    fprintf(f,
            "usage: kumomori iam simulate CASE.json [--format text|json]\n"
            "       kumomori iam simulate --action A [--resource ARN] [--principal ARN] [--policy FILE]...\n"
            "                             [--context KEY=VALUE]... [more policy options, see below]\n"
            "       kumomori iam who-can ACTION[,ACTION...] [RESOURCE] [--without-mfa|--with-mfa] SNAPSHOT\n"
            "       kumomori iam check POLICY.json...\n"
            "\n"
            "simulate   decide one request the way AWS does and explain the decision: which statement\n"
            "           of which policy allowed or denied it, and how each condition evaluated.\n"
            "           CASE.json holds {request, identityPolicies, serviceControlPolicies,\n"
            "           resourceControlPolicies, resourcePolicy, permissionBoundaries, sessionPolicy,\n"
            "           endpointPolicies} (the shape of ../shared/corpora/iam/cases.jsonl); a file of\n"
            "           several cases (JSON array or JSON lines) prints one line per case.\n"
            "  --format text|json     json prints {\"decision\": ..., \"explanation\": {...}}\n"
            "  --action A             e.g. s3:DeleteObject (flag form)\n"
            "  --resource ARN         resource ARN, \"*\", or a pattern with '*' (default \"*\")\n"
            "  --resource-account ID  account owning the resource (default: from the ARN)\n"
            "  --principal ARN        caller: user, role, assumed-role session, service principal\n"
            "                         (default: a user of the resource's account)\n"
            "  --anonymous            an unsigned request\n"
            "  --policy FILE          identity policy (repeatable); AWS CLI outputs holding a policy\n"
            "                         (get-policy-version, get-bucket-policy, describe-policy, ...) work too\n"
            "  --scp FILE[,FILE...]   SCPs attached at one level of the organisation; repeat per\n"
            "                         level, root first, account last\n"
            "  --rcp FILE[,FILE...]   RCPs of one level, likewise (RCPFullAWSAccess is added)\n"
            "  --resource-policy FILE --boundary FILE --session-policy FILE --endpoint-policy FILE\n"
            "  --context KEY=VALUE    condition key (repeatable); repeating a key, or VALUE written as a\n"
            "                         JSON array such as [\"a\",\"b\"] or [], makes it multi-valued\n"
            "  --discovery            could it be allowed? conditions on keys not given are assumed to\n"
            "                         go the caller's way, and listed\n"
            "  --wildcard-only-action the action takes no resource (only Resource \"*\" grants it)\n"
            "  --no-expand            (flag form) decide a wildcard resource pattern once, without\n"
            "                         trying the narrower patterns the Allow statements name\n"
            "  --quiet                print only the decision\n"
            "\n"
            "who-can    every user and role of the snapshot that can perform ACTION on RESOURCE (any\n"
            "           resource when omitted), and through which statements. SNAPSHOT is the output of\n"
            "           `aws iam get-account-authorization-details`, or a folder written by `kumomori\n"
            "           collect` (DIR/<account>/<region|global>/<service>/<operation>.json), which may\n"
            "           also hold Organizations SCP/RCP outputs and resource policies (docs/iam.md).\n"
            "  --without-mfa          only the credentials an attacker with stolen keys holds: a user's\n"
            "                         access key or session without MFA, a role session without MFA\n"
            "  --with-mfa             only sessions authenticated with MFA\n"
            "  --resource-policy FILE the resource's own policy (bucket policy, key policy, ...)\n"
            "  --managed-policies FILE  documents of AWS managed policies the snapshot only names\n"
            "                         (JSON lines {\"arn\", \"document\"} or authorization details)\n"
            "  --all                  list every principal with its decision, not only those who can\n"
            "  --format text|json\n"
            "\n"
            "check      parse policy files and print what AWS would reject or what looks wrong\n"
            "\n"
            "exit status: simulate 0 Allowed, 1 denied (or, for several cases, any differs from its\n"
            "expected decision); who-can 0 nobody can, 1 someone can; check 0 clean, 1 warnings;\n"
            "2 usage or input error (the message names the file and position).\n");
}

static char *read_all(const char *path, size_t *len) {
    km_error e;
    km_error_clear(&e);
    char *t = km_read_file(path, 64u << 20, len, &e);
    if (!t) fprintf(stderr, "kumomori iam: %s\n", e.msg);
    return t;
}

static km_iam_policy *load_policy_file(const char *path, km_iam_policy_kind kind) {
    size_t len;
    char *t = read_all(path, &len);
    if (!t) return NULL;
    km_error e;
    km_error_clear(&e);
    km_iam_policy *p = km_iam_policy_parse_document(t, len, kind, path, &e);
    if (!p) fprintf(stderr, "kumomori iam: %s: %s\n", path, e.msg);
    free(t);
    return p;
}

static void print_warnings(const km_iam_policy *p) {
    for (size_t i = 0; i < km_iam_policy_warning_count(p); i++)
        fprintf(stderr, "%swarning%s: %s: %s\n", km_term_esc(stderr, "yellow"), km_term_esc(stderr, "reset"),
                km_iam_policy_name(p), km_iam_policy_warning(p, i));
}

static int opt_value(int argc, char **argv, int *i, const char *name, const char **out) {
    size_t nl = strlen(name);
    if (strncmp(argv[*i], name, nl) == 0 && argv[*i][nl] == '=') {
        *out = argv[*i] + nl + 1;
        return 1;
    }
    if (strcmp(argv[*i], name) != 0) return 0;
    if (*i + 1 >= argc) {
        km_cli_usage_error("iam", "%s needs a value", name);
        *out = NULL;
        return -1;
    }
    *out = argv[++*i];
    return 1;
}

/* --context KEY=VALUE: VALUE "[...]" is a JSON array (multi-valued); a repeated key adds. */
static int add_context(km_iam_context *c, const char *kv) {
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv) {
        km_cli_usage_error("iam", "--context takes KEY=VALUE, not '%s'", kv);
        return -1;
    }
    char key[512];
    snprintf(key, sizeof key, "%.*s", (int)(eq - kv), kv);
    const char *v = eq + 1;
    if (v[0] == '[') {
        km_error e;
        km_error_clear(&e);
        km_json_doc *d = km_json_parse(v, strlen(v), NULL, NULL, &e);
        const km_json *r = km_json_root(d);
        if (!r || r->type != KM_JSON_ARRAY) {
            km_cli_usage_error("iam", "--context %s: '%s' is not a JSON array of strings (%s)", key, v,
                               d ? "not an array" : e.msg);
            km_json_doc_free(d);
            return -1;
        }
        km_iam_context_set_multi(c, key, NULL, 0);
        for (size_t i = 0; i < r->u.arr.n; i++) {
            const km_json *it = r->u.arr.items[i];
            char num[64];
            const char *s = km_json_str(it);
            if (!s && it->type == KM_JSON_NUMBER) {
                snprintf(num, sizeof num, "%.*s", (int)it->u.num.len, it->u.num.raw);
                s = num;
            }
            if (!s && (it->type == KM_JSON_TRUE || it->type == KM_JSON_FALSE)) s = it->type == KM_JSON_TRUE ? "true" : "false";
            if (!s) {
                km_cli_usage_error("iam", "--context %s: array items must be strings", key);
                km_json_doc_free(d);
                return -1;
            }
            km_iam_context_add(c, key, s);
        }
        km_json_doc_free(d);
        return 0;
    }
    if (km_iam_context_get(c, key, NULL, NULL, NULL)) return km_iam_context_add(c, key, v) == KM_OK ? 0 : -1;
    return km_iam_context_set(c, key, v) == KM_OK ? 0 : -1;
}

typedef struct sim_args {
    const char *format;
    int quiet, discovery, wildcard_only, no_expand;
} sim_args;

static void print_json_warnings_case(const km_iam_case *c, km_buf *out) {
    km_buf w = KM_BUF_INIT;
    km_iam_case_warnings(c, &w);
    km_buf_puts(out, "[");
    const char *s = w.data ? w.data : "";
    int first = 1;
    while (*s) {
        size_t l = strcspn(s, "\n");
        if (!first) km_buf_putc(out, ',');
        km_buf_json_str(out, s, l);
        first = 0;
        s += l + (s[l] ? 1 : 0);
    }
    km_buf_puts(out, "]");
    km_buf_free(&w);
}

static int simulate_case_file(const char *path, const sim_args *sa) {
    size_t len;
    char *text = read_all(path, &len);
    if (!text) return 2;
    km_error e;
    km_error_clear(&e);
    km_json_opts o = {.max_depth = 256};
    km_json_doc *doc = km_json_parse(text, len, &o, NULL, &e);
    /* One object, an array of cases, or JSON lines. */
    typedef struct span { const km_json *v; const char *text; size_t len; km_json_doc *own; } span;
    span *cases = NULL;
    size_t ncases = 0;
    int bad_lines = 0;
    if (doc && km_json_root(doc)->type == KM_JSON_ARRAY) {
        const km_json *r = km_json_root(doc);
        cases = calloc(r->u.arr.n + 1, sizeof *cases);
        for (size_t i = 0; cases && i < r->u.arr.n; i++) cases[ncases++] = (span){r->u.arr.items[i], text, len, NULL};
    } else if (doc) {
        cases = calloc(1, sizeof *cases);
        if (cases) cases[ncases++] = (span){km_json_root(doc), text, len, NULL};
    } else {
        /* JSON lines? Only when the first line parses on its own. */
        size_t first_end = strcspn(text, "\n");
        km_json_doc *d1 = km_json_parse(text, first_end, &o, NULL, NULL);
        if (!d1) {
            fprintf(stderr, "kumomori iam: %s: %s\n", path, e.msg);
            free(text);
            return 2;
        }
        km_json_doc_free(d1);
        size_t cap = 64, pos = 0, lineno = 0;
        cases = calloc(cap, sizeof *cases);
        while (cases && pos < len) {
            size_t end = pos;
            while (end < len && text[end] != '\n') end++;
            lineno++;
            if (end > pos) {
                km_error le;
                km_error_clear(&le);
                km_json_doc *d = km_json_parse(text + pos, end - pos, &o, NULL, &le);
                if (!d) {
                    fprintf(stderr, "kumomori iam: %s line %zu: skipped: %s\n", path, lineno, le.msg);
                    bad_lines++;
                } else {
                    if (ncases == cap) {
                        span *nc = realloc(cases, cap * 2 * sizeof *nc);
                        if (!nc) break;
                        cases = nc;
                        cap *= 2;
                    }
                    cases[ncases++] = (span){km_json_root(d), text + pos, end - pos, d};
                }
            }
            pos = end + 1;
        }
    }
    if (!cases) {
        fprintf(stderr, "kumomori iam: out of memory\n");
        km_json_doc_free(doc);
        free(text);
        return 2;
    }
    int json = sa->format && strcmp(sa->format, "json") == 0;
    km_iam_options extra;
    memset(&extra, 0, sizeof extra);
    if (sa->discovery) extra.mode = KM_IAM_DISCOVERY;
    extra.wildcard_only_action = sa->wildcard_only;
    int rc = 0, differs = 0, same = 0, unexpected = 0, errors = bad_lines;
    km_iam_explain *ex = km_iam_explain_new();
    if (!ex) { /* harden helper: without it every case would print nothing */
        fprintf(stderr, "kumomori iam: out of memory\n");
        for (size_t i = 0; i < ncases; i++) km_json_doc_free(cases[i].own);
        free(cases);
        km_json_doc_free(doc);
        free(text);
        return 2;
    }
    for (size_t i = 0; i < ncases; i++) {
        km_error ce;
        km_error_clear(&ce);
        km_iam_case *c = km_iam_case_from_json(cases[i].v, cases[i].text, cases[i].len, path, &ce);
        if (!c) {
            fprintf(stderr, "kumomori iam: %s\n", ce.msg);
            errors++;
            continue;
        }
        int d = km_iam_case_evaluate(c, &extra, ex, &ce);
        if (d < 0) {
            fprintf(stderr, "kumomori iam: %s: case %s: %s\n", path, km_iam_case_id(c), ce.msg);
            errors++;
            km_iam_case_free(c);
            continue;
        }
        int want = km_iam_case_expected(c);
        if (want < 0) unexpected++;
        else if (want == d) same++;
        else differs++;
        if (ncases == 1) {
            km_buf w = KM_BUF_INIT;
            km_iam_case_warnings(c, &w);
            if (w.data && !sa->quiet)
                fprintf(stderr, "%s", w.data);
            km_buf_free(&w);
            km_buf out = KM_BUF_INIT;
            if (json) {
                km_buf_printf(&out, "{\"decision\":\"%s\",\"explanation\":", km_iam_decision_name(d));
                km_iam_explain_json(ex, &out);
                km_buf_puts(&out, ",\"warnings\":");
                print_json_warnings_case(c, &out);
                if (want >= 0) km_buf_printf(&out, ",\"expected\":\"%s\"", km_iam_decision_name(want));
                km_buf_puts(&out, "}\n");
            } else if (sa->quiet) {
                km_buf_printf(&out, "%s\n", km_iam_decision_name(d));
            } else {
                km_iam_explain_text(ex, &out);
                if (want >= 0)
                    km_buf_printf(&out, "the case expects %s: %s\n", km_iam_decision_name(want),
                                  want == d ? "kumomori agrees" : "kumomori DIFFERS");
            }
            write_out(&out);
            km_buf_free(&out);
            rc = d == KM_IAM_ALLOWED ? 0 : 1;
        } else {
            const char *id = km_iam_case_id(c)[0] ? km_iam_case_id(c) : "(no id)";
            if (json) {
                km_buf out = KM_BUF_INIT;
                km_buf_puts(&out, "{\"id\":");
                km_buf_json_str(&out, id, strlen(id));
                km_buf_printf(&out, ",\"decision\":\"%s\"", km_iam_decision_name(d));
                if (want >= 0) km_buf_printf(&out, ",\"expected\":\"%s\"", km_iam_decision_name(want));
                km_buf_puts(&out, ",\"explanation\":");
                km_iam_explain_json(ex, &out);
                km_buf_puts(&out, "}\n");
                write_out(&out);
                km_buf_free(&out);
            } else if (!sa->quiet || (want >= 0 && want != d)) {
                printf("%-60s %-17s", id, km_iam_decision_name(d));
                if (want >= 0) printf(" expected %-17s %s", km_iam_decision_name(want), want == d ? "ok" : "DIFFERS");
                printf("\n");
            }
        }
        km_iam_case_free(c);
    }
    km_iam_explain_free(ex);
    if (ncases != 1) {
        fprintf(json ? stderr : stdout, "%zu cases: %d as expected, %d different, %d without an expected decision%s",
                ncases + (size_t)bad_lines, same, differs, unexpected, errors ? "" : "\n");
        if (errors) fprintf(json ? stderr : stdout, ", %d not evaluated (see the messages above)\n", errors);
        rc = errors ? 2 : differs ? 1 : 0;
    } else if (errors) {
        rc = 2;
    }
    for (size_t i = 0; i < ncases; i++) km_json_doc_free(cases[i].own);
    free(cases);
    km_json_doc_free(doc);
    free(text);
    return rc;
}

typedef struct level_files {
    km_iam_policy *p[MAX_FILES];
    size_t n;
} level_files;

static int load_level(const char *list, km_iam_policy_kind kind, level_files *lf) {
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", list);
    char *save = NULL;
    for (char *f = strtok_r(buf, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
        if (lf->n >= MAX_FILES) {
            km_cli_usage_error("iam", "too many policy files in one level (at most %d)", MAX_FILES);
            return -1;
        }
        km_iam_policy *p = load_policy_file(f, kind);
        if (!p) return -1;
        lf->p[lf->n++] = p;
    }
    return 0;
}

static int cmd_simulate(int argc, char **argv) {
    sim_args sa = {"text", 0, 0, 0, 0};
    const char *case_file = NULL, *action = NULL, *resource = NULL, *principal = NULL, *raccount = NULL;
    int anonymous = 0, rc = 2;
    km_iam_policy *identity[MAX_FILES] = {0}, *boundary = NULL, *session = NULL, *resp = NULL, *endpoint[MAX_FILES] = {0};
    size_t n_identity = 0, n_endpoint = 0;
    level_files scp[16], rcp[16];
    size_t n_scp = 0, n_rcp = 0;
    memset(scp, 0, sizeof scp);
    memset(rcp, 0, sizeof rcp);
    km_iam_context *ctx = km_iam_context_new();
    km_iam_explain *ex = km_iam_explain_new();
    if (!ctx || !ex) {
        fprintf(stderr, "kumomori iam: out of memory\n");
        goto done;
    }
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int r;
        if ((r = opt_value(argc, argv, &i, "--format", &v))) {
            if (r < 0) goto done;
            if (strcmp(v, "text") != 0 && strcmp(v, "json") != 0) {
                km_cli_usage_error("iam", "--format takes text or json, not '%s'", v);
                goto done;
            }
            sa.format = v;
        } else if ((r = opt_value(argc, argv, &i, "--action", &v))) {
            if (r < 0) goto done;
            action = v;
        } else if ((r = opt_value(argc, argv, &i, "--resource", &v))) {
            if (r < 0) goto done;
            resource = v;
        } else if ((r = opt_value(argc, argv, &i, "--resource-account", &v))) {
            if (r < 0) goto done;
            raccount = v;
        } else if ((r = opt_value(argc, argv, &i, "--principal", &v))) {
            if (r < 0) goto done;
            principal = v;
        } else if ((r = opt_value(argc, argv, &i, "--policy", &v))) {
            if (r < 0) goto done;
            if (n_identity >= MAX_FILES) { km_cli_usage_error("iam", "too many --policy files"); goto done; }
            if (!(identity[n_identity] = load_policy_file(v, KM_IAM_IDENTITY))) goto done;
            n_identity++;
        } else if ((r = opt_value(argc, argv, &i, "--scp", &v))) {
            if (r < 0) goto done;
            if (n_scp >= 16) { km_cli_usage_error("iam", "at most 16 SCP levels"); goto done; }
            if (load_level(v, KM_IAM_SCP, &scp[n_scp++]) < 0) goto done;
        } else if ((r = opt_value(argc, argv, &i, "--rcp", &v))) {
            if (r < 0) goto done;
            if (n_rcp >= 16) { km_cli_usage_error("iam", "at most 16 RCP levels"); goto done; }
            if (load_level(v, KM_IAM_RCP, &rcp[n_rcp++]) < 0) goto done;
        } else if ((r = opt_value(argc, argv, &i, "--resource-policy", &v))) {
            if (r < 0) goto done;
            km_iam_policy_free(resp);
            km_iam_policy_kind k = KM_IAM_RESOURCE;
            if (!(resp = load_policy_file(v, k))) goto done;
        } else if ((r = opt_value(argc, argv, &i, "--boundary", &v))) {
            if (r < 0) goto done;
            km_iam_policy_free(boundary);
            if (!(boundary = load_policy_file(v, KM_IAM_BOUNDARY))) goto done;
        } else if ((r = opt_value(argc, argv, &i, "--session-policy", &v))) {
            if (r < 0) goto done;
            km_iam_policy_free(session);
            if (!(session = load_policy_file(v, KM_IAM_SESSION))) goto done;
        } else if ((r = opt_value(argc, argv, &i, "--endpoint-policy", &v))) {
            if (r < 0) goto done;
            if (n_endpoint >= MAX_FILES) { km_cli_usage_error("iam", "too many --endpoint-policy files"); goto done; }
            if (!(endpoint[n_endpoint] = load_policy_file(v, KM_IAM_ENDPOINT))) goto done;
            n_endpoint++;
        } else if ((r = opt_value(argc, argv, &i, "--context", &v))) {
            if (r < 0 || add_context(ctx, v) < 0) goto done;
        } else if (strcmp(argv[i], "--anonymous") == 0) {
            anonymous = 1;
        } else if (strcmp(argv[i], "--discovery") == 0) {
            sa.discovery = 1;
        } else if (strcmp(argv[i], "--wildcard-only-action") == 0) {
            sa.wildcard_only = 1;
        } else if (strcmp(argv[i], "--no-expand") == 0) {
            sa.no_expand = 1;
        } else if (strcmp(argv[i], "--quiet") == 0 || strcmp(argv[i], "-q") == 0) {
            sa.quiet = 1;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            km_cli_usage_error("iam", "unknown option '%s' for simulate", argv[i]);
            goto done;
        } else if (!case_file) {
            case_file = argv[i];
        } else {
            km_cli_usage_error("iam", "simulate takes one case file, got '%s' too", argv[i]);
            goto done;
        }
    }
    if (case_file && action) {
        km_cli_usage_error("iam", "give either a case file or --action with policies, not both");
        goto done;
    }
    if (case_file) {
        rc = simulate_case_file(case_file, &sa);
        goto done;
    }
    if (!action) {
        km_cli_usage_error("iam", "simulate needs a case file or --action");
        goto done;
    }
    {
        char defprincipal[256];
        if (!principal && !anonymous) {
            const char *acct = raccount;
            char acctbuf[32] = "";
            if (!acct && resource && strncmp(resource, "arn:", 4) == 0) {
                const char *p = resource;
                for (int k = 0; k < 4 && p; k++) p = strchr(p, ':') ? strchr(p, ':') + 1 : NULL;
                if (p) snprintf(acctbuf, sizeof acctbuf, "%.*s", (int)strcspn(p, ":"), p);
                if (acctbuf[0]) acct = acctbuf;
            }
            snprintf(defprincipal, sizeof defprincipal, "arn:aws:iam::%s:user/simulated-user",
                     acct && *acct ? acct : "111122223333");
            principal = defprincipal;
            if (!raccount && !acctbuf[0]) raccount = "111122223333";
        }
        for (size_t i = 0; i < n_identity; i++) print_warnings(identity[i]);
        for (size_t l = 0; l < n_scp; l++)
            for (size_t i = 0; i < scp[l].n; i++) print_warnings(scp[l].p[i]);
        for (size_t l = 0; l < n_rcp; l++)
            for (size_t i = 0; i < rcp[l].n; i++) print_warnings(rcp[l].p[i]);
        if (resp) print_warnings(resp);
        if (boundary) print_warnings(boundary);
        if (session) print_warnings(session);
        for (size_t i = 0; i < n_endpoint; i++) print_warnings(endpoint[i]);
        km_iam_level ls[16], lr[16];
        char ids[32][32];
        for (size_t l = 0; l < n_scp; l++) {
            snprintf(ids[l], sizeof ids[l], "level-%zu", l + 1);
            ls[l] = (km_iam_level){ids[l], (const km_iam_policy *const *)scp[l].p, scp[l].n};
        }
        for (size_t l = 0; l < n_rcp; l++) {
            snprintf(ids[16 + l], sizeof ids[16 + l], "level-%zu", l + 1);
            lr[l] = (km_iam_level){ids[16 + l], (const km_iam_policy *const *)rcp[l].p, rcp[l].n};
        }
        const km_iam_policy *bp = boundary;
        km_iam_input in = {(const km_iam_policy *const *)identity, n_identity, boundary ? &bp : NULL,
                           boundary ? 1 : 0, session, resp, ls, n_scp, lr, n_rcp,
                           (const km_iam_policy *const *)endpoint, n_endpoint};
        km_iam_request rq = {anonymous ? NULL : principal, action, resource ? resource : "*", raccount, ctx};
        km_iam_options o;
        memset(&o, 0, sizeof o);
        o.mode = sa.discovery ? KM_IAM_DISCOVERY : KM_IAM_STRICT;
        o.wildcard_only_action = sa.wildcard_only;
        o.expand_wildcards = !sa.no_expand;
        km_error e;
        km_error_clear(&e);
        int d = km_iam_evaluate(&in, &rq, &o, ex, &e);
        if (d < 0) {
            fprintf(stderr, "kumomori iam: %s\n", e.msg);
            goto done;
        }
        km_buf out = KM_BUF_INIT;
        if (strcmp(sa.format, "json") == 0) {
            km_buf_printf(&out, "{\"decision\":\"%s\",\"explanation\":", km_iam_decision_name(d));
            km_iam_explain_json(ex, &out);
            km_buf_puts(&out, "}\n");
        } else if (sa.quiet) {
            km_buf_printf(&out, "%s\n", km_iam_decision_name(d));
        } else {
            km_iam_explain_text(ex, &out);
        }
        write_out(&out);
        km_buf_free(&out);
        rc = d == KM_IAM_ALLOWED ? 0 : 1;
    }
done:
    for (size_t i = 0; i < n_identity; i++) km_iam_policy_free(identity[i]);
    for (size_t i = 0; i < n_endpoint; i++) km_iam_policy_free(endpoint[i]);
    for (size_t l = 0; l < 16; l++) {
        for (size_t i = 0; i < scp[l].n; i++) km_iam_policy_free(scp[l].p[i]);
        for (size_t i = 0; i < rcp[l].n; i++) km_iam_policy_free(rcp[l].p[i]);
    }
    km_iam_policy_free(boundary);
    km_iam_policy_free(session);
    km_iam_policy_free(resp);
    km_iam_context_free(ctx);
    km_iam_explain_free(ex);
    return rc;
}

/* ---- who-can ---------------------------------------------------------------------------- */

typedef struct who_out {
    int json;
    km_buf *out;
    int first;
} who_out;

static void why_lines(km_buf *out, const char *why, const char *indent, int json) {
    const char *s = why ? why : "";
    int first = 1;
    while (*s) {
        size_t l = strcspn(s, "\n");
        if (json) {
            if (!first) km_buf_putc(out, ',');
            km_buf_json_str(out, s, l);
        } else {
            km_buf_printf(out, "%s%.*s\n", indent, (int)l, s);
        }
        first = 0;
        s += l + (s[l] ? 1 : 0);
    }
}

static void answer_out(who_out *w, const km_iam_answer *a, int all) {
    km_buf *o = w->out;
    if (w->json) {
        if (!w->first) km_buf_putc(o, ',');
        km_buf_puts(o, "{\"principal\":");
        km_buf_json_str(o, a->principal, strlen(a->principal));
        km_buf_printf(o, ",\"kind\":\"%s\"", a->kind);
        if (all) km_buf_printf(o, ",\"decision\":\"%s\"", km_iam_decision_name(a->decision));
        km_buf_puts(o, ",\"credential\":");
        const char *c = a->credential ? a->credential : "";
        km_buf_json_str(o, c, strlen(c));
        km_buf_printf(o, ",\"conditional\":%s,\"via\":[", a->conditional ? "true" : "false");
        why_lines(o, a->why.data, "", 1);
        km_buf_puts(o, "]}");
    } else {
        const char *verdict = a->decision == KM_IAM_ALLOWED ? "" : a->conditional ? " [conditional]" : "";
        if (all) {
            int can = a->decision == KM_IAM_ALLOWED || a->conditional;
            km_buf_printf(o, "  %-4s %-70s %s (%s)\n", a->kind, a->principal,
                          a->decision == KM_IAM_ALLOWED ? "CAN" : a->conditional ? "CAN IF" : "cannot",
                          can ? (a->credential ? a->credential : "") : km_iam_decision_name(a->decision));
        } else {
            km_buf_printf(o, "  %-4s %s  (%s)%s\n", a->kind, a->principal, a->credential ? a->credential : "", verdict);
        }
        why_lines(o, a->why.data, "         ", 0);
    }
    w->first = 0;
}

static int who_cb(const km_iam_answer *a, void *user) {
    answer_out((who_out *)user, a, 0);
    return 0;
}

static int cmd_who_can(int argc, char **argv) {
    const char *pos[3] = {0};
    int npos = 0, all = 0, rc = 2;
    km_iam_creds creds = KM_IAM_CREDS_ANY;
    const char *format = "text", *respol = NULL, *managed = NULL;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int r;
        if (strcmp(argv[i], "--without-mfa") == 0) creds = KM_IAM_CREDS_NO_MFA;
        else if (strcmp(argv[i], "--with-mfa") == 0) creds = KM_IAM_CREDS_MFA;
        else if (strcmp(argv[i], "--all") == 0) all = 1;
        else if ((r = opt_value(argc, argv, &i, "--format", &v))) {
            if (r < 0) return 2;
            if (strcmp(v, "text") != 0 && strcmp(v, "json") != 0) {
                km_cli_usage_error("iam", "--format takes text or json, not '%s'", v);
                return 2;
            }
            format = v;
        } else if ((r = opt_value(argc, argv, &i, "--resource-policy", &v))) {
            if (r < 0) return 2;
            respol = v;
        } else if ((r = opt_value(argc, argv, &i, "--managed-policies", &v))) {
            if (r < 0) return 2;
            managed = v;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            km_cli_usage_error("iam", "unknown option '%s' for who-can", argv[i]);
            return 2;
        } else if (npos < 3) {
            pos[npos++] = argv[i];
        } else {
            km_cli_usage_error("iam", "who-can takes ACTION [RESOURCE] SNAPSHOT; '%s' is one too many", argv[i]);
            return 2;
        }
    }
    if (npos < 2) {
        km_cli_usage_error("iam", "who-can needs ACTION and SNAPSHOT (and optionally RESOURCE between them)");
        return 2;
    }
    const char *actions = pos[0];
    const char *resource = npos == 3 ? pos[1] : NULL;
    const char *snapshot = pos[npos - 1];
    if (respol && !resource) {
        km_cli_usage_error("iam", "--resource-policy needs RESOURCE (the ARN the policy belongs to)");
        return 2;
    }
    km_error e;
    km_error_clear(&e);
    km_iam_account *a = km_iam_account_load(snapshot, &e);
    if (!a) {
        fprintf(stderr, "kumomori iam: %s\n", e.msg);
        return 2;
    }
    if (managed && km_iam_account_add_managed_policies(a, managed, &e) != KM_OK) {
        fprintf(stderr, "kumomori iam: %s\n", e.msg);
        km_iam_account_free(a);
        return 2;
    }
    if (respol) {
        size_t len;
        char *t = read_all(respol, &len);
        if (!t || km_iam_account_add_resource_policy(a, resource, t, len, respol, &e) != KM_OK) {
            if (t) fprintf(stderr, "kumomori iam: %s: %s\n", respol, e.msg);
            free(t);
            km_iam_account_free(a);
            return 2;
        }
        free(t);
    }
    int json = strcmp(format, "json") == 0;
    km_buf out = KM_BUF_INIT;
    const char *cred_text = creds == KM_IAM_CREDS_NO_MFA ? "without MFA" : creds == KM_IAM_CREDS_MFA ? "with MFA"
                                                                                                   : "with any credentials";
    size_t total = km_iam_account_principal_count(a);
    long anyone = 0;
    if (json) {
        km_buf_puts(&out, "{\"account\":");
        km_buf_json_str(&out, km_iam_account_id(a), strlen(km_iam_account_id(a)));
        km_buf_printf(&out, ",\"principals\":%zu,\"credentials\":\"%s\",\"results\":[", total,
                      creds == KM_IAM_CREDS_NO_MFA ? "without-mfa" : creds == KM_IAM_CREDS_MFA ? "with-mfa" : "any");
    }
    char abuf[4096];
    snprintf(abuf, sizeof abuf, "%s", actions);
    char *save = NULL;
    int nact = 0;
    rc = 0;
    for (char *act = strtok_r(abuf, ",", &save); act; act = strtok_r(NULL, ",", &save)) {
        while (*act == ' ') act++;
        who_out w = {json, &out, 1};
        if (json) {
            if (nact) km_buf_putc(&out, ',');
            km_buf_puts(&out, "{\"action\":");
            km_buf_json_str(&out, act, strlen(act));
            km_buf_puts(&out, ",\"resource\":");
            const char *r = resource ? resource : "*";
            km_buf_json_str(&out, r, strlen(r));
            km_buf_puts(&out, all ? ",\"answers\":[" : ",\"can\":[");
        }
        long n = 0;
        if (!json) km_buf_printf(&out, "%s on %s, %s:\n", act, resource ? resource : "any resource", cred_text);
        if (all) {
            for (size_t i = 0; i < total; i++) {
                km_iam_answer ans;
                if (km_iam_account_can(a, km_iam_account_principal(a, i), act, resource, creds, &ans, &e) != KM_OK) {
                    km_iam_answer_free(&ans);
                    n = -1;
                    break;
                }
                if (ans.decision == KM_IAM_ALLOWED || ans.conditional) n++;
                answer_out(&w, &ans, 1);
                km_iam_answer_free(&ans);
            }
        } else {
            n = km_iam_who_can(a, act, resource, creds, who_cb, &w, &e);
        }
        if (n < 0) {
            fprintf(stderr, "kumomori iam: %s\n", e.msg);
            rc = 2;
            break;
        }
        if (json) {
            km_buf_printf(&out, "],\"count\":%ld}", n);
        } else {
            km_buf_printf(&out, "%ld of %zu users and roles can%s.\n\n", n, total, n ? "" : " (nobody)");
        }
        if (n > 0) anyone = 1;
        nact++;
    }
    km_buf notes = KM_BUF_INIT;
    km_iam_account_notes(a, &notes);
    if (notes.failed) out_lost = 1; /* the answers without their notes would look unconditional */
    if (json) {
        km_buf_puts(&out, "],\"notes\":[");
        why_lines(&out, notes.data, "", 1);
        km_buf_puts(&out, "]}\n");
    } else if (notes.data) {
        why_lines(&out, notes.data, "note: ", 0);
    }
    km_buf_free(&notes);
    if (rc == 0) {
        write_out(&out);
        rc = anyone ? 1 : 0;
    }
    km_buf_free(&out);
    km_iam_account_free(a);
    return rc;
}

/* ---- check ------------------------------------------------------------------------------- */

static int cmd_check(int argc, char **argv) {
    int warnings = 0, errors = 0, files = 0;
    km_iam_policy_kind kind = KM_IAM_IDENTITY;
    for (int i = 1; i < argc; i++) {
        const char *v;
        int r;
        if ((r = opt_value(argc, argv, &i, "--kind", &v))) {
            if (r < 0) return 2;
            int found = 0;
            for (int k = 0; k < KM_IAM_KIND_COUNT; k++)
                if (strcmp(v, km_iam_kind_name((km_iam_policy_kind)k)) == 0) kind = (km_iam_policy_kind)k, found = 1;
            if (!found) {
                km_cli_usage_error("iam", "--kind takes identity, resource, scp, rcp, boundary, session, endpoint, "
                                   "trust or key, not '%s'", v);
                return 2;
            }
            continue;
        }
        if (argv[i][0] == '-' && argv[i][1]) {
            km_cli_usage_error("iam", "unknown option '%s' for check", argv[i]);
            return 2;
        }
        files++;
        km_iam_policy *p = load_policy_file(argv[i], kind);
        if (!p) {
            errors++;
            continue;
        }
        size_t n = km_iam_policy_warning_count(p);
        for (size_t k = 0; k < n; k++) printf("%s: %s\n", argv[i], km_iam_policy_warning(p, k));
        if (!n) printf("%s: ok (%zu statements)\n", argv[i], km_iam_policy_statement_count(p));
        warnings += (int)n;
        km_iam_policy_free(p);
    }
    if (!files) {
        km_cli_usage_error("iam", "check needs at least one policy file");
        return 2;
    }
    return errors ? 2 : warnings ? 1 : 0;
}

int km_cmd_iam(int argc, char **argv) {
    if (argc < 2) {
        km_cli_usage_error("iam", "needs a subcommand: simulate, who-can or check");
        return 2;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
        iam_usage(stdout);
        return 0;
    }
    if (km_cli_wants_help(argc - 1, argv + 1)) {
        iam_usage(stdout);
        return 0;
    }
    int rc = -1;
    if (strcmp(sub, "simulate") == 0) rc = cmd_simulate(argc - 1, argv + 1);
    else if (strcmp(sub, "who-can") == 0) rc = cmd_who_can(argc - 1, argv + 1);
    else if (strcmp(sub, "check") == 0) rc = cmd_check(argc - 1, argv + 1);
    if (rc >= 0 && out_lost) { /* harden helper */
        fprintf(stderr, "kumomori iam: out of memory: some results could not be written\n");
        return 2;
    }
    if (rc >= 0) return rc;
    km_cli_usage_error("iam", "unknown subcommand '%s' (simulate, who-can, check)", sub);
    return 2;
}
