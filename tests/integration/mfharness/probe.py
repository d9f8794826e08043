#!/usr/bin/python3
"""Small network probes run inside a test namespace (`ip netns exec NS
/usr/bin/python3 probe.py ...`). Each prints one JSON object on stdout and
exits 0 unless its arguments are wrong; the verdict is in the JSON, so the
harness can tell "refused" from "timed out" without parsing tool output.

Stdlib only, so that it starts fast (no scapy import here: packets are
built by the test process and passed as hex).

  tcp-connect HOST PORT TIMEOUT      connect once; refused/timeout/connected
  udp-probe HOST PORT TIMEOUT        send one datagram, wait for any answer
  inject IFNAME HEX [HEX ...]        write raw IP packets into a device
  tun-capture IFNAME COUNT TIMEOUT   own a TUN and print what arrives (self-test)
"""

import errno
import fcntl
import json
import os
import select
import socket
import struct
import sys
import time

ETH_P_IP = 0x0800
ETH_P_IPV6 = 0x86DD


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def family_of(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def errno_name(e):
    return errno.errorcode.get(e.errno, str(e.errno)) if e.errno else str(e)


def tcp_connect(host, port, timeout):
    s = socket.socket(family_of(host), socket.SOCK_STREAM)
    s.settimeout(float(timeout))
    t0 = time.monotonic()
    try:
        s.connect((host, int(port)))
        result = "connected"
    except ConnectionRefusedError:
        result = "refused"
    except socket.timeout:
        result = "timeout"
    except OSError as e:
        result = "error:" + errno_name(e)
    finally:
        s.close()
    emit({"result": result, "elapsed": time.monotonic() - t0})


def udp_probe(host, port, timeout):
    s = socket.socket(family_of(host), socket.SOCK_DGRAM)
    s.settimeout(float(timeout))
    t0 = time.monotonic()
    try:
        # A connected socket, so that an ICMP unreachable (if any came back)
        # is reported to us as ECONNREFUSED instead of being ignored.
        s.connect((host, int(port)))
        s.send(b"mintflow-probe")
        data = s.recv(2048)
        result = "reply"
        emit({"result": result, "elapsed": time.monotonic() - t0,
              "data": data.hex()})
        return
    except ConnectionRefusedError:
        result = "refused"
    except socket.timeout:
        result = "timeout"
    except OSError as e:
        result = "error:" + errno_name(e)
    finally:
        s.close()
    emit({"result": result, "elapsed": time.monotonic() - t0})


def inject(ifname, hexes):
    # SOCK_DGRAM on a device without link-layer header ops (a TUN) adds no
    # header: the bytes go to the TUN reader exactly as given. The protocol
    # field only sets skb->protocol; it is chosen from the version nibble so
    # the kernel sees a plausible value even for malformed packets.
    s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM)
    sent = 0
    try:
        for h in hexes:
            pkt = bytes.fromhex(h)
            proto = ETH_P_IPV6 if pkt and (pkt[0] >> 4) == 6 else ETH_P_IP
            s.sendto(pkt, (ifname, proto))
            sent += 1
    except OSError as e:
        emit({"sent": sent, "error": errno_name(e)})
        return
    finally:
        s.close()
    emit({"sent": sent})


TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1


def tun_capture(ifname, count, timeout):
    fd = os.open("/dev/net/tun", os.O_RDWR)
    ifr = struct.pack("16sH", ifname.encode(), IFF_TUN | IFF_NO_PI)
    fcntl.ioctl(fd, TUNSETIFF, ifr)
    ctl = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    flags = struct.unpack("16sH", fcntl.ioctl(
        ctl, SIOCGIFFLAGS, struct.pack("16sH", ifname.encode(), 0)))[1]
    fcntl.ioctl(ctl, SIOCSIFFLAGS,
                struct.pack("16sH", ifname.encode(), flags | IFF_UP))
    ctl.close()
    emit({"ready": True})
    got = []
    deadline = time.monotonic() + float(timeout)
    while len(got) < int(count):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        r, _, _ = select.select([fd], [], [], left)
        if r:
            got.append(os.read(fd, 65536).hex())
    os.close(fd)
    emit({"packets": got})


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    cmd, args = argv[1], argv[2:]
    if cmd == "tcp-connect" and len(args) == 3:
        tcp_connect(*args)
    elif cmd == "udp-probe" and len(args) == 3:
        udp_probe(*args)
    elif cmd == "inject" and len(args) >= 2:
        inject(args[0], args[1:])
    elif cmd == "tun-capture" and len(args) == 3:
        tun_capture(*args)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
