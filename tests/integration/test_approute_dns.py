"""App Routing by domain set through the built-in DNS server (the manual's
AdBlock-Without-VPN scenario): the app asks the stack's DNS server, which
resolves through the Direct DNS server (dnsmasq in inet, reached through
`direct` from the daemon's own socket) and installs each answer's address
as a host route to the interface the name's set is routed to.

  +---------------------------- app -----------------------------+      +------------ inet ------------------+
  | dig @172.19.0.2, curl                                        |      | dnsmasq :53 (Direct DNS)           |
  |   v table 7300 (auto_route)                                  |      |   svc.mintflow.test -> 198.18.0.2  |
  | mftN ==TUN== mintflow   DNS server on 172.19.0.2:53          |      |   ads.mintflow.test -> 198.18.0.3  |
  |   ads    -> block (reject)    silent (a hosts file) -> void  |      |   tracker.mintflow.test -> .0.4    |
  |   dns_fallback, 0.0.0.0/0, ::/0 -> out (direct)              |      | http :8080 on every address        |
  | veth1a 198.18.0.1/24 ----------------------------------------+------+ veth1b 198.18.0.2, .3, .4 /24      |
  +--------------------------------------------------------------+      +------------------------------------+
"""

import re
import time

from mfharness import dns, inet
from mfharness.inet import APP4, APP6, HTTP_PORT, INET4, INET6
from mfharness.daemon import profile_yaml

STACK4 = "172.19.0.2"
ADS4, TRACKER4 = "198.18.0.3", "198.18.0.4"
NAMES = {"svc.mintflow.test": INET4, "ads.mintflow.test": ADS4,
         "tracker.mintflow.test": TRACKER4}


class DnsEnv(inet.Env):
    """The inet topology with an App Routing profile and a dnsmasq that
    knows the test's names."""

    hosts_file = None
    hijack = False

    def profile(self):
        base = profile_yaml(
            self.tun, auto_route=True, exclude_lan=True,
            interfaces=[("out", "direct"), ("block", "reject"), ("void", "drop")],
            routes=[])
        base = base.replace("routes:\n", "")
        return base + f"""app_routing: true
domain_sets:
  ads: [ads.mintflow.test]
  silent: {{ files: ["{self.hosts_file}"] }}
dns:
  direct: ["{INET4}"]
  hijack: {"true" if self.hijack else "false"}
routes:
  - {{ domain_set: ads, to: block }}
  - {{ domain_set: silent, to: void }}
  - {{ dns_fallback: true, to: out }}
  - {{ cidr: 0.0.0.0/0, to: out }}
  - {{ cidr: "::/0", to: out }}
"""

    def start_names(self):
        for a in (ADS4, TRACKER4):
            self.inet.ip("addr", "add", a + "/24", "dev", self.inet_if)
        argv = ["dnsmasq", "-k", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
                "--user=root", "--bind-interfaces", "--port=53",
                f"--listen-address={INET4}", "--local-ttl=30",
                f"--pid-file={self.workdir}/dnsmasq.pid",
                "--log-queries", "--log-facility=-"]
        argv += [f"--address=/{n}/{a}" for n, a in NAMES.items()]
        p = self.inet.popen(argv, name="dnsmasq")
        p.wait_output("started, version", timeout=10)
        self.wait_listening(53, "u")
        return p


def start(topo, mintflow, tun_name, tmp_path, hijack=False):
    hosts = tmp_path / "trackers.hosts"
    hosts.write_text("# a hosts-format block list\n0.0.0.0 tracker.mintflow.test\n"
                     "127.0.0.1 localhost\n")
    env = DnsEnv(topo, mintflow, tun_name, tmp_path,
                 daemon_only="the DNS server is the daemon's")
    env.hosts_file = str(hosts)
    env.hijack = hijack
    env.start()
    dnsmasq = env.start_names()
    env.start_http(str(tmp_path))
    return env, dnsmasq


def dig(env, name, qtype="A", server=STACK4):
    """(status, [(ttl, address)]) as the assertions below read them."""
    status, addrs = dns.dig(env.app, server, name, qtype)
    return status, [(None, a) for a in addrs]


def curl(env, *args):
    """curl whose failure is the point: its CompletedProcess, unchecked."""
    return env.app.run(["curl", "-sS", "--noproxy", "*", "--max-time", "3"] + list(args),
                       check=False, timeout=10)


def fib_dns_routes(d):
    return {m.group(1): m.group(2) for m in re.finditer(
        r"^(\S+)/(?:32|128)\s+via (\S+)\s+source dns", d.cli("show ip fib"), re.M)}


def test_adblock_without_vpn(topo, mintflow, tun_name, tmp_path):
    env, dnsmasq = start(topo, mintflow, tun_name, tmp_path)
    d = env.d
    # Every name resolves through the Direct DNS server, blocked ones too
    # (block: resolve), with the answer dnsmasq gives.
    for name, addr in NAMES.items():
        status, answers = dig(env, name)
        assert status == "NOERROR" and [a for _, a in answers] == [addr], (name, status, answers)
    log = dnsmasq.log_text()
    for name in NAMES:
        assert re.search(rf"query\[A\] {re.escape(name)} from 198\.18\.0\.1", log), log
    # The answers of set names became host routes to the sets' interfaces;
    # the fallback name's did not (the CIDR routes decide for it).
    routes = fib_dns_routes(d)
    assert routes == {ADS4: "block", TRACKER4: "void"}, d.cli("show ip fib")
    # ads: refused at once; tracker: silence; the other name works.
    t = time.monotonic()
    r = curl(env, f"http://{ADS4}:{HTTP_PORT}/")
    assert r.returncode == 7 and time.monotonic() - t < 1.0, r.stderr
    r = curl(env, "--connect-timeout", "1", f"http://{TRACKER4}:{HTTP_PORT}/")
    assert r.returncode == 28, r.stderr
    opened = env.opened()
    (tmp_path / "hello").write_text("hello\n")
    env.curl("-f", "-o", "/dev/null", f"http://{INET4}:{HTTP_PORT}/hello", timeout=10)
    assert env.opened() > opened
    # The viewers say what happened.
    cache = d.cli("show dns cache")
    for name in NAMES:
        assert name in cache, cache
    qlog = d.cli("show dns log")
    assert re.search(r"ads\.mintflow\.test\s+A\s+upstream\s+ads\s+block", qlog), qlog
    assert re.search(r"tracker\.mintflow\.test\s+A\s+upstream\s+silent\s+void", qlog), qlog
    # A second query is answered from the cache: dnsmasq sees no more.
    before = dnsmasq.log_text().count("query[A] svc.mintflow.test")
    status, answers = dig(env, "svc.mintflow.test")
    assert status == "NOERROR" and answers, answers
    time.sleep(0.2)
    assert dnsmasq.log_text().count("query[A] svc.mintflow.test") == before


def test_canary_flush_and_bad_queries(topo, mintflow, tun_name, tmp_path):
    env, dnsmasq = start(topo, mintflow, tun_name, tmp_path)
    d = env.d
    # Firefox turns its own DNS over HTTPS off when this name does not exist.
    status, _ = dig(env, "use-application-dns.net")
    assert status == "NXDOMAIN"
    assert "use-application-dns.net" not in dnsmasq.log_text()
    # IPv6 transport to the server, too.
    status, answers = dig(env, "svc.mintflow.test", server="fdfe:dcba:9876::2")
    assert status == "NOERROR" and [a for _, a in answers] == [INET4], answers
    dig(env, "ads.mintflow.test")
    assert fib_dns_routes(d)
    d.cli("dns flush routes")
    assert not fib_dns_routes(d), d.cli("show ip fib")
    assert "ads.mintflow.test" not in d.cli("show dns cache")
    # Garbage to port 53: counted, and the server goes on answering.
    from scapy.layers.inet import IP, UDP
    from mfharness import probes
    bad = [bytes(IP(src="172.19.0.1", dst=STACK4) / UDP(sport=5353, dport=53) / b"\x01\x02"),
           bytes(IP(src="172.19.0.1", dst=STACK4) / UDP(sport=5354, dport=53) /
                 (b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00" + b"\xc0\x0c"))]
    probes.inject(env.app, env.tun, bad)
    time.sleep(0.3)
    stats = d.cli("show dns")
    m = re.search(r"^malformed: (\d+)", stats, re.M)
    f = re.search(r"^formerr: (\d+)", stats, re.M)
    assert m and f and int(m.group(1)) + int(f.group(1)) >= 2, stats
    status, answers = dig(env, "svc.mintflow.test")
    assert status == "NOERROR" and answers


def test_hijack_answers_queries_to_any_server(topo, mintflow, tun_name, tmp_path):
    """dns.hijack: an app that asks a server of its own choosing (here the
    Direct DNS server itself, at 198.18.0.2) is answered by the stack's
    server all the same, so domain sets still apply to it."""
    env, dnsmasq = start(topo, mintflow, tun_name, tmp_path, hijack=True)
    d = env.d
    # dnsmasq, having no upstream, would refuse the canary: ours answers.
    status, _ = dig(env, "use-application-dns.net", server=INET4)
    assert status == "NXDOMAIN", status
    status, answers = dig(env, "ads.mintflow.test", server=INET4)
    assert status == "NOERROR" and [a for _, a in answers] == [ADS4], answers
    assert fib_dns_routes(d) == {ADS4: "block"}, d.cli("show ip fib")
    qlog = d.cli("show dns log")
    assert "use-application-dns.net" in qlog and "ads.mintflow.test" in qlog, qlog
