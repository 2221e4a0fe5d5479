/*
 * broker_msg.c -- one broker message on the wire (broker.h): a fixed-size
 * ph_broker_msg and at most two descriptors, sent and received without
 * blocking.  Both sides use it; neither trusts what the other sent beyond
 * its size and the descriptors' count (the caller checks the fields).
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "broker_msg.h"

/* One message's header, its bytes and room for its descriptors. */
typedef struct wire {
    struct msghdr mh;
    struct iovec iov;
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(PH_BROKER_MAX_FDS * sizeof(int))];
    } cbuf;
} wire;

/* len bytes at base, and control bytes of room for descriptors (0: no
 * descriptor is sent, or taken: the kernel discards any). */
static void wire_init(wire *w, void *base, size_t len, size_t control)
{
    memset(w, 0, sizeof(*w));
    w->iov.iov_base = base;
    w->iov.iov_len = len;
    w->mh.msg_iov = &w->iov;
    w->mh.msg_iovlen = 1;
    if (control) {
        w->mh.msg_control = w->cbuf.buf;
        w->mh.msg_controllen = control;
    }
}

int ph_broker_send(int fd, const ph_broker_msg *m, const int *fds, int nfds)
{
    wire w;
    struct cmsghdr *cm;

    if (nfds < 0 || nfds > PH_BROKER_MAX_FDS) {
        return EINVAL;
    }
    wire_init(&w, (void *)m, sizeof(*m),
              nfds ? CMSG_SPACE((size_t)nfds * sizeof(int)) : 0);
    if (nfds > 0) {
        cm = CMSG_FIRSTHDR(&w.mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
        memcpy(CMSG_DATA(cm), fds, (size_t)nfds * sizeof(int));
    }
    for (;;) {
        if (sendmsg(fd, &w.mh, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) {
            return 0;
        }
        if (errno != EINTR) {
            return errno == EWOULDBLOCK ? EAGAIN : errno;
        }
    }
}

int ph_broker_recv(int fd, ph_broker_msg *m, int fds[PH_BROKER_MAX_FDS],
                   int *nfds)
{
    /* One byte more than a message: a longer one is not one. */
    char buf[sizeof(ph_broker_msg) + 1];
    wire w;
    struct cmsghdr *cm;
    ssize_t n;
    int got = 0, i;

    *nfds = 0;
    wire_init(&w, buf, sizeof(buf), sizeof(w.cbuf.buf));
    do {
        n = recvmsg(fd, &w.mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        return errno == EWOULDBLOCK ? EAGAIN : errno;
    }
    if (n == 0) {
        return PH_BROKER_EOF;
    }
    for (cm = CMSG_FIRSTHDR(&w.mh); cm; cm = CMSG_NXTHDR(&w.mh, cm)) {
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
            int k = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
            for (i = 0; i < k && got < PH_BROKER_MAX_FDS; i++) {
                memcpy(&fds[got++], CMSG_DATA(cm) + i * sizeof(int),
                       sizeof(int));
            }
        }
    }
    if (n != (ssize_t)sizeof(*m) || (w.mh.msg_flags & MSG_CTRUNC)) {
        for (i = 0; i < got; i++) {
            close(fds[i]);
        }
        return EPROTO;
    }
    memcpy(m, buf, sizeof(*m));
    *nfds = got;
    return 0;
}
