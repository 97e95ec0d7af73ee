"""USD layers (``.usd``, ``.usda``, ``.usdc``, ``.usdz``) through usd-core.

``UsdUtils.ComputeAllDependencies`` is the authority on what a layer needs: it follows sublayers,
references, payloads, value clips and asset-valued attributes recursively, the way USD's own
packaging does. It does not say where each path came from, so each layer is also walked once to
map every authored asset path to ``layer:/prim.property`` for the ``source`` column.

Decisions:

* The closure is computed here, so the layers returned are not marked ``follow`` (reading them
  again would repeat the work); other readers mark a USD layer ``follow`` to get here.
* A ``<UDIM>`` texture is returned once, as authored, with ``tiling="udim"``, instead of the tiles
  USD found: the expander owns token expansion and also reports a UDIM set with no tiles at all,
  which USD silently skips.
* Paths USD could not resolve are returned as ordinary references, so they are reported missing.
* A time-sampled asset path is listed only when a chosen frame holds that sample (the last sample
  at or before the frame); with no frames chosen, every sample is listed.
* usd-core is an optional extra; without it the reader says how to install it."""
from __future__ import annotations

import bisect
import os
import posixpath
import re
from typing import Any, Dict, Iterable, List, Optional, Set, Tuple

from ..errors import ScanError
from ..paths import normpath
from .model import RawRef, ReadContext, ReadResult, SceneInfo

_UDIM = re.compile(r"<UDIM>", re.I)
_PACKAGED = re.compile(r"^(.*?\.usdz)\[(.*)\]$", re.I)
_FRAME = re.compile(r"#+|%0?\d*d|<f\d*>|\$F\d*", re.I)
_KINDS = {
    ".usd": "usd", ".usda": "usd", ".usdc": "usd", ".usdz": "usd",
    ".exr": "texture", ".tx": "texture", ".tex": "texture", ".png": "texture", ".jpg": "texture",
    ".jpeg": "texture", ".tif": "texture", ".tiff": "texture", ".hdr": "texture", ".rat": "texture",
    ".tga": "texture", ".bmp": "texture", ".vdb": "volume", ".abc": "alembic", ".ass": "standin",
    ".ies": "ies", ".mtlx": "materialx", ".osl": "shader", ".oso": "shader",
}
INSTALL_HINT = "install cloudsubmit[usd] (usd-core) to scan USD layers"


def _pxr() -> Tuple[Any, Any, Any]:
    try:
        from pxr import Sdf, Tf, UsdUtils
    except ImportError:
        raise ScanError(INSTALL_HINT) from None
    return Sdf, Tf, UsdUtils


def kind_for(path: str) -> str:
    return _KINDS.get(os.path.splitext(path.lower())[1], "file")


def _key(path: str) -> str:
    return normpath(path).lower() if os.name == "nt" else normpath(path)


def _asset_values(value: Any) -> Iterable[str]:
    if value is None:
        return []
    if hasattr(value, "path"):
        return [value.path]
    try:
        return [v.path for v in value if hasattr(v, "path")]
    except TypeError:
        return []


class _Sources:
    """Authored asset paths of each layer, anchored, mapped to ``layer:/prim.property``."""

    def __init__(self, Sdf: Any, frames: Optional[List[int]]) -> None:
        self.Sdf, self.frames = Sdf, frames
        self.by_path: Dict[str, str] = {}
        self.udims: List[Tuple[str, str]] = []     # (anchored pattern, source)
        self.needed: Set[str] = set()              # anchored keys some chosen frame uses
        self.unneeded: Set[str] = set()            # keys seen only in time samples no chosen frame holds

    def add(self, layer: Any, authored: str, source: str, needed: bool = True) -> None:
        if not authored:
            return
        anchored = self.Sdf.ComputeAssetPathRelativeToLayer(layer, authored) or authored
        if _UDIM.search(anchored):
            if needed and all(p != anchored for p, _ in self.udims):
                self.udims.append((anchored, source))
            return
        key = _key(anchored)
        self.by_path.setdefault(key, source)
        (self.needed if needed else self.unneeded).add(key)

    def skipped(self, path: str) -> bool:
        """Only named by time samples that none of the chosen frames holds."""
        key = _key(path)
        return key in self.unneeded and key not in self.needed

    def walk(self, layer: Any) -> None:
        name = layer.realPath or layer.identifier
        for sub in layer.subLayerPaths:
            self.add(layer, sub, f"{name}.subLayers")
        layer.Traverse(self.Sdf.Path.absoluteRootPath, lambda p: self._spec(layer, name, p))

    def _spec(self, layer: Any, name: str, path: Any) -> None:
        if path.IsPrimPath() or path.IsPrimVariantSelectionPath():
            prim = layer.GetPrimAtPath(path)
            if prim is None:
                return
            for arc, items in (("references", prim.referenceList), ("payload", prim.payloadList)):
                for item in items.GetAddedOrExplicitItems():
                    self.add(layer, item.assetPath, f"{name}:{path}.{arc}")
        elif path.IsPropertyPath():
            attr = layer.GetAttributeAtPath(path)
            if attr is None or attr.typeName not in (self.Sdf.ValueTypeNames.Asset, self.Sdf.ValueTypeNames.AssetArray):
                return
            for v in _asset_values(attr.default):
                self.add(layer, v, f"{name}:{path}")
            times = sorted(layer.ListTimeSamplesForPath(path))
            held = _held_times(times, self.frames)
            for t in times:
                for v in _asset_values(layer.QueryTimeSample(path, t)):
                    self.add(layer, v, f"{name}:{path}", needed=t in held)


def _held_times(times: List[float], frames: Optional[List[int]]) -> Set[float]:
    """The samples the chosen frames read: asset values are held, so frame f uses the last sample
    at or before f (the first sample before the first one). Layer time offsets are not applied."""
    if frames is None or not times:
        return set(times)
    held = set()
    for f in frames:
        i = bisect.bisect_right(times, f) - 1
        held.add(times[max(i, 0)])
    return held


def _compute(path: str, Tf: Any, UsdUtils: Any) -> Tuple[list, list, list]:
    trap = getattr(Tf, "DiagnosticTrap", None)
    try:
        if trap is None:
            return UsdUtils.ComputeAllDependencies(path)
        with trap() as t:
            try:
                return UsdUtils.ComputeAllDependencies(path)
            finally:
                t.Clear()   # unresolved paths are reported as missing files, not as USD chatter
    except Tf.ErrorException as exc:
        raise ScanError(f"{path}: cannot read USD layer ({_tf_message(str(exc))})") from None


def _tf_message(text: str) -> str:
    """The human part of Tf errors ("Error in 'func' at line N in file F : 'message'"), once each."""
    msgs: List[str] = []
    for part in re.split(r"Error in '", text)[1:] or [text]:
        m = re.search(r" : '(.*)'", part, re.S)
        msg = " ".join((m.group(1) if m else part).split())
        if msg and msg not in msgs:
            msgs.append(msg)
    return "; ".join(msgs) or "unreadable"


def _info(layer: Any) -> SceneInfo:
    info = SceneInfo()
    if layer is not None and layer.HasStartTimeCode() and layer.HasEndTimeCode():
        info.frame_start, info.frame_end = float(layer.startTimeCode), float(layer.endTimeCode)
    return info


def _matches_udim(path: str, patterns: List[Tuple[str, str]]) -> bool:
    for pattern, _ in patterns:
        rx = re.escape(normpath(pattern)).replace(re.escape("<UDIM>"), r"\d{4}")
        if re.fullmatch(rx, normpath(path), re.I):
            return True
    return False


class _Collect:
    """The references to return, once each. A path inside a package (``a.usdz[tex/b.png]``) is
    the package's business: the package file is the dependency, a missing member a warning."""

    def __init__(self, sources: _Sources, root: str, base: str, fallback: str) -> None:
        self.sources, self.root, self.base, self.fallback = sources, root, base, fallback
        self.refs: List[RawRef] = []
        self.warnings: List[str] = []
        self.seen: Set[str] = set()

    def add(self, value: str, kind: str, found: bool = True, source: str = "", **extra: Any) -> None:
        packaged = _PACKAGED.match(value)
        if packaged:
            outer, inner = packaged.groups()
            if not found:
                self.warnings.append(f"{outer}: {inner} is missing inside the package")
            value, kind, extra = outer, "usd", {}
        key = _key(value)
        if key == self.root or key in self.seen:
            return
        self.seen.add(key)
        src = source or self.sources.by_path.get(key, self.fallback)
        self.refs.append(RawRef(value=normpath(value), source=src, kind=kind, base_dir=self.base,
                                sequence=bool(_FRAME.search(value)), **extra))


def read(path: str, ctx: ReadContext) -> ReadResult:
    """Every layer and asset the USD layer at ``path`` needs, recursively."""
    Sdf, Tf, UsdUtils = _pxr()
    if not os.path.isfile(path):
        raise ScanError(f"{path}: cannot read scene (no such file)")
    layers, assets, unresolved = _compute(path, Tf, UsdUtils)
    if not layers:
        raise ScanError(f"{path}: cannot read USD layer")
    sources = _Sources(Sdf, ctx.frames)
    for layer in layers:
        sources.walk(layer)
    out = _Collect(sources, _key(layers[0].realPath or path), posixpath.dirname(normpath(path)),
                   f"{layers[0].realPath or path} (USD dependency)")
    for layer in layers:
        if layer.realPath:
            out.add(layer.realPath, "usd")
    for asset, found in [(a, True) for a in assets] + [(u, False) for u in unresolved]:
        if not (_matches_udim(asset, sources.udims) or _UDIM.search(asset) or sources.skipped(asset)):
            kind = kind_for(asset)
            out.add(asset, kind, found, follow=found and kind in ("standin", "usd"))
    for pattern, src in sources.udims:
        out.add(pattern, kind_for(pattern), source=src, tiling="udim")
    return ReadResult(refs=out.refs, warnings=out.warnings, info=_info(layers[0]))
