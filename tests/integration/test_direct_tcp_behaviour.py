"""TCP's edge behaviour through the host stack to `direct`, as an app sees
it: half close, a reset from the server mid-transfer, a refused port, a
silent address, and DNS over UDP and TCP.

  +------------------------- app --------------------------+       +---------------- inet ----------------+
  | inet_tool.py clients, nc -N, dig                       |       | inet_tool.py servers (dual stack):    |
  |   v  (daemon path: rule 7301 -> table 7300 -> mftN)     |       |   :7001 answers after the client's FIN|
  | mftN ==TUN== mintflow  0/0, ::/0 -> direct             |       |   :7002 64 KiB, go, more, then RST    |
  |   hoststack: tcp_connect_timeout 3 (silent test)       |       |   :7999 nothing (refused)             |
  |                                                        |       | dnsmasq :53 udp+tcp                   |
  | veth1a 198.18.0.1/24 2001:db8:1::1/64 -----------------+-------+ veth1b 198.18.0.2/24 2001:db8:1::2/64 |
  |   198.19.0.0/24, 2001:db8:2::/64 via inet              |       |   blackhole 198.19.0.0/24,            |
  +--------------------------------------------------------+       |             2001:db8:2::/64 (silent)  |
                                                                   +---------------------------------------+
"""

import hashlib
import random

import pytest

from mfharness import inet
from mfharness.inet import (CLOSED_PORT, DNS_NAME, DNS_TXT_NAME, HALFCLOSE_PORT, HOSTS,
                            INET4, INET6, RESET_PORT, SILENT4, SILENT6)

inet_env = inet.inet_env  # the fixture, requested by name

CONNECT_TIMEOUT = 3  # the profile's hoststack.tcp_connect_timeout, seconds


@pytest.mark.parametrize("family", ["v4", "v6"])
def test_half_close_still_receives(inet_env, family):
    """The client shuts down its sending half; the server, which answers
    only after that FIN, still reaches it (RFC 9293 3.6: each direction
    closes on its own)."""
    env = inet_env()
    env.start_servers()
    opened = env.opened()
    for size in (0, 1, 300 * 1024):
        r = env.tool("halfclose", HOSTS[family], HALFCLOSE_PORT, size)
        assert r["answer"] == f"{size} {r['sha256']}\n", r
        assert r["eof"], f"no clean close after the answer: {r}"
    env.assert_through_daemon(opened, 3)


def test_half_close_with_netcat(inet_env, tmp_path):
    """The same with netcat-openbsd: -N shuts the socket down at the end of
    its input, and the answer still comes back."""
    env = inet_env()
    env.start_servers()
    data = random.Random(5).randbytes(100 * 1024)
    src = tmp_path / "nc-input"
    src.write_bytes(data)
    r = env.app.run(["sh", "-c", f"nc -N -w 10 {INET4} {HALFCLOSE_PORT} < {src}"],
                    timeout=20)
    assert r.stdout == f"{len(data)} {hashlib.sha256(data).hexdigest()}\n", r


@pytest.mark.parametrize("family", ["v4", "v6"])
def test_server_reset_mid_transfer(inet_env, family):
    """A server closing with SO_LINGER 0 after sending data resets the
    connection; the app must see the reset (ECONNRESET), not a clean end
    of stream that would pass a cut download off as complete."""
    env = inet_env()
    env.start_servers()
    r = env.tool("reset", HOSTS[family], RESET_PORT)
    assert r["sent_go"] and r["received"] >= 64 * 1024, r
    assert r["result"] == "reset", r


@pytest.mark.parametrize("family", ["v4", "v6"])
def test_closed_port_refused_fast(inet_env, family):
    env = inet_env()
    env.start_servers()
    for _ in range(3):
        r = env.tool("connect", HOSTS[family], CLOSED_PORT, 5)
        assert r["result"] == "refused", r
        assert r["elapsed"] < 1.0, r


@pytest.mark.parametrize("family", ["v4", "v6"])
def test_silent_address_fails_within_bound(inet_env, family):
    """Nobody answers at the silent address: the daemon gives up on its
    upstream connect after tcp_connect_timeout and tells the app (a RST, so
    a refusal; or a timeout error from the app's own stack). On the kernel
    path the same bound comes from tcp_syn_retries=1 (SYN at 0 s, again at
    1 s, given up at 3 s). The client's own timeout (10 s) must not be what
    ends it."""
    env = inet_env(sections={"hoststack": {"tcp_connect_timeout": CONNECT_TIMEOUT}})
    if env.mode == "kernel":
        for proto in ("ipv4",):  # the IPv4 knob governs IPv6 connects too
            env.app.sysctl(f"net.{proto}.tcp_syn_retries", 1)
    host = SILENT4 if family == "v4" else SILENT6
    r = env.tool("connect", host, 80, 10, timeout=20)
    assert r["result"] in ("refused", "error:ETIMEDOUT"), r
    assert CONNECT_TIMEOUT - 1 <= r["elapsed"] <= 2 * CONNECT_TIMEOUT, r


DIG = ["dig", "+time=2", "+tries=1", "+short", "-p", "53"]


def dig(env, server, *args):
    r = env.app.run(DIG + [f"@{server}"] + list(args), timeout=10)
    return r.stdout.split()


def test_dns_over_udp(inet_env):
    """Needs no TCP: on the daemon path it goes through the host stack's UDP
    even while TCP is missing."""
    env = inet_env(need_tcp=False)
    env.start_dns()
    opened = env.opened()
    assert dig(env, INET4, DNS_NAME, "A") == [INET4]
    assert dig(env, INET6, DNS_NAME, "AAAA") == [INET6]
    env.assert_through_daemon(opened, 2)


def test_dns_over_tcp(inet_env):
    env = inet_env()
    env.start_dns()
    opened = env.opened()
    assert dig(env, INET4, "+tcp", DNS_NAME, "A") == [INET4]
    assert dig(env, INET6, "+tcp", DNS_NAME, "AAAA") == [INET6]
    # An answer of more than a kilobyte (six 204-byte strings).
    txt = dig(env, INET4, "+tcp", DNS_TXT_NAME, "TXT")
    assert len(txt) == 6 and all(len(t) == 206 for t in txt), txt
    env.assert_through_daemon(opened, 3)
