"""`mintflow check` and `mintflow run` on broken profiles: every error as
FILE:LINE:COLUMN on the right line, exit 1, and `run` changes nothing.

  +------------------------------ cli -------------------------------------+
  |  mintflow check -c bad.yaml          (no daemon)                       |
  |  mintflow run -c bad.yaml ...        -> exit 1, namespace unchanged    |
  +------------------------------------------------------------------------+
"""

import re

import pytest

from mfharness import daemon as mfd

BASE = """\
tun:
  name: {tun}
  mtu: 1500
  addresses:
    - 172.19.0.1/30
    - fdfe:dcba:9876::1/126
  auto_route: true
interfaces:
  - name: blocked
    type: reject
routes:
  - cidr: 0.0.0.0/0
    to: blocked
  - cidr: 198.51.100.0/24
    to: blocked
"""


def edit(text, lineno, new=None, insert=None, delete=0):
    """Replaces line `lineno` (1-based) by `new`, or inserts `insert` before
    it, or deletes `delete` lines from it."""
    lines = text.splitlines()
    i = lineno - 1
    if new is not None:
        lines[i] = new
    if insert is not None:
        lines.insert(i, insert)
    if delete:
        del lines[i:i + delete]
    return "\n".join(lines) + "\n"


# name -> (edit kwargs, acceptable error lines)
BROKEN = {
    "unknown key": (dict(lineno=4, insert="  colour: blue"), {4}),
    "prefix length 33": (dict(lineno=14, new="  - cidr: 198.51.100.0/33"), {14}),
    "address 300.1.2.3": (dict(lineno=14, new="  - cidr: 300.1.2.3/8"), {14}),
    # The error belongs to the `routes:` key or its first entry.
    "no 0.0.0.0/0": (dict(lineno=12, delete=2), {11, 12}),
    "to unknown interface": (dict(lineno=15, new="    to: nowhere"), {15}),
    "unknown interface type": (dict(lineno=10, new="    type: teleport"), {10}),
    "yaml syntax": (dict(lineno=3, new="  mtu: 1500: 3"), {3}),
}


def located(stderr, path):
    """(line, column) of each `PATH:LINE:COLUMN: message` line."""
    rx = re.compile(r"^" + re.escape(str(path)) + r":(\d+):(\d+): \S")
    return [(int(m.group(1)), int(m.group(2)))
            for m in map(rx.match, stderr.splitlines()) if m]


def test_base_profile_is_valid(topo, tmp_path, tun_name):
    ns = topo.ns("cli")
    path = tmp_path / "good.yaml"
    path.write_text(BASE.format(tun=tun_name))
    r = ns.run([mfd.binary(), "check", "-c", str(path)], check=False, timeout=5)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_check_reports_file_line_column(topo, tmp_path, tun_name, case):
    ns = topo.ns("cli")
    kw, lines = BROKEN[case]
    path = tmp_path / "bad.yaml"
    path.write_text(edit(BASE.format(tun=tun_name), **kw))
    r = ns.run([mfd.binary(), "check", "-c", str(path)], check=False, timeout=5)
    assert r.returncode == 1, f"exit {r.returncode}\n{r.stdout}{r.stderr}"
    locs = located(r.stderr, path)
    assert locs, f"no {path}:LINE:COLUMN: line on stderr:\n{r.stderr}"
    assert locs[0][0] in lines and locs[0][1] >= 1, \
        f"first error at {locs[0]}, expected line {sorted(lines)}:\n{r.stderr}"


@pytest.mark.parametrize("case", ["unknown key", "to unknown interface",
                                  "yaml syntax", "no 0.0.0.0/0"])
def test_run_with_broken_profile_changes_nothing(topo, tmp_path, tun_name, case):
    ns = topo.ns("app")
    kw, lines = BROKEN[case]
    path = tmp_path / "bad.yaml"
    path.write_text(edit(BASE.format(tun=tun_name), **kw))
    before = ns.net_state()
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    r = ns.run([mfd.binary(), "run", "-c", str(path), "-s",
                str(tmp_path / "m.sock"), "--run-dir", str(run_dir)],
               check=False, timeout=10)
    assert r.returncode == 1, f"exit {r.returncode}\n{r.stdout}{r.stderr}"
    locs = located(r.stderr, path)
    assert locs and locs[0][0] in lines, r.stderr
    assert ns.net_state() == before
    assert list(run_dir.iterdir()) == []
    assert not (tmp_path / "m.sock").exists()
