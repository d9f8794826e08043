"""What the daemon adds to its namespace with auto_route (+ exclude_lan), and
that it takes all of it away again: on SIGTERM/SIGINT, and after a SIGKILL
on the next start over the same run directory.

  +------------------------------ app -------------------------------------+
  |  rules:  P    to 10/8, 172.16/12, 192.168/16, 169.254/16 lookup main   |
  |               to fc00::/7, fe80::/10 lookup main            (v6)       |
  |          P+1  not fwmark M lookup T                         (v4, v6)   |
  |  table T: default dev mftN (v4, v6)                                    |
  |  mftN 172.19.0.1/30 fdfe:dcba:9876::1/126  ==TUN==  mintflow           |
  |                                      state: <run-dir>/mftN.state       |
  +------------------------------------------------------------------------+
"""

import signal

import pytest

from mfharness.daemon import core_profile

LAN4 = {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"}
LAN6 = {"fc00::/7", "fe80::/10"}


def rules(ns, v6=False):
    """(priority, not, dst, fwmark, table) per rule, sorted."""
    out = []
    for r in ns.ip_json(*(["-6"] if v6 else []), "rule"):
        dst = f"{r['dst']}/{r['dstlen']}" if "dst" in r and "dstlen" in r else r.get("dst")
        out.append((r["priority"], "not" in r, dst, r.get("fwmark"), str(r["table"])))
    return sorted(out, key=lambda x: (x[0], str(x)))


def expected_rules(prio, mark, table, exclude_lan, v6):
    lan = LAN6 if v6 else LAN4
    want = [(prio + 1, True, None, hex(mark), str(table))]
    if exclude_lan:
        want += [(prio, False, cidr, None, "main") for cidr in lan]
    return sorted(want, key=lambda x: (x[0], str(x)))


def ours(rule_list, prio):
    return sorted([r for r in rule_list if r[0] in (prio, prio + 1)],
                  key=lambda x: (x[0], str(x)))


def table_routes(ns, table, v6=False):
    return ns.ip_json(*(["-6"] if v6 else []), "route", "show", "table", str(table))


def assert_running_state(ns, tun, prio, mark, table, exclude_lan, foreign=()):
    for v6 in (False, True):
        got = ours(rules(ns, v6), prio)
        want = sorted(expected_rules(prio, mark, table, exclude_lan, v6)
                      + [f[:5] for f in foreign if f[5] == v6],
                      key=lambda x: (x[0], str(x)))
        assert got == want, f"{'ip -6' if v6 else 'ip'} rule:\n" + \
            ns.ip(*(["-6"] if v6 else []), "rule")
        routes = [(r["dst"], r.get("dev")) for r in table_routes(ns, table, v6)]
        assert routes == [("default", tun)], routes
    link = ns.ip_json("addr", "show", "dev", tun)[0]
    addrs = {f"{a['local']}/{a['prefixlen']}" for a in link["addr_info"]
             if a.get("scope") == "global"}
    assert addrs == {"172.19.0.1/30", "fdfe:dcba:9876::1/126"}, link
    assert link["mtu"] == 1500 and "UP" in link["flags"], link


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_auto_route_exclude_lan_then_clean_exit(topo, mintflow, tun_name, sig):
    ns = topo.ns("app")
    before = ns.net_state()
    d = mintflow(ns, core_profile(tun_name, exclude_lan=True))
    assert_running_state(ns, tun_name, 7300, 0x7300, 7300, True)
    state = d.run_dir / f"{tun_name}.state"
    assert state.exists(), sorted(p.name for p in d.run_dir.iterdir())
    log = d.log_text()
    assert "mintflow: ready" in log, log
    stray = [l for l in log.splitlines() if l and not l.startswith("mintflow: ")]
    assert not stray, f"log lines without the 'mintflow: ' prefix: {stray}"
    d.stop(sig=sig)
    ns.wait_state(before)
    assert not state.exists()


def test_no_exclude_lan_adds_only_the_tun_rule(topo, mintflow, tun_name):
    ns = topo.ns("app")
    before = ns.net_state()
    d = mintflow(ns, core_profile(tun_name, exclude_lan=False))
    assert_running_state(ns, tun_name, 7300, 0x7300, 7300, False)
    d.stop()
    ns.wait_state(before)


def test_sigkill_then_restart_cleans_stale(topo, mintflow, tun_name):
    """Non-default table/mark/priority, and a foreign rule at one of the
    daemon's priorities, which must survive both the stale cleanup and the
    clean exit (only what the state file names is ever removed)."""
    ns = topo.ns("app")
    prio, mark, table = 9000, 0x1234, 7400
    ns.ip("rule", "add", "to", "192.0.2.0/24", "lookup", "main", "pref", str(prio + 1))
    foreign = [(prio + 1, False, "192.0.2.0/24", None, "main", False)]
    before = ns.net_state()
    profile = core_profile(tun_name, exclude_lan=True,
                           tun_extra={"route_table": table, "fwmark": hex(mark),
                                      "rule_priority": prio})
    d = mintflow(ns, profile)
    assert_running_state(ns, tun_name, prio, mark, table, True, foreign)
    running = {v6: rules(ns, v6) for v6 in (False, True)}

    d.kill()
    state = d.run_dir / f"{tun_name}.state"
    assert state.exists(), "state file gone after SIGKILL"
    # Rules do not belong to the TUN: they outlive the daemon.
    assert rules(ns) == running[False]
    assert rules(ns, True) == running[True]

    d.start()
    assert_running_state(ns, tun_name, prio, mark, table, True, foreign)
    for v6 in (False, True):
        assert rules(ns, v6) == running[v6], ns.ip(*(["-6"] if v6 else []), "rule")
    d.stop()
    ns.wait_state(before)
    assert not state.exists()
