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

/* The one descriptor a received message carried, or -1 after closing
 * whatever it did carry: nothing, more than one, anything but
 * SCM_RIGHTS, or a message or its descriptors truncated. */
static int carried_fd(struct msghdr *mh)
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

int ph_recv_with_fd(int chan_fd, void *buf, size_t len, size_t *got,
                    int *sock_fd)
{
    /* room for more descriptors than one, so that extra ones arrive and
     * are closed here rather than truncated */
    union {
        struct cmsghdr align;
        char space[CMSG_SPACE(4 * sizeof(int))];
    } control;
    struct iovec iov = { buf, len };
    struct msghdr mh;
    ssize_t n;

    *got = 0;
    *sock_fd = -1;
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
    *got = (size_t)n;
    *sock_fd = carried_fd(&mh);
    return 0;
}

int ph_channel_recv(int chan_fd, int *sock_fd, ph_chan_msg *msg,
                    ph_chan_decode_result *decode)
{
    /* Room for more than a message, so that a longer one is refused by
     * its length rather than silently truncated. */
    unsigned char buf[PH_CHAN_MSG_LEN + 16];
    size_t n;
    int fd, rv;

    *sock_fd = -1;
    *decode = PH_CHAN_DECODE_OK;
    if ((rv = ph_recv_with_fd(chan_fd, buf, sizeof(buf), &n, &fd)) != 0) {
        return rv;
    }
    if (fd < 0) {
        *decode = PH_CHAN_DECODE_BAD_LENGTH;
        return EPROTO;
    }
    *decode = ph_chan_msg_decode(buf, n, msg);
    if (*decode != PH_CHAN_DECODE_OK) {
        close(fd);
        return EPROTO;
    }
    *sock_fd = fd;
    return 0;
}
