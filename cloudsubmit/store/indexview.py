"""The local view of the team index: every sound entry of every shard this machine has read, in
one SQLite file per store under the user cache folder, queried with a job's own files.

Shards are immutable, so the view is only ever added to (a new shard, decoded and validated once,
in one transaction) or trimmed (a shard that a compaction or a repair removed). A command then
asks about the folders and hashes of its job, and never decodes, holds or walks the rest of the
store: what it reads depends on the job, not on the size of the index.

The view is a cache: the shards in the store are the truth. A file that is not this view (not a
database, another schema, another store's view) is set aside and rebuilt from the shards; a view
that cannot be used at all (a read-only or full disk, a lock held past the timeout) is replaced by
one in memory for this command, with one line saying so. WAL mode lets many commands on one
machine read while one ingests; ingesting re-checks inside its write transaction, so two commands
that fetched the same new shard record it once."""
from __future__ import annotations

import itertools
import json
import sqlite3
from array import array
import threading
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Set, Tuple

from .cachedb import MEMORY, NotThisCache, open_cache, wal_connect


VIEW_FORMAT = "cloudsubmit-index-view/3"  # /2: hashes.probe; /3: hashes.tier
LOCK_TIMEOUT_S = 20.0  # a lock held longer than this (a hung process) gives an in-memory view
_CLAIM = Tuple[str, str, int, int]  # (root, path, size, mtime_ns)

# One row per (shard, root, folder): that folder's entries of that shard as two flat JSON lists,
# ``entries`` = [name, size, mtime_ns, hash, name, ...] (what a lookup needs) and ``details`` =
# [[position, user, time, pack, offset, ...], ...] (the rest of each entry, whatever fields later
# versions add; only maintenance reads it). A job asks about its own folders, so
# a lookup decodes a few rows with json.loads (C speed) instead of binding and fetching a row per
# file; ``hashes`` answers "is this blob indexed, with which size, and in which pack" (the last
# entry of a shard for that hash; the latest shard wins, as a re-send moves content), and
# ``size_clash`` holds the (rare) hashes some shard lists with another size.
#
# ``hashes`` is keyed by random hashes: 2,000 new rows spread over a million-row B-tree dirty
# ~2,000 scattered pages, and writing those back (the WAL checkpoint's fsync) was most of what a
# big store added to a new shot. So a new shard's rows go into ``tier`` 1, a small run at the end
# of the key space whose pages a commit dirties by the hundred, and :meth:`IndexView._fold` moves
# tier 1 into tier 0 in one sorted pass (each tier-0 page written once) when it passes
# :data:`FOLD_ROWS`. Lookups say ``WHERE hash ...`` as before: the planner skip-scans the two
# tiers, because ``sqlite_stat1`` says the tier column holds few values (:data:`_TIER_STAT`).
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS shards (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, "
    "problem TEXT NOT NULL DEFAULT '', entries INTEGER NOT NULL DEFAULT 0)",
    "CREATE TABLE IF NOT EXISTS folders (root TEXT NOT NULL, folder TEXT NOT NULL, shard INTEGER NOT NULL, "
    "entries TEXT NOT NULL, details TEXT NOT NULL, PRIMARY KEY (root, folder, shard)) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS folders_by_shard ON folders (shard)",
    "CREATE TABLE IF NOT EXISTS hashes (tier INTEGER NOT NULL DEFAULT 1, hash TEXT NOT NULL, size INTEGER NOT NULL, "
    "shard INTEGER NOT NULL, pack TEXT NOT NULL DEFAULT '', offset INTEGER NOT NULL DEFAULT 0, "
    "probe TEXT NOT NULL DEFAULT '', PRIMARY KEY (tier, hash, size, shard)) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS hashes_by_shard ON hashes (shard)",
    "CREATE TABLE IF NOT EXISTS size_clash (hash TEXT PRIMARY KEY) WITHOUT ROWID",
)
_TABLES = {"meta", "shards", "folders", "hashes", "size_clash", "sqlite_stat1"}
#: rows in tier 1 that make the next ingest fold it into tier 0: a fold rewrites tier 0 once, so
#: with 2,000-file shots one in ~25 pays it (about a second at a million entries), and tier 1
#: stays small enough that a shard's commit dirties a few hundred pages
FOLD_ROWS = 50_000
#: what ANALYZE would say of a big view, written once so the planner skip-scans ``tier`` for a
#: ``hash`` lookup (2 seeks) instead of scanning: rows, rows per tier, per (tier, hash), ...
_TIER_STAT = ("hashes", "hashes", "1000000 500000 1 1 1")
_BATCH = 900  # host parameters per statement: under SQLite's historic limit of 999
_PAIRS = 20_000  # (hash, value) pairs per json_each statement: one JSON text, not a parameter each
_DIGEST_LEN = 32  # a blob hash: 32 hex digits (storekeys.is_digest), sliced by the pair statements


class IndexView:
    """Shards and their entries, with the two lookups a resolve needs. Thread-safe (one lock)."""

    def __init__(self, path: Optional[Path], store_url: str) -> None:
        self.store_url = store_url
        self.path = str(path) if path is not None else MEMORY
        self._file = self.path  # the file asked for, named in the note when it cannot be used
        #: one line when the view on disk could not be used and this command uses one in memory
        self.note = ""
        self._lock = threading.RLock()
        self._db = self._open()

    # --- opening -------------------------------------------------------------------------
    def _open(self) -> sqlite3.Connection:
        db, self.path, why = open_cache(self.path, self._connect)
        if why is not None:
            self._say(why)
        return db

    def to_memory(self, exc: BaseException) -> sqlite3.Connection:
        """Give up the file for this command (it is left alone) and use an empty view in memory."""
        if self.path != MEMORY:
            self._say(exc)
        self.path = MEMORY
        self._db = self._connect(MEMORY)
        return self._db

    def _say(self, exc: BaseException) -> None:
        why = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        self.note = f"local index view {self._file} cannot be used ({why}); this command reads the whole index instead"

    def _connect(self, path: str) -> sqlite3.Connection:
        db = wal_connect(path, LOCK_TIMEOUT_S)
        try:
            self._check_schema(db)
        except BaseException:
            db.close()
            raise
        return db

    def _check_schema(self, db: sqlite3.Connection) -> None:
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if tables - _TABLES:
            raise NotThisCache(f"holds other tables ({sorted(tables)[0]})")
        if not tables:
            db.execute("BEGIN IMMEDIATE")
            try:
                for statement in _SCHEMA:
                    db.execute(statement)
                db.execute("INSERT OR IGNORE INTO meta VALUES ('format', ?), ('store', ?)",
                           (VIEW_FORMAT, self.store_url))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        meta = dict(db.execute("SELECT name, value FROM meta"))
        if meta.get("format") != VIEW_FORMAT or meta.get("store") != self.store_url:
            raise NotThisCache(f"a view of {meta.get('store')!r} in format {meta.get('format')!r}")
        _ensure_tier_stat(db)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # --- shards --------------------------------------------------------------------------
    def shard_problems(self) -> Dict[str, str]:
        """Every shard in the view, with what is wrong with it ("" when sound)."""
        with self._lock:
            return dict(self._db.execute("SELECT key, problem FROM shards"))

    def shard_entry_counts(self) -> Dict[str, int]:
        """Every shard in the view with how many sound entries it holds there."""
        with self._lock:
            return dict(self._db.execute("SELECT key, entries FROM shards"))

    def add_shard(self, key: str, entries: Sequence[tuple], problem: str = "") -> None:
        """Record one shard's sound entries ``(hash, size, root, path, mtime_ns, user, time)`` and
        its problem line in one transaction; a shard another command recorded meanwhile is left.
        Rows are built a folder and a hash at a time (:func:`_folder_rows`, :func:`_hash_rows`):
        a 100,000-entry upload's shard costs a few MB here, not lists and dicts per entry."""
        with self._lock, self._write():
            cur = self._db.execute("INSERT OR IGNORE INTO shards (key, problem, entries) VALUES (?, ?, ?)",
                                   (key, problem, len(entries)))
            if cur.rowcount != 1:
                return
            shard = cur.lastrowid
            self._db.executemany("INSERT INTO folders VALUES (?, ?, ?, ?, ?)", _folder_rows(entries, shard))
            tier = 0 if len(entries) > FOLD_ROWS else 1  # a snapshot goes straight to the big tier, in key order
            self._db.executemany("INSERT INTO hashes VALUES (?, ?, ?, ?, ?, ?, ?)", _hash_rows(entries, shard, tier))
            self._note_clashes(sorted({e[0] for e in entries}))
            self._fold_if_due()

    def _note_clashes(self, hashes: Iterable[str]) -> None:
        """Record in ``size_clash`` which of ``hashes`` (just ingested) the view now lists with
        two sizes, in batches of host parameters (inside the caller's write transaction)."""
        chunk: List[str] = []
        for digest in itertools.chain(hashes, [None]):
            if digest is not None:
                chunk.append(digest)
                if len(chunk) < _BATCH:
                    continue
            if chunk:
                self._db.execute(f"INSERT OR IGNORE INTO size_clash SELECT hash FROM hashes WHERE hash IN "
                                 f"({','.join('?' * len(chunk))}) GROUP BY hash HAVING COUNT(DISTINCT size) > 1", chunk)
            chunk = []

    def bulk(self) -> "BulkIngest":
        """A bulk ingest of many shards (a machine's first look, a compaction's snapshots): their
        rows wait in a temporary table, not in memory, and go in together (:class:`BulkIngest`)."""
        return BulkIngest(self)

    def _fold_if_due(self) -> None:
        if self._db.execute("SELECT COUNT(*) FROM hashes WHERE tier = 1").fetchone()[0] > FOLD_ROWS:
            self._fold()

    def _fold(self) -> None:
        """Move tier 1 into tier 0, in key order (inside the caller's write transaction: a
        command killed mid-fold leaves both tiers as they were)."""
        self._db.execute("INSERT INTO hashes SELECT 0, hash, size, shard, pack, offset, probe FROM hashes "
                         "WHERE tier = 1 ORDER BY hash, size, shard")
        self._db.execute("DELETE FROM hashes WHERE tier = 1")

    def drop_shards(self, keys: Iterable[str]) -> None:
        """Forget shards that left the store (folded by a compaction, moved by a repair). When
        they hold most of the view (a compaction), ``hashes`` is rebuilt from the rows that stay,
        in key order: deleting a million rows one by one through ``hashes_by_shard`` visits
        the big tier's pages at random, a rebuild writes each page once."""
        with self._lock, self._write():
            ids = [row[0] for key in keys
                   for row in self._db.execute("SELECT id FROM shards WHERE key = ?", (key,)).fetchall()]
            dropped = sum(self._db.execute("SELECT entries FROM shards WHERE id = ?", (i,)).fetchone()[0] for i in ids)
            total = self._db.execute("SELECT COALESCE(SUM(entries), 0) FROM shards").fetchone()[0]
            rebuild = dropped > FOLD_ROWS and dropped * 2 > total
            if rebuild:
                self._rebuild_hashes_without(ids)
            for shard in ids:
                if not rebuild:
                    self._db.execute("DELETE FROM hashes WHERE shard = ?", (shard,))
                self._db.execute("DELETE FROM folders WHERE shard = ?", (shard,))
                self._db.execute("DELETE FROM shards WHERE id = ?", (shard,))
            self._db.execute("DELETE FROM size_clash WHERE (SELECT COUNT(DISTINCT size) FROM hashes h "
                             "WHERE h.hash = size_clash.hash) < 2")

    def _rebuild_hashes_without(self, ids: List[int]) -> None:
        """``hashes`` without the rows of shards ``ids``: the rows that stay are copied aside (a
        temporary table), the table emptied at once, and they go back in key order, all in tier 0."""
        db = self._db
        db.execute("CREATE TEMP TABLE IF NOT EXISTS dropping (id INTEGER PRIMARY KEY)")
        db.execute("DELETE FROM temp.dropping")
        db.executemany("INSERT INTO temp.dropping VALUES (?)", ((i,) for i in ids))
        db.execute("CREATE TEMP TABLE IF NOT EXISTS kept AS SELECT * FROM hashes WHERE 0")
        db.execute("DELETE FROM temp.kept")
        db.execute("INSERT INTO temp.kept SELECT * FROM hashes WHERE shard NOT IN (SELECT id FROM temp.dropping)")
        db.execute("DELETE FROM hashes")
        db.execute("INSERT INTO hashes SELECT 0, hash, size, shard, pack, offset, probe FROM temp.kept "
                   "ORDER BY hash, size, shard")
        db.execute("DELETE FROM temp.kept")

    def _write(self) -> "_Transaction":
        return _Transaction(self._db)

    # --- the lookups a job makes: they read its folders and its hashes, nothing else ----------
    def _folders(self, folders: Iterable[Tuple[str, str]], column: str = "entries") -> List[Tuple[str, str, str]]:
        """``(root, folder, JSON)``: one row per shard that holds each wanted folder."""
        sql = f"SELECT root, folder, {column} FROM folders WHERE root = ? AND folder = ?"
        with self._lock:
            return [row for wanted in folders for row in self._db.execute(sql, wanted)]

    def claims(self, wanted: Iterable[_CLAIM]) -> Dict[_CLAIM, str]:
        """``{(root, path, size, mtime_ns): hash}`` for each wanted claim the index makes with
        exactly one hash, whose blob no shard lists with another size (two hashes for one claim,
        or two sizes for one hash: neither is trusted)."""
        groups: Dict[Tuple[str, str], Dict[str, _CLAIM]] = {}
        again: List[_CLAIM] = []  # a second version of a path already asked about: its own pass
        for claim in wanted:
            folder, _, name = claim[1].rpartition("/")
            names = groups.get((claim[0], folder))
            if names is None:
                names = groups[(claim[0], folder)] = {}
            if names.setdefault(name, claim) != claim:
                again.append(claim)
        found: Dict[_CLAIM, str] = {}
        twice: Set[_CLAIM] = set()
        for root, folder, text in self._folders(groups):
            names = groups[(root, folder)]
            for name, size, mtime_ns, digest in _quads(text):
                asked = names.get(name)  # the caller's own tuple: no key is built per entry
                if asked is not None and asked[2] == size and asked[3] == mtime_ns:
                    if found.setdefault(asked, digest) != digest:
                        twice.add(asked)
        clash = self._clashes()
        if twice or clash:
            found = {c: d for c, d in found.items() if c not in twice and d not in clash}
        if again:
            found.update(self.claims(again))
        return found

    def _clashes(self) -> Set[str]:
        with self._lock:
            return {digest for (digest,) in self._db.execute("SELECT hash FROM size_clash")}

    def blob_sizes(self, hashes: Iterable[str]) -> Dict[str, int]:
        """``{hash: size}`` for each wanted hash the index lists with one size (a hash claimed
        with two sizes is no blob anyone can trust)."""
        return self._agreed("size", "1", hashes)

    def probes(self, hashes: Iterable[str]) -> Dict[str, str]:
        """``{hash: probe}`` for each wanted hash whose shards' recorded probes all agree."""
        return {d: probe for d, probe in self._agreed("probe", "probe != ''", hashes).items() if probe != "!"}

    def _agreed(self, column: str, where: str, hashes: Iterable[str]) -> Dict[str, Any]:
        """``{hash: value}`` of ``column`` for each wanted hash whose rows (``where``: a fixed SQL
        condition, never user data) all hold one value, in batches of host parameters. The rows
        are compared here, not grouped by SQL: a GROUP BY costs twice the fetch, and every row
        of one hash comes from the same statement (one snapshot)."""
        wanted = sorted(set(hashes))
        found: Dict[str, Any] = {}
        differ: Set[str] = set()
        with self._lock:
            for i in range(0, len(wanted), _BATCH):
                chunk = wanted[i:i + _BATCH]
                for digest, value in self._db.execute(f"SELECT hash, {column} FROM hashes WHERE {where} AND "
                                                      f"hash IN ({','.join('?' * len(chunk))})", chunk):
                    if found.setdefault(digest, value) != value:
                        differ.add(digest)
        for digest in differ:
            del found[digest]
        return found

    def missing_at(self, items: Iterable[Tuple[str, str, int, str]]) -> Set[Tuple[str, int]]:
        """:meth:`missing_blobs` of the ``(hash, size)`` of ``(root, path, size, hash)`` items. An
        item some entry lists at that very path with that size and hash is answered from its
        folder's rows (one ``json.loads`` per folder: a shot resolved again from the machine that
        sent it asks nothing per file); only the rest is asked pair by pair."""
        groups: Dict[Tuple[str, str], Dict[str, Tuple[int, str]]] = {}
        rest: Set[Tuple[str, int]] = set()
        for root, path, size, digest in items:
            folder, _, name = path.rpartition("/")
            names = groups.get((root, folder))
            if names is None:
                names = groups[(root, folder)] = {}
            if names.setdefault(name, (size, digest)) != (size, digest):
                rest.add((digest, size))  # a second version of one logical path: asked on its own
        listed: Set[Tuple[str, int]] = set()
        for root, folder, text in self._folders(groups):
            names = groups[(root, folder)]
            for name, size, _mtime_ns, digest in _quads(text):
                asked = names.get(name)
                if asked is not None and asked[0] == size and asked[1] == digest:
                    listed.add((digest, size))
        rest.update((digest, size) for names in groups.values() for size, digest in names.values())
        rest -= listed
        missing = self.missing_blobs(rest) if rest else set()
        clash = self._clashes()  # listed with this size here, but with another somewhere
        return missing | {pair for pair in listed if pair[0] in clash} if clash else missing

    def missing_blobs(self, pairs: Iterable[Tuple[str, int]]) -> Set[Tuple[str, int]]:
        """The ``(hash, size)`` pairs among ``pairs`` that are no indexed blob of that size: no
        shard lists the hash with that size, or some shard lists it with another (what
        :meth:`blob_sizes` leaves out or gives another size for). SQLite tests each pair itself
        and returns only the misses, so a job whose files are in the store costs one primary-key
        probe per file and no Python work per file here."""
        wanted = pairs if isinstance(pairs, (set, frozenset)) else set(pairs)
        sql = ("SELECT value FROM json_each(?) WHERE NOT EXISTS (SELECT 1 FROM hashes WHERE "
               f"hash = substr(value, 1, {_DIGEST_LEN}) AND size = CAST(substr(value, {_DIGEST_LEN + 1}) AS INTEGER))")
        texts = [f"{digest}{size}" for digest, size in wanted if len(digest) == _DIGEST_LEN]  # the SQL slices widths
        misses = self._each_pair(sql, texts)
        if misses is None:  # an SQLite without JSON: the batched IN query
            sizes = self.blob_sizes(digest for digest, _size in wanted)
            return {pair for pair in wanted if sizes.get(pair[0]) != pair[1]}
        missing = {(text[:_DIGEST_LEN], int(text[_DIGEST_LEN:])) for text in misses}
        if len(texts) != len(wanted):
            missing.update(pair for pair in wanted if len(pair[0]) != _DIGEST_LEN)
        clash = self._clashes()
        return missing | {pair for pair in wanted if pair[0] in clash} if clash else missing

    def probe_mismatches(self, pairs: Iterable[Tuple[str, str]]) -> Set[Tuple[str, str]]:
        """The ``(hash, probe)`` pairs among ``pairs`` whose hash's agreed probe (:meth:`probes`)
        is not that probe: none recorded, two that differ, or another one. Like
        :meth:`missing_blobs`, only the misses come back from SQLite."""
        wanted = pairs if isinstance(pairs, (set, frozenset)) else set(pairs)
        sql = ("SELECT value FROM json_each(?) WHERE (SELECT MIN(probe = substr(value, "
               f"{_DIGEST_LEN + 1})) FROM hashes WHERE hash = substr(value, 1, {_DIGEST_LEN}) AND probe != '') IS NOT 1")
        texts = [digest + probe for digest, probe in wanted if len(digest) == _DIGEST_LEN and probe not in ("", "!")]
        misses = self._each_pair(sql, texts)
        if misses is None:
            agreed = self.probes(digest for digest, _probe in wanted)
            return {pair for pair in wanted if agreed.get(pair[0]) != pair[1]}
        mismatched = {(text[:_DIGEST_LEN], text[_DIGEST_LEN:]) for text in misses}
        if len(texts) != len(wanted):
            mismatched.update(pair for pair in wanted if len(pair[0]) != _DIGEST_LEN or pair[1] in ("", "!"))
        return mismatched

    def _each_pair(self, sql: str, texts: List[str]) -> Optional[List[str]]:
        """The ``value`` rows of ``sql`` (a fixed statement over ``json_each(?)``, never user
        text) run on ``texts`` as JSON arrays of :data:`_PAIRS` each; None when this SQLite has
        no JSON functions (then the caller asks the batched way). Sorted first: the lookups then
        walk the primary key in order, 2.5x faster than in a set's order."""
        texts.sort()
        out: List[str] = []
        with self._lock:
            try:
                self._db.execute("SELECT 1 FROM json_each('[]')")
            except sqlite3.OperationalError:
                return None
            for i in range(0, len(texts), _PAIRS):
                out += [value for (value,) in self._db.execute(sql, (json.dumps(texts[i:i + _PAIRS]),))]
        return out

    def locations(self, hashes: Iterable[str]) -> Dict[str, Tuple[str, int]]:
        """``{hash: (pack, offset)}`` for each wanted hash whose latest entry puts it in a pack."""
        return self._placed(sorted(set(hashes)))

    def packed(self) -> Dict[str, Tuple[str, int, int]]:
        """Every hash whose latest entry puts it in a pack: ``{hash: (pack, offset, size)}``
        (maintenance: ``index verify``, ``upload --recheck``)."""
        return self._placed(None)

    def _placed(self, wanted: Optional[List[str]]) -> dict:
        sql = "SELECT h.hash, h.size, h.pack, h.offset FROM hashes h JOIN shards s ON s.id = h.shard"
        latest: Dict[str, Tuple[str, int, int]] = {}
        with self._lock:
            chunks = [None] if wanted is None else [wanted[i:i + _BATCH] for i in range(0, len(wanted), _BATCH)]
            for chunk in chunks:
                where = "" if chunk is None else f" WHERE h.hash IN ({','.join('?' * len(chunk))})"
                for digest, size, pack, offset in self._db.execute(sql + where + " ORDER BY s.key", chunk or ()):
                    latest[digest] = (pack, offset, size)
        if wanted is None:
            return {d: place for d, place in latest.items() if place[0]}
        return {d: (pack, offset) for d, (pack, offset, _s) in latest.items() if pack}

    def facts(self, wanted: Sequence[tuple]) -> Set[tuple]:
        """The identities ``(hash, size, root, path, mtime_ns)`` among ``wanted`` the view holds."""
        want = {tuple(f[:5]) for f in wanted}
        held: Set[tuple] = set()
        for root, folder, text in self._folders({(f[2], f[3].rpartition("/")[0]) for f in want}):
            base = folder + "/" if folder else ""
            for name, size, mtime_ns, digest in _quads(text):
                fact = (digest, size, root, base + name, mtime_ns)
                if fact in want:
                    held.add(fact)
        return held

    # --- whole-index reads (maintenance commands only) --------------------------------------
    def entries(self, keys: Optional[Iterable[str]] = None) -> Iterator[Tuple[str, tuple]]:
        """``(shard key, (hash, size, root, path, mtime_ns, user, time))`` in shard-key order and,
        within a shard, as written."""
        with self._lock:
            shards = self._db.execute("SELECT id, key FROM shards ORDER BY key").fetchall()
        wanted = None if keys is None else set(keys)
        for shard, key in shards:
            if wanted is not None and key not in wanted:
                continue
            with self._lock:
                rows = self._db.execute("SELECT root, folder, entries, details FROM folders WHERE shard = ?",
                                        (shard,)).fetchall()
            out: List[Tuple[int, tuple]] = []
            for root, folder, text, details in rows:
                base = folder + "/" if folder else ""
                out.extend((rest[0], (digest, size, root, base + name, mtime_ns, *rest[1:]))
                           for (name, size, mtime_ns, digest), rest in zip(_quads(text), json.loads(details)))
            out.sort(key=lambda item: item[0])
            for _pos, entry in out:
                yield key, entry

    def folder_groups(self, keys: Iterable[str]) -> Iterator[List[Tuple[str, int, tuple]]]:
        """Whole-index read for a compaction: for each (root, folder) of the shards ``keys``, in
        key order, ``(shard key, position, entry)`` of every entry there, each a page of rows at
        a time (the primary key's order: a folder's rows of all shards are adjacent), so memory
        holds one folder, not the store."""
        wanted = set(keys)
        with self._lock:
            names = {i: key for i, key in self._db.execute("SELECT id, key FROM shards") if key in wanted}
        after: tuple = ("", "", -1)
        group: List[Tuple[str, int, tuple]] = []
        where: Optional[tuple] = None
        while True:
            with self._lock:
                rows = self._db.execute("SELECT root, folder, shard, entries, details FROM folders WHERE "
                                        "(root, folder, shard) > (?, ?, ?) ORDER BY root, folder, shard LIMIT 500",
                                        after).fetchall()
            if not rows:
                break
            after = rows[-1][:3]
            for root, folder, shard, text, details in rows:
                key = names.get(shard)
                if key is None:
                    continue
                if (root, folder) != where:
                    if group:
                        yield group
                    where, group = (root, folder), []
                base = folder + "/" if folder else ""
                group.extend((key, rest[0], (digest, size, root, base + name, mtime_ns, *rest[1:]))
                             for (name, size, mtime_ns, digest), rest in zip(_quads(text), json.loads(details)))
        if group:
            yield group

    def shard_count(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM shards").fetchone()[0]

    def entry_count(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COALESCE(SUM(entries), 0) FROM shards").fetchone()[0]

    def blob_count(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(DISTINCT hash) FROM hashes").fetchone()[0]


def _ensure_tier_stat(db: sqlite3.Connection) -> None:
    """Write :data:`_TIER_STAT` if it is missing (a view made before it, or statistics someone
    dropped) and have this connection's planner read it."""
    if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").fetchone() and \
            db.execute("SELECT 1 FROM sqlite_stat1 WHERE tbl = ? AND idx = ?", _TIER_STAT[:2]).fetchone():
        return
    with _Transaction(db):
        db.execute("ANALYZE sqlite_schema")  # (re)creates sqlite_stat1
        db.execute("DELETE FROM sqlite_stat1 WHERE tbl = ?", _TIER_STAT[:1])
        db.execute("INSERT INTO sqlite_stat1 VALUES (?, ?, ?)", _TIER_STAT)
    db.execute("ANALYZE sqlite_schema")  # the planner reloads the statistics


def _folder_rows(entries: Sequence[tuple], shard: Optional[int]) -> Iterator[tuple]:
    """One ``folders`` row per (root, folder) of ``entries``, its entries in shard order: only
    the positions are grouped up front (an array of ints per folder), each row's lists are
    built when it is written."""
    folders: Dict[Tuple[str, str], array] = {}
    for pos, e in enumerate(entries):
        where = (e[2], e[3].rpartition("/")[0])
        got = folders.get(where)
        if got is None:
            got = folders[where] = array("q")
        got.append(pos)
    for (root, folder), positions in folders.items():
        yield _folder_row(root, folder, shard, ((pos, entries[pos]) for pos in positions))


def _folder_row(root: str, folder: str, shard: Optional[int], items: Iterable[Tuple[int, tuple]]) -> tuple:
    """The ``folders`` row of one (root, folder) of one shard from its ``(position, entry)`` items
    in position order: the one place the row's two lists are spelled (both ingest paths use it)."""
    lookup: list = []
    details = []
    for pos, e in items:
        lookup += (e[3].rpartition("/")[2], e[1], e[4], e[0])
        details.append([pos, *e[5:]])
    return root, folder, shard, _dumps(lookup), _dumps(details)


def _hash_rows(entries: Sequence[tuple], shard: Optional[int], tier: int) -> Iterator[tuple]:
    """One ``hashes`` row in ``tier`` per (hash, size) of ``entries`` (:func:`_merged_places`),
    from the positions in (hash, size) order (a stable sort, so "last" is still shard order)."""
    order = array("q", sorted(range(len(entries)), key=lambda i: (entries[i][0], entries[i][1])))
    return _merged_places(tier, ((e[0], e[1], shard, getattr(e, "pack", ""), getattr(e, "offset", 0),
                                  getattr(e, "probe", "")) for e in map(entries.__getitem__, order)))


def _merged_places(tier: int, rows: Iterable[tuple]) -> Iterator[tuple]:
    """One ``hashes`` row in ``tier`` per (hash, size, shard) of ``rows`` ``(hash, size, shard,
    pack, offset, probe)``, which come sorted by those three and, within them, in shard order:
    where the last entry says the content is, and the probe the entries agree on ("!" = two
    differ). The rows come out in key order."""
    last: Optional[list] = None
    for digest, size, shard, pack, offset, probe in rows:
        if last is not None and last[1] == digest and last[2] == size and last[3] == shard:
            had = last[6]
            last[4:] = [pack, offset, probe if not had or had == probe else had if not probe else "!"]
            continue
        if last is not None:
            yield tuple(last)
        last = [tier, digest, size, shard, pack, offset, probe]
    if last is not None:
        yield tuple(last)


_STAGE = ("CREATE TABLE staged (sid INTEGER NOT NULL, pos INTEGER NOT NULL, hash, size, root, path, mtime_ns, "
          "user, time, pack, offset, probe, folder)")
_STAGE_CACHE_KB = 16_384  # the staging database's page cache: past it, its pages go to its temporary file
#: staged rows a bulk ingest writes at a time: each flush is one transaction, so a killed first
#: look keeps what it flushed; bigger flushes write tier 0's pages fewer times
FLUSH_ROWS = 250_000


class BulkIngest:
    """Many shards into the view, whatever their number or size, in bounded memory: each shard's
    entries are staged as they are decoded, in a private temporary SQLite database (on disk past
    a small cache; its own connection, so staging takes no lock on the view), then :meth:`flush`
    writes the finished shards into the view in one transaction, their folder rows and hash rows
    built from sorted reads of the staged rows, one folder and one hash at a time. More than
    :data:`FOLD_ROWS` entries go straight into tier 0 in key order (a first look, a compaction's
    snapshots); fewer go into tier 1, like :meth:`IndexView.add_shard`, whose rows these are.
    One thread stages at a time."""

    def __init__(self, view: IndexView) -> None:
        self._view = view
        self._done: Dict[int, Tuple[str, str, int]] = {}  # sid -> (key, problem, entries)
        self._next = 0
        self.rows = 0  # rows staged and not flushed yet
        self._db = sqlite3.connect("", isolation_level=None, check_same_thread=False)  # deleted when closed
        for pragma in ("journal_mode = OFF", "synchronous = OFF", "temp_store = FILE", f"cache_size = {-_STAGE_CACHE_KB}"):
            self._db.execute(f"PRAGMA {pragma}")
        self._db.execute(_STAGE)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "BulkIngest":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def begin(self) -> int:
        """A staging id for the next shard."""
        self._next += 1
        return self._next

    def stage(self, sid: int, start: int, entries: Iterable[tuple]) -> None:
        """Stage entries of shard ``sid`` (IndexEntry fields), the first at position ``start``."""
        rows = [(sid, pos, *e[:10], e[3].rpartition("/")[0]) for pos, e in enumerate(entries, start)]
        with _Transaction(self._db):  # one commit for the batch, not one per row
            self._db.executemany("INSERT INTO staged VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        self.rows += len(rows)

    def discard(self, sid: int) -> None:
        """Drop what was staged of shard ``sid`` (it turned out unreadable half-way)."""
        self.rows -= max(self._db.execute("DELETE FROM staged WHERE sid = ?", (sid,)).rowcount, 0)

    def end(self, sid: int, key: str, problem: str, entries: int) -> None:
        """Shard ``sid`` is fully staged: ``key`` with ``entries`` sound entries and its problem
        line. Flushes once :data:`FLUSH_ROWS` rows wait."""
        self._done[sid] = (key, problem, entries)
        if self.rows >= FLUSH_ROWS:
            self.flush()

    def flush(self) -> None:
        """Write every ended shard in one transaction (a shard another command recorded
        meanwhile is left) and empty the staging table; call between shards."""
        view, done = self._view, self._done
        if not done:
            return
        with view._lock, view._write():
            db = view._db
            ids: Dict[int, int] = {}
            for sid in sorted(done):
                key, problem, count = done[sid]
                cur = db.execute("INSERT OR IGNORE INTO shards (key, problem, entries) VALUES (?, ?, ?)",
                                 (key, problem, count))
                if cur.rowcount == 1:
                    ids[sid] = cur.lastrowid  # type: ignore[assignment]
            rows = sum(done[sid][2] for sid in ids)
            db.executemany("INSERT INTO folders VALUES (?, ?, ?, ?, ?)", _staged_folder_rows(self._db, ids))
            db.executemany("INSERT INTO hashes VALUES (?, ?, ?, ?, ?, ?, ?)", _merged_places(
                0 if rows > FOLD_ROWS else 1,
                ((digest, size, ids[sid], pack, offset, probe) for digest, size, sid, pack, offset, probe in self._db.execute(
                    "SELECT hash, size, sid, pack, offset, probe FROM staged ORDER BY hash, size, sid, pos")
                 if sid in ids)))
            view._note_clashes(digest for (digest,) in self._db.execute("SELECT DISTINCT hash FROM staged ORDER BY hash"))
            view._fold_if_due()
        self._db.execute("DELETE FROM staged")
        self._done, self.rows = {}, 0


def _staged_folder_rows(stage: sqlite3.Connection, ids: Dict[int, int]) -> Iterator[tuple]:
    """The ``folders`` rows of the staged shards ``ids`` (staging id -> view id), from one read
    in (shard, root, folder, position) order: one folder's entries in memory at a time."""
    group: List[Tuple[int, tuple]] = []
    where: Optional[tuple] = None
    for row in stage.execute("SELECT sid, root, folder, pos, hash, size, root, path, mtime_ns, user, time, pack, "
                             "offset, probe FROM staged ORDER BY sid, root, folder, pos"):
        if row[0] not in ids:
            continue
        if row[:3] != where:
            if group:
                yield _folder_row(where[1], where[2], ids[where[0]], group)  # type: ignore[index]
            where, group = row[:3], []
        group.append((row[3], row[4:]))
    if group:
        yield _folder_row(where[1], where[2], ids[where[0]], group)  # type: ignore[index]


def _dumps(items: list) -> str:
    return json.dumps(items, separators=(",", ":"), ensure_ascii=False)


def _quads(text: str) -> Iterator[Tuple[str, int, int, str]]:
    """``(name, size, mtime_ns, hash)`` of one folder row's flat ``entries`` list."""
    it = iter(json.loads(text))
    return zip(it, it, it, it)


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on any error), so an ingest is all or nothing."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind, value, tb) -> None:
        if kind is None:
            self.db.execute("COMMIT")
        else:
            try:
                self.db.execute("ROLLBACK")
            except sqlite3.Error:
                pass
