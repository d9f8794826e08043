"""Everything the harness creates is registered here, so that one call can
undo it whatever way the run ends: a fixture finalizer (normal case), atexit
(an exception or Ctrl-C that unwinds pytest), or a SIGTERM/SIGHUP handler
(the run is being killed politely). Only SIGKILL escapes; the next run's
sweep (netns.sweep_stale) takes care of that.

Order matters: processes first (a namespace with a live process in it
survives `ip netns del` as an anonymous namespace), then namespaces."""

import atexit
import os
import shutil
import signal
import subprocess
import time

# `ip netns exec NS` bind-mounts each file of /etc/netns/NS/ over the one of
# that name in /etc. Every namespace the harness makes gets its own
# resolv.conf there, so that a daemon pointing "the system resolver" at its
# DNS server changes the namespace's copy, never the machine's.
NETNS_ETC = "/etc/netns"
NS_RESOLV_CONF = "nameserver 127.0.0.1\n"


def ns_etc_dir(name):
    return os.path.join(NETNS_ETC, name)


def make_ns_etc(name, resolv_conf=NS_RESOLV_CONF):
    """Creates /etc/netns/<name>/resolv.conf; call before `ip netns add`."""
    d = ns_etc_dir(name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "resolv.conf"), "w") as f:
        f.write(resolv_conf)


def remove_ns_etc(name):
    if "/" in name or not name:
        return
    shutil.rmtree(ns_etc_dir(name), ignore_errors=True)

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
    namespace, which this harness started) and deletes it, with its
    /etc/netns/<name>."""
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
    remove_ns_etc(name)
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
