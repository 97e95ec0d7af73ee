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
* An asset path is anchored to the layer that authors it, never to the root layer or the current
  folder: ``./x``/``../x`` by USD itself; a search-path form (``textures/x.png``) is what the
  resolver finds beside the authoring layer or on the search paths (``PXR_AR_DEFAULT_SEARCH_PATH``
  of the scan's environment, then ``scan.usd_search_paths``); when nothing is found it is reported
  missing beside the authoring layer, where USD looks first. A ``<UDIM>`` pattern is anchored the
  same way, to the first of those folders holding a tile.
* Paths USD could not resolve are returned as ordinary references, so they are reported missing.
* USD's own diagnostics are trapped: "failed to resolve" ones become the missing files above, the
  rest go into the warnings; nothing reaches stderr.
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


def _pxr() -> Tuple[Any, Any, Any, Any]:
    try:
        from pxr import Ar, Sdf, Tf, UsdUtils
    except ImportError:
        raise ScanError(INSTALL_HINT) from None
    return Ar, Sdf, Tf, UsdUtils


def search_paths(ctx: ReadContext) -> List[str]:
    """The folders a search-path asset (``textures/x.png``) is looked up in after its layer's own
    folder: the environment's ``PXR_AR_DEFAULT_SEARCH_PATH``, then ``scan.usd_search_paths``."""
    raw = str(ctx.env.get("PXR_AR_DEFAULT_SEARCH_PATH") or "")
    extra = ctx.config.get("scan.usd_search_paths", []) if ctx.config is not None else []
    out: List[str] = []
    for p in [*raw.split(os.pathsep), *(str(e) for e in extra or ())]:
        if p.strip() and normpath(p) not in out:
            out.append(normpath(p))
    return out


def _is_search_form(path: str) -> bool:
    """``textures/x.png``: neither absolute, nor ``./``/``../``, nor a URI or package path."""
    p = path.replace("\\", "/")
    return not (posixpath.isabs(p) or re.match(r"^[A-Za-z]:/", p) or p.startswith(("./", "../"))
                or re.match(r"^[A-Za-z][A-Za-z0-9+.-]+:", p) or "[" in p)


def _layer_dir(layer: Any) -> str:
    real = layer.realPath or ""
    return posixpath.dirname(normpath(real)) if real and "[" not in real else ""


def _udim_home(pattern: str, folders: List[str]) -> Optional[str]:
    """The first ``folder/pattern`` with at least one tile on disk."""
    for folder in folders:
        candidate = normpath(pattern, folder)
        parent, name = posixpath.split(candidate)
        rx = re.compile(re.escape(name).replace(re.escape("<UDIM>"), r"\d{4}") + r"\Z", re.I)
        try:
            if any(rx.match(n) for n in os.listdir(parent)):
                return candidate
        except OSError:
            continue
    return None


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

    def __init__(self, Sdf: Any, resolve: Any, frames: Optional[List[int]], search: List[str]) -> None:
        self.Sdf, self.resolve, self.frames, self.search = Sdf, resolve, frames, search
        self.by_path: Dict[str, str] = {}
        self.missing_at: Dict[str, List[str]] = {}  # unresolved search-path form -> beside each authoring layer
        self.udims: List[Tuple[str, str]] = []     # (anchored pattern, source)
        self.needed: Set[str] = set()              # anchored keys some chosen frame uses
        self.unneeded: Set[str] = set()            # keys seen only in time samples no chosen frame holds

    def add(self, layer: Any, authored: str, source: str, needed: bool = True) -> None:
        if not authored:
            return
        anchored = self._anchor(layer, authored)
        if _UDIM.search(anchored):
            if needed and all(p != anchored for p, _ in self.udims):
                self.udims.append((anchored, source))
            return
        key = _key(anchored)
        self.by_path.setdefault(key, source)
        (self.needed if needed else self.unneeded).add(key)

    def _anchor(self, layer: Any, authored: str) -> str:
        """Where the asset is, or (missing) where USD looks first: beside the authoring layer."""
        anchored = self.Sdf.ComputeAssetPathRelativeToLayer(layer, authored) or authored
        here = _layer_dir(layer)
        if not here or not _is_search_form(anchored):
            return anchored
        if _UDIM.search(anchored):
            return _udim_home(anchored, [here, *self.search]) or normpath(anchored, here)
        found = self.resolve(anchored)
        if found:
            return normpath(str(found))
        beside = normpath(anchored, here)
        at = self.missing_at.setdefault(anchored, [])
        if beside not in at:
            at.append(beside)
        return beside

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
    try:
        return UsdUtils.ComputeAllDependencies(path)
    except Tf.ErrorException as exc:
        raise ScanError(f"{path}: cannot read USD layer ({_tf_message(str(exc))})") from None


_UNRESOLVED_NOTE = re.compile(r"^Failed to resolve (reference|asset path) ", re.I)


def _usd_warnings(trap: Any, path: str) -> List[str]:
    """USD's warnings and errors caught while reading, for the scan's warnings; the "failed to
    resolve" ones are left out, since those files are reported missing with their layer."""
    out: List[str] = []
    for d in [*trap.GetWarnings(), *trap.GetErrors()]:
        msg = " ".join(str(getattr(d, "commentary", d)).split())
        if msg and not _UNRESOLVED_NOTE.match(msg) and f"{path}: USD: {msg}" not in out:
            out.append(f"{path}: USD: {msg}")
    trap.Clear()
    return out


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
    Ar, Sdf, Tf, UsdUtils = _pxr()
    if not os.path.isfile(path):
        raise ScanError(f"{path}: cannot read scene (no such file)")
    search = search_paths(ctx)
    binder = Ar.ResolverContextBinder(Ar.DefaultResolverContext(search))
    with Tf.DiagnosticTrap() as trap, binder:
        try:
            result = _read(path, ctx, search, Ar, Sdf, Tf, UsdUtils)
        finally:
            noted = _usd_warnings(trap, path)
    result.warnings += noted
    return result


def _read(path: str, ctx: ReadContext, search: List[str], Ar: Any, Sdf: Any, Tf: Any, UsdUtils: Any) -> ReadResult:
    layers, assets, unresolved = _compute(path, Tf, UsdUtils)
    if not layers:
        raise ScanError(f"{path}: cannot read USD layer")
    resolver = Ar.GetResolver()
    sources = _Sources(Sdf, lambda p: str(resolver.Resolve(p) or ""), ctx.frames, search)
    for layer in layers:
        sources.walk(layer)
    root_dir = posixpath.dirname(normpath(path))
    out = _Collect(sources, _key(layers[0].realPath or path), root_dir, f"{layers[0].realPath or path} (USD dependency)")
    for layer in layers:
        if layer.realPath:
            out.add(layer.realPath, "usd")
    missing: List[str] = []
    for u in unresolved:   # a search-path form missing beside each layer that names it
        missing += sources.missing_at.get(u, [normpath(u, root_dir)] if _is_search_form(u) else [u])
    for asset, found in [(a, True) for a in assets] + [(m, False) for m in missing]:
        if not (_matches_udim(asset, sources.udims) or _UDIM.search(asset) or sources.skipped(asset)):
            kind = kind_for(asset)
            out.add(asset, kind, found, follow=found and kind in ("standin", "usd"))
    for pattern, src in sources.udims:
        out.add(pattern, kind_for(pattern), source=src, tiling="udim")
    return ReadResult(refs=out.refs, warnings=out.warnings, info=_info(layers[0]))
