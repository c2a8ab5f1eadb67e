/* What `kumomori collect` and `collect --trail` both need to run AWS CLI processes and to write
 * their answers: a child with stdin from /dev/null and stdout/stderr on non-blocking pipes,
 * draining a pipe into a capped buffer, a monotonic clock, and files written whole (a temporary
 * file renamed into place) in folders made on demand. Internal to collect. */
#ifndef KM_AUDIT_PROC_H
#define KM_AUDIT_PROC_H

#include "kumomori/buf.h"

#include <stddef.h>
#include <sys/types.h>

/* Seconds on the monotonic clock. */
double km_proc_now(void);

/* mkdir -p: 0 on success (also when it exists), -1 with errno set (ENAMETOOLONG when the path
 * does not fit 4,096 bytes). */
int km_proc_mkdirs(const char *path);

/* Writes data to path through path.tmp and rename(2), so a reader never sees half a file.
 * 0 on success, -1 with errno set (the temporary file is removed). */
int km_proc_write_file(const char *path, const char *data, size_t len);

/* Starts argv[0] (looked up on PATH) with argv, stdin from /dev/null, stdout and stderr on
 * non-blocking pipes whose read ends it stores in *out_fd and *err_fd (the caller closes them,
 * through km_proc_drain). 0 on success, -1 with errno set and nothing left open. */
int km_proc_spawn(char *const *argv, pid_t *pid, int *out_fd, int *err_fd);

/* Reads what *fd has now into b (past b's cap the rest is dropped and b->failed set); at end of
 * file closes *fd and sets it to -1. */
void km_proc_drain(int *fd, km_buf *b);

/* For one process at a time: reads its stdout into out and stderr into err until both end
 * (closing *out_fd and *err_fd), then reaps it. Returns its wait status (waitpid's). */
int km_proc_wait_all(pid_t pid, int *out_fd, int *err_fd, km_buf *out, km_buf *err);

#endif
