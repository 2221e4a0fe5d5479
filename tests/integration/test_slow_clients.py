"""Clients that send nothing, stop mid-head or disconnect mid-head.

With `Timeout 2` each such connection must get 408 or be closed within a
bounded time (stock httpd: a silent client or a partial request line is
closed after Timeout; a partial header block gets 408), and none of them may
delay a normal request on another connection.  One multiplexer only, so the
slow clients and the normal request meet in the same event loop.

`AcceptFilter http none`: without it Linux' TCP_DEFER_ACCEPT keeps a silent
connection out of accept() for ~30 s, for stock httpd as well.
"""

import socket
import struct
import time

import pytest

import phtest
from phtest import RawConn, http_get, vhost

CONF = """
Listen 127.0.0.1:@@PORT@@
User www-data
Group www-data
ThreadsPerChild 4
ServerLimit 16
MinMultiplexers 1
Timeout 2
AcceptFilter http none
""" + phtest.TWO_PROCESSORS + (
    vhost("alice.test", "alice", "alice")
    + vhost("bob.test", "bob", "bob"))

TIMEOUT = 2      # the config's Timeout
BOUND = 10       # a slow client must be dealt with within this many seconds
FAST = 1.0       # a normal request meanwhile must take less than this

PARTIAL = {
    "nothing": b"",
    "partial-request-line": b"GET / HT",
    "request-line-only": b"GET / HTTP/1.1\r\n",
    "partial-header-no-host": b"GET / HTTP/1.1\r\nX-A: b\r\n",
    "partial-header-with-host": b"GET / HTTP/1.1\r\nHost: alice.test\r\nX-A: b",
}


@pytest.fixture(scope="module")
def srv(module_servers):
    port = phtest.free_port()
    s = module_servers(CONF, values={"PORT": port}, name="ph")
    s.start(ready_hosts=["alice.test", "bob.test"], port=port)
    s.port = port
    return s


def timed_get(port, host):
    t0 = time.monotonic()
    r = http_get(port, host, "/", timeout=BOUND)
    return r, time.monotonic() - t0


@pytest.mark.parametrize("case", list(PARTIAL))
def test_stalled_client_gets_408_or_close_in_time(srv, case):
    t0 = time.monotonic()
    with RawConn(srv.port, timeout=BOUND) as c:
        if PARTIAL[case]:
            c.send(PARTIAL[case])
        got = c.wait_closed(BOUND)
    took = time.monotonic() - t0
    assert got == b"" or got.startswith(b"HTTP/1.1 408 "), got[:200]
    assert took < BOUND, took
    # not cut off before the configured Timeout either
    assert took >= TIMEOUT * 0.8, f"closed after {took:.2f}s, before Timeout {TIMEOUT}s"


def open_stalled(port, kinds, per_kind):
    conns = []
    try:
        for _ in range(per_kind):
            for kind in kinds:
                c = RawConn(port, timeout=BOUND)
                conns.append(c)
                if PARTIAL[kind]:
                    c.send(PARTIAL[kind])
    except BaseException:
        for c in conns:
            c.close()
        raise
    return conns


def assert_fast_while_open(srv, slow, hosts):
    t_open = time.monotonic()
    try:
        for host in hosts:
            r, took = timed_get(srv.port, host)
            assert r.status == 200, r
            assert took < FAST, f"{host} took {took:.2f}s with {len(slow)} stalled clients open"
        # the stalled connections were still within Timeout during those requests
        assert time.monotonic() - t_open < TIMEOUT, "requests ran too late to mean anything"
    finally:
        for c in slow:
            c.close()


def test_unrouted_stalled_clients_delay_nobody(srv):
    """32 connections stalled before their Host header is known (held by the
    single multiplexer): requests to both environments are still quick."""
    kinds = ["nothing", "partial-request-line", "request-line-only", "partial-header-no-host"]
    slow = open_stalled(srv.port, kinds, 8)
    assert_fast_while_open(srv, slow, ["bob.test", "alice.test", "bob.test", "alice.test"])


def test_stalled_clients_of_one_environment_do_not_delay_another(srv):
    """More stalled alice connections (Host known, head unfinished) than
    alice has worker threads: bob is still served at once."""
    slow = open_stalled(srv.port, ["partial-header-with-host"], 8)
    assert_fast_while_open(srv, slow, ["bob.test", "bob.test"])


def test_clients_disconnecting_mid_head(srv):
    for i in range(40):
        c = RawConn(srv.port)
        data = list(PARTIAL.values())[i % len(PARTIAL)]
        if data:
            c.send(data)
        if i % 2:
            # abortive close (RST)
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()
    for host in ("alice.test", "bob.test"):
        r, took = timed_get(srv.port, host)
        assert r.status == 200 and took < FAST, (r, took)
    assert phtest.pid_alive(srv.parent_pid, srv.parent_start)
    crashes = srv.log_lines(r"exit signal|Segmentation|Aborted")
    assert not crashes, "\n".join(crashes)
