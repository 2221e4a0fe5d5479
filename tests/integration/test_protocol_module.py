"""A protocol module (mod_echo's ProtocolEcho) on an address whose vhosts
are all in one environment serves its protocol, as under stock httpd.

The multiplexer judged the first line the client sent as an HTTP request
line and answered 400 (httpd-tests t/protocol/echo.t).  Where every vhost
of an address is in one environment, routing needs no Host: a head the
strict rules refuse goes to that environment by the address alone, and
httpd there (here mod_echo) answers it.  An address shared by several
environments still gets the multiplexer's 400.
"""

import socket

import pytest

import phtest
from phtest import vhost

CONF = """
Listen 127.0.0.1:@@PORT@@
Listen 127.0.0.1:@@ECHO@@
User www-data
Group www-data
ThreadsPerChild 8
ThreadLimit 64
ServerLimit 16
MinMultiplexers 1
Timeout 10
LoadModule echo_module @@MODDIR@@/mod_echo.so
""" + phtest.TWO_PROCESSORS + (
    vhost("alice.test", "alice", "alice")
    + vhost("bob.test", "bob", "bob")
    + vhost("echo.test", "alice", "alice", "ProtocolEcho On",
            "LimitRequestLine 128", port="@@ECHO@@"))

LINES = [b"/some/path/echo.t", b"hello world", b"12345" * 5]


@pytest.fixture(scope="module")
def pair(module_servers, env_users):
    return phtest.start_event_and_ph(module_servers, CONF, ["alice.test", "bob.test"],
                                     extra_ports=["echo"])


def echo_lines(port):
    """Send each line and read its echo; the echoes, or the first answer
    that is not one."""
    out = []
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.settimeout(10)
        f = s.makefile("rb")
        for line in LINES:
            s.sendall(line + b"\n")
            got = f.readline()
            out.append(got)
            if got != line + b"\n":
                break
    return out


def test_echo_served_like_event(pair):
    want = echo_lines(pair["event"].echo)
    assert want == [line + b"\n" for line in LINES]
    assert echo_lines(pair["ph"].echo) == want


@pytest.mark.parametrize("mpm", ["event", "ph"])
def test_garbage_on_shared_address_still_400(pair, mpm):
    resp, raw = phtest.raw_exchange(pair[mpm].port, b"/not/http\r\n\r\n")
    assert resp is not None and resp.status == 400, raw



def test_binary_first_bytes_go_on_at_once(pair):
    """Bytes no HTTP method starts with go on at once, not judged as a
    request line: not after a line end (a TLS ClientHello may have none),
    not refused 414 over the address's LimitRequestLine (128 here)."""
    data = b"\x16\x03\x01" + bytes(range(11, 211))   # 203 bytes, no LF
    assert b"\n" not in data

    def exchange(port):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.settimeout(10)
            s.sendall(data)
            s.sendall(b"\n")
            return s.makefile("rb").readline()

    want = exchange(pair["event"].echo)
    assert want == data + b"\n"
    assert exchange(pair["ph"].echo) == want
