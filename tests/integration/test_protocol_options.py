"""A request head is judged with the rules and limits of the default server
of the connection's address, as httpd judges it: HttpProtocolOptions and
LimitRequestLine / LimitRequestFieldSize / LimitRequestFields.

The multiplexer judged every head with the strict rules and the main
server's limits.  On an address whose server has HttpProtocolOptions
Unsafe it refused (400) what httpd's legacy parser accepts (httpd-tests
t/apache/http_strict.t, its http_unsafe vhost); there it now routes such a
head by the address alone and lets httpd judge it in the processor.  And
it refused (414) a request line that the address's server allows
(t/modules/proxy.t: a vhost keeps the LimitRequestLine in force where it
is defined).
"""

import pytest

import phtest
from phtest import raw_exchange, vhost

CONF = """
Listen 127.0.0.1:@@PORT@@
Listen 127.0.0.1:@@UNSAFE@@
User www-data
Group www-data
ThreadsPerChild 8
ThreadLimit 64
ServerLimit 16
MinMultiplexers 1
Timeout 10
LimitRequestLine 128
""" + phtest.TWO_PROCESSORS + (
    # two environments on each address, so that only the options decide
    # (an address of one environment hands every odd head to httpd)
    vhost("alice.test", "alice", "alice") + vhost("bob.test", "bob", "bob")
    + vhost("unsafe.test", "bob", "bob", "HttpProtocolOptions Unsafe Allow0.9",
            "LimitRequestLine 1000", port="@@UNSAFE@@")
    + vhost("unsafe-alice.test", "alice", "alice", port="@@UNSAFE@@"))

CASES = {
    "method-not-token": b"G/T / HTTP/1.0\r\n\r\n",
    "trailing-spaces": b"GET / HTTP/1.0  \r\nHost: localhost\r\n\r\n",
    "double-space": b"GET  / HTTP/1.0\r\n\r\n",
    "lower-case-http": b"GET / http/1.0\r\n\r\n",
    "control-in-value": b"GET / HTTP/1.0\r\nFoo: b\x01ar\r\n\r\n",
    "control-in-name": b"GET / HTTP/1.0\r\nF\x01o: bar\r\n\r\n",
    "two-hosts": b"GET / HTTP/1.0\r\nHost: localhost\r\nHost: localhost\r\n\r\n",
    "space-before-colon": b"GET / HTTP/1.0\r\nFoo :bar\r\n\r\n",
    "nul-in-value": b"GET / HTTP/1.0\r\nFoo: b\x00ar\r\n\r\n",
    "well-formed": b"GET / HTTP/1.1\r\nHost: unsafe.test\r\n\r\n",
    # 200 bytes: over the main server's 128, under the Unsafe vhost's 1000
    "long-request-line": b"GET /?" + b"a" * 185 + b" HTTP/1.0\r\n\r\n",
}


@pytest.fixture(scope="module")
def pair(module_servers, env_users):
    return phtest.start_event_and_ph(module_servers, CONF, ["alice.test"],
                                     extra_ports=["unsafe"])


def _outcome(port, data):
    resp, raw = raw_exchange(port, data)
    if resp is None:
        return None, raw[:200]
    return resp.status, resp.body


@pytest.mark.parametrize("address", ["unsafe", "strict"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_head_judged_like_event(pair, name, address):
    data = CASES[name]
    ev, ph = pair["event"], pair["ph"]
    want = _outcome(ev.unsafe if address == "unsafe" else ev.port, data)
    got = _outcome(ph.unsafe if address == "unsafe" else ph.port, data)
    assert got[0] == want[0], (got[0], want[0], got[1][:200])
    if want[0] == 200:
        assert got[1] == want[1]
