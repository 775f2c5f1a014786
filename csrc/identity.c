/* Child side: user, groups, capabilities and no_new_privs.
 *
 * Raw syscalls only: glibc's setuid()/setgroups() broadcast the change to
 * every thread of the process (setxid), which in a CLONE_VM child would
 * talk to the caller's threads. Order: drop the bounding set while still
 * holding CAP_SETPCAP, switch ids keeping the permitted set, then set the
 * final sets (empty for a non-root user, as docker does). */
#include "pyns.h"
#include <errno.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

static int set_caps(uint64_t eff, uint64_t prm, uint64_t inh)
{
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    data[0].effective = (uint32_t)eff;
    data[1].effective = (uint32_t)(eff >> 32);
    data[0].permitted = (uint32_t)prm;
    data[1].permitted = (uint32_t)(prm >> 32);
    data[0].inheritable = (uint32_t)inh;
    data[1].inheritable = (uint32_t)(inh >> 32);
    return (int)syscall(SYS_capset, &hdr, data);
}

/* Install the plan's seccomp program (compiled in Python, cached there).
 * Needs no_new_privs or CAP_SYS_ADMIN in the effective set: see the order
 * in pyns_setup_identity. */
int pyns_load_seccomp(const struct pyns_plan *plan, struct pyns_error *err)
{
    struct sock_fprog prog;
    if (!plan->seccomp_len)
        return 0;
    prog.len = (unsigned short)(plan->seccomp_len / sizeof(struct sock_filter));
    prog.filter = (struct sock_filter *)plan->seccomp;
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) {
        pyns_err_set(err, "seccomp", errno, "load filter", NULL);
        return -1;
    }
    return 0;
}

int pyns_setup_identity(const struct pyns_plan *plan, struct pyns_error *err)
{
    if (plan->has_caps) {
        int cap;
        for (cap = 0; cap < 64; cap++) {
            if (plan->caps & (1ULL << cap))
                continue;
            if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
                if (errno == EINVAL)
                    break; /* past the kernel's last capability */
                pyns_err_set(err, "capabilities", errno, "drop from bounding set", NULL);
                return -1;
            }
        }
        prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    }
    /* Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: do it
     * now, while still root with full effective caps (as runc does); the
     * filter must then allow setgroups/setresuid/capset/execve, which
     * docker's profile does. With no_new_privs it is loaded last. */
    if (!plan->nnp && pyns_load_seccomp(plan, err) < 0)
        return -1;
    if (plan->has_user) {
        if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) {
            pyns_err_set(err, "user", errno, "keepcaps", NULL);
            return -1;
        }
        if (syscall(SYS_setgroups, plan->ngroups, plan->groups) < 0) {
            pyns_err_set(err, "user", errno, "setgroups", NULL);
            return -1;
        }
        if (syscall(SYS_setresgid, plan->gid, plan->gid, plan->gid) < 0) {
            pyns_err_set(err, "user", errno, "setgid", NULL);
            return -1;
        }
        if (syscall(SYS_setresuid, plan->uid, plan->uid, plan->uid) < 0) {
            pyns_err_set(err, "user", errno, "setuid", NULL);
            return -1;
        }
        prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
    }
    if (plan->has_caps) {
        uint64_t set = (plan->has_user && plan->uid != 0) ? 0 : plan->caps;
        if (set_caps(set, set, 0) < 0) {
            pyns_err_set(err, "capabilities", errno, "capset", NULL);
            return -1;
        }
    }
    if (plan->nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
        pyns_err_set(err, "no_new_privs", errno, "prctl", NULL);
        return -1;
    }
    if (plan->nnp && pyns_load_seccomp(plan, err) < 0)
        return -1;
    return 0;
}
