/* Thresholds and correlations (src/corr) with timed event sequences. Each expectation is worked out
 * by hand from the rule's definition in docs/stateful.md. */
#include "test.h"
#include "corr/corr.h"

#include <stdlib.h>
#include <string.h>

typedef struct fired {
    uint32_t id[64];
    uint64_t count[64];
    char group[64][64];
    char eid[64][64];
    int64_t first[64], last[64];
    int n;
} fired;

static void on_fire(void *ctx, const km_corr_fire *f) {
    fired *x = ctx;
    if (x->n >= 64) return;
    x->id[x->n] = f->id;
    x->count[x->n] = f->count;
    snprintf(x->group[x->n], sizeof x->group[0], "%s", f->ngroup && f->group_vals[0] ? f->group_vals[0] : "-");
    snprintf(x->eid[x->n], sizeof x->eid[0], "%s", f->event_id ? f->event_id : "");
    x->first[x->n] = f->first_ms;
    x->last[x->n] = f->last_ms;
    x->n++;
}

#define MIN(m) ((int64_t)(m) * 60000)

/* Feed input id at minute `min` for user (field "user") with value (field "key"). */
static void hit(km_corr *e, fired *f, uint32_t id, double min, const char *user, const char *key, const char *eid) {
    const char *const *paths;
    size_t n = km_corr_fields(e, id, &paths);
    const char *vals[8] = {0};
    for (size_t i = 0; i < n && i < 8; i++) {
        if (!strcmp(paths[i], "user")) vals[i] = user;
        if (!strcmp(paths[i], "key")) vals[i] = key;
    }
    km_corr_hit h = {id, (int64_t)(min * 60000), vals, n, eid, eid, eid ? strlen(eid) : 0, 0};
    km_corr_feed(e, &h, on_fire, f);
}

static const char *USER[] = {"user"};

static km_corr *one(km_corr_type t, const uint32_t *inputs, size_t nin, int64_t span, km_count_cond c, int has_cond,
                    const char *value_field, uint64_t lateness, size_t max_groups) {
    km_corr_opts o = {0};
    o.lateness_ms = lateness;
    o.max_groups = max_groups;
    km_corr *e = km_corr_new(&o);
    km_corr_def d;
    memset(&d, 0, sizeof d);
    d.id = 100;
    d.type = t;
    d.inputs = inputs;
    d.ninputs = nin;
    d.group_by = USER;
    d.ngroup = 1;
    d.span_ms = (uint64_t)span;
    d.cond = c;
    d.has_cond = has_cond;
    d.value_field = value_field;
    km_error err;
    if (km_corr_add(e, &d, &err) != KM_OK || km_corr_finish(e, &err) != KM_OK) {
        printf("  %s\n", err.msg);
        km_corr_free(e);
        return NULL;
    }
    return e;
}

static km_count_cond gte(uint64_t n) {
    km_count_cond c;
    memset(&c, 0, sizeof c);
    c.has_gte = 1;
    c.gte = n;
    return c;
}

TEST(corr_event_count_fires_once_per_burst_per_group) {
    uint32_t in[] = {1};
    km_corr *e = one(KM_CORR_EVENT_COUNT, in, 1, MIN(10), gte(3), 1, NULL, 0, 0);
    CHECK(e);
    fired f = {0};
    hit(e, &f, 1, 0, "alice", NULL, "a1");
    hit(e, &f, 1, 1, "bob", NULL, "b1");
    hit(e, &f, 1, 2, "alice", NULL, "a2");
    CHECK_INT(f.n, 0);
    hit(e, &f, 1, 3, "alice", NULL, "a3");
    CHECK_INT(f.n, 1);
    CHECK_STR(f.group[0], "alice");
    CHECK_INT(f.count[0], 3);
    CHECK_STR(f.eid[0], "a3");
    CHECK_INT(f.first[0], MIN(0));
    CHECK_INT(f.last[0], MIN(3));
    /* the burst was consumed: two more are not enough */
    hit(e, &f, 1, 4, "alice", NULL, "a4");
    hit(e, &f, 1, 5, "alice", NULL, "a5");
    CHECK_INT(f.n, 1);
    hit(e, &f, 1, 6, "alice", NULL, "a6");
    CHECK_INT(f.n, 2);
    CHECK_STR(f.eid[1], "a6");
    /* unrelated input ids are ignored */
    hit(e, &f, 7, 6, "bob", NULL, "x");
    hit(e, &f, 7, 6, "bob", NULL, "y");
    CHECK_INT(f.n, 2);
    km_corr_free(e);
}

/* Group keys of every length: the lookup of an existing group builds short keys in a fixed
 * buffer, long ones (past 511 bytes) on the heap; both find their group, and two long keys that
 * differ only past the buffer's size are two groups. An absent group value is a group of its own. */
TEST(corr_event_count_groups_with_long_keys) {
    uint32_t in[] = {1};
    km_corr *e = one(KM_CORR_EVENT_COUNT, in, 1, MIN(10), gte(3), 1, NULL, 0, 0);
    CHECK(e);
    static char a[700], b[700], c[512];
    memset(a, 'x', sizeof a - 1);
    memcpy(b, a, sizeof b);
    b[600] = 'y';
    /* 511 bytes, the longest key the lookup buffer takes with its NUL, and the first 511 bytes of
     * a and b: a longer key cut to the buffer's size would find c's group */
    memset(c, 'x', sizeof c - 1);
    fired f = {0};
    hit(e, &f, 1, 0, a, NULL, "a1");
    hit(e, &f, 1, 0.1, b, NULL, "b1");
    hit(e, &f, 1, 0.2, c, NULL, "c1");
    hit(e, &f, 1, 0.3, NULL, NULL, "n1");
    hit(e, &f, 1, 1, a, NULL, "a2");
    hit(e, &f, 1, 1.1, b, NULL, "b2");
    hit(e, &f, 1, 1.2, c, NULL, "c2");
    hit(e, &f, 1, 1.3, NULL, NULL, "n2");
    CHECK_INT(f.n, 0);
    /* each group's third hit, within the 10 minutes: each fires once, in turn */
    const struct { const char *v; double t; const char *eid; } third[] = {
        {a, 2, "a3"}, {c, 2.1, "c3"}, {NULL, 2.2, "n3"}, {b, 2.3, "b3"}};
    for (int i = 0; i < 4; i++) {
        hit(e, &f, 1, third[i].t, third[i].v, NULL, third[i].eid);
        CHECK_INT(f.n, i + 1);
        CHECK_STR(f.eid[i], third[i].eid);
    }
    CHECK_INT(f.count[3], 3);
    km_corr_free(e);
}

TEST(corr_event_count_window_slides_on_event_time) {
    uint32_t in[] = {1};
    km_corr *e = one(KM_CORR_EVENT_COUNT, in, 1, MIN(10), gte(3), 1, NULL, 0, 0);
    fired f = {0};
    hit(e, &f, 1, 0, "u", NULL, "e0");
    hit(e, &f, 1, 6, "u", NULL, "e6");
    hit(e, &f, 1, 10.5, "u", NULL, "e10"); /* e0 is 10.5 min old: out of the window */
    CHECK_INT(f.n, 0);
    hit(e, &f, 1, 12, "u", NULL, "e12"); /* 6, 10.5, 12 */
    CHECK_INT(f.n, 1);
    CHECK_INT(f.first[0], MIN(6));
    /* exactly the span apart still counts (window [t-span, t]) */
    hit(e, &f, 1, 20, "u", NULL, "x1");
    hit(e, &f, 1, 25, "u", NULL, "x2");
    hit(e, &f, 1, 30, "u", NULL, "x3");
    CHECK_INT(f.n, 2);
    km_corr_free(e);
}

TEST(corr_gt_means_more_than) {
    uint32_t in[] = {1};
    km_count_cond c;
    memset(&c, 0, sizeof c);
    c.has_gt = 1;
    c.gt = 2;
    km_corr *e = one(KM_CORR_EVENT_COUNT, in, 1, MIN(60), c, 1, NULL, 0, 0);
    fired f = {0};
    hit(e, &f, 1, 0, "u", NULL, "1");
    hit(e, &f, 1, 1, "u", NULL, "2");
    CHECK_INT(f.n, 0);
    hit(e, &f, 1, 2, "u", NULL, "3");
    CHECK_INT(f.n, 1);
    km_corr_free(e);
}

TEST(corr_value_count_counts_distinct_values) {
    uint32_t in[] = {1};
    km_corr *e = one(KM_CORR_VALUE_COUNT, in, 1, MIN(5), gte(3), 1, "key", 0, 0);
    CHECK(e);
    fired f = {0};
    hit(e, &f, 1, 0, "u", "k1", "1");
    hit(e, &f, 1, 1, "u", "k1", "2");
    hit(e, &f, 1, 2, "u", "k2", "3");
    hit(e, &f, 1, 2.5, "u", NULL, "no value: not counted");
    CHECK_INT(f.n, 0);
    hit(e, &f, 1, 3, "v", "k3", "other group");
    CHECK_INT(f.n, 0);
    hit(e, &f, 1, 4, "u", "k3", "5");
    CHECK_INT(f.n, 1);
    CHECK_INT(f.count[0], 3);
    CHECK_INT(f.first[0], MIN(1)); /* k1 was last seen at minute 1 */
    /* sliding: k1 at 10, k2 at 12, k1 at 14 (refresh), k3 at 16: k1@14, k3@16 and k2@12 -> 3 within [11,16] */
    hit(e, &f, 1, 10, "u", "k1", "a");
    hit(e, &f, 1, 12, "u", "k2", "b");
    hit(e, &f, 1, 14, "u", "k1", "c");
    CHECK_INT(f.n, 1);
    hit(e, &f, 1, 16, "u", "k3", "d");
    CHECK_INT(f.n, 2);
    /* expiry: k1 at 30, k2 at 36, k3 at 37: k1 is 7 minutes old */
    hit(e, &f, 1, 30, "u", "k1", "e");
    hit(e, &f, 1, 36, "u", "k2", "f");
    hit(e, &f, 1, 37, "u", "k3", "g");
    CHECK_INT(f.n, 2);
    km_corr_free(e);
}

TEST(corr_out_of_order_within_lateness_equals_in_order) {
    uint32_t in[] = {1};
    /* the same five events, in order and shuffled; the window needs the right order to be 3 in 2 min */
    const double t_in[] = {0, 5, 6, 7, 20};
    const double t_sh[] = {6, 0, 20, 7, 5};
    const char *ids_in[] = {"a", "b", "c", "d", "e"};
    const char *ids_sh[] = {"c", "a", "e", "d", "b"};
    fired f1 = {0}, f2 = {0};
    km_corr *e1 = one(KM_CORR_EVENT_COUNT, in, 1, MIN(2), gte(3), 1, NULL, (uint64_t)MIN(30), 0);
    km_corr *e2 = one(KM_CORR_EVENT_COUNT, in, 1, MIN(2), gte(3), 1, NULL, (uint64_t)MIN(30), 0);
    for (int i = 0; i < 5; i++) hit(e1, &f1, 1, t_in[i], "u", NULL, ids_in[i]);
    for (int i = 0; i < 5; i++) hit(e2, &f2, 1, t_sh[i], "u", NULL, ids_sh[i]);
    CHECK_INT(f1.n, 0); /* everything waits for the 30-minute lateness */
    km_corr_flush(e1, on_fire, &f1);
    km_corr_flush(e2, on_fire, &f2);
    CHECK_INT(f1.n, 1);
    CHECK_INT(f2.n, 1);
    CHECK_STR(f1.eid[0], "d");
    CHECK_STR(f2.eid[0], "d");
    km_corr_stats st;
    km_corr_get_stats(e2, &st);
    CHECK_INT(st.late, 0);
    km_corr_free(e1);
    km_corr_free(e2);
    /* beyond the lateness: applied at once and counted */
    km_corr *e3 = one(KM_CORR_EVENT_COUNT, in, 1, MIN(2), gte(3), 1, NULL, (uint64_t)MIN(1), 0);
    fired f3 = {0};
    hit(e3, &f3, 1, 10, "u", NULL, "x");
    hit(e3, &f3, 1, 2, "u", NULL, "late");
    km_corr_get_stats(e3, &st);
    CHECK_INT(st.late, 1);
    km_corr_free(e3);
}

TEST(corr_temporal_any_order_same_group_within_span) {
    uint32_t in[] = {1, 2};
    km_count_cond none;
    memset(&none, 0, sizeof none);
    km_corr *e = one(KM_CORR_TEMPORAL, in, 2, MIN(60), none, 0, NULL, 0, 0);
    fired f = {0};
    hit(e, &f, 2, 0, "alice", NULL, "a-2");
    hit(e, &f, 1, 10, "bob", NULL, "b-1");
    CHECK_INT(f.n, 0);
    hit(e, &f, 1, 30, "alice", NULL, "a-1");
    CHECK_INT(f.n, 1);
    CHECK_STR(f.group[0], "alice");
    CHECK_INT(f.count[0], 2);
    hit(e, &f, 2, 80, "bob", NULL, "b-2"); /* 70 minutes after bob's first */
    CHECK_INT(f.n, 1);
    hit(e, &f, 1, 85, "bob", NULL, "b-1again");
    CHECK_INT(f.n, 2);
    km_corr_free(e);
}

TEST(corr_temporal_ordered_needs_the_order) {
    uint32_t in[] = {1, 2, 3};
    km_count_cond none;
    memset(&none, 0, sizeof none);
    km_corr *e = one(KM_CORR_TEMPORAL_ORDERED, in, 3, MIN(60), none, 0, NULL, 0, 0);
    fired f = {0};
    /* wrong order: 3, 2, 1 */
    hit(e, &f, 3, 0, "u", NULL, "3");
    hit(e, &f, 2, 1, "u", NULL, "2");
    hit(e, &f, 1, 2, "u", NULL, "1");
    CHECK_INT(f.n, 0);
    /* now 2 then 3 after the 1 at minute 2 */
    hit(e, &f, 2, 3, "u", NULL, "2b");
    CHECK_INT(f.n, 0);
    hit(e, &f, 3, 4, "u", NULL, "3b");
    CHECK_INT(f.n, 1);
    CHECK_INT(f.first[0], MIN(2));
    CHECK_STR(f.eid[0], "3b");
    /* the chain must fit in the span from its first step */
    hit(e, &f, 1, 100, "u", NULL, "1c");
    hit(e, &f, 2, 150, "u", NULL, "2c");
    hit(e, &f, 3, 170, "u", NULL, "3c");
    CHECK_INT(f.n, 1);
    /* a later start rescues it: 1 at 140, then 2 at 150 (again), 3 at 171 */
    hit(e, &f, 1, 140, "u", NULL, "1d");
    hit(e, &f, 2, 150.5, "u", NULL, "2d");
    hit(e, &f, 3, 171, "u", NULL, "3d");
    CHECK_INT(f.n, 2);
    km_corr_free(e);
    /* one event cannot be two steps */
    uint32_t in2[] = {1, 2};
    e = one(KM_CORR_TEMPORAL_ORDERED, in2, 2, MIN(60), none, 0, NULL, 0, 0);
    fired g = {0};
    const char *const *paths;
    size_t n = km_corr_fields(e, 1, &paths);
    const char *vals[] = {"u"};
    km_corr_hit h1 = {1, MIN(5), vals, n, "same", NULL, 0, 0};
    km_corr_hit h2 = {2, MIN(5), vals, n, "same", NULL, 0, 1};
    km_corr_feed(e, &h1, on_fire, &g);
    h2.nvals = km_corr_fields(e, 2, &paths);
    km_corr_feed(e, &h2, on_fire, &g);
    CHECK_INT(g.n, 0);
    h2.same_event = 0; /* another event at the same time does follow it */
    km_corr_feed(e, &h2, on_fire, &g);
    CHECK_INT(g.n, 1);
    km_corr_free(e);
}

/* Order is event time, not arrival: CloudTrail delivers the file with the first step after the one
 * with the second (another region, a later file). Within the lateness the sequence is the same
 * as in order; one event is still never two steps. */
TEST(corr_temporal_ordered_follows_event_time_not_arrival) {
    uint32_t in[] = {1, 2};
    km_count_cond none;
    memset(&none, 0, sizeof none);
    km_corr *e = one(KM_CORR_TEMPORAL_ORDERED, in, 2, MIN(60), none, 0, NULL, (uint64_t)MIN(30), 0);
    fired f = {0};
    hit(e, &f, 2, 20, "u", NULL, "delete-at-20"); /* arrives first */
    hit(e, &f, 1, 10, "u", NULL, "stop-at-10");   /* arrives second, happened first */
    km_corr_flush(e, on_fire, &f);
    CHECK_INT(f.n, 1);
    CHECK_STR(f.eid[0], "delete-at-20");
    CHECK_INT(f.first[0], MIN(10));
    km_corr_free(e);
    /* the reverse in event time, whatever the arrival: no alert */
    e = one(KM_CORR_TEMPORAL_ORDERED, in, 2, MIN(60), none, 0, NULL, (uint64_t)MIN(30), 0);
    fired g = {0};
    hit(e, &g, 1, 20, "u", NULL, "stop-at-20");
    hit(e, &g, 2, 10, "u", NULL, "delete-at-10");
    km_corr_flush(e, on_fire, &g);
    CHECK_INT(g.n, 0);
    km_corr_free(e);
    /* three steps arriving in reverse order, all within the lateness */
    uint32_t in3[] = {1, 2, 3};
    e = one(KM_CORR_TEMPORAL_ORDERED, in3, 3, MIN(60), none, 0, NULL, (uint64_t)MIN(30), 0);
    fired h = {0};
    hit(e, &h, 3, 12, "u", NULL, "3");
    hit(e, &h, 2, 11, "u", NULL, "2");
    hit(e, &h, 1, 10, "u", NULL, "1");
    km_corr_flush(e, on_fire, &h);
    CHECK_INT(h.n, 1);
    CHECK_STR(h.eid[0], "3");
    km_corr_free(e);
}

TEST(corr_anchored_lt_decides_at_window_end) {
    uint32_t in[] = {1};
    km_count_cond c;
    memset(&c, 0, sizeof c);
    c.has_lt = 1;
    c.lt = 3;
    km_corr *e = one(KM_CORR_EVENT_COUNT, in, 1, MIN(10), c, 1, NULL, 0, 0);
    fired f = {0};
    hit(e, &f, 1, 0, "few", NULL, "f1");
    hit(e, &f, 1, 1, "many", NULL, "m1");
    hit(e, &f, 1, 2, "many", NULL, "m2");
    hit(e, &f, 1, 3, "many", NULL, "m3");
    CHECK_INT(f.n, 0);
    hit(e, &f, 1, 20, "other", NULL, "o1"); /* time passes: both windows end */
    CHECK_INT(f.n, 1);
    CHECK_STR(f.group[0], "few");
    CHECK_INT(f.count[0], 1);
    CHECK_STR(f.eid[0], "f1");
    km_corr_flush(e, on_fire, &f); /* the window of "other" ends with the input */
    CHECK_INT(f.n, 2);
    CHECK_STR(f.group[1], "other");
    km_corr_free(e);
}

TEST(corr_state_is_bounded_and_evictions_are_counted) {
    uint32_t in[] = {1};
    km_corr *e = one(KM_CORR_EVENT_COUNT, in, 1, MIN(10), gte(2), 1, NULL, 0, 2);
    fired f = {0};
    hit(e, &f, 1, 0, "a", NULL, "a1");
    hit(e, &f, 1, 1, "b", NULL, "b1");
    hit(e, &f, 1, 2, "c", NULL, "c1"); /* evicts a, the least recently updated */
    hit(e, &f, 1, 3, "a", NULL, "a2"); /* a starts over (evicts b) */
    CHECK_INT(f.n, 0);
    hit(e, &f, 1, 4, "c", NULL, "c2");
    CHECK_INT(f.n, 1);
    CHECK_STR(f.group[0], "c");
    km_corr_stats st;
    km_corr_get_stats(e, &st);
    CHECK_INT(st.evicted_groups, 2);
    CHECK(st.groups <= 2);
    km_corr_free(e);
    /* the reorder buffer: at most max_pending hits wait */
    km_corr_opts o = {0};
    o.lateness_ms = (uint64_t)MIN(1000);
    o.max_pending = 3;
    e = km_corr_new(&o);
    km_corr_def d;
    memset(&d, 0, sizeof d);
    d.id = 100;
    d.type = KM_CORR_EVENT_COUNT;
    d.inputs = in;
    d.ninputs = 1;
    d.span_ms = (uint64_t)MIN(10);
    d.cond = gte(2);
    d.has_cond = 1;
    km_error err;
    CHECK(km_corr_add(e, &d, &err) == KM_OK && km_corr_finish(e, &err) == KM_OK);
    for (int i = 0; i < 10; i++) hit(e, &f, 1, i, NULL, NULL, "p");
    km_corr_get_stats(e, &st);
    CHECK_INT(st.pending, 3);
    CHECK_INT(st.early_released, 7);
    km_corr_free(e);
}

TEST(corr_chains_feed_correlations_into_correlations) {
    /* rule 100: 3 deletions (input 1) by a user in 10 min; rule 200: StopLogging (input 2) then rule 100
     * by the same user within an hour */
    km_corr *e = km_corr_new(NULL);
    uint32_t in100[] = {1}, in200[] = {2, 100};
    km_corr_def a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    a.id = 100;
    a.type = KM_CORR_EVENT_COUNT;
    a.inputs = in100;
    a.ninputs = 1;
    a.group_by = USER;
    a.ngroup = 1;
    a.span_ms = (uint64_t)MIN(10);
    a.cond = gte(3);
    a.has_cond = 1;
    b.id = 200;
    b.type = KM_CORR_TEMPORAL_ORDERED;
    b.inputs = in200;
    b.ninputs = 2;
    b.group_by = USER;
    b.ngroup = 1;
    b.span_ms = (uint64_t)MIN(60);
    km_error err;
    CHECK(km_corr_add(e, &a, &err) == KM_OK);
    CHECK(km_corr_add(e, &b, &err) == KM_OK);
    CHECK_MSG(km_corr_finish(e, &err) == KM_OK, "%s", err.msg);
    const char *const *p;
    CHECK_INT(km_corr_fields(e, 1, &p), 1);
    CHECK_STR(p[0], "user");
    fired f = {0};
    hit(e, &f, 2, 0, "mallory", NULL, "stop");
    hit(e, &f, 1, 5, "mallory", NULL, "d1");
    hit(e, &f, 1, 6, "alice", NULL, "other");
    hit(e, &f, 1, 7, "mallory", NULL, "d2");
    hit(e, &f, 1, 8, "mallory", NULL, "d3");
    CHECK_INT(f.n, 2);
    CHECK_INT(f.id[0], 100);
    CHECK_INT(f.id[1], 200);
    CHECK_STR(f.group[1], "mallory");
    CHECK_STR(f.eid[1], "d3");
    CHECK_INT(f.first[1], MIN(0));
    km_corr_free(e);
    /* a loop is refused */
    e = km_corr_new(NULL);
    uint32_t l1[] = {11}, l2[] = {10};
    a.id = 10;
    a.inputs = l1;
    b.id = 11;
    b.inputs = l2;
    b.ninputs = 1;
    b.type = KM_CORR_EVENT_COUNT;
    b.cond = gte(2);
    b.has_cond = 1;
    km_corr_add(e, &a, &err);
    km_corr_add(e, &b, &err);
    CHECK(km_corr_finish(e, &err) != KM_OK);
    CHECK_CONTAINS(err.msg, "loop");
    km_corr_free(e);
}

TEST(corr_saved_state_resumes_exactly) {
    /* the same stream, once straight through and once saved and restored after every hit */
    uint32_t in[] = {1, 2};
    km_count_cond none;
    memset(&none, 0, sizeof none);
    const struct { uint32_t id; double t; const char *u; const char *k; } s[] = {
        {1, 0, "a", "k1"}, {2, 1, "b", "k2"}, {1, 3, "a", "k3"}, {2, 2, "a", "k1"}, {1, 9, "b", "k2"},
        {2, 12, "b", "k5"}, {1, 13, "a", "k4"}, {2, 14, "a", "k2"}, {1, 40, "a", "k1"}, {2, 41, "a", "k1"},
    };
    for (int type = 0; type < 3; type++) {
        km_corr_type ty = type == 0 ? KM_CORR_VALUE_COUNT : type == 1 ? KM_CORR_TEMPORAL_ORDERED : KM_CORR_EVENT_COUNT;
        km_count_cond c = type == 1 ? none : gte(2);
        fired f1 = {0}, f2 = {0};
        km_corr *e1 = one(ty, in, 2, MIN(10), c, type != 1, type == 0 ? "key" : NULL, (uint64_t)MIN(3), 0);
        for (size_t i = 0; i < sizeof s / sizeof s[0]; i++) hit(e1, &f1, s[i].id, s[i].t, s[i].u, s[i].k, s[i].k);
        km_corr_flush(e1, on_fire, &f1);
        km_buf state = KM_BUF_INIT;
        for (size_t i = 0; i < sizeof s / sizeof s[0]; i++) {
            km_corr *e2 = one(ty, in, 2, MIN(10), c, type != 1, type == 0 ? "key" : NULL, (uint64_t)MIN(3), 0);
            km_error err;
            if (state.len) CHECK_MSG(km_corr_load(e2, state.data, state.len, &err) == KM_OK, "%s", err.msg);
            hit(e2, &f2, s[i].id, s[i].t, s[i].u, s[i].k, s[i].k);
            km_buf_reset(&state);
            CHECK(km_corr_save(e2, &state) == 0);
            if (i + 1 == sizeof s / sizeof s[0]) km_corr_flush(e2, on_fire, &f2);
            km_corr_free(e2);
        }
        km_buf_free(&state);
        km_test_case(f1.n == f2.n && f1.n > 0, "type %d: %d alerts straight, %d with restarts", type, f1.n, f2.n);
        for (int i = 0; i < f1.n && i < f2.n; i++)
            km_test_case(!strcmp(f1.eid[i], f2.eid[i]) && f1.count[i] == f2.count[i], "type %d alert %d: %s/%llu vs %s/%llu", type, i,
                         f1.eid[i], (unsigned long long)f1.count[i], f2.eid[i], (unsigned long long)f2.count[i]);
        km_corr_free(e1);
    }
    /* a state from other rules is refused */
    uint32_t in1[] = {1};
    km_corr *a = one(KM_CORR_EVENT_COUNT, in1, 1, MIN(10), gte(2), 1, NULL, 0, 0);
    km_corr *b = one(KM_CORR_EVENT_COUNT, in1, 1, MIN(11), gte(2), 1, NULL, 0, 0);
    km_buf st = KM_BUF_INIT;
    km_corr_save(a, &st);
    km_error err;
    CHECK(km_corr_load(b, st.data, st.len, &err) != KM_OK);
    CHECK_CONTAINS(err.msg, "other threshold/correlation rules");
    km_buf_free(&st);
    km_corr_free(a);
    km_corr_free(b);
}

TEST(corr_time_and_span_parsing) {
    CHECK_INT(km_corr_parse_time("1970-01-01T00:00:00Z", 20), 0);
    CHECK_INT(km_corr_parse_time("2024-05-01T10:00:00Z", 20), 1714557600000LL);
    CHECK_INT(km_corr_parse_time("2024-05-01T10:00:00.250Z", 24), 1714557600250LL);
    CHECK_INT(km_corr_parse_time("2024-05-01T12:00:00+02:00", 25), 1714557600000LL);
    CHECK_INT(km_corr_parse_time("2024-02-29T00:00:00Z", 20), 1709164800000LL);
    CHECK_INT(km_corr_parse_time("2024-05-01 10:00:00Z", 20), 1714557600000LL);
    CHECK_INT(km_corr_parse_time("2024-13-01T10:00:00Z", 20), -1);
    CHECK_INT(km_corr_parse_time("yesterday", 9), -1);
    CHECK_INT(km_corr_parse_time("2024-05-01T10:00:00Zx", 21), -1);
    /* the date, hour and minute of the time before are reused: what follows them is still read
     * whole, and a new minute, a bad one after a good one, and the good one again all read right */
    CHECK_INT(km_corr_parse_time("2024-05-01T10:00:59Z", 20), 1714557659000LL);
    CHECK_INT(km_corr_parse_time("2024-05-01T10:00:5xZ", 20), -1);
    CHECK_INT(km_corr_parse_time("2024-05-01T10:00:61Z", 20), -1);
    CHECK_INT(km_corr_parse_time("2024-05-01T10:00:07.5+01:00", 27), 1714554007500LL);
    CHECK_INT(km_corr_parse_time("2024-05-01T10:01:00Z", 20), 1714557660000LL);
    CHECK_INT(km_corr_parse_time("2024-05-01T10:0x:00Z", 20), -1);
    CHECK_INT(km_corr_parse_time("2024-05-01T10:01:00Z", 20), 1714557660000LL);
    CHECK_INT(km_corr_parse_time("2024-05-01T10:01", 16), -1);
    CHECK_INT(km_corr_parse_time("2024-05-02T10:01:00Z", 20), 1714557660000LL + 86400000LL);
    /* digits are '0'..'9' only: the bytes just below and above them, and non-ASCII, are not */
    CHECK_INT(km_corr_parse_time("2024-05-02T10:01:0/Z", 20), -1);
    CHECK_INT(km_corr_parse_time("2024-05-02T10:01:0:Z", 20), -1);
    CHECK_INT(km_corr_parse_time("2024-05-02T10:01:0\xb9Z", 20), -1);
    CHECK_INT(km_corr_parse_time("2024-05-02T10:01:00.9/Z", 23), -1);
    CHECK_INT(km_corr_parse_time("2024-05-02T10:01:00.09Z", 23), 1714557660000LL + 86400000LL + 90);
    CHECK_INT(km_corr_parse_time("2\xd9\xa4" "024-05-02T10:01:00Z", 22), -1);
    CHECK_INT(km_corr_parse_span("90s"), 90000);
    CHECK_INT(km_corr_parse_span("10m"), 600000);
    CHECK_INT(km_corr_parse_span("1h"), 3600000);
    CHECK_INT(km_corr_parse_span("2d"), 172800000);
    CHECK_INT(km_corr_parse_span("1w"), -1);
    CHECK_INT(km_corr_parse_span("0m"), -1);
    CHECK_INT(km_corr_parse_span("m"), -1);
}
