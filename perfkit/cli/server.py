"""`perfkit server start|stop|status`: manage the embedded PostgreSQL."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from perfkit.cli._common import console, data_dir_option
from perfkit.db import DEFAULT_DBNAME as DATABASE
from perfkit.db import ensure_database
from perfkit.server import SUPERUSER, EmbeddedServer


def _connect_hint(srv: EmbeddedServer, port: int) -> str:
    """How to connect with psql: the private Unix socket needs no password; TCP reads it from the data folder."""
    return (
        f"connect: psql 'host={srv.socket_dir} port={port} user={SUPERUSER} dbname={DATABASE}' (Unix socket, no"
        f" password; over TCP, 127.0.0.1:{port}, the password is in {srv.base_dir / 'password'})"
    )


@click.group()
def server() -> None:
    """Manage the embedded PostgreSQL server."""


@server.command("start")
@data_dir_option
def server_start(data_dir: Path | None) -> None:
    """Start the embedded server (initialising it on first use) and keep it running until `perfkit server stop`."""
    srv = EmbeddedServer(data_dir)
    info = srv.start(keep=True)
    ensure_database(info.conninfo("postgres"), DATABASE)
    console.print(f"embedded PostgreSQL {srv.binaries.version} running on 127.0.0.1:{info.port} (data: {srv.base_dir})")
    console.print(_connect_hint(srv, info.port), soft_wrap=True)


@server.command("stop")
@data_dir_option
def server_stop(data_dir: Path | None) -> None:
    """Stop the embedded server (also under perfkit commands still using it: they then fail)."""
    srv = EmbeddedServer(data_dir)
    users = srv.users() if srv.status().running else []
    stopped = srv.stop()
    console.print("stopped" if stopped else "not running")
    if stopped and users:
        pids = ", ".join(map(str, users))
        console.print(f"note: {len(users)} perfkit command(s) were still using it (pid {pids}); they will fail")


@server.command("status")
@data_dir_option
def server_status(data_dir: Path | None) -> None:
    """Say whether the embedded server runs, where, and as whom (exit status 3 when it does not, like pg_ctl)."""
    srv = EmbeddedServer(data_dir)
    st = srv.status()
    if st.running:
        console.print(
            f"running: PostgreSQL {st.version}, pid {st.pid}, 127.0.0.1:{st.port}, as {st.run_as}, data {st.base_dir}",
            soft_wrap=True,
        )
        if st.port is not None:
            console.print(_connect_hint(srv, st.port), soft_wrap=True)
        if st.transient:
            console.print("started by a perfkit command: it stops when the last command using it ends")
        else:
            console.print("kept running (perfkit server start, or a start from Python): perfkit server stop stops it")
    else:
        where = f"data {st.base_dir}" if srv.initialized() else f"no cluster in {st.base_dir} yet: a command creates it"
        console.print(f"not running ({where})", soft_wrap=True)
        sys.exit(3)
