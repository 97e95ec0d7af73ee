"""Render outputs: up from the render node after a chunk, back down to the artist's output folder.

Up: every file that is new or changed in the declared output directories (compared with a
snapshot taken before the render) becomes a blob, and the node writes one output manifest
``jobs/<job>/outputs/<node>.json``. A DAG retry of the node overwrites its own manifest, and blobs
already in the store are not sent again, so a retried or resumed node costs only what changed.

Down: every output manifest of the job is read and checked *before* anything is written, so one
bad entry (``..``, an absolute path, a drive letter, a symlink leading out of the folder) refuses
the whole download with one line naming the entry, and nothing lands outside the output folder.
Files already present with the same content are skipped; every file arrives by temp + rename, so an
interrupted download never leaves a truncated frame that a compositor would read as finished."""
from __future__ import annotations

import os
import re
import stat
import time
from functools import partial
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from ..errors import StoreError
from ..paths import normpath
from ..progress import ProgressCallback
from ..storekeys import blob_key, inputs_key, outputs_key, outputs_label, outputs_prefix
from .backend import Backend, BytesCallback
from .blobs import fetch_verified, put_unchanged
from .hashing import hash_file
from .manifest import Manifest, ManifestEntry, output_roots, read_inputs, read_manifest, safe_join
from .pathmap import Rule, map_path
from .reports import OutputDownloadReport, OutputUploadReport
from .transfer import TransferItem, run_transfers

Snapshot = Dict[str, Tuple[int, int]]  # absolute path -> (size, mtime_ns)
_DRIVE_ABS = re.compile(r"^[A-Za-z]:/")


def snapshot(output_dirs: Iterable[str], rules: Sequence[Rule] = ()) -> Snapshot:
    """Size and mtime of every regular file under ``output_dirs`` (declared, mapped by ``rules``
    like :func:`upload_outputs` does): call before the render, pass the result as ``before`` so
    only what the render wrote is sent."""
    return {path: (st.st_size, st.st_mtime_ns) for d in output_dirs for path, st in _walk(map_path(d, rules))}


def _walk(top: str) -> Iterable[Tuple[str, os.stat_result]]:
    for dirpath, _dirs, files in os.walk(top):
        for name in sorted(files):
            if name.startswith(".tmp-"):
                continue
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            if stat.S_ISREG(st.st_mode):  # symlinks are not followed out of the folder
                yield path, st


def upload_outputs(
    backend: Backend,
    job_id: str,
    node: str,
    output_dirs: Optional[Sequence[str]] = None,
    *,
    rules: Sequence[Rule] = (),
    before: Optional[Snapshot] = None,
    threads: int = 8,
    progress: Optional[ProgressCallback] = None,
) -> OutputUploadReport:
    """Upload what the render wrote under ``output_dirs`` (as declared in the scene; by default
    the job manifest's ``outputs``; ``rules`` from
    the session's materialisation say where they are on this node)."""
    start = time.monotonic()
    key = outputs_key(job_id, node)
    rep = OutputUploadReport(job_id=job_id, node=node, key=key)
    roots = output_roots(output_dirs) if output_dirs is not None else read_inputs(backend, job_id).outputs
    if not roots:
        raise StoreError(f"job {job_id}: no output folders declared", exit_code=2)
    changed = []
    for name, declared in roots.items():
        local = map_path(declared, rules)
        for path, st in _walk(local):
            if before is not None and before.get(path) == (st.st_size, st.st_mtime_ns):
                rep.skipped_files += 1
            else:
                changed.append((name, Path(path).relative_to(local).as_posix(), path, st))
    hashes = run_transfers([TransferItem(c[2], c[3].st_size, partial(_hash, c[2])) for c in changed],
                           threads=threads, stage="hash", progress=progress).results
    entries = [ManifestEntry(n, rel, h, st.st_size, st.st_mtime_ns) for (n, rel, _p, st), h in zip(changed, hashes)]
    sources = {h: (path, st) for (_n, _r, path, st), h in zip(changed, hashes)}
    items = [TransferItem(p, st.st_size, partial(_put_new, backend, h, p, st)) for h, (p, st) in sorted(sources.items())]
    summary = run_transfers(items, threads=threads, stage="upload", progress=progress)
    backend.put_bytes(key, Manifest(job_id=job_id, roots=roots, files=entries, node=node).to_bytes())
    rep.files = len(entries)
    rep.uploaded_files, rep.uploaded_bytes = sum(summary.results), summary.bytes
    rep.skipped_files += len(sources) - rep.uploaded_files
    rep.seconds = time.monotonic() - start
    return rep


def _hash(path: str, on_bytes: BytesCallback) -> str:
    return hash_file(path, on_bytes)


def _put_new(backend: Backend, digest: str, path: str, st: os.stat_result, on_bytes: BytesCallback) -> bool:
    """Send the blob unless the store has it (a retried node): the check runs in the worker, so
    a thousand frames cost a thousand parallel HEADs, not a thousand in a row."""
    key = blob_key(digest)
    if backend.size(key) == st.st_size:
        return False
    put_unchanged(backend, key, path, st.st_size, st.st_mtime_ns, digest, on_bytes)
    return True


def read_output_manifests(backend: Backend, job_id: str, threads: int = 8) -> List[Manifest]:
    """Every node's output manifest of the job: one list request per thousand nodes, then the
    manifests in parallel."""
    keys = [k for k, _size in backend.list(outputs_prefix(job_id)) if k.endswith(".json")]
    items = [TransferItem(k, 0, partial(_read_one, backend, k, job_id)) for k in keys]
    return run_transfers(items, threads=threads, stage="read").results


def _read_one(backend: Backend, key: str, job_id: str, _on_bytes: BytesCallback) -> Manifest:
    m = read_manifest(backend, key)
    if m.job_id != job_id:
        raise StoreError(f"{key}: belongs to job {m.job_id!r}, not {job_id!r}", exit_code=2)
    return m


def _bases(manifests: Sequence[Manifest], dest: Optional[str]) -> Dict[str, str]:
    """Where each output root lands: its declared folder, or with ``dest`` the folder itself when
    the job has one output folder and ``dest/<root>`` when it has several."""
    declared = {name: path for m in manifests for name, path in m.roots.items()}
    if dest is None:
        return declared
    if len(declared) == 1:
        return {name: dest for name in declared}
    return {name: os.path.join(dest, name) for name in declared}


def declared_outputs(backend: Backend, job_id: str) -> Optional[Dict[str, str]]:
    """The output folders the submitter declared, or None for a job without an inputs manifest."""
    if not backend.exists(inputs_key(job_id)):
        return None
    return read_inputs(backend, job_id).outputs


def check_output_roots(manifests: Sequence[Manifest], declared: Optional[Mapping[str, str]],
                       dest: Optional[str]) -> None:
    """A render node reports where its outputs belong, but only the submitter's declaration is
    trusted: a node manifest naming another folder (``/home/x/.ssh``) is refused. Without a
    declaration only ``dest`` can say where files go."""
    if not declared:
        if dest is None:
            job = manifests[0].job_id if manifests else "?"
            raise StoreError(f"job {job}: no output folders declared by the submitter; give a destination (--dest)", exit_code=2)
        return
    for m in manifests:
        for name, path in m.roots.items():
            if declared.get(name) != path:
                raise StoreError(f"{outputs_label(m.job_id, m.node)}: output folder {name!r} is {path}, "
                                 f"but the job declared {declared.get(name) or 'no such folder'}", exit_code=2)
            if dest is None and not is_local_absolute(path):
                raise StoreError(f"job {m.job_id}: output folder {path} is not a path on this machine; give --dest", exit_code=2)


def is_local_absolute(path: str) -> bool:
    """``Z:/x`` is no place on Linux, ``//server/share`` neither, and ``/gs/x`` none on Windows."""
    if os.name == "nt":
        return bool(_DRIVE_ABS.match(path)) or path.startswith("//")
    return path.startswith("/") and not path.startswith("//")


def plan_download(manifests: Sequence[Manifest], dest: Optional[str]) -> Dict[str, ManifestEntry]:
    """``{target path: entry}`` for every output, all checked before anything is written. When two
    nodes wrote the same file (a retried chunk), the newer one wins."""
    bases = _bases(manifests, dest)
    plan: Dict[str, ManifestEntry] = {}
    for m in manifests:
        for e in m.files:
            where = f"{outputs_label(m.job_id, m.node)}: entry {e.root}/{e.path}"
            target = safe_join(bases[e.root], e.path, where)
            old = plan.get(target)
            if old is None or e.mtime_ns > old.mtime_ns:
                plan[target] = e
    return plan


def _is_current(target: str, e: ManifestEntry) -> bool:
    """Already there with the same content. A file this code wrote carries the entry's mtime, so
    an unchanged re-download is decided without reading it; otherwise equal sizes are hashed."""
    try:
        st = os.stat(target)
    except OSError:
        return False
    if st.st_size != e.size:
        return False
    return st.st_mtime_ns == e.mtime_ns or hash_file(target) == e.hash


def _fetch(backend: Backend, e: ManifestEntry, target: str, on_bytes: BytesCallback) -> None:
    fetch_verified(backend, e.hash, e.size, target, e.mtime_ns, on_bytes, what=f" for {e.root}/{e.path}")


def download_outputs(
    backend: Backend,
    job_id: str,
    dest: Optional[str] = None,
    *,
    threads: int = 8,
    progress: Optional[ProgressCallback] = None,
) -> OutputDownloadReport:
    """Bring every output of ``job_id`` home: into the declared output folders, or under ``dest``."""
    start = time.monotonic()
    manifests = read_output_manifests(backend, job_id, threads)
    if not manifests:
        raise StoreError(f"job {job_id}: no outputs in {backend.url} yet")
    check_output_roots(manifests, declared_outputs(backend, job_id), dest)
    plan = plan_download(manifests, dest)
    rep = OutputDownloadReport(job_id=job_id, manifests=len(manifests), files=len(plan))
    rep.targets = sorted({normpath(b) for b in _bases(manifests, dest).values()})
    todo = [(t, e) for t, e in sorted(plan.items()) if not _is_current(t, e)]
    items = [TransferItem(t, e.size, partial(_fetch, backend, e, t)) for t, e in todo]
    summary = run_transfers(items, threads=threads, stage="download", progress=progress)
    rep.downloaded_files, rep.downloaded_bytes = summary.files, summary.bytes
    rep.skipped_files = len(plan) - len(todo)
    rep.seconds = time.monotonic() - start
    return rep

