/* Persistent network namespaces for the network layer (see pyns_api.h). */
#include "pyns.h"
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

int pyns_netns_create(const char *path, struct pyns_error *err)
{
    memset(err, 0, sizeof *err);
    int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (self < 0) {
        pyns_err_set(err, "netns", errno, "open own network namespace", NULL);
        return -1;
    }
    int fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
    if (fd < 0) {
        pyns_err_set(err, "netns", errno, "create ", path);
        close(self);
        return -1;
    }
    close(fd);
    int rc = unshare(CLONE_NEWNET);
    if (rc < 0) {
        pyns_err_set(err, "netns", errno, "unshare network namespace", NULL);
    } else {
        if (mount("/proc/thread-self/ns/net", path, NULL, MS_BIND, NULL) < 0) {
            pyns_err_set(err, "netns", errno, "bind namespace on ", path);
            rc = -1;
        }
        if (setns(self, CLONE_NEWNET) < 0 && rc == 0) {
            pyns_err_set(err, "netns", errno, "return to own network namespace", NULL);
            rc = -1;
        }
    }
    close(self);
    if (rc < 0) {
        umount2(path, MNT_DETACH);
        unlink(path);
    }
    return rc;
}

int pyns_netns_delete(const char *path, struct pyns_error *err)
{
    memset(err, 0, sizeof *err);
    if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT) {
        pyns_err_set(err, "netns", errno, "unmount ", path);
        return -1;
    }
    if (unlink(path) < 0 && errno != ENOENT) {
        pyns_err_set(err, "netns", errno, "remove ", path);
        return -1;
    }
    return 0;
}
