"""The team index: which content is in the store, and which logical path had which size, mtime
and hash when someone uploaded it.

It is a set of immutable shards ``index/<sortable-unique-id>.json.gz``; nobody ever rewrites a
shared object, so two artists submitting at the same moment cannot lose each other's entries.
A shard is written only after every blob it lists is complete, so an entry never points at a
partial or absent blob. Readers list the prefix (one request per 1000 shards), fetch only the
shards their local view (:mod:`.indexview`, SQLite) has not ingested yet (shards never change, so
the view never goes stale), validate them once on the way in, and query the view with a job's
files.

``compact`` folds the shards it read into one snapshot shard, writes it, and only then deletes
the shards it folded. A reader that listed a shard which is gone by the time it fetches it lists
again: the snapshot holding its entries is then visible. Two compactions at once are safe
because each deletes only shards whose entries are already in the snapshot it wrote; the worst
case is two overlapping snapshots, which the next compaction folds into one."""
from __future__ import annotations

import getpass
import gzip
import hashlib
import io
import itertools
import json
import os
import re
import shutil
import sqlite3
import tempfile
import zlib
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Mapping, NamedTuple, Optional, Sequence, Set, Tuple

from ..errors import StoreError
from ..progress import ProgressCallback
from ..storekeys import (BLOB_PREFIX, QUARANTINE_PREFIX, SHARD_PREFIX, SHARD_SUFFIX, blob_key, is_digest, is_name,
                         new_shard_key)
from .backend import Backend
from .hashing import hash_file
from .cachedb import MEMORY
from .indexview import IndexView
from .jsonstream import NotAnObject, stream_object
from .transfer import with_retries

FORMAT = "cloudsubmit-index/1"
#: a shard with entries whose content sits in a pack: a version that knows no packs reads such a
#: shard as damaged (and uploads those files again as blobs) instead of fetching ``cas/<hash>``
FORMAT_PACKED = "cloudsubmit-index/2"
_RELIST_ATTEMPTS = 5
SNAPSHOT_MAX = 200_000  # entries per snapshot shard, so no single object grows without bound
_IN_FLIGHT = 8  # shard downloads running or waiting to be decoded during a first look
_BULK_BYTES = 1 << 20  # new shards bigger than this in all (~25,000 entries) go in by a bulk ingest
_IN_FLIGHT_BYTES = 24 << 20  # compressed shards downloaded and not decoded yet, at most (at least one)


class IndexEntry(NamedTuple):
    """One fact: this content was at this logical path with this size and mtime. A named tuple
    (not a dataclass) because a team index holds hundreds of thousands and loads at every start."""

    hash: str
    size: int
    root: str
    path: str
    mtime_ns: int
    user: str = ""
    time: float = 0.0
    pack: str = ""   # the pack holding the content (``packs/<pack>.pack``), "" = its own blob ``cas/<hash>``
    offset: int = 0  # where in the pack the content starts (it is ``size`` bytes long)
    #: the content's probe (``claims.probe_file``: size + start/middle/end windows), "" = none recorded
    probe: str = ""

    @property
    def identity(self) -> Tuple[str, int, str, str, int]:
        """What makes two entries the same fact (who and when do not)."""
        return self[:5]


def current_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return ""


def _entry_json(e: IndexEntry) -> Dict[str, Any]:
    d = e._asdict()
    if not e.pack:
        del d["pack"], d["offset"]
    if not d["probe"]:
        del d["probe"]  # written only when known, so shards of entries without one read as before
    return d


_ENCODE_BATCH = 2000  # entries turned into JSON text at a time
_SPOOL_BYTES = 4 << 20  # a shard's JSON text kept in memory up to this, then in a temporary file


def encode_shard(entries: Iterable[IndexEntry], each: Optional[Callable[[List[IndexEntry]], None]] = None) -> bytes:
    """The gzip of ``{"format": ..., "entries": [...]}``, written in batches of entries (``each``,
    when given, sees every batch: a compaction stages its snapshot into the view meanwhile). The
    text goes through a spool file (on disk past a few MB), so a 200,000-entry snapshot holds its
    compressed bytes and one batch, never a dict per entry or the whole JSON string; the format
    is known once every entry was seen (``cloudsubmit-index/2`` only when one names a pack)."""
    packed = False
    with tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES) as body:
        first = True
        for batch in _batches(iter(entries), _ENCODE_BATCH):
            packed = packed or any(e.pack for e in batch)
            text = json.dumps([_entry_json(e) for e in batch], separators=(",", ":"))[1:-1]
            body.write((("" if first else ",") + text).encode("utf-8"))
            first = False
            if each is not None:
                each(batch)
        fmt = FORMAT_PACKED if packed else FORMAT
        out = io.BytesIO()
        with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=6, mtime=0) as gz:
            gz.write(f'{{"format":{json.dumps(fmt)},"entries":['.encode("utf-8"))
            body.seek(0)
            shutil.copyfileobj(body, gz, 1 << 20)
            gz.write(b"]}")
    return out.getvalue()


def _batches(items: Iterator[Any], size: int) -> Iterator[List[Any]]:
    while True:
        batch = list(itertools.islice(items, size))
        if not batch:
            return
        yield batch


# A control character, a backslash, or an empty, "." or ".." part: one regex scan per entry (a
# loop per character cost more than the rest of a warm resolve).
_PATH_BAD_RE = re.compile(r"[\x00-\x1f\\\x7f]|(?:^|/)\.{0,2}(?:/|$)")


class BadShard(StoreError):
    """A shard that cannot be read at all (truncated or not gzip, not JSON, another format)."""


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def entry_problem(raw: Any) -> Optional[str]:
    """Why ``raw`` (one decoded shard entry) cannot be trusted, or None when it is sound. A
    teammate's buggy tool or anyone who can write the bucket could have written it, so every
    field is checked for type and shape before a reader acts on it."""
    if not isinstance(raw, dict):
        return f"not an object ({type(raw).__name__})"
    get = raw.get
    digest, size, root, path, mtime = get("hash"), get("size"), get("root"), get("path"), get("mtime_ns")
    if not is_digest(digest):
        return "hash is not a 32-digit lowercase hex digest"
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        return "size is not a whole number of bytes"
    if not is_name(root):
        return "root is not a root name"
    if not isinstance(path, str) or not path or path.startswith("/") or _PATH_BAD_RE.search(path):
        return "path is not a plain relative path"
    if not _is_int(mtime):
        return "mtime_ns is not a whole number"
    if not isinstance(raw.get("user", ""), str) or not isinstance(raw.get("time", 0.0), (int, float)):
        return "user or time has the wrong type"
    if "pack" in raw or "offset" in raw:  # a packed file; "" = its own blob, as IndexEntry spells it
        pack, offset = get("pack", ""), get("offset", 0)
        if not isinstance(pack, str) or (pack and not is_digest(pack)):
            return "pack is not a 32-digit lowercase hex pack id"
        if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
            return "offset is not a whole number of bytes"
    probe = get("probe", "")
    if probe != "" and not is_digest(probe):
        return "probe is not a 32-digit lowercase hex digest"
    return None


@dataclass
class Decoded:
    """A shard's sound entries, and one reason per entry that was left out."""

    entries: List[IndexEntry]
    bad: List[str] = field(default_factory=list)


_DECODE_BATCH = 5000  # entries decoded and validated at a time


def decode_shard(data: bytes, key: str) -> Decoded:
    """The entries of one shard, each validated (see :func:`entry_problem`). A shard that cannot
    be read at all raises :class:`BadShard` naming ``key``; bad entries are left out and listed."""
    out = Decoded([])
    for batch in iter_shard(data, key, out.bad):
        out.entries += batch
    return out


def iter_shard(data: bytes, key: str, bad: List[str]) -> Iterator[List[IndexEntry]]:
    """:func:`decode_shard` a batch at a time (:mod:`.jsonstream`: a 200,000-entry snapshot is
    never decoded whole), one line per bad entry appended to ``bad``. A :class:`BadShard` can
    come after some batches (a shard cut short, a format named after its entries): whoever
    kept those batches drops them."""
    fmt: Any = None
    listed = False
    i = 0
    try:
        for name, value in stream_object(data, "entries", _DECODE_BATCH):
            if name == "format":
                fmt = value
                if fmt not in (FORMAT, FORMAT_PACKED):
                    break
            elif name == "entries" and isinstance(value, list):
                listed = True
                yield _sound(value, i, bad)
                i += len(value)
            elif name == "entries":
                listed = False
                break
    except NotAnObject:
        pass
    except (OSError, EOFError, zlib.error, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise BadShard(f"index shard {key}: unreadable ({_why(exc)})") from None
    if fmt not in (FORMAT, FORMAT_PACKED) or not listed:
        raise BadShard(f"index shard {key}: not a {FORMAT} shard (format {str(fmt)[:40]!r})")


def _sound(raws: List[Any], first: int, bad: List[str]) -> List[IndexEntry]:
    """The entries among decoded ``raws`` (entry ``first`` onwards) that pass :func:`entry_problem`."""
    out: List[IndexEntry] = []
    for i, raw in enumerate(raws, first):
        problem = entry_problem(raw)
        if problem:
            bad.append(f"entry {i}: {problem}")
            continue
        out.append(IndexEntry(raw["hash"], raw["size"], raw["root"], raw["path"], raw["mtime_ns"],
                              raw.get("user", ""), float(raw.get("time", 0.0)),
                              raw.get("pack", ""), raw.get("offset", 0), raw.get("probe", "")))
    return out


def _why(exc: BaseException) -> str:
    if isinstance(exc, EOFError):
        return "compressed data ends early: truncated"
    return str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__


@dataclass
class CompactReport:
    shards_before: int = 0
    shards_folded: int = 0
    entries: int = 0
    snapshot: str = ""


@dataclass
class VerifyReport:
    blobs: int = 0
    bytes: int = 0
    missing: List[str] = field(default_factory=list)
    wrong_size: List[str] = field(default_factory=list)
    wrong_hash: List[str] = field(default_factory=list)
    bad_shards: List[str] = field(default_factory=list)  # one line per damaged shard
    packs: int = 0                                        # packs the index names
    bad_packs: List[str] = field(default_factory=list)   # one line per pack that is missing, short or wrong

    @property
    def ok(self) -> bool:
        return not (self.missing or self.wrong_size or self.wrong_hash or self.bad_shards or self.bad_packs)


@dataclass
class ClaimsReport:
    candidates: int = 0          # claims whose file is on this machine at the claimed size and mtime
    checked: int = 0             # of those, hashed here (a sample of at most ``sample``)
    wrong: List[str] = field(default_factory=list)  # one line per claim the file contradicts
    conflicts: int = 0           # (root, path, size, mtime_ns) claimed with more than one hash

    @property
    def ok(self) -> bool:
        return not self.wrong


@dataclass
class RepairReport:
    quarantined: List[str] = field(default_factory=list)  # shard keys moved under quarantine/
    rewritten: List[str] = field(default_factory=list)    # new shards holding their sound entries


class _ShardMap(Mapping[str, List[IndexEntry]]):
    """The listed shards by key, each read from the view only when asked for (a store's index can
    hold a million entries: nothing loads them all unless a maintenance command walks them)."""

    def __init__(self, index: "TeamIndex") -> None:
        self._index = index

    def __len__(self) -> int:
        return len(self._index._listed)

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._index._listed))

    def __getitem__(self, key: str) -> List[IndexEntry]:
        if key not in self._index._listed:
            raise KeyError(key)
        return [IndexEntry(*row) for _k, row in self._index._view_do(lambda: list(self._index.view.entries([key])))]


class TeamIndex:
    """The team index as this machine sees it: the shards listed in the store, ingested once each
    into the local view (:mod:`.indexview`, under ``cache_dir``; in memory without one), queried
    with the files of a job."""

    def __init__(self, backend: Backend, cache_dir: Optional[Path] = None) -> None:
        self.backend = backend
        self.view_path: Optional[Path] = None
        if cache_dir is not None:
            tag = hashlib.sha1(backend.url.encode("utf-8")).hexdigest()[:16]
            self.view_path = Path(cache_dir) / f"{tag}.sqlite"
        self._view: Optional[IndexView] = None
        self._listed: set = set()
        #: shard key -> one line saying what is wrong with it (unreadable, or entries left out);
        #: such shards are read for their sound entries but never folded by a compaction
        self.problems: Dict[str, str] = {}
        self.loaded = False

    @property
    def view(self) -> IndexView:
        if self._view is None:
            self._view = IndexView(self.view_path, self.backend.url)
        return self._view

    @property
    def shards(self) -> Mapping[str, List[IndexEntry]]:
        self._ensure()
        return _ShardMap(self)

    def close(self) -> None:
        if self._view is not None:
            self._view.close()

    # --- reading -------------------------------------------------------------------------
    def refresh(self) -> "TeamIndex":
        """List the shards, ingest the ones the view lacks, drop the ones that are gone. A shard
        that vanished between the listing and its fetch (folded by a concurrent compaction) makes
        the listing repeat. A view that fails mid-way is replaced by one in memory (one line)."""
        try:
            return self._refresh()
        except sqlite3.Error as exc:
            if self.view.path == MEMORY:
                raise StoreError(f"store {self.backend.url}: local index view failed ({exc})") from None
            self.view.to_memory(exc)
            return self._refresh()

    def _refresh(self) -> "TeamIndex":
        for _ in range(_RELIST_ATTEMPTS):
            # Only a shard the view held *before* the listing began and the listing lacks has left
            # the store: one another command of this machine added meanwhile is newer than the list.
            before = set(self.view.shard_problems())
            sizes = {k: size for k, size in self.backend.list(SHARD_PREFIX) if k.endswith(SHARD_SUFFIX)}
            keys = set(sizes)
            have = self.view.shard_problems()
            new = sorted(k for k in keys if k not in have)
            if not self._fetch(new, sizes):
                gone = [k for k in before if k not in keys]
                if gone:
                    self.view.drop_shards(gone)
                self._listed = keys
                self.problems = {k: p for k, p in self.view.shard_problems().items() if p and k in keys}
                self.loaded = True
                return self
        raise StoreError(f"store {self.backend.url}: index keeps changing while being read; try again")

    def _fetch(self, keys: List[str], sizes: Mapping[str, int]) -> List[str]:
        """Fetch, validate and ingest ``keys`` (``sizes``: as listed); return the keys that no
        longer exist. One or two small shards (a working day) go in one transaction each; more,
        or a snapshot (a machine's first look), are downloaded a few at a time in threads and
        staged in shard order as they are decoded, a batch of entries at a time
        (:meth:`IndexView.bulk`), so memory follows the few shards in flight, not the store."""
        vanished: List[str] = []
        if len(keys) <= 2 and sum(sizes.get(k, 0) for k in keys) <= _BULK_BYTES:
            for key in keys:
                data = self._get_shard(key, vanished)
                if data is not None:
                    self.view.add_shard(key, *_checked(key, data))
            return vanished
        with self.view.bulk() as bulk:
            for key, data in self._downloads(keys, sizes, vanished):
                sid, count = bulk.begin(), 0
                bad: List[str] = []
                try:
                    for batch in iter_shard(data, key, bad):
                        bulk.stage(sid, count, batch)
                        count += len(batch)
                    problem = _problem_line(key, bad)
                except BadShard as exc:
                    bulk.discard(sid)
                    count, problem = 0, exc.message
                bulk.end(sid, key, problem, count)
            bulk.flush()
        return vanished

    def _get_shard(self, key: str, vanished: List[str]) -> Optional[bytes]:
        """The bytes of shard ``key``, or None (and ``key`` in ``vanished``) when it left the store."""
        try:
            return with_retries(partial(self.backend.get_bytes, key))  # a reset mid-body is retried
        except StoreError:
            if self.backend.exists(key):
                raise
            vanished.append(key)
            return None

    def _downloads(self, keys: List[str], sizes: Mapping[str, int], vanished: List[str]) -> Iterator[Tuple[str, bytes]]:
        """``(key, bytes)`` of each of ``keys`` that still exists, in order, with at most
        :data:`_IN_FLIGHT` downloads (and :data:`_IN_FLIGHT_BYTES`, listed sizes) running or
        waiting to be read: eight snapshots are not held at once."""
        with ThreadPoolExecutor(max_workers=_IN_FLIGHT) as pool:
            ahead: List[Tuple[str, Any]] = []
            held = 0
            for key in keys + [""]:
                while ahead and (not key or len(ahead) >= _IN_FLIGHT or held + sizes.get(key, 0) > _IN_FLIGHT_BYTES):
                    got_key, future = ahead.pop(0)
                    held -= sizes.get(got_key, 0)
                    data = future.result()
                    if data is not None:
                        yield got_key, data
                if key:
                    ahead.append((key, pool.submit(self._get_shard, key, vanished)))
                    held += sizes.get(key, 0)

    def problem_lines(self) -> List[str]:
        """One line per damaged shard (and one if the local view could not be used), for a
        command to print as a warning."""
        lines = [self.problems[k] + "; 'cloudsubmit index repair' quarantines it" for k in sorted(self.problems)]
        return lines + ([self.view.note] if self._view is not None and self.view.note else [])

    def _ensure(self) -> None:
        if not self.loaded:
            self.refresh()

    def _view_do(self, query: Callable[[], Any]) -> Any:
        """Run one query on the view; if the file fails mid-command, read the index into memory
        and run it there (a cache must never stop a command)."""
        self._ensure()
        try:
            return query()
        except sqlite3.Error as exc:
            if self.view.path == MEMORY:
                raise StoreError(f"store {self.backend.url}: local index view failed ({exc})") from None
            self.view.to_memory(exc)
            self.loaded = False
            self.refresh()
            return query()

    def known_many(self, claims: Iterable[Tuple[str, str, int, int]]) -> Dict[Tuple[str, str, int, int], str]:
        """For each ``(root, path, size, mtime_ns)``, the hash a teammate recorded for it: the team
        fast path, which saves reading the file at all. Trusted only when the claim is the only one
        for that key and its blob is indexed with that size; other keys are left out, and those
        files are hashed here (docs/store.md, "Which claims are trusted")."""
        return self._view_do(lambda: self.view.claims(claims))

    def locations(self, hashes: Iterable[str]) -> Dict[str, Tuple[str, int]]:
        """``{hash: (pack, offset)}`` for each of ``hashes`` whose indexed content sits in a pack
        (the latest entry says: a re-send moves content); absent = its own blob ``cas/<hash>``."""
        return self._view_do(lambda: self.view.locations(hashes))

    def location(self, digest: str) -> Optional[Tuple[str, int]]:
        """:meth:`locations` for one hash: ``(pack, offset)``, or None for a blob (or not indexed)."""
        return self.locations([digest]).get(digest)

    def packed(self) -> Dict[str, Tuple[str, int, int]]:
        """Every indexed hash that sits in a pack: ``{hash: (pack, offset, size)}``."""
        return self._view_do(self.view.packed)

    def known(self, root: str, path: str, size: int, mtime_ns: int) -> Optional[str]:
        """:meth:`known_many` for one file."""
        return self.known_many([(root, path, size, mtime_ns)]).get((root, path, size, mtime_ns))

    def blob_sizes(self, hashes: Iterable[str]) -> Dict[str, int]:
        """The indexed size of each of ``hashes`` that some shard lists with exactly one size."""
        return self._view_do(lambda: self.view.blob_sizes(hashes))

    def missing_blobs(self, pairs: Iterable[Tuple[str, int]]) -> Set[Tuple[str, int]]:
        """The ``(hash, size)`` pairs that are no indexed blob of exactly that size (resolve's
        "in store" test for 10^5 files: only the misses come back)."""
        wanted = set(pairs)  # a retry on the in-memory view asks again
        return self._view_do(lambda: self.view.missing_blobs(wanted))

    def missing_at(self, items: Iterable[Tuple[str, str, int, str]]) -> Set[Tuple[str, int]]:
        """:meth:`missing_blobs` of ``(root, path, size, hash)`` items; what the index lists at that
        very path is answered from the folder rows (resolve's "in store" test)."""
        wanted = list(items)  # a retry on the in-memory view asks again
        return self._view_do(lambda: self.view.missing_at(wanted))

    def blob_size(self, digest: str) -> Optional[int]:
        """The size of an indexed blob, or None when no shard lists it (or lists two sizes)."""
        return self.blob_sizes([digest]).get(digest)

    def new_facts(self, entries: List[IndexEntry]) -> List[IndexEntry]:
        """The entries whose fact (hash, size, root, path, mtime_ns) the index does not hold yet."""
        held = self._view_do(lambda: self.view.facts(entries))
        return [e for e in entries if e.identity not in held]

    def contains(self, entry: IndexEntry) -> bool:
        return not self.new_facts([entry])

    def probes(self, hashes: Iterable[str]) -> Dict[str, str]:
        """``{hash: probe}`` for each of ``hashes`` whose entries that recorded a probe all agree
        (absent: none did, or two differ; then no claim of that blob passes store/claims.py)."""
        return self._view_do(lambda: self.view.probes(hashes))

    def probe_mismatches(self, pairs: Iterable[Tuple[str, str]]) -> Set[Tuple[str, str]]:
        """The ``(hash, probe)`` pairs whose hash's agreed probe (:meth:`probes`) is not that one."""
        wanted = set(pairs)
        return self._view_do(lambda: self.view.probe_mismatches(wanted))

    def probe(self, digest: str) -> Optional[str]:
        """:meth:`probes` for one hash."""
        return self.probes([digest]).get(digest)

    def conflicts(self) -> List[IndexEntry]:
        """Every entry of a (root, path, size, mtime_ns) that is claimed with more than one hash."""
        facts = self.entries()
        hashes: Dict[tuple, set] = {}
        for e in facts:
            hashes.setdefault((e.root, e.path, e.size, e.mtime_ns), set()).add(e.hash)
        return [e for e in facts if len(hashes[(e.root, e.path, e.size, e.mtime_ns)]) > 1]

    def _shard_entries(self, keys: Optional[Iterable[str]] = None) -> List[Tuple[str, IndexEntry]]:
        """``(key, entry)`` of the listed shards (or of ``keys``), in shard order, each shard read in
        full. The view is shared by the commands of this machine: a shard another one saw folded
        meanwhile leaves it, and then the listing repeats, so a compaction or a gc never takes a
        shard's missing entries for "nothing there"."""
        self._ensure()
        wanted = None if keys is None else set(keys)
        for _ in range(_RELIST_ATTEMPTS):
            want = self._listed if wanted is None else wanted & self._listed
            rows = self._view_do(lambda: list(self.view.entries(sorted(want) if wanted is not None else None)))
            pairs = [(k, IndexEntry(*row)) for k, row in rows if k in want]
            read = Counter(k for k, _e in pairs)
            held = self._view_do(self.view.shard_entry_counts)
            if all(held.get(k) == read[k] for k in want):
                return pairs
            self.refresh()
        raise StoreError(f"store {self.backend.url}: index keeps changing while being read; try again")

    def entries(self, keys: Optional[Iterable[str]] = None) -> List[IndexEntry]:
        """Every distinct fact (of the shards ``keys``, default all), first writer kept
        (deduplicated by identity). Reads the whole index: for maintenance, not for a job."""
        seen: Dict[tuple, IndexEntry] = {}
        for _key, e in self._shard_entries(keys):
            seen.setdefault(e.identity, e)
        return list(seen.values())

    def history(self) -> List[IndexEntry]:
        """Every entry of every shard in shard (time) order, repeats included: for the mirror
        layout, where the *last* write of a path is what its key holds now."""
        return [e for _key, e in self._shard_entries()]

    def blob_count(self) -> int:
        return self._view_do(self.view.blob_count)

    def entry_count(self) -> int:
        """How many entries the view holds (an upper bound of the blobs), from one row per shard."""
        return self._view_do(self.view.entry_count)

    def shard_count(self) -> int:
        """How many shards the last listing found."""
        self._ensure()
        return len(self._listed)

    # --- writing -------------------------------------------------------------------------
    def write_shard(self, entries: Sequence[IndexEntry]) -> str:
        """Write one new shard (a conditional write: never replaces anything). Call only after
        every blob in ``entries`` is complete in the store."""
        key = self._put_shard(encode_shard(entries))
        try:
            self.view.add_shard(key, entries)
        except sqlite3.Error:
            pass  # the next refresh ingests it from the store
        return key

    def _put_shard(self, data: bytes) -> str:
        """Store ``data`` under a new shard key (conditional: never replaces anything)."""
        for _ in range(3):
            key = new_shard_key()
            try:
                written = self.backend.put_bytes(key, data, if_absent=True)
            except OSError as exc:  # a directory store that is full or read-only
                raise StoreError(f"store {self.backend.url}: cannot write {key} ({exc.strerror or exc})") from None
            if written:
                self._listed.add(key)
                return key
        raise StoreError(f"store {self.backend.url}: could not write a new index shard")

    def compact(self) -> CompactReport:
        """Fold every sound shard into snapshots; write them, then delete what they fold. Memory
        stays bounded whatever the store holds: the facts are gathered a (root, folder) at a
        time (a fact's path names its folder, so no fact spans two) into a temporary SQLite
        table, and the snapshots are written from it in last-write order, a batch at a time."""
        self.refresh()
        for _ in range(_RELIST_ATTEMPTS):
            folded = sorted(k for k in self._listed if k not in self.problems)  # damaged shards stay for repair
            rep = CompactReport(shards_before=len(self._listed))
            if len(folded) < 2:
                return rep
            try:
                with _Facts() as facts:
                    if self._view_do(lambda: self._gather(folded, facts)):
                        return self._write_snapshots(folded, facts, rep)
            except sqlite3.Error as exc:  # the temporary tables (a full temporary folder); nothing was deleted
                raise StoreError(f"store {self.backend.url}: compaction stopped, its temporary files failed "
                                 f"({str(exc)[:120]}); nothing was removed") from None
            self.refresh()  # a shard left the view meanwhile (another command saw it folded): list again
        raise StoreError(f"store {self.backend.url}: index keeps changing while being read; try again")

    def _gather(self, folded: List[str], facts: "_Facts") -> bool:
        """Every distinct fact of the shards ``folded`` into ``facts`` (:func:`_last_write_order`
        per folder); False when the view no longer holds all of their entries."""
        order = {key: i << 32 for i, key in enumerate(folded)}  # a write's place: shard order, then in-shard position
        held = self.view.shard_entry_counts()
        read: Counter = Counter()
        facts.clear()
        for groups in self.view.folder_groups(folded):
            writes = sorted((order[key] + pos, IndexEntry(*entry)) for key, pos, entry in groups)
            read.update(key for key, _pos, _entry in groups)
            facts.add(_last_write_order(writes))
        return all(held.get(k) == read[k] for k in folded)

    def _write_snapshots(self, folded: List[str], facts: "_Facts", rep: CompactReport) -> CompactReport:
        """Snapshots of ``facts`` (SNAPSHOT_MAX entries each) into the store, staged into the view
        as they are encoded; then the folded shards leave the store, then the view (whose
        snapshot rows go in once the folded ones are out: one rebuild, no row-by-row delete)."""
        written: List[str] = []
        rows = facts.in_order()
        with self.view.bulk() as bulk:
            while True:
                sid = bulk.begin()
                counted = [0]

                def stage(batch: List[IndexEntry]) -> None:
                    bulk.stage(sid, counted[0], batch)
                    counted[0] += len(batch)

                data = encode_shard(itertools.islice(rows, SNAPSHOT_MAX), stage)
                if not counted[0]:
                    break
                written.append(self._put_shard(data))
                bulk.end(sid, written[-1], "", counted[0])
                rep.entries += counted[0]
            self.backend.delete_many(folded)  # only now: every folded entry is already in a snapshot
            self._listed.difference_update(folded)
            self._view_do(lambda: self.view.drop_shards(folded))
            try:
                bulk.flush()
            except sqlite3.Error:
                pass  # the next refresh ingests the snapshots from the store
        rep.snapshot = written[0] if written else ""
        rep.shards_folded = len(folded)
        return rep

    def verify(self, deep: bool = False, threads: int = 8, progress: Optional[ProgressCallback] = None) -> VerifyReport:
        """Check that every indexed blob exists with its indexed size (one listing request per
        1000 blobs) and, with ``deep``, that its content hashes to its name (reads every blob)."""
        self.refresh()
        present = dict(self.backend.list(BLOB_PREFIX))
        rep = VerifyReport()
        sound: List[Tuple[str, int]] = []
        packed = self.packed()
        for digest, size in sorted({(e.hash, e.size) for _k, e in self._shard_entries()}):
            if digest in packed:
                continue  # checked pack by pack below
            rep.blobs += 1
            rep.bytes += size
            actual = present.get(blob_key(digest))
            if actual is None:
                rep.missing.append(digest)
            elif actual != size:
                rep.wrong_size.append(digest)
            else:
                sound.append((digest, size))
        if deep:
            rep.wrong_hash = self._deep_check(sound, threads, progress)
        if packed:
            from .packs import check_packs

            found = check_packs(self.backend, packed, deep, threads, progress)
            rep.blobs, rep.bytes = rep.blobs + len(packed), rep.bytes + sum(s for _p, _o, s in packed.values())
            rep.packs, rep.bad_packs = found.packs, found.lines
        rep.bad_shards = [self.problems[k] for k in sorted(self.problems)]
        return rep

    def verify_claims(self, local_path: Callable[[str, str], Optional[str]], sample: int = 1000, threads: int = 8,
                      progress: Optional[ProgressCallback] = None) -> ClaimsReport:
        """Check claims against the files themselves: of the entries whose file is on this
        machine with the claimed size and mtime (what the team fast path would trust), hash a
        random sample of ``sample`` and list every claim whose file hashes otherwise, by shard."""
        import random

        from .transfer import TransferItem, run_transfers

        self.refresh()
        rep = ClaimsReport(conflicts=len(self.conflicts()))
        seen: set = set()
        found: List[Tuple[str, IndexEntry, str]] = []
        for key, e in self._shard_entries():
            if e.identity in seen:
                continue
            seen.add(e.identity)
            path = local_path(e.root, e.path)
            if not path:
                continue
            try:
                st = os.stat(path)
            except (OSError, ValueError):
                continue
            if (st.st_size, st.st_mtime_ns) == (e.size, e.mtime_ns):
                found.append((key, e, path))
        rep.candidates = len(found)
        picked = found if len(found) <= sample else random.SystemRandom().sample(found, sample)
        items = [TransferItem(p, e.size, partial(_hash_path, p)) for _k, e, p in picked]
        hashes = run_transfers(items, threads=threads, stage="claims", progress=progress).results
        rep.checked = len(picked)
        rep.wrong = [f"index shard {k}: {e.root}/{e.path} ({e.size} bytes) is claimed as {e.hash} but {p} hashes to {h}"
                     for (k, e, p), h in zip(picked, hashes) if h != e.hash]
        return rep

    def repair(self) -> RepairReport:
        """Move every damaged shard out of ``index/`` into ``quarantine/index/`` (kept for a
        post-mortem, never read again), after writing its sound entries into a new shard. The
        order makes a crash harmless: at worst an entry is listed twice, never lost."""
        self.refresh()
        rep = RepairReport()
        for key in sorted(self.problems):
            try:
                data = self.backend.get_bytes(key)
            except StoreError:
                if self.backend.exists(key):
                    raise
                continue  # gone already (another repair)
            sound = self.shards[key] if key in self._listed else []
            if sound:
                rep.rewritten.append(self.write_shard(sound))
            self.backend.put_bytes(QUARANTINE_PREFIX + key, data)
            self.backend.delete(key)
            rep.quarantined.append(key)
        self.refresh()
        return rep

    def wrong_content(self, blobs: List[Tuple[str, int]], threads: int = 8,
                      progress: Optional[ProgressCallback] = None) -> List[str]:
        """Which of ``(hash, size)`` blobs do not hash to their name (each is downloaded)."""
        return self._deep_check(blobs, threads, progress)

    def _deep_check(self, blobs: List[Tuple[str, int]], threads: int, progress: Optional[ProgressCallback]) -> List[str]:
        import tempfile

        from .transfer import TransferItem, run_transfers

        with tempfile.TemporaryDirectory(prefix="cloudsubmit-verify-") as tmp:

            def one(digest: str, on_bytes: Callable[[int], None]) -> bool:
                dest = os.path.join(tmp, digest)
                self.backend.get_file(blob_key(digest), dest)
                try:
                    return hash_file(dest, on_bytes) == digest
                finally:
                    os.unlink(dest)

            items = [TransferItem(blob_key(d), s, partial(one, d)) for d, s in blobs]
            good = run_transfers(items, threads=threads, stage="verify", progress=progress).results
        return sorted(d for (d, _s), ok in zip(blobs, good) if not ok)


def _checked(key: str, data: bytes) -> Tuple[List[IndexEntry], str]:
    """A fetched shard's sound entries and its problem line ("" when sound): validated once, on
    the way into the view."""
    try:
        decoded = decode_shard(data, key)
    except BadShard as exc:
        return [], exc.message
    return decoded.entries, _problem_line(key, decoded.bad)


def _problem_line(key: str, bad: List[str]) -> str:
    """The one line naming shard ``key`` and its bad entries ("" when there are none)."""
    if not bad:
        return ""
    more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
    return f"index shard {key}: {len(bad)} bad entries left out, {bad[0]}{more}"


def _last_write_order(writes: Iterable[Tuple[int, IndexEntry]]) -> List[Tuple[int, IndexEntry]]:
    """Distinct facts of ``writes`` (``(place, entry)`` in write order), each with the place it
    was last written, in that order: a snapshot keeps "the latest write of a path wins" true for
    the mirror layout (v1, v2, then v1 again stays v1)."""
    seen: Dict[tuple, Tuple[int, IndexEntry]] = {}
    for place, e in writes:
        first = seen.pop(e.identity, (place, e))[1]  # the first writer and time, the latest place of the content
        keep = first if (first.pack, first.offset) == (e.pack, e.offset) else \
            first._replace(pack=e.pack, offset=e.offset)
        seen[e.identity] = (place, keep._replace(probe=e.probe) if e.probe and not keep.probe else keep)  # a probe stays
    return list(seen.values())


class _Facts:
    """A compaction's distinct facts with the place each was last written, in a private
    temporary SQLite database (on disk past a small cache, deleted when closed): what a dict of
    every entry held in memory before."""

    _COLUMNS = "(place INTEGER NOT NULL, hash, size, root, path, mtime_ns, user, time, pack, offset, probe)"

    def __init__(self) -> None:
        self._db = sqlite3.connect("", isolation_level=None)
        for pragma in ("journal_mode = OFF", "synchronous = OFF", "temp_store = FILE", "cache_size = -16384"):
            self._db.execute(f"PRAGMA {pragma}")
        self._db.execute(f"CREATE TABLE facts {self._COLUMNS}")
        self._waiting: List[tuple] = []

    def __enter__(self) -> "_Facts":
        return self

    def __exit__(self, *exc: Any) -> None:
        self._db.close()

    def clear(self) -> None:
        self._waiting = []
        self._db.execute("DELETE FROM facts")

    def add(self, facts: List[Tuple[int, IndexEntry]]) -> None:
        self._waiting += [(place, *e) for place, e in facts]
        if len(self._waiting) >= _ENCODE_BATCH:
            self._write()

    def _write(self) -> None:
        self._db.execute("BEGIN")
        self._db.executemany("INSERT INTO facts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", self._waiting)
        self._db.execute("COMMIT")
        self._waiting = []

    def in_order(self) -> Iterator[IndexEntry]:
        """Every fact, in the order of its last write."""
        self._write()
        for row in self._db.execute("SELECT hash, size, root, path, mtime_ns, user, time, pack, offset, probe "
                                    "FROM facts ORDER BY place"):
            yield IndexEntry(*row)


def _hash_path(path: str, on_bytes: Callable[[int], None]) -> str:
    return hash_file(path, on_bytes)
