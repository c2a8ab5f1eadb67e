/* src/audit/proc.c: the whole-file write through PATH.tmp and rename(2) when the write fails
 * half-way. A file-size limit (RLIMIT_FSIZE, in a child process so that nothing else of the test
 * run is limited) makes the FILE's buffered write stop short with EFBIG, as a full disk stops it
 * with ENOSPC. The child exits through exit(), so under ASan LeakSanitizer checks that the FILE
 * and its buffer were freed (a leak changes the child's exit status). */
#include "test.h"

#include "audit/proc.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static const char old_text[] = "{\"old\": true}\n";

/* 0 when all is as it should be, else the number of the first thing that was not. */
static int short_write_child(const char *path) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(old_text, 1, sizeof old_text - 1, f) != sizeof old_text - 1 || fclose(f)) return 10;
    struct rlimit rl;
    if (getrlimit(RLIMIT_FSIZE, &rl)) return 11;
    rl.rlim_cur = 8192;
    if (setrlimit(RLIMIT_FSIZE, &rl)) return 12;
    signal(SIGXFSZ, SIG_IGN);
    size_t len = 256 * 1024;
    char *data = malloc(len);
    if (!data) return 13;
    memset(data, 'x', len);
    errno = 0;
    int rc = km_proc_write_file(path, data, len);
    int e = errno;
    free(data);
    if (rc != -1) return 1;   /* the short write must not pass for a whole one */
    if (e != EFBIG) return 2; /* errno says why, for the caller's message */
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (access(tmp, F_OK) == 0 || errno != ENOENT) return 3; /* the half-written temporary is gone */
    char buf[64] = {0};
    f = fopen(path, "rb");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f) fclose(f);
    if (n != sizeof old_text - 1 || memcmp(buf, old_text, n)) return 4; /* the old file is left whole */
    return 0;
}

TEST(proc_write_file_short_write) {
    char dir[] = "/tmp/km-proc-XXXXXX";
    CHECK(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/answer.json", dir);
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) exit(short_write_child(path));
    int st = 0;
    CHECK(waitpid(pid, &st, 0) == pid);
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    unlink(tmp);
    unlink(path);
    rmdir(dir);
    CHECK_MSG(WIFEXITED(st), "the child ended by signal %d", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    CHECK_MSG(WEXITSTATUS(st) == 0,
              "check %d failed (1: returned 0; 2: errno not EFBIG; 3: PATH.tmp left; 4: old file changed; 23: leak)",
              WEXITSTATUS(st));
}

TEST(proc_write_file_whole) {
    char dir[] = "/tmp/km-proc-XXXXXX";
    CHECK(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/answer.json", dir);
    CHECK_INT(km_proc_write_file(path, "{}\n", 3), 0);
    size_t n = 0;
    char *got = km_test_read(path, &n);
    unlink(path);
    rmdir(dir);
    CHECK(got);
    CHECK_STR(got, "{}\n");
    free(got);
}
