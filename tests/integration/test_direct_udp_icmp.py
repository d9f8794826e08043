"""The host stack behind `direct`: UDP and ICMP echo from the app are
re-originated from the daemon's own kernel sockets (marked 0x7300), and
the answers come back through the TUN.

  +-------------------------- app ---------------------------+      +------- inet -------+
  | client / ping                                            |      | udp echo :7000     |
  |   | rule 7301 "not fwmark 0x7300 lookup 7300"            |      | stun A :7001 (.2)  |
  |   v   table 7300: default dev mftN      (set by the test)|      | server B :7002 (.3)|
  | mftN 172.19.0.1 fdfe:dcba:9876::1 ==TUN== mintflow       |      |                    |
  |   10.9.0.0/24, fd00:9::/64 -> out (direct)               |      |                    |
  |   its sockets (mark 0x7300) -> main table -> veth1a      |      |                    |
  | veth1a 10.9.0.1 fd00:9::1 -------------------------------+------+ veth1b 10.9.0.2/.3 |
  +----------------------------------------------------------+      |  fd00:9::2 / ::3   |
                                                                    +--------------------+

The test installs by hand, in the app namespace only, the rule and table
that auto_route would, so that only the routes it names reach the TUN.
"""

import json
import socket
import time

from mfharness.daemon import profile_yaml
from mfharness.probes import inject, ping, tcp_connect

PYTHON = "/usr/bin/python3"
FWMARK = "0x7300"
TABLE = "7300"

SERVER = r"""
import select, socket, sys, time
def sock(fam, addr, port):
    s = socket.socket(fam, socket.SOCK_DGRAM)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((addr, port))
    return s
echo = [sock(socket.AF_INET, "10.9.0.2", 7000), sock(socket.AF_INET6, "fd00:9::2", 7000)]
stun = {sock(socket.AF_INET, "10.9.0.2", 7001): sock(socket.AF_INET, "10.9.0.3", 7002),
        sock(socket.AF_INET6, "fd00:9::2", 7001): sock(socket.AF_INET6, "fd00:9::3", 7002)}
print("ready", flush=True)
deadline = time.monotonic() + 120
while time.monotonic() < deadline:
    r, _, _ = select.select(echo + list(stun), [], [], 1.0)
    for s in r:
        data, addr = s.recvfrom(65535)
        if s in stun:
            # Tell A's answer the mapped source; B, another address and
            # port, then writes to that mapping out of the blue.
            s.sendto(("%s %d" % (addr[0], addr[1])).encode(), addr)
            stun[s].sendto(b"from-b", addr)
        else:
            s.sendto(data, addr)
"""

CLIENT = r"""
import json, socket, sys
host, port, count, expect = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.settimeout(2.0)
got = []
try:
    for i in range(count):
        s.sendto(b"hello %d" % i, (host, port))
    for i in range(expect):
        data, addr = s.recvfrom(65535)
        got.append([data.decode(errors="replace"), addr[0], addr[1]])
except socket.timeout:
    pass
print(json.dumps({"local": s.getsockname()[1], "got": got}))
"""

PORTS = r"""
import socket, sys
host, n = sys.argv[1], int(sys.argv[2])
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
socks = []
for i in range(n):
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.sendto(b"x", (host, 7000))
    socks.append(s)
print("sent", n)
"""


def udp_client(ns, host, port, count=1, expect=1):
    r = ns.run([PYTHON, "-c", CLIENT, host, str(port), str(count), str(expect)],
               timeout=10)
    return json.loads(r.stdout.strip().splitlines()[-1])


def ctl(d, *args):
    """A control request straight on the socket (the CLI front end knows only
    the read-only verbs): status line, then text."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(str(d.socket))
    s.sendall("\x1f".join(args).encode() + b"\n")
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    text = data.decode()
    assert text.startswith("0"), f"{args}: {text}"
    return text


def hoststack(d):
    out = {}
    for line in d.cli("show hoststack").splitlines():
        k, _, v = line.partition(":")
        if v.strip().split()[0].isdigit():
            out[k.strip()] = int(v.split()[0])
    return out


def start(topo, mintflow, tun_name):
    app, inet = topo.ns("app"), topo.ns("inet")
    topo.veth(app, ["10.9.0.1/24", "fd00:9::1/64"], inet,
              ["10.9.0.2/24", "10.9.0.3/24", "fd00:9::2/64", "fd00:9::3/64"])
    server = inet.popen([PYTHON, "-c", SERVER], name="udp-servers")
    server.wait_output("ready")
    d = mintflow(app, profile_yaml(
        tun_name, auto_route=False,
        interfaces=[("out", "direct"), ("blocked", "reject")],
        routes=[("0.0.0.0/0", "blocked"), ("::/0", "blocked"),
                ("10.9.0.0/24", "out"), ("fd00:9::/64", "out")]))
    for v in ("-4", "-6"):
        app.ip(v, "rule", "add", "not", "fwmark", FWMARK, "lookup", TABLE,
               "priority", "7301")
        app.ip(v, "route", "add", "default", "dev", tun_name, "table", TABLE)
    return app, inet, d


def test_udp_round_trip_v4_v6(topo, mintflow, tun_name):
    app, _, d = start(topo, mintflow, tun_name)
    for host in ("10.9.0.2", "fd00:9::2"):
        r = udp_client(app, host, 7000, count=3, expect=3)
        assert sorted(g[0] for g in r["got"]) == ["hello 0", "hello 1", "hello 2"], r
        assert all(g[1] == host and g[2] == 7000 for g in r["got"]), r
    e = d.errors()
    assert e.get(("hs-direct", "udp-sent"), 0) == 6, e
    sessions = d.cli("show sessions")
    assert sessions.count("udp") == 2, sessions
    hs = hoststack(d)
    assert hs["opened"] == 2 and hs["refused"] == 0, hs
    # Packets reached the direct interface both ways.
    ifs = d.interfaces()
    assert ifs["out"].tx_packets >= 6 and ifs["out"].rx_packets >= 6, ifs


def test_udp_full_cone(topo, mintflow, tun_name):
    """Endpoint-independent filtering (RFC 4787): B, never written to, reaches
    the app through the mapping the app opened towards A."""
    app, _, d = start(topo, mintflow, tun_name)
    for host, b in (("10.9.0.2", "10.9.0.3"), ("fd00:9::2", "fd00:9::3")):
        r = udp_client(app, host, 7001, count=1, expect=2)
        got = {g[0]: (g[1], g[2]) for g in r["got"]}
        assert got.get("from-b") == (b, 7002), r
        mapped = [k for k in got if k != "from-b"]
        assert mapped and mapped[0].split()[0] in ("10.9.0.1", "fd00:9::1"), r


def test_ping_through_direct(topo, mintflow, tun_name):
    app, _, d = start(topo, mintflow, tun_name)
    ping(app, "10.9.0.2")
    ping(app, "fd00:9::2", v6=True)
    e = d.errors()
    assert e.get(("hs-direct", "echo-sent"), 0) >= 6, e
    sessions = d.cli("show sessions")
    assert sessions.count("icmp") == 2, sessions


def test_tcp_refused_and_other_protocols_dropped_by_name(topo, mintflow, tun_name):
    """TCP to a port nobody serves: the server's RST to our upstream connect
    reaches the app as a refused connect, at once. A protocol the host
    stack does not carry is dropped under its name."""
    from scapy.layers.inet import IP
    app, _, d = start(topo, mintflow, tun_name)
    r = tcp_connect(app, "10.9.0.2", 7000, timeout=3.0)
    assert r["result"] == "refused" and r["elapsed"] < 1.0, r
    inject(app, tun_name, [bytes(IP(src="172.19.0.1", dst="10.9.0.2", proto=47) / b"gre?")])
    time.sleep(0.3)
    e = d.errors()
    assert e.get(("hs-direct", "not-served"), 0) == 1, e
    hs = hoststack(d)
    assert hs["tcp-upstream-refused"] == 1 and hs["tcp-sessions"] == 0, hs


def test_malformed_udp_counted(topo, mintflow, tun_name):
    from scapy.layers.inet import IP, UDP
    from scapy.layers.inet6 import IPv6
    app, _, d = start(topo, mintflow, tun_name)
    pkts = [
        IP(src="172.19.0.1", dst="10.9.0.2") / UDP(sport=4000, dport=7000, chksum=0x1234) / b"bad sum",
        IP(src="172.19.0.1", dst="10.9.0.2") / UDP(sport=4001, dport=7000, len=200) / b"too long",
        IP(src="172.19.0.1", dst="10.9.0.2") / UDP(sport=4002, dport=7000, len=4) / b"too short",
        IPv6(src="fdfe:dcba:9876::1", dst="fd00:9::2") / UDP(sport=4003, dport=7000, chksum=0) / b"v6 no sum",
    ]
    inject(app, tun_name, [bytes(p) for p in pkts])
    time.sleep(0.3)
    e = d.errors()
    assert e.get(("hs-direct", "bad-udp-checksum"), 0) == 2, e
    assert e.get(("hs-direct", "bad-udp-length"), 0) == 2, e
    assert hoststack(d)["opened"] == 0
    # A sound one still goes through.
    r = udp_client(app, "10.9.0.2", 7000)
    assert r["got"], r


def test_malformed_icmp_and_fragments_counted(topo, mintflow, tun_name):
    from scapy.layers.inet import ICMP, IP, UDP
    from scapy.layers.inet6 import ICMPv6EchoRequest, ICMPv6EchoReply, IPv6
    app, _, d = start(topo, mintflow, tun_name)
    src4, src6 = "172.19.0.1", "fdfe:dcba:9876::1"
    pkts = [
        IP(src=src4, dst="10.9.0.2") / ICMP(type=8, id=1, chksum=0x4242) / b"bad sum",
        IP(src=src4, dst="10.9.0.2") / ICMP(type=13) / b"timestamp",
        IP(src=src4, dst="10.9.0.2") / b"\x08\x00\xf7",
        IPv6(src=src6, dst="fd00:9::2") / ICMPv6EchoRequest(id=2, cksum=0x4242),
        IPv6(src=src6, dst="fd00:9::2") / ICMPv6EchoReply(id=3),
        IP(src=src4, dst="10.9.0.2", flags="MF") / UDP(sport=5000, dport=7000) / b"first",
        IP(src=src4, dst="10.9.0.2", frag=10, proto=17) / b"later",
    ]
    pkts[2][IP].proto = 1
    inject(app, tun_name, [bytes(p) for p in pkts])
    time.sleep(0.3)
    e = d.errors()
    assert e.get(("hs-direct", "bad-icmp-checksum"), 0) == 2, e
    assert e.get(("hs-direct", "icmp-not-echo"), 0) == 2, e
    assert e.get(("hs-direct", "bad-icmp-length"), 0) == 1, e
    assert e.get(("hs-direct", "fragment"), 0) == 2, e
    assert hoststack(d)["opened"] == 0
    ping(app, "10.9.0.2", count=1)


def test_session_limit_and_idle_expiry(topo, mintflow, tun_name):
    app, _, d = start(topo, mintflow, tun_name)
    ctl(d, "set", "hoststack", "max-sessions", "3", "udp-idle", "1")
    app.run([PYTHON, "-c", PORTS, "10.9.0.2", "5"], timeout=10)
    time.sleep(0.3)
    hs = hoststack(d)
    assert hs["opened"] == 3 and hs["refused"] == 2, hs
    assert d.errors().get(("hs-direct", "session-limit"), 0) == 2
    deadline = time.monotonic() + 6
    while time.monotonic() < deadline and hoststack(d)["expired"] < 3:
        time.sleep(0.5)
    hs = hoststack(d)
    assert hs["expired"] == 3 and hs["sessions"] == 0, hs
    assert "no sessions" in d.cli("show sessions")
    # Room again once they expired.
    r = udp_client(app, "10.9.0.2", 7000)
    assert r["got"], r


def test_icmp_sessions_limited_and_expire(topo, mintflow, tun_name):
    app, _, d = start(topo, mintflow, tun_name)
    ctl(d, "set", "hoststack", "max-sessions", "1", "icmp-idle", "1")
    ping(app, "10.9.0.2", count=1)
    # Another identifier (a second ping process) is another session: refused.
    r = app.run(["ping", "-c", "1", "-W", "1", "fd00:9::2"], check=False, timeout=5)
    assert r.returncode != 0, r.stdout
    assert d.errors().get(("hs-direct", "session-limit"), 0) >= 1
    deadline = time.monotonic() + 6
    while time.monotonic() < deadline and hoststack(d)["expired"] < 1:
        time.sleep(0.5)
    assert hoststack(d)["expired"] == 1
    ping(app, "fd00:9::2", v6=True, count=1)
