/*
 * test_broker_msg.c -- CUnit suite for server/mpm/peruser_hybrid/
 * broker_msg.c: the messages a multiplexer and the root parent exchange
 * (broker.h).  The parent reads what a less trusted multiplexer wrote, so
 * every malformed shape is refused without keeping a descriptor.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "broker_msg.h"
#include "unit_suites.h"

static int open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;

    if (!d) {
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        n += e->d_name[0] != '.';
    }
    closedir(d);
    return n - 1;       /* the directory's own descriptor */
}

static void pair(int sv[2])
{
    CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC
                               | SOCK_NONBLOCK, 0, sv) == 0);
}

static ph_broker_msg ask(int env_index)
{
    ph_broker_msg m;

    memset(&m, 0, sizeof(m));
    m.magic = PH_BROKER_MAGIC;
    m.kind = PH_BROKER_ASK;
    m.env_index = env_index;
    return m;
}

static void test_ask_round_trip(void)
{
    int sv[2], fds[PH_BROKER_MAX_FDS], nfds = -1;
    ph_broker_msg m = ask(41), got;

    pair(sv);
    CU_ASSERT_EQUAL(ph_broker_send(sv[0], &m, NULL, 0), 0);
    CU_ASSERT_EQUAL(ph_broker_recv(sv[1], &got, fds, &nfds), 0);
    CU_ASSERT_EQUAL(nfds, 0);
    CU_ASSERT_EQUAL(got.magic, PH_BROKER_MAGIC);
    CU_ASSERT_EQUAL(got.kind, PH_BROKER_ASK);
    CU_ASSERT_EQUAL(got.env_index, 41);
    CU_ASSERT_EQUAL(ph_broker_recv(sv[1], &got, fds, &nfds), EAGAIN);
    close(sv[0]);
    CU_ASSERT_EQUAL(ph_broker_recv(sv[1], &got, fds, &nfds), PH_BROKER_EOF);
    close(sv[1]);
}

static void test_ends_carry_two_descriptors(void)
{
    int sv[2], ends[2], fds[PH_BROKER_MAX_FDS], nfds = 0, before;
    ph_broker_msg m = ask(3), got;

    pair(sv);
    CU_ASSERT_FATAL(pipe(ends) == 0);
    m.kind = PH_BROKER_ENDS;
    CU_ASSERT_EQUAL(ph_broker_send(sv[0], &m, ends, 2), 0);
    before = open_fds();
    CU_ASSERT_EQUAL(ph_broker_recv(sv[1], &got, fds, &nfds), 0);
    CU_ASSERT_EQUAL(nfds, 2);
    CU_ASSERT_EQUAL(open_fds(), before + 2);
    /* new descriptors of the same pipe, close-on-exec */
    CU_ASSERT(fds[0] != ends[0] && fds[1] != ends[1]);
    CU_ASSERT(fcntl(fds[0], F_GETFD) & FD_CLOEXEC);
    CU_ASSERT(fcntl(fds[1], F_GETFD) & FD_CLOEXEC);
    CU_ASSERT_EQUAL(write(fds[1], "x", 1), 1);
    {
        char c = 0;
        CU_ASSERT_EQUAL(read(ends[0], &c, 1), 1);
        CU_ASSERT_EQUAL(c, 'x');
    }
    close(fds[0]);
    close(fds[1]);
    close(ends[0]);
    close(ends[1]);
    close(sv[0]);
    close(sv[1]);
}

static void test_too_many_descriptors_refused_to_send(void)
{
    int sv[2], three[3] = { 0, 1, 2 };
    ph_broker_msg m = ask(0);

    pair(sv);
    CU_ASSERT_EQUAL(ph_broker_send(sv[0], &m, three, 3), EINVAL);
    CU_ASSERT_EQUAL(ph_broker_send(sv[0], &m, three, -1), EINVAL);
    close(sv[0]);
    close(sv[1]);
}

/* What a hostile peer can send with plain send()/sendmsg(). */
static void raw_send(int fd, const void *buf, size_t len, const int *fds,
                     int nfds)
{
    struct msghdr mh;
    struct iovec iov = { (void *)buf, len };
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(8 * sizeof(int))];
    } cbuf;
    struct cmsghdr *cm;

    memset(&mh, 0, sizeof(mh));
    memset(&cbuf, 0, sizeof(cbuf));
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    if (nfds) {
        mh.msg_control = cbuf.buf;
        mh.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
        cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
        memcpy(CMSG_DATA(cm), fds, (size_t)nfds * sizeof(int));
    }
    CU_ASSERT_FATAL(sendmsg(fd, &mh, MSG_DONTWAIT) == (ssize_t)len);
}

static void test_short_and_long_messages_refused(void)
{
    int sv[2], fds[PH_BROKER_MAX_FDS], nfds = 0, before;
    ph_broker_msg m = ask(1), got;
    char longer[sizeof(m) + 5];
    int mine[2];

    pair(sv);
    CU_ASSERT_FATAL(pipe(mine) == 0);
    raw_send(sv[0], &m, sizeof(m) - 1, NULL, 0);
    CU_ASSERT_EQUAL(ph_broker_recv(sv[1], &got, fds, &nfds), EPROTO);
    memset(longer, 0, sizeof(longer));
    memcpy(longer, &m, sizeof(m));
    raw_send(sv[0], longer, sizeof(longer), NULL, 0);
    CU_ASSERT_EQUAL(ph_broker_recv(sv[1], &got, fds, &nfds), EPROTO);
    /* a short one with descriptors: refused, and none kept */
    raw_send(sv[0], &m, 3, mine, 2);
    before = open_fds();
    CU_ASSERT_EQUAL(ph_broker_recv(sv[1], &got, fds, &nfds), EPROTO);
    CU_ASSERT_EQUAL(nfds, 0);
    CU_ASSERT_EQUAL(open_fds(), before);
    close(mine[0]);
    close(mine[1]);
    close(sv[0]);
    close(sv[1]);
}

static void test_extra_descriptors_cut_off_and_closed(void)
{
    int sv[2], fds[PH_BROKER_MAX_FDS], nfds = 0, before, i;
    int five[5];
    ph_broker_msg m = ask(2), got;

    pair(sv);
    for (i = 0; i < 5; i++) {
        five[i] = dup(0);
        CU_ASSERT_FATAL(five[i] >= 0);
    }
    raw_send(sv[0], &m, sizeof(m), five, 5);
    before = open_fds();
    CU_ASSERT_EQUAL(ph_broker_recv(sv[1], &got, fds, &nfds), EPROTO);
    CU_ASSERT_EQUAL(nfds, 0);
    CU_ASSERT_EQUAL(open_fds(), before);
    for (i = 0; i < 5; i++) {
        close(five[i]);
    }
    close(sv[0]);
    close(sv[1]);
}

int ph_unit_register_broker_msg(void)
{
    static const ph_unit_test tests[] = {
        { "ASK round trip, EAGAIN, EOF", test_ask_round_trip },
        { "ENDS carry two descriptors", test_ends_carry_two_descriptors },
        { "more than two descriptors refused to send",
          test_too_many_descriptors_refused_to_send },
        { "short and long messages refused, nothing kept",
          test_short_and_long_messages_refused },
        { "extra descriptors cut off and closed",
          test_extra_descriptors_cut_off_and_closed },
    };

    return ph_unit_add_suite("broker_msg", NULL, tests,
                             sizeof(tests) / sizeof(tests[0]));
}
