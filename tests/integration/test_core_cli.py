"""The CLI: where -s may go, MINTFLOW_SOCKET, `show ip fib`, and a clear
failure when no daemon listens.

  +------------------------------ app -------------------------------------+
  |  mintflow show ... -s tmp/mintflow.sock  -->  mintflow run (core)      |
  +------------------------------------------------------------------------+
"""

import os

import pytest

from mfharness import daemon as mfd
from mfharness.daemon import CORE_ROUTES

NO_DAEMON_COMMANDS = ["show version", "show errors", "show interfaces",
                      "show ip fib", "show runtime", "show trace",
                      "clear errors", "trace add tun-input 1", "pcap stop"]


@pytest.mark.parametrize("cmd", NO_DAEMON_COMMANDS)
def test_no_daemon_is_a_clear_error(topo, tmp_path, cmd):
    ns = topo.ns("cli")
    sock = tmp_path / "nobody.sock"
    r = ns.run(mfd.cli_argv(cmd, sock), check=False, timeout=5)
    assert r.returncode == 1, f"exit {r.returncode}\n{r.stdout}{r.stderr}"
    msg = r.stderr.strip()
    assert msg, "nothing on stderr"
    assert str(sock) in msg or "not running" in msg.lower(), msg


def test_no_daemon_via_environment(topo, tmp_path):
    ns = topo.ns("cli")
    sock = tmp_path / "env.sock"
    env = dict(os.environ, MINTFLOW_SOCKET=str(sock))
    r = ns.run([mfd.binary(), "show", "version"], check=False, timeout=5, env=env)
    assert r.returncode == 1 and str(sock) in r.stderr, r.stderr


def test_socket_option_anywhere_and_env(core):
    d = core.d
    # The first line names the version; later ones (uptime) change.
    ref = d.cli("show version").splitlines()[0]
    assert ref.strip()
    s = str(d.socket)
    bin_ = mfd.binary()
    for argv in ([bin_, "-s", s, "show", "version"],
                 [bin_, "show", "-s", s, "version"],
                 [bin_, "show", "version", "-s", s]):
        r = core.ns.run(argv, check=False, timeout=5)
        assert r.returncode == 0 and r.stdout.splitlines()[0] == ref, \
            (argv, r.stdout, r.stderr)
    env = dict(os.environ, MINTFLOW_SOCKET=s)
    r = core.ns.run([bin_, "show", "version"], check=False, timeout=5, env=env)
    assert r.returncode == 0 and r.stdout.splitlines()[0] == ref, r.stderr


def test_show_ip_fib_has_profile_routes(core):
    rows = core.d.fib()
    text = core.d.cli("show ip fib")
    for cidr, iface in CORE_ROUTES:
        mine = [r for r in rows if r.prefix == cidr]
        assert mine, f"{cidr} missing:\n{text}"
        assert any(r.interface == iface and r.active for r in mine), \
            f"{cidr} not active via {iface}:\n{text}"
