"""WireGuard over IPv6: the tunnel's own packets (the outer protocol) travel
between IPv6 endpoints, carrying IPv4 and IPv6 inside.

  +--------------- app ----------------+         +------------- peer -------------+
  | ping 10.100.0.2 / fd00:100::2      |         | wireguard-go mfwPnK            |
  |   v  (auto_route)                  |         |   10.100.0.2/24 fd00:100::2/64 |
  | mftN ==TUN== mintflow wg0          |         |                                |
  |   udp [fd99::1]:51820 ---- veth ---+---------+-- udp [fd99::2]:51820          |
  +------------------------------------+         +--------------------------------+
"""

from mfharness import probes, wgpeer
from mfharness.daemon import profile_yaml
from mfharness.wgpeer import NET4, NET6, OUR4, OUR6, PEER4, PEER6, WG_PORT

APP_VETH6, PEER_VETH6 = "fd99::1", "fd99::2"


def test_ipv6_endpoints_carry_both_families(topo, mintflow, tun_name, tmp_path):
    app, peer = topo.ns("app"), topo.ns("peer")
    topo.veth(app, [APP_VETH6 + "/64"], peer, [PEER_VETH6 + "/64"])
    our_priv, our_pub = wgpeer.genkey()
    wg = wgpeer.WgGo(topo, peer, str(tmp_path), addresses=[PEER4 + "/24", PEER6 + "/64"])
    wg.add_peer(our_pub, [OUR4 + "/32", OUR6 + "/128"])
    wg.start()
    iface = wgpeer.wg_interface(wgpeer.WG0, our_priv, (OUR4 + "/32", OUR6 + "/128"), [{
        "public_key": wg.public_key, "allowed_ips": [NET4, NET6],
        "endpoint": f"[{PEER_VETH6}]:{WG_PORT}"}])
    d = mintflow(app, profile_yaml(tun_name, interfaces=[iface, ("rej", "reject")],
                                   routes=[("0.0.0.0/0", "rej"), ("::/0", "rej"),
                                           (NET4, wgpeer.WG0), (NET6, wgpeer.WG0)]))
    probes.ping(app, PEER4, count=3)
    probes.ping(app, PEER6, count=3, v6=True)
    me = wgpeer.parse_show_wireguard(d.cli("show wireguard"))[wgpeer.WG0]["peers"][wg.public_key]
    assert me["endpoint"] == f"[{PEER_VETH6}]:{WG_PORT}", me
    assert me["latest_handshake"] is not None, me
    # wireguard-go learned our IPv6 endpoint from the handshake.
    them = wg.dump()["peers"][our_pub]
    assert them["endpoint"].startswith(f"[{APP_VETH6}]:"), them
