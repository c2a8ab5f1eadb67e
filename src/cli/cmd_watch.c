/* kumomori watch: follow a trail folder as CloudTrail files arrive, with a state file so that a
 * restart (even after kill -9) loses and repeats nothing.
 *
 * Exactly once: after each file, the output is flushed to disk and the state file (files done, the
 * output's length, the thresholds' and correlations' windows) is replaced atomically. On start, the
 * output is cut back to the length the state records: alerts of a file whose processing was
 * interrupted are dropped and the file is read again from the same window state, so its alerts come
 * out once. The output file therefore belongs to kumomori watch. */
#include "cli/commands.h"
#include "cli/ruleload.h"
#include "detect/detect.h"
#include "kumomori/json.h"
#include "kumomori/kumomori.h"
#include "kumomori/seal.h" /* verify helper: --seal */
#include "util/walk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

KM_COMMAND(watch, 15, "follow a CloudTrail folder as files arrive, with a restartable state")

#define MAX_DONE 200000   /* files remembered one by one; older ones are covered by the cut-off time */
#define MAX_WATCHES 8192  /* inotify watches; folders beyond are found by the periodic rescan */

static void help(void) {
    printf("usage: kumomori watch DIR --state FILE [--output FILE] [OPTIONS]\n\n"
           "Follows the trail folder DIR (for example a local copy of the bucket kept by 'aws s3 sync',\n"
           "with its AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/ layout): every CloudTrail file\n"
           "(*.json, *.json.gz, *.jsonl, *.ndjson) that appears is read once, its records are matched\n"
           "against the rules (as 'kumomori detect' does), and the alerts are appended as JSON lines.\n"
           "New files are noticed through inotify, with a periodic rescan as a fallback.\n\n"
           "The state file records which files are done, the thresholds' and correlations' open\n"
           "windows and how much of the output is written; it is replaced atomically after every file.\n"
           "After a crash or kill -9, run the same command again: nothing is lost or repeated.\n\n"
           "options:\n"
           "  --state FILE        the state file (created when absent); required\n"
           "  -o, --output FILE   append alerts (JSON lines) to FILE (default: standard output; then\n"
           "                      alerts of a file interrupted by a crash may be printed twice)\n"
           "  --rules PATH        add rules (files or folders: JSON, Sigma YAML, Athena .sql)\n"
           "  --no-builtin        only the rules given with --rules\n"
           "  --min-severity SEV  write only alerts of rules of severity SEV or above\n"
           "  --lateness DUR      how long in event time thresholds wait for late events (default 15m)\n"
           "  --max-groups N      groups kept per threshold or correlation (default 100000)\n"
           "  --sigma-placeholder NAME=V1,V2  values for a Sigma rule's |expand %%NAME%%\n"
           "  --include-event     put each alert's CloudTrail record in it\n"
           "  --seal KEY          seal the output: hash-chained, signed with the private key of\n"
           "                      `kumomori keygen` every 100 alerts, every 60 s and at the end; a\n"
           "                      restart continues the stream (`kumomori verify --sealed`)\n"
           "  --interval SEC      rescan the folder every SEC seconds (default 30)\n"
           "  --no-inotify        rely on the rescan alone (network and FUSE file systems, where inotify\n"
           "                      does not see files written by other machines)\n"
           "  --settle SEC        leave a file until it is SEC seconds old, so it is complete (default 2)\n"
           "  --checkpoint N      save the state after at most N files (default 100; also every 5 s\n"
           "                      and whenever it has caught up); a restart redoes at most that much\n"
           "  --once              process the files present now, save the state and exit\n"
           "  --stats             print a status line (files, records, alerts, lag) every interval\n\n"
           "SIGTERM or SIGINT (Ctrl-C) stops it cleanly after the current file.\n"
           "exit status: 0 stopped cleanly, 2 usage error, bad rules, or an unusable state/output.\n");
}

/* ---- state ---- */

typedef struct done_file {
    char *path;  /* relative to DIR */
    int64_t mtime_ns;
    int64_t size;
} done_file;

typedef struct wstate {
    done_file *f;
    size_t n, cap;
    int64_t cutoff_ns;      /* files older than this are done even when not listed */
    uint64_t out_bytes;     /* committed length of the output */
    uint64_t files, records, alerts, input_errors;
    char seal_pos[KM_SEAL_POSITION_MAX]; /* verify helper: the sealed stream at out_bytes */
} wstate;

static int cmp_done(const void *a, const void *b) {
    return strcmp(((const done_file *)a)->path, ((const done_file *)b)->path);
}

static done_file *done_find(wstate *s, const char *rel) {
    done_file key = {(char *)rel, 0, 0};
    return s->n ? bsearch(&key, s->f, s->n, sizeof *s->f, cmp_done) : NULL;
}

static int done_add(wstate *s, const char *rel, int64_t mtime, int64_t size) {
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 256;
        done_file *nf = realloc(s->f, nc * sizeof *nf);
        if (!nf) return -1;
        s->f = nf;
        s->cap = nc;
    }
    char *p = strdup(rel);
    if (!p) return -1;
    /* keep sorted: insertion point */
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (strcmp(s->f[mid].path, rel) < 0) lo = mid + 1;
        else hi = mid;
    }
    memmove(&s->f[lo + 1], &s->f[lo], (s->n - lo) * sizeof *s->f);
    s->f[lo] = (done_file){p, mtime, size};
    s->n++;
    /* bound: forget the oldest files, remembering their time as the cut-off */
    if (s->n > MAX_DONE) {
        size_t oldest = 0;
        for (size_t i = 1; i < s->n; i++)
            if (s->f[i].mtime_ns < s->f[oldest].mtime_ns) oldest = i;
        if (s->f[oldest].mtime_ns > s->cutoff_ns) s->cutoff_ns = s->f[oldest].mtime_ns;
        free(s->f[oldest].path);
        memmove(&s->f[oldest], &s->f[oldest + 1], (s->n - oldest - 1) * sizeof *s->f);
        s->n--;
    }
    return 0;
}

static void state_free(wstate *s) {
    for (size_t i = 0; i < s->n; i++) free(s->f[i].path);
    free(s->f);
    memset(s, 0, sizeof *s);
}

/* The state file's format. 2: a pending hit's event fields ("c" in "windows") may be a compact
 * record (NUL-ended fields, src/detect/program.c) instead of JSON. A kumomori that reads only
 * version 1 refuses a version 2 state (exit status 2) instead of reading compact records as
 * JSON; this one reads both, and refuses a later version by name (it would lose or repeat
 * alerts). Bump it whenever an older kumomori would misread what is written. */
#define STATE_VERSION 2

/* Write the state file: a temporary file beside it, synced, renamed over, the folder synced. */
static int state_save(const char *path, const wstate *s, const km_program *prog, const char *dir) {
    km_buf b = KM_BUF_INIT;
    km_buf_init(&b, 0);
    km_buf_printf(&b, "{\"version\":%d,\"dir\":", STATE_VERSION);
    km_buf_json_str(&b, dir, strlen(dir));
    km_buf_printf(&b, ",\"output_bytes\":%" PRIu64 ",\"cutoff_ns\":%" PRId64 ",\"files\":%" PRIu64 ",\"records\":%" PRIu64
                      ",\"alerts\":%" PRIu64 ",\"input_errors\":%" PRIu64,
                  s->out_bytes, s->cutoff_ns, s->files, s->records, s->alerts, s->input_errors);
    if (s->seal_pos[0]) { /* verify helper: the sealed stream's position at output_bytes */
        km_buf_puts(&b, ",\"seal\":");
        km_buf_json_str(&b, s->seal_pos, strlen(s->seal_pos));
    }
    km_buf_puts(&b, ",\"done\":[");

    for (size_t i = 0; i < s->n; i++) {
        km_buf_puts(&b, i ? ",[" : "[");
        km_buf_json_str(&b, s->f[i].path, strlen(s->f[i].path));
        km_buf_printf(&b, ",%" PRId64 ",%" PRId64 "]", s->f[i].mtime_ns, s->f[i].size);
    }
    km_buf_puts(&b, "],\"windows\":");
    if (prog) km_program_save(prog, &b);
    else km_buf_puts(&b, "null");
    km_buf_puts(&b, "}\n");
    if (b.failed) {
        km_buf_free(&b);
        return -1;
    }
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int rc = -1;
    if (fd >= 0) {
        size_t off = 0;
        while (off < b.len) {
            ssize_t w = write(fd, b.data + off, b.len - off);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) break;
            off += (size_t)w;
        }
        if (off == b.len && fsync(fd) == 0 && close(fd) == 0) {
            fd = -1;
            if (rename(tmp, path) == 0) rc = 0;
        }
        if (fd >= 0) close(fd);
    }
    if (rc == 0) {
        /* the rename itself must survive a crash */
        char d[PATH_MAX];
        snprintf(d, sizeof d, "%s", path);
        char *slash = strrchr(d, '/');
        if (slash) *slash = 0;
        else snprintf(d, sizeof d, ".");
        int dfd = open(slash && !*d ? "/" : d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
    km_buf_free(&b);
    return rc;
}

/* verify helper: after a signature line outside the per-file cycle, record the sealed stream's
 * position with the output's new length, so that a restart neither cuts it off nor repeats it. */
static int seal_commit(km_seal_file *sf, FILE *out, const char *output, wstate *st, const char *state_path,
                       const km_program *prog, const char *dir) {
    if (km_seal_file_position(sf, st->seal_pos) || fflush(out)) return -1;
    if (!output) return 0;
    struct stat ost;
    if (fsync(fileno(out)) || fstat(fileno(out), &ost) != 0) return -1;
    st->out_bytes = (uint64_t)ost.st_size;
    return state_save(state_path, st, prog, dir);
}

static int state_load(const char *path, wstate *s, km_program *prog, const char *dir, char *msg, size_t msgsz) {
    size_t len;
    km_error err;
    char *text = km_read_file(path, (size_t)1 << 30, &len, &err);
    if (!text) {
        if (errno == ENOENT || access(path, F_OK) != 0) return 1; /* a new state */
        snprintf(msg, msgsz, "%s", err.msg);
        return -1;
    }
    km_json_doc *d = km_json_parse(text, len, NULL, NULL, &err);
    free(text);
    if (!d) {
        snprintf(msg, msgsz, "%s: not a kumomori watch state file: %s", path, err.msg);
        return -1;
    }
    const km_json *r = km_json_root(d);
    const km_json *v = km_json_get(r, "version");
    const char *sdir = km_json_get_str(r, "dir", "");
    int rc = 0;
    double vd = v && v->type == KM_JSON_NUMBER ? v->u.num.d : 0;
    int whole = vd >= 1 && vd <= 1e9 && vd == (double)(long)vd; /* bounded before the cast */
    if (whole && vd > STATE_VERSION) {
        snprintf(msg, msgsz,
                 "%s: a watch state of format version %ld, written by a newer kumomori (this one reads versions 1 to %d): "
                 "run that kumomori, or give a new --state file (its folder is then read again from the start)",
                 path, (long)vd, STATE_VERSION);
        rc = -1;
    } else if (!whole) {
        snprintf(msg, msgsz, "%s: not a kumomori watch state file (no \"version\" from 1 to %d)", path, STATE_VERSION);
        rc = -1;
    } else if (strcmp(sdir, dir)) {
        snprintf(msg, msgsz, "%.300s is the state of a watch over %.300s, not %.300s: give another --state file", path, sdir, dir);
        rc = -1;
    }
#define U64(k) (km_json_get(r, k) && km_json_get(r, k)->type == KM_JSON_NUMBER ? strtoull(km_json_get(r, k)->u.num.raw, NULL, 10) : 0)
    if (!rc) {
        s->out_bytes = U64("output_bytes");
        s->files = U64("files");
        s->records = U64("records");
        s->alerts = U64("alerts");
        s->input_errors = U64("input_errors");
        snprintf(s->seal_pos, sizeof s->seal_pos, "%s", km_json_get_str(r, "seal", "")); /* verify helper */
        const km_json *c = km_json_get(r, "cutoff_ns");
        s->cutoff_ns = c && c->type == KM_JSON_NUMBER ? strtoll(c->u.num.raw, NULL, 10) : 0;
        const km_json *dn = km_json_get(r, "done");
        for (size_t i = 0; i < km_json_len(dn) && !rc; i++) {
            const km_json *e = km_json_at(dn, i);
            const char *p = km_json_str(km_json_at(e, 0));
            const km_json *mt = km_json_at(e, 1), *sz = km_json_at(e, 2);
            if (!p || !mt || !sz || done_add(s, p, strtoll(mt->u.num.raw, NULL, 10), strtoll(sz->u.num.raw, NULL, 10))) {
                snprintf(msg, msgsz, "%s: damaged list of files done", path);
                rc = -1;
            }
        }
        const km_json *w = km_json_get(r, "windows");
        if (!rc && prog && w && w->type == KM_JSON_OBJECT) {
            km_buf wb = KM_BUF_INIT;
            km_json_write(&wb, w);
            if (km_program_load(prog, wb.data, wb.len, &err) != KM_OK) {
                snprintf(msg, msgsz, "%s: %s", path, err.msg);
                rc = -1;
            }
            km_buf_free(&wb);
        }
    }
#undef U64
    km_json_doc_free(d);
    return rc;
}

/* ---- the folder ---- */

typedef struct cand {
    char *rel;
    char *full;
    char key[32];  /* CloudTrail's delivery time from the name (YYYYMMDDTHHMMZ), or "" */
    int64_t mtime_ns;
    int64_t size;
} cand;

typedef struct scan {
    const char *dir;
    size_t dirlen;
    wstate *s;
    cand *c;
    size_t n, cap;
    int64_t now_ns, settle_ns;
    size_t unsettled;
    int64_t oldest_pending_ns;
} scan;

static int trail_name(const char *p) {
    static const char *const sfx[] = {".json", ".json.gz", ".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz"};
    size_t l = strlen(p);
    for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++) {
        size_t k = strlen(sfx[i]);
        if (l >= k && !strcmp(p + l - k, sfx[i])) return 1;
    }
    return 0;
}

/* "..._CloudTrail_us-east-1_20230710T1145Z_7xgo....json.gz": the 20230710T1145Z part */
static void delivery_key(const char *name, char key[32]) {
    key[0] = 0;
    for (const char *p = name; *p; p++) {
        if (p[0] == '_' && strlen(p) > 15 && p[9] == 'T' && p[14] == 'Z') {
            int ok = 1;
            for (int i = 1; i <= 13; i++)
                if (i != 9 && (p[i] < '0' || p[i] > '9')) ok = 0;
            if (ok) {
                memcpy(key, p + 1, 14);
                key[14] = 0;
            }
        }
    }
}

static int on_file(void *ctx, const char *path, int errnum) {
    scan *sc = ctx;
    if (errnum) return 0; /* an unreadable folder: the next scan tries again */
    const char *rel = path + sc->dirlen;
    while (*rel == '/') rel++;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (strstr(base, "CloudTrail-Digest") || !trail_name(base)) return 0;
    struct stat st;
    if (stat(path, &st) != 0) return 0;
    int64_t mt = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    if (sc->s->cutoff_ns && mt <= sc->s->cutoff_ns) return 0;
    if (done_find(sc->s, rel)) return 0;
    if (sc->now_ns - mt < sc->settle_ns) { /* still being written, perhaps */
        sc->unsettled++;
        return 0;
    }
    if (sc->n == sc->cap) {
        size_t nc = sc->cap ? sc->cap * 2 : 64;
        cand *n = realloc(sc->c, nc * sizeof *n);
        if (!n) return 0;
        sc->c = n;
        sc->cap = nc;
    }
    cand *c = &sc->c[sc->n];
    c->rel = strdup(rel);
    c->full = strdup(path);
    if (!c->rel || !c->full) {
        free(c->rel);
        free(c->full);
        return 0;
    }
    delivery_key(base, c->key);
    c->mtime_ns = mt;
    c->size = (int64_t)st.st_size;
    if (!sc->oldest_pending_ns || mt < sc->oldest_pending_ns) sc->oldest_pending_ns = mt;
    sc->n++;
    return 0;
}

/* Files in the order CloudTrail delivered them (the time in their names), so that events reach the
 * windows in nearly the order they happened whatever the region folders; then by path. */
static int cmp_cand(const void *a, const void *b) {
    const cand *x = a, *y = b;
    int k = strcmp(x->key, y->key);
    return k ? k : strcmp(x->rel, y->rel);
}

static void scan_free(scan *sc) {
    for (size_t i = 0; i < sc->n; i++) {
        free(sc->c[i].rel);
        free(sc->c[i].full);
    }
    free(sc->c);
    sc->c = NULL;
    sc->n = sc->cap = 0;
}

static int64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* inotify watches on DIR and its folders (new folders are added at each scan) */
static void watch_dirs(int ifd, const char *dir, int depth, size_t *count) {
    if (ifd < 0 || depth > 16 || *count >= MAX_WATCHES) return;
    if (inotify_add_watch(ifd, dir, IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE | IN_ONLYDIR) >= 0) (*count)++;
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && *count < MAX_WATCHES) {
        if (e->d_name[0] == '.') continue;
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) watch_dirs(ifd, p, depth + 1, count);
    }
    closedir(d);
}

static volatile sig_atomic_t stop_requested;
static void on_signal(int sig) {
    (void)sig;
    stop_requested = 1;
}

static int parse_long(const char *s, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

static int keep_all(const km_rule *r, void *ctx) {
    const km_severity *min = ((const void **)ctx)[0];
    const km_program *p = ((const void **)ctx)[1];
    const km_ruleset *rs = ((const void **)ctx)[2];
    return r->severity >= *min || (p && km_program_feeds(p, (size_t)(r - km_ruleset_get(rs, 0))));
}

int km_cmd_watch(int argc, char **argv) {
    if (km_cli_wants_help(argc, argv)) {
        help();
        return 0;
    }
    char **rule_paths = calloc((size_t)argc, sizeof *rule_paths);
    char **placeholders = calloc((size_t)argc, sizeof *placeholders);
    size_t nrp = 0, nph = 0;
    const char *dir_arg = NULL, *state_path = NULL, *output = NULL;
    int builtin = 1, include_event = 0, once = 0, stats = 0, no_inotify = 0;
    long interval = 30, settle = 2, checkpoint = 100;
    km_severity min_sev = KM_SEV_INFO;
    km_program_opts po = {0};
    po.lateness_ms = 15 * 60 * 1000;
    int status = 2;
    km_ruleset *rs = NULL;
    km_program *prog = NULL;
    km_matcher *m = NULL;
    km_writer *w = NULL;
    FILE *out = NULL;
    const char *seal_path = NULL; /* verify helper: --seal */
    km_seal_key *seal_key = NULL;
    km_seal_file *sealf = NULL;
    int ifd = -1;
    wstate st;
    memset(&st, 0, sizeof st);
    char dir[PATH_MAX];
    if (!rule_paths || !placeholders) goto done;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED()                                                                          \
    do {                                                                                \
        if (!val) { km_cli_usage_error("watch", "%s needs a value", a); goto done; }    \
        i++;                                                                            \
    } while (0)
        if (!strcmp(a, "--state")) { NEED(); state_path = argv[i]; }
        else if (!strcmp(a, "--output") || !strcmp(a, "-o")) { NEED(); output = argv[i]; }
        else if (!strcmp(a, "--rules")) { NEED(); rule_paths[nrp++] = argv[i]; }
        else if (!strcmp(a, "--no-builtin")) builtin = 0;
        else if (!strcmp(a, "--include-event")) include_event = 1;
        else if (!strcmp(a, "--seal")) { NEED(); seal_path = argv[i]; } /* verify helper */
        else if (!strcmp(a, "--once")) once = 1;
        else if (!strcmp(a, "--stats")) stats = 1;
        else if (!strcmp(a, "--no-inotify")) no_inotify = 1;
        else if (!strcmp(a, "--sigma-placeholder")) { NEED(); placeholders[nph++] = argv[i]; }
        else if (!strcmp(a, "--min-severity")) {
            NEED();
            if (km_severity_parse(argv[i], &min_sev)) {
                km_cli_usage_error("watch", "--min-severity must be info, low, medium, high or critical, not '%s'", argv[i]);
                goto done;
            }
        } else if (!strcmp(a, "--lateness")) {
            NEED();
            int64_t v = strcmp(argv[i], "0") ? km_corr_parse_span(argv[i]) : 0;
            if (v < 0) {
                km_cli_usage_error("watch", "--lateness needs a duration like 90s, 15m, 1h or 1d, not '%s'", argv[i]);
                goto done;
            }
            po.lateness_ms = (uint64_t)v;
        } else if (!strcmp(a, "--max-groups")) {
            NEED();
            long g;
            if (parse_long(argv[i], 1, 100000000, &g)) {
                km_cli_usage_error("watch", "--max-groups needs a number from 1 to 100000000, not '%s'", argv[i]);
                goto done;
            }
            po.max_groups = (size_t)g;
        } else if (!strcmp(a, "--interval")) {
            NEED();
            if (parse_long(argv[i], 1, 86400, &interval)) {
                km_cli_usage_error("watch", "--interval needs seconds from 1 to 86400, not '%s'", argv[i]);
                goto done;
            }
        } else if (!strcmp(a, "--checkpoint")) {
            NEED();
            if (parse_long(argv[i], 1, 1000000, &checkpoint)) {
                km_cli_usage_error("watch", "--checkpoint needs a number of files from 1 to 1000000, not '%s'", argv[i]);
                goto done;
            }
        } else if (!strcmp(a, "--settle")) {
            NEED();
            if (parse_long(argv[i], 0, 3600, &settle)) {
                km_cli_usage_error("watch", "--settle needs seconds from 0 to 3600, not '%s'", argv[i]);
                goto done;
            }
        } else if (a[0] == '-' && a[1]) {
            km_cli_usage_error("watch", "unknown option '%s'", a);
            goto done;
        } else if (!dir_arg) {
            dir_arg = a;
        } else {
            km_cli_usage_error("watch", "one folder only (got '%s' and '%s')", dir_arg, a);
            goto done;
        }
#undef NEED
    }
    if (!dir_arg) {
        km_cli_usage_error("watch", "give the trail folder to follow");
        goto done;
    }
    if (!state_path) {
        km_cli_usage_error("watch", "--state FILE is required (it makes restarts lose and repeat nothing)");
        goto done;
    }
    struct stat dst;
    if (!realpath(dir_arg, dir) || stat(dir, &dst) != 0 || !S_ISDIR(dst.st_mode)) {
        fprintf(stderr, "kumomori watch: %s: not a folder: %s\n", dir_arg, strerror(errno ? errno : ENOTDIR));
        goto done;
    }
    km_error err;
    if (seal_path && !(seal_key = km_seal_key_load_private(seal_path, &err))) { /* verify helper */
        fprintf(stderr, "kumomori watch: %s\n", err.msg);
        goto done;
    }
    rs = km_cli_load_rules_ph("watch", rule_paths, nrp, builtin, 0, placeholders, nph);
    if (!rs) goto done;
    po.min_severity = min_sev;
    if (!(prog = km_program_new(rs, &po, &err))) {
        fprintf(stderr, "kumomori watch: %s\n", err.msg);
        goto done;
    }
    const void *kctx[3] = {&min_sev, prog, rs};
    if (!(m = km_ruleset_matcher_select(rs, keep_all, kctx, &err))) {
        fprintf(stderr, "kumomori watch: %s\n", err.msg);
        goto done;
    }
    (void)km_program_keep_fields(prog, m); /* the fast path's fields come with the match */
    char msg[1200];
    int ls = state_load(state_path, &st, prog, dir, msg, sizeof msg);
    if (ls < 0) {
        fprintf(stderr, "kumomori watch: %s\n", msg);
        goto done;
    }
    /* the output: cut back to what the state committed */
    if (output) {
        int fd = open(output, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        struct stat ost;
        if (fd < 0 || fstat(fd, &ost) != 0) {
            fprintf(stderr, "kumomori watch: cannot write %s: %s\n", output, strerror(errno));
            if (fd >= 0) close(fd);
            goto done;
        }
        if (ls == 1) st.out_bytes = (uint64_t)ost.st_size; /* a new state: what is there already stays */
        if ((uint64_t)ost.st_size < st.out_bytes) {
            fprintf(stderr, "kumomori watch: %s is shorter (%lld bytes) than the state says was written (%" PRIu64
                            "): it was changed by something else; give a new --state or the right --output\n",
                    output, (long long)ost.st_size, st.out_bytes);
            close(fd);
            goto done;
        }
        if ((uint64_t)ost.st_size > st.out_bytes && ftruncate(fd, (off_t)st.out_bytes) != 0) {
            fprintf(stderr, "kumomori watch: cannot cut %s back to %" PRIu64 " bytes: %s\n", output, st.out_bytes, strerror(errno));
            close(fd);
            goto done;
        }
        if (!(out = fdopen(fd, "a"))) {
            close(fd);
            goto done;
        }
    } else {
        out = stdout;
    }
    /* a new state is saved before any work, so that a crash from here on restarts from it */
    if (ls == 1 && state_save(state_path, &st, prog, dir)) {
        fprintf(stderr, "kumomori watch: cannot save the state to %s: %s\n", state_path, strerror(errno));
        goto done;
    }
    km_writer_opts wo = {0};
    wo.out = out;
    if (seal_key) { /* verify helper: continue the stream the state file left off (cut back with the output) */
        km_seal_opts so = {0, 0, "kumomori watch " KUMOMORI_VERSION};
        if (!(sealf = km_seal_file_resume(seal_key, out, &so, output ? st.seal_pos : NULL, &err))) {
            fprintf(stderr, "kumomori watch: %s\n", err.msg);
            goto done;
        }
        wo.out = km_seal_file_stream(sealf);
    }
    wo.rules = rs;
    wo.include_event = include_event;
    if (!(w = km_writer_new("jsonl", &wo, &err)) || km_writer_begin(w)) {
        fprintf(stderr, "kumomori watch: cannot start the output\n");
        goto done;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if (!once && !no_inotify) ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    size_t nwatch = 0;
    if (ifd >= 0) watch_dirs(ifd, dir, 0, &nwatch);
    if (stats || ls == 1)
        fprintf(stderr, "kumomori watch: following %s (%s state, %zu files done, %zu folders watched%s)\n", dir,
                ls == 1 ? "new" : "restored", st.n, nwatch, ifd < 0 && !once ? (no_inotify ? ", no inotify: rescanning" : ", inotify unavailable: rescanning") : "");
    time_t last_stats = 0;
    size_t unsaved = 0;
    int64_t last_save_ns = now_ns();
    status = 0;
    while (!stop_requested) {
        scan sc;
        memset(&sc, 0, sizeof sc);
        sc.dir = dir;
        sc.dirlen = strlen(dir);
        sc.s = &st;
        sc.now_ns = now_ns();
        sc.settle_ns = once ? 0 : (int64_t)settle * 1000000000;
        km_walk(dir, on_file, &sc);
        if (sc.n > 1) qsort(sc.c, sc.n, sizeof *sc.c, cmp_cand);
        for (size_t i = 0; i < sc.n && !stop_requested; i++) {
            km_detect_opts o = {0};
            o.rules = rs;
            o.matcher = m;
            o.writer = w;
            o.jobs = 1;
            o.include_event = include_event;
            o.diag = stderr;
            o.program = prog;
            km_run_stats rst;
            char *inputs[1] = {sc.c[i].full};
            /* verify helper: the sealed stream's position is taken with the output's length */
            if (km_detect_run(&o, inputs, 1, &rst) || (sealf && km_seal_file_position(sealf, st.seal_pos)) ||
                fflush(out) || (output && fsync(fileno(out)))) {
                fprintf(stderr, "kumomori watch: cannot write the output: %s\n", strerror(errno));
                status = 2;
                stop_requested = 1;
                break;
            }
            if (rst.regex_limit_hits)
                fprintf(stderr,
                        "kumomori watch: warning: %s: %llu regular-expression test%s of Sigma rules stopped at PCRE2's "
                        "match limit and counted as no match (first in rule %s): those records may have been missed\n",
                        sc.c[i].rel, (unsigned long long)rst.regex_limit_hits, rst.regex_limit_hits == 1 ? "" : "s",
                        rst.regex_limit_rule ? rst.regex_limit_rule : "?");
            st.files++;
            st.records += rst.records;
            st.alerts += rst.alerts;
            st.input_errors += rst.input_errors;
            if (output) {
                struct stat ost;
                if (fstat(fileno(out), &ost) == 0) st.out_bytes = (uint64_t)ost.st_size;
            }
            /* the state is saved every few seconds and when caught up, not after every file: a
             * restart redoes the files since the last save (after cutting the output back) */
            int last = i + 1 == sc.n;
            int64_t tnow = now_ns();
            int save = last || ++unsaved >= (size_t)checkpoint || tnow - last_save_ns >= (int64_t)5 * 1000000000;
            if (done_add(&st, sc.c[i].rel, sc.c[i].mtime_ns, sc.c[i].size) || (save && state_save(state_path, &st, prog, dir))) {
                fprintf(stderr, "kumomori watch: cannot save the state to %s: %s\n", state_path, strerror(errno));
                status = 2;
                stop_requested = 1;
                break;
            }
            if (save) {
                unsaved = 0;
                last_save_ns = tnow;
            }
        }
        /* stopped in the middle of a batch (SIGTERM): save what is done */
        if (unsaved && status == 0 && state_save(state_path, &st, prog, dir)) status = 2;
        unsaved = 0;
        int had_work = sc.n > 0;
        int64_t oldest = sc.oldest_pending_ns;
        size_t unsettled = sc.unsettled;
        scan_free(&sc);
        if (status) break;
        if (once) {
            if (!had_work && state_save(state_path, &st, prog, dir)) status = 2;
            break;
        }
        time_t t = time(NULL);
        if (stats && (t - last_stats >= interval || had_work)) {
            km_corr_stats cs;
            km_program_stats(prog, &cs);
            double lag = oldest ? (double)(now_ns() - oldest) / 1e9 : 0;
            fprintf(stderr, "kumomori watch: %" PRIu64 " files, %" PRIu64 " records, %" PRIu64 " alerts, %zu waiting to settle, "
                            "%" PRIu64 " groups, %" PRIu64 " evicted, lag %.0fs\n",
                    st.files, st.records, st.alerts, unsettled, cs.groups, cs.evicted_groups, had_work ? 0.0 : lag);
            last_stats = t;
        }
        if (had_work) continue; /* more may have come meanwhile */
        if (sealf) { /* verify helper: sign what came since the last signature, when due */
            int signed_now = km_seal_file_tick(sealf, &err);
            if (signed_now < 0 || (signed_now > 0 && seal_commit(sealf, out, output, &st, state_path, prog, dir))) {
                fprintf(stderr, "kumomori watch: cannot write the sealed output\n");
                status = 2;
                break;
            }
        }
        /* wait for inotify, the settle time of a waiting file, or the rescan interval */
        int timeout = (int)interval * 1000;
        if (unsettled && settle * 1000 + 100 < timeout) timeout = (int)settle * 1000 + 100;
        if (ifd >= 0) {
            struct pollfd pfd = {ifd, POLLIN, 0};
            int pr = poll(&pfd, 1, timeout);
            if (pr > 0) {
                char buf[16384];
                while (read(ifd, buf, sizeof buf) > 0) {}
                watch_dirs(ifd, dir, 0, &nwatch); /* new folders (a new day) */
            }
        } else {
            struct timespec ts = {timeout / 1000, (long)(timeout % 1000) * 1000000};
            nanosleep(&ts, NULL);
        }
    }
    if (sealf && status == 0) { /* verify helper: the final signature, and a state that says so */
        if (km_seal_file_finish(sealf, &err) || seal_commit(sealf, out, output, &st, state_path, prog, dir)) {
            fprintf(stderr, "kumomori watch: cannot finish the sealed output\n");
            status = 2;
        }
    }
    if (stop_requested && status == 0 && !once) fprintf(stderr, "kumomori watch: stopped; state saved in %s\n", state_path);
done:
    if (ifd >= 0) close(ifd);
    km_writer_free(w);
    if (status == 0) km_seal_file_close(sealf, NULL); /* verify helper (finished above) */
    else km_seal_file_abort(sealf);                 /* an error: the stream stays unfinished */
    km_seal_key_free(seal_key);
    if (out && out != stdout) fclose(out);
    km_matcher_free(m);
    km_program_free(prog);
    km_ruleset_free(rs);
    state_free(&st);
    free(rule_paths);
    free(placeholders);
    return status;
}
