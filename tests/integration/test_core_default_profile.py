"""The embedded default profile is valid, and a daemon running it takes the
namespace's traffic over (auto_route: table 7300 and its rules) and gives
it back on exit.

  +------------------------------ app -------------------------------------+
  |  <default tun>  ==TUN==  mintflow (default profile: all -> direct)     |
  |  while it runs: "not fwmark 0x7300 lookup 7300", exclude_lan rules,   |
  |  table 7300 default dev <tun>; after SIGTERM: as before               |
  +------------------------------------------------------------------------+
"""

import re

from mfharness import daemon as mfd


def default_text(ns):
    r = ns.run([mfd.binary(), "profile", "default"], timeout=5)
    assert r.stdout.strip(), "empty default profile"
    return r.stdout


def test_default_profile_passes_check(topo, tmp_path):
    ns = topo.ns("cli")
    text = default_text(ns)
    path = tmp_path / "default.yaml"
    path.write_text(text)
    r = ns.run([mfd.binary(), "check", "-c", str(path)], check=False, timeout=5)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip() or r.stderr.strip(), "check printed no summary"
    r = ns.run([mfd.binary(), "check", "-c", "/dev/stdin"], input=text,
               check=False, timeout=5)
    assert r.returncode == 0, r.stdout + r.stderr


def test_default_profile_takes_over_and_gives_back(topo, mintflow):
    ns = topo.ns("app")
    before = ns.net_state()
    d = mintflow(ns, default_text(ns), name="default")
    assert re.search(r"^mintflow: ready\b", d.log_text(), re.M), d.log_text()
    for fam in ([], ["-6"]):
        rules = ns.ip(*fam, "rule")
        assert re.search(r"not from all fwmark 0x7300 lookup 7300", rules), rules
        routes = ns.ip(*fam, "route", "show", "table", "7300")
        assert routes.startswith("default dev "), routes
    assert "not available" not in d.log_text()
    d.stop()
    ns.wait_state(before)
