"""WireGuard configurations as QR codes, through the CLI only (no daemon, no
namespace): a wg-quick file imported into a profile, exported as a QR code
(PNG or terminal) and read back with `import wireguard --qr` gives the
entry a direct import of the exported text gives, with the original's
settings. Independent tools check the codes are standard: `zbarimg` reads
ours, and ours reads those `qrencode` makes (each check skipped when the
tool is missing).

  orig.conf --import--> profile.yaml --export qr--> wg0.png / terminal
                                          |                 |
                                   export --text     import --qr
                                          v                 v
                              wg0.conf --import-->  same YAML entry
"""

import base64
import os
import shutil
import stat
import struct
import subprocess
import zlib

import pytest

from mfharness import daemon as mfd

# Keys made with `wg genkey | tee k | wg pubkey` and `wg genpsk`.
PRIV = "6BbrNkf5QxN5SpKFVuLryA9V7cA9F3mE6glLpdKUImU="
PEER1 = "d0yeRgjdFyDIhPvr8C1HemgDNbCmGSNy+Rn38lAsQAQ="
PEER2 = "p4ieI1P/KPGmkwfezGnShdSrqm1DCwavNWgj0RvY+gY="
PSK = "Z8Q7+L9Q5rcS8bHuALx+7Yx122jTaRX8ATW4JkM+jL8="

ORIGINAL = f"""\
# Made by the office VPN's setup page.
[Interface]
PrivateKey = {PRIV}
Address = 10.44.0.7/24, fd44::7/64
ListenPort = 51777
DNS = 10.44.0.1, fd44::1
MTU = 1400

[Peer]
# the office
PublicKey = {PEER1}
PresharedKey = {PSK}
AllowedIPs = 10.44.0.0/24, 172.16.0.0/12
Endpoint = vpn.example.org:51820
PersistentKeepalive = 25

[Peer]
PublicKey = {PEER2}
AllowedIPs = fd44::/64
Endpoint = [2001:db8::44]:443
"""

TIMEOUT = 20


def mintflow(*args, check_rc=0):
    r = subprocess.run([mfd.binary(), *args], capture_output=True, text=True,
                       timeout=TIMEOUT)
    if check_rc is not None:
        assert r.returncode == check_rc, \
            f"{args}: exit {r.returncode}\n{r.stdout}\n{r.stderr}"
    return r


def profile_with(entry, extra_ifaces=""):
    return ("interfaces:\n" + entry + extra_ifaces +
            "routes:\n  - { cidr: 0.0.0.0/0, to: wg0 }\n")


def settings(entry):
    """The entry without its debug copy of the source text: the settings."""
    return entry.split("    debug:", 1)[0]


def wg_quick_fields(text):
    """wg-quick text as a list of sections, each a dict of lower-case key
    -> value, comma lists as sorted tuples; comments and blanks dropped."""
    sections = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("["):
            sections.append((line.lower(), {}))
            continue
        key, value = (s.strip() for s in line.split("=", 1))
        if key.lower() in ("address", "dns", "allowedips"):
            value = tuple(sorted(v.strip() for v in value.split(",")))
        sections[-1][1][key.lower()] = value
    return sections


def png_gray(path, rows):
    """Writes 8-bit gray rows (bytes each) as a PNG (RFC 2083)."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data)))
    height, width = len(rows), len(rows[0])
    raw = b"".join(b"\x00" + r for r in rows)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" +
                chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)) +
                chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


# Half-block cells: (top light, bottom light).
CELLS = {" ": (0, 0), "\u2580": (1, 0), "\u2584": (0, 1), "\u2588": (1, 1)}


def terminal_to_png(text, path, scale=4):
    """The terminal drawing as an image: a block is light, a blank dark."""
    lines = text.rstrip("\n").split("\n")
    side = len(lines[0])
    assert all(len(l) == side for l in lines), "ragged QR lines"
    assert len(lines) == (side + 1) // 2, (len(lines), side)
    modules = []
    for line in lines:
        cells = [CELLS[c] for c in line]
        modules.append([c[0] for c in cells])
        modules.append([c[1] for c in cells])
    rows = []
    for m in modules[:side]:
        row = b"".join((b"\xff" if v else b"\x00") * scale for v in m)
        rows += [row] * scale
    png_gray(path, rows)


@pytest.fixture
def exported(tmp_path):
    """orig.conf imported as wg0 into a profile; the profile's path and the
    direct import's entry."""
    orig = tmp_path / "orig.conf"
    orig.write_text(ORIGINAL)
    entry = mintflow("import", "wireguard", str(orig), "--name", "wg0").stdout
    prof = tmp_path / "profile.yaml"
    prof.write_text(profile_with(entry, "  - { name: direct, type: direct }\n"))
    mintflow("check", "-c", str(prof))
    return prof, entry


def test_png_round_trip(tmp_path, exported):
    prof, entry = exported
    png = tmp_path / "wg0.png"
    r = mintflow("export", "qr", "wg0", "-c", str(prof), "--png", str(png))
    assert r.stdout == ""
    assert "private key" in r.stderr and len(r.stderr.splitlines()) == 1, r.stderr
    assert PRIV not in r.stderr
    assert stat.S_IMODE(os.stat(png).st_mode) == 0o600
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    text = mintflow("export", "qr", "wg0", "-c", str(prof), "--text").stdout
    assert wg_quick_fields(text) == wg_quick_fields(ORIGINAL), text
    (tmp_path / "wg0.conf").write_text(text)
    via_text = mintflow("import", "wireguard", str(tmp_path / "wg0.conf")).stdout
    via_qr = mintflow("import", "wireguard", "--qr", str(png))
    # The name comes from the image's name as it does from a file's.
    assert via_qr.stdout == via_text, via_qr.stderr
    assert via_qr.stderr == ""
    assert settings(via_qr.stdout) == settings(entry)
    assert "PrivateKey = (hidden)" in via_qr.stdout


def test_png_is_a_standard_qr_code(tmp_path, exported):
    if not shutil.which("zbarimg"):
        pytest.skip("zbarimg (zbar-tools) not installed")
    prof, _ = exported
    png = tmp_path / "wg0.png"
    mintflow("export", "qr", "wg0", "-c", str(prof), "--png", str(png))
    text = mintflow("export", "qr", "wg0", "-c", str(prof), "--text").stdout
    r = subprocess.run(["zbarimg", "--quiet", "--raw", "--nodbus", "-Sbinary",
                        str(png)], capture_output=True, timeout=TIMEOUT)
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode() == text


def test_terminal_round_trip(tmp_path, exported):
    prof, entry = exported
    r = mintflow("export", "qr", "wg0", "-c", str(prof))
    assert "private key" in r.stderr and PRIV not in r.stderr, r.stderr
    assert PRIV not in r.stdout
    assert "\033" not in r.stdout  # not a terminal: no colour codes
    png = tmp_path / "wg0.png"
    terminal_to_png(r.stdout, png)
    via_qr = mintflow("import", "wireguard", "--qr", str(png)).stdout
    assert settings(via_qr) == settings(entry)


def test_reads_codes_qrencode_makes(tmp_path):
    """What the WireGuard documentation suggests (`qrencode < wg0.conf`)."""
    if not shutil.which("qrencode"):
        pytest.skip("qrencode not installed")
    conf = tmp_path / "office.conf"
    conf.write_text(ORIGINAL)
    png = tmp_path / "office.png"
    subprocess.run(["qrencode", "-t", "png", "-o", str(png), "-r", str(conf)],
                   check=True, timeout=TIMEOUT)
    direct = mintflow("import", "wireguard", str(conf)).stdout
    via_qr = mintflow("import", "wireguard", "--qr", str(png)).stdout
    assert via_qr == direct
    assert via_qr.startswith("  - name: office\n")
    named = mintflow("import", "wireguard", "--qr", str(png), "--name", "vpn1")
    assert named.stdout.startswith("  - name: vpn1\n")


def test_export_refusals(tmp_path, exported):
    prof, _ = exported
    r = mintflow("export", "qr", "nosuch", "-c", str(prof), check_rc=1)
    assert "no interface 'nosuch'" in r.stderr and r.stdout == ""
    r = mintflow("export", "qr", "direct", "-c", str(prof), check_rc=1)
    assert "not wireguard" in r.stderr and r.stdout == ""
    mintflow("export", "qr", "wg0", check_rc=2)  # no -c
    mintflow("export", "qr", "wg0", "-c", str(prof), "--png", "x.png",
             "--text", check_rc=2)
    for r in (mintflow("export", "qr", "nosuch", "-c", str(prof), check_rc=1),
              mintflow("export", "qr", "wg0", check_rc=2)):
        assert PRIV not in r.stdout + r.stderr


def test_export_too_large_for_a_qr_code(tmp_path):
    """16 peers of 8 prefixes each: about 4 KiB of text, over the 2953
    bytes of a version 40 code. Refused for a QR code, fine as text."""
    peers = ""
    for i in range(16):
        key = base64.b64encode(bytes([i + 1]) * 32).decode()
        ips = ", ".join(f"'10.{i}.{j}.0/24'" for j in range(8))
        peers += (f"      - public_key: \"{key}\"\n"
                  f"        allowed_ips: [{ips}]\n"
                  f"        endpoint: 'peer{i}.vpn.example.org:51820'\n")
    entry = ("  - name: wg0\n    type: wireguard\n"
             f"    private_key: \"{PRIV}\"\n"
             "    address: ['10.99.0.2/32']\n    peers:\n" + peers)
    prof = tmp_path / "big.yaml"
    prof.write_text(profile_with(entry))
    png = tmp_path / "big.png"
    r = mintflow("export", "qr", "wg0", "-c", str(prof), "--png", str(png),
                 check_rc=1)
    assert "more than a QR code holds" in r.stderr, r.stderr
    assert not png.exists()
    r = mintflow("export", "qr", "wg0", "-c", str(prof), check_rc=1)
    assert r.stdout == ""
    text = mintflow("export", "qr", "wg0", "-c", str(prof), "--text").stdout
    assert len(text) > 2953 and text.count("[Peer]") == 16


def test_import_refusals(tmp_path, exported):
    not_png = tmp_path / "orig.conf"  # the fixture's wg-quick file
    r = mintflow("import", "wireguard", "--qr", str(not_png), check_rc=1)
    assert "not a PNG image" in r.stderr and r.stdout == ""
    r = mintflow("import", "wireguard", "--qr", str(tmp_path / "gone.png"),
                 check_rc=1)
    assert "No such file" in r.stderr
    white = tmp_path / "white.png"
    png_gray(white, [b"\xff" * 64] * 64)
    r = mintflow("import", "wireguard", "--qr", str(white), check_rc=1)
    assert "no QR code found" in r.stderr and r.stdout == ""
    cut = tmp_path / "cut.png"
    prof, _ = exported
    mintflow("export", "qr", "wg0", "-c", str(prof), "--png", str(cut))
    data = cut.read_bytes()
    cut.write_bytes(data[:len(data) // 2])
    r = mintflow("import", "wireguard", "--qr", str(cut), check_rc=1)
    assert "PNG" in r.stderr and PRIV not in r.stderr
    mintflow("import", "wireguard", "--qr", check_rc=2)
    mintflow("import", "wireguard", "--qr", str(white), str(not_png), check_rc=2)


def test_import_refuses_codes_of_other_things(tmp_path):
    if not shutil.which("qrencode"):
        pytest.skip("qrencode not installed")
    url = tmp_path / "url.png"
    subprocess.run(["qrencode", "-o", str(url), "https://example.org/"],
                   check=True, timeout=TIMEOUT)
    r = mintflow("import", "wireguard", "--qr", str(url), check_rc=1)
    assert "no WireGuard configuration" in r.stderr and r.stdout == ""
    # A wg-quick text without its peer: the importer's own message, with
    # the image named as the source.
    half = tmp_path / "half.png"
    subprocess.run(["qrencode", "-o", str(half),
                    f"[Interface]\nPrivateKey = {PRIV}\nAddress = 10.1.0.2/32\n"],
                   check=True, timeout=TIMEOUT)
    r = mintflow("import", "wireguard", "--qr", str(half), check_rc=1)
    assert f"{half} (QR):" in r.stderr and "no [Peer] section" in r.stderr
    assert r.stdout == "" and PRIV not in r.stderr
