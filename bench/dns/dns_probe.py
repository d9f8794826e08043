#!/usr/bin/python3
"""Waits for a DNS server to answer: the moment a server has its block list
loaded, for the load-time figure of dns_bench.py.

  dns_probe.py SERVER PORT NAME EXPECT TIMEOUT_S

Prints "ready" once its socket is open, then asks SERVER for NAME (type A)
every 10 ms, from one unconnected UDP socket (so that "port unreachable"
and "network unreachable" while the server is still starting are no
errors), until an answer with the query's ID, NOERROR and the address
EXPECT in its answer section arrives. Prints "answered T" with T the
CLOCK_MONOTONIC seconds at which it read that answer (the clock is the
machine's, so the caller can subtract its own start time), or "timeout"
after TIMEOUT_S seconds; exits 0 or 1 accordingly. Run inside the
server's network namespace (`ip netns exec`)."""

import ipaddress
import os
import select
import socket
import struct
import sys
import time

INTERVAL_S = 0.010


def query(qid, name):
    """An RFC 1035 4.1 query: header with RD, one question of type A,
    class IN."""
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode("ascii")
    return q + b"\x00" + struct.pack("!HH", 1, 1)


def skip_name(msg, i):
    """Offset past a possibly compressed name at i (RFC 1035 4.1.4)."""
    for _ in range(128):  # a name has at most 127 labels
        if i >= len(msg):
            raise ValueError("name past the end")
        n = msg[i]
        if n == 0:
            return i + 1
        if n & 0xC0 == 0xC0:
            return i + 2
        i += 1 + n
    raise ValueError("name too long")


def has_address(msg, sent, want):
    """True for a NOERROR answer to one of the IDs sent holding the A
    record want."""
    if len(msg) < 12:
        return False
    rid, flags, qd, an = struct.unpack("!HHHH", msg[:8])
    if rid not in sent or not flags & 0x8000 or flags & 0x000F:
        return False
    try:
        i = 12
        for _ in range(qd):
            i = skip_name(msg, i) + 4
        for _ in range(an):
            i = skip_name(msg, i)
            rtype, _, _, rdlen = struct.unpack("!HHIH", msg[i:i + 10])
            i += 10
            if rtype == 1 and rdlen == 4 and msg[i:i + 4] == want:
                return True
            i += rdlen
    except (ValueError, struct.error):
        return False
    return False


def main():
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    server, port, name = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    want = ipaddress.IPv4Address(sys.argv[4]).packed
    deadline = time.monotonic() + float(sys.argv[5])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setblocking(False)
    print("ready", flush=True)
    qid = int.from_bytes(os.urandom(2), "big")
    sent = set()  # at most 65536 IDs: one per 10 ms is 11 minutes' worth
    while time.monotonic() < deadline:
        qid = (qid + 1) & 0xFFFF
        sent.add(qid)
        try:
            s.sendto(query(qid, name), (server, port))
        except OSError:
            pass  # no route or nobody listening yet
        until = min(time.monotonic() + INTERVAL_S, deadline)
        while True:
            left = until - time.monotonic()
            if left <= 0:
                break
            ready, _, _ = select.select([s], [], [], left)
            if not ready:
                continue
            try:
                msg = s.recv(4096)
            except OSError:
                continue  # an ICMP error of an earlier try
            # Answers to earlier tries count too: the server was up then.
            if has_address(msg, sent, want):
                print(f"answered {time.monotonic():.6f}", flush=True)
                return 0
    print("timeout", flush=True)
    return 1


if __name__ == "__main__":
    sys.exit(main())
