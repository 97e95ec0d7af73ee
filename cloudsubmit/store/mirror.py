"""The ``mirror`` layout: keys are root-relative paths, for pools that mount the bucket with s3fs.

This is the studio setup cloudsubmit grew from (/work/shared/STUDIO-SETUP.md): on premises ``/gs``
is the file server; every cloud node mounts the bucket with s3fs at ``/gs`` too. A file uploaded
from ``/gs/work/neo/cloudTest/render/x.exr`` to the key ``work/neo/cloudTest/render/x.exr`` is
then at the very same path on every cloud node, so a scene renders there without any path mapping
and without a download step. With ``store.layout: mirror``, ``store.mirror.mount: /gs`` and
``store.mirror.prefixes: {gs: ""}`` cloudsubmit reproduces that, but sends only what the scene
needs and only what the team index does not already list at that path with that content (the
original setup ran ``aws s3 sync`` of whole folders).

The price of the layout: one key per logical path, so a newer version of a file replaces the older
one for every job still running (the ``cas`` layout keeps both). Jobs are therefore checked on the
node (:func:`check_mirror`) before rendering: a key that is missing or has another size fails the
job with one line instead of rendering with the wrong texture. Outputs always use the ``cas`` blobs
and output manifests (``outputs.py``), so the download stage is the same for both layouts."""
from __future__ import annotations

import os
import posixpath
import time
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from ..errors import ConfigError, StoreError
from ..paths import normpath
from ..progress import ProgressCallback
from ..storekeys import RESERVED
from ..vocabulary import IN_STORE, TO_UPLOAD
from .backend import Backend
from .blobs import put_unchanged, put_verified
from .manifest import Manifest, ManifestEntry, check_relpath, read_inputs
from .pathmap import Rule
from .reports import MaterialiseReport, UploadReport
from .transfer import TransferItem, TransferSummary, run_transfers
from .upload import finish, record_files, send_first, send_groups

if TYPE_CHECKING:
    from .index import VerifyReport
    from .opener import Store
    from .resolve import FileState, Resolution


@dataclass
class MirrorLayout:
    """``mount``: where cloud nodes see the bucket; ``prefixes``: root name -> key prefix."""

    mount: str = ""
    prefixes: Dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config) -> "MirrorLayout":
        mount = config.get("store.mirror.mount", "") or ""
        prefixes = config.get("store.mirror.prefixes", {}) or {}
        for root, prefix in prefixes.items():
            if not isinstance(prefix, str) or (prefix.strip("/") and _unsafe(prefix.strip("/"))):
                raise ConfigError(f"store.mirror.prefixes.{root}: expected a relative key prefix, got {prefix!r}")
        return cls(mount=mount, prefixes=dict(prefixes))

    def prefix(self, root: str) -> str:
        p = self.prefixes.get(root, root).strip("/")
        return p + "/" if p else ""

    def key(self, root: str, path: str) -> str:
        key = self.prefix(root) + check_relpath(path, f"entry {root}/{path}")
        if key.split("/", 1)[0] in RESERVED:
            raise StoreError(f"{root}/{path}: its mirror key {key} would collide with cloudsubmit's own "
                             f"{key.split('/', 1)[0]}/ folder; give root {root!r} a prefix in store.mirror.prefixes",
                             exit_code=2)
        return key

    def node_root(self, root: str) -> str:
        if not self.mount:
            raise ConfigError("store.mirror.mount is not set: where do cloud nodes mount the bucket?")
        return normpath(posixpath.join(normpath(self.mount), self.prefix(root)))

    def rules(self, roots: Mapping[str, str]) -> List[Rule]:
        """Path mapping for a node: none at all for a root already at its mount path (``/gs``)."""
        rules = []
        for name, original in roots.items():
            src, dst = normpath(original), self.node_root(name)
            if src.rstrip("/") != dst.rstrip("/"):
                rules.append((src, dst + "/" if src.endswith("/") and not dst.endswith("/") else dst))
        return sorted(rules, key=lambda r: (-len(r[0]), r[0]))


def _unsafe(prefix: str) -> bool:
    try:
        check_relpath(prefix)
        return False
    except StoreError:
        return True


def index_skip(entries: Iterable) -> Callable[[ManifestEntry], bool]:
    """A skip test from team-index entries in write order (anything with root, path and hash): a
    file is skipped only when the *last* write of its path was this content, since that is what
    the key holds now (v1, v2, then v1 again must send v1 again)."""
    latest = latest_writes(entries)
    return lambda e: latest.get((e.root, e.path)) == e.hash


def latest_writes(entries: Iterable) -> Dict[Tuple[str, str], str]:
    """(root, path) -> the hash of its last write, from index entries in write order."""
    return {(e.root, e.path): e.hash for e in entries}


def push_mirror(
    backend: Backend,
    layout: MirrorLayout,
    files: Sequence[Tuple[ManifestEntry, str]],
    *,
    skip: Optional[Callable[[ManifestEntry], bool]] = None,
    threads: int = 8,
    progress: Optional[ProgressCallback] = None,
) -> Tuple[TransferSummary, List[ManifestEntry]]:
    """Upload ``(entry, local file)`` pairs to their mirror keys, except those ``skip`` (the team
    index) says are there already. Returns the transfer summary and the entries sent, which the
    caller records in the index once this returns (after the objects are complete)."""
    todo = [(e, src) for e, src in files if not (skip and skip(e))]
    items = [TransferItem(src, e.size, partial(put_unchanged, backend, layout.key(e.root, e.path), src, e.size, e.mtime_ns, e.hash))
             for e, src in todo]
    return run_transfers(items, threads=threads, stage="upload", progress=progress), [e for e, _ in todo]


def classify_mirror(resolution: "Resolution", store: "Store") -> None:
    """A file is in a mirror store when the *last* index write of its path's key was this
    content (that is what the key holds now); anything else is to upload. The cas meaning (its
    blob exists somewhere) would skip a file whose key holds another version, or none at all."""
    latest = latest_writes(store.index.history())
    for f in resolution.files:
        if f.state in (IN_STORE, TO_UPLOAD):
            f.state = IN_STORE if latest.get((f.root, f.logical)) == f.hash else TO_UPLOAD


def upload_mirror(resolution: "Resolution", store: "Store", progress: Optional[ProgressCallback] = None) -> UploadReport:
    """The ``upload`` of the mirror layout (after :func:`classify_mirror`): every file to upload
    is sent to its path's key through the verifying reader, then one index shard records what
    was sent (even a fact the index has seen: v1, v2, then v1 again must record v1 last). A file
    that changed is refused and reported as in the ``cas`` upload (:class:`UploadRefused`)."""
    layout = MirrorLayout.from_config(store.config)
    rep = UploadReport(store.url)
    groups: Dict[str, List["FileState"]] = {}
    for f in resolution.to_upload:
        key = layout.key(f.root, f.logical)
        clash = next((o for o in groups.get(key, []) if o.hash != f.hash), None)
        if clash is not None:
            raise StoreError(f"{f.path} and {clash.path} both map to the mirror key {key}; give their roots "
                             "distinct prefixes in store.mirror.prefixes", exit_code=2)
        groups.setdefault(key, []).append(f)
    rep.skipped_files = len(resolution.in_store)

    def send(key: str, files: List["FileState"], on_bytes) -> "FileState":
        return send_first(files, lambda fs: put_verified(store.backend, key, fs.path, fs.size, fs.mtime_ns, fs.hash,
                                                         on_bytes))

    failure = send_groups(store, groups, send, rep, progress)
    record_files(store, rep, [(f, "", 0) for fs in groups.values() for f in fs if f.state == IN_STORE])
    return finish(rep, failure)


def recheck_mirror(resolution: "Resolution", store: "Store", progress: Optional[ProgressCallback] = None) -> None:
    """Put back to upload every file the index says its key holds whose key is missing, has
    another size or (downloaded and hashed here, never read through a mount: on a workstation
    ``/gs`` is the file server itself) other bytes: ``upload --recheck`` in the mirror layout."""
    stored = resolution.in_store
    if not stored:
        return
    layout = MirrorLayout.from_config(store.config)
    entries = [ManifestEntry(f.root, f.logical, f.hash, f.size, f.mtime_ns) for f in stored]
    bad = set(_missing_or_short(store.backend, layout, entries))
    sound = [e for e in entries if layout.key(e.root, e.path) not in bad]
    bad |= set(_other_bytes(store.backend, layout, sound, "", store.threads, progress))
    for f in stored:
        if layout.key(f.root, f.logical) in bad:
            f.state = TO_UPLOAD


def verify_mirror(store: "Store", deep: bool = False, progress: Optional[ProgressCallback] = None) -> "VerifyReport":
    """``index verify`` in the mirror layout: every path key holds what its *last* index write
    says (exists, with that size; with ``deep``, downloaded and hashed). The report's lists
    name keys, not blob hashes: a mirror store has no blob per input."""
    from .index import VerifyReport

    latest = {}
    for e in store.index.history():
        latest[(e.root, e.path)] = ManifestEntry(e.root, e.path, e.hash, e.size, e.mtime_ns)
    layout = MirrorLayout.from_config(store.config)
    entries = list(latest.values())
    rep = VerifyReport(blobs=len(entries), bytes=sum(e.size for e in entries))
    bad = _missing_or_short(store.backend, layout, entries)
    rep.missing = sorted(k for k, why in bad.items() if why == "missing")
    rep.wrong_size = sorted(k for k, why in bad.items() if why != "missing")
    if deep:
        sound = [e for e in entries if layout.key(e.root, e.path) not in bad]
        rep.wrong_hash = sorted(_other_bytes(store.backend, layout, sound, "", store.threads, progress))
    rep.bad_shards = [store.index.problems[k] for k in sorted(store.index.problems)]
    return rep


def check_mirror(backend: Backend, layout: MirrorLayout, manifest: Manifest) -> List[str]:
    """Keys of the job that are missing or have another size, listing once per folder (one
    request per thousand keys) instead of asking per file."""
    return [f"{key}: {why}" for key, why in sorted(_missing_or_short(backend, layout, manifest.files).items())]


def _missing_or_short(backend: Backend, layout: MirrorLayout, files: Sequence[ManifestEntry]) -> Dict[str, str]:
    """Key -> "missing" or "N bytes instead of M" for each of ``files`` whose key is not right."""
    wanted: Dict[str, Dict[str, int]] = {}
    for e in files:
        key = layout.key(e.root, e.path)
        wanted.setdefault(posixpath.dirname(key), {})[key] = e.size
    problems: Dict[str, str] = {}
    for folder, keys in sorted(wanted.items()):
        prefix = folder + "/" if folder else ""
        found = {k: s for k, s in backend.list(prefix) if k in keys} if prefix else _top_level(backend, keys)
        for key, size in sorted(keys.items()):
            if key not in found:
                problems[key] = "missing"
            elif found[key] != size:
                problems[key] = f"{found[key]} bytes instead of {size}"
    return problems


def check_mirror_content(backend: Backend, layout: MirrorLayout, manifest: Manifest, threads: int = 8) -> List[str]:
    """Keys whose bytes do not hash to what the job's manifest names: a key is overwritten by
    every newer version of its path, so a size check alone would let a same-size other version
    (a teammate's v2 after this job's v1) render. Hashed through the mount where this machine has
    it (what the renderer will read, and s3fs keeps it cached), else downloaded and hashed."""
    mount = layout.mount if layout.mount and os.path.isdir(layout.mount) else ""
    bad = _other_bytes(backend, layout, manifest.files, mount, threads, None)
    return [f"{key}: holds other bytes than the job's {digest} (a newer version of the file?)"
            for key, digest in bad.items()]


def _other_bytes(backend: Backend, layout: MirrorLayout, files: Sequence[ManifestEntry], mount: str, threads: int,
                 progress: Optional[ProgressCallback]) -> Dict[str, str]:
    """Key -> the hash it should have, for each of ``files`` whose key holds other bytes; read
    through ``mount`` when given, else downloaded into a temporary folder."""
    import tempfile

    from .hashing import hash_file

    def one(e: ManifestEntry, on_bytes) -> str:
        if mount:
            return hash_file(os.path.join(layout.node_root(e.root), *e.path.split("/")), on_bytes)
        with tempfile.TemporaryDirectory(prefix="cloudsubmit-mirror-") as tmp:
            dest = os.path.join(tmp, "blob")
            backend.get_file(layout.key(e.root, e.path), dest, on_bytes=on_bytes)
            return hash_file(dest)

    items = [TransferItem(layout.key(e.root, e.path), e.size, partial(one, e)) for e in files]
    got = run_transfers(items, threads=threads, stage="verify", progress=progress).results
    return {layout.key(e.root, e.path): e.hash for e, h in zip(files, got) if h != e.hash}


def _top_level(backend: Backend, keys: Mapping[str, int]) -> Dict[str, int]:
    """Keys at the top of the bucket: listing "" would list everything, so ask for each."""
    sizes = {k: backend.size(k) for k in keys}
    return {k: s for k, s in sizes.items() if s is not None}


def materialise_mirror(backend: Backend, layout: MirrorLayout, job_id: str,
                       manifest: Optional[Manifest] = None) -> MaterialiseReport:
    """The mirror layout's counterpart of ``materialise.materialise``:
    nothing to download (the bucket is mounted), only a check and the mapping rules."""
    start = time.monotonic()
    m = manifest if manifest is not None else read_inputs(backend, job_id)
    problems = check_mirror(backend, layout, m)
    problems = problems or check_mirror_content(backend, layout, m)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise StoreError(f"job {job_id}: mirror {backend.url}: {problems[0]}{more}")
    rep = MaterialiseReport(job_id=m.job_id, session=normpath(layout.mount), rules=layout.rules(m.roots),
                            outputs=dict(m.outputs))
    rep.files = len(m.files)
    rep.seconds = time.monotonic() - start
    return rep
