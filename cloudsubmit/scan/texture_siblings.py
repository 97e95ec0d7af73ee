"""Converted textures renderers read beside the source texture, found in the folder's one cached
listing (never a stat per name): a render node given only ``wood.exr`` would convert it again, or
fail where conversion is off, so every sibling on disk travels with the source.

- Arnold: ``maketx`` writes ``<stem>.tx`` beside the source ("The resulting TX will be placed next
  to the original texture files", Arnold for Maya, Auto-generate TX Textures), and with colour
  management one TX per colour space, named ``<stem>_<colour space>_<rendering space>.<ext>.tx``
  with the spaces' own spelling (spaces kept), as the Tx Manager writes them ("Multiple tx files
  with different color spaces can be generated for the same source file").
- RenderMan: ``txmake`` output ``<name>.<ext>.tex`` (``wood.exr.tex``). A value that names a
  ``.tex`` already is the renderer's file itself and has no sibling.
- Redshift: the Texture Processor stores its result "side-by-side with the source, having the same
  name and the extension replaced with .rs***bin" (``wood.rstexbin``, ``sky.rsmapbin``).

Which colour spaces a scene's textures were converted for is not recorded in the scene, so every
colour-space variant present is listed: one too many costs an upload, one too few fails a render."""
from __future__ import annotations

import posixpath
import re
from typing import Dict, FrozenSet, List, Tuple

from .expand import DirCache

CONVERTED_EXTENSIONS = frozenset((".tx", ".tex"))
_REDSHIFT_RE = re.compile(r"(.+)\.rs[a-z]*bin", re.I)
_COLOUR_TX_RE = re.compile(r"(.+)\.([^./]+)\.tx")


class _FolderIndex:
    """The converted files of one folder, by what they were converted from."""

    def __init__(self, names: FrozenSet[str]) -> None:
        self.redshift: Dict[str, List[str]] = {}
        self.colour_tx: Dict[Tuple[str, str], List[str]] = {}
        for name in names:
            m = _REDSHIFT_RE.fullmatch(name)
            if m:
                self.redshift.setdefault(m.group(1), []).append(name)
                continue
            m = _COLOUR_TX_RE.fullmatch(name)
            if m:
                for stem in _stems(m.group(1), m.group(2), names):
                    self.colour_tx.setdefault((stem, m.group(2)), []).append(name)


def _stems(body: str, ext: str, names: FrozenSet[str]) -> List[str]:
    """The source stems ``<stem>_<cs>_<rs>`` can belong to: the stem ends at an underscore with
    another one after it. ``wood_v2_sRGB_ACEScg`` could be wood's or wood_v2's; when one of them
    is on disk (``wood_v2.exr``), the longest such source owns it."""
    stems = [body[:i] for i, ch in enumerate(body) if ch == "_" and "_" in body[i + 1:]]
    present = [s for s in stems if f"{s}.{ext}" in names]
    return [max(present, key=len)] if present else stems


class SiblingFinder:
    """Sibling look-ups for one scan, sharing the scan's :class:`DirCache`."""

    def __init__(self, cache: DirCache) -> None:
        self.cache = cache
        self._index: Dict[str, _FolderIndex] = {}
        self._found: Dict[str, List[str]] = {}   # a texture used by 10^4 nodes is looked up once

    def _folder(self, folder: str) -> _FolderIndex:
        index = self._index.get(folder)
        if index is None:
            index = self._index[folder] = _FolderIndex(self.cache.names(folder))
        return index

    def siblings(self, path: str) -> List[str]:
        """Every converted file beside the existing texture ``path``, sorted, without ``path``."""
        found = self._found.get(path)
        if found is None:
            found = self._found[path] = self._lookup(path)
        return found

    def _lookup(self, path: str) -> List[str]:
        folder, name = posixpath.split(path)
        stem, ext = posixpath.splitext(name)
        if not stem or ext.lower() in CONVERTED_EXTENSIONS:
            return []
        names = self.cache.names(folder or "/")
        found = {n for n in (f"{stem}.tx", f"{name}.tex") if n in names}
        index = self._folder(folder or "/")
        found.update(index.colour_tx.get((stem, ext[1:]), ()))
        found.update(index.redshift.get(stem, ()))
        found.discard(name)
        return [posixpath.join(folder, n) for n in sorted(found)]
