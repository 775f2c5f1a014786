/* pyns-pause: the process that keeps a rootless engine's user namespace.
 *
 * Rootless pyns runs as root of a user namespace mapped by newuidmap and
 * newgidmap (the user's own id plus its /etc/subuid ranges). Every pyns
 * process of that user joins the same namespace, so containers one CLI
 * started belong to a namespace the next CLI can act in (exec, stop,
 * attach); something has to keep it alive in between: this. It is
 * cloned into the new namespace by pyns_pause_spawn, waits on fd 3 until
 * its maps are written, then sleeps until killed, holding no files
 * (stdio goes to /dev/null). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

int main(void)
{
    char c;
    while (read(3, &c, 1) < 0 && errno == EINTR)
        ;
    close(3);
    /* Let go of the starting CLI's stdio: its caller waits for EOF on it. */
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        if (null > 2)
            close(null);
    }
    signal(SIGINT, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    if (chdir("/") < 0)
        return 1;
    setsid();
    for (;;)
        pause();
}
