"""Which KeepAliveTimeout a kept-alive connection waits under (issue 11).

Stock event waits after a request under the request's vhost's
KeepAliveTimeout when that vhost sets one, and otherwise under the
connection's base server's: the default vhost of the address, not the main
server.  Here the address's default vhost (alice's) sets 1 s, the main
server 8 s: a request for bob's vhost, which sets none, must be closed
after about 1 s on both servers, even though the default vhost belongs to
another environment.  bob2's vhost sets its own 3 s, which wins.
"""

import time

import pytest

import phtest
from phtest import RawConn, vhost

CONF = phtest.server_head(timeout=20) + """
KeepAliveTimeout 8
""" + phtest.TWO_PROCESSORS + vhost(
    "alice.test", "alice", "alice", "KeepAliveTimeout 1",
) + vhost("bob.test", "bob", "bob") + vhost(
    "bob2.test", "bob", "bob", "KeepAliveTimeout 3",
)


@pytest.fixture(scope="module")
def pair(module_servers):
    return phtest.start_event_and_ph(module_servers, CONF, ["alice.test", "bob.test"])


def _kept_alive_for(port, host):
    """Seconds from the end of a kept-alive answer until the server closes."""
    with RawConn(port, timeout=20) as c:
        r = c.request(host)
        assert r.status == 200, r
        assert (r.header("Connection") or "").lower() != "close", r
        start = time.monotonic()
        c.wait_closed(15)
        return time.monotonic() - start


@pytest.mark.parametrize("host,expected", [
    ("alice.test", 1.0),    # the default vhost's own
    ("bob.test", 1.0),      # no line of its own: the default vhost's, not the main server's 8
    ("bob2.test", 3.0),     # its own line
])
def test_keepalive_wait_is_picked_as_stock_picks_it(pair, host, expected):
    got = {mpm: _kept_alive_for(srv.port, host) for mpm, srv in pair.items()}
    assert abs(got["event"] - expected) < 1.0, got
    assert abs(got["ph"] - got["event"]) < 1.0, got
