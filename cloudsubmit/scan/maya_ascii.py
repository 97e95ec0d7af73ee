"""Maya ASCII (``.ma``) reader: a streaming scan for the few statements that name files.

Most of a production ``.ma`` is numeric ``setAttr`` data (mesh points, UVs, weights) inside the
bodies of nodes no table row cares about. One compiled regex runs over each block of the file and
stops only where a statement that can matter starts: a ``createNode`` of a type the
node/attribute table (or SceneInfo) reads, ``select -ne``, ``file`` (references), ``connectAttr``
into a frame attribute, a ``setAttr`` that names its node, and reference edits. A matched node
takes its whole body (the tab-indented statements that follow it) in the same match, and one
``findall`` picks that body's ``setAttr`` lines; the bodies of other nodes are never looked at
from Python. Every match starts at the ``;`` that ends the previous statement (with any blank or
``//`` comment lines between; the header's first statement is matched where it starts), which
keeps the regex to one attempt per statement instead of one per line of mesh data. A statement
on the line right after a line that is neither (binary garbage in a damaged file) is not read.

Blocks are cut after a statement that a top-level line follows, and the next block is read from
that point (nothing joined, nothing read twice but the cut's few bytes), so memory stays at one
block whatever the file size. The file is read, not memory-mapped: a map of a scene that Maya
is saving at that moment would crash the process on Linux and stop the save on Windows.

Scenes saved in a multi-byte code page (``//Codeset: 932``, Shift-JIS) are decoded block by block
before the scan, because their second bytes can be ``\\`` or ``"``; UTF-8 and 1252 scenes are
scanned as bytes and only the captured values are decoded."""
from __future__ import annotations

import os
import re
from functools import lru_cache
from typing import Any, BinaryIO, Dict, FrozenSet, Iterator, List, Optional, Tuple

from ..errors import ScanError
from . import mel
from ..gc_pause import paused_gc
from .attributes import AttrRule, frame_value_names, helper_names, load_table, name_map, number, rule_refs
from .maya_assembly import compound_names, representation_refs
from .maya_info import DEFAULT_NODE_TYPES, INFO_ATTRS, build_info, info_names
from .maya_layers import ADJUSTMENT_PLUG, LINK_ATTRS
from .maya_references import edited_plugs, load_states, local_name
from .model import RawRef, ReadContext, ReadResult

BLOCK = 1 << 20
HEADER = b"//Maya ASCII"
_COPY_NUMBER_RE = re.compile(r"\{\d+\}$")
_INFO_TYPES = frozenset(INFO_ATTRS) | {"renderLayer"}
_LINKS = frozenset(LINK_ATTRS)

# ``setAttr [flags] "node.attr" value``; ``{owner}`` is ``+`` where the node must be named (outside
# a node's body) and ``*`` inside one (``".ftn"`` sets the body's node). ``sitem`` is a compound
# child after an index (``".rep[1].rda"``): its value is kept as ``rep[1].rda`` (maya_assembly).
_SET = (
    r"setAttr(?:[ \t]+-[A-Za-z]+(?:[ \t]+[^\s\"-][^\s\"]*)?)*[ \t]+"
    r"\"(?P<snode>[^\".\n]{owner})\.(?P<sattr>{names})(?P<sitem>\[[0-9]+\]\.[A-Za-z][A-Za-z0-9_]*)?(?:\[[^\"\]\n]*\])?\""
    r"(?:[ \t]+-type[ \t]+\"string\"[ \t]+\"(?P<sstr>[^\"\\\n]*)\"[ \t]*(?=;)"  # the common case, no escapes
    r"|(?P<sval>(?:{string}|[^\";])*)(?=;))(?P<Set>)"
)
# A reference node's edits (``setAttr ".ed" -type "dataReferenceEdits"``): its lines are read by
# _EDIT_LINE up to the statement's end.
_EDITS = r"setAttr(?:[ \t]+-[A-Za-z]+(?:[ \t]+[^\s\"-][^\s\"]*)?)*[ \t]+\"[^\"\n]*\"[ \t]+-type[ \t]+\"dataReferenceEdits\"(?P<Edits>)"
_EDIT_LINE = r"\n\t?\t2\s+\"(?P<enode>[^\"\n]*)\"\s+\"(?P<eattr>{edit_names})\"\s+(?P<evalue>{string})"
# No branch consumes its statement's ``;``: it is where the next statement's match starts. Each
# branch ends in an empty named group so ``m.lastgroup`` says which one matched.
_TOP = (
    r"(?:createNode[ \t]+(?P<ctype>{types})(?=[ \t;])(?:[ \t]+-s)?(?:[ \t]+-n[ \t]+\"(?P<cname>[^\"\n]*)\")?"
    r"(?:[ \t]+-p[ \t]+\"(?P<cparent>[^\"\n]*)\")?[^;\n]*"
    r"|select[ \t]+-ne[ \t]+(?P<sel>[^\s;]+)[ \t]*)(?=;)"
    r"(?P<body>(?:[^;]*;(?![ \t\r]*\n[^\t]))*[^;]*)(?P<Node>)"    # up to the next top-level line
    r"|" + _SET.replace("{owner}", "+") +
    r"|" + _EDITS +
    r"|file[ \t]+(?P<fargs>(?:{string}|[^\";])*)(?=;)(?P<File>)"
    r"|connectAttr[ \t]+\"(?P<csrc>[^\"\n]*)\"[ \t]+\"(?P<cnode>[^\".\n]*)\.(?P<cattr>(?:{frame_names})|"
    + "|".join(LINK_ATTRS + (ADJUSTMENT_PLUG,)) + r")\"(?P<Connect>)"  # a frame attribute driven, a render setup list or a legacy adjustment (maya_layers)
)
_BODY = _SET.replace("{owner}", "*").replace("(?P<Set>)", "")   # findall: (node, attr, item, string, value)
# Where a statement can start: after the ``;`` ending the previous one, then blank and comment lines.
_ANCHOR = r";[ \t\r]*\n(?:[ \t\r]*\n|//[^\n]*\n)*\t?"


class _Node:
    __slots__ = ("name", "type", "parent", "values")

    def __init__(self, name: str, ntype: str, parent: str) -> None:
        self.name = name
        self.type = ntype
        self.parent = parent
        self.values: Dict[str, Any] = {}


def _alternation(words) -> str:
    """A regex matching any of ``words``, longest first, written as a prefix tree
    (``file(?:Name|name[0-9])``...): the regex engine tries alternatives one by one, and a flat list
    of a hundred names would be tried in full at every ``setAttr`` of a production scene."""
    trie: Dict[str, dict] = {}
    for word in set(words):
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}
    return _branch(trie)


def _branch(node: Dict[str, dict]) -> str:
    alternatives = [re.escape(ch) + _branch(child) for ch, child in sorted(node.items()) if ch]
    if not alternatives:
        return ""
    body = alternatives[0] if len(alternatives) == 1 else "(?:" + "|".join(alternatives) + ")"
    return f"(?:{body})?" if "" in node else body


class _Regexes:
    """The compiled scan of one table: ``top`` (anchored on the previous statement's ``;``),
    ``first`` (the same statements at the first line after the header comments), ``body`` (a
    matched node's ``setAttr`` lines), ``edits``, ``edit_line`` and ``statement_end``."""

    def __init__(self, types, names, frame_names, edit_names, text: bool) -> None:
        fields = dict(types=_alternation(types), names=_alternation(names), frame_names=_alternation(frame_names),
                      edit_names=_alternation(edit_names), string=mel.STRING_PATTERN)

        def compiled(pattern: str):
            pattern = pattern.format(**fields)
            return re.compile(pattern if text else pattern.encode("ascii"))

        self.top = compiled(_ANCHOR + "(?:" + _TOP + ")")
        self.first = compiled(r"\t?(?:" + _TOP + ")")
        self.body = compiled(_ANCHOR + "(?:" + _BODY + ")")
        self.edits = compiled(_ANCHOR + "(?:" + _EDITS + ")")
        self.edit_line = compiled(_EDIT_LINE)
        self.statement_end = compiled(r";[ \t\r]*\n")
        self.header_line = compiled(r"[ \t\r]*(?://[^\n]*)?\n")


@lru_cache(maxsize=8)
def _compile(types: Tuple[str, ...], names: Tuple[str, ...], frame_names: Tuple[str, ...],
             edit_names: Tuple[str, ...], text: bool) -> _Regexes:
    return _Regexes(types, names, frame_names, edit_names, text)


class _Scan:
    """State of one file's scan: the nodes seen so far, by name.

    In byte mode the hot lookups (node type, attribute name) are done on bytes; only values
    and the names of interesting nodes are decoded."""

    def __init__(self, path: str, table: Dict[str, List[AttrRule]], encoding: Optional[str]) -> None:
        self.path = path
        self.table = table
        self.encoding = encoding
        self.codec = encoding or "utf-8"
        self.text_mode = encoding in mel.MULTIBYTE
        names = {t: name_map(rules) for t, rules in table.items()}
        for t, extra in info_names().items():
            names.setdefault(t, {}).update(extra)
        for t, compound in compound_names().items():
            names.setdefault(t, {})[compound] = compound
        key = (lambda w: w) if self.text_mode else (lambda w: w.encode("utf-8"))
        self.attr_keys = {t: {key(n): long for n, long in m.items()} for t, m in names.items()}
        types = set(names) | {"renderLayer"}
        self.type_names = {key(t): t for t in types}   # the matched type, as bytes or text -> str
        all_names = {n for m in names.values() for n in m}
        frame_names = frame_value_names(table) or {"fe"}
        self.edit_rules = _edit_rules(table)
        self.rx = _compile(tuple(sorted(types)), tuple(sorted(all_names)), tuple(sorted(frame_names)),
                           tuple(sorted(self.edit_rules)), self.text_mode)
        self.nodes: Dict[str, _Node] = {}      # by name, for select -ne and "node.attr"
        self.node_list: List[_Node] = []
        self.connected_frames: set = set()
        self.refs: List[RawRef] = []
        self.warnings: List[str] = []
        self.depth_table: List[Tuple[int, str, bool]] = []   # file -rdi: (depth, reference node, unloaded)
        self.edits: List[Tuple[str, str]] = []                # reference edits: (node, attribute)
        self.links: List[Tuple[str, str, str]] = []           # render setup: (source, destination, attribute)
        self._handlers = {"Node": self._node, "Set": self._set, "Edits": self._edits,
                          "File": self._reference, "Connect": self._connect}

    def text(self, raw) -> str:
        if self.text_mode:
            return raw
        try:
            return raw.decode(self.codec)
        except (UnicodeDecodeError, LookupError):
            return mel.decode(raw, self.encoding)

    def feed(self, block: bytes, end: int, first: bool = False) -> None:
        """The statements of ``block[:end]`` (whole statements, see :func:`_blocks`); the
        ``first`` block starts with the header's comment lines."""
        data: Any = block
        if self.text_mode:
            data = block[:end].decode(self.codec, errors="replace")
            end = len(data)
        start = self._header(data, end) if first else 0
        handlers = self._handlers
        for m in self.rx.top.finditer(data, start, end):
            handlers[m.lastgroup](m)

    def _header(self, block, end: int) -> int:
        """The first statement, which follows comment lines, not a ``;``; where to go on from."""
        pos = 3 if block[:3] in (b"\xef\xbb\xbf", "\ufeff") else 0
        line = self.rx.header_line.match(block, pos, end)
        while line is not None and line.end() > pos:
            pos = line.end()
            line = self.rx.header_line.match(block, pos, end)
        m = self.rx.first.match(block, pos, end)
        if m is None:
            return pos
        self._handlers[m.lastgroup](m)
        return m.end()

    def _node(self, m: "re.Match") -> None:
        """A ``createNode`` of a type the scan reads, or ``select -ne``, with its body."""
        raw_type, name, parent = m.group("ctype", "cname", "cparent")
        if raw_type is None:
            node = self._named(self.text(m.group("sel")))
        else:
            ntype = self.type_names[raw_type]
            name = self.text(name) if name is not None else f"<unnamed {ntype}>"
            node = self.nodes[name] = _Node(name, ntype, self.text(parent) if parent else "")
            self.node_list.append(node)  # DAG shapes may share a name under different parents
        start, stop = m.span("body")
        if node is not None and stop > start:
            self._body(node, m.string, start, min(stop + 1, m.endpos))

    def _body(self, node: _Node, data, start: int, stop: int) -> None:
        """The ``setAttr`` lines of a node's body (and a reference node's edits)."""
        keys = self.attr_keys.get(node.type, {})
        for owner, attr, item, plain, raw in self.rx.body.findall(data, start, stop):
            target = self._named(self.text(owner)) if owner else node
            if target is None:
                continue
            long = (keys if target is node else self.attr_keys.get(target.type, {})).get(attr)
            if long is None:
                continue
            if item:
                long += self.text(item)
            # An empty string and an empty value both read as "" (findall cannot tell them apart).
            value = self.text(plain) if plain or not raw else mel.set_attr_value(self.text(raw))
            if value is not None:
                target.values[long] = value
        if node.type == "reference":
            for e in self.rx.edits.finditer(data, start, stop):
                self._edits(e)

    def _edits(self, m: "re.Match") -> None:
        """A reference node's edits: each ``2 "node" "attr" value`` line re-points a file
        attribute of a node inside the referenced file. The new path is what renders, so it is
        listed (the referenced file's own value is listed too when that file is scanned)."""
        data, end = m.string, m.endpos
        stop = self.rx.statement_end.search(data, m.end(), end)
        for e in self.rx.edit_line.finditer(data, m.end(), stop.start() if stop else end):
            attr = self.text(e.group("eattr"))
            value = mel.set_attr_value(mel.unescape(self.text(e.group("evalue"))[1:-1]))
            if isinstance(value, str) and value:
                rule = self.edit_rules[attr]
                node = self.text(e.group("enode"))
                self.edits.append((node, rule.attr))
                self.refs.append(RawRef(value=value, source=f"{node}.{rule.attr}", kind=rule.kind,
                                        node_type=rule.node_type, follow=rule.follow))

    def _connect(self, m: "re.Match") -> None:
        attr = self.text(m.group("cattr"))
        if attr in _LINKS:  # a render setup list connection (maya_layers)
            src = self.text(m.group("csrc")).split(".", 1)[0]
            self.links.append((src.lstrip(":"), self.text(m.group("cnode")).lstrip(":"), attr))
        elif attr.endswith(".plg"):  # a legacy layer's adjustment: the whole plug it adjusts
            self.links.append((self.text(m.group("csrc")).lstrip(":"), self.text(m.group("cnode")).lstrip(":"), attr[:-4]))
        else:
            self.connected_frames.add(self.text(m.group("cnode")))

    def _named(self, name: str) -> Optional[_Node]:
        """A node by name; Maya's default nodes (``:defaultRenderGlobals``) exist unannounced."""
        name = name.rsplit("|", 1)[-1].lstrip(":")  # DAG paths and the root namespace
        node = self.nodes.get(name)
        if node is None and name in DEFAULT_NODE_TYPES:
            node = self.nodes[name] = _Node(name, DEFAULT_NODE_TYPES[name], "")
            self.node_list.append(node)
        return node

    def _set(self, m: "re.Match") -> None:
        """A ``setAttr`` that names its node, outside the node's body."""
        node = self._named(self.text(m.group("snode")))
        if node is None:
            return
        long = self.attr_keys.get(node.type, {}).get(m.group("sattr"))
        if long is None:
            return
        if m.group("sitem"):
            long += self.text(m.group("sitem"))
        plain = m.group("sstr")
        value = self.text(plain) if plain is not None else mel.set_attr_value(self.text(m.group("sval")))
        if value is not None:
            node.values[long] = value

    def _reference(self, m: "re.Match") -> None:
        """``file -r`` (a reference) or ``file -rdi N`` (its line in the reference-depth table, the
        one that says whether it is loaded); other ``file`` commands name no dependency."""
        args = self.text(m.group("fargs"))
        opts, _ = mel.flags(args)
        depth = opts.get("rdi", opts.get("referenceDepthInfo"))
        rfn = opts.get("rfn") or opts.get("referenceNode") or ""
        if depth is not None:
            unloaded = opts.get("dr", opts.get("deferReference", "0")) == "1"
            self.depth_table.append((int(number(depth) or 0), rfn, unloaded))
            return
        if "r" not in opts and "reference" not in opts:
            return
        paths = [w for is_str, w in mel.words(args) if is_str]
        if not paths:
            self.warnings.append(f"{self.path}: a reference without a file name was skipped")
            return
        namespace = opts.get("ns", opts.get("namespace", ""))
        self.refs.append(RawRef(
            value=_COPY_NUMBER_RE.sub("", paths[-1]), source=rfn or namespace or "file -r", kind="reference",
            node_type="reference", follow=True, namespace=namespace,
        ))

    def result(self) -> ReadResult:
        states = load_states(self.depth_table)
        for ref in self.refs:
            if ref.kind == "reference":
                state = states.get(local_name(ref.source))
                ref.deferred = bool(state and state.unloaded)
                ref.nested = state.nested if state and state.nested else None
                ref.overridden = edited_plugs(ref.namespace, self.edits)
        refs = list(self.refs)
        connected = self.connected_frames
        rows = {t: [(rule, helper_names(rule)) for rule in rules] for t, rules in self.table.items()}
        compounds = compound_names()
        for node in self.node_list:
            for rule, helpers in rows.get(node.type, ()):
                raw = node.values.get(rule.attr)
                if raw is not None:
                    refs += _refs_for(node, rule, helpers, raw, node.name in connected)
            if node.type in compounds:
                more, warnings = representation_refs(node.name, node.type, node.values)
                refs += more
                self.warnings += warnings
        info_nodes = {n.name: (n.type, n.parent, n.values) for n in self.node_list if n.type in _INFO_TYPES}
        time1 = self.nodes.get("time1")
        info, outputs = build_info(info_nodes, self.links, time1.values.get("outTime") if time1 else None,
                                   time_values=True)
        return ReadResult(refs=refs + outputs, warnings=self.warnings, info=info)


# Attribute names that mean "a file" whatever the node type, so a reference edit naming one can
# be trusted without knowing the edited node's type. imageName is left out: on a camera it is a
# name, not a file.
_AMBIGUOUS_EDIT_NAMES = frozenset(("imageName",))


def _edit_rules(table: Dict[str, List[AttrRule]]) -> Dict[str, AttrRule]:
    rules: Dict[str, AttrRule] = {}
    for node_rules in table.values():
        for rule in node_rules:
            if rule.attr not in _AMBIGUOUS_EDIT_NAMES and not rule.name_attr:
                rules.setdefault(rule.attr, rule)
    return rules


def _refs_for(node: _Node, rule: AttrRule, helpers: FrozenSet[str], raw: Any, frame_connected: bool) -> List[RawRef]:
    """RawRefs of one table row on one node (a stringArray gives one per entry). A node that
    sets none of the row's helpers (most texture nodes) needs no lookups."""
    values = node.values
    if values.keys().isdisjoint(helpers):
        return rule_refs(node.name, node.type, rule, raw if isinstance(raw, list) else [raw])

    def get(name: str) -> Any:
        return None if frame_connected and name == rule.frame_value else values.get(name)

    return rule_refs(node.name, node.type, rule, raw if isinstance(raw, list) else [raw], get)


def _top_level_end(data: bytes) -> int:
    """Index of the ``;`` ending the last statement in ``data`` that a top-level line (one not
    indented: not part of a node's body) follows, or -1."""
    i, size = len(data), len(data)
    while True:
        i = data.rfind(b";", 0, i)
        if i <= 0:
            return -1
        j = i + 1
        while j < size and data[j] in b" \t\r":
            j += 1
        if j + 1 < size and data[j] == 0x0A and data[j + 1] != 0x09:
            return i


def _blocks(fh: BinaryIO, size: int = BLOCK) -> Iterator[Tuple[bytes, int]]:
    """``(data, end)``: ``data[:end]`` holds whole statements and node bodies, ending at a ``;``
    that a top-level line follows; the next block is read from that ``;`` (it anchors the first
    statement there). The end is passed to the regex instead of slicing, to save a copy per block."""
    pos, want = 0, size
    while True:
        fh.seek(pos)
        data = fh.read(want)
        if len(data) < want:
            if data.strip(b"; \t\r\n"):
                yield data, len(data)
            return
        cut = _top_level_end(data)
        if cut <= 0:
            want *= 2   # one node longer than a block: read more
            continue
        yield data, cut + 1
        pos, want = pos + cut, size


def _unfinished(block: bytes) -> bool:
    """True when the scene's last block holds a statement without its ``;`` (ignoring the
    ``// End of`` comment Maya writes last)."""
    lines = [ln.strip() for ln in block.splitlines()[-50:]]
    code = [ln for ln in lines if ln and not ln.startswith(b"//")]
    return bool(code) and not code[-1].endswith(b";")


def read(path: str, ctx: ReadContext) -> ReadResult:
    """Every file reference in one ``.ma`` (not following references: the scanner does)."""
    table = load_table(ctx.config)
    try:
        with open(path, "rb") as fh, paused_gc():
            head = fh.read(4096)
            if not head.lstrip(b"\xef\xbb\xbf").startswith(HEADER):
                raise ScanError(f"{path}: not a Maya ASCII scene (no '//Maya ASCII' header)")
            fallback = str(ctx.config.get("scan.maya_default_codeset", "") or "") if ctx.config is not None else ""
            scan = _Scan(path, table, mel.codeset(head) or mel.codec(fallback))
            for i, (block, end) in enumerate(_blocks(fh, BLOCK)):
                scan.feed(block, end, first=i == 0)
            size = fh.seek(0, 2)
            fh.seek(max(0, size - 4096))
            last = fh.read()
    except OSError as exc:
        raise ScanError(f"{path}: cannot read scene ({exc.strerror or exc})") from None
    with paused_gc():
        result = scan.result()
    if _unfinished(last):
        result.warnings.append(f"{path}: the file ends in the middle of a statement (truncated?)")
        result.truncated_at = os.path.getsize(path)
    return result
