"""What a Maya scene says about itself (frame range, renderer, cameras, layers, output prefix),
from attribute values any Maya reader collected. Shared by the ASCII and binary readers so both
answer the panel's questions the same way."""
from __future__ import annotations

import re
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

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
    "renderLayer": {"renderable": "rndr"},
    "aiAOV": {"name": "aovn", "enabled": "aoven"},
}
# Nodes every scene has and edits with ``select -ne :name`` instead of creating them.
DEFAULT_NODE_TYPES = {
    "defaultRenderGlobals": "renderGlobals",
    "defaultColorMgtGlobals": "colorManagementGlobals",
    "defaultResolution": "resolution",
    "time1": "time",
}
_PLAYBACK_RE = re.compile(r"playbackOptions\b(.*)")
# Render setup keeps a legacy renderLayer "rs_<layer>" per layer; files are named for "<layer>", and
# the default layer's images for "masterLayer".
_SETUP_PREFIX = "rs_"
_DEFAULT_LAYER = ("defaultRenderLayer", "masterLayer")
_TOKEN_RES = {name: re.compile(f"<{name}>", re.I) for name in ("RenderLayer", "Camera", "RenderPass")}
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
    output paths as output ``RawRef`` (kind ``render``, resolved by the scanner)."""
    info = SceneInfo()
    outputs: List[RawRef] = []
    renderable_layers: List[str] = []
    passes: List[str] = []
    globals_values: Optional[Dict[str, Any]] = None
    for name, (ntype, parent, values) in nodes.items():
        if ntype == "renderGlobals" and name == "defaultRenderGlobals":
            globals_values = values
        elif ntype == "script" and name == "sceneConfigurationScriptNode":
            playback = _playback_range(str(values.get("before", "")))
            if playback and info.frame_start is None:
                info.frame_start, info.frame_end = playback
        elif ntype == "camera" and flag(values.get("renderable", "yes")):
            info.cameras.append(parent or name)
        elif ntype == "renderLayer":
            info.layers.append(name)
            if flag(values.get("renderable", "yes")):
                renderable_layers.append(layer_file_name(name))
        elif ntype == "aiAOV" and flag(values.get("enabled", "yes")) and values.get("name"):
            passes.append(str(values["name"]))
    if globals_values is None:
        return info, outputs
    prefix = _render_globals(info, globals_values)
    for value in render_outputs(prefix, renderable_layers, info.cameras, passes):
        outputs.append(RawRef(value=value, source="defaultRenderGlobals.imageFilePrefix", kind="render", output=True))
    return info, outputs


def layer_file_name(layer: str) -> str:
    """What ``<RenderLayer>`` becomes for a renderLayer node: render setup's ``rs_key`` is
    ``key``, the default layer is ``masterLayer``, a legacy layer keeps its name."""
    if layer == _DEFAULT_LAYER[0]:
        return _DEFAULT_LAYER[1]
    return layer[len(_SETUP_PREFIX):] if layer.startswith(_SETUP_PREFIX) and len(layer) > len(_SETUP_PREFIX) else layer


def render_outputs(prefix: str, layers: Sequence[str], cameras: Sequence[str], passes: Sequence[str]) -> List[str]:
    """The image file prefix once per renderable layer, camera and AOV its tokens name, as Maya
    names the files (``<RenderPass>``: ``beauty`` and each enabled AOV). A token with nothing to
    stand for stays, so the download still brings back the folder above it."""
    values = {"RenderLayer": list(dict.fromkeys(layers)), "Camera": [c.rsplit("|", 1)[-1] for c in dict.fromkeys(cameras)],
              "RenderPass": ["beauty"] + [p for p in dict.fromkeys(passes) if p != "beauty"]}
    out = [prefix]
    for token, pattern in _TOKEN_RES.items():
        if not values[token] or not pattern.search(prefix):
            continue
        out = [pattern.sub(v.replace("\\", "\\\\"), p) for p in out for v in values[token]]  # v taken literally
    return list(dict.fromkeys(out))


def _playback_range(script: str) -> Optional[Tuple[float, float]]:
    """``playbackOptions -min 1 -max 120`` (flags in any order, long or short) -> (1.0, 120.0)."""
    playback = _PLAYBACK_RE.search(script)
    flags = dict(_FLAG_RE.findall(playback.group(1))) if playback else {}
    start, end = flags.get("min", flags.get("minTime")), flags.get("max", flags.get("maxTime"))
    return (float(start), float(end)) if start is not None and end is not None else None


def _render_globals(info: SceneInfo, values: Dict[str, Any]) -> str:
    """Fill the info from defaultRenderGlobals; returns the image file prefix."""
    info.renderer = str(values.get("currentRenderer") or "")
    start, end = number(values.get("startFrame", "")), number(values.get("endFrame", ""))
    if start is not None or end is not None:
        info.frame_start = start if start is not None else 1.0
        info.frame_end = end if end is not None else 10.0  # Maya's defaults for the render range
        info.frame_step = number(values.get("byFrameStep", "")) or 1.0
    return str(values.get("imageFilePrefix") or "") or "<Scene>"  # Maya's default: the scene's name
