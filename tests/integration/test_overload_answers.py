"""503s for want of a worker are answered by httpd in the environment (issue 11).

A request that routes to environment E, whose workers are all busy for
longer than ProcessorWaitTimeout, gets 503 with Retry-After.  Before, the
multiplexer wrote a fixed page itself and said so in the main error log
(PH00361): no ErrorDocument, no line in the vhost's access log, nothing in
its error log.  Now the multiplexer hands such a connection to E over E's
second channel, and a thread of E's processor kept for these answers only
lets httpd answer it: the vhost's ErrorDocument (a page or a CGI), its
access-log line in its LogFormat, its error-log line (PH00362), all written
by E's user.  Beyond a small bound of such connections queued for E, the
multiplexer's fixed 503 and PH00361 remain the last resort.

slow: one processor (MaxProcessors 1) of one thread, held by a gated CGI.
"""

import os
import re
import threading
import time

import phtest
from phtest import http_get, processor, vhost, wait_for

FMT = '"%>s \\"%r\\" %v %{Retry-After}o"'

CONF = phtest.server_head(threads=1, muxes=1, timeout=10) + """
ProcessorWaitTimeout 1
""" + processor("slow", "alice", MinProcessors=1, MaxProcessors=1,
                MinSpareProcessors=0) + processor(
    "bob", "bob", MinProcessors=1, MinSpareProcessors=0) + vhost(
    "slow.test", "slow", "alice",
    "ErrorDocument 503 /errors/503.html",
    f"CustomLog @@TMP@@/slow_access.log {FMT}",
    "ErrorLog @@TMP@@/slow_error.log",
) + vhost(
    "slowcgi.test", "slow", "alice",
    "ErrorDocument 503 /cgi-bin/id.cgi",
    f"CustomLog @@TMP@@/slowcgi_access.log {FMT}",
    "ErrorLog @@TMP@@/slowcgi_error.log",
) + vhost(
    "flood.test", "slow", "alice",
    "ErrorDocument 503 /cgi-bin/slow503.cgi",
    f"CustomLog @@TMP@@/flood_access.log {FMT}",
    "ErrorLog @@TMP@@/flood_error.log",
) + vhost("bob.test", "bob", "bob")

# An error page that takes its time: the environment answers about three
# of these a second, so a burst fills its queue of such answers.
SLOW_503_CGI = """\
#!/bin/sh
sleep 0.3
printf 'Content-Type: text/plain\\r\\n\\r\\n'
echo "flood 503 uid=$(id -u)"
"""

CANNED = b"The server is temporarily unable to service your"


def start(servers, tree):
    errors = tree["alice"] / "errors"
    errors.mkdir(mode=0o755, exist_ok=True)
    (errors / "503.html").write_text("slow says 503\n")
    os.chmod(errors / "503.html", 0o644)
    cgi = tree["alice"] / "cgi-bin" / "slow503.cgi"
    cgi.write_text(SLOW_503_CGI)
    os.chmod(cgi, 0o755)
    port = phtest.free_port()
    srv = servers(CONF, values={"PORT": port})
    srv.start(ready_hosts=["slow.test", "bob.test"], port=port)
    srv.port = port
    return srv


def flood_clients(srv, n):
    """n threads (not started), each a GET / for flood.test that puts its
    RawResponse (or the exception) into results under lock."""
    results = []
    lock = threading.Lock()

    def one():
        try:
            r = http_get(srv.port, "flood.test", "/", timeout=40)
        except Exception as exc:  # reported by the caller
            r = exc
        with lock:
            results.append(r)

    return [threading.Thread(target=one) for _ in range(n)], results, lock


def slow_processors(srv):
    """The pids of slow's processors, from the segment."""
    return sorted(c["pid"] for c in phtest.seg_processors(phtest.segment(srv), "slow"))


def worker_free(srv):
    """Whether slow's processor shows an idle worker and room for a
    connection: the capacity a multiplexer hands a connection to."""
    procs = phtest.seg_processors(phtest.segment(srv), "slow")
    return any(c["idle_threads"] > 0 and c["room"] > 0 for c in procs)


def log(srv, name):
    p = srv.tmp / name
    return p.read_text(errors="replace") if p.exists() else ""


class Holder:
    """slow's only worker held by a gated CGI until release()."""

    def __init__(self, srv, tree):
        self.cgi, self.gate = phtest.gated_cgi(tree["alice"])
        self.out = []
        self.t = threading.Thread(target=lambda: self.out.append(
            http_get(srv.port, "slow.test", "/cgi-bin/gated.cgi", timeout=60)))
        self.t.start()
        wait_for(lambda: phtest.pids_with_cmdline(str(self.cgi)), 20,
                 what="the gated CGI running (slow's only worker busy)")

    def release(self):
        if self.gate.exists():
            self.gate.unlink()
        self.t.join(60)
        assert self.out and self.out[0].status == 200, self.out


def test_wait_over_answered_by_the_environment(servers, tree):
    """The 503 carries the vhost's ErrorDocument (a page, a CGI) and
    Retry-After, is in the vhost's access log in its format and in its
    error log (PH00362), and the process that wrote it runs as alice."""
    srv = start(servers, tree)
    alice = phtest.ensure_user("alice")[0]
    holder = Holder(srv, tree)
    try:
        t0 = time.monotonic()
        r = http_get(srv.port, "slow.test", "/", timeout=20)
        took = time.monotonic() - t0
        r_cgi = http_get(srv.port, "slowcgi.test", "/", timeout=20)
        r_bob = http_get(srv.port, "bob.test", "/", timeout=20)
    finally:
        holder.release()
    print(r, took, r_cgi, r_bob)
    assert r.status == 503, r
    assert r.body == b"slow says 503\n", r.body
    assert r.header("retry-after") == "1", r.headers
    assert 0.8 <= took <= 3.0, f"503 after {took:.2f}s, expected about 1 s"
    assert r_cgi.status == 503, r_cgi
    assert r_cgi.header("retry-after") == "1", r_cgi.headers
    assert phtest.parse_id(r_cgi.body).get("uid") == alice, r_cgi.body
    assert r_bob.status == 200, r_bob

    wait_for(lambda: '503 "GET / HTTP/1.1" slow.test 1' in log(srv, "slow_access.log"), 10,
             what="slow.test's access-log line for the 503")
    wait_for(lambda: '503 "GET / HTTP/1.1" slowcgi.test 1' in log(srv, "slowcgi_access.log"), 10,
             what="slowcgi.test's access-log line for the 503")
    line = next(ln for ln in log(srv, "slow_error.log").splitlines() if "PH00362" in ln)
    assert "environment slow" in line and "[client 127.0.0.1" in line, line
    assert "PH00362" in log(srv, "slowcgi_error.log")
    pid = int(re.search(r"\[pid (\d+)", line).group(1))
    ids = phtest.proc_uids(pid)
    assert ids is not None, f"the answering process {pid} is gone: {line}"
    assert ids[0] == (alice,) * 4, (line, ids)
    # nothing of it in the main error log: the environment answered
    assert not srv.log_lines(r"PH00361"), srv.log_text()[-2000:]
    # slow serves normally again
    assert http_get(srv.port, "slow.test", "/").status == 200


def test_flood_is_bounded_and_falls_back(servers, tree, shm_dump):
    """60 connections at once while slow's worker is held, each answered
    by a 0.3 s error CGI: a bounded number are answered by the environment
    (its ErrorDocument), the rest by the multiplexer's fixed 503 with
    PH00361 in the main error log.  Every client gets a 503 with
    Retry-After; slow's processor neither dies nor grows threads; slow
    serves normally afterwards and bob throughout."""
    srv = start(servers, tree)
    alice = phtest.ensure_user("alice")[0]
    procs = slow_processors(srv)
    assert len(procs) == 1, procs
    proc = procs[0]

    def threads_of(pid):
        status = open(f"/proc/{pid}/status").read()
        return int(re.search(r"^Threads:\s+(\d+)", status, re.M).group(1))

    holder = Holder(srv, tree)
    threads_before = threads_of(proc)
    clients, results, lock = flood_clients(srv, 60)
    try:
        t0 = time.monotonic()
        for t in clients:
            t.start()
        for t in clients:
            t.join(60)
        took = time.monotonic() - t0
        threads_during = threads_of(proc)
        r_bob = http_get(srv.port, "bob.test", "/", timeout=10)
    finally:
        holder.release()
    bad = [r for r in results if not isinstance(r, phtest.RawResponse) or r.status != 503
           or r.header("retry-after") != "1"]
    by_env = [r for r in results if isinstance(r, phtest.RawResponse)
              and r.body.startswith(b"flood 503 uid=%d" % alice)]
    canned = [r for r in results if isinstance(r, phtest.RawResponse) and CANNED in r.body]
    print(f"flood: {len(by_env)} answered by slow, {len(canned)} by the multiplexer, "
          f"{took:.1f}s, threads {threads_before} -> {threads_during}")
    assert len(results) == 60 and not bad, bad[:5]
    assert len(by_env) + len(canned) == 60, results[:5]
    assert by_env, "no 503 answered by the environment"
    assert canned, "the bound was never reached: no fixed 503 from the multiplexer"
    assert len(by_env) <= 40, f"{len(by_env)} answered by slow: the queue is not bounded"
    assert threads_during == threads_before, (threads_before, threads_during)
    assert phtest.pid_alive(proc), "slow's processor died"
    assert r_bob.status == 200, r_bob
    wait_for(lambda: srv.log_lines(r"PH00361: environment slow"), 10,
             what="PH00361 for the multiplexer's own 503s")
    wait_for(lambda: log(srv, "flood_access.log").count('503 "GET / HTTP/1.1" flood.test 1')
             == len(by_env), 20, what="one flood.test access-log line per environment answer")
    # slow serves normally afterwards, with the same processor
    wait_for(lambda: http_get(srv.port, "slow.test", "/").status == 200, 10,
             what="slow to serve again")
    assert slow_processors(srv) == [proc]


def test_guard_holds_on_the_answer_path(servers, tree):
    """The answer thread's connections pass the guard like any other: a
    head larger than the multiplexer looks at (64 KiB) is routed by
    address, to slow (the address's default vhost), and waits for slow's
    held worker in vain; slow's answer thread then reads its Host --
    bob.test, another environment's -- and answers 421, never 503 nor
    anything of bob's."""
    srv = start(servers, tree)
    pad = "".join(f"X-Pad-{i}: {'a' * 8000}\r\n" for i in range(10))
    head = f"GET / HTTP/1.1\r\n{pad}Host: bob.test\r\nConnection: close\r\n\r\n".encode()
    assert len(head) > 65536
    holder = Holder(srv, tree)
    try:
        resp, raw = phtest.raw_exchange(srv.port, head, timeout=20)
    finally:
        holder.release()
    assert resp is not None and resp.status == 421, raw[:300]
    assert b"hello from bob" not in resp.body
    line = wait_for(lambda: srv.log_lines(r"PH00430: request for virtual host bob\.test"), 10,
                    what="the guard's PH00430 line")[-1]
    assert "served by environment slow" in line, line
    assert not srv.log_lines(r"PH00362"), srv.log_text()[-2000:]


def test_answer_thread_never_waits_for_a_body(servers, tree):
    """A POST whose wait is over and whose body never comes: the vhost's
    ErrorDocument is a CGI, which httpd feeds the request body; the answer
    thread must not wait Timeout (10 s) for it -- the 503 comes at about
    ProcessorWaitTimeout, and the next one right behind it."""
    srv = start(servers, tree)
    head = (b"POST / HTTP/1.1\r\nHost: slowcgi.test\r\nContent-Length: 1000\r\n"
            b"Content-Type: text/plain\r\n\r\nonly part of it")
    holder = Holder(srv, tree)
    got = []
    try:
        def post():
            t0 = time.monotonic()
            resp, raw = phtest.raw_exchange(srv.port, head, timeout=30)
            got.append((resp, raw, time.monotonic() - t0))
        posts = [threading.Thread(target=post) for _ in range(2)]
        for t in posts:
            t.start()
        for t in posts:
            t.join(40)
    finally:
        holder.release()
    print(got)
    assert len(got) == 2
    for resp, raw, took in got:
        assert resp is not None and resp.status == 503, raw[:300]
        assert took < 4, f"the 503 came after {took:.1f}s: the answer thread waited for a body"


def test_real_work_goes_on_while_answers_queue(servers, tree):
    """While slow's answer thread works through a queue of 503s (each a
    0.3 s error CGI), the moment slow's worker is free again a real
    request is served at once: the answers take no worker and no place in
    the work queue."""
    srv = start(servers, tree)
    holder = Holder(srv, tree)
    clients, results, lock = flood_clients(srv, 30)
    try:
        for t in clients:
            t.start()
        # the answer thread is at work on the queue
        wait_for(lambda: '503 "GET / HTTP/1.1" flood.test' in log(srv, "flood_access.log"),
                 20, what="the first answer from slow's answer thread")
        # and no flood connection still waits in a multiplexer for a worker:
        # one that did would (rightly, first come first served) take the
        # worker freed below before the real request
        wait_for(lambda: phtest.seg_env(phtest.segment(srv), "slow")["queue_depth"] == 0,
                 20, what="every flood connection's wait to be over")
    finally:
        holder.release()
    # The holder's client has its 200 a moment (tens of ms, more under
    # load) before slow's worker is done with that connection and counts
    # itself idle.  And the flood's 30 drops took slow's AVAIL to 0%, where
    # a connection that finds no idle worker is refused at once (README:
    # the allowed wait shrinks with AVAIL) -- its 503 then queues behind
    # the answers.  So the real request goes when the worker is free as a
    # multiplexer sees it: idle, with room, in the segment.
    wait_for(lambda: worker_free(srv), 20, what="slow's worker idle again")
    t0 = time.monotonic()
    r = http_get(srv.port, "slow.test", "/", timeout=20)
    took = time.monotonic() - t0
    with lock:
        pending = 30 - len(results)
    for t in clients:
        t.join(60)
    print(f"real request: {r.status} in {took:.2f}s with {pending} flood answers pending")
    assert r.status == 200 and b"hello from alice" in r.body, r
    assert pending > 0, "the queue of answers was done before the real request: no overlap shown"
    assert took < 1.5, f"a real request waited {took:.2f}s behind the answers"
    assert all(isinstance(x, phtest.RawResponse) and x.status == 503 for x in results), results[:3]
