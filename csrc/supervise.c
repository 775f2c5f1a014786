/* The container's supervisor loop: copy its stdout/stderr to the caller's
 * terminal (tee fds) and to its log (docker's json-file format: one JSON
 * object per line with "log", "stream" and "time"), forward signals, wait
 * for it, and record the exit (code, signal, OOM kill) atomically.
 *
 * Used in-process by a foreground `pyns run` (through cffi, GIL released)
 * and by the detached monitor executable, so both write the same log and
 * exit record. */
#include "pyns.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define LINE_MAX_BYTES (16 * 1024)

struct stream {
    char *out;   /* scratch buffer for one escaped log line */
    int fd;
    int tee;
    const char *name;
    char line[LINE_MAX_BYTES];
    size_t used;
};

static void write_full(int fd, const char *s, size_t n)
{
    while (n > 0 && fd >= 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        s += w;
        n -= (size_t)w;
    }
}

/* Append s[0..n) JSON-escaped to out; returns the new length. */
static size_t json_escape(char *out, size_t pos, size_t cap, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t i;
    for (i = 0; i < n && pos + 7 < cap; i++) {
        unsigned char ch = (unsigned char)s[i];
        switch (ch) {
        case '"': out[pos++] = '\\'; out[pos++] = '"'; break;
        case '\\': out[pos++] = '\\'; out[pos++] = '\\'; break;
        case '\n': out[pos++] = '\\'; out[pos++] = 'n'; break;
        case '\r': out[pos++] = '\\'; out[pos++] = 'r'; break;
        case '\t': out[pos++] = '\\'; out[pos++] = 't'; break;
        default:
            if (ch < 0x20) {
                out[pos++] = '\\'; out[pos++] = 'u'; out[pos++] = '0'; out[pos++] = '0';
                out[pos++] = hex[ch >> 4]; out[pos++] = hex[ch & 15];
            } else {
                out[pos++] = (char)ch;
            }
        }
    }
    return pos;
}

#define LOG_BUF (LINE_MAX_BYTES * 6 + 256)

static void log_line(int log_fd, char *out, const char *stream, const char *s, size_t n)
{
    char stamp[64];
    size_t pos = 0;
    if (log_fd < 0 || n == 0)
        return;
    pyns_rfc3339_nano(stamp, sizeof stamp, pyns_realtime_ns());
    pos = (size_t)snprintf(out, LOG_BUF, "{\"log\":\"");
    pos = json_escape(out, pos, LOG_BUF, s, n);
    pos += (size_t)snprintf(out + pos, LOG_BUF - pos, "\",\"stream\":\"%s\",\"time\":\"%s\"}\n",
                            stream, stamp);
    write_full(log_fd, out, pos);
}

static void consume(struct stream *st, int log_fd, const char *buf, size_t n)
{
    size_t i;
    write_full(st->tee, buf, n);
    for (i = 0; i < n; i++) {
        st->line[st->used++] = buf[i];
        if (buf[i] == '\n' || st->used == sizeof st->line) {
            log_line(log_fd, st->out, st->name, st->line, st->used);
            st->used = 0;
        }
    }
}

/* Read what is there; returns 0 at EOF/error (stream closed). */
static int pump(struct stream *st, int log_fd)
{
    char buf[65536];
    ssize_t r = read(st->fd, buf, sizeof buf);
    if (r < 0 && (errno == EINTR || errno == EAGAIN))
        return 1;
    if (r <= 0) {
        log_line(log_fd, st->out, st->name, st->line, st->used);
        st->used = 0;
        close(st->fd);
        st->fd = -1;
        return 0;
    }
    consume(st, log_fd, buf, (size_t)r);
    return 1;
}

static int read_oom_kills(const char *path)
{
    char buf[4096];
    int fd, n;
    if (!path || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return 0;
    n = (int)read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *p = strstr(buf, "oom_kill ");
    return p ? atoi(p + 9) : 0;
}

int pyns_supervise(const struct pyns_plan *plan, int pid, int out_fd, int err_fd,
                   int tee_out, int tee_err, int flags, struct pyns_exit *ex,
                   struct pyns_error *err)
{
    struct stream *streams;
    sigset_t mask, old;
    int sfd = -1, pidfd, log_fd = -1, status = 0, exited = 0, i;
    int oom_before = read_oom_kills(plan->oom_path);

    memset(ex, 0, sizeof *ex);
    memset(err, 0, sizeof *err);
    /* Heap, not static: library callers may supervise from many threads. */
    streams = calloc(2, sizeof *streams);
    char *scratch = malloc(LOG_BUF);
    if (!streams || !scratch) {
        free(streams);
        free(scratch);
        pyns_err_set(err, "log", ENOMEM, "allocate log buffers", NULL);
        return -1;
    }
    streams[0].out = streams[1].out = scratch;
    streams[0].fd = out_fd; streams[0].tee = tee_out; streams[0].name = "stdout"; streams[0].used = 0;
    streams[1].fd = err_fd; streams[1].tee = tee_err; streams[1].name = "stderr"; streams[1].used = 0;
    if (plan->log_path) {
        log_fd = open(plan->log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
        if (log_fd < 0) {
            pyns_err_set(err, "log", errno, "open ", plan->log_path);
            free(streams);
            free(scratch);
            return -1;
        }
    }
    pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pidfd < 0) {
        pyns_err_set(err, "wait", errno, "pidfd_open", NULL);
        if (log_fd >= 0)
            close(log_fd);
        free(streams);
        free(scratch);
        return -1;
    }
    sigemptyset(&mask);
    if (flags & PYNS_SUP_FORWARD_SIGNALS) {
        sigaddset(&mask, SIGINT); sigaddset(&mask, SIGTERM); sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGQUIT); sigaddset(&mask, SIGUSR1); sigaddset(&mask, SIGUSR2);
    }
    if (flags & PYNS_SUP_REAP_ALL)
        sigaddset(&mask, SIGCHLD);
    pthread_sigmask(SIG_BLOCK, &mask, &old);
    sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

    while (!exited || streams[0].fd >= 0 || streams[1].fd >= 0) {
        struct pollfd p[4];
        int np = 0, idx_out = -1, idx_err = -1, idx_pid = -1, idx_sig = -1;
        if (streams[0].fd >= 0) { idx_out = np; p[np].fd = streams[0].fd; p[np++].events = POLLIN; }
        if (streams[1].fd >= 0) { idx_err = np; p[np].fd = streams[1].fd; p[np++].events = POLLIN; }
        if (!exited) { idx_pid = np; p[np].fd = pidfd; p[np++].events = POLLIN; }
        if (sfd >= 0) { idx_sig = np; p[np].fd = sfd; p[np++].events = POLLIN; }
        /* Once the process is gone, give lingering writers a moment only. */
        int rc = poll(p, (nfds_t)np, exited ? 200 : -1);
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (rc == 0 && exited)
            break;
        if (idx_out >= 0 && p[idx_out].revents)
            pump(&streams[0], log_fd);
        if (idx_err >= 0 && p[idx_err].revents)
            pump(&streams[1], log_fd);
        if (idx_sig >= 0 && (p[idx_sig].revents & POLLIN)) {
            struct signalfd_siginfo si;
            while (read(sfd, &si, sizeof si) == sizeof si) {
                if (si.ssi_signo == SIGCHLD) {
                    int st, w;
                    while ((w = waitpid(-1, &st, WNOHANG | __WALL)) > 0)
                        if (w == pid) {
                            status = st;
                            exited = 1;
                        }
                } else if (!exited)
                    kill(pid, (int)si.ssi_signo);
            }
        }
        if (!exited && idx_pid >= 0 && (p[idx_pid].revents & POLLIN)) {
            int w = waitpid(pid, &status, __WALL | WNOHANG);
            if (w == pid || (w < 0 && errno == ECHILD))
                exited = 1;
        }
    }
    if (!exited) {
        while (waitpid(pid, &status, __WALL) < 0 && errno == EINTR)
            ;
    }
    if (flags & PYNS_SUP_REAP_ALL)
        while (waitpid(-1, NULL, WNOHANG) > 0)
            ;
    for (i = 0; i < 2; i++) {
        if (streams[i].fd >= 0) {
            log_line(log_fd, streams[i].out, streams[i].name, streams[i].line, streams[i].used);
            close(streams[i].fd);
            streams[i].fd = -1;
        }
    }
    free(streams);
    free(scratch);
    if (sfd >= 0)
        close(sfd);
    close(pidfd);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (log_fd >= 0)
        close(log_fd);

    ex->finished_ns = pyns_realtime_ns();
    if (WIFSIGNALED(status)) {
        ex->signal = WTERMSIG(status);
        ex->exit_code = 128 + ex->signal;
    } else {
        ex->exit_code = WEXITSTATUS(status);
    }
    ex->oom_killed = read_oom_kills(plan->oom_path) > oom_before;
    if (pyns_write_exit_file(plan->exit_path, ex) < 0) {
        pyns_err_set(err, "exit", errno, "write ", plan->exit_path);
        return -1;
    }
    return 0;
}
