/* kumomori collect --trail s3://BUCKET[/PREFIX]: a local mirror of a CloudTrail bucket that
 * `kumomori verify` checks offline (docs/integrity.md, "The mirror and its sidecars").
 *
 *   OUT/trail/BUCKET/PREFIX/...            aws s3 sync (paths below OUT/trail/BUCKET are the keys)
 *   OUT/trail/BUCKET/KEY.sig               for each digest KEY: the hex x-amz-meta-signature
 *                                          (Metadata.signature of aws s3api head-object)
 *   OUT/trail/public-keys-REGION.json      aws cloudtrail list-public-keys per region of the digests
 *   OUT/trail/public-keys.json             all of them in one list (what verify --public-keys takes)
 *   OUT/trail/manifest-BUCKET.json         every command with its exit status and duration
 *
 * Only reads from AWS: s3 sync from the bucket to a local folder, head-object, list-public-keys.
 * The AWS CLI does the signing and retries (adaptive mode, set by the caller's environment or
 * here). Its scheduling loop is its own (collect.c's tasks are tied to the audit's command
 * list); starting processes, reading their pipes and writing files are shared (audit/proc.h). */
#include "audit/collect.h"
#include "audit/proc.h"
#include "audit/util.h"
#include "kumomori/buf.h"
#include "kumomori/json.h"
#include "kumomori/kumomori.h"
#include "util/walk.h"

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

#define MAX_OUT ((size_t)16 << 20) /* head-object and list-public-keys answers are small */
#define MAX_ERR ((size_t)64 << 10)
#define MAX_ARGV 24
#define MAX_REGIONS 64

typedef struct proc {
    char *argv[MAX_ARGV];
    int argc;
    pid_t pid;
    int out_fd, err_fd;
    km_buf out, err;
    double started, ms;
    int exit_code;
    int timed_out;
    /* what it is for */
    char *key;      /* head-object: the digest's key; list-public-keys: the region */
    char *dest;     /* where its answer goes */
} proc;




static void proc_free(proc *p) {
    for (int i = 0; i < p->argc; i++) free(p->argv[i]);
    km_buf_free(&p->out);
    km_buf_free(&p->err);
    free(p->key);
    free(p->dest);
}

static int arg(proc *p, const char *s) {
    if (p->argc >= MAX_ARGV - 1 || !(p->argv[p->argc] = strdup(s))) return -1;
    p->argv[++p->argc] = NULL;
    return 0;
}

/* A command line: aws SERVICE OP args... [--profile P] (the list ends with NULL). */
static int make_proc(proc *p, const km_collect_opts *o, const char *const *args) {
    memset(p, 0, sizeof *p);
    p->out_fd = p->err_fd = -1;
    int rc = arg(p, o->aws ? o->aws : "aws");
    for (size_t i = 0; args[i] && !rc; i++) rc = arg(p, args[i]);
    if (!rc && o->profile) rc = arg(p, "--profile") || arg(p, o->profile);
    if (rc) proc_free(p);
    return rc;
}

static int spawn(proc *p) {
    if (km_proc_spawn(p->argv, &p->pid, &p->out_fd, &p->err_fd)) return -1;
    km_buf_init(&p->out, MAX_OUT);
    km_buf_init(&p->err, MAX_ERR);
    p->started = km_proc_now();
    return 0;
}


typedef struct runner {
    const km_collect_opts *o;
    size_t done, total, failed;
    const char *what;
} runner;

static void progress(runner *r) {
    if (!r->o->progress) return;
    int width = 30;
    int fill = r->total ? (int)((double)r->done * width / (double)r->total) : 0;
    char bar[64];
    for (int i = 0; i < width; i++) bar[i] = i < fill ? '=' : (i == fill ? '>' : ' ');
    bar[width] = 0;
    fprintf(stderr, "\r[%s] %zu/%zu  %zu errors  %-40.40s", bar, r->done, r->total, r->failed, r->what);
    fflush(stderr);
}

/* Run ps[0..n) with at most jobs at once; timeout_s 0 for none. A program that cannot be
 * started gets exit code 127 and the reason on its stderr buffer. */
static void run_all(runner *r, proc *ps, size_t n, int jobs, int timeout_s) {
    if (jobs < 1) jobs = 1;
    proc **run = calloc((size_t)jobs, sizeof *run);
    struct pollfd *pf = calloc((size_t)jobs * 2, sizeof *pf);
    if (!run || !pf) {
        for (size_t i = 0; i < n; i++) ps[i].exit_code = 127;
        free(run);
        free(pf);
        return;
    }
    size_t next = 0, running = 0;
    r->total += n;
    for (;;) {
        while (running < (size_t)jobs && next < n) {
            proc *p = &ps[next++];
            if (spawn(p)) {
                p->exit_code = 127;
                km_buf_init(&p->err, MAX_ERR);
                km_buf_printf(&p->err, "cannot run %s: %s", p->argv[0], strerror(errno));
                r->done++;
                r->failed++;
                continue;
            }
            for (int s = 0; s < jobs; s++)
                if (!run[s]) { run[s] = p; break; }
            running++;
        }
        if (!running) break;
        int np = 0;
        for (int s = 0; s < jobs; s++) {
            if (!run[s]) continue;
            if (run[s]->out_fd >= 0) pf[np++] = (struct pollfd){run[s]->out_fd, POLLIN, 0};
            if (run[s]->err_fd >= 0) pf[np++] = (struct pollfd){run[s]->err_fd, POLLIN, 0};
        }
        if (np) poll(pf, (nfds_t)np, 200);
        for (int s = 0; s < jobs; s++) {
            proc *p = run[s];
            if (!p) continue;
            if (p->out_fd >= 0) km_proc_drain(&p->out_fd, &p->out);
            if (p->err_fd >= 0) km_proc_drain(&p->err_fd, &p->err);
            if (timeout_s > 0 && km_proc_now() - p->started > timeout_s && (p->out_fd >= 0 || p->err_fd >= 0)) {
                kill(p->pid, SIGTERM);
                p->timed_out = 1;
                if (p->out_fd >= 0) { close(p->out_fd); p->out_fd = -1; }
                if (p->err_fd >= 0) { close(p->err_fd); p->err_fd = -1; }
            }
            if (p->out_fd >= 0 || p->err_fd >= 0) continue;
            int st = 0;
            waitpid(p->pid, &st, 0);
            p->exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
            p->ms = (km_proc_now() - p->started) * 1000;
            run[s] = NULL;
            running--;
            r->done++;
            if (p->exit_code || p->timed_out || p->out.failed) r->failed++;
            progress(r);
        }
    }
    free(run);
    free(pf);
}

/* The CLI's error line ("An error occurred (Code) when calling ...: Message"), or its first
 * non-blank line, into buf. */
static const char *err_line(const proc *p, char *buf, size_t n) {
    if (p->timed_out) { snprintf(buf, n, "timed out"); return buf; }
    if (p->out.failed) { snprintf(buf, n, "answer larger than %zu bytes", (size_t)MAX_OUT); return buf; }
    const char *e = p->err.data ? p->err.data : "";
    const char *a = strstr(e, "An error occurred (");
    if (!a) a = strstr(e, "fatal error:");
    if (!a) {
        a = e;
        while (*a == '\n' || *a == '\r' || *a == ' ') a++;
    }
    size_t l = strcspn(a, "\r\n");
    snprintf(buf, n, "%.*s", (int)(l > 400 ? 400 : l), *a ? a : "no message");
    if (!*a) snprintf(buf, n, "exit status %d", p->exit_code);
    return buf;
}

/* ---- the manifest ---- */

static void manifest_add(km_buf *m, const proc *p, const char *status, const char *why) {
    if (m->len) km_buf_puts(m, ",\n  ");
    km_buf b = KM_BUF_INIT;
    km_buf_puts(&b, "aws");
    for (int i = 1; i < p->argc; i++) {
        km_buf_putc(&b, ' ');
        km_buf_puts(&b, p->argv[i]);
    }
    km_buf_puts(m, "{\"command\":");
    km_buf_json_str(m, b.data ? b.data : "", b.len);
    km_buf_free(&b);
    km_buf_printf(m, ",\"exit\":%d,\"status\":\"%s\",\"error\":", p->exit_code, status);
    if (why) km_buf_json_str(m, why, strlen(why));
    else km_buf_puts(m, "null");
    km_buf_printf(m, ",\"duration_ms\":%.0f}", p->ms);
}

/* ---- digests found in the mirror ---- */

typedef struct digest_list {
    const char *root;   /* OUT/trail/BUCKET */
    size_t rootlen;
    char **keys;
    size_t n, cap;
    char regions[MAX_REGIONS][32];
    size_t nregions;
    int64_t oldest;     /* end time of the oldest digest (from its name), 0 when none */
} digest_list;

static int is_digest_key(const char *key) {
    size_t l = strlen(key);
    return strstr(key, "/CloudTrail-Digest/") && l > 8 && !strcmp(key + l - 8, ".json.gz");
}

/* Region and end time from .../CloudTrail-Digest/REGION/YYYY/MM/DD/..._YYYYMMDDTHHMMSSZ[_backfill].json.gz */
static void note_digest(digest_list *d, const char *key) {
    const char *r = strstr(key, "/CloudTrail-Digest/");
    if (r) {
        r += strlen("/CloudTrail-Digest/");
        size_t rl = strcspn(r, "/");
        char region[32];
        if (rl > 0 && rl < sizeof region) {
            memcpy(region, r, rl);
            region[rl] = 0;
            int have = 0;
            for (size_t i = 0; i < d->nregions && !have; i++) have = !strcmp(d->regions[i], region);
            if (!have && km_is_region(region) && d->nregions < MAX_REGIONS)
                snprintf(d->regions[d->nregions++], sizeof d->regions[0], "%s", region);
        }
    }
    const char *base = strrchr(key, '/');
    base = base ? base + 1 : key;
    for (const char *p = base; (p = strchr(p, '_')) != NULL; p++) {
        /* _YYYYMMDDTHHMMSSZ */
        int ok = strlen(p) >= 17 && p[9] == 'T' && p[16] == 'Z';
        for (int i = 1; ok && i < 16; i++) ok = i == 9 || (p[i] >= '0' && p[i] <= '9');
        if (!ok) continue;
        char iso[32];
        snprintf(iso, sizeof iso, "%.4s-%.2s-%.2sT%.2s:%.2s:%.2sZ", p + 1, p + 5, p + 7, p + 10, p + 12, p + 14);
        int64_t t;
        if (km_parse_time_str(iso, &t) == 0 && (!d->oldest || t < d->oldest)) d->oldest = t;
        break;
    }
}

static int find_digests(void *ctx, const char *path, int errnum) {
    digest_list *d = ctx;
    if (errnum) return 0;
    size_t l = strlen(path);
    if (l <= d->rootlen + 1 || strncmp(path, d->root, d->rootlen) || path[d->rootlen] != '/') return 0;
    const char *key = path + d->rootlen + 1;
    if (!is_digest_key(key)) return 0;
    if (d->n == d->cap) {
        size_t nc = d->cap ? d->cap * 2 : 64;
        char **nk = realloc(d->keys, nc * sizeof *nk);
        if (!nk) return -1;
        d->keys = nk;
        d->cap = nc;
    }
    if (!(d->keys[d->n] = strdup(key))) return -1;
    d->n++;
    note_digest(d, key);
    return 0;
}

/* ---- the steps ---- */

/* A bucket name as S3 allows, and a prefix that cannot climb out of the mirror folder. */
static int parse_url(const char *url, char *bucket, size_t bn, char *prefix, size_t pn) {
    if (strncmp(url, "s3://", 5)) return -1;
    const char *b = url + 5;
    size_t l = strcspn(b, "/");
    if (l < 3 || l > 63 || l >= bn) return -1;
    for (size_t i = 0; i < l; i++)
        if (!((b[i] >= 'a' && b[i] <= 'z') || (b[i] >= '0' && b[i] <= '9') || b[i] == '-' || b[i] == '.')) return -1;
    memcpy(bucket, b, l);
    bucket[l] = 0;
    const char *p = b + l;
    while (*p == '/') p++;
    if (snprintf(prefix, pn, "%s", p) >= (int)pn) return -1;
    size_t plen = strlen(prefix);
    while (plen && prefix[plen - 1] == '/') prefix[--plen] = 0;
    /* no "." or ".." component, no empty one */
    for (const char *c = prefix; *c;) {
        size_t cl = strcspn(c, "/");
        if (cl == 0 || (cl == 1 && c[0] == '.') || (cl == 2 && c[0] == '.' && c[1] == '.')) return -1;
        c += cl;
        if (*c == '/') c++;
    }
    return 0;
}

static int is_hex_sig(const char *s, size_t n) {
    if (n < 64 || n % 2) return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F'))) return 0;
    return 1;
}

int km_collect_trail(const km_collect_opts *o, const char *url, km_trail_summary *sum, km_error *err) {
    memset(sum, 0, sizeof *sum);
    char bucket[64], prefix[1024];
    if (parse_url(url, bucket, sizeof bucket, prefix, sizeof prefix))
        return km_error_set(err, KM_ERR, (size_t)-1,
                            "--trail %s: expected s3://BUCKET or s3://BUCKET/PREFIX (a bucket name of 3-63 "
                            "characters a-z 0-9 . -, a prefix without . or .. parts)", url);
    if (!getenv("AWS_RETRY_MODE")) setenv("AWS_RETRY_MODE", "adaptive", 1);
    if (!getenv("AWS_MAX_ATTEMPTS")) setenv("AWS_MAX_ATTEMPTS", "10", 1);
    setenv("AWS_PAGER", "", 1);
    char trail_dir[3000], root[3100], dest[4200], src[1200];
    if (snprintf(trail_dir, sizeof trail_dir, "%s/trail", o->out_dir) >= (int)sizeof trail_dir)
        return km_error_set(err, KM_ERR, (size_t)-1, "--out %.100s...: path too long", o->out_dir);
    snprintf(root, sizeof root, "%s/%s", trail_dir, bucket);
    snprintf(dest, sizeof dest, "%s%s%s", root, *prefix ? "/" : "", prefix);
    snprintf(src, sizeof src, "s3://%s%s%s", bucket, *prefix ? "/" : "", prefix);
    snprintf(sum->mirror, sizeof sum->mirror, "%s", root);
    snprintf(sum->keys_file, sizeof sum->keys_file, "%s/public-keys.json", trail_dir);
    if (km_proc_mkdirs(dest)) return km_error_set(err, KM_ERR, (size_t)-1, "%s: cannot create: %s", dest, strerror(errno));
    double t0 = km_proc_now();
    char started[32];
    km_format_time((int64_t)time(NULL), started, sizeof started);
    km_buf man = KM_BUF_INIT;
    runner r = {o, 0, 0, 0, "s3 sync"};
    int rc = KM_OK;
    char why[512];

    /* 1. the objects */
    proc sync;
    const char *sync_args[] = {"s3", "sync", src, dest, "--only-show-errors", "--no-progress", NULL};
    if (make_proc(&sync, o, sync_args)) return km_error_set(err, KM_ENOMEM, 0, "out of memory");
    if (o->progress) fprintf(stderr, "kumomori collect: aws s3 sync %s %s ...\n", src, dest);
    run_all(&r, &sync, 1, 1, 0); /* a large bucket takes long: no per-call timeout */
    if (sync.exit_code) {
        err_line(&sync, why, sizeof why);
        manifest_add(&man, &sync, "error", why);
        /* exit 2 from s3 sync: some files were skipped (not an error of the mirror as such) */
        if (sync.exit_code != 2) {
            rc = km_error_set(err, KM_ERR, (size_t)-1, "aws s3 sync %s failed (exit %d): %s", src, sync.exit_code, why);
            proc_free(&sync);
            goto manifest;
        }
        snprintf(sum->sync_warning, sizeof sum->sync_warning, "%s", why);
    } else {
        manifest_add(&man, &sync, "ok", NULL);
    }
    proc_free(&sync);

    /* 2. the signatures of the digests */
    digest_list d;
    memset(&d, 0, sizeof d);
    d.root = root;
    d.rootlen = strlen(root);
    km_walk(dest, find_digests, &d);
    sum->digests = d.n;
    proc *hp = calloc(d.n ? d.n : 1, sizeof *hp);
    size_t nh = 0;
    for (size_t i = 0; hp && i < d.n; i++) {
        char sig_path[8300];
        snprintf(sig_path, sizeof sig_path, "%s/%s.sig", root, d.keys[i]);
        struct stat st;
        if (stat(sig_path, &st) == 0 && st.st_size > 0) { sum->sigs_kept++; continue; } /* from an earlier run */
        const char *args[] = {"s3api", "head-object", "--bucket", bucket, "--key", d.keys[i], "--output", "json", NULL};
        if (make_proc(&hp[nh], o, args)) continue;
        hp[nh].key = strdup(d.keys[i]);
        hp[nh].dest = strdup(sig_path);
        nh++;
    }
    r.what = "s3api head-object";
    run_all(&r, hp, nh, o->jobs, o->timeout_s);
    for (size_t i = 0; i < nh; i++) {
        proc *p = &hp[i];
        const char *status = "ok";
        why[0] = 0;
        if (p->exit_code || p->timed_out || p->out.failed) {
            err_line(p, why, sizeof why);
            status = "error";
        } else {
            km_error je;
            km_json_doc *doc = km_json_parse(p->out.data ? p->out.data : "", p->out.len, NULL, NULL, &je);
            const km_json *md = doc ? km_ci_get(km_json_root(doc), "Metadata") : NULL;
            const km_json *sig = md ? km_ci_get(md, "signature") : NULL;
            if (!doc) snprintf(why, sizeof why, "head-object printed no JSON: %.400s", je.msg);
            else if (!sig || sig->type != KM_JSON_STRING || !is_hex_sig(sig->u.str.s, sig->u.str.len))
                snprintf(why, sizeof why, "no hex Metadata.signature (x-amz-meta-signature) on the object: not a CloudTrail digest, or its metadata was removed");
            else {
                km_buf b = KM_BUF_INIT;
                km_buf_append(&b, sig->u.str.s, sig->u.str.len);
                km_buf_putc(&b, '\n');
                if (km_proc_write_file(p->dest, b.data, b.len)) snprintf(why, sizeof why, "%s: cannot write: %s", p->dest, strerror(errno));
                km_buf_free(&b);
            }
            km_json_doc_free(doc);
            if (why[0]) status = "error";
        }
        if (why[0]) {
            sum->sig_failed++;
            if (sum->nfailures < KM_TRAIL_MAX_FAILURES)
                snprintf(sum->failures[sum->nfailures++], sizeof sum->failures[0], "%.500s: %s", p->key, why);
        } else {
            sum->sigs++;
        }
        manifest_add(&man, p, status, why[0] ? why : NULL);
        proc_free(p);
    }
    free(hp);

    /* 3. the public keys, per region of the digests, from before the oldest digest on (no end
     * time: the CLI's default, now, also covers keys that signed backfill digests later) */
    char start_iso[32] = "";
    if (d.oldest) km_format_time(d.oldest - 86400, start_iso, sizeof start_iso);
    proc kp[MAX_REGIONS];
    size_t nk = 0;
    for (size_t i = 0; i < d.nregions; i++) {
        const char *args[] = {"cloudtrail", "list-public-keys", "--region", d.regions[i], "--output", "json",
                              start_iso[0] ? "--start-time" : NULL, start_iso, NULL};
        if (make_proc(&kp[nk], o, args)) continue;
        kp[nk].key = strdup(d.regions[i]);
        char path[4200];
        snprintf(path, sizeof path, "%s/public-keys-%s.json", trail_dir, d.regions[i]);
        kp[nk].dest = strdup(path);
        nk++;
    }
    r.what = "cloudtrail list-public-keys";
    run_all(&r, kp, nk, o->jobs, o->timeout_s);
    km_buf all = KM_BUF_INIT;
    km_buf_puts(&all, "{\n    \"PublicKeyList\": [");
    char **fps = calloc(1, sizeof *fps);
    size_t nfps = 0, nkeys = 0;
    for (size_t i = 0; i < nk; i++) {
        proc *p = &kp[i];
        why[0] = 0;
        km_json_doc *doc = NULL;
        if (p->exit_code || p->timed_out || p->out.failed) err_line(p, why, sizeof why);
        else {
            km_error je;
            doc = km_json_parse(p->out.data ? p->out.data : "", p->out.len, NULL, NULL, &je);
            if (!doc || !km_json_is(km_json_get(km_json_root(doc), "PublicKeyList"), KM_JSON_ARRAY))
                snprintf(why, sizeof why, "list-public-keys printed no PublicKeyList%s%.400s", doc ? "" : ": ", doc ? "" : je.msg);
            else if (km_proc_write_file(p->dest, p->out.data, p->out.len))
                snprintf(why, sizeof why, "%s: cannot write: %s", p->dest, strerror(errno));
        }
        if (why[0]) {
            sum->key_failed++;
            if (sum->nfailures < KM_TRAIL_MAX_FAILURES)
                snprintf(sum->failures[sum->nfailures++], sizeof sum->failures[0], "public keys of %.30s: %s", p->key, why);
        } else {
            sum->key_regions++;
            const km_json *lst = km_json_get(km_json_root(doc), "PublicKeyList");
            for (size_t k = 0; k < km_json_len(lst); k++) {
                const km_json *key = km_json_at(lst, k);
                const char *fp = km_json_get_str(key, "Fingerprint", NULL);
                int dup = 0;
                for (size_t j = 0; fp && j < nfps && !dup; j++) dup = !strcmp(fps[j], fp);
                if (dup) continue;
                if (fp) {
                    char **nf = realloc(fps, (nfps + 1) * sizeof *fps);
                    if (nf) {
                        fps = nf;
                        fps[nfps++] = strdup(fp);
                    }
                }
                km_buf_puts(&all, nkeys++ ? ",\n        " : "\n        ");
                km_json_write(&all, key);
            }
        }
        manifest_add(&man, p, why[0] ? "error" : "ok", why[0] ? why : NULL);
        km_json_doc_free(doc);
        proc_free(p);
    }
    km_buf_puts(&all, nkeys ? "\n    ]\n}\n" : "]\n}\n");
    sum->keys = nkeys;
    if (nk && km_proc_write_file(sum->keys_file, all.data, all.len) == 0) sum->keys_written = 1;
    km_buf_free(&all);
    for (size_t i = 0; i < nfps; i++) free(fps[i]);
    free(fps);
    sum->regions = d.nregions;
    for (size_t i = 0; i < d.n; i++) free(d.keys[i]);
    free(d.keys);
    if (o->progress) fprintf(stderr, "\r%-100s\r", "");

manifest:
    sum->seconds = km_proc_now() - t0;
    {
        char finished[32];
        km_format_time((int64_t)time(NULL), finished, sizeof finished);
        km_buf b = KM_BUF_INIT;
        km_buf_puts(&b, "{\n \"tool\": {\"name\": \"kumomori\", \"version\": \"" KUMOMORI_VERSION "\"},\n \"trail\": ");
        km_buf_json_str(&b, src, strlen(src));
        km_buf_puts(&b, ",\n \"started_at\": ");
        km_buf_json_str(&b, started, strlen(started));
        km_buf_puts(&b, ",\n \"finished_at\": ");
        km_buf_json_str(&b, finished, strlen(finished));
        km_buf_printf(&b, ",\n \"summary\": {\"digests\": %zu, \"signatures\": %zu, \"signatures_kept\": %zu, "
                          "\"signatures_failed\": %zu, \"key_regions\": %zu, \"keys\": %zu},\n \"commands\": [\n  ",
                      sum->digests, sum->sigs, sum->sigs_kept, sum->sig_failed, sum->key_regions, sum->keys);
        if (man.data) km_buf_append(&b, man.data, man.len);
        km_buf_puts(&b, "\n ]\n}\n");
        char path[4200];
        snprintf(path, sizeof path, "%s/manifest-%s.json", trail_dir, bucket);
        km_proc_write_file(path, b.data, b.len);
        km_buf_free(&b);
    }
    km_buf_free(&man);
    return rc;
}
