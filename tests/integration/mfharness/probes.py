"""Wrappers that run probe.py inside a namespace and return its verdict."""

import json
import os

PROBE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "probe.py")
PYTHON = "/usr/bin/python3"


def _probe(ns, args, timeout):
    r = ns.run([PYTHON, PROBE] + [str(a) for a in args], timeout=timeout)
    return json.loads(r.stdout.strip().splitlines()[-1])


def tcp_connect(ns, host, port, timeout=3.0):
    """{"result": "refused"|"timeout"|"connected"|"error:E...", "elapsed": s}"""
    return _probe(ns, ["tcp-connect", host, port, timeout], timeout + 5)


def udp_probe(ns, host, port, timeout=0.5):
    """{"result": "reply"|"timeout"|"refused"|"error:E...", "elapsed": s}"""
    return _probe(ns, ["udp-probe", host, port, timeout], timeout + 5)


def inject(ns, ifname, packets):
    """Writes raw IP packets (bytes) into device `ifname` of `ns`, unchanged:
    for a TUN, the daemon reads exactly these bytes."""
    res = _probe(ns, ["inject", ifname] + [bytes(p).hex() for p in packets], 10)
    if res.get("sent") != len(packets):
        raise AssertionError(f"inject into {ifname}: {res}")
    return res


def ping(ns, addr, count=3, v6=False, interval=0.2):
    """Pings `addr` from `ns`; asserts 0% loss. Returns ping's output."""
    argv = ["ping"] + (["-6"] if v6 else []) + ["-c", str(count), "-i",
                                                str(interval), "-W", "1", addr]
    r = ns.run(argv, check=False, timeout=5 + count * (interval + 1))
    assert r.returncode == 0 and " 0% packet loss" in r.stdout, \
        f"{' '.join(argv)} exit {r.returncode}\n{r.stdout}{r.stderr}"
    return r.stdout
