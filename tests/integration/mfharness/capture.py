"""Reading capture files with tshark (an independent reader: a file the
daemon writes must be one that Wireshark's own code accepts)."""

from .netns import run_host

FIELDS = ("frame.number", "ip.src", "ip.dst", "ipv6.dst", "icmp.type")


def read(path, timeout=20):
    """One dict per packet in the file, keyed by FIELDS (absent: "")."""
    argv = ["tshark", "-n", "-r", str(path), "-T", "fields"]
    for f in FIELDS:
        argv += ["-e", f]
    r = run_host(argv, timeout=timeout)
    return [dict(zip(FIELDS, line.split("\t"))) for line in r.stdout.splitlines()
            if line.strip()]


def icmp_types(packets):
    """ICMPv4 types of the packets, in order."""
    return [int(p["icmp.type"]) for p in packets if p.get("icmp.type")]
