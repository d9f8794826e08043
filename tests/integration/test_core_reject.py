"""TCP to a prefix routed to a `reject` interface is refused at once (RST),
for IPv4 and IPv6, and for the default routes as well as a specific one.

  +------------------------------ app -------------------------------------+
  |  connect 198.51.100.7:80, 192.0.2.55:443, [2001:db8:1::1]:80           |
  |    | rule 7301 -> table 7300 default dev mftN                          |
  |    v                                                                   |
  |  mftN 172.19.0.1/30 fdfe:dcba:9876::1/126  ==TUN==  mintflow           |
  |                  0.0.0.0/0, 198.51.100.0/24, ::/0 -> blocked (reject)  |
  |                  203.0.113.0/24, 2001:db8:dead::/48 -> void (drop)     |
  +------------------------------------------------------------------------+
"""

import pytest

from mfharness import probes
from mfharness.daemon import CORE_INTERFACES, profile_yaml


@pytest.mark.parametrize("dst,port", [
    ("198.51.100.7", 80),     # 198.51.100.0/24 -> blocked
    ("192.0.2.55", 443),      # 0.0.0.0/0 -> blocked
    ("2001:db8:1::1", 80),    # ::/0 -> blocked
])
def test_tcp_to_reject_is_refused_fast(core, dst, port):
    before = core.d.interfaces()["blocked"]
    res = probes.tcp_connect(core.ns, dst, port, timeout=3.0)
    assert res["result"] == "refused", res
    assert res["elapsed"] < 1.0, res
    after = core.d.interfaces()["blocked"]
    assert after.tx_packets - before.tx_packets >= 1, (before, after)
    # The RST went back out of the TUN; nothing counted as a drop.
    errs = core.d.errors()
    assert ("ip4-reject", "rst-not-answered") not in errs, errs
    assert ("ip6-reject", "rst-not-answered") not in errs, errs


def test_implicit_v6_default_follows_v4_default(topo, mintflow, tun_name):
    """Without ::/0 in the profile the daemon adds it, pointing where
    0.0.0.0/0 points: IPv6 TCP is refused too, not leaked or dropped."""
    ns = topo.ns("app")
    d = mintflow(ns, profile_yaml(tun_name, interfaces=CORE_INTERFACES,
                                  routes=[("0.0.0.0/0", "blocked"),
                                          ("203.0.113.0/24", "void")]))
    res = probes.tcp_connect(ns, "2001:db8:1::1", 80, timeout=3.0)
    assert res["result"] == "refused" and res["elapsed"] < 1.0, res
    rows = [r for r in d.fib() if r.prefix == "::/0"]
    assert rows and all(r.interface == "blocked" for r in rows), d.cli("show ip fib")
