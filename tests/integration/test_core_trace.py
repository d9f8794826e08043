"""Packet trace and runtime statistics of the graph.

  +------------------------------ app -------------------------------------+
  |  ping 172.19.0.2                                                       |
  |    v                                                                   |
  |  mftN 172.19.0.1/30  ==TUN==  mintflow                                 |
  |     tun-input -> ip4-input -> ip4-lookup -> ip4-local -> ... tun-output|
  +------------------------------------------------------------------------+
"""

from mfharness import parse
from mfharness.daemon import STACK_ADDR4
from mfharness.probes import ping

PATH = ["tun-input", "ip4-input", "ip4-lookup", "ip4-local", "tun-output"]


def test_trace_ping(core):
    d = core.d
    d.cli("clear trace")
    d.cli("trace add tun-input 3")
    ping(core.ns, STACK_ADDR4, count=1)
    text = d.cli("show trace")
    packets = parse.trace(text)
    assert any(parse.is_subsequence(PATH, p.nodes) for p in packets), \
        f"no traced packet went {' -> '.join(PATH)}:\n{text}"


def test_trace_count_is_a_limit(core):
    d = core.d
    d.cli("clear trace")
    d.cli("trace add tun-input 2")
    ping(core.ns, STACK_ADDR4, count=4)
    text = d.cli("show trace")
    packets = parse.trace(text)
    assert 1 <= len(packets) <= 2, text
    d.cli("clear trace")
    assert parse.trace(d.cli("show trace")) == []


def test_runtime_counts_and_clears(core):
    d = core.d
    ping(core.ns, STACK_ADDR4, count=3)
    rt = d.runtime()
    for node in ("tun-input", "ip4-input", "ip4-lookup", "ip4-local"):
        assert node in rt and rt[node].vectors >= 3 and rt[node].calls >= 1, \
            d.cli("show runtime")
    d.cli("clear runtime")
    rt = d.runtime()
    assert rt.get("ip4-local") is None or rt["ip4-local"].vectors == 0, \
        d.cli("show runtime")
