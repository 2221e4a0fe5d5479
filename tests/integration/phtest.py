"""Helpers for the peruser_hybrid integration tests.

Everything here drives the real /usr/sbin/apache2 with the module built at
build/out/mod_mpm_peruser_hybrid.so (or, for comparisons, Debian's stock
mpm_event).  Each server lives in its own temp dir under /tmp/ph-it-XXXX with
its config, error log, pid file and runtime dir.  Waiting is always done by
polling a condition (wait_for), never by sleeping a fixed amount.

Network: 127.0.0.1 only.
"""

import grp
import json
import os
import pwd
import re
import signal
import socket
import ssl
import struct
import subprocess
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MODULE = REPO / "build" / "out" / "mod_mpm_peruser_hybrid.so"
# PH_SANITIZER=asan|tsan: every server loads the module `make asan`
# (AddressSanitizer + UBSan) or `make tsan` (ThreadSanitizer) builds, with
# the sanitizer's runtime preloaded into apache2; reports go to <server
# tmp>/sanitizer/ (Server.sanitizer_reports, which conftest checks when it
# stops a server).
SANITIZER = os.environ.get("PH_SANITIZER", "")
if SANITIZER in ("asan", "tsan"):
    MODULE = REPO / "build" / f"out-{SANITIZER}" / "mod_mpm_peruser_hybrid.so"
elif SANITIZER:
    raise ValueError(f"PH_SANITIZER={SANITIZER!r}: 'asan' or 'tsan'")
APACHE = "/usr/sbin/apache2"
MODDIR = Path("/usr/lib/apache2/modules")
EVENT_MODULE = MODDIR / "mod_mpm_event.so"
# tests/tools/shm_dump.c, built by `make tools` (conftest's shm_dump fixture)
SHM_DUMP = REPO / "build" / "out" / "shm_dump"
# the segment file when no ExtendedScoreBoardFile is set (DefaultRuntimeDir)
SEGMENT_NAME = "peruser_hybrid.shm"

ENV_USERS = ("alice", "bob")

# How long a server may take to come up / go away.  Generous: the CI box has
# two cores and the tests run several servers one after another.
START_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0
IO_TIMEOUT = 15.0


# --------------------------------------------------------------------------
# polling


class WaitTimeout(AssertionError):
    pass


def wait_for(cond, timeout, interval=0.05, what=None):
    """Poll cond() until it returns a truthy value; return that value.

    Raises WaitTimeout (an AssertionError) after `timeout` seconds.  The poll
    interval grows from `interval` up to 0.5 s, so short waits are quick and
    long waits do not spin.
    """
    deadline = time.monotonic() + timeout
    delay = interval
    last_exc = None
    while True:
        try:
            value = cond()
            if value:
                return value
        except (OSError, ValueError) as exc:  # e.g. connection refused
            last_exc = exc
        if time.monotonic() >= deadline:
            desc = what or getattr(cond, "__name__", repr(cond))
            extra = f" (last error: {last_exc!r})" if last_exc else ""
            raise WaitTimeout(f"timed out after {timeout}s waiting for {desc}{extra}")
        time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 1.5, 0.5)


# --------------------------------------------------------------------------
# users


def ensure_user(name):
    """Create system user `name` with a group of the same name if missing."""
    try:
        grp.getgrnam(name)
    except KeyError:
        subprocess.run(["groupadd", "--system", name], check=True)
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
             "--gid", name, name],
            check=True,
        )
    pw = pwd.getpwnam(name)
    return pw.pw_uid, grp.getgrnam(name).gr_gid


def ensure_env_users():
    return {name: ensure_user(name) for name in ENV_USERS}


# --------------------------------------------------------------------------
# ports


def free_port():
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------
# processes


def _read(path, mode="rb"):
    try:
        with open(path, mode) as f:
            return f.read()
    except OSError:
        return None


def _stat_fields(pid):
    """/proc/PID/stat from field 3 (state) on, or None if pid is gone.

    Split after the ")" that ends comm (which may hold spaces), so index i
    is field i + 3 of proc(5).
    """
    stat = _read(f"/proc/{pid}/stat")
    if stat is None:
        return None
    return stat[stat.rindex(b")") + 2:].split()


def anon_kb(pid):
    """The process's anonymous memory (kB): heap, pools, stacks."""
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Anonymous:"):
                return int(line.split()[1])
    raise AssertionError(f"no Anonymous line for pid {pid}")


def proc_starttime(pid):
    rest = _stat_fields(pid)
    return None if rest is None else int(rest[19])  # field 22, starttime


def proc_ppid(pid):
    rest = _stat_fields(pid)
    return None if rest is None else int(rest[1])  # field 4, ppid


def proc_state(pid):
    rest = _stat_fields(pid)
    return None if rest is None else rest[0].decode()  # field 3, state


def pid_alive(pid, starttime=None):
    """True if pid exists (and is not a zombie), and is the same process."""
    state = proc_state(pid)
    if state is None or state in ("Z", "X"):
        return False
    if starttime is not None and proc_starttime(pid) != starttime:
        return False
    return True


def all_pids():
    return [int(d) for d in os.listdir("/proc") if d.isdigit()]


def pids_with_cmdline(needle):
    """Live pids whose /proc/PID/cmdline contains `needle` (bytes or str)."""
    if isinstance(needle, str):
        needle = needle.encode()
    found = []
    me = os.getpid()
    for pid in all_pids():
        if pid == me:
            continue
        cmd = _read(f"/proc/{pid}/cmdline")
        if cmd and needle in cmd and pid_alive(pid):
            found.append(pid)
    return found


def descendants(root):
    """Live descendants of pid `root` (not including root)."""
    children = {}
    for pid in all_pids():
        ppid = proc_ppid(pid)
        if ppid is not None:
            children.setdefault(ppid, []).append(pid)
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        for c in children.get(p, ()):
            out.append(c)
            todo.append(c)
    return [p for p in out if pid_alive(p)]


def is_factory(pid):
    """An environment's processor factory: httpd exec'd by the parent with
    -D PH_FACTORY (root, forks that environment's processors, serves
    nothing)."""
    cmd = _read(f"/proc/{pid}/cmdline")
    comm = _read(f"/proc/{pid}/comm")
    return (bool(cmd) and b"\0PH_FACTORY\0" in cmd + b"\0"
            and comm == b"apache2-factory\n")


def is_mux_factory(pid):
    """The multiplexers' factory: httpd exec'd by the parent with
    -D PH_FACTORY on the multiplexers' configuration (root, forks the
    multiplexers, serves nothing)."""
    cmd = _read(f"/proc/{pid}/cmdline")
    comm = _read(f"/proc/{pid}/comm")
    return (bool(cmd) and b"\0PH_FACTORY\0" in cmd + b"\0"
            and comm == b"apache2-muxes\n")


def is_blank(pid):
    """A blank factory (issue 13): exec'd like a processor factory, waiting
    for a cold environment to take it (comm apache2-blank)."""
    return _read(f"/proc/{pid}/comm") == b"apache2-blank\n"


def proc_uids(pid):
    """((ruid, euid, suid, fsuid), (rgid, egid, sgid, fsgid)) of a process."""
    status = _read(f"/proc/{pid}/status", "r")
    if status is None:
        return None
    uid = gid = None
    for line in status.splitlines():
        if line.startswith("Uid:"):
            uid = tuple(int(x) for x in line.split()[1:5])
        elif line.startswith("Gid:"):
            gid = tuple(int(x) for x in line.split()[1:5])
    if uid is None or gid is None:
        return None
    return uid, gid


def proc_groups(pid):
    """Supplementary groups of a process, from /proc/PID/status."""
    status = _read(f"/proc/{pid}/status", "r")
    for line in (status or "").splitlines():
        if line.startswith("Groups:"):
            return [int(x) for x in line.split()[1:]]
    return None


# --------------------------------------------------------------------------
# raw HTTP over a socket


class RawResponse:
    def __init__(self, status, reason, headers, body, raw_head):
        self.status = status
        self.reason = reason
        self.headers = headers  # dict, lower-case names
        self.body = body
        self.raw_head = raw_head

    def header(self, name, default=None):
        return self.headers.get(name.lower(), default)

    def __repr__(self):
        return f"<RawResponse {self.status} {self.reason!r} body={self.body[:80]!r}>"


class ConnectionClosed(Exception):
    """The server closed the connection before a complete response."""

    def __init__(self, data):
        super().__init__(f"connection closed after {len(data)} bytes: {data[:200]!r}")
        self.data = data


def connect(port, timeout=IO_TIMEOUT):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.settimeout(timeout)
    return s


class RawConn:
    """One client connection: send bytes, read HTTP/1.x responses."""

    def __init__(self, port, timeout=IO_TIMEOUT):
        self.sock = connect(port, timeout)
        self.buf = b""

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("latin-1")
        self.sock.sendall(data)

    def _fill(self):
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            raise ConnectionClosed(self.buf)
        self.buf += chunk

    def _take(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _line(self):
        while b"\r\n" not in self.buf:
            if len(self.buf) > 1 << 20:
                raise ValueError("line too long")
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def read_response(self, head_only=False):
        while b"\r\n\r\n" not in self.buf:
            if len(self.buf) > 1 << 20:
                raise ValueError("response head too long")
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.split(b"\r\n")
        m = re.match(rb"HTTP/1\.[01] (\d{3}) ?(.*)", lines[0])
        if not m:
            raise ValueError(f"bad status line {lines[0]!r}")
        status, reason = int(m.group(1)), m.group(2).decode("latin-1")
        headers = {}
        for ln in lines[1:]:
            k, _, v = ln.decode("latin-1").partition(":")
            headers[k.strip().lower()] = v.strip()
        body = b""
        if head_only or status in (204, 304) or 100 <= status < 200:
            pass
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            while True:
                size = int(self._line().split(b";")[0], 16)
                if size == 0:
                    while self._line() != b"":
                        pass
                    break
                body += self._take(size)
                self._take(2)
        elif "content-length" in headers:
            body = self._take(int(headers["content-length"]))
        else:  # read to close
            try:
                while True:
                    self._fill()
            except ConnectionClosed:
                pass
            body, self.buf = self.buf, b""
        return RawResponse(status, reason, headers, body, head)

    def request(self, host, path="/", method="GET", extra=""):
        self.send(f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n")
        return self.read_response(head_only=(method == "HEAD"))

    def wait_closed(self, timeout):
        """Read until EOF (or reset); return the bytes received meanwhile.

        Raises socket.timeout if the server keeps the connection open longer
        than `timeout` seconds.
        """
        deadline = time.monotonic() + timeout
        data = self.buf
        self.buf = b""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout(f"connection still open after {timeout}s; got {data[:200]!r}")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                return data
            if not chunk:
                return data
            data += chunk


def pipelined(port, first, second, path="/", first_path=None, timeout=IO_TIMEOUT):
    """Two requests on one connection in one write, for hosts first and
    second: (response, response).  The first's processor reads the second
    with the first, so a second for another environment's vhost is the
    421 of the processor's guard (proc_guard.c).  Sent one after the other
    instead, the second would find the connection waiting for its next
    request, and be handed back to a multiplexer unread
    (proc_handback.c)."""
    with RawConn(port, timeout) as c:
        c.send(f"GET {first_path or path} HTTP/1.1\r\nHost: {first}\r\n\r\n"
               f"GET {path} HTTP/1.1\r\nHost: {second}\r\n\r\n")
        return c.read_response(), c.read_response()


def http_get(port, host, path="/", timeout=IO_TIMEOUT, extra=""):
    """One request on a fresh connection with Connection: close."""
    with RawConn(port, timeout) as c:
        return c.request(host, path, extra="Connection: close\r\n" + extra)


def raw_exchange(port, data, timeout=IO_TIMEOUT):
    """Send raw bytes on a fresh connection and read one response.

    Returns (RawResponse or None, bytes).  The response is None when the
    server closed (or reset) the connection without a complete, parseable
    HTTP/1.x response; bytes are then whatever arrived before the close.
    Raises socket.timeout if the server neither answers nor closes in time.
    """
    with RawConn(port, timeout) as c:
        try:
            c.send(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before reading it all
        try:
            resp = c.read_response()
            return resp, resp.raw_head
        except ConnectionClosed as exc:
            return None, exc.data
        except ValueError:  # not HTTP/1.x (e.g. an HTTP/0.9 body): read to close
            return None, c.buf + c.wait_closed(timeout)


# --------------------------------------------------------------------------
# scripted clients: slow, split, half-closed, reset and idle connections


def poll_recv(sock, seconds):
    """Bytes the server sent within `seconds` (b"" once it closed or reset
    the connection), or None if it sent nothing meanwhile."""
    sock.settimeout(max(seconds, 0.001))
    try:
        return sock.recv(65536)
    except socket.timeout:
        return None
    except OSError:
        return b""


class Scripted:
    """What a scripted client saw: data (every byte the server sent), end
    ('eof', 'reset', 'open' if the server kept the connection past the
    limit, 'rst-sent' when the client reset it), t_answer (seconds from
    connect to the first byte or the close), t_close (to the close, None
    if open) and client_port."""

    def __init__(self, client_port):
        self.client_port = client_port
        self.data = b""
        self.end = "open"
        self.t_answer = None
        self.t_close = None

    def __repr__(self):
        return (f"<Scripted end={self.end} t_answer={self.t_answer} t_close={self.t_close} "
                f"data={self.data[:60]!r}>")


# Client ports the batteries hand out themselves.  They tell a client's
# error-log lines apart by its port (an error line names no local port), so a
# port must not be used twice against one server: the kernel's own choice is
# unique only among sockets open at once, and a client whose connection the
# server closed frees its port at once for the next one.  These come from above
# the kernel's ephemeral range (net.ipv4.ip_local_port_range, 32768-60999 by
# default), where no other client of the machine gets one, each once per test
# run until the range wraps.
def _own_port_range():
    try:
        hi = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        hi = 60999
    return (hi + 1, 65535) if hi <= 64535 else (20000, 29999)


_OWN_PORTS = _own_port_range()
_own_port_next = [_OWN_PORTS[0]]
_own_port_lock = threading.Lock()


def _take_own_port():
    with _own_port_lock:
        p = _own_port_next[0]
        _own_port_next[0] = p + 1 if p < _OWN_PORTS[1] else _OWN_PORTS[0]
        return p


def _connect_from_own_port(port, timeout):
    """A connection to 127.0.0.1:port from a client port no earlier client
    of this test run used (one held by someone else is skipped)."""
    for _ in range(200):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(("127.0.0.1", _take_own_port()))
        except OSError:
            s.close()
            continue
        s.settimeout(timeout)
        try:
            s.connect(("127.0.0.1", port))
        except OSError:
            s.close()
            raise
        return s
    raise OSError("no free client port in %d-%d" % _OWN_PORTS)


def script_exchange(port, steps, limit=20.0):
    """Run `steps` on a fresh connection (TCP_NODELAY, so each send is its
    own segment), then read until the server closes or `limit` seconds
    from connect pass.  Steps:
      bytes                  send them
      ("pause", s)           wait s seconds (stop early if the server answers)
      ("trickle", data, s)   send data one byte every s seconds (stop once
                             the server answers or closes)
      "FIN"                  shutdown(SHUT_WR)
      "RST"                  close with SO_LINGER 0 (a reset) and return
    Returns a Scripted."""
    t0 = time.monotonic()
    s = _connect_from_own_port(port, limit)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    out = Scripted(s.getsockname()[1])

    def got(chunk):
        if chunk is None:
            return False
        now = time.monotonic() - t0
        if out.t_answer is None:
            out.t_answer = now
        if chunk == b"":
            out.end, out.t_close = "eof", now
        out.data += chunk
        return True

    def send(data):
        try:
            s.sendall(data)
            return True
        except OSError:
            return False

    try:
        answered = False
        for step in steps:
            if answered:
                break
            if isinstance(step, bytes):
                answered = not send(step)
            elif step == "FIN":
                s.shutdown(socket.SHUT_WR)
            elif step == "RST":
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                s.close()
                out.end, out.t_close = "rst-sent", time.monotonic() - t0
                return out
            elif step[0] == "pause":
                answered = got(poll_recv(s, step[1]))
            elif step[0] == "trickle":
                for i in range(len(step[1])):
                    if not send(step[1][i:i + 1]) or got(poll_recv(s, step[2])):
                        answered = True
                        break
            else:
                raise ValueError(step)
        while out.end == "open":
            left = limit - (time.monotonic() - t0)
            if left <= 0:
                break
            s.settimeout(left)
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                now = time.monotonic() - t0
                out.end, out.t_close = "reset", now
                if out.t_answer is None:
                    out.t_answer = now
                break
            got(chunk)
    finally:
        s.close()
    return out


# --------------------------------------------------------------------------
# config


COMMON_HEAD = """\
# generated by tests/integration/phtest.py -- @@TMP@@
ServerRoot /etc/apache2
DefaultRuntimeDir @@TMP@@/run
PidFile @@TMP@@/httpd.pid
Mutex file:@@TMP@@/run default
ErrorLog @@TMP@@/error.log
LogLevel @@LOGLEVEL@@
ServerName localhost
@@MPM_LOADMODULE@@
LoadModule authz_core_module @@MODDIR@@/mod_authz_core.so
LoadModule mime_module @@MODDIR@@/mod_mime.so
LoadModule dir_module @@MODDIR@@/mod_dir.so
LoadModule alias_module @@MODDIR@@/mod_alias.so
LoadModule cgi_module @@MODDIR@@/mod_cgi.so
LoadModule lua_module @@MODDIR@@/mod_lua.so
LoadModule status_module @@MODDIR@@/mod_status.so
TypesConfig /etc/mime.types
DirectoryIndex index.html
<Directory />
    Options None
    AllowOverride None
    Require all denied
</Directory>
<Directory @@WWW@@>
    Options +ExecCGI
    AllowOverride None
    Require all granted
    AddHandler cgi-script .cgi
    AddHandler lua-script .lua
</Directory>
<Location /server-status>
    SetHandler server-status
</Location>
"""

# Directives and blocks that only peruser_hybrid knows.  Removed to run the
# same config under stock mpm_event.
_PH_BLOCK_RE = re.compile(r"^[ \t]*<Processor\b.*?^[ \t]*</Processor>[ \t]*\n", re.S | re.M | re.I)
_PH_LINE_RE = re.compile(r"^[ \t]*(ServerEnvironment|MinMultiplexers|MaxMultiplexers|"
                         r"MinProcessors|MaxProcessors|MinSpareProcessors|"
                         r"MaxSpareProcessors|IdleTimeout|ExpireTimeout|"
                         r"ExtendedScoreBoardFile|ExtendedScoreBoardGroup|"
                         r"ProcessorWaitTimeout|ProcessorImage|StatusEnvironment|"
                         r"NUMANode)\b.*\n",
                         re.M | re.I)


def strip_ph_directives(conf):
    conf = _PH_BLOCK_RE.sub("", conf)
    return _PH_LINE_RE.sub("", conf)


# The two environments most tests serve: alice and bob (ENV_USERS), each
# running as its own user and group, one processor each kept running and
# no spare beyond it (MinSpareProcessors 0), so that tests can count
# children.
TWO_PROCESSORS = """\
<Processor alice>
    User alice
    Group alice
    MinProcessors 1
    MinSpareProcessors 0
</Processor>
<Processor bob>
    User bob
    Group bob
    MinProcessors 1
    MinSpareProcessors 0
</Processor>
"""


def processor(name, user, **limits):
    """A <Processor `name`> block running as `user` (and the group of the
    same name), with its limits as keyword arguments in order, e.g.
    processor("slow", "alice", MinProcessors=1, MaxProcessors=1)."""
    lines = [f"<Processor {name}>", f"    User {user}", f"    Group {user}"]
    lines += [f"    {k} {v}" for k, v in limits.items()]
    lines.append("</Processor>")
    return "\n".join(lines) + "\n"


def server_head(threads=4, server_limit=16, muxes=1, timeout=10, keepalive="On",
                thread_limit=64):
    """The server-level lines most configurations start with: one Listen
    on @@PORT@@, the multiplexers as www-data, the thread and process
    bounds."""
    return f"""
Listen 127.0.0.1:@@PORT@@
User www-data
Group www-data
ThreadsPerChild {threads}
ThreadLimit {thread_limit}
ServerLimit {server_limit}
MinMultiplexers {muxes}
Timeout {timeout}
KeepAlive {keepalive}
"""


def vhost(name, env, root, *extra, port="@@PORT@@"):
    """A <VirtualHost 127.0.0.1:`port`> block for ServerName `name`.

    env: its ServerEnvironment, or None for no ServerEnvironment line.
    root: its DocumentRoot, a directory under @@WWW@@ (make_tree creates
    alice, bob and main).  extra: more directive lines for the block, in order.
    """
    lines = [f"<VirtualHost 127.0.0.1:{port}>", f"    ServerName {name}"]
    if env is not None:
        lines.append(f"    ServerEnvironment {env}")
    lines.append(f"    DocumentRoot @@WWW@@/{root}")
    lines += [f"    {line}" for line in extra]
    lines.append("</VirtualHost>")
    return "\n".join(lines) + "\n"


def fill(template, values):
    out = template
    for k, v in values.items():
        out = out.replace(f"@@{k}@@", str(v))
    left = re.findall(r"@@[A-Z0-9_]+@@", out)
    if left:
        raise ValueError(f"unfilled placeholders in config: {sorted(set(left))}")
    return out


CGI_ID = """\
#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\n'
echo "uid=$(id -u) gid=$(id -g) ruid=$(id -ru) rgid=$(id -rg) groups=$(id -G | tr ' ' ',')"
"""

CGI_LEN = """\
#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\n'
echo "md5=$(md5sum | cut -d' ' -f1) uid=$(id -u)"
"""

GATED_CGI = """\
#!/bin/sh
# holds its worker until the test removes the gate file (bounded: 20 s)
i=0
while [ -e "@@GATE@@" ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i+1)); done
printf 'Content-Type: text/plain\\r\\n\\r\\n'
echo "gated done uid=$(id -u)"
"""

LUA_ID = """\
function handle(r)
    r.content_type = "text/plain"
    local uid, gid = "?", "?"
    local f = io.open("/proc/self/status", "r")
    if f then
        for line in f:lines() do
            local u = line:match("^Uid:%s+(%d+)%s+(%d+)")
            if u then uid = line:match("^Uid:%s+%d+%s+(%d+)") end
            local g = line:match("^Gid:%s+(%d+)%s+(%d+)")
            if g then gid = line:match("^Gid:%s+%d+%s+(%d+)") end
        end
        f:close()
    end
    r:puts("lua uid=" .. uid .. " gid=" .. gid .. "\\n")
    return apache2.OK
end
"""


def parse_id(body):
    """Parse 'uid=.. gid=.. ruid=.. rgid=.. groups=a,b' into a dict."""
    text = body.decode("latin-1") if isinstance(body, bytes) else body
    out = {}
    for m in re.finditer(r"(\w+)=([\d,]+)", text):
        k, v = m.group(1), m.group(2)
        out[k] = [int(x) for x in v.split(",") if x] if k == "groups" else int(v)
    return out


def sanitizer_env(report_dir):
    """Environment for apache2 under PH_SANITIZER (empty without): the
    runtime preloaded (Debian's apache2 is not instrumented), reports as
    files in report_dir, which every child (any user) can write."""
    if not SANITIZER:
        return {}
    report_dir.mkdir(exist_ok=True)
    os.chmod(report_dir, 0o1777)
    runtime = subprocess.run(["gcc", f"-print-file-name=lib{SANITIZER}.so"],
                             capture_output=True, text=True, check=True).stdout.strip()
    env = {"LD_PRELOAD": os.path.realpath(runtime)}
    if SANITIZER == "asan":
        # detect_leaks: httpd frees its pools at exit only in part, by design
        env["ASAN_OPTIONS"] = (f"detect_leaks=0:log_path={report_dir}/asan:"
                               "halt_on_error=1:allow_user_segv_handler=1:symbolize=0:"
                               # threads leaving via apr_thread_exit() (pthread_exit)
                               # keep their instrumented frames poisoned; ASan then
                               # trips on its own sigaltstack() write at thread exit
                               "use_sigaltstack=0")
        env["UBSAN_OPTIONS"] = f"print_stacktrace=1:log_path={report_dir}/ubsan"
    else:
        env["TSAN_OPTIONS"] = f"log_path={report_dir}/tsan:halt_on_error=0"
    return env


class Server:
    """One apache2 instance with its own temp dir and config."""

    def __init__(self, tmp, template, mpm="ph", values=None, loglevel="info", name="httpd",
                 module=None, env=None):
        self.tmp = Path(tmp)
        self.mpm = mpm
        self.name = name
        self.conf_path = self.tmp / f"{name}.conf"
        self.pidfile = self.tmp / "httpd.pid"
        self.error_log = self.tmp / "error.log"
        self.run_dir = self.tmp / "run"
        self.run_dir.mkdir(exist_ok=True)
        self.parent_pid = None
        self.parent_start = None
        self.known = {}  # pid -> starttime, every server process seen
        self.start_result = None
        self.stopped = False
        # apache2's environment: ours, the sanitizer's, then `env`
        self.sanitizer_dir = self.tmp / "sanitizer"
        self.sanitizer_ignore_pids = set()  # crashes a test provoked on purpose
        self.env = {**os.environ, **sanitizer_env(self.sanitizer_dir), **(env or {})}

        if mpm == "ph":
            load = f"LoadModule mpm_peruser_hybrid_module {module or MODULE}"
        elif mpm == "event":
            load = f"LoadModule mpm_event_module {EVENT_MODULE}"
        else:
            raise ValueError(mpm)
        vals = {"TMP": self.tmp, "MODDIR": MODDIR, "MPM_LOADMODULE": load,
                "LOGLEVEL": loglevel}
        vals.update(values or {})
        text = fill(COMMON_HEAD + template, vals)
        if mpm == "event":
            text = strip_ph_directives(text)
        self.conf_text = text
        self.conf_path.write_text(text)

    # -- control ----------------------------------------------------------

    def apache(self, *args, timeout=60):
        return subprocess.run([APACHE, "-f", str(self.conf_path), *args],
                              capture_output=True, text=True, timeout=timeout, env=self.env)

    # A sanitizer report's first line, when it lands on stderr (the error
    # log) rather than in the log_path file: gcc's UBSan beside ASan always
    # writes there, and without a pid, so sanitizer_ignore_pids cannot
    # excuse it (undefined behaviour on a value read from shared memory is
    # a defect whoever wrote the value).
    _SANITIZER_LINE = re.compile(r"^==(\d+)==ERROR: |^\S+:\d+:\d+: runtime error: |"
                                 r"^WARNING: ThreadSanitizer: .*\(pid=(\d+)\)|"
                                 r"^FATAL: ThreadSanitizer|"
                                 r"^SUMMARY: (Address|UndefinedBehavior|Thread)Sanitizer", re.M)

    def sanitizer_reports(self):
        """{where: text} of the sanitizer reports its processes wrote (files
        in sanitizer_dir, lines in the error log), but for pids in
        sanitizer_ignore_pids."""
        out = {}
        if not SANITIZER:
            return out
        if self.sanitizer_dir.is_dir():
            for f in sorted(self.sanitizer_dir.iterdir()):
                pid = f.suffix.lstrip(".")
                if pid.isdigit() and int(pid) in self.sanitizer_ignore_pids:
                    continue
                out[f.name] = f.read_text(errors="replace")
        log = self.log_text()
        for m in self._SANITIZER_LINE.finditer(log):
            pid = m.group(1) or m.group(2)
            if pid and int(pid) in self.sanitizer_ignore_pids:
                continue
            out.setdefault("error.log", log[m.start():m.start() + 6000])
        return out

    def start(self, ready_hosts=None, port=None, timeout=START_TIMEOUT):
        """`apache2 -k start`, then poll until every host in ready_hosts answers.

        ready_hosts: list of Host names to GET / on `port`.  Returns self.
        """
        res = self.apache("-k", "start")
        self.start_result = res
        if res.returncode != 0:
            raise AssertionError(
                f"apache2 -k start failed rc={res.returncode}\nstdout: {res.stdout}\n"
                f"stderr: {res.stderr}\nerror_log:\n{self.log_text()[-4000:]}")
        self.parent_pid = wait_for(self._read_pidfile, timeout, what=f"pid file {self.pidfile}")
        self.parent_start = proc_starttime(self.parent_pid)
        self.known[self.parent_pid] = self.parent_start
        if SANITIZER:
            # A run that is not instrumented must not pass as one.
            maps = (_read(f"/proc/{self.parent_pid}/maps") or b"").decode("latin-1")
            if f"lib{SANITIZER}" not in maps:
                raise AssertionError(f"PH_SANITIZER={SANITIZER}: apache2 parent "
                                     f"{self.parent_pid} has no sanitizer runtime mapped")
        for host in ready_hosts or ():
            self.wait_ready(port, host, timeout)
        self.record_processes()
        return self

    def wait_ready(self, port, host, timeout=START_TIMEOUT):
        def answered():
            if not pid_alive(self.parent_pid, self.parent_start):
                raise AssertionError(
                    f"apache2 parent {self.parent_pid} died during start-up\n"
                    f"error_log:\n{self.log_text()[-4000:]}")
            try:
                return http_get(port, host, "/", timeout=5)
            except (OSError, ConnectionClosed, ValueError):
                return None
        return wait_for(answered, timeout, what=f"{host} on port {port} to answer")

    def _read_pidfile(self):
        text = _read(self.pidfile, "r")
        if text and text.strip().isdigit():
            pid = int(text.strip())
            if pid_alive(pid):
                return pid
        return None

    def record_processes(self):
        """Remember every process of this server (descendants + cmdline match)."""
        pids = set(pids_with_cmdline(str(self.conf_path)))
        if self.parent_pid and pid_alive(self.parent_pid, self.parent_start):
            pids.add(self.parent_pid)
            pids.update(descendants(self.parent_pid))
        for pid in pids:
            st = proc_starttime(pid)
            if st is not None:
                self.known.setdefault(pid, st)
        return sorted(pids)

    def children(self):
        """Live descendants of the parent that serve (multiplexers,
        processors, what they run), not the factories (processors',
        multiplexers' and blank ones) nor what a factory runs itself (piped
        loggers):
        {pid: proc_uids(pid)}."""
        factories = (set(self.factories()) | set(self.mux_factories())
                     | set(self.blanks()))
        out = {}
        for pid in descendants(self.parent_pid):
            if pid in factories or proc_ppid(pid) in factories:
                continue
            ids = proc_uids(pid)
            if ids:
                out[pid] = ids
        return out

    def factory_of(self, env):
        """The live processor factory of environment `env`, or None."""
        for pid in self.factories():
            environ = _read(f"/proc/{pid}/environ") or b""
            for var in environ.split(b"\0"):
                if var.startswith(b"PH_FACTORY_SPEC=") and \
                        f" name={env} ".encode() in var + b" ":
                    return pid
        return None

    def factories(self):
        """Live processor factories of this server (children of the
        parent exec'd with -D PH_FACTORY)."""
        return [p for p in descendants(self.parent_pid)
                if proc_ppid(p) == self.parent_pid and is_factory(p)]

    def blanks(self):
        """Live blank factories of this server (FactoryReserve)."""
        return [p for p in descendants(self.parent_pid)
                if proc_ppid(p) == self.parent_pid and is_blank(p)]

    def mux_factories(self):
        """Live multiplexers' factories of this server (one per generation
        still running multiplexers)."""
        return [p for p in descendants(self.parent_pid)
                if proc_ppid(p) == self.parent_pid and is_mux_factory(p)]

    def leftovers(self):
        live = set(pids_with_cmdline(str(self.conf_path)))
        for pid, st in self.known.items():
            if pid_alive(pid, st):
                live.add(pid)
        return sorted(live)

    def wait_gone(self, timeout=STOP_TIMEOUT):
        """Poll until no process of this server remains; True if so."""
        try:
            wait_for(lambda: not self.leftovers(), timeout, what="server processes to exit")
            return True
        except WaitTimeout:
            return False

    def stop(self, how="stop", timeout=STOP_TIMEOUT):
        """apache2 -k <how>; wait for every process to go.

        If processes remain after `timeout`, they are SIGKILLed by pid and an
        AssertionError is raised.
        """
        if self.stopped:
            return
        self.stopped = True
        if self.parent_pid is not None:
            self.record_processes()
        try:
            res = self.apache("-k", how)
        except subprocess.TimeoutExpired as exc:
            # The command itself hung: the server must not outlive the
            # test for it (its processes are killed below, by pid).
            res = subprocess.CompletedProcess(exc.cmd, -1, "", f"timed out after {exc.timeout}s")
            if self.wait_gone(5):
                raise AssertionError(f"apache2 -k {how} hung for {exc.timeout}s "
                                     "(the server did go)") from None
        if self.wait_gone(timeout):
            return res
        left = self.leftovers()
        desc = []
        for pid in left:
            cmd = (_read(f"/proc/{pid}/cmdline") or b"").replace(b"\0", b" ")
            desc.append(f"  pid {pid} state {proc_state(pid)} uids {proc_uids(pid)} cmd {cmd[:200]!r}")
        self.kill_leftovers()
        raise AssertionError(
            f"after apache2 -k {how} (rc={res.returncode}, stderr={res.stderr.strip()!r}) "
            f"processes remained after {timeout}s and were SIGKILLed:\n" + "\n".join(desc))

    def kill_leftovers(self):
        for pid in self.leftovers():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            wait_for(lambda: not self.leftovers(), 10, what="SIGKILLed processes to go")
        except WaitTimeout:
            pass

    # -- logs -------------------------------------------------------------

    def log_text(self):
        data = _read(self.error_log)
        return data.decode("utf-8", "replace") if data else ""

    def log_lines(self, pattern):
        rx = re.compile(pattern)
        return [ln for ln in self.log_text().splitlines() if rx.search(ln)]


def make_tree(tmp, users=ENV_USERS):
    """Create tmp/www/<name> doc roots (world-readable) with an index page,
    an id CGI and an id Lua handler for each name in `users` plus 'main'."""
    tmp = Path(tmp)
    os.chmod(tmp, 0o755)
    www = tmp / "www"
    www.mkdir(exist_ok=True)
    os.chmod(www, 0o755)
    roots = {}
    for name in (*users, "main"):
        root = www / name
        (root / "cgi-bin").mkdir(parents=True, exist_ok=True)
        (root / "index.html").write_text(f"<html><body>hello from {name}</body></html>\n")
        cgi = root / "cgi-bin" / "id.cgi"
        cgi.write_text(CGI_ID)
        md5cgi = root / "cgi-bin" / "md5.cgi"
        md5cgi.write_text(CGI_LEN)
        (root / "id.lua").write_text(LUA_ID)
        (root / "small.txt").write_bytes(b"x" * 99 + b"\n")
        for p in (root, root / "cgi-bin"):
            os.chmod(p, 0o755)
        for p in (root / "index.html", root / "id.lua", root / "small.txt"):
            os.chmod(p, 0o644)
        os.chmod(cgi, 0o755)
        os.chmod(md5cgi, 0o755)
        roots[name] = root
    return roots


def start_event_and_ph(module_servers, conf, ready_hosts, extra_ports=(), prefix="", **kw):
    """The same configuration under stock mpm_event and under peruser_hybrid,
    for differential tests: {"event": server, "ph": server}.  Each gets a
    fresh port for @@PORT@@ (srv.port, where it is started and probed with
    ready_hosts) and one for each name in extra_ports (@@NAME@@ in the
    configuration, srv.name).  prefix names the servers' directories (for a
    second pair in one module).  kw goes to module_servers (e.g. loglevel)."""
    out = {}
    for mpm in ("event", "ph"):
        ports = {"port": free_port(), **{name: free_port() for name in extra_ports}}
        srv = module_servers(conf, mpm=mpm, name=prefix + mpm,
                             values={name.upper(): n for name, n in ports.items()}, **kw)
        srv.start(ready_hosts=list(ready_hosts), port=ports["port"])
        for name, n in ports.items():
            setattr(srv, name, n)
        out[mpm] = srv
    return out


# mod_ssl on a second address, @@TLS@@, for TLS vhosts (tls_vhost).
TLS_HEAD = """
LoadModule ssl_module @@MODDIR@@/mod_ssl.so
LoadModule socache_shmcb_module @@MODDIR@@/mod_socache_shmcb.so
Listen 127.0.0.1:@@TLS@@ https
SSLSessionCache shmcb:@@TMP@@/run/ssl_scache(512000)
"""


def tls_vhost(env, *extra, port="@@TLS@@"):
    """A TLS vhost `env`.test of environment `env` serving @@WWW@@/`env`,
    with the certificate make_tls_certs made for it; extra: more lines."""
    return vhost(f"{env}.test", env, env, "SSLEngine on",
                 f"SSLCertificateFile @@CERTS@@/{env}.crt",
                 f"SSLCertificateKeyFile @@CERTS@@/{env}.key", *extra, port=port)


def make_tls_certs(directory, envs=("alice", "bob")):
    """directory/certs with a certificate `env`.test for each env (those
    already there are kept), for tls_vhost (@@CERTS@@).  Returns the
    directory."""
    certs = Path(directory) / "certs"
    certs.mkdir(mode=0o755, exist_ok=True)
    for env in envs:
        if not (certs / f"{env}.crt").exists():
            make_cert(certs, env, f"{env}.test")
    return certs


def https_request(port, sni, host, path="/cgi-bin/id.cgi"):
    """GET path with Host host over TLS with SNI sni (None: no SNI), no
    certificate check.  Returns (status, body, the server's certificate in
    DER)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=20) as raw:
        with ctx.wrap_socket(raw, server_hostname=sni) as s:
            der = s.getpeercert(binary_form=True)
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
                      .encode())
            data = recv_to_close(s)
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body, der


def recv_to_close(s):
    """Every byte the peer sends on socket s until it closes."""
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            return data
        data += chunk


def make_cert(directory, name, cn):
    """A self-signed RSA certificate for cn (also its subjectAltName), as
    directory/name.key and directory/name.crt (world-readable: every
    environment's httpd reads its own at start, as root).  Returns the
    (key, crt) paths."""
    key, crt = f"{directory}/{name}.key", f"{directory}/{name}.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-keyout", key, "-out", crt, "-days", "2", "-subj", f"/CN={cn}",
                    "-addext", f"subjectAltName=DNS:{cn}"],
                   check=True, capture_output=True, timeout=60)
    return key, crt


def gated_cgi(root):
    """Create root/gate and root/cgi-bin/gated.cgi, a CGI that answers only
    once the gate file is removed.  Returns (cgi path, gate path)."""
    gate = Path(root) / "gate"
    gate.write_text("")
    cgi = Path(root) / "cgi-bin" / "gated.cgi"
    cgi.write_text(GATED_CGI.replace("@@GATE@@", str(gate)))
    os.chmod(cgi, 0o755)
    return cgi, gate


def run_tool(args, timeout):
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout)


def run_tool_async(args):
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish_tool(proc, timeout):
    """Wait for a run_tool_async process; kill it (by pid) if it overruns."""
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        raise AssertionError(f"{proc.args[0]} ran over {timeout}s: {out}")
    return out


# --------------------------------------------------------------------------
# the shared-memory segment, read with build/out/shm_dump


def segment_path(server):
    """Where `server` keeps its segment: ExtendedScoreBoardFile from its
    config (relative paths under DefaultRuntimeDir, which COMMON_HEAD sets
    to server.run_dir), else SEGMENT_NAME in server.run_dir."""
    m = re.search(r"^[ \t]*ExtendedScoreBoardFile[ \t]+(\S+)", server.conf_text,
                  re.M | re.I)
    path = Path(m.group(1)) if m else Path(SEGMENT_NAME)
    return path if path.is_absolute() else server.run_dir / path


def segment_env_file(path, index):
    """The file of environment region `index` of the segment whose main
    file (MAIN + MUX) is at `path`: "<path>.i<inode of path>.e<index>"
    (one file per writer, shm/ph_shm_layout.h)."""
    return Path(f"{path}.i{os.stat(path).st_ino}.e{index}")


def segment_files(path):
    """Every environment region file at `path`'s name, of any segment."""
    path = Path(path)
    return sorted(p for p in path.parent.glob(path.name + ".i*.e*"))


def segment(server, path=None):
    """The segment of `server` (or the file at `path`) as shm_dump prints
    it: a dict with generation, env_count, creator_pid, dropped_noenv,
    envs (records in use) and children (slots with a pid).  Raises
    AssertionError with shm_dump's message if it cannot be read."""
    path = path or segment_path(server)
    if not os.access(SHM_DUMP, os.X_OK):
        raise AssertionError(f"{SHM_DUMP} is missing: run `make tools`")
    # A graceful restart replaces the segment's files; a reader that opens
    # them in the middle is told so (EAGAIN) and looks again, as pstat does.
    deadline = time.monotonic() + 10
    while True:
        res = subprocess.run([str(SHM_DUMP), str(path)], capture_output=True,
                             text=True, timeout=10)
        if (res.returncode == 0 or "is the server restarting?" not in res.stderr
                or time.monotonic() > deadline):
            break
        time.sleep(0.05)
    if res.returncode != 0:
        raise AssertionError(f"shm_dump {path} exited {res.returncode}: "
                             f"{res.stderr.strip()}")
    return json.loads(res.stdout)


def seg_env(seg, name):
    """The record of environment `name` in a segment() dict."""
    found = [e for e in seg["envs"] if e["name"] == name]
    if len(found) != 1:
        raise AssertionError(f"environment {name!r}: {len(found)} records in use in "
                             f"{[e['name'] for e in seg['envs']]}")
    return found[0]


def seg_processors(seg, name):
    """Child records of the processors of environment `name`."""
    index = seg_env(seg, name)["index"]
    return [c for c in seg["children"]
            if c["type_name"] == "processor" and c["env_index"] == index]
