"""The embedded default profile is valid, and a daemon running it says that
`direct` is not available yet and leaves routing alone (no auto_route).

  +------------------------------ app -------------------------------------+
  |  <default tun>  ==TUN==  mintflow -c default.yaml                      |
  |  rules and routing tables: as before the daemon (only the TUN's own   |
  |  connected/local routes appear while it runs)                          |
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


def test_default_profile_runs_without_auto_route(topo, mintflow):
    ns = topo.ns("app")
    before = ns.net_state()
    d = mintflow(ns, default_text(ns), name="default")
    d.wait_log(r"direct.*not available yet", timeout=2.0)
    assert ns.ip("rule") == before["ip rule"]
    assert ns.ip("-6", "rule") == before["ip -6 rule"]
    for fam in ([], ["-6"]):
        tables = {r.get("table", "main") for r in
                  ns.ip_json(*fam, "route", "show", "table", "all")}
        assert tables <= {"main", "local"}, ns.ip(*fam, "route", "show", "table", "all")
    assert re.search(r"^mintflow: ready\b", d.log_text(), re.M), d.log_text()
    d.stop()
    ns.wait_state(before)
