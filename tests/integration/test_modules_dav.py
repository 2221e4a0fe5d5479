"""mod_dav + mod_dav_fs with a lock database, under concurrent load.

apr-util opens the lock database (apr_dbm_open_ex) through a driver table
it creates lazily, on first use, in the *root* of the pool it is given (the
request's pool): it walks apr_pool_parent_get() up to the top and expects
to land on a process-lifetime pool, and registers a cleanup there that
forgets the table.  If a processor's connection pools have no parent, the
table lives in the first connection's pool and is forgotten when that
connection ends; the next LOCK or PROPFIND in the child then dies of
SIGSEGV in apr_hash_get (issue 9: httpd-tests t/modules/dav.t).

Several connections, each with several keep-alive requests, run at once;
the responses must be right and no child may die of a signal.  The same
test runs under stock mpm_event as the reference.
"""

import os
import pwd
import re
import threading

import pytest

import phtest
from phtest import RawConn, vhost

CLIENTS = 6         # concurrent connections at a time
ROUNDS = 3          # connections per client, one after another

# One vhost and one lock database per client: mod_dav_fs's sdbm lock
# database is not safe for concurrent writers in one process (its file
# lock is per process), under event as here.  The driver table that
# crashed is process-wide, so every vhost still shares it.
CONF = """
Listen 127.0.0.1:@@PORT@@
User www-data
Group www-data
ThreadsPerChild 8
ThreadLimit 64
ServerLimit 16
MinMultiplexers 1
Timeout 10
LoadModule dav_module @@MODDIR@@/mod_dav.so
LoadModule dav_fs_module @@MODDIR@@/mod_dav_fs.so
<Directory @@WWW@@/dav>
    Dav On
    Require all granted
</Directory>
""" + "".join(vhost(f"c{i}.test", None, "dav", f"DAVLockDB @@LOCKDIR@@/c{i}")
              for i in range(CLIENTS))

LOCKINFO = (b'<?xml version="1.0" encoding="utf-8"?>\n'
            b'<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope>'
            b'<D:locktype><D:write/></D:locktype><D:owner>ph-test</D:owner>'
            b'</D:lockinfo>\n')

PROPFIND = (b'<?xml version="1.0" encoding="utf-8"?>\n'
            b'<D:propfind xmlns:D="DAV:"><D:prop><D:lockdiscovery/>'
            b'<D:getcontentlength/></D:prop></D:propfind>\n')


def send(conn, host, method, path, body=b"", headers=()):
    head = [f"{method} {path} HTTP/1.1", f"Host: {host}",
            f"Content-Length: {len(body)}"]
    head += list(headers)
    conn.send(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
    return conn.read_response(head_only=(method == "HEAD"))


def one_connection(port, name, round_no):
    """PUT, LOCK, PUT under the lock, PROPFIND, PUT without the token,
    UNLOCK, GET and a PROPFIND of the collection on one keep-alive
    connection; return a list of problems (empty if all were right)."""
    problems = []
    path = f"/{name}.txt"
    data = f"{name} round {round_no}\n".encode()
    step = ["connect"]

    def req(what, ok, method, target, body=b"", headers=()):
        step[0] = what
        resp = send(c, f"{name}.test", method, target, body, headers)
        if resp.status not in ok:
            problems.append(f"{name}/{round_no} {what}: {resp.status} {resp.body[:200]!r}")
            return None
        return resp

    try:
        with RawConn(port) as c:
            req("PUT", (201, 204), "PUT", path, b"first\n")
            r = req("LOCK", (200,), "LOCK", path, LOCKINFO,
                    ["Content-Type: text/xml", "Timeout: Second-60", "Depth: 0"])
            token = r.header("lock-token", "") if r else ""
            if not re.fullmatch(r"<opaquelocktoken:[^>]+>", token):
                problems.append(f"{name}/{round_no} LOCK: bad Lock-Token {token!r}")
                return problems
            req("PUT locked", (204,), "PUT", path, data, [f"If: ({token})"])
            r = req("PROPFIND", (207,), "PROPFIND", path, PROPFIND,
                    ["Content-Type: text/xml", "Depth: 0"])
            if r and token[1:-1].encode() not in r.body:
                problems.append(f"{name}/{round_no} PROPFIND: lock not discovered: "
                                f"{r.body[:400]!r}")
            req("PUT without token", (423,), "PUT", path, b"intruder\n")
            req("UNLOCK", (204,), "UNLOCK", path, b"", [f"Lock-Token: {token}"])
            r = req("GET", (200,), "GET", path)
            if r and r.body != data:
                problems.append(f"{name}/{round_no} GET: body {r.body!r}, expected {data!r}")
            req("PROPFIND depth 1", (207,), "PROPFIND", "/", PROPFIND,
                ["Content-Type: text/xml", "Depth: 1"])
    except (OSError, phtest.ConnectionClosed, ValueError) as exc:
        problems.append(f"{name}/{round_no} {step[0]}: {exc!r}")
    return problems


@pytest.mark.parametrize("mpm", ["ph", "event"])
def test_dav_locks_under_concurrent_connections(servers, tmp, tree, mpm):
    www_data = pwd.getpwnam("www-data")
    dav_root = tmp / "www" / "dav"
    lock_dir = tmp / "davlock"
    for d in (dav_root, lock_dir):
        d.mkdir()
        os.chown(d, www_data.pw_uid, www_data.pw_gid)
    port = phtest.free_port()
    srv = servers(CONF, mpm=mpm, values={"PORT": port, "LOCKDIR": lock_dir})
    srv.start(ready_hosts=["c0.test"], port=port)

    problems = []
    lock = threading.Lock()

    def client(i):
        out = []
        for n in range(ROUNDS):
            out += one_connection(port, f"c{i}", n)
        with lock:
            problems.extend(out)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a client hung"

    crashes = srv.log_lines(r"exit signal|[Ss]egmentation fault|AH00052")
    assert not crashes, "\n".join(crashes)
    assert not problems, "\n".join(problems[:20])
