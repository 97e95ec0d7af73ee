"""Opening a per-machine SQLite cache (the hash cache, the local index view) the one way both
need. A cache only ever saves work, so: a file that is not this cache (not a database, damaged,
another schema) is set aside as ``<name>.corrupt`` and rebuilt; a file that cannot be used at all
(a read-only or full disk, a lock held past the timeout, a folder where the file should be) is
left alone and the command gets a cache in memory instead."""
from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Callable, Optional, Tuple

MEMORY = ":memory:"


class NotThisCache(Exception):
    """The file holds a database, but not this cache (another tool's, an old schema)."""


def open_cache(path: str, connect: Callable[[str], sqlite3.Connection]
               ) -> Tuple[sqlite3.Connection, str, Optional[BaseException]]:
    """``(connection, the path in use, why the file could not be used or None)``. ``connect``
    opens one path and raises :class:`NotThisCache` for a database of another kind."""
    if path == MEMORY:
        return connect(MEMORY), MEMORY, None
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        try:
            return connect(path), path, None
        except (NotThisCache, sqlite3.DatabaseError) as exc:
            if isinstance(exc, sqlite3.OperationalError):
                raise  # locked, read-only, full: the file may be fine, never rename it
            _set_aside(path)
            return connect(path), path, None
    except (OSError, sqlite3.Error, NotThisCache) as exc:
        return connect(MEMORY), MEMORY, exc


def wal_connect(path: str, timeout_s: float) -> sqlite3.Connection:
    """A connection in autocommit mode (explicit ``BEGIN``), WAL on disk so readers never wait
    for a writer, and a busy timeout for writers."""
    db = sqlite3.connect(path, timeout=timeout_s, isolation_level=None, check_same_thread=False)
    try:
        db.execute(f"PRAGMA busy_timeout={int(timeout_s * 1000)}")
        if path != MEMORY:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
    except BaseException:
        db.close()
        raise
    return db


def _set_aside(path: str) -> None:
    for suffix in ("", "-wal", "-shm"):
        try:
            os.replace(path + suffix, path + suffix + ".corrupt")
        except OSError:
            pass
