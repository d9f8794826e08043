"""Bulk data through the tunnel: 100 MB each way over TCP with the sha256
of what arrived equal to what left, and iperf3 TCP both ways and UDP.

  +--------------- app ---------------+         +------------ peer ------------+
  | stream send / recv :5202          |         | stream recv :5201 / send     |
  | iperf3 -c 10.100.0.2 [-R] [-u]    |         | iperf3 -s -B 10.100.0.2      |
  |   v  (auto_route)                 |         |   ^                          |
  | mftN ==TUN== mintflow wg0         |         | wireguard-go 10.100.0.2/24   |
  |   10.100.0.1/32  udp :51820 ------+- veth --+-- udp :51820  10.99.0.2      |
  +-----------------------------------+         +------------------------------+
"""

import json

import pytest

from mfharness import probes, wgpeer
from mfharness.wgpeer import OUR4, PEER4

MB = 1000 * 1000
SIZE = 100 * MB

CORRUPTION = [("wg-input", r) for r in ("bad-message", "auth-failed", "bad-inner-packet",
                                        "src-not-allowed", "unknown-index")] + \
             [("wg-output", r) for r in ("encrypt-failed", "too-big", "no-peer")]


@pytest.fixture
def tun(topo, mintflow, tun_name, tmp_path):
    t = wgpeer.tunnel(topo, mintflow, tun_name, tmp_path)
    probes.ping(t.app, PEER4, count=1)
    return t


def no_corruption(d):
    errs = d.errors()
    bad = {k: errs[k] for k in CORRUPTION if errs.get(k)}
    assert not bad, d.cli("show errors")


def test_100mb_each_way_sha256(tun, tmp_path):
    t, d = tun, tun.d
    me0 = wgpeer.wg_peer_state(d, wgpeer.WG0, t.wg.public_key)
    sent, got = wgpeer.transfer(t.app, t.peer, PEER4, SIZE, tmp_path, port=5201,
                                seed=11, timeout=40)
    assert got["bytes"] == SIZE and got["sha256"] == sent["sha256"], (sent, got)
    # The peer saw our tunnel address, not the TUN's.
    assert got["peer"] == OUR4, got
    me1 = wgpeer.wg_peer_state(d, wgpeer.WG0, t.wg.public_key)
    assert me1["tx"] - me0["tx"] >= SIZE, (me0, me1)

    sent, got = wgpeer.transfer(t.peer, t.app, OUR4, SIZE, tmp_path, port=5202,
                                seed=12, timeout=40)
    assert got["bytes"] == SIZE and got["sha256"] == sent["sha256"], (sent, got)
    assert got["peer"] == PEER4, got
    me2 = wgpeer.wg_peer_state(d, wgpeer.WG0, t.wg.public_key)
    assert me2["rx"] - me1["rx"] >= SIZE, (me1, me2)
    ifs = d.interfaces()
    assert ifs[wgpeer.WG0].rx_bytes >= SIZE and ifs[wgpeer.WG0].tx_bytes >= SIZE, ifs
    assert ifs["rej"].tx_packets == 0, ifs
    no_corruption(d)
    # wireguard-go agrees on what crossed.
    them = t.wg.dump()["peers"][t.our_pub]
    assert them["rx"] >= SIZE and them["tx"] >= SIZE, them


def iperf_server(ns, port, name):
    s = ns.popen(["iperf3", "-s", "-1", "-J", "-B", PEER4, "-p", str(port)], name=name)
    # -J prints nothing until the end: wait for the listening socket instead.
    wgpeer.wait_until(lambda: f":{port} " in ns.run(["ss", "-Hltn"]).stdout, 5,
                      what=f"iperf3 listening on {port}")
    return s


def iperf_client(ns, args, timeout=20):
    r = ns.run(["iperf3", "-J", "-c", PEER4] + args, timeout=timeout, check=False)
    try:
        out = json.loads(r.stdout)
    except ValueError:
        raise AssertionError(f"iperf3 {args}: exit {r.returncode}\n{r.stdout}\n{r.stderr}")
    assert r.returncode == 0 and "error" not in out, (r.returncode, out.get("error"))
    return out


def server_json(s):
    s.wait(timeout=10)
    return json.loads(s.log_text())


def test_iperf3_tcp_both_ways_and_udp(tun):
    t = tun
    rates = {}
    for direction, args in (("app->peer", []), ("peer->app", ["-R"])):
        port = 5301 if not args else 5302
        s = iperf_server(t.peer, port, f"iperf3-{port}")
        out = iperf_client(t.app, ["-p", str(port), "-t", "3"] + args)
        server_json(s)
        rates[direction] = out["end"]["sum_received"]["bits_per_second"]
        assert out["end"]["sum_received"]["bytes"] > 0, out["end"]
    assert all(r > 0 for r in rates.values()), rates

    s = iperf_server(t.peer, 5303, "iperf3-udp")
    out = iperf_client(t.app, ["-p", "5303", "-u", "-b", "50M", "-t", "3"])
    srv = server_json(s)["end"]["sum"]
    received = srv["packets"] - srv["lost_packets"]
    assert srv["packets"] > 0 and received > 0, srv
    # 50 Mbit/s is well within what the tunnel carries here: most arrive.
    assert received >= 0.5 * out["end"]["sum"]["packets"], (srv, out["end"]["sum"])
    no_corruption(t.d)
    print(f"iperf3 TCP {rates}, UDP server {srv}")
