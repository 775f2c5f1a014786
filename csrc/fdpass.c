/* Passing a file descriptor over a unix socket (SCM_RIGHTS): the child
 * sends its pty master this way, the monitor receives it. No allocation:
 * the sending side runs between clone and execve. */
#include "pyns.h"
#include <string.h>
#include <sys/socket.h>

/* One data byte and room for one fd: the same message both ways. */
union fd_control {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
};

static void init_msg(struct msghdr *msg, struct iovec *iov, union fd_control *u)
{
    memset(msg, 0, sizeof *msg);
    memset(u, 0, sizeof *u);
    msg->msg_iov = iov;
    msg->msg_iovlen = 1;
    msg->msg_control = u->buf;
    msg->msg_controllen = sizeof u->buf;
}

/* Send fd over a unix socket (SCM_RIGHTS), no allocation. */
int pyns_send_fd(int sock, int fd)
{
    char byte = 'm';
    struct iovec iov = {&byte, 1};
    union fd_control u;
    struct msghdr msg;
    init_msg(&msg, &iov, &u);
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
    return sendmsg(sock, &msg, MSG_NOSIGNAL) == 1 ? 0 : -1;
}

/* Receive one fd sent by pyns_send_fd (close-on-exec); -1 on failure. */
int pyns_recv_fd(int sock)
{
    char byte;
    struct iovec iov = {&byte, 1};
    union fd_control u;
    struct msghdr msg;
    init_msg(&msg, &iov, &u);
    if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1)
        return -1;
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    int fd = -1;
    if (c && c->cmsg_type == SCM_RIGHTS)
        memcpy(&fd, CMSG_DATA(c), sizeof fd);
    return fd;
}
