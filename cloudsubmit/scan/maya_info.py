"""What a Maya scene says about itself (frame range, renderer, cameras, layers, output prefix),
from attribute values any Maya reader collected. Shared by the ASCII and binary readers so both
answer the panel's questions the same way."""
from __future__ import annotations

import re
from typing import Any, Dict, List, Mapping, Optional, Tuple

from .attributes import flag, number
from .model import RawRef, SceneInfo

# (node type) -> {long name: short name} of the attributes that describe the scene.
INFO_ATTRS: Dict[str, Dict[str, str]] = {
    "renderGlobals": {
        "currentRenderer": "ren", "startFrame": "fs", "endFrame": "ef", "byFrameStep": "bfs",
        "imageFilePrefix": "ifp", "animation": "an",
    },
    "script": {"before": "b"},
    "camera": {"renderable": "rnd"},
}
# Nodes every scene has and edits with ``select -ne :name`` instead of creating them.
DEFAULT_NODE_TYPES = {
    "defaultRenderGlobals": "renderGlobals",
    "defaultColorMgtGlobals": "colorManagementGlobals",
    "defaultResolution": "resolution",
    "time1": "time",
}
_PLAYBACK_RE = re.compile(r"playbackOptions\b(.*)")
_FLAG_RE = re.compile(r"-(min|max|minTime|maxTime)\s+(-?[\d.]+)")


def info_names() -> Dict[str, Dict[str, str]]:
    """(node type) -> {any name (long or short): long name}."""
    out: Dict[str, Dict[str, str]] = {}
    for ntype, attrs in INFO_ATTRS.items():
        names = out.setdefault(ntype, {})
        for long, short in attrs.items():
            names[long] = long
            names[short] = long
    return out


def build_info(nodes: Mapping[str, Tuple[str, str, Dict[str, Any]]]) -> Tuple[SceneInfo, List[RawRef]]:
    """``nodes``: name -> (type, parent, {long attr: value}). Returns the info and the render
    output prefix as an output ``RawRef`` (kind ``render``, resolved by the scanner)."""
    info = SceneInfo()
    outputs: List[RawRef] = []
    for name, (ntype, parent, values) in nodes.items():
        if ntype == "renderGlobals" and name == "defaultRenderGlobals":
            _render_globals(info, values, outputs)
        elif ntype == "script" and name == "sceneConfigurationScriptNode":
            playback = _playback_range(str(values.get("before", "")))
            if playback and info.frame_start is None:
                info.frame_start, info.frame_end = playback
        elif ntype == "camera" and flag(values.get("renderable", "yes")):
            info.cameras.append(parent or name)
        elif ntype == "renderLayer":
            info.layers.append(name)
    return info, outputs


def _playback_range(script: str) -> Optional[Tuple[float, float]]:
    """``playbackOptions -min 1 -max 120`` (flags in any order, long or short) -> (1.0, 120.0)."""
    playback = _PLAYBACK_RE.search(script)
    flags = dict(_FLAG_RE.findall(playback.group(1))) if playback else {}
    start, end = flags.get("min", flags.get("minTime")), flags.get("max", flags.get("maxTime"))
    return (float(start), float(end)) if start is not None and end is not None else None


def _render_globals(info: SceneInfo, values: Dict[str, Any], outputs: List[RawRef]) -> None:
    info.renderer = str(values.get("currentRenderer") or "")
    start, end = number(values.get("startFrame", "")), number(values.get("endFrame", ""))
    if start is not None or end is not None:
        info.frame_start = start if start is not None else 1.0
        info.frame_end = end if end is not None else 10.0  # Maya's defaults for the render range
        info.frame_step = number(values.get("byFrameStep", "")) or 1.0
    prefix = str(values.get("imageFilePrefix") or "") or "<Scene>"  # Maya's default: the scene's name
    outputs.append(RawRef(value=prefix, source="defaultRenderGlobals.imageFilePrefix", kind="render", output=True))
