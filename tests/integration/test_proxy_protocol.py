"""A PROXY protocol preamble (a load balancer in front, mod_remoteip's
RemoteIPProxyProtocol On) reaches the processor, which serves the request
after it with the client address the preamble gives, as stock httpd does.

The multiplexer peeked "PROXY TCP4 ..." as a request line and answered
400 (httpd-tests t/modules/remoteip.t).  It now skips a preamble (v1 text
or v2 binary) to route by the head after it; mod_remoteip in the
processor reads and checks the preamble itself.
"""

import os
import re
import socket
import struct

import pytest

import phtest
from phtest import vhost

CONF = """
Listen 127.0.0.1:@@PORT@@
Listen 127.0.0.1:@@PROXIED@@
User www-data
Group www-data
ThreadsPerChild 8
ThreadLimit 64
ServerLimit 16
MinMultiplexers 1
Timeout 10
LoadModule remoteip_module @@MODDIR@@/mod_remoteip.so
""" + vhost("alice.test", None, "alice") + vhost(
    "proxied.test", None, "bob", "RemoteIPProxyProtocol On", port="@@PROXIED@@")

ADDR_CGI = """#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\n'
echo "addr=$REMOTE_ADDR"
"""

HEAD = b"GET /cgi-bin/addr.cgi HTTP/1.1\r\nHost: proxied.test\r\nConnection: close\r\n\r\n"

V2 = (b"\r\n\r\n\x00\r\nQUIT\n" + bytes([0x21, 0x11]) + struct.pack("!H", 12)
      + socket.inet_aton("192.168.192.66") + socket.inet_aton("192.168.192.77")
      + struct.pack("!HH", 1111, 2222))

CASES = {
    "v1-tcp4": b"PROXY TCP4 192.168.192.66 192.168.192.77 1111 2222\r\n" + HEAD,
    "v1-tcp6": b"PROXY TCP6 2001:db8::1 2001:db8::2 3333 4444\r\n" + HEAD,
    "v2-tcp4": V2 + HEAD,
    "v1-bad-family": b"PROXY FOO 192.168.192.66 192.168.192.77 1111 2222\r\n" + HEAD,
    "no-preamble": HEAD,
}


@pytest.fixture(scope="module")
def pair(module_servers, module_tmp):
    cgi = module_tmp / "www" / "bob" / "cgi-bin" / "addr.cgi"
    cgi.write_text(ADDR_CGI)
    os.chmod(cgi, 0o755)
    return phtest.start_event_and_ph(module_servers, CONF, ["alice.test"],
                                     extra_ports=["proxied"])


def exchange(port, data):
    """Send data, shut down our side, read to EOF: (status or None, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.settimeout(10)
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        got = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            got += chunk
    if not got.startswith(b"HTTP/1."):
        return None, got
    head, _, body = got.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


@pytest.mark.parametrize("name", sorted(CASES))
def test_preamble_handled_like_event(pair, name):
    want = exchange(pair["event"].proxied, CASES[name])
    got = exchange(pair["ph"].proxied, CASES[name])
    assert got[0] == want[0], (got, want)
    if name in ("v1-tcp4", "v2-tcp4"):     # the reference does what we think
        assert want[0] == 200 and b"addr=192.168.192.66" in want[1], want
    if want[0] == 200:
        # chunked or not depends on timing: compare what the CGI printed
        assert re.findall(rb"addr=\S*", got[1]) == re.findall(rb"addr=\S*", want[1])
