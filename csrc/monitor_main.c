/* pyns-monitor: the per-container supervisor of a detached container.
 *
 *   pyns-monitor PLAN_FILE STATUS_FD
 *
 * Forks once so the caller can reap us at once and the monitor is
 * re-parented away from it, becomes a child subreaper, starts the
 * container from the plan, reports "ok PID\n" or "err STEP ERRNO MSG\n"
 * on STATUS_FD (a pipe to the caller), then supervises it: log, exit
 * record, OOM flag, and (with attach_sock) an attach socket through which
 * clients see the output and type into the container's stdin or pty,
 * which the monitor holds. After the exit
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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
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

static int listen_on(const char *name)
{
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    if (strlen(name) >= sizeof a.sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    pyns_strlcpy(a.sun_path, name, sizeof a.sun_path);
    unlink(name);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || chmod(name, 0600) < 0 || listen(fd, 8) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
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
    /* Work in the plan's directory: the attach socket is bound there by a
     * short relative name (sun_path holds only 108 bytes). */
    char dir[4096];
    pyns_strlcpy(dir, argv[1], sizeof dir);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    if (chdir(slash ? dir : ".") < 0) {
        snprintf(line, sizeof line, "err chdir %d plan directory\n", errno);
        report(status_fd, line);
        return 1;
    }

    struct pyns_io io = {-1, -1, -1, -1, -1, -1, -1, PYNS_SUP_REAP_ALL};
    int child_in = devnull, child_out = -1, child_err = -1, console[2] = {-1, -1};
    if (plan->attach_sock && (io.listen_fd = listen_on(plan->attach_sock)) < 0) {
        snprintf(line, sizeof line, "err attach %d %s\n", errno, plan->attach_sock);
        report(status_fd, line);
        return 1;
    }
    if (plan->tty) {
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, console) < 0) {
            snprintf(line, sizeof line, "err tty %d console socket\n", errno);
            report(status_fd, line);
            return 1;
        }
        io.flags |= PYNS_SUP_TTY;
    } else {
        if (pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
            snprintf(line, sizeof line, "err pipe %d log pipes\n", errno);
            report(status_fd, line);
            return 1;
        }
        child_out = out[1];
        child_err = errp[1];
        io.out_fd = out[0];
        io.err_fd = errp[0];
        if (plan->open_stdin) {
            int in[2];
            if (pipe2(in, O_CLOEXEC) < 0) {
                snprintf(line, sizeof line, "err pipe %d stdin pipe\n", errno);
                report(status_fd, line);
                return 1;
            }
            child_in = in[0];
            io.in_dst = in[1];
        }
    }
    int cpid = pyns_spawn(plan, child_in, child_out, child_err, console[1], ts, &err);
    if (child_out >= 0)
        close(child_out);
    if (child_err >= 0)
        close(child_err);
    if (child_in != devnull)
        close(child_in);
    if (console[1] >= 0)
        close(console[1]);
    if (cpid < 0) {
        snprintf(line, sizeof line, "err %s %d %s\n", err.step, err.errnum, err.msg);
        report(status_fd, line);
        return 1;
    }
    if (plan->tty) {
        io.out_fd = io.in_dst = pyns_recv_fd(console[0]);
        close(console[0]);
    }
    snprintf(line, sizeof line, "ok %d\n", cpid);
    report(status_fd, line);
    /* Nothing of the caller's terminal stays open in a detached monitor. */
    if (devnull >= 0) {
        dup2(devnull, 0);
        dup2(devnull, 1);
        dup2(devnull, 2);
    }
    int rc = pyns_supervise(plan, cpid, &io, &ex, &err);
    if (io.listen_fd >= 0) {
        close(io.listen_fd);
        unlink(plan->attach_sock);
    }
    size_t i;
    for (i = 0; i < plan->ncgroup_dirs; i++)
        rmdir(plan->cgroup_dirs[i]);
    if (plan->non_exit > 0) {
        execv(plan->on_exit[0], plan->on_exit);
        return 1;
    }
    return rc < 0 ? 1 : 0;
}
