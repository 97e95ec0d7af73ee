"""The per-machine hash cache: a file whose path, size, mtime_ns and inode have not changed is
never read again. SQLite in WAL mode, so many cloudsubmit processes on one workstation (a panel, a
CLI, eight DAG nodes) can read and write it at once.

One row per folder (``folders``): a shot's files share few folders, so a 100,000-file resolve
reads a hundred rows and decodes each with one ``json.loads`` (C speed) instead of binding and
fetching a row per file. A row holds two flat JSON lists, because two kinds of knowledge must
never be confused. ``hashed`` = ``[name, size, mtime_ns, inode, hash, ...]``: hashes this machine
computed by reading the whole file; ``upload --recheck`` and ``trust_team_index: never`` use only
those. ``probed`` = ``[name, size, mtime_ns, inode, ctime_ns, hash, probe, ...]``: teammates'
claims this machine confirmed with a probe (three 4 KiB windows, store/claims.py): weaker
knowledge, so an entry is keyed by ctime too (a file rewritten in place with its old mtime put
back has a new ctime), carries the probe it matched, and is only used again while the team index
still makes that same sole claim with that same probe; it spares the probe's reads, never the
index's word. A file hashed here later shadows and removes its probed entry. Every write reads,
merges and rewrites its folders' rows inside one ``BEGIN IMMEDIATE`` transaction, so two commands
writing the same folder at once both keep their entries.

Caches of older versions (one row per path in ``hashes`` and ``probed``) open as they are: their
rows are moved into ``folders`` when the cache is opened, in one transaction, and the two tables
stay, empty, with their schema (an older cloudsubmit on the same machine still opens the file;
what it writes there is moved over by the next open).

The cache is disposable: a file that is not a cache (corrupt, or another
schema) is set aside and rebuilt; a cache that cannot be opened or written at all (a full disk, a
read-only folder, a cache folder that is a file) is replaced by one in memory for this run, and the
good file on disk is left alone."""
from __future__ import annotations

import json
import os
import sqlite3
import threading
from pathlib import Path
from typing import Callable, Dict, Iterable, Iterator, List, NamedTuple, Optional, Protocol, Sequence, Tuple, TypeVar

from .cachedb import NotThisCache, open_cache, wal_connect
from .dirs import user_cache_dir

_BATCH = 900  # stays under SQLite's historic 999 host-parameter limit
_MOVE = 20_000  # old per-path rows moved into folder rows per step (bounded memory for any cache size)
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS folders (folder TEXT PRIMARY KEY, hashed TEXT NOT NULL, probed TEXT NOT NULL) "
    "WITHOUT ROWID",
    # The layout of older versions: kept (empty) so they still open this file; see the module docstring.
    "CREATE TABLE IF NOT EXISTS hashes (path TEXT PRIMARY KEY, size INTEGER NOT NULL, "
    "mtime_ns INTEGER NOT NULL, inode INTEGER NOT NULL, hash TEXT NOT NULL) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS probed (path TEXT PRIMARY KEY, size INTEGER NOT NULL, "
    "mtime_ns INTEGER NOT NULL, inode INTEGER NOT NULL, ctime_ns INTEGER NOT NULL, hash TEXT NOT NULL, "
    "probe TEXT NOT NULL) WITHOUT ROWID",
)
_COLUMNS = {"folders": ["folder", "hashed", "probed"],
            "hashes": ["path", "size", "mtime_ns", "inode", "hash"],
            "probed": ["path", "size", "mtime_ns", "inode", "ctime_ns", "hash", "probe"]}
HASHED, PROBED = "hashed", "probed"  # the two columns of a folder row
_WIDTH = {HASHED: 4, PROBED: 6}  # values per entry after its name
_Entries = Dict[str, tuple]  # name -> the entry's values after the name, as stored


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
    """``lookup``/``probed`` answer in bulk, a folder row at a time; ``put_many``/``put_probed``
    record. Thread-safe within a process and safe across processes (WAL, busy timeout, every
    read-merge-write in one write transaction). Writes that fail (disk full, a lock held for
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
            _move_old_rows(db)
        except BaseException:
            db.close()
            raise
        return db

    def lookup(self, stats: Sequence["Versioned"]) -> Dict[str, str]:
        """``{path: hash}`` for every stat whose size, mtime and inode match the entry this
        machine wrote when it hashed the file. ``stats``: :class:`FileStat` or anything with its
        fields (a resolve passes its file states as they are: no object per file is built to ask)."""
        return self.known(stats, probed=False)[0]

    def probed(self, stats: Sequence["Versioned"]) -> Dict[str, Tuple[str, str]]:
        """``{path: (hash, probe)}``: teammates' claims this machine confirmed with a probe, for
        every stat whose size, mtime, inode and ctime match the entry (the caller still checks
        the index makes that claim with that probe)."""
        return self.known(stats, hashed=False)[1]

    def known(self, stats: Sequence["Versioned"], hashed: bool = True, probed: bool = True
              ) -> Tuple[Dict[str, str], Dict[str, Tuple[str, str]]]:
        """:meth:`lookup` and :meth:`probed` in one read of the folders' rows (a resolve asks
        both): two answers, never one merged."""
        own: Dict[str, str] = {}
        confirmed: Dict[str, Tuple[str, str]] = {}
        columns = f"{HASHED if hashed else repr('')}, {PROBED if probed else repr('')}"
        for names, hashed_text, probed_text in self._rows(columns, stats):
            if hashed_text:
                for name, size, mtime_ns, inode, digest in _entries(hashed_text, 5):
                    s = names.get(name)
                    if s is not None and s.size == size and s.mtime_ns == mtime_ns and s.inode == inode:
                        own[s.path] = digest
            if probed_text:
                for name, size, mtime_ns, inode, ctime_ns, digest, probe in _entries(probed_text, 7):
                    s = names.get(name)
                    if (s is not None and s.size == size and s.mtime_ns == mtime_ns and s.inode == inode
                            and s.ctime_ns == ctime_ns != 0):
                        confirmed[s.path] = (digest, probe)
        return own, confirmed

    def _rows(self, columns: str, stats: Iterable["Versioned"]) -> Iterator[Tuple[Dict[str, "Versioned"], str, str]]:
        """``({name: stat}, JSON text, JSON text)`` of ``columns`` (two fixed column names, never
        user text) for each folder of ``stats`` the cache has a row for; one query per batch of
        folders. A read that fails (an I/O error mid-run) only means those files are hashed."""
        groups = _grouped((s.path, s) for s in stats)
        folders = [folder for folder in groups if _storable(folder)]
        with self._lock:
            rows: List[Tuple[str, str, str]] = []
            for i in range(0, len(folders), _BATCH):
                chunk = folders[i:i + _BATCH]
                try:
                    rows += self._db.execute(f"SELECT folder, {columns} FROM folders WHERE folder IN "
                                             f"({','.join('?' * len(chunk))})", chunk).fetchall()
                except sqlite3.Error:
                    continue
        for folder, first, second in rows:
            yield groups[folder], first, second

    def put_many(self, rows: Iterable[tuple]) -> None:
        """Record ``(FileStat, hash)`` pairs this machine hashed, in one transaction; a probed
        entry of the same path is dropped (what was read whole here is the better knowledge)."""
        new = _grouped(((s.path, (s.size, s.mtime_ns, s.inode, h)) for s, h in rows))
        if new:
            self._write(lambda db: _merge(db, new, HASHED))

    def put_probed(self, rows: Iterable[Tuple[FileStat, str, str]]) -> None:
        """Record ``(FileStat, hash, probe)``: claims this machine's probe of the file confirmed."""
        new = _grouped(((s.path, (s.size, s.mtime_ns, s.inode, s.ctime_ns, h, p)) for s, h, p in rows
                        if s.ctime_ns and p))
        if new:
            self._write(lambda db: _merge(db, new, PROBED))

    def _write(self, step: Callable[[sqlite3.Connection], None]) -> None:
        """``step(db)`` in one write transaction, or nothing (a failed write is dropped)."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                step(self._db)
                self._db.execute("COMMIT")
            except sqlite3.Error:
                try:
                    self._db.execute("ROLLBACK")
                except sqlite3.Error:
                    pass

    def close(self) -> None:
        with self._lock:
            self._db.close()


_V = TypeVar("_V")


def _grouped(items: Iterable[Tuple[str, _V]]) -> Dict[str, Dict[str, _V]]:
    """``{folder: {name: value}}`` of ``(path, value)`` (a path given twice: its last value):
    the entries a write merges, and the stats a lookup asks for."""
    groups: Dict[str, Dict[str, _V]] = {}
    for path, values in items:
        folder, _, name = path.rpartition("/")
        names = groups.get(folder)
        if names is None:
            names = groups[folder] = {}
        names[name] = values
    return groups


def _storable(folder: str) -> bool:
    """SQLite text is UTF-8: a folder name holding surrogate escapes (bytes that are not UTF-8)
    cannot be a key, so its files are simply not cached (names inside a row are JSON-escaped)."""
    try:
        return folder.isascii() or bool(folder.encode("utf-8"))
    except UnicodeEncodeError:
        return False


def _entries(text: str, width: int) -> Iterator[tuple]:
    """The entries of one folder row's flat list, ``width`` values each (name first). A row
    that does not decode gives none: the cache only saves work."""
    try:
        flat = json.loads(text)
    except ValueError:
        return iter(())
    if not isinstance(flat, list) or len(flat) % width:
        return iter(())
    it = iter(flat)
    return zip(*([it] * width))


def _decode(text: str, column: str) -> _Entries:
    width = _WIDTH[column] + 1
    return {e[0]: e[1:] for e in _entries(text, width)}


def _encode(entries: _Entries) -> str:
    flat: list = []
    for name, values in entries.items():
        flat.append(name)
        flat += values
    # ASCII escapes: a file name that is not valid UTF-8 (surrogate escapes) still round-trips.
    return json.dumps(flat, separators=(",", ":"))


def _merge(db: sqlite3.Connection, new: Dict[str, _Entries], column: str) -> None:
    """Fold ``new`` entries into ``column`` of their folders' rows (inside the caller's write
    transaction, so nothing another command wrote meanwhile is lost). New hashed entries drop
    the probed entries of the same names."""
    folders = [folder for folder in new if _storable(folder)]
    for i in range(0, len(folders), _BATCH):
        chunk = folders[i:i + _BATCH]
        held = {folder: (hashed, probed) for folder, hashed, probed in db.execute(
            f"SELECT folder, hashed, probed FROM folders WHERE folder IN ({','.join('?' * len(chunk))})", chunk)}
        out = []
        for folder in chunk:
            hashed, probed = held.get(folder, ("[]", "[]"))
            own, other = (hashed, probed) if column == HASHED else (probed, hashed)
            merged = _decode(own, column)
            merged.update(new[folder])
            if column == HASHED:
                kept = _decode(other, PROBED)
                if any(name in kept for name in new[folder]):
                    other = _encode({n: v for n, v in kept.items() if n not in new[folder]})
                out.append((folder, _encode(merged), other))
            else:
                out.append((folder, other, _encode(merged)))
        db.executemany("INSERT OR REPLACE INTO folders VALUES (?, ?, ?)", out)


def _move_old_rows(db: sqlite3.Connection) -> None:
    """Move the per-path rows of an older version's layout (or what an older version wrote since
    the last open) into folder rows, hashed before probed, in one write transaction; then the
    old tables are empty. Nothing to move (every open but the first): one cheap query."""
    if not db.execute("SELECT EXISTS (SELECT 1 FROM hashes) OR EXISTS (SELECT 1 FROM probed)").fetchone()[0]:
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        for column, table, values in ((HASHED, "hashes", "size, mtime_ns, inode, hash"),
                                      (PROBED, "probed", "size, mtime_ns, inode, ctime_ns, hash, probe")):
            cursor = db.execute(f"SELECT path, {values} FROM {table}")
            while True:
                batch = cursor.fetchmany(_MOVE)
                if not batch:
                    break
                _merge(db, _grouped((row[0], row[1:]) for row in batch), column)
            db.execute(f"DELETE FROM {table}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
