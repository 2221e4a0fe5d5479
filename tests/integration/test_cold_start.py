"""Cold start (issue 13): what an environment's first request costs.

- An environment's configuration file is written when its factory first
  starts, not for every environment at start-up.
- A factory's first configuration pass (httpd reads its configuration
  twice at start-up) runs without the virtual hosts: a piped ErrorLog of
  an environment's vhost is started once by its factory, not twice.
- Several cold environments asked at once all answer (their factories
  start side by side).
"""
import os
import threading

import phtest
from phtest import vhost, wait_for


def cold_conf(n, extra_for_first=()):
    """n environments t1..tn (MinProcessors 0: none runs until asked), one
    vhost each; main.test has no environment (the readiness probe)."""
    conf = phtest.server_head(threads=4, server_limit=16 + n)
    conf += vhost("main.test", None, "main")
    for i in range(1, n + 1):
        conf += phtest.processor(f"t{i}", "alice" if i % 2 else "bob",
                                 MinProcessors=0, MinSpareProcessors=0)
        conf += vhost(f"t{i}.test", f"t{i}", "alice" if i % 2 else "bob",
                      *(extra_for_first if i == 1 else ()))
    return conf


def env_files(srv):
    d = srv.run_dir / "peruser_hybrid"
    return sorted(p.name for p in d.glob("env-*.conf")) if d.exists() else []


def test_environment_file_is_written_on_first_use(servers, tree):
    port = phtest.free_port()
    srv = servers(cold_conf(3), values={"PORT": port}, loglevel="debug")
    srv.start(ready_hosts=["main.test"], port=port)
    run = srv.run_dir / "peruser_hybrid"
    # the multiplexers' file is there (they run), no environment's yet
    assert list(run.glob("multiplexers.*.conf")), os.listdir(run)
    assert env_files(srv) == [], env_files(srv)

    assert phtest.http_get(port, "t2.test").status == 200
    names = env_files(srv)
    assert len(names) == 1 and names[0].startswith("env-t2."), names
    assert srv.log_lines(r"PH00501: wrote environment t2's configuration")
    assert not srv.log_lines(r"PH00501: wrote environment t1's")

    # a second request, and a second processor of t2, write nothing more
    assert phtest.http_get(port, "t2.test").status == 200
    assert env_files(srv) == names
    assert len(srv.log_lines(r"PH00501: wrote environment t2's")) == 1
    assert phtest.http_get(port, "t3.test").status == 200
    assert len(env_files(srv)) == 2, env_files(srv)


def test_factory_first_pass_starts_no_vhost_logger(servers, tree, tmp):
    """A piped ErrorLog in t1's vhost: started by the parent's two passes
    at start-up, then by t1's factory when t1 is first asked -- once (its
    second pass), not once per pass."""
    port = phtest.free_port()
    starts = tmp / "logger-starts"
    logger = (f'ErrorLog "|/bin/sh -c \'echo started >> {starts}; '
              f'exec cat >> {tmp}/t1-error.log\'"')
    srv = servers(cold_conf(2, (logger,)), values={"PORT": port})
    srv.start(ready_hosts=["main.test"], port=port)

    def count():
        return starts.read_text().count("started") if starts.exists() else 0
    # the parent's: one per pass (the first pass's is stopped with it)
    before = wait_for(lambda: count() or None, 30, what="the parent's loggers")
    assert phtest.http_get(port, "t1.test").status == 200
    factories = [p for p in phtest.descendants(srv.parent_pid) if phtest.is_factory(p)]
    assert factories, "t1's factory"
    wait_for(lambda: count() > before or None, 30, what="t1's factory's logger")
    # give a second start (the old behaviour) time to show: the request
    # was answered, so the factory's start is over
    assert phtest.http_get(port, "t1.test").status == 200
    assert count() == before + 1, (before, count())


def test_cold_environments_asked_together_all_answer(servers, tree):
    n = 4
    port = phtest.free_port()
    srv = servers(cold_conf(n), values={"PORT": port}, loglevel="debug")
    srv.start(ready_hosts=["main.test"], port=port)
    results = {}

    def ask(i):
        try:
            results[i] = phtest.http_get(port, f"t{i}.test", timeout=30).status
        except Exception as e:      # reported below
            results[i] = repr(e)
    threads = [threading.Thread(target=ask, args=(i,)) for i in range(1, n + 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results == {i: 200 for i in range(1, n + 1)}, results
    # each factory was exec'd once (or was a blank factory the parent
    # started after the first cold start: FactoryReserve), and said when it
    # was ready
    for i in range(1, n + 1):
        assert len(srv.log_lines(rf"PH00191: the processor factory of "
                                 rf"environment t{i}: exec'd")
                   + srv.log_lines(rf"PH00666: env=\d+ name=t{i} ")) == 1, i
        assert srv.log_lines(rf"PH00522: the processor factory of "
                             rf"environment t{i} is ready")
