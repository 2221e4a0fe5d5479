/*
 * broker_msg.h -- the broker's messages on the wire (broker.h draws the
 * protocol): no httpd header, so that tests/unit builds broker_msg.c on
 * its own.
 */
#ifndef PH_BROKER_MSG_H
#define PH_BROKER_MSG_H

#include <stdint.h>

#define PH_BROKER_MAGIC 0x50484252u     /* "PHBR" */
#define PH_BROKER_RETRY_MS 1000
#define PH_BROKER_BATCH 64              /* messages per socket per wakeup */

typedef enum ph_broker_kind {
    PH_BROKER_ASK = 1,                  /* multiplexer -> parent */
    PH_BROKER_ENDS                      /* parent -> multiplexer */
} ph_broker_kind;

typedef struct ph_broker_msg {
    uint32_t magic;                     /* PH_BROKER_MAGIC */
    uint32_t kind;                      /* ph_broker_kind */
    int32_t env_index;
    int32_t status;                     /* ENDS: 0, or an errno value (no
                                         * descriptors then) */
} ph_broker_msg;

#define PH_BROKER_MAX_FDS 2             /* descriptors in one message */
#define PH_BROKER_EOF (-1)              /* the other end is closed */

/* ---- both sides (broker_msg.c) ---------------------------------------- */

/* Send m with nfds (0..PH_BROKER_MAX_FDS) descriptors.  Never blocks.
 * 0, EAGAIN when the socket is full, or another errno value. */
int ph_broker_send(int fd, const ph_broker_msg *m, const int *fds, int nfds);

/* Receive one message.  Never blocks.  0 with *m and fds[0 .. *nfds - 1]
 * (close-on-exec) filled; EAGAIN when nothing waits; PH_BROKER_EOF;
 * EPROTO for a message of another size or with descriptors cut off (any
 * it carried are closed); or another errno value.  The caller checks
 * every field and closes descriptors it does not want. */
int ph_broker_recv(int fd, ph_broker_msg *m, int fds[PH_BROKER_MAX_FDS],
                   int *nfds);

#endif /* PH_BROKER_MSG_H */
