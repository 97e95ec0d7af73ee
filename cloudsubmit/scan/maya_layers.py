"""Render setup read offline: what each render layer renders (frame range, image file prefix,
renderer, renderable cameras) once its overrides are applied, from the records a Maya reader
collected. Maya applies a layer's overrides only while that layer is visible, so a saved file
holds the scene's own values plus the override nodes; this module replays them. Scenes still on
legacy render layers (no render setup) keep per-layer values as adjustments instead; those are
replayed too (see :meth:`_Tree.legacy`).

The data model, as Maya 2017-2024 writes it (see ``tests/fixtures/real/maya/deadline``):

- ``renderSetupLayer X`` owns the legacy ``renderLayer rs_X`` (``connectAttr "rs_X.msg" "X.lrl"``);
- every list member names its parent list (``connectAttr "X.lit" "C.pls"``) and the member before
  it (``connectAttr "A.nxt" "B.prv"``): later members win, as in Maya's render setup window;
- a collection picks nodes with its selector (``connectAttr "S.c" "C.sel"``; ``.ssl`` static
  selection, one DAG path or node name per line; ``.pat`` name patterns, comma separated);
- ``absUniqueOverride``/``relUniqueOverride`` set ``.atr`` on the node named in ``.tgName``;
  ``absOverride``/``relOverride`` set it on every node the collection selects; an absolute one
  writes ``.atv``, a relative one ``value * .mul + .ofs``. A value Maya did not write is the
  dynamic attribute's default (0 / off), which is why an unset ``renderable`` override turns a
  camera off;
- an override or collection switched off in the render setup window has ``setAttr ".sen" no``
  (``selfEnabled``; Maya's renderSetup ``enabledState`` module: ``enabled`` = ``selfEnabled`` and
  ``parentEnabled``, the latter connected from the parent's ``enabled``:
  ``connectAttr "C.en" "O.pen"``): it and everything in it have no effect."""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

from .attributes import flag, number

# (node type) -> {long name: short name}: the render setup attributes a reader must collect.
_ENABLED = {"selfEnabled": "sen"}
# Collection types of Maya's render setup (renderSetup typeIDs), read for their on/off switch only.
_COLLECTIONS = ("collection", "renderSettingsCollection", "renderSettingsChildCollection", "aovCollection",
                "aovChildCollection", "lightsCollection", "lightsChildCollection")
SETUP_ATTRS: Dict[str, Dict[str, str]] = {
    "renderSetupLayer": {},
    "simpleSelector": {"staticSelection": "ssl", "pattern": "pat"},
    "absOverride": {"attribute": "atr", "attrValue": "atv", **_ENABLED},
    "absUniqueOverride": {"attribute": "atr", "targetNodeName": "tgName", "attrValue": "atv", **_ENABLED},
    "relOverride": {"attribute": "atr", "multiply": "mul", "offset": "ofs", **_ENABLED},
    "relUniqueOverride": {"attribute": "atr", "targetNodeName": "tgName", "multiply": "mul", "offset": "ofs", **_ENABLED},
    **{ntype: dict(_ENABLED) for ntype in _COLLECTIONS},
}
# Destination attributes of the connections that build the render setup tree (see the docstring).
LINK_ATTRS = ("pls", "prv", "sel", "lrl")
# A legacy layer's adjustment: ``connectAttr ":defaultRenderGlobals.fs" "layer1.adjs[2].plg"``
# names the plug, the layer's ``setAttr ".adjs[2].val" 1001`` its value in that layer. A reader
# links the whole source plug to ``adjs[2]`` and keeps the layer's ``adjs[2].val`` values.
ADJUSTMENT_PLUG = r"adjs\[[0-9]+\]\.plg"
ADJUSTMENTS = "adjs"
_DEFAULT_LAYER = "defaultRenderLayer"

_UNIQUE = ("absUniqueOverride", "relUniqueOverride")
_RELATIVE = ("relOverride", "relUniqueOverride")
_GLOBALS = "defaultRenderGlobals"
# defaultRenderGlobals' own defaults, for a relative override of a value the file does not set.
_GLOBALS_DEFAULTS = {"startFrame": 1.0, "endFrame": 10.0, "byFrameStep": 1.0}

Nodes = Mapping[str, Tuple[str, str, Dict[str, Any]]]
Link = Tuple[str, str, str]   # (source node, destination node, destination attribute)


@dataclass
class LayerSettings:
    """One render layer as it renders: ``layer`` is the ``renderLayer`` node's name."""

    layer: str
    renderable: bool
    globals: Dict[str, Any] = field(default_factory=dict)   # defaultRenderGlobals, overrides applied
    cameras: List[str] = field(default_factory=list)        # renderable camera transforms in this layer


def layer_settings(nodes: Nodes, links: Sequence[Link], globals_values: Mapping[str, Any],
                   long_names: Mapping[str, Mapping[str, str]] = {}) -> List[LayerSettings]:
    """Every ``renderLayer`` in ``nodes`` (file order) with its render setup overrides (or legacy
    adjustments) applied. ``nodes``: name -> (type, parent, {long attr: value}); ``links`` as
    :data:`Link`; ``long_names``: node type -> {short attr: long attr} of the values a legacy
    adjustment may change (adjustments name plugs by short name)."""
    tree = _Tree(nodes, links)
    legacy = not tree.setup_layer   # Maya runs a scene in one mode: render setup or legacy layers
    out = []
    for name, (ntype, _parent, values) in nodes.items():
        if ntype != "renderLayer":
            continue
        state: Dict[str, Dict[str, Any]] = {}
        setup = tree.setup_layer.get(name)
        if setup:
            tree.apply(setup, None, state)
        elif legacy:
            tree.legacy(name, state, long_names)
        merged = dict(globals_values)
        merged.update(state.get(_GLOBALS, {}))
        cameras = [parent or cam for cam, (ctype, parent, cvalues) in nodes.items() if ctype == "camera"
                   and flag(state.get(cam, {}).get("renderable", cvalues.get("renderable", "yes")))]
        out.append(LayerSettings(name, flag(values.get("renderable", "yes")), merged, cameras))
    return out


class _Tree:
    """The render setup lists of one file, and the replay of a layer's overrides."""

    def __init__(self, nodes: Nodes, links: Sequence[Link]) -> None:
        self.nodes = nodes
        self.setup_layer: Dict[str, str] = {}        # renderLayer -> its renderSetupLayer
        self.selector: Dict[str, str] = {}           # collection -> selector
        self.adjusted: Dict[str, Dict[str, str]] = {}   # legacy layer -> {adjs[i]: source plug}
        previous: Dict[str, str] = {}
        members: Dict[str, List[str]] = {}
        for src, dst, attr in links:
            if attr.startswith(ADJUSTMENTS + "["):
                self.adjusted.setdefault(dst, {})[attr] = src
            elif attr == "lrl":
                self.setup_layer[src] = dst
            elif attr == "sel":
                self.selector[dst] = src
            elif attr == "prv":
                previous[dst] = src
            elif attr == "pls":
                members.setdefault(src, []).append(dst)
        self.children = {parent: _ordered(kids, previous) for parent, kids in members.items()}
        self.camera_shapes: Dict[str, List[str]] = {}
        for name, (ntype, parent, _values) in nodes.items():
            if ntype == "camera" and parent:
                self.camera_shapes.setdefault(parent, []).append(name)

    def apply(self, parent: str, collection: Optional[str], state: Dict[str, Dict[str, Any]]) -> None:
        for child in self.children.get(parent, ()):
            ntype, _parent, values = self.nodes.get(child, ("", "", {}))
            if not flag(values.get("selfEnabled", True)):
                continue   # switched off: no effect, nor anything in it
            if ntype in SETUP_ATTRS and ntype.endswith("Override"):
                self._override(child, ntype, collection, state)
            else:  # a collection (or a group): its members, with its own selection
                self.apply(child, child if child in self.selector else collection, state)

    def legacy(self, layer: str, state: Dict[str, Dict[str, Any]], long_names: Mapping[str, Mapping[str, str]]) -> None:
        """A legacy layer's adjustments. The default layer's stand for the scene's own values
        (Maya keeps a plug's master value there while another layer is the current one, so the
        file's value of the plug may be that layer's), then the layer's own win."""
        for source in dict.fromkeys((_DEFAULT_LAYER, layer)):
            values = self.nodes.get(source, ("", "", {}))[2]
            for item, plug in self.adjusted.get(source, {}).items():
                value = values.get(item + ".val")
                node, _, attr = plug.rpartition(".")
                node = node.rsplit("|", 1)[-1].lstrip(":")
                long = long_names.get(self.nodes.get(node, ("", "", {}))[0], {}).get(attr)
                if long is not None and value is not None:
                    state.setdefault(node, {})[long] = value

    def _override(self, name: str, ntype: str, collection: Optional[str], state: Dict[str, Dict[str, Any]]) -> None:
        values = self.nodes[name][2]
        attr = str(values.get("attribute") or "")
        if not attr:
            return
        if ntype in _UNIQUE:
            targets = [str(values.get("targetNodeName") or "").lstrip(":")]
        else:
            targets = self.selected(collection)
        for target in filter(None, targets):
            current = state.setdefault(target, {})
            if ntype in _RELATIVE:
                base = number(current.get(attr, self._own(target, attr)))
                if base is None:
                    continue
                mul, ofs = number(values.get("multiply")), number(values.get("offset"))
                current[attr] = base * (1.0 if mul is None else mul) + (ofs or 0.0)
            else:
                current[attr] = values.get("attrValue", 0)

    def _own(self, target: str, attr: str) -> Any:
        own = self.nodes.get(target, ("", "", {}))[2].get(attr)
        return own if own is not None or target != _GLOBALS else _GLOBALS_DEFAULTS.get(attr)

    def selected(self, collection: Optional[str]) -> List[str]:
        """Node names a collection's selector picks: its static selection (a camera transform
        stands for its shapes, which carry ``renderable``) and the nodes its patterns match."""
        selector = self.nodes.get(self.selector.get(collection or "", ""), ("", "", {}))[2]
        names = [line.rsplit("|", 1)[-1].lstrip(":") for line in str(selector.get("staticSelection") or "").splitlines()]
        patterns = [p.strip().lstrip(":") for p in str(selector.get("pattern") or "").split(",") if p.strip()]
        if patterns:
            names += [n for n in self.nodes if any(fnmatch.fnmatchcase(n.rsplit(":", 1)[-1], p.rsplit(":", 1)[-1])
                                                   for p in patterns)]
        out: List[str] = []
        for n in filter(None, names):
            out += self.camera_shapes.get(n, [n])
        return list(dict.fromkeys(out))


def _ordered(members: Iterable[str], previous: Mapping[str, str]) -> List[str]:
    """List members in list order (each after the one its ``.prv`` names); file order otherwise."""
    members = list(dict.fromkeys(members))
    inside: Set[str] = set(members)
    after: Dict[str, str] = {previous[m]: m for m in members if previous.get(m) in inside}
    out: List[str] = []
    for head in (m for m in members if previous.get(m) not in inside):
        node: Optional[str] = head
        while node is not None and node not in out:
            out.append(node)
            node = after.get(node)
    return out + [m for m in members if m not in out]
