"""Many TCP connections through the host stack to `direct`: 2,000 open at
once, each echoing a few KiB and closing cleanly; and the session limit,
beyond which new connections are refused while the established ones keep
working.

  +------------------------- app --------------------------+       +---------------- inet ----------------+
  | inet_tool.py scale: 2,000 asyncio connections          |       | inet_tool.py servers: echo :7000      |
  | inet_tool.py hold: N held, more refused                |       |   (asyncio, backlog 4096)             |
  |   v  (daemon path: rule 7301 -> table 7300 -> mftN)     |       |                                       |
  | mftN ==TUN== mintflow  0/0, ::/0 -> direct             |       |                                       |
  |   set hoststack max-sessions N (limit test)            |       |                                       |
  | veth1a 198.18.0.1/24 2001:db8:1::1/64 -----------------+-------+ veth1b 198.18.0.2/24 2001:db8:1::2/64 |
  +--------------------------------------------------------+       +---------------------------------------+
"""

import pytest

from mfharness import inet
from mfharness.inet import ECHO_PORT, HOSTS

inet_env = inet.inet_env  # the fixture, requested by name

CONNECTIONS = 2000
SIZE = 4 * 1024
LIMIT, EXTRA = 12, 6


@pytest.mark.parametrize("family", ["v4", "v6"])
def test_2000_concurrent_connections(inet_env, family):
    env = inet_env()
    env.start_servers()
    opened = env.opened()
    r = env.tool("scale", HOSTS[family], ECHO_PORT, CONNECTIONS, SIZE, 60, timeout=150)
    assert r["ok"] == CONNECTIONS and not r["errors"], r
    # They were all established at the same time, not one after another.
    assert r["peak"] == CONNECTIONS, r
    env.assert_through_daemon(opened, CONNECTIONS)
    print(f"{family}: {CONNECTIONS} connections in {r['elapsed']:.2f}s")


def test_session_limit_refuses_new_keeps_established(inet_env):
    env = inet_env(daemon_only="no session table on the kernel path")
    env.start_servers()
    env.set_hoststack("max-sessions", LIMIT)
    before = env.hoststack()
    assert before["opened"] == 0, before
    r = env.tool("hold", HOSTS["v4"], ECHO_PORT, LIMIT, EXTRA, 5, timeout=60)
    assert r["first"] == ["ok"] * LIMIT, r
    assert r["extra"] == ["refused"] * EXTRA, r
    # The held connections still carried data after the refusals.
    assert r["again"] == ["ok"] * LIMIT, r
    after = env.hoststack()
    assert after["refused"] - before["refused"] >= EXTRA, (before, after)
    assert after["opened"] - before["opened"] == LIMIT, (before, after)
