/* Internal header shared by the C files of pyns (not seen by cffi). */
#ifndef PYNS_H
#define PYNS_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "pyns_api.h"

enum pyns_op_kind { PYNS_OP_MOUNT, PYNS_OP_MKNOD, PYNS_OP_SYMLINK, PYNS_OP_MKDIR };

/* One filesystem operation on the new root, run in order before pivot_root.
 * Paths in dst are container paths, resolved inside the root (symlinks in
 * the image can never lead a mount or mkdir outside it). */
struct pyns_op {
    enum pyns_op_kind kind;
    const char *src;      /* mount source / symlink target; NULL for none */
    const char *dst;      /* container path */
    const char *fstype;   /* "bind" for bind mounts */
    const char *data;     /* mount data; NULL for none */
    unsigned long flags;  /* MS_* */
    unsigned mode;        /* mknod/mkdir mode */
    unsigned major, minor;
};

struct pyns_rlimit { int resource; uint64_t soft, hard; };

/* The fully resolved plan Python hands over. Strings point into buf. */
struct pyns_plan {
    char *buf;
    int clone_flags;
    int cgroupns;
    int lo_up;
    int readonly_root;
    int no_pivot;         /* mount the root but stay in the host's tree (export) */
    int nnp;
    int pdeathsig;
    int join_pid;         /* exec: join this process's namespaces instead of creating any */
    int tty;              /* allocate a pty in the container's devpts */
    unsigned short rows, cols;
    int open_stdin;       /* monitor: keep the container's stdin open for attach */
    const char *attach_sock;  /* monitor: attach socket name, relative to the plan's dir */
    int has_user;
    uid_t uid;
    gid_t gid;
    uint64_t caps;
    int has_caps;
    const char *rootfs;
    const char *overlay;
    const char *overlay_dir;  /* chdir here first: lowerdirs are relative to it (one page holds more layers) */
    const char *hostname;
    const char *netns;
    const char *cwd;
    const char *log_path;
    const char *exit_path;
    const char *oom_path;
    struct pyns_op *ops; size_t nops;
    const char **masks; size_t nmasks;
    const char **readonly; size_t nreadonly;
    const char **cgroup_procs; size_t ncgroup_procs;
    const char **cgroup_dirs; size_t ncgroup_dirs;
    struct pyns_rlimit *rlimits; size_t nrlimits;
    gid_t *groups; size_t ngroups;
    char **env; size_t nenv;       /* NULL terminated */
    char **argv; size_t nargv;     /* NULL terminated */
    char **on_exit; size_t non_exit;   /* NULL terminated */
    unsigned char *seccomp; size_t seccomp_len;  /* raw struct sock_filter array */
    const char *uid_map, *gid_map;   /* --userns-remap: the maps of a new user namespace */
    const char **idmaps; size_t nidmaps;  /* dirs replaced by idmapped clones (the image layers) */
    int has_userns_root;
    uid_t userns_uid;     /* host ids of the container's root: owner of nodes the */
    gid_t userns_gid;     /* child makes as host root (devices, the console) */
    const char **sysctls; size_t nsysctls;  /* name, value pairs (2 entries each) */
};

/* error.c */
void pyns_err_set(struct pyns_error *err, const char *step, int errnum, const char *a, const char *b);
size_t pyns_strlcpy(char *dst, const char *src, size_t size);
size_t pyns_strlcat(char *dst, const char *src, size_t size);
void pyns_fmt_u64(char *dst, size_t size, unsigned long long v);
/* "/proc/PID/NAME" */
void pyns_proc_path(char *dst, size_t size, int pid, const char *name);

/* rootfs.c (child side) */
int pyns_setup_rootfs(const struct pyns_plan *plan, int userns_fd, long long *ts, struct pyns_error *err);

/* userns.c (child side) */
int pyns_idmap_over(const char *dir, int userns_fd, struct pyns_error *err);

/* identity.c (child side) */
int pyns_setup_identity(const struct pyns_plan *plan, struct pyns_error *err);
int pyns_load_seccomp(const struct pyns_plan *plan, struct pyns_error *err);

/* fdpass.c */
int pyns_send_fd(int sock, int fd);
int pyns_recv_fd(int sock);

/* logfmt.c */
size_t pyns_rfc3339_nano(char *dst, size_t size, long long realtime_ns);
int pyns_write_exit_file(const char *path, const struct pyns_exit *ex);

long long pyns_realtime_ns(void);
/* Every signal back to SIG_DFL (a child must not run the caller's handlers). */
void pyns_reset_signals(void);
#endif
