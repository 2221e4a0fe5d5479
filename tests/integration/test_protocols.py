"""Non-HTTP protocols (issue 9 item 3): a connection to an address that
does not speak HTTP -- `Listen PORT echo`, a vhost with `Protocol echo`,
or a vhost that just turns a protocol module on (`ProtocolEcho On`, as
httpd's own t/protocol/echo.t does) -- is routed by address alone, to the
environment that owns the address's default vhost, and mod_echo answers
it there.  An HTTP Listen beside it keeps working.

Before this, the multiplexer waited for an HTTP request head on every
connection and answered the echo client's line with 400.
"""

import pytest

import phtest
from phtest import http_get, parse_id, vhost, wait_for

HTTP_BASE = """
Listen 127.0.0.1:@@PORT@@
Listen 127.0.0.1:@@EPORT@@@@LISTEN_PROTO@@
LoadModule echo_module @@MODDIR@@/mod_echo.so
User www-data
Group www-data
ThreadsPerChild 5
ThreadLimit 64
ServerLimit 16
MinMultiplexers 1
Timeout 10
KeepAlive On
KeepAliveTimeout 10
"""

# How the echo address is declared: (Listen's protocol argument, lines of
# the echo vhost).
DECLARATIONS = {
    "listen-proto": (" echo", ["ProtocolEcho On"]),
    "protocol-directive": ("", ["Protocol echo", "ProtocolEcho On"]),
    "module-only": ("", ["ProtocolEcho On"]),
}


def echo_vhost(env, lines):
    return vhost("echo.test", env, "main", *lines, port="@@EPORT@@")


def start(servers, template, decl, mpm="ph", ready=("main.test",)):
    proto, _ = DECLARATIONS[decl]
    port, eport = phtest.free_port(), phtest.free_port()
    while eport == port:
        eport = phtest.free_port()
    srv = servers(template, mpm=mpm,
                  values={"PORT": port, "EPORT": eport, "LISTEN_PROTO": proto})
    srv.start(ready_hosts=list(ready), port=port)
    srv.port, srv.eport = port, eport
    return srv


def echo_lines(sock, lines):
    """Send each line and read back what the server echoes."""
    got = []
    f = sock.makefile("rb")
    for line in lines:
        sock.sendall(line)
        got.append(f.readline())
    return got


def server_side_inode(client):
    """Inode of the server's end of the TCP connection `client`."""
    cport = client.getsockname()[1]
    sport = client.getpeername()[1]
    want_local = f"0100007F:{sport:04X}"
    want_remote = f"0100007F:{cport:04X}"
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if fields[1] == want_local and fields[2] == want_remote:
                return int(fields[9])
    return None


def holders(pids, inode):
    """The pids among `pids` with a descriptor on socket inode."""
    target = f"socket:[{inode}]"
    out = []
    for pid in pids:
        try:
            fds = phtest.os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if phtest.os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                    out.append(pid)
                    break
            except OSError:
                pass
    return out


# -- drop-in mode (no <Processor>), compared with stock event ------------

DROP_IN = HTTP_BASE + vhost("main.test", None, "main")


@pytest.mark.parametrize("mpm", ["ph", "event"])
@pytest.mark.parametrize("decl", sorted(DECLARATIONS))
def test_echo_drop_in(servers, tree, decl, mpm):
    template = DROP_IN + echo_vhost(None, DECLARATIONS[decl][1])
    srv = start(servers, template, decl, mpm=mpm)
    with phtest.connect(srv.eport) as s:
        lines = [b"hello echo\n", b"GET / HTTP/1.1\n", b"\x00\x01binary\n"]
        assert echo_lines(s, lines) == lines
    # the HTTP Listen beside it still serves HTTP
    r = http_get(srv.port, "main.test", "/")
    assert r.status == 200, r


# -- inside environments ---------------------------------------------------

ENVS = HTTP_BASE + phtest.TWO_PROCESSORS + (
    vhost("main.test", "alice", "alice")
    + vhost("bob.test", "bob", "bob"))


@pytest.mark.parametrize("decl", sorted(DECLARATIONS))
def test_echo_in_environment(servers, tree, env_users, decl):
    """The echo vhost is bob's; alice's is the first environment and owns
    the HTTP address's default vhost.  bob's processor echoes."""
    template = ENVS + echo_vhost("bob", DECLARATIONS[decl][1])
    srv = start(servers, template, decl, ready=("main.test", "bob.test"))
    bob_uid = env_users["bob"][0]
    with phtest.connect(srv.eport) as s:
        assert echo_lines(s, [b"who echoes\n"]) == [b"who echoes\n"]
        inode = server_side_inode(s)
        assert inode, "server end of the echo connection not in /proc/net/tcp"

        def held_by_one():
            pids = holders(phtest.descendants(srv.parent_pid), inode)
            return pids if len(pids) == 1 else None
        pids = wait_for(held_by_one, 10, what="one process to hold the echo socket")
        uids = phtest.proc_uids(pids[0])[0]
        assert set(uids) == {bob_uid}, (pids, uids)
        assert echo_lines(s, [b"again\n"]) == [b"again\n"]
    # HTTP beside it: each vhost still served by its own environment
    for host, env in (("main.test", "alice"), ("bob.test", "bob")):
        r = http_get(srv.port, host, "/cgi-bin/id.cgi")
        assert r.status == 200, r
        assert parse_id(r.body).get("uid") == env_users[env][0], r.body


def test_echo_without_environment_is_closed(servers, tree, env_users):
    """The echo vhost has no ServerEnvironment: the connection is closed
    (what 503 is for HTTP) without a byte of HTTP and without echo."""
    template = ENVS + echo_vhost(None, DECLARATIONS["listen-proto"][1])
    srv = start(servers, template, "listen-proto", ready=("main.test",))
    with phtest.connect(srv.eport) as s:
        try:
            s.sendall(b"anyone?\n")
        except OSError:
            pass
        data = b""
        try:
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        except ConnectionResetError:
            pass
    assert data == b"", data
    assert http_get(srv.port, "main.test", "/").status == 200


def test_http_on_address_routed_by_address(servers, tree, env_users):
    """HTTP that arrives on a non-HTTP address goes to the environment of
    the address's default vhost (bob's) whatever its Host says: bob's
    vhost is served, alice's vhost on that address gets 421 from bob's
    processor, never bob's content nor alice's served by bob."""
    template = ENVS + vhost("bob-e.test", "bob", "bob", port="@@EPORT@@") + \
        vhost("alice-e.test", "alice", "alice", port="@@EPORT@@")
    srv = start(servers, template, "listen-proto", ready=("main.test",))
    r = http_get(srv.eport, "bob-e.test", "/cgi-bin/id.cgi")
    assert r.status == 200, r
    assert parse_id(r.body).get("uid") == env_users["bob"][0], r.body
    r = http_get(srv.eport, "alice-e.test", "/cgi-bin/id.cgi")
    assert r.status == 421, r
    assert srv.log_lines(r"PH00320: Listen 127\.0\.0\.1:%d has protocol echo" % srv.eport)
