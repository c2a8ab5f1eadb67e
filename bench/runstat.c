/* Runs a command and reports its wall time, CPU time and peak resident set size (wait4's
 * rusage), so the benchmarks need neither GNU time nor a shell's `time` format. The command's
 * stdout goes to /dev/null unless --keep-stdout is given, its stderr to FILE with --child-stderr;
 * the report is one line on stderr:
 *   wall_s 1.234 user_s 1.100 sys_s 0.100 maxrss_kib 12345 exit 0
 * usage: runstat [--keep-stdout] [--child-stderr FILE] COMMAND [ARG...] */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int keep = 0, i = 1;
    const char *child_err = NULL;
    for (; i < argc; i++) {
        if (strcmp(argv[i], "--keep-stdout") == 0)
            keep = 1;
        else if (strcmp(argv[i], "--child-stderr") == 0 && i + 1 < argc)
            child_err = argv[++i];
        else
            break;
    }
    if (i >= argc) {
        fprintf(stderr, "usage: runstat [--keep-stdout] [--child-stderr FILE] COMMAND [ARG...]\n");
        return 2;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid < 0) {
        perror("runstat: fork");
        return 2;
    }
    if (pid == 0) {
        if (!keep) {
            int fd = open("/dev/null", O_WRONLY);
            if (fd >= 0) dup2(fd, 1), close(fd);
        }
        if (child_err) {
            int fd = open(child_err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (fd < 0) {
                perror(child_err);
                _exit(127);
            }
            dup2(fd, 2);
            close(fd);
        }
        execvp(argv[i], argv + i);
        fprintf(stderr, "runstat: cannot run %s\n", argv[i]);
        _exit(127);
    }
    int status = 0;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0) {
        perror("runstat: wait4");
        return 2;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    fprintf(stderr, "wall_s %.3f user_s %.3f sys_s %.3f maxrss_kib %ld exit %d\n", wall,
            (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6,
            (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6, ru.ru_maxrss, code);
    return 0;
}
