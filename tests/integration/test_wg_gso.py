"""TUN offloads on the software GSO path: the machine's TCP reaches the
daemon as super-packets (tun-input super-packets), and what goes into the
tunnel has been cut back into the app's segments (gso-segment segmented):
sha256 intact, never an ICMP too-big for a super-packet, nothing the peer
could not open. With MINTFLOW_TUN_OFFLOAD=0 in the environment the same
transfer runs without any super-packet.

  +--------------- app ---------------+         +------------ peer ------------+
  | stream send :5201                 |         | stream recv :5201            |
  |   v  (auto_route)                 |         |   ^                          |
  | mftN ==TUN== mintflow wg0         |         | wireguard-go 10.100.0.2/24   |
  |   tun-input -> gso-segment -> wg  |         |                              |
  |   10.100.0.1/32  udp :51820 ------+- veth --+-- udp :51820  10.99.0.2      |
  +-----------------------------------+         +------------------------------+
"""

import os

import pytest

from mfharness import probes, wgpeer
from mfharness.wgpeer import OUR4, PEER4

SIZE = 30 * 1000 * 1000
OFFLOAD = os.environ.get("MINTFLOW_TUN_OFFLOAD") != "0"


@pytest.fixture
def tun(topo, mintflow, tun_name, tmp_path):
    t = wgpeer.tunnel(topo, mintflow, tun_name, tmp_path)
    probes.ping(t.app, PEER4, count=1)
    return t


def test_super_packets_cut_for_the_tunnel(tun, tmp_path):
    t, d = tun, tun.d
    sent, got = wgpeer.transfer(t.app, t.peer, PEER4, SIZE, tmp_path, port=5201,
                                seed=21, timeout=40)
    assert got["bytes"] == SIZE and got["sha256"] == sent["sha256"], (sent, got)
    assert got["peer"] == OUR4, got
    e = d.errors()
    supers = e.get(("tun-input", "super-packets"), 0)
    cut = e.get(("gso-segment", "segmented"), 0)
    assert e.get(("wg-output", "too-big"), 0) == 0, d.cli("show errors")
    for k in (("gso-segment", "bad-header"), ("gso-segment", "bad-size"),
              ("gso-segment", "no-buffers"), ("tun-input", "bad-vnet-header")):
        assert e.get(k, 0) == 0, d.cli("show errors")
    if OFFLOAD:
        # A bulk TCP sender over a TSO-capable device merges segments.
        assert supers > 0 and cut > 0, d.cli("show errors")
    else:
        assert supers == 0 and cut == 0, d.cli("show errors")
