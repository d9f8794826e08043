"""wg(8) on mintflow's WireGuard interfaces: `wg show`, `wg showconf`,
`wg set`, `wg setconf` and `wg syncconf` talk to
/var/run/wireguard/NAME.sock as they talk to wireguard-go's, and what they
change is what the daemon then does (`mintflow show wireguard`, the UDP
port it listens on, handshakes with a real peer).

  +----------- app -------------+            +----------- peer -----------+
  | mintflow run (TUN mftN)     |   veth     | wireguard-go, dev mfgXXXX  |
  | wireguard iface mfuXXXXn    |------------| 10.99.0.2:51820            |
  | 10.99.0.1, UDP 51820        | 10.99.0/24 | tunnel 10.200.0.2/24       |
  +-----------------------------+            +----------------------------+
        ^ wg show / set mfuXXXXn   (a socket in the shared filesystem:
          interface names must be unique on the machine, not only here)
"""

import os
import re
import socket
import stat
import subprocess
import time

import pytest

from mfharness import daemon as mfd

WG_DIR = "/var/run/wireguard"
FWMARK = 0x7300  # the profile's default mark, shown by wg(8)

_names = [0]


def unique(prefix):
    """An interface name no other test or run uses now (IFNAMSIZ: 15)."""
    _names[0] += 1
    return f"{prefix}{os.getpid() % 100000}{chr(ord('a') + _names[0] % 26)}"


def keypair():
    priv = subprocess.run(["wg", "genkey"], capture_output=True, text=True,
                          check=True, timeout=5).stdout.strip()
    pub = subprocess.run(["wg", "pubkey"], input=priv + "\n", capture_output=True,
                         text=True, check=True, timeout=5).stdout.strip()
    return priv, pub


def genpsk():
    return subprocess.run(["wg", "genpsk"], capture_output=True, text=True,
                          check=True, timeout=5).stdout.strip()


def wg(ns, *args, check=True):
    return ns.run(["wg"] + [str(a) for a in args], check=check, timeout=10)


def dump(ns, name):
    """`wg show NAME dump`: (interface fields, {peer public key: fields})."""
    lines = wg(ns, "show", name, "dump").stdout.splitlines()
    iface = lines[0].split("\t")
    peers = {}
    for line in lines[1:]:
        f = line.split("\t")
        peers[f[0]] = {"psk": f[1], "endpoint": f[2],
                       "allowed": [] if f[3] == "(none)" else f[3].split(","),
                       "handshake": int(f[4]), "rx": int(f[5]), "tx": int(f[6]),
                       "keepalive": f[7]}
    return {"private": iface[0], "public": iface[1], "port": int(iface[2]),
            "fwmark": iface[3]}, peers


def showconf(ns, name):
    """`wg showconf NAME` as {"Interface": {...}, "peers": {pub: {...}}}."""
    conf = {"Interface": {}, "peers": {}}
    section = None
    for line in wg(ns, "showconf", name).stdout.splitlines():
        line = line.strip()
        if line == "[Interface]":
            section = conf["Interface"]
        elif line == "[Peer]":
            section = {}
        elif "=" in line:
            k, v = (s.strip() for s in line.split("=", 1))
            section[k] = v
            if k == "PublicKey":
                conf["peers"][v] = section
    return conf


def uapi(name, request, timeout=5.0):
    """One raw request on the socket; the reply up to its empty line."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(f"{WG_DIR}/{name}.sock")
    s.sendall(request.encode())
    out = b""
    while not out.endswith(b"\n\n"):
        chunk = s.recv(65536)
        if not chunk:
            break
        out += chunk
    s.close()
    return out.decode()


def wg_iface(name, priv, peers, port=51820):
    return {"name": name, "type": "wireguard", "private_key": priv,
            "listen_port": port, "address": ["10.200.0.1/24"], "peers": peers}


def profile(tun_name, iface):
    return mfd.profile_yaml(tun_name, auto_route=False, interfaces=[iface],
                            routes=[("0.0.0.0/0", iface["name"])])


def udp_ports(ns):
    out = ns.run(["ss", "-Hunl"]).stdout
    return {int(m.group(1)) for m in re.finditer(r":(\d+)\s", out)}


@pytest.fixture
def wgd(topo, mintflow, tun_name):
    """A daemon with one wireguard interface and two peers; returns what a
    test needs to know about them."""
    app, peer = topo.ns("app"), topo.ns("peer")
    topo.veth(app, ["10.99.0.1/24"], peer, ["10.99.0.2/24"])
    name = unique("mfu")
    priv, pub = keypair()
    (_, p1), (_, p2), psk = keypair(), keypair(), genpsk()
    peers = [
        {"public_key": p1, "preshared_key": psk,
         "allowed_ips": ["10.200.0.2/32", "fd00:200::/64"],
         "endpoint": "10.99.0.2:51820", "persistent_keepalive": 25},
        {"public_key": p2, "allowed_ips": ["10.201.0.0/16"],
         "endpoint": "10.99.0.3:51821"},
    ]
    d = mintflow(app, profile(tun_name, wg_iface(name, priv, peers)))
    yield type("W", (), dict(app=app, peer=peer, d=d, name=name, priv=priv,
                             pub=pub, p1=p1, p2=p2, psk=psk, peers=peers))
    if d.running():
        d.stop()
    assert not os.path.exists(f"{WG_DIR}/{name}.sock"), \
        "the daemon left its wg(8) socket behind"


def test_show_and_showconf_say_what_the_profile_says(wgd):
    app, name = wgd.app, wgd.name
    path = f"{WG_DIR}/{name}.sock"
    st = os.lstat(path)
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600
    assert name in wg(app, "show", "interfaces").stdout.split()

    text = wg(app, "show", name).stdout
    assert f"interface: {name}" in text
    assert f"public key: {wgd.pub}" in text
    assert "private key: (hidden)" in text
    assert "listening port: 51820" in text
    assert f"fwmark: {FWMARK:#x}" in text
    assert f"peer: {wgd.p1}" in text and f"peer: {wgd.p2}" in text
    assert "preshared key: (hidden)" in text
    assert "allowed ips: 10.200.0.2/32, fd00:200::/64" in text
    assert "persistent keepalive: every 25 seconds" in text
    assert wg(app, "show", name, "public-key").stdout.strip() == wgd.pub
    assert wg(app, "show", name, "listen-port").stdout.strip() == "51820"

    iface, peers = dump(app, name)
    assert iface == {"private": wgd.priv, "public": wgd.pub, "port": 51820,
                     "fwmark": f"{FWMARK:#x}"}
    assert set(peers) == {wgd.p1, wgd.p2}
    assert peers[wgd.p1] == {"psk": wgd.psk, "endpoint": "10.99.0.2:51820",
                             "allowed": ["10.200.0.2/32", "fd00:200::/64"],
                             "handshake": 0, "rx": 0, "tx": peers[wgd.p1]["tx"],
                             "keepalive": "25"}
    assert peers[wgd.p2] == {"psk": "(none)", "endpoint": "10.99.0.3:51821",
                             "allowed": ["10.201.0.0/16"], "handshake": 0,
                             "rx": 0, "tx": 0, "keepalive": "off"}

    conf = showconf(app, name)
    assert conf["Interface"] == {"ListenPort": "51820", "FwMark": f"{FWMARK:#x}",
                                 "PrivateKey": wgd.priv}
    assert conf["peers"][wgd.p1] == {
        "PublicKey": wgd.p1, "PresharedKey": wgd.psk,
        "AllowedIPs": "10.200.0.2/32, fd00:200::/64",
        "Endpoint": "10.99.0.2:51820", "PersistentKeepalive": "25"}
    assert conf["peers"][wgd.p2] == {
        "PublicKey": wgd.p2, "AllowedIPs": "10.201.0.0/16",
        "Endpoint": "10.99.0.3:51821"}


def test_set_changes_what_the_daemon_does(wgd, tmp_path):
    app, name, d = wgd.app, wgd.name, wgd.d
    _, new = keypair()
    wg(app, "set", name, "peer", new, "allowed-ips", "10.200.0.0/24",
       "endpoint", "10.99.0.2:51820", "persistent-keepalive", 25)
    _, peers = dump(app, name)
    assert peers[new]["allowed"] == ["10.200.0.0/24"]
    assert peers[new]["endpoint"] == "10.99.0.2:51820"
    assert peers[new]["keepalive"] == "25"
    shown = d.cli("show wireguard")
    block = shown[shown.index(f"peer: {new}"):]
    assert "endpoint: 10.99.0.2:51820" in block
    assert "allowed ips: 10.200.0.0/24" in block
    assert "persistent keepalive: every 25 seconds" in block

    # A prefix has one owner: the last peer to claim it.
    wg(app, "set", name, "peer", new, "allowed-ips", "10.200.0.0/24,10.201.0.0/16")
    _, peers = dump(app, name)
    assert peers[wgd.p2]["allowed"] == []
    assert peers[new]["allowed"] == ["10.200.0.0/24", "10.201.0.0/16"]

    wg(app, "set", name, "peer", new, "remove")
    _, peers = dump(app, name)
    assert new not in peers and set(peers) == {wgd.p1, wgd.p2}
    assert new not in d.cli("show wireguard")

    # The listen port: the daemon moves its socket.
    assert 51820 in udp_ports(app)
    wg(app, "set", name, "listen-port", 40000)
    assert wg(app, "show", name, "listen-port").stdout.strip() == "40000"
    assert "listening port: 40000" in d.cli("show wireguard")
    ports = udp_ports(app)
    assert 40000 in ports and 51820 not in ports

    # Preshared key off, keepalive off, endpoint changed, v6 endpoint.
    empty = tmp_path / "empty"
    empty.write_text("")
    wg(app, "set", name, "peer", wgd.p1, "preshared-key", empty,
       "persistent-keepalive", "off", "endpoint", "[fd00:99::2]:51820")
    _, peers = dump(app, name)
    assert peers[wgd.p1]["psk"] == "(none)"
    assert peers[wgd.p1]["keepalive"] == "off"
    assert peers[wgd.p1]["endpoint"] == "[fd00:99::2]:51820"

    # A new identity: every peer stays, the public key follows.
    priv2, pub2 = keypair()
    keyfile = tmp_path / "new.key"
    keyfile.write_text(priv2 + "\n")
    os.chmod(keyfile, 0o600)
    wg(app, "set", name, "private-key", keyfile)
    iface, peers = dump(app, name)
    assert iface["public"] == pub2 and iface["private"] == priv2
    assert set(peers) == {wgd.p1, wgd.p2}
    assert f"public key: {pub2}" in d.cli("show wireguard")
    assert d.running()


def test_setconf_and_syncconf_round_trip(wgd, tmp_path):
    app, name = wgd.app, wgd.name
    before = showconf(app, name)
    conf = tmp_path / "wg.conf"
    conf.write_text(wg(app, "showconf", name).stdout)
    os.chmod(conf, 0o600)
    wg(app, "setconf", name, conf)
    assert showconf(app, name) == before
    # syncconf with one peer less: that peer goes, the other stays.
    text = conf.read_text()
    cut = text.index(f"PublicKey = {wgd.p2}")
    start = text.rindex("[Peer]", 0, cut)
    conf.write_text(text[:start])
    wg(app, "syncconf", name, conf)
    _, peers = dump(app, name)
    assert set(peers) == {wgd.p1}
    assert peers[wgd.p1]["psk"] == wgd.psk


def test_wrong_input_fails_cleanly(wgd):
    app, name, d = wgd.app, wgd.name, wgd.d
    before = wg(app, "show", name, "dump").stdout
    r = wg(app, "set", name, "peer", "notakey", check=False)
    assert r.returncode != 0 and "Key is not the correct length" in r.stderr
    # Refused by the daemon, with wg(8)'s message for the errno it sent.
    r = wg(app, "set", name, "fwmark", 1, check=False)
    assert r.returncode != 0 and "Operation not supported" in r.stderr, r.stderr
    many = ",".join(f"10.{i}.0.0/16" for i in range(40))
    r = wg(app, "set", name, "peer", wgd.p2, "allowed-ips", many, check=False)
    assert r.returncode != 0 and "No space left on device" in r.stderr, r.stderr
    assert uapi(name, "set=1\nbogus=1\n\n") == "errno=-22\n\n"
    assert uapi(name, "set=1\nlisten_port=40000\nnot a line\n\n") == "errno=-71\n\n"
    assert uapi(name, "get=1\nextra\n\n") == "errno=-22\n\n"
    # Nothing of the refused requests stayed, and the daemon still serves.
    assert wg(app, "show", name, "dump").stdout == before
    assert uapi(name, "get=1\n\n").endswith("errno=0\n\n")
    assert d.running()
    d.wait_log(r"wg\(8\) request refused: Invalid argument")


def test_a_live_socket_is_not_taken(topo, mintflow, tun_name):
    """Another process answering on NAME.sock (here wireguard-go with an
    interface of that name) makes the daemon refuse to start; a leftover
    file nobody answers on is replaced."""
    app = topo.ns("app")
    name = unique("mfu")
    priv, _ = keypair()
    _, p1 = keypair()
    peers = [{"public_key": p1, "allowed_ips": ["10.200.0.2/32"]}]
    path = f"{WG_DIR}/{name}.sock"
    other = app.popen(["wireguard-go", "-f", name], name="wireguard-go",
                      env=dict(os.environ, WG_PROCESS_FOREGROUND="1"))
    for _ in range(100):
        if os.path.exists(path):
            break
        time.sleep(0.05)
    assert wg(app, "show", name).returncode == 0
    d = mintflow(app, profile(tun_name, wg_iface(name, priv, peers)), start=False)
    d.start(wait=False)
    assert d.wait_exit(10) != 0
    assert "another process answers" in d.log_text()
    assert os.path.exists(path) and other.alive()
    other.stop()
    for _ in range(100):
        if not os.path.exists(path):
            break
        time.sleep(0.05)

    # A leftover: a socket file with nobody behind it.
    os.makedirs(WG_DIR, exist_ok=True)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if os.path.exists(path):
        os.unlink(path)
    s.bind(path)
    s.close()
    d.start()
    assert wg(app, "show", name, "listen-port").stdout.strip() == "51820"
    d.stop()
    assert not os.path.exists(path)


def test_handshake_and_moved_port_seen_by_wg(topo, mintflow, tun_name, tmp_path):
    """A real handshake shows in `wg show` (latest handshake, transfer);
    after `wg set listen-port`, the peer's keepalives still arrive: the new
    socket is read."""
    app, peer = topo.ns("app"), topo.ns("peer")
    topo.veth(app, ["10.99.0.1/24"], peer, ["10.99.0.2/24"])
    name, gname = unique("mfu"), unique("mfg")
    priv, pub = keypair()
    gpriv, gpub = keypair()
    gkey = tmp_path / "g.key"
    gkey.write_text(gpriv + "\n")
    os.chmod(gkey, 0o600)
    g = peer.popen(["wireguard-go", "-f", gname], name="wireguard-go",
                   env=dict(os.environ, WG_PROCESS_FOREGROUND="1"))
    for _ in range(100):
        if os.path.exists(f"{WG_DIR}/{gname}.sock"):
            break
        time.sleep(0.05)
    wg(peer, "set", gname, "listen-port", 51820, "private-key", gkey, "peer", pub,
       "allowed-ips", "10.200.0.1/32", "persistent-keepalive", 1)
    peer.ip("addr", "add", "10.200.0.2/24", "dev", gname)
    peer.ip("link", "set", gname, "up")
    peers = [{"public_key": gpub, "allowed_ips": ["10.200.0.2/32"],
              "endpoint": "10.99.0.2:51820", "persistent_keepalive": 1}]
    mintflow(app, profile(tun_name, wg_iface(name, priv, peers)))

    def ours():
        return dump(app, name)[1][gpub]

    deadline = time.monotonic() + 15
    while ours()["handshake"] == 0 and time.monotonic() < deadline:
        time.sleep(0.2)
    p = ours()
    assert p["handshake"] > 0 and abs(time.time() - p["handshake"]) < 60, p
    # (Our tx counts data packets only so far; wireguard-go's rx shows ours.)
    assert dump(peer, gname)[1][pub]["rx"] > 0
    deadline = time.monotonic() + 10
    while ours()["rx"] == 0 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert ours()["rx"] > 0, "no keepalive came back from wireguard-go"
    assert dump(peer, gname)[1][pub]["handshake"] > 0

    wg(app, "set", name, "listen-port", 40001)
    # Our keepalives now leave from 40001: wireguard-go roams to it, and
    # its keepalives to 40001 must reach us through the new socket.
    deadline = time.monotonic() + 10
    while (dump(peer, gname)[1][pub]["endpoint"] != "10.99.0.1:40001"
           and time.monotonic() < deadline):
        time.sleep(0.2)
    assert dump(peer, gname)[1][pub]["endpoint"] == "10.99.0.1:40001"
    rx = ours()["rx"]
    deadline = time.monotonic() + 10
    while ours()["rx"] == rx and time.monotonic() < deadline:
        time.sleep(0.2)
    assert ours()["rx"] > rx, "nothing received on the new port"
    g.stop()
