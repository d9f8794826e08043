"""Privacy VPN (the manual's scenario): every flow and every DNS query
leaves through the WireGuard tunnel; nothing but WireGuard crosses the
link outside it (a capture on the peer's end of the veth proves it).

  +------------------ app -------------------+        +------------------- peer --------------------+
  | dig @172.19.0.2, ping, UDP               |        | wireguard-go 10.100.0.2/24 (VPN side)       |
  | mftN ==TUN== mintflow  DNS 172.19.0.2:53 |        |   dnsmasq "VPN DNS" on 10.100.0.2:53        |
  |   wg0 10.100.0.1/32, peer allowed 0/0 ---+--------+--   site.test -> 10.100.0.2                 |
  |   dns_fallback -> wg0, 0.0.0.0/0 -> wg0  |  veth  | dumpcap on veth: anything but UDP 51820?    |
  | veth 10.99.0.1 --------------------------+--------+-- veth 10.99.0.2                            |
  +------------------------------------------+        +---------------------------------------------+
"""

import re
import struct

from mfharness import dns, probes, wgpeer
from mfharness.daemon import profile_yaml
from mfharness.wgpeer import (APP_VETH4, OUR4, OUR6, PEER4, PEER6, PEER_VETH4,
                              WG0, WG_PORT)

STACK4 = "172.19.0.2"


def build(topo, mintflow, tun_name, workdir):
    app, peer = topo.ns("app"), topo.ns("peer")
    _, peer_if = topo.veth(app, [APP_VETH4 + "/24"], peer, [PEER_VETH4 + "/24"])
    our_priv, our_pub = wgpeer.genkey()
    wg = wgpeer.WgGo(topo, peer, workdir, addresses=[PEER4 + "/24", PEER6 + "/64"])
    wg.add_peer(our_pub, [OUR4 + "/32", OUR6 + "/128"], endpoint=f"{APP_VETH4}:{WG_PORT}")
    wg.start()
    vpn_dns = dns.dnsmasq(peer, workdir, "vpn-dns", PEER4, {"site.test": PEER4})
    iface = wgpeer.wg_interface(WG0, our_priv, [OUR4 + "/32"], [{
        "public_key": wg.public_key, "allowed_ips": ["0.0.0.0/0"],
        "endpoint": f"{PEER_VETH4}:{WG_PORT}"}])
    profile = profile_yaml(tun_name, interfaces=[iface, ("rej", "reject")],
                           routes=[]).replace("routes:\n", "")
    profile += f"""app_routing: true
dns:
  vpn: ["{PEER4}"]
routes:
  - {{ dns_fallback: true, to: {WG0} }}
  - {{ cidr: 0.0.0.0/0, to: {WG0} }}
"""
    d = mintflow(app, profile)
    return app, peer, peer_if, d, vpn_dns


def udp_ports(frames):
    """(src port, dst port) of every IPv4/UDP frame; None for anything else
    (Ethernet II frames as dumpcap writes them)."""
    out = []
    for f in frames:
        if len(f) >= 14 + 28 and f[12:14] == b"\x08\x00" and f[23] == 17:
            ihl = (f[14] & 0x0f) * 4
            out.append(struct.unpack("!HH", f[14 + ihl:14 + ihl + 4]))
        else:
            out.append(None)
    return out


def test_privacy_vpn_everything_in_the_tunnel(topo, mintflow, tun_name, tmp_path):
    app, peer, peer_if, d, vpn_dns = build(topo, mintflow, tun_name, tmp_path)
    pcap = tmp_path / "outside.pcap"
    # IPv4 only: the kernel's own IPv6 link chatter on the veth (router
    # solicitations, MLD) is not the app's traffic.
    cap = wgpeer.capture(peer, peer_if, "ip", pcap)
    status, addrs = dns.dig(app, STACK4, "site.test")
    assert (status, addrs) == ("NOERROR", [PEER4]), (status, addrs, d.cli("show dns log"))
    status, _ = dns.dig(app, STACK4, "no-such-name.test")
    assert status in ("NXDOMAIN", "REFUSED"), status
    probes.ping(app, PEER4)
    wgpeer.stop_capture(cap)
    # Both names were asked through the tunnel, from our tunnel address.
    log = vpn_dns.log_text()
    for name in ("site.test", "no-such-name.test"):
        assert re.search(rf"query\[A\] {re.escape(name)} from {re.escape(OUR4)}", log), log
    # Outside the tunnel: WireGuard between the two endpoints, and nothing
    # else at all.
    _, frames = wgpeer.read_pcap(pcap)
    ports = udp_ports(frames)
    assert frames, "the capture saw nothing: the tunnel was not used"
    others = [p for p in ports if p is None or WG_PORT not in p]
    assert not others, f"{len(others)} packets outside the tunnel: {others[:10]}"
    errs = d.errors()
    assert not any(n == "hs-direct" for n, _ in errs), errs
