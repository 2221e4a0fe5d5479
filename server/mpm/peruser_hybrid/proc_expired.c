/*
 * proc_expired.c -- a connection whose client ran out of time for its
 * request head before the multiplexer could route it.
 *
 * The multiplexer enforces the address's head-read policy (mod_reqtimeout
 * `header=`, else Timeout) while it peeks.  When that time is over it does
 * not answer itself: it hands the connection to the environment of the
 * address's default server with PH_CHAN_F_HEAD_EXPIRED, so that httpd
 * there reads the head and ends it exactly as stock would -- 408 with that
 * server's ErrorDocument when the request line was complete, a logged
 * close when it was not, the access log line and mod_reqtimeout's AH01382
 * -- instead of waiting the whole time a second time.
 *
 * How: an input filter just above the core's network filter, below
 * mod_reqtimeout, reads without blocking and turns "nothing more there"
 * into APR_TIMEUP, the status a socket read gives when its time is over.
 * Everything above (mod_reqtimeout, ap_read_request) then takes the path
 * it takes for a real timeout.  Once a whole head has been read (the
 * client finished just in time), the filter removes itself: the body and
 * later requests are read normally.  The answer thread's connections
 * (proc_answer.c) keep it: their one request is refused, and a body an
 * ErrorDocument CGI reads must not keep that thread waiting.
 */
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_filter.h"

#include "proc.h"

#define EXPIRED_FILTER "PH_HEAD_EXPIRED"

static ap_filter_rec_t *expired_filter;

/* 1 if the last bucket with data in bb ends a line (GETLINE). */
static int ends_with_lf(apr_bucket_brigade *bb)
{
    apr_bucket *b;

    for (b = APR_BRIGADE_LAST(bb); b != APR_BRIGADE_SENTINEL(bb);
         b = APR_BUCKET_PREV(b)) {
        const char *data;
        apr_size_t len;

        if (APR_BUCKET_IS_EOS(b)) {
            return 1;
        }
        if (APR_BUCKET_IS_METADATA(b)) {
            continue;
        }
        if (apr_bucket_read(b, &data, &len, APR_NONBLOCK_READ)
            != APR_SUCCESS) {
            return 0;
        }
        if (len > 0) {
            return data[len - 1] == APR_ASCII_LF;
        }
    }
    return 0;
}

static apr_status_t expired_in_filter(ap_filter_t *f, apr_bucket_brigade *bb,
                                      ap_input_mode_t mode,
                                      apr_read_type_e block,
                                      apr_off_t readbytes)
{
    apr_status_t rv;

    if (mode == AP_MODE_INIT || mode == AP_MODE_EATCRLF) {
        return ap_get_brigade(f->next, bb, mode, block, readbytes);
    }
    (void)block;    /* whatever the caller wanted: no waiting any more */
    rv = ap_get_brigade(f->next, bb, mode, APR_NONBLOCK_READ, readbytes);
    if (APR_STATUS_IS_EAGAIN(rv)) {
        return APR_TIMEUP;
    }
    if (rv != APR_SUCCESS) {
        return rv;      /* EOF, reset, ...: as they are */
    }
    if (APR_BRIGADE_EMPTY(bb)) {
        return APR_TIMEUP;
    }
    /* Part of a line is all there will be: the line's time is over too
     * (a blocking reader would wait for the rest, mod_reqtimeout would
     * poll the socket for it). */
    if (mode == AP_MODE_GETLINE && !ends_with_lf(bb)) {
        return APR_TIMEUP;
    }
    return APR_SUCCESS;
}

void ph_expired_add_filter(conn_rec *c)
{
    ap_add_input_filter_handle(expired_filter, NULL, NULL, c);
}

/* A whole head was read in time after all: stop forcing timeouts --
 * except on a connection the answer thread refuses (PH_CHAN_F_WAIT_OVER,
 * proc_answer.c), which nothing may make it wait for: a body its
 * ErrorDocument (a CGI) reads is what has arrived, no more. */
static int expired_post_read_request(request_rec *r)
{
    proc_conn *pc = ph_guard_conn_of(r->connection);
    ap_filter_t *f;

    if (pc && (pc->msg.flags & PH_CHAN_F_WAIT_OVER)) {
        return DECLINED;
    }

    for (f = r->connection->input_filters; f; f = f->next) {
        if (f->frec == expired_filter) {
            ap_remove_input_filter(f);
            break;
        }
    }
    return DECLINED;
}

void ph_expired_register_hooks(void)
{
    /* Below mod_reqtimeout (CONNECTION + 8), above the core's socket
     * reader (NETWORK); added after the pre_connection hooks, so above
     * the filters of the same type they add (mod_logio's counter,
     * mod_remoteip's PROXY reader). */
    expired_filter = ap_register_input_filter(EXPIRED_FILTER,
                                              expired_in_filter, NULL,
                                              AP_FTYPE_NETWORK - 1);
    ap_hook_post_read_request(expired_post_read_request, NULL, NULL,
                              APR_HOOK_REALLY_FIRST);
}
