"""The team index: which content is in the store, and which logical path had which size, mtime
and hash when someone uploaded it.

It is a set of immutable shards ``index/<sortable-unique-id>.json.gz``; nobody ever rewrites a
shared object, so two artists submitting at the same moment cannot lose each other's entries.
A shard is written only after every blob it lists is complete, so an entry never points at a
partial or absent blob. Readers list the prefix (one request per 1000 shards), fetch only shards
missing from the local shard cache (shards never change, so the cache never goes stale) and
merge.

``compact`` folds the shards it read into one snapshot shard, writes it, and only then deletes
the shards it folded. A reader that listed a shard which is gone by the time it fetches it lists
again: the snapshot holding its entries is then visible. Two compactions at once are safe
because each deletes only shards whose entries are already in the snapshot it wrote; the worst
case is two overlapping snapshots, which the next compaction folds into one."""
from __future__ import annotations

import getpass
import gzip
import hashlib
import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Callable, Dict, Iterable, List, NamedTuple, Optional, Tuple

from ..errors import StoreError
from ..progress import ProgressCallback
from ..storekeys import BLOB_PREFIX, SHARD_PREFIX, SHARD_SUFFIX, blob_key, new_shard_key
from .backend import Backend
from .hashing import hash_file

FORMAT = "cloudsubmit-index/1"
_RELIST_ATTEMPTS = 5
SNAPSHOT_MAX = 200_000  # entries per snapshot shard, so no single object grows without bound


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

    @property
    def identity(self) -> Tuple[str, int, str, str, int]:
        """What makes two entries the same fact (who and when do not)."""
        return self[:5]


def current_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return ""


def encode_shard(entries: Iterable[IndexEntry]) -> bytes:
    doc = {"format": FORMAT, "entries": [e._asdict() for e in entries]}
    return gzip.compress(json.dumps(doc, separators=(",", ":")).encode("utf-8"), compresslevel=6, mtime=0)


def decode_shard(data: bytes, key: str) -> List[IndexEntry]:
    try:
        doc = json.loads(gzip.decompress(data).decode("utf-8"))
        if doc.get("format") != FORMAT:
            raise ValueError(f"unknown format {doc.get('format')!r}")
        return [IndexEntry(e["hash"], e["size"], e["root"], e["path"], e["mtime_ns"], e.get("user", ""), e.get("time", 0.0))
                for e in doc["entries"]]
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise StoreError(f"index shard {key} is unreadable ({exc})") from None


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

    @property
    def ok(self) -> bool:
        return not (self.missing or self.wrong_size or self.wrong_hash)


class TeamIndex:
    """The merged view of every shard, with a local shard cache under ``cache_dir``."""

    def __init__(self, backend: Backend, cache_dir: Optional[Path] = None) -> None:
        self.backend = backend
        self.cache_dir = None
        if cache_dir is not None:
            tag = hashlib.sha1(backend.url.encode("utf-8")).hexdigest()[:16]
            self.cache_dir = Path(cache_dir) / tag
        self.shards: Dict[str, List[IndexEntry]] = {}
        self._blobs: Dict[str, int] = {}
        self._paths: Dict[Tuple[str, str], Dict[Tuple[int, int], str]] = {}
        self._facts: set = set()
        self.loaded = False

    # --- reading -------------------------------------------------------------------------
    def refresh(self) -> "TeamIndex":
        """List the shards, fetch the ones not seen before, merge. Shards that vanished (folded
        by a concurrent compaction) are dropped and the listing repeated."""
        for _ in range(_RELIST_ATTEMPTS):
            keys = [k for k, _ in self.backend.list(SHARD_PREFIX) if k.endswith(SHARD_SUFFIX)]
            missing = [k for k in keys if k not in self.shards]
            vanished = self._fetch(missing)
            if not vanished:
                self._rebuild(keys)
                self.loaded = True
                return self
        raise StoreError(f"store {self.backend.url}: index keeps changing while being read; try again")

    def _fetch(self, keys: List[str]) -> List[str]:
        """Load ``keys`` into ``self.shards`` from the local cache or the store; return the keys
        that no longer exist."""
        todo = []
        for key in keys:
            cached = self._cache_read(key)
            if cached is not None:
                self.shards[key] = cached
            else:
                todo.append(key)
        vanished: List[str] = []

        def one(key: str) -> None:
            try:
                data = self.backend.get_bytes(key)
            except StoreError:
                if self.backend.exists(key):
                    raise
                vanished.append(key)
                return
            self.shards[key] = decode_shard(data, key)
            self._cache_write(key, data)

        if len(todo) <= 2:
            for key in todo:
                one(key)
        else:
            with ThreadPoolExecutor(max_workers=8) as pool:
                list(pool.map(one, todo))
        return vanished

    def _rebuild(self, keys: List[str]) -> None:
        listed = set(keys)
        for gone in [k for k in self.shards if k not in listed]:
            del self.shards[gone]
            self._cache_drop(gone)
        self._blobs, self._paths, self._facts = {}, {}, set()
        for key in sorted(self.shards):
            self._merge(self.shards[key])

    def _merge(self, entries: Iterable[IndexEntry]) -> None:
        blobs, paths, facts = self._blobs, self._paths, self._facts
        for e in entries:
            digest, size, root, path, mtime_ns = e[:5]
            blobs[digest] = size
            versions = paths.get((root, path))
            if versions is None:
                versions = paths[(root, path)] = {}
            versions[(size, mtime_ns)] = digest
            facts.add(e[:5])

    def _ensure(self) -> None:
        if not self.loaded:
            self.refresh()

    def blob_size(self, digest: str) -> Optional[int]:
        """The size of an indexed blob, or None when no shard lists it."""
        self._ensure()
        return self._blobs.get(digest)

    def known(self, root: str, path: str, size: int, mtime_ns: int) -> Optional[str]:
        """The hash a teammate recorded for this logical path at exactly this size and mtime: the
        team fast path, which saves reading the file at all."""
        self._ensure()
        return self._paths.get((root, path), {}).get((size, mtime_ns))

    def contains(self, entry: IndexEntry) -> bool:
        self._ensure()
        return entry.identity in self._facts

    def entries(self) -> List[IndexEntry]:
        """Every distinct fact, latest writer first-come (deduplicated by identity)."""
        self._ensure()
        seen: Dict[tuple, IndexEntry] = {}
        for key in sorted(self.shards):
            for e in self.shards[key]:
                seen.setdefault(e.identity, e)
        return list(seen.values())

    def blob_count(self) -> int:
        self._ensure()
        return len(self._blobs)

    # --- writing -------------------------------------------------------------------------
    def write_shard(self, entries: List[IndexEntry]) -> str:
        """Write one new shard (a conditional write: never replaces anything). Call only after
        every blob in ``entries`` is complete in the store."""
        data = encode_shard(entries)
        for _ in range(3):
            key = new_shard_key()
            try:
                written = self.backend.put_bytes(key, data, if_absent=True)
            except OSError as exc:  # a directory store that is full or read-only
                raise StoreError(f"store {self.backend.url}: cannot write {key} ({exc.strerror or exc})") from None
            if written:
                self.shards[key] = list(entries)
                self._cache_write(key, data)
                self._merge(entries)
                return key
        raise StoreError(f"store {self.backend.url}: could not write a new index shard")

    def compact(self) -> CompactReport:
        """Fold every shard into one snapshot; write it, then delete what it folded."""
        self.refresh()
        folded = sorted(self.shards)
        rep = CompactReport(shards_before=len(folded))
        if len(folded) < 2:
            return rep
        facts = self.entries()
        written = [self.write_shard(facts[i:i + SNAPSHOT_MAX]) for i in range(0, len(facts), SNAPSHOT_MAX)]
        rep.snapshot = written[0] if written else ""
        self.backend.delete_many(folded)  # only now: every folded entry is already in a snapshot
        for key in folded:
            self.shards.pop(key, None)
            self._cache_drop(key)
        rep.shards_folded, rep.entries = len(folded), len(facts)
        return rep

    def verify(self, deep: bool = False, threads: int = 8, progress: Optional[ProgressCallback] = None) -> VerifyReport:
        """Check that every indexed blob exists with its indexed size (one listing request per
        1000 blobs) and, with ``deep``, that its content hashes to its name (reads every blob)."""
        self.refresh()
        present = dict(self.backend.list(BLOB_PREFIX))
        rep = VerifyReport()
        sound: List[Tuple[str, int]] = []
        for digest, size in sorted(self._blobs.items()):
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
        return rep

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

    # --- the local shard cache -----------------------------------------------------------
    def _cache_path(self, key: str) -> Optional[Path]:
        return None if self.cache_dir is None else self.cache_dir / key.rsplit("/", 1)[-1]

    def _cache_read(self, key: str) -> Optional[List[IndexEntry]]:
        path = self._cache_path(key)
        if path is None or not path.is_file():
            return None
        try:
            return decode_shard(path.read_bytes(), key)
        except (StoreError, OSError):
            return None  # a damaged cache file: fetch the shard again

    def _cache_write(self, key: str, data: bytes) -> None:
        path = self._cache_path(key)
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, path)
        except OSError:
            pass  # the cache only saves requests

    def _cache_drop(self, key: str) -> None:
        path = self._cache_path(key)
        if path is not None:
            try:
                path.unlink()
            except OSError:
                pass
