"""Upload what a resolution found missing from the store, then record it in one index shard.

Every blob goes up through a reader that hashes exactly the bytes it hands to the backend and,
at the last byte, refuses (raises) if they do not hash to the blob's name or the file's size or
mtime moved: the backend then stores nothing (directory: the temp file is dropped; S3: the
single PUT is never sent or the multipart upload is aborted). So a blob is always exactly its
name, and the shard that lists it is written only after all its blobs are complete.

Resume: a blob already in the store with the right size (a crashed earlier run, a teammate a
second ago) is not sent again. Whether to ask per blob (HEAD) or list ``cas/`` (one request per
1000 blobs) is chosen by which costs fewer requests."""
from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Collection, Dict, List, Optional, Set, Tuple

from ..errors import Cancelled, StoreError
from ..progress import ProgressCallback
from ..storekeys import BLOB_PREFIX, blob_key
from .backend import BytesCallback
from .blobs import FileChanged, put_verified
from .index import IndexEntry, current_user
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
    Returns the hashes :func:`upload` must send even though a blob of that name exists."""
    stored = resolution.in_store
    if not stored:
        return set()
    present = {k[len(BLOB_PREFIX):]: s for k, s in store.backend.list(BLOB_PREFIX)}
    lost = {f.hash for f in stored if present.get(f.hash) != f.size}
    sound = sorted({(f.hash, f.size) for f in stored if f.hash not in lost})
    lost |= set(store.index.wrong_content(sound, store.threads, progress))
    for f in stored:
        if f.hash in lost:
            f.state = TO_UPLOAD
    return lost


def _send_blob(store: "Store", digest: str, files: List[FileState], present: Optional[Dict[str, int]],
               on_bytes: BytesCallback, force: bool = False) -> Optional[FileState]:
    """Upload one blob from the first of ``files`` that still holds it. Returns the file sent,
    or None when a complete blob was already there (unless ``force``: its content is wrong)."""
    size = files[0].size
    known = None if force else present.get(digest) if present is not None else store.backend.size(blob_key(digest))
    if known == size:
        return None
    last: Optional[FileChanged] = None
    for fs in files:
        try:
            put_verified(store.backend, blob_key(digest), fs.path, size, fs.mtime_ns, digest, on_bytes)
            return fs
        except FileChanged as exc:
            last = exc
    raise last or FileChanged("changed while being uploaded")


def _send_or_refuse(store: "Store", digest: str, files: List[FileState], present: Optional[Dict[str, int]],
                    force: bool, on_bytes: BytesCallback) -> Tuple[Optional[FileState], Optional[FileChanged]]:
    """One blob's outcome: ``(file sent or None, None)``, or ``(None, why)`` when every file
    holding it changed: a refused file is a result, not a reason to stop the others."""
    try:
        return _send_blob(store, digest, files, present, on_bytes, force), None
    except FileChanged as exc:
        return None, exc
    except (StoreError, Cancelled):
        raise
    except Exception as exc:  # noqa: B902 - a write into the store failed (disk full, read-only share)
        raise _store_failure(store, exc) from None


def upload(resolution: Resolution, store: "Store", config: Optional[Config] = None,
           progress: Optional[ProgressCallback] = None, force: Collection[str] = ()) -> UploadReport:
    """Send every blob ``resolution`` marked to upload, then write one index shard for the batch
    (the new blobs and every in-store file whose exact entry the index lacks). On cancel, a store
    failure or a file that changed (:class:`UploadRefused`), the blobs that did complete are still
    recorded, then the error is raised. File states in ``resolution`` are updated as blobs land."""
    rep = UploadReport(store.url)
    by_hash: Dict[str, List[FileState]] = {}
    for f in resolution.to_upload:
        by_hash.setdefault(f.hash, []).append(f)
    present = _present_blobs(store, by_hash) if by_hash else {}
    items = [TransferItem(d, fs[0].size, partial(_send_or_refuse, store, d, fs, present, d in force))
             for d, fs in by_hash.items()]
    done = TransferSummary()
    failure: Optional[BaseException] = None
    try:
        run_transfers(items, threads=store.threads, stage="upload", progress=progress, summary=done)
    except (StoreError, Cancelled) as exc:
        failure = exc  # what did complete is still recorded below
    for digest, outcome in zip(by_hash, done.results):
        if outcome is None:
            continue
        files, (sent, err) = by_hash[digest], outcome
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
    rep.skipped_files += sum(1 for f in resolution.files if f.state == IN_STORE and f.hash not in by_hash)
    _record(resolution, store, rep)
    if failure is not None:
        raise failure
    if rep.refused:
        raise UploadRefused(rep)
    return rep


def _store_failure(store: "Store", exc: BaseException) -> StoreError:
    """A write into the store failed (disk full, read-only share, ...): one line naming the store."""
    if isinstance(exc, OSError):
        return StoreError(f"store {store.url}: cannot write ({exc.strerror or exc})")
    return StoreError(f"store {store.url}: {type(exc).__name__}: {exc}")


def _record(resolution: Resolution, store: "Store", rep: UploadReport) -> None:
    """One shard for every file now in the store whose exact fact the index lacks."""
    import time

    user, now = current_user(), time.time()
    entries = store.index.new_facts([IndexEntry(f.hash, f.size, f.root, f.logical, f.mtime_ns, user, now)
                                     for f in resolution.files if f.state == IN_STORE])
    if entries:
        rep.shard = store.index.write_shard(entries)
        rep.indexed_files = len(entries)
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
