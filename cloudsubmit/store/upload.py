"""Upload what a resolution found missing from the store, then record it in one index shard.

Every blob goes up through a reader that hashes exactly the bytes it hands to the backend and,
at the last byte, refuses (raises) if they do not hash to the blob's name or the file's size or
mtime moved: the backend then stores nothing (directory: the temp file is dropped; S3: the
single PUT is never sent or the multipart upload is aborted). So a blob is always exactly its
name, and the shard that lists it is written only after all its blobs are complete.

Resume: a blob already in the store with the right size (a crashed earlier run, a teammate a
second ago) is not sent again. Whether to ask per blob (HEAD) or list ``cas/`` (one request per
1000 blobs) is chosen by which costs fewer requests.

Small files go up in packs (``store/packs.py``, ``store.packs.*``): one request per tens of MB
instead of one per file; their index entries say which pack holds them and where."""
from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Callable, Collection, Dict, List, Optional, Set, Tuple

from ..errors import Cancelled, StoreError
from ..progress import ProgressCallback
from ..storekeys import BLOB_PREFIX, blob_key
from .backend import BytesCallback
from .blobs import FileChanged, put_verified
from .claims import probe_unchanged
from .index import IndexEntry, TeamIndex, current_user
from .packs import PackOutcome, PackSettings, check_packs, plan_packs, send_pack
from .reports import UploadReport
from .resolve import IN_STORE, REFUSED, TO_UPLOAD, FileState, Resolution
from .transfer import TransferItem, TransferSummary, run_transfers

if TYPE_CHECKING:
    from ..config import Config
    from .opener import Store


class UploadRefused(StoreError):
    """Some files changed while being uploaded and were left out; the rest were uploaded and
    recorded (``report``). Raised so no caller builds a job on files that are not in the store."""

    def __init__(self, report: "UploadReport") -> None:
        first = report.refused[0]
        super().__init__(f"{first['path']}: {first['reason']}; {len(report.refused)} file(s) not uploaded, run again")
        self.report = report


def _present_blobs(store: "Store", wanted: Dict[str, List[FileState]]) -> Optional[Dict[str, int]]:
    """Sizes of the wanted blobs that are in the store already, by one listing of ``cas/`` (its
    16 hex parts at once), or None when a HEAD per blob (run in the upload threads) is cheaper.
    A listed page costs about ten HEADs, and the store's size is estimated from the index's
    entry count (a sum over shards, not a walk over a million entries)."""
    pages = max(16, store.index.entry_count() // 1000 + 1)
    if pages * _PAGE_COST >= len(wanted):
        return None
    return {k[len(BLOB_PREFIX):]: s for k, s in store.backend.list_hex(BLOB_PREFIX, store.threads)
            if k[len(BLOB_PREFIX):] in wanted}


_PAGE_COST = 10  # HEADs one LIST page of 1000 keys is worth (wall time, S3 and moto alike)


def recheck_in_store(resolution: Resolution, store: "Store", progress: Optional[ProgressCallback] = None) -> Set[str]:
    """Put back to upload every file the index says is stored whose blob is gone, has the wrong
    size, or (read and hashed here) the wrong content: otherwise the index's word keeps a lost
    blob lost for ever. One listing of ``cas/``, then one download of each of this scene's blobs.
    Packed files: the packs holding them are read once each and every member hashed.
    Returns the hashes :func:`upload` must send even though a blob of that name exists."""
    stored = resolution.in_store
    if not stored:
        return set()
    packed = store.index.packed()
    loose = [f for f in stored if f.hash not in packed]
    present = {k[len(BLOB_PREFIX):]: s for k, s in store.backend.list(BLOB_PREFIX)} if loose else {}
    lost = {f.hash for f in loose if present.get(f.hash) != f.size}
    sound = sorted({(f.hash, f.size) for f in loose if f.hash not in lost})
    lost |= set(store.index.wrong_content(sound, store.threads, progress))
    mine = {f.hash: packed[f.hash] for f in stored if f.hash in packed}
    if mine:  # the packs holding this scene's small files: read once each, every member hashed
        lost |= check_packs(store.backend, mine, True, store.threads, progress).lost
    for f in stored:
        if f.hash in lost:
            f.state = TO_UPLOAD
    return lost


#: Sends one group of files that share a destination (a blob, or a mirror key) from the first
#: file that still holds what was hashed; returns the file sent, or None when nothing had to go.
SendGroup = Callable[[str, List[FileState], BytesCallback], Optional[FileState]]


def _send_blob(store: "Store", present: Optional[Dict[str, int]], force: Collection[str], digest: str,
               files: List[FileState], on_bytes: BytesCallback) -> Optional[FileState]:
    """Upload one blob from the first of ``files`` that still holds it. Returns the file sent,
    or None when a complete blob was already there (unless forced: its content is wrong)."""
    size = files[0].size
    if digest not in force:
        known = present.get(digest) if present is not None else store.backend.size(blob_key(digest))
        if known == size:
            return None
    return send_first(files, lambda fs: put_verified(store.backend, blob_key(digest), fs.path, size, fs.mtime_ns,
                                                     digest, on_bytes))


def send_first(files: List[FileState], put: Callable[[FileState], None]) -> FileState:
    """``put`` the first of ``files`` that is still what was hashed; :class:`FileChanged` when none is."""
    last: Optional[FileChanged] = None
    for fs in files:
        try:
            put(fs)
            return fs
        except FileChanged as exc:
            last = exc
    raise last or FileChanged("changed while being uploaded")


def _send_or_refuse(store: "Store", send: SendGroup, key: str, files: List[FileState],
                    on_bytes: BytesCallback) -> Tuple[Optional[FileState], Optional[FileChanged]]:
    """One group's outcome: ``(file sent or None, None)``, or ``(None, why)`` when every file
    holding it changed: a refused file is a result, not a reason to stop the others."""
    try:
        return send(key, files, on_bytes), None
    except FileChanged as exc:
        return None, exc
    except (StoreError, Cancelled):
        raise
    except Exception as exc:  # noqa: B902 - a write into the store failed (disk full, read-only share)
        raise _store_failure(store, exc) from None


def _run(store: "Store", items: List[TransferItem], progress: Optional[ProgressCallback],
         done: TransferSummary) -> Optional[BaseException]:
    """Run ``items``; the store failure or cancel that stopped them is returned, not raised, so
    what did complete (in ``done.results``) is recorded first."""
    try:
        run_transfers(items, threads=store.threads, stage="upload", progress=progress, summary=done)
    except (StoreError, Cancelled) as exc:
        return exc
    return None


def send_groups(store: "Store", groups: Dict[str, List[FileState]], send: SendGroup, rep: UploadReport,
                progress: Optional[ProgressCallback] = None) -> Optional[BaseException]:
    """Send every group in the transfer pool and count the outcomes into ``rep`` and the files'
    states (sent or already there: in store; changed: refused). Returns the store failure or
    cancel that stopped the run (raise it with :func:`finish` after recording what did land)."""
    items = [TransferItem(k, fs[0].size, partial(_send_or_refuse, store, send, k, fs)) for k, fs in groups.items()]
    done = TransferSummary()
    failure = _run(store, items, progress, done)
    for key, outcome in zip(groups, done.results):
        if outcome is not None:
            _land(rep, groups[key], *outcome)
    return failure


def finish(rep: UploadReport, failure: Optional[BaseException]) -> UploadReport:
    """Raise the run's failure, or :class:`UploadRefused` for changed files, once all is recorded."""
    if failure is not None:
        raise failure
    if rep.refused:
        raise UploadRefused(rep)
    return rep


def _send_pack(store: "Store", members: List[Tuple[str, List[FileState]]], on_bytes: BytesCallback) -> PackOutcome:
    try:
        return send_pack(store.backend, members, on_bytes)
    except (StoreError, Cancelled):
        raise
    except Exception as exc:  # noqa: B902 - a write into the store failed (disk full, read-only share)
        raise _store_failure(store, exc) from None


def upload(resolution: Resolution, store: "Store", config: Optional[Config] = None,
           progress: Optional[ProgressCallback] = None, force: Collection[str] = ()) -> UploadReport:
    """Send every blob ``resolution`` marked to upload (small files in packs), then write one
    index shard for the batch (the new content and every in-store file whose exact entry the index
    lacks). On cancel, a store failure or a file that changed (:class:`UploadRefused`), what did
    complete is still recorded, then the error is raised. File states in ``resolution`` are
    updated as content lands."""
    rep = UploadReport(store.url)
    by_hash: Dict[str, List[FileState]] = {}
    for f in resolution.to_upload:
        by_hash.setdefault(f.hash, []).append(f)
    groups, loose = plan_packs({d: fs[0].size for d, fs in by_hash.items()}, PackSettings.from_config(store.config))
    present = _present_blobs(store, {d: by_hash[d] for d in loose}) if loose else {}
    send = partial(_send_blob, store, present, force)
    items = [TransferItem(d, by_hash[d][0].size, partial(_send_or_refuse, store, send, d, by_hash[d])) for d in loose]
    items += [TransferItem(f"packs/ ({len(g)} files)", sum(by_hash[d][0].size for d in g),
                           partial(_send_pack, store, [(d, by_hash[d]) for d in g])) for g in groups]
    done = TransferSummary()
    failure = _run(store, items, progress, done)  # what did complete is still recorded below
    placed: Dict[str, Tuple[str, int]] = {}  # where this upload put content: (pack, offset), ("", 0) = cas
    for digest, outcome in zip(loose, done.results):
        if outcome is not None:
            sent, err = outcome
            _land(rep, by_hash[digest], sent, err)
            if err is None and sent is not None:
                placed[digest] = ("", 0)
    for outcome in done.results[len(loose):]:
        rep.packs += 1 if outcome is not None and outcome.pack else 0
        for digest, (offset, sent) in (outcome.placed.items() if outcome is not None else ()):
            _land(rep, by_hash[digest], sent, None)
            placed[digest] = (outcome.pack, offset)
        if outcome is not None:
            outcome.placed.clear()  # copied into ``placed``: a 100k-file upload holds one map, not two
        for digest, reason in (outcome.refused.items() if outcome is not None else ()):
            _land(rep, by_hash[digest], None, FileChanged(reason))
    rep.skipped_files += sum(1 for f in resolution.files if f.state == IN_STORE and f.hash not in by_hash)
    _record(resolution, store, rep, placed)
    return finish(rep, failure)


def _land(rep: UploadReport, files: List[FileState], sent: Optional[FileState], err: Optional[BaseException]) -> None:
    """Count one content's outcome: sent from ``sent`` (None: it was in the store already), or
    refused because every file holding it changed."""
    if err is None:
        rep.uploaded_files += 1 if sent is not None else 0
        rep.uploaded_bytes += sent.size if sent is not None else 0
        rep.skipped_files += len(files) - (1 if sent is not None else 0)
        for f in files:
            f.state = IN_STORE
    elif isinstance(err, FileChanged):
        reason = str(err)
        for f in files:
            f.state, f.reason = REFUSED, reason
            rep.refused.append({"path": f.path, "reason": reason})


def _store_failure(store: "Store", exc: BaseException) -> StoreError:
    """A write into the store failed (disk full, read-only share, ...): one line naming the store."""
    if isinstance(exc, OSError):
        return StoreError(f"store {store.url}: cannot write ({exc.strerror or exc})")
    return StoreError(f"store {store.url}: {type(exc).__name__}: {exc}")


_RECORD_BATCH = 5000  # files whose index facts are looked up at a time


def _record(resolution: Resolution, store: "Store", rep: UploadReport, placed: Dict[str, Tuple[str, int]]) -> None:
    """One shard for every file now in the store whose exact fact the index lacks, whose content
    this upload put somewhere else than the index says (a re-sent pack member), or whose content
    has no agreed probe yet (entries written before probes: one new entry gives the team fast
    path what its trust rule needs, store/claims.py). Batched queries, a slice of files at a
    time: the lookups of a 100,000-file upload never hold an entry per file at once."""
    stored = [f for f in resolution.files if f.state == IN_STORE]
    chosen: List[Tuple[FileState, str, int]] = []
    for start in range(0, len(stored), _RECORD_BATCH):
        chosen += _unrecorded(store.index, stored[start:start + _RECORD_BATCH], placed)
    record_files(store, rep, chosen)


def _unrecorded(index: TeamIndex, stored: List[FileState],
                placed: Dict[str, Tuple[str, int]]) -> List[Tuple[FileState, str, int]]:
    """``(file, pack, offset)`` of the files of one slice that :func:`_record` must write."""
    hashes = {f.hash for f in stored}
    was_at, agreed = index.locations(hashes), index.probes(hashes)
    wanted: List[Tuple[FileState, str, int, bool]] = []
    for f in stored:
        was = was_at.get(f.hash, ("", 0))
        pack, offset = placed.get(f.hash, was)
        wanted.append((f, pack, offset, (pack, offset) != was or f.hash not in agreed))
    new = {e.identity for e in index.new_facts([_entry(f) for f, _p, _o, _m in wanted])}
    return [(f, pack, offset) for f, pack, offset, must in wanted if must or _entry(f).identity in new]


def _entry(f: FileState, user: str = "", now: float = 0.0, pack: str = "", offset: int = 0,
           probe: str = "") -> IndexEntry:
    return IndexEntry(f.hash, f.size, f.root, f.logical, f.mtime_ns, user, now, pack, offset, probe=probe)


def record_files(store: "Store", rep: UploadReport, files: List[Tuple[FileState, str, int]]) -> None:
    """Write one index shard naming ``files`` (each complete in the store by now, ``(file, pack,
    offset)``; pack "" = its own blob or a mirror key) with each file's probe, then compact when
    the index has grown past ``store.compact_after`` shards."""
    import time

    if not files:
        return
    user, now = current_user(), time.time()
    rep.shard = store.index.write_shard([_entry(f, user, now, pack, offset, probe_unchanged(f))
                                         for f, pack, offset in files])
    rep.indexed_files = len(files)
    _maybe_compact(store)


def _maybe_compact(store: "Store") -> None:
    """Keep a fresh machine's first read of the index to a few requests. Compaction is safe with
    any number of concurrent writers and compactors; if it fails, the upload has still succeeded."""
    limit = int(store.config.get("store.compact_after", 0) or 0)
    if limit and store.index.shard_count() > limit:
        try:
            store.index.compact()
        except StoreError:
            pass
