"""Maya as a cloudsubmit host: ``maya.cmds`` only, imported inside functions so this module loads
anywhere (tests give it a hand-written fake ``maya`` package).

Files come from ``filePathEditor`` (what Maya's own File Path Editor lists: textures, references,
audio, image planes and every registered plug-in type), enriched with the per-frame and UDIM
switches from the packaged attribute table so the core expands them exactly as the offline reader
does. Unloaded references are still needed on the farm: they are flagged ``deferred`` and followed
offline."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Dict, Iterator, List, Optional

from ..scan.model import RawRef
from ..scan.readers import host_extensions
from .base import FrameRange, Host


def maya_cmds() -> Any:
    import maya.cmds as cmds

    return cmds


@contextmanager
def visible_layer(cmds: Any, layer: str) -> Iterator[None]:
    """Maya applies a render layer's overrides (render setup or legacy) only while it is the
    visible layer, so a value "in layer X" is read with X made visible; the artist's own layer is
    put back afterwards, and a scene that was unmodified is left unmodified (switching marks it)."""
    current = cmds.editRenderLayerGlobals(query=True, currentRenderLayer=True) if layer else layer
    if not layer or current == layer:
        yield
        return
    modified = bool(cmds.file(query=True, modified=True))
    cmds.editRenderLayerGlobals(currentRenderLayer=layer)
    try:
        yield
    finally:
        cmds.editRenderLayerGlobals(currentRenderLayer=current)
        if not modified:
            cmds.file(modified=False)


class MayaHost(Host):
    name = "maya"
    scene_extensions = host_extensions("maya")

    def is_live(self) -> bool:
        try:
            return bool(maya_cmds().about(version=True))
        except Exception:  # maya absent, or maya.cmds without standalone.initialize()
            return False

    def is_interactive(self) -> bool:
        return not maya_cmds().about(batch=True)

    def scene_path(self) -> str:
        return maya_cmds().file(query=True, sceneName=True) or ""

    def is_modified(self) -> bool:
        return bool(maya_cmds().file(query=True, modified=True))

    def save_scene(self) -> str:
        from ..errors import SubmitError

        cmds = maya_cmds()
        scene = self.scene_path()
        if not scene:
            raise SubmitError("the scene has never been saved: save it under a name first", exit_code=2)
        cmds.file(save=True, force=True)
        return scene

    def frame_range(self, layer: str = "") -> FrameRange:
        """The render range, in ``layer`` when one is named (its render setup overrides)."""
        cmds = maya_cmds()
        with visible_layer(cmds, layer):
            start = cmds.getAttr("defaultRenderGlobals.startFrame")
            end = cmds.getAttr("defaultRenderGlobals.endFrame")
            step = cmds.getAttr("defaultRenderGlobals.byFrameStep") or 1.0
        return (float(start), float(end), float(step))

    def cameras(self) -> List[str]:
        """Camera transforms, renderable ones first (that is what the artist means to render)."""
        renderable, others = _cameras(maya_cmds())
        return renderable + others

    def layer_cameras(self, layer: str = "") -> List[str]:
        """The cameras ``layer`` renders: the renderable ones while it is visible (render setup
        and legacy layers override ``.renderable`` per layer)."""
        cmds = maya_cmds()
        with visible_layer(cmds, layer):
            return _cameras(cmds)[0]

    def layers(self) -> List[str]:
        """Local renderable render layers (a referenced file's layers are not this scene's to
        render, and a layer turned off is not rendered), as the offline reader lists them."""
        cmds = maya_cmds()
        return [
            name for name in cmds.ls(type="renderLayer") or []
            if not cmds.referenceQuery(name, isNodeReferenced=True) and cmds.getAttr(name + ".renderable")
        ]

    def renderer(self, layer: str = "") -> str:
        cmds = maya_cmds()
        with visible_layer(cmds, layer):
            return cmds.getAttr("defaultRenderGlobals.currentRenderer") or ""

    def variables(self) -> Dict[str, str]:
        root = maya_cmds().workspace(query=True, rootDirectory=True) or ""
        return {"MAYA_PROJECT": root.rstrip("/")} if root else {}

    def file_references(self) -> List[RawRef]:
        from ..scan.attributes import load_table

        cmds = maya_cmds()
        table = load_table()
        refs: List[RawRef] = []
        for directory in cmds.filePathEditor(query=True, listDirectories="") or []:
            listed = cmds.filePathEditor(query=True, listFiles=directory, withAttribute=True) or []
            for name, plug in zip(listed[0::2], listed[1::2]):
                refs.append(_raw_ref(cmds, table, directory.rstrip("/") + "/" + name, plug))
        return refs

    def main_window(self) -> Any:
        from .qtutil import top_level_widget

        return top_level_widget("MayaWindow")


def _cameras(cmds: Any) -> "tuple[List[str], List[str]]":
    """(renderable, other) camera transforms in the visible layer."""
    renderable: List[str] = []
    others: List[str] = []
    for shape in cmds.ls(type="camera") or []:
        parent = (cmds.listRelatives(shape, parent=True) or [shape])[0]
        (renderable if cmds.getAttr(shape + ".renderable") else others).append(parent)
    return renderable, others


def _raw_ref(cmds: Any, table: Dict[str, Any], path: str, plug: str) -> RawRef:
    node, _, attr = plug.partition(".")
    node_type = cmds.nodeType(node)
    if node_type == "reference":
        loaded = cmds.referenceQuery(node, isLoaded=True)
        return RawRef(value=path, source=node, kind="reference", node_type=node_type, follow=not loaded,
                      deferred=not loaded)
    rule = next((r for r in table.get(node_type, []) if attr in r.names()), None)
    if rule is None:
        return RawRef(value=path, source=plug, kind="file", node_type=node_type)
    from dataclasses import replace

    from ..scan.attributes import rule_refs

    # The row is read as the offline readers read it, with two differences: filePathEditor lists
    # the file itself (a cacheFile's .xml included), so name_attr/suffix are not applied again; and
    # a live frameExtension is usually keyed or driven by an expression, so it is never taken as
    # the one frame: every frame of the range is listed.
    def get(name: str) -> Any:
        return None if name == rule.frame_value else cmds.getAttr(f"{node}.{name}")

    return rule_refs(node, node_type, replace(rule, name_attr="", suffix=""), [path], get)[0]


def open_standalone(scene: str) -> Optional[MayaHost]:
    """Inside mayapy: start ``maya.standalone`` and open ``scene``; None when that is not possible
    (plain Python, or Maya refuses the file), so the caller falls back to the offline reader."""
    try:
        import maya.standalone
    except ImportError:
        return None
    try:
        maya.standalone.initialize(name="python")
        maya_cmds().file(scene, open=True, force=True, prompt=False, ignoreVersion=True)
    except Exception:  # an unreadable scene or a licence problem: the offline reader still works
        return None
    host = MayaHost()
    return host if host.is_live() else None

