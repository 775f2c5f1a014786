/* User namespaces for --userns-remap: the namespace itself and idmapped
 * views of the image layers.
 *
 * The container's user namespace is made up front, by a helper that only
 * exists to own it while its maps are written: the parent writes
 * uid_map/gid_map from outside (as host root it may map any range and
 * setgroups stays allowed), keeps an fd on /proc/HELPER/ns/user and lets
 * the helper exit. The container's child then does every privileged step
 * as host root (cgroups, network, the overlay mount, device nodes) and
 * enters this namespace last, just before it sets its ids, so the
 * overlay is mounted with the host's credentials (trusted.* xattrs,
 * whiteouts and copy-up behave as without remapping).
 *
 * The image layers stay on disk with the image's own ids, shared with
 * unmapped containers: the child replaces the layer directories in its
 * private mount namespace with idmapped clones (open_tree +
 * mount_setattr(MOUNT_ATTR_IDMAP) + move_mount), so a file the image owns
 * as 0 is seen as the mapped root. The container's upper dir is not
 * idmapped: what the container writes is stored with host ids of the
 * mapped range, as docker's remapped storage does. */
#include "pyns.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif

#define HELPER_STACK (16 * 1024)

/* The helper shares our memory (CLONE_VM: nothing is copied) and only
 * blocks on the pipe until its namespace has been captured. All signals
 * stay blocked in it (inherited mask), so no handler of ours runs there. */
static int helper_main(void *arg)
{
    int fd = *(int *)arg;
    char c;
    while (read(fd, &c, 1) < 0 && errno == EINTR)
        ;
    _exit(0);
}

static int write_proc(int pid, const char *name, const char *text)
{
    char path[64];
    pyns_proc_path(path, sizeof path, pid, name);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t n = strlen(text);
    ssize_t w = write(fd, text, n);
    int e = errno;
    close(fd);
    if (w != (ssize_t)n) {
        errno = w < 0 ? e : EIO;
        return -1;
    }
    return 0;
}

int pyns_userns_create(const char *uid_map, const char *gid_map, struct pyns_error *err)
{
    int p[2], fd = -1, pid;
    sigset_t all, old;
    if (pipe2(p, O_CLOEXEC) < 0) {
        pyns_err_set(err, "userns", errno, "pipe", NULL);
        return -1;
    }
    char *stack = mmap(NULL, HELPER_STACK, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) {
        pyns_err_set(err, "userns", errno, "allocate helper stack", NULL);
        close(p[0]);
        close(p[1]);
        return -1;
    }
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid = clone(helper_main, stack + HELPER_STACK, CLONE_NEWUSER | CLONE_VM | SIGCHLD, &p[0]);
    int clone_errno = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (pid < 0) {
        pyns_err_set(err, "userns", clone_errno, "clone a user namespace", NULL);
    } else if (write_proc(pid, "uid_map", uid_map) < 0) {
        pyns_err_set(err, "userns", errno, "write uid_map ", uid_map);
    } else if (write_proc(pid, "gid_map", gid_map) < 0) {
        pyns_err_set(err, "userns", errno, "write gid_map ", gid_map);
    } else {
        char path[64];
        pyns_proc_path(path, sizeof path, pid, "ns/user");
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            pyns_err_set(err, "userns", errno, "open ", path);
    }
    if (pid > 0) {
        /* The helper holds its own copy of both pipe ends: wake it with a byte. */
        while (write(p[1], "x", 1) < 0 && errno == EINTR)
            ;
        while (waitpid(pid, NULL, __WALL) < 0 && errno == EINTR)
            ;
    }
    munmap(stack, HELPER_STACK);
    close(p[0]);
    close(p[1]);
    return fd;
}

/* A detached clone of dir whose ids are shifted through userns_fd. */
static int idmapped_clone(const char *dir, int userns_fd)
{
    int t = (int)syscall(SYS_open_tree, AT_FDCWD, dir, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    if (t < 0)
        return -1;
    struct mount_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.attr_set = MOUNT_ATTR_IDMAP;
    attr.userns_fd = (uint64_t)userns_fd;
    if (syscall(SYS_mount_setattr, t, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0) {
        int e = errno;
        close(t);
        errno = e;
        return -1;
    }
    return t;
}

int pyns_idmap_probe(const char *dir, int userns_fd, struct pyns_error *err)
{
    int t = idmapped_clone(dir, userns_fd);
    if (t < 0) {
        pyns_err_set(err, "userns", errno, "idmapped mount of ", dir);
        return -1;
    }
    close(t); /* never attached: dropping the fd frees it */
    return 0;
}

int pyns_idmap_over(const char *dir, int userns_fd, struct pyns_error *err)
{
    int t = idmapped_clone(dir, userns_fd);
    if (t < 0) {
        pyns_err_set(err, "userns", errno, "idmapped mount of ", dir);
        return -1;
    }
    int rc = (int)syscall(SYS_move_mount, t, "", AT_FDCWD, dir, MOVE_MOUNT_F_EMPTY_PATH);
    int e = errno;
    close(t);
    if (rc < 0) {
        pyns_err_set(err, "userns", e, "attach idmapped mount on ", dir);
        return -1;
    }
    return 0;
}
