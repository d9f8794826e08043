"""Network namespaces for tests: naming, creation, veth links, bounded
command execution inside them, background peers, and the sweep of
namespaces left behind by a killed run.

Names are `mft-<pid>-<n>-<role>`: the pid of the pytest process that made
them, so that a sweep removes only namespaces whose run is gone and two runs
(two people, or CI and a person) never touch each other's namespaces."""

import json
import os
import re
import shlex
import subprocess
import time

from . import cleanup

PREFIX = "mft-"
_NAME_RE = re.compile(r"^mft-(\d+)-(\d+)-[A-Za-z0-9_.-]+$")
_counter = [0]

DEFAULT_TIMEOUT = 10.0


class CommandFailed(AssertionError):
    pass


def _as_argv(cmd):
    return shlex.split(cmd) if isinstance(cmd, str) else [str(c) for c in cmd]


def run_host(cmd, check=True, timeout=DEFAULT_TIMEOUT, input=None, env=None):
    """Runs a command in the current (root) namespace, bounded in time.
    Only used for read-only commands (`ip route`, `tshark -r`)."""
    argv = _as_argv(cmd)
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                           input=input, env=env)
    except subprocess.TimeoutExpired as e:
        raise CommandFailed(f"timed out after {timeout}s: {shlex.join(argv)}\n"
                            f"stdout: {e.stdout!r}\nstderr: {e.stderr!r}")
    if check and r.returncode != 0:
        raise CommandFailed(f"exit {r.returncode}: {shlex.join(argv)}\n"
                            f"stdout:\n{r.stdout}\nstderr:\n{r.stderr}")
    return r


def list_namespaces():
    r = run_host(["ip", "netns", "list"], check=False)
    return [line.split()[0] for line in r.stdout.splitlines() if line.strip()]


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale():
    """Deletes `mft-*` namespaces whose creating pytest process is dead,
    and their /etc/netns/ directories (also those left without a
    namespace). Returns the namespace names removed."""
    removed = []
    for name in list_namespaces():
        m = _NAME_RE.match(name)
        if not m:
            continue
        pid = int(m.group(1))
        if pid == os.getpid() or _pid_alive(pid):
            continue
        cleanup.delete_ns(name)
        removed.append(name)
    try:
        etc = os.listdir(cleanup.NETNS_ETC)
    except OSError:
        etc = []
    for name in etc:
        m = _NAME_RE.match(name)
        if m and int(m.group(1)) != os.getpid() and not _pid_alive(int(m.group(1))):
            cleanup.remove_ns_etc(name)
    return removed


def create_ns(name, resolv_conf=cleanup.NS_RESOLV_CONF):
    """`ip netns add name`, with its own /etc/netns/<name>/resolv.conf made
    first: a daemon inside must never write the machine's resolv.conf.
    Registered for cleanup before anything is made."""
    cleanup.register_ns(name)
    cleanup.make_ns_etc(name, resolv_conf)
    run_host(["ip", "netns", "add", name])


def unique_name(role):
    _counter[0] += 1
    return f"{PREFIX}{os.getpid()}-{_counter[0]}-{role}"


class Peer:
    """A background process inside a namespace; output goes to a log file.
    Killed and reaped by Topology.close() at the latest."""

    def __init__(self, ns, argv, log_path, env=None):
        self.ns = ns
        self.argv = argv
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", ns.name] + argv, stdin=subprocess.DEVNULL,
            stdout=self._log, stderr=subprocess.STDOUT, env=env,
            start_new_session=True)
        cleanup.register_proc(self.proc)

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def log_text(self):
        try:
            with open(self.log_path, "r", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def wait_output(self, pattern, timeout=5.0):
        """Waits until the log matches regex `pattern`; returns the match.
        Raises when the process exits or time runs out first."""
        rx = re.compile(pattern, re.M)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = rx.search(self.log_text())
            if m:
                return m
            if not self.alive():
                break
            time.sleep(0.02)
        m = rx.search(self.log_text())
        if m:
            return m
        raise CommandFailed(
            f"{shlex.join(self.argv)}: no output matching {pattern!r} within "
            f"{timeout}s (exit code {self.proc.poll()})\n{self.log_text()}")

    def wait(self, timeout=DEFAULT_TIMEOUT):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise CommandFailed(f"{shlex.join(self.argv)} still running after "
                                f"{timeout}s\n{self.log_text()}")

    def signal(self, sig):
        if self.alive():
            self.proc.send_signal(sig)

    def stop(self, grace=2.0):
        rc = cleanup.stop_proc(self.proc, grace=grace)
        self._log.close()
        return rc


class Netns:
    def __init__(self, name, topo):
        self.name = name
        self.topo = topo

    def __repr__(self):
        return f"Netns({self.name})"

    def argv(self, cmd):
        return ["ip", "netns", "exec", self.name] + _as_argv(cmd)

    def run(self, cmd, check=True, timeout=DEFAULT_TIMEOUT, input=None, env=None):
        """Runs cmd (list, or str split like a shell would) inside the
        namespace; returns CompletedProcess with text stdout/stderr."""
        argv = _as_argv(cmd)
        try:
            r = subprocess.run(self.argv(argv), capture_output=True, text=True,
                               timeout=timeout, input=input, env=env)
        except subprocess.TimeoutExpired as e:
            raise CommandFailed(
                f"[{self.name}] timed out after {timeout}s: {shlex.join(argv)}\n"
                f"stdout: {e.stdout!r}\nstderr: {e.stderr!r}")
        if check and r.returncode != 0:
            raise CommandFailed(f"[{self.name}] exit {r.returncode}: "
                                f"{shlex.join(argv)}\nstdout:\n{r.stdout}\n"
                                f"stderr:\n{r.stderr}")
        return r

    def popen(self, cmd, name=None, env=None):
        argv = _as_argv(cmd)
        label = name or os.path.basename(argv[0])
        return self.topo._add_peer(self, argv, label, env)

    def ip(self, *args, check=True):
        return self.run(["ip"] + list(args), check=check).stdout

    def ip_json(self, *args):
        out = self.run(["ip", "-j"] + list(args)).stdout.strip()
        return json.loads(out) if out else []

    def sysctl(self, key, value):
        self.run(["sysctl", "-q", "-w", f"{key}={value}"])

    def net_state(self):
        """Everything routing-related in this namespace, as text, for
        before/after comparisons. The TUN and its addresses disappear with
        their routes, so `table all` covers them."""
        return {
            "ip route show table all": self.ip("route", "show", "table", "all"),
            "ip -6 route show table all": self.ip("-6", "route", "show", "table", "all"),
            "ip rule": self.ip("rule"),
            "ip -6 rule": self.ip("-6", "rule"),
            "links": " ".join(sorted(self.link_names())),
        }

    def wait_state(self, want, timeout=3.0):
        """Asserts that net_state() comes back to `want` within `timeout`
        seconds (a TUN goes away only once its owner's fd is closed)."""
        deadline = time.monotonic() + timeout
        while True:
            now = self.net_state()
            if now == want or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        diffs = [f"--- {k} before:\n{want[k]}--- now:\n{now.get(k)}"
                 for k in want if want[k] != now.get(k)]
        assert not diffs, (f"[{self.name}] not back to the state before:\n"
                           + "\n".join(diffs))

    def link_names(self):
        return [l["ifname"] for l in self.ip_json("link")]

    @property
    def resolv_conf_path(self):
        """The file that is /etc/resolv.conf inside this namespace."""
        return os.path.join(cleanup.ns_etc_dir(self.name), "resolv.conf")


def _add_addr(ns, ifname, addr):
    args = ["addr", "add", addr, "dev", ifname]
    if ":" in addr:
        args.append("nodad")  # usable at once, no 1-2 s of tentative state
    ns.ip(*args)


class Topology:
    """The namespaces and peers of one test. close() undoes all of it."""

    def __init__(self, log_dir, log_sink=None):
        self.log_dir = log_dir
        self.namespaces = []
        self.peers = []
        self._log_sink = log_sink  # callable(title, path): attach logs to reports
        self._veth_n = 0
        self._peer_n = 0

    def ns(self, role):
        name = unique_name(role)
        create_ns(name)
        n = Netns(name, self)
        self.namespaces.append(n)
        n.ip("link", "set", "lo", "up")
        return n

    def veth(self, a, a_addrs, b, b_addrs, a_if=None, b_if=None, mtu=None):
        """Links namespaces a and b with a veth pair created directly inside
        them (never in the root namespace). Addresses: lists of "addr/len".
        Returns (a_if, b_if)."""
        self._veth_n += 1
        a_if = a_if or f"veth{self._veth_n}a"
        b_if = b_if or f"veth{self._veth_n}b"
        a.ip("link", "add", a_if, "type", "veth", "peer", "name", b_if,
             "netns", b.name)
        for ns, ifname, addrs in ((a, a_if, a_addrs), (b, b_if, b_addrs)):
            if mtu:
                ns.ip("link", "set", ifname, "mtu", str(mtu))
            for addr in addrs or []:
                _add_addr(ns, ifname, addr)
            ns.ip("link", "set", ifname, "up")
        return a_if, b_if

    def _add_peer(self, ns, argv, label, env):
        self._peer_n += 1
        path = os.path.join(self.log_dir, f"peer{self._peer_n}-{label}.log")
        p = Peer(ns, argv, path, env)
        self.peers.append(p)
        if self._log_sink:
            self._log_sink(f"peer {label} in {ns.name} ({shlex.join(argv)})", path)
        return p

    def close(self):
        errors = []
        for p in reversed(self.peers):
            try:
                p.stop(grace=1.0)
            except Exception as e:
                errors.append(f"{p.argv}: {e}")
        for n in reversed(self.namespaces):
            cleanup.delete_ns(n.name)
        left = set(list_namespaces()) & {n.name for n in self.namespaces}
        if left:
            errors.append(f"namespaces not removed: {sorted(left)}")
        self.namespaces = []
        self.peers = []
        return errors

