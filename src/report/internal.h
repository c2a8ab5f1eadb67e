/* State shared by the report's loader (report.c) and renderer (render.c). Internal. */
#ifndef KM_REPORT_INTERNAL_H
#define KM_REPORT_INTERNAL_H

#include "kumomori/json.h"
#include "report/report.h"

#include <stdint.h>

#define RP_NSCEN 7
#define RP_UNTIMED INT64_MIN

/* Severity as a number: 4 critical .. 0 info, -1 anything else. */
int rp_severity(const char *s);
extern const char *const rp_sev_names[5];

/* One alert kept for the table: its own copies of the (truncated) fields. */
typedef struct rp_alert {
    int64_t t;          /* eventTime in UTC seconds, or RP_UNTIMED */
    int sev;
    unsigned scen;      /* bit i: scenario S(i+1) */
    size_t seq;         /* position in the input, for a stable order */
    char *rule, *title, *time, *event, *source, *principal, *ip, *region, *account, *resource,
        *error, *detail, *scen_other; /* scen_other: scenario names outside S1..S7, space-separated */
    size_t nresources;
} rp_alert;

struct km_report {
    km_json_doc *audit;
    char *audit_name;
    size_t max_rows;

    int has_alerts;
    char *alerts_name;
    size_t alerts, bad, untimed, untimed_scen, unlaned, listed;
    /* Timeline points, packed (t << 11 | sev+1 << 8 | scenario bits) to keep memory small; at most
     * RP_MAX_POINTS, later timed alerts are counted in points_dropped. */
    uint64_t *points;
    size_t npoints, cap_points, points_dropped;
    /* Kept table rows: a heap whose top is the least important row, so the most severe ones
     * survive when there are more alerts than max_rows. */
    rp_alert **rows;
    size_t nrows;
    /* The first skipped-line messages, for the page. */
    char *bad_msgs[20];
    size_t nbad_msgs;
};

#define RP_MAX_POINTS ((size_t)8 << 20)

#endif
