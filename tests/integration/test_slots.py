"""Many tenants sharing one ServerLimit (issue 16), observed from outside:
status codes, the parent's own log lines (PH00101 slots full, PH00103
processor started at debug level, PH00111 retired, PH00125 reclaimed) and
how long `-k stop` takes beside stock event on the same configuration.

- every tenant touched one after another gets 200 while the slots are
  held by other tenants' idle processors and spares (they are reclaimed);
- a processor retired for idleness is not replaced by the spare rule
  (forks stay near one per tenant plus its spares);
- `-k stop` while processors are being started ends within a few seconds,
  like event, and the parent starts nothing after the signal.
"""

import os
import re
import signal
import threading
import time
from datetime import datetime

import phtest
from phtest import http_get, vhost, wait_for


def tenants_conf(n, server_limit, spare, extra_global="", extra_env=""):
    """n environments t1..tn (users alice and bob in turn), one vhost
    tN.test each; one multiplexer (it never scales: MaxMultiplexers 1)."""
    parts = [phtest.server_head(threads=2, server_limit=server_limit, muxes=1),
             "MaxMultiplexers 1\n", extra_global]
    for i in range(1, n + 1):
        user = phtest.ENV_USERS[i % 2]
        parts.append(f"<Processor t{i}>\n    User {user}\n    Group {user}\n"
                     f"    MinProcessors 0\n    MinSpareProcessors {spare}\n"
                     f"{extra_env}</Processor>\n")
        parts.append(vhost(f"t{i}.test", f"t{i}", user))
    parts.append(vhost("probe.test", None, "main"))
    return "".join(parts)


def start(servers, conf, mpm="ph", name="httpd", loglevel=None):
    if loglevel is None:
        loglevel = "info mpm_peruser_hybrid:debug" if mpm == "ph" else "info"
    port = phtest.free_port()
    srv = servers(conf, mpm=mpm, name=name, values={"PORT": port}, loglevel=loglevel)
    # probe.test has no environment: 503 from the multiplexer (ph) or 200
    # from event means the listeners are up without starting a processor
    srv.start(ready_hosts=["probe.test"], port=port)
    srv.port = port
    return srv


STARTED = re.compile(r"PH00103: started processor of env (t\d+) ")
RETIRED = re.compile(r"PH00111: retiring processor of env (t\d+) .*: (.*)$")


def started_processors(srv):
    return [m.group(1) for m in map(STARTED.search, srv.log_text().splitlines()) if m]


def test_every_tenant_gets_a_slot_under_pressure(servers, tree, env_users):
    # ServerLimit 8 = 1 multiplexer + 7 processors; 20 tenants, each asking
    # for a spare once it has a processor: after 7 tenants (or fewer, with
    # spares) every slot is held by an idle processor or a spare, and each
    # next tenant's first processor needs one of them reclaimed.
    n = 20
    srv = start(servers, tenants_conf(n, server_limit=8, spare=1))
    answers = {}
    for i in range(1, n + 1):
        t0 = time.monotonic()
        r = http_get(srv.port, f"t{i}.test", "/index.html", timeout=30)
        answers[f"t{i}"] = (r.status, round(time.monotonic() - t0, 2))
    bad = {k: v for k, v in answers.items() if v[0] != 200}
    assert not bad, f"tenants refused while slots were held idle: {bad}\nall: {answers}"
    # the slots were full, but the log stays quiet about it
    full = srv.log_lines(r"PH00101")
    assert len(full) <= 1, full
    # slot pressure is said at most once a minute (PH00124 or PH00125),
    # the reclaims themselves once each (PH00111)
    pressure = srv.log_lines(r"PH0012[45]")
    assert 1 <= len(pressure) <= 2, pressure
    reclaims = srv.log_lines(r"PH00111: .*slots full")
    assert 1 <= len(reclaims) <= 2 * n, reclaims
    # the tenants touched last still answer at once (their processor stayed)
    assert http_get(srv.port, f"t{n}.test", "/index.html").status == 200


def test_idle_retirement_is_not_replaced_by_spares(servers, tree, env_users):
    # Each tenant touched once: one processor for the request, and up to
    # MinSpareProcessors spares.  When IdleTimeout retires them, the spare
    # rule must not start others in their place (issue 16: 100 tenants
    # touched once caused 664 forks).
    n, spare, idle = 6, 2, 3
    srv = start(servers, tenants_conf(n, server_limit=64, spare=spare,
                                      extra_global=f"IdleTimeout {idle}\n"))
    for i in range(1, n + 1):
        assert http_get(srv.port, f"t{i}.test", "/index.html").status == 200

    def none_left():
        uids = (env_users["alice"][0], env_users["bob"][0])
        return not [p for p, ids in srv.children().items() if ids[0][1] in uids]

    # every processor retires after IdleTimeout; then watch one more
    # IdleTimeout for replacements
    wait_for(none_left, 60, interval=0.2, what="every processor to retire")
    seen = len(started_processors(srv))
    deadline = time.monotonic() + idle + 1
    while time.monotonic() < deadline:
        assert none_left(), "a processor was started again after all retired"
        time.sleep(0.2)
    started = started_processors(srv)
    assert len(started) == seen
    print(f"{len(started)} processor starts for {n} tenants touched once")
    # each: its first processor and one spare (the first one idle counts
    # as one of MinSpareProcessors 2), and one more if a tick saw the
    # first busy with the request (2 idle kept beside a busy one: what
    # MinSpareProcessors says; a loaded machine's slow request spans a
    # tick for every tenant, CI saw 3 for 5 of 6).  Replacements after
    # IdleTimeout, the bug this guards against, were hundreds.
    assert len(started) <= n * (spare + 1), \
        f"{len(started)} processor forks for {n} tenants touched once: {started}"
    # the rule itself: after an environment's first retirement for
    # idleness, no processor of it starts again (nothing asked for one)
    lines = srv.log_text().splitlines()
    retired = set()
    for ln in lines:
        m = RETIRED.search(ln)
        if m:
            retired.add(m.group(1))
            continue
        m = STARTED.search(ln)
        assert not (m and m.group(1) in retired), \
            f"{m.group(1)} got a processor after one was retired for idleness: {ln}"


LOG_TIME = re.compile(r"^\[\w{3} (\w{3} \d+ \d\d:\d\d:\d\d\.\d+ \d{4})\]")


def log_time(line):
    m = LOG_TIME.search(line)
    return datetime.strptime(m.group(1), "%b %d %H:%M:%S.%f %Y").timestamp() if m else None


def stop_under_load(servers, mpm, n):
    conf = tenants_conf(n, server_limit=8 + n * 3, spare=2)
    srv = start(servers, conf, mpm=mpm, name=mpm)
    stop = threading.Event()

    def client(k):
        i = k
        while not stop.is_set():
            try:
                http_get(srv.port, f"t{i % n + 1}.test", "/index.html", timeout=5)
            except Exception:  # refused once the server stops
                time.sleep(0.05)
            i += 7

    threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(12)]
    for t in threads:
        t.start()
    try:
        # under way: for ph, processors are being started for many tenants
        wait_for(lambda: len(started_processors(srv)) >= n // 2 if mpm == "ph" else True,
                 60, interval=0.05, what="processors to be started")
        srv.record_processes()
        # SIGTERM is what `-k stop` sends; sent here, its moment is known
        signalled = time.time()
        t0 = time.monotonic()
        os.kill(srv.parent_pid, signal.SIGTERM)
        gone = srv.wait_gone(60)
        took = time.monotonic() - t0
        if not gone:
            srv.stop("stop")    # raises, after SIGKILLing what is left
        srv.stopped = True
    finally:
        stop.set()
        for t in threads:
            t.join(10)
    return srv, signalled, took


def test_stop_under_load_is_fast_like_event(servers, tree, env_users):
    n = 40
    _, _, event_took = stop_under_load(servers, "event", n)
    srv, signalled, took = stop_under_load(servers, "ph", n)
    # A start under way when the signal came (a factory's answer takes a
    # round trip, longer on a busy machine) may finish after it; none may
    # begin later.
    after = [ln for ln in srv.log_text().splitlines()
             if STARTED.search(ln) and (log_time(ln) or 0) > signalled]
    assert len(after) <= 1, \
        "processors started after SIGTERM:\n" + "\n".join(after[:10])
    print(f"stop under load: ph {took:.2f} s, event {event_took:.2f} s")
    assert took <= max(5.0, 3 * event_took + 2), \
        f"-k stop took {took:.1f} s under load (event {event_took:.1f} s)"
