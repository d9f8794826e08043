#!/usr/bin/python3
"""Servers and clients for the TCP-through-`direct` suites, run inside a
test namespace (`ip netns exec NS /usr/bin/python3 inet_tool.py ...`).
Stdlib only. Servers print "ready" once they listen; clients print one
JSON object, the verdict (a client that cannot even connect where the
verdict needs a connection ends with its traceback instead).

  http BIND PORT DIR              HTTP/1.1: GET /NAME serves DIR/NAME;
                                  PUT/POST answer {"bytes", "sha256"} of the body
  servers BIND                    echo :7000, half-close :7001, reset :7002
  halfclose HOST PORT NBYTES      send, shut down writing, read the answer
  reset HOST PORT                 read until the server's RST
  connect HOST PORT TIMEOUT       one connect, failure classified by errno
  scale HOST PORT N SIZE TIMEOUT  N connections open at once, each echoing SIZE
  hold HOST PORT N EXTRA TIMEOUT  N held connections, EXTRA more tried, then
                                  the N used again

Every wait is bounded: clients by TIMEOUT, servers by SERVER_LIFETIME."""

import asyncio
import errno
import hashlib
import http.server
import json
import os
import random
import resource
import socket
import struct
import sys
import time

ECHO_PORT, HALFCLOSE_PORT, RESET_PORT = 7000, 7001, 7002
SERVER_LIFETIME = 900.0   # seconds; the harness kills servers long before
CHUNK = 1 << 20
RESET_FIRST = 64 * 1024   # bytes the reset server sends before the client's go


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def family_of(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def errno_name(e):
    return errno.errorcode.get(e.errno, str(e.errno)) if e.errno else type(e).__name__


def raise_nofile():
    """Thousands of sockets need more than the usual soft limit of 1024."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def dual_stack_listener(bind, port, backlog=128):
    """One socket for both families when BIND is "::" (IPv4 as mapped
    addresses), so every server answers on all the namespace's addresses."""
    s = socket.socket(family_of(bind), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if s.family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind((bind, int(port)))
    s.listen(backlog)
    return s


# ------------------------------------------------------------------ http

class Handler(http.server.BaseHTTPRequestHandler):
    # 1.1 so that `Expect: 100-continue` is answered at once, not after
    # curl's one-second wait; each answer still closes its connection.
    protocol_version = "HTTP/1.1"
    root = "."

    def _answer(self, code, body, ctype="application/json"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def do_GET(self):
        name = os.path.basename(self.path.split("?", 1)[0])
        path = os.path.join(self.root, name)
        if not name or not os.path.isfile(path):
            self._answer(404, b'{"error": "no such file"}')
            return
        size = os.path.getsize(path)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(size))
        self.send_header("Connection", "close")
        self.end_headers()
        with open(path, "rb") as f:
            if size:
                self.connection.sendfile(f)
        self.close_connection = True

    def _upload(self):
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self._answer(411, b'{"error": "Content-Length required"}')
            return
        left, h = int(length), hashlib.sha256()
        got = 0
        while left > 0:
            data = self.rfile.read(min(left, CHUNK))
            if not data:
                break
            h.update(data)
            got += len(data)
            left -= len(data)
        self._answer(200, json.dumps({"bytes": got, "sha256": h.hexdigest()}).encode())

    do_PUT = _upload
    do_POST = _upload

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))


class Server(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6
    daemon_threads = True
    request_queue_size = 128

    def server_bind(self):
        if self.address_family == socket.AF_INET6:
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


def http_server(bind, port, root):
    Handler.root = root
    Server.address_family = family_of(bind)
    srv = Server((bind, int(port)), Handler)
    srv.timeout = 1.0
    print("ready", flush=True)
    deadline = time.monotonic() + SERVER_LIFETIME
    while time.monotonic() < deadline:
        srv.handle_request()


# ------------------------------------------------------------------ asyncio servers

async def echo(reader, writer):
    """Echoes until the client's FIN, then closes: a clean close both ways."""
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def half_close(reader, writer):
    """Reads everything until the client's FIN, and only then answers: the
    client must still receive after shutting down its writing half."""
    h, n = hashlib.sha256(), 0
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            h.update(data)
            n += len(data)
        writer.write(("%d %s\n" % (n, h.hexdigest())).encode())
        await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def reset_mid_transfer(reader, writer):
    """Sends a first part, waits for the client's go (so the reset comes
    mid-transfer, after data the client has seen), sends more, then closes
    with SO_LINGER 0: the kernel sends a RST instead of a FIN."""
    try:
        writer.write(os.urandom(RESET_FIRST))
        await writer.drain()
        await asyncio.wait_for(reader.readexactly(1), 10)
        writer.write(os.urandom(RESET_FIRST))
        await writer.drain()
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except (ConnectionError, OSError, asyncio.TimeoutError,
            asyncio.IncompleteReadError):
        pass
    finally:
        writer.transport.abort()


async def servers_main(bind):
    raise_nofile()
    made = []
    for port, fn in ((ECHO_PORT, echo), (HALFCLOSE_PORT, half_close),
                     (RESET_PORT, reset_mid_transfer)):
        # start_server listens again with its own backlog (100 unless told):
        # a burst of connects would overflow that queue.
        made.append(await asyncio.start_server(
            fn, sock=dual_stack_listener(bind, port, backlog=4096), backlog=4096))
    print("ready", flush=True)
    await asyncio.sleep(SERVER_LIFETIME)
    for s in made:
        s.close()


# ------------------------------------------------------------------ clients

def connect(host, port, timeout):
    s = socket.socket(family_of(host), socket.SOCK_STREAM)
    s.settimeout(float(timeout))
    s.connect((host, int(port)))
    return s


def halfclose_client(host, port, nbytes):
    data = random.Random(7).randbytes(int(nbytes))
    s = connect(host, port, 10)
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    answer = b""
    eof = False
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(answer) < 4096:
        chunk = s.recv(4096)
        if not chunk:
            eof = True
            break
        answer += chunk
    s.close()
    emit({"sent": len(data), "sha256": hashlib.sha256(data).hexdigest(),
          "answer": answer.decode(errors="replace"), "eof": eof})


def reset_client(host, port):
    s = connect(host, port, 10)
    got, result, sent_go = 0, "timeout", False
    deadline = time.monotonic() + 10
    try:
        while time.monotonic() < deadline:
            chunk = s.recv(65536)
            if not chunk:
                result = "eof"
                break
            got += len(chunk)
            if not sent_go and got >= RESET_FIRST:
                s.sendall(b"g")
                sent_go = True
    except ConnectionResetError:
        result = "reset"
    except socket.timeout:
        result = "timeout"
    except OSError as e:
        result = "error:" + errno_name(e)
    s.close()
    emit({"result": result, "received": got, "sent_go": sent_go})


def connect_client(host, port, timeout):
    """Tells a refusal (RST), the stack giving up (ETIMEDOUT) and our own
    timeout apart: errno, not the exception class, since Python maps
    ETIMEDOUT and socket.timeout both to TimeoutError."""
    s = socket.socket(family_of(host), socket.SOCK_STREAM)
    s.settimeout(float(timeout))
    t0 = time.monotonic()
    try:
        s.connect((host, int(port)))
        result = "connected"
    except ConnectionRefusedError:
        result = "refused"
    except socket.timeout as e:
        result = "error:" + errno_name(e) if e.errno else "client-timeout"
    except OSError as e:
        result = "error:" + errno_name(e)
    finally:
        s.close()
    emit({"result": result, "elapsed": time.monotonic() - t0})


async def one_echo_conn(host, port, size, seed, st, limit):
    """One connection of the scale test: connect, echo SIZE bytes, wait
    until every connection has got this far (so they are all open at once),
    then FIN and expect the server's clean close."""
    payload = random.Random(seed).randbytes(size)
    writer, settled, stage = None, False, "connect"
    try:
        async with limit:  # bounds connects in flight, not connections open
            if st["stop"]:
                raise RuntimeError("given up after an earlier failure")
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(host, port), st["timeout"] / 4)
        stage = "echo"
        writer.write(payload)
        await writer.drain()
        back = await asyncio.wait_for(reader.readexactly(size), st["timeout"] / 4)
        if back != payload:
            raise ValueError("echo differs")
        st["open"] += 1
        st["peak"] = max(st["peak"], st["open"])
        settled = settle(st)
        stage = "wait"
        await asyncio.wait_for(st["all_settled"].wait(), st["timeout"])
        stage = "close"
        writer.write_eof()
        rest = await asyncio.wait_for(reader.read(1), st["timeout"])
        st["open"] -= 1
        if rest:
            raise ValueError("data after the echo")
        return "ok"
    except Exception as e:  # every failure is reported by its name
        # One failure fails the test: the connections not yet begun are
        # not tried, so a broken path ends the run in seconds.
        st["stop"] = True
        if not settled:
            settle(st)
        return stage + ":" + type(e).__name__ + (
            ":" + errno_name(e) if isinstance(e, OSError) else "")
    finally:
        if writer is not None:
            writer.close()


def settle(st):
    st["settled"] += 1
    if st["settled"] >= st["n"]:
        st["all_settled"].set()
    return True


async def scale_main(host, port, n, size, timeout):
    raise_nofile()
    st = {"open": 0, "peak": 0, "n": n, "timeout": timeout, "settled": 0,
          "all_settled": asyncio.Event(), "stop": False}
    limit = asyncio.Semaphore(256)
    t0 = time.monotonic()
    results = await asyncio.wait_for(asyncio.gather(*[
        one_echo_conn(host, port, size, i, st, limit) for i in range(n)]),
        2 * timeout)
    errors = {}
    for r in results:
        if r != "ok":
            errors[r] = errors.get(r, 0) + 1
    emit({"ok": results.count("ok"), "errors": errors, "peak": st["peak"],
          "elapsed": time.monotonic() - t0})


def echo_once(s, payload):
    s.sendall(payload)
    back = b""
    while len(back) < len(payload):
        chunk = s.recv(len(payload) - len(back))
        if not chunk:
            break
        back += chunk
    return back == payload


def hold_client(host, port, n, extra, timeout):
    held, first = [], []
    for i in range(int(n)):
        try:
            s = connect(host, port, timeout)
            first.append("ok" if echo_once(s, b"first %d" % i) else "bad-echo")
            held.append(s)
        except OSError as e:
            first.append(type(e).__name__)
            break  # the path is broken: the verdict is known, stop early
    if len(held) < int(n):
        extra = 0
    more = []
    for i in range(int(extra)):
        s = socket.socket(family_of(host), socket.SOCK_STREAM)
        s.settimeout(float(timeout))
        try:
            s.connect((host, int(port)))
            more.append("connected")
        except ConnectionRefusedError:
            more.append("refused")
        except OSError as e:
            more.append("error:" + errno_name(e))
        finally:
            s.close()
    again = []
    for i, s in enumerate(held):
        try:
            again.append("ok" if echo_once(s, (b"again %d " % i) * 100) else "bad-echo")
            s.shutdown(socket.SHUT_WR)
            s.recv(1)
        except OSError as e:
            again.append(type(e).__name__)
        s.close()
    emit({"first": first, "extra": more, "again": again})


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    cmd, a = argv[1], argv[2:]
    if cmd == "http" and len(a) == 3:
        http_server(*a)
    elif cmd == "servers" and len(a) == 1:
        asyncio.run(servers_main(a[0]))
    elif cmd == "halfclose" and len(a) == 3:
        halfclose_client(*a)
    elif cmd == "reset" and len(a) == 2:
        reset_client(*a)
    elif cmd == "connect" and len(a) == 3:
        connect_client(*a)
    elif cmd == "scale" and len(a) == 5:
        asyncio.run(scale_main(a[0], int(a[1]), int(a[2]), int(a[3]), float(a[4])))
    elif cmd == "hold" and len(a) == 5:
        hold_client(*a)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
