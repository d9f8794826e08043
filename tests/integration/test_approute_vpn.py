"""Selective VPN (the manual's scenario): names in the VPN domain set are
resolved by the VPN DNS server through the WireGuard tunnel, every other
name by the Direct DNS server outside it. The two DNS servers answer the
same name differently, so the answer proves which one was asked, and each
server's query log shows what it never saw.

  +------------------ app -------------------+        +-------------------- peer ----------------------+
  | dig @172.19.0.2                          |        | wireguard-go  10.100.0.2/24 (VPN side)         |
  | mftN ==TUN== mintflow  DNS 172.19.0.2:53 |        |   dnsmasq "VPN DNS" on 10.100.0.2:53           |
  |   wg0 10.100.0.1/32 -- tunnel -----------+--------+--   app.vpn.test -> 10.100.0.7                 |
  |   out (direct)                           |  veth  | dnsmasq "Direct DNS" on 10.99.0.2:53           |
  |   vpn set -> wg0, fallback -> out        |        |   app.vpn.test -> 10.99.0.2 (must not be used) |
  |   10.100.0.0/24 -> wg0, 0/0 -> out       |        |   other.test   -> 10.99.0.2                    |
  | veth 10.99.0.1 --------------------------+--------+-- veth 10.99.0.2                               |
  +------------------------------------------+        +------------------------------------------------+
"""

import re
import time

from mfharness import dns, wgpeer
from mfharness.dns import dnsmasq
from mfharness.daemon import profile_yaml
from mfharness.wgpeer import (APP_VETH4, NET4, OUR4, OUR6, PEER4, PEER6,
                              PEER_VETH4, WG0, WG_PORT)

STACK4 = "172.19.0.2"
VPN_SITE4 = "10.100.0.7"  # a server on the VPN side, as the VPN DNS says


def build(topo, mintflow, tun_name, workdir, vpn_ttl=60, grace=None):
    app, peer = topo.ns("app"), topo.ns("peer")
    topo.veth(app, [APP_VETH4 + "/24"], peer, [PEER_VETH4 + "/24"])
    our_priv, our_pub = wgpeer.genkey()
    wg = wgpeer.WgGo(topo, peer, workdir, addresses=[PEER4 + "/24", PEER6 + "/64"])
    wg.add_peer(our_pub, [OUR4 + "/32", OUR6 + "/128"], endpoint=f"{APP_VETH4}:{WG_PORT}")
    wg.start()
    vpn_dns = dnsmasq(peer, workdir, "vpn-dns", PEER4, {"app.vpn.test": VPN_SITE4},
                      ttl=vpn_ttl)
    direct_dns = dnsmasq(peer, workdir, "direct-dns", PEER_VETH4,
                         {"app.vpn.test": PEER_VETH4, "other.test": PEER_VETH4})
    iface = wgpeer.wg_interface(WG0, our_priv, [OUR4 + "/32", OUR6 + "/128"], [{
        "public_key": wg.public_key, "allowed_ips": [NET4],
        "endpoint": f"{PEER_VETH4}:{WG_PORT}"}])
    profile = profile_yaml(tun_name, interfaces=[iface, ("out", "direct")],
                           routes=[]).replace("routes:\n", "")
    profile += f"""app_routing: true
domain_sets:
  vpn: [vpn.test]
dns:
  vpn: ["{PEER4}"]
  direct: ["{PEER_VETH4}"]
{f"  host_route_grace: {grace}" if grace is not None else ""}
routes:
  - {{ domain_set: vpn, to: {WG0} }}
  - {{ cidr: {NET4}, to: {WG0} }}
  - {{ dns_fallback: true, to: out }}
  - {{ cidr: 0.0.0.0/0, to: out }}
"""
    d = mintflow(app, profile)
    return app, d, vpn_dns, direct_dns


def dig(ns, name):
    return dns.dig(ns, STACK4, name)


def test_selective_vpn_split_dns(topo, mintflow, tun_name, tmp_path):
    app, d, vpn_dns, direct_dns = build(topo, mintflow, tun_name, tmp_path)
    # The VPN set's name: asked through the tunnel, answered by the VPN DNS.
    status, addrs = dig(app, "app.vpn.test")
    assert (status, addrs) == ("NOERROR", [VPN_SITE4]), (status, addrs, d.cli("show dns log"))
    # It arrived from our tunnel address, not from the machine's own.
    assert re.search(rf"query\[A\] app\.vpn\.test from {re.escape(OUR4)}",
                     vpn_dns.log_text()), vpn_dns.log_text()
    # Any other name: the Direct DNS, outside the tunnel.
    status, addrs = dig(app, "other.test")
    assert (status, addrs) == ("NOERROR", [PEER_VETH4]), (status, addrs)
    time.sleep(0.2)
    # No leak: the Direct DNS never saw the VPN set's name, the VPN DNS
    # never saw the other.
    assert "app.vpn.test" not in direct_dns.log_text(), direct_dns.log_text()
    assert "other.test" not in vpn_dns.log_text(), vpn_dns.log_text()
    # The answer's address is a host route to the tunnel.
    assert re.search(rf"^{re.escape(VPN_SITE4)}/32\s+via {re.escape(WG0)}\s+source dns",
                     d.cli("show ip fib"), re.M), d.cli("show ip fib")
    log = d.cli("show dns log")
    assert re.search(r"app\.vpn\.test\s+A\s+upstream\s+vpn\s+" + re.escape(WG0), log), log
    # The tunnel carried the DNS exchange: counted on wg0 both ways.
    ifs = d.interfaces()
    assert ifs[WG0].tx_packets >= 1 and ifs[WG0].rx_packets >= 1, ifs


def fib_dns(d):
    """{address: rest of the line} of the DNS host routes via the tunnel."""
    return {m.group(1): m.group(2) for m in re.finditer(
        rf"^(\S+)/32\s+via {WG0}\s+source dns\s+priority \d+(.*)$",
        d.cli("show ip fib"), re.M)}


def wait_for(pred, timeout, step=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


def test_tunnel_route_kept_while_packets_flow(topo, mintflow, tun_name, tmp_path):
    """TTL 1 s + grace 2 s: a host route to the tunnel outlives them while
    the app keeps sending to the address through it (a tunnel has no
    session: its packets are the sign of life), and goes once they stop."""
    app, d, _, _ = build(topo, mintflow, tun_name, str(tmp_path), vpn_ttl=1, grace=2)
    status, addrs = dig(app, "app.vpn.test")
    assert status == "NOERROR" and addrs == [VPN_SITE4], (status, addrs)
    assert VPN_SITE4 in fib_dns(d), d.cli("show ip fib")
    # One ping every 0.3 s for 6 s, through the tunnel (nobody answers:
    # what counts is that packets leave for the address).
    pinger = app.popen(["ping", "-n", "-i", "0.3", "-w", "6", VPN_SITE4], name="ping")
    time.sleep(5)  # well past TTL + grace
    routes = fib_dns(d)
    assert VPN_SITE4 in routes and "kept" in routes[VPN_SITE4], d.cli("show ip fib")
    pinger.wait(timeout=10)
    # Quiet now: gone within the grace period and a second of rounding.
    assert wait_for(lambda: VPN_SITE4 not in fib_dns(d), 6), d.cli("show dns routes")
