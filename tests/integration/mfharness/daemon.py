"""The mintflow daemon under test: profile files, start inside a namespace,
readiness, the CLI, and stop/kill with the exit code checked.

Each Daemon has its own control socket and run directory inside the test's
tmp dir, so tests never share them (and a run of this suite never meets a
daemon started by hand)."""

import os
import re
import shlex
import signal
import subprocess
import time
from pathlib import Path

from . import cleanup, parse
from .netns import CommandFailed

REPO = Path(__file__).resolve().parents[3]


def binary():
    return os.environ.get("MINTFLOW_BIN", str(REPO / "build" / "mintflow"))


class DaemonError(AssertionError):
    pass


# ---------------------------------------------------------------- profiles

def _yaml_scalar(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    s = str(v)
    # Quote what a YAML reader could take for something else (`::/0` starts
    # with an indicator; hex stays as written when given as a str).
    if s[:1] in ":-?[]{}#&*!|>'\"%@`" or ": " in s or s == "":
        return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return s


def _yaml_quoted(s):
    return '"' + str(s).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _yaml_block(value, indent):
    """Block-style YAML lines for a dict, list or scalar nested at `indent`
    spaces. Strings are always quoted (keys, addresses and base64 stay
    strings whatever they look like); ints and bools are written bare."""
    pad = " " * indent
    if isinstance(value, dict):
        lines = []
        for k, v in value.items():
            if isinstance(v, (dict, list, tuple)):
                lines.append(f"{pad}{k}:")
                lines += _yaml_block(v, indent + 2)
            else:
                lines.append(f"{pad}{k}: {_yaml_block_scalar(v)}")
        return lines
    if isinstance(value, (list, tuple)):
        lines = []
        for v in value:
            if isinstance(v, dict):
                sub = _yaml_block(v, indent + 2)
                lines.append(f"{pad}- {sub[0].lstrip()}")
                lines += sub[1:]
            else:
                lines.append(f"{pad}- {_yaml_block_scalar(v)}")
        return lines
    return [f"{pad}{_yaml_block_scalar(value)}"]


def _yaml_block_scalar(v):
    if isinstance(v, (bool, int)):
        return _yaml_scalar(v)
    return _yaml_quoted(v)


def profile_yaml(tun_name, *, addresses=("172.19.0.1/30", "fdfe:dcba:9876::1/126"),
                 mtu=1500, auto_route=True, exclude_lan=False, tun_extra=None,
                 interfaces=(), routes=()):
    """Builds a profile. interfaces: [(name, type)] or, for interfaces with
    settings, dicts written as YAML as given ({"name": "wg0", "type":
    "wireguard", "peers": [{...}]}); routes: [(cidr, to)]; tun_extra: more
    `tun:` keys (route_table, fwmark, rule_priority, ...)."""
    lines = ["tun:", f"  name: {tun_name}", f"  mtu: {mtu}", "  addresses:"]
    lines += [f"    - {_yaml_scalar(a)}" for a in addresses]
    lines += [f"  auto_route: {_yaml_scalar(auto_route)}",
              f"  exclude_lan: {_yaml_scalar(exclude_lan)}"]
    for k, v in (tun_extra or {}).items():
        if isinstance(v, (list, tuple)):
            lines.append(f"  {k}:")
            lines += [f"    - {_yaml_scalar(x)}" for x in v]
        else:
            lines.append(f"  {k}: {_yaml_scalar(v)}")
    lines.append("interfaces:")
    for item in interfaces:
        if isinstance(item, dict):
            lines += _yaml_block([item], 2)
            continue
        name, typ = item
        lines += [f"  - name: {_yaml_scalar(name)}", f"    type: {typ}"]
    lines.append("routes:")
    for cidr, to in routes:
        lines += [f"  - cidr: {_yaml_scalar(cidr)}", f"    to: {_yaml_scalar(to)}"]
    return "\n".join(lines) + "\n"


# The profile of the core tests: a reject and a drop interface, v4 and v6.
CORE_INTERFACES = (("blocked", "reject"), ("void", "drop"))
CORE_ROUTES = (
    ("0.0.0.0/0", "blocked"),
    ("198.51.100.0/24", "blocked"),
    ("203.0.113.0/24", "void"),
    ("::/0", "blocked"),
    ("2001:db8:dead::/48", "void"),
)
TUN_ADDR4, STACK_ADDR4 = "172.19.0.1", "172.19.0.2"
TUN_ADDR6, STACK_ADDR6 = "fdfe:dcba:9876::1", "fdfe:dcba:9876::2"


def core_profile(tun_name, **kw):
    kw.setdefault("interfaces", CORE_INTERFACES)
    kw.setdefault("routes", CORE_ROUTES)
    return profile_yaml(tun_name, **kw)


# ---------------------------------------------------------------- the CLI

def cli_argv(args, socket=None):
    argv = [binary()] + (shlex.split(args) if isinstance(args, str) else list(args))
    if socket:
        argv += ["-s", str(socket)]
    return argv


class Daemon:
    """One daemon identity (profile, socket, run dir) that can be started
    several times, e.g. killed and started again over the same run dir."""

    def __init__(self, ns, profile_path, workdir, name="mintflow", run_dir=None,
                 log_sink=None):
        self.ns = ns
        self.profile = Path(profile_path)
        self.workdir = Path(workdir)
        self.name = name
        self.socket = self.workdir / f"{name}.sock"
        self.run_dir = Path(run_dir) if run_dir else self.workdir / f"{name}-run"
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if len(str(self.socket)) > 100:
            raise DaemonError(f"socket path too long for AF_UNIX: {self.socket}")
        self._log_sink = log_sink
        self.proc = None
        self.log_path = None
        self._starts = 0
        self.returncode = None

    # -- process

    def start(self, wait=True, timeout=10.0):
        if self.running():
            raise DaemonError("already running")
        self._starts += 1
        self.log_path = self.workdir / f"{self.name}-{self._starts}.log"
        log = open(self.log_path, "wb")
        argv = [binary(), "run", "-c", str(self.profile), "-s", str(self.socket),
                "--run-dir", str(self.run_dir)]
        self.argv = argv
        # `ip netns exec` execs the command: our Popen pid is the daemon's
        # own pid, so signals reach it directly.
        self.proc = subprocess.Popen(["ip", "netns", "exec", self.ns.name] + argv,
                                     stdin=subprocess.DEVNULL, stdout=log,
                                     stderr=subprocess.STDOUT,
                                     start_new_session=True)
        log.close()
        self.returncode = None
        cleanup.register_proc(self.proc)
        if self._log_sink:
            self._log_sink(f"daemon {self.name} start {self._starts} in "
                           f"{self.ns.name}: {shlex.join(argv)}", self.log_path)
        if wait:
            self.wait_ready(timeout)
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def wait_ready(self, timeout=10.0):
        """Polls `show version` until it answers; fails with the log if the
        daemon exits or does not answer within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if not self.running():
                raise DaemonError(f"daemon exited with code {self.proc.returncode} "
                                  f"before it was ready; log:\n{self.log_text()}")
            last = self.cli_run("show version", timeout=2.0)
            if last.returncode == 0:
                return
            time.sleep(0.05)
        raise DaemonError(f"daemon not ready after {timeout}s; last `show version`: "
                          f"exit {last and last.returncode} {last and last.stderr!r}; "
                          f"log:\n{self.log_text()}")

    def wait_exit(self, timeout=10.0):
        try:
            self.returncode = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise DaemonError(f"daemon still running {timeout}s later; log:\n"
                              f"{self.log_text()}")
        cleanup.forget_proc(self.proc)
        return self.returncode

    def stop(self, timeout=10.0, expect_rc=0, sig=signal.SIGTERM):
        """SIGTERM (or `sig`), wait up to `timeout` s; asserts the exit code
        (None: no assertion). Returns the exit code."""
        if not self.running():
            rc = self.proc.returncode if self.proc else None
            raise DaemonError(f"daemon not running (exit code {rc}); log:\n"
                              f"{self.log_text()}")
        self.proc.send_signal(sig)
        rc = self.wait_exit(timeout)
        if expect_rc is not None and rc != expect_rc:
            raise DaemonError(f"daemon exited with {rc} after {signal.Signals(sig).name},"
                              f" expected {expect_rc}; log:\n{self.log_text()}")
        return rc

    def kill(self):
        """SIGKILL: the daemon gets no chance to clean up."""
        self.proc.kill()
        return self.wait_exit(5.0)

    def log_text(self):
        if not self.log_path:
            return ""
        with open(self.log_path, "r", errors="replace") as f:
            return f.read()

    def wait_log(self, pattern, timeout=5.0):
        rx = re.compile(pattern, re.M)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = rx.search(self.log_text())
            if m:
                return m
            time.sleep(0.02)
        raise DaemonError(f"no log line matching {pattern!r} within {timeout}s; "
                          f"log:\n{self.log_text()}")

    # -- CLI

    def cli_run(self, args, timeout=10.0, env=None):
        """Runs `mintflow ARGS -s SOCKET` in the daemon's namespace; returns
        the CompletedProcess, whatever the exit code."""
        argv = self.ns.argv(cli_argv(args, self.socket))
        try:
            return subprocess.run(argv, capture_output=True, text=True,
                                  timeout=timeout, env=env)
        except subprocess.TimeoutExpired as e:
            raise CommandFailed(f"timed out after {timeout}s: {shlex.join(argv)}\n"
                                f"stdout: {e.stdout!r}\nstderr: {e.stderr!r}")

    def cli(self, args, timeout=10.0):
        """Runs a CLI command that must succeed; returns its stdout."""
        r = self.cli_run(args, timeout=timeout)
        if r.returncode != 0:
            raise CommandFailed(f"`mintflow {args}` exit {r.returncode}\n"
                                f"stdout:\n{r.stdout}\nstderr:\n{r.stderr}")
        return r.stdout

    def errors(self):
        return parse.errors(self.cli("show errors"))

    def interfaces(self):
        return parse.interfaces(self.cli("show interfaces"))

    def fib(self):
        return parse.fib(self.cli("show ip fib"))

    def runtime(self):
        return parse.runtime(self.cli("show runtime"))

    def trace(self):
        return parse.trace(self.cli("show trace"))

    def wait_counter(self, fn, pred, timeout=3.0, what="counter"):
        """Polls fn() (e.g. self.errors) until pred(value) holds; returns the
        last value. Packets written into the TUN are processed
        asynchronously, so counters are polled, never read once."""
        deadline = time.monotonic() + timeout
        while True:
            v = fn()
            if pred(v) or time.monotonic() >= deadline:
                return v
            time.sleep(0.05)
