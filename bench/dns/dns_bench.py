#!/usr/bin/python3
"""Our DNS server against dnsmasq, both holding the same block list of a
million names, measured by dnsperf in one run:

         mfbd-cli                                            mfbd-up
  +-------------------------------------------+  veth   +------------------------+
  | dnsperf, dns_probe.py                     |         | dnsmasq (upstream,     |
  |   |-> 172.19.0.2:53 via mfbd0 (TUN)       |         |   Direct DNS of both)  |
  |   |     mintflow: app_routing, list set   |         |   *.bench.test ->      |
  |   |     to `block` (reject, block: answer)|         |     198.18.5.5 TTL 3600|
  |   |     forwards through `direct` --------+--+   +--+ 198.18.0.2:53          |
  |   |-> 127.0.0.1:53                        |  |   |  |                        |
  |         dnsmasq under test: addn-hosts =  |  |   |  |                        |
  |         the list, server=198.18.0.2 ------+--+   |  |                        |
  | mfbd-c 198.18.0.1/30 ---------------------+------+--+ mfbd-u 198.18.0.2/30   |
  +-------------------------------------------+         +------------------------+

Fairness, as chosen:
  * Both servers hold one and the same hosts-format file ("0.0.0.0 NAME"
    lines): dnsmasq as addn-hosts, the way Pi-hole fed its dnsmasq fork the
    gravity list up to Pi-hole v4 (v5 reads it from SQLite inside FTL);
    ours as a domain set from `files:` (hosts lines are exact names there
    too). Both answer a listed name with 0.0.0.0 without asking upstream.
  * dnsmasq listens on 127.0.0.1 of the same namespace as dnsperf: the
    cheapest path a local server can have (loopback, one socket). Ours is
    reached the way the product is, dnsperf -> kernel -> TUN -> daemon ->
    TUN -> kernel. Any advantage of path is dnsmasq's.
  * Cache: 4096 entries each (our default; dnsmasq --cache-size=4096;
    Pi-hole ships 10000). dnsmasq keeps hosts entries outside that limit,
    we keep the list outside the cache too.
  * No query logging on either side beyond what ours always does (a
    512-entry ring in memory); Pi-hole logs every query, which we leave
    out so dnsmasq runs at its best.
  * Both are single-threaded; both run side by side with the list loaded,
    and the measurements alternate ours / dnsmasq so that load from other
    jobs on the machine hits both alike.

Measurements:
  load    from the start of the process until dns_probe.py, asking all
          the while, gets 0.0.0.0 for a listed name (both servers started
          one after the other, nothing else running); the same for a start
          without the list (first forwarded answer) as a baseline.
  memory  VmRSS (and VmHWM: the peak while loading) one second after the
          first answer, and again after all runs; VmRSS of a start without
          the list as a baseline.
  cached  dnsperf over BENCH_CACHED names under bench.test, each asked
          twice just before (warm) so both answer them from their caches.
  blocked dnsperf over names drawn at random from the list.
  cold    (BENCH_COLD=1) dnsperf over names never asked before: each one
          forwarded upstream; bounded by the upstream dnsmasq too. Runs
          last, since its answers push the warm names out of the caches.
  For each: queries per second, average latency, lost queries, the
  server's CPU (utime + stime of /proc/PID/stat) per query and in % of one
  CPU, dnsperf's CPU. With --perf, a `perf record -g` of our daemon during
  extra cached and blocked runs of each server, and of dnsmasq's cold
  run (not the measured ones).

Called by run.sh, which installs what this needs, builds the daemon and
removes the namespaces again even when this script is killed (the pids it
starts are listed in OUT/pids for that). Checks at the end that the root
namespace's rules and routes are as they were at the start; exits 1 if not.
"""

import argparse
import json
import os
import random
import re
import resource
import select
import shlex
import shutil
import signal
import subprocess
import sys
import time

NS_CLI, NS_UP = "mfbd-cli", "mfbd-up"
VETH_CLI, VETH_UP = "mfbd-c", "mfbd-u"
CLI_ADDR, UP_ADDR = "198.18.0.1", "198.18.0.2"  # RFC 2544 benchmarking range
TUN = "mfbd0"
OURS_ADDR = "172.19.0.2"  # the stack address of 172.19.0.1/30
DNSMASQ_ADDR = "127.0.0.1"
ANSWER_ADDR = "198.18.5.5"  # what the upstream answers for *.bench.test
ZONE = "bench.test"
CACHE_ENTRIES = 4096

GOAL_QPS = 2.0  # ours / dnsmasq, at least
GOAL_RSS = 0.5  # ours / dnsmasq, at most

SERVERS = ("ours", "dnsmasq")
TESTS = ("cached", "blocked", "cold")

CLK_TCK = os.sysconf("SC_CLK_TCK")

TLDS = ("com", "com", "com", "com", "net", "org", "io", "co.uk", "de", "cn", "ru", "info")
SUBS = ("www", "cdn", "api", "ads", "img", "static", "m", "app")
ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"


class BenchError(Exception):
    pass


def log(msg=""):
    print(msg, flush=True)


def run(argv, timeout=10.0, check=True):
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise BenchError(f"timed out after {timeout}s: {shlex.join(argv)}")
    if check and r.returncode != 0:
        raise BenchError(f"exit {r.returncode}: {shlex.join(argv)}\n{r.stdout}{r.stderr}")
    return r


def in_ns(ns, argv):
    return ["ip", "netns", "exec", ns] + list(argv)


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


# ------------------------------------------------------------ processes

class Procs:
    """The background processes of this run, stopped in reverse order. Each
    pid goes to OUT/pids with its comm, so that run.sh can stop what a
    SIGKILLed run left behind, and only that."""

    def __init__(self, out):
        self.out = out
        self.live = []

    def start(self, ns, argv, name, pipes=False):
        logf = open(os.path.join(self.out, f"{name}.log"), "ab")
        # `ip netns exec` execs the command: the pid is the program's own.
        p = subprocess.Popen(in_ns(ns, argv), stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE if pipes else logf,
                             stderr=logf if pipes else subprocess.STDOUT,
                             start_new_session=True)
        logf.close()
        p.bench_name = name
        self.live.append(p)
        with open(os.path.join(self.out, "pids"), "a") as f:
            f.write(f"{p.pid} {os.path.basename(argv[0])[:15]}\n")
        return p

    def stop(self, p, grace=10.0):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)
        if p.stdout:
            p.stdout.close()
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
    """One line of p's stdout within timeout seconds."""
    deadline = time.monotonic() + timeout
    buf = b""
    fd = p.stdout.fileno()
    while not buf.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0:
            raise BenchError(f"{what}: no line within {timeout}s")
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        chunk = os.read(fd, 1)  # one byte at a time: never past the line
        if not chunk:
            raise BenchError(f"{what}: exited without a line (exit {p.poll()})")
        buf += chunk
    return buf.decode().strip()


def proc_status(pid, key):
    """A `key: N kB` line of /proc/PID/status, in kB."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        raise BenchError(f"process {pid} is gone (see its log)")
    raise BenchError(f"/proc/{pid}/status has no {key}")


def cpu_seconds(pid):
    """utime + stime of the whole process, in seconds."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        raise BenchError(f"process {pid} is gone (see its log)")
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


# ------------------------------------------------------------ root namespace

def root_snapshot():
    """The root namespace's rules and routes as text; lifetimes of routes
    learnt from router advertisements are left out (they count down)."""
    parts = []
    for argv in (["ip", "rule"], ["ip", "-6", "rule"], ["ip", "route"], ["ip", "-6", "route"]):
        text = run(argv, check=False).stdout
        parts.append(f"$ {' '.join(argv)}\n" + re.sub(r" expires \S+", "", text))
    return "\n".join(parts)


# ------------------------------------------------------------ names

def rand_label(rng, lo, hi):
    n = rng.randint(lo, hi)
    return rng.choice(ALNUM[:26]) + "".join(rng.choices(ALNUM, k=n - 1))


def list_name(rng):
    """A name shaped like those of real block lists: a random second-level
    label under a common top-level domain, a quarter with a subdomain."""
    name = f"{rand_label(rng, 4, 14)}.{rng.choice(TLDS)}"
    if rng.randrange(4) == 0:
        sub = rng.choice(SUBS) if rng.randrange(2) else rand_label(rng, 2, 10)
        name = f"{sub}.{name}"
    return name


def make_names(args):
    """The block list (hosts format), and dnsperf's query files: cached
    (names under the upstream's zone), blocked (drawn from the list) and
    cold (fresh names under the zone, each asked once)."""
    rng = random.Random(20250611)
    t = time.monotonic()
    names, seen = [], set()
    while len(names) < args.names:
        n = list_name(rng)
        if n not in seen and not n.endswith(ZONE):
            seen.add(n)
            names.append(n)
    seen = None
    files = {k: os.path.join(args.out, f"{k}.txt")
             for k in ("blocklist", "cached", "blocked", "cold")}
    with open(files["blocklist"], "w") as f:
        f.write(f"# {args.names} synthetic names, hosts format (0.0.0.0 NAME)\n")
        f.writelines(f"0.0.0.0 {n}\n" for n in names)
    with open(files["blocked"], "w") as f:
        f.writelines(f"{rng.choice(names)} A\n" for _ in range(args.blocked_queries))
    probe_name = names[-1]  # the last line: the whole file has been read
    with open(files["cached"], "w") as f:
        f.writelines(f"{rand_label(rng, 4, 12)}{i}.{ZONE} A\n" for i in range(args.cached))
    with open(files["cold"], "w") as f:
        f.writelines(f"c{i}-{rand_label(rng, 3, 8)}.cold.{ZONE} A\n"
                     for i in range(args.cold_queries))
    log(f"names: {args.names} in the list, {args.cached} cached, "
        f"{args.blocked_queries} blocked queries, {args.cold_queries} cold ones "
        f"({time.monotonic() - t:.1f} s; list {os.path.getsize(files['blocklist']) >> 20} MiB)")
    return files, probe_name


# ------------------------------------------------------------ namespaces

def delete_namespaces():
    have = run(["ip", "netns", "list"], check=False).stdout.split()
    for ns in (NS_CLI, NS_UP):
        if ns in have:
            run(["ip", "netns", "del", ns], check=False)
        # The resolv.conf that `ip netns exec` mounts over /etc/resolv.conf:
        # the daemon may rewrite it, and the machine's own must stay as is.
        shutil.rmtree(f"/etc/netns/{ns}", ignore_errors=True)


def make_namespaces():
    delete_namespaces()  # what a SIGKILLed run may have left
    for ns in (NS_CLI, NS_UP):
        os.makedirs(f"/etc/netns/{ns}", exist_ok=True)
        with open(f"/etc/netns/{ns}/resolv.conf", "w") as f:
            f.write("nameserver 127.0.0.1\n")
        run(["ip", "netns", "add", ns])
        run(in_ns(ns, ["ip", "link", "set", "lo", "up"]))
    # Made inside the client namespace, its peer moved out: never in root.
    run(in_ns(NS_CLI, ["ip", "link", "add", VETH_CLI, "type", "veth", "peer", "name",
                       VETH_UP, "netns", NS_UP]))
    run(in_ns(NS_CLI, ["ip", "addr", "add", f"{CLI_ADDR}/30", "dev", VETH_CLI]))
    run(in_ns(NS_UP, ["ip", "addr", "add", f"{UP_ADDR}/30", "dev", VETH_UP]))
    run(in_ns(NS_CLI, ["ip", "link", "set", VETH_CLI, "up"]))
    run(in_ns(NS_UP, ["ip", "link", "set", VETH_UP, "up"]))


# ------------------------------------------------------------ servers

def dnsmasq_argv(out, name, extra):
    return ["dnsmasq", "-k", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
            "--user=root", "--bind-interfaces", "--port=53",
            f"--pid-file={out}/{name}.pid"] + extra


def start_upstream(args, procs):
    p = procs.start(NS_UP, dnsmasq_argv(args.out, "upstream", [
        f"--listen-address={UP_ADDR}", f"--address=/{ZONE}/{ANSWER_ADDR}",
        "--local-ttl=3600", "--cache-size=0", "--dns-forward-max=1000"]), "upstream")
    t = probe_answer(args, procs, NS_UP, UP_ADDR, f"probe.{ZONE}", ANSWER_ADDR, 10, "upstream")
    log(f"upstream dnsmasq answers ({t:.2f} s)")
    return p


def probe_answer(args, procs, ns, server, name, expect, timeout, what, start=None):
    """Starts dns_probe.py in ns, then start() (which starts a server and
    returns its process) once the probe is asking; returns the seconds
    from just before start() until the probe's first good answer."""
    probe = procs.start(ns, [sys.executable, args.probe, server, "53", name, expect,
                             str(timeout)], f"probe-{what}", pipes=True)
    try:
        if read_line(probe, 30, f"probe for {what}") != "ready":
            raise BenchError(f"probe for {what}: unexpected output")
        t0 = time.monotonic()
        server_proc = start() if start else None
        line = read_line(probe, timeout + 30, f"probe for {what}")
        if not line.startswith("answered "):
            if server_proc is not None and server_proc.poll() is not None:
                raise BenchError(f"{what} exited with {server_proc.returncode}; see "
                                 f"{args.out}/{server_proc.bench_name}.log")
            raise BenchError(f"{what}: no answer for {name} within {timeout} s")
        return float(line.split()[1]) - t0
    finally:
        procs.stop(probe)


class Server:
    """One server under test: its process, address and how to start it."""

    def __init__(self, kind, args, procs, files, with_list):
        self.kind, self.args, self.procs = kind, args, procs
        self.files, self.with_list = files, with_list
        self.addr = OURS_ADDR if kind == "ours" else DNSMASQ_ADDR
        self.tag = f"{kind}-{'list' if with_list else 'empty'}"
        self.proc = None

    def ours_profile(self):
        path = os.path.join(self.args.out, f"{self.tag}.yaml")
        sets, set_routes = "", ""
        if self.with_list:
            sets = f"domain_sets:\n  blocklist: {{ files: [\"{self.files['blocklist']}\"] }}\n"
            set_routes = "  - { domain_set: blocklist, to: block }\n"
        with open(path, "w") as f:
            f.write(f"""tun:
  name: {TUN}
  addresses: [172.19.0.1/30]
  auto_route: false
interfaces:
  - {{ name: out, type: direct }}
  - {{ name: block, type: reject }}
app_routing: true
{sets}dns:
  direct: ["{UP_ADDR}"]
  block: answer
routes:
{set_routes}  - {{ dns_fallback: true, to: out }}
  - {{ cidr: 0.0.0.0/0, to: out }}
""")
        run([self.args.mintflow, "check", "-c", path], timeout=120)
        return path

    def argv(self):
        if self.kind == "ours":
            self.sock = os.path.join(self.args.out, f"{self.tag}.sock")
            run_dir = os.path.join(self.args.out, f"{self.tag}-run")
            os.makedirs(run_dir, exist_ok=True)
            return [self.args.mintflow, "run", "-c", self.ours_profile(), "-s", self.sock,
                    "--run-dir", run_dir]
        extra = [f"--listen-address={DNSMASQ_ADDR}", f"--server={UP_ADDR}",
                 f"--cache-size={CACHE_ENTRIES}", f"--log-facility={self.args.out}/"
                 f"{self.tag}-syslog.log"]
        if self.with_list:
            extra.append(f"--addn-hosts={self.files['blocklist']}")
        return dnsmasq_argv(self.args.out, self.tag, extra)

    def start(self):
        """Starts the server and returns its load time: until it answers a
        listed name with 0.0.0.0 (with the list) or forwards a first query
        (without)."""
        argv = self.argv()  # profile written and checked before the clock

        def launch():
            self.proc = self.procs.start(NS_CLI, argv, self.tag)
            return self.proc
        if self.with_list:
            name, expect = self.args.probe_name, "0.0.0.0"
        else:
            name, expect = f"first.{ZONE}", ANSWER_ADDR
        return probe_answer(self.args, self.procs, NS_CLI, self.addr, name, expect,
                            self.args.load_timeout, self.tag, start=launch)

    @property
    def pid(self):
        return self.proc.pid

    def cli(self, *words):
        if self.kind != "ours" or not self.proc:
            return ""
        r = run(in_ns(NS_CLI, [self.args.mintflow] + list(words) + ["-s", self.sock]),
                check=False, timeout=20)
        return f"$ mintflow {' '.join(words)}\n{r.stdout}{r.stderr}"

    def tun_drops(self):
        """Packets the kernel could not queue to the TUN (the daemon did
        not read fast enough)."""
        if self.kind != "ours":
            return None
        r = run(in_ns(NS_CLI, ["ip", "-s", "-j", "link", "show", TUN]), check=False)
        try:
            return json.loads(r.stdout)[0]["stats64"]["tx"]["dropped"]
        except (ValueError, LookupError, TypeError):
            return None

    def stop(self):
        if self.proc:
            rc = self.procs.stop(self.proc)
            if rc not in (0, None, -signal.SIGTERM):
                log(f"  warning: {self.tag} exited with {rc}")
            self.proc = None


# ------------------------------------------------------------ dnsperf

DNSPERF_FIELDS = {
    "sent": r"Queries sent:\s+(\d+)",
    "completed": r"Queries completed:\s+(\d+)",
    "lost": r"Queries lost:\s+(\d+)",
    "run_time_s": r"Run time \(s\):\s+([\d.]+)",
    "qps": r"Queries per second:\s+([\d.]+)",
    "latency_avg_s": r"Average Latency \(s\):\s+([\d.]+)",
    "latency_min_s": r"Average Latency \(s\):\s+[\d.]+ \(min ([\d.]+)",
    "latency_max_s": r"Average Latency \(s\):.*max ([\d.]+)\)",
    "latency_sd_s": r"Latency StdDev \(s\):\s+([\d.]+)",
}


def dnsperf(args, server, qfile, seconds, once=False, slug=None):
    """One dnsperf run against server; its figures, with the server's CPU
    and dnsperf's own."""
    argv = ["dnsperf", "-s", server.addr, "-d", qfile, "-l", str(seconds),
            "-q", str(args.outstanding), "-c", str(args.clients), "-t", "2"]
    if once:
        argv += ["-n", "1"]
    server.cli("clear", "runtime")
    before = cpu_seconds(server.pid)
    kids = children_cpu()
    r = run(in_ns(NS_CLI, argv), timeout=seconds + 60, check=False)
    cpu = cpu_seconds(server.pid) - before
    if slug:
        with open(os.path.join(args.out, f"dnsperf-{slug}.txt"), "w") as f:
            f.write(f"$ {shlex.join(argv)}\n{r.stdout}{r.stderr}\n"
                    f"{server.cli('show', 'runtime')}")
    res = {}
    for k, pat in DNSPERF_FIELDS.items():
        m = re.search(pat, r.stdout)
        if m:
            res[k] = float(m.group(1))
    if "qps" not in res:
        raise BenchError(f"dnsperf gave no figures (exit {r.returncode}): "
                         f"{(r.stdout + r.stderr)[-600:]}")
    m = re.search(r"Response codes:\s+(.*)", r.stdout)
    res["rcodes"] = m.group(1).strip() if m else ""
    res["server_cpu_s"] = cpu
    res["server_cpu_pct"] = 100 * cpu / res["run_time_s"] if res.get("run_time_s") else None
    res["server_cpu_us_per_query"] = 1e6 * cpu / res["completed"] if res.get("completed") else None
    # Answers per second of the server's own CPU time: what it would do
    # with a CPU to itself, as far as its cost per query stays the same.
    res["per_cpu_second"] = res["completed"] / cpu if cpu > 0 else None
    res["dnsperf_cpu_s"] = children_cpu() - kids
    res["tun_tx_dropped"] = server.tun_drops()
    return res


def dnsperf_version():
    r = run(["dnsperf", "-h"], check=False)
    m = re.search(r"Version (\S+)", r.stdout + r.stderr)
    return m.group(1) if m else "?"


def summary(res):
    return (f"{res['qps']:.0f} q/s, latency {1e3 * res['latency_avg_s']:.3f} ms avg, "
            f"lost {int(res['lost'])} of {int(res['sent'])}, server CPU "
            f"{res['server_cpu_pct']:.0f}% = {fmt(res['server_cpu_us_per_query'], '.1f')} us/q, "
            f"dnsperf CPU {res['dnsperf_cpu_s']:.1f} s; {res['rcodes']}")


def fmt(x, spec=".2f"):
    return "-" if x is None else format(x, spec)


# ------------------------------------------------------------ perf

def perf_profile(args, server, qfile, label, once=False):
    """perf record -g of the daemon during one extra dnsperf run; the top
    of the flat profile (self time) goes to the output and a file."""
    data = os.path.join(args.out, f"perf-{label}.data")
    rec = subprocess.Popen(["perf", "record", "-q", "-g", "-F", "999", "-p", str(server.pid),
                            "-o", data, "--", "sleep", str(args.seconds)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(0.3)  # attached before the load starts
    try:
        res = dnsperf(args, server, qfile, args.seconds, once=once, slug=f"perf-{label}")
    finally:
        try:
            rec.wait(timeout=args.seconds + 30)
        except subprocess.TimeoutExpired:
            rec.kill()
            rec.wait(timeout=5)
    text = []
    for sort in ("dso", "symbol"):
        r = run(["perf", "report", "-i", data, "--stdio", "--no-children", "--sort", sort,
                 "--percent-limit", "0.7", "-g", "none"], timeout=120, check=False)
        text.append(f"== perf report --sort {sort}\n{r.stdout}")
    r = run(["perf", "report", "-i", data, "--stdio", "--no-children", "--sort", "symbol",
             "--percent-limit", "3", "-g", "caller,0.5,callee,function,percent"],
            timeout=120, check=False)
    text.append(f"== with callers\n{r.stdout}")
    with open(os.path.join(args.out, f"perf-{label}.txt"), "w") as f:
        f.write("\n".join(text))
    rows = [ln for ln in text[0].splitlines() + text[1].splitlines()
            if re.match(r"^\s+\d+\.\d+%", ln)]
    return {"dnsperf": res, "top": rows[:30]}


# ------------------------------------------------------------ the run

def measure_memory(server):
    return {"rss_kb": proc_status(server.pid, "VmRSS"),
            "hwm_kb": proc_status(server.pid, "VmHWM")}


def baselines(args, procs, files, results):
    """Each server started without the list: load time and memory."""
    for kind in SERVERS:
        s = Server(kind, args, procs, files, with_list=False)
        try:
            load = s.start()
            time.sleep(1)
            results["empty"][kind] = dict(load_s=load, **measure_memory(s))
        finally:
            s.stop()
        e = results["empty"][kind]
        log(f"  {kind} without the list: answers after {e['load_s']:.2f} s, "
            f"VmRSS {e['rss_kb'] / 1024:.1f} MiB")


def warm(args, server, files):
    """Every cached name asked once, twice over: in the cache for sure."""
    for _ in range(2):
        dnsperf(args, server, files["cached"], 60, once=True)


def measure(args, servers, files, test, rep, results):
    """One run of test on each server, ours first."""
    for kind, s in servers.items():
        if test == "cached":
            warm(args, s, files)
        log(f"  {test} [{kind}] (load {loadavg()})")
        res = dnsperf(args, s, files[test], args.seconds, once=(test == "cold"),
                      slug=f"{test}-{kind}-{rep}")
        res["load_avg"] = loadavg()
        results["runs"][test][kind].append(res)
        log(f"    {summary(res)}")
        time.sleep(1)


def profile(args, server, files, test, results):
    log(f"  perf: {test} [{server.kind}]")
    p = perf_profile(args, server, files[test], f"{server.kind}-{test}",
                     once=(test == "cold"))
    results["perf"][f"{test}-{server.kind}"] = p
    log(f"    (under perf: {p['dnsperf']['qps']:.0f} q/s, "
        f"{fmt(p['dnsperf']['server_cpu_us_per_query'], '.1f')} us/q)")
    for ln in p["top"][:12]:
        log(f"    {ln.strip()}")


def run_all(args, procs, files, results):
    baselines(args, procs, files, results)
    servers = {k: Server(k, args, procs, files, with_list=True) for k in SERVERS}
    for kind, s in servers.items():
        log(f"  starting {kind} with {args.names} names (load {loadavg()})")
        load = s.start()
        time.sleep(1)  # what the load left to free is freed
        results["loaded"][kind] = dict(load_s=load, **measure_memory(s))
        m = results["loaded"][kind]
        log(f"    answers after {load:.2f} s; VmRSS {m['rss_kb'] / 1024:.1f} MiB, "
            f"VmHWM {m['hwm_kb'] / 1024:.1f} MiB")
    # Cold names go last: each one takes a cache entry, and 4096 of them
    # push the warm names out of both caches (LRU).
    for rep in range(args.repeat):
        for test in ("cached", "blocked"):
            measure(args, servers, files, test, rep, results)
    if args.perf:
        for test in ("cached", "blocked"):
            for kind in SERVERS:
                if test == "cached":
                    warm(args, servers[kind], files)
                profile(args, servers[kind], files, test, results)
    if args.cold:
        for rep in range(args.repeat):
            measure(args, servers, files, "cold", rep, results)
        if args.perf:
            profile(args, servers["dnsmasq"], files, "cold", results)
    for kind, s in servers.items():
        results["after"][kind] = measure_memory(s)
    with open(os.path.join(args.out, "ours-show.txt"), "w") as f:
        for words in (("show", "dns"), ("show", "errors"), ("show", "runtime")):
            f.write(servers["ours"].cli(*words) + "\n")
    for s in servers.values():
        s.stop()


def median_run(results, test, kind):
    """The median run's figures (the middle one by queries per second)."""
    runs = sorted(results["runs"][test][kind], key=lambda r: r["qps"])
    return runs[len(runs) // 2] if runs else None


def ratio(a, b):
    return a / b if a is not None and b else None


def report(args, results):
    log(f"\n== Results ({args.names} names in the list; dnsperf -l {args.seconds} "
        f"-q {args.outstanding} -c {args.clients}; median of {args.repeat})")
    head = (f"{'':<22} {'ours':>12} {'dnsmasq':>12} {'ours/dnsmasq':>13} {'goal':>9}")
    log(head)
    log("-" * len(head))
    ratios = {}
    for test in TESTS:
        o, d = median_run(results, test, "ours"), median_run(results, test, "dnsmasq")
        if not o or not d:
            continue
        r = ratio(o["qps"], d["qps"])
        ratios[f"{test}_qps"] = r
        goal = ""
        if test != "cold":
            goal = "met" if r >= GOAL_QPS else "not met"
        log(f"{test + ' q/s':<22} {o['qps']:>12.0f} {d['qps']:>12.0f} {fmt(r):>13} "
            f"{goal:>9}")
        log(f"{'  latency avg ms':<22} {1e3 * o['latency_avg_s']:>12.3f} "
            f"{1e3 * d['latency_avg_s']:>12.3f} "
            f"{fmt(ratio(o['latency_avg_s'], d['latency_avg_s'])):>13}")
        log(f"{'  lost':<22} {int(o['lost']):>12} {int(d['lost']):>12}")
        log(f"{'  server CPU us/query':<22} {fmt(o['server_cpu_us_per_query'], '.1f'):>12} "
            f"{fmt(d['server_cpu_us_per_query'], '.1f'):>12} "
            f"{fmt(ratio(o['server_cpu_us_per_query'], d['server_cpu_us_per_query'])):>13}")
        log(f"{'  server CPU %':<22} {o['server_cpu_pct']:>12.0f} {d['server_cpu_pct']:>12.0f}")
        r = ratio(o["per_cpu_second"], d["per_cpu_second"])
        ratios[f"{test}_per_cpu_second"] = r
        log(f"{'  q per CPU second':<22} {fmt(o['per_cpu_second'], '.0f'):>12} "
            f"{fmt(d['per_cpu_second'], '.0f'):>12} {fmt(r):>13}")
    lo, ld = results["loaded"]["ours"], results["loaded"]["dnsmasq"]
    ao, ad = results["after"].get("ours"), results["after"].get("dnsmasq")
    eo, ed = results["empty"]["ours"], results["empty"]["dnsmasq"]
    r = ratio(lo["rss_kb"], ld["rss_kb"])
    ratios["rss_loaded"] = r
    log(f"{'VmRSS loaded MiB':<22} {lo['rss_kb'] / 1024:>12.1f} {ld['rss_kb'] / 1024:>12.1f} "
        f"{fmt(r):>13} {'met' if r <= GOAL_RSS else 'not met':>9}")
    if ao and ad:
        r = ratio(ao["rss_kb"], ad["rss_kb"])
        ratios["rss_after"] = r
        log(f"{'VmRSS after runs MiB':<22} {ao['rss_kb'] / 1024:>12.1f} "
            f"{ad['rss_kb'] / 1024:>12.1f} {fmt(r):>13} "
            f"{'met' if r <= GOAL_RSS else 'not met':>9}")
    r = ratio(lo["hwm_kb"], ld["hwm_kb"])
    ratios["hwm_loaded"] = r
    log(f"{'VmHWM (load peak) MiB':<22} {lo['hwm_kb'] / 1024:>12.1f} "
        f"{ld['hwm_kb'] / 1024:>12.1f} {fmt(r):>13}")
    go, gd = lo["rss_kb"] - eo["rss_kb"], ld["rss_kb"] - ed["rss_kb"]
    ratios["rss_list_growth"] = ratio(go, gd)
    log(f"{'list cost MiB':<22} {go / 1024:>12.1f} {gd / 1024:>12.1f} "
        f"{fmt(ratio(go, gd)):>13}   (VmRSS loaded - VmRSS without the list)")
    log(f"{'  bytes per name':<22} {go * 1024 / args.names:>12.1f} "
        f"{gd * 1024 / args.names:>12.1f}")
    r = ratio(lo["load_s"], ld["load_s"])
    ratios["load_s"] = r
    log(f"{'load s':<22} {lo['load_s']:>12.2f} {ld['load_s']:>12.2f} {fmt(r):>13}")
    log(f"{'  without the list':<22} {eo['load_s']:>12.2f} {ed['load_s']:>12.2f}")
    log(f"\nGoal: at least {GOAL_QPS:.0f}x dnsmasq's queries per second (cached and "
        f"blocked) at no more than {GOAL_RSS} of its VmRSS with the list loaded.")
    return ratios


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--mintflow", required=True)
    ap.add_argument("--probe", required=True, help="dns_probe.py")
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--names", type=int, default=1000000)
    ap.add_argument("--cached", type=int, default=1000)
    ap.add_argument("--blocked-queries", type=int, default=100000)
    ap.add_argument("--cold-queries", type=int, default=500000)
    ap.add_argument("--outstanding", type=int, default=100)
    ap.add_argument("--clients", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--cold", type=int, choices=(0, 1), default=1)
    ap.add_argument("--perf", type=int, choices=(0, 1), default=0)
    ap.add_argument("--load-timeout", type=int, default=300)
    ap.add_argument("--keep-lists", type=int, choices=(0, 1), default=0)
    args = ap.parse_args()
    if not 1 <= args.seconds <= 300:
        raise SystemExit("seconds: 1..300")
    if not 1 <= args.names <= 4000000:
        raise SystemExit("names: 1..4000000 (the daemon holds at most 4Mi names)")
    if not 1 <= args.cached <= CACHE_ENTRIES // 2:
        raise SystemExit(f"cached: 1..{CACHE_ENTRIES // 2} (they must all fit the caches)")
    if not 1 <= args.repeat <= 10 or not 1 <= args.outstanding <= 1000 or \
            not 1 <= args.clients <= 64:
        raise SystemExit("repeat 1..10, outstanding 1..1000, clients 1..64")
    if not 1 <= args.blocked_queries <= 10000000 or not 1 <= args.cold_queries <= 10000000:
        raise SystemExit("blocked and cold queries: 1..10000000")

    def as_interrupt(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, as_interrupt)
    signal.signal(signal.SIGHUP, as_interrupt)

    root_before = root_snapshot()
    procs = Procs(args.out)
    results = {"empty": {}, "loaded": {}, "after": {}, "perf": {},
               "runs": {t: {k: [] for k in SERVERS} for t in TESTS}}
    status = 0
    try:
        log(f"load average at start: {loadavg()} ({os.cpu_count()} CPUs); "
            f"{run(['dnsmasq', '--version']).stdout.splitlines()[0]}; "
            f"dnsperf {dnsperf_version()}; "
            f"files in {args.out}")
        files, args.probe_name = make_names(args)
        make_namespaces()
        start_upstream(args, procs)
        run_all(args, procs, files, results)
        ratios = report(args, results)
        log(f"\nload average at end: {loadavg()}")
        with open(os.path.join(args.out, "results.json"), "w") as f:
            json.dump({"config": {k: v for k, v in vars(args).items()},
                       "results": results, "ratios": ratios,
                       "goals": {"qps_ratio_at_least": GOAL_QPS,
                                 "rss_ratio_at_most": GOAL_RSS}}, f, indent=1)
    except BenchError as err:
        log(f"error: {err}")
        status = 1
    except KeyboardInterrupt:
        log("interrupted")
        status = 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # let the cleanup finish
        procs.stop_all()
        delete_namespaces()
        for k in ("blocklist", "cold"):  # the big ones; the rest is small
            path = os.path.join(args.out, f"{k}.txt")
            if os.path.exists(path) and not args.keep_lists:
                os.unlink(path)
    root_after = root_snapshot()
    if root_after != root_before:
        log("error: the root namespace's rules or routes changed during the run:\n"
            f"--- before\n{root_before}\n--- after\n{root_after}")
        return 1
    log("root namespace: rules and routes unchanged")
    return status


if __name__ == "__main__":
    sys.exit(main())
