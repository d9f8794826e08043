"""iperf3 through the host stack to `direct`: TCP app -> inet and inet ->
app (-R), IPv4 and IPv6, and UDP; every run reports bytes received and no
error (iperf3 -J).

  +------------------------- app --------------------------+       +---------------- inet ----------------+
  | iperf3 -c 198.18.0.2 | 2001:db8:1::2  [-R] [-u]        |       | iperf3 -s -p 5201                     |
  |   v  (daemon path: rule 7301 -> table 7300 -> mftN)     |       |                                       |
  | mftN ==TUN== mintflow  0/0, ::/0 -> direct             |       |                                       |
  | veth1a 198.18.0.1/24 2001:db8:1::1/64 -----------------+-------+ veth1b 198.18.0.2/24 2001:db8:1::2/64 |
  +--------------------------------------------------------+       +---------------------------------------+

iperf3's control connection is TCP, so even the UDP run needs the host
stack's TCP on the daemon path."""

import json

import pytest

from mfharness import inet
from mfharness.inet import HOSTS, IPERF_PORT

inet_env = inet.inet_env  # the fixture, requested by name

SECONDS = 2


def iperf(env, host, *args):
    argv = ["iperf3", "-J", "-c", host, "-p", str(IPERF_PORT), "-t", str(SECONDS),
            "--connect-timeout", "5000"] + list(args)
    r = env.app.run(argv, check=False, timeout=SECONDS + 20)
    try:
        out = json.loads(r.stdout)
    except ValueError:
        raise AssertionError(f"{' '.join(argv)}: exit {r.returncode}\n{r.stdout}\n{r.stderr}")
    assert r.returncode == 0 and "error" not in out, (r.returncode, out.get("error"))
    return out["end"]


@pytest.mark.parametrize("family", ["v4", "v6"])
@pytest.mark.parametrize("direction", ["app-to-inet", "inet-to-app"])
def test_iperf3_tcp(inet_env, family, direction):
    env = inet_env()
    env.start_iperf()
    opened = env.opened()
    end = iperf(env, HOSTS[family], *(["-R"] if direction == "inet-to-app" else []))
    got, sent = end["sum_received"], end["sum_sent"]
    assert got["bytes"] > 0 and sent["bytes"] > 0, end
    # What left arrived: TCP loses nothing, and the whole of it was counted
    # by the receiving end before the test ended.
    assert got["bytes"] <= sent["bytes"], end
    assert got["bytes"] >= 0.9 * sent["bytes"], end
    env.assert_through_daemon(opened, 2)  # the control and the data connection
    print(f"{family} {direction}: {got['bits_per_second'] / 1e9:.2f} Gbit/s, "
          f"{got['bytes']} bytes")


@pytest.mark.parametrize("family", ["v4", "v6"])
def test_iperf3_udp(inet_env, family):
    env = inet_env()
    env.start_iperf()
    end = iperf(env, HOSTS[family], "-u", "-b", "100M")
    s = end["sum"]
    assert s["packets"] > 0 and s["bytes"] > 0, end
    received = s["packets"] - s["lost_packets"]
    assert received > 0, end
    # 100 Mbit/s is far below what either path carries here: most arrive.
    assert received >= 0.5 * s["packets"], end
    print(f"{family} udp: {s['packets']} packets, {s['lost_packets']} lost")
