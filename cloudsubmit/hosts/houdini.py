"""Houdini as a cloudsubmit host: ``hou`` imported inside functions, so this module loads anywhere.

Files come from ``hou.fileReferences()`` as written (``$HIP/tex/wood.$F4.rat``), with the node and
parameter they came from, classified by the same parameter table as the offline .hip reader
(``scan/houdini_parms.yaml`` plus ``scan.extra_houdini_parms``): what is an input, what an output,
what is Houdini's own and never uploaded. The core expands variables and frame tokens for the
chosen frames. Output drivers in ``/out`` are the "layers": each brings its own frame range,
renderer and camera."""
from __future__ import annotations

import functools
import re
from typing import Any, Dict, List, Optional

from ..scan.houdini_parms import base_type, rule_enabled
from ..scan.model import RawRef
from ..scan.readers import host_extensions
from .base import FrameRange, Host

ROP_ROOT = "/out"
STAGE_ROOT = "/stage"  # Solaris: USD Render ROPs live among the LOPs
CAMERA_PARMS = ("camera", "RS_renderCamera", "vm_camera")
_FRAME_TOKEN = re.compile(r"\$\{?(F\d*|FF|T|SF)\b")
_VARIABLES = ("HIP", "HIPNAME", "HIPFILE", "JOB")


def _hou() -> Any:
    import hou

    return hou


def _is_driver(node: Any) -> bool:
    return node.type().category().name() == "Driver"


class HoudiniHost(Host):
    name = "houdini"
    scene_extensions = host_extensions("houdini")

    def is_live(self) -> bool:
        try:
            return bool(_hou().applicationVersion())
        except Exception:
            return False

    def is_interactive(self) -> bool:
        return bool(_hou().isUIAvailable())

    def scene_path(self) -> str:
        hip = _hou().hipFile
        return "" if hip.isNewFile() else hip.path()

    def is_modified(self) -> bool:
        return bool(_hou().hipFile.hasUnsavedChanges())

    def save_scene(self) -> str:
        from ..errors import SubmitError

        hip = _hou().hipFile
        if hip.isNewFile():
            raise SubmitError("the hip file has never been saved: save it under a name first", exit_code=2)
        hip.save()
        return hip.path()

    def _rop(self, layer: str) -> Any:
        return _hou().node(layer) if layer else None

    def frame_range(self, layer: str = "") -> FrameRange:
        hou = _hou()
        rop = self._rop(layer)
        if rop is not None and rop.parm("trange") is not None:
            if rop.parm("trange").eval() == 0:  # "Render current frame"
                return (hou.frame(), hou.frame(), 1.0)
            start, end, step = rop.parmTuple("f").eval()
            return (float(start), float(end), float(step or 1))
        start, end = hou.playbar.frameRange()
        return (float(start), float(end), float(hou.playbar.frameIncrement() or 1))

    def layers(self) -> List[str]:
        """Output drivers in /out, then render ROPs in /stage (by the parameter table's ROP types)."""
        hou = _hou()
        out, stage = hou.node(ROP_ROOT), hou.node(STAGE_ROOT)
        rops = [n.path() for n in (out.children() if out is not None else ()) if _is_driver(n)]
        rop_types = _table().rop_types
        return rops + [n.path() for n in (stage.children() if stage is not None else ())
                       if base_type(n.type().name()) in rop_types]

    def renderer(self, layer: str = "") -> str:
        rops = [layer] if layer else self.layers()
        for path in rops:
            rop = self._rop(path)
            if rop is not None:
                type_name = rop.type().name()
                return _table().renderers.get(base_type(type_name), base_type(type_name))
        return ""

    def layer_cameras(self, layer: str = "") -> List[str]:
        """The camera ROP ``layer`` renders through ([] for a ROP without one, a geometry ROP)."""
        rop = self._rop(layer)
        for name in CAMERA_PARMS if rop is not None else ():
            parm = rop.parm(name)
            if parm is not None:
                return [parm.evalAsString()] if parm.evalAsString() else []
        return []

    def cameras(self) -> List[str]:
        hou = _hou()
        cam_type = hou.nodeType(hou.objNodeTypeCategory(), "cam")
        return [n.path() for n in (cam_type.instances() if cam_type is not None else ())]

    def variables(self) -> Dict[str, str]:
        hou = _hou()
        return {name: hou.getenv(name) for name in _VARIABLES if hou.getenv(name)}

    def file_references(self) -> List[RawRef]:
        table = _table()
        refs = []
        for parm, value in _hou().fileReferences():
            if _ignored(table, value):
                continue
            refs.append(_raw_ref(table, parm, value))
        return refs

    def main_window(self) -> Any:
        return _hou().qt.mainWindow()


@functools.lru_cache(maxsize=1)
def _table() -> Any:
    """The offline reader's parameter table with the studio's extra rows (read once per session)."""
    from ..config import load_config
    from ..scan.houdini_parms import load_table

    return load_table(load_config())


def _ignored(table: Any, value: str) -> bool:
    """Render-to-viewer devices, ``op:`` references and Houdini's own files are not uploads."""
    v = value.strip()
    return v in table.ignore_values or v.startswith(table.ignore_prefixes) or table.is_builtin_library(v)


def _raw_ref(table: Any, parm: Any, value: str) -> RawRef:
    if parm is None:  # asset libraries and other scene-level files
        return RawRef(value=value, source="hip", kind="hda")
    node = parm.node()
    type_name = node.type().name()
    rule = next((r for r in table.matches(type_name, parm.name()) if rule_enabled(r, parm.name(), _live_value(node))), None)
    output = rule.output if rule is not None else _is_driver(node)  # an unknown file parm on a ROP writes
    return RawRef(
        value=value, source=f"{node.path()}.{parm.name()}", kind=rule.kind if rule is not None else "file",
        node_type=type_name, sequence=bool(_FRAME_TOKEN.search(value)), output=output,
        follow=bool(rule is not None and rule.follow and not output),
    )


def _live_value(node: Any) -> Any:
    """A parameter's value on the live node, for ``enabled_by`` (None when the node has none)."""
    def value_of(name: str) -> Optional[str]:
        other = node.parm(name)
        return None if other is None else other.evalAsString()

    return value_of


def open_hython(scene: str) -> Optional[HoudiniHost]:
    """Inside hython: load ``scene``; None when ``hou`` is not importable or refuses the file."""
    try:
        hou = _hou()
    except ImportError:
        return None
    try:
        hou.hipFile.load(scene, suppress_save_prompt=True, ignore_load_warnings=True)
    except Exception:
        return None
    host = HoudiniHost()
    return host if host.is_live() else None
