/*
 * mux_reply.c -- the few responses a multiplexer gives itself: virtual
 * hosts without an environment and environments out of capacity (503),
 * and -- only where the address's default vhost has no environment to
 * answer them (mux_main.c, conn_refer) -- heads httpd would refuse (400,
 * 414) and clients too slow to send one (408).  They look like httpd's
 * own error pages.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "apr_date.h"
#include "apr_time.h"
#include "http_core.h"
#include "http_protocol.h"
#include "httpd.h"

#include "mux.h"

static const char *reason_text(int status)
{
    switch (status) {
    case HTTP_BAD_REQUEST:
        return "Your browser sent a request that this server could not "
               "understand.";
    case HTTP_REQUEST_TIME_OUT:
        return "Server timeout waiting for the HTTP request from the "
               "client.";
    case HTTP_REQUEST_URI_TOO_LARGE:
        return "The requested URL's length exceeds the capacity\nlimit for "
               "this server.";
    case HTTP_SERVICE_UNAVAILABLE:
        return "The server is temporarily unable to service your\nrequest "
               "due to maintenance downtime or capacity\nproblems. Please "
               "try again later.";
    default:
        return "";
    }
}

void ph_mux_reply(int fd, int status, int retry_after, int header_only)
{
    char date[APR_RFC822_DATE_LEN];
    char body[512], head[512], retry[48] = "";
    const char *line = ap_get_status_line(status);   /* "400 Bad Request" */
    int blen, hlen;
    ssize_t ignored;

    apr_rfc822_date(date, apr_time_now());
    blen = snprintf(body, sizeof(body),
                    "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n"
                    "<html><head>\n<title>%s</title>\n</head><body>\n"
                    "<h1>%s</h1>\n<p>%s<br />\n</p>\n</body></html>\n",
                    line, line + 4, reason_text(status));
    if (retry_after > 0) {
        snprintf(retry, sizeof(retry), "Retry-After: %d\r\n", retry_after);
    }
    hlen = snprintf(head, sizeof(head),
                    "HTTP/1.1 %s\r\nDate: %s\r\nServer: %s\r\n%s"
                    "Content-Length: %d\r\nConnection: close\r\n"
                    "Content-Type: text/html; charset=iso-8859-1\r\n\r\n",
                    line, date, ap_get_server_banner(), retry, blen);
    {
        struct iovec iov[2] = { { head, (size_t)hlen },
                                { body, (size_t)blen } };
        struct msghdr mh;
        memset(&mh, 0, sizeof(mh));
        mh.msg_iov = iov;
        /* HEAD: the headers (Content-Length included) and no body */
        mh.msg_iovlen = header_only ? 1 : 2;
        ignored = sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
        (void)ignored;
    }
    shutdown(fd, SHUT_WR);
}
