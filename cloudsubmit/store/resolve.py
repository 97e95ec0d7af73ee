"""Resolve a set of files against the team store: which are in the store already, which must be
uploaded, which are missing or refused.

The cheapest answer wins, in order: the per-machine hash cache (path, size, mtime, inode
unchanged: the file is not read at all), the team fast path (the index has this logical path at
this size and mtime, and the claim passes the trust rule in ``claims.py``: at most three 4 KiB
windows are read, and a claim this machine's probe confirmed before, with the file unchanged
since, is not read again), and only then hashing. A file that changes while it is being hashed is
refused rather than recorded with a hash that describes neither version."""
from __future__ import annotations

import json
import json.encoder
import os
import stat as statmod
import sys
from dataclasses import dataclass, field, fields
from functools import partial
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from ..gc_pause import paused_gc
from ..paths import normpath
from ..progress import ProgressCallback
from ..vocabulary import IN_STORE, MISSING, REFUSED, TO_UPLOAD
from .backend import BytesCallback
from .blobs import FileChanged
from .claims import NEVER, PROBE, take_claims, trust_mode
from .hashcache import FileStat
from .hashing import hash_file
from .transfer import TransferItem, run_transfers
from .roots import Roots

if TYPE_CHECKING:
    from ..config import Config
    from .opener import Store



# No instance dict where dataclasses allow it (3.10+; a DCC's 3.9 gets the plain class): a
# 100,000-file resolution holds one of these per file.
@dataclass(**({"slots": True} if sys.version_info >= (3, 10) else {}))
class FileState:
    path: str                 # local, normalised, forward slashes
    state: str = ""
    root: str = ""
    logical: str = ""         # root-relative POSIX path
    size: int = 0
    mtime_ns: int = 0
    inode: int = 0
    ctime_ns: int = 0         # keys a probed claim in the hash cache (store/hashcache.py)
    hash: str = ""
    via: str = ""             # how the hash was known: "team", "cache", "hashed"
    reason: str = ""          # why missing or refused

    @property
    def stat(self) -> FileStat:
        return FileStat(self.path, self.size, self.mtime_ns, self.inode, self.ctime_ns)

    def to_dict(self) -> Dict[str, Any]:
        """Every field by name (scalars only, so no deep copy: asdict costs ~50x more per file)."""
        return dict(zip(_FILE_STATE_FIELDS, _row(self)))


_FILE_STATE_FIELDS = tuple(f.name for f in fields(FileState))
_row = attrgetter(*_FILE_STATE_FIELDS)
_TEXT_FIELDS = tuple(i for i, f in enumerate(fields(FileState)) if f.type == "str")
#: one entry as ``json.dumps(f.to_dict())`` writes it, each value put in by ``%`` (ints as
#: ``str`` gives them, which is what JSON writes; strings already JSON-encoded)
_ENTRY_TEXT = "{" + ", ".join(f"{json.dumps(name)}: %s" for name in _FILE_STATE_FIELDS) + "}"
_encode_text = getattr(json.encoder, "c_encode_basestring", None) or json.encoder.py_encode_basestring


@dataclass
class Resolution:
    store_url: str
    files: List[FileState] = field(default_factory=list)

    def _with(self, state: str) -> List[FileState]:
        return [f for f in self.files if f.state == state]

    @property
    def in_store(self) -> List[FileState]:
        return self._with(IN_STORE)

    @property
    def to_upload(self) -> List[FileState]:
        return self._with(TO_UPLOAD)

    @property
    def missing(self) -> List[FileState]:
        return self._with(MISSING)

    @property
    def refused(self) -> List[FileState]:
        return self._with(REFUSED)

    @property
    def to_upload_files(self) -> int:
        return len(self.to_upload)

    @property
    def skipped_files(self) -> int:
        """Files that need no upload: their content is in the store already."""
        return len(self.in_store)

    @property
    def to_upload_bytes(self) -> int:
        """Bytes of distinct content to send (two paths with the same bytes are sent once)."""
        return sum({f.hash: f.size for f in self.to_upload}.values())

    def summary(self) -> Dict[str, Any]:
        """The counts, in one pass over the files (a 100k-file shot is walked once, not per count)."""
        by_state: Dict[str, List[FileState]] = {IN_STORE: [], TO_UPLOAD: [], MISSING: [], REFUSED: []}
        hashed = 0
        for f in self.files:
            by_state.setdefault(f.state, []).append(f)
            hashed += f.via == "hashed"
        sending = by_state[TO_UPLOAD]
        return {
            "store": self.store_url,
            "files": len(self.files),
            "to_upload_files": len(sending),
            "to_upload_bytes": sum({f.hash: f.size for f in sending}.values()),
            "skipped_files": len(by_state[IN_STORE]),
            "skipped_bytes": sum(f.size for f in by_state[IN_STORE]),
            "hashed_files": hashed,
            "missing": [f.path for f in by_state[MISSING]],
            "refused": [{"path": f.path, "reason": f.reason} for f in by_state[REFUSED]],
        }

    def entry_texts(self, batch: int = 1000) -> Iterator[List[str]]:
        """Each file's :meth:`FileState.to_dict` as ``json.dumps(..., ensure_ascii=False)``
        writes it, ``batch`` at a time, in C-level passes over columns (one ``attrgetter``
        call per file, then ``map``s): the same bytes without a dict per file, for ``resolve --json``."""
        for start in range(0, len(self.files), batch):
            columns: List[Iterable[Any]] = list(zip(*map(_row, self.files[start:start + batch])))
            for i in _TEXT_FIELDS:
                columns[i] = map(_encode_text, columns[i])
            yield list(map(_ENTRY_TEXT.__mod__, zip(*columns)))

    def to_dict(self) -> Dict[str, Any]:
        out = self.summary()
        out["entries"] = [f.to_dict() for f in self.files]
        return out


def _unique_paths(paths: Iterable[str]) -> List[str]:
    """``paths`` normalised, each once, in first-seen order. A path already as normpath returns
    it (absolute POSIX, no "."/".."/empty part, no trailing slash) skips the work: one test
    instead of a dozen calls per file; the duplicates go in C (``dict.fromkeys``)."""
    out: List[str] = []
    respelled = False
    for raw in dict.fromkeys(paths):
        if (type(raw) is str and raw[:1] == "/" and "//" not in raw and "/." not in raw
                and "\\" not in raw and raw[-1:] != "/"):
            out.append(raw)
        else:
            out.append(normpath(os.fspath(raw)))
            respelled = True
    return list(dict.fromkeys(out)) if respelled else out


def _stat_all(paths: Iterable[str], roots: Roots) -> List[FileState]:
    """One :class:`FileState` per distinct file, stat'ed; each folder is mapped to its root once
    (a shot's files share few folders) and each state is built in one call."""
    files: List[FileState] = []
    append = files.append
    folders: Dict[str, Tuple[str, str]] = {}  # folder -> (root, logical prefix); ("", "") = ask per file
    stat = os.stat
    for path in _unique_paths(paths):
        folder, _, name = path.rpartition("/")
        where = folders.get(folder)
        if where is None:
            root, logical = roots.logical(path, normalised=True)
            prefixed = bool(name) and logical.endswith("/" + name) or logical == name
            where = folders[folder] = (root, logical[:len(logical) - len(name)]) if prefixed else ("", "")
        if where[0]:
            root, logical = where[0], where[1] + name
        else:  # a folder a root does not map name by name (a root at the file itself)
            root, logical = roots.logical(path, normalised=True)
        try:
            st = stat(path)
        except FileNotFoundError:
            append(FileState(path, MISSING, root, logical, reason="no such file"))
        except OSError as exc:
            append(FileState(path, REFUSED, root, logical, reason=exc.strerror or str(exc)))
        except ValueError:  # a NUL in the path: no file system can hold it
            append(FileState(path, REFUSED, root, logical, reason="the path contains a NUL character"))
        else:
            if st.st_mode & 0o170000 != statmod.S_IFREG:
                append(FileState(path, REFUSED, root, logical, reason="not a regular file"))
            else:
                append(FileState(path, "", root, logical, st.st_size, st.st_mtime_ns, st.st_ino % (1 << 63),
                                 st.st_ctime_ns))
    return files


def hash_checked(fs: FileState, on_bytes=None) -> str:
    """Hash ``fs.path`` and prove it did not change meanwhile (size and mtime before == after)."""
    digest = hash_file(fs.path, on_bytes)
    after = FileStat.of(fs.path)
    if (after.size, after.mtime_ns) != (fs.size, fs.mtime_ns):
        raise FileChanged("changed while being read")
    return digest


def resolve(paths: Iterable[str], store: "Store", config: Optional[Config] = None,
            progress: Optional[ProgressCallback] = None, trust_team: bool = True) -> Resolution:
    """Classify ``paths`` (local files, any platform spelling) against ``store``. This machine's
    own hash cache answers first (no read at all), then a teammate's claim that passes
    ``store.trust_team_index`` (store/claims.py), then a hash. With ``trust_team`` False
    (``upload --recheck``) no claim is used: every file's hash is this machine's own."""
    config = store.config if config is None else config
    with paused_gc():  # 10^5 file states and rows, no cycles: no collector walking them meanwhile
        res = Resolution(store.url, _stat_all(paths, Roots.from_config(config)))
        live = [f for f in res.files if not f.state]
        index = store.index.refresh()  # one listing; a long-lived panel sees teammates' new shards
        cache = store.hash_cache
        mode = trust_mode(config) if trust_team else NEVER
        cached, seen = cache.known(live, probed=mode == PROBE) if live else ({}, {})  # one read for both
        unknown = []
        for f in live:
            digest = cached.get(f.path)
            if digest is None:
                unknown.append(f)
            else:
                f.hash, f.via = digest, "cache"
        confirmed = take_claims(unknown, index, mode, store.threads, seen)
        cache.put_probed((f.stat, f.hash, probe) for f, probe in confirmed)
        _hash_missing([f for f in unknown if not f.hash], store, progress)
        absent = index.missing_at([(f.root, f.logical, f.size, f.hash) for f in live if f.via != "team" and f.hash])
        for f in live:  # team claims: their blobs were checked with the claim
            if not f.state:
                f.state = TO_UPLOAD if f.via != "team" and (f.hash, f.size) in absent else IN_STORE
    return res


def _hash_missing(todo: List[FileState], store: "Store", progress: Optional[ProgressCallback]) -> None:
    """Hash ``todo`` on the transfer threads. Each file's outcome is taken as it comes and the
    hash cache gets its rows ``_CACHE_BATCH`` at a time: a 100,000-file first upload never holds
    an item, a result and a cache row per file (about 800 bytes each) at once."""
    if not todo:
        return  # nothing to read: no progress either (the team fast path is silent)
    fresh: List[Tuple[FileStat, str]] = []

    def landed(i: int, outcome: Tuple[str, Optional[str]]) -> None:
        f, (digest, reason) = todo[i], outcome
        if reason is None:
            f.hash, f.via = digest, "hashed"
            fresh.append((f.stat, digest))
            if len(fresh) >= _CACHE_BATCH:
                store.hash_cache.put_many(fresh)
                fresh.clear()
        else:
            f.state, f.reason = REFUSED, reason

    try:
        run_transfers(_HashItems(todo), threads=min(store.threads, os.cpu_count() or 2), stage="hash",
                      progress=progress, on_result=landed)
    finally:  # cancelled or not, what was hashed is never read again
        store.hash_cache.put_many(fresh)


_CACHE_BATCH = 10_000  # hash cache rows per write while hashing (each write rewrites the folder rows it touches)


class _HashItems(Sequence[TransferItem]):
    """The hash jobs of ``files``, each made when the transfer runner asks for it."""

    def __init__(self, files: List[FileState]) -> None:
        self.files = files

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i):  # type: ignore[override]  # the runner asks by position only
        f = self.files[i]
        return TransferItem(f.path, f.size, partial(_hash_or_refuse, f))


def _hash_or_refuse(f: FileState, on_bytes: BytesCallback) -> Tuple[str, Optional[str]]:
    """``(digest, None)``, or ``("", why)`` for a file that changed or cannot be read: refused
    on its own, the others are still hashed."""
    try:
        return hash_checked(f, on_bytes), None
    except FileChanged as exc:
        return "", str(exc)
    except OSError as exc:
        return "", exc.strerror or str(exc)
