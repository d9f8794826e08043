"""Parsers for the text tables printed by `mintflow show ...`.

They follow the CLI contract (a header line, then whitespace-separated
fields) and are strict about the fields they read: a row that does not fit
raises ParseError with the whole output, so a format drift shows up as a
clear failure instead of a silently empty table."""

import re
from collections import namedtuple


class ParseError(AssertionError):
    pass


def _is_int(s):
    return re.fullmatch(r"\d+", s) is not None


ErrorRow = namedtuple("ErrorRow", "count node reason text")


def errors(text):
    """`show errors`: header, then `COUNT NODE REASON free text`.
    Returns {(node, reason): count}; rows are summed if a pair repeats."""
    out = {}
    for row in error_rows(text):
        out[(row.node, row.reason)] = out.get((row.node, row.reason), 0) + row.count
    return out


def error_rows(text):
    rows = []
    lines = [l for l in text.splitlines() if l.strip()]
    for i, line in enumerate(lines):
        f = line.split(None, 3)
        if not _is_int(f[0]):
            if i == 0:
                continue  # the header
            raise ParseError(f"show errors: bad row {line!r} in:\n{text}")
        if len(f) < 3:
            raise ParseError(f"show errors: short row {line!r} in:\n{text}")
        rows.append(ErrorRow(int(f[0]), f[1], f[2], f[3] if len(f) > 3 else ""))
    return rows


Iface = namedtuple("Iface", "name idx type rx_packets rx_bytes tx_packets "
                            "tx_bytes drops")
IFACE_HEADER = ["Name", "Idx", "Type", "RxPackets", "RxBytes", "TxPackets",
                "TxBytes", "Drops"]


def interfaces(text):
    """`show interfaces`: returns {name: Iface}, in output order."""
    lines = [l for l in text.splitlines() if l.strip()]
    if not lines or lines[0].split() != IFACE_HEADER:
        raise ParseError(f"show interfaces: header is not {IFACE_HEADER}:\n{text}")
    out = {}
    for line in lines[1:]:
        f = line.split()
        if len(f) != 8 or not all(_is_int(x) for x in [f[1]] + f[3:]):
            raise ParseError(f"show interfaces: bad row {line!r} in:\n{text}")
        out[f[0]] = Iface(f[0], int(f[1]), f[2], *(int(x) for x in f[3:]))
    return out


FibRow = namedtuple("FibRow", "prefix interface source priority active")
# A DNS host route's row ends with the names that claim it ("  dns
# x.example (set) [also: ...]"): read past, not parsed.
_FIB_RE = re.compile(r"^(\S+)\s+via\s+(\S+)\s+source\s+(\S+)\s+priority\s+"
                     r"(\d+)(\s+active)?(?:\s{2,}dns\s.*)?\s*$")


def fib(text):
    """`show ip fib`: one row per route path. Returns [FibRow]. Lines that
    are not rows (a header, a table title) are skipped only if they do not
    contain ' via '."""
    rows = []
    for line in text.splitlines():
        if not line.strip():
            continue
        m = _FIB_RE.match(line.strip())
        if m:
            rows.append(FibRow(m.group(1), m.group(2), m.group(3),
                               int(m.group(4)), m.group(5) is not None))
        elif " via " in line:
            raise ParseError(f"show ip fib: bad row {line!r} in:\n{text}")
    return rows


RuntimeRow = namedtuple("RuntimeRow", "name calls vectors vectors_per_call "
                                      "clocks_per_pkt")


def runtime(text):
    """`show runtime`: header, then `NAME CALLS VECTORS VECTORS/CALL
    CLOCKS/PKT`. Returns {name: RuntimeRow}."""
    out = {}
    for line in text.splitlines():
        f = line.split()
        # The header, and summary lines after the table ("buffers: ...").
        if len(f) != 5 or not (_is_int(f[1]) and _is_int(f[2])):
            continue
        try:
            out[f[0]] = RuntimeRow(f[0], int(f[1]), int(f[2]), float(f[3]),
                                   float(f[4]))
        except ValueError:
            raise ParseError(f"show runtime: bad row {line!r} in:\n{text}")
    if not out:
        raise ParseError(f"show runtime: no node rows in:\n{text}")
    return out


TracePacket = namedtuple("TracePacket", "number lines nodes")
_PACKET_RE = re.compile(r"^\s*Packet\s+(\d+)\b")
# Graph node names: lower case words joined by '-' (tun-input, ip4-lookup).
_STAMP_RE = re.compile(r"^[0-9][0-9:.]*:\s+")
_NODE_RE = re.compile(r"^([a-z][a-z0-9]*(?:-[a-z0-9]+)+):?$")


def trace(text):
    """`show trace`: blocks starting `Packet N`; inside, lines starting with
    a node name. Returns [TracePacket] with .nodes the node names in order."""
    packets = []
    cur = None
    for line in text.splitlines():
        m = _PACKET_RE.match(line)
        if m:
            cur = TracePacket(int(m.group(1)), [], [])
            packets.append(cur)
            continue
        if cur is None or not line.strip():
            continue
        cur.lines.append(line)
        # A leading timestamp (VPP prints "00:00:01:123456: node") is skipped.
        first = _STAMP_RE.sub("", line.strip()).split()[0]
        n = _NODE_RE.match(first)
        if n:
            cur.nodes.append(n.group(1))
    return packets


def is_subsequence(needle, haystack):
    it = iter(haystack)
    return all(any(x == y for y in it) for x in needle)
