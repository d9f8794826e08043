"""Roaming (whitepaper 2.1): the peer's address changes; its next
authenticated packet comes from the new address and we send there from
then on, without a new handshake.

  +--------------- app ---------------+         +------------ peer -------------+
  | mftN ==TUN== mintflow wg0         |         | wireguard-go 10.100.0.2/24    |
  |   peer endpoint 10.99.0.2:51820   |         | veth 10.99.0.2 -> 10.99.0.3   |
  |      -> 10.99.0.3:51820           |         |  (old address deleted)        |
  |   udp 10.99.0.1:51820 ------------+- veth --+-- udp *:51820                 |
  +-----------------------------------+         +-------------------------------+
"""

from mfharness import probes, wgpeer
from mfharness.wgpeer import APP_VETH4, OUR4, OUR6, PEER4, PEER6, PEER_VETH4, WG_PORT

NEW_VETH4 = "10.99.0.3"


def test_peer_roams_to_new_address(topo, mintflow, tun_name, tmp_path):
    t = wgpeer.tunnel(topo, mintflow, tun_name, tmp_path)
    d = t.d
    probes.ping(t.app, PEER4)
    probes.ping(t.peer, OUR4)
    me = wgpeer.wg_peer_state(d, wgpeer.WG0, t.wg.public_key)
    assert me["endpoint"] == f"{PEER_VETH4}:{WG_PORT}", me
    hs0 = d.errors().get(("wg-input", "handshake"), 0)

    # Deleted first: deleting a primary address takes its secondaries along.
    t.peer.ip("addr", "del", PEER_VETH4 + "/24", "dev", t.peer_if)
    t.peer.ip("addr", "add", NEW_VETH4 + "/24", "dev", t.peer_if)
    # wireguard-go sends from the address it last heard us on (sticky
    # source) and gives that up only on EINVAL, not on the ENETUNREACH a
    # deleted address gets: setting our endpoint again clears it.
    t.wg.wg("set", t.wg.ifname, "peer", t.our_pub, "endpoint", f"{APP_VETH4}:{WG_PORT}")
    # The peer speaks first from its new address: we learn it from that
    # packet, whatever the session.
    probes.ping(t.peer, OUR4)
    me = wgpeer.wait_peer(d, wgpeer.WG0, t.wg.public_key,
                          lambda p: p["endpoint"] == f"{NEW_VETH4}:{WG_PORT}", 3,
                          what="endpoint moved to the new address")
    tx0 = me["tx"]
    probes.ping(t.app, PEER4)
    probes.ping(t.app, PEER6, v6=True)
    probes.ping(t.peer, OUR6, v6=True)
    me = wgpeer.wg_peer_state(d, wgpeer.WG0, t.wg.public_key)
    assert me["endpoint"] == f"{NEW_VETH4}:{WG_PORT}", me
    assert me["tx"] > tx0, me
    errs = d.errors()
    # Same session: roaming needs no handshake.
    assert errs.get(("wg-input", "handshake"), 0) == hs0, errs
    assert errs.get(("wg-output", "send-failed"), 0) == 0, errs
    assert d.interfaces()["rej"].tx_packets == 0
