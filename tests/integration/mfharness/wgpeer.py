"""WireGuard on both sides of a test: keys, wireguard-go as the real peer
(configured with wg(8)), the daemon's wireguard interface as a profile
item, `mintflow show wireguard` and `wg show dump` as data, and a bulk
TCP stream tool that hashes what it moves.

wireguard-go listens for wg(8) on /var/run/wireguard/IFNAME.sock, a path in
the shared filesystem, not in the namespace: every WgGo gets an interface
name of its own (pid of this run + a counter), never reused in a run."""

import base64
import hashlib
import json
import os
import re
import signal
import socket
import struct
import time
from types import SimpleNamespace

from .daemon import profile_yaml
from .netns import CommandFailed, run_host

WG_SOCK_DIR = "/var/run/wireguard"
WG_PORT = 51820
# mintflow's WireGuard interface in these tests. Its wg(8) socket,
# /var/run/wireguard/NAME.sock, is machine-wide: a name per test process keeps
# two runs on one machine apart (tests of one run take turns with it).
WG0 = f"mfg{os.getpid() % 100000}"
PYTHON = "/usr/bin/python3"

_if_counter = [0]


def unique_ifname():
    """A name for wireguard-go's TUN (and so its control socket) used once
    in this run; the pid keeps concurrent runs apart. At most 15
    characters (IFNAMSIZ)."""
    _if_counter[0] += 1
    return f"mfw{os.getpid() % 100000}n{_if_counter[0]}"


def genkey():
    """A fresh (private, public) key pair, base64, from wg(8)."""
    priv = run_host(["wg", "genkey"], timeout=5).stdout.strip()
    pub = run_host(["wg", "pubkey"], input=priv + "\n", timeout=5).stdout.strip()
    return priv, pub


def _write_secret(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text + "\n")
    return path


# ----------------------------------------------------------- the daemon side

def wg_interface(name, private_key, addresses, peers, listen_port=WG_PORT,
                 **extra):
    """The profile item of a wireguard interface (for profile_yaml).
    peers: dicts with public_key, allowed_ips and optionally endpoint,
    persistent_keepalive."""
    item = {"name": name, "type": "wireguard", "private_key": private_key,
            "address": list(addresses)}
    if listen_port is not None:
        item["listen_port"] = listen_port
    item.update(extra)
    item["peers"] = [dict(p) for p in peers]
    return item


class ShowParseError(AssertionError):
    pass


_HS_RE = re.compile(r"^(\d+) seconds ago$")
_XFER_RE = re.compile(r"^(\d+) B received, (\d+) B sent$")


def parse_show_wireguard(text):
    """`mintflow show wireguard` as {ifname: {"public_key", "listen_port",
    "peers": {pub: {"endpoint" (None when none), "allowed_ips" [str],
    "latest_handshake" (seconds ago, None when never), "rx", "tx",
    "keepalive"}}}}. Strict: an unknown line raises."""
    out, dev, peer = {}, None, None
    for line in text.splitlines():
        if not line.strip():
            continue
        key, sep, val = line.strip().partition(": ")
        if not sep and line.strip().endswith(":"):
            key, val = line.strip()[:-1], ""
        if key == "interface":
            dev = out[val] = {"public_key": None, "listen_port": None, "peers": {}}
            peer = None
        elif dev is None:
            raise ShowParseError(f"show wireguard: {line!r} before an interface:\n{text}")
        elif key == "public key" and peer is None:
            dev["public_key"] = val
        elif key == "listening port" and peer is None:
            dev["listen_port"] = int(val)
        elif key == "peer":
            peer = dev["peers"][val] = {"endpoint": None, "allowed_ips": [],
                                        "latest_handshake": None, "rx": None,
                                        "tx": None, "keepalive": None}
        elif peer is None:
            raise ShowParseError(f"show wireguard: unknown line {line!r}:\n{text}")
        elif key == "endpoint":
            peer["endpoint"] = None if val == "(none)" else val
        elif key == "allowed ips":
            peer["allowed_ips"] = [a.strip() for a in val.split(",") if a.strip()]
        elif key == "latest handshake":
            m = _HS_RE.match(val)
            if not m and val != "(none)":
                raise ShowParseError(f"show wireguard: bad handshake {line!r}:\n{text}")
            peer["latest_handshake"] = int(m.group(1)) if m else None
        elif key == "transfer":
            m = _XFER_RE.match(val)
            if not m:
                raise ShowParseError(f"show wireguard: bad transfer {line!r}:\n{text}")
            peer["rx"], peer["tx"] = int(m.group(1)), int(m.group(2))
        elif key == "persistent keepalive":
            peer["keepalive"] = val
        else:
            raise ShowParseError(f"show wireguard: unknown line {line!r}:\n{text}")
    return out


def show_wireguard(d):
    return parse_show_wireguard(d.cli("show wireguard"))


def wg_peer_state(d, ifname, pub):
    """One peer of `show wireguard` (KeyError names what is missing)."""
    shown = show_wireguard(d)
    if ifname not in shown:
        raise KeyError(f"no interface {ifname} in show wireguard: {shown}")
    if pub not in shown[ifname]["peers"]:
        raise KeyError(f"no peer {pub} on {ifname}: {shown}")
    return shown[ifname]["peers"][pub]


def wait_peer(d, ifname, pub, pred, timeout=5.0, what="peer state"):
    """Polls show wireguard until pred(peer) holds; returns the peer.
    Raises with the last state when time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        p = wg_peer_state(d, ifname, pub)
        if pred(p):
            return p
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: not reached within {timeout}s: {p}")
        time.sleep(0.1)


# ----------------------------------------------------------- wireguard-go

class WgGo:
    """wireguard-go in namespace `ns`, with its own key, listen port,
    addresses, routes and peers; restartable with the same configuration.

    peers are kept here so start() after kill() configures the same ones."""

    def __init__(self, topo, ns, workdir, *, addresses=(), routes=(),
                 listen_port=WG_PORT, private_key=None, ifname=None):
        self.topo = topo
        self.ns = ns
        self.ifname = ifname or unique_ifname()
        self.listen_port = listen_port
        self.addresses = list(addresses)
        self.routes = list(routes)
        if private_key is None:
            self.private_key, self.public_key = genkey()
        else:
            self.private_key = private_key
            self.public_key = run_host(["wg", "pubkey"], input=private_key + "\n",
                                       timeout=5).stdout.strip()
        self.key_file = _write_secret(os.path.join(str(workdir), f"{self.ifname}.key"),
                                      self.private_key)
        self.peers = []  # (public_key, args for wg set ... peer PUB)
        self.proc = None
        self.starts = 0

    @property
    def sock_path(self):
        return os.path.join(WG_SOCK_DIR, f"{self.ifname}.sock")

    def wg(self, *args, timeout=5.0, check=True):
        return self.ns.run(["wg"] + [str(a) for a in args], timeout=timeout,
                           check=check)

    def start(self, timeout=5.0):
        """Starts wireguard-go, waits for its control socket and applies
        key, port, peers, addresses, routes; the link is up on return."""
        if self.proc and self.proc.alive():
            raise AssertionError(f"wireguard-go {self.ifname} already running")
        self.starts += 1
        env = dict(os.environ, WG_PROCESS_FOREGROUND="1", LOG_LEVEL="verbose")
        self.proc = self.ns.popen(["wireguard-go", "-f", self.ifname],
                                  name=f"wireguard-go-{self.ifname}-{self.starts}",
                                  env=env)
        deadline = time.monotonic() + timeout
        while not self._answers():
            if not self.proc.alive():
                raise CommandFailed(f"wireguard-go {self.ifname} exited with "
                                    f"{self.proc.proc.returncode}:\n{self.proc.log_text()}")
            if time.monotonic() >= deadline:
                raise CommandFailed(f"wireguard-go {self.ifname}: no control socket "
                                    f"within {timeout}s:\n{self.proc.log_text()}")
            time.sleep(0.05)
        self.wg("set", self.ifname, "listen-port", self.listen_port,
                "private-key", self.key_file)
        for pub, args in self.peers:
            self.wg("set", self.ifname, "peer", pub, *args)
        for a in self.addresses:
            extra = ["nodad"] if ":" in a else []
            self.ns.ip("addr", "add", a, "dev", self.ifname, *extra)
        self.ns.ip("link", "set", self.ifname, "up")
        for r in self.routes:
            self.ns.ip("-6" if ":" in r else "-4", "route", "add", r, "dev", self.ifname)
        return self

    def _answers(self):
        if not os.path.exists(self.sock_path):
            return False
        r = self.wg("show", self.ifname, "listen-port", check=False)
        return r.returncode == 0

    def add_peer(self, public_key, allowed_ips, endpoint=None, keepalive=None):
        """Configures a peer now (when running) and on every later start."""
        args = ["allowed-ips", ",".join(allowed_ips)]
        if endpoint:
            args += ["endpoint", endpoint]
        if keepalive:
            args += ["persistent-keepalive", str(keepalive)]
        self.peers.append((public_key, args))
        if self.running():
            self.wg("set", self.ifname, "peer", public_key, *args)

    def running(self):
        return self.proc is not None and self.proc.alive()

    def kill(self, sig=signal.SIGKILL, timeout=5.0):
        """Ends wireguard-go (SIGKILL by default: a crash, nothing said to
        the peer). Its TUN goes with it; a stale socket file is removed so
        the next start does not meet it."""
        self.proc.signal(sig)
        try:
            self.proc.wait(timeout)
        finally:
            self.proc.stop(grace=1.0)
        # The TUN disappears once the process's fd is closed.
        deadline = time.monotonic() + timeout
        while self.ifname in self.ns.link_names() and time.monotonic() < deadline:
            time.sleep(0.05)
        if sig == signal.SIGKILL:
            try:
                os.unlink(self.sock_path)
            except FileNotFoundError:
                pass

    def dump(self):
        """`wg show IFNAME dump` as {"public_key", "listen_port", "peers":
        {pub: {"endpoint" (None), "allowed_ips", "latest_handshake" (unix
        s, 0 never), "rx", "tx"}}}."""
        lines = self.wg("show", self.ifname, "dump").stdout.splitlines()
        f = lines[0].split("\t")
        out = {"public_key": f[1], "listen_port": int(f[2]), "peers": {}}
        for line in lines[1:]:
            f = line.split("\t")
            out["peers"][f[0]] = {
                "endpoint": None if f[2] == "(none)" else f[2],
                "allowed_ips": f[3].split(","),
                "latest_handshake": int(f[4]), "rx": int(f[5]), "tx": int(f[6])}
        return out

    def link_stats(self):
        """Packets the kernel took from / gave to wireguard-go's TUN:
        {"rx_packets" (decrypted, delivered here), "tx_packets" (to send)}."""
        link = self.ns.ip_json("-s", "link", "show", self.ifname)[0]
        s = link["stats64"]
        return {"rx_packets": s["rx"]["packets"], "tx_packets": s["tx"]["packets"]}

    def log_text(self):
        return self.proc.log_text() if self.proc else ""


# ----------------------------------------------------------- the usual tunnel

APP_VETH4, PEER_VETH4 = "10.99.0.1", "10.99.0.2"
OUR4, OUR6 = "10.100.0.1", "fd00:100::1"
PEER4, PEER6 = "10.100.0.2", "fd00:100::2"
NET4, NET6 = "10.100.0.0/24", "fd00:100::/64"


def tunnel(topo, mintflow, tun_name, workdir, *, our_addresses=(OUR4 + "/32", OUR6 + "/128"),
           peer_knows_us=True, our_key_at_peer=None):
    """The topology most WireGuard tests share:

      +------------- app --------------+        +------------ peer ------------+
      | mintflow  wg0 10.100.0.1/32    |        | wireguard-go IF              |
      |           fd00:100::1/128      |  veth  |   10.100.0.2/24              |
      |   udp 51820 on 10.99.0.1 ------+--------+-- fd00:100::2/64             |
      | TUN mftN (auto_route)          |        |   udp 51820 on 10.99.0.2     |
      +--------------------------------+        +------------------------------+

    Routes: 0/0 and ::/0 to a reject interface `rej`, the tunnel prefixes
    to wg0. peer_knows_us: wireguard-go gets 10.99.0.1:51820 as our
    endpoint (else it learns it from our handshake); our_key_at_peer: the
    public key wireguard-go believes is ours (default: the right one).
    Returns a namespace with app, peer, app_if, peer_if, d (the started
    daemon), wg (WgGo), profile (the text), our_priv, our_pub, tun."""
    app, peer = topo.ns("app"), topo.ns("peer")
    app_if, peer_if = topo.veth(app, [APP_VETH4 + "/24"], peer, [PEER_VETH4 + "/24"])
    our_priv, our_pub = genkey()
    wg = WgGo(topo, peer, workdir, addresses=[PEER4 + "/24", PEER6 + "/64"])
    wg.add_peer(our_key_at_peer or our_pub, [OUR4 + "/32", OUR6 + "/128"],
                endpoint=f"{APP_VETH4}:{WG_PORT}" if peer_knows_us else None)
    wg.start()
    iface = wg_interface(WG0, our_priv, our_addresses, [{
        "public_key": wg.public_key, "allowed_ips": [NET4, NET6],
        "endpoint": f"{PEER_VETH4}:{WG_PORT}"}])
    profile = profile_yaml(tun_name, interfaces=[iface, ("rej", "reject")],
                           routes=[("0.0.0.0/0", "rej"), ("::/0", "rej"),
                                   (NET4, WG0), (NET6, WG0)])
    d = mintflow(app, profile)
    return SimpleNamespace(app=app, peer=peer, app_if=app_if, peer_if=peer_if, d=d,
                           wg=wg, profile=profile, our_priv=our_priv, our_pub=our_pub,
                           tun=tun_name)


# ----------------------------------------------------------- bulk streams

# A stdlib-only TCP tool run inside a namespace: `recv` listens and hashes
# everything one client sends; `send` sends NBYTES of a seeded pseudo-random
# stream and hashes what it sent. Each prints one JSON line.
STREAM_TOOL = r'''
import hashlib, json, random, socket, sys, time

def block(seed):
    return random.Random(seed).randbytes(1 << 20)

def recv(bind, port, timeout):
    fam = socket.AF_INET6 if ":" in bind else socket.AF_INET
    ls = socket.socket(fam, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((bind, int(port)))
    ls.listen(1)
    ls.settimeout(float(timeout))
    print(json.dumps({"listening": True}), flush=True)
    c, peer = ls.accept()
    c.settimeout(float(timeout))
    h, n, t0 = hashlib.sha256(), 0, time.monotonic()
    while True:
        d = c.recv(1 << 18)
        if not d:
            break
        h.update(d)
        n += len(d)
    print(json.dumps({"bytes": n, "sha256": h.hexdigest(), "peer": peer[0],
                      "seconds": time.monotonic() - t0}), flush=True)

def send(host, port, nbytes, seed, timeout):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(float(timeout))
    s.connect((host, int(port)))
    b, h, left, i, t0 = block(int(seed)), hashlib.sha256(), int(nbytes), 0, time.monotonic()
    while left > 0:
        # Each 64 KiB chunk is numbered, so a repeated or lost chunk changes
        # the hash even though the 1 MiB block repeats.
        off = (i * 65536) % len(b)
        chunk = (i.to_bytes(8, "big") + b[off:off + 65528])[:left]
        s.sendall(chunk)
        h.update(chunk)
        left -= len(chunk)
        i += 1
    s.shutdown(socket.SHUT_WR)
    s.recv(1)
    s.close()
    print(json.dumps({"bytes": int(nbytes), "sha256": h.hexdigest(),
                      "seconds": time.monotonic() - t0}), flush=True)

if sys.argv[1] == "recv":
    recv(*sys.argv[2:5])
else:
    send(*sys.argv[2:7])
'''


def stream_tool(workdir):
    path = os.path.join(str(workdir), "stream_tool.py")
    if not os.path.exists(path):
        with open(path, "w") as f:
            f.write(STREAM_TOOL)
    return path


def transfer(src_ns, dst_ns, dst_addr, nbytes, workdir, port=5201, seed=1,
             timeout=60.0):
    """Moves nbytes over TCP from src_ns to dst_addr (in dst_ns); returns
    (sender's JSON, receiver's JSON)."""
    tool = stream_tool(workdir)
    bind = "::" if ":" in dst_addr else "0.0.0.0"
    rx = dst_ns.popen([PYTHON, tool, "recv", bind, port, timeout], name="stream-recv")
    rx.wait_output(r'"listening"', timeout=5)
    tx = src_ns.run([PYTHON, tool, "send", dst_addr, port, nbytes, seed, timeout],
                    timeout=timeout + 5)
    rx.wait(timeout=10)
    got = json.loads(rx.log_text().strip().splitlines()[-1])
    sent = json.loads(tx.stdout.strip().splitlines()[-1])
    return sent, got


# ----------------------------------------------------------- packet helpers

def read_pcap(path):
    """The frames of a pcap file (any link type) as bytes, with the link
    type: (linktype, [frame bytes]). Pure Python: we only need raw bytes."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return None, []
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        end = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        end = ">"
    else:
        raise AssertionError(f"{path}: not a pcap file (magic {magic.hex()})")
    linktype = struct.unpack(end + "I", data[20:24])[0]
    frames, off = [], 24
    while off + 16 <= len(data):
        incl = struct.unpack(end + "I", data[off + 8:off + 12])[0]
        frames.append(data[off + 16:off + 16 + incl])
        off += 16 + incl
    return linktype, frames


def udp_payloads_eth(frames):
    """(src ip, src port, dst ip, dst port, payload) of the IPv4 UDP
    datagrams in Ethernet frames."""
    out = []
    for fr in frames:
        if len(fr) < 14 + 20 or fr[12:14] != b"\x08\x00":
            continue
        ip = fr[14:]
        ihl = (ip[0] & 0x0F) * 4
        if ip[9] != 17 or len(ip) < ihl + 8:
            continue
        total = struct.unpack("!H", ip[2:4])[0]
        sport, dport, ulen = struct.unpack("!HHH", ip[ihl:ihl + 6])
        out.append((socket.inet_ntoa(ip[12:16]), sport, socket.inet_ntoa(ip[16:20]),
                    dport, bytes(ip[ihl + 8:min(total, ihl + ulen)])))
    return out


def capture(ns, ifname, bpf, path, name="dumpcap"):
    """Starts dumpcap (Wireshark's capture engine: it starts in a tenth of
    the time tshark takes to load its dissectors) on ifname of ns, writing
    pcap to path; returns the Peer once it captures. Stop it with
    stop_capture()."""
    p = ns.popen(["dumpcap", "-q", "-i", ifname, "-f", bpf, "-P", "-w", str(path)],
                 name=name)
    # Printed once the interface is open and the filter set.
    p.wait_output(r"^File: ", timeout=10)
    time.sleep(0.05)
    return p


def stop_capture(p, settle=0.3):
    """Lets the last packets reach the file, then stops dumpcap (SIGINT:
    it flushes and closes the file)."""
    time.sleep(settle)
    p.signal(signal.SIGINT)
    try:
        p.wait(timeout=5)
    finally:
        p.stop(grace=1.0)


def sum_errors(errs, node, exclude=()):
    return sum(v for (n, r), v in errs.items() if n == node and r not in exclude)


def delta(before, after, key):
    return after.get(key, 0) - before.get(key, 0)


_SEND_UDP = r"""
import json, socket, sys, time
dst, dport, src, sport, wait = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.bind((src or ("::" if fam == socket.AF_INET6 else "0.0.0.0"), sport))
n = 0
for h in sys.argv[6:]:
    s.sendto(bytes.fromhex(h), (dst, dport))
    n += 1
replies, deadline = [], time.monotonic() + wait
while True:
    left = deadline - time.monotonic()
    if left <= 0:
        break
    s.settimeout(left)
    try:
        data, frm = s.recvfrom(65535)
        replies.append(data.hex())
    except socket.timeout:
        break
    except OSError as e:
        replies.append("error:" + str(e))
print(json.dumps({"sent": n, "replies": replies, "port": s.getsockname()[1]}))
"""


def send_udp(ns, dst, dport, payloads, src=None, sport=0, wait=0.0, timeout=10.0):
    """Sends each payload (bytes) as one UDP datagram from ns, then listens
    `wait` seconds for answers. src/sport: the local address/port to bind
    (any if None/0). Returns {"sent", "replies" [hex], "port"}."""
    r = ns.run([PYTHON, "-c", _SEND_UDP, dst, dport, src or "", sport, wait]
               + [bytes(p).hex() for p in payloads], timeout=timeout + wait)
    return json.loads(r.stdout.strip().splitlines()[-1])


# WireGuard message layout (whitepaper 5.4): type (1 byte) + 3 reserved,
# then initiation 148 B, response 92 B, cookie reply 64 B, data >= 32 B.
MSG_INITIATION, MSG_RESPONSE, MSG_COOKIE, MSG_DATA = 1, 2, 3, 4
LEN_INITIATION, LEN_RESPONSE, LEN_COOKIE, LEN_DATA_MIN = 148, 92, 64, 32


def msg_header(msg_type):
    return bytes([msg_type, 0, 0, 0])


def mac1(public_key_b64, msg_before_macs):
    """MAC1 of a handshake message for the receiver with that public key:
    BLAKE2s-128 keyed with BLAKE2s-256("mac1----" || public key)."""
    key = hashlib.blake2s(b"mac1----" + base64.b64decode(public_key_b64)).digest()
    return hashlib.blake2s(msg_before_macs, key=key, digest_size=16).digest()


def random_initiation(rng, good_mac1_for=None):
    """An initiation of the right size with random contents; its MAC1 is
    right for good_mac1_for (a public key), else random too. MAC2 zero."""
    body = msg_header(MSG_INITIATION) + rng.randbytes(LEN_INITIATION - 4 - 32)
    m1 = mac1(good_mac1_for, body) if good_mac1_for else rng.randbytes(16)
    return body + m1 + bytes(16)


def data_message(receiver, counter, payload):
    return (msg_header(MSG_DATA) + receiver.to_bytes(4, "little")
            + counter.to_bytes(8, "little") + payload)


def wait_until(fn, timeout, interval=0.1, what="condition"):
    """Calls fn() until it returns a true value (returned) or timeout s
    pass (raises with the last value)."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = fn()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: not within {timeout}s (last: {last!r})")
        time.sleep(interval)


def ping_all_lost(ns, addr, count=2, wait=0.5, interval=0.2):
    """Pings that must all go unanswered; returns ping's output. A short
    wait: no reply is expected, only the time for one to come."""
    argv = ["ping"] + (["-6"] if ":" in addr else []) + [
        "-c", str(count), "-i", str(interval), "-W", str(wait), addr]
    r = ns.run(argv, check=False, timeout=5 + count * (interval + wait))
    assert r.returncode == 1 and f"{count} packets transmitted, 0 received" in r.stdout, \
        f"{' '.join(argv)} exit {r.returncode}\n{r.stdout}{r.stderr}"
    return r.stdout


def ping_ok(ns, addr, count=1, wait=1, interval=0.2):
    """One bounded ping run; True when every echo got a reply."""
    argv = ["ping"] + (["-6"] if ":" in addr else []) + [
        "-c", str(count), "-i", str(interval), "-W", str(wait), addr]
    r = ns.run(argv, check=False, timeout=5 + count * (interval + wait))
    return r.returncode == 0 and " 0% packet loss" in r.stdout
