"""A loopback TCP proxy that delays each direction by half a round-trip time, to test latency models for real."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from pathlib import Path
from types import TracebackType

from perfkit.errors import ConfigError, PerfkitError

__all__ = ["MAX_RTT_MS", "DelayProxy", "ProxyError"]

MAX_RTT_MS = 1000.0
"""The largest round-trip time the proxy adds: it simulates networks, it is not a way to stall a server."""
DEFAULT_LIFETIME_S = 600.0


class ProxyError(PerfkitError):
    """The delay proxy could not start."""


class DelayProxy:
    """Listen on 127.0.0.1 (a free port) and forward each connection to `upstream`, delaying each direction by
    `rtt_ms / 2`, so that every request/response exchange takes `rtt_ms` longer than a direct one.

    Each chunk is delayed from the moment it arrived, so a response split in several TCP segments is delayed once,
    not once per segment; TCP_NODELAY is set on both sides so Nagle's algorithm holds nothing back. The proxy runs
    in a child process (one thread, `select` with microsecond timeouts and 1 µs timer slack), so the GIL of the
    process being measured does not delay its forwarding.

    Bounded: `rtt_ms` in [0, 1000], at most 16 connections, and the child stops by itself after `max_lifetime_s`
    or as soon as this process goes away. Use it as a context manager; `close()` stops it.
    """

    def __init__(self, upstream: tuple[str, int], rtt_ms: float, *, max_lifetime_s: float = DEFAULT_LIFETIME_S) -> None:
        if not 0.0 <= rtt_ms <= MAX_RTT_MS:
            raise ConfigError(f"proxy round-trip time must be between 0 and {MAX_RTT_MS:g} ms, got {rtt_ms}")
        if not 0.0 < max_lifetime_s <= 3600.0:
            raise ConfigError(f"proxy lifetime must be in (0, 3600] s, got {max_lifetime_s}")
        self.upstream = upstream
        self.rtt_ms = rtt_ms
        args = [upstream[0], str(upstream[1]), repr(rtt_ms), repr(max_lifetime_s)]
        self._proc = subprocess.Popen(  # our own interpreter and module, no shell
            [sys.executable, "-I", str(Path(__file__).with_name("_proxy_loop.py")), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline().strip()
        if not line.isdigit():
            self.close()
            raise ProxyError(f"the delay proxy did not start (exit code {self._proc.returncode})")
        self.port = int(line)

    def conninfo(self, conninfo: str) -> str:
        """`conninfo` with its host and port replaced by this proxy's."""
        from psycopg.conninfo import conninfo_to_dict, make_conninfo

        params = conninfo_to_dict(conninfo)
        params.pop("hostaddr", None)
        params.update(host="127.0.0.1", port=str(self.port))
        return make_conninfo(**{k: str(v) for k, v in params.items() if v is not None})

    @property
    def running(self) -> bool:
        """Whether the child process is still alive."""
        return self._proc.poll() is None

    def close(self) -> None:
        """Stop the child process (closing its stdin ends its loop), and wait for it."""
        proc = self._proc
        if proc.stdin is not None:
            with contextlib.suppress(OSError):
                proc.stdin.close()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        if proc.stdout is not None:
            proc.stdout.close()

    def __enter__(self) -> DelayProxy:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
