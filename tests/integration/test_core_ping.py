"""The stack answers ping on its own addresses, IPv4 and IPv6, and the
interface counters follow.

  +------------------------------ app ------------------------------------+
  |  ping 172.19.0.2 / fdfe:dcba:9876::2                                  |
  |    | rule 7301 "not fwmark 0x7300 lookup 7300" -> default dev mftN    |
  |    v                                                                  |
  |  mftN 172.19.0.1/30 fdfe:dcba:9876::1/126  ==TUN==  mintflow          |
  |                                   local: 172.19.0.2 fdfe:dcba:9876::2 |
  |                                   blocked (reject), void (drop)       |
  +-----------------------------------------------------------------------+
"""

from mfharness.daemon import STACK_ADDR4, STACK_ADDR6
from mfharness.probes import ping


def test_ping_stack_v4_and_v6(core):
    d, tun = core.d, core.tun
    before = d.interfaces()
    ping(core.ns, STACK_ADDR4)
    ping(core.ns, STACK_ADDR6, v6=True)
    after = d.interfaces()
    # 3 + 3 requests in, 3 + 3 replies out (and maybe the kernel's own IPv6
    # chatter on top).
    assert after[tun].rx_packets - before[tun].rx_packets >= 6, (before, after)
    assert after[tun].tx_packets - before[tun].tx_packets >= 6, (before, after)
    # Echo requests of ping's default 56 data bytes: 84 B (IPv4), 104 B (IPv6).
    assert after[tun].rx_bytes - before[tun].rx_bytes >= 3 * 84 + 3 * 104
    assert after[tun].tx_bytes > before[tun].tx_bytes


def test_interface_list(core):
    """Interfaces in the contract's order and with their types: the TUN,
    `local`, then the profile's own."""
    ifs = core.d.interfaces()
    assert [(i.name, i.type) for i in ifs.values()] == [
        (core.tun, "tun"), ("local", "local"), ("blocked", "reject"),
        ("void", "drop")]
    assert len({i.idx for i in ifs.values()}) == len(ifs)
