"""The per-machine hash cache: a file whose path, size, mtime_ns and inode have not changed is
never read again. SQLite in WAL mode, so many cloudsubmit processes on one workstation (a panel, a
CLI, eight DAG nodes) can read and write it at once; lookups are bulk so a 10,000-file scene costs
a dozen queries.

Two tables, because two kinds of knowledge must never be confused. ``hashes`` holds hashes this
machine computed by reading the whole file: ``upload --recheck`` and ``trust_team_index: never``
use only those. ``probed`` holds teammates' claims this machine confirmed with a probe (three
4 KiB windows, store/claims.py): weaker knowledge, so a row is keyed by ctime too (a file
rewritten in place with its old mtime put back has a new ctime), carries the probe it matched,
and is only used again while the team index still makes that same sole claim with that same
probe; it spares the probe's reads, never the index's word. A file hashed here later shadows and
removes its probed row. Old clients see only ``hashes``, which keeps its schema.

The cache is disposable: a file that is not a cache (corrupt, or another
schema) is set aside and rebuilt; a cache that cannot be opened or written at all (a full disk, a
read-only folder, a cache folder that is a file) is replaced by one in memory for this run, and the
good file on disk is left alone."""
from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path
from typing import Dict, Iterable, List, NamedTuple, Optional, Protocol, Sequence, Tuple

from .cachedb import NotThisCache, open_cache, wal_connect
from .dirs import user_cache_dir

_BATCH = 900  # stays under SQLite's historic 999 host-parameter limit
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS hashes (path TEXT PRIMARY KEY, size INTEGER NOT NULL, "
    "mtime_ns INTEGER NOT NULL, inode INTEGER NOT NULL, hash TEXT NOT NULL) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS probed (path TEXT PRIMARY KEY, size INTEGER NOT NULL, "
    "mtime_ns INTEGER NOT NULL, inode INTEGER NOT NULL, ctime_ns INTEGER NOT NULL, hash TEXT NOT NULL, "
    "probe TEXT NOT NULL) WITHOUT ROWID",
)
_COLUMNS = {"hashes": ["path", "size", "mtime_ns", "inode", "hash"],
            "probed": ["path", "size", "mtime_ns", "inode", "ctime_ns", "hash", "probe"]}


class FileStat(NamedTuple):
    """What identifies one version of a file without reading it."""

    path: str
    size: int
    mtime_ns: int
    inode: int
    ctime_ns: int = 0  # keys only the probed rows (see the module docstring)

    @classmethod
    def of(cls, path: str) -> "FileStat":
        st = os.stat(path)
        return cls(path, st.st_size, st.st_mtime_ns, st.st_ino % (1 << 63), st.st_ctime_ns)


class Versioned(Protocol):
    """What a lookup reads of a file's version: :class:`FileStat`'s fields."""

    @property
    def path(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def mtime_ns(self) -> int: ...
    @property
    def inode(self) -> int: ...
    @property
    def ctime_ns(self) -> int: ...


def default_cache_path() -> Path:
    return user_cache_dir() / "hashes.sqlite"


class HashCache:
    """``lookup`` answers in bulk; ``put_many`` records hashes. Thread-safe within a process and
    safe across processes (WAL, busy timeout). Writes that fail (disk full, a lock held for
    minutes) are dropped: the cache only ever saves work, it never decides anything."""

    def __init__(self, path: Optional[str] = None) -> None:
        self.path = str(path) if path else str(default_cache_path())
        self._lock = threading.Lock()
        self._db = self._open()

    def _open(self) -> sqlite3.Connection:
        """The cache on disk; a file that is not one is set aside and rebuilt. Anything that
        prevents using the disk gives an in-memory cache instead, never a renamed good file."""
        db, self.path, _why = open_cache(self.path, self._connect)
        return db

    @staticmethod
    def _connect(path: str) -> sqlite3.Connection:
        db = wal_connect(path, 30.0)
        try:
            for sql in _SCHEMA:
                db.execute(sql)
            for table, want in _COLUMNS.items():
                columns = [row[1] for row in db.execute(f"PRAGMA table_info({table})")]
                if columns != want:
                    raise NotThisCache(f"{table} table has columns {columns}")
        except BaseException:
            db.close()
            raise
        return db

    def lookup(self, stats: Sequence["Versioned"]) -> Dict[str, str]:
        """``{path: hash}`` for every stat whose size, mtime and inode match the row this machine
        wrote when it hashed the file. ``stats``: :class:`FileStat` or anything with its fields
        (a resolve passes its file states as they are: no object per file is built to ask)."""
        want = {s.path: s for s in stats}
        found: Dict[str, str] = {}
        for path, size, mtime_ns, inode, digest in self._rows("path, size, mtime_ns, inode, hash", "hashes", want):
            s = want[path]
            if s.size == size and s.mtime_ns == mtime_ns and s.inode == inode and isinstance(digest, str):
                found[path] = digest
        return found

    def probed(self, stats: Sequence["Versioned"]) -> Dict[str, Tuple[str, str]]:
        """``{path: (hash, probe)}``: teammates' claims this machine confirmed with a probe, for
        every stat whose size, mtime, inode and ctime match the row (the caller still checks the
        index makes that claim with that probe)."""
        want = {s.path: s for s in stats}
        found: Dict[str, Tuple[str, str]] = {}
        for path, size, mtime_ns, inode, ctime_ns, digest, probe in self._rows(
                "path, size, mtime_ns, inode, ctime_ns, hash, probe", "probed", want):
            s = want[path]
            if s.size == size and s.mtime_ns == mtime_ns and s.inode == inode and s.ctime_ns == ctime_ns != 0:
                found[path] = (digest, probe)
        return found

    def _rows(self, columns: str, table: str, paths: Iterable[str]) -> List[tuple]:
        """The rows of ``table`` for ``paths``, one query per batch of host parameters."""
        wanted = list(paths)
        rows: List[tuple] = []
        with self._lock:
            for i in range(0, len(wanted), _BATCH):
                chunk = wanted[i:i + _BATCH]
                try:
                    rows += self._db.execute(f"SELECT {columns} FROM {table} WHERE path IN "
                                             f"({','.join('?' * len(chunk))})", chunk).fetchall()
                except sqlite3.Error:  # an I/O error mid-run: these files are simply hashed
                    continue
        return rows

    def put_many(self, rows: Iterable[tuple]) -> None:
        """Record ``(FileStat, hash)`` pairs this machine hashed, in one transaction; a probed
        row of the same path is dropped (what was read whole here is the better knowledge)."""
        data: List[tuple] = [(s.path, s.size, s.mtime_ns, s.inode, h) for s, h in rows]
        self._write(("INSERT OR REPLACE INTO hashes VALUES (?, ?, ?, ?, ?)", data),
                    ("DELETE FROM probed WHERE path = ?", [row[:1] for row in data]))

    def put_probed(self, rows: Iterable[Tuple[FileStat, str, str]]) -> None:
        """Record ``(FileStat, hash, probe)``: claims this machine's probe of the file confirmed."""
        data = [(s.path, s.size, s.mtime_ns, s.inode, s.ctime_ns, h, p) for s, h, p in rows if s.ctime_ns and p]
        self._write(("INSERT OR REPLACE INTO probed VALUES (?, ?, ?, ?, ?, ?, ?)", data))

    def _write(self, *steps: Tuple[str, List[tuple]]) -> None:
        """Every step's rows in one transaction, or nothing (a failed write is dropped)."""
        if not steps[0][1]:
            return
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                for sql, data in steps:
                    self._db.executemany(sql, data)
                self._db.execute("COMMIT")
            except sqlite3.Error:
                try:
                    self._db.execute("ROLLBACK")
                except sqlite3.Error:
                    pass

    def close(self) -> None:
        with self._lock:
            self._db.close()
