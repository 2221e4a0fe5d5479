"""Debian's haproxy in front, `send-proxy-v2` and `send-proxy` (issue 11):
the environments' vhosts with `RemoteIPProxyProtocol On` serve each request
as their own user, and the CGI and the access log see the client's
address from the PROXY header (127.0.0.2, the address the test connects
from), not haproxy's (127.0.0.1).  Without a front end the same address
drops a request without a preamble, as stock httpd does there.

haproxy is started and stopped by this test, by pid, with bounded waits.
"""

import os
import re
import shutil
import socket
import subprocess
import threading
import time

import pytest

import phtest
from phtest import parse_id, vhost, wait_for

CONF = phtest.server_head(threads=4) + """
LoadModule remoteip_module @@MODDIR@@/mod_remoteip.so
LogFormat "%a %h %v %>s" addr
""" + phtest.TWO_PROCESSORS + "".join(
    vhost(f"{env}.test", env, env, "RemoteIPProxyProtocol On",
          f"CustomLog @@TMP@@/{env}-access.log addr")
    for env in ("alice", "bob"))

ADDR_CGI = """#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\n'
echo "addr=$REMOTE_ADDR uid=$(id -u)"
"""

HAPROXY_CFG = """global
    maxconn 100
defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s
frontend front
    bind 127.0.0.1:{front}
    default_backend ph
backend ph
    server ph 127.0.0.1:{backend} {proxy}
"""


def start_haproxy(tmp, front, backend, proxy, backend_lines=""):
    cfg = tmp / f"haproxy-{front}.cfg"
    text = HAPROXY_CFG.format(front=front, backend=backend, proxy=proxy)
    text = text.replace("backend ph\n", "backend ph\n" + backend_lines)
    cfg.write_text(text)
    proc = subprocess.Popen([shutil.which("haproxy"), "-f", str(cfg), "-db"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def listening():
        try:
            socket.create_connection(("127.0.0.1", front), timeout=1).close()
            return True
        except OSError:
            return None
    wait_for(listening, 15, what="haproxy to listen")
    return proc


def stop_haproxy(proc):
    """Stop haproxy by its pid: SIGTERM, then SIGKILL after 10 s."""
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def get_from(src, port, host, path):
    """A request sent from address src: (status, body)."""
    with socket.socket() as s:
        s.settimeout(10)
        s.bind((src, 0))
        s.connect(("127.0.0.1", port))
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
                  .encode())
        got = phtest.recv_to_close(s)
    head, _, body = got.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/"):
        return None, got
    return int(head.split(b" ", 2)[1]), body


@pytest.mark.parametrize("proxy", ["send-proxy-v2", "send-proxy"])
def test_haproxy_in_front_client_address_reaches_each_environment(
        servers, tree, env_users, proxy):
    if not shutil.which("haproxy"):
        pytest.fail("haproxy is not installed (build/test.sh installs it)")
    for env in ("alice", "bob"):
        cgi = tree[env] / "cgi-bin" / "addr.cgi"
        cgi.write_text(ADDR_CGI)
        os.chmod(cgi, 0o755)
    port = phtest.free_port()
    srv = servers(CONF, values={"PORT": port})
    srv.start(ready_hosts=[], port=port)
    front = phtest.free_port()
    hap = start_haproxy(srv.tmp, front, port, proxy)
    try:
        for env in ("alice", "bob"):
            status, body = get_from("127.0.0.2", front, f"{env}.test", "/cgi-bin/addr.cgi")
            assert status == 200, (body, hap.stderr.read1(4096) if status is None else b"")
            assert b"addr=127.0.0.2 " in body, body
            assert f"uid={env_users[env][0]}".encode() in body, body
        for env in ("alice", "bob"):
            log = srv.tmp / f"{env}-access.log"
            wait_for(lambda: log.exists() and "127.0.0.2" in log.read_text(), 10,
                     what=f"{env}'s access log to name the client")
            assert re.search(rf"^127\.0\.0\.2 \S+ {env}\.test 200$", log.read_text(), re.M), \
                log.read_text()
        # straight to the server, no preamble: mod_remoteip drops the
        # connection without an answer, as with stock event
        # (test_proxy_protocol.py compares that case side by side)
        status, got = get_from("127.0.0.2", port, "alice.test", "/cgi-bin/addr.cgi")
        assert status is None and got == b"", got
    finally:
        stop_haproxy(hap)


# Plain HTTP to the backend, keep-alive on both sides (haproxy's default).
PLAIN_CONF = phtest.server_head(threads=4) + phtest.TWO_PROCESSORS + "".join(
    vhost(f"{env}.test", env, env) for env in ("alice", "bob"))


@pytest.mark.parametrize("reuse", ["safe", "never"])
def test_haproxy_keepalive_backend_sharing_connections(servers, tree, env_users, reuse):
    """haproxy keeps its backend connections alive; with its default
    `http-reuse safe` it sends one client session's request on a connection
    another session used, for another tenant's host: the processor holding
    it hands it back unread (proc_handback.c) and the right environment
    serves it.  Every request of eight keep-alive clients, four on each
    environment's vhost, is answered 200 by its own environment's user,
    none 421; with `http-reuse never` (README's advice, which also keeps
    one tenant's processes from ever holding a connection that carries
    another's requests) likewise."""
    if not shutil.which("haproxy"):
        pytest.fail("haproxy is not installed (build/test.sh installs it)")
    port = phtest.free_port()
    srv = servers(PLAIN_CONF, values={"PORT": port})
    srv.start(ready_hosts=["alice.test", "bob.test"], port=port)
    front = phtest.free_port()
    hap = start_haproxy(srv.tmp, front, port, "", f"    http-reuse {reuse}\n")
    results = {}
    lock = threading.Lock()

    def client(k):
        env = ("alice", "bob")[k % 2]
        got = []
        try:
            with phtest.RawConn(front, timeout=30) as c:
                for _ in range(15):
                    r = c.request(f"{env}.test", "/cgi-bin/id.cgi")
                    got.append((r.status, parse_id(r.body)["uid"] if r.status == 200
                                else None))
        except (OSError, phtest.ConnectionClosed, ValueError) as exc:
            got.append((repr(exc), None))
        with lock:
            results[k] = (env, got)

    try:
        threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    finally:
        stop_haproxy(hap)
    assert len(results) == 8, results
    for k, (env, got) in sorted(results.items()):
        want = (200, env_users[env][0])
        assert got == [want] * 15, f"client {k} ({env}.test): {got}"
