#!/usr/bin/python3
"""Small TCP applications (plain kernel sockets) used by generate.sh to make real-kernel RSTs.

Usage: app.py ROLE --run DIR [--host ADDR] [--port P] [--cport P] ...

Every role is bounded in time (each blocking call has a timeout, every loop a count) and
synchronises with the generator through files in --run DIR (wait_file / touch).
Only stdlib. Run inside a network namespace (ip netns exec ...).
"""

import argparse
import errno
import os
import select
import socket
import struct
import sys
import time

LINGER0 = struct.pack("ii", 1, 0)
TIMEOUT = 8.0


def log(*a):
    print(f"[app {time.monotonic():.3f}]", *a, file=sys.stderr, flush=True)


def touch(run, name):
    with open(os.path.join(run, name), "w") as f:
        f.write(str(time.time()))


def wait_file(run, name, limit=10.0):
    deadline = time.monotonic() + limit
    p = os.path.join(run, name)
    while time.monotonic() < deadline:
        if os.path.exists(p):
            return True
        time.sleep(0.02)
    raise SystemExit(f"timeout waiting for {name}")


def family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def listener(host, port, backlog=8):
    s = socket.socket(family(host), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    s.listen(backlog)
    s.settimeout(TIMEOUT)
    return s


def connect(host, port, cport=0, timeout=TIMEOUT):
    s = socket.socket(family(host), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if cport:
        s.bind(("::" if ":" in host else "0.0.0.0", cport))
    s.settimeout(timeout)
    s.connect((host, port))
    return s


def recv_some(s, n=4096):
    try:
        return s.recv(n)
    except (ConnectionResetError, BrokenPipeError, ConnectionAbortedError) as e:
        log("recv:", e)
        return None
    except TimeoutError:
        log("recv: timeout")
        return None


def abort(s):
    """close() with SO_LINGER {1, 0}: the kernel sends RST instead of FIN."""
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER0)
    s.close()


def total_retrans(s):
    info = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    return struct.unpack_from("I", info, 100)[0]


# ---------------------------------------------------------------- servers


def srv_echo(a):
    """Accept up to --count connections one after the other, echo until EOF, close gracefully."""
    ls = listener(a.host, a.port)
    touch(a.run, f"ready-{a.port}")
    for _ in range(a.count):
        try:
            c, _peer = ls.accept()
        except TimeoutError:
            break
        c.settimeout(TIMEOUT)
        for _ in range(1000):
            d = recv_some(c)
            if not d:
                break
            c.sendall(d)
        c.close()


def srv_hold(a):
    """Listen with a tiny backlog and never accept (accept queue overflow)."""
    ls = listener(a.host, a.port, backlog=a.backlog)
    ls.settimeout(None)
    touch(a.run, f"ready-{a.port}")
    time.sleep(a.hold)
    ls.close()


def srv_abort(a):
    """Accept one connection, exchange hello/world, read one more message, then abort (SO_LINGER 0)."""
    ls = listener(a.host, a.port)
    touch(a.run, f"ready-{a.port}")
    c, _ = ls.accept()
    c.settimeout(TIMEOUT)
    recv_some(c)
    c.sendall(b"world\n")
    recv_some(c)
    if a.wait:
        wait_file(a.run, a.wait)
    time.sleep(0.2)
    abort(c)
    log("server aborted")


def srv_idle(a):
    """Accept one connection, hello/world, then wait for data; after --idle s of silence abort."""
    ls = listener(a.host, a.port)
    touch(a.run, f"ready-{a.port}")
    c, _ = ls.accept()
    c.settimeout(TIMEOUT)
    recv_some(c)
    c.sendall(b"world\n")
    r, _, _ = select.select([c], [], [], a.idle)
    if r:
        log("unexpected data before idle timeout")
    abort(c)
    log("server idle-timeout abort")


def srv_fin_first(a):
    """Accept one connection, hello/world, then close gracefully first (server sends the FIN)."""
    ls = listener(a.host, a.port)
    touch(a.run, f"ready-{a.port}")
    c, _ = ls.accept()
    c.settimeout(TIMEOUT)
    recv_some(c)
    c.sendall(b"world\n")
    time.sleep(0.1)
    c.close()
    time.sleep(a.hold)


def srv_sink(a):
    """Accept one connection, hello/world, then read until EOF/reset or timeout."""
    ls = listener(a.host, a.port)
    touch(a.run, f"ready-{a.port}")
    c, _ = ls.accept()
    c.settimeout(a.hold)
    recv_some(c)
    c.sendall(b"world\n")
    for _ in range(1000):
        d = recv_some(c)
        if not d:
            break
    c.close()


def srv_stream(a):
    """Accept one connection, answer hello, then keep sending a chunk every 0.3 s (--chunks)."""
    ls = listener(a.host, a.port)
    touch(a.run, f"ready-{a.port}")
    c, _ = ls.accept()
    c.settimeout(TIMEOUT)
    recv_some(c)
    c.sendall(b"world\n")
    time.sleep(0.6)
    for i in range(a.chunks):
        try:
            c.sendall(b"server chunk %d\n" % i)
        except OSError as e:
            log("server send:", e)
            break
        time.sleep(0.3)
    c.close()


def srv_read_all(a):
    """Accept one connection, read exactly --size bytes, then close first (TIME_WAIT on the server)."""
    ls = listener(a.host, a.port)
    touch(a.run, f"ready-{a.port}")
    c, _ = ls.accept()
    c.settimeout(TIMEOUT)
    got = 0
    while got < a.size:
        d = recv_some(c, 1 << 20)
        if not d:
            break
        got += len(d)
    log("server read", got)
    c.close()
    # second connection on the same 4-tuple (after the TIME_WAIT socket was reset)
    try:
        c2, _ = ls.accept()
        c2.settimeout(TIMEOUT)
        d = recv_some(c2)
        if d:
            c2.sendall(d)
        recv_some(c2)
        c2.close()
    except TimeoutError:
        log("no second connection")


# ---------------------------------------------------------------- clients


def cli_hello(a):
    """Connect, hello/world, close gracefully (baseline traffic)."""
    s = connect(a.host, a.port)
    s.sendall(b"hello\n")
    recv_some(s)
    s.shutdown(socket.SHUT_WR)
    recv_some(s)
    s.close()


def cli_refused(a):
    try:
        s = connect(a.host, a.port, timeout=3)
        s.close()
        log("unexpectedly connected")
    except ConnectionRefusedError:
        log("refused (RST)")
    except TimeoutError:
        log("connect timeout")


def cli_talk_then_wait_reset(a):
    """hello/world, one more message, then wait for the peer's RST."""
    s = connect(a.host, a.port)
    s.sendall(b"hello\n")
    recv_some(s)
    s.sendall(b"more\n")
    touch(a.run, "established")
    d = recv_some(s)
    log("after more:", d)
    s.close()


def cli_abort(a):
    """hello/world, then abort mid-stream with SO_LINGER 0 (nothing unread, nothing in flight)."""
    s = connect(a.host, a.port)
    s.sendall(b"hello\n")
    recv_some(s)
    time.sleep(0.2)
    abort(s)
    log("client aborted")


def cli_idle(a):
    s = connect(a.host, a.port)
    s.sendall(b"hello\n")
    recv_some(s)
    s.settimeout(a.idle + 3)
    d = recv_some(s)
    log("idle client got", d)
    s.close()


def cli_stale(a):
    """hello/world, wait until the generator destroyed the server's socket, then send data."""
    s = connect(a.host, a.port)
    s.sendall(b"hello\n")
    recv_some(s)
    touch(a.run, "established")
    wait_file(a.run, "go")
    s.sendall(b"are you still there?\n")
    d = recv_some(s)
    log("stale client got", d)
    s.close()


def cli_after_fin(a):
    """hello/world, wait for the server's FIN (EOF), then send data anyway."""
    s = connect(a.host, a.port)
    s.sendall(b"hello\n")
    recv_some(s)
    d = recv_some(s)
    log("eof:", d)
    time.sleep(0.2)
    s.sendall(b"late data after your FIN\n")
    time.sleep(0.3)
    try:
        s.sendall(b"x")
    except OSError as e:
        log("second send:", e)
    s.close()


def cli_rto_abort(a):
    """hello/world; generator blackholes the path; send data; abort after >= 3 retransmissions."""
    s = connect(a.host, a.port)
    s.sendall(b"hello\n")
    recv_some(s)
    touch(a.run, "established")
    wait_file(a.run, "go")
    s.sendall(b"data that will never be acknowledged\n")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and total_retrans(s) < a.retrans:
        time.sleep(0.05)
    log("retransmissions:", total_retrans(s))
    abort(s)


def cli_blockme(a):
    """hello/world, then a request containing the string the router's IPS rule rejects."""
    s = connect(a.host, a.port)
    s.sendall(b"hello\n")
    recv_some(s)
    time.sleep(0.2)
    s.sendall(b"GET /BLOCKME HTTP/1.1\r\n\r\n")
    d = recv_some(s)
    log("after BLOCKME:", d)
    s.close()
    time.sleep(1.5)


def cli_pingpong(a):
    """Ping-pong, pause (file 'paused') until 'resume', ping-pong again, graceful close."""
    s = connect(a.host, a.port)
    for i in range(3):
        s.sendall(b"ping %d\n" % i)
        recv_some(s)
        time.sleep(0.1)
    touch(a.run, "paused")
    wait_file(a.run, "resume", 15)
    for i in range(3, 6):
        s.sendall(b"ping %d\n" % i)
        d = recv_some(s)
        log("pong:", d)
        time.sleep(0.1)
    s.shutdown(socket.SHUT_WR)
    recv_some(s)
    s.close()
    touch(a.run, "done")


def cli_active_close(a):
    """hello/world, client closes first (client ends in TIME_WAIT)."""
    s = connect(a.host, a.port)
    s.sendall(b"hello\n")
    recv_some(s)
    time.sleep(0.1)
    s.shutdown(socket.SHUT_WR)
    recv_some(s)
    s.close()
    touch(a.run, "closed")


def cli_burst(a):
    """--pre blocking connections first (they fill the accept queue up to the backlog), then, after
    the generator says 'go', --count non-blocking connections at once."""
    socks = []
    for _ in range(a.pre):
        socks.append(connect(a.host, a.port))
    touch(a.run, "pre-done")
    wait_file(a.run, "go")
    for _ in range(a.count):
        s = socket.socket(family(a.host), socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect((a.host, a.port))
        except BlockingIOError:
            pass
        socks.append(s)
    time.sleep(0.3)
    touch(a.run, "connected")
    time.sleep(a.hold)
    for s in socks:
        err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        log("socket error:", errno.errorcode.get(err, err))
    touch(a.run, "done")


def cli_tw_reuse(a):
    """From a fixed port: send --size bytes, server closes first (TIME_WAIT on the server), reconnect."""
    s = connect(a.host, a.port, cport=a.cport)
    s.sendall(b"x" * a.size)
    d = recv_some(s)
    log("eof:", d)
    s.close()
    t0 = time.monotonic()
    try:
        s2 = connect(a.host, a.port, cport=a.cport, timeout=6)
        log("reconnected after %.3f s" % (time.monotonic() - t0))
        s2.sendall(b"hello again\n")
        recv_some(s2)
        s2.shutdown(socket.SHUT_WR)
        recv_some(s2)
        s2.close()
    except OSError as e:
        log("reconnect failed:", e)


def cli_hold_then_abort_later(a):
    """Connect, hello/world, tell the generator, then wait for the server's RST (capture starts now)."""
    s = connect(a.host, a.port)
    s.sendall(b"hello\n")
    recv_some(s)
    touch(a.run, "established")
    d = recv_some(s)
    log("got", d)
    s.close()


ROLES = {k: v for k, v in globals().items() if k.startswith(("srv_", "cli_"))}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("role", choices=sorted(ROLES))
    p.add_argument("--run", required=True)
    p.add_argument("--host", default="0.0.0.0")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--cport", type=int, default=0)
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--pre", type=int, default=0)
    p.add_argument("--wait", default="", help="file in --run to wait for before the decisive step")
    p.add_argument("--backlog", type=int, default=0)
    p.add_argument("--hold", type=float, default=3.0)
    p.add_argument("--idle", type=float, default=3.0)
    p.add_argument("--chunks", type=int, default=3)
    p.add_argument("--size", type=int, default=1 << 20)
    p.add_argument("--retrans", type=int, default=3)
    a = p.parse_args()
    socket.setdefaulttimeout(TIMEOUT)
    ROLES[a.role](a)


if __name__ == "__main__":
    main()
