"""V-Ray scene (``.vrscene``) reader: the files a V-Ray scene archive names, so a VRayScene node
brings its textures, proxies and caches along.

A ``.vrscene`` is text: plugin blocks ``TypeName name { param= value; ... }`` where file
parameters hold a quoted path (``file="tex/wood.exr";`` in BitmapBuffer and GeomMeshFile,
``ies_file=`` in LightIES, ``cache_path=`` in PhxShaderCache), and ``#include "other.vrscene"``
lines pull in further files. Any parameter named ``file`` or ending in ``file``, ``filename``,
``file_name`` or ``cache_path`` with a string value is a file; includes are followed."""
from __future__ import annotations

import bisect
import os
import re

from .model import RawRef, ReadContext, ReadResult
from .text_files import read_text

_PARAM_RE = re.compile(r"(?<![\w])(?P<name>\w*(?:file|filename|file_name|cache_path))\s*=\s*\"(?P<value>(?:[^\"\\\n]|\\.)*)\"\s*;", re.I)
_INCLUDE_RE = re.compile(r"^[ \t]*#include[ \t]+\"(?P<value>[^\"\n]+)\"", re.M)
_BLOCK_RE = re.compile(r"^[ \t]*(?P<type>[A-Za-z]\w*)[ \t]+(?P<node>[^\s{]+)[ \t]*\{", re.M)


def read(path: str, ctx: ReadContext) -> ReadResult:
    """Every file a ``.vrscene`` names (includes are followed by the scanner)."""
    text = read_text(path, "V-Ray scene")
    result = ReadResult()
    blocks = [(m.start(), m.group("node")) for m in _BLOCK_RE.finditer(text)]
    starts = [start for start, _ in blocks]
    name = os.path.basename(path)
    for m in _INCLUDE_RE.finditer(text):
        result.refs.append(RawRef(value=m.group("value"), source=f"{name}:#include", kind="vrscene", follow=True))
    for m in _PARAM_RE.finditer(text):
        value = m.group("value").replace('\\"', '"').replace("\\\\", "\\")
        if not value.strip():
            continue
        at = bisect.bisect_right(starts, m.start()) - 1
        node = blocks[at][1] if at >= 0 else name
        result.refs.append(RawRef(value=value, source=f"{node}.{m.group('name')}", kind="file"))
    return result
