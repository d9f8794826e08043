#!/usr/bin/python3
"""WireGuard tunnels between two network namespaces, measured back to back
in one run on the same veth: mintflow on both ends, wireguard-go on both
ends, and mintflow (A) against wireguard-go (B).

For each pair, iperf3 TCP with 1 and 4 streams, A->B and B->A (-R):
throughput on the receiving side, the sender's retransmits, and the CPU
seconds the two tunnel processes spent per GB moved (utime + stime of
/proc/PID/stat around the iperf3 run: all of a process's threads). Then
the cipher alone: encrypt_bench against `openssl speed` for
chacha20-poly1305 at 1420 bytes.

Called by run.sh, which builds what this needs and removes the namespaces
again even when this script is killed (it lists the pids it starts in
OUT/pids for that)."""

import argparse
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time

NS_A, NS_B = "mfbench-a", "mfbench-b"
VETH_A, VETH_B = "mfbv-a", "mfbv-b"
UNDER_A, UNDER_B = "10.99.0.1", "10.99.0.2"      # the veth: outer packets
INNER_A, INNER_B = "10.100.0.1", "10.100.0.2"    # inside the tunnel
WG_PORT = 51820
# wireguard-go's MTU, and the daemon's default wg mtu: a TUN packet larger
# than the wg mtu is dropped (wg-output too-big), so the TUN must not be
# larger for TCP to flow at full size.
TUN_MTU = int(os.environ.get("BENCH_TUN_MTU", "1420"))
WG_SOCK_DIR = "/var/run/wireguard"

TESTS = (  # (label, iperf3 arguments)
    ("1 stream A->B", []),
    ("1 stream B->A", ["-R"]),
    ("4 streams A->B", ["-P", "4"]),
    ("4 streams B->A", ["-P", "4", "-R"]),
)
PAIRS = (  # (label, A's kind, B's kind, short name for BENCH_PAIRS)
    ("mintflow<->mintflow", "mintflow", "mintflow", "mf"),
    ("wg-go<->wg-go", "wg-go", "wg-go", "wg"),
    ("mintflow<->wg-go", "mintflow", "wg-go", "mixed"),
)
GOAL_THROUGHPUT, GOAL_CPU = 3.0, 0.5  # the issue: >= 3x speed, <= 1/2 CPU/GB

CLK_TCK = os.sysconf("SC_CLK_TCK")


class BenchError(Exception):
    pass


def log(msg):
    print(msg, flush=True)


def run(argv, timeout=10.0, check=True, env=None, input=None):
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                           env=env, input=input)
    except subprocess.TimeoutExpired:
        raise BenchError(f"timed out after {timeout}s: {shlex.join(argv)}")
    if check and r.returncode != 0:
        raise BenchError(f"exit {r.returncode}: {shlex.join(argv)}\n{r.stdout}{r.stderr}")
    return r


def in_ns(ns, argv):
    return ["ip", "netns", "exec", ns] + list(argv)


class Procs:
    """Every background process this run starts, stopped in reverse order.
    Each pid is also written to OUT/pids with its comm, so that run.sh can
    stop what a SIGKILLed run left behind, and only that."""

    def __init__(self, out):
        self.out = out
        self.live = []

    def start(self, ns, argv, name, env=None):
        logf = open(os.path.join(self.out, f"{name}.log"), "wb")
        # `ip netns exec` execs the command: the pid is the program's own.
        p = subprocess.Popen(in_ns(ns, argv), stdin=subprocess.DEVNULL, stdout=logf,
                             stderr=subprocess.STDOUT, env=env,
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
        if p in self.live:
            self.live.remove(p)
        return p.returncode

    def stop_all(self):
        for p in reversed(list(self.live)):
            try:
                self.stop(p)
            except Exception as e:  # keep stopping the others
                log(f"warning: stopping {p.bench_name}: {e}")


def cpu_seconds(pid):
    """utime + stime of the whole process (every thread), in seconds."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        raise BenchError(f"tunnel process {pid} is gone (see its log)")
    # fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def wait_until(fn, timeout, what, interval=0.1):
    deadline = time.monotonic() + timeout
    while True:
        if fn():
            return
        if time.monotonic() > deadline:
            raise BenchError(f"{what}: not within {timeout}s")
        time.sleep(interval)


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
    for ns in (NS_A, NS_B):
        if ns in have:
            run(["ip", "netns", "del", ns], check=False)
        shutil.rmtree(ns_etc(ns), ignore_errors=True)


def make_namespaces():
    delete_namespaces()  # what a SIGKILLed run may have left
    for ns in (NS_A, NS_B):
        make_ns_etc(ns)
        run(["ip", "netns", "add", ns])
        run(in_ns(ns, ["ip", "link", "set", "lo", "up"]))
    # Created inside A with its peer moved to B: never in the root namespace.
    run(in_ns(NS_A, ["ip", "link", "add", VETH_A, "type", "veth", "peer", "name",
                     VETH_B, "netns", NS_B]))
    for ns, dev, addr in ((NS_A, VETH_A, UNDER_A), (NS_B, VETH_B, UNDER_B)):
        run(in_ns(ns, ["ip", "addr", "add", f"{addr}/24", "dev", dev]))
        run(in_ns(ns, ["ip", "link", "set", dev, "up"]))


# ------------------------------------------------------------ the ends

class Keys:
    def __init__(self, out):
        self.priv_file, self.pub = {}, {}
        for side in "ab":
            priv = run(["wg", "genkey"]).stdout.strip()
            self.pub[side] = run(["wg", "pubkey"], input=priv + "\n").stdout.strip()
            path = os.path.join(out, f"{side}.key")
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(priv + "\n")
            self.priv_file[side] = path


def side_facts(side):
    """(namespace, own inner address, peer's underlay address, other side)"""
    if side == "a":
        return NS_A, INNER_A, UNDER_B, "b"
    return NS_B, INNER_B, UNDER_A, "a"


class MintflowEnd:
    kind = "mintflow"

    def __init__(self, side, args, keys, procs):
        self.side, self.args, self.keys, self.procs = side, args, keys, procs
        self.ns, self.inner, self.peer_under, self.other = side_facts(side)
        self.sock = os.path.join(args.out, f"mf-{side}.sock")
        self.run_dir = os.path.join(args.out, f"mf-{side}-run")
        self.profile = os.path.join(args.out, f"mf-{side}.yaml")
        # The wg(8) API socket, /var/run/wireguard/NAME.sock, is shared by
        # all namespaces: two daemons that both call their interface wg0
        # collide and the second exits. A name per side and per run (at
        # most 15 characters, as every Linux interface name).
        self.wg_name = f"mf{side}{os.getpid()}"[:15]
        self.proc = None

    def write_profile(self):
        # The peer's allowed IPs cover the whole inner /24: as the brief's
        # profile, and a wireguard-go peer answers from its /24 address.
        text = f"""tun:
  name: mfb{self.side}0
  mtu: {TUN_MTU}
  addresses: [172.19.0.1/30]
  auto_route: true
  exclude_lan: false
interfaces:
  - name: {self.wg_name}
    type: wireguard
    private_key_file: {self.keys.priv_file[self.side]}
    listen_port: {WG_PORT}
    address: [{self.inner}/32]
    peers:
      - public_key: "{self.keys.pub[self.other]}"
        allowed_ips: [10.100.0.0/24]
        endpoint: {self.peer_under}:{WG_PORT}
  - {{name: rej, type: reject}}
routes:
  - {{cidr: 0.0.0.0/0, to: rej}}
  - {{cidr: 10.100.0.0/24, to: {self.wg_name}}}
"""
        with open(self.profile, "w") as f:
            f.write(text)

    def cli(self, *words, check=True):
        return run(in_ns(self.ns, [self.args.mintflow] + list(words) + ["-s", self.sock]),
                   check=check, timeout=10)

    def start(self):
        self.write_profile()
        os.makedirs(self.run_dir, exist_ok=True)
        self.proc = self.procs.start(self.ns, [self.args.mintflow, "run", "-c", self.profile,
                                               "-s", self.sock, "--run-dir", self.run_dir],
                                     f"mintflow-{self.side}")

        def ready():
            if self.proc.poll() is not None:
                raise BenchError(f"mintflow ({self.side}) exited with {self.proc.returncode};"
                                 f" see {self.args.out}/mintflow-{self.side}.log")
            return self.cli("show", "version", check=False).returncode == 0
        wait_until(ready, 10, f"mintflow ({self.side}) ready")

    @property
    def pid(self):
        return self.proc.pid

    def diagnosis(self):
        """show errors and show runtime, as text."""
        parts = []
        for what in (("show", "errors"), ("show", "runtime"), ("show", "wireguard")):
            r = self.cli(*what, check=False)
            parts.append(f"$ mintflow {' '.join(what)}   [{self.side}, {self.ns}]\n"
                         f"{r.stdout}{r.stderr}")
        return "\n".join(parts)

    def stop(self):
        if self.proc:
            rc = self.procs.stop(self.proc)
            if rc not in (0, None):
                log(f"warning: mintflow ({self.side}) exited with {rc}")


class WgGoEnd:
    kind = "wg-go"

    def __init__(self, side, args, keys, procs):
        self.side, self.args, self.keys, self.procs = side, args, keys, procs
        self.ns, self.inner, self.peer_under, self.other = side_facts(side)
        # wg(8) finds it by /var/run/wireguard/IF.sock, shared by all
        # namespaces: each side needs a name of its own.
        self.ifname = f"mfbw{side}"
        self.proc = None

    def _clear_stale_socket(self):
        path = os.path.join(WG_SOCK_DIR, f"{self.ifname}.sock")
        if not os.path.exists(path):
            return
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
        except OSError:
            os.unlink(path)  # nobody listens: left by a killed run
            return
        finally:
            s.close()
        raise BenchError(f"{path} is in use: another wireguard-go has this name")

    def start(self):
        self._clear_stale_socket()
        env = dict(os.environ, WG_PROCESS_FOREGROUND="1")
        self.proc = self.procs.start(self.ns, ["wireguard-go", "-f", self.ifname],
                                     f"wireguard-go-{self.side}", env=env)
        sock = os.path.join(WG_SOCK_DIR, f"{self.ifname}.sock")

        def ready():
            if self.proc.poll() is not None:
                raise BenchError(f"wireguard-go ({self.side}) exited with "
                                 f"{self.proc.returncode}")
            return os.path.exists(sock)
        wait_until(ready, 10, f"wireguard-go ({self.side}) socket")
        other_inner = INNER_B if self.side == "a" else INNER_A
        run(in_ns(self.ns, ["wg", "set", self.ifname, "listen-port", str(WG_PORT),
                            "private-key", self.keys.priv_file[self.side],
                            "peer", self.keys.pub[self.other],
                            "allowed-ips", f"{other_inner}/32",
                            "endpoint", f"{self.peer_under}:{WG_PORT}"]))
        run(in_ns(self.ns, ["ip", "addr", "add", f"{self.inner}/24", "dev", self.ifname]))
        run(in_ns(self.ns, ["ip", "link", "set", self.ifname, "up"]))

    @property
    def pid(self):
        return self.proc.pid

    def diagnosis(self):
        r = run(in_ns(self.ns, ["wg", "show", self.ifname]), check=False)
        return f"$ wg show {self.ifname}   [{self.side}, {self.ns}]\n{r.stdout}{r.stderr}"

    def stop(self):
        if self.proc:
            self.procs.stop(self.proc)


def make_end(kind, side, args, keys, procs):
    return (MintflowEnd if kind == "mintflow" else WgGoEnd)(side, args, keys, procs)


# ------------------------------------------------------------ measuring

def tunnel_up():
    """Both directions answer a ping through the tunnel (the first one
    also triggers the handshake)."""
    for ns, dst in ((NS_A, INNER_B), (NS_B, INNER_A)):
        r = run(in_ns(ns, ["ping", "-c", "1", "-W", "1", dst]), check=False, timeout=5)
        if r.returncode != 0:
            return False
    return True


def iperf3_once(args, extra, json_path):
    secs = args.seconds
    argv = in_ns(NS_A, ["iperf3", "-c", INNER_B, "-t", str(secs), "-J",
                        "--connect-timeout", "5000"] + extra)
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


def save_diagnosis(ends, path):
    """The ends' own counters after the runs (also after a failure): into
    path, and printed when a mintflow end is among them."""
    try:
        diag = "\n".join(e.diagnosis() for e in ends if e.proc and e.proc.poll() is None)
    except BenchError as err:
        diag = f"diagnosis failed: {err}"
    with open(path, "w") as f:
        f.write(diag)
    if any(e.kind == "mintflow" for e in ends):
        log(diag)


def measure_pair(label, kind_a, kind_b, args, keys, procs):
    log(f"\n== {label}   (load average {loadavg()})")
    ends = [make_end(kind_a, "a", args, keys, procs), make_end(kind_b, "b", args, keys, procs)]
    server = None
    results = {}
    slug = label.replace("<->", "-")
    try:
        for e in ends:
            e.start()
        server = procs.start(NS_B, ["iperf3", "-s", "-B", "0.0.0.0"], f"iperf3-server-{slug}")
        wait_until(tunnel_up, 20, f"{label}: ping through the tunnel", interval=0.5)
        time.sleep(0.5)  # the server is surely listening by now
        for i, (test, extra) in enumerate(TESTS):
            before = [cpu_seconds(e.pid) for e in ends]
            try:
                res = iperf3_once(args, extra, os.path.join(args.out, f"{slug}-{i}.json"))
            except BenchError as err:
                log(f"  {test}: FAILED: {err}")
                results[test] = {"error": str(err)}
                continue
            after = [cpu_seconds(e.pid) for e in ends]
            cpu = [a - b for a, b in zip(after, before)]
            gb = res["bytes"] / 1e9
            res["cpu"] = cpu
            res["cpu_per_gb"] = sum(cpu) / gb if gb > 0 else float("inf")
            results[test] = res
            log(f"  {test}: {res['bits_per_second'] / 1e9:.3f} Gbit/s, retransmits "
                f"{res['retransmits']}, CPU A {cpu[0]:.2f} s + B {cpu[1]:.2f} s for "
                f"{gb:.2f} GB = {res['cpu_per_gb']:.2f} s/GB")
            time.sleep(1)  # let queues drain between runs
    finally:
        save_diagnosis(ends, os.path.join(args.out, f"{slug}-diagnosis.txt"))
        if server:
            procs.stop(server)
        for e in reversed(ends):
            e.stop()
    return results


# ------------------------------------------------------------ the cipher alone

def openssl_speed(extra):
    """GB per CPU second of openssl speed at 1420 bytes (it divides by user
    CPU time, as encrypt_bench does)."""
    r = run(["openssl", "speed", "-mr"] + extra + ["-evp", "chacha20-poly1305",
                                                    "-bytes", "1420", "-seconds", "3"],
            timeout=60)
    for line in r.stdout.splitlines():
        if line.startswith("+F:"):
            return float(line.split(":")[-1]) / 1e9  # bytes/s -> GB/s
    raise BenchError(f"openssl speed {' '.join(extra)}: no +F line\n{r.stdout}{r.stderr}")


def cipher_limits(args):
    r = run([args.encrypt_bench, "3"], timeout=60)
    ours = {}
    for line in r.stdout.splitlines():
        w = line.split()
        if w and w[0] in ("encrypt", "decrypt"):
            ours[w[0]] = float(w[1])
    if "encrypt" not in ours:
        raise BenchError(f"encrypt_bench: no figures\n{r.stdout}{r.stderr}")
    # Plain: one long stream through one context, the cipher's own limit.
    # -aead: a new nonce and a tag per record, as per packet in WireGuard.
    return ours, {"stream": openssl_speed([]), "aead": openssl_speed(["-aead"])}


# ------------------------------------------------------------ report

def fmt(x, spec=".2f"):
    return "-" if x is None else format(x, spec)


def print_table(all_results):
    log("\n== Results (throughput: receiver side; retransmits: sender side; "
        "CPU: both tunnel processes, s per GB moved)")
    head = f"{'pair':<21} {'test':<15} {'Gbit/s':>7} {'retrans':>8} {'CPU A s':>8} " \
           f"{'CPU B s':>8} {'CPU s/GB':>9}"
    log(head)
    log("-" * len(head))
    for pair, _, _, _ in PAIRS:
        if pair not in all_results:
            continue  # not chosen, or failed before its first test
        for test, _ in TESTS:
            r = all_results.get(pair, {}).get(test)
            if not r or "error" in r:
                log(f"{pair:<21} {test:<15} {'failed':>7}")
                continue
            log(f"{pair:<21} {test:<15} {r['bits_per_second'] / 1e9:>7.3f} "
                f"{fmt(r['retransmits'], 'd'):>8} {r['cpu'][0]:>8.2f} {r['cpu'][1]:>8.2f} "
                f"{r['cpu_per_gb']:>9.2f}")


def ratio(num, den, key):
    if not num or not den or "error" in num or "error" in den:
        return None
    if key == "thr":
        return num["bits_per_second"] / den["bits_per_second"] if den["bits_per_second"] else None
    return num["cpu_per_gb"] / den["cpu_per_gb"] if den["cpu_per_gb"] else None


def print_ratios(all_results):
    mf, wg, mixed = (all_results.get(p[0], {}) for p in PAIRS)
    log("\n== Ratios against wireguard-go on both ends (goal: throughput >= "
        f"{GOAL_THROUGHPUT:g}x at CPU/GB <= {GOAL_CPU:g}x)")
    head = f"{'test':<15} {'mf thr':>7} {'mf CPU/GB':>10} {'goal':>5}   " \
           f"{'mixed thr':>9} {'mixed CPU/GB':>12}"
    log(head)
    log("-" * len(head))
    verdicts = []
    for test, _ in TESTS:
        t, c = ratio(mf.get(test), wg.get(test), "thr"), ratio(mf.get(test), wg.get(test), "cpu")
        mt, mc = (ratio(mixed.get(test), wg.get(test), "thr"),
                  ratio(mixed.get(test), wg.get(test), "cpu"))
        met = t is not None and c is not None and t >= GOAL_THROUGHPUT and c <= GOAL_CPU
        verdicts.append(met)
        log(f"{test:<15} {fmt(t):>6}x {fmt(c):>9}x {'yes' if met else 'no':>5}   "
            f"{fmt(mt):>8}x {fmt(mc):>11}x")
    if not mf or not wg:
        log("\nGoal: not judged (needs the mintflow and the wireguard-go pairs)")
        return
    n = sum(verdicts)
    log(f"\nGoal (>= {GOAL_THROUGHPUT:g}x wireguard-go's throughput at <= {GOAL_CPU:g}x its "
        f"CPU per GB): {'MET' if n == len(verdicts) else 'NOT MET'} "
        f"({n} of {len(verdicts)} tests)")


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--mintflow", required=True)
    ap.add_argument("--encrypt-bench", required=True)
    ap.add_argument("--seconds", type=int, default=10)
    args = ap.parse_args()
    if not 1 <= args.seconds <= 600:
        raise SystemExit("seconds: 1..600")

    # SIGTERM and SIGHUP unwind like Ctrl-C, through the finally below.
    def as_interrupt(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, as_interrupt)
    signal.signal(signal.SIGHUP, as_interrupt)

    procs = Procs(args.out)
    all_results = {}
    try:
        log(f"load average at start: {loadavg()} ({os.cpu_count()} CPUs); "
            f"iperf3 runs of {args.seconds} s; files in {args.out}")
        ours, ossl = cipher_limits(args)
        keys = Keys(args.out)
        make_namespaces()
        chosen = os.environ.get("BENCH_PAIRS", "mf,wg,mixed").split(",")
        for label, kind_a, kind_b, short in PAIRS:
            if short not in chosen:
                continue
            try:
                all_results[label] = measure_pair(label, kind_a, kind_b, args, keys, procs)
            except BenchError as err:
                log(f"  {label}: FAILED: {err}")
        print_table(all_results)
        print_ratios(all_results)
        log("\n== The cipher alone: chacha20-poly1305, 1420-byte packets, GB per CPU second")
        log(f"mintflow data path (mf_wg_data_encrypt_vector, 256 per vector): "
            f"encrypt {ours['encrypt']:.3f}, decrypt {ours.get('decrypt', 0):.3f}")
        log(f"openssl speed -evp chacha20-poly1305 -bytes 1420:       {ossl['stream']:.3f}")
        log(f"openssl speed -aead -evp chacha20-poly1305 -bytes 1420: {ossl['aead']:.3f}"
            f"   (nonce and tag per packet)")
        log(f"mintflow encrypt / openssl: {ours['encrypt'] / ossl['stream']:.2f} "
            f"(/ -aead: {ours['encrypt'] / ossl['aead']:.2f})")
        log(f"\nload average at end: {loadavg()}")
        with open(os.path.join(args.out, "results.json"), "w") as f:
            json.dump({"tunnels": all_results, "cipher": {"mintflow": ours, "openssl": ossl},
                       "seconds": args.seconds}, f, indent=1)
        return 0
    except BenchError as err:
        log(f"error: {err}")
        return 1
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # let cleanup finish
        procs.stop_all()
        delete_namespaces()


if __name__ == "__main__":
    sys.exit(main())
