"""Bad and unusual request heads: peruser_hybrid must answer exactly as stock
httpd (mpm_event, same config minus the peruser_hybrid directives) does.

The multiplexer routes on a peeked prefix of the head, so every case where the
routing key is odd, missing, late or oversized is a place it could differ
from httpd's own parser.  Each case compares the status (None = closed
without a response) and, for 200s, which vhost's page was served.
"""

import re
import socket
import time

import pytest

import phtest
from phtest import RawConn, raw_exchange, vhost

CONF = """
Listen 127.0.0.1:@@PORT@@
Listen 127.0.0.1:@@PORT2@@
User www-data
Group www-data
ThreadsPerChild 25
ServerLimit 16
MinMultiplexers 2
Timeout 10
KeepAliveTimeout 5
""" + phtest.TWO_PROCESSORS + (
    vhost("alice.test", "alice", "alice")
    + vhost("bob.test", "bob", "bob", "ServerAlias *.bob.test")
    # IP-based: everything on the second port is bob's, whatever the Host says
    + vhost("port2.test", "bob", "bob", port="@@PORT2@@"))


@pytest.fixture(scope="module")
def pair(module_servers):
    return phtest.start_event_and_ph(module_servers, CONF, ["alice.test", "bob.test"],
                                     extra_ports=["port2"])


def _h(host):
    return b"GET / HTTP/1.1\r\nHost: " + host + b"\r\n\r\n"


def _long_headers(n, size):
    return b"".join(b"X-H%d: %s\r\n" % (i, b"v" * size) for i in range(n))


# name -> (bytes (PORT is replaced by the server's port), what stock gives)
CASES = {
    # malformed request lines
    "extra-token": (b"GET / HTTP/1.1 junk\r\nHost: alice.test\r\n\r\n", 400),
    "no-uri": (b"GET\r\nHost: alice.test\r\n\r\n", 400),
    "bad-method-char": (b"G@T / HTTP/1.1\r\nHost: alice.test\r\n\r\n", 400),
    "ctl-in-method": (b"G\x01T / HTTP/1.1\r\nHost: alice.test\r\n\r\n", 400),
    "bad-protocol": (b"GET / HTXP/1.1\r\nHost: alice.test\r\n\r\n", 400),
    "tls-hello-on-http": (b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + b"\x00" * 40
                          + b"\r\n\r\n", 400),
    "bare-lf": (b"GET / HTTP/1.1\nHost: bob.test\n\n", 400),
    "space-before-colon": (b"GET / HTTP/1.1\r\nHost : bob.test\r\n\r\n", 400),
    "nul-in-header": (b"GET / HTTP/1.1\r\nHost: bob.test\r\nX-A: a\x00b\r\n\r\n", 400),
    # limits
    "request-line-too-long": (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: alice.test\r\n\r\n",
                              414),
    "header-too-long-before-host": (b"GET / HTTP/1.1\r\nX-Long: " + b"a" * 9000
                                    + b"\r\nHost: bob.test\r\n\r\n", 400),
    "header-too-long-after-host": (b"GET / HTTP/1.1\r\nHost: bob.test\r\nX-Long: " + b"a" * 9000
                                   + b"\r\n\r\n", 400),
    "host-too-long": (_h(b"a" * 9000), 400),
    "too-many-headers": (b"GET / HTTP/1.1\r\nHost: bob.test\r\n" + _long_headers(120, 1)
                         + b"\r\n", 400),
    "too-many-headers-before-host": (b"GET / HTTP/1.1\r\n" + _long_headers(120, 1)
                                     + b"Host: bob.test\r\n\r\n", 400),
    # odd Host headers
    "host-ctl-byte": (_h(b"al\x01ice.test"), 400),
    "host-space": (_h(b"al ice.test"), 400),
    "host-slash": (_h(b"alice.test/../x"), 400),
    "host-high-byte": (_h(b"al\xffice.test"), 400),
    "host-userinfo": (_h(b"user@bob.test"), 400),
    "host-bad-port": (_h(b"bob.test:abc"), 400),
    "host-empty": (_h(b""), 400),
    "host-twice": (b"GET / HTTP/1.1\r\nHost: alice.test\r\nHost: bob.test\r\n\r\n", 400),
    "no-host-http11": (b"GET / HTTP/1.1\r\n\r\n", 400),
    # valid but unusual: must reach the same vhost as in stock httpd
    "no-host-http10": (b"GET / HTTP/1.0\r\n\r\n", 200),
    "host-with-port": (_h(b"bob.test:PORT"), 200),
    "host-mixed-case": (_h(b"BoB.TeSt"), 200),
    "host-trailing-dot": (_h(b"bob.test."), 200),
    "host-wildcard-alias": (_h(b"www.bob.test"), 200),
    "host-unknown-goes-default": (_h(b"nobody.test"), 200),
    "host-ipv6-literal": (_h(b"[::1]"), 200),
    "host-lowercase-name": (b"GET / HTTP/1.1\r\nhost: bob.test\r\n\r\n", 200),
    "host-extra-whitespace": (b"GET / HTTP/1.1\r\nHost:    bob.test   \r\n\r\n", 200),
    "absolute-uri-wins": (b"GET http://bob.test/ HTTP/1.1\r\nHost: alice.test\r\n\r\n", 200),
    "leading-empty-lines": (b"\r\n\r\nGET / HTTP/1.1\r\nHost: bob.test\r\n\r\n", 200),
    "folded-header-before-host": (b"GET / HTTP/1.1\r\nX-A: a\r\n b\r\nHost: bob.test\r\n\r\n",
                                  200),
    "big-headers-before-host": (b"GET / HTTP/1.1\r\n" + _long_headers(12, 4000)
                                + b"Host: bob.test\r\n\r\n", 200),
    "http-version-9.9": (b"GET / HTTP/9.9\r\nHost: bob.test\r\n\r\n", 200),
    "options-star": (b"OPTIONS * HTTP/1.1\r\nHost: bob.test\r\n\r\n", 200),
    "connect-method": (b"CONNECT bob.test:443 HTTP/1.1\r\nHost: bob.test:443\r\n\r\n", 405),
    "http09": (b"GET /\r\n\r\n", None),
    # absolute URIs: httpd takes the host from the URI for http only
    "absolute-https-uri": (b"GET https://bob.test/ HTTP/1.1\r\nHost: alice.test\r\n\r\n",
                           200),
    "absolute-ftp-uri": (b"GET ftp://bob.test/ HTTP/1.1\r\nHost: alice.test\r\n\r\n", 400),
    "absolute-foo-uri": (b"GET foo://bob.test/ HTTP/1.1\r\nHost: alice.test\r\n\r\n", 400),
    # a request line around LimitRequestLine (8190), the path a file name
    # too long to open (403): the line's length where 414 starts is httpd's
    "line-8191": (b"GET /" + b"a" * (8191 - 14) + b" HTTP/1.1\r\nHost: bob.test\r\n\r\n", 403),
    "line-8192": (b"GET /" + b"a" * (8192 - 14) + b" HTTP/1.1\r\nHost: bob.test\r\n\r\n", 414),
    # a header line around LimitRequestFieldSize (8190)
    "field-8190": (b"GET / HTTP/1.1\r\nHost: bob.test\r\nX-L: " + b"v" * (8190 - 5)
                   + b"\r\n\r\n", 200),
    "field-8191": (b"GET / HTTP/1.1\r\nHost: bob.test\r\nX-L: " + b"v" * (8191 - 5)
                   + b"\r\n\r\n", 200),
    "field-8192": (b"GET / HTTP/1.1\r\nHost: bob.test\r\nX-L: " + b"v" * (8192 - 5)
                   + b"\r\n\r\n", 400),
}


def outcome(srv, data):
    """(status or None, whose page or raw bytes) for one request."""
    data = data.replace(b"PORT", str(srv.port).encode())
    resp, got = raw_exchange(srv.port, data, timeout=20)
    if resp is None:
        return None, got
    m = re.search(rb"hello from (\w+)", resp.body)
    return resp.status, (m.group(1).decode() if m else None)


@pytest.mark.parametrize("case", list(CASES))
def test_same_answer_as_stock_httpd(pair, case):
    data, stock_status = CASES[case]
    stock = outcome(pair["event"], data)
    # guard the test itself: stock httpd must still answer as recorded
    assert stock[0] == stock_status, f"stock mpm_event answered {stock}, test expects {stock_status}"
    t0 = time.monotonic()
    ours = outcome(pair["ph"], data)
    took = time.monotonic() - t0
    assert ours == stock, f"peruser_hybrid: {ours!r}, stock mpm_event: {stock!r}"
    assert took < 5, f"peruser_hybrid took {took:.1f}s to answer"


def status_and_body(port, data):
    """(status line, body bytes) of the one response to data, read to the
    close: a HEAD answer must have no body even where it states a
    Content-Length."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(data)
        got = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
        except OSError:
            pass
    head, _, body = got.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0], body


HEAD_CASES = {
    "head-no-host": b"HEAD / HTTP/1.1\r\n\r\n",
    "head-field-too-long": b"HEAD / HTTP/1.1\r\nHost: bob.test\r\nX-L: " + b"v" * 9000
                           + b"\r\n\r\n",
    "head-line-too-long": b"HEAD /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: bob.test\r\n\r\n",
    "head-host-twice": b"HEAD / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
}


@pytest.mark.parametrize("case", list(HEAD_CASES))
def test_head_answer_body_as_stock(pair, case):
    data = HEAD_CASES[case]
    stock = status_and_body(pair["event"].port, data)
    ours = status_and_body(pair["ph"].port, data)
    assert (ours[0].split(b" ")[1], len(ours[1]) > 0) == \
        (stock[0].split(b" ")[1], len(stock[1]) > 0), (ours, stock)


@pytest.mark.parametrize("host", ["alice.test", "port2.test", "nobody.test"])
def test_ip_based_vhost_on_second_port(pair, host):
    data = _h(host.encode())
    got = {}
    for mpm in ("event", "ph"):
        resp, raw = raw_exchange(pair[mpm].port2, data, timeout=20)
        got[mpm] = (resp.status, re.search(rb"hello from (\w+)", resp.body).group(1)) if resp else raw
    assert got["event"] == (200, b"bob"), got
    assert got["ph"] == got["event"], got


def test_pipelined_requests_same_environment(pair):
    data = (b"GET /small.txt HTTP/1.1\r\nHost: bob.test\r\n\r\n"
            b"GET / HTTP/1.1\r\nHost: www.bob.test\r\n\r\n"
            b"GET /small.txt HTTP/1.1\r\nHost: bob.test\r\nConnection: close\r\n\r\n")
    with RawConn(pair["ph"].port) as c:
        c.send(data)
        rs = [c.read_response() for _ in range(3)]
        c.wait_closed(5)
    assert [r.status for r in rs] == [200, 200, 200], rs
    assert rs[0].body == b"x" * 99 + b"\n" and b"hello from bob" in rs[1].body


def test_request_split_into_tiny_writes(pair):
    """A head that arrives a few bytes at a time (each write flushed)."""
    data = b"GET / HTTP/1.1\r\nHost: bob.test\r\nConnection: close\r\n\r\n"
    with RawConn(pair["ph"].port) as c:
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in range(0, len(data), 3):
            c.send(data[i:i + 3])
        r = c.read_response()
    assert r.status == 200 and b"hello from bob" in r.body, r


def test_server_survived_bad_input(pair):
    ph = pair["ph"]
    assert phtest.pid_alive(ph.parent_pid, ph.parent_start)
    crashes = ph.log_lines(r"exit signal|Segmentation|Aborted|assert", )
    assert not crashes, "\n".join(crashes)
    for host in ("alice.test", "bob.test"):
        r = phtest.http_get(ph.port, host, "/")
        assert r.status == 200 and f"hello from {host.split('.')[0]}".encode() in r.body
