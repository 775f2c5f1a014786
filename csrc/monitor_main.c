/* pyns-monitor: the per-container supervisor of a detached container.
 *
 *   pyns-monitor PLAN_FILE STATUS_FD
 *
 * Forks once so the caller can reap us at once and the monitor is
 * re-parented away from it, becomes a child subreaper, starts the
 * container from the plan, reports "ok PID\n" or "err STEP ERRNO MSG\n"
 * on STATUS_FD (a pipe to the caller), then supervises it: log, exit record, OOM flag. After the exit
 * it removes the container's cgroups and runs the plan's on_exit command
 * (used for --rm). Static, no Python: a few hundred KiB resident. */
#include "pyns.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

static char *read_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    char *buf;
    if (fd < 0 || fstat(fd, &st) < 0)
        return NULL;
    buf = malloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (buf && got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    *len = got;
    return buf;
}

static void report(int fd, const char *s)
{
    if (fd >= 0) {
        ssize_t ignored = write(fd, s, strlen(s));
        (void)ignored;
        close(fd);
    }
}

int main(int argc, char **argv)
{
    struct pyns_error err;
    struct pyns_exit ex;
    char line[700];
    size_t len = 0;
    int status_fd;
    int out[2], errp[2];
    long long ts[PYNS_TS_COUNT];

    if (argc != 3) {
        fprintf(stderr, "usage: pyns-monitor PLAN_FILE STATUS_FD\n");
        return 2;
    }
    status_fd = atoi(argv[2]);
    if (status_fd < 3 || fcntl(status_fd, F_GETFD) < 0)
        status_fd = -1;
    else
        fcntl(status_fd, F_SETFD, FD_CLOEXEC);
    char *buf = read_file(argv[1], &len);
    struct pyns_plan *plan = buf ? pyns_plan_parse(buf, len, &err) : NULL;
    if (!plan) {
        if (!buf)
            pyns_err_set(&err, "plan", errno, "read ", argv[1]);
        snprintf(line, sizeof line, "err %s %d %s\n", err.step, err.errnum, err.msg);
        report(status_fd, line);
        return 1;
    }
    free(buf);

    pid_t pid = fork();
    if (pid < 0) {
        snprintf(line, sizeof line, "err fork %d monitor fork\n", errno);
        report(status_fd, line);
        return 1;
    }
    if (pid > 0)
        return 0;

    setsid();
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (chdir("/") < 0)
        return 1;
    if (pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
        snprintf(line, sizeof line, "err pipe %d log pipes\n", errno);
        report(status_fd, line);
        return 1;
    }
    int cpid = pyns_spawn(plan, devnull, out[1], errp[1], ts, &err);
    close(out[1]);
    close(errp[1]);
    if (cpid < 0) {
        snprintf(line, sizeof line, "err %s %d %s\n", err.step, err.errnum, err.msg);
        report(status_fd, line);
        return 1;
    }
    snprintf(line, sizeof line, "ok %d\n", cpid);
    report(status_fd, line);
    /* Nothing of the caller's terminal stays open in a detached monitor. */
    if (devnull >= 0) {
        dup2(devnull, 0);
        dup2(devnull, 1);
        dup2(devnull, 2);
    }
    int rc = pyns_supervise(plan, cpid, out[0], errp[0], -1, -1, PYNS_SUP_REAP_ALL, &ex, &err);
    size_t i;
    for (i = 0; i < plan->ncgroup_dirs; i++)
        rmdir(plan->cgroup_dirs[i]);
    if (plan->non_exit > 0) {
        execv(plan->on_exit[0], plan->on_exit);
        return 1;
    }
    return rc < 0 ? 1 : 0;
}
