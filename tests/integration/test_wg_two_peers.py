"""Two peers on one WireGuard interface with disjoint allowed IPs: each
prefix is sealed for its own peer only (cryptokey routing, whitepaper 2),
and a peer may not send from the other one's addresses.

  +------------ app ------------+            +----------- peer A -----------+
  | mintflow wg0 10.100.0.1/32  |  veth      | wireguard-go 10.100.0.2/24   |
  |   fd00:100::1/128           |------------|   fd00:100::2/64             |
  |   udp 10.99.0.1:51820       | 10.99.0/24 |   udp 10.99.0.2:51820        |
  |   peer A: 10.100.0.0/24,    |            +------------------------------+
  |           fd00:100::/64     |            +----------- peer B -----------+
  |   peer B: 10.101.0.0/24,    |  veth      | wireguard-go 10.101.0.2/24   |
  |           fd00:101::/64     |------------|   fd00:101::2/64             |
  |   udp 10.98.0.1:51820       | 10.98.0/24 |   10.100.0.77/32 (A's range) |
  | mftN ==TUN==, rej (reject)  |            |   udp 10.98.0.2:51820        |
  +-----------------------------+            +------------------------------+
"""

from mfharness import probes, wgpeer
from mfharness.daemon import profile_yaml
from mfharness.wgpeer import OUR4, OUR6, WG_PORT

A4, A6, B4, B6 = "10.100.0.2", "fd00:100::2", "10.101.0.2", "fd00:101::2"
B_SPOOF4 = "10.100.0.77"  # inside A's allowed IPs, assigned on B
ECHO4, ECHO6 = 96 + 32, 112 + 32  # sealed size of ping's default echo
KEEPALIVE = 32


def test_two_peers_disjoint_allowed_ips(topo, mintflow, tun_name, tmp_path):
    app, pa, pb = topo.ns("app"), topo.ns("peerA"), topo.ns("peerB")
    topo.veth(app, ["10.99.0.1/24"], pa, ["10.99.0.2/24"])
    topo.veth(app, ["10.98.0.1/24"], pb, ["10.98.0.2/24"])
    our_priv, our_pub = wgpeer.genkey()
    us = [OUR4 + "/32", OUR6 + "/128"]
    wa = wgpeer.WgGo(topo, pa, tmp_path, addresses=[A4 + "/24", A6 + "/64"])
    wa.add_peer(our_pub, us)
    wa.start()
    wb = wgpeer.WgGo(topo, pb, tmp_path,
                     addresses=[B4 + "/24", B6 + "/64", B_SPOOF4 + "/32"],
                     routes=[OUR4 + "/32", OUR6 + "/128"])
    wb.add_peer(our_pub, us)
    wb.start()
    iface = wgpeer.wg_interface(wgpeer.WG0, our_priv, us, [
        {"public_key": wa.public_key, "allowed_ips": ["10.100.0.0/24", "fd00:100::/64"],
         "endpoint": f"10.99.0.2:{WG_PORT}"},
        {"public_key": wb.public_key, "allowed_ips": ["10.101.0.0/24", "fd00:101::/64"],
         "endpoint": f"10.98.0.2:{WG_PORT}"}])
    d = mintflow(app, profile_yaml(
        tun_name, interfaces=[iface, ("rej", "reject")],
        routes=[("0.0.0.0/0", "rej"), ("::/0", "rej"), ("10.100.0.0/24", wgpeer.WG0),
                ("10.101.0.0/24", wgpeer.WG0), ("fd00:100::/64", wgpeer.WG0),
                ("fd00:101::/64", wgpeer.WG0)]))

    def state():
        shown = wgpeer.show_wireguard(d)[wgpeer.WG0]["peers"]
        return shown[wa.public_key], shown[wb.public_key]

    # A first, while B has never been spoken to.
    sa0, sb0 = wa.link_stats(), wb.link_stats()
    probes.ping(app, A4)
    probes.ping(app, A6, v6=True)
    a, b = state()
    assert a["latest_handshake"] is not None and a["endpoint"] == f"10.99.0.2:{WG_PORT}", a
    assert a["tx"] >= 3 * (ECHO4 + ECHO6) and a["rx"] >= 3 * (ECHO4 + ECHO6), a
    assert (b["latest_handshake"], b["tx"], b["rx"]) == (None, 0, 0), b
    sa1, sb1 = wa.link_stats(), wb.link_stats()
    # wireguard-go's TUN: the kernel there got exactly our 6 echo requests.
    assert sa1["rx_packets"] - sa0["rx_packets"] == 6, (sa0, sa1)
    assert sb1 == sb0, (sb0, sb1)

    # Then B: A's counters move by keepalives at most.
    probes.ping(app, B4)
    probes.ping(app, B6, v6=True)
    probes.ping(pb, OUR4)
    a2, b2 = state()
    assert b2["latest_handshake"] is not None and b2["endpoint"] == f"10.98.0.2:{WG_PORT}", b2
    assert b2["tx"] >= 3 * (ECHO4 + ECHO6) + 3 * ECHO4, b2
    assert b2["rx"] >= 3 * (ECHO4 + ECHO6) + 3 * ECHO4, b2
    assert a2["tx"] - a["tx"] <= KEEPALIVE and a2["rx"] - a["rx"] <= KEEPALIVE, (a, a2)
    sa2, sb2 = wa.link_stats(), wb.link_stats()
    assert sb2["rx_packets"] - sb1["rx_packets"] == 6 + 3, (sb1, sb2)  # requests + replies
    assert sa2["rx_packets"] == sa1["rx_packets"], (sa1, sa2)

    # B sends from an address that is A's: authenticated, but not B's to
    # use. Dropped and counted; nothing reaches the TUN.
    errs0, ifs0 = d.errors(), d.interfaces()
    r = pb.run(["ping", "-c", "3", "-i", "0.2", "-W", "1", "-I", B_SPOOF4, OUR4],
               check=False, timeout=10)
    assert r.returncode != 0 and "100% packet loss" in r.stdout, r.stdout
    key = ("wg-input", "src-not-allowed")
    errs = d.wait_counter(d.errors, lambda e: wgpeer.delta(errs0, e, key) >= 3)
    assert wgpeer.delta(errs0, errs, key) == 3, errs
    ifs = d.interfaces()
    assert ifs[tun_name].tx_packets == ifs0[tun_name].tx_packets, (ifs0, ifs)
    assert ifs[wgpeer.WG0].rx_packets == ifs0[wgpeer.WG0].rx_packets, (ifs0, ifs)
    assert ifs["rej"].tx_packets == 0, ifs
