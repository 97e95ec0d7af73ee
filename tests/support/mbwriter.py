"""A small writer of Maya binary (.mb) files for tests, laid out the way Maya 2009 (FOR4) and
Maya 2020 (FOR8) lay out the files in ../shared/real-scenes: groups unpadded, leaves padded to
the alignment from their body start, 16-byte UUIDs after the names in FOR8 CREA records."""
from __future__ import annotations

import struct
from pathlib import Path
from typing import Iterable, List, Optional, Sequence, Tuple, Union

Tag = Union[str, int]


def _tag(tag: Tag) -> bytes:
    return struct.pack(">I", tag) if isinstance(tag, int) else tag.encode("ascii")


class MbWriter:
    """Build a scene in memory, then :meth:`write` it. ``wide`` picks FOR8 (Maya 2014+) or FOR4."""

    def __init__(self, wide: bool = True, version: str = "2020", encoding: str = "utf-8") -> None:
        self.wide = wide
        self.align = 8 if wide else 4
        self.encoding = encoding
        self.version = version
        self.plugins: List[bytes] = []
        self.body: List[bytes] = []
        self._uuid = 0

    # -- IFF ------------------------------------------------------------------------------
    def _header(self, tag: bytes, size: int) -> bytes:
        return struct.pack(">4s4xQ", tag, size) if self.wide else struct.pack(">4sI", tag, size)

    def leaf(self, tag: str, data: bytes) -> bytes:
        pad = -len(data) % self.align
        return self._header(tag.encode("ascii"), len(data)) + data + b"\0" * pad

    def group(self, kind: str, form: Tag, children: Iterable[bytes]) -> bytes:
        inner = _tag(form) + b"".join(children)
        return self._header((kind + ("8" if self.wide else "4")).encode("ascii"), len(inner)) + inner

    # -- values ---------------------------------------------------------------------------
    def s(self, text: str) -> bytes:
        return text.encode(self.encoding) + b"\0"

    def string(self, attr: str, value: str) -> bytes:
        return self.leaf("STR ", self.s(attr) + b" " + self.s(value))

    def strings(self, attr: str, values: Sequence[str]) -> bytes:
        return self.leaf("STR#", self.s(attr) + b" " + struct.pack(">I", len(values)) + b"".join(self.s(v) for v in values))

    def double(self, attr: str, value: float) -> bytes:
        return self.leaf("DBLE", self.s(attr) + b" " + struct.pack(">d", value))

    def mesh_data(self, attr: str, size: int) -> bytes:
        """Bulk data the reader must skip (stands in for MESH/MATR bodies)."""
        return self.leaf("MESH", self.s(attr) + b" " + bytes(size))

    # -- scene records --------------------------------------------------------------------
    def requires(self, plugin: str, version: str, *node_types: str) -> "MbWriter":
        self.plugins.append(self.leaf("PLUG", b"".join(self.s(x) for x in (plugin, version, *node_types)) + b"\0"))
        return self

    def reference(self, path: str, namespace: str, rfn: str, tag: str = "FREF") -> "MbWriter":
        """A ``file -r`` record: path first (as public parsers read it), then namespace and node."""
        self.body.append(self.group("FOR", tag, [self.leaf(tag, self.s(path) + self.s(namespace) + self.s(rfn))]))
        return self

    def node(self, tag: Tag, name: str, attrs: Sequence[bytes] = (), parent: Optional[str] = None) -> "MbWriter":
        flags = 0x00 if parent else 0x80
        crea = bytes([flags if self.wide else 0]) + self.s(name) + (self.s(parent) if parent else b"")
        if self.wide:
            self._uuid += 1
            crea += struct.pack("<IIII", 0x8819BC80, 0x000213AE, 0x6463BBEF, self._uuid)
        self.body.append(self.group("FOR", tag, [self.leaf("CREA", crea), *attrs]))
        return self

    def select(self, name: str, attrs: Sequence[bytes] = ()) -> "MbWriter":
        self.body.append(self.group("FOR", "SLCT", [self.leaf("SLCT", (":" + name).encode(self.encoding)), *attrs]))
        return self

    def connections(self, pairs: Sequence[Tuple[str, str]]) -> "MbWriter":
        cwfl = [self.leaf("CWFL", b"\0" + self.s(a) + self.s(b)) for a, b in pairs]
        self.body.append(self.group("LIS", "CONS", [self.group("FOR", "CONN", cwfl)]))
        return self

    # -- output ---------------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        head = self.group("FOR", "HEAD", [
            self.leaf("VERS", self.version.encode("ascii")),
            self.leaf("FINF", self.s("application") + self.s("maya")),
            *self.plugins,
        ])
        return self.group("FOR", "Maya", [head, *self.body])

    def write(self, path: Union[str, Path]) -> Path:
        path = Path(path)
        path.write_bytes(self.to_bytes())
        return path
