"""Malformed packets written into the TUN are each counted under their exact
error name and dropped; the daemon keeps answering afterwards.

  +------------------------------ app -------------------------------------+
  |  probe.py inject: AF_PACKET/SOCK_DGRAM socket on mftN writes the bytes |
  |  unchanged into the TUN (checked by test_harness_selftest)             |
  |    v                                                                   |
  |  mftN 172.19.0.1/30 fdfe:dcba:9876::1/126  ==TUN==  mintflow           |
  |             tun-input -> ip4-input/ip6-input -> lookup -> ip4-local    |
  +------------------------------------------------------------------------+
"""

import struct

from scapy.layers.inet import ICMP, IP, UDP
from scapy.layers.inet6 import ICMPv6EchoRequest, IPv6
from scapy.packet import Raw

from mfharness import probes
from mfharness.probes import ping
from mfharness.daemon import STACK_ADDR4, STACK_ADDR6, TUN_ADDR4, TUN_ADDR6


def v4(**kw):
    return IP(src=TUN_ADDR4, dst=STACK_ADDR4, **kw)


def v6(**kw):
    return IPv6(src=TUN_ADDR6, dst=STACK_ADDR6, **kw)


def with_bad_ip_checksum(pkt):
    b = bytearray(bytes(pkt))
    good = struct.unpack("!H", b[10:12])[0]
    b[10:12] = struct.pack("!H", good ^ 0x5A5A)
    return bytes(b)


def echo4():
    return bytes(v4() / ICMP(type=8, id=0x4D46, seq=1) / Raw(b"x" * 16))


def echo6():
    return bytes(v6() / ICMPv6EchoRequest(id=0x4D46, seq=1, data=b"x" * 16))


# (what, packet bytes, (node, reason)). IPv4 header fields other than the one
# under test are consistent (scapy recomputes the checksum over the header
# as given), so exactly one check can fail.
CASES = [
    ("ipv4 header checksum wrong", with_bad_ip_checksum(echo4()),
     ("ip4-input", "bad-checksum")),
    ("ipv4 header cut at 12 bytes", echo4()[:12], ("ip4-input", "too-short")),
    ("1-byte packet, version 4", b"\x45", ("ip4-input", "too-short")),
    ("ipv4 ihl 4 (16-byte header)", bytes(v4(ihl=4) / ICMP()),
     ("ip4-input", "bad-header-length")),
    ("ipv4 total length 200 > 36 bytes", bytes(v4(len=200) / ICMP() / Raw(b"abcdefgh")),
     ("ip4-input", "bad-total-length")),
    ("ipv4 total length 12 < header", bytes(v4(len=12) / ICMP()),
     ("ip4-input", "bad-total-length")),
    ("version 5", b"\x55" + echo4()[1:], ("tun-input", "unknown-ip-version")),
    ("version 0", bytes(20), ("tun-input", "unknown-ip-version")),
    ("ipv6 header cut at 20 bytes", echo6()[:20], ("ip6-input", "too-short")),
    ("1-byte packet, version 6", b"\x60", ("ip6-input", "too-short")),
    ("ipv6 payload length 200 > packet", bytes(v6(plen=200) / ICMPv6EchoRequest()),
     ("ip6-input", "bad-payload-length")),
    ("icmp echo with wrong icmp checksum",
     bytes(v4() / ICMP(type=8, chksum=0x1234)),
     ("ip4-local", "bad-icmp-checksum")),
    ("icmp timestamp request to the stack", bytes(v4() / ICMP(type=13)),
     ("ip4-local", "not-echo-request")),
    ("ip protocol 253 to the stack", bytes(v4(proto=253) / Raw(b"experiment")),
     ("ip4-local", "unknown-protocol")),
    ("udp to the stack, nothing listens", bytes(v4() / UDP(sport=40000, dport=9)),
     ("ip4-local", "no-listener")),
    ("icmpv6 echo with wrong checksum",
     bytes(v6() / ICMPv6EchoRequest(cksum=0x1234)),
     ("ip6-local", "bad-icmp-checksum")),
]

# Counters no kernel chatter can move: any change besides the expected one
# is a misclassification. The kernel's own IPv6 packets on the TUN (router
# solicitations, MLD reports, all to multicast groups) are let through:
# ip6-input's `multicast`, and ip6-local as a whole.
QUIET_NODES = {"tun-input", "ip4-input", "ip6-input", "ip4-local"}
KERNEL_CHATTER = {("ip6-input", "multicast")}


def test_each_malformed_packet_has_its_counter(core):
    d = core.d
    failures = []
    for what, pkt, key in CASES:
        before = d.errors()
        probes.inject(core.ns, core.tun, [pkt])
        after = d.wait_counter(
            d.errors, lambda e: e.get(key, 0) - before.get(key, 0) >= 1,
            timeout=2.0)
        got = after.get(key, 0) - before.get(key, 0)
        moved = {k: after.get(k, 0) - before.get(k, 0)
                 for k in after.keys() | before.keys()
                 if k != key and k[0] in QUIET_NODES and k not in KERNEL_CHATTER
                 and after.get(k, 0) != before.get(k, 0)}
        if got != 1 or moved:
            failures.append(f"{what} ({pkt[:48].hex()}): expected "
                            f"{key[0]} {key[1]} +1, got +{got}; other changes: "
                            f"{moved}")
        if not d.running():
            failures.append(f"daemon died after: {what}")
            break
    assert not failures, ("\n".join(failures) + "\n\nshow errors:\n"
                          + d.cli("show errors"))
    ping(core.ns, STACK_ADDR4, count=1)
    ping(core.ns, STACK_ADDR6, count=1, v6=True)


def test_burst_of_garbage_then_ping(core):
    """200 malformed packets in one go (several vectors' worth of mixed
    errors): all counted, daemon alive, ping still answered."""
    d = core.d
    burst = [c[1] for c in CASES] * 13
    burst = burst[:200]
    expected = {}
    for pkt in burst:
        for _, p, key in CASES:
            if p is pkt:
                expected[key] = expected.get(key, 0) + 1
                break
    before = d.errors()

    def all_counted(e):
        return all(e.get(k, 0) - before.get(k, 0) >= n for k, n in expected.items())
    probes.inject(core.ns, core.tun, burst)
    after = d.wait_counter(d.errors, all_counted, timeout=3.0)
    short = {k: (after.get(k, 0) - before.get(k, 0), n)
             for k, n in expected.items()
             if after.get(k, 0) - before.get(k, 0) != n
             and k[0] in QUIET_NODES}
    assert not short, f"(got, expected) per counter: {short}"
    ping(core.ns, STACK_ADDR4, count=1)


def test_clear_errors(core):
    d = core.d
    probes.inject(core.ns, core.tun, [with_bad_ip_checksum(echo4())])
    key = ("ip4-input", "bad-checksum")
    e = d.wait_counter(d.errors, lambda e: e.get(key, 0) >= 1)
    assert e.get(key) == 1, e
    d.cli("clear errors")
    assert key not in d.errors()
