"""50 MiB each way through the host stack to `direct` under packet loss,
intact (sha256): (a) loss between the app and the daemon, from the
daemon's own fault injection on the TUN (`debug: {tun_drop: P}`: the host
stack's TCP must recover it); (b) loss and reordering on the wire between
the daemon's sockets and the server (netem on inet's veth: the kernel's
TCP recovers it, the host stack must carry the slower, burstier stream).

  +------------------------- app --------------------------+       +---------------- inet ----------------+
  | curl -o / -T                                           |       | inet_tool.py http :8080               |
  |   v  (daemon path: rule 7301 -> table 7300 -> mftN)     |       |                                       |
  | mftN ==TUN== mintflow  0/0, ::/0 -> direct             |       |                                       |
  |   (a) tun-input/tun-output drop P of the packets       |       |  (b) veth1b: netem delay 1ms loss 1%  |
  |                                                        |       |      reorder 5% (egress)              |
  | veth1a 198.18.0.1/24 2001:db8:1::1/64 -----------------+-------+ veth1b 198.18.0.2/24 2001:db8:1::2/64 |
  +--------------------------------------------------------+       +---------------------------------------+

Without sch_netem in the kernel, (b) drops 1% each way on veth1b with an
nftables netdev filter instead (loss only, no reordering), and is skipped
when neither is available."""

import os
import re
import shutil

import pytest

from mfharness import inet
from mfharness.netns import CommandFailed
from mfharness.inet import INET4, random_file, sha256_file

inet_env = inet.inet_env  # the fixture, requested by name

SIZE = 50 * (1 << 20)
TIMEOUT = 90  # seconds per transfer


@pytest.fixture(scope="module")
def big_file(tmp_path_factory):
    root = tmp_path_factory.mktemp("loss-files")
    path = str(root / "50MiB")
    random_file(path, SIZE, seed=50)
    return str(root), "50MiB", sha256_file(path)


def both_ways_intact(env, big_file, tmp_path, timeout):
    root, name, digest = big_file
    env.start_http(root)
    opened = env.opened()
    got = env.download(INET4, name, str(tmp_path / "got"), timeout=timeout)
    assert got == (SIZE, digest), f"download: got {got}, expected {SIZE} {digest}"
    up = env.upload(INET4, os.path.join(root, name), timeout=timeout)
    assert up == {"bytes": SIZE, "sha256": digest}, f"upload: server got {up}"
    env.assert_through_daemon(opened, 2)


@pytest.mark.parametrize("drop", [0.01, 0.05])
def test_tun_fault_injection(inet_env, big_file, tmp_path, drop):
    env = inet_env(sections={"debug": {"tun_drop": drop}},
                   daemon_only="no TUN on the kernel path")
    try:
        both_ways_intact(env, big_file, tmp_path, timeout=TIMEOUT)
    except CommandFailed as e:
        # Too slow rather than corrupt: the recovery counters say why.
        raise AssertionError(f"{e}\nshow hoststack:\n{env.d.cli('show hoststack')}") from None
    e = env.d.errors()
    # The injection did drop packets, both ways.
    for node in ("tun-input", "tun-output"):
        assert e.get((node, "fault-drop"), 0) > 0, env.d.cli("show errors")


def wire_loss(ns, ifname):
    """netem on ifname's egress; else an nftables netdev filter dropping 1%
    each way; else skip. Returns what was set up."""
    r = ns.run(["tc", "qdisc", "add", "dev", ifname, "root", "netem",
                "delay", "1ms", "loss", "1%", "reorder", "5%"], check=False)
    if r.returncode == 0:
        return "netem delay 1ms loss 1% reorder 5%"
    netem_error = (r.stderr or r.stdout).strip()
    if not shutil.which("nft"):
        pytest.skip(f"no sch_netem ({netem_error}) and no nft for a fallback")
    rules = (f'table netdev mfloss {{\n'
             f'  chain in {{ type filter hook ingress device "{ifname}" priority 0; '
             f'numgen random mod 1000 < 10 counter drop; }}\n'
             f'  chain out {{ type filter hook egress device "{ifname}" priority 0; '
             f'numgen random mod 1000 < 10 counter drop; }}\n}}\n')
    r = ns.run(["nft", "-f", "-"], input=rules, check=False)
    if r.returncode != 0:
        pytest.skip(f"no sch_netem ({netem_error}) and nft refused the fallback: "
                    f"{r.stderr.strip()}")
    return "nft"


def nft_dropped(ns):
    """Packets the nftables fallback dropped so far."""
    out = ns.run(["nft", "list", "table", "netdev", "mfloss"]).stdout
    return sum(int(n) for n in re.findall(r"counter packets (\d+)", out))


def test_wire_loss_and_reordering(inet_env, big_file, tmp_path):
    env = inet_env()
    how = wire_loss(env.inet, env.inet_if)
    both_ways_intact(env, big_file, tmp_path, timeout=TIMEOUT)
    if how == "nft":
        dropped = nft_dropped(env.inet)
        assert dropped > 0, "the nftables fallback dropped nothing"
        how = f"nftables fallback (no sch_netem): {dropped} packets dropped"
    print(how)
