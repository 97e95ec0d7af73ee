"""Reading the archive a Houdini scene is stored in, without Houdini.

A commercial ``.hip`` is a plain cpio archive with "odc" headers: ``070707`` followed by octal
fields (76 bytes), the entry name with its NUL, then the body. ``.hipnc``/``.hiplc`` (Apprentice,
Indie) keep the same record layout but write a 34-byte header of their own: ``HouNC``/``HouLC``,
0x1A, ``10336``, the name size XOR 0xBAD (5 hex digits), the mtime (9 hex digits) and the body size
XOR a hash of the name (9 hex digits). The bodies themselves are plain text.

A ``.hip`` saved as text (``hou.saveMode.Text``, for version control) holds the same records as
MIME parts: ``Content-Disposition: attachment; filename="obj/geo1.parm"``, a blank line, the body;
the archive ends with the closing delimiter ``--<boundary>--``.

A scene cut short by a full disk or a failed copy must still give what it holds: reading stops at
the first damaged record with a warning, and only a file with no readable record at all is an
error. When a licence-limited header cannot be decoded (a Houdini version that masks sizes
differently), records are split at the next header magic instead, and the warning says so."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

from ..errors import ScanError

ODC_MAGIC = b"070707"
ODC_HEADER = 76
ODC_TRAILER = "TRAILER!!!"
LIMITED_MAGICS = {b"HouNC": "hipnc", b"HouLC": "hiplc"}
LIMITED_HEADER = 34
LIMITED_TRAILERS = ("NON_COMMERCIAL_FILE!!!", "LIMITED_COMMERCIAL_FILE!!!")
_LIMITED_SPLIT = re.compile(rb"Hou[NL]C\x1a10336")
_MASK = 0xFFFFFFFF


@dataclass
class Entry:
    name: str
    body: bytes

    def text(self) -> str:
        """Bodies are UTF-8 in current Houdini; older files may hold Latin-1 bytes."""
        try:
            return self.body.decode("utf-8")
        except UnicodeDecodeError:
            return self.body.decode("latin-1")


@dataclass
class Archive:
    flavour: str                       # "hip", "hipnc" or "hiplc"
    entries: List[Entry] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)
    complete: bool = False             # the end-of-archive record was reached


def _name(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def _wang_hash(k: int) -> int:
    k = (k + (~(k << 16) & _MASK)) & _MASK
    k ^= k >> 5
    k = (k + (k << 3)) & _MASK
    k ^= k >> 13
    k = (k + (~(k << 9) & _MASK)) & _MASK
    k ^= k >> 17
    return k


def name_hash(name: bytes) -> int:
    """The mask applied to body sizes in licence-limited headers (Houdini's string hash, then a
    Wang integer hash)."""
    h = 0
    for c in name:
        h = (h * 37 + c) & _MASK
    return _wang_hash(h)


def _read_odc(data: bytes, arc: Archive, where: str) -> None:
    off, n = 0, len(data)
    while off < n:
        head = data[off:off + ODC_HEADER]
        if len(head) < ODC_HEADER or not head.startswith(ODC_MAGIC):
            arc.warnings.append(f"{where}: truncated or damaged at byte {off} (bad cpio header); "
                                f"read {len(arc.entries)} records")
            return
        try:
            name_size, body_size = int(head[59:65], 8), int(head[65:76], 8)
        except ValueError:
            arc.warnings.append(f"{where}: damaged cpio header at byte {off}; read {len(arc.entries)} records")
            return
        start = off + ODC_HEADER + name_size
        name = _name(data[off + ODC_HEADER:start - 1])
        if start + body_size > n:
            arc.warnings.append(f"{where}: truncated inside record {name!r} at byte {off}; "
                                f"read {len(arc.entries)} records")
            return
        if name == ODC_TRAILER:
            arc.complete = True
            return
        arc.entries.append(Entry(name, data[start:start + body_size]))
        off = start + body_size
    arc.warnings.append(f"{where}: truncated (no end-of-archive record); read {len(arc.entries)} records")


def _limited_record(data: bytes, off: int) -> Optional[Tuple[str, int, int]]:
    """(name, body start, body end) of the licence-limited record at ``off``, from its decoded
    header, or None when the header does not decode consistently."""
    head = data[off:off + LIMITED_HEADER]
    if len(head) < LIMITED_HEADER or head[5:11] != b"\x1a10336":
        return None
    nul = data.find(b"\0", off + LIMITED_HEADER)
    try:
        name_size = int(head[11:16], 16) ^ 0xBAD
        masked = int(head[25:34], 16)
    except ValueError:
        return None
    if nul < 0 or nul - (off + LIMITED_HEADER) + 1 != name_size:
        return None
    raw = data[off + LIMITED_HEADER:nul]
    size = masked ^ name_hash(raw)
    end = nul + 1 + size
    if end > len(data) or (end < len(data) and data[end:end + 5] not in LIMITED_MAGICS):
        return None
    return _name(raw), nul + 1, end


def _split_at_magic(data: bytes, off: int) -> Optional[Tuple[str, int, int]]:
    """Fallback: the record runs to the next header magic (or the end of the file)."""
    nul = data.find(b"\0", off + LIMITED_HEADER)
    if nul < 0:
        return None
    nxt = _LIMITED_SPLIT.search(data, nul + 1)
    return _name(data[off + LIMITED_HEADER:nul]), nul + 1, (nxt.start() if nxt else len(data))


def _read_limited(data: bytes, arc: Archive, where: str) -> None:
    off, guessed = 0, False
    while off < len(data):
        if data[off:off + 5] not in LIMITED_MAGICS:
            arc.warnings.append(f"{where}: damaged at byte {off} (bad record header); read {len(arc.entries)} records")
            return
        rec = _limited_record(data, off)
        if rec is None:
            rec, guessed = _split_at_magic(data, off), True
        if rec is None:
            arc.warnings.append(f"{where}: truncated at byte {off}; read {len(arc.entries)} records")
            return
        name, start, end = rec
        if name in LIMITED_TRAILERS:
            arc.complete = True
            break
        arc.entries.append(Entry(name, data[start:end]))
        off = end
    if guessed:
        arc.warnings.append(f"{where}: some {arc.flavour} record sizes could not be decoded; records were split "
                            "at header marks, so a record that itself contains one may be cut short")
    if not arc.complete:
        arc.warnings.append(f"{where}: truncated (no end-of-archive record); read {len(arc.entries)} records")


_MIME_BOUNDARY = re.compile(rb'boundary="([^"]+)"')
_MIME_NAME = re.compile(rb'^Content-Disposition:[^\n]*filename="([^"]*)"', re.M)
_MIME_EXTERNAL = re.compile(rb"^Content-Type:\s*application/external-reference", re.M)


def is_text_hip(head: bytes) -> bool:
    return head.startswith(b"MIME-Version") and b"HOUDINIMIMEBOUNDARY" in head[:400]


def _read_mime(data: bytes, arc: Archive, where: str) -> None:
    """Records of a text ``.hip``: each part's body up to the newline before the next delimiter.
    External-reference parts only name a section stored elsewhere and are skipped."""
    m = _MIME_BOUNDARY.search(data[:400])
    if m is None:
        raise ScanError(f"{where}: not a Houdini scene (text .hip without a MIME boundary)")
    for piece in data.split(b"\n--" + m.group(1))[1:]:
        if piece.startswith(b"--"):
            arc.complete = True
            break
        head, sep, body = piece.partition(b"\n\n")
        name = _MIME_NAME.search(head)
        if not sep or name is None:
            break
        if not _MIME_EXTERNAL.search(head):
            arc.entries.append(Entry(_name(name.group(1)), body))
    if not arc.complete:
        arc.warnings.append(f"{where}: truncated (no closing MIME delimiter); read {len(arc.entries)} records")


def read_archive(data: bytes, where: str) -> Archive:
    """All records of a ``.hip``/``.hipnc``/``.hiplc`` held in ``data``; ``where`` names the file
    in messages. Raises :class:`ScanError` when nothing at all can be read."""
    magic = data[:5]
    if data.startswith(ODC_MAGIC):
        arc = Archive("hip")
        _read_odc(data, arc, where)
    elif magic in LIMITED_MAGICS:
        arc = Archive(LIMITED_MAGICS[magic])
        _read_limited(data, arc, where)
    elif is_text_hip(data):
        arc = Archive("hip")
        _read_mime(data, arc, where)
    else:
        raise ScanError(f"{where}: not a Houdini scene (no cpio, HouNC/HouLC or text-hip header)")
    if not arc.entries:
        raise ScanError(f"{where}: no readable record (file empty, truncated or corrupt)")
    return arc
