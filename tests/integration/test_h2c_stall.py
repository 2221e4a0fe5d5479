"""h2c with prior knowledge (issue 11): a client that stalls inside the
preface or before its first request ends as with stock mpm_event, under
mod_reqtimeout's header policy (here 2 s) and then mod_http2's own
timeouts.  (A module of its own: one differential pair per module.)
"""

import pytest

import phtest
from test_h2c import CONF, PREFACE, exchange, h2_request_bytes


STALL_CONF = CONF.replace(
    "LoadModule http2_module",
    "LoadModule reqtimeout_module @@MODDIR@@/mod_reqtimeout.so\n"
    "RequestReadTimeout header=2-4,MinRate=500\n"
    "LoadModule http2_module")


@pytest.fixture(scope="module")
def stall_pair(module_servers):
    return phtest.start_event_and_ph(module_servers, STALL_CONF, ["alice.test"],
                                     extra_ports=["noh2", "h2set"])


# The multiplexer waits for the first HEADERS under mod_reqtimeout's header
# policy; a client stalling after the preface then gets what stock gives.
@pytest.mark.parametrize("name,data", [
    ("inside-preface", PREFACE[:10]),
    ("preface-only", PREFACE),
    ("inside-settings", h2_request_bytes("alice.test")[:30]),
    ("inside-headers", h2_request_bytes("alice.test")[:-3]),
])
def test_stalled_preface_ends_as_stock(stall_pair, name, data):
    """Inside the preface: both end at mod_reqtimeout's header deadline
    (2 s), without an answer.  After the whole preface: stock's mod_http2
    has had the connection since the preface and its own timeouts end it
    (Timeout, 10 s, or KeepAliveTimeout, 5 s, with a GOAWAY or not); here
    the multiplexer waits for the first request up to the header deadline,
    then mod_http2 in the default server's environment ends it on a clock
    that started at the preface: the same time (before: up to the header
    deadline later)."""
    want, want_s = exchange(stall_pair["event"].port, data)
    got, got_s = exchange(stall_pair["ph"].port, data)
    assert got == want, (name, got, want)
    assert abs(got_s - want_s) <= 1.0, (name, got_s, want_s)
