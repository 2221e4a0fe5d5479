"""A kept-alive connection whose next request is for another environment's
virtual host is handed back to a multiplexer before a byte of that request
is read (proc_handback.c, mux_handback.c): the request is served by its own
environment's user, as stock serves it, and the processor that held the
connection neither reads nor logs it.  Observed from outside: statuses,
the uid the CGI reports, each vhost's access log, the bytes a CGI got.
"""

import hashlib
import os
import pwd
import signal

import phtest
from phtest import RawConn, parse_id, vhost, wait_for

CONF = phtest.server_head(threads=4) + """
LogFormat "%v %U %>s" vlog
""" + phtest.TWO_PROCESSORS + "".join(
    vhost(f"{env}.test", env, env, f"CustomLog @@TMP@@/{env}-access.log vlog")
    for env in ("alice", "bob"))


# One multiplexer, a second one only while connections queue, retired
# after 2 s without accepting anything; keep-alive long enough to outlive it.
CONF_SCALING = phtest.server_head(threads=4) + """
MaxMultiplexers 2
MultiplexerIdleTimeout 2
KeepAliveTimeout 60
""" + phtest.TWO_PROCESSORS + "".join(
    vhost(f"{env}.test", env, env) for env in ("alice", "bob"))


def start(servers, conf=CONF):
    port = phtest.free_port()
    srv = servers(conf, values={"PORT": port}, loglevel="debug")
    srv.start(ready_hosts=["alice.test", "bob.test"], port=port)
    srv.port = port
    return srv


def access_log(srv, env):
    path = srv.tmp / f"{env}-access.log"
    return path.read_text() if path.exists() else ""


def test_handed_back_request_is_logged_by_its_own_environment_only(servers, tree,
                                                                    env_users):
    srv = start(servers)
    with RawConn(srv.port) as c:
        r1 = c.request("alice.test", "/cgi-bin/id.cgi?first")
        r2 = c.request("bob.test", "/cgi-bin/id.cgi")
        r3 = c.request("bob.test", "/index.html")
        r4 = c.request("alice.test", "/index.html")
    assert [r.status for r in (r1, r2, r3, r4)] == [200] * 4, (r1, r2, r3, r4)
    assert parse_id(r1.body)["uid"] == env_users["alice"][0], r1
    assert parse_id(r2.body)["uid"] == env_users["bob"][0], r2
    assert b"hello from bob" in r3.body and b"hello from alice" in r4.body
    wait_for(lambda: "/index.html" in access_log(srv, "alice")
             and "/index.html" in access_log(srv, "bob"), 10,
             what="both access logs")
    alice, bob = access_log(srv, "alice"), access_log(srv, "bob")
    assert "bob.test" not in alice, alice
    assert "alice.test" not in bob, bob
    assert "bob.test /cgi-bin/id.cgi 200" in bob, bob
    assert not srv.log_lines(r"PH00430"), srv.log_lines(r"PH00430")


def test_request_body_survives_the_hand_back(servers, tree, env_users):
    """Nothing of the request is consumed before it is handed back: a POST
    body of 300,000 bytes reaches bob's CGI whole."""
    srv = start(servers)
    body = os.urandom(300_000)
    with RawConn(srv.port, timeout=30) as c:
        assert c.request("alice.test", "/").status == 200
        c.send(f"POST /cgi-bin/md5.cgi HTTP/1.1\r\nHost: bob.test\r\n"
               f"Content-Type: application/octet-stream\r\n"
               f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        r = c.read_response()
        again = c.request("bob.test", "/cgi-bin/id.cgi")
    assert r.status == 200, r
    assert hashlib.md5(body).hexdigest().encode() in r.body, r.body[:200]
    assert again.status == 200 and parse_id(again.body)["uid"] == env_users["bob"][0]


def test_no_hand_back_from_a_client_handbackfrom_does_not_list(servers, tree,
                                                               env_users):
    """HandBackFrom none (and a list without loopback alike): a kept-alive
    connection from 127.0.0.1 asking for another environment's host gets
    421, as before the hand-back existed, and nothing of that request runs
    in either environment."""
    for setting in ("none", "10.0.0.0/8 fd00::/8"):
        srv = start(servers, CONF.replace("LogFormat", f"HandBackFrom {setting}\nLogFormat"))
        with RawConn(srv.port) as c:
            r1 = c.request("alice.test", "/cgi-bin/id.cgi")
            r2 = c.request("bob.test", "/cgi-bin/id.cgi")
        assert r1.status == 200 and r2.status == 421, (setting, r1, r2)
        assert b"uid=" not in r2.body
        assert not srv.log_lines(r"PH00431: .* handed back"), setting
        srv.stop()


def test_pipelined_foreign_request_still_421(servers, tree):
    """A request alice's processor has already read (pipelined with hers)
    cannot be handed back: the guard answers 421 and the connection
    closes, as before."""
    srv = start(servers)
    r1, r2 = phtest.pipelined(srv.port, "alice.test", "bob.test", "/cgi-bin/id.cgi")
    assert r1.status == 200 and r2.status == 421, (r1, r2)
    assert b"uid=" not in r2.body


def multiplexers(srv):
    """The multiplexers' pids: the serving processes that run as User."""
    www = pwd.getpwnam("www-data").pw_uid
    return sorted(pid for pid, ids in srv.children().items() if ids[0][1] == www)


def test_hand_back_outlives_the_multiplexer_that_handed_over(servers, tree,
                                                             env_users):
    """A front proxy keeps a backend connection for as long as it is used;
    the multiplexer that accepted it may be retired in between
    (MultiplexerIdleTimeout).  The connection is handed back to one that
    still accepts, not to the doorbell of the one that is gone."""
    srv = start(servers, CONF_SCALING)
    first = multiplexers(srv)
    assert len(first) == 1, first
    with RawConn(srv.port, timeout=30) as c:
        r = c.request("alice.test", "/cgi-bin/id.cgi")     # through `first`
        assert r.status == 200 and parse_id(r.body)["uid"] == env_users["alice"][0], r
        # `first` stopped: another connection queues until the parent
        # starts a second multiplexer, which accepts it
        os.kill(first[0], signal.SIGSTOP)
        try:
            with RawConn(srv.port, timeout=30) as c2:
                assert c2.request("bob.test", "/").status == 200
        finally:
            os.kill(first[0], signal.SIGCONT)
        second = [pid for pid in multiplexers(srv) if pid not in first]
        assert len(second) == 1, (first, second)

        # alice's processor keeps serving c; `first`, idle the longest, is
        # retired (the second is kept: MinMultiplexers 1)
        def first_retired():
            assert c.request("alice.test", "/index.html").status == 200
            return multiplexers(srv) == second
        wait_for(first_retired, 30, interval=0.5,
                 what="the first multiplexer retired by MultiplexerIdleTimeout")
        r = c.request("bob.test", "/cgi-bin/id.cgi")
    assert r.status == 200 and parse_id(r.body)["uid"] == env_users["bob"][0], r
    assert srv.log_lines(r"PH00431: .* handed back to a multiplexer")
