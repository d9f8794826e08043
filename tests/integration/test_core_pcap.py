"""Packet capture on the TUN interface and on a graph node, with BPF filters
and a packet limit, read back with tshark.

  +------------------------------ app -------------------------------------+
  |  ping 172.19.0.2                                                       |
  |    v                                                                   |
  |  mftN 172.19.0.1/30  ==TUN==  mintflow --pcap--> tmp/cap.pcapng       |
  +------------------------------------------------------------------------+
                                     tshark -r tmp/cap.pcapng (root ns, read only)
"""

import re
import shlex

from mfharness import capture
from mfharness.daemon import STACK_ADDR4
from mfharness.probes import ping

STOP_RE = re.compile(r"pcap: (\d+) packets? written to (\S+)")


def pcap_stop(d, path):
    out = d.cli("pcap stop")
    m = STOP_RE.search(out)
    assert m, f"`pcap stop` printed {out!r}"
    assert m.group(2) == str(path), out
    return int(m.group(1))


def test_capture_interface(core, tmp_path):
    path = tmp_path / "cap.pcapng"
    core.d.cli(["pcap", "start", "--interface", core.tun, str(path)])
    ping(core.ns, STACK_ADDR4, count=5)
    n = pcap_stop(core.d, path)
    pkts = capture.read(path)
    types = capture.icmp_types(pkts)
    assert types.count(8) == 5 and types.count(0) == 5, pkts
    # IPv6 chatter of the kernel may be in the file too, never fewer packets.
    assert n == len(pkts) and n >= 10, (n, pkts)


def test_capture_filter(core, tmp_path):
    path = tmp_path / "req.pcapng"
    core.d.cli(["pcap", "start", "--interface", core.tun, "--filter",
                "icmp[icmptype] == 8", str(path)])
    ping(core.ns, STACK_ADDR4, count=5)
    assert pcap_stop(core.d, path) == 5
    pkts = capture.read(path)
    assert capture.icmp_types(pkts) == [8] * 5 and len(pkts) == 5, pkts


def test_capture_max(core, tmp_path):
    path = tmp_path / "max.pcapng"
    core.d.cli(["pcap", "start", "--interface", core.tun, "--filter", "icmp",
                "--max", "3", str(path)])
    ping(core.ns, STACK_ADDR4, count=5)
    # The capture ends by itself at 3; `pcap stop` then reports those 3 or
    # says no capture is running - either way the file holds exactly 3.
    r = core.d.cli_run("pcap stop")
    if r.returncode == 0:
        m = STOP_RE.search(r.stdout)
        assert m and int(m.group(1)) == 3, r.stdout
    assert len(capture.read(path)) == 3


def test_capture_node(core, tmp_path):
    """On ip4-local only the packets for the stack itself: the requests."""
    path = tmp_path / "node.pcapng"
    core.d.cli(["pcap", "start", "--node", "ip4-local", str(path)])
    ping(core.ns, STACK_ADDR4, count=5)
    pcap_stop(core.d, path)
    pkts = capture.read(path)
    types = capture.icmp_types(pkts)
    assert types.count(8) == 5, pkts
    dsts = {p["ip.dst"] for p in pkts if p["ip.dst"]}
    assert dsts == {STACK_ADDR4}, pkts


def test_bad_filter_is_refused_and_daemon_keeps_serving(core, tmp_path):
    path = tmp_path / "bad.pcapng"
    argv = ["pcap", "start", "--interface", core.tun, "--filter", "icmp[[ ==",
            str(path)]
    r = core.d.cli_run(argv)
    assert r.returncode != 0, f"mintflow {shlex.join(argv)} succeeded: {r.stdout}"
    # libpcap's own words for a parse failure.
    assert "syntax error" in (r.stdout + r.stderr), r.stdout + r.stderr
    assert core.d.running()
    core.d.cli("show version")
    ping(core.ns, STACK_ADDR4, count=1)
    # A valid capture can still be started afterwards.
    good = tmp_path / "good.pcapng"
    core.d.cli(["pcap", "start", "--interface", core.tun, str(good)])
    ping(core.ns, STACK_ADDR4, count=1)
    assert pcap_stop(core.d, good) >= 2
