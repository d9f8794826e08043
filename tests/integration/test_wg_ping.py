"""Ping and ping6 through a WireGuard tunnel to a real wireguard-go, in both
directions, with the handshake started by either side.

  +--------------- app ----------------+         +------------- peer -------------+
  | ping 10.100.0.2 / fd00:100::2      |         | ping 10.100.0.1 / fd00:100::1  |
  |   v  (auto_route)                  |         |   v                            |
  | mftN 172.19.0.1  fdfe:dcba:9876::1 |         | wireguard-go mfwPnK            |
  |   ==TUN== mintflow                 |         |   10.100.0.2/24 fd00:100::2/64 |
  |     wg0 10.100.0.1/32 fd00:100::1  |         |   peer: us, 10.100.0.1/32,     |
  |     peer: allowed 10.100.0.0/24,   |         |         fd00:100::1/128        |
  |       fd00:100::/64                |         |                                |
  |     udp 10.99.0.1:51820 -- veth ---+---------+-- udp 10.99.0.2:51820          |
  |     rej (reject): 0/0, ::/0        |         |                                |
  +------------------------------------+         +--------------------------------+

The daemon writes 10.100.0.1 / fd00:100::1 over the TUN's source address
on the way out and the TUN's address back over them on the way in.
"""

import time

from mfharness import probes, wgpeer
from mfharness.wgpeer import (APP_VETH4, OUR4, OUR6, PEER4, PEER6, PEER_VETH4,
                              WG_PORT)

# wg-input / wg-output reasons that must stay at zero on a healthy tunnel.
FAULTS = [("wg-input", r) for r in ("bad-message", "unknown-index", "keypair-expired",
                                    "auth-failed", "replay", "bad-inner-packet",
                                    "src-not-allowed")] + \
         [("wg-output", r) for r in ("no-peer", "no-endpoint", "no-address-family",
                                     "staged-overflow", "too-big", "encrypt-failed",
                                     "send-failed")]

# ping's 56 data bytes: an 84 B (IPv4) / 104 B (IPv6) packet, padded to a
# multiple of 16 and sealed: 96 / 112 + 32 B of WireGuard data message.
MSG4, MSG6 = 96 + 32, 112 + 32


def faults(d):
    errs = d.errors()
    return {k: errs[k] for k in FAULTS if errs.get(k)}


def check_tunnel_state(t, n_each, started_at):
    """After n_each echo requests each way per IP version: both sides show
    a fresh handshake, and the transfer counters carry the echoes."""
    d, tun = t.d, t.tun
    text = d.cli("show wireguard")
    dev = wgpeer.parse_show_wireguard(text)[wgpeer.WG0]
    assert (dev["public_key"], dev["listen_port"]) == (t.our_pub, WG_PORT), dev
    # The private key is never shown or logged.
    assert t.our_priv not in text and t.our_priv not in d.log_text()
    me = dev["peers"][t.wg.public_key]
    assert me["endpoint"] == f"{PEER_VETH4}:{WG_PORT}", me
    assert me["latest_handshake"] is not None, me
    assert me["latest_handshake"] <= time.time() - started_at + 1, me
    # Requests and replies, IPv4 and IPv6, both directions: every data
    # message both ways carries one echo message.
    least = 2 * n_each * (MSG4 + MSG6)
    assert me["rx"] >= least and me["tx"] >= least, me
    ifs = d.interfaces()
    # Exactly our echoes: keepalives are not packets of the interface, and
    # nothing else is routed to the tunnel prefixes.
    assert ifs[wgpeer.WG0].rx_packets == 4 * n_each, ifs
    assert ifs[wgpeer.WG0].tx_packets == 4 * n_each, ifs
    assert ifs["rej"].tx_packets == 0, ifs
    assert ifs[tun].tx_packets >= 4 * n_each, ifs

    dump = t.wg.dump()
    them = dump["peers"][t.our_pub]
    assert them["endpoint"] == f"{APP_VETH4}:{WG_PORT}", dump
    assert them["latest_handshake"] >= int(started_at) - 1, dump
    assert them["rx"] >= least and them["tx"] >= least, dump
    assert faults(d) == {}, d.cli("show errors")


def test_ping_both_ways_we_initiate(topo, mintflow, tun_name, tmp_path):
    """wireguard-go is not told where we are: it learns our endpoint from
    the handshake we start, and answers through it."""
    t = wgpeer.tunnel(topo, mintflow, tun_name, tmp_path, peer_knows_us=False)
    started = time.time()
    assert wgpeer.wg_peer_state(t.d, wgpeer.WG0, t.wg.public_key)["latest_handshake"] is None
    # The first echo is held while the handshake runs, not lost.
    probes.ping(t.app, PEER4)
    probes.ping(t.app, PEER6, v6=True)
    probes.ping(t.peer, OUR4)
    probes.ping(t.peer, OUR6, v6=True)
    errs = t.d.errors()
    # One handshake: our initiation and its response.
    assert errs.get(("wg-input", "handshake"), 0) == 1, errs
    check_tunnel_state(t, 3, started)


def test_ping_both_ways_peer_initiates(topo, mintflow, tun_name, tmp_path):
    """wireguard-go starts: we are the responder, and send only after its
    first data message confirms the session (whitepaper 5.4.3)."""
    t = wgpeer.tunnel(topo, mintflow, tun_name, tmp_path, peer_knows_us=True)
    started = time.time()
    probes.ping(t.peer, OUR4)
    errs = t.d.errors()
    assert errs.get(("wg-input", "handshake"), 0) == 1, errs
    probes.ping(t.peer, OUR6, v6=True)
    probes.ping(t.app, PEER4)
    probes.ping(t.app, PEER6, v6=True)
    check_tunnel_state(t, 3, started)
    assert t.d.errors().get(("wg-input", "handshake"), 0) == 1
