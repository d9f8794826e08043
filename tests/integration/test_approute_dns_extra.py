"""DNS host routes beyond the basics: two sets answered with one address,
a route kept past its TTL while a TCP connection uses it, AAAA for a set
routed to an IPv4-only WireGuard interface, and dns.block_doh. The
topology of test_approute_dns.py, with a dnsmasq of short TTLs.

  +---------------------------- app -----------------------------+      +------------ inet ------------------+
  | dig @172.19.0.2, curl, a held TCP connection                 |      | dnsmasq :53 (Direct DNS, TTL 1 s)  |
  |   v table 7300 (auto_route)                                  |      |   nflx/cdn.mintflow.test -> .0.3   |
  | mftN ==TUN== mintflow   DNS server on 172.19.0.2:53          |      |   slow/idle.mintflow.test -> .0.4  |
  |   streaming -> out, ads -> block (reject)                    |      |   v4only.mintflow.test -> .0.2     |
  |   keep -> out2 (direct); 198.18.0.4/31 -> block              |      |   dns.google -> 198.18.0.5         |
  |   v4only -> wg4 (wireguard, IPv4 address only, no peer up)   |      | http :8080 on every address        |
  |   dns_fallback, 0.0.0.0/0, ::/0 -> out (direct)              |      |                                    |
  | veth1a 198.18.0.1/24 ----------------------------------------+------+ veth1b 198.18.0.2 .3 .4 .5 /24     |
  +--------------------------------------------------------------+      +------------------------------------+

The AAAA check runs against the daemon with a WireGuard interface that has
no live peer: the empty answer is the DNS server's own, so the tunnel need
not be up (no wireguard-go here).
"""

import re
import time

from mfharness import dns, inet
from mfharness.inet import HTTP_PORT, INET4
from mfharness.daemon import profile_yaml

STACK4 = "172.19.0.2"
SHARED4, KEEP4, DOH4 = "198.18.0.3", "198.18.0.4", "198.18.0.5"
NAMES = {"nflx.mintflow.test": SHARED4, "cdn.mintflow.test": SHARED4,
         "slow.mintflow.test": KEEP4, "idle.mintflow.test": KEEP4,
         "v4only.mintflow.test": INET4, "svc.mintflow.test": INET4,
         "dns.google": DOH4}

# Keys made with `wg genkey | tee k | wg pubkey` (test keys, no secret).
PRIV1 = "IDSNMDAcMYj4I6OkiR/c1gWVFsUgFEm/RKThOi/rXHY="
PUB2 = "Me8KQM11hSE7aTF+rj3lty9uVjJ/dG5RYmKFTYFbSGg="


class ExtraEnv(inet.Env):
    """The inet topology with the sets above; block: resolve or answer."""

    block = "resolve"
    block_doh = False
    grace = 1

    def profile(self):
        base = profile_yaml(
            self.tun, auto_route=True, exclude_lan=True,
            interfaces=[("out", "direct"), ("out2", "direct"), ("block", "reject"),
                        {"name": "wg4", "type": "wireguard", "private_key": PRIV1,
                         "address": ["10.64.0.2/32"],
                         "peers": [{"public_key": PUB2,
                                    "allowed_ips": ["10.64.0.0/24"]}]}],
            routes=[])
        base = base.replace("routes:\n", "")
        return base + f"""app_routing: true
domain_sets:
  streaming: [nflx.mintflow.test]
  ads: [cdn.mintflow.test]
  keep: [slow.mintflow.test, idle.mintflow.test]
  v4only: [v4only.mintflow.test]
dns:
  direct: ["{INET4}"]
  vpn: ["{INET4}"]
  block: {self.block}
  block_doh: {"true" if self.block_doh else "false"}
  host_route_grace: {self.grace}
routes:
  - {{ domain_set: streaming, to: out }}
  - {{ domain_set: ads, to: block }}
  - {{ domain_set: keep, to: out2 }}
  - {{ domain_set: v4only, to: wg4 }}
  - {{ dns_fallback: true, to: out }}
  - {{ cidr: {KEEP4}/31, to: block }}
  - {{ cidr: 0.0.0.0/0, to: out }}
  - {{ cidr: "::/0", to: out }}
"""

    def start_names(self):
        for a in (SHARED4, KEEP4, DOH4):
            self.inet.ip("addr", "add", a + "/24", "dev", self.inet_if)
        p = dns.dnsmasq(self.inet, self.workdir, "dnsmasq", INET4, NAMES, ttl=1)
        self.wait_listening(53, "u")
        return p


def start(topo, mintflow, tun_name, tmp_path, **kw):
    env = ExtraEnv(topo, mintflow, tun_name, tmp_path,
                   daemon_only="the DNS server is the daemon's")
    for k, v in kw.items():
        setattr(env, k, v)
    env.start()
    dnsmasq = env.start_names()
    (tmp_path / "hello").write_text("hello\n")
    env.start_http(str(tmp_path))
    return env, dnsmasq


def fib_dns(d):
    """{address: (interface, rest of the line)} of the DNS host routes."""
    return {m.group(1): (m.group(2), m.group(3)) for m in re.finditer(
        r"^(\S+)/(?:32|128)\s+via (\S+)\s+source dns\s+priority \d+(.*)$",
        d.cli("show ip fib"), re.M)}


def curl(env, *args):
    return env.app.run(["curl", "-sS", "--noproxy", "*", "--max-time", "3"] + list(args),
                       check=False, timeout=10)


def wait_for(pred, timeout, step=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


def test_shared_address_first_route_wins(topo, mintflow, tun_name, tmp_path):
    """ads (second in routes) answers first, streaming (first) after: the
    route goes to streaming's interface all the same, both names shown."""
    env, _ = start(topo, mintflow, tun_name, tmp_path, grace=60)
    d = env.d
    for name in ("cdn.mintflow.test", "nflx.mintflow.test"):
        status, addrs = dns.dig(env.app, STACK4, name)
        assert status == "NOERROR" and addrs == [SHARED4], (name, status, addrs)
    routes = fib_dns(d)
    assert routes[SHARED4][0] == "out", d.cli("show ip fib")
    assert "dns nflx.mintflow.test (streaming) [also: cdn.mintflow.test (ads)]" \
        in routes[SHARED4][1], d.cli("show ip fib")
    assert "[also: cdn.mintflow.test (ads)]" in d.cli("show dns routes")
    stats = d.cli("show dns")
    assert re.search(r"conflicts 1\b", stats) and re.search(r"takeovers 1\b", stats), stats
    # The winner's route is direct: HTTP to the shared address works
    # (ads alone would have meant a RST).
    r = curl(env, "-f", "-o", "/dev/null", f"http://{SHARED4}:{HTTP_PORT}/hello")
    assert r.returncode == 0, r.stderr


HOLD = r"""
import socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
print("up", flush=True)
time.sleep(float(sys.argv[3]))
s.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
s.settimeout(5)
data = b""
try:
    while True:
        b = s.recv(4096)
        if not b:
            break
        data += b
except OSError as e:
    print("error", e, flush=True)
print("status", data.split(b"\r\n", 1)[0].decode(errors="replace"), flush=True)
s.close()
print("closed", flush=True)
"""


def test_route_kept_while_connection_open(topo, mintflow, tun_name, tmp_path):
    """TTL 1 s + grace 1 s: the host route to out2 outlives them while a
    TCP connection to the address is open (else its packets would hit the
    /31 to reject and the connection would be reset); it goes once the
    connection closed. A name of the same set without a connection goes at
    its TTL."""
    env, _ = start(topo, mintflow, tun_name, tmp_path)
    d = env.d
    status, addrs = dns.dig(env.app, STACK4, "slow.mintflow.test")
    assert status == "NOERROR" and addrs == [KEEP4], (status, addrs)
    assert fib_dns(d).get(KEEP4, ("",))[0] == "out2", d.cli("show ip fib")
    hold = env.app.popen(["/usr/bin/python3", "-c", HOLD, KEEP4, str(HTTP_PORT), "6"],
                         name="held-connection")
    hold.wait_output("^up", timeout=5)
    # Past TTL + grace (and a second of timer rounding): still there, kept.
    time.sleep(4)
    routes = fib_dns(d)
    assert routes.get(KEEP4, ("",))[0] == "out2", d.cli("show ip fib")
    assert "kept" in routes[KEEP4][1], routes
    assert re.search(r"kept-in-use [1-9]\d* \(now 1\)", d.cli("show dns")), d.cli("show dns")
    # The connection never moved: its request after the TTL is answered.
    hold.wait_output("^closed", timeout=10)
    assert re.search(r"^status HTTP/1\.[01] 200", hold.log_text(), re.M), hold.log_text()
    # Closed: the route goes within a couple of seconds, then the /31 rules.
    assert wait_for(lambda: KEEP4 not in fib_dns(d), 5), d.cli("show dns routes")
    t = time.monotonic()
    r = curl(env, f"http://{KEEP4}:{HTTP_PORT}/hello")
    assert r.returncode == 7 and time.monotonic() - t < 1.0, r.stderr
    # Without a connection a route goes at TTL + grace.
    d.cli("dns flush")
    status, addrs = dns.dig(env.app, STACK4, "idle.mintflow.test")
    assert status == "NOERROR" and addrs == [KEEP4]
    assert KEEP4 in fib_dns(d)
    assert wait_for(lambda: KEEP4 not in fib_dns(d), 5), d.cli("show dns routes")


def test_aaaa_empty_for_ipv4_only_wireguard(topo, mintflow, tun_name, tmp_path):
    env, dnsmasq = start(topo, mintflow, tun_name, tmp_path)
    d = env.d
    r = env.app.run(["dig", "+time=4", "+tries=1", f"@{STACK4}", "v4only.mintflow.test",
                     "AAAA"], check=False, timeout=10)
    assert "status: NOERROR" in r.stdout and "ANSWER: 0," in r.stdout, r.stdout
    assert "AUTHORITY: 0," in r.stdout, r.stdout  # no SOA: not cached
    assert "query[AAAA] v4only.mintflow.test" not in dnsmasq.log_text()
    assert re.search(r"v4only\.mintflow\.test\s+AAAA\s+no-ipv6\s+v4only\s+wg4",
                     d.cli("show dns log")), d.cli("show dns log")
    assert re.search(r"^no-ipv6: 1$", d.cli("show dns"), re.M), d.cli("show dns")
    # AAAA of a name routed direct still goes upstream.
    dns.dig(env.app, STACK4, "nflx.mintflow.test", "AAAA")
    assert "query[AAAA] nflx.mintflow.test" in dnsmasq.log_text()


def test_block_doh_resolve(topo, mintflow, tun_name, tmp_path):
    """block: resolve: dns.google resolves (through the user's own Direct
    DNS, which keeps working) and its address goes to reject: TCP to it is
    refused at once."""
    env, _ = start(topo, mintflow, tun_name, tmp_path, block_doh=True, grace=60)
    d = env.d
    status, addrs = dns.dig(env.app, STACK4, "dns.google")
    assert status == "NOERROR" and addrs == [DOH4], (status, addrs)
    assert fib_dns(d).get(DOH4, ("",))[0] == "block", d.cli("show ip fib")
    assert "(doh:builtin)" in fib_dns(d)[DOH4][1]
    t = time.monotonic()
    r = curl(env, f"http://{DOH4}:{HTTP_PORT}/hello")
    assert r.returncode == 7 and time.monotonic() - t < 1.0, r.stderr
    status, addrs = dns.dig(env.app, STACK4, "svc.mintflow.test")
    assert status == "NOERROR" and addrs == [INET4]


def test_block_doh_answer(topo, mintflow, tun_name, tmp_path):
    """block: answer: the DoH names get 0.0.0.0 without asking upstream."""
    env, dnsmasq = start(topo, mintflow, tun_name, tmp_path, block_doh=True,
                         block="answer")
    d = env.d
    for name in ("dns.google", "mozilla.cloudflare-dns.com"):
        status, addrs = dns.dig(env.app, STACK4, name)
        assert status == "NOERROR" and addrs == ["0.0.0.0"], (name, status, addrs)
    assert "dns.google" not in dnsmasq.log_text()
    assert re.search(r"dns\.google\s+A\s+blocked\s+doh:builtin", d.cli("show dns log")), \
        d.cli("show dns log")
