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

import posixpath
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from ..errors import ConfigError, StoreError
from ..paths import normpath
from ..progress import ProgressCallback
from .index import IndexEntry, current_user
from ..storekeys import RESERVED
from .backend import Backend
from .blobs import put_unchanged
from .manifest import Manifest, ManifestEntry, check_relpath, read_inputs
from .pathmap import Rule
from .reports import MaterialiseReport
from .transfer import TransferItem, TransferSummary, run_transfers


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
    """A skip test from team-index entries (anything with root, path and hash): a file is skipped
    when the team already uploaded this logical path with this content."""
    have = {(e.root, e.path, e.hash) for e in entries}
    return lambda e: (e.root, e.path, e.hash) in have


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


def upload_mirror(resolution, store, progress: Optional[ProgressCallback] = None) -> Tuple[TransferSummary, int]:
    """The ``upload`` of the mirror layout, for a store-core ``Resolution`` and ``Store``: every
    resolved file is sent to its path's key unless the team index lists that path with that
    content; then one index shard records what was sent. Returns the transfer summary and the
    number of files skipped."""
    files = [(ManifestEntry(f.root, f.logical, f.hash, f.size, f.mtime_ns), f.path)
             for f in resolution.files if f.hash and f.state in ("in_store", "to_upload")]
    layout = MirrorLayout.from_config(store.config)
    summary, sent = push_mirror(store.backend, layout, files, skip=index_skip(store.index.entries()),
                                threads=store.threads, progress=progress)
    if sent:
        user, now = current_user(), time.time()
        store.index.write_shard([IndexEntry(e.hash, e.size, e.root, e.path, e.mtime_ns, user, now) for e in sent])
    return summary, len(files) - len(sent)


def check_mirror(backend: Backend, layout: MirrorLayout, manifest: Manifest) -> List[str]:
    """Keys of the job that are missing or have another size, listing once per folder (one
    request per thousand keys) instead of asking per file."""
    wanted: Dict[str, Dict[str, int]] = {}
    for e in manifest.files:
        key = layout.key(e.root, e.path)
        wanted.setdefault(posixpath.dirname(key), {})[key] = e.size
    problems = []
    for folder, keys in sorted(wanted.items()):
        prefix = folder + "/" if folder else ""
        found = {k: s for k, s in backend.list(prefix) if k in keys} if prefix else _top_level(backend, keys)
        for key, size in sorted(keys.items()):
            if key not in found:
                problems.append(f"{key}: missing")
            elif found[key] != size:
                problems.append(f"{key}: {found[key]} bytes instead of {size}")
    return problems


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
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise StoreError(f"job {job_id}: mirror {backend.url}: {problems[0]}{more}")
    rep = MaterialiseReport(job_id=m.job_id, session=normpath(layout.mount), rules=layout.rules(m.roots),
                            outputs=dict(m.outputs))
    rep.files = len(m.files)
    rep.seconds = time.monotonic() - start
    return rep
