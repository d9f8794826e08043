"""The harness checked on its own, without the daemon: namespaces, veth,
background peers, cleanup on every exit path, the stale sweep, packet
injection into a TUN, and the CLI table parsers."""

import json
import os
import signal
import subprocess
import time

import pytest
from scapy.layers.inet import ICMP, IP
from scapy.layers.inet6 import IPv6, ICMPv6EchoRequest

from mfharness import cleanup, netns, parse, probes

HERE = os.path.dirname(os.path.abspath(__file__))
PY = "/usr/bin/python3"


def test_veth_and_peer(topo):
    """
      +---------------- a ----------------+     +---------------- b ----------------+
      | veth1a 10.99.0.1/24 fd99::1/64    |-----| veth1b 10.99.0.2/24 fd99::2/64    |
      +-----------------------------------+     |   udp echo peer on :7000          |
                                                +-----------------------------------+
    """
    a, b = topo.ns("a"), topo.ns("b")
    topo.veth(a, ["10.99.0.1/24", "fd99::1/64"], b, ["10.99.0.2/24", "fd99::2/64"])
    a.run("ping -c 1 -W 2 10.99.0.2", timeout=5)
    a.run("ping -6 -c 1 -W 2 fd99::2", timeout=5)
    echo = b.popen([PY, "-u", "-c",
                    "import socket\n"
                    "s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                    "s.bind(('10.99.0.2', 7000)); print('listening')\n"
                    "while True:\n"
                    "    d,a=s.recvfrom(2048); s.sendto(d,a)\n"], name="udp-echo")
    echo.wait_output("listening")
    assert probes.udp_probe(a, "10.99.0.2", 7000, 2.0)["result"] == "reply"
    assert probes.udp_probe(a, "10.99.0.2", 7001, 1.0)["result"] == "refused"
    assert probes.tcp_connect(a, "10.99.0.2", 80, 2.0)["result"] == "refused"
    assert a.name.startswith(f"mft-{os.getpid()}-")
    assert a.name in netns.list_namespaces()


def test_close_removes_namespaces_and_processes(tmp_path):
    t = netns.Topology(str(tmp_path))
    n = t.ns("x")
    p = n.popen(["sleep", "60"])
    assert p.alive()
    assert t.close() == []
    assert n.name not in netns.list_namespaces()
    assert p.proc.returncode is not None  # reaped


def test_sweep_removes_only_dead_runs(tmp_path):
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = f"mft-{dead.pid}-1-stale"
    mine = netns.Topology(str(tmp_path))
    try:
        netns.create_ns(stale)
        sleeper = subprocess.Popen(["ip", "netns", "exec", stale, "sleep", "60"])
        live = mine.ns("live")
        time.sleep(0.1)
        removed = netns.sweep_stale()
        assert stale in removed
        assert live.name not in removed
        names = netns.list_namespaces()
        assert stale not in names and live.name in names
        assert sleeper.wait(timeout=5) == -signal.SIGKILL
    finally:
        cleanup.delete_ns(stale)
        mine.close()


_CHILD = r"""
import signal, sys, time
# As in an interactive run, whatever the parent did with SIGINT (a shell
# starts background jobs with SIGINT ignored).
signal.signal(signal.SIGINT, signal.default_int_handler)
sys.path.insert(0, %r)
from mfharness import cleanup, netns
cleanup.install()
t = netns.Topology(%r)
n = t.ns("sig")
n.popen(["sleep", "60"])
print(n.name, flush=True)
time.sleep(30)
"""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_interrupted_run_cleans_up(tmp_path, sig):
    child = subprocess.Popen([PY, "-c", _CHILD % (HERE, str(tmp_path))],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    name = ""
    try:
        name = child.stdout.readline().strip()
        assert name.startswith("mft-"), child.stderr.read()
        assert name in netns.list_namespaces()
        child.send_signal(sig)
        child.wait(timeout=10)
        assert name not in netns.list_namespaces()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=5)
        if name and name in netns.list_namespaces():
            cleanup.delete_ns(name)


def test_inject_reaches_tun_unchanged(topo):
    """
      +------------------- t -------------------+
      |  AF_PACKET socket --> tun9 --> reader   |
      +-----------------------------------------+
    The daemon tests write malformed packets this way: the reader (standing
    in for the daemon) must get exactly the bytes written.
    """
    t = topo.ns("t")
    good = bytes(IP(src="172.19.0.1", dst="172.19.0.2") / ICMP())
    pkts = [b"\x45", good[:12], b"\x55" + good[1:],
            bytes(IPv6(src="fdfe::1", dst="fdfe::2", plen=200) / ICMPv6EchoRequest()),
            good]
    reader = t.popen([PY, "-u", probes.PROBE, "tun-capture", "tun9", "20", "1"],
                     name="tun-reader")
    reader.wait_output('"ready"')
    probes.inject(t, "tun9", pkts)
    reader.wait(timeout=10)
    got = [bytes.fromhex(h) for h in
           json.loads(reader.log_text().splitlines()[-1])["packets"]]
    # The kernel may add its own packets (router solicitations, MLD).
    ours = [p for p in got if p in pkts]
    assert ours == pkts


def test_parsers():
    errs = parse.errors(
        "   Count Node Reason\n"
        "       3 ip4-input bad-checksum IPv4 header checksum wrong\n"
        "      12 interface-drop routed-to-drop\n")
    assert errs == {("ip4-input", "bad-checksum"): 3,
                    ("interface-drop", "routed-to-drop"): 12}
    ifs = parse.interfaces(
        "Name Idx Type RxPackets RxBytes TxPackets TxBytes Drops\n"
        "mft1 0 tun 5 420 5 420 0\n"
        "local 1 local 5 420 5 420 0\n"
        "blocked 2 reject 0 0 1 60 0\n")
    assert list(ifs) == ["mft1", "local", "blocked"]
    assert ifs["blocked"].tx_packets == 1 and ifs["mft1"].type == "tun"
    with pytest.raises(parse.ParseError):
        parse.interfaces("Name Idx\nx 1\n")
    rows = parse.fib("0.0.0.0/0 via blocked source profile priority 10 active\n"
                     "::/0 via blocked source implicit priority 10\n")
    assert rows[0] == parse.FibRow("0.0.0.0/0", "blocked", "profile", 10, True)
    assert rows[1].active is False
    rt = parse.runtime("Name Calls Vectors Vectors/Call Clocks/Pkt\n"
                       "tun-input 4 4 1.00 1.2e3\n"
                       "buffers: 10 of 12 free\n")
    assert rt["tun-input"].calls == 4
    tr = parse.trace("Packet 1\n"
                     "00:00:01:000001: tun-input\n  len 84\n"
                     "ip4-input: ICMP 172.19.0.1 -> 172.19.0.2\n"
                     "ip4-lookup fib 0 dst 172.19.0.2\n"
                     "Packet 2\ntun-input len 60\n")
    assert tr[0].nodes == ["tun-input", "ip4-input", "ip4-lookup"]
    assert tr[1].nodes == ["tun-input"]
    assert parse.is_subsequence(["a", "c"], ["a", "b", "c"])
    assert not parse.is_subsequence(["c", "a"], ["a", "b", "c"])
