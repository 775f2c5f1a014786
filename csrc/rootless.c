/* Rootless mode: the pause process's user namespace, and joining it.
 * See pause_main.c for why the namespace lives in a process of its own. */
#include "pyns.h"
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PAUSE_STACK (64 * 1024)

struct pause_ctx {
    const char *exe;
    int wait_fd;
    volatile int exec_errno;
};

/* Shares our memory until it execs (CLONE_VM|CLONE_VFORK): syscalls only. */
static int pause_child(void *arg)
{
    struct pause_ctx *c = arg;
    char *argv[] = {(char *)"pyns-pause", NULL};
    char *envp[] = {NULL};
    sigset_t none;
    pyns_reset_signals();
    if (dup2(c->wait_fd, 3) < 0) {
        c->exec_errno = errno;
        _exit(127);
    }
    syscall(SYS_close_range, 4U, ~0U, 0U);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execve(c->exe, argv, envp);
    c->exec_errno = errno;
    _exit(127);
}

int pyns_pause_spawn(const char *exe, int *release_fd, struct pyns_error *err)
{
    int p[2];
    sigset_t all, old;
    struct pause_ctx ctx;
    memset(err, 0, sizeof *err);
    if (pipe2(p, O_CLOEXEC) < 0) {
        pyns_err_set(err, "rootless", errno, "pipe", NULL);
        return -1;
    }
    char *stack = mmap(NULL, PAUSE_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) {
        pyns_err_set(err, "rootless", errno, "allocate a stack", NULL);
        close(p[0]);
        close(p[1]);
        return -1;
    }
    memset(&ctx, 0, sizeof ctx);
    ctx.exe = exe;
    ctx.wait_fd = p[0];
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int pid = clone(pause_child, stack + PAUSE_STACK, CLONE_NEWUSER | CLONE_VM | CLONE_VFORK | SIGCHLD, &ctx);
    int e = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    munmap(stack, PAUSE_STACK);
    close(p[0]);
    if (pid < 0) {
        pyns_err_set(err, "rootless", e, "clone a user namespace (are unprivileged user namespaces enabled?)", NULL);
        close(p[1]);
        return -1;
    }
    if (ctx.exec_errno) {
        pyns_err_set(err, "rootless", ctx.exec_errno, "exec ", exe);
        close(p[1]);
        return -1; /* the child exited: the caller's waitpid reaps it */
    }
    *release_fd = p[1];
    return pid;
}

int pyns_setns(int fd, int nstype, struct pyns_error *err)
{
    memset(err, 0, sizeof *err);
    if (setns(fd, nstype) < 0) {
        pyns_err_set(err, "setns", errno, "join a namespace", NULL);
        return -1;
    }
    return 0;
}
