"""The embedded PostgreSQL: find the binaries, initdb, start, stop and report status of a private cluster."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pwd
import re
import secrets
import shlex
import shutil
import socket
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from perfkit import _server_leases as leases
from perfkit.errors import ServerError

SUPERUSER = "perfkit"
INSTALL_HINT = (
    "no PostgreSQL server binaries found (initdb, pg_ctl, postgres): install them "
    "(Debian/Ubuntu: apt-get install postgresql; macOS: brew install postgresql) "
    "or pass --dsn / set PERFKIT_DSN to use an existing server"
)
_REQUIRED = ("initdb", "pg_ctl", "postgres")
# Settings for a throwaway benchmark cluster: durability off (data is re-seedable), memory sized for a laptop.
SERVER_SETTINGS: dict[str, str] = {
    "listen_addresses": "127.0.0.1",
    "shared_buffers": "512MB",
    "maintenance_work_mem": "512MB",
    "max_wal_size": "8GB",
    "checkpoint_timeout": "30min",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    # No WAL for COPY into a table truncated in the same transaction, nor for index builds: seeds load ~2x faster.
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "max_connections": "60",
    "logging_collector": "off",
}


@dataclass(frozen=True, slots=True)
class Binaries:
    """A directory holding initdb, pg_ctl and postgres, and the server's major version."""

    bindir: Path
    version: str

    def tool(self, name: str) -> str:
        """Full path of one server program."""
        return str(self.bindir / name)


@dataclass(frozen=True, slots=True)
class ServerStatus:
    """What `perfkit server status` reports."""

    running: bool
    base_dir: Path
    pid: int | None
    port: int | None
    version: str | None
    run_as: str
    #: Started by a command: stops when the last command using it ends (else kept until `perfkit server stop`).
    transient: bool = False


@dataclass(frozen=True, slots=True)
class ServerInfo:
    """How to reach a running embedded server (the password stays out of repr)."""

    base_dir: Path
    port: int
    user: str
    password: str

    def __repr__(self) -> str:
        return f"ServerInfo(base_dir={self.base_dir!s}, port={self.port}, user={self.user})"

    def conninfo(self, dbname: str = "postgres") -> str:
        """A libpq connection string over TCP to 127.0.0.1."""
        return f"host=127.0.0.1 port={self.port} user={self.user} password={self.password} dbname={dbname}"


def _has_tools(d: Path) -> bool:
    return all((d / t).is_file() and os.access(d / t, os.X_OK) for t in _REQUIRED)


def _version_of(bindir: Path) -> str:
    out = subprocess.run([str(bindir / "postgres"), "--version"], capture_output=True, text=True, check=False).stdout
    m = re.search(r"(\d+)(?:\.(\d+))?", out)
    if not m:
        raise ServerError(f"cannot read the server version from {bindir / 'postgres'}")
    return m.group(0)


def find_binaries(explicit: str | os.PathLike[str] | None = None) -> Binaries:
    """Locate server binaries: explicit dir, PERFKIT_PG_BINDIR, PATH, pg_config --bindir, newest /usr/lib/postgresql."""
    for given, what in ((explicit, "the given folder"), (os.environ.get("PERFKIT_PG_BINDIR"), "PERFKIT_PG_BINDIR")):
        if given:  # an explicit choice is never silently replaced by another installation
            d = Path(given)
            if not _has_tools(d):
                raise ServerError(f"no PostgreSQL server binaries in {d} ({what}): it needs {', '.join(_REQUIRED)}")
            return Binaries(d, _version_of(d))
    candidates: list[Path] = []
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    pg_config = shutil.which("pg_config")
    if pg_config:
        res = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        if res.returncode == 0 and res.stdout.strip():
            candidates.append(Path(res.stdout.strip()))

    def _major(p: Path) -> int:
        try:
            return int(p.parent.name)
        except ValueError:
            return -1

    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_major, reverse=True)
    for d in candidates:
        if _has_tools(d):
            return Binaries(d, _version_of(d))
    raise ServerError(INSTALL_HINT)


def default_base_dir() -> Path:
    """The cluster's folder: PERFKIT_DATA_DIR, else a per-user cache folder reachable by the server user."""
    env = os.environ.get("PERFKIT_DATA_DIR")
    if env:
        return Path(env).expanduser().absolute()
    if os.geteuid() == 0:
        # root's home is private (0700), and the server must run as an unprivileged user who can reach it.
        return Path("/var/tmp/perfkit-root/cluster")  # noqa: S108
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "perfkit" / "cluster"


def _server_account() -> pwd.struct_passwd | None:
    """The unprivileged account to run the server as when perfkit runs as root (None otherwise)."""
    if os.geteuid() != 0:
        return None
    wanted = os.environ.get("PERFKIT_SERVER_USER")
    names = [wanted] if wanted else ["postgres", "nobody"]
    for name in names:
        try:
            account = pwd.getpwnam(name)
        except KeyError:
            continue
        if account.pw_uid == 0:
            raise ServerError(f"PERFKIT_SERVER_USER={name} is root, and PostgreSQL refuses to run as root")
        return account
    if wanted:
        raise ServerError(f"PERFKIT_SERVER_USER={wanted}: no such user (create it, or unset it to use 'postgres')")
    raise ServerError(
        "running as root, and no unprivileged account to run PostgreSQL as "
        "(create a 'postgres' user or set PERFKIT_SERVER_USER)"
    )


def _run(cmd: list[str], account: pwd.struct_passwd | None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    kwargs: dict[str, object] = {}
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C.UTF-8"
    if account is not None:
        kwargs = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
        env["HOME"] = account.pw_dir
    try:
        res: subprocess.CompletedProcess[str] = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            check=False,
            env=env,
            timeout=timeout,
            cwd="/",
            **kwargs,  # type: ignore[call-overload]
        )
        return res
    except subprocess.TimeoutExpired as exc:
        raise ServerError(f"{Path(cmd[0]).name} did not finish within {timeout:.0f} s") from exc


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


#: One dict per open `command_scope()`: the servers started (or found running) inside it, by folder.
_SCOPES: list[dict[Path, EmbeddedServer]] = []


@contextlib.contextmanager
def command_scope(stopped: Callable[[EmbeddedServer], None] | None = None) -> Iterator[None]:
    """Run one command: an embedded server it starts is stopped at its end, unless another command still uses it
    (`stopped` is told of each server stopped)."""
    used: dict[Path, EmbeddedServer] = {}
    _SCOPES.append(used)
    try:
        yield
    finally:
        _SCOPES.remove(used)
        for server in used.values():
            if server.release() and stopped is not None:
                stopped(server)


class EmbeddedServer:
    """A private PostgreSQL cluster under `base_dir` (pgdata/, server.log, state.json, password)."""

    def __init__(self, base_dir: Path | None = None, bindir: str | None = None) -> None:
        self.base_dir = (base_dir or default_base_dir()).absolute()
        self._bindir = bindir
        self._bins: Binaries | None = None
        self.account = _server_account()

    # -- paths ---------------------------------------------------------------------------------
    @property
    def pgdata(self) -> Path:
        return self.base_dir / "pgdata"

    @property
    def log_path(self) -> Path:
        return self.base_dir / "server.log"

    @property
    def _state_path(self) -> Path:
        return self.base_dir / "state.json"

    @property
    def _password_path(self) -> Path:
        return self.base_dir / "password"

    @property
    def socket_dir(self) -> Path:
        return self.base_dir / "socket"

    @property
    def binaries(self) -> Binaries:
        if self._bins is None:
            self._bins = find_binaries(self._bindir)
        return self._bins

    def _run_as(self) -> str:
        return self.account.pw_name if self.account else pwd.getpwuid(os.geteuid()).pw_name

    # -- helpers -------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        with (self.base_dir / ".lock").open("w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _chown(self, path: Path) -> None:
        if self.account is not None:
            os.chown(path, self.account.pw_uid, self.account.pw_gid)

    def _check_reachable(self) -> None:
        """As root, the server account must be able to traverse to base_dir."""
        if self.account is None:
            return
        for parent in reversed(self.base_dir.parents):
            st = parent.stat()
            if not st.st_mode & 0o001 and st.st_uid != self.account.pw_uid:
                raise ServerError(
                    f"the server runs as '{self.account.pw_name}', who cannot reach {self.base_dir} "
                    f"({parent} is private); choose another --data-dir / PERFKIT_DATA_DIR"
                )

    def _read_state(self) -> dict[str, object]:
        try:
            data = json.loads(self._state_path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _write_state(self, state: dict[str, object]) -> None:
        tmp = self._state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        tmp.replace(self._state_path)

    def _password(self) -> str:
        return self._password_path.read_text().strip()

    def _pid(self) -> int | None:
        """PID of a live postmaster for this data dir, or None (a stale postmaster.pid counts as none)."""
        try:
            first = (self.pgdata / "postmaster.pid").read_text().splitlines()[0]
            pid = int(first)
        except (OSError, ValueError, IndexError):
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return None
            except PermissionError:
                return pid
            return pid
        return pid if b"postgres" in cmdline or b"postmaster" in cmdline else None

    # -- lifecycle -----------------------------------------------------------------------------
    @property
    def _leases(self) -> Path:
        return self.base_dir / "leases"

    @property
    def _initialized_marker(self) -> Path:
        return self.base_dir / ".initialized"

    def initialized(self) -> bool:
        """True once initdb completed; an initdb cut short (Ctrl-C, crash) leaves no marker and is redone."""
        return (
            self._initialized_marker.is_file()
            and (self.pgdata / "PG_VERSION").is_file()
            and self._password_path.is_file()
        )

    def init(self) -> None:
        """Create the cluster (initdb) with a random superuser password; TCP needs it, the socket is private."""
        self._check_reachable()
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.base_dir.chmod(0o700)
        self._chown(self.base_dir)
        self._initialized_marker.unlink(missing_ok=True)
        if self.pgdata.exists():  # left by an initdb that was cut short
            shutil.rmtree(self.pgdata)
        password = secrets.token_urlsafe(24)
        self._password_path.write_text(password + "\n")
        self._password_path.chmod(0o600)
        pwfile = self.base_dir / ".pwfile"
        pwfile.write_text(password + "\n")
        pwfile.chmod(0o600)
        self._chown(pwfile)
        self.socket_dir.mkdir(exist_ok=True)
        self.socket_dir.chmod(0o700)
        self._chown(self.socket_dir)
        try:
            res = _run(
                [
                    self.binaries.tool("initdb"),
                    "-D",
                    str(self.pgdata),
                    "-U",
                    SUPERUSER,
                    f"--pwfile={pwfile}",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                    "--no-sync",
                ],
                self.account,
            )
        finally:
            pwfile.unlink(missing_ok=True)
        if res.returncode != 0:
            last = (res.stderr.strip().splitlines() or ["unknown error"])[-1]
            raise ServerError(f"initdb failed: {last}")
        self._initialized_marker.write_text(self.binaries.version + "\n")

    def _preload(self) -> str:
        pg_config = self.binaries.bindir / "pg_config"
        if pg_config.exists():
            res = _run([str(pg_config), "--pkglibdir"], None)
            libdir = Path(res.stdout.strip())
            if (libdir / "pg_stat_statements.so").exists():
                return "pg_stat_statements"
        return ""

    def start(self, timeout: float = 60, *, keep: bool | None = None) -> ServerInfo:
        """Start the cluster (initialising it first if needed); a no-op when it already runs.

        Inside `command_scope()` (every CLI command) the server is leased and, if this start launched it, stopped
        again when the last command using it ends. `keep=True` (`perfkit server start`), or a start outside any
        scope, keeps it running until `stop()`.
        """
        scope = _SCOPES[-1] if _SCOPES and not keep else None
        with self._lock():
            info = self._start_locked(timeout, transient=scope is not None)
            state = self._read_state()
            if scope is None:
                if state.get("transient"):  # kept from now on: whoever started it outside a command stops it
                    self._write_state({**state, "transient": False})
            else:
                leases.take(self._leases)
                scope.setdefault(self.base_dir, self)
            return info

    def users(self) -> list[int]:
        """Pids of the live perfkit commands (other than this process) using the server."""
        return [pid for pid in leases.holders(self._leases) if pid != os.getpid()]

    def release(self) -> bool:
        """Drop this process's lease; stop the server if a command started it and no live process holds one."""
        with self._lock():
            leases.drop(self._leases)
            if not self._read_state().get("transient") or leases.holders(self._leases):
                return False
            return self._stop_locked(60)

    def _start_locked(self, timeout: float, *, transient: bool) -> ServerInfo:
        if not self.initialized():
            if self._pid() is not None and self._password_path.is_file():
                # a running cluster from before the marker existed: initdb evidently completed
                self._initialized_marker.write_text(self.binaries.version + "\n")
            else:
                self.init()
        pid = self._pid()
        state = self._read_state()
        if pid is not None and isinstance(state.get("port"), int):
            return self.info()
        stale = self.pgdata / "postmaster.pid"
        if stale.exists():  # left behind by a crash: the process is gone
            stale.unlink()
        port = state.get("port")
        if not isinstance(port, int) or not _port_free(port):
            port = _free_port()
        # pg_ctl hands these to /bin/sh: quoted, a folder with a space in its name works
        opts = [f"-p {port}", f"-k {shlex.quote(str(self.socket_dir))}"]
        for key, value in SERVER_SETTINGS.items():
            opts.append(f"-c {shlex.quote(f'{key}={value}')}")
        preload = self._preload()
        if preload:
            opts.append(f"-c {shlex.quote(f'shared_preload_libraries={preload}')}")
        self.log_path.touch()
        self._chown(self.log_path)
        logged = self.log_path.stat().st_size  # an error is told from this start's lines, not an older shutdown's
        res = _run(
            [
                self.binaries.tool("pg_ctl"),
                "start",
                "-w",
                "-t",
                str(int(timeout)),
                "-D",
                str(self.pgdata),
                "-l",
                str(self.log_path),
                "-o",
                " ".join(opts),
            ],
            self.account,
            timeout=timeout + 10,
        )
        if res.returncode != 0:
            tail = self.log_tail(3, since=logged)
            raise ServerError(f"the embedded server did not start (see {self.log_path}): {tail or res.stderr.strip()}")
        self._write_state(
            {
                "port": port,
                "version": self.binaries.version,
                "bindir": str(self.binaries.bindir),
                "transient": transient,
            }
        )
        return self.info()

    def info(self) -> ServerInfo:
        """Connection details of the running cluster."""
        state = self._read_state()
        port = state.get("port")
        if self._pid() is None or not isinstance(port, int):
            raise ServerError("the embedded server is not running (perfkit server start)")
        return ServerInfo(self.base_dir, port, SUPERUSER, self._password())

    def stop(self, timeout: float = 60) -> bool:
        """Stop the cluster (fast shutdown); returns False when it was not running."""
        with self._lock():
            return self._stop_locked(timeout)

    def _stop_locked(self, timeout: float) -> bool:
        if self._pid() is None:
            (self.pgdata / "postmaster.pid").unlink(missing_ok=True)
            return False
        res = _run(
            [
                self.binaries.tool("pg_ctl"),
                "stop",
                "-w",
                "-m",
                "fast",
                "-t",
                str(int(timeout)),
                "-D",
                str(self.pgdata),
            ],
            self.account,
            timeout=timeout + 10,
        )
        if res.returncode != 0 and self._pid() is not None:
            raise ServerError(f"pg_ctl stop failed: {res.stderr.strip()}")
        return True

    def status(self) -> ServerStatus:
        state = self._read_state()
        pid = self._pid()
        port = state.get("port")
        version = state.get("version")
        return ServerStatus(
            running=pid is not None,
            base_dir=self.base_dir,
            pid=pid,
            port=port if isinstance(port, int) and pid is not None else None,
            version=version if isinstance(version, str) else None,
            run_as=self._run_as(),
            transient=pid is not None and bool(state.get("transient")),
        )

    def destroy(self) -> None:
        """Stop the cluster and delete its folder."""
        self.stop()
        shutil.rmtree(self.base_dir, ignore_errors=True)

    def log_tail(self, lines: int = 5, *, since: int = 0) -> str:
        """The last `lines` lines of the server log written after byte `since`, joined on one line."""
        try:
            with self.log_path.open("rb") as fh:
                fh.seek(since)
                text = fh.read().decode(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return " | ".join(text[-lines:])
