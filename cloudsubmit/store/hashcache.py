"""The per-machine hash cache: a file whose path, size, mtime_ns and inode have not changed is
never read again. SQLite in WAL mode, so many cloudsubmit processes on one workstation (a panel, a
CLI, eight DAG nodes) can read and write it at once; lookups are bulk so a 10,000-file scene costs
a dozen queries. The cache is disposable: a file that is not a cache (corrupt, or another
schema) is set aside and rebuilt; a cache that cannot be opened or written at all (a full disk, a
read-only folder, a cache folder that is a file) is replaced by one in memory for this run, and the
good file on disk is left alone."""
from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path
from typing import Dict, Iterable, List, NamedTuple, Optional, Sequence

from .cachedb import NotThisCache, open_cache, wal_connect
from .dirs import user_cache_dir

_BATCH = 900  # stays under SQLite's historic 999 host-parameter limit
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS hashes (path TEXT PRIMARY KEY, size INTEGER NOT NULL, "
    "mtime_ns INTEGER NOT NULL, inode INTEGER NOT NULL, hash TEXT NOT NULL) WITHOUT ROWID"
)
_COLUMNS = ["path", "size", "mtime_ns", "inode", "hash"]


class FileStat(NamedTuple):
    """What identifies one version of a file without reading it."""

    path: str
    size: int
    mtime_ns: int
    inode: int

    @classmethod
    def of(cls, path: str) -> "FileStat":
        st = os.stat(path)
        return cls(path, st.st_size, st.st_mtime_ns, st.st_ino % (1 << 63))


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
            db.execute(_SCHEMA)
            columns = [row[1] for row in db.execute("PRAGMA table_info(hashes)")]
            if columns != _COLUMNS:
                raise NotThisCache(f"hashes table has columns {columns}")
        except BaseException:
            db.close()
            raise
        return db

    def lookup(self, stats: Sequence[FileStat]) -> Dict[str, str]:
        """``{path: hash}`` for every stat whose size, mtime and inode match the cached row."""
        want = {s.path: s for s in stats}
        found: Dict[str, str] = {}
        paths = list(want)
        with self._lock:
            for i in range(0, len(paths), _BATCH):
                chunk = paths[i:i + _BATCH]
                marks = ",".join("?" * len(chunk))
                try:
                    rows = self._db.execute(
                        f"SELECT path, size, mtime_ns, inode, hash FROM hashes WHERE path IN ({marks})", chunk
                    ).fetchall()
                except sqlite3.Error:  # an I/O error mid-run: these files are simply hashed
                    continue
                for path, size, mtime_ns, inode, digest in rows:
                    s = want[path]
                    if (s.size, s.mtime_ns, s.inode) == (size, mtime_ns, inode) and isinstance(digest, str):
                        found[path] = digest
        return found

    def put_many(self, rows: Iterable[tuple]) -> None:
        """Record ``(FileStat, hash)`` pairs in one transaction."""
        data: List[tuple] = [(s.path, s.size, s.mtime_ns, s.inode, h) for s, h in rows]
        if not data:
            return
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.executemany("INSERT OR REPLACE INTO hashes VALUES (?, ?, ?, ?, ?)", data)
                self._db.execute("COMMIT")
            except sqlite3.Error:
                try:
                    self._db.execute("ROLLBACK")
                except sqlite3.Error:
                    pass

    def close(self) -> None:
        with self._lock:
            self._db.close()
