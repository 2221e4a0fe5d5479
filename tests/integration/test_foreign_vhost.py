"""A request for another environment's vhost, on a connection alice serves,
is never served -- not even its error page or its log line -- by alice's
processor (issue 8, item 1).

httpd switches r->server to the vhost named by the request (Host, an
absolute URI) or to the address's default vhost before any hook of ours
runs; a request that then fails httpd's own checks (no Host: 400,
Expect: bogus: 417, a malformed request line: 400) is answered through that
vhost's ErrorDocument and logged into its CustomLog.  bob's ErrorDocument
is a CGI that records the uid it runs as; bob's CustomLog records the pid
that wrote each line.
"""

import os

import pytest

import phtest
from phtest import RawConn, ConnectionClosed, vhost

ERR_CGI = """\
#!/bin/sh
echo "uid=$(id -u) url=$REDIRECT_URL" >> @@MARKS@@/errdoc.$(id -u)
printf 'Content-Type: text/plain\\r\\n\\r\\n'
echo "bob errdoc uid=$(id -u)"
"""

BASE = """
Listen 127.0.0.1:@@PORT@@
User www-data
Group www-data
ThreadsPerChild 5
ThreadLimit 64
ServerLimit 16
MinMultiplexers 1
Timeout 10
KeepAlive On
KeepAliveTimeout 30
LogFormat "%h \\"%r\\" %>s pid=%P" pidlog
""" + phtest.TWO_PROCESSORS

BOB_ERRORS = ("ErrorDocument 400 /cgi/err.cgi", "ErrorDocument 417 /cgi/err.cgi",
              "ErrorDocument 421 /cgi/err.cgi")

# bob's vhost comes first: it is the default vhost of the address, so a
# request whose line alice's processor cannot even parse starts out in it.
BOB_DEFAULT = BASE + (
    vhost("bob.test", "bob", "bob", *BOB_ERRORS,
          "CustomLog @@TMP@@/bob_access.log pidlog",
          "ErrorLog @@TMP@@/bob_error.log")
    + vhost("alice.test", "alice", "alice",
            "CustomLog @@TMP@@/alice_access.log pidlog"))

# The main server belongs to bob and carries bob's ErrorDocuments and log,
# which bob's vhost inherits: whatever alice's processor puts in place of
# bob's configuration must not be the main server's then.
BOB_MAIN = BASE + """
ServerEnvironment bob
DocumentRoot @@WWW@@/bob
""" + "\n".join(BOB_ERRORS) + """
CustomLog @@TMP@@/bob_access.log pidlog
""" + (vhost("alice.test", "alice", "alice",
             "CustomLog @@TMP@@/alice_access.log pidlog")
       + vhost("bob.test", "bob", "bob"))

# (second request, the status httpd gives it)
CASES = {
    "absolute-uri-no-host": (b"GET http://bob.test/x-foreign-1 HTTP/1.1\r\n\r\n", 400),
    "expect-bogus": (b"GET /x-foreign-2 HTTP/1.1\r\nHost: bob.test\r\n"
                     b"Expect: bogus\r\n\r\n", 417),
    "plain-421": (b"GET /x-foreign-3 HTTP/1.1\r\nHost: bob.test\r\n\r\n", 421),
    "bad-request-line": (b"GET /x-foreign-4 HTTP/1.1 junk\r\nHost: alice.test\r\n\r\n", 400),
}

MAIN_CASES = {
    "main-absolute-uri-no-host": (b"GET http://bob.test/x-foreign-5 HTTP/1.1\r\n\r\n", 400),
    "main-expect-bogus": (b"GET /x-foreign-6 HTTP/1.1\r\nHost: bob.test\r\n"
                          b"Expect: bogus\r\n\r\n", 417),
    "main-plain-421": (b"GET /x-foreign-7 HTTP/1.1\r\nHost: bob.test\r\n\r\n", 421),
}


def _start(module_servers, module_tmp, template, name):
    marks = module_tmp / f"marks-{name}"
    marks.mkdir()
    os.chmod(marks, 0o777)
    cgi_dir = module_tmp / "www" / "bob" / "cgi"
    cgi_dir.mkdir(exist_ok=True)
    os.chmod(cgi_dir, 0o755)
    port = phtest.free_port()
    srv = module_servers(template, name=name,
                         values={"PORT": port, "MARKS": marks})
    cgi = cgi_dir / f"err-{name}.cgi"
    cgi.write_text(ERR_CGI.replace("@@MARKS@@", str(marks)))
    os.chmod(cgi, 0o755)
    # Each server runs its own copy of the CGI (the name in the config).
    text = srv.conf_path.read_text().replace("/cgi/err.cgi", f"/cgi/err-{name}.cgi")
    srv.conf_path.write_text(text)
    srv.conf_text = text
    srv.start(ready_hosts=["alice.test", "bob.test"], port=port)
    srv.port = port
    srv.marks = marks
    return srv


@pytest.fixture(scope="module")
def bob_default(module_servers, module_tmp):
    return _start(module_servers, module_tmp, BOB_DEFAULT, "bobdefault")


@pytest.fixture(scope="module")
def bob_main(module_servers, module_tmp):
    return _start(module_servers, module_tmp, BOB_MAIN, "bobmain")


def _bob_log(srv):
    path = srv.tmp / "bob_access.log"
    return path.read_text() if path.exists() else ""


def _after_alice(srv, second):
    """alice's request, then `second`, on one connection, pipelined in one
    write: alice's processor reads `second` with the first (a kept-alive
    connection that waits for its next request would instead be handed
    back to a multiplexer before a byte of it is read, proc_handback.c);
    returns (first response, second response or None).  Returns once the
    server closed the connection, i.e. finished (and logged) both
    requests."""
    with RawConn(srv.port) as c:
        c.send(b"GET / HTTP/1.1\r\nHost: alice.test\r\n\r\n" + second)
        r1 = c.read_response()
        try:
            r2 = c.read_response()
        except ConnectionClosed:
            r2 = None
        try:
            # ends the connection if the server kept it open
            c.send(b"GET /after HTTP/1.1\r\nHost: alice.test\r\nConnection: close\r\n\r\n")
        except OSError:
            pass
        c.wait_closed(15)
    return r1, r2


def _check_not_served(srv, env_users, case, second, status):
    alice_uid = env_users["alice"][0]
    r1, r2 = _after_alice(srv, second)
    assert r1.status == 200 and b"hello from alice" in r1.body, r1
    assert r2 is not None, "no response to the second request"
    assert b"errdoc" not in r2.body, f"bob's ErrorDocument answered: {r2!r}"
    assert r2.status == status, r2
    marker = second.split(b" ")[1].decode()
    ran = {p.name: p.read_text() for p in srv.marks.iterdir()}
    assert marker not in ran.get(f"errdoc.{alice_uid}", ""), \
        f"bob's ErrorDocument CGI ran as alice: {ran}"
    assert not [t for t in ran.values() if marker in t], \
        f"bob's ErrorDocument CGI ran for {marker}: {ran}"
    lines = [ln for ln in _bob_log(srv).splitlines() if marker in ln]
    assert not lines, f"alice's processor wrote into bob's log: {lines}"


@pytest.mark.parametrize("case", sorted(CASES))
def test_foreign_vhost_error_is_not_bobs(bob_default, env_users, case):
    second, status = CASES[case]
    _check_not_served(bob_default, env_users, case, second, status)


@pytest.mark.parametrize("case", sorted(MAIN_CASES))
def test_foreign_main_server_error_is_not_bobs(bob_main, env_users, case):
    second, status = MAIN_CASES[case]
    _check_not_served(bob_main, env_users, case, second, status)


@pytest.mark.parametrize("fixture", ["bob_default", "bob_main"])
def test_bob_still_runs_his_own_error_document(request, env_users, fixture):
    """Control: the same request on a fresh connection reaches bob, whose
    ErrorDocument runs as bob and whose log gets the line."""
    srv = request.getfixturevalue(fixture)
    bob_uid = env_users["bob"][0]
    with RawConn(srv.port) as c:
        c.send(b"GET /x-own-417 HTTP/1.1\r\nHost: bob.test\r\nExpect: bogus\r\n"
               b"Connection: close\r\n\r\n")
        r = c.read_response()
        c.wait_closed(15)
    assert r.status == 417, r
    assert f"bob errdoc uid={bob_uid}".encode() in r.body, r
    assert (srv.marks / f"errdoc.{bob_uid}").exists()
    phtest.wait_for(lambda: "/x-own-417" in _bob_log(srv), 10,
                    what="bob's own line in bob's access log")


def test_foreign_421_is_logged_under_no_tenant(bob_default):
    """The 421 guard's own line goes to the server's error log, not into
    bob's logs, and alice's own requests are logged in alice's log."""
    r1, r2 = _after_alice(bob_default, b"GET /x-foreign-8 HTTP/1.1\r\nHost: bob.test\r\n\r\n")
    assert r2.status == 421, r2
    phtest.wait_for(lambda: bob_default.log_lines(r"PH00430.*bob\.test"), 10,
                    what="the 421 line in the main error log")
    assert "x-foreign-8" not in _bob_log(bob_default)
    bob_errors = (bob_default.tmp / "bob_error.log").read_text()
    assert "PH00430" not in bob_errors, bob_errors
    alice_log = (bob_default.tmp / "alice_access.log").read_text()
    assert '"GET / HTTP/1.1" 200' in alice_log, alice_log


def _fd_targets(pid):
    out = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            out.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            pass
    return out


@pytest.mark.parametrize("log", ["bob_error.log", "bob_access.log"])
def test_alice_holds_no_descriptor_of_bobs_logs(bob_default, env_users, log):
    """bob's ErrorLog and CustomLog are opened by the parent and inherited
    by every child: alice's processors let go of them before serving (bob's
    keep them), while alice's keep her own access log."""
    path = str(bob_default.tmp / log)
    own = str(bob_default.tmp / "alice_access.log")

    def processors():
        kids = bob_default.children()
        alice = [p for p, (u, _) in kids.items() if u[1] == env_users["alice"][0]]
        bob = [p for p, (u, _) in kids.items() if u[1] == env_users["bob"][0]]
        return (alice, bob) if alice and bob else None

    alice, bob = phtest.wait_for(processors, 20, what="alice's and bob's processors")
    for pid in alice:
        assert path not in _fd_targets(pid), f"alice's processor {pid} holds {path}"
        assert own in _fd_targets(pid), f"alice's processor {pid} lost {own}"
    assert any(path in _fd_targets(pid) for pid in bob), "control: bob's processor holds it"
