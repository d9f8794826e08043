"""Changing sets and routes at run time: `mintflow reload` (and SIGHUP)
applies an edited profile to the running daemon. A domain set moved to a
reject interface takes its learned host routes along, and new flows to
its names are refused at once; a flow already running to an address the
change does not touch goes on to the end; a broken profile, or a change
of an interface, is refused and the old behaviour stays.

  +---------------------------- app -----------------------------+      +------------ inet ------------------+
  | dig @172.19.0.2, curl                                        |      | dnsmasq :53 (Direct DNS)           |
  |   v table 7300 (auto_route)                                  |      |   svc.mintflow.test -> 198.18.0.2  |
  | mftN ==TUN== mintflow   DNS server on 172.19.0.2:53          |      |   vid.mintflow.test -> 198.18.0.3  |
  |   media -> out (direct)   ==reload==>   media -> block       |      | http :8080 on every address        |
  |   cidr_set lab 198.18.0.4/32, cidr 198.18.0.5/32 likewise    |      |   (.2 .3 .4 .5)                    |
  |   dns_fallback, 0.0.0.0/0, ::/0 -> out (direct)              |      |                                    |
  | veth1a 198.18.0.1/24 ----------------------------------------+------+ veth1b 198.18.0.2 .. .5 /24        |
  +--------------------------------------------------------------+      +------------------------------------+
"""

import os
import re
import signal
import time

from mfharness import dns, inet
from mfharness.daemon import profile_yaml
from mfharness.inet import HTTP_PORT, INET4, SILENT4

STACK4 = "172.19.0.2"
VID4, LAB4, CIDR4 = "198.18.0.3", "198.18.0.4", "198.18.0.5"
NAMES = {"svc.mintflow.test": INET4, "vid.mintflow.test": VID4}
BIG_MIB = 24
RATE = "8M"  # bytes/s: the transfer lasts some 3 s, across the reload


class ReloadEnv(inet.Env):
    """The inet topology with an App Routing profile whose targets a test
    edits: media (domain set), lab (cidr set) and one plain cidr route."""

    media_to = "out"
    lab_to = "out"
    cidr_to = "out"
    void_type = "drop"
    broken = False
    app_routing = True
    direct_dns = INET4

    def profile(self):
        base = profile_yaml(
            self.tun, auto_route=True, exclude_lan=True,
            interfaces=[("out", "direct"), ("block", "reject"),
                        ("void", self.void_type)],
            routes=[])
        base = base.replace("routes:\n", "")
        bad = "  - { domain_set: nosuch, to: block }\n" if self.broken else ""
        # Without App Routing the parser refuses domain-set and fallback
        # routes: they go, the sets stay (unused).
        media = f"  - {{ domain_set: media, to: {self.media_to} }}\n"
        fallback = "  - { dns_fallback: true, to: out }\n"
        if not self.app_routing:
            media = fallback = ""
        return base + f"""app_routing: {"true" if self.app_routing else "false"}
domain_sets:
  media: [vid.mintflow.test]
cidr_sets:
  lab: [{LAB4}/32]
dns:
  direct: ["{self.direct_dns}"]
routes:
{media}{bad}  - {{ cidr_set: lab, to: {self.lab_to} }}
  - {{ cidr: {CIDR4}/32, to: {self.cidr_to} }}
{fallback}  - {{ cidr: 0.0.0.0/0, to: out }}
  - {{ cidr: "::/0", to: out }}
"""

    def rewrite(self, **kw):
        """The profile file the daemon was started with, edited."""
        for k, v in kw.items():
            setattr(self, k, v)
        with open(self.d.profile, "w") as f:
            f.write(self.profile())

    def start_names(self):
        for a in (VID4, LAB4, CIDR4):
            self.inet.ip("addr", "add", a + "/24", "dev", self.inet_if)
        p = dns.dnsmasq(self.inet, self.workdir, "dnsmasq", INET4, NAMES, ttl=30)
        self.wait_listening(53, "u")
        return p


def start(topo, mintflow, tun_name, tmp_path, **kw):
    env = ReloadEnv(topo, mintflow, tun_name, tmp_path,
                    daemon_only="reload is the daemon's")
    for k, v in kw.items():
        setattr(env, k, v)
    env.start()
    env.start_names()
    (tmp_path / "hello").write_text("hello\n")
    env.start_http(str(tmp_path))
    return env


def fib_routes(d, source):
    """{address: interface} of the host routes of a source in the FIB."""
    return {m.group(1): m.group(2) for m in re.finditer(
        rf"^(\S+)/(?:32|128)\s+via (\S+)\s+source {source}\b", d.cli("show ip fib"), re.M)}


def curl_status(env, addr):
    """(exit code, seconds) of one GET to addr: 0 works, 7 refused."""
    t = time.monotonic()
    r = env.app.run(["curl", "-sS", "-f", "--noproxy", "*", "--max-time", "3",
                     "-o", "/dev/null", f"http://{addr}:{HTTP_PORT}/hello"],
                    check=False, timeout=10)
    return r.returncode, time.monotonic() - t


def resolve(env, name, addr):
    status, addrs = dns.dig(env.app, STACK4, name)
    assert status == "NOERROR" and addrs == [addr], (name, status, addrs)


def test_domain_set_moves_to_reject(topo, mintflow, tun_name, tmp_path):
    env = start(topo, mintflow, tun_name, tmp_path)
    d = env.d
    resolve(env, "vid.mintflow.test", VID4)
    assert fib_routes(d, "dns") == {VID4: "out"}, d.cli("show ip fib")
    assert curl_status(env, VID4)[0] == 0
    # A long transfer to an address the change does not touch, across the
    # reload.
    big = inet.random_file(os.path.join(env.workdir, "big.bin"), BIG_MIB << 20, seed=6)
    want = inet.sha256_file(big)
    got_path = os.path.join(env.workdir, "got.bin")
    dl = env.app.popen(["curl", "-sS", "-f", "--noproxy", "*", "--max-time", "60",
                        "--limit-rate", RATE, "-o", got_path,
                        f"http://{INET4}:{HTTP_PORT}/big.bin"], name="download")
    time.sleep(1.0)
    assert dl.alive(), "the transfer ended before the reload"

    env.rewrite(media_to="block")
    out = d.cli("reload")
    assert re.search(r"reload: .*host routes kept 0 moved 1 removed 0", out), out
    assert fib_routes(d, "dns") == {VID4: "block"}, d.cli("show ip fib")
    code, took = curl_status(env, VID4)
    assert code == 7 and took < 1.0, (code, took)
    # Asked again, the name is resolved under the new policy: same route.
    resolve(env, "vid.mintflow.test", VID4)
    assert fib_routes(d, "dns") == {VID4: "block"}, d.cli("show ip fib")
    assert re.search(r"vid\.mintflow\.test\s+A\s+upstream\s+media\s+block",
                     d.cli("show dns log")), d.cli("show dns log")

    assert dl.wait(timeout=60) == 0, dl.log_text()
    assert os.path.getsize(got_path) == BIG_MIB << 20
    assert inet.sha256_file(got_path) == want

    # SIGHUP does the same as the command: back to direct.
    env.rewrite(media_to="out")
    d.proc.send_signal(signal.SIGHUP)
    d.wait_log(r"reload: .*moved 1", timeout=5)
    assert fib_routes(d, "dns") == {VID4: "out"}, d.cli("show ip fib")
    assert curl_status(env, VID4)[0] == 0


def test_broken_profile_and_interface_change_are_refused(topo, mintflow, tun_name,
                                                         tmp_path):
    env = start(topo, mintflow, tun_name, tmp_path)
    d = env.d
    resolve(env, "vid.mintflow.test", VID4)
    fib_before = d.cli("show ip fib")

    env.rewrite(broken=True)
    r = d.cli_run("reload")
    assert r.returncode != 0
    assert re.search(r"\.yaml:\d+:\d+: .*nosuch", r.stderr), r.stderr
    assert "nothing was changed" in r.stderr, r.stderr
    assert d.cli("show ip fib") == fib_before
    assert curl_status(env, VID4)[0] == 0

    env.rewrite(broken=False, void_type="reject")
    r = d.cli_run("reload")
    assert r.returncode != 0
    assert re.search(r"interfaces\[void\]\.type changed; a restart is needed", r.stderr), \
        r.stderr
    assert d.cli("show ip fib") == fib_before

    # SIGHUP with a broken profile: the errors are logged, nothing changes.
    env.rewrite(broken=True, void_type="drop", media_to="block")
    d.proc.send_signal(signal.SIGHUP)
    d.wait_log(r"\.yaml:\d+:\d+: .*nosuch", timeout=5)
    assert d.running()
    assert d.cli("show ip fib") == fib_before
    assert curl_status(env, VID4)[0] == 0

    # -c names another file; the daemon goes on to reload that one.
    other = os.path.join(env.workdir, "other.yaml")
    env.broken = False
    with open(other, "w") as f:
        f.write(env.profile())
    out = d.cli(["reload", "-c", other])
    assert "other.yaml" in out, out
    assert fib_routes(d, "dns") == {VID4: "block"}, d.cli("show ip fib")


def test_cidr_set_and_cidr_route_change(topo, mintflow, tun_name, tmp_path):
    env = start(topo, mintflow, tun_name, tmp_path)
    d = env.d
    assert fib_routes(d, "profile") == {LAB4: "out", CIDR4: "out"}, d.cli("show ip fib")
    assert curl_status(env, LAB4)[0] == 0
    assert curl_status(env, CIDR4)[0] == 0

    env.rewrite(lab_to="block")
    out = d.cli("reload")
    assert re.search(r"routes \+0 -0 ~1, sets changed 0", out), out
    assert fib_routes(d, "profile") == {LAB4: "block", CIDR4: "out"}, d.cli("show ip fib")
    code, took = curl_status(env, LAB4)
    assert code == 7 and took < 1.0, (code, took)
    assert curl_status(env, CIDR4)[0] == 0

    env.rewrite(cidr_to="block")
    out = d.cli("reload")
    assert re.search(r"routes \+0 -0 ~1", out), out
    code, took = curl_status(env, CIDR4)
    assert code == 7 and took < 1.0, (code, took)
    assert f"profile: {d.profile}" in d.cli("show version")


def tcp_dig(env, name):
    """The A answer over TCP from the stack's server; "refused" when the
    connection is refused, "no-answer" on anything else."""
    r = env.app.run(["dig", "+tcp", "+time=3", "+tries=1", "+short", f"@{STACK4}",
                     name, "A"], check=False, timeout=10)
    if "connection refused" in r.stdout.lower():
        return "refused"
    words = r.stdout.split()
    return words[0] if r.returncode == 0 and words else "no-answer"


def test_app_routing_off_and_on(topo, mintflow, tun_name, tmp_path):
    """app_routing flipped by a reload: the DNS server stops (its host
    routes leave the FIB) and starts again."""
    env = start(topo, mintflow, tun_name, tmp_path)
    d = env.d
    resolve(env, "vid.mintflow.test", VID4)
    assert fib_routes(d, "dns") == {VID4: "out"}

    env.rewrite(app_routing=False)
    out = d.cli("reload")
    assert re.search(r"app_routing stopped, host routes kept 0 moved 0 removed 1", out), out
    assert fib_routes(d, "dns") == {}, d.cli("show ip fib")
    assert "no DNS server" in d.cli("show dns")
    status, _ = dns.dig(env.app, STACK4, "vid.mintflow.test")
    assert status == "no-answer", status
    assert tcp_dig(env, "vid.mintflow.test") == "refused"  # no server: RST
    assert curl_status(env, VID4)[0] == 0  # the CIDR routes carry it

    env.rewrite(app_routing=True, media_to="block")
    out = d.cli("reload")
    assert "app_routing started" in out, out
    resolve(env, "vid.mintflow.test", VID4)
    # DNS over TCP reaches the new server (not the one the reload freed).
    assert tcp_dig(env, "vid.mintflow.test") == VID4
    assert fib_routes(d, "dns") == {VID4: "block"}, d.cli("show ip fib")
    code, took = curl_status(env, VID4)
    assert code == 7 and took < 1.0, (code, took)


def test_query_in_flight_gets_servfail(topo, mintflow, tun_name, tmp_path):
    """A query upstream when the policy changes is answered SERVFAIL at
    once (its upstream was chosen by the old policy); asked again, it goes
    to the new Direct DNS server."""
    env = start(topo, mintflow, tun_name, tmp_path, direct_dns=SILENT4)
    d = env.d
    q = env.app.popen(["dig", "+time=8", "+tries=1", f"@{STACK4}",
                       "vid.mintflow.test", "A"], name="dig")
    d.wait_counter(lambda: d.cli("show dns"),
                   lambda t: re.search(r"^pending: 1 ", t, re.M), timeout=3)
    assert re.search(r"^pending: 1 ", d.cli("show dns"), re.M), d.cli("show dns")
    t = time.monotonic()
    env.rewrite(direct_dns=INET4)
    out = d.cli("reload")
    assert "1 queries answered SERVFAIL" in out, out
    assert q.wait(timeout=5) == 0
    assert time.monotonic() - t < 1.5
    assert "status: SERVFAIL" in q.log_text(), q.log_text()
    assert re.search(r"^pending: 0 ", d.cli("show dns"), re.M)
    resolve(env, "vid.mintflow.test", VID4)
    assert fib_routes(d, "dns") == {VID4: "out"}, d.cli("show ip fib")
