#!/usr/bin/python3
"""The host stack's TCP (mintflow, `direct` with auto_route) against the
kernel's own path, through the same namespaces and veth, back to back:

      mfhs-app                                        mfhs-inet
  +-------------------------------+  veth    +--------------------------+
  | clients: iperf3 -c, conn_load |          | iperf3 -s                |
  |   | (daemon path only:)       | mfhs-a   | conn_load serve :7001    |
  |   v                           | mfhs-i   |   (answer 1 byte, close) |
  | mfhs0 TUN -> mintflow -> sockets (mark)--+--| conn_load serve :7002    |
  |   (kernel path: straight out) |          |   (answer 1 byte, hold)  |
  +-------------------------------+          +--------------------------+
   198.18.0.1/30, 2001:db8:1::1/64            198.18.0.2/30, 2001:db8:1::2/64

The veth sits in 198.18.0.0/15 (RFC 2544 benchmarking), outside the ranges
exclude_lan leaves to the main table, so with auto_route every connection
of the app namespace enters the TUN; the daemon's own sockets carry its
fwmark and leave through the main table's default route.

Each measurement runs the kernel path (no daemon) and then the daemon path
(a fresh daemon per measurement, stopped afterwards):
  1. single-stream iperf3 TCP, app->inet and inet->app (-R); goal >= 0.60
  2. 8 streams (-P 8), both directions
  3. connections per second (conn_load rate: connect, 1 byte each way,
     close; up to 64 in flight)
  4. the daemon's CPU seconds per GB (utime + stime of /proc/PID/stat)
  5. the daemon's VmRSS before and after BENCH_IDLE idle connections, bytes
     per idle session; goal < 2048 B
  6. the daemon's largest VmRSS during the 8-stream runs

Called by run.sh, which builds what this needs and removes the namespaces
again even when this script is killed (the pids it starts are listed in
OUT/pids for that). Checks at the end that the root namespace's rules and
routes are as they were at the start."""

import argparse
import json
import os
import re
import select
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time

NS_APP, NS_INET = "mfhs-app", "mfhs-inet"
VETH_APP, VETH_INET = "mfhs-a", "mfhs-i"
ADDR = {4: ("198.18.0.1", "198.18.0.2", 30), 6: ("2001:db8:1::1", "2001:db8:1::2", 64)}
TUN = "mfhs0"
FWMARK = 0x7300
PORT_IPERF, PORT_RATE, PORT_HOLD = 5201, 7001, 7002
RATE_INFLIGHT = 64    # connections in flight for the connection rate
HOLD_INFLIGHT = 256   # connects in flight while opening the idle ones
MAX_SESSIONS = 16384  # the daemon's session limit for these tests

GOAL_THROUGHPUT = 0.60  # daemon / kernel, single stream
GOAL_IDLE_BYTES = 2048  # daemon RSS per idle TCP session
PUBLISHED_IDLE = (("hev-socks5-tunnel", "8.7 KiB", 8.7 * 1024),
                  ("sing-box", "~17 KB", 17000))

THROUGHPUT_TESTS = (  # (label, iperf3 arguments)
    ("1 stream app->inet", []),
    ("1 stream inet->app", ["-R"]),
    ("8 streams app->inet", ["-P", "8"]),
    ("8 streams inet->app", ["-P", "8", "-R"]),
)
PATHS = ("kernel", "daemon")
NO_TCP_MARK = "not available yet"  # daemon.c's warning while TCP is missing
NO_TCP = "skipped: daemon has no TCP yet"

CLK_TCK = os.sysconf("SC_CLK_TCK")


class BenchError(Exception):
    pass


class Skip(Exception):
    """The daemon path cannot run in this build; the text says why."""


def log(msg=""):
    print(msg, flush=True)


def run(argv, timeout=10.0, check=True, input=None):
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, input=input)
    except subprocess.TimeoutExpired:
        raise BenchError(f"timed out after {timeout}s: {shlex.join(argv)}")
    if check and r.returncode != 0:
        raise BenchError(f"exit {r.returncode}: {shlex.join(argv)}\n{r.stdout}{r.stderr}")
    return r


def in_ns(ns, argv):
    return ["ip", "netns", "exec", ns] + list(argv)


def wait_until(fn, timeout, what, interval=0.1):
    deadline = time.monotonic() + timeout
    while not fn():
        if time.monotonic() > deadline:
            raise BenchError(f"{what}: not within {timeout}s")
        time.sleep(interval)


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


class Procs:
    """Every background process this run starts, stopped in reverse order.
    Each pid is also written to OUT/pids with its comm, so that run.sh can
    stop what a SIGKILLed run left behind, and only that."""

    def __init__(self, out):
        self.out = out
        self.live = []

    def start(self, ns, argv, name, pipes=False):
        logf = open(os.path.join(self.out, f"{name}.log"), "wb")
        # `ip netns exec` execs the command: the pid is the program's own.
        p = subprocess.Popen(in_ns(ns, argv),
                             stdin=subprocess.PIPE if pipes else subprocess.DEVNULL,
                             stdout=subprocess.PIPE if pipes else logf,
                             stderr=logf if pipes else subprocess.STDOUT,
                             start_new_session=True)
        logf.close()
        p.bench_name = name
        self.live.append(p)
        with open(os.path.join(self.out, "pids"), "a") as f:
            f.write(f"{p.pid} {os.path.basename(argv[0])[:15]}\n")
        return p

    def stop(self, p, grace=5.0):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)
        for f in (p.stdin, p.stdout):
            if f:
                f.close()
        if p in self.live:
            self.live.remove(p)
        return p.returncode

    def stop_all(self):
        for p in reversed(list(self.live)):
            try:
                self.stop(p)
            except Exception as e:  # keep stopping the others
                log(f"warning: stopping {p.bench_name}: {e}")


def read_line(p, timeout, what):
    """One line of p's stdout within timeout seconds (the pipe is read
    without blocking past the deadline)."""
    deadline = time.monotonic() + timeout
    buf = b""
    fd = p.stdout.fileno()
    while not buf.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0:
            raise BenchError(f"{what}: no answer within {timeout}s")
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        chunk = os.read(fd, 1)  # one byte at a time: never past the line
        if not chunk:
            raise BenchError(f"{what}: exited without an answer (exit {p.poll()})")
        buf += chunk
    return buf.decode()


# ------------------------------------------------------------ /proc figures

def cpu_seconds(pid):
    """utime + stime of the whole process (every thread), in seconds."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        raise BenchError(f"process {pid} is gone (see its log)")
    # fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def status_kib(pid, key):
    """A `key: N kB` line of /proc/PID/status, in bytes."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        raise BenchError(f"process {pid} is gone (see its log)")
    raise BenchError(f"/proc/{pid}/status has no {key}")


class RssSampler:
    """The largest VmRSS of a process while the `with` block runs, sampled
    every 50 ms by a thread."""

    def __init__(self, pid):
        self.pid, self.max = pid, 0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self):
        while not self.done.is_set():
            try:
                self.max = max(self.max, status_kib(self.pid, "VmRSS"))
            except BenchError:
                return
            self.done.wait(0.05)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.thread.join(timeout=2)


# ------------------------------------------------------------ root namespace

def root_snapshot():
    """The root namespace's rules and routes, as text. IPv6 routes learnt
    from router advertisements count down their lifetime: that part is
    left out, so only real changes show."""
    parts = []
    for argv in (["ip", "rule"], ["ip", "-6", "rule"], ["ip", "route"], ["ip", "-6", "route"]):
        text = run(argv, check=False).stdout
        parts.append(f"$ {' '.join(argv)}\n" + re.sub(r" expires \S+", "", text))
    return "\n".join(parts)


# ------------------------------------------------------------ namespaces

# `ip netns exec NS` mounts /etc/netns/NS/resolv.conf over /etc/resolv.conf:
# a daemon inside that points "the system resolver" at its DNS server then
# writes that copy, never the machine's.
def ns_etc(ns):
    return os.path.join("/etc/netns", ns)


def make_ns_etc(ns):
    os.makedirs(ns_etc(ns), exist_ok=True)
    with open(os.path.join(ns_etc(ns), "resolv.conf"), "w") as f:
        f.write("nameserver 127.0.0.1\n")


def delete_namespaces():
    have = run(["ip", "netns", "list"], check=False).stdout.split()
    for ns in (NS_APP, NS_INET):
        if ns in have:
            run(["ip", "netns", "del", ns], check=False)
        shutil.rmtree(ns_etc(ns), ignore_errors=True)


def make_namespaces():
    delete_namespaces()  # what a SIGKILLed run may have left
    for ns in (NS_APP, NS_INET):
        make_ns_etc(ns)
        run(["ip", "netns", "add", ns])
        run(in_ns(ns, ["ip", "link", "set", "lo", "up"]))
    # Created inside the app namespace with its peer moved to inet: never
    # in the root namespace.
    run(in_ns(NS_APP, ["ip", "link", "add", VETH_APP, "type", "veth", "peer", "name",
                       VETH_INET, "netns", NS_INET]))
    for fam, (app, inet, plen) in ADDR.items():
        extra = ["nodad"] if fam == 6 else []  # usable at once
        run(in_ns(NS_APP, ["ip", f"-{fam}", "addr", "add", f"{app}/{plen}", "dev",
                           VETH_APP] + extra))
        run(in_ns(NS_INET, ["ip", f"-{fam}", "addr", "add", f"{inet}/{plen}", "dev",
                            VETH_INET] + extra))
    for ns, dev in ((NS_APP, VETH_APP), (NS_INET, VETH_INET)):
        run(in_ns(ns, ["ip", "link", "set", dev, "up"]))
    # The kernel path's plain routes: the app namespace reaches "the
    # internet" through the inet side. The daemon's marked sockets use them
    # too (its rule sends only unmarked traffic to its own table).
    for fam, (_, inet, _) in ADDR.items():
        run(in_ns(NS_APP, ["ip", f"-{fam}", "route", "add", "default", "via", inet]))
    # Ports for 10,000 idle connections plus the daemon's own upstream ones.
    run(in_ns(NS_APP, ["sysctl", "-q", "-w", "net.ipv4.ip_local_port_range=10000 65000"]))
    for ns in (NS_APP, NS_INET):
        run(in_ns(ns, ["sysctl", "-q", "-w", "net.core.somaxconn=4096"]))
        run(in_ns(ns, ["sysctl", "-q", "-w", "net.ipv4.tcp_max_syn_backlog=4096"]))


def ns_rules(ns):
    return run(in_ns(ns, ["ip", "rule"]), check=False).stdout + \
        run(in_ns(ns, ["ip", "-6", "rule"]), check=False).stdout


# ------------------------------------------------------------ servers

def start_servers(args, procs):
    dst = args.target
    procs.start(NS_INET, ["iperf3", "-s", "-B", dst, "-p", str(PORT_IPERF)], "iperf3-server")
    for port, mode in ((PORT_RATE, "close"), (PORT_HOLD, "hold")):
        procs.start(NS_INET, [args.conn_load, "serve", dst, str(port), mode],
                    f"conn_load-serve-{mode}")

    def listening():
        out = run(in_ns(NS_INET, ["ss", "-Hltn"]), check=False).stdout
        return all(f":{p} " in out for p in (PORT_IPERF, PORT_RATE, PORT_HOLD))
    wait_until(listening, 10, "servers listening in the inet namespace")


# ------------------------------------------------------------ the two paths

class KernelPath:
    name = "kernel"
    pid = None

    def start(self):
        pass

    def stop(self):
        pass

    def diagnosis(self):
        return ""


class DaemonPath:
    """A fresh mintflow per measurement: auto_route, everything to direct."""
    name = "daemon"

    def __init__(self, args, procs, n):
        self.args, self.procs, self.n = args, procs, n
        self.sock = os.path.join(args.out, "mf.sock")
        self.run_dir = os.path.join(args.out, "mf-run")
        self.profile = os.path.join(args.out, "mf.yaml")
        self.logname = f"mintflow-{n}"
        self.proc = None
        self.notes = []
        self.hoststack_profile = []  # the section as `mintflow check` understood it

    def write_profile(self, with_hoststack):
        text = f"""tun:
  name: {TUN}
  addresses: [172.19.0.1/30, fdfe:dcba:9876::1/126]
  auto_route: true
  exclude_lan: true
  fwmark: {FWMARK:#x}
interfaces:
  - {{name: direct, type: direct}}
routes:
  - {{cidr: 0.0.0.0/0, to: direct}}
  - {{cidr: ::/0, to: direct}}
"""
        if with_hoststack:
            text += f"hoststack:\n  max_sessions: {MAX_SESSIONS}\n"
        with open(self.profile, "w") as f:
            f.write(text)

    def cli(self, *words, check=True):
        return run(in_ns(NS_APP, [self.args.mintflow] + list(words) + ["-s", self.sock]),
                   check=check, timeout=10)

    def prepare_profile(self):
        """The profile with the session limit; without it (noted) while the
        profile parser does not know the key yet."""
        self.write_profile(True)
        r = run([self.args.mintflow, "check", "-c", self.profile], check=False)
        if r.returncode == 0:
            # `check` prints a hoststack section only when it differs from
            # the defaults; else they are what the default profile lists.
            self.hoststack_profile = (profile_section(r.stdout, "hoststack") or
                                      documented_hoststack(self.args.mintflow))
            return
        said = (r.stdout + r.stderr).strip()
        if "hoststack" not in said and "max_sessions" not in said:
            raise BenchError(f"mintflow check: {said}")
        self.notes.append(f"hoststack.max_sessions {MAX_SESSIONS} refused ("
                          f"{said.splitlines()[0] if said else '?'}): the session limit "
                          f"is the build's default")
        self.write_profile(False)
        run([self.args.mintflow, "check", "-c", self.profile])

    def daemon_log(self):
        try:
            with open(os.path.join(self.args.out, f"{self.logname}.log")) as f:
                return f.read()
        except OSError:
            return ""

    def start(self):
        self.prepare_profile()
        os.makedirs(self.run_dir, exist_ok=True)
        self.proc = self.procs.start(NS_APP, [self.args.mintflow, "run", "-c", self.profile,
                                              "-s", self.sock, "--run-dir", self.run_dir],
                                     self.logname)

        def ready():
            if self.proc.poll() is not None:
                raise BenchError(f"mintflow exited with {self.proc.returncode}; see "
                                 f"{self.args.out}/{self.logname}.log")
            return self.cli("show", "version", check=False).returncode == 0
        wait_until(ready, 10, "mintflow ready")
        if NO_TCP_MARK in self.daemon_log():
            raise Skip(NO_TCP + " (it says so and leaves auto_route off)")
        route = run(in_ns(NS_APP, ["ip", "-o", "route", "get", self.args.target]),
                    check=False).stdout
        if f"dev {TUN}" not in route:
            raise BenchError(f"auto_route: {self.args.target} is not routed into {TUN}: "
                             f"{route.strip()}")
        if any("hoststack" in n for n in self.notes):
            self.cli("set", "hoststack", "max-sessions", str(MAX_SESSIONS), check=False)
        # One connection only: the idle test's "before" must find the
        # session table as untouched as possible.
        probe = conn_rate(self.args, 10, inflight=1, count=1)
        if probe["completed"] == 0:
            raise BenchError(f"no TCP connection completes through the daemon: {probe}")

    @property
    def pid(self):
        return self.proc.pid

    def show(self, *words):
        r = self.cli(*words, check=False)
        return f"$ mintflow {' '.join(words)}\n{r.stdout}{r.stderr}"

    def tun_drops(self):
        """Packets the app namespace's kernel could not queue to the TUN
        (its queue was full: the daemon did not read fast enough)."""
        r = run(in_ns(NS_APP, ["ip", "-s", "-j", "link", "show", TUN]), check=False)
        try:
            return json.loads(r.stdout)[0]["stats64"]["tx"]["dropped"]
        except (ValueError, LookupError, TypeError):
            return None

    def diagnosis(self):
        if not self.proc or self.proc.poll() is not None:
            return ""
        link = run(in_ns(NS_APP, ["ip", "-s", "link", "show", TUN]), check=False)
        return "\n".join([self.show(*w) for w in (("show", "hoststack"), ("show", "errors"),
                                                    ("show", "runtime"))] +
                         [f"$ ip -s link show {TUN}\n{link.stdout}{link.stderr}"])

    def stop(self):
        if not self.proc:
            return
        rc = self.procs.stop(self.proc)
        self.proc = None
        if rc not in (0, None):
            log(f"  warning: mintflow exited with {rc}")
        left = [ln for ln in ns_rules(NS_APP).splitlines()
                if not re.match(r"^(0|32766|32767):", ln)]
        if left:
            log(f"  warning: the daemon left rules in {NS_APP}: {left}")


def profile_section(text, key):
    """The lines of a top-level section of a YAML text (as `mintflow check`
    prints the profile it understood), without the key line."""
    lines, inside = [], False
    for ln in text.splitlines():
        if re.match(r"^\S", ln):
            inside = ln.startswith(key + ":")
        elif inside and ln.strip():
            lines.append(ln.strip())
    return lines


def documented_hoststack(mintflow):
    """The hoststack defaults as the default profile documents them, in
    its commented-out section (`#   tcp_rx_buffer: 1MiB  # ...`)."""
    text = run([mintflow, "profile", "default"], check=False).stdout
    lines, inside = [], False
    for ln in text.splitlines():
        if re.match(r"^#\s*hoststack:", ln):
            inside = True
        elif inside:
            m = re.match(r"^#\s+(\w+):\s*(\S+)", ln)
            if not m:
                break
            lines.append(f"{m.group(1)}: {m.group(2)}")
    return lines


def make_path(name, args, procs, n):
    return KernelPath() if name == "kernel" else DaemonPath(args, procs, n)


# ------------------------------------------------------------ measurements

def iperf3_once(args, extra, json_path):
    secs = args.seconds
    argv = in_ns(NS_APP, ["iperf3", "-c", args.target, "-p", str(PORT_IPERF), "-t",
                          str(secs), "-J", "--connect-timeout", "5000"] + extra)
    r = run(argv, timeout=secs + 40, check=False)
    with open(json_path, "w") as f:
        f.write(r.stdout)
    try:
        j = json.loads(r.stdout)
    except ValueError:
        raise BenchError(f"iperf3 gave no JSON (exit {r.returncode}): {r.stderr[-500:]}")
    if "error" in j:
        raise BenchError(f"iperf3: {j['error']}")
    end = j["end"]
    return {
        "bits_per_second": end["sum_received"]["bits_per_second"],
        "bytes": end["sum_received"]["bytes"],
        "retransmits": end["sum_sent"].get("retransmits"),
    }


def conn_rate(args, seconds, inflight=RATE_INFLIGHT, count=None):
    argv = in_ns(NS_APP, [args.conn_load, "rate", args.target, str(PORT_RATE), str(seconds),
                          str(inflight)] + ([str(count)] if count else []))
    r = run(argv, timeout=seconds + 30)
    try:
        return json.loads(r.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise BenchError(f"conn_load rate: no JSON: {r.stdout}{r.stderr}")


def with_path(path, fn):
    """Runs fn(path) with the path set up, and tears it down whatever
    happens; the daemon's counters are kept in a diagnosis file."""
    try:
        path.start()
        return fn(path)
    finally:
        diag = path.diagnosis()
        if diag:
            path.last_diagnosis = diag
            with open(os.path.join(path.args.out, f"{path.logname}-diagnosis.txt"), "w") as f:
                f.write(diag)
        path.stop()


def measure_throughput(args, path, extra, slug):
    pid = path.pid
    before = cpu_seconds(pid) if pid else None
    sampler = RssSampler(pid) if pid else None
    if sampler:
        sampler.__enter__()
    try:
        res = iperf3_once(args, extra, os.path.join(args.out, f"{slug}.json"))
    finally:
        if sampler:
            sampler.__exit__()
    if pid:
        cpu = cpu_seconds(pid) - before
        gb = res["bytes"] / 1e9
        res["daemon_cpu_s"] = cpu
        res["daemon_cpu_s_per_gb"] = cpu / gb if gb > 0 else None
        res["daemon_max_rss"] = sampler.max
        res["daemon_hwm"] = status_kib(pid, "VmHWM")
        res["hoststack"] = path.show("show", "hoststack")
        res["hoststack_profile"] = path.hoststack_profile
        res["tun_tx_dropped"] = path.tun_drops()
    return res


def measure_rate(args, path):
    pid = path.pid
    before = cpu_seconds(pid) if pid else None
    res = conn_rate(args, args.seconds)
    res["per_second"] = res["completed"] / res["seconds"] if res["seconds"] > 0 else 0
    if pid:
        res["daemon_cpu_s"] = cpu_seconds(pid) - before
        res["hoststack"] = path.show("show", "hoststack")
    return res


def measure_idle(args, procs, path):
    """BENCH_IDLE connections opened (one byte each way), held idle, then
    closed: the daemon's VmRSS before and with them open."""
    pid = path.pid
    if pid:
        time.sleep(1)  # the probe's session has gone quiet
        rss_before = status_kib(pid, "VmRSS")
    holder = procs.start(NS_APP, [args.conn_load, "hold", args.target, str(PORT_HOLD),
                                  str(args.idle), str(HOLD_INFLIGHT)],
                         f"conn_load-hold-{path.name}", pipes=True)
    try:
        opened = json.loads(read_line(holder, 330, "conn_load hold (opening)"))
        time.sleep(2)  # delayed ACKs, rings given back: idle for real
        res = {"requested": args.idle, "open": opened}
        if pid:
            rss_after = status_kib(pid, "VmRSS")
            res["daemon_rss_before"], res["daemon_rss_after"] = rss_before, rss_after
            n = opened["held"]
            res["bytes_per_session"] = (rss_after - rss_before) / n if n else None
            res["hoststack"] = path.show("show", "hoststack")
        holder.stdin.close()  # EOF: the holder closes everything and reports
        holder.stdin = None
        res["end"] = json.loads(read_line(holder, 60, "conn_load hold (closing)"))
        return res
    finally:
        procs.stop(holder)


# ------------------------------------------------------------ running

def run_both(args, procs, label, fn, results, skipped):
    """fn(path) on each chosen path, kernel first; results[label][path]."""
    results[label] = {}
    for name in args.paths:
        if name == "daemon" and skipped.get("daemon"):
            results[label][name] = {"skipped": skipped["daemon"]}
            continue
        args.n_runs += 1
        path = make_path(name, args, procs, args.n_runs)
        log(f"  {label} [{name}] (load {loadavg()})")
        try:
            res = with_path(path, fn)
        except Skip as why:
            skipped[name] = str(why)
            results[label][name] = {"skipped": str(why)}
            log(f"    {why}")
            continue
        except BenchError as err:
            results[label][name] = {"error": str(err)}
            log(f"    FAILED: {err}")
            diag = getattr(path, "last_diagnosis", "")
            if diag:
                log(diag)
            continue
        if getattr(path, "notes", None):
            res["notes"] = path.notes
        results[label][name] = res
        log(f"    {summary(res)}")
        time.sleep(1)  # let queues drain between runs


def summary(res):
    if "bits_per_second" in res:
        s = f"{res['bits_per_second'] / 1e9:.3f} Gbit/s, retransmits {res['retransmits']}"
        if "daemon_cpu_s" in res:
            s += (f", daemon CPU {res['daemon_cpu_s']:.2f} s = "
                  f"{fmt(res['daemon_cpu_s_per_gb'])} s/GB, max RSS "
                  f"{res['daemon_max_rss'] / 2**20:.1f} MiB, TUN queue drops "
                  f"{fmt(res.get('tun_tx_dropped'), 'd')}, out-of-order "
                  f"{hs_counter(res.get('hoststack', ''), 'tcp-out-of-order')}")
        return s
    if "per_second" in res:
        s = (f"{res['per_second']:.0f} connections/s ({res['completed']} completed, "
             f"{res['timeouts']} timeouts, {res['refused'] + res['connect_errors']} "
             f"connect errors, {res['io_errors'] + res['early_close']} exchange errors")
        if "daemon_cpu_s" in res:
            s += (f"; daemon CPU {res['daemon_cpu_s']:.2f} s, sessions refused "
                  f"{hs_counter(res.get('hoststack', ''), 'refused')}")
        return s + ")"
    if "open" in res:
        o = res["open"]
        s = (f"{o['held']} of {res['requested']} held, opened in {o['seconds']:.2f} s; "
             f"{res['end']['peer_closed']} closed by the peer while held")
        if res.get("bytes_per_session") is not None:
            s += (f"; daemon RSS {res['daemon_rss_before'] / 2**20:.1f} -> "
                  f"{res['daemon_rss_after'] / 2**20:.1f} MiB = "
                  f"{res['bytes_per_session']:.0f} B per session")
        if "hoststack" in res:
            m = re.search(r"sessions: (\d+) live", res["hoststack"])
            s += (f" (daemon: {m.group(1) if m else '?'} sessions live, "
                  f"{hs_counter(res['hoststack'], 'refused')} refused)")
        return s
    return str(res)


def hs_counter(text, name):
    """A `name: N` line of `mintflow show hoststack`, or "?"."""
    m = re.search(rf"^{re.escape(name)}: (\d+)", text, re.M)
    return m.group(1) if m else "?"


def fmt(x, spec=".2f"):
    return "-" if x is None else format(x, spec)


def ok(r):
    return bool(r) and "error" not in r and "skipped" not in r


def cell(r, key, scale=1.0, spec=".3f"):
    if not r:
        return "-"
    if "skipped" in r:
        return "skipped"
    if "error" in r:
        return "failed"
    v = r.get(key)
    return "-" if v is None else format(v / scale, spec)


def ratio(results, label, key):
    k, d = results.get(label, {}).get("kernel"), results.get(label, {}).get("daemon")
    if ok(k) and ok(d) and k.get(key):
        return d[key] / k[key]
    return None


def report(args, results, skipped):
    log("\n== Results (throughput: iperf3 receiver; CPU: the daemon's utime + stime)")
    head = (f"{'test':<26} {'kernel':>10} {'daemon':>10} {'ratio':>7} {'goal':>9}   "
            f"{'daemon CPU s/GB':>15}")
    log(head)
    log("-" * len(head))
    ratios = {}
    for label, _ in THROUGHPUT_TESTS:
        row = results.get(label, {})
        r = ratio(results, label, "bits_per_second")
        ratios[label] = r
        goal = ""
        if label.startswith("1 stream"):
            goal = "-" if r is None else ("met" if r >= GOAL_THROUGHPUT else "not met")
        d = row.get("daemon")
        log(f"{label + ' Gbit/s':<26} {cell(row.get('kernel'), 'bits_per_second', 1e9):>10} "
            f"{cell(d, 'bits_per_second', 1e9):>10} {fmt(r):>7} {goal:>9}   "
            f"{cell(d, 'daemon_cpu_s_per_gb', 1, '.2f'):>15}")
    row = results.get("connections/s", {})
    r = ratio(results, "connections/s", "per_second")
    ratios["connections/s"] = r
    log(f"{'connections/s':<26} {cell(row.get('kernel'), 'per_second', 1, '.0f'):>10} "
        f"{cell(row.get('daemon'), 'per_second', 1, '.0f'):>10} {fmt(r):>7}")
    log(f"\nGoal: single-stream throughput through the daemon >= {GOAL_THROUGHPUT:.2f} of "
        f"the kernel's, each direction")

    log(f"\n== Idle TCP sessions ({args.idle} held open, one byte exchanged on each)")
    idle = results.get("idle", {})
    for name in args.paths:
        log(f"  {name}: {cell_text(idle.get(name))}")
    d = idle.get("daemon")
    per = d.get("bytes_per_session") if ok(d) else None
    verdict = "-" if per is None else ("met" if per < GOAL_IDLE_BYTES else "not met")
    log(f"  daemon bytes per idle session: {fmt(per, '.0f')}   goal < {GOAL_IDLE_BYTES} B: "
        f"{verdict}")
    log("  published, for comparison: " +
        ", ".join(f"{n} {t} ({b:.0f} B)" for n, t, b in PUBLISHED_IDLE))

    log("\n== Daemon memory under load (8 streams)")
    for label, _ in THROUGHPUT_TESTS[2:]:
        d = results.get(label, {}).get("daemon")
        if ok(d):
            log(f"  {label}: max VmRSS {d['daemon_max_rss'] / 2**20:.1f} MiB (sampled every "
                f"50 ms), VmHWM {d['daemon_hwm'] / 2**20:.1f} MiB")
        else:
            log(f"  {label}: {cell_text(d)}")
    conf = configured_buffers(results)
    log("  configured buffers (profile as understood; mintflow show hoststack):" + (
        "\n    " + "\n    ".join(conf) if conf else " -"))
    if "daemon" in args.paths and skipped.get("daemon"):
        log(f"\nDaemon path: {skipped['daemon']}")
    return ratios


def cell_text(r):
    if not r:
        return "-"
    if "skipped" in r:
        return r["skipped"]
    if "error" in r:
        return "failed: " + r["error"].splitlines()[0]
    return summary(r)


def configured_buffers(results):
    """What an 8-stream run's daemon said about its buffers: the profile's
    hoststack section as understood, and the lines of `show hoststack`
    about buffers, rings or memory (the names are the host stack's)."""
    for label, _ in THROUGHPUT_TESTS[2:]:
        d = results.get(label, {}).get("daemon")
        if ok(d):
            return [f"profile: {ln}" for ln in d.get("hoststack_profile", [])
                    if re.search(r"sessions|buffer|memory", ln)] + \
                [ln.strip() for ln in d.get("hoststack", "").splitlines()
                 if re.search(r"buf|ring|budget|mem", ln, re.I)]
    return []


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--mintflow", help="the daemon; needed for the daemon path")
    ap.add_argument("--conn-load", required=True)
    ap.add_argument("--src", required=True, help="the source tree (to see if TCP is in)")
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--idle", type=int, default=10000)
    ap.add_argument("--paths", default="kernel,daemon")
    ap.add_argument("--family", type=int, choices=(4, 6), default=4)
    args = ap.parse_args()
    if not 1 <= args.seconds <= 600:
        raise SystemExit("seconds: 1..600")
    if not 1 <= args.idle <= 19000:
        raise SystemExit("idle: 1..19000 (the open-files hard limit is 20000)")
    args.paths = [p for p in PATHS if p in args.paths.split(",")]
    if not args.paths:
        raise SystemExit("paths: kernel, daemon or both")
    if "daemon" in args.paths and not args.mintflow:
        raise SystemExit("the daemon path needs --mintflow")
    args.target = ADDR[args.family][1]
    args.n_runs = 0

    # SIGTERM and SIGHUP unwind like Ctrl-C, through the finally below.
    def as_interrupt(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, as_interrupt)
    signal.signal(signal.SIGHUP, as_interrupt)

    root_before = root_snapshot()
    procs = Procs(args.out)
    results, skipped = {}, {}
    status = 0
    try:
        log(f"load average at start: {loadavg()} ({os.cpu_count()} CPUs); runs of "
            f"{args.seconds} s; {args.idle} idle connections; paths {','.join(args.paths)}; "
            f"IPv{args.family} to {args.target}; files in {args.out}")
        with open(os.path.join(args.src, "src/daemon/daemon.c")) as f:
            if NO_TCP_MARK in f.read():
                skipped["daemon"] = NO_TCP
        make_namespaces()
        start_servers(args, procs)
        for i, (label, extra) in enumerate(THROUGHPUT_TESTS):
            run_both(args, procs, label,
                     lambda p, e=extra, i=i: measure_throughput(args, p, e,
                                                                f"iperf3-{i}-{p.name}"),
                     results, skipped)
        run_both(args, procs, "connections/s", lambda p: measure_rate(args, p), results,
                 skipped)
        run_both(args, procs, "idle", lambda p: measure_idle(args, procs, p), results,
                 skipped)
        ratios = report(args, results, skipped)
        log(f"\nload average at end: {loadavg()}")
        with open(os.path.join(args.out, "results.json"), "w") as f:
            json.dump({"seconds": args.seconds, "idle": args.idle, "paths": args.paths,
                       "family": args.family, "results": results, "ratios": ratios,
                       "skipped": skipped,
                       "goals": {"throughput_ratio": GOAL_THROUGHPUT,
                                 "idle_bytes_per_session": GOAL_IDLE_BYTES}},
                      f, indent=1)
    except BenchError as err:
        log(f"error: {err}")
        status = 1
    except KeyboardInterrupt:
        log("interrupted")
        status = 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # let cleanup finish
        procs.stop_all()
        delete_namespaces()
    root_after = root_snapshot()
    if root_after != root_before:
        log("error: the root namespace's rules or routes changed during the run:\n"
            f"--- before\n{root_before}\n--- after\n{root_after}")
        return 1
    log("root namespace: rules and routes unchanged")
    return status


if __name__ == "__main__":
    sys.exit(main())
