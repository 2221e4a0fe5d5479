"""The parent's memory stays flat (issue 13): many environments, all idle,
observed from outside through /proc (the parent's anonymous memory: its
heap and pools, not the segment or the scoreboard, which are shared
mappings).

- idle over thousands of maintenance passes (PH_MAINTAIN_TICK_MS=10: a
  pass every 10 ms instead of every second): an environment costs the
  parent nothing per pass (it used to allocate from its configuration pool
  on every one, +460 kB a minute with 500 environments, hidden for the
  first minutes by the blocks the configuration's parsing left free);
- over graceful restarts: a generation gives back what it took.

Short forms (PH_MEMORY_TICKS_SECONDS, PH_MEMORY_RESTARTS) for .ci/run.
"""

import os
import signal
import time

import phtest
from phtest import http_get, vhost, wait_for

TICK_SECONDS = int(os.environ.get("PH_MEMORY_TICKS_SECONDS", "20"))
TICK_MS = 10
RESTARTS = int(os.environ.get("PH_MEMORY_RESTARTS", "40"))


def tenants_conf(n):
    """n environments t1..tn, `MinProcessors 0` (users alice and bob in
    turn), one vhost tN.test each, and probe.test without environment."""
    parts = [phtest.server_head(threads=2, server_limit=64, muxes=1)]
    for i in range(1, n + 1):
        user = phtest.ENV_USERS[i % 2]
        parts.append(phtest.processor(f"t{i}", user, MinProcessors=0))
        parts.append(vhost(f"t{i}.test", f"t{i}", user))
    parts.append(vhost("probe.test", None, "main"))
    return "".join(parts)


def start(servers, n, env=None):
    port = phtest.free_port()
    srv = servers(tenants_conf(n), values={"PORT": port}, loglevel="warn", env=env)
    # probe.test has no environment: the multiplexer's 503 says it is up
    srv.start(ready_hosts=["probe.test"], port=port)
    srv.port = port
    return srv


def anon_kb(pid):
    """The process's anonymous memory (kB): heap, pools, stacks."""
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Anonymous:"):
                return int(line.split()[1])
    raise AssertionError(f"no Anonymous line for pid {pid}")


def test_parent_memory_flat_while_idle(servers, tree):
    # 500 idle environments: each pass visits every one of them
    srv = start(servers, 500, env={"PH_MAINTAIN_TICK_MS": str(TICK_MS)})
    pid = srv.parent_pid
    assert http_get(srv.port, "t1.test", "/index.html", timeout=30).status == 200
    time.sleep(5)       # the first ticks after start settle what they use
    samples = [(0, anon_kb(pid))]
    t0 = time.monotonic()
    while time.monotonic() - t0 < TICK_SECONDS:
        time.sleep(5)
        samples.append((round(time.monotonic() - t0), anon_kb(pid)))
    growth = samples[-1][1] - samples[0][1]
    passes = TICK_SECONDS * 1000 // TICK_MS
    print(f"parent anonymous memory over {TICK_SECONDS} s idle, about {passes} passes "
          f"(s, kB): {samples}")
    # the old growth: ~8 kB a pass with 500 environments, some 16 MB here
    assert growth <= 256, (f"the parent grew {growth} kB in {TICK_SECONDS} s idle "
                           f"(about {passes} passes): {samples}")


def restarted(srv, before):
    return srv.log_text().count("resuming normal operations") > before


def test_parent_memory_flat_over_graceful_restarts(servers, tree):
    srv = start(servers, 100)
    pid = srv.parent_pid
    samples = []
    for i in range(1, RESTARTS + 1):
        before = srv.log_text().count("resuming normal operations")
        os.kill(pid, signal.SIGUSR1)
        wait_for(lambda: restarted(srv, before), 30, interval=0.05,
                 what=f"graceful restart {i} in the error log")
        if i == 10 or i % 10 == 0 or i == RESTARTS:
            samples.append((i, anon_kb(pid)))
    # still serving, as the same parent
    assert srv.parent_pid == pid and phtest.pid_alive(pid)
    wait_for(lambda: http_get(srv.port, "t2.test", "/index.html", timeout=30).status == 200,
             30, what="t2 answering after the restarts")
    # from the 10th on: the first restarts grow the allocator's arenas
    first = next(kb for i, kb in samples if i >= min(10, RESTARTS))
    growth = samples[-1][1] - first
    print(f"parent anonymous memory over {RESTARTS} graceful restarts (restart, kB): {samples}")
    # measured: ~1.5 kB a restart from the 10th to the 50th, slowing down,
    # +0 from the 100th to the 300th (the allocator settling); a leak of a
    # few bytes per environment a restart is above this
    per = growth / max(1, RESTARTS - 10)
    assert per <= 4, f"the parent grew {growth} kB over {RESTARTS} restarts: {samples}"
