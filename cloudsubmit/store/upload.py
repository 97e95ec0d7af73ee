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

import os
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

from ..errors import Cancelled, StoreError
from ..progress import ProgressCallback
from .backend import BLOB_PREFIX, Backend, BytesCallback, blob_key
from .index import IndexEntry, current_user
from .transfer import TransferItem, TransferSummary, run_transfers
from .resolve import IN_STORE, REFUSED, TO_UPLOAD, FileChanged, FileState, Resolution

if TYPE_CHECKING:
    from . import Store


@dataclass
class UploadReport:
    store_url: str
    uploaded_files: int = 0
    uploaded_bytes: int = 0
    skipped_files: int = 0          # already in the store: indexed, or a complete blob found there
    indexed_files: int = 0          # entries in the new shard
    shard: str = ""
    refused: List[Dict[str, str]] = field(default_factory=list)

    def summary(self) -> Dict[str, Any]:
        return {
            "store": self.store_url, "uploaded_files": self.uploaded_files, "uploaded_bytes": self.uploaded_bytes,
            "skipped_files": self.skipped_files, "indexed_files": self.indexed_files, "shard": self.shard,
            "refused": list(self.refused),
        }


class UploadRefused(StoreError):
    """Some files changed while being uploaded and were left out; the rest were uploaded and
    recorded (``report``). Raised so no caller builds a job on files that are not in the store."""

    def __init__(self, report: "UploadReport") -> None:
        first = report.refused[0]
        super().__init__(f"{first['path']}: {first['reason']}; {len(report.refused)} file(s) not uploaded, run again")
        self.report = report


class VerifyingReader:
    """Reads one file for upload, hashing as it goes; raises :class:`FileChanged` before handing
    out the last byte if the content or the file's size/mtime is not what was hashed before.
    Handed to :meth:`Backend.put_fileobj`, which then stores nothing: inputs and render outputs
    alike, a blob is always exactly its name."""

    def __init__(self, path: str, size: int, mtime_ns: int, digest: str, on_bytes: BytesCallback) -> None:
        import xxhash

        self.path, self.size, self.mtime_ns, self.digest, self.on_bytes = path, size, mtime_ns, digest, on_bytes
        try:
            self.f = open(path, "rb")
        except OSError as exc:  # the source, not the store: the file is refused, the upload goes on
            raise FileChanged(f"cannot read ({exc.strerror or exc})") from None
        try:
            self._check_stat()
        except FileChanged:
            self.f.close()
            raise
        self.h = xxhash.xxh3_128()
        self.n = 0
        self.reported = 0  # bytes passed to on_bytes: a backend that reads the body twice counts it once

    def _check_stat(self) -> None:
        st = os.fstat(self.f.fileno())
        if (st.st_size, st.st_mtime_ns) != (self.size, self.mtime_ns):
            raise FileChanged("changed since it was hashed")

    def __len__(self) -> int:
        """Bytes left to read: lets an HTTP client send the body in blocks with its length known."""
        return self.size - self.n

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.n

    def seek(self, offset: int, whence: int = 0) -> int:
        """Only a rewind to the start (a client reading the body again for its checksum, its
        signature or a retry): every pass is verified again from the first byte."""
        if (offset, whence) != (0, 0):
            raise OSError(f"{self.path}: the upload reader can only rewind to the start")
        self.f.seek(0)
        self.h.reset()
        self.n = 0
        return 0

    def read(self, amount: int = -1) -> bytes:
        try:
            data = self.f.read(amount if amount and amount > 0 else -1)
        except OSError as exc:
            raise FileChanged(f"cannot read ({exc.strerror or exc})") from None
        self.n += len(data)
        if self.n > self.reported:
            self.on_bytes(self.n - self.reported)  # raises Cancelled when asked to stop
            self.reported = self.n
        self.h.update(data)
        if self.n > self.size or (not data and self.n < self.size):
            raise FileChanged("changed while being uploaded")
        if data and self.n == self.size:
            if self.f.read(1) or self.h.hexdigest() != self.digest:
                raise FileChanged("changed while being uploaded")
            self._check_stat()
        return data

    def close(self) -> None:
        self.f.close()


def put_verified(backend: Backend, key: str, path: str, size: int, mtime_ns: int, digest: str,
                 on_bytes: BytesCallback) -> None:
    """Store the file at ``path`` under ``key`` only if it is still exactly what was hashed as
    ``digest`` (size, mtime and content); otherwise raise :class:`FileChanged`, storing nothing."""
    reader = VerifyingReader(path, size, mtime_ns, digest, on_bytes)
    try:
        backend.put_fileobj(key, reader, size=size)
    finally:
        reader.close()


def _present_blobs(store: "Store", wanted: Dict[str, List[FileState]]) -> Optional[Dict[str, int]]:
    """Sizes of the wanted blobs that are in the store already, by one listing, or None when a
    HEAD per blob is cheaper than listing every blob."""
    pages = store.index.blob_count() // 1000 + 1
    if pages >= len(wanted):
        return None
    return {k[len(BLOB_PREFIX):]: s for k, s in store.backend.list(BLOB_PREFIX) if k[len(BLOB_PREFIX):] in wanted}


def recheck_in_store(resolution: Resolution, store: "Store") -> int:
    """Put back to upload every file the index says is stored whose blob is gone or has the
    wrong size (what ``index verify`` reports): otherwise the index's word keeps a lost blob lost
    for ever. One listing of ``cas/`` (one request per 1000 blobs). Returns how many files moved."""
    stored = resolution.in_store
    if not stored:
        return 0
    present = {k[len(BLOB_PREFIX):]: s for k, s in store.backend.list(BLOB_PREFIX)}
    lost = [f for f in stored if present.get(f.hash) != f.size]
    for f in lost:
        f.state = TO_UPLOAD
    return len(lost)


def _send_blob(store: "Store", digest: str, files: List[FileState], present: Optional[Dict[str, int]],
               on_bytes: BytesCallback) -> Optional[FileState]:
    """Upload one blob from the first of ``files`` that still holds it. Returns the file sent,
    or None when a complete blob was already there."""
    size = files[0].size
    known = present.get(digest) if present is not None else store.backend.size(blob_key(digest))
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
                    on_bytes: BytesCallback) -> Tuple[Optional[FileState], Optional[FileChanged]]:
    """One blob's outcome: ``(file sent or None, None)``, or ``(None, why)`` when every file
    holding it changed: a refused file is a result, not a reason to stop the others."""
    try:
        return _send_blob(store, digest, files, present, on_bytes), None
    except FileChanged as exc:
        return None, exc
    except (StoreError, Cancelled):
        raise
    except Exception as exc:  # noqa: B902 - a write into the store failed (disk full, read-only share)
        raise _store_failure(store, exc) from None


def upload(resolution: Resolution, store: "Store", config: Any = None,
           progress: Optional[ProgressCallback] = None) -> UploadReport:
    """Send every blob ``resolution`` marked to upload, then write one index shard for the batch
    (the new blobs and every in-store file whose exact entry the index lacks). On cancel, a store
    failure or a file that changed (:class:`UploadRefused`), the blobs that did complete are still
    recorded, then the error is raised. File states in ``resolution`` are updated as blobs land."""
    rep = UploadReport(store.url)
    by_hash: Dict[str, List[FileState]] = {}
    for f in resolution.to_upload:
        by_hash.setdefault(f.hash, []).append(f)
    present = _present_blobs(store, by_hash) if by_hash else {}
    items = [TransferItem(d, fs[0].size, partial(_send_or_refuse, store, d, fs, present)) for d, fs in by_hash.items()]
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
    entries = []
    for f in resolution.files:
        if f.state != IN_STORE:
            continue
        e = IndexEntry(f.hash, f.size, f.root, f.logical, f.mtime_ns, user, now)
        if not store.index.contains(e):
            entries.append(e)
    if entries:
        rep.shard = store.index.write_shard(entries)
        rep.indexed_files = len(entries)
        _maybe_compact(store)


def _maybe_compact(store: "Store") -> None:
    """Keep a fresh machine's first read of the index to a few requests. Compaction is safe with
    any number of concurrent writers and compactors; if it fails, the upload has still succeeded."""
    limit = int(store.config.get("store.compact_after", 0) or 0) if store.config is not None else 0
    if limit and len(store.index.shards) > limit:
        try:
            store.index.compact()
        except StoreError:
            pass
