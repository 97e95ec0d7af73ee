"""Put a job's inputs on a render node: store -> node-local blob cache -> session directory.

Why a node cache: a cloud node renders many chunks of one shot, and often several shots that share
textures. Blobs land once in ``store.transfer.node_cache`` (content-addressed, verified by hash on
arrival, renamed into place, read-only), and every job gets hard links into its own session
directory ``<session>/<root>/<path>``: two jobs on one node download a blob once and the session
costs no disk. Where linking fails (another filesystem, Windows without rights) the file is copied.

Several render slots on one node materialise at the same time; a per-blob lock file makes the second
process wait for the first one's download instead of repeating it, and the atomic rename means no
process ever links a partial blob even where locking is unavailable.

Packed small files (``store/packs.py``) come by ranged GETs, one per run of nearby members of a
pack (the whole pack in one when the job needs it all); each file is hashed as it arrives and
checked against the manifest before it is renamed into the cache, exactly like a blob.

The result carries the path-mapping rules ``(original root, session root)`` from which the render
stage writes Maya dirmap, ``HOUDINI_PATHMAP`` or ``ARNOLD_PATHMAP``."""
from __future__ import annotations

import contextlib
import os
import shutil
import sys
import time
import uuid
from functools import partial
from pathlib import Path
from typing import Dict, Iterator, Optional, Tuple

from ..config import Config
from ..paths import normpath
from ..progress import ProgressCallback, ProgressReport, report
from ..storekeys import blob_key, pack_key
from .backend import Backend, BytesCallback
from .blobs import fetch_verified, receive_verified
from .manifest import Manifest, ManifestEntry, read_inputs
from .packs import Member, Span, SpanReader, spans
from .pathmap import session_rules
from .reports import MaterialiseReport
from .transfer import TransferItem, run_transfers

_REPORT_EVERY = 500  # files linked between two progress reports
_STALE_TEMP_S = 3600  # a download temp file untouched this long belongs to a killed process


def node_cache_dir(config: Optional[Config] = None) -> str:
    """``store.transfer.node_cache`` or the user's cache folder. On cloud nodes the render slots
    run as one account (``SLOTn_USER = condor``), so all slots share this one cache."""
    configured = (config if config is not None else Config.defaults()).get("store.transfer.node_cache", "")
    if configured:
        return configured
    from .dirs import user_cache_dir

    return str(user_cache_dir() / "blobs")


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive inter-process lock (flock on POSIX, msvcrt on Windows); released on close,
    so a killed process never leaves a stale lock behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(str(path), os.O_RDWR | os.O_CREAT, 0o666)
    try:
        if sys.platform == "win32":
            import msvcrt

            while True:
                try:
                    msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
                    break
                except OSError:
                    continue
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX)
            while not _same_file(fd, path):  # `index gc` removed it while we waited: lock the new one
                os.close(fd)
                fd = os.open(str(path), os.O_RDWR | os.O_CREAT, 0o666)
                fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.fstat(fd).st_ino == os.stat(str(path)).st_ino
    except OSError:
        return False


def remove_idle_locks(root: str) -> int:
    """Delete the node cache's lock files that no live process holds (one is made per blob ever
    fetched, and they add up); a lock is taken without waiting before its file is removed, and
    a process that was waiting on it re-locks the path (see :func:`_file_lock`)."""
    try:
        import fcntl
    except ImportError:  # Windows: locks are byte ranges in files that stay; nothing to collect
        return 0
    removed = 0
    for lock in sorted(Path(root, "locks").glob("*.lock")):
        try:
            fd = os.open(str(lock), os.O_RDWR)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if _same_file(fd, lock):
                os.unlink(str(lock))
                removed += 1
        except OSError:
            pass  # held by a live download
        finally:
            os.close(fd)
    return removed


def _remove(path: Path) -> None:
    try:
        os.unlink(str(path))
    except OSError:
        pass


class NodeCache:
    """Content-addressed blobs on one machine: ``<root>/<hash[:2]>/<hash>``."""

    def __init__(self, root: str) -> None:
        self.root = Path(root)

    def blob_path(self, digest: str) -> Path:
        return self.root / digest[:2] / digest

    def has(self, digest: str, size: int) -> bool:
        try:
            return self.blob_path(digest).stat().st_size == size
        except OSError:
            return False

    def fetch(self, backend: Backend, digest: str, size: int, mtime_ns: int, on_bytes: BytesCallback) -> bool:
        """Make sure the blob is in the cache; True if this call downloaded it."""
        with _file_lock(self.root / "locks" / (digest + ".lock")):
            if self.has(digest, size):
                return False
            # read-only: session links share the inode, so nobody edits a blob through one
            fetch_verified(backend, digest, size, str(self.blob_path(digest)), mtime_ns, on_bytes, read_only=True)
        return True

    def fetch_span(self, backend: Backend, span: Span, mtimes: Dict[str, int], on_bytes: BytesCallback) -> int:
        """Make sure every member of ``span`` is in the cache, reading the ones still missing with
        one ranged GET; returns how many this call wrote. Each member is verified against its
        hash before it is renamed into place. One lock per pack, not per member (thousands of
        small files): a second slot waits, then finds them cached; a slot fetching the same
        content as a blob at that moment writes an identical verified file, renamed atomically."""
        key = pack_key(span.pack)
        with _file_lock(self.root / "locks" / (span.pack + ".pack.lock")):
            todo = [m for m in span.members if not self.has(m.digest, m.size)]
            if not todo:
                return 0
            start, end = todo[0].offset, max(m.end for m in todo)
            with backend.read_range(key, start, end - start) as raw:
                stream = SpanReader(raw, start, f"{backend.url}/{key}")
                for m in todo:
                    stream.skip_to(m.offset)
                    receive_verified(stream, m.digest, m.size, str(self.blob_path(m.digest)), mtimes[m.digest],
                                     on_bytes, f"{backend.url}/{key} at {m.offset}", read_only=True)
        return len(todo)

    def prune(self, max_bytes: int) -> Tuple[int, int]:
        """Delete blobs no session links to (link count 1), least recently linked first, until the
        cache holds at most ``max_bytes``. Each removal holds the blob's lock, so a download in
        progress is never cut short. Temp files of killed downloads (untouched for an hour: ctime
        moves with every write) go too. Returns ``(blobs removed, bytes freed)``."""
        stale = time.time() - _STALE_TEMP_S
        for p in self.root.glob("??/.tmp-*"):
            with contextlib.suppress(OSError):
                if p.stat().st_ctime < stale:
                    p.unlink()
        blobs = []
        for p in self.root.glob("??/*"):
            if not p.name.startswith(".tmp-"):
                with contextlib.suppress(OSError):
                    blobs.append((p, p.stat()))
        total = sum(st.st_size for _p, st in blobs)
        removed = freed = 0
        # ctime changes whenever a link is made or removed: the last time a session used the blob
        for p, st in sorted(blobs, key=lambda b: b[1].st_ctime_ns):
            if total - freed <= max_bytes:
                break
            with _file_lock(self.root / "locks" / (p.name + ".lock")):
                with contextlib.suppress(OSError):
                    if os.stat(str(p)).st_nlink == 1:
                        os.unlink(str(p))
                        removed, freed = removed + 1, freed + st.st_size
        return removed, freed


def place_file(src: Path, dest: Path) -> str:
    """Hard-link ``src`` at ``dest`` (copy if linking fails), replacing what is there atomically.
    Returns "link", "copy" or "present" (already that very file)."""
    with contextlib.suppress(OSError):
        if os.path.samefile(str(src), str(dest)):
            return "present"
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.parent / f".tmp-{dest.name}-{uuid.uuid4().hex[:8]}"
    try:
        try:
            os.link(str(src), str(tmp))
            how = "link"
        except OSError:
            shutil.copyfile(str(src), str(tmp))
            st = src.stat()
            os.utime(str(tmp), ns=(st.st_atime_ns, st.st_mtime_ns))
            how = "copy"
        os.replace(str(tmp), str(dest))
    finally:
        _remove(tmp)
    return how


def remove_session(session: str) -> None:
    """Delete a session folder after the job. Its files are read-only links into the node cache;
    POSIX deletes them anyway, Windows refuses, so there the flag is cleared and the delete retried."""
    def clear_and_retry(func, path, _exc) -> None:
        if os.name == "nt":
            os.chmod(path, 0o666)
            func(path)

    if os.path.isdir(session):
        shutil.rmtree(session, onerror=clear_and_retry)


def materialise(
    backend: Backend,
    job_id: str,
    session: str,
    *,
    cache_dir: Optional[str] = None,
    threads: int = 8,
    progress: Optional[ProgressCallback] = None,
    manifest: Optional[Manifest] = None,
    max_cache_bytes: int = 0,
    range_gap: int = 1024 * 1024,
) -> MaterialiseReport:
    """Download what the job needs into the node cache (once per blob or packed file) and link it
    into ``<session>/<root>/<path>``. Returns the report with the path-mapping rules. With
    ``max_cache_bytes``, blobs no session uses any more are then pruned down to that size.
    ``range_gap``: two needed files of a pack with less than this between them share a GET."""
    start = time.monotonic()
    m = manifest if manifest is not None else read_inputs(backend, job_id)
    cache = NodeCache(cache_dir or node_cache_dir())
    mtimes = {e.hash: e.mtime_ns for e in m.files}
    blobs, places = m.blobs(), m.places()
    missing = [(h, s) for h, s in sorted(blobs.items()) if not cache.has(h, s)]
    items = [TransferItem(blob_key(h), s, partial(cache.fetch, backend, h, s, mtimes[h]))
             for h, s in missing if h not in places]
    reads = spans({h: places[h] for h, _s in missing if h in places}, blobs, range_gap)
    items += [TransferItem(pack_key(sp.pack), sp.bytes, partial(cache.fetch_span, backend, sp, mtimes))
              for sp in reads]
    summary = run_transfers(items, threads=threads, stage="download", progress=progress)
    rep = MaterialiseReport(job_id=m.job_id, session=normpath(session), rules=session_rules(m.roots, session),
                            outputs=dict(m.outputs))
    rep.blobs_fetched = sum(int(r or 0) for r in summary.results)
    rep.pack_reads = sum(1 for r in summary.results[len(items) - len(reads):] if r)
    rep.blobs_cached = len(blobs) - rep.blobs_fetched
    rep.bytes_fetched = summary.bytes
    _link_all(m, cache, Path(session), rep, progress, backend)
    if max_cache_bytes:
        cache.prune(max_cache_bytes)  # after linking: this job's blobs are in use and stay
    rep.seconds = time.monotonic() - start
    return rep


def _link_all(m: Manifest, cache: NodeCache, session: Path, rep: MaterialiseReport,
              progress: Optional[ProgressCallback], backend: Backend) -> None:
    for i, e in enumerate(m.files):
        if i % _REPORT_EVERY == 0:
            report(progress, ProgressReport("link", i, len(m.files)))
        try:
            how = place_file(cache.blob_path(e.hash), session / e.root / e.path)
        except FileNotFoundError:  # another job's prune took it since we looked: fetch again
            _fetch_one(cache, backend, e)
            how = place_file(cache.blob_path(e.hash), session / e.root / e.path)
        rep.linked += how == "link"
        rep.copied += how == "copy"
        rep.files += 1
    report(progress, ProgressReport("link", len(m.files), len(m.files)))


def _fetch_one(cache: NodeCache, backend: Backend, e: ManifestEntry) -> None:
    if e.pack:
        cache.fetch_span(backend, Span(e.pack, [Member(e.hash, e.offset, e.size)]), {e.hash: e.mtime_ns}, _ignore)
    else:
        cache.fetch(backend, e.hash, e.size, e.mtime_ns, _ignore)


def _ignore(_n: int) -> None:
    pass
