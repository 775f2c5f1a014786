/* The container's supervisor loop.
 *
 * Copies the container's output to the caller's terminal (tee fds), to
 * attached clients and to its log (docker's json-file format: one JSON
 * object per line with "log", "stream" and "time"); copies input from the
 * caller's stdin and from attached clients to the container; forwards
 * signals and terminal resizes; waits for the process on a pidfd and
 * records the exit (code, signal, OOM kill) atomically.
 *
 * Used in-process by a foreground `pyns run`/`exec` (through cffi, GIL
 * released) and by the detached monitor executable, so both write the
 * same log and exit record. */
#include "pyns.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#define LINE_MAX_BYTES (16 * 1024)
#define LOG_BUF (LINE_MAX_BYTES * 6 + 256)
#define MAX_CLIENTS 16
#define REPLAY_MAX (64 * 1024)

struct stream {
    int fd;
    int tee;
    const char *name;
    char line[LINE_MAX_BYTES];
    size_t used;
};

struct client {
    int fd;
    unsigned char frame[3 + 65535];
    size_t have;
};

struct sup {
    const struct pyns_plan *plan;
    const struct pyns_io *io;
    int log_fd;
    int in_dst;
    char *scratch;               /* one escaped log line */
    struct stream streams[2];
    struct client clients[MAX_CLIENTS];
    int ever_attached;
    char *replay;                /* output kept for the first client (a shell's prompt) */
    size_t replay_len;
};

/* 0, or -1 with errno when fd refused the bytes. */
static int write_full(int fd, const char *s, size_t n)
{
    while (n > 0 && fd >= 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        s += w;
        n -= (size_t)w;
    }
    return 0;
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

static void log_line(struct sup *s, const char *stream, const char *data, size_t n)
{
    char stamp[64];
    size_t pos;
    if (s->log_fd < 0 || n == 0)
        return;
    pyns_rfc3339_nano(stamp, sizeof stamp, pyns_realtime_ns());
    pos = (size_t)snprintf(s->scratch, LOG_BUF, "{\"log\":\"");
    pos = json_escape(s->scratch, pos, LOG_BUF, data, n);
    pos += (size_t)snprintf(s->scratch + pos, LOG_BUF - pos, "\",\"stream\":\"%s\",\"time\":\"%s\"}\n",
                            stream, stamp);
    write_full(s->log_fd, s->scratch, pos);
}

static void close_client(struct client *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->have = 0;
}

static void broadcast(struct sup *s, const char *buf, size_t n)
{
    int i;
    for (i = 0; i < MAX_CLIENTS; i++) {
        struct client *c = &s->clients[i];
        if (c->fd >= 0 && send(c->fd, buf, n, MSG_NOSIGNAL) < 0 && errno != EAGAIN)
            close_client(c);
    }
    if (!s->ever_attached && s->replay && s->replay_len + n <= REPLAY_MAX) {
        memcpy(s->replay + s->replay_len, buf, n);
        s->replay_len += n;
    }
}

static void close_stream(struct sup *s, struct stream *st)
{
    log_line(s, st->name, st->line, st->used);
    st->used = 0;
    if (st->fd >= 0)
        close(st->fd);
    st->fd = -1;
}

/* `pyns run IMG yes | head`: when the reader of our copy is gone, the
 * container's own stream breaks too, as it would in a shell pipeline (its
 * next write gets SIGPIPE or EPIPE), instead of writing on unread forever. */
static void consume(struct sup *s, struct stream *st, const char *buf, size_t n)
{
    size_t i;
    int reader_gone = write_full(st->tee, buf, n) < 0 && errno == EPIPE;
    broadcast(s, buf, n);
    for (i = 0; i < n; i++) {
        st->line[st->used++] = buf[i];
        if (buf[i] == '\n' || st->used == sizeof st->line) {
            log_line(s, st->name, st->line, st->used);
            st->used = 0;
        }
    }
    if (reader_gone) {
        st->tee = -1;
        if (st->fd != s->in_dst)   /* a pty master is the input too: keep it */
            close_stream(s, st);
    }
}

/* Read what is there; at EOF or error (EIO on a pty whose slave closed) the stream ends. */
static void pump(struct sup *s, struct stream *st)
{
    char buf[65536];
    ssize_t r = read(st->fd, buf, sizeof buf);
    if (r < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (r <= 0) {
        close_stream(s, st);
        return;
    }
    consume(s, st, buf, (size_t)r);
}

static void close_input(struct sup *s)
{
    /* A pty master is also the output: never close it for stdin EOF. */
    if (s->in_dst >= 0 && !(s->io->flags & PYNS_SUP_TTY))
        close(s->in_dst);
    if (!(s->io->flags & PYNS_SUP_TTY))
        s->in_dst = -1;
}

static void resize(int master, unsigned short rows, unsigned short cols)
{
    struct winsize ws;
    memset(&ws, 0, sizeof ws);
    ws.ws_row = rows;
    ws.ws_col = cols;
    if (master >= 0)
        ioctl(master, TIOCSWINSZ, &ws);
}

/* Frames from an attached client: data, resize, close-stdin. */
static void client_input(struct sup *s, struct client *c)
{
    ssize_t r = recv(c->fd, c->frame + c->have, sizeof c->frame - c->have, 0);
    if (r <= 0) {
        if (r < 0 && (errno == EINTR || errno == EAGAIN))
            return;
        close_client(c);
        return;
    }
    c->have += (size_t)r;
    while (c->have >= 3) {
        size_t len = (size_t)c->frame[1] << 8 | c->frame[2];
        if (c->have < 3 + len)
            break;
        unsigned char type = c->frame[0];
        const unsigned char *p = c->frame + 3;
        if (type == PYNS_ATTACH_DATA)
            write_full(s->in_dst, (const char *)p, len);
        else if (type == PYNS_ATTACH_RESIZE && len == 4)
            resize(s->io->flags & PYNS_SUP_TTY ? s->io->out_fd : -1,
                   (unsigned short)(p[0] << 8 | p[1]), (unsigned short)(p[2] << 8 | p[3]));
        else if (type == PYNS_ATTACH_CLOSE_STDIN)
            close_input(s);
        memmove(c->frame, c->frame + 3 + len, c->have - 3 - len);
        c->have -= 3 + len;
    }
}

static void accept_client(struct sup *s)
{
    int fd = accept4(s->io->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK), i;
    if (fd < 0)
        return;
    for (i = 0; i < MAX_CLIENTS; i++) {
        if (s->clients[i].fd < 0) {
            s->clients[i].fd = fd;
            s->clients[i].have = 0;
            if (!s->ever_attached && s->replay_len)
                send(fd, s->replay, s->replay_len, MSG_NOSIGNAL);
            s->ever_attached = 1;
            return;
        }
    }
    close(fd);
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

static void on_signal(struct sup *s, int pid, int exited, const struct signalfd_siginfo *si, int *status,
                      int *reaped)
{
    int sig = (int)si->ssi_signo;
    if (sig == SIGCHLD) {
        int st, w;
        while ((w = waitpid(-1, &st, WNOHANG | __WALL)) > 0)
            if (w == pid) {
                *status = st;
                *reaped = 1;
            }
    } else if (sig == SIGWINCH) {
        struct winsize ws;
        if (ioctl(0, TIOCGWINSZ, &ws) == 0)
            resize(s->io->out_fd, ws.ws_row, ws.ws_col);
    } else if (!exited) {
        kill(pid, sig);
    }
}

int pyns_supervise(const struct pyns_plan *plan, int pid, const struct pyns_io *io,
                   struct pyns_exit *ex, struct pyns_error *err)
{
    struct sup *s;
    sigset_t mask, old;
    int sfd, pidfd, status = 0, exited = 0, in_src = io->in_src, i;
    int oom_before = read_oom_kills(plan->oom_path);

    memset(ex, 0, sizeof *ex);
    memset(err, 0, sizeof *err);
    /* Heap, not static: library callers may supervise from many threads. */
    s = calloc(1, sizeof *s);
    if (!s || !(s->scratch = malloc(LOG_BUF))) {
        free(s);
        pyns_err_set(err, "log", ENOMEM, "allocate supervisor buffers", NULL);
        return -1;
    }
    s->plan = plan;
    s->io = io;
    s->in_dst = io->in_dst;
    s->log_fd = -1;
    for (i = 0; i < MAX_CLIENTS; i++)
        s->clients[i].fd = -1;
    if (io->listen_fd >= 0)
        s->replay = malloc(REPLAY_MAX);
    s->streams[0].fd = io->out_fd; s->streams[0].tee = io->tee_out; s->streams[0].name = "stdout";
    s->streams[1].fd = io->err_fd; s->streams[1].tee = io->tee_err; s->streams[1].name = "stderr";
    if (plan->log_path) {
        s->log_fd = open(plan->log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
        if (s->log_fd < 0) {
            pyns_err_set(err, "log", errno, "open ", plan->log_path);
            goto fail_early;
        }
    }
    pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pidfd < 0) {
        pyns_err_set(err, "wait", errno, "pidfd_open", NULL);
        goto fail_early;
    }
    sigemptyset(&mask);
    if (io->flags & PYNS_SUP_FORWARD_SIGNALS) {
        sigaddset(&mask, SIGINT); sigaddset(&mask, SIGTERM); sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGQUIT); sigaddset(&mask, SIGUSR1); sigaddset(&mask, SIGUSR2);
    }
    if (io->flags & PYNS_SUP_TTY)
        sigaddset(&mask, SIGWINCH);
    if (io->flags & PYNS_SUP_REAP_ALL)
        sigaddset(&mask, SIGCHLD);
    pthread_sigmask(SIG_BLOCK, &mask, &old);
    sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

    for (;;) {
        struct pollfd p[5 + MAX_CLIENTS];
        int np = 0, ix_out = -1, ix_err = -1, ix_pid = -1, ix_sig = -1, ix_in = -1, ix_lis = -1;
        int ix_cli[MAX_CLIENTS];
        if (exited && s->streams[0].fd < 0 && s->streams[1].fd < 0)
            break;
        if (s->streams[0].fd >= 0) { ix_out = np; p[np].fd = s->streams[0].fd; p[np++].events = POLLIN; }
        if (s->streams[1].fd >= 0) { ix_err = np; p[np].fd = s->streams[1].fd; p[np++].events = POLLIN; }
        if (!exited) { ix_pid = np; p[np].fd = pidfd; p[np++].events = POLLIN; }
        if (sfd >= 0) { ix_sig = np; p[np].fd = sfd; p[np++].events = POLLIN; }
        if (!exited && in_src >= 0 && s->in_dst >= 0) { ix_in = np; p[np].fd = in_src; p[np++].events = POLLIN; }
        if (!exited && io->listen_fd >= 0) { ix_lis = np; p[np].fd = io->listen_fd; p[np++].events = POLLIN; }
        for (i = 0; i < MAX_CLIENTS; i++) {
            ix_cli[i] = -1;
            if (!exited && s->clients[i].fd >= 0) {
                ix_cli[i] = np;
                p[np].fd = s->clients[i].fd;
                p[np++].events = POLLIN;
            }
        }
        /* Once the process is gone, give lingering writers a moment only. */
        int rc = poll(p, (nfds_t)np, exited ? 200 : -1);
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (rc == 0 && exited)
            break;
        if (ix_out >= 0 && p[ix_out].revents)
            pump(s, &s->streams[0]);
        if (ix_err >= 0 && p[ix_err].revents)
            pump(s, &s->streams[1]);
        if (ix_in >= 0 && p[ix_in].revents) {
            char buf[4096];
            ssize_t r = read(in_src, buf, sizeof buf);
            if (r > 0) {
                write_full(s->in_dst, buf, (size_t)r);
            } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
                in_src = -1;   /* our stdin ended: the container's sees EOF */
                close_input(s);
            }
        }
        if (ix_lis >= 0 && (p[ix_lis].revents & POLLIN))
            accept_client(s);
        for (i = 0; i < MAX_CLIENTS; i++)
            if (ix_cli[i] >= 0 && p[ix_cli[i]].revents)
                client_input(s, &s->clients[i]);
        if (ix_sig >= 0 && (p[ix_sig].revents & POLLIN)) {
            struct signalfd_siginfo si;
            while (read(sfd, &si, sizeof si) == sizeof si)
                on_signal(s, pid, exited, &si, &status, &exited);
        }
        if (!exited && ix_pid >= 0 && (p[ix_pid].revents & POLLIN)) {
            int w = waitpid(pid, &status, __WALL | WNOHANG);
            if (w == pid || (w < 0 && errno == ECHILD))
                exited = 1;
        }
    }
    if (!exited)
        while (waitpid(pid, &status, __WALL) < 0 && errno == EINTR)
            ;
    if (io->flags & PYNS_SUP_REAP_ALL)
        while (waitpid(-1, NULL, WNOHANG) > 0)
            ;
    for (i = 0; i < 2; i++)
        if (s->streams[i].fd >= 0)
            close_stream(s, &s->streams[i]);
    for (i = 0; i < MAX_CLIENTS; i++)
        close_client(&s->clients[i]);
    if (s->in_dst >= 0 && s->in_dst != io->out_fd)
        close(s->in_dst);
    if (sfd >= 0)
        close(sfd);
    close(pidfd);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (s->log_fd >= 0)
        close(s->log_fd);
    free(s->replay);
    free(s->scratch);
    free(s);

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

fail_early:
    if (s->log_fd >= 0)
        close(s->log_fd);
    free(s->replay);
    free(s->scratch);
    free(s);
    return -1;
}
