"""The system resolver pointed at the daemon and given back: with App
Routing, the namespace's /etc/resolv.conf names the stack's DNS server, so
that plain `getent` and `dig` (no @server) resolve through it; SIGTERM, or
the next start after a SIGKILL, writes the original back unless someone
changed the file meanwhile. Without App Routing, dns.servers are written;
dns.system: off leaves the file alone; with systemd-resolved (faked: a
recording `resolvectl` on PATH and MINTFLOW_RESOLVED_DIR) the exact calls.

Every namespace has its own /etc/netns/NS/resolv.conf (mfharness.netns),
which `ip netns exec` mounts over /etc/resolv.conf: the machine's file is
never touched (the root-state guard compares it after every test).

  +---------------------------- app ---------------------------+      +-------- inet --------+
  | /etc/resolv.conf = /etc/netns/app/resolv.conf              |      | dnsmasq :53 (Direct) |
  |   getent / dig -> 172.19.0.2 (after the daemon rewrote it) |      |  svc.mintflow.test   |
  | mftN ==TUN== mintflow (app_routing, DNS on 172.19.0.2)     |      |    -> 198.18.0.2     |
  | veth1a 198.18.0.1/24 --------------------------------------+------+ veth1b 198.18.0.2/24 |
  +------------------------------------------------------------+      +----------------------+
"""

import os
import re
import stat
import time

import pytest

from mfharness import daemon as mfd
from mfharness import dns, inet
from mfharness.daemon import STACK_ADDR4, STACK_ADDR6, profile_yaml
from mfharness.inet import INET4
from mfharness.netns import run_host

NAME, ADDR = "svc.mintflow.test", INET4
ORIGINAL = ("# the namespace's own resolver settings\n"
            "search corp.example\n"
            "nameserver 192.0.2.53\n"
            "options edns0\n")


def read(path):
    with open(path) as f:
        return f.read()


def write_in_place(path, text):
    """Same inode, as `ip netns exec` needs: the bind mount follows it."""
    with open(path, "r+") as f:
        f.truncate(0)
        f.write(text)


def nameservers(text):
    return re.findall(r"^nameserver\s+(\S+)\s*$", text, re.M)


def approute_sections(direct, system=None, servers=None):
    lines = ["app_routing: true", "dns:", f'  direct: ["{direct}"]']
    if system:
        lines.append(f"  system: {system}")
    if servers:
        lines.append("  servers: [" + ", ".join(f'"{s}"' for s in servers) + "]")
    lines += ["routes:", "  - { dns_fallback: true, to: out }",
              "  - { cidr: 0.0.0.0/0, to: out }", '  - { cidr: "::/0", to: out }']
    return "\n".join(lines) + "\n"


def approute_profile(tun, direct="192.0.2.1", system=None):
    base = profile_yaml(tun, auto_route=True, exclude_lan=True,
                        interfaces=[("out", "direct")], routes=[])
    return base.replace("routes:\n", "") + approute_sections(direct, system)


def plain_profile(tun, servers, system=None):
    """App Routing off: dns.servers are what the system gets."""
    text = profile_yaml(tun, auto_route=False, interfaces=[("out", "direct")],
                        routes=[("0.0.0.0/0", "out"), ("::/0", "out")])
    text += "dns:\n  servers: [" + ", ".join(f'"{s}"' for s in servers) + "]\n"
    if system:
        text += f"  system: {system}\n"
    return text


@pytest.fixture(autouse=True)
def no_resolved(monkeypatch, tmp_path):
    """Whatever the machine runs, these tests see no systemd-resolved unless
    they fake one."""
    monkeypatch.setenv("MINTFLOW_RESOLVED_DIR", str(tmp_path / "no-resolved"))


def saved_files(d):
    return sorted(p for p in os.listdir(d.run_dir) if ".resolv" in p)


class ResolverEnv(inet.Env):
    """The inet topology, App Routing on, dnsmasq in inet as Direct DNS,
    and the app namespace's resolv.conf set to ORIGINAL before the daemon
    starts."""

    def profile(self):
        base = profile_yaml(self.tun, auto_route=True, exclude_lan=True,
                            interfaces=[("out", "direct")], routes=[])
        return base.replace("routes:\n", "") + approute_sections(INET4)

    def _start_daemon(self):
        write_in_place(self.app.resolv_conf_path, ORIGINAL)
        self.dnsmasq = dns.dnsmasq(self.inet, self.workdir, "dnsmasq", INET4,
                                   {NAME: ADDR})
        super()._start_daemon()


def start_env(topo, mintflow, tun_name, tmp_path):
    env = ResolverEnv(topo, mintflow, tun_name, tmp_path, need_tcp=False,
                      daemon_only="the resolver is the daemon's")
    return env.start()


def assert_ours(path, servers=(STACK_ADDR4, STACK_ADDR6)):
    text = read(path)
    assert text.startswith("# Written by mintflow"), text
    assert nameservers(text) == list(servers), text
    # The search list stays; the old servers and options go.
    assert "search corp.example\n" in text and "options" not in text, text
    return text


def test_app_routing_points_resolver_and_gives_it_back(topo, mintflow, tun_name,
                                                       tmp_path):
    env = start_env(topo, mintflow, tun_name, tmp_path)
    app, d, path = env.app, env.d, env.app.resolv_conf_path
    assert_ours(path)
    # The namespace's /etc/resolv.conf is that file.
    assert read(path) == app.run(["cat", "/etc/resolv.conf"]).stdout
    # Plain lookups, no server named: glibc and dig read resolv.conf.
    r = app.run(["getent", "ahostsv4", NAME], timeout=10)
    assert r.stdout.split()[0] == ADDR, r.stdout
    r = app.run(["dig", "+time=3", "+tries=1", "+short", NAME, "A"], timeout=10)
    assert r.stdout.split() == [ADDR], r.stdout
    assert re.search(r"SERVER: 172\.19\.0\.2#53",
                     app.run(["dig", "+time=3", "+tries=1", NAME]).stdout)
    log = d.cli("show dns log")
    assert NAME in log, log
    assert f"query[A] {NAME} from 198.18.0.1" in env.dnsmasq.log_text()
    show = d.cli("show resolver")
    assert re.search(r"^mode:\s+file$", show, re.M), show
    assert re.search(rf"^servers:\s+{STACK_ADDR4}, {STACK_ADDR6}$", show, re.M), show
    # The original is kept verbatim, so that a person can copy it back.
    orig = d.run_dir / f"{tun_name}.resolv.orig"
    assert read(orig) == ORIGINAL
    assert stat.S_IMODE(os.stat(orig).st_mode) == 0o600
    assert str(orig) in read(path)
    d.stop()
    assert read(path) == ORIGINAL
    assert saved_files(d) == []
    assert re.search(r"resolver: .*resolv\.conf restored", d.log_text())


def test_sigkill_then_next_start_gives_it_back(topo, mintflow, tun_name, tmp_path):
    env = start_env(topo, mintflow, tun_name, tmp_path)
    d, path = env.d, env.app.resolv_conf_path
    ino = os.stat(path).st_ino
    d.kill()
    assert_ours(path)
    assert saved_files(d) == [f"{tun_name}.resolv", f"{tun_name}.resolv.orig"]
    d.start()
    assert re.search(r"an earlier run left .* pointed at its servers", d.log_text())
    assert_ours(path)  # restored, then pointed again by this run
    d.stop()
    assert read(path) == ORIGINAL
    assert os.stat(path).st_ino == ino  # written in place all along
    assert saved_files(d) == []


def test_a_file_changed_meanwhile_is_left_alone(topo, mintflow, tun_name, tmp_path):
    env = start_env(topo, mintflow, tun_name, tmp_path)
    d, path = env.d, env.app.resolv_conf_path
    theirs = "nameserver 10.9.9.9\n"
    write_in_place(path, theirs)
    d.stop()
    assert read(path) == theirs
    assert re.search(r"left as it is: it was changed since we wrote it",
                     d.log_text())
    assert saved_files(d) == []


def test_sigkill_and_changed_meanwhile(topo, mintflow, tun_name, tmp_path):
    """The crash rule is the exit rule: someone else's file wins."""
    ns = topo.ns("app")
    path = ns.resolv_conf_path
    write_in_place(path, ORIGINAL)
    d = mintflow(ns, approute_profile(tun_name))
    assert_ours(path)
    d.kill()
    theirs = "nameserver 10.9.9.8\n"
    write_in_place(path, theirs)
    d.start()
    assert re.search(r"left as it is: it was changed", d.log_text())
    # This run saved theirs as the original, and gives that back.
    d.stop()
    assert read(path) == theirs
    assert saved_files(d) == []


def test_app_routing_off_hands_over_dns_servers(topo, mintflow, tun_name):
    ns = topo.ns("app")
    path = ns.resolv_conf_path
    write_in_place(path, ORIGINAL)
    d = mintflow(ns, plain_profile(
        tun_name, ["192.0.2.10", "2001:db8::53", "192.0.2.11:5353"]))
    # resolv.conf cannot name a port: that server is left out, and said so.
    assert_ours(path, servers=("192.0.2.10", "2001:db8::53"))
    assert re.search(r"192\.0\.2\.11:5353 is not on port 53", d.log_text())
    d.stop()
    assert read(path) == ORIGINAL


def test_system_off_leaves_the_file_alone(topo, mintflow, tun_name):
    ns = topo.ns("app")
    path = ns.resolv_conf_path
    write_in_place(path, ORIGINAL)
    before = os.stat(path)
    d = mintflow(ns, approute_profile(tun_name, system="off"))
    assert read(path) == ORIGINAL
    show = d.cli("show resolver")
    assert re.search(r"^mode:\s+none$", show, re.M), show
    assert "dns.system: off" in show, show
    d.stop()
    assert read(path) == ORIGINAL
    assert os.stat(path).st_mtime_ns == before.st_mtime_ns
    assert saved_files(d) == []


def test_no_servers_leaves_the_file_alone(topo, mintflow, tun_name):
    ns = topo.ns("app")
    path = ns.resolv_conf_path
    write_in_place(path, ORIGINAL)
    d = mintflow(ns, mfd.core_profile(tun_name))
    assert read(path) == ORIGINAL
    assert re.search(r"^mode:\s+none$", d.cli("show resolver"), re.M)
    d.stop()
    assert read(path) == ORIGINAL


def test_reload_moves_the_resolver_with_app_routing(topo, mintflow, tun_name):
    """A reload that turns App Routing on, or changes dns.servers, points
    the machine at the new servers; the original still comes back at the
    end, and a reload that changes neither leaves the file alone."""
    ns = topo.ns("app")
    path = ns.resolv_conf_path
    write_in_place(path, ORIGINAL)
    d = mintflow(ns, plain_profile(tun_name, ["192.0.2.10"]))
    assert_ours(path, servers=("192.0.2.10",))
    # The same tun: section as plain_profile's (a change there needs a
    # restart).
    on = profile_yaml(tun_name, auto_route=False, interfaces=[("out", "direct")],
                      routes=[]).replace("routes:\n", "")
    d.profile.write_text(on + approute_sections("192.0.2.1"))
    d.cli("reload")
    assert_ours(path)
    assert re.search(rf"^servers:\s+{STACK_ADDR4}, {STACK_ADDR6}$",
                     d.cli("show resolver"), re.M)
    written = os.stat(path).st_mtime_ns
    d.cli("reload")  # nothing the resolver cares about changed
    assert os.stat(path).st_mtime_ns == written
    d.profile.write_text(plain_profile(tun_name, ["192.0.2.20", "192.0.2.21"]))
    d.cli("reload")
    assert_ours(path, servers=("192.0.2.20", "192.0.2.21"))
    d.stop()
    assert read(path) == ORIGINAL
    assert saved_files(d) == []


# ------------------------------------------------------------ systemd-resolved

FAKE_RESOLVECTL = """#!/bin/sh
# Records each call, one line of arguments each; fails when told to.
echo "$*" >>"{log}"
[ -e "{fail}" ] && [ "$1" = "$(cat "{fail}")" ] && exit 1
exit 0
"""


def fake_resolved(monkeypatch, tmp_path):
    bindir, rdir = tmp_path / "bin", tmp_path / "resolve"
    bindir.mkdir()
    rdir.mkdir()
    log, fail = tmp_path / "resolvectl.log", tmp_path / "resolvectl.fail"
    tool = bindir / "resolvectl"
    tool.write_text(FAKE_RESOLVECTL.format(log=log, fail=fail))
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
    monkeypatch.setenv("MINTFLOW_RESOLVED_DIR", str(rdir))
    return log, fail


def calls(log):
    return read(log).splitlines() if os.path.exists(log) else []


def test_resolved_gets_the_link_for_every_domain(topo, mintflow, tun_name,
                                                 monkeypatch, tmp_path):
    log, _ = fake_resolved(monkeypatch, tmp_path)
    ns = topo.ns("app")
    write_in_place(ns.resolv_conf_path, ORIGINAL)
    d = mintflow(ns, approute_profile(tun_name))
    assert calls(log) == [f"dns {tun_name} {STACK_ADDR4} {STACK_ADDR6}",
                          f"domain {tun_name} ~.",
                          f"default-route {tun_name} yes"]
    assert read(ns.resolv_conf_path) == ORIGINAL  # resolved's, not ours
    show = d.cli("show resolver")
    assert re.search(r"^mode:\s+systemd-resolved$", show, re.M), show
    d.stop()
    assert calls(log)[3:] == [f"revert {tun_name}"]
    assert saved_files(d) == []


def test_resolved_takes_ports_and_failures_are_survived(topo, mintflow, tun_name,
                                                        monkeypatch, tmp_path):
    log, fail = fake_resolved(monkeypatch, tmp_path)
    fail.write_text("domain")
    ns = topo.ns("app")
    d = mintflow(ns, plain_profile(tun_name, ["192.0.2.11:5353", "[2001:db8::53]:54"]))
    # A failed step reverts the link; the daemon runs on, and says why.
    assert calls(log) == [f"dns {tun_name} 192.0.2.11:5353 [2001:db8::53]:54",
                          f"domain {tun_name} ~.", f"revert {tun_name}"]
    show = d.cli("show resolver")
    assert re.search(r"^mode:\s+failed$", show, re.M), show
    assert "resolvectl domain" in show and "exit status 1" in show, show
    d.stop()
    assert len(calls(log)) == 3  # nothing more to undo


# ------------------------------------------------------------ the profile key

def test_check_validates_dns_system(tmp_path, tun_name):
    good = tmp_path / "good.yaml"
    good.write_text(approute_profile(tun_name, system="off"))
    r = run_host(mfd.cli_argv(["check", "-c", str(good)]), check=False)
    assert r.returncode == 0, r.stderr
    assert re.search(r"^  system: off$", r.stdout, re.M), r.stdout
    bad = tmp_path / "bad.yaml"
    text = approute_profile(tun_name, system="sometimes")
    bad.write_text(text)
    line = text.splitlines().index("  system: sometimes") + 1
    r = run_host(mfd.cli_argv(["check", "-c", str(bad)]), check=False)
    assert r.returncode == 1
    assert f"bad.yaml:{line}:11: system: expected auto or off, got 'sometimes'" \
        in r.stderr, r.stderr
