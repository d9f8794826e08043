"""The machine and "the internet" for TCP through `direct`: an app namespace
whose connections all enter the daemon's TUN (auto_route, every route to
direct) and an inet namespace with real servers, addressed outside the
exclude_lan ranges so that auto_route does take them over.

  +----------------------------- app ------------------------------+      +------------ inet -------------+
  | clients: curl, iperf3 -c, nc, dig, inet_tool.py                |      | inet_tool.py http :8080       |
  |   | rule 7301 "not fwmark 0x7300 lookup 7300"  (the daemon's)  |      | inet_tool.py servers          |
  |   v table 7300: default dev mftN                               |      |   echo :7000 half-close :7001 |
  | mftN 172.19.0.1 fdfe:dcba:9876::1 ==TUN== mintflow             |      |   reset :7002                 |
  |   0.0.0.0/0, ::/0 -> out (direct)                              |      | iperf3 -s :5201, dnsmasq :53  |
  |   its sockets (mark 0x7300) -> main table -> veth1a            |      | nothing on :7999              |
  | veth1a 198.18.0.1/24 2001:db8:1::1/64 -------------------------+------+ veth1b 198.18.0.2/24          |
  |   198.19.0.0/24, 2001:db8:2::/64 via inet (silent: blackholed) |      |        2001:db8:1::2/64       |
  +----------------------------------------------------------------+      | blackhole 198.19.0.0/24,      |
                                                                          |           2001:db8:2::/64     |
                                                                          +-------------------------------+

Two paths, chosen for a run with MF_TCP_PATH (default daemon):
  daemon  the drawing above; the daemon installs table and rules itself.
  kernel  no daemon: the app namespace reaches inet over the veth alone
          (the no-tunnel path the daemon is measured against).

While the daemon has no TCP (its log says "TCP is not available yet" and
it keeps auto_route off), a daemon-path test that needs TCP is skipped with
that reason. Tests that need only UDP still go through the daemon: the
harness then adds by hand, in the app namespace, the rule and table that
auto_route would."""

import hashlib
import json
import os
import random
import re
import time

import pytest

from . import daemon as mfd
from .daemon import profile_yaml
from .netns import run_host

PYTHON = "/usr/bin/python3"
TOOL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "inet_tool.py")
MODES = ("daemon", "kernel")

APP4, INET4 = "198.18.0.1", "198.18.0.2"
APP6, INET6 = "2001:db8:1::1", "2001:db8:1::2"
SILENT_NET4, SILENT_NET6 = "198.19.0.0/24", "2001:db8:2::/64"
SILENT4, SILENT6 = "198.19.0.1", "2001:db8:2::1"
HOSTS = {"v4": INET4, "v6": INET6}

HTTP_PORT, ECHO_PORT, HALFCLOSE_PORT, RESET_PORT = 8080, 7000, 7001, 7002
CLOSED_PORT, IPERF_PORT, DNS_PORT = 7999, 5201, 53
DNS_NAME, DNS_TXT_NAME = "svc.mintflow.test", "big.mintflow.test"

DIRECT = "out"
FWMARK, TABLE, RULE_PRIORITY = "0x7300", "7300", "7301"
NO_TCP = "TCP is not available yet"


def path_mode():
    """The path under test, from MF_TCP_PATH."""
    mode = os.environ.get("MF_TCP_PATH", "daemon").strip() or "daemon"
    if mode not in MODES:
        raise ValueError(f"MF_TCP_PATH={mode!r}: expected one of {MODES}")
    return mode


def url(host, name=""):
    h = f"[{host}]" if ":" in host else host
    return f"http://{h}:{HTTP_PORT}/{name}"


def _yaml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


def sections_yaml(sections):
    """Top-level profile sections of flat keys: {"hoststack": {"k": v}}."""
    lines = []
    for name, keys in sections.items():
        lines.append(f"{name}:")
        lines += [f"  {k}: {_yaml_value(v)}" for k, v in keys.items()]
    return "\n".join(lines) + ("\n" if lines else "")


def sha256_file(path):
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            while True:
                b = f.read(1 << 20)
                if not b:
                    break
                h.update(b)
    except FileNotFoundError:
        pass  # curl writes no file for an empty body: that is zero bytes
    return h.hexdigest()


def random_file(path, size, seed):
    """size bytes of a seeded stream; written in 1 MiB blocks."""
    rng = random.Random(seed)
    left = size
    with open(path, "wb") as f:
        while left > 0:
            n = min(left, 1 << 20)
            f.write(rng.randbytes(n))
            left -= n
    return path


# Daemon binaries found to lack TCP in this run, with the line that says so:
# later tests that need TCP skip before building anything.
_no_tcp = {}


def _no_tcp_reason(line):
    return f"daemon path: the daemon has no TCP yet ({line})"


class Env:
    """One test's app and inet namespaces on the chosen path. need_tcp:
    skip on a daemon without TCP (else UDP is routed to it by hand);
    sections: more profile sections ({"hoststack": {...}}), a test skipped
    if the parser refuses them; daemon_only: the reason to skip on the
    kernel path (a TUN, a session table, fault injection)."""

    def __init__(self, topo, mintflow, tun_name, workdir, *, need_tcp=True,
                 sections=None, daemon_only=None):
        self.topo, self.mintflow, self.tun = topo, mintflow, tun_name
        self.workdir = str(workdir)
        self.mode = path_mode()
        self.need_tcp = need_tcp
        self.sections = sections or {}
        self.daemon_only = daemon_only
        self.d = None
        self.tcp = self.mode == "kernel"
        self.by_hand = False

    # ------------------------------------------------------------ building

    def start(self):
        # Whatever makes the test skip is found out before anything is built.
        if self.mode == "kernel" and self.daemon_only:
            pytest.skip(f"kernel path: {self.daemon_only}")
        if self.mode == "daemon":
            self._check_profile(self.profile())
            known = _no_tcp.get(mfd.binary())
            if known and self.need_tcp:
                pytest.skip(_no_tcp_reason(known))
        self.app, self.inet = self.topo.ns("app"), self.topo.ns("inet")
        self.app_if, self.inet_if = self.topo.veth(
            self.app, [APP4 + "/24", APP6 + "/64"],
            self.inet, [INET4 + "/24", INET6 + "/64"])
        # Silent addresses: routed to inet, which drops them without a word
        # (no ICMP), so only a timeout can end a connect to them.
        self.app.ip("route", "add", SILENT_NET4, "via", INET4)
        self.app.ip("-6", "route", "add", SILENT_NET6, "via", INET6)
        self.inet.ip("route", "add", "blackhole", SILENT_NET4)
        self.inet.ip("-6", "route", "add", "blackhole", SILENT_NET6)
        self._warm_up()
        if self.mode == "daemon":
            self._start_daemon()
        return self

    def _warm_up(self, timeout=5.0):
        """Waits until both ends of the veth are operationally up. Until
        the kernel's link watcher has seen the carrier, the device drops
        what it is given: the first IPv6 neighbour solicitation is lost and
        the first connect takes a second longer, which a timing assertion
        would misread."""
        deadline = time.monotonic() + timeout
        while True:
            states = [ns.ip_json("link", "show", ifname)[0].get("operstate")
                      for ns, ifname in ((self.app, self.app_if),
                                         (self.inet, self.inet_if))]
            if states == ["UP", "UP"]:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"veth not up after {timeout}s: {states}")
            time.sleep(0.01)

    def profile(self):
        return profile_yaml(
            self.tun, auto_route=True, exclude_lan=True,
            interfaces=[(DIRECT, "direct")],
            routes=[("0.0.0.0/0", DIRECT), ("::/0", DIRECT)]) + sections_yaml(self.sections)

    def _check_profile(self, text):
        """Sections being added to the parser may not be there yet: a
        profile it refuses skips the test with the parser's own words."""
        if not self.sections:
            return
        path = os.path.join(self.workdir, "inet-check.yaml")
        with open(path, "w") as f:
            f.write(text)
        r = run_host(mfd.cli_argv(["check", "-c", path]), check=False, timeout=10)
        if r.returncode != 0:
            why = " ".join((r.stderr + r.stdout).replace(path, "profile").split())
            pytest.skip(f"the profile parser refuses {sorted(self.sections)}: {why}")

    def _start_daemon(self):
        self.d = self.mintflow(self.app, self.profile())
        m = re.search(r"^.*" + re.escape(NO_TCP) + r".*$", self.d.log_text(), re.M)
        self.tcp = m is None
        if not self.tcp:
            _no_tcp[mfd.binary()] = m.group(0).strip()
            if self.need_tcp:
                pytest.skip(_no_tcp_reason(m.group(0).strip()))
            self._route_by_hand()
        # Whatever added them, the app's packets must now enter the TUN.
        for host in (INET4, INET6):
            got = self.app.ip("route", "get", host)
            assert f"dev {self.tun}" in got, f"{host} does not go to the TUN:\n{got}"

    def _route_by_hand(self):
        """What auto_route would add, in the app namespace only, for tests
        that need only UDP while auto_route is kept off."""
        self.by_hand = True
        for v in ("-4", "-6"):
            self.app.ip(v, "rule", "add", "not", "fwmark", FWMARK, "lookup", TABLE,
                        "priority", RULE_PRIORITY)
            self.app.ip(v, "route", "add", "default", "dev", self.tun, "table", TABLE)

    # ------------------------------------------------------------ servers

    def wait_listening(self, port, proto="t", timeout=5.0):
        deadline = time.monotonic() + timeout
        while True:
            out = self.inet.run(["ss", "-Hln" + proto]).stdout
            if re.search(rf":{port}\s", out):
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"nothing listens on {port} in inet:\n{out}")
            time.sleep(0.05)

    def start_http(self, root):
        """The HTTP server over `root` (GET) that hashes uploads (PUT/POST)."""
        p = self.inet.popen([PYTHON, TOOL, "http", "::", HTTP_PORT, root], name="http")
        p.wait_output("^ready", timeout=10)
        return p

    def start_servers(self):
        """echo :7000, half-close :7001, reset :7002 (asyncio, dual-stack)."""
        p = self.inet.popen([PYTHON, TOOL, "servers", "::"], name="tcp-servers")
        p.wait_output("^ready", timeout=10)
        return p

    def start_iperf(self):
        p = self.inet.popen(["iperf3", "-s", "-p", IPERF_PORT], name="iperf3-server")
        self.wait_listening(IPERF_PORT)
        return p

    def start_dns(self):
        """dnsmasq answering from its own records only (no upstream, no
        /etc/hosts, no configuration file), over UDP and TCP."""
        txt = ",".join(f"{i:03d}-" + "x" * 200 for i in range(6))
        argv = ["dnsmasq", "-k", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
                "--user=root", "--bind-interfaces", f"--port={DNS_PORT}",
                f"--listen-address={INET4}", f"--listen-address={INET6}",
                f"--address=/{DNS_NAME}/{INET4}", f"--address=/{DNS_NAME}/{INET6}",
                f"--txt-record={DNS_TXT_NAME},{txt}",
                f"--pid-file={os.path.join(self.workdir, 'dnsmasq.pid')}",
                "--log-queries", "--log-facility=-"]
        p = self.inet.popen(argv, name="dnsmasq")
        p.wait_output("started, version", timeout=10)
        self.wait_listening(DNS_PORT, "t")
        self.wait_listening(DNS_PORT, "u")
        return p

    # ------------------------------------------------------------ clients

    def tool(self, *args, timeout=30.0):
        """Runs an inet_tool.py client in the app namespace; its JSON."""
        r = self.app.run([PYTHON, TOOL] + [str(a) for a in args], timeout=timeout)
        return json.loads(r.stdout.strip().splitlines()[-1])

    def curl(self, *args, timeout=120.0):
        """curl in the app namespace, bounded by --max-time; returns the
        CompletedProcess (exit code checked)."""
        argv = ["curl", "-sS", "-g", "--noproxy", "*", "--max-time", str(int(timeout)),
                "--connect-timeout", "10"] + [str(a) for a in args]
        return self.app.run(argv, timeout=timeout + 10)

    def download(self, host, name, out_path, timeout=120.0):
        """GET name into out_path; returns (bytes, sha256) of what arrived."""
        try:
            os.unlink(out_path)
        except FileNotFoundError:
            pass
        self.curl("-f", "-o", out_path, url(host, name), timeout=timeout)
        size = os.path.getsize(out_path) if os.path.exists(out_path) else 0
        digest = sha256_file(out_path)
        if os.path.exists(out_path):
            os.unlink(out_path)
        return size, digest

    def upload(self, host, path, method="PUT", timeout=120.0):
        """Sends the file; returns the server's {"bytes", "sha256"}."""
        if method == "PUT":
            args = ["-T", path]
        else:
            args = ["-X", "POST", "-H", "Content-Type: application/octet-stream",
                    "--data-binary", "@" + path]
        r = self.curl("-f", "-H", "Expect:", *args, url(host, "upload"), timeout=timeout)
        return json.loads(r.stdout)

    # ------------------------------------------------------------ the daemon

    def hoststack(self):
        """`show hoststack` as {"opened": n, "refused": n, ...}."""
        out = {}
        for line in self.d.cli("show hoststack").splitlines():
            k, _, v = line.partition(":")
            f = v.split()
            if f and f[0].isdigit():
                out[k.strip()] = int(f[0])
        return out

    def opened(self):
        """Sessions the daemon opened so far (None on the kernel path)."""
        return self.hoststack().get("opened", 0) if self.d else None

    def assert_through_daemon(self, opened_before, at_least=1):
        """On the daemon path, the clients' connections did become sessions
        (so they did not slip past the TUN)."""
        if not self.d:
            return
        now = self.opened()
        assert now - opened_before >= at_least, \
            f"daemon opened {now - opened_before} sessions, expected >= {at_least}"

    def set_hoststack(self, *args):
        self.d.cli(["set", "hoststack"] + [str(a) for a in args])

    def tcp_sessions(self):
        """Rows of `show sessions` for TCP (the first column is the
        protocol)."""
        return [l for l in self.d.cli("show sessions").splitlines()
                if l.split()[:1] == ["tcp"]]

    def wait_tcp_sessions_gone(self, timeout=10.0):
        """Sessions must go once the clients are done: TIME-WAIT is short
        on the app side, and a closed upstream ends its session."""
        deadline = time.monotonic() + timeout
        left = self.tcp_sessions()
        while left and time.monotonic() < deadline:
            time.sleep(0.2)
            left = self.tcp_sessions()
        assert not left, (f"{len(left)} TCP sessions still there {timeout}s after "
                          f"the clients finished:\n" + "\n".join(left[:20]))

    def finish(self):
        if self.d is not None and self.tcp and self.d.running():
            self.wait_tcp_sessions_gone()


@pytest.fixture
def inet_env(topo, mintflow, tun_name, tmp_path):
    """Factory: inet_env(need_tcp=True, sections=None, daemon_only=None)
    -> a started Env (see Env).
    At teardown, on the daemon path, waits for the TCP sessions to go."""
    made = []

    def make(**kw):
        e = Env(topo, mintflow, tun_name, tmp_path, **kw)
        made.append(e)
        return e.start()

    yield make
    for e in made:
        e.finish()
