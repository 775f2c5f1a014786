/* Child side: build the container's root filesystem and pivot into it.
 *
 * Runs between clone() and execve() in a child that shares the caller's
 * memory (CLONE_VM|CLONE_VFORK): only syscalls and stack buffers, no
 * malloc, no stdio, no locks. Container paths are resolved with
 * openat2(RESOLVE_IN_ROOT) against a handle on the new root, so a symlink
 * in an image can never send a mkdir or a mount outside of it; mounts are
 * then made on the /proc/self/fd/N magic link of the resolved target. */
#include "pyns.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define PATH_BUF 4096

static int open_in_root(int rootfd, const char *path, int flags)
{
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = (uint64_t)(flags | O_CLOEXEC);
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    while (*path == '/')
        path++;
    if (!*path)
        path = ".";
    return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof how);
}

/* Split "a/b/c" into parent "a/b" (copied into parent, "" for the root)
 * and return a pointer to the last component "c" inside path. Python
 * hands over normalised absolute paths (no "..", no trailing slash). */
static const char *split_parent(const char *path, char *parent, size_t size)
{
    while (*path == '/')
        path++;
    const char *slash = strrchr(path, '/');
    if (!slash) {
        parent[0] = '\0';
        return path;
    }
    size_t n = (size_t)(slash - path);
    if (n >= size)
        n = size - 1;
    memcpy(parent, path, n);
    parent[n] = '\0';
    return slash + 1;
}

/* mkdir -p inside the root; returns an O_PATH fd on the directory. */
static int mkdir_in_root(int rootfd, const char *path, unsigned mode)
{
    int fd = open_in_root(rootfd, path, O_PATH | O_DIRECTORY);
    if (fd >= 0 || errno != ENOENT)
        return fd;
    char parent[PATH_BUF];
    const char *name = split_parent(path, parent, sizeof parent);
    int pfd = mkdir_in_root(rootfd, parent, 0755);
    if (pfd < 0)
        return -1;
    if (mkdirat(pfd, name, mode) < 0 && errno != EEXIST) {
        int e = errno;
        close(pfd);
        errno = e;
        return -1;
    }
    close(pfd);
    return open_in_root(rootfd, path, O_PATH | O_DIRECTORY);
}

/* Create an empty file inside the root (a bind-mount target for a file). */
static int touch_in_root(int rootfd, const char *path)
{
    int fd = open_in_root(rootfd, path, O_PATH);
    if (fd >= 0 || errno != ENOENT)
        return fd;
    char parent[PATH_BUF];
    const char *last = split_parent(path, parent, sizeof parent);
    int pfd = mkdir_in_root(rootfd, parent, 0755);
    if (pfd < 0)
        return -1;
    int f = openat(pfd, last, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
    int e = errno;
    close(pfd);
    if (f < 0 && e != EEXIST) {
        errno = e;
        return -1;
    }
    if (f >= 0)
        close(f);
    return open_in_root(rootfd, path, O_PATH);
}

static void fd_path(char *buf, size_t size, int fd)
{
    char num[24];
    pyns_fmt_u64(num, sizeof num, (unsigned long long)fd);
    pyns_strlcpy(buf, "/proc/self/fd/", size);
    pyns_strlcat(buf, num, size);
}

static unsigned long locked_flags(const char *path)
{
    struct statvfs st;
    unsigned long f = 0;
    if (statvfs(path, &st) < 0)
        return 0;
    if (st.f_flag & ST_NOSUID) f |= MS_NOSUID;
    if (st.f_flag & ST_NODEV) f |= MS_NODEV;
    if (st.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
    if (st.f_flag & ST_RDONLY) f |= MS_RDONLY;
    return f;
}

static int do_mount(int rootfd, const struct pyns_op *op, struct pyns_error *err)
{
    int is_bind = op->fstype && !strcmp(op->fstype, "bind");
    int fd;
    char target[64];
    if (op->flags & MS_REMOUNT) {
        fd = open_in_root(rootfd, op->dst, O_PATH);
    } else if (is_bind) {
        struct stat st;
        if (stat(op->src, &st) < 0) {
            pyns_err_set(err, "mount", errno, "bind source ", op->src);
            return -1;
        }
        fd = S_ISDIR(st.st_mode) ? mkdir_in_root(rootfd, op->dst, 0755) : touch_in_root(rootfd, op->dst);
    } else {
        fd = mkdir_in_root(rootfd, op->dst, 0755);
    }
    if (fd < 0) {
        pyns_err_set(err, "mount", errno, "mountpoint ", op->dst);
        return -1;
    }
    fd_path(target, sizeof target, fd);
    int rc;
    if (is_bind) {
        unsigned long extra = op->flags & ~(unsigned long)(MS_BIND | MS_REC);
        rc = mount(op->src, target, NULL, MS_BIND | (op->flags & MS_REC), NULL);
        if (rc == 0 && extra) {
            /* Re-open: the fd still names the mountpoint below the bind. */
            close(fd);
            fd = open_in_root(rootfd, op->dst, O_PATH);
            if (fd < 0) {
                pyns_err_set(err, "mount", errno, "reopen ", op->dst);
                return -1;
            }
            fd_path(target, sizeof target, fd);
            unsigned long keep = locked_flags(target) & ~(unsigned long)MS_RDONLY;
            rc = mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | extra | keep, NULL);
        }
    } else {
        rc = mount(op->src, target, op->fstype, op->flags, op->data);
    }
    int e = errno;
    close(fd);
    if (rc < 0) {
        pyns_err_set(err, "mount", e, is_bind ? "bind " : (op->fstype ? op->fstype : "mount"), NULL);
        pyns_strlcat(err->msg, " on ", sizeof err->msg);
        pyns_strlcat(err->msg, op->dst, sizeof err->msg);
        return -1;
    }
    return 0;
}

static int do_mknod(int rootfd, const struct pyns_plan *plan, const struct pyns_op *op, struct pyns_error *err)
{
    char parent[PATH_BUF];
    const char *last = split_parent(op->dst, parent, sizeof parent);
    int pfd = mkdir_in_root(rootfd, parent, 0755);
    if (pfd < 0) {
        pyns_err_set(err, "mknod", errno, "parent of ", op->dst);
        return -1;
    }
    int rc = mknodat(pfd, last, op->mode, makedev(op->major, op->minor));
    int e = rc < 0 ? errno : 0;
    if (rc == 0)
        rc = fchmodat(pfd, last, op->mode & 07777, 0);
    /* Made by host root: give it to the container's (remapped) root. */
    if (rc == 0 && plan->has_userns_root)
        rc = fchownat(pfd, last, plan->userns_uid, plan->userns_gid, AT_SYMLINK_NOFOLLOW);
    if (rc < 0 && e == 0)
        e = errno;
    close(pfd);
    if (rc < 0 && e != EEXIST) {
        pyns_err_set(err, "mknod", e, "", op->dst);
        return -1;
    }
    return 0;
}

static int do_symlink(int rootfd, const struct pyns_plan *plan, const struct pyns_op *op, struct pyns_error *err)
{
    char parent[PATH_BUF];
    const char *last = split_parent(op->dst, parent, sizeof parent);
    int pfd = mkdir_in_root(rootfd, parent, 0755);
    if (pfd < 0) {
        pyns_err_set(err, "symlink", errno, "parent of ", op->dst);
        return -1;
    }
    int rc = symlinkat(op->src, pfd, last);
    int e = errno;
    if (rc == 0 && plan->has_userns_root &&
        fchownat(pfd, last, plan->userns_uid, plan->userns_gid, AT_SYMLINK_NOFOLLOW) < 0) {
        rc = -1;
        e = errno;
    }
    close(pfd);
    if (rc < 0 && e != EEXIST) {
        pyns_err_set(err, "symlink", e, "", op->dst);
        return -1;
    }
    return 0;
}

static int do_mkdir(int rootfd, const struct pyns_op *op, struct pyns_error *err)
{
    int fd = mkdir_in_root(rootfd, op->dst, op->mode);
    if (fd < 0) {
        pyns_err_set(err, "mkdir", errno, "", op->dst);
        return -1;
    }
    close(fd);
    return 0;
}

/* After pivot_root: hide a path (a file under /dev/null, a dir under an
 * empty read-only tmpfs), as docker does for /proc/kcore and friends. */
static int mask_path(const char *path, struct pyns_error *err)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return 0; /* nothing to hide */
    int rc;
    if (S_ISDIR(st.st_mode))
        rc = mount("tmpfs", path, "tmpfs", MS_RDONLY, "size=0");
    else
        rc = mount("/dev/null", path, NULL, MS_BIND, NULL);
    if (rc < 0 && errno != ENOENT) {
        pyns_err_set(err, "mask", errno, "", path);
        return -1;
    }
    return 0;
}

static int readonly_path(const char *path, struct pyns_error *err)
{
    if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0) {
        if (errno == ENOENT)
            return 0;
        pyns_err_set(err, "readonly", errno, "", path);
        return -1;
    }
    unsigned long keep = locked_flags(path) & ~(unsigned long)MS_RDONLY;
    if (mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC | keep, NULL) < 0) {
        pyns_err_set(err, "readonly", errno, "", path);
        return -1;
    }
    return 0;
}

int pyns_setup_rootfs(const struct pyns_plan *plan, int userns_fd, long long *ts, struct pyns_error *err)
{
    size_t i;
    /* The host's own tree, nothing to build (the benchmark's floor, tools). */
    if (plan->no_pivot && !plan->overlay && !strcmp(plan->rootfs, "/") && plan->nops == 0)
        return 0;
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
        pyns_err_set(err, "mount", errno, "make / rprivate", NULL);
        return -1;
    }
    /* --userns-remap: the layers as the mapped ids see them, in this
     * mount namespace only (see userns.c). */
    for (i = 0; i < plan->nidmaps; i++)
        if (pyns_idmap_over(plan->idmaps[i], userns_fd, err) < 0)
            return -1;
    if (plan->overlay) {
        /* overlayfs takes its options in one page: with many layers the
         * lowerdirs are given relative to overlay_dir (short link names). */
        if (plan->overlay_dir && chdir(plan->overlay_dir) < 0) {
            pyns_err_set(err, "mount", errno, "chdir ", plan->overlay_dir);
            return -1;
        }
        if (mount("overlay", plan->rootfs, "overlay", 0, plan->overlay) < 0) {
            pyns_err_set(err, "mount", errno, "overlay on ", plan->rootfs);
            return -1;
        }
    } else if (mount(plan->rootfs, plan->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0) {
        pyns_err_set(err, "mount", errno, "bind rootfs ", plan->rootfs);
        return -1;
    }
    int rootfd = open(plan->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0) {
        pyns_err_set(err, "mount", errno, "open rootfs ", plan->rootfs);
        return -1;
    }
    for (i = 0; i < plan->nops; i++) {
        const struct pyns_op *op = &plan->ops[i];
        int rc = 0;
        switch (op->kind) {
        case PYNS_OP_MOUNT: rc = do_mount(rootfd, op, err); break;
        case PYNS_OP_MKNOD: rc = do_mknod(rootfd, plan, op, err); break;
        case PYNS_OP_SYMLINK: rc = do_symlink(rootfd, plan, op, err); break;
        case PYNS_OP_MKDIR: rc = do_mkdir(rootfd, op, err); break;
        }
        if (rc < 0) {
            close(rootfd);
            return -1;
        }
    }
    close(rootfd);
    if (ts)
        ts[PYNS_TS_ROOTFS] = pyns_monotonic_ns();
    if (plan->no_pivot) {
        /* Work in the mounted root (relative cwd "."): the path to it may be
         * closed to a remapped user entered later. */
        if (chdir(plan->rootfs) < 0) {
            pyns_err_set(err, "mount", errno, "chdir ", plan->rootfs);
            return -1;
        }
        return 0;
    }

    /* pivot_root(".", "."): stack the old root under the new one, then
     * detach it; no directory for the old root is needed in the image. */
    if (chdir(plan->rootfs) < 0) {
        pyns_err_set(err, "pivot_root", errno, "chdir ", plan->rootfs);
        return -1;
    }
    if (syscall(SYS_pivot_root, ".", ".") < 0) {
        pyns_err_set(err, "pivot_root", errno, "pivot_root ", plan->rootfs);
        return -1;
    }
    if (umount2(".", MNT_DETACH) < 0) {
        pyns_err_set(err, "pivot_root", errno, "detach old root", NULL);
        return -1;
    }
    if (chdir("/") < 0) {
        pyns_err_set(err, "pivot_root", errno, "chdir /", NULL);
        return -1;
    }
    for (i = 0; i < plan->nmasks; i++)
        if (mask_path(plan->masks[i], err) < 0)
            return -1;
    for (i = 0; i < plan->nreadonly; i++)
        if (readonly_path(plan->readonly[i], err) < 0)
            return -1;
    if (plan->readonly_root &&
        mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | locked_flags("/"), NULL) < 0) {
        pyns_err_set(err, "mount", errno, "remount / read-only", NULL);
        return -1;
    }
    if (ts)
        ts[PYNS_TS_PIVOT] = pyns_monotonic_ns();
    return 0;
}
