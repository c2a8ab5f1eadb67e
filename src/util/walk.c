#include "util/walk.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Ancestors of the folder being read, to catch symbolic-link loops. */
typedef struct ancestor {
    dev_t dev;
    ino_t ino;
    const struct ancestor *up;
} ancestor;

static int cmp_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int walk_dir(const char *dir, const struct stat *st, const ancestor *up, km_walk_fn fn,
                    void *ctx);

static int walk_path(const char *path, const ancestor *up, km_walk_fn fn, void *ctx) {
    struct stat st;
    if (stat(path, &st) != 0) return fn(ctx, path, errno ? errno : EIO);
    if (S_ISDIR(st.st_mode)) return walk_dir(path, &st, up, fn, ctx);
    if (S_ISREG(st.st_mode)) return fn(ctx, path, 0);
    return 0; /* sockets, devices, FIFOs inside a folder are not trail files */
}

static int walk_dir(const char *dir, const struct stat *st, const ancestor *up, km_walk_fn fn,
                    void *ctx) {
    for (const ancestor *a = up; a; a = a->up)
        if (a->dev == st->st_dev && a->ino == st->st_ino) return fn(ctx, dir, ELOOP);
    DIR *d = opendir(dir);
    if (!d) return fn(ctx, dir, errno ? errno : EIO);
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *e;
    errno = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            char **p = realloc(names, ncap * sizeof *p);
            if (!p) { rc = fn(ctx, dir, ENOMEM); goto out; }
            names = p;
            cap = ncap;
        }
        names[n] = strdup(e->d_name);
        if (!names[n]) { rc = fn(ctx, dir, ENOMEM); goto out; }
        n++;
    }
    closedir(d);
    d = NULL;
    if (n) qsort(names, n, sizeof *names, cmp_names);
    ancestor me = {st->st_dev, st->st_ino, up};
    size_t dl = strlen(dir);
    int slash = dl > 0 && dir[dl - 1] == '/';
    for (size_t i = 0; i < n && rc == 0; i++) {
        size_t need = dl + 1 + strlen(names[i]) + 1;
        char *path = malloc(need);
        if (!path) { rc = fn(ctx, dir, ENOMEM); break; }
        snprintf(path, need, "%s%s%s", dir, slash ? "" : "/", names[i]);
        rc = walk_path(path, &me, fn, ctx);
        free(path);
    }
out:
    if (d) closedir(d);
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    return rc;
}

int km_walk(const char *root, km_walk_fn fn, void *ctx) {
    return walk_path(root, NULL, fn, ctx);
}
