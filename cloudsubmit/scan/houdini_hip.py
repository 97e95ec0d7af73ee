"""Offline reader for Houdini scenes (``.hip``, ``.hipnc``, ``.hiplc``).

What a TD would expect, decided here:

* Inputs and outputs come from the parameter table (``houdini_parms.yaml`` plus
  ``scan.extra_houdini_parms``); outputs are reported as outputs, never uploaded.
* A parameter driven by a channel (``[ vm_picture value ]`` in ``.parm``) is taken from its
  expression in ``.chn`` when the expression is a plain string expression (literals, ``+``,
  ``$OS``, ``chs()``, ``padzero(n, $F)``); otherwise the value Houdini saved with the scene is used
  and a warning names the node and parameter, because that value is only right for one frame.
* A bypassed node is not cooked and a hard-locked SOP keeps its geometry inside the scene, so
  their files are not needed: they are left out with a warning naming the node (so nobody wonders
  why a visible File SOP's cache was not uploaded). A bypassed ROP renders nothing: no outputs.
* ``$HIP``, ``$HIPFILE`` and ``$HIPNAME`` are set from where the file is now, as Houdini does on
  load; other variables come from ``.variables``, except ``JOB`` which the environment overrides
  (studios set it per shot). ``$OS`` is replaced here because only the reader knows the node.
* Operator type libraries from ``.OPfallbacks``/``.OPlibraries`` outside the Houdini install are
  dependencies of kind ``hda``. A library listed only by a relative path (Houdini searches it on
  ``HOUDINI_PATH``, which starts at ``$HIP``) is listed when it exists beside the scene.
* ``.hipnc``/``.hiplc`` use obfuscated record headers; the records are decoded and read like a
  ``.hip``, and anything that could not be decoded is reported in the warnings."""
from __future__ import annotations

import fnmatch
import posixpath
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from ..errors import ScanError
from ..paths import is_absolute, normpath
from .cpio import Archive, read_archive
from .houdini_expr import ExprScope, Unresolved, evaluate, expand_backticks, substitute_os
from .houdini_parms import ParmRule, ParmTable, base_type, decode_parm_name, load_table, rule_enabled
from .houdini_text import (Channel, Component, ParmBlock, names_regex, parse_channels, parse_def,
                           parse_dialog_file_parms, parse_fallbacks, parse_frange, parse_init, parse_variables)
from .model import RawRef, ReadContext, ReadResult, SceneInfo

_FRAME_TOKEN = re.compile(r"\$\{?F(?:F|\d*)\}?(?![A-Za-z_])")
_LIBRARY_FILE = re.compile(r"\.(hda|otl|hdalc|hdanc|otllc|otlnc)$", re.I)
_MAX_CHS_DEPTH = 16


@dataclass
class HipNode:
    path: str
    type: str = ""
    flags: Dict[str, bool] = field(default_factory=dict)
    exprlang: str = "hscript"
    parms: ParmBlock = field(default_factory=lambda: ParmBlock(""))
    channels: Dict[str, Channel] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


def _index(arc: Archive, warnings: List[str], where: str) -> Tuple[Dict[str, str], Dict[str, HipNode]]:
    """(global records by name, nodes by path) from the archive's records."""
    globals_: Dict[str, str] = {}
    nodes: Dict[str, HipNode] = {}
    unreadable: List[str] = []
    for entry in arc.entries:
        base, dot, ext = entry.name.rpartition(".")
        if not dot or not base or "/" in ext:
            globals_[entry.name] = entry.text()
            continue
        if ext not in ("init", "def", "parm", "chn"):
            continue
        node = nodes.setdefault("/" + base, HipNode("/" + base))
        text = entry.text()
        if ext == "init":
            node.type = parse_init(text)
        elif ext == "def":
            node.flags, node.exprlang = parse_def(text)
        elif ext == "parm":
            if text.strip() and not text.lstrip().startswith("{"):
                unreadable.append(node.path)
            node.parms = ParmBlock(text)
        else:
            node.channels = parse_channels(text)
    if unreadable:
        warnings.append(f"{where}: parameters of {len(unreadable)} node(s) could not be read (not Houdini text: "
                        f"encrypted or damaged), e.g. {', '.join(unreadable[:3])}; their files are not listed")
    return globals_, nodes


class _Evaluator:
    """Parameter values as strings, following channels and ``chs()`` across the scene."""

    def __init__(self, nodes: Dict[str, HipNode], warnings: List[str]) -> None:
        self.nodes, self.warnings, self.depth = nodes, warnings, 0

    def values(self, node: HipNode, parm: str, component: Optional[int] = None) -> List[str]:
        out: List[str] = []
        comps = node.parms.get(parm)
        if component is not None:
            comps = comps[component:component + 1]
        for comp in comps:
            for v in self._component(node, parm, comp):
                v = substitute_os(v, node.name)
                if v not in out:
                    out.append(v)
        return out

    def _component(self, node: HipNode, parm: str, comp: Component) -> List[str]:
        where = f"{node.path}.{parm}"
        chan = node.channels.get(comp.channel) if comp.channel else None
        if comp.channel and chan is None:
            return self._saved(where, comp, f"channel {comp.channel!r}, missing from the scene (truncated?),")
        if chan is None:
            try:
                return [expand_backticks(comp.value, self._scope(node))]
            except Unresolved as exc:
                # a half-evaluated string is no path: say so once, list no file
                self._warn(f"{where}: backtick expression not evaluated offline ({exc}); no file listed "
                           f"for: {comp.value}")
                return []
        if chan.python or (node.exprlang == "python" and chan.exprs):
            return self._saved(where, comp, "a Python expression")
        try:
            return [evaluate(e, self._scope(node)) for e in chan.exprs] or [comp.value]
        except Unresolved as exc:
            return self._saved(where, comp, f"an expression ({exc})")

    def _warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def _saved(self, where: str, comp: Component, what: str) -> List[str]:
        self._warn(f"{where}: driven by {what} that is not evaluated offline; using the value saved "
                             f"with the scene, which may hold for one frame only: {comp.value}")
        return [comp.value]

    def _scope(self, node: HipNode) -> ExprScope:
        return ExprScope(node.name, lambda ref: self.chs(node, ref))

    def chs(self, node: HipNode, ref: str) -> Optional[str]:
        node_ref, _, parm = ref.rpartition("/")
        target_path = posixpath.normpath(posixpath.join(node.path, node_ref)) if node_ref else node.path
        target = self.nodes.get(target_path)
        if target is None or parm not in target.parms or self.depth >= _MAX_CHS_DEPTH:
            return None
        self.depth += 1
        try:
            vals = self.values(target, parm)
        finally:
            self.depth -= 1
        return vals[0] if vals else ""


def _custom_types(globals_: Dict[str, str], table: ParmTable) -> Dict[str, List[ParmRule]]:
    """File parameters of operator types defined outside the Houdini install (studio HDAs), from
    the DialogScripts the scene carries: ``type file/geometry/image`` is an input, or an output when
    its file chooser writes. Built-in types are left to the table: their DialogScripts also type
    pre-render scripts and temp folders as files."""
    custom: Dict[str, List[ParmRule]] = {}
    libs: Dict[str, List[str]] = {}
    for optype, lib in parse_fallbacks(globals_.get(".OPfallbacks", "")):
        libs.setdefault(optype.split("/", 1)[-1], []).append(lib)
    for name, text in globals_.items():
        if "# Dialog script for " not in text:
            continue
        for op, parms in parse_dialog_file_parms(text).items():
            if any(table.is_builtin_library(lib) for lib in libs.get(op, ())):
                continue
            custom[op] = [ParmRule(parm=p.name.replace("#", "[0-9]*"), kind=p.kind, output=p.output) for p in parms]
    return custom


class _Rules:
    """The table plus the scene's studio HDA parameters, with one regex that finds every
    candidate parameter line of a node at once."""

    def __init__(self, table: ParmTable, custom: Dict[str, List[ParmRule]]) -> None:
        self.table, self.custom = table, custom
        self._rx = names_regex(table.patterns + [r.parm for rules in custom.values() for r in rules])
        self._wanted: Dict[str, bool] = {}
        self._cache: Dict[Tuple[str, str], List[ParmRule]] = {}

    def wanted(self, parm: str) -> bool:
        """Could any rule match this parameter name (on some node type), or the USD attribute name
        an ``xn__`` parameter encodes?"""
        hit = self._wanted.get(parm)
        if hit is None:
            hit = bool(self._rx.match(parm)) or (parm.startswith("xn__") and bool(self._rx.match(decode_parm_name(parm))))
            self._wanted[parm] = hit
        return hit

    def get(self, node_type: str, parm: str) -> List[ParmRule]:
        """The table's rules for the pair, else the studio HDA's own file parameter."""
        key = (node_type, parm)
        if key not in self._cache:
            rules = self.table.matches(node_type, parm)
            if not rules:
                rules = [r for r in self.custom.get(node_type, ()) if fnmatch.fnmatchcase(parm, r.parm)][:1]
            self._cache[key] = rules
        return self._cache[key]


def _ignored(value: str, table: ParmTable) -> bool:
    """Viewer devices, op: paths, fresh-node defaults, and Houdini's own files (``$HFS/houdini/pic``)."""
    v = value.strip()
    return v in table.ignore_values or v.startswith(table.ignore_prefixes) or table.is_builtin_library(v)


def _enabled(node: HipNode, ev: _Evaluator, rule: ParmRule, parm: str) -> bool:
    def value_of(name: str) -> Optional[str]:
        vals = ev.values(node, name) if name in node.parms else []
        return vals[0] if vals else None

    return rule_enabled(rule, parm, value_of)


def _skip_reason(node: HipNode, rule: ParmRule) -> str:
    if node.flags.get("bypass"):
        return "bypassed"
    if not rule.output and node.flags.get("lock"):
        return "locked (its geometry is stored in the scene)"
    return ""


def _node_refs(node: HipNode, rules: _Rules, ev: _Evaluator, base_dir: str, warnings: List[str]) -> List[RawRef]:
    refs: List[RawRef] = []
    table = rules.table
    for parm in node.parms.find(rules.wanted):
        rule = next((r for r in rules.get(node.type, parm) if _enabled(node, ev, r, parm)), None)
        if rule is None:
            continue
        values = [v for v in ev.values(node, parm, rule.component) if not _ignored(v, table)]
        if not values:
            continue
        reason = _skip_reason(node, rule)
        if reason:
            warnings.append(f"{node.path}.{parm}: node is {reason}; not listed: {values[0]}")
            continue
        for v in values:
            refs.append(RawRef(
                value=v, source=f"{node.path}.{parm}", kind=rule.kind, node_type=node.type, base_dir=base_dir,
                sequence=bool(_FRAME_TOKEN.search(v)), output=rule.output, follow=rule.follow and not rule.output,
            ))
    return refs


def _library_refs(globals_: Dict[str, str], nodes: Dict[str, HipNode], table: ParmTable,
                  base_dir: str) -> List[RawRef]:
    """Operator type libraries the scene's nodes were defined by, outside the Houdini install."""
    by_type: Dict[str, List[str]] = {}
    for optype, lib in parse_fallbacks(globals_.get(".OPfallbacks", "")):
        by_type.setdefault(optype, []).append(lib)
    for line in globals_.get(".OPlibraries", "").splitlines():
        lib = line.strip()
        if lib and not lib.startswith("#") and _LIBRARY_FILE.search(lib) and not table.is_builtin_library(lib):
            by_type.setdefault(".OPlibraries", []).append(lib)
    users: Dict[str, str] = {}
    for node in sorted(nodes.values(), key=lambda n: n.path):
        users.setdefault(node.type, node.path)
    refs: List[RawRef] = []
    seen = set()
    for optype, libs in by_type.items():
        if any(table.is_builtin_library(lib) for lib in libs):
            continue
        user = users.get(optype.split("/", 1)[-1])
        source = f"{user} ({optype} definition)" if user else f"{optype} definition"
        absolute = [lib for lib in libs if is_absolute(lib) or lib.startswith("$")]
        for lib in absolute or libs:
            if lib in seen:
                continue
            seen.add(lib)
            refs.append(RawRef(value=lib, source=source, kind="hda", node_type=optype.split("/", 1)[-1],
                               base_dir=base_dir, optional=not absolute))
    return refs


def _variables(path: str, globals_: Dict[str, str], ctx: ReadContext) -> Dict[str, str]:
    variables = parse_variables(globals_.get(".variables", ""))
    hip_file = normpath(path)
    name = posixpath.basename(hip_file)
    variables.update(HIP=posixpath.dirname(hip_file), HIPFILE=hip_file, HIPNAME=name.rsplit(".", 1)[0])
    if "JOB" in ctx.env:
        variables["JOB"] = ctx.env["JOB"]
    return variables


def _scene_info(globals_: Dict[str, str], nodes: Dict[str, HipNode], table: ParmTable,
                variables: Dict[str, str]) -> SceneInfo:
    info = SceneInfo(variables=variables)
    frange = parse_frange(globals_.get(".start", ""))
    if frange:
        info.frame_start, info.frame_end = frange
    for node in sorted(nodes.values(), key=lambda n: n.path):
        kind = base_type(node.type)
        in_out = node.path.startswith("/out/") and node.path.count("/") == 2
        if in_out or (node.type and kind in table.rop_types):
            info.rops.append(node.path)
            if not info.renderer and not node.flags.get("bypass"):
                info.renderer = table.renderers.get(kind, "")
        if kind in table.camera_types:
            info.cameras.append(node.path)
    return info


def _read_bytes(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise ScanError(f"{path}: cannot read scene ({exc.strerror or exc})") from None


def read(path: str, ctx: ReadContext) -> ReadResult:
    """Every file the Houdini scene at ``path`` names, as written, with where it came from."""
    data = _read_bytes(path)
    arc = read_archive(data, path)
    result = ReadResult(warnings=list(arc.warnings), truncated_at=None if arc.complete else len(data))
    if arc.flavour != "hip":
        licence = "Apprentice (non-commercial)" if arc.flavour == "hipnc" else "Indie (limited-commercial)"
        result.warnings.append(f"{path}: {licence} .{arc.flavour} scene, read from its obfuscated records; "
                               "render nodes need a licence that accepts this file type")
    table = load_table(ctx.config).with_install(ctx.env)
    globals_, nodes = _index(arc, result.warnings, path)
    variables = _variables(path, globals_, ctx)
    result.info = _scene_info(globals_, nodes, table, variables)
    base_dir = variables["HIP"]
    ev = _Evaluator(nodes, result.warnings)
    rules = _Rules(table, _custom_types(globals_, table))
    for node in nodes.values():
        result.refs.extend(_node_refs(node, rules, ev, base_dir, result.warnings))
    result.refs.extend(_library_refs(globals_, nodes, table, base_dir))
    return result
