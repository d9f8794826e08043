"""wireguard-go dies in the middle of traffic and comes back with the same
key and configuration but no session: our keypair is useless to it, and
since it does not know where we are, only our side can mend the tunnel. We
keep sending; with no answer for Keepalive-Timeout + Rekey-Timeout (15 s,
whitepaper 6.2) we start a new handshake, and traffic flows again.

  +--------------- app ---------------+         +------------ peer ------------+
  | ping -i 0.2 10.100.0.2 (running)  |         | wireguard-go  (SIGKILL,      |
  |   v                               |         |   then started again, same   |
  | mftN ==TUN== mintflow wg0         |         |   key, no endpoint for us)   |
  |   udp 10.99.0.1:51820 ------------+- veth --+-- udp 10.99.0.2:51820        |
  +-----------------------------------+         +------------------------------+
"""

import re
import signal
import time

from mfharness import probes, wgpeer
from mfharness.wgpeer import APP_VETH4, OUR4, PEER4, WG_PORT

RECOVERY_BOUND = 22.0  # 15 s + jitter + one handshake retry, with margin


def test_peer_restart_rehandshake(topo, mintflow, tun_name, tmp_path):
    t = wgpeer.tunnel(topo, mintflow, tun_name, tmp_path, peer_knows_us=False)
    d = t.d
    probes.ping(t.app, PEER4)
    hs0 = d.errors().get(("wg-input", "handshake"), 0)
    assert hs0 == 1

    # Traffic that keeps going across the restart.
    bg = t.app.popen(["ping", "-i", "0.2", "-W", "1", "-w", str(int(RECOVERY_BOUND) + 8),
                      PEER4], name="ping-background")
    time.sleep(0.6)
    t.wg.kill()
    killed_at = time.monotonic()
    time.sleep(0.5)
    t.wg.start()
    restarted_wall = time.time()
    assert t.wg.dump()["peers"][t.our_pub]["latest_handshake"] == 0

    # Echoes sealed under the old keypair reach the new wireguard-go and
    # are dropped there; none arrives while the tunnel is broken.
    wgpeer.wait_until(lambda: wgpeer.ping_ok(t.app, PEER4, count=1, wait=1),
                      RECOVERY_BOUND, interval=0.2, what="ping after wireguard-go restart")
    recovered = time.monotonic() - killed_at
    probes.ping(t.app, PEER4)
    probes.ping(t.peer, OUR4)

    errs = d.errors()
    assert errs.get(("wg-input", "handshake"), 0) >= hs0 + 1, errs
    me = wgpeer.wg_peer_state(d, wgpeer.WG0, t.wg.public_key)
    assert me["latest_handshake"] is not None and \
        me["latest_handshake"] <= time.monotonic() - killed_at, me
    them = t.wg.dump()["peers"][t.our_pub]
    assert them["latest_handshake"] >= int(restarted_wall) - 1, them
    assert them["endpoint"] == f"{APP_VETH4}:{WG_PORT}", them
    assert them["rx"] > 0 and them["tx"] > 0, them
    ifs = d.interfaces()
    assert ifs["rej"].tx_packets == 0, ifs
    bg.signal(signal.SIGINT)
    bg.wait(timeout=5)
    # The background ping saw replies before the outage, a gap, and
    # replies again after it (icmp_seq every 0.2 s).
    seqs = sorted(int(m) for m in re.findall(r"icmp_seq=(\d+) ttl", bg.log_text()))
    assert any(b - a >= 10 for a, b in zip(seqs, seqs[1:])), bg.log_text()
    print(f"tunnel back {recovered:.1f} s after wireguard-go was killed")
