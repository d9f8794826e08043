"""Malformed TCP segments written into the TUN toward a `direct` route are
each counted under their named error of the host stack's TCP node and
dropped (no session opened); a normal curl still works afterwards.

  +------------------------- app --------------------------+       +---------------- inet ----------------+
  | probe.py inject: scapy-built segments written as-is    |       | inet_tool.py http :8080               |
  |   into mftN, 172.19.0.1 -> 198.18.0.2:8080             |       |                                       |
  |   (and fdfe:dcba:9876::1 -> 2001:db8:1::2)             |       |                                       |
  | mftN ==TUN== mintflow  0/0, ::/0 -> direct             |       |                                       |
  |   ... -> ip4/6-lookup -> hs-tcp: counted, dropped      |       |                                       |
  | veth1a 198.18.0.1/24 2001:db8:1::1/64 -----------------+-------+ veth1b 198.18.0.2/24 2001:db8:1::2/64 |
  +--------------------------------------------------------+       +---------------------------------------+

Daemon path only: the kernel path has no TUN to write into."""

import struct

from scapy.layers.inet import IP, TCP
from scapy.layers.inet6 import IPv6
from scapy.packet import Raw

from mfharness import probes
from mfharness.daemon import TUN_ADDR4, TUN_ADDR6
from mfharness import inet
from mfharness.inet import HTTP_PORT, INET4, INET6, url

inet_env = inet.inet_env  # the fixture, requested by name

# The node and error names this suite expects (one place to adjust them).
NODE = "hs-tcp"
BAD_FLAGS = (NODE, "tcp-bad-flags")
BAD_HEADER = (NODE, "bad-tcp-header")
BAD_CHECKSUM = (NODE, "bad-tcp-checksum")


def v4(**tcp):
    return IP(src=TUN_ADDR4, dst=INET4) / TCP(sport=40001, dport=HTTP_PORT, **tcp)


def v6(**tcp):
    return IPv6(src=TUN_ADDR6, dst=INET6) / TCP(sport=40001, dport=HTTP_PORT, **tcp)


def with_bad_tcp_checksum(pkt, ip_header_len):
    """The segment with its (correct) checksum flipped: only that is wrong."""
    b = bytearray(bytes(pkt))
    off = ip_header_len + 16
    good = struct.unpack("!H", b[off:off + 2])[0]
    b[off:off + 2] = struct.pack("!H", good ^ 0x5A5A)
    return bytes(b)


# (what, packet bytes, expected counter). scapy computes every checksum
# over the fields as given, so only the field under test is wrong.
CASES = [
    ("SYN+FIN", bytes(v4(flags="SF", seq=1000)), BAD_FLAGS),
    ("no flags at all", bytes(v4(flags=0, seq=1000) / b"data"), BAD_FLAGS),
    ("SYN+RST", bytes(v4(flags="SR", seq=1000)), BAD_FLAGS),
    ("ipv6 SYN+FIN", bytes(v6(flags="SF", seq=1000)), BAD_FLAGS),
    ("data offset 4 (16-byte header)", bytes(v4(flags="S", dataofs=4)), BAD_HEADER),
    ("data offset 0", bytes(v4(flags="S", dataofs=0)), BAD_HEADER),
    ("data offset 15, 20 bytes there", bytes(v4(flags="S", dataofs=15)), BAD_HEADER),
    ("tcp header cut at 12 bytes", bytes(IP(src=TUN_ADDR4, dst=INET4, proto=6)
                                         / Raw(bytes(v4(flags="S")[TCP])[:12])),
     BAD_HEADER),
    ("ipv6 data offset 15", bytes(v6(flags="S", dataofs=15)), BAD_HEADER),
    ("SYN with a wrong checksum", with_bad_tcp_checksum(v4(flags="S"), 20), BAD_CHECKSUM),
    ("data with a wrong checksum",
     with_bad_tcp_checksum(v4(flags="PA", seq=1, ack=1) / b"payload", 20), BAD_CHECKSUM),
    ("ipv6 SYN with a wrong checksum", with_bad_tcp_checksum(v6(flags="S"), 40),
     BAD_CHECKSUM),
]


def test_each_malformed_segment_has_its_counter(inet_env, tmp_path):
    env = inet_env(daemon_only="no TUN to write into on the kernel path")
    env.start_http(str(tmp_path))
    d = env.d
    opened = env.opened()
    failures = []
    for what, pkt, key in CASES:
        before = d.errors()
        probes.inject(env.app, env.tun, [pkt])
        after = d.wait_counter(d.errors, lambda e: e.get(key, 0) > before.get(key, 0),
                               timeout=2.0)
        got = after.get(key, 0) - before.get(key, 0)
        moved = {k: after.get(k, 0) - before.get(k, 0) for k in after
                 if k[0] == NODE and k != key and after[k] != before.get(k, 0)}
        if got != 1 or moved:
            failures.append(f"{what} ({pkt[:60].hex()}): expected {key[1]} +1, "
                            f"got +{got}; other {NODE} changes: {moved}")
        if not d.running():
            failures.append(f"daemon died after: {what}")
            break
    assert not failures, "\n".join(failures) + "\n\nshow errors:\n" + d.cli("show errors")
    assert env.opened() == opened, "a malformed segment opened a session"
    # Still serving: a normal request through the same path.
    (tmp_path / "hello").write_bytes(b"hello\n")
    for host in (INET4, INET6):
        assert env.curl(url(host, "hello")).stdout == "hello\n"


def test_burst_of_malformed_then_curl(inet_env, tmp_path):
    """The cases 20 times over in one write burst (several vectors of mixed
    errors): all counted, and curl still gets its answer."""
    env = inet_env(daemon_only="no TUN to write into on the kernel path")
    env.start_http(str(tmp_path))
    d = env.d
    burst = [c[1] for c in CASES] * 20
    expected = {}
    for _, _, key in CASES:
        expected[key] = expected.get(key, 0) + 20
    before = d.errors()
    probes.inject(env.app, env.tun, burst)
    after = d.wait_counter(d.errors, lambda e: all(
        e.get(k, 0) - before.get(k, 0) >= n for k, n in expected.items()), timeout=3.0)
    short = {k[1]: (after.get(k, 0) - before.get(k, 0), n) for k, n in expected.items()
             if after.get(k, 0) - before.get(k, 0) != n}
    assert not short, f"(got, expected) per counter: {short}"
    (tmp_path / "hello").write_bytes(b"hello\n")
    assert env.curl(url(INET4, "hello")).stdout == "hello\n"
