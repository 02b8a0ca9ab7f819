"""Which server runs a connector's data dir, and on which database.

`gemello connector serve` writes `server.json` into the data dir (pid, host, the database URL
with its password hidden) and removes it when it stops. Every other command on that partner
reads it: a command that would open another database than the running server's refuses,
naming both and the setting that differs (with GEMELLO_DATABASE_URL set for the server only,
`gemello user add` in another shell once wrote to the SQLite file, and its token was unknown to
the server).
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import make_url
from sqlalchemy.exc import ArgumentError

from connector.settings import ConfigError, Settings, database_source

MARKER = "server.json"


def shown(url: str) -> str:
    """A database URL with its password hidden."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


@dataclass(frozen=True)
class RunningServer:
    """What a running server wrote about itself."""

    pid: int
    host: str
    database: str


def _alive(server: RunningServer) -> bool:
    if server.host != socket.gethostname():
        return True  # another machine's process (a shared data dir): take its word
    try:
        os.kill(server.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a killed server its parent has not reaped yet is a zombie: gone all the same
        state = Path(f"/proc/{server.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def mark(settings: Settings) -> Path:
    """Record this process as the server of the data dir."""
    path = settings.resolved_data_dir / MARKER
    body = {"pid": os.getpid(), "host": socket.gethostname(), "database": shown(settings.db_url)}
    tmp = path.with_name(MARKER + ".tmp")
    tmp.write_text(json.dumps(body))
    tmp.replace(path)
    return path


def unmark(settings: Settings) -> None:
    """Remove this process's record (not another's)."""
    path = settings.resolved_data_dir / MARKER
    server = running(settings)
    if server is not None and server.pid == os.getpid():
        path.unlink(missing_ok=True)


def running(settings: Settings) -> RunningServer | None:
    """The live server of this data dir, if any (a record left by a dead one is ignored)."""
    try:
        body = json.loads((settings.resolved_data_dir / MARKER).read_text())
        server = RunningServer(int(body["pid"]), str(body["host"]), str(body["database"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return server if _alive(server) else None


def check_same_database(settings: Settings) -> None:
    """ConfigError when a running server of this partner uses another database than these
    settings would: the command would read or write a store the server never sees."""
    server = running(settings)
    if server is None or server.database == shown(settings.db_url):
        return
    raise ConfigError(
        f"the {settings.partner} connector running as pid {server.pid} uses the database "
        f"{server.database}, but this command would use {shown(settings.db_url)} (from "
        f"{database_source(settings)}): set the same GEMELLO_DATABASE_URL here, or put "
        f"database_url in {settings.config_file} so the server and the CLI both find it"
    )
