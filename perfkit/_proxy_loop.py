"""The delay proxy's event loop: one thread, select() with microsecond timeouts, run in its own process."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import heapq
import os
import select
import socket
import sys
import time
from typing import Any

_CHUNK = 262144
_MAX_SOCKETS = 32  # 16 proxied connections
_PR_SET_TIMERSLACK = 29
_SPIN_S = 0.0001  # the last 100 µs before a chunk is due are polled, not slept: wake-ups are late on a busy machine


def realtime() -> None:
    """Wake on time on a busy machine: 1 µs timer slack instead of 50 µs and, where allowed, the lowest real-time
    priority (the loop sleeps between chunks and spins at most ~100 µs per chunk). No-op where unsupported."""
    with contextlib.suppress(OSError, AttributeError):
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))  # type: ignore[attr-defined,unused-ignore]
    name = ctypes.util.find_library("c")
    if name is None or not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(name, use_errno=True).prctl(_PR_SET_TIMERSLACK, 1000, 0, 0, 0)


def _close(s: socket.socket) -> None:
    with contextlib.suppress(OSError):
        s.close()


def serve(listener: socket.socket, upstream: tuple[str, int], delay_s: float, lifetime_s: float, control: int) -> None:
    """Forward connections accepted on `listener` to `upstream`, each chunk sent `delay_s` after it arrived.

    Returns when `control` (a pipe from the parent) reaches end of file, or after `lifetime_s` seconds.
    """
    realtime()
    partner: dict[socket.socket, socket.socket] = {}
    due: list[tuple[float, int, socket.socket, bytes]] = []  # (send at, sequence, destination, data; b"" = EOF)
    seq = 0
    ends = time.monotonic() + lifetime_s
    while time.monotonic() < ends:
        timeout = max(0.0, due[0][0] - time.perf_counter() - _SPIN_S) if due else 0.25
        watched: list[Any] = [listener, control, *partner]
        readable, _, _ = select.select(watched, [], [], timeout)
        now = time.perf_counter()
        for s in readable:
            if s == control:
                if not os.read(control, 64):
                    return
            elif s is listener:
                client, _ = listener.accept()
                if len(partner) >= _MAX_SOCKETS:
                    _close(client)
                    continue
                try:
                    server = socket.create_connection(upstream, timeout=10)
                except OSError:
                    _close(client)
                    continue
                for x in (client, server):
                    x.settimeout(None)
                    x.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                partner[client], partner[server] = server, client
            elif isinstance(s, socket.socket) and s in partner:
                try:
                    data = s.recv(_CHUNK)
                except OSError:
                    data = b""
                seq += 1
                heapq.heappush(due, (now + delay_s, seq, partner[s], data))
                if not data:
                    del partner[s]  # stop reading it; the pair closes once the EOF is delivered
        if due and not readable:
            while due[0][0] > time.perf_counter():  # the spin: at most _SPIN_S plus one late wake-up
                pass
        while due and due[0][0] <= time.perf_counter():
            _at, _seq, dst, data = heapq.heappop(due)
            if dst.fileno() == -1:
                continue
            try:
                if data:
                    dst.sendall(data)
                    continue
            except OSError:
                pass
            other = partner.pop(dst, None)
            _close(dst)
            if other is not None:
                partner.pop(other, None)
                _close(other)


def main(argv: list[str]) -> int:
    """`python -m perfkit._proxy_loop HOST PORT RTT_MS LIFETIME_S`: print the listening port, serve until stdin ends."""
    host, port, rtt_ms, lifetime_s = argv[0], int(argv[1]), float(argv[2]), float(argv[3])
    listener = socket.create_server(("127.0.0.1", 0))
    print(listener.getsockname()[1], flush=True)
    try:
        serve(listener, (host, port), rtt_ms / 2000.0, lifetime_s, sys.stdin.fileno())
    finally:
        _close(listener)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
