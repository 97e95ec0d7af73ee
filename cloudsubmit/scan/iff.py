"""Maya's IFF container (the ``.mb`` layout), read by seeking from header to header.

Maya <= 2013 writes ``FOR4`` files: 4-byte tag, 32-bit big-endian size, bodies padded to 4 bytes.
Maya 2014+ writes ``FOR8`` files: 4-byte tag, 4 bytes of padding, 64-bit size, bodies padded to
8 bytes. A group (``FOR*``/``LIS*``/``CAT*``/``PRO*``) starts its body with a 4-byte form type
(``Maya``, ``HEAD``, a node type tag such as ``RTFT``, or a plug-in's numeric type id) and its
size covers that type plus its children *with* their padding, so a group ends exactly at
``body + size``; a leaf's successor starts at ``body + size`` rounded up to the alignment,
counted from the body start (checked against real Maya 2009 and 2020 files).

Nothing here reads a body unless asked, so memory stays bounded by the largest chunk a caller
reads (plus one small group held in memory while its children are parsed), and a reader can skip
a whole node it does not care about with one seek. Every size is
checked against its parent before it is trusted: a truncated or corrupt file raises
:class:`ScanError` naming the file and the offset, never loops and never allocates what a
corrupt size field claims."""
from __future__ import annotations

import struct
from typing import BinaryIO, Iterator, List, NamedTuple, Optional, Tuple

from ..errors import ScanError
from .model import IncompleteScene

_GROUP_PREFIXES = (b"FOR", b"LIS", b"CAT", b"PRO")
_GROUP_TAGS = frozenset(p + w for p in _GROUP_PREFIXES for w in (b"4", b"8"))
_WINDOW = 1 << 16          # groups up to this size are read with one call and parsed in memory
_SCAN_WINDOW = 1 << 20     # bytes read at a time by groups(): the headers between are walked in memory
_PRINTABLE = frozenset(range(0x20, 0x7F))


class Chunk(NamedTuple):
    """One chunk. For a group, ``form`` is its form type and ``body``/``size`` cover only its
    children (the form type is already consumed); for a leaf ``form`` is ``b""``."""

    tag: bytes
    offset: int     # where the header starts
    body: int       # first byte after the header (after the form type for a group)
    size: int       # bytes of body
    form: bytes

    @property
    def is_group(self) -> bool:
        return bool(self.form)

    @property
    def end(self) -> int:
        return self.body + self.size


_new_chunk = tuple.__new__


class IffFile:
    """A Maya IFF file open for reading. ``wide`` is True for FOR8 (Maya 2014+)."""

    def __init__(self, fh: BinaryIO, name: str) -> None:
        self.fh = fh
        self.name = name
        fh.seek(0, 2)
        self.file_size = fh.tell()
        fh.seek(0)
        magic = fh.read(4)
        if magic == b"FOR8":
            self.wide, self.align, self.header = True, 8, 16
        elif magic == b"FOR4":
            self.wide, self.align, self.header = False, 4, 8
        else:
            raise ScanError(f"{name}: not a Maya binary file (starts with {magic!r}, expected FOR4 or FOR8)")
        self._unpack = struct.Struct(">4s4xQ" if self.wide else ">4sI").unpack_from
        self._win_pos, self._win = 0, b""
        self._tags_ok: set = set()  # tags already checked: a file repeats a few dozen tags a million times

    def error(self, offset: int, what: str) -> ScanError:
        return IncompleteScene(f"{self.name}: corrupt or truncated Maya binary at offset {offset:#x}: {what}")

    def root(self) -> Chunk:
        """The outermost group. A size beyond the end of the file means the file was cut short."""
        root = self._header(0, self.file_size)
        if not root.is_group:
            raise self.error(0, "the file does not start with a group")
        return root

    def children(self, group: Chunk) -> Iterator[Chunk]:
        """The direct children of ``group``, in file order, without reading their bodies."""
        pos, end = group.body, group.end
        if group.size <= _WINDOW and not self._in_window(pos, group.size):
            self._win_pos, self._win = pos, self._read_at(pos, group.size)
        while pos < end:
            if end - pos < self.header:
                raise self.error(pos, f"{end - pos} stray bytes at the end of a {group.tag.decode('latin-1')} group")
            chunk = self._header(pos, end)
            yield chunk
            if chunk.is_group:
                pos = chunk.end
            else:
                pos = min(chunk.body + -(-chunk.size // self.align) * self.align, end)

    def groups(self, group: Chunk, skip: frozenset) -> Iterator[Tuple[Chunk, Optional[bytes]]]:
        """The direct sub-groups of ``group`` whose form type is not in ``skip``, each with its
        children's bytes when they fit one window (else None: walk it with :meth:`children`).
        Everything else is skipped by its length from headers parsed in a large read buffer:
        no Chunk and no read call per skipped chunk (a big scene has 10^5 nodes nobody needs).
        Sizes and tags are checked as :meth:`children` checks them."""
        pos, end, hdr, align, unpack = group.body, group.end, self.header, self.align, self._unpack
        win_pos, win = pos, b""
        while pos < end:
            k = pos - win_pos
            if k + hdr + 4 > len(win):
                if end - pos < hdr:
                    raise self.error(pos, f"{end - pos} stray bytes at the end of a {group.tag.decode('latin-1')} group")
                win_pos, win, k = pos, self._read_at(pos, min(_SCAN_WINDOW, end - pos)), 0
                if len(win) < hdr:
                    raise self.error(pos + len(win), "unexpected end of file inside a chunk header")
            tag, size = unpack(win, k)
            body = pos + hdr
            if size > end - body:
                limit = "the end of the file" if end == self.file_size else "the end of its group"
                raise self.error(pos, f"chunk {tag.decode('latin-1')!r} claims {size} bytes, past {limit} at {end:#x}")
            if tag not in self._tags_ok:
                self._check_tag(tag, pos)
            if tag not in _GROUP_TAGS:
                pos = min(body + size + (-size % align), end)
                continue
            if size < 4:
                raise self.error(pos, f"group {tag.decode('latin-1')!r} too small to hold its form type")
            form = win[k + hdr:k + hdr + 4]
            if form not in skip:
                chunk = _new_chunk(Chunk, (tag, pos, body + 4, size - 4, form))   # Chunk(...) without its Python __new__
                start = k + hdr + 4
                if start + size - 4 <= len(win):
                    yield chunk, win[start:start + size - 4]
                else:
                    yield chunk, self.small_body(chunk)
            pos = body + size

    def small_body(self, group: Chunk) -> Optional[bytes]:
        """The whole body of a group of at most one window, read with one call (a node's
        attributes), or None for a larger group (walk it with :meth:`children`)."""
        if group.size > _WINDOW:
            return None
        return self._read_at(group.body, group.size)

    def leaf_spans(self, group: Chunk, data: bytes, base: int = 0) -> List[Tuple[bytes, bytes, int, int, int]]:
        """``(tag, data, start, stop, base + start)`` of each direct leaf of ``group`` in ``data``
        (its :meth:`small_body`; ``base``: where ``data`` starts in the file, less one header): no
        Chunk per leaf, sub-groups skipped by their length, every size checked as :meth:`children`
        checks it. One tuple per leaf, in the shape a reader loops over (a node's attributes)."""
        out: List[Tuple[bytes, bytes, int, int, int]] = []
        pos, end, header, align, unpack = 0, len(data), self.header, self.align, self._unpack
        tags_ok, append = self._tags_ok, out.append
        if end != group.size:
            raise self.error(group.body + end, "unexpected end of file")
        while pos < end:
            if end - pos < header:
                raise self.error(group.body + pos, f"{end - pos} stray bytes at the end of a {group.tag.decode('latin-1')} group")
            tag, size = unpack(data, pos)
            body = pos + header
            if size > end - body:
                raise self.error(group.body + pos, f"chunk {tag.decode('latin-1')!r} claims {size} bytes, past the end of its group at {group.end:#x}")
            if tag not in tags_ok:
                self._check_tag(tag, group.body + pos)
            if tag in _GROUP_TAGS:
                if size < 4:
                    raise self.error(group.body + pos, f"group {tag.decode('latin-1')!r} too small to hold its form type")
                pos = body + size
                continue
            pos = body + size + (-size % align)
            append((tag, data, body, body + size, base + body))
        return out

    def read(self, chunk: Chunk, limit: Optional[int] = None) -> bytes:
        """The body of a leaf (at most ``limit`` bytes). Sizes were checked by :meth:`children`."""
        n = chunk.size if limit is None else min(chunk.size, limit)
        data = self._read_at(chunk.body, n)
        if len(data) != n:
            raise self.error(chunk.body + len(data), "unexpected end of file")
        return data

    def _in_window(self, pos: int, n: int) -> bool:
        return 0 <= pos - self._win_pos and pos + n <= self._win_pos + len(self._win)

    def _read_at(self, pos: int, n: int) -> bytes:
        if self._in_window(pos, n):
            start = pos - self._win_pos
            return self._win[start:start + n]
        self.fh.seek(pos)
        return self.fh.read(n)

    def _check_tag(self, tag: bytes, pos: int) -> None:
        if not _PRINTABLE.issuperset(tag):
            raise self.error(pos, f"invalid chunk tag {tag!r}")
        self._tags_ok.add(tag)

    def _header(self, pos: int, end: int) -> Chunk:
        raw = self._read_at(pos, self.header + 4) if end - pos >= self.header + 4 else self._read_at(pos, self.header)
        if len(raw) < self.header:
            raise self.error(pos + len(raw), "unexpected end of file inside a chunk header")
        tag, size = self._unpack(raw)
        if tag not in self._tags_ok:
            self._check_tag(tag, pos)
        body = pos + self.header
        if size > end - body:
            limit = "the end of the file" if end == self.file_size else "the end of its group"
            raise self.error(pos, f"chunk {tag.decode('latin-1')!r} claims {size} bytes, past {limit} at {end:#x}")
        if tag[:3] not in _GROUP_PREFIXES or tag[3:] not in (b"4", b"8"):
            return Chunk(tag, pos, body, size, b"")
        if size < 4:
            raise self.error(pos, f"group {tag.decode('latin-1')!r} too small to hold its form type")
        return Chunk(tag, pos, body + 4, size - 4, raw[self.header:self.header + 4])
