"""What a Maya scene says about itself (frame range, renderer, cameras, layers, output prefix),
from attribute values any Maya reader collected. Shared by the ASCII and binary readers so both
answer the panel's questions the same way."""
from __future__ import annotations

import re
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from .attributes import flag, number
from .maya_layers import ADJUSTMENTS, SETUP_ATTRS, Link, LayerSettings, layer_settings
from .model import RawRef, SceneInfo

# (node type) -> {long name: short name} of the attributes that describe the scene.
INFO_ATTRS: Dict[str, Dict[str, str]] = {
    "renderGlobals": {
        "currentRenderer": "ren", "startFrame": "fs", "endFrame": "ef", "byFrameStep": "bfs",
        "imageFilePrefix": "ifp", "animation": "an",
    },
    "script": {"before": "b"},
    "camera": {"renderable": "rnd"},
    "renderLayer": {"renderable": "rndr", ADJUSTMENTS: ADJUSTMENTS},   # adjs[i].val: legacy adjustments
    "aiAOV": {"name": "aovn", "enabled": "aoven"},
    "time": {"outTime": "o"},
    # RenderMan for Maya writes its images to imageOutputDir/imageFileFormat, not to the render
    # globals prefix (RfM 22+ files: setAttr ".imageOutputDir" -type "string"
    # "<ws>/images/<scene>_v<version>_t<take>"; ".imageFileFormat" "<scene>_<layer>_<camera>_<aov>.<f4>.<ext>")
    "rmanGlobals": {"imageOutputDir": "imageOutputDir", "imageFileFormat": "imageFileFormat", "version": "version",
                    "take": "take"},
    **SETUP_ATTRS,
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
_RENDERMAN = "renderman"   # RfM 22+ (rmanGlobals); RfM 21 and older wrote "renderMan" and kept no imageOutputDir
# RfM tokens answered from rmanGlobals itself; <scene> and <ws> are the scanner's (it knows the
# scene and the project), the rest (<layer>, <camera>, <aov>, <f4>, <ext>) stay: the folder above
# the first one left is what the download brings back.
_RMAN_NUMBERS = ("version", "take")


def info_names() -> Dict[str, Dict[str, str]]:
    """(node type) -> {any name (long or short): long name}."""
    out: Dict[str, Dict[str, str]] = {}
    for ntype, attrs in INFO_ATTRS.items():
        names = out.setdefault(ntype, {})
        for long, short in attrs.items():
            names[long] = long
            names[short] = long
    return out


def build_info(nodes: Mapping[str, Tuple[str, str, Dict[str, Any]]], links: Sequence[Link] = (),
               current_frame: Any = None, time_values: bool = False) -> Tuple[SceneInfo, List[RawRef]]:
    """``nodes``: name -> (type, parent, {long attr: value}); ``links``: the render setup
    connections (:mod:`maya_layers`); ``current_frame``: ``time1.outTime`` where the reader
    decodes it (what Maya renders with Animation off); ``time_values``: the reader decodes
    time attributes, so an unset start/end means Maya's defaults (the .mb reader does not yet:
    its scenes fall back to the playback range). Returns the info and the render output paths as output
    ``RawRef`` (kind ``render``, resolved by the scanner), one per renderable layer, camera and AOV
    with each layer's own overrides applied."""
    info = SceneInfo()
    passes: List[str] = []
    globals_values: Optional[Dict[str, Any]] = None
    rman: Mapping[str, Any] = {}
    for name, (ntype, parent, values) in nodes.items():
        if ntype == "renderGlobals" and name == "defaultRenderGlobals":
            globals_values = values
        elif ntype == "rmanGlobals":
            rman = values
        elif ntype == "script" and name == "sceneConfigurationScriptNode":
            playback = _playback_range(str(values.get("before", "")))
            if playback and info.frame_start is None:
                info.frame_start, info.frame_end = playback
        elif ntype == "camera" and flag(values.get("renderable", "yes")):
            info.cameras.append(parent or name)
        elif ntype == "renderLayer" and flag(values.get("renderable", "yes")):
            info.layers.append(name)   # what "--layer all" renders: a layer turned off is not
        elif ntype == "aiAOV" and flag(values.get("enabled", "yes")) and values.get("name"):
            passes.append(str(values["name"]))
    if globals_values is None:
        return info, []
    _render_globals(info, globals_values, current_frame, time_values)
    long_names = {t: {short: long for long, short in attrs.items()} for t, attrs in INFO_ATTRS.items()}
    layers = [s for s in layer_settings(nodes, links, globals_values, long_names) if s.renderable]
    outputs: List[RawRef] = []
    for setting in layers:
        paths, source = _outputs(setting, _layer_outputs(setting, len(layers) > 1, passes), rman)
        info.layer_outputs[setting.layer] = paths
        info.layer_cameras[setting.layer] = list(setting.cameras)
        outputs += [RawRef(value=v, source=source, kind="render", output=True) for v in paths]
        own = _frames(setting.globals, time_values)
        if own is not None and own != (info.frame_start, info.frame_end, info.frame_step):
            info.layer_frames[setting.layer] = own
    if not layers:  # no renderable layer: still say where the scene's own images would go
        scene = LayerSettings(_DEFAULT_LAYER[0], True, dict(globals_values), list(info.cameras))
        paths, source = _outputs(scene, render_outputs(_prefix(globals_values), [], info.cameras, passes), rman)
        outputs = [RawRef(value=v, source=source, kind="render", output=True) for v in paths]
    unique = {o.value: o for o in outputs}
    return info, list(unique.values())


def _outputs(setting: LayerSettings, prefixed: List[str], rman: Mapping[str, Any]) -> Tuple[List[str], str]:
    """A layer's image paths and the attribute they come from: RenderMan's own output folder
    when the layer renders with RenderMan and the scene sets one, else the render globals prefix's."""
    rman_path = renderman_output(rman) if str(setting.globals.get("currentRenderer") or "") == _RENDERMAN else ""
    if rman_path:
        return [rman_path], "rmanGlobals.imageOutputDir"
    return prefixed, "defaultRenderGlobals.imageFilePrefix"


def _layer_outputs(setting: LayerSettings, several_layers: bool, passes: Sequence[str]) -> List[str]:
    """One layer's image paths. Maya puts each layer's and each camera's images in a folder of
    their own when the scene renders more than one and the prefix does not name them with a
    token (Maya's "Subfolders and names of rendered images")."""
    prefix = _prefix(setting.globals)
    folders = [f"<{token}>" for token, several in (("RenderLayer", several_layers), ("Camera", len(setting.cameras) > 1))
               if several and not _TOKEN_RES[token].search(prefix)]
    prefix = "/".join(folders + [prefix])
    return render_outputs(prefix, [layer_file_name(setting.layer)], setting.cameras, passes)


def renderman_output(values: Mapping[str, Any]) -> str:
    """Where RenderMan for Maya writes a layer's images: ``imageOutputDir/imageFileFormat`` with
    ``<version>``/``<take>`` from rmanGlobals (left as tokens when the file does not set them);
    "" when the scene sets no output folder (the render globals prefix is used then)."""
    folder = str(values.get("imageOutputDir") or "").rstrip("/")
    if not folder:
        return ""
    path = folder + "/" + (str(values.get("imageFileFormat") or "").lstrip("/") or "<scene>")
    for token in _RMAN_NUMBERS:
        number_value = number(values.get(token))
        if number_value is not None:
            path = re.sub(f"<{token}>", str(int(number_value)), path, flags=re.I)
    return path


def _frames(values: Mapping[str, Any], defaults: bool = True) -> Optional[Tuple[float, float, float]]:
    """The render range defaultRenderGlobals (with a layer's overrides) says. Maya writes only
    values that differ from the defaults, so with Animation on an unset start/end is 1/10."""
    start, end = number(values.get("startFrame", "")), number(values.get("endFrame", ""))
    if start is None and end is None and not (defaults and flag(values.get("animation", "no"))):
        return None
    return (1.0 if start is None else start, 10.0 if end is None else end, number(values.get("byFrameStep", "")) or 1.0)


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


def _prefix(values: Mapping[str, Any]) -> str:
    return str(values.get("imageFilePrefix") or "") or "<Scene>"  # Maya's default: the scene's name


def _render_globals(info: SceneInfo, values: Dict[str, Any], current: Any = None, defaults: bool = False) -> None:
    """Fill the info from defaultRenderGlobals (the scene's own values, no layer's overrides).
    With Animation off and no range set, Maya renders the current frame (``time1``)."""
    info.renderer = str(values.get("currentRenderer") or "")
    own = _frames(values, defaults)
    frame = number(current)
    if own is None and frame is not None:
        own = (frame, frame, 1.0)
    if own is not None:
        info.frame_start, info.frame_end, info.frame_step = own
