"""DNS over TCP to the built-in DNS server (RFC 1035 4.2.2, RFC 7766): the
app asks the stack's addresses on TCP port 53; the daemon's host stack
terminates the connection and hands the stream to the DNS server, which
serves each framed query by the same path as a UDP one (the Direct DNS
server in inet, over UDP) and writes the answers framed back.

  +---------------------------- app -----------------------------+      +------------ inet ------------------+
  | dig +tcp @172.19.0.2 / @fdfe:dcba:9876::2, python sockets    |      | dnsmasq :53 (Direct DNS)           |
  |   v table 7300 (auto_route)                                  |      |   svc / ads / tracker.mintflow.test|
  | mftN ==TUN== mintflow   DNS server on 172.19.0.2:53 udp+tcp  |      |   big.mintflow.test: 60 A records  |
  |   hs-tcp -> socketpair -> DNS server                         |      |   (an addn-hosts file)             |
  | veth1a 198.18.0.1/24 ----------------------------------------+------+ veth1b 198.18.0.2, .3, .4 /24      |
  +--------------------------------------------------------------+      +------------------------------------+
"""

import json
import re
import time

from mfharness import probes
from mfharness.inet import INET4, PYTHON
from test_approute_dns import ADS4, NAMES, STACK4, TRACKER4, DnsEnv

STACK6 = "fdfe:dcba:9876::2"
BIG = "big.mintflow.test"
BIG_ADDRS = [f"198.18.1.{i}" for i in range(1, 61)]


class DnsTcpEnv(DnsEnv):
    """The App Routing DNS topology; dnsmasq also knows a name with 60
    addresses, an answer far beyond 512 bytes."""

    def start_names(self):
        hosts = f"{self.workdir}/big.hosts"
        with open(hosts, "w") as f:
            f.writelines(f"{a} {BIG}\n" for a in BIG_ADDRS)
        return self._start_dnsmasq([f"--addn-hosts={hosts}"])

    def _start_dnsmasq(self, extra):
        for a in (ADS4, TRACKER4):
            self.inet.ip("addr", "add", a + "/24", "dev", self.inet_if)
        argv = ["dnsmasq", "-k", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
                "--user=root", "--bind-interfaces", "--port=53",
                f"--listen-address={INET4}", "--local-ttl=30",
                f"--pid-file={self.workdir}/dnsmasq.pid",
                "--log-queries", "--log-facility=-"] + extra
        argv += [f"--address=/{n}/{a}" for n, a in NAMES.items()]
        p = self.inet.popen(argv, name="dnsmasq")
        p.wait_output("started, version", timeout=10)
        self.wait_listening(53, "u")
        return p


def start(topo, mintflow, tun_name, tmp_path, hijack=False):
    hosts = tmp_path / "trackers.hosts"
    hosts.write_text("0.0.0.0 tracker.mintflow.test\n")
    env = DnsTcpEnv(topo, mintflow, tun_name, tmp_path,
                    daemon_only="the DNS server is the daemon's")
    env.hosts_file = str(hosts)
    env.hijack = hijack
    env.start()
    dnsmasq = env.start_names()
    return env, dnsmasq


def dig(env, server, *names, tcp=True, extra=()):
    """dig's output for one or more names (A), over TCP by default."""
    argv = ["dig", "+time=4", "+tries=1", f"@{server}"] + (["+tcp"] if tcp else [])
    argv += list(extra) + list(names)
    r = env.app.run(argv, check=False, timeout=20)
    return r.stdout


def answers(out, name):
    return re.findall(rf"^{re.escape(name)}\.\s+\d+\s+IN\s+A\s+(\S+)$", out, re.M)


def statuses(out):
    return re.findall(r"status: (\w+)", out)


def tcp_stats(d):
    text = d.cli("show dns")
    return {m.group(1): int(m.group(2))
            for m in re.finditer(r"^tcp-([a-z-]+): (\d+)", text, re.M)}


def test_tcp_answers_as_udp(topo, mintflow, tun_name, tmp_path):
    env, dnsmasq = start(topo, mintflow, tun_name, tmp_path)
    d = env.d
    for server in (STACK4, STACK6):
        for name, addr in NAMES.items():
            udp = dig(env, server, name, tcp=False)
            tcp = dig(env, server, name)
            assert statuses(tcp) == ["NOERROR"], tcp
            assert answers(tcp, name) == answers(udp, name) == [addr], (udp, tcp)
    # The names went upstream over UDP from the stack's address (the first
    # answer of each; the rest came from the cache), and the canary never.
    log = dnsmasq.log_text()
    for name in NAMES:
        assert re.search(rf"query\[A\] {re.escape(name)} from 198\.18\.0\.1", log), log
    out = dig(env, STACK4, "use-application-dns.net")
    assert statuses(out) == ["NXDOMAIN"], out
    st = tcp_stats(d)
    assert st["accepted"] >= 2 * len(NAMES) + 1, st
    assert st["queries"] >= 2 * len(NAMES) + 1 and st["framing-errors"] == 0, st
    assert st["refused"] == 0 and st["answers-lost"] == 0, st
    # Answers for set names still became host routes over TCP.
    assert "source dns" in d.cli("show ip fib")


def test_keepopen_several_queries_one_connection(topo, mintflow, tun_name, tmp_path):
    env, _ = start(topo, mintflow, tun_name, tmp_path)
    before = tcp_stats(env.d)
    names = list(NAMES) + ["use-application-dns.net"]
    out = dig(env, STACK4, *names, extra=["+keepopen"])
    assert statuses(out) == ["NOERROR"] * 3 + ["NXDOMAIN"], out
    for name, addr in NAMES.items():
        assert answers(out, name) == [addr], out
    after = tcp_stats(env.d)
    assert after["accepted"] - before["accepted"] == 1, (before, after)
    assert after["queries"] - before["queries"] == len(names), (before, after)


def test_big_answer_complete_over_tcp(topo, mintflow, tun_name, tmp_path):
    env, _ = start(topo, mintflow, tun_name, tmp_path)
    # Without EDNS a UDP client is held to 512 bytes: TC set, cut short.
    udp = dig(env, STACK4, BIG, tcp=False, extra=["+noedns", "+ignore"])
    assert "tc" in re.search(r"flags: ([a-z ]+);", udp).group(1).split(), udp
    assert len(answers(udp, BIG)) < len(BIG_ADDRS), udp
    for server in (STACK4, STACK6):
        out = dig(env, server, BIG, extra=["+noedns"])
        assert statuses(out) == ["NOERROR"], out
        assert sorted(answers(out, BIG)) == sorted(BIG_ADDRS), out
        size = int(re.search(r"MSG SIZE\s+rcvd: (\d+)", out).group(1))
        assert size > 512, out
        assert "tc" not in re.search(r"flags: ([a-z ]+);", out).group(1).split(), out
    assert tcp_stats(env.d)["truncated"] == 0


def test_other_tcp_port_refused(topo, mintflow, tun_name, tmp_path):
    env, _ = start(topo, mintflow, tun_name, tmp_path)
    for server in (STACK4, STACK6):
        r = probes.tcp_connect(env.app, server, 80, timeout=2.0)
        assert r["result"] == "refused", r
        assert r["elapsed"] < 1.0, r
        r = probes.tcp_connect(env.app, server, 53, timeout=2.0)
        assert r["result"] == "connected", r


# A client of our own: connects, sends the bytes given (hex), half-closes
# when told, and reports whether the server closed and what it sent.
CLIENT = r"""
import json, socket, sys, time
host, data, shut, wait = sys.argv[1], bytes.fromhex(sys.argv[2]), sys.argv[3] == "1", float(sys.argv[4])
s = socket.create_connection((host, 53), timeout=3)
s.sendall(data)
if shut:
    s.shutdown(socket.SHUT_WR)
s.settimeout(wait)
got, closed, t0 = b"", False, time.monotonic()
try:
    while time.monotonic() - t0 < wait:
        b = s.recv(4096)
        if not b:
            closed = True
            break
        got += b
except socket.timeout:
    pass
except ConnectionResetError:
    closed = True
print(json.dumps({"closed": closed, "got": got.hex(), "elapsed": time.monotonic() - t0}))
"""


def client(env, host, data, shut=False, wait=3.0):
    r = env.app.run([PYTHON, "-c", CLIENT, host, data.hex(), "1" if shut else "0",
                     str(wait)], timeout=wait + 10)
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_bad_framing_closes_connection(topo, mintflow, tun_name, tmp_path):
    env, _ = start(topo, mintflow, tun_name, tmp_path)
    d = env.d
    # A length prefix below a DNS header: the stream cannot be trusted.
    r = client(env, STACK4, b"\x00\x05hello")
    assert r["closed"] and r["got"] == "", r
    # Zero-length frame, garbage after it.
    r = client(env, STACK6, b"\x00\x00" + bytes(range(40)))
    assert r["closed"] and r["got"] == "", r
    # A frame cut by the client's close: 64 bytes announced, 10 sent.
    r = client(env, STACK4, b"\x00\x40" + b"\x12\x34" + b"\x00" * 8, shut=True)
    assert r["closed"] and r["got"] == "", r
    deadline = time.monotonic() + 3
    while tcp_stats(d)["framing-errors"] < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    st = tcp_stats(d)
    assert st["framing-errors"] == 3, st
    # A query, then a half-close: the answer still comes, then the close.
    query = bytes.fromhex("beef01000001000000000000") + \
        b"\x03svc\x08mintflow\x04test\x00" + b"\x00\x01\x00\x01"
    r = client(env, STACK4, len(query).to_bytes(2, "big") + query, shut=True)
    got = bytes.fromhex(r["got"])
    assert r["closed"] and len(got) > 2 + 12, r
    assert int.from_bytes(got[:2], "big") == len(got) - 2 and got[2:4] == b"\xbe\xef", r
    # The server still answers the next client.
    out = dig(env, STACK4, "svc.mintflow.test")
    assert statuses(out) == ["NOERROR"] and answers(out, "svc.mintflow.test"), out
    assert tcp_stats(d)["open"] <= 1


def test_idle_connection_closed(topo, mintflow, tun_name, tmp_path):
    env, _ = start(topo, mintflow, tun_name, tmp_path)
    t = time.monotonic()
    r = client(env, STACK4, b"", wait=14.0)
    assert r["closed"], r
    assert 9.0 <= r["elapsed"] <= 13.0, r
    assert tcp_stats(env.d)["idle-closes"] == 1
    assert time.monotonic() - t < 20


def test_hijack_takes_tcp_queries_to_any_server(topo, mintflow, tun_name, tmp_path):
    """dns.hijack covers TCP: a query over TCP to port 53 of an address
    where no DNS server listens (198.18.0.3: inet's, dnsmasq is bound to
    .2 only) is answered by the stack's server all the same."""
    env, dnsmasq = start(topo, mintflow, tun_name, tmp_path, hijack=True)
    d = env.d
    out = dig(env, ADS4, "use-application-dns.net")
    assert statuses(out) == ["NXDOMAIN"], out  # the canary: ours answered
    out = dig(env, ADS4, "svc.mintflow.test")
    assert statuses(out) == ["NOERROR"], out
    assert answers(out, "svc.mintflow.test") == [INET4], out
    st = tcp_stats(d)
    assert st["accepted"] >= 2 and st["queries"] >= 2, st
    assert "svc.mintflow.test" in d.cli("show dns log")
    # The name went upstream from the stack, over UDP, as any query.
    assert re.search(r"query\[A\] svc\.mintflow\.test from 198\.18\.0\.1",
                     dnsmasq.log_text())


# ---- a truncated upstream answer, asked again over TCP ----
#
# The retry is a kernel socket of the daemon bound to the TUN and its own
# address 172.19.0.1, from a port of 61440..62463: it enters the TUN as
# the app's traffic would and leaves through `direct` (the host stack), so
# dnsmasq sees it from 198.18.0.1 like the UDP try.
#
#   dig +tcp --> 172.19.0.2:53 (server) --UDP--> dnsmasq: TC
#                      |  socket 172.19.0.1:614xx -> mftN -> hs-direct --TCP--> dnsmasq
#                      +<--- the whole answer --------------------------------+

HUGE = "huge.mintflow.test"
HUGE_ADDRS = [f"198.18.{2 + i // 250}.{1 + i % 250}" for i in range(150)]
TC_ONLY4 = "198.18.0.5"  # a UDP-only upstream that always answers TC

# Answers every query with TC set and no records; no TCP listener, so the
# retry is refused. Bounded: it stops after 120 s whatever happens.
TC_RESPONDER = r"""
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 53))
s.settimeout(0.5)
print("listening", flush=True)
t0 = time.monotonic()
while time.monotonic() - t0 < 120:
    try:
        q, peer = s.recvfrom(4096)
    except socket.timeout:
        continue
    if len(q) < 12:
        continue
    end = 12
    while end < len(q) and q[end] != 0:
        end += 1 + q[end]
    question = q[12:end + 5]
    flags = bytes([0x80 | 0x02 | (q[2] & 0x01), 0x80])
    s.sendto(q[:2] + flags + b"\x00\x01\x00\x00\x00\x00\x00\x00" + question, peer)
"""


class DnsTcpUpEnv(DnsTcpEnv):
    """DnsTcpEnv with a name whose answer (150 A records, about 2.4 kB)
    does not fit even a 1232-byte EDNS answer over UDP; optionally without
    auto_route, or with the TC-only responder as Direct DNS."""

    auto_route = True
    direct_dns = INET4

    def profile(self):
        text = super().profile()
        if not self.auto_route:
            text = text.replace("auto_route: true", "auto_route: false")
        return text.replace(f'direct: ["{INET4}"]', f'direct: ["{self.direct_dns}"]')

    def _start_daemon(self):
        if self.auto_route:
            return super()._start_daemon()
        # Without auto_route the machine reaches inet over the veth; only
        # the TUN's own /30 (the stack's DNS address) goes to the TUN.
        self.d = self.mintflow(self.app, self.profile())
        assert f"dev {self.tun}" not in self.app.ip("route", "get", INET4)
        assert f"dev {self.tun}" in self.app.ip("route", "get", STACK4)

    def start_names(self):
        hosts = f"{self.workdir}/huge.hosts"
        with open(hosts, "w") as f:
            f.writelines(f"{a} {HUGE}\n" for a in HUGE_ADDRS)
        return self._start_dnsmasq([f"--addn-hosts={hosts}"])


def start_up(topo, mintflow, tun_name, tmp_path, hijack=False, auto_route=True,
             direct_dns=INET4):
    hosts = tmp_path / "trackers.hosts"
    hosts.write_text("0.0.0.0 tracker.mintflow.test\n")
    env = DnsTcpUpEnv(topo, mintflow, tun_name, tmp_path,
                      daemon_only="the DNS server is the daemon's")
    env.hosts_file = str(hosts)
    env.hijack = hijack
    env.auto_route = auto_route
    env.direct_dns = direct_dns
    env.start()
    return env, env.start_names()


def flags(out):
    m = re.search(r"flags: ([a-z ]+);", out)
    return m.group(1).split() if m else []


def check_retry_brings_whole_answer(env, dnsmasq):
    d = env.d
    # A UDP client still gets TC and nothing is retried for it.
    udp = dig(env, STACK4, HUGE, tcp=False, extra=["+ignore"])
    assert "tc" in flags(udp), udp
    st = tcp_stats(d)
    assert st["upstream-retries"] == 0, st
    t = time.monotonic()
    out = dig(env, STACK4, HUGE)
    assert time.monotonic() - t < 3.0
    assert statuses(out) == ["NOERROR"], out
    assert "tc" not in flags(out), out
    assert sorted(answers(out, HUGE)) == sorted(HUGE_ADDRS), out
    st = tcp_stats(d)
    assert st["upstream-retries"] == 1 and st["upstream-answers"] == 1, st
    assert st["upstream-failures"] == 0 and st["upstream-full"] == 0, st
    assert st["truncated"] == 0, st
    # dnsmasq saw the name three times from the machine's side: the UDP
    # client's try, the TCP client's UDP try, and its TCP retry.
    log = dnsmasq.log_text()
    assert len(re.findall(rf"query\[A\] {re.escape(HUGE)} from 198\.18\.0\.1", log)) >= 3, log
    # The retry's socket is closed and nothing leaks.
    deadline = time.monotonic() + 3
    while tcp_stats(d)["upstream-open"] != 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert tcp_stats(d)["upstream-open"] == 0


def test_truncated_answer_retried_over_tcp(topo, mintflow, tun_name, tmp_path):
    env, dnsmasq = start_up(topo, mintflow, tun_name, tmp_path)
    check_retry_brings_whole_answer(env, dnsmasq)


def test_truncated_answer_retried_without_auto_route(topo, mintflow, tun_name, tmp_path):
    """The socket is bound to the TUN: it needs no route of the machine's."""
    env, dnsmasq = start_up(topo, mintflow, tun_name, tmp_path, auto_route=False)
    check_retry_brings_whole_answer(env, dnsmasq)


def test_truncated_answer_retried_with_hijack(topo, mintflow, tun_name, tmp_path):
    """dns.hijack takes TCP to port 53 from the TUN, but not our retry."""
    env, dnsmasq = start_up(topo, mintflow, tun_name, tmp_path, hijack=True)
    check_retry_brings_whole_answer(env, dnsmasq)


def test_upstream_without_tcp_relays_tc(topo, mintflow, tun_name, tmp_path):
    env, _ = start_up(topo, mintflow, tun_name, tmp_path, direct_dns=TC_ONLY4)
    env.inet.ip("addr", "add", TC_ONLY4 + "/24", "dev", env.inet_if)
    p = env.inet.popen([PYTHON, "-c", TC_RESPONDER, TC_ONLY4], name="tc-responder")
    p.wait_output("listening", timeout=5)
    t = time.monotonic()
    out = dig(env, STACK4, "svc.mintflow.test", extra=["+ignore"])
    assert time.monotonic() - t < 3.0, out
    assert statuses(out) == ["NOERROR"] and "tc" in flags(out), out
    st = tcp_stats(env.d)
    assert st["upstream-retries"] == 1 and st["upstream-failures"] == 1, st
    assert st["upstream-answers"] == 0 and st["truncated"] == 1, st
    assert st["upstream-open"] == 0, st
