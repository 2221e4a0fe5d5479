"""pstat's cost: CPU time (user + sys) of one `pstat -j` snapshot of a
segment with 256 child slots and 100 environments.

A fake server (tests/pstat/fake_server.c) fills the segment (100
environments, 1 multiplexer, 199 processors in 256 slots) and keeps its
counters moving; pstat runs --interval 0 (a single reading: the cost of
reading and printing, not of waiting) RUNS times, then RUNS times with
the default interval (two readings 0.5 s apart), and each run's CPU time
is taken from the kernel's accounting of the reaped child
(os.wait4 -> rusage).  Prints the median, min and max.

Run:  make pstat-bench   (or /usr/bin/python3 tests/pstat/bench_pstat.py
after building build/out/pstat and build/out/pstat_fake_server)
"""

import os
import select
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PSTAT = os.path.join(ROOT, "build", "out", "pstat")
FAKE = os.path.join(ROOT, "build", "out", "pstat_fake_server")
RUNS = int(os.environ.get("RUNS", "20"))
ENVS, SLOTS = 100, 256


def one_run(path, interval="0"):
    """CPU seconds (user, sys) and output size of one pstat -j."""
    with open(os.devnull, "wb") as null:
        proc = subprocess.Popen([PSTAT, "-j", "--shm", path, "--interval", interval],
                                stdout=subprocess.PIPE, stderr=null)
        out = proc.stdout.read()
        proc.stdout.close()
        _, status, ru = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit("pstat -j failed with status %d" % proc.returncode)
    return ru.ru_utime, ru.ru_stime, len(out)


def main():
    d = tempfile.mkdtemp(prefix="pstat-bench.")
    path = os.path.join(d, "ph.shm")
    fake = subprocess.Popen([FAKE, path, "--envs", str(ENVS), "--children", str(SLOTS)],
                            stdout=subprocess.PIPE)
    try:
        ready, _, _ = select.select([fake.stdout], [], [], 10)
        if not ready or not fake.stdout.readline().startswith(b"ready"):
            sys.exit("fake server did not start")
        one_run(path)                   # warm the page cache and the binary
        runs = [one_run(path) for _ in range(RUNS)]
        # The default -j: two readings 0.5 s apart (the wait costs no CPU).
        paired = [one_run(path, "0.5") for _ in range(RUNS)]
    finally:
        fake.terminate()
        fake.wait()
        shutil.rmtree(d, ignore_errors=True)

    total = [u + s for u, s, _ in runs]
    print("pstat -j, %d environments, %d child slots, --interval 0, %d runs"
          % (ENVS, SLOTS, RUNS))
    print("  CPU time (user+sys): median %.2f ms, min %.2f ms, max %.2f ms"
          % (statistics.median(total) * 1e3, min(total) * 1e3, max(total) * 1e3))
    print("  user median %.2f ms, sys median %.2f ms, output %d bytes"
          % (statistics.median(u for u, _, _ in runs) * 1e3,
             statistics.median(s for _, s, _ in runs) * 1e3, runs[0][2]))
    total = [u + s for u, s, _ in paired]
    print("pstat -j with the default --interval 0.5 (two readings), %d runs" % RUNS)
    print("  CPU time (user+sys): median %.2f ms, min %.2f ms, max %.2f ms"
          % (statistics.median(total) * 1e3, min(total) * 1e3, max(total) * 1e3))


if __name__ == "__main__":
    main()
