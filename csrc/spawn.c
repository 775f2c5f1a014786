/* clone() with namespace flags, then everything up to execve() in C.
 *
 * The child is created with CLONE_VM|CLONE_VFORK: no page tables are
 * copied (a big Python parent costs nothing extra) and the caller sleeps
 * until the child has exec'd or died. Because the child shares memory it
 * reports failure by writing (step, errno, message) straight into the
 * caller's struct pyns_error and setting a flag, then _exit()s. It also
 * writes its phase timestamps into the caller's array.
 *
 * A child that must enter a user namespace (--userns-remap, or an exec
 * into such a container) cannot share memory: the kernel lets only a
 * process with its own mm setns() into a user namespace. It is cloned
 * without CLONE_VM (still CLONE_VFORK) and reports through a MAP_SHARED
 * page instead; only this path pays for copying the page tables.
 *
 * The child joins its cgroups itself (writing "0" to cgroup.procs), so it
 * is in its cgroup before it execs and the parent has nothing to do in
 * between; the cgroup namespace is unshared afterwards so its root is the
 * container's own cgroup. */
#include "pyns.h"
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <termios.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

#define CHILD_STACK (256 * 1024)

/* Namespaces an exec joins, in setns order: the mount namespace after
 * those whose handles are host paths, the user namespace last (its root
 * has no rights over the others, which belong to the host's). */
#define NJOIN 6
#define JOIN_USER 5
static const char *const join_names[NJOIN] = {"cgroup", "ipc", "uts", "net", "mnt", "user"};
static const int join_types[NJOIN] = {CLONE_NEWCGROUP, CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWNET, CLONE_NEWNS,
                                      CLONE_NEWUSER};

/* What a child without CLONE_VM reports through (MAP_SHARED). */
struct shared_out {
    struct pyns_error err;
    long long ts[PYNS_TS_COUNT];
    int failed;
};

struct child_ctx {
    const struct pyns_plan *plan;
    int join_fds[NJOIN];
    int stdio[3];
    int console_sock;
    int userns_fd;        /* --userns-remap: entered last, before the ids are set */
    long long *ts;
    struct pyns_error *err;
    volatile int *failed;
};

long long pyns_monotonic_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

long long pyns_realtime_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

void pyns_reset_signals(void)
{
    struct sigaction sa;
    int sig;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    for (sig = 1; sig < _NSIG; sig++)
        sigaction(sig, &sa, NULL); /* EINVAL for SIGKILL/SIGSTOP is fine */
}

static int write_all(int fd, const char *s, size_t n)
{
    while (n > 0) {
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

static int join_cgroups(const struct pyns_plan *plan, struct pyns_error *err)
{
    size_t i;
    for (i = 0; i < plan->ncgroup_procs; i++) {
        int fd = open(plan->cgroup_procs[i], O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write_all(fd, "0", 1) < 0) {
            pyns_err_set(err, "cgroup", errno, "join ", plan->cgroup_procs[i]);
            if (fd >= 0)
                close(fd);
            return -1;
        }
        close(fd);
    }
    if (plan->cgroupns && unshare(CLONE_NEWCGROUP) < 0) {
        pyns_err_set(err, "cgroup", errno, "unshare cgroup namespace", NULL);
        return -1;
    }
    return 0;
}

static int setup_network(const struct pyns_plan *plan, struct pyns_error *err)
{
    if (plan->netns) {
        int fd = open(plan->netns, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
            pyns_err_set(err, "network", errno, "join network namespace ", plan->netns);
            if (fd >= 0)
                close(fd);
            return -1;
        }
        close(fd);
    }
    if (plan->lo_up) {
        struct ifreq ifr;
        int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (s < 0) {
            pyns_err_set(err, "network", errno, "socket for lo", NULL);
            return -1;
        }
        memset(&ifr, 0, sizeof ifr);
        pyns_strlcpy(ifr.ifr_name, "lo", sizeof ifr.ifr_name);
        int rc = ioctl(s, SIOCGIFFLAGS, &ifr);
        if (rc == 0) {
            ifr.ifr_flags |= IFF_UP;
            rc = ioctl(s, SIOCSIFFLAGS, &ifr);
        }
        int e = errno;
        close(s);
        if (rc < 0) {
            pyns_err_set(err, "network", e, "bring lo up", NULL);
            return -1;
        }
    }
    return 0;
}

/* Namespaced sysctls (net.*, the ipc ones): /proc/sys shows the values of
 * the namespaces the writer is in, so this runs after they are joined. */
static int set_sysctls(const struct pyns_plan *plan, struct pyns_error *err)
{
    size_t i;
    for (i = 0; i + 1 < plan->nsysctls; i += 2) {
        char path[256];
        char *q;
        pyns_strlcpy(path, "/proc/sys/", sizeof path);
        pyns_strlcat(path, plan->sysctls[i], sizeof path);
        for (q = path + 10; *q; q++)
            if (*q == '.')
                *q = '/';
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write_all(fd, plan->sysctls[i + 1], strlen(plan->sysctls[i + 1])) < 0) {
            pyns_err_set(err, "sysctl", errno, "set ", plan->sysctls[i]);
            if (fd >= 0)
                close(fd);
            return -1;
        }
        close(fd);
    }
    return 0;
}

static int set_rlimits(const struct pyns_plan *plan, struct pyns_error *err)
{
    size_t i;
    for (i = 0; i < plan->nrlimits; i++) {
        struct rlimit r;
        r.rlim_cur = plan->rlimits[i].soft;
        r.rlim_max = plan->rlimits[i].hard;
        if (syscall(SYS_prlimit64, 0, plan->rlimits[i].resource, &r, NULL) < 0) {
            pyns_err_set(err, "rlimit", errno, "setrlimit", NULL);
            return -1;
        }
    }
    return 0;
}

static int mkdir_p(const char *path)
{
    char buf[4096];
    size_t i, n = pyns_strlcpy(buf, path, sizeof buf);
    for (i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, 0755) < 0 && errno != EEXIST)
                return -1;
            buf[i] = c;
        }
    }
    return 0;
}

static int setup_stdio(const int stdio[3], struct pyns_error *err)
{
    int tmp[3], i;
    /* Move to high fds first so that 0/1/2 in the source list survive. */
    for (i = 0; i < 3; i++) {
        tmp[i] = -1;
        if (stdio[i] >= 0 && (tmp[i] = fcntl(stdio[i], F_DUPFD_CLOEXEC, 10)) < 0) {
            pyns_err_set(err, "stdio", errno, "dup", NULL);
            return -1;
        }
    }
    for (i = 0; i < 3; i++) {
        if (tmp[i] >= 0 && dup2(tmp[i], i) < 0) {
            pyns_err_set(err, "stdio", errno, "dup2", NULL);
            return -1;
        }
    }
    syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
    return 0;
}

static const char *env_path(char *const *env)
{
    for (; *env; env++)
        if (!strncmp(*env, "PATH=", 5))
            return *env + 5;
    return "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
}

/* execve with a PATH search in the container's PATH (not the caller's). */
static void exec_command(const struct pyns_plan *plan, struct pyns_error *err)
{
    const char *file = plan->argv[0];
    if (strchr(file, '/')) {
        execve(file, plan->argv, plan->env);
        pyns_err_set(err, "exec", errno, file, NULL);
        return;
    }
    const char *p = env_path(plan->env);
    int saw_eacces = 0, last = ENOENT;
    char buf[4096];
    while (*p) {
        const char *colon = strchr(p, ':');
        size_t n = colon ? (size_t)(colon - p) : strlen(p);
        if (n == 0) {
            buf[0] = '.';
            n = 1;
        } else {
            if (n >= sizeof buf - 2)
                n = sizeof buf - 2;
            memcpy(buf, p, n);
        }
        buf[n] = '/';
        buf[n + 1] = '\0';
        pyns_strlcat(buf, file, sizeof buf);
        execve(buf, plan->argv, plan->env);
        if (errno == EACCES)
            saw_eacces = 1;
        else if (errno != ENOENT && errno != ENOTDIR) {
            last = errno;
            break;
        }
        p = colon ? colon + 1 : p + strlen(p);
    }
    pyns_err_set(err, "exec", saw_eacces ? EACCES : last, file, NULL);
}

/* exec: enter the target's namespaces (opened by the parent); the pid
 * namespace was entered by the parent for us (it only applies to children). */
static int join_namespaces(struct child_ctx *c, struct pyns_error *err)
{
    int i;
    for (i = 0; i < NJOIN; i++) {
        if (c->join_fds[i] >= 0 && setns(c->join_fds[i], join_types[i]) < 0) {
            pyns_err_set(err, "setns", errno, "join namespace ", join_names[i]);
            return -1;
        }
    }
    return 0;
}

/* A pty from the container's own devpts instance (so `tty` inside names
 * /dev/pts/N and no host pty is visible): the master goes to the caller,
 * the slave becomes the controlling terminal, stdio and /dev/console. */
static int setup_tty(const struct pyns_plan *plan, int console_sock, struct pyns_error *err)
{
    char path[64], num[24];
    int zero = 0;
    unsigned int n;
    int m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (m < 0) {
        pyns_err_set(err, "tty", errno, "open /dev/ptmx", NULL);
        return -1;
    }
    if (ioctl(m, TIOCSPTLCK, &zero) < 0 || ioctl(m, TIOCGPTN, &n) < 0) {
        pyns_err_set(err, "tty", errno, "unlock pty", NULL);
        return -1;
    }
    pyns_fmt_u64(num, sizeof num, n);
    pyns_strlcpy(path, "/dev/pts/", sizeof path);
    pyns_strlcat(path, num, sizeof path);
    int s = open(path, O_RDWR | O_NOCTTY);
    if (s < 0) {
        pyns_err_set(err, "tty", errno, "open ", path);
        return -1;
    }
    if (plan->has_userns_root && !plan->join_pid && fchown(s, plan->userns_uid, (gid_t)-1) < 0) {
        pyns_err_set(err, "tty", errno, "chown ", path);
        return -1;
    }
    if (plan->rows && plan->cols) {
        struct winsize ws;
        memset(&ws, 0, sizeof ws);
        ws.ws_row = plan->rows;
        ws.ws_col = plan->cols;
        ioctl(s, TIOCSWINSZ, &ws);
    }
    if (!plan->join_pid) {
        int f = open("/dev/console", O_CREAT | O_WRONLY | O_NOCTTY | O_CLOEXEC, 0600);
        if (f >= 0)
            close(f);
        if (mount(path, "/dev/console", NULL, MS_BIND, NULL) < 0) {
            pyns_err_set(err, "tty", errno, "bind pty on /dev/console", NULL);
            return -1;
        }
    }
    if (pyns_send_fd(console_sock, m) < 0) {
        pyns_err_set(err, "tty", errno, "send pty master", NULL);
        return -1;
    }
    close(m);
    if (setsid() < 0 || ioctl(s, TIOCSCTTY, 0) < 0) {
        pyns_err_set(err, "tty", errno, "make the pty the controlling terminal", NULL);
        return -1;
    }
    int i;
    for (i = 0; i < 3; i++)
        if (dup2(s, i) < 0) {
            pyns_err_set(err, "tty", errno, "dup2", NULL);
            return -1;
        }
    if (s > 2)
        close(s);
    syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
    return 0;
}

static int child_main(void *arg)
{
    struct child_ctx *c = arg;
    const struct pyns_plan *plan = c->plan;
    struct pyns_error *err = c->err;
    long long *ts = c->ts;
    sigset_t none;

    pyns_reset_signals();
    if (ts)
        ts[PYNS_TS_CHILD] = pyns_monotonic_ns();
    if (plan->pdeathsig && prctl(PR_SET_PDEATHSIG, plan->pdeathsig, 0, 0, 0) < 0) {
        pyns_err_set(err, "pdeathsig", errno, "prctl", NULL);
        goto fail;
    }
    if (join_cgroups(plan, err) < 0)
        goto fail;
    if (ts)
        ts[PYNS_TS_CGROUP] = pyns_monotonic_ns();
    if (plan->join_pid) {
        if (join_namespaces(c, err) < 0)
            goto fail;
        goto process;
    }
    if (setup_network(plan, err) < 0 || set_sysctls(plan, err) < 0)
        goto fail;
    if (ts)
        ts[PYNS_TS_NETWORK] = pyns_monotonic_ns();
    if (pyns_setup_rootfs(plan, c->userns_fd, ts, err) < 0)
        goto fail;
    if (plan->hostname && sethostname(plan->hostname, strlen(plan->hostname)) < 0) {
        pyns_err_set(err, "hostname", errno, "sethostname ", plan->hostname);
        goto fail;
    }
    if (set_rlimits(plan, err) < 0)
        goto fail;
process:
    if (plan->tty && setup_tty(plan, c->console_sock, err) < 0)
        goto fail;
    if (c->userns_fd >= 0 && setns(c->userns_fd, CLONE_NEWUSER) < 0) {
        pyns_err_set(err, "userns", errno, "enter the container's user namespace", NULL);
        goto fail;
    }
    if (plan->cwd) {
        if (mkdir_p(plan->cwd) < 0 && errno != EROFS) {
            pyns_err_set(err, "chdir", errno, "mkdir ", plan->cwd);
            goto fail;
        }
        if (chdir(plan->cwd) < 0) {
            pyns_err_set(err, "chdir", errno, "chdir ", plan->cwd);
            goto fail;
        }
    }
    if (!plan->tty && setup_stdio(c->stdio, err) < 0)
        goto fail;
    if (pyns_setup_identity(plan, err) < 0)
        goto fail;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (ts)
        ts[PYNS_TS_EXEC] = pyns_monotonic_ns();
    exec_command(plan, err);
fail:
    *c->failed = 1;
    _exit(127);
}

static int same_ns(int a, int b)
{
    struct stat sa, sb;
    return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_ino == sb.st_ino && sa.st_dev == sb.st_dev;
}

static int open_ns(int pid, const char *name)
{
    char path[64], rel[32];
    pyns_strlcpy(rel, "ns/", sizeof rel);
    pyns_strlcat(rel, name, sizeof rel);
    pyns_proc_path(path, sizeof path, pid, rel);
    return open(path, O_RDONLY | O_CLOEXEC);
}

static void close_join_fds(int fds[NJOIN], int *pidns_restore)
{
    int i;
    for (i = 0; i < NJOIN; i++)
        if (fds[i] >= 0) {
            close(fds[i]);
            fds[i] = -1;
        }
    if (*pidns_restore >= 0) {
        setns(*pidns_restore, CLONE_NEWPID); /* back to our own for later children */
        close(*pidns_restore);
        *pidns_restore = -1;
    }
}

/* Open the namespaces of pid that differ from ours (a container sharing
 * the host's network has nothing to join there) and enter its pid
 * namespace for our next child (per thread; undone by close_join_fds). */
static int open_join_fds(int pid, int fds[NJOIN], int *pidns_restore, struct pyns_error *err)
{
    int i;
    for (i = 0; i < NJOIN; i++) {
        int theirs = open_ns(pid, join_names[i]), ours = open_ns(getpid(), join_names[i]);
        if (theirs < 0) {
            pyns_err_set(err, "setns", errno, "open namespace ", join_names[i]);
            if (ours >= 0)
                close(ours);
            close_join_fds(fds, pidns_restore);
            return -1;
        }
        if (ours >= 0 && same_ns(theirs, ours)) {
            close(theirs);
            theirs = -1;
        }
        if (ours >= 0)
            close(ours);
        fds[i] = theirs;
    }
    int theirs = open_ns(pid, "pid");
    int ours = open("/proc/thread-self/ns/pid_for_children", O_RDONLY | O_CLOEXEC);
    if (theirs < 0 || ours < 0) {
        pyns_err_set(err, "setns", errno, "open pid namespace", NULL);
    } else if (!same_ns(theirs, ours)) {
        if (setns(theirs, CLONE_NEWPID) < 0) {
            pyns_err_set(err, "setns", errno, "join pid namespace", NULL);
        } else {
            *pidns_restore = ours;
            ours = -1;
        }
    }
    if (theirs >= 0)
        close(theirs);
    if (ours >= 0)
        close(ours);
    if (err->errnum) {
        close_join_fds(fds, pidns_restore);
        return -1;
    }
    return 0;
}

int pyns_spawn(const struct pyns_plan *plan, int stdin_fd, int stdout_fd, int stderr_fd,
               int console_sock, long long *ts, struct pyns_error *err)
{
    struct child_ctx ctx;
    struct shared_out *shared = NULL;
    volatile int failed = 0;
    sigset_t all, old;
    int i, pid = -1, clone_errno = 0;

    memset(err, 0, sizeof *err);
    if (ts)
        for (i = 0; i < PYNS_TS_COUNT; i++)
            ts[i] = 0;
    memset(&ctx, 0, sizeof ctx);
    ctx.plan = plan;
    ctx.stdio[0] = stdin_fd;
    ctx.stdio[1] = stdout_fd;
    ctx.stdio[2] = stderr_fd;
    ctx.console_sock = console_sock;
    ctx.userns_fd = -1;
    if (plan->tty && console_sock < 0) {
        pyns_err_set(err, "tty", EINVAL, "a tty needs a console socket", NULL);
        return -1;
    }
    ctx.ts = ts;
    ctx.err = err;
    ctx.failed = &failed;

    for (i = 0; i < NJOIN; i++)
        ctx.join_fds[i] = -1;
    int pidns_restore = -1;
    if (plan->join_pid && open_join_fds(plan->join_pid, ctx.join_fds, &pidns_restore, err) < 0)
        return -1;
    if (plan->uid_map && (ctx.userns_fd = pyns_userns_create(plan->uid_map, plan->gid_map, err)) < 0)
        goto out;
    int own_mm = ctx.userns_fd >= 0 || ctx.join_fds[JOIN_USER] >= 0;
    if (own_mm) {
        shared = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (shared == MAP_FAILED) {
            shared = NULL;
            pyns_err_set(err, "clone", errno, "allocate the child's report page", NULL);
            goto out;
        }
        ctx.err = &shared->err;
        ctx.ts = ts ? shared->ts : NULL;
        ctx.failed = &shared->failed;
    }

    char *stack = mmap(NULL, CHILD_STACK, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) {
        pyns_err_set(err, "clone", errno, "allocate child stack", NULL);
        goto out;
    }
    /* No signal handler of the caller may run in the child (it shares the
     * caller's memory); the child resets them all before unblocking. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    if (ts)
        ts[PYNS_TS_START] = pyns_monotonic_ns();
    pid = clone(child_main, stack + CHILD_STACK,
                plan->clone_flags | (own_mm ? 0 : CLONE_VM) | CLONE_VFORK | SIGCHLD, &ctx);
    clone_errno = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    munmap(stack, CHILD_STACK);
    if (shared) {
        failed = shared->failed;
        if (failed)
            *err = shared->err;
        if (ts)
            for (i = PYNS_TS_CHILD; i < PYNS_TS_RETURN; i++)
                ts[i] = shared->ts[i];
    }
    if (ts)
        ts[PYNS_TS_RETURN] = pyns_monotonic_ns();
    if (pid < 0)
        pyns_err_set(err, "clone", clone_errno, "clone with namespace flags", NULL);
    else if (failed) {
        while (waitpid(pid, NULL, __WALL) < 0 && errno == EINTR)
            ;
        pid = -1;
    }
out:
    if (shared)
        munmap(shared, sizeof *shared);
    if (ctx.userns_fd >= 0)
        close(ctx.userns_fd);
    close_join_fds(ctx.join_fds, &pidns_restore);
    return pid;
}
