"""The head-read policy before routing is mod_reqtimeout's, as in stock httpd
(issue 11): `RequestReadTimeout header=2-4,MinRate=20` on the address.

A client that sends its head one byte every 0.25 s with Host last
(slowloris) must get what stock mpm_event gives (408) at the same time
(within 1 s); so must one that sends a few bytes and stops.  Before this,
the multiplexer applied only `Timeout` (here 30 s) until it could route.

Each case runs against stock event and peruser_hybrid on the same
configuration, in the same test.
"""

import pytest

import phtest
from phtest import vhost

CONF = phtest.server_head(timeout=30) + """
LoadModule reqtimeout_module @@MODDIR@@/mod_reqtimeout.so
RequestReadTimeout header=2-4,MinRate=20
AcceptFilter http none
""" + phtest.TWO_PROCESSORS + vhost("alice.test", "alice", "alice") \
    + vhost("bob.test", "bob", "bob")

SLOW_HEAD = (b"GET / HTTP/1.1\r\nUser-Agent: slow\r\nAccept: */*\r\n"
             b"X-Padding: aaaaaaaaaaaaaaaa\r\nHost: bob.test\r\n\r\n")


@pytest.fixture(scope="module")
def pair(module_servers):
    return phtest.start_event_and_ph(module_servers, CONF, ["alice.test", "bob.test"])


def slowloris(port, data, interval, limit=20):
    """Send data one byte per interval until the server answers or closes;
    (first bytes of the answer, seconds taken)."""
    r = phtest.script_exchange(port, [("trickle", data, interval)], limit)
    assert r.end != "open", r
    return r.data[:40], r.t_answer


def stall(port, data, limit=20):
    r = phtest.script_exchange(port, [data], limit)
    assert r.end != "open", r
    return r.data[:40], r.t_close


@pytest.mark.parametrize("how", ["slowloris", "stall-after-request-line"])
def test_head_read_policy_as_stock(pair, how):
    results = {}
    for name in ("event", "ph"):
        port = pair[name].port
        if how == "slowloris":
            results[name] = slowloris(port, SLOW_HEAD, 0.25)
        else:
            results[name] = stall(port, b"GET / HTTP/1.1\r\nX-A: b\r\n")
    print(how, results)
    (stock, t_stock), (ours, t_ours) = results["event"], results["ph"]
    # 408, or a close: a slowloris that keeps sending may see the 408 lost
    # to the reset its next byte provokes (for stock as for us)
    for got in (stock, ours):
        assert got == b"" or got.startswith(b"HTTP/1.1 408"), results
    if how != "slowloris":
        assert ours[:12] == stock[:12], results
    # the same policy: the same time, well before Timeout (30 s)
    assert abs(t_ours - t_stock) <= 1.0, results
    assert t_ours < 10, results
