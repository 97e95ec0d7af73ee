"""Hand-written fakes of exactly the ``maya.cmds`` and ``hou`` calls the adapters make.

Each fake function accepts only the flags the adapter passes; anything else is a TypeError, so a
renamed call or flag in an adapter fails a test instead of silently returning a mock. Installed in
``sys.modules`` for the duration of one test (see :func:`installed`)."""
from __future__ import annotations

import contextlib
import sys
import types
from typing import Any, Dict, List, Optional, Tuple


class FakeCmds:
    """A Maya scene: ``nodes`` is ``{name: {"type": t, attr: value, ...}}``; ``files`` is
    ``{directory: [(file name, plug), ...]}`` as filePathEditor lists them."""

    def __init__(self, scene: str, nodes: Dict[str, Dict[str, Any]], files: Dict[str, List[Tuple[str, str]]],
                 batch: bool = False, modified: bool = False, project: str = "") -> None:
        self.scene, self.nodes, self.files = scene, nodes, files
        self.batch, self.modified, self.project = batch, modified, project
        self.saved: List[str] = []
        self.opened: List[str] = []
        self.menus: Dict[str, Dict[str, Any]] = {}
        self.menu_items: List[Dict[str, Any]] = []
        self.deleted: List[str] = []
        self.layer = "defaultRenderLayer"   # the visible render layer
        self.switches: List[str] = []

    def about(self, *, version: bool = False, batch: bool = False) -> Any:
        if version:
            return "2025"
        if batch:
            return self.batch
        raise TypeError("about: unsupported flags")

    def file(self, path: Optional[str] = None, *, query: bool = False, sceneName: bool = False,  # noqa: N803
             modified: Optional[bool] = None, save: bool = False, force: bool = False, open: bool = False,
             prompt: bool = True, ignoreVersion: bool = False) -> Any:  # noqa: N803
        if query and sceneName:
            return self.scene
        if query and modified:
            return self.modified
        if not query and modified is not None and path is None and not (save or open):
            self.modified = modified
            return None
        if save and force:
            self.saved.append(self.scene)
            self.modified = False
            return self.scene
        if open and path and force and not prompt:
            self.opened.append(path)
            self.scene = path
            return path
        raise TypeError("file: unsupported flag combination")

    def getAttr(self, plug: str) -> Any:  # noqa: N802
        """A plug's value in the visible layer: a node's ``layers`` {layer: {attr: value}} are
        that layer's overrides, as Maya applies them while the layer is visible."""
        node, attr = plug.split(".", 1)
        data = self.nodes[node]
        override = data.get("layers", {}).get(self.layer, {})
        if attr in override:
            return override[attr]
        return data.get(attr, True) if attr == "renderable" else data[attr]   # Maya's default: renderable

    def editRenderLayerGlobals(self, *, query: bool = False, currentRenderLayer: Any = None) -> Any:  # noqa: N802,N803
        if query and currentRenderLayer is True:
            return self.layer
        if not query and isinstance(currentRenderLayer, str) and currentRenderLayer in self.nodes:
            self.layer = currentRenderLayer
            self.switches.append(currentRenderLayer)
            self.modified = True    # Maya marks the scene modified on a layer switch
            return None
        raise TypeError("editRenderLayerGlobals: unsupported flags")

    def ls(self, *, type: str) -> List[str]:  # noqa: A002
        return [n for n, d in self.nodes.items() if d["type"] == type]

    def listRelatives(self, node: str, *, parent: bool) -> List[str]:  # noqa: N802
        p = self.nodes[node].get("parent")
        return [p] if parent and p else []

    def referenceQuery(self, node: str, *, isNodeReferenced: bool = False, isLoaded: bool = False) -> bool:  # noqa: N802,N803
        if isNodeReferenced:
            return bool(self.nodes[node].get("referenced"))
        if isLoaded:
            return bool(self.nodes[node].get("loaded", True))
        raise TypeError("referenceQuery: unsupported flags")

    def workspace(self, *, query: bool, rootDirectory: bool) -> str:  # noqa: N803
        return self.project

    def filePathEditor(self, *, query: bool, listDirectories: Optional[str] = None,  # noqa: N802,N803
                       listFiles: Optional[str] = None, withAttribute: bool = False) -> List[str]:  # noqa: N803
        if listDirectories is not None:
            return list(self.files)
        if listFiles is not None and withAttribute:
            return [x for name, plug in self.files.get(listFiles, []) for x in (name, plug)]
        raise TypeError("filePathEditor: unsupported flags")

    def nodeType(self, node: str) -> str:  # noqa: N802
        return self.nodes[node]["type"]

    def menu(self, name: str, *, exists: bool = False, label: str = "", parent: str = "", tearOff: bool = False) -> Any:  # noqa: N803
        if exists:
            return name in self.menus
        self.menus[name] = {"label": label, "parent": parent, "tearOff": tearOff}
        return name

    def menuItem(self, *, label: str, parent: str, image: str, command: Any, annotation: str) -> str:  # noqa: N802
        self.menu_items.append({"label": label, "parent": parent, "image": image, "command": command})
        return f"{parent}|item{len(self.menu_items)}"

    def deleteUI(self, name: str) -> None:  # noqa: N802
        self.deleted.append(name)
        self.menus.pop(name, None)
        self.menu_items = [i for i in self.menu_items if i["parent"] != name]


def maya_scene(root: str, batch: bool = False, modified: bool = False) -> FakeCmds:
    """A small lighting scene: two textures (one UDIM, one per-frame), an Alembic cache, a loaded
    and an unloaded reference, two cameras, two render layers (one referenced)."""
    nodes = {
        "defaultRenderGlobals": {"type": "renderGlobals", "startFrame": 1001.0, "endFrame": 1096.0,
                                 "byFrameStep": 1.0, "currentRenderer": "arnold"},
        "shotCamShape": {"type": "camera", "parent": "shotCam", "renderable": True},
        "perspShape": {"type": "camera", "parent": "persp", "renderable": False},
        "defaultRenderLayer": {"type": "renderLayer"},
        "rs_beauty": {"type": "renderLayer"},
        "charRN:defaultRenderLayer": {"type": "renderLayer", "referenced": True},
        "skinTex": {"type": "file", "useFrameExtension": False, "frameOffset": 0, "uvTilingMode": 3},
        "fireTex": {"type": "file", "useFrameExtension": True, "frameOffset": 10, "uvTilingMode": 0},
        "rockCache": {"type": "AlembicNode"},
        "charRN": {"type": "reference", "loaded": True},
        "setRN": {"type": "reference", "loaded": False},
    }
    files = {
        f"{root}/tex": [("skin.<UDIM>.tx", "skinTex.fileTextureName"), ("fire.1001.exr", "fireTex.fileTextureName")],
        f"{root}/cache": [("rock.abc", "rockCache.abc_File")],
        f"{root}/assets": [("char.ma", "charRN"), ("set.mb", "setRN")],
    }
    return FakeCmds(f"{root}/shots/sh010_lighting.ma", nodes, files, batch=batch, modified=modified, project=root + "/")


@contextlib.contextmanager
def installed(modules: Dict[str, Any]):
    """Put fake modules in ``sys.modules`` and take them (and anything imported through them) out."""
    saved = {k: sys.modules.get(k) for k in modules}
    sys.modules.update(modules)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v


def maya_modules(cmds: FakeCmds, standalone_ok: bool = True) -> Dict[str, Any]:
    """``maya``, ``maya.cmds``, ``maya.standalone``, ``maya.utils`` as module objects."""
    maya = types.ModuleType("maya")
    standalone = types.ModuleType("maya.standalone")
    started: List[str] = []

    def initialize(*, name: str) -> None:
        if not standalone_ok:
            raise RuntimeError("no licence")
        started.append(name)

    standalone.initialize = initialize
    standalone.started = started
    utils = types.ModuleType("maya.utils")
    utils.executeDeferred = lambda fn: fn()
    cmds_mod = types.ModuleType("maya.cmds")
    for name in dir(cmds):
        if not name.startswith("_"):
            setattr(cmds_mod, name, getattr(cmds, name))
    maya.cmds, maya.standalone, maya.utils = cmds_mod, standalone, utils
    return {"maya": maya, "maya.cmds": cmds_mod, "maya.standalone": standalone, "maya.utils": utils}


class _Category:
    def __init__(self, name: str) -> None:
        self._name = name

    def name(self) -> str:
        return self._name


class _NodeType:
    def __init__(self, name: str, category: str, instances: Optional[list] = None) -> None:
        self._name, self._category, self._instances = name, _Category(category), instances or []

    def name(self) -> str:
        return self._name

    def category(self) -> _Category:
        return self._category

    def instances(self) -> list:
        return list(self._instances)


class _Parm:
    def __init__(self, node: "_Node", name: str, value: Any) -> None:
        self._node, self._name, self._value = node, name, value

    def name(self) -> str:
        return self._name

    def node(self) -> "_Node":
        return self._node

    def eval(self) -> Any:
        return self._value

    def evalAsString(self) -> str:  # noqa: N802
        return str(self._value)


class _ParmTuple:
    def __init__(self, values: tuple) -> None:
        self._values = values

    def eval(self) -> tuple:
        return self._values


class _Node:
    def __init__(self, path: str, type_name: str, category: str, parms: Optional[Dict[str, Any]] = None) -> None:
        self._path, self._type = path, _NodeType(type_name, category)
        self._parms = {k: _Parm(self, k, v) for k, v in (parms or {}).items()}
        self._children: List["_Node"] = []

    def path(self) -> str:
        return self._path

    def type(self) -> _NodeType:  # noqa: A003
        return self._type

    def children(self) -> tuple:
        return tuple(self._children)

    def parm(self, name: str) -> Optional[_Parm]:
        return self._parms.get(name)

    def parmTuple(self, name: str) -> _ParmTuple:  # noqa: N802
        return _ParmTuple(tuple(self._parms[name + c].eval() for c in "123"))


class FakeHou(types.ModuleType):
    """A hip file with a Mantra ROP, a Redshift ROP rendering the current frame, a geometry ROP,
    two cameras, file references with $HIP and $F4."""

    def __init__(self, hip: str, new_file: bool = False, ui: bool = True, modified: bool = False) -> None:
        super().__init__("hou")
        self._hip, self._new, self._ui, self._modified = hip, new_file, ui, modified
        self.saved: List[str] = []
        self.loaded: List[str] = []
        obj = _Node("/obj", "obj", "Manager")
        cams = [_Node("/obj/shotcam", "cam", "Object"), _Node("/obj/witness", "cam", "Object")]
        tex = _Node("/obj/geo1/file1", "file", "Sop", {"file": "$HIP/geo/rock.$F4.bgeo.sc"})
        mat = _Node("/mat/wood", "principledshader", "Vop", {"basecolor_texture": "$JOB/tex/wood.rat"})
        out = _Node("/out", "out", "Manager")
        mantra = _Node("/out/beauty", "ifd", "Driver", {"trange": 1, "f1": 1001, "f2": 1048, "f3": 2,
                                                        "camera": "/obj/shotcam", "vm_picture": "$HIP/render/beauty.$F4.exr"})
        rs = _Node("/out/rs_fx", "Redshift_ROP", "Driver", {"trange": 0, "RS_renderCamera": "/obj/witness"})
        cache = _Node("/out/cache", "geometry", "Driver", {"trange": 1, "f1": 1, "f2": 10, "f3": 1,
                                                          "sopoutput": "$HIP/geo/sim.$F4.bgeo.sc"})
        out._children = [mantra, rs, cache]
        stage = _Node("/stage", "stage", "Manager")
        karma = _Node("/stage/karma_beauty", "usdrender_rop", "Lop", {"trange": 1, "f1": 1001, "f2": 1010, "f3": 1,
                                                                       "camera": "/cameras/shotcam"})
        stage._children = [_Node("/stage/sublayer1", "sublayer", "Lop"), karma]
        self._nodes = {n.path(): n for n in [obj, *cams, tex, mat, out, mantra, rs, cache, stage, karma]}
        self._cam_type = _NodeType("cam", "Object", cams)
        self._refs = [(tex.parm("file"), "$HIP/geo/rock.$F4.bgeo.sc"),
                      (mat.parm("basecolor_texture"), "$JOB/tex/wood.rat"),
                      (mantra.parm("vm_picture"), "$HIP/render/beauty.$F4.exr"),
                      (cache.parm("sopoutput"), "$HIP/geo/sim.$F4.bgeo.sc"),
                      (None, "$HIP/otls/studio_tools.hda"),
                      (None, "$HFS/houdini/otls/OPlibSop.hda"),        # Houdini's own: never uploaded
                      (tex.parm("file"), "op:/obj/geo2/OUT")]          # a node, not a file
        self.env = {"HIP": hip.rsplit("/", 1)[0], "HIPNAME": "fx_sim", "JOB": "/jobs/show"}
        self.hipFile = types.SimpleNamespace(
            path=lambda: self._hip, isNewFile=lambda: self._new, hasUnsavedChanges=lambda: self._modified,
            save=lambda: self.saved.append(self._hip), load=self._load,
        )
        self.playbar = types.SimpleNamespace(frameRange=lambda: (1.0, 240.0), frameIncrement=lambda: 1.0)
        self.qt = types.SimpleNamespace(mainWindow=lambda: None)

    def _load(self, path: str, *, suppress_save_prompt: bool, ignore_load_warnings: bool) -> None:
        self.loaded.append(path)
        self._hip = path

    def applicationVersion(self) -> tuple:  # noqa: N802
        return (20, 5, 332)

    def isUIAvailable(self) -> bool:  # noqa: N802
        return self._ui

    def node(self, path: str) -> Optional[_Node]:
        return self._nodes.get(path)

    def frame(self) -> float:
        return 1017.0

    def objNodeTypeCategory(self) -> str:  # noqa: N802
        return "Object"

    def nodeType(self, category: str, name: str) -> Optional[_NodeType]:  # noqa: N802
        return self._cam_type if (category, name) == ("Object", "cam") else None

    def getenv(self, name: str) -> Optional[str]:
        return self.env.get(name)

    def fileReferences(self) -> list:  # noqa: N802
        return list(self._refs)
