"""Fixtures shared by every integration suite.

  topo       a Topology: namespaces + veth + background peers, removed at
             teardown whatever happens (fixture finalizer, atexit, SIGTERM)
  mintflow   factory: mintflow(ns, profile_yaml) -> a started Daemon, stopped
             with SIGTERM at teardown and its exit code checked
  core       one namespace with a daemon running the core profile (reject and
             drop interfaces, auto_route) - what most core tests need
  tun_name   a TUN name not used by any other test of this run

The root namespace's routes and rules are snapshotted at session start and
compared after every test and at the end. Namespaces left by a killed
earlier run are swept at session start. On failure, the daemon's and the
peers' logs are added to the report."""

import os
import types

import pytest

from mfharness import cleanup, netns, rootstate
from mfharness import daemon as mfd


def pytest_configure(config):
    cleanup.install()


def pytest_sessionstart(session):
    session.config._mf_swept = netns.sweep_stale()


def pytest_report_header(config):
    lines = [f"mintflow binary: {mfd.binary()}"]
    swept = getattr(config, "_mf_swept", None)
    if swept:
        lines.append(f"removed stale namespaces: {' '.join(swept)}")
    return lines


# ------------------------------------------------------------ logs in reports

def _log_sink(item):
    def sink(title, path):
        item.__dict__.setdefault("_mf_logs", []).append((title, str(path)))
    return sink


def _tail(path, limit=20000):
    try:
        with open(path, "r", errors="replace") as f:
            text = f.read()
    except OSError as e:
        return f"(cannot read: {e})"
    if len(text) > limit:
        text = f"(... {len(text) - limit} characters cut ...)\n" + text[-limit:]
    return text or "(empty)"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed and not item.__dict__.get("_mf_logs_attached"):
        item.__dict__["_mf_logs_attached"] = True
        for title, path in item.__dict__.get("_mf_logs", []):
            rep.sections.append((f"{title} [{path}]", _tail(path)))


# ------------------------------------------------------------ root guard

@pytest.fixture(scope="session", autouse=True)
def root_state():
    before = rootstate.snapshot()
    yield before
    diff = rootstate.diff(before, rootstate.snapshot())
    assert not diff, "the root namespace changed during the run:\n" + diff


@pytest.fixture(autouse=True)
def root_state_unchanged(root_state):
    yield
    diff = rootstate.diff(root_state, rootstate.snapshot())
    assert not diff, "this test changed the root namespace:\n" + diff


# ------------------------------------------------------------ topology, daemon

@pytest.fixture
def topo(request, tmp_path):
    t = netns.Topology(str(tmp_path), log_sink=_log_sink(request.node))
    yield t
    errors = t.close()
    assert not errors, "topology teardown: " + "; ".join(errors)


_tun_counter = [0]


@pytest.fixture
def tun_name():
    _tun_counter[0] += 1
    return f"mft{_tun_counter[0]}"


@pytest.fixture
def mintflow(request, tmp_path, topo):
    made = []
    sink = _log_sink(request.node)
    binary = mfd.binary()
    if not os.access(binary, os.X_OK):
        pytest.fail(f"mintflow binary not found or not executable: {binary} "
                    f"(set MINTFLOW_BIN)")

    def make(ns, profile_text, name="mintflow", run_dir=None, start=True,
             timeout=10.0):
        path = tmp_path / f"{name}.yaml"
        path.write_text(profile_text)
        d = mfd.Daemon(ns, path, tmp_path, name=name, run_dir=run_dir,
                       log_sink=sink)
        made.append(d)
        if start:
            d.start(timeout=timeout)
        return d

    yield make
    problems = []
    for d in made:
        if d.running():
            try:
                d.stop()
            except Exception as e:  # reported below, after all are stopped
                problems.append(str(e))
    assert not problems, "daemon teardown:\n" + "\n".join(problems)


@pytest.fixture
def core(topo, mintflow, tun_name):
    ns = topo.ns("app")
    d = mintflow(ns, mfd.core_profile(tun_name))
    return types.SimpleNamespace(ns=ns, d=d, tun=tun_name)
