/* Process running and file writing for collect (see proc.h). */
#include "audit/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

double km_proc_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int km_proc_mkdirs(const char *path) {
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(buf, 0755) && errno != EEXIST) return -1;
        *p = '/';
    }
    if (mkdir(buf, 0755) && errno != EEXIST) return -1;
    return 0;
}

int km_proc_write_file(const char *path, const char *data, size_t len) {
    char tmp[4200];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    FILE *f = fopen(tmp, "wb");
    if (!f) return -1;
    int bad = (len ? fwrite(data, 1, len, f) : 0) != len;
    if (fclose(f)) bad = 1; /* closed once, whether or not the write was short */
    if (bad) {
        int e = errno;
        unlink(tmp);
        errno = e;
        return -1;
    }
    return rename(tmp, path);
}

int km_proc_spawn(char *const *argv, pid_t *pid, int *out_fd, int *err_fd) {
    int op[2], ep[2];
    if (pipe(op)) return -1;
    if (pipe(ep)) {
        close(op[0]);
        close(op[1]);
        return -1;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addclose(&fa, op[0]);
    posix_spawn_file_actions_addclose(&fa, ep[0]);
    posix_spawn_file_actions_adddup2(&fa, op[1], 1);
    posix_spawn_file_actions_adddup2(&fa, ep[1], 2);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    int rc = posix_spawnp(pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(op[1]);
    close(ep[1]);
    if (rc) {
        close(op[0]);
        close(ep[0]);
        errno = rc;
        return -1;
    }
    *out_fd = op[0];
    *err_fd = ep[0];
    fcntl(*out_fd, F_SETFL, O_NONBLOCK);
    fcntl(*err_fd, F_SETFL, O_NONBLOCK);
    return 0;
}

void km_proc_drain(int *fd, km_buf *b) {
    char chunk[65536];
    for (;;) {
        ssize_t n = read(*fd, chunk, sizeof chunk);
        if (n > 0) {
            km_buf_append(b, chunk, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n == 0) {
            close(*fd);
            *fd = -1;
        }
        return;
    }
}

int km_proc_wait_all(pid_t pid, int *out_fd, int *err_fd, km_buf *out, km_buf *err) {
    while (*out_fd >= 0 || *err_fd >= 0) {
        struct pollfd pf[2];
        int np = 0;
        if (*out_fd >= 0) pf[np++] = (struct pollfd){*out_fd, POLLIN, 0};
        if (*err_fd >= 0) pf[np++] = (struct pollfd){*err_fd, POLLIN, 0};
        poll(pf, (nfds_t)np, 1000);
        if (*out_fd >= 0) km_proc_drain(out_fd, out);
        if (*err_fd >= 0) km_proc_drain(err_fd, err);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    return st;
}
