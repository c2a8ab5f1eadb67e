/* Collect engine: phases by dependency level; within a phase up to `jobs` AWS CLI processes
 * run at once (posix_spawn, their output read through pipes with poll). The answers that later
 * calls take parameters from are parsed and kept in memory; everything is written to disk as
 * the CLI printed it. */
#include "audit/collect.h"
#include "audit/proc.h"
#include "audit/commands.h"
#include "audit/hmap.h"
#include "audit/util.h"
#include "kumomori/buf.h"
#include "kumomori/json.h"
#include "kumomori/kumomori.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_STDOUT ((size_t)1 << 30)
#define MAX_STDERR ((size_t)64 << 10)
#define MAX_ARGS 48

typedef struct task {
    const km_cmd *cmd;
    const char *region;     /* "global" or a region */
    char *key;              /* per-resource key, or NULL */
    char *argv[MAX_ARGS];   /* the full command line */
    int argc;
    /* running */
    pid_t pid;
    int out_fd, err_fd;
    km_buf out, err;
    double started;
    int tries;
    /* result */
    int exit_code;
    char *error_code;
    double ms;
    /* not run: why (a template with nothing to fill it in), malloc'd; keyless: a per-resource
     * call whose key could not be made either, so it has no file */
    char *skip;
    int keyless;
} task;

typedef struct ctx {
    const km_collect_opts *o;
    const km_cmdset *set;
    char account[16];
    char dir[4096];
    char cli_version[200];
    char caller_arn[600];
    char **regions;
    size_t nregions;
    km_hmap answers;        /* region/svc/op/key -> km_json_doc (sources of later calls) */
    char **answer_keys;
    size_t nanswer_keys, capanswer_keys;
    km_hmap keys_of;        /* region/svc/op -> key list (char**), for per-key sources */
    km_buf manifest;        /* "commands" entries */
    size_t done, total, running, errors;
    km_collect_summary *sum;
    double t0;
} ctx;




/* ---- process running ---- */

static void env_setup(void) {
    /* Adaptive client-side rate limiting and retries, no pager, no prompts. */
    if (!getenv("AWS_RETRY_MODE")) setenv("AWS_RETRY_MODE", "adaptive", 1);
    if (!getenv("AWS_MAX_ATTEMPTS")) setenv("AWS_MAX_ATTEMPTS", "10", 1);
    setenv("AWS_PAGER", "", 1);
    setenv("AWS_CLI_AUTO_PROMPT", "off", 1);
    /* past a file-size limit (ulimit -f) a write fails with EFBIG and says which file, instead of
     * the signal ending kumomori half-way */
    signal(SIGXFSZ, SIG_IGN);
}

static int spawn(task *t) {
    if (km_proc_spawn(t->argv, &t->pid, &t->out_fd, &t->err_fd)) return -1;
    km_buf_init(&t->out, MAX_STDOUT);
    km_buf_init(&t->err, MAX_STDERR);
    t->started = km_proc_now();
    return 0;
}


/* "An error occurred (Code) when calling the Op operation: Message" */
static char *error_code_of(const char *err, char **message) {
    *message = NULL;
    const char *p = err ? strstr(err, "An error occurred (") : NULL;
    if (!p) return NULL;
    p += 19;
    const char *e = strchr(p, ')');
    if (!e || e - p > 200) return NULL;
    const char *m = strstr(e, "operation");
    if (m && (m = strchr(m, ':'))) {
        m++;
        while (*m == ' ') m++;
        const char *nl = strchr(m, '\n');
        *message = strndup(m, nl ? (size_t)(nl - m) : strlen(m));
    }
    return strndup(p, (size_t)(e - p));
}

/* ---- templates ---- */

static int expand(const char *tmpl, const km_json *item, const char *key, const ctx *c, const char *region,
                  char *out, size_t n) {
    return km_template_expand(tmpl, item, key, c->account, region, out, n);
}

/* ---- tasks ---- */

static void task_free(task *t) {
    free(t->key);
    for (int i = 0; i < t->argc; i++) free(t->argv[i]);
    km_buf_free(&t->out);
    km_buf_free(&t->err);
    free(t->error_code);
    free(t->skip);
}

static int add_arg(task *t, const char *s) {
    if (t->argc >= MAX_ARGS - 1) return -1;
    t->argv[t->argc] = strdup(s);
    if (!t->argv[t->argc]) return -1;
    t->argc++;
    t->argv[t->argc] = NULL;
    return 0;
}

/* A call whose template cannot be filled in is not run but kept, with the template as written
 * in its command line and t->skip saying why: dropped without a word, its checks read an absent
 * file (record() writes an error answer in its place, so they say "cannot tell"). from names
 * where the item came from ("s3api list-buckets"), or NULL. Returns -1 only for want of memory. */
static int make_task(ctx *c, task *t, const km_cmd *cmd, const char *region, const km_json *item, const char *src_key,
                     const char *key, const char *from) {
    memset(t, 0, sizeof *t);
    t->cmd = cmd;
    t->region = region;
    t->out_fd = t->err_fd = -1;
    if (key && !(t->key = strdup(key))) return -1;
    add_arg(t, c->o->aws ? c->o->aws : "aws");
    add_arg(t, cmd->service);
    add_arg(t, cmd->op);
    for (size_t i = 0; i < km_json_len(cmd->args); i++) {
        const char *a = km_json_str(km_json_at(cmd->args, i));
        char buf[4096];
        if (!a) { task_free(t); return -1; } /* km_cmdset_load lets only strings through */
        if (expand(a, item, src_key, c, region, buf, sizeof buf)) {
            if (!t->skip) {
                char why[4400];
                snprintf(why, sizeof why, "the argument %s could not be filled in from %s%s", a,
                         from ? "the item of " : "the account and region", from ? from : "");
                if (!(t->skip = strdup(why))) { task_free(t); return -1; }
            }
            snprintf(buf, sizeof buf, "%s", a);
        }
        if (add_arg(t, buf)) { task_free(t); return -1; }
    }
    add_arg(t, "--output");
    add_arg(t, "json");
    add_arg(t, "--region");
    add_arg(t, strcmp(region, "global") ? region : "us-east-1");
    if (c->o->profile) {
        add_arg(t, "--profile");
        add_arg(t, c->o->profile);
    }
    return 0;
}

static void rel_path(const task *t, char *out, size_t n) {
    if (t->key) {
        char enc[2048];
        km_pct_encode(t->key, enc, sizeof enc);
        snprintf(out, n, "%s/%s/%s/%s.json", t->region, t->cmd->service, t->cmd->op, enc);
    } else {
        snprintf(out, n, "%s/%s/%s.json", t->region, t->cmd->service, t->cmd->op);
    }
}

static int is_source(const ctx *c, const km_cmd *k) {
    for (size_t i = 0; i < c->set->n; i++)
        for (size_t j = 0; j < c->set->cmds[i].nsources; j++)
            if (!strcmp(c->set->cmds[i].sources[j].from_service, k->service) && !strcmp(c->set->cmds[i].sources[j].from_op, k->op))
                return 1;
    return 0;
}

static char *answer_key(const char *region, const char *svc, const char *op, const char *key) {
    size_t n = strlen(region) + strlen(svc) + strlen(op) + (key ? strlen(key) : 0) + 5;
    char *k = malloc(n);
    if (k) snprintf(k, n, "%s\x1f%s\x1f%s\x1f%s", region, svc, op, key ? key : "");
    return k;
}

static void remember(ctx *c, const task *t, const char *text, size_t len) {
    if (!is_source(c, t->cmd)) return;
    km_error e;
    km_json_doc *d = km_json_parse(text, len, NULL, NULL, &e);
    if (!d) return;
    char *k = answer_key(t->region, t->cmd->service, t->cmd->op, t->key);
    if (!k || km_hmap_put(&c->answers, k, strlen(k), d)) { free(k); km_json_doc_free(d); return; }
    if (c->nanswer_keys >= c->capanswer_keys) {
        size_t nc = c->capanswer_keys ? c->capanswer_keys * 2 : 64;
        char **nk = realloc(c->answer_keys, nc * sizeof *nk);
        if (!nk) return;
        c->answer_keys = nk;
        c->capanswer_keys = nc;
    }
    c->answer_keys[c->nanswer_keys++] = k;
}

/* Whether a command run with --max-items stopped short: the CLI then prints the NextToken to
 * resume from (with its own pagination alone it never does). The audit sees the same token in
 * the stored answer; the manifest says it outright. */
static int cut_short(const task *t, const char *data, size_t len) {
    int capped = 0;
    for (int i = 0; i < t->argc && !capped; i++) capped = !strcmp(t->argv[i], "--max-items");
    if (!capped) return 0;
    km_error e;
    km_json_doc *d = km_json_parse(data, len, NULL, NULL, &e);
    if (!d) return 0;
    const km_json *r = km_json_root(d);
    int cut = km_json_get(r, "NextToken") != NULL || km_json_get(r, "nextToken") != NULL;
    km_json_doc_free(d);
    return cut;
}

/* Write an answer; a failure is counted and the first one kept with its reason for the summary
 * (the manifest says "write failed" for each). 0 or -1. */
static int store(ctx *c, const char *path, const char *data, size_t len) {
    if (!km_proc_write_file(path, data, len)) return 0;
    if (!c->sum->write_failed++)
        snprintf(c->sum->write_error, sizeof c->sum->write_error, "%.500s: %s", path, strerror(errno));
    return -1;
}

static void record(ctx *c, task *t, const char *why) {
    char rel[4200], path[8400];
    rel_path(t, rel, sizeof rel);
    snprintf(path, sizeof path, "%s/%s", c->dir, rel);
    char *slash = strrchr(path, '/');
    if (slash) {
        *slash = 0;
        km_proc_mkdirs(path);
        *slash = '/';
    }
    const char *status = "ok";
    int truncated = 0;
    if (t->skip) {
        /* an error answer in the call's place: its checks say "cannot tell", as for a call that
         * failed, where an absent file could read as "nothing there" */
        t->error_code = strdup("KumomoriNotRun");
        status = "skipped";
        c->sum->skipped++;
        if (!t->keyless && t->cmd->store) {
            km_buf b = KM_BUF_INIT;
            km_buf_puts(&b, "{\"Error\":{\"Code\":\"KumomoriNotRun\",\"Message\":");
            km_buf_json_str(&b, t->skip, strlen(t->skip));
            km_buf_puts(&b, "},\"kumomori\":{\"skipped\":true}}\n");
            if (b.failed || store(c, path, b.data, b.len)) status = "write failed";
            km_buf_free(&b);
        }
    } else if (t->exit_code == 0 && !why) {
        const char *data = t->out.data ? t->out.data : "";
        size_t len = t->out.len;
        size_t i = 0;
        while (i < len && (data[i] == ' ' || data[i] == '\n' || data[i] == '\r' || data[i] == '\t')) i++;
        if (i == len) { data = t->cmd->empty ? t->cmd->empty : "{}"; len = strlen(data); }
        if (t->cmd->store && store(c, path, data, len)) status = "write failed";
        truncated = cut_short(t, data, len);
        if (truncated) c->sum->truncated++;
        remember(c, t, data, len);
        c->sum->ok++;
    } else {
        char *msg = NULL;
        char *code = why ? NULL : error_code_of(t->err.data, &msg);
        if (!code) {
            free(msg); /* error_code_of may have found a message without a code */
            code = strdup(why ? why : "CLIError");
            const char *e = t->err.data ? t->err.data : "";
            while (*e == '\n' || *e == ' ') e++;
            const char *nl = strchr(e, '\n');
            msg = strndup(e, nl ? (size_t)(nl - e) : strlen(e));
        }
        t->error_code = code;
        km_errclass cl = km_classify_error(t->cmd->service, t->cmd->op, code, msg);
        if (cl == KM_ERRCLASS_ABSENT) c->sum->absent++;
        else if (cl == KM_ERRCLASS_DENIED) c->sum->denied++;
        else { c->sum->failed++; c->errors++; }
        km_buf b = KM_BUF_INIT;
        km_buf_puts(&b, "{\"Error\":{\"Code\":");
        km_buf_json_str(&b, code ? code : "CLIError", strlen(code ? code : "CLIError"));
        km_buf_puts(&b, ",\"Message\":");
        km_buf_json_str(&b, msg ? msg : "", strlen(msg ? msg : ""));
        /* the CLI's own words as well, verbatim: the Code/Message split above is parsed from them */
        km_buf_printf(&b, "},\"kumomori\":{\"exit\":%d,\"stderr\":", t->exit_code);
        km_buf_json_str(&b, t->err.data ? t->err.data : "", t->err.len);
        km_buf_puts(&b, "}}\n");
        status = cl == KM_ERRCLASS_ABSENT ? "not configured" : cl == KM_ERRCLASS_DENIED ? "denied" : "error";
        /* a failed write must show in the manifest (it was overwritten by the class before) */
        if (t->cmd->store && store(c, path, b.data, b.len)) status = "write failed";
        km_buf_free(&b);
        free(msg);
    }
    if (!t->skip) c->sum->calls++;
    /* manifest entry: the command as run (parameters are resource names, never secrets) */
    km_buf *m = &c->manifest;
    if (m->len) km_buf_puts(m, ",\n  ");
    km_buf_puts(m, "{\"command\":");
    km_buf b2 = KM_BUF_INIT;
    for (int i = 1; i < t->argc; i++) {
        if (i > 1) km_buf_putc(&b2, ' ');
        km_buf_puts(&b2, i == 1 ? "aws " : "");
        km_buf_puts(&b2, t->argv[i]);
    }
    km_buf_json_str(m, b2.data ? b2.data : "", b2.len);
    km_buf_free(&b2);
    km_buf_puts(m, ",\"region\":");
    km_buf_json_str(m, t->region, strlen(t->region));
    km_buf_puts(m, ",\"file\":");
    if (t->cmd->store && !t->keyless) km_buf_json_str(m, rel, strlen(rel));
    else km_buf_puts(m, "null");
    if (t->skip) km_buf_puts(m, ",\"exit\":null"); /* never run */
    else km_buf_printf(m, ",\"exit\":%d", t->exit_code);
    km_buf_printf(m, ",\"status\":\"%s\",\"error_code\":", status);
    if (t->error_code) km_buf_json_str(m, t->error_code, strlen(t->error_code));
    else km_buf_puts(m, "null");
    km_buf_printf(m, ",\"duration_ms\":%.0f%s", t->ms, truncated ? ",\"truncated\":true" : "");
    if (t->skip) {
        km_buf_puts(m, ",\"reason\":");
        km_buf_json_str(m, t->skip, strlen(t->skip));
    }
    km_buf_putc(m, '}');
}

static void progress(ctx *c, const task *t) {
    if (!c->o->progress) return;
    int width = 30;
    int fill = c->total ? (int)((double)c->done * width / (double)c->total) : 0;
    char bar[64];
    for (int i = 0; i < width; i++) bar[i] = i < fill ? '=' : (i == fill ? '>' : ' ');
    bar[width] = 0;
    char what[120] = "";
    if (t) snprintf(what, sizeof what, "%s %s %s", t->cmd->service, t->cmd->op, t->region);
    fprintf(stderr, "\r[%s] %zu/%zu  %zu running  %zu errors  %-50.50s", bar, c->done, c->total, c->running, c->errors, what);
    fflush(stderr);
}

static int retryable(const task *t) {
    if (!t->error_code || t->tries >= 10) return 0;
    for (size_t i = 0; i < km_json_len(t->cmd->retry); i++)
        if (km_streq_ci(km_json_str(km_json_at(t->cmd->retry, i)), t->error_code)) return 1;
    return 0;
}

/* Run tasks[0..n) with at most jobs at once. */
static void run_tasks(ctx *c, task *tasks, size_t n) {
    int jobs = c->o->jobs > 0 ? c->o->jobs : 4;
    task **run = calloc((size_t)jobs, sizeof *run);
    struct pollfd *pf = calloc((size_t)jobs * 2, sizeof *pf);
    if (!run || !pf) { free(run); free(pf); return; }
    size_t next = 0;
    int timeout = c->o->timeout_s > 0 ? c->o->timeout_s : 600;
    c->total += n;
    for (;;) {
        while (c->running < (size_t)jobs && next < n) {
            task *t = &tasks[next++];
            if (t->skip) {
                record(c, t, NULL);
                c->done++;
                continue;
            }
            t->tries++;
            if (spawn(t)) {
                t->exit_code = 127;
                char why[200];
                snprintf(why, sizeof why, "CannotRun");
                km_buf_init(&t->err, MAX_STDERR);
                km_buf_printf(&t->err, "cannot run %s: %s", t->argv[0], strerror(errno));
                record(c, t, NULL);
                c->done++;
                continue;
            }
            for (int s = 0; s < jobs; s++)
                if (!run[s]) { run[s] = t; break; }
            c->running++;
            progress(c, t);
        }
        if (!c->running) break;
        int np = 0;
        for (int s = 0; s < jobs; s++) {
            if (!run[s]) continue;
            if (run[s]->out_fd >= 0) pf[np++] = (struct pollfd){run[s]->out_fd, POLLIN, 0};
            if (run[s]->err_fd >= 0) pf[np++] = (struct pollfd){run[s]->err_fd, POLLIN, 0};
        }
        if (np) poll(pf, (nfds_t)np, 200);
        for (int s = 0; s < jobs; s++) {
            task *t = run[s];
            if (!t) continue;
            if (t->out_fd >= 0) km_proc_drain(&t->out_fd, &t->out);
            if (t->err_fd >= 0) km_proc_drain(&t->err_fd, &t->err);
            const char *why = NULL;
            if (km_proc_now() - t->started > timeout && t->out_fd + t->err_fd > -2) {
                kill(t->pid, SIGTERM);
                why = "Timeout";
            }
            if (t->out_fd >= 0 || t->err_fd >= 0) {
                if (!why) continue;
                if (t->out_fd >= 0) { close(t->out_fd); t->out_fd = -1; }
                if (t->err_fd >= 0) { close(t->err_fd); t->err_fd = -1; }
            }
            int st = 0;
            waitpid(t->pid, &st, 0);
            t->exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
            t->ms = (km_proc_now() - t->started) * 1000;
            if (t->out.failed) why = "OutputTooLarge";
            run[s] = NULL;
            c->running--;
            if (t->exit_code && !why) {
                char *msg = NULL;
                free(t->error_code);
                t->error_code = error_code_of(t->err.data, &msg);
                free(msg);
                if (retryable(t)) {
                    /* the credential report is still being generated: wait and ask again */
                    sleep(1);
                    km_buf_free(&t->out);
                    km_buf_free(&t->err);
                    free(t->error_code);
                    t->error_code = NULL;
                    t->tries++;
                    if (!spawn(t)) {
                        run[s] = t;
                        c->running++;
                        continue;
                    }
                }
                free(t->error_code);
                t->error_code = NULL;
            }
            record(c, t, why);
            c->done++;
            progress(c, t);
            km_buf_free(&t->out);
            km_buf_free(&t->err);
        }
    }
    free(run);
    free(pf);
}

/* ---- phases ---- */

static int wanted(const ctx *c, const km_cmd *k) {
    if (!c->o->services) return 1;
    char buf[512];
    snprintf(buf, sizeof buf, "%s", c->o->services);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
        if (!strcmp(tok, k->service)) return 1;
    /* --all-regions needs the list of regions whatever the services */
    return c->o->all_regions && !strcmp(k->service, "ec2") && !strcmp(k->op, "describe-regions");
}

typedef struct tlist {
    task *v;
    size_t n, cap;
} tlist;

static task *tl_push(tlist *l) {
    if (l->n >= l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 64;
        task *nv = realloc(l->v, nc * sizeof *nv);
        if (!nv) return NULL;
        l->v = nv;
        l->cap = nc;
    }
    return &l->v[l->n++];
}

static int seen_key(km_hmap *seen, const char *region, const km_cmd *k, const char *key) {
    char *sk = answer_key(region, k->service, k->op, key);
    if (!sk) return 1;
    if (km_hmap_get(seen, sk, strlen(sk))) { free(sk); return 1; }
    km_hmap_put(seen, sk, strlen(sk), sk);
    return 0;
}

typedef struct walk_ctx {
    ctx *c;
    tlist *tl;
    const km_cmd *k;
    const km_cmd_source *src;
    const char *region;
    const char *src_key;
    km_hmap *seen;
    size_t added;
} walk_ctx;

static int where_ok(walk_ctx *w, const km_json *item) {
    const km_json *wh = w->src->where;
    for (size_t i = 0; i < km_json_len(wh); i++) {
        const km_json_member *m = &wh->u.obj.members[i];
        char want[512];
        if (!km_json_str(m->value) || expand(km_json_str(m->value), item, w->src_key, w->c, w->region, want, sizeof want)) return 0;
        const char *have = km_ci_str(item, m->key);
        if (!have || strcmp(have, want)) return 0;
    }
    return 1;
}

static void items_walk(walk_ctx *w, const km_json *v, const char *path, int depth) {
    if (!v || depth > 8) return;
    if (v->type == KM_JSON_ARRAY) {
        for (size_t i = 0; i < v->u.arr.n; i++) items_walk(w, v->u.arr.items[i], path, depth + 1);
        return;
    }
    if (path && *path) {
        const char *dot = strchr(path, '.');
        char part[128];
        size_t l = dot ? (size_t)(dot - path) : strlen(path);
        if (l >= sizeof part) return;
        memcpy(part, path, l);
        part[l] = 0;
        items_walk(w, km_ci_get(v, part), dot ? dot + 1 : "", depth + 1);
        return;
    }
    if (!where_ok(w, v)) return;
    char key[2048], from[300];
    snprintf(from, sizeof from, "%s %s", w->src->from_service, w->src->from_op);
    int keyless = expand(w->src->key, v, w->src_key, w->c, w->region, key, sizeof key) != 0;
    if (keyless) {
        /* the item stays in memory (c->answers) until the end: its address tells it from the
         * others, so that the next round does not list it again */
        snprintf(key, sizeof key, "\x1ekeyless:%p", (const void *)v);
    }
    if (seen_key(w->seen, w->region, w->k, key)) return;
    task *t = tl_push(w->tl);
    if (!t) return;
    if (make_task(w->c, t, w->k, w->region, v, w->src_key, keyless ? NULL : key, from)) { w->tl->n--; return; }
    if (keyless) {
        char why[2600];
        snprintf(why, sizeof why, "the key %s could not be filled in from the item of %s", w->src->key, from);
        free(t->skip);
        if (!(t->skip = strdup(why))) { task_free(t); w->tl->n--; return; }
        t->keyless = 1;
    }
    w->added++;
}

/* Tasks of per-resource command k in scope region from what is known so far. */
static size_t plan_keyed(ctx *c, tlist *tl, const km_cmd *k, const char *region, km_hmap *seen) {
    size_t added = 0;
    for (size_t j = 0; j < k->nsources; j++) {
        const km_cmd_source *src = &k->sources[j];
        walk_ctx w = {c, tl, k, src, region, NULL, seen, 0};
        /* list-level answer */
        char *ak = answer_key(region, src->from_service, src->from_op, NULL);
        km_json_doc *d = ak ? km_hmap_get(&c->answers, ak, strlen(ak)) : NULL;
        free(ak);
        if (d) items_walk(&w, km_json_root(d), src->items, 0);
        /* per-key answers of the source */
        char prefix[512];
        int pl = snprintf(prefix, sizeof prefix, "%s\x1f%s\x1f%s\x1f", region, src->from_service, src->from_op);
        for (size_t i = 0; i < c->nanswer_keys; i++) {
            const char *key = c->answer_keys[i];
            if (strncmp(key, prefix, (size_t)pl) || !key[pl]) continue;
            km_json_doc *kd = km_hmap_get(&c->answers, key, strlen(key));
            w.src_key = key + pl;
            if (kd) items_walk(&w, km_json_root(kd), src->items, 0);
        }
        added += w.added;
    }
    return added;
}

static int run_caller_identity(ctx *c, km_error *err) {
    task t;
    static const km_cmd sts = {"sts", "get-caller-identity", 1, NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL, 0, 0};
    memset(&t, 0, sizeof t);
    t.cmd = &sts;
    t.region = "global";
    /* a failed add_arg must not run a different command line */
    if (add_arg(&t, c->o->aws ? c->o->aws : "aws") || add_arg(&t, "sts") || add_arg(&t, "get-caller-identity") ||
        add_arg(&t, "--output") || add_arg(&t, "json") ||
        (c->o->profile && (add_arg(&t, "--profile") || add_arg(&t, c->o->profile)))) {
        task_free(&t);
        return km_error_set(err, KM_ENOMEM, (size_t)-1, "out of memory");
    }
    if (spawn(&t)) {
        int rc = km_error_set(err, KM_ERR, (size_t)-1, "cannot run the AWS CLI (%s): %s; install it or give --aws PATH",
                              t.argv[0], strerror(errno));
        task_free(&t);
        return rc;
    }
    int st = km_proc_wait_all(t.pid, &t.out_fd, &t.err_fd, &t.out, &t.err);
    int rc = KM_OK;
    km_json_doc *d = NULL;
    const char *e = t.err.data ? t.err.data : "";
    while (*e == '\n') e++;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 127 && !*e) {
        /* POSIX lets posix_spawn report a failed exec this way, as the child's exit status 127
         * (some C libraries do, and so does valgrind's): the same case as a failed spawn above */
        rc = km_error_set(err, KM_ERR, (size_t)-1,
                          "cannot run the AWS CLI (%s): it could not be executed (exit status 127); install it "
                          "or give --aws PATH", t.argv[0]);
    } else if (!WIFEXITED(st) || WEXITSTATUS(st)) {
        rc = km_error_set(err, KM_ERR, (size_t)-1, "aws sts get-caller-identity failed: %.300s", e);
    } else if (!(d = km_json_parse(t.out.data ? t.out.data : "", t.out.len, NULL, NULL, err))) {
        rc = km_error_set(err, KM_ERR, (size_t)-1, "aws sts get-caller-identity printed no JSON");
    } else {
        const char *acct = km_json_get_str(km_json_root(d), "Account", NULL);
        const char *arn = km_json_get_str(km_json_root(d), "Arn", "");
        if (!acct || !km_is_account_id(acct)) rc = km_error_set(err, KM_ERR, (size_t)-1, "aws sts get-caller-identity gave no 12-digit Account");
        else {
            snprintf(c->account, sizeof c->account, "%s", acct);
            snprintf(c->caller_arn, sizeof c->caller_arn, "%s", arn);
        }
    }
    km_json_doc_free(d);
    task_free(&t);
    return rc;
}

static void cli_version(ctx *c) {
    task t;
    memset(&t, 0, sizeof t);
    add_arg(&t, c->o->aws ? c->o->aws : "aws");
    add_arg(&t, "--version");
    snprintf(c->cli_version, sizeof c->cli_version, "unknown");
    if (spawn(&t) == 0) {
        km_proc_wait_all(t.pid, &t.out_fd, &t.err_fd, &t.out, &t.err);
        const char *v = t.out.len ? t.out.data : t.err.data; /* CLI v1 printed its version on stderr */
        if (v) {
            size_t l = strcspn(v, "\n");
            snprintf(c->cli_version, sizeof c->cli_version, "%.*s", (int)(l < 190 ? l : 190), v);
        }
    }
    task_free(&t);
}

static int choose_regions(ctx *c, km_error *err) {
    if (c->o->nregions) {
        c->regions = calloc(c->o->nregions, sizeof *c->regions);
        for (size_t i = 0; c->regions && i < c->o->nregions; i++) c->regions[c->nregions++] = strdup(c->o->regions[i]);
        return c->regions ? KM_OK : km_error_set(err, KM_ENOMEM, 0, "out of memory");
    }
    if (c->o->all_regions) {
        char *ak = answer_key("global", "ec2", "describe-regions", NULL);
        km_json_doc *d = ak ? km_hmap_get(&c->answers, ak, strlen(ak)) : NULL;
        free(ak);
        const km_json *rv = d ? km_json_get(km_json_root(d), "Regions") : NULL;
        size_t n = km_json_len(rv);
        if (!n) return km_error_set(err, KM_ERR, (size_t)-1, "--all-regions: ec2 describe-regions gave no region (see %s/global/ec2/describe-regions.json)", c->dir);
        c->regions = calloc(n, sizeof *c->regions);
        for (size_t i = 0; c->regions && i < n; i++) {
            const km_json *r = km_json_at(rv, i);
            const char *name = km_json_get_str(r, "RegionName", NULL);
            const char *opt = km_json_get_str(r, "OptInStatus", "opt-in-not-required");
            if (name && strcmp(opt, "not-opted-in")) c->regions[c->nregions++] = strdup(name);
        }
        return KM_OK;
    }
    const char *r = getenv("AWS_REGION");
    if (!r || !*r) r = getenv("AWS_DEFAULT_REGION");
    if (!r || !*r) r = "us-east-1";
    c->regions = calloc(1, sizeof *c->regions);
    if (!c->regions) return km_error_set(err, KM_ENOMEM, 0, "out of memory");
    c->regions[c->nregions++] = strdup(r);
    return KM_OK;
}

/* Returns KM_OK, or an error naming the manifest when it cannot be written whole (without it
 * the snapshot has no record of what was collected, nor of what failed). */
static int write_manifest(ctx *c, const char *started, const char *finished, km_error *err) {
    km_buf b = KM_BUF_INIT;
    km_buf_puts(&b, "{\n \"tool\": {\"name\": \"kumomori\", \"version\": \"" KUMOMORI_VERSION "\"},\n \"started_at\": ");
    km_buf_json_str(&b, started, strlen(started));
    km_buf_puts(&b, ",\n \"finished_at\": ");
    km_buf_json_str(&b, finished, strlen(finished));
    km_buf_puts(&b, ",\n \"caller\": {\"Account\": ");
    km_buf_json_str(&b, c->account, strlen(c->account));
    km_buf_puts(&b, ", \"Arn\": ");
    km_buf_json_str(&b, c->caller_arn, strlen(c->caller_arn));
    km_buf_puts(&b, "},\n \"cli_version\": ");
    km_buf_json_str(&b, c->cli_version, strlen(c->cli_version));
    km_buf_puts(&b, ",\n \"profile\": ");
    if (c->o->profile) km_buf_json_str(&b, c->o->profile, strlen(c->o->profile));
    else km_buf_puts(&b, "null");
    km_buf_puts(&b, ",\n \"regions\": [");
    for (size_t i = 0; i < c->nregions; i++) {
        if (i) km_buf_puts(&b, ", ");
        km_buf_json_str(&b, c->regions[i], strlen(c->regions[i]));
    }
    km_buf_printf(&b, "],\n \"summary\": {\"calls\": %zu, \"ok\": %zu, \"not_configured\": %zu, \"denied\": %zu, \"failed\": %zu, \"truncated\": %zu, \"skipped\": %zu},\n \"commands\": [\n  ",
                  c->sum->calls, c->sum->ok, c->sum->absent, c->sum->denied, c->sum->failed, c->sum->truncated, c->sum->skipped);
    if (c->manifest.data) km_buf_append(&b, c->manifest.data, c->manifest.len);
    km_buf_puts(&b, "\n ]\n}\n");
    char path[4200];
    snprintf(path, sizeof path, "%s/manifest.json", c->dir);
    int rc = KM_OK;
    if (b.failed) rc = km_error_set(err, KM_ENOMEM, (size_t)-1, "%s: out of memory", path);
    else if (km_proc_write_file(path, b.data, b.len))
        rc = km_error_set(err, KM_ERR, (size_t)-1, "%s: cannot write: %s", path, strerror(errno));
    km_buf_free(&b);
    return rc;
}

int km_collect_run(const km_collect_opts *o, km_collect_summary *sum, km_error *err) {
    memset(sum, 0, sizeof *sum);
    ctx c;
    memset(&c, 0, sizeof c);
    c.o = o;
    c.sum = sum;
    c.set = km_cmdset_builtin();
    if (!c.set) return km_error_set(err, KM_ERR, (size_t)-1, "the built-in command list is broken");
    km_buf_init(&c.manifest, 0);
    env_setup();
    double t0 = km_proc_now();
    time_t wall = time(NULL);
    char started[32], finished[32];
    km_format_time((int64_t)wall, started, sizeof started);
    int rc = run_caller_identity(&c, err);
    if (rc) return rc;
    snprintf(c.dir, sizeof c.dir, "%s/%s", o->out_dir, c.account);
    if (km_proc_mkdirs(c.dir)) return km_error_set(err, KM_ERR, (size_t)-1, "%s: cannot create: %s", c.dir, strerror(errno));
    snprintf(sum->account, sizeof sum->account, "%s", c.account);
    snprintf(sum->dir, sizeof sum->dir, "%s", c.dir);
    cli_version(&c);
    km_hmap seen = KM_HMAP_INIT;
    int max_level = 0;
    for (size_t i = 0; i < c.set->n; i++)
        if (c.set->cmds[i].level > max_level) max_level = c.set->cmds[i].level;
    /* The global calls without parameters go first: ec2 describe-regions decides the regions. */
    {
        tlist tl = {0};
        for (size_t i = 0; i < c.set->n; i++) {
            const km_cmd *k = &c.set->cmds[i];
            if (!k->global || k->level || k->nsources || !wanted(&c, k)) continue;
            if (seen_key(&seen, "global", k, NULL)) continue;
            task *t = tl_push(&tl);
            if (t && make_task(&c, t, k, "global", NULL, NULL, NULL, NULL)) tl.n--;
        }
        run_tasks(&c, tl.v, tl.n);
        for (size_t i = 0; i < tl.n; i++) task_free(&tl.v[i]);
        free(tl.v);
    }
    if ((rc = choose_regions(&c, err))) goto out;
    for (int level = 0; level <= max_level; level++) {
        /* a call that reads its own answers (list-parents walking up the tree) repeats */
        for (int round = 0; round < 8; round++) {
            tlist tl = {0};
            for (size_t i = 0; i < c.set->n; i++) {
                const km_cmd *k = &c.set->cmds[i];
                if (k->level != level || !wanted(&c, k)) continue;
                size_t nscopes = k->global ? 1 : c.nregions;
                for (size_t r = 0; r < nscopes; r++) {
                    const char *region = k->global ? "global" : c.regions[r];
                    if (k->nsources) {
                        plan_keyed(&c, &tl, k, region, &seen);
                    } else if (!seen_key(&seen, region, k, NULL)) {
                        task *t = tl_push(&tl);
                        if (t && make_task(&c, t, k, region, NULL, NULL, NULL, NULL)) tl.n--;
                    }
                }
            }
            if (!tl.n) { free(tl.v); break; }
            run_tasks(&c, tl.v, tl.n);
            for (size_t i = 0; i < tl.n; i++) task_free(&tl.v[i]);
            free(tl.v);
        }
    }
    if (o->progress) fprintf(stderr, "\r%-120s\r", "");
out:
    km_format_time((int64_t)time(NULL), finished, sizeof finished);
    sum->seconds = km_proc_now() - t0;
    {
        km_error merr;
        km_error_clear(&merr);
        /* an earlier error stays the one reported */
        if (write_manifest(&c, started, finished, &merr) && !rc) {
            *err = merr;
            rc = merr.code;
        }
    }
    for (size_t i = 0; i < seen.cap; i++) free((void *)seen.slots[i].val);
    km_hmap_free(&seen);
    for (size_t i = 0; i < c.nanswer_keys; i++) {
        km_json_doc_free(km_hmap_get(&c.answers, c.answer_keys[i], strlen(c.answer_keys[i])));
        free(c.answer_keys[i]);
    }
    free(c.answer_keys);
    km_hmap_free(&c.answers);
    for (size_t i = 0; i < c.nregions; i++) free(c.regions[i]);
    free(c.regions);
    km_buf_free(&c.manifest);
    return rc;
}

void km_collect_print_policy(void) {
    const km_cmdset *set = km_cmdset_builtin();
    if (!set) return;
    /* unique actions, in command order */
    const char **acts = calloc(set->n * 4 + 1, sizeof *acts);
    size_t n = 0;
    for (size_t i = 0; acts && i < set->n; i++)
        for (size_t k = 0; k < km_json_len(set->cmds[i].iam); k++) {
            const char *a = km_json_str(km_json_at(set->cmds[i].iam, k));
            int dup = 0;
            for (size_t j = 0; j < n && !dup; j++) dup = !strcmp(acts[j], a);
            if (a && !dup && n < set->n * 4) acts[n++] = a;
        }
    printf("{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\n      \"Sid\": \"KumomoriCollectReadOnly\",\n"
           "      \"Effect\": \"Allow\",\n      \"Action\": [\n");
    for (size_t i = 0; i < n; i++) printf("        \"%s\"%s\n", acts[i], i + 1 < n ? "," : "");
    printf("      ],\n      \"Resource\": \"*\"\n    }\n  ]\n}\n");
    free(acts);
}
