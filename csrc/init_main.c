/* pyns-init: a minimal init for `run --init`, bind-mounted at /dev/init.
 *
 *   /dev/init -- CMD [ARGS...]
 *
 * Runs CMD as its child, forwards every catchable signal to it, reaps
 * every zombie re-parented to pid 1, and exits with CMD's status
 * (128+signal when CMD was killed), so a container's shell scripts can
 * fork freely and `stop` works even for programs without signal handlers.
 * Static so it runs in any image. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    sigset_t all, old;
    int first = 1, sig;
    if (argc > 1 && !strcmp(argv[1], "--"))
        first = 2;
    if (first >= argc) {
        fprintf(stderr, "usage: init -- CMD [ARGS...]\n");
        return 2;
    }
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, &old);
    pid_t child = fork();
    if (child < 0) {
        perror("init: fork");
        return 1;
    }
    if (child == 0) {
        setpgid(0, 0);
        sigprocmask(SIG_SETMASK, &old, NULL);
        execvp(argv[first], argv + first);
        fprintf(stderr, "init: exec %s: %s\n", argv[first], strerror(errno));
        _exit(errno == ENOENT ? 127 : 126);
    }
    for (;;) {
        siginfo_t si;
        sig = sigwaitinfo(&all, &si);
        if (sig < 0)
            continue;
        if (sig != SIGCHLD) {
            kill(child, sig);
            continue;
        }
        int status;
        pid_t w;
        while ((w = waitpid(-1, &status, WNOHANG)) > 0) {
            if (w == child) {
                /* Reap the rest once, then leave with the command's status. */
                while (waitpid(-1, NULL, WNOHANG) > 0)
                    ;
                if (WIFSIGNALED(status))
                    return 128 + WTERMSIG(status);
                return WEXITSTATUS(status);
            }
        }
    }
}
