/*
 * channel.c -- sending and receiving client sockets over an environment's
 * channel.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "channel.h"

int ph_channel_create(int fds[2])
{
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0,
                   fds) < 0) {
        return errno;
    }
    /* One way only: a processor must not be able to inject messages that
     * a multiplexer would read. */
    if (shutdown(fds[0], SHUT_RD) < 0 || shutdown(fds[1], SHUT_WR) < 0) {
        int err = errno;
        close(fds[0]);
        close(fds[1]);
        return err;
    }
    return 0;
}

int ph_channel_bound(int fd, int bytes)
{
    return setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof(bytes)) < 0
           ? errno : 0;
}

int ph_channel_send(int chan_fd, int sock_fd, const ph_chan_msg *msg)
{
    unsigned char buf[PH_CHAN_MSG_LEN];

    ph_chan_msg_encode(msg, buf, sizeof(buf));
    return ph_send_with_fd(chan_fd, buf, sizeof(buf), sock_fd);
}

int ph_send_with_fd(int chan_fd, const void *data, size_t len, int sock_fd)
{
    union {
        struct cmsghdr align;
        char space[CMSG_SPACE(sizeof(int))];
    } control;
    struct iovec iov = { (void *)data, len };
    struct msghdr mh;
    struct cmsghdr *cm;

    memset(&mh, 0, sizeof(mh));
    memset(&control, 0, sizeof(control));
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = control.space;
    mh.msg_controllen = sizeof(control.space);
    cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &sock_fd, sizeof(int));

    for (;;) {
        if (sendmsg(chan_fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) {
            return 0;
        }
        if (errno != EINTR) {
            return errno == EWOULDBLOCK ? EAGAIN : errno;
        }
    }
}

/* Close every descriptor a message carried (used when refusing it). */
static void close_carried_fds(struct msghdr *mh)
{
    struct cmsghdr *cm;

    for (cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
            size_t n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            size_t i;
            for (i = 0; i < n; i++) {
                int fd;
                memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
                close(fd);
            }
        }
    }
}

int ph_carried_fd(struct msghdr *mh)
{
    struct cmsghdr *cm = CMSG_FIRSTHDR(mh);
    int fd;

    if (!(mh->msg_flags & (MSG_CTRUNC | MSG_TRUNC)) && cm
        && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS
        && cm->cmsg_len == CMSG_LEN(sizeof(int))
        && CMSG_NXTHDR(mh, cm) == NULL) {
        memcpy(&fd, CMSG_DATA(cm), sizeof(int));
        return fd;
    }
    close_carried_fds(mh);
    return -1;
}

int ph_channel_recv(int chan_fd, int *sock_fd, ph_chan_msg *msg,
                    ph_chan_decode_result *decode)
{
    /* Room for one more than expected, so a sender that attaches extra
     * descriptors is detected rather than silently truncated. */
    unsigned char buf[PH_CHAN_MSG_LEN + 16];
    union {
        struct cmsghdr align;
        char space[CMSG_SPACE(2 * sizeof(int))];
    } control;
    struct iovec iov = { buf, sizeof(buf) };
    struct msghdr mh;
    ssize_t n;
    int fd;

    *sock_fd = -1;
    *decode = PH_CHAN_DECODE_OK;
    memset(&mh, 0, sizeof(mh));
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = control.space;
    mh.msg_controllen = sizeof(control.space);

    do {
        n = recvmsg(chan_fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        return errno == EWOULDBLOCK ? EAGAIN : errno;
    }
    if (n == 0 && mh.msg_controllen == 0) {
        return PH_CHANNEL_EOF;
    }

    if ((fd = ph_carried_fd(&mh)) < 0) {
        *decode = PH_CHAN_DECODE_BAD_LENGTH;
        return EPROTO;
    }
    *decode = ph_chan_msg_decode(buf, (size_t)n, msg);
    if (*decode != PH_CHAN_DECODE_OK) {
        close(fd);
        return EPROTO;
    }
    *sock_fd = fd;
    return 0;
}
