/* Detection pipeline (detect.h).
 *
 * Threads: workers take files in list order and turn each into a queue of batches (alerts and
 * messages, strings in the batch's arena); the calling thread hands the batches of the oldest
 * unfinished file to the writer, then moves to the next file once it is done. So the output is in
 * input order for any -j, and memory stays bounded: a worker whose file is not the oldest stops
 * when its queue holds more than QUEUE_CAP bytes, and no worker runs more than WINDOW files ahead
 * of the writer. */
#include "detect/detect.h"
#include "kumomori/json.h"
#include "util/arena.h"
#include "util/limits.h"
#include "util/term.h"
#include "util/walk.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define BATCH_ITEMS 256
#define BATCH_BYTES ((size_t)1 << 20)
#define QUEUE_CAP ((size_t)2 << 20)
#define BATCH_TICKS 4096 /* sigma helper: event-time ticks a batch holds (a trail without alerts has only ticks) */

_Static_assert(KM_SKIP_REASONS <= sizeof(((km_run_stats *)0)->skipped) / sizeof(uint64_t),
               "km_run_stats.skipped has a slot per skip reason");

/* ---- the list of inputs ---- */

typedef struct entry {
    char *path;
    int is_stdin;
    km_skip_reason pre;   /* known before reading: unreadable folder, digest by name */
    char *pre_msg;
    char dkey[16];        /* sigma helper: CloudTrail's delivery time from the name, for the order */
} entry;

typedef struct entries {
    entry *e;
    size_t n, cap;
    uint64_t ignored;     /* files in folders whose names are not trail files */
    int oom;
} entries;

static void add_entry(entries *l, const char *path, int is_stdin, km_skip_reason pre, const char *msg) {
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 64;
        entry *p = realloc(l->e, ncap * sizeof *p);
        if (!p) { l->oom = 1; return; }
        l->e = p;
        l->cap = ncap;
    }
    entry *e = &l->e[l->n];
    e->path = strdup(path);
    e->is_stdin = is_stdin;
    e->pre = pre;
    e->pre_msg = msg ? strdup(msg) : NULL;
    e->dkey[0] = 0;
    if (!e->path || (msg && !e->pre_msg)) {
        free(e->path);
        free(e->pre_msg);
        l->oom = 1;
        return;
    }
    l->n++;
}

static int has_suffix(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

static int trail_file_name(const char *path) {
    static const char *const sfx[] = {".json", ".json.gz", ".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz"};
    for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++)
        if (has_suffix(path, sfx[i])) return 1;
    return 0;
}

static int on_walk(void *ctx, const char *path, int errnum) {
    entries *l = ctx;
    if (errnum) {
        char msg[300];
        snprintf(msg, sizeof msg, "cannot read: %s", strerror(errnum));
        add_entry(l, path, 0, KM_SKIP_UNREADABLE, msg);
        return 0;
    }
    if (strstr(path, "CloudTrail-Digest")) {
        add_entry(l, path, 0, KM_SKIP_DIGEST, "CloudTrail digest file (skipped; 'kumomori verify' checks digests)");
        return 0;
    }
    if (!trail_file_name(path)) {
        l->ignored++;
        return 0;
    }
    add_entry(l, path, 0, KM_SKIP_NONE, NULL);
    return 0;
}

/* sigma helper: CloudTrail's delivery time in a file name ("..._20230710T1145Z_..."), or "" */
static void delivery_key(const char *path, char key[16]) {
    key[0] = 0;
    const char *base = strrchr(path, '/');
    for (const char *p = base ? base : path; *p; p++) {
        if (p[0] != '_' || strlen(p) < 16 || p[9] != 'T' || p[14] != 'Z') continue;
        int ok = 1;
        for (int k = 1; k <= 13; k++)
            if (k != 9 && (p[k] < '0' || p[k] > '9')) ok = 0;
        if (ok) {
            memcpy(key, p + 1, 14);
            key[14] = 0;
        }
    }
}

static int cmp_delivery(const void *a, const void *b) {
    const entry *x = a, *y = b;
    int c = strcmp(x->dkey, y->dkey);
    return c ? c : strcmp(x->path, y->path);
}

static void list_inputs(entries *l, char *const *inputs, size_t n, int by_delivery) {
    for (size_t i = 0; i < n; i++) {
        const char *p = inputs[i];
        struct stat st;
        if (strcmp(p, "-") == 0) {
            add_entry(l, "-", 1, KM_SKIP_NONE, NULL);
        } else if (stat(p, &st) != 0) {
            char msg[300];
            snprintf(msg, sizeof msg, "cannot read: %s", strerror(errno));
            add_entry(l, p, 0, KM_SKIP_UNREADABLE, msg);
        } else if (S_ISDIR(st.st_mode)) {
            size_t first = l->n;
            km_walk(p, on_walk, l);
            /* sigma helper: with thresholds and correlations, a folder's files go in CloudTrail's
             * delivery order (the time in their names) rather than region by region, so that
             * events reach the windows nearly in event-time order */
            if (by_delivery && l->n - first > 1) {
                /* each name's key read once, not at every comparison */
                for (size_t k = first; k < l->n; k++) delivery_key(l->e[k].path, l->e[k].dkey);
                qsort(l->e + first, l->n - first, sizeof *l->e, cmp_delivery);
            }
        } else if (strstr(p, "CloudTrail-Digest")) {
            add_entry(l, p, 0, KM_SKIP_DIGEST, "CloudTrail digest file (skipped; 'kumomori verify' checks digests)");
        } else {
            add_entry(l, p, 0, KM_SKIP_NONE, NULL); /* named explicitly: read whatever its name */
        }
    }
}

/* ---- batches: what a worker hands to the writer ---- */

typedef struct item {
    int is_note;
    km_skip_reason reason;
    km_alert alert;
    km_note note;
    km_program_hit *hit;      /* sigma helper: what thresholds/correlations read (NULL: nothing) */
    int same_event;           /* sigma helper: not the first alert of its record */
    uint32_t ticks_before;    /* sigma helper: the batch's ticks [previous item's, this) come before it */
} item;

/* sigma helper: the ticks (event time reached t, in input order) are kept apart from the items:
 * there is one for nearly every second of event time, most with no alert between them, and an
 * item (an alert's worth of fields, zeroed) for each was a third of the light path's cost. Each
 * item notes how many ticks precede it; the ticks after the last item follow it. */
typedef struct batch {
    km_arena arena;
    item *items;
    size_t n, cap;
    int64_t *ticks;
    size_t nticks, capticks;
    struct batch *next;
} batch;

static batch *batch_new(void) {
    batch *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    km_arena_init(&b->arena, 0);
    return b;
}

static void batch_free(batch *b) {
    if (!b) return;
    km_arena_free(&b->arena);
    free(b->items);
    free(b->ticks);
    free(b);
}

static item *batch_push(batch *b) {
    if (b->n == b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 32;
        item *p = realloc(b->items, ncap * sizeof *p);
        if (!p) return NULL;
        b->items = p;
        b->cap = ncap;
    }
    item *it = &b->items[b->n++];
    memset(it, 0, sizeof *it);
    it->ticks_before = (uint32_t)b->nticks;
    return it;
}

static size_t batch_size(const batch *b) { return b->arena.total + b->cap * sizeof(item) + b->capticks * sizeof(int64_t); }

/* ---- shared state ---- */

typedef struct slot {
    batch *head, *tail;
    size_t queued;            /* bytes in the queue */
    int done;
    int full_waiter;          /* a worker waits for this file's turn (its queue is over the cap) */
    uint64_t records, bytes, skipped[KM_SKIP_REASONS];
    int opened;
} slot;

typedef struct run {
    const km_detect_opts *o;
    entries list;
    slot *slots;
    size_t next_file;         /* next file a worker takes */
    size_t emit;              /* oldest file not yet fully written */
    size_t window;
    /* Who sleeps, so that a thread is woken only when the sleeper can go on (each wake-up of a
     * sleeping thread costs a system call on both sides and, on a virtual machine, an
     * interrupt: they were a tenth of a -j1 run's CPU time when every batch and every file
     * woke the writer, and every batch written woke the workers) */
    int main_waiting;
    size_t window_waiters;
    pthread_mutex_t mu;
    pthread_cond_t wake_main, wake_workers;
    atomic_ullong records, bytes, alerts;
    atomic_int oom; /* harden helper: an alert, note or tick was lost for want of memory */
} run;

typedef struct worker {
    run *r;
    km_match_scratch *scratch;
    km_program_scratch *pscratch; /* sigma helper */
    int stateful;                 /* sigma helper: report event time to the thresholds */
    km_arena light;               /* sigma helper: fields read by the fast path */
    km_buf ctxbuf;                /* sigma helper: a hit's alert JSON is built here */
    int64_t maxt, last_tick;      /* sigma helper */
    /* Records and alerts not yet added to the run's counters (for the progress line): added every
     * 1,024 records (every record of standard input) and at the end of a file. An atomic add per record and per alert stalled the
     * worker (a locked instruction waits for every store before it, an alert's many among them):
     * 1.6% of an everything -j1 run's samples were on the one after light_alerts' fill. */
    uint64_t unpub_records, unpub_alerts;
    batch *cur;
    size_t idx;
    km_buf tmp;
    km_input *in;             /* reused for every file (not standard input) */
    km_reader *rd;
} worker;

/* Hand the current batch to the file's queue; wait while the queue is over its cap and the file is
 * not the one being written. */
static void hand_over(worker *w, int last) {
    run *r = w->r;
    slot *s = &r->slots[w->idx];
    batch *b = w->cur;
    w->cur = NULL;
    pthread_mutex_lock(&r->mu);
    if (b && (b->n || b->nticks)) {
        if (s->tail) s->tail->next = b;
        else s->head = b;
        s->tail = b;
        s->queued += batch_size(b);
        b = NULL;
    }
    if (last) s->done = 1;
    int full = !last && s->queued > QUEUE_CAP && r->emit != w->idx;
    /* The writer is woken when this worker is about to wait for it, when the input is a stream
     * (its alerts are due now), when this file is the one being written and its queue has grown
     * large, or when this file ends the first half of the window of files (they are written
     * while the workers fill the other half, so that no worker waits for the writer; woken at
     * the first of them, the writer would wake at every file) */
    if (r->main_waiting && (full || r->list.e[w->idx].is_stdin || (r->emit == w->idx && s->queued > QUEUE_CAP / 2) ||
                            (last && w->idx + 1 >= r->emit + r->window / 2)))
        pthread_cond_signal(&r->wake_main);
    while (full) {
        s->full_waiter = 1;
        pthread_cond_wait(&r->wake_workers, &r->mu);
        full = s->queued > QUEUE_CAP && r->emit != w->idx;
    }
    s->full_waiter = 0;
    pthread_mutex_unlock(&r->mu);
    batch_free(b);
}

static item *new_item(worker *w) {
    if (w->cur && (w->cur->n >= BATCH_ITEMS || batch_size(w->cur) >= BATCH_BYTES)) hand_over(w, 0);
    if (!w->cur && !(w->cur = batch_new())) return NULL;
    return batch_push(w->cur);
}

/* sigma helper: event time reached t (after the items so far). 0, or -1 out of memory. */
static int new_tick(worker *w, int64_t t) {
    if (w->cur && w->cur->nticks >= BATCH_TICKS) hand_over(w, 0);
    if (!w->cur && !(w->cur = batch_new())) return -1;
    batch *b = w->cur;
    if (b->nticks == b->capticks) {
        size_t nc = b->capticks ? b->capticks * 2 : 64;
        int64_t *nt = realloc(b->ticks, nc * sizeof *nt);
        if (!nt) return -1;
        b->ticks = nt;
        b->capticks = nc;
    }
    b->ticks[b->nticks++] = t;
    return 0;
}

static const char *input_name(const worker *w) {
    const entry *e = &w->r->list.e[w->idx];
    return e->is_stdin ? "-" : e->path;
}

static void note(worker *w, km_skip_reason why, uint64_t offset, const char *msg) {
    slot *s = &w->r->slots[w->idx];
    s->skipped[why]++;
    item *it = new_item(w);
    if (!it) {
        atomic_store(&w->r->oom, 1);
        return;
    }
    it->is_note = 1;
    it->reason = why;
    it->note.input = input_name(w);
    it->note.offset = offset;
    it->note.is_error = km_skip_is_error(why);
    it->note.message = km_arena_strndup(&w->cur->arena, msg, strlen(msg));
    if (!it->note.message) w->cur->n--;
}

static const char *dup_str(km_arena *a, const km_json *v) {
    if (!v || v->type != KM_JSON_STRING) return NULL;
    return km_arena_strndup(a, v->u.str.s, strlen(v->u.str.s));
}

/* The alert's fields from the record (parsed again, only for records that matched). */
static void fill_alert(worker *w, km_alert *a, const km_json *root) {
    km_arena *ar = &w->cur->arena;
    a->event_time = dup_str(ar, km_json_get(root, "eventTime"));
    a->event_id = dup_str(ar, km_json_get(root, "eventID"));
    a->event_name = dup_str(ar, km_json_get(root, "eventName"));
    a->event_source = dup_str(ar, km_json_get(root, "eventSource"));
    a->aws_region = dup_str(ar, km_json_get(root, "awsRegion"));
    a->account = dup_str(ar, km_json_get(root, "recipientAccountId"));
    a->source_ip = dup_str(ar, km_json_get(root, "sourceIPAddress"));
    a->user_agent = dup_str(ar, km_json_get(root, "userAgent"));
    a->error_code = dup_str(ar, km_json_get(root, "errorCode"));
    const km_json *ui = km_json_get(root, "userIdentity");
    static const char *const principal_keys[] = {"arn", "invokedBy", "principalId", "type"};
    for (size_t i = 0; i < 4 && !a->principal; i++) a->principal = dup_str(ar, km_json_get(ui, principal_keys[i]));
    const km_json *res = km_json_get(root, "resources");
    size_t nr = km_json_len(res);
    if (res && res->type == KM_JSON_ARRAY && nr) {
        const char **list = km_arena_alloc(ar, nr * sizeof *list);
        size_t k = 0;
        for (size_t i = 0; list && i < nr; i++) {
            const km_json *it = km_json_at(res, i);
            const char *arn = dup_str(ar, km_json_get(it, "ARN"));
            if (!arn) arn = dup_str(ar, km_json_get(it, "arn"));
            if (arn) list[k++] = arn;
        }
        a->resources = list;
        a->nresources = list ? k : 0;
    }
    if (w->r->o->include_event) {
        km_buf_reset(&w->tmp);
        if (km_json_write(&w->tmp, root) == 0) {
            a->record = km_arena_strndup(ar, w->tmp.data, w->tmp.len);
            a->record_len = a->record ? w->tmp.len : 0;
        }
    }
}

/* sigma helper: records whose matched rules need no tree (patterns, Sigma rules their patterns decide)
 * have their alert fields read from the text */
static int light_alerts(worker *w, const km_record *rec, const uint32_t *ids, int n) {
    run *r = w->r;
    const entry *e = &r->list.e[w->idx];
    /* the extracted fields live until the alerts are filled (copied into the batch's arena): the
     * arena is emptied for every record and keeps its memory */
    km_arena_reset(&w->light);
    km_light l;
    if (km_program_light_extract(r->o->program, r->o->matcher, w->scratch, rec->data, rec->len, ids, n, &w->light, &l))
        return -1;
    for (int i = 0; i < n; i++) {
        item *it = new_item(w);
        if (!it) {
            atomic_store(&r->oom, 1);
            break;
        }
        km_alert *a = &it->alert;
        a->rule = km_ruleset_get(r->o->rules, ids[i]);
        a->rule_index = ids[i];
        a->input = input_name(w);
        a->offset = rec->offset;
        a->gzip = e->is_stdin ? 0 : has_suffix(e->path, ".gz");
        if (w->cur->n == 1) l.ctx = NULL; /* a new batch (perhaps at a freed one's address): nothing to share */
        km_program_light_fill(r->o->program, &l, (size_t)i, &w->cur->arena, a, &it->hit, &w->ctxbuf);
        if (w->cur->arena.failed || w->light.failed) atomic_store(&r->oom, 1); /* harden helper: fields lost */
        it->same_event = i > 0;
        w->unpub_alerts++;
    }
    return 0;
}

static const char *reason_only(const char *msg);

static void raise_alerts(worker *w, const km_record *rec, const uint32_t *ids, int n) {
    run *r = w->r;
    if (r->o->program && !r->o->include_event && km_program_light(r->o->program, ids, n) && light_alerts(w, rec, ids, n) == 0)
        return; /* sigma helper */
    km_json_opts jo = {0};
    jo.replace_invalid_utf8 = 1;
    jo.max_string = r->o->limits.max_record ? r->o->limits.max_record : km_limit(KM_LIMIT_RECORD, (size_t)8 << 20);
    km_error err;
    km_json_doc *doc = km_json_parse(rec->data, rec->len, &jo, NULL, &err);
    if (!doc && err.code == KM_ENOMEM) atomic_store(&r->oom, 1); /* alerts without their fields */
    if (!doc && err.code != KM_ENOMEM) {
        /* Invalid JSON in a part no pattern reads (the matcher checked the rest): the record is
         * skipped and reported like one the matcher rejects, whatever the rules that matched it
         * (no alert, nothing fed to thresholds; the light path's reader checks as strictly) */
        char msg[1200];
        uint64_t at = rec->offset + (err.offset != (size_t)-1 ? err.offset : 0);
        km_skip_reason why = err.code == KM_ELIMIT ? KM_SKIP_TOO_LARGE : KM_SKIP_INVALID_JSON;
        snprintf(msg, sizeof msg, "%s at byte %llu (in the record that begins at byte %llu): %s; record skipped",
                 why == KM_SKIP_INVALID_JSON ? "invalid JSON" : "record over a limit", (unsigned long long)at,
                 (unsigned long long)rec->offset, reason_only(err.msg));
        note(w, why, at, msg);
        w->r->slots[w->idx].records--; /* counted as skipped, not as a record read */
        w->unpub_records--;             /* counted in this record's turn: not yet added */
        return;
    }
    const km_json *root = km_json_root(doc);
    const entry *e = &r->list.e[w->idx];
    /* sigma helper: Sigma rules are decided on the parsed record */
    if (r->o->program) n = km_program_select(r->o->program, w->pscratch, root, ids, n, &ids);
    for (int i = 0; i < n; i++) {
        item *it = new_item(w);
        if (!it) {
            atomic_store(&r->oom, 1);
            break;
        }
        if (r->o->program) { /* sigma helper */
            it->hit = km_program_make_hit(r->o->program, ids[i], root, &w->cur->arena);
            it->same_event = i > 0;
        }
        km_alert *a = &it->alert;
        a->rule = km_ruleset_get(r->o->rules, ids[i]);
        a->rule_index = ids[i];
        a->input = input_name(w);
        a->offset = rec->offset;
        a->gzip = e->is_stdin ? 0 : has_suffix(e->path, ".gz");
        if (root) fill_alert(w, a, root);
        if (it->hit) km_program_hit_ctx(it->hit, a, &w->cur->arena, &w->ctxbuf); /* sigma helper: built here, in parallel */
        if (w->cur->arena.failed || w->tmp.failed || w->ctxbuf.failed) atomic_store(&r->oom, 1); /* harden helper: fields lost */
        w->unpub_alerts++;
    }
    km_json_doc_free(doc);
}

/* The matcher's message for invalid JSON starts "invalid JSON at byte N: why" (or "... at byte N
 * (line L, column C): why"), counting from the record; the user needs the position in the file,
 * which the caller gives, so only the why is kept. */
static const char *reason_only(const char *msg) {
    static const char prefix[] = "invalid JSON at byte ";
    if (strncmp(msg, prefix, sizeof prefix - 1) != 0) return msg;
    const char *p = strstr(msg + sizeof prefix - 1, ": ");
    return p ? p + 2 : msg;
}

static void publish_counts(worker *w) {
    if (w->unpub_records) atomic_fetch_add_explicit(&w->r->records, w->unpub_records, memory_order_relaxed);
    if (w->unpub_alerts) atomic_fetch_add_explicit(&w->r->alerts, w->unpub_alerts, memory_order_relaxed);
    w->unpub_records = w->unpub_alerts = 0;
}

static void process_file(worker *w) {
    run *r = w->r;
    const km_detect_opts *o = r->o;
    slot *s = &r->slots[w->idx];
    const entry *e = &r->list.e[w->idx];
    char msg[800];
    if (e->pre != KM_SKIP_NONE) {
        note(w, e->pre, (uint64_t)-1, e->pre_msg ? e->pre_msg : "skipped");
        return;
    }
    km_error err;
    /* The worker's source and reader are reused from file to file: no fresh buffers, no new
     * decompressor, for each of the thousands of small files of a trail. */
    km_input *in = w->in;
    if (in && !e->is_stdin && km_input_reopen(in, e->path, &err) != KM_OK) in = NULL;
    else if (!in || e->is_stdin) in = km_input_open(e->path, &err);
    if (in && !e->is_stdin && !w->in) w->in = in;
    if (!in) {
        /* km_input_open names the file; the message is printed after the name already. */
        const char *m = err.msg;
        size_t pl = strlen(e->path);
        if (strncmp(m, e->path, pl) == 0 && m[pl] == ':') m += pl + 2;
        note(w, KM_SKIP_UNREADABLE, (uint64_t)-1, m);
        return;
    }
    s->opened = 1;
    if (w->rd) km_reader_reset(w->rd, in);
    else w->rd = km_reader_new(in, &o->limits);
    km_reader *rd = w->rd;
    if (!rd) {
        note(w, KM_SKIP_UNREADABLE, (uint64_t)-1, "out of memory");
        if (in != w->in) km_input_close(in);
        return;
    }
    km_record rec;
    int rc;
    uint64_t last_bytes = 0;
    while ((rc = km_reader_next(rd, &rec, &err)) != KM_READ_END) {
        if (rc == KM_READ_SKIP) {
            note(w, rec.skip, rec.offset, err.msg);
            continue;
        }
        size_t bad = km_utf8_check((const unsigned char *)rec.data, rec.len);
        if (bad < rec.len) {
            snprintf(msg, sizeof msg, "invalid UTF-8 at byte %llu (in the record that begins at byte %llu); record skipped",
                     (unsigned long long)rec.offset + bad, (unsigned long long)rec.offset);
            note(w, KM_SKIP_INVALID_UTF8, rec.offset + bad, msg);
            continue;
        }
        const uint32_t *ids;
        int n = km_matcher_match(o->matcher, w->scratch, rec.data, rec.len, &ids, &err);
        if (n < 0) {
            uint64_t at = rec.offset + (err.offset != (size_t)-1 ? err.offset : 0);
            km_skip_reason why = err.code == KM_ELIMIT ? KM_SKIP_TOO_DEEP : KM_SKIP_INVALID_JSON;
            if (err.code == KM_ELIMIT && strstr(err.msg, "fields")) why = KM_SKIP_TOO_MANY_FIELDS; /* harden helper */
            if (err.code == KM_ENOMEM) why = KM_SKIP_TOO_LARGE;
            snprintf(msg, sizeof msg, "%s at byte %llu (in the record that begins at byte %llu): %s; record skipped",
                     why == KM_SKIP_INVALID_JSON ? "invalid JSON" : "record over a limit", (unsigned long long)at,
                     (unsigned long long)rec.offset, reason_only(err.msg));
            note(w, why, at, msg);
            continue;
        }
        s->records++;
        w->unpub_records++;
        if (w->stateful) { /* sigma helper: event time moves windows on, even without a match */
            int64_t t = km_program_match_time(o->program, o->matcher, w->scratch, rec.data, rec.len);
            if (t > w->maxt) w->maxt = t;
            if (w->maxt >= w->last_tick + 1000) {
                if (new_tick(w, w->maxt) == 0) w->last_tick = w->maxt;
                else atomic_store(&r->oom, 1);
            }
        }
        if (n > 0 || (o->program && km_program_sees_all(o->program))) raise_alerts(w, &rec, ids, n); /* sigma helper */
        if ((s->records & 1023) == 0 || e->is_stdin) { /* a stream may be slow: its progress is shown as it goes */
            uint64_t b = km_reader_bytes(rd);
            atomic_fetch_add_explicit(&r->bytes, b - last_bytes, memory_order_relaxed);
            last_bytes = b;
            publish_counts(w);
        }
    }
    s->bytes = km_reader_bytes(rd);
    atomic_fetch_add_explicit(&r->bytes, s->bytes - last_bytes, memory_order_relaxed);
    publish_counts(w);
    if (in != w->in) km_input_close(in); /* standard input */
}

static void *worker_main(void *arg) {
    worker *w = arg;
    run *r = w->r;
    for (;;) {
        pthread_mutex_lock(&r->mu);
        while (r->next_file < r->list.n && r->next_file >= r->emit + r->window) {
            if (r->main_waiting) pthread_cond_signal(&r->wake_main);
            r->window_waiters++;
            pthread_cond_wait(&r->wake_workers, &r->mu);
            r->window_waiters--;
        }
        if (r->next_file >= r->list.n) {
            if (r->main_waiting) pthread_cond_signal(&r->wake_main); /* no more files for this worker */
            pthread_mutex_unlock(&r->mu);
            break;
        }
        w->idx = r->next_file++;
        pthread_mutex_unlock(&r->mu);
        process_file(w);
        hand_over(w, 1);
    }
    return NULL;
}

/* ---- the writing side (the calling thread) ---- */

typedef struct emitter {
    run *r;
    km_run_stats *st;
    size_t printed;          /* messages printed for the current input */
    uint64_t suppressed;
    int progress_shown;
    int write_failed;
    struct timespec t0;
} emitter;

static double elapsed(const struct timespec *t0) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static void clear_progress(emitter *em) {
    if (!em->progress_shown) return;
    fputs("\r\033[K", em->r->o->diag);
    em->progress_shown = 0;
}

static void show_progress(emitter *em) {
    run *r = em->r;
    double t = elapsed(&em->t0);
    if (!r->o->progress || t < 1.0) return;
    unsigned long long rec = atomic_load(&r->records), by = atomic_load(&r->bytes), al = atomic_load(&r->alerts);
    fprintf(r->o->diag, "\r\033[Kkumomori detect: file %zu/%zu, %llu records, %llu alerts, %.0f MB/s",
            r->emit < r->list.n ? r->emit + 1 : r->list.n, r->list.n, rec, al, (double)by / 1e6 / t);
    fflush(r->o->diag);
    em->progress_shown = 1;
}

/* sigma helper: the batch's ticks [*from, to), in order */
static void emit_ticks(emitter *em, const batch *b, size_t *from, size_t to) {
    const km_detect_opts *o = em->r->o;
    for (; *from < to; (*from)++) {
        long k = em->write_failed ? 0 : km_program_tick(o->program, b->ticks[*from], o->writer);
        if (k < 0) em->write_failed = 1;
        else em->st->alerts += (uint64_t)k;
    }
}

static void emit_items(emitter *em, batch *b) {
    run *r = em->r;
    const km_detect_opts *o = r->o;
    size_t cap = o->max_messages_per_input ? o->max_messages_per_input : 10;
    size_t tk = 0; /* sigma helper: ticks done */
    for (size_t i = 0; i < b->n; i++) {
        item *it = &b->items[i];
        emit_ticks(em, b, &tk, it->ticks_before); /* sigma helper */
        if (!it->is_note) {
            if (o->program) { /* sigma helper: hidden rules, thresholds and correlations */
                long k = em->write_failed ? 0 : km_program_alert(o->program, &it->alert, it->hit, it->same_event, o->writer);
                if (k < 0) em->write_failed = 1;
                else em->st->alerts += (uint64_t)k;
                continue;
            }
            em->st->alerts++;
            if (!em->write_failed && km_writer_alert(o->writer, &it->alert)) em->write_failed = 1;
            continue;
        }
        km_writer_note(o->writer, &it->note);
        if (!it->note.is_error && !o->verbose) continue;
        /* Whole-input problems are always shown; per-record ones are capped per input. */
        int whole = it->reason == KM_SKIP_UNREADABLE || it->reason == KM_SKIP_EMPTY || it->reason == KM_SKIP_GZIP ||
                    it->reason == KM_SKIP_TRUNCATED;
        if (!whole && em->printed >= cap) { em->suppressed++; continue; }
        em->printed++;
        clear_progress(em);
        char *tn = NULL, *tm = NULL; /* harden helper: a file's name is chosen by whoever wrote it */
        fprintf(o->diag, "kumomori detect: %s: %s\n", km_term_clean(strcmp(it->note.input, "-") ? it->note.input : "stdin", &tn),
                km_term_clean(it->note.message, &tm));
        free(tn);
        free(tm);
    }
    emit_ticks(em, b, &tk, b->nticks); /* sigma helper: the ticks after the last item */
}

static void finish_input(emitter *em, size_t idx) {
    run *r = em->r;
    slot *s = &r->slots[idx];
    if (em->suppressed) {
        clear_progress(em);
        const entry *e = &r->list.e[idx];
        fprintf(r->o->diag, "kumomori detect: %s: ... and %llu more problems\n", e->is_stdin ? "stdin" : e->path,
                (unsigned long long)em->suppressed);
    }
    em->printed = 0;
    em->suppressed = 0;
    em->st->inputs += (uint64_t)s->opened;
    em->st->records += s->records;
    em->st->bytes += s->bytes;
    for (int k = 0; k < KM_SKIP_REASONS; k++) {
        em->st->skipped[k] += s->skipped[k];
        if (km_skip_is_error((km_skip_reason)k)) em->st->input_errors += s->skipped[k];
    }
}

int km_detect_run(const km_detect_opts *o, char *const *inputs, size_t ninputs, km_run_stats *st) {
    memset(st, 0, sizeof *st);
    run r;
    memset(&r, 0, sizeof r);
    r.o = o;
    emitter em = {&r, st, 0, 0, 0, 0, {0, 0}};
    clock_gettime(CLOCK_MONOTONIC, &em.t0);
    list_inputs(&r.list, inputs, ninputs, o->program && km_program_stateful(o->program)); /* sigma helper */
    if (r.list.oom) fprintf(o->diag, "kumomori detect: out of memory listing the inputs; some were left out\n");
    int jobs = o->jobs > 0 ? o->jobs : 1;
    if ((size_t)jobs > r.list.n && r.list.n > 0) jobs = (int)r.list.n;
    r.window = (size_t)jobs * 2 + 2;
    r.slots = calloc(r.list.n ? r.list.n : 1, sizeof *r.slots);
    worker *ws = calloc((size_t)jobs, sizeof *ws);
    pthread_t *th = calloc((size_t)jobs, sizeof *th);
    int rc = 0;
    if (!r.slots || !ws || !th) {
        fprintf(o->diag, "kumomori detect: out of memory\n");
        rc = -1;
        goto out;
    }
    pthread_mutex_init(&r.mu, NULL);
    pthread_cond_init(&r.wake_main, NULL);
    pthread_cond_init(&r.wake_workers, NULL);
    int started = 0;
    for (int i = 0; i < jobs && r.list.n; i++) {
        ws[i].r = &r;
        ws[i].scratch = km_match_scratch_new();
        km_buf_init(&ws[i].tmp, 0);
        km_buf_init(&ws[i].ctxbuf, 0); /* sigma helper */
        if (o->program) ws[i].pscratch = km_program_scratch_new(); /* sigma helper */
        ws[i].stateful = o->program && km_program_stateful(o->program);
        if (!ws[i].scratch || (o->program && !ws[i].pscratch) || pthread_create(&th[i], NULL, worker_main, &ws[i]) != 0) {
            km_match_scratch_free(ws[i].scratch);
            ws[i].scratch = NULL;
            km_program_scratch_free(ws[i].pscratch);
            ws[i].pscratch = NULL;
            break;
        }
        started++;
    }
    if (!started && r.list.n) {
        fprintf(o->diag, "kumomori detect: cannot start a worker thread\n");
        rc = -1;
    }
    pthread_mutex_lock(&r.mu);
    while (started && r.emit < r.list.n) {
        slot *s = &r.slots[r.emit];
        if (s->head) {
            /* the whole queue at once: one lock for all the batches the file has so far (the
             * worker of the file being written never waits for its queue to shrink) */
            batch *b = s->head;
            s->head = s->tail = NULL;
            s->queued = 0;
            pthread_mutex_unlock(&r.mu);
            for (batch *nx; b; b = nx) {
                nx = b->next;
                emit_items(&em, b);
                batch_free(b);
            }
            pthread_mutex_lock(&r.mu);
            continue;
        }
        if (s->done) {
            pthread_mutex_unlock(&r.mu);
            finish_input(&em, r.emit);
            pthread_mutex_lock(&r.mu);
            r.emit++;
            /* workers waiting for room in the window are woken once half of it is free (not at
             * every file: they would take one file and wait again); one waiting for its file's
             * turn, when that turn has come */
            if ((r.window_waiters && r.next_file + r.window / 2 <= r.emit + r.window) ||
                (r.emit < r.list.n && r.slots[r.emit].full_waiter))
                pthread_cond_broadcast(&r.wake_workers);
            continue;
        }
        /* nothing to write: any worker that can go on must, before the writer sleeps */
        if (r.window_waiters && r.next_file < r.emit + r.window) pthread_cond_broadcast(&r.wake_workers);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 200 * 1000000L;
        if (until.tv_nsec >= 1000000000L) { until.tv_sec++; until.tv_nsec -= 1000000000L; }
        r.main_waiting = 1;
        int timed_out = pthread_cond_timedwait(&r.wake_main, &r.mu, &until) == ETIMEDOUT;
        r.main_waiting = 0;
        if (timed_out) {
            pthread_mutex_unlock(&r.mu);
            show_progress(&em);
            pthread_mutex_lock(&r.mu);
        }
    }
    pthread_cond_broadcast(&r.wake_workers); /* any worker still waiting has nothing left to take */
    pthread_mutex_unlock(&r.mu);
    for (int i = 0; i < started; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < jobs; i++) {
        km_match_scratch_free(ws[i].scratch);
        km_reader_free(ws[i].rd);
        km_input_close(ws[i].in);
        const char *lr = NULL;
        st->regex_limit_hits += km_program_scratch_limit_hits(ws[i].pscratch, &lr);
        if (lr && !st->regex_limit_rule) st->regex_limit_rule = lr;
        km_program_scratch_free(ws[i].pscratch); /* sigma helper */
        km_arena_free(&ws[i].light);
        km_buf_free(&ws[i].ctxbuf);
        km_buf_free(&ws[i].tmp);
        batch_free(ws[i].cur);
    }
    clear_progress(&em);
    pthread_cond_destroy(&r.wake_main);
    pthread_cond_destroy(&r.wake_workers);
    pthread_mutex_destroy(&r.mu);
    if (em.write_failed) rc = -1;
    if (atomic_load(&r.oom)) { /* harden helper */
        fprintf(o->diag, "kumomori detect: out of memory: some alerts or skipped-input notes were lost\n");
        st->input_errors++;
    }
    if (r.list.oom) st->input_errors++;
out:
    st->seconds = elapsed(&em.t0);
    st->ignored_files = r.list.ignored;
    for (size_t i = 0; r.slots && i < r.list.n; i++) {
        for (batch *b = r.slots[i].head, *nx; b; b = nx) {
            nx = b->next;
            batch_free(b);
        }
    }
    for (size_t i = 0; i < r.list.n; i++) {
        free(r.list.e[i].path);
        free(r.list.e[i].pre_msg);
    }
    free(r.list.e);
    free(r.slots);
    free(ws);
    free(th);
    return rc;
}
