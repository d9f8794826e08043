"""HTTP through the host stack's TCP to `direct`: curl downloads and
uploads of 0 B to 200 MiB, IPv4 and IPv6, each intact (sha256 of what
arrived equal to the file's).

  +------------------------- app --------------------------+       +---------------- inet ----------------+
  | curl -o / -T / --data-binary                           |       | inet_tool.py http :8080 (dual stack)  |
  |   v  (daemon path: rule 7301 -> table 7300 -> mftN)     |       |   GET /NAME: the file                 |
  | mftN ==TUN== mintflow  0/0, ::/0 -> direct             |       |   PUT/POST: {"bytes", "sha256"}       |
  |   sockets marked 0x7300 -> main table                  |       |                                       |
  | veth1a 198.18.0.1/24 2001:db8:1::1/64 -----------------+-------+ veth1b 198.18.0.2/24 2001:db8:1::2/64 |
  +--------------------------------------------------------+       +---------------------------------------+

The kernel path (MF_TCP_PATH=kernel) is the same without the daemon and
the TUN. MF_TCP_BIG_MIB sets the largest size (default 200)."""

import os

import pytest

from mfharness import inet
from mfharness.inet import HOSTS, INET4, random_file, sha256_file, url

inet_env = inet.inet_env  # the fixture, requested by name

MIB = 1 << 20
BIG = int(os.environ.get("MF_TCP_BIG_MIB", "200")) * MIB
SIZES = [("0B", 0), ("1B", 1), ("64KiB", 64 * 1024), ("10MiB", 10 * MIB),
         ("big", BIG)]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Random files served and uploaded by every test of this module:
    [(name, size, sha256)], and their directory."""
    root = tmp_path_factory.mktemp("http-files")
    out = []
    for i, (name, size) in enumerate(SIZES):
        path = str(root / name)
        random_file(path, size, seed=100 + i)
        out.append((name, size, sha256_file(path)))
    return str(root), out


@pytest.mark.parametrize("family", ["v4", "v6"])
def test_downloads_intact(inet_env, files, family, tmp_path):
    env = inet_env()
    root, items = files
    env.start_http(root)
    opened = env.opened()
    bad = []
    for name, size, digest in items:
        got = env.download(HOSTS[family], name, str(tmp_path / "got"))
        if got != (size, digest):
            bad.append(f"{name}: got {got[0]} bytes {got[1][:16]}, "
                       f"expected {size} bytes {digest[:16]}")
    assert not bad, "\n".join(bad)
    env.assert_through_daemon(opened, len(items))


@pytest.mark.parametrize("family", ["v4", "v6"])
def test_uploads_intact(inet_env, files, family):
    env = inet_env()
    root, items = files
    env.start_http(root)
    opened = env.opened()
    bad = []
    for name, size, digest in items:
        got = env.upload(HOSTS[family], os.path.join(root, name))
        if got != {"bytes": size, "sha256": digest}:
            bad.append(f"PUT {name}: server got {got}, expected {size} bytes {digest[:16]}")
    # A POST body as well (curl reads it into memory first: the small ones).
    for name, size, digest in items[:3]:
        got = env.upload(HOSTS[family], os.path.join(root, name), method="POST")
        if got != {"bytes": size, "sha256": digest}:
            bad.append(f"POST {name}: server got {got}, expected {size} bytes")
    assert not bad, "\n".join(bad)
    env.assert_through_daemon(opened, len(items) + 3)


def test_not_found_is_an_answer(inet_env, files):
    """An HTTP error travels like any data: curl gets the 404 and its body."""
    env = inet_env()
    env.start_http(files[0])
    r = env.curl("-o", "/dev/null", "-w", "%{http_code}",
                 url(INET4, "no-such-file"))
    assert r.stdout.strip() == "404", r.stdout
