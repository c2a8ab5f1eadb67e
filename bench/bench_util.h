/* Small helpers shared by the benchmark programs in bench/ (not part of the library): loading a
 * JSON-lines file into memory, a monotonic clock, medians. Kept header-only so each benchmark is
 * one translation unit linked against build/libkumomori.a. */
#ifndef KM_BENCH_UTIL_H
#define KM_BENCH_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "kumomori/kumomori.h"

typedef struct bench_line {
    const char *p;
    size_t len;
} bench_line;

typedef struct bench_lines {
    char *text; /* the whole file, owned */
    size_t len;
    bench_line *v;
    size_t n;
} bench_lines;

/* Reads path and splits it into non-empty lines (pointers into lines->text). Returns 0, or -1
 * after printing why to stderr. Free with bench_lines_free. */
static int bench_lines_load(bench_lines *lines, const char *path) {
    km_error err;
    km_error_clear(&err);
    size_t len = 0;
    memset(lines, 0, sizeof *lines);
    lines->text = km_read_file(path, (size_t)4 << 30, &len, &err);
    if (!lines->text) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    lines->len = len;
    size_t cap = 1024;
    lines->v = malloc(cap * sizeof *lines->v);
    if (!lines->v) {
        fprintf(stderr, "%s: out of memory\n", path);
        return -1;
    }
    const char *p = lines->text, *end = lines->text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        if (e > p) {
            if (lines->n == cap) {
                cap *= 2;
                bench_line *nv = realloc(lines->v, cap * sizeof *nv);
                if (!nv) {
                    fprintf(stderr, "%s: out of memory\n", path);
                    return -1;
                }
                lines->v = nv;
            }
            lines->v[lines->n].p = p;
            lines->v[lines->n].len = (size_t)(e - p);
            lines->n++;
        }
        p = e + 1;
    }
    return 0;
}

static void bench_lines_free(bench_lines *lines) {
    free(lines->text);
    free(lines->v);
    memset(lines, 0, sizeof *lines);
}

static double bench_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU time of the calling thread: unlike wall time, not inflated when other processes take the
 * CPU (the machine the figures come from is shared), so both are reported. */
static double bench_cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int bench_cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median of v[0..n) (sorts v). */
static double bench_median(double *v, size_t n) {
    qsort(v, n, sizeof *v, bench_cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#endif
