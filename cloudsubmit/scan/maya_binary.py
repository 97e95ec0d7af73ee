"""Maya binary (``.mb``) reader: the file references a scene holds, without Maya.

A ``.mb`` is an IFF container (see :mod:`cloudsubmit.scan.iff`). Under the ``Maya`` group come a
``HEAD`` group (version, ``requires`` plug-ins, fileInfo), ``FREF`` groups (``file -r``), one group
per created node whose form type is the node's type id, ``SLCT`` groups for Maya's shared nodes
(``select -ne :defaultColorMgtGlobals``) and the connections. Inside a node group, ``CREA`` holds
the node's name (and parent) and each attribute chunk holds ``short name\\0``, one flag byte and the
value: a C string for ``STR ``, a 32-bit count and that many C strings for ``STR#``, a big-endian
double for ``DBLE``.

The (node type, attribute) table is the one the ASCII reader uses, and each row is turned into
RawRefs by the same function (:func:`attributes.rule_refs`), so the two formats agree. Connections
(``CONS`` groups, last in the file) are read only to learn which frame attributes are driven;
nodes are turned into RawRefs after them.
Nodes whose type tag we know and whose type holds no file are skipped with one seek, which keeps
large, mesh-heavy scenes fast. Nodes whose tag we do not know (plug-in nodes, rarer built-ins)
are typed by their attribute names; when those fit several types the scene's ``requires`` list
narrows them, and a remaining tie is reported as a warning rather than guessed silently.

A ``.mb`` records no code page, so strings are read as UTF-8 and, failing that, as cp932
(Japanese Windows), then cp1252 and latin-1, with a warning naming the code page used."""
from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Dict, FrozenSet, Iterable, Iterator, List, Optional, Set, Tuple

from ..errors import ScanError
from .attributes import AUX_SHORT_NAMES, AttrRule, frame_value_names, helper_names, load_table, name_map, rule_refs
from ..gc_pause import paused_gc
from .iff import Chunk, IffFile
from .maya_assembly import compound_names, representation_refs
from .maya_info import build_info, info_names
from .model import RawRef, ReadContext, ReadResult

_TYPES = Path(__file__).with_name("maya_binary_types.yaml")
_NAME_PEEK = 256                       # bytes searched for an attribute chunk's name
_LEAF_PEEK = 4096                      # bytes read of a non-string leaf of a large node (CREA, names)
_STRING_TAGS = (b"STR ", b"STR#")
_NUMBER_TAGS = {b"DBLE": struct.Struct(">d")}
_VALUE_TAGS = frozenset(_STRING_TAGS) | frozenset(_NUMBER_TAGS)
_FALLBACK_CODECS = ("cp932", "cp1252", "latin-1")   # latin-1 never fails
_REFERENCE_FORMS = (b"FREF", b"FRDI")
_NOT_NODES = (b"HEAD", b"SLCT") + _REFERENCE_FORMS
_CONNECTIONS = b"CONS"
# What SceneInfo needs (maya_info, shared with the .ma reader): node type -> {any name: long name}.
_INFO_ATTRS: Dict[str, Dict[str, str]] = {**info_names(), "renderLayer": {}}


class _Node:
    """One node group's name, type and the attribute values a row or SceneInfo needs."""

    __slots__ = ("name", "parent", "type", "tag", "strings", "numbers", "attr_names")

    def __init__(self, type: str = "", tag: bytes = b"") -> None:
        self.name = ""
        self.parent = ""
        self.type = type                   # "" until known
        self.tag = tag
        self.strings: List[Tuple[str, List[str]]] = []
        self.numbers: Dict[str, float] = {}
        self.attr_names: Set[str] = set()


@dataclass(frozen=True)
class _Types:
    tags: Dict[bytes, str]
    default_nodes: Dict[str, str]
    plugins: Dict[str, str]


def _tag_key(key: Any) -> bytes:
    if isinstance(key, int):
        return struct.pack(">I", key)
    raw = str(key).encode("ascii")
    if len(raw) != 4:
        raise ScanError(f"{_TYPES}: type tag {key!r} must be 4 characters or a number")
    return raw


@lru_cache(maxsize=1)
def load_types() -> _Types:
    """The packaged tag table (see maya_binary_types.yaml)."""
    import yaml

    data = yaml.safe_load(_TYPES.read_text(encoding="utf-8")) or {}
    return _Types(
        tags={_tag_key(k): str(v) for k, v in (data.get("tags") or {}).items()},
        default_nodes={str(k): str(v) for k, v in (data.get("default_nodes") or {}).items()},
        plugins={str(k): str(v) for k, v in (data.get("plugins") or {}).items()},
    )


def tag_name(tag: bytes) -> str:
    """A type tag as people write it: ``RTFT`` or ``0x00115C01``."""
    if all(0x20 < b < 0x7F for b in tag):
        return tag.decode("ascii")
    return "0x%08X" % struct.unpack(">I", tag)[0]


def _base_attr(name: str) -> str:
    """``fns[2]`` -> ``fns``; ``uvst[0].uvsn`` stays whole (it is not a single attribute)."""
    return name.split("[", 1)[0] if "." not in name else name


class _Scene:
    """One pass over one file: collects nodes, then turns them into RawRefs."""

    def __init__(self, path: str, ctx: ReadContext) -> None:
        self.path = path
        self.types = load_types()
        self.table: Dict[str, List[AttrRule]] = load_table(ctx.config)
        self.result = ReadResult()
        self.required: Set[str] = set()          # plug-ins and the node types they declare
        self._codec_warned: Set[str] = set()
        self.seen_refs: Set[str] = set()
        self._names: Dict[str, Set[str]] = {}
        self.by_attr: Dict[str, Set[str]] = {}   # attribute name -> node types using it
        self.order: Dict[str, int] = {t: i for i, t in enumerate(self.table)}   # attributes.yaml order
        self.nodes: List[_Node] = []             # nodes with something to report, in file order
        self.connected: Set[Tuple[str, str]] = set()  # (node name, attribute name) driven by a connection
        self._rules: Dict[str, Dict[str, Tuple[AttrRule, FrozenSet[str]]]] = {}   # type -> name -> (row, helpers)
        self._attr_names: Dict[bytes, str] = {}          # an attribute leaf's name as stored -> its base name
        self.compounds = compound_names()                # node type -> compound whose children it reads (rep)
        # Node groups skipped unread: known types that hold no file and no SceneInfo value.
        self.skip = frozenset(tag for tag, t in self.types.tags.items() if not self.interesting(t)) - frozenset(
            _NOT_NODES + (_CONNECTIONS,))
        for node_type, rules in self.table.items():
            for rule in rules:
                for name in rule.names():
                    self.by_attr.setdefault(name, set()).add(node_type)

    # -- text -------------------------------------------------------------------------------
    def text(self, raw: bytes, where: str) -> str:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            pass
        value, codec = "", ""
        for codec in _FALLBACK_CODECS:       # the last one decodes anything
            try:
                value = raw.decode(codec)
                break
            except UnicodeDecodeError:
                continue
        if codec not in self._codec_warned:
            self._codec_warned.add(codec)
            self.result.warnings.append(
                f"{self.path}: {where}: not UTF-8, read as {codec} (a .mb does not record its code page)")
        return value

    def fields(self, raw: bytes, where: str) -> List[str]:
        return [self.text(part, where) for part in raw.split(b"\0")]

    # -- which attributes a node's type needs -----------------------------------------------------
    def names_for(self, node_type: str) -> Set[str]:
        names = self._names.get(node_type)
        if names is None:
            names = self._names[node_type] = self._collect_names(node_type)
        return names

    def _collect_names(self, node_type: str) -> Set[str]:
        return set(_INFO_ATTRS.get(node_type, ())) | set(name_map(self.table.get(node_type, [])))

    def wanted(self, node_type: str) -> Optional[Set[str]]:
        """Attribute names to read for a node of this type; None reads every name (unknown type)."""
        return self.names_for(node_type) if node_type else None

    def interesting(self, node_type: str) -> bool:
        return not node_type or node_type in self.table or node_type in _INFO_ATTRS or node_type in self.compounds

    # -- the walk ---------------------------------------------------------------------------------
    def run(self, iff: IffFile) -> None:
        for chunk, data in iff.groups(_maya_root(iff), self.skip):
            if chunk.form == b"HEAD":
                self.header(iff, chunk)
            elif chunk.form in _REFERENCE_FORMS:
                self.references(iff, chunk)
            elif chunk.form == _CONNECTIONS:
                self.connections(iff, chunk)
            elif chunk.tag.startswith(b"FOR"):
                node = self.node(iff, chunk, data)
                if node is not None and (node.strings or node.type in _INFO_ATTRS):
                    self.nodes.append(node)
        for node in self.nodes:           # after the connections, which come last in the file
            self.emit(node)
        info_nodes = {n.name: (n.type, n.parent, self.info_values(n)) for n in self.nodes if n.type in _INFO_ATTRS}
        self.result.info, outputs = build_info(info_nodes)
        self.result.refs += outputs

    def connections(self, iff: IffFile, group: Chunk) -> None:
        """``CWFL`` records (a flags byte, source plug, destination plug) under ``CONS``/``CONN``.
        Only what a row needs is kept: a frame attribute driven by a key or an expression."""
        frame_names = frame_value_names(self.table)
        for sub in iff.children(group):
            for chunk in (iff.children(sub) if sub.is_group else (sub,)):
                if chunk.tag != b"CWFL":
                    continue
                parts = iff.read(chunk)[1:].split(b"\0")
                if len(parts) >= 2:
                    node, _, attr = self.text(parts[1], "connection").rpartition(".")
                    if attr in frame_names:
                        self.connected.add((node.rsplit("|", 1)[-1].lstrip(":"), attr))

    def header(self, iff: IffFile, group: Chunk) -> None:
        """``requires`` lines: the plug-in name, its version, then the node types it declares."""
        for chunk in iff.children(group):
            if chunk.tag == b"PLUG":
                parts = [p for p in self.fields(iff.read(chunk), "requires") if p]
                if parts:   # Python plug-ins are required by file name: RenderMan_for_Maya.py
                    self.required.update((parts[0], parts[0][:-3] if parts[0].endswith(".py") else parts[0]))
                    self.required.update(parts[2:])

    def references(self, iff: IffFile, group: Chunk) -> None:
        """``file -r`` records (FREF). The path comes first (as public .mb parsers read it); the
        reference node, when present, is the field named like one (``charRN``). FRDI records
        (``file -rdi``: nested references, written relative to the file that holds them) are left
        to the scan of that file, so they are never resolved against the wrong folder here."""
        for chunk in iff.children(group):
            if chunk.is_group or chunk.tag != b"FREF":
                continue
            parts = self.fields(iff.read(chunk), "file reference")
            path = parts[0] if parts else ""
            if not path.strip() or path in self.seen_refs:
                continue
            self.seen_refs.add(path)
            rfn = next((p for p in parts[1:] if p.endswith("RN")), "") or "reference"
            self.result.refs.append(RawRef(value=path, source=f"{rfn}.fileName", kind="reference",
                                           node_type="reference", follow=True))

    def node(self, iff: IffFile, group: Chunk, data: Optional[bytes] = None) -> Optional[_Node]:
        """A node group (``data``: its children's bytes, when already read)."""
        selected = group.form == b"SLCT"
        node_type = "" if selected else self.types.tags.get(group.form, "")
        if node_type and not self.interesting(node_type):
            return None                   # one seek past the whole node
        node = _Node(node_type, group.form)
        wanted = self.wanted(node_type)
        for tag, buf, start, stop, offset in _leaves(iff, group, data):
            if tag in _VALUE_TAGS:
                self.attribute(iff, tag, buf, start, stop, offset, node, wanted)
            elif tag == b"CREA":
                self.creation(iff, offset, buf[start:stop], node)
                if node.type == "script" and node.name != "sceneConfigurationScriptNode":
                    return None           # UI scripts: large and never a file
            elif tag == b"SLCT" and selected:
                node.name = self.text(buf[start:stop], "select").lstrip(":")
                node.type = self.types.default_nodes.get(node.name, "")
                if not self.interesting(node.type) or not node.type:
                    return None           # shared nodes are Maya's own: never typed by guessing
                wanted = self.wanted(node.type)
            elif wanted is None:
                self.attribute(iff, tag, buf, start, stop, offset, node, wanted)
        return node

    def creation(self, iff: IffFile, offset: int, raw: bytes, node: _Node) -> None:
        """``CREA``: a flags byte, the name, the parent if any, and (Maya 2016+) a 16-byte UUID.
        Bit 0x80 marks a node without parent in FOR8 files, where the UUID follows the name."""
        if len(raw) < 2:
            raise iff.error(offset, "node creation record too short")
        flags = raw[0]
        name, _, rest = raw[1:].partition(b"\0")
        node.name = self.text(name, "node name")
        if rest and b"\0" in rest and not (len(rest) == 16 and flags & 0x80):
            node.parent = self.text(rest.split(b"\0", 1)[0], f"{node.name} parent")

    def attribute(self, iff: IffFile, tag: bytes, buf: bytes, start: int, stop: int, offset: int, node: _Node,
                  wanted: Optional[Set[str]]) -> None:
        """An attribute leaf ``buf[start:stop]``: ``short name\\0``, a flags byte, the value."""
        end = buf.find(b"\0", start, stop if stop - start < _NAME_PEEK else start + _NAME_PEEK)
        if end <= start:
            return
        raw = buf[start:end]
        name = self._attr_names.get(raw)
        if name is None:     # a file repeats a few hundred names 10^5 times: decode each once
            name = self._attr_names[raw] = _base_attr(raw.decode("latin-1"))
        if wanted is None:
            node.attr_names.add(name)
        elif name not in wanted and not (node.type in self.compounds and _child_of(name, self.compounds[node.type])):
            return
        number = _NUMBER_TAGS.get(tag)
        if number is not None and stop - end >= 2 + number.size:
            node.numbers[name] = number.unpack_from(buf, end + 2)[0]
        elif tag == b"STR " and (wanted is not None or name in self.by_attr):
            raw = buf[end + 2:stop].split(b"\0", 1)[0]
            try:
                node.strings.append((name, [raw.decode("utf-8")]))   # the common case, without a call
            except UnicodeDecodeError:
                node.strings.append((name, [self.text(raw, f"{node.name}.{name}")]))
        elif tag in _STRING_TAGS and (wanted is not None or name in self.by_attr):
            node.strings.append((name, self.string_values(iff, tag, offset, buf[end + 2:stop], f"{node.name}.{name}")))

    def string_values(self, iff: IffFile, tag: bytes, offset: int, payload: bytes, where: str) -> List[str]:
        if tag == b"STR ":
            return [self.text(payload.split(b"\0", 1)[0], where)]
        if len(payload) < 4:
            raise iff.error(offset, f"string array {where} has no count")
        count = struct.unpack_from(">I", payload)[0]
        parts = payload[4:].split(b"\0")
        if count > len(parts) - 1:
            raise iff.error(offset, f"string array {where} holds fewer strings than its count {count}")
        return [self.text(p, where) for p in parts[:count]]

    # -- from nodes to RawRefs --------------------------------------------------------------------
    def emit(self, node: _Node) -> None:
        node_type = node.type or self.guess(node)
        rules = self._rules.get(node_type)
        if rules is None:
            rules = self._rules[node_type] = _rules_by_name(self.table.get(node_type, []))
        strings: Optional[Dict[str, List[str]]] = None
        for attr, values in node.strings:
            row = rules.get(attr)
            if row is None:
                continue
            rule, helpers = row
            if len(node.strings) == 1 and node.numbers.keys().isdisjoint(helpers):
                self.result.refs += rule_refs(node.name, node_type, rule, values)   # no helper set
                continue
            strings = dict(node.strings) if strings is None else strings
            self.result.refs += rule_refs(node.name, node_type, rule, values,
                                          lambda name: self.value(node, name, strings))
        if node_type in self.compounds:
            refs, warnings = representation_refs(node.name, node_type, {k: v[0] for k, v in node.strings if v})
            self.result.refs += refs
            self.result.warnings += warnings

    def guess(self, node: _Node) -> str:
        """Type an unknown node by its attribute names (plug-in nodes, unlisted built-ins)."""
        candidates: Set[str] = set()
        for attr, _ in node.strings:
            candidates |= self.by_attr.get(attr, set())
        if len(candidates) > 1:
            required = {t for t in candidates if t in self.required or self.types.plugins.get(t) in self.required}
            candidates = required or candidates
        if len(candidates) > 1:
            scores = {t: len(self.names_for(t) & node.attr_names) for t in candidates}
            best = max(scores.values())
            candidates = {t for t, s in scores.items() if s == best}
        if not candidates:
            return ""
        # A tie of equal meaning is read as the type listed first in attributes.yaml (the common
        # built-in before rarer plug-in types sharing an attribute name, like PxrTexture.filename).
        choice = min(candidates, key=lambda t: (self.order.get(t, len(self.order)), t))
        if len({self.meaning(t, node) for t in candidates}) > 1:
            self.result.warnings.append(
                f"{self.path}: node {node.name} has type id {tag_name(node.tag)}, unknown to the .mb reader; "
                f"its attributes fit {', '.join(sorted(candidates))}: read as {choice}")
        return choice

    def meaning(self, node_type: str, node: _Node) -> Tuple[Tuple[str, bool, bool], ...]:
        """What the node's string attributes would mean as this type (equal meanings: no warning)."""
        rules = self.table.get(node_type, [])
        return tuple(sorted({(r.kind, r.follow, r.output) for attr, _ in node.strings for r in rules
                             if attr in r.names()}))

    def value(self, node: _Node, long_name: str, strings: Optional[Dict[str, List[str]]] = None) -> Any:
        """A helper attribute's value, by long or short name; None when the file does not set it
        or a connection drives it (so a keyed frame extension lists every frame of the range)."""
        names = (long_name, AUX_SHORT_NAMES.get(long_name, long_name))
        if self.connected and any((node.name, n) in self.connected for n in names):
            return None
        strings = dict(node.strings) if strings is None else strings
        for name in names:
            if name in node.numbers:
                return node.numbers[name]
            if strings.get(name):
                return strings[name][0]
        return None

    def info_values(self, node: _Node) -> Dict[str, Any]:
        """An info node's values by long name, as :func:`maya_info.build_info` takes them."""
        names = _INFO_ATTRS.get(node.type, {})
        values: Dict[str, Any] = {names[k]: v for k, v in node.numbers.items() if k in names}
        values.update((names[k], v[0]) for k, v in node.strings if k in names and v)
        return values


def _child_of(name: str, compound: str) -> bool:
    """``rep[1].rda`` is a child of the compound ``rep`` (a leaf named with its index)."""
    return name.startswith(compound + "[") and "]." in name


def _rules_by_name(rules: List[AttrRule]) -> Dict[str, Tuple[AttrRule, FrozenSet[str]]]:
    """A node type's rows (with their :func:`helper_names`) by each name, long or short, of their
    path attribute; the first row wins."""
    out: Dict[str, Tuple[AttrRule, FrozenSet[str]]] = {}
    for rule in rules:
        for name in rule.names():
            out.setdefault(name, (rule, helper_names(rule)))
    return out


def _leaves(iff: IffFile, group: Chunk, data: Optional[bytes] = None) -> Iterable[Tuple[bytes, bytes, int, int, int]]:
    """``(tag, buffer, start, stop, header offset)`` of a node's leaves: the body is
    ``buffer[start:stop]``. A node up to one window is read with one call (or comes read) and
    walked in place (no Chunk, no copy per leaf); in a larger one only string bodies are read
    whole, other leaves up to the few bytes that name them, so mesh data is never read."""
    if data is None:
        data = iff.small_body(group)
    if data is not None:
        return iff.leaf_spans(group, data, group.body - iff.header)
    return _large_leaves(iff, group)


def _large_leaves(iff: IffFile, group: Chunk) -> Iterator[Tuple[bytes, bytes, int, int, int]]:
    for chunk in iff.children(group):
        if not chunk.is_group:
            body = iff.read(chunk, None if chunk.tag in _STRING_TAGS else _LEAF_PEEK)
            yield chunk.tag, body, 0, len(body), chunk.offset


def _maya_root(iff: IffFile) -> Chunk:
    root = iff.root()
    if root.form != b"Maya":
        raise ScanError(f"{iff.name}: an IFF file, but not a Maya scene (form {tag_name(root.form)})")
    return root


def _with_file(path: str, use: Callable[[IffFile], Any]) -> Any:
    try:
        with open(path, "rb") as fh:
            return use(IffFile(fh, path))
    except OSError as exc:
        raise ScanError(f"{path}: cannot read: {exc.strerror or exc}") from None


def read(path: str, ctx: ReadContext) -> ReadResult:
    """The file references in one ``.mb`` (not following references: the scanner does that)."""
    scene = _Scene(path, ctx)
    with paused_gc():
        _with_file(path, scene.run)
    return scene.result


@dataclass(frozen=True)
class NodeInfo:
    name: str
    type: str          # "" when the tag is not in maya_binary_types.yaml
    tag: str           # as tag_name() writes it
    parent: str


def list_nodes(path: str) -> List[NodeInfo]:
    """Every node the file creates, with its type tag: for a TD checking what a .mb holds, and for
    verifying a new row of maya_binary_types.yaml against a real file."""
    scene = _Scene(path, ReadContext())

    def walk(iff: IffFile) -> List[NodeInfo]:
        out = []
        for group in iff.children(_maya_root(iff)):
            if not group.tag.startswith(b"FOR") or group.form in _NOT_NODES:
                continue
            node = _Node(tag=group.form, type=scene.types.tags.get(group.form, ""))
            first = next(iter(iff.children(group)), None)
            if first is not None and first.tag == b"CREA":
                scene.creation(iff, first.offset, iff.read(first, 4096), node)
            out.append(NodeInfo(node.name, node.type, tag_name(node.tag), node.parent))
        return out

    return _with_file(path, walk)
