/* pyns native API: the part Python sees through cffi.
 *
 * This header must stay parseable by cffi's cdef (plain declarations and
 * integer #defines only): csrc/native_build.py feeds it to cdef verbatim.
 * Every function returns a negative value on failure and fills one
 * struct pyns_error: the step that failed, errno, and a message with
 * context (paths, names) that Python turns into one exception.
 */

#define PYNS_TS_START 0
#define PYNS_TS_CHILD 1
#define PYNS_TS_CGROUP 2
#define PYNS_TS_NETWORK 3
#define PYNS_TS_ROOTFS 4
#define PYNS_TS_PIVOT 5
#define PYNS_TS_EXEC 6
#define PYNS_TS_RETURN 7
#define PYNS_TS_COUNT 8

#define PYNS_SUP_FORWARD_SIGNALS 1
#define PYNS_SUP_REAP_ALL 2
#define PYNS_SUP_TTY 4          /* out_fd is a pty master: resize it on SIGWINCH from fd 0 */

/* Attach protocol, client -> supervisor: frames of 1 type byte, a 2-byte
 * big-endian length, then the payload. Supervisor -> client: raw output. */
#define PYNS_ATTACH_DATA 0
#define PYNS_ATTACH_RESIZE 1    /* payload: rows, cols as 2-byte big-endian each */
#define PYNS_ATTACH_CLOSE_STDIN 2

struct pyns_error {
    int errnum;          /* errno of the failing call, 0 if none */
    char step[32];       /* "clone", "cgroup", "mount", "pivot_root", "exec", ... */
    char msg[480];       /* what was being done, with paths */
};

struct pyns_exit {
    int exit_code;       /* docker style: the code, or 128+signal */
    int signal;          /* terminating signal, 0 if it exited */
    int oom_killed;      /* the cgroup's oom_kill counter went up */
    long long finished_ns;   /* CLOCK_REALTIME, nanoseconds */
};

struct pyns_plan;

struct pyns_plan *pyns_plan_parse(const char *buf, size_t len, struct pyns_error *err);
void pyns_plan_free(struct pyns_plan *plan);

/* What the supervisor relays. Any fd may be -1 (none). */
struct pyns_io {
    int out_fd;       /* container stdout pipe, or the pty master with a tty */
    int err_fd;       /* container stderr pipe */
    int in_src;       /* copy from here (our stdin) ... */
    int in_dst;       /* ... to here (the container's stdin pipe or pty master) */
    int tee_out;      /* also write stdout here (our terminal) */
    int tee_err;
    int listen_fd;    /* attach socket: clients get output, send input/resize */
    int flags;        /* PYNS_SUP_* */
};

/* clone + child setup + execve. Returns the pid (in the caller's pid
 * namespace) once the child has exec'd, or -1 with err filled when any
 * step failed (the child is reaped). With a tty in the plan the child
 * makes a pty in the container's devpts, sends the master over
 * console_sock (SCM_RIGHTS) and uses the slave as stdio; the stdio fds are
 * ignored. ts receives PYNS_TS_COUNT CLOCK_MONOTONIC nanosecond
 * timestamps (0 for steps not reached). */
int pyns_spawn(const struct pyns_plan *plan, int stdin_fd, int stdout_fd, int stderr_fd,
               int console_sock, long long *ts, struct pyns_error *err);

/* Relay io until pid exits (output to the tee fds, attached clients and
 * the plan's log as docker json-file lines; input from in_src and clients
 * to in_dst), then record the exit in the plan's exit file. Closes out_fd,
 * err_fd and in_dst. */
int pyns_supervise(const struct pyns_plan *plan, int pid, const struct pyns_io *io,
                   struct pyns_exit *ex, struct pyns_error *err);

long long pyns_monotonic_ns(void);

/* A user namespace with these maps ("inside outside count" lines), kept
 * by the returned fd (O_CLOEXEC); the helper that made it is gone. */
int pyns_userns_create(const char *uid_map, const char *gid_map, struct pyns_error *err);
/* 0 when dir can be idmapped through userns_fd (its filesystem supports
 * idmapped mounts), else -1 with err; nothing stays mounted. */
int pyns_idmap_probe(const char *dir, int userns_fd, struct pyns_error *err);

/* Rootless: start exe (pyns-pause) in a new user namespace; it waits until
 * *release_fd (ours, O_CLOEXEC) gets a byte, which the caller writes once
 * newuidmap/newgidmap have mapped it. Returns its pid. */
int pyns_pause_spawn(const char *exe, int *release_fd, struct pyns_error *err);
/* setns(2) for Python 3.11, which has no os.setns. */
int pyns_setns(int fd, int nstype, struct pyns_error *err);


/* Layer extraction (untar.c): feed the plain tar stream in chunks; files
 * are created under dest as they arrive. feed returns 1 once the
 * end-of-archive block was read (later bytes are ignored), 0 for more.
 * finish checks the stream ended on an entry boundary and restores
 * directory times. Errors are LayerError-worthy messages in err->msg. */
#define PYNS_UNTAR_SAME_OWNER 1     /* restore uid/gid (root) */
#define PYNS_UNTAR_USER_XATTR 2     /* opaque dirs as user.overlay.opaque (rootless) */

struct pyns_untar_result {
    long long size;          /* bytes of regular-file content */
    long long entries;
    int warnings;            /* xattrs skipped (reserved or unsupported) */
    char warning[256];       /* the last of them */
};

struct pyns_untar;
struct pyns_untar *pyns_untar_new(const char *dest, int flags, struct pyns_error *err);
int pyns_untar_feed(struct pyns_untar *u, const unsigned char *buf, size_t len, struct pyns_error *err);
int pyns_untar_finish(struct pyns_untar *u, struct pyns_untar_result *res, struct pyns_error *err);
void pyns_untar_free(struct pyns_untar *u);
