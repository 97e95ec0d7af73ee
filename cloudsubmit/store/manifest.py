"""Job manifests: the immutable list of what one job needs (inputs) or produced (outputs).

A manifest is canonical JSON (sorted keys, files sorted by root and path, no whitespace), so the
same inputs always give the same bytes: two submits of one unchanged scene write identical
manifests, and a manifest can be compared or hashed byte for byte. It is written once with a
conditional write and never modified, so a node can never read a manifest that changes under it.

Everything read back is validated before any of it is used: a manifest comes from the store, and a
store is shared by a team, so a path in it is untrusted input that will become a file name on a
render node or an artist's workstation."""
from __future__ import annotations

import json
import os
import posixpath
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Tuple, cast

from ..errors import StoreError
from ..paths import normpath
from ..storekeys import check_name, inputs_key
from .backend import Backend

MANIFEST_VERSION = 1
#: a manifest naming packs: a node that knows no packs refuses it in one line rather than
#: looking for ``cas/<hash>`` blobs that were never written
PACKED_VERSION = 2
_HASH_RE = re.compile(r"^[0-9a-f]{32}$")
_DRIVE_RE = re.compile(r"^[A-Za-z]:")
_BAD_CHARS = frozenset(chr(c) for c in range(32)) | {"\\", "\x7f"}


def check_relpath(path: Any, where: str = "") -> str:
    """Refuse anything that is not a plain relative POSIX path: absolute paths, drive letters,
    ``..``, ``.``, empty components, backslashes and control characters. Returns ``path``."""
    label = f"{where}: " if where else ""
    if not isinstance(path, str) or not path:
        raise StoreError(f"{label}refusing empty or non-text path {path!r}", exit_code=2)
    if path.startswith("/") or _DRIVE_RE.match(path):
        raise StoreError(f"{label}refusing absolute path {path!r}", exit_code=2)
    if any(ch in _BAD_CHARS for ch in path):
        raise StoreError(f"{label}refusing path with a backslash or control character {path!r}", exit_code=2)
    if any(part in ("", ".", "..") for part in path.split("/")):
        raise StoreError(f"{label}refusing path with '..', '.' or an empty component {path!r}", exit_code=2)
    return path


def safe_join(base: str, relpath: str, where: str = "") -> str:
    """``base/relpath`` if it stays inside ``base`` once every existing symlink is followed;
    otherwise a one-line StoreError naming ``where``. The result is not resolved itself, so
    replacing it replaces a final symlink instead of writing through it."""
    check_relpath(relpath, where)
    real_base = os.path.realpath(base)
    joined = os.path.join(real_base, *relpath.split("/"))
    resolved = os.path.realpath(joined)
    try:
        inside = os.path.commonpath([real_base, resolved]) == real_base
    except ValueError:  # another drive on Windows
        inside = False
    if not inside:
        label = f"{where}: " if where else ""
        raise StoreError(f"{label}refusing {relpath!r}: a symlink leads it outside {base}", exit_code=2)
    return joined

@dataclass(frozen=True)
class ManifestEntry:
    root: str
    path: str  # root-relative POSIX path
    hash: str
    size: int
    mtime_ns: int = 0
    pack: str = ""   # the content is ``size`` bytes at ``offset`` in ``packs/<pack>.pack``; "" = ``cas/<hash>``
    offset: int = 0

    def to_json(self) -> Dict[str, Any]:
        d = {"root": self.root, "path": self.path, "hash": self.hash, "size": self.size, "mtime_ns": self.mtime_ns}
        if self.pack:
            d.update(pack=self.pack, offset=self.offset)
        return d


@dataclass
class Manifest:
    """``roots`` maps a root name to the root's path on the machine that wrote the manifest (the
    submitter for inputs, the declared output directory for outputs): the ``from`` side of every
    path-mapping rule. ``outputs`` (inputs only) names the job's declared output folders: written
    by the submitter, it is what a download trusts, never the roots a render node reports.
    ``node`` is set on outputs."""

    job_id: str
    roots: Dict[str, str]
    files: List[ManifestEntry] = field(default_factory=list)
    node: str = ""
    outputs: Dict[str, str] = field(default_factory=dict)
    version: int = MANIFEST_VERSION

    def __post_init__(self) -> None:
        self.files = sorted(self.files, key=lambda e: (e.root, e.path))
        _validate(self, "manifest")

    @property
    def total_bytes(self) -> int:
        return sum(e.size for e in self.files)

    def blobs(self) -> Dict[str, int]:
        """Unique content: ``{hash: size}`` (the same texture at two paths is fetched once)."""
        return {e.hash: e.size for e in self.files}

    def places(self) -> Dict[str, Tuple[str, int]]:
        """Where packed content is: ``{hash: (pack, offset)}`` (hashes not listed are ``cas/`` blobs)."""
        return {e.hash: (e.pack, e.offset) for e in self.files if e.pack}

    def to_bytes(self) -> bytes:
        packed = any(e.pack for e in self.files)
        doc: Dict[str, Any] = {
            "version": max(self.version, PACKED_VERSION if packed else MANIFEST_VERSION), "job_id": self.job_id,
            "roots": dict(self.roots),
            "files": [e.to_json() for e in self.files],
        }
        if self.node:
            doc["node"] = self.node
        if self.outputs:
            doc["outputs"] = dict(self.outputs)
        return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes, source: str = "manifest") -> "Manifest":
        try:
            doc = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise StoreError(f"{source}: not a manifest ({exc})", exit_code=2) from None
        if not isinstance(doc, dict) or not isinstance(doc.get("files"), list):
            raise StoreError(f"{source}: not a manifest (no file list)", exit_code=2)
        if doc.get("version") not in (MANIFEST_VERSION, PACKED_VERSION):
            raise StoreError(f"{source}: unsupported manifest version {doc.get('version')!r}", exit_code=2)
        files = [_entry(item, f"{source}: file {i}") for i, item in enumerate(doc["files"])]
        try:
            # unchecked values (None included) go in as they are: the constructor validates them
            return cls(job_id=cast(str, doc.get("job_id")), roots=cast(Dict[str, str], doc.get("roots")), files=files, node=doc.get("node", ""),
                       outputs=doc.get("outputs", {}), version=doc["version"])
        except StoreError as exc:
            raise StoreError(f"{source}: {exc.message}", exit_code=2) from None


def _entry(item: Any, where: str) -> ManifestEntry:
    if not isinstance(item, dict):
        raise StoreError(f"{where}: expected an object", exit_code=2)
    try:
        return ManifestEntry(
            root=item["root"], path=item["path"], hash=item["hash"], size=item["size"],
            mtime_ns=item.get("mtime_ns", 0), pack=item.get("pack", ""), offset=item.get("offset", 0),
        )
    except KeyError as exc:
        raise StoreError(f"{where}: missing {exc.args[0]!r}", exit_code=2) from None


def _validate(m: Manifest, source: str) -> None:
    check_name(m.job_id, "job id")
    if m.node:
        check_name(m.node, "node name")
    for what, table in (("roots", m.roots), ("outputs", m.outputs)):
        if not isinstance(table, dict) or not all(isinstance(v, str) and v for v in table.values()):
            raise StoreError(f"{source}: {what} must map names to paths", exit_code=2)
        for name in table:
            check_name(name, "root name")
    seen = set()
    for e in m.files:
        where = f"entry {e.root}/{e.path}" if isinstance(e.path, str) else "entry"
        if e.root not in m.roots:
            raise StoreError(f"{where}: unknown root {e.root!r}", exit_code=2)
        check_relpath(e.path, where)
        if not isinstance(e.hash, str) or not _HASH_RE.match(e.hash):
            raise StoreError(f"{where}: invalid hash {e.hash!r}", exit_code=2)
        if not _is_count(e.size) or not _is_count(e.mtime_ns):
            raise StoreError(f"{where}: size and mtime_ns must be non-negative integers", exit_code=2)
        if e.pack != "" and (not isinstance(e.pack, str) or not _HASH_RE.match(e.pack)) or not _is_count(e.offset):
            raise StoreError(f"{where}: invalid pack {e.pack!r} or offset {e.offset!r}", exit_code=2)
        if (e.root, e.path) in seen:
            raise StoreError(f"{where}: listed twice", exit_code=2)
        seen.add((e.root, e.path))


def _is_count(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def write_manifest(backend: Backend, key: str, manifest: Manifest) -> bool:
    """Write ``manifest`` once at ``key``. Returns True if written, False if the identical manifest
    was already there (a retried submit); a *different* manifest at the key is an error, because
    a manifest a node may already be reading must never change."""
    data = manifest.to_bytes()
    if backend.put_bytes(key, data, if_absent=True):
        return True
    if backend.get_bytes(key) == data:
        return False
    raise StoreError(f"{key}: a different manifest already exists (manifests are immutable)", exit_code=2)


def read_manifest(backend: Backend, key: str) -> Manifest:
    return Manifest.from_bytes(backend.get_bytes(key), source=key)


def write_inputs(backend: Backend, manifest: Manifest) -> bool:
    return write_manifest(backend, inputs_key(manifest.job_id), manifest)


def read_inputs(backend: Backend, job_id: str) -> Manifest:
    return read_manifest(backend, inputs_key(job_id))


def root_location(path: str, logical: str) -> str:
    """The root's own path, from a file's normalised path and its root-relative path:
    ``("/gs/tex/a.exr", "tex/a.exr") -> "/gs"``, ``("Z:/a.exr", "a.exr") -> "Z:/"``."""
    if not path.endswith("/" + logical) and path != logical:
        raise StoreError(f"{path}: does not end with its logical path {logical!r}", exit_code=2)
    base = path[: len(path) - len(logical)]
    return base if base in ("/", "//") or base.endswith(":/") else base.rstrip("/")


def inputs_manifest(job_id: str, files: Iterable[Any], extra_roots: Optional[Mapping[str, str]] = None,
                    output_dirs: Iterable[str] = (),
                    locate: Optional[Callable[[str], Optional[Tuple[str, int]]]] = None) -> Manifest:
    """The job manifest from resolved files (anything with ``path``, ``root``, ``logical``,
    ``hash``, ``size``, ``mtime_ns``, e.g. store-core's ``FileState``); files without a hash
    (missing, refused) are left out. Each root's location is read off its files, so no root
    table is needed; ``extra_roots`` adds roots without inputs, such as the output folders'
    roots, so that the node maps them into the session too. ``output_dirs`` are the declared
    output folders: the only places a download of this job writes to. ``locate(hash)`` says which
    pack holds a content and where (``TeamIndex.location``; None = its own blob)."""
    roots: Dict[str, str] = dict(extra_roots or {})
    entries = []
    for f in files:
        if not getattr(f, "hash", ""):
            continue
        here = root_location(f.path, f.logical)
        where = roots.setdefault(f.root, here)
        if _fold(where) != _fold(here):
            raise StoreError(f"{f.path}: root {f.root!r} is at {where}, not {here}", exit_code=2)
        pack, offset = (locate(f.hash) if locate else None) or ("", 0)
        entries.append(ManifestEntry(f.root, f.logical, f.hash, f.size, f.mtime_ns, pack, offset))
    return Manifest(job_id=job_id, roots=roots, files=entries, outputs=output_roots(output_dirs))


def _fold(path: str) -> str:
    """Windows paths (drive or UNC) compare without case, as Windows does."""
    return path.lower() if _DRIVE_RE.match(path) or path.startswith("//") else path


def output_root_name(folder: str) -> str:
    """The root name of one declared output folder, the one encoding of a folder name into store
    keys, manifest roots and node paths: the folder's own name with every character other than ASCII
    letters, digits and ``._-`` as ``_`` (``comp out`` -> ``comp_out``, ``日本語シーン`` -> ``out``,
    at most 100 characters). The name only has to be a safe key part: the manifest maps it back to
    the folder, so any name the file system allows works; :func:`output_roots` makes it unique."""
    raw = posixpath.basename(folder.rstrip("/"))
    base = "".join(c if (c.isascii() and c.isalnum()) or c in "._-" else "_" for c in raw)
    return base.lstrip("._-")[:100].rstrip(".") or "out"


def output_roots(output_dirs: Iterable[str]) -> Dict[str, str]:
    """Stable root names for declared output folders (:func:`output_root_name`), made unique in
    sorted order, so the submitter and every node of a job name the same folder the same way."""
    roots: Dict[str, str] = {}
    for d in sorted({normpath(x) for x in output_dirs}):
        base = output_root_name(d)
        name, n = base, 1
        while name in roots:
            n += 1
            name = f"{base}-{n}"
        roots[check_name(name, "output folder name")] = d
    return roots
