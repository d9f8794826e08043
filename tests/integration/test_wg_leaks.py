"""Traffic routed to a WireGuard interface that cannot carry it is dropped
and counted, and never leaves any other way (DESIGN: "traffic routed to a
VPN that is down is dropped, never sent direct"): no IPv6 address on the
tunnel, a peer that never answers, a peer with no endpoint, a prefix no
peer's allowed IPs hold. The reject default route answers none of it.

  +---------------- app ----------------+        +---------- peer ----------+
  | ping / tcp / udp to:                |        | (1) wireguard-go         |
  |  fd00:100::2  (wg0 has no IPv6)     |        |     10.100.0.2/24        |
  |  10.100.0.2   (peer silent)         |        |     fd00:100::2/64       |
  |  10.102.0.2   (peer, no endpoint)   |        | (2) nothing on :51820    |
  |  10.103.0.2   (no peer)             |  veth  |                          |
  | mftN ==TUN== mintflow wg0 ----------+--------+-- 10.99.0.2  dumpcap     |
  |   rej (reject): 0/0, ::/0           |        |                          |
  +-------------------------------------+        +--------------------------+
"""

import struct
import time

from mfharness import probes, wgpeer
from mfharness.daemon import profile_yaml
from mfharness.wgpeer import (APP_VETH4, MSG_INITIATION, LEN_INITIATION, OUR4,
                              PEER4, PEER6, PEER_VETH4, WG_PORT)

REJECT_NODES = ("ip4-reject", "ip6-reject")


def reject_counts(errs):
    return {k: v for k, v in errs.items() if k[0] in REJECT_NODES}


def classify_frames(frames):
    """Splits Ethernet frames into (udp datagrams [(src, sport, dst, dport,
    payload)], anything else that is IP traffic from the app side). IPv6
    neighbour discovery and MLD (ICMPv6 types 130-143) are the link's own
    and ignored; so is what the peer's kernel says (port unreachable)."""
    udp = wgpeer.udp_payloads_eth(frames)
    other = []
    app_src = bytes(int(x) for x in APP_VETH4.split("."))
    for fr in frames:
        et = fr[12:14]
        if et == b"\x08\x00":
            if fr[14 + 9] != 17 and fr[14 + 12:14 + 16] == app_src:
                other.append(fr)
        elif et == b"\x86\xdd":
            nh, icmp_type = fr[14 + 6], fr[14 + 40] if len(fr) > 54 else None
            if not (nh == 58 and icmp_type is not None and 130 <= icmp_type <= 143) \
                    and nh != 0:
                other.append(fr)
    return udp, other


def test_ipv6_to_tunnel_without_ipv6_address(topo, mintflow, tun_name, tmp_path):
    """wg0 has only an IPv4 address; IPv6 is routed to it all the same. It
    has no source address to give those packets: no-address-family, and
    nothing is sealed for the peer or sent anywhere else."""
    t = wgpeer.tunnel(topo, mintflow, tun_name, tmp_path, our_addresses=(OUR4 + "/32",))
    d = t.d
    probes.ping(t.app, PEER4)  # the tunnel itself is up
    errs0, ifs0, wg0 = d.errors(), d.interfaces(), t.wg.link_stats()
    me0 = wgpeer.wg_peer_state(d, wgpeer.WG0, t.wg.public_key)
    cap = wgpeer.capture(t.peer, t.peer_if, "ip or ip6", tmp_path / "veth.pcap")
    wgpeer.ping_all_lost(t.app, PEER6, count=3)
    res = probes.tcp_connect(t.app, PEER6, 80, timeout=1.0)
    assert res["result"] == "timeout", res
    wgpeer.stop_capture(cap)

    key = ("wg-output", "no-address-family")
    errs = d.wait_counter(d.errors, lambda e: wgpeer.delta(errs0, e, key) >= 4)
    # 3 echo requests and the SYN (and its retransmission, if it came).
    assert 4 <= wgpeer.delta(errs0, errs, key) <= 5, errs
    assert reject_counts(errs) == reject_counts(errs0), errs
    ifs = d.interfaces()
    assert ifs["rej"].tx_packets == ifs0["rej"].tx_packets == 0, ifs
    assert ifs[t.tun].tx_packets == ifs0[t.tun].tx_packets, (ifs0, ifs)
    # wireguard-go's TUN handed its kernel nothing.
    assert t.wg.link_stats()["rx_packets"] == wg0["rx_packets"]
    me = wgpeer.wg_peer_state(d, wgpeer.WG0, t.wg.public_key)
    assert me["tx"] == me0["tx"], (me0, me)
    udp, other = classify_frames(wgpeer.read_pcap(tmp_path / "veth.pcap")[1])
    assert other == [], [f.hex() for f in other]
    # Nothing sealed either (keepalives aside, 32 B).
    assert [m for m in udp if m[0] == APP_VETH4 and len(m[4]) > 32] == [], udp


def test_unreachable_peer_traffic_held_never_leaked(topo, mintflow, tun_name, tmp_path):
    """The peer's endpoint is an address where nothing listens: no
    handshake completes. Packets wait for it (bounded: the oldest give way,
    counted), TCP gets no RST from the reject default, and all that crosses
    the wire are handshake initiations, at the retry pace, not per packet."""
    app, peer = topo.ns("app"), topo.ns("peer")
    _, peer_if = topo.veth(app, [APP_VETH4 + "/24"], peer, [PEER_VETH4 + "/24"])
    our_priv, _ = wgpeer.genkey()
    _, silent_pub = wgpeer.genkey()
    _, homeless_pub = wgpeer.genkey()
    iface = wgpeer.wg_interface(wgpeer.WG0, our_priv, [OUR4 + "/32", "fd00:100::1/128"], [
        {"public_key": silent_pub, "allowed_ips": ["10.100.0.0/24", "fd00:100::/64"],
         "endpoint": f"{PEER_VETH4}:{WG_PORT}"},
        {"public_key": homeless_pub, "allowed_ips": ["10.102.0.0/24"]}])
    d = mintflow(app, profile_yaml(
        tun_name, interfaces=[iface, ("rej", "reject")],
        routes=[("0.0.0.0/0", "rej"), ("::/0", "rej"), ("10.100.0.0/24", wgpeer.WG0),
                ("fd00:100::/64", wgpeer.WG0), ("10.102.0.0/24", wgpeer.WG0),
                ("10.103.0.0/24", wgpeer.WG0)]))
    cap = wgpeer.capture(peer, peer_if, "ip or ip6", tmp_path / "veth.pcap")
    t0 = time.monotonic()
    errs0 = d.errors()

    wgpeer.ping_all_lost(app, PEER4, count=2)
    wgpeer.ping_all_lost(app, PEER6, count=2)
    # No RST: the reject default route must not answer for a tunnel prefix.
    res = probes.tcp_connect(app, PEER4, 80, timeout=1.0)
    assert res["result"] == "timeout", res
    res = probes.udp_probe(app, PEER4, 53, timeout=0.5)
    assert res["result"] == "timeout", res
    held = 2 + 2 + 1 + 1  # pings, SYN, datagram (a SYN retransmission maybe)

    # More than the peer's queue holds (128): the oldest give way.
    burst = app.run(["/usr/bin/python3", "-c",
                     "import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
                     "for i in range(200): s.sendto(b'x'*64,('10.100.0.9',9))\n"])
    assert burst.returncode == 0
    over = ("wg-output", "staged-overflow")
    errs = d.wait_counter(d.errors, lambda e: wgpeer.delta(errs0, e, over) >= 200 + held - 128)
    assert 200 + held - 128 <= wgpeer.delta(errs0, errs, over) <= 200 + held + 1 - 128, errs

    # A peer without endpoint, and a prefix of wg0 that no peer holds.
    wgpeer.ping_all_lost(app, "10.102.0.2", count=2)
    wgpeer.ping_all_lost(app, "10.103.0.2", count=3)
    errs = d.wait_counter(d.errors, lambda e: wgpeer.delta(errs0, e, ("wg-output", "no-peer")) >= 3)
    assert wgpeer.delta(errs0, errs, ("wg-output", "no-endpoint")) == 2, errs
    assert wgpeer.delta(errs0, errs, ("wg-output", "no-peer")) == 3, errs
    res = probes.tcp_connect(app, "10.102.0.2", 443, timeout=1.0)
    assert res["result"] == "timeout", res
    wgpeer.stop_capture(cap)
    elapsed = time.monotonic() - t0

    errs = d.errors()
    assert reject_counts(errs) == reject_counts(errs0), errs
    ifs = d.interfaces()
    assert ifs["rej"].tx_packets == 0, ifs
    shown = wgpeer.show_wireguard(d)[wgpeer.WG0]["peers"]
    # As wg(8) counts, transfer includes our handshake initiations (148 B
    # each) and nothing else: no data left for the silent peer.
    assert shown[silent_pub]["latest_handshake"] is None, shown
    assert shown[silent_pub]["tx"] % 148 == 0, shown
    assert shown[homeless_pub]["endpoint"] is None and shown[homeless_pub]["tx"] == 0, shown

    udp, other = classify_frames(wgpeer.read_pcap(tmp_path / "veth.pcap")[1])
    assert other == [], [f.hex() for f in other]
    ours = [m for m in udp if m[0] == APP_VETH4]
    assert ours, "no handshake initiation seen"
    for src, sport, dst, dport, payload in ours:
        assert (dst, dport, len(payload)) == (PEER_VETH4, WG_PORT, LEN_INITIATION), \
            (src, sport, dst, dport, payload.hex())
        assert struct.unpack("<I", payload[:4])[0] == MSG_INITIATION
    # Rekey-Timeout (5 s) between attempts, plus jitter: one per 5 s at
    # most, however many packets wait (whitepaper 6.1).
    assert len(ours) <= 1 + int(elapsed / 5) + 1, (len(ours), elapsed)
    assert d.running()
