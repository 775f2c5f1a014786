/* Timestamps, docker json-file log lines and the exit record, in C so the
 * monitor needs no Python. */
#include "pyns.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

size_t pyns_rfc3339_nano(char *dst, size_t size, long long ns)
{
    time_t secs = (time_t)(ns / 1000000000LL);
    long frac = (long)(ns % 1000000000LL);
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t n = strftime(dst, size, "%Y-%m-%dT%H:%M:%S", &tm);
    int m = snprintf(dst + n, size - n, ".%09ldZ", frac);
    return n + (m > 0 ? (size_t)m : 0);
}

int pyns_write_exit_file(const char *path, const struct pyns_exit *ex)
{
    char tmp[4096], stamp[64], body[256];
    int fd, n;
    if (!path)
        return 0;
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    pyns_rfc3339_nano(stamp, sizeof stamp, ex->finished_ns);
    n = snprintf(body, sizeof body,
                 "{\"ExitCode\": %d, \"Signal\": %d, \"OOMKilled\": %s, \"FinishedAt\": \"%s\"}\n",
                 ex->exit_code, ex->signal, ex->oom_killed ? "true" : "false", stamp);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    if (write(fd, body, (size_t)n) != n) {
        int e = errno;
        close(fd);
        unlink(tmp);
        errno = e;
        return -1;
    }
    fsync(fd);
    close(fd);
    return rename(tmp, path);
}
