"""UDP to a `drop` prefix vanishes and is counted; UDP to a `reject` prefix
is dropped too (reject only answers TCP) under its own reason; TCP to a
`drop` prefix gets no RST.

  +------------------------------ app -------------------------------------+
  |  udp 203.0.113.9:9999, [2001:db8:dead::9]:9999  (void, drop)           |
  |  udp 198.51.100.7:53, [2001:db8:1::1]:53        (blocked, reject)      |
  |    v                                                                   |
  |  mftN 172.19.0.1/30 fdfe:dcba:9876::1/126  ==TUN==  mintflow           |
  +------------------------------------------------------------------------+
"""

import pytest

from mfharness import probes


def delta(before, after, key):
    return after.get(key, 0) - before.get(key, 0)


@pytest.mark.parametrize("dst,exact", [("203.0.113.9", True),
                                       ("2001:db8:dead::9", False)])
def test_udp_to_drop_is_silently_counted(core, dst, exact):
    d = core.d
    errs0, ifs0 = d.errors(), d.interfaces()
    res = probes.udp_probe(core.ns, dst, 9999, timeout=0.5)
    assert res["result"] == "timeout", res
    key = ("interface-drop", "routed-to-drop")
    errs = d.wait_counter(d.errors, lambda e: delta(errs0, e, key) >= 1)
    n = delta(errs0, errs, key)
    # IPv4 has no kernel chatter on the TUN: exactly our one datagram.
    assert (n == 1) if exact else (n >= 1), (errs0, errs)
    ifs = d.interfaces()
    assert ifs["void"].tx_packets - ifs0["void"].tx_packets >= 1, (ifs0, ifs)
    if exact:
        assert ifs["blocked"].tx_packets == ifs0["blocked"].tx_packets, (ifs0, ifs)


@pytest.mark.parametrize("dst,node", [("198.51.100.7", "ip4-reject"),
                                      ("2001:db8:1::1", "ip6-reject")])
def test_udp_to_reject_is_dropped(core, dst, node):
    d = core.d
    errs0 = d.errors()
    res = probes.udp_probe(core.ns, dst, 53, timeout=0.5)
    # Reject answers TCP only: no ICMP unreachable, so no ECONNREFUSED.
    assert res["result"] == "timeout", res
    key = (node, "rejected-not-tcp")
    errs = d.wait_counter(d.errors, lambda e: delta(errs0, e, key) >= 1)
    assert delta(errs0, errs, key) >= 1, (errs0, errs)


def test_tcp_to_drop_gets_no_answer(core):
    res = probes.tcp_connect(core.ns, "203.0.113.9", 80, timeout=1.0)
    assert res["result"] == "timeout", res
    errs = core.d.errors()
    assert errs.get(("interface-drop", "routed-to-drop"), 0) >= 1, errs
