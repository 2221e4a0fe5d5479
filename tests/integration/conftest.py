"""pytest fixtures for the peruser_hybrid integration tests.

Fixtures:
  env_users    session: users/groups alice and bob exist; {name: (uid, gid)}
  tmp          per test: /tmp/ph-it-XXXX (mode 755), removed on success,
               kept (and its path printed) on failure
  tree         per test: doc roots tmp/www/{alice,bob,main} (see phtest.make_tree)
  servers      per test: factory servers(template, mpm="ph"|"event", values={},
               env={apache2's extra environment variables})
               -> phtest.Server (not yet started).  Every server it made is
               stopped in teardown and must leave no process behind: leftovers
               are SIGKILLed by pid and the test errors.
  module_tmp / module_servers: the same, shared by the tests of one module.
  shm_dump     session: runs `make tools` (build/out/shm_dump, the segment
               reader phtest.segment() uses); returns its path

Run as root: the tests start apache2 as root so that it can switch users.
"""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import phtest  # noqa: E402

# Modules with at least one failed test: their module-scoped temp dirs are kept.
FAILED_MODULES = set()
# (what, path) of every temp dir kept, listed at the end of the run.
KEPT = []


def _preconditions():
    problems = []
    if os.geteuid() != 0:
        problems.append("the integration tests must run as root (apache2 switches users)")
    if not os.access(phtest.APACHE, os.X_OK):
        problems.append(f"{phtest.APACHE} is missing (apt-get install apache2)")
    if not phtest.MODULE.exists():
        problems.append(f"{phtest.MODULE} is missing: run `make{' ' + phtest.SANITIZER if phtest.SANITIZER else ''}` at the repo root first")
    return problems


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "background: the test's long wait starts in a module fixture and runs "
        "while the module's other tests do; select it with the module, not alone, "
        "to keep that overlap")


@pytest.fixture(scope="session", autouse=True)
def preconditions():
    # Fail (never skip) every test when the set-up is wrong: a run that
    # tested nothing must not pass.
    problems = _preconditions()
    if problems:
        pytest.fail("; ".join(problems), pytrace=False)


@pytest.fixture(scope="session")
def shm_dump():
    # Not part of `make`: the tests that read the segment build it.
    res = subprocess.run(["make", "-s", "tools"], cwd=phtest.REPO,
                         capture_output=True, text=True, timeout=300)
    if res.returncode != 0 or not os.access(phtest.SHM_DUMP, os.X_OK):
        pytest.fail(f"`make tools` failed (rc={res.returncode}):\n"
                    f"{res.stdout[-2000:]}{res.stderr[-4000:]}", pytrace=False)
    return phtest.SHM_DUMP


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)
    if rep.failed:
        FAILED_MODULES.add(item.module.__name__)


@pytest.fixture(scope="session")
def env_users():
    return phtest.ensure_env_users()


def _new_tmp():
    path = Path(tempfile.mkdtemp(prefix="ph-it-", dir="/tmp"))
    os.chmod(path, 0o755)
    return path


def _finish_tmp(path, keep, what):
    if keep:
        KEPT.append((what, path))
        print(f"kept temp dir of failed {what}: {path}")
    else:
        shutil.rmtree(path, ignore_errors=True)


def pytest_terminal_summary(terminalreporter):
    if KEPT:
        terminalreporter.section("temp dirs kept for failed tests")
        for what, path in KEPT:
            terminalreporter.write_line(f"{path}  {what}")


def _test_failed(node):
    for when in ("setup", "call", "teardown"):
        rep = getattr(node, "rep_" + when, None)
        if rep is not None and rep.failed:
            return True
    return getattr(node, "ph_keep", False)


@pytest.fixture
def tmp(request):
    path = _new_tmp()
    yield path
    _finish_tmp(path, _test_failed(request.node), request.node.nodeid)


@pytest.fixture
def tree(tmp):
    return phtest.make_tree(tmp)


def _server_factory(tmp, made):
    def make(template, mpm="ph", values=None, name=None, loglevel="info", env=None):
        sub = tmp / (name or f"{mpm}{len(made)}")
        sub.mkdir()
        os.chmod(sub, 0o755)
        vals = {"WWW": tmp / "www"}
        vals.update(values or {})
        srv = phtest.Server(sub, template, mpm=mpm, values=vals, loglevel=loglevel,
                            env=env)
        made.append(srv)
        return srv
    return make


def _stop_all(made):
    errors = []
    for srv in made:
        try:
            if srv.parent_pid is not None or srv.leftovers():
                srv.stop()
        except AssertionError as exc:
            errors.append(f"{srv.conf_path}: {exc}")
        # PH_SANITIZER: a report from any of its processes fails the test
        for name, text in srv.sanitizer_reports().items():
            errors.append(f"{srv.conf_path}: sanitizer report {srv.sanitizer_dir / name}:\n"
                          f"{text[:6000]}")
    return errors


@pytest.fixture
def servers(request, tmp, env_users):
    made = []
    yield _server_factory(tmp, made)
    errors = _stop_all(made)
    if errors:
        request.node.ph_keep = True
        pytest.fail("server teardown left processes behind or sanitizer reports:\n"
                    + "\n".join(errors))


@pytest.fixture(scope="module")
def module_tmp(request):
    path = _new_tmp()
    phtest.make_tree(path)
    yield path
    _finish_tmp(path, request.module.__name__ in FAILED_MODULES, request.module.__name__)


@pytest.fixture(scope="module")
def module_servers(request, module_tmp, env_users):
    made = []
    yield _server_factory(module_tmp, made)
    errors = _stop_all(made)
    if errors:
        FAILED_MODULES.add(request.module.__name__)
        pytest.fail("server teardown left processes behind or sanitizer reports:\n"
                    + "\n".join(errors))
