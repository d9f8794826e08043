"""What must not get through a WireGuard interface, and how it is counted:
a peer that has the wrong public key for us, datagrams that are not
WireGuard, handshake messages that fail their checks, forged data, and
replayed data. The daemon keeps running and the tunnel keeps working.

  +--------------- app ----------------+         +------------- peer -------------+
  | ping / TUN counters                |         | wireguard-go mfwPnK            |
  | mftN ==TUN== mintflow wg0          |         |   10.100.0.2/24 fd00:100::2/64 |
  |   10.100.0.1/32 fd00:100::1/128    |         | python UDP sender: garbage,    |
  |   udp 10.99.0.1:51820 -------------+- veth --+--  forged and replayed msgs    |
  |   rej (reject): 0/0, ::/0          |         |   from 10.99.0.2:4000x         |
  +------------------------------------+         | dumpcap on the veth            |
                                                 +--------------------------------+
"""

import random

from mfharness import probes, wgpeer
from mfharness.wgpeer import (LEN_COOKIE, LEN_RESPONSE, MSG_COOKIE, MSG_DATA,
                              MSG_INITIATION, MSG_RESPONSE, OUR4, PEER4,
                              PEER_VETH4, WG_PORT, APP_VETH4, msg_header)

# Reasons under which wg-input counts what it accepted, not what it refused.
ACCEPTED = ("handshake", "keepalive")


def refused(errs):
    return wgpeer.sum_errors(errs, "wg-input", exclude=ACCEPTED)


def up_tunnel(topo, mintflow, tun_name, tmp_path, **kw):
    t = wgpeer.tunnel(topo, mintflow, tun_name, tmp_path, **kw)
    probes.ping(t.app, PEER4, count=2)
    return t


def kernel_tun_rx(ns, tun):
    """Packets the daemon wrote into the TUN, as the app's kernel counts."""
    return ns.ip_json("-s", "link", "show", tun)[0]["stats64"]["rx"]["packets"]


def test_peer_with_wrong_key_for_us(topo, mintflow, tun_name, tmp_path):
    """wireguard-go believes our public key is another one: it refuses our
    initiations (our static key is not its peer's), and its own
    initiations carry a MAC1 made for that other key, which we refuse.
    No session, nothing delivered anywhere, and we count why."""
    _, wrong_pub = wgpeer.genkey()
    t = wgpeer.tunnel(topo, mintflow, tun_name, tmp_path, our_key_at_peer=wrong_pub,
                      peer_knows_us=True)
    d = t.d
    errs0, ifs0 = d.errors(), d.interfaces()
    plain = wgpeer.capture(t.peer, t.peer_if, f"ip and not udp port {WG_PORT}",
                           tmp_path / "plain.pcap")
    wire = wgpeer.capture(t.peer, t.peer_if, f"udp port {WG_PORT}", tmp_path / "wire.pcap",
                          name="dumpcap-wire")
    wgpeer.ping_all_lost(t.app, PEER4, count=3)
    # wireguard-go starts handshakes toward us too (it has our endpoint).
    wgpeer.ping_all_lost(t.peer, OUR4, count=2)
    wgpeer.stop_capture(plain)
    wgpeer.stop_capture(wire)

    # Nothing in clear on the wire, nothing out of wireguard-go's TUN.
    assert wgpeer.read_pcap(tmp_path / "plain.pcap")[1] == []
    assert t.wg.link_stats()["rx_packets"] == 0
    wire_msgs = wgpeer.udp_payloads_eth(wgpeer.read_pcap(tmp_path / "wire.pcap")[1])
    ours = [m for m in wire_msgs if m[0] == APP_VETH4]
    theirs = [m for m in wire_msgs if m[0] == PEER_VETH4]
    # Only initiations each way, no response and no data.
    assert ours and all(m[4][0] == MSG_INITIATION for m in ours), ours
    assert theirs and all(m[4][0] == MSG_INITIATION for m in theirs), theirs
    assert "Received invalid initiation message" in t.wg.log_text()

    me = wgpeer.wg_peer_state(d, wgpeer.WG0, t.wg.public_key)
    assert me["latest_handshake"] is None and me["rx"] == 0, me
    assert t.wg.dump()["peers"][wrong_pub]["latest_handshake"] == 0
    errs, ifs = d.errors(), d.interfaces()
    assert ifs["rej"].tx_packets == ifs0["rej"].tx_packets == 0, ifs
    assert ifs[t.tun].tx_packets == ifs0[t.tun].tx_packets, (ifs0, ifs)
    assert not any(n in ("ip4-reject", "ip6-reject") and wgpeer.delta(errs0, errs, (n, r))
                   for n, r in errs), errs
    # Its initiations reached us ...
    n_theirs = len(theirs)
    assert wgpeer.delta(errs0, errs, ("wg-input", "handshake")) + \
        refused(errs) - refused(errs0) >= n_theirs, errs
    # ... and each was refused under a reason of its own, not merely
    # "handled by the control path" (a retry may have come since).
    assert refused(errs) - refused(errs0) >= n_theirs, \
        f"{n_theirs} initiation(s) with a bad MAC1 refused, not counted as such:\n" \
        + d.cli("show errors")


def test_malformed_datagrams_counted(topo, mintflow, tun_name, tmp_path):
    """Datagrams that are not WireGuard messages, or are cut short or too
    long, are bad-message; data messages naming no keypair of ours are
    unknown-index. No answer goes back; the tunnel is unaffected."""
    t = up_tunnel(topo, mintflow, tun_name, tmp_path)
    d = t.d
    rng = random.Random(4242)
    init = msg_header(MSG_INITIATION) + rng.randbytes(144)
    garbage = [
        b"", b"\x01", msg_header(MSG_DATA)[:3],
        bytes([9, 0, 0, 0]) + rng.randbytes(60),
        bytes([0, 0, 0, 0]) + rng.randbytes(144),
        bytes([1, 1, 0, 0]) + init[4:],             # reserved bytes set
        b"GET / HTTP/1.0\r\n\r\n",
        bytes([0x7f]) + rng.randbytes(1300),
    ]
    truncated = [
        init[:147], init + b"\x00",
        msg_header(MSG_RESPONSE) + rng.randbytes(LEN_RESPONSE - 5),
        msg_header(MSG_RESPONSE) + rng.randbytes(LEN_RESPONSE - 3),
        msg_header(MSG_COOKIE) + rng.randbytes(LEN_COOKIE - 5),
        msg_header(MSG_DATA) + rng.randbytes(27),  # 31 B: no room for the tag
    ]
    random_data = [wgpeer.data_message(rng.getrandbits(32), rng.getrandbits(64),
                                       rng.randbytes(n)) for n in (16, 17, 100, 1400)]
    errs0 = d.errors()
    res = wgpeer.send_udp(t.peer, APP_VETH4, WG_PORT, garbage + truncated + random_data,
                          sport=40001, wait=0.5)
    assert res["sent"] == len(garbage + truncated + random_data), res
    assert res["replies"] == [], res
    bad, unknown = ("wg-input", "bad-message"), ("wg-input", "unknown-index")
    errs = d.wait_counter(d.errors, lambda e: wgpeer.delta(errs0, e, bad) >= len(
        garbage + truncated) and wgpeer.delta(errs0, e, unknown) >= len(random_data))
    assert wgpeer.delta(errs0, errs, bad) == len(garbage + truncated), errs
    assert wgpeer.delta(errs0, errs, unknown) == len(random_data), errs
    assert refused(errs) - refused(errs0) == len(garbage + truncated + random_data), errs
    assert d.running()
    probes.ping(t.app, PEER4)
    probes.ping(t.peer, OUR4)
    me = wgpeer.wg_peer_state(d, wgpeer.WG0, t.wg.public_key)
    assert me["endpoint"] == f"{PEER_VETH4}:{WG_PORT}", me


def test_rejected_handshake_messages_counted(topo, mintflow, tun_name, tmp_path):
    """Handshake messages of the right size that fail their checks: random
    MAC1, a good MAC1 over contents that do not decrypt, responses and
    cookie replies for no handshake of ours. Each is refused without an
    answer and without touching the session, and counted as refused."""
    t = up_tunnel(topo, mintflow, tun_name, tmp_path)
    d = t.d
    rng = random.Random(99)
    msgs = [wgpeer.random_initiation(rng) for _ in range(4)]
    msgs += [wgpeer.random_initiation(rng, good_mac1_for=t.our_pub) for _ in range(3)]
    msgs += [msg_header(MSG_RESPONSE) + rng.randbytes(LEN_RESPONSE - 4) for _ in range(2)]
    msgs += [msg_header(MSG_COOKIE) + rng.randbytes(LEN_COOKIE - 4) for _ in range(2)]
    errs0 = d.errors()
    hs0 = wgpeer.wg_peer_state(d, wgpeer.WG0, t.wg.public_key)
    res = wgpeer.send_udp(t.peer, APP_VETH4, WG_PORT, msgs, sport=40002, wait=0.5)
    assert res["sent"] == len(msgs) and res["replies"] == [], res
    errs = d.wait_counter(d.errors, lambda e: wgpeer.delta(errs0, e, ("wg-input", "handshake"))
                          + refused(e) - refused(errs0) >= len(msgs))
    assert d.running()
    # The session is the same one, and still carries traffic.
    probes.ping(t.app, PEER4)
    probes.ping(t.peer, OUR4)
    me = wgpeer.wg_peer_state(d, wgpeer.WG0, t.wg.public_key)
    assert me["endpoint"] == f"{PEER_VETH4}:{WG_PORT}", me
    assert me["latest_handshake"] >= hs0["latest_handshake"], (hs0, me)
    # One count per message: "handshake" when taken, a refusal reason when
    # refused (as every other wg-input drop).
    assert wgpeer.delta(errs0, errs, ("wg-input", "handshake")) + \
        refused(errs) - refused(errs0) == len(msgs), errs
    assert refused(errs) - refused(errs0) == len(msgs), \
        f"{len(msgs)} handshake messages refused, not counted as such:\n" \
        + d.cli("show errors")


def captured_data_from_peer(t, tmp_path, count=5):
    """Data messages wireguard-go sends us while the peer pings us `count`
    times, as captured on the peer's veth."""
    cap = wgpeer.capture(t.peer, t.peer_if,
                         f"udp and src host {PEER_VETH4} and src port {WG_PORT} "
                         f"and dst port {WG_PORT}", tmp_path / "to-us.pcap")
    probes.ping(t.peer, OUR4, count=count)
    wgpeer.stop_capture(cap)
    msgs = [m[4] for m in wgpeer.udp_payloads_eth(wgpeer.read_pcap(tmp_path / "to-us.pcap")[1])
            if m[4][:4] == msg_header(MSG_DATA)]
    assert len([m for m in msgs if len(m) > 32]) == count, [len(m) for m in msgs]
    return msgs


def test_replayed_data_counted_not_delivered(topo, mintflow, tun_name, tmp_path):
    """Data messages we already took, sent again (from another port: keys
    authenticate, addresses do not): each is a replay, nothing reaches the
    TUN twice, and a replay does not move the peer's endpoint (it is not a
    packet the peer sent now, whitepaper 2.1 and 5.4.6)."""
    t = up_tunnel(topo, mintflow, tun_name, tmp_path)
    d = t.d
    msgs = captured_data_from_peer(t, tmp_path)
    errs0, ifs0 = d.errors(), d.interfaces()
    me0 = wgpeer.wg_peer_state(d, wgpeer.WG0, t.wg.public_key)
    k0 = kernel_tun_rx(t.app, t.tun)
    for rnd in range(2):
        res = wgpeer.send_udp(t.peer, APP_VETH4, WG_PORT, msgs, sport=40003, wait=0.3)
        assert res["sent"] == len(msgs) and res["replies"] == [], res
    key = ("wg-input", "replay")
    errs = d.wait_counter(d.errors, lambda e: wgpeer.delta(errs0, e, key) >= 2 * len(msgs))
    assert wgpeer.delta(errs0, errs, key) == 2 * len(msgs), errs
    assert refused(errs) - refused(errs0) == 2 * len(msgs), errs
    ifs = d.interfaces()
    assert ifs[wgpeer.WG0].rx_packets == ifs0[wgpeer.WG0].rx_packets, (ifs0, ifs)
    assert ifs[t.tun].tx_packets == ifs0[t.tun].tx_packets, (ifs0, ifs)
    assert kernel_tun_rx(t.app, t.tun) == k0
    # No echo reply went back for a replayed request.
    assert ifs[wgpeer.WG0].tx_packets == ifs0[wgpeer.WG0].tx_packets, (ifs0, ifs)
    me = wgpeer.wg_peer_state(d, wgpeer.WG0, t.wg.public_key)
    assert me["endpoint"] == f"{PEER_VETH4}:{WG_PORT}", me
    assert me["rx"] == me0["rx"], (me0, me)
    probes.ping(t.app, PEER4)
    probes.ping(t.peer, OUR4)


def test_forged_data_with_live_index_auth_failed(topo, mintflow, tun_name, tmp_path):
    """Data messages naming our live receiver index with fresh counters but
    random ciphertext fail authentication: counted, not delivered, and they
    do not move the endpoint or disturb the replay window."""
    t = up_tunnel(topo, mintflow, tun_name, tmp_path)
    d = t.d
    msgs = captured_data_from_peer(t, tmp_path, count=2)
    receiver = int.from_bytes(msgs[-1][4:8], "little")
    top = max(int.from_bytes(m[8:16], "little") for m in msgs)
    rng = random.Random(5)
    forged = [wgpeer.data_message(receiver, top + 1 + i, rng.randbytes(n))
              for i, n in enumerate((16, 48, 100, 1400, 16))]
    errs0, ifs0 = d.errors(), d.interfaces()
    res = wgpeer.send_udp(t.peer, APP_VETH4, WG_PORT, forged, sport=40004, wait=0.3)
    assert res["sent"] == len(forged) and res["replies"] == [], res
    key = ("wg-input", "auth-failed")
    errs = d.wait_counter(d.errors, lambda e: wgpeer.delta(errs0, e, key) >= len(forged))
    assert wgpeer.delta(errs0, errs, key) == len(forged), errs
    assert refused(errs) - refused(errs0) == len(forged), errs
    ifs = d.interfaces()
    assert ifs[wgpeer.WG0].rx_packets == ifs0[wgpeer.WG0].rx_packets, (ifs0, ifs)
    assert ifs[t.tun].tx_packets == ifs0[t.tun].tx_packets, (ifs0, ifs)
    me = wgpeer.wg_peer_state(d, wgpeer.WG0, t.wg.public_key)
    assert me["endpoint"] == f"{PEER_VETH4}:{WG_PORT}", me
    # The counters the forgeries named were not consumed: the peer's real
    # next messages (those very counters) still get through.
    probes.ping(t.peer, OUR4, count=5)
    probes.ping(t.app, PEER4)
    assert d.errors().get(("wg-input", "replay"), 0) == errs0.get(("wg-input", "replay"), 0)
