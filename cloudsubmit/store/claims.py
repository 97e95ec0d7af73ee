"""Which teammates' claims the team fast path may use instead of hashing a file here.

A *claim* is an index entry: "this logical path at this size and mtime_ns holds this hash". Some
other machine wrote it, or anyone holding the bucket's credentials, or a teammate's tool with a
bug. ``store.trust_team_index`` says which claims resolve may take (docs/store.md, "Which claims
are trusted"):

``probe`` (the default)
    the claim is the only hash claimed for that (root, path, size, mtime_ns); its blob is indexed
    with exactly that size and no other; the blob's uploaders recorded its *probe* (a hash of the
    size and three 4 KiB windows of the content: start, middle, end) and every entry of that hash
    that carries one agrees; and the file here, read in those three windows (12 KiB, not the
    whole file), has that probe. A false claim naming another blob of the same size fails the
    last test unless that blob's start, middle and end are the file's own.
``size``
    the first two tests only, and nothing is read: for a store only the studio's own
    workstations write (the rule before probes).
``never``
    no claim is used: every file is hashed here or taken from this machine's hash cache.

Every hash in a job's inputs manifest was therefore computed on this machine (hashed, or its
own hash cache) or passed the rule above. A claim whose probe passed is remembered in the hash
cache (its probed entries, keyed by size, mtime, inode and ctime): the next resolve of the
unchanged file skips the 12 KiB read, but the index must still make that claim, alone, with that
probe (tests 1-3 are asked again every time; only test 4's read is spared)."""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, List, Mapping, Optional, Protocol, Sequence, Tuple, TypeVar

from .hashing import hash_bytes

if TYPE_CHECKING:
    from ..config import Config
    from .index import TeamIndex


class FileState(Protocol):
    """What this module reads and sets of ``resolve.FileState`` (which imports this module)."""

    path: str
    root: str
    logical: str
    size: int
    mtime_ns: int
    hash: str
    via: str

F = TypeVar("F", bound=FileState)

PROBE, SIZE, NEVER = "probe", "size", "never"
MODES = (PROBE, SIZE, NEVER)
WINDOW = 4096  # bytes per probe window; a file of at most 3 windows is probed whole
_TAG = b"cloudsubmit-probe/1"


def trust_mode(config: "Config") -> str:
    """``store.trust_team_index`` (validated against :data:`MODES` by the config rules)."""
    mode = config.get("store.trust_team_index", PROBE)
    return mode if mode in MODES else PROBE


def probe_file(path: str, size: int) -> str:
    """XXH3-128 of the size and the start, middle and end windows of the file at ``path``
    (which has ``size`` bytes): what a claim's ``probe`` says of its content."""
    with open(path, "rb", buffering=0) as f:
        if size <= 3 * WINDOW:
            data = f.read(size + 1)
        else:
            parts = []
            for offset in (0, size // 2 - WINDOW // 2, size - WINDOW):
                f.seek(offset)
                parts.append(f.read(WINDOW))
            data = b"".join(parts)
    return hash_bytes(_TAG + size.to_bytes(8, "little") + data)


def probe_unchanged(fs: FileState) -> str:
    """The probe of ``fs``'s file, or "" when it cannot be read or no longer has the size and
    mtime it was resolved with (then the probe would describe another version)."""
    try:
        probe = probe_file(fs.path, fs.size)
        st = os.stat(fs.path)
    except (OSError, ValueError):
        return ""
    return probe if (st.st_size, st.st_mtime_ns) == (fs.size, fs.mtime_ns) else ""


def take_claims(files: Sequence[F], index: "TeamIndex", mode: str, threads: int = 8,
                seen: Optional[Mapping[str, Tuple[str, str]]] = None) -> List[Tuple[F, str]]:
    """Give each of ``files`` whose claim passes ``mode`` its hash (``via = "team"``); leave the
    others for a hash. ``seen``: ``{path: (hash, probe)}`` of claims this machine's probe
    confirmed before on the unchanged file (its hash cache): while the index still makes that
    same sole claim with that same agreed probe, the file is not read again. Returns ``(file,
    probe)`` for each claim a probe read confirmed now, for the hash cache to remember."""
    if mode == NEVER or not files:
        return []
    claims = [(f.root, f.logical, f.size, f.mtime_ns) for f in files]
    known = index.known_many(claims)
    seen = seen or {}
    remembered: List[Tuple[F, Tuple[str, str]]] = []  # the index makes the claim a probe here confirmed
    probing: List[Tuple[F, str]] = []
    for f, claim in zip(files, claims):
        digest = known.get(claim)
        if not digest:
            continue
        if mode == SIZE:
            f.hash, f.via = digest, "team"
            continue
        had = seen.get(f.path)
        if had is not None and had[0] == digest:
            remembered.append((f, had))
        else:
            probing.append((f, digest))
    if remembered:  # the index is asked for its agreed probe again; only the read is spared
        other = index.probe_mismatches({had for _f, had in remembered})
        for f, had in remembered:
            if had in other:
                probing.append((f, had[0]))
            else:
                f.hash, f.via = had[0], "team"  # the same claim, the same probe, the same file as last time
    return _confirm(probing, index, threads)


def _confirm(probing: List[Tuple[F, str]], index: "TeamIndex", threads: int) -> List[Tuple[F, str]]:
    """Probe each ``(file, claimed hash)`` whose blob has an agreed probe; a match takes the claim."""
    agreed = index.probes({digest for _f, digest in probing}) if probing else {}
    todo = [(f, digest, agreed[digest]) for f, digest in probing if digest in agreed]
    confirmed = []
    for (f, digest, expected), got in zip(todo, _probes([f for f, _d, _e in todo], threads)):
        if got == expected:
            f.hash, f.via = digest, "team"
            confirmed.append((f, got))
    return confirmed


def _probes(files: Sequence[FileState], threads: int) -> List[str]:
    """Probe every file; in a small pool when there are many (on a file server each read waits
    on the network, not the disk)."""
    if len(files) <= 4:
        return [probe_unchanged(f) for f in files]
    workers = max(1, min(threads, 16))
    # One task per slice, not per file: a future per file costs more than the small reads it waits on.
    step = max(1, -(-len(files) // (workers * 4)))
    slices = [files[i:i + step] for i in range(0, len(files), step)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return [probe for part in pool.map(_probe_slice, slices) for probe in part]


def _probe_slice(files: Sequence[FileState]) -> List[str]:
    return [probe_unchanged(f) for f in files]

