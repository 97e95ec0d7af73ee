"""Small files travel in packs: a shot's 100,000 files of a few KB would otherwise cost 100,000
requests each way, and an object store is request-bound long before it is byte-bound.

A pack is the contents of many small files end to end, sorted by hash, stored once as
``packs/<id>.pack`` where ``id`` is the XXH3-128 of every byte of it (content-addressed like a blob:
the same files always make the same pack). Its catalogue is the team index itself: each entry of a
packed file carries ``pack`` and ``offset`` (``TeamIndex.location``), written in the upload's shard
only after the pack is complete, so no entry ever points at a pack that is not fully written (a
killed upload leaves an unnamed pack, which ``index gc`` removes once it is old enough). Dedup stays
per file: a file's hash is in the store whichever pack holds it, so a teammate sends 0 bytes.

Up (:func:`send_pack`): every member is copied in blocks through the upload's verifying reader (the
bytes must hash to the file's hash and its size and mtime must not move) into a spool file on disk,
then the spool goes up in one request: a pack costs one block of memory, not its size.
Down (:func:`spans` + :class:`SpanReader`): a node reads the files it needs with one ranged GET
per run of nearby members (``store.packs.range_gap_kb``); a job that needs the whole pack reads
it in one. Every member is hashed as it arrives and checked against its manifest
hash before it is renamed into place (``blobs.receive_verified``).

This is a ``cas`` layout feature: the ``mirror`` layout stores files under their own paths."""
from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, BinaryIO, Callable, Dict, Iterable, List, Mapping, Optional, Protocol, Sequence, Set, Tuple

from ..errors import StoreError
from ..progress import ProgressCallback
from ..storekeys import PACK_PREFIX, pack_key, pack_of_key
from .backend import Backend, BytesCallback, Readable
from .blobs import FileChanged, VerifyingReader

if TYPE_CHECKING:
    from ..config import Config

_BLOCK = 1024 * 1024
_KB, _MB = 1024, 1024 * 1024


class Source(Protocol):
    """A local file holding a member's content (a resolved ``FileState``)."""

    path: str
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class PackSettings:
    max_file: int   # bytes: smaller files are packed (0: none)
    pack_bytes: int
    min_files: int
    range_gap: int  # bytes between two needed members below which one range GET reads both

    @classmethod
    def from_config(cls, config: "Config") -> "PackSettings":
        get = config.get
        return cls(int(get("store.packs.max_file_kb", 1024)) * _KB, int(get("store.packs.pack_mb", 32)) * _MB,
                   int(get("store.packs.min_files", 32)), int(get("store.packs.range_gap_kb", 1024)) * _KB)


def plan_packs(sizes: Sequence[int], settings: PackSettings) -> List[Tuple[int, int]]:
    """The packs to send, as ``(first, end)`` ranges over ``sizes``: the sizes of the small
    contents (each below ``max_file``) in hash order, so a pack holds its members sorted by hash;
    each pack is closed before the next member would take it past ``pack_bytes``. Too few small
    contents for a pack to save requests: no pack (the caller sends each as its own blob).
    Ranges, not lists of hashes: a 100,000-file upload plans in a few numbers per pack."""
    if len(sizes) < settings.min_files:
        return []
    ranges: List[Tuple[int, int]] = []
    first, total = 0, 0
    for i, size in enumerate(sizes):
        if i > first and total + size > settings.pack_bytes:
            ranges.append((first, i))
            first, total = i, 0
        total += size
    if len(sizes) > first:
        ranges.append((first, len(sizes)))
    return ranges


@dataclass
class PackOutcome:
    """What :func:`send_pack` did: the pack it wrote ("" if every member was refused), where each
    member landed (``{hash: (offset, the file it was read from)}``) and why the others were left out."""

    pack: str = ""
    size: int = 0
    placed: Dict[str, Tuple[int, Source]] = field(default_factory=dict)
    refused: Dict[str, str] = field(default_factory=dict)


def _copy_member(digest: str, files: Sequence[Source], spool: BinaryIO, whole: Any) -> Tuple[Any, Optional[Source], str]:
    """Append the member's bytes to ``spool`` in blocks (memory: one block, whatever the member's
    size) from the first of ``files`` that still holds exactly them; returns the pack's hasher
    with them added. A file that turns out changed is cut off the spool again, and the hasher
    is the one from before it: the pack is named by what it really holds."""
    why = "changed while being uploaded"
    start = spool.tell()
    for fs in files:
        try:
            reader = VerifyingReader(fs.path, fs.size, fs.mtime_ns, digest, _ignore)
        except FileChanged as exc:
            why = str(exc)
            continue
        h = whole.copy()
        try:
            while True:
                block = reader.read(_BLOCK)  # raises before the last block if the bytes are not the hash's
                if not block:
                    break
                spool.write(block)
                h.update(block)
            if reader.n != fs.size:
                raise FileChanged("changed while being uploaded")
            return h, fs, ""
        except FileChanged as exc:
            why = str(exc)
            spool.seek(start)
            spool.truncate()
        finally:
            reader.close()
    return whole, None, why


def send_pack(backend: Backend, members: Iterable[Tuple[str, Sequence[Source]]], on_bytes: BytesCallback) -> PackOutcome:
    """Copy every member (verified, see :func:`_copy_member`) into a spool file on disk, name
    the pack by the hash of the spool, send it as one object (whole or not at all). A member
    whose files all changed is refused and left out; the rest still go."""
    import xxhash

    out, whole, offset = PackOutcome(), xxhash.xxh3_128(), 0
    with tempfile.TemporaryFile(prefix="cloudsubmit-pack-") as spool:
        for digest, files in members:
            on_bytes(0)  # a cancel point between members
            whole, sent, why = _copy_member(digest, files, spool, whole)
            if sent is None:
                out.refused[digest] = why
                continue
            out.placed[digest] = (offset, sent)
            offset += sent.size
        if not out.placed:
            return out
        out.pack, out.size = whole.hexdigest(), offset
        spool.flush()
        spool.seek(0)
        backend.put_fileobj(pack_key(out.pack), spool, size=offset, on_bytes=on_bytes)
    return out


# --- reading ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Member:
    digest: str
    offset: int
    size: int

    @property
    def end(self) -> int:
        return self.offset + self.size


@dataclass
class Span:
    """Members of one pack read by one ranged GET (from the first one's offset to the last one's end)."""

    pack: str
    members: List[Member]

    @property
    def bytes(self) -> int:
        return sum(m.size for m in self.members)


def spans(places: Mapping[str, Tuple[str, int]], sizes: Mapping[str, int], gap: int) -> List[Span]:
    """Group the packed hashes a node needs into range reads: members of one pack, in offset
    order, share a read while less than ``gap`` bytes lie between one and the next (reading a
    small gap costs less than another request), so a job needing a whole pack reads it once."""
    by_pack: Dict[str, List[Member]] = {}
    for digest, (pack, offset) in places.items():
        by_pack.setdefault(pack, []).append(Member(digest, offset, sizes[digest]))
    out: List[Span] = []
    for pack in sorted(by_pack):
        end = -1
        for m in sorted(by_pack[pack], key=lambda m: m.offset):
            if end < 0 or m.offset - end >= gap:
                out.append(Span(pack, []))
            out[-1].members.append(m)
            end = max(end, m.end)
    return out


class SpanReader:
    """A range GET's body with its position in the pack, so members can be read by offset."""

    def __init__(self, raw: Readable, start: int, label: str) -> None:
        self.raw, self.pos, self.label = raw, start, label

    def read(self, amount: int = -1) -> bytes:
        data = self.raw.read(amount)
        self.pos += len(data)
        return data

    def skip_to(self, offset: int, feed: Optional[Callable[[bytes], None]] = None) -> None:
        """Read (and pass to ``feed``) the bytes up to ``offset``."""
        while self.pos < offset:
            block = self.read(min(_BLOCK, offset - self.pos))
            if not block:
                raise StoreError(f"{self.label}: corrupt pack, it ends at {self.pos} bytes, before {offset}")
            if feed is not None:
                feed(block)


# --- checking -----------------------------------------------------------------------------------
@dataclass
class PackCheck:
    packs: int = 0
    lines: List[str] = field(default_factory=list)   # one per pack that is missing, short or wrong
    lost: Set[str] = field(default_factory=set)       # member hashes whose content is not there as indexed


def _members_by_pack(packed: Mapping[str, Tuple[str, int, int]]) -> Dict[str, List[Member]]:
    out: Dict[str, List[Member]] = {}
    for digest, (pack, offset, size) in packed.items():
        out.setdefault(pack, []).append(Member(digest, offset, size))
    return out


def check_packs(backend: Backend, packed: Mapping[str, Tuple[str, int, int]], deep: bool = False, threads: int = 8,
                progress: Optional[ProgressCallback] = None) -> PackCheck:
    """Check the packs the index names (``{hash: (pack, offset, size)}``): each exists and is long
    enough for its members (one listing request per 1000 packs); with ``deep``, each is read and
    every member must hash to its own hash."""
    from .transfer import TransferItem, run_transfers

    by_pack = _members_by_pack(packed)
    present = {pack_of_key(k): s for k, s in backend.list(PACK_PREFIX) if pack_of_key(k)}
    rep = PackCheck(packs=len(by_pack))
    sound: List[Tuple[str, int]] = []
    for pack in sorted(by_pack):
        members, have = by_pack[pack], present.get(pack)
        need = max(m.end for m in members)
        if have is None or have < need:
            state = "missing" if have is None else f"{have} bytes, shorter than the {need} its files need"
            rep.lines.append(f"{pack_key(pack)}: {state} ({len(members)} indexed files lose their content)")
            rep.lost.update(m.digest for m in members)
        else:
            sound.append((pack, have))
    if deep and sound:
        items = [TransferItem(pack_key(p), size, partial(_scan_pack, backend, p, by_pack[p])) for p, size in sound]
        for (pack, _size), (line, wrong) in zip(sound, run_transfers(items, threads=threads, stage="verify",
                                                                     progress=progress).results):
            if line:
                rep.lines.append(line)
                rep.lost.update(wrong)
    return rep


def _scan_pack(backend: Backend, pack: str, members: List[Member], on_bytes: BytesCallback) -> Tuple[str, List[str]]:
    """Read a pack once, up to its last indexed member: ``("", [])`` when every member hashes to
    its hash, else one line and the members whose bytes are wrong. Bytes no entry names are not
    judged: nothing reads them."""
    import xxhash

    label = pack_key(pack)
    wrong: List[str] = []

    def counted(block: bytes) -> None:
        on_bytes(len(block))

    ordered = sorted(members, key=lambda m: m.offset)
    with backend.read_range(label, 0, max(m.end for m in ordered)) as raw:
        stream = SpanReader(raw, 0, label)
        for m in ordered:
            if m.offset < stream.pos:  # overlapping members: only a damaged index names them
                wrong.append(m.digest)
                continue
            stream.skip_to(m.offset, counted)
            h = xxhash.xxh3_128()

            def both(block: bytes, h=h) -> None:
                on_bytes(len(block))
                h.update(block)

            stream.skip_to(m.end, both)
            if h.hexdigest() != m.digest:
                wrong.append(m.digest)
    if wrong:
        return (f"{label}: {len(wrong)} of {len(members)} indexed files hash otherwise (first: {sorted(wrong)[0]})",
                sorted(wrong))
    return "", []


def orphan_packs(backend: Backend, referenced: Iterable[str], older_than: float) -> List[Tuple[str, int]]:
    """``(key, bytes)`` of packs no index entry names, written more than ``older_than`` seconds
    ago: what a killed upload left (a live upload writes its shard right after its packs)."""
    named = set(referenced)
    cutoff = time.time() - older_than
    out = []
    for key, size in backend.list(PACK_PREFIX):
        pack = pack_of_key(key)
        if pack and pack not in named:
            when = backend.modified(key)
            if when is not None and when <= cutoff:
                out.append((key, size))
    return out


def _ignore(_n: int) -> None:
    pass
