"""Everything the harness creates is registered here, so that one call can
undo it whatever way the run ends: a fixture finalizer (normal case), atexit
(an exception or Ctrl-C that unwinds pytest), or a SIGTERM/SIGHUP handler
(the run is being killed politely). Only SIGKILL escapes; the next run's
sweep (netns.sweep_stale) takes care of that.

Order matters: processes first (a namespace with a live process in it
survives `ip netns del` as an anonymous namespace), then namespaces."""

import atexit
import os
import signal
import subprocess
import time

_procs = {}        # id(Popen) -> Popen, started by this run
_namespaces = []   # names, in creation order
_installed = False


def register_proc(p):
    _procs[id(p)] = p


def forget_proc(p):
    _procs.pop(id(p), None)


def register_ns(name):
    if name not in _namespaces:
        _namespaces.append(name)


def forget_ns(name):
    if name in _namespaces:
        _namespaces.remove(name)


def stop_proc(p, grace=2.0):
    """SIGTERM, then SIGKILL after `grace` seconds; always reaps. Returns the
    exit code."""
    if p.poll() is None:
        try:
            p.terminate()
            p.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=5)
        except ProcessLookupError:
            pass
    forget_proc(p)
    return p.returncode


def ns_pids(name):
    try:
        out = subprocess.run(["ip", "netns", "pids", name], capture_output=True,
                             text=True, timeout=5).stdout
    except subprocess.TimeoutExpired:
        return []
    return [int(x) for x in out.split() if x.isdigit()]


def delete_ns(name):
    """Kills what still runs inside `name` (by pid: only processes of that
    namespace, which this harness started) and deletes it."""
    for _ in range(3):
        pids = [p for p in ns_pids(name) if p != os.getpid()]
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        # Children of ours are reaped by their Popen objects (stop_proc),
        # never here: a foreign waitpid would make Popen report exit code 0.
        time.sleep(0.05)
    subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)
    forget_ns(name)


def cleanup_all():
    for p in list(_procs.values()):
        try:
            stop_proc(p, grace=1.0)
        except Exception:
            pass
    for name in list(reversed(_namespaces)):
        try:
            delete_ns(name)
        except Exception:
            pass


def _on_signal(signum, frame):
    cleanup_all()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def install():
    """Idempotent. SIGINT keeps pytest's own handling (KeyboardInterrupt,
    which unwinds fixtures and ends in atexit)."""
    global _installed
    if _installed:
        return
    _installed = True
    atexit.register(cleanup_all)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _on_signal)
